"""The collectives workload on CPU (gloo, 2 rank processes): metrics, the bus-bandwidth
formula, the wrong-value count, and rank processes that fail or hang."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch
from workload_helpers import document_from_stdout, workload_process

from benchgate.api.result import ResultDocument
from benchgate_workloads import collectives
from benchgate_workloads.collectives import (
    CollectiveError,
    bus_bandwidth,
    count_wrong,
    modulus,
    pattern,
)

REPETITIONS = 2
REPLICATE = "proc-3"
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def doc() -> ResultDocument:
    proc = workload_process(
        [
            "run",
            "--size",
            "tiny",
            "--replicate",
            REPLICATE,
            "--device",
            "cpu",
            "--repetitions",
            str(REPETITIONS),
            "--workload",
            "collectives",
        ]
    )
    return document_from_stdout(proc)


def test_runs_on_cpu_with_gloo_and_reports_every_metric(doc: ResultDocument) -> None:
    w = doc.workload("collectives")
    assert w is not None and w.status == "ok", w.error if w else doc
    values = {m.name: m.values for m in w.metrics}
    assert values["world_size"] == [2] * REPETITIONS
    assert values["backend"] == ["gloo"] * REPETITIONS
    assert values["wrong_values"] == [0] * REPETITIONS
    busbw = {m.name: m for m in w.metrics if m.name.startswith("busbw_gbps_")}
    assert set(busbw) == {
        f"busbw_gbps_{d}_{s}" for d in ("fp32", "bf16") for s in ("256kib", "4mib")
    }
    for name, m in busbw.items():
        assert (m.unit, m.direction, m.kind) == ("GB/s", "higher", "continuous"), name
        assert m.replicates == [REPLICATE]
        assert len(m.values) == REPETITIONS, f"{name}: one value per repetition"
        assert all(isinstance(v, float) and v > 0 for v in m.values), (name, m.values)
        assert "2(n-1)/n" in m.description and "slowest rank" in m.description


def test_bus_bandwidth_is_the_nccl_tests_all_reduce_formula() -> None:
    # algbw = S/t; busbw = algbw x 2(n-1)/n: x1 for 2 ranks, x1.5 for 4, x1.75 for 8.
    assert bus_bandwidth(10**9, 1.0, 2) == pytest.approx(1.0)
    assert bus_bandwidth(10**9, 0.5, 4) == pytest.approx(3.0)
    # 256 MiB in 2 ms: algbw 134.217728 GB/s, over 8 ranks busbw 234.881024 GB/s.
    assert bus_bandwidth(256 * 2**20, 0.002, 8) == pytest.approx(234.881024)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("world", [2, 8])
def test_the_check_pattern_sums_exactly_and_corruption_is_counted(
    dtype: torch.dtype, world: int
) -> None:
    numel, m = 10_000, modulus(dtype, world)
    expected = sum(
        (pattern(numel, r, m, CPU) for r in range(world)), torch.zeros(numel, dtype=torch.int32)
    )
    # Any reduction order is exact: here rank by rank in the dtype itself.
    result = torch.zeros(numel, dtype=dtype)
    for r in reversed(range(world)):
        result += pattern(numel, r, m, CPU).to(dtype)
    assert count_wrong(result, expected) == 0
    assert int(pattern(numel, 0, m, CPU).ne(pattern(numel, 1, m, CPU)).sum()) == numel, (
        "the ranks' inputs must differ everywhere, so a rank's data lost shows everywhere"
    )
    result[[3, 500, 9_999]] += 1
    result[42] = float("nan")
    assert count_wrong(result, expected) == 4


def _children() -> list[int]:
    """Live processes started by this one that run a collectives rank."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and collectives.CHILD_MODULE.encode() in cmdline:
            found.append(int(stat.parent.name))
    return found


LAUNCH: dict[str, Any] = dict(
    device="cpu", world=2, sizes=[4096], dtypes=["fp32"], warmup=1, samples=2, repetitions=1
)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_failing_rank_surfaces_its_own_error_and_no_rank_is_left() -> None:
    # A real failure, not a fake: backend nccl cannot all-reduce CPU tensors (and a CPU
    # build of torch has no NCCL at all).
    with pytest.raises(CollectiveError, match=r"rank \d of 2 \(nccl\) exited with 1: .*Error"):
        collectives.launch(backend="nccl", timeout_s=60, **LAUNCH)
    assert _children() == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ranks_past_the_timeout_are_killed() -> None:
    # Starting Python and importing torch alone takes longer than 0.2 s.
    with pytest.raises(CollectiveError, match=r"did not finish in 0.2s and were killed"):
        collectives.launch(backend="gloo", timeout_s=0.2, **LAUNCH)
    assert _children() == []
