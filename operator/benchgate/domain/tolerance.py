"""Which tolerance a metric is judged with, and where it comes from: one precedence for
the verdict engine and for the run's `status.plan`.

Precedence, highest first:
1. the suite's per-metric override (`spec.workloads[].metrics[].tolerancePercent` or
   `.errorFactor`);
2. what the workload declares for the metric in its result document (timing 10 %, loss
   10 %, memory 25 %, error factors 2x/3x, ...);
3. the suite's `spec.statistics.tolerancePercent` / `.errorFactor`.
Exact metrics (checksums, flags, counts) have no tolerance: they must be equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

from benchgate.api.result import Metric, ResultDocument
from benchgate.api.suite import MetricOverride, SuiteSpec

Source = Literal["Override", "Workload", "Suite"]
MAX_PLAN_ROWS: Final = 512


@dataclass(frozen=True)
class Effective:
    value: float
    source: Source


def tolerance(declared: float | None, override: MetricOverride | None, default: float) -> Effective:
    """The relative tolerance (a fraction) of a continuous metric."""
    if override is not None and override.tolerance is not None:
        return Effective(override.tolerance, "Override")
    if declared is not None:
        return Effective(declared, "Workload")
    return Effective(default, "Suite")


def error_factor(
    declared: float | None, override: MetricOverride | None, default: float
) -> Effective:
    """The factor over the baseline's error an error metric may reach."""
    if override is not None and override.error_factor is not None:
        return Effective(override.error_factor, "Override")
    if declared is not None:
        return Effective(declared, "Workload")
    return Effective(default, "Suite")


def _decimal(value: float) -> str:
    """A status number as a decimal string (no floats in the API), e.g. "3" or "0.5"."""
    return format(Decimal(repr(value)).normalize(), "f")


def _row(
    key: str, metric: Metric, override: MetricOverride | None, suite: SuiteSpec
) -> dict[str, Any]:
    if override is not None and override.ignore:
        return {"metric": key, "judgedBy": "Ignored", "source": "Override"}
    if metric.kind == "exact":
        return {"metric": key, "judgedBy": "Equality", "source": "Workload"}
    if metric.kind == "error":
        factor = error_factor(metric.error_factor, override, suite.statistics.error_factor)
        return {
            "metric": key,
            "judgedBy": "ErrorFactor",
            "value": _decimal(factor.value),
            "source": factor.source,
        }
    tol = tolerance(metric.tolerance, override, suite.statistics.tolerance)
    return {
        "metric": key,
        "judgedBy": "TolerancePercent",
        "value": _decimal(round(tol.value * 100, 6)),
        "source": tol.source,
    }


def plan_rows(suite: SuiteSpec, baseline: ResultDocument | None) -> list[dict[str, Any]]:
    """One row per metric the run will be judged on, for `status.plan.tolerances`.

    With a baseline the metrics are the baseline's (what the comparison will judge). Without
    one the run is not compared (it may become the baseline): the rows are the suite's
    overrides and its defaults, which apply where a workload declares nothing.
    """
    overrides: Mapping[str, MetricOverride] = {
        f"{w.name}/{m.name}": m for w in suite.workloads for m in w.metrics
    }
    rows: list[dict[str, Any]] = []
    if baseline is not None:
        workloads = {w.name for w in suite.workloads}
        for key, metric in baseline.metrics():
            if key.split("/", 1)[0] in workloads:
                rows.append(_row(key, metric, overrides.get(key), suite))
        return rows[:MAX_PLAN_ROWS]
    for key, override in overrides.items():
        if override.ignore:
            rows.append({"metric": key, "judgedBy": "Ignored", "source": "Override"})
        if override.tolerance is not None:
            rows.append(
                {
                    "metric": key,
                    "judgedBy": "TolerancePercent",
                    "value": _decimal(round(override.tolerance * 100, 6)),
                    "source": "Override",
                }
            )
        if override.error_factor is not None:
            rows.append(
                {
                    "metric": key,
                    "judgedBy": "ErrorFactor",
                    "value": _decimal(override.error_factor),
                    "source": "Override",
                }
            )
    rows.append(
        {
            "metric": "*",
            "judgedBy": "TolerancePercent",
            "value": _decimal(round(suite.statistics.tolerance * 100, 6)),
            "source": "Suite",
        }
    )
    rows.append(
        {
            "metric": "*",
            "judgedBy": "ErrorFactor",
            "value": _decimal(suite.statistics.error_factor),
            "source": "Suite",
        }
    )
    return rows[:MAX_PLAN_ROWS]
