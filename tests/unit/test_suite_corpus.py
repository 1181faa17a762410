"""Every bad suite of the corpus is refused by the layer that owns the rule, and the
message names the field; the valid edge cases are accepted (see tests/suite_corpus.py)."""

from __future__ import annotations

from typing import Any

import pytest

from benchgate.api.catalog import catalog_causes
from benchgate.api.suite import SuiteSpecError, parse_suite
from benchgate.api.suite_schema import admit_suite, suite_schema
from suite_corpus import BAD, GOOD, Case


def layer_and_messages(manifest: dict[str, Any]) -> tuple[str, list[str]]:
    """Which layer refuses a suite, and its messages: the CRD's OpenAPI part first, then
    its CEL rules, then what only the operator knows."""
    obj, admission = admit_suite(manifest)
    if admission.unknown_fields:
        return "unknown", admission.unknown_fields
    openapi = suite_schema().validate(obj)
    if openapi:
        return "schema", [c.message for c in openapi]
    if admission.causes:
        return "cel", [c.message for c in admission.causes]
    causes = catalog_causes(parse_suite(manifest))
    return ("operator", [c.message for c in causes]) if causes else ("accepted", [])


def test_the_corpus_is_big_and_covers_every_layer() -> None:
    assert len(BAD) >= 80
    assert {c.layer for c in BAD} == {"schema", "cel", "unknown", "operator"}
    assert len({c.id for c in BAD + GOOD}) == len(BAD + GOOD), "case ids must be unique"


@pytest.mark.parametrize("case", BAD, ids=lambda c: c.id)
def test_bad_suite_is_refused_by_its_layer_naming_the_field(case: Case) -> None:
    if not case.local:
        pytest.skip("needs the cluster (tests/controllers/test_suite_contract.py)")
    layer, messages = layer_and_messages(case.manifest())
    assert layer == case.layer, f"{case.id}: refused by {layer}, expected {case.layer}: {messages}"
    assert any(case.field in m for m in messages), (
        f"{case.id}: no message names {case.field}: {messages}"
    )
    with pytest.raises(SuiteSpecError) as refused:
        spec = parse_suite(case.manifest())
        if causes := catalog_causes(spec):
            raise SuiteSpecError.from_causes(causes)
    assert case.field in str(refused.value), str(refused.value)


@pytest.mark.parametrize("case", GOOD, ids=lambda c: c.id)
def test_valid_edge_case_is_accepted(case: Case) -> None:
    layer, messages = layer_and_messages(case.manifest())
    assert layer == "accepted", f"{case.id} was refused by {layer}: {messages}"
