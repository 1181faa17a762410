"""The new operator takes over what 0.1.0's left behind: it restarts on 0.1.0's suite,
runs and baseline (restored under 0.1.0's CRDs, CRDs then upgraded), and a
re-verification it starts is judged against the baseline 0.1.0 stored, not treated as a
platform without a baseline.

It runs as the chart's ServiceAccount with the chart's RBAC and flags, as in
tests/controllers, and its pods run this version's workloads in the sandbox's kubelet.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from previous_release import NAMESPACE, SUITE, stored_objects, upgraded_sandbox

from benchgate_sandbox.testing import Sandbox
from chart_install import install

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "controllers"))
from controller_harness import Operator, condition

GV = "benchgate.dev/v1alpha1"
DECIDED = {"Passed", "Improved", "Regressed", "Inconclusive"}


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Operator]]:
    workdir = tmp_path_factory.mktemp("operator-after-upgrade")
    with upgraded_sandbox(workdir / "sandbox", bookmark_interval=0.3, job_backoff=0.05) as sb:
        # The node 0.1.0's runs measured, with the labels and node info its platform was
        # made of, so the platform is 0.1.0's on any machine (pods still run here).
        (run,) = [o for o in stored_objects() if o["kind"] == "VerificationRun"][:1]
        fields = {f["name"]: f["value"] for f in run["spec"]["platform"]["fields"]}
        sb.add_node(
            run["status"]["node"],
            labels={k[6:]: v for k, v in fields.items() if k.startswith("label:")},
            node_info={k[9:]: v for k, v in fields.items() if k.startswith("nodeInfo:")},
        )
        installed = install(sb, namespace=NAMESPACE)
        op = Operator(sb, workdir / "operator.log", installed)
        op.start()
        try:
            yield sb, op
        finally:
            op.stop()


def runs(sb: Sandbox) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in sb.list(GV, "VerificationRun", NAMESPACE)}


def test_a_new_run_is_judged_against_the_baseline_the_previous_release_stored(
    operator: tuple[Sandbox, Operator],
) -> None:
    sb, op = operator
    before = {o["metadata"]["name"] for o in stored_objects() if o["kind"] == "VerificationRun"}
    (baseline,) = [o for o in stored_objects() if o["kind"] == "RegressionBaseline"]
    # A spec change is a re-verification trigger in both versions.
    suite = sb.get(GV, "RegressionSuite", SUITE, NAMESPACE)
    suite["spec"]["statistics"]["tolerancePercent"] = 6
    sb.apply(suite)

    def finished_new_run() -> dict[str, Any] | None:
        for name, run in runs(sb).items():
            done = condition(run, "Complete").get("status") == "True"
            if name not in before and done:
                return run
        return None

    try:
        run = sb.wait_for(finished_new_run, timeout=240, what="a finished new VerificationRun")
    except TimeoutError as exc:
        tail = "\n".join(op.log().splitlines()[-40:])
        raise AssertionError(f"{exc}\n--- operator log tail ---\n{tail}") from None
    status = run["status"]
    platform_key = run["spec"]["platform"]["key"]
    assert platform_key == stored_objects()[0]["status"]["platforms"][0]["key"], (
        "the node should be 0.1.0's platform; the operator sees a new one"
    )
    assert status["baseline"]["name"] == baseline["metadata"]["name"], (
        f"the new run chose {status['baseline']} instead of 0.1.0's stored baseline"
    )
    assert status["verdict"] in DECIDED, (
        f"0.1.0's baseline did not compare: {status['verdict']}: {status.get('message')}"
    )
    for name in before:
        assert name in runs(sb), f"the new operator deleted 0.1.0's run {name}"
