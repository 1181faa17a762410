"""The report as markdown for pull requests and tickets (tables; the plots are in the HTML)."""

from __future__ import annotations

from benchgate.domain.report import Report


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:+.2f} %"


def report_markdown(report: Report, *, html_name: str = "") -> str:
    lines = [
        f"## {_cell(report.title)}",
        "",
        f"**{report.verdict}** - {_cell(report.reason)}",
        "",
        f"baseline `{report.baseline_label}` -> candidate `{report.candidate_label}`",
        "",
    ]
    lines += [f"_{_cell(n)}_" for n in report.notes]
    lines += ["### What changed on the platform", ""]
    if report.env:
        lines += ["| field | baseline | candidate | what it means |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(r.field)} | {_cell(r.before)} | {_cell(r.after)} | {_cell(r.summary)} |"
            for r in report.env
        ]
    else:
        lines.append("No environment difference was recorded.")
    lines += [
        "",
        "### Metrics, worst first",
        "",
        "| verdict | metric | change | interval | tolerance | why |",
        "|---|---|---|---|---|---|",
    ]
    for v in report.metrics:
        row = v.row
        interval = f"{_pct(row.ci_low)} .. {_pct(row.ci_high)}" if row.ci_low is not None else ""
        tolerance = "" if row.tolerance is None else f"±{row.tolerance * 100:g} %"
        lines.append(
            f"| {row.verdict} | `{v.key}` | {_pct(row.change)} | {interval} | {tolerance} | "
            f"{_cell(row.reason)[:300]} |"
        )
    if report.curves:
        lines += [
            "",
            f"Loss curves of {', '.join(c.workload for c in report.curves)}: see the HTML.",
        ]
    if html_name:
        lines += ["", f"Plots of every metric: `{html_name}`."]
    return "\n".join(lines) + "\n"
