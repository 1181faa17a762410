"""Injection, timing and ULP helpers: the pieces the workloads' numbers rest on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchgate_workloads import injection, numerics_probe, timing
from benchgate_workloads.api import Context


def test_tf32_rounding_keeps_ten_mantissa_bits_and_rounds_to_nearest() -> None:
    x = torch.randn(10_000, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    r = injection.round_to_tf32(x)
    assert int((r.view(torch.int32) & 0x1FFF).abs().sum()) == 0, "low 13 bits must be zero"
    # Nearest: the error is at most half a TF32 ulp (2^-11 relative).
    rel = ((r.double() - x.double()).abs() / x.double().abs()).max()
    assert float(rel) <= 2.0**-11
    exact = torch.tensor([1.0, 1.0 + 2.0**-10, -3.5], dtype=torch.float32)
    assert torch.equal(injection.round_to_tf32(exact), exact)


def test_precision_injection_touches_only_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(64, generator=torch.Generator().manual_seed(1))
    assert injection.matmul_input(x) is x
    monkeypatch.setenv(injection.PRECISION_ENV, "tf32")
    assert not torch.equal(injection.matmul_input(x), x)
    half = x.half()
    assert injection.matmul_input(half) is half


def test_bad_injection_values_are_refused_with_the_variable_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(injection.SLOWDOWN_ENV, "fast")
    with pytest.raises(injection.InjectionConfigError, match="BENCHGATE_INJECT_SLOWDOWN"):
        injection.slowdown()
    monkeypatch.setenv(injection.PRECISION_ENV, "fp8")
    with pytest.raises(injection.InjectionConfigError, match="BENCHGATE_INJECT_PRECISION"):
        injection.precision()


def test_fail_injection_names_workloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(injection.FAIL_ENV, "gemm_throughput, determinism")
    injection.maybe_fail("numerics_probe")
    with pytest.raises(injection.InjectedFailure, match="determinism"):
        injection.maybe_fail("determinism")


def test_ulp_distance_counts_representable_floats_across_zero() -> None:
    values = np.array(
        [
            0.0,
            np.nextafter(np.float32(0), np.float32(1)),
            np.nextafter(np.float32(0), np.float32(-1)),
            1.0,
            np.nextafter(np.float32(1), np.float32(2)),
        ],
        dtype=np.float32,
    )
    bits = numerics_probe._ordered_bits(torch.from_numpy(values)).tolist()
    assert bits[1] - bits[0] == 1
    assert bits[0] - bits[2] == 1, "the smallest negative float is one ULP below zero"
    assert bits[4] - bits[3] == 1
    minus_zero = numerics_probe._ordered_bits(torch.tensor([-0.0]))
    assert int(minus_zero[0]) == 0


def test_windows_and_percentiles() -> None:
    assert timing.windows([1.0, 2, 3, 4, 5, 6, 7], 3) == [[1.0, 2], [3, 4], [5, 6]]
    with pytest.raises(ValueError, match="cannot split"):
        timing.windows([1.0], 2)
    assert timing.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert timing.percentile([5.0], 99) == 5.0


def test_cpu_timer_uses_every_intra_op_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, int] = {}
    real = timing.Timer

    def spy(*args: object, **kwargs: object) -> object:
        seen["num_threads"] = int(kwargs["num_threads"])  # type: ignore[call-overload]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(timing, "Timer", spy)
    values = timing.repeat(lambda: torch.ones(8).sum(), torch.device("cpu"), 2, timing.TINY)
    assert len(values) == 2 and all(v > 0 for v in values)
    assert seen["num_threads"] == torch.get_num_threads()


def test_replicate_index_matches_seeds_across_pods_and_processes() -> None:
    def ctx(replicate: str) -> Context:
        return Context("tiny", torch.device("cpu"), 1, replicate)

    assert ctx("proc-3").replicate_index == ctx("pod-3").replicate_index == 3
    assert ctx("worker").replicate_index == ctx("worker").replicate_index


def test_other_replicate_ids_get_distinct_hashed_seeds() -> None:
    def index(replicate: str) -> int:
        return Context("tiny", torch.device("cpu"), 1, replicate).replicate_index

    pods = [f"verify-h100-7f9c-{suffix}" for suffix in ("xk2j3", "ab7q3", "zz1m3")]
    assert len({index(p) for p in pods}) == 3, "pods ending in the same digit share a seed"


def test_an_indexed_job_pod_is_replicate_offset_plus_its_completion_index(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In the operator's Indexed Jobs a pod learns its replicate from Kubernetes'
    JOB_COMPLETION_INDEX, so replicate i (and its training seed) is the same in every run."""
    from benchgate.api.result import extract_from_log
    from benchgate_workloads import entrypoint

    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    argv = ["run", "--replicate-from-index", "2", "--repetitions", "1"]
    assert entrypoint.main([*argv, "--workload", "memory_behaviour"]) == 0
    doc = extract_from_log(capsys.readouterr().out)
    assert doc.run.replicate == "pod-3"
    (metric, *_) = doc.workloads[0].metrics
    assert metric.samples[0].replicate == "pod-3"
    assert Context("tiny", torch.device("cpu"), 1, "pod-3").replicate_index == 3

    monkeypatch.delenv("JOB_COMPLETION_INDEX")
    with pytest.raises(SystemExit) as usage:
        entrypoint.main(argv)
    assert usage.value.code == 2
    assert "JOB_COMPLETION_INDEX" in capsys.readouterr().err, "the error names the variable"


def test_a_workload_that_does_not_apply_is_skipped_not_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """collectives raises Skip on a one-GPU node; this CPU machine never does, so a stand-in
    workload raises it here. The document says skipped, with the reason, and the run's
    other workloads still report."""
    from benchgate.api.result import extract_from_log
    from benchgate_workloads import entrypoint, registry
    from benchgate_workloads.api import Skip

    real_get = registry.get

    def not_here(ctx: Context) -> list[object]:
        raise Skip("collectives needs >= 2 GPUs; this node has 1")

    monkeypatch.setattr(
        registry, "get", lambda name: not_here if name == "collectives" else real_get(name)
    )
    code = entrypoint.main(
        [
            "run",
            "--size",
            "tiny",
            "--repetitions",
            "1",
            "--workload",
            "collectives",
            "--workload",
            "memory_behaviour",
        ]
    )
    assert code == 0
    doc = extract_from_log(capsys.readouterr().out)
    by_name = {w.name: w for w in doc.workloads}
    assert by_name["collectives"].status == "skipped"
    assert by_name["collectives"].error is not None
    assert "2 GPUs" in by_name["collectives"].error.message
    assert by_name["memory_behaviour"].status == "ok"
    assert not doc.errors, "a skip is not an error of the run"
