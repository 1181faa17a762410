"""ObjectMeta checks every write goes through: label keys/values and annotation size.

A real API server rejects a label value longer than 63 characters or with a character
outside [-A-Za-z0-9_.]; so must the sandbox, or an operator that writes such labels
would pass here and fail in a cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from benchgate.api.structural import Cause

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
ANNOTATIONS_MAX_BYTES = 256 * 1024


def key_problem(key: str) -> str | None:
    """Why `key` is not a qualified name (label and annotation keys, taint keys)."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _PREFIX.match(prefix)):
        return (
            "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
            "alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character"
        )
    if not name or len(name) > 63:
        return (
            "name part must be no more than 63 characters"
            if name
            else "name part must be non-empty"
        )
    if not _NAME.match(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character"
        )
    return None


def value_problem(value: str) -> str | None:
    """Why `value` is not a label value (labels, taint and toleration values)."""
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _VALUE.match(value):
        return (
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return None


def label_causes(labels: Any, path: str) -> list[Cause]:
    if not isinstance(labels, Mapping):
        return []
    causes = []
    for key, value in labels.items():
        if problem := key_problem(str(key)):
            causes.append(Cause("FieldValueInvalid", path, f'Invalid value: "{key}": {problem}'))
        if not isinstance(value, str):
            causes.append(
                Cause("FieldValueTypeInvalid", f"{path}[{key}]", "Invalid value: must be a string")
            )
        elif len(value) > 63:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    path,
                    f'Invalid value: "{value}": must be no more than 63 characters',
                )
            )
        elif not _VALUE.match(value):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    path,
                    f'Invalid value: "{value}": a valid '
                    "label must be an empty string or consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an "
                    "alphanumeric character",
                )
            )
    return causes


def metadata_causes(obj: Mapping[str, Any]) -> list[Cause]:
    meta = obj.get("metadata") or {}
    causes = label_causes(meta.get("labels"), "metadata.labels")
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping):
        for key in annotations:
            if problem := key_problem(str(key)):
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        "metadata.annotations",
                        f'Invalid value: "{key}": {problem}',
                    )
                )
        size = len(json.dumps(annotations))
        if size > ANNOTATIONS_MAX_BYTES:
            causes.append(
                Cause(
                    "FieldValueTooLong",
                    "metadata.annotations",
                    f"Too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes",
                )
            )
    template = (obj.get("spec") or {}).get("template")
    if obj.get("kind") == "Job" and isinstance(template, Mapping):
        causes += label_causes(
            (template.get("metadata") or {}).get("labels"), "spec.template.labels"
        )
    return causes
