"""Living with it, against the real operator: status, verify, accept, report and history
on a suite with a baseline platform, a passed one and a regressed one.

The regressed platform is made the way a real one is: the suite's measured environment
changes without a re-run (`triggers.specChange: false`, the workload told to round fp32
matmul inputs like TF32), and then a node of a new platform joins, is verified against
the class's baseline and regresses. The other two platforms keep their verdicts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from controller_harness import GROUP_VERSION, ROOT, Cluster, condition

from report_browser import ink, ocr, screenshot, spread, tokens

NS = "ops"
SUITE = "ops"
POOL = {"benchgate-test/pool": NS}
TF32 = [{"name": "BENCHGATE_INJECT_PRECISION", "value": "tf32"}]


@dataclass
class Scenario:
    cluster: Cluster
    baseline_run: dict[str, Any]
    passed_run: dict[str, Any]
    regressed_run: dict[str, Any]
    classes: dict[str, str]  # node -> platform class

    def cli(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "benchgate.cli",
                *args,
                "--kubeconfig",
                str(self.cluster.sb.kubeconfig_path),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )

    def suite(self) -> dict[str, Any]:
        return self.cluster.sb.get(GROUP_VERSION, "RegressionSuite", SUITE, NS)

    def run(self, name: str) -> dict[str, Any]:
        return self.cluster.sb.get(GROUP_VERSION, "VerificationRun", name, NS)


def finished(cluster: Cluster, node: str, trigger: str | None = None) -> list[dict[str, Any]]:
    return [
        r
        for r in cluster.finished_runs(NS)
        if node in r["spec"]["nodes"]
        and (trigger is None or r["spec"]["trigger"]["reason"] == trigger)
    ]


@pytest.fixture(scope="module")
def scenario(cluster: Cluster) -> Iterator[Scenario]:
    sb = cluster.sb
    sb.create_namespace(NS)
    sb.add_node("ops-a", labels=POOL, node_info={"kernelVersion": "6.1.0"})
    cluster.suite(
        NS,
        SUITE,
        NS,
        triggers={"specChange": False},
        gating={"enabled": True},
        historyLimit=10,
        # The regression below is injected through the suite's env, so a concurrent
        # control (ops-a, measured with the same suite) would carry it too and rightly
        # find no platform difference: these runs are judged against the stored baseline.
        baseline={"control": "Never"},
    )
    baseline_run = cluster.wait(
        lambda: finished(cluster, "ops-a"), timeout=120, what="the first run (the baseline)"
    )[0]
    assert condition(baseline_run, "Verified")["reason"] == "BaselinePromoted"
    sb.add_node("ops-b", labels=POOL, node_info={"kernelVersion": "6.5.0"})
    passed_run = cluster.wait(
        lambda: finished(cluster, "ops-b"), timeout=120, what="the second platform's run"
    )[0]
    assert passed_run["status"]["verdict"] == "Passed", passed_run["status"]
    suite = sb.get(GROUP_VERSION, "RegressionSuite", SUITE, NS)
    suite["spec"]["jobTemplate"] = {"env": TF32}
    sb.apply(suite)
    sb.add_node("ops-c", labels=POOL, node_info={"kernelVersion": "6.8.0"})
    regressed_run = cluster.wait(
        lambda: finished(cluster, "ops-c"), timeout=120, what="the third platform's run"
    )[0]
    assert regressed_run["status"]["verdict"] == "Regressed", regressed_run["status"]
    classes = {
        r["spec"]["nodes"][0]: r["spec"]["platform"]["class"]
        for r in (baseline_run, passed_run, regressed_run)
    }
    cluster.wait(
        lambda: (
            len(
                [
                    p
                    for p in sb.get(GROUP_VERSION, "RegressionSuite", SUITE, NS)["status"][
                        "platforms"
                    ]
                    if p.get("verdict") in ("NoBaseline", "Passed", "Regressed")
                ]
            )
            == 3
        ),
        timeout=30,
        what="the suite's status shows the three platforms",
    )
    yield Scenario(cluster, baseline_run, passed_run, regressed_run, classes)


def test_status_shows_each_platform_its_gating_and_the_next_step(scenario: Scenario) -> None:
    out = scenario.cli("status", SUITE, "-n", NS)
    assert out.returncode == 1, f"a regressed platform makes status exit 1: {out}"
    text = out.stdout
    regressed = scenario.regressed_run["metadata"]["name"]
    for cls in scenario.classes.values():
        assert cls in text, f"platform {cls} missing from:\n{text}"

    def row(cls: str) -> str:
        return next(line for line in text.splitlines() if line.strip().startswith(cls + " "))

    regressed_row = row(scenario.classes["ops-c"])
    assert "Regressed" in regressed_row and "numerics_probe/" in regressed_row, text
    assert " 1/1 " in regressed_row, f"the regressed platform's node is gated:\n{text}"
    passed_row = row(scenario.classes["ops-b"])
    assert "Passed" in passed_row and " no " in passed_row, text
    assert f"benchgate report {regressed} -n {NS}" in text, text
    assert f"benchgate accept {regressed} -n {NS}" in text, text
    assert f"benchgate verify {SUITE} --platform {scenario.classes['ops-c']}" in text, text
    data = json.loads(scenario.cli("status", "-A", "-o", "json").stdout)
    (suite,) = [s for s in data["suites"] if s["name"] == SUITE]
    verdicts = {p["platformClass"]: p["verdict"] for p in suite["platforms"]}
    assert verdicts == {
        scenario.classes["ops-a"]: "NoBaseline",
        scenario.classes["ops-b"]: "Passed",
        scenario.classes["ops-c"]: "Regressed",
    }
    assert all(p["baselineAgeSeconds"] is not None for p in suite["platforms"])
    if os.environ.get("BENCHGATE_WRITE_DOCS") == "1":
        (ROOT / "docs" / "status-example.txt").write_text(text)


def test_report_of_the_regressed_run_shows_what_regressed(
    scenario: Scenario, tmp_path: Path
) -> None:
    regressed = scenario.regressed_run["metadata"]["name"]
    html, md, png = tmp_path / "r.html", tmp_path / "r.md", tmp_path / "r.png"
    out = scenario.cli(
        "report", regressed, "-n", NS, "--html", str(html), "--markdown", str(md), "--history"
    )
    assert out.returncode == 0, out
    assert out.stderr.startswith("Regressed: wrote"), out.stderr
    worst = scenario.regressed_run["status"]["worstMetric"]
    markdown = md.read_text()
    assert f"`{worst}`" in markdown and "**Regressed**" in markdown, markdown
    table = markdown[markdown.index("### Metrics") :]
    assert table.index("| Regressed |") < table.index("| Passed |"), "worst first"
    image = screenshot(html, png, width=1100, height=1500)
    assert ink(image) > 0.02 and spread(image) > 20, "the report renders, not blank"
    seen = " ".join(w.text.lower() for w in ocr(png))
    missing = [t for t in tokens(worst) if t not in seen]
    assert not missing, f"OCR did not find {missing} of {worst} in the screenshot: {seen[:1500]}"
    # The verdict's reason and the environment diff come first (badges are white on red,
    # which Tesseract does not read; their text is checked in the markdown above).
    assert "regression detected" in seen and "kernel_version" in seen, seen[:1500]
    if os.environ.get("BENCHGATE_WRITE_DOCS") == "1":
        shutil.copy(png, ROOT / "docs" / "report-screenshot.png")
    # The dashboard's link: the latest run of a platform, by its key prefix.
    key = scenario.regressed_run["spec"]["platform"]["key"][:8]
    latest = scenario.cli(
        "report", "--latest", SUITE, "--platform", key, "-n", NS, "--html", str(tmp_path / "l.html")
    )
    assert latest.returncode == 0 and (tmp_path / "l.html").exists(), latest
    nothing = scenario.cli("report", scenario.baseline_run["metadata"]["name"], "-n", NS)
    assert nothing.returncode == 3 and "not compared with a baseline" in nothing.stderr, nothing


def test_status_refuses_what_does_not_exist(scenario: Scenario) -> None:
    out = scenario.cli("status", "nope", "-n", NS)
    assert out.returncode == 3 and "RegressionSuite ops/nope not found" in out.stderr, out
    out = scenario.cli("status", SUITE, "-A")
    assert out.returncode == 3 and "not both" in out.stderr, out


def test_verify_refusals_name_what_exists(scenario: Scenario) -> None:
    out = scenario.cli("verify", SUITE, "-n", NS, "--platform", "cpu-arm64-9-9")
    assert out.returncode == 3, out
    assert "no such platform" in out.stderr and scenario.classes["ops-a"] in out.stderr, out
    out = scenario.cli("verify", SUITE, "-n", NS, "--node", "elsewhere")
    assert out.returncode == 3 and "ops-a" in out.stderr, out
    out = scenario.cli("verify", "nope", "-n", NS)
    assert out.returncode == 3 and "not found" in out.stderr, out
    out = scenario.cli("verify", SUITE, "-n", NS, "--token", "-bad-")
    assert out.returncode == 3 and "token" in out.stderr, out
    # Written by hand, a bad request is refused by the operator in status and an Event.
    suite = scenario.suite()
    suite["metadata"].setdefault("annotations", {})["benchgate.dev/verify"] = "t1 colour=red"
    scenario.cluster.sb.apply(suite)
    scenario.cluster.wait(
        lambda: (scenario.suite()["status"].get("manualRequest") or {}).get("state") == "Refused",
        timeout=30,
        what="the operator refuses the request",
    )
    assert "colour=red" in scenario.suite()["status"]["manualRequest"]["message"]
    scenario.cluster.wait_event(NS, SUITE, "VerifyRefused")


def test_accept_refuses_runs_that_cannot_be_accepted(scenario: Scenario) -> None:
    passed = scenario.passed_run["metadata"]["name"]
    out = scenario.cli("accept", passed, "-n", NS, "--reason", "why not")
    assert out.returncode == 3 and "benchgate promote" in out.stderr, out
    out = scenario.cli("accept", "nope", "-n", NS, "--reason", "x")
    assert out.returncode == 3 and "not found" in out.stderr, out
    regressed = scenario.regressed_run["metadata"]["name"]
    out = scenario.cli("accept", regressed, "-n", NS, "--reason", "  ")
    assert out.returncode == 3 and "give a reason" in out.stderr, out


def test_accept_makes_the_regressed_run_the_baseline_and_releases_the_node(
    scenario: Scenario,
) -> None:
    regressed = scenario.regressed_run["metadata"]["name"]
    reason = "TF32 on purpose: the training team wants the speed (TICKET-42)"
    out = scenario.cli("accept", regressed, "-n", NS, "--reason", reason)
    assert out.returncode == 0, out
    # The sandbox authenticates and answers SelfSubjectReview, as an API server does: the
    # recorded identity is the server's, not a name from the kubeconfig.
    assert "as sandbox-admin (who the API server says you are)" in out.stdout, out.stdout
    run = scenario.run(regressed)
    assert run["status"]["verdict"] == "Regressed", "the engine's verdict stays on record"
    acceptance = run["status"]["acceptance"]
    assert acceptance["reason"] == reason and acceptance["by"] == "sandbox-admin"
    assert acceptance["identitySource"] == "SelfSubjectReview"
    verified = condition(run, "Verified")
    assert (verified["status"], verified["reason"]) == ("True", "ChangeAccepted"), verified
    baseline = scenario.cluster.sb.get(
        GROUP_VERSION, "RegressionBaseline", acceptance["baseline"], NS
    )
    assert baseline["spec"]["acceptance"]["reason"] == reason
    assert baseline["spec"]["acceptance"]["runVerdict"] == "Regressed"
    assert baseline["spec"]["promotedBy"] == "sandbox-admin"
    scenario.cluster.wait_event(NS, regressed, "ChangeAccepted")
    scenario.cluster.wait_event(NS, SUITE, "ChangeAccepted")

    def released() -> bool:
        node = scenario.cluster.sb.get("v1", "Node", "ops-c")
        return not any(
            t.get("key") == "benchgate.dev/unverified" for t in node["spec"].get("taints") or []
        )

    scenario.cluster.wait(released, timeout=30, what="node ops-c released")
    row = scenario.cluster.wait(
        lambda: next(
            p
            for p in scenario.suite()["status"]["platforms"]
            if p.get("class") == scenario.classes["ops-c"] and p.get("verdict") == "Accepted"
        ),
        timeout=30,
        what="the platform row says Accepted",
    )
    assert row["reason"] == "ChangeAccepted"
    again = scenario.cli("accept", regressed, "-n", NS, "--reason", reason)
    assert again.returncode == 0 and "already accepted" in again.stdout, again


def test_verify_makes_exactly_one_manual_run_even_across_a_restart(scenario: Scenario) -> None:
    cluster = scenario.cluster
    # Asked by hand and the operator killed at once: the request is still handled once.
    suite = scenario.suite()
    suite["metadata"]["annotations"]["benchgate.dev/verify"] = (
        f"restart-1 platform={scenario.classes['ops-b']}"
    )
    cluster.sb.apply(suite)
    cluster.operator.restart()
    answer = cluster.wait(
        lambda: (
            (m := scenario.suite()["status"].get("manualRequest") or {}).get("token") == "restart-1"
            and m.get("state") == "Handled"
            and m
        ),
        timeout=60,
        what="the request handled after the restart",
    )
    (name,) = answer["runs"]
    cluster.operator.restart()
    done = cluster.wait(
        lambda: [r for r in cluster.finished_runs(NS) if r["metadata"]["name"] == name],
        timeout=120,
        what="the manual run finished",
    )[0]
    assert done["spec"]["trigger"] == {
        "reason": "Manual",
        "message": f"manual request restart-1 (platform {scenario.classes['ops-b']})",
        "token": "restart-1",
    }
    manual = [r for r in cluster.runs(NS) if r["spec"]["trigger"]["reason"] == "Manual"]
    assert [r["metadata"]["name"] for r in manual] == [name], "one request, one run"
    cluster.wait_event(NS, SUITE, "VerificationStarted")

    # The CLI, waiting for the verdict: the accepted platform re-verified against its new
    # baseline passes the step, and the anchor (the class's first baseline) reports the
    # drift the accepted change brought.
    out = scenario.cli(
        "verify",
        SUITE,
        "-n",
        NS,
        "--platform",
        scenario.classes["ops-c"],
        "--wait",
        "--token",
        "cli-1",
    )
    assert out.returncode == 0, out
    assert "created (Manual, token cli-1)" in out.stdout, out.stdout
    again = scenario.cli(
        "verify", SUITE, "-n", NS, "--platform", scenario.classes["ops-c"], "--token", "cli-1"
    )
    assert again.returncode == 0, again
    cli_runs = [r for r in cluster.runs(NS) if r["spec"]["trigger"].get("token") == "cli-1"]
    assert len(cli_runs) == 1, "the same token never makes a second run"
    run = cli_runs[0]
    assert run["status"]["verdict"] == "Passed", run["status"]
    drifted = condition(run, "Drifted")
    assert (drifted["status"], drifted["reason"]) == ("True", "DriftDetected"), drifted
    assert "across 1 accepted change" in drifted["message"], drifted
    assert (
        run["status"]["anchor"]["name"] == f"{scenario.baseline_run['metadata']['name']}-baseline"
    )
    cluster.wait_event(NS, run["metadata"]["name"], "DriftDetected")
    status = scenario.cli("status", SUITE, "-n", NS)
    assert "drift:" in status.stdout and "benchgate history" in status.stdout, status.stdout


def test_history_shows_each_metric_over_the_runs(scenario: Scenario) -> None:
    out = scenario.cli("history", SUITE, "-n", NS, "--metric", "numerics_probe/", "-o", "json")
    assert out.returncode == 0, out
    data = json.loads(out.stdout)
    assert data["series"], "numerics_probe's metrics have a history"
    sources = {p["source"] for s in data["series"] for p in s["points"]}
    manual = {
        r["metadata"]["name"]
        for r in scenario.cluster.runs(NS)
        if r["spec"]["trigger"]["reason"] == "Manual"
    }
    assert manual <= sources, "every finished manual run is a point"
    assert all(
        [p["time"] for p in s["points"]] == sorted(p["time"] for p in s["points"])
        for s in data["series"]
    ), "points in time order"
    table = scenario.cli("history", SUITE, "-n", NS, "--platform", scenario.classes["ops-c"])
    assert table.returncode == 0 and "with change points" in table.stdout, table
    for argv, says in (
        (["--metric", "no_such_metric"], "no stored session holds a metric"),
        (["--platform", "cpu-arm64-9-9"], "no run of suite ops measured it"),
    ):
        refused = scenario.cli("history", SUITE, "-n", NS, *argv)
        assert refused.returncode == 3 and says in refused.stderr, refused
