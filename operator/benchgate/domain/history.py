"""History: each metric's level over a suite's runs and baselines, with change points.

A point is one session (a run's or a baseline's stored document): the metric's centre,
the engine's own replicate summaries and trimmed mean (domain/validity.py), so the
history shows what the verdicts judged. Series are kept per hardware class (a baseline
is only ever chosen within one), ordered by time.

Change points come from PELT (Killick, Fearnhead & Eckley 2012, "Optimal detection of
changepoints with a linear computational cost"), as implemented by `ruptures`, on the
analysis scale (log for ratio metrics, so a step is a relative change), with the noise
level estimated robustly from successive differences (MAD / 0.6745 / sqrt 2: a step is
one large difference and does not inflate it) and a penalty of 6 log n on the
standardised series. Each candidate step is then kept only if the segments on either
side differ by Welch's t-test at p < 0.01 -- the same significance filter Hunter/Orion
apply to E-divisive's candidates. The t-test alone is anti-conservative once PELT chose
the split, so the penalty carries the error control; `bench/changepoints.py` measures it
on normal noise, 400 histories each: a false step in 3.5 %, 1.5 % and 0.2 % of 10-, 20-
and 40-session histories (9-15 % with the textbook 2 log n), and a step of 3 noise SDs
found in 63 %, 92 % and 100 % of them.
Why PELT over E-divisive: histories here are short (tens of sessions) and the noise of a
session centre is close to normal on the log scale, where PELT's exact segmentation is
both optimal and cheap; `ruptures` is maintained and has wheels, while the E-divisive
implementations (MongoDB's signal-processing-algorithms, Otava) ship as source or pull
in a whole CLI.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from benchgate.api.result import Metric, ResultDocument
from benchgate.domain import validity

MIN_SEGMENT: Final = 2
SIGNIFICANCE: Final = 0.01
# Calibrated by bench/changepoints.py (module docstring). Not Final: the benchmark
# compares it with the textbook value.
PENALTY_PER_LOG_N = 6.0
MAX_POINTS: Final = 1000


@dataclass(frozen=True)
class Entry:
    """One stored document and where it came from."""

    when: float  # epoch seconds (completion of the run, creation of the baseline)
    source: str  # VerificationRun or RegressionBaseline name
    kind: str  # "run" or "baseline"
    platform_class: str
    hardware_class: str
    trigger: str
    verdict: str
    document: ResultDocument


@dataclass(frozen=True)
class Point:
    when: float
    source: str
    kind: str
    platform_class: str
    trigger: str
    verdict: str
    value: float
    replicates: int


@dataclass(frozen=True)
class ChangePoint:
    index: int  # the first point of the new level
    before: float  # the level before (mean on the analysis scale, back-transformed)
    after: float
    change: float  # relative change of the level (after / before - 1)
    p_value: float


@dataclass(frozen=True)
class Series:
    metric: str  # workload/metric
    unit: str
    direction: str
    scale: str
    hardware_class: str
    points: tuple[Point, ...]
    change_points: tuple[ChangePoint, ...]


def centre(metric: Metric) -> tuple[float, int] | None:
    """The metric's level in one session (and its replicate count), or None when it has
    no numeric samples to summarise (exact metrics, a failed workload)."""
    if metric.kind == "exact":
        return None
    groups = validity.numeric_groups(metric, "history")
    if isinstance(groups, str) or not groups:
        return None
    scale = metric.scale if metric.kind == "continuous" else "linear"
    if scale == "ratio" and any(v <= 0 for g in groups for v in g):
        return None
    level = validity.centre(validity.summaries(groups, scale))
    if not math.isfinite(level):
        return None
    return (math.exp(level) if scale == "ratio" else level), len(groups)


def change_points(values: Sequence[float], scale: str) -> tuple[ChangePoint, ...]:
    """Steps in `values` (in time order), each with its size and significance."""
    import ruptures
    from scipy import stats as scipy_stats

    if len(values) < 2 * MIN_SEGMENT:
        return ()
    x = np.asarray(values, dtype=np.float64)
    if scale == "ratio":
        if np.any(x <= 0):
            return ()
        x = np.log(x)
    diffs = np.diff(x)
    sigma = float(np.median(np.abs(diffs - np.median(diffs)))) / 0.6745 / math.sqrt(2)
    if not math.isfinite(sigma) or sigma <= 0:
        # Mostly identical values: any other level is a step; scale by what varies at all.
        spread = float(np.std(x))
        if spread == 0:
            return ()
        sigma = spread / 10
    n = len(x)
    ends = (
        ruptures.Pelt(model="l2", min_size=MIN_SEGMENT, jump=1)
        .fit(x / sigma)
        .predict(pen=PENALTY_PER_LOG_N * math.log(n))
    )
    bounds = [0, *ends]
    found: list[ChangePoint] = []
    for left, cut, right in zip(bounds, bounds[1:], bounds[2:], strict=False):
        a, b = x[left:cut], x[cut:right]
        if np.ptp(np.concatenate([a, b])) == 0:
            continue
        if np.var(a) == 0 and np.var(b) == 0:
            p = 0.0  # two flat, different levels: as certain as it gets
        else:
            p = float(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
        if not (math.isfinite(p) and p < SIGNIFICANCE):
            continue
        before, after = float(np.mean(a)), float(np.mean(b))
        if scale == "ratio":
            before, after = math.exp(before), math.exp(after)
        change = after / before - 1 if before != 0 else math.inf
        found.append(ChangePoint(cut, before, after, change, p))
    return tuple(found)


def build(entries: Iterable[Entry], metric_filter: str = "") -> list[Series]:
    """Every metric's series per hardware class; `metric_filter` keeps the metrics whose
    key contains it (or matches it as a glob)."""
    from fnmatch import fnmatchcase

    ordered = sorted(entries, key=lambda e: (e.when, e.source))[-MAX_POINTS:]
    points: dict[tuple[str, str], list[Point]] = {}
    meta: dict[str, tuple[str, str, str]] = {}
    for entry in ordered:
        for key, metric in entry.document.metrics():
            if metric_filter and not (metric_filter in key or fnmatchcase(key, metric_filter)):
                continue
            level = centre(metric)
            if level is None:
                continue
            analysis: str = metric.scale if metric.kind == "continuous" else "linear"
            meta.setdefault(key, (metric.unit, metric.direction, analysis))
            points.setdefault((key, entry.hardware_class), []).append(
                Point(
                    entry.when,
                    entry.source,
                    entry.kind,
                    entry.platform_class,
                    entry.trigger,
                    entry.verdict,
                    level[0],
                    level[1],
                )
            )
    out = []
    for (key, hardware), series_points in sorted(points.items()):
        unit, direction, series_scale = meta[key]
        out.append(
            Series(
                key,
                unit,
                direction,
                series_scale,
                hardware,
                tuple(series_points),
                change_points([p.value for p in series_points], series_scale),
            )
        )
    # Metrics whose level moved first: that is what someone opening the history wants.
    out.sort(key=lambda s: (not s.change_points, s.metric, s.hardware_class))
    return out


_BLOCKS: Final = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return _BLOCKS[3] * len(values)
    return "".join(_BLOCKS[round((v - low) / (high - low) * (len(_BLOCKS) - 1))] for v in values)


def render(series: Sequence[Series], *, utc: bool = True) -> str:
    """The terminal view: per metric and class, a sparkline, each point and its steps."""
    from datetime import UTC, datetime

    if not series:
        return "No history: no stored run or baseline holds a numeric metric that matches.\n"
    moved = sum(1 for s in series if s.change_points)
    lines = [
        f"{len(series)} series, {moved} with change points (PELT, Welch p < {SIGNIFICANCE})",
        "",
    ]
    for s in series:
        better = {"lower": "lower is better", "higher": "higher is better", "band": "band"}
        lines.append(
            f"{s.metric} [{s.unit}, {better.get(s.direction, s.direction)}]  class "
            f"{s.hardware_class}  {sparkline([p.value for p in s.points])}"
        )
        steps = {cp.index: cp for cp in s.change_points}
        for i, p in enumerate(s.points):
            if i in steps:
                cp = steps[i]
                lines.append(
                    f"    ---- change point: {cp.change * 100:+.1f} % "
                    f"({cp.before:.6g} -> {cp.after:.6g}, p={cp.p_value:.2g})"
                )
            when = datetime.fromtimestamp(p.when, tz=UTC).strftime("%Y-%m-%d %H:%M")
            what = f"{p.source} ({p.kind})" if p.kind == "baseline" else p.source
            lines.append(
                f"    {when}  {p.value:>12.6g}  {p.verdict or '-':<12} {p.trigger or '-':<18} "
                f"{p.platform_class:<20} {what}"
            )
        lines.append("")
    return "\n".join(lines)
