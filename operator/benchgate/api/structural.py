"""A CRD's structural schema applied to an object as the Kubernetes API server applies it.

One implementation for every place that must answer "would the API server take this?":
the operator and `benchgate run` validating a RegressionSuite against its CRD, and the
sandbox's API stand-in validating every custom resource it stores.

Order, as in the API server (apiextensions-apiserver): nulls of non-nullable fields are
dropped, unknown fields pruned (and reported, for `fieldValidation=Strict|Warn`),
defaults applied; then the object is validated against the OpenAPI v3 schema and, when
that passes, the `x-kubernetes-validations` CEL rules are evaluated. The OpenAPI part is
openapi-schema-validator (OpenAPI 3.0 on jsonschema: anyOf/allOf/oneOf/not, nullable,
formats) extended with the Kubernetes keywords (`x-kubernetes-int-or-string`, list types)
and RE2 patterns, which is what the API server's Go regexp implements. Errors are
`Cause`s with the API server's field paths (`spec.workloads[0].name`) and message shapes
(`Invalid value: 0: spec.x in body should be greater than or equal to 1`).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from benchgate.api.cel import CelEngine, Unsupported

try:  # RE2, as the API server's Go regexp; cel-python depends on it.
    import re2 as _re2
except ImportError:  # pragma: no cover - cel-python always brings google-re2
    _re2 = None

JSON = dict[str, Any]
# Validated by the API server's own ObjectMeta/TypeMeta rules, not by the CRD schema.
ROOT_SKIP = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True)
class Cause:
    """One entry of a Status's details.causes."""

    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, ...
    field: str  # spec.workloads[0].name; "" for the object as a whole
    detail: str  # "Required value", "Invalid value: 20: ..."

    @property
    def message(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail

    def to_dict(self) -> JSON:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class Admission:
    causes: list[Cause] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ the validator class


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return _re2.compile(pattern) if _re2 is not None else re.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: JSON) -> Iterator[Any]:
    if isinstance(instance, str) and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _required(validator: Any, required: list[str], instance: Any, schema: JSON) -> Iterator[Any]:
    # The library's own check, but pointing at the missing field, as the API server does.
    if isinstance(instance, dict):
        for name in required:
            if name not in instance:
                yield ValidationError(f"{name!r} is a required property", path=[name])


def _int_or_string(validator: Any, enabled: bool, instance: Any, schema: JSON) -> Iterator[Any]:
    if enabled and not (
        isinstance(instance, str) or (isinstance(instance, int) and not isinstance(instance, bool))
    ):
        yield ValidationError("must be an integer or a string")


def _list_type(validator: Any, list_type: str, instance: Any, schema: JSON) -> Iterator[Any]:
    if not isinstance(instance, list) or list_type not in ("set", "map"):
        return
    seen: set[str] = set()
    for i, item in enumerate(instance):
        if list_type == "set":
            key = json.dumps(item, sort_keys=True)
        elif isinstance(item, dict):
            keys = schema.get("x-kubernetes-list-map-keys") or []
            key = json.dumps({k: item.get(k) for k in keys}, separators=(",", ":"))
        else:
            continue
        if key in seen:
            yield ValidationError(key, path=[i])
        seen.add(key)


_Validator = jsonschema.validators.extend(
    OAS30Validator,
    {
        "pattern": _pattern,
        "required": _required,
        "x-kubernetes-int-or-string": _int_or_string,
        "x-kubernetes-list-type": _list_type,
    },
)


# ------------------------------------------------------------ messages of the API server


def show(value: Any) -> str:
    """A value as the API server prints it after `Invalid value:`."""
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    return json.dumps(value)


def type_name(value: Any) -> str:
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


def field_path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _branches(error: ValidationError) -> list[list[ValidationError]]:
    """The sub-errors of an anyOf/oneOf, one list per alternative."""
    grouped: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        grouped.setdefault(sub.relative_schema_path[0], []).append(sub)
    return list(grouped.values())


def _best_branch(error: ValidationError) -> list[ValidationError]:
    """The alternative the value meant: the first whose type it has (for an int-or-string
    `-5` that is the integer branch and its `minimum`), else the first."""
    branches = _branches(error)
    for errors in branches:
        if not any(e.validator in ("type", "x-kubernetes-int-or-string") for e in errors):
            return errors
    return branches[0] if branches else []


def causes_of(error: ValidationError) -> list[Cause]:
    """An OpenAPI validation error as the API server reports it."""
    path = field_path(error.absolute_path)
    value, schema, keyword = error.instance, error.schema, error.validator
    where = f"{path} in body" if path else "body"

    def invalid(text: str, reason: str = "FieldValueInvalid") -> list[Cause]:
        return [Cause(reason, path, f"Invalid value: {show(value)}: {where} {text}")]

    if keyword == "required":
        return [Cause("FieldValueRequired", path, "Required value")]
    if keyword in ("type", "x-kubernetes-int-or-string"):
        expected = schema.get("type") if keyword == "type" else "integer,string"
        actual = type_name(value)
        return [
            Cause(
                "FieldValueTypeInvalid",
                path,
                f'Invalid value: "{actual}": {where} must be of type {expected}: "{actual}"',
            )
        ]
    if keyword == "enum":
        supported = ", ".join(json.dumps(v) for v in schema["enum"])
        return [
            Cause(
                "FieldValueNotSupported",
                path,
                f"Unsupported value: {json.dumps(value)}: supported values: {supported}",
            )
        ]
    if keyword == "minimum":
        exclusive = schema.get("exclusiveMinimum") is True
        relation = "greater than" if exclusive else "greater than or equal to"
        return invalid(f"should be {relation} {schema['minimum']}")
    if keyword == "maximum":
        exclusive = schema.get("exclusiveMaximum") is True
        relation = "less than" if exclusive else "less than or equal to"
        return invalid(f"should be {relation} {schema['maximum']}")
    if keyword == "multipleOf":
        return invalid(f"should be a multiple of {schema['multipleOf']}")
    if keyword == "pattern":
        return invalid(f"should match '{schema['pattern']}'")
    if keyword == "minLength":
        return invalid(f"should be at least {schema['minLength']} chars long")
    if keyword == "maxLength":
        return [
            Cause(
                "FieldValueTooLong",
                path,
                f"Too long: may not be more than {schema['maxLength']} bytes",
            )
        ]
    if keyword == "minItems":
        return [
            Cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {len(value)}: {where} should have at least "
                f"{schema['minItems']} items",
            )
        ]
    if keyword == "maxItems":
        return [
            Cause(
                "FieldValueTooMany",
                path,
                f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
            )
        ]
    if keyword == "minProperties":
        return [
            Cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {len(value)}: {where} should have at least "
                f"{schema['minProperties']} properties",
            )
        ]
    if keyword == "maxProperties":
        return [
            Cause(
                "FieldValueTooMany",
                path,
                f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
            )
        ]
    if keyword == "format":
        return invalid(f"must be of type {schema['format']}: {show(value)}")
    if keyword == "x-kubernetes-list-type":
        return [Cause("FieldValueDuplicate", path, f"Duplicate value: {error.message}")]
    if keyword in ("anyOf", "oneOf"):
        which = "at least one schema (anyOf)" if keyword == "anyOf" else "one and only one schema"
        head = invalid(f"must validate {which}" + (" (oneOf)" if keyword == "oneOf" else ""))
        return head + [c for sub in _best_branch(error) for c in causes_of(sub)]
    if keyword == "not":
        return invalid("must not validate the schema (not)")
    return invalid(error.message)


# -------------------------------------------------------------------- the schema itself


def _join(path: str, key: str, is_map: bool = False) -> str:
    if is_map:
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def rules(schema: Any) -> list[JSON]:
    """Every x-kubernetes-validations rule in a schema, depth first."""
    if not isinstance(schema, dict):
        return []
    found = list(schema.get("x-kubernetes-validations") or [])
    for sub in (schema.get("properties") or {}).values():
        found += rules(sub)
    found += rules(schema.get("items"))
    found += rules(schema.get("additionalProperties"))
    return found


class StructuralSchema:
    """One version's openAPIV3Schema, compiled once."""

    def __init__(self, schema: JSON, cel: CelEngine | None = None) -> None:
        self.schema = schema
        self.cel = cel or CelEngine()
        _Validator.check_schema(schema)
        # The CRD schema describes the whole object; apiVersion, kind and metadata are the
        # API server's own business (TypeMeta, ObjectMeta), so validation starts below them.
        body_schema = {k: v for k, v in schema.items() if k != "properties"}
        body_schema["properties"] = {
            k: v for k, v in (schema.get("properties") or {}).items() if k not in ROOT_SKIP
        }
        self._validator = _Validator(body_schema, format_checker=oas30_format_checker)
        for rule in rules(schema):  # compile now: unsupported rules are known up front
            self.cel.check(rule["rule"])
            if rule.get("messageExpression"):
                self.cel.check(rule["messageExpression"])

    def admit(self, obj: JSON, old: JSON | None = None) -> Admission:
        """Prune and default `obj` in place; return the causes (none: valid)."""
        out = Admission()
        _normalize(self.schema, obj, "", out, root=True)
        out.causes += self.validate(obj)
        if not out.causes:
            self._cel(self.schema, obj, old, "", out, root=True)
        return out

    def validate(self, obj: JSON) -> list[Cause]:
        """OpenAPI validation only (no pruning, defaults or CEL)."""
        body = {k: v for k, v in obj.items() if k not in ROOT_SKIP}
        causes: list[Cause] = []
        for error in self._validator.iter_errors(body):
            for cause in causes_of(error):
                if cause not in causes:
                    causes.append(cause)
        return causes

    # -- CEL -------------------------------------------------------------------------
    def _cel(
        self, schema: JSON, value: Any, old: Any, path: str, out: Admission, root: bool = False
    ) -> None:
        rule_self = value
        if root and isinstance(value, dict):
            # At the root a rule sees metadata.name and metadata.generateName only.
            meta = value.get("metadata") or {}
            rule_self = dict(value)
            rule_self["metadata"] = {k: meta[k] for k in ("name", "generateName") if k in meta}
        for rule in schema.get("x-kubernetes-validations") or []:
            text = rule["rule"]
            transition = "oldSelf" in text
            if transition and old is None and not rule.get("optionalOldSelf"):
                continue  # transition rules only run on updates, as in the real API
            try:
                result = self.cel.evaluate(
                    text, rule_self, old if transition else None, rule.get("messageExpression")
                )
            except Unsupported:
                continue
            if result.ok:
                continue
            message = result.message or rule.get("message") or f"failed rule: {text}"
            where = (path + (rule.get("fieldPath") or "")).lstrip(".")
            reason = rule.get("reason", "FieldValueInvalid")
            if reason == "FieldValueForbidden":
                detail = f"Forbidden: {message}"
            elif reason == "FieldValueRequired":
                detail = f"Required value: {message}"
            else:
                detail = f'Invalid value: "{schema.get("type", "")}": {message}'
            out.causes.append(Cause(reason, where, detail))
        if isinstance(value, dict):
            props = schema.get("properties") or {}
            addl = schema.get("additionalProperties")
            for key, item in value.items():
                if root and key in ROOT_SKIP:
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


def _normalize(schema: JSON, value: Any, path: str, out: Admission, root: bool = False) -> None:
    """Drop nulls of non-nullable fields, prune unknown fields, apply defaults."""
    if (
        isinstance(value, dict)
        and schema.get("type", "object") == "object"
        and not schema.get("x-kubernetes-embedded-resource")
    ):
        props: JSON = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
        for key in list(value):
            if root and key in ROOT_SKIP:
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
            _normalize(sub, value[key], child, out)
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
                _normalize(sub, value[key], _join(path, key), out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _normalize(schema["items"], item, f"{path}[{i}]", out)


def load_version_schema(crd: Mapping[str, Any], version: str) -> JSON:
    """The openAPIV3Schema of one version of a CustomResourceDefinition."""
    for entry in (crd.get("spec") or {}).get("versions") or []:
        if entry.get("name") == version:
            schema = (entry.get("schema") or {}).get("openAPIV3Schema")
            if isinstance(schema, dict):
                return schema
    raise KeyError(f"the CRD serves no version {version!r} with a schema")
