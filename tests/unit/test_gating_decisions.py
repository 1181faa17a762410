"""Node gating decisions: which nodes carry the suite's taint, from the latest verdicts."""

from __future__ import annotations

from benchgate.api.suite import GatingSpec
from benchgate.domain.gating import (
    GatedNode,
    LatestRun,
    latest_finished,
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


def test_a_foreign_value_or_effect_under_our_key_is_rewritten_and_gating_off_writes_nothing() -> (
    None
):
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
    change = released(TAINT["key"], "pool", "a", [OTHER, TAINT, theirs])
    assert change is not None and change.taints == [OTHER, theirs] and not change.gated
    assert released(TAINT["key"], "pool", "a", [OTHER, theirs]) is None
