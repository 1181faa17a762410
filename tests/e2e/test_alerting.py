"""Alerting end to end with Debian's real Prometheus and Alertmanager on loopback.

Prometheus evaluates a test copy of the shipped rules in which only `for:` is shortened
to 2s (tests/e2e/harness.py: shortened_rules); Alertmanager delivers to a local webhook.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from harness import SHIPPED_RULES, AlertingStack, alerting_stack, shortened_rules, wait_for

import benchgate.metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "charts/benchgate/files/dashboard.json"


def test_the_test_copy_of_the_rules_changes_only_for_durations(tmp_path: Path) -> None:
    shipped = yaml.safe_load(SHIPPED_RULES.read_text())
    copy = yaml.safe_load(shortened_rules(SHIPPED_RULES, tmp_path / "r.yaml").read_text())
    for group, copied_group in zip(shipped["groups"], copy["groups"], strict=True):
        for rule, copied in zip(group["rules"], copied_group["rules"], strict=True):
            assert copied["for"] == "2s"
            assert {k: v for k, v in copied.items() if k != "for"} == {
                k: v for k, v in rule.items() if k != "for"
            }


# --- the harness, fed by benchgate.metrics directly (no operator involved) ---------------


@pytest.fixture
def metrics_endpoint() -> Iterator[tuple[ModuleType, str]]:
    """benchgate.metrics served on a free loopback port, as the operator serves it."""
    metrics = importlib.reload(benchgate.metrics)
    server, thread = metrics.start_metrics_server(0, "127.0.0.1")
    try:
        yield metrics, f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_harness_fed_directly_by_benchgate_metrics_pages_only_the_regressed_platform(
    metrics_endpoint: tuple[ModuleType, str],
    tmp_path: Path,
) -> None:
    metrics, target = metrics_endpoint
    regressed = metrics.PlatformLabels("560aaaaa", "h100-80gb-560")
    # the same class on another node pool, passing: it must not page nor clear the page
    passing = metrics.PlatformLabels("560bbbbb", "h100-80gb-560")
    now = time.time()
    row = metrics.MetricRow
    metrics.set_platforms(
        namespace="ml",
        suite="gpu-pool",
        views=[
            metrics.PlatformView(
                regressed,
                "Regressed",
                now,
                now,
                (
                    row("gemm_throughput", "gflops_fp32", -0.21, -0.26, -0.16, "Regressed"),
                    row("numerics_probe", "max_abs_error", None, None, None, "Passed"),
                ),
            ),
            metrics.PlatformView(
                passing,
                "Passed",
                now,
                now,
                (row("gemm_throughput", "gflops_fp32", 0.004, -0.01, 0.02, "Passed"),),
            ),
        ],
    )
    for platform, verdict in ((regressed, "Regressed"), (passing, "Passed")):
        metrics.record_run_finished(
            namespace="ml",
            suite="gpu-pool",
            platform=platform,
            verdict=verdict,
            duration_seconds=300.0,
        )
    metrics.set_suite_conditions(
        namespace="ml",
        suite="gpu-pool",
        verification_period_seconds=0,
        conditions=[{"type": "Ready", "status": "True"}],
    )
    metrics.record_reconcile(kind="RegressionSuite", ok=True)

    with alerting_stack(tmp_path, target) as stack:
        stack.wait_for_scrape()
        try:
            page = stack.webhook.wait_for_alert(
                "BenchgateVerificationRegressed", timeout=60, suite="gpu-pool"
            )
        except Exception as exc:
            raise AssertionError(f"{exc}\n{stack.logs()}") from None
        assert_page_names(
            page,
            suite="gpu-pool",
            platform=regressed.platform,
            platform_class="h100-80gb-560",
            mentions="gemm_throughput/gflops_fp32",
        )
        assert "-21%" in page["annotations"]["description"]
        assert_passing_platform_never_pages(stack, suite="gpu-pool", platform=passing.platform)
        assert_dashboard_queries_run(stack, regressed.platform, passing.platform)


def assert_page_names(
    page: dict[str, object],
    *,
    suite: str,
    platform: str,
    platform_class: str,
    mentions: str,
    alert: str = "BenchgateVerificationRegressed",
) -> None:
    labels = page["labels"]
    annotations = page["annotations"]
    assert isinstance(labels, dict) and isinstance(annotations, dict)
    assert labels["severity"] == "critical", f"{alert} must page (severity critical)"
    assert (labels["suite"], labels["platform"]) == (suite, platform)
    assert labels["platform_class"] == platform_class
    text = f"{annotations['summary']} {annotations['description']}"
    for expected in (suite, platform, platform_class, mentions):
        assert expected in text, f"the page does not name {expected!r}: {text}"
    assert str(annotations["runbook_url"]).endswith(f"runbook.md#{alert.lower()}")


def assert_passing_platform_never_pages(stack: AlertingStack, *, suite: str, platform: str) -> None:
    """By now the regressed platform paged; the passing one must be neither firing nor paged.

    Waits three evaluation+notification cycles past the page so a late page would show.
    """
    time.sleep(3)
    firing = [
        a["labels"]
        for a in stack.firing()
        if a["labels"].get("suite") == suite and a["labels"].get("platform") == platform
    ]
    assert firing == [], f"a passing platform has firing alerts: {firing}"
    paged = [a["labels"] for a in stack.webhook.alerts() if a["labels"].get("platform") == platform]
    assert paged == [], f"a passing platform was paged: {paged}"


def assert_dashboard_queries_run(stack: AlertingStack, regressed: str, passing: str) -> None:
    """Every dashboard query is valid PromQL to a real Prometheus, and the key panels
    return data for the metrics fed in."""
    dashboard = json.loads(DASHBOARD.read_text())
    answered = {}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = re.sub(r"\$__rate_interval", "1m", target["expr"])
            expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
            answered[(panel["title"], target["refId"])] = stack.query(expr)
    verdicts = answered[("Verdict over time per suite and platform", "A")]
    by_platform = {r["metric"]["platform"]: r["value"][1] for r in verdicts}
    assert by_platform == {regressed: "8", passing: "1"}, (
        f"verdict panel should map Regressed to 8 and Passed to 1, got {by_platform}"
    )
    changes = answered[("Latest change per metric, with its confidence interval", "A")]
    assert len(changes) == 2, "one change per (platform, metric) with a relative change"


# --- the real thing: the operator in the sandbox ----------------------------------------


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_operator_in_sandbox_pages_a_regressed_and_a_failed_platform_and_not_a_passing_one(
    tmp_path: Path,
) -> None:
    from operator_scenario import audited_permissions, run_regression_scenario

    with (
        run_regression_scenario(tmp_path) as scenario,
        alerting_stack(tmp_path / "alerting", scenario.metrics_target) as stack,
    ):
        stack.wait_for_scrape(timeout=60)
        try:
            page = stack.webhook.wait_for_alert(
                "BenchgateVerificationRegressed",
                timeout=scenario.verdict_timeout,
                suite=scenario.suite,
                platform=scenario.regressed.platform,
            )
            failed_page = stack.webhook.wait_for_alert(
                "BenchgateVerificationFailed",
                timeout=scenario.verdict_timeout,
                suite=scenario.suite,
                platform=scenario.failed.platform,
            )
        except Exception as exc:
            raise AssertionError(f"{exc}\n{scenario.describe()}\n{stack.logs()}") from None
        assert_page_names(
            page,
            suite=scenario.suite,
            platform=scenario.regressed.platform,
            platform_class=scenario.regressed.platform_class,
            mentions=scenario.expected_metric,
        )
        # The workload that fails (BENCHGATE_INJECT_FAIL) pages like a regression.
        assert_page_names(
            failed_page,
            suite=scenario.suite,
            platform=scenario.failed.platform,
            platform_class=scenario.failed.platform_class,
            mentions="ended Failed",
            alert="BenchgateVerificationFailed",
        )
        assert failed_page["labels"]["verdict"] == "Failed"
        wait_for(
            "the passing platform's verdict in the metrics",
            lambda: stack.query(
                f'benchgate_platform_verdict{{suite="{scenario.suite}",'
                f'platform="{scenario.passing.platform}",verdict="Passed"}} == 1'
            ),
            timeout=scenario.verdict_timeout,
        )
        assert_passing_platform_never_pages(
            stack, suite=scenario.suite, platform=scenario.passing.platform
        )
        # The sandbox does not enforce RBAC, so check instead that every call the operator
        # made is one the chart's ClusterRole grants (a 403 waiting to happen otherwise).
        ungranted = audited_permissions(scenario.sandbox) - chart_permissions()
        assert ungranted == set(), f"the operator made calls the chart's RBAC denies: {ungranted}"


def chart_permissions() -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) granted by the chart rendered with default values."""
    import helm_python as helm

    with helm.Chart.load(str(ROOT / "charts/benchgate")) as chart:
        rendered = chart.render(name="benchgate", namespace="benchgate", is_install=True)
    roles = [
        doc
        for doc in yaml.safe_load_all(rendered["benchgate/templates/rbac.yaml"])
        if doc and doc["kind"] in ("ClusterRole", "Role")
    ]
    return {
        (group, resource, verb)
        for role in roles
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
