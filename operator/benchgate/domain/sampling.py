"""How many replicates and repetitions to run, and when a sequential run may stop early.

Plan (`recommend_plan`)
    From the baseline's samples, a one-way random-effects ANOVA on the log values splits
    the noise into a between-replicate part (a pod's or process's own offset) and a
    within-replicate part (repetition to repetition). A replicate summary (mean of R
    repetitions) then has variance  sb2 + sw2 / R. Above both sits the session component
    (sessions.py): the candidate's session offset, which no number of replicates or
    repetitions shrinks. More repetitions only shrink the within part, more replicates
    the replicate parts; among plans with P replicates x R repetitions, P*R <=
    max_samples, we pick the cheapest (cost = P * (startup_cost + R * repetition_cost))
    that gives
      - >= target_power to call Regressed a metric whose true bad change is 2x its
        tolerance, at the first-step level alpha/m (one regressed metric among m);
      - >= target_power that all m metrics pass at no change.
    When the session component alone makes the target unreachable, the plan says so and
    names what would reach it (more baseline sessions, a concurrent control). Without a
    baseline, a conservative prior is used: within-replicate CV = 2/3 of the tolerance and
    between-replicate variance equal to it, plus the session prior of the suite's metrics.

Sequential mode (`sequential_decision`)
    Looks after every 3 candidate replicates up to the plan's
    replicate count. Each metric's Regressed/Improved tests spend alpha/m and its
    non-inferiority (Passed) test spends alpha over the looks with a Hwang-Shih-DeCani
    spending function; per-look nominal levels come from the exact joint normal law of
    the look statistics (correlation sqrt(I_i/I_j), I = 1/(1/n_base + 1/n_cand)),
    integrated numerically on a fixed grid -- deterministic, no Monte Carlo. A metric's
    verdict is frozen at its first boundary crossing; the run stops when any metric has
    Regressed (the run verdict can no longer change) or every metric is decided, or at
    the last look, where undecided metrics are Inconclusive. Bonferroni over metrics
    (alpha/m at every look) is used instead of Holm because Holm's step-down across
    metrics that stop at different looks has no simple spending form.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final

import numpy as np
from scipy import optimize
from scipy.stats import norm

from benchgate.api.result import Metric, ResultDocument
from benchgate.api.suite import MetricOverride
from benchgate.domain import sessions, stats
from benchgate.domain.envdiff import diff_fingerprints
from benchgate.domain.stats import FloatArray
from benchgate.domain.verdict import (
    IMPROVED,
    INCONCLUSIVE,
    INVALID,
    PASSED,
    REGRESSED,
    SUBSET_SHARE,
    VERDICT_NAME,
    Codes,
    Comparison,
    ContinuousInput,
    ContinuousTests,
    Design,
    EngineSettings,
    MetricComparison,
    _tail_of,
    as_sessions,
    bad_sign_of,
    compare_documents,
    continuous_tests,
    finish_continuous,
    prepare,
    run_tail,
    summarize,
)

TARGET_POWER: Final = 0.9
DEFAULT_STARTUP_COST: Final = 4.0  # a fresh process/pod costs ~4 repetitions (init, warm-up)
DEFAULT_REPETITION_COST: Final = 1.0
DEFAULT_LOOK_STEP: Final = 3  # more looks stop sooner; measured in bench/detector.py
# Hwang-Shih-DeCani spending shapes: gamma = 1 spends early (Pocock-like), 0 linearly,
# gamma = -4 late (O'Brien-Fleming-like). The Passed (non-inferiority) boundary spends
# linearly so that clear "no change" runs stop early; the Regressed boundary spends late
# so the last look keeps nearly the fixed test's power (a 4x regression still crosses
# at the first looks). Chosen among {1, 0} x {-2, -4} and look steps {3, 5} with
# bench/detector.py; all four combinations keep the false-failure rate at ~0.
PASS_GAMMA: Final = 0.0
REGRESS_GAMMA: Final = -4.0
TRIM_EFFICIENCY: Final = 0.94  # 20 %-trimmed mean vs the mean under normal noise


@dataclass(frozen=True)
class VarianceComponents:
    within: float  # per-repetition variance inside a replicate (log scale)
    between: float  # variance of the replicates' own offsets
    replicates: int
    estimated: bool  # False = prior
    # Variance of the difference that no plan shrinks: sigma_S^2 (1 + 1/S) for a stored
    # baseline of S sessions (0 when both sides run in one session).
    session: float = 0.0
    session_df: float = math.inf
    session_note: str = ""
    paired: bool = False  # concurrent design: rounds of (candidate, control) pairs

    def summary_variance(self, repetitions: int) -> float:
        """Variance of one replicate's summary (the mean of its repetitions)."""
        return self.between + self.within / repetitions


MAD_TO_SD: Final = 1.4826  # MAD of a normal sample x 1.4826 = its standard deviation
CLIP_SDS: Final = 4.0
# Plans use an upper confidence bound of the variance, not the point estimate: a plan
# that "just" reaches 90 % power at the estimate misses it about half of the time.
VARIANCE_UPPER_QUANTILE: Final = 0.8


def variance_components(
    groups: Sequence[Sequence[float]], *, log: bool = True, robust: bool = True
) -> VarianceComponents:
    """Between- and within-replicate variance of the log values (one-way ANOVA).

    robust=False is the classical one-way random-effects ANOVA (unbalanced, method of
    moments). The default first pulls outlying repetitions in to their replicate's
    median +- 4 robust standard deviations (1.4826 x the pooled median absolute
    deviation), then runs the same ANOVA. The engine is robust (medians within a
    replicate, 20 %-trimmed means across replicates), so a few 30 % outliers barely move
    its decisions, while they inflate the classical mean squares several-fold and would
    make the planner ask for far more samples than the test needs. On clean data almost
    nothing is clipped (0.006 % of normal values) and the estimate is the classical one.
    """
    arrays = [
        np.log(np.asarray(g, dtype=np.float64)) if log else np.asarray(g, dtype=np.float64)
        for g in groups
        if len(g) > 0
    ]
    if not log and arrays:  # linear metrics are judged relative to the baseline's size
        scale = abs(float(np.median(np.concatenate(arrays)))) or 1.0
        arrays = [a / scale for a in arrays]
    k = len(arrays)
    if k < 2:
        raise ValueError("need at least 2 replicates to estimate variance components")
    sizes = np.array([len(a) for a in arrays], dtype=np.float64)
    total = float(sizes.sum())
    if robust:
        arrays = _clip_outlying_repetitions(arrays)
    means = np.array([a.mean() for a in arrays])
    grand = float(np.concatenate(arrays).mean())
    ss_within = float(sum(((a - a.mean()) ** 2).sum() for a in arrays))
    msb = float((sizes * (means - grand) ** 2).sum() / (k - 1))
    if total - k == 0:
        # One repetition per replicate: only the sum is identifiable; count it all as
        # between-replicate noise, the conservative choice (repetitions then look useless).
        return VarianceComponents(within=0.0, between=msb, replicates=k, estimated=True)
    msw = ss_within / (total - k)
    n0 = (total - float((sizes**2).sum()) / total) / (k - 1)
    between = max(0.0, (msb - msw) / n0)
    return VarianceComponents(within=msw, between=between, replicates=k, estimated=True)


def _clip_outlying_repetitions(arrays: Sequence[FloatArray]) -> list[FloatArray]:
    deviations = [np.abs(a - np.median(a)) for a in arrays if len(a) >= 3]
    if not deviations:
        return list(arrays)
    robust_sd = MAD_TO_SD * float(np.median(np.concatenate(deviations)))
    if robust_sd <= 0:
        return list(arrays)
    out = []
    for a in arrays:
        centre = float(np.median(a))
        out.append(np.clip(a, centre - CLIP_SDS * robust_sd, centre + CLIP_SDS * robust_sd))
    return out


def _upper_bound(comps: VarianceComponents, df: int) -> VarianceComponents:
    from scipy.stats import chi2

    factor = df / float(chi2.ppf(1 - VARIANCE_UPPER_QUANTILE, df))
    return replace(comps, within=comps.within * factor, between=comps.between * factor)


def prior_components(tolerance: float, session_sd: float = 0.0) -> VarianceComponents:
    cv = 2.0 / 3.0 * tolerance
    return VarianceComponents(
        within=cv**2, between=cv**2, replicates=0, estimated=False, session=2 * session_sd**2
    )


def _yuen_shape(replicates: int) -> tuple[float, float]:
    """(efficiency, degrees of freedom) of a Yuen-Welch test with P per side."""
    g = math.floor(0.2 * replicates)
    h = replicates - 2 * g
    return (TRIM_EFFICIENCY if g > 0 else 1.0), float(2 * (h - 1))


def regress_power(
    replicates: int,
    variance: float,
    margin: float,
    true_change: float,
    level: float,
    session: float = 0.0,
    session_df: float = math.inf,
    paired: bool = False,
) -> float:
    """Power of the one-sided test of 'bad change <= margin' at a true change.

    `session`: the variance of the difference that replicates do not shrink. A paired
    design's difference of two replicates has the same variance as two independent
    samples' (no shared disturbance assumed), but half the degrees of freedom.
    """
    eff, df = _yuen_shape(replicates)
    if paired:
        df = df / 2
    rep = 2 * variance / (replicates * eff)
    se = math.sqrt(rep + session)
    if se == 0:
        return 1.0
    if session > 0:  # Welch-Satterthwaite with the session term's own degrees of freedom
        denom = rep**2 / df + session**2 / session_df
        df = (rep + session) ** 2 / denom if denom > 0 else math.inf
    crit = float(stats.t_isf(level, df))
    return float(stats.t_sf(np.asarray(crit - (true_change - margin) / se), np.asarray(df)))


Components = list[tuple[str, float, VarianceComponents]]
SIMULATED_RUNS: Final = 4000
MAX_SIMULATED_PLANS: Final = 60


def _analytic_power(
    p: int, r: int, metrics: Components, alpha: float, m: int
) -> tuple[float, float]:
    reg, passing = 1.0, 1.0
    for _, tol, comps in metrics:
        var = comps.summary_variance(r)
        margin = math.log1p(tol)
        extra = (comps.session, comps.session_df, comps.paired)
        reg = min(reg, regress_power(p, var, margin, math.log1p(2 * tol), alpha / m, *extra))
        passing = min(passing, regress_power(p, var, 0.0, margin, alpha, *extra) ** m)
    return reg, passing


def _simulated_power(
    p: int, r: int, metrics: Components, alpha: float, m: int, *, seed: int
) -> tuple[float, float]:
    """Seeded simulation of the engine's own test on normal replicate summaries.

    Each simulated candidate also gets a session offset (variance `session`), which the
    test accounts for exactly as the engine does. Regression power at the first-step
    level alpha/m (one regressed metric among m nulls is decided by that step); the
    all-pass probability is per-metric pass^m.
    """
    rng = np.random.default_rng(seed)
    reg, passing = 1.0, 1.0
    for _, tol, comps in metrics:
        sd = math.sqrt(comps.summary_variance(r))
        margin = math.log1p(tol)
        base = rng.normal(0.0, sd, (SIMULATED_RUNS, p))
        cand = rng.normal(0.0, sd, (SIMULATED_RUNS, p))
        cand += rng.normal(0.0, math.sqrt(comps.session), (SIMULATED_RUNS, 1))
        # The engine's session variance term is sigma^2 (1 + 1/S); pass it whole.
        common = {"margin": margin, "bad_sign": 1, "session_df": comps.session_df}
        shifted = _tests_shared(
            base, cand + math.log1p(2 * tol), comps.session, common, paired=comps.paired
        )
        null = _tests_shared(base, cand, comps.session, common, paired=comps.paired)
        reg = min(reg, float((shifted.p_regress <= alpha / m).mean()))
        passing = min(passing, float((null.p_pass <= alpha).mean()) ** m)
    return reg, passing


def _tests_shared(
    base: FloatArray,
    cand: FloatArray,
    extra: float,
    common: dict[str, float],
    *,
    paired: bool = False,
) -> ContinuousTests:
    from benchgate.domain.verdict import tests_from_difference

    if paired:  # the paired test: the trimmed mean of the rounds' differences
        cand = cand - base
        base = np.zeros_like(base)
    est = sessions.difference(
        sessions.session_stats(base[..., None, :]),
        sessions.session_stats(cand[..., None, :]),
        session_var=extra,
        session_df=common["session_df"],
        shared_sessions=True,
    )
    return tests_from_difference(est, margin=common["margin"], bad_sign=int(common["bad_sign"]))


@dataclass(frozen=True)
class SamplingPlan:
    replicates: int
    repetitions: int
    expected_power: float  # to call Regressed at 2x tolerance (worst metric)
    why: str
    pass_probability: float = 1.0  # that every metric passes at no change
    cost: float = 0.0

    @property
    def samples(self) -> int:
        return self.replicates * self.repetitions


def _continuous_metrics(doc: ResultDocument) -> list[tuple[str, Metric]]:
    return [(k, m) for k, m in doc.metrics() if m.kind == "continuous"]


def _session_part(
    key: str,
    docs: Sequence[ResultDocument],
    metric: Metric,
    settings: EngineSettings,
    design: Design,
) -> tuple[float, float, str]:
    """(variance the session adds to a difference, its df, how it was obtained)."""
    family = sessions.metric_family(metric.name, metric.unit)
    if design == "concurrent-control":
        node = sessions.node_component(family, override_sd=settings.node_sd)
        return 2 * node.variance, node.df, node.describe()
    log = metric.scale == "ratio"
    parts: list[FloatArray] = []
    for doc in docs:
        found = dict(doc.metrics()).get(key)
        if found is None:
            continue
        groups = [[float(v) for v in g.values] for g in found.samples if g.values]
        if len(groups) < 2 or (log and any(v <= 0 for g in groups for v in g)):
            continue
        parts.append(stats.replicate_summaries(groups, log=log))
    if not log and parts:
        scale = abs(float(np.median(np.concatenate(parts)))) or 1.0
        parts = [x / scale for x in parts]
    if not parts:
        parts = [np.zeros(2)]
    comp = sessions.component_for(family, sessions.stack(parts), override_sd=settings.session_sd)
    s = max(1, len(parts))
    return comp.variance * (1 + 1 / s), comp.df, comp.describe()


def components_note(
    baseline: ResultDocument | Sequence[ResultDocument] | None,
    settings: EngineSettings | None = None,
) -> str:
    """Which session components will judge a run against this baseline, for status.plan."""
    settings = settings or EngineSettings()
    docs = () if baseline is None else as_sessions(baseline)
    notes: list[str] = []
    if docs:
        for key, metric in _continuous_metrics(docs[0]):
            note = _session_part(key, docs, metric, settings, "stored-baseline")[2]
            if note not in notes:
                notes.append(note)
    if not notes:
        return "no continuous metric to judge yet" if docs else "no baseline yet"
    return "; ".join(notes)


def recommend_plan(
    baseline: ResultDocument | Sequence[ResultDocument] | None,
    settings: EngineSettings | None = None,
    *,
    max_samples: int = 30,
    startup_cost: float = DEFAULT_STARTUP_COST,
    repetition_cost: float = DEFAULT_REPETITION_COST,
    target_power: float = TARGET_POWER,
    metric_count: int = 10,
    design: Design = "stored-baseline",
) -> SamplingPlan:
    """The cheapest P x R plan (per side) with the target power, see the module docstring.

    design="concurrent-control" plans rounds of (candidate, control) pairs: the session
    cancels and the node component takes its place.
    """
    settings = settings or EngineSettings()
    paired = design == "concurrent-control"
    alpha = settings.alpha
    metrics: list[tuple[str, float, VarianceComponents]] = []
    docs = () if baseline is None else as_sessions(baseline)
    if docs:
        for key, metric in _continuous_metrics(docs[0]):
            groups = [[float(v) for v in g.values] for g in metric.samples if g.values]
            non_positive = any(v <= 0 for g in groups for v in g)
            if len(groups) < 2 or (non_positive and metric.scale == "ratio"):
                continue  # the engine will call this metric Invalid anyway
            comps = variance_components(groups, log=metric.scale == "ratio")
            session, session_df, note = _session_part(key, docs, metric, settings, design)
            comps = replace(
                comps, session=session, session_df=session_df, session_note=note, paired=paired
            )
            tolerance = (
                metric.tolerance if metric.tolerance is not None else settings.default_tolerance
            )
            metrics.append((key, tolerance, comps))
    source = "baseline"
    if not metrics:
        source = "prior"
        prior_sd = (
            settings.session_sd
            if settings.session_sd is not None
            else sessions.SESSION_PRIOR_SD["other"]
        )
        prior = prior_components(settings.default_tolerance, prior_sd)
        note = (
            sessions.component_for(
                "other", sessions.stack([np.zeros(2)]), override_sd=settings.session_sd
            ).describe()
            + " (no baseline to tell the metrics' families)"
        )
        if paired:
            node = sessions.node_component("other", override_sd=settings.node_sd)
            prior = replace(prior, session=2 * node.variance, session_df=node.df)
            note = node.describe()
        prior = replace(prior, session_note=note, paired=paired)
        metrics = [("(prior)", settings.default_tolerance, prior)]
    m = metric_count if source == "prior" else len(metrics)
    noisiest = max(metrics, key=lambda t: t[2].summary_variance(1) / math.log1p(t[1]) ** 2)
    widest = max(metrics, key=lambda t: t[2].session / math.log1p(t[1]) ** 2)
    # degrees of freedom behind the (pooled) between-replicate estimate
    df = sum(max(1, c.replicates - 1) for _, _, c in metrics)
    if source == "baseline" and len(metrics) > 1:
        # Pool the components over the metrics: with ~10 baseline replicates each
        # metric's between-replicate estimate has ~9 degrees of freedom, and planning
        # for the largest of m noisy estimates would plan for noise that is not there.
        # Metrics may have different tolerances: pool the noise *relative to each
        # metric's margin*, then express it at the median tolerance. The session part is
        # planned for the metric it hurts most (no plan can average it away).
        tol = float(np.median([t for _, t, _ in metrics]))
        rel = [
            (c.within / math.log1p(t) ** 2, c.between / math.log1p(t) ** 2) for _, t, c in metrics
        ]
        unit = math.log1p(tol) ** 2
        w_tol, w_comps = widest[1], widest[2]
        pooled = VarianceComponents(
            within=float(np.mean([w for w, _ in rel])) * unit,
            between=float(np.mean([b for _, b in rel])) * unit,
            replicates=min(c.replicates for _, _, c in metrics),
            estimated=True,
            session=w_comps.session / math.log1p(w_tol) ** 2 * unit,
            session_df=w_comps.session_df,
            session_note=w_comps.session_note,
            paired=paired,
        )
        metrics = [(f"pooled over {m} metrics", tol, pooled)]
    if source == "baseline":
        metrics = [(key, tol, _upper_bound(comps, df)) for key, tol, comps in metrics]
    min_p = max(settings.min_replicates, 2)
    candidates: list[SamplingPlan] = []
    for p in range(min_p, max_samples + 1):
        for r in range(1, max_samples // p + 1):
            reg, passing = _analytic_power(p, r, metrics, alpha, m)
            candidates.append(
                SamplingPlan(
                    replicates=p,
                    repetitions=r,
                    expected_power=reg,
                    pass_probability=passing,
                    cost=p * (startup_cost + r * repetition_cost),
                    why="",
                )
            )
    # The analytic power (normal theory, asymptotic trimming efficiency) is optimistic for
    # Yuen's test at 5-30 replicates, so plans are checked in cost order by a seeded
    # simulation of the very test the engine runs; the first that meets the target wins.
    candidates.sort(key=lambda c: (c.cost, -c.expected_power))
    chosen: SamplingPlan | None = None
    fallback: SamplingPlan | None = None
    simulated = 0
    for analytic in candidates:
        if min(analytic.expected_power, analytic.pass_probability) < target_power - 0.15:
            continue
        reg, passing = _simulated_power(
            analytic.replicates, analytic.repetitions, metrics, alpha, m, seed=settings.seed
        )
        simulated += 1
        plan = replace(analytic, expected_power=reg, pass_probability=passing)
        if reg >= target_power and passing >= target_power:
            chosen = plan
            break
        if fallback is None or min(reg, passing) > min(
            fallback.expected_power, fallback.pass_probability
        ):
            fallback = plan
        if simulated >= MAX_SIMULATED_PLANS:
            break
    met = chosen is not None
    if chosen is None:
        if fallback is None:  # nothing came close: the most powerful plan there is
            top = max(
                candidates, key=lambda c: (min(c.expected_power, c.pass_probability), -c.cost)
            )
            reg, passing = _simulated_power(
                top.replicates, top.repetitions, metrics, alpha, m, seed=settings.seed
            )
            fallback = replace(top, expected_power=reg, pass_probability=passing)
        chosen = fallback
    plan = chosen
    key, tol, comps = metrics[0]
    cv_w, cv_b = math.sqrt(comps.within) * 100, math.sqrt(comps.between) * 100
    if source == "baseline":
        noise = (
            f"the baseline ({key}, {comps.replicates} replicates) varies up to "
            f"{cv_w:.2g} % between repetitions and {cv_b:.2g} % between replicates "
            f"({VARIANCE_UPPER_QUANTILE:.0%} upper confidence bounds)"
        )
        if noisiest[0] != key and len(noisiest) == 3:
            nb = noisiest[2]
            noise += (
                f"; noisiest metric {noisiest[0]}: {math.sqrt(nb.within) * 100:.2g} % / "
                f"{math.sqrt(nb.between) * 100:.2g} %"
            )
    else:
        noise = (
            f"no baseline yet, so a conservative prior is assumed: {cv_w:.2g} % "
            f"between repetitions and as much between replicates"
        )
    if comps.session_note:
        noise += f"; {comps.session_note}"
        if source == "baseline" and key != widest[0] and comps.session > 0:
            noise += f" for {widest[0]}, the metric it limits most"
    if cv_b >= cv_w * 0.5 and plan.repetitions <= 2:
        lever = "replicate offsets dominate, so fresh replicates buy more than repetitions"
    elif plan.repetitions > 1:
        lever = (
            f"repetitions are cheaper than fresh replicates (start-up ~{startup_cost:g}x "
            "a repetition) and still shrink the noise"
        )
    else:
        lever = "each fresh replicate is worth more than a repetition"
    why = (
        f"{plan.replicates} replicates x {plan.repetitions} repetitions per side: {noise}; "
        f"{lever}. Expected power to flag a 2x-tolerance regression among {m} metrics: "
        f"{plan.expected_power:.0%}; chance all pass at no change: "
        f"{plan.pass_probability:.0%}"
    )
    if not met:
        why += f". The {target_power:.0%} target is NOT reachable within {max_samples} samples"
        ceiling = _session_ceiling(metrics, alpha, m)
        if ceiling < target_power:
            what = "node" if paired else "session"
            cure = (
                "a smaller node-to-node difference (a control in the same pool) would"
                if paired
                else "more baseline sessions or a concurrent control would"
            )
            why += (
                f" per side: the {what} component alone caps the power (or the chance that "
                f"an unchanged platform passes) at {ceiling:.0%} whatever the plan; {cure} "
                "reach it"
            )
        else:
            why += (
                " per side; this is the most powerful plan (raise maxSamples or reduce the noise)"
            )
    return SamplingPlan(
        replicates=plan.replicates,
        repetitions=plan.repetitions,
        expected_power=plan.expected_power,
        pass_probability=plan.pass_probability,
        cost=plan.cost,
        why=why,
    )


def _session_ceiling(metrics: Components, alpha: float, m: int) -> float:
    """The best power and pass probability any plan could reach: infinite replicates,
    only the session part left."""
    best = 1.0
    for _, tol, comps in metrics:
        margin = math.log1p(tol)
        big = 10_000
        extra = (comps.session, comps.session_df)
        reg = regress_power(big, 0.0, margin, math.log1p(2 * tol), alpha / m, *extra)
        passing = regress_power(big, 0.0, 0.0, margin, alpha, *extra)
        best = min(best, reg, passing**m)
    return best


# ------------------------------------------------------------ group-sequential looks


def sequential_plan(plan: SamplingPlan, *, max_samples: int = 30) -> SamplingPlan:
    """The sequential version of a fixed plan: same repetitions, the sample budget as cap.

    Early looks spend some of alpha, so the last look is a little stricter than the fixed
    test; letting the maximum grow to the budget (as group-sequential designs do) keeps
    the power while the average stays well below the fixed plan's size.
    """
    cap = max(plan.replicates, max_samples // plan.repetitions)
    return replace(
        plan,
        replicates=cap,
        why=plan.why + f"; sequential: up to {cap} replicates, looking every {DEFAULT_LOOK_STEP}",
    )


def look_schedule(
    replicates: int, *, step: int = DEFAULT_LOOK_STEP, first: int = 3
) -> tuple[int, ...]:
    """Candidate replicate counts at which a sequential run looks at its data."""
    if replicates < 2 * max(step, first) and replicates >= 2 * first:
        step = math.ceil(replicates / 2)
    looks = [*range(max(step, first), replicates, step), replicates]
    return tuple(sorted(set(looks)))


def _spent(t: float, alpha: float, gamma: float) -> float:
    if gamma == 0:
        return alpha * t
    return alpha * (1 - math.exp(-gamma * t)) / (1 - math.exp(-gamma))


_GRID: Final = 801


@lru_cache(maxsize=512)
def nominal_levels(fractions: tuple[float, ...], alpha: float, gamma: float) -> tuple[float, ...]:
    """One-sided nominal p-value thresholds per look for an upper boundary.

    `fractions` are information fractions (increasing, last = 1). The crossing
    probability at look k under H0 equals the spending increment alpha(t_k) -
    alpha(t_{k-1}); it is computed by integrating the density of the score process
    S_k = Z_k sqrt(t_k) over the continuation region (Armitage-McPherson-Rowe recursion).
    """
    levels: list[float] = []
    grid: FloatArray | None = None
    density: FloatArray | None = None
    prev_t = 0.0
    prev_spent = 0.0
    for t in fractions:
        spend = _spent(t, alpha, gamma) - prev_spent
        prev_spent += spend
        if grid is None or density is None:
            c = float(norm.isf(spend)) if spend > 0 else math.inf
            levels.append(max(spend, 0.0))
            upper = min(c, 12.0) * math.sqrt(t)
            grid = np.linspace(-10 * math.sqrt(t), upper, _GRID)
            density = norm.pdf(grid, scale=math.sqrt(t))
            prev_t = t
            continue
        step = math.sqrt(t - prev_t)
        weights = np.full(_GRID, (grid[1] - grid[0]) / 3)
        weights[1:-1:2] *= 4
        weights[2:-1:2] *= 2
        mass = density * weights
        sqrt_t = math.sqrt(t)
        g0, d0 = grid, mass

        def crossing(
            c: float,
            g0: FloatArray = g0,
            d0: FloatArray = d0,
            step: float = step,
            sqrt_t: float = sqrt_t,
        ) -> float:
            return float((d0 * norm.sf((c * sqrt_t - g0) / step)).sum())

        if spend <= 0:
            c = math.inf
        else:
            c = float(optimize.brentq(lambda c, s=spend: crossing(c) - s, -5.0, 15.0, xtol=1e-10))
        levels.append(float(norm.sf(c)))
        upper = min(c, 12.0) * sqrt_t
        new_grid = np.linspace(-10 * sqrt_t, upper, _GRID)
        density = (mass[None, :] * norm.pdf((new_grid[:, None] - g0[None, :]) / step) / step).sum(
            axis=1
        )
        grid = new_grid
        prev_t = t
    return tuple(levels)


def information_fractions(
    n_base: int, looks: Sequence[int], *, per_replicate: float = 1.0, session: float = 0.0
) -> tuple[float, ...]:
    """Information (1 / variance of the difference) at each look, as fractions of the last.

    `session` is the variance no replicate shrinks, in units where a replicate summary has
    variance `per_replicate`. Every look shares the candidate's session offset, and the
    difference at look j is the one at look k plus independent replicate noise, so the
    look statistics keep the canonical correlation sqrt(I_j / I_k).
    """
    info = [1.0 / (per_replicate * (1.0 / n_base + 1.0 / n) + session) for n in looks]
    return tuple(round(i / info[-1], 6) for i in info)


def look_codes(
    base: FloatArray,
    cand: FloatArray,
    looks: Sequence[int],
    *,
    margin: float,
    bad_sign: int,
    alpha: float,
    metric_count: int,
    pass_gamma: float = PASS_GAMMA,
    regress_gamma: float = REGRESS_GAMMA,
    session_var: float = 0.0,
    session_df: float = math.inf,
    subset_share: float = SUBSET_SHARE,
    tests_at: Callable[[int], ContinuousTests] | None = None,
) -> tuple[Codes, Codes]:
    """Frozen verdict code of one metric after each look: shape (..., len(looks)).

    Also returns the look index at which each code was decided (-1 = undecided).
    Vectorised over leading axes (bench/detector.py passes many runs at once). The
    location test's regress boundary spends (1 - subset_share) alpha / metric_count (the
    rest is the slow-subset test's, see sequential_decision). `tests_at(n)` gives the
    tests with n candidate replicates when the baseline is more than one array (several
    sessions); `base` then only sizes the information fractions.
    """
    per_replicate = 1.0
    if session_var > 0:
        per_replicate = float(np.var(np.asarray(base), ddof=1)) or 1.0
    fractions = information_fractions(
        base.shape[-1], looks, per_replicate=per_replicate, session=session_var * 2
    )
    reg_levels = nominal_levels(fractions, alpha * (1 - subset_share) / metric_count, regress_gamma)
    pass_levels = nominal_levels(fractions, alpha, pass_gamma)
    lead = np.broadcast_shapes(base.shape[:-1], cand.shape[:-1])
    code = np.full(lead, INCONCLUSIVE, dtype=np.int64)
    decided_at = np.full(lead, -1, dtype=np.int64)
    out = np.empty((*lead, len(looks)), dtype=np.int64)
    for k, n in enumerate(looks):
        if tests_at is not None:
            t = tests_at(n)
        else:
            t = continuous_tests(
                base,
                cand[..., :n],
                margin=margin,
                bad_sign=bad_sign,
                session_var=session_var,
                session_df=session_df,
            )
        now = np.full(lead, INCONCLUSIVE, dtype=np.int64)
        now = np.where(t.p_pass <= pass_levels[k], PASSED, now)
        now = np.where(t.p_improve <= reg_levels[k], IMPROVED, now)
        now = np.where(t.p_regress <= reg_levels[k], REGRESSED, now)
        fresh = (code == INCONCLUSIVE) & (now != INCONCLUSIVE)
        code = np.where(fresh, now, code)
        decided_at = np.where(fresh, k, decided_at)
        out[..., k] = code
    return out, decided_at


def run_stop_look(codes: Codes, metric_axis: int = -2) -> Codes:
    """First look index at which a run stops, given (..., metrics, looks) frozen codes."""
    codes = np.moveaxis(np.asarray(codes), metric_axis, -2)
    any_regressed = (codes == REGRESSED).any(axis=-2)
    all_decided = (codes != INCONCLUSIVE).all(axis=-2)
    stop = any_regressed | all_decided
    stop[..., -1] = True
    result: Codes = np.argmax(stop, axis=-1)
    return result


@dataclass(frozen=True)
class SequentialDecision:
    stop: bool
    comparison: Comparison
    next_replicates: int  # more candidate replicates to collect before the next look
    look: int  # 1-based index of the current look (0 = before the first)
    looks: tuple[int, ...]
    reason: str


def sequential_decision(
    baseline: ResultDocument | Sequence[ResultDocument],
    candidate_so_far: ResultDocument,
    settings: EngineSettings | None = None,
    *,
    plan: SamplingPlan,
    overrides: Mapping[str, MetricOverride] | None = None,
) -> SequentialDecision:
    """Stop-and-decide or collect-more, from the candidate replicates gathered so far."""
    settings = settings or EngineSettings()
    looks = look_schedule(plan.replicates, first=settings.min_replicates)
    prepared = prepare(baseline, candidate_so_far, settings, overrides)
    # Every metric gets one sample group per replicate, exact and error kinds included; a
    # candidate with no continuous metric must still reach its looks and stop.
    counts = [len(m.samples) for _, m in candidate_so_far.metrics()]
    have = min(counts) if counts else 0
    docs = as_sessions(baseline)
    env = diff_fingerprints(docs[0].fingerprint, candidate_so_far.fingerprint)
    if have < looks[0]:
        comparison = compare_documents(baseline, candidate_so_far, settings, overrides)
        return SequentialDecision(
            stop=False,
            comparison=comparison,
            next_replicates=looks[0] - have,
            look=0,
            looks=looks,
            reason=f"{have} candidate replicate(s); first look at {looks[0]}",
        )
    reached = [n for n in looks if n <= have]
    current = (*reached[:-1], have) if have < plan.replicates else looks
    k = len(current) - 1
    items = [p for p in prepared if isinstance(p, ContinuousInput)]
    m = max(1, len(items))
    tail = run_tail(items)
    results: list[MetricComparison] = []
    codes_now: list[int] = []
    item_index = {id(p): j for j, p in enumerate(items)}
    for p in prepared:
        if isinstance(p, MetricComparison):
            results.append(p)
            codes_now.append(
                INVALID
                if p.verdict == "Invalid"
                else {"Passed": PASSED, "Improved": IMPROVED, "Regressed": REGRESSED}.get(
                    p.verdict, INCONCLUSIVE
                )
            )
            continue
        n_looks = tuple(min(n, len(p.cand)) for n in current)
        comp = p.component
        codes, decided_at = look_codes(
            p.base,
            p.cand,
            n_looks,
            margin=p.margin,
            bad_sign=bad_sign_of(p.direction),
            alpha=settings.alpha,
            metric_count=m,
            session_var=comp.variance if comp is not None else 0.0,
            session_df=comp.df if comp is not None else math.inf,
            tests_at=p.tests,
        )
        code = int(codes[k])
        at = int(decided_at) if int(decided_at) >= 0 else k
        # The slow-subset test, Bonferroni over metrics and looks with its share of alpha;
        # like the location verdict it is frozen at the first look that finds it.
        subset_level = settings.alpha * SUBSET_SHARE / (m * len(looks))
        found = None
        if settings.subset:
            for j, n in enumerate(n_looks[: k + 1]):
                st = p.subset(n, _tail_of(tail, item_index[id(p)]))
                if float(st.p) <= subset_level and (code != REGRESSED or j < at):
                    found = (j, st)
                    break
        p_sub: float | None = None
        st_at = None
        if found is not None:
            at, st_at = found
            code = REGRESSED
            p_sub = min(1.0, float(st_at.p) * m * len(looks) / SUBSET_SHARE)
        n_at = n_looks[at]
        t = p.tests(n_at)
        p_dec = float({REGRESSED: t.p_regress, IMPROVED: t.p_improve}.get(code, t.p_pass))
        mc = finish_continuous(
            p,
            t,
            code,
            p_dec,
            settings.alpha,
            m,
            n_candidate=n_at,
            subset_test=st_at,
            p_subset=p_sub,
            method="Bonferroni",
        )
        note = (
            f" (group-sequential: decided at look {at + 1} of {len(looks)}, "
            f"{n_at} candidate replicates; p is the nominal one-sided p)"
        )
        if code == INCONCLUSIVE and have < plan.replicates:
            note = f" (group-sequential look {k + 1} of {len(looks)}: not decided yet)"
        results.append(MetricComparison(**{**mc.__dict__, "reason": mc.reason + note}))
        codes_now.append(code)
    final = have >= plan.replicates
    stop = final or REGRESSED in codes_now or all(c != INCONCLUSIVE for c in codes_now)
    comparison = summarize(results, env, settings.confidence, baseline_sessions=len(docs))
    if stop:
        next_n = 0
        reason = f"stop at {have} candidate replicates: " + (
            "last look"
            if final and comparison.verdict == "Inconclusive"
            else f"{VERDICT_NAME[_code(comparison)]} is decided"
        )
    else:
        next_n = next(n for n in looks if n > have) - have
        undecided = sum(1 for c in codes_now if c == INCONCLUSIVE)
        reason = (
            f"collect {next_n} more replicate(s): {undecided} metric(s) undecided "
            f"at look {k + 1} of {len(looks)}"
        )
    return SequentialDecision(
        stop=stop,
        comparison=comparison,
        next_replicates=next_n,
        look=k + 1,
        looks=looks,
        reason=reason,
    )


def _code(c: Comparison) -> int:
    return {v: k for k, v in VERDICT_NAME.items()}[c.verdict]
