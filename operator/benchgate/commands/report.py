"""`benchgate report`: a comparison as one self-contained HTML file, plus markdown.

Two sources: two result documents (judged now by the engine, as `benchgate compare`), or
a VerificationRun in the cluster (its stored results and its baseline's samples, with
the verdicts the operator wrote: a report never re-judges a run). The model is
domain/report.py; the drawing is benchgate.report (the `report` extra: matplotlib).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchgate.commands.cluster import (
    EXIT_CODES_HELP,
    EXIT_OK,
    add_cluster_flags,
    connect,
    get_custom,
    list_custom,
    read_document,
    run_guarded,
)
from benchgate.commands.inputs import InputError

EPILOG = f"""\
examples:
  benchgate report numerics-1a2b3c4d-5e6f7a8b -n ml                 a run in the cluster
  benchgate report --latest numerics --platform 5e6f7a8b -n ml      a platform's latest run
  benchgate report base.json cand.json --suite suite.yaml --html r.html --markdown -
  benchgate report RUN -n ml --history                              with the class's history

The HTML (default RUN.html, or report.html for two documents) holds the verdict, the
environment diff, and per metric, worst first, the replicate values of both sides with
the tolerance band and the change's confidence interval; loss curves for training
workloads. --markdown FILE (or - for stdout) writes tables for a pull request or ticket.

{EXIT_CODES_HELP}; 0 once written, whatever the verdict.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "sources",
        metavar="RUN | BASELINE.json CANDIDATE.json",
        nargs="*",
        help="a VerificationRun name, or two result documents",
    )
    parser.add_argument("--latest", metavar="SUITE", default="", help="the suite's latest run")
    parser.add_argument("--platform", default="", help="with --latest: platform class or key")
    parser.add_argument("--html", type=Path, default=None, help="HTML file to write")
    parser.add_argument("--markdown", default="", help="markdown file to write (- = stdout)")
    parser.add_argument(
        "--history", action="store_true", help="add the history of the run's hardware class"
    )
    parser.add_argument("--suite", type=Path, default=None, help="documents: suite YAML")
    parser.add_argument("--confidence", type=float, default=None, help="documents: confidence")
    parser.add_argument(
        "--session-sd",
        type=float,
        default=None,
        metavar="PERCENT",
        help="documents: between-session sd in percent (as `benchgate compare`)",
    )
    # Two documents have no concurrent control; compare's option set is shared.
    parser.set_defaults(node_sd=None)
    parser.add_argument(
        "--tolerance-percent", type=float, default=None, help="documents: tolerance in percent"
    )
    add_cluster_flags(parser)


def run(args: argparse.Namespace) -> int:
    return run_guarded("report", lambda: _report(args))


def _report(args: argparse.Namespace) -> int:
    try:
        from benchgate.report.html import report_page
        from benchgate.report.markdown import report_markdown
    except ModuleNotFoundError as exc:
        raise InputError(
            f"{exc.name} is not installed; install the 'report' extra: "
            "pip install 'benchgate[report]'"
        ) from exc
    sources = list(args.sources)
    history: list[Any] = []
    if len(sources) == 2:
        report = _from_documents(args, Path(sources[0]), Path(sources[1]))
        default_html = Path("report.html")
    elif len(sources) == 1 or (not sources and args.latest):
        report, history, name = _from_cluster(args, sources[0] if sources else "")
        default_html = Path(f"{name}.html")
    else:
        raise InputError(
            "give a VerificationRun name, two result documents (BASELINE CANDIDATE), or "
            "--latest SUITE --platform P"
        )
    html_path = args.html or default_html
    try:
        html_path.write_text(report_page(report, history), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--html {html_path}: cannot write: {exc.strerror}") from exc
    print(f"{report.verdict}: wrote {html_path}", file=sys.stderr)
    if args.markdown:
        text = report_markdown(report, html_name=html_path.name)
        if args.markdown == "-":
            print(text, end="")
        else:
            try:
                Path(args.markdown).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise InputError(
                    f"--markdown {args.markdown}: cannot write: {exc.strerror}"
                ) from exc
            print(f"wrote {args.markdown}", file=sys.stderr)
    return EXIT_OK


def _from_documents(args: argparse.Namespace, base_path: Path, cand_path: Path) -> Any:
    from benchgate.commands.compare import build_inputs
    from benchgate.commands.inputs import check_baseline
    from benchgate.commands.inputs import read_document as read_file
    from benchgate.domain import report as model
    from benchgate.domain.verdict import compare_documents

    baseline = read_file(base_path, "baseline")
    candidate = read_file(cand_path, "candidate")
    settings, overrides, _ = build_inputs(args, baseline)
    check_baseline(baseline, f"baseline {base_path}", settings, overrides)
    comparison = compare_documents(baseline, candidate, settings, overrides)
    return model.build(
        title=f"benchgate report: {cand_path.name} vs {base_path.name}",
        baseline_label=str(base_path),
        candidate_label=str(cand_path),
        verdict=comparison.verdict,
        reason=comparison.reason,
        rows=model.rows_from_comparison(comparison),
        env=[
            model.EnvRow(f"{e.group}.{e.field}", str(e.before), str(e.after), e.summary)
            for e in comparison.env_changes
        ],
        baseline=baseline,
        candidate=candidate,
    )


def _latest_run(args: argparse.Namespace, cluster: Any) -> str:
    from benchgate.api import crd
    from benchgate.domain.manual import platform_matches
    from benchgate.domain.status import FINISHED_VERDICTS

    if not args.platform:
        raise InputError("--latest needs --platform (a platform class or key prefix)")
    runs = [
        r
        for r in list_custom(
            cluster, crd.RUN_PLURAL, cluster.namespace, f"{crd.LABEL_SUITE}={args.latest}"
        )
        if str((r.get("status") or {}).get("verdict")) in FINISHED_VERDICTS
        and platform_matches(
            args.platform,
            str(((r.get("spec") or {}).get("platform") or {}).get("key")),
            str(((r.get("spec") or {}).get("platform") or {}).get("class")),
        )
    ]
    if not runs:
        raise InputError(
            f"--latest {args.latest} --platform {args.platform}: no finished run of that "
            f"platform in namespace {cluster.namespace}"
        )
    latest = max(
        runs, key=lambda r: (r["metadata"].get("creationTimestamp", ""), r["metadata"]["name"])
    )
    return str(latest["metadata"]["name"])


def _from_cluster(args: argparse.Namespace, name: str) -> tuple[Any, list[Any], str]:
    from benchgate.api import crd
    from benchgate.domain import report as model
    from benchgate.domain.status import effective_verdict

    cluster = connect(args)
    if not name:
        name = _latest_run(args, cluster)
    run_obj = get_custom(cluster, crd.RUN_PLURAL, name)
    status = run_obj.get("status") or {}
    spec = run_obj.get("spec") or {}
    if not status.get("completedAt"):
        raise InputError(f"{name}: has not finished ({status.get('message') or 'pending'})")
    results = str(status.get("resultsConfigMap") or "")
    baseline_name = str((status.get("baseline") or {}).get("name") or "")
    if not results:
        raise InputError(f"{name}: stored no results ({status.get('message')})")
    if not baseline_name:
        raise InputError(
            f"{name}: was not compared with a baseline ({status.get('message')}); nothing to report"
        )
    candidate = read_document(cluster, results)
    base_obj = get_custom(cluster, crd.BASELINE_PLURAL, baseline_name)
    baseline = read_document(cluster, str((base_obj.get("spec") or {}).get("samplesConfigMap")))
    notes = []
    trigger = spec.get("trigger") or {}
    notes.append(
        f"{trigger.get('reason', '')}: {trigger.get('message', '')}; nodes "
        f"{', '.join(spec.get('nodes') or [])}; completed {status.get('completedAt')}"
    )
    acceptance = status.get("acceptance") or {}
    if acceptance.get("baseline"):
        notes.append(
            f"Accepted by {acceptance.get('by')} ({acceptance.get('identitySource')}) at "
            f"{acceptance.get('acceptedAt')}: {acceptance.get('reason')}"
        )
    anchor = status.get("anchor") or {}
    if anchor.get("message"):
        notes.append(f"Against the anchor: {anchor['message']}")
    report = model.build(
        title=f"benchgate report: {name}",
        baseline_label=baseline_name,
        candidate_label=f"{name} ({(spec.get('platform') or {}).get('class', '')})",
        verdict=effective_verdict(status),
        reason=str(status.get("message") or ""),
        rows=model.rows_from_status(status),
        env=[
            model.EnvRow(
                str(e.get("field")),
                str(e.get("before")),
                str(e.get("after")),
                str(e.get("summary")),
            )
            for e in status.get("envDiff") or []
        ],
        baseline=baseline,
        candidate=candidate,
        notes=notes,
    )
    history: list[Any] = []
    if args.history:
        from benchgate.commands.history import entries
        from benchgate.domain.history import build

        suite = str((spec.get("suite") or {}).get("name") or "")
        hardware = str((spec.get("platform") or {}).get("hardwareClass") or "")
        stored = [e for e in entries(cluster, suite) if e.hardware_class == hardware]
        keys = [v.key for v in report.metrics[:10]]
        history = [s for s in build(stored) if s.metric in keys]
    return report, history, name
