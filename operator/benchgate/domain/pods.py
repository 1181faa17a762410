"""Why a run's pods are not running, from what the API says about its Jobs and pods.

A pod that cannot be scheduled (no node with room, an untolerated taint), cannot start
its container (an image that cannot be pulled) or is never created (refused at admission:
a quota, a LimitRange, a missing PriorityClass) leaves a run "Running 0 of 3" until its
timeout. The run's status says which and why, so nobody has to find the pod first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

CONTAINER_PROBLEMS: Final = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
# A Job normally has its first pod within seconds; past this, say that it has none.
NO_POD_GRACE_SECONDS: Final = 30.0
JOB_NAME_LABELS: Final = ("batch.kubernetes.io/job-name", "job-name")


def _job_of(pod: Mapping[str, Any]) -> str:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    refs = (pod.get("metadata") or {}).get("ownerReferences") or []
    owner = next((r.get("name") for r in refs if r.get("kind") == "Job"), None)
    return str(owner or next((labels[k] for k in JOB_NAME_LABELS if k in labels), ""))


def _finished(job: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


def stuck_reason(
    pods: Sequence[Mapping[str, Any]],
    jobs: Mapping[str, Mapping[str, Any]],
    *,
    now: float,
    created_at: Callable[[Mapping[str, Any]], float],
) -> str | None:
    """The first reason a pending replicate cannot make progress, or None."""
    for pod in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        if status.get("phase") not in (None, "Pending"):
            continue
        for cond in status.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return (
                    f"pod {name} cannot be scheduled ({cond.get('reason', 'Unschedulable')}): "
                    f"{cond.get('message', '')}".strip()
                )
        for cs in (status.get("initContainerStatuses") or []) + (
            status.get("containerStatuses") or []
        ):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in CONTAINER_PROBLEMS:
                return (
                    f"pod {name} cannot start container {cs.get('name')} "
                    f"({waiting['reason']}): {waiting.get('message', '')}".strip()
                )
    with_pods = {_job_of(p) for p in pods}
    for name in sorted(jobs):
        job = jobs[name]
        if name in with_pods or _finished(job):
            continue
        age = now - created_at(job)
        if age > NO_POD_GRACE_SECONDS:
            return (
                f"Job {name} has created no pod in {age:.0f} s: its pods are being refused "
                f"(`kubectl describe job {name}` shows the FailedCreate events)"
            )
    return None
