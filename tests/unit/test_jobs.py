"""Job builder: pinned, hardened, one pod per replicate, deterministic."""

from __future__ import annotations

from typing import Any

from benchgate.api.suite import JobTemplateSpec, SecuritySpec, WorkloadSpec
from benchgate.domain.jobs import JobRequest, Owner, build_jobs, results_configmap, staged_jobs

OWNER = Owner("benchgate.dev/v1alpha1", "VerificationRun", "pool-abcdef01-123456", "uid-1")


def request(**kw: Any) -> JobRequest:
    base: dict[str, Any] = dict(
        run_name="pool-abcdef01-123456",
        namespace="ns",
        suite_name="pool",
        platform_key="abcdef01" + "0" * 56,
        platform_class="h100-80gb-550",
        image="img:1",
        size="tiny",
        workloads=(WorkloadSpec("gemm_throughput"), WorkloadSpec("numerics_probe")),
        repetitions=3,
        replicates=5,
        nodes=("gpu-a", "gpu-b"),
        concurrency=3,
        timeout_seconds=600,
        template=JobTemplateSpec(),
        node_selector={"pool": "h100"},
        owner=OWNER,
    )
    base.update(kw)
    return JobRequest(**base)


def test_replicates_and_concurrency_are_split_across_pinned_nodes() -> None:
    jobs = build_jobs(request())
    assert [j["metadata"]["name"] for j in jobs] == [
        "pool-abcdef01-123456-0",
        "pool-abcdef01-123456-1",
    ]
    assert [j["spec"]["completions"] for j in jobs] == [3, 2]
    assert sum(j["spec"]["parallelism"] for j in jobs) <= 3
    for job, node in zip(jobs, ("gpu-a", "gpu-b"), strict=True):
        pod = job["spec"]["template"]["spec"]
        term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["nodeSelectorTerms"][0]["matchFields"][0]["values"] == [node]
        assert pod["nodeSelector"] == {"pool": "h100"}
        assert pod["restartPolicy"] == "Never"
    assert build_jobs(request()) == jobs, "the builder must be deterministic"


def test_pods_are_hardened_by_default_with_a_writable_tmp() -> None:
    (job,) = build_jobs(request(nodes=("gpu-a",)))
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert pod["automountServiceAccountToken"] is False
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert job["spec"]["backoffLimit"] == 0
    assert job["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert job["metadata"]["labels"]["benchgate.dev/run"] == "pool-abcdef01-123456"


def test_command_runs_the_workloads_as_indexed_replicates() -> None:
    (job,) = build_jobs(request(nodes=("gpu-a",)))
    assert job["spec"]["completionMode"] == "Indexed"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["benchgate-workload"]
    args = container["args"]
    assert args[:3] == ["run", "--size", "tiny"]
    assert "--replicate" not in args, "a pod's random name must not name its replicate"
    assert args[args.index("--replicate-from-index") + 1] == "0"
    assert args[args.index("--repetitions") + 1] == "3"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--workload"] == [
        "gemm_throughput",
        "numerics_probe",
    ]
    pod_name = next(e for e in container["env"] if e["name"] == "POD_NAME")
    assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def replicate_names(jobs: list[dict[str, Any]]) -> list[str]:
    """The replicates the pods of these Jobs will be: pod-<offset + completion index>, as
    the workload computes it from --replicate-from-index and $JOB_COMPLETION_INDEX."""
    names = []
    for job in jobs:
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        offset = int(args[args.index("--replicate-from-index") + 1])
        names += [f"pod-{offset + i}" for i in range(job["spec"]["completions"])]
    return names


def test_replicate_i_of_every_run_has_the_same_name_whatever_the_run() -> None:
    baseline = build_jobs(request(run_name="pool-abcdef01-111111"))
    candidate = build_jobs(request(run_name="pool-abcdef01-222222"))
    expected = [f"pod-{i}" for i in range(5)]
    assert replicate_names(baseline) == replicate_names(candidate) == expected, (
        "replicates are numbered 0..n-1 across the run's Jobs, so baseline and candidate "
        "pair replicate by replicate (same name, same training seed)"
    )
    one_node = build_jobs(request(run_name="pool-abcdef01-333333", nodes=("gpu-a",)))
    assert replicate_names(one_node) == expected, "however the replicates are spread"


def test_sequential_looks_continue_the_replicate_numbers() -> None:
    looks = staged_jobs(request(replicates=9), [3, 6, 9], 2)
    assert [replicate_names(look) for look in looks] == [
        ["pod-0", "pod-1", "pod-2"],
        ["pod-3", "pod-4", "pod-5"],
        ["pod-6", "pod-7", "pod-8"],
    ]


def test_job_names_leave_room_for_the_pods_index_in_a_dns_label() -> None:
    import re

    from benchgate.domain.names import MAX_JOB_NAME, job_name

    assert job_name("pool-abcdef01-123456", 3) == "pool-abcdef01-123456-3", "short: unchanged"
    long_run = "a" * 50 + "-abcdef01-123456"
    dotted = "my.suite-abcdef01-123456"
    names = {job_name(r, i) for r in (long_run, dotted, "b" * 253) for i in (0, 1, 12)}
    assert len(names) == 9, "shortened names stay distinct"
    for name in names:
        assert len(name) <= MAX_JOB_NAME and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)
        assert len(f"{name}-99999") <= 63, "the pods' hostname <job>-<index> fits a DNS label"
    assert job_name(long_run, 1) == job_name(long_run, 1), "deterministic"


def test_suite_overrides_reach_the_pod() -> None:
    template = JobTemplateSpec(
        resources={"limits": {"nvidia.com/gpu": 1}},
        tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
        runtime_class_name="nvidia",
        priority_class_name="verify",
        env=(("BENCHGATE_INJECT_SLOWDOWN", "0.2"),),
        security=SecuritySpec(
            run_as_non_root=False,
            privileged=True,
            read_only_root_filesystem=False,
            add_capabilities=("SYS_ADMIN",),
        ),
    )
    (job,) = build_jobs(request(nodes=("gpu-a",), template=template, replicates=1, pin="nodeName"))
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["nodeName"] == "gpu-a" and "affinity" not in pod
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert pod["runtimeClassName"] == "nvidia" and pod["priorityClassName"] == "verify"
    assert container["resources"] == {"limits": {"nvidia.com/gpu": 1}}
    assert {"name": "BENCHGATE_INJECT_SLOWDOWN", "value": "0.2"} in container["env"]
    assert container["securityContext"]["privileged"] is True
    assert container["securityContext"]["capabilities"]["add"] == ["SYS_ADMIN"]
    assert "runAsNonRoot" not in pod["securityContext"]


def test_more_nodes_than_replicates_never_makes_an_empty_job() -> None:
    jobs = build_jobs(request(replicates=1))
    assert len(jobs) == 1 and jobs[0]["spec"]["completions"] == 1


def test_results_configmap_is_owned() -> None:
    cm = results_configmap("r-results", "ns", OWNER, "{}", {"a": "b"})
    assert cm["data"] == {"result.json": "{}"}
    assert cm["metadata"]["ownerReferences"][0]["kind"] == "VerificationRun"


def _suite(replicates: int, mode: str = "fixed") -> Any:
    from benchgate.api.suite import parse_suite

    return parse_suite(
        {
            "apiVersion": "benchgate.dev/v1alpha1",
            "kind": "RegressionSuite",
            "metadata": {"name": "s"},
            "spec": {
                "image": "i",
                "workloads": [{"name": "gemm_throughput"}],
                "sampling": {
                    "replicates": replicates,
                    "repetitions": 4,
                    "maxSamples": 40,
                    "mode": mode,
                },
            },
        }
    )


def test_sampling_plan_follows_the_spec_or_asks_the_engine() -> None:
    import random

    from benchgate.api.result import Metric, ReplicateSamples, ResultDocument, RunIdentity
    from benchgate.api.result import WorkloadResult as W
    from benchgate.domain.jobs import sampling_plan

    assert sampling_plan(_suite(5), None)["replicates"] == 5
    assert sampling_plan(_suite(0), None)["replicates"] == 3
    rng = random.Random(1)
    groups = tuple(
        ReplicateSamples(f"pod-{i}", tuple(100 * (1 + rng.gauss(0, 0.03)) for _ in range(5)))
        for i in range(4)
    )
    metric = Metric("gflops_fp32", "GFLOP/s", "higher", "continuous", groups)
    doc = ResultDocument(RunIdentity(), (W("gemm_throughput", "tiny", "ok", 1.0, (metric,)),))
    plan = sampling_plan(_suite(0), doc)
    assert plan["replicates"] >= 2 and plan["replicates"] * plan["repetitions"] <= 40, plan
    assert plan["why"] and plan["why"] != "spec.sampling.replicates"
    from benchgate.domain.sessions import SESSION_PRIOR_SD

    prior = f"session component: prior {SESSION_PRIOR_SD['throughput'] * 100:.2g} %"
    assert f"{prior} (throughput family)" in plan["why"], plan["why"]
    fixed = sampling_plan(_suite(5), doc)
    assert fixed["why"].startswith("spec.sampling.replicates; session component: prior"), fixed


def _baseline_doc() -> Any:
    import random

    from benchgate.api.result import Metric, ReplicateSamples, ResultDocument, RunIdentity
    from benchgate.api.result import WorkloadResult as W

    rng = random.Random(1)
    groups = tuple(
        ReplicateSamples(f"pod-{i}", tuple(100 * (1 + rng.gauss(0, 0.03)) for _ in range(5)))
        for i in range(4)
    )
    metric = Metric("gflops_fp32", "GFLOP/s", "higher", "continuous", groups)
    return ResultDocument(RunIdentity(), (W("gemm_throughput", "tiny", "ok", 1.0, (metric,)),))


def test_sequential_plans_look_only_with_a_baseline() -> None:
    from benchgate.domain.jobs import sampling_plan

    assert "looks" not in sampling_plan(_suite(9, "sequential"), None), (
        "the first run of a class has nothing to look against: it runs its plan"
    )
    plan = sampling_plan(_suite(9, "sequential"), _baseline_doc())
    assert plan["replicates"] == 9 and plan["looks"] == [3, 6, 9], plan
    assert "sequential" in plan["why"]
    recommended = sampling_plan(_suite(0, "sequential"), _baseline_doc())
    fixed = sampling_plan(_suite(0, "fixed"), _baseline_doc())
    assert recommended["replicates"] >= fixed["replicates"], "the cap grows to the budget"
    assert recommended["looks"][-1] == recommended["replicates"]
    assert "looks" not in fixed


def test_each_look_adds_its_replicates_under_new_deterministic_names() -> None:
    looks = staged_jobs(request(replicates=9), [3, 6, 9], 2)
    names = [[j["metadata"]["name"] for j in look] for look in looks]
    assert names == [
        [f"pool-abcdef01-123456-{i}" for i in pair] for pair in ((0, 1), (2, 3), (4, 5))
    ]
    assert [[j["spec"]["completions"] for j in look] for look in looks] == [[2, 1]] * 3
    assert staged_jobs(request(replicates=9), [3, 6, 9], 0) == looks[:1], (
        "a look's Jobs do not depend on how far the run has got"
    )
    assert staged_jobs(request(), [5], 0) == [build_jobs(request())], (
        "a fixed plan is the one-look case, with the names it always had"
    )


def test_earlier_looks_keep_their_jobs_until_the_last_look_can_end() -> None:
    # The run reads every look's pod logs when its last look ends; a look's Jobs (and
    # their pods) must outlive the later looks, each of which may take timeoutSeconds.
    looks = staged_jobs(request(replicates=9, timeout_seconds=600), [3, 6, 9], 2)
    ttls = [{j["spec"]["ttlSecondsAfterFinished"] for j in look} for look in looks]
    assert ttls == [{3600 + 1200}, {3600 + 600}, {3600}], ttls


def test_the_operators_own_env_cannot_be_overridden_and_the_crd_refuses_it() -> None:
    import yaml

    from benchgate.api.suite_schema import CRD_FILE
    from benchgate.domain.jobs import RESERVED_ENV

    (job,) = build_jobs(request(nodes=("gpu-a",)))
    env = {e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert set(RESERVED_ENV) <= env
    crd = yaml.safe_load(CRD_FILE.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    item = schema["properties"]["spec"]["properties"]["jobTemplate"]["properties"]["env"]["items"]
    (rule,) = item["x-kubernetes-validations"]
    listed = rule["rule"].split("[", 1)[1].split("]", 1)[0]
    assert [n.strip(" '") for n in listed.split(",")] == list(RESERVED_ENV), (
        "the CRD's reserved env names and OPERATOR_ENV in domain/jobs.py must be the same list"
    )
    template = JobTemplateSpec(env=(("HOME", "/home/me"),))
    try:
        build_jobs(request(nodes=("gpu-a",), template=template))
    except ValueError as exc:
        assert "HOME" in str(exc)
    else:
        raise AssertionError("a reserved variable must be refused, not silently dropped")


def shell_workload(name: str, *, result_file: bool = False) -> WorkloadSpec:
    from benchgate.api.suite import ContainerSpec

    return WorkloadSpec(
        name,
        container=ContainerSpec(
            image="busybox:1.36",
            command=("sh", "-c"),
            args=("echo $(BENCHGATE_WORKLOAD)",),
            env=(("MODE", "fast"),),
            resources={"limits": {"cpu": "1"}},
            result_file=result_file,
        ),
    )


def test_any_image_workloads_run_one_after_another_before_the_built_ins() -> None:
    from benchgate.domain.jobs import RESULT_CONTAINERS_ANNOTATION, RESULTS_MOUNT

    workloads = (
        shell_workload("first_probe"),
        WorkloadSpec("numerics_probe"),
        shell_workload("file_probe", result_file=True),
    )
    (job,) = build_jobs(request(nodes=("gpu-a",), workloads=workloads, first_replicate=4))
    template = job["spec"]["template"]
    pod = template["spec"]
    steps = [c["name"] for c in pod["initContainers"]] + [c["name"] for c in pod["containers"]]
    assert steps == ["first-probe", "file-probe", "file-probe-relay", "workload"]
    assert template["metadata"]["annotations"][RESULT_CONTAINERS_ANNOTATION] == (
        "first-probe=first_probe,file-probe-relay=file_probe,workload"
    )
    first = pod["initContainers"][0]
    assert first["image"] == "busybox:1.36" and first["command"] == ["sh", "-c"]
    assert first["args"] == ["echo $(BENCHGATE_WORKLOAD)"], "the kubelet expands $(VAR)"
    env = {e["name"]: e.get("value") for e in first["env"]}
    assert env["BENCHGATE_WORKLOAD"] == "first_probe" and env["MODE"] == "fast"
    assert env["BENCHGATE_REPLICATE_OFFSET"] == "4" and "BENCHGATE_RESULT_FILE" not in env
    assert first["resources"] == {"limits": {"cpu": "1"}}
    assert first["securityContext"]["readOnlyRootFilesystem"] is True
    file_step, relay = pod["initContainers"][1:]
    path = {e["name"]: e.get("value") for e in file_step["env"]}["BENCHGATE_RESULT_FILE"]
    assert path == f"{RESULTS_MOUNT}/file_probe.json"
    assert relay["image"] == "img:1" and relay["args"] == ["relay", path]
    assert any(v["name"] == "benchgate-results" for v in pod["volumes"])
    runner = pod["containers"][0]
    assert "first_probe" not in runner["args"] and "numerics_probe" in runner["args"]


def test_a_suite_of_any_image_workloads_only_ends_with_its_last_step() -> None:
    (job,) = build_jobs(
        request(nodes=("gpu-a",), workloads=(shell_workload("a_probe"), shell_workload("b_probe")))
    )
    pod = job["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["a-probe"]
    assert [c["name"] for c in pod["containers"]] == ["b-probe"]


def test_suite_images_lists_every_image_a_suite_runs() -> None:
    from benchgate.api.suite import SuiteSpec, suite_images

    def suite(*workloads: WorkloadSpec) -> SuiteSpec:
        from benchgate.api.suite import SamplingSpec, StatisticsSpec

        return SuiteSpec("s", "ns", "tiny", "verify:1", workloads, SamplingSpec(), StatisticsSpec())

    assert suite_images(suite(WorkloadSpec("gemm_throughput"))) == ("verify:1",)
    assert suite_images(suite(shell_workload("a_probe"))) == ("busybox:1.36",)
    assert suite_images(suite(shell_workload("a_probe", result_file=True))) == (
        "verify:1",
        "busybox:1.36",
    ), "a file-mode workload's relay step runs the verification image"


def test_the_any_image_reserved_env_is_the_crds() -> None:
    import yaml

    from benchgate.api.suite_schema import CRD_FILE
    from benchgate.domain.jobs import ANY_IMAGE_RESERVED_ENV

    crd = yaml.safe_load(CRD_FILE.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    item = schema["properties"]["spec"]["properties"]["workloads"]["items"]
    (rule,) = item["properties"]["env"]["items"]["x-kubernetes-validations"]
    listed = rule["rule"].split("[", 1)[1].split("]", 1)[0]
    assert [n.strip(" '") for n in listed.split(",")] == list(ANY_IMAGE_RESERVED_ENV)


def test_a_user_model_reaches_the_workload_process() -> None:
    from benchgate.api.suite import ModelSpec

    model = ModelSpec("/models/m.pt", (3, 32, 32), 128)
    (job,) = build_jobs(
        request(nodes=("gpu-a",), workloads=(WorkloadSpec("prediction_consistency", model=model),))
    )
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    options = [args[i + 1] for i, a in enumerate(args) if a == "--workload-option"]
    assert options == [
        "prediction_consistency.model=/models/m.pt",
        "prediction_consistency.inputShape=3,32,32",
        "prediction_consistency.inputs=128",
    ]
