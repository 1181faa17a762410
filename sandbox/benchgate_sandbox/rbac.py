"""RBAC: the API server's authorizer, over the Roles and bindings in the store.

Semantics of k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac (and its rule helpers):

- members of `system:masters` are allowed everything (kube-apiserver's privileged-group
  authorizer runs before RBAC);
- ClusterRoleBindings grant their ClusterRole everywhere (cluster scope and every
  namespace); RoleBindings grant their Role, or a ClusterRole, in their own namespace
  only, and never non-resource URLs;
- a rule matches when its verbs (`*` or the verb), apiGroups (`*` or the group),
  resources (`*`, `<resource>[/<subresource>]` or `*/<subresource>`) and resourceNames
  (empty, or containing the request's name: a request without a name - create, list
  without a pinned name - never matches a rule that lists names) all match; a
  non-resource request matches `nonResourceURLs` (`*`, the path, or a `prefix*`);
- a binding whose role does not exist grants nothing; the missing role is the reason
  the refusal names ("RBAC: clusterrole.rbac.authorization.k8s.io "x" not found");
- RBAC is additive: there are no deny rules.

Escalation prevention (`escalation_problem`) follows the RBAC storage: a user may
create or change a role only with rules they hold themselves (or with the `escalate`
verb on it), and bind a role only if they hold its rules (or have `bind` on it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchgate_sandbox.authn import MASTERS, UserInfo
from benchgate_sandbox.requestinfo import RequestInfo

GROUP = "rbac.authorization.k8s.io"
ROLES = (GROUP, "roles")
CLUSTER_ROLES = (GROUP, "clusterroles")
ROLE_BINDINGS = (GROUP, "rolebindings")
CLUSTER_ROLE_BINDINGS = (GROUP, "clusterrolebindings")

JSON = dict[str, Any]
Objects = Mapping[tuple[str, str], Mapping[tuple[str, str], JSON]]


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes: who asks to do what."""

    user: UserInfo
    verb: str
    resource_request: bool = True
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @staticmethod
    def of(user: UserInfo, info: RequestInfo) -> Attributes:
        return Attributes(
            user,
            info.verb,
            info.resource_request,
            info.api_group,
            info.resource,
            info.subresource,
            info.namespace,
            info.name,
            info.path,
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class Rule:
    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @staticmethod
    def of(rule: Mapping[str, Any]) -> Rule:
        def strings(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in rule.get(key) or ())

        return Rule(
            strings("verbs"),
            strings("apiGroups"),
            strings("resources"),
            strings("resourceNames"),
            strings("nonResourceURLs"),
        )

    def to_dict(self) -> JSON:
        out: JSON = {"verbs": list(self.verbs)}
        if self.non_resource_urls:
            out["nonResourceURLs"] = list(self.non_resource_urls)
        else:
            out["apiGroups"] = list(self.api_groups)
            out["resources"] = list(self.resources)
            if self.resource_names:
                out["resourceNames"] = list(self.resource_names)
        return out

    def compact(self) -> str:
        """rbacv1helpers.CompactString: how the escalation refusal lists a rule."""
        fields = [
            ("APIGroups", self.api_groups),
            ("Resources", self.resources),
            ("ResourceNames", self.resource_names),
            ("NonResourceURLs", self.non_resource_urls),
            ("Verbs", self.verbs),
        ]
        shown = [f"{k}:[{' '.join(json.dumps(v) for v in vs)}]" for k, vs in fields if vs]
        return "{" + ", ".join(shown) + "}"


def _verb_matches(rule: Rule, verb: str) -> bool:
    return "*" in rule.verbs or verb in rule.verbs


def _group_matches(rule: Rule, group: str) -> bool:
    return "*" in rule.api_groups or group in rule.api_groups


def _resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    for resource in rule.resources:
        if resource in ("*", combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False


def _name_matches(rule: Rule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def _url_matches(rule: Rule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(a: Attributes, rule: Rule) -> bool:
    if a.resource_request:
        combined = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
        return (
            _verb_matches(rule, a.verb)
            and _group_matches(rule, a.api_group)
            and _resource_matches(rule, combined, a.subresource)
            and _name_matches(rule, a.name)
        )
    return _verb_matches(rule, a.verb) and _url_matches(rule, a.path)


@dataclass(frozen=True)
class Grant:
    """A set of rules granted to a user through one binding (for reasons and reviews)."""

    binding: str  # `ClusterRoleBinding "x" of ClusterRole "y" to User "z"`
    rules: tuple[Rule, ...]


@dataclass
class Resolution:
    grants: list[Grant] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def rules(self) -> list[Rule]:
        return [r for g in self.grants for r in g.rules]


def _subject_applies(subject: Mapping[str, Any], user: UserInfo, namespace: str) -> bool:
    kind, name = subject.get("kind"), str(subject.get("name", ""))
    if kind == "User":
        return user.username == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        # A RoleBinding's ServiceAccount subject defaults to the binding's namespace.
        sa_namespace = str(subject.get("namespace") or namespace)
        return bool(sa_namespace) and user.username == (
            f"system:serviceaccount:{sa_namespace}:{name}"
        )
    return False


def _describe_subject(subject: Mapping[str, Any], namespace: str) -> str:
    kind, name = subject.get("kind"), str(subject.get("name", ""))
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or namespace}"'
    return f'{kind} "{name}"'


class RbacAuthorizer:
    """Decides from the store's current Roles and bindings (read at every request, as the
    real authorizer's informer caches are: a change takes effect at once)."""

    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    def _items(self, key: tuple[str, str]) -> Iterable[JSON]:
        return list((self.objects.get(key) or {}).values())

    def _role_rules(self, kind: str, name: str, namespace: str) -> tuple[Rule, ...] | str:
        """A role's rules, or the error text when it does not exist."""
        if kind == "ClusterRole":
            role = (self.objects.get(CLUSTER_ROLES) or {}).get(("", name))
            if role is None:
                return f'clusterrole.rbac.authorization.k8s.io "{name}" not found'
        elif kind == "Role":
            role = (self.objects.get(ROLES) or {}).get((namespace, name))
            if role is None:
                return f'role.rbac.authorization.k8s.io "{name}" not found'
        else:
            return f"unsupported role reference kind: {kind!r}"
        return tuple(Rule.of(r) for r in role.get("rules") or ())

    def _visit(self, user: UserInfo, namespace: str) -> Iterator[Grant | str]:
        """Every grant (or the error of a dangling binding) that applies to `user` in
        `namespace` ("" = cluster scope), cluster bindings first, as RBAC visits them."""
        for binding in sorted(
            self._items(CLUSTER_ROLE_BINDINGS), key=lambda b: b["metadata"]["name"]
        ):
            ref = binding.get("roleRef") or {}
            for subject in binding.get("subjects") or ():
                if not _subject_applies(subject, user, ""):
                    continue
                rules = self._role_rules(str(ref.get("kind")), str(ref.get("name")), "")
                if isinstance(rules, str):
                    yield rules
                else:
                    yield Grant(
                        f'ClusterRoleBinding "{binding["metadata"]["name"]}" of '
                        f'{ref.get("kind")} "{ref.get("name")}" to '
                        f"{_describe_subject(subject, '')}",
                        rules,
                    )
                break
        if not namespace:
            return
        for binding in sorted(
            (b for b in self._items(ROLE_BINDINGS) if b["metadata"].get("namespace") == namespace),
            key=lambda b: b["metadata"]["name"],
        ):
            ref = binding.get("roleRef") or {}
            for subject in binding.get("subjects") or ():
                if not _subject_applies(subject, user, namespace):
                    continue
                rules = self._role_rules(str(ref.get("kind")), str(ref.get("name")), namespace)
                if isinstance(rules, str):
                    yield rules
                else:
                    yield Grant(
                        f'RoleBinding "{binding["metadata"]["name"]}/{namespace}" of '
                        f'{ref.get("kind")} "{ref.get("name")}" to '
                        f"{_describe_subject(subject, namespace)}",
                        rules,
                    )
                break

    def authorize(self, a: Attributes) -> Decision:
        if MASTERS in a.user.groups:
            return Decision(True, "")
        errors: list[str] = []
        namespace = a.namespace if a.resource_request else ""
        for grant in self._visit(a.user, namespace):
            if isinstance(grant, str):
                errors.append(grant)
                continue
            if any(rule_allows(a, rule) for rule in grant.rules):
                return Decision(True, f"RBAC: allowed by {grant.binding}")
        return Decision(False, f"RBAC: {_aggregate(errors)}" if errors else "")

    def resolve(self, user: UserInfo, namespace: str) -> Resolution:
        """Every rule that applies to `user` in `namespace` ("" = cluster-wide only)."""
        found = Resolution()
        for grant in self._visit(user, namespace):
            if isinstance(grant, str):
                found.errors.append(grant)
            else:
                found.grants.append(grant)
        return found

    def allowed(
        self,
        user: UserInfo,
        verb: str,
        group: str,
        resource: str,
        namespace: str = "",
        name: str = "",
    ) -> bool:
        plain, _, sub = resource.partition("/")
        return self.authorize(
            Attributes(user, verb, True, group, plain, sub, namespace, name)
        ).allowed


def _aggregate(errors: Sequence[str]) -> str:
    """utilerrors.NewAggregate's text: one error as is, several in brackets."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def forbidden_message(a: Attributes, reason: str = "") -> tuple[str, JSON]:
    """The API server's 403 message and Status details for a refused request
    (responsewriters.Forbidden + apierrors.NewForbidden)."""
    if not a.resource_request:
        text = f'User "{a.user.username}" cannot {a.verb} path "{a.path}"'
        message = f"forbidden: {text}"
        return (f"{message}: {reason}" if reason else message), {}
    resource = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    where = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    text = (
        f'User "{a.user.username}" cannot {a.verb} resource "{resource}" in API group '
        f'"{a.api_group}" {where}'
    )
    if reason:
        text = f"{text}: {reason}"
    qualified = f"{a.resource}.{a.api_group}" if a.api_group else a.resource
    subject = f'{qualified} "{a.name}"' if a.name else qualified
    details: JSON = {"kind": a.resource}
    if a.api_group:
        details["group"] = a.api_group
    if a.name:
        details["name"] = a.name
    return f"{subject} is forbidden: {text}", details


# -- escalation prevention ---------------------------------------------------------------

FULL_AUTHORITY = (
    Rule(verbs=("*",), api_groups=("*",), resources=("*",)),
    Rule(verbs=("*",), non_resource_urls=("*",)),
)


def _breakdown(rule: Rule) -> list[Rule]:
    """One rule per (group, resource, verb[, name]) or (url, verb): what `covers` checks."""
    out = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                if rule.resource_names:
                    out += [Rule((verb,), (group,), (resource,), (n,)) for n in rule.resource_names]
                else:
                    out.append(Rule((verb,), (group,), (resource,)))
    for url in rule.non_resource_urls:
        out += [Rule((verb,), non_resource_urls=(url,)) for verb in rule.verbs]
    return out


def _resources_cover(owner: Sequence[str], wanted: Sequence[str]) -> bool:
    if "*" in owner:
        return True
    for resource in wanted:
        if resource in owner:
            continue
        _, sep, sub = resource.partition("/")
        if sep and f"*/{sub}" in owner:
            continue
        return False
    return True


def _urls_cover(owner: Sequence[str], wanted: Sequence[str]) -> bool:
    return all(
        any(o == w or (o.endswith("*") and w.startswith(o.rstrip("*"))) for o in owner)
        for w in wanted
    )


def _rule_covers(owner: Rule, sub: Rule) -> bool:
    verbs = "*" in owner.verbs or set(sub.verbs) <= set(owner.verbs)
    groups = "*" in owner.api_groups or set(sub.api_groups) <= set(owner.api_groups)
    names = not owner.resource_names or (
        bool(sub.resource_names) and set(sub.resource_names) <= set(owner.resource_names)
    )
    return (
        verbs
        and groups
        and _resources_cover(owner.resources, sub.resources)
        and names
        and _urls_cover(owner.non_resource_urls, sub.non_resource_urls)
    )


def uncovered(owner: Sequence[Rule], wanted: Iterable[Rule]) -> list[Rule]:
    """The broken-down rules of `wanted` that no rule of `owner` covers."""
    return [
        sub
        for rule in wanted
        for sub in _breakdown(rule)
        if not any(_rule_covers(o, sub) for o in owner)
    ]


def escalation_problem(
    rbac: RbacAuthorizer, user: UserInfo, namespace: str, wanted: Sequence[Rule]
) -> str | None:
    """Why `user` may not grant `wanted` in `namespace` ("" = cluster-wide), or None."""
    if MASTERS in user.groups:
        return None
    resolution = rbac.resolve(user, namespace)
    missing = uncovered(resolution.rules(), wanted)
    if not missing:
        return None
    groups = " ".join(json.dumps(g) for g in user.groups)
    message = (
        f'user "{user.username}" (groups=[{groups}]) is attempting to grant RBAC permissions '
        "not currently held:\n" + "\n".join(r.compact() for r in missing)
    )
    if resolution.errors:
        message += f"; resolution errors: [{', '.join(resolution.errors)}]"
    return message
