"""What a request asks for, as authorization sees it (the API server's RequestInfo).

Parsed from the URL alone, before any routing: a user without permission is refused a
resource that may not even exist, and an allowed one then gets the 404, as on a real
server. The rules follow k8s.io/apiserver/pkg/endpoints/request/requestinfo.go:

- /api/<version>/... and /apis/<group>/<version>/... with a resource are resource
  requests; everything else (/version, /healthz, /openapi/v3, and discovery such as /api,
  /apis, /apis/<group>/<version>) is a non-resource request whose verb is the lower-case
  HTTP method.
- /namespaces/<ns>/<resource>/... sets the namespace; /namespaces/<ns>[/status|/finalize]
  is the namespace itself, *in* that namespace (why a namespaced "get namespaces" rule
  lets a user read their own namespace).
- GET without a name is list, or watch with ?watch=true; a list or watch whose field
  selector pins metadata.name carries that name (so resourceNames rules can allow it).
  DELETE without a name is deletecollection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class RequestInfo:
    resource_request: bool
    path: str
    verb: str
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


def _truthy(value: str | None) -> bool:
    return value in ("true", "1", "True")


def parse(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    parts = [p for p in path.split("/") if p]
    plain = RequestInfo(False, path, method.lower())
    if not parts or parts[0] not in ("api", "apis"):
        return plain
    if parts[0] == "api":
        if len(parts) < 3:
            return plain
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) < 4:
            return plain
        group, version, rest = parts[1], parts[2], parts[3:]
    verb = _VERBS.get(method.upper(), "")
    if method.upper() == "DELETE":
        verb = "delete"
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if _truthy(query.get("watch")) else "list"
        pinned = _exact_name(query.get("fieldSelector") or "")
        if pinned:
            name = pinned
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(True, path, verb, group, version, namespace, resource, subresource, name)


def _exact_name(selector: str) -> str:
    for term in selector.split(","):
        key, op, value = _split_term(term.strip())
        if key == "metadata.name" and op in ("=", "==") and value and "/" not in value:
            return value
    return ""


def _split_term(term: str) -> tuple[str, str, str]:
    for op in ("!=", "==", "="):
        key, sep, value = term.partition(op)
        if sep:
            return key.strip(), op, value.strip()
    return term, "", ""
