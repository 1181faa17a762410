"""The verdict engine on arrays of many runs at once, for bench/ and for checking the engine.

`compare_documents` works metric by metric on ragged documents; this module runs the same
primitives -- replicate summaries, per-session trimmed means, the session component, the
slow-subset test, the max-T family -- on balanced arrays with a leading "runs" axis, so
that bench/detector.py and bench/sessions.py measure the engine itself rather than a
re-implementation. tests/unit/test_batch.py checks that both paths give the same codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchgate.domain import multiplicity, sessions, stats, subset
from benchgate.domain.stats import FloatArray
from benchgate.domain.verdict import (
    Codes,
    ContinuousTests,
    EngineSettings,
    decide,
    decide_run,
    tests_from_difference,
)


@dataclass(frozen=True)
class BatchResult:
    codes: Codes  # (..., m) verdict codes
    tests: ContinuousTests  # location tests, (..., m)
    subset_p: FloatArray | None  # raw Sidak-combined subset p, (..., m)
    session_var: FloatArray  # (..., m) the extra variance that went into se


def summaries(x: FloatArray, *, log: bool = True) -> FloatArray:
    """Replicate summaries of raw values (..., P, R): `stats.replicate_means` of the logs."""
    x = np.asarray(x, dtype=np.float64)
    return stats.replicate_means(np.log(x) if log else x)


def floors(x: FloatArray, bad_sign: int | FloatArray, *, log: bool = True) -> FloatArray:
    """The slow-subset test's summaries of raw values (..., P, R): `stats.replicate_floors`.
    bad_sign broadcasts over the axes before (P, R)."""
    x = np.asarray(x, dtype=np.float64)
    return stats.replicate_floors(np.log(x) if log else x, bad_sign)


def judge_batch(
    base: FloatArray,
    cand: FloatArray,
    *,
    margin: float | FloatArray,
    bad_sign: int | FloatArray,
    settings: EngineSettings,
    prior_sd: float | FloatArray,
    control: FloatArray | None = None,
    node_sd: float | FloatArray = 0.0,
    base_floors: FloatArray | None = None,
    cand_floors: FloatArray | None = None,
    control_floors: FloatArray | None = None,
    base_reps: FloatArray | None = None,
    control_reps: FloatArray | None = None,
    repetitions: float = 1.0,
) -> BatchResult:
    """Codes of m metrics per run. base: (..., m, S, P) summaries of the stored baseline's
    S sessions; cand: (..., m, P); control (concurrent design): (..., m, P), paired with
    cand by replicate position. Summaries on the analysis scale (see `summaries`); the
    `*_floors` (see `floors`) are what the slow-subset test compares, the summaries when
    not given; `base_reps` (..., m, S, P*R) and `control_reps` (..., m, P*R) every
    repetition on the analysis scale, for its tail (`repetitions` per replicate)."""
    base = np.asarray(base, dtype=np.float64)
    cand = np.asarray(cand, dtype=np.float64)
    n_sessions = base.shape[-2]
    sign = np.broadcast_to(np.asarray(bad_sign, dtype=np.float64), cand.shape[:-1])
    if control is not None:
        pairs = cand - control
        node = (
            settings.node_sd
            if settings.node_sd is not None
            else np.asarray(node_sd, dtype=np.float64)
        )
        var = np.broadcast_to(2 * np.square(node), cand.shape[:-1]).astype(np.float64)
        zero = np.zeros((*cand.shape[:-1], 1))
        est = sessions.difference(
            sessions.SessionStats(zero, zero, np.full_like(zero, np.inf)),
            sessions.session_stats(pairs[..., None, :]),
            session_var=var,
            session_df=np.inf,
            shared_sessions=True,
        )
        ctrl_f = control if control_floors is None else control_floors
        base_f = base if base_floors is None else base_floors
        reference = np.concatenate([ctrl_f[..., None, :], base_f], axis=-2)
        tail_ref = None
        if control_reps is not None and base_reps is not None:
            tail_ref = np.concatenate([control_reps[..., None, :], base_reps], axis=-2)
        rows = multiplicity.influence(pairs)
    else:
        base_stats = sessions.session_stats(base)
        if settings.session_sd is not None:
            var = np.full(cand.shape[:-1], settings.session_sd**2)
            df = np.full(cand.shape[:-1], np.inf)
        else:
            var, df = sessions.pooled_session_variance(base_stats, prior_sd)
        est = sessions.difference(
            base_stats,
            sessions.session_stats(cand[..., None, :]),
            session_var=var,
            session_df=df,
        )
        reference = base if base_floors is None else base_floors
        tail_ref = base_reps
        infl_base = multiplicity.influence(base) / -n_sessions
        rows = np.concatenate(
            [multiplicity.influence(cand), infl_base.reshape(*infl_base.shape[:-2], -1)],
            axis=-1,
        )
    tests = tests_from_difference(est, margin=margin, bad_sign=sign)
    subset_p = None
    found = None
    if settings.subset:
        # One tail per run, over its metrics.
        run = subset.tail_model(reference if tail_ref is None else tail_ref)
        tail = subset.Tail(run.rate[..., None], run.mean_excess[..., None], run.scale)
        judged = cand if cand_floors is None else cand_floors
        found = subset.subset_test(
            reference, judged, margin=margin, bad_sign=sign, tail=tail, repetitions=repetitions
        )
        subset_p = found.p
    codes, reg, imp, sub = decide_run(
        tests,
        subset_p,
        settings.alpha,
        method=settings.multiplicity,
        rows=np.swapaxes(rows, -1, -2),  # (..., labels, m)
        bad_sign=sign,
        draws=settings.draws,
        seed=settings.seed,
    )
    if found is not None and sub is not None:
        codes = _disturbances(codes, found, sub, reg, imp, tests, sign, judged, settings.alpha)
    return BatchResult(
        codes=codes, tests=tests, subset_p=subset_p, session_var=np.asarray(est.session_var)
    )


def _disturbances(
    codes: Codes,
    found: subset.SubsetTest,
    sub: FloatArray,
    reg: FloatArray,
    imp: FloatArray,
    tests: ContinuousTests,
    sign: FloatArray,
    floors: FloatArray,
    alpha: float,
) -> Codes:
    """Where a slow subset is a disturbance in time (`subset.disturbance`), the location
    test decides -- as `verdict.judge` does metric by metric."""
    codes = np.array(codes)
    for index in zip(*np.nonzero(sub <= alpha), strict=True):
        one = subset.SubsetTest(
            p=found.p[index],
            replicate_p=found.replicate_p[index],
            excess=found.excess[index],
            spread=found.spread[index],
        )
        slow = subset.slow_replicates(one, alpha)
        if len(slow) == 0:
            slow = np.array([int(np.argmin(one.replicate_p))])
        if subset.disturbance(floors[index], slow, int(sign[index])) is not None:
            codes[index] = decide(reg[index], imp[index], tests.p_pass[index], alpha)
    return codes
