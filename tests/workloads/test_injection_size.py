"""BENCHGATE_INJECT_SLOWDOWN=x makes the timed quantity exactly (1 + x) times larger.

Measured on the timing primitives themselves (timing.repeat's blocks, StepTimer's steps),
with a region of known, steady length -- a 20 us spin, about a tiny bf16 GEMM's time --
so the ratio is not buried in a GEMM's run-to-run noise. A fixed cost per timed call on
top of the proportional pad (what the first implementation had: an environment read, a
context manager and two clock reads per call, ~2-3 us) shows here as a ratio 10-15 points
too high; the tolerance is +-0.5 points of the nominal size.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

from benchgate_workloads import injection, timing

SIZES = (0.05, 0.2, 0.5)
TOLERANCE = 0.005  # +-0.5 points of the nominal slowdown
SHORT = 20e-6


def _spin(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


PLAN = timing.TimingPlan(warmup=2, min_run_time_s=0.05, cuda_samples=1)


def _repeat_seconds() -> float:
    # The fastest of 3 repetitions, each the fastest of >= 10 ~2 ms blocks.
    return min(timing.repeat(lambda: _spin(SHORT), torch.device("cpu"), 3, PLAN))


@pytest.mark.parametrize("size", SIZES)
def test_repeat_measures_the_nominal_slowdown(monkeypatch: pytest.MonkeyPatch, size: float) -> None:
    monkeypatch.delenv(injection.SLOWDOWN_ENV, raising=False)
    plain = _repeat_seconds()
    monkeypatch.setenv(injection.SLOWDOWN_ENV, str(size))
    slowed = _repeat_seconds()
    ratio = slowed / plain
    assert abs(ratio - (1 + size)) <= TOLERANCE, (
        f"BENCHGATE_INJECT_SLOWDOWN={size} measured {ratio - 1:+.2%} on a {SHORT * 1e6:.0f} us "
        f"region (plain {plain * 1e6:.2f} us, slowed {slowed * 1e6:.2f} us)"
    )


def _step_seconds() -> float:
    timer = timing.StepTimer(torch.device("cpu"))
    for _ in range(40):
        timer.time(lambda: _spin(200e-6))
    return float(statistics.median(timer.seconds()))


@pytest.mark.parametrize("size", SIZES)
def test_step_timer_measures_the_nominal_slowdown(
    monkeypatch: pytest.MonkeyPatch, size: float
) -> None:
    monkeypatch.delenv(injection.SLOWDOWN_ENV, raising=False)
    plain = _step_seconds()
    monkeypatch.setenv(injection.SLOWDOWN_ENV, str(size))
    slowed = _step_seconds()
    ratio = slowed / plain
    assert abs(ratio - (1 + size)) <= TOLERANCE, (
        f"BENCHGATE_INJECT_SLOWDOWN={size} measured {ratio - 1:+.2%} per step "
        f"(plain {plain * 1e6:.1f} us, slowed {slowed * 1e6:.1f} us)"
    )


def test_pad_cpu_stretches_a_region_to_at_least_its_nominal_length() -> None:
    # Exactness is the ratio tests' business (a preempted spin can only overshoot).
    started = time.perf_counter()
    _spin(0.01)
    inner = time.perf_counter() - started
    injection.pad_cpu(started, 0.5)
    assert time.perf_counter() - started >= 1.5 * inner
