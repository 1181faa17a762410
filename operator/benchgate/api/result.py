"""The result document: the versioned contract between workloads and the operator.

A verification workload prints one document to stdout between marker lines; the operator
reads it from the pod log through the API and `benchgate compare` reads it from a file.
This module is pure (stdlib only) and strict: anything unexpected is rejected with a
`ResultDocumentError` that names the offending field, so that a malformed document fails
its run and never the reader.

Shape (JSON):

    {
      "schemaVersion": "benchgate.dev/result/v1",
      "run": {"suite": "...", "run": "...", "platform": "...", "replicate": "pod-0",
              "startedAt": "2026-11-23T10:00:00Z", "finishedAt": "..."},
      "workloads": [
        {"name": "gemm_throughput", "size": "tiny", "status": "ok" | "failed" | "skipped",
         "durationSeconds": 1.2, "error": null | {"type": "...", "message": "..."},
         "metrics": [
           {"name": "gflops_fp32", "unit": "GFLOP/s", "direction": "higher",
            "kind": "continuous", "scale": "ratio", "tolerance": 0.03,
            "samples": [{"replicate": "pod-0/proc-1", "values": [1.0, 1.1]}]}]}],
      "errors": [{"workload": "...", "type": "...", "message": "..."}],
      "fingerprint": {"<group>": {"<field>": {"value": ..., "status": "ok", "source": "..."}}}
    }

`samples` is grouped by replicate: the unit of replication (a pod or a process) whose
repetitions share an offset. The verdict engine summarises each replicate before it
compares, so repetitions inside one process are never mistaken for independent draws.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

SCHEMA_VERSION: Final = "benchgate.dev/result/v1"
SUPPORTED_SCHEMA_VERSIONS: Final = frozenset({SCHEMA_VERSION})

# A document must fit into the ConfigMap that keeps a run's raw samples (etcd's object
# limit is 1 MiB, and the ConfigMap also carries metadata), so the bound sits below it.
MAX_DOCUMENT_BYTES: Final = 900 * 1024
MAX_SAMPLES_PER_METRIC: Final = 10_000
MAX_NAME_LENGTH: Final = 128

BEGIN_MARKER: Final = "-----BEGIN BENCHGATE RESULT-----"
END_MARKER: Final = "-----END BENCHGATE RESULT-----"

Direction = Literal["higher", "lower", "equal", "band"]
MetricKind = Literal["continuous", "exact", "error"]
Scale = Literal["ratio", "linear"]
# skipped: the workload does not apply here (collectives on a one-GPU node); it carries
# its reason in `error` and no metrics, and it does not fail the run.
WorkloadStatus = Literal["ok", "failed", "skipped"]
FieldStatus = str  # "ok" | "not_supported" | "unavailable" | "error: <message>"

DIRECTIONS: Final[frozenset[str]] = frozenset({"higher", "lower", "equal", "band"})
KINDS: Final[frozenset[str]] = frozenset({"continuous", "exact", "error"})
SCALES: Final[frozenset[str]] = frozenset({"ratio", "linear"})
FIELD_STATUSES: Final[frozenset[str]] = frozenset({"ok", "not_supported", "unavailable"})

ExactValue = str | bool | int
SampleValue = float | ExactValue


class ResultDocumentError(ValueError):
    """A document that cannot be accepted; `path` names the offending field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class ReplicateSamples:
    """All repetitions measured in one replication unit (a pod or a process)."""

    replicate: str
    values: tuple[SampleValue, ...]


@dataclass(frozen=True)
class Metric:
    """One measured quantity with its raw samples and how to judge it.

    kind:
      continuous — a noisy quantity (time, throughput, loss); compared statistically.
      exact      — must be identical (checksums, booleans, counts that must stay 0).
      error      — numerical error against an fp64 reference; the candidate passes when
                   its error is at most `errorFactor` times the baseline's.
    scale: `ratio` metrics are positive and compared on the log scale (relative change);
      `linear` metrics are compared by difference relative to the baseline's magnitude.
    tolerance: the largest relative change (0.03 = 3%) that still counts as unchanged;
      None means "the suite's statistics.tolerancePercent" (so does errorFactor).
    """

    name: str
    unit: str
    direction: Direction
    kind: MetricKind
    samples: tuple[ReplicateSamples, ...]
    scale: Scale = "ratio"
    tolerance: float | None = None
    error_factor: float | None = None
    description: str = ""

    @property
    def values(self) -> list[SampleValue]:
        return [v for group in self.samples for v in group.values]

    @property
    def replicates(self) -> list[str]:
        return [group.replicate for group in self.samples]


@dataclass(frozen=True)
class WorkloadError:
    type: str
    message: str


@dataclass(frozen=True)
class WorkloadResult:
    name: str
    size: str
    status: WorkloadStatus
    duration_seconds: float
    metrics: tuple[Metric, ...] = ()
    error: WorkloadError | None = None

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


@dataclass(frozen=True)
class RunIdentity:
    suite: str = ""
    run: str = ""
    platform: str = ""
    replicate: str = ""
    started_at: str = ""
    finished_at: str = ""


@dataclass(frozen=True)
class FingerprintField:
    value: Any
    status: FieldStatus = "ok"
    source: str = ""


Fingerprint = Mapping[str, Mapping[str, FingerprintField]]


@dataclass(frozen=True)
class DocumentError:
    workload: str
    type: str
    message: str


@dataclass(frozen=True)
class ResultDocument:
    run: RunIdentity
    workloads: tuple[WorkloadResult, ...]
    fingerprint: Mapping[str, Mapping[str, FingerprintField]] = field(default_factory=dict)
    errors: tuple[DocumentError, ...] = ()
    schema_version: str = SCHEMA_VERSION

    def workload(self, name: str) -> WorkloadResult | None:
        return next((w for w in self.workloads if w.name == name), None)

    def metrics(self) -> Iterable[tuple[str, Metric]]:
        """Every metric as (`workload/metric` key, metric)."""
        for workload in self.workloads:
            for metric in workload.metrics:
                yield f"{workload.name}/{metric.name}", metric


# --------------------------------------------------------------------------- parsing


def _require(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise ResultDocumentError(f"{path}.{key}" if path else key, "is required")
    return obj[key]


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ResultDocumentError(path, f"must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ResultDocumentError(path, f"must be a list, got {type(value).__name__}")
    return value


def _string(value: Any, path: str, *, max_length: int = 4096, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise ResultDocumentError(path, f"must be a string, got {type(value).__name__}")
    if len(value) > max_length:
        raise ResultDocumentError(path, f"is longer than {max_length} characters")
    if not allow_empty and not value:
        raise ResultDocumentError(path, "must not be empty")
    return value


def _number(value: Any, path: str) -> float:
    # bool is an int subclass; a boolean where a number belongs is a type error.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResultDocumentError(path, f"must be a number, got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise ResultDocumentError(path, f"must be finite, got {value!r}")
    return result


def _choice(value: Any, allowed: frozenset[str], path: str) -> str:
    text = _string(value, path)
    if text not in allowed:
        raise ResultDocumentError(path, f"must be one of {sorted(allowed)}, got {text!r}")
    return text


def _reject_unknown(obj: Mapping[str, Any], known: set[str], path: str) -> None:
    unknown = sorted(set(obj) - known)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ResultDocumentError(where, f"unknown field (known: {sorted(known)})")


def _parse_sample_value(value: Any, kind: str, path: str) -> SampleValue:
    if kind == "exact":
        if isinstance(value, bool | str):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise ResultDocumentError(
            path, f"exact metrics take strings, booleans or integers, got {value!r}"
        )
    return _number(value, path)


def _parse_metric(raw: Any, path: str) -> Metric:
    obj = _object(raw, path)
    _reject_unknown(
        obj,
        {
            "name",
            "unit",
            "direction",
            "kind",
            "scale",
            "tolerance",
            "errorFactor",
            "samples",
            "description",
        },
        path,
    )
    name = _string(
        _require(obj, "name", path), f"{path}.name", max_length=MAX_NAME_LENGTH, allow_empty=False
    )
    kind = _choice(obj.get("kind", "continuous"), KINDS, f"{path}.kind")
    direction = _choice(_require(obj, "direction", path), DIRECTIONS, f"{path}.direction")
    if kind == "exact" and direction != "equal":
        raise ResultDocumentError(f"{path}.direction", "exact metrics must use 'equal'")
    if kind == "error" and direction != "lower":
        raise ResultDocumentError(f"{path}.direction", "error metrics must use 'lower'")
    if kind == "continuous" and direction == "equal":
        raise ResultDocumentError(
            f"{path}.direction", "'equal' needs kind 'exact'; use 'band' for a two-sided bound"
        )
    scale = _choice(obj.get("scale", "ratio"), SCALES, f"{path}.scale")
    tolerance = None
    if obj.get("tolerance") is not None:
        tolerance = _number(obj["tolerance"], f"{path}.tolerance")
        if not 0 <= tolerance < 10:
            raise ResultDocumentError(f"{path}.tolerance", "must be a fraction in [0, 10)")
    error_factor = None
    if obj.get("errorFactor") is not None:
        error_factor = _number(obj["errorFactor"], f"{path}.errorFactor")
        if error_factor < 1:
            raise ResultDocumentError(f"{path}.errorFactor", "must be at least 1")
    groups: list[ReplicateSamples] = []
    total = 0
    seen: set[str] = set()
    for i, raw_group in enumerate(_list(_require(obj, "samples", path), f"{path}.samples")):
        gpath = f"{path}.samples[{i}]"
        group = _object(raw_group, gpath)
        _reject_unknown(group, {"replicate", "values"}, gpath)
        replicate = _string(
            _require(group, "replicate", gpath),
            f"{gpath}.replicate",
            max_length=MAX_NAME_LENGTH,
            allow_empty=False,
        )
        if replicate in seen:
            raise ResultDocumentError(f"{gpath}.replicate", f"duplicate replicate {replicate!r}")
        seen.add(replicate)
        raw_values = _list(_require(group, "values", gpath), f"{gpath}.values")
        values = tuple(
            _parse_sample_value(v, kind, f"{gpath}.values[{j}]") for j, v in enumerate(raw_values)
        )
        total += len(values)
        if total > MAX_SAMPLES_PER_METRIC:
            raise ResultDocumentError(f"{path}.samples", f"more than {MAX_SAMPLES_PER_METRIC}")
        groups.append(ReplicateSamples(replicate=replicate, values=values))
    return Metric(
        name=name,
        unit=_string(_require(obj, "unit", path), f"{path}.unit", max_length=64),
        direction=direction,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        scale=scale,  # type: ignore[arg-type]
        tolerance=tolerance,
        error_factor=error_factor,
        samples=tuple(groups),
        description=_string(obj.get("description", ""), f"{path}.description", max_length=1024),
    )


def _parse_error(raw: Any, path: str) -> WorkloadError:
    obj = _object(raw, path)
    _reject_unknown(obj, {"type", "message"}, path)
    return WorkloadError(
        type=_string(_require(obj, "type", path), f"{path}.type", max_length=256),
        message=_string(_require(obj, "message", path), f"{path}.message", max_length=16384),
    )


def _parse_workload(raw: Any, path: str) -> WorkloadResult:
    obj = _object(raw, path)
    _reject_unknown(obj, {"name", "size", "status", "durationSeconds", "metrics", "error"}, path)
    status = _choice(
        _require(obj, "status", path), frozenset({"ok", "failed", "skipped"}), f"{path}.status"
    )
    metrics = tuple(
        _parse_metric(m, f"{path}.metrics[{i}]")
        for i, m in enumerate(_list(obj.get("metrics", []), f"{path}.metrics"))
    )
    names = [m.name for m in metrics]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ResultDocumentError(f"{path}.metrics", f"duplicate metric name {duplicates[0]!r}")
    error = None if obj.get("error") is None else _parse_error(obj["error"], f"{path}.error")
    if status in ("failed", "skipped") and error is None:
        raise ResultDocumentError(f"{path}.error", f"is required when status is {status!r}")
    if status == "skipped" and metrics:
        raise ResultDocumentError(f"{path}.metrics", "must be empty when status is 'skipped'")
    return WorkloadResult(
        name=_string(
            _require(obj, "name", path),
            f"{path}.name",
            max_length=MAX_NAME_LENGTH,
            allow_empty=False,
        ),
        size=_string(obj.get("size", ""), f"{path}.size", max_length=32),
        status=status,  # type: ignore[arg-type]
        duration_seconds=_number(obj.get("durationSeconds", 0.0), f"{path}.durationSeconds"),
        metrics=metrics,
        error=error,
    )


def _parse_fingerprint(raw: Any, path: str) -> dict[str, dict[str, FingerprintField]]:
    groups: dict[str, dict[str, FingerprintField]] = {}
    for group_name, raw_group in _object(raw, path).items():
        gpath = f"{path}.{group_name}"
        fields: dict[str, FingerprintField] = {}
        for field_name, raw_field in _object(raw_group, gpath).items():
            fpath = f"{gpath}.{field_name}"
            obj = _object(raw_field, fpath)
            _reject_unknown(obj, {"value", "status", "source"}, fpath)
            status = _string(_require(obj, "status", fpath), f"{fpath}.status", max_length=2048)
            if status not in FIELD_STATUSES and not status.startswith("error:"):
                raise ResultDocumentError(
                    f"{fpath}.status",
                    "must be 'ok', 'not_supported', 'unavailable' or 'error: <message>'",
                )
            value = obj.get("value")
            if isinstance(value, float) and not math.isfinite(value):
                raise ResultDocumentError(f"{fpath}.value", "must be finite")
            fields[field_name] = FingerprintField(
                value=value,
                status=status,
                source=_string(obj.get("source", ""), f"{fpath}.source", max_length=256),
            )
        groups[group_name] = fields
    return groups


def parse_document(raw: Any) -> ResultDocument:
    """Validate a decoded JSON value and build a `ResultDocument`."""
    obj = _object(raw, "document")
    _reject_unknown(obj, {"schemaVersion", "run", "workloads", "errors", "fingerprint"}, "")
    version = _string(_require(obj, "schemaVersion", ""), "schemaVersion")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ResultDocumentError(
            "schemaVersion",
            f"unsupported version {version!r}; "
            f"this benchgate reads {sorted(SUPPORTED_SCHEMA_VERSIONS)}",
        )
    run_obj = _object(obj.get("run", {}), "run")
    _reject_unknown(
        run_obj, {"suite", "run", "platform", "replicate", "startedAt", "finishedAt"}, "run"
    )
    run = RunIdentity(
        suite=_string(run_obj.get("suite", ""), "run.suite", max_length=253),
        run=_string(run_obj.get("run", ""), "run.run", max_length=253),
        platform=_string(run_obj.get("platform", ""), "run.platform", max_length=253),
        replicate=_string(run_obj.get("replicate", ""), "run.replicate", max_length=253),
        started_at=_string(run_obj.get("startedAt", ""), "run.startedAt", max_length=64),
        finished_at=_string(run_obj.get("finishedAt", ""), "run.finishedAt", max_length=64),
    )
    workloads = tuple(
        _parse_workload(w, f"workloads[{i}]")
        for i, w in enumerate(_list(_require(obj, "workloads", ""), "workloads"))
    )
    names = [w.name for w in workloads]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ResultDocumentError("workloads", f"duplicate workload name {duplicates[0]!r}")
    errors = []
    for i, raw_error in enumerate(_list(obj.get("errors", []), "errors")):
        epath = f"errors[{i}]"
        eobj = _object(raw_error, epath)
        _reject_unknown(eobj, {"workload", "type", "message"}, epath)
        errors.append(
            DocumentError(
                workload=_string(eobj.get("workload", ""), f"{epath}.workload", max_length=128),
                type=_string(_require(eobj, "type", epath), f"{epath}.type", max_length=256),
                message=_string(
                    _require(eobj, "message", epath), f"{epath}.message", max_length=16384
                ),
            )
        )
    return ResultDocument(
        schema_version=version,
        run=run,
        workloads=workloads,
        errors=tuple(errors),
        fingerprint=_parse_fingerprint(obj.get("fingerprint", {}), "fingerprint"),
    )


def _reject_constant(token: str) -> float:
    raise ResultDocumentError("document", f"{token} is not allowed in a result document")


def loads(text: str | bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> ResultDocument:
    """Parse JSON text strictly: size-bounded, no NaN/Infinity, schema-checked."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > max_bytes:
        raise ResultDocumentError(
            "document", f"is {size} bytes, over the limit of {max_bytes} bytes"
        )
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except ResultDocumentError:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultDocumentError("document", f"is not valid JSON: {exc}") from exc
    return parse_document(raw)


def extract_from_log(log: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> ResultDocument:
    """Find the document between marker lines in a pod log (the last one wins)."""
    end = log.rfind(END_MARKER)
    begin = log.rfind(BEGIN_MARKER, 0, end if end >= 0 else None)
    if begin < 0 or end < 0 or end < begin:
        raise ResultDocumentError(
            "log", f"no result document between {BEGIN_MARKER!r} and {END_MARKER!r} markers"
        )
    return loads(log[begin + len(BEGIN_MARKER) : end].strip(), max_bytes=max_bytes)


# ------------------------------------------------------------------------- rendering


def metric_to_dict(metric: Metric) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": metric.name,
        "unit": metric.unit,
        "direction": metric.direction,
        "kind": metric.kind,
        "scale": metric.scale,
        "samples": [{"replicate": g.replicate, "values": list(g.values)} for g in metric.samples],
    }
    if metric.tolerance is not None:
        out["tolerance"] = metric.tolerance
    if metric.error_factor is not None:
        out["errorFactor"] = metric.error_factor
    if metric.description:
        out["description"] = metric.description
    return out


def document_to_dict(doc: ResultDocument) -> dict[str, Any]:
    run = doc.run
    return {
        "schemaVersion": doc.schema_version,
        "run": {
            "suite": run.suite,
            "run": run.run,
            "platform": run.platform,
            "replicate": run.replicate,
            "startedAt": run.started_at,
            "finishedAt": run.finished_at,
        },
        "workloads": [
            {
                "name": w.name,
                "size": w.size,
                "status": w.status,
                "durationSeconds": w.duration_seconds,
                "metrics": [metric_to_dict(m) for m in w.metrics],
                "error": None
                if w.error is None
                else {"type": w.error.type, "message": w.error.message},
            }
            for w in doc.workloads
        ],
        "errors": [
            {"workload": e.workload, "type": e.type, "message": e.message} for e in doc.errors
        ],
        "fingerprint": {
            group: {
                name: {"value": f.value, "status": f.status, "source": f.source}
                for name, f in fields.items()
            }
            for group, fields in doc.fingerprint.items()
        },
    }


def dumps(doc: ResultDocument, *, indent: int | None = None) -> str:
    return json.dumps(document_to_dict(doc), indent=indent, sort_keys=False, allow_nan=False)


def merge_documents(docs: Iterable[ResultDocument]) -> ResultDocument:
    """Combine documents from several replicates (pods or processes) of one run.

    Metrics with the same workload and name are merged replicate by replicate; metadata
    (unit, direction, kind, tolerance) must agree, or the merge fails naming the metric.
    The first document's identity and fingerprint are kept; errors are concatenated.
    """
    docs = list(docs)
    if not docs:
        raise ResultDocumentError("documents", "nothing to merge")
    order: list[str] = []
    by_workload: dict[str, list[WorkloadResult]] = {}
    for doc in docs:
        for w in doc.workloads:
            if w.name not in by_workload:
                order.append(w.name)
                by_workload[w.name] = []
            by_workload[w.name].append(w)
    merged: list[WorkloadResult] = []
    for name in order:
        parts = by_workload[name]
        metric_order: list[str] = []
        metrics: dict[str, Metric] = {}
        for part in parts:
            for m in part.metrics:
                prior = metrics.get(m.name)
                if prior is None:
                    metric_order.append(m.name)
                    metrics[m.name] = m
                    continue
                for attr in ("unit", "direction", "kind", "scale", "tolerance", "error_factor"):
                    if getattr(prior, attr) != getattr(m, attr):
                        raise ResultDocumentError(
                            f"{name}/{m.name}.{attr}",
                            "replicates disagree: "
                            f"{getattr(prior, attr)!r} vs {getattr(m, attr)!r}",
                        )
                clash = set(prior.replicates) & set(m.replicates)
                if clash:
                    raise ResultDocumentError(
                        f"{name}/{m.name}.samples", f"replicate {sorted(clash)[0]!r} appears twice"
                    )
                metrics[m.name] = Metric(
                    name=prior.name,
                    unit=prior.unit,
                    direction=prior.direction,
                    kind=prior.kind,
                    scale=prior.scale,
                    tolerance=prior.tolerance,
                    error_factor=prior.error_factor,
                    description=prior.description,
                    samples=prior.samples + m.samples,
                )
        failed = [p for p in parts if p.status == "failed"]
        skipped = [p for p in parts if p.status == "skipped"]
        if skipped and len(skipped) < len(parts) and not failed:
            # Replicates of one platform disagree on whether the workload applies.
            raise ResultDocumentError(
                f"{name}.status",
                f"skipped in {len(skipped)} of {len(parts)} replicates "
                f"({skipped[0].error.message if skipped[0].error else 'no reason'})",
            )
        status: WorkloadStatus = "failed" if failed else "skipped" if skipped else "ok"
        merged.append(
            WorkloadResult(
                name=name,
                size=parts[0].size,
                status=status,
                duration_seconds=sum(p.duration_seconds for p in parts),
                metrics=tuple(metrics[n] for n in metric_order),
                error=failed[0].error if failed else skipped[0].error if skipped else None,
            )
        )
    first = docs[0]
    return ResultDocument(
        schema_version=first.schema_version,
        run=first.run,
        workloads=tuple(merged),
        fingerprint=first.fingerprint,
        errors=tuple(e for d in docs for e in d.errors),
    )


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the document, for tools outside benchgate."""
    number = {"type": "number"}
    exact = {"type": ["string", "boolean", "integer"]}
    field_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["status"],
        "properties": {
            "value": {},
            "status": {"type": "string", "pattern": "^(ok|not_supported|unavailable|error:.*)$"},
            "source": {"type": "string"},
        },
    }
    metric = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "unit", "direction", "samples"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
            "unit": {"type": "string"},
            "direction": {"enum": sorted(DIRECTIONS)},
            "kind": {"enum": sorted(KINDS)},
            "scale": {"enum": sorted(SCALES)},
            "tolerance": {"type": "number", "minimum": 0},
            "errorFactor": {"type": "number", "minimum": 1},
            "description": {"type": "string"},
            "samples": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["replicate", "values"],
                    "properties": {
                        "replicate": {"type": "string", "minLength": 1},
                        "values": {"type": "array", "items": {"anyOf": [number, exact]}},
                    },
                },
            },
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://benchgate.dev/schemas/result/v1.json",
        "title": "benchgate result document",
        "type": "object",
        "additionalProperties": False,
        "required": ["schemaVersion", "workloads"],
        "properties": {
            "schemaVersion": {"const": SCHEMA_VERSION},
            "run": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    k: {"type": "string"}
                    for k in ("suite", "run", "platform", "replicate", "startedAt", "finishedAt")
                },
            },
            "workloads": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "status"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "size": {"type": "string"},
                        "status": {"enum": ["ok", "failed", "skipped"]},
                        "durationSeconds": number,
                        "metrics": {"type": "array", "items": metric},
                        "error": {
                            "oneOf": [
                                {"type": "null"},
                                {
                                    "type": "object",
                                    "required": ["type", "message"],
                                    "properties": {
                                        "type": {"type": "string"},
                                        "message": {"type": "string"},
                                    },
                                },
                            ]
                        },
                    },
                },
            },
            "errors": {"type": "array"},
            "fingerprint": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": field_schema,
                },
            },
        },
    }
