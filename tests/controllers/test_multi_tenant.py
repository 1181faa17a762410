"""Multi-tenant safety, end to end: the operator runs as the chart's ServiceAccount with
the chart's RBAC, admission policy and cluster policy (conftest.py), users apply suites
through the API with their own identities, and every refusal is checked where a user
would look for it (the API's answer, the suite's conditions and Events) together with
what must not have happened (no Node write, no run, no Job).

The admission policy's refusals by user are tested without an operator in
tests/chart/test_chart_admission.py; here the second layer, the operator's own checks
(for suites that reach the API some other way: a cluster admin, a cluster without
ValidatingAdmissionPolicy), and a tenant's suite going all the way to a verdict.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from controller_harness import GROUP_VERSION, OPERATOR_NAMESPACE, Cluster, condition, suite_body

from benchgate_sandbox.nodes import h100_pool_node

RBAC = "rbac.authorization.k8s.io"
KEY = "benchgate.dev/unverified-tenancy"
SUITES = "/apis/benchgate.dev/v1alpha1/namespaces/{ns}/regressionsuites"


def suite_of(cluster: Cluster, ns: str, name: str) -> dict[str, Any]:
    return cluster.sb.get(GROUP_VERSION, "RegressionSuite", name, ns)


def node_version(cluster: Cluster, name: str) -> str:
    return str(cluster.sb.get("v1", "Node", name)["metadata"]["resourceVersion"])


def test_a_namespace_editors_suite_is_verified_under_pod_security_restricted(
    cluster: Cluster,
) -> None:
    """An editor of team-a (the built-in edit role, which the chart extends) applies a
    suite through the API; the operator, with only the chart's rights, verifies it in a
    namespace that enforces Pod Security restricted."""
    sb, ns = cluster.sb, "team-a"
    sb.create_namespace(ns, labels={"pod-security.kubernetes.io/enforce": "restricted"})
    sb.add_node("tenant-node", labels={"benchgate-test/pool": ns})
    sb.apply(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "alice-edit", "namespace": ns},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "alice"}],
        }
    )
    token = sb.add_user("alice")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def post(body: dict[str, Any]) -> requests.Response:
        return session.post(
            sb.url + SUITES.format(ns=ns), json=body, verify=str(sb.ca_path), timeout=10
        )

    created = cluster.wait(
        lambda: (r := post(suite_body(ns, "alice-suite", ns))).status_code == 201 and r,
        timeout=15,
        what="alice's suite accepted (edit aggregated)",
    )
    assert created.json()["metadata"]["name"] == "alice-suite"
    gating = post(suite_body(ns, "alice-gates", ns, gating={"enabled": True, "taintKey": KEY}))
    assert gating.status_code == 403 and "may not patch nodes" in gating.json()["message"]

    run = cluster.wait(
        lambda: cluster.finished_runs(ns), timeout=150, what="alice's suite verified"
    )[0]
    assert condition(run, "Verified")["reason"] == "BaselinePromoted", run["status"]
    pods = sb.list("v1", "Pod", ns)
    assert pods, "the verification pods ran in the restricted namespace"
    for pod in pods:
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_gating_only_where_the_cluster_allows_it(cluster: Cluster) -> None:
    """A cluster admin's gating suite in the operator's namespace gates; the same suite in
    another namespace (created before it, so it would own the key were it allowed) gets
    GatingForbidden, one Warning Event naming the setting, and never touches a Node."""
    sb = cluster.sb
    sb.create_namespace("tenant-b")
    pool = {"benchgate-test/pool": "tenancy"}
    # No kubelet: the runs never finish, so the gated node stays gated for the test.
    sb.add_node(node=h100_pool_node("tenancy-gpu"), labels=pool, kubelet=False)
    sb.add_node(
        node=h100_pool_node("tenant-b-gpu"), labels={"benchgate-test/pool": "tb"}, kubelet=False
    )
    untouched = node_version(cluster, "tenant-b-gpu")
    gating = {"enabled": True, "taintKey": KEY}
    sb.create(suite_body("tenant-b", "tenant-gates", "tb", gating=gating))
    time.sleep(1.1)  # creationTimestamps have one-second resolution: the tenant's is older
    sb.create(suite_body(OPERATOR_NAMESPACE, "platform-gates", "tenancy", gating=gating))

    def forbidden() -> dict[str, Any]:
        gate = condition(suite_of(cluster, "tenant-b", "tenant-gates"), "GatingReady")
        return gate if gate.get("reason") == "GatingForbidden" else {}

    told = cluster.wait(forbidden, timeout=30, what="the tenant suite told GatingForbidden")
    assert told["status"] == "False"
    assert "tenant-b" in told["message"] and "gating.namespaces" in told["message"], told
    cluster.wait_event("tenant-b", "tenant-gates", "GatingForbidden")

    ours = {"key": KEY, "value": f"{OPERATOR_NAMESPACE}.platform-gates", "effect": "NoSchedule"}
    cluster.wait(
        lambda: ours in (sb.get("v1", "Node", "tenancy-gpu")["spec"].get("taints") or []),
        timeout=30,
        what="the platform team's suite gating its node",
    )
    owner = condition(suite_of(cluster, OPERATOR_NAMESPACE, "platform-gates"), "GatingReady")
    assert owner["reason"] == "TaintKeyOwned", (
        "a suite that may not gate claims no key, so it cannot keep a permitted suite from it"
    )
    time.sleep(4)  # several reconciles of the tenant's suite
    assert node_version(cluster, "tenant-b-gpu") == untouched, "no Node write for the tenant"
    warned = [
        e for e in cluster.events("tenant-b", "tenant-gates") if e["reason"] == "GatingForbidden"
    ]
    assert len(warned) == 1 and warned[0]["type"] == "Warning"
    sb.delete(GROUP_VERSION, "RegressionSuite", "platform-gates", OPERATOR_NAMESPACE)
    sb.delete(GROUP_VERSION, "RegressionSuite", "tenant-gates", "tenant-b")


def test_privileged_pods_and_foreign_images_are_refused_before_any_job(cluster: Cluster) -> None:
    """Suites a cluster admin applied (the admission policy lets an admin through): the
    operator still refuses privileged pods outside policy.privilegedNamespaces and images
    outside policy.allowedImages, before any run or Job exists."""
    sb = cluster.sb
    sb.create_namespace("tenant-c")
    sb.add_node("tenant-c-node", labels={"benchgate-test/pool": "tc"}, kubelet=False)
    privileged = {"securityContext": {"privileged": True, "runAsNonRoot": False}}
    sb.create(suite_body("tenant-c", "priv", "tc", jobTemplate=privileged))
    sb.create(suite_body("tenant-c", "miner", "tc", image="docker.io/evil/miner:1"))

    def ready(name: str) -> dict[str, Any]:
        return condition(suite_of(cluster, "tenant-c", name), "Ready")

    cluster.wait(lambda: ready("priv").get("reason") == "PrivilegeForbidden", 30, "refusal")
    message = ready("priv")["message"]
    assert (
        "securityContext.privileged: true" in message and "policy.privilegedNamespaces" in message
    )
    cluster.wait(lambda: ready("miner").get("reason") == "ImageForbidden", 30, "image refusal")
    message = ready("miner")["message"]
    assert "docker.io/evil/miner:1" in message and "ghcr.io/benchgate/*" in message, message
    cluster.wait_event("tenant-c", "priv", "PrivilegeForbidden")
    cluster.wait_event("tenant-c", "miner", "ImageForbidden")
    time.sleep(3)
    assert cluster.runs("tenant-c") == [], "no run for a refused suite"
    assert sb.list("batch/v1", "Job", "tenant-c") == [], "no Job for a refused suite"

    # In a namespace the platform team allows (and whose Pod Security level allows it),
    # the same privileged suite gets its Jobs, privileged.
    sb.create_namespace("diag", labels={"pod-security.kubernetes.io/enforce": "privileged"})
    sb.add_node("diag-node", labels={"benchgate-test/pool": "diag"}, kubelet=False)
    sb.create(suite_body("diag", "priv", "diag", jobTemplate=privileged))
    jobs = cluster.wait(
        lambda: sb.list("batch/v1", "Job", "diag"), timeout=60, what="the privileged Jobs"
    )
    container = jobs[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["privileged"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is True
    cluster.wait(lambda: sb.list("v1", "Pod", "diag"), timeout=30, what="its pods admitted")
    sb.delete(GROUP_VERSION, "RegressionSuite", "priv", "diag")
