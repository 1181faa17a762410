"""One self-contained HTML file: inline CSS and SVG, no script, no external resource."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Final

from benchgate.domain.history import Series
from benchgate.domain.report import MAX_PLOTTED, MetricView, Report
from benchgate.report import plots

CSS: Final = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; margin: 24px auto; max-width: 980px;
       color: #222; line-height: 1.35; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #555; margin-top: 0; }
.verdict { display: inline-block; padding: 4px 12px; border-radius: 4px; font-weight: bold;
           color: white; font-size: 18px; }
.Regressed, .Failed, .Invalid, .TimedOut { background: #c44e52; }
.Inconclusive { background: #dd8452; } .Passed, .Improved, .Accepted { background: #55a868; }
.NoBaseline { background: #8172b3; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0; }
th, td { border-bottom: 1px solid #e5e5e5; text-align: left; padding: 4px 8px;
         vertical-align: top; }
th { background: #f6f6f6; }
.metric { margin: 18px 0; } .metric p { margin: 2px 0; font-size: 13px; }
.tag { font-weight: bold; padding: 1px 6px; border-radius: 3px; color: white; font-size: 12px; }
.legend { font-size: 12px; color: #555; }
svg { width: 100%; max-width: 900px; height: auto; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:+.2f} %"


def _interval(view: MetricView) -> str:
    if view.row.ci_low is None or view.row.ci_high is None:
        return ""
    return f"{_pct(view.row.ci_low)} .. {_pct(view.row.ci_high)}"


def _metric_section(view: MetricView, plot: bool) -> str:
    row = view.row
    interval = (
        f" [{_pct(row.ci_low)}, {_pct(row.ci_high)}]"
        if row.ci_low is not None and row.ci_high is not None
        else ""
    )
    tolerance = f"tolerance ±{row.tolerance * 100:g} %" if row.tolerance is not None else ""
    parts = [
        f'<section class="metric" id="{_e(view.key)}">',
        f'<h3><span class="tag {_e(row.verdict)}">{_e(row.verdict)}</span> {_e(view.key)}</h3>',
        f"<p><b>change {_e(_pct(row.change) or 'n/a')}{_e(interval)}</b>"
        f"{' &middot; ' + _e(tolerance) if tolerance else ''}"
        f" &middot; baseline {_e(row.baseline_text)} &rarr; candidate {_e(row.candidate_text)}"
        f" {_e(view.unit)}</p>",
        f"<p>{_e(row.reason)}</p>",
    ]
    if plot and view.plottable:
        parts.append(plots.metric_plot(view))
    parts.append("</section>")
    return "\n".join(parts)


def report_page(report: Report, history: Sequence[Series] = ()) -> str:
    env_rows = "".join(
        f"<tr><td>{_e(r.field)}</td><td>{_e(r.before)}</td><td>{_e(r.after)}</td>"
        f"<td>{_e(r.summary)}</td></tr>"
        for r in report.env
    )
    env = (
        "<table><tr><th>field</th><th>baseline</th><th>candidate</th><th>what it means</th></tr>"
        f"{env_rows}</table>"
        if report.env
        else "<p>No environment difference was recorded.</p>"
    )
    summary_rows = "".join(
        f'<tr><td><span class="tag {_e(v.row.verdict)}">{_e(v.row.verdict)}</span></td>'
        f'<td><a href="#{_e(v.key)}">{_e(v.key)}</a></td><td>{_e(_pct(v.row.change))}</td>'
        f"<td>{_e(_interval(v))}</td>"
        f"<td>{'' if v.row.tolerance is None else _e(f'±{v.row.tolerance * 100:g} %')}</td></tr>"
        for v in report.metrics
        if v.row.verdict != "Passed"
    )
    passed = sum(1 for v in report.metrics if v.row.verdict == "Passed")
    passed_note = (
        f"<p>{passed} metric{'s' if passed != 1 else ''} passed (below, after the others).</p>"
        if passed
        else ""
    )
    sections = [
        _metric_section(view, plot=i < MAX_PLOTTED) for i, view in enumerate(report.metrics)
    ]
    curves = [plots.loss_plot(c) for c in report.curves]
    notes = "".join(f"<p class='sub'>{_e(n)}</p>" for n in report.notes)
    body = [
        f"<h1>{_e(report.title)}</h1>",
        f'<p class="sub">baseline <b>{_e(report.baseline_label)}</b> &rarr; candidate '
        f"<b>{_e(report.candidate_label)}</b></p>",
        f'<p><span class="verdict {_e(report.verdict)}">{_e(report.verdict)}</span> '
        f"{_e(report.reason)}</p>",
        notes,
        "<h2>What changed on the platform</h2>",
        env,
        "<h2>Metrics, worst first</h2>",
        "<table><tr><th>verdict</th><th>metric</th><th>change</th><th>interval</th>"
        f"<th>tolerance</th></tr>{summary_rows}</table>"
        if summary_rows
        else "",
        passed_note,
        '<p class="legend">Each plot: one point per replicate (the engine\'s replicate '
        "summary), baseline above, candidate below; the green band is the tolerance around "
        "the baseline's centre, the dashed red line its bad edge; the diamond with bars is "
        "the estimated change and its confidence interval, drawn at the candidate's level."
        "</p>",
        *sections,
    ]
    if curves:
        body += ["<h2>Loss curves</h2>", *curves]
    if history:
        body += ["<h2>History</h2>", *_history_sections(history)]
    return _page(report.title, "\n".join(body))


def _history_sections(series: Sequence[Series]) -> list[str]:
    out = []
    for s in series[:MAX_PLOTTED]:
        steps = "; ".join(
            f"{cp.change * 100:+.1f} % at {s.points[cp.index].source} (p={cp.p_value:.2g})"
            for cp in s.change_points
        )
        out.append(
            f'<section class="metric"><p>{_e(steps or "no change point")}</p>'
            f"{plots.history_plot(s)}</section>"
        )
    return out


def history_page(suite: str, series: Sequence[Series]) -> str:
    moved = sum(1 for s in series if s.change_points)
    body = [
        f"<h1>History of suite {_e(suite)}</h1>",
        f'<p class="sub">{len(series)} series, {moved} with change points (PELT, Welch '
        "p &lt; 0.01). Squares: baselines; crosses: regressed runs; dashed lines: change "
        "points; grey lines: the level of each segment.</p>",
        *_history_sections(series),
    ]
    return _page(f"benchgate history {suite}", "\n".join(body))


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )
