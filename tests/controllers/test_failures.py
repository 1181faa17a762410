"""Every failure ends or pages: a permanent error becomes a condition with a reason and
is not retried every tick; the operator's log says so a bounded number of times.

Each test provokes one of the loops found in the field (issue 10) and counts the log
lines about the object while the operator keeps running: they must stop growing.
"""

from __future__ import annotations

import re
import time
from typing import Any

from controller_harness import GROUP_VERSION, Cluster, condition

from benchgate.api.result import (
    Metric,
    ReplicateSamples,
    ResultDocument,
    RunIdentity,
    WorkloadResult,
    dumps,
)

QUIET_WINDOW = 8.0  # seconds: eight reconcile ticks of the test operator (1 s intervals)
MAX_LINES = 6  # what one permanent failure may cost in the log, all told


def quiet_after(cluster: Cluster, *words: str) -> list[str]:
    """Wait QUIET_WINDOW and check the log gained no line about `words` meanwhile;
    returns every line about them."""
    before = cluster.operator.lines_about(*words)
    time.sleep(QUIET_WINDOW)
    after = cluster.operator.lines_about(*words)
    assert after == before, (
        f"the operator keeps logging about {words} after the failure was recorded:\n"
        + "\n".join(after[len(before) :])
    )
    return after


def finished(cluster: Cluster, ns: str, timeout: float = 90) -> dict[str, Any]:
    run: dict[str, Any] = cluster.wait(
        lambda: cluster.finished_runs(ns), timeout=timeout, what=f"the {ns} run finished"
    )[0]
    return run


def test_a_run_whose_write_the_api_refuses_ends_instead_of_looping(cluster: Cluster) -> None:
    """All pods succeeded, then the API refuses the run's results ConfigMap with a 422
    (as a derived name over a Kubernetes limit would): the run ends Invalid, saying why."""
    ns = "refused"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node(f"{ns}-node", labels={"benchgate-test/pool": ns})
    cluster.sb.fail(422, times=10_000, verb="create", resource="configmaps", namespace=ns)
    cluster.suite(ns, ns, ns)
    run = finished(cluster, ns)
    name = run["metadata"]["name"]
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("Unknown", "ReconcileFailed"), verified
    assert "API answered 422" in verified["message"], verified["message"]
    assert run["status"]["verdict"] == "Invalid", "nothing was verified: it pages as Failed"
    phases = [p["status"].get("phase") for p in cluster.sb.list("v1", "Pod", ns)]
    assert phases and set(phases) == {"Succeeded"}, phases
    cluster.wait_event(ns, name, "ReconcileFailed")
    lines = quiet_after(cluster, name)
    assert len(lines) <= MAX_LINES, "\n".join(lines)
    assert not [line for line in lines if "Traceback" in line]


def test_a_document_that_chokes_the_parser_ends_the_run(cluster: Cluster) -> None:
    """A pod prints JSON nested 100 000 deep: whatever the parser makes of it (refusal,
    or an exception it did not foresee), the run ends with a condition, once."""
    ns = "nested"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node(f"{ns}-node", labels={"benchgate-test/pool": ns})
    tracebacks = cluster.operator.log().count("Traceback")
    cluster.suite(
        ns, ns, ns, jobTemplate={"env": [{"name": "BENCHGATE_INJECT_GARBAGE", "value": "deep"}]}
    )
    run = finished(cluster, ns)
    verified = condition(run, "Verified")
    assert verified["reason"] in ("ResultRejected", "ReconcileFailed"), verified
    assert run["status"]["verdict"] == "Invalid"
    lines = quiet_after(cluster, run["metadata"]["name"])
    assert len(lines) <= MAX_LINES, "\n".join(lines)
    assert cluster.operator.log().count("Traceback") <= tracebacks + 1, (
        "at most one traceback for a failure the operator did not foresee"
    )


def samples_document() -> str:
    groups = tuple(ReplicateSamples(f"pod-{i}", (1.0 + i / 100, 1.01)) for i in range(3))
    metric = Metric("seconds", "s", "lower", "continuous", groups)
    workload = WorkloadResult("numerics_probe", "tiny", "ok", 1.0, (metric,))
    return dumps(ResultDocument(RunIdentity(), (workload,)))


def test_a_baseline_whose_samples_are_missing_says_so_once_and_recovers(
    cluster: Cluster,
) -> None:
    ns = "nosamples"
    sb = cluster.sb
    sb.create_namespace(ns)
    sb.create(
        {
            "apiVersion": GROUP_VERSION,
            "kind": "RegressionBaseline",
            "metadata": {"name": "orphan", "namespace": ns},
            "spec": {
                "suite": "gone",
                "platform": {"key": "ab" * 32, "class": "cpu-amd64-6-8"},
                "samplesConfigMap": "orphan-samples",
            },
        }
    )

    def ready() -> dict[str, Any]:
        return condition(sb.get(GROUP_VERSION, "RegressionBaseline", "orphan", ns), "Ready")

    cluster.wait(
        lambda: ready().get("reason") == "SamplesMissing", timeout=30, what="SamplesMissing"
    )
    assert ready()["status"] == "False" and "orphan-samples" in ready()["message"], ready()
    lines = quiet_after(cluster, "orphan")
    assert len(lines) <= MAX_LINES, "\n".join(lines)

    # The samples arrive after all (a promotion finished after a restart): Ready.
    sb.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "orphan-samples", "namespace": ns},
            "data": {"result.json": samples_document()},
        }
    )
    cluster.wait(lambda: ready().get("status") == "True", timeout=30, what="the baseline Ready")


def test_a_suite_whose_writes_the_api_refuses_says_so_and_recovers(cluster: Cluster) -> None:
    ns = "suiterefused"
    sb = cluster.sb
    sb.create_namespace(ns)
    sb.add_node(f"{ns}-node", labels={"benchgate-test/pool": ns})
    fault = sb.fail(422, times=10_000, verb="create", resource="verificationruns", namespace=ns)
    cluster.suite(ns, ns, ns)

    def ready() -> dict[str, Any]:
        return condition(sb.get(GROUP_VERSION, "RegressionSuite", ns, ns), "Ready")

    cluster.wait(
        lambda: ready().get("reason") == "ReconcileFailed", timeout=30, what="ReconcileFailed"
    )
    assert ready()["status"] == "False" and "API answered 422" in ready()["message"]
    cluster.wait_event(ns, ns, "ReconcileFailed")
    # Looked at again every BENCHGATE_PERMANENT_RETRY_SECONDS (5 s here), not every tick.
    before = len(cluster.operator.lines_about(f"RegressionSuite {ns}/{ns}"))
    time.sleep(QUIET_WINDOW)
    tries = len(cluster.operator.lines_about(f"RegressionSuite {ns}/{ns}")) - before
    assert tries <= 2 * (QUIET_WINDOW / 5 + 1), f"{tries} log lines in {QUIET_WINDOW} s"
    assert fault.hits <= 2 + QUIET_WINDOW / 5 + 2, f"{fault.hits} attempts: not backing off"

    fault.times = 0  # the API accepts runs again: the suite recovers on its next look
    cluster.wait(lambda: cluster.runs(ns), timeout=30, what="the run created after recovery")
    cluster.wait(
        lambda: ready().get("reason") != "ReconcileFailed", timeout=30, what="Ready recovered"
    )


def test_a_busy_api_on_job_creation_is_retried_soon_and_the_run_proceeds(
    cluster: Cluster,
) -> None:
    """One 500 and then one 429 (Retry-After: 1) on the run's Job creation: both are
    transient, retried without a condition, and the run goes on to its verdict. The log
    says each retry once, with the delay the operator chose: under a second after the
    500 (not a reconcile interval), never under the server's Retry-After after the 429."""
    ns = "busyapi"
    sb = cluster.sb
    sb.create_namespace(ns)
    sb.add_node(f"{ns}-node", labels={"benchgate-test/pool": ns})
    server_error = sb.fail(500, times=1, verb="create", resource="jobs", namespace=ns)
    too_many = sb.fail(429, times=1, verb="create", resource="jobs", namespace=ns)
    cluster.suite(ns, ns, ns)
    run = finished(cluster, ns, timeout=120)
    name = run["metadata"]["name"]
    assert (server_error.hits, too_many.hits) == (1, 1), "each fault was met exactly once"
    assert run["status"]["verdict"] not in ("Invalid", "Failed"), run["status"]
    assert condition(run, "Verified")["reason"] != "ReconcileFailed", condition(run, "Verified")
    jobs = [j["metadata"]["name"] for j in sb.list("batch/v1", "Job", ns)]
    assert len(jobs) == len(set(jobs)) >= 1, jobs

    retries = [line for line in cluster.operator.lines_about(name) if "transient" in line]
    delays = {
        status: [
            float(d)
            for line in retries
            if f"API answered {status}" in line
            for d in re.findall(r"retry in ([0-9.]+) s", line)
        ]
        for status in (500, 429)
    }
    assert len(delays[500]) == 1 and delays[500][0] <= 1.0, "\n".join(retries)
    assert len(delays[429]) == 1 and delays[429][0] >= 1.0, "\n".join(retries)
    assert len(retries) == 2, "one log line per retry:\n" + "\n".join(retries)
    assert not [line for line in cluster.operator.lines_about(name) if "Traceback" in line]
