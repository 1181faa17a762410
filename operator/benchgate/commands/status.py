"""`benchgate status [SUITE]`: which platforms are verified, gated, running, and what next.

Reads RegressionSuites, VerificationRuns, RegressionBaselines and Nodes (for the gating
taints; a user who may not list Nodes sees "?" in GATED) and prints domain/overview.py's
view. Nothing here is computed that the API does not already say.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import yaml

from benchgate.commands.cluster import (
    EXIT_CODES_HELP,
    Cluster,
    add_cluster_flags,
    add_output_flag,
    call,
    connect,
    get_custom,
    list_custom,
    run_guarded,
)
from benchgate.commands.inputs import InputError

EPILOG = f"""\
examples:
  benchgate status                       every suite in the current namespace
  benchgate status numerics -n ml        one suite
  benchgate status -A -o wide            every namespace, with run, trigger and anchor
  benchgate status -A -o json | jq '.suites[].platforms[] | select(.verdict=="Regressed")'

columns: VERDICT is the latest run's (Baseline: it became the platform's baseline;
Accepted: a person accepted its change as the baseline); GATED counts the nodes carrying
the suite's taint ("?" when you may not list Nodes); BASELINE is what the latest run was
compared with (or became), AGE its age.
Below the table, each platform that needs attention says what is running, what the
operator waits for (settle window, a busy platform), and the next step to take.

{EXIT_CODES_HELP}: 1 when a platform regressed or failed, 2 when one is inconclusive.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("suite", metavar="SUITE", nargs="?", help="one RegressionSuite")
    add_output_flag(parser, "table", "wide", "json", "yaml")
    add_cluster_flags(parser, all_namespaces=True)


def run(args: argparse.Namespace) -> int:
    return run_guarded("status", lambda: _status(args))


def _nodes(cluster: Cluster) -> list[dict[str, Any]] | None:
    """Every node (for its taints), or None when the user may not list them."""
    try:
        # Raw JSON (no model classes): the overview reads dicts as the API sends them.
        answer = call("nodes", cluster.core.list_node, _preload_content=False)
    except InputError:
        return None
    return list(json.loads(answer.data).get("items") or [])


def _status(args: argparse.Namespace) -> int:
    from benchgate.api import crd
    from benchgate.domain.overview import exit_code, overview, render, to_data

    if args.suite and args.all_namespaces:
        raise InputError("give SUITE or -A, not both")
    cluster = connect(args)
    namespace = None if args.all_namespaces else cluster.namespace
    if args.suite:
        suites = [get_custom(cluster, crd.SUITE_PLURAL, args.suite)]
        selector = f"{crd.LABEL_SUITE}={args.suite}"
    else:
        suites = list_custom(cluster, crd.SUITE_PLURAL, namespace)
        selector = ""
    runs = list_custom(cluster, crd.RUN_PLURAL, namespace, selector)
    baselines = list_custom(cluster, crd.BASELINE_PLURAL, namespace, selector)
    nodes = _nodes(cluster) if suites else []
    view = overview(suites, runs, baselines, nodes, time.time())
    if args.output == "json":
        print(json.dumps(to_data(view), indent=2))
    elif args.output == "yaml":
        print(yaml.safe_dump(to_data(view), sort_keys=False), end="")
    else:
        print(render(view, wide=args.output == "wide"), end="")
    return exit_code(view)
