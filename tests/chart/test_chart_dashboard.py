"""The Grafana dashboard and the alert rules only query metrics benchgate exports."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import yaml
from chart_render import CHART
from prometheus_client.parser import text_string_to_metric_families

import benchgate.metrics

DASHBOARD = CHART / "files/dashboard.json"
ALERTS = CHART / "files/alerts.yaml"

# PromQL keywords, functions and Grafana macros that look like identifiers.
PROMQL_WORDS = {
    "and",
    "or",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "by",
    "without",
    "bool",
    "offset",
    "time",
    "absent",
    "increase",
    "rate",
    "irate",
    "max",
    "min",
    "sum",
    "avg",
    "count",
    "topk",
    "bottomk",
    "histogram_quantile",
    "label_values",
    "label_replace",
    "max_over_time",
    "min_over_time",
    "changes",
    "clamp_min",
    "vector",
    "scalar",
    "delta",
    "sort_desc",
    "sort",
    "inf",
    "nan",
}


def exported_names() -> set[str]:
    """Sample names in a scrape of an operator where every family has data."""
    m = importlib.reload(benchgate.metrics)
    p = m.PlatformLabels("0123abcd", "c")
    rows = (m.MetricRow("w", "x", -0.2, -0.3, -0.1, "Regressed"),)
    m.set_platforms(
        namespace="n",
        suite="s",
        views=[m.PlatformView(p, "Regressed", 1.0, 1.0, rows, ("w", "x"))],
    )
    m.record_run_finished(
        namespace="n",
        suite="s",
        platform=p,
        verdict="Regressed",
        duration_seconds=1.0,
        failed_jobs=1,
    )
    m.record_result_rejected(namespace="n", suite="s", reason="TooLarge")
    m.set_suite_conditions(
        namespace="n",
        suite="s",
        verification_period_seconds=0,
        conditions=[{"type": "Ready", "status": "True"}],
    )
    m.record_reconcile(kind="Node", ok=True)
    text = m.render_latest().decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def metric_names_in(expr: str) -> set[str]:
    """Identifiers in a PromQL expression that name series."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana variables
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr))
    return names - PROMQL_WORDS


def test_metric_names_in_finds_series_names_only() -> None:
    expr = (
        'sum by (le, suite) (rate(benchgate_x_bucket{suite=~"$suite"}[$__rate_interval]))'
        " / on (suite) group_left () benchgate_y"
    )
    assert metric_names_in(expr) == {"benchgate_x_bucket", "benchgate_y"}


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    queries = [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            # label_values(<series selector>, <label>): only the selector names a metric
            selector = re.fullmatch(r"label_values\((.*),\s*\w+\)", query["query"])
            assert selector, f"variable {variable['name']}: unexpected query {query['query']!r}"
            queries.append((f"variable {variable['name']}", selector.group(1)))
    return queries


def test_the_dashboard_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), f"panel {panel['title']!r} repeats a refId"
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, "panels fit a 24-column grid"
    titles = " | ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("verdict over time", "change per metric", "duration", "failures"):
        assert topic in titles, f"the dashboard has no panel about {topic}"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    used = set(re.findall(r"\$(\w+)", json.dumps(dashboard["panels"]))) - {"__rate_interval"}
    assert used <= variables, f"panels use undefined variables: {used - variables}"


def test_every_dashboard_query_uses_only_exported_metrics() -> None:
    exported = exported_names()
    queries = dashboard_queries(json.loads(DASHBOARD.read_text()))
    assert queries
    for title, expr in queries:
        used = metric_names_in(expr)
        assert used, f"{title}: no metric found in {expr!r}"
        assert used <= exported, (
            f"{title} queries metrics benchgate does not export: {used - exported}"
        )


def test_every_alert_uses_only_exported_metrics() -> None:
    exported = exported_names() | {"up"}  # `up` is Prometheus' own
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    for rule in (r for g in groups for r in g["rules"]):
        used = metric_names_in(rule["expr"])
        for note in rule["annotations"].values():
            used |= set(re.findall(r'printf "([a-z_:]+)\{', note))  # template `query` calls
        assert used <= exported, (
            f"{rule['alert']} uses metrics benchgate does not export: {used - exported}"
        )


def test_each_platform_that_needs_attention_links_to_its_report_command() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    (panel,) = [p for p in dashboard["panels"] if "report command" in p["title"]]
    assert 'verdict=~"Regressed|' in panel["targets"][0]["expr"]
    links = [
        link
        for override in panel["fieldConfig"]["overrides"]
        if override["matcher"]["options"] == "platform"
        for prop in override["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
    assert links, "the platform column carries the link"
    title = links[0]["title"]
    # The same flags `benchgate report` takes, filled from the row's labels.
    assert title.startswith("benchgate report --latest ${__data.fields.suite} --platform ")
    assert "${__data.fields.platform}" in title and "-n ${__data.fields.namespace}" in title
    from benchgate.cli import build_parser

    args = build_parser().parse_args(["report", "--latest", "s", "--platform", "p", "-n", "ns"])
    assert (args.latest, args.platform, args.namespace) == ("s", "p", "ns")
