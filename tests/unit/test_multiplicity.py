"""Westfall-Young max-T over the replicate-label bootstrap: deterministic, at least as
powerful as Holm where metrics are correlated, and keeping the family-wise error."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from test_verdict import SAME_SESSION, document, metric

from benchgate.domain import multiplicity, stats
from benchgate.domain.verdict import compare_documents, comparison_to_dict


def _correlated_run(
    rng: np.random.Generator, *, metrics: int, shift: float, n: int = 10, r: int = 3
) -> tuple[object, object]:
    """Each process's 1 % offset is shared by every metric it measures."""

    def side(change: float) -> object:
        offsets = rng.normal(0, 0.01, (n, 1))
        values = 100 * np.exp(offsets[None] + rng.normal(0, 0.01, (metrics, n, r)))
        values[0] *= 1 + change
        return document(*(metric(f"m{j}", values[j].tolist()) for j in range(metrics)))

    return side(0.0), side(shift)


def test_the_same_input_and_seed_give_the_same_adjusted_p_values() -> None:
    rng = np.random.default_rng(0)
    base, cand = _correlated_run(rng, metrics=20, shift=0.06)
    one = comparison_to_dict(compare_documents(base, cand, SAME_SESSION))
    two = comparison_to_dict(compare_documents(base, cand, SAME_SESSION))
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    other = comparison_to_dict(compare_documents(base, cand, replace(SAME_SESSION, seed=1)))
    p0 = [m["pDecision"] for m in one["metrics"]]
    p1 = [m["pDecision"] for m in other["metrics"]]
    assert p0 != p1, "a different seed draws a different (equally valid) null"


def test_max_t_finds_more_than_holm_when_metrics_move_together() -> None:
    found = {"maxT": 0, "holm": 0}
    for seed in range(12):
        rng = np.random.default_rng(seed)
        base, cand = _correlated_run(rng, metrics=50, shift=0.06)
        for method in found:
            settings = replace(SAME_SESSION, multiplicity=method)
            found[method] += (
                compare_documents(base, cand, settings).metrics[0].verdict == "Regressed"
            )
    assert found["maxT"] >= found["holm"] + 2, found


def test_max_t_keeps_the_family_wise_error_on_correlated_nulls() -> None:
    """1000 simulated families of 20 correlated one-sided z tests under the null: the
    share with any adjusted p <= 0.05 stays near or below 5 %."""
    rng = np.random.default_rng(1)
    runs, labels, m = 1000, 12, 20
    loadings = rng.normal(0, 1, (labels, m)) + 2.0  # strongly positively correlated
    rows = np.broadcast_to(loadings, (runs, labels, m))
    z = np.einsum("rl,lm->rm", rng.normal(0, 1, (runs, labels)), loadings)
    z /= np.sqrt((loadings**2).sum(axis=0))
    from scipy.stats import norm

    p = norm.sf(z)
    null = multiplicity.multiplier_null(rows, np.zeros((runs, m)), np.ones(m), seed=3)
    adjusted = multiplicity.max_t_adjust(p, np.ones(m), null)
    fwer = float((adjusted <= 0.05).any(axis=-1).mean())
    holm = float((stats.holm_adjust(p) <= 0.05).any(axis=-1).mean())
    assert fwer <= 0.065, f"family-wise error {fwer:.3f}"
    assert fwer > holm, f"max-T ({fwer:.3f}) should use what Holm ({holm:.3f}) wastes"


def test_untested_metrics_are_left_out_of_the_family() -> None:
    rows = np.ones((1, 4, 3))
    null = multiplicity.multiplier_null(rows, np.zeros((1, 3)), np.ones(3), draws=500)
    adjusted = multiplicity.max_t_adjust(np.array([[0.001, np.nan, 0.5]]), np.ones(3), null)
    assert np.isnan(adjusted[0, 1]) and adjusted[0, 0] == pytest.approx(0.002, abs=0.003)
