"""The reference page of the result document, rendered from the model's JSON Schema.

`benchgate schema --format markdown` prints it and docs/result-document.md holds the
output (a test fails when the two differ), so field names, types, defaults, limits and
descriptions on the page come from the same definition the parser enforces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from benchgate.api.result import (
    BEGIN_MARKER,
    END_MARKER,
    KIND_RULES,
    MAX_DOCUMENT_BYTES,
    MAX_EXACT_VALUE_BYTES,
    MAX_FINGERPRINT_STRING_BYTES,
    MAX_NAME_LENGTH,
    MAX_NESTING_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_OUTPUT_VALUES,
    MAX_PREDICTION_INPUTS,
    MAX_SAMPLES_PER_METRIC,
    MAX_VALUE_DEPTH,
    SCHEMA_VERSION,
    SCHEMA_VERSION_V1,
    SUPPORTED_SCHEMA_VERSIONS,
    json_schema,
)

# Sections in reading order: the document first, then what it contains.
ORDER: Final = (
    "ResultDocument",
    "RunIdentity",
    "WorkloadResult",
    "WorkloadError",
    "Metric",
    "Outputs",
    "ReplicateSamples",
    "FingerprintField",
    "DocumentError",
)
_WHERE: Final = {
    "ResultDocument": "the top-level object",
    "RunIdentity": "`run`",
    "WorkloadResult": "each entry of `workloads`",
    "WorkloadError": "`workloads[].error`",
    "Metric": "each entry of `workloads[].metrics`",
    "Outputs": "`workloads[].metrics[].outputs` (distribution metrics, version 2)",
    "ReplicateSamples": "each entry of `workloads[].metrics[].samples`",
    "FingerprintField": "`fingerprint.<group>.<field>`",
    "DocumentError": "each entry of `errors`",
}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _type(node: Mapping[str, Any]) -> str:
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "const" in node:
        return f"`{node['const']}`"
    if "enum" in node:
        return " | ".join(f"`{v}`" for v in node["enum"])
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(node["anyOf"])
        shown = " or ".join(_type(o) for o in options)
        return f"{shown} or null" if nullable else shown
    kind = node.get("type")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array":
        items = node.get("items")
        return f"array of {_type(items)}" if isinstance(items, Mapping) else "array"
    if kind == "object" and isinstance(node.get("additionalProperties"), Mapping):
        return f"object: name → {_type(node['additionalProperties'])}"
    return str(kind) if kind else "any JSON value"


def _limits(node: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for option in [node, *node.get("anyOf", ())]:
        if "minLength" in option:
            parts.append(f"≥ {option['minLength']} char")
        if "maxLength" in option:
            parts.append(f"≤ {option['maxLength']} bytes")
        if "minimum" in option:
            parts.append(f"≥ {option['minimum']}")
        if "maximum" in option:
            parts.append(f"≤ {option['maximum']}")
        if "maxItems" in option:
            parts.append(f"≤ {option['maxItems']} items")
        if "pattern" in option:
            parts.append(f"pattern `{option['pattern']}`")
    return ", ".join(parts)


def _default(prop: Mapping[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:
        return "optional"
    value = prop["default"]
    shown = "null" if value is None else repr(value).replace("'", '"')
    return f"default `{shown}`"


def _object_section(name: str, schema: Mapping[str, Any]) -> list[str]:
    lines = [f"### {name}", "", f"Where: {_WHERE[name]}.", ""]
    description = str(schema.get("description", "")).strip()
    if description:
        lines += [description.split("\n\n", 1)[0].replace("\n", " "), ""]
    lines += [
        "| field | type | required / default | limits | description |",
        "|---|---|---|---|---|",
    ]
    required = set(schema.get("required", ()))
    properties = dict(schema.get("properties", {}))
    # schemaVersion is the last dataclass field (positional construction predates it),
    # but a reader meets it first.
    if "schemaVersion" in properties:
        properties = {"schemaVersion": properties.pop("schemaVersion"), **properties}
    for field, prop in properties.items():
        row = [
            f"`{field}`",
            _type(prop),
            _default(prop, field in required),
            _limits(prop),
            str(prop.get("description", "")),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    lines.append("")
    return lines


def _kind_table() -> list[str]:
    lines = [
        "| kind | direction | values | meaning |",
        "|---|---|---|---|",
    ]
    for kind, rule in KIND_RULES.items():
        values = "numbers" if rule.values == "number" else "strings, booleans or integers"
        directions = ", ".join(f"`{d}`" for d in rule.directions)
        lines.append(f"| `{kind}` | {directions} | {values} | {_cell(rule.meaning)} |")
    return lines


def render(fitness_rules: Sequence[str]) -> str:
    """The whole page; `fitness_rules` come from domain/fitness.py (the CLI passes them)."""
    schema = json_schema()
    defs = {**schema.get("$defs", {}), "ResultDocument": schema}
    kib = MAX_DOCUMENT_BYTES // 1024
    lines = [
        f"# The result document (`{SCHEMA_VERSION}`)",
        "",
        "<!-- Generated by `benchgate schema --format markdown > docs/result-document.md`"
        " from the model in operator/benchgate/api/result_model.py; do not edit by hand."
        " tests/unit/test_result_reference.py fails when this page is out of date. -->",
        "",
        "The result document is the contract between a verification workload and its "
        "readers. A workload process prints one JSON document to stdout between the lines "
        f"`{BEGIN_MARKER}` and `{END_MARKER}` (the last such block in a log wins); the "
        "operator reads it from the pod log, `benchgate compare` and `benchgate run "
        "--baseline` from files. `benchgate schema` prints its JSON Schema (draft "
        "2020-12).",
        "",
        "Readers are strict: a field they do not know, a value of the wrong type, NaN or "
        "Infinity, or anything over a limit below is refused, and the document fails its "
        "run (`ResultRejected`) or the command exits 3. Every refusal names the field the "
        "way you would write it, then says what is expected there:",
        "",
        "```",
        "workloads[0].metrics[2].samples[1].values[3]: must be a number, got string "
        "(continuous metrics take numbers)",
        "```",
        "",
        "## Versions",
        "",
        f"`schemaVersion` names the version; this benchgate reads "
        f"{', '.join(f'`{v}`' for v in sorted(SUPPORTED_SCHEMA_VERSIONS))}. A version, once "
        "released, never changes: readers refuse fields they do not know, so adding even an "
        "optional field (a per-replicate session label, a new metric kind) makes a new "
        "version. Each version has a reader that turns it into the current model, so a "
        "benchgate reads every earlier version (baselines stored months ago stay "
        "comparable). Roll out readers first: upgrade the operator and the CLI, then the "
        "workload image that writes the new version.",
        "",
        f"- `{SCHEMA_VERSION_V1}`: continuous, exact and error metrics.",
        f"- `{SCHEMA_VERSION}`: adds the `distribution` kind and its `outputs` (a model's "
        "outputs on a fixed input set, for prediction consistency). Writers use the lowest "
        "version that can hold the document: one without a distribution metric is written "
        "as v1, so an older reader still reads it. A v1 document that uses a v2 feature is "
        "refused, naming the field.",
        "",
        "## Limits",
        "",
        "| limit | value | enforced by |",
        "|---|---|---|",
        f"| document size | {kib} KiB ({MAX_DOCUMENT_BYTES} bytes; it must fit a ConfigMap) "
        "| parser |",
        f"| nesting of objects and arrays | {MAX_NESTING_DEPTH} levels (checked before "
        "decoding) | parser |",
        f"| length of a number as written | {MAX_NUMBER_CHARS} characters | parser |",
        f"| samples per metric, all replicates together | {MAX_SAMPLES_PER_METRIC} | "
        "parser, schema (per replicate) |",
        f"| names (workload, metric, replicate, fingerprint group and field) | "
        f"{MAX_NAME_LENGTH} bytes | parser, schema (characters) |",
        f"| an exact sample written as a string | {MAX_EXACT_VALUE_BYTES} bytes | parser |",
        f"| a string inside a fingerprint value | {MAX_FINGERPRINT_STRING_BYTES} bytes | parser |",
        f"| inputs of a distribution metric | {MAX_PREDICTION_INPUTS} | parser, schema |",
        f"| output values stored by a distribution metric | {MAX_OUTPUT_VALUES} | parser, schema |",
        f"| nesting inside a fingerprint value | {MAX_VALUE_DEPTH} levels | parser |",
        "| other strings | as listed per field | parser, schema (characters) |",
        "",
        "String limits count UTF-8 bytes; JSON Schema can only count characters, so the "
        "schema states the same number as `maxLength`, a necessary condition.",
        "",
        "## Objects",
        "",
    ]
    for name in ORDER:
        lines += _object_section(name, defs[name])
    lines += [
        "## Metric kinds",
        "",
        "The kind decides the allowed directions and what the samples may hold (a metric "
        "without `kind` is `continuous`); the JSON Schema states the same table as "
        "`if`/`then` clauses.",
        "",
        *_kind_table(),
        "",
        "Exact values written as integral numbers (`3.0`) are read as integers; numeric "
        "kinds read integers as floats.",
        "",
        "## Rules beyond the schema",
        "",
        "- Workload names are unique in a document; metric names within a workload; "
        "replicate names within a metric.",
        "- A workload with status `failed` or `skipped` carries `error`; a `skipped` one "
        "carries no metrics (both also stated in the JSON Schema).",
        "- An object may not repeat a key.",
        "- When the documents of several replicates are merged (the operator merges one per "
        "pod), each metric's unit, direction, kind, scale, tolerance and error factor must "
        "agree, and a workload skipped in one replicate must be skipped in all.",
        "- A distribution metric's `outputs` holds `inputs` x `width` values, and `top1`, "
        "`confidence` and `labels` one entry per input; merged replicates must agree on "
        "the input set, the model and the shape (the first replicate's outputs are kept).",
        "",
        "## Can it be a baseline?",
        "",
        "A document that parses may still be unusable as a baseline: every later run is "
        "compared with it, and the verdict engine refuses some data. `benchgate promote`, "
        "the operator's promotion paths (`baseline.autoPromoteFirst` and the "
        "`benchgate.dev/promote=true` annotation), `benchgate compare` and `benchgate run "
        "--baseline` refuse such a document, naming the metric and the reason "
        "(`BaselineRefused` on a run). A usable baseline meets every rule:",
        "",
        *[f"- {rule}" for rule in fitness_rules],
        "",
    ]
    return "\n".join(lines)
