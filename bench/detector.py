"""Detector quality: benchgate's verdict engine against its predecessor and the usual rules.

Every cell draws simulated runs once and lets every rule judge the SAME draws. Metrics are
"lower is better" (like a time), the tolerance is 3 %, the within-process CV 2 %.

  engine      benchgate's engine as `benchgate compare` runs it (benchgate.domain.batch,
              the vectorised form of the same functions: replicate means, session
              component, slow-subset test, Westfall-Young max-T), default settings except
              where a cell says both sides ran in one session (session_sd=0);
  engine-oracle  (section 2, stored baselines) the engine told the true session sd
              (session_sd = the simulated one): the best any rule can do with one
              candidate session, since the candidate's own offset never averages out;
  engine-old  the engine before the session level (median of repetitions, 20 %-trimmed
              Yuen test of one session against one session, Holm);
  gbench      Google Benchmark compare.py's rule: Mann-Whitney U, alpha 0.05, on all
              repetitions pooled as if independent (flagged when p < 0.05 and the median
              moved in the bad direction);
  pyperf      pyperf-style: Student t-test significant at 0.05 on pooled repetitions AND
              relative change of the means >= the tolerance in the bad direction;
  threshold   relative change of the means > the tolerance in the bad direction.

Sections
  1. within one session: seven noise models (as before), plan from the engine's planner;
     plus the engine's sequential mode.
  2. across sessions: session offsets with sd 1 % and 3 % (half shared by all metrics of a
     session, half per metric), process offsets 1.5 % (half shared by a process's
     metrics); designs: stored baseline of 1 session (the prior judges) and of 3 sessions
     (estimated and pooled), 10 x 3 per session -- the planner finds no plan that reaches
     the target there -- and a concurrent control with the plan the engine recommends
     for it (<= 30 samples per side; same session, node offsets of the assumed 0.5 % --
     once 1 %, once 0 on one machine --, round effects that pairing cancels); at 10 and
     100 metrics per run.
  3. special cases: position effects (the median's artefact), slow subsets (1 of 8 GPUs
     25 % slower; 2 of 20 processes 20-55 % slower), a step change inside the candidate's
     session, and max-T against Holm on correlated metrics.

Measured: run-level false-regression rate on A/A runs (any metric Regressed), power to
flag metric 0 at 1x, 2x and 4x the tolerance, the engine's inconclusive rate.

    .venv/bin/python bench/detector.py            # default: 1000 runs per cell
    .venv/bin/python bench/detector.py --quick    # CI smoke run: 100 runs per cell
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import replace
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
from benchgate.domain import batch, sampling, sessions, stats, verdict
from benchgate.domain.verdict import EngineSettings

TOLERANCE = 0.03
CV_WITHIN = 0.02
SD_BETWEEN = 0.015
METRICS = 10
ALPHA = 0.05
MULTIPLES = (1, 2, 4)
QUICK_MULTIPLES = (2,)  # --quick: A/A and 2x tolerance only (what the targets need)
MARGIN = math.log1p(TOLERANCE)
PRIOR_SD = sessions.SESSION_PRIOR_SD["latency"]  # the bench's metrics are times
NODE_SD = sessions.NODE_PRIOR_SD["latency"]
SAME_SESSION = EngineSettings(session_sd=0.0)
CHUNK = 25  # runs judged at once (the max-T draws are runs x 2000 x metrics)

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


def engine_codes(
    base: Array,
    cand: Array,
    settings: EngineSettings = SAME_SESSION,
    *,
    control: Array | None = None,
) -> Array:
    """The engine's per-metric codes, (runs, metrics). base: (runs, m, S, P, R) raw values
    (or (runs, m, P, R): one session); cand and control: (runs, m, P, R)."""
    if base.ndim == 4:
        base = base[:, :, None]
    out = []
    for lo in range(0, base.shape[0], CHUNK):
        sl = slice(lo, lo + CHUNK)
        result = batch.judge_batch(
            batch.summaries(base[sl]),
            batch.summaries(cand[sl]),
            margin=MARGIN,
            bad_sign=1,
            settings=settings,
            prior_sd=PRIOR_SD,
            control=None if control is None else batch.summaries(control[sl]),
            node_sd=NODE_SD,
            base_floors=batch.floors(base[sl], 1),
            cand_floors=batch.floors(cand[sl], 1),
            control_floors=None if control is None else batch.floors(control[sl], 1),
            base_reps=_flat_reps(base[sl]),
            control_reps=None if control is None else _flat_reps(control[sl]),
            repetitions=cand.shape[-1],
        )
        out.append(result.codes)
    return np.concatenate(out)


def _flat_reps(x: Array) -> Array:
    """(..., P, R) raw values -> (..., P*R) logs: every repetition, for the subset tail."""
    return np.log(x).reshape(*x.shape[:-2], -1)


def engine_old_codes(base: Array, cand: Array) -> Array:
    """The engine before sessions: medians, one session against one, Holm."""
    if base.ndim == 5:  # several baseline sessions: the old engine saw one pooled sample
        base = base.reshape(*base.shape[:2], -1, base.shape[-1])
    sb = np.median(np.log(base), axis=-1)
    sc = np.median(np.log(cand), axis=-1)
    tests = verdict.continuous_tests(sb, sc, margin=MARGIN, bad_sign=1)
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


PEERS = {"gbench": gbench_flags, "pyperf": pyperf_flags, "threshold": threshold_flags}
RULES = ("engine", "engine-old", *PEERS)
SESSION_RULES = ("engine", "engine-oracle", "engine-old", *PEERS)


# ----------------------------------------------------------------------- harness

_QUICK = False


def _multiples() -> tuple[int, ...]:
    return QUICK_MULTIPLES if _QUICK else MULTIPLES


def _judge_all(
    base: Array,
    cand: Array,
    settings: EngineSettings,
    *,
    control: Array | None = None,
    rules: tuple[str, ...] = RULES,
    oracle: EngineSettings | None = None,
) -> dict[str, Array]:
    """Per rule, (runs, metrics) booleans "flagged as a regression" or engine codes."""
    reference = control if control is not None else base
    out: dict[str, Array] = {}
    if "engine" in rules:
        out["engine"] = engine_codes(base, cand, settings, control=control)
    if oracle is not None:
        out["engine-oracle"] = engine_codes(base, cand, oracle, control=control)
    if "engine-old" in rules:
        out["engine-old"] = engine_old_codes(reference, cand)
    pooled_ref = reference.reshape(*reference.shape[:2], -1, reference.shape[-1])
    for name, rule in PEERS.items():
        if name in rules:
            out[name] = rule(pooled_ref, cand)
    return out


def _rates(
    judged_by_shift: dict[int, dict[str, Array]], rules: tuple[str, ...] = RULES
) -> dict[str, dict[str, Any]]:
    """Run-level false regressions (shift 0), power on metric 0, inconclusive shares."""
    results: dict[str, dict[str, Any]] = {}
    for name in rules:
        r: dict[str, Any] = {"power": {}, "run_flagged": {}, "inconclusive": {}}
        for k, judged in judged_by_shift.items():
            x = judged[name]
            coded = name.startswith("engine")
            flagged = (x == verdict.REGRESSED) if coded else x.astype(bool)
            if k == 0:
                r["false_failure"] = float(flagged.any(axis=-1).mean())
                if coded:
                    overall = verdict.overall_code(x, axis=-1)
                    r["inconclusive_aa"] = float((overall == verdict.INCONCLUSIVE).mean())
                    r["passed_aa"] = float((overall == verdict.PASSED).mean())
            else:
                r["power"][k] = float(flagged[:, 0].mean())
                r["run_flagged"][k] = float(flagged.any(axis=-1).mean())
                if coded:
                    overall = verdict.overall_code(x, axis=-1)
                    r["inconclusive"][k] = float((overall == verdict.INCONCLUSIVE).mean())
        results[name] = r
    return results


def pilot_document(
    model: str,
    rng: np.random.Generator,
    replicates: int = 10,
    repetitions: int = 5,
    metrics_count: int = METRICS,
) -> ResultDocument:
    draws = MODELS[model](rng, (1, metrics_count, replicates, repetitions))[0]
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
        for j in range(metrics_count)
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
    """Section 1: one session, both sides; metric 0 shifted by k x tolerance."""
    rng = np.random.default_rng(seed)
    p, r = plan
    gen = MODELS[model]
    shape = (runs, METRICS, p, r)
    base = gen(rng, shape)
    cand_noise = gen(rng, shape)
    judged: dict[int, dict[str, Array]] = {}
    for k in (0, *_multiples()):
        cand = cand_noise.copy()
        cand[:, 0] *= 1 + k * TOLERANCE  # metric 0 regresses (times grow)
        judged[k] = _judge_all(base, cand, SAME_SESSION)
    return {"rules": _rates(judged)}


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
    base = batch.summaries(gen(rng, (runs, METRICS, p, r)))
    noise = gen(rng, (runs, METRICS, cap, r))
    out: dict[str, Any] = {"looks": list(looks), "by_change": {}}
    for k in (0, 2, 4):
        cand_raw = noise.copy()
        cand_raw[:, 0] *= 1 + k * TOLERANCE
        cand = batch.summaries(cand_raw)
        codes, _ = sampling.look_codes(
            base,
            cand,
            looks,
            margin=MARGIN,
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


# ----------------------------------------------------------- section 2: sessions

SHARED = 0.5  # share of a session's (node's, process's) offset variance common to its metrics
STORED_PLAN = (10, 3)  # replicates x repetitions per session for the stored designs
ROUND_SD = 0.01  # per-round disturbance shared by candidate and control (cancels in pairs)


def _offsets(rng: np.random.Generator, runs: int, metrics: int, sd: float) -> Array:
    """(runs, metrics, 1, 1) log offsets: part shared by the run's metrics, part not."""
    shared = rng.normal(0, 1, (runs, 1, 1, 1))
    own = rng.normal(0, 1, (runs, metrics, 1, 1))
    return sd * (math.sqrt(SHARED) * shared + math.sqrt(1 - SHARED) * own)


def _processes(rng: np.random.Generator, runs: int, metrics: int, p: int, r: int) -> Array:
    """Hierarchical noise whose process offsets (sd 1.5 %) are half shared by every metric
    of a process (a slow process is slow at everything), within CV 2 %."""
    shared = rng.normal(0, 1, (runs, 1, p, 1))
    own = rng.normal(0, 1, (runs, metrics, p, 1))
    offsets = SD_BETWEEN * (math.sqrt(SHARED) * shared + math.sqrt(1 - SHARED) * own)
    return np.exp(offsets + rng.normal(0, CV_WITHIN, (runs, metrics, p, r)))


def _session_draw(
    rng: np.random.Generator, runs: int, metrics: int, session_sd: float, p: int, r: int
) -> Array:
    """One session of hierarchical noise with its own session offset."""
    values = _processes(rng, runs, metrics, p, r)
    return values * np.exp(_offsets(rng, runs, metrics, session_sd))


def simulate_sessions(
    design: str,
    session_sd: float,
    metrics: int,
    runs: int,
    seed: int,
    plan: tuple[int, int],
    node_sd: float = NODE_SD,
    settings: EngineSettings | None = None,
) -> dict[str, Any]:
    """Section 2: one cell. design: stored-1, stored-3 or concurrent."""
    settings = settings or EngineSettings()
    rng = np.random.default_rng(seed)
    p, r = plan
    control = None
    if design == "concurrent":
        # Candidate and control share the session and each round's disturbance; each is
        # on its own node of one platform.
        session = _offsets(rng, runs, metrics, session_sd)
        rounds = rng.normal(0, ROUND_SD, (runs, 1, p, 1))
        shared = session + rounds
        control = _processes(rng, runs, metrics, p, r) * np.exp(
            shared + _offsets(rng, runs, metrics, node_sd)
        )
        cand_noise = _processes(rng, runs, metrics, p, r) * np.exp(
            shared + _offsets(rng, runs, metrics, node_sd)
        )
        base = np.stack(
            [_session_draw(rng, runs, metrics, session_sd, p, r) for _ in range(3)], axis=2
        )
    else:
        n = int(design.split("-")[1])
        base = np.stack(
            [_session_draw(rng, runs, metrics, session_sd, p, r) for _ in range(n)], axis=2
        )
        cand_noise = _session_draw(rng, runs, metrics, session_sd, p, r)
    # The oracle knows the simulated session sd exactly (as a known value: infinite df).
    oracle = None if control is not None else EngineSettings(session_sd=session_sd)
    rules = RULES if oracle is None else SESSION_RULES
    judged: dict[int, dict[str, Array]] = {}
    for k in (0, *_multiples()):
        cand = cand_noise.copy()
        cand[:, 0] *= 1 + k * TOLERANCE
        judged[k] = _judge_all(base, cand, settings, control=control, oracle=oracle)
    return {"rules": _rates(judged, rules)}


# ------------------------------------------------------- section 3: special cases


def simulate_position(runs: int, seed: int) -> dict[str, Any]:
    """The median's artefact: three repetition positions with their own levels, the same
    in every replicate of a side; the candidate's pattern differs while its mean moves
    +0.33 % (base [0, 0, +10 %], candidate [-9 %, +10 %, +10 %], as logs)."""
    rng = np.random.default_rng(seed)
    p = 10
    shape = (runs, METRICS, p, 3)
    base = np.exp(np.array([0.0, 0.0, 0.10]) + rng.normal(0, 0.005, shape))
    cand_noise = np.exp(np.array([-0.09, 0.10, 0.10]) + rng.normal(0, 0.005, shape))
    # Only metric 0 carries the pattern change; the others are plain A/A.
    cand_noise[:, 1:] = np.exp(np.array([0.0, 0.0, 0.10]) + rng.normal(0, 0.005, shape))[:, 1:]
    judged: dict[int, dict[str, Array]] = {}
    for k in (0, 2):
        cand = cand_noise.copy()
        cand[:, 0] *= 1 + k * TOLERANCE
        judged[k] = _judge_all(base, cand, SAME_SESSION)
    return {"rules": _rates(judged)}


def simulate_subset(
    runs: int, seed: int, *, replicates: int, slow: int, low: float, high: float
) -> dict[str, Any]:
    """`slow` of `replicates` candidate replicates (GPUs, processes) slower by U(low, high)
    on every metric; session offsets 1 %, stored baseline of one session (the prior)."""
    rng = np.random.default_rng(seed)
    r = 3
    base = _session_draw(rng, runs, METRICS, 0.01, replicates, r)
    cand_noise = _session_draw(rng, runs, METRICS, 0.01, replicates, r)
    # Slow units sit anywhere in the collection order (a GPU index, a process), each run
    # its own; the same factor on every metric of a unit.
    hit = cand_noise.copy()
    for run in range(runs):
        units = rng.choice(replicates, size=slow, replace=False)
        # hit[run, :, units] has the units first: (slow, metrics, repetitions).
        hit[run, :, units] *= 1 + rng.uniform(low, high, (slow, 1, 1))
    judged = {
        0: _judge_all(base, cand_noise, EngineSettings()),
        1: _judge_all(base, hit, EngineSettings()),
    }
    out: dict[str, Any] = {}
    for name in RULES:
        coded = name.startswith("engine")
        flag = {
            k: (v[name] == verdict.REGRESSED) if coded else v[name].astype(bool)
            for k, v in judged.items()
        }
        out[name] = {
            "false_failure": float(flag[0].any(axis=-1).mean()),
            "caught": float(flag[1].any(axis=-1).mean()),
        }
    return out


def simulate_step(runs: int, seed: int, step: float = 0.05) -> dict[str, Any]:
    """A step inside the candidate's session: its later half of replicates `step` slower.
    Reports how often the engine's change-point note fires (metric 0), with and without."""
    rng = np.random.default_rng(seed)
    p, r = 16, 3
    cand = _hierarchical(rng, (runs, 1, p, r))
    stepped = cand.copy()
    stepped[:, :, p // 2 :] *= 1 + step
    rates = {}
    for label, data in (("no step", cand), (f"step +{step:.0%}", stepped)):
        summ = batch.summaries(data)[:, 0]
        rates[label] = float(np.mean([stats.step_change(s) is not None for s in summ]))
        rates[label + " (trend test)"] = float(
            np.mean([stats.order_trend(s) is not None for s in summ])
        )
    return rates


MAXT_OFFSET_SD = 0.01
MAXT_WITHIN = 0.01


def simulate_maxt(runs: int, seed: int, metrics: int) -> dict[str, Any]:
    """max-T against Holm, same draws: 10 processes per side, one session. Each process's
    offset (sd 1 %) is shared by every metric it measures (a slow process is slow at
    everything) -- the correlation max-T uses; repetitions vary 1 % on their own."""
    rng = np.random.default_rng(seed)
    p, r = 10, 3
    shape = (runs, metrics, p, r)

    def draw() -> Array:
        offsets = rng.normal(0, MAXT_OFFSET_SD, (runs, 1, p, 1))
        return np.exp(offsets + rng.normal(0, MAXT_WITHIN, shape))

    base, cand_noise = draw(), draw()
    out: dict[str, Any] = {}
    for label, settings in (
        ("max-T", SAME_SESSION),
        ("Holm", replace(SAME_SESSION, multiplicity="holm")),
    ):
        res: dict[str, float] = {}
        for k in (0, 2):
            cand = cand_noise.copy()
            cand[:, 0] *= 1 + k * TOLERANCE
            codes = engine_codes(base, cand, settings)
            if k == 0:
                res["false_failure"] = float((codes == verdict.REGRESSED).any(axis=-1).mean())
            else:
                res["power"] = float((codes[:, 0] == verdict.REGRESSED).mean())
        out[label] = res
    return out


# ------------------------------------------------------------------------ report


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def _row(label: str, plan: str, name: str, rule: dict[str, Any]) -> str:
    coded = name.startswith("engine")
    inc_aa = rule.get("inconclusive_aa")
    inc2 = rule.get("inconclusive", {}).get(2)
    return (
        f"| {label} | {plan} | {name} | {_pct(rule['false_failure'])} | "
        f"{_pct(rule['power'].get(1))} | {_pct(rule['power'].get(2))} | "
        f"{_pct(rule['power'].get(4))} | {_pct(inc_aa) if coded else '-'} | "
        f"{_pct(inc2) if coded else '-'} |"
    )


HEADER = [
    "| cell | plan PxR | rule | A/A false-fail (run) | power 1x | power 2x | power 4x | "
    "inconclusive A/A | inconclusive 2x |",
    "|---|---|---|---|---|---|---|---|---|",
]


def render(report: dict[str, Any]) -> str:
    lines = [
        f"Runs per cell: {report['runs']}; seed {report['seed']}; tolerance "
        f"{TOLERANCE:.0%}; within-process CV {CV_WITHIN:.0%}; engine confidence "
        f"{1 - ALPHA:.0%}; session prior {PRIOR_SD:.1%}, node assumption {NODE_SD:.1%} "
        "(latency family).",
        "",
        f"### 1. Within one session ({METRICS} metrics per run; engine told session_sd=0)",
        "",
        *HEADER,
    ]
    for model, res in report["models"].items():
        plan = f"{res['plan']['replicates']}x{res['plan']['repetitions']}"
        for name, rule in res["fixed"]["rules"].items():
            lines.append(_row(model, plan, name, rule))
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
    lines += [
        "",
        "### 2. Across sessions (engine defaults: session component from the baseline / prior)",
        "",
        *HEADER,
    ]
    for label, res in report["sessions"].items():
        plan = f"{res['plan'][0]}x{res['plan'][1]}"
        for name, rule in res["rules"].items():
            lines.append(_row(label, plan, name, rule))
    special = report["special"]
    lines += ["", "### 3. Special cases", "", *HEADER]
    for name, rule in special["position"]["rules"].items():
        lines.append(_row("position effects (mean +0.33 %)", "10x3", name, rule))
    lines += [
        "",
        "| slow subset | rule | A/A false-fail (run) | caught (run Regressed) |",
        "|---|---|---|---|",
    ]
    for label, res in special["subset"].items():
        for name, rule in res.items():
            lines.append(
                f"| {label} | {name} | {_pct(rule['false_failure'])} | {_pct(rule['caught'])} |"
            )
    lines += ["", "| step inside the candidate's session | note fires |", "|---|---|"]
    for label, rate in special["step"].items():
        lines.append(f"| {label} | {_pct(rate)} |")
    lines += [
        "",
        "| max-T vs Holm (10 processes/side, correlated metrics) | metrics | A/A false-fail "
        "| power 2x |",
        "|---|---|---|---|",
    ]
    for m, res in special["maxt"].items():
        for label, rule in res.items():
            lines.append(
                f"| {label} | {m} | {_pct(rule['false_failure'])} | {_pct(rule['power'])} |"
            )
    lines += ["", "### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for target in report["targets"]:
        lines.append(
            f"| {target['what']} | {target['measured']} | {'yes' if target['met'] else 'NO'} |"
        )
    lines += ["", "Plans the engine recommended (from a 10x5 pilot baseline of each model):", ""]
    for model, res in report["models"].items():
        lines.append(f"- **{model}**: {res['plan']['why']}")
    for label, why in report.get("session_plans", {}).items():
        lines.append(f"- **{label}** (hierarchical pilot): {why}")
    return "\n".join(lines)


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    cells = report["sessions"]
    worst_ff = max(res["rules"]["engine"]["false_failure"] for res in cells.values())
    out.append(
        {
            "what": "false regressions <= 1 % with session offsets (every section-2 cell)",
            "measured": _pct(worst_ff),
            "met": worst_ff <= 0.01,
        }
    )
    for design in ("stored-3", "concurrent"):
        powers = {
            label: res["rules"]["engine"]["power"][2]
            for label, res in cells.items()
            if res["design"] == design
        }
        low = min(powers.values())
        out.append(
            {
                "what": f"power >= 90 % at 2x tolerance, {design} (every sd and metric count)",
                "measured": ", ".join(f"{k}: {_pct(v)}" for k, v in powers.items()),
                "met": low >= 0.9,
            }
        )
    caught = report["special"]["subset"]["1 of 8 at 25 %"]["engine"]["caught"]
    out.append(
        {
            "what": "a 1-of-8 slow GPU at 25 % caught >= 90 %",
            "measured": _pct(caught),
            "met": caught >= 0.9,
        }
    )
    return out


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
    global _QUICK
    _QUICK = args.quick
    started = time.monotonic()

    def progress(what: str) -> None:
        print(f"[{time.monotonic() - started:5.1f}s] {what}", file=sys.stderr, flush=True)

    report: dict[str, Any] = {
        "runs": runs,
        "seed": args.seed,
        "tolerance": TOLERANCE,
        "cv_within": CV_WITHIN,
        "sd_between": SD_BETWEEN,
        "metrics": METRICS,
        "models": {},
        "sessions": {},
    }
    for i, model in enumerate(args.models):
        seed = args.seed + 1000 * i
        pilot = pilot_document(model, np.random.default_rng(seed))
        plan = sampling.recommend_plan(pilot, SAME_SESSION, max_samples=30)
        pr = (plan.replicates, plan.repetitions)
        seq = sampling.sequential_plan(plan, max_samples=30)
        report["models"][model] = {
            "plan": {
                "replicates": plan.replicates,
                "repetitions": plan.repetitions,
                "expected_power": plan.expected_power,
                "why": plan.why,
            },
            "fixed": simulate(model, runs, pr, seed + 1),
            "sequential": simulate_sequential(
                model, runs, pr, (seq.replicates, seq.repetitions), seed + 2
            ),
        }
        progress(f"{model}: plan {pr[0]}x{pr[1]}")
    cells = [
        (design, sd, m, NODE_SD)
        for m in (10, 100)
        for sd in (0.01, 0.03)
        for design in ("stored-1", "stored-3", "concurrent")
    ]
    cells += [("concurrent", 0.03, 10, 2 * NODE_SD), ("concurrent", 0.03, 10, 0.0)]
    plans: dict[tuple[str, int, float], tuple[int, int]] = {}
    for j, (design, sd, m, node) in enumerate(cells):
        label = f"{design}, session sd {sd:.0%}, {m} metrics"
        settings = EngineSettings()
        if node == 0:
            label += ", one machine (node sd 0, engine told node_sd=0)"
            settings = EngineSettings(node_sd=0.0)
        elif node != NODE_SD:
            label += f", node sd {node:.1%} (2x the assumption)"
        if (design, m, node) not in plans:
            pilot = pilot_document(
                "hierarchical", np.random.default_rng(args.seed + 4000 + m), metrics_count=m
            )
            plan = sampling.recommend_plan(
                pilot,
                settings,
                max_samples=30,
                design="concurrent-control" if design == "concurrent" else "stored-baseline",
            )
            report.setdefault("session_plans", {})[label] = plan.why
            # No plan reaches the target with a stored baseline (the planner says so and
            # would run its cheapest); the cells use the corpus's shape instead.
            plans[design, m, node] = (
                (plan.replicates, plan.repetitions) if design == "concurrent" else STORED_PLAN
            )
        res = simulate_sessions(
            design,
            sd,
            m,
            runs,
            args.seed + 5000 + j,
            plans[design, m, node],
            node_sd=node,
            settings=settings,
        )
        res["design"] = design
        res["plan"] = plans[design, m, node]
        report["sessions"][label] = res
        progress(label)
    report["special"] = {
        "position": simulate_position(runs, args.seed + 7000),
        "subset": {
            "1 of 8 at 25 %": simulate_subset(
                runs, args.seed + 7100, replicates=8, slow=1, low=0.25, high=0.25
            ),
            "2 of 20 at 20-55 %": simulate_subset(
                runs, args.seed + 7200, replicates=20, slow=2, low=0.20, high=0.55
            ),
        },
        "step": simulate_step(runs, args.seed + 7300),
        "maxt": {m: simulate_maxt(runs, args.seed + 7400 + m, m) for m in (10, 100)},
    }
    progress("special cases")
    report["targets"] = targets(report)
    report["elapsed_seconds"] = time.monotonic() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(render(report))
    print(f"\n(JSON: {args.out}; {report['elapsed_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
