"""An injected precision loss is caught and named; a restarted operator resumes cleanly."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from controller_harness import GROUP_VERSION, ROOT, Cluster, condition

from benchgate.k8s.calls import API_CALLS, GATING_CALLS


def set_env(
    cluster: Cluster, namespace: str, suite: str, env: list[dict[str, str]], **baseline: Any
) -> None:
    obj = cluster.sb.get(GROUP_VERSION, "RegressionSuite", suite, namespace)
    obj["spec"].setdefault("jobTemplate", {})["env"] = env
    if baseline:
        obj["spec"].setdefault("baseline", {}).update(baseline)
    cluster.sb.apply(obj)


def by_trigger(cluster: Cluster, namespace: str, reason: str) -> list[dict[str, Any]]:
    return [r for r in cluster.finished_runs(namespace) if r["spec"]["trigger"]["reason"] == reason]


def test_injected_tf32_precision_is_a_regression_naming_the_metric(cluster: Cluster) -> None:
    ns = "regress"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node("reg-a", labels={"benchgate-test/pool": ns})
    cluster.suite(ns, "numerics", ns, historyLimit=2)
    first = cluster.wait(
        lambda: by_trigger(cluster, ns, "NewPlatform"),
        timeout=90,
        what="the first run (becomes the baseline)",
    )[0]
    assert condition(first, "Verified")["reason"] == "BaselinePromoted"

    # The workload is told to round fp32 matmul inputs like TF32 does: a spec change
    # (jobTemplate.env is part of what is measured) makes a new run on the same platform.
    set_env(cluster, ns, "numerics", [{"name": "BENCHGATE_INJECT_PRECISION", "value": "tf32"}])
    run = cluster.wait(
        lambda: by_trigger(cluster, ns, "SpecChanged"),
        timeout=90,
        what="the SpecChanged run finished",
    )[0]
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("False", "RegressionDetected"), verified
    assert run["status"]["verdict"] == "Regressed"
    worst = run["status"]["worstMetric"]
    assert worst.startswith("numerics_probe/"), worst
    assert worst in verified["message"], "the condition message names the metric"
    regressed = {m["key"] for m in run["status"]["metrics"] if m["verdict"] == "Regressed"}
    assert "numerics_probe/matmul_fp32_rel_rmse" in regressed, sorted(regressed)
    assert "numerics_probe/tf32_effective" in regressed, sorted(regressed)
    cluster.wait_event(ns, run["metadata"]["name"], "RegressionDetected")
    cluster.wait_event(ns, "numerics", "RegressionDetected")
    suite = cluster.wait(
        lambda: (
            (s := cluster.sb.get(GROUP_VERSION, "RegressionSuite", "numerics", ns))["status"].get(
                "platformsFailed"
            )
            == 1
            and s
        ),
        timeout=20,
        what="suite Degraded",
    )
    assert condition(suite, "Degraded")["status"] == "True"
    assert suite["status"]["latestVerdict"] == "Regressed"

    # A human refuses to promote the regressed run; the injection is removed, the next
    # run passes and `benchgate promote` makes it the new baseline.
    kubeconfig = str(cluster.sb.kubeconfig_path)
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchgate.cli",
            "promote",
            run["metadata"]["name"],
            "-n",
            ns,
            "--kubeconfig",
            kubeconfig,
            "--wait",
            "30",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert refused.returncode == 3 and "Regressed" in refused.stderr, refused
    set_env(cluster, ns, "numerics", [])
    fixed = cluster.wait(
        lambda: [
            r
            for r in by_trigger(cluster, ns, "SpecChanged")
            if r["metadata"]["name"] != run["metadata"]["name"]
        ],
        timeout=90,
        what="the run after the fix",
    )[0]
    assert fixed["status"]["verdict"] == "Passed", fixed["status"]
    assert condition(fixed, "Verified")["reason"] == "PlatformVerified"
    promoted = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchgate.cli",
            "promote",
            fixed["metadata"]["name"],
            "-n",
            ns,
            "--kubeconfig",
            kubeconfig,
            "--wait",
            "30",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert promoted.returncode == 0, promoted
    new_baseline = f"{fixed['metadata']['name']}-baseline"
    assert new_baseline in promoted.stdout
    obj = cluster.sb.get(GROUP_VERSION, "RegressionBaseline", new_baseline, ns)
    assert obj["spec"]["sourceRun"] == fixed["metadata"]["name"]
    assert obj["spec"]["promotedBy"] == "Annotation"
    # historyLimit=2: the oldest of the three finished runs is garbage-collected, its
    # baseline (with its own copy of the samples) stays.
    cluster.wait(
        lambda: first["metadata"]["name"] not in {r["metadata"]["name"] for r in cluster.runs(ns)},
        timeout=20,
        what="the oldest run deleted by historyLimit",
    )
    assert cluster.sb.get(
        GROUP_VERSION, "RegressionBaseline", f"{first['metadata']['name']}-baseline", ns
    )


def test_operator_killed_mid_run_resumes_without_duplicates(cluster: Cluster) -> None:
    ns = "restart"
    sb = cluster.sb
    sb.create_namespace(ns)
    sb.add_node("rst-a", labels={"benchgate-test/pool": ns})
    # One pod at a time: the run lasts long enough to kill the operator in the middle.
    cluster.suite(ns, "restart", ns, concurrency=1, sampling={"replicates": 3, "repetitions": 2})

    def pods() -> list[dict[str, Any]]:
        return sb.list("v1", "Pod", ns)

    cluster.wait(lambda: pods(), timeout=60, what="the first replicate pod")
    (only,) = cluster.runs(ns)
    cluster.wait_event(ns, only["metadata"]["name"], "VerificationStarted")
    cluster.operator.restart()
    run = cluster.wait(
        lambda: cluster.finished_runs(ns), timeout=120, what="the run finished after the restart"
    )[0]
    name = run["metadata"]["name"]
    assert len(cluster.runs(ns)) == 1, "the restarted operator must not create a second run"
    jobs = sb.list("batch/v1", "Job", ns)
    assert [j["metadata"]["name"] for j in jobs] == [f"{name}-0"], "no duplicate Jobs"
    assert len(pods()) == 3, "exactly one pod per replicate"
    assert condition(run, "Verified")["reason"] == "BaselinePromoted"
    started = [e for e in cluster.events(ns, name) if e["reason"] == "VerificationStarted"]
    assert len(started) == 1, "VerificationStarted is posted once, not again after restart"
    # The stored document holds each replicate (named by its completion index) once.
    document = sb.get("v1", "ConfigMap", f"{name}-results", ns)["data"]["result.json"]
    for replicate in ("pod-0", "pod-1", "pod-2"):
        assert f'"replicate": "{replicate}"' in document, replicate
    assert '"replicate": "pod-3"' not in document


def test_every_api_call_the_operator_made_is_declared(cluster: Cluster) -> None:
    """The chart's RBAC is generated from API_CALLS; the operator must not need more."""
    declared = set(API_CALLS | GATING_CALLS)
    made = set()
    for request in cluster.sb.requests:
        resource, _, group = request.resource.partition(".")
        made.add((request.verb, group, resource, request.subresource or ""))
    undeclared = sorted(made - declared)
    assert not undeclared, f"API calls missing from benchgate.k8s.calls.API_CALLS: {undeclared}"


def test_injected_slowdown_is_a_throughput_regression(cluster: Cluster) -> None:
    ns = "slow"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node("slow-a", labels={"benchgate-test/pool": ns})
    # A 50 % slowdown against the workload's 10 % tolerance: large enough to be decided
    # with three replicates per side. Pods run one at a time with one BLAS thread: two
    # pods with two OpenMP threads each on this 2-core machine collapse GEMM throughput
    # by orders of magnitude and make any timing comparison meaningless.
    single_thread = [{"name": "OMP_NUM_THREADS", "value": "1"}]
    cluster.suite(
        ns,
        "slow",
        ns,
        workloads=[{"name": "gemm_throughput", "repetitions": 5}],
        sampling={"replicates": 3, "repetitions": 5},
        concurrency=1,
        jobTemplate={"env": single_thread},
    )
    cluster.wait(
        lambda: by_trigger(cluster, ns, "NewPlatform"), timeout=120, what="the baseline run"
    )
    set_env(
        cluster, ns, "slow", [*single_thread, {"name": "BENCHGATE_INJECT_SLOWDOWN", "value": "0.5"}]
    )
    run = cluster.wait(
        lambda: by_trigger(cluster, ns, "SpecChanged"), timeout=120, what="the slowed-down run"
    )[0]
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("False", "RegressionDetected"), run[
        "status"
    ]
    assert run["status"]["worstMetric"].startswith("gemm_throughput/gflops"), run["status"]
    assert run["status"]["worstChange"].startswith("-"), run["status"]["worstChange"]


def test_a_new_verification_image_reverifies_the_platform(cluster: Cluster) -> None:
    """Changing spec.image makes one ImageChanged run per platform, compared with the
    baseline made under the old image, and the diff names the image digest."""
    ns = "image"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node("image-node", labels={"benchgate-test/pool": ns})
    cluster.suite(ns, "image", ns)
    first = cluster.wait(
        lambda: by_trigger(cluster, ns, "NewPlatform"), timeout=90, what="the first run finished"
    )[0]
    assert condition(first, "Verified")["reason"] == "BaselinePromoted"

    suite = cluster.sb.get(GROUP_VERSION, "RegressionSuite", "image", ns)
    suite["spec"]["image"] = "ghcr.io/benchgate/workload:0.2.0"
    cluster.sb.apply(suite)
    new = cluster.wait(
        lambda: by_trigger(cluster, ns, "ImageChanged"),
        timeout=90,
        what="an ImageChanged run finished",
    )[0]
    assert (
        new["spec"]["trigger"]["message"]
        == "image ghcr.io/benchgate/workload:0.1.0 -> ghcr.io/benchgate/workload:0.2.0"
    )
    assert new["spec"]["image"] == "ghcr.io/benchgate/workload:0.2.0"
    assert new["status"]["baseline"]["name"] == f"{first['metadata']['name']}-baseline"
    assert new["status"]["verdict"] == "Passed", new["status"]
    assert any(d["field"] == "kubernetes.image_id" for d in new["status"]["envDiff"]), new[
        "status"
    ]["envDiff"]
    assert len(cluster.runs(ns)) == 2, "one platform, one image change: one new run"
