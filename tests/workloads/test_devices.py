"""Per-device replicates: naming, merging, and one slow device as a subset (on CPU: the
GPU path cannot run here, so the devices are CPU devices standing in for GPUs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchgate.api.result import Metric, ResultDocument, RunIdentity, WorkloadResult
from benchgate.domain.verdict import EngineSettings, compare_documents
from benchgate_workloads import devices, registry
from benchgate_workloads.api import Context, timing

CPU = torch.device("cpu")


def test_device_replicates_are_named_after_their_pod_and_device() -> None:
    assert devices.device_replicate("pod-2", 5) == "pod-2/gpu5"
    assert devices.device_replicate("verify-abc12-x7k2p", 0) == "verify-abc12-x7k2p/gpu0"


def test_a_real_workload_on_two_devices_reports_one_group_per_device() -> None:
    ctx = Context("tiny", CPU, 2, "pod-0")
    metrics = devices.run_per_device(registry.get("memory_bandwidth"), ctx, [CPU, CPU])
    assert metrics, "memory_bandwidth reported nothing"
    for m in metrics:
        assert m.replicates == ["pod-0/gpu0", "pod-0/gpu1"], (m.name, m.replicates)
        assert all(len(g.values) == 2 for g in m.samples)


def test_devices_that_disagree_on_a_metric_are_refused_by_name() -> None:
    a = timing(
        Context("tiny", CPU, 1, "p/gpu0"), "t", [1.0], unit="ms", direction="lower", description=""
    )
    b = timing(
        Context("tiny", CPU, 1, "p/gpu1"), "t", [1.0], unit="s", direction="lower", description=""
    )
    with pytest.raises(ValueError, match=r"t\.unit: devices disagree"):
        devices.merge_device_metrics([[a], [b]])


def _node(rng: np.random.Generator, pods: int, slow_gpu: int | None) -> ResultDocument:
    """A node's GEMM throughput, 8 devices per pod, 3 repetitions each."""

    def fake_gemm(ctx: Context) -> list[Metric]:
        factor = 0.75 if ctx.replicate.endswith(f"/gpu{slow_gpu}") else 1.0
        values = 400 * factor * np.exp(rng.normal(0, 0.01, ctx.repetitions))
        return [
            timing(
                ctx, "gflops", values.tolist(), unit="GFLOP/s", direction="higher", description=""
            )
        ]

    groups: list[Metric] = []
    for pod in range(pods):
        ctx = Context("tiny", CPU, 3, f"pod-{pod}")
        groups += devices.run_per_device(fake_gemm, ctx, [CPU] * 8)
    metric = devices.merge_device_metrics([[m] for m in groups])[0]
    workload = WorkloadResult("gemm", "tiny", "ok", 1.0, metrics=(metric,))
    return ResultDocument(run=RunIdentity(suite="s"), workloads=(workload,))


def test_one_slow_device_of_eight_is_a_subset_regression() -> None:
    """Index the devices like CUDA ones (cpu devices have no index: their position)."""
    rng = np.random.default_rng(0)
    base, cand = _node(rng, 1, None), _node(rng, 1, slow_gpu=3)
    m = compare_documents(base, cand, EngineSettings()).metrics[0]
    assert m.verdict == "Regressed", m.reason
    assert m.slow_replicates == ("pod-0/gpu3",), m.reason
    assert "1 of 8 replicates" in m.reason and "slower than the others" in m.reason
