"""CRDs are structural, carry the conventions, every CEL rule is enforced, and the
samples validate against them with the operator's own validator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchgate.api.cel import CelEngine
from benchgate.api.structural import StructuralSchema
from benchgate.api.suite_schema import CRD_FILE

ROOT = Path(__file__).resolve().parents[2]
CRDS = {p.stem: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "crds").glob("*.yaml"))}
SAMPLES = [
    d
    for p in sorted((ROOT / "crds/samples").glob("*.yaml"))
    for d in yaml.safe_load_all(p.read_text())
    if d
]


def schema_of(kind: str) -> dict[str, Any]:
    crd = next(c for c in CRDS.values() if c["spec"]["names"]["kind"] == kind)
    return dict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, child in node.get("properties", {}).items():
            yield from walk(child, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            yield from walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from walk(node["additionalProperties"], f"{path}{{}}")


def test_three_crds_with_names_status_and_columns() -> None:
    assert set(CRDS) == {"regressionsuites", "verificationruns", "regressionbaselines"}
    shorts = {}
    for crd in CRDS.values():
        spec = crd["spec"]
        assert spec["group"] == "benchgate.dev" and spec["scope"] == "Namespaced"
        assert spec["names"]["categories"] == ["benchgate"]
        shorts[spec["names"]["kind"]] = spec["names"]["shortNames"]
        (version,) = spec["versions"]
        assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
        assert version["additionalPrinterColumns"][-1]["name"] == "Age"
    assert shorts == {
        "RegressionSuite": ["rsuite"],
        "VerificationRun": ["vrun"],
        "RegressionBaseline": ["rbase"],
    }

    def columns(kind: str) -> list[str]:
        crd = next(c for c in CRDS.values() if c["spec"]["names"]["kind"] == kind)
        return [
            c["name"]
            for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]
            if not c.get("priority")
        ]

    assert columns("RegressionSuite") == ["Verified", "Failed", "Latest verdict", "Age"]
    assert columns("VerificationRun") == [
        "Suite",
        "Platform",
        "Node",
        "Verdict",
        "Worst metric",
        "Change",
        "Age",
    ]


@pytest.mark.parametrize("kind", ["RegressionSuite", "VerificationRun", "RegressionBaseline"])
def test_schemas_are_structural_and_described(kind: str) -> None:
    for path, node in walk(schema_of(kind)):
        if path in ("", ".metadata", ".apiVersion", ".kind"):
            continue
        assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{kind}{path}: no type"
        if "properties" in node or node.get("type") in ("integer", "boolean"):
            assert node.get("description"), f"{kind}{path}: no description"
        assert "float" not in str(node.get("type")) and node.get("type") != "number", (
            f"{kind}{path}: floats are not allowed in the API"
        )
    status = schema_of(kind)["properties"]["status"]["properties"]
    conditions = status["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert {
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
    } <= set(conditions["items"]["properties"])


def rules(kind: str) -> dict[str, str]:
    return {
        r["rule"]: r["message"]
        for _, node in walk(schema_of(kind))
        for r in node.get("x-kubernetes-validations", [])
    }


def test_cel_rules_present_and_all_enforced() -> None:
    for kind in ("RegressionSuite", "VerificationRun", "RegressionBaseline"):
        engine = CelEngine()
        StructuralSchema(schema_of(kind), engine)
        assert engine.unenforced == {}, (
            f"{kind}: these rules would not be enforced by the operator or the sandbox: "
            f"{engine.unenforced}"
        )
    assert "self == oldSelf" in rules("VerificationRun")
    assert "self == oldSelf" in rules("RegressionBaseline")
    assert any("Explicit" in r for r in rules("RegressionSuite"))


def admit(kind: str, obj: dict[str, Any]) -> list[str]:
    return [c.message for c in StructuralSchema(schema_of(kind)).admit(dict(obj)).causes]


def test_explicit_policy_rule_rejects_a_missing_name() -> None:
    suite = next(s for s in SAMPLES if s["metadata"]["name"] == "cpu-smoke")
    bad = {**suite, "spec": {**suite["spec"], "baseline": {"policy": "Explicit"}}}
    assert any("spec.baseline.name" in m for m in admit("RegressionSuite", bad))


def test_samples_validate_against_their_crd() -> None:
    kinds = {s["kind"] for s in SAMPLES}
    assert kinds == {"RegressionSuite", "RegressionBaseline"}
    for sample in SAMPLES:
        assert admit(sample["kind"], sample) == [], sample["metadata"]["name"]


def test_schema_rejects_a_float_and_an_unknown_enum() -> None:
    suite = next(s for s in SAMPLES if s["metadata"]["name"] == "cpu-smoke")
    bad = {**suite, "spec": {**suite["spec"], "statistics": {"confidence": 0.95}}}
    assert any("spec.statistics.confidence" in m for m in admit("RegressionSuite", bad))
    bad = {**suite, "spec": {**suite["spec"], "size": "huge"}}
    assert any('Unsupported value: "huge"' in m for m in admit("RegressionSuite", bad))


def test_the_operator_ships_the_suite_crd_byte_identical() -> None:
    assert CRD_FILE.read_bytes() == (ROOT / "crds/regressionsuites.yaml").read_bytes(), (
        "operator/benchgate/api/crds/regressionsuites.yaml is out of date: "
        "cp crds/regressionsuites.yaml operator/benchgate/api/crds/"
    )
