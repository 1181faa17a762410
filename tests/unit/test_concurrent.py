"""The concurrent-control design: candidate and control in one session, paired by round."""

from __future__ import annotations

import math
import re

import numpy as np
from test_verdict import document, lognormal_groups, metric

from benchgate.api.result import ResultDocument
from benchgate.domain import sessions
from benchgate.domain.concurrent import compare_concurrent
from benchgate.domain.verdict import EngineSettings, compare_documents, comparison_to_dict


def _session(
    rng: np.random.Generator, *, day: float, rounds: np.ndarray, change: float = 0.0
) -> ResultDocument:
    """One node's replicates in a session: the day's offset, each round's disturbance
    (shared by the nodes measured in that round), and its own noise."""
    groups = [
        [100 * math.exp(day + rounds[k] + change + rng.normal(0, 0.01)) for _ in range(3)]
        for k in range(len(rounds))
    ]
    return document(metric("t", groups))


def _stale_baseline(rng: np.random.Generator) -> list[ResultDocument]:
    return [
        _session(rng, day=rng.normal(0, 0.005), rounds=rng.normal(0, 0.01, 12)) for _ in range(3)
    ]


def test_a_slow_day_moves_the_stored_comparison_but_not_the_paired_one() -> None:
    """The whole session ran 6 % slow (a hot datacentre, a busy filesystem): the stored
    baseline sees a 6 % 'regression' of the candidate; the control, measured in the same
    rounds, sees none -- and the control against the stored baseline says why."""
    rng = np.random.default_rng(0)
    baseline = _stale_baseline(rng)
    rounds = rng.normal(0, 0.02, 12)  # noisy rounds: pairing cancels them
    control = _session(rng, day=0.06, rounds=rounds)
    cand = _session(rng, day=0.06, rounds=rounds)
    stored = compare_documents(baseline, cand)
    assert stored.metrics[0].change is not None and stored.metrics[0].change > 0.05
    c = compare_concurrent(cand, control, baseline)
    assert c.design == "concurrent-control"
    assert c.verdict == "Passed", c.reason
    assert re.search(r"the session ran [5-7] % slow on the control too", c.session_note), (
        c.session_note
    )
    assert "the stored baseline, not the candidate, moved" in c.session_note
    assert c.control_check is not None and c.control_check.metrics[0].change > 0.05
    assert c.session_note in c.reason
    d = comparison_to_dict(c)
    assert d["design"] == "concurrent-control" and d["controlCheck"]["verdict"]
    node = sessions.NODE_PRIOR_SD["latency"]
    assert c.metrics[0].component.startswith(f"node component: {node * 100:.2g} %")


def test_a_candidate_slower_than_its_control_regresses_on_a_normal_day() -> None:
    rng = np.random.default_rng(1)
    baseline = _stale_baseline(rng)
    rounds = rng.normal(0, 0.01, 12)
    control = _session(rng, day=0.0, rounds=rounds)
    cand = _session(rng, day=0.0, rounds=rounds, change=0.10)
    c = compare_concurrent(cand, control, baseline)
    assert c.verdict == "Regressed", c.reason
    assert "against the control" in c.metrics[0].reason
    assert "the session was ordinary" in c.session_note or "nothing says" in c.session_note


def test_pairing_beats_two_independent_samples_on_noisy_rounds() -> None:
    """Duet benchmarking: round-to-round disturbance shared by both nodes cancels in the
    pairs; treating the two as independent samples would keep it in the interval."""
    rng = np.random.default_rng(2)
    rounds = rng.normal(0, 0.05, 12)
    control = _session(rng, day=0.0, rounds=rounds)
    cand = _session(rng, day=0.0, rounds=rounds, change=0.01)
    paired = compare_concurrent(cand, control, None, EngineSettings(node_sd=0.0)).metrics[0]
    unpaired = compare_documents(control, cand, EngineSettings(session_sd=0.0)).metrics[0]
    assert paired.ci_high - paired.ci_low < 0.3 * (unpaired.ci_high - unpaired.ci_low)
    assert paired.verdict == "Passed" and unpaired.verdict == "Inconclusive"


def test_unpaired_rounds_are_left_out_and_said() -> None:
    rng = np.random.default_rng(3)
    rounds = rng.normal(0, 0.01, 12)
    control = _session(rng, day=0.0, rounds=rounds)
    cand = _session(rng, day=0.0, rounds=rounds[:10])
    m = compare_concurrent(cand, control).metrics[0]
    assert "2 unpaired replicate(s) left out of the rounds" in m.reason
    assert m.n_candidate == 10 and m.n_baseline == 10


def test_without_a_stored_baseline_there_is_no_session_check() -> None:
    rng = np.random.default_rng(4)
    rounds = rng.normal(0, 0.01, 12)
    c = compare_concurrent(
        _session(rng, day=0.0, rounds=rounds), _session(rng, day=0.0, rounds=rounds)
    )
    assert c.control_check is None and c.session_note == ""
    assert c.baseline_sessions == 1


def test_exact_metrics_are_judged_against_the_control() -> None:
    ok = document(metric("sum", [["a"], ["a"]], kind="exact", direction="equal", unit=""))
    bad = document(metric("sum", [["a"], ["b"]], kind="exact", direction="equal", unit=""))
    assert compare_concurrent(bad, ok).verdict == "Regressed"
    assert compare_concurrent(ok, ok).verdict == "Passed"


def test_the_controller_call_takes_documents_and_baseline_sessions() -> None:
    rng = np.random.default_rng(5)
    groups = lognormal_groups(rng, replicates=6, repetitions=2)
    doc = document(metric("t", groups))
    c = compare_concurrent(doc, doc, [doc, doc])
    assert c.baseline_sessions == 2 and c.control_check is not None
