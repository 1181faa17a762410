"""Slow-subset test: a share of the candidate's replicates is slower than the baseline allows.

A location test over all replicates -- a 20 %-trimmed one especially -- barely moves when
one GPU of eight throttles or two processes of twenty run 55 % slower; on a platform that
is exactly the fault that matters. This test looks at each candidate replicate's distance
from the candidate's own centre (its median), so a whole-session shift, which is the
location test's business, never counts here:

    r_i = bad_sign * (y_i - median(y_cand))          (|y_i - median| for band metrics)

and asks whether r_i exceeds the tolerance by more than the baseline's spread between
replicates of one session allows: a one-sided Student-t p-value per replicate, on the
baseline's pooled standard deviation around its session means (N - S degrees of freedom).
The test's p is the Sidak combination of the smallest, 1 - (1 - min p)^n, so scanning n
replicates does not manufacture a slow one. It enters the run's multiplicity control
beside the location tests (verdict.py).

Heavy tails: a platform whose replicates now and then run 30 % slow (a process that lost
its CPU) would make a normal-theory test flag most unchanged runs. Two guards:
  - each replicate is summarised by its least-bad repetition (`stats.replicate_floors`):
    a slow unit is slow in every repetition, an outlying repetition is not;
  - each replicate's p is the larger of the normal-theory p and the p of the tail the
    baseline showed at the repetition level: repetitions of every metric of the run in
    units of their metric's robust sd, pooled (a metric's own few dozen often miss a tail
    that shows in 5 % of them; the run's hundreds rarely do), beyond TAIL_THRESHOLD an
    exponential tail fitted to them (`tail_model`), to the power R (every repetition of
    the replicate that far out).
A clean baseline has no such tail, so a slow GPU is judged by normal theory; a tail the
platform always had is judged by that tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from benchgate.domain import stats
from benchgate.domain.stats import FloatArray

IntArray = NDArray[np.int64]
# Residuals beyond this many robust sd make the run's tail (1 normal value in ~2000).
TAIL_THRESHOLD = 3.5


@dataclass(frozen=True)
class SubsetTest:
    """Arrays broadcast over leading axes; `replicate_p` has the candidate's last axis."""

    p: FloatArray  # Sidak-combined p over the candidate's replicates
    replicate_p: FloatArray  # one-sided p of each candidate replicate
    excess: FloatArray  # each replicate's bad-oriented distance from the candidate centre
    spread: FloatArray  # the baseline spread used


def _standardised(base: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(..., S, P) -> residuals from session means (..., S*P), pooled sd (...), the
    residual count (...) and degrees of freedom (...); NaN pads are kept out."""
    with np.errstate(invalid="ignore"):
        resid = base - np.nanmean(base, axis=-1, keepdims=True)
    resid = resid.reshape(*resid.shape[:-2], -1)
    present = ~np.isnan(resid)
    count = present.sum(axis=-1)
    sessions = (~np.isnan(base).all(axis=-1)).sum(axis=-1)
    df = np.maximum(count - sessions, 1).astype(np.float64)
    sd = np.sqrt(np.nansum(resid**2, axis=-1) / df)
    return resid, sd, count.astype(np.float64), df


def _robust_z(resid: FloatArray) -> tuple[FloatArray, FloatArray]:
    """|residuals| in units of their robust sd (1.4826 x MAD), and that sd."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mad = stats.MAD_TO_SD * np.nanmedian(np.abs(resid), axis=-1)
        z = np.where(mad[..., None] > 0, np.abs(resid) / mad[..., None], np.nan)
    return z, mad


@dataclass(frozen=True)
class Tail:
    """The run's baseline tail at the repetition level, beyond TAIL_THRESHOLD robust sd,
    pooled over its metrics: the share of repetitions beyond it, their mean excess (an
    exponential tail), and the robust sd of each metric's repetitions (..., m)."""

    rate: FloatArray
    mean_excess: FloatArray
    scale: FloatArray


NO_TAIL = Tail(np.zeros(()), np.zeros(()), np.ones(()))


def tail_model(repetitions: FloatArray) -> Tail:
    """repetitions: (..., m, S, N) every repetition of each baseline session (analysis
    scale, NaN-padded). Residuals from their session medians, in units of each metric's
    robust sd, pooled over the run's metrics. rate and mean_excess have shape (...,)."""
    x = np.asarray(repetitions, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        resid = x - np.nanmedian(x, axis=-1, keepdims=True)
    resid = resid.reshape(*resid.shape[:-2], -1)
    z, mad = _robust_z(resid)
    flat = z.reshape(*z.shape[:-2], -1)
    valid = ~np.isnan(flat)
    over = valid & (np.where(valid, flat, 0.0) > TAIL_THRESHOLD)
    count = over.sum(axis=-1)
    total = np.maximum(valid.sum(axis=-1), 1)
    excess = np.where(over, flat - TAIL_THRESHOLD, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_excess = np.where(count > 0, excess / count, 0.0)
    return Tail(
        rate=np.asarray(count / total, dtype=np.float64),
        mean_excess=np.asarray(mean_excess, dtype=np.float64),
        scale=np.asarray(mad, dtype=np.float64),
    )


def subset_test(
    base_sessions: FloatArray,
    cand: FloatArray,
    *,
    margin: float | FloatArray,
    bad_sign: int | FloatArray,
    tail: Tail = NO_TAIL,
    repetitions: float | FloatArray = 1.0,
) -> SubsetTest:
    """base_sessions: (..., S, P) replicate summaries (NaN pads shorter sessions);
    cand: (..., n), each replicate's repetition count in `repetitions` (broadcast). Both on
    the analysis scale, normalised like the location test. `tail`: `tail_model` of the
    run, its rate and mean_excess broadcast over ..., its scale this metric's."""
    base = np.asarray(base_sessions, dtype=np.float64)
    y = np.asarray(cand, dtype=np.float64)
    _, sd, _, df = _standardised(base)
    sign = np.asarray(bad_sign, dtype=np.float64)
    centred = y - np.median(y, axis=-1, keepdims=True)
    excess = np.where(sign[..., None] == 0, np.abs(centred), sign[..., None] * centred)
    n = y.shape[-1]
    # A residual is measured from the candidate's median (estimated from n replicates):
    # its variance is the spread's plus the median's, ~ pi / (2 n) of it.
    inflate = math.sqrt(1.0 + math.pi / (2.0 * n))
    margin_arr = np.asarray(margin, dtype=np.float64)[..., None]
    beyond = excess - margin_arr
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = beyond / (sd[..., None] * inflate)
        z = beyond / np.asarray(tail.scale, dtype=np.float64)[..., None]
    t = np.where(np.isnan(t), -np.inf, t)  # 0/0: at the margin with no spread at all
    p_normal = stats.t_sf(t, df[..., None])
    # The tail the run's baseline showed, per repetition: P(Z > z) = rate * exp(-(z - u) /
    # mean excess); a replicate's best repetition is that far out only if all R are.
    rate = np.asarray(tail.rate, dtype=np.float64)[..., None]
    mean_excess = np.asarray(tail.mean_excess, dtype=np.float64)[..., None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        decay = np.exp(-np.maximum(np.nan_to_num(z, nan=0.0) - TAIL_THRESHOLD, 0.0) / mean_excess)
    one = np.where(rate > 0, rate * np.where(np.isfinite(decay), decay, 0.0), 0.0)
    p_tail = one ** np.asarray(repetitions, dtype=np.float64)
    p_each = np.maximum(p_normal, p_tail)
    p_each = np.where(sign[..., None] == 0, np.minimum(1.0, 2.0 * p_each), p_each)
    smallest = p_each.min(axis=-1)
    combined = -np.expm1(n * np.log1p(-np.minimum(smallest, 1.0 - 1e-16)))
    return SubsetTest(
        p=np.asarray(combined, dtype=np.float64),
        replicate_p=np.asarray(p_each, dtype=np.float64),
        excess=np.asarray(excess, dtype=np.float64),
        spread=np.asarray(sd, dtype=np.float64),
    )


def slow_replicates(test: SubsetTest, level: float) -> IntArray:
    """Indices of the candidate replicates (1-D test) that are individually slow at
    `level` for the whole test (Sidak per replicate)."""
    n = test.replicate_p.shape[-1]
    each = -np.expm1(n * np.log1p(-np.minimum(test.replicate_p, 1.0 - 1e-16)))
    return np.flatnonzero(each <= level).astype(np.int64)


def disturbance(
    cand_floors: FloatArray, slow: IntArray, bad_sign: int
) -> tuple[int, int, float] | None:
    """(first, last, shift) when the slow replicates are a disturbance in time, else None.

    Replicates collected one after another (processes of `benchgate run`, one pod at a
    time) share whatever the host did meanwhile: a neighbour that ran for a minute makes a
    block of consecutive replicates slow. Slow units are different: a throttling GPU is
    slow at its index in every pod, not in a run of the collection order, and k slow units
    among n fall into one block of consecutive replicates by chance with probability
    (n - k + 1) / C(n, k) -- 10 % for 2 of 20, 1.6 % for 3 of 20. So two or more slow
    replicates that are consecutive, or that all lie in the bad segment of a significant
    step of the candidate's summaries (`stats.step_change`), are reported as a
    disturbance -- re-measure -- and the location test decides. A single slow replicate
    cannot be told from a slow unit this way.
    """
    if len(slow) < 2:
        return None
    y = np.asarray(cand_floors, dtype=np.float64)
    lo, hi = int(slow.min()), int(slow.max())
    if hi - lo + 1 == len(slow):
        return lo, hi, float(np.median(y[slow]) - np.median(np.delete(y, slow)))
    step = stats.step_change(y)
    if step is None:
        return None
    later_bad = (step.shift > 0) == (bad_sign >= 0) if bad_sign else True
    first, last = (step.at, len(y) - 1) if later_bad else (0, step.at - 1)
    if lo >= first and hi <= last:
        return first, last, step.shift
    return None
