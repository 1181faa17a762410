"""The suite corpus against the API (the sandbox, as `kubectl apply` meets a cluster):
what the CRD owns is refused there with the field named; what only the operator can know
is accepted by the API and left to the operator's InvalidSpec condition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchgate_sandbox.testing import Sandbox
from suite_corpus import BAD, GOOD, Case

ROOT = Path(__file__).resolve().parents[2]
SUITES = "/apis/benchgate.dev/v1alpha1/namespaces/default/regressionsuites"
Raw = Any


@pytest.fixture
def suites(sandbox: Sandbox) -> Sandbox:
    sandbox.install_crds([ROOT / "crds"])
    return sandbox


def create(raw: Raw, case: Case) -> Any:
    # kubectl apply/create validate fields strictly by default; so does this. A dry run is
    # validated in full but stores nothing, so every case can keep the same name.
    return raw.post(SUITES, case.manifest(), params={"fieldValidation": "Strict", "dryRun": "All"})


def test_every_bad_suite_meets_the_api_as_its_layer_says(suites: Sandbox, raw: Raw) -> None:
    wrong = []
    for case in BAD:
        response = create(raw, case)
        text = response.text
        if case.layer == "operator":
            if response.status_code != 201:
                wrong.append(f"{case.id}: the API refused what only the operator knows: {text}")
            continue
        expected = 400 if case.layer == "unknown" else 422
        if response.status_code != expected:
            wrong.append(f"{case.id}: expected {expected}, got {response.status_code}: {text}")
            continue
        status = response.json()
        messages = [status["message"]] + [
            c["message"] for c in (status.get("details") or {}).get("causes") or []
        ]
        if not any(case.field in m for m in messages):
            wrong.append(f"{case.id}: no message names {case.field}: {messages}")
    assert not wrong, "\n".join(wrong)


def test_every_valid_edge_case_is_accepted(suites: Sandbox, raw: Raw) -> None:
    refused = []
    for case in GOOD:
        response = create(raw, case)
        if response.status_code != 201:
            refused.append(f"{case.id}: {response.status_code} {response.text}")
    assert not refused, "\n".join(refused)
