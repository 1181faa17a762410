"""benchgate.metrics: what a Prometheus scrape of the operator shows."""

from __future__ import annotations

import copy
import importlib
import json
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import benchgate.metrics
from benchgate.domain import status as st

Series = dict[str, dict[frozenset[tuple[str, str]], float]]

H100_550 = "9f2c" * 16  # platform keys: the label is their first 8 hex digits
H100_550_OTHER_POOL = "77ee" * 16  # same class, another platform
CPU = "11aa" * 16


@pytest.fixture
def metrics() -> Iterator[ModuleType]:
    """A freshly imported metrics module: an empty registry, as after a process start."""
    yield importlib.reload(benchgate.metrics)


def scrape(module: ModuleType) -> Series:
    """Parse the module's exposition: sample name -> {label set -> value}."""
    series: Series = {}
    text = module.render_latest().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = frozenset(sample.labels.items())
            series.setdefault(sample.name, {})[labels] = sample.value
    return series


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


def platform(key: str, klass: str) -> dict[str, str]:
    return {"namespace": "ml", "suite": "cpu-smoke", "platform": key[:8], "platform_class": klass}


def verdicts_of(series: Series, key: str) -> dict[str, float]:
    return {
        dict(k)["verdict"]: v
        for k, v in series["benchgate_platform_verdict"].items()
        if dict(k)["platform"] == key[:8]
    }


# --- objects shaped like crds/*.yaml, as the API returns them ------------------------


def run_object(
    name: str,
    key: str,
    klass: str,
    verdict: str,
    *,
    created: str,
    completed: str = "",
    metrics_rows: list[dict[str, object]] | None = None,
    worst: str = "",
    reason: str = "",
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "verdict": verdict,
        "metrics": metrics_rows or [],
        "worstMetric": worst,
        "startedAt": created,
    }
    if completed:
        status["completedAt"] = completed
        status["conditions"] = [
            {"type": "Complete", "status": "True", "reason": "Finished"},
            {"type": "Verified", "status": "Unknown", "reason": reason or verdict},
        ]
    return {
        "apiVersion": "benchgate.dev/v1alpha1",
        "kind": "VerificationRun",
        "metadata": {"name": name, "namespace": "ml", "creationTimestamp": created},
        "spec": {
            "suite": {"name": "cpu-smoke", "generation": 1},
            "platform": {"class": klass, "key": key},
        },
        "status": status,
    }


def gflops(change: str, low: str, high: str, verdict: str) -> dict[str, object]:
    return {
        "key": "gemm_throughput/gflops_fp32",
        "change": change,
        "ciLow": low,
        "ciHigh": high,
        "verdict": verdict,
    }


EXACT = {"key": "numerics_probe/max_abs_error", "kind": "exact", "verdict": "Passed"}

RUNS = [
    run_object(
        "h100-1",
        H100_550,
        "h100-80gb-550",
        "Passed",
        created="2027-01-14T06:00:00Z",
        completed="2027-01-14T08:00:00Z",
        metrics_rows=[gflops("+0.10%", "-1.00%", "+1.20%", "Passed")],
    ),
    run_object(
        "h100-2",
        H100_550,
        "h100-80gb-550",
        "Regressed",
        created="2027-01-15T06:00:00Z",
        completed="2027-01-15T08:00:00Z",
        metrics_rows=[gflops("-21.00%", "-26.00%", "-16.00%", "Regressed"), EXACT],
        worst="gemm_throughput/gflops_fp32",
    ),
    # started since: still running, no verdict; the platform's verdict stays Regressed
    run_object("h100-3", H100_550, "h100-80gb-550", "Running", created="2027-01-16T06:00:00Z"),
    # the same class on another pool, passing: it must not clear the regression above
    run_object(
        "other-1",
        H100_550_OTHER_POOL,
        "h100-80gb-550",
        "Passed",
        created="2027-01-15T09:00:00Z",
        completed="2027-01-15T10:00:00Z",
        metrics_rows=[gflops("+0.40%", "-0.30%", "+1.10%", "Passed")],
    ),
    run_object(
        "cpu-1",
        CPU,
        "cpu-x86",
        "Failed",
        created="2027-01-15T05:00:00Z",
        completed="2027-01-15T07:00:00Z",
        reason="WorkloadFailed",
    ),
]


def suite_status(runs: list[dict[str, Any]], previous: list[dict[str, Any]] | None = None) -> Any:
    """The suite status the controller writes (benchgate.domain.status), from `runs` and
    the nodes of three platforms plus one never verified."""
    summaries = [
        st.RunSummary(
            name=r["metadata"]["name"],
            platform_key=r["spec"]["platform"]["key"],
            platform_class=r["spec"]["platform"]["class"],
            created_at=datetime.fromisoformat(r["metadata"]["creationTimestamp"]).timestamp(),
            verdict=r["status"]["verdict"],
            reason=next(
                (c["reason"] for c in r["status"].get("conditions", []) if c["type"] == "Verified"),
                "",
            ),
            baseline="",
            last_transition=r["status"].get("completedAt", ""),
        )
        for r in runs
    ]
    return st.suite_status(
        platforms={
            H100_550: ("h100-80gb-550", ["a"]),
            H100_550_OTHER_POOL: ("h100-80gb-550", ["b"]),
            CPU: ("cpu-x86", ["c"]),
            "a100a100" * 8: ("a100-40gb-550", ["d"]),
        },
        runs=summaries,
        existing=None,
        now=datetime(2027, 1, 16, 12, tzinfo=UTC),
        generation=1,
        previous_rows=previous,
    )


def suite_object(status: Any, period: int = 86400) -> dict[str, Any]:
    return {
        "apiVersion": "benchgate.dev/v1alpha1",
        "kind": "RegressionSuite",
        "metadata": {"name": "cpu-smoke", "namespace": "ml"},
        "spec": {"triggers": {"periodSeconds": period}},
        "status": json.loads(json.dumps(status)),  # as read back from the API
    }


def export(m: ModuleType, runs: list[dict[str, Any]] = RUNS) -> dict[str, Any]:
    """What the suite controller does on a reconcile: status, then the gauges from it."""
    status = suite_status(runs)
    m.set_platforms(namespace="ml", suite="cpu-smoke", views=m.platform_views(status, runs))
    return dict(status)


def epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


# --- verdict series, keyed by platform ---------------------------------------------


def test_each_platform_has_its_latest_finished_verdict_and_the_others_at_zero(
    metrics: ModuleType,
) -> None:
    export(metrics)
    series = scrape(metrics)
    assert verdicts_of(series, H100_550) == {
        "Passed": 0.0,
        "Regressed": 1.0,
        "Improved": 0.0,
        "Inconclusive": 0.0,
        "Invalid": 0.0,
        "Failed": 0.0,
        "TimedOut": 0.0,
        "NoBaseline": 0.0,
        "Accepted": 0.0,
    }, "a running re-verification keeps the latest finished verdict; every verdict exists"
    assert verdicts_of(series, CPU)["Failed"] == 1.0, "a failed verification is a verdict"
    counted = series["benchgate_verifications_total"]
    assert counted[labels(**platform(CPU, "cpu-x86"), verdict="Passed")] == 0.0, (
        "counters exist at 0 from the moment a platform is in status"
    )
    assert series["benchgate_jobs_failed_total"][labels(**platform(CPU, "cpu-x86"))] == 0.0


def test_a_pass_on_one_platform_never_clears_a_regression_on_another_of_its_class(
    metrics: ModuleType,
) -> None:
    export(metrics)
    series = scrape(metrics)
    assert verdicts_of(series, H100_550)["Regressed"] == 1.0
    assert verdicts_of(series, H100_550_OTHER_POOL)["Passed"] == 1.0
    assert verdicts_of(series, H100_550_OTHER_POOL)["Regressed"] == 0.0
    classes = {
        dict(k)["platform"]: dict(k)["platform_class"] for k in series["benchgate_platform_verdict"]
    }
    assert classes[H100_550[:8]] == classes[H100_550_OTHER_POOL[:8]] == "h100-80gb-550"


def test_a_never_verified_platform_has_a_first_seen_time_and_no_verdict(
    metrics: ModuleType,
) -> None:
    export(metrics)
    series = scrape(metrics)
    a100 = "a100a100" * 8
    assert set(verdicts_of(series, a100).values()) == {0.0}
    seen = series["benchgate_platform_first_seen_timestamp_seconds"]
    assert seen[labels(**platform(a100, "a100-40gb-550"))] == epoch("2027-01-16T12:00:00Z")
    assert (
        labels(**platform(a100, "a100-40gb-550"))
        not in series["benchgate_last_successful_verification_timestamp_seconds"]
    )


def test_a_platform_that_leaves_the_suite_leaves_the_exposition(metrics: ModuleType) -> None:
    status = export(metrics)
    metrics.record_run_finished(
        namespace="ml",
        suite="cpu-smoke",
        platform=metrics.PlatformLabels.of(CPU, "cpu-x86"),
        verdict="Failed",
        duration_seconds=5.0,
        failed_jobs=1,
    )
    status["platforms"] = [r for r in status["platforms"] if r["key"] != CPU]
    metrics.set_platforms(
        namespace="ml", suite="cpu-smoke", views=metrics.platform_views(status, RUNS)
    )
    text = metrics.render_latest().decode()
    assert f'platform="{CPU[:8]}"' not in text, "cardinality is bounded by status.platforms"
    assert f'platform="{H100_550[:8]}"' in text


# --- per-metric series ---------------------------------------------------------------


def test_relative_change_and_interval_are_exported_per_metric_and_absent_for_exact_metrics(
    metrics: ModuleType,
) -> None:
    export(metrics)
    series = scrape(metrics)
    base = platform(H100_550, "h100-80gb-550")
    gflops_key = labels(**base, workload="gemm_throughput", metric="gflops_fp32")
    change = "benchgate_metric_relative_change"
    assert series[f"{change}_ratio"][gflops_key] == pytest.approx(-0.21)
    assert series[f"{change}_ci_low_ratio"][gflops_key] == pytest.approx(-0.26)
    assert series[f"{change}_ci_high_ratio"][gflops_key] == pytest.approx(-0.16)
    exact = labels(**base, workload="numerics_probe", metric="max_abs_error")
    assert exact not in series["benchgate_metric_relative_change_ratio"], (
        "an exact metric has no relative change; it must not be exported as a number"
    )
    worst = {
        k: v
        for k, v in series["benchgate_platform_worst_metric_info"].items()
        if dict(k)["platform"] == H100_550[:8]
    }
    assert worst == {gflops_key: 1.0}


def test_a_later_run_replaces_the_metrics_of_the_earlier_one(metrics: ModuleType) -> None:
    export(metrics)
    passed = run_object(
        "h100-4",
        H100_550,
        "h100-80gb-550",
        "Passed",
        created="2027-01-16T07:00:00Z",
        completed="2027-01-16T08:00:00Z",
        metrics_rows=[gflops("+0.00%", "-2.00%", "+2.00%", "Passed")],
    )
    export(metrics, [*RUNS, passed])
    series = scrape(metrics)
    changes = [
        dict(k)["metric"]
        for k in series["benchgate_metric_relative_change_ratio"]
        if dict(k)["platform"] == H100_550[:8]
    ]
    assert changes == ["gflops_fp32"], "max_abs_error is no longer judged; its series is gone"
    assert verdicts_of(series, H100_550)["Passed"] == 1.0
    assert verdicts_of(series, H100_550)["Regressed"] == 0.0


def test_the_staleness_clock_counts_decisions_and_promotions_only(metrics: ModuleType) -> None:
    promoted = run_object(
        "a100-1",
        "a100a100" * 8,
        "a100-40gb-550",
        "NoBaseline",
        created="2027-01-10T00:00:00Z",
        completed="2027-01-10T01:00:00Z",
        reason="BaselinePromoted",
    )
    inconclusive = run_object(
        "h100-5",
        H100_550,
        "h100-80gb-550",
        "Inconclusive",
        created="2027-01-16T09:00:00Z",
        completed="2027-01-16T10:00:00Z",
    )
    export(metrics, [*RUNS, promoted, inconclusive])
    stamps = scrape(metrics)["benchgate_last_successful_verification_timestamp_seconds"]
    assert stamps[labels(**platform(H100_550, "h100-80gb-550"))] == epoch("2027-01-15T08:00:00Z"), (
        "Inconclusive does not refresh it; the Regressed decision before it does"
    )
    assert stamps[labels(**platform("a100a100" * 8, "a100-40gb-550"))] == epoch(
        "2027-01-10T01:00:00Z"
    ), "a run that became the baseline is the platform's reference measurement"
    assert labels(**platform(CPU, "cpu-x86")) not in stamps, "a Failed run verified nothing"


# --- counters ---------------------------------------------------------------------------


def test_a_finished_run_counts_its_verdict_and_each_failed_job(metrics: ModuleType) -> None:
    cpu = metrics.PlatformLabels.of(CPU, "cpu-x86")
    for failed_jobs in (2, 1):
        metrics.record_run_finished(
            namespace="ml",
            suite="cpu-smoke",
            platform=cpu,
            verdict="Failed",
            duration_seconds=95.0,
            failed_jobs=failed_jobs,
        )
    series = scrape(metrics)
    base = platform(CPU, "cpu-x86")
    assert series["benchgate_jobs_failed_total"][labels(**base)] == 3.0, "Jobs, not runs"
    assert series["benchgate_verifications_total"][labels(**base, verdict="Failed")] == 2.0
    assert series["benchgate_verification_duration_seconds_count"] == {
        labels(namespace="ml", suite="cpu-smoke"): 2.0
    }


def test_an_unknown_verdict_is_refused_with_the_valid_ones_listed(metrics: ModuleType) -> None:
    with pytest.raises(ValueError, match="'Running' is not one of Passed, Regressed"):
        metrics.record_run_finished(
            namespace="ml",
            suite="s",
            platform=metrics.PlatformLabels("p", "c"),
            verdict="Running",
            duration_seconds=1.0,
        )


def test_every_finished_run_verdict_is_a_series() -> None:
    assert set(benchgate.metrics.VERDICTS) == st.FINISHED_VERDICTS, (
        "a run verdict without a series would be counted nowhere and page nobody"
    )


def test_suite_conditions_are_exported_kube_state_metrics_style(metrics: ModuleType) -> None:
    metrics.set_suite_conditions(
        namespace="ml",
        suite="s",
        conditions=[{"type": "Ready", "status": "True"}, {"type": "Degraded", "status": "False"}],
        verification_period_seconds=3600,
    )
    metrics.set_suite_conditions(
        namespace="ml", suite="s", conditions=[{"type": "Ready", "status": "Unknown"}]
    )
    series = scrape(metrics)
    assert series["benchgate_suite_status_condition"] == {
        labels(namespace="ml", suite="s", condition="Ready", status="True"): 0.0,
        labels(namespace="ml", suite="s", condition="Ready", status="False"): 0.0,
        labels(namespace="ml", suite="s", condition="Ready", status="Unknown"): 1.0,
    }, "a condition type that left status (Degraded) must leave the exposition too"
    assert series["benchgate_suite_verification_period_seconds"] == {
        labels(namespace="ml", suite="s"): 3600.0
    }, "a later call without a period keeps the period exported before"


def test_forget_suite_removes_only_that_suites_series(metrics: ModuleType) -> None:
    export(metrics)
    metrics.record_run_finished(
        namespace="ml",
        suite="other",
        platform=metrics.PlatformLabels("p", "c"),
        verdict="Passed",
        duration_seconds=1.0,
    )
    metrics.set_suite_conditions(
        namespace="ml", suite="cpu-smoke", conditions=[{"type": "Ready", "status": "True"}]
    )
    metrics.record_result_rejected(namespace="ml", suite="cpu-smoke", reason="SchemaInvalid")
    metrics.forget_suite(namespace="ml", suite="cpu-smoke")
    text = metrics.render_latest().decode()
    assert 'suite="cpu-smoke"' not in text, "a deleted suite must leave no series behind"
    assert 'suite="other"' in text


def test_rejection_reasons_stay_bounded(metrics: ModuleType) -> None:
    metrics.record_result_rejected(namespace="ml", suite="s", reason="TooLarge")
    metrics.record_result_rejected(namespace="ml", suite="s", reason="pod xyz-123 said: boom")
    reasons = {dict(k)["reason"] for k in scrape(metrics)["benchgate_results_rejected_total"]}
    assert reasons == {"TooLarge", "Other"}


def test_reconcile_errors_exist_from_startup_and_successes_stamp_the_time(
    metrics: ModuleType,
) -> None:
    before = scrape(metrics)["benchgate_reconcile_errors_total"]
    assert before[labels(kind="RegressionSuite")] == 0.0
    metrics.record_reconcile(kind="RegressionSuite", ok=False)
    metrics.record_reconcile(kind="Node", ok=True)
    series = scrape(metrics)
    assert series["benchgate_reconcile_errors_total"][labels(kind="RegressionSuite")] == 1.0
    assert series["benchgate_last_reconcile_timestamp_seconds"][labels(kind="Node")] > 1e9
    assert series["benchgate_build_info"] == {labels(version=benchgate.__version__): 1.0}


# --- restart -------------------------------------------------------------------------


def gauges(m: ModuleType) -> dict[str, object]:
    """Every gauge family of a scrape (counters and histograms restart at 0 by design)."""
    text = m.render_latest().decode()
    return {
        family.name: sorted(
            (s.name, sorted(s.labels.items()), round(s.value, 6)) for s in family.samples
        )
        for family in text_string_to_metric_families(text)
        if family.type == "gauge" and family.name != "benchgate_last_reconcile_timestamp_seconds"
    }


def test_rebuild_after_a_restart_reproduces_the_gauges_the_live_operator_exported() -> None:
    live = importlib.reload(benchgate.metrics)
    status = export(live)
    live.set_suite_conditions(
        namespace="ml",
        suite="cpu-smoke",
        conditions=status["conditions"],
        verification_period_seconds=86400,
    )
    before = gauges(live)
    assert before["benchgate_platform_worst_metric_info"], "the live run names a worst metric"

    restarted = importlib.reload(benchgate.metrics)
    assert b"benchgate_platform_verdict{" not in restarted.render_latest()
    restarted.rebuild_from_status([suite_object(status)], copy.deepcopy(RUNS))
    assert gauges(restarted) == before, "a restarted operator must export the same gauges"


def test_the_last_verification_survives_its_run_being_garbage_collected(
    metrics: ModuleType,
) -> None:
    """historyLimit may delete the decisive run; the suite's status row remembers it."""
    status = export(metrics)
    failed_since = [
        run_object(
            f"h100-f{i}",
            H100_550,
            "h100-80gb-550",
            "Failed",
            created=f"2027-01-16T0{i}:00:00Z",
            completed=f"2027-01-16T0{i}:30:00Z",
        )
        for i in (7, 8)
    ]
    kept = [r for r in RUNS if r["metadata"]["name"] not in ("h100-1", "h100-2")] + failed_since
    later = suite_status(kept, previous=status["platforms"])
    metrics.rebuild_from_status([suite_object(later)], kept)
    stamps = scrape(metrics)["benchgate_last_successful_verification_timestamp_seconds"]
    assert stamps[labels(**platform(H100_550, "h100-80gb-550"))] == epoch("2027-01-15T08:00:00Z")
    assert verdicts_of(scrape(metrics), H100_550)["Failed"] == 1.0


def test_the_real_exposition_passes_promtool_check_metrics(metrics: ModuleType) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: run `make system-deps` (Debian package prometheus)")
    export(metrics)
    metrics.record_run_finished(
        namespace="ml",
        suite="cpu-smoke",
        platform=metrics.PlatformLabels.of(CPU, "cpu-x86"),
        verdict="Failed",
        duration_seconds=60.0,
        failed_jobs=1,
    )
    metrics.record_result_rejected(namespace="ml", suite="cpu-smoke", reason="SchemaInvalid")
    metrics.record_reconcile(kind="RegressionSuite", ok=True)
    server, thread = metrics.start_metrics_server(0, "127.0.0.1")
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            body = resp.read()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert body == metrics.render_latest(), "the server must serve the module's registry"
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=60
    )
    assert checked.returncode == 0, (
        f"promtool check metrics found problems:\n{checked.stdout.decode()}"
        f"{checked.stderr.decode()}"
    )
    assert b"benchgate_platform_verdict{" in body


def test_changes_are_read_in_the_format_the_operator_writes(metrics: ModuleType) -> None:
    run = run_object(
        "r",
        H100_550,
        "h100-80gb-550",
        "Regressed",
        created="2027-01-15T06:00:00Z",
        completed="2027-01-15T08:00:00Z",
        metrics_rows=[
            gflops(st.fmt_percent(-0.1234), st.fmt_percent(-0.2), st.fmt_percent(-0.05), "x")
        ],
    )
    export(metrics, [run])
    key = labels(
        **platform(H100_550, "h100-80gb-550"), workload="gemm_throughput", metric="gflops_fp32"
    )
    series = scrape(metrics)
    assert series["benchgate_metric_relative_change_ratio"][key] == pytest.approx(-0.1234)
    assert series["benchgate_metric_relative_change_ci_low_ratio"][key] == pytest.approx(-0.2)


# Renamed in 0.2.0 (Prometheus' unit suffix; kube-state-metrics' `condition` label); the
# old names are exported for one release with the same values (docs/metrics.md).
DEPRECATED = {
    "benchgate_metric_relative_change": "benchgate_metric_relative_change_ratio",
    "benchgate_metric_relative_change_ci_low": "benchgate_metric_relative_change_ci_low_ratio",
    "benchgate_metric_relative_change_ci_high": "benchgate_metric_relative_change_ci_high_ratio",
}


def test_deprecated_names_carry_the_same_values_for_one_release(metrics: ModuleType) -> None:
    export(metrics)
    metrics.set_suite_conditions(
        namespace="ml", suite="s", conditions=[{"type": "Ready", "status": "False"}]
    )
    series = scrape(metrics)
    for old, new in DEPRECATED.items():
        assert series[new], f"{new} has no series"
        assert series[old] == series[new], f"deprecated {old} must equal {new}"
    renamed = {
        frozenset(("condition" if k == "type" else k, v) for k, v in key): value
        for key, value in series["benchgate_suite_condition"].items()
    }
    assert renamed == series["benchgate_suite_status_condition"]
    text = metrics.render_latest().decode()
    for old in (*DEPRECATED, "benchgate_suite_condition"):
        assert f"# HELP {old} DEPRECATED, removed in 0.3.0" in text
    metrics.forget_suite(namespace="ml", suite="s")
    assert 'suite="s"' not in metrics.render_latest().decode()


def test_the_shipped_alerts_and_dashboard_use_no_deprecated_name() -> None:
    chart = Path(__file__).resolve().parents[2] / "charts/benchgate/files"
    deprecated = re.compile(
        r"benchgate_metric_relative_change(?:_ci_low|_ci_high)?\b|benchgate_suite_condition\b"
    )
    for name in ("alerts.yaml", "dashboard.json"):
        found = sorted(set(deprecated.findall((chart / name).read_text())))
        assert found == [], f"{name} still uses deprecated series {found}: they go in 0.3.0"


def test_drift_and_acceptance_follow_the_latest_runs_status(metrics: ModuleType) -> None:
    status = {"platforms": [{"key": "ab" * 32, "class": "h100"}]}
    run = {
        "metadata": {"name": "r", "creationTimestamp": "2026-11-23T10:00:00Z"},
        "spec": {"platform": {"key": "ab" * 32}},
        "status": {
            "verdict": "Regressed",
            "completedAt": "2026-11-23T10:05:00Z",
            "acceptance": {"baseline": "r-baseline"},
            "conditions": [{"type": "Drifted", "status": "True", "reason": "DriftDetected"}],
        },
    }
    (view,) = metrics.platform_views(status, [run])
    assert view.verdict == "Accepted", "an accepted run's platform is Accepted, not Regressed"
    assert view.drifted
    metrics.set_platforms(namespace="n", suite="s", views=[view])
    text = metrics.render_latest().decode()
    assert 'benchgate_platform_drifted{namespace="n",platform="abababab"' in text
    assert 'verdict="Regressed"} 0.0' in text and 'verdict="Accepted"} 1.0' in text


def test_prediction_numbers_of_a_distribution_metric_become_gauges(metrics: ModuleType) -> None:
    row = {
        "key": "prediction_consistency/outputs",
        "kind": "distribution",
        "verdict": "Regressed",
        "change": "+10.55%",
        "prediction": {
            "inputs": 256,
            "bitwiseIdentical": False,
            "top1Flips": 27,
            "top1Agreement": "0.894531",
            "psi": "0.0212",
            "ksStatistic": "0.0414",
            "wassersteinRelative": "0.124",
            "maxAbsDiff": "8.09",
        },
    }
    runs = copy.deepcopy(RUNS)
    runs[1]["status"]["metrics"].append(row)
    export(metrics, runs)
    series = scrape(metrics)
    where = labels(
        **platform(H100_550, "h100-80gb-550"),
        workload="prediction_consistency",
        metric="outputs",
    )
    assert series["benchgate_prediction_top1_agreement_ratio"][where] == pytest.approx(0.894531)
    assert series["benchgate_prediction_psi"][where] == pytest.approx(0.0212)
    assert series["benchgate_prediction_ks_statistic"][where] == pytest.approx(0.0414)
    assert series["benchgate_prediction_wasserstein_relative"][where] == pytest.approx(0.124)
    assert series["benchgate_prediction_max_abs_diff"][where] == pytest.approx(8.09)
    # The next run no longer judges it: its series leave the exposition.
    export(metrics, RUNS)
    assert where not in scrape(metrics).get("benchgate_prediction_psi", {})


def test_a_platform_whose_nodes_are_gone_keeps_its_row_but_loses_its_series(
    metrics: ModuleType,
) -> None:
    """Cardinality follows the platforms with nodes now (docs/metrics.md): a history row
    (a platform whose key changed) exports nothing."""
    here, gone = "ab" * 32, "cd" * 32
    status = {
        "platforms": [
            {"key": here, "class": "cpu", "nodes": ["vm"]},
            {"key": gone, "class": "cpu", "nodes": []},
        ]
    }
    views = metrics.platform_views(status, [])
    assert [v.labels.platform for v in views] == [here[:8]], views
