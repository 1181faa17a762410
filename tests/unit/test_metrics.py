"""benchgate.metrics: what a Prometheus scrape of the operator shows."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from types import ModuleType

import pytest
from prometheus_client.parser import text_string_to_metric_families

import benchgate.metrics


@pytest.fixture
def metrics() -> Iterator[ModuleType]:
    """A freshly imported metrics module: an empty registry, as after a process start."""
    yield importlib.reload(benchgate.metrics)


def scrape(module: ModuleType) -> dict[str, dict[frozenset[tuple[str, str]], float]]:
    """Parse the module's exposition: sample name -> {label set -> value}."""
    series: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    text = module.render_latest().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = frozenset(sample.labels.items())
            series.setdefault(sample.name, {})[labels] = sample.value
    return series


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


def finish_regressed_run(m: ModuleType, *, platform: str = "h100-80gb-550") -> None:
    m.record_run_finished(
        namespace="ml",
        suite="cpu-smoke",
        platform=platform,
        verdict="Regressed",
        duration_seconds=95.0,
        finished_at=1_800_000_000.0,
        rows=[
            m.MetricRow("gemm_throughput", "gflops_fp32", -0.21, -0.26, -0.16, "Regressed"),
            m.MetricRow("gemm_throughput", "latency_p50", 0.01, -0.01, 0.03, "Passed"),
            m.MetricRow("numerics_probe", "max_abs_error", None, None, None, "Passed"),
        ],
    )


def test_a_regressed_run_sets_the_verdict_gauge_and_preinitialises_the_other_verdicts(
    metrics: ModuleType,
) -> None:
    finish_regressed_run(metrics)
    series = scrape(metrics)
    verdicts = series["benchgate_platform_verdict"]
    base = {"namespace": "ml", "suite": "cpu-smoke", "platform": "h100-80gb-550"}
    assert {dict(k)["verdict"]: v for k, v in verdicts.items()} == {
        "Passed": 0.0,
        "Regressed": 1.0,
        "Improved": 0.0,
        "Inconclusive": 0.0,
        "Invalid": 0.0,
    }, "exactly the latest verdict should be 1, every other verdict pre-initialised at 0"
    counted = series["benchgate_verifications_total"]
    assert counted[labels(**base, verdict="Regressed")] == 1.0
    assert counted[labels(**base, verdict="Passed")] == 0.0, "counters must exist at 0"
    assert series["benchgate_jobs_failed_total"][labels(**base)] == 0.0
    assert series["benchgate_last_successful_verification_timestamp_seconds"] == {
        labels(**base): 1_800_000_000.0
    }
    assert series["benchgate_verification_duration_seconds_count"] == {
        labels(namespace="ml", suite="cpu-smoke"): 1.0
    }


def test_relative_change_and_interval_are_exported_per_metric_and_absent_for_exact_metrics(
    metrics: ModuleType,
) -> None:
    finish_regressed_run(metrics)
    series = scrape(metrics)
    base = {"namespace": "ml", "suite": "cpu-smoke", "platform": "h100-80gb-550"}
    gflops = labels(**base, workload="gemm_throughput", metric="gflops_fp32")
    assert series["benchgate_metric_relative_change"][gflops] == pytest.approx(-0.21)
    assert series["benchgate_metric_relative_change_ci_low"][gflops] == pytest.approx(-0.26)
    assert series["benchgate_metric_relative_change_ci_high"][gflops] == pytest.approx(-0.16)
    exact = labels(**base, workload="numerics_probe", metric="max_abs_error")
    assert exact not in series["benchgate_metric_relative_change"], (
        "an exact metric has no relative change; it must not be exported as a number"
    )
    assert series["benchgate_platform_worst_metric_info"] == {gflops: 1.0}, (
        "the worst metric should be the regressed one with the largest change"
    )


def test_a_later_run_replaces_the_metrics_of_the_earlier_one(metrics: ModuleType) -> None:
    finish_regressed_run(metrics)
    metrics.record_run_finished(
        namespace="ml",
        suite="cpu-smoke",
        platform="h100-80gb-550",
        verdict="Passed",
        duration_seconds=80.0,
        finished_at=1_800_003_600.0,
        rows=[metrics.MetricRow("gemm_throughput", "gflops_fp32", 0.0, -0.02, 0.02, "Passed")],
        worst_metric="gemm_throughput/gflops_fp32",
    )
    series = scrape(metrics)
    changes = series["benchgate_metric_relative_change"]
    assert {dict(k)["metric"] for k in changes} == {"gflops_fp32"}, (
        "latency_p50 is no longer judged; its stale series must be gone"
    )
    verdict = {dict(k)["verdict"]: v for k, v in series["benchgate_platform_verdict"].items()}
    assert verdict["Passed"] == 1.0 and verdict["Regressed"] == 0.0
    totals = {dict(k)["verdict"]: v for k, v in series["benchgate_verifications_total"].items()}
    assert totals["Passed"] == 1.0 and totals["Regressed"] == 1.0


def test_inconclusive_runs_do_not_refresh_the_last_successful_verification(
    metrics: ModuleType,
) -> None:
    finish_regressed_run(metrics)
    metrics.record_run_finished(
        namespace="ml",
        suite="cpu-smoke",
        platform="h100-80gb-550",
        verdict="Inconclusive",
        duration_seconds=80.0,
        finished_at=1_900_000_000.0,
        rows=[],
    )
    stamps = scrape(metrics)["benchgate_last_successful_verification_timestamp_seconds"]
    assert list(stamps.values()) == [1_800_000_000.0]


def test_an_unknown_verdict_is_refused_with_the_valid_ones_listed(metrics: ModuleType) -> None:
    with pytest.raises(ValueError, match="'Failed' is not one of Passed, Regressed"):
        metrics.record_run_finished(
            namespace="ml",
            suite="s",
            platform="p",
            verdict="Failed",
            duration_seconds=1.0,
            finished_at=1.0,
            rows=[],
        )


def test_a_failed_job_on_a_new_platform_preinitialises_its_verdicts(metrics: ModuleType) -> None:
    metrics.record_job_failed(namespace="ml", suite="s", platform="a100")
    metrics.record_job_failed(namespace="ml", suite="s", platform="a100")
    series = scrape(metrics)
    assert series["benchgate_jobs_failed_total"] == {
        labels(namespace="ml", suite="s", platform="a100"): 2.0
    }
    assert sorted(series["benchgate_platform_verdict"].values()) == [0.0] * 5


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
    assert series["benchgate_suite_condition"] == {
        labels(namespace="ml", suite="s", type="Ready", status="True"): 0.0,
        labels(namespace="ml", suite="s", type="Ready", status="False"): 0.0,
        labels(namespace="ml", suite="s", type="Ready", status="Unknown"): 1.0,
    }, "a condition type that left status (Degraded) must leave the exposition too"
    assert series["benchgate_suite_verification_period_seconds"] == {
        labels(namespace="ml", suite="s"): 3600.0
    }, "a later call without a period keeps the period exported before"


def test_forget_suite_removes_only_that_suites_series(metrics: ModuleType) -> None:
    finish_regressed_run(metrics)
    metrics.record_run_finished(
        namespace="ml",
        suite="other",
        platform="p",
        verdict="Passed",
        duration_seconds=1.0,
        finished_at=1.0,
        rows=[],
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


def test_a_reconcile_that_raises_counts_as_an_error(metrics: ModuleType) -> None:
    with pytest.raises(RuntimeError), metrics.reconciling("VerificationRun"):
        raise RuntimeError("the API went away")
    with metrics.reconciling("RegressionSuite"):
        pass
    series = scrape(metrics)
    assert series["benchgate_reconcile_errors_total"][labels(kind="VerificationRun")] == 1.0
    assert series["benchgate_reconcile_errors_total"][labels(kind="RegressionSuite")] == 0.0
    assert (
        series["benchgate_last_reconcile_timestamp_seconds"][labels(kind="RegressionSuite")] > 1e9
    )


# --- restart -------------------------------------------------------------------------

# Objects shaped like crds/regressionsuites.yaml and crds/verificationruns.yaml, with
# numbers formatted as the operator writes them (benchgate.domain.status.fmt_percent).
SUITE = {
    "apiVersion": "benchgate.dev/v1alpha1",
    "kind": "RegressionSuite",
    "metadata": {"name": "cpu-smoke", "namespace": "ml"},
    "spec": {"triggers": {"periodSeconds": 86400}},
    "status": {
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "AllPlatformsVerified"},
            {"type": "Degraded", "status": "False", "reason": "NoRegression"},
        ],
        "platforms": [
            {
                "class": "h100-80gb-550",
                "key": "9f2c",
                "verdict": "Regressed",
                "lastRun": "cpu-smoke-9f2c-3",
                "baseline": "cpu-smoke-9f2c",
            },
            {"class": "cpu-x86", "key": "11aa", "verdict": "Passed", "lastRun": "cpu-smoke-11aa-1"},
            {"class": "a100-40gb", "key": "77ee"},  # seen, never verified yet
        ],
    },
}


def run_object(
    name: str,
    platform: str,
    verdict: str,
    metrics_rows: list[dict[str, object]],
    completed: str,
    worst: str | None = None,
) -> dict[str, object]:
    status: dict[str, object] = {
        "verdict": verdict,
        "metrics": metrics_rows,
        "startedAt": "2027-01-14T06:00:00Z",
        "completedAt": completed,
    }
    if worst:
        status["worstMetric"] = worst
    return {
        "apiVersion": "benchgate.dev/v1alpha1",
        "kind": "VerificationRun",
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {
            "suite": {"name": "cpu-smoke", "generation": 1},
            "platform": {"class": platform, "key": "k"},
        },
        "status": status,
    }


RUNS = [
    run_object(
        "cpu-smoke-9f2c-1",
        "h100-80gb-550",
        "Passed",
        [
            {
                "key": "gemm_throughput/gflops_fp32",
                "change": "+0.10%",
                "ciLow": "-1.00%",
                "ciHigh": "+1.20%",
                "verdict": "Passed",
            }
        ],
        "2027-01-14T08:00:00Z",
    ),
    run_object(
        "cpu-smoke-9f2c-2",
        "h100-80gb-550",
        "Regressed",
        [
            {
                "key": "gemm_throughput/gflops_fp32",
                "change": "-21.00%",
                "ciLow": "-26.00%",
                "ciHigh": "-16.00%",
                "verdict": "Regressed",
            },
            {"key": "numerics_probe/max_abs_error", "kind": "exact", "verdict": "Passed"},
        ],
        "2027-01-15T08:00:00Z",
        worst="gemm_throughput/gflops_fp32",
    ),
    # started after the restart's snapshot: still running, no verdict
    run_object("cpu-smoke-9f2c-3", "h100-80gb-550", "", [], ""),
    run_object(
        "cpu-smoke-11aa-1",
        "cpu-x86",
        "Passed",
        [
            {
                "key": "gemm_throughput/gflops_fp32",
                "change": "+0.40%",
                "ciLow": "-0.30%",
                "ciHigh": "+1.10%",
                "verdict": "Passed",
            }
        ],
        "2027-01-15T07:00:00Z",
    ),
]


def epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def drive_live_operator(m: ModuleType) -> None:
    """What the controllers call while the runs above finish (in order)."""
    m.record_run_finished(
        namespace="ml",
        suite="cpu-smoke",
        platform="h100-80gb-550",
        verdict="Passed",
        duration_seconds=60.0,
        finished_at=epoch("2027-01-14T08:00:00Z"),
        rows=[m.MetricRow("gemm_throughput", "gflops_fp32", 0.001, -0.01, 0.012, "Passed")],
    )
    m.record_run_finished(
        namespace="ml",
        suite="cpu-smoke",
        platform="cpu-x86",
        verdict="Passed",
        duration_seconds=60.0,
        finished_at=epoch("2027-01-15T07:00:00Z"),
        rows=[m.MetricRow("gemm_throughput", "gflops_fp32", 0.004, -0.003, 0.011, "Passed")],
    )
    m.record_run_finished(
        namespace="ml",
        suite="cpu-smoke",
        platform="h100-80gb-550",
        verdict="Regressed",
        duration_seconds=60.0,
        finished_at=epoch("2027-01-15T08:00:00Z"),
        rows=[
            m.MetricRow("gemm_throughput", "gflops_fp32", -0.21, -0.26, -0.16, "Regressed"),
            m.MetricRow("numerics_probe", "max_abs_error", None, None, None, "Passed"),
        ],
        worst_metric="gemm_throughput/gflops_fp32",
    )
    m.record_job_failed(namespace="ml", suite="cpu-smoke", platform="a100-40gb")
    m.set_suite_conditions(
        namespace="ml",
        suite="cpu-smoke",
        conditions=SUITE["status"]["conditions"],  # type: ignore[index]
        verification_period_seconds=86400,
    )


def gauges(m: ModuleType) -> dict[str, object]:
    """Every gauge family of a scrape (counters and histograms restart at 0 by design)."""
    text = m.render_latest().decode()
    # Status keeps changes to 0.01 percentage points, so compare at that precision.
    return {
        family.name: sorted(
            (s.name, sorted(s.labels.items()), round(s.value, 6)) for s in family.samples
        )
        for family in text_string_to_metric_families(text)
        if family.type == "gauge" and family.name != "benchgate_last_reconcile_timestamp_seconds"
    }


def test_rebuild_after_a_restart_reproduces_the_gauges_the_live_operator_exported() -> None:
    live = importlib.reload(benchgate.metrics)
    drive_live_operator(live)
    before = gauges(live)
    assert before["benchgate_platform_worst_metric_info"], "the live run names a worst metric"

    restarted = importlib.reload(benchgate.metrics)
    assert b"benchgate_platform_verdict{" not in restarted.render_latest()
    restarted.rebuild_from_status([SUITE], RUNS)
    after = gauges(restarted)
    assert after == before, "a restarted operator must export the same gauges as before"


def test_rebuild_finds_the_latest_completed_run_and_derives_the_worst_metric(
    metrics: ModuleType,
) -> None:
    suite = {**SUITE, "status": {"platforms": [{"class": "h100-80gb-550", "verdict": "Regressed"}]}}
    runs = [
        {**run, "status": {k: v for k, v in run["status"].items() if k != "worstMetric"}}
        for run in RUNS
    ]
    metrics.rebuild_from_status([suite], runs)
    series = scrape(metrics)
    base = {"namespace": "ml", "suite": "cpu-smoke", "platform": "h100-80gb-550"}
    gflops = labels(**base, workload="gemm_throughput", metric="gflops_fp32")
    assert series["benchgate_metric_relative_change"][gflops] == pytest.approx(-0.21), (
        "without lastRun, the most recently completed run of the platform supplies the metrics"
    )
    assert series["benchgate_platform_worst_metric_info"] == {gflops: 1.0}
    assert series["benchgate_last_successful_verification_timestamp_seconds"] == {
        labels(**base): epoch("2027-01-15T08:00:00Z")
    }, "the completion time of the latest decisive run is the last successful verification"


def test_the_real_exposition_passes_promtool_check_metrics(metrics: ModuleType) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: run `make system-deps` (Debian package prometheus)")
    drive_live_operator(metrics)
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


def test_rebuild_reads_changes_in_the_format_the_operator_writes(metrics: ModuleType) -> None:
    from benchgate.domain.status import fmt_percent

    run = run_object(
        "r",
        "h100-80gb-550",
        "Regressed",
        [
            {
                "key": "gemm_throughput/gflops_fp32",
                "change": fmt_percent(-0.1234),
                "ciLow": fmt_percent(-0.2),
                "ciHigh": fmt_percent(-0.05),
                "verdict": "Regressed",
            }
        ],
        "2027-01-15T08:00:00Z",
    )
    suite = {
        **SUITE,
        "status": {
            "platforms": [{"class": "h100-80gb-550", "lastRun": "r", "verdict": "Regressed"}]
        },
    }
    metrics.rebuild_from_status([suite], [run])
    series = scrape(metrics)
    key = labels(
        namespace="ml",
        suite="cpu-smoke",
        platform="h100-80gb-550",
        workload="gemm_throughput",
        metric="gflops_fp32",
    )
    assert series["benchgate_metric_relative_change"][key] == pytest.approx(-0.1234)
    assert series["benchgate_metric_relative_change_ci_low"][key] == pytest.approx(-0.2)
