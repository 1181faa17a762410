"""The chart's RBAC is least privilege: exactly the API calls the operator makes."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from chart_render import PRODUCTION_VALUES, by_kind, objects

Permission = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)
CLUSTER_SCOPED = {("", "nodes"), ("apiextensions.k8s.io", "customresourcedefinitions")}


def permissions(roles: Iterable[Mapping[str, Any]]) -> set[Permission]:
    return {
        (group, resource, verb)
        for role in roles
        for rule in role.get("rules", [])
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }


def operator_roles(rendered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The (Cluster)Roles bound to the operator's ServiceAccount (the user roles the chart
    aggregates into view/edit are bound to nobody and grant the operator nothing)."""
    (account,) = by_kind(rendered, "ServiceAccount")
    refs = {
        (b["roleRef"]["kind"], b["roleRef"]["name"])
        for b in by_kind(rendered, "ClusterRoleBinding") + by_kind(rendered, "RoleBinding")
        if any(
            s["kind"] == "ServiceAccount" and s["name"] == account["metadata"]["name"]
            for s in b["subjects"]
        )
    }
    return [
        r
        for r in by_kind(rendered, "ClusterRole") + by_kind(rendered, "Role")
        if (r["kind"], r["metadata"]["name"]) in refs
    ]


def rendered_permissions(values: dict[str, Any] | None = None) -> set[Permission]:
    return permissions(operator_roles(objects(values)))


def test_no_wildcards_no_secrets_no_cluster_admin() -> None:
    for values in (None, PRODUCTION_VALUES):
        rendered = objects(values)
        roles = by_kind(rendered, "ClusterRole") + by_kind(rendered, "Role")
        for role in roles:
            for rule in role["rules"]:
                for key in ("apiGroups", "resources", "verbs"):
                    assert "*" not in rule.get(key, []), f"{role['kind']} grants a wildcard {key}"
                assert "secrets" not in rule["resources"], "the operator never reads Secrets"
                assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
                assert "nonResourceURLs" not in rule
        names = {(r["kind"], r["metadata"]["name"]) for r in roles}
        for binding in by_kind(rendered, "ClusterRoleBinding") + by_kind(rendered, "RoleBinding"):
            ref = binding["roleRef"]
            assert ref["name"] != "cluster-admin"
            assert (ref["kind"], ref["name"]) in names, "bindings only grant the chart's roles"
            (subject,) = binding["subjects"]
            assert subject["kind"] == "ServiceAccount"


def test_watching_namespaces_confines_namespaced_permissions_to_them() -> None:
    rendered = objects(PRODUCTION_VALUES)
    (cluster_role,) = by_kind(operator_roles(rendered), "ClusterRole")
    cluster_resources = {(g, r) for g, r, _ in permissions([cluster_role])}
    assert cluster_resources == CLUSTER_SCOPED, (
        "with watchNamespaces set, only cluster-scoped resources may be granted cluster-wide"
    )
    roles = by_kind(rendered, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["ci", "ml-platform"]
    bindings = by_kind(rendered, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["ci", "ml-platform"]
    assert rendered_permissions(PRODUCTION_VALUES) == rendered_permissions(
        {"gating": {"enabled": True}}
    ), "namespaced installs need the same permissions, only scoped differently"


def _api_calls(table: str = "API_CALLS") -> set[Permission]:
    """benchgate.k8s.calls.API_CALLS (or another table there), (verb, group, resource,
    subresource) tuples, as RBAC (apiGroup, resource[/subresource], verb) triples."""
    try:
        module = importlib.import_module("benchgate.k8s.calls")
    except ModuleNotFoundError as exc:
        if exc.name != "benchgate.k8s.calls":
            raise
        pytest.skip("benchgate/k8s/calls.py (the operator's API_CALLS table) does not exist yet")
    found: set[Permission] = set()
    for verb, group, resource, subresource in getattr(module, table):
        found.add((group, f"{resource}/{subresource}" if subresource else resource, verb))
    return found


def test_the_role_grants_exactly_the_api_calls_the_operator_makes() -> None:
    calls = _api_calls()
    granted = rendered_permissions()
    assert not [c for c in calls if c[1] == "secrets"], "the operator must not use Secrets"
    missing, unused = calls - granted, granted - calls
    assert (missing, unused) == (set(), set()), (
        f"RBAC and benchgate/k8s/calls.py disagree. Missing from the chart (operator gets "
        f"403): {sorted(missing)}. Granted but never used: {sorted(unused)}. "
        "Edit benchgate.namespacedRules / benchgate.clusterRules in charts/benchgate/"
        "templates/_helpers.tpl."
    )


def test_gating_adds_exactly_node_get_and_patch() -> None:
    calls = _api_calls() | _api_calls("GATING_CALLS")
    granted = rendered_permissions({"gating": {"enabled": True}})
    assert granted == calls, (sorted(calls - granted), sorted(granted - calls))
    assert granted - rendered_permissions() == {("", "nodes", "get"), ("", "nodes", "patch")}


def test_user_roles_aggregate_benchgate_into_view_and_edit_and_grant_no_configmaps() -> None:
    rendered = objects()
    user_roles = {
        r["metadata"]["name"]: r
        for r in by_kind(rendered, "ClusterRole")
        if r not in operator_roles(rendered)
    }
    assert set(user_roles) == {"benchgate-view", "benchgate-edit"}
    view, edit = user_roles["benchgate-view"], user_roles["benchgate-edit"]
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    viewed = permissions([view])
    for kind in ("regressionsuites", "verificationruns", "regressionbaselines"):
        assert {("benchgate.dev", kind, v) for v in ("get", "list", "watch")} <= viewed
    assert {verb for _, _, verb in viewed} == {"get", "list", "watch"}, "view only reads"
    edited = permissions([edit])
    assert ("benchgate.dev", "regressionsuites", "create") in edited
    assert ("benchgate.dev", "verificationruns", "patch") in edited, "promotion annotates"
    assert ("benchgate.dev", "verificationruns", "create") not in edited, (
        "runs are the operator's: a hand-made run would choose its own nodes and image"
    )
    assert ("benchgate.dev", "regressionbaselines", "create") not in edited
    for group, resource, _ in viewed | edited:
        assert group == "benchgate.dev", f"user roles grant only benchgate's kinds: {resource}"
        assert not resource.endswith("/status") or resource in {
            "regressionsuites/status",
            "verificationruns/status",
            "regressionbaselines/status",
        }
    assert all(not r.endswith("/status") for _, r, v in edited), "users never write status"
    for binding in by_kind(rendered, "ClusterRoleBinding") + by_kind(rendered, "RoleBinding"):
        assert binding["roleRef"]["name"] not in user_roles, "the chart binds them to nobody"
    assert not by_kind(objects({"userRoles": {"create": False}}), "ClusterRole")[1:], (
        "userRoles.create=false leaves only the operator's own ClusterRole"
    )
