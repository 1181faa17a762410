"""The HTTP face of the sandbox: routes Kubernetes API paths onto the store.

Paths: /api, /apis, discovery documents, /version, and
/api/v1[/namespaces/{ns}]/{plural}[/{name}[/{subresource}]] (and /apis/{g}/{v}/...).
Content negotiation: JSON only. A protobuf *body* is answered 415 and an Accept that
allows only protobuf 406, exactly where the real server would refuse; `as=Table` in
Accept gets server-side printing.

Every request is authenticated (`authn`: bearer tokens, impersonation), then authorized
by RBAC from its URL alone (`requestinfo`, `rbac`) before it is routed, as on a real
server: 401 for an unknown token, 403 with the API server's message for a refusal.
Writes carry the requester into admission (RBAC's own write checks, Pod Security,
ValidatingAdmissionPolicies).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import yaml
from aiohttp import web
from multidict import CIMultiDict

from benchgate_sandbox import patch as patches
from benchgate_sandbox import protobuf, requestinfo, reviews
from benchgate_sandbox.authn import (
    IMPERSONATE_EXTRA,
    IMPERSONATE_GROUP,
    IMPERSONATE_UID,
    IMPERSONATE_USER,
    Authenticator,
    UserInfo,
    impersonate,
)
from benchgate_sandbox.errors import STALE, ApiError, bad_request, conflict
from benchgate_sandbox.faults import FaultInjector
from benchgate_sandbox.printing import to_table
from benchgate_sandbox.rbac import Attributes, RbacAuthorizer, forbidden_message
from benchgate_sandbox.resources import JSON, ResourceType
from benchgate_sandbox.selectors import parse_field_selector, parse_label_selector
from benchgate_sandbox.store import Store
from benchgate_sandbox.watch import WatchHub

SERVER_VERSION = {
    "major": "1",
    "minor": "37",
    "gitVersion": "v1.37.0-benchgate-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-11-23T00:00:00Z",
    "goVersion": "go1.25",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class Request(NamedTuple):
    """One audited API request, as RBAC sees it."""

    verb: str
    resource: str  # "pods", "jobs.batch", "regressionsuites.benchgate.dev"
    namespace: str | None
    subresource: str | None


class Audited(NamedTuple):
    """A request and who made it (the authenticated, or impersonated, username)."""

    request: Request
    user: str


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


LogProvider = Callable[[str, str, web.Request], Awaitable[web.StreamResponse]]


def _truthy(value: str | None) -> bool:
    return value in ("true", "1", "True")


class ApiServer:
    def __init__(
        self, store: Store, hub: WatchHub, authn: Authenticator, rbac: RbacAuthorizer
    ) -> None:
        self.store = store
        self.hub = hub
        self.authn = authn
        self.rbac = rbac
        self.faults = FaultInjector()
        self.requests: list[Request] = []
        self.audit: list[Audited] = []
        self.pod_logs: LogProvider | None = None
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    # -- entry -----------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except ApiError as exc:
            headers = CIMultiDict(exc.headers)
            return web.json_response(exc.to_status(), status=exc.code, headers=headers)

    def _user(self, request: web.Request) -> UserInfo:
        """Authentication, then impersonation (each refused with the API server's answer)."""
        user = self.authn.authenticate(request.headers.get("Authorization"))
        headers = request.headers
        users = headers.getall(IMPERSONATE_USER, [])
        groups = headers.getall(IMPERSONATE_GROUP, [])
        uids = headers.getall(IMPERSONATE_UID, [])
        extras: dict[str, list[str]] = {}
        for key in headers:
            if key.lower().startswith(IMPERSONATE_EXTRA.lower()):
                extras.setdefault(key[len(IMPERSONATE_EXTRA) :].lower(), []).extend(
                    headers.getall(key)
                )
        if not (users or groups or uids or extras):
            return user
        return impersonate(user, users, groups, uids, extras, self.rbac.allowed)

    def _authorize(self, info: requestinfo.RequestInfo, user: UserInfo) -> None:
        attributes = Attributes.of(user, info)
        decision = self.rbac.authorize(attributes)
        if not decision.allowed:
            if info.resource_request:  # an audit log records refusals too
                resource = f"{info.resource}.{info.api_group}" if info.api_group else info.resource
                refused = Request(
                    info.verb, resource, info.namespace or None, info.subresource or None
                )
                self.requests.append(refused)
                self.audit.append(Audited(refused, user.username))
            message, details = forbidden_message(attributes, decision.reason)
            raise ApiError(403, "Forbidden", message, details)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        info = requestinfo.parse(request.method, request.path, request.query)
        self._authorize(info, user)
        content_type = request.headers.get("Content-Type", "")
        reviewing = info.verb == "create" and (
            info.resource in reviews.REVIEW_RESOURCES
            or (info.resource, info.subresource) == ("serviceaccounts", "token")
        )
        if "protobuf" in content_type and not reviewing:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: application/json, application/yaml (got {content_type}; the "
                f"benchgate sandbox speaks JSON only, and `kubectl create <kind>` sends "
                f"protobuf: type `kubectl create <kind> NAME [flags] --dry-run=client -o yaml "
                f"[-- command] | kubectl apply -f -` instead)",
            )
        accept = request.headers.get("Accept", "")
        if accept and "protobuf" in accept and "json" not in accept and "*/*" not in accept:
            raise ApiError(
                406,
                "NotAcceptable",
                "only the following media types are accepted: application/json, application/yaml",
            )
        parts = [p for p in request.path.split("/") if p]
        if not parts or parts[0] not in ("api", "apis"):
            return self._non_resource(request, parts)
        if parts[0] == "api":
            group, rest = "", parts[1:]
        else:
            if len(parts) == 1:
                return web.json_response(self._group_list())
            group, rest = parts[1], parts[2:]
            if not rest:
                return web.json_response(self._group(group))
        if not rest:
            return web.json_response(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}
                    ],
                }
            )
        version, rest = rest[0], rest[1:]
        if not rest:
            return web.json_response(self._resource_list(group, version))
        target = self._target(group, version, rest)
        return await self._resource(request, target, user)

    def _non_resource(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        path = "/".join(parts)
        if path == "version":
            return web.json_response(SERVER_VERSION)
        if path in ("healthz", "readyz", "livez"):
            return web.Response(text="ok")
        if path == "openapi/v3":
            return web.json_response(self._openapi_root())
        if path.startswith("openapi/v3/"):
            return web.json_response(self._openapi_group_version(path[len("openapi/v3/") :]))
        # /openapi/v2 is not served: kubectl then relies on the v3 documents above.
        raise ApiError(404, "NotFound", "the server could not find the requested resource", {})

    # -- discovery -------------------------------------------------------------------
    def _groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for rt in self.store.all_types():
            if rt.group:
                versions = groups.setdefault(rt.group, [])
                if rt.version not in versions:
                    versions.append(rt.version)
        return groups

    def _group(self, name: str) -> JSON:
        versions = self._groups().get(name)
        if not versions:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": name,
            "versions": entries,
            "preferredVersion": entries[0],
        }

    def _group_list(self) -> JSON:
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [self._group(g) for g in sorted(self._groups())],
        }

    def _resource_list(self, group: str, version: str) -> JSON:
        types = [rt for rt in self.store.all_types() if rt.group == group and rt.version == version]
        if not types:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        resources: list[JSON] = []
        for rt in sorted(types, key=lambda t: t.plural):
            entry: JSON = {
                "name": rt.plural,
                "singularName": rt.singular,
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["create"]
                if rt.virtual
                else [
                    "create",
                    "delete",
                    "deletecollection",
                    "get",
                    "list",
                    "patch",
                    "update",
                    "watch",
                ],
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            resources.append(entry)
            subs = (["status"] if rt.has_status else []) + list(rt.extra_subresources)
            for sub in subs:
                verbs = {
                    "status": ["get", "patch", "update"],
                    "log": ["get"],
                    "binding": ["create"],
                    "eviction": ["create"],
                    "token": ["create"],
                }[sub]
                sub_kind = {
                    "binding": "Binding",
                    "eviction": "Eviction",
                    "token": "TokenRequest",
                }.get(sub, rt.kind)
                resources.append(
                    {
                        "name": f"{rt.plural}/{sub}",
                        "singularName": "",
                        "namespaced": rt.namespaced,
                        "kind": sub_kind,
                        "verbs": verbs,
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    # -- OpenAPI v3 (minimal) ----------------------------------------------------------
    def _openapi_root(self) -> JSON:
        """The v3 discovery root: one document per group-version, as kubectl expects."""
        paths = {}
        for rt in self.store.all_types():
            gv = f"apis/{rt.group}/{rt.version}" if rt.group else "api/v1"
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={self.store.rv}"}
        return {"paths": paths}

    def _openapi_group_version(self, gv: str) -> JSON:
        """Per group-version paths declaring the operations and their query parameters
        (kubectl checks PATCH for `fieldValidation` to choose server-side validation).
        Schemas are not published: `kubectl explain` has nothing to show."""
        parts = gv.split("/")
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
        types = [rt for rt in self.store.all_types() if rt.group == group and rt.version == version]
        if not types:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        params = [
            {"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
            for n in ("dryRun", "fieldManager", "fieldValidation", "force")
        ]
        paths: JSON = {}
        for rt in types:
            gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
            prefix = f"/{gv}/namespaces/{{namespace}}" if rt.namespaced else f"/{gv}"

            def op(action: str, rt: ResourceType = rt, gvk: JSON = gvk) -> JSON:
                return {
                    "operationId": f"{action}{rt.kind}",
                    "parameters": params,
                    "x-kubernetes-action": action,
                    "x-kubernetes-group-version-kind": gvk,
                    "responses": {"200": {"description": "OK"}},
                }

            paths[f"{prefix}/{rt.plural}"] = {"get": op("list"), "post": op("post")}
            paths[f"{prefix}/{rt.plural}/{{name}}"] = {
                "get": op("get"),
                "put": op("put"),
                "patch": op("patch"),
                "delete": op("delete"),
            }
        return {
            "openapi": "3.0.0",
            "info": {
                "title": "Kubernetes (benchgate sandbox)",
                "version": SERVER_VERSION["gitVersion"],
            },
            "paths": paths,
            "components": {"schemas": {}},
        }

    # -- resources -------------------------------------------------------------------
    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        rt = self.store.type_for(group, version, rest[0])
        if namespace is not None and not rt.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if (
            len(rest) > 3
            or (sub and sub not in ("status", *rt.extra_subresources))
            or (sub == "status" and not rt.has_status)
        ):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        return Target(rt, namespace, name, sub)

    async def _resource(
        self, request: web.Request, t: Target, user: UserInfo
    ) -> web.StreamResponse:
        q = request.query
        method = request.method
        if method == "GET":
            verb = "get" if t.name else ("watch" if _truthy(q.get("watch")) else "list")
        else:
            verb = {
                "POST": "create",
                "PUT": "update",
                "PATCH": "patch",
                "DELETE": "delete" if t.name else "deletecollection",
            }.get(method, "")
        if not verb:
            raise ApiError(405, "MethodNotAllowed", f"method {method} not allowed", {})
        made = Request(verb, t.rt.qualified, t.namespace, t.subresource)
        self.requests.append(made)
        self.audit.append(Audited(made, user.username))
        self.faults.check(verb, t.rt.qualified, t.rt.plural, t.namespace, t.name, t.subresource)
        if t.rt.virtual or t.subresource == "token":
            return await self._review(request, t, verb, user)
        if t.subresource == "log":
            if self.pod_logs is None:
                raise bad_request("no kubelet serves logs in this sandbox")
            assert t.name and t.namespace
            return await self.pod_logs(t.namespace, t.name, request)
        if t.subresource in ("binding", "eviction"):
            return await self._pod_action(request, t)
        if verb == "get":
            assert t.name
            obj = self.store.get(t.rt, t.namespace, t.name)
            if self._wants_table(request):
                return web.json_response(
                    to_table(
                        t.rt,
                        [obj],
                        obj["metadata"]["resourceVersion"],
                        q.get("includeObject", "Metadata"),
                    )
                )
            return web.json_response(obj)
        if verb == "list":
            return self._list(request, t)
        if verb == "watch":
            return await self._watch(request, t)
        dry_run = q.get("dryRun") == "All"
        validation = q.get("fieldValidation", "Warn")
        warnings: list[str] = []
        if verb == "create":
            if t.name:
                raise ApiError(
                    405, "MethodNotAllowed", "create is not allowed on a named resource path", {}
                )
            obj = self.store.create(
                t.rt,
                t.namespace,
                await self._body(request),
                dry_run=dry_run,
                field_validation=validation,
                warnings=warnings,
                user=user,
            )
            return self._respond(obj, 201, warnings)
        if verb == "update":
            assert t.name
            obj = self.store.update(
                t.rt,
                t.namespace,
                t.name,
                await self._body(request),
                subresource=t.subresource,
                dry_run=dry_run,
                field_validation=validation,
                warnings=warnings,
                user=user,
            )
            return self._respond(obj, 200, warnings)
        if verb == "patch":
            assert t.name
            obj = await self._patch(request, t, dry_run, validation, warnings, user)
            return self._respond(obj, 200, warnings)
        if verb == "delete":
            assert t.name
            options = await self._body(request, allow_empty=True)
            obj = self._delete_one(t, t.name, q, options, dry_run, warnings, user)
            pending = (
                bool(obj["metadata"].get("deletionTimestamp"))
                and self.store.peek(t.rt, t.namespace, t.name) is not None
            )
            if pending or t.rt.key == ("", "pods") or not t.rt.builtin:
                return self._respond(obj, 202 if pending else 200, warnings)
            return self._respond(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        "name": t.name,
                        "group": t.rt.group,
                        "kind": t.rt.plural,
                        "uid": obj["metadata"]["uid"],
                    },
                },
                200,
                warnings,
            )
        # deletecollection
        options = await self._body(request, allow_empty=True)
        labels = parse_label_selector(q.get("labelSelector"))
        fields = parse_field_selector(
            q.get("fieldSelector"), t.rt.allowed_field_labels(), t.rt.kind
        )
        deleted = [
            self._delete_one(t, o["metadata"]["name"], q, options, dry_run, warnings, user)
            for o in self.store.select(t.rt, t.namespace, labels, fields)
        ]
        return self._respond(
            {
                "kind": f"{t.rt.kind}List",
                "apiVersion": t.rt.api_version,
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": deleted,
            },
            200,
            warnings,
        )

    def _delete_one(
        self,
        t: Target,
        name: str,
        q: Any,
        options: JSON,
        dry_run: bool,
        warnings: list[str],
        user: UserInfo,
    ) -> JSON:
        propagation = options.get("propagationPolicy") or q.get("propagationPolicy")
        if options.get("orphanDependents") is True:
            propagation = "Orphan"
        grace = options.get("gracePeriodSeconds", q.get("gracePeriodSeconds"))
        return self.store.delete(
            t.rt,
            t.namespace,
            name,
            propagation=propagation,
            preconditions=options.get("preconditions"),
            grace_seconds=int(grace) if grace is not None else None,
            dry_run=dry_run,
            warnings=warnings,
            user=user,
        )

    @staticmethod
    def _wants_table(request: web.Request) -> bool:
        accept = request.headers.get("Accept", "")
        first = accept.split(",")[0]
        return "as=Table" in first

    @staticmethod
    def _respond(obj: JSON, status: int, warnings: list[str]) -> web.Response:
        headers: CIMultiDict[str] = CIMultiDict()
        for warning in warnings:
            headers.add("Warning", f'299 - "{warning}"')
        return web.json_response(obj, status=status, headers=headers)

    async def _body(self, request: web.Request, allow_empty: bool = False) -> JSON:
        raw = await request.read()
        if not raw.strip():
            if allow_empty:
                return {}
            raise bad_request("the request body is empty")
        content_type = request.headers.get("Content-Type", "")
        try:
            if "protobuf" in content_type:  # only reviews get here (see _dispatch)
                return protobuf.decode(raw, lambda kind: True)
            body = yaml.safe_load(raw) if "yaml" in content_type else json.loads(raw)
        except (ValueError, yaml.YAMLError, protobuf.DecodeError) as exc:
            raise bad_request(f"the body of the request could not be decoded: {exc}") from exc
        if not isinstance(body, dict | list):
            raise bad_request("the request body must be a JSON object")
        return body  # type: ignore[return-value]

    # -- list / watch ----------------------------------------------------------------
    def _list(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        labels = parse_label_selector(q.get("labelSelector"))
        fields = parse_field_selector(
            q.get("fieldSelector"), t.rt.allowed_field_labels(), t.rt.kind
        )
        rv = q.get("resourceVersion")
        if (
            q.get("resourceVersionMatch") == "Exact"
            and rv
            and rv.isdigit()
            and int(rv) < self.store.compacted_rv
        ):
            raise ApiError(
                410, "Expired", f"too old resource version: {rv} ({self.store.compacted_rv})", {}
            )
        items = self.store.select(t.rt, t.namespace, labels, fields)
        list_rv = str(self.store.rv)
        start = ""
        if token := q.get("continue"):
            try:
                decoded = json.loads(base64.b64decode(token))
                start, list_rv = decoded["start"], decoded["rv"]
            except (ValueError, KeyError) as exc:
                raise bad_request(f"continue key is not valid: {exc}") from exc
            if int(list_rv) < self.store.compacted_rv:
                raise ApiError(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to "
                    "display a consistent list result. You can start a new list "
                    "without the continue parameter.",
                    {},
                )
            items = [o for o in items if _sort_key(o) > start]
        next_token = ""
        limit = int(q.get("limit", "0") or 0)
        if limit and len(items) > limit:
            items = items[:limit]
            next_token = base64.b64encode(
                json.dumps({"start": _sort_key(items[-1]), "rv": list_rv}).encode()
            ).decode()
        if self._wants_table(request):
            return web.json_response(
                to_table(t.rt, items, list_rv, q.get("includeObject", "Metadata"), next_token)
            )
        meta: JSON = {"resourceVersion": list_rv}
        if next_token:
            meta["continue"] = next_token
        return web.json_response(
            {
                "kind": f"{t.rt.kind}List",
                "apiVersion": t.rt.api_version,
                "metadata": meta,
                "items": items,
            }
        )

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        labels = parse_label_selector(q.get("labelSelector"))
        fields = parse_field_selector(
            q.get("fieldSelector"), t.rt.allowed_field_labels(), t.rt.kind
        )
        send_initial = _truthy(q.get("sendInitialEvents"))
        if send_initial and q.get("resourceVersionMatch") != "NotOlderThan":
            raise ApiError(
                422,
                "Invalid",
                "sendInitialEvents is forbidden unless resourceVersionMatch is NotOlderThan",
                {},
            )
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        table = self._wants_table(request)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        stream: AsyncIterator[JSON] = self.hub.stream(
            t.rt,
            t.namespace,
            labels,
            fields,
            q.get("resourceVersion"),
            bookmarks=_truthy(q.get("allowWatchBookmarks")),
            send_initial=send_initial,
            timeout=timeout,
        )
        try:
            async for event in stream:
                if table and event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    obj = event["object"]
                    event = {
                        "type": event["type"],
                        "object": to_table(
                            t.rt,
                            [obj],
                            obj["metadata"]["resourceVersion"],
                            q.get("includeObject", "Metadata"),
                        ),
                    }
                await response.write(json.dumps(event).encode() + b"\n")
        except (ConnectionResetError, RuntimeError):
            pass  # the client went away
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return response

    # -- PATCH -----------------------------------------------------------------------
    async def _patch(
        self,
        request: web.Request,
        t: Target,
        dry_run: bool,
        validation: str,
        warnings: list[str],
        user: UserInfo,
    ) -> JSON:
        assert t.name
        kind = request.headers.get("Content-Type", "").split(";")[0].strip()
        body = await self._body(request)
        if kind == patches.APPLY:
            return self._apply(t, body, dry_run, validation, warnings, user)
        current = self.store.get(t.rt, t.namespace, t.name)
        if kind == patches.MERGE:
            patched = patches.merge_patch(current, body)
        elif kind == patches.JSON_PATCH:
            patched = patches.json_patch(current, body)
        elif kind == patches.STRATEGIC and t.rt.builtin:
            patched = patches.strategic_merge(current, body)
        else:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an "
                "unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml",
                {},
            )
        if not isinstance(patched, dict):
            raise bad_request("the patch produced something that is not an object")
        meta = patched.get("metadata") or {}
        # A resourceVersion in the patch is a precondition, as on the real server.
        if (
            meta.get("resourceVersion")
            and meta["resourceVersion"] != current["metadata"]["resourceVersion"]
        ):
            raise conflict(t.rt.qualified, t.name, STALE)
        patched.setdefault("metadata", {})["resourceVersion"] = current["metadata"][
            "resourceVersion"
        ]
        return self.store.update(
            t.rt,
            t.namespace,
            t.name,
            patched,
            subresource=t.subresource,
            dry_run=dry_run,
            field_validation=validation,
            warnings=warnings,
            user=user,
        )

    def _apply(
        self,
        t: Target,
        body: JSON,
        dry_run: bool,
        validation: str,
        warnings: list[str],
        user: UserInfo,
    ) -> JSON:
        """Server-side apply, approximated: create, or merge the applied configuration.
        Field ownership (managedFields) and conflict detection are not modelled."""
        assert t.name
        existing = self.store.peek(t.rt, t.namespace, t.name)
        if existing is None:
            return self.store.create(
                t.rt,
                t.namespace,
                body,
                dry_run=dry_run,
                field_validation=validation,
                warnings=warnings,
                user=user,
            )
        patched = patches.merge_patch(self.store.get(t.rt, t.namespace, t.name), body)
        return self.store.update(
            t.rt,
            t.namespace,
            t.name,
            patched,
            subresource=t.subresource,
            dry_run=dry_run,
            field_validation=validation,
            warnings=warnings,
            user=user,
        )

    # -- reviews and TokenRequest ------------------------------------------------------
    async def _review(
        self, request: web.Request, t: Target, verb: str, user: UserInfo
    ) -> web.StreamResponse:
        if verb != "create" or (t.rt.virtual and t.name):
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                {},
            )
        body = await self._body(request)
        if t.subresource == "token":
            assert t.name and t.namespace
            account = self.store.peek(t.rt, t.namespace, t.name)
            answer = reviews.token_request(t.namespace, t.name, body, account, self.authn)
        else:
            answer = reviews.review(t.rt, body, user, t.namespace, self.rbac, self.authn)
        return web.json_response(answer, status=201)

    # -- pod actions -----------------------------------------------------------------
    async def _pod_action(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name and t.namespace
        body = await self._body(request)
        pod = self.store.get(t.rt, t.namespace, t.name)
        if t.subresource == "binding":
            node = (body.get("target") or {}).get("name")
            if not node:
                raise bad_request("binding target.name is required")
            if pod["spec"].get("nodeName"):
                raise conflict(
                    "pods",
                    t.name,
                    f'pod {t.name} is already assigned to node "{pod["spec"]["nodeName"]}"',
                )
            pod["spec"]["nodeName"] = node
            self.store.update(t.rt, t.namespace, t.name, pod)
        else:
            self.store.delete(
                t.rt,
                t.namespace,
                t.name,
                grace_seconds=(body.get("deleteOptions") or {}).get("gracePeriodSeconds"),
            )
        return web.json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
            status=201,
        )


def _sort_key(obj: JSON) -> str:
    return f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
