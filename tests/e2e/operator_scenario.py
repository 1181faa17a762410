"""The operator verifying platforms in the sandbox, for the end-to-end alerting test.

Scenario (one RegressionSuite, four platform classes of the same hardware, so all are
compared with one baseline):

1. node A (driver 550) appears: its first run becomes the baseline (autoPromoteFirst);
2. node C (driver 555) appears: verified against A without any fault -> Passed;
3. the suite's jobTemplate.env gets BENCHGATE_INJECT_SLOWDOWN=9.0 (triggers.specChange is
   off, so A and C are not re-verified) and node B (driver 560) appears: its timed regions
   take 10x as long -> Regressed, which must page;
4. the env becomes BENCHGATE_INJECT_FAIL=gemm_throughput instead and node D (driver 565)
   appears: the workload fails -> Failed, which must page too.

The operator runs exactly as the chart's Deployment runs it (`benchgate operator
--metrics-port ... --liveness ... --all-namespaces`) against the sandbox's kubeconfig;
Job pods run as local processes on this machine. The test sets the scene through the
sandbox's in-process API (not HTTP), so the sandbox's request audit holds exactly the
operator's API calls, which the test compares with the chart's RBAC.

Needs benchgate_sandbox.testing.Sandbox and the operator (benchgate.commands.operator,
benchgate.controllers); the test is skipped with the missing piece named until both exist.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from harness import HarnessError, free_port, http_json, wait_for

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "ml"
SUITE = "gpu-pool"
METRIC = "gemm_throughput/gflops_fp32"
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SLOWDOWN = "9.0"  # BENCHGATE_INJECT_SLOWDOWN: timed regions take 10x as long
TRANSIENT = {"", "Pending", "Running"}
RUN_TIMEOUT = 360.0  # one verification run (5 pods, one at a time) on a busy 2-core machine


def _require_operator() -> Any:
    """benchgate_sandbox.testing, or a skip naming what is missing."""
    missing = []
    for module in ("benchgate_sandbox.testing", "benchgate.commands.operator"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            missing.append(f"{module} ({exc})")
    controllers = ROOT / "operator/benchgate/controllers"
    if not [p for p in controllers.glob("*.py") if p.name != "__init__.py"]:
        missing.append("benchgate.controllers handlers")
    if missing:
        pytest.skip("the operator-in-sandbox alerting test needs: " + "; ".join(missing))
    return importlib.import_module("benchgate_sandbox.testing")


def suite_manifest(env: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "benchgate.dev/v1alpha1",
        "kind": "RegressionSuite",
        "metadata": {"name": SUITE, "namespace": NAMESPACE},
        "spec": {
            "size": "tiny",
            "image": "ghcr.io/benchgate/workload:0.1.0",
            # This test is about the alert path, not about statistical sensitivity, and a
            # shared 2-core machine is very noisy (with three pods at once an unchanged
            # platform measured -27 % [-56 %, +22 %] on fp32 and -37 % on bf16): so one
            # metric at the largest tolerance a suite may declare, 100 % (ratio metrics
            # are compared on a log scale: a band of 0.5x..2x), pods one at a time so they
            # do not compete for the cores, and a slowdown making timed regions 10x slower
            # (0.1x, far outside the band).
            "workloads": [
                {
                    "name": "gemm_throughput",
                    "repetitions": 5,
                    "metrics": [
                        {"name": "gflops_fp32", "tolerancePercent": 100},
                        {"name": "gflops_bf16", "ignore": True},
                        {"name": "gflops_fp16", "ignore": True},
                    ],
                }
            ],
            "sampling": {"replicates": 5, "repetitions": 5, "mode": "fixed", "maxSamples": 30},
            "statistics": {"confidence": "0.95", "tolerancePercent": 100, "errorFactor": 2},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "platform": {"settleSeconds": 0},
            "triggers": {
                "newPlatform": True,
                "fingerprintChange": True,
                "imageChange": False,
                "specChange": False,
                "periodSeconds": 0,
            },
            # The faults are injected through the suite's env, which a concurrent control
            # on node A (measured with the same suite) would carry too, rightly finding no
            # platform difference: the scenario judges against the stored baseline.
            "baseline": {
                "policy": "ClosestFingerprint",
                "autoPromoteFirst": True,
                "control": "Never",
            },
            # One thread per replicate pod: the pods of a run share this machine's cores.
            "jobTemplate": {
                "env": [
                    {"name": k, "value": v} for k, v in {**SINGLE_THREADED, **(env or {})}.items()
                ]
            },
            "nodesPerPlatform": 1,
            "concurrency": 1,
            "timeoutSeconds": 600,
            "historyLimit": 10,
        },
    }


@dataclass(frozen=True)
class PlatformSeen:
    """A platform as its metrics label it: short key and class."""

    platform: str
    platform_class: str


NONE = PlatformSeen("", "")


@dataclass
class Scenario:
    sandbox: Any
    suite: str
    metrics_target: str
    operator_log: Path
    expected_metric: str = METRIC
    verdict_timeout: float = RUN_TIMEOUT
    regressed: PlatformSeen = NONE
    passing: PlatformSeen = NONE
    failed: PlatformSeen = NONE

    def describe(self) -> str:
        lines = []
        for kind in ("RegressionSuite", "VerificationRun"):
            try:
                for obj in self.sandbox.list("benchgate.dev/v1alpha1", kind, NAMESPACE):
                    lines.append(f"{kind} {obj['metadata']['name']}: {obj.get('status')}")
            except Exception as exc:
                lines.append(f"{kind}: {exc}")
        log = self.operator_log.read_text(errors="replace")[-4000:]
        return "--- cluster ---\n" + "\n".join(lines) + f"\n--- operator log ---\n{log}"

    def platform_verdicts(self) -> dict[PlatformSeen, str]:
        suite = self.sandbox.get("benchgate.dev/v1alpha1", "RegressionSuite", SUITE, NAMESPACE)
        return {
            PlatformSeen(str(row["key"])[:8], str(row.get("class") or "")): str(
                row.get("verdict") or ""
            )
            for row in (suite.get("status") or {}).get("platforms") or []
        }

    def wait_for_new_platform(self, known: set[PlatformSeen]) -> tuple[PlatformSeen, str]:
        """Wait for a platform not in `known` to finish verifying; return it and its verdict.

        Rows pass through transient states (Pending, Running) before a final one (a
        verdict, or the first run's baseline promotion).
        """

        def new_verdict() -> tuple[PlatformSeen, str] | None:
            for platform, verdict in self.platform_verdicts().items():
                if platform not in known and verdict not in TRANSIENT:
                    return platform, verdict
            return None

        try:
            return wait_for(
                "a verdict for the new platform",
                new_verdict,
                timeout=self.verdict_timeout,
                interval=1.0,
            )
        except HarnessError as exc:
            raise HarnessError(f"{exc}\n{self.describe()}") from None


@contextmanager
def run_regression_scenario(workdir: Path) -> Iterator[Scenario]:
    testing = _require_operator()
    from benchgate_sandbox.nodes import h100_pool_node

    workdir.mkdir(parents=True, exist_ok=True)
    with testing.Sandbox(workdir=workdir / "sandbox") as sandbox:
        sandbox.install_crds(sorted((ROOT / "crds").glob("*.yaml")))
        sandbox.create_namespace(NAMESPACE)
        metrics_port, liveness_port = free_port(), free_port()
        scenario = Scenario(sandbox, SUITE, f"127.0.0.1:{metrics_port}", workdir / "operator.log")
        with scenario.operator_log.open("wb") as log:
            operator = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "benchgate"),
                    "operator",
                    f"--metrics-port={metrics_port}",
                    f"--liveness=http://127.0.0.1:{liveness_port}/healthz",
                    "--all-namespaces",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env={**os.environ, "KUBECONFIG": str(sandbox.kubeconfig_path)},
            )
        try:
            try:
                wait_for(
                    "the operator's liveness endpoint",
                    lambda: http_json(f"http://127.0.0.1:{liveness_port}/healthz") is not None,
                    timeout=60,
                )
            except HarnessError as exc:
                raise HarnessError(f"{exc}\n{scenario.describe()}") from None
            sandbox.apply(suite_manifest())
            sandbox.add_node(node=h100_pool_node("pool-a-1", driver="550.54.15"), taints=[])
            baseline_platform, _ = scenario.wait_for_new_platform(set())
            sandbox.add_node(node=h100_pool_node("pool-c-1", driver="555.42.06"), taints=[])
            scenario.passing, verdict = scenario.wait_for_new_platform({baseline_platform})
            if verdict != "Passed":
                raise HarnessError(
                    f"the unchanged platform got {verdict}, not Passed "
                    f"(machine too noisy?)\n{scenario.describe()}"
                )
            sandbox.apply(suite_manifest({"BENCHGATE_INJECT_SLOWDOWN": SLOWDOWN}))
            sandbox.add_node(node=h100_pool_node("pool-b-1", driver="560.35.03"), taints=[])
            scenario.regressed, _ = scenario.wait_for_new_platform(
                {baseline_platform, scenario.passing}
            )
            sandbox.apply(suite_manifest({"BENCHGATE_INJECT_FAIL": "gemm_throughput"}))
            sandbox.add_node(node=h100_pool_node("pool-d-1", driver="565.57.01"), taints=[])
            scenario.failed, verdict = scenario.wait_for_new_platform(
                {baseline_platform, scenario.passing, scenario.regressed}
            )
            if verdict != "Failed":
                raise HarnessError(
                    f"the platform whose workload fails got {verdict}, not Failed\n"
                    f"{scenario.describe()}"
                )
            yield scenario
        finally:
            operator.terminate()
            try:
                operator.wait(timeout=20)
            except subprocess.TimeoutExpired:
                operator.kill()
                operator.wait(timeout=10)


def audited_permissions(sandbox: Any) -> set[tuple[str, str, str]]:
    """The sandbox's request audit as RBAC (apiGroup, resource[/subresource], verb)."""
    found = set()
    for request in sandbox.requests:
        if not request.resource:
            continue  # discovery (/api, /apis) needs no RBAC rule
        resource, _, group = request.resource.partition(".")
        if request.subresource:
            resource = f"{resource}/{request.subresource}"
        found.add((group, resource, request.verb))
    return found
