"""GPU paths: CUDA-event timing, NVML sampling, d2d/h2d/d2h bandwidth, GPU memory stats.

Skipped without CUDA. On a GPU node run `pytest -m gpu tests/workloads/test_gpu.py`.
"""

from __future__ import annotations

import pytest
import torch

from benchgate_workloads import fingerprint, registry
from benchgate_workloads.api import Context, Skip

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture(scope="module")
def ctx() -> Context:
    return Context("tiny", torch.device("cuda", 0), 3, "proc-0")


@pytest.mark.parametrize("name", registry.names())
def test_every_workload_runs_on_the_gpu(ctx: Context, name: str) -> None:
    try:
        metrics = registry.get(name)(ctx)
    except Skip as exc:  # collectives on a one-GPU node
        pytest.skip(str(exc))
    assert metrics, f"{name} reported nothing on CUDA"
    for m in metrics:
        assert len(m.values) == ctx.repetitions, f"{name}/{m.name}"


def test_numerics_probe_sees_tf32_when_it_is_forced(ctx: Context) -> None:
    from benchgate_workloads import numerics_probe
    from benchgate_workloads.gemm_throughput import matmul_tf32

    with matmul_tf32(False):
        off = {m.name: m.values[0] for m in numerics_probe.run(ctx)}
    with matmul_tf32(True):
        on = {m.name: m.values[0] for m in numerics_probe.run(ctx)}
    assert off["tf32_effective"] is False
    if torch.cuda.get_device_capability(0) >= (8, 0):
        assert on["tf32_effective"] is True
        assert on["matmul_fp32_sha256"] != off["matmul_fp32_sha256"]


def test_memory_bandwidth_reports_all_copy_directions(ctx: Context) -> None:
    from benchgate_workloads import memory_bandwidth

    names = {m.name for m in memory_bandwidth.run(ctx)}
    assert names == {
        "d2d_copy_gbps",
        "h2d_pinned_gbps",
        "d2h_pinned_gbps",
        "h2d_pageable_gbps",
        "d2h_pageable_gbps",
    }


def test_memory_behaviour_reports_allocator_health(ctx: Context) -> None:
    from benchgate_workloads import memory_behaviour

    values = {m.name: m.values[0] for m in memory_behaviour.run(ctx)}
    assert values["ooms"] == 0 and values["alloc_retries"] == 0
    assert 0 < int(values["peak_allocated_bytes"]) <= int(values["peak_reserved_bytes"])
    assert int(values["total_mem_bytes"]) > 0


def test_fingerprint_joins_torch_and_nvml(ctx: Context) -> None:
    fp = fingerprint.collect()
    assert "gpu.0" in fp
    g = fp["gpu.0"]
    assert g["name"].status == "ok"
    if fp["driver"]["driver_version"].status == "ok":
        assert g["nvml_name"].status == "ok", "NVML works but the UUID join failed"
        assert g["nvml_name"].value == g["name"].value
