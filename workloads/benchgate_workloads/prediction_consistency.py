"""Prediction consistency: a model's outputs on a fixed, seeded input set.

"Does my model still predict the same on the new platform?" Each repetition runs the
model on the same inputs; the outputs go into one `distribution` metric (`outputs`),
which the verdict engine compares with the baseline's input by input (top-1 agreement,
output differences) and as a distribution (PSI, KS, Wasserstein, calibration):
benchgate.domain.prediction, docs/prediction.md.

The model, in order of precedence:
- a user model file named by the suite (`spec.workloads[].model.path`): a TorchScript
  archive (`torch.jit.save`) or a `torch.export` archive (`torch.export.save`, `.pt2`),
  run on seeded standard-normal inputs of `model.inputShape` (an exported program
  knows its own shape);
- else the reference model that ships with the package: a 3-layer MLP classifier whose
  weights and inputs come from fixed seeds (numpy's PCG64, stable across versions and
  machines), so every platform runs exactly the same model; nothing is downloaded.
A plugin replaces it altogether by reporting its own `api.outputs` metric.

`BENCHGATE_INJECT_PERTURB=<amount>` moves one weight after loading (the model's identity
stays the file's or the shipped weights'), so a test can show that a corrupted weight is
caught by top-1 agreement and drift. Injected precision
(`BENCHGATE_INJECT_PRECISION=tf32`) rounds every matmul input of the reference model
like TF32 hardware does; for a user model, whose matmuls this code does not see, it
rounds the model's floating-point parameters and the inputs (the weights and the first
layer's activations), an approximation documented in docs/prediction.md.

Metric: `outputs` (kind distribution).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from benchgate.api.result import Metric
from benchgate_workloads import injection
from benchgate_workloads.api import Context, outputs

NAME = "prediction_consistency"
INPUT_SEED = 20261201
WEIGHT_SEED = 7
LABEL_NOISE = 0.1  # share of labels replaced at random: the reference model is ~90 % right


@dataclass(frozen=True)
class Config:
    inputs: int
    features: int
    hidden: int
    classes: int


TINY = Config(inputs=256, features=32, hidden=64, classes=10)
FULL = Config(inputs=1024, features=64, hidden=256, classes=10)


def _digest(*arrays: np.ndarray[Any, Any]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return "sha256:" + h.hexdigest()


@dataclass(frozen=True)
class ReferenceModel:
    """The shipped model: weights from a fixed seed, as numpy float32 arrays."""

    layers: tuple[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]], ...]

    @classmethod
    def build(cls, cfg: Config) -> ReferenceModel:
        rng = np.random.default_rng(WEIGHT_SEED)
        sizes = [cfg.features, cfg.hidden, cfg.hidden, cfg.classes]
        layers = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            w = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
            b = (rng.standard_normal(fan_out) * 0.1).astype(np.float32)
            layers.append((w, b))
        return cls(tuple(layers))

    @property
    def identity(self) -> str:
        return _digest(*(a for layer in self.layers for a in layer))

    def perturbed(self, amount: float) -> ReferenceModel:
        """The same model with one weight (the first layer's [0, 0]) moved by `amount`."""
        (w, b), *rest = self.layers
        w = w.copy()
        w[0, 0] += np.float32(amount)
        return ReferenceModel(((w, b), *rest))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i, (w, b) in enumerate(self.layers):
            weight = torch.from_numpy(w).to(x.device)
            bias = torch.from_numpy(b).to(x.device)
            h = injection.matmul_input(h) @ injection.matmul_input(weight) + bias
            if i < len(self.layers) - 1:
                h = torch.relu(h)
        return h


def reference_inputs(cfg: Config) -> np.ndarray[Any, Any]:
    return (
        np.random.default_rng(INPUT_SEED)
        .standard_normal((cfg.inputs, cfg.features))
        .astype(np.float32)
    )


def reference_labels(model: ReferenceModel, x: np.ndarray[Any, Any], cfg: Config) -> list[int]:
    """Ground truth for calibration: the model's own float64 answer with seeded noise, so
    the labels are the same on every platform and the model is ~90 % accurate."""
    h = x.astype(np.float64)
    for i, (w, b) in enumerate(model.layers):
        h = h @ w.astype(np.float64) + b.astype(np.float64)
        if i < len(model.layers) - 1:
            h = np.maximum(h, 0.0)
    labels = h.argmax(axis=1)
    rng = np.random.default_rng(INPUT_SEED + 1)
    noisy = rng.random(cfg.inputs) < LABEL_NOISE
    labels[noisy] = rng.integers(0, cfg.classes, int(noisy.sum()))
    return [int(v) for v in labels]


def _reference(ctx: Context) -> Metric:
    cfg = TINY if ctx.tiny else FULL
    model = ReferenceModel.build(cfg)
    x = reference_inputs(cfg)
    labels = reference_labels(model, x, cfg)
    identity = model.identity  # of the model as shipped: a perturbation is not a new model
    if injection.perturbation():
        model = model.perturbed(injection.perturbation())
    inputs = torch.from_numpy(x).to(ctx.device)
    runs = []
    with torch.inference_mode():
        for _ in range(ctx.repetitions):
            runs.append(model.forward(inputs).float().cpu())
    return outputs(
        ctx,
        "outputs",
        runs,
        input_set=_digest(x),
        model=f"reference-mlp/{identity}",
        labels=labels,
        description=f"Logits of the shipped reference MLP ({cfg.features}-{cfg.hidden}-"
        f"{cfg.hidden}-{cfg.classes}, seeded weights) on {cfg.inputs} seeded inputs.",
    )


def load_user_model(path: str) -> tuple[Any, tuple[int, ...] | None, int | None]:
    """A TorchScript or torch.export archive, the input shape it declares (if any) and
    the batch size it was exported with (an exported program may only take that one)."""
    if path.endswith(".pt2"):
        program = torch.export.load(path)
        spec = program.example_inputs
        example = spec[0][0] if spec and spec[0] else None
        if example is None:
            return program.module(), None, None
        return program.module(), tuple(example.shape[1:]), int(example.shape[0])
    return torch.jit.load(path, map_location="cpu"), None, None  # type: ignore[no-untyped-call]


def _file_identity(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _user(ctx: Context, path: str) -> Metric:
    model, declared, batch = load_user_model(path)
    shape_option = ctx.option("inputShape")
    shape = tuple(int(s) for s in shape_option.split(",")) if shape_option else declared
    if not shape:
        raise ValueError(
            f"model {path}: set spec.workloads[].model.inputShape (a TorchScript archive "
            "does not record the shape of its input)"
        )
    count = int(ctx.option("inputs") or (TINY.inputs if ctx.tiny else FULL.inputs))
    x = np.random.default_rng(INPUT_SEED).standard_normal((count, *shape)).astype(np.float32)
    inputs = torch.from_numpy(x)
    with torch.no_grad():
        params = [p for p in model.parameters() if p.dtype == torch.float32]
        if injection.precision() == "tf32":
            inputs = injection.round_to_tf32(inputs)
            for p in params:
                p.copy_(injection.round_to_tf32(p))
        if injection.perturbation():
            matrix = next((p for p in params if p.dim() >= 2), None)
            if matrix is None:
                raise ValueError(f"model {path}: no weight matrix to perturb")
            matrix.view(matrix.shape[0], -1)[0, 0] += injection.perturbation()
    model = model.to(ctx.device)
    inputs = inputs.to(ctx.device)
    runs = []
    with torch.inference_mode():
        for _ in range(ctx.repetitions):
            parts = []
            # An exported program with a static batch dimension runs in batches of it
            # (the last one padded with the first inputs, then cut).
            step = batch or count
            for start in range(0, count, step):
                chunk = inputs[start : start + step]
                short = step - len(chunk)
                if short:
                    chunk = torch.cat([chunk, inputs[:short]])
                out = model(chunk)
                if isinstance(out, tuple | list):
                    out = out[0]
                parts.append(out[: step - short] if short else out)
            runs.append(torch.cat(parts).float().cpu())
    return outputs(
        ctx,
        "outputs",
        runs,
        input_set=_digest(x),
        model=f"file/{_file_identity(path)}",
        description=f"Outputs of the user model {path.rsplit('/', 1)[-1]} on {count} seeded "
        f"inputs of shape {list(shape)}.",
    )


def run(ctx: Context) -> list[Metric]:
    path = ctx.option("model")
    return [_user(ctx, path) if path else _reference(ctx)]
