"""The sandbox refuses what the API server refuses, with the API server's message shapes.

Written from the CRD documentation ("Validation", "Defaulting and nullable",
"int-or-string", "Validation rules") and the core/v1 API reference (Pod resources,
images, tolerations; Node taints). A rule the sandbox did not enforce would let a test
pass here that fails against a real cluster.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchgate_sandbox.testing import Sandbox

Raw = Any
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
PODS = "/api/v1/namespaces/default/pods"
JOBS = "/apis/batch/v1/namespaces/default/jobs"


def widget(name: str = "w1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"image": "img:1", **spec},
    }


def causes(response: Any) -> dict[str, str]:
    assert response.status_code == 422, (
        f"expected 422 Invalid, got {response.status_code}: {response.text}"
    )
    status = response.json()
    assert status["kind"] == "Status" and status["reason"] == "Invalid", status
    found: dict[str, str] = {}
    for cause in status["details"]["causes"]:
        found[cause["field"]] = " | ".join(
            filter(None, [found.get(cause["field"]), cause["message"]])
        )
    return found


@pytest.mark.parametrize(
    ("spec", "field", "text"),
    [
        # int-or-string with anyOf: both alternatives are checked (the issue's -5 case)
        ({"budget": -5}, "spec.budget", "should be greater than or equal to 0"),
        ({"budget": "5"}, "spec.budget", "should match '^[0-9]+%$'"),
        ({"budget": True}, "spec.budget", "must be of type integer,string"),
        ({"shape": {"radius": 1, "side": 2}}, "spec.shape", "one and only one schema (oneOf)"),
        ({"shape": {}}, "spec.shape", "one and only one schema (oneOf)"),
        ({"code": "xyz"}, "spec.code", "must not validate the schema (not)"),
        ({"level": 9}, "spec.level", "should be less than or equal to 5"),
        ({"level": 0}, "spec.level", "should be greater than or equal to 1"),
        ({"since": "yesterday"}, "spec.since", "must be of type date-time"),
        ({"tags": ["a", "a"]}, "spec.tags[1]", 'Duplicate value: "a"'),
    ],
)
def test_openapi_keywords_are_enforced(
    widgets: Sandbox, raw: Raw, spec: dict[str, Any], field: str, text: str
) -> None:
    found = causes(raw.post(WIDGETS, widget(**spec)))
    assert field in found and text in found[field], f"{field}: {text!r} not in {found}"
    assert all(m.startswith(f"{field}: ") for m in found[field].split(" | ")), (
        "each message names the field first"
    )


@pytest.mark.parametrize(
    "spec",
    [
        {"budget": 0},
        {"budget": "50%"},
        {"shape": {"side": 2}},
        {"code": "abc"},
        {"level": 3},
        {"since": "2026-01-02T03:04:05Z"},
        {"tags": ["a", "b"]},
    ],
)
def test_valid_values_of_the_same_keywords_are_accepted(
    widgets: Sandbox, raw: Raw, spec: dict[str, Any]
) -> None:
    response = raw.post(WIDGETS, widget(**spec))
    assert response.status_code == 201, response.text


def test_nullable_keeps_null_and_a_non_nullable_null_is_dropped(widgets: Sandbox, raw: Raw) -> None:
    response = raw.post(WIDGETS, widget(note=None, comment=None))
    assert response.status_code == 201, response.text
    spec = response.json()["spec"]
    assert "note" in spec and spec["note"] is None, "nullable: true keeps an explicit null"
    assert "comment" not in spec, "a null for a non-nullable field is pruned, not refused"


def pod(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", **container}]},
    }


@pytest.mark.parametrize(
    ("container", "field", "text"),
    [
        (
            {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}},
            "spec.containers[0].resources.requests",
            'Invalid value: "2": must be less than or equal to cpu limit of 1',
        ),
        (
            {"resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1024Mi"}}},
            "spec.containers[0].resources.requests",
            "must be less than or equal to memory limit of 1024Mi",
        ),
        (
            {"resources": {"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "2"}}},
            "spec.containers[0].resources.requests[nvidia.com/gpu]",
            "must be equal to nvidia.com/gpu limit of 2",
        ),
        (
            {"resources": {"requests": {"nvidia.com/gpu": "1"}}},
            "spec.containers[0].resources.limits",
            "Limit must be set for non overcommitable resources",
        ),
        (
            {"resources": {"limits": {"nvidia.com/gpu": "500m"}}},
            "spec.containers[0].resources.limits[nvidia.com/gpu]",
            "must be an integer",
        ),
        (
            {"resources": {"limits": {"gpu": "1"}}},
            "spec.containers[0].resources.limits[gpu]",
            "must be a standard resource type or fully qualified",
        ),
        (
            {"resources": {"limits": {"cpu": "-1"}}},
            "spec.containers[0].resources.limits[cpu]",
            "must be greater than or equal to 0",
        ),
        (
            {"image": " busybox:1.36"},
            "spec.containers[0].image",
            "must not have leading or trailing whitespace",
        ),
        ({"image": ""}, "spec.containers[0].image", "Required value"),
        ({"name": "Bad_Name"}, "spec.containers[0].name", "RFC 1123 label"),
    ],
)
def test_pod_specs_a_cluster_refuses_are_refused(
    raw: Raw, container: dict[str, Any], field: str, text: str
) -> None:
    found = causes(raw.post(PODS, pod(**container)))
    assert field in found and text in found[field], f"{field}: {text!r} not in {found}"


def test_a_quantity_that_does_not_parse_fails_decoding_with_400(raw: Raw) -> None:
    response = raw.post(PODS, pod(resources={"limits": {"memory": "1 GB"}}))
    assert response.status_code == 400, response.text
    assert "quantities must match the regular expression" in response.json()["message"]


def test_job_templates_get_the_pod_checks(raw: Raw) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "c",
                            "image": "busybox",
                            "resources": {"requests": {"cpu": "4"}, "limits": {"cpu": "2"}},
                        }
                    ],
                    "tolerations": [{"key": "k", "operator": "Exists", "value": "v"}],
                }
            }
        },
    }
    found = causes(raw.post(JOBS, job))
    assert "must be less than or equal to cpu limit of 2" in found.get(
        "spec.template.spec.containers[0].resources.requests", ""
    ), found
    assert "value must be empty when `operator` is 'Exists'" in found.get(
        "spec.template.spec.tolerations[0].operator", ""
    ), found


@pytest.mark.parametrize(
    ("taints", "field", "text"),
    [
        ([{"key": "a b", "effect": "NoSchedule"}], "spec.taints[0].key", "name part must"),
        ([{"key": "k", "effect": "Sometimes"}], "spec.taints[0].effect", "Unsupported value"),
        ([{"key": "k"}], "spec.taints[0].effect", "Required value"),
        (
            [{"key": "k", "value": "x" * 64, "effect": "NoSchedule"}],
            "spec.taints[0].value",
            "must be no more than 63 characters",
        ),
        (
            [
                {"key": "k", "effect": "NoSchedule"},
                {"key": "k", "value": "v", "effect": "NoSchedule"},
            ],
            "spec.taints[1]",
            "taints must be unique by key and effect pair",
        ),
    ],
)
def test_node_taints_are_validated(
    sandbox: Sandbox, raw: Raw, taints: list[dict[str, Any]], field: str, text: str
) -> None:
    sandbox.add_node("worker-1")
    response = raw.patch("/api/v1/nodes/worker-1", {"spec": {"taints": taints}})
    found = causes(response)
    assert field in found and text in found[field], f"{field}: {text!r} not in {found}"
    ok = raw.patch(
        "/api/v1/nodes/worker-1",
        {
            "spec": {
                "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
            }
        },
    )
    assert ok.status_code == 200, ok.text


def test_a_crd_whose_schema_is_not_a_schema_is_refused(sandbox: Sandbox, raw: Raw) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "minimum": "ten"}},
                }
            ],
        },
    }
    found = causes(raw.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd))
    assert "spec.versions[0].schema.openAPIV3Schema" in found, found
