"""Workload name -> run function, in the order a default run executes them, and the
metrics each reports.

Names are static and modules are imported on first use, so that the command line's
help, `list` and usage errors answer without importing torch. `METRICS` is the catalog
of metric names per workload (regular expressions, matched whole: names depend on size,
device and dtype); `benchgate-workload list --json` prints it, and the operator ships
that output (benchgate/api/workload_catalog.json) to refuse a suite that names a
workload or a metric override that does not exist before any pod runs. The workload
tests check that every metric a workload reports matches its entry here.
"""

from __future__ import annotations

import importlib
import re
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

_DTYPES = "(fp32|bf16|fp16)"
_LOSS = ("loss_at_step_[0-9]+", "loss_curve_steps_[0-9]+_[0-9]+", "final_loss")
METRICS: Final[dict[str, tuple[str, ...]]] = {
    "numerics_probe": (
        f"(matmul|conv2d|softmax|layer_norm|sdpa_(math|flash|efficient|cudnn))_{_DTYPES}_"
        "(rel_rmse|max_abs_err|ulp_p50|ulp_p99|sha256)",
        "tf32_effective",
        "coverage",
    ),
    "determinism": (
        "bitwise_repeatable",
        "repeat_max_abs_diff",
        "params_sha256",
        "nondeterministic_ops_raised",
    ),
    "gemm_throughput": (
        "gflops_(fp32|tf32|bf16|fp16)(_[0-9]+)?",
        "sm_clock_mhz",
        "clock_event_reasons",
    ),
    "memory_bandwidth": (
        "host_copy_gbps",
        "d2d_copy_gbps",
        "(h2d|d2h)_(pinned|pageable)_gbps",
    ),
    "collectives": (
        "busbw_gbps_(fp32|bf16)_[0-9]+(kib|mib)",
        "wrong_values",
        "world_size",
        "backend",
    ),
    "train_convnet": ("step_time_ms_p50", "step_time_ms_p90", "images_per_s", *_LOSS),
    "train_transformer": (
        "step_time_ms",
        "tokens_per_s",
        "grad_norm_max",
        "sdpa_backend",
        *_LOSS,
    ),
    "inference_latency": (
        "latency_p(50|95|99)_ms",
        "requests_per_s",
    ),
    "memory_behaviour": (
        "peak_allocated_bytes",
        "peak_reserved_bytes",
        "alloc_retries",
        "ooms",
        "total_mem_bytes",
        "host_maxrss_kib",
    ),
}

Workload = Callable[..., list[Metric]]  # (Context) -> list[Metric]


def names() -> list[str]:
    return list(NAMES)


def reports(workload: str, metric: str) -> bool:
    """Whether `workload` can report a metric named `metric` (on some size or device)."""
    return any(re.fullmatch(p, metric) for p in METRICS.get(workload, ()))


def catalog() -> dict[str, object]:
    """The catalog the operator ships: every built-in workload and its metric patterns."""
    return {
        "catalogVersion": 1,
        "generatedBy": "benchgate-workload list --json",
        "workloads": [{"name": n, "metrics": list(METRICS[n])} for n in NAMES],
    }


def get(name: str) -> Workload:
    if name not in NAMES:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(NAMES)}")
    module = importlib.import_module(f"benchgate_workloads.{name}")
    run: Workload = module.run
    if name != module.NAME:  # a renamed module would silently report under another key
        raise RuntimeError(f"benchgate_workloads.{name} declares NAME {module.NAME!r}")
    return run
