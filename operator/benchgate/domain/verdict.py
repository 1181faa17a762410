"""The verdict engine: compare a candidate result document with a baseline, per metric.

Pure numpy/scipy; plain dataclasses in, plain dataclasses out (no clock, no I/O). The
statistics are explained for maintainers in docs/statistics.md; in short:

How a continuous metric is judged
---------------------------------
1. Units. Repetitions nest in replicates (a pod, a process or a GPU), replicates in
   sessions (one run of a suite on one node at one time). Each replicate is summarised by
   the mean of its repetitions -- of the logs for `ratio` metrics -- after pulling in
   outlying repetitions, with position effects kept (`stats.replicate_means`): a median
   of a few repetitions turns a fixed position effect into a confident shift. A baseline
   is one session document or several (`compare_documents(baseline=[s1, s2, s3], ...)`).
2. Estimate. Per session the 20 %-trimmed mean of the replicate summaries (Yuen); the
   baseline's centre is the mean of its sessions' centres. The difference's standard
   error has the replicate part of each side and the session part sigma_S^2 (1 + 1/S):
   the candidate's own session offset never averages out (sessions.py). sigma_S comes
   from the baseline's sessions pooled with a measured per-family prior, or from the
   prior alone with one baseline session; `EngineSettings.session_sd` overrides it.
3. Decision with a tolerance delta (margin L = log(1 + delta) on the log scale):
   - Regressed: H0 "bad change <= L" rejected (one-sided Welch-Satterthwaite t), OR the
     slow-subset test (subset.py: a share of the candidate's replicates is slower than
     the baseline's spread allows) rejected. Both kinds of hypothesis, for every metric
     of the run, form one family whose error is controlled at alpha = 1 - confidence by
     Westfall-Young step-down min-P over a multiplier bootstrap of replicate labels
     (multiplicity.py; `multiplicity="holm"` for Holm). Band metrics are bad either way.
   - Improved: the mirror location test, adjusted in its own family.
   - Passed: non-inferiority, H0 "bad change >= L" rejected at alpha (band metrics:
     TOST), and no subset regression. No multiplicity correction is needed here: the run
     passes only if every metric passes, an intersection-union test (Berger 1982).
   - Inconclusive otherwise, with what would decide: more replicates, more baseline
     sessions or a concurrent control (when the session part alone keeps the interval
     wide), or a decision about the tolerance (when the change sits on it).
   The reported interval is the two-sided (1 - 2 alpha) interval whose edges the
   one-sided tests compare with the tolerance (a 90 % interval at 95 % confidence).
4. Alongside (informative, never the decision): Welch t, Mann-Whitney U and
   Kolmogorov-Smirnov p on the replicate summaries, Hedges' g, and notes when one side's
   replicates drift (Spearman trend) or step (a change point) within a session.

Designs: `stored-baseline` (this module) and `concurrent-control` (concurrent.py: the
candidate is paired round by round with a control node measured in the same session).
Exact metrics (checksums) must reproduce the baseline's single value; error metrics pass
when the candidate's median error is at most errorFactor x the baseline's.

The bootstrap draws come from `EngineSettings.seed`: the same input gives the same output.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from benchgate.api.result import Metric, ResultDocument, SampleValue, WorkloadResult
from benchgate.api.suite import MetricOverride, SamplingSpec, StatisticsSpec, SuiteSpec
from benchgate.domain import multiplicity, prediction, sessions, stats, subset, validity
from benchgate.domain.envdiff import EnvChange, diff_fingerprints
from benchgate.domain.sessions import SessionComponent
from benchgate.domain.stats import FloatArray

Codes = NDArray[Any]  # integer verdict codes (PASSED ... INVALID)

Verdict = Literal["Passed", "Regressed", "Improved", "Inconclusive", "Invalid"]
VERDICTS: Final[tuple[Verdict, ...]] = (
    "Passed",
    "Improved",
    "Inconclusive",
    "Regressed",
    "Invalid",
)
# Integer codes used by the vectorised core (and by bench/detector.py).
PASSED: Final = 0
IMPROVED: Final = 1
INCONCLUSIVE: Final = 2
REGRESSED: Final = 3
INVALID: Final = 4
VERDICT_NAME: Final[dict[int, Verdict]] = {
    PASSED: "Passed",
    IMPROVED: "Improved",
    INCONCLUSIVE: "Inconclusive",
    REGRESSED: "Regressed",
    INVALID: "Invalid",
}
VERDICT_CODE: Final[dict[str, int]] = {name: code for code, name in VERDICT_NAME.items()}

Design = Literal["stored-baseline", "concurrent-control"]
Multiplicity = Literal["maxT", "holm"]

# Power used when estimating how many replicates would "likely decide" (80 %, the
# conventional planning power) and the cap above which we just say "more than".
DECIDE_POWER: Final = 0.8
MAX_SUGGESTED_REPLICATES: Final = 200
# Errors are measured against an fp64 reference whose own rounding is ~1e-16; below a few
# fp64 ulps a difference is noise, so 0 vs 1e-300 must not count as "infinitely worse".
ERROR_FLOOR: Final = 8 * 2.0**-52
DEFAULT_DRAWS: Final = multiplicity.DRAWS
# Share of the run's "Regressed" alpha spent on the slow-subset tests (the location tests
# get the rest). A slow unit is a large effect, so a small share finds it: 1 of 8 GPUs
# 25 % slower is caught in >= 99 % of runs at 10 % (bench/detector.py).
SUBSET_SHARE: Final = 0.1


@dataclass(frozen=True)
class EngineSettings:
    confidence: float = 0.95
    default_tolerance: float = 0.03
    error_factor: float = 2.0
    min_replicates: int = 3
    seed: int = 0
    # None: the session component comes from the baseline's sessions and the per-family
    # prior (sessions.py). A number (sd on the analysis scale) replaces it for every
    # metric; 0 says both sides ran in one session (interleaved in time).
    session_sd: float | None = None
    # The concurrent design's node-to-node component; None = the per-family assumption.
    node_sd: float | None = None
    multiplicity: Multiplicity = "maxT"
    draws: int = DEFAULT_DRAWS
    subset: bool = True  # run the slow-subset test beside the location test

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence

    @classmethod
    def from_spec(
        cls, statistics: StatisticsSpec, sampling: SamplingSpec | None = None, *, seed: int = 0
    ) -> EngineSettings:
        del sampling  # sample sizes are the planner's business, not the judge's
        return cls(
            confidence=statistics.confidence,
            default_tolerance=statistics.tolerance,
            error_factor=statistics.error_factor,
            seed=seed,
        )


@dataclass(frozen=True)
class MetricComparison:
    key: str
    unit: str
    direction: str
    kind: str
    verdict: Verdict
    reason: str
    baseline: float | str | None
    candidate: float | str | None
    change: float | None
    ci_low: float | None
    ci_high: float | None
    p_welch: float | None
    p_mannwhitney: float | None
    p_ks: float | None
    p_decision: float | None
    effect_size: float | None
    n_baseline: int
    n_candidate: int
    additional_replicates: int | None
    tolerance: float | None = None
    # Where `tolerance` came from: TOLERANCE_OVERRIDE, TOLERANCE_WORKLOAD or
    # TOLERANCE_DEFAULT (see tolerance_for); "" where no tolerance applies.
    tolerance_source: str = ""
    # False for a metric only the candidate has (a newer workload image measures more):
    # shown, but it cannot judge the platform, so it does not drive the run's verdict.
    judged: bool = True
    component: str = ""  # which session/node component went into the interval
    p_subset: float | None = None  # adjusted p of the slow-subset test
    slow_replicates: tuple[str, ...] = ()  # the candidate replicates it found slow
    # Distribution metrics: what the output comparison found (prediction.py).
    prediction: prediction.PredictionStats | None = None


@dataclass(frozen=True)
class Comparison:
    metrics: tuple[MetricComparison, ...]
    verdict: Verdict
    reason: str
    worst: MetricComparison | None
    env_changes: tuple[EnvChange, ...]
    confidence: float = 0.95
    design: Design = "stored-baseline"
    baseline_sessions: int = 1
    components: tuple[str, ...] = ()  # distinct component descriptions, for the summary
    # Concurrent design: the control judged against the stored baseline (was the session
    # itself unusual?), and the sentence that says so.
    control_check: Comparison | None = None
    session_note: str = ""


# ------------------------------------------------------------------ vectorised core


@dataclass(frozen=True)
class ContinuousTests:
    """One-sided tests of a continuous metric; arrays broadcast over leading axes.

    `diff` is on the analysis scale (log ratio, or change relative to the baseline).
    `extra_var` is the part of se^2 that more replicates cannot shrink (the session or
    node component).
    """

    diff: FloatArray
    se: FloatArray
    df: FloatArray
    p_regress: FloatArray  # H0: bad change <= margin
    p_improve: FloatArray  # H0: good change <= margin (1 for band metrics)
    p_pass: FloatArray  # H0: bad change >= margin (TOST for band metrics)
    extra_var: FloatArray = field(default_factory=lambda: np.zeros(()))


def bad_sign_of(direction: str) -> int:
    """+1 when an increase is bad (lower is better), -1 when a decrease is, 0 for band."""
    return {"lower": 1, "higher": -1, "band": 0}[direction]


def tests_from_difference(
    est: sessions.Difference, *, margin: float | FloatArray, bad_sign: int | FloatArray
) -> ContinuousTests:
    """One-sided t tests of the bad/good change against the margin."""
    sign = np.asarray(bad_sign, dtype=np.float64)
    d, se, df = est.diff, est.se, est.df
    with np.errstate(divide="ignore", invalid="ignore"):
        up_bad = stats.t_sf((d - margin) / se, df)  # increase beyond margin
        down_bad = stats.t_sf((-d - margin) / se, df)  # decrease beyond margin
        up_ok = stats.t_sf((margin - d) / se, df)  # increase stays below margin
        down_ok = stats.t_sf((margin + d) / se, df)  # decrease stays above -margin
    band = sign == 0
    p_regress = np.where(sign > 0, up_bad, down_bad)
    p_regress = np.where(band, np.minimum(1.0, 2 * np.minimum(up_bad, down_bad)), p_regress)
    p_improve = np.where(sign > 0, down_bad, up_bad)
    p_improve = np.where(band, 1.0, p_improve)
    p_pass = np.where(sign > 0, up_ok, down_ok)
    p_pass = np.where(band, np.maximum(up_ok, down_ok), p_pass)
    return ContinuousTests(
        diff=d,
        se=se,
        df=df,
        p_regress=p_regress,
        p_improve=p_improve,
        p_pass=p_pass,
        extra_var=est.session_var,
    )


def continuous_tests(
    base: FloatArray,
    cand: FloatArray,
    *,
    margin: float | FloatArray,
    bad_sign: int | FloatArray,
    session_var: float | FloatArray = 0.0,
    session_df: float | FloatArray = math.inf,
) -> ContinuousTests:
    """Tests of one candidate session against one baseline session, (..., P) each."""
    est = sessions.difference(
        sessions.session_stats(np.asarray(base)[..., None, :]),
        sessions.session_stats(np.asarray(cand)[..., None, :]),
        session_var=session_var,
        session_df=session_df,
    )
    return tests_from_difference(est, margin=margin, bad_sign=bad_sign)


def decide(
    p_regress_adj: FloatArray,
    p_improve_adj: FloatArray,
    p_pass: FloatArray,
    alpha: float | FloatArray,
    p_subset_adj: FloatArray | None = None,
) -> Codes:
    """Verdict codes from (already multiplicity-adjusted) p-values."""
    codes: Codes = np.full(np.shape(p_regress_adj), INCONCLUSIVE, dtype=np.int64)
    subset_hit = np.zeros(np.shape(p_regress_adj), dtype=bool)
    if p_subset_adj is not None:
        subset_hit = np.asarray(p_subset_adj <= alpha)
    codes = np.where((p_pass <= alpha) & ~subset_hit, PASSED, codes)
    codes = np.where(p_improve_adj <= alpha, IMPROVED, codes)
    codes = np.where((p_regress_adj <= alpha) | subset_hit, REGRESSED, codes)
    return codes


def decide_fixed(tests: ContinuousTests, alpha: float, metric_axis: int = -1) -> Codes:
    """Fixed-sample Holm decision (the engine before max-T), metrics along `metric_axis`."""
    p_reg = stats.holm_adjust(tests.p_regress, axis=metric_axis)
    p_imp = stats.holm_adjust(tests.p_improve, axis=metric_axis)
    return decide(p_reg, p_imp, tests.p_pass, alpha)


def adjust_family(
    p: FloatArray,
    *,
    method: Multiplicity,
    rows: FloatArray | None = None,
    extra_var: FloatArray | None = None,
    orientation: FloatArray | None = None,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> FloatArray:
    """Adjusted p-values of one family of location tests along the last axis: max-T
    (Westfall-Young min-P over the replicate-label bootstrap) or Holm."""
    if method == "holm" or rows is None:
        return stats.holm_adjust(p)
    assert extra_var is not None and orientation is not None
    null = multiplicity.multiplier_null(rows, extra_var, orientation, draws=draws, seed=seed)
    return multiplicity.max_t_adjust(p, orientation, null)


def decide_run(
    tests: ContinuousTests,
    subset_p: FloatArray | None,
    alpha: float,
    *,
    method: Multiplicity = "maxT",
    rows: FloatArray | None = None,
    bad_sign: FloatArray | int = 1,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    family_share: float = 1.0,
) -> tuple[Codes, FloatArray, FloatArray, FloatArray | None]:
    """The run's decision over metrics on the last axis: (codes, adjusted p regress,
    adjusted p improve, adjusted p subset). Vectorised over leading axes (bench).

    "Regressed" claims are one family at alpha, split in two (Bonferroni): the location
    tests of every metric get (1 - SUBSET_SHARE) alpha through max-T (or Holm), the
    slow-subset tests SUBSET_SHARE alpha through Holm; with distribution metrics in the
    run, both hold only `family_share` of it (their KS tests the rest). The adjusted
    p-values below are scaled so that each is compared with alpha. "Improved" claims are
    their own family.
    `rows` (..., L, m): each replicate label's influence on each metric.
    """
    sign = np.broadcast_to(np.asarray(bad_sign, dtype=np.float64), tests.p_regress.shape)
    extra = np.broadcast_to(tests.extra_var, tests.p_regress.shape)
    common: dict[str, Any] = {
        "method": method,
        "rows": rows,
        "extra_var": extra,
        "draws": draws,
        "seed": seed,
    }
    share = SUBSET_SHARE if subset_p is not None else 0.0
    reg = adjust_family(tests.p_regress, orientation=sign, **common)
    reg = np.minimum(1.0, reg / ((1.0 - share) * family_share))
    imp = adjust_family(tests.p_improve, orientation=-sign, **common)
    sub = None
    if subset_p is not None:
        sub = np.minimum(1.0, stats.holm_adjust(subset_p) / (share * family_share))
    return decide(reg, imp, tests.p_pass, alpha, sub), reg, imp, sub


def overall_code(codes: Codes, axis: int = -1) -> Codes:
    """Run-level verdict code: Regressed > Invalid > Inconclusive > Improved > Passed."""
    codes = np.asarray(codes)
    regressed = (codes == REGRESSED).any(axis=axis)
    invalid = (codes == INVALID).any(axis=axis)
    inconclusive = (codes == INCONCLUSIVE).any(axis=axis)
    improved = (codes == IMPROVED).any(axis=axis)
    out = np.where(improved, IMPROVED, PASSED)
    out = np.where(inconclusive, INCONCLUSIVE, out)
    out = np.where(invalid, INVALID, out)
    result: Codes = np.where(regressed, REGRESSED, out)
    return result


# ------------------------------------------------------------ document-level engine


@dataclass(frozen=True)
class ContinuousInput:
    """A continuous metric that passed the validity checks, ready to be tested.

    Summaries are on the analysis scale (logs for ratio metrics; relative to the
    baseline's magnitude for linear ones). `sessions` holds the baseline per session;
    `control` (concurrent design) the control's summaries, paired with `cand` by position
    (round k of the candidate with round k of the control).
    """

    key: str
    unit: str
    direction: str
    scale: str
    tolerance: float
    margin: float
    base: FloatArray  # every baseline replicate summary (all sessions)
    cand: FloatArray
    base_scale: float  # linear metrics: |baseline centre| the summaries were divided by
    # Stored design: the baseline per session. Paired design: the stored baseline's
    # sessions, if given, as extra reference for the slow-subset test.
    sessions: tuple[FloatArray, ...] = ()
    component: SessionComponent | None = None
    cand_labels: tuple[str, ...] = ()
    base_labels: tuple[tuple[str, ...], ...] = ()
    control: FloatArray | None = None
    note: str = ""  # a remark about the inputs (sessions left out, unpaired rounds)
    # The slow-subset test's summaries (each replicate's least-bad repetition,
    # `stats.replicate_floors`), laid out like `sessions`, `cand` and `control`.
    floors: tuple[FloatArray, ...] = ()
    cand_floors: FloatArray | None = None
    control_floors: FloatArray | None = None
    # Every repetition of each reference session (for the subset test's tail), and the
    # candidate replicates' repetition counts.
    reps: tuple[FloatArray, ...] = ()
    control_reps: FloatArray | None = None
    cand_repetitions: FloatArray | None = None
    tolerance_source: str = ""

    @property
    def baseline_sessions(self) -> tuple[FloatArray, ...]:
        return self.sessions or (self.base,)

    @property
    def paired(self) -> bool:
        return self.control is not None

    def pairs(self, n_candidate: int | None = None) -> FloatArray:
        assert self.control is not None
        n = min(len(self.cand), len(self.control))
        if n_candidate is not None:
            n = min(n, n_candidate)
        return np.asarray(self.cand[:n] - self.control[:n], dtype=np.float64)

    def tests(self, n_candidate: int | None = None) -> ContinuousTests:
        comp = self.component
        var = comp.variance if comp is not None else 0.0
        df = comp.df if comp is not None else math.inf
        sign = bad_sign_of(self.direction)
        if self.paired:
            # Paired by round: the pairs' trimmed mean, against zero; the node component
            # is the whole extra term (the session cancels).
            d = self.pairs(n_candidate)
            est = sessions.difference(
                sessions.SessionStats(np.zeros(1), np.zeros(1), np.full(1, np.inf)),
                sessions.stack([d]),
                session_var=2 * var,
                session_df=df,
                shared_sessions=True,
            )
            return tests_from_difference(est, margin=self.margin, bad_sign=sign)
        cand = self.cand if n_candidate is None else self.cand[:n_candidate]
        est = sessions.difference(
            sessions.stack(self.baseline_sessions),
            sessions.stack([cand]),
            session_var=var,
            session_df=df,
        )
        return tests_from_difference(est, margin=self.margin, bad_sign=sign)

    def subset_reference(self) -> list[FloatArray]:
        """The sessions whose spread tells what the candidate's replicates may do."""
        floors = self.floors or self.baseline_sessions
        if self.control is not None:
            # Paired design: the control's session, plus the stored baseline's if given.
            control = self.control_floors if self.control_floors is not None else self.control
            return [control, *self.floors]
        return list(floors)

    def tail_reference(self) -> list[FloatArray]:
        """Every repetition of the reference sessions, for the run's tail model."""
        if self.control is not None and self.control_reps is not None:
            return [self.control_reps, *self.reps]
        return list(self.reps) or self.subset_reference()

    def subset(
        self, n_candidate: int | None = None, tail: subset.Tail = subset.NO_TAIL
    ) -> subset.SubsetTest:
        cand = self.cand_floors if self.cand_floors is not None else self.cand
        reps = self.cand_repetitions if self.cand_repetitions is not None else 1.0
        if n_candidate is not None:
            cand = cand[:n_candidate]
            reps = reps[:n_candidate] if isinstance(reps, np.ndarray) else reps
        return subset.subset_test(
            stats.ragged(self.subset_reference()),
            cand,
            margin=self.margin,
            bad_sign=bad_sign_of(self.direction),
            tail=tail,
            repetitions=reps,
        )

    def influence_rows(self, labels: Mapping[str, int]) -> FloatArray:
        """(L,) x 1 column of this metric's replicate influence, for the max-T family."""
        col = np.zeros(len(labels))
        if self.paired:
            d = self.pairs()
            for k, value in enumerate(multiplicity.influence(d)):
                col[labels[f"round:{k}"]] += value
            return col
        for name, value in zip(self.cand_labels, multiplicity.influence(self.cand), strict=True):
            col[labels[f"cand:{name}"]] += value
        parts = self.baseline_sessions
        for s, (names, values) in enumerate(zip(self.base_labels, parts, strict=True)):
            for name, value in zip(names, multiplicity.influence(values), strict=True):
                col[labels[f"base{s}:{name}"]] -= value / len(parts)
        return col

    def labels(self) -> list[str]:
        if self.paired:
            return [f"round:{k}" for k in range(len(self.pairs()))]
        out = [f"cand:{n}" for n in self.cand_labels]
        for s, names in enumerate(self.base_labels):
            out += [f"base{s}:{n}" for n in names]
        return out


Prepared = MetricComparison | ContinuousInput


def _fmt_pct(x: float) -> str:
    return f"{x * 100:+.2f} %"


def _by_rule(
    key: str, metric: Metric | None, verdict: Verdict, reason: str, **fields: Any
) -> MetricComparison:
    """A metric decided by a rule rather than a location test (invalid data, exact and
    error metrics, model outputs): no interval and no test statistics unless given."""
    values: dict[str, Any] = {
        "baseline": None,
        "candidate": None,
        "change": None,
        "ci_low": None,
        "ci_high": None,
        "p_welch": None,
        "p_mannwhitney": None,
        "p_ks": None,
        "p_decision": None,
        "effect_size": None,
        "n_baseline": 0,
        "n_candidate": 0,
        "additional_replicates": None,
    }
    values.update(fields)
    return MetricComparison(
        key=key,
        unit=metric.unit if metric else "",
        direction=metric.direction if metric else "",
        kind=metric.kind if metric else "",
        verdict=verdict,
        reason=reason,
        **values,
    )


def _invalid(
    key: str,
    metric: Metric | None,
    reason: str,
    *,
    n_b: int = 0,
    n_c: int = 0,
    tolerance: float | None = None,
    judged: bool = True,
) -> MetricComparison:
    return _by_rule(
        key,
        metric,
        "Invalid",
        reason,
        n_baseline=n_b,
        n_candidate=n_c,
        tolerance=tolerance,
        judged=judged,
    )


def _show_exact(value: SampleValue) -> str:
    return value if isinstance(value, str) else repr(value)


def _judge_exact(key: str, base: Metric, cand: Metric) -> MetricComparison:
    n_b, n_c = len(base.samples), len(cand.samples)
    problem = validity.exact_values_problem(base, "baseline")
    if problem is not None:
        return _invalid(key, base, problem, n_b=n_b, n_c=n_c)
    expected = validity.exact_distinct(base.values)[0]
    shown_expected = _show_exact(expected[1])
    if not cand.values:
        return _invalid(key, base, "candidate has no values", n_b=n_b, n_c=n_c)
    mismatches = [
        (g.replicate, v)
        for g in cand.samples
        for v in g.values
        if validity.exact_key(v) != expected
    ]
    common = dict(baseline=shown_expected, n_baseline=n_b, n_candidate=n_c)
    if mismatches:
        seen = sorted({_show_exact(v) for _, v in mismatches})
        where = mismatches[0][0]
        reason = (
            f"expected {expected[1]!r}, got {', '.join(seen[:3])} in "
            f"{len(mismatches)} of {len(cand.values)} values (first in {where})"
        )
        return _by_rule(key, base, "Regressed", reason, candidate=seen[0], **common)
    return _by_rule(
        key,
        base,
        "Passed",
        f"all {len(cand.values)} values equal the baseline's {expected[1]!r}",
        candidate=shown_expected,
        **common,
    )


def _judge_error(key: str, base: Metric, cand: Metric, factor: float) -> MetricComparison:
    gb, gc = validity.numeric_groups(base, "baseline"), validity.numeric_groups(cand, "candidate")
    for groups in (gb, gc):
        if isinstance(groups, str):
            return _invalid(key, base, groups)
    assert not isinstance(gb, str) and not isinstance(gc, str)
    vb = [v for g in gb for v in g]
    vc = [v for g in gc for v in g]
    for side, values in (("baseline", vb), ("candidate", vc)):
        if not values:
            return _invalid(key, base, f"{side} has no values", n_b=len(gb), n_c=len(gc))
    for side, values in (("baseline", vb), ("candidate", vc)):
        problem = validity.error_values_problem(side, values)
        if problem is not None:
            return _invalid(key, base, problem, n_b=len(gb), n_c=len(gc))
    mb, mc = float(np.median(vb)), float(np.median(vc))
    limit = factor * mb + ERROR_FLOOR
    ratio = mc / mb if mb > 0 else (math.inf if mc > ERROR_FLOOR else 1.0)
    change = ratio - 1 if math.isfinite(ratio) else None
    passed = mc <= limit
    reason = f"median error {mc:.3g} is {ratio:.3g}x the baseline's {mb:.3g} (limit {factor:g}x)"
    return _by_rule(
        key,
        base,
        "Passed" if passed else "Regressed",
        reason,
        baseline=mb,
        candidate=mc,
        change=change,
        n_baseline=len(gb),
        n_candidate=len(gc),
        tolerance=factor - 1,
    )


def as_sessions(baseline: ResultDocument | Sequence[ResultDocument]) -> tuple[ResultDocument, ...]:
    """A baseline given as one session document or as a sequence of them."""
    if isinstance(baseline, ResultDocument):
        return (baseline,)
    docs = tuple(baseline)
    if not docs:
        raise ValueError("a baseline needs at least one session document")
    return docs


def _groups_with_labels(metric: Metric, side: str) -> tuple[list[list[float]], list[str]] | str:
    groups = validity.numeric_groups(metric, side)
    if isinstance(groups, str):
        return groups
    labels = [g.replicate for g in metric.samples if g.values]
    return groups, labels


def _prepare_continuous(
    key: str,
    base_parts: Sequence[Metric],
    cand: Metric,
    tolerance: float,
    settings: EngineSettings,
) -> Prepared:
    """Validate one continuous metric over the baseline's sessions and the candidate."""
    base = base_parts[0]
    session_groups: list[list[list[float]]] = []
    session_labels: list[list[str]] = []
    for i, part in enumerate(base_parts):
        side = "baseline" if len(base_parts) == 1 else f"baseline session {i + 1}"
        got = _groups_with_labels(part, side)
        if isinstance(got, str):
            return _invalid(key, base, got, tolerance=tolerance)
        session_groups.append(got[0])
        session_labels.append(got[1])
    got_c = _groups_with_labels(cand, "candidate")
    if isinstance(got_c, str):
        return _invalid(key, base, got_c, tolerance=tolerance)
    gc, cand_labels = got_c
    need = settings.min_replicates
    # A baseline session with too few replicates says little about its own centre; leave
    # it out (and say so) rather than reject the metric when other sessions are usable.
    usable = [i for i, g in enumerate(session_groups) if len(g) >= need]
    dropped = len(session_groups) - len(usable)
    n_b = sum(len(session_groups[i]) for i in usable)
    n_c = len(gc)
    if not usable:
        have = max(len(g) for g in session_groups)
        side = "baseline" if len(session_groups) == 1 else "every baseline session"
        n_b = sum(len(g) for g in session_groups)
        problem = validity.too_few_replicates(side, have, need)
        return _invalid(key, base, problem or side, n_b=n_b, n_c=n_c, tolerance=tolerance)
    problem = validity.too_few_replicates("candidate", n_c, need)
    if problem is not None:
        return _invalid(key, base, problem, n_b=n_b, n_c=n_c, tolerance=tolerance)
    session_groups = [session_groups[i] for i in usable]
    session_labels = [session_labels[i] for i in usable]
    log = base.scale == "ratio"
    if log:
        named = [("baseline", g) for g in session_groups] + [("candidate", gc)]
        for side, groups in named:
            problem = validity.not_positive_on_ratio_scale(side, groups)
            if problem is not None:
                return _invalid(key, base, problem, n_b=n_b, n_c=n_c, tolerance=tolerance)
    per_session = [validity.summaries(g, base.scale) for g in session_groups]
    sc = validity.summaries(gc, base.scale)
    sign = bad_sign_of(base.direction)
    floors = [stats.floors_of(g, log=log, bad_sign=sign) for g in session_groups]
    cand_floors = stats.floors_of(gc, log=log, bad_sign=sign)
    reps = [np.log(np.concatenate(g)) if log else np.concatenate(g) for g in session_groups]
    if validity.flat(np.concatenate([*per_session, sc])) and not validity.may_repeat(base):
        return _invalid(
            key,
            base,
            f"every replicate summary is identical on both sides ({session_groups[0][0][0]!r} "
            f"vs {gc[0][0]!r}): {validity.FLAT_ADVICE}",
            n_b=n_b,
            n_c=n_c,
            tolerance=tolerance,
        )
    scale = 1.0
    margin = math.log1p(tolerance) if log else tolerance
    if not log:
        centre = float(np.mean([stats.trimmed_mean_and_sq_se(s)[0] for s in per_session]))
        scale = abs(centre)
        if scale == 0:
            return _invalid(
                key,
                base,
                validity.ZERO_CENTRE,
                n_b=n_b,
                n_c=n_c,
                tolerance=tolerance,
            )
        # Extreme but valid samples (1e308 next to 1e-308) may overflow: judged as inf.
        with np.errstate(over="ignore", invalid="ignore"):
            per_session = [s / scale for s in per_session]
            sc = sc / scale
            floors = [s / scale for s in floors]
            cand_floors = cand_floors / scale
            reps = [s / scale for s in reps]
    family = sessions.metric_family(base.name, base.unit)
    component = sessions.component_for(
        family, sessions.stack(per_session), override_sd=settings.session_sd
    )
    spread = sum(float(stats.trimmed_mean_and_sq_se(s)[1]) for s in [*per_session, sc])
    if spread <= 0 and component.variance == 0:
        return _invalid(
            key,
            base,
            "no spread left after trimming on either side; a "
            "continuous metric should vary (use a finer timer)",
            n_b=n_b,
            n_c=n_c,
            tolerance=tolerance,
        )
    note = ""
    if dropped:
        note = f"{dropped} baseline session(s) with fewer than {need} replicates left out"
    return ContinuousInput(
        key=key,
        unit=base.unit,
        direction=base.direction,
        scale=base.scale,
        tolerance=tolerance,
        margin=margin,
        base=np.concatenate(per_session),
        cand=sc,
        base_scale=scale,
        sessions=tuple(per_session),
        component=component,
        cand_labels=tuple(cand_labels),
        base_labels=tuple(tuple(labels) for labels in session_labels),
        note=note,
        floors=tuple(floors),
        cand_floors=cand_floors,
        reps=tuple(np.asarray(r, dtype=np.float64) for r in reps),
        cand_repetitions=np.array([float(len(g)) for g in gc]),
    )


def _to_relative(item: ContinuousInput, x: float) -> float:
    if item.scale != "ratio":
        return x
    # Values a float64 can hold (1e-300 vs 1e300) give log ratios past expm1's range.
    return math.expm1(x) if x < 709 else math.inf


def _to_level(item: ContinuousInput, centre: float) -> float:
    return math.exp(centre) if item.scale == "ratio" else centre * item.base_scale


@dataclass(frozen=True)
class Advice:
    """What would decide an Inconclusive metric."""

    text: str
    additional: int | None  # more replicates per side, when replicates would decide


def _advice(item: ContinuousInput, t: ContinuousTests, alpha: float, family: int) -> Advice:
    """Replicates that would decide with ~80 % power at the observed estimate -- or why
    replicates cannot: the change sits on the tolerance itself (no realistic amount of
    data moves the interval off it), or the session/node component alone keeps the
    interval this wide."""
    from scipy.stats import norm

    nb, nc = len(item.base), len(item.cand)
    se, d = float(t.se), float(t.diff)
    floor = float(t.extra_var)
    have = min(nb, nc)
    with np.errstate(over="ignore", invalid="ignore"):
        # Extreme but valid samples (1e308 next to 1e-308) overflow: "more than".
        per_replicate = float(max(np.float64(se) ** 2 - floor, 0.0) / (1 / nb + 1 / nc))
    if not math.isfinite(per_replicate) or not math.isfinite(d):
        return Advice(
            f"more than {MAX_SUGGESTED_REPLICATES} replicates per side would be needed",
            MAX_SUGGESTED_REPLICATES - have,
        )
    sign = bad_sign_of(item.direction)
    bad = abs(d) if sign == 0 else sign * d
    distance = abs(item.margin - bad)
    # Closer to "regressed" -> the first step of the family; otherwise non-inferiority.
    level = alpha / family if bad > item.margin else alpha
    z = float(stats.t_isf(level, float(t.df)) + norm.isf(1 - DECIDE_POWER))
    target = (distance / z) ** 2  # the standard error that would decide
    tol = f"{item.tolerance * 100:g} %"

    def replicates(available: float) -> float:
        # 1/0.95: efficiency of a 20 %-trimmed mean; +2 for the small-df t penalty.
        return math.inf if available <= 0 else 2 * per_replicate / available / 0.95 + 2

    comp = item.component
    shown = f" ({comp.sd * 100:.2g} %)" if comp is not None else ""
    level_name = "node" if item.paired else "session"
    cure = (
        "a node component known to be smaller (settings) would"
        if item.paired
        else "a baseline with more sessions or a concurrent control would"
    )
    floor_says = Advice(
        f"the {level_name} component{shown} keeps the interval this wide, so more "
        f"replicates cannot decide; {cure}",
        None,
    )
    if replicates(target) > MAX_SUGGESTED_REPLICATES:
        half = float(stats.t_isf(alpha, float(t.df))) * se
        if half < item.margin:
            # A precise interval around the tolerance itself: more data only narrows it
            # around the same point.
            return Advice(
                f"the change sits at the {tol} tolerance: more data would not decide it; "
                "whether a change of this size is acceptable is a tolerance decision",
                None,
            )
        if floor > se**2 / 2:
            return floor_says
        return Advice(
            f"more than {MAX_SUGGESTED_REPLICATES} replicates per side would be needed",
            MAX_SUGGESTED_REPLICATES - have,
        )
    total = replicates(target - floor)
    if total > MAX_SUGGESTED_REPLICATES:
        return floor_says
    additional = max(1, math.ceil(total) - have)
    return Advice(f"about {additional} more replicate(s) per side would likely decide", additional)


def _side_notes(item: ContinuousInput, cand: FloatArray) -> str:
    """Drift or a step within one side's session, which no interval covers."""
    named: list[tuple[str, FloatArray]] = [("candidate", cand)]
    parts = item.baseline_sessions
    if item.control is not None:
        named.append(("control", item.control))
        parts = item.sessions  # the stored baseline, if it was given
    for s, values in enumerate(parts):
        named.append(("baseline" if len(parts) == 1 else f"baseline session {s + 1}", values))
    for side, values in named:
        step = stats.step_change(values)
        trend = stats.order_trend(values)
        if step is not None and (trend is None or step.p <= trend[1]):
            shift = _to_relative(item, step.shift)
            return (
                f"; note: {side} replicates step by {_fmt_pct(shift)} after replicate "
                f"{step.at} of {len(values)} (change-point p = {step.p:.1g}), which this "
                "interval does not cover -- interleave the sides or re-measure both"
            )
        if trend is not None:
            rho, p_trend = trend
            return (
                f"; note: {side} replicates drift over the run (Spearman rho "
                f"{rho:+.2f}, p = {p_trend:.1g}), which this interval does not "
                "cover -- interleave baseline and candidate or re-measure both"
            )
    return ""


def finish_continuous(
    item: ContinuousInput,
    t: ContinuousTests,
    code: int,
    p_decision: float,
    alpha: float,
    family: int,
    n_candidate: int | None = None,
    *,
    subset_test: subset.SubsetTest | None = None,
    p_subset: float | None = None,
    method: str = "max-T",
    disturbed: tuple[int, int, float] | None = None,
) -> MetricComparison:
    """Turn scalar test results and a verdict code into a MetricComparison.

    `disturbed`: the slow subset was a block of consecutive replicates (first, last,
    shift); reported as a disturbance, the code is the location test's."""
    base = item.base
    cand = item.cand if n_candidate is None else item.cand[:n_candidate]
    d, se, df = float(t.diff), float(t.se), float(t.df)
    half = float(stats.t_isf(alpha, df)) * se
    change = _to_relative(item, d)
    lo, hi = _to_relative(item, d - half), _to_relative(item, d + half)
    verdict = VERDICT_NAME[code]
    tol = f"{item.tolerance * 100:g} %"
    ci = f"[{_fmt_pct(lo)}, {_fmt_pct(hi)}]"
    additional: int | None = None
    versus = " against the control" if item.paired else ""
    slow: tuple[str, ...] = ()
    subset_hit = (
        p_subset is not None and p_subset <= alpha and subset_test is not None and not disturbed
    )
    if subset_hit:
        assert subset_test is not None and p_subset is not None
        idx = subset.slow_replicates(subset_test, alpha)
        if len(idx) == 0:
            idx = np.array([int(np.argmin(subset_test.replicate_p))])
        names = item.cand_labels or tuple(f"#{i}" for i in range(len(cand)))
        slow = tuple(names[i] for i in idx if i < len(names))
        excess = float(np.median(subset_test.excess[idx]))
        how = _fmt_slow(item, excess)
        reason = (
            f"{len(idx)} of {len(cand)} replicates {how} than the others: a subset "
            f"regression ({', '.join(slow[:4])}{', ...' if len(slow) > 4 else ''}; "
            f"adjusted p = {p_subset:.2g}); location change {_fmt_pct(change)} {ci}"
        )
    elif verdict == "Regressed":
        reason = (
            f"change {_fmt_pct(change)} {ci}{versus} is worse than the {tol} tolerance "
            f"({method}-adjusted p = {p_decision:.2g})"
        )
    elif verdict == "Improved":
        reason = (
            f"change {_fmt_pct(change)} {ci}{versus} is better than the {tol} tolerance "
            f"({method}-adjusted p = {p_decision:.2g})"
        )
    elif verdict == "Passed":
        kind = "within +-" if item.direction == "band" else "no worse than"
        reason = f"change {_fmt_pct(change)} {ci}{versus} is shown {kind} the {tol} tolerance"
    else:
        advice = _advice(item, t, alpha, family)
        additional = advice.additional
        reason = (
            f"change {_fmt_pct(change)} {ci}{versus} overlaps the {tol} tolerance; {advice.text}"
        )
    component = item.component.describe() if item.component is not None else ""
    if component:
        reason += f"; {component}"
    if item.note:
        reason += f"; {item.note}"
    if disturbed is not None:
        first, last, shift = disturbed
        names = item.cand_labels or tuple(f"#{i}" for i in range(len(cand)))
        span = f"{names[first]}..{names[last]}" if last < len(names) else f"#{first}..#{last}"
        reason += (
            f"; note: replicates {span} ran {abs(_to_relative(item, shift)) * 100:.0f} % "
            "slower one after another -- a disturbance during the session, not slow units "
            "(a slow GPU is slow at its index in every pod); re-measure, or pair with a "
            "concurrent control, which cancels it"
        )
    else:
        reason += _side_notes(item, cand)
    centre_b = float(np.mean([stats.trimmed_mean_and_sq_se(s)[0] for s in item.baseline_sessions]))
    centre_c = float(stats.trimmed_mean_and_sq_se(cand)[0])
    if item.paired:
        # Levels shown are the control's (as "baseline") and the candidate's.
        assert item.control is not None
        centre_b = float(stats.trimmed_mean_and_sq_se(item.control)[0])
    return MetricComparison(
        key=item.key,
        unit=item.unit,
        direction=item.direction,
        kind="continuous",
        verdict=verdict,
        reason=reason,
        baseline=_to_level(item, centre_b),
        candidate=_to_level(item, centre_c),
        change=change,
        ci_low=lo,
        ci_high=hi,
        p_welch=stats.welch_p(base, cand),
        p_mannwhitney=stats.mannwhitney_p(base, cand),
        p_ks=stats.ks_p(base, cand),
        p_decision=p_subset if subset_hit else p_decision,
        effect_size=stats.hedges_g(base, cand),
        n_baseline=len(base) if item.control is None else len(item.control),
        n_candidate=len(cand),
        additional_replicates=additional,
        tolerance=item.tolerance,
        component=component,
        p_subset=p_subset,
        slow_replicates=slow,
        tolerance_source=item.tolerance_source,
    )


def _fmt_slow(item: ContinuousInput, excess: float) -> str:
    """'55 % slower' (bad-oriented distance from the candidate's centre)."""
    size = abs(_to_relative(item, excess))
    if item.direction == "band":
        return f"{size * 100:.0f} % off"
    word = "slower" if item.direction in ("lower", "higher") else "worse"
    return f"{size * 100:.0f} % {word}"


def _failed(workload: WorkloadResult | None) -> str | None:
    """Why a workload's metrics cannot be judged on this side, or None."""
    if workload is None or workload.status == "ok":
        return None
    if workload.error is None:
        return workload.status
    if workload.status == "skipped":
        return f"skipped: {workload.error.message}"
    return f"failed: {workload.error.type}: {workload.error.message}"


def _pooled(parts: Sequence[Metric]) -> Metric:
    """Exact and error metrics of several baseline sessions judged as one sample."""
    if len(parts) == 1:
        return parts[0]
    groups = tuple(
        replace(g, replicate=f"s{i + 1}/{g.replicate}")
        for i, part in enumerate(parts)
        for g in part.samples
    )
    return replace(parts[0], samples=groups)


def prepare(
    baseline: ResultDocument | Sequence[ResultDocument],
    candidate: ResultDocument,
    settings: EngineSettings,
    overrides: Mapping[str, MetricOverride] | None = None,
) -> list[Prepared]:
    """Validate every metric pair; return final comparisons or inputs to be tested.

    `baseline` is one session document or several; a metric is judged on the sessions
    that measured it (a session whose workload failed or skipped is left out).
    """
    overrides = overrides or {}
    docs = as_sessions(baseline)
    per_doc = [dict(d.metrics()) for d in docs]
    cand_metrics = dict(candidate.metrics())
    keys: list[str] = []
    for metrics in per_doc:
        keys += [k for k in metrics if k not in keys]
    ks_share = distribution_ks_share(docs, overrides)
    # Metrics of a failed candidate workload may be absent; judge them from the baseline.
    keys += [k for k in cand_metrics if k not in keys]
    out: list[Prepared] = []
    for key in keys:
        override = overrides.get(key)
        if override is not None and override.ignore:
            continue
        workload_name = key.split("/", 1)[0]
        cand = cand_metrics.get(key)
        failed_c = _failed(candidate.workload(workload_name))
        ok_docs = [i for i, d in enumerate(docs) if not _failed(d.workload(workload_name))]
        parts = [per_doc[i][key] for i in ok_docs if key in per_doc[i]]
        ref = parts[0] if parts else next((m[key] for m in per_doc if key in m), cand)
        assert ref is not None
        if failed_c:
            out.append(_invalid(key, ref, f"candidate workload {failed_c}"))
            continue
        if not ok_docs:
            # A workload the baseline skipped (did not apply there) cannot judge this
            # platform either way, like a metric new in the candidate.
            base_workload = docs[0].workload(workload_name)
            failed_b = _failed(base_workload)
            skipped = base_workload is not None and base_workload.status == "skipped"
            out.append(
                _invalid(
                    key,
                    ref,
                    f"baseline workload {failed_b}" + ("; not judged" if skipped else ""),
                    judged=not skipped,
                )
            )
            continue
        if not parts:
            if any(key in m for m in per_doc):
                out.append(_invalid(key, ref, "no usable baseline session measured it"))
                continue
            out.append(
                _invalid(
                    key,
                    cand,
                    "new: not in the baseline, so not judged and "
                    "not counted in the run's verdict; promote a baseline that "
                    "measures it",
                    judged=False,
                )
            )
            continue
        if cand is None:
            out.append(
                _invalid(key, ref, "missing from the candidate: the workload did not report it")
            )
            continue
        disagree = _sessions_disagree(parts)
        if disagree is not None:
            out.append(_invalid(key, ref, disagree))
            continue
        base = parts[0]
        mismatch = next(
            (
                a
                for a in ("kind", "unit", "direction", "scale")
                if getattr(base, a) != getattr(cand, a)
            ),
            None,
        )
        if mismatch is not None:
            out.append(
                _invalid(
                    key,
                    base,
                    f"{mismatch} differs: baseline {getattr(base, mismatch)!r}, "
                    f"candidate {getattr(cand, mismatch)!r}; the two sides measured different "
                    "things",
                    n_b=sum(len(p.samples) for p in parts),
                    n_c=len(cand.samples),
                )
            )
            continue
        if base.kind == "exact":
            out.append(_judge_exact(key, _pooled(parts), cand))
        elif base.kind == "distribution":
            flips, source = tolerance_for(base, override, settings)
            # Outputs on fixed inputs: the first session that measured them is the reference.
            judged = _judge_distribution(key, parts[0], cand, flips, settings.alpha, ks_share)
            out.append(dataclasses.replace(judged, tolerance_source=source))
        elif base.kind == "error":
            factor, source = tolerance_for(base, override, settings)
            judged = _judge_error(key, _pooled(parts), cand, factor)
            out.append(dataclasses.replace(judged, tolerance_source=source))
        else:
            tolerance, source = tolerance_for(base, override, settings)
            prepared = _prepare_continuous(key, parts, cand, tolerance, settings)
            out.append(dataclasses.replace(prepared, tolerance_source=source))
    return out


def _judged_kinds(
    baseline: ResultDocument | Sequence[ResultDocument], overrides: Mapping[str, MetricOverride]
) -> list[str]:
    """The kind of every baseline metric the run judges (once per key across sessions)."""
    kinds: dict[str, str] = {}
    for doc in as_sessions(baseline):
        for k, m in doc.metrics():
            if not (k in overrides and overrides[k].ignore):
                kinds.setdefault(k, m.kind)
    return list(kinds.values())


def distribution_ks_share(
    baseline: ResultDocument | Sequence[ResultDocument], overrides: Mapping[str, MetricOverride]
) -> float:
    """The share of the run's alpha that each distribution metric's KS test gets.

    The run's "Regressed" family holds the continuous tests and the KS tests of its
    distribution metrics; alpha is split between the two in proportion to their counts
    (`prediction.alpha_share`) and each KS test gets an equal part of its share
    (Bonferroni; Holm with one distribution metric, the usual case). The continuous tests
    (location and slow-subset) are adjusted for the rest (`continuous_share`)."""
    kinds = _judged_kinds(baseline, overrides)
    dist, cont = kinds.count("distribution"), kinds.count("continuous")
    return prediction.alpha_share(dist, cont) / dist if dist else 0.0


def continuous_share(
    baseline: ResultDocument | Sequence[ResultDocument], overrides: Mapping[str, MetricOverride]
) -> float:
    """The share of the run's alpha left for the continuous tests (1 without any
    distribution metric)."""
    dist = _judged_kinds(baseline, overrides).count("distribution")
    return 1.0 - distribution_ks_share(baseline, overrides) * dist


def _judge_distribution(
    key: str, base: Metric, cand: Metric, flip_tolerance: float, alpha: float, ks_share: float
) -> MetricComparison:
    """A distribution metric (a model's outputs on fixed inputs): prediction.py's rules."""
    n_b, n_c = len(base.samples), len(cand.samples)
    found = prediction.compare_outputs(base, cand)
    if isinstance(found, str):
        return _invalid(key, base, found, n_b=n_b, n_c=n_c, tolerance=flip_tolerance)
    # The KS p scaled by this test's share of alpha: comparing it with alpha is the same
    # as comparing the raw p with alpha x share (a Bonferroni adjustment).
    ks_adjusted = min(1.0, found.ks_p / ks_share) if ks_share > 0 else 1.0
    rules = prediction.PredictionRules(flip_tolerance=flip_tolerance)
    verdict, reason = prediction.decide(found, rules, ks_adjusted, alpha)
    # Levels do not apply: what was compared is in `prediction` (compare's second table).
    return _by_rule(
        key,
        base,
        verdict,
        reason,
        change=found.flip_share,
        p_ks=found.ks_p,
        p_decision=ks_adjusted,
        n_baseline=n_b,
        n_candidate=n_c,
        tolerance=flip_tolerance,
        prediction=found,
    )


TOLERANCE_OVERRIDE: Final = "suite"
TOLERANCE_WORKLOAD: Final = "workload"
TOLERANCE_DEFAULT: Final = "default"


def tolerance_for(
    metric: Metric, override: MetricOverride | None, settings: EngineSettings
) -> tuple[float, str]:
    """The tolerance a metric is judged with (error metrics: the error factor) and where
    it came from. Precedence: the suite's per-metric override, then what the workload
    declared in the document, then the suite's statistics default."""
    if metric.kind == "error":
        if override is not None and override.error_factor is not None:
            return override.error_factor, TOLERANCE_OVERRIDE
        if metric.error_factor is not None:
            return metric.error_factor, TOLERANCE_WORKLOAD
        return settings.error_factor, TOLERANCE_DEFAULT
    if override is not None and override.tolerance is not None:
        return override.tolerance, TOLERANCE_OVERRIDE
    if metric.tolerance is not None:
        return metric.tolerance, TOLERANCE_WORKLOAD
    return settings.default_tolerance, TOLERANCE_DEFAULT


def _sessions_disagree(parts: Sequence[Metric]) -> str | None:
    for attr in ("kind", "unit", "direction", "scale"):
        values = [getattr(p, attr) for p in parts]
        if len(set(values)) > 1:
            shown = ", ".join(f"session {i + 1}: {v!r}" for i, v in enumerate(values))
            return (
                f"baseline sessions disagree on {attr} ({shown}); a baseline's sessions must "
                "measure the same thing"
            )
    return None


def run_tail(items: Sequence[ContinuousInput]) -> subset.Tail:
    """`subset.tail_model` over every continuous metric of a run (ragged sessions); its
    `scale` has one entry per item."""
    refs = [item.tail_reference() for item in items]
    if not refs:
        return subset.NO_TAIL
    sessions_max = max(len(r) for r in refs)
    width = max(len(x) for r in refs for x in r)
    padded = np.full((len(refs), sessions_max, width), np.nan)
    for j, r in enumerate(refs):
        for s, values in enumerate(r):
            padded[j, s, : len(values)] = values
    return subset.tail_model(padded)


def _tail_of(tail: subset.Tail, j: int) -> subset.Tail:
    scale = np.asarray(tail.scale)
    return subset.Tail(tail.rate, tail.mean_excess, scale[j] if scale.ndim else scale)


def judge(
    prepared: Sequence[Prepared],
    settings: EngineSettings,
    *,
    n_candidate: int | None = None,
    family_share: float = 1.0,
) -> list[MetricComparison]:
    """Fixed-sample decision over every prepared metric of one run; the continuous
    tests hold `family_share` of alpha (the rest is the distribution metrics' KS tests)."""
    alpha = settings.alpha
    pending = [(i, p) for i, p in enumerate(prepared) if isinstance(p, ContinuousInput)]
    results: list[MetricComparison | None] = [
        p if isinstance(p, MetricComparison) else None for p in prepared
    ]
    if not pending:
        return [r for r in results if r is not None]
    items = [p for _, p in pending]
    tests = [p.tests(n_candidate) for p in items]
    stacked = ContinuousTests(
        diff=np.array([float(t.diff) for t in tests]),
        se=np.array([float(t.se) for t in tests]),
        df=np.array([float(t.df) for t in tests]),
        p_regress=np.array([float(t.p_regress) for t in tests]),
        p_improve=np.array([float(t.p_improve) for t in tests]),
        p_pass=np.array([float(t.p_pass) for t in tests]),
        extra_var=np.array([float(t.extra_var) for t in tests]),
    )
    tail = run_tail(items)
    subsets = [
        p.subset(n_candidate, _tail_of(tail, j)) if settings.subset else None
        for j, p in enumerate(items)
    ]
    subset_p = (
        np.array([float(s.p) if s is not None else np.nan for s in subsets])
        if settings.subset
        else None
    )
    rows = None
    if settings.multiplicity == "maxT":
        labels: dict[str, int] = {}
        for p in items:
            for name in p.labels():
                labels.setdefault(name, len(labels))
        rows = np.stack([p.influence_rows(labels) for p in items], axis=-1)
    codes, p_reg, p_imp, p_sub = decide_run(
        stacked,
        subset_p,
        alpha,
        method=settings.multiplicity,
        rows=rows,
        bad_sign=np.array([bad_sign_of(p.direction) for p in items], dtype=np.float64),
        draws=settings.draws,
        seed=settings.seed,
        family_share=family_share,
    )
    method = "max-T" if settings.multiplicity == "maxT" else "Holm"
    for j, ((i, item), t) in enumerate(zip(pending, tests, strict=True)):
        code = int(codes[j])
        disturbed = None
        found = subsets[j]
        if p_sub is not None and p_sub[j] <= alpha and found is not None:
            disturbed = _disturbed(item, found, alpha, n_candidate)
            if disturbed is not None:
                code = int(
                    decide(p_reg[j : j + 1], p_imp[j : j + 1], stacked.p_pass[j : j + 1], alpha)[0]
                )
        p_dec = {REGRESSED: p_reg[j], IMPROVED: p_imp[j]}.get(code, stacked.p_pass[j])
        results[i] = finish_continuous(
            item,
            t,
            code,
            float(p_dec),
            alpha,
            len(pending),
            n_candidate,
            subset_test=subsets[j],
            p_subset=None if p_sub is None else float(p_sub[j]),
            method=method,
            disturbed=disturbed,
        )
    return [r for r in results if r is not None]


def _disturbed(
    item: ContinuousInput, test: subset.SubsetTest, alpha: float, n_candidate: int | None
) -> tuple[int, int, float] | None:
    """`subset.disturbance` of a metric whose slow-subset test rejected."""
    floors = item.cand_floors if item.cand_floors is not None else item.cand
    if n_candidate is not None:
        floors = floors[:n_candidate]
    slow = subset.slow_replicates(test, alpha)
    if len(slow) == 0:
        slow = np.array([int(np.argmin(test.replicate_p))])
    return subset.disturbance(floors, slow, bad_sign_of(item.direction))


def _worst(metrics: Sequence[MetricComparison], verdict: Verdict) -> MetricComparison | None:
    chosen = [m for m in metrics if m.verdict == verdict]
    if not chosen:
        return None

    def badness(m: MetricComparison) -> float:
        if m.change is None:
            return math.inf if m.verdict == "Regressed" else -math.inf
        sign = bad_sign_of(m.direction) if m.direction in ("lower", "higher", "band") else 1
        return abs(m.change) if sign == 0 else sign * m.change

    if verdict == "Improved":
        return min(chosen, key=badness)
    if verdict in ("Invalid", "Inconclusive"):
        return (
            max(chosen, key=lambda m: m.additional_replicates or 0)
            if verdict == "Inconclusive"
            else chosen[0]
        )
    return max(chosen, key=badness)


def summarize(
    metrics: Sequence[MetricComparison],
    env_changes: tuple[EnvChange, ...],
    confidence: float,
    *,
    design: Design = "stored-baseline",
    baseline_sessions: int = 1,
) -> Comparison:
    judged = [m for m in metrics if m.judged]
    components = tuple(dict.fromkeys(m.component for m in metrics if m.component))
    context = {"design": design, "baseline_sessions": baseline_sessions, "components": components}
    new = len(metrics) - len(judged)
    if not judged:
        reason = (
            "no metrics to compare"
            if not metrics
            else f"none of the candidate's {len(metrics)} metrics is in the baseline"
        )
        return Comparison(
            metrics=tuple(metrics),
            verdict="Invalid",
            reason=reason,
            worst=None,
            env_changes=env_changes,
            confidence=confidence,
            **context,  # type: ignore[arg-type]
        )
    named = np.array([VERDICT_CODE[m.verdict] for m in judged], dtype=np.int64)
    code = int(overall_code(named))
    verdict = VERDICT_NAME[code]
    worst = _worst(judged, verdict)
    count = sum(1 for m in judged if m.verdict == verdict)
    n = len(judged)
    if verdict == "Passed":
        reason = f"all {n} metrics shown within tolerance"
        if worst is not None and worst.change is not None:
            reason += f"; closest: {worst.key} {_fmt_pct(worst.change)}"
    elif worst is not None:
        reason = f"{count} of {n} metrics {verdict.lower()}; "
        reason += {
            "Regressed": "worst",
            "Improved": "best",
            "Invalid": "first",
            "Inconclusive": "hardest",
        }[verdict]
        reason += f": {worst.key}: {worst.reason}"
    else:  # pragma: no cover - every verdict but Passed has a driving metric
        reason = verdict
    if new:
        reason += f"; {new} new metric(s) not in the baseline were not judged"
    if design == "concurrent-control":
        reason += "; design: concurrent control (paired by round)"
    elif baseline_sessions > 1:
        reason += f"; design: stored baseline of {baseline_sessions} sessions"
    return Comparison(
        metrics=tuple(metrics),
        verdict=verdict,
        reason=reason,
        worst=worst,
        env_changes=env_changes,
        confidence=confidence,
        **context,  # type: ignore[arg-type]
    )


def settings_and_overrides(suite: SuiteSpec) -> tuple[EngineSettings, dict[str, MetricOverride]]:
    """How a suite's runs are judged: its statistics and its per-metric overrides."""
    return EngineSettings.from_spec(suite.statistics, suite.sampling), suite.metric_overrides()


def compare_documents(
    baseline: ResultDocument | Sequence[ResultDocument],
    candidate: ResultDocument,
    settings: EngineSettings | None = None,
    overrides: Mapping[str, MetricOverride] | None = None,
) -> Comparison:
    """Compare every metric of `candidate` with a stored baseline (fixed-sample decision).

    `baseline` is one session document or a sequence of them (e.g. the first passing runs
    of a platform class); with several, the session component is estimated from them.
    The environment diff is against the first baseline document.
    """
    settings = settings or EngineSettings()
    docs = as_sessions(baseline)
    prepared = prepare(docs, candidate, settings, overrides)
    # With distribution metrics in the run their KS tests hold part of alpha.
    final = judge(prepared, settings, family_share=continuous_share(docs, overrides or {}))
    return summarize(
        final,
        diff_fingerprints(docs[0].fingerprint, candidate.fingerprint),
        settings.confidence,
        baseline_sessions=len(docs),
    )


# --------------------------------------------------------------------- serialisation


def metric_comparison_to_dict(m: MetricComparison) -> dict[str, Any]:
    return {
        "key": m.key,
        "unit": m.unit,
        "direction": m.direction,
        "kind": m.kind,
        "verdict": m.verdict,
        "reason": m.reason,
        "baseline": m.baseline,
        "candidate": m.candidate,
        "change": m.change,
        "ciLow": m.ci_low,
        "ciHigh": m.ci_high,
        "pWelch": m.p_welch,
        "pMannWhitney": m.p_mannwhitney,
        "pKS": m.p_ks,
        "pDecision": m.p_decision,
        "effectSize": m.effect_size,
        "effectSizeKind": "hedges_g" if m.effect_size is not None else None,
        "nBaseline": m.n_baseline,
        "nCandidate": m.n_candidate,
        "additionalReplicates": m.additional_replicates,
        "tolerance": m.tolerance,
        "toleranceSource": m.tolerance_source or None,
        "component": m.component,
        "pSubset": m.p_subset,
        "slowReplicates": list(m.slow_replicates),
        "prediction": m.prediction.to_dict() if m.prediction is not None else None,
    }


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    """JSON-ready (camelCase, finite numbers only) form of a comparison."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    out: dict[str, Any] = clean(
        {
            "verdict": c.verdict,
            "reason": c.reason,
            "confidence": c.confidence,
            "intervalLevel": 1 - 2 * (1 - c.confidence),
            "worst": c.worst.key if c.worst else None,
            "design": c.design,
            "baselineSessions": c.baseline_sessions,
            "components": list(c.components),
            "sessionNote": c.session_note,
            "controlCheck": (
                None
                if c.control_check is None
                else {"verdict": c.control_check.verdict, "reason": c.control_check.reason}
            ),
            "metrics": [metric_comparison_to_dict(m) for m in c.metrics],
            "environmentChanges": [
                {
                    "group": e.group,
                    "field": e.field,
                    "before": e.before,
                    "after": e.after,
                    "beforeStatus": e.before_status,
                    "afterStatus": e.after_status,
                    "rank": e.rank,
                    "summary": e.summary,
                }
                for e in c.env_changes
            ],
        }
    )
    return out
