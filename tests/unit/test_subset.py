"""The slow-subset test: a few slow replicates regress the platform; heavy tails that the
baseline shows too, and whole-session shifts, do not."""

from __future__ import annotations

import re

import numpy as np
from test_verdict import SAME_SESSION, document, lognormal_groups, metric

from benchgate.domain import subset
from benchgate.domain.verdict import EngineSettings, compare_documents


def _slow(
    groups: list[list[float]], count: int, factor: float, at: tuple[int, ...] = (4, 13)
) -> list[list[float]]:
    """`count` replicates slower by `factor`, at positions `at` (not next to each other:
    units, not a disturbance in time)."""
    chosen = set(at[:count])
    return [[v * factor for v in g] if i in chosen else g for i, g in enumerate(groups)]


def test_two_of_twenty_processes_55_percent_slower_is_a_subset_regression() -> None:
    """The issue's case: mean +6.5 %, the 20 %-trimmed mean barely moves, and the engine
    said Passed at +1.3 %. Now the subset is the reason, named."""
    rng = np.random.default_rng(0)
    base = document(metric("t", lognormal_groups(rng, replicates=20, repetitions=3)))
    cand_groups = _slow(lognormal_groups(rng, replicates=20, repetitions=3), 2, 1.55)
    c = compare_documents(base, document(metric("t", cand_groups)), SAME_SESSION)
    m = c.metrics[0]
    assert m.verdict == "Regressed", m.reason
    assert re.match(
        r"2 of 20 replicates 5\d % slower than the others: a subset regression", m.reason
    )
    assert m.slow_replicates == ("proc-4", "proc-13")
    assert m.p_subset is not None and m.p_subset <= 0.05
    assert m.change is not None and abs(m.change) < 0.03, "the location test alone would pass"


def test_one_slow_gpu_of_eight_regresses_despite_a_session_shift() -> None:
    rng = np.random.default_rng(1)
    base = document(metric("t", lognormal_groups(rng, replicates=8, repetitions=3, within=0.01)))
    cand_groups = lognormal_groups(rng, replicates=8, repetitions=3, within=0.01, centre=102.0)
    c = compare_documents(base, document(metric("t", _slow(cand_groups, 1, 1.25))))
    m = c.metrics[0]
    assert m.verdict == "Regressed", m.reason
    assert re.match(r"1 of 8 replicates 2[3-7] % slower than the others", m.reason), m.reason


def test_higher_is_better_subset_is_the_low_tail() -> None:
    rng = np.random.default_rng(2)
    base = document(
        metric("tput", lognormal_groups(rng, replicates=8, repetitions=3), direction="higher")
    )
    fast = _slow(lognormal_groups(rng, replicates=8, repetitions=3), 1, 1.3)
    slow = _slow(lognormal_groups(rng, replicates=8, repetitions=3), 1, 1 / 1.3)
    fast_c = compare_documents(
        base, document(metric("tput", fast, direction="higher")), SAME_SESSION
    )
    assert fast_c.verdict != "Regressed", "one faster GPU is no regression"
    slow_c = compare_documents(
        base, document(metric("tput", slow, direction="higher")), SAME_SESSION
    )
    assert slow_c.verdict == "Regressed" and "slower than the others" in slow_c.metrics[0].reason


def test_a_whole_session_shift_is_not_a_subset() -> None:
    rng = np.random.default_rng(3)
    base = lognormal_groups(rng, replicates=20, repetitions=3, between=0.01)
    cand = lognormal_groups(rng, replicates=20, repetitions=3, between=0.01, centre=120.0)
    test = subset.subset_test(
        np.log(np.array(base)).mean(axis=-1)[None, :],
        np.log(np.array(cand)).mean(axis=-1),
        margin=np.log1p(0.03),
        bad_sign=1,
    )
    assert float(test.p) > 0.5, "shifting every replicate is the location test's business"


def test_heavy_tails_the_runs_baseline_shows_do_not_make_a_subset() -> None:
    """5 % of single-repetition replicates 10-50 % slow, on both sides. A metric's own
    baseline often shows none of them; the run's other metrics do, and the test widens."""
    rng = np.random.default_rng(4)
    alarms = 0
    for _ in range(20):
        docs = []
        for _side in range(2):
            metrics = []
            for j in range(10):
                x = 1 + rng.normal(0, 0.02, 30)
                hit = rng.random(30) < 0.05
                x = x * np.where(hit, 1 + rng.uniform(0.1, 0.5, 30), 1.0)
                metrics.append(metric(f"m{j}", [[float(v)] for v in x]))
            docs.append(document(*metrics))
        c = compare_documents(docs[0], docs[1], SAME_SESSION)
        alarms += any(m.slow_replicates for m in c.metrics)
    assert alarms <= 1, f"{alarms} of 20 unchanged runs had a 'slow subset'"


def test_the_subset_test_can_be_switched_off() -> None:
    rng = np.random.default_rng(5)
    base = document(metric("t", lognormal_groups(rng, replicates=20, repetitions=3)))
    cand = document(
        metric("t", _slow(lognormal_groups(rng, replicates=20, repetitions=3), 2, 1.55))
    )
    off = EngineSettings(session_sd=0.0, subset=False)
    assert compare_documents(base, cand, off).verdict == "Passed"


def test_a_block_of_consecutive_slow_replicates_is_a_disturbance_not_slow_units() -> None:
    """Processes run one after another: a neighbour that ran for a minute slows a block of
    them. Reported as such; the location test decides (here: nothing else moved)."""
    rng = np.random.default_rng(6)
    base = document(metric("t", lognormal_groups(rng, replicates=20, repetitions=3)))
    cand_groups = _slow(
        lognormal_groups(rng, replicates=20, repetitions=3), 3, 2.0, at=(11, 12, 13)
    )
    m = compare_documents(base, document(metric("t", cand_groups)), SAME_SESSION).metrics[0]
    assert m.verdict == "Passed", m.reason
    assert re.search(r"replicates proc-11..proc-13 ran \d+ % slower one after another", m.reason), (
        m.reason
    )
    assert "a disturbance during the session, not slow units" in m.reason
