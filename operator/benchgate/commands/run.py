"""`benchgate run SUITE.yaml`: run a suite's workloads on this machine.

Reads the same RegressionSuite manifest the operator reads and runs its workloads in
fresh processes (`python -m benchgate_workloads run ...`), one per replicate: a process
is the local unit of replication, as a pod is in the cluster. The per-process documents
are read from the processes' stdout exactly as the operator reads pod logs, merged into
one document, and the suite's per-metric overrides (tolerance, errorFactor, ignore) are
applied to it.

With --baseline FILE the merged document is also compared with a baseline and the verdict
printed; the exit code is then compare's: 0 passed/improved, 1 regressed,
2 inconclusive, 3 invalid. Without it: 0 when a document was written, 3 on bad input,
4 when no replicate produced a document. Bad input (the suite, the baseline file, a
baseline the engine could not judge against, the options) is refused with exit 3 before
any workload runs, naming the file and the field.

Replicates: --replicates, else the suite's `sampling.replicates`; 0 means "the engine
recommends" (`benchgate.domain.sampling.recommend_plan`, from the baseline's variance when
--baseline is given, else from a conservative prior), and then the plan's repetitions
apply to workloads that set none of their own (--repetitions still wins). In `sequential`
mode with a baseline, replicates are added in looks and the run stops once the verdict is
decided.

Plugin workloads (`plugin: true`) run in the workload process like built-ins; the suite is
checked against this installation's catalog (`benchgate-workload list --json`, plugins
included), so a plugin that is not installed is refused before anything runs. Any-image
workloads run their `command` + `args` as a local process (the image is not pulled: the
command must exist on this machine), with the environment an operator pod would give
them, and their document is read from stdout or, with `resultFrom: File`, from the file
named by $BENCHGATE_RESULT_FILE. `--list` prints the workloads this installation has.

This module never imports torch or benchgate_workloads (the operator image has neither).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

from benchgate.api.catalog import Catalog, catalog_causes, load_catalog
from benchgate.api.podenv import container_env, expand
from benchgate.api.result import (
    MAX_SAMPLES_PER_METRIC,
    DocumentError,
    Metric,
    ResultDocument,
    ResultDocumentError,
    RunIdentity,
    WorkloadError,
    WorkloadResult,
    clip,
    dumps,
    extract_from_log,
    loads,
    merge_documents,
)
from benchgate.api.suite import MetricOverride, SuiteSpec, SuiteSpecError
from benchgate.commands.inputs import (
    EXIT_INVALID_INPUT,
    InputError,
    check_baseline,
    read_document,
    read_suite,
    refuse,
)

if TYPE_CHECKING:  # the verdict engine (numpy, scipy) is imported only when comparing
    from benchgate.domain.verdict import Comparison

EXIT_OK: Final = 0
EXIT_INVALID: Final = EXIT_INVALID_INPUT
EXIT_NO_DOCUMENT: Final = 4
DEFAULT_TIMEOUT_SECONDS: Final = 1800
STDERR_TAIL_LINES: Final = 40
WORKLOAD_MODULE: Final = "benchgate_workloads"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", type=Path, nargs="?", help="RegressionSuite YAML file")
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the workloads this installation can run (built-ins and installed "
        "plugins) and exit",
    )
    parser.add_argument(
        "--workload",
        action="append",
        dest="workloads",
        metavar="NAME",
        help="run only this workload of the suite (repeatable)",
    )
    parser.add_argument(
        "--size",
        choices=("tiny", "full"),
        default=None,
        help="workload size (default: the suite's spec.size)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the result document here (default: stdout, as JSON)",
    )
    parser.add_argument(
        "--replicates",
        type=int,
        default=None,
        metavar="P",
        help="fresh processes to run (default: the suite's "
        "sampling.replicates); 0 = as the engine recommends",
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        default=None,
        metavar="R",
        help="repetitions per process for every workload (default: the "
        "suite's per-workload or sampling repetitions)",
    )
    parser.add_argument(
        "--first-replicate",
        type=int,
        default=0,
        metavar="N",
        help="number replicates from proc-N (to add replicates to an "
        "earlier run and merge the documents)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="compare the result with this baseline document and print the verdict",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "markdown"),
        default="table",
        help="verdict format with --baseline (default: table)",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=None,
        metavar="SECONDS",
        help="limit per process (default: the suite's timeoutSeconds)",
    )


def _say(message: str) -> None:
    print(f"benchgate run: {message}", file=sys.stderr, flush=True)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class RunPlan:
    suite: SuiteSpec
    size: str
    workloads: tuple[str, ...]
    repetitions: Mapping[str, int]  # workload -> repetitions per process
    replicates: int
    first_replicate: int
    timeout_s: int
    run_name: str
    why: str  # where the replicate count came from

    @property
    def any_image(self) -> frozenset[str]:
        return frozenset(w.name for w in self.suite.workloads if w.container is not None)

    def process_groups(self) -> list[tuple[int, tuple[str, ...]]]:
        """Workloads that share a repetition count run in one process, in suite order
        (any-image workloads run their own command instead: run_any_image)."""
        groups: dict[int, list[str]] = {}
        for name in self.workloads:
            if name in self.any_image:
                continue
            groups.setdefault(self.repetitions[name], []).append(name)
        return [(r, tuple(names)) for r, names in groups.items()]


def _replicates(
    args: argparse.Namespace, suite: SuiteSpec, baseline: ResultDocument | None
) -> tuple[int, int | None, str]:
    """(replicates, recommended repetitions or None, why)."""
    if args.replicates is not None and args.replicates != 0:
        return args.replicates, None, "--replicates"
    if args.replicates is None and suite.sampling.replicates > 0:
        return suite.sampling.replicates, None, "spec.sampling.replicates"
    from benchgate.domain.sampling import recommend_plan, sequential_plan
    from benchgate.domain.verdict import EngineSettings

    settings = EngineSettings.from_spec(suite.statistics, suite.sampling)
    plan = recommend_plan(baseline, settings, max_samples=suite.sampling.max_samples)
    if baseline is not None and suite.sampling.mode == "sequential":
        # As in the operator: the maximum grows to the budget; looks stop early.
        plan = sequential_plan(plan, max_samples=suite.sampling.max_samples)
    return plan.replicates, plan.repetitions, f"engine recommendation: {plan.why}"


def build_plan(
    args: argparse.Namespace, suite: SuiteSpec, baseline: ResultDocument | None
) -> RunPlan:
    names = [w.name for w in suite.workloads]
    chosen = tuple(args.workloads or names)
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise SuiteSpecError(
            "--workload", f"{unknown[0]!r} is not in the suite; it lists {', '.join(names)}"
        )
    if args.repetitions is not None and args.repetitions < 1:
        raise SuiteSpecError("--repetitions", "must be at least 1")
    if args.first_replicate < 0:
        raise SuiteSpecError("--first-replicate", "must be 0 or more")
    replicates, recommended_r, why = _replicates(args, suite, baseline)
    if replicates < 1:
        raise SuiteSpecError(
            "--replicates", "must be at least 1, or 0 to let the engine recommend a count"
        )
    repetitions: dict[str, int] = {}
    for name in chosen:
        spec = suite.workload(name)
        assert spec is not None
        repetitions[name] = (
            args.repetitions or spec.repetitions or recommended_r or suite.sampling.repetitions
        )
    samples = replicates * max(repetitions.values(), default=1)
    if samples > MAX_SAMPLES_PER_METRIC:
        # The merged document could not hold them; refuse before anything runs.
        raise SuiteSpecError(
            "--replicates",
            f"{replicates} replicate(s) x {max(repetitions.values())} repetition(s) = "
            f"{samples} samples per metric; a result document holds at most "
            f"{MAX_SAMPLES_PER_METRIC}",
        )
    timeout = args.timeout or int(suite.raw.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS)
    return RunPlan(
        suite=suite,
        size=args.size or suite.size,
        workloads=chosen,
        repetitions=repetitions,
        replicates=replicates,
        first_replicate=args.first_replicate,
        timeout_s=timeout,
        run_name=f"local-{dt.datetime.now(dt.UTC).strftime('%Y%m%d-%H%M%S')}",
        why=why,
    )


# --------------------------------------------------------------- one replicate process


def _drain(stream: IO[str], sink: list[str]) -> None:
    for line in stream:
        sink.append(line)


def _failed_document(
    plan: RunPlan, replicate: str, workloads: Sequence[str], error_type: str, message: str
) -> ResultDocument:
    """What a replicate whose process produced no usable document contributes."""
    error = WorkloadError(type=error_type, message=clip(message))
    return ResultDocument(
        run=RunIdentity(
            suite=plan.suite.name, run=plan.run_name, platform="local", replicate=replicate
        ),
        workloads=tuple(
            WorkloadResult(
                name=n, size=plan.size, status="failed", duration_seconds=0.0, error=error
            )
            for n in workloads
        ),
        errors=tuple(
            DocumentError(workload=n, type=error_type, message=clip(message, 2000))
            for n in workloads
        ),
    )


def run_replicate(
    plan: RunPlan, replicate: str, repetitions: int, workloads: Sequence[str]
) -> ResultDocument:
    """Run one fresh workload process and read its document from stdout."""
    command = [
        sys.executable,
        "-m",
        WORKLOAD_MODULE,
        "run",
        "--size",
        plan.size,
        "--replicate",
        replicate,
        "--repetitions",
        str(repetitions),
        "--suite-name",
        plan.suite.name,
        "--run-name",
        plan.run_name,
        "--platform",
        "local",
    ]
    for name in workloads:
        command += ["--workload", name]
        spec = plan.suite.workload(name)
        if spec is not None and spec.model is not None:
            for key, value in spec.model.options():
                command += ["--workload-option", f"{name}.{key}={value}"]
    started = time.monotonic()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert proc.stdout is not None and proc.stderr is not None
    out: list[str] = []
    reader = threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True)
    reader.start()
    tail: list[str] = []

    def echo() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            print(f"  | {line.rstrip()}", file=sys.stderr, flush=True)
            tail.append(line)
            del tail[:-STDERR_TAIL_LINES]

    echoer = threading.Thread(target=echo, daemon=True)
    echoer.start()
    try:
        code = proc.wait(timeout=plan.timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        reader.join(5)
        echoer.join(5)
        return _failed_document(
            plan,
            replicate,
            workloads,
            "Timeout",
            f"the workload process ran past {plan.timeout_s}s and was "
            "killed; raise spec.timeoutSeconds or --timeout",
        )
    reader.join()
    echoer.join()
    took = time.monotonic() - started
    try:
        doc = extract_from_log("".join(out))
    except ResultDocumentError as exc:
        stderr_tail = "".join(tail).strip()
        return _failed_document(
            plan,
            replicate,
            workloads,
            "InvalidDocument" if code == 0 else "ProcessFailed",
            f"exit code {code} after {took:.1f}s; no valid result document ({exc}); "
            f"stderr tail:\n{stderr_tail}",
        )
    return doc


def _any_image_env(
    plan: RunPlan, name: str, replicate: int, result_file: Path | None
) -> dict[str, str]:
    """What the operator's pod would give the container (jobs.ANY_IMAGE_ENV), on top of
    this process's environment, then the suite's jobTemplate.env and the workload's env."""
    spec = plan.suite.workload(name)
    assert spec is not None and spec.container is not None
    told = {
        "BENCHGATE_WORKLOAD": name,
        "BENCHGATE_SIZE": plan.size,
        "BENCHGATE_REPETITIONS": str(plan.repetitions[name]),
        "BENCHGATE_REPLICATE_OFFSET": str(replicate),
        "JOB_COMPLETION_INDEX": "0",
        "BENCHGATE_SUITE": plan.suite.name,
        "BENCHGATE_RUN": plan.run_name,
        "BENCHGATE_PLATFORM": "local",
    }
    if result_file is not None:
        told["BENCHGATE_RESULT_FILE"] = str(result_file)
    template = [(str(e["name"]), str(e.get("value", ""))) for e in _template_env(plan)]
    return container_env(
        {**os.environ, **told},
        [(n, v) for n, v in template if n not in dict(spec.container.env)]
        + list(spec.container.env),
    )


def _template_env(plan: RunPlan) -> list[dict[str, object]]:
    template = plan.suite.raw.get("jobTemplate") or {}
    env = template.get("env") or []
    return [e for e in env if isinstance(e, dict) and "name" in e]


def run_any_image(plan: RunPlan, name: str, replicate_number: int) -> ResultDocument:
    """One replicate of an any-image workload: its command as a local process."""
    spec = plan.suite.workload(name)
    assert spec is not None and spec.container is not None
    container = spec.container
    replicate = f"pod-{replicate_number}"
    with tempfile.TemporaryDirectory(prefix=f"benchgate-{name}-") as tmp:
        result_file = Path(tmp) / f"{name}.json" if container.result_file else None
        env = _any_image_env(plan, name, replicate_number, result_file)
        argv = [expand(a, env) for a in (*container.command, *container.args)]
        try:
            proc = subprocess.run(
                argv,
                env=env,
                cwd=tmp,
                capture_output=True,
                timeout=plan.timeout_s,
                check=False,
            )
        except FileNotFoundError:
            return _failed_document(
                plan,
                replicate,
                [name],
                "StartError",
                f"spec.workloads[{name}].command: {argv[0]!r} is not on this machine "
                "(benchgate run runs the command locally; the image is not pulled)",
            )
        except subprocess.TimeoutExpired:
            return _failed_document(
                plan, replicate, [name], "Timeout", f"ran past {plan.timeout_s}s and was killed"
            )
        stderr = proc.stderr.decode(errors="replace")
        for line in stderr.splitlines()[-STDERR_TAIL_LINES:]:
            print(f"  | {line}", file=sys.stderr, flush=True)
        if proc.returncode != 0:
            return _failed_document(
                plan,
                replicate,
                [name],
                "ProcessFailed",
                f"exit code {proc.returncode}; stderr tail:\n{stderr[-4000:]}",
            )
        try:
            if result_file is not None:
                if not result_file.exists():
                    raise ResultDocumentError(
                        "BENCHGATE_RESULT_FILE", f"the workload wrote no file at {result_file}"
                    )
                doc = loads(result_file.read_bytes())
            else:
                doc = extract_from_log(proc.stdout.decode(errors="replace"))
        except ResultDocumentError as exc:
            return _failed_document(plan, replicate, [name], "InvalidDocument", str(exc))
    names = [w.name for w in doc.workloads]
    if names != [name]:
        return _failed_document(
            plan,
            replicate,
            [name],
            "InvalidDocument",
            f"workloads: must report exactly the suite's workload {name!r}, got {names}",
        )
    return doc


def local_catalog(suite: SuiteSpec) -> Catalog:
    """This installation's workloads (built-ins and plugins), from the workload package
    itself; the shipped catalog where the workload package is not installed, or where
    the suite names only built-ins it knows (listing costs a process start, and every
    built-in is in the shipped catalog)."""
    shipped = load_catalog()
    if not any(w.plugin or (w.builtin and w.name not in shipped.builtins) for w in suite.workloads):
        return shipped
    try:
        listing = subprocess.run(
            [sys.executable, "-m", WORKLOAD_MODULE, "list", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        import json

        catalog = Catalog.from_json(json.loads(listing.stdout))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        return shipped
    for problem in catalog.problems:
        _say(f"warning: plugin problem: {problem}")
    return catalog


def list_workloads() -> int:
    """`benchgate run --list`: what this installation can run."""
    proc = subprocess.run([sys.executable, "-m", WORKLOAD_MODULE, "list"], check=False)
    return EXIT_OK if proc.returncode == 0 else EXIT_NO_DOCUMENT


# ------------------------------------------------------------------ post-processing


def suite_overrides(suite: SuiteSpec) -> dict[str, MetricOverride]:
    return suite.metric_overrides()


def apply_overrides(
    doc: ResultDocument, overrides: Mapping[str, MetricOverride]
) -> tuple[ResultDocument, list[str]]:
    """The suite's per-metric settings applied to the document; also the unused keys."""
    used: set[str] = set()
    workloads: list[WorkloadResult] = []
    for w in doc.workloads:
        metrics: list[Metric] = []
        for m in w.metrics:
            key = f"{w.name}/{m.name}"
            override = overrides.get(key)
            if override is None:
                metrics.append(m)
                continue
            used.add(key)
            if override.ignore:
                continue
            if override.tolerance is not None:
                m = replace(m, tolerance=override.tolerance)
            if override.error_factor is not None:
                m = replace(m, error_factor=override.error_factor)
            metrics.append(m)
        workloads.append(replace(w, metrics=tuple(metrics)))
    ran = {w.name for w in doc.workloads if w.status == "ok"}
    unused = [k for k in overrides if k not in used and k.split("/", 1)[0] in ran]
    return replace(doc, workloads=tuple(workloads)), unused


def _check_fingerprints(docs: Sequence[ResultDocument]) -> None:
    """Replicates of one local run should share a platform; say so when they do not."""
    from benchgate.domain.envdiff import diff_fingerprints

    def who(doc: ResultDocument) -> str:
        return f"{doc.run.replicate} ({', '.join(w.name for w in doc.workloads)})"

    with_fp = [d for d in docs if d.fingerprint]
    for other in with_fp[1:]:
        changes = diff_fingerprints(with_fp[0].fingerprint, other.fingerprint)
        if changes:
            shown = "; ".join(c.summary for c in changes[:3])
            _say(
                f"warning: the process of {who(other)} saw a different environment than "
                f"that of {who(with_fp[0])}: {shown}"
            )


def merge(plan: RunPlan, docs: Sequence[ResultDocument], started: str) -> ResultDocument:
    # The first document that carries a fingerprint speaks for the run (a replicate that
    # crashed contributes only its failure).
    ordered = sorted(docs, key=lambda d: 0 if d.fingerprint else 1)
    merged = merge_documents(ordered)
    identity = RunIdentity(
        suite=plan.suite.name,
        run=plan.run_name,
        platform="local",
        replicate="",
        started_at=started,
        finished_at=_now(),
    )
    merged, unused = apply_overrides(replace(merged, run=identity), suite_overrides(plan.suite))
    for key in unused:
        _say(f"warning: the suite sets {key}, but the workload reported no such metric")
    return merged


def collect(plan: RunPlan, replicate_numbers: Sequence[int]) -> list[ResultDocument]:
    docs: list[ResultDocument] = []
    groups = plan.process_groups()
    images = [n for n in plan.workloads if n in plan.any_image]
    for i in replicate_numbers:
        replicate = f"proc-{i}"
        for name in images:
            _say(f"replicate pod-{i}: {name} (any-image: its command, locally)")
            doc = run_any_image(plan, name, i)
            if any(w.status == "failed" for w in doc.workloads):
                _say(f"replicate pod-{i}: failed: {name}")
            docs.append(doc)
        for repetitions, names in groups:
            _say(
                f"replicate {replicate} ({i - plan.first_replicate + 1} of "
                f"{plan.replicates}): {', '.join(names)} x {repetitions} repetitions"
            )
            doc = run_replicate(plan, replicate, repetitions, names)
            failed = [w.name for w in doc.workloads if w.status == "failed"]
            if failed:
                _say(f"replicate {replicate}: failed: {', '.join(failed)}")
            docs.append(doc)
    return docs


# ---------------------------------------------------------------------------- main


def _write(doc: ResultDocument, out: Path | None, baseline_given: bool) -> None:
    text = dumps(doc, indent=2)
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n")
        except OSError as exc:
            raise InputError(f"--out {out}: cannot write: {exc.strerror or exc}") from exc
        _say(f"wrote {out}")
    elif baseline_given:
        _say("the result document is not kept; pass --out FILE to keep it")
    else:
        sys.stdout.write(text + "\n")


def _load_baseline(path: Path, suite: SuiteSpec) -> ResultDocument:
    """The --baseline document, refused unless the engine could judge this run against it."""
    from benchgate.domain.verdict import EngineSettings

    baseline = read_document(path, "--baseline")
    settings = EngineSettings.from_spec(suite.statistics, suite.sampling)
    check_baseline(baseline, f"--baseline {path}", settings, suite_overrides(suite))
    return baseline


def run(args: argparse.Namespace) -> int:
    if args.list:
        return list_workloads()
    if args.suite is None:
        return refuse("run", InputError("give a RegressionSuite file (or --list)"))
    try:
        suite = read_suite(args.suite)
        # What the cluster's operator refuses with InvalidSpec is refused here too; the
        # catalog is this installation's, so installed plugins are known.
        if causes := catalog_causes(suite, local_catalog(suite)):
            raise InputError(f"suite {args.suite}: {SuiteSpecError.from_causes(causes)}")
        baseline = _load_baseline(args.baseline, suite) if args.baseline is not None else None
        plan = build_plan(args, suite, baseline)
    except SuiteSpecError as exc:  # an option that does not fit the suite (--workload ...)
        return refuse("run", InputError(str(exc)))
    except InputError as exc:
        return refuse("run", exc)
    _say(
        f"suite {suite.name}: {', '.join(plan.workloads)} at size {plan.size}; "
        f"{plan.replicates} replicate(s) ({plan.why})"
    )
    started = _now()
    first = plan.first_replicate
    numbers = list(range(first, first + plan.replicates))
    sequential = baseline is not None and suite.sampling.mode == "sequential"
    decided: Comparison | None = None
    try:
        if sequential:
            assert baseline is not None
            docs, document, decided = _run_sequential(plan, baseline, numbers, started)
        else:
            docs = collect(plan, numbers)
            document = merge(plan, docs, started)
    except ResultDocumentError as exc:
        _say(f"the replicates' documents do not merge into one: {exc}")
        return EXIT_NO_DOCUMENT
    try:
        if not any(d.fingerprint or any(w.status != "failed" for w in d.workloads) for d in docs):
            _say("no replicate produced a result document")
            _write(document, args.out, baseline is not None)
            return EXIT_NO_DOCUMENT
        _check_fingerprints(docs)
        _write(document, args.out, baseline is not None)
    except InputError as exc:
        return refuse("run", exc)
    if baseline is None:
        return EXIT_OK
    if decided is not None:
        # Judged by the group-sequential boundaries the run stopped on, not the fixed test.
        from benchgate.commands.compare import print_comparison

        return print_comparison(decided, args.format)
    return _report(args, suite, baseline, document)


def _run_sequential(
    plan: RunPlan, baseline: ResultDocument, numbers: list[int], started: str
) -> tuple[list[ResultDocument], ResultDocument, Comparison | None]:
    """Add replicates look by look until the engine's group-sequential rule stops."""
    from benchgate.domain.sampling import SamplingPlan, sequential_decision
    from benchgate.domain.verdict import EngineSettings

    settings = EngineSettings.from_spec(plan.suite.statistics, plan.suite.sampling)
    sampling_plan = SamplingPlan(
        replicates=plan.replicates,
        repetitions=max(plan.repetitions.values()),
        expected_power=0.0,
        why=plan.why,
    )
    docs: list[ResultDocument] = []
    done = 0
    step = settings.min_replicates
    while True:
        batch = numbers[done : done + step]
        docs += collect(plan, batch)
        done += len(batch)
        document = merge(plan, docs, started)
        if not any(m.kind == "continuous" for _, m in document.metrics()):
            # Checksums and error ratios are decided by the first replicates; there is
            # nothing for further looks to sharpen.
            _say(
                f"sequential look after {done} replicate(s): no continuous metric, so "
                "every metric is decided"
            )
            return docs, document, None
        decision = sequential_decision(
            baseline, document, settings, plan=sampling_plan, overrides=suite_overrides(plan.suite)
        )
        _say(f"sequential look after {done} replicate(s): {decision.reason}")
        if decision.stop or done >= len(numbers):
            return docs, document, decision.comparison
        step = max(1, min(decision.next_replicates, len(numbers) - done))


def _report(
    args: argparse.Namespace, suite: SuiteSpec, baseline: ResultDocument, candidate: ResultDocument
) -> int:
    from benchgate.commands.compare import print_comparison
    from benchgate.domain.verdict import EngineSettings, compare_documents

    settings = EngineSettings.from_spec(suite.statistics, suite.sampling)
    return print_comparison(
        compare_documents(baseline, candidate, settings, suite_overrides(suite)), args.format
    )
