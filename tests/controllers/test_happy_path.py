"""A node pool appears -> one run per platform -> Jobs on the right nodes -> verdict."""

from __future__ import annotations

import subprocess

import pytest
from controller_harness import GROUP_VERSION, ROOT, Cluster, condition

from benchgate_sandbox.nodes import h100_pool_node

NS = "happy"


def test_pool_to_verdict_then_driver_change(cluster: Cluster) -> None:
    sb = cluster.sb
    sb.create_namespace(NS)
    pool = {"benchgate-test/pool": "happy"}
    # Two CPU nodes of one platform and one "H100" node: two platforms, two runs.
    sb.add_node("cpu-a", labels=pool)
    sb.add_node("cpu-b", labels=pool)
    sb.add_node(node=h100_pool_node("gpu-1"), labels=pool)
    cluster.suite(NS, "pool", "happy")

    runs = cluster.wait(
        lambda: len(cluster.finished_runs(NS)) >= 2 and cluster.finished_runs(NS),
        timeout=150,
        what="one finished VerificationRun per platform",
    )
    names = [r["metadata"]["name"] for r in cluster.runs(NS)]
    assert len(names) == 2, f"two platforms must make exactly two runs, got {names}"
    by_class = {r["spec"]["platform"]["class"]: r for r in runs}
    gpu_run = next(r for c, r in by_class.items() if c.startswith("h100"))
    cpu_run = next(r for c, r in by_class.items() if c.startswith("cpu"))
    assert gpu_run["spec"]["nodes"] == ["gpu-1"]
    assert cpu_run["spec"]["nodes"] == ["cpu-a"], "nodesPerPlatform=1 picks the first node"
    assert gpu_run["spec"]["trigger"]["reason"] == "NewPlatform"

    # Jobs ran on the right nodes, one pod per replicate.
    for run in runs:
        pods = [
            p
            for p in sb.list("v1", "Pod", NS)
            if p["metadata"].get("labels", {}).get("benchgate.dev/run") == run["metadata"]["name"]
        ]
        assert len(pods) == 3, f"{run['metadata']['name']}: expected 3 replicate pods"
        assert {p["spec"]["nodeName"] for p in pods} == set(run["spec"]["nodes"])

    # First run per hardware class: no baseline, promoted honestly.
    for run in runs:
        verified = condition(run, "Verified")
        assert (verified["status"], verified["reason"]) == ("Unknown", "BaselinePromoted"), verified
        assert run["status"]["verdict"] == "NoBaseline"
        cm = sb.get("v1", "ConfigMap", run["status"]["resultsConfigMap"], NS)
        assert "kubernetes" in cm["data"]["result.json"], "operator adds the kubernetes group"
    baselines = sb.list(GROUP_VERSION, "RegressionBaseline", NS)
    assert len(baselines) == 2
    cluster.wait(
        lambda: all(
            condition(b, "Ready").get("status") == "True"
            for b in sb.list(GROUP_VERSION, "RegressionBaseline", NS)
        ),
        timeout=30,
        what="baselines Ready",
    )
    for reason in ("VerificationStarted", "BaselinePromoted"):
        cluster.wait_event(NS, gpu_run["metadata"]["name"], reason)
        cluster.wait_event(NS, "pool", reason)

    # A driver upgrade on the GPU node: a new run, compared with the 550 baseline.
    node = sb.get("v1", "Node", "gpu-1")
    node["metadata"]["labels"]["nvidia.com/cuda.driver-version.full"] = "560.35.03"
    sb.apply(node)
    new = cluster.wait(
        lambda: [
            r
            for r in cluster.finished_runs(NS)
            if r["spec"]["trigger"]["reason"] == "FingerprintChanged"
        ],
        timeout=120,
        what="a FingerprintChanged run finished",
    )[0]
    assert "550.54.15 -> 560.35.03" in new["spec"]["trigger"]["message"]
    assert new["status"]["baseline"]["name"] == f"{gpu_run['metadata']['name']}-baseline"
    assert new["status"]["verdict"] in ("Passed", "Improved", "Regressed", "Inconclusive"), new[
        "status"
    ]
    assert new["status"]["metrics"], "a compared run has per-metric rows"
    assert any(
        d["field"] == "kubernetes.label:nvidia.com/cuda.driver-version.full"
        for d in new["status"]["envDiff"]
    ), new["status"]["envDiff"]

    suite = cluster.wait(
        lambda: (
            (s := sb.get(GROUP_VERSION, "RegressionSuite", "pool", NS))
            .get("status", {})
            .get("latestRun")
            == new["metadata"]["name"]
            and s
        ),
        timeout=30,
        what="suite status shows the latest run",
    )
    # The GPU node's old platform keeps its row as history (no nodes, its baseline run),
    # beside the node's new platform and the CPU platform.
    rows = {r["key"]: r for r in suite["status"]["platforms"]}
    assert len(rows) == 3, rows
    old = rows[gpu_run["spec"]["platform"]["key"]]
    assert (old["nodes"], old["lastRun"]) == ([], gpu_run["metadata"]["name"]), old
    assert rows[new["spec"]["platform"]["key"]]["nodes"] == ["gpu-1"]
    assert condition(suite, "Ready")["observedGeneration"] == suite["metadata"]["generation"]

    # kubectl shows the printer columns.
    out = subprocess.run(
        [
            str(ROOT / ".venv/bin/kubectl"),
            "--kubeconfig",
            str(sb.kubeconfig_path),
            "get",
            "verificationruns",
            "-n",
            NS,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[0]
    for column in ("SUITE", "PLATFORM", "NODE", "VERDICT", "WORST METRIC", "CHANGE", "AGE"):
        assert column in header, header
    out = subprocess.run(
        [
            str(ROOT / ".venv/bin/kubectl"),
            "--kubeconfig",
            str(sb.kubeconfig_path),
            "get",
            "rsuite",
            "-n",
            NS,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "LATEST VERDICT" in out.stdout.splitlines()[0], out.stdout


def test_the_api_enforces_the_crd_rules_and_defaults(cluster: Cluster) -> None:
    """The CEL rules run in the API (the sandbox evaluates them like kube-apiserver)."""
    sb = cluster.sb
    assert not sb.unenforced_cel_rules, sb.unenforced_cel_rules
    sb.create_namespace("rules")
    body = {
        "apiVersion": GROUP_VERSION,
        "kind": "RegressionSuite",
        "metadata": {"name": "explicit", "namespace": "rules"},
        "spec": {
            "image": "img:1",
            "workloads": [{"name": "numerics_probe"}],
            "baseline": {"policy": "Explicit"},
        },
    }
    with pytest.raises(Exception, match=r"spec\.baseline\.name is required"):
        sb.create(body)
    body["spec"]["baseline"]["name"] = "pinned"
    created = sb.create(body)
    assert created["spec"]["sampling"]["replicates"] == 0, "defaults are applied"
    assert created["spec"]["jobTemplate"]["securityContext"]["readOnlyRootFilesystem"] is True
    baseline = {
        "apiVersion": GROUP_VERSION,
        "kind": "RegressionBaseline",
        "metadata": {"name": "b", "namespace": "rules"},
        "spec": {
            "suite": "explicit",
            "platform": {"key": "a" * 64, "class": "c"},
            "samplesConfigMap": "b-samples",
        },
    }
    sb.create(baseline)
    baseline["spec"]["suite"] = "other"
    with pytest.raises(Exception, match="immutable"):
        sb.apply(baseline)


def test_two_pools_of_one_class_appearing_together_are_compared(cluster: Cluster) -> None:
    """Driver 550 and 560 pools of the same GPU appear at once. The earlier first run of
    the class becomes its baseline; the other waits for it and is compared with it, so a
    regressed driver cannot slip in as a second baseline."""
    ns = "twins"
    sb = cluster.sb
    sb.create_namespace(ns)
    pool = {"benchgate-test/pool": ns}
    sb.add_node(node=h100_pool_node("twin-550", "550.54.15"), labels=pool)
    sb.add_node(node=h100_pool_node("twin-560", "560.35.03"), labels=pool)
    cluster.suite(ns, "twins", ns)

    runs = cluster.wait(
        lambda: len(cluster.finished_runs(ns)) >= 2 and cluster.finished_runs(ns),
        timeout=150,
        what="both runs finished",
    )
    assert len(cluster.runs(ns)) == 2
    baselines = sb.list(GROUP_VERSION, "RegressionBaseline", ns)
    assert len(baselines) == 1, [b["metadata"]["name"] for b in baselines]
    source = baselines[0]["spec"]["sourceRun"]
    first = next(r for r in runs if r["metadata"]["name"] == source)
    other = next(r for r in runs if r["metadata"]["name"] != source)
    assert condition(first, "Verified")["reason"] == "BaselinePromoted"
    assert other["status"]["baseline"]["name"] == baselines[0]["metadata"]["name"], other["status"]
    assert "promoted while this run ran" in other["status"]["baseline"]["why"]
    assert other["status"]["verdict"] in ("Passed", "Improved", "Regressed", "Inconclusive"), other[
        "status"
    ]
    assert any(
        d["field"] == "kubernetes.label:nvidia.com/cuda.driver-version.full"
        for d in other["status"]["envDiff"]
    ), other["status"]["envDiff"]
