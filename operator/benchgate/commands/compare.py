"""`benchgate compare BASELINE.json [BASELINE.json ...] CANDIDATE.json`: judge a candidate.

Several baseline documents are several sessions of the baseline (runs on different days
or nodes); the engine then estimates the between-session component from them.
`--control CONTROL.json` judges the candidate against a control measured in the same
session, paired replicate by replicate (the concurrent-control design); baseline documents
are then optional and say whether the session itself was unusual.

Exit codes (CI-friendly): 0 passed or improved, 1 regressed, 2 inconclusive,
3 invalid input (an unreadable or malformed document or suite, a baseline the engine
cannot judge against, or a comparison that is Invalid). Input errors name the file and
the field on stderr; no input makes this command print a traceback.

Each metric's row shows the tolerance it was judged with and where that came from:
`suite` (a per-metric override in --suite), `workload` (declared in the document),
`default` (the suite's statistics.tolerancePercent, else 3 %) or `--tolerance-percent`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

from benchgate.api.result import ResultDocument
from benchgate.api.suite import MetricOverride
from benchgate.commands.inputs import (
    EXIT_INVALID_INPUT,
    InputError,
    check_baseline,
    read_document,
    read_suite,
    refuse,
)
from benchgate.domain.concurrent import compare_concurrent
from benchgate.domain.verdict import (
    Comparison,
    EngineSettings,
    MetricComparison,
    compare_documents,
    comparison_to_dict,
)

EXIT_CODES: Mapping[str, int] = {
    "Passed": 0,
    "Improved": 0,
    "Regressed": 1,
    "Inconclusive": 2,
    "Invalid": 3,
}
MAX_ENV_ROWS = 40
MAX_COMPONENT_LINES = 4
FROM_FLAG: Final = "--tolerance-percent"

__all__ = ["EXIT_CODES", "EXIT_INVALID_INPUT", "configure", "print_comparison", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "documents",
        type=Path,
        nargs="+",
        metavar="DOCUMENT",
        help="baseline session document(s) (JSON), then the candidate document",
    )
    parser.add_argument(
        "--control",
        type=Path,
        default=None,
        help="a control document measured in the candidate's session, replicate k "
        "interleaved with the candidate's replicate k (concurrent-control design)",
    )
    parser.add_argument(
        "--session-sd",
        type=float,
        default=None,
        metavar="PERCENT",
        help="between-session sd in percent for every metric, replacing the baseline's "
        "estimate and the per-family prior (0: both sides ran in one session)",
    )
    parser.add_argument(
        "--node-sd",
        type=float,
        default=None,
        metavar="PERCENT",
        help="concurrent design: node-to-node sd in percent, replacing the per-family "
        "assumption (0: candidate and control ran on one machine)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "markdown"),
        default="table",
        help="output format (default: table)",
    )
    parser.add_argument(
        "--confidence",
        type=float,
        default=None,
        help="family-wise confidence, e.g. 0.95 (default: suite or 0.95)",
    )
    parser.add_argument(
        "--tolerance-percent",
        type=float,
        default=None,
        help="tolerance for every continuous metric, in percent; overrides "
        "the documents (a suite's per-metric tolerancePercent wins)",
    )
    parser.add_argument(
        "--suite",
        type=Path,
        default=None,
        help="RegressionSuite YAML for per-metric overrides and statistics",
    )


def build_inputs(
    args: argparse.Namespace, baseline: ResultDocument
) -> tuple[EngineSettings, dict[str, MetricOverride], set[str]]:
    """Engine settings, per-metric overrides, and the keys --tolerance-percent set."""
    settings = EngineSettings()
    overrides: dict[str, MetricOverride] = {}
    from_flag: set[str] = set()
    if args.suite is not None:
        suite = read_suite(args.suite)
        settings = EngineSettings.from_spec(suite.statistics, suite.sampling)
        for workload in suite.workloads:
            for override in workload.metrics:
                overrides[f"{workload.name}/{override.name}"] = override
    if args.confidence is not None:
        if not 0.5 <= args.confidence < 1:
            raise InputError(f"--confidence must be in [0.5, 1), got {args.confidence}")
        settings = replace(settings, confidence=args.confidence)
    for flag, value in (("--session-sd", args.session_sd), ("--node-sd", args.node_sd)):
        if value is not None and not 0 <= value < 100:
            raise InputError(f"{flag} must be a percentage in [0, 100), got {value}")
    if args.session_sd is not None:
        settings = replace(settings, session_sd=args.session_sd / 100)
    if args.node_sd is not None:
        settings = replace(settings, node_sd=args.node_sd / 100)
    if args.tolerance_percent is not None:
        if not 0 < args.tolerance_percent <= 1000:
            raise InputError(
                f"--tolerance-percent must be in (0, 1000], got {args.tolerance_percent}"
            )
        tolerance = args.tolerance_percent / 100
        for key, metric in baseline.metrics():
            if metric.kind == "continuous" and (
                key not in overrides or overrides[key].tolerance is None
            ):
                prior = overrides.get(key, MetricOverride(name=metric.name))
                overrides[key] = MetricOverride(
                    name=prior.name,
                    tolerance=tolerance,
                    error_factor=prior.error_factor,
                    ignore=prior.ignore,
                )
                from_flag.add(key)
    return settings, overrides, from_flag


def run(args: argparse.Namespace) -> int:
    try:
        *base_paths, cand_path = args.documents
        if not base_paths and args.control is None:
            raise InputError("give a baseline document and a candidate (or --control)")
        baselines = [
            read_document(path, "baseline" if len(base_paths) == 1 else f"baseline {i + 1}")
            for i, path in enumerate(base_paths)
        ]
        candidate = read_document(cand_path, "candidate")
        control = read_document(args.control, "control") if args.control is not None else None
        reference = baselines[0] if baselines else control
        assert reference is not None
        settings, overrides, from_flag = build_inputs(args, reference)
        for i, (path, doc) in enumerate(zip(base_paths, baselines, strict=True)):
            label = "baseline" if len(baselines) == 1 else f"baseline {i + 1}"
            check_baseline(doc, f"{label} {path}", settings, overrides)
        if control is not None:
            check_baseline(control, f"control {args.control}", settings, overrides)
    except InputError as exc:
        return refuse("compare", exc)
    try:
        if control is not None:
            comparison = compare_concurrent(
                candidate, control, baselines or None, settings, overrides
            )
        else:
            comparison = compare_documents(baselines, candidate, settings, overrides)
    except (ArithmeticError, ValueError) as exc:  # valid data the arithmetic cannot take
        return refuse("compare", InputError(f"the documents cannot be judged: {exc!r}"))
    if from_flag:
        comparison = dataclasses.replace(
            comparison,
            metrics=tuple(
                dataclasses.replace(m, tolerance_source=FROM_FLAG) if m.key in from_flag else m
                for m in comparison.metrics
            ),
        )
    return print_comparison(comparison, args.format)


def print_comparison(comparison: Comparison, fmt: str) -> int:
    """Print in the chosen format (table, json, markdown) and return the exit code."""
    if fmt == "json":
        print(json.dumps(comparison_to_dict(comparison), indent=2, allow_nan=False))
    elif fmt == "markdown":
        print(render_markdown(comparison))
    else:
        print(render_table(comparison))
    return EXIT_CODES[comparison.verdict]


# -------------------------------------------------------------------------- rendering


def _pct(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{x * 100:+.2f}%"


def _level(value: float | str | None, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value if len(value) <= 18 else value[:15] + "..."
    text = f"{value:.4g}"
    return f"{text} {unit}".strip()


def _change(m: MetricComparison) -> str:
    if m.kind == "distribution":  # the flip share is the judged number; details below
        return "-" if m.change is None else f"{m.change:.2%} top-1 changed"
    if m.change is None:
        return "-"
    if m.kind == "error":  # the rule is a factor of the baseline's error: show the factor
        return f"{1 + m.change:.3g}x"
    if m.ci_low is None or m.ci_high is None:
        return _pct(m.change)
    return f"{_pct(m.change)} [{_pct(m.ci_low)}, {_pct(m.ci_high)}]"


def _tolerance(m: MetricComparison) -> str:
    """The tolerance the metric was judged with, and where it came from."""
    if m.tolerance is None or not m.tolerance_source:
        return "-"
    if m.kind == "error":
        return f"{1 + m.tolerance:.3g}x ({m.tolerance_source})"
    if m.kind == "distribution":
        return f"{m.tolerance * 100:.3g}% flips ({m.tolerance_source})"
    sign = "+-" if m.direction == "band" else ""
    return f"{sign}{m.tolerance * 100:.3g}% ({m.tolerance_source})"


def _rows(c: Comparison) -> list[list[str]]:
    return [
        [
            m.key,
            _level(m.baseline, m.unit),
            _level(m.candidate, m.unit),
            _change(m),
            _tolerance(m),
            m.verdict,
            f"{m.n_baseline}/{m.n_candidate}",
            m.reason,
        ]
        for m in c.metrics
    ]


def _headers(c: Comparison) -> list[str]:
    level = round((1 - 2 * (1 - c.confidence)) * 100, 2)
    return [
        "metric",
        "baseline",
        "candidate",
        f"change [{level:g}% CI]",
        "tolerance",
        "verdict",
        "replicates",
        "why",
    ]


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    # The last column ("why") is free text: do not pad it.
    def line(cells: Sequence[str]) -> str:
        return (
            "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths[:-1], strict=True))
            + "  "
            + cells[-1]
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


_PREDICTION_HEADERS: Final = (
    "metric",
    "inputs",
    "top-1 agree",
    "max |diff|",
    "mean |diff|",
    "max rel",
    "PSI",
    "KS D (p)",
    "W1/sd",
    "ECE base->cand",
    "bitwise",
)


def _g(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.3g}"


def _prediction_rows(c: Comparison) -> list[list[str]]:
    rows = []
    for m in c.metrics:
        s = m.prediction
        if s is None:
            continue
        ece = (
            f"{s.ece_baseline:.3f}->{s.ece_candidate:.3f}"
            if s.ece_baseline is not None and s.ece_candidate is not None
            else "-"
        )
        rows.append(
            [
                m.key,
                str(s.inputs),
                "-" if s.top1_agreement is None else f"{s.top1_agreement:.2%}",
                _g(s.max_abs_diff),
                _g(s.mean_abs_diff),
                _g(s.max_rel_diff),
                f"{s.psi:.3f}",
                f"{s.ks_statistic:.3f} ({_g(s.ks_p)})",
                _g(s.wasserstein),
                ece,
                "yes" if s.bitwise_identical else "no",
            ]
        )
    return rows


def _plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in [headers, ["-" * w for w in widths], *rows]
    )


def render_table(comparison: Comparison) -> str:
    """A plain-text report: per-metric table, prediction consistency (when a model's
    outputs were compared), environment differences, overall verdict."""
    parts = [_text_table(_headers(comparison), _rows(comparison)), ""]
    predictions = _prediction_rows(comparison)
    if predictions:
        parts += [
            "Prediction consistency (same inputs, candidate vs baseline outputs):",
            _plain_table(_PREDICTION_HEADERS, predictions),
            "",
        ]
    parts.append("Environment differences (most consequential first):")
    if comparison.env_changes:
        parts += [f"  {e.summary}" for e in comparison.env_changes[:MAX_ENV_ROWS]]
        if len(comparison.env_changes) > MAX_ENV_ROWS:
            parts.append(f"  ... and {len(comparison.env_changes) - MAX_ENV_ROWS} more")
    else:
        parts.append("  none")
    parts += ["", *_design_lines(comparison)]
    parts += ["", f"Verdict: {comparison.verdict} - {comparison.reason}"]
    return "\n".join(parts)


def _design_lines(comparison: Comparison) -> list[str]:
    """Which design judged the run and which variance components went into it."""
    if comparison.design == "concurrent-control":
        lines = ["Design: concurrent control (candidate paired with the control, round by round)"]
        if comparison.session_note:
            lines.append(f"  session check: {comparison.session_note}")
    else:
        sessions = comparison.baseline_sessions
        lines = [f"Design: stored baseline ({sessions} session{'s' if sessions != 1 else ''})"]
    components = comparison.components
    if len(components) <= MAX_COMPONENT_LINES:
        return lines + [f"  {c}" for c in components]
    # One per metric when estimated: say how they were obtained, the rows say the values.
    kinds = {
        "estimated from the baseline's sessions": sum("estimated from" in c for c in components),
        "the family prior": sum("prior" in c and "estimated" not in c for c in components),
        "assumed (node)": sum(c.startswith("node component") for c in components),
        "from settings": sum("settings" in c for c in components),
    }
    shown = ", ".join(f"{n} {what}" for what, n in kinds.items() if n)
    return [*lines, f"  {len(components)} distinct components ({shown}); each row says its own"]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(comparison: Comparison) -> str:
    """The same report as GitHub-flavoured markdown, for pull requests."""
    headers = _headers(comparison)
    lines = [
        f"### benchgate: **{comparison.verdict}**",
        "",
        _md_cell(comparison.reason),
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
    ]
    for row in _rows(comparison):
        cells = [_md_cell(c) for c in row]
        cells[0] = f"`{cells[0]}`"
        cells[5] = f"**{cells[5]}**"
        lines.append("| " + " | ".join(cells) + " |")
    predictions = _prediction_rows(comparison)
    if predictions:
        lines += [
            "",
            "#### Prediction consistency",
            "",
            "| " + " | ".join(_PREDICTION_HEADERS) + " |",
            "|" + "---|" * len(_PREDICTION_HEADERS),
            *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in predictions),
        ]
    lines += ["", *(f"_{_md_cell(x.strip())}_" for x in _design_lines(comparison))]
    lines += ["", "#### Environment differences", ""]
    if comparison.env_changes:
        lines += [f"- `{_md_cell(e.summary)}`" for e in comparison.env_changes[:MAX_ENV_ROWS]]
        if len(comparison.env_changes) > MAX_ENV_ROWS:
            lines.append(f"- ... and {len(comparison.env_changes) - MAX_ENV_ROWS} more")
    else:
        lines.append("none")
    return "\n".join(lines)
