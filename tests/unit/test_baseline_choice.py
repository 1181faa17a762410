"""Baseline choice: explicit, or closest fingerprint within the same hardware class."""

from __future__ import annotations

from benchgate.api.suite import BaselineSpec, PlatformSpec
from benchgate.domain.baseline import (
    MAX_SESSIONS,
    BaselineRecord,
    FirstRunRecord,
    SessionCandidate,
    choose_baseline,
    earlier_first_runs,
    session_refusal,
)
from benchgate.domain.platform import Platform, node_platform


def gpu(
    product: str = "NVIDIA-H100-80GB-HBM3", driver: str = "550.54.15", kernel: str = "6.8.0"
) -> Platform:
    return node_platform(
        {"nvidia.com/gpu.product": product, "nvidia.com/cuda.driver-version.full": driver},
        {"kernelVersion": kernel},
        PlatformSpec(),
    )


def rec(name: str, platform: Platform, created: float = 0.0, suite: str = "s") -> BaselineRecord:
    return BaselineRecord(
        name=name, suite=suite, platform=platform, created_at=created, configmap=f"{name}-samples"
    )


def test_closest_fingerprint_within_the_hardware_class() -> None:
    run = gpu(driver="560.35.03", kernel="6.8.0")
    baselines = [
        rec("a100", gpu(product="NVIDIA-A100-SXM4-80GB", driver="560.35.03")),
        rec("far", gpu(driver="535.1", kernel="6.1.0")),
        rec("near", gpu(driver="550.54.15", kernel="6.8.0")),
        rec("other-suite", gpu(driver="560.35.03"), suite="t"),
    ]
    choice = choose_baseline(BaselineSpec(), "s", run, baselines)
    assert choice.baseline is not None and choice.baseline.name == "near"
    assert choice.distance == 1
    assert "near" in choice.why


def test_ties_go_to_the_newest_then_the_name() -> None:
    run = gpu(driver="560.35.03")
    older, newer = rec("old", gpu(), created=1.0), rec("new", gpu(), created=2.0)
    choice = choose_baseline(BaselineSpec(), "s", run, [older, newer])
    assert choice.baseline == newer


def test_no_baseline_in_the_class_is_said_plainly() -> None:
    choice = choose_baseline(
        BaselineSpec(), "s", gpu(), [rec("a100", gpu(product="NVIDIA-A100-SXM4-80GB"))]
    )
    assert choice.baseline is None and "no baseline for hardware class" in choice.why


def test_explicit_policy_uses_the_named_baseline_or_says_it_is_missing() -> None:
    baselines = [rec("pinned", gpu(product="NVIDIA-A100-SXM4-80GB")), rec("near", gpu())]
    policy = BaselineSpec(policy="Explicit", name="pinned")
    choice = choose_baseline(policy, "s", gpu(), baselines)
    assert choice.baseline is not None and choice.baseline.name == "pinned"
    gone = choose_baseline(BaselineSpec(policy="Explicit", name="deleted"), "s", gpu(), baselines)
    assert gone.baseline is None and "'deleted'" in gone.why


def _first(
    name: str, at: float, cls: str = "h100", *, complete: bool = False, baseline: str = ""
) -> FirstRunRecord:
    return FirstRunRecord(name, cls, at, complete, baseline)


def test_of_two_first_runs_of_a_class_the_later_waits_for_the_earlier() -> None:
    a, b = _first("pool-a", 100.0), _first("pool-b", 100.0)  # same second: name decides
    c = _first("pool-c", 99.0, cls="a100")  # another class never holds anyone up
    assert earlier_first_runs(b, [a, b, c]) == ["pool-a"]
    assert earlier_first_runs(a, [a, b, c]) == [], "the earliest promotes itself"


def test_runs_that_cannot_become_the_first_baseline_do_not_hold_others() -> None:
    me = _first("pool-z", 200.0)
    others = [
        _first("done", 100.0, complete=True),  # failed or already promoted
        _first("compared", 101.0, baseline="pool-x-baseline"),  # found a baseline at plan
        _first("later", 300.0),
    ]
    assert earlier_first_runs(me, others) == []
    assert earlier_first_runs(me, [*others, _first("early", 150.0), _first("earliest", 120.0)]) == [
        "earliest",
        "early",
    ]


def test_only_a_passed_run_of_the_same_measurement_becomes_a_later_session() -> None:
    base = rec("b", gpu())
    keys = frozenset({"gemm/gflops_fp32", "train/final_loss"})

    def run(**changes: object) -> SessionCandidate:
        fields: dict[str, object] = {
            "verdict": "Passed",
            "platform_key": base.platform.key,
            "image": "img:1",
            "metric_keys": keys,
            "spec_hash": "h1",
            **changes,
        }
        return SessionCandidate(**fields)  # type: ignore[arg-type]

    assert session_refusal(base, "img:1", keys, run(), 1, "h1") is None
    assert session_refusal(base, "img:1", keys, run(), MAX_SESSIONS - 1, "h1") is None
    refusals = {
        "full": session_refusal(base, "img:1", keys, run(), MAX_SESSIONS, "h1"),
        "inconclusive": session_refusal(base, "img:1", keys, run(verdict="Inconclusive"), 1, "h1"),
        "platform": session_refusal(
            base, "img:1", keys, run(platform_key=gpu(driver="560.35.03").key), 1, "h1"
        ),
        "image": session_refusal(base, "img:1", keys, run(image="img:2"), 1, "h1"),
        "spec": session_refusal(base, "img:1", keys, run(spec_hash="h2"), 1, "h1"),
        "unknown spec": session_refusal(base, "img:1", keys, run(), 1, ""),
        "metrics": session_refusal(
            base, "img:1", keys, run(metric_keys=frozenset({"gemm/gflops_fp32"})), 1, "h1"
        ),
    }
    assert all(refusals.values()), refusals
    assert "3 sessions" in str(refusals["full"])
    assert "Inconclusive" in str(refusals["inconclusive"])
