"""Status conditions (Kubernetes API conventions) and the reasons benchgate uses.

Conditions are a list keyed by `type`. `lastTransitionTime` changes only when `status`
changes; a condition is present from the first visit, even as Unknown. The clock is
passed in so that callers (and tests) decide what "now" is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

ConditionStatus = Literal["True", "False", "Unknown"]

# --- condition types
COMPLETE: Final = "Complete"  # VerificationRun: the run finished (whatever the verdict)
VERIFIED: Final = "Verified"  # VerificationRun: the platform matches its baseline
READY: Final = "Ready"  # RegressionSuite: every known platform verified; baseline: usable
DEGRADED: Final = "Degraded"  # RegressionSuite: at least one platform failed verification
GATING_READY: Final = "GatingReady"  # RegressionSuite with spec.gating: it may gate its nodes
# True while the gating circuit breaker holds: too many of the suite's nodes would be
# gated for failed verifications, so no more are (domain.gating.breaker).
GATING_HALTED: Final = "GatingHalted"
# VerificationRun compared with a baseline that is not its class's anchor: True when the
# candidate is beyond the tolerance of the anchor (slow drift across accepted changes).
DRIFTED: Final = "Drifted"

# --- reasons (also used as Event reasons where an event says the same thing)
VERIFICATION_PENDING: Final = "VerificationPending"
VERIFICATION_STARTED: Final = "VerificationStarted"
RUNNING: Final = "Running"
FINISHED: Final = "Finished"
PLATFORM_VERIFIED: Final = "PlatformVerified"
PLATFORM_IMPROVED: Final = "PlatformImproved"
REGRESSION_DETECTED: Final = "RegressionDetected"
INCONCLUSIVE: Final = "Inconclusive"
VERIFICATION_INCONCLUSIVE: Final = "VerificationInconclusive"  # event reason
WORKLOAD_FAILED: Final = "WorkloadFailed"
NO_BASELINE: Final = "NoBaseline"
BASELINE_PROMOTED: Final = "BaselinePromoted"
# A first run whose document the engine could not judge later runs against (fitness).
BASELINE_REFUSED: Final = "BaselineRefused"
PROMOTION_REFUSED: Final = "PromotionRefused"  # event: a promote annotation was refused
BASELINE_MISSING: Final = "BaselineMissing"
TIMED_OUT: Final = "TimedOut"
RESULT_REJECTED: Final = "ResultRejected"
NODE_LOST: Final = "NodeLost"
RECONCILE_FAILED: Final = "ReconcileFailed"  # a permanent error the operator cannot get past
INVALID_SPEC: Final = "InvalidSpec"
RUN_NAME_CONFLICT: Final = "RunNameConflict"  # event: a derived run name is another suite's
NODE_GATED: Final = "NodeGated"  # event reasons of spec.gating
NODE_RELEASED: Final = "NodeReleased"
GATING_FAILED: Final = "GatingFailed"
FAILURE_SHARE_EXCEEDED: Final = "FailureShareExceeded"  # GatingHalted True
FAILURES_WITHIN_CAP: Final = "FailuresWithinCap"  # GatingHalted False
TAINT_KEY_OWNED: Final = "TaintKeyOwned"  # GatingReady True (False: gating.TAINT_KEY_*)
ALL_PLATFORMS_VERIFIED: Final = "AllPlatformsVerified"
PLATFORMS_PENDING: Final = "PlatformsPending"
PLATFORMS_FAILED: Final = "PlatformsFailed"
NO_PLATFORMS: Final = "NoPlatforms"
HEALTHY: Final = "Healthy"
SAMPLES_STORED: Final = "SamplesStored"
# Manual verification (annotation benchgate.dev/verify) and accepted changes.
VERIFY_REFUSED: Final = "VerifyRefused"  # event: a verify request names nothing in scope
CHANGE_ACCEPTED: Final = "ChangeAccepted"  # Verified reason and event of an accepted run

# A finished run's verdict (VerificationRun status.verdict, crds/verificationruns.yaml), in
# the order the gauges list them, and Accepted: never a run's own verdict, but what a
# platform whose latest run a person accepted as its baseline (`benchgate accept`) shows
# in the suite's rows and the exported gauges, so the Regressed alert resolves.
ACCEPTED: Final = "Accepted"
FINISHED_VERDICTS: Final = (
    "Passed",
    "Regressed",
    "Improved",
    "Inconclusive",
    "Invalid",
    "Failed",
    "TimedOut",
    "NoBaseline",
    ACCEPTED,
)
# The verdicts that say something about the platform (the others say nothing was judged).
DECISIVE_VERDICTS: Final = frozenset({"Passed", "Regressed", "Improved", ACCEPTED})
ACCEPT_REFUSED: Final = "AcceptRefused"  # event: an accept request was refused
# Drifted condition reasons (and the DriftDetected Warning Event).
DRIFT_DETECTED: Final = "DriftDetected"
WITHIN_ANCHOR: Final = "WithinAnchorTolerance"
ANCHOR_INCONCLUSIVE: Final = "AnchorInconclusive"
ANCHOR_UNAVAILABLE: Final = "AnchorUnavailable"
BASELINE_IS_ANCHOR: Final = "BaselineIsAnchor"
SAMPLES_MISSING: Final = "SamplesMissing"
WAITING_FOR_SAMPLES: Final = "WaitingForSamples"


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision, as Kubernetes writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Condition:
    type: str
    status: ConditionStatus
    reason: str
    message: str = ""


def find(conditions: Iterable[Mapping[str, Any]], type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def merge(
    existing: Sequence[Mapping[str, Any]] | None,
    updates: Iterable[Condition],
    *,
    now: datetime,
    generation: int,
) -> list[dict[str, Any]]:
    """The whole new conditions list: `updates` applied over `existing`.

    Conditions not in `updates` are kept as they are. A condition whose status is
    unchanged keeps its lastTransitionTime; reason/message/observedGeneration refresh.
    The whole list is returned because a merge patch replaces lists.
    """
    result: list[dict[str, Any]] = [dict(c) for c in (existing or [])]
    for update in updates:
        entry: dict[str, Any] = {
            "type": update.type,
            "status": update.status,
            "reason": update.reason,
            "message": update.message,
            "observedGeneration": generation,
        }
        prior_index = next((i for i, c in enumerate(result) if c.get("type") == update.type), None)
        if prior_index is None:
            entry["lastTransitionTime"] = format_time(now)
            result.append(entry)
            continue
        prior = result[prior_index]
        if prior.get("status") == update.status and prior.get("lastTransitionTime"):
            entry["lastTransitionTime"] = prior["lastTransitionTime"]
        else:
            entry["lastTransitionTime"] = format_time(now)
        result[prior_index] = entry
    return result


def is_true(conditions: Iterable[Mapping[str, Any]], type_: str) -> bool:
    found = find(conditions, type_)
    return found is not None and found.get("status") == "True"
