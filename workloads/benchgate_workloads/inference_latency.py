"""Inference latency: a small transformer answering one request at a time.

Each repetition serves N requests (batch 1) under `torch.inference_mode()` after
warm-up, and reports that window's latency percentiles and throughput.

Metrics: latency_p50_ms, latency_p95_ms, latency_p99_ms (lower; p95/p99 with a wider
20 % tolerance, since tails are noisier), requests_per_s (higher).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from benchgate.api.result import Metric
from benchgate_workloads import timing
from benchgate_workloads.api import Context
from benchgate_workloads.api import timing as timing_metric
from benchgate_workloads.models import TinyGPT

NAME = "inference_latency"
SEED = 3


@dataclass(frozen=True)
class Config:
    vocab: int
    d: int
    layers: int
    heads: int
    seq: int
    requests: int  # per repetition
    warmup: int


TINY = Config(vocab=128, d=64, layers=2, heads=4, seq=32, requests=200, warmup=10)
FULL = Config(vocab=8192, d=512, layers=6, heads=8, seq=256, requests=300, warmup=30)


def _answer(model: TinyGPT, request: torch.Tensor) -> int:
    # A request is answered when its next token is on the host.
    return int(model(request)[:, -1].argmax().item())


def run(ctx: Context) -> list[Metric]:
    cfg = TINY if ctx.tiny else FULL
    torch.manual_seed(SEED)
    model = TinyGPT(cfg.vocab, cfg.d, cfg.layers, cfg.heads, cfg.seq).to(ctx.device).eval()
    gen = torch.Generator().manual_seed(SEED)
    requests = torch.randint(0, cfg.vocab, (cfg.requests, 1, cfg.seq), generator=gen)
    requests = requests.to(ctx.device)
    p50, p95, p99, rps = [], [], [], []
    with torch.inference_mode():
        for i in range(cfg.warmup):
            model(requests[i % cfg.requests])
        timing.synchronize(ctx.device)
        for _ in range(ctx.repetitions):
            timer = timing.StepTimer(ctx.device)
            for i in range(cfg.requests):
                timer.time(functools.partial(_answer, model, requests[i]))
            seconds = timer.seconds()
            p50.append(timing.percentile(seconds, 50) * 1e3)
            p95.append(timing.percentile(seconds, 95) * 1e3)
            p99.append(timing.percentile(seconds, 99) * 1e3)
            rps.append(len(seconds) / sum(seconds))
    what = f"{cfg.layers}-layer d={cfg.d} transformer, batch 1, seq {cfg.seq}"
    return [
        timing_metric(
            ctx,
            "latency_p50_ms",
            p50,
            unit="ms",
            direction="lower",
            description=f"Median request latency ({what}) over {cfg.requests} "
            "requests per repetition.",
        ),
        timing_metric(
            ctx,
            "latency_p95_ms",
            p95,
            unit="ms",
            direction="lower",
            tolerance=0.2,
            description="95th percentile request latency.",
        ),
        timing_metric(
            ctx,
            "latency_p99_ms",
            p99,
            unit="ms",
            direction="lower",
            tolerance=0.2,
            description="99th percentile request latency.",
        ),
        timing_metric(
            ctx,
            "requests_per_s",
            rps,
            unit="requests/s",
            direction="higher",
            description="Requests served per second, one at a time.",
        ),
    ]
