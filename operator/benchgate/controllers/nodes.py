"""Node index: read-only view of every node's platform-relevant attributes.

Only `@kopf.index` is used on nodes: it watches without ever writing (an update handler
would put kopf's annotations onto every Node). The only Node writes are a gating suite's
own taint (controllers/suites.py, spec.gating), through the client.

The settle clock ("when did this node's labels last change") lives in memory because it
is only a debounce: after a restart a node's first observation uses its creation / Ready
time, so long-settled nodes are acted on at once and freshly relabelled ones wait again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from benchgate.controllers import state
from benchgate.domain.platform import settle_signature


@dataclass(frozen=True)
class NodeSnapshot:
    name: str
    uid: str
    labels: Mapping[str, str] = field(default_factory=dict)
    node_info: Mapping[str, Any] = field(default_factory=dict)
    ready: bool = False
    schedulable: bool = True
    changed_at: float = 0.0
    taints: tuple[Mapping[str, Any], ...] = ()
    # Guards a taint patch made from this snapshot (no GET first): a node that changed
    # since is left alone until the index has the newer version.
    resource_version: str = ""


_settle: dict[str, tuple[str, float]] = {}  # node uid -> (signature, changed_at)


def snapshot(body: Mapping[str, Any]) -> NodeSnapshot:
    meta = body.get("metadata") or {}
    status = body.get("status") or {}
    labels = dict(meta.get("labels") or {})
    node_info = dict(status.get("nodeInfo") or {})
    conditions = status.get("conditions") or []
    ready_cond: dict[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    uid = str(meta.get("uid", meta.get("name", "")))
    signature = settle_signature(labels, node_info)
    prior = _settle.get(uid)
    if prior is None:
        changed_at = max(
            state.parse_time(meta.get("creationTimestamp")),
            state.parse_time(ready_cond.get("lastTransitionTime")),
        )
    elif prior[0] != signature:
        changed_at = state.clock()
    else:
        changed_at = prior[1]
    _settle[uid] = (signature, changed_at)
    return NodeSnapshot(
        name=str(meta.get("name", "")),
        uid=uid,
        labels=labels,
        node_info=node_info,
        ready=ready_cond.get("status") == "True",
        schedulable=not (body.get("spec") or {}).get("unschedulable", False),
        changed_at=changed_at,
        taints=tuple(dict(t) for t in (body.get("spec") or {}).get("taints") or ()),
        resource_version=str(meta.get("resourceVersion", "")),
    )


@kopf.index("", "v1", "nodes")
def node_index(body: kopf.Body, name: str, **_: Any) -> dict[str, NodeSnapshot]:
    return {name: snapshot(body)}


def nodes_from_index(index: Mapping[str, Any]) -> list[NodeSnapshot]:
    """The latest snapshot of every node in the index."""
    out: list[NodeSnapshot] = []
    for _name, store in index.items():
        values = list(store)
        if values:
            out.append(values[-1])
    return out
