"""The verdict engine: compare a candidate result document with a baseline, per metric.

Pure numpy/scipy; plain dataclasses in, plain dataclasses out (no clock, no I/O).

How a continuous metric is judged
---------------------------------
1. Unit of replication. Each replicate (a pod or a fresh process) is summarised by the
   median of its repetitions -- of the logs for `ratio` metrics. Repetitions inside one
   process share that process's offset (clock state, memory layout, which GPU), so only
   the replicate summaries are treated as independent draws. A metric needs at least
   `min_replicates` replicates per side.
2. Estimate. The difference of 20 %-trimmed means of the summaries (Yuen-Welch), on the
   log scale for ratio metrics (relative change = exp(d) - 1) and relative to the
   baseline's magnitude for linear metrics. Its standard error comes from winsorized
   variances; its degrees of freedom from Welch-Satterthwaite.
3. Decision with a tolerance delta (margin L = log(1 + delta) on the log scale, so a 3 %
   tolerance accepts ratios in [1/1.03, 1.03]):
   - Regressed: H0 "bad change <= L" rejected (one-sided Yuen t), Holm-corrected across
     every continuous metric tested in the run at alpha = 1 - confidence. Band metrics
     are bad either way: their two one-sided p-values are Bonferroni-combined (2 min p)
     and the metric counts once in the Holm family (both tails cannot be false at once).
   - Improved: the mirror test, Holm-corrected in its own family.
   - Passed: non-inferiority, H0 "bad change >= L" rejected at alpha (band metrics:
     TOST equivalence within +-L). No multiplicity correction is needed here: the run
     passes only if *every* metric passes, an intersection-union test whose level is
     the per-metric level (Berger 1982).
   - Inconclusive otherwise, with the replicates per side that would likely decide.
   The reported interval is the two-sided (1 - 2 alpha) interval, the one whose edges the
   one-sided tests compare with the tolerance (a 90 % interval at 95 % confidence).
4. Alongside (informative, never the decision): Welch t p (log scale for ratio metrics),
   Mann-Whitney U p (location) and Kolmogorov-Smirnov p (shape), all on the replicate
   summaries, and Hedges' g (small-sample corrected standardised difference) as the
   effect size. A significant trend of one side's replicate summaries over their order
   (Spearman, p < 0.01, >= 8 replicates) is noted in the reason: drift within a run
   shifts that side as a whole, and no within-run spread can reveal it.

Exact metrics (checksums) must reproduce the baseline's single value; error metrics
(error against an fp64 reference) pass when the candidate's median error is at most
errorFactor x the baseline's (plus a floor of a few fp64 ulps).

No step draws random numbers, so the same input always gives the same output; `seed`
is kept in the settings for resampling-based extensions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from benchgate.api.result import Metric, ResultDocument, SampleValue, WorkloadResult
from benchgate.api.suite import MetricOverride, SamplingSpec, StatisticsSpec
from benchgate.domain import prediction, stats, validity
from benchgate.domain.envdiff import EnvChange, diff_fingerprints
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

# Power used when estimating how many replicates would "likely decide" (80 %, the
# conventional planning power) and the cap above which we just say "more than".
DECIDE_POWER: Final = 0.8
MAX_SUGGESTED_REPLICATES: Final = 200
# Errors are measured against an fp64 reference whose own rounding is ~1e-16; below a few
# fp64 ulps a difference is noise, so 0 vs 1e-300 must not count as "infinitely worse".
ERROR_FLOOR: Final = 8 * 2.0**-52


@dataclass(frozen=True)
class EngineSettings:
    confidence: float = 0.95
    default_tolerance: float = 0.03
    error_factor: float = 2.0
    min_replicates: int = 3
    seed: int = 0

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


# ------------------------------------------------------------------ vectorised core


@dataclass(frozen=True)
class ContinuousTests:
    """One-sided tests of a continuous metric; arrays broadcast over leading axes.

    `diff` is on the analysis scale (log ratio, or change relative to the baseline).
    """

    diff: FloatArray
    se: FloatArray
    df: FloatArray
    p_regress: FloatArray  # H0: bad change <= margin
    p_improve: FloatArray  # H0: good change <= margin (1 for band metrics)
    p_pass: FloatArray  # H0: bad change >= margin (TOST for band metrics)


def bad_sign_of(direction: str) -> int:
    """+1 when an increase is bad (lower is better), -1 when a decrease is, 0 for band."""
    return {"lower": 1, "higher": -1, "band": 0}[direction]


def continuous_tests(
    base: FloatArray, cand: FloatArray, *, margin: float | FloatArray, bad_sign: int | FloatArray
) -> ContinuousTests:
    """Yuen-Welch one-sided tests of the bad/good change against the margin."""
    est = stats.yuen_welch(base, cand)
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
        diff=d, se=se, df=df, p_regress=p_regress, p_improve=p_improve, p_pass=p_pass
    )


def decide(
    p_regress_adj: FloatArray,
    p_improve_adj: FloatArray,
    p_pass: FloatArray,
    alpha: float | FloatArray,
) -> Codes:
    """Verdict codes from (already multiplicity-adjusted) p-values."""
    codes: Codes = np.full(np.shape(p_regress_adj), INCONCLUSIVE, dtype=np.int64)
    codes = np.where(p_pass <= alpha, PASSED, codes)
    codes = np.where(p_improve_adj <= alpha, IMPROVED, codes)
    codes = np.where(p_regress_adj <= alpha, REGRESSED, codes)
    return codes


def decide_fixed(tests: ContinuousTests, alpha: float, metric_axis: int = -1) -> Codes:
    """Fixed-sample decision for a family of metrics laid out along `metric_axis`."""
    p_reg = stats.holm_adjust(tests.p_regress, axis=metric_axis)
    p_imp = stats.holm_adjust(tests.p_improve, axis=metric_axis)
    return decide(p_reg, p_imp, tests.p_pass, alpha)


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
    """A continuous metric that passed the validity checks, ready to be tested."""

    key: str
    unit: str
    direction: str
    scale: str
    tolerance: float
    margin: float
    base: FloatArray  # replicate summaries on the analysis scale
    cand: FloatArray
    base_scale: float  # linear metrics: |baseline centre| the summaries were divided by
    tolerance_source: str = ""

    def tests(self, n_candidate: int | None = None) -> ContinuousTests:
        cand = self.cand if n_candidate is None else self.cand[:n_candidate]
        return continuous_tests(
            self.base, cand, margin=self.margin, bad_sign=bad_sign_of(self.direction)
        )


Prepared = MetricComparison | ContinuousInput


def _fmt_pct(x: float) -> str:
    return f"{x * 100:+.2f} %"


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
    return MetricComparison(
        key=key,
        unit=metric.unit if metric else "",
        direction=metric.direction if metric else "",
        kind=metric.kind if metric else "",
        verdict="Invalid",
        reason=reason,
        baseline=None,
        candidate=None,
        change=None,
        ci_low=None,
        ci_high=None,
        p_welch=None,
        p_mannwhitney=None,
        p_ks=None,
        p_decision=None,
        effect_size=None,
        n_baseline=n_b,
        n_candidate=n_c,
        additional_replicates=None,
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
        return MetricComparison(
            key=key,
            unit=base.unit,
            direction=base.direction,
            kind=base.kind,
            verdict="Regressed",
            reason=reason,
            candidate=seen[0],
            change=None,
            ci_low=None,
            ci_high=None,
            p_welch=None,
            p_mannwhitney=None,
            p_ks=None,
            p_decision=None,
            effect_size=None,
            additional_replicates=None,
            **common,  # type: ignore[arg-type]
        )
    return MetricComparison(
        key=key,
        unit=base.unit,
        direction=base.direction,
        kind=base.kind,
        verdict="Passed",
        reason=f"all {len(cand.values)} values equal the baseline's {expected[1]!r}",
        candidate=shown_expected,
        change=None,
        ci_low=None,
        ci_high=None,
        p_welch=None,
        p_mannwhitney=None,
        p_ks=None,
        p_decision=None,
        effect_size=None,
        additional_replicates=None,
        **common,  # type: ignore[arg-type]
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
    return MetricComparison(
        key=key,
        unit=base.unit,
        direction=base.direction,
        kind=base.kind,
        verdict="Passed" if passed else "Regressed",
        reason=reason,
        baseline=mb,
        candidate=mc,
        change=change,
        ci_low=None,
        ci_high=None,
        p_welch=None,
        p_mannwhitney=None,
        p_ks=None,
        p_decision=None,
        effect_size=None,
        n_baseline=len(gb),
        n_candidate=len(gc),
        additional_replicates=None,
        tolerance=factor - 1,
    )


def _prepare_continuous(
    key: str, base: Metric, cand: Metric, tolerance: float, settings: EngineSettings
) -> Prepared:
    gb, gc = validity.numeric_groups(base, "baseline"), validity.numeric_groups(cand, "candidate")
    for groups in (gb, gc):
        if isinstance(groups, str):
            return _invalid(key, base, groups, tolerance=tolerance)
    assert not isinstance(gb, str) and not isinstance(gc, str)
    n_b, n_c = len(gb), len(gc)
    for side, have in (("baseline", n_b), ("candidate", n_c)):
        problem = validity.too_few_replicates(side, have, settings.min_replicates)
        if problem is not None:
            return _invalid(key, base, problem, n_b=n_b, n_c=n_c, tolerance=tolerance)
    log = base.scale == "ratio"
    if log:
        for side, groups in (("baseline", gb), ("candidate", gc)):
            problem = validity.not_positive_on_ratio_scale(side, groups)
            if problem is not None:
                return _invalid(key, base, problem, n_b=n_b, n_c=n_c, tolerance=tolerance)
    sb = validity.summaries(gb, base.scale)
    sc = validity.summaries(gc, base.scale)
    if validity.flat(sb) and validity.flat(sc):
        return _invalid(
            key,
            base,
            f"every replicate summary is identical on both sides ({gb[0][0]!r} vs "
            f"{gc[0][0]!r}): {validity.FLAT_ADVICE}",
            n_b=n_b,
            n_c=n_c,
            tolerance=tolerance,
        )
    scale = 1.0
    margin = math.log1p(tolerance) if log else tolerance
    if not log:
        centre, _, _ = stats.trimmed_mean_and_sq_se(sb)
        scale = abs(float(centre))
        if scale == 0:
            return _invalid(
                key,
                base,
                validity.ZERO_CENTRE,
                n_b=n_b,
                n_c=n_c,
                tolerance=tolerance,
            )
        sb, sc = sb / scale, sc / scale
    if stats.yuen_welch(sb, sc).se <= 0:
        return _invalid(
            key,
            base,
            "no spread left after trimming on either side; a "
            "continuous metric should vary (use a finer timer)",
            n_b=n_b,
            n_c=n_c,
            tolerance=tolerance,
        )
    return ContinuousInput(
        key=key,
        unit=base.unit,
        direction=base.direction,
        scale=base.scale,
        tolerance=tolerance,
        margin=margin,
        base=sb,
        cand=sc,
        base_scale=scale,
    )


def _to_relative(item: ContinuousInput, x: float) -> float:
    if item.scale != "ratio":
        return x
    # Values a float64 can hold (1e-300 vs 1e300) give log ratios past expm1's range.
    return math.expm1(x) if x < 709 else math.inf


def _to_level(item: ContinuousInput, centre: float) -> float:
    return math.exp(centre) if item.scale == "ratio" else centre * item.base_scale


def _needed_replicates(item: ContinuousInput, t: ContinuousTests, alpha: float, family: int) -> int:
    """Replicates per side that would decide with ~80 % power at the observed estimate."""
    from scipy.stats import norm

    nb, nc = len(item.base), len(item.cand)
    se, d = np.float64(t.se), float(t.diff)
    with np.errstate(over="ignore"):  # extreme samples: an infinite variance, "more than"
        var = se**2 / (1 / nb + 1 / nc)  # per-replicate variance, pooled over the sides
    sign = bad_sign_of(item.direction)
    bad = abs(d) if sign == 0 else sign * d
    distance = abs(item.margin - bad)
    # Closer to "regressed" -> the Holm-first-step level; otherwise non-inferiority.
    level = alpha / family if bad > item.margin else alpha
    z = float(norm.isf(level) + norm.isf(1 - DECIDE_POWER))
    if distance <= 0:
        return MAX_SUGGESTED_REPLICATES + 1
    # 1/0.95: efficiency of a 20 %-trimmed mean; +2 for the t quantile's small-df penalty.
    # Extreme but finite samples (1e308 next to 1e-308) overflow this: "more than".
    with np.errstate(over="ignore", invalid="ignore"):
        n = float(np.float64(2) * var * z**2 / np.float64(distance) ** 2 / 0.95 + 2)
    if not math.isfinite(n):
        return MAX_SUGGESTED_REPLICATES + 1
    return int(min(MAX_SUGGESTED_REPLICATES + 1, math.ceil(n)))


def finish_continuous(
    item: ContinuousInput,
    t: ContinuousTests,
    code: int,
    p_decision: float,
    alpha: float,
    family: int,
    n_candidate: int | None = None,
) -> MetricComparison:
    """Turn scalar test results and a verdict code into a MetricComparison."""
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
    if verdict == "Regressed":
        reason = (
            f"change {_fmt_pct(change)} {ci} is worse than the {tol} tolerance "
            f"(Holm-adjusted p = {p_decision:.2g})"
        )
    elif verdict == "Improved":
        reason = (
            f"change {_fmt_pct(change)} {ci} is better than the {tol} tolerance "
            f"(Holm-adjusted p = {p_decision:.2g})"
        )
    elif verdict == "Passed":
        kind = "within +-" if item.direction == "band" else "no worse than"
        reason = f"change {_fmt_pct(change)} {ci} is shown {kind} the {tol} tolerance"
    else:
        total = _needed_replicates(item, t, alpha, family)
        have = min(len(base), len(cand))
        if total > MAX_SUGGESTED_REPLICATES:
            additional = MAX_SUGGESTED_REPLICATES - have
            more = f"more than {MAX_SUGGESTED_REPLICATES} replicates per side would be needed"
        else:
            additional = max(1, total - have)
            more = f"about {additional} more replicate(s) per side would likely decide"
        reason = f"change {_fmt_pct(change)} {ci} overlaps the {tol} tolerance; {more}"
    for side, values in (("baseline", base), ("candidate", cand)):
        trend = stats.order_trend(values)
        if trend is not None:
            rho, p_trend = trend
            reason += (
                f"; note: {side} replicates drift over the run (Spearman rho "
                f"{rho:+.2f}, p = {p_trend:.1g}), which this interval does not "
                "cover -- interleave baseline and candidate or re-measure both"
            )
            break
    return MetricComparison(
        key=item.key,
        unit=item.unit,
        direction=item.direction,
        kind="continuous",
        verdict=verdict,
        reason=reason,
        baseline=_to_level(item, float(stats.trimmed_mean_and_sq_se(base)[0])),
        candidate=_to_level(item, float(stats.trimmed_mean_and_sq_se(cand)[0])),
        change=change,
        ci_low=lo,
        ci_high=hi,
        p_welch=stats.welch_p(base, cand),
        p_mannwhitney=stats.mannwhitney_p(base, cand),
        p_ks=stats.ks_p(base, cand),
        p_decision=p_decision,
        effect_size=stats.hedges_g(base, cand),
        n_baseline=len(base),
        n_candidate=len(cand),
        additional_replicates=additional,
        tolerance=item.tolerance,
        tolerance_source=item.tolerance_source,
    )


def _failed(workload: WorkloadResult | None) -> str | None:
    """Why a workload's metrics cannot be judged on this side, or None."""
    if workload is None or workload.status == "ok":
        return None
    if workload.error is None:
        return workload.status
    if workload.status == "skipped":
        return f"skipped: {workload.error.message}"
    return f"failed: {workload.error.type}: {workload.error.message}"


def prepare(
    baseline: ResultDocument,
    candidate: ResultDocument,
    settings: EngineSettings,
    overrides: Mapping[str, MetricOverride] | None = None,
) -> list[Prepared]:
    """Validate every metric pair; return final comparisons or inputs to be tested."""
    overrides = overrides or {}
    base_metrics = dict(baseline.metrics())
    cand_metrics = dict(candidate.metrics())
    ks_share = distribution_ks_share(baseline, overrides)
    keys = list(base_metrics)
    # Metrics of a failed candidate workload may be absent; judge them from the baseline.
    keys += [k for k in cand_metrics if k not in base_metrics]
    out: list[Prepared] = []
    for key in keys:
        override = overrides.get(key)
        if override is not None and override.ignore:
            continue
        workload_name = key.split("/", 1)[0]
        base, cand = base_metrics.get(key), cand_metrics.get(key)
        failed_c = _failed(candidate.workload(workload_name))
        failed_b = _failed(baseline.workload(workload_name))
        ref = base or cand
        assert ref is not None
        if failed_c:
            out.append(_invalid(key, ref, f"candidate workload {failed_c}"))
            continue
        if failed_b:
            # A workload the baseline skipped (did not apply there) cannot judge this
            # platform either way, like a metric new in the candidate.
            base_workload = baseline.workload(workload_name)
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
        if base is None:
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
                _invalid(key, base, "missing from the candidate: the workload did not report it")
            )
            continue
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
                    n_b=len(base.samples),
                    n_c=len(cand.samples),
                )
            )
            continue
        if base.kind == "exact":
            out.append(_judge_exact(key, base, cand))
        elif base.kind == "distribution":
            flips, source = tolerance_for(base, override, settings)
            judged = _judge_distribution(key, base, cand, flips, settings.alpha, ks_share)
            out.append(dataclasses.replace(judged, tolerance_source=source))
        elif base.kind == "error":
            factor, source = tolerance_for(base, override, settings)
            judged = _judge_error(key, base, cand, factor)
            out.append(dataclasses.replace(judged, tolerance_source=source))
        else:
            tolerance, source = tolerance_for(base, override, settings)
            prepared = _prepare_continuous(key, base, cand, tolerance, settings)
            out.append(dataclasses.replace(prepared, tolerance_source=source))
    return out


def distribution_ks_share(
    baseline: ResultDocument, overrides: Mapping[str, MetricOverride]
) -> float:
    """The share of the run's alpha that each distribution metric's KS test gets.

    The run's "Regressed" family holds the continuous tests and the KS tests of its
    distribution metrics; alpha is split between the two in proportion to their counts
    (`prediction.alpha_share`) and each KS test gets an equal part of its share
    (Bonferroni; Holm with one distribution metric, the usual case). The continuous tests
    are adjusted for the rest (`continuous_share`)."""
    kinds = [m.kind for k, m in baseline.metrics() if not (k in overrides and overrides[k].ignore)]
    dist, cont = kinds.count("distribution"), kinds.count("continuous")
    return prediction.alpha_share(dist, cont) / dist if dist else 0.0


def continuous_share(baseline: ResultDocument, overrides: Mapping[str, MetricOverride]) -> float:
    """The share of the run's alpha left for the continuous tests (1 without any
    distribution metric)."""
    per_test = distribution_ks_share(baseline, overrides)
    dist = sum(
        1
        for k, m in baseline.metrics()
        if m.kind == "distribution" and not (k in overrides and overrides[k].ignore)
    )
    return 1.0 - per_test * dist


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
    return MetricComparison(
        key=key,
        unit=base.unit,
        direction=base.direction,
        kind=base.kind,
        verdict=verdict,
        reason=reason,
        # Levels do not apply: what was compared is in `prediction` (compare's second table).
        baseline=None,
        candidate=None,
        change=found.flip_share,
        ci_low=None,
        ci_high=None,
        p_welch=None,
        p_mannwhitney=None,
        p_ks=found.ks_p,
        p_decision=ks_adjusted,
        effect_size=None,
        n_baseline=n_b,
        n_candidate=n_c,
        additional_replicates=None,
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
    metrics: Sequence[MetricComparison], env_changes: tuple[EnvChange, ...], confidence: float
) -> Comparison:
    judged = [m for m in metrics if m.judged]
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
    return Comparison(
        metrics=tuple(metrics),
        verdict=verdict,
        reason=reason,
        worst=worst,
        env_changes=env_changes,
        confidence=confidence,
    )


def compare_documents(
    baseline: ResultDocument,
    candidate: ResultDocument,
    settings: EngineSettings | None = None,
    overrides: Mapping[str, MetricOverride] | None = None,
) -> Comparison:
    """Compare every metric of `candidate` with `baseline` (fixed-sample decision)."""
    settings = settings or EngineSettings()
    alpha = settings.alpha
    prepared = prepare(baseline, candidate, settings, overrides)
    pending = [(i, p) for i, p in enumerate(prepared) if isinstance(p, ContinuousInput)]
    results: list[MetricComparison | None] = [
        p if isinstance(p, MetricComparison) else None for p in prepared
    ]
    if pending:
        tests = [p.tests() for _, p in pending]
        # With distribution metrics in the run their KS tests hold part of alpha.
        share = continuous_share(baseline, overrides or {})
        p_reg = np.minimum(
            1.0, stats.holm_adjust(np.array([float(t.p_regress) for t in tests])) / share
        )
        p_imp = stats.holm_adjust(np.array([float(t.p_improve) for t in tests]))
        p_pass = np.array([float(t.p_pass) for t in tests])
        codes = decide(p_reg, p_imp, p_pass, alpha)
        for j, ((i, item), t) in enumerate(zip(pending, tests, strict=True)):
            code = int(codes[j])
            p_dec = {REGRESSED: p_reg[j], IMPROVED: p_imp[j]}.get(code, p_pass[j])
            results[i] = finish_continuous(item, t, code, float(p_dec), alpha, len(pending))
    final = [r for r in results if r is not None]
    return summarize(
        final, diff_fingerprints(baseline.fingerprint, candidate.fingerprint), settings.confidence
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
