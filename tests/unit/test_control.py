"""Which design judges a run: the control node choice and what status.control records."""

from __future__ import annotations

from benchgate.api.suite import PlatformSpec
from benchgate.domain.control import ControlNode, choose_control, fallback
from benchgate.domain.platform import Platform, node_platform


def gpu(driver: str = "550.54.15", product: str = "NVIDIA-H100-80GB-HBM3") -> Platform:
    return node_platform(
        {"nvidia.com/gpu.product": product, "nvidia.com/cuda.driver-version.full": driver},
        {"kernelVersion": "6.8.0"},
        PlatformSpec(),
    )


OLD, NEW = gpu("550.54.15"), gpu("560.35.03")


def node(name: str, platform: Platform = OLD, **state: bool) -> ControlNode:
    flags = {"selected": True, "ready": True, "schedulable": True, "gated": False, **state}
    return ControlNode(name=name, platform_key=platform.key, **flags)


def test_the_first_usable_node_of_the_baseline_platform_by_name_is_the_control() -> None:
    nodes = [node("old-c"), node("old-b"), node("new-a", NEW), node("old-a", ready=False)]
    choice = choose_control("Auto", NEW, ("new-a",), OLD, nodes)
    assert (choice.design, choice.node, choice.wait) == ("concurrent-control", "old-b", False)
    # The order nodes arrive in does not matter: a restart picks the same one.
    again = choose_control("Auto", NEW, ("new-a",), OLD, list(reversed(nodes)))
    assert again == choice
    assert choice.status() == {"design": "concurrent-control", "node": "old-b", "why": choice.why}
    assert "old-b" in choice.why


def test_unusable_nodes_are_never_controls_and_the_reason_names_them() -> None:
    nodes = [
        node("not-ready", ready=False),
        node("cordoned", schedulable=False),
        node("gated", gated=True),
        node("other-suite", selected=False),
        node("new-a", NEW),
    ]
    choice = choose_control("Auto", NEW, ("new-a",), OLD, nodes)
    assert (choice.design, choice.node, choice.wait) == ("stored-baseline", "", False)
    assert "cordoned, gated, not-ready are not" in choice.why, choice.why
    assert "other-suite" not in choice.why, "a node the suite does not select is not counted"


def test_a_candidate_node_of_the_old_platform_is_not_its_own_control() -> None:
    choice = choose_control("Auto", NEW, ("both",), OLD, [node("both")])
    assert choice.design == "stored-baseline"


def test_required_waits_and_never_judges_without_a_control() -> None:
    choice = choose_control("Required", NEW, ("new-a",), OLD, [node("new-a", NEW)])
    assert choice.wait and choice.design == "stored-baseline"
    assert "no node of the baseline's platform" in choice.why
    assert "Required" in choice.why
    found = choose_control("Required", NEW, ("new-a",), OLD, [node("old-a")])
    assert (found.design, found.node, found.wait) == ("concurrent-control", "old-a", False)


def test_no_control_where_none_can_apply() -> None:
    nodes = [node("old-a")]
    never = choose_control("Never", NEW, (), OLD, nodes)
    assert (never.design, never.node) == ("stored-baseline", "")
    assert "Never" in never.why
    # Same platform (a spec change re-run): nothing older to measure beside it; Required
    # does not wait for what cannot exist.
    same = choose_control("Required", OLD, ("x",), OLD, nodes)
    assert (same.design, same.wait) == ("stored-baseline", False)
    assert choose_control("Auto", NEW, (), None, nodes).design == "stored-baseline"
    a100 = gpu(product="NVIDIA-A100-SXM4-80GB")
    other_class = choose_control("Auto", NEW, (), a100, [node("a", a100)])
    assert other_class.design == "stored-baseline" and "hardware class" in other_class.why
    sequential = choose_control("Auto", NEW, (), OLD, nodes, sequential=True)
    assert sequential.design == "stored-baseline" and "sequential" in sequential.why


def test_a_dropped_control_records_the_stored_design_and_why() -> None:
    chosen = choose_control("Auto", NEW, (), OLD, [node("old-a")]).status()
    dropped = fallback(chosen, "its Job run-c-0 failed (BackoffLimitExceeded: ...)")
    assert dropped["design"] == "stored-baseline"
    assert dropped["node"] == "old-a"
    assert "run-c-0 failed" in dropped["why"] and "stored baseline" in dropped["why"]
