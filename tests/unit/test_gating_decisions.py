"""Node gating decisions: which nodes carry the suite's taint, from the latest verdicts."""

from __future__ import annotations

import re

from benchgate.api.suite import GatingSpec
from benchgate.domain.gating import (
    Claim,
    GatedNode,
    LatestRun,
    breaker,
    gating_refusal,
    latest_finished,
    owner_value,
    plan_taints,
    released,
    toleration,
)

ON = GatingSpec(enabled=True)
TAINT = {"key": "benchgate.dev/unverified", "value": "pool", "effect": "NoSchedule"}
OTHER = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def node(name: str, key: str, *taints: dict[str, str]) -> GatedNode:
    return GatedNode(name, key, tuple(taints))


def test_unverified_nodes_are_tainted_and_other_taints_are_kept() -> None:
    changes = plan_taints(ON, "pool", [node("new", "p1", OTHER)], {})
    assert [(c.node, c.gated, c.taints) for c in changes] == [("new", True, [OTHER, TAINT])]
    assert "no finished verification" in changes[0].why
    assert plan_taints(ON, "pool", [node("new", "p1", OTHER, TAINT)], {}) == [], (
        "already gated: nothing to write"
    )


def test_a_passed_or_promoted_platform_is_released_and_a_regressed_one_stays_gated() -> None:
    nodes = [node("a", "p1", TAINT, OTHER), node("b", "p2", TAINT), node("c", "p3", TAINT)]
    latest = {
        "p1": LatestRun("p1", "Passed", "PlatformVerified"),
        "p2": LatestRun("p2", "NoBaseline", "BaselinePromoted"),
        "p3": LatestRun("p3", "Regressed", "RegressionDetected"),
    }
    changes = {c.node: c for c in plan_taints(ON, "pool", nodes, latest)}
    assert set(changes) == {"a", "b"}, "c regressed: it keeps its taint, nothing to write"
    assert changes["a"].taints == [OTHER] and not changes["a"].gated
    assert changes["b"].taints == []


def test_a_released_node_is_gated_again_when_its_platform_fails() -> None:
    for verdict, reason in [
        ("Inconclusive", "Inconclusive"),
        ("Failed", "WorkloadFailed"),
        ("NoBaseline", "NoBaseline"),
    ]:
        (change,) = plan_taints(
            ON, "pool", [node("a", "p1")], {"p1": LatestRun("p1", verdict, reason)}
        )
        assert change.gated and change.taints == [TAINT], verdict
        assert verdict in change.why


def test_our_stale_effect_is_rewritten_and_gating_off_writes_nothing() -> None:
    stale = {**TAINT, "effect": "PreferNoSchedule"}
    (change,) = plan_taints(ON, "pool", [node("a", "p1", stale)], {})
    assert change.taints == [TAINT]
    assert plan_taints(GatingSpec(), "pool", [node("a", "p1")], {}) == []
    assert toleration(GatingSpec()) is None
    assert toleration(ON) == {
        "key": "benchgate.dev/unverified",
        "operator": "Exists",
        "effect": "NoSchedule",
    }


def test_a_taint_under_our_key_with_another_value_is_never_touched() -> None:
    theirs = {**TAINT, "value": "someone-else", "timeAdded": "2027-01-01T00:00:00Z"}
    # Same key and effect: the API allows one such taint, theirs already keeps the node
    # off, and it is not ours to replace: nothing to write, gated or not.
    assert plan_taints(ON, "pool", [node("a", "p1", OTHER, theirs)], {}) == []
    verified = {"p1": LatestRun("p1", "Passed", "PlatformVerified")}
    assert plan_taints(ON, "pool", [node("a", "p1", theirs)], verified) == []
    # Another effect: ours goes next to theirs, and theirs stays exactly as it was.
    prefer = {**theirs, "effect": "PreferNoSchedule"}
    (change,) = plan_taints(ON, "pool", [node("a", "p1", prefer, OTHER)], {})
    assert change.taints == [prefer, OTHER, TAINT]
    (change,) = plan_taints(ON, "pool", [node("a", "p1", prefer, TAINT)], verified)
    assert change.taints == [prefer], "released: only our own taint leaves"


def test_latest_finished_ignores_running_runs() -> None:
    latest = latest_finished(
        [
            ("p1", 1.0, "Regressed", "RegressionDetected", True),
            ("p1", 2.0, "Passed", "PlatformVerified", True),
            ("p1", 3.0, "Running", "Running", False),
            ("p2", 1.0, "Pending", "", False),
        ]
    )
    assert latest == {"p1": LatestRun("p1", "Passed", "PlatformVerified")}


def test_a_deleted_suite_takes_only_its_own_taint_off() -> None:
    theirs = {**TAINT, "value": "other-suite"}
    change = released(TAINT["key"], "pool", "a", [OTHER, TAINT, theirs], "pool")
    assert change is not None and change.taints == [OTHER, theirs] and not change.gated
    assert released(TAINT["key"], "pool", "a", [OTHER, theirs], "pool") is None


def test_the_taint_value_names_the_suite_within_a_label_value() -> None:
    assert owner_value("ml", "gpu-pool") == "ml.gpu-pool"
    assert owner_value("ml", "gpu-pool") != owner_value("ml-gpu", "pool")
    long_a, long_b = owner_value("team", "x" * 250), owner_value("team", "x" * 249 + "y")
    for value in (long_a, long_b, owner_value("n" * 63, "s" * 253)):
        assert len(value) <= 63
        assert re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value), value
    assert long_a != long_b, "suites differing past the 63rd character stay distinct"


def claim(suite: str, created: str, uid: str, key: str = TAINT["key"]) -> Claim:
    return Claim(key, "ml", suite, created, uid)


def test_the_oldest_suite_owns_a_key_and_the_others_are_told_who_does() -> None:
    first = claim("first", "2027-01-01T00:00:00Z", "uid-b")
    second = claim("second", "2027-01-02T00:00:00Z", "uid-a")
    everyone = [first, second, claim("elsewhere", "2026-01-01T00:00:00Z", "u", "example.com/x")]
    assert gating_refusal(ON, first, everyone) is None
    reason, message = gating_refusal(ON, second, everyone) or ("", "")
    assert reason == "TaintKeyInUse"
    assert "ml/first" in message and TAINT["key"] in message, message
    # created in the same second: the uid decides, the same way in every process
    tie = claim("tie", "2027-01-01T00:00:00Z", "uid-a")
    assert gating_refusal(ON, tie, [*everyone, tie]) is None
    assert gating_refusal(ON, first, [*everyone, tie]) is not None


def test_a_vendor_or_kubernetes_key_is_refused() -> None:
    for key in ("nvidia.com/gpu", "node.kubernetes.io/unschedulable", "karpenter.sh/disrupted"):
        spec = GatingSpec(enabled=True, taint_key=key)
        me = claim("s", "2027-01-01T00:00:00Z", "u", key)
        reason, message = gating_refusal(spec, me, [me]) or ("", "")
        assert reason == "TaintKeyReserved" and key in message, (key, reason)


def test_a_node_that_opted_out_is_never_gated_and_our_taint_comes_off() -> None:
    """benchgate.dev/gating=disabled: the node is still verified, never held back."""
    fresh = GatedNode("new", "p1", (OTHER,), opted_out=True)
    assert plan_taints(ON, "pool", [fresh], {}) == [], "an opted-out node is not tainted"
    regressed = {"p1": LatestRun("p1", "Regressed", "RegressionDetected")}
    held = GatedNode("held", "p1", (TAINT, OTHER), opted_out=True)
    (change,) = plan_taints(ON, "pool", [held], regressed)
    assert (change.gated, change.taints) == (False, [OTHER]), change
    assert "opted out" in change.why


def test_the_breaker_halts_gating_for_failures_when_too_many_nodes_fail() -> None:
    """A broken image regresses every platform at once: past the cap, no node is newly
    gated for a failure (nodes already gated stay gated), new and verified nodes are
    handled as ever, and a small suite is never halted for one bad pool."""
    regressed = LatestRun("bad", "Regressed", "RegressionDetected")
    latest = {"bad": regressed, "ok": LatestRun("ok", "Passed", "PlatformVerified")}
    fleet = [node(f"b{i}", "bad") for i in range(6)] + [node("held", "bad", TAINT)]
    fleet += [node("fine", "ok", TAINT), node("fresh", "new")]
    reading = breaker(fleet, latest, share=0.5, floor=5)
    assert reading.halted and (reading.failing, reading.nodes) == (7, 9), reading
    assert "7 of 9 nodes" in reading.message and "broken image or baseline" in reading.message
    changes = {c.node: c for c in plan_taints(ON, "pool", fleet, latest, halted=reading.halted)}
    assert set(changes) == {"fine", "fresh"}, "only the verified and the new nodes change"
    assert not changes["fine"].gated and changes["fresh"].gated

    small = [node("x", "bad"), node("y", "bad")]
    assert not breaker(small, latest, share=0.5, floor=5).halted, "under the floor"
    half = [node(f"b{i}", "bad") for i in range(6)] + [node(f"o{i}", "ok") for i in range(6)]
    assert not breaker(half, latest, share=0.5, floor=5).halted, "not more than the share"
    opted = [GatedNode(f"b{i}", "bad", (), opted_out=True) for i in range(6)]
    assert not breaker(opted, latest, share=0.5, floor=0).halted, "opted-out nodes never count"
