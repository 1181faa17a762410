"""Helpers for the controller tests: the real operator against the sandbox.

One sandbox and one operator process serve the whole module; each test uses its own
namespace and its own node pool (a label only its suite selects), so tests do not see
each other's runs. The operator process can be restarted mid-test (`Operator.restart`).

The operator runs as the ServiceAccount the Helm chart renders, with exactly the chart's
RBAC and the flags of its Deployment (`chart_install`), so a verb the chart does not
grant fails a test; `Operator(..., identity=None)` runs it as the sandbox's admin.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchgate_sandbox.testing import Sandbox
from chart_install import Installed

ROOT = Path(__file__).resolve().parents[2]
GROUP_VERSION = "benchgate.dev/v1alpha1"
OPERATOR_NAMESPACE = "benchgate"
# Namespaces whose suites the tests let gate nodes (the chart's gating.namespaces).
GATING_NAMESPACES = [OPERATOR_NAMESPACE, "gate", "own", "forbid", "ops"]
# Namespaces the tests let run privileged verification pods (policy.privilegedNamespaces).
PRIVILEGED_NAMESPACES = ["diag"]
# The chart values every controller test module installs (conftest.py): every suite of
# these tests runs under an image allow-list, as a security-minded cluster would have.
CHART_VALUES: dict[str, Any] = {
    "gating": {"enabled": True, "namespaces": GATING_NAMESPACES},
    "policy": {
        "privilegedNamespaces": PRIVILEGED_NAMESPACES,
        # busybox: the any-image workloads' own image (tests/controllers/test_own_models.py).
        "allowedImages": ["ghcr.io/benchgate/*", "docker.io/library/busybox"],
    },
}


def suite_body(namespace: str, name: str, pool: str, **spec: Any) -> dict[str, Any]:
    """A tiny numerics_probe suite on the nodes labelled with `pool`; `spec` overrides."""
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "RegressionSuite",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "size": "tiny",
            "image": "ghcr.io/benchgate/workload:0.1.0",
            "workloads": [{"name": "numerics_probe"}],
            # 3 replicates: the fewest the CRD accepts (the engine judges with 3 a side).
            "sampling": {"replicates": 3, "repetitions": 2},
            "nodeSelector": {"benchgate-test/pool": pool},
            "platform": {"settleSeconds": 0},
            "timeoutSeconds": 120,
            **spec,
        },
    }


class Operator:
    """`benchgate operator` as a subprocess with fast reconcile intervals: as the chart's
    ServiceAccount with the chart's flags (`identity`), or as the sandbox's admin with
    `-A` when `identity` is None."""

    def __init__(self, sandbox: Sandbox, log_path: Path, identity: Installed | None = None) -> None:
        self.sandbox = sandbox
        self.log_path = log_path
        self.identity = identity
        self.process: subprocess.Popen[bytes] | None = None
        self.kubeconfig = (
            sandbox.kubeconfig_path
            if identity is None
            else sandbox.service_account_kubeconfig(identity.namespace, identity.service_account)
        )

    def arguments(self) -> list[str]:
        """The rendered Deployment's arguments, ports and probe taken off."""
        if self.identity is None:
            return ["operator", "-A"]
        return [
            a
            for a in self.identity.operator_args
            if not a.startswith(("--metrics-port", "--liveness"))
        ]

    def start(self) -> None:
        env = dict(os.environ)
        if self.identity is not None:
            env["POD_NAMESPACE"] = self.identity.namespace  # the Deployment's fieldRef
        env.update(
            KUBECONFIG=str(self.kubeconfig),
            BENCHGATE_SUITE_INTERVAL_SECONDS="1",
            BENCHGATE_RUN_INTERVAL_SECONDS="1",
            BENCHGATE_DEADLINE_GRACE_SECONDS="30",
            BENCHGATE_BASELINE_INTERVAL_SECONDS="1",
            BENCHGATE_SAMPLES_GRACE_SECONDS="3",
            BENCHGATE_PERMANENT_RETRY_SECONDS="5",
        )
        argv = [
            sys.executable,
            "-m",
            "benchgate.cli",
            *self.arguments(),
            "--metrics-port",
            "0",
            "--liveness",
            "",
        ]
        log = self.log_path.open("ab")
        log.write(f"# harness: {' '.join(argv[1:])}\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )

    def stop(self, *, hard: bool = False) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop(hard=True)  # a crash, not a graceful hand-over
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines_about(self, *words: str) -> list[str]:
        """The log lines (so far) that mention every one of `words`."""
        return [line for line in self.log().splitlines() if all(w in line for w in words)]


class Cluster:
    """Test-side helpers over the sandbox."""

    def __init__(self, sandbox: Sandbox, operator: Operator) -> None:
        self.sb = sandbox
        self.operator = operator

    def suite(self, namespace: str, name: str, pool: str, **spec: Any) -> dict[str, Any]:
        return self.sb.create(suite_body(namespace, name, pool, **{"concurrency": 2, **spec}))

    def runs(self, namespace: str) -> list[dict[str, Any]]:
        return self.sb.list(GROUP_VERSION, "VerificationRun", namespace)

    def finished_runs(self, namespace: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self.runs(namespace)
            if any(
                c.get("type") == "Complete" and c.get("status") == "True"
                for c in (r.get("status") or {}).get("conditions") or []
            )
        ]

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        try:
            return self.sb.wait_for(predicate, timeout=timeout, what=what)
        except TimeoutError as exc:
            tail = "\n".join(self.operator.log().splitlines()[-40:])
            raise AssertionError(f"{exc}\n--- operator log tail ---\n{tail}") from None

    def wait_event(self, namespace: str, name: str, reason: str, timeout: float = 20) -> None:
        """Events are posted asynchronously after the status write: wait for one."""
        self.wait(
            lambda: reason in {e["reason"] for e in self.events(namespace, name)},
            timeout=timeout,
            what=f"a {reason} Event on {namespace}/{name}",
        )

    def events(self, namespace: str, name: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.sb.list("v1", "Event", namespace)
            if (e.get("involvedObject") or {}).get("name") == name
        ]


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


def started(timeout: float = 0.0) -> float:
    return time.monotonic() + timeout
