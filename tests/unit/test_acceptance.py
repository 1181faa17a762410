"""Accepting a change: which runs may be accepted, and what is recorded."""

from __future__ import annotations

import numpy as np
import pytest
from test_verdict import document, lognormal_groups, metric

from benchgate.api import crd
from benchgate.domain.acceptance import (
    Acceptance,
    AcceptRequest,
    accept_refusal,
    reason_problem,
)


def good_document() -> object:
    rng = np.random.default_rng(1)
    return document(metric("t", lognormal_groups(rng, replicates=5, repetitions=3)))


@pytest.mark.parametrize("verdict", ["Regressed", "Inconclusive"])
def test_a_regressed_or_inconclusive_run_with_usable_results_can_be_accepted(verdict: str) -> None:
    assert accept_refusal(verdict, good_document()) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdict", "says"),
    [
        ("Passed", "benchgate promote"),
        ("NoBaseline", "benchgate promote"),
        ("Invalid", "measured nothing"),
        ("Failed", "measured nothing"),
        ("TimedOut", "measured nothing"),
        ("Running", "has not finished"),
        ("", "has not finished"),
    ],
)
def test_other_verdicts_are_refused_with_what_to_do(verdict: str, says: str) -> None:
    why = accept_refusal(verdict, good_document())  # type: ignore[arg-type]
    assert why is not None and says in why


def test_results_that_cannot_be_a_baseline_are_refused_naming_the_metric() -> None:
    flat = document(metric("t", [[1.0, 1.0]] * 4))
    why = accept_refusal("Regressed", flat)
    assert why is not None and "cannot serve as a baseline" in why and "w/t" in why


def test_reason_is_required_and_bounded() -> None:
    assert reason_problem("driver 560 fixes the NCCL hang") is None
    assert "give a reason" in (reason_problem("  ") or "")
    assert "at most 1024" in (reason_problem("x" * 1025) or "")


def test_request_from_annotations_and_a_hand_written_one_says_so() -> None:
    written = AcceptRequest("fixes a bug", "alice@example.com", "SelfSubjectReview")
    assert AcceptRequest.from_annotations(written.annotations()) == written
    by_hand = AcceptRequest.from_annotations({crd.ANNOTATION_ACCEPT_REASON: "ok"})
    assert by_hand is not None and by_hand.identity_source == "Annotation"
    assert "audit log" in by_hand.by
    forged = AcceptRequest.from_annotations(
        {crd.ANNOTATION_ACCEPT_REASON: "ok", crd.ANNOTATION_ACCEPT_IDENTITY_SOURCE: "Trust me"}
    )
    assert forged is not None and forged.identity_source == "Annotation"
    assert AcceptRequest.from_annotations({}) is None


def test_the_record_names_who_when_why_and_what() -> None:
    record = Acceptance(
        AcceptRequest("fixes a bug", "alice", "Kubeconfig"),
        "2026-12-01T00:00:00Z",
        "Regressed",
        "gemm/gflops",
        "-4.10%",
    )
    spec = record.baseline_spec()
    assert spec["by"] == "alice" and spec["reason"] == "fixes a bug"
    assert spec["runVerdict"] == "Regressed" and spec["worstChange"] == "-4.10%"
    assert record.run_status("b")["baseline"] == "b"
    message = record.message("run-1", "run-1-baseline")
    assert "alice accepted the Regressed change of run-1 (gemm/gflops -4.10%)" in message
    assert "identity from Kubeconfig" in message
