"""The session level of the variance model, and the location test that includes it.

Replicates (pods, processes, GPUs) nest in sessions: one run of a suite on one node at one
time. Replicates of one session share that session's offset (clock and power state after a
reboot, thermal state, neighbours, a shared filesystem), so the spread between replicates
of one session says nothing about how far the next session will land. A candidate is one
session; a baseline is one or more. With replicate summaries y[s, i] on the analysis scale
(log for ratio metrics), the model is

    y[s, i] = mu_side + u[s] + e[s, i],   u ~ (0, sigma_S^2),   e ~ (0, sigma_R^2)

and the difference of the candidate's centre and the mean of the baseline sessions' centres
has variance  sigma_S^2 (1 + 1/S) + Var(cand centre) + sum_s Var(centre_s) / S^2.
The candidate's own session offset never averages out: the session is the unit of
inference (Kalibera & Jones 2013), so it is always in the interval.

sigma_S^2 comes from the baseline when it holds several sessions (the method-of-moments
estimate, the spread of the session centres minus what their own standard errors explain),
pooled with a per-family prior worth PRIOR_WEIGHT degrees of freedom -- the conjugate update
of a scaled inverse chi-square prior, so that 2 or 3 sessions sharpen the prior rather than
replacing it with a number that has 1 or 2 degrees of freedom, and the t quantiles carry
the remaining uncertainty. With one baseline session only the prior is there. The priors
per metric family are measured values, stated with their source in docs/statistics.md;
`EngineSettings.session_sd` overrides them (0 for two sides that ran in one session, e.g.
interleaved replicate by replicate).

Every function here is vectorised over leading axes and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from benchgate.domain import stats
from benchgate.domain.stats import FloatArray

Family = Literal["throughput", "latency", "bandwidth", "loss", "memory", "clock", "other"]
FAMILIES: Final[tuple[Family, ...]] = (
    "throughput",
    "latency",
    "bandwidth",
    "loss",
    "memory",
    "clock",
    "other",
)

# Between-session standard deviation per family, on the analysis scale (for ratio metrics
# the log, i.e. ~relative). Measured with bench/sessions.py on the corpus in bench/data/
# (the project's CPU workloads, separate `benchgate run` sessions hours apart on one shared
# machine); docs/statistics.md has the table, the method and why these are upper values.
SESSION_PRIOR_SD: Final[Mapping[Family, float]] = {
    "throughput": 0.03,
    "latency": 0.03,
    "bandwidth": 0.03,
    "loss": 0.0,
    "memory": 0.005,
    "clock": 0.03,
    "other": 0.03,
}
# Node-to-node standard deviation of one platform, for the concurrent-control design (the
# candidate and its control run at the same time, but on two nodes). Not measurable on one
# machine: an assumption, stated in docs/statistics.md and shown in every verdict it judges.
NODE_PRIOR_SD: Final[Mapping[Family, float]] = {
    "throughput": 0.005,
    "latency": 0.005,
    "bandwidth": 0.005,
    "loss": 0.0,
    "memory": 0.0,
    "clock": 0.005,
    "other": 0.005,
}
# The priors' degrees of freedom: each counts as much evidence as this many sessions' worth
# of spread, so a few baseline sessions refine it and many replace it.
PRIOR_WEIGHT: Final = 4.0

_TIME_UNITS: Final = frozenset({"s", "ms", "us", "µs", "ns", "sec", "seconds"})
_BYTE_UNITS: Final = frozenset({"b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "bytes"})


def metric_family(name: str, unit: str) -> Family:
    """The family whose session prior applies, from the metric's unit and name."""
    u = unit.strip().lower().replace(" ", "")
    n = name.lower()
    if u.endswith("/s"):
        per = u[:-2]
        return "bandwidth" if per in _BYTE_UNITS or per.endswith("bit") else "throughput"
    if u.endswith("bps") or "bandwidth" in n:
        return "bandwidth"
    if u in _TIME_UNITS or "latency" in n or "time" in n:
        return "latency"
    if u == "nats" or "loss" in n:
        return "loss"
    if u in _BYTE_UNITS or "rss" in n or "memory" in n:
        return "memory"
    if u in ("hz", "khz", "mhz", "ghz"):
        return "clock"
    return "other"


@dataclass(frozen=True)
class SessionStats:
    """Location statistics of each session of one side, arrays of shape (..., S)."""

    centre: FloatArray  # 20 %-trimmed mean of the replicate summaries
    sq_se: FloatArray  # its squared standard error (Yuen)
    df: FloatArray  # h - 1, the kept count minus one

    @property
    def sessions(self) -> int:
        return int(np.shape(self.centre)[-1])


def session_stats(x: FloatArray) -> SessionStats:
    """Per-session statistics of summaries shaped (..., S, P) (P replicates per session)."""
    centre, sq_se, kept = stats.trimmed_mean_and_sq_se(np.asarray(x, dtype=np.float64))
    return SessionStats(centre=centre, sq_se=sq_se, df=kept - 1)


def stack(per_session: Sequence[FloatArray]) -> SessionStats:
    """Session statistics of sessions with different replicate counts (1-D each)."""
    parts = [stats.trimmed_mean_and_sq_se(np.asarray(s, dtype=np.float64)) for s in per_session]
    return SessionStats(
        centre=np.array([float(c) for c, _, _ in parts]),
        sq_se=np.array([float(d) for _, d, _ in parts]),
        df=np.array([float(h) - 1 for _, _, h in parts]),
    )


def estimated_session_variance(base: SessionStats) -> FloatArray:
    """Method-of-moments sigma_S^2 from S >= 2 sessions (0 where the spread is explained)."""
    if base.sessions < 2:
        raise ValueError("estimating a session component needs at least 2 sessions")
    spread = np.var(base.centre, axis=-1, ddof=1)
    return np.asarray(np.maximum(0.0, spread - base.sq_se.mean(axis=-1)), dtype=np.float64)


def pooled_session_variance(
    base: SessionStats, prior_sd: float | FloatArray, prior_weight: float = PRIOR_WEIGHT
) -> tuple[FloatArray, FloatArray]:
    """(sigma_S^2, its degrees of freedom): the prior updated by the baseline's sessions.

    The conjugate update of a scaled inverse chi-square prior (scale sigma0^2, w degrees
    of freedom) by S sessions: (w sigma0^2 + (S-1) estimate) / (w + S - 1), with
    w + S - 1 degrees of freedom -- with one session, the prior with w. The t quantiles
    that follow are the posterior predictive ones, so an estimate from two or three
    sessions can lower the component only as far as that much evidence allows.
    """
    prior_var = np.square(np.asarray(prior_sd, dtype=np.float64))
    lead = np.shape(base.centre)[:-1]
    if base.sessions < 2:
        var = np.broadcast_to(prior_var, lead).astype(np.float64)
        return var, np.full(lead, prior_weight)
    own = estimated_session_variance(base)
    extra = base.sessions - 1
    var = (prior_weight * prior_var + extra * own) / (prior_weight + extra)
    return np.asarray(var, dtype=np.float64), np.full(np.shape(var), prior_weight + extra)


@dataclass(frozen=True)
class Difference:
    """Candidate centre minus the baseline's (mean of its sessions' centres), with the
    standard error and Welch-Satterthwaite degrees of freedom of every component."""

    diff: FloatArray
    se: FloatArray
    df: FloatArray
    base_centre: FloatArray
    cand_centre: FloatArray
    session_var: FloatArray  # the sigma_S^2 (or node variance) that went into se


def difference(
    base: SessionStats,
    cand: SessionStats,
    *,
    session_var: float | FloatArray = 0.0,
    session_df: float | FloatArray = math.inf,
    shared_sessions: bool = False,
) -> Difference:
    """Candidate (one session: shape (..., 1)) against the baseline's S sessions.

    `shared_sessions=False`: the candidate's session offset and the mean of the baseline's
    S offsets both count, sigma_S^2 (1 + 1/S). True: `session_var` is already the whole
    extra variance of the difference (the concurrent design's two-node term).
    """
    s = base.sessions
    base_centre = base.centre.mean(axis=-1)
    cand_centre = cand.centre[..., 0]
    base_rep = base.sq_se.sum(axis=-1) / s**2
    cand_rep = cand.sq_se[..., 0]
    var_s = np.asarray(session_var, dtype=np.float64)
    extra = var_s if shared_sessions else var_s * (1.0 + 1.0 / s)
    total = cand_rep + base_rep + extra
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = (
            cand_rep**2 / cand.df[..., 0]
            + ((base.sq_se / s**2) ** 2 / base.df).sum(axis=-1)
            + np.where(extra > 0, extra**2 / np.asarray(session_df, dtype=np.float64), 0.0)
        )
        df = total**2 / denom
    # Both sides constant and no session term: the caller reports Invalid; keep df finite.
    df = np.where(np.isfinite(df) & (df > 0), df, np.maximum(cand.df[..., 0], 1.0))
    return Difference(
        diff=np.asarray(cand_centre - base_centre, dtype=np.float64),
        se=np.sqrt(total),
        df=np.asarray(df, dtype=np.float64),
        base_centre=np.asarray(base_centre, dtype=np.float64),
        cand_centre=np.asarray(cand_centre, dtype=np.float64),
        session_var=np.broadcast_to(extra, np.shape(total)).astype(np.float64),
    )


Source = Literal["prior", "estimated", "settings", "paired"]


@dataclass(frozen=True)
class SessionComponent:
    """Which between-session (or node) component judged a metric, for people to read."""

    sd: float  # sigma on the analysis scale
    df: float
    source: Source
    family: Family
    sessions: int = 1  # baseline sessions behind an estimate
    prior_sd: float = 0.0
    estimate_sd: float | None = None  # the baseline's own estimate, before pooling

    @property
    def variance(self) -> float:
        return self.sd**2

    def describe(self) -> str:
        pct = f"{self.sd * 100:.2g} %"
        if self.source == "settings":
            if self.sd == 0:
                return "session component: none (settings: both sides ran in one session)"
            return f"session component: {pct} (from settings)"
        if self.source == "paired":
            return (
                f"node component: {pct} (assumed for two nodes of one platform, "
                f"{self.family} family); the session cancels in the paired design"
            )
        if self.source == "estimated":
            own = f"{(self.estimate_sd or 0.0) * 100:.2g} %"
            return (
                f"session component: {pct} (estimated from {self.sessions} baseline sessions "
                f"({own}), pooled with the {self.family} prior "
                f"{self.prior_sd * 100:.2g} %)"
            )
        return f"session component: prior {pct} ({self.family} family)"


def component_for(
    family: Family,
    base: SessionStats,
    *,
    override_sd: float | None = None,
    prior_weight: float = PRIOR_WEIGHT,
) -> SessionComponent:
    """The session component of one metric (scalar `base`, shape (S,))."""
    prior = SESSION_PRIOR_SD[family]
    if override_sd is not None:
        return SessionComponent(
            sd=override_sd, df=math.inf, source="settings", family=family, prior_sd=prior
        )
    var, df = pooled_session_variance(base, prior, prior_weight)
    if base.sessions < 2:
        return SessionComponent(
            sd=math.sqrt(float(var)), df=float(df), source="prior", family=family, prior_sd=prior
        )
    own = float(estimated_session_variance(base))
    return SessionComponent(
        sd=math.sqrt(float(var)),
        df=float(df),
        source="estimated",
        family=family,
        sessions=base.sessions,
        prior_sd=prior,
        estimate_sd=math.sqrt(own),
    )


def node_component(family: Family, *, override_sd: float | None = None) -> SessionComponent:
    """The concurrent design's node-to-node component (two nodes: candidate and control)."""
    if override_sd is not None:
        return SessionComponent(sd=override_sd, df=math.inf, source="settings", family=family)
    # An assumed value, not an estimate: no degrees of freedom to spend on it.
    return SessionComponent(sd=NODE_PRIOR_SD[family], df=math.inf, source="paired", family=family)
