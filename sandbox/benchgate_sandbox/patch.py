"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge.

Strategic merge is implemented for the list fields of the built-in kinds the sandbox
serves (containers, env, volumes, conditions, ... merged by key) plus the `$patch`
directives `delete`/`replace`; other `$`-directives are dropped.
"""

from __future__ import annotations

import copy
from typing import Any

from benchgate_sandbox.errors import ApiError, bad_request

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"

# field name -> merge key, for lists that built-in types merge by key.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "conditions": "type",
    "ownerReferences": "uid",
    "imagePullSecrets": "name",
    "taints": "key",
    "addresses": "type",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
    "hostAliases": "ip",
    "podIPs": "ip",
    "volumeDevices": "devicePath",
}
# primitive lists that strategic merge treats as sets (merge) rather than replace.
_MERGE_PRIMITIVE = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(
            f"the server rejected our request due to an error in our request: "
            f"invalid JSON pointer {path!r}"
        )
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc[part]
        else:
            raise KeyError(part)
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        parts = _pointer(path)
        try:
            if kind == "test":
                if _resolve(doc, parts) != op.get("value"):
                    raise ApiError(
                        422,
                        "Invalid",
                        f"the server rejected our request due to an "
                        f"error in our request: testing value {path} failed",
                    )
                continue
            if kind in ("move", "copy"):
                source = _pointer(op["from"])
                value = copy.deepcopy(_resolve(doc, source))
                if kind == "move":
                    doc = _remove(doc, source)
                doc = _add(doc, parts, value)
            elif kind == "add":
                doc = _add(doc, parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                doc = _remove(doc, parts)
            elif kind == "replace":
                _resolve(doc, parts)  # must exist
                doc = _add(_remove(doc, parts), parts, copy.deepcopy(op["value"]))
            else:
                raise bad_request(f"Unexpected kind: {kind}")
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(
                422,
                "Invalid",
                f"the server rejected our request due to an error in "
                f"our request: {kind} operation does not apply: doc is missing path: "
                f'"{path}": missing value',
            ) from exc
    return doc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _resolve(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if index > len(parent) or index < 0:
            raise IndexError(last)
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise KeyError(last)
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return None
    parent = _resolve(doc, parts[:-1])
    if isinstance(parent, list):
        del parent[int(parts[-1])]
    else:
        del parent[parts[-1]]
    return doc


def strategic_merge(target: Any, patch: Any, field_name: str = "") -> Any:
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if patch.get("$patch") == "delete":
            return None
        result = copy.deepcopy(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if key.startswith("$"):
                continue  # $setElementOrder, $retainKeys: ordering/retention hints only
            if key.startswith("$deleteFromPrimitiveList/"):
                continue
            if value is None:
                result.pop(key, None)
            elif isinstance(value, list):
                result[key] = _merge_list(result.get(key), value, key)
            else:
                result[key] = strategic_merge(result.get(key), value, key)
        for key, value in patch.items():
            if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
                name = key.split("/", 1)[1]
                result[name] = [v for v in result.get(name) or [] if v not in value]
        return result
    return copy.deepcopy(patch)


def _merge_list(current: Any, patch: list[Any], field_name: str) -> Any:
    if not isinstance(current, list):
        current = []
    if field_name in _MERGE_PRIMITIVE:
        return current + [v for v in patch if v not in current]
    key = _MERGE_KEYS.get(field_name)
    if key is None:
        if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
            return [i for i in patch if not (isinstance(i, dict) and "$patch" in i)]
        return copy.deepcopy(patch)
    result = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict):
            continue
        if item.get("$patch") == "replace":
            return [i for i in patch if not (isinstance(i, dict) and "$patch" in i)]
        index = next((i for i, c in enumerate(result) if c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge({}, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result
