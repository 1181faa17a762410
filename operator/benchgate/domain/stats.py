"""Pure numeric estimators and tests used by the verdict engine and the sampling planner.

Every function here is vectorised over leading axes: the last axis holds the replicate
summaries of one metric on one side. `benchgate compare` calls them with 1-D arrays;
`bench/detector.py` calls the very same functions with (runs, metrics, replicates)
arrays, so the benchmark measures this code and not a re-implementation of it.

Nothing here draws random numbers: for the same input the output is bit-identical.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps

FloatArray = NDArray[np.float64]

# 20 % trimming keeps ~95 % of the mean's efficiency under normal noise while a few
# outlying replicates (a pod on a throttled GPU, a process that lost its CPU) cannot
# move the estimate (Wilcox, "Introduction to Robust Estimation", ch. 4-5).
DEFAULT_TRIM: Final = 0.2


@dataclass(frozen=True)
class TrimmedDifference:
    """Yuen-Welch comparison of two samples' trimmed means: `diff` = cand - base."""

    diff: FloatArray
    se: FloatArray
    df: FloatArray
    base_center: FloatArray
    cand_center: FloatArray


def trimmed_mean_and_sq_se(
    x: FloatArray, trim: float = DEFAULT_TRIM
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Trimmed mean, its squared standard error (Yuen's d) and h (the kept count).

    The squared standard error comes from the winsorized variance: d = (n-1) s_w^2 /
    (h (h-1)), with g = floor(trim n) values cut at each end and h = n - 2g.
    """
    n = x.shape[-1]
    g = int(np.floor(trim * n))
    h = n - 2 * g
    if h < 2:
        raise ValueError(f"need at least 2 values left after trimming, have {n}")
    s = np.sort(x, axis=-1)
    tmean = s[..., g : n - g].mean(axis=-1)
    low = s[..., g : g + 1]
    high = s[..., n - g - 1 : n - g]
    winsorized = np.clip(s, low, high)
    wvar = winsorized.var(axis=-1, ddof=1)
    sq_se = (n - 1) * wvar / (h * (h - 1))
    return tmean, sq_se, np.full(tmean.shape, float(h))


def yuen_welch(base: FloatArray, cand: FloatArray, trim: float = DEFAULT_TRIM) -> TrimmedDifference:
    """Difference of trimmed means with Welch-Satterthwaite degrees of freedom."""
    mb, db, hb = trimmed_mean_and_sq_se(base, trim)
    mc, dc, hc = trimmed_mean_and_sq_se(cand, trim)
    sq = db + dc
    with np.errstate(divide="ignore", invalid="ignore"):
        df = sq**2 / (db**2 / (hb - 1) + dc**2 / (hc - 1))
    # Both sides constant: the caller reports Invalid; keep df finite so nothing warns.
    df = np.where(np.isfinite(df), df, hb + hc - 2)
    return TrimmedDifference(diff=mc - mb, se=np.sqrt(sq), df=df, base_center=mb, cand_center=mc)


def t_sf(t: FloatArray, df: FloatArray) -> FloatArray:
    """One-sided upper-tail probability of Student's t (vectorised)."""
    return np.asarray(sps.t.sf(t, df), dtype=np.float64)


def t_isf(p: float | FloatArray, df: float | FloatArray) -> FloatArray:
    return np.asarray(sps.t.isf(p, df), dtype=np.float64)


def holm_adjust(p: FloatArray, axis: int = -1) -> FloatArray:
    """Holm step-down adjusted p-values along `axis` (reject where adjusted <= alpha).

    adjusted_(i) = max_{j<=i} min(1, (m - j + 1) p_(j)) in ascending order of p. NaN
    entries (metrics that were not tested) are left out of the family.
    """
    p = np.moveaxis(np.asarray(p, dtype=np.float64), axis, -1)
    tested = ~np.isnan(p)
    m = tested.sum(axis=-1, keepdims=True)
    filled = np.where(tested, p, np.inf)
    order = np.argsort(filled, axis=-1, kind="stable")
    ranked = np.take_along_axis(filled, order, axis=-1)
    factors = m - np.arange(p.shape[-1])
    with np.errstate(invalid="ignore"):
        stepped = np.minimum(1.0, np.where(np.isfinite(ranked), ranked * factors, np.inf))
    stepped = np.maximum.accumulate(stepped, axis=-1)
    adjusted = np.empty_like(stepped)
    np.put_along_axis(adjusted, order, stepped, axis=-1)
    adjusted = np.where(tested, adjusted, np.nan)
    return np.moveaxis(adjusted, -1, axis)


def hedges_g(base: FloatArray, cand: FloatArray) -> float | None:
    """Standardised mean difference with the small-sample correction (cand - base)."""
    nb, nc = len(base), len(cand)
    if nb < 2 or nc < 2:
        return None
    pooled = ((nb - 1) * base.var(ddof=1) + (nc - 1) * cand.var(ddof=1)) / (nb + nc - 2)
    if pooled <= 0:
        return None
    correction = 1 - 3 / (4 * (nb + nc) - 9)
    return float((cand.mean() - base.mean()) / np.sqrt(pooled) * correction)


def welch_p(base: FloatArray, cand: FloatArray) -> float | None:
    """Two-sided Welch t-test p for 'no difference' (informative, not the decision)."""
    if len(base) < 2 or len(cand) < 2 or (np.ptp(base) == 0 and np.ptp(cand) == 0):
        return None
    with warnings.catch_warnings():
        # One flat side (a memory metric may repeat one value) makes scipy warn about
        # precision; the p stays well defined from the other side's spread.
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(sps.ttest_ind(cand, base, equal_var=False).pvalue)


def mannwhitney_p(base: FloatArray, cand: FloatArray) -> float | None:
    if len(base) < 1 or len(cand) < 1:
        return None
    if np.ptp(np.concatenate([base, cand])) == 0:
        return 1.0
    return float(sps.mannwhitneyu(cand, base, alternative="two-sided").pvalue)


def ks_p(base: FloatArray, cand: FloatArray) -> float | None:
    if len(base) < 1 or len(cand) < 1:
        return None
    with warnings.catch_warnings():
        # Tiny samples with ties fall back from the exact to the asymptotic p: fine here.
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(sps.ks_2samp(cand, base).pvalue)


TREND_MIN_REPLICATES: Final = 8
TREND_ALPHA: Final = 0.01


def order_trend(summaries: FloatArray) -> tuple[float, float] | None:
    """(Spearman rho, p) of the summaries against their order, if it is significant.

    A diagnostic only: a slow drift within one side's run (thermal throttling, a
    filling cache) shifts that side as a whole, which no within-run spread reveals.
    """
    if len(summaries) < TREND_MIN_REPLICATES or np.ptp(summaries) == 0:
        return None
    result = sps.spearmanr(np.arange(len(summaries)), summaries)
    rho, p = float(result.statistic), float(result.pvalue)
    return (rho, p) if p < TREND_ALPHA else None


MAD_TO_SD: Final = 1.4826  # MAD of a normal sample x 1.4826 = its standard deviation
CLIP_SDS: Final = 4.0
# Residuals from a median of a few repetitions are smaller than the noise (0.72 sd for
# 4 repetitions), so the summaries clip at 5 robust sd: ~1 in 10^4 clean values, while a
# preempted repetition (10-50 % on a 2 % noise) is far beyond it.
SUMMARY_CLIP_SDS: Final = 5.0


def replicate_means(x: FloatArray) -> FloatArray:
    """One summary per replicate: the mean of its repetitions, robust to outlying ones.

    `x` has shape (..., replicates, repetitions) on the analysis scale, NaN where a
    replicate has fewer repetitions. Why a mean and not a median: repetitions often sit at
    fixed positions with their own level (the first one slower, a cache warm on the
    second), and every replicate shares that pattern. The median of a few such values
    jumps between position levels, so a tiny shift of one position can move it by the gap
    between levels in every replicate at once -- a confident, manufactured effect. The
    mean moves exactly as much as the repetitions do on average.

    Robustness without position bias: each repetition is split into its position's
    effect (median over replicates), its replicate's level (median of the
    position-adjusted values) and a residual; only residuals beyond 5 robust standard
    deviations (pooled MAD over replicates with >= 3 repetitions) are pulled in, then the
    mean is taken. Position effects are never clipped, and clean data give the arithmetic
    mean (about 1 normal value in 10^4 is pulled in, by little).
    """
    x = np.asarray(x, dtype=np.float64)
    present = ~np.isnan(x)
    counts = present.sum(axis=-1)
    if np.any(counts == 0):
        raise ValueError("every replicate needs at least one repetition")
    with warnings.catch_warnings():
        # All-NaN positions (a replicate with fewer repetitions) are expected here.
        warnings.simplefilter("ignore", RuntimeWarning)
        level = np.nanmedian(x, axis=-1, keepdims=True)
        position = np.nanmedian(x - level, axis=-2, keepdims=True)
    position = np.where(np.isnan(position), 0.0, position)
    adjusted = x - position
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmedian(adjusted, axis=-1, keepdims=True)
    residual = adjusted - centre
    # Only replicates with >= 3 repetitions say anything about the residual spread: with
    # 1 or 2 the residuals are 0 or mirror images and would shrink the estimate. The
    # exact zeros (the median itself, for an odd count) are left out for the same reason:
    # with them a third of the residuals of 3 repetitions are 0 and the MAD halves.
    informative = present & (counts[..., None] >= 3) & (residual != 0)
    dev = np.where(informative, np.abs(residual), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = MAD_TO_SD * np.nanmedian(dev, axis=(-2, -1), keepdims=True)
    limit = np.where(np.isfinite(spread) & (spread > 0), SUMMARY_CLIP_SDS * spread, np.inf)
    cleaned = position + centre + np.clip(residual, -limit, limit)
    return np.asarray(np.nanmean(np.where(present, cleaned, np.nan), axis=-1), dtype=np.float64)


def replicate_floors(x: FloatArray, bad_sign: int | FloatArray) -> FloatArray:
    """One summary per replicate for the slow-subset test: its least-bad repetition.

    `x` as for `replicate_means`. A slow unit (a throttling GPU, a process on a busy core)
    is slow in every repetition; an outlying repetition is not. So the subset test looks
    at each replicate's best repetition -- the fastest time for "lower" metrics, the
    highest throughput for "higher" ones, the median for "band" ones -- after removing
    the position effects every replicate shares. bad_sign: +1, -1 or 0, broadcast over
    the leading axes.
    """
    x = np.asarray(x, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        level = np.nanmedian(x, axis=-1, keepdims=True)
        position = np.nanmedian(x - level, axis=-2, keepdims=True)
    position = np.where(np.isnan(position), 0.0, position)
    adjusted = x - position
    sign = np.asarray(bad_sign, dtype=np.float64)[..., None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        best = np.where(
            sign > 0,
            np.nanmin(adjusted, axis=-1),
            np.where(sign < 0, np.nanmax(adjusted, axis=-1), np.nanmedian(adjusted, axis=-1)),
        )
    return np.asarray(best, dtype=np.float64)


def ragged(groups: Sequence[Sequence[float] | FloatArray]) -> FloatArray:
    """Replicate groups of unequal length as a (replicates, max repetitions) NaN-padded array."""
    width = max((len(g) for g in groups), default=0)
    out = np.full((len(groups), max(width, 1)), np.nan, dtype=np.float64)
    for i, values in enumerate(groups):
        out[i, : len(values)] = np.asarray(values, dtype=np.float64)
    return out


def replicate_summaries(groups: Sequence[Sequence[float] | FloatArray], *, log: bool) -> FloatArray:
    """`replicate_means` of ragged groups, on the log scale for ratio metrics."""
    x = ragged(groups)
    return replicate_means(np.log(x) if log else x)


def floors_of(
    groups: Sequence[Sequence[float] | FloatArray], *, log: bool, bad_sign: int
) -> FloatArray:
    """`replicate_floors` of ragged groups, on the log scale for ratio metrics."""
    x = ragged(groups)
    return replicate_floors(np.log(x) if log else x, bad_sign)


def replicate_medians(groups: Sequence[Sequence[float]], *, log: bool) -> FloatArray:
    """The summary the engine used before `replicate_means`: the median of repetitions.

    Kept for bench/detector.py and bench/sessions.py, which compare the engine with its
    predecessor on the same data; the engine itself never calls it.
    """
    out = np.empty(len(groups), dtype=np.float64)
    for i, values in enumerate(groups):
        arr = np.asarray(values, dtype=np.float64)
        out[i] = np.median(np.log(arr) if log else arr)
    return out


STEP_MIN_REPLICATES: Final = 8
STEP_MIN_SIDE: Final = 3
STEP_ALPHA: Final = 0.01


@dataclass(frozen=True)
class Step:
    """A step change inside one side's run: replicates from `at` on moved by `shift`."""

    at: int  # index of the first replicate after the step
    shift: float  # later minus earlier mean, on the analysis scale
    p: float  # Bonferroni over the split points tried


def step_change(summaries: FloatArray) -> Step | None:
    """The most significant split of the summaries (in collection order) into an earlier
    and a later run with different means, if it is significant at 1 %.

    A diagnostic, like `order_trend`: the monotone-trend test misses a step (a neighbour
    that starts half-way, a clock that drops once), which shifts a side just as much.
    Welch's t at every split leaving >= 3 replicates on each side; the smallest p times
    the number of splits (Bonferroni), so scanning the splits does not manufacture steps.
    """
    y = np.asarray(summaries, dtype=np.float64)
    n = len(y)
    if n < STEP_MIN_REPLICATES or np.ptp(y) == 0:
        return None
    best: Step | None = None
    splits = range(STEP_MIN_SIDE, n - STEP_MIN_SIDE + 1)
    for k in splits:
        a, b = y[:k], y[k:]
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        if va + vb <= 0:
            continue
        t = (b.mean() - a.mean()) / math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va * vb else 1.0
        p = float(2 * sps.t.sf(abs(t), df))
        if best is None or p < best.p:
            best = Step(at=k, shift=float(b.mean() - a.mean()), p=p)
    if best is None:
        return None
    adjusted = min(1.0, best.p * len(splits))
    return Step(at=best.at, shift=best.shift, p=adjusted) if adjusted < STEP_ALPHA else None
