"""The workload API (version 1): what a workload receives and how it reports.

This is the one public, versioned surface for writing a workload, inside this package
(the built-ins use exactly these builders) and outside it (plugins, docs/plugins.md):

- `WorkloadDef`: a workload's declaration (name, metric-name patterns, where its `run`
  function lives). A plugin package exposes one through the `benchgate.workloads`
  entry-point group; the module that defines it must import neither torch nor the
  model, so that `benchgate-workload list` and `--help` stay fast.
- `Context`: what `run(ctx)` receives (size, device, repetitions, replicate id, seed).
- Metric builders: `timing`, `throughput`, `band`, `memory`, `loss_curve`,
  `loss_metrics`, `exact`, `error`, `outputs` (prediction consistency). Each returns a
  `Metric` of the shared result contract (`benchgate.api.result`, one typed model), so a
  document built here is exactly what the operator and `benchgate compare` parse. Each
  metric carries one `ReplicateSamples` group: this process, with one value per
  repetition.
- `Skip`: raise it when the workload does not apply on this device.

Compatibility: `API_VERSION` changes only when a name here is removed or changes
meaning; adding a builder or an optional argument does not change it. A plugin declares
the version it was written for (`WorkloadDef.api_version`) and the registry refuses, as
a per-workload error, one it cannot honour.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from benchgate.api.result import Metric, ReplicateSamples, SampleValue

if TYPE_CHECKING:  # torch is imported by workloads when they run, never by declarations
    import torch

API_VERSION: Final = 1
SUPPORTED_API_VERSIONS: Final = frozenset({1})

# The public API (docs/plugins.md documents each name; a test keeps them in step).
__all__ = [
    "API_VERSION",
    "ERROR_FACTOR",
    "FLIP_TOLERANCE",
    "LOSS_CURVE_WINDOWS",
    "LOSS_TOLERANCE",
    "MEMORY_TOLERANCE",
    "SUPPORTED_API_VERSIONS",
    "TIMING_TOLERANCE",
    "Context",
    "Skip",
    "WorkloadDef",
    "band",
    "error",
    "exact",
    "loss_curve",
    "loss_metrics",
    "memory",
    "outputs",
    "throughput",
    "timing",
]

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
class WorkloadDef:
    """A workload's declaration: what the registry, the catalog and `list` read.

    `run` is "module:function" and is imported only when the workload runs; the function
    takes a `Context` and returns a list of `Metric`. `metrics` are regular expressions
    (matched whole) of every metric name the workload can report; the catalog uses them
    to check a suite's per-metric overrides, and the runner refuses a reported metric
    that matches none (a renamed metric must not slip past its override).
    """

    name: str
    run: str
    metrics: tuple[str, ...]
    description: str = ""
    api_version: int = API_VERSION

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", self.name):
            raise ValueError(
                f"workload name {self.name!r} must match [a-z][a-z0-9_]{{0,62}} "
                "(the suite's spec.workloads[].name pattern)"
            )
        module, _, function = self.run.partition(":")
        if not module or not function:
            raise ValueError(f"{self.name}: run must be 'module:function', got {self.run!r}")
        if not self.metrics:
            raise ValueError(f"{self.name}: declare at least one metric-name pattern")
        for pattern in self.metrics:
            re.compile(pattern)

    def reports(self, metric: str) -> bool:
        return any(re.fullmatch(p, metric) for p in self.metrics)


@dataclass(frozen=True)
class Context:
    size: Size
    device: torch.device
    repetitions: int
    replicate: str
    # Settings a workload reads from the suite (the prediction workload's model path);
    # key -> string value. Empty for most workloads.
    options: tuple[tuple[str, str], ...] = field(default=())

    def option(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.options if k == key), default)

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


def throughput(
    ctx: Context,
    name: str,
    values: Sequence[float],
    *,
    unit: str,
    description: str,
    tolerance: float = TIMING_TOLERANCE,
) -> Metric:
    """Work per unit of time (images/s, GB/s): a timing metric where higher is better."""
    return timing(
        ctx,
        name,
        values,
        unit=unit,
        direction="higher",
        description=description,
        tolerance=tolerance,
    )


def memory(
    ctx: Context,
    name: str,
    values: Sequence[float],
    *,
    unit: str = "bytes",
    description: str,
    tolerance: float = MEMORY_TOLERANCE,
) -> Metric:
    """Peak memory (bytes, KiB): a positive quantity that must stay within a band."""
    return band(
        ctx, name, values, unit=unit, description=description, tolerance=tolerance, scale="ratio"
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


FLIP_TOLERANCE = 0.01
"""Prediction consistency: at most 1 % of the fixed inputs may change their top-1 class.
Rounding differences (TF32, another GEMM kernel) flip only near-ties, a fraction of a
percent on a trained classifier; a broken kernel or a corrupted weight flips many."""


def _float32_rows(array: object) -> Any:
    """A 2-D float32 numpy array from a tensor or nested sequence (N inputs x C outputs)."""
    import numpy as np

    detach = getattr(array, "detach", None)
    if detach is not None:  # a torch tensor: on the CPU, as float32
        array = detach().to("cpu").float().numpy()
    values = np.asarray(array, dtype=np.float32)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        values = values.reshape(values.shape[0], -1)
    return np.ascontiguousarray(values)


def outputs(
    ctx: Context,
    name: str,
    runs: Sequence[object],
    *,
    input_set: str,
    model: str,
    description: str,
    labels: Sequence[int] | None = None,
    classes: bool = True,
    unit: str = "logit",
    tolerance: float = FLIP_TOLERANCE,
) -> Metric:
    """A model's outputs on a fixed input set (a `distribution` metric, schemaVersion v2).

    `runs` holds the outputs (inputs x outputs, a tensor or nested lists) of each
    repetition on the same inputs; the first is stored (bounded: at most
    MAX_PREDICTION_INPUTS inputs, MAX_OUTPUT_VALUES values, a spread of columns kept
    beyond that), and each repetition's SHA-256 is a sample, so nondeterminism within
    the process shows. `input_set` and `model` identify what ran (e.g. `sha256:<hex>`):
    the verdict refuses to compare different inputs or models. With `classes`, the top-1
    class and its softmax probability are kept per input; with `labels`, calibration.
    """
    import numpy as np

    from benchgate.api.result import MAX_OUTPUT_VALUES, MAX_PREDICTION_INPUTS, Outputs

    if not runs:
        raise ValueError(f"{name}: no outputs to report")
    arrays = [_float32_rows(r) for r in runs]
    first = arrays[0]
    n, width = first.shape
    if n > MAX_PREDICTION_INPUTS:
        raise ValueError(f"{name}: {n} inputs; a document holds at most {MAX_PREDICTION_INPUTS}")
    hashes = ["sha256:" + hashlib.sha256(a.tobytes()).hexdigest() for a in arrays]
    top1 = confidence = None
    if classes and width > 1:
        top1 = tuple(int(i) for i in first.argmax(axis=1))
        shifted = first.astype(np.float64) - first.max(axis=1, keepdims=True)
        probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        # float32 in its shortest form, like the values: ~10 characters, not ~18.
        top = np.minimum(probabilities.max(axis=1), 1.0).astype(np.float32)
        confidence = tuple(min(1.0, float(t)) for t in top.astype(str))
    columns = None
    kept = first
    if n * width > MAX_OUTPUT_VALUES:
        step = -(-width // (MAX_OUTPUT_VALUES // n))  # ceil: a spread of columns fits
        columns = tuple(range(0, width, step))
        kept = first[:, list(columns)]
    # float32 values in their shortest decimal form: exact, and ~10 characters each.
    values = tuple(float(text) for text in kept.ravel().astype(str))
    record = Outputs(
        replicate=ctx.replicate,
        inputs=n,
        input_set=input_set,
        model=model,
        width=kept.shape[1],
        values=values,
        top1=top1,
        confidence=confidence,
        labels=tuple(int(v) for v in labels) if labels is not None else None,
        columns=columns,
    )
    return Metric(
        name=name,
        unit=unit,
        direction="equal",
        kind="distribution",
        scale="linear",
        tolerance=tolerance,
        samples=_group(ctx, hashes),
        description=f"{description} Top-1 may change on at most {tolerance:.1%} of inputs.",
        outputs=record,
    )
