"""What data the verdict engine can judge, one side at a time.

The engine (domain/verdict.py) calls these checks on the baseline and on the candidate
and calls a metric Invalid with their message; the baseline fitness check
(domain/fitness.py) calls the same checks on a document that is about to become a
baseline, so a run is never promoted with data every later comparison would refuse.
Pure: plain values in, a message (or None) out.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from benchgate.api.result import Metric, SampleValue
from benchgate.domain import sessions, stats
from benchgate.domain.stats import FloatArray

FLAT_ADVICE: Final = "a continuous metric should vary; declare it kind 'exact' or use a finer timer"
ZERO_CENTRE: Final = (
    "baseline centre is 0, so a relative change is undefined; report the metric with a "
    "nonzero offset"
)
NEGATIVE_ERROR: Final = "error metrics must be >= 0 (an error magnitude)"


def numeric_groups(metric: Metric, side: str) -> list[list[float]] | str:
    """The metric's values per replicate as floats (empty replicates dropped), or why not."""
    groups: list[list[float]] = []
    for g in metric.samples:
        values: list[float] = []
        for v in g.values:
            if isinstance(v, bool) or not isinstance(v, int | float):
                return f"{side} replicate {g.replicate!r} holds a non-numeric value {v!r}"
            if not math.isfinite(v):
                return f"{side} replicate {g.replicate!r} holds a non-finite value {v!r}"
            values.append(float(v))
        if values:
            groups.append(values)
    return groups


def too_few_replicates(side: str, have: int, need: int) -> str | None:
    if have >= need:
        return None
    return (
        f"{side} has {have} replicate(s); run at least {need} replicates (fresh "
        f"processes or pods) per side, i.e. {need - have} more"
    )


def not_positive_on_ratio_scale(side: str, groups: list[list[float]]) -> str | None:
    bad = next((v for g in groups for v in g if v <= 0), None)
    if bad is None:
        return None
    return (
        f"{side} holds {bad!r}, but a ratio-scale metric must be > 0 "
        "(use scale 'linear' for values that can be <= 0)"
    )


def summaries(groups: list[list[float]], scale: str) -> FloatArray:
    """One value per replicate, on the analysis scale (log for ratio metrics): the mean of
    its repetitions with outlying ones pulled in (`stats.replicate_means`)."""
    return stats.replicate_summaries(groups, log=scale == "ratio")


def may_repeat(metric: Metric) -> bool:
    """A memory metric (bytes, peak RSS) may hold one value in every replicate: processes
    running the same code allocate the same bytes, to the KiB. Its interval then comes from
    the session component (never 0 for memory), so flat values are judged, not refused. A
    flat timing, by contrast, is a timer too coarse for what it measures."""
    return sessions.metric_family(metric.name, metric.unit) == "memory"


def flat(replicate_summaries: FloatArray) -> bool:
    """Every replicate summary is identical: no spread to judge a change against."""
    return bool(np.ptp(replicate_summaries) == 0)


def centre(replicate_summaries: FloatArray) -> float:
    """The trimmed mean the engine measures linear changes against."""
    return float(stats.trimmed_mean_and_sq_se(replicate_summaries)[0])


def no_trimmed_spread(replicate_summaries: FloatArray) -> bool:
    """Nothing varies once the trimmed mean's tails are cut (Yuen's winsorized variance)."""
    if len(replicate_summaries) < 2:
        return True
    return bool(stats.trimmed_mean_and_sq_se(replicate_summaries)[1] <= 0)


def exact_values_problem(metric: Metric, side: str) -> str | None:
    """An exact metric's reference must hold one reproducible value."""
    distinct = exact_distinct(metric.values)
    if not distinct:
        return f"{side} has no values"
    if len(distinct) > 1:
        shown = ", ".join(repr(v) for _, v in distinct[:4])
        return (
            f"{side} itself holds {len(distinct)} distinct values ({shown}): not "
            "reproducible on the reference platform; fix the workload or make it continuous"
        )
    return None


def exact_key(value: SampleValue) -> tuple[str, Any]:
    # JSON true and 1 are different observations; Python's True == 1 must not merge them.
    return (type(value).__name__, value)


def exact_distinct(values: list[SampleValue]) -> list[tuple[str, Any]]:
    return sorted({exact_key(v) for v in values}, key=repr)


def error_values_problem(side: str, values: list[float]) -> str | None:
    if not values:
        return f"{side} has no values"
    if min(values) < 0:
        return NEGATIVE_ERROR
    return None
