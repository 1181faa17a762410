"""A corpus of bad result documents: which layer refuses each, and that it names the field.

Three layers stand between a document and a verdict:
- parser  (api/result.py: bounded decoding, then the typed model) refuses what breaks the
          contract, with the field's path;
- fitness (domain/fitness.py) refuses, as a baseline, a valid document the engine could
          not judge later runs against;
- engine  (domain/verdict.py) calls a metric Invalid when a valid candidate cannot be
          compared with a usable baseline.
Valid edge cases (every limit met exactly) must pass all three. The JSON Schema printed
by `benchgate schema` must accept every valid document and reject the bad ones a schema
can express; the others are marked, and say why.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from benchgate.api.result import (
    MAX_DOCUMENT_BYTES,
    MAX_NESTING_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_SAMPLES_PER_METRIC,
    ResultDocumentError,
    dumps,
    json_schema,
    loads,
)
from benchgate.cli import main
from benchgate.domain.fitness import baseline_problems
from benchgate.domain.verdict import compare_documents

VERSION = "benchgate.dev/result/v1"


def base() -> dict[str, Any]:
    """A usable document: one continuous, one exact and one error metric, 3 replicates."""
    reps = ("proc-0", "proc-1", "proc-2")
    times = ([1.00, 1.02], [1.05, 1.01], [0.98, 1.03])
    return {
        "schemaVersion": VERSION,
        "run": {"suite": "s", "run": "r", "platform": "p", "replicate": ""},
        "workloads": [
            {
                "name": "w",
                "size": "tiny",
                "status": "ok",
                "durationSeconds": 1.5,
                "metrics": [
                    {
                        "name": "t",
                        "unit": "s",
                        "direction": "lower",
                        "kind": "continuous",
                        "scale": "ratio",
                        "tolerance": 0.05,
                        "samples": [
                            {"replicate": r, "values": v} for r, v in zip(reps, times, strict=True)
                        ],
                    },
                    {
                        "name": "sha",
                        "unit": "hex",
                        "direction": "equal",
                        "kind": "exact",
                        "samples": [{"replicate": r, "values": ["ab12", "ab12"]} for r in reps],
                    },
                    {
                        "name": "err",
                        "unit": "1",
                        "direction": "lower",
                        "kind": "error",
                        "scale": "linear",
                        "samples": [{"replicate": r, "values": [1e-7, 1e-7]} for r in reps],
                    },
                ],
            }
        ],
        "errors": [],
        "fingerprint": {"driver": {"driver_version": {"value": "550", "status": "ok"}}},
    }


Mutation = Callable[[dict[str, Any]], Any]


def text_of(mutate: Mutation) -> str | bytes:
    raw = base()
    result = mutate(raw)
    if isinstance(result, str | bytes):
        return result
    return json.dumps(raw)


def metric(raw: dict[str, Any], i: int = 0) -> dict[str, Any]:
    m: dict[str, Any] = raw["workloads"][0]["metrics"][i]
    return m


def values(raw: dict[str, Any], i: int = 0, rep: int = 0) -> list[Any]:
    v: list[Any] = metric(raw, i)["samples"][rep]["values"]
    return v


def nested(levels: int) -> str:
    """A document whose fingerprint value nests so that the deepest array sits at
    `levels` (the document is level 1, fingerprint 2, group 3, field 4)."""
    inner = levels - 4
    value = "[" * inner + "1" + "]" * inner
    doc = json.dumps(base())
    return doc.replace('"value": "550"', f'"value": {value}')


@dataclass(frozen=True)
class Bad:
    id: str
    mutate: Mutation
    layer: str  # parser | fitness | engine
    path: str  # parser: the exact path; fitness: the Unfit path; engine: the metric key
    says: str  # part of the message
    schema: bool | None = None  # parser cases: does the JSON Schema reject it too?
    # None: not decodable by a plain JSON parser (a schema validator never sees it).


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    target[key] = value


def _pop(target: dict[str, Any], key: str) -> None:
    del target[key]


M0 = "workloads[0].metrics[0]"
V00 = f"{M0}.samples[0].values[0]"

BAD: list[Bad] = [
    # --- parser: decoding
    Bad("not-json", lambda r: "{]", "parser", "document", "is not valid JSON", None),
    Bad("not-utf8", lambda r: b'{"schemaVersion": "\xff"}', "parser", "document", "UTF-8", None),
    Bad("top-level-array", lambda r: "[]", "parser", "document", "must be an object", True),
    Bad(
        "nan",
        lambda r: json.dumps(r).replace("1.02", "NaN", 1),
        "parser",
        f"{M0}.samples[0].values[1]",
        "NaN is not allowed",
        None,
    ),
    Bad(
        "infinity",
        lambda r: json.dumps(r).replace("1.02", "-Infinity", 1),
        "parser",
        f"{M0}.samples[0].values[1]",
        "-Infinity is not allowed",
        None,
    ),
    Bad(
        "float-overflow",
        lambda r: json.dumps(r).replace("1.02", "1e999", 1),
        "parser",
        f"{M0}.samples[0].values[1]",
        "beyond the range of a float64",
        None,
    ),
    Bad(
        "5000-digit-int",
        lambda r: json.dumps(r).replace("1.02", "7" * 5000, 1),
        "parser",
        f"{M0}.samples[0].values[1]",
        "written with 5000 characters",
        None,
    ),
    Bad(
        "41-char-number",
        lambda r: json.dumps(r).replace("1.02", "1." + "0" * (MAX_NUMBER_CHARS - 1), 1),
        "parser",
        f"{M0}.samples[0].values[1]",
        f"at most {MAX_NUMBER_CHARS} are allowed",
        False,
    ),
    Bad(
        "100000-deep",
        lambda r: '{"schemaVersion": "' + VERSION + '", "workloads": ' + "[" * 100_000,
        "parser",
        "workloads" + "[0]" * 9 + "...",
        f"deeper than {MAX_NESTING_DEPTH} levels",
        None,
    ),
    Bad(
        "one-level-too-deep",
        lambda r: nested(MAX_NESTING_DEPTH + 1),
        "parser",
        "fingerprint.driver.driver_version.value[0][0][0][0][0][0]...",
        f"deeper than {MAX_NESTING_DEPTH} levels",
        False,
    ),
    Bad(
        "repeated-key",
        lambda r: json.dumps(r).replace('"unit": "s"', '"unit": "s", "unit": "ms"', 1),
        "parser",
        f"{M0}.unit",
        "appears twice",
        False,
    ),
    Bad(
        "oversized",
        lambda r: r["fingerprint"].update(
            pad={f"f{i}": {"value": "p" * 4000, "status": "ok"} for i in range(240)}
        ),
        "parser",
        "document",
        "over the limit",
        False,  # every part is within its own limits: only the total is too large
    ),
    # --- parser: the envelope
    Bad(
        "no-version",
        lambda r: _pop(r, "schemaVersion"),
        "parser",
        "schemaVersion",
        "required",
        True,
    ),
    Bad(
        "future-version",
        lambda r: _set(r, "schemaVersion", "benchgate.dev/result/v9"),
        "parser",
        "schemaVersion",
        "unsupported version",
        True,
    ),
    Bad(
        "version-number",
        lambda r: _set(r, "schemaVersion", 1),
        "parser",
        "schemaVersion",
        "string",
        True,
    ),
    Bad("no-workloads", lambda r: _pop(r, "workloads"), "parser", "workloads", "required", True),
    Bad(
        "workloads-object", lambda r: _set(r, "workloads", {}), "parser", "workloads", "array", True
    ),
    Bad(
        "unknown-top-field", lambda r: _set(r, "extra", 1), "parser", "extra", "unknown field", True
    ),
    Bad(
        "run-field-number",
        lambda r: _set(r["run"], "suite", 7),
        "parser",
        "run.suite",
        "must be a string, got number",
        True,
    ),
    # --- parser: workloads
    Bad(
        "workload-no-name",
        lambda r: _pop(r["workloads"][0], "name"),
        "parser",
        "workloads[0].name",
        "required",
        True,
    ),
    Bad(
        "workload-bad-status",
        lambda r: _set(r["workloads"][0], "status", "done"),
        "parser",
        "workloads[0].status",
        "must be one of",
        True,
    ),
    Bad(
        "failed-without-error",
        lambda r: _set(r["workloads"][0], "status", "failed"),
        "parser",
        "workloads[0].error",
        "is required when status is 'failed'",
        True,
    ),
    Bad(
        "skipped-with-metrics",
        lambda r: r["workloads"][0].update(
            status="skipped", error={"type": "Skip", "message": "x"}
        ),
        "parser",
        "workloads[0].metrics",
        "must be empty",
        True,
    ),
    Bad(
        "duplicate-workload",
        lambda r: r["workloads"].append(copy.deepcopy(r["workloads"][0])),
        "parser",
        "workloads[1].name",
        "duplicate workload name 'w'",
        False,
    ),
    Bad(
        "negative-duration",
        lambda r: _set(r["workloads"][0], "durationSeconds", -1),
        "parser",
        "workloads[0].durationSeconds",
        "must be >= 0",
        True,
    ),
    # --- parser: metrics
    Bad(
        "snake-case-field",
        lambda r: _set(metric(r, 2), "error_factor", 2),
        "parser",
        "workloads[0].metrics[2].error_factor",
        "unknown field (known: name, unit",
        True,
    ),
    Bad(
        "bad-direction",
        lambda r: _set(metric(r), "direction", "up"),
        "parser",
        f"{M0}.direction",
        "must be one of",
        True,
    ),
    Bad(
        "exact-not-equal",
        lambda r: _set(metric(r, 1), "direction", "lower"),
        "parser",
        "workloads[0].metrics[1].direction",
        "exact metrics must use 'equal'",
        True,
    ),
    Bad(
        "continuous-equal",
        lambda r: _set(metric(r), "direction", "equal"),
        "parser",
        f"{M0}.direction",
        "'equal' needs kind 'exact'",
        True,
    ),
    Bad(
        "string-sample",
        lambda r: values(r).__setitem__(0, "fast"),
        "parser",
        V00,
        "must be a number, got string",
        True,
    ),
    Bad(
        "bool-sample",
        lambda r: values(r).__setitem__(0, True),
        "parser",
        V00,
        "must be a number, got boolean",
        True,
    ),
    Bad(
        "fractional-exact",
        lambda r: values(r, 1).__setitem__(0, 1.5),
        "parser",
        "workloads[0].metrics[1].samples[0].values[0]",
        "exact metrics take strings, booleans or integers",
        True,
    ),
    Bad(
        "object-sample",
        lambda r: values(r).__setitem__(0, {"v": 1}),
        "parser",
        V00,
        "must be a number, string or boolean, got object",
        True,
    ),
    Bad(
        "duplicate-replicate",
        lambda r: _set(metric(r)["samples"][1], "replicate", "proc-0"),
        "parser",
        f"{M0}.samples[1].replicate",
        "duplicate replicate 'proc-0'",
        False,
    ),
    Bad(
        "duplicate-metric",
        lambda r: _set(metric(r, 2), "name", "t"),
        "parser",
        "workloads[0].metrics[2].name",
        "duplicate metric name 't'",
        False,
    ),
    Bad(
        "tolerance-over-10",
        lambda r: _set(metric(r), "tolerance", 11),
        "parser",
        f"{M0}.tolerance",
        "must be <= 10",
        True,
    ),
    Bad(
        "tolerance-string",
        lambda r: _set(metric(r), "tolerance", "5%"),
        "parser",
        f"{M0}.tolerance",
        "must be a number",
        True,
    ),
    Bad(
        "error-factor-below-1",
        lambda r: _set(metric(r, 2), "errorFactor", 0.5),
        "parser",
        "workloads[0].metrics[2].errorFactor",
        "must be >= 1",
        True,
    ),
    Bad(
        "unit-over-64-bytes",
        lambda r: _set(metric(r), "unit", "é" * 33),
        "parser",
        f"{M0}.unit",
        "66 bytes long; at most 64",
        False,  # 33 characters: within the schema's character count
    ),
    Bad(
        "name-empty",
        lambda r: _set(metric(r), "name", ""),
        "parser",
        f"{M0}.name",
        "must not be empty",
        True,
    ),
    Bad(
        "replicate-over-128",
        lambda r: _set(metric(r)["samples"][0], "replicate", "r" * 129),
        "parser",
        f"{M0}.samples[0].replicate",
        "at most 128 bytes",
        True,
    ),
    Bad(
        "too-many-samples",
        lambda r: _set(metric(r)["samples"][0], "values", [1.0] * (MAX_SAMPLES_PER_METRIC + 1)),
        "parser",
        f"{M0}.samples[0].values",
        f"at most {MAX_SAMPLES_PER_METRIC} are allowed",
        True,
    ),
    Bad(
        "too-many-samples-together",
        lambda r: [
            _set(g, "values", [1.0] * (MAX_SAMPLES_PER_METRIC // 2)) for g in metric(r)["samples"]
        ],
        "parser",
        f"{M0}.samples",
        f"more than {MAX_SAMPLES_PER_METRIC} values in all replicates",
        False,
    ),
    # --- parser: fingerprint and errors
    Bad(
        "fingerprint-no-status",
        lambda r: _pop(r["fingerprint"]["driver"]["driver_version"], "status"),
        "parser",
        "fingerprint.driver.driver_version.status",
        "is required",
        True,
    ),
    Bad(
        "fingerprint-bad-status",
        lambda r: _set(r["fingerprint"]["driver"]["driver_version"], "status", "fine"),
        "parser",
        "fingerprint.driver.driver_version.status",
        "must be 'ok', 'not_supported', 'unavailable' or 'error: <message>'",
        True,
    ),
    Bad(
        "fingerprint-field-not-object",
        lambda r: _set(r["fingerprint"]["driver"], "driver_version", "550"),
        "parser",
        "fingerprint.driver.driver_version",
        "must be an object, got string",
        True,
    ),
    Bad(
        "error-entry-no-type",
        lambda r: r["errors"].append({"message": "boom"}),
        "parser",
        "errors[0].type",
        "is required",
        True,
    ),
    # --- fitness: parses, but cannot be a baseline
    Bad(
        "one-replicate",
        lambda r: metric(r)["samples"].__delitem__(slice(1, None)),
        "fitness",
        M0,
        "baseline has 1 replicate(s); run at least 3",
    ),
    Bad(
        "zero-samples",
        lambda r: [_set(g, "values", []) for g in metric(r)["samples"]],
        "fitness",
        M0,
        "baseline has 0 replicate(s)",
    ),
    Bad(
        "all-identical",
        lambda r: [_set(g, "values", [2.5, 2.5]) for g in metric(r)["samples"]],
        "fitness",
        M0,
        "every replicate summary of the baseline is identical (2.5)",
    ),
    Bad(
        "negative-times",
        lambda r: [_set(g, "values", [-v for v in g["values"]]) for g in metric(r)["samples"]],
        "fitness",
        M0,
        "a ratio-scale metric must be > 0",
    ),
    Bad(
        "exact-not-reproducible",
        lambda r: values(r, 1).__setitem__(0, "ff00"),
        "fitness",
        "workloads[0].metrics[1]",
        "2 distinct values",
    ),
    Bad(
        "exact-no-values",
        lambda r: [_set(g, "values", []) for g in metric(r, 1)["samples"]],
        "fitness",
        "workloads[0].metrics[1]",
        "baseline has no values",
    ),
    Bad(
        "negative-error",
        lambda r: values(r, 2).__setitem__(0, -1e-7),
        "fitness",
        "workloads[0].metrics[2]",
        "error metrics must be >= 0",
    ),
    Bad(
        "failed-workload",
        lambda r: r["workloads"][0].update(
            status="failed", error={"type": "RuntimeError", "message": "CUDA error"}
        ),
        "fitness",
        "workloads[0]",
        "the workload failed (RuntimeError: CUDA error)",
    ),
    Bad("no-metrics", lambda r: _set(r, "workloads", []), "fitness", "workloads", "no metric"),
    Bad(
        "linear-centre-zero",
        lambda r: [
            _set(metric(r), "scale", "linear"),
            *(
                _set(g, "values", [v, v])
                for g, v in zip(metric(r)["samples"], (-1, 0, 1), strict=True)
            ),
        ],
        "fitness",
        M0,
        "baseline centre is 0",
    ),
    # --- engine: a usable baseline, a candidate the engine cannot compare with it
    Bad("unit-differs", lambda r: _set(metric(r), "unit", "ms"), "engine", "w/t", "unit differs"),
    Bad(
        "scale-differs",
        lambda r: _set(metric(r), "scale", "linear"),
        "engine",
        "w/t",
        "scale differs",
    ),
    Bad(
        "candidate-too-few",
        lambda r: metric(r)["samples"].__delitem__(slice(2, None)),
        "engine",
        "w/t",
        "candidate has 2 replicate(s)",
    ),
    Bad(
        "candidate-missing-metric",
        lambda r: r["workloads"][0]["metrics"].pop(0),
        "engine",
        "w/t",
        "missing from the candidate",
    ),
    Bad(
        "candidate-workload-failed",
        lambda r: r["workloads"][0].update(
            status="failed", error={"type": "OOM", "message": "killed"}
        ),
        "engine",
        "w/t",
        "candidate workload failed: OOM: killed",
    ),
]


def _decodable(text: str | bytes) -> Any:
    """The JSON a schema validator would see, or None where a plain parser cannot decode
    it (bounded out of Python's reach, or not JSON at all)."""
    try:
        return json.loads(text, parse_constant=lambda c: float(c))
    except (ValueError, RecursionError):
        return None


@functools.cache
def printed_schema() -> dict[str, Any]:
    """What `benchgate schema` prints: the schema other tools will validate with."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["schema"]) == 0
    schema: dict[str, Any] = json.loads(out.getvalue())
    assert schema == json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _schema_rejects(raw: Any) -> bool:
    try:
        jsonschema.validate(raw, printed_schema())
    except jsonschema.ValidationError:
        return True
    return False


def test_the_corpus_is_big_enough_and_covers_every_layer() -> None:
    layers = [b.layer for b in BAD]
    assert len(BAD) >= 30 and len({b.id for b in BAD}) == len(BAD)
    assert {layer: layers.count(layer) for layer in set(layers)}.keys() == {
        "parser",
        "fitness",
        "engine",
    }


@pytest.mark.parametrize("case", BAD, ids=[b.id for b in BAD])
def test_each_bad_document_is_refused_by_its_layer_naming_the_field(case: Bad) -> None:
    text = text_of(case.mutate)
    if case.layer == "parser":
        with pytest.raises(ResultDocumentError) as info:
            loads(text)
        assert info.value.path == case.path, str(info.value)
        assert case.says in info.value.message, str(info.value)
        return
    doc = loads(text)  # valid: a later layer refuses it
    problems = baseline_problems(doc)
    if case.layer == "fitness":
        assert problems, f"{case.id} should not be usable as a baseline"
        assert problems[0].path == case.path, problems
        assert case.says in problems[0].reason, problems[0].reason
        return
    usable = loads(json.dumps(base()))
    assert not baseline_problems(usable)
    judged = {m.key: m for m in compare_documents(usable, doc).metrics}
    assert judged[case.path].verdict == "Invalid", judged[case.path]
    assert case.says in judged[case.path].reason, judged[case.path].reason


@pytest.mark.parametrize("case", BAD, ids=[b.id for b in BAD])
def test_the_json_schema_rejects_what_it_can_express(case: Bad) -> None:
    raw = _decodable(text_of(case.mutate))
    if case.layer != "parser":
        assert raw is not None and not _schema_rejects(raw), "a valid document fits the schema"
        return
    if case.schema is None:
        assert raw is None or case.id in ("nan", "infinity", "float-overflow", "5000-digit-int")
        return
    assert raw is not None
    assert _schema_rejects(raw) == case.schema, (
        f"{case.id}: the JSON Schema {'should' if case.schema else 'cannot'} reject it"
    )


def _exactly_at_the_limits() -> str:
    """Every limit met, none passed: names, units, samples, strings, numbers, depth, size."""
    raw = base()
    m = metric(raw)
    m["name"] = "é" * 64  # 128 bytes in UTF-8
    m["unit"] = "u" * 64
    m["description"] = "d" * 1024
    m["tolerance"] = 10
    m["samples"][0]["values"] = [1.0] * (MAX_SAMPLES_PER_METRIC - 4)  # 10 000 in all
    for g in metric(raw, 1)["samples"]:
        g["values"] = ["c" * 4096] * 2
    metric(raw, 2)["errorFactor"] = 1000
    deepest = json.loads(nested(MAX_NESTING_DEPTH))["fingerprint"]["driver"]["driver_version"]
    raw["fingerprint"]["driver"]["driver_version"] = deepest
    raw["fingerprint"]["big"] = {"n": {"value": int("9" * MAX_NUMBER_CHARS), "status": "ok"}}
    room = MAX_DOCUMENT_BYTES - len(json.dumps(raw).encode()) - 200
    raw["fingerprint"]["pad"] = {
        f"f{i}": {"value": "p" * 4000, "status": "ok"} for i in range(room // 4040)
    }
    return json.dumps(raw)


def _with(mutate: Mutation) -> Callable[[], str]:
    def text() -> str:
        raw = base()
        mutate(raw)
        return json.dumps(raw)

    return text


GOOD: dict[str, Callable[[], str]] = {
    "base": _with(lambda r: None),
    "kind-omitted-is-continuous": _with(lambda r: _pop(metric(r), "kind")),
    "exact-integral-float": _with(
        lambda r: [_set(g, "values", [3.0, 3]) for g in metric(r, 1)["samples"]]
    ),
    "skipped-workload": _with(
        lambda r: r["workloads"].append(
            {"name": "coll", "status": "skipped", "error": {"type": "Skip", "message": "1 GPU"}}
        )
    ),
    "every-limit-met-exactly": _exactly_at_the_limits,
}


@pytest.mark.parametrize("name", list(GOOD))
def test_valid_edge_cases_are_accepted_round_trip_and_fit_the_schema(name: str) -> None:
    text = GOOD[name]()
    assert len(text.encode()) <= MAX_DOCUMENT_BYTES
    doc = loads(text)
    assert loads(dumps(doc)) == doc, "a document survives a write and a read unchanged"
    jsonschema.validate(json.loads(text), printed_schema())
    jsonschema.validate(json.loads(dumps(doc)), printed_schema())
    if name == "every-limit-met-exactly":
        assert len(text.encode()) > MAX_DOCUMENT_BYTES - 5000, "the padding reached the limit"
        assert len(doc.workloads[0].metrics[0].values) == MAX_SAMPLES_PER_METRIC
    if name == "kind-omitted-is-continuous":
        assert doc.workloads[0].metrics[0].kind == "continuous"
    if name == "exact-integral-float":
        assert doc.workloads[0].metrics[1].values[0] == 3 and isinstance(
            doc.workloads[0].metrics[1].values[0], int
        )


@pytest.mark.parametrize("case", BAD, ids=[b.id for b in BAD])
def test_compare_answers_each_bad_document_with_exit_3_naming_file_and_field(
    case: Bad, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No traceback and never exit 1 ("regressed"): 3 with the file and the field."""
    good = tmp_path / "good.json"
    good.write_text(json.dumps(base()))
    bad = tmp_path / "bad.json"
    text = text_of(case.mutate)
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    # A fitness case is a fine candidate (it may regress); only as a baseline is it bad.
    roles = {
        "parser": [("candidate", [good, bad]), ("baseline", [bad, good])],
        "fitness": [("baseline", [bad, good])],
        "engine": [("candidate", [good, bad])],
    }[case.layer]
    for role, files in roles:
        rc = main(["compare", *map(str, files)])
        out, err = capsys.readouterr()
        assert rc == 3, f"{case.id} as {role}: exit {rc}\n{out}\n{err}"
        if case.layer == "parser":
            assert f"{role} {bad}: {case.path}: " in err, err
        elif case.layer == "fitness":
            assert f"baseline {bad} cannot serve as a baseline: {case.path}" in err, err
        else:
            assert "Verdict: Invalid" in out, out
