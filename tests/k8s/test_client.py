"""benchgate.k8s.client against the sandbox: objects found the way a real cluster has them."""

from __future__ import annotations

from typing import Any

from benchgate.k8s.client import Api
from benchgate_sandbox.testing import Sandbox


def labelled_job(name: str) -> dict[str, Any]:
    """A Job that carries labels of its own, as every benchgate Job does: Kubernetes then
    adds no job-name label to the Job (only to its pod template)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default", "labels": {"benchgate.dev/run": "r"}},
        "spec": {
            "completions": 1,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "img:1", "command": ["true"]}],
                }
            },
        },
    }


async def test_creating_an_existing_job_reads_it_back_by_name(sandbox: Sandbox, api: Api) -> None:
    first, created = await api.create(labelled_job("verify-0"))
    assert created and first["metadata"]["name"] == "verify-0"
    stored = sandbox.get("batch/v1", "Job", "verify-0", "default")
    assert "batch.kubernetes.io/job-name" not in stored["metadata"]["labels"], (
        "the premise: a labelled Job has no job-name label to be found by"
    )
    again, created = await api.create(labelled_job("verify-0"))
    assert not created, "a deterministic name that exists is 'already there', not an error"
    assert again["metadata"]["uid"] == first["metadata"]["uid"], "the existing Job, by name"
    assert await api.get("Job", "default", "missing") is None
