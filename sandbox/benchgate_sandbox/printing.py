"""Server-side printing: `meta.k8s.io/v1 Table` responses, as `kubectl get` asks for.

Custom resources print their CRD's `additionalPrinterColumns` (a JSONPath subset:
fields, indexes, `[*]` and `[?(@.key=="value")]` filters); built-in kinds print the
columns the real API server prints for them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from benchgate_sandbox.resources import JSON, ResourceType

TABLE_ACCEPT = re.compile(r"as=Table")

_TOKEN = re.compile(
    r"""\.((?:\\\.|[^.\[])+)|\[(\*|-?\d+)\]|\[\?\(@\.([\w.]+)\s*==\s*['"]([^'"]*)['"]\)\]"""
)


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Evaluate the JSONPath subset kubectl printer columns use; returns all matches."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    if path.startswith("$"):
        path = path[1:]
    current = [obj]
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None:
            return []
        pos = m.end()
        nxt: list[Any] = []
        for value in current:
            if m.group(1) is not None:
                key = m.group(1).replace("\\.", ".")
                if isinstance(value, dict) and key in value:
                    nxt.append(value[key])
            elif m.group(2) is not None and isinstance(value, list):
                if m.group(2) == "*":
                    nxt.extend(value)
                elif -len(value) <= int(m.group(2)) < len(value):
                    nxt.append(value[int(m.group(2))])
            elif m.group(3) is not None and isinstance(value, list):
                for item in value:
                    found = jsonpath(item, "." + m.group(3))
                    if found and str(found[0]) == m.group(4):
                        nxt.append(item)
        current = nxt
    return current


def human_duration(seconds: float) -> str:
    """Kubernetes' HumanDuration: 45s, 5m30s, 3h, 2d4h, 400d, 3y."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 730:
        return f"{d}d"
    return f"{d // 365}y"


def age(timestamp: str | None, now: dt.datetime | None = None) -> str:
    if not timestamp:
        return "<unknown>"
    when = dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    return human_duration(((now or dt.datetime.now(dt.UTC)) - when).total_seconds())


def _col(
    name: str, type_: str = "string", priority: int = 0, fmt: str = "", description: str = ""
) -> JSON:
    return {
        "name": name,
        "type": type_,
        "format": fmt,
        "description": description,
        "priority": priority,
    }


_NAME_COL = _col("Name", fmt="name", description="Name must be unique within a namespace.")
_AGE_COL = _col(
    "Age",
    description="CreationTimestamp is a timestamp representing the server "
    "time when this object was created.",
)

Printer = tuple[list[JSON], Callable[[JSON], list[Any]]]


def _pod_printer() -> Printer:
    def cells(pod: JSON) -> list[Any]:
        status = pod.get("status") or {}
        statuses = status.get("containerStatuses") or []
        total = len((pod.get("spec") or {}).get("containers") or [])
        ready = sum(1 for c in statuses if c.get("ready"))
        reason = status.get("reason") or status.get("phase", "Pending")
        for c in statuses:
            state = c.get("state") or {}
            if "waiting" in state and state["waiting"].get("reason"):
                reason = state["waiting"]["reason"]
            elif "terminated" in state and state["terminated"].get("reason"):
                reason = state["terminated"]["reason"]
        if pod["metadata"].get("deletionTimestamp"):
            reason = "Terminating"
        restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
        return [
            pod["metadata"]["name"],
            f"{ready}/{total}",
            reason,
            restarts,
            age(pod["metadata"].get("creationTimestamp")),
            status.get("podIP") or "<none>",
            (pod.get("spec") or {}).get("nodeName") or "<none>",
        ]

    return (
        [
            _NAME_COL,
            _col("Ready"),
            _col("Status"),
            _col("Restarts", "string"),
            _AGE_COL,
            _col("IP", priority=1),
            _col("Node", priority=1),
        ],
        cells,
    )


def _node_printer() -> Printer:
    def cells(node: JSON) -> list[Any]:
        status = node.get("status") or {}
        ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
        text = (
            "Ready"
            if ready and ready.get("status") == "True"
            else ("NotReady" if ready else "Unknown")
        )
        if (node.get("spec") or {}).get("unschedulable"):
            text += ",SchedulingDisabled"
        labels = node["metadata"].get("labels") or {}
        roles = (
            ",".join(
                sorted(
                    k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")
                )
            )
            or "<none>"
        )
        info = status.get("nodeInfo") or {}
        ip = next(
            (
                a.get("address")
                for a in status.get("addresses") or []
                if a.get("type") == "InternalIP"
            ),
            "<none>",
        )
        return [
            node["metadata"]["name"],
            text,
            roles,
            age(node["metadata"].get("creationTimestamp")),
            info.get("kubeletVersion", ""),
            ip,
            info.get("osImage", ""),
            info.get("kernelVersion", ""),
            info.get("containerRuntimeVersion", ""),
        ]

    return (
        [
            _NAME_COL,
            _col("Status"),
            _col("Roles"),
            _AGE_COL,
            _col("Version"),
            _col("Internal-IP", priority=1),
            _col("OS-Image", priority=1),
            _col("Kernel-Version", priority=1),
            _col("Container-Runtime", priority=1),
        ],
        cells,
    )


def _job_printer() -> Printer:
    def cells(job: JSON) -> list[Any]:
        status = job.get("status") or {}
        conds = {c["type"]: c for c in status.get("conditions") or [] if c.get("status") == "True"}
        state = (
            "Complete"
            if "Complete" in conds
            else "Failed"
            if "Failed" in conds
            else "Suspended"
            if (job.get("spec") or {}).get("suspend")
            else "Running"
        )
        completions = (job.get("spec") or {}).get("completions")
        done = f"{status.get('succeeded', 0)}/{completions if completions is not None else 1}"
        duration = ""
        if status.get("startTime"):
            end = status.get("completionTime")
            end_dt = (
                dt.datetime.strptime(end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
                if end
                else None
            )
            duration = age(status["startTime"], end_dt)
        return [
            job["metadata"]["name"],
            state,
            done,
            duration,
            age(job["metadata"].get("creationTimestamp")),
        ]

    return ([_NAME_COL, _col("Status"), _col("Completions"), _col("Duration"), _AGE_COL], cells)


def _event_printer() -> Printer:
    def cells(ev: JSON) -> list[Any]:
        obj = ev.get("involvedObject") or {}
        last = (
            ev.get("lastTimestamp")
            or ev.get("eventTime")
            or ev["metadata"].get("creationTimestamp")
        )
        last = last[:19] + "Z" if last and len(last) > 20 else last
        return [
            age(last),
            ev.get("type", ""),
            ev.get("reason", ""),
            f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}",
            ev.get("message", ""),
        ]

    return (
        [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")],
        cells,
    )


def _generic_printer(rt: ResourceType) -> Printer:
    if rt.key == ("", "configmaps"):
        return (
            [_NAME_COL, _col("Data", "integer"), _AGE_COL],
            lambda o: [
                o["metadata"]["name"],
                len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                age(o["metadata"].get("creationTimestamp")),
            ],
        )
    if rt.key == ("", "namespaces"):
        return (
            [_NAME_COL, _col("Status"), _AGE_COL],
            lambda o: [
                o["metadata"]["name"],
                (o.get("status") or {}).get("phase", "Active"),
                age(o["metadata"].get("creationTimestamp")),
            ],
        )
    return (
        [_NAME_COL, _AGE_COL],
        lambda o: [o["metadata"]["name"], age(o["metadata"].get("creationTimestamp"))],
    )


def _crd_printer(rt: ResourceType) -> Printer:
    columns = [_NAME_COL]
    defs = list(rt.printer_columns)
    for c in defs:
        columns.append(
            _col(
                c["name"],
                c.get("type", "string"),
                int(c.get("priority", 0)),
                c.get("format", ""),
                c.get("description", ""),
            )
        )
    if not defs:
        columns.append(_AGE_COL)

    def cells(obj: JSON) -> list[Any]:
        row: list[Any] = [obj["metadata"]["name"]]
        for c in defs:
            found = jsonpath(obj, c["jsonPath"])
            if not found:
                row.append(None)
            elif c.get("type") == "date" and isinstance(found[0], str):
                row.append(age(found[0]))
            elif len(found) == 1 and not isinstance(found[0], dict | list):
                row.append(found[0])
            else:
                row.append(",".join(str(f) for f in found) if len(found) > 1 else str(found[0]))
        if not defs:
            row.append(age(obj["metadata"].get("creationTimestamp")))
        return row

    return columns, cells


def printer_for(rt: ResourceType) -> Printer:
    if not rt.builtin:
        return _crd_printer(rt)
    return {
        ("", "pods"): _pod_printer,
        ("", "nodes"): _node_printer,
        ("batch", "jobs"): _job_printer,
        ("", "events"): _event_printer,
    }.get(rt.key, lambda: _generic_printer(rt))()


def to_table(
    rt: ResourceType,
    items: list[JSON],
    resource_version: str,
    include_object: str = "Metadata",
    continue_token: str = "",
) -> JSON:
    columns, cells = printer_for(rt)
    rows = []
    for obj in items:
        row: JSON = {"cells": cells(obj)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata", {}),
            }
        rows.append(row)
    meta: JSON = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": columns,
        "rows": rows,
    }
