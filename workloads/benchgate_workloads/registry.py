"""Which workloads this installation has: the built-ins and the installed plugins.

Built-ins: `NAMES` (in the order a default run executes them) and `METRICS` (the
metric-name patterns each reports, regular expressions matched whole: names depend on
size, device and dtype). Each name is a module of this package with `run(ctx)`, imported
on first use, so that `--help`, `list` and usage errors answer without importing torch.

Plugins: installed packages that expose a `benchgate_workloads.api.WorkloadDef` under the
entry-point group `benchgate.workloads` (docs/plugins.md). Discovery reads the entry
points and imports only the declaring modules (which must not import torch); the run
function is imported when the workload runs. What can go wrong with a plugin is recorded
against its workload name and never stops the others:
- `PluginImportError`: the declaring module (or, when it runs, the run function) fails to
  import;
- `PluginInvalid`: the entry point is not a `WorkloadDef`, or its name differs from the
  entry point's;
- `PluginApiVersion`: it was written for an API version this benchgate does not offer;
- `PluginNameClash`: its name is a built-in's (the built-in keeps the name) or another
  plugin's (neither runs: which one was meant is not knowable).

`catalog()` is the catalog the operator ships (built-ins only, `make catalog`; the
operator cannot see which plugins an image holds); `catalog(plugins=True)` is what
`benchgate-workload list --json` prints for this installation, which `benchgate run`
reads to check a suite against the workloads it can run here.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Final

from benchgate.api.result import Metric
from benchgate_workloads.api import SUPPORTED_API_VERSIONS, WorkloadDef

ENTRY_POINT_GROUP: Final = "benchgate.workloads"

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
    "prediction_consistency",
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
    "prediction_consistency": ("outputs",),
    "memory_behaviour": (
        "peak_allocated_bytes",
        "peak_reserved_bytes",
        "alloc_retries",
        "ooms",
        "total_mem_bytes",
        "host_maxrss_kib",
    ),
}

BUILTINS: Final[dict[str, WorkloadDef]] = {
    name: WorkloadDef(name=name, run=f"benchgate_workloads.{name}:run", metrics=METRICS[name])
    for name in NAMES
}

Workload = Callable[..., list[Metric]]  # (Context) -> list[Metric]


@dataclass(frozen=True)
class Problem:
    """Why a plugin workload cannot run (or, for a clash with a built-in, is ignored)."""

    workload: str
    type: str  # PluginImportError | PluginInvalid | PluginApiVersion | PluginNameClash
    message: str


@dataclass(frozen=True)
class Plugin:
    definition: WorkloadDef
    package: str  # the distribution that provides it, e.g. "acme-benchgate-models 1.2"
    entry_point: str  # "module:attribute"


@dataclass(frozen=True)
class Installed:
    plugins: dict[str, Plugin] = field(default_factory=dict)
    problems: dict[str, list[Problem]] = field(default_factory=dict)

    def problem(self, name: str) -> Problem | None:
        found = self.problems.get(name)
        return found[0] if found else None


class WorkloadUnavailable(Exception):
    """A plugin workload that cannot run; `kind` is the Problem type."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def _package(ep: metadata.EntryPoint) -> str:
    dist = ep.dist
    return f"{dist.name} {dist.version}" if dist is not None else "unknown package"


@functools.cache
def plugins() -> Installed:
    """Load every plugin declaration (once per process)."""
    found: dict[str, list[Plugin]] = {}
    problems: dict[str, list[Problem]] = {}

    def note(name: str, kind: str, message: str) -> None:
        problems.setdefault(name, []).append(Problem(name, kind, message))

    for ep in sorted(_entry_points(), key=lambda e: (e.name, e.value)):
        where = f"entry point {ep.name!r} = {ep.value!r} of {_package(ep)}"
        try:
            declared: Any = ep.load()
        except Exception as exc:  # any error in third-party code is that plugin's problem
            note(ep.name, "PluginImportError", f"{where}: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(declared, WorkloadDef):
            note(
                ep.name,
                "PluginInvalid",
                f"{where}: must name a benchgate_workloads.api.WorkloadDef, got "
                f"{type(declared).__name__}",
            )
            continue
        if declared.name != ep.name:
            note(
                ep.name,
                "PluginInvalid",
                f"{where}: declares the workload {declared.name!r}; the entry point's name "
                "must be the workload's name",
            )
            continue
        if declared.api_version not in SUPPORTED_API_VERSIONS:
            note(
                ep.name,
                "PluginApiVersion",
                f"{where}: written for workload API version {declared.api_version}; this "
                f"benchgate offers {sorted(SUPPORTED_API_VERSIONS)}",
            )
            continue
        found.setdefault(ep.name, []).append(Plugin(declared, _package(ep), ep.value))
    accepted: dict[str, Plugin] = {}
    for name, candidates in found.items():
        if name in BUILTINS:
            note(
                name,
                "PluginNameClash",
                f"{candidates[0].package} declares {name!r}, the name of a built-in workload; "
                "the built-in runs under that name: rename the plugin's workload",
            )
        elif len(candidates) > 1:
            note(
                name,
                "PluginNameClash",
                f"{name!r} is declared by {' and '.join(sorted(c.package for c in candidates))}; "
                "neither runs until one is renamed or uninstalled",
            )
        else:
            accepted[name] = candidates[0]
    return Installed(accepted, problems)


def names() -> list[str]:
    """The built-in workloads, in default order (no plugin is loaded for this)."""
    return list(NAMES)


def all_names() -> list[str]:
    """Built-ins, then the installed plugins that can run, by name."""
    return list(NAMES) + sorted(plugins().plugins)


def known(name: str) -> bool:
    """A built-in, a plugin, or a plugin that is installed but broken (that one fails
    as its own workload, with its problem, rather than as a usage error)."""
    return name in BUILTINS or name in plugins().plugins or name in plugins().problems


def definition(name: str) -> WorkloadDef | None:
    if name in BUILTINS:
        return BUILTINS[name]
    plugin = plugins().plugins.get(name)
    return plugin.definition if plugin else None


def reports(workload: str, metric: str) -> bool:
    """Whether `workload` can report a metric named `metric` (on some size or device)."""
    return any(re.fullmatch(p, metric) for p in METRICS.get(workload, ()))


def catalog(*, plugins_too: bool = False) -> dict[str, object]:
    """The workloads and their metric patterns. Built-ins only: what the operator ships.
    With `plugins_too`: this installation's view (plugins and their problems as well)."""
    workloads: list[dict[str, object]] = [{"name": n, "metrics": list(METRICS[n])} for n in NAMES]
    out: dict[str, object] = {
        "catalogVersion": 1,
        "generatedBy": "benchgate-workload list --json --builtin",
        "workloads": workloads,
    }
    if plugins_too:
        installed = plugins()
        for name in sorted(installed.plugins):
            plugin = installed.plugins[name]
            workloads.append(
                {
                    "name": name,
                    "metrics": list(plugin.definition.metrics),
                    "source": "plugin",
                    "package": plugin.package,
                    "description": plugin.definition.description,
                }
            )
        out["generatedBy"] = "benchgate-workload list --json"
        out["problems"] = [
            {"workload": p.workload, "type": p.type, "message": p.message}
            for found in installed.problems.values()
            for p in found
        ]
    return out


def get(name: str) -> Workload:
    """The run function of a built-in or a plugin; WorkloadUnavailable for a broken plugin."""
    if name in BUILTINS:
        module = importlib.import_module(f"benchgate_workloads.{name}")
        run: Workload = module.run
        if name != module.NAME:  # a renamed module would silently report under another key
            raise RuntimeError(f"benchgate_workloads.{name} declares NAME {module.NAME!r}")
        return run
    installed = plugins()
    plugin = installed.plugins.get(name)
    if plugin is None:
        problem = installed.problem(name)
        if problem is not None:
            raise WorkloadUnavailable(problem.type, problem.message)
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(all_names())}")
    module_name, _, attribute = plugin.definition.run.partition(":")
    try:
        function: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            function = getattr(function, part)
    except Exception as exc:  # the plugin's own import failing is its own error
        raise WorkloadUnavailable(
            "PluginImportError",
            f"{plugin.package}: run {plugin.definition.run!r}: {type(exc).__name__}: {exc}",
        ) from exc
    if not callable(function):
        raise WorkloadUnavailable(
            "PluginInvalid", f"{plugin.package}: run {plugin.definition.run!r} is not callable"
        )
    plugin_run: Workload = function
    return plugin_run
