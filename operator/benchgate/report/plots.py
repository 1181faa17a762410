"""Plots as inline SVG (matplotlib): replicate values with tolerance band and interval,
loss curves, and history series.

matplotlib because it is the maintained standard for static scientific plots, renders
SVG without a browser, a display or JavaScript, and keeps text as text
(`svg.fonttype: none`), so the HTML stays self-contained, searchable and readable by a
screen reader. Output is deterministic (fixed hash salt, no date metadata), so the same
report renders the same bytes.
"""

from __future__ import annotations

import io
from typing import Any, Final

import matplotlib
from matplotlib.figure import Figure

from benchgate.domain.history import Series
from benchgate.domain.report import LossCurves, MetricView

BASELINE_COLOUR: Final = "#4c72b0"
CANDIDATE_COLOUR: Final = "#dd8452"
BAND_COLOUR: Final = "#55a868"
BAD_COLOUR: Final = "#c44e52"
STYLE: Final[dict[str, Any]] = {
    "svg.fonttype": "none",  # text stays <text>: selectable, searchable, OCR-clean
    "svg.hashsalt": "benchgate",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _style() -> Any:
    # matplotlib types rc keys as a Literal of every known key; ours are among them.
    return matplotlib.rc_context(STYLE)  # type: ignore[arg-type]


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    # Inline in HTML: drop the XML prolog and DOCTYPE, keep the <svg> element.
    return text[text.index("<svg") :]


def _jitter(n: int) -> list[float]:
    """Deterministic vertical spread for n points (a strip plot without randomness)."""
    if n <= 1:
        return [0.0] * n
    return [(-0.18 + 0.36 * i / (n - 1)) for i in range(n)]


def metric_plot(view: MetricView) -> str:
    """Baseline and candidate replicate values on one axis, the tolerance band around the
    baseline's centre and the change's confidence interval mapped onto the candidate row."""
    with _style():
        fig = Figure(figsize=(7.2, 1.7))
        ax = fig.add_subplot()
        rows = [("baseline", view.baseline_values, BASELINE_COLOUR, 1.0)]
        rows.append(("candidate", view.candidate_values, CANDIDATE_COLOUR, 0.0))
        centre = view.baseline_centre
        tol = view.row.tolerance
        if centre is not None and tol is not None and tol > 0:
            ratio = view.scale == "ratio" and view.kind == "continuous"
            low = centre / (1 + tol) if ratio else centre * (1 - tol)
            high = centre * (1 + tol)
            ax.axvspan(low, high, color=BAND_COLOUR, alpha=0.13, lw=0)
            bad = {"lower": [high], "higher": [low], "band": [low, high]}.get(view.direction, [])
            for edge in bad:
                ax.axvline(edge, color=BAD_COLOUR, lw=1, ls="--")
        if centre is not None:
            ax.axvline(centre, color=BASELINE_COLOUR, lw=1, alpha=0.6)
        for label, values, colour, y in rows:
            if not values:
                continue
            ax.boxplot(
                [list(values)],
                positions=[y],
                vert=False,
                widths=0.5,
                showfliers=False,
                medianprops={"color": colour},
                boxprops={"color": colour, "alpha": 0.6},
                whiskerprops={"color": colour, "alpha": 0.6},
                capprops={"color": colour, "alpha": 0.6},
            )
            ax.scatter(
                values,
                [y + j for j in _jitter(len(values))],
                s=14,
                color=colour,
                alpha=0.85,
                zorder=3,
                label=label,
            )
        row = view.row
        if centre is not None and row.ci_low is not None and row.ci_high is not None:
            ax.errorbar(
                [centre * (1 + (row.change or 0.0))],
                [-0.42],
                xerr=[
                    [centre * ((row.change or 0.0) - row.ci_low)],
                    [centre * (row.ci_high - (row.change or 0.0))],
                ],
                fmt="D",
                color=BAD_COLOUR if row.verdict == "Regressed" else "black",
                capsize=3,
                ms=4,
            )
        ax.set_yticks([1.0, 0.0, -0.42], ["baseline", "candidate", "change CI"])
        ax.set_ylim(-0.7, 1.4)
        ax.set_xlabel(view.unit)
        ax.set_title(view.key, loc="left", fontsize=10, fontweight="bold")
        ax.margins(x=0.08)
        return _svg(fig)


def loss_plot(curves: LossCurves) -> str:
    with _style():
        fig = Figure(figsize=(7.2, 2.6))
        ax = fig.add_subplot()
        for label, side, colour in (
            ("baseline", curves.baseline, BASELINE_COLOUR),
            ("candidate", curves.candidate, CANDIDATE_COLOUR),
        ):
            for i, curve in enumerate(side):
                ax.plot(
                    curves.steps,
                    curve,
                    color=colour,
                    alpha=0.7,
                    lw=1.2,
                    marker="o",
                    ms=3,
                    label=label if i == 0 else None,
                )
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(f"{curves.workload}: loss curves", loc="left", fontsize=10, fontweight="bold")
        ax.legend(frameon=False)
        return _svg(fig)


def history_plot(series: Series) -> str:
    with _style():
        fig = Figure(figsize=(7.2, 2.2))
        ax = fig.add_subplot()
        xs = list(range(len(series.points)))
        ys = [p.value for p in series.points]
        ax.plot(xs, ys, color=BASELINE_COLOUR, lw=1, marker="o", ms=3)
        for x, p in zip(xs, series.points, strict=True):
            if p.kind == "baseline" or p.verdict in ("Accepted", "NoBaseline"):
                ax.plot([x], [p.value], marker="s", ms=6, mfc="none", color=BAND_COLOUR)
            if p.verdict == "Regressed":
                ax.plot([x], [p.value], marker="x", ms=7, color=BAD_COLOUR)
        bounds = [0, *(cp.index for cp in series.change_points), len(xs)]
        levels = [series.change_points[0].before] if series.change_points else []
        levels += [cp.after for cp in series.change_points]
        for cp in series.change_points:
            ax.axvline(cp.index - 0.5, color=BAD_COLOUR, ls="--", lw=1)
            ax.annotate(
                f"{cp.change * 100:+.1f} %",
                (cp.index - 0.5, 1.0),
                xycoords=("data", "axes fraction"),
                fontsize=8,
                color=BAD_COLOUR,
                ha="left",
                va="top",
            )
        for level, left, right in zip(levels, bounds, bounds[1:], strict=False):
            ax.plot([left - 0.3, right - 0.7], [level, level], color="black", lw=1, alpha=0.5)
        ax.set_xticks(xs, [_short(p.source) for p in series.points], rotation=30, ha="right")
        ax.tick_params(axis="x", labelsize=7)
        ax.set_ylabel(series.unit)
        ax.set_title(
            f"{series.metric} ({series.hardware_class})", loc="left", fontsize=10, fontweight="bold"
        )
        return _svg(fig)


def _short(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else "…" + name[-(limit - 1) :]
