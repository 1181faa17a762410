"""Detector quality: benchgate's verdict engine against the usual benchmark comparators.

For each noise model, and on the SAME simulated draws, four rules judge runs of 10
metrics (direction "lower", like a time; 3 % tolerance; within-process CV 2 %):

  engine     benchgate's engine (replicate medians, Yuen-Welch, Holm, non-inferiority),
             with its default settings and the P x R plan it recommends itself from a
             pilot baseline of the same noise model;
  gbench     Google Benchmark compare.py's rule: Mann-Whitney U, alpha 0.05, on all
             repetitions pooled as if independent (flagged when p < 0.05 and the median
             moved in the bad direction);
  pyperf     pyperf-style: Student t-test significant at 0.05 on pooled repetitions AND
             relative change of the means >= the tolerance in the bad direction;
  threshold  relative change of the means > the tolerance in the bad direction.

Measured: run-level false-failure rate on A/A runs (any metric flagged), power to flag
one regressed metric (of 10) at 1x, 2x and 4x the tolerance, the engine's inconclusive
rate, and the engine's sequential mode: mean candidate samples to a decision versus the
fixed plan, with its own error rates. The engine functions called here are the ones
`benchgate compare` uses (benchgate.domain.verdict / sampling), vectorised over runs.

    .venv/bin/python bench/detector.py            # default: 1000 runs per cell
    .venv/bin/python bench/detector.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from benchgate.api.result import (
    Metric,
    ReplicateSamples,
    ResultDocument,
    RunIdentity,
    WorkloadResult,
)
from benchgate.domain import sampling, verdict
from benchgate.domain.verdict import EngineSettings

TOLERANCE = 0.03
CV_WITHIN = 0.02
SD_BETWEEN = 0.015
METRICS = 10
ALPHA = 0.05
MULTIPLES = (1, 2, 4)

Array = np.ndarray[Any, Any]


# --------------------------------------------------------------------- noise models
# Each returns positive values of shape (runs, metrics, replicates, repetitions) with a
# centre of 1 and a within-process coefficient of variation of 2 %.


def _normal(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    return 1 + rng.normal(0, CV_WITHIN, shape)


def _lognormal(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    sigma = math.sqrt(math.log1p(CV_WITHIN**2))
    return np.exp(rng.normal(-(sigma**2) / 2, sigma, shape))


def _student_t3(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    # t3 has variance 3; scale to 2 % sd. Clip the (1e-6) draws that would go below 0.5.
    return np.maximum(0.5, 1 + CV_WITHIN / math.sqrt(3) * rng.standard_t(3, shape))


def _outliers(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    # 5 % of repetitions hit a slow outlier 10-50 % above the rest (a preempted CPU, a
    # page-cache miss); outliers on timings are one-sided.
    base = 1 + rng.normal(0, CV_WITHIN, shape)
    hit = rng.random(shape) < 0.05
    return base * np.where(hit, 1 + rng.uniform(0.1, 0.5, shape), 1.0)


def _bimodal(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    # Two modes 3.46 % apart, each with 1 % sd: total CV 2 % (per repetition).
    gap = 2 * math.sqrt(CV_WITHIN**2 - 0.01**2)
    return 1 + rng.normal(0, 0.01, shape) + gap * (rng.random(shape) < 0.5) - gap / 2


def _drift(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    # A slow drift within a run (thermal, a filling cache): each run's samples slow down
    # linearly by D ~ U(0, 3 %) from its first to its last sample, in collection order.
    runs, _, reps, reps_in = shape
    order = np.arange(reps * reps_in).reshape(reps, reps_in) / max(1, reps * reps_in - 1)
    slope = rng.uniform(0, 0.03, (runs, 1, 1, 1))
    return (1 + rng.normal(0, CV_WITHIN, shape)) * (1 + slope * order)


def _hierarchical(rng: np.random.Generator, shape: tuple[int, ...]) -> Array:
    offsets = rng.normal(0, SD_BETWEEN, (*shape[:3], 1))
    return (1 + offsets) * (1 + rng.normal(0, CV_WITHIN, shape))


MODELS: dict[str, Callable[[np.random.Generator, tuple[int, ...]], Array]] = {
    "normal": _normal,
    "lognormal": _lognormal,
    "student_t3": _student_t3,
    "outliers_5pct": _outliers,
    "bimodal": _bimodal,
    "drift": _drift,
    "hierarchical": _hierarchical,
}


# -------------------------------------------------------------------------- rules


def engine_codes(base: Array, cand: Array) -> Array:
    """Per-metric verdict codes of the engine, (runs, metrics)."""
    sb = np.median(np.log(base), axis=-1)
    sc = np.median(np.log(cand), axis=-1)
    tests = verdict.continuous_tests(sb, sc, margin=math.log1p(TOLERANCE), bad_sign=1)
    return verdict.decide_fixed(tests, ALPHA, metric_axis=-1)


def _pooled(x: Array) -> Array:
    return x.reshape(*x.shape[:2], -1)


def gbench_flags(base: Array, cand: Array) -> Array:
    b, c = _pooled(base), _pooled(cand)
    p = sps.mannwhitneyu(c, b, alternative="two-sided", axis=-1).pvalue
    return (p < 0.05) & (np.median(c, axis=-1) > np.median(b, axis=-1))


def pyperf_flags(base: Array, cand: Array) -> Array:
    b, c = _pooled(base), _pooled(cand)
    p = sps.ttest_ind(c, b, axis=-1).pvalue
    change = c.mean(axis=-1) / b.mean(axis=-1) - 1
    return (p < 0.05) & (change >= TOLERANCE)


def threshold_flags(base: Array, cand: Array) -> Array:
    b, c = _pooled(base), _pooled(cand)
    return c.mean(axis=-1) / b.mean(axis=-1) - 1 > TOLERANCE


# ----------------------------------------------------------------------- harness


@dataclass
class Cell:
    false_failure: float
    power: dict[int, float]
    inconclusive_aa: float | None
    inconclusive: dict[int, float]


def pilot_document(
    model: str, rng: np.random.Generator, replicates: int = 10, repetitions: int = 5
) -> ResultDocument:
    draws = MODELS[model](rng, (1, METRICS, replicates, repetitions))[0]
    metrics = tuple(
        Metric(
            name=f"m{j}",
            unit="s",
            direction="lower",
            kind="continuous",
            tolerance=TOLERANCE,
            samples=tuple(
                ReplicateSamples(f"proc-{i}", tuple(map(float, draws[j, i])))
                for i in range(replicates)
            ),
        )
        for j in range(METRICS)
    )
    return ResultDocument(
        run=RunIdentity(suite="bench"),
        workloads=(
            WorkloadResult(
                name="sim", size="tiny", status="ok", duration_seconds=0.0, metrics=metrics
            ),
        ),
    )


def simulate(model: str, runs: int, plan: tuple[int, int], seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    p, r = plan
    gen = MODELS[model]
    shape = (runs, METRICS, p, r)
    base = gen(rng, shape)
    cand_noise = gen(rng, shape)
    out: dict[str, Any] = {"rules": {}}
    shifts = {0: 0.0, **{k: k * TOLERANCE for k in MULTIPLES}}
    rules = {"gbench": gbench_flags, "pyperf": pyperf_flags, "threshold": threshold_flags}
    results: dict[str, dict[str, Any]] = {
        name: {"power": {}, "run_flagged": {}} for name in ("engine", *rules)
    }
    for k, shift in shifts.items():
        cand = cand_noise.copy()
        cand[:, 0] *= 1 + shift  # metric 0 regresses (times grow); the other 9 do not
        codes = engine_codes(base, cand)
        overall = verdict.overall_code(codes, axis=-1)
        e = results["engine"]
        if k == 0:
            e["false_failure"] = float((overall == verdict.REGRESSED).mean())
            e["inconclusive_aa"] = float((overall == verdict.INCONCLUSIVE).mean())
            e["passed_aa"] = float((overall == verdict.PASSED).mean())
        else:
            e["power"][k] = float((codes[:, 0] == verdict.REGRESSED).mean())
            e["run_flagged"][k] = float((overall == verdict.REGRESSED).mean())
            e.setdefault("inconclusive", {})[k] = float((overall == verdict.INCONCLUSIVE).mean())
        for name, rule in rules.items():
            flags = rule(base, cand)
            if k == 0:
                results[name]["false_failure"] = float(flags.any(axis=-1).mean())
            else:
                results[name]["power"][k] = float(flags[:, 0].mean())
                results[name]["run_flagged"][k] = float(flags.any(axis=-1).mean())
    out["rules"] = results
    return out


def simulate_sequential(
    model: str, runs: int, plan: tuple[int, int], seq_plan: tuple[int, int], seed: int
) -> dict[str, Any]:
    """Sequential mode: baseline complete (fixed plan), candidate collected look by look
    up to the sequential plan's cap; compared with the fixed plan's candidate samples."""
    rng = np.random.default_rng(seed)
    p, r = plan
    cap = seq_plan[0]
    looks = sampling.look_schedule(cap, first=EngineSettings().min_replicates)
    gen = MODELS[model]
    base = np.median(np.log(gen(rng, (runs, METRICS, p, r))), axis=-1)
    noise = gen(rng, (runs, METRICS, cap, r))
    out: dict[str, Any] = {"looks": list(looks), "by_change": {}}
    for k in (0, 2, 4):
        cand_raw = noise.copy()
        cand_raw[:, 0] *= 1 + k * TOLERANCE
        cand = np.median(np.log(cand_raw), axis=-1)
        codes, _ = sampling.look_codes(
            base,
            cand,
            looks,
            margin=math.log1p(TOLERANCE),
            bad_sign=1,
            alpha=ALPHA,
            metric_count=METRICS,
        )
        stop = sampling.run_stop_look(codes)  # (runs,)
        at_stop = np.take_along_axis(codes, stop[:, None, None], axis=-1)[..., 0]
        overall = verdict.overall_code(at_stop, axis=-1)
        samples = np.asarray(looks)[stop] * r
        out["by_change"][k] = {
            "mean_samples": float(samples.mean()),
            "regressed_metric0": float((at_stop[:, 0] == verdict.REGRESSED).mean()),
            "run_regressed": float((overall == verdict.REGRESSED).mean()),
            "inconclusive": float((overall == verdict.INCONCLUSIVE).mean()),
            "passed": float((overall == verdict.PASSED).mean()),
        }
    fixed = p * r
    mean = float(np.mean([v["mean_samples"] for v in out["by_change"].values()]))
    out["fixed_samples"] = fixed
    out["mean_samples_avg"] = mean
    out["ratio_to_fixed"] = mean / fixed
    return out


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def render(report: dict[str, Any]) -> str:
    lines = [
        f"Runs per cell: {report['runs']}; {METRICS} metrics per run; tolerance "
        f"{TOLERANCE:.0%}; within-process CV {CV_WITHIN:.0%}; hierarchical between-process "
        f"sd {SD_BETWEEN:.1%}; engine confidence {1 - ALPHA:.0%}.",
        "",
        "| noise model | plan PxR | rule | A/A false-fail (run) | power 1x | power 2x | "
        "power 4x | engine inconclusive A/A | engine inconclusive 2x |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model, res in report["models"].items():
        p, r = res["plan"]["replicates"], res["plan"]["repetitions"]
        for name, rule in res["fixed"]["rules"].items():
            inc_aa = rule.get("inconclusive_aa")
            inc2 = rule.get("inconclusive", {}).get(2)
            lines.append(
                f"| {model} | {p}x{r} | {name} | {_pct(rule['false_failure'])} | "
                f"{_pct(rule['power'][1])} | {_pct(rule['power'][2])} | "
                f"{_pct(rule['power'][4])} | {_pct(inc_aa) if name == 'engine' else '-'} | "
                f"{_pct(inc2) if name == 'engine' else '-'} |"
            )
    for label, res in report.get("extra", {}).items():
        p, r = res["plan"]["replicates"], res["plan"]["repetitions"]
        for name, rule in res["fixed"]["rules"].items():
            inc_aa = rule.get("inconclusive_aa")
            inc2 = rule.get("inconclusive", {}).get(2)
            lines.append(
                f"| {label} | {p}x{r} | {name} | {_pct(rule['false_failure'])} | "
                f"{_pct(rule['power'][1])} | {_pct(rule['power'][2])} | "
                f"{_pct(rule['power'][4])} | {_pct(inc_aa) if name == 'engine' else '-'} | "
                f"{_pct(inc2) if name == 'engine' else '-'} |"
            )
    lines += [
        "",
        "Sequential mode (engine; candidate collected in looks, baseline complete):",
        "",
        "| noise model | looks (replicates) | fixed samples | mean samples @0 | @2x | @4x | "
        "avg / fixed | A/A false-fail | A/A inconclusive | power 2x | power 4x |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, res in report["models"].items():
        s = res["sequential"]
        b = s["by_change"]
        lines.append(
            f"| {model} | {','.join(map(str, s['looks']))} | {s['fixed_samples']} | "
            f"{b[0]['mean_samples']:.1f} | {b[2]['mean_samples']:.1f} | "
            f"{b[4]['mean_samples']:.1f} | {s['ratio_to_fixed']:.0%} | "
            f"{_pct(b[0]['run_regressed'])} | {_pct(b[0]['inconclusive'])} | "
            f"{_pct(b[2]['regressed_metric0'])} | {_pct(b[4]['regressed_metric0'])} |"
        )
    lines += ["", "Plans the engine recommended (from a 10x5 pilot baseline of each model):", ""]
    for model, res in report["models"].items():
        lines.append(f"- **{model}**: {res['plan']['why']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="simulated runs per cell")
    parser.add_argument("--quick", action="store_true", help="smoke run (100 runs per cell)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "detector.json"
    )
    args = parser.parse_args(argv)
    runs = 100 if args.quick else args.runs
    started = time.monotonic()
    report: dict[str, Any] = {
        "runs": runs,
        "seed": args.seed,
        "tolerance": TOLERANCE,
        "cv_within": CV_WITHIN,
        "sd_between": SD_BETWEEN,
        "metrics": METRICS,
        "models": {},
    }
    for i, model in enumerate(args.models):
        seed = args.seed + 1000 * i
        pilot = pilot_document(model, np.random.default_rng(seed))
        plan = sampling.recommend_plan(pilot, EngineSettings(), max_samples=30)
        pr = (plan.replicates, plan.repetitions)
        seq = sampling.sequential_plan(plan, max_samples=30)
        seq_pr = (seq.replicates, seq.repetitions)
        report["models"][model] = {
            "plan": {
                "replicates": plan.replicates,
                "repetitions": plan.repetitions,
                "expected_power": plan.expected_power,
                "why": plan.why,
            },
            "fixed": simulate(model, runs, pr, seed + 1),
            "sequential": simulate_sequential(model, runs, pr, seq_pr, seed + 2),
        }
        print(
            f"[{time.monotonic() - started:5.1f}s] {model}: plan {pr[0]}x{pr[1]}", file=sys.stderr
        )
    if "hierarchical" in args.models:
        # The common hand-made design -- a few processes, many repetitions each -- on the
        # hierarchical model: this is where pooling repetitions as independent hurts.
        seed = args.seed + 999
        report["extra"] = {
            "hierarchical @ 5x6 (hand-picked plan)": {
                "plan": {"replicates": 5, "repetitions": 6},
                "fixed": simulate("hierarchical", runs, (5, 6), seed),
            }
        }
    report["elapsed_seconds"] = time.monotonic() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(render(report))
    print(f"\n(JSON: {args.out}; {report['elapsed_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
