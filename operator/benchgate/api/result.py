"""The result document: the versioned contract between workloads and the operator.

A verification workload prints one document to stdout between marker lines; the operator
reads it from the pod log through the API and `benchgate compare` reads it from a file.
This module is pure (no Kubernetes, no torch) and strict: anything unexpected is rejected
with a `ResultDocumentError` that names the offending field, so that a malformed document
fails its run and never the reader.

The contract is written once, as the typed model in `benchgate.api.result_model`; this
module reads (bounded decoding, then the model), writes, merges and describes it
(`json_schema()`; `docs/result-document.md` is generated from the same model by
`benchgate schema --format markdown`).

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

Versions: `schemaVersion` selects a reader in `READERS`. Each reader turns its version
into the current model, so a new version adds a model and a reader for the one before it,
and every earlier version stays readable (docs/result-document.md, "Versions").
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from benchgate.api.result_errors import (
    RejectedToken,
    ResultDocumentError,
    from_validation,
    json_type,
)
from benchgate.api.result_json import decode
from benchgate.api.result_model import (
    DIRECTIONS,
    FIELD_STATUSES,
    KIND_RULES,
    KINDS,
    MAX_DOCUMENT_BYTES,
    MAX_EXACT_VALUE_BYTES,
    MAX_FINGERPRINT_STRING_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_NAME_LENGTH,
    MAX_NESTING_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_OUTPUT_VALUES,
    MAX_PREDICTION_INPUTS,
    MAX_SAMPLES_PER_METRIC,
    MAX_VALUE_DEPTH,
    MODEL_CLASSES,
    SCALES,
    SCHEMA_VERSION,
    SCHEMA_VERSION_V1,
    V2_KINDS,
    DocumentError,
    ExactValue,
    FieldStatus,
    Fingerprint,
    FingerprintField,
    Metric,
    MetricKind,
    Outputs,
    ReplicateSamples,
    ResultDocument,
    RunIdentity,
    SampleValue,
    Scale,
    WorkloadError,
    WorkloadResult,
    WorkloadStatus,
    json_names,
)

__all__ = [
    "BEGIN_MARKER",
    "DIRECTIONS",
    "END_MARKER",
    "FIELD_STATUSES",
    "KINDS",
    "KIND_RULES",
    "MAX_DOCUMENT_BYTES",
    "MAX_EXACT_VALUE_BYTES",
    "MAX_FINGERPRINT_STRING_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_NAME_LENGTH",
    "MAX_NESTING_DEPTH",
    "MAX_NUMBER_CHARS",
    "MAX_OUTPUT_VALUES",
    "MAX_PREDICTION_INPUTS",
    "MAX_SAMPLES_PER_METRIC",
    "MAX_VALUE_DEPTH",
    "READERS",
    "SCALES",
    "SCHEMA_VERSION",
    "SCHEMA_VERSION_V1",
    "SUPPORTED_SCHEMA_VERSIONS",
    "V2_KINDS",
    "DocumentError",
    "ExactValue",
    "FieldStatus",
    "Fingerprint",
    "FingerprintField",
    "Metric",
    "MetricKind",
    "Outputs",
    "ReplicateSamples",
    "ResultDocument",
    "ResultDocumentError",
    "RunIdentity",
    "SampleValue",
    "Scale",
    "WorkloadError",
    "WorkloadResult",
    "WorkloadStatus",
    "clip",
    "document_to_dict",
    "dumps",
    "extract_from_log",
    "json_schema",
    "loads",
    "merge_documents",
    "parse_document",
]

BEGIN_MARKER: Final = "-----BEGIN BENCHGATE RESULT-----"
END_MARKER: Final = "-----END BENCHGATE RESULT-----"

_DOCUMENT: Final = TypeAdapter(ResultDocument)

# --------------------------------------------------------------------------- reading


def _read_v2(raw: Mapping[str, Any]) -> ResultDocument:
    try:
        return _DOCUMENT.validate_python(raw, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise from_validation(exc) from exc


def _read_v1(raw: Mapping[str, Any]) -> ResultDocument:
    """Version 1 is version 2 without what v2 added (the `distribution` kind and its
    `outputs`), so the v2 model reads it once those are refused."""
    workloads = raw.get("workloads")
    for i, workload in enumerate(workloads if isinstance(workloads, list) else ()):
        metrics = workload.get("metrics") if isinstance(workload, dict) else None
        for j, metric in enumerate(metrics if isinstance(metrics, list) else ()):
            if not isinstance(metric, dict):
                continue
            at = f"workloads[{i}].metrics[{j}]"
            if metric.get("kind") in V2_KINDS:
                raise ResultDocumentError(
                    f"{at}.kind",
                    f"{metric['kind']!r} needs schemaVersion {SCHEMA_VERSION!r} "
                    f"(version 1 knows {', '.join(k for k in KINDS if k not in V2_KINDS)})",
                )
            if "outputs" in metric:
                raise ResultDocumentError(
                    f"{at}.outputs", f"unknown field in version 1 (added in {SCHEMA_VERSION!r})"
                )
    return _read_v2(raw)


# schemaVersion -> reader returning the current model. Each new version keeps a reader
# for every earlier one, which turns it into the current model (docs, "Versions").
READERS: Final[Mapping[str, Callable[[Mapping[str, Any]], ResultDocument]]] = {
    SCHEMA_VERSION_V1: _read_v1,
    SCHEMA_VERSION: _read_v2,
}
SUPPORTED_SCHEMA_VERSIONS: Final = frozenset(READERS)


def parse_document(raw: Any) -> ResultDocument:
    """Validate a decoded JSON value and build a `ResultDocument`."""
    if not isinstance(raw, dict):
        raise ResultDocumentError("document", f"must be an object, got {json_type(raw)}")
    if "schemaVersion" not in raw:
        raise ResultDocumentError("schemaVersion", "is required")
    version = raw["schemaVersion"]
    if isinstance(version, RejectedToken):
        raise ResultDocumentError("schemaVersion", version.message)
    if not isinstance(version, str):
        raise ResultDocumentError("schemaVersion", f"must be a string, got {json_type(version)}")
    reader = READERS.get(version)
    if reader is None:
        raise ResultDocumentError(
            "schemaVersion",
            f"unsupported version {version[:80]!r}; this benchgate reads "
            f"{sorted(SUPPORTED_SCHEMA_VERSIONS)}",
        )
    return reader(raw)


def loads(text: str | bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> ResultDocument:
    """Parse JSON text strictly: size-, depth- and number-bounded, no NaN/Infinity,
    no repeated keys, schema-checked. Raises ResultDocumentError and nothing else."""
    return parse_document(decode(text, max_bytes=max_bytes))


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


def document_to_dict(doc: ResultDocument) -> dict[str, Any]:
    """The JSON form: camelCase names, every field written (null where unset), except
    a metric's `outputs` where unset."""
    out: dict[str, Any] = _DOCUMENT.dump_python(doc, by_alias=True, mode="json")
    # `outputs` exists since v2 and only on distribution metrics: elsewhere it is left
    # out, so a v1 document reads exactly as v1 (an older reader refuses unknown fields).
    for workload in out["workloads"]:
        for metric in workload["metrics"]:
            if metric.get("outputs", 0) is None:
                del metric["outputs"]
    return out


def dumps(doc: ResultDocument, *, indent: int | None = None) -> str:
    return json.dumps(document_to_dict(doc), indent=indent, allow_nan=False)


def clip(text: str, max_bytes: int = MAX_MESSAGE_BYTES) -> str:
    """The end of `text` within `max_bytes` UTF-8 bytes (tracebacks end with the cause)."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    return data[-max_bytes:].decode("utf-8", "ignore")


# --------------------------------------------------------------------------- merging


def merge_documents(docs: Iterable[ResultDocument]) -> ResultDocument:
    """Combine documents from several replicates (pods or processes) of one run.

    Metrics with the same workload and name are merged replicate by replicate; metadata
    (unit, direction, kind, tolerance) must agree, or the merge fails naming the metric.
    The first document's identity and fingerprint are kept; errors are concatenated. The
    merged document obeys the same limits as each part (it is stored and read again).
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
        first_seen: dict[str, Metric] = {}
        samples: dict[str, list[ReplicateSamples]] = {}
        replicates: dict[str, set[str]] = {}
        for part in parts:
            for m in part.metrics:
                prior = first_seen.get(m.name)
                if prior is None:
                    metric_order.append(m.name)
                    first_seen[m.name] = m
                    samples[m.name] = list(m.samples)
                    replicates[m.name] = set(m.replicates)
                    continue
                for attr in ("unit", "direction", "kind", "scale", "tolerance", "error_factor"):
                    if getattr(prior, attr) != getattr(m, attr):
                        raise ResultDocumentError(
                            f"{name}/{m.name}.{attr}",
                            "replicates disagree: "
                            f"{getattr(prior, attr)!r} vs {getattr(m, attr)!r}",
                        )
                if prior.outputs is not None and m.outputs is not None:
                    # Replicates of one run ran one model on one input set; the first
                    # replicate's outputs are kept, the others' hashes are in samples.
                    for attr in ("input_set", "model", "inputs", "width"):
                        if getattr(prior.outputs, attr) != getattr(m.outputs, attr):
                            raise ResultDocumentError(
                                f"{name}/{m.name}.outputs.{attr}",
                                "replicates disagree: "
                                f"{getattr(prior.outputs, attr)!r} vs {getattr(m.outputs, attr)!r}",
                            )
                clash = replicates[m.name] & set(m.replicates)
                if clash:
                    raise ResultDocumentError(
                        f"{name}/{m.name}.samples", f"replicate {sorted(clash)[0]!r} appears twice"
                    )
                samples[m.name] += m.samples
                replicates[m.name] |= set(m.replicates)
        # Each merged metric is built (and validated) once, from all its replicates.
        metrics = {
            n: _with_samples(first_seen[n], tuple(samples[n]), name)
            if len(samples[n]) > len(first_seen[n].samples)
            else first_seen[n]
            for n in metric_order
        }
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


def _with_samples(metric: Metric, samples: tuple[ReplicateSamples, ...], workload: str) -> Metric:
    try:
        return Metric(
            name=metric.name,
            unit=metric.unit,
            direction=metric.direction,
            kind=metric.kind,
            scale=metric.scale,
            tolerance=metric.tolerance,
            error_factor=metric.error_factor,
            description=metric.description,
            samples=samples,
            outputs=metric.outputs,
        )
    except ResultDocumentError as exc:
        raise ResultDocumentError(f"{workload}/{metric.name}.{exc.path}", exc.message) from exc


# ------------------------------------------------------------------------ JSON Schema

# Workload status rules, in the validator's words (WorkloadResult._status_rules).
_STATUS_RULES: Final = [
    {
        "if": {"properties": {"status": {"enum": ["failed", "skipped"]}}, "required": ["status"]},
        "then": {"required": ["error"], "properties": {"error": {"type": "object"}}},
    },
    {
        "if": {"properties": {"status": {"const": "skipped"}}, "required": ["status"]},
        "then": {"properties": {"metrics": {"maxItems": 0}}},
    },
]


def _kind_rules_schema() -> list[dict[str, Any]]:
    """KIND_RULES as JSON Schema if/then clauses (a metric without `kind` is continuous)."""
    default_kind = Metric.JSON_DEFAULTS["kind"]
    clauses: list[dict[str, Any]] = []
    for kind, rule in KIND_RULES.items():
        condition: dict[str, Any] = {"properties": {"kind": {"const": kind}}}
        if kind != default_kind:
            condition["required"] = ["kind"]
        items = (
            {"type": "number"}
            if rule.values == "number"
            else {"type": ["string", "boolean", "integer"]}
        )
        then: dict[str, Any] = {
            "properties": {
                "direction": {"enum": list(rule.directions)},
                "samples": {"items": {"properties": {"values": {"items": items}}}},
                "outputs": {"type": "object"} if kind == "distribution" else {"type": "null"},
            }
        }
        if kind == "distribution":
            then["required"] = ["outputs"]
        clauses.append({"if": condition, "then": then})
    return clauses


def _strip_titles(node: Any) -> None:
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for prop in props.values():
                if isinstance(prop, dict):
                    prop.pop("title", None)
        for value in node.values():
            _strip_titles(value)
    elif isinstance(node, list):
        for value in node:
            _strip_titles(value)


def _apply_json_rules(cls: type[Any], schema: dict[str, Any]) -> None:
    required = [r for r in schema.get("required", []) if r not in cls.JSON_DEFAULTS]
    required += [r for r in cls.JSON_REQUIRED if r not in required]
    order = json_names(cls)
    schema["required"] = sorted(required, key=order.index)
    for name, default in cls.JSON_DEFAULTS.items():
        schema["properties"][name]["default"] = default
    for name in cls.JSON_REQUIRED:
        schema["properties"][name].pop("default", None)
    if cls is Metric:
        schema["allOf"] = _kind_rules_schema()
    elif cls is WorkloadResult:
        schema["allOf"] = copy.deepcopy(_STATUS_RULES)


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = _DOCUMENT.json_schema(by_alias=True, mode="validation")
    defs = schema.get("$defs", {})
    for cls in MODEL_CLASSES:
        target = schema if cls is ResultDocument else defs[cls.__name__]
        _apply_json_rules(cls, target)
    _strip_titles(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://benchgate.dev/schemas/result/v2.json",
        "title": "benchgate result document",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the document, generated from the model.

    It says everything a schema can: types, enums, required fields, string lengths (in
    characters; the parser counts UTF-8 bytes), the kind and status rules. What it cannot
    say (nesting depth, number length, unique names, document size) only the parser
    enforces; docs/result-document.md lists both.
    """
    return copy.deepcopy(_schema())
