"""Memory behaviour: what a short training run costs in memory, and allocator health.

Catches allocator or driver changes, ECC/MIG changes to usable memory, fragmentation and
leaks. Runs a short transformer training (a few steps of the train_transformer model).

GPU: peak_allocated_bytes, peak_reserved_bytes after `reset_peak_memory_stats()` (exact:
with a fixed seed and shapes the caching allocator is deterministic, so one platform gives
one value and a change means the allocator, a library workspace or the memory plan
changed); alloc_retries and ooms (exact, must stay 0);
total_mem_bytes (exact, `mem_get_info()[1]`). Both: host_maxrss_kib (band +-25 %,
`ru_maxrss` of this process, a high-water mark that includes earlier workloads in the
same process).
"""

from __future__ import annotations

import resource

import torch
import torch.nn.functional as F

from benchgate.api.result import Metric
from benchgate_workloads.api import MEMORY_TOLERANCE, Context, band, exact
from benchgate_workloads.models import TinyGPT, token_stream, train
from benchgate_workloads.train_transformer import FULL, SEED, TINY

NAME = "memory_behaviour"
STEPS = 5


def run(ctx: Context) -> list[Metric]:
    cfg = TINY if ctx.tiny else FULL
    if ctx.cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(ctx.device)
    torch.manual_seed(SEED)
    model = TinyGPT(cfg.vocab, cfg.d, cfg.layers, cfg.heads, cfg.seq).to(ctx.device)
    stream = token_stream(cfg.vocab, cfg.batch, cfg.seq, STEPS, SEED).to(ctx.device)
    train(
        model,
        lambda i: (stream[i, :, :-1], stream[i, :, 1:]),
        lambda logits, y: F.cross_entropy(logits.reshape(-1, cfg.vocab).float(), y.reshape(-1)),
        STEPS,
        ctx.device,
        lr=cfg.lr,
        autocast_dtype=torch.bfloat16 if ctx.cuda else None,
    )
    r = ctx.repetitions
    metrics: list[Metric] = []
    what = f"{STEPS} training steps of the train_transformer model"
    if ctx.cuda:
        stats = torch.cuda.memory_stats(ctx.device)
        metrics += [
            exact(
                ctx,
                "peak_allocated_bytes",
                int(torch.cuda.max_memory_allocated(ctx.device)),
                unit="bytes",
                description=f"torch.cuda.max_memory_allocated over {what}.",
            ),
            exact(
                ctx,
                "peak_reserved_bytes",
                int(torch.cuda.max_memory_reserved(ctx.device)),
                unit="bytes",
                description=f"torch.cuda.max_memory_reserved over {what}.",
            ),
            exact(
                ctx,
                "alloc_retries",
                int(stats.get("num_alloc_retries", 0)),
                unit="count",
                description="Caching-allocator retries (cudaMalloc failed, cache flushed).",
            ),
            exact(
                ctx,
                "ooms",
                int(stats.get("num_ooms", 0)),
                unit="count",
                description="Out-of-memory errors seen by the caching allocator.",
            ),
            exact(
                ctx,
                "total_mem_bytes",
                int(torch.cuda.mem_get_info(ctx.device)[1]),
                unit="bytes",
                description="Usable device memory (mem_get_info total).",
            ),
        ]
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    metrics.append(
        band(
            ctx,
            "host_maxrss_kib",
            [float(maxrss_kib)] * r,
            unit="KiB",
            tolerance=MEMORY_TOLERANCE,
            scale="ratio",
            description="Peak resident set size of the workload process "
            "(includes workloads that ran before in the same process).",
        )
    )
    return metrics
