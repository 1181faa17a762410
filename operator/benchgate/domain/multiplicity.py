"""Family-wise error control across a run's metrics that uses their correlation.

The metrics of one run are measured on the same replicates: a process that ran slow runs
slow on every metric, so the metrics' test statistics are correlated, and Holm (which
must assume the worst case) spends far more of alpha than the run needs. Westfall-Young's
step-down min-P procedure keeps the family-wise error rate at alpha under any dependence
the null distribution reproduces, and gains power exactly where metrics move together.

The joint null distribution comes from a multiplier bootstrap over replicate labels: every
replicate gets one standard-normal weight per draw, shared by all of its metrics (that is
what carries the correlation), and each metric's statistic is the weighted sum of its
replicates' influence on the difference (the winsorized deviations that give the trimmed
mean's standard error), standardised to unit variance. Terms no replicate resampling can
reproduce -- a session's or a node's offset -- get their own independent normal per metric;
independence is the conservative choice for positively correlated offsets (Sidak/Slepian),
so it can cost power but never error control. Each draw's statistics become one-sided
normal p-values, compared with the observed p-values of the exact t tests (a Gaussian
copula with t margins). Hypotheses with no replicate structure (the slow-subset tests) get
independent uniform nulls.

The draws come from `numpy.random.default_rng(seed)`: the same input and seed give the
same adjusted p-values, bit for bit.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from scipy.stats import norm

from benchgate.domain.stats import DEFAULT_TRIM, FloatArray

DRAWS: Final = 2000


def influence(x: FloatArray, trim: float = DEFAULT_TRIM) -> FloatArray:
    """Each value's influence on the trimmed mean of the last axis, divided by n.

    (winsorized x - its mean) / ((1 - 2 g/n) n): the squares sum to ~Yuen's squared
    standard error, and a weighted sum with N(0, 1) weights has that variance.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    g = int(np.floor(trim * n))
    s = np.sort(x, axis=-1)
    low, high = s[..., g : g + 1], s[..., n - g - 1 : n - g]
    w = np.clip(x, low, high)
    kept = (n - 2 * g) / n
    with np.errstate(over="ignore", invalid="ignore"):  # extreme samples: inf, left out
        out = (w - w.mean(axis=-1, keepdims=True)) / (kept * n)
    return np.asarray(np.where(np.isfinite(out), out, 0.0), dtype=np.float64)


def multiplier_null(
    rows: FloatArray,
    extra_var: FloatArray,
    orientation: FloatArray,
    *,
    draws: int = DRAWS,
    seed: int = 0,
) -> FloatArray:
    """Null scores, shape (..., draws, m), of m one-sided (or band) tests.

    rows: (..., L, m) -- each replicate label's influence on each metric's difference
    (0 where a metric lacks that replicate); extra_var: (..., m) variance not carried by
    replicates; orientation: (m,) or (..., m), +1/-1 for the direction tested, 0 for a
    two-sided (band) test. A score is the standard-normal statistic oriented so that large
    is significant (|z| for band tests); its p-value is norm.sf (2 norm.sf for band).
    """
    rows = np.asarray(rows, dtype=np.float64)
    rng = np.random.default_rng(seed)
    labels, m = rows.shape[-2], rows.shape[-1]
    weights = rng.standard_normal((draws, labels))
    offsets = rng.standard_normal((draws, m))
    extra = np.broadcast_to(np.asarray(extra_var, dtype=np.float64), (*rows.shape[:-2], m))
    norm2 = (rows**2).sum(axis=-2) + extra
    orient = np.broadcast_to(np.asarray(orientation, dtype=np.float64), norm2.shape)
    # Standardise and orient the (small) inputs, so that one matrix product gives the
    # scores: weights @ rows has the variance sum(rows^2) per metric.
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(norm2 > 0, 1.0 / np.sqrt(norm2), 0.0)
    sign = np.where(orient == 0, 1.0, orient)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.nan_to_num(rows * (inv * sign)[..., None, :], nan=0.0, posinf=0.0)
    scores = np.matmul(weights, scaled)
    scores += offsets * (np.sqrt(extra) * inv * sign)[..., None, :]
    band = orient == 0
    if band.any():
        scores = np.where(band[..., None, :], np.abs(scores), scores)
    return np.asarray(scores, dtype=np.float64)


def scores_of(p: FloatArray, orientation: FloatArray) -> FloatArray:
    """The normal scores of observed p-values: the statistic a null score is compared with
    (a Gaussian copula with the tests' own -- t -- margins)."""
    p = np.asarray(p, dtype=np.float64)
    band = np.broadcast_to(np.asarray(orientation) == 0, p.shape)
    with np.errstate(divide="ignore"):
        return np.asarray(np.where(band, norm.isf(p / 2), norm.isf(p)), dtype=np.float64)


def max_t_adjust(p: FloatArray, orientation: FloatArray, null: FloatArray) -> FloatArray:
    """Westfall-Young step-down adjusted p-values along the last axis.

    p: (..., m) observed p-values (NaN = not tested, left out of the family); null:
    (..., B, m) scores under the complete null (`multiplier_null`). With the observed
    p-values turned into scores the same way, this is the step-down min-P procedure
    (Westfall & Young 1993, algorithm 2.8): adjusted_(k) is the share of draws whose
    largest null score among the hypotheses ranked k..m reaches the k-th score, made
    monotone, with the +1 that keeps it a valid p-value.
    """
    p = np.asarray(p, dtype=np.float64)
    tested = ~np.isnan(p)
    score = np.where(tested, scores_of(np.where(tested, p, 1.0), orientation), -np.inf)
    null = np.where(tested[..., None, :], np.asarray(null, dtype=np.float64), -np.inf)
    order = np.argsort(-score, axis=-1, kind="stable")
    ranked = np.take_along_axis(score, order, axis=-1)
    null_ranked = np.take_along_axis(null, order[..., None, :], axis=-1)
    tail_max = np.maximum.accumulate(null_ranked[..., ::-1], axis=-1)[..., ::-1]
    draws = null.shape[-2]
    hits = (tail_max >= ranked[..., None, :]).sum(axis=-2)
    adjusted = np.minimum(1.0, (1.0 + hits) / (draws + 1.0))
    adjusted = np.maximum.accumulate(adjusted, axis=-1)
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return np.asarray(np.where(tested, out, np.nan), dtype=np.float64)
