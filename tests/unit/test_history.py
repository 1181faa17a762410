"""History: session levels in time order, change points where the level steps, none where
it only wanders."""

from __future__ import annotations

import numpy as np
import pytest
from test_verdict import document, lognormal_groups, metric

from benchgate.domain.history import Entry, build, change_points, render, sparkline


def series(levels: list[float], noise: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return [level * float(np.exp(rng.normal(0, noise))) for level in levels]


def test_a_step_is_found_where_it_is_with_its_size() -> None:
    values = series([100.0] * 8 + [106.0] * 8, 0.005, 1)
    (step,) = change_points(values, "ratio")
    assert step.index == 8
    assert step.change == pytest.approx(0.06, abs=0.01)
    assert step.p_value < 0.001


def test_two_steps_of_slow_drift_are_both_found() -> None:
    values = series([100.0] * 6 + [103.0] * 6 + [106.0] * 6, 0.003, 2)
    assert [cp.index for cp in change_points(values, "ratio")] == [6, 12]


def test_noise_alone_rarely_makes_a_change_point() -> None:
    # 40 histories of 20 unchanged sessions (1 % session noise): PELT's penalty and the
    # t-test filter together must keep false steps rare.
    false = sum(
        1 for seed in range(40) if change_points(series([100.0] * 20, 0.01, 100 + seed), "ratio")
    )
    assert false <= 2, f"{false} of 40 noise-only histories showed a change point"


def test_too_short_a_history_has_no_change_point() -> None:
    assert change_points([1.0, 2.0, 3.0], "ratio") == ()
    assert change_points([5.0] * 10, "ratio") == ()


def test_build_orders_by_time_per_class_and_puts_moved_metrics_first() -> None:
    rng = np.random.default_rng(3)
    entries = []
    for i in range(10):
        level = 100.0 if i < 5 else 115.0
        doc = document(
            metric("t", lognormal_groups(rng, replicates=5, repetitions=3, centre=level)),
            metric("u", lognormal_groups(rng, replicates=5, repetitions=3, centre=50.0)),
        )
        entries.append(
            Entry(1000.0 - i, f"run-{i}", "run", "cpu-6-8", "cpu", "Manual", "Passed", doc)
        )
    found = build(entries)
    assert [s.metric for s in found] == ["w/t", "w/u"], "the metric that moved comes first"
    moved = found[0]
    assert [p.source for p in moved.points][:2] == ["run-9", "run-8"], "oldest first"
    (step,) = moved.change_points
    assert step.change == pytest.approx(-0.13, abs=0.03), "115 -> 100 in time order"
    assert build(entries, "w/u")[0].metric == "w/u" and len(build(entries, "*/u")) == 1
    text = render(found)
    assert f"change point: {step.change * 100:+.1f} %" in text, text
    assert "run-4" in text and "1 with change points" in text


def test_sparkline_spans_the_range() -> None:
    assert sparkline([1.0, 2.0, 3.0]) == "▁▅█"
    assert sparkline([2.0, 2.0]) == "▄▄"


def test_the_html_history_plots_each_series_with_its_steps() -> None:
    from benchgate.report.html import history_page

    rng = np.random.default_rng(5)
    entries = [
        Entry(
            float(i),
            f"run-{i}",
            "run",
            "cpu-6-8",
            "cpu",
            "Periodic",
            "Passed",
            document(
                metric(
                    "t",
                    lognormal_groups(
                        rng, replicates=5, repetitions=3, centre=100.0 if i < 6 else 110.0
                    ),
                )
            ),
        )
        for i in range(12)
    ]
    page = history_page("numerics", build(entries))
    assert page.count("<svg") == 1 and "w/t (cpu)" in page
    assert "+10" in page and "at run-6" in page, "the step, its size and where it starts"
