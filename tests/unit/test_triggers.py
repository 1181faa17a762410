"""Trigger decisions: at most one run per suite and platform, deterministic names."""

from __future__ import annotations

from benchgate.api.suite import PlatformSpec, TriggerSpec
from benchgate.domain.platform import Platform, node_platform
from benchgate.domain.triggers import NodeState, RunRecord, SuiteState, decide, run_name

SPEC = PlatformSpec()
INFO = {"kernelVersion": "6.8.0", "osImage": "Ubuntu", "architecture": "amd64"}


def gpu(driver: str = "550.54.15") -> Platform:
    return node_platform(
        {
            "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
            "nvidia.com/cuda.driver-version.full": driver,
        },
        INFO,
        SPEC,
    )


def suite(**triggers: object) -> SuiteState:
    return SuiteState(
        name="pool",
        image="img:1",
        spec_hash="h1",
        triggers=TriggerSpec(**triggers),  # type: ignore[arg-type]
        settle_seconds=30,
        nodes_per_platform=1,
    )


def node(name: str, platform: Platform, changed_at: float = 0.0, **kw: bool) -> NodeState:
    return NodeState(name=name, platform=platform, changed_at=changed_at, **kw)


def record(
    name: str,
    platform: Platform,
    nodes: tuple[str, ...],
    *,
    image: str = "img:1",
    spec_hash: str = "h1",
    created: float = 10.0,
    finished: bool = True,
) -> RunRecord:
    return RunRecord(
        name=name,
        platform_key=platform.key,
        platform_fields=platform.fields,
        nodes=nodes,
        image=image,
        spec_hash=spec_hash,
        trigger="NewPlatform",
        created_at=created,
        finished=finished,
    )


def test_a_pool_of_nodes_appearing_at_once_makes_one_run_per_platform() -> None:
    a, b = gpu(), gpu("560.35.03")
    nodes = [node(f"n{i}", a) for i in range(5)] + [node(f"m{i}", b) for i in range(3)]
    plan = decide(suite(), nodes, [], now=100.0)
    assert sorted(r.reason for r in plan.requests) == ["NewPlatform", "NewPlatform"]
    assert {r.platform.key for r in plan.requests} == {a.key, b.key}
    assert [r.nodes for r in plan.requests if r.platform == a] == [("n0",)]
    again = decide(suite(), nodes, [], now=500.0)
    assert [r.name for r in again.requests] == [r.name for r in plan.requests], (
        "re-deciding (e.g. after a restart) must ask for the same run names"
    )


def test_run_names_are_bounded_and_shaped() -> None:
    name = run_name("x" * 63, "ab" * 32, "NewPlatform", "img")
    assert len(name) <= 56 and name.split("-")[-2] == "abababab"


def test_waits_for_labels_to_settle() -> None:
    plan = decide(suite(), [node("n0", gpu(), changed_at=90.0)], [], now=100.0)
    assert plan.requests == ()
    assert plan.recheck_after == 20.0
    assert decide(suite(), [node("n0", gpu(), changed_at=90.0)], [], now=120.0).requests


def test_no_run_while_one_is_in_progress_or_already_verified() -> None:
    p = gpu()
    running = [record("r1", p, ("n0",), finished=False)]
    assert decide(suite(), [node("n0", p)], running, now=100.0).requests == ()
    done = [record("r1", p, ("n0",))]
    assert decide(suite(), [node("n0", p)], done, now=100.0).requests == ()


def test_driver_change_on_an_existing_node_is_a_fingerprint_change() -> None:
    old, new = gpu(), gpu("560.35.03")
    plan = decide(suite(), [node("n0", new)], [record("r1", old, ("n0",))], now=100.0)
    (request,) = plan.requests
    assert request.reason == "FingerprintChanged"
    assert "550.54.15 -> 560.35.03" in request.message
    off = decide(
        suite(fingerprint_change=False), [node("n0", new)], [record("r1", old, ("n0",))], now=100.0
    )
    assert off.requests == ()


def test_image_and_spec_changes_retrigger_and_can_be_switched_off() -> None:
    p = gpu()
    image = decide(suite(), [node("n0", p)], [record("r1", p, ("n0",), image="img:0")], 100.0)
    assert [r.reason for r in image.requests] == ["ImageChanged"]
    spec = decide(suite(), [node("n0", p)], [record("r1", p, ("n0",), spec_hash="h0")], 100.0)
    assert [r.reason for r in spec.requests] == ["SpecChanged"]
    assert (
        decide(
            suite(spec_change=False),
            [node("n0", p)],
            [record("r1", p, ("n0",), spec_hash="h0")],
            100.0,
        ).requests
        == ()
    )


def test_periodic_reverification_and_unready_nodes() -> None:
    p = gpu()
    runs = [record("r1", p, ("n0",), created=0.0)]
    early = decide(suite(period_seconds=600), [node("n0", p)], runs, now=100.0)
    assert early.requests == () and early.recheck_after == 500.0
    due = decide(suite(period_seconds=600), [node("n0", p)], runs, now=700.0)
    assert [r.reason for r in due.requests] == ["Periodic"]
    assert decide(suite(), [node("n0", p, ready=False)], [], 100.0).requests == ()
    nodes = [node("n0", p, schedulable=False), node("n1", p)]
    (req,) = decide(suite(), nodes, [], 100.0).requests
    assert req.nodes == ("n1",), "cordoned nodes are not chosen"
