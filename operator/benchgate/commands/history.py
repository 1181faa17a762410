"""`benchgate history SUITE`: each metric's level over the suite's runs, with change points.

Reads the suite's VerificationRuns (their results ConfigMaps) and RegressionBaselines
(their samples, which outlive the runs historyLimit deletes) and prints, per metric and
hardware class, the level of each session in time order and the steps PELT finds
(domain/history.py). `--html FILE` writes the same as plots.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from benchgate.commands.cluster import (
    EXIT_CODES_HELP,
    EXIT_OK,
    Cluster,
    add_cluster_flags,
    add_output_flag,
    connect,
    get_custom,
    list_custom,
    read_document,
    run_guarded,
)
from benchgate.commands.inputs import InputError

EPILOG = f"""\
examples:
  benchgate history numerics -n ml                         every metric, every class
  benchgate history numerics --metric gemm_throughput/     metrics whose key contains it
  benchgate history numerics --metric '*gflops*' --platform h100-80gb-560
  benchgate history numerics --html history.html           the same as plots

Each point is one session (a run, or a baseline whose run is gone): the metric's level as
the engine summarises it. --platform keeps the history of that platform's hardware class
(baselines are chosen, and drift is measured, within a class). A change point is a step
PELT finds and Welch's t-test confirms (p < 0.01).

{EXIT_CODES_HELP}.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("suite", metavar="SUITE", help="RegressionSuite name")
    parser.add_argument("--metric", default="", help="substring or glob of workload/metric")
    parser.add_argument("--platform", default="", help="platform class or key prefix")
    parser.add_argument("--html", type=Path, default=None, help="also write plots to FILE")
    add_output_flag(parser, "table", "json", "yaml")
    add_cluster_flags(parser)


def run(args: argparse.Namespace) -> int:
    return run_guarded("history", lambda: _history(args))


def entries(cluster: Cluster, suite: str) -> list[Any]:
    """Every stored session of the suite: finished runs with results, and baselines whose
    run is gone."""
    from benchgate.api import crd
    from benchgate.domain.history import Entry
    from benchgate.domain.platform import Platform
    from benchgate.domain.status import effective_verdict

    def when(value: Any) -> float:
        from datetime import datetime

        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0

    selector = f"{crd.LABEL_SUITE}={suite}"
    runs = list_custom(cluster, crd.RUN_PLURAL, cluster.namespace, selector)
    baselines = list_custom(cluster, crd.BASELINE_PLURAL, cluster.namespace, selector)
    found = []
    seen = set()
    for run_obj in runs:
        status = run_obj.get("status") or {}
        cm = status.get("resultsConfigMap")
        if not cm or not status.get("completedAt"):
            continue
        platform = Platform.from_spec((run_obj.get("spec") or {}).get("platform") or {})
        name = run_obj["metadata"]["name"]
        try:
            document = read_document(cluster, str(cm))
        except InputError:
            continue  # gone or unreadable: the history shows what is there
        seen.add(name)
        found.append(
            Entry(
                when(status["completedAt"]),
                name,
                "run",
                platform.platform_class,
                platform.hardware_class,
                str(((run_obj.get("spec") or {}).get("trigger") or {}).get("reason") or ""),
                effective_verdict(status),
                document,
            )
        )
    for base in baselines:
        spec = base.get("spec") or {}
        if spec.get("sourceRun") in seen or not spec.get("samplesConfigMap"):
            continue
        platform = Platform.from_spec(spec.get("platform") or {})
        try:
            document = read_document(cluster, str(spec["samplesConfigMap"]))
        except InputError:
            continue
        found.append(
            Entry(
                when(base["metadata"].get("creationTimestamp")),
                base["metadata"]["name"],
                "baseline",
                platform.platform_class,
                platform.hardware_class,
                "",
                "Baseline",
                document,
            )
        )
    return found


def _history(args: argparse.Namespace) -> int:
    from benchgate.api import crd
    from benchgate.domain.history import build, render
    from benchgate.domain.manual import platform_matches

    cluster = connect(args)
    get_custom(cluster, crd.SUITE_PLURAL, args.suite)  # exists, or exit 3 saying so
    stored = entries(cluster, args.suite)
    if args.platform:
        classes = set()
        for run_obj in list_custom(
            cluster, crd.RUN_PLURAL, cluster.namespace, f"{crd.LABEL_SUITE}={args.suite}"
        ):
            platform = (run_obj.get("spec") or {}).get("platform") or {}
            if platform_matches(
                args.platform, str(platform.get("key")), str(platform.get("class"))
            ):
                classes.add(str(platform.get("hardwareClass") or ""))
        if not classes:
            raise InputError(
                f"--platform {args.platform}: no run of suite {args.suite} measured it"
            )
        stored = [e for e in stored if e.hardware_class in classes]
    series = build(stored, args.metric)
    if args.metric and not series:
        raise InputError(f"--metric {args.metric}: no stored session holds a metric that matches")
    if args.html is not None:
        from benchgate.report.html import history_page

        try:
            args.html.write_text(history_page(args.suite, series), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--html {args.html}: cannot write: {exc.strerror}") from exc
        print(f"wrote {args.html}", file=sys.stderr)
    if args.output == "table":
        print(render(series), end="")
    else:
        data = {"suite": args.suite, "series": [_series_data(s) for s in series]}
        print(json.dumps(data, indent=2) if args.output == "json" else yaml.safe_dump(data), end="")
    return EXIT_OK


def _series_data(series: Any) -> dict[str, Any]:
    return {
        "metric": series.metric,
        "unit": series.unit,
        "direction": series.direction,
        "hardwareClass": series.hardware_class,
        "points": [
            {
                "time": p.when,
                "source": p.source,
                "kind": p.kind,
                "platformClass": p.platform_class,
                "trigger": p.trigger,
                "verdict": p.verdict,
                "value": p.value,
                "replicates": p.replicates,
            }
            for p in series.points
        ],
        "changePoints": [
            {
                "index": cp.index,
                "source": series.points[cp.index].source,
                "before": cp.before,
                "after": cp.after,
                "change": cp.change,
                "pValue": cp.p_value,
            }
            for cp in series.change_points
        ],
    }
