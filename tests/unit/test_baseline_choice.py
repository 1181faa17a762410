"""Baseline choice: explicit, or closest fingerprint within the same hardware class."""

from __future__ import annotations

from benchgate.api.suite import BaselineSpec, PlatformSpec
from benchgate.domain.baseline import BaselineRecord, choose_baseline
from benchgate.domain.platform import Platform, node_platform


def gpu(product: str = "NVIDIA-H100-80GB-HBM3", driver: str = "550.54.15",
        kernel: str = "6.8.0") -> Platform:
    return node_platform({"nvidia.com/gpu.product": product,
                          "nvidia.com/cuda.driver-version.full": driver},
                         {"kernelVersion": kernel}, PlatformSpec())


def rec(name: str, platform: Platform, created: float = 0.0, suite: str = "s") -> BaselineRecord:
    return BaselineRecord(name=name, suite=suite, platform=platform, created_at=created,
                          configmap=f"{name}-samples")


def test_closest_fingerprint_within_the_hardware_class() -> None:
    run = gpu(driver="560.35.03", kernel="6.8.0")
    baselines = [rec("a100", gpu(product="NVIDIA-A100-SXM4-80GB", driver="560.35.03")),
                 rec("far", gpu(driver="535.1", kernel="6.1.0")),
                 rec("near", gpu(driver="550.54.15", kernel="6.8.0")),
                 rec("other-suite", gpu(driver="560.35.03"), suite="t")]
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
    choice = choose_baseline(BaselineSpec(), "s", gpu(),
                             [rec("a100", gpu(product="NVIDIA-A100-SXM4-80GB"))])
    assert choice.baseline is None and "no baseline for hardware class" in choice.why


def test_explicit_policy_uses_the_named_baseline_or_says_it_is_missing() -> None:
    baselines = [rec("pinned", gpu(product="NVIDIA-A100-SXM4-80GB")), rec("near", gpu())]
    policy = BaselineSpec(policy="Explicit", name="pinned")
    choice = choose_baseline(policy, "s", gpu(), baselines)
    assert choice.baseline is not None and choice.baseline.name == "pinned"
    gone = choose_baseline(BaselineSpec(policy="Explicit", name="deleted"), "s", gpu(), baselines)
    assert gone.baseline is None and "'deleted'" in gone.why
