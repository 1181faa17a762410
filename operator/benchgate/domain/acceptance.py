"""Accepting a change on purpose: a run that did not pass becomes the baseline.

A driver that fixes a bug may cost 4 % of GEMM throughput; the platform team decides the
fix is worth it. `benchgate accept RUN --reason "..."` (or the annotations it sets) makes
that run the platform's baseline, recording who asked, when and why in the
RegressionBaseline (`spec.acceptance`), in the run (`status.acceptance`, `Verified` True
with reason ChangeAccepted) and in an Event. Gating then releases the platform's nodes
and the platform's exported verdict becomes `Accepted`, so the Regressed alert resolves.

Only a run whose results can serve as a baseline may be accepted: Regressed or
Inconclusive (it measured, and the measurement is the new reference). A run that passed
needs no acceptance (`benchgate promote`); one that failed, timed out or was Invalid
measured nothing usable; and the document must pass the same fitness check as any
promotion (domain/fitness.py).

Who asked: the requesting client's identity as the API server reported it
(SelfSubjectReview, `kubectl auth whoami`) when the API offers it, else the kubeconfig's
user entry name (which nothing checks). It is a record of what the client said, not an
audit log: anyone allowed to annotate VerificationRuns can write any name. The API
server's audit log is the proof; docs/operations.md says so.

Pure: verdict, document and annotations in; a refusal or the acceptance record out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from benchgate.api import crd
from benchgate.api.result import ResultDocument
from benchgate.api.suite import MetricOverride
from benchgate.domain.fitness import PROMOTABLE_VERDICTS, baseline_problems, refusal
from benchgate.domain.verdict import EngineSettings

ACCEPTABLE_VERDICTS: Final = frozenset({"Regressed", "Inconclusive"})
MAX_REASON_CHARS: Final = 1024
MAX_IDENTITY_CHARS: Final = 253
IDENTITY_SOURCES: Final = ("SelfSubjectReview", "Kubeconfig", "Annotation")


def verdict_refusal(verdict: str) -> str | None:
    """Why a run with this verdict cannot be accepted, or None."""
    if verdict in ACCEPTABLE_VERDICTS:
        return None
    if verdict in PROMOTABLE_VERDICTS:
        return (
            f"this run is {verdict}: there is no failed verdict to accept; make it the "
            "baseline with `benchgate promote`"
        )
    if verdict in ("Invalid", "Failed", "TimedOut"):
        return (
            f"this run is {verdict}: it measured nothing that could serve as a baseline; "
            "fix the cause (kubectl describe verificationrun) and run `benchgate verify`"
        )
    return (
        f"this run is {verdict or 'Pending'}: it has not finished; only a finished run can "
        "be accepted"
    )


def reason_problem(reason: str) -> str | None:
    """Why `reason` is not a usable reason, or None."""
    if not reason.strip():
        return 'give a reason: --reason "why this change is accepted"'
    if len(reason) > MAX_REASON_CHARS:
        return f"the reason is {len(reason)} characters; at most {MAX_REASON_CHARS}"
    return None


def accept_refusal(
    verdict: str,
    document: ResultDocument,
    settings: EngineSettings | None = None,
    overrides: Mapping[str, MetricOverride] | None = None,
) -> str | None:
    """Why this finished run may not be accepted as a baseline, or None. One answer for
    `benchgate accept` and the operator."""
    why = verdict_refusal(verdict)
    if why is not None:
        return why
    problems = baseline_problems(document, settings, overrides)
    return refusal(problems) if problems else None


@dataclass(frozen=True)
class AcceptRequest:
    """What the run's annotations ask for."""

    reason: str
    by: str
    identity_source: str

    @staticmethod
    def from_annotations(annotations: Mapping[str, str]) -> AcceptRequest | None:
        """The request in a run's annotations; None when there is none."""
        reason = annotations.get(crd.ANNOTATION_ACCEPT_REASON)
        if reason is None:
            return None
        by = str(annotations.get(crd.ANNOTATION_ACCEPT_BY) or "").strip()
        source = str(annotations.get(crd.ANNOTATION_ACCEPT_IDENTITY_SOURCE) or "").strip()
        if source not in IDENTITY_SOURCES or not by:
            # Written by hand (kubectl annotate): nothing says who; the audit log does.
            source = "Annotation"
            by = by or "unknown (set by hand; see the API server's audit log)"
        return AcceptRequest(str(reason), by[:MAX_IDENTITY_CHARS], source)

    def annotations(self) -> dict[str, str]:
        return {
            crd.ANNOTATION_ACCEPT_REASON: self.reason,
            crd.ANNOTATION_ACCEPT_BY: self.by,
            crd.ANNOTATION_ACCEPT_IDENTITY_SOURCE: self.identity_source,
        }


@dataclass(frozen=True)
class Acceptance:
    """The record of an accepted change, as written into the baseline and the run."""

    request: AcceptRequest
    accepted_at: str  # RFC 3339
    run_verdict: str
    worst_metric: str = ""
    worst_change: str = ""

    def baseline_spec(self) -> dict[str, Any]:
        return {
            "by": self.request.by,
            "identitySource": self.request.identity_source,
            "reason": self.request.reason[:MAX_REASON_CHARS],
            "acceptedAt": self.accepted_at,
            "runVerdict": self.run_verdict,
            "worstMetric": self.worst_metric[:300],
            "worstChange": self.worst_change[:64],
        }

    def run_status(self, baseline: str) -> dict[str, Any]:
        return {
            "baseline": baseline,
            "by": self.request.by,
            "identitySource": self.request.identity_source,
            "reason": self.request.reason[:MAX_REASON_CHARS],
            "acceptedAt": self.accepted_at,
            "verdict": self.run_verdict,
        }

    def message(self, run: str, baseline: str) -> str:
        change = f" ({self.worst_metric} {self.worst_change})" if self.worst_metric else ""
        return (
            f"{self.request.by} accepted the {self.run_verdict} change of {run}{change} as "
            f"baseline {baseline}: {self.request.reason} (identity from "
            f"{self.request.identity_source})"
        )
