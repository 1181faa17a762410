"""Determinism: bitwise repeatability, default-mode drift and a parameter checksum.

Catches new nondeterminism (atomics, algorithm choices), a broken deterministic mode and
cross-process drift on one platform.

- `bitwise_repeatable` (exact): two in-process training runs under
  `torch.use_deterministic_algorithms(True)` end with bit-identical parameters.
- `repeat_max_abs_diff` (error, lower): the largest difference between two runs of
  scatter-add/index-add heavy code in default mode (0 on CPU; atomics on GPU).
- `params_sha256` (exact): SHA-256 of the parameters after the deterministic run. Only
  comparable for the same torch build, thread count (`torch.get_num_threads()`), CPU
  capability (`torch.backends.cpu.get_cpu_capability()`), GPU model and library versions:
  changing the thread count from 1 to 2 changes it.
- `nondeterministic_ops_raised` (exact): how many of a fixed list of ops known to lack a
  deterministic implementation on some devices raise under deterministic mode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from benchgate.api.result import Metric
from benchgate_workloads.api import Context, error, exact

NAME = "determinism"
SEED = 2024


@contextmanager
def _deterministic(enabled: bool) -> Iterator[None]:
    # CUBLAS_WORKSPACE_CONFIG (":4096:8") is the platform's to set, in the Job spec: it is
    # read when cuBLAS starts, so setting it here would be too late and would also make
    # the fingerprint lie. Older torch raises under deterministic mode without it.
    before = torch.are_deterministic_algorithms_enabled()
    before_cudnn = torch.backends.cudnn.deterministic
    torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.deterministic = enabled
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)
        torch.backends.cudnn.deterministic = before_cudnn


class GlobalMean(nn.Module):
    """Global average pooling as a mean: adaptive_avg_pool2d's CUDA backward has no
    deterministic implementation and would raise under deterministic mode."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def _train(ctx: Context) -> bytes:
    torch.manual_seed(SEED)
    channels, image, batch, steps = (8, 16, 8, 10) if ctx.tiny else (64, 64, 64, 50)
    model = nn.Sequential(
        nn.Conv2d(3, channels, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.ReLU(),
        GlobalMean(),
        nn.Linear(channels, 10),
    ).to(ctx.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(SEED)
    x = torch.randn(batch, 3, image, image, generator=gen).to(ctx.device)
    y = torch.randint(0, 10, (batch,), generator=gen).to(ctx.device)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()  # type: ignore[no-untyped-call]
        opt.step()
    digest = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(p.detach().cpu().contiguous().numpy().tobytes())
    return digest.digest()


def _scatter_heavy(ctx: Context) -> torch.Tensor:
    n, bins = (1 << 14, 64) if ctx.tiny else (1 << 24, 1024)
    gen = torch.Generator().manual_seed(SEED)
    values = torch.randn(n, generator=gen).to(ctx.device)
    index = torch.randint(0, bins, (n,), generator=gen).to(ctx.device)
    out = torch.zeros(bins, device=ctx.device).index_add_(0, index, values)
    out2 = torch.zeros(bins, device=ctx.device).scatter_add_(0, index, values)
    return torch.cat([out, out2]).cpu()


def _probes(device: torch.device) -> list[Callable[[], object]]:
    x = torch.randn(4, 8, 8, device=device, requires_grad=True)
    idx = torch.tensor([0, 1, 1, 3], device=device)
    return [
        lambda: (
            nn.functional.interpolate(  # type: ignore[no-untyped-call]
                x[None], scale_factor=2.0, mode="bilinear"
            )
            .sum()
            .backward()
        ),
        lambda: torch.zeros(4, device=device).index_put_(
            (idx,), torch.ones(4, device=device), accumulate=True
        ),
        lambda: torch.bincount(idx),
        lambda: torch.zeros(8, device=device).scatter_reduce_(
            0, idx, torch.ones(4, device=device), reduce="amax"
        ),
        lambda: torch.kthvalue(torch.randn(16, device=device), 3),
    ]


def run(ctx: Context) -> list[Metric]:
    with _deterministic(True):
        first, second = _train(ctx), _train(ctx)
        raised = 0
        for probe in _probes(ctx.device):
            try:
                probe()
            except RuntimeError:
                raised += 1
    with _deterministic(False):
        a, b = _scatter_heavy(ctx), _scatter_heavy(ctx)
    threads = torch.get_num_threads()
    capability = torch.backends.cpu.get_cpu_capability()
    return [
        exact(
            ctx,
            "bitwise_repeatable",
            first == second,
            unit="bool",
            description="Two training runs in one process under deterministic algorithms "
            "end with bit-identical parameters.",
        ),
        # Atomics drift by a varying amount from run to run, so only an order-of-magnitude
        # change counts; 0 -> anything above fp64 noise is always flagged.
        error(
            ctx,
            "repeat_max_abs_diff",
            float((a - b).abs().max()),
            unit="1",
            factor=10.0,
            description="Max |difference| of two default-mode index_add_/scatter_add_ runs "
            "(0 on CPU; atomics make it nonzero on GPUs).",
        ),
        exact(
            ctx,
            "params_sha256",
            first.hex(),
            unit="sha256",
            description="SHA-256 of the parameters after deterministic training; valid only "
            f"for one torch build, thread count ({threads} here), CPU capability "
            f"({capability} here), GPU model and library versions.",
        ),
        exact(
            ctx,
            "nondeterministic_ops_raised",
            raised,
            unit="count",
            description="Ops of a fixed probe list that raise under deterministic mode.",
        ),
    ]
