"""Which tolerance each metric of a run will be judged with, and where it comes from, for
the run's `status.plan.tolerances`: what `verdict.tolerance_for` (the engine's one
precedence) will decide, written down before the Jobs start.

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
from decimal import Decimal
from typing import Any, Final, Literal

from benchgate.api.result import Metric, ResultDocument
from benchgate.api.suite import MetricOverride, SuiteSpec
from benchgate.domain.verdict import (
    TOLERANCE_DEFAULT,
    TOLERANCE_OVERRIDE,
    TOLERANCE_WORKLOAD,
    EngineSettings,
    tolerance_for,
)

Source = Literal["Override", "Workload", "Suite"]
MAX_PLAN_ROWS: Final = 512
# verdict.tolerance_for's sources, as status.plan.tolerances spells them.
_SOURCES: Final[dict[str, Source]] = {
    TOLERANCE_OVERRIDE: "Override",
    TOLERANCE_WORKLOAD: "Workload",
    TOLERANCE_DEFAULT: "Suite",
}


def _decimal(value: float) -> str:
    """A status number as a decimal string (no floats in the API), e.g. "3" or "0.5"."""
    return format(Decimal(repr(value)).normalize(), "f")


def _row(
    key: str, metric: Metric, override: MetricOverride | None, settings: EngineSettings
) -> dict[str, Any]:
    if override is not None and override.ignore:
        return {"metric": key, "judgedBy": "Ignored", "source": "Override"}
    if metric.kind == "exact":
        return {"metric": key, "judgedBy": "Equality", "source": "Workload"}
    value, source = tolerance_for(metric, override, settings)
    if metric.kind == "distribution":
        return {
            "metric": key,
            "judgedBy": "TopOneFlipPercent",
            "value": _decimal(round(value * 100, 6)),
            "source": _SOURCES[source],
        }
    if metric.kind == "error":
        return {
            "metric": key,
            "judgedBy": "ErrorFactor",
            "value": _decimal(value),
            "source": _SOURCES[source],
        }
    return {
        "metric": key,
        "judgedBy": "TolerancePercent",
        "value": _decimal(round(value * 100, 6)),
        "source": _SOURCES[source],
    }


def plan_rows(suite: SuiteSpec, baseline: ResultDocument | None) -> list[dict[str, Any]]:
    """One row per metric the run will be judged on, for `status.plan.tolerances`.

    With a baseline the metrics are the baseline's (what the comparison will judge). Without
    one the run is not compared (it may become the baseline): the rows are the suite's
    overrides and its defaults, which apply where a workload declares nothing.
    """
    overrides: Mapping[str, MetricOverride] = suite.metric_overrides()
    rows: list[dict[str, Any]] = []
    if baseline is not None:
        settings = EngineSettings.from_spec(suite.statistics, suite.sampling)
        workloads = {w.name for w in suite.workloads}
        for key, metric in baseline.metrics():
            if key.split("/", 1)[0] in workloads:
                rows.append(_row(key, metric, overrides.get(key), settings))
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
