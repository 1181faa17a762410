"""The few protobuf request bodies the sandbox accepts: kubectl's review requests.

kubectl sends built-in kinds as protobuf (`application/vnd.kubernetes.protobuf`).
`kubectl auth can-i`, `kubectl auth whoami` and `kubectl create token` send nothing but
a review or a TokenRequest, so the sandbox decodes exactly those (and answers in JSON,
which kubectl accepts); every other protobuf body is still answered 415 (server.py).

The envelope is Kubernetes' `k8s\\x00` magic followed by a runtime.Unknown message
(typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2); field numbers of the messages below
are those of k8s.io/api/{authorization,authentication}/v1/generated.proto.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAGIC = b"k8s\x00"
JSON = dict[str, Any]


class DecodeError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise DecodeError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise DecodeError("varint too long")


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) in order: ints for varints, bytes for length-delimited."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise DecodeError("truncated field")
            out.append((number, data[pos : pos + length]))
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise DecodeError(f"unsupported wire type {wire}")
    return out


Schema = dict[int, tuple[str, Any]]  # number -> (json name, "str" | "int" | "[str]" | Schema)


def _message(data: bytes, schema: Schema) -> JSON:
    out: JSON = {}
    for number, value in fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind == "str" and isinstance(value, bytes):
            out[name] = value.decode()
        elif kind == "[str]" and isinstance(value, bytes):
            out.setdefault(name, []).append(value.decode())
        elif kind == "int" and isinstance(value, int):
            out[name] = value
        elif isinstance(kind, dict) and isinstance(value, bytes):
            out[name] = _message(value, kind)
    return out


_RESOURCE: Schema = {
    1: ("namespace", "str"),
    2: ("verb", "str"),
    3: ("group", "str"),
    4: ("version", "str"),
    5: ("resource", "str"),
    6: ("subresource", "str"),
    7: ("name", "str"),
}
_NON_RESOURCE: Schema = {1: ("path", "str"), 2: ("verb", "str")}
_META: Schema = {1: ("name", "str"), 3: ("namespace", "str")}
_ACCESS_SPEC: Schema = {
    1: ("resourceAttributes", _RESOURCE),
    2: ("nonResourceAttributes", _NON_RESOURCE),
    3: ("user", "str"),
    4: ("groups", "[str]"),
    6: ("uid", "str"),
}
SCHEMAS: dict[str, Schema] = {
    "SelfSubjectAccessReview": {1: ("metadata", _META), 2: ("spec", _ACCESS_SPEC)},
    "SubjectAccessReview": {1: ("metadata", _META), 2: ("spec", _ACCESS_SPEC)},
    "LocalSubjectAccessReview": {1: ("metadata", _META), 2: ("spec", _ACCESS_SPEC)},
    "SelfSubjectRulesReview": {1: ("metadata", _META), 2: ("spec", {1: ("namespace", "str")})},
    "SelfSubjectReview": {1: ("metadata", _META)},
    "TokenReview": {
        1: ("metadata", _META),
        2: ("spec", {1: ("token", "str"), 2: ("audiences", "[str]")}),
    },
    "TokenRequest": {
        1: ("metadata", _META),
        2: ("spec", {1: ("audiences", "[str]"), 4: ("expirationSeconds", "int")}),
    },
}


def decode(body: bytes, accepts: Callable[[str], bool]) -> JSON:
    """The JSON form of a protobuf request body whose kind `accepts` allows."""
    if not body.startswith(MAGIC):
        raise DecodeError("missing the k8s protobuf magic prefix")
    unknown = dict(fields(body[len(MAGIC) :]))
    type_meta = unknown.get(1)
    raw = unknown.get(2)
    if not isinstance(type_meta, bytes) or not isinstance(raw, bytes):
        raise DecodeError("not a runtime.Unknown envelope")
    meta = _message(type_meta, {1: ("apiVersion", "str"), 2: ("kind", "str")})
    kind = str(meta.get("kind", ""))
    if kind not in SCHEMAS or not accepts(kind):
        raise DecodeError(f"kind {kind or '?'} is not decoded from protobuf here")
    return {**meta, **_message(raw, SCHEMAS[kind])}
