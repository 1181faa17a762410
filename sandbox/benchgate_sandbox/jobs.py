"""The Job controller: batch/v1 semantics the operator relies on.

completions, parallelism, backoffLimit (failed pods and container restarts count),
activeDeadlineSeconds, ttlSecondsAfterFinished, suspend, NonIndexed and Indexed
completion modes; conditions SuccessCriteriaMet+Complete or FailureTarget+Failed with
the real reasons; pods labelled job-name / controller-uid and owned by the Job. Retry
back-off is shortened (`backoff` seconds, doubling, capped) so tests do not wait the real
10 s. Not modelled: podFailurePolicy, successPolicy, backoffLimitPerIndex,
podReplacementPolicy, managedBy.

Indexed mode as pkg/controller/job does it: each pod gets its completion index as the
annotation and label batch.kubernetes.io/job-completion-index, the env var
JOB_COMPLETION_INDEX (a fieldRef to that annotation, added to every container and init
container that does not set it already), the hostname <job>-<index> and the name
<job>-<index>-<random>; an index that failed is retried under the same index;
`succeeded` counts succeeded indexes and `completedIndexes` lists them ("0-2,5"). As the
API server does, an Indexed Job whose <name>-<completions - 1> is not a DNS label is
refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import re
import secrets

from benchgate.api.structural import Cause
from benchgate_sandbox import events
from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.podspec import pod_spec_causes
from benchgate_sandbox.resources import JSON
from benchgate_sandbox.store import Event, Store, now_iso

COMPONENT = "job-controller"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")
INDEX_ENV = "JOB_COMPLETION_INDEX"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def default_job(job: JSON, old: JSON | None) -> None:
    """Admission defaults of batch/v1 Job (on create)."""
    if old is not None:
        return
    spec = job.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    uid = job["metadata"]["uid"]
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    for key in UID_LABELS:
        labels[key] = uid
    for key in NAME_LABELS:
        labels[key] = job["metadata"]["name"]


def validate_job(job: JSON, old: JSON | None) -> list[Cause]:
    spec = job.get("spec") or {}
    causes = []
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if policy not in ("Never", "OnFailure"):
        causes.append(
            Cause(
                "FieldValueNotSupported",
                "spec.template.spec.restartPolicy",
                f'Unsupported value: "{policy or ""}": supported values: "OnFailure", "Never"',
            )
        )
    causes += pod_spec_causes(
        (spec.get("template") or {}).get("spec"),
        "spec.template.spec",
        'Job.batch in version "v1" cannot be handled as a Job',
    )
    mode = spec.get("completionMode")
    if mode not in (None, "NonIndexed", "Indexed"):
        causes.append(
            Cause(
                "FieldValueNotSupported",
                "spec.completionMode",
                f'Unsupported value: "{mode}": supported values: "NonIndexed", "Indexed"',
            )
        )
    if mode == "Indexed" and spec.get("completions") is None:
        causes.append(
            Cause(
                "FieldValueRequired",
                "spec.completions",
                "Required value: when completion mode is Indexed",
            )
        )
    completions = spec.get("completions")
    if mode == "Indexed" and isinstance(completions, int) and completions > 0:
        # The Job controller names and hostnames pods <job>-<index>: the largest must be
        # a DNS label (k8s.io/kubernetes pkg/apis/batch/validation).
        name = str((job.get("metadata") or {}).get("name", ""))
        hostname = f"{name}-{completions - 1}"
        if len(hostname) > 63 or not _DNS_LABEL.match(hostname):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    "metadata.name",
                    f'Invalid value: "{name}": will not able to create pod with invalid DNS '
                    f"label: {hostname}",
                )
            )
    if old is not None and mode != (old.get("spec") or {}).get("completionMode"):
        causes.append(
            Cause("FieldValueInvalid", "spec.completionMode", "Invalid value: field is immutable")
        )
    for key in ("backoffLimit", "parallelism", "completions", "activeDeadlineSeconds"):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or value < 0):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"spec.{key}",
                    f"Invalid value: {value}: must be greater than or equal to 0",
                )
            )
    if old is not None and (spec.get("template") != (old.get("spec") or {}).get("template")):
        causes.append(
            Cause("FieldValueInvalid", "spec.template", "Invalid value: ...: field is immutable")
        )
    return causes


def _parse(ts: str) -> dt.datetime:
    return dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _condition(type_: str, reason: str, message: str) -> JSON:
    now = now_iso()
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": now,
        "lastTransitionTime": now,
    }


class JobController:
    def __init__(self, store: Store, backoff: float = 0.2, backoff_max: float = 2.0) -> None:
        self.store = store
        self.backoff, self.backoff_max = backoff, backoff_max
        self.jobs = store.type_for("batch", "v1", "jobs")
        self.pods = store.type_for("", "v1", "pods")
        self.queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.outcomes: dict[str, dict[str, str]] = {}  # job uid -> pod uid -> phase
        self.timers: dict[str, asyncio.TimerHandle] = {}
        store.mutators.setdefault(self.jobs.key, []).append(default_job)
        store.validators.setdefault(self.jobs.key, []).append(validate_job)
        store.listeners.append(self._on_event)

    def _on_event(self, event: Event) -> None:
        meta = event.obj["metadata"]
        if event.key == ("batch", "jobs"):
            if event.type != "DELETED":
                self.queue.put_nowait((meta["namespace"], meta["name"]))
            return
        if event.key != ("", "pods"):
            return
        for ref in meta.get("ownerReferences") or []:
            if ref.get("kind") == "Job" and ref.get("controller"):
                outcomes = self.outcomes.setdefault(ref["uid"], {})
                phase = (event.obj.get("status") or {}).get("phase")
                if phase in ("Succeeded", "Failed"):
                    outcomes[meta["uid"]] = phase
                elif event.type == "DELETED" and meta["uid"] not in outcomes:
                    outcomes[meta["uid"]] = "Failed"  # lost before finishing
                self.queue.put_nowait((meta["namespace"], ref["name"]))

    def _wake(self, namespace: str, name: str, delay: float) -> None:
        key = f"{namespace}/{name}"
        if key in self.timers:
            self.timers[key].cancel()
        loop = asyncio.get_running_loop()
        self.timers[key] = loop.call_later(
            max(delay, 0.0), self.queue.put_nowait, (namespace, name)
        )

    async def run(self) -> None:
        while True:
            namespace, name = await self.queue.get()
            try:
                self.reconcile(namespace, name)
            except ApiError:
                self._wake(namespace, name, 0.2)

    # -- reconcile -------------------------------------------------------------------
    def reconcile(self, namespace: str, name: str) -> None:
        job = self.store.peek(self.jobs, namespace, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        spec, status = job["spec"], copy.deepcopy(job.get("status") or {})
        uid = job["metadata"]["uid"]
        conditions = {c["type"] for c in status.get("conditions") or [] if c["status"] == "True"}
        if conditions & {"Complete", "Failed"}:
            self._ttl(job, status)
            return
        pods = [
            p
            for p in self.store.iter_objects(self.pods)
            if p["metadata"].get("namespace") == namespace
            and (p["metadata"].get("labels") or {}).get("batch.kubernetes.io/controller-uid") == uid
        ]
        outcomes = self.outcomes.setdefault(uid, {})
        for pod in pods:
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                outcomes[pod["metadata"]["uid"]] = phase
        active = [
            p
            for p in pods
            if p["metadata"]["uid"] not in outcomes and not p["metadata"].get("deletionTimestamp")
        ]
        restarts = sum(
            int(cs.get("restartCount", 0))
            for p in pods
            for cs in (p.get("status") or {}).get("containerStatuses") or []
        )
        failed = sum(1 for v in outcomes.values() if v == "Failed") + restarts
        indexed = spec.get("completionMode") == "Indexed"
        done_indexes = sorted(
            {
                int((p["metadata"].get("annotations") or {}).get(INDEX_KEY, -1))
                for p in pods
                if outcomes.get(p["metadata"]["uid"]) == "Succeeded"
            }
        )
        succeeded = (
            len(done_indexes) if indexed else sum(1 for v in outcomes.values() if v == "Succeeded")
        )
        if spec.get("suspend"):
            for pod in active:
                self._delete_pod(pod)
            self._write(job, status | {"active": 0, "ready": 0})
            return
        status.setdefault("startTime", now_iso())
        status.update(
            {
                "active": len(active),
                "succeeded": succeeded,
                "failed": failed,
                "ready": sum(1 for p in active if _ready(p)),
                "terminating": 0,
                "uncountedTerminatedPods": {},
            }
        )
        if indexed:
            status["completedIndexes"] = _ranges(done_indexes)
        completions = spec.get("completions")
        finished = (
            (succeeded >= completions)
            if completions is not None
            else (succeeded > 0 and not active)
        )
        if finished:
            for pod in active:
                self._delete_pod(pod)
            status["conditions"] = (status.get("conditions") or []) + [
                _condition(
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                ),
                _condition(
                    "Complete", "CompletionsReached", "Reached expected number of succeeded pods"
                ),
            ]
            status["completionTime"] = now_iso()
            status["active"], status["ready"] = 0, 0
            self._write(job, status)
            events.record(self.store, job, "Completed", "Job completed", component=COMPONENT)
            return
        deadline = spec.get("activeDeadlineSeconds")
        elapsed = (dt.datetime.now(dt.UTC) - _parse(status["startTime"])).total_seconds()
        if deadline is not None and elapsed >= deadline:
            self._fail(
                job,
                status,
                active,
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            )
            return
        if failed > spec.get("backoffLimit", 6):
            self._fail(
                job,
                status,
                active,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            )
            return
        if deadline is not None:
            self._wake(namespace, name, deadline - elapsed + 0.05)
        self._write(job, status)
        self._create_pods(job, active, outcomes, done_indexes, failed, succeeded)

    def _create_pods(
        self,
        job: JSON,
        active: list[JSON],
        outcomes: dict[str, str],
        done_indexes: list[int],
        failed: int,
        succeeded: int,
    ) -> None:
        spec = job["spec"]
        parallelism = spec.get("parallelism", 1)
        completions = spec.get("completions")
        if failed:
            # exponential back-off after failures, measured from the last failure
            delay = min(self.backoff * 2 ** (failed - 1), self.backoff_max)
            last = max(
                (
                    _finished_at(p)
                    for p in self.store.iter_objects(self.pods)
                    if p["metadata"]["uid"] in outcomes
                ),
                default=0.0,
            )
            wait = last + delay - dt.datetime.now(dt.UTC).timestamp()
            if wait > 0:
                self._wake(job["metadata"]["namespace"], job["metadata"]["name"], wait)
                return
        if spec.get("completionMode") == "Indexed":
            busy = {
                int((p["metadata"].get("annotations") or {}).get(INDEX_KEY, -1)) for p in active
            }
            todo = [i for i in range(completions or 0) if i not in busy and i not in done_indexes]
            for index in todo[: max(parallelism - len(active), 0)]:
                self._create_pod(job, index)
            return
        remaining = (completions - succeeded) if completions is not None else parallelism
        want = min(parallelism, remaining) - len(active)
        if completions is None and succeeded > 0:
            want = 0  # work-queue jobs start no new pods once one succeeded
        for _ in range(max(want, 0)):
            self._create_pod(job, None)

    def _create_pod(self, job: JSON, index: int | None) -> None:
        meta = job["metadata"]
        template = copy.deepcopy(job["spec"]["template"])
        pod_meta = template.get("metadata") or {}
        prefix = f"{meta['name']}-" if index is None else f"{meta['name']}-{index}-"
        pod_meta["name"] = prefix + secrets.token_hex(3)[:5]
        pod_meta["namespace"] = meta["namespace"]
        pod_meta["ownerReferences"] = [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": meta["name"],
                "uid": meta["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        pod_meta.setdefault("finalizers", [])
        spec: JSON = template.setdefault("spec", {})
        if index is not None:
            pod_meta.setdefault("annotations", {})[INDEX_KEY] = str(index)
            pod_meta.setdefault("labels", {})[INDEX_KEY] = str(index)
            spec["hostname"] = f"{meta['name']}-{index}"  # set whatever the template says
            for container in [*(spec.get("initContainers") or []), *spec.get("containers", [])]:
                env = container.setdefault("env", [])
                if any(e.get("name") == INDEX_ENV for e in env):
                    continue  # the controller leaves a container's own definition alone
                env.append(
                    {
                        "name": INDEX_ENV,
                        "valueFrom": {
                            "fieldRef": {"fieldPath": f"metadata.annotations['{INDEX_KEY}']"}
                        },
                    }
                )
        if not pod_meta["finalizers"]:
            del pod_meta["finalizers"]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}
        try:
            created = self.store.create(self.pods, meta["namespace"], pod)
        except ApiError as exc:
            # As the real Job controller: a Warning on the Job, then a retry with back-off.
            events.record(
                self.store,
                job,
                "FailedCreate",
                f"Error creating: {exc.message}",
                component=COMPONENT,
                type_="Warning",
            )
            self._wake(meta["namespace"], meta["name"], self.backoff_max)
            return
        events.record(
            self.store,
            job,
            "SuccessfulCreate",
            f"Created pod: {created['metadata']['name']}",
            component=COMPONENT,
        )

    def _delete_pod(self, pod: JSON) -> None:
        with contextlib.suppress(ApiError):
            self.store.delete(self.pods, pod["metadata"]["namespace"], pod["metadata"]["name"])

    def _fail(self, job: JSON, status: JSON, active: list[JSON], reason: str, message: str) -> None:
        for pod in active:
            self._delete_pod(pod)
        status["conditions"] = (status.get("conditions") or []) + [
            _condition("FailureTarget", reason, message),
            _condition("Failed", reason, message),
        ]
        status["active"], status["ready"] = 0, 0
        self._write(job, status)
        events.record(self.store, job, reason, message, component=COMPONENT, type_="Warning")

    def _ttl(self, job: JSON, status: JSON) -> None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        finished = max(
            _parse(c["lastTransitionTime"])
            for c in status["conditions"]
            if c["type"] in ("Complete", "Failed")
        )
        left = (finished - dt.datetime.now(dt.UTC)).total_seconds() + ttl
        meta = job["metadata"]
        if left > 0:
            self._wake(meta["namespace"], meta["name"], left)
            return
        # the TTL controller deletes in the background, taking the pods along
        with contextlib.suppress(ApiError):
            self.store.delete(self.jobs, meta["namespace"], meta["name"], propagation="Background")

    def _write(self, job: JSON, status: JSON) -> None:
        if status == job.get("status"):
            return
        body = copy.deepcopy(job)
        body["status"] = status
        body["metadata"].pop("resourceVersion", None)
        self.store.update(
            self.jobs,
            job["metadata"]["namespace"],
            job["metadata"]["name"],
            body,
            subresource="status",
        )


def _ready(pod: JSON) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _finished_at(pod: JSON) -> float:
    times = [
        cs["state"]["terminated"].get("finishedAt")
        for cs in (pod.get("status") or {}).get("containerStatuses") or []
        if "terminated" in (cs.get("state") or {})
    ]
    stamps = [_parse(t).timestamp() for t in times if t]
    return max(stamps, default=0.0)


def _ranges(indexes: list[int]) -> str:
    """[0, 1, 2, 5] -> "0-2,5", the format of status.completedIndexes."""
    parts: list[str] = []
    for i in indexes:
        if parts and "-" in parts[-1] and int(parts[-1].split("-")[1]) == i - 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{i}"
        elif parts and "-" not in parts[-1] and int(parts[-1]) == i - 1:
            parts[-1] = f"{parts[-1]}-{i}"
        else:
            parts.append(str(i))
    return ",".join(parts)
