"""The result document parser (api/result.py): strict, bounded, field-naming errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchgate.api.result import (
    BEGIN_MARKER,
    END_MARKER,
    ResultDocumentError,
    document_to_dict,
    dumps,
    extract_from_log,
    json_schema,
    loads,
    merge_documents,
    parse_document,
)


def _raw(**metric_fields: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "name": "t",
        "unit": "ms",
        "direction": "lower",
        "samples": [{"replicate": "proc-0", "values": [1.0, 1.1]}],
    }
    m.update(metric_fields)
    return {
        "schemaVersion": "benchgate.dev/result/v1",
        "run": {"suite": "s"},
        "workloads": [{"name": "w", "status": "ok", "metrics": [m]}],
        "fingerprint": {"driver": {"driver_version": {"value": "550", "status": "ok"}}},
    }


def _error(raw: Any) -> ResultDocumentError:
    with pytest.raises(ResultDocumentError) as info:
        loads(json.dumps(raw) if not isinstance(raw, str) else raw)
    return info.value


def test_round_trip() -> None:
    doc = loads(json.dumps(_raw()))
    assert loads(dumps(doc)) == doc
    assert document_to_dict(doc)["workloads"][0]["metrics"][0]["samples"][0]["values"] == [1.0, 1.1]


def test_nan_and_infinity_are_rejected() -> None:
    text = json.dumps(_raw()).replace("1.1", "NaN")
    assert "NaN" in str(_error(text))
    text = json.dumps(_raw()).replace("1.1", "Infinity")
    assert "Infinity" in str(_error(text))
    with pytest.raises(ResultDocumentError, match="must be finite"):
        parse_document(_raw(samples=[{"replicate": "p", "values": [float("inf")]}]))


def test_wrong_types_name_the_field() -> None:
    err = _error(_raw(samples=[{"replicate": "p", "values": [1.0, "x"]}]))
    assert err.path == "workloads[0].metrics[0].samples[0].values[1]"
    err = _error(_raw(samples=[{"replicate": "p", "values": [True]}]))
    assert "must be a number" in err.message
    assert _error(_raw(direction="up")).path == "workloads[0].metrics[0].direction"
    assert _error(_raw(extra=1)).path == "workloads[0].metrics[0].extra"


def test_unknown_schema_version_and_size_bound() -> None:
    raw = _raw()
    raw["schemaVersion"] = "benchgate.dev/result/v9"
    assert _error(raw).path == "schemaVersion"
    with pytest.raises(ResultDocumentError, match="over the limit"):
        loads(json.dumps(_raw()), max_bytes=50)


def test_kind_rules_and_duplicates() -> None:
    assert _error(_raw(kind="exact")).path.endswith("direction")
    raw = _raw()
    raw["workloads"][0]["metrics"][0]["samples"].append({"replicate": "proc-0", "values": [1]})
    assert "duplicate replicate" in _error(raw).message
    raw = _raw()
    raw["workloads"][0]["status"] = "failed"
    assert _error(raw).path == "workloads[0].error"


def test_markers_last_document_wins_and_missing_markers_are_an_error() -> None:
    first, second = json.dumps(_raw()), json.dumps(_raw(unit="s"))
    log = f"noise\n{BEGIN_MARKER}\n{first}\n{END_MARKER}\n{BEGIN_MARKER}\n{second}\n{END_MARKER}\n"
    doc = extract_from_log(log)
    assert doc.workloads[0].metrics[0].unit == "s"
    with pytest.raises(ResultDocumentError, match="markers"):
        extract_from_log("garbage only")


def test_merge_combines_replicates_and_refuses_disagreement() -> None:
    a = loads(json.dumps(_raw()))
    b = loads(json.dumps(_raw(samples=[{"replicate": "proc-1", "values": [1.2]}])))
    merged = merge_documents([a, b])
    assert merged.workloads[0].metrics[0].replicates == ["proc-0", "proc-1"]
    c = loads(json.dumps(_raw(unit="s", samples=[{"replicate": "proc-2", "values": [1.0]}])))
    with pytest.raises(ResultDocumentError, match="unit"):
        merge_documents([a, c])
    with pytest.raises(ResultDocumentError, match="appears twice"):
        merge_documents([a, a])


def _skipped(reason: str = "collectives needs >= 2 GPUs; this node has 1") -> dict[str, Any]:
    raw = _raw()
    raw["workloads"][0] = {
        "name": "w",
        "status": "skipped",
        "metrics": [],
        "error": {"type": "Skip", "message": reason},
    }
    return raw


def test_a_skipped_workload_says_why_and_carries_no_metrics() -> None:
    doc = loads(json.dumps(_skipped()))
    assert doc.workloads[0].status == "skipped"
    assert doc.workloads[0].error is not None and "2 GPUs" in doc.workloads[0].error.message
    no_reason = _skipped()
    del no_reason["workloads"][0]["error"]
    assert _error(no_reason).path == "workloads[0].error"
    with_metrics = _skipped()
    with_metrics["workloads"][0]["metrics"] = _raw()["workloads"][0]["metrics"]
    assert _error(with_metrics).path == "workloads[0].metrics"
    merged = merge_documents([doc, loads(json.dumps(_skipped()))])
    assert merged.workloads[0].status == "skipped"
    with pytest.raises(ResultDocumentError, match="skipped in 1 of 2 replicates"):
        merge_documents([doc, loads(json.dumps(_raw()))])


def test_json_schema_accepts_a_valid_document() -> None:
    import jsonschema

    jsonschema.validate(json.loads(dumps(loads(json.dumps(_raw())))), json_schema())


def test_building_a_document_in_python_obeys_the_same_contract() -> None:
    """Workloads build documents in Python; the same rules apply, in the same words."""
    from benchgate.api.result import Metric, ReplicateSamples

    with pytest.raises(ResultDocumentError, match=r"^direction: exact metrics must use 'equal'"):
        Metric("m", "1", "lower", "exact", (ReplicateSamples("p", ("a",)),))
    with pytest.raises(ResultDocumentError, match=r"^replicate: must not be empty"):
        ReplicateSamples("", (1.0,))
    with pytest.raises(ResultDocumentError, match=r"^values\[0\]: is an integer of more than"):
        ReplicateSamples("p", (10**100,))
    ok = Metric("m", "1", "equal", "exact", (ReplicateSamples("p", (3.0, True, "x")),))
    assert ok.values == [3, True, "x"] and type(ok.values[0]) is int


def test_merging_beyond_the_sample_limit_names_the_metric() -> None:
    from benchgate.api.result import MAX_SAMPLES_PER_METRIC

    half = MAX_SAMPLES_PER_METRIC // 2 + 1
    a = loads(json.dumps(_raw(samples=[{"replicate": "proc-0", "values": [1.0] * half}])))
    b = loads(json.dumps(_raw(samples=[{"replicate": "proc-1", "values": [1.0] * half}])))
    with pytest.raises(ResultDocumentError) as info:
        merge_documents([a, b])
    assert info.value.path == "w/t.samples" and "more than" in info.value.message


def test_decoding_is_bounded_whatever_the_text() -> None:
    """Hostile texts are refused with a ResultDocumentError (never RecursionError,
    ValueError from int(), or a hang): unterminated escapes, deep objects, long numbers."""
    for text in (
        '"' + '\\"' * 100_000,
        '{"a":' * 50_000,
        "[" * 50_000 + "]" * 50_000,
        "-" + "1" * 10_000,
        '{"schemaVersion": "benchgate.dev/result/v1", "workloads": [], "run": {"suite": '
        + '"\\u00e9' * 100
        + '"}}',
    ):
        with pytest.raises(ResultDocumentError):
            loads(text)


def test_clip_keeps_the_end_within_the_byte_limit() -> None:
    from benchgate.api.result import clip

    text = "é" * 10_000 + "the cause"
    clipped = clip(text, 1000)
    assert len(clipped.encode()) <= 1000 and clipped.endswith("the cause")
    assert clip("short") == "short"


def test_a_future_version_needs_a_reader_and_says_which_exist() -> None:
    from benchgate.api.result import READERS

    raw = _raw()
    raw["schemaVersion"] = "benchgate.dev/result/v3"
    err = _error(raw)
    assert err.path == "schemaVersion" and "benchgate.dev/result/v1" in err.message
    assert "benchgate.dev/result/v2" in err.message
    assert list(READERS) == ["benchgate.dev/result/v1", "benchgate.dev/result/v2"]
