"""The local kubelet, scheduler and Job controller: Jobs run real local processes and
report what a real cluster would report."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from benchgate_sandbox.nodes import h100_pool_node
from benchgate_sandbox.testing import Sandbox

PY = "python"  # resolved by the kubelet: the project venv's interpreter comes first


def job(name: str, code: str, *, restart: str = "Never", **spec: Any) -> dict[str, Any]:
    pod_spec = spec.pop("pod_spec", {})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": restart,
                    **pod_spec,
                    "containers": [
                        {
                            "name": "main",
                            "image": "ghcr.io/example/bench:1.0",
                            "command": [PY, "-c", code],
                            "env": [
                                {
                                    "name": "MY_POD",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                },
                                {
                                    "name": "MY_NODE",
                                    "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                                },
                                {
                                    "name": "MY_IP",
                                    "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                                },
                                {"name": "GREETING", "value": "hi"},
                            ],
                        }
                    ],
                }
            },
        },
    }


def condition(sb: Sandbox, name: str, type_: str) -> dict[str, Any] | None:
    status = sb.get("batch/v1", "Job", name).get("status") or {}
    return next(
        (c for c in status.get("conditions") or [] if c["type"] == type_ and c["status"] == "True"),
        None,
    )


def job_pods(sb: Sandbox, name: str) -> list[dict[str, Any]]:
    return [
        p
        for p in sb.list("v1", "Pod", "default")
        if (p["metadata"].get("labels") or {}).get("job-name") == name
    ]


def test_job_runs_a_python_command_and_its_log_is_readable_through_the_api(
    sandbox: Sandbox, api: Any
) -> None:
    sandbox.add_node("local-1")
    code = (
        "import os, sys; print('pod', os.environ['MY_POD'], 'node', os.environ['MY_NODE'], "
        "os.environ['GREETING'], 'ip', os.environ['MY_IP']); print('cwd', os.getcwd()); "
        "print('exe', sys.executable, flush=True); print('to stderr', file=sys.stderr)"
    )
    sandbox.create(job("hello", code))
    complete = sandbox.wait_for(lambda: condition(sandbox, "hello", "Complete"), 30, "Complete")
    assert complete["reason"] == "CompletionsReached"
    status = sandbox.get("batch/v1", "Job", "hello")["status"]
    assert status["succeeded"] == 1 and status["active"] == 0 and status.get("completionTime")
    [pod] = job_pods(sandbox, "hello")
    labels = pod["metadata"]["labels"]
    uid = sandbox.get("batch/v1", "Job", "hello")["metadata"]["uid"]
    assert labels["controller-uid"] == labels["batch.kubernetes.io/controller-uid"] == uid
    assert pod["metadata"]["ownerReferences"][0]["uid"] == uid
    assert pod["status"]["phase"] == "Succeeded"
    cs = pod["status"]["containerStatuses"][0]
    assert cs["state"]["terminated"]["exitCode"] == 0
    assert cs["imageID"].startswith("docker-pullable://ghcr.io/example/bench@sha256:")

    core = client.CoreV1Api(api)
    log = core.read_namespaced_pod_log(pod["metadata"]["name"], "default")
    name = pod["metadata"]["name"]
    assert f"pod {name} node local-1 hi ip 127.0.0.1" in log, log
    assert "to stderr" in log, "stderr is captured into the log like a container runtime"
    assert f"exe {Path(sys.executable).parent}/python" in log, "python resolves to the venv's"
    assert "cwd /" in log and name in log.split("cwd ", 1)[1].splitlines()[0], (
        "each pod runs in its own working directory"
    )
    tail = core.read_namespaced_pod_log(name, "default", tail_lines=1)
    assert tail.strip() == "to stderr"


def test_image_digest_can_change_from_tests(sandbox: Sandbox) -> None:
    sandbox.add_node("local-1")
    sandbox.create(job("one", "pass"))
    sandbox.wait_for(lambda: condition(sandbox, "one", "Complete"), 30, "first job")
    sandbox.set_image_digest("ghcr.io/example/bench:1.0", "ab" * 32)
    sandbox.create(job("two", "pass"))
    sandbox.wait_for(lambda: condition(sandbox, "two", "Complete"), 30, "second job")
    first = job_pods(sandbox, "one")[0]["status"]["containerStatuses"][0]["imageID"]
    second = job_pods(sandbox, "two")[0]["status"]["containerStatuses"][0]["imageID"]
    assert first != second and second.endswith("@sha256:" + "ab" * 32)


def test_backoff_limit_fails_a_crashing_job(sandbox: Sandbox) -> None:
    sandbox.add_node("local-1")
    sandbox.create(job("crash", "import sys; print('boom'); sys.exit(3)", backoffLimit=1))
    failed = sandbox.wait_for(lambda: condition(sandbox, "crash", "Failed"), 30, "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    pods = job_pods(sandbox, "crash")
    assert len(pods) == 2, f"backoffLimit=1 allows one retry: {len(pods)} pods"
    for pod in pods:
        term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (3, "Error")
    assert sandbox.get("batch/v1", "Job", "crash")["status"]["failed"] == 2


def test_active_deadline_stops_a_hanging_job(sandbox: Sandbox) -> None:
    sandbox.add_node("local-1")
    sandbox.create(
        job(
            "hang",
            "import time; print('waiting', flush=True); time.sleep(600)",
            activeDeadlineSeconds=1,
        )
    )
    failed = sandbox.wait_for(lambda: condition(sandbox, "hang", "Failed"), 30, "Failed")
    assert failed["reason"] == "DeadlineExceeded"
    sandbox.wait_for(
        lambda: not [p for p in job_pods(sandbox, "hang") if p["status"].get("phase") == "Running"],
        15,
        "the hanging pod to be stopped",
    )


def test_missing_executable_is_a_start_error(sandbox: Sandbox) -> None:
    sandbox.add_node("local-1")
    body = job("noexec", "", backoffLimit=0)
    body["spec"]["template"]["spec"]["containers"][0]["command"] = ["no-such-binary-here"]
    sandbox.create(body)
    sandbox.wait_for(lambda: condition(sandbox, "noexec", "Failed"), 30, "Failed")
    term = job_pods(sandbox, "noexec")[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "StartError" and term["exitCode"] == 128
    assert "executable file not found" in term["message"]


INDEX = "batch.kubernetes.io/job-completion-index"


def test_indexed_job_with_parallelism(sandbox: Sandbox) -> None:
    """What pkg/controller/job gives each pod of an Indexed Job: the index as annotation,
    label and env var, the hostname <job>-<index>, the name <job>-<index>-<random>."""
    sandbox.add_node("local-1")
    code = (
        "import os; print('index', os.environ['JOB_COMPLETION_INDEX'], "
        "'host', os.environ['HOSTNAME'], 'init', os.environ.get('FROM_INIT', 'no'))"
    )
    body = job("idx", code, completions=3, parallelism=2, completionMode="Indexed")
    pod_spec = body["spec"]["template"]["spec"]
    pod_spec["hostname"] = "ignored"  # the Job controller sets the hostname itself
    pod_spec["initContainers"] = [
        {
            "name": "init",
            "image": "ghcr.io/example/bench:1.0",
            "command": [PY, "-c", "import os; assert os.environ['JOB_COMPLETION_INDEX']"],
        }
    ]
    sandbox.create(body)
    sandbox.wait_for(lambda: condition(sandbox, "idx", "Complete"), 30, "Complete")
    status = sandbox.get("batch/v1", "Job", "idx")["status"]
    assert status["completedIndexes"] == "0-2" and status["succeeded"] == 3
    pods = job_pods(sandbox, "idx")
    assert sorted(p["metadata"]["labels"][INDEX] for p in pods) == ["0", "1", "2"]
    for pod in pods:
        index = pod["metadata"]["labels"][INDEX]
        assert pod["metadata"]["annotations"][INDEX] == index
        assert pod["metadata"]["name"].startswith(f"idx-{index}-")
        assert pod["spec"]["hostname"] == f"idx-{index}"
        for container in pod["spec"]["initContainers"] + pod["spec"]["containers"]:
            (env,) = [e for e in container["env"] if e["name"] == "JOB_COMPLETION_INDEX"]
            assert env["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.annotations['{INDEX}']"
        log = sandbox.pod_log("default", pod["metadata"]["name"])
        assert f"index {index} host idx-{index}" in log, log


def test_indexed_job_retries_a_failed_index_under_the_same_index(sandbox: Sandbox) -> None:
    """Index 1 fails once, then succeeds: its retry is index 1 again (the replicate keeps
    its identity), and `succeeded` counts indexes."""
    sandbox.add_node("local-1")
    code = (
        "import os, pathlib, sys\n"
        "i = os.environ['JOB_COMPLETION_INDEX']\n"
        "mark = pathlib.Path(os.environ['MARKS']) / ('tried-' + i)\n"
        "if i == '1' and not mark.exists():\n"
        "    mark.touch(); sys.exit(1)\n"
    )
    body = job("retry", code, completions=3, parallelism=3, completionMode="Indexed")
    marks = sandbox.workdir / "marks"
    marks.mkdir()
    body["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "MARKS", "value": str(marks)}
    )
    sandbox.create(body)
    sandbox.wait_for(lambda: condition(sandbox, "retry", "Complete"), 30, "Complete")
    status = sandbox.get("batch/v1", "Job", "retry")["status"]
    assert (status["succeeded"], status["failed"], status["completedIndexes"]) == (3, 1, "0-2")
    by_index: dict[str, list[str]] = {}
    for pod in job_pods(sandbox, "retry"):
        by_index.setdefault(pod["metadata"]["labels"][INDEX], []).append(pod["status"]["phase"])
    assert sorted(by_index["1"]) == ["Failed", "Succeeded"], by_index
    assert by_index["0"] == by_index["2"] == ["Succeeded"]


def test_an_indexed_job_keeps_a_containers_own_index_variable(sandbox: Sandbox) -> None:
    sandbox.add_node("local-1")
    body = job("own", "import os; print('got', os.environ['JOB_COMPLETION_INDEX'])", completions=1)
    body["spec"]["completionMode"] = "Indexed"
    body["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "JOB_COMPLETION_INDEX", "value": "mine"}
    )
    sandbox.create(body)
    sandbox.wait_for(lambda: condition(sandbox, "own", "Complete"), 30, "Complete")
    (pod,) = job_pods(sandbox, "own")
    env = [e for e in pod["spec"]["containers"][0]["env"] if e["name"] == "JOB_COMPLETION_INDEX"]
    assert env == [{"name": "JOB_COMPLETION_INDEX", "value": "mine"}]
    assert "got mine" in sandbox.pod_log("default", pod["metadata"]["name"])


def test_an_indexed_job_whose_pod_hostnames_are_not_dns_labels_is_refused(
    sandbox: Sandbox,
) -> None:
    from benchgate_sandbox.errors import ApiError

    for name, completions in (("a" * 61, 100), ("dotted.name", 1)):
        with pytest.raises(ApiError) as refused:
            sandbox.create(job(name, "pass", completions=completions, completionMode="Indexed"))
        assert refused.value.code == 422
        assert "will not able to create pod with invalid DNS label" in str(refused.value)
    # a-...-99 is 64 characters, a-...-9 is 63: ten completions fit
    sandbox.create(job("a" * 61, "pass", completions=10, completionMode="Indexed"))
    with pytest.raises(ApiError, match="supported values"):
        sandbox.create(job("mode", "pass", completionMode="Sideways"))


def test_scheduler_honours_node_selector_affinity_and_taints(sandbox: Sandbox) -> None:
    sandbox.add_node("cpu-1", labels={"pool": "cpu"})
    sandbox.add_node(
        node=h100_pool_node(
            "gpu-1", taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
        )
    )

    def pod_node(name: str) -> str | None:
        pods = job_pods(sandbox, name)
        return pods[0]["spec"].get("nodeName") if pods else None

    sandbox.create(
        job(
            "to-gpu-untolerated",
            "pass",
            pod_spec={"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
        )
    )
    pod = sandbox.wait_for(
        lambda: [
            p for p in job_pods(sandbox, "to-gpu-untolerated") if p["status"].get("conditions")
        ],
        10,
        "scheduling verdict",
    )[0]
    scheduled = pod["status"]["conditions"][0]
    assert (scheduled["type"], scheduled["status"], scheduled["reason"]) == (
        "PodScheduled",
        "False",
        "Unschedulable",
    )
    assert "untolerated taint {nvidia.com/gpu=present: NoSchedule}" in scheduled["message"]
    assert "didn't match Pod's node affinity/selector" in scheduled["message"]

    sandbox.create(
        job(
            "to-gpu",
            "pass",
            pod_spec={
                "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
                "tolerations": [
                    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                ],
            },
        )
    )
    assert sandbox.wait_for(lambda: pod_node("to-gpu"), 10, "binding") == "gpu-1"

    sandbox.create(
        job(
            "by-field",
            "pass",
            pod_spec={
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchFields": [
                                        {
                                            "key": "metadata.name",
                                            "operator": "In",
                                            "values": ["cpu-1"],
                                        }
                                    ]
                                }
                            ]
                        }
                    }
                }
            },
        )
    )
    assert sandbox.wait_for(lambda: pod_node("by-field"), 10, "binding") == "cpu-1"

    sandbox.create(
        job(
            "by-expr",
            "pass",
            pod_spec={
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "pool", "operator": "NotIn", "values": ["cpu"]},
                                        {"key": "kubernetes.io/os", "operator": "Exists"},
                                    ]
                                }
                            ]
                        }
                    }
                },
                "tolerations": [{"operator": "Exists"}],
            },
        )
    )
    assert sandbox.wait_for(lambda: pod_node("by-expr"), 10, "binding") == "gpu-1"
    sandbox.wait_for(
        lambda: condition(sandbox, "to-gpu", "Complete"),
        30,
        "a pod bound to the H100 look-alike still runs here",
    )


def test_owner_cascade_from_custom_object_to_job_to_pods(widgets: Sandbox) -> None:
    sb = widgets
    sb.add_node("local-1")
    owner = sb.create(
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default"},
            "spec": {"image": "i"},
        }
    )
    body = job("owned", "import time; time.sleep(600)")
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "name": "w",
            "uid": owner["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    sb.create(body)
    sb.wait_for(
        lambda: [p for p in job_pods(sb, "owned") if p["status"].get("phase") == "Running"],
        15,
        "the job's pod to run",
    )
    sb.delete("example.com/v1", "Widget", "w")
    sb.wait_for(lambda: not sb.list("batch/v1", "Job", "default"), 10, "the Job to be collected")
    sb.wait_for(lambda: not job_pods(sb, "owned"), 15, "the Job's pods to be stopped and collected")


def test_ttl_after_finished_deletes_the_job_and_its_pods(sandbox: Sandbox) -> None:
    sandbox.add_node("local-1")
    sandbox.create(job("short", "pass", ttlSecondsAfterFinished=0))
    sandbox.wait_for(lambda: not sandbox.list("batch/v1", "Job", "default"), 30, "TTL deletion")
    sandbox.wait_for(lambda: not job_pods(sandbox, "short"), 10, "pods removed with the Job")


@pytest.mark.parametrize("fault", ["evict", "delete-node"])
def test_evicted_pod_or_lost_node_counts_as_a_failure(sandbox: Sandbox, fault: str) -> None:
    sandbox.add_node("local-1")
    sandbox.create(job("victim", "import time; time.sleep(600)", backoffLimit=0))
    pod = sandbox.wait_for(
        lambda: [p for p in job_pods(sandbox, "victim") if p["status"].get("phase") == "Running"],
        15,
        "running",
    )[0]
    if fault == "evict":
        sandbox.evict_pod("default", pod["metadata"]["name"])
        evicted = sandbox.get("v1", "Pod", pod["metadata"]["name"], "default")
        assert (evicted["status"]["phase"], evicted["status"]["reason"]) == ("Failed", "Evicted")
    else:
        sandbox.delete_node("local-1")
    failed = sandbox.wait_for(lambda: condition(sandbox, "victim", "Failed"), 15, "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"


def test_following_a_log_streams_until_the_container_exits(sandbox: Sandbox, raw: Any) -> None:
    sandbox.add_node("local-1")
    code = "import time\nfor i in range(5):\n    print('tick', i, flush=True)\n    time.sleep(0.3)"
    sandbox.create(job("ticker", code))
    pod = sandbox.wait_for(
        lambda: [p for p in job_pods(sandbox, "ticker") if p["status"].get("phase") == "Running"],
        15,
        "the ticker to run",
    )[0]
    path = f"/api/v1/namespaces/default/pods/{pod['metadata']['name']}/log"
    with raw.session.get(
        raw.base + path, params={"follow": "true"}, stream=True, timeout=20, verify=raw.ca
    ) as r:
        assert r.status_code == 200, r.text
        body = b"".join(r.iter_content(None)).decode()
    assert [line for line in body.splitlines() if line.startswith("tick")] == [
        f"tick {i}" for i in range(5)
    ], body
    sandbox.wait_for(
        lambda: (
            sandbox.get("v1", "Pod", pod["metadata"]["name"], "default")["status"]["phase"]
            == "Succeeded"
        ),
        10,
        "the pod to succeed after its followed log ended",
    )


def test_scheduler_counts_resource_requests(sandbox: Sandbox) -> None:
    sandbox.add_node("cpu-1")  # this machine: no nvidia.com/gpu allocatable
    gpu = {"resources": {"limits": {"nvidia.com/gpu": "1"}}}
    body = job("wants-gpu", "pass")
    body["spec"]["template"]["spec"]["containers"][0].update(gpu)
    sandbox.create(body)
    pod = sandbox.wait_for(
        lambda: [p for p in job_pods(sandbox, "wants-gpu") if p["status"].get("conditions")],
        10,
        "a scheduling verdict",
    )[0]
    message = pod["status"]["conditions"][0]["message"]
    assert message == "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.", message
    sandbox.add_node(node=h100_pool_node("gpu-1", gpus=1))
    sandbox.wait_for(
        lambda: condition(sandbox, "wants-gpu", "Complete"),
        30,
        "the GPU pod to be scheduled once a GPU node exists, and to run",
    )

    # One GPU: two pods wanting one each run one after the other, never together.
    two = job("two-gpus", "import time; time.sleep(0.5)", completions=2, parallelism=2)
    two["spec"]["template"]["spec"]["containers"][0].update(gpu)
    two["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    sandbox.create(two)
    running_together = 0
    deadline = time.monotonic() + 30
    while not condition(sandbox, "two-gpus", "Complete") and time.monotonic() < deadline:
        running = [
            p for p in job_pods(sandbox, "two-gpus") if p["status"].get("phase") == "Running"
        ]
        running_together = max(running_together, len(running))
        time.sleep(0.05)
    assert condition(sandbox, "two-gpus", "Complete"), "both pods ran eventually"
    assert running_together == 1, "one GPU must not run two GPU pods at once"
