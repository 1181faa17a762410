"""Decision rules of the verdict engine on constructed cases."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from benchgate.api.result import (
    FingerprintField,
    Metric,
    ReplicateSamples,
    ResultDocument,
    ResultDocumentError,
    RunIdentity,
    SampleValue,
    WorkloadError,
    WorkloadResult,
)
from benchgate.api.suite import MetricOverride
from benchgate.domain import stats
from benchgate.domain.verdict import (
    EngineSettings,
    compare_documents,
    comparison_to_dict,
)

# Document builders (also imported by the other verdict-engine test modules).


def metric(
    name: str,
    groups: Sequence[Sequence[SampleValue]],
    *,
    unit: str = "ms",
    direction: str = "lower",
    kind: str = "continuous",
    scale: str = "ratio",
    tolerance: float = 0.03,
    error_factor: float = 2.0,
) -> Metric:
    return Metric(
        name=name,
        unit=unit,
        direction=direction,
        kind=kind,
        scale=scale,  # type: ignore[arg-type]
        tolerance=tolerance,
        error_factor=error_factor,
        samples=tuple(ReplicateSamples(f"proc-{i}", tuple(g)) for i, g in enumerate(groups)),
    )


def document(
    *metrics: Metric,
    workload: str = "w",
    failed: str | None = None,
    fingerprint: dict[str, dict[str, Any]] | None = None,
) -> ResultDocument:
    fp = {
        g: {f: FingerprintField(value=v) for f, v in fields.items()}
        for g, fields in (fingerprint or {}).items()
    }
    return ResultDocument(
        run=RunIdentity(suite="s", run="r"),
        workloads=(
            WorkloadResult(
                name=workload,
                size="tiny",
                status="failed" if failed else "ok",
                duration_seconds=1.0,
                metrics=tuple(metrics),
                error=WorkloadError(type="RuntimeError", message=failed) if failed else None,
            ),
        ),
        fingerprint=fp,
    )


def lognormal_groups(
    rng: np.random.Generator,
    *,
    replicates: int,
    repetitions: int,
    centre: float = 100.0,
    within: float = 0.02,
    between: float = 0.0,
) -> list[list[float]]:
    offsets = rng.normal(0.0, between, replicates)
    return [list(centre * np.exp(o + rng.normal(0.0, within, repetitions))) for o in offsets]


def _pair(
    shift: float,
    *,
    seed: int = 1,
    n: int = 10,
    r: int = 3,
    between: float = 0.0,
    direction: str = "lower",
    extra: int = 0,
):
    rng = np.random.default_rng(seed)
    base = [
        metric(
            "t",
            lognormal_groups(rng, replicates=n, repetitions=r, between=between),
            direction=direction,
        )
    ]
    cand = [
        metric(
            "t",
            lognormal_groups(
                rng, replicates=n, repetitions=r, between=between, centre=100 * (1 + shift)
            ),
            direction=direction,
        )
    ]
    for j in range(extra):
        base.append(metric(f"x{j}", lognormal_groups(rng, replicates=n, repetitions=r)))
        cand.append(metric(f"x{j}", lognormal_groups(rng, replicates=n, repetitions=r)))
    return document(*base), document(*cand)


def test_clear_regression_is_regressed_with_change_and_interval() -> None:
    base, cand = _pair(0.15)
    c = compare_documents(base, cand)
    m = c.metrics[0]
    assert c.verdict == "Regressed", c.reason
    assert m.verdict == "Regressed"
    assert m.change is not None and 0.12 < m.change < 0.18, m.change
    assert m.ci_low is not None and m.ci_high is not None and m.ci_low > 0.03 < m.ci_high
    assert m.p_decision is not None and m.p_decision < 0.05
    assert m.p_welch is not None and m.p_mannwhitney is not None and m.p_ks is not None
    assert m.effect_size is not None and m.effect_size > 1
    assert c.worst is m and "tolerance" in m.reason


def test_higher_is_better_drop_regresses_and_rise_improves() -> None:
    base, cand = _pair(-0.15, direction="higher")
    assert compare_documents(base, cand).verdict == "Regressed"
    base, cand = _pair(0.15, direction="higher")
    assert compare_documents(base, cand).verdict == "Improved"


def test_clear_equivalence_passes_by_non_inferiority() -> None:
    base, cand = _pair(0.0, n=12)
    c = compare_documents(base, cand)
    assert c.verdict == "Passed", c.reason
    m = c.metrics[0]
    assert m.ci_high is not None and m.ci_high < 0.03, "Passed needs the CI inside the tolerance"


def test_small_noisy_sample_is_inconclusive_with_more_replicates_suggested() -> None:
    rng = np.random.default_rng(3)
    base = document(metric("t", lognormal_groups(rng, replicates=3, repetitions=2, within=0.08)))
    cand = document(
        metric("t", lognormal_groups(rng, replicates=3, repetitions=2, within=0.08, centre=102))
    )
    m = compare_documents(base, cand).metrics[0]
    assert m.verdict == "Inconclusive", m.reason
    assert m.additional_replicates is not None and m.additional_replicates > 0
    assert "replicate" in m.reason


def test_too_few_replicates_is_invalid_and_says_how_many() -> None:
    rng = np.random.default_rng(0)
    base = document(metric("t", lognormal_groups(rng, replicates=2, repetitions=20)))
    cand = document(metric("t", lognormal_groups(rng, replicates=5, repetitions=2)))
    m = compare_documents(base, cand).metrics[0]
    assert m.verdict == "Invalid"
    assert "baseline has 2 replicate" in m.reason and "at least 3" in m.reason


def test_identical_constants_are_invalid_for_continuous_metrics() -> None:
    groups = [[5.0, 5.0]] * 4
    c = compare_documents(document(metric("t", groups)), document(metric("t", groups)))
    assert c.verdict == "Invalid"
    assert "identical" in c.metrics[0].reason


def test_engine_guards_its_own_inputs_against_nan_and_non_positive() -> None:
    good = [[1.0, 1.1], [1.05, 1.0], [0.98, 1.02]]
    nan = [[1.0, math.nan], [1.05, 1.0], [0.98, 1.02]]
    zero = [[1.0, 0.0], [1.05, 1.0], [0.98, 1.02]]
    # NaN cannot enter a document at all: the model refuses it, naming the value.
    with pytest.raises(ResultDocumentError, match=r"values\[1\]: must be finite"):
        metric("t", nan)
    m = compare_documents(document(metric("t", good)), document(metric("t", zero))).metrics[0]
    assert m.verdict == "Invalid" and "must be > 0" in m.reason


def test_mismatched_units_and_missing_metrics_are_invalid() -> None:
    rng = np.random.default_rng(0)
    groups = lognormal_groups(rng, replicates=5, repetitions=2)
    c = compare_documents(
        document(metric("t", groups, unit="ms")), document(metric("t", groups, unit="s"))
    )
    assert c.metrics[0].verdict == "Invalid" and "unit differs" in c.metrics[0].reason
    c = compare_documents(
        document(metric("t", groups), metric("u", groups)), document(metric("t", groups))
    )
    missing = next(m for m in c.metrics if m.key == "w/u")
    assert missing.verdict == "Invalid" and "missing from the candidate" in missing.reason


def test_a_metric_new_in_the_candidate_is_shown_but_does_not_decide_the_run() -> None:
    """A newer workload image measures more; the platform is judged on what both sides
    measured, and the new metric says why it was not judged."""
    base, cand = _pair(0.0, n=12)
    rng = np.random.default_rng(9)
    new = metric("new", lognormal_groups(rng, replicates=12, repetitions=3))
    cand = document(*cand.workloads[0].metrics, new)
    c = compare_documents(base, cand)
    assert c.verdict == "Passed", c.reason
    row = next(m for m in c.metrics if m.key == "w/new")
    assert row.verdict == "Invalid" and not row.judged and "not judged" in row.reason
    assert "1 new metric(s) not in the baseline were not judged" in c.reason
    assert c.worst is not None and c.worst.key == "w/t"
    only_new = compare_documents(base, document(new))
    assert only_new.verdict == "Invalid", "nothing in common cannot pass"
    assert "missing from the candidate" in only_new.reason


def test_a_workload_skipped_on_one_side_is_never_passed() -> None:
    from dataclasses import replace

    base, cand = _pair(0.0, n=12)
    why = WorkloadError(type="Skip", message="collectives needs >= 2 GPUs; this node has 1")
    skipped = replace(
        cand, workloads=(replace(cand.workloads[0], status="skipped", metrics=(), error=why),)
    )
    c = compare_documents(base, skipped)
    assert c.verdict == "Invalid", "a candidate that skipped what the baseline measured"
    assert "candidate workload skipped: collectives needs >= 2 GPUs" in c.metrics[0].reason
    base_skipped = replace(skipped, workloads=(replace(skipped.workloads[0]),))
    c = compare_documents(base_skipped, cand)
    assert not c.metrics[0].judged and "not judged" in c.metrics[0].reason
    assert c.verdict == "Invalid" and "none of the candidate's" in c.reason


def test_failed_candidate_workload_makes_its_metrics_invalid_with_the_error() -> None:
    rng = np.random.default_rng(0)
    groups = lognormal_groups(rng, replicates=5, repetitions=2)
    c = compare_documents(document(metric("t", groups)), document(failed="CUDA OOM"))
    assert c.verdict == "Invalid"
    assert "CUDA OOM" in c.metrics[0].reason


def test_checksum_mismatch_regresses_and_names_the_values() -> None:
    base = document(metric("sum", [["abc"], ["abc"]], kind="exact", direction="equal", unit=""))
    same = document(metric("sum", [["abc"]], kind="exact", direction="equal", unit=""))
    diff = document(metric("sum", [["abc"], ["abd"]], kind="exact", direction="equal", unit=""))
    assert compare_documents(base, same).verdict == "Passed"
    c = compare_documents(base, diff)
    assert c.verdict == "Regressed"
    assert "'abc'" in c.metrics[0].reason and "abd" in c.metrics[0].reason


def test_exact_metric_with_unreproducible_baseline_is_invalid() -> None:
    base = document(metric("sum", [["a"], ["b"]], kind="exact", direction="equal", unit=""))
    c = compare_documents(base, base)
    assert c.verdict == "Invalid" and "2 distinct values" in c.metrics[0].reason


def test_exact_metric_does_not_confuse_true_with_one() -> None:
    base = document(metric("flag", [[True]], kind="exact", direction="equal", unit=""))
    cand = document(metric("flag", [[1]], kind="exact", direction="equal", unit=""))
    assert compare_documents(base, cand).verdict == "Regressed"


def test_numerical_error_rule_uses_the_error_factor_and_a_floor() -> None:
    def err(values: list[float], factor: float = 2.0) -> object:
        return document(
            metric("err", [values], kind="error", direction="lower", unit="", error_factor=factor)
        )

    assert compare_documents(err([1e-6]), err([1.9e-6])).verdict == "Passed"
    c = compare_documents(err([1e-6]), err([3e-6]))
    assert c.verdict == "Regressed" and c.metrics[0].change == pytest.approx(2.0)
    assert "3x" in c.metrics[0].reason
    assert compare_documents(err([0.0]), err([1e-300])).verdict == "Passed"
    overrides = {"w/err": MetricOverride(name="err", error_factor=4.0)}
    assert compare_documents(err([1e-6]), err([3e-6]), overrides=overrides).verdict == "Passed"


def test_hierarchical_noise_does_not_false_alarm_where_repetition_tests_would() -> None:
    # 5 processes x 40 repetitions; each process has its own 3 % offset, repetitions vary
    # 0.5 %. Treating the 200 repetitions as independent finds a "significant" difference
    # in most A/A pairs; summarising each process first does not.
    from scipy import stats as sps

    naive_alarms = 0
    engine_regressed = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        groups = [
            lognormal_groups(rng, replicates=5, repetitions=40, within=0.005, between=0.03)
            for _ in range(2)
        ]
        b, c = (np.concatenate(g) for g in groups)
        naive_alarms += sps.mannwhitneyu(c, b).pvalue < 0.05
        comp = compare_documents(document(metric("t", groups[0])), document(metric("t", groups[1])))
        engine_regressed += comp.verdict == "Regressed"
    assert naive_alarms >= 10, f"the construction should fool a naive test ({naive_alarms}/20)"
    assert engine_regressed == 0, f"the engine false-alarmed {engine_regressed}/20 times"


def test_same_input_gives_identical_output() -> None:
    base, cand = _pair(0.04, extra=3)
    one = json.dumps(comparison_to_dict(compare_documents(base, cand)), sort_keys=True)
    two = json.dumps(comparison_to_dict(compare_documents(base, cand)), sort_keys=True)
    assert one == two


def test_holm_adjusts_step_down() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    adjusted = stats.holm_adjust(p)
    assert adjusted.tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(stats.holm_adjust(np.array([0.01, np.nan]))[1])


def test_holm_makes_a_borderline_regression_inconclusive_among_many_metrics() -> None:
    # A regression found at p ~ 0.01 on its own is not enough once 9 more metrics are
    # compared in the same run (the family-wise level is then ~0.005 for the first step).
    found_alone = found_in_family = 0
    for seed in range(30):
        base1, cand1 = _pair(0.055, seed=seed, n=6, r=2)
        base10, cand10 = _pair(0.055, seed=seed, n=6, r=2, extra=9)
        found_alone += compare_documents(base1, cand1).metrics[0].verdict == "Regressed"
        found_in_family += compare_documents(base10, cand10).metrics[0].verdict == "Regressed"
    assert found_in_family < found_alone, (found_alone, found_in_family)


def test_band_metric_regresses_either_way_and_passes_by_equivalence() -> None:
    for shift in (0.15, -0.15):
        base, cand = _pair(shift, direction="band")
        assert compare_documents(base, cand).verdict == "Regressed"
    base, cand = _pair(0.0, direction="band", n=12)
    assert compare_documents(base, cand).verdict == "Passed"


def test_linear_metric_uses_change_relative_to_baseline() -> None:
    rng = np.random.default_rng(0)
    b = [[float(v)] for v in 50 + rng.normal(0, 0.2, 8)]
    c = [[float(v)] for v in 55 + rng.normal(0, 0.2, 8)]
    comp = compare_documents(
        document(metric("loss", b, scale="linear")), document(metric("loss", c, scale="linear"))
    )
    assert comp.verdict == "Regressed"
    assert comp.metrics[0].change == pytest.approx(0.1, abs=0.01)


def test_overall_prefers_regressed_over_invalid_and_json_is_camel_case() -> None:
    rng = np.random.default_rng(0)
    bad = lognormal_groups(rng, replicates=8, repetitions=2)
    worse = lognormal_groups(rng, replicates=8, repetitions=2, centre=130)
    c = compare_documents(
        document(metric("t", bad), metric("u", bad, unit="ms")),
        document(metric("t", worse), metric("u", bad, unit="s")),
    )
    assert c.verdict == "Regressed" and c.worst is not None and c.worst.key == "w/t"
    d = comparison_to_dict(c)
    assert {"ciLow", "ciHigh", "pWelch", "pDecision", "additionalReplicates"} <= set(
        d["metrics"][0]
    )
    json.dumps(d, allow_nan=False)


def test_suite_tolerance_override_changes_the_decision() -> None:
    base, cand = _pair(0.08, n=12)
    assert compare_documents(base, cand).verdict == "Regressed"
    wide = {"w/t": MetricOverride(name="t", tolerance=0.2)}
    assert compare_documents(base, cand, overrides=wide).verdict == "Passed"
    ignored = {"w/t": MetricOverride(name="t", ignore=True)}
    assert compare_documents(base, cand, overrides=ignored).metrics == ()


def test_settings_from_spec() -> None:
    from benchgate.api.suite import StatisticsSpec

    s = EngineSettings.from_spec(StatisticsSpec(confidence=0.99, tolerance=0.05))
    assert s.alpha == pytest.approx(0.01) and s.default_tolerance == 0.05


def test_a_drifting_side_is_flagged_in_the_reason() -> None:
    steady = [[100.0 + (i % 3) * 0.5, 100.2 + (i % 2) * 0.3] for i in range(10)]
    drifting = [[100.0 + 0.6 * i, 100.3 + 0.6 * i] for i in range(10)]
    m = compare_documents(document(metric("t", steady)), document(metric("t", drifting))).metrics[0]
    assert "candidate replicates drift over the run" in m.reason, m.reason
    m = compare_documents(
        document(metric("t", steady)), document(metric("t", steady[::-1]))
    ).metrics[0]
    assert "drift" not in m.reason, m.reason


def test_metric_without_its_own_tolerance_uses_the_suites_default() -> None:
    """Precedence: suite per-metric override > the workload's tolerance > the suite's
    statistics.tolerancePercent. A 10 % slowdown regresses against a 3 % default and
    passes against a 20 % one."""
    from dataclasses import replace

    from benchgate.domain.verdict import EngineSettings

    base, cand = _pair(0.10, n=10)

    def without_tolerance(doc: ResultDocument) -> ResultDocument:
        (workload,) = doc.workloads
        metrics = tuple(replace(m, tolerance=None) for m in workload.metrics)
        return replace(doc, workloads=(replace(workload, metrics=metrics),))

    base, cand = without_tolerance(base), without_tolerance(cand)
    strict = compare_documents(base, cand, EngineSettings(default_tolerance=0.03))
    lenient = compare_documents(base, cand, EngineSettings(default_tolerance=0.20))
    assert strict.metrics[0].verdict == "Regressed", strict.metrics[0].reason
    assert lenient.metrics[0].verdict == "Passed", lenient.metrics[0].reason
    assert lenient.metrics[0].tolerance == 0.20
