"""Fault injection for tests and demos: known changes a comparison must detect.

Everything here is off unless its environment variable is set, and every knob is
documented in the workload process contract:

- BENCHGATE_INJECT_SLOWDOWN=0.2   every timed quantity is 20 % larger (the extra time is
                                   spent inside the timed region -- spinning on the CPU,
                                   sleeping on the GPU stream -- so timers measure it; see
                                   `pad_cpu` and `GpuPad` for why it is exactly 20 %)
- BENCHGATE_INJECT_PRECISION=tf32 fp32 matmul inputs are rounded to a 10-bit mantissa,
                                   which is what TF32 tensor cores do to their inputs
- BENCHGATE_INJECT_PERTURB=5      prediction_consistency: one weight of the model (the first
                                   layer's [0, 0]) is increased by 5 after loading, as a
                                   corrupted load or bad memory would; the model file and
                                   its identity are unchanged
- BENCHGATE_INJECT_FAIL=a,b       the named workloads raise `InjectedFailure`
- BENCHGATE_INJECT_GARBAGE=1      the process prints garbage instead of a result document
- BENCHGATE_INJECT_GARBAGE=oversized  it prints a 2 MiB "document" between the markers,
                                   over every bound a reader applies
- BENCHGATE_INJECT_GARBAGE=deep   a document nested 100 000 levels deep (a reader must
                                   refuse it before recursing)
- BENCHGATE_INJECT_GARBAGE=hugenumber  a document whose first sample is a 5000-digit number
- BENCHGATE_INJECT_GARBAGE=constant    a valid document in which every continuous metric's
                                   samples are one constant: it parses, but no baseline
                                   can be made of it (every replicate is identical)

The environment is read on every call (not cached at import) so that tests can change it.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where tensors are touched: the CLI stays light
    import torch

SLOWDOWN_ENV = "BENCHGATE_INJECT_SLOWDOWN"
PRECISION_ENV = "BENCHGATE_INJECT_PRECISION"
FAIL_ENV = "BENCHGATE_INJECT_FAIL"
GARBAGE_ENV = "BENCHGATE_INJECT_GARBAGE"
PERTURB_ENV = "BENCHGATE_INJECT_PERTURB"
ALL_ENV = (SLOWDOWN_ENV, PRECISION_ENV, FAIL_ENV, GARBAGE_ENV, PERTURB_ENV)

PRECISIONS = ("tf32",)


class InjectedFailure(RuntimeError):
    """Raised by a workload named in BENCHGATE_INJECT_FAIL."""


class InjectionConfigError(ValueError):
    """A BENCHGATE_INJECT_* variable holds a value we cannot honour."""


def slowdown() -> float:
    raw = os.environ.get(SLOWDOWN_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise InjectionConfigError(
            f"{SLOWDOWN_ENV}={raw!r} is not a number; use a fraction such as 0.2"
        ) from None
    if not 0.0 <= value <= 10.0:
        raise InjectionConfigError(f"{SLOWDOWN_ENV}={raw!r} must be between 0 and 10")
    return value


def precision() -> str | None:
    raw = os.environ.get(PRECISION_ENV, "").strip().lower()
    if not raw:
        return None
    if raw not in PRECISIONS:
        raise InjectionConfigError(f"{PRECISION_ENV}={raw!r} is not one of {list(PRECISIONS)}")
    return raw


def perturbation() -> float:
    """How much one model weight is moved (0: not at all)."""
    raw = os.environ.get(PERTURB_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise InjectionConfigError(
            f"{PERTURB_ENV}={raw!r} is not a number; use the amount to add, such as 5"
        ) from None
    if not -1e6 <= value <= 1e6:
        raise InjectionConfigError(f"{PERTURB_ENV}={raw!r} must be between -1e6 and 1e6")
    return value


def failing_workloads() -> frozenset[str]:
    raw = os.environ.get(FAIL_ENV, "")
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


OVERSIZED = "oversized"
OVERSIZED_BYTES = 2 * 1024 * 1024
DEEP = "deep"
DEEP_LEVELS = 100_000
HUGE_NUMBER = "hugenumber"
HUGE_NUMBER_DIGITS = 5000
CONSTANT = "constant"
CONSTANT_VALUE = 1.0
GARBAGE_MODES = (OVERSIZED, DEEP, HUGE_NUMBER, CONSTANT)


def garbage() -> str | None:
    """None, "text" (not JSON between the markers) or one of GARBAGE_MODES."""
    raw = os.environ.get(GARBAGE_ENV, "").strip().lower()
    if raw in ("", "0", "false"):
        return None
    return raw if raw in GARBAGE_MODES else "text"


def active() -> dict[str, str]:
    """The injection variables that are set, for the record."""
    return {name: os.environ[name] for name in ALL_ENV if os.environ.get(name)}


def maybe_fail(workload: str) -> None:
    if workload in failing_workloads():
        raise InjectedFailure(f"{FAIL_ENV} names {workload!r}; failing on purpose")


def _spin_until(deadline: float) -> None:
    # Busy-wait rather than sleep: sleep granularity (~50-100 us) would distort the
    # sub-millisecond regions of the tiny size.
    while time.perf_counter() < deadline:
        pass


def pad_cpu(started: float, factor: float) -> None:
    """Stretch a CPU region that began at `started` (perf_counter) to (1 + factor) times
    its length so far. Call it at the region's end, inside the timed interval.

    Exactness: the padding is proportional to the region and nothing else is added -- no
    environment read, no context manager, no clock read per call. Timers that time many
    calls (timing.py's ~2 ms blocks) pad once per block, so the few hundred nanoseconds a
    pad costs are 0.01-0.05 % of the block; an injected 5 % measures 5 %, not 6-7 %
    (which a per-call pad around a 30 us GEMM did).
    """
    if factor > 0.0:
        elapsed = time.perf_counter() - started
        _spin_until(started + elapsed * (1.0 + factor))


class GpuPad:
    """Stretches GPU work by a fraction of its own GPU time, on the GPU stream.

    A CPU-side pad of GPU work (synchronize, then spin) puts the synchronisation and the
    launch gaps inside the timed interval: a fixed cost per call on top of the injected
    fraction. Instead, after the timed work the stream runs `torch.cuda._sleep` for the
    right number of GPU cycles. The reported time is the work's own event interval plus
    the sleep's own event interval, so the host's round trip to learn the work's length
    never counts. The cycles-per-second rate of `_sleep` is calibrated with CUDA events
    when the pad is built and re-measured on every pad (median of the last few), so it
    follows the clock when sustained work lowers it. Not measured on hardware yet (no GPU
    where this was written); tests/workloads/test_injection_size.py checks the CPU path.
    """

    RECENT = 9

    CALIBRATION_CYCLES = 2_000_000

    def __init__(self, device: torch.device, factor: float) -> None:
        import torch

        self.device = device
        self.factor = factor
        self._cycles_per_second = 0.0
        self._rates: list[float] = []
        if factor > 0.0:
            rates = []
            for _ in range(5):
                start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
                end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
                start.record()
                torch.cuda._sleep(self.CALIBRATION_CYCLES)  # type: ignore[no-untyped-call]
                end.record()
                torch.cuda.synchronize(device)
                rates.append(self.CALIBRATION_CYCLES / (start.elapsed_time(end) / 1e3))
            self._rates = rates
            self._cycles_per_second = sorted(rates)[len(rates) // 2]

    @property
    def active(self) -> bool:
        return self.factor > 0.0

    def seconds(self, start: torch.cuda.Event, end: torch.cuda.Event) -> float:
        """The padded duration of the work recorded between `start` and `end`: waits for
        `end`, sleeps the stream for factor x the work's interval, and returns the work's
        interval plus the sleep's own."""
        import torch

        end.synchronize()
        work = float(start.elapsed_time(end)) / 1e3
        if not self.active:
            return work
        pad_start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        pad_end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        pad_start.record()
        cycles = max(1, int(work * self.factor * self._cycles_per_second))
        torch.cuda._sleep(cycles)  # type: ignore[no-untyped-call]
        pad_end.record()
        pad_end.synchronize()
        padded = float(pad_start.elapsed_time(pad_end)) / 1e3
        if padded > 0:
            self._rates = [*self._rates[-(self.RECENT - 1) :], cycles / padded]
            self._cycles_per_second = sorted(self._rates)[len(self._rates) // 2]
        return work + padded


def round_to_tf32(t: torch.Tensor) -> torch.Tensor:
    """Round an fp32 tensor to TF32's 10-bit mantissa (round to nearest, ties to even)."""
    import torch

    bits = t.contiguous().view(torch.int32)
    # 23 - 10 = 13 mantissa bits are dropped; add half an ULP (+ the tie-to-even bit).
    lsb = (bits >> 13) & 1
    rounded = (bits + 0x0FFF + lsb) & ~0x1FFF
    return rounded.view(torch.float32)


def matmul_input(t: torch.Tensor) -> torch.Tensor:
    """What an fp32 matmul input looks like to the hardware under the injected precision."""
    import torch

    if t.dtype == torch.float32 and precision() == "tf32":
        return round_to_tf32(t)
    return t
