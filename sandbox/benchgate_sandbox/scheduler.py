"""A minimal scheduler: nodeName, nodeSelector, required node affinity, taints.

Pods that fit no node stay Pending with `PodScheduled=False, reason=Unschedulable`
and a message in the real scheduler's style; they are retried when nodes change.
Among fitting nodes the one running the fewest pods wins (ties by name).
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Mapping
from typing import Any

from benchgate_sandbox import events
from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.resources import JSON
from benchgate_sandbox.store import Event, Store, now_iso


def _expr_matches(expr: Mapping[str, Any], value: str | None) -> bool:
    op, values = expr.get("operator"), expr.get("values") or []
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            a, b = int(value), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def term_matches(term: Mapping[str, Any], node: JSON) -> bool:
    labels = node["metadata"].get("labels") or {}
    for expr in term.get("matchExpressions") or []:
        if not _expr_matches(expr, labels.get(expr["key"])):
            return False
    for expr in term.get("matchFields") or []:
        # metadata.name is the only field the real scheduler supports here
        value = node["metadata"]["name"] if expr.get("key") == "metadata.name" else None
        if not _expr_matches(expr, value):
            return False
    return bool(term.get("matchExpressions") or term.get("matchFields"))


def _tolerated(taint: Mapping[str, Any], tolerations: list[JSON]) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol["key"] == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


_SUFFIX = {
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
}
_QUANTITY = re.compile(r"^([0-9.]+)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$")


def quantity(value: Any) -> float:
    """A Kubernetes resource quantity ("500m", "2", "512Mi") as a number."""
    m = _QUANTITY.match(str(value).strip())
    if m is None:
        raise ValueError(f"not a resource quantity: {value!r}")
    return float(m.group(1)) * _SUFFIX[m.group(2) or ""]


def pod_requests(pod: JSON) -> dict[str, float]:
    """Effective requests: the sum over containers (limits stand in for missing requests)."""
    total: dict[str, float] = {}
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for name, value in wanted.items():
            total[name] = total.get(name, 0.0) + quantity(value)
    return total


def insufficient(pod: JSON, node: JSON, others: list[JSON]) -> str | None:
    """The first resource the node lacks for this pod, given the pods already on it."""
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    wanted = pod_requests(pod)
    used: dict[str, float] = {}
    for other in others:
        for name, value in pod_requests(other).items():
            used[name] = used.get(name, 0.0) + value
    for name, value in sorted(wanted.items()):
        if value <= 0:
            continue
        have = quantity(allocatable[name]) if name in allocatable else 0.0
        if used.get(name, 0.0) + value > have + 1e-9:
            return name
    return None


def misfit(pod: JSON, node: JSON) -> str | None:
    """None if the pod fits the node, else the scheduler's reason phrase."""
    spec = pod.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return "didn't match Pod's node affinity/selector"
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    if terms and not any(term_matches(t, node) for t in terms):
        return "didn't match Pod's node affinity/selector"
    taints = list((node.get("spec") or {}).get("taints") or [])
    if (node.get("spec") or {}).get("unschedulable"):
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    for taint in taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(
            taint, spec.get("tolerations") or []
        ):
            value = f"={taint['value']}" if taint.get("value") else ""
            return f"had untolerated taint {{{taint['key']}{value}: {taint.get('effect')}}}"
    return None


class Scheduler:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.pods = store.type_for("", "v1", "pods")
        self.nodes = store.type_for("", "v1", "nodes")
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        store.listeners.append(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.key == ("", "nodes") and event.type != "DELETED":
            self.queue.put_nowait(event)
        elif event.key == ("", "pods"):
            phase = (event.obj.get("status") or {}).get("phase")
            if event.type == "DELETED" or phase in ("Succeeded", "Failed"):
                self.queue.put_nowait(None)  # resources freed: retry pending pods
            else:
                self.queue.put_nowait(event)

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                if event is None or event.key == ("", "nodes"):
                    for pending in list(self.store.iter_objects(self.pods)):
                        self._schedule(pending)
                else:
                    pod = self.store.peek(
                        self.pods, event.obj["metadata"]["namespace"], event.obj["metadata"]["name"]
                    )
                    if pod is not None:
                        self._schedule(pod)
            except ApiError:
                pass

    def _schedule(self, pod: JSON) -> None:
        spec = pod.get("spec") or {}
        if (
            spec.get("nodeName")
            or pod["metadata"].get("deletionTimestamp")
            or spec.get("schedulerName", "default-scheduler") != "default-scheduler"
        ):
            return
        nodes = sorted(self.store.iter_objects(self.nodes), key=lambda n: n["metadata"]["name"])
        reasons: dict[str, int] = {}
        fitting = []
        for node in nodes:
            why = misfit(pod, node)
            if why is None:
                on_node = [
                    p
                    for p in self.store.iter_objects(self.pods)
                    if (p.get("spec") or {}).get("nodeName") == node["metadata"]["name"]
                    and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                ]
                try:
                    lacking = insufficient(pod, node, on_node)
                except ValueError as exc:
                    lacking = None
                    why = f"could not read resources: {exc}"
                if lacking:
                    why = f"Insufficient {lacking}"
            if why is None:
                fitting.append(node)
            else:
                reasons[why] = reasons.get(why, 0) + 1
        meta = pod["metadata"]
        if not fitting:
            detail = ", ".join(
                f"{n} {why}" if why.startswith("Insufficient") else f"{n} node(s) {why}"
                for why, n in sorted(reasons.items())
            )
            message = f"0/{len(nodes)} nodes are available" + (f": {detail}." if detail else ".")
            self._set_unschedulable(pod, message)
            return
        load = {n["metadata"]["name"]: 0 for n in fitting}
        for other in self.store.iter_objects(self.pods):
            name = (other.get("spec") or {}).get("nodeName")
            if name in load and (other.get("status") or {}).get("phase") not in (
                "Succeeded",
                "Failed",
            ):
                load[name] += 1
        chosen = min(fitting, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))
        body = copy.deepcopy(pod)
        body["spec"]["nodeName"] = chosen["metadata"]["name"]
        self.store.update(self.pods, meta["namespace"], meta["name"], body)
        events.record(
            self.store,
            pod,
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/"
            f"{meta['name']} to {chosen['metadata']['name']}",
            component="default-scheduler",
        )

    def _set_unschedulable(self, pod: JSON, message: str) -> None:
        status = copy.deepcopy(pod.get("status") or {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        previous = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None
        )
        if previous and previous.get("message") == message:
            return
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastTransitionTime": now_iso(),
                "lastProbeTime": None,
            }
        )
        status["conditions"] = conditions
        body = copy.deepcopy(pod)
        body["status"] = status
        meta = pod["metadata"]
        self.store.update(self.pods, meta["namespace"], meta["name"], body, subresource="status")
        events.record(
            self.store,
            pod,
            "FailedScheduling",
            message,
            component="default-scheduler",
            type_="Warning",
        )
