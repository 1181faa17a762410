"""spec.gating: a node stays tainted until its platform is verified, is released when a
run passes, and is gated again when a later run regresses; benchgate never touches a
taint it did not write, and two suites never fight over one key."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from controller_harness import CHART_VALUES, GROUP_VERSION, Cluster, condition

from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.nodes import h100_pool_node
from chart_install import install

NS = "gate"
KEY = "benchgate.dev/unverified"
OURS = f"{NS}.{NS}"  # the taint's value names the suite: <namespace>.<name>
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists"}


def taints(cluster: Cluster, node: str = "gate-gpu") -> list[dict[str, Any]]:
    return list((cluster.sb.get("v1", "Node", node).get("spec") or {}).get("taints") or [])


def gated(cluster: Cluster, node: str = "gate-gpu") -> bool:
    return any(t.get("key") == KEY for t in taints(cluster, node))


def finished_with(cluster: Cluster, reason: str) -> list[dict[str, Any]]:
    return [r for r in cluster.finished_runs(NS) if r["spec"]["trigger"]["reason"] == reason]


def test_gating_follows_the_verdicts(cluster: Cluster) -> None:
    sb = cluster.sb
    sb.create_namespace(NS)
    sb.add_node(
        node=h100_pool_node("gate-gpu", taints=[GPU_TAINT]), labels={"benchgate-test/pool": NS}
    )
    suite = cluster.suite(
        NS,
        NS,
        NS,
        gating={"enabled": True},
        jobTemplate={"tolerations": [GPU_TOLERATION]},
    )
    assert suite["spec"]["gating"] == {"enabled": True, "taintKey": KEY, "effect": "NoSchedule"}, (
        "CRD defaults"
    )

    # A new node is gated before anything ran; the verification pod tolerates the taint.
    cluster.wait(lambda: gated(cluster), timeout=30, what="the new node gated")
    assert {"key": KEY, "value": OURS, "effect": "NoSchedule"} in taints(cluster)
    cluster.wait_event(NS, NS, "NodeGated")
    first = cluster.wait(
        lambda: finished_with(cluster, "NewPlatform"), timeout=90, what="the first run finished"
    )[0]
    assert condition(first, "Verified")["reason"] == "BaselinePromoted"

    # The first run of the class is its baseline: the node is released, other taints kept.
    cluster.wait(lambda: not gated(cluster), timeout=30, what="the node released")
    assert taints(cluster) == [GPU_TAINT]
    cluster.wait_event(NS, NS, "NodeReleased")

    # A regression (fp32 matmul at TF32 precision) on the same platform gates it again.
    obj = sb.get("benchgate.dev/v1alpha1", "RegressionSuite", NS, NS)
    obj["spec"]["jobTemplate"]["env"] = [{"name": "BENCHGATE_INJECT_PRECISION", "value": "tf32"}]
    sb.apply(obj)
    regressed = cluster.wait(
        lambda: finished_with(cluster, "SpecChanged"), timeout=90, what="the regressed run finished"
    )[0]
    assert regressed["status"]["verdict"] == "Regressed", regressed["status"]
    cluster.wait(lambda: gated(cluster), timeout=30, what="the regressed node gated again")

    # The fix: the next run passes against the baseline and the node is released again.
    obj = sb.get("benchgate.dev/v1alpha1", "RegressionSuite", NS, NS)
    obj["spec"]["jobTemplate"]["env"] = []
    sb.apply(obj)
    cluster.wait(
        lambda: len(finished_with(cluster, "SpecChanged")) >= 2,
        timeout=90,
        what="the fixed run finished",
    )
    fixed = max(
        finished_with(cluster, "SpecChanged"), key=lambda r: r["metadata"]["creationTimestamp"]
    )
    assert fixed["status"]["verdict"] == "Passed", fixed["status"]
    cluster.wait(lambda: not gated(cluster), timeout=30, what="the fixed node released")
    assert taints(cluster) == [GPU_TAINT]

    # Deleting the suite takes its taint off its nodes (and leaves the others): a node of
    # a new driver is gated while its first verification runs, then the suite goes.
    sb.add_node(
        node=h100_pool_node("gate-gpu-560", "560.35.03", taints=[GPU_TAINT]),
        labels={"benchgate-test/pool": NS},
    )
    cluster.wait(lambda: gated(cluster, "gate-gpu-560"), timeout=30, what="the 560 node gated")
    assert not gated(cluster), "a verified platform's node stays released"
    sb.delete("benchgate.dev/v1alpha1", "RegressionSuite", NS, NS)
    cluster.wait(
        lambda: not gated(cluster, "gate-gpu-560"),
        timeout=30,
        what="the taint removed with the suite",
    )
    assert taints(cluster, "gate-gpu-560") == [GPU_TAINT]


def node_version(cluster: Cluster, node: str) -> str:
    return str(cluster.sb.get("v1", "Node", node)["metadata"]["resourceVersion"])


def test_foreign_taints_are_never_touched_and_two_suites_never_fight(cluster: Cluster) -> None:
    """A GPU pool node with the vendor's nvidia.com/gpu=present:NoSchedule taint, a second
    node with a hand-made taint under benchgate's key, and two suites asking for that key:
    the older suite gates, the younger is told who owns the key, nothing flaps, and the
    foreign taints stay byte-identical."""
    ns, sb = "own", cluster.sb
    sb.create_namespace(ns)
    hand_made = {"key": KEY, "value": "ops-team", "effect": "NoSchedule"}
    pool = {"benchgate-test/pool": ns}
    sb.add_node(node=h100_pool_node("own-gpu", taints=[GPU_TAINT]), labels=pool)
    sb.add_node(node=h100_pool_node("own-manual", taints=[GPU_TAINT, hand_made]), labels=pool)
    manual_version = node_version(cluster, "own-manual")
    spec: dict[str, Any] = {
        "gating": {"enabled": True},
        "jobTemplate": {"tolerations": [GPU_TOLERATION]},
        "nodesPerPlatform": 2,
    }

    # A vendor's key is refused at apply, naming the field: no node is ever written.
    with pytest.raises(ApiError) as refused:
        vendor = {"enabled": True, "taintKey": "nvidia.com/gpu"}
        cluster.suite(ns, "vendor-key", ns, **{**spec, "gating": vendor})
    assert refused.value.code == 422
    assert "spec.gating.taintKey" in str(refused.value) and "nvidia.com/gpu" in str(refused.value)

    cluster.suite(ns, "first", ns, **spec)
    time.sleep(1.1)  # creationTimestamps have one-second resolution: make "first" older
    cluster.suite(ns, "second", ns, **spec)

    # The younger suite is told, by condition and Event, which suite owns the key.
    def refused_second() -> dict[str, Any]:
        obj = sb.get(GROUP_VERSION, "RegressionSuite", "second", ns)
        gate = condition(obj, "GatingReady")
        return gate if gate.get("reason") == "TaintKeyInUse" else {}

    told = cluster.wait(refused_second, timeout=30, what="the second suite told why")
    assert told["status"] == "False" and "own/first" in told["message"], told
    cluster.wait_event(ns, "second", "TaintKeyInUse")
    owner = condition(sb.get(GROUP_VERSION, "RegressionSuite", "first", ns), "GatingReady")
    assert (owner["status"], owner["reason"]) == ("True", "TaintKeyOwned"), owner

    # Only the owner's taint appears; the vendor's taint is kept as it is.
    ours = {"key": KEY, "value": f"{ns}.first", "effect": "NoSchedule"}
    cluster.wait(lambda: ours in taints(cluster, "own-gpu"), timeout=30, what="own-gpu gated")
    assert taints(cluster, "own-gpu") == [GPU_TAINT, ours]

    # Verified (the first run becomes the baseline): released, back to the vendor's taint.
    cluster.wait(
        lambda: taints(cluster, "own-gpu") == [GPU_TAINT], timeout=120, what="own-gpu released"
    )

    # No flapping: over several reconciles of both suites, no node is written at all.
    before = node_version(cluster, "own-gpu")
    time.sleep(6)  # six ticks of each suite's 1 s reconcile in the controller tests
    assert node_version(cluster, "own-gpu") == before, "a verified node must not be rewritten"
    assert taints(cluster, "own-gpu") == [GPU_TAINT]
    # The hand-made taint under our key was never ours: never modified, never removed,
    # and its node was never written (the slot our taint would take was already held).
    assert node_version(cluster, "own-manual") == manual_version
    assert taints(cluster, "own-manual") == [GPU_TAINT, hand_made]

    # The owner goes: the younger suite takes the key over, decided from the API.
    sb.delete(GROUP_VERSION, "RegressionSuite", "first", ns)

    def second_owns() -> bool:
        obj = sb.get(GROUP_VERSION, "RegressionSuite", "second", ns)
        return condition(obj, "GatingReady").get("reason") == "TaintKeyOwned"

    cluster.wait(second_owns, timeout=30, what="the second suite owning the key")
    assert taints(cluster, "own-manual") == [GPU_TAINT, hand_made]


def test_a_role_that_may_not_patch_nodes_is_said_once_and_recovers(cluster: Cluster) -> None:
    """The chart upgraded to gating.enabled=false: the operator's ClusterRole loses get and
    patch on Nodes, the sandbox's RBAC refuses the node read, and the suite says so once
    (GatingFailed); upgraded back, the next reconcile gates."""
    ns, sb = "forbid", cluster.sb
    sb.create_namespace(ns)
    sb.add_node(node=h100_pool_node("forbid-gpu"), labels={"benchgate-test/pool": ns})
    operator = cluster.operator.identity
    assert operator is not None, "the controller tests run the operator as the chart's account"
    username = f"system:serviceaccount:{operator.namespace}:{operator.service_account}"
    # A key of its own: suites of the other tests in this module may still own the default.
    key = "benchgate.dev/unverified-forbid"

    def gating_ready() -> dict[str, Any]:
        return condition(sb.get(GROUP_VERSION, "RegressionSuite", ns, ns), "GatingReady")

    install(sb, {**CHART_VALUES, "gating": {**CHART_VALUES["gating"], "enabled": False}})
    try:
        cluster.suite(ns, ns, ns, gating={"enabled": True, "taintKey": key}, timeoutSeconds=300)
        cluster.wait(
            lambda: gating_ready().get("reason") == "GatingFailed", timeout=30, what="GatingFailed"
        )
        message = gating_ready()["message"]
        assert "gating.enabled=true" in message, message
        assert f'User "{username}" cannot patch resource "nodes"' in message, (
            "the condition carries the API server's refusal"
        )
        cluster.wait_event(ns, ns, "GatingFailed")
        before = node_requests(cluster, username, "patch")
        time.sleep(4)  # four more reconciles, each refused again
        warned = [e for e in cluster.events(ns, ns) if e["reason"] == "GatingFailed"]
        assert len(warned) == 1 and warned[0].get("count", 1) == 1, (
            "one Warning for the news, not one per reconcile"
        )
        assert node_requests(cluster, username, "patch") > before, (
            "the operator kept trying (quietly)"
        )
        assert not any(t.get("key") == key for t in taints(cluster, "forbid-gpu"))
    finally:
        install(sb, CHART_VALUES)  # the role is fixed: the next reconcile gates
    cluster.wait(lambda: gating_ready().get("reason") == "TaintKeyOwned", timeout=30, what="gating")
    cluster.wait(
        lambda: (
            any(t.get("key") == key for t in taints(cluster, "forbid-gpu"))
            or condition(sb.get(GROUP_VERSION, "RegressionSuite", ns, ns), "Ready").get("status")
            == "True"
        ),
        timeout=30,
        what="the node gated (or already verified)",
    )


def node_requests(cluster: Cluster, username: str, verb: str) -> int:
    """How often `username` has sent `verb` for a single Node (the sandbox's request audit,
    which records refusals too)."""
    return sum(
        1 for r in cluster.sb.requests_by(username) if (r.verb, r.resource) == (verb, "nodes")
    )


def batch_sizes(cluster: Cluster, ns: str, suite: str, reason: str) -> list[int]:
    """The node counts the suite's aggregated `reason` Events announce."""
    return [
        int(match.group(1)) * int(e.get("count") or 1)
        for e in cluster.events(ns, suite)
        if e["reason"] == reason and (match := re.match(r"(\d+) node\(s\) ", e["message"]))
    ]


def test_a_fleet_is_gated_from_the_index_in_batches_and_an_opted_out_node_never(
    cluster: Cluster,
) -> None:
    """24 nodes of one platform appear, plus one labelled benchgate.dev/gating=disabled:
    the 24 are gated without one GET per node (the index has them), the batch is
    announced in a handful of Events that count the nodes instead of one Event per node,
    and once the platform's run becomes its baseline they are released the same way. The
    opted-out node is verified like the others and never tainted."""
    ns, suite, sb = "gate", "fleet", cluster.sb
    key = "benchgate.dev/unverified-fleet"  # its own key: other suites here own the default
    pool = {"benchgate-test/pool": "fleet"}
    fleet = [f"fleet-{i:02d}" for i in range(24)]
    operator = cluster.operator.identity
    assert operator is not None
    username = f"system:serviceaccount:{operator.namespace}:{operator.service_account}"
    for name in fleet:
        sb.add_node(name, labels=pool)
    sb.add_node("fleet-optout", labels={**pool, "benchgate.dev/gating": "disabled"})
    gets_before = node_requests(cluster, username, "get")

    def ours(name: str) -> bool:
        return any(t.get("key") == key for t in taints(cluster, name))

    cluster.suite(ns, suite, "fleet", gating={"enabled": True, "taintKey": key})
    cluster.wait(
        lambda: all(ours(n) for n in fleet), timeout=60, what="all 24 nodes of the fleet gated"
    )
    assert not ours("fleet-optout"), "the opted-out node was gated"
    cluster.wait(
        lambda: sum(batch_sizes(cluster, ns, suite, "NodeGated")) == len(fleet),
        timeout=20,
        what="NodeGated Events counting all 24 nodes",
    )
    gated_events = [e for e in cluster.events(ns, suite) if e["reason"] == "NodeGated"]
    assert len(gated_events) <= 3, f"{len(gated_events)} Events for one batch of 24 nodes"
    assert node_requests(cluster, username, "get") == gets_before, "a GET per node patched"

    run = cluster.wait(
        lambda: [
            r
            for r in cluster.finished_runs(ns)
            if r["spec"]["platform"]["key"]
            and r["metadata"]["labels"].get("benchgate.dev/suite") == suite
        ],
        timeout=120,
        what="the fleet's run finished",
    )[0]
    assert condition(run, "Verified")["reason"] == "BaselinePromoted", run["status"]
    cluster.wait(lambda: not any(ours(n) for n in fleet), timeout=60, what="the fleet released")
    cluster.wait(
        lambda: sum(batch_sizes(cluster, ns, suite, "NodeReleased")) == len(fleet),
        timeout=20,
        what="NodeReleased Events counting all 24 nodes",
    )
    assert not ours("fleet-optout")
    assert node_requests(cluster, username, "get") == gets_before, "a GET per node patched"
    sb.delete(GROUP_VERSION, "RegressionSuite", suite, ns)


def test_the_breaker_stops_a_broken_verification_from_quarantining_the_fleet(
    cluster: Cluster,
) -> None:
    """Seven nodes of one platform pass and are released; then the suite's verification
    breaks (fp32 matmul at TF32 precision: every node of the platform 'regresses'). More
    than half of the suite's nodes, and more than five, would be gated for a failure: the
    breaker holds them released, GatingHalted says why and one Warning Event is posted
    (the alert on that condition is tested with promtool, tests/alerts)."""
    ns, suite, sb = "ops", "breaker", cluster.sb
    key = "benchgate.dev/unverified-breaker"
    pool = {"benchgate-test/pool": "breaker"}
    fleet = [f"breaker-{i}" for i in range(7)]
    sb.create_namespace(ns)
    for name in fleet:
        sb.add_node(name, labels=pool)

    def ours(name: str) -> bool:
        return any(t.get("key") == key for t in taints(cluster, name))

    def runs_by(reason: str) -> list[dict[str, Any]]:
        return [r for r in cluster.finished_runs(ns) if r["spec"]["trigger"]["reason"] == reason]

    def halted() -> dict[str, Any]:
        return condition(sb.get(GROUP_VERSION, "RegressionSuite", suite, ns), "GatingHalted")

    cluster.suite(ns, suite, "breaker", gating={"enabled": True, "taintKey": key})
    cluster.wait(lambda: runs_by("NewPlatform"), timeout=120, what="the baseline run")
    cluster.wait(lambda: not any(ours(n) for n in fleet), timeout=60, what="the fleet released")
    assert halted().get("status") == "False", halted()

    obj = sb.get(GROUP_VERSION, "RegressionSuite", suite, ns)
    obj["spec"]["jobTemplate"] = {"env": [{"name": "BENCHGATE_INJECT_PRECISION", "value": "tf32"}]}
    sb.apply(obj)
    broken = cluster.wait(lambda: runs_by("SpecChanged"), timeout=120, what="the broken run")[0]
    assert broken["status"]["verdict"] == "Regressed", broken["status"]
    cluster.wait(lambda: halted().get("status") == "True", timeout=30, what="GatingHalted True")
    assert halted()["reason"] == "FailureShareExceeded"
    assert "7 of 7 nodes" in halted()["message"], halted()["message"]
    cluster.wait_event(ns, suite, "GatingHalted")
    time.sleep(3)  # a few more reconciles: still nothing gated, still one Warning
    assert not any(ours(n) for n in fleet), "the breaker let failures quarantine the fleet"
    warned = [e for e in cluster.events(ns, suite) if e["reason"] == "GatingHalted"]
    assert len(warned) == 1 and warned[0].get("count", 1) == 1, warned
    sb.delete(GROUP_VERSION, "RegressionSuite", suite, ns)
