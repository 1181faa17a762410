"""Can this document serve as a baseline? One pure check, before anything is promoted.

A baseline is compared with every later run of its platform class, so a document the
verdict engine cannot judge (one replicate, no samples, every replicate identical,
negative times on a ratio scale, a failed workload) would make every later run Invalid.
The checks are the engine's own (domain/validity.py), applied to the baseline side
alone; where the engine refuses only when *both* sides lack spread, a baseline without
spread is refused too, because every comparison with an equally flat candidate would be
Invalid and a flat timing is a timer too coarse for the metric.

Used by `benchgate promote`, `benchgate compare`, `benchgate run --baseline` and the
operator's promotion paths (auto-promote-first and the promote annotation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from benchgate.api.result import Metric, ResultDocument
from benchgate.api.suite import MetricOverride
from benchgate.domain import validity
from benchgate.domain.verdict import EngineSettings

SHOWN_PROBLEMS: Final = 3
# Verdicts of a run that may be promoted: it passed, or it had nothing to compare with.
PROMOTABLE_VERDICTS: Final = frozenset({"Passed", "Improved", "NoBaseline"})


@dataclass(frozen=True)
class Unfit:
    """One reason a document cannot be a baseline: where, and why."""

    path: str  # the document field, e.g. workloads[0].metrics[2]
    key: str  # workload/metric (or workload), as verdicts name it
    reason: str

    def __str__(self) -> str:
        return f"{self.path} ({self.key}): {self.reason}"


# The rules, in words, for docs/result-document.md (generated) and `benchgate schema`.
RULES: Final[tuple[str, ...]] = (
    "the document holds at least one metric that is not skipped or ignored",
    "no workload failed",
    "exact metrics hold values, all identical across replicates",
    "error metrics hold values, all >= 0",
    "distribution metrics hold outputs (the shape rules are the schema's)",
    f"continuous metrics have at least the engine's minimum replicates "
    f"({EngineSettings().min_replicates})",
    "ratio-scale metrics hold only values > 0 (times and rates cannot be <= 0)",
    "continuous metrics vary: not every replicate summary identical, some spread left "
    "after trimming (memory metrics may repeat one value: their interval is the session "
    "component's)",
    "linear-scale metrics have a nonzero centre",
)


def _metric_problem(metric: Metric, settings: EngineSettings) -> str | None:
    side = "baseline"
    if metric.kind == "distribution":
        # The schema already holds its shape; any outputs on the fixed inputs can serve.
        return None if metric.outputs is not None else "a distribution metric without outputs"
    if metric.kind == "exact":
        return validity.exact_values_problem(metric, side)
    groups = validity.numeric_groups(metric, side)
    if isinstance(groups, str):
        return groups
    if metric.kind == "error":
        return validity.error_values_problem(side, [v for g in groups for v in g])
    problem = validity.too_few_replicates(side, len(groups), settings.min_replicates)
    if problem is None and metric.scale == "ratio":
        problem = validity.not_positive_on_ratio_scale(side, groups)
    if problem is not None:
        return problem
    summaries = validity.summaries(groups, metric.scale)
    if validity.flat(summaries) and not validity.may_repeat(metric):
        return (
            f"every replicate summary of the baseline is identical ({groups[0][0]!r}): "
            f"{validity.FLAT_ADVICE}"
        )
    if metric.scale == "linear" and validity.centre(summaries) == 0:
        return validity.ZERO_CENTRE
    if validity.no_trimmed_spread(summaries) and not validity.may_repeat(metric):
        return f"no spread left after trimming the baseline's replicates; {validity.FLAT_ADVICE}"
    return None


def baseline_problems(
    document: ResultDocument,
    settings: EngineSettings | None = None,
    overrides: Mapping[str, MetricOverride] | None = None,
) -> tuple[Unfit, ...]:
    """Every reason `document` cannot be a baseline (empty: it can).

    `overrides` are the suite's per-metric settings: a metric the suite ignores is not
    checked, as the engine does not judge it.
    """
    settings = settings or EngineSettings()
    overrides = overrides or {}
    problems: list[Unfit] = []
    judged = 0
    for i, workload in enumerate(document.workloads):
        where = f"workloads[{i}]"
        if workload.status == "failed":
            error = workload.error
            detail = f"{error.type}: {error.message}"[:300] if error else "no reason given"
            problems.append(Unfit(where, workload.name, f"the workload failed ({detail})"))
            continue
        for j, metric in enumerate(workload.metrics):
            key = f"{workload.name}/{metric.name}"
            override = overrides.get(key)
            if override is not None and override.ignore:
                continue
            judged += 1
            problem = _metric_problem(metric, settings)
            if problem is not None:
                problems.append(Unfit(f"{where}.metrics[{j}]", key, problem))
    if not judged and not problems:
        problems.append(Unfit("workloads", "", "holds no metric to compare later runs with"))
    return tuple(problems)


def refusal(problems: tuple[Unfit, ...]) -> str:
    """One message for a status, an Event or stderr: the first problems, then a count."""
    shown = "; ".join(str(p) for p in problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return f"cannot serve as a baseline: {shown}" + (f" (and {more} more)" if more > 0 else "")


def promotion_refusal(
    verdict: str,
    document: ResultDocument,
    settings: EngineSettings | None = None,
    overrides: Mapping[str, MetricOverride] | None = None,
) -> str | None:
    """Why a finished run with this verdict and document may not become a baseline, or
    None. One answer for `benchgate promote` and the operator's promote annotation."""
    not_passed = verdict_refusal(verdict)
    if not_passed is not None:
        return not_passed
    problems = baseline_problems(document, settings, overrides)
    return refusal(problems) if problems else None


def verdict_refusal(verdict: str) -> str | None:
    """Why a run with this verdict may not become a baseline, or None."""
    if verdict in PROMOTABLE_VERDICTS:
        return None
    return f"only a run that passed can become a baseline; this one is {verdict or 'not finished'}"
