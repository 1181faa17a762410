"""Workload name -> run function, in the order a default run executes them.

Names are static and modules are imported on first use, so that the command line's
help, `list` and usage errors answer without importing torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Final

from benchgate.api.result import Metric

# Cheap, sensitive probes first; memory_behaviour last so that its host peak RSS covers
# the whole process. Each name is a module of this package with `run(ctx)`.
NAMES: Final = (
    "numerics_probe",
    "determinism",
    "gemm_throughput",
    "memory_bandwidth",
    "collectives",
    "train_convnet",
    "train_transformer",
    "inference_latency",
    "memory_behaviour",
)

Workload = Callable[..., list[Metric]]  # (Context) -> list[Metric]


def names() -> list[str]:
    return list(NAMES)


def get(name: str) -> Workload:
    if name not in NAMES:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(NAMES)}")
    module = importlib.import_module(f"benchgate_workloads.{name}")
    run: Workload = module.run
    if name != module.NAME:  # a renamed module would silently report under another key
        raise RuntimeError(f"benchgate_workloads.{name} declares NAME {module.NAME!r}")
    return run
