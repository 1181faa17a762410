"""BENCHGATE_INJECT_SLOWDOWN=x makes the timed quantity exactly (1 + x) times larger.

On a clock the test controls: the timed region costs exactly 20 us (about a tiny bf16
GEMM), and every read of the clock costs 100 ns, as a real clock read with the Python
around it does. A pad proportional to the region and nothing else gives exactly 1 + x; a
fixed cost per timed call on top of it -- what the first implementation had: per call, an
environment read, a context manager, two clock reads and a spin, together 2-3 us of real
time and some of it clock reads here -- shows as a ratio points too high. The tolerance
is +-0.5 points of the nominal size. A wall clock on a shared host measures the same
thing with the neighbours' noise on top (a padded block is longer and gets interrupted
more): bench/injection.py prints those measurements, this test does not depend on them.
"""

from __future__ import annotations

import time

import pytest
import torch

from benchgate_workloads import injection, timing

SIZES = (0.05, 0.2, 0.5)
TOLERANCE = 0.005  # +-0.5 points of the nominal slowdown
REGION = 20e-6
READ = 100e-9


class FakeClock:
    """perf_counter that only moves when read (READ) or when work is done."""

    def __init__(self) -> None:
        self.now = 1000.0

    def read(self) -> float:
        self.now += READ
        return self.now

    def work(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(time, "perf_counter", fake.read)
    return fake


PLAN = timing.TimingPlan(warmup=1, min_run_time_s=0.05, cuda_samples=1)


def _ratio(monkeypatch: pytest.MonkeyPatch, size: float, measure: object) -> tuple[float, float]:
    assert callable(measure)
    monkeypatch.delenv(injection.SLOWDOWN_ENV, raising=False)
    plain = float(measure())
    monkeypatch.setenv(injection.SLOWDOWN_ENV, str(size))
    slowed = float(measure())
    return slowed / plain, plain


@pytest.mark.parametrize("size", SIZES)
def test_repeat_measures_exactly_the_nominal_slowdown(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock, size: float
) -> None:
    def measure() -> float:
        return min(timing.repeat(lambda: clock.work(REGION), torch.device("cpu"), 2, PLAN))

    ratio, plain = _ratio(monkeypatch, size, measure)
    assert plain == pytest.approx(REGION, rel=0.01), "the clock-read cost is ~0 per call"
    assert abs(ratio - (1 + size)) <= TOLERANCE, (
        f"BENCHGATE_INJECT_SLOWDOWN={size} measured {ratio - 1:+.2%} on a 20 us region"
    )


@pytest.mark.parametrize("size", SIZES)
def test_step_timer_measures_exactly_the_nominal_slowdown(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock, size: float
) -> None:
    def measure() -> float:
        timer = timing.StepTimer(torch.device("cpu"))
        for _ in range(10):
            timer.time(lambda: clock.work(200e-6))
        return min(timer.seconds())

    ratio, _ = _ratio(monkeypatch, size, measure)
    assert abs(ratio - (1 + size)) <= TOLERANCE, (
        f"BENCHGATE_INJECT_SLOWDOWN={size} measured {ratio - 1:+.2%} per step"
    )


def test_a_fixed_cost_per_call_would_fail_this_test(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """The check itself: padding every call the way the first implementation did (its
    clock reads around each call, its spin) measures 5 % as over 5.5 % and is caught."""

    def padded_per_call() -> None:
        started = time.perf_counter()
        clock.work(REGION)
        elapsed = time.perf_counter() - started
        injection._spin_until(started + elapsed * 1.05)

    monkeypatch.delenv(injection.SLOWDOWN_ENV, raising=False)  # no per-block pad
    plain = min(timing.repeat(lambda: clock.work(REGION), torch.device("cpu"), 2, PLAN))
    per_call = min(timing.repeat(padded_per_call, torch.device("cpu"), 2, PLAN))
    ratio = per_call / plain
    assert ratio - 1.05 > TOLERANCE, f"a per-call pad measured {ratio - 1:+.2%}: not caught"


def test_pad_cpu_stretches_a_region_to_its_nominal_length(clock: FakeClock) -> None:
    started = time.perf_counter()
    clock.work(0.01)
    injection.pad_cpu(started, 0.5)
    total = time.perf_counter() - started
    assert total == pytest.approx(0.015, abs=1e-6)
