"""Memory bandwidth: host memory on CPU; device, and both PCIe directions, on GPU.

Catches HBM degradation, PCIe generation/width downgrades, NUMA or affinity changes and
pinned-memory problems.

Byte accounting (stated in each metric): a copy within one memory (`host_copy_gbps`,
`d2d_copy_gbps`) counts bytes read plus bytes written, like STREAM's copy; a transfer
between host and device (`h2d_*`, `d2h_*`) counts the bytes moved once, like nvbandwidth.
GB/s are 1e9 bytes per second.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from benchgate.api.result import Metric
from benchgate_workloads import timing
from benchgate_workloads.api import Context
from benchgate_workloads.api import timing as timing_metric

NAME = "memory_bandwidth"
MiB = 1024 * 1024


def _metric(ctx: Context, name: str, nbytes: int, seconds: list[float], what: str) -> Metric:
    return timing_metric(
        ctx,
        name,
        [nbytes / s / 1e9 for s in seconds],
        unit="GB/s",
        direction="higher",
        description=f"{what}; per repetition the fastest block (CPU) or the median of "
        "CUDA-event samples (GPU).",
    )


def run(ctx: Context) -> list[Metric]:
    plan = timing.plan_for(ctx.size)
    if not ctx.tiny:
        # 1 GiB transfers take tens of ms each; 10 samples per repetition (the median of
        # >= 10, as nvbandwidth-style tools do) keeps the workload near a minute.
        plan = replace(plan, cuda_samples=10)
    size = (64 if ctx.tiny else 1024) * MiB
    if not ctx.cuda:
        src = torch.ones(size // 4, dtype=torch.float32)
        dst = torch.empty_like(src)
        seconds = timing.repeat(lambda: dst.copy_(src), ctx.device, ctx.repetitions, plan)
        return [
            _metric(
                ctx,
                "host_copy_gbps",
                2 * size,
                seconds,
                f"{size // MiB} MiB host tensor copy_, read + write bytes, "
                f"{torch.get_num_threads()} threads",
            )
        ]

    dev = torch.ones(size // 4, dtype=torch.float32, device=ctx.device)
    dev_dst = torch.empty_like(dev)
    pinned = torch.empty(size // 4, dtype=torch.float32, pin_memory=True)
    pageable = torch.empty(size // 4, dtype=torch.float32)
    metrics = []
    cases = [
        (
            "d2d_copy_gbps",
            2 * size,
            lambda: dev_dst.copy_(dev),
            "device-to-device copy_, read + write bytes",
        ),
        (
            "h2d_pinned_gbps",
            size,
            lambda: dev_dst.copy_(pinned, non_blocking=True),
            "host (pinned) to device copy, bytes moved",
        ),
        (
            "d2h_pinned_gbps",
            size,
            lambda: pinned.copy_(dev, non_blocking=True),
            "device to host (pinned) copy, bytes moved",
        ),
        (
            "h2d_pageable_gbps",
            size,
            lambda: dev_dst.copy_(pageable),
            "host (pageable) to device copy, bytes moved",
        ),
        (
            "d2h_pageable_gbps",
            size,
            lambda: pageable.copy_(dev),
            "device to host (pageable) copy, bytes moved",
        ),
    ]
    for name, nbytes, fn, what in cases:
        # 1 GiB copies dwarf any cache, so no L2 flush (it would only add its own traffic).
        seconds = timing.repeat(fn, ctx.device, ctx.repetitions, plan, flush_l2=False)
        metrics.append(_metric(ctx, name, nbytes, seconds, f"{size // MiB} MiB {what}"))
    return metrics
