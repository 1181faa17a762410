"""Slow-subset test: a share of the candidate's replicates is slower than the baseline allows.

A location test over all replicates -- a 20 %-trimmed one especially -- barely moves when
one GPU of eight throttles or two processes of twenty run 55 % slower; on a platform that
is exactly the fault that matters. This test looks at each candidate replicate's distance
from the candidate's own centre (its median), so a whole-session shift, which is the
location test's business, never counts here:

    r_i = bad_sign * (y_i - median(y_cand))          (|y_i - median| for band metrics)

and asks whether r_i exceeds the tolerance by more than the baseline's spread between
replicates of one session allows. The spread is the larger of
  - the robust sd of the baseline's residuals from their session medians (1.4826 x MAD),
  - the baseline's largest residual divided by the median of the largest |z| among that
    many normal draws -- so a baseline whose own replicates have a heavy tail (a process
    that lost its CPU) lets the candidate have one too.
Each replicate gets a one-sided Student-t p-value (df = baseline residuals - sessions);
the test's p is the Sidak combination of the smallest, 1 - (1 - min p)^n, so scanning n
replicates does not manufacture a slow one. It enters the run's multiplicity control
beside the location tests (verdict.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from benchgate.domain import stats
from benchgate.domain.stats import FloatArray

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class SubsetTest:
    """Arrays broadcast over leading axes; `replicate_p` has the candidate's last axis."""

    p: FloatArray  # Sidak-combined p over the candidate's replicates
    replicate_p: FloatArray  # one-sided p of each candidate replicate
    excess: FloatArray  # each replicate's bad-oriented distance from the candidate centre
    spread: FloatArray  # the baseline spread used


def _max_abs_z_median(n: int) -> float:
    """Median of the largest |Z| among n standard normal draws."""
    return float(norm.ppf((1.0 + 0.5 ** (1.0 / max(n, 1))) / 2.0))


def subset_test(
    base_sessions: FloatArray,
    cand: FloatArray,
    *,
    margin: float | FloatArray,
    bad_sign: int | FloatArray,
) -> SubsetTest:
    """base_sessions: (..., S, P) replicate summaries (NaN pads shorter sessions);
    cand: (..., n). Both on the analysis scale, normalised like the location test."""
    base = np.asarray(base_sessions, dtype=np.float64)
    y = np.asarray(cand, dtype=np.float64)
    resid_b = base - np.nanmedian(base, axis=-1, keepdims=True)
    resid_b = resid_b.reshape(*resid_b.shape[:-2], -1)
    present = ~np.isnan(resid_b)
    count = present.sum(axis=-1)
    sessions = base.shape[-2]
    abs_b = np.where(present, np.abs(resid_b), np.nan)
    mad_sd = stats.MAD_TO_SD * np.nanmedian(abs_b, axis=-1)
    # Every residual slot counts the same for the tail scale; sessions of unequal length
    # only pad with NaN, so the slot count is the largest session's.
    n_b = int(resid_b.shape[-1])
    tail_sd = np.nanmax(abs_b, axis=-1) / _max_abs_z_median(n_b)
    spread = np.maximum(mad_sd, tail_sd)
    df = np.maximum(count - sessions, 1).astype(np.float64)
    sign = np.asarray(bad_sign, dtype=np.float64)
    centred = y - np.median(y, axis=-1, keepdims=True)
    excess = np.where(sign[..., None] == 0, np.abs(centred), sign[..., None] * centred)
    n = y.shape[-1]
    # A residual is measured from the candidate's median (estimated from n replicates):
    # its variance is the spread's plus the median's, ~ pi / (2 n) of it.
    scale = spread[..., None] * math.sqrt(1.0 + math.pi / (2.0 * n))
    margin_arr = np.asarray(margin, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (excess - margin_arr[..., None]) / scale
    t = np.where(np.isnan(t), -np.inf, t)  # 0/0: at the margin with no spread at all
    p_each = stats.t_sf(t, df[..., None])
    p_each = np.where(sign[..., None] == 0, np.minimum(1.0, 2.0 * p_each), p_each)
    smallest = p_each.min(axis=-1)
    combined = -np.expm1(n * np.log1p(-np.minimum(smallest, 1.0 - 1e-16)))
    return SubsetTest(
        p=np.asarray(combined, dtype=np.float64),
        replicate_p=np.asarray(p_each, dtype=np.float64),
        excess=np.asarray(excess, dtype=np.float64),
        spread=np.asarray(spread, dtype=np.float64),
    )


def slow_replicates(test: SubsetTest, level: float) -> IntArray:
    """Indices of the candidate replicates (1-D test) that are individually slow at
    `level` for the whole test (Sidak per replicate)."""
    n = test.replicate_p.shape[-1]
    each = -np.expm1(n * np.log1p(-np.minimum(test.replicate_p, 1.0 - 1e-16)))
    return np.flatnonzero(each <= level).astype(np.int64)
