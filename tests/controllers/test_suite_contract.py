"""The suite contract end to end: what only the operator can know is refused with an
InvalidSpec condition and a Warning Event before any pod runs; valid edge cases (a
63-character name, the maximum tolerance) verify and promote; a run whose pods cannot be
scheduled says why in its own status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from controller_harness import GROUP_VERSION, Cluster, condition

LONG_NAME = "gpu-pool-verification-for-the-training-cluster-in-region-eu-1"  # 61
LONG_NAME = LONG_NAME + "ab"  # 63 characters: the longest name the CRD accepts

SCENARIOS: dict[str, tuple[str, dict[str, Any]]] = {
    "typo": ("typo", {"workloads": [{"name": "gemm_througput"}]}),
    "metric": (
        "metric",
        {
            "workloads": [
                {"name": "numerics_probe", "metrics": [{"name": "matmul", "ignore": True}]}
            ]
        },
    ),
    "nobase": ("nobase", {"baseline": {"policy": "Explicit", "name": "no-such-baseline"}}),
    "edge": (
        LONG_NAME,
        {
            "statistics": {"tolerancePercent": 100, "errorFactor": 10, "confidence": "0.9999"},
            "workloads": [
                {
                    "name": "numerics_probe",
                    "metrics": [{"name": "matmul_fp32_rel_rmse", "errorFactor": "10"}],
                }
            ],
        },
    ),
    "toobig": (
        "toobig",
        {"jobTemplate": {"resources": {"requests": {"cpu": "512"}, "limits": {"cpu": "512"}}}},
    ),
}


@pytest.fixture(scope="module")
def scenarios(cluster: Cluster) -> Iterator[Cluster]:
    for ns, (name, spec) in SCENARIOS.items():
        cluster.sb.create_namespace(ns)
        cluster.sb.add_node(f"{ns}-node", labels={"benchgate-test/pool": ns})
        cluster.suite(ns, name, ns, **spec)
    yield cluster


def suite(cluster: Cluster, ns: str) -> dict[str, Any]:
    return cluster.sb.get(GROUP_VERSION, "RegressionSuite", SCENARIOS[ns][0], ns)


def invalid_spec(cluster: Cluster, ns: str) -> dict[str, Any]:
    ready: dict[str, Any] = cluster.wait(
        lambda: (c := condition(suite(cluster, ns), "Ready")).get("reason") == "InvalidSpec" and c,
        timeout=60,
        what=f"the {ns} suite's Ready condition to say InvalidSpec",
    )
    return ready


@pytest.mark.parametrize(
    ("ns", "field", "text"),
    [
        ("typo", "spec.workloads[0].name", '"gemm_througput": not a workload'),
        ("metric", "spec.workloads[0].metrics[0].name", "numerics_probe reports no such metric"),
        ("nobase", "spec.baseline.name", 'Not found: "no-such-baseline"'),
    ],
)
def test_what_only_the_operator_knows_is_invalid_spec_before_any_pod(
    scenarios: Cluster, ns: str, field: str, text: str
) -> None:
    ready = invalid_spec(scenarios, ns)
    assert ready["status"] == "False"
    assert field in ready["message"] and text in ready["message"], ready["message"]
    scenarios.wait_event(ns, SCENARIOS[ns][0], "InvalidSpec")
    warning = next(
        e for e in scenarios.events(ns, SCENARIOS[ns][0]) if e["reason"] == "InvalidSpec"
    )
    assert warning["type"] == "Warning" and field in warning["message"]
    reported_by = (warning["source"]["component"], warning["reportingComponent"])
    assert reported_by == ("benchgate", "benchgate"), (
        f"Events must show 'From: benchgate' in kubectl describe, not {reported_by}"
    )
    assert warning["metadata"]["name"].startswith("benchgate-")
    assert scenarios.runs(ns) == [], "no VerificationRun for a suite the operator refused"
    assert scenarios.sb.list("batch/v1", "Job", ns) == [], "no Job, so no pod, ran"


def test_fixing_the_suite_lets_it_run(scenarios: Cluster) -> None:
    invalid_spec(scenarios, "typo")
    body = suite(scenarios, "typo")
    body["spec"]["workloads"] = [{"name": "numerics_probe"}]
    scenarios.sb.apply(body)
    scenarios.wait(lambda: scenarios.runs("typo"), timeout=60, what="a run once the typo is fixed")
    # The reconcile that creates the run writes the suite's status just after it.
    scenarios.wait(
        lambda: condition(suite(scenarios, "typo"), "Ready").get("reason") != "InvalidSpec",
        timeout=30,
        what="the suite's Ready condition to leave InvalidSpec",
    )


def test_a_63_character_suite_at_the_maximum_tolerance_verifies_and_promotes(
    scenarios: Cluster,
) -> None:
    run = scenarios.wait(
        lambda: scenarios.finished_runs("edge"), timeout=150, what="the 63-character suite's run"
    )[0]
    assert len(run["metadata"]["name"]) <= 52, run["metadata"]["name"]
    verified = condition(run, "Verified")
    assert verified["reason"] == "BaselinePromoted", verified
    (baseline,) = scenarios.sb.list(GROUP_VERSION, "RegressionBaseline", "edge")
    samples = scenarios.sb.get("v1", "ConfigMap", baseline["spec"]["samplesConfigMap"], "edge")
    assert samples["metadata"]["labels"]["benchgate.dev/baseline"] == baseline["metadata"]["name"]
    assert baseline["metadata"]["labels"]["benchgate.dev/suite"] == LONG_NAME
    tolerances = {(r["metric"], r["judgedBy"]): r for r in run["status"]["plan"]["tolerances"]}
    assert tolerances[("*", "TolerancePercent")] == {
        "metric": "*",
        "judgedBy": "TolerancePercent",
        "value": "100",
        "source": "Suite",
    }, "without a baseline the plan shows the suite's defaults and overrides"
    assert tolerances[("numerics_probe/matmul_fp32_rel_rmse", "ErrorFactor")]["value"] == "10"


def test_a_run_whose_pods_cannot_be_scheduled_says_why(scenarios: Cluster) -> None:
    def stuck() -> Any:
        runs = scenarios.runs("toobig")
        message = str((runs[0].get("status") or {}).get("message", "")) if runs else ""
        return "cannot be scheduled" in message and message

    message = scenarios.wait(stuck, timeout=60, what="the run's status to name the pod's problem")
    assert "Insufficient cpu" in message, message
