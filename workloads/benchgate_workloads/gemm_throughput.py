"""GEMM throughput: achieved GFLOP/s per dtype, timed correctly.

Catches clock or power-cap changes, throttling, BLAS performance regressions and MIG
slice changes. CPU: Timer with every intra-op thread (see timing.py). GPU: CUDA events,
warm-up, L2 flush per call; NVML clocks and clock-event reasons are sampled while the
timed region runs, so a slowdown can be attributed to throttling.

Metrics: `gflops_<case>` (GFLOP/s, higher; 2*n^3 flops per call) for fp32, bf16 and fp16
(tiny CPU: 256^2; full: 8192^2 and 4096^2), plus on GPU `gflops_tf32_<n>` with TF32
allowed, `sm_clock_mhz` (median SM clock while timing, higher) and `clock_event_reasons`
(OR of the NVML clock-event bitmask over the samples, minus the idle bit; exact).
"""

from __future__ import annotations

import functools
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from benchgate.api.result import Metric
from benchgate_workloads import injection, nvml, timing
from benchgate_workloads.api import Context, exact
from benchgate_workloads.api import timing as timing_metric

NAME = "gemm_throughput"
SEED = 7
GPU_IDLE_REASON = 0x1  # nvmlClocksEventReasonGpuIdle: set between kernels, not a throttle


@dataclass(frozen=True)
class Case:
    name: str
    dtype: torch.dtype
    n: int
    tf32: bool = False


def _cases(ctx: Context) -> list[Case]:
    if ctx.tiny:
        # fp16 GEMM has no fast CPU kernel (about 3 GFLOP/s here), so it runs smaller.
        n16 = 256 if ctx.cuda else 128
        return [
            Case("fp32", torch.float32, 256),
            Case("bf16", torch.bfloat16, 256),
            Case("fp16", torch.float16, n16),
        ]
    if not ctx.cuda:
        return [Case("fp32", torch.float32, 2048), Case("bf16", torch.bfloat16, 2048)]
    cases = []
    for n in (8192, 4096):
        cases += [
            Case(f"fp32_{n}", torch.float32, n),
            Case(f"tf32_{n}", torch.float32, n, True),
            Case(f"fp16_{n}", torch.float16, n),
        ]
        if torch.cuda.is_bf16_supported():
            cases.append(Case(f"bf16_{n}", torch.bfloat16, n))
    return cases


@contextmanager
def matmul_tf32(enabled: bool) -> Iterator[None]:
    """TF32 on or off for cuBLAS fp32 matmuls, restored afterwards.

    torch >= 2.9 has `fp32_precision` and raises when legacy (`allow_tf32`) and new API
    settings are mixed in one process, so the new API is used wherever it exists.
    """
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        before = matmul.fp32_precision
        matmul.fp32_precision = "tf32" if enabled else "ieee"
        try:
            yield
        finally:
            matmul.fp32_precision = before
        return
    legacy = matmul.allow_tf32
    matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        matmul.allow_tf32 = legacy


@dataclass
class ClockSampler:
    """Samples the SM clock and clock-event reasons on a thread while GEMMs run."""

    nv: nvml.Session
    handle: Any
    period_s: float = 0.05
    clocks: list[int] = field(default_factory=list)
    reasons: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _loop(self) -> None:
        m = self.nv.module
        sm = getattr(m, "NVML_CLOCK_SM", 1)
        while not self._stop.wait(self.period_s):
            clock = self.nv.read(lambda n: n.nvmlDeviceGetClockInfo(self.handle, sm))
            if clock.status == "ok":
                self.clocks.append(int(clock.value))
            mask = self.nv.read(lambda n: n.nvmlDeviceGetCurrentClocksEventReasons(self.handle))
            if mask.status == "ok":
                self.reasons |= int(mask.value) & ~GPU_IDLE_REASON

    @contextmanager
    def running(self) -> Iterator[None]:
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()


def run(ctx: Context) -> list[Metric]:
    torch.manual_seed(SEED)
    plan = timing.plan_for(ctx.size)
    with nvml.session() as nv:
        sampler = None
        if ctx.cuda and nv.ok:
            uuid = str(torch.cuda.get_device_properties(ctx.device).uuid)
            handle = nvml.handle_by_uuid(nv, uuid)
            if handle.status == "ok":
                sampler = ClockSampler(nv, handle.value)
        metrics: list[Metric] = []
        with sampler.running() if sampler else _nothing():
            for case in _cases(ctx):
                a = torch.randn(case.n, case.n, device=ctx.device).to(case.dtype)
                b = torch.randn(case.n, case.n, device=ctx.device).to(case.dtype)
                # The injected precision changes the inputs, never the timed region.
                a, b = injection.matmul_input(a), injection.matmul_input(b)
                out = torch.empty(case.n, case.n, device=ctx.device, dtype=case.dtype)
                with matmul_tf32(case.tf32) if ctx.cuda else _nothing():
                    # GEMMs of this size are compute-bound; an L2 flush would only add noise.
                    gemm = functools.partial(torch.mm, a, b, out=out)
                    seconds = timing.repeat(gemm, ctx.device, ctx.repetitions, plan, flush_l2=False)
                flops = 2.0 * case.n**3
                metrics.append(
                    timing_metric(
                        ctx,
                        f"gflops_{case.name}",
                        [flops / s / 1e9 for s in seconds],
                        unit="GFLOP/s",
                        direction="higher",
                        description=f"{case.n}x{case.n} {case.name} torch.mm, 2n^3 flops per call, "
                        "per repetition the fastest ~2 ms block of calls (CPU) or the median "
                        f"CUDA-event time (GPU), {torch.get_num_threads()} threads.",
                    )
                )
        if sampler is not None:
            if sampler.clocks:
                median_clock = float(statistics.median(sampler.clocks))
                metrics.append(
                    timing_metric(
                        ctx,
                        "sm_clock_mhz",
                        [median_clock] * ctx.repetitions,
                        unit="MHz",
                        direction="higher",
                        description="Median NVML SM clock sampled every 50 ms during the GEMMs.",
                    )
                )
            metrics.append(
                exact(
                    ctx,
                    "clock_event_reasons",
                    sampler.reasons,
                    unit="bitmask",
                    description="OR of nvmlDeviceGetCurrentClocksEventReasons during the GEMMs, "
                    "idle bit cleared; power/thermal throttling sets bits 0x4-0x80.",
                )
            )
    return metrics


@contextmanager
def _nothing() -> Iterator[None]:
    yield
