"""core/v1 Events written by the sandbox's own controllers, so `kubectl describe` shows them."""

from __future__ import annotations

import contextlib
import secrets

from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.resources import JSON
from benchgate_sandbox.store import Store, now_iso


def record(
    store: Store,
    involved: JSON,
    reason: str,
    message: str,
    *,
    component: str,
    type_: str = "Normal",
) -> None:
    meta = involved["metadata"]
    now = now_iso()
    namespace = meta.get("namespace") or "default"
    event: JSON = {
        "metadata": {
            "name": f"{meta['name']}.{secrets.token_hex(8)}",
            "namespace": meta.get("namespace") or "default",
        },
        "involvedObject": {
            "kind": involved.get("kind"),
            "apiVersion": involved.get("apiVersion"),
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": "sandbox",
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    # if the namespace is going away the event is dropped, as real recorders do
    with contextlib.suppress(ApiError):
        store.create(store.type_for("", "v1", "events"), namespace, event)
