"""Every Prometheus metric benchgate exports, and nothing else.

The operator keeps no state of its own (design.md: state lives in the Kubernetes API), so
the gauges here are a *view* of resource status, computed by one function,
`platform_views(suite status, runs)`: the suite controller calls it on every reconcile and
`rebuild_from_status` calls it after a restart, so a restarted operator exports exactly
what the previous one did. Counters and the duration histogram count what happened in
this process; they restart at zero, which Prometheus' `rate`/`increase` handle as an
ordinary counter reset.

Conventions (style.md): one `benchgate_` prefix, base units (seconds, ratios), `_total`
counters, `_info` and `_timestamp_seconds` suffixes, and only bounded labels — namespace,
suite, platform, platform_class, workload, metric, verdict, condition type/status,
reconciled kind, rejection reason. Never node, pod or UID.

Per-platform series are keyed by the *platform* (`platform`: the first 8 hex digits of
the platform key, the same value as the `benchgate.dev/platform` label on runs), so a
verdict on one platform never overwrites another's, even of the same class; the class
rides along as `platform_class` for people. Cardinality is bounded by the suite's status:
one set of series per platform row in `status.platforms` (the platforms whose nodes are
in the suite's scope now), pre-initialised when the row appears and removed when it
leaves.

Everything lives on a module-level `REGISTRY` (not the process-global default), so a
scrape contains exactly benchgate's metrics and tests can read it without interference.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)

from benchgate import __version__
from benchgate.api import conditions as api_conditions

# The `_created` companion series only double every counter and histogram; nothing reads
# them and a restart would change them anyway. (Process-wide switch: this is the
# operator's process, and no other code in it exports Prometheus metrics.)
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY: Final = CollectorRegistry(auto_describe=True)

# A finished run's verdict, each pre-initialised as its own series (api/conditions.py).
# Failed, TimedOut and Invalid say that nothing was verified; they page
# (BenchgateVerificationFailed) like a regression does.
VERDICTS: Final = api_conditions.FINISHED_VERDICTS
ACCEPTED: Final = api_conditions.ACCEPTED
# Why a VerificationRun was made (VerificationRun spec.trigger.reason, an enum of the CRD).
TRIGGERS: Final = (
    "NewPlatform",
    "FingerprintChanged",
    "ImageChanged",
    "SpecChanged",
    "Periodic",
    "Manual",
)
# What refreshes "the last successful verification": a decision about the platform,
# whichever way, or its run becoming the baseline (a reference measurement). Inconclusive,
# Invalid, Failed, TimedOut and a plain NoBaseline do not.
DECISIVE_VERDICTS: Final = api_conditions.DECISIVE_VERDICTS
PROMOTED_REASON: Final = "BaselinePromoted"
CONDITION_STATUSES: Final = ("True", "False", "Unknown")
# Kinds whose reconcile-error counter exists from start-up, so the first error of a kind
# is already an increase that `increase()` can see.
RECONCILED_KINDS: Final = (
    "RegressionSuite",
    "VerificationRun",
    "RegressionBaseline",
    "Node",
    "Job",
)
# Rejection reasons are free CamelCase words chosen by the controllers; anything else is
# folded into "Other" so a bug can never turn the label into an unbounded one.
_REASON_PATTERN: Final = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")
_OTHER_REASON: Final = "Other"
PLATFORM_LABEL_CHARS: Final = 8  # of the platform key, as crd.LABEL_PLATFORM

_PLATFORM_LABELS: Final = ("namespace", "suite", "platform", "platform_class")
_METRIC_LABELS: Final = (*_PLATFORM_LABELS, "workload", "metric")

# Verification runs take from seconds (tiny suites) to hours (full suites on a busy pool).
_DURATION_BUCKETS: Final = (10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, math.inf)

VERIFICATIONS = Counter(
    "benchgate_verifications_total",
    "Verification runs that finished, by verdict.",
    (*_PLATFORM_LABELS, "verdict"),
    registry=REGISTRY,
)
PLATFORM_VERDICT = Gauge(
    "benchgate_platform_verdict",
    "1 for the verdict of the latest finished run of each suite and platform, 0 for the "
    "other verdicts.",
    (*_PLATFORM_LABELS, "verdict"),
    registry=REGISTRY,
)
PLATFORM_WORST_METRIC = Gauge(
    "benchgate_platform_worst_metric_info",
    "The metric (workload/metric) that drove the latest verdict of a suite and platform.",
    _METRIC_LABELS,
    registry=REGISTRY,
)
PLATFORM_DRIFTED = Gauge(
    "benchgate_platform_drifted",
    "1 when the latest finished run of a suite and platform is beyond the tolerance of its "
    "class's anchor baseline (Drifted condition True: slow drift across accepted changes), "
    "else 0.",
    _PLATFORM_LABELS,
    registry=REGISTRY,
)
RELATIVE_CHANGE = Gauge(
    "benchgate_metric_relative_change_ratio",
    "Latest estimated relative change of a metric versus the baseline (0.05 = +5 %).",
    _METRIC_LABELS,
    registry=REGISTRY,
)
RELATIVE_CHANGE_CI_LOW = Gauge(
    "benchgate_metric_relative_change_ci_low_ratio",
    "Lower bound of the confidence interval of the relative change.",
    _METRIC_LABELS,
    registry=REGISTRY,
)
RELATIVE_CHANGE_CI_HIGH = Gauge(
    "benchgate_metric_relative_change_ci_high_ratio",
    "Upper bound of the confidence interval of the relative change.",
    _METRIC_LABELS,
    registry=REGISTRY,
)
# The names before 0.2.0, exported with the same values for one release so dashboards and
# alerts can move (docs/metrics.md, "Deprecated"); removed in 0.3.0.
_DEPRECATED_RELATIVE: Final = {
    gauge: Gauge(
        old,
        f"DEPRECATED, removed in 0.3.0: use {old}_ratio.",
        _METRIC_LABELS,
        registry=REGISTRY,
    )
    for gauge, old in (
        (RELATIVE_CHANGE, "benchgate_metric_relative_change"),
        (RELATIVE_CHANGE_CI_LOW, "benchgate_metric_relative_change_ci_low"),
        (RELATIVE_CHANGE_CI_HIGH, "benchgate_metric_relative_change_ci_high"),
    )
}
# Distribution metrics (prediction consistency): how the candidate's model outputs compare
# with the baseline's on the same inputs (docs/prediction.md). One series per metric.
PREDICTION_TOP1_AGREEMENT = Gauge(
    "benchgate_prediction_top1_agreement_ratio",
    "Share of the fixed inputs whose top-1 class equals the baseline's (1 = all).",
    _METRIC_LABELS,
    registry=REGISTRY,
)
PREDICTION_PSI = Gauge(
    "benchgate_prediction_psi",
    "Population stability index of the model's outputs versus the baseline's (>= 0.1 "
    "warns, >= 0.25 regresses).",
    _METRIC_LABELS,
    registry=REGISTRY,
)
PREDICTION_KS = Gauge(
    "benchgate_prediction_ks_statistic",
    "Kolmogorov-Smirnov statistic between the candidate's and the baseline's outputs.",
    _METRIC_LABELS,
    registry=REGISTRY,
)
PREDICTION_WASSERSTEIN = Gauge(
    "benchgate_prediction_wasserstein_relative",
    "Wasserstein distance between the outputs, relative to the baseline outputs' "
    "standard deviation.",
    _METRIC_LABELS,
    registry=REGISTRY,
)
PREDICTION_MAX_ABS_DIFF = Gauge(
    "benchgate_prediction_max_abs_diff",
    "Largest absolute difference of one output value from the baseline's on the same input.",
    _METRIC_LABELS,
    registry=REGISTRY,
)
_PREDICTION_GAUGES: Final = (
    ("top1Agreement", PREDICTION_TOP1_AGREEMENT),
    ("psi", PREDICTION_PSI),
    ("ksStatistic", PREDICTION_KS),
    ("wassersteinRelative", PREDICTION_WASSERSTEIN),
    ("maxAbsDiff", PREDICTION_MAX_ABS_DIFF),
)

LAST_SUCCESS = Gauge(
    "benchgate_last_successful_verification_timestamp_seconds",
    "Unix time of the last verification that reached a decision (Passed, Improved or "
    "Regressed) or became the baseline, for a suite and platform.",
    _PLATFORM_LABELS,
    registry=REGISTRY,
)
FIRST_SEEN = Gauge(
    "benchgate_platform_first_seen_timestamp_seconds",
    "Unix time the suite first saw the platform (the staleness clock of a platform that "
    "was never verified).",
    _PLATFORM_LABELS,
    registry=REGISTRY,
)
VERIFICATION_PERIOD = Gauge(
    "benchgate_suite_verification_period_seconds",
    "The suite's spec.triggers.periodSeconds (0 = no periodic re-verification).",
    ("namespace", "suite"),
    registry=REGISTRY,
)
DURATION = Histogram(
    "benchgate_verification_duration_seconds",
    "Wall time of verification runs, from start to verdict.",
    ("namespace", "suite"),
    buckets=_DURATION_BUCKETS,
    registry=REGISTRY,
)
RUNS_STARTED = Counter(
    "benchgate_verifications_started_total",
    "VerificationRuns the operator created, by what triggered them (NewPlatform, "
    "FingerprintChanged, ImageChanged, SpecChanged, Periodic, Manual).",
    ("namespace", "suite", "trigger"),
    registry=REGISTRY,
)
JOBS_FAILED = Counter(
    "benchgate_jobs_failed_total",
    "Verification Jobs that failed (Failed condition: pod errors past backoffLimit, "
    "activeDeadlineSeconds) or were still unfinished at their run's deadline.",
    _PLATFORM_LABELS,
    registry=REGISTRY,
)
RESULTS_REJECTED = Counter(
    "benchgate_results_rejected_total",
    "Result documents the operator refused to use, by reason.",
    ("namespace", "suite", "reason"),
    registry=REGISTRY,
)
BUILD_INFO = Gauge(
    "benchgate_build_info",
    "Always 1; the version label says which benchgate is running.",
    ("version",),
    registry=REGISTRY,
)
SUITE_CONDITION = Gauge(
    "benchgate_suite_status_condition",
    "RegressionSuite status conditions, as kube-state-metrics' kube_*_status_condition: "
    "1 for the current status.",
    ("namespace", "suite", "condition", "status"),
    registry=REGISTRY,
)
# Before 0.2.0 (label `type`); same values for one release, removed in 0.3.0.
_DEPRECATED_SUITE_CONDITION: Final = Gauge(
    "benchgate_suite_condition",
    "DEPRECATED, removed in 0.3.0: use benchgate_suite_status_condition (label condition).",
    ("namespace", "suite", "type", "status"),
    registry=REGISTRY,
)
LAST_RECONCILE = Gauge(
    "benchgate_last_reconcile_timestamp_seconds",
    "Unix time of the last successful reconciliation, by kind.",
    ("kind",),
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "benchgate_reconcile_errors_total",
    "Reconciliations that ended in an error, by kind.",
    ("kind",),
    registry=REGISTRY,
)

BUILD_INFO.labels(version=__version__).set(1)
for _kind in RECONCILED_KINDS:
    RECONCILE_ERRORS.labels(kind=_kind)

_PER_PLATFORM: Final = (
    VERIFICATIONS,
    PLATFORM_VERDICT,
    PLATFORM_WORST_METRIC,
    RELATIVE_CHANGE,
    RELATIVE_CHANGE_CI_LOW,
    RELATIVE_CHANGE_CI_HIGH,
    *_DEPRECATED_RELATIVE.values(),
    *(gauge for _, gauge in _PREDICTION_GAUGES),
    LAST_SUCCESS,
    FIRST_SEEN,
    JOBS_FAILED,
    PLATFORM_DRIFTED,
)


@dataclass(frozen=True)
class PlatformLabels:
    """Which platform a series is about: the short platform key and its class."""

    platform: str
    platform_class: str

    @classmethod
    def of(cls, key: str, platform_class: str) -> PlatformLabels:
        return cls(key[:PLATFORM_LABEL_CHARS], platform_class)


@dataclass(frozen=True)
class MetricRow:
    """One judged metric of a finished run, as the verdict engine reported it."""

    workload: str
    metric: str
    change: float | None  # relative, 0.05 = +5 %; None for exact / error metrics
    ci_low: float | None
    ci_high: float | None
    verdict: str
    # Distribution metrics: status.metrics[].prediction field -> number (see
    # _PREDICTION_GAUGES); empty for the other kinds.
    prediction: Mapping[str, float] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class PlatformView:
    """Everything the gauges say about one platform of one suite."""

    labels: PlatformLabels
    verdict: str | None  # of the latest finished run; None before the first one
    verified_at: float | None  # the last decisive or promoted run's completion
    first_seen: float | None
    rows: tuple[MetricRow, ...] = ()
    worst: tuple[str, str] | None = None  # (workload, metric)
    drifted: bool = False  # the latest finished run's Drifted condition is True


# Which series each suite currently exports, so that what left its status (a platform, a
# metric no longer judged, a condition type) leaves the exposition. Guarded by _LOCK:
# kopf runs sync handlers in a thread pool.
_LOCK: Final = threading.Lock()
_platform_series: dict[tuple[str, str], set[PlatformLabels]] = {}
_metric_series: dict[tuple[str, str, PlatformLabels], set[tuple[str, str]]] = {}
_condition_series: dict[tuple[str, str], set[str]] = {}


def _check_verdict(verdict: str) -> str:
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    return verdict


def _ensure_platform(namespace: str, suite: str, platform: PlatformLabels) -> None:
    """Pre-initialise every per-platform counter and verdict series at 0 (idempotent)."""
    labels = (namespace, suite, platform.platform, platform.platform_class)
    for verdict in VERDICTS:
        VERIFICATIONS.labels(*labels, verdict)
        PLATFORM_VERDICT.labels(*labels, verdict)
    JOBS_FAILED.labels(*labels)
    PLATFORM_DRIFTED.labels(*labels)
    _platform_series.setdefault((namespace, suite), set()).add(platform)


def _drop_platform(namespace: str, suite: str, platform: PlatformLabels) -> None:
    selector = {
        "namespace": namespace,
        "suite": suite,
        "platform": platform.platform,
        "platform_class": platform.platform_class,
    }
    for family in _PER_PLATFORM:
        family.remove_by_labels(selector)
    _metric_series.pop((namespace, suite, platform), None)


def _worst_row(verdict: str, rows: Sequence[MetricRow]) -> MetricRow | None:
    """The metric that drives `verdict`: among rows with that verdict, the largest |change|.

    Exact and error metrics (no change) are decisive on their own and rank first.
    """
    matching = [row for row in rows if row.verdict == verdict]
    if not matching:
        return None
    return max(matching, key=lambda row: math.inf if row.change is None else abs(row.change))


def _set_metric_rows(
    namespace: str,
    suite: str,
    platform: PlatformLabels,
    rows: Sequence[MetricRow],
    worst: tuple[str, str] | None,
) -> None:
    key = (namespace, suite, platform)
    base = (namespace, suite, platform.platform, platform.platform_class)
    previous = _metric_series.get(key, set())
    current = {(row.workload, row.metric) for row in rows}
    for workload, metric in previous - current:
        for gauge in (RELATIVE_CHANGE, RELATIVE_CHANGE_CI_LOW, RELATIVE_CHANGE_CI_HIGH):
            _remove_quietly(gauge, (*base, workload, metric))
            _remove_quietly(_DEPRECATED_RELATIVE[gauge], (*base, workload, metric))
        for _, gauge in _PREDICTION_GAUGES:
            _remove_quietly(gauge, (*base, workload, metric))
    for row in rows:
        labels = (*base, row.workload, row.metric)
        for field, gauge in _PREDICTION_GAUGES:
            value = row.prediction.get(field)
            if value is None:
                _remove_quietly(gauge, labels)
            else:
                gauge.labels(*labels).set(value)
        for gauge, value in (
            (RELATIVE_CHANGE, row.change),
            (RELATIVE_CHANGE_CI_LOW, row.ci_low),
            (RELATIVE_CHANGE_CI_HIGH, row.ci_high),
        ):
            # Exact and error metrics have no relative change: the series is absent
            # rather than NaN, so dashboards and `>` comparisons never see a fake number.
            for series in (gauge, _DEPRECATED_RELATIVE[gauge]):
                if value is None or not math.isfinite(value):
                    _remove_quietly(series, labels)
                else:
                    series.labels(*labels).set(value)
    _metric_series[key] = current
    PLATFORM_WORST_METRIC.remove_by_labels(
        {
            "namespace": namespace,
            "suite": suite,
            "platform": platform.platform,
            "platform_class": platform.platform_class,
        }
    )
    if worst is not None:
        PLATFORM_WORST_METRIC.labels(*base, *worst).set(1)


def _remove_quietly(gauge: Gauge, labels: tuple[str, ...]) -> None:
    with contextlib.suppress(KeyError):
        gauge.remove(*labels)


def _set_view(namespace: str, suite: str, view: PlatformView) -> None:
    platform = view.labels
    base = (namespace, suite, platform.platform, platform.platform_class)
    _ensure_platform(namespace, suite, platform)
    for candidate in VERDICTS:
        PLATFORM_VERDICT.labels(*base, candidate).set(1 if candidate == view.verdict else 0)
    PLATFORM_DRIFTED.labels(*base).set(1 if view.drifted else 0)
    worst = view.worst
    if worst is None and view.verdict is not None:
        worst_row = _worst_row(view.verdict, view.rows)
        worst = (worst_row.workload, worst_row.metric) if worst_row else None
    _set_metric_rows(namespace, suite, platform, view.rows, worst)
    for gauge, stamp in ((LAST_SUCCESS, view.verified_at), (FIRST_SEEN, view.first_seen)):
        if stamp is None:
            _remove_quietly(gauge, base)
        else:
            gauge.labels(*base).set(stamp)


def set_platforms(*, namespace: str, suite: str, views: Iterable[PlatformView]) -> None:
    """Export exactly these platforms of the suite (`platform_views`): their series are
    set, and every series of a platform that is no longer among them is removed."""
    view_list = list(views)
    with _LOCK:
        _ensure_triggers(namespace, suite)
        wanted = {v.labels for v in view_list}
        for gone in _platform_series.get((namespace, suite), set()) - wanted:
            _drop_platform(namespace, suite, gone)
        _platform_series[(namespace, suite)] = set()
        for view in view_list:
            _set_view(namespace, suite, view)


def record_run_finished(
    *,
    namespace: str,
    suite: str,
    platform: PlatformLabels,
    verdict: str,
    duration_seconds: float,
    failed_jobs: int = 0,
) -> None:
    """A VerificationRun finished: count it, its duration and its failed Jobs. (The
    gauges follow from status: `set_platforms`.)"""
    _check_verdict(verdict)
    with _LOCK:
        _ensure_platform(namespace, suite, platform)
        labels = (namespace, suite, platform.platform, platform.platform_class)
        VERIFICATIONS.labels(*labels, verdict).inc()
        if failed_jobs > 0:
            JOBS_FAILED.labels(*labels).inc(failed_jobs)
        DURATION.labels(namespace, suite).observe(max(0.0, duration_seconds))


def record_run_started(*, namespace: str, suite: str, trigger: str) -> None:
    """The operator created a VerificationRun for `trigger` (one of TRIGGERS)."""
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger {trigger!r} is not one of {', '.join(TRIGGERS)}")
    with _LOCK:
        _ensure_triggers(namespace, suite)
        RUNS_STARTED.labels(namespace, suite, trigger).inc()


def _ensure_triggers(namespace: str, suite: str) -> None:
    """Every trigger's counter exists from the suite's first reconcile, so the first run
    of a kind is already an increase that `increase()` can see."""
    for trigger in TRIGGERS:
        RUNS_STARTED.labels(namespace, suite, trigger)


def record_result_rejected(*, namespace: str, suite: str, reason: str) -> None:
    """A result document was refused; `reason` is a CamelCase word (e.g. SchemaInvalid)."""
    label = reason if _REASON_PATTERN.match(reason) else _OTHER_REASON
    RESULTS_REJECTED.labels(namespace, suite, label).inc()


def set_suite_conditions(
    *,
    namespace: str,
    suite: str,
    conditions: list[dict[str, Any]],
    verification_period_seconds: float | None = None,
) -> None:
    """Export the suite's status conditions (the whole list, as written to status).

    `verification_period_seconds` (spec.triggers.periodSeconds) feeds the staleness
    alert; None leaves the exported period unchanged.
    """
    with _LOCK:
        _set_conditions(namespace, suite, conditions)
        if verification_period_seconds is not None:
            VERIFICATION_PERIOD.labels(namespace, suite).set(verification_period_seconds)


def _set_conditions(namespace: str, suite: str, conditions: list[dict[str, Any]]) -> None:
    key = (namespace, suite)
    current: dict[str, str] = {}
    for condition in conditions:
        kind = condition.get("type")
        if not isinstance(kind, str) or not kind:
            continue
        status = condition.get("status")
        current[kind] = status if status in CONDITION_STATUSES else "Unknown"
    for gone in _condition_series.get(key, set()) - current.keys():
        SUITE_CONDITION.remove_by_labels(
            {"namespace": namespace, "suite": suite, "condition": gone}
        )
        _DEPRECATED_SUITE_CONDITION.remove_by_labels(
            {"namespace": namespace, "suite": suite, "type": gone}
        )
    for kind, status in current.items():
        for candidate in CONDITION_STATUSES:
            value = 1 if candidate == status else 0
            SUITE_CONDITION.labels(namespace, suite, kind, candidate).set(value)
            _DEPRECATED_SUITE_CONDITION.labels(namespace, suite, kind, candidate).set(value)
    _condition_series[key] = set(current)


def forget_suite(*, namespace: str, suite: str) -> None:
    """The suite was deleted: drop every series that names it."""
    selector = {"namespace": namespace, "suite": suite}
    with _LOCK:
        for family in (
            *_PER_PLATFORM,
            VERIFICATION_PERIOD,
            DURATION,
            RESULTS_REJECTED,
            SUITE_CONDITION,
            _DEPRECATED_SUITE_CONDITION,
            RUNS_STARTED,
        ):
            family.remove_by_labels(selector)
        for key in [k for k in _metric_series if k[:2] == (namespace, suite)]:
            del _metric_series[key]
        _platform_series.pop((namespace, suite), None)
        _condition_series.pop((namespace, suite), None)


def record_reconcile(*, kind: str, ok: bool) -> None:
    """A handler for `kind` finished; errors count, successes refresh the timestamp."""
    if ok:
        LAST_RECONCILE.labels(kind).set(time.time())
    else:
        RECONCILE_ERRORS.labels(kind).inc()


# --- the view of status (live and after a restart) ------------------------------------


def platform_views(
    status: Mapping[str, Any], runs: Iterable[Mapping[str, Any]]
) -> list[PlatformView]:
    """What the gauges say about each platform of a suite, from its status and its runs
    (both as the API returns them; field names follow crds/*.yaml).

    One view per `status.platforms` row (`key`, `class`, `firstSeenTime`,
    `lastVerifiedTime`). A platform's verdict, metric table (`status.metrics[]`, changes
    as "+1.23%" strings) and worst metric come from its latest finished run (by creation
    time); its last successful verification is the later of the row's `lastVerifiedTime`
    and the completion of its latest decisive or promoted run still in the API.
    """
    finished: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        if _run_verdict(run) in VERDICTS:
            key = str(_mapping(_mapping(run.get("spec")).get("platform")).get("key") or "")
            finished.setdefault(key, []).append(run)
    views = []
    for row in _list(status.get("platforms")):
        if not isinstance(row, Mapping) or not row.get("key"):
            continue
        if "nodes" in row and not row["nodes"]:
            continue  # a platform whose nodes are gone: history in status, no series
        key = str(row["key"])
        labels = PlatformLabels.of(key, str(row.get("class") or ""))
        platform_runs = finished.get(key, [])
        latest = max(platform_runs, key=_creation_order, default=None)
        verified = [
            _parse_time(_mapping(r.get("status")).get("completedAt"))
            for r in platform_runs
            if _verifies(r)
        ]
        verified_at = max(
            (t for t in [_parse_time(row.get("lastVerifiedTime")), *verified] if t is not None),
            default=None,
        )
        if latest is None:
            views.append(PlatformView(labels, None, verified_at, _first_seen(row)))
            continue
        run_status = _mapping(latest.get("status"))
        rows = tuple(r for r in map(_metric_row, _list(run_status.get("metrics"))) if r)
        views.append(
            PlatformView(
                labels,
                str(_run_verdict(latest)),
                verified_at,
                _first_seen(row),
                rows,
                _worst_from_status(run_status.get("worstMetric")),
                drifted=any(
                    _mapping(c).get("type") == "Drifted" and _mapping(c).get("status") == "True"
                    for c in _list(run_status.get("conditions"))
                ),
            )
        )
    return views


def rebuild_from_status(
    suites: Iterable[Mapping[str, Any]], runs: Iterable[Mapping[str, Any]]
) -> None:
    """Restore the gauges from RegressionSuite and VerificationRun objects (as the API
    returns them) with the same `platform_views` the live operator exports, so a
    restarted operator exports what the previous one did."""
    by_suite: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for run in runs:
        namespace = str(_mapping(run.get("metadata")).get("namespace") or "")
        suite = str(_mapping(_mapping(run.get("spec")).get("suite")).get("name") or "")
        by_suite.setdefault((namespace, suite), []).append(run)
    for suite_obj in suites:
        meta = _mapping(suite_obj.get("metadata"))
        namespace = str(meta.get("namespace") or "")
        suite = str(meta.get("name") or "")
        if not suite:
            continue
        status = _mapping(suite_obj.get("status"))
        period = _mapping(_mapping(suite_obj.get("spec")).get("triggers")).get("periodSeconds", 0)
        conditions = status.get("conditions")
        set_suite_conditions(
            namespace=namespace,
            suite=suite,
            conditions=[c for c in _list(conditions) if isinstance(c, dict)],
            verification_period_seconds=float(period) if isinstance(period, int | float) else 0.0,
        )
        set_platforms(
            namespace=namespace,
            suite=suite,
            views=platform_views(status, by_suite.get((namespace, suite), [])),
        )


def _verifies(run: Mapping[str, Any]) -> bool:
    if _run_verdict(run) in DECISIVE_VERDICTS:
        return True  # Accepted included: a person decided, and it is the baseline now
    conditions = _list(_mapping(run.get("status")).get("conditions"))
    return any(
        _mapping(c).get("type") == "Verified" and _mapping(c).get("reason") == PROMOTED_REASON
        for c in conditions
    )


def _creation_order(run: Mapping[str, Any]) -> tuple[float, float, str]:
    meta = _mapping(run.get("metadata"))
    return (
        _parse_time(meta.get("creationTimestamp")) or 0.0,
        _parse_time(_mapping(run.get("status")).get("completedAt")) or 0.0,
        str(meta.get("name") or ""),
    )


def _first_seen(row: Mapping[str, Any]) -> float | None:
    return _parse_time(row.get("firstSeenTime"))


def _run_verdict(run: Mapping[str, Any]) -> Any:
    """status.verdict, or Accepted once a person accepted the run's change."""
    status = _mapping(run.get("status"))
    if _mapping(status.get("acceptance")).get("baseline"):
        return ACCEPTED
    return status.get("verdict")


def _split_key(key: str) -> tuple[str, str]:
    workload, _, metric = key.partition("/")
    return workload, metric


def _worst_from_status(value: Any) -> tuple[str, str] | None:
    """status.worstMetric: "workload/metric" ("" when no metric drove the verdict)."""
    if isinstance(value, str) and "/" in value:
        return _split_key(value)
    return None


def _metric_row(value: Any) -> MetricRow | None:
    if not isinstance(value, Mapping):
        return None
    key = value.get("key")
    if not (isinstance(key, str) and "/" in key):
        return None
    workload, metric = _split_key(key)
    return MetricRow(
        workload=workload,
        metric=metric,
        change=_number(value.get("change")),
        ci_low=_number(value.get("ciLow")),
        ci_high=_number(value.get("ciHigh")),
        verdict=str(value.get("verdict") or ""),
        prediction={
            field: number
            for field, _ in _PREDICTION_GAUGES
            if (number := _number(_mapping(value.get("prediction")).get(field))) is not None
        },
    )


def _number(value: Any) -> float | None:
    """A status number: a JSON number, a decimal string, or a percentage string as the
    operator writes relative changes ("-12.40%" -> -0.124)."""
    if isinstance(value, bool) or value is None:
        return None
    scale = 1.0
    if isinstance(value, str):
        value = value.strip()
        if value.endswith("%"):
            value, scale = value[:-1], 0.01
    try:
        number = float(value) * scale
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- serving -----------------------------------------------------------------------


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> tuple[Any, threading.Thread]:
    """Serve /metrics for REGISTRY on a daemon thread; returns (server, thread).

    Port 0 picks a free port: read it from `server.server_address[1]`.
    """
    server, thread = start_http_server(port, addr=addr, registry=REGISTRY)
    return server, thread


def render_latest() -> bytes:
    """The current exposition, exactly as a scrape would see it."""
    return generate_latest(REGISTRY)
