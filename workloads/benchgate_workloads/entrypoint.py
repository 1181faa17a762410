"""The workload process: run workloads in this process and print one result document.

    benchgate-workload run --size tiny|full (--replicate ID | --replicate-from-index OFFSET)
        --repetitions R [--workload NAME ...] [--suite-name S --run-name N --platform P]
        [--out FILE]

Progress goes to stderr; the document goes to stdout between BEGIN/END marker lines (the
operator reads it from the pod log) and to --out when given. A workload that raises is
recorded in the document with its error and the others still run; the exit code is 0
whenever a document was produced.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchgate.api.result import (
    BEGIN_MARKER,
    END_MARKER,
    SCHEMA_VERSION,
    DocumentError,
    FingerprintField,
    Metric,
    ReplicateSamples,
    ResultDocument,
    RunIdentity,
    WorkloadError,
    WorkloadResult,
    dumps,
)
from benchgate_workloads import registry

EXIT_OK = 0
EXIT_NO_DOCUMENT = 1
EXIT_USAGE = 2


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _progress(message: str) -> None:
    print(f"[benchgate-workload] {message}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchgate-workload", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run workloads and print a result document")
    run.add_argument("--size", choices=("tiny", "full"), default="tiny")
    which = run.add_mutually_exclusive_group()
    which.add_argument(
        "--replicate",
        default="proc-0",
        help="replicate id of this process/pod, e.g. proc-0 or pod-2",
    )
    which.add_argument(
        "--replicate-from-index",
        type=int,
        metavar="OFFSET",
        help="in an Indexed Job: this pod is replicate pod-<OFFSET + $JOB_COMPLETION_INDEX>, "
        "so replicate i of every run has the same id and the same training seed",
    )
    run.add_argument(
        "--repetitions",
        type=int,
        default=3,
        help="repetitions per timing metric in this process (default 3)",
    )
    run.add_argument(
        "--workload",
        action="append",
        dest="workloads",
        metavar="NAME",
        help=f"workload to run (repeatable; default all: {', '.join(registry.names())})",
    )
    run.add_argument(
        "--workload-repetitions",
        action="append",
        default=[],
        metavar="NAME=R",
        help="repetitions for one workload, beating --repetitions (repeatable)",
    )
    run.add_argument(
        "--workload-option",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="a setting for one workload, e.g. prediction_consistency.model=/models/m.pt "
        "(repeatable)",
    )
    run.add_argument("--suite-name", default="")
    run.add_argument("--run-name", default="")
    run.add_argument("--platform", default="")
    run.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="device to run on (default: cuda when available)",
    )
    run.add_argument(
        "--devices",
        choices=("all", "current"),
        default="all",
        help="on a multi-GPU node, run the device-local workloads on every GPU, each GPU "
        "a replicate <replicate>/gpu<k> (all, the default), or on the current one only",
    )
    run.add_argument("--out", type=Path, help="also write the document to this file")
    listing = sub.add_parser("list", help="list the workloads: built-ins and installed plugins")
    listing.add_argument(
        "--json",
        action="store_true",
        help="print the catalog (names and the metrics each reports; plugins and their "
        "problems too)",
    )
    listing.add_argument(
        "--builtin",
        action="store_true",
        help="built-in workloads only: the catalog the operator ships (`make catalog`)",
    )
    sub.add_parser(
        "relay",
        help="print a result file between the markers (the operator's file-mode step)",
    ).add_argument("file", type=Path)
    return parser


def _device(choice: str) -> object:
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device on this machine")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", torch.cuda.current_device())


def run_workloads(args: argparse.Namespace) -> ResultDocument:
    # Imported here so `benchgate-workload --help` and `list` stay fast.
    from benchgate_workloads import devices, fingerprint, injection
    from benchgate_workloads.api import Context, Skip

    started = _now()
    # The fingerprint describes the platform as the process found it, before any
    # workload touches a flag or the environment.
    try:
        fp = fingerprint.collect()
    except Exception as exc:  # every probe is guarded; this is the last line of defence
        _progress(f"fingerprint collection failed: {type(exc).__name__}: {exc}")
        fp = {
            "collector": {
                "error": FingerprintField(
                    None, f"error: {type(exc).__name__}: {exc}"[:200], "fingerprint.collect"
                )
            }
        }
    device = _device(args.device)
    ctx = Context(
        size=args.size,
        device=device,  # type: ignore[arg-type]
        repetitions=args.repetitions,
        replicate=args.replicate,
    )
    cuda = getattr(device, "type", "") == "cuda"
    gpus = devices.visible_gpus() if args.devices == "all" and cuda else []
    if len(gpus) > 1:
        _progress(f"{args.replicate}: {len(gpus)} GPUs: device-local workloads run on each")
    injected = injection.active()
    if injected:
        _progress(f"{args.replicate}: fault injection active: {injected}")
    results: list[WorkloadResult] = []
    errors: list[DocumentError] = []
    names = args.workloads or registry.names()
    for name in names:
        # A plugin that clashes with a built-in leaves the built-in running: say so.
        for problem in registry.plugins().problems.get(name, []) if name in registry.NAMES else []:
            errors.append(DocumentError(workload=name, type=problem.type, message=problem.message))
    for i, name in enumerate(names, 1):
        _progress(f"{args.replicate}: [{i}/{len(names)}] {name} ({args.size}, {device}) ...")
        t0 = time.perf_counter()
        try:
            injection.maybe_fail(name)
            own = args.per_workload.get(name)
            options = tuple(args.options.get(name, {}).items())
            run_ctx = replace(ctx, options=options)
            local = run_ctx if own is None else replace(run_ctx, repetitions=own)
            if len(gpus) > 1 and name in devices.PER_DEVICE:
                metrics = devices.run_per_device(registry.get(name), local, gpus)
                devices.restore(ctx.device)
            else:
                metrics = registry.get(name)(local)
            _check_declared(name, metrics)
        except registry.WorkloadUnavailable as exc:
            took = time.perf_counter() - t0
            _progress(f"{args.replicate}: {name} cannot run: {exc.kind}: {exc}")
            error = WorkloadError(type=exc.kind, message=str(exc)[-16000:])
            results.append(
                WorkloadResult(
                    name=name, size=args.size, status="failed", duration_seconds=took, error=error
                )
            )
            errors.append(DocumentError(workload=name, type=exc.kind, message=str(exc)[:2000]))
            continue
        except Skip as exc:
            took = time.perf_counter() - t0
            _progress(f"{args.replicate}: {name} skipped: {exc}")
            results.append(
                WorkloadResult(
                    name=name,
                    size=args.size,
                    status="skipped",
                    duration_seconds=took,
                    error=WorkloadError(type="Skip", message=str(exc)[:2000]),
                )
            )
            continue
        except Exception as exc:
            took = time.perf_counter() - t0
            message = f"{exc}\n{traceback.format_exc(limit=8)}"[-16000:]
            _progress(
                f"{args.replicate}: {name} FAILED after {took:.1f}s: {type(exc).__name__}: {exc}"
            )
            error = WorkloadError(type=type(exc).__name__, message=message)
            results.append(
                WorkloadResult(
                    name=name, size=args.size, status="failed", duration_seconds=took, error=error
                )
            )
            errors.append(DocumentError(workload=name, type=error.type, message=str(exc)[:2000]))
            continue
        took = time.perf_counter() - t0
        _progress(f"{args.replicate}: {name} ok in {took:.1f}s ({len(metrics)} metrics)")
        results.append(
            WorkloadResult(
                name=name,
                size=args.size,
                status="ok",
                duration_seconds=took,
                metrics=tuple(metrics),
            )
        )
    return ResultDocument(
        run=RunIdentity(
            suite=args.suite_name,
            run=args.run_name,
            platform=args.platform,
            replicate=args.replicate,
            started_at=started,
            finished_at=_now(),
        ),
        workloads=tuple(results),
        fingerprint=fp,
        errors=tuple(errors),
    )


def _check_declared(name: str, metrics: Sequence[Metric]) -> None:
    """A plugin reports only metrics its declaration names (the catalog checks a suite's
    overrides against the declaration; a renamed metric must not slip past them)."""
    from benchgate_workloads.api import WorkloadDef

    if name in registry.NAMES:
        return  # the built-ins are held to METRICS by their tests
    definition: WorkloadDef | None = registry.definition(name)
    if not isinstance(metrics, list | tuple) or not all(isinstance(m, Metric) for m in metrics):
        raise TypeError(f"{name}: run(ctx) must return a list of Metric (benchgate_workloads.api)")
    undeclared = [m.name for m in metrics if definition and not definition.reports(m.name)]
    if undeclared:
        raise ValueError(
            f"{name} reported {', '.join(undeclared[:5])}, which its WorkloadDef.metrics "
            f"({', '.join(definition.metrics if definition else ())}) does not declare"
        )


def _options(parser: argparse.ArgumentParser, items: Sequence[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for item in items:
        target, sep, value = item.partition("=")
        name, dot, key = target.partition(".")
        if not sep or not dot or not name or not key:
            parser.error(f"--workload-option {item!r}: expected NAME.KEY=VALUE")
        out.setdefault(name, {})[key] = value
    return out


def relay(path: Path) -> int:
    """Print a result file between the markers, unchanged: the operator's file-mode step
    (docs/any-image.md). The operator validates what it reads; a missing file is said on
    stderr and prints no markers, so the run fails with ResultRejected naming the pod."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        _progress(f"relay: cannot read {path}: {exc.strerror or exc}")
        return EXIT_OK
    sys.stdout.write(f"{BEGIN_MARKER}\n")
    sys.stdout.flush()
    sys.stdout.buffer.write(data.rstrip(b"\n") + b"\n")
    sys.stdout.write(f"{END_MARKER}\n")
    sys.stdout.flush()
    return EXIT_OK


INDEX_ENV = "JOB_COMPLETION_INDEX"


def indexed_replicate(parser: argparse.ArgumentParser, offset: int) -> str:
    """pod-<offset + the Indexed Job's completion index> (Kubernetes sets the index)."""
    raw = os.environ.get(INDEX_ENV, "")
    if offset < 0:
        parser.error("--replicate-from-index must be 0 or more")
    if not raw.isdigit():
        parser.error(
            f"--replicate-from-index needs ${INDEX_ENV} (set by Kubernetes in the pods of an "
            f"Indexed Job) to be a completion index, got {raw!r}"
        )
    return f"pod-{offset + int(raw)}"


def _hostile_document(mode: str) -> str:
    """Well-formed JSON that a bounded reader must refuse (BENCHGATE_INJECT_GARBAGE)."""
    from benchgate_workloads import injection

    if mode == injection.DEEP:
        value = "[" * injection.DEEP_LEVELS + "]" * injection.DEEP_LEVELS
        fingerprint = f'{{"injected": {{"deep": {{"status": "ok", "value": {value}}}}}}}'
        workloads = "[]"
    else:
        number = "9" * injection.HUGE_NUMBER_DIGITS
        fingerprint = "{}"
        workloads = (
            '[{"name": "numerics_probe", "status": "ok", "metrics": [{"name": "injected", '
            '"unit": "1", "direction": "lower", "samples": [{"replicate": "pod", "values": '
            f"[{number}]}}]}}]}}]"
        )
    return (
        f'{{"schemaVersion": "{SCHEMA_VERSION}", "workloads": {workloads}, '
        f'"fingerprint": {fingerprint}}}'
    )


def _constant(document: ResultDocument) -> ResultDocument:
    """Every continuous sample replaced by one constant: valid, but no baseline."""
    import dataclasses

    from benchgate_workloads import injection

    def flatten(metric: Metric) -> Metric:
        if metric.kind != "continuous":
            return metric
        samples = tuple(
            ReplicateSamples(g.replicate, tuple(injection.CONSTANT_VALUE for _ in g.values))
            for g in metric.samples
        )
        return dataclasses.replace(metric, samples=samples)

    return dataclasses.replace(
        document,
        workloads=tuple(
            dataclasses.replace(w, metrics=tuple(flatten(m) for m in w.metrics))
            for w in document.workloads
        ),
    )


def list_workloads(as_json: bool, builtin_only: bool) -> int:
    """Names (and where each comes from), or the catalog as JSON. Plugins are discovered
    from their declarations only: torch is not imported."""
    if as_json:
        print(json.dumps(registry.catalog(plugins_too=not builtin_only), indent=2))
        return EXIT_OK
    for name in registry.names():
        print(f"{name}\tbuilt-in")
    if builtin_only:
        return EXIT_OK
    installed = registry.plugins()
    for name in sorted(installed.plugins):
        plugin = installed.plugins[name]
        summary = f"\t{plugin.definition.description}" if plugin.definition.description else ""
        print(f"{name}\tplugin ({plugin.package}){summary}")
    for found in installed.problems.values():
        for problem in found:
            print(f"{problem.workload}\t{problem.type}: {problem.message}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        return list_workloads(args.json, args.builtin)
    if args.command == "relay":
        return relay(args.file)
    if args.command != "run":
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    unknown = [n for n in args.workloads or () if not registry.known(n)]
    if unknown:
        parser.error(
            f"--workload {unknown[0]!r} is not a workload; known: {', '.join(registry.all_names())}"
        )
    args.options = _options(parser, args.workload_option)
    if args.repetitions < 1:
        parser.error("--repetitions must be at least 1")
    args.per_workload = {}
    for item in args.workload_repetitions:
        name, _, count = item.partition("=")
        if not registry.known(name) or not count.isdigit() or int(count) < 1:
            parser.error(f"--workload-repetitions {item!r}: expected NAME=R with R >= 1")
        args.per_workload[name] = int(count)
    if args.replicate_from_index is not None:
        args.replicate = indexed_replicate(parser, args.replicate_from_index)
    from benchgate_workloads import injection

    try:
        injection.slowdown()
        injection.precision()
        injection.perturbation()
    except injection.InjectionConfigError as exc:
        parser.error(str(exc))
    garbage = injection.garbage()
    if garbage == injection.OVERSIZED:
        # Exercise the reader's size bounds: well-formed JSON, far too large to accept.
        padding = "x" * injection.OVERSIZED_BYTES
        print(
            f'{BEGIN_MARKER}\n{{"schemaVersion": "{SCHEMA_VERSION}", "padding": '
            f'"{padding}"}}\n{END_MARKER}',
            flush=True,
        )
        return EXIT_OK
    if garbage in (injection.DEEP, injection.HUGE_NUMBER):
        print(f"{BEGIN_MARKER}\n{_hostile_document(garbage)}\n{END_MARKER}", flush=True)
        return EXIT_OK
    if garbage and garbage != injection.CONSTANT:
        # Exercise the reader's rejection path: markers around something that is not JSON.
        print(f"{BEGIN_MARKER}\nthis is not a result document {{]\n{END_MARKER}", flush=True)
        return EXIT_OK
    try:
        document = run_workloads(args)
        if garbage == injection.CONSTANT:
            document = _constant(document)
        text = dumps(document)
    except Exception:
        _progress("no document could be produced:\n" + traceback.format_exc())
        return EXIT_NO_DOCUMENT
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    sys.stdout.write(f"{BEGIN_MARKER}\n{text}\n{END_MARKER}\n")
    sys.stdout.flush()
    failed = [w.name for w in document.workloads if w.status == "failed"]
    _progress(
        f"{args.replicate}: done; {len(document.workloads) - len(failed)} ok"
        + (f", failed: {', '.join(failed)}" if failed else "")
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
