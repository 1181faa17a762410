"""Upgrading from 0.1.0 loses nothing: what the previous release wrote, real and checked in
(fixtures/README.md says how each file was made), is read and judged by this version.

- documents/: result documents 0.1.0's `benchgate run` wrote (a baseline, a candidate)
  and its own comparison of the two;
- cluster/: a suite, its two VerificationRuns, its RegressionBaseline and their results
  ConfigMaps, as 0.1.0's operator left them in its sandbox.

The cluster objects are restored under 0.1.0's CRDs (create, then the status subresource,
as a backup tool restores them), the CRDs are upgraded as `helm upgrade` does, and the
new CLI reads the suite's history and compares its stored baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from previous_release import (
    DOCUMENTS,
    NAMESPACE,
    PREVIOUS,
    SUITE,
    stored_objects,
    upgraded_sandbox,
)

from benchgate.api.result import loads
from benchgate_sandbox.testing import Sandbox


def benchgate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchgate.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def comparison_keys(comparison: dict[str, Any]) -> set[str]:
    return {m["key"] for m in comparison["metrics"]}


def test_documents_written_by_the_previous_release_read_whole() -> None:
    for name in ("baseline.json", "candidate.json"):
        raw = json.loads((DOCUMENTS / name).read_text())
        assert raw["schemaVersion"] == "benchgate.dev/result/v1"
        doc = loads((DOCUMENTS / name).read_text())
        written = {
            f"{w['name']}/{m['name']}": sum(len(s["values"]) for s in m["samples"])
            for w in raw["workloads"]
            for m in w["metrics"]
        }
        read = {key: sum(len(s.values) for s in m.samples) for key, m in doc.metrics()}
        assert read == written, f"{name}: metrics or samples were lost reading the v1 document"


def test_a_baseline_of_the_previous_release_still_compares() -> None:
    old = json.loads((DOCUMENTS / "comparison.json").read_text())
    done = benchgate(
        "compare",
        str(DOCUMENTS / "baseline.json"),
        str(DOCUMENTS / "candidate.json"),
        "--suite",
        str(PREVIOUS / "crds/samples/cpu-suite.yaml"),
        "--format",
        "json",
    )
    assert done.stdout, f"benchgate compare printed nothing:\n{done.stderr}"
    new = json.loads(done.stdout)
    assert new["verdict"] in {"Passed", "Regressed", "Inconclusive"}, new["verdict"]
    assert comparison_keys(old) <= comparison_keys(new), (
        "metrics 0.1.0 judged are no longer judged: "
        f"{sorted(comparison_keys(old) - comparison_keys(new))}"
    )


def test_a_v2_run_of_this_version_is_judged_against_a_v1_baseline(tmp_path: Path) -> None:
    """This version's workloads write v2 (a prediction-consistency distribution metric);
    0.1.0's v1 baseline cannot hold that kind. Every metric the baseline measured is
    judged, and the one it cannot say anything about is stated as new, not guessed."""
    suite = yaml.safe_load((PREVIOUS / "crds/samples/cpu-suite.yaml").read_text())
    suite["spec"]["workloads"] = [
        {"name": "numerics_probe"},
        {"name": "gemm_throughput", "repetitions": 2},
        {"name": "prediction_consistency"},
    ]
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite))
    done = benchgate(
        "run",
        str(tmp_path / "suite.yaml"),
        "--size",
        "tiny",
        "--replicates",
        "3",
        "--repetitions",
        "2",
        "--baseline",
        str(DOCUMENTS / "baseline.json"),
        "--format",
        "json",
        "--out",
        str(tmp_path / "candidate.json"),
        env={"OMP_NUM_THREADS": "1"},
    )
    assert done.stdout, f"benchgate run printed no comparison:\n{done.stderr[-2000:]}"
    candidate = json.loads((tmp_path / "candidate.json").read_text())
    assert candidate["schemaVersion"] == "benchgate.dev/result/v2"
    comparison = json.loads(done.stdout)
    by_key = {m["key"]: m for m in comparison["metrics"]}
    baseline = loads((DOCUMENTS / "baseline.json").read_text())
    measured = {key for key, _ in baseline.metrics()}
    assert measured <= by_key.keys(), f"not judged: {sorted(measured - by_key.keys())}"
    assert all(by_key[k]["verdict"] != "Invalid" for k in measured), [
        (k, by_key[k].get("reason")) for k in measured if by_key[k]["verdict"] == "Invalid"
    ]
    new = by_key["prediction_consistency/outputs"]
    assert new["reason"].startswith("new: not in the baseline"), new
    assert "1 new metric(s) not in the baseline were not judged" in comparison["reason"]
    assert comparison["verdict"] in {"Passed", "Improved", "Regressed", "Inconclusive"}


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with upgraded_sandbox(tmp_path_factory.mktemp("previous") / "sandbox") as sb:
        yield sb


def test_every_object_of_the_previous_release_reads_after_the_upgrade(upgraded: Sandbox) -> None:
    for obj in stored_objects():
        api_version, kind, name = obj["apiVersion"], obj["kind"], obj["metadata"]["name"]
        read = upgraded.get(api_version, kind, name, NAMESPACE)
        for part in ("spec", "status", "data"):
            assert read.get(part) == obj.get(part), f"{kind} {name}: {part} changed"


def test_the_history_of_runs_the_previous_release_made_still_reads(upgraded: Sandbox) -> None:
    runs = [o for o in stored_objects() if o["kind"] == "VerificationRun"]
    assert len(runs) == 2, "the fixture holds the first run (the baseline) and a re-verification"
    done = benchgate(
        "history",
        SUITE,
        "-n",
        NAMESPACE,
        "--kubeconfig",
        str(upgraded.kubeconfig_path),
        "-o",
        "json",
    )
    assert done.returncode == 0, f"benchgate history failed:\n{done.stdout}{done.stderr}"
    history = json.loads(done.stdout)
    assert history["series"], "no metric history from 0.1.0's runs"
    text = json.dumps(history)
    for run in runs:
        assert run["metadata"]["name"] in text, f"run {run['metadata']['name']} is missing"


def test_the_stored_baseline_compares_with_the_new_engine(
    upgraded: Sandbox, tmp_path: Path
) -> None:
    (baseline,) = [o for o in stored_objects() if o["kind"] == "RegressionBaseline"]
    runs = {o["metadata"]["name"]: o for o in stored_objects() if o["kind"] == "VerificationRun"}
    (second,) = [n for n in runs if n != baseline["spec"]["sourceRun"]]
    documents = {}
    for role, configmap in (
        ("baseline", baseline["spec"]["samplesConfigMap"]),
        ("candidate", runs[second]["status"]["resultsConfigMap"]),
    ):
        cm = upgraded.get("v1", "ConfigMap", configmap, NAMESPACE)
        ((_, text),) = cm["data"].items()
        loads(text)  # the new reader takes the stored v1 document
        documents[role] = tmp_path / f"{role}.json"
        documents[role].write_text(text)
    suite = upgraded.get("benchgate.dev/v1alpha1", "RegressionSuite", SUITE, NAMESPACE)
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite))
    done = benchgate(
        "compare",
        str(documents["baseline"]),
        str(documents["candidate"]),
        "--suite",
        str(tmp_path / "suite.yaml"),
        "--format",
        "json",
    )
    new = json.loads(done.stdout)
    old_verdict = runs[second]["status"]["verdict"]
    assert new["verdict"] in {"Passed", "Regressed", "Inconclusive"}, new
    assert old_verdict == "Passed", "the fixture's re-verification passed under 0.1.0"
    assert len(new["metrics"]) >= 90, f"only {len(new['metrics'])} metrics compared"
