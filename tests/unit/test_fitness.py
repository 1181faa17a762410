"""Baseline fitness (domain/fitness.py): refuse what every later comparison would refuse."""

from __future__ import annotations

import numpy as np
import pytest
from test_verdict import document, lognormal_groups, metric

from benchgate.api.result import Metric
from benchgate.api.suite import MetricOverride
from benchgate.domain.fitness import baseline_problems, refusal
from benchgate.domain.verdict import (
    TOLERANCE_DEFAULT,
    TOLERANCE_OVERRIDE,
    TOLERANCE_WORKLOAD,
    EngineSettings,
    compare_documents,
)


def _groups(replicates: int = 5) -> list[list[float]]:
    return lognormal_groups(np.random.default_rng(3), replicates=replicates, repetitions=3)


def test_a_usable_document_has_no_problems() -> None:
    doc = document(
        metric("t", _groups()),
        metric("sha", [["ab"], ["ab"]], kind="exact", direction="equal"),
        metric("err", [[1e-7], [2e-7]], kind="error", direction="lower", scale="linear"),
    )
    assert baseline_problems(doc) == ()


@pytest.mark.parametrize(
    ("groups", "kwargs", "expected"),
    [
        ([[1.0, 1.1], [1.05, 1.0]], {}, "baseline has 2 replicate(s); run at least 3"),
        ([[1.0], [1.0], [1.0]], {}, "every replicate summary of the baseline is identical"),
        ([[-1.0], [-1.1], [-1.2]], {}, "ratio-scale metric must be > 0"),
        ([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]], {}, "ratio-scale metric must be > 0"),
        ([[-1.0], [0.0], [1.0]], {"scale": "linear"}, "baseline centre is 0"),
        ([["a"], ["b"]], {"kind": "exact", "direction": "equal"}, "2 distinct values"),
        ([[], []], {"kind": "exact", "direction": "equal"}, "baseline has no values"),
        ([[-1e-7], [1e-7]], {"kind": "error", "scale": "linear"}, "must be >= 0"),
    ],
)
def test_unusable_metrics_are_named_with_the_engines_reason(
    groups: list[list[object]], kwargs: dict[str, str], expected: str
) -> None:
    doc = document(metric("good", _groups()), metric("bad", groups, **kwargs))  # type: ignore[arg-type]
    problems = baseline_problems(doc)
    assert len(problems) == 1, problems
    assert problems[0].path == "workloads[0].metrics[1]" and problems[0].key == "w/bad"
    assert expected in problems[0].reason, problems[0].reason
    assert "workloads[0].metrics[1] (w/bad)" in refusal(problems)


def test_the_fitness_check_agrees_with_the_engine_on_what_it_refuses() -> None:
    """A baseline refused for too few replicates is one the engine calls Invalid."""
    few = document(metric("t", _groups(2)))
    assert baseline_problems(few)
    judged = compare_documents(few, document(metric("t", _groups(5)))).metrics[0]
    assert judged.verdict == "Invalid" and baseline_problems(few)[0].reason == judged.reason


def test_failed_workloads_empty_documents_and_ignored_metrics() -> None:
    failed = document(metric("t", _groups()), failed="CUDA error: out of memory")
    (problem,) = baseline_problems(failed)
    assert problem.path == "workloads[0]" and "out of memory" in problem.reason
    (empty,) = baseline_problems(document())
    assert "no metric" in empty.reason
    one = document(metric("t", [[1.0]]))
    assert baseline_problems(one)
    ignored = {"w/t": MetricOverride(name="t", ignore=True)}
    assert "no metric" in baseline_problems(one, overrides=ignored)[0].reason


def test_minimum_replicates_follow_the_engine_settings() -> None:
    doc = document(metric("t", _groups(4)))
    assert baseline_problems(doc, EngineSettings(min_replicates=4)) == ()
    assert baseline_problems(doc, EngineSettings(min_replicates=5))


def test_refusal_message_counts_what_it_does_not_show() -> None:
    doc = document(*(metric(f"m{i}", [[1.0]]) for i in range(5)))
    message = refusal(baseline_problems(doc))
    assert message.startswith("cannot serve as a baseline: workloads[0].metrics[0] (w/m0)")
    assert message.endswith("(and 2 more)")


def test_effective_tolerance_says_where_it_came_from() -> None:
    groups = _groups(6)
    declared = document(metric("t", groups, tolerance=0.05))
    by_default = document(metric("t", groups, tolerance=None))  # type: ignore[arg-type]
    settings = EngineSettings(default_tolerance=0.03)
    m = compare_documents(declared, declared, settings).metrics[0]
    assert (m.tolerance, m.tolerance_source) == (0.05, TOLERANCE_WORKLOAD)
    m = compare_documents(by_default, by_default, settings).metrics[0]
    assert (m.tolerance, m.tolerance_source) == (0.03, TOLERANCE_DEFAULT)
    override = {"w/t": MetricOverride(name="t", tolerance=0.02)}
    m = compare_documents(declared, declared, settings, override).metrics[0]
    assert (m.tolerance, m.tolerance_source) == (0.02, TOLERANCE_OVERRIDE)
    err = document(metric("e", [[1e-7], [2e-7]], kind="error", scale="linear", error_factor=3.0))
    m = compare_documents(err, err, settings).metrics[0]
    assert m.tolerance == pytest.approx(2.0) and m.tolerance_source == TOLERANCE_WORKLOAD


def test_a_memory_metric_may_repeat_one_value_and_is_still_judged() -> None:
    """Pods running the same code often peak at the same RSS to the KiB: a baseline of one
    repeated value is usable, and the session component (0.5 % for memory) judges it. A
    flat timing is still refused (a timer too coarse for the metric)."""

    def rss(value: float) -> Metric:
        groups = [[value, value]] * 3
        return metric("host_maxrss_kib", groups, unit="KiB", direction="band", tolerance=0.25)

    base = document(rss(1000.0))
    assert baseline_problems(base) == ()
    same = compare_documents(base, document(rss(1000.0))).metrics[0]
    assert same.verdict == "Passed" and "session component: prior 0.5 %" in same.reason, same
    grown = compare_documents(base, document(rss(1500.0))).metrics[0]
    assert grown.verdict == "Regressed", grown.reason
    flat_time = document(metric("t", [[1.0], [1.0], [1.0]]))
    assert "identical" in baseline_problems(flat_time)[0].reason
