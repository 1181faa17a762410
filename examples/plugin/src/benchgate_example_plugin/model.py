"""A real (small) model: train N steps on synthetic data, then predict a fixed input set.

Everything a team's own workload reports, with the builders the built-ins use:
- the training curve (`loss_metrics`: loss at checkpoints, curve windows, final loss),
- speed (`timing` for the step time, `throughput` for samples per second),
- predictions on a fixed, seeded input set (`outputs`), which benchgate compares with
  the baseline's input by input (top-1 agreement, output differences, PSI, KS, ECE).

Training is seeded by the replicate (`ctx.replicate_index`): replicate i of a baseline and
of a candidate train the same model, so their predictions pair up.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from benchgate.api.result import Metric
from benchgate_workloads.api import Context, loss_metrics, outputs, throughput, timing

FEATURES, CLASSES, HIDDEN = 16, 4, 64
TEACHER_SEED, EVAL_SEED = 0, 1234
EVAL_INPUTS = 256


def _teacher(x: torch.Tensor) -> torch.Tensor:
    """The synthetic task: classes from a fixed random projection of the features."""
    g = torch.Generator().manual_seed(TEACHER_SEED)
    w = torch.randn(FEATURES, CLASSES, generator=g)
    return (x @ w).argmax(dim=1)


def run(ctx: Context) -> list[Metric]:
    steps, batch = (60, 64) if ctx.tiny else (600, 256)
    seed = 1000 + ctx.replicate_index
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES)).to(
        ctx.device
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    step_ms: list[float] = []
    for _ in range(steps):
        x = torch.randn(batch, FEATURES, generator=data)
        y = _teacher(x)
        t0 = time.perf_counter()
        loss = nn.functional.cross_entropy(model(x.to(ctx.device)), y.to(ctx.device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step_ms.append((time.perf_counter() - t0) * 1000)
    r = ctx.repetitions
    per_rep = [step_ms[i * len(step_ms) // r : (i + 1) * len(step_ms) // r] for i in range(r)]
    rep_ms = [sum(p) / len(p) for p in per_rep]

    eval_x = torch.randn(EVAL_INPUTS, FEATURES, generator=torch.Generator().manual_seed(EVAL_SEED))
    with torch.inference_mode():
        runs = [model(eval_x.to(ctx.device)).cpu() for _ in range(r)]
    return [
        *loss_metrics(ctx, losses, (1, steps // 2), note=f" (seed {seed})"),
        timing(
            ctx,
            "train_step_ms",
            rep_ms,
            unit="ms",
            direction="lower",
            description="Mean time of one training step (forward, backward, Adam).",
        ),
        throughput(
            ctx,
            "samples_per_s",
            [batch * 1000 / ms for ms in rep_ms],
            unit="samples/s",
            description="Training samples per second.",
        ),
        outputs(
            ctx,
            "outputs",
            runs,
            input_set=f"example-eval/seed-{EVAL_SEED}/{EVAL_INPUTS}x{FEATURES}",
            model=f"example-mlp/{FEATURES}-{HIDDEN}-{CLASSES}/trained-{steps}-steps-per-replicate",
            labels=_teacher(eval_x).tolist(),
            description="Logits of the trained classifier on a fixed evaluation set.",
        ),
    ]
