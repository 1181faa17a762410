"""Training dynamics of a small GPT-style transformer on a fixed-seed token stream.

Catches loss-curve shifts from numerics (attention backend, fused optimizers, TF32) and
throughput changes. One training run per process, seeded with SEED + the replicate
index so that replicates sample the seed distribution (and baseline replicate i meets
candidate replicate i on the same seed); the steps after warm-up are split into
R contiguous windows, one repetition each, so timing has R samples while the loss values
(deterministic for a platform) repeat per repetition.

Metrics: step_time_ms (lower), tokens_per_s (higher); loss_at_step_<k>,
loss_curve_steps_<a>_<b> (the mean loss of each quarter of the run) and final_loss
(band, +-10 %); grad_norm_max (band, +-10 %; the largest pre-clip gradient norm);
sdpa_backend (exact: the kernel SDPA picks for the model's attention inputs).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from benchgate.api.result import Metric
from benchgate_workloads import timing
from benchgate_workloads.api import LOSS_TOLERANCE, Context, band, exact, loss_metrics
from benchgate_workloads.api import timing as timing_metric
from benchgate_workloads.models import TinyGPT, token_stream, train

NAME = "train_transformer"
SEED = 11


@dataclass(frozen=True)
class Config:
    vocab: int
    d: int
    layers: int
    heads: int
    seq: int
    batch: int
    steps: int
    warmup: int
    checkpoints: tuple[int, ...]
    lr: float


TINY = Config(
    vocab=128,
    d=64,
    layers=2,
    heads=4,
    seq=32,
    batch=8,
    steps=50,
    warmup=5,
    checkpoints=(10, 25),
    lr=3e-3,
)
FULL = Config(
    vocab=8192,
    d=512,
    layers=6,
    heads=8,
    seq=512,
    batch=16,
    steps=300,
    warmup=20,
    checkpoints=(50, 100, 200),
    lr=6e-4,
)


def _sdpa_backend_name(model: TinyGPT, tokens: torch.Tensor) -> str:
    from torch.nn.attention import SDPBackend

    with torch.no_grad():
        x = model.tok(tokens) + model.pos[: tokens.shape[1]]
        q, k, v = model.blocks[0].attention_inputs(x)  # type: ignore[operator]
        choice = int(torch._fused_sdp_choice(q, k, v, is_causal=True))
    names = {int(member.value): name for name, member in SDPBackend.__members__.items()}
    return names.get(choice, f"unknown({choice})").lower()


def run(ctx: Context) -> list[Metric]:
    cfg = TINY if ctx.tiny else FULL
    if cfg.steps - cfg.warmup < ctx.repetitions:
        raise ValueError(
            f"{cfg.steps - cfg.warmup} timed steps cannot give "
            f"{ctx.repetitions} repetitions; use fewer repetitions"
        )
    seed = SEED + ctx.replicate_index
    torch.manual_seed(seed)
    model = TinyGPT(cfg.vocab, cfg.d, cfg.layers, cfg.heads, cfg.seq).to(ctx.device)
    stream = token_stream(cfg.vocab, cfg.batch, cfg.seq, cfg.steps, seed).to(ctx.device)
    autocast = torch.bfloat16 if ctx.cuda else None
    with torch.autocast(
        ctx.device.type, dtype=autocast or torch.bfloat16, enabled=autocast is not None
    ):
        # Under the same autocast as training, so the choice sees the training dtype.
        backend = _sdpa_backend_name(model, stream[0, :, :-1])

    def batch(i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return stream[i, :, :-1], stream[i, :, 1:]

    def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, cfg.vocab).float(), target.reshape(-1))

    log = train(model, batch, loss_fn, cfg.steps, ctx.device, lr=cfg.lr, autocast_dtype=autocast)
    step_ms = [
        statistics.median(w) * 1e3
        for w in timing.windows(log.step_seconds[cfg.warmup :], ctx.repetitions)
    ]
    tokens = cfg.batch * cfg.seq
    r = ctx.repetitions
    shape = f"{cfg.layers} layers, d={cfg.d}, seq {cfg.seq}, batch {cfg.batch}"
    metrics = [
        timing_metric(
            ctx,
            "step_time_ms",
            step_ms,
            unit="ms",
            direction="lower",
            description=f"Median AdamW step time ({shape}) per window of steps "
            f"after {cfg.warmup} warm-up steps.",
        ),
        timing_metric(
            ctx,
            "tokens_per_s",
            [tokens / (ms / 1e3) for ms in step_ms],
            unit="tokens/s",
            direction="higher",
            description=f"Training tokens per second ({tokens} per step).",
        ),
    ]
    metrics += loss_metrics(
        ctx, log.losses, cfg.checkpoints, note=f" (seed {SEED} + replicate index)"
    )
    metrics += [
        band(
            ctx,
            "grad_norm_max",
            [max(log.grad_norms)] * r,
            unit="1",
            tolerance=LOSS_TOLERANCE,
            description="Largest total gradient norm (before clipping at 1.0).",
        ),
        exact(
            ctx,
            "sdpa_backend",
            backend,
            unit="backend",
            description="The SDPA kernel torch selects for the model's attention inputs.",
        ),
    ]
    return metrics
