"""The chart's user roles and admission policy, installed in the sandbox (which enforces
RBAC and evaluates ValidatingAdmissionPolicies as the API server does), judging suites
that users apply through the API.

Who is who: alice edits namespace team-a (the built-in `edit` role, into which the chart
aggregates benchgate's kinds; team-a enforces Pod Security "restricted"); bob may only
write suites in team-b (a Role of our own, no pods); the sandbox's admin is a cluster
admin. The operator's own refusals (the second layer) are tested in tests/controllers.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from benchgate_sandbox.testing import Sandbox
from chart_install import install

ROOT = Path(__file__).resolve().parents[2]
SUITES = "/apis/benchgate.dev/v1alpha1/namespaces/{ns}/regressionsuites"
POLICY = "benchgate-suite-permissions"
RBAC = "rbac.authorization.k8s.io"


class User:
    """An identity speaking plain HTTPS to the sandbox (status codes and headers visible)."""

    def __init__(self, sb: Sandbox, name: str, token: str) -> None:
        self.name, self.sb = name, sb
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(
            method, self.sb.url + path, verify=str(self.sb.ca_path), timeout=10, **kw
        )

    def create_suite(self, ns: str, name: str, **spec: Any) -> requests.Response:
        return self.request("POST", SUITES.format(ns=ns), json=suite(ns, name, **spec))


def suite(ns: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "benchgate.dev/v1alpha1",
        "kind": "RegressionSuite",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "image": "ghcr.io/benchgate/workload:0.1.0",
            "workloads": [{"name": "numerics_probe"}],
            **spec,
        },
    }


PRIVILEGED = {"jobTemplate": {"securityContext": {"privileged": True, "runAsNonRoot": False}}}


def binding(ns: str, name: str, role_kind: str, role: str, user: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
        "subjects": [{"apiGroup": RBAC, "kind": "User", "name": user}],
    }


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(workdir=tmp_path_factory.mktemp("admission") / "sandbox") as sandbox:
        sandbox.install_crds([ROOT / "crds"])
        install(sandbox)
        sandbox.create_namespace(
            "team-a", labels={"pod-security.kubernetes.io/enforce": "restricted"}
        )
        sandbox.create_namespace("team-b")
        sandbox.apply(binding("team-a", "alice-edit", "ClusterRole", "edit", "alice"))
        sandbox.apply(
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "Role",
                "metadata": {"name": "suite-author", "namespace": "team-b"},
                "rules": [
                    {
                        "apiGroups": ["benchgate.dev"],
                        "resources": ["regressionsuites"],
                        "verbs": ["create", "get", "update", "patch"],
                    }
                ],
            }
        )
        sandbox.apply(binding("team-b", "bob-suites", "Role", "suite-author", "bob"))
        yield sandbox


@pytest.fixture(scope="module")
def alice(sb: Sandbox) -> User:
    user = User(sb, "alice", sb.add_user("alice"))
    # Aggregation into `edit` is asynchronous, as on a real cluster: wait until it shows.
    sb.wait_for(
        lambda: user.request("GET", SUITES.format(ns="team-a")).status_code == 200,
        timeout=10,
        what="benchgate's kinds aggregated into edit",
    )
    return user


@pytest.fixture(scope="module")
def bob(sb: Sandbox) -> User:
    return User(sb, "bob", sb.add_user("bob"))


@pytest.fixture(scope="module")
def admin(sb: Sandbox) -> User:
    return User(sb, "sandbox-admin", sb.admin_token)


def refusal(response: requests.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert body["kind"] == "Status" and body["status"] == "Failure", body
    return body


def test_a_namespace_editor_writes_and_reads_plain_suites(alice: User) -> None:
    created = alice.create_suite("team-a", "plain")
    assert created.status_code == 201, created.text
    assert alice.request("GET", SUITES.format(ns="team-a") + "/plain").status_code == 200
    other = alice.create_suite("team-b", "elsewhere")
    assert other.status_code == 403, "edit is granted in team-a only"


def test_a_gating_suite_from_someone_who_may_not_patch_nodes_is_refused(alice: User) -> None:
    refused = alice.create_suite("team-a", "gates", gating={"enabled": True})
    assert refused.status_code == 403, refused.text
    body = refusal(refused)
    assert body["reason"] == "Forbidden"
    expected = (
        f'regressionsuites.benchgate.dev "gates" is forbidden: ValidatingAdmissionPolicy '
        f"'{POLICY}' with binding '{POLICY}' denied request: spec.gating.enabled: a gating "
        "suite makes the benchgate operator taint and release cluster-scoped Nodes; user "
        'alice may not patch nodes (RBAC: verb patch, resource nodes, API group "", cluster '
        "scope), so may not ask the operator to"
    )
    assert body["message"] == expected, body["message"]
    assert body["details"] == {
        "name": "gates",
        "group": "benchgate.dev",
        "kind": "regressionsuites",
        "causes": [{"message": expected.split(" is forbidden: ", 1)[1]}],
    }


def test_privileged_suites_need_the_right_to_create_such_pods(
    sb: Sandbox, alice: User, bob: User
) -> None:
    # alice may create pods, but team-a enforces Pod Security "restricted".
    refused = refusal(alice.create_suite("team-a", "priv", **PRIVILEGED))
    assert refused["code"] == 403
    assert "Pod Security enforce level: restricted" in refused["message"], refused["message"]
    assert "RBAC: verb create on pods: granted" in refused["message"]
    # bob may write suites in an unlabelled namespace, but not create pods there.
    refused = refusal(bob.create_suite("team-b", "priv", **PRIVILEGED))
    assert "user bob could not create such pods" in refused["message"], refused["message"]
    assert "RBAC: verb create on pods: not granted" in refused["message"]
    caps = {"jobTemplate": {"securityContext": {"addCapabilities": ["SYS_ADMIN"]}}}
    assert bob.create_suite("team-b", "caps", **caps).status_code == 403
    # What restricted allows stays allowed.
    allowed = {"jobTemplate": {"securityContext": {"addCapabilities": ["NET_BIND_SERVICE"]}}}
    assert bob.create_suite("team-b", "netbind", **allowed).status_code == 201

    # Once bob may create pods (team-b is unlabelled: privileged pods are possible there),
    # the suite asks for nothing he could not do himself.
    pods = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role",
        "metadata": {"name": "pods", "namespace": "team-b"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}],
    }
    sb.apply(pods)
    sb.apply(binding("team-b", "bob-pods", "Role", "pods", "bob"))
    assert bob.create_suite("team-b", "priv", **PRIVILEGED).status_code == 201


def test_a_service_account_needs_use_on_it(sb: Sandbox, bob: User) -> None:
    spec = {"jobTemplate": {"serviceAccountName": "gpu-diag"}}
    refused = refusal(bob.create_suite("team-b", "sa", **spec))
    assert "use on serviceaccounts/gpu-diag in namespace team-b" in refused["message"]
    sb.apply(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role",
            "metadata": {"name": "use-gpu-diag", "namespace": "team-b"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["serviceaccounts"],
                    "resourceNames": ["gpu-diag"],
                    "verbs": ["use"],
                }
            ],
        }
    )
    sb.apply(binding("team-b", "bob-use", "Role", "use-gpu-diag", "bob"))
    sb.apply(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role",
            "metadata": {"name": "pods", "namespace": "team-b"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}],
        }
    )
    sb.apply(binding("team-b", "bob-pods", "Role", "pods", "bob"))
    assert bob.create_suite("team-b", "sa", **spec).status_code == 201
    other = {"jobTemplate": {"serviceAccountName": "default"}}
    assert bob.create_suite("team-b", "sa-other", **other).status_code == 403, (
        "use is granted for gpu-diag only (resourceNames)"
    )


def test_editing_an_admins_gating_suite_is_refused_but_labels_are_not(
    sb: Sandbox, admin: User, alice: User
) -> None:
    created = admin.create_suite("team-a", "admin-gate", gating={"enabled": True})
    assert created.status_code == 201, "a cluster admin may patch nodes, so may gate"
    path = SUITES.format(ns="team-a") + "/admin-gate"
    patch = {"Content-Type": "application/merge-patch+json"}
    changed = alice.request(
        "PATCH", path, json={"spec": {"nodeSelector": {"pool": "all"}}}, headers=patch
    )
    assert changed.status_code == 403, "a changed spec of a gating suite is judged again"
    labelled = alice.request(
        "PATCH", path, json={"metadata": {"labels": {"team": "a"}}}, headers=patch
    )
    assert labelled.status_code == 200, labelled.text
    assert sb.get("benchgate.dev/v1alpha1", "RegressionSuite", "admin-gate", "team-a")["spec"][
        "gating"
    ]["enabled"]


def test_users_never_create_runs_and_viewers_only_read(sb: Sandbox, alice: User) -> None:
    run = {
        "apiVersion": "benchgate.dev/v1alpha1",
        "kind": "VerificationRun",
        "metadata": {"name": "hand-made", "namespace": "team-a"},
        "spec": {},
    }
    made = alice.request(
        "POST", "/apis/benchgate.dev/v1alpha1/namespaces/team-a/verificationruns", json=run
    )
    assert made.status_code == 403, "runs are the operator's"
    sb.apply(binding("team-a", "carol-view", "ClusterRole", "view", "carol"))
    carol = User(sb, "carol", sb.add_user("carol"))
    assert carol.request("GET", SUITES.format(ns="team-a")).status_code == 200
    assert carol.create_suite("team-a", "nope").status_code == 403


def test_warn_only_lets_the_suite_in_with_a_warning(sb: Sandbox, alice: User) -> None:
    install(sb, {"admissionPolicy": {"validationActions": ["Warn"]}})
    try:
        warned = alice.create_suite("team-a", "warned", gating={"enabled": True})
        assert warned.status_code == 201, warned.text
        assert (
            f"Validation failed for ValidatingAdmissionPolicy '{POLICY}'"
            in warned.headers["Warning"]
        )
    finally:
        install(sb)
    assert alice.create_suite("team-a", "gates-again", gating={"enabled": True}).status_code == 403


def test_the_policy_expressions_are_all_evaluated_by_the_sandbox(sb: Sandbox) -> None:
    policy = sb.get("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", POLICY)
    spec = copy.deepcopy(policy["spec"])
    assert spec["failurePolicy"] == "Fail"
    assert not sb.unenforced_cel_rules, (
        f"the sandbox cannot evaluate some of the chart's CEL: {sb.unenforced_cel_rules}"
    )
