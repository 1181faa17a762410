"""Small synthetic-data models and the training loop the training workloads share.

Fixed seeds, synthetic data, no downloads. The GPT-style model attends through
`F.scaled_dot_product_attention`, so SDPA backend changes reach the loss curve.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from benchgate_workloads.timing import StepTimer


class Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def attention_inputs(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        return tuple(t.view(b, s, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        q, k, v = self.attention_inputs(x)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(att.transpose(1, 2).reshape(b, s, d))
        out: torch.Tensor = x + self.mlp(self.ln2(x))
        return out


class TinyGPT(nn.Module):
    def __init__(self, vocab: int, d: int, layers: int, heads: int, seq: int) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(seq, d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.tok(tokens) + self.pos[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x)
        out: torch.Tensor = self.head(self.ln(x))
        return out


class ConvNet(nn.Module):
    """Conv-BN-ReLU stages with stride-2 downsampling; `widths` sets depth and width."""

    def __init__(self, widths: tuple[int, ...], classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for i, c in enumerate(widths):
            layers += [
                nn.Conv2d(c_in, c, 3, stride=1 if i == 0 else 2, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
                nn.Conv2d(c, c, 3, padding=1, bias=False),
                nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
            ]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(x).mean(dim=(2, 3)))
        return out


def token_stream(vocab: int, batch: int, seq: int, steps: int, seed: int) -> torch.Tensor:
    """A learnable synthetic stream: a noisy affine recurrence mod vocab (fixed seed)."""
    gen = torch.Generator().manual_seed(seed)
    start = torch.randint(0, vocab, (steps, batch, 1), generator=gen)
    ramp = torch.arange(seq + 1).view(1, 1, -1)
    noise = (torch.rand(steps, batch, seq + 1, generator=gen) < 0.1).long()
    return (start + 7 * ramp + noise * torch.randint(0, vocab, (1,), generator=gen)) % vocab


@dataclass
class TrainLog:
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)


def train(
    model: nn.Module,
    batches: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    steps: int,
    device: torch.device,
    *,
    lr: float,
    autocast_dtype: torch.dtype | None = None,
) -> TrainLog:
    """AdamW with grad-norm clipping at 1.0; every step timed on its own."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    timer = StepTimer(device)
    log = TrainLog()
    losses: list[torch.Tensor] = []
    norms: list[torch.Tensor] = []

    def step(i: int) -> None:
        x, y = batches(i)
        opt.zero_grad(set_to_none=True)
        ctx = torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype else nullcontext()
        with ctx:
            loss = loss_fn(model(x), y)
        loss.backward()  # type: ignore[no-untyped-call]
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).detach())
        opt.step()
        losses.append(loss.detach())

    for i in range(steps):
        timer.time(functools.partial(step, i))
    # Read values back only at the end: a .item() per step would add a sync to every step.
    log.losses = [float(v) for v in torch.stack(losses).float().cpu()]
    log.grad_norms = [float(v) for v in torch.stack(norms).float().cpu()]
    log.step_seconds = timer.seconds()
    if not all(math.isfinite(v) for v in log.losses):
        raise FloatingPointError(f"training diverged: non-finite loss in {log.losses[-5:]}")
    return log
