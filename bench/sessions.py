"""Real multi-session noise: what the engine and its peers say about identical code measured
in separate sessions, and how often they find injected changes.

    .venv/bin/python bench/sessions.py bench/data/sessions              # the committed corpus
    .venv/bin/python bench/sessions.py path/to/sessions --quiet-load 4

Reads every `session-*.json` (or `.json.gz`) result document of a directory (one
`benchgate run` of one suite each, hours apart; a `session-*.meta.json` beside it may give
the load average before the run) and prints markdown tables:

1. the sessions (time, load average, duration);
2. per metric and per family, the between-session standard deviation (method of moments on
   the sessions' 20 %-trimmed centres), next to the within-session replicate spread -- the
   measurements behind the engine's session priors (docs/statistics.md);
3. A/A across sessions: every ordered pair of sessions (baseline, candidate), and every
   3-session baseline of consecutive sessions against each later session: the share of
   runs each rule calls regressed (any continuous metric), and of metrics;
4. injected changes: a later session's continuous metrics made worse by 2x their tolerance
   (times x (1 + 2 tol), throughputs / (1 + 2 tol)); the share each rule flags;
5. a concurrent design from real data: within each session, even replicates are the
   control and odd ones the candidate, paired by round (they ran back to back), A/A and
   with the odd half made 2x tolerance worse.

Rules, on the same data: the engine (default settings: the session component from the
baseline's sessions or the family prior), the engine before the session level
(median of repetitions, one session against one, Holm), and the peers of
bench/detector.py (Google Benchmark's Mann-Whitney rule, pyperf-style t test + tolerance,
a threshold on means), made direction-aware. `--quiet-load L` also reports the tables for
sessions whose 1-minute load average before the run was at most L (a shared machine's
neighbours are real noise, but not the noise of a dedicated GPU node).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from benchgate.api.result import Metric, ResultDocument, loads
from benchgate.domain import sessions, stats, verdict
from benchgate.domain.concurrent import compare_concurrent
from benchgate.domain.verdict import EngineSettings, bad_sign_of, compare_documents

RULES = ("engine", "engine-old", "gbench", "pyperf", "threshold")


@dataclass(frozen=True)
class Session:
    name: str
    doc: ResultDocument
    load: float | None  # 1-minute load average before the run
    seconds: float | None


def load_sessions(directory: Path) -> list[Session]:
    """Every session-*.json (or .json.gz) document of `directory`, in name (= time) order."""
    out = []
    paths = [*directory.glob("session-*.json"), *directory.glob("session-*.json.gz")]
    for path in sorted(paths, key=lambda p: p.name):
        if ".meta." in path.name:
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        doc = loads(data)
        stem = path.name.removesuffix(".gz").removesuffix(".json")
        meta_path = path.with_name(f"{stem}.meta.json")
        load = seconds = None
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            load = float(str(meta.get("loadavg_before", "nan")).split()[0])
            seconds = float(meta.get("seconds", math.nan))
        out.append(Session(stem.removeprefix("session-"), doc, load, seconds))
    return out


def continuous(doc: ResultDocument) -> dict[str, Metric]:
    return {k: m for k, m in doc.metrics() if m.kind == "continuous"}


# ------------------------------------------------------------------ variance study


def session_centres(docs: Sequence[ResultDocument], key: str) -> tuple[FloatList, FloatList]:
    """Per session: trimmed centre of the replicate summaries (analysis scale, linear
    metrics relative to the first session's centre) and its squared standard error."""
    centres, sq_ses = [], []
    scale = None
    for doc in docs:
        metric = continuous(doc).get(key)
        if metric is None:
            continue
        groups = [[float(v) for v in g.values] for g in metric.samples if g.values]
        log = metric.scale == "ratio"
        summ = stats.replicate_summaries(groups, log=log)
        if not log:
            scale = scale or abs(float(stats.trimmed_mean_and_sq_se(summ)[0])) or 1.0
            summ = summ / scale
        c, d, _ = stats.trimmed_mean_and_sq_se(summ)
        centres.append(float(c))
        sq_ses.append(float(d))
    return centres, sq_ses


FloatList = list[float]


def variance_table(docs: Sequence[ResultDocument]) -> list[dict[str, Any]]:
    rows = []
    for key, metric in continuous(docs[0]).items():
        centres, sq_ses = session_centres(docs, key)
        if len(centres) < 2:
            continue
        spread = float(np.var(centres, ddof=1))
        between = math.sqrt(max(0.0, spread - float(np.mean(sq_ses))))
        rows.append(
            {
                "key": key,
                "family": sessions.metric_family(metric.name, metric.unit),
                "between_sd": between,
                "centre_sd": math.sqrt(spread),
                "within_se": math.sqrt(float(np.mean(sq_ses))),
                "tolerance": metric.tolerance,
            }
        )
    return rows


def family_table(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for family in sessions.FAMILIES:
        values = [r["between_sd"] for r in rows if r["family"] == family]
        if values:
            out[family] = {
                "metrics": len(values),
                "median": float(np.median(values)),
                "p80": float(np.percentile(values, 80)),
                "max": float(np.max(values)),
                "prior": sessions.SESSION_PRIOR_SD[family],
            }
    return out


# -------------------------------------------------------------------------- rules


def _groups(metric: Metric) -> list[list[float]]:
    return [[float(v) for v in g.values] for g in metric.samples if g.values]


def old_engine_regressed(baseline: ResultDocument, candidate: ResultDocument) -> dict[str, bool]:
    """The engine before the session level, per continuous metric: the median of each
    replicate's repetitions, a Yuen test of one session against one, Holm over the run."""
    keys, tests = [], []
    base_m, cand_m = continuous(baseline), continuous(candidate)
    for key, bm in base_m.items():
        cm = cand_m.get(key)
        if cm is None:
            continue
        log = bm.scale == "ratio"
        gb, gc = _groups(bm), _groups(cm)
        if len(gb) < 3 or len(gc) < 3 or (log and min(min(g) for g in gb + gc) <= 0):
            continue
        sb = stats.replicate_medians(gb, log=log)
        sc = stats.replicate_medians(gc, log=log)
        tol = bm.tolerance if bm.tolerance is not None else 0.03
        margin = math.log1p(tol) if log else tol
        if not log:
            scale = abs(float(stats.trimmed_mean_and_sq_se(sb)[0])) or 1.0
            sb, sc = sb / scale, sc / scale
        if np.ptp(np.concatenate([sb, sc])) == 0:
            continue
        keys.append(key)
        tests.append(
            verdict.continuous_tests(sb, sc, margin=margin, bad_sign=bad_sign_of(bm.direction))
        )
    if not tests:
        return {}
    p_reg = stats.holm_adjust(np.array([float(t.p_regress) for t in tests]))
    return {k: bool(p <= 0.05) for k, p in zip(keys, p_reg, strict=True)}


def peer_flags(
    baseline: Sequence[ResultDocument], candidate: ResultDocument
) -> dict[str, dict[str, bool]]:
    """gbench / pyperf / threshold per continuous metric, on pooled repetitions."""
    out: dict[str, dict[str, bool]] = {name: {} for name in ("gbench", "pyperf", "threshold")}
    cand_m = continuous(candidate)
    for key, cm in cand_m.items():
        parts = [continuous(d).get(key) for d in baseline]
        base_values = [v for m in parts if m is not None for g in _groups(m) for v in g]
        cand_values = [v for g in _groups(cm) for v in g]
        if len(base_values) < 2 or len(cand_values) < 2:
            continue
        b, c = np.asarray(base_values), np.asarray(cand_values)
        tol = cm.tolerance if cm.tolerance is not None else 0.03
        sign = bad_sign_of(cm.direction)
        rel = c.mean() / b.mean() - 1 if b.mean() else 0.0
        worse = (sign * rel >= tol) if sign else (abs(rel) >= tol)
        median_worse = sign * (np.median(c) - np.median(b)) > 0 if sign else True
        p_mw = (
            sps.mannwhitneyu(c, b, alternative="two-sided").pvalue
            if np.ptp(np.concatenate([b, c]))
            else 1.0
        )
        p_t = sps.ttest_ind(c, b).pvalue if np.ptp(np.concatenate([b, c])) else 1.0
        out["gbench"][key] = bool(p_mw < 0.05 and median_worse)
        out["pyperf"][key] = bool(p_t < 0.05 and worse)
        out["threshold"][key] = bool((sign * rel > tol) if sign else abs(rel) > tol)
    return out


def judge_all(
    baseline: Sequence[ResultDocument], candidate: ResultDocument
) -> dict[str, dict[str, bool]]:
    """Per rule, per continuous metric: flagged as regressed?"""
    comparison = compare_documents(list(baseline), candidate)
    engine = {m.key: m.verdict == "Regressed" for m in comparison.metrics if m.kind == "continuous"}
    return {
        "engine": engine,
        "engine-old": old_engine_regressed(baseline[-1], candidate),
        **peer_flags(baseline, candidate),
    }


def worse(doc: ResultDocument, multiple: float = 2.0) -> ResultDocument:
    """Every continuous metric made `multiple` x its tolerance worse (bad direction)."""
    workloads = []
    for w in doc.workloads:
        metrics = []
        for m in w.metrics:
            if m.kind != "continuous":
                metrics.append(m)
                continue
            tol = m.tolerance if m.tolerance is not None else 0.03
            factor = 1 + multiple * tol
            if m.direction == "higher":
                factor = 1 / factor
            samples = tuple(
                replace(g, values=tuple(float(v) * factor for v in g.values)) for g in m.samples
            )
            metrics.append(replace(m, samples=samples))
        workloads.append(replace(w, metrics=tuple(metrics)))
    return replace(doc, workloads=tuple(workloads))


# ---------------------------------------------------------------- comparisons


@dataclass
class Tally:
    runs: int = 0
    run_flagged: dict[str, int] | None = None
    metrics: int = 0
    metric_flagged: dict[str, int] | None = None

    def add(self, judged: dict[str, dict[str, bool]]) -> None:
        self.run_flagged = self.run_flagged or dict.fromkeys(RULES, 0)
        self.metric_flagged = self.metric_flagged or dict.fromkeys(RULES, 0)
        self.runs += 1
        keys = set(judged["engine"])
        self.metrics += len(keys)
        for rule in RULES:
            flags = judged.get(rule, {})
            self.run_flagged[rule] += any(flags.get(k, False) for k in keys)
            self.metric_flagged[rule] += sum(flags.get(k, False) for k in keys)

    def row(self, label: str) -> str:
        if not self.runs or self.run_flagged is None or self.metric_flagged is None:
            return f"| {label} | 0 | " + " | ".join("-" for _ in RULES) + " |"
        share = max(1, self.metrics)
        cells = [
            f"{self.run_flagged[r] / self.runs:.0%} ({self.metric_flagged[r] / share:.1%})"
            for r in RULES
        ]
        return f"| {label} | {self.runs} | " + " | ".join(cells) + " |"


def split_halves(doc: ResultDocument) -> tuple[ResultDocument, ResultDocument]:
    """(control, candidate): even and odd replicates of every metric, in run order."""

    def part(parity: int) -> ResultDocument:
        workloads = []
        for w in doc.workloads:
            metrics = tuple(replace(m, samples=m.samples[parity::2]) for m in w.metrics)
            workloads.append(replace(w, metrics=metrics))
        return replace(doc, workloads=tuple(workloads))

    return part(0), part(1)


def concurrent_rows(docs: Sequence[ResultDocument]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for label, transform in (("A/A", lambda d: d), ("2x tolerance worse", worse)):
        regressed = flagged_metrics = total = 0
        for doc in docs:
            control, cand = split_halves(doc)
            c = compare_concurrent(transform(cand), control)
            rows = [m for m in c.metrics if m.kind == "continuous"]
            total += len(rows)
            flagged_metrics += sum(m.verdict == "Regressed" for m in rows)
            regressed += c.verdict == "Regressed"
        out[label] = {
            "runs": len(docs),
            "run_regressed": regressed / max(1, len(docs)),
            "metric_regressed": flagged_metrics / max(1, total),
        }
    return out


def analyse(items: Sequence[Session], progress: Callable[[str], None]) -> dict[str, Any]:
    docs = [s.doc for s in items]
    report: dict[str, Any] = {
        "sessions": [{"name": s.name, "load": s.load, "seconds": s.seconds} for s in items]
    }
    rows = variance_table(docs)
    report["variance"] = rows
    report["families"] = family_table(rows)
    aa_pairs, aa_three, inj_pairs, inj_three = Tally(), Tally(), Tally(), Tally()
    for i, j in itertools.permutations(range(len(docs)), 2):
        aa_pairs.add(judge_all([docs[i]], docs[j]))
        inj_pairs.add(judge_all([docs[i]], worse(docs[j])))
    progress(f"{len(docs)} sessions: pairs done")
    for j in range(3, len(docs)):
        for k in range(0, j - 2):
            base = docs[k : k + 3]
            aa_three.add(judge_all(base, docs[j]))
            inj_three.add(judge_all(base, worse(docs[j])))
    progress("3-session baselines done")
    report["tallies"] = {
        "A/A, every ordered pair of sessions": aa_pairs,
        "A/A, 3 consecutive sessions vs a later one": aa_three,
        "2x tolerance worse, every ordered pair": inj_pairs,
        "2x tolerance worse, 3 consecutive vs a later one": inj_three,
    }
    report["concurrent"] = concurrent_rows(docs)
    progress("concurrent halves done")
    return report


def render(report: dict[str, Any], title: str) -> str:
    lines = [f"## {title}", "", "| session | load (1 min) before | seconds |", "|---|---|---|"]
    for s in report["sessions"]:
        load = "?" if s["load"] is None else f"{s['load']:.2f}"
        secs = "?" if s["seconds"] is None else f"{s['seconds']:.0f}"
        lines.append(f"| {s['name']} | {load} | {secs} |")
    lines += [
        "",
        "Between-session sd per family (method of moments on session centres, analysis scale):",
        "",
        "| family | metrics | median | 80th pct | max | engine prior |",
        "|---|---|---|---|---|---|",
    ]
    for family, f in report["families"].items():
        lines.append(
            f"| {family} | {f['metrics']} | {f['median']:.2%} | {f['p80']:.2%} | "
            f"{f['max']:.2%} | {f['prior']:.1%} |"
        )
    lines += [
        "",
        "| metric | family | between-session sd | sd of centres | within-session se | tolerance |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["variance"]:
        tol = "" if r["tolerance"] is None else f"{r['tolerance']:.0%}"
        lines.append(
            f"| {r['key']} | {r['family']} | {r['between_sd']:.2%} | {r['centre_sd']:.2%} | "
            f"{r['within_se']:.2%} | {tol} |"
        )
    lines += [
        "",
        "Runs with any continuous metric Regressed (and the share of metrics):",
        "",
        "| comparison | runs | " + " | ".join(RULES) + " |",
        "|---|---|" + "---|" * len(RULES),
    ]
    for label, tally in report["tallies"].items():
        lines.append(tally.row(label))
    lines += [
        "",
        "Concurrent design from real data (even replicates control, odd candidate, paired "
        "by round):",
        "",
        "| case | sessions | runs Regressed | metrics Regressed |",
        "|---|---|---|---|",
    ]
    for label, row in report["concurrent"].items():
        lines.append(
            f"| {label} | {row['runs']} | {row['run_regressed']:.0%} | "
            f"{row['metric_regressed']:.1%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a directory of session-*.json documents")
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=None,
        help="also analyse only sessions whose 1-minute load average before the run was at "
        "most this",
    )
    parser.add_argument("--out", type=Path, default=None, help="write the report as JSON")
    args = parser.parse_args(argv)
    started = time.monotonic()

    def progress(what: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {what}", file=sys.stderr, flush=True)

    items = load_sessions(args.directory)
    if len(items) < 2:
        print(f"{args.directory}: need at least 2 session documents", file=sys.stderr)
        return 2
    parts = [("All sessions", items)]
    if args.quiet_load is not None:
        quiet = [s for s in items if s.load is not None and s.load <= args.quiet_load]
        if len(quiet) >= 2:
            parts.append((f"Sessions with load <= {args.quiet_load:g}", quiet))
    reports = {}
    for title, chosen in parts:
        reports[title] = analyse(chosen, progress)
        print(render(reports[title], title))
        print()
    if args.out is not None:
        plain = {
            title: {**r, "tallies": {k: vars(v) for k, v in r["tallies"].items()}}
            for title, r in reports.items()
        }
        args.out.write_text(json.dumps(plain, indent=2))
    print(f"({time.monotonic() - started:.0f} s; engine settings: {EngineSettings()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
