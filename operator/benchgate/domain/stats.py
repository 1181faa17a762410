"""Pure numeric estimators and tests used by the verdict engine and the sampling planner.

Every function here is vectorised over leading axes: the last axis holds the replicate
summaries of one metric on one side. `benchgate compare` calls them with 1-D arrays;
`bench/detector.py` calls the very same functions with (runs, metrics, replicates)
arrays, so the benchmark measures this code and not a re-implementation of it.

Nothing here draws random numbers: for the same input the output is bit-identical.
"""

from __future__ import annotations

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


def replicate_medians(groups: Sequence[Sequence[float]], *, log: bool) -> FloatArray:
    """One summary per replicate: the median of its repetitions (of logs for ratio metrics).

    Repetitions inside one process share that process's offset, so they are summarised
    first and only the summaries are treated as independent draws.
    """
    out = np.empty(len(groups), dtype=np.float64)
    for i, values in enumerate(groups):
        arr = np.asarray(values, dtype=np.float64)
        out[i] = np.median(np.log(arr) if log else arr)
    return out
