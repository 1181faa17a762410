"""RegressionSuite spec, parsed from the manifest dict into frozen dataclasses.

The same manifest drives `benchgate run SUITE.yaml` on a laptop and the operator in a
cluster, so both read it through this module. Parsing is strict and every error names
the field path and the fix. Spec numbers are integers or decimal strings, never floats
(Kubernetes API conventions): `tolerancePercent: 3` or `confidence: "0.95"`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, Literal

import yaml

GROUP: Final = "benchgate.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
SUITE_KIND: Final = "RegressionSuite"

SIZES: Final = ("tiny", "full")
SAMPLING_MODES: Final = ("fixed", "sequential")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
WORKLOAD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

Size = Literal["tiny", "full"]
SamplingMode = Literal["fixed", "sequential"]


class SuiteSpecError(ValueError):
    """An invalid RegressionSuite; `path` is the field path (e.g. spec.workloads[0].name)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def decimal_field(value: Any, path: str, *, low: Decimal, high: Decimal) -> Decimal:
    """An integer or a decimal string within [low, high]; floats are refused."""
    if isinstance(value, bool | float):
        raise SuiteSpecError(
            path, f"must be an integer or a decimal string such as \"{value}\", not a float"
        )
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise SuiteSpecError(path, f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise SuiteSpecError(path, f"{value!r} is not a finite number")
    else:
        raise SuiteSpecError(path, f"must be an integer or a decimal string, got {value!r}")
    if not low <= number <= high:
        raise SuiteSpecError(path, f"must be between {low} and {high}, got {value}")
    return number


def _int_field(value: Any, path: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SuiteSpecError(path, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        raise SuiteSpecError(path, f"must be between {low} and {high}, got {value}")
    return value


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SuiteSpecError(path, f"must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SuiteSpecError(path, f"must be a list, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class MetricOverride:
    """Per-metric judgement settings that override what the workload reports."""

    name: str
    tolerance: float | None = None  # fraction (0.03 = 3 %)
    error_factor: float | None = None
    ignore: bool = False


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    repetitions: int | None = None  # per replicate; None = the suite's sampling default
    parameters: Mapping[str, str] = field(default_factory=dict)
    metrics: tuple[MetricOverride, ...] = ()

    def override(self, metric: str) -> MetricOverride | None:
        return next((m for m in self.metrics if m.name == metric), None)


@dataclass(frozen=True)
class SamplingSpec:
    """How many independent replicates (fresh processes/pods) and repetitions in each.

    `replicates: 0` means "let the verdict engine recommend a plan" from the baseline's
    variance components. In `sequential` mode the plan is a maximum and verification
    stops early once every metric is decided.
    """

    replicates: int = 0
    repetitions: int = 3
    mode: SamplingMode = "fixed"
    max_samples: int = 30


@dataclass(frozen=True)
class StatisticsSpec:
    confidence: float = 0.95  # family-wise, Holm-corrected across the run's metrics
    tolerance: float = 0.03  # default relative tolerance for metrics without their own
    error_factor: float = 2.0  # numerical-error metrics pass at <= k x the baseline error


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    namespace: str
    size: Size
    image: str
    workloads: tuple[WorkloadSpec, ...]
    sampling: SamplingSpec
    statistics: StatisticsSpec
    # The whole validated spec, for the operator-only sections (platform, triggers,
    # baseline, jobTemplate, gating) that `benchgate run` does not need.
    raw: Mapping[str, Any] = field(default_factory=dict)

    def workload(self, name: str) -> WorkloadSpec | None:
        return next((w for w in self.workloads if w.name == name), None)


def _parse_metric_override(raw: Any, path: str) -> MetricOverride:
    obj = _mapping(raw, path)
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise SuiteSpecError(f"{path}.name", "is required (the metric name the workload reports)")
    tolerance = None
    if "tolerancePercent" in obj:
        tolerance = float(
            decimal_field(obj["tolerancePercent"], f"{path}.tolerancePercent",
                          low=Decimal(0), high=Decimal(1000)) / 100
        )
    error_factor = None
    if "errorFactor" in obj:
        error_factor = float(
            decimal_field(obj["errorFactor"], f"{path}.errorFactor",
                          low=Decimal(1), high=Decimal(1000))
        )
    ignore = obj.get("ignore", False)
    if not isinstance(ignore, bool):
        raise SuiteSpecError(f"{path}.ignore", "must be true or false")
    return MetricOverride(name=name, tolerance=tolerance, error_factor=error_factor, ignore=ignore)


def _parse_workload(raw: Any, path: str) -> WorkloadSpec:
    obj = _mapping(raw, path)
    name = obj.get("name")
    if not isinstance(name, str) or not WORKLOAD_NAME.match(name):
        raise SuiteSpecError(
            f"{path}.name", f"must be a workload name such as 'gemm_throughput', got {name!r}"
        )
    repetitions = None
    if obj.get("repetitions") is not None:
        repetitions = _int_field(obj["repetitions"], f"{path}.repetitions", low=1, high=1000)
    parameters = _mapping(obj.get("parameters"), f"{path}.parameters")
    for key, value in parameters.items():
        if not isinstance(value, str):
            raise SuiteSpecError(
                f"{path}.parameters.{key}", f"must be a string (quote it: \"{value}\")"
            )
    metrics = tuple(
        _parse_metric_override(m, f"{path}.metrics[{i}]")
        for i, m in enumerate(_list(obj.get("metrics"), f"{path}.metrics"))
    )
    return WorkloadSpec(name=name, repetitions=repetitions, parameters=dict(parameters),
                        metrics=metrics)


def parse_suite(manifest: Mapping[str, Any]) -> SuiteSpec:
    """Parse a whole RegressionSuite object (apiVersion, kind, metadata, spec)."""
    if manifest.get("kind") != SUITE_KIND:
        raise SuiteSpecError("kind", f"must be {SUITE_KIND!r}, got {manifest.get('kind')!r}")
    if manifest.get("apiVersion") != API_VERSION:
        raise SuiteSpecError(
            "apiVersion", f"must be {API_VERSION!r}, got {manifest.get('apiVersion')!r}"
        )
    metadata = _mapping(manifest.get("metadata"), "metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not DNS_LABEL.match(name) or len(name) > 63:
        raise SuiteSpecError("metadata.name", f"must be a DNS label, got {name!r}")
    namespace = metadata.get("namespace", "default")
    if not isinstance(namespace, str) or not DNS_LABEL.match(namespace):
        raise SuiteSpecError("metadata.namespace", f"must be a DNS label, got {namespace!r}")
    spec = _mapping(manifest.get("spec"), "spec")

    size = spec.get("size", "tiny")
    if size not in SIZES:
        raise SuiteSpecError("spec.size", f"must be one of {list(SIZES)}, got {size!r}")
    image = spec.get("image", "")
    if not isinstance(image, str):
        raise SuiteSpecError("spec.image", "must be a container image reference")

    raw_workloads = _list(spec.get("workloads"), "spec.workloads")
    if not raw_workloads:
        raise SuiteSpecError("spec.workloads", "must list at least one workload")
    workloads = tuple(
        _parse_workload(w, f"spec.workloads[{i}]") for i, w in enumerate(raw_workloads)
    )
    names = [w.name for w in workloads]
    for i, workload_name in enumerate(names):
        if workload_name in names[:i]:
            raise SuiteSpecError(f"spec.workloads[{i}].name",
                                 f"duplicate workload {workload_name!r}")

    sampling_obj = _mapping(spec.get("sampling"), "spec.sampling")
    mode = sampling_obj.get("mode", "fixed")
    if mode not in SAMPLING_MODES:
        raise SuiteSpecError("spec.sampling.mode",
                             f"must be one of {list(SAMPLING_MODES)}, got {mode!r}")
    sampling = SamplingSpec(
        replicates=_int_field(sampling_obj.get("replicates", 0), "spec.sampling.replicates",
                              low=0, high=200),
        repetitions=_int_field(sampling_obj.get("repetitions", 3), "spec.sampling.repetitions",
                               low=1, high=1000),
        mode=mode,
        max_samples=_int_field(sampling_obj.get("maxSamples", 30), "spec.sampling.maxSamples",
                               low=2, high=10_000),
    )

    stats_obj = _mapping(spec.get("statistics"), "spec.statistics")
    statistics = StatisticsSpec(
        confidence=float(decimal_field(stats_obj.get("confidence", "0.95"),
                                       "spec.statistics.confidence",
                                       low=Decimal("0.5"), high=Decimal("0.9999"))),
        tolerance=float(decimal_field(stats_obj.get("tolerancePercent", 3),
                                      "spec.statistics.tolerancePercent",
                                      low=Decimal(0), high=Decimal(1000)) / 100),
        error_factor=float(decimal_field(stats_obj.get("errorFactor", 2),
                                         "spec.statistics.errorFactor",
                                         low=Decimal(1), high=Decimal(1000))),
    )
    return SuiteSpec(
        name=name,
        namespace=namespace,
        size=size,
        image=image,
        workloads=workloads,
        sampling=sampling,
        statistics=statistics,
        raw=spec,
    )


def load_suite_file(path: str | Path) -> SuiteSpec:
    """Read a YAML file (possibly multi-document) and parse its RegressionSuite."""
    text = Path(path).read_text()
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise SuiteSpecError(str(path), f"is not valid YAML: {exc}") from exc
    suites = [d for d in documents if isinstance(d, Mapping) and d.get("kind") == SUITE_KIND]
    if len(suites) != 1:
        raise SuiteSpecError(
            str(path), f"must hold exactly one {SUITE_KIND}, found {len(suites)}"
        )
    return parse_suite(suites[0])
