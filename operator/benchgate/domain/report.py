"""What a comparison report shows, in what order: the pure model behind `benchgate report`.

A report answers "what changed, and how sure are we" for a person who was not there: the
verdict, the environment diff first (what changed on the platform), then every metric,
worst first, with the replicate values of both sides (one point per replicate, the
engine's own replicate summary), the tolerance band around the baseline and the
confidence interval of the change; then, for training workloads, the loss curves of both
sides overlaid. The renderers (benchgate.report) draw this model and decide nothing.

Two sources, one model: a fresh comparison of two documents (the engine's Comparison), or
a VerificationRun's status as the operator wrote it (its metric rows are the verdict of
record, so a report never re-judges a run).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from benchgate.api.result import Metric, ResultDocument
from benchgate.domain import validity

# Worst first: a regression, then what could not be judged, then the undecided.
VERDICT_RANK: Final = {
    "Regressed": 0,
    "Invalid": 1,
    "Inconclusive": 2,
    "Improved": 3,
    "Passed": 4,
}
_LOSS_CURVE: Final = re.compile(r"^loss_curve_steps_(\d+)_(\d+)$")
_LOSS_AT: Final = re.compile(r"^loss_at_step_(\d+)$")
MAX_PLOTTED: Final = 60


@dataclass(frozen=True)
class Row:
    """A metric's verdict as judged (by the engine now, or by the operator then)."""

    key: str
    verdict: str
    reason: str
    change: float | None = None  # relative, 0.05 = +5 %
    ci_low: float | None = None
    ci_high: float | None = None
    tolerance: float | None = None  # relative
    baseline_text: str = ""  # the engine's baseline/candidate values, as it printed them
    candidate_text: str = ""


@dataclass(frozen=True)
class MetricView:
    row: Row
    unit: str
    direction: str
    kind: str
    scale: str
    baseline_values: tuple[float, ...]  # replicate summaries, natural scale
    candidate_values: tuple[float, ...]
    baseline_centre: float | None

    @property
    def key(self) -> str:
        return self.row.key

    @property
    def plottable(self) -> bool:
        return bool(self.baseline_values or self.candidate_values) and self.kind != "exact"


@dataclass(frozen=True)
class LossCurves:
    workload: str
    steps: tuple[float, ...]
    baseline: tuple[tuple[float, ...], ...]  # one curve per replicate
    candidate: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class EnvRow:
    field: str
    before: str
    after: str
    summary: str


@dataclass(frozen=True)
class Report:
    title: str
    baseline_label: str
    candidate_label: str
    verdict: str
    reason: str
    env: tuple[EnvRow, ...]
    metrics: tuple[MetricView, ...]  # worst first
    curves: tuple[LossCurves, ...]
    notes: tuple[str, ...] = ()


def parse_percent(value: Any) -> float | None:
    """A status number: "+1.23%" -> 0.0123; "" or junk -> None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip()
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        number = float(text) * scale
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def rows_from_status(status: Mapping[str, Any]) -> list[Row]:
    """A VerificationRun's metric rows with the tolerance each was judged with."""
    tolerances: dict[str, float] = {}
    default: float | None = None
    for t in (status.get("plan") or {}).get("tolerances") or []:
        if t.get("judgedBy") != "TolerancePercent":
            continue
        value = parse_percent(f"{t.get('value')}%")
        if t.get("metric") == "*":
            default = value
        elif value is not None:
            tolerances[str(t.get("metric"))] = value
    return [
        Row(
            key=str(m.get("key")),
            verdict=str(m.get("verdict") or ""),
            reason=str(m.get("reason") or ""),
            change=parse_percent(m.get("change")),
            ci_low=parse_percent(m.get("ciLow")),
            ci_high=parse_percent(m.get("ciHigh")),
            tolerance=tolerances.get(str(m.get("key")), default),
            baseline_text=str(m.get("baseline") or ""),
            candidate_text=str(m.get("candidate") or ""),
        )
        for m in status.get("metrics") or []
        if m.get("key")
    ]


def rows_from_comparison(comparison: Any) -> list[Row]:
    """The engine's Comparison (domain/verdict.py) as rows."""
    from benchgate.domain.status import fmt_number

    return [
        Row(
            key=m.key,
            verdict=m.verdict,
            reason=m.reason,
            change=m.change,
            ci_low=m.ci_low,
            ci_high=m.ci_high,
            tolerance=m.tolerance,
            baseline_text=fmt_number(m.baseline),
            candidate_text=fmt_number(m.candidate),
        )
        for m in comparison.metrics
    ]


def replicate_values(metric: Metric | None) -> tuple[float, ...]:
    """One value per replicate on the natural scale (the engine's replicate summary)."""
    if metric is None or metric.kind == "exact":
        return ()
    groups = validity.numeric_groups(metric, "report")
    if isinstance(groups, str) or not groups:
        return ()
    ratio = metric.kind == "continuous" and metric.scale == "ratio"
    if ratio and any(v <= 0 for g in groups for v in g):
        return ()
    summaries = validity.summaries(groups, "ratio" if ratio else "linear")
    return tuple(float(math.exp(s)) if ratio else float(s) for s in summaries)


def _centre(values: tuple[float, ...], ratio: bool) -> float | None:
    if not values:
        return None
    if ratio:
        return math.exp(sum(math.log(v) for v in values) / len(values))
    return sum(values) / len(values)


def severity(view: MetricView) -> tuple[int, float]:
    """Sort key, worst first: verdict rank, then the change in tolerances."""
    rank = VERDICT_RANK.get(view.row.verdict, 1)
    change = abs(view.row.change) if view.row.change is not None else math.inf
    scale = view.row.tolerance or 1.0
    return rank, -(change / scale)


def _curve_points(workload: Any) -> dict[float, Metric]:
    """A training workload's loss metrics by step (window midpoints for curve windows)."""
    points: dict[float, Metric] = {}
    for m in workload.metrics if workload is not None else ():
        if match := _LOSS_CURVE.match(m.name):
            points[(int(match.group(1)) + int(match.group(2))) / 2] = m
        elif match := _LOSS_AT.match(m.name):
            points[float(match.group(1))] = m
    return points


def _per_replicate(
    points: Mapping[float, Metric], steps: Sequence[float]
) -> tuple[tuple[float, ...], ...]:
    curves = []
    for replicate in (g.replicate for g in points[steps[0]].samples):
        curve = []
        for step in steps:
            group = next((g for g in points[step].samples if g.replicate == replicate), None)
            values = [
                float(v) for v in (group.values if group else ()) if isinstance(v, int | float)
            ]
            curve.append(sum(values) / len(values) if values else math.nan)
        curves.append(tuple(curve))
    return tuple(curves)


def loss_curves(baseline: ResultDocument, candidate: ResultDocument) -> list[LossCurves]:
    """Per training workload, the loss over steps of every replicate of both sides."""
    out = []
    for workload in candidate.workloads:
        cand_points = _curve_points(workload)
        base_points = _curve_points(baseline.workload(workload.name))
        steps = sorted(set(cand_points) & set(base_points))
        if len(steps) < 2:
            continue
        out.append(
            LossCurves(
                workload.name,
                tuple(steps),
                _per_replicate(base_points, steps),
                _per_replicate(cand_points, steps),
            )
        )
    return out


def build(
    *,
    title: str,
    baseline_label: str,
    candidate_label: str,
    verdict: str,
    reason: str,
    rows: Sequence[Row],
    env: Sequence[EnvRow],
    baseline: ResultDocument,
    candidate: ResultDocument,
    notes: Sequence[str] = (),
) -> Report:
    base_metrics = dict(baseline.metrics())
    cand_metrics = dict(candidate.metrics())
    views = []
    for row in rows:
        metric = cand_metrics.get(row.key) or base_metrics.get(row.key)
        if metric is None:
            continue
        base_values = replicate_values(base_metrics.get(row.key))
        ratio = metric.kind == "continuous" and metric.scale == "ratio"
        views.append(
            MetricView(
                row=row,
                unit=metric.unit,
                direction=metric.direction,
                kind=metric.kind,
                scale=metric.scale,
                baseline_values=base_values,
                candidate_values=replicate_values(cand_metrics.get(row.key)),
                baseline_centre=_centre(base_values, ratio),
            )
        )
    views.sort(key=lambda v: (*severity(v), v.key))
    return Report(
        title=title,
        baseline_label=baseline_label,
        candidate_label=candidate_label,
        verdict=verdict,
        reason=reason,
        env=tuple(env),
        metrics=tuple(views),
        curves=tuple(loss_curves(baseline, candidate)),
        notes=tuple(notes),
    )
