"""The session level: families, the prior, the estimate from several baseline sessions,
and what the verdict says about the component it used."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_verdict import document, lognormal_groups, metric

from benchgate.domain import sessions
from benchgate.domain.sampling import recommend_plan
from benchgate.domain.verdict import EngineSettings, compare_documents, comparison_to_dict


@pytest.mark.parametrize(
    ("name", "unit", "family"),
    [
        ("gflops_fp32", "GFLOP/s", "throughput"),
        ("tokens_per_s", "tokens/s", "throughput"),
        ("host_copy_gbps", "GB/s", "bandwidth"),
        ("bus_bandwidth", "Gbit/s", "bandwidth"),
        ("step_time_ms_p50", "ms", "latency"),
        ("latency_p99_ms", "ms", "latency"),
        ("final_loss", "nats", "loss"),
        ("host_maxrss_kib", "KiB", "memory"),
        ("sm_clock_mhz", "MHz", "clock"),
        ("grad_norm_max", "1", "other"),
    ],
)
def test_metric_family_from_unit_and_name(name: str, unit: str, family: str) -> None:
    assert sessions.metric_family(name, unit) == family


def _sessions(rng: np.random.Generator, session_sd: float, count: int, n: int = 10):
    """`count` session documents of one metric, each with its own session offset."""
    return [
        document(
            metric(
                "t",
                lognormal_groups(
                    rng,
                    replicates=n,
                    repetitions=3,
                    centre=100 * math.exp(rng.normal(0, session_sd)),
                ),
            )
        )
        for _ in range(count)
    ]


def test_one_baseline_session_uses_the_family_prior_and_says_so() -> None:
    rng = np.random.default_rng(0)
    base, cand = _sessions(rng, 0.0, 2)
    m = compare_documents(base, cand).metrics[0]
    prior = sessions.SESSION_PRIOR_SD["latency"]
    assert m.component == f"session component: prior {prior * 100:.2g} % (latency family)"
    assert m.component in m.reason
    # The prior is in the interval: its half-width is at least z * prior * sqrt(2).
    assert m.ci_high is not None and m.ci_low is not None
    assert (m.ci_high - m.ci_low) / 2 > 1.6 * prior * math.sqrt(2) * 0.95


def test_several_baseline_sessions_estimate_the_component_and_pool_it_with_the_prior() -> None:
    rng = np.random.default_rng(1)
    stable = _sessions(rng, 0.001, 6)
    c = compare_documents(stable[:5], stable[5])
    m = c.metrics[0]
    assert "estimated from 5 baseline sessions" in m.component, m.component
    assert c.baseline_sessions == 5 and "stored baseline of 5 sessions" in c.reason
    prior = sessions.SESSION_PRIOR_SD["latency"]
    # Five agreeing sessions pull the component well below the prior, never to 0.
    pooled = math.sqrt(4 * prior**2 / (4 + 4))
    assert f"session component: {pooled * 100:.2g} %" in m.component, m.component
    single = compare_documents(stable[0], stable[5]).metrics[0]
    assert m.ci_high - m.ci_low < single.ci_high - single.ci_low


def test_noisy_sessions_raise_the_component_above_the_prior() -> None:
    rng = np.random.default_rng(2)
    noisy = _sessions(rng, 0.10, 6)
    m = compare_documents(noisy[:5], noisy[5]).metrics[0]
    sd = float(m.component.split("session component: ")[1].split(" %")[0]) / 100
    assert sd > sessions.SESSION_PRIOR_SD["latency"], m.component


def test_pooled_variance_is_the_conjugate_update_with_its_degrees_of_freedom() -> None:
    centres = np.array([0.0, 0.02, -0.02])
    base = sessions.SessionStats(centres, np.zeros(3), np.full(3, 9.0))
    var, df = sessions.pooled_session_variance(base, 0.03, prior_weight=4.0)
    own = float(np.var(centres, ddof=1))
    assert float(var) == pytest.approx((4 * 0.03**2 + 2 * own) / 6)
    assert float(df) == 6.0
    one = sessions.SessionStats(centres[:1], np.zeros(1), np.full(1, 9.0))
    var1, df1 = sessions.pooled_session_variance(one, 0.03, prior_weight=4.0)
    assert (float(var1), float(df1)) == (pytest.approx(0.03**2), 4.0)


def test_a_session_shift_of_a_single_baseline_is_inconclusive_not_regressed() -> None:
    """The issue's failure: identical code, sessions a day apart, 5 % apart. The engine
    before the session level called that a regression with a tiny p-value."""
    rng = np.random.default_rng(3)
    base = document(metric("t", lognormal_groups(rng, replicates=20, repetitions=3)))
    cand = document(metric("t", lognormal_groups(rng, replicates=20, repetitions=3, centre=105.0)))
    old_style = compare_documents(base, cand, EngineSettings(session_sd=0.0))
    assert old_style.verdict == "Regressed", "without a session level this shift 'regresses'"
    c = compare_documents(base, cand)
    assert c.verdict == "Inconclusive", c.reason
    assert "more sessions or a concurrent control would" in c.metrics[0].reason


def test_session_sd_setting_overrides_prior_and_estimate() -> None:
    rng = np.random.default_rng(4)
    docs = _sessions(rng, 0.0, 4)
    m = compare_documents(docs[:3], docs[3], EngineSettings(session_sd=0.005)).metrics[0]
    assert m.component == "session component: 0.5 % (from settings)"
    m = compare_documents(docs[:3], docs[3], EngineSettings(session_sd=0.0)).metrics[0]
    assert m.component.startswith("session component: none")


def test_the_json_says_which_components_judged() -> None:
    rng = np.random.default_rng(5)
    docs = _sessions(rng, 0.0, 3)
    d = comparison_to_dict(compare_documents(docs[:2], docs[2]))
    assert d["design"] == "stored-baseline" and d["baselineSessions"] == 2
    assert d["components"] and d["components"][0].startswith("session component:")
    assert d["metrics"][0]["component"] == d["components"][0]


def test_baseline_sessions_that_disagree_on_the_unit_are_invalid() -> None:
    rng = np.random.default_rng(6)
    a = document(metric("t", lognormal_groups(rng, replicates=5, repetitions=2), unit="ms"))
    b = document(metric("t", lognormal_groups(rng, replicates=5, repetitions=2), unit="s"))
    m = compare_documents([a, b], a).metrics[0]
    assert m.verdict == "Invalid" and "baseline sessions disagree on unit" in m.reason


def test_a_baseline_session_with_too_few_replicates_is_left_out_and_named() -> None:
    rng = np.random.default_rng(7)
    full = _sessions(rng, 0.0, 3)
    short = document(metric("t", lognormal_groups(rng, replicates=2, repetitions=3)))
    m = compare_documents([full[0], short, full[1]], full[2]).metrics[0]
    assert m.verdict != "Invalid", m.reason
    assert "1 baseline session(s) with fewer than 3 replicates left out" in m.reason
    assert "estimated from 2 baseline sessions" in m.component


def test_the_plan_says_which_component_limits_it() -> None:
    rng = np.random.default_rng(8)
    docs = _sessions(rng, 0.0, 1)
    plan = recommend_plan(docs[0])
    assert "session component: prior" in plan.why, plan.why
    assert "session component alone caps the power" in plan.why, plan.why
    assert "more baseline sessions or a concurrent control" in plan.why
    paired = recommend_plan(docs[0], design="concurrent-control")
    assert "node component" in paired.why and "session cancels" in paired.why, paired.why
    same = recommend_plan(docs[0], EngineSettings(session_sd=0.0))
    assert "caps the power" not in same.why and same.expected_power >= 0.9, same.why
