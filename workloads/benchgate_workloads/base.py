"""What every workload receives and how it reports: the context and metric builders.

A workload is a function `run(ctx) -> list[Metric]`; the metrics use the shared result
contract (`benchgate.api.result`, one typed model), so a document built here is exactly what
the operator and `benchgate compare` parse. Each metric carries one `ReplicateSamples`
group: this process, with one value per repetition.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from benchgate.api.result import Metric, ReplicateSamples, SampleValue

Size = Literal["tiny", "full"]

# Tolerances shared by metrics of one nature; each metric's description says which.
TIMING_TOLERANCE = 0.10
"""Timing and throughput: a 10 % band. Replicate-to-replicate noise on a shared 2-core
machine is a few percent, and the machine's own speed can drift by as much over a run, so
a regression needs to be well past 10 % to be decided in a few replicates (the tests inject
a 50 % slowdown, -33 % throughput)."""
LOSS_TOLERANCE = 0.10
"""Loss values (band): 10 % either way. Training runs are seeded per replicate (seed =
base + replicate index, the MLPerf RCP idea), so a platform yields a distribution of losses
rather than one number; at tiny size the seed-to-seed spread is ~5 % (relative sd), and a
10 % band is what 5 replicates per side can show. A broken kernel moves loss far more;
subtle numerics shifts are the numerics probe's job."""
MEMORY_TOLERANCE = 0.25
"""Peak memory (band): 25 %; allocator rounding and library workspaces move it."""
ERROR_FACTOR = 2.0
"""Errors against fp64: pass while at most 2x the baseline's error (the dynamo rule for
fp32; bf16/fp16 use 3x)."""


@dataclass(frozen=True)
class Context:
    size: Size
    device: torch.device
    repetitions: int
    replicate: str

    @property
    def replicate_index(self) -> int:
        """For seeds: N for ids like `proc-N`/`pod-N` (replicate N of a baseline and of a
        candidate then train from the same seed; the operator names its Indexed Job pods'
        replicates pod-N), else a stable hash of any other id."""
        match = re.fullmatch(r"[a-z]+-(\d+)", self.replicate)
        if match:
            return int(match.group(1)) % 100_000
        return int(hashlib.sha256(self.replicate.encode()).hexdigest()[:8], 16) % 100_000

    @property
    def tiny(self) -> bool:
        return self.size == "tiny"

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


class Skip(Exception):
    """A case the device cannot run; recorded by the workload, never fatal."""


def _group(ctx: Context, values: Sequence[SampleValue]) -> tuple[ReplicateSamples, ...]:
    return (ReplicateSamples(replicate=ctx.replicate, values=tuple(values)),)


def timing(
    ctx: Context,
    name: str,
    values: Sequence[float],
    *,
    unit: str,
    direction: Literal["higher", "lower"],
    description: str,
    tolerance: float = TIMING_TOLERANCE,
) -> Metric:
    """A noisy, positive quantity (time, throughput): continuous, ratio scale."""
    return Metric(
        name=name,
        unit=unit,
        direction=direction,
        kind="continuous",
        scale="ratio",
        tolerance=tolerance,
        samples=_group(ctx, values),
        description=f"{description} Tolerance {tolerance:.0%} (timing noise on shared hosts).",
    )


def band(
    ctx: Context,
    name: str,
    values: Sequence[float],
    *,
    unit: str,
    description: str,
    tolerance: float,
    scale: Literal["ratio", "linear"] = "linear",
) -> Metric:
    """A quantity that must stay within +-tolerance of the baseline (loss, memory)."""
    return Metric(
        name=name,
        unit=unit,
        direction="band",
        kind="continuous",
        scale=scale,
        tolerance=tolerance,
        samples=_group(ctx, values),
        description=f"{description} Band +-{tolerance:.0%}.",
    )


LOSS_CURVE_WINDOWS = 4


def loss_curve(
    ctx: Context, losses: Sequence[float], *, windows: int = LOSS_CURVE_WINDOWS, note: str = ""
) -> list[Metric]:
    """The whole loss curve, as the mean loss of each of `windows` equal runs of steps.

    Single-step losses (`loss_at_step_k`) are noisy and miss a shift between the
    checkpoints; window means cover every step and are smooth enough to hold a +-10 %
    band, so a curve that bends differently anywhere (a new attention kernel, an
    optimizer fused differently) moves one window. Named by their 1-based, inclusive
    step ranges, which depend on the size only.
    """
    if len(losses) < windows:
        raise ValueError(f"{len(losses)} steps cannot make a {windows}-window loss curve")
    metrics = []
    bounds = [round(i * len(losses) / windows) for i in range(windows + 1)]
    for first, last in itertools.pairwise(bounds):
        mean = sum(losses[first:last]) / (last - first)
        metrics.append(
            band(
                ctx,
                f"loss_curve_steps_{first + 1}_{last}",
                [mean] * ctx.repetitions,
                unit="nats",
                tolerance=LOSS_TOLERANCE,
                description=f"Mean cross-entropy loss over steps {first + 1}-{last} of "
                f"{len(losses)}{note}: one window of the loss curve.",
            )
        )
    return metrics


def loss_metrics(
    ctx: Context, losses: Sequence[float], checkpoints: Sequence[int], *, note: str = ""
) -> list[Metric]:
    """A training run's loss, as both training workloads report it (band +-10 %): the
    loss at each checkpoint step, the loss curve's windows, and the final loss (the mean
    of the last 5 steps). `note` ends each description (how the run was seeded)."""
    r, steps = ctx.repetitions, len(losses)
    metrics = [
        band(
            ctx,
            f"loss_at_step_{k}",
            [losses[k - 1]] * r,
            unit="nats",
            tolerance=LOSS_TOLERANCE,
            description=f"Cross-entropy loss at step {k} of {steps}{note}.",
        )
        for k in checkpoints
    ]
    metrics += loss_curve(ctx, losses, note=note)
    metrics.append(
        band(
            ctx,
            "final_loss",
            [statistics.fmean(losses[-5:])] * r,
            unit="nats",
            tolerance=LOSS_TOLERANCE,
            description=f"Mean cross-entropy loss of the last 5 of {steps} steps{note}.",
        )
    )
    return metrics


def exact(
    ctx: Context, name: str, value: str | bool | int, *, unit: str, description: str
) -> Metric:
    """Must be identical to the baseline (checksum, flag, count that must stay 0)."""
    return Metric(
        name=name,
        unit=unit,
        direction="equal",
        kind="exact",
        scale="linear",
        tolerance=0.0,
        samples=_group(ctx, [value] * ctx.repetitions),
        description=description,
    )


def error(
    ctx: Context,
    name: str,
    value: float,
    *,
    unit: str,
    description: str,
    factor: float = ERROR_FACTOR,
) -> Metric:
    """A numerical error against fp64: the candidate passes at <= factor x baseline."""
    return Metric(
        name=name,
        unit=unit,
        direction="lower",
        kind="error",
        scale="linear",
        tolerance=0.0,
        error_factor=factor,
        samples=_group(ctx, [float(value)] * ctx.repetitions),
        description=f"{description} Passes at <= {factor:g}x the baseline error.",
    )
