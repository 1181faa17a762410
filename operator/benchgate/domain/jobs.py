"""Pure builders for the objects a VerificationRun creates: Jobs and result ConfigMaps.

Each builder returns a plain dict manifest with a deterministic name, so re-creating it
after an operator restart is a no-op (the API answers 409). One pod = one replicate:
a Job has `completions` = its share of the replicates, each pod a fresh process.

Jobs are Indexed (`completionMode: Indexed`): Kubernetes gives each pod a completion
index (env JOB_COMPLETION_INDEX), and the workload names its replicate
pod-<first replicate of the Job + index>. Replicate i of every run therefore has the
same name and the same training seed (seed = base + i), whatever random suffix its pod
got, and a pod that failed and was retried keeps its index. Baseline and candidate thus
sample the same seeds, and their seed-to-seed spread does not pass for a platform change.

Any-image workloads (docs/any-image.md) run in their own containers, one after another
as init containers (in suite order, so they never share the node with each other or
with the built-ins), before the built-in runner, which is the main container; a suite
without built-ins makes its last step the main container. A workload with
`resultFrom: File` writes its document to $BENCHGATE_RESULT_FILE on an emptyDir, and
the next step, the verification image's `benchgate-workload relay`, prints it between
the markers. Which containers' logs hold documents is written on the pod template
(`RESULT_CONTAINERS_ANNOTATION`), so the collector reads exactly those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from benchgate.api import crd
from benchgate.api.result import ResultDocument
from benchgate.api.suite import JobTemplateSpec, SuiteSpec, WorkloadSpec
from benchgate.domain.names import job_name
from benchgate.domain.sampling import (
    components_note,
    look_schedule,
    recommend_plan,
    sequential_plan,
)
from benchgate.domain.verdict import EngineSettings

WORKLOAD_COMMAND: Final = "benchgate-workload"
CONTAINER_NAME: Final = "workload"
RESULT_CONTAINERS_ANNOTATION: Final = f"{crd.GROUP}/result-containers"
RESULTS_VOLUME: Final = "benchgate-results"
RESULTS_MOUNT: Final = "/benchgate/results"
RESULT_FILE_ENV: Final = "BENCHGATE_RESULT_FILE"
TMP_SIZE_LIMIT: Final = "2Gi"
DEFAULT_REPLICATES: Final = 3  # with no baseline to plan from: the engine's minimum
PinMode = Literal["affinity", "nodeName"]


@dataclass(frozen=True)
class Owner:
    api_version: str
    kind: str
    name: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True)
class JobRequest:
    run_name: str
    namespace: str
    suite_name: str
    platform_key: str
    platform_class: str
    image: str
    size: str
    workloads: tuple[WorkloadSpec, ...]
    repetitions: int
    replicates: int
    nodes: tuple[str, ...]
    concurrency: int
    timeout_seconds: int
    template: JobTemplateSpec
    node_selector: Mapping[str, str]
    owner: Owner
    pin: PinMode = "affinity"
    first_index: int = 0  # Job names continue across the looks of a sequential run
    first_replicate: int = 0  # so do replicate numbers (and thus training seeds)


def split(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as possible, larger shares first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def child_labels(run_name: str, suite: str, platform_key: str) -> dict[str, str]:
    return {
        crd.LABEL_NAME: "benchgate",
        crd.LABEL_COMPONENT: "verification",
        crd.LABEL_PART_OF: "benchgate",
        crd.LABEL_MANAGED_BY: crd.MANAGED_BY,
        crd.LABEL_SUITE: suite,
        crd.LABEL_RUN: run_name,
        crd.LABEL_PLATFORM: platform_key[:8],
    }


def workload_args(req: JobRequest) -> list[str]:
    args = [
        "run",
        "--size",
        req.size,
        # pod-<first_replicate + JOB_COMPLETION_INDEX>: see the module docstring.
        "--replicate-from-index",
        str(req.first_replicate),
        "--repetitions",
        str(req.repetitions),
    ]
    for workload in req.workloads:
        if workload.container is not None:
            continue  # runs in its own container (any_image_steps)
        args += ["--workload", workload.name]
        if workload.repetitions is not None:
            # A workload's own repetitions beat the plan's, as in `benchgate run`.
            args += ["--workload-repetitions", f"{workload.name}={workload.repetitions}"]
        if workload.model is not None:
            for key, value in workload.model.options():
                args += ["--workload-option", f"{workload.name}.{key}={value}"]
    args += [
        "--suite-name",
        req.suite_name,
        "--run-name",
        req.run_name,
        "--platform",
        req.platform_class,
    ]
    return args


# The variables the operator sets in every workload container. The CRD refuses a suite
# whose jobTemplate.env names one (tests/unit/test_jobs.py keeps the two lists equal), so
# a user's value is never silently dropped.
OPERATOR_ENV: Final[tuple[dict[str, Any], ...]] = (
    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    # Read-only root filesystem: everything that caches writes under /tmp.
    {"name": "HOME", "value": "/tmp"},
    {"name": "TMPDIR", "value": "/tmp"},
    {"name": "XDG_CACHE_HOME", "value": "/tmp/.cache"},
    {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
)
RESERVED_ENV: Final = tuple(e["name"] for e in OPERATOR_ENV)
# What an any-image container is told about its run (docs/any-image.md). Its replicate
# id is pod-<BENCHGATE_REPLICATE_OFFSET + JOB_COMPLETION_INDEX> (Kubernetes sets the index).
ANY_IMAGE_ENV: Final = (
    "BENCHGATE_WORKLOAD",
    "BENCHGATE_SIZE",
    "BENCHGATE_REPETITIONS",
    "BENCHGATE_REPLICATE_OFFSET",
    "BENCHGATE_SUITE",
    "BENCHGATE_RUN",
    "BENCHGATE_PLATFORM",
    RESULT_FILE_ENV,
)
ANY_IMAGE_RESERVED_ENV: Final = RESERVED_ENV + ANY_IMAGE_ENV


def _security(req: JobRequest) -> dict[str, Any]:
    sec = req.template.security
    # The API server refuses allowPrivilegeEscalation: false with privileged: true or an
    # added CAP_SYS_ADMIN (either already allows escalation): say what the pod really is.
    escalates = (
        sec.allow_privilege_escalation
        or sec.privileged
        or bool({"SYS_ADMIN", "CAP_SYS_ADMIN"} & set(sec.add_capabilities))
    )
    security: dict[str, Any] = {
        "allowPrivilegeEscalation": escalates,
        "readOnlyRootFilesystem": sec.read_only_root_filesystem,
        "privileged": sec.privileged,
        "capabilities": {"drop": ["ALL"]},
    }
    if sec.add_capabilities:
        security["capabilities"]["add"] = list(sec.add_capabilities)
    return security


def _template_env(req: JobRequest) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [dict(e) for e in OPERATOR_ENV]
    reserved = [n for n, _ in req.template.env if n in RESERVED_ENV]
    if reserved:  # the CRD refuses these; a hand-built request must not lose them silently
        raise ValueError(f"jobTemplate.env may not set {', '.join(reserved)} (set by the operator)")
    return env + [{"name": n, "value": v} for n, v in req.template.env]


def _container(req: JobRequest) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": req.image,
        "command": [WORKLOAD_COMMAND],
        "args": workload_args(req),
        "env": _template_env(req),
        "securityContext": _security(req),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if req.template.resources:
        container["resources"] = {k: dict(v) for k, v in req.template.resources.items()}
    if req.template.image_pull_policy:
        container["imagePullPolicy"] = req.template.image_pull_policy
    return container


def step_name(workload: WorkloadSpec, index: int) -> str:
    """The container of an any-image workload: its name as a DNS label when it fits."""
    name = workload.name.replace("_", "-")
    return name if len(name) <= 56 and name != CONTAINER_NAME else f"{CONTAINER_NAME}-{index}"


def _any_image_container(req: JobRequest, workload: WorkloadSpec, index: int) -> dict[str, Any]:
    spec = workload.container
    assert spec is not None
    reserved = [n for n, _ in spec.env if n in ANY_IMAGE_RESERVED_ENV]
    if reserved:  # the CRD refuses these too
        raise ValueError(f"{workload.name}: env may not set {', '.join(reserved)}")
    told = {
        "BENCHGATE_WORKLOAD": workload.name,
        "BENCHGATE_SIZE": req.size,
        "BENCHGATE_REPETITIONS": str(workload.repetitions or req.repetitions),
        "BENCHGATE_REPLICATE_OFFSET": str(req.first_replicate),
        "BENCHGATE_SUITE": req.suite_name,
        "BENCHGATE_RUN": req.run_name,
        "BENCHGATE_PLATFORM": req.platform_class,
    }
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if spec.result_file:
        told[RESULT_FILE_ENV] = f"{RESULTS_MOUNT}/{workload.name}.json"
        mounts.append({"name": RESULTS_VOLUME, "mountPath": RESULTS_MOUNT})
    own = dict(spec.env)
    # The suite-wide jobTemplate.env applies to every container; the workload's own wins.
    env = [e for e in _template_env(req) if e["name"] not in own]
    env += [{"name": n, "value": v} for n, v in told.items()]
    env += [{"name": n, "value": v} for n, v in spec.env]
    container: dict[str, Any] = {
        "name": step_name(workload, index),
        "image": spec.image,
        "command": list(spec.command),
        "env": env,
        "securityContext": _security(req),
        "volumeMounts": mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if spec.args:
        container["args"] = list(spec.args)
    resources = spec.resources or req.template.resources
    if resources:
        container["resources"] = {k: dict(v) for k, v in resources.items()}
    if req.template.image_pull_policy:
        container["imagePullPolicy"] = req.template.image_pull_policy
    return container


def _relay_container(req: JobRequest, workload: WorkloadSpec, index: int) -> dict[str, Any]:
    """Prints a file-mode workload's document for the operator (it reads logs only)."""
    container: dict[str, Any] = {
        "name": f"{step_name(workload, index)}-relay",
        "image": req.image,
        "command": [WORKLOAD_COMMAND],
        "args": ["relay", f"{RESULTS_MOUNT}/{workload.name}.json"],
        "env": [dict(e) for e in OPERATOR_ENV],
        "securityContext": _security(req),
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": RESULTS_VOLUME, "mountPath": RESULTS_MOUNT, "readOnly": True},
        ],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if req.template.image_pull_policy:
        container["imagePullPolicy"] = req.template.image_pull_policy
    return container


def pod_steps(req: JobRequest) -> tuple[list[dict[str, Any]], list[str]]:
    """Every container of a verification pod in the order they run, and those whose log
    holds a result document: `container=workload` for an any-image step (the document
    must report that workload alone), `container` for the built-in runner."""
    steps: list[dict[str, Any]] = []
    results: list[str] = []
    for index, workload in enumerate(req.workloads):
        if workload.container is None:
            continue
        step = _any_image_container(req, workload, index)
        steps.append(step)
        if workload.container.result_file:
            relay = _relay_container(req, workload, index)
            steps.append(relay)
            results.append(f"{relay['name']}={workload.name}")
        else:
            results.append(f"{step['name']}={workload.name}")
    if any(w.container is None for w in req.workloads):
        steps.append(_container(req))
        results.append(CONTAINER_NAME)
    return steps, results


def _pod_spec(req: JobRequest, node: str) -> dict[str, Any]:
    sec = req.template.security
    pod_security: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    if sec.run_as_non_root:
        pod_security.update(
            runAsNonRoot=True,
            runAsUser=sec.run_as_user,
            runAsGroup=sec.run_as_user,
            fsGroup=sec.run_as_user,
        )
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,  # workloads never talk to the API
        "enableServiceLinks": False,
        "securityContext": pod_security,
        "containers": [],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}}],
        "terminationGracePeriodSeconds": 10,
    }
    steps, _ = pod_steps(req)
    # Init containers run one after another, to completion, before the main container:
    # a benchmark never shares the node with another step of its own pod.
    if len(steps) > 1:
        spec["initContainers"] = steps[:-1]
    spec["containers"] = steps[-1:]
    if any(w.container is not None and w.container.result_file for w in req.workloads):
        spec["volumes"].append({"name": RESULTS_VOLUME, "emptyDir": {"sizeLimit": "16Mi"}})
    if req.node_selector:
        spec["nodeSelector"] = dict(req.node_selector)
    if req.pin == "nodeName":
        spec["nodeName"] = node
    else:
        # Pin through the scheduler (resources and taints still apply), like DaemonSets do.
        spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": [node]}
                            ]
                        }
                    ]
                }
            }
        }
    if req.template.tolerations:
        spec["tolerations"] = [dict(t) for t in req.template.tolerations]
    if req.template.runtime_class_name:
        spec["runtimeClassName"] = req.template.runtime_class_name
    if req.template.priority_class_name:
        spec["priorityClassName"] = req.template.priority_class_name
    if req.template.service_account_name:
        spec["serviceAccountName"] = req.template.service_account_name
    return spec


def build_jobs(req: JobRequest) -> list[dict[str, Any]]:
    """One Job per chosen node; the replicates and the concurrency are split between them."""
    if not req.nodes:
        raise ValueError("a VerificationRun needs at least one node")
    if req.replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {req.replicates}")
    nodes = req.nodes[: req.replicates]  # never a Job with zero completions
    completions = split(req.replicates, len(nodes))
    parallel = split(max(req.concurrency, len(nodes)), len(nodes))
    jobs = []
    first_replicate = req.first_replicate
    for offset, (node, count) in enumerate(zip(nodes, completions, strict=True)):
        index = req.first_index + offset
        job_req = replace(req, first_replicate=first_replicate)
        first_replicate += count
        labels = child_labels(req.run_name, req.suite_name, req.platform_key)
        jobs.append(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": job_name(req.run_name, index),
                    "namespace": req.namespace,
                    "labels": labels,
                    "annotations": {f"{crd.GROUP}/node": node},
                    "ownerReferences": [req.owner.reference()],
                },
                "spec": {
                    "completionMode": "Indexed",
                    "completions": count,
                    "parallelism": max(1, min(parallel[offset], count)),
                    "backoffLimit": req.template.backoff_limit,
                    "activeDeadlineSeconds": req.timeout_seconds,
                    "ttlSecondsAfterFinished": req.template.ttl_seconds_after_finished,
                    "template": {
                        "metadata": {
                            "labels": labels,
                            "annotations": {
                                RESULT_CONTAINERS_ANNOTATION: ",".join(pod_steps(job_req)[1])
                            },
                        },
                        "spec": _pod_spec(job_req, node),
                    },
                },
            }
        )
    return jobs


def staged_jobs(req: JobRequest, stages: list[int], upto: int) -> list[list[dict[str, Any]]]:
    """The Jobs of each look 0..upto of a run whose looks fall at `stages` replicates.

    Look k adds stages[k] - stages[k-1] replicates; Job names continue from the previous
    look's, so every look's Jobs have deterministic names and a restart re-derives which
    look the run is at from the Jobs that exist. A fixed plan is the one-look case.
    """
    out: list[list[dict[str, Any]]] = []
    done = 0
    index = 0
    for k in range(upto + 1):
        # The run reads every look's pods when its last look ends: keep a look's Jobs (and
        # so their pods' logs) for the time the later looks may still take.
        later = req.timeout_seconds * (len(stages) - 1 - k)
        ttl = req.template.ttl_seconds_after_finished + later
        template = replace(req.template, ttl_seconds_after_finished=ttl)
        look = build_jobs(
            replace(
                req,
                replicates=stages[k] - done,
                first_index=index,
                first_replicate=done,
                template=template,
            )
        )
        out.append(look)
        done = stages[k]
        index += len(look)
    return out


def results_configmap(
    name: str, namespace: str, owner: Owner, document_json: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    """A ConfigMap holding a merged result document, owned (and GC'd) with its owner."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "ownerReferences": [owner.reference()],
        },
        "data": {crd.RESULT_DATA_KEY: document_json},
    }


def sampling_plan(
    suite: SuiteSpec, baseline: ResultDocument | Sequence[ResultDocument] | None
) -> dict[str, Any]:
    """Replicates (pods) and repetitions for a run, as written to its status.plan.

    The suite's fixed numbers win; `replicates: 0` asks the verdict engine for the
    cheapest plan with enough power given the baseline's variance components. In
    `sequential` mode with a baseline the replicates are a maximum and `looks` lists the
    counts at which the run looks at its data (`sampling.sequential_decision`); a
    recommended maximum grows to the sample budget, as group-sequential designs do.
    """
    sampling = suite.sampling
    settings = EngineSettings.from_spec(suite.statistics, suite.sampling)
    if sampling.replicates > 0:
        plan: dict[str, Any] = {
            "replicates": sampling.replicates,
            "repetitions": sampling.repetitions,
            "why": "spec.sampling.replicates",
        }
        if baseline is not None:
            plan["why"] += f"; {components_note(baseline, settings)}"
    elif baseline is None:
        plan = {
            "replicates": DEFAULT_REPLICATES,
            "repetitions": sampling.repetitions,
            "why": f"no baseline to plan from: {DEFAULT_REPLICATES} replicates",
        }
    else:
        recommended = recommend_plan(baseline, settings, max_samples=sampling.max_samples)
        if sampling.mode == "sequential":
            recommended = sequential_plan(recommended, max_samples=sampling.max_samples)
        plan = {
            "replicates": recommended.replicates,
            "repetitions": recommended.repetitions,
            "why": recommended.why,
        }
    if sampling.mode == "sequential" and baseline is not None:
        # Looks need a baseline to compare with; the first run of a class runs its plan.
        looks = look_schedule(plan["replicates"], first=settings.min_replicates)
        if len(looks) > 1:
            plan["looks"] = list(looks)
            plan["why"] += (
                f"; sequential: looks at {', '.join(map(str, looks))} "
                "replicates, stopping at the first that decides"
            )
    plan["why"] = plan["why"][:4096]
    return plan
