"""Pod Security admission in the sandbox, against the Pod Security Standards
(kubernetes.io/docs/concepts/security/pod-security-standards/) and the admission
controller's messages."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sandbox_http import Raw

from benchgate_sandbox.testing import Sandbox

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
COMPLIANT: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "ok"},
    "spec": {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "image": "busybox",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    },
}


def pod(name: str, **container_sc: Any) -> dict[str, Any]:
    body = copy.deepcopy(COMPLIANT)
    body["metadata"]["name"] = name
    body["spec"]["containers"][0]["securityContext"].update(container_sc)
    return body


def test_a_restricted_namespace_refuses_what_the_profile_forbids(
    sandbox: Sandbox, raw: Raw
) -> None:
    sandbox.create_namespace("locked", labels=RESTRICTED)
    pods = "/api/v1/namespaces/locked/pods"
    assert raw.post(pods, pod("ok")).status_code == 201
    refused = raw.post(
        pods,
        pod(
            "bad",
            privileged=True,
            allowPrivilegeEscalation=True,
            capabilities={"add": ["SYS_ADMIN"]},
        ),
    )
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        'pods "bad" is forbidden: violates PodSecurity "restricted:latest": privileged '
        '(container "c" must not set securityContext.privileged=true), non-default '
        'capabilities (container "c" must not include "SYS_ADMIN" in '
        "securityContext.capabilities.add), allowPrivilegeEscalation != false (container "
        '"c" must set securityContext.allowPrivilegeEscalation=false), unrestricted '
        'capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]; '
        'container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add)'
    )
    root = copy.deepcopy(COMPLIANT)
    root["metadata"]["name"] = "root"
    del root["spec"]["securityContext"]
    found = raw.post(pods, root).json()["message"]
    assert "runAsNonRoot != true" in found and "seccompProfile" in found, found
    assert raw.post("/api/v1/namespaces/default/pods", root).status_code == 201, (
        "an unlabelled namespace gets the cluster default, privileged"
    )


def test_warn_mode_warns_on_jobs_and_pods(sandbox: Sandbox, raw: Raw) -> None:
    sandbox.create_namespace("warned", labels={"pod-security.kubernetes.io/warn": "baseline"})
    escalating = pod("p", privileged=True, allowPrivilegeEscalation=True)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": {"spec": {**escalating["spec"], "restartPolicy": "Never"}}},
    }
    made = raw.post("/apis/batch/v1/namespaces/warned/jobs", job)
    assert made.status_code == 201
    assert 'would violate PodSecurity "baseline:latest": privileged' in made.headers["Warning"]


def test_a_cluster_default_level_applies_to_unlabelled_namespaces(tmp_path: Path) -> None:
    with Sandbox(workdir=tmp_path / "sb", pod_security="restricted") as sb:
        raw = Raw(sb.url, sb.ca_path, sb.admin_token)
        root = copy.deepcopy(COMPLIANT)
        del root["spec"]["securityContext"]
        assert raw.post("/api/v1/namespaces/default/pods", root).status_code == 403
        assert raw.post("/api/v1/namespaces/default/pods", COMPLIANT).status_code == 201
        sb.create_namespace("loose", labels={"pod-security.kubernetes.io/enforce": "privileged"})
        assert raw.post("/api/v1/namespaces/loose/pods", root).status_code == 201
