"""The review APIs: answered at once from the authenticator and the authorizer, never
stored (authorization.k8s.io/v1 and authentication.k8s.io/v1), plus TokenRequest.

- SelfSubjectAccessReview (`kubectl auth can-i`), SubjectAccessReview,
  LocalSubjectAccessReview: may this user do this?
- SelfSubjectRulesReview (`kubectl auth can-i --list`): what may I do in a namespace?
- SelfSubjectReview (`kubectl auth whoami`), TokenReview: who is this?
- TokenRequest (`kubectl create token SA`): a token bound to a ServiceAccount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from benchgate_sandbox.authn import Authenticator, UserInfo
from benchgate_sandbox.errors import ApiError, bad_request, not_found
from benchgate_sandbox.rbac import Attributes, RbacAuthorizer
from benchgate_sandbox.resources import JSON, ResourceType

REVIEW_RESOURCES = frozenset(
    {
        "selfsubjectaccessreviews",
        "selfsubjectrulesreviews",
        "subjectaccessreviews",
        "localsubjectaccessreviews",
        "selfsubjectreviews",
        "tokenreviews",
    }
)


def _invalid(kind: str, group: str, field: str, detail: str) -> ApiError:
    return ApiError(
        422,
        "Invalid",
        f'{kind}.{group} "" is invalid: {field}: {detail}',
        {
            "group": group,
            "kind": kind,
            "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": field}],
        },
    )


def _attributes(
    kind: str, spec: Mapping[str, Any], user: UserInfo, namespace: str | None
) -> Attributes:
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if bool(resource) == bool(non_resource):
        raise _invalid(
            kind,
            "authorization.k8s.io",
            "spec.resourceAttributes",
            'Invalid value: "null": exactly one of nonResourceAttributes or '
            "resourceAttributes must be specified",
        )
    if non_resource:
        return Attributes(
            user,
            str(non_resource.get("verb", "")),
            resource_request=False,
            path=str(non_resource.get("path", "")),
        )
    assert isinstance(resource, Mapping)
    ns = str(resource.get("namespace") or "")
    if namespace is not None and ns != namespace:
        raise _invalid(
            kind,
            "authorization.k8s.io",
            "spec.resourceAttributes.namespace",
            f'Invalid value: "{ns}": must match metadata.namespace',
        )
    return Attributes(
        user,
        str(resource.get("verb", "")),
        True,
        str(resource.get("group", "")),
        str(resource.get("resource", "")),
        str(resource.get("subresource", "")),
        ns,
        str(resource.get("name", "")),
    )


def _answer(rt: ResourceType, body: JSON, status: JSON, namespace: str | None = None) -> JSON:
    metadata: JSON = {"creationTimestamp": None}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "kind": rt.kind,
        "apiVersion": rt.api_version,
        "metadata": metadata,
        "spec": body.get("spec") or {},
        "status": status,
    }


def review(
    rt: ResourceType,
    body: JSON,
    user: UserInfo,
    namespace: str | None,
    rbac: RbacAuthorizer,
    authn: Authenticator,
) -> JSON:
    """The answer to creating a review object `body` of type `rt`."""
    spec = body.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise bad_request("spec must be an object")
    if rt.plural in (
        "selfsubjectaccessreviews",
        "subjectaccessreviews",
        "localsubjectaccessreviews",
    ):
        subject = user
        if rt.plural != "selfsubjectaccessreviews":
            if not spec.get("user") and not spec.get("groups"):
                raise _invalid(
                    rt.kind,
                    rt.group,
                    "spec.user",
                    'Invalid value: "": at least one of user or group must be specified',
                )
            subject = UserInfo(
                str(spec.get("user") or ""),
                str(spec.get("uid") or ""),
                tuple(str(g) for g in spec.get("groups") or ()),
                {k: tuple(v) for k, v in (spec.get("extra") or {}).items()},
            )
        local = namespace if rt.plural == "localsubjectaccessreviews" else None
        decision = rbac.authorize(_attributes(rt.kind, spec, subject, local))
        status: JSON = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        return _answer(rt, body, status, local)
    if rt.plural == "selfsubjectrulesreviews":
        resolution = rbac.resolve(user, str(spec.get("namespace") or ""))
        resource_rules: list[JSON] = []
        url_rules: list[JSON] = []
        for rule in resolution.rules():
            entry = rule.to_dict()
            (url_rules if rule.non_resource_urls else resource_rules).append(entry)
        status = {
            "resourceRules": resource_rules,
            "nonResourceRules": url_rules,
            "incomplete": bool(resolution.errors),
        }
        if resolution.errors:
            status["evaluationError"] = "; ".join(resolution.errors)
        return _answer(rt, body, status)
    if rt.plural == "selfsubjectreviews":
        return {
            "kind": rt.kind,
            "apiVersion": rt.api_version,
            "metadata": {"creationTimestamp": None},
            "status": {"userInfo": user.to_dict()},
        }
    if rt.plural == "tokenreviews":
        found = authn.lookup(str(spec.get("token") or ""))
        status = {"authenticated": found is not None}
        if found is not None:
            status["user"] = found.to_dict()
        else:
            status["error"] = "invalid bearer token"
        return _answer(rt, body, status)
    raise ApiError(405, "MethodNotAllowed", f"{rt.plural} cannot be created here", {})


def token_request(
    namespace: str,
    name: str,
    body: JSON,
    account: JSON | None,
    authn: Authenticator,
) -> JSON:
    """TokenRequest for ServiceAccount `namespace/name` (`account` is the stored object)."""
    if account is None:
        raise not_found("serviceaccounts", name)
    spec = dict(body.get("spec") or {})
    seconds = int(spec.get("expirationSeconds") or 3600)
    if seconds < 600:
        raise _invalid(
            "TokenRequest",
            "authentication.k8s.io",
            "spec.expirationSeconds",
            f"Invalid value: {seconds}: may not specify a duration less than 10 minutes",
        )
    spec["expirationSeconds"] = seconds
    spec.setdefault("audiences", ["https://kubernetes.default.svc.cluster.local"])
    token = authn.issue(namespace, name, str(account["metadata"]["uid"]))
    # Expiry is stated as a real server states it; the sandbox lives shorter than any token.
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": spec,
        "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }
