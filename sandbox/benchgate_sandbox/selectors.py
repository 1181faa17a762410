"""Label and field selectors: the query-string forms and the LabelSelector object form."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from benchgate_sandbox.errors import bad_request

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # = != in notin exists !exists
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        # != and notin match objects without the label, as the real API does
        return not present or labels[self.key] not in self.values


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


_SET = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    if not text:
        return ()
    reqs = []
    for part in _split_top(text):
        req: Requirement
        if m := _SET.match(part):
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            req = Requirement(m.group(1), m.group(2), values)
        elif "!=" in part:
            key, _, value = part.partition("!=")
            req = Requirement(key.strip(), "!=", (value.strip(),))
        elif "=" in part:
            key, _, value = part.replace("==", "=").partition("=")
            req = Requirement(key.strip(), "=", (value.strip(),))
        elif part.startswith("!"):
            req = Requirement(part[1:].strip(), "!exists")
        else:
            req = Requirement(part, "exists")
        if not _KEY.match(req.key):
            raise bad_request(
                f"unable to parse requirement: invalid label key {req.key!r} in selector {text!r}"
            )
        reqs.append(req)
    return tuple(reqs)


def labels_match(reqs: tuple[Requirement, ...], obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


def selector_object_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches everything."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expr in selector.get("matchExpressions") or []:
        req = Requirement(expr["key"], ops[expr["operator"]], tuple(expr.get("values") or ()))
        if not req.matches(labels):
            return False
    return True


@dataclass(frozen=True)
class FieldRequirement:
    path: str
    value: str
    negate: bool


def parse_field_selector(
    text: str | None, allowed: frozenset[str], kind: str
) -> tuple[FieldRequirement, ...]:
    if not text:
        return ()
    out = []
    for part in _split_top(text):
        negate = "!=" in part
        key, _, value = part.replace("!=", "=").replace("==", "=").partition("=")
        key = key.strip()
        if not _:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        if key not in allowed:
            raise bad_request(f"field label not supported: {key}")
        out.append(FieldRequirement(key, value.strip(), negate))
    return tuple(out)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    if path == "source":  # core/v1 Event: "source" means source.component
        return str((obj.get("source") or {}).get("component") or "")
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def fields_match(
    reqs: tuple[FieldRequirement, ...],
    obj: Mapping[str, Any],
    getter: Callable[[Mapping[str, Any], str], str] = field_value,
) -> bool:
    return all((getter(obj, r.path) == r.value) != r.negate for r in reqs)
