"""VerificationRun reconcile: plan -> Jobs -> logs -> result document -> verdict -> status.

Every step re-derives its progress from the API: the plan and chosen baseline are
written to status before any Job exists; Jobs have deterministic names; the merged
result document is stored in a ConfigMap the run owns, and once that exists the logs
are never read again (no double counting after a restart). The verdict is written
once; Events and metrics follow that single transition.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

import kopf

from benchgate import metrics
from benchgate.api import conditions as c
from benchgate.api import crd
from benchgate.api.result import (
    MAX_DOCUMENT_BYTES,
    FingerprintField,
    ResultDocument,
    ResultDocumentError,
    dumps,
    extract_from_log,
    loads,
    merge_documents,
)
from benchgate.api.suite import (
    JobTemplateSpec,
    SuiteSpec,
    SuiteSpecError,
    parse_suite,
)
from benchgate.controllers import events, state
from benchgate.controllers.guard import guarded
from benchgate.controllers.nodes import NodeSnapshot, nodes_from_index
from benchgate.domain import gating, policy
from benchgate.domain import status as st
from benchgate.domain.acceptance import Acceptance, AcceptRequest, accept_refusal
from benchgate.domain.acceptance import verdict_refusal as acceptable_verdict
from benchgate.domain.anchor import (
    DriftFinding,
    baseline_is_anchor,
    choose_anchor,
    drift_finding,
)
from benchgate.domain.baseline import (
    MAX_SESSIONS,
    BaselineRecord,
    FirstRunRecord,
    SessionCandidate,
    baseline_record,
    choose_baseline,
    earlier_first_runs,
    session_refusal,
)
from benchgate.domain.concurrent import compare_concurrent
from benchgate.domain.control import (
    CONCURRENT,
    ControlChoice,
    ControlNode,
    choose_control,
    fallback,
)
from benchgate.domain.fitness import (
    baseline_problems,
    promotion_refusal,
    refusal,
    verdict_refusal,
)
from benchgate.domain.jobs import (
    CONTAINER_NAME,
    RESULT_CONTAINERS_ANNOTATION,
    JobRequest,
    Owner,
    child_labels,
    results_configmap,
    sampling_plan,
    staged_jobs,
)
from benchgate.domain.names import (
    baseline_name,
    control_name,
    control_results_configmap_name,
    results_configmap_name,
    samples_configmap_name,
    session_configmap_name,
)
from benchgate.domain.platform import LABEL_PREFIX, Platform, node_platform
from benchgate.domain.pods import stuck_reason
from benchgate.domain.sampling import SamplingPlan, SequentialDecision, sequential_decision
from benchgate.domain.tolerance import plan_rows
from benchgate.domain.verdict import compare_documents, settings_and_overrides
from benchgate.k8s.errors import Failure

LOG_LIMIT_BYTES: Final = MAX_DOCUMENT_BYTES + 256 * 1024  # document + progress lines
FAILURE_LOG_TAIL: Final = 600


class Finished(Exception):
    """Raised inside the reconcile to end it with a final outcome."""

    def __init__(self, outcome: st.RunOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


# ------------------------------------------------------------------------ helpers


def owner_of(body: Mapping[str, Any]) -> Owner:
    meta = body["metadata"]
    return Owner(
        str(body.get("apiVersion", crd.API_VERSION)),
        str(body.get("kind")),
        meta["name"],
        meta["uid"],
    )


async def load_document(namespace: str, configmap: str) -> ResultDocument | None:
    cm = await state.api().get("ConfigMap", namespace, configmap)
    if cm is None:
        return None
    text = (cm.get("data") or {}).get(crd.RESULT_DATA_KEY)
    if not text:
        return None
    return loads(text)


async def baseline_records(namespace: str, selector: str = "") -> list[BaselineRecord]:
    objs = await state.api().list_custom(crd.BASELINE_PLURAL, namespace, selector)
    return [
        baseline_record(o, state.parse_time(o["metadata"].get("creationTimestamp"))) for o in objs
    ]


async def read_baseline(
    namespace: str, name: str
) -> tuple[dict[str, Any] | None, ResultDocument | None, str]:
    """The RegressionBaseline, its document, and why the document is missing ("" if not)."""
    obj = await state.api().get(crd.BASELINE_KIND, namespace, name)
    if obj is None:
        return None, None, f"baseline {name} was deleted"
    cm = str((obj.get("spec") or {}).get("samplesConfigMap", ""))
    try:
        document = await load_document(namespace, cm)
    except ResultDocumentError as exc:
        return obj, None, f"the samples of baseline {name} are unreadable ({cm}: {exc})"
    if document is None:
        return obj, None, f"the samples of baseline {name} are gone (ConfigMap {cm})"
    return obj, document, ""


async def baseline_document(
    namespace: str, name: str
) -> tuple[dict[str, Any] | None, ResultDocument | None]:
    obj, document, _ = await read_baseline(namespace, name)
    return obj, document


async def later_sessions(namespace: str, baseline: str) -> list[tuple[int, str, ResultDocument]]:
    """(k, source run, document) of each later session of `baseline` that exists
    (`<baseline>-samples-<k>`, k = 2..MAX_SESSIONS; domain/baseline.py). Deterministic
    names, so no list call; an unreadable session is left out, never fatal."""
    out: list[tuple[int, str, ResultDocument]] = []
    for k in range(2, MAX_SESSIONS + 1):
        cm = await state.api().get("ConfigMap", namespace, session_configmap_name(baseline, k))
        text = ((cm or {}).get("data") or {}).get(crd.RESULT_DATA_KEY)
        if cm is None or not text:
            continue
        try:
            document = loads(text)
        except ResultDocumentError:
            continue
        source = str(((cm.get("metadata") or {}).get("labels") or {}).get(crd.LABEL_RUN, ""))
        out.append((k, source, document))
    return out


async def baseline_sessions(
    namespace: str, baseline: str, first: ResultDocument, run: str
) -> list[ResultDocument]:
    """Every session of `baseline` the run `run` is judged against: the promoted run's,
    then the later ones -- never the run's own (a restart after it became one)."""
    later = await later_sessions(namespace, baseline)
    return [first, *(doc for _, source, doc in later if source != run)]


def kubernetes_group(
    node: NodeSnapshot | None, node_name: str, image_id: str, platform: Platform
) -> dict[str, FingerprintField]:
    """What the pod cannot see about itself, from the API's view of node and pod."""

    def field(value: Any) -> FingerprintField:
        if node is None:
            return FingerprintField(None, "unavailable", "kubernetes")
        return FingerprintField(value, "ok", "kubernetes")

    info = node.node_info if node else {}
    group = {
        "node_name": FingerprintField(node_name, "ok", "kubernetes"),
        "kernel_version": field(info.get("kernelVersion")),
        "os_image": field(info.get("osImage")),
        "container_runtime_version": field(info.get("containerRuntimeVersion")),
        "kubelet_version": field(info.get("kubeletVersion")),
        "architecture": field(info.get("architecture")),
        "image_id": FingerprintField(
            image_id or None, "ok" if image_id else "unavailable", "pod.status.containerStatuses"
        ),
    }
    for name, value in platform.fields:
        if name.startswith(LABEL_PREFIX):
            group[name] = FingerprintField(value, "ok", "kubernetes")
    return group


def job_failed(job: Mapping[str, Any]) -> tuple[str, str] | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Failed" and cond.get("status") == "True":
            return str(cond.get("reason", "")), str(cond.get("message", ""))
    return None


def job_complete(job: Mapping[str, Any]) -> bool:
    return any(
        cond.get("type") == "Complete" and cond.get("status") == "True"
        for cond in (job.get("status") or {}).get("conditions") or []
    )


def failed_container(pod: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The first container (init containers first: they ran first) that exited non-zero,
    with its terminated state; else the first that terminated at all."""
    status = pod.get("status") or {}
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    ended = [
        (str(cs.get("name", "")), (cs.get("state") or {}).get("terminated") or {})
        for cs in statuses
    ]
    ended = [(n, t) for n, t in ended if t]
    return next(((n, t) for n, t in ended if t.get("exitCode") != 0), None) or next(
        iter(ended), None
    )


def pod_failure(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    name = pod["metadata"]["name"]
    if status.get("reason"):
        return f"pod {name}: {status.get('reason')}: {status.get('message', '')}".strip()
    found = failed_container(pod)
    if found is not None:
        container, term = found
        return (
            f"pod {name} container {container} exited {term.get('exitCode')} "
            f"({term.get('reason', '')}): {str(term.get('message', ''))[-FAILURE_LOG_TAIL:]}"
        ).strip()
    return f"pod {name} failed"


# ---------------------------------------------------------------------- reconcile


@kopf.timer(crd.GROUP, crd.VERSION, crd.RUN_PLURAL, interval=state.RUN_INTERVAL, initial_delay=0.2)
async def reconcile_run(**kwargs: Any) -> None:
    body = dict(kwargs["body"])
    name, namespace, logger = kwargs["name"], kwargs["namespace"], kwargs["logger"]

    async def end(failure: Failure) -> None:
        await end_run(body, failure, logger)

    await guarded(
        crd.RUN_KIND,
        f"VerificationRun {namespace}/{name}",
        lambda: _reconcile(body, name, namespace, kwargs["node_index"], logger),
        retry=int(kwargs.get("retry") or 0),
        logger=logger,
        on_permanent=end,
    )


async def _reconcile(
    body: dict[str, Any],
    name: str,
    namespace: str,
    node_index: Mapping[str, Any],
    logger: logging.Logger,
) -> None:
    api = state.api()
    status = dict(body.get("status") or {})
    if c.is_true(status.get("conditions") or [], c.COMPLETE):
        await handle_promotion(body, logger)
        return
    spec = body.get("spec") or {}
    suite_name = str((spec.get("suite") or {}).get("name", ""))
    suite_obj = await api.get(crd.SUITE_KIND, namespace, suite_name)
    if suite_obj is None:
        return  # the suite is being deleted: owner references remove this run
    try:
        suite = parse_suite(suite_obj)
    except SuiteSpecError as exc:
        # The suite says so in its own InvalidSpec condition and Event; the run waits
        # quietly (one status write, no log line per tick) until the suite is fixed.
        await write_outcome(
            body, st.pending(f"waiting: suite {suite_name} has an invalid spec: {exc}"), None
        )
        return
    platform = Platform.from_spec(spec.get("platform") or {})
    nodes = {n.name: n for n in nodes_from_index(node_index)}
    try:
        outcome = await _progress(body, status, suite, suite_obj, platform, nodes, logger)
    except Finished as finished:
        outcome = finished.outcome
    await write_outcome(body, outcome, suite_obj)


async def write_outcome(
    body: Mapping[str, Any], outcome: st.RunOutcome, suite_obj: Mapping[str, Any] | None
) -> None:
    """Write the run's whole status for `outcome` (nothing when an unfinished run's status
    would not change); a finished run is announced once, by Events and metrics."""
    meta = body["metadata"]
    spec = body.get("spec") or {}
    status = dict(body.get("status") or {})
    generation = int(meta.get("generation") or 0)
    outcome = dataclasses.replace(
        outcome,
        nodes=tuple(spec.get("nodes") or ()),
        plan=outcome.plan or status.get("plan"),
        baseline=outcome.baseline or status.get("baseline"),
        control=outcome.control or status.get("control"),
        started_at=outcome.started_at or str(status.get("startedAt") or ""),
        completed_at=state.now().strftime("%Y-%m-%dT%H:%M:%SZ") if outcome.complete else "",
        jobs=outcome.jobs or tuple(st.JobRow(**j) for j in status.get("jobs") or []),
        results_configmap=outcome.results_configmap or str(status.get("resultsConfigMap", "")),
    )
    new_status = st.run_status(
        outcome, status.get("conditions"), now=state.now(), generation=generation
    )
    if outcome.complete:
        new_status["metricsRecorded"] = True
    if (
        not outcome.complete
        and all(status.get(k) == v for k, v in new_status.items() if k != "conditions")
        and _same_conditions(status.get("conditions"), new_status["conditions"])
    ):
        return
    await state.api().patch_status(crd.RUN_PLURAL, meta["namespace"], meta["name"], new_status)
    if outcome.complete:
        announce(body, suite_obj, outcome, new_status)


async def end_run(body: Mapping[str, Any], failure: Failure, logger: logging.Logger) -> None:
    """A permanent error met while reconciling the run (guard.guarded): an unfinished run
    ends Invalid with reason ReconcileFailed; a finished run's requested promotion is
    refused with the reason. Either way the run is not retried."""
    meta = body["metadata"]
    status = body.get("status") or {}
    message = f"the operator could not finish this run: {failure.message} ({failure.reason})"
    if c.is_true(status.get("conditions") or [], c.COMPLETE):
        await refuse_promotion(body, f"promotion failed: {failure.message} ({failure.reason})")
        return
    suite_name = str(((body.get("spec") or {}).get("suite") or {}).get("name", ""))
    suite_obj = await state.api().get(crd.SUITE_KIND, meta["namespace"], suite_name)
    logger.info("run %s ends: %s", meta["name"], message)
    await write_outcome(body, st.reconcile_failed(message), suite_obj)


def _same_conditions(a: Sequence[Mapping[str, Any]] | None, b: Sequence[Mapping[str, Any]]) -> bool:
    return [dict(x) for x in (a or [])] == [dict(x) for x in b]


async def _progress(
    body: dict[str, Any],
    status: dict[str, Any],
    suite: SuiteSpec,
    suite_obj: dict[str, Any],
    platform: Platform,
    nodes: Mapping[str, NodeSnapshot],
    logger: logging.Logger,
) -> st.RunOutcome:
    api = state.api()
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    spec = body.get("spec") or {}
    plan = status.get("plan")
    baseline_info = status.get("baseline")

    # 1. Plan and baseline, persisted before any Job exists.
    if not plan:
        records = await baseline_records(namespace)
        choice = choose_baseline(suite.operator.baseline, suite.name, platform, records)
        base_doc = None
        base_docs: list[ResultDocument] = []
        if choice.baseline is not None:
            _, base_doc = await baseline_document(namespace, choice.baseline.name)
            if base_doc is not None:
                base_docs = await baseline_sessions(namespace, choice.baseline.name, base_doc, name)
        plan = sampling_plan(suite, base_docs or None)
        plan["tolerances"] = plan_rows(suite, base_doc)
        baseline_info = {
            "name": choice.baseline.name if choice.baseline else "",
            "why": choice.why[:4096],
        }
        if choice.distance is not None:
            baseline_info["distance"] = choice.distance
        control_choice = choose_control(
            suite.operator.baseline.control,
            platform,
            tuple(spec.get("nodes") or ()),
            choice.baseline.platform if choice.baseline is not None and base_doc else None,
            control_nodes(suite, nodes),
            sequential=bool(plan.get("looks")),
        )
        return dataclasses.replace(
            st.pending(
                f"plan: {plan['replicates']} replicate(s) x {plan['repetitions']} "
                f"repetition(s); {choice.why}; {control_choice.why}"[:2048]
            ),
            plan=plan,
            baseline=baseline_info,
            control=control_choice.status(),
        )

    # 2. Results already stored (a restart after collection): never read logs twice.
    cm_name = results_configmap_name(name)
    stored = await _stored_document(namespace, cm_name)
    if stored is not None:
        return await decide_outcome(
            body,
            suite,
            suite_obj,
            platform,
            stored,
            baseline_info,
            cm_name,
            logger,
            status.get("control"),
        )

    # 3. Jobs: create the missing ones (deterministic names: 409 = already there).
    request = JobRequest(
        run_name=name,
        namespace=namespace,
        suite_name=suite.name,
        platform_key=platform.key,
        platform_class=platform.platform_class,
        image=str(spec.get("image") or suite.image),
        size=suite.size,
        workloads=suite.workloads,
        repetitions=int(plan["repetitions"]),
        replicates=int(plan["replicates"]),
        nodes=tuple(spec.get("nodes") or ()),
        concurrency=suite.operator.concurrency,
        timeout_seconds=suite.operator.timeout_seconds,
        template=job_template(suite),
        node_selector=suite.operator.node_selector,
        owner=owner_of(body),
    )
    replicates = int(plan["replicates"])
    stages = [int(n) for n in plan.get("looks") or [replicates]]
    every_look = staged_jobs(request, stages, len(stages) - 1)
    selector = f"{crd.LABEL_RUN}={name}"
    jobs = {j["metadata"]["name"]: j for j in await api.list_jobs(namespace, selector)}
    # The look the run is at: the last one whose Jobs exist (the API is the record).
    look = max(
        (
            k
            for k, look_jobs in enumerate(every_look)
            if any(j["metadata"]["name"] in jobs for j in look_jobs)
        ),
        default=0,
    )
    wanted = [j for look_jobs in every_look[: look + 1] for j in look_jobs]
    started_at = str(status.get("startedAt") or "")
    if started_at and not jobs:
        raise Finished(
            st.workload_failed("the run's Jobs disappeared before results were collected")
        )
    control = dict(status.get("control") or {})
    required = suite.operator.baseline.control == "Required"
    if required and not jobs and control.get("design") != CONCURRENT:
        # Required: no Job starts before a control node exists (nodes come back).
        rechosen = await replan_control(suite, platform, spec, baseline_info, nodes, plan)
        if rechosen.wait:
            return dataclasses.replace(st.pending(rechosen.why[:2048]), control=rechosen.status())
        control = rechosen.status()
    # The control (domain/control.py): the same Jobs, pinned to the control node, under
    # a name of their own so this run's selector never collects them.
    control_node = str(control.get("node") or "") if control.get("design") == CONCURRENT else ""
    control_platform = platform
    control_wanted: list[dict[str, Any]] = []
    control_jobs: dict[str, Any] = {}
    if control_node:
        snap = nodes.get(control_node)
        if snap is not None:
            control_platform = node_platform(snap.labels, snap.node_info, suite.operator.platform)
        control_request = dataclasses.replace(
            request,
            run_name=control_name(name),
            platform_key=control_platform.key,
            platform_class=control_platform.platform_class,
            nodes=(control_node,),
        )
        control_wanted = staged_jobs(control_request, [replicates], 0)[0]
        control_jobs = {
            j["metadata"]["name"]: j
            for j in await api.list_jobs(namespace, f"{crd.LABEL_RUN}={control_name(name)}")
        }
        if jobs and not control_jobs:
            # The candidate's Jobs exist without the control's (the control Jobs were
            # deleted, or refused): a control started later would not be concurrent.
            control = fallback(control, "its Jobs do not exist")
            control_node = ""
            control_wanted = []
    missing = [m for m in wanted if m["metadata"]["name"] not in jobs] + [
        m for m in control_wanted if m["metadata"]["name"] not in control_jobs
    ]
    if missing:
        # The cluster policy may have changed since the suite was admitted: a run checks
        # its own image and the suite's pod settings again before any Job of it exists.
        refused = policy.pod_refusal(state.policy(), suite, request.image)
        if refused is not None:
            raise Finished(st.refused(refused.reason, refused.message))
    created_any = False
    for manifest in wanted:
        if manifest["metadata"]["name"] not in jobs:
            job, created = await api.create(manifest)
            jobs[job["metadata"]["name"]] = job
            created_any = created_any or created
    for manifest in control_wanted:  # at the same time as the candidate's
        if manifest["metadata"]["name"] not in control_jobs:
            job, _ = await api.create(manifest)
            control_jobs[job["metadata"]["name"]] = job
    if not started_at:
        started_at = state.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    if created_any and look == 0:
        message = (
            f"started {len(wanted)} Job(s), {stages[0]} replicate(s) on "
            f"{', '.join(spec.get('nodes') or [])}"
        )
        if len(stages) > 1:
            message += f" (sequential: looks at {', '.join(map(str, stages))} replicates)"
        if control_node:
            message += f"; the same replicates on control node {control_node} at the same time"
        events.post(body, warning=False, reason=c.VERIFICATION_STARTED, message=message)

    rows = tuple(
        st.JobRow(
            j,
            int((jobs[j].get("status") or {}).get("succeeded") or 0),
            int((jobs[j].get("status") or {}).get("failed") or 0),
        )
        for j in sorted(jobs)
    )
    # Each look has the whole timeout: measure it from when this look's Jobs were made.
    look_started = max(
        [state.parse_time(started_at)]
        + [
            state.parse_time(jobs[j["metadata"]["name"]]["metadata"].get("creationTimestamp"))
            for j in every_look[look]
            if j["metadata"]["name"] in jobs
        ]
    )

    # 4. Failures first: a deadline, a failed pod, a vanished node.
    pods = await api.list_pods(namespace, selector)
    failed_jobs = sum(1 for j in jobs.values() if job_failed(j) is not None)
    for job in jobs.values():
        failure = job_failed(job)
        if failure is None:
            continue
        reason, message = failure
        if reason == "DeadlineExceeded":
            raise Finished(
                dataclasses.replace(
                    st.timed_out(
                        f"Job {job['metadata']['name']} ran past spec.timeoutSeconds="
                        f"{suite.operator.timeout_seconds}"
                    ),
                    jobs=rows,
                    started_at=started_at,
                    failed_jobs=failed_jobs,
                )
            )
        failed = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
        details = [pod_failure(p) for p in failed[:3]]
        lost = [n for n in spec.get("nodes") or [] if n not in nodes]
        if lost:
            raise Finished(
                dataclasses.replace(
                    st.node_lost(f"node(s) {', '.join(lost)} disappeared during the run"),
                    jobs=rows,
                    errors=tuple(details),
                    started_at=started_at,
                    failed_jobs=failed_jobs,
                )
            )
        tail = await _failure_tail(namespace, failed[:1])
        raise Finished(
            dataclasses.replace(
                st.workload_failed(
                    f"Job {job['metadata']['name']} failed ({reason}: {message})"
                    + (f"; {details[0]}" if details else "")
                    + (f"; log: {tail}" if tail else "")
                ),
                jobs=rows,
                errors=tuple(details),
                started_at=started_at,
                failed_jobs=failed_jobs,
            )
        )
    if state.clock() > look_started + suite.operator.timeout_seconds + state.DEADLINE_GRACE_SECONDS:
        raise Finished(
            dataclasses.replace(
                st.timed_out(
                    f"no result within spec.timeoutSeconds={suite.operator.timeout_seconds}"
                ),
                jobs=rows,
                started_at=started_at,
                # Jobs still unfinished at the deadline delivered nothing: they failed.
                failed_jobs=sum(1 for j in jobs.values() if not job_complete(j)),
            )
        )
    if control_node:
        dropped = control_problem(
            control_jobs, control_wanted, control_node, nodes, look_started, suite
        )
        if dropped:
            logger.info("run %s: control dropped: %s", name, dropped)
            control = fallback(control, dropped)
            control_node = ""
    shown = rows + tuple(
        st.JobRow(
            j,
            int((control_jobs[j].get("status") or {}).get("succeeded") or 0),
            int((control_jobs[j].get("status") or {}).get("failed") or 0),
        )
        for j in sorted(control_jobs)
        if control_node
    )
    if not all(job_complete(j) for j in jobs.values()) or len(jobs) < len(wanted):
        done = sum(r.succeeded for r in rows)
        of = (
            f"{stages[look]} (look {look + 1} of {len(stages)}, at most {replicates})"
            if len(stages) > 1
            else str(replicates)
        )
        stuck = stuck_reason(
            pods,
            jobs,
            now=state.clock(),
            created_at=lambda j: state.parse_time(j["metadata"].get("creationTimestamp")),
        )
        message = f"{done} of {of} replicate(s) finished" + (f"; {stuck}" if stuck else "")
        return dataclasses.replace(
            st.running(message[:2048]), jobs=shown, started_at=started_at, control=control
        )
    if control_node and not all(job_complete(j) for j in control_jobs.values()):
        done = sum(
            int((j.get("status") or {}).get("succeeded") or 0) for j in control_jobs.values()
        )
        return dataclasses.replace(
            st.running(
                f"{replicates} of {replicates} replicate(s) finished; waiting for the control "
                f"on {control_node} ({done} of {replicates})"
            ),
            jobs=shown,
            started_at=started_at,
            control=control,
        )

    # 5. Collect: every succeeded pod's log, bounded, parsed strictly.
    document = await collect(namespace, pods, platform, nodes, stages[look])
    if look + 1 < len(stages):
        more = await _look(body, suite, plan, document, baseline_info)
        if more is not None:
            for manifest in every_look[look + 1]:
                await api.create(manifest)
            return dataclasses.replace(
                st.running(
                    f"look {look + 1} of {len(stages)} at {stages[look]} replicate(s): {more}"
                ),
                jobs=rows,
                started_at=started_at,
            )
    text = dumps(document)
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        raise Finished(
            dataclasses.replace(
                st.result_rejected(
                    f"merged result document is {len(text.encode())} bytes, over the "
                    f"{MAX_DOCUMENT_BYTES}-byte limit"
                ),
                jobs=rows,
                started_at=started_at,
            )
        )
    if control_node:
        # Stored before the candidate's results: once those exist the run never reads
        # logs again (step 2), and then judges with whatever control is stored.
        dropped = await store_control(
            body, suite, control_node, control_platform, nodes, replicates, baseline_info
        )
        if dropped:
            logger.info("run %s: control dropped: %s", name, dropped)
            control = fallback(control, dropped)
        else:
            control["resultsConfigMap"] = control_results_configmap_name(name)
    labels = child_labels(name, suite.name, platform.key)
    await api.create(results_configmap(cm_name, namespace, owner_of(body), text, labels))
    outcome = await decide_outcome(
        body, suite, suite_obj, platform, document, baseline_info, cm_name, logger, control
    )
    return dataclasses.replace(outcome, jobs=shown, started_at=started_at)


def control_problem(
    jobs: Mapping[str, Mapping[str, Any]],
    wanted: Sequence[Mapping[str, Any]],
    node: str,
    nodes: Mapping[str, NodeSnapshot],
    started: float,
    suite: SuiteSpec,
) -> str:
    """Why the control cannot be used any more ("" while it can): the candidate's run
    goes on without it."""
    for job_name_, job in sorted(jobs.items()):
        failure = job_failed(job)
        if failure is not None:
            return f"its Job {job_name_} failed ({failure[0]}: {failure[1]})"[:1024]
    if node not in nodes:
        return f"node {node} disappeared"
    if not nodes[node].ready and not all(job_complete(j) for j in jobs.values()):
        # Its pods would wait out the whole timeout: the candidate's verdict need not.
        return f"node {node} is not Ready"
    if len(jobs) < len(wanted):
        return "its Jobs were deleted"
    timeout = suite.operator.timeout_seconds
    if not all(job_complete(j) for j in jobs.values()) and state.clock() > (
        started + timeout + state.DEADLINE_GRACE_SECONDS
    ):
        return f"it did not finish within spec.timeoutSeconds={timeout}"
    return ""


async def store_control(
    body: Mapping[str, Any],
    suite: SuiteSpec,
    node: str,
    platform: Platform,
    nodes: Mapping[str, NodeSnapshot],
    replicates: int,
    baseline_info: Mapping[str, Any] | None,
) -> str:
    """Collect the control's replicates into its own results ConfigMap; "" when stored,
    else why the control is dropped (a bad control never fails the candidate's run)."""
    api = state.api()
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    base_name = str((baseline_info or {}).get("name") or "")
    base_obj = await api.get(crd.BASELINE_KIND, namespace, base_name) if base_name else None
    if base_obj is None:
        return f"its baseline {base_name or '(none)'} is gone"
    base_platform = Platform.from_spec((base_obj.get("spec") or {}).get("platform") or {})
    if platform.key != base_platform.key:
        # The control node was upgraded while it measured: it is no longer the old platform.
        return f"node {node} is no longer of the baseline's platform {base_platform.key[:8]}"
    pods = await api.list_pods(namespace, f"{crd.LABEL_RUN}={control_name(name)}")
    try:
        document = await collect(namespace, pods, platform, nodes, replicates)
    except Finished as exc:
        return f"its results were rejected: {exc.outcome.message}"[:1024]
    failed = [w.name for w in document.workloads if w.status == "failed"]
    if failed:
        return f"its workload(s) failed: {', '.join(failed)}"[:1024]
    text = dumps(document)
    if len(text.encode()) > MAX_DOCUMENT_BYTES:
        return f"its result document is over the {MAX_DOCUMENT_BYTES}-byte limit"
    labels = child_labels(control_name(name), suite.name, platform.key)
    cm = control_results_configmap_name(name)
    await api.create(results_configmap(cm, namespace, owner_of(body), text, labels))
    return ""


async def replan_control(
    suite: SuiteSpec,
    platform: Platform,
    spec: Mapping[str, Any],
    baseline_info: Mapping[str, Any] | None,
    nodes: Mapping[str, NodeSnapshot],
    plan: Mapping[str, Any],
) -> ControlChoice:
    """The control choice again, from the nodes as they are now (Required waits)."""
    base_name = str((baseline_info or {}).get("name") or "")
    base_obj = (
        await state.api().get(crd.BASELINE_KIND, suite.namespace, base_name) if base_name else None
    )
    base_platform = (
        Platform.from_spec((base_obj.get("spec") or {}).get("platform") or {})
        if base_obj is not None
        else None
    )
    return choose_control(
        suite.operator.baseline.control,
        platform,
        tuple(spec.get("nodes") or ()),
        base_platform,
        control_nodes(suite, nodes),
        sequential=bool(plan.get("looks")),
    )


def control_nodes(suite: SuiteSpec, nodes: Mapping[str, NodeSnapshot]) -> list[ControlNode]:
    """Every node as a control candidate (domain/control.py): its platform under the
    suite's platform spec, whether the suite selects it, and whether the suite gates it."""
    selector = suite.operator.node_selector
    taint_key = suite.operator.gating.taint_key
    return [
        ControlNode(
            name=n.name,
            platform_key=node_platform(n.labels, n.node_info, suite.operator.platform).key,
            selected=all(n.labels.get(k) == v for k, v in selector.items()),
            ready=n.ready,
            schedulable=n.schedulable,
            # Any benchgate gating taint: the node is unverified for some suite.
            gated=any(
                str(t.get("key", "")) == taint_key
                or str(t.get("key", "")).startswith(f"{crd.GROUP}/")
                for t in n.taints
            ),
        )
        for n in nodes.values()
    ]


def job_template(suite: SuiteSpec) -> JobTemplateSpec:
    """The suite's pod template, tolerating its own gating taint (spec.gating)."""
    template = suite.operator.job_template
    toleration = gating.toleration(suite.operator.gating)
    if toleration is None:
        return template
    return dataclasses.replace(template, tolerations=(*template.tolerations, toleration))


async def _look(
    body: Mapping[str, Any],
    suite: SuiteSpec,
    plan: Mapping[str, Any],
    document: ResultDocument,
    baseline_info: Mapping[str, Any] | None,
) -> str | None:
    """A sequential run's look: why to collect more replicates, or None to stop here."""
    name = str((baseline_info or {}).get("name", ""))
    _, base_doc = (
        (await baseline_document(body["metadata"]["namespace"], name)) if name else (None, None)
    )
    if base_doc is None:
        return None  # the baseline went away: stop and let the decision say so
    if any(w.status == "failed" for w in document.workloads):
        return None  # a failed workload fails the run whatever more replicates say
    base_docs = await baseline_sessions(
        body["metadata"]["namespace"], name, base_doc, body["metadata"]["name"]
    )
    try:
        decision = _sequential(suite, plan, base_docs, document)
    except (ArithmeticError, ValueError):
        return None  # stop here: the final judgement (_compared) reports the failure
    return None if decision.stop else decision.reason


def _sequential(
    suite: SuiteSpec,
    plan: Mapping[str, Any],
    base_doc: ResultDocument | Sequence[ResultDocument],
    document: ResultDocument,
) -> SequentialDecision:
    settings, overrides = settings_and_overrides(suite)
    sampling = SamplingPlan(
        replicates=int(plan["replicates"]),
        repetitions=int(plan["repetitions"]),
        expected_power=0.0,
        why=str(plan.get("why", "")),
    )
    return sequential_decision(base_doc, document, settings, plan=sampling, overrides=overrides)


async def _stored_document(namespace: str, cm_name: str) -> ResultDocument | None:
    try:
        return await load_document(namespace, cm_name)
    except ResultDocumentError as exc:
        raise Finished(st.result_rejected(f"stored results are unreadable: {exc}")) from exc


async def _failure_tail(namespace: str, pods: Sequence[Mapping[str, Any]]) -> str:
    for pod in pods:
        found = failed_container(pod)
        try:
            text, _ = await state.api().read_pod_log(
                namespace,
                pod["metadata"]["name"],
                found[0] if found else CONTAINER_NAME,
                limit_bytes=LOG_LIMIT_BYTES,
            )
        except Exception:  # the log is a courtesy in the message; never fail on it
            return ""
        return " ".join(text.strip().splitlines()[-3:])[-FAILURE_LOG_TAIL:]
    return ""


def result_containers(annotations: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(container, the one workload its document must report, or None for the built-in
    runner) for every container whose log holds a document (jobs.pod_steps)."""
    raw = annotations.get(RESULT_CONTAINERS_ANNOTATION)
    if not isinstance(raw, str) or not raw:
        return [(CONTAINER_NAME, None)]  # pods of an operator that predates the annotation
    out: list[tuple[str, str | None]] = []
    for item in raw.split(","):
        container, _, workload = item.partition("=")
        out.append((container, workload or None))
    return out


def foreign_workloads(document: ResultDocument, workload: str | None) -> str | None:
    """An any-image container reports exactly its own workload, named as in the suite."""
    if workload is None:
        return None
    names = [w.name for w in document.workloads]
    if names == [workload]:
        return None
    if not names:
        return f"workloads: must report the suite's workload {workload!r}, got none"
    wrong = next((i for i, n in enumerate(names) if n != workload), len(names) - 1)
    return (
        f"workloads[{wrong}].name: must be {workload!r} (the suite's workload this container "
        f"runs), got {names[wrong]!r}"
        + (f"; a container reports one workload, got {len(names)}" if len(names) > 1 else "")
    )


COMPLETION_INDEX: Final = "batch.kubernetes.io/job-completion-index"
JOB_NAME_LABEL: Final = "batch.kubernetes.io/job-name"


def replicate_pods(pods: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One succeeded pod per replicate, in name order. A replicate is a completion index
    of a Job: should Kubernetes ever run an index twice to success, one pod counts (two
    documents of one replicate, pod-i, would otherwise be refused as duplicates)."""
    chosen: dict[tuple[str, str], Mapping[str, Any]] = {}
    for pod in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
        if (pod.get("status") or {}).get("phase") != "Succeeded":
            continue
        meta = pod["metadata"]
        index = (meta.get("annotations") or {}).get(COMPLETION_INDEX)
        job = (meta.get("labels") or {}).get(JOB_NAME_LABEL, "")
        chosen.setdefault((job, index) if index is not None else ("", meta["name"]), pod)
    return sorted(chosen.values(), key=lambda p: str(p["metadata"]["name"]))


async def collect(
    namespace: str,
    pods: Sequence[Mapping[str, Any]],
    platform: Platform,
    nodes: Mapping[str, NodeSnapshot],
    expected: int,
) -> ResultDocument:
    succeeded = replicate_pods(pods)
    if len(succeeded) < expected:
        raise Finished(
            st.result_rejected(
                f"{len(succeeded)} succeeded pod(s) found for {expected} replicate(s); "
                "pods were deleted before their logs were read"
            )
        )
    documents: list[ResultDocument] = []
    for pod in succeeded[:expected]:
        pod_name = pod["metadata"]["name"]
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        for container, workload in result_containers(annotations):
            text, truncated = await state.api().read_pod_log(
                namespace, pod_name, container, limit_bytes=LOG_LIMIT_BYTES
            )
            where = f"pod {pod_name} container {container}"
            try:
                document = extract_from_log(text)
            except ResultDocumentError as exc:
                why = (
                    f"log is larger than the {LOG_LIMIT_BYTES}-byte bound and holds no "
                    "complete document"
                    if truncated
                    else str(exc)
                )
                raise Finished(st.result_rejected(f"{where}: {why}")) from exc
            problem = foreign_workloads(document, workload)
            if problem is not None:
                raise Finished(st.result_rejected(f"{where}: {problem}"))
            documents.append(document)
    try:
        # The first document with a fingerprint speaks for the run (an any-image
        # workload's document need not carry one).
        merged = merge_documents(sorted(documents, key=lambda d: 0 if d.fingerprint else 1))
    except ResultDocumentError as exc:
        raise Finished(st.result_rejected(f"replicates disagree: {exc}")) from exc
    first = succeeded[0]
    node_name = str((first.get("spec") or {}).get("nodeName", ""))
    statuses = (first.get("status") or {}).get("containerStatuses") or []
    image_id = next(
        (str(s.get("imageID", "")) for s in statuses if s.get("name") == CONTAINER_NAME), ""
    )
    fingerprint = dict(merged.fingerprint)
    try:
        fingerprint["kubernetes"] = kubernetes_group(
            nodes.get(node_name), node_name, image_id, platform
        )
        return dataclasses.replace(merged, fingerprint=fingerprint)
    except ResultDocumentError as exc:  # a node field over the document's limits
        raise Finished(st.result_rejected(f"fingerprint.kubernetes.{exc}")) from exc


async def decide_outcome(
    body: dict[str, Any],
    suite: SuiteSpec,
    suite_obj: dict[str, Any],
    platform: Platform,
    document: ResultDocument,
    baseline_info: Mapping[str, Any] | None,
    cm_name: str,
    logger: logging.Logger,
    control: Mapping[str, Any] | None = None,
) -> st.RunOutcome:
    namespace = body["metadata"]["namespace"]
    failed = [w for w in document.workloads if w.status == "failed"]
    if failed:
        detail = "; ".join(
            f"{w.name}: {w.error.type}: {w.error.message}" if w.error else w.name for w in failed
        )
        return dataclasses.replace(
            st.workload_failed(f"workload(s) failed: {detail}"[:1024]),
            results_configmap=cm_name,
            errors=tuple(detail.split("; ")),
        )
    name = str((baseline_info or {}).get("name", ""))
    base_obj, base_doc, missing = (
        (await read_baseline(namespace, name)) if name else (None, None, "")
    )
    info = dict(baseline_info or {})
    if base_obj is None or base_doc is None:
        why = missing if name else str(info.get("why") or "no baseline")
        policy = suite.operator.baseline
        if policy.auto_promote_first and policy.policy == "ClosestFingerprint":
            return await first_of_class(
                body, suite, suite_obj, platform, document, why, cm_name, logger
            )
        return dataclasses.replace(
            st.no_baseline(why, promoted_to=None),
            results_configmap=cm_name,
            baseline={"name": "", "why": why[:4096]},
        )
    control_status = dict(control or {})
    control_doc = None
    if control_status.get("design") == CONCURRENT:
        control_cm = control_results_configmap_name(body["metadata"]["name"])
        try:
            control_doc = await load_document(namespace, control_cm)
        except ResultDocumentError as exc:
            control_status = fallback(control_status, f"its results are unreadable: {exc}")
        else:
            if control_doc is None:
                control_status = fallback(
                    control_status, f"its results were never stored ({control_cm})"
                )
    run_name = body["metadata"]["name"]
    later = await later_sessions(namespace, name)
    base_docs = [base_doc, *(doc for _, source, doc in later if source != run_name)]
    outcome = _compared(
        body, suite, base_docs, document, info, cm_name, logger, control_doc, control_status
    )
    outcome = await judged_against_anchor(body, suite, platform, document, outcome, logger)
    grown = await grow_baseline(body, suite, platform, base_obj, base_doc, document, outcome, later)
    if grown:
        logger.info("run %s: %s", run_name, grown)
        outcome = dataclasses.replace(outcome, message=f"{outcome.message}; {grown}")
    return outcome


async def grow_baseline(
    body: Mapping[str, Any],
    suite: SuiteSpec,
    platform: Platform,
    base_obj: Mapping[str, Any],
    base_doc: ResultDocument,
    document: ResultDocument,
    outcome: st.RunOutcome,
    later: Sequence[tuple[int, str, ResultDocument]],
) -> str:
    """Add a Passed run of the baseline's own platform to the baseline as a later session
    (domain/baseline.py, MAX_SESSIONS); what was done, or "" when nothing was.

    Idempotent: the session ConfigMap's name is the first free `<baseline>-samples-<k>`
    and it carries the run's label, so a restart finds its own session and a run that
    lost a race for k to another run adds nothing."""
    meta = body["metadata"]
    run_name, namespace = meta["name"], meta["namespace"]
    base_name = str(base_obj["metadata"]["name"])
    mine = next((k for k, source, _ in later if source == run_name), None)
    if mine is not None:
        return f"session {mine} of baseline {base_name}"
    record = baseline_record(base_obj, 0.0)
    candidate = SessionCandidate(
        verdict=outcome.verdict,
        platform_key=platform.key,
        image=str((body.get("spec") or {}).get("image", "")),
        metric_keys=frozenset(k for k, _ in document.metrics()),
        spec_hash=str((body.get("spec") or {}).get("specHash", "")),
    )
    annotations = (base_obj.get("metadata") or {}).get("annotations") or {}
    refused = session_refusal(
        record,
        str((base_obj.get("spec") or {}).get("image", "")),
        frozenset(k for k, _ in base_doc.metrics()),
        candidate,
        1 + len(later),
        str(annotations.get(crd.ANNOTATION_SPEC_HASH, "")),
    )
    settings, overrides = settings_and_overrides(suite)
    if refused is not None or baseline_problems(document, settings, overrides):
        return ""
    taken = {k for k, _, _ in later}
    k = min(n for n in range(2, MAX_SESSIONS + 1) if n not in taken)
    owner = Owner(crd.API_VERSION, crd.BASELINE_KIND, base_name, base_obj["metadata"]["uid"])
    labels = {
        crd.LABEL_SUITE: suite.name,
        crd.LABEL_BASELINE: base_name,
        crd.LABEL_RUN: run_name,
        crd.LABEL_MANAGED_BY: crd.MANAGED_BY,
    }
    cm_name = session_configmap_name(base_name, k)
    cm, created = await state.api().create(
        results_configmap(cm_name, namespace, owner, dumps(document), labels)
    )
    if (
        not created
        and ((cm.get("metadata") or {}).get("labels") or {}).get(crd.LABEL_RUN) != run_name
    ):
        return ""  # another run became session k meanwhile
    return (
        f"added to baseline {base_name} as session {k} of {MAX_SESSIONS} (ConfigMap "
        f"{cm_name}): later runs estimate the session component from its sessions"
    )


async def judged_against_anchor(
    body: Mapping[str, Any],
    suite: SuiteSpec,
    platform: Platform,
    document: ResultDocument,
    outcome: st.RunOutcome,
    logger: logging.Logger,
) -> st.RunOutcome:
    """Add the candidate's comparison with its class's anchor baseline (domain/anchor.py)
    to a compared run's outcome: status.anchor and the Drifted condition."""
    baseline = str((outcome.baseline or {}).get("name") or "")
    if outcome.comparison is None or not baseline:
        return outcome
    namespace = body["metadata"]["namespace"]
    records = await baseline_records(namespace, f"{crd.LABEL_SUITE}={suite.name}")
    choice = choose_anchor(suite.name, platform, records, baseline)
    anchor = choice.anchor
    if anchor is None:
        return outcome
    finding: DriftFinding | None
    if anchor.name == baseline:
        finding = baseline_is_anchor(choice, outcome.verdict)
    else:
        _, anchor_doc, missing = await read_baseline(namespace, anchor.name)
        if anchor_doc is None:
            finding = DriftFinding(
                anchor.name, choice.changes, "Invalid", "", None, f"the anchor: {missing}"
            )
        else:
            settings, overrides = settings_and_overrides(suite)
            try:
                anchored = compare_documents(anchor_doc, document, settings, overrides)
            except (ArithmeticError, ValueError) as exc:
                finding = DriftFinding(
                    anchor.name,
                    choice.changes,
                    "Invalid",
                    "",
                    None,
                    f"the engine could not judge the run against the anchor: {exc!r}",
                )
            else:
                finding = drift_finding(anchored, choice, outcome.verdict)
    if finding is None:
        return outcome
    if finding.drifted:
        logger.info("run %s drifted: %s", body["metadata"]["name"], finding.message)
    return dataclasses.replace(
        outcome,
        anchor={
            "name": finding.anchor,
            "changes": finding.changes,
            "verdict": finding.verdict,
            "worstMetric": finding.worst_metric[:300],
            "worstChange": st.fmt_percent(finding.worst_change),
            "message": finding.message[:1024],
        },
        drifted=finding.condition(),
    )


def _compared(
    body: Mapping[str, Any],
    suite: SuiteSpec,
    base_doc: ResultDocument | Sequence[ResultDocument],
    document: ResultDocument,
    info: Mapping[str, Any],
    cm_name: str,
    logger: logging.Logger,
    control_doc: ResultDocument | None = None,
    control: Mapping[str, Any] | None = None,
) -> st.RunOutcome:
    """The verdict against the baseline, or (with a control's document) against the
    control, pairwise, with the baseline judging only whether the session was unusual."""
    plan = (body.get("status") or {}).get("plan") or {}
    control_status = dict(control) if control else None
    try:
        if control_doc is not None:
            settings, overrides = settings_and_overrides(suite)
            comparison = compare_concurrent(document, control_doc, base_doc, settings, overrides)
        elif plan.get("looks"):
            # Judged by the group-sequential boundaries the run stopped on, not the fixed test.
            comparison = _sequential(suite, plan, base_doc, document).comparison
        else:
            settings, overrides = settings_and_overrides(suite)
            comparison = compare_documents(base_doc, document, settings, overrides)
    except (ArithmeticError, ValueError) as exc:
        # Data that passed the contract and still breaks the arithmetic must end this run
        # with a reason, not fail every reconcile from here on.
        logger.error("run %s: the verdict engine failed: %r", body["metadata"]["name"], exc)
        return dataclasses.replace(
            st.result_rejected(f"the verdict engine could not judge these results: {exc!r}"),
            results_configmap=cm_name,
            baseline=dict(info),
            control=control_status,
        )
    logger.info("run %s: %s (%s)", body["metadata"]["name"], comparison.verdict, comparison.reason)
    outcome = st.from_comparison(comparison)
    if control_doc is not None and control_status is not None:
        note = comparison.session_note
        control_status["sessionNote"] = note[:2048]
        # The design and what the control said about the session lead the message: the
        # engine's reason (in a Passed run's message) can be long.
        head, _, reason = outcome.message.partition(": ")
        if outcome.verdict != "Passed":
            head, reason = outcome.message, ""
        reason = reason.replace(f"; {note}", "")  # the engine's reason ends with it too
        design = f"judged against control node {control_status.get('node')}, measured with it"
        outcome = dataclasses.replace(
            outcome,
            message="; ".join(part for part in (head, design, note, reason) if part),
        )
    return dataclasses.replace(
        outcome, results_configmap=cm_name, baseline=dict(info), control=control_status
    )


async def first_of_class(
    body: dict[str, Any],
    suite: SuiteSpec,
    suite_obj: dict[str, Any],
    platform: Platform,
    document: ResultDocument,
    why: str,
    cm_name: str,
    logger: logging.Logger,
) -> st.RunOutcome:
    """No baseline was found at plan time and the suite auto-promotes a class's first run.

    Re-read the API rather than trust the plan: this run may already have promoted itself
    before a restart (finish that, idempotently); another run of the class may have become
    the baseline meanwhile (compare with it); or an earlier first run of the class is still
    going (wait for it, so that two pools appearing together are compared, not both made
    baselines).
    """
    api = state.api()
    meta = body["metadata"]
    namespace, run_name = meta["namespace"], meta["name"]
    records = await baseline_records(namespace, f"{crd.LABEL_SUITE}={suite.name}")
    no_info = {"name": "", "why": why[:4096]}
    if any(r.source_run == run_name for r in records):
        promoted = await promote(body, suite_obj, dumps(document), "AutoPromoteFirst")
        return dataclasses.replace(
            st.no_baseline(why, promoted_to=promoted), results_configmap=cm_name, baseline=no_info
        )
    choice = choose_baseline(suite.operator.baseline, suite.name, platform, records)
    if choice.baseline is not None:
        _, base_doc = await baseline_document(namespace, choice.baseline.name)
        if base_doc is None:
            return dataclasses.replace(
                st.running(
                    f"results stored; waiting for the samples of baseline "
                    f"{choice.baseline.name}, promoted while this run ran"
                ),
                results_configmap=cm_name,
            )
        info: dict[str, Any] = {
            "name": choice.baseline.name,
            "distance": choice.distance,
            "why": f"{choice.why}; promoted while this run ran"[:4096],
        }
        outcome = _compared(body, suite, base_doc, document, info, cm_name, logger)
        return await judged_against_anchor(body, suite, platform, document, outcome, logger)
    runs = await api.list_custom(crd.RUN_PLURAL, namespace, f"{crd.LABEL_SUITE}={suite.name}")
    earlier = earlier_first_runs(_first_run_record(body), [_first_run_record(r) for r in runs])
    if earlier:
        return dataclasses.replace(
            st.running(
                f"results stored; waiting for {earlier[0]}, an earlier first run of "
                f"{platform.hardware_class}, to become the baseline this run is "
                "compared with"
            ),
            results_configmap=cm_name,
        )
    settings, overrides = settings_and_overrides(suite)
    problems = baseline_problems(document, settings, overrides)
    if problems:
        # Promoting it would make every later run of the class Invalid: refuse, and let
        # the next first run of the class (after the suite is fixed) try again.
        message = (
            f"{why}; this first run of {platform.hardware_class} {refusal(problems)}; the "
            "class waits for a usable first run"
        )
        logger.warning("run %s: %s", run_name, message)
        return dataclasses.replace(
            st.baseline_refused(message[:4096]),
            results_configmap=cm_name,
            baseline=no_info,
            errors=tuple(str(p)[:1024] for p in problems[:10]),
        )
    promoted = await promote(body, suite_obj, dumps(document), "AutoPromoteFirst")
    return dataclasses.replace(
        st.no_baseline(why, promoted_to=promoted), results_configmap=cm_name, baseline=no_info
    )


def _first_run_record(run: Mapping[str, Any]) -> FirstRunRecord:
    meta, spec, status = run["metadata"], run.get("spec") or {}, run.get("status") or {}
    return FirstRunRecord(
        name=str(meta["name"]),
        hardware_class=Platform.from_spec(spec.get("platform") or {}).hardware_class,
        created_at=state.parse_time(meta.get("creationTimestamp")),
        complete=c.is_true(status.get("conditions") or [], c.COMPLETE),
        baseline=str((status.get("baseline") or {}).get("name") or ""),
    )


# ---------------------------------------------------------------- events, metrics

EVENT_REASON: Final = {
    c.PLATFORM_VERIFIED: (c.PLATFORM_VERIFIED, False),
    c.PLATFORM_IMPROVED: (c.PLATFORM_VERIFIED, False),
    c.REGRESSION_DETECTED: (c.REGRESSION_DETECTED, True),
    c.INCONCLUSIVE: (c.VERIFICATION_INCONCLUSIVE, True),
    c.WORKLOAD_FAILED: (c.WORKLOAD_FAILED, True),
    c.NODE_LOST: (c.WORKLOAD_FAILED, True),
    c.TIMED_OUT: (c.TIMED_OUT, True),
    c.RESULT_REJECTED: (c.RESULT_REJECTED, True),
    c.RECONCILE_FAILED: (c.RECONCILE_FAILED, True),
    c.NO_BASELINE: (c.NO_BASELINE, False),
    c.BASELINE_PROMOTED: (c.BASELINE_PROMOTED, False),
    c.BASELINE_REFUSED: (c.BASELINE_REFUSED, True),
}


def announce(
    body: Mapping[str, Any],
    suite_obj: Mapping[str, Any] | None,
    outcome: st.RunOutcome,
    status: Mapping[str, Any],
) -> None:
    """A run finished: Events on it and its suite, and the counters. The per-platform
    gauges follow from the suite's status (controllers/suites.py), not from here."""
    reason, warning = EVENT_REASON.get(outcome.reason, (outcome.reason, False))
    meta = body["metadata"]
    platform = Platform.from_spec((body.get("spec") or {}).get("platform") or {})
    suite = str(((body.get("spec") or {}).get("suite") or {}).get("name", ""))
    events.post(body, reason, outcome.message, warning=warning)
    if suite_obj is not None:
        events.post(
            suite_obj,
            reason,
            f"{meta['name']} ({platform.platform_class}): {outcome.message}",
            warning=warning,
        )
    drifted = outcome.drifted
    if drifted is not None and drifted.status == "True":
        events.post(body, c.DRIFT_DETECTED, drifted.message, warning=True)
        if suite_obj is not None:
            events.post(
                suite_obj,
                c.DRIFT_DETECTED,
                f"{meta['name']} ({platform.platform_class}): {drifted.message}",
                warning=True,
            )
    started = state.parse_time(status.get("startedAt"))
    metrics.record_run_finished(
        namespace=meta["namespace"],
        suite=suite,
        platform=metrics.PlatformLabels(platform.short, platform.platform_class),
        verdict=outcome.verdict,
        duration_seconds=max(0.0, state.clock() - started) if started else 0.0,
        failed_jobs=outcome.failed_jobs,
    )
    if outcome.reason == c.RESULT_REJECTED:
        metrics.record_result_rejected(
            namespace=meta["namespace"], suite=suite, reason="ResultRejected"
        )


# --------------------------------------------------------------------- promotion


async def promote(
    run: Mapping[str, Any],
    suite_obj: Mapping[str, Any],
    document_json: str,
    promoted_by: str,
    acceptance: Mapping[str, Any] | None = None,
) -> str:
    """Create (idempotently) the RegressionBaseline and its samples ConfigMap for `run`."""
    api = state.api()
    meta = run["metadata"]
    namespace = meta["namespace"]
    spec = run.get("spec") or {}
    platform = Platform.from_spec(spec.get("platform") or {})
    name = baseline_name(meta["name"])
    suite_meta = suite_obj["metadata"]
    manifest = {
        "apiVersion": crd.API_VERSION,
        "kind": crd.BASELINE_KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                crd.LABEL_SUITE: suite_meta["name"],
                crd.LABEL_PLATFORM: platform.short,
                crd.LABEL_HARDWARE_CLASS: platform.hardware_class[:63].strip("-"),
                crd.LABEL_MANAGED_BY: crd.MANAGED_BY,
            },
            **(
                {"annotations": {crd.ANNOTATION_SPEC_HASH: str(spec["specHash"])}}
                if spec.get("specHash")
                else {}
            ),
            "ownerReferences": [
                Owner(
                    crd.API_VERSION, crd.SUITE_KIND, suite_meta["name"], suite_meta["uid"]
                ).reference()
            ],
        },
        "spec": {
            "suite": suite_meta["name"],
            "platform": platform.to_spec(),
            "sourceRun": meta["name"],
            "samplesConfigMap": samples_configmap_name(name),
            "documentSha256": hashlib.sha256(document_json.encode()).hexdigest(),
            "image": str(spec.get("image", "")),
            "promotedBy": promoted_by,
            **({"acceptance": dict(acceptance)} if acceptance else {}),
        },
    }
    baseline, _ = await api.create(manifest)
    owner = Owner(crd.API_VERSION, crd.BASELINE_KIND, name, baseline["metadata"]["uid"])
    labels = {
        crd.LABEL_SUITE: suite_meta["name"],
        crd.LABEL_BASELINE: name,
        crd.LABEL_MANAGED_BY: crd.MANAGED_BY,
    }
    await api.create(
        results_configmap(samples_configmap_name(name), namespace, owner, document_json, labels)
    )
    await api.patch_annotations(
        crd.RUN_PLURAL, namespace, meta["name"], {crd.ANNOTATION_PROMOTED_TO: name}
    )
    return name


async def refuse_promotion(body: Mapping[str, Any], why: str) -> None:
    """Mark the run's promotion refused (it is not tried again) and say why in an Event."""
    meta = body["metadata"]
    await state.api().patch_annotations(
        crd.RUN_PLURAL, meta["namespace"], meta["name"], {crd.ANNOTATION_PROMOTE_REFUSED: why}
    )
    events.post(body, warning=True, reason="PromotionRefused", message=why)


async def handle_promotion(body: dict[str, Any], logger: logging.Logger) -> None:
    annotations = body["metadata"].get("annotations") or {}
    accept = AcceptRequest.from_annotations(annotations)
    if accept is not None and not annotations.get(crd.ANNOTATION_ACCEPT_REFUSED):
        await handle_accept(body, accept, logger)
        return
    if (
        annotations.get(crd.ANNOTATION_PROMOTE) != "true"
        or annotations.get(crd.ANNOTATION_PROMOTED_TO)
        or annotations.get(crd.ANNOTATION_PROMOTE_REFUSED)
    ):
        return
    api = state.api()
    meta = body["metadata"]
    status = body.get("status") or {}
    why = verdict_refusal(str(status.get("verdict", "")))
    if why is not None:
        await _refuse_promotion(body, why)
        return
    cm_name = str(status.get("resultsConfigMap", ""))
    cm = await api.get("ConfigMap", meta["namespace"], cm_name)
    text = ((cm or {}).get("data") or {}).get(crd.RESULT_DATA_KEY)
    suite_obj = await api.get(
        crd.SUITE_KIND,
        meta["namespace"],
        str(((body.get("spec") or {}).get("suite") or {}).get("name")),
    )
    if not text or suite_obj is None:
        await _refuse_promotion(body, "the run's results ConfigMap or its suite is gone")
        return
    try:
        suite = parse_suite(suite_obj)
        document = loads(text)
    except (SuiteSpecError, ResultDocumentError) as exc:
        await _refuse_promotion(body, f"cannot check the run's results ({cm_name}): {exc}")
        return
    settings, overrides = settings_and_overrides(suite)
    why = promotion_refusal(str(status.get("verdict", "")), document, settings, overrides)
    if why is not None:
        await _refuse_promotion(body, why)
        return
    name = await promote(body, suite_obj, text, "Annotation")
    logger.info("promoted %s to RegressionBaseline %s", meta["name"], name)
    events.post(
        body,
        warning=False,
        reason=c.BASELINE_PROMOTED,
        message=f"promoted to RegressionBaseline {name}",
    )
    events.post(
        suite_obj,
        warning=False,
        reason=c.BASELINE_PROMOTED,
        message=f"{meta['name']} promoted to RegressionBaseline {name}",
    )


async def _refuse_promotion(body: Mapping[str, Any], why: str) -> None:
    """Answer a promote annotation with a refusal, once (the annotation stops retries)."""
    meta = body["metadata"]
    why = why[:1024]
    await state.api().patch_annotations(
        crd.RUN_PLURAL, meta["namespace"], meta["name"], {crd.ANNOTATION_PROMOTE_REFUSED: why}
    )
    events.post(body, warning=True, reason=c.PROMOTION_REFUSED, message=why)


async def handle_accept(
    body: dict[str, Any], request: AcceptRequest, logger: logging.Logger
) -> None:
    """Make a finished run that did not pass its platform's baseline on purpose
    (domain/acceptance.py). Idempotent at every step: the baseline's name derives from the
    run, the promoted-to annotation says it exists, status.acceptance says it was recorded."""
    api = state.api()
    meta = body["metadata"]
    namespace = meta["namespace"]
    annotations = meta.get("annotations") or {}
    status = body.get("status") or {}
    if (status.get("acceptance") or {}).get("baseline"):
        return  # done
    verdict = str(status.get("verdict", ""))
    promoted_to = str(annotations.get(crd.ANNOTATION_PROMOTED_TO) or "")
    suite_obj = await api.get(
        crd.SUITE_KIND,
        namespace,
        str(((body.get("spec") or {}).get("suite") or {}).get("name")),
    )
    if suite_obj is None:
        await _refuse_accept(body, "the run's suite is gone")
        return
    acceptance = Acceptance(
        request,
        c.format_time(state.now()),
        verdict,
        str(status.get("worstMetric") or ""),
        str(status.get("worstChange") or ""),
    )
    if not promoted_to:
        if not request.reason.strip():
            await _refuse_accept(body, f"{crd.ANNOTATION_ACCEPT_REASON} is empty: say why")
            return
        cm_name = str(status.get("resultsConfigMap", ""))
        cm = await api.get("ConfigMap", namespace, cm_name) if cm_name else None
        text = ((cm or {}).get("data") or {}).get(crd.RESULT_DATA_KEY)
        if not text:
            await _refuse_accept(body, accept_refusal_without_results(verdict))
            return
        try:
            suite = parse_suite(suite_obj)
            document = loads(text)
        except (SuiteSpecError, ResultDocumentError) as exc:
            await _refuse_accept(body, f"cannot check the run's results ({cm_name}): {exc}")
            return
        settings, overrides = settings_and_overrides(suite)
        why = accept_refusal(verdict, document, settings, overrides)
        if why is not None:
            await _refuse_accept(body, why)
            return
        promoted_to = await promote(
            body, suite_obj, text, request.by, acceptance=acceptance.baseline_spec()
        )
    elif verdict not in ("Regressed", "Inconclusive"):
        return  # promoted as a passed run (benchgate promote); nothing was accepted
    conditions = c.merge(
        status.get("conditions"),
        [
            c.Condition(
                c.VERIFIED, "True", c.CHANGE_ACCEPTED, acceptance.message(meta["name"], promoted_to)
            )
        ],
        now=state.now(),
        generation=int(meta.get("generation") or 0),
    )
    await api.patch_status(
        crd.RUN_PLURAL,
        namespace,
        meta["name"],
        {"acceptance": acceptance.run_status(promoted_to), "conditions": conditions},
    )
    message = acceptance.message(meta["name"], promoted_to)
    logger.info("run %s: %s", meta["name"], message)
    events.post(body, warning=False, reason=c.CHANGE_ACCEPTED, message=message)
    events.post(suite_obj, warning=False, reason=c.CHANGE_ACCEPTED, message=message)


def accept_refusal_without_results(verdict: str) -> str:
    return acceptable_verdict(verdict) or "the run's results ConfigMap is gone"


async def _refuse_accept(body: Mapping[str, Any], why: str) -> None:
    """Answer an accept request with a refusal, once (the annotation stops retries)."""
    meta = body["metadata"]
    why = why[:1024]
    await state.api().patch_annotations(
        crd.RUN_PLURAL, meta["namespace"], meta["name"], {crd.ANNOTATION_ACCEPT_REFUSED: why}
    )
    events.post(body, warning=True, reason=c.ACCEPT_REFUSED, message=why)
