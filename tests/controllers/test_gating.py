"""spec.gating: a node stays tainted until its platform is verified, is released when a
run passes, and is gated again when a later run regresses."""

from __future__ import annotations

from typing import Any

from controller_harness import Cluster, condition

from benchgate_sandbox.nodes import h100_pool_node

NS = "gate"
KEY = "benchgate.dev/unverified"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


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
        jobTemplate={"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]},
    )
    assert suite["spec"]["gating"] == {"enabled": True, "taintKey": KEY, "effect": "NoSchedule"}, (
        "CRD defaults"
    )

    # A new node is gated before anything ran; the verification pod tolerates the taint.
    cluster.wait(lambda: gated(cluster), timeout=30, what="the new node gated")
    assert {"key": KEY, "value": NS, "effect": "NoSchedule"} in taints(cluster)
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
