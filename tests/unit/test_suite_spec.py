"""The operator sections of a RegressionSuite parse strictly and name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchgate.api.suite import SuiteSpecError, load_suite_file, parse_suite

ROOT = Path(__file__).resolve().parents[2]


def manifest(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "benchgate.dev/v1alpha1",
        "kind": "RegressionSuite",
        "metadata": {"name": "s", "namespace": "ns"},
        "spec": {"image": "img:1", "workloads": [{"name": "gemm_throughput"}], **spec},
    }


def test_defaults_when_sections_are_absent() -> None:
    op = parse_suite(manifest()).operator
    assert op.triggers.new_platform and op.triggers.period_seconds == 0
    assert op.baseline.policy == "ClosestFingerprint" and op.baseline.auto_promote_first
    assert op.job_template.security.run_as_non_root
    assert op.job_template.security.read_only_root_filesystem
    assert (op.nodes_per_platform, op.concurrency, op.timeout_seconds, op.history_limit) == (
        1,
        2,
        1800,
        10,
    )
    assert op.platform.settle_seconds == 30


def test_samples_parse() -> None:
    cpu = load_suite_file(ROOT / "crds/samples/cpu-suite.yaml")
    assert cpu.size == "tiny" and cpu.operator.node_selector == {"kubernetes.io/os": "linux"}
    gpu = load_suite_file(ROOT / "crds/samples/gpu-pool-suite.yaml")
    assert gpu.operator.job_template.runtime_class_name == "nvidia"
    assert gpu.operator.job_template.tolerations[0]["key"] == "nvidia.com/gpu"


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"baseline": {"policy": "Explicit"}}, "spec.baseline.name"),
        ({"baseline": {"policy": "Newest"}}, "spec.baseline.policy"),
        ({"triggers": {"periodSeconds": 10}}, "spec.triggers.periodSeconds"),
        ({"triggers": {"newPlatform": "yes"}}, "spec.triggers.newPlatform"),
        ({"concurrency": 0}, "spec.concurrency"),
        ({"timeoutSeconds": 1.5}, "spec.timeoutSeconds"),
        ({"platform": {"nodeInfoFields": ["kernel"]}}, "spec.platform.nodeInfoFields[0]"),
        ({"jobTemplate": {"env": [{"name": "1BAD"}]}}, "spec.jobTemplate.env[0].name"),
        (
            {"jobTemplate": {"resources": {"limits": {"cpu": 0.5}}}},
            "spec.jobTemplate.resources.limits.cpu",
        ),
        (
            {"jobTemplate": {"securityContext": {"privileged": True}}},
            "spec.jobTemplate.securityContext.privileged",
        ),
        ({"gating": {"enabled": "yes"}}, "spec.gating.enabled"),
        ({"gating": {"enabled": True, "taintKey": "not a key"}}, "spec.gating.taintKey"),
        ({"gating": {"enabled": True, "effect": "NoExecute"}}, "spec.gating.effect"),
        ({"nodeSelector": {"gpu": True}}, "spec.nodeSelector.gpu"),
    ],
)
def test_bad_operator_sections_name_the_field(spec: dict[str, Any], path: str) -> None:
    with pytest.raises(SuiteSpecError) as err:
        parse_suite(manifest(**spec))
    assert err.value.path == path, f"expected the error to name {path}, got {err.value}"


def test_gating_defaults_and_settings() -> None:
    off = parse_suite(manifest()).operator.gating
    assert (off.enabled, off.taint_key, off.effect) == (
        False,
        "benchgate.dev/unverified",
        "NoSchedule",
    )
    on = parse_suite(
        manifest(
            gating={
                "enabled": True,
                "taintKey": "example.com/gpu-check",
                "effect": "PreferNoSchedule",
            }
        )
    ).operator.gating
    assert (on.enabled, on.taint_key, on.effect) == (
        True,
        "example.com/gpu-check",
        "PreferNoSchedule",
    )
