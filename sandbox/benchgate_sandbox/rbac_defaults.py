"""RBAC's moving parts besides the authorizer: the bootstrap roles a new cluster has,
ClusterRole aggregation, and the checks on writes of roles and bindings.

Bootstrap (k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy): the
sandbox creates, labelled `kubernetes.io/bootstrapping: rbac-defaults`,

- `cluster-admin` (everything), bound to the group `system:masters`;
- `system:discovery`, `system:public-info-viewer`, `system:basic-user` (discovery,
  /healthz and /version, the self-reviews), bound as on a real cluster;
- the user-facing `admin`, `edit` and `view`, which are *aggregated*: their rules are
  those of every ClusterRole labelled `rbac.authorization.k8s.io/aggregate-to-<role>`,
  and `view` is labelled aggregate-to-edit and `edit` aggregate-to-admin, so a rule
  aggregated to view is also in edit and admin. Their own built-in rules
  (`system:aggregate-to-*`) are a subset of the real ones: the core and batch resources
  the sandbox serves, with the same verbs (view: read, no Secrets; edit: write pods,
  Jobs, ConfigMaps, Secrets, ServiceAccounts, impersonate ServiceAccounts; admin: also
  Roles and RoleBindings).

Aggregation (the clusterrole-aggregation controller) runs asynchronously after a
ClusterRole changes, like the real controller, and rewrites an aggregated role's rules
with the rules of the roles its selectors match (sorted by name, duplicates dropped).

Writes of Roles, ClusterRoles and their bindings (the RBAC storage's checks): a user may
grant only permissions they hold (unless allowed `escalate` on the role, or `bind` on
the bound role), and only holders of every permission may use `aggregationRule`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Mapping
from typing import Any

from benchgate.api.structural import Cause
from benchgate_sandbox.authn import AUTHENTICATED, MASTERS, UNAUTHENTICATED
from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.rbac import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    FULL_AUTHORITY,
    GROUP,
    ROLE_BINDINGS,
    ROLES,
    RbacAuthorizer,
    Rule,
    escalation_problem,
)
from benchgate_sandbox.selectors import selector_object_matches
from benchgate_sandbox.store import AdmissionAttributes, Event, Store

JSON = dict[str, Any]
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]


def _rule(verbs: list[str], groups: list[str], resources: list[str]) -> JSON:
    return {"verbs": verbs, "apiGroups": groups, "resources": resources}


def _role(name: str, rules: list[JSON], labels: Mapping[str, str] | None = None) -> JSON:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {**BOOTSTRAP_LABELS, **(labels or {})}},
        "rules": rules,
    }


def _aggregated(name: str, labels: Mapping[str, str] | None = None) -> JSON:
    role = _role(name, [], labels)
    role["aggregationRule"] = {
        "clusterRoleSelectors": [{"matchLabels": {f"{AGGREGATE_TO}{name}": "true"}}]
    }
    return role


def _binding(name: str, role: str, groups: list[str]) -> JSON:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": dict(BOOTSTRAP_LABELS)},
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in groups],
    }


_VIEWED_CORE = ["pods", "pods/log", "pods/status", "configmaps", "serviceaccounts", "events"]

BOOTSTRAP_ROLES: tuple[JSON, ...] = (
    _role(
        "cluster-admin",
        [_rule(["*"], ["*"], ["*"]), {"verbs": ["*"], "nonResourceURLs": ["*"]}],
    ),
    _role(
        "system:discovery",
        [
            {
                "verbs": ["get"],
                "nonResourceURLs": [
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
            }
        ],
    ),
    _role(
        "system:public-info-viewer",
        [
            {
                "verbs": ["get"],
                "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
            }
        ],
    ),
    _role(
        "system:basic-user",
        [
            _rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews"]),
            _rule(["create"], ["authorization.k8s.io"], ["selfsubjectrulesreviews"]),
            _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
        ],
    ),
    _aggregated("admin"),
    _aggregated("edit", {f"{AGGREGATE_TO}admin": "true"}),
    _aggregated("view", {f"{AGGREGATE_TO}edit": "true"}),
    _role(
        "system:aggregate-to-admin",
        [
            _rule([*READ, *WRITE], [GROUP], ["rolebindings", "roles"]),
            _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
        ],
        {f"{AGGREGATE_TO}admin": "true"},
    ),
    _role(
        "system:aggregate-to-edit",
        [
            _rule([*READ, *WRITE], [""], ["pods", "configmaps", "secrets", "serviceaccounts"]),
            _rule(["impersonate"], [""], ["serviceaccounts"]),
            _rule([*READ, *WRITE], ["batch"], ["jobs", "cronjobs"]),
        ],
        {f"{AGGREGATE_TO}edit": "true"},
    ),
    _role(
        "system:aggregate-to-view",
        [
            _rule(READ, [""], _VIEWED_CORE),
            _rule(READ, [""], ["namespaces"]),
            _rule(READ, ["batch"], ["jobs", "cronjobs"]),
            _rule(READ, ["events.k8s.io"], ["events"]),
        ],
        {f"{AGGREGATE_TO}view": "true"},
    ),
)

BOOTSTRAP_BINDINGS: tuple[JSON, ...] = (
    _binding("cluster-admin", "cluster-admin", [MASTERS]),
    _binding("system:discovery", "system:discovery", [AUTHENTICATED]),
    _binding(
        "system:public-info-viewer", "system:public-info-viewer", [AUTHENTICATED, UNAUTHENTICATED]
    ),
    _binding("system:basic-user", "system:basic-user", [AUTHENTICATED]),
)


def validate_binding(obj: JSON, old: JSON | None) -> list[Cause]:
    """ValidateRoleBinding / ValidateClusterRoleBinding: the parts a client can get wrong."""
    causes: list[Cause] = []
    ref = obj.get("roleRef")
    cluster = obj.get("kind") == "ClusterRoleBinding"
    allowed = ("ClusterRole",) if cluster else ("Role", "ClusterRole")
    if not isinstance(ref, Mapping) or not ref.get("name"):
        causes.append(Cause("FieldValueRequired", "roleRef.name", "Required value"))
    elif ref.get("kind") not in allowed:
        causes.append(
            Cause(
                "FieldValueNotSupported",
                "roleRef.kind",
                f'Unsupported value: "{ref.get("kind")}": supported values: '
                + ", ".join(f'"{k}"' for k in allowed),
            )
        )
    if old is not None and old.get("roleRef") != ref:
        causes.append(Cause("FieldValueInvalid", "roleRef", "Invalid value: cannot change roleRef"))
    for i, subject in enumerate(obj.get("subjects") or ()):
        kind = subject.get("kind") if isinstance(subject, Mapping) else None
        if kind not in ("User", "Group", "ServiceAccount"):
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    f"subjects[{i}].kind",
                    f'Unsupported value: "{kind}": supported values: "ServiceAccount", '
                    '"User", "Group"',
                )
            )
        elif kind == "ServiceAccount" and cluster and not subject.get("namespace"):
            causes.append(Cause("FieldValueRequired", f"subjects[{i}].namespace", "Required value"))
    return causes


def install_bootstrap_policy(store: Store) -> None:
    """Create the default roles and bindings (before anything else can ask)."""
    for key in (ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS):
        store.validators.setdefault(key, []).append(validate_binding)
    roles = store.type_for(GROUP, "v1", "clusterroles")
    bindings = store.type_for(GROUP, "v1", "clusterrolebindings")
    for role in BOOTSTRAP_ROLES:
        store.create(roles, None, copy.deepcopy(role))
    for binding in BOOTSTRAP_BINDINGS:
        store.create(bindings, None, copy.deepcopy(binding))
    for _ in range(8):  # view -> edit -> admin: a chain settles in a few passes
        if not aggregate_all(store):
            break


# -- aggregation ---------------------------------------------------------------------------


def _aggregated_rules(role: JSON, roles: list[JSON]) -> list[JSON] | None:
    """The rules `role` aggregates, or None when it has no aggregationRule."""
    rule = role.get("aggregationRule")
    if not isinstance(rule, Mapping):
        return None
    selectors = list(rule.get("clusterRoleSelectors") or ())
    rules: list[JSON] = []
    for other in sorted(roles, key=lambda r: r["metadata"]["name"]):
        if other["metadata"]["name"] == role["metadata"]["name"]:
            continue
        labels = other["metadata"].get("labels") or {}
        if not any(selector_object_matches(s, labels) for s in selectors):
            continue
        for r in other.get("rules") or ():
            if r not in rules:
                rules.append(copy.deepcopy(r))
    return rules


def aggregate_all(store: Store) -> bool:
    """One pass of the aggregation controller; True when it changed a role."""
    rt = store.type_for(GROUP, "v1", "clusterroles")
    changed = False
    for role in list(store.iter_objects(rt)):
        roles = list(store.iter_objects(rt))
        rules = _aggregated_rules(role, roles)
        if rules is None or rules == (role.get("rules") or []):
            continue
        body = copy.deepcopy(role)
        body["rules"] = rules
        with contextlib.suppress(ApiError):
            store.update(rt, None, role["metadata"]["name"], body)
            changed = True
    return changed


class AggregationController:
    """Recomputes aggregated ClusterRoles after any ClusterRole changes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        store.listeners.append(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.key == CLUSTER_ROLES:
            self.queue.put_nowait(event)

    async def run(self) -> None:
        while True:
            await self.queue.get()
            # Chains (view -> edit -> admin) settle in a few passes; bounded all the same.
            for _ in range(8):
                if not aggregate_all(self.store):
                    break


# -- checks on RBAC writes -----------------------------------------------------------------


def _forbidden(plural: str, name: str, message: str) -> ApiError:
    return ApiError(
        403,
        "Forbidden",
        f'{plural}.{GROUP} "{name}" is forbidden: {message}',
        {"name": name, "group": GROUP, "kind": plural},
    )


def _rules(obj: Mapping[str, Any] | None) -> list[Rule]:
    return [Rule.of(r) for r in ((obj or {}).get("rules") or ())]


class RbacWriteCheck:
    """Validating admission for roles and bindings (what RBAC's storage refuses)."""

    def __init__(self, store: Store, authorizer: RbacAuthorizer) -> None:
        self.store = store
        self.rbac = authorizer

    def __call__(self, a: AdmissionAttributes) -> None:
        if a.operation == "DELETE" or a.obj is None or MASTERS in a.user.groups:
            return
        key = a.rt.key
        if key in (ROLES, CLUSTER_ROLES):
            self._role(a)
        elif key in (ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS):
            self._binding(a)

    def _role(self, a: AdmissionAttributes) -> None:
        assert a.obj is not None
        namespace = a.namespace if a.rt.key == ROLES else ""
        if (
            a.rt.key == CLUSTER_ROLES
            and a.obj.get("aggregationRule")
            and (a.old is None or a.old.get("aggregationRule") != a.obj.get("aggregationRule"))
        ):
            if escalation_problem(self.rbac, a.user, "", list(FULL_AUTHORITY)) is not None:
                raise _forbidden(
                    a.rt.plural,
                    a.name,
                    "must have cluster-admin privileges to use the aggregationRule",
                )
            return
        if a.old is not None and _rules(a.old) == _rules(a.obj):
            return
        if self.rbac.allowed(a.user, "escalate", GROUP, a.rt.plural, namespace, a.name):
            return
        problem = escalation_problem(self.rbac, a.user, namespace, _rules(a.obj))
        if problem is not None:
            raise _forbidden(a.rt.plural, a.name, problem)

    def _binding(self, a: AdmissionAttributes) -> None:
        assert a.obj is not None
        ref = a.obj.get("roleRef") or {}
        if a.old is not None and a.old.get("roleRef") == ref:
            return
        namespace = a.namespace if a.rt.key == ROLE_BINDINGS else ""
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        plural = "clusterroles" if kind == "ClusterRole" else "roles"
        if self.rbac.allowed(a.user, "bind", GROUP, plural, namespace, name):
            return
        store_key = CLUSTER_ROLES if kind == "ClusterRole" else ROLES
        role = (self.store.objects.get(store_key) or {}).get(
            ("" if kind == "ClusterRole" else namespace, name)
        )
        if role is None:
            raise _forbidden(a.rt.plural, a.name, f'{kind.lower()}.{GROUP} "{name}" not found')
        problem = escalation_problem(self.rbac, a.user, namespace, _rules(role))
        if problem is not None:
            raise _forbidden(a.rt.plural, a.name, problem)
