"""Replicate summaries and the change-point note."""

from __future__ import annotations

import numpy as np
import pytest

from benchgate.domain import stats


def test_replicate_means_are_the_plain_mean_on_clean_data() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.02, (12, 5)) + np.array([0.0, 0.01, 0.0, -0.01, 0.03])
    assert stats.replicate_means(x) == pytest.approx(x.mean(axis=-1), abs=1e-15)


def test_replicate_means_pull_in_an_outlying_repetition_but_keep_position_effects() -> None:
    rng = np.random.default_rng(1)
    positions = np.array([0.10, 0.0, 0.0, 0.0, 0.0])  # the first repetition 10 % slower
    x = rng.normal(0, 0.005, (10, 5)) + positions
    clean = stats.replicate_means(x)
    # The position effect is kept in full: every replicate's mean carries its 2 %.
    assert clean.mean() == pytest.approx(0.02, abs=0.003)
    spoiled = x.copy()
    spoiled[3, 2] += 0.5  # one preempted repetition, +50 %
    out = stats.replicate_means(spoiled)
    assert out[3] - clean[3] < 0.02, "an outlying repetition must be pulled in"
    assert np.delete(out, 3) == pytest.approx(np.delete(clean, 3))


def test_replicate_means_handle_unequal_repetition_counts() -> None:
    ragged = stats.ragged([[1.0, 2.0, 3.0], [2.0], [4.0, 6.0]])
    assert stats.replicate_means(ragged) == pytest.approx([2.0, 2.0, 5.0])


def test_step_change_is_found_at_the_step_and_not_in_steady_data() -> None:
    rng = np.random.default_rng(2)
    steady = rng.normal(0, 0.01, 16)
    stepped = steady.copy()
    stepped[10:] += 0.06
    step = stats.step_change(stepped)
    assert step is not None and step.at == 10, step
    assert step.shift == pytest.approx(0.06, abs=0.015) and step.p < stats.STEP_ALPHA
    assert stats.step_change(steady) is None
    assert stats.step_change(stepped[:7]) is None, "too few replicates to say"
