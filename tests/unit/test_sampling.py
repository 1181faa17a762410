"""Sampling plans, group-sequential boundaries and sequential stop/continue."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.stats import norm
from test_verdict import document, lognormal_groups, metric

from benchgate.domain.sampling import (
    SamplingPlan,
    look_schedule,
    nominal_levels,
    recommend_plan,
    sequential_decision,
    variance_components,
)
from benchgate.domain.verdict import EngineSettings


def _doc(
    rng: np.random.Generator,
    *,
    n: int,
    r: int,
    between: float,
    centre: float = 100.0,
    metrics: int = 3,
):
    return document(
        *(
            metric(
                f"m{j}",
                lognormal_groups(rng, replicates=n, repetitions=r, between=between, centre=centre),
            )
            for j in range(metrics)
        )
    )


def test_variance_components_recover_between_and_within() -> None:
    rng = np.random.default_rng(0)
    groups = lognormal_groups(rng, replicates=200, repetitions=10, within=0.02, between=0.015)
    comps = variance_components(groups)
    assert np.sqrt(comps.within) == pytest.approx(0.02, rel=0.1)
    assert np.sqrt(comps.between) == pytest.approx(0.015, rel=0.2)


def test_plan_prefers_repetitions_without_and_replicates_with_process_offsets() -> None:
    # Both sides in one session (no session component): what the plan buys is then only
    # replicate and repetition noise, which is what this test is about.
    rng = np.random.default_rng(1)
    same = EngineSettings(session_sd=0.0)
    flat = recommend_plan(_doc(rng, n=10, r=5, between=0.0), same)
    offsets = recommend_plan(_doc(rng, n=10, r=5, between=0.015), same)
    assert flat.repetitions >= 2, flat.why
    assert offsets.replicates > flat.replicates, offsets.why
    assert offsets.repetitions <= flat.repetitions, offsets.why
    for plan in (flat, offsets):
        assert plan.replicates * plan.repetitions <= 30
        assert plan.expected_power >= 0.9, plan.why
        assert "replicates x" in plan.why


def test_plan_without_baseline_uses_a_prior_and_says_when_target_is_missed() -> None:
    plan = recommend_plan(None)
    assert "prior" in plan.why
    tight = recommend_plan(_doc(np.random.default_rng(2), n=10, r=3, between=0.05), max_samples=6)
    assert "NOT reachable" in tight.why


def test_plan_is_deterministic() -> None:
    doc = _doc(np.random.default_rng(3), n=10, r=3, between=0.01)
    assert recommend_plan(doc) == recommend_plan(doc)


def test_nominal_levels_spend_exactly_alpha() -> None:
    fractions = (0.25, 0.5, 0.75, 1.0)
    levels = nominal_levels(fractions, 0.05, 1.0)
    rng = np.random.default_rng(0)
    increments = rng.normal(size=(200_000, 4)) * np.sqrt(np.diff((0.0, *fractions)))
    z = np.cumsum(increments, axis=1) / np.sqrt(fractions)
    crossed = (z >= norm.isf(levels)).any(axis=1).mean()
    assert crossed == pytest.approx(0.05, abs=0.003)
    assert all(level < 0.05 for level in levels), "each look must be stricter than alpha"
    assert nominal_levels((1.0,), 0.05, 1.0) == pytest.approx((0.05,))


def test_look_schedule_ends_at_the_plan() -> None:
    assert look_schedule(12, step=3) == (3, 6, 9, 12)
    assert look_schedule(30, step=5)[-1] == 30


def _plan(p: int, r: int) -> SamplingPlan:
    return SamplingPlan(replicates=p, repetitions=r, expected_power=0.9, why="test")


def test_sequential_stops_early_on_a_clear_regression() -> None:
    rng = np.random.default_rng(4)
    base = _doc(rng, n=15, r=2, between=0.0)
    cand = _doc(rng, n=6, r=2, between=0.0, centre=130.0)
    decision = sequential_decision(base, cand, plan=_plan(15, 2))
    assert decision.stop and decision.comparison.verdict == "Regressed", decision.reason
    assert decision.next_replicates == 0


def test_sequential_collects_more_when_undecided_and_says_how_many() -> None:
    rng = np.random.default_rng(5)
    base = _doc(rng, n=15, r=2, between=0.0)
    cand = _doc(rng, n=3, r=2, between=0.0, centre=103.0)
    decision = sequential_decision(base, cand, plan=_plan(15, 2))
    assert not decision.stop, decision.reason
    assert decision.next_replicates == 3
    early = sequential_decision(base, _doc(rng, n=2, r=2, between=0.0), plan=_plan(15, 2))
    assert not early.stop and early.look == 0 and early.next_replicates == 1


def test_sequential_decides_at_the_last_look() -> None:
    rng = np.random.default_rng(6)
    base = _doc(rng, n=6, r=1, between=0.0)
    cand = _doc(rng, n=6, r=1, between=0.0, centre=103.0)
    decision = sequential_decision(base, cand, plan=_plan(6, 1))
    assert decision.stop
    assert decision.comparison.verdict in {"Inconclusive", "Passed", "Regressed"}
    assert dataclasses.asdict(decision.comparison)  # plain data all the way down
