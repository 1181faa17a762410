"""Custom resources against their CRD's structural schema: prune, default, validate.

Order follows the real API server: nulls of non-nullable fields are dropped, unknown
fields are pruned (and reported, for `fieldValidation=Strict|Warn`), defaults applied,
then the value is validated and CEL rules are evaluated. Errors come back as causes
with the real field paths (`spec.workloads[0].name`) and messages.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from benchgate_sandbox.cel import CelEngine, Unsupported

JSON = dict[str, Any]
_ROOT_SKIP = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True)
class Cause:
    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, ...
    field: str
    detail: str  # "Required value", "Invalid value: 20: ..."

    @property
    def message(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail

    def to_dict(self) -> JSON:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class Outcome:
    causes: list[Cause] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    return json.dumps(value)


def _type_ok(expected: str, value: Any) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


class SchemaValidator:
    def __init__(self, cel: CelEngine) -> None:
        self.cel = cel

    def register(self, schema: JSON | None) -> None:
        """Compile the schema's CEL rules once, so unsupported ones are known at install."""
        for rule in _rules(schema):
            self.cel.check(rule["rule"])

    def admit(self, schema: JSON | None, obj: JSON, old: JSON | None) -> Outcome:
        """Prune and default `obj` in place; return causes (empty = valid)."""
        out = Outcome()
        if not schema:
            return out
        self._normalize(schema, obj, "", out, root=True)
        self._validate(schema, obj, "", out, root=True)
        if not out.causes:
            self._cel(schema, obj, old, "", out, root=True)
        return out

    # -- pruning and defaulting ------------------------------------------------------
    def _normalize(
        self, schema: JSON, value: Any, path: str, out: Outcome, root: bool = False
    ) -> None:
        if (
            isinstance(value, dict)
            and schema.get("type", "object") == "object"
            and not schema.get("x-kubernetes-embedded-resource")
        ):
            props: JSON = schema.get("properties") or {}
            addl = schema.get("additionalProperties")
            preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
            for key in list(value):
                if root and key in _ROOT_SKIP:
                    continue
                sub = props.get(key) if key in props else (addl if isinstance(addl, dict) else None)
                child = _join(path, key, is_map=key not in props and sub is not None)
                if value[key] is None and sub is not None and not sub.get("nullable"):
                    if "default" in sub:
                        value[key] = copy.deepcopy(sub["default"])
                    else:
                        del value[key]
                        continue
                if sub is None:
                    if not (preserve or addl is True):
                        out.unknown_fields.append(child)
                        del value[key]
                    continue
                self._normalize(sub, value[key], child, out)
            for key, sub in props.items():
                if key not in value and "default" in sub:
                    value[key] = copy.deepcopy(sub["default"])
                    self._normalize(sub, value[key], _join(path, key), out)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                self._normalize(schema["items"], item, f"{path}[{i}]", out)

    # -- structural validation -------------------------------------------------------
    def _validate(
        self, schema: JSON, value: Any, path: str, out: Outcome, root: bool = False
    ) -> None:
        def bad(reason: str, detail: str) -> None:
            out.causes.append(Cause(reason, path, detail))

        if value is None:
            if not schema.get("nullable"):
                bad(
                    "FieldValueTypeInvalid",
                    f'Invalid value: "null": {path} in body must be '
                    f'of type {schema.get("type", "object")}: "null"',
                )
            return
        if schema.get("x-kubernetes-int-or-string"):
            if not (isinstance(value, str) or _type_ok("integer", value)):
                bad(
                    "FieldValueTypeInvalid",
                    f'Invalid value: "{_type_name(value)}": {path} in '
                    f'body must be of type integer,string: "{_type_name(value)}"',
                )
                return
        elif (expected := schema.get("type")) and not _type_ok(expected, value):
            bad(
                "FieldValueTypeInvalid",
                f'Invalid value: "{_type_name(value)}": {path} in body '
                f'must be of type {expected}: "{_type_name(value)}"',
            )
            return
        if "enum" in schema and value not in schema["enum"]:
            supported = ", ".join(json.dumps(v) for v in schema["enum"])
            bad(
                "FieldValueNotSupported",
                f"Unsupported value: {json.dumps(value)}: supported values: {supported}",
            )
        if isinstance(value, str):
            if (pattern := schema.get("pattern")) and not re.search(pattern, value):
                bad(
                    "FieldValueInvalid",
                    f"Invalid value: {_show(value)}: {path} in body should match '{pattern}'",
                )
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                bad(
                    "FieldValueTooLong",
                    f"Too long: may not be more than {schema['maxLength']} bytes",
                )
            if "minLength" in schema and len(value) < schema["minLength"]:
                bad(
                    "FieldValueInvalid",
                    f"Invalid value: {_show(value)}: {path} in body should be "
                    f"at least {schema['minLength']} chars long",
                )
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "maximum" in schema:
                limit = schema["maximum"]
                if value > limit or (schema.get("exclusiveMaximum") and value == limit):
                    rel = "less than" if schema.get("exclusiveMaximum") else "less than or equal to"
                    bad(
                        "FieldValueInvalid",
                        f"Invalid value: {_show(value)}: {path} in body should be {rel} {limit}",
                    )
            if "minimum" in schema:
                limit = schema["minimum"]
                if value < limit or (schema.get("exclusiveMinimum") and value == limit):
                    rel = (
                        "greater than"
                        if schema.get("exclusiveMinimum")
                        else "greater than or equal to"
                    )
                    bad(
                        "FieldValueInvalid",
                        f"Invalid value: {_show(value)}: {path} in body should be {rel} {limit}",
                    )
            if (m := schema.get("multipleOf")) and (value / m) != int(value / m):
                bad(
                    "FieldValueInvalid",
                    f"Invalid value: {_show(value)}: {path} in body should be a multiple of {m}",
                )
        if isinstance(value, list):
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                bad(
                    "FieldValueTooMany",
                    f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
                )
            if "minItems" in schema and len(value) < schema["minItems"]:
                bad(
                    "FieldValueInvalid",
                    f"Invalid value: {len(value)}: {path} in body should "
                    f"have at least {schema['minItems']} items",
                )
            items = schema.get("items")
            if isinstance(items, dict):
                for i, item in enumerate(value):
                    self._validate(items, item, f"{path}[{i}]", out)
            self._list_uniqueness(schema, value, path, out)
        if isinstance(value, dict) and not schema.get("x-kubernetes-embedded-resource"):
            props = schema.get("properties") or {}
            for req in schema.get("required") or []:
                if req not in value:
                    out.causes.append(
                        Cause("FieldValueRequired", _join(path, req), "Required value")
                    )
            addl = schema.get("additionalProperties")
            for key, item in value.items():
                if root and key in _ROOT_SKIP:
                    continue
                if key in props:
                    self._validate(props[key], item, _join(path, key), out)
                elif isinstance(addl, dict):
                    self._validate(addl, item, _join(path, key, is_map=True), out)
            if "maxProperties" in schema and len(value) > schema["maxProperties"]:
                bad(
                    "FieldValueTooMany",
                    f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
                )
            if "minProperties" in schema and len(value) < schema["minProperties"]:
                bad(
                    "FieldValueInvalid",
                    f"Invalid value: {len(value)}: {path} in body should "
                    f"have at least {schema['minProperties']} properties",
                )

    def _list_uniqueness(self, schema: JSON, value: list[Any], path: str, out: Outcome) -> None:
        list_type = schema.get("x-kubernetes-list-type")
        seen: set[str] = set()
        for i, item in enumerate(value):
            if list_type == "set":
                key = json.dumps(item, sort_keys=True)
            elif list_type == "map" and isinstance(item, dict):
                key = json.dumps(
                    [item.get(k) for k in schema.get("x-kubernetes-list-map-keys") or []]
                )
            else:
                return
            if key in seen:
                out.causes.append(
                    Cause(
                        "FieldValueDuplicate",
                        f"{path}[{i}]",
                        f"Duplicate value: {key if list_type == 'map' else _show(item)}",
                    )
                )
            seen.add(key)

    # -- CEL -------------------------------------------------------------------------
    def _cel(
        self, schema: JSON, value: Any, old: Any, path: str, out: Outcome, root: bool = False
    ) -> None:
        for rule in schema.get("x-kubernetes-validations") or []:
            text = rule["rule"]
            transition = "oldSelf" in text
            if transition and old is None and not rule.get("optionalOldSelf"):
                continue  # transition rules only run on updates, as in the real API
            try:
                result = self.cel.evaluate(
                    text, value, old if transition else None, rule.get("messageExpression")
                )
            except Unsupported:
                continue
            if result.ok:
                continue
            message = result.message or rule.get("message") or f"failed rule: {text}"
            where = path + (rule.get("fieldPath") or "")
            where = where.lstrip(".")
            reason = rule.get("reason", "FieldValueInvalid")
            if reason == "FieldValueForbidden":
                detail = f"Forbidden: {message}"
            elif reason == "FieldValueRequired":
                detail = f"Required value: {message}"
            else:
                detail = f'Invalid value: "{schema.get("type", "object")}": {message}'
            out.causes.append(Cause(reason, where, detail))
        if isinstance(value, dict):
            props = schema.get("properties") or {}
            addl = schema.get("additionalProperties")
            for key, item in value.items():
                if root and key in _ROOT_SKIP:
                    continue
                old_item = old.get(key) if isinstance(old, dict) else None
                sub = props.get(key) if key in props else (addl if isinstance(addl, dict) else None)
                if sub is not None:
                    self._cel(sub, item, old_item, _join(path, key, key not in props), out)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            keys = schema.get("x-kubernetes-list-map-keys") or []
            old_by_key = {}
            if schema.get("x-kubernetes-list-type") == "map" and isinstance(old, list):
                old_by_key = {
                    json.dumps([o.get(k) for k in keys]): o for o in old if isinstance(o, dict)
                }
            for i, item in enumerate(value):
                old_item = (
                    old_by_key.get(json.dumps([item.get(k) for k in keys]))
                    if old_by_key and isinstance(item, dict)
                    else None
                )
                self._cel(schema["items"], item, old_item, f"{path}[{i}]", out)


def _join(path: str, key: str, is_map: bool = False) -> str:
    if is_map:
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _rules(schema: Any) -> list[JSON]:
    if not isinstance(schema, dict):
        return []
    found = list(schema.get("x-kubernetes-validations") or [])
    for sub in (schema.get("properties") or {}).values():
        found += _rules(sub)
    found += _rules(schema.get("items"))
    found += _rules(schema.get("additionalProperties"))
    return found
