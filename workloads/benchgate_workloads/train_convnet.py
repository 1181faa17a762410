"""Training a small convnet on fixed-seed synthetic images.

Catches cuDNN algorithm-selection changes, channels_last/AMP performance and step-time
regressions without a data loader in the way. One run per process; steps after warm-up
are split into R windows (one repetition each).

Training is seeded with SEED + the replicate index (see train_transformer).

Metrics: step_time_ms p50 and p90 (lower), images_per_s (higher), loss_at_step_<k>,
loss_curve_steps_<a>_<b> (the mean loss of each quarter of the run) and final_loss
(band, +-10 %).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from benchgate.api.result import Metric
from benchgate_workloads import timing
from benchgate_workloads.api import Context, loss_metrics
from benchgate_workloads.api import timing as timing_metric
from benchgate_workloads.models import ConvNet, train

NAME = "train_convnet"
SEED = 5


@dataclass(frozen=True)
class Config:
    widths: tuple[int, ...]
    batch: int
    image: int
    steps: int
    warmup: int
    checkpoints: tuple[int, ...]
    lr: float


# tiny: 4 conv layers, 16x3x32x32, 50 steps (~0.7 s on 2 cores).
TINY = Config(
    widths=(16, 32), batch=16, image=32, steps=50, warmup=5, checkpoints=(10, 25), lr=3e-3
)
FULL = Config(
    widths=(64, 128, 256, 512),
    batch=128,
    image=224,
    steps=120,
    warmup=20,
    checkpoints=(50, 100),
    lr=1e-3,
)
CLASSES = 10


def run(ctx: Context) -> list[Metric]:
    cfg = TINY if ctx.tiny else FULL
    if cfg.steps - cfg.warmup < ctx.repetitions:
        raise ValueError(
            f"{cfg.steps - cfg.warmup} timed steps cannot give "
            f"{ctx.repetitions} repetitions; use fewer repetitions"
        )
    seed = SEED + ctx.replicate_index  # seed-matched replicates, see train_transformer
    torch.manual_seed(seed)
    model = ConvNet(cfg.widths, CLASSES).to(ctx.device)
    gen = torch.Generator().manual_seed(seed)
    # A few fixed batches reused in turn: the class is decodable from the mean colour.
    n_batches = 8
    labels = torch.randint(0, CLASSES, (n_batches, cfg.batch), generator=gen)
    images = torch.randn(n_batches, cfg.batch, 3, cfg.image, cfg.image, generator=gen) * 0.5
    images += (labels.float() / CLASSES).view(n_batches, cfg.batch, 1, 1, 1)
    images, labels = images.to(ctx.device), labels.to(ctx.device)
    if ctx.cuda:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        images = images.contiguous(memory_format=torch.channels_last)

    def batch(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return images[i % n_batches], labels[i % n_batches]

    log = train(
        model,
        batch,
        lambda out, y: F.cross_entropy(out.float(), y),
        cfg.steps,
        ctx.device,
        lr=cfg.lr,
        autocast_dtype=torch.bfloat16 if ctx.cuda else None,
    )
    windows = timing.windows(log.step_seconds[cfg.warmup :], ctx.repetitions)
    p50 = [statistics.median(w) * 1e3 for w in windows]
    p90 = [timing.percentile(w, 90) * 1e3 for w in windows]
    shape = f"batch {cfg.batch}x3x{cfg.image}x{cfg.image}, {2 * len(cfg.widths)} conv layers"
    metrics = [
        timing_metric(
            ctx,
            "step_time_ms_p50",
            p50,
            unit="ms",
            direction="lower",
            description=f"Median training step time ({shape}) per window of steps "
            f"after {cfg.warmup} warm-up steps.",
        ),
        timing_metric(
            ctx,
            "step_time_ms_p90",
            p90,
            unit="ms",
            direction="lower",
            tolerance=0.2,
            description="90th percentile step time per window.",
        ),
        timing_metric(
            ctx,
            "images_per_s",
            [cfg.batch / (ms / 1e3) for ms in p50],
            unit="images/s",
            direction="higher",
            description="Training images per second at the median step time.",
        ),
    ]
    metrics += loss_metrics(ctx, log.losses, cfg.checkpoints)
    return metrics
