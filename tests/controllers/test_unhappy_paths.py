"""Unhappy paths end with the right reason, never a wrong verdict."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from controller_harness import GROUP_VERSION, ROOT, Cluster, condition

# namespace -> suite spec overrides. All suites start at once so their runs overlap.
SCENARIOS: dict[str, dict[str, Any]] = {
    "crash": {"jobTemplate": {"env": [{"name": "BENCHGATE_INJECT_PRECISION", "value": "bogus"}]}},
    "wlfail": {
        "jobTemplate": {"env": [{"name": "BENCHGATE_INJECT_FAIL", "value": "numerics_probe"}]}
    },
    "garbage": {"jobTemplate": {"env": [{"name": "BENCHGATE_INJECT_GARBAGE", "value": "1"}]}},
    "hang": {"timeoutSeconds": 30},
    "oversized": {
        "jobTemplate": {"env": [{"name": "BENCHGATE_INJECT_GARBAGE", "value": "oversized"}]}
    },
    "deep": {"jobTemplate": {"env": [{"name": "BENCHGATE_INJECT_GARBAGE", "value": "deep"}]}},
    "hugenum": {
        "jobTemplate": {"env": [{"name": "BENCHGATE_INJECT_GARBAGE", "value": "hugenumber"}]}
    },
}


@pytest.fixture(scope="module")
def scenarios(cluster: Cluster) -> Iterator[Cluster]:
    for ns, spec in SCENARIOS.items():
        cluster.sb.create_namespace(ns)
        # The "hang" node has no kubelet: its pod is bound but never starts.
        cluster.sb.add_node(f"{ns}-node", labels={"benchgate-test/pool": ns}, kubelet=ns != "hang")
        cluster.suite(ns, ns, ns, **spec)
    yield cluster


def finished(cluster: Cluster, ns: str, timeout: float = 90) -> dict[str, Any]:
    run: dict[str, Any] = cluster.wait(
        lambda: cluster.finished_runs(ns), timeout=timeout, what=f"the {ns} run finished"
    )[0]
    return run


def test_failing_job_is_workload_failed(scenarios: Cluster) -> None:
    run = finished(scenarios, "crash")
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("False", "WorkloadFailed"), verified
    assert run["status"]["verdict"] == "Failed"
    scenarios.wait_event("crash", run["metadata"]["name"], "WorkloadFailed")
    assert not scenarios.sb.list(GROUP_VERSION, "RegressionBaseline", "crash"), (
        "a failed run never becomes a baseline"
    )


def test_workload_reporting_a_failure_is_workload_failed(scenarios: Cluster) -> None:
    run = finished(scenarios, "wlfail")
    verified = condition(run, "Verified")
    assert verified["reason"] == "WorkloadFailed", verified
    assert "numerics_probe" in verified["message"]


def test_garbage_instead_of_a_document_is_rejected(scenarios: Cluster) -> None:
    run = finished(scenarios, "garbage")
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("Unknown", "ResultRejected"), verified
    message = verified["message"]
    assert message.startswith("pod garbage-"), "the message names the pod"
    assert "not valid JSON" in message or "no result document" in message, message
    assert run["status"]["verdict"] == "Invalid"


def test_oversized_log_is_rejected_not_read_whole(scenarios: Cluster) -> None:
    """A pod that prints a 2 MiB document: the operator reads the log through the API's
    limitBytes, finds no complete document within the bound, and fails that run only."""
    run = finished(scenarios, "oversized")
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("Unknown", "ResultRejected"), verified
    assert verified["message"].startswith("pod oversized-"), verified["message"]
    assert "larger than the" in verified["message"] and "byte bound" in verified["message"]
    assert run["status"]["verdict"] == "Invalid"
    assert scenarios.operator.process is not None and scenarios.operator.process.poll() is None, (
        "the operator survived"
    )
    assert not scenarios.sb.list(GROUP_VERSION, "RegressionBaseline", "oversized")


@pytest.mark.parametrize(
    ("ns", "field"),
    [
        ("deep", "fingerprint.injected.deep.value[0][0]"),
        ("hugenum", "workloads[0].metrics[0].samples[0].values[0]: is a number written with 5000"),
    ],
)
def test_a_hostile_document_ends_its_run_once_naming_pod_and_field(
    scenarios: Cluster, ns: str, field: str
) -> None:
    """100 000 nested arrays or a 5000-digit number used to make the reader raise
    RecursionError/ValueError: a traceback every reconcile and a run stuck Running."""
    run = finished(scenarios, ns)
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("Unknown", "ResultRejected"), verified
    assert verified["message"].startswith(f"pod {ns}-"), verified["message"]
    assert field in verified["message"], verified["message"]
    scenarios.wait_event(ns, run["metadata"]["name"], "ResultRejected")
    log = scenarios.operator.log()
    for crash in ("RecursionError", "Exceeds the limit (4300", "maximum recursion depth"):
        assert crash not in log, f"the operator hit {crash} reading a pod log"
    mentions = [line for line in log.splitlines() if run["metadata"]["name"] in line]
    assert len(mentions) <= 10, "the run was not retried in a loop:\n" + "\n".join(mentions)


def test_job_hanging_past_its_deadline_times_out(scenarios: Cluster) -> None:
    run = finished(scenarios, "hang", timeout=120)
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("Unknown", "TimedOut"), verified
    assert run["status"]["verdict"] == "TimedOut"


def test_deleted_baseline_is_reported_not_compared(cluster: Cluster) -> None:
    ns = "nobase"
    sb = cluster.sb
    sb.create_namespace(ns)
    sb.add_node("nobase-a", labels={"benchgate-test/pool": ns})
    cluster.suite(ns, ns, ns, concurrency=1)
    first = finished(cluster, ns)
    baseline = f"{first['metadata']['name']}-baseline"
    assert sb.get(GROUP_VERSION, "RegressionBaseline", baseline, ns)
    obj = sb.get(GROUP_VERSION, "RegressionSuite", ns, ns)
    obj["spec"]["baseline"] = {"autoPromoteFirst": False}
    obj["spec"]["jobTemplate"] = {"env": [{"name": "BENCHGATE_TEST_MARK", "value": "2"}]}
    sb.apply(obj)
    second = cluster.wait(
        lambda: [
            r
            for r in cluster.runs(ns)
            if r["spec"]["trigger"]["reason"] == "SpecChanged"
            and (r.get("status") or {}).get("baseline", {}).get("name") == baseline
        ],
        timeout=60,
        what="the second run chose the baseline",
    )[0]
    sb.delete(GROUP_VERSION, "RegressionBaseline", baseline, ns)
    name = second["metadata"]["name"]
    done = cluster.wait(
        lambda: [r for r in cluster.finished_runs(ns) if r["metadata"]["name"] == name],
        timeout=90,
        what="the second run finished",
    )[0]
    verified = condition(done, "Verified")
    assert (verified["status"], verified["reason"]) == ("Unknown", "NoBaseline"), verified
    assert "deleted" in verified["message"]
    assert done["status"]["verdict"] == "NoBaseline"


def test_suite_deleted_mid_run_cleans_up_children(cluster: Cluster) -> None:
    ns = "gone"
    sb = cluster.sb
    sb.create_namespace(ns)
    sb.add_node("gone-a", labels={"benchgate-test/pool": ns})
    cluster.suite(ns, ns, ns, concurrency=1)
    cluster.wait(lambda: sb.list("batch/v1", "Job", ns), timeout=60, what="a Job")
    sb.delete(GROUP_VERSION, "RegressionSuite", ns, ns)
    cluster.wait(
        lambda: not cluster.runs(ns) and not sb.list("batch/v1", "Job", ns),
        timeout=60,
        what="runs and Jobs garbage-collected",
    )
    assert cluster.operator.process is not None and cluster.operator.process.poll() is None, (
        "the operator survives its suite disappearing mid-run"
    )


def running_pod(cluster: Cluster, ns: str) -> dict[str, Any]:
    pod: dict[str, Any] = cluster.wait(
        lambda: [
            p
            for p in cluster.sb.list("v1", "Pod", ns)
            if (p.get("status") or {}).get("phase") == "Running"
        ],
        timeout=60,
        what=f"a running pod in {ns}",
    )[0]
    return pod


def test_node_disappearing_mid_run_is_node_lost(cluster: Cluster) -> None:
    ns = "lost"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node("lost-a", labels={"benchgate-test/pool": ns})
    cluster.suite(ns, ns, ns, concurrency=1)
    running_pod(cluster, ns)
    cluster.sb.delete_node("lost-a")
    run = finished(cluster, ns)
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("Unknown", "NodeLost"), verified
    assert "lost-a" in verified["message"]


def test_evicted_pod_is_workload_failed_with_the_reason(cluster: Cluster) -> None:
    ns = "evict"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node("evict-a", labels={"benchgate-test/pool": ns})
    cluster.suite(ns, ns, ns, concurrency=1)
    pod = running_pod(cluster, ns)
    cluster.sb.evict_pod(ns, pod["metadata"]["name"])
    run = finished(cluster, ns)
    verified = condition(run, "Verified")
    assert verified["reason"] == "WorkloadFailed", verified
    assert "Evicted" in verified["message"], verified["message"]


def test_an_unusable_first_run_is_not_promoted_and_a_later_good_run_is(cluster: Cluster) -> None:
    """A first run whose samples are all identical parses, but no later run could be
    judged against it: it must not become the class's baseline. After the suite is
    fixed, the next first run of the class becomes the baseline. memory_behaviour rides
    along: its peak RSS may be one value in every pod (same code, same bytes), which is
    judged, never a reason to refuse the fixed run."""
    ns = "unfit"
    sb = cluster.sb
    sb.create_namespace(ns)
    sb.add_node("unfit-a", labels={"benchgate-test/pool": ns})
    constant = [{"name": "BENCHGATE_INJECT_GARBAGE", "value": "constant"}]
    cluster.suite(
        ns,
        ns,
        ns,
        concurrency=3,
        workloads=[{"name": "memory_behaviour"}, {"name": "gemm_throughput"}],
        sampling={"replicates": 3, "repetitions": 1},
        jobTemplate={"env": constant},
    )
    first = finished(cluster, ns, timeout=150)
    verified = condition(first, "Verified")
    assert (verified["status"], verified["reason"]) == ("Unknown", "BaselineRefused"), verified
    assert first["status"]["verdict"] == "Invalid"
    message = verified["message"]
    assert "gemm_throughput/" in message and "identical" in message, message
    cluster.wait_event(ns, first["metadata"]["name"], "BaselineRefused")
    assert not sb.list(GROUP_VERSION, "RegressionBaseline", ns), "nothing was promoted"

    obj = sb.get(GROUP_VERSION, "RegressionSuite", ns, ns)
    obj["spec"]["jobTemplate"] = {"env": [{"name": "BENCHGATE_TEST_MARK", "value": "fixed"}]}
    sb.apply(obj)
    second = cluster.wait(
        lambda: [
            r
            for r in cluster.finished_runs(ns)
            if r["metadata"]["name"] != first["metadata"]["name"]
        ],
        timeout=150,
        what="the run after the fix finished",
    )[0]
    verified = condition(second, "Verified")
    assert verified["reason"] == "BaselinePromoted", verified
    (baseline,) = sb.list(GROUP_VERSION, "RegressionBaseline", ns)
    assert baseline["spec"]["sourceRun"] == second["metadata"]["name"]


def test_promoting_an_unusable_run_is_refused_by_the_cli_and_the_annotation(
    cluster: Cluster,
) -> None:
    """Without auto-promotion the unusable run ends NoBaseline (nothing to compare with);
    a human asking to promote it is refused, naming the metric, by both paths."""
    ns = "unfitp"
    sb = cluster.sb
    sb.create_namespace(ns)
    sb.add_node("unfitp-a", labels={"benchgate-test/pool": ns})
    cluster.suite(
        ns,
        ns,
        ns,
        concurrency=3,
        workloads=[{"name": "gemm_throughput"}],
        sampling={"replicates": 3, "repetitions": 1},
        baseline={"autoPromoteFirst": False},
        jobTemplate={"env": [{"name": "BENCHGATE_INJECT_GARBAGE", "value": "constant"}]},
    )
    run = finished(cluster, ns, timeout=150)
    assert run["status"]["verdict"] == "NoBaseline", run["status"]
    name = run["metadata"]["name"]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchgate.cli",
            "promote",
            name,
            "-n",
            ns,
            "--kubeconfig",
            str(sb.kubeconfig_path),
            "--wait",
            "5",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert cli.returncode == 3, cli
    assert "cannot serve as a baseline" in cli.stderr, cli.stderr
    assert "gemm_throughput/" in cli.stderr and "Traceback" not in cli.stderr
    annotations = sb.get(GROUP_VERSION, "VerificationRun", name, ns)["metadata"].get("annotations")
    assert "benchgate.dev/promote" not in (annotations or {}), "the CLI refused before asking"

    obj = sb.get(GROUP_VERSION, "VerificationRun", name, ns)
    obj["metadata"].setdefault("annotations", {})["benchgate.dev/promote"] = "true"
    sb.apply(obj)
    refused = cluster.wait(
        lambda: (
            sb.get(GROUP_VERSION, "VerificationRun", name, ns)["metadata"]
            .get("annotations", {})
            .get("benchgate.dev/promote-refused")
        ),
        timeout=30,
        what="the operator answered the promote annotation",
    )
    assert "cannot serve as a baseline" in refused and "gemm_throughput/" in refused, refused
    cluster.wait_event(ns, name, "PromotionRefused")
    assert not sb.list(GROUP_VERSION, "RegressionBaseline", ns)


def _baseline(name: str, ns: str, configmap: str) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "RegressionBaseline",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "suite": "none",
            "platform": {"key": "0" * 64, "class": "cpu", "hardwareClass": "cpu", "fields": []},
            "sourceRun": "by-hand",
            "samplesConfigMap": configmap,
            "promotedBy": "Annotation",
        },
    }


def test_a_baseline_with_broken_or_missing_samples_gets_a_condition_not_a_loop(
    cluster: Cluster,
) -> None:
    ns = "badsamples"
    sb = cluster.sb
    sb.create_namespace(ns)
    sb.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "deep-samples", "namespace": ns},
            "data": {"result.json": "[" * 100_000 + "]" * 100_000},
        }
    )
    sb.create(_baseline("broken", ns, "deep-samples"))
    sb.create(_baseline("missing", ns, "never-created"))

    def ready(name: str) -> dict[str, Any]:
        return condition(sb.get(GROUP_VERSION, "RegressionBaseline", name, ns), "Ready")

    broken = cluster.wait(
        lambda: ready("broken").get("status") == "False" and ready("broken"),
        timeout=30,
        what="the broken baseline's Ready condition",
    )
    assert broken["reason"] == "SamplesMissing", broken
    assert "deeper than 32 levels" in broken["message"], broken["message"]
    missing = cluster.wait(
        lambda: ready("missing").get("status") == "False" and ready("missing"),
        timeout=90,
        what="the missing ConfigMap given up on",
    )
    assert missing["reason"] == "SamplesMissing" and "did not appear" in missing["message"]
    log = cluster.operator.log()
    waits = [line for line in log.splitlines() if "never-created" in line]
    assert len(waits) <= 40, f"{len(waits)} log lines for one missing ConfigMap"
    assert "RecursionError" not in log
