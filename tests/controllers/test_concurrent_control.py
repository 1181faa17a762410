"""A rolling change with old nodes left runs a concurrent control and is judged against it.

Two nodes of one platform; the baseline is promoted from one of them; then one node
changes platform (a kernel label the platform key reads). The run for the new platform
must measure the remaining old node at the same time (its own Jobs, pinned there), judge
the candidate against it replicate by replicate, and say so in status.control; with a
stored baseline whose session was off, that baseline, not the candidate, is named as
what moved.
"""

from __future__ import annotations

from typing import Any

from controller_harness import GROUP_VERSION, Cluster, condition

KERNEL = "feature.node.kubernetes.io/kernel-version.full"


def nodes_of(cluster: Cluster, ns: str, *names: str) -> None:
    for name in names:
        cluster.sb.add_node(name, labels={"benchgate-test/pool": ns, KERNEL: "6.8.0"})


def upgrade(cluster: Cluster, name: str) -> None:
    """The node's kernel changes: a new platform of the same (CPU) hardware class."""
    node = cluster.sb.get("v1", "Node", name)
    node["metadata"]["labels"][KERNEL] = "6.11.0"
    cluster.sb.apply(node)


def finished_on(cluster: Cluster, ns: str, node: str, baseline_run: str) -> list[dict[str, Any]]:
    return [
        r
        for r in cluster.finished_runs(ns)
        if r["metadata"]["name"] != baseline_run and r["spec"]["nodes"] == [node]
    ]


def control_jobs(cluster: Cluster, ns: str, run: str) -> list[dict[str, Any]]:
    return [
        j
        for j in cluster.sb.list("batch/v1", "Job", ns)
        if (j["metadata"].get("labels") or {}).get("benchgate.dev/run") == f"{run}-c"
    ]


def test_a_rolling_change_runs_a_concurrent_control_on_an_old_node(cluster: Cluster) -> None:
    ns = "control"
    sb = cluster.sb
    sb.create_namespace(ns)
    nodes_of(cluster, ns, "ctl-a1", "ctl-a2")
    cluster.suite(ns, "rolling", ns)
    first = cluster.wait(
        lambda: cluster.finished_runs(ns), timeout=120, what="the first run (the baseline)"
    )[0]
    assert first["spec"]["nodes"] == ["ctl-a1"], first["spec"]
    assert condition(first, "Verified")["reason"] == "BaselinePromoted"
    assert first["status"]["control"]["design"] == "stored-baseline", first["status"]
    old_key = first["spec"]["platform"]["key"]

    # The baseline's own node is upgraded; ctl-a2 is still of the old platform.
    upgrade(cluster, "ctl-a1")
    run = cluster.wait(
        lambda: [
            r
            for r in cluster.runs(ns)
            if r["spec"]["platform"]["key"] != old_key
            and control_jobs(cluster, ns, r["metadata"]["name"])
        ],
        timeout=60,
        what="the new platform's run with its control Jobs",
    )[0]
    name = run["metadata"]["name"]
    # A restart while both are running neither duplicates the control nor picks another.
    cluster.operator.restart()
    run = cluster.wait(
        lambda: finished_on(cluster, ns, "ctl-a1", first["metadata"]["name"]),
        timeout=180,
        what="the new platform's run finished",
    )[0]
    assert run["metadata"]["name"] == name
    control = run["status"]["control"]
    assert control["design"] == "concurrent-control", run["status"]
    assert control["node"] == "ctl-a2", control
    assert "ctl-a2" in control["why"], control

    # The control ran the same replicates (same Jobs, same seeds) pinned to the old node.
    jobs = control_jobs(cluster, ns, name)
    assert [j["metadata"]["name"] for j in jobs] == [f"{name}-c-0"], "one control Job, once"
    pods = [
        p
        for p in sb.list("v1", "Pod", ns)
        if (p["metadata"].get("labels") or {}).get("benchgate.dev/run") == f"{name}-c"
    ]
    assert sorted(
        p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods
    ) == [
        "0",
        "1",
        "2",
    ]
    assert {p["spec"]["nodeName"] for p in pods} == {"ctl-a2"}
    stored = sb.get("v1", "ConfigMap", control["resultsConfigMap"], ns)["data"]["result.json"]
    assert '"node_name"' in stored and "ctl-a2" in stored, "the control's own results"

    # Judged pairwise against the control: the engine's design and the session note.
    assert run["status"]["verdict"] in ("Passed", "Inconclusive"), run["status"]
    assert "judged against control node ctl-a2" in run["status"]["message"], run["status"]
    assert control["sessionNote"], control
    assert all(m["replicates"] == "3/3" for m in run["status"]["metrics"]), run["status"]

    # The control is part of the candidate's run: no run, verdict or baseline of its own.
    assert len(cluster.runs(ns)) == 2, [r["metadata"]["name"] for r in cluster.runs(ns)]
    assert len(sb.list(GROUP_VERSION, "RegressionBaseline", ns)) == 1


def test_a_stale_baseline_session_is_named_not_blamed_on_the_candidate(cluster: Cluster) -> None:
    ns = "stale"
    sb = cluster.sb
    sb.create_namespace(ns)
    nodes_of(cluster, ns, "stale-a1", "stale-a2")
    # The baseline's session is made slow: every timed quantity 50 % larger, against the
    # workload's 10 % throughput tolerance, so the control against the stored baseline is
    # off by far more than this 2-core machine's run-to-run noise (tens of percent under
    # load from other processes), and the stored-baseline design would have called the
    # candidate a 50 % improvement. One BLAS thread per pod and one pod at a time per Job:
    # the candidate's and the control's pods then share the two cores evenly, round by
    # round, which is what the paired design cancels. 4 replicates a side (the CRD's
    # minimum is 3) keep the run short while giving the pairs a spread to judge.
    single_thread = [{"name": "OMP_NUM_THREADS", "value": "1"}]
    slow = [*single_thread, {"name": "BENCHGATE_INJECT_SLOWDOWN", "value": "0.5"}]
    cluster.suite(
        ns,
        "stale",
        ns,
        workloads=[{"name": "gemm_throughput", "repetitions": 5}],
        sampling={"replicates": 4, "repetitions": 5},
        concurrency=1,
        jobTemplate={"env": slow},
        # Removing the injection below must not re-verify the old platform by itself.
        triggers={"specChange": False},
        timeoutSeconds=240,
    )
    first = cluster.wait(
        lambda: cluster.finished_runs(ns), timeout=180, what="the slow baseline run"
    )[0]
    assert condition(first, "Verified")["reason"] == "BaselinePromoted"
    suite = sb.get(GROUP_VERSION, "RegressionSuite", "stale", ns)
    suite["spec"]["jobTemplate"]["env"] = single_thread
    sb.apply(suite)

    upgrade(cluster, "stale-a2")
    run = cluster.wait(
        lambda: finished_on(cluster, ns, "stale-a2", first["metadata"]["name"]),
        timeout=240,
        what="the new platform's run finished",
    )[0]
    status = run["status"]
    assert status["control"]["design"] == "concurrent-control", status
    assert status["control"]["node"] == "stale-a1", status["control"]
    # Candidate and control measured together, both normal: no change of the candidate,
    # though it is 50 % faster than the stored (slow) baseline.
    assert status["verdict"] not in ("Regressed", "Improved"), status
    note = status["control"]["sessionNote"]
    assert "the stored baseline, not the candidate, moved" in note, status["control"]
    assert "fast on the control too" in note, note
    rows = [m for m in status["metrics"] if m["kind"] == "continuous"]
    assert rows, status["metrics"]
    for row in rows:
        assert "against the control" in row["reason"], row
        assert row["replicates"] == "4/4", row
    assert "the stored baseline, not the candidate, moved" in status["message"], status
    assert len(cluster.runs(ns)) == 2, "removing the injection made no run (specChange off)"


def test_a_control_that_cannot_finish_leaves_the_run_to_the_stored_baseline(
    cluster: Cluster,
) -> None:
    ns = "ctlfail"
    sb = cluster.sb
    sb.create_namespace(ns)
    nodes_of(cluster, ns, "fail-a1")
    # The second old node never starts pods (no kubelet): the control stays Pending.
    sb.add_node("fail-a2", labels={"benchgate-test/pool": ns, KERNEL: "6.8.0"}, kubelet=False)
    cluster.suite(ns, "fail", ns)
    first = cluster.wait(
        lambda: cluster.finished_runs(ns), timeout=120, what="the first run (the baseline)"
    )[0]
    assert first["spec"]["nodes"] == ["fail-a1"], first["spec"]
    old_key = first["spec"]["platform"]["key"]
    upgrade(cluster, "fail-a1")
    run = cluster.wait(
        lambda: [
            r
            for r in cluster.runs(ns)
            if r["spec"]["platform"]["key"] != old_key
            and control_jobs(cluster, ns, r["metadata"]["name"])
        ],
        timeout=60,
        what="the new platform's run with its control Jobs",
    )[0]
    # The candidate finishes; the run waits for its control, which never comes...
    cluster.wait(
        lambda: (
            "waiting for the control on fail-a2"
            in (
                sb.get(GROUP_VERSION, "VerificationRun", run["metadata"]["name"], ns).get("status")
                or {}
            ).get("message", "")
        ),
        timeout=120,
        what="the run waiting for its control",
    )
    # ...until its node is gone: the candidate is judged against the stored baseline.
    sb.delete_node("fail-a2")
    run = cluster.wait(
        lambda: finished_on(cluster, ns, "fail-a1", first["metadata"]["name"]),
        timeout=60,
        what="the run finished without its control",
    )[0]
    control = run["status"]["control"]
    assert control["design"] == "stored-baseline", control
    assert control["node"] == "fail-a2", control
    # Whichever the operator sees first: the control Job failed with its node's pods, or
    # the node is gone.
    why = control["why"]
    assert "the control on fail-a2 was dropped" in why, control
    assert "-c-0 failed" in why or "node fail-a2 disappeared" in why, control
    assert "judged against the stored baseline" in control["why"], control
    assert run["status"]["verdict"] in ("Passed", "Inconclusive"), run["status"]
    assert "control node" not in run["status"]["message"], run["status"]["message"]


def test_a_required_control_waits_for_a_node_of_the_old_platform(cluster: Cluster) -> None:
    ns = "ctlreq"
    sb = cluster.sb
    sb.create_namespace(ns)
    nodes_of(cluster, ns, "req-a1", "req-a2")
    cluster.suite(ns, "req", ns, baseline={"control": "Required", "policy": "ClosestFingerprint"})
    first = cluster.wait(
        lambda: cluster.finished_runs(ns), timeout=120, what="the first run (the baseline)"
    )[0]
    assert condition(first, "Verified")["reason"] == "BaselinePromoted", "no baseline: no wait"
    old_key = first["spec"]["platform"]["key"]
    other = sb.get("v1", "Node", "req-a2")
    other.setdefault("spec", {})["unschedulable"] = True  # cordoned: not a control
    sb.apply(other)
    upgrade(cluster, "req-a1")
    waiting = cluster.wait(
        lambda: [
            r
            for r in cluster.runs(ns)
            if r["spec"]["platform"]["key"] != old_key
            and "Required: waiting" in ((r.get("status") or {}).get("message") or "")
        ],
        timeout=60,
        what="the new platform's run waiting for a control node",
    )[0]
    name = waiting["metadata"]["name"]
    assert condition(waiting, "Verified")["status"] == "Unknown", waiting["status"]
    assert "req-a2 is not" in condition(waiting, "Verified")["message"], waiting["status"]
    assert not [
        j
        for j in sb.list("batch/v1", "Job", ns)
        if (j["metadata"].get("labels") or {}).get("benchgate.dev/run") in (name, f"{name}-c")
    ], "no Job starts before the control can"
    other = sb.get("v1", "Node", "req-a2")
    other["spec"]["unschedulable"] = False
    sb.apply(other)
    run = cluster.wait(
        lambda: finished_on(cluster, ns, "req-a1", first["metadata"]["name"]),
        timeout=120,
        what="the run finished with its control",
    )[0]
    assert run["metadata"]["name"] == name
    assert run["status"]["control"]["design"] == "concurrent-control", run["status"]
    assert run["status"]["control"]["node"] == "req-a2", run["status"]["control"]
