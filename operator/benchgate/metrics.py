"""Every Prometheus metric benchgate exports, and nothing else.

The operator keeps no state of its own (design.md: state lives in the Kubernetes API), so
the gauges here are a *view* of resource status: controllers update them as runs finish,
and `rebuild_from_status` restores them from RegressionSuite / VerificationRun status
after a restart. Counters and the duration histogram restart at zero, which Prometheus'
`rate`/`increase` handle as an ordinary counter reset.

Conventions (style.md): one `benchgate_` prefix, base units (seconds, ratios), `_total`
counters, `_info` and `_timestamp_seconds` suffixes, and only bounded labels — namespace,
suite, platform *class*, workload, metric, verdict, condition type/status, reconciled
kind, rejection reason. Never node, pod or UID. Label sets are pre-initialised the first
time a platform is seen, so an alert on "verdict == Regressed" or "jobs failed increased"
never silently misses a series that does not exist yet.

Everything lives on a module-level `REGISTRY` (not the process-global default), so a
scrape contains exactly benchgate's metrics and tests can read it without interference.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
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

# The `_created` companion series only double every counter and histogram; nothing reads
# them and a restart would change them anyway. (Process-wide switch: this is the
# operator's process, and no other code in it exports Prometheus metrics.)
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY: Final = CollectorRegistry(auto_describe=True)

# The verdict engine's verdicts (benchgate.domain.verdict.Verdict), spelled out here
# because every one of them is pre-initialised as its own series.
VERDICTS: Final = ("Passed", "Regressed", "Improved", "Inconclusive", "Invalid")
# A verification "succeeded" when it reached a decision about the platform, whichever
# way; Inconclusive and Invalid runs do not refresh the staleness clock.
SUCCESSFUL_VERDICTS: Final = frozenset({"Passed", "Regressed", "Improved"})
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

_PLATFORM_LABELS: Final = ("namespace", "suite", "platform")
_METRIC_LABELS: Final = ("namespace", "suite", "platform", "workload", "metric")

# Verification runs take from seconds (tiny suites) to hours (full suites on a busy pool).
_DURATION_BUCKETS: Final = (10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, math.inf)

VERIFICATIONS = Counter(
    "benchgate_verifications_total",
    "Verification runs that finished, by verdict.",
    ("namespace", "suite", "platform", "verdict"),
    registry=REGISTRY,
)
PLATFORM_VERDICT = Gauge(
    "benchgate_platform_verdict",
    "1 for the latest verdict of each suite and platform class, 0 for the other verdicts.",
    ("namespace", "suite", "platform", "verdict"),
    registry=REGISTRY,
)
PLATFORM_WORST_METRIC = Gauge(
    "benchgate_platform_worst_metric_info",
    "The metric (workload/metric) that drove the latest verdict of a suite and platform.",
    _METRIC_LABELS,
    registry=REGISTRY,
)
RELATIVE_CHANGE = Gauge(
    "benchgate_metric_relative_change",
    "Latest estimated relative change of a metric versus the baseline (0.05 = +5 %).",
    _METRIC_LABELS,
    registry=REGISTRY,
)
RELATIVE_CHANGE_CI_LOW = Gauge(
    "benchgate_metric_relative_change_ci_low",
    "Lower bound of the confidence interval of the relative change (ratio).",
    _METRIC_LABELS,
    registry=REGISTRY,
)
RELATIVE_CHANGE_CI_HIGH = Gauge(
    "benchgate_metric_relative_change_ci_high",
    "Upper bound of the confidence interval of the relative change (ratio).",
    _METRIC_LABELS,
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "benchgate_last_successful_verification_timestamp_seconds",
    "Unix time of the last verification that reached a decision (Passed, Improved or "
    "Regressed) for a suite and platform class.",
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
JOBS_FAILED = Counter(
    "benchgate_jobs_failed_total",
    "Verification Jobs that failed (pod error, timeout, no result document).",
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
    "benchgate_suite_condition",
    "RegressionSuite status conditions, kube-state-metrics style: 1 for the current status.",
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


@dataclass(frozen=True)
class MetricRow:
    """One judged metric of a finished run, as the verdict engine reported it."""

    workload: str
    metric: str
    change: float | None  # relative, 0.05 = +5 %; None for exact / error metrics
    ci_low: float | None
    ci_high: float | None
    verdict: str


# Which (workload, metric) series each (namespace, suite, platform) currently exports,
# so a run that no longer judges a metric removes its stale series. Guarded by _LOCK:
# kopf runs sync handlers in a thread pool.
_LOCK: Final = threading.Lock()
_metric_series: dict[tuple[str, str, str], set[tuple[str, str]]] = {}
_condition_series: dict[tuple[str, str], set[str]] = {}


def _check_verdict(verdict: str) -> str:
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    return verdict


def _ensure_platform(namespace: str, suite: str, platform: str) -> None:
    """Pre-initialise every per-platform series at 0 (idempotent)."""
    for verdict in VERDICTS:
        VERIFICATIONS.labels(namespace, suite, platform, verdict)
        PLATFORM_VERDICT.labels(namespace, suite, platform, verdict)
    JOBS_FAILED.labels(namespace, suite, platform)


def _set_verdict(namespace: str, suite: str, platform: str, verdict: str | None) -> None:
    _ensure_platform(namespace, suite, platform)
    for candidate in VERDICTS:
        PLATFORM_VERDICT.labels(namespace, suite, platform, candidate).set(
            1 if candidate == verdict else 0
        )


def _worst_row(verdict: str, rows: list[MetricRow]) -> MetricRow | None:
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
    platform: str,
    rows: list[MetricRow],
    worst: tuple[str, str] | None,
) -> None:
    key = (namespace, suite, platform)
    previous = _metric_series.get(key, set())
    current = {(row.workload, row.metric) for row in rows}
    for workload, metric in previous - current:
        labels = (namespace, suite, platform, workload, metric)
        for gauge in (RELATIVE_CHANGE, RELATIVE_CHANGE_CI_LOW, RELATIVE_CHANGE_CI_HIGH):
            _remove_quietly(gauge, labels)
    for row in rows:
        labels = (namespace, suite, platform, row.workload, row.metric)
        for gauge, value in (
            (RELATIVE_CHANGE, row.change),
            (RELATIVE_CHANGE_CI_LOW, row.ci_low),
            (RELATIVE_CHANGE_CI_HIGH, row.ci_high),
        ):
            # Exact and error metrics have no relative change: the series is absent
            # rather than NaN, so dashboards and `>` comparisons never see a fake number.
            if value is None or not math.isfinite(value):
                _remove_quietly(gauge, labels)
            else:
                gauge.labels(*labels).set(value)
    _metric_series[key] = current
    PLATFORM_WORST_METRIC.remove_by_labels(
        {"namespace": namespace, "suite": suite, "platform": platform}
    )
    if worst is not None:
        PLATFORM_WORST_METRIC.labels(namespace, suite, platform, *worst).set(1)


def _remove_quietly(gauge: Gauge, labels: tuple[str, ...]) -> None:
    with contextlib.suppress(KeyError):
        gauge.remove(*labels)


def record_run_finished(
    *,
    namespace: str,
    suite: str,
    platform: str,
    verdict: str,
    duration_seconds: float,
    finished_at: float,
    rows: Iterable[MetricRow],
    worst_metric: str | None = None,
) -> None:
    """A VerificationRun reached a verdict: count it and refresh the platform's gauges.

    `worst_metric` ("workload/metric", the verdict engine's `Comparison.worst.key`) names
    the metric that drove the verdict; without it the row with that verdict and the
    largest |change| is used.
    """
    _check_verdict(verdict)
    row_list = list(rows)
    worst = _split_key(worst_metric) if worst_metric else None
    if worst is None:
        worst_row = _worst_row(verdict, row_list)
        worst = (worst_row.workload, worst_row.metric) if worst_row else None
    with _LOCK:
        _set_verdict(namespace, suite, platform, verdict)
        VERIFICATIONS.labels(namespace, suite, platform, verdict).inc()
        DURATION.labels(namespace, suite).observe(max(0.0, duration_seconds))
        _set_metric_rows(namespace, suite, platform, row_list, worst)
        if verdict in SUCCESSFUL_VERDICTS:
            LAST_SUCCESS.labels(namespace, suite, platform).set(finished_at)


def record_job_failed(*, namespace: str, suite: str, platform: str) -> None:
    """A verification Job failed (the run may still retry or end Invalid)."""
    with _LOCK:
        _ensure_platform(namespace, suite, platform)
        JOBS_FAILED.labels(namespace, suite, platform).inc()


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
        SUITE_CONDITION.remove_by_labels({"namespace": namespace, "suite": suite, "type": gone})
    for kind, status in current.items():
        for candidate in CONDITION_STATUSES:
            SUITE_CONDITION.labels(namespace, suite, kind, candidate).set(
                1 if candidate == status else 0
            )
    _condition_series[key] = set(current)


def forget_suite(*, namespace: str, suite: str) -> None:
    """The suite was deleted: drop every series that names it."""
    selector = {"namespace": namespace, "suite": suite}
    with _LOCK:
        for family in (
            VERIFICATIONS,
            PLATFORM_VERDICT,
            PLATFORM_WORST_METRIC,
            RELATIVE_CHANGE,
            RELATIVE_CHANGE_CI_LOW,
            RELATIVE_CHANGE_CI_HIGH,
            LAST_SUCCESS,
            VERIFICATION_PERIOD,
            DURATION,
            JOBS_FAILED,
            RESULTS_REJECTED,
            SUITE_CONDITION,
        ):
            family.remove_by_labels(selector)
        for key in [k for k in _metric_series if k[:2] == (namespace, suite)]:
            del _metric_series[key]
        _condition_series.pop((namespace, suite), None)


def record_reconcile(*, kind: str, ok: bool) -> None:
    """A handler for `kind` finished; errors count, successes refresh the timestamp."""
    if ok:
        LAST_RECONCILE.labels(kind).set(time.time())
    else:
        RECONCILE_ERRORS.labels(kind).inc()


@contextlib.contextmanager
def reconciling(kind: str) -> Iterator[None]:
    """Wrap one reconciliation of `kind`: recorded as a success unless it raises."""
    ok = False
    try:
        yield
        ok = True
    finally:
        record_reconcile(kind=kind, ok=ok)


# --- rebuilding after a restart -----------------------------------------------------


def rebuild_from_status(
    suites: Iterable[Mapping[str, Any]], runs: Iterable[Mapping[str, Any]]
) -> None:
    """Restore the gauges from RegressionSuite and VerificationRun objects (as the API
    returns them), so a restarted operator exports what the previous one did.

    Field names follow crds/*.yaml: suite `status.platforms[]` rows (`class`, `key`,
    `verdict`, `lastRun`) are authoritative for verdicts; each platform's last run
    (`lastRun`, else the latest completed run) supplies the per-metric table
    (`status.metrics[].key` = "workload/metric", changes as "+1.23%" strings) and
    `status.worstMetric`. The last successful verification is the latest `completedAt`
    among that platform's decisive runs (or a row's `lastVerifiedTime` when present).
    Older spellings (`name`, `completionTime`, a plain-string `spec.suite`) are read too.
    """
    runs_by_platform: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    runs_by_name: dict[tuple[str, str], Mapping[str, Any]] = {}
    for run in runs:
        meta = _mapping(run.get("metadata"))
        spec = _mapping(run.get("spec"))
        namespace = str(meta.get("namespace") or "")
        platform = _platform_label(_mapping(spec.get("platform")))
        suite_ref = spec.get("suite")
        suite = (
            str(_mapping(suite_ref).get("name") or "")
            if isinstance(suite_ref, Mapping)
            else str(suite_ref or "")
        )
        runs_by_name[(namespace, str(meta.get("name") or ""))] = run
        if suite and platform:
            runs_by_platform.setdefault((namespace, suite, platform), []).append(run)

    with _LOCK:
        for suite_obj in suites:
            meta = _mapping(suite_obj.get("metadata"))
            namespace = str(meta.get("namespace") or "")
            suite = str(meta.get("name") or "")
            if not suite:
                continue
            spec = _mapping(suite_obj.get("spec"))
            status = _mapping(suite_obj.get("status"))
            period = _mapping(spec.get("triggers")).get("periodSeconds", 0)
            VERIFICATION_PERIOD.labels(namespace, suite).set(
                float(period) if isinstance(period, int | float) else 0.0
            )
            conditions = status.get("conditions")
            if isinstance(conditions, list):
                _set_conditions(namespace, suite, [c for c in conditions if isinstance(c, dict)])
            for row in _list(status.get("platforms")):
                if isinstance(row, Mapping):
                    platform = _platform_label(row)
                    if platform:
                        _rebuild_platform(
                            namespace,
                            suite,
                            platform,
                            row,
                            runs_by_platform.get((namespace, suite, platform), []),
                            runs_by_name,
                        )


def _rebuild_platform(
    namespace: str,
    suite: str,
    platform: str,
    row: Mapping[str, Any],
    platform_runs: list[Mapping[str, Any]],
    runs_by_name: Mapping[tuple[str, str], Mapping[str, Any]],
) -> None:
    verdict = row.get("verdict")
    _set_verdict(namespace, suite, platform, verdict if verdict in VERDICTS else None)

    completed = [r for r in platform_runs if _run_verdict(r) in VERDICTS]
    run = runs_by_name.get((namespace, str(row.get("lastRun") or "")))
    if run is None or _run_verdict(run) not in VERDICTS:
        run = max(completed, key=_completion_time, default=None)
    if run is not None:
        run_status = _mapping(run.get("status"))
        rows = [_metric_row(m) for m in _list(run_status.get("metrics"))]
        metric_rows = [r for r in rows if r is not None]
        worst = _worst_from_status(run_status.get("worstMetric"))
        if worst is None:
            worst_row = _worst_row(str(_run_verdict(run)), metric_rows)
            worst = (worst_row.workload, worst_row.metric) if worst_row else None
        _set_metric_rows(namespace, suite, platform, metric_rows, worst)

    verified_at = _parse_time(row.get("lastVerifiedTime"))
    if verified_at is None:
        decisive = [
            _completion_time(r) for r in completed if _run_verdict(r) in SUCCESSFUL_VERDICTS
        ]
        verified_at = max(decisive, default=0.0) or None
    if verified_at is not None:
        LAST_SUCCESS.labels(namespace, suite, platform).set(verified_at)


def _run_verdict(run: Mapping[str, Any]) -> Any:
    return _mapping(run.get("status")).get("verdict")


def _platform_label(obj: Mapping[str, Any]) -> str:
    """The platform *class* name (bounded); the key only when no class was recorded."""
    return str(obj.get("class") or obj.get("name") or obj.get("key") or "")


def _split_key(key: str) -> tuple[str, str]:
    workload, _, metric = key.partition("/")
    return workload, metric


def _worst_from_status(value: Any) -> tuple[str, str] | None:
    """status.worstMetric: "workload/metric", or an object with workload+metric or key."""
    if isinstance(value, str) and "/" in value:
        return _split_key(value)
    if isinstance(value, Mapping):
        if value.get("workload") and value.get("metric"):
            return str(value["workload"]), str(value["metric"])
        key = value.get("key")
        if isinstance(key, str) and "/" in key:
            return _split_key(key)
    return None


def _metric_row(value: Any) -> MetricRow | None:
    if not isinstance(value, Mapping):
        return None
    workload, metric = value.get("workload"), value.get("metric")
    if not workload or not metric:
        key = value.get("key")
        if not (isinstance(key, str) and "/" in key):
            return None
        workload, metric = _split_key(key)
    return MetricRow(
        workload=str(workload),
        metric=str(metric),
        change=_number(value.get("change")),
        ci_low=_number(value.get("ciLow")),
        ci_high=_number(value.get("ciHigh")),
        verdict=str(value.get("verdict") or ""),
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


def _completion_time(run: Mapping[str, Any]) -> float:
    status = _mapping(run.get("status"))
    for key in ("completedAt", "completionTime", "startedAt", "startTime"):
        value = status.get(key)
        parsed = _parse_time(value)
        if parsed is not None:
            return parsed
    return 0.0


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
