"""Pure composition of VerificationRun and RegressionSuite status.

The controllers gather facts (Jobs, pods, the comparison) into a `RunOutcome`; this
module turns it into the whole status object, conditions included (a merge patch
replaces lists, so the conditions list is always written whole). Numbers go into
status as decimal strings: the API carries no floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, Protocol

from benchgate.api import conditions as c

RunVerdict = Literal[
    "Pending",
    "Running",
    "Passed",
    "Regressed",
    "Improved",
    "Inconclusive",
    "Invalid",
    "Failed",
    "TimedOut",
    "NoBaseline",
]
FINISHED_VERDICTS: Final = frozenset(c.FINISHED_VERDICTS)
ACCEPTED: Final = c.ACCEPTED
MAX_ROWS: Final = 1000  # status.platforms maxItems in crds/regressionsuites.yaml
GOOD_VERDICTS: Final = frozenset({"Passed", "Improved", ACCEPTED})
BAD_VERDICTS: Final = frozenset({"Regressed", "Failed", "TimedOut", "Invalid"})
MAX_METRIC_ROWS: Final = 256
MAX_ENV_ROWS: Final = 64
MAX_VALUE_CHARS: Final = 256
MAX_NUMBER_CHARS: Final = 64  # the CRD's maxLength for metric value columns


class MetricLike(Protocol):
    """What status needs from benchgate.domain.verdict.MetricComparison."""

    @property
    def key(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def baseline(self) -> float | str | None: ...
    @property
    def candidate(self) -> float | str | None: ...
    @property
    def change(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def p_decision(self) -> float | None: ...
    @property
    def n_baseline(self) -> int: ...
    @property
    def n_candidate(self) -> int: ...


class EnvChangeLike(Protocol):
    @property
    def group(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def before(self) -> Any: ...
    @property
    def after(self) -> Any: ...
    @property
    def summary(self) -> str: ...


class ComparisonLike(Protocol):
    @property
    def metrics(self) -> Sequence[MetricLike]: ...
    @property
    def verdict(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def worst(self) -> MetricLike | None: ...
    @property
    def env_changes(self) -> Sequence[EnvChangeLike]: ...


@dataclass(frozen=True)
class JobRow:
    name: str
    succeeded: int = 0
    failed: int = 0


@dataclass(frozen=True)
class RunOutcome:
    """Everything known about a run at one reconcile."""

    verdict: RunVerdict
    complete: bool
    verified: c.ConditionStatus
    reason: str
    message: str
    comparison: ComparisonLike | None = None
    nodes: tuple[str, ...] = ()
    jobs: tuple[JobRow, ...] = ()
    plan: Mapping[str, Any] | None = None
    baseline: Mapping[str, Any] | None = None
    results_configmap: str = ""
    errors: tuple[str, ...] = ()
    failed_jobs: int = 0  # Jobs that failed or were unfinished at the deadline
    started_at: str = ""
    completed_at: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The candidate against its class's anchor baseline (domain/anchor.py): status.anchor
    # and the Drifted condition. None when the run was not compared with a baseline.
    anchor: Mapping[str, Any] | None = None
    drifted: c.Condition | None = None
    # status.control: which design judged the run (domain/control.py); None = unchanged.
    control: Mapping[str, Any] | None = None


# ------------------------------------------------------------------ outcome builders


def pending(message: str = "waiting for the verification Jobs to be created") -> RunOutcome:
    return RunOutcome("Pending", False, "Unknown", c.VERIFICATION_PENDING, message)


def running(message: str) -> RunOutcome:
    return RunOutcome("Running", False, "Unknown", c.RUNNING, message)


def workload_failed(message: str) -> RunOutcome:
    return RunOutcome("Failed", True, "False", c.WORKLOAD_FAILED, message)


def timed_out(message: str) -> RunOutcome:
    return RunOutcome("TimedOut", True, "Unknown", c.TIMED_OUT, message)


def result_rejected(message: str) -> RunOutcome:
    return RunOutcome("Invalid", True, "Unknown", c.RESULT_REJECTED, message)


def reconcile_failed(message: str) -> RunOutcome:
    """The operator met a permanent error it cannot get past (the API refused a write,
    data it cannot handle): the run ends, nothing was verified, and the message says why."""
    return RunOutcome("Invalid", True, "Unknown", c.RECONCILE_FAILED, message)


def refused(reason: str, message: str) -> RunOutcome:
    """The cluster policy refuses the run's pods (domain.policy): no Job was created, so
    nothing was verified; the reason names the refusal (PrivilegeForbidden, ...)."""
    return RunOutcome("Invalid", True, "Unknown", reason, message)


def node_lost(message: str) -> RunOutcome:
    return RunOutcome("Failed", True, "Unknown", c.NODE_LOST, message)


def no_baseline(message: str, *, promoted_to: str | None) -> RunOutcome:
    if promoted_to:
        return RunOutcome(
            "NoBaseline",
            True,
            "Unknown",
            c.BASELINE_PROMOTED,
            f"{message}; not compared: this run became baseline {promoted_to}",
        )
    return RunOutcome(
        "NoBaseline",
        True,
        "Unknown",
        c.NO_BASELINE,
        f"{message}; not compared (promote a run with benchgate.dev/promote=true to create one)",
    )


def baseline_refused(message: str) -> RunOutcome:
    """A first run that could not become its class's baseline (domain/fitness.py): not
    compared, not promoted; Invalid, so the suite is Degraded and someone looks."""
    return RunOutcome("Invalid", True, "Unknown", c.BASELINE_REFUSED, message)


def from_comparison(comparison: ComparisonLike) -> RunOutcome:
    worst = comparison.worst
    named = f" ({worst.key}: {worst.reason})" if worst is not None else ""
    if comparison.verdict == "Regressed":
        return RunOutcome(
            "Regressed",
            True,
            "False",
            c.REGRESSION_DETECTED,
            f"regression detected{named}",
            comparison=comparison,
        )
    if comparison.verdict == "Inconclusive":
        return RunOutcome(
            "Inconclusive",
            True,
            "Unknown",
            c.INCONCLUSIVE,
            f"inconclusive{named}",
            comparison=comparison,
        )
    if comparison.verdict == "Invalid":
        return RunOutcome(
            "Invalid",
            True,
            "Unknown",
            c.RESULT_REJECTED,
            f"results cannot be compared: {comparison.reason}",
            comparison=comparison,
        )
    if comparison.verdict == "Improved":
        return RunOutcome(
            "Improved", True, "True", c.PLATFORM_IMPROVED, f"improved{named}", comparison=comparison
        )
    return RunOutcome(
        "Passed",
        True,
        "True",
        c.PLATFORM_VERIFIED,
        f"platform verified: {comparison.reason}",
        comparison=comparison,
    )


# --------------------------------------------------------------------- formatting


def fmt_number(value: float | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # exact metrics: checksums, flags, coverage lists
        if len(value) <= MAX_NUMBER_CHARS:
            return value
        return value[: MAX_NUMBER_CHARS - 3] + "..."

    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:.6g}"


def fmt_percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:+.2f}%"


def _plain(value: Any) -> str:
    text = "" if value is None else str(value)
    return text[:MAX_VALUE_CHARS]


def prediction_row(found: Any) -> dict[str, Any]:
    """A distribution metric's output comparison (prediction.PredictionStats), with
    numbers as decimal strings."""
    numbers = (
        "top1Agreement",
        "maxAbsDiff",
        "meanAbsDiff",
        "maxRelDiff",
        "psi",
        "ksStatistic",
        "ksP",
        "wassersteinRelative",
        "eceBaseline",
        "eceCandidate",
    )
    raw = found.to_dict()
    row: dict[str, Any] = {"inputs": raw["inputs"], "bitwiseIdentical": raw["bitwiseIdentical"]}
    if raw["top1Flips"] is not None:
        row["top1Flips"] = raw["top1Flips"]
    row.update({k: fmt_number(raw[k]) for k in numbers if raw[k] is not None})
    return row


def metric_row(m: MetricLike) -> dict[str, Any]:
    row = _metric_row(m)
    found = getattr(m, "prediction", None)
    if found is not None:
        row["prediction"] = prediction_row(found)
    return row


def _metric_row(m: MetricLike) -> dict[str, Any]:
    return {
        "key": m.key,
        "unit": m.unit,
        "kind": m.kind,
        "verdict": m.verdict,
        "baseline": fmt_number(m.baseline),
        "candidate": fmt_number(m.candidate),
        "change": fmt_percent(m.change),
        "ciLow": fmt_percent(m.ci_low),
        "ciHigh": fmt_percent(m.ci_high),
        "pValue": "" if m.p_decision is None else f"{m.p_decision:.3g}",
        "replicates": f"{m.n_baseline}/{m.n_candidate}",
        "reason": m.reason[:2048],
    }


def env_row(e: EnvChangeLike) -> dict[str, Any]:
    return {
        "field": f"{e.group}.{e.field}",
        "before": _plain(e.before),
        "after": _plain(e.after),
        "summary": e.summary[:2048],
    }


def run_status(
    outcome: RunOutcome,
    existing: Sequence[Mapping[str, Any]] | None,
    *,
    now: datetime,
    generation: int,
) -> dict[str, Any]:
    """The whole VerificationRun status for this outcome."""
    complete = c.Condition(
        c.COMPLETE,
        "True" if outcome.complete else "False",
        c.FINISHED if outcome.complete else outcome.reason,
        outcome.message if not outcome.complete else f"finished: {outcome.verdict}",
    )
    verified = c.Condition(c.VERIFIED, outcome.verified, outcome.reason, outcome.message)
    updates = [complete, verified] + ([outcome.drifted] if outcome.drifted is not None else [])
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": c.merge(existing, updates, now=now, generation=generation),
        "verdict": outcome.verdict,
        "message": outcome.message[:1024],
        "node": ",".join(outcome.nodes),
        "jobs": [
            {"name": j.name, "succeeded": j.succeeded, "failed": j.failed} for j in outcome.jobs
        ],
        "errors": [e[:2048] for e in outcome.errors[:64]],
    }
    if outcome.plan is not None:
        status["plan"] = dict(outcome.plan)
    if outcome.baseline is not None:
        status["baseline"] = dict(outcome.baseline)
    if outcome.control is not None:
        status["control"] = dict(outcome.control)
    if outcome.results_configmap:
        status["resultsConfigMap"] = outcome.results_configmap
    if outcome.anchor is not None:
        status["anchor"] = dict(outcome.anchor)
    if outcome.started_at:
        status["startedAt"] = outcome.started_at
    if outcome.completed_at:
        status["completedAt"] = outcome.completed_at
    comparison = outcome.comparison
    status["worstMetric"] = ""
    status["worstChange"] = ""
    status["metrics"] = []
    status["envDiff"] = []
    if comparison is not None:
        if comparison.worst is not None:
            status["worstMetric"] = comparison.worst.key
            status["worstChange"] = fmt_percent(comparison.worst.change)
        status["metrics"] = [metric_row(m) for m in comparison.metrics[:MAX_METRIC_ROWS]]
        status["envDiff"] = [env_row(e) for e in comparison.env_changes[:MAX_ENV_ROWS]]
    status.update(outcome.extra)
    return status


# ------------------------------------------------------------------------- suite


def effective_verdict(status: Mapping[str, Any]) -> str:
    """A run's verdict as its platform shows it: `Accepted` once a person accepted the
    change (status.acceptance), else status.verdict."""
    if isinstance(status.get("acceptance"), Mapping) and status["acceptance"].get("baseline"):
        return ACCEPTED
    return str(status.get("verdict") or "Pending")


@dataclass(frozen=True)
class RunSummary:
    """What the suite's status needs from one of its runs."""

    name: str
    platform_key: str
    platform_class: str
    created_at: float
    verdict: str
    reason: str
    baseline: str
    last_transition: str
    trigger: str = ""
    progress: str = ""  # an unfinished run's status.message (how far it is)
    anchor: str = ""  # the anchor baseline it was also judged against
    drift: str = ""  # its drift finding, when it drifted beyond the tolerance

    @property
    def verifies(self) -> bool:
        """The run decided about its platform (either way) or became its baseline: what
        refreshes the platform's lastVerifiedTime (and the staleness clock)."""
        return self.verdict in DECISIVE_VERDICTS or self.reason == c.BASELINE_PROMOTED


DECISIVE_VERDICTS: Final = c.DECISIVE_VERDICTS


def suite_status(
    *,
    platforms: Mapping[str, tuple[str, Sequence[str]]],  # key -> (class, node names)
    runs: Iterable[RunSummary],
    existing: Sequence[Mapping[str, Any]] | None,
    now: datetime,
    generation: int,
    spec_error: str | None = None,
    extra: Mapping[str, Any] | None = None,
    previous_rows: Sequence[Mapping[str, Any]] | None = None,
    spec_error_reason: str = c.INVALID_SPEC,
    waiting: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Rows per platform (nodes present now, or any platform a run measured) and
    Ready/Degraded conditions.

    A platform a run measured whose nodes are gone (a node's key changed with a driver or
    kernel upgrade, or its pool left) keeps its row as history, with no nodes: it still
    says what was verified and which baseline it became, and a promoted baseline still
    counts as serving, but it no longer counts as verified, failed or pending (a pool
    that was rolled back must not keep the suite failed).

    `previous_rows` (the status.platforms written before) carry what the runs alone may
    no longer show: when the suite first saw a platform (`firstSeenTime`) and when it was
    last verified (`lastVerifiedTime`; historyLimit may have deleted that run since).
    `waiting` says, by platform key, what the operator waits for before it can verify it.
    """
    previous = {str(row.get("key")): row for row in previous_rows or () if isinstance(row, Mapping)}
    waiting = waiting or {}
    latest: dict[str, RunSummary] = {}
    verified_at: dict[str, str] = {}
    going: dict[str, RunSummary] = {}
    for summary in runs:
        if summary.verdict not in FINISHED_VERDICTS:
            prior_going = going.get(summary.platform_key)
            if prior_going is None or (summary.created_at, summary.name) > (
                prior_going.created_at,
                prior_going.name,
            ):
                going[summary.platform_key] = summary
        if summary.verifies and summary.last_transition:
            verified_at[summary.platform_key] = max(
                verified_at.get(summary.platform_key, ""), summary.last_transition
            )
        prior = latest.get(summary.platform_key)
        if prior is None or (summary.created_at, summary.name) > (prior.created_at, prior.name):
            latest[summary.platform_key] = summary
    keys = sorted(
        set(platforms) | set(latest),
        key=lambda k: (
            platforms.get(k, (latest[k].platform_class if k in latest else "", []))[0],
            k,
        ),
    )
    rows: list[dict[str, Any]] = []
    verified = failed = pending_count = baselines = 0
    for key in keys:
        klass, nodes = platforms.get(key, ("", []))
        run = latest.get(key)
        before = previous.get(key) or {}
        row: dict[str, Any] = {
            "key": key,
            "class": klass or (run.platform_class if run else ""),
            "nodes": sorted(nodes)[:1000],
            "firstSeenTime": str(before.get("firstSeenTime") or c.format_time(now)),
        }
        # RFC 3339 in one format (c.format_time): the later time is the larger string.
        last_verified = max(verified_at.get(key, ""), str(before.get("lastVerifiedTime") or ""))
        if last_verified:
            row["lastVerifiedTime"] = last_verified
        if key in going:
            now_running = going[key]
            row["running"] = (
                f"{now_running.name} ({now_running.trigger or 'run'}): {now_running.progress}"
            )[:1024]
        if waiting.get(key):
            row["waitingFor"] = waiting[key][:1024]
        departed = key not in platforms
        if run is None:
            row["verdict"] = "Pending"
            pending_count += 1
        else:
            row.update(
                lastRun=run.name, verdict=run.verdict, reason=run.reason, baseline=run.baseline
            )
            if run.trigger:
                row["trigger"] = run.trigger
            if run.anchor:
                row["anchor"] = run.anchor
            if run.drift:
                row["drift"] = run.drift[:1024]
            if run.last_transition:
                row["lastTransitionTime"] = run.last_transition
            if run.verdict == "NoBaseline" and run.reason == c.BASELINE_PROMOTED:
                baselines += 1
            elif departed:
                pass  # history only (see above)
            elif run.verdict in GOOD_VERDICTS:
                verified += 1
            elif run.verdict in BAD_VERDICTS:
                failed += 1
            else:
                pending_count += 1
        rows.append(row)
    if len(rows) > MAX_ROWS:
        # The CRD bounds the list: the history of platforms long gone goes first.
        gone = sorted(
            (r for r in rows if r["key"] not in platforms),
            key=lambda r: str(r.get("lastTransitionTime") or ""),
        )
        dropped = {r["key"] for r in gone[: len(rows) - MAX_ROWS]}
        rows = [r for r in rows if r["key"] not in dropped]
    finished = [r for r in latest.values() if r.verdict in FINISHED_VERDICTS]
    newest = max(finished, key=lambda r: (r.last_transition, r.created_at, r.name), default=None)

    if spec_error:
        # InvalidSpec, or a refusal by the cluster policy (domain.policy): nothing runs.
        ready = c.Condition(c.READY, "False", spec_error_reason, spec_error)
        degraded = c.Condition(c.DEGRADED, "True", spec_error_reason, spec_error)
        message = spec_error
    elif failed:
        names = ", ".join(
            r["class"] or r["key"][:8]
            for r in rows
            if r.get("verdict") in BAD_VERDICTS and r["key"] in platforms
        )
        message = f"{failed} platform(s) failed verification: {names}"
        ready = c.Condition(c.READY, "False", c.PLATFORMS_FAILED, message)
        degraded = c.Condition(c.DEGRADED, "True", c.PLATFORMS_FAILED, message)
    elif not platforms:
        message = "no node matches spec.nodeSelector"
        ready = c.Condition(c.READY, "False", c.NO_PLATFORMS, message)
        degraded = c.Condition(c.DEGRADED, "False", c.NO_PLATFORMS, message)
    elif pending_count:
        message = (
            f"{pending_count} of {len(platforms)} platform(s) not verified yet "
            f"({verified} verified, {baselines} baseline)"
        )
        ready = c.Condition(c.READY, "False", c.PLATFORMS_PENDING, message)
        degraded = c.Condition(c.DEGRADED, "False", c.HEALTHY, "no platform failed")
    else:
        message = f"{verified} platform(s) verified, {baselines} serving as baseline"
        ready = c.Condition(c.READY, "True", c.ALL_PLATFORMS_VERIFIED, message)
        degraded = c.Condition(c.DEGRADED, "False", c.HEALTHY, "no platform failed")
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": c.merge(existing, [ready, degraded], now=now, generation=generation),
        "platforms": rows,
        "platformsVerified": verified,
        "platformsFailed": failed,
        "latestVerdict": newest.verdict if newest else "",
        "latestRun": newest.name if newest else "",
        "message": message[:1024],
    }
    if extra:
        status.update(extra)
    return status
