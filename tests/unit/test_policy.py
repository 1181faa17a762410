"""The cluster policy: which suites may gate, run privileged pods, and use which images.

The operator's own check of Pod Security "restricted" (`elevated`) is compared with the
sandbox's Pod Security admission on the pods the Job builder really makes, so the two
cannot drift apart: what the operator lets through untouched, a restricted namespace
admits, and what it calls elevated, such a namespace refuses.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_jobs import request

from benchgate.api.suite import JobTemplateSpec, SecuritySpec, parse_suite
from benchgate.domain import policy
from benchgate.domain.jobs import build_jobs
from benchgate.domain.policy import ClusterPolicy, ImageReference, PolicyError
from benchgate_sandbox.podsecurity import restricted_problems


def suite(namespace: str = "team-a", **spec: Any) -> Any:
    return parse_suite(
        {
            "apiVersion": "benchgate.dev/v1alpha1",
            "kind": "RegressionSuite",
            "metadata": {"name": "s", "namespace": namespace},
            "spec": {
                "image": "ghcr.io/benchgate/workload:0.1.0",
                "workloads": [{"name": "numerics_probe"}],
                **spec,
            },
        }
    )


def test_gating_defaults_to_the_operators_own_namespace() -> None:
    cluster = ClusterPolicy.build(operator_namespace="benchgate")
    assert cluster.gating_allowed("benchgate")
    refused = policy.gating_refusal(cluster, "team-a")
    assert refused is not None and refused.reason == "GatingForbidden"
    assert "team-a" in refused.message and "gating.namespaces" in refused.message, (
        "the message must name the namespace and the setting to change"
    )
    listed = ClusterPolicy.build(operator_namespace="benchgate", gating_namespaces=["ml"])
    assert listed.gating_allowed("ml") and not listed.gating_allowed("benchgate"), (
        "an explicit list replaces the default"
    )
    assert ClusterPolicy.build(gating_namespaces=["*"]).gating_allowed("anything")
    assert not ClusterPolicy.build().gating_allowed("default"), (
        "with no operator namespace known and no list, no namespace may gate"
    )


@pytest.mark.parametrize(
    ("security", "elevated"),
    [
        ({}, []),
        ({"addCapabilities": ["NET_BIND_SERVICE"]}, []),
        ({"privileged": True, "runAsNonRoot": False}, ["privileged", "runAsNonRoot"]),
        ({"addCapabilities": ["SYS_ADMIN"]}, ["addCapabilities: SYS_ADMIN"]),
        ({"addCapabilities": ["IPC_LOCK", "NET_BIND_SERVICE"]}, ["addCapabilities: IPC_LOCK"]),
        ({"allowPrivilegeEscalation": True}, ["allowPrivilegeEscalation"]),
        ({"runAsNonRoot": False, "runAsUser": 0}, ["runAsNonRoot"]),
    ],
)
def test_privilege_is_refused_outside_the_listed_namespaces(
    security: dict[str, Any], elevated: list[str]
) -> None:
    spec = suite(jobTemplate={"securityContext": security})
    template = spec.operator.job_template
    found = policy.elevated(template)
    assert len(found) == len(elevated) and all(any(e in f for f in found) for e in elevated), found
    refused = policy.privilege_refusal(ClusterPolicy.build(), "team-a", template)
    if elevated:
        assert refused is not None and refused.reason == "PrivilegeForbidden"
        assert "policy.privilegedNamespaces" in refused.message, refused.message
        assert (
            policy.privilege_refusal(
                ClusterPolicy.build(privileged_namespaces=["team-a"]), "team-a", template
            )
            is None
        )
        assert (
            policy.privilege_refusal(
                ClusterPolicy.build(privileged_namespaces=["team-b"]), "team-a", template
            )
            is not None
        )
    else:
        assert refused is None

    # The pods the Job builder makes from this template: a restricted namespace refuses
    # exactly those the operator calls elevated.
    (job,) = build_jobs(request(nodes=("gpu-a",), template=template))
    problems = restricted_problems(job["spec"]["template"]["spec"])
    assert bool(problems) == bool(elevated), (found, problems)


def test_a_chosen_service_account_needs_its_own_permission() -> None:
    template = suite(jobTemplate={"serviceAccountName": "gpu-diag"}).operator.job_template
    refused = policy.privilege_refusal(ClusterPolicy.build(), "team-a", template)
    assert refused is not None and "serviceAccountName gpu-diag" in refused.message
    assert "policy.serviceAccountNamespaces" in refused.message
    allowed = ClusterPolicy.build(service_account_namespaces=["team-a"])
    assert policy.privilege_refusal(allowed, "team-a", template) is None
    assert policy.privilege_refusal(
        ClusterPolicy.build(privileged_namespaces=["team-a"]), "team-a", template
    ), "privileged pods and chosen ServiceAccounts are separate permissions"


def test_privilege_implies_escalation_in_the_pod_the_api_server_would_accept() -> None:
    for caps, privileged in ((("SYS_ADMIN",), False), ((), True)):
        template = JobTemplateSpec(
            security=SecuritySpec(
                run_as_non_root=not privileged, privileged=privileged, add_capabilities=caps
            )
        )
        (job,) = build_jobs(request(nodes=("gpu-a",), template=template))
        sc = job["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        assert sc["allowPrivilegeEscalation"] is True, (
            "the API server refuses allowPrivilegeEscalation: false with privileged or "
            "CAP_SYS_ADMIN, and the run would never get a pod"
        )


@pytest.mark.parametrize(
    ("text", "repository", "tag", "digest"),
    [
        ("busybox", "docker.io/library/busybox", "", ""),
        ("busybox:1.36", "docker.io/library/busybox", "1.36", ""),
        ("team/tool:v2", "docker.io/team/tool", "v2", ""),
        ("ghcr.io/benchgate/workload:0.1.0", "ghcr.io/benchgate/workload", "0.1.0", ""),
        ("localhost:5000/img", "localhost:5000/img", "", ""),
        (f"registry.example.com/a/b@sha256:{'a' * 64}", "registry.example.com/a/b", "", "x"),
    ],
)
def test_image_references_normalise_as_the_runtime_reads_them(
    text: str, repository: str, tag: str, digest: str
) -> None:
    ref = ImageReference.parse(text)
    assert (ref.repository, ref.tag, bool(ref.digest)) == (repository, tag, bool(digest))


def test_the_image_allow_list_matches_repositories_prefixes_and_digests() -> None:
    digest = "sha256:" + "b" * 64
    cluster = ClusterPolicy.build(
        allowed_images=[
            "ghcr.io/benchgate/*",
            "registry.example.com/ml/diag",
            f"registry.example.com/ml/pinned@{digest}",
        ]
    )
    allowed = [
        "ghcr.io/benchgate/workload:0.1.0",
        "ghcr.io/benchgate/sub/path:1",
        "registry.example.com/ml/diag:latest",
        f"registry.example.com/ml/pinned@{digest}",
    ]
    refused = [
        "ghcr.io/benchgate-evil/workload:1",  # a prefix is a path, not a string prefix
        "ghcr.io/benchgate:1",
        "registry.example.com/ml/diagnostics:1",
        "registry.example.com/ml/pinned:1",
        f"registry.example.com/ml/pinned@sha256:{'c' * 64}",
        "busybox",
    ]
    for image in allowed:
        assert policy.image_refusal(cluster, [image]) is None, image
    for image in refused:
        found = policy.image_refusal(cluster, [image])
        assert found is not None and found.reason == "ImageForbidden", image
        assert image in found.message and "policy.allowedImages" in found.message


def test_digests_can_be_required_and_bad_entries_are_refused_at_start() -> None:
    pinned = ClusterPolicy.build(require_digest=True)
    assert policy.image_refusal(pinned, ["ghcr.io/x/y:1"]) is not None
    assert policy.image_refusal(pinned, [f"ghcr.io/x/y@sha256:{'d' * 64}"]) is None
    for bad in ("ghcr.io/x/y:1.0", "Not An Image", f"x@sha256:{'z' * 64}"):
        with pytest.raises(PolicyError):
            ClusterPolicy.build(allowed_images=[bad])
    with pytest.raises(PolicyError, match="--gating-namespace"):
        ClusterPolicy.build(gating_namespaces=["Bad_NS"])


def test_a_suite_is_checked_for_privilege_then_images() -> None:
    cluster = ClusterPolicy.build(allowed_images=["ghcr.io/benchgate/*"])
    assert policy.pod_refusal(cluster, suite()) is None
    privileged = suite(jobTemplate={"securityContext": {"privileged": True, "runAsNonRoot": False}})
    found = policy.pod_refusal(cluster, privileged)
    assert found is not None and found.reason == "PrivilegeForbidden"
    found = policy.pod_refusal(cluster, suite(), image="docker.io/evil/miner:1")
    assert found is not None and found.reason == "ImageForbidden", (
        "a run's own image is checked, not only the suite's"
    )


def test_the_policy_round_trips_through_the_operator_environment() -> None:
    cluster = policy.from_environment(
        {
            "POD_NAMESPACE": "benchgate",
            "BENCHGATE_GATING_NAMESPACES": "ml,ci",
            "BENCHGATE_PRIVILEGED_NAMESPACES": "gpu-diag",
            "BENCHGATE_ALLOWED_IMAGES": "ghcr.io/benchgate/*",
            "BENCHGATE_REQUIRE_IMAGE_DIGEST": "true",
        }
    )
    assert cluster.operator_namespace == "benchgate"
    assert cluster.gating_namespaces == frozenset({"ml", "ci"})
    assert cluster.privileged_namespaces == frozenset({"gpu-diag"})
    assert cluster.require_digest and len(cluster.allowed_images) == 1
    assert "gating namespaces: ci, ml" in cluster.summary()


def test_an_any_image_workloads_own_image_is_held_to_the_allow_list() -> None:
    cluster = ClusterPolicy.build(allowed_images=["ghcr.io/benchgate/*"])
    own = {"name": "probe", "image": "docker.io/library/busybox:1.36", "command": ["sh"]}
    found = policy.pod_refusal(cluster, suite(workloads=[own]))
    assert found is not None and found.reason == "ImageForbidden", found
    assert "docker.io/library/busybox:1.36" in found.message, found.message
    allowing = ClusterPolicy.build(
        allowed_images=["ghcr.io/benchgate/*", "docker.io/library/busybox"]
    )
    assert policy.pod_refusal(allowing, suite(workloads=[own])) is None
