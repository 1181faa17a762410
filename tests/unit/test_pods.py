"""A run whose pods cannot run says why in its own status."""

from __future__ import annotations

from typing import Any

from benchgate.domain.pods import stuck_reason


def pod(name: str, job: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "ownerReferences": [{"kind": "Job", "name": job}]},
        "status": {"phase": "Pending", **status},
    }


def job(name: str, created: float = 0.0, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "created": created}, "status": status}


def reason(pods: list[dict[str, Any]], jobs: list[dict[str, Any]], now: float = 100.0) -> Any:
    return stuck_reason(
        pods,
        {j["metadata"]["name"]: j for j in jobs},
        now=now,
        created_at=lambda j: float(j["metadata"]["created"]),
    )


def test_unschedulable_pod_is_named_with_the_schedulers_message() -> None:
    unschedulable = pod(
        "r-0-abcde",
        "r-0",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 Insufficient cpu.",
            }
        ],
    )
    why = reason([unschedulable], [job("r-0")])
    assert why == (
        "pod r-0-abcde cannot be scheduled (Unschedulable): 0/1 nodes are available: "
        "1 Insufficient cpu."
    )


def test_image_that_cannot_be_pulled_is_named() -> None:
    pulling = pod(
        "r-0-abcde",
        "r-0",
        containerStatuses=[
            {
                "name": "workload",
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}},
            }
        ],
    )
    assert "cannot start container workload (ImagePullBackOff): not found" in str(
        reason([pulling], [job("r-0")])
    )


def test_a_job_without_pods_is_reported_after_a_grace_period() -> None:
    assert reason([], [job("r-0", created=90.0)]) is None, "a new Job gets a moment"
    why = str(reason([], [job("r-0", created=0.0)]))
    assert "Job r-0 has created no pod in 100 s" in why and "FailedCreate" in why
    done = job("r-1", conditions=[{"type": "Complete", "status": "True"}])
    assert reason([], [done]) is None, "a finished Job whose pods were removed is not stuck"


def test_running_pods_are_not_stuck() -> None:
    running = pod("r-0-abcde", "r-0")
    running["status"]["phase"] = "Running"
    assert reason([running], [job("r-0")]) is None
    containers_creating = pod(
        "r-0-fghij",
        "r-0",
        containerStatuses=[{"name": "w", "state": {"waiting": {"reason": "ContainerCreating"}}}],
    )
    assert reason([containers_creating], [job("r-0")]) is None
