"""Admission for core/v1 Pods: the defaults and checks the real API server applies."""

from __future__ import annotations

from benchgate.api.structural import Cause
from benchgate_sandbox.podspec import pod_spec_causes, validate_node
from benchgate_sandbox.resources import JSON
from benchgate_sandbox.store import Store


def pod_defaults(pod: JSON, old: JSON | None) -> None:
    """Admission defaults of core/v1 Pod (on create): what clients read back."""
    if old is not None:
        return
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in spec["tolerations"]):
            spec["tolerations"].append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        image = str(container.get("image", ""))
        container.setdefault(
            "imagePullPolicy",
            "Always"
            if image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]
            else "IfNotPresent",
        )
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
    pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}


_MUTABLE_POD_SPEC = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")


def _immutable_view(spec: JSON) -> JSON:
    """The part of a pod spec an update may not change (images and the few mutable
    fields excepted, and nodeName while it is still unset: that is binding)."""
    view = {k: v for k, v in spec.items() if k not in _MUTABLE_POD_SPEC and k != "nodeName"}
    view["containers"] = [
        {k: v for k, v in c.items() if k != "image"} for c in spec.get("containers") or []
    ]
    view["initContainers"] = [
        {k: v for k, v in c.items() if k != "image"} for c in spec.get("initContainers") or []
    ]
    return view


def validate_pod(pod: JSON, old: JSON | None) -> list[Cause]:
    causes = []
    if old is not None:
        new_spec, old_spec = pod.get("spec") or {}, old.get("spec") or {}
        bound = old_spec.get("nodeName")
        if _immutable_view(new_spec) != _immutable_view(old_spec) or (
            bound and new_spec.get("nodeName") != bound
        ):
            causes.append(
                Cause(
                    "FieldValueForbidden",
                    "spec",
                    "Forbidden: pod updates may not "
                    "change fields other than `spec.containers[*].image`, "
                    "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                    "`spec.tolerations` (only additions to existing tolerations) or "
                    "`spec.terminationGracePeriodSeconds`",
                )
            )
    causes += pod_spec_causes(
        pod.get("spec"), "spec", 'Pod in version "v1" cannot be handled as a Pod'
    )
    return causes


def install_pod_admission(store: Store) -> None:
    """Pods get the API server's defaults and pod-spec checks; Nodes their taint checks."""
    key = ("", "pods")
    store.mutators.setdefault(key, []).append(pod_defaults)
    store.validators.setdefault(key, []).append(validate_pod)
    store.validators.setdefault(("", "nodes"), []).append(validate_node)
