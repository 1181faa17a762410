"""The result document (versions 1 and 2): one typed model for parser, JSON Schema, docs.

Version 2 adds one metric kind, `distribution` (a model's outputs on a fixed input set,
stored in bounded form: `Outputs`); everything else is version 1 unchanged. A document
without a distribution metric is written as version 1, so older readers keep reading it.

Each class below is a frozen dataclass (attribute access, positional and keyword
construction and `dataclasses.replace` work as for any dataclass) that pydantic also
validates: building one from Python checks it, and `benchgate.api.result.loads` checks a
decoded JSON document against the very same definition. `json_schema()` in
`benchgate.api.result` and the reference page `docs/result-document.md` are generated
from it, so the contract is written down once.

The JSON spelling of every field is its camelCase alias (`durationSeconds`); Python code
uses the snake_case attribute (`duration_seconds`). A JSON document must use the alias:
the readers pass `by_name=False`.

Rules that pydantic's field types cannot say (a metric's kind constrains its direction
and values, a failed workload carries an error, names are unique) are `model_validator`s
here, and the table they read (`KIND_RULES`) also writes their JSON Schema form.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.dataclasses import dataclass

from benchgate.api.result_errors import (
    RejectedToken,
    from_validation,
    json_type,
    refuse,
)

SCHEMA_VERSION_V1: Final = "benchgate.dev/result/v1"
SCHEMA_VERSION: Final = "benchgate.dev/result/v2"  # the newest version (what v2 adds: above)
SchemaVersion = Literal["benchgate.dev/result/v1", "benchgate.dev/result/v2"]

# ---------------------------------------------------------------------------- limits
# A document must fit into the ConfigMap that keeps a run's raw samples (etcd's object
# limit is 1 MiB, and the ConfigMap also carries metadata), so the bound sits below it.
MAX_DOCUMENT_BYTES: Final = 900 * 1024
MAX_SAMPLES_PER_METRIC: Final = 10_000
# Names of workloads, metrics, replicates and fingerprint groups/fields, in UTF-8 bytes.
MAX_NAME_LENGTH: Final = 128
# Objects and arrays nest at most this deep (the document itself is level 1). A metric's
# values sit at level 8; the rest is room for structured fingerprint values. The decoder
# checks it before it recurses, so a 100 000-deep document cannot exhaust the stack.
MAX_NESTING_DEPTH: Final = 32
# Fingerprint values start at level 5 (document > fingerprint > group > field > value).
MAX_VALUE_DEPTH: Final = MAX_NESTING_DEPTH - 4
# A number is written with at most this many characters: a float64 needs 24, a 128-bit
# integer 39. Python refuses to convert integers above 4300 digits, and a longer number is
# never a measurement.
MAX_NUMBER_CHARS: Final = 40
MAX_EXACT_VALUE_BYTES: Final = 4096  # an exact sample as a string (checksum, coverage list)
MAX_FINGERPRINT_STRING_BYTES: Final = 4096
MAX_MESSAGE_BYTES: Final = 16384  # error messages (tracebacks are clipped to this)
# A distribution metric's outputs: per-input records for a bounded input set. 4096 inputs
# and 16384 stored output values keep one such metric under ~200 KiB of JSON (a float32
# written in its shortest form is ~10 characters), a quarter of the document's bound.
MAX_PREDICTION_INPUTS: Final = 4096
MAX_OUTPUT_VALUES: Final = 16384
MAX_CLASS_INDEX: Final = 1_000_000

Direction = Literal["higher", "lower", "equal", "band"]
MetricKind = Literal["continuous", "exact", "error", "distribution"]
Scale = Literal["ratio", "linear"]
# skipped: the workload does not apply here (collectives on a one-GPU node); it carries
# its reason in `error` and no metrics, and it does not fail the run.
WorkloadStatus = Literal["ok", "failed", "skipped"]
FieldStatus = str  # "ok" | "not_supported" | "unavailable" | "error: <message>"

DIRECTIONS: Final[frozenset[str]] = frozenset({"higher", "lower", "equal", "band"})
KINDS: Final[frozenset[str]] = frozenset({"continuous", "exact", "error", "distribution"})
SCALES: Final[frozenset[str]] = frozenset({"ratio", "linear"})
FIELD_STATUSES: Final[frozenset[str]] = frozenset({"ok", "not_supported", "unavailable"})
FIELD_STATUS_PATTERN: Final = r"^(ok|not_supported|unavailable|error:.*)$"

ExactValue = str | bool | int
SampleValue = float | ExactValue


@dataclasses.dataclass(frozen=True)
class KindRule:
    """What a metric kind allows: its directions and what its samples may hold."""

    directions: tuple[str, ...]
    values: Literal["number", "exact"]
    meaning: str
    direction_hint: str


# One table for the validator (Metric._kind_rules) and the JSON Schema (allOf if/then).
# A new kind (a bounded "distribution" of outputs, say) is one more row here, plus its
# judge in the verdict engine.
KIND_RULES: Final[Mapping[str, KindRule]] = {
    "continuous": KindRule(
        directions=("higher", "lower", "band"),
        values="number",
        meaning="a noisy quantity (time, throughput, loss), compared statistically",
        direction_hint="'equal' needs kind 'exact'; use 'band' for a two-sided bound",
    ),
    "exact": KindRule(
        directions=("equal",),
        values="exact",
        meaning="must be identical (checksums, flags, counts that must stay 0)",
        direction_hint="exact metrics must use 'equal'",
    ),
    "error": KindRule(
        directions=("lower",),
        values="number",
        meaning="numerical error against an fp64 reference; passes at <= errorFactor x "
        "the baseline's",
        direction_hint="error metrics must use 'lower'",
    ),
    "distribution": KindRule(
        directions=("equal",),
        values="exact",
        meaning="a model's outputs on a fixed input set (`outputs`; schemaVersion v2): "
        "compared input by input and as a distribution with the baseline's (top-1 "
        "agreement, output differences, PSI, KS, Wasserstein, ECE); each replicate's "
        "value is the SHA-256 of its outputs",
        direction_hint="distribution metrics must use 'equal'",
    ),
}
# Kinds that need a newer schemaVersion than v1.
V2_KINDS: Final = frozenset({"distribution"})


# ------------------------------------------------------------------- field types


def _fits(limit: int) -> Callable[[str], str]:
    def check(text: str) -> str:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise refuse(f"is {size} bytes long; at most {limit} bytes (UTF-8) are allowed")
        return text

    return check


# Strings are bounded in UTF-8 bytes (AfterValidator); the JSON Schema can only say
# characters (maxLength), a necessary condition of the same number.
Name = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(_fits(MAX_NAME_LENGTH)),
]
OptionalName = Annotated[
    str,
    Strict(),
    StringConstraints(max_length=MAX_NAME_LENGTH),
    AfterValidator(_fits(MAX_NAME_LENGTH)),
]
Text32 = Annotated[str, Strict(), StringConstraints(max_length=32), AfterValidator(_fits(32))]
Text64 = Annotated[str, Strict(), StringConstraints(max_length=64), AfterValidator(_fits(64))]
Text253 = Annotated[str, Strict(), StringConstraints(max_length=253), AfterValidator(_fits(253))]
Text256 = Annotated[str, Strict(), StringConstraints(max_length=256), AfterValidator(_fits(256))]
Text1024 = Annotated[str, Strict(), StringConstraints(max_length=1024), AfterValidator(_fits(1024))]
Text128 = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=128), AfterValidator(_fits(128))
]
Message = Annotated[
    str,
    Strict(),
    StringConstraints(max_length=MAX_MESSAGE_BYTES),
    AfterValidator(_fits(MAX_MESSAGE_BYTES)),
]


def _field_status(text: str) -> str:
    if text not in FIELD_STATUSES and not text.startswith("error:"):
        raise refuse(
            f"must be 'ok', 'not_supported', 'unavailable' or 'error: <message>', got {text[:64]!r}"
        )
    return text


StatusText = Annotated[
    str,
    Strict(),
    StringConstraints(max_length=2048),
    AfterValidator(_fits(2048)),
    AfterValidator(_field_status),
    Field(json_schema_extra={"pattern": FIELD_STATUS_PATTERN}),
]
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


def _number_problem(value: int | float) -> str | None:
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return f"must be finite, got {value!r} (NaN, Infinity, or beyond the range of a float64)"
    # bit_length first: str() of a huge int is itself refused by Python (> 4300 digits).
    if value.bit_length() > 4 * MAX_NUMBER_CHARS or len(str(value)) > MAX_NUMBER_CHARS:
        return f"is an integer of more than {MAX_NUMBER_CHARS} characters"
    return None


def _scalar_problem(value: Any) -> str | None:
    """Why `value` cannot be a sample, or None. The kind decides the rest (Metric)."""
    if isinstance(value, RejectedToken):
        return value.message
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_EXACT_VALUE_BYTES:
            return f"is {size} bytes long; at most {MAX_EXACT_VALUE_BYTES} bytes are allowed"
        return None
    if isinstance(value, int | float):
        return _number_problem(value)
    return f"must be a number, string or boolean, got {json_type(value)}"


def _sample_values(raw: Any) -> tuple[SampleValue, ...]:
    if isinstance(raw, RejectedToken):
        raise refuse(raw.message)
    if not isinstance(raw, list | tuple):
        raise refuse(f"must be an array, got {json_type(raw)}")
    if len(raw) > MAX_SAMPLES_PER_METRIC:
        raise refuse(f"holds {len(raw)} values; at most {MAX_SAMPLES_PER_METRIC} are allowed")
    # Fast path for the common case, all plain finite floats (a 900 KiB document holds
    # ~100 000 of them): map() and all() stay in C.
    if set(map(type, raw)) <= {float} and all(map(math.isfinite, raw)):
        return tuple(raw)
    for j, value in enumerate(raw):
        problem = _scalar_problem(value)
        if problem is not None:
            raise refuse(problem, at=f"[{j}]")
    return tuple(raw)


SampleValues = Annotated[
    tuple[SampleValue, ...],
    # Plain: the function checks every value itself, so pydantic's per-value union check
    # would only repeat it; the serializer says what a plain validator cannot.
    PlainValidator(_sample_values),
    PlainSerializer(list, return_type=list[SampleValue]),
    WithJsonSchema(
        {
            "type": "array",
            "maxItems": MAX_SAMPLES_PER_METRIC,
            "items": {"type": ["number", "string", "boolean"]},
        }
    ),
]


def _json_value(value: Any, depth: int = 1, at: str = "") -> Any:
    """A fingerprint value: any JSON value, bounded; tuples become lists (as JSON has).
    `depth` counts containers: the value's outermost array or object is level 1."""
    if isinstance(value, list | tuple | dict) and depth > MAX_VALUE_DEPTH:
        raise refuse(f"nests arrays/objects deeper than {MAX_VALUE_DEPTH} levels", at=at)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_FINGERPRINT_STRING_BYTES:
            raise refuse(
                f"is {size} bytes long; at most {MAX_FINGERPRINT_STRING_BYTES} bytes are allowed",
                at=at,
            )
        return value
    if isinstance(value, int | float):
        problem = _number_problem(value)
        if problem is not None:
            raise refuse(problem, at=at)
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v, depth + 1, f"{at}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise refuse(f"object keys must be strings, got {json_type(key)}", at=at)
            if len(key.encode("utf-8", "surrogatepass")) > MAX_NAME_LENGTH:
                raise refuse(f"has a key longer than {MAX_NAME_LENGTH} bytes", at=at)
            out[key] = _json_value(item, depth + 1, f"{at}.{key}")
        return out
    if isinstance(value, RejectedToken):
        raise refuse(value.message, at=at)
    raise refuse(f"must be a JSON value, got {type(value).__name__}", at=at)


JsonValue = Annotated[
    Any,
    PlainValidator(_json_value),
    WithJsonSchema({"description": "any JSON value (bounded in depth, numbers and strings)"}),
]


# ----------------------------------------------------------------------- the model

_CONFIG: Final = ConfigDict(
    extra="forbid",
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    allow_inf_nan=False,
    revalidate_instances="never",
)


_JSON_NAMES: Final[dict[type[Any], tuple[str, ...]]] = {}


def json_names(cls: type[Any]) -> tuple[str, ...]:
    """The JSON names of a document class's fields, in declaration order."""
    names = _JSON_NAMES.get(cls)
    if names is None:
        names = _JSON_NAMES[cls] = tuple(to_camel(f.name) for f in dataclasses.fields(cls))
    return names


class _Wire:
    """What every document class shares: the JSON-only defaults and requirements, and
    the unknown-field rule.

    `JSON_DEFAULTS` apply to a JSON object but not to the Python constructor (a metric
    without `kind` is continuous, yet `Metric(...)` has always taken `kind` positionally);
    `JSON_REQUIRED` fields must be written in JSON although Python has a default for them.
    The JSON Schema generator reads the same two tables.
    """

    JSON_DEFAULTS: ClassVar[Mapping[str, Any]] = {}
    JSON_REQUIRED: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _wire_rules(cls, data: Any) -> Any:
        if isinstance(data, RejectedToken):
            raise refuse(data.message)
        if not isinstance(data, dict):
            return data  # constructor arguments, or a type error pydantic will name
        known = json_names(cls)
        unknown = sorted(k for k in data if k not in known)
        if unknown:
            raise refuse(f"unknown field (known: {', '.join(known)})", at=f".{unknown[0]}")
        missing = [k for k in cls.JSON_REQUIRED if k not in data]
        if missing:
            raise refuse("is required", at=f".{missing[0]}")
        return {**cls.JSON_DEFAULTS, **data}


@dataclass(frozen=True, config=_CONFIG)
class ReplicateSamples(_Wire):
    """All repetitions measured in one replication unit (a pod or a process)."""

    replicate: Name = Field(
        description="The replication unit the values came from (a pod or a process); "
        "unique within the metric."
    )
    values: SampleValues = Field(
        description="One value per repetition. Numbers for continuous and error metrics; "
        "strings, booleans or integers for exact metrics."
    )


def _bounded_tuple(limit: int, what: str, item: Callable[[Any, str], Any]) -> Any:
    def check(raw: Any) -> tuple[Any, ...]:
        if isinstance(raw, RejectedToken):
            raise refuse(raw.message)
        if not isinstance(raw, list | tuple):
            raise refuse(f"must be an array, got {json_type(raw)}")
        if len(raw) > limit:
            raise refuse(f"holds {len(raw)} {what}; at most {limit} are allowed")
        return tuple(item(v, f"[{j}]") for j, v in enumerate(raw))

    return check


def _output_value(value: Any, at: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse(f"must be a number, got {json_type(value)}", at=at)
    problem = _number_problem(value)
    if problem is not None:
        raise refuse(problem, at=at)
    return float(value)


def _class_index(value: Any, at: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise refuse(f"must be an integer class index, got {json_type(value)}", at=at)
    if not 0 <= value <= MAX_CLASS_INDEX:
        raise refuse(f"must be a class index from 0 to {MAX_CLASS_INDEX}, got {value}", at=at)
    return value


def _probability(value: Any, at: str) -> float:
    number = _output_value(value, at)
    if not 0.0 <= number <= 1.0:
        raise refuse(f"must be a probability from 0 to 1, got {number!r}", at=at)
    return number


_INDEX_SCHEMA: Final = {"type": "integer", "minimum": 0, "maximum": MAX_CLASS_INDEX}
OutputValues = Annotated[
    tuple[float, ...],
    PlainValidator(_bounded_tuple(MAX_OUTPUT_VALUES, "values", _output_value)),
    PlainSerializer(list, return_type=list[float]),
    WithJsonSchema({"type": "array", "maxItems": MAX_OUTPUT_VALUES, "items": {"type": "number"}}),
]
ClassIndices = Annotated[
    tuple[int, ...],
    PlainValidator(_bounded_tuple(MAX_PREDICTION_INPUTS, "class indices", _class_index)),
    PlainSerializer(list, return_type=list[int]),
    WithJsonSchema({"type": "array", "maxItems": MAX_PREDICTION_INPUTS, "items": _INDEX_SCHEMA}),
]
Probabilities = Annotated[
    tuple[float, ...],
    PlainValidator(_bounded_tuple(MAX_PREDICTION_INPUTS, "probabilities", _probability)),
    PlainSerializer(list, return_type=list[float]),
    WithJsonSchema(
        {
            "type": "array",
            "maxItems": MAX_PREDICTION_INPUTS,
            "items": {"type": "number", "minimum": 0, "maximum": 1},
        }
    ),
]
Columns = Annotated[
    tuple[int, ...],
    PlainValidator(_bounded_tuple(MAX_OUTPUT_VALUES, "column indices", _class_index)),
    PlainSerializer(list, return_type=list[int]),
    WithJsonSchema({"type": "array", "maxItems": MAX_OUTPUT_VALUES, "items": _INDEX_SCHEMA}),
]


@dataclass(frozen=True, config=_CONFIG)
class Outputs(_Wire):
    """A model's outputs on a fixed, seeded input set, in bounded form (`distribution`
    metrics). One replicate's outputs are kept (`replicate`); every replicate's SHA-256
    of its full outputs is in the metric's `samples`, so a side whose replicates disagree
    shows it. Per-input records (not a sketch) keep the inputs paired, so that top-1
    agreement and output differences compare the same input on both sides."""

    replicate: Name = Field(description="The replicate these outputs come from.")
    inputs: int = Field(
        ge=1,
        le=MAX_PREDICTION_INPUTS,
        strict=True,
        description="Number of inputs the model ran on.",
    )
    input_set: Text128 = Field(
        description="Identity of the input set (e.g. `sha256:<hex>` of the input tensor); "
        "baseline and candidate must have run the same inputs."
    )
    model: Text256 = Field(
        description="Identity of the model (e.g. `sha256:<hex>` of its weights); baseline "
        "and candidate must have run the same model."
    )
    width: int = Field(
        ge=1,
        le=MAX_OUTPUT_VALUES,
        strict=True,
        description="Output values stored per input (the model's output size, or the "
        "number of `columns` kept).",
    )
    values: OutputValues = Field(
        description="`inputs` x `width` output values (logits, scores), input-major, "
        "written as the shortest decimal that reads back as the same float32."
    )
    top1: ClassIndices | None = Field(
        default=None,
        description="Per input, the index of the largest output over all of the model's "
        "outputs (classifiers); null when the output is not a class score.",
    )
    confidence: Probabilities | None = Field(
        default=None,
        description="Per input, the top-1 probability (softmax of the outputs); with "
        "`labels`, the calibration (ECE) is compared.",
    )
    labels: ClassIndices | None = Field(
        default=None, description="Per input, the true class, when the input set has labels."
    )
    columns: Columns | None = Field(
        default=None,
        description="Which output coordinates `values` holds when the model has more than "
        "fit the bound (null: all of them, in order).",
    )

    @model_validator(mode="after")
    def _shape(self) -> Outputs:
        if len(self.values) != self.inputs * self.width:
            raise refuse(
                f"holds {len(self.values)} values; inputs x width = "
                f"{self.inputs} x {self.width} = {self.inputs * self.width}",
                at=".values",
            )
        for name in ("top1", "confidence", "labels"):
            seq = getattr(self, name)
            if seq is not None and len(seq) != self.inputs:
                raise refuse(
                    f"holds {len(seq)} entries, one per input ({self.inputs})", at=f".{name}"
                )
        if self.columns is not None and len(self.columns) != self.width:
            raise refuse(f"holds {len(self.columns)} indices, one per stored value", at=".columns")
        if self.labels is not None and self.top1 is None:
            raise refuse("labels need top1 (the predicted class) to be compared", at=".labels")
        return self


@dataclass(frozen=True, config=_CONFIG)
class Metric(_Wire):
    """One measured quantity with its raw samples and how to judge it.

    kind:
      continuous — a noisy quantity (time, throughput, loss); compared statistically.
      exact      — must be identical (checksums, booleans, counts that must stay 0).
      error      — numerical error against an fp64 reference; the candidate passes when
                   its error is at most `errorFactor` times the baseline's.
      distribution — a model's outputs on fixed inputs (`outputs`), compared with the
                   baseline's input by input and as a distribution (schemaVersion v2).
    scale: `ratio` metrics are positive and compared on the log scale (relative change);
      `linear` metrics are compared by difference relative to the baseline's magnitude.
    tolerance: the largest relative change (0.03 = 3%) that still counts as unchanged;
      None means "the suite's statistics.tolerancePercent" (so does errorFactor).
    """

    JSON_DEFAULTS: ClassVar[Mapping[str, Any]] = {"kind": "continuous"}

    name: Name = Field(description="Metric name, unique within its workload.")
    unit: Text64 = Field(description="Unit of the values, e.g. `ms` or `GFLOP/s`.")
    direction: Direction = Field(
        description="Which change is bad: `higher` (higher is better), `lower`, `band` "
        "(either way), `equal` (exact metrics)."
    )
    kind: MetricKind = Field(description="How the metric is judged; see the kind rules.")
    samples: tuple[ReplicateSamples, ...] = Field(
        description="Raw samples grouped by replicate; never just a mean."
    )
    scale: Scale = Field(
        default="ratio",
        description="`ratio`: positive values compared on the log scale (relative "
        "change); `linear`: compared by difference relative to the baseline's magnitude.",
    )
    tolerance: Number | None = Field(
        default=None,
        ge=0,
        le=10,
        description="Largest relative change (0.03 = 3 %) that still counts as unchanged; "
        "null: the suite's statistics.tolerancePercent. A suite's per-metric "
        "tolerancePercent overrides it.",
    )
    error_factor: Number | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Error metrics: the candidate passes at <= this many times the "
        "baseline's error; null: the suite's statistics.errorFactor.",
    )
    description: Text1024 = Field(default="", description="What the metric measures.")
    outputs: Outputs | None = Field(
        default=None,
        description="Distribution metrics (and only they): the model's outputs on the "
        "input set, bounded. Tolerance for them is the share of inputs whose top-1 class "
        "may change.",
    )

    @property
    def values(self) -> list[SampleValue]:
        return [v for group in self.samples for v in group.values]

    @property
    def replicates(self) -> list[str]:
        return [group.replicate for group in self.samples]

    @model_validator(mode="after")
    def _kind_rules(self) -> Metric:
        rule = KIND_RULES[self.kind]
        if self.direction not in rule.directions:
            raise refuse(rule.direction_hint, at=".direction")
        if self.kind == "distribution" and self.outputs is None:
            raise refuse("is required for distribution metrics", at=".outputs")
        if self.kind != "distribution" and self.outputs is not None:
            raise refuse("is only allowed on distribution metrics", at=".outputs")
        seen: set[str] = set()
        total = 0
        groups: list[ReplicateSamples] = []
        changed = False
        for i, group in enumerate(self.samples):
            if group.replicate in seen:
                raise refuse(
                    f"duplicate replicate {group.replicate!r}", at=f".samples[{i}].replicate"
                )
            seen.add(group.replicate)
            total += len(group.values)
            if total > MAX_SAMPLES_PER_METRIC:
                raise refuse(
                    f"more than {MAX_SAMPLES_PER_METRIC} values in all replicates together",
                    at=".samples",
                )
            types = set(map(type, group.values))
            if types <= ({float} if rule.values == "number" else {str, bool, int}):
                groups.append(group)  # nothing to check or convert (the common case)
                continue
            values = tuple(
                _kind_value(v, self.kind, rule, f".samples[{i}].values[{j}]")
                for j, v in enumerate(group.values)
            )
            if any(type(a) is not type(b) for a, b in zip(values, group.values, strict=True)):
                changed = True
                group = ReplicateSamples(replicate=group.replicate, values=values)
            groups.append(group)
        if changed:
            # Normalised once here (ints -> floats for numeric kinds, 3.0 -> 3 for exact),
            # so that equal documents compare equal however they were written.
            object.__setattr__(self, "samples", tuple(groups))
        return self


def _kind_value(value: SampleValue, kind: str, rule: KindRule, at: str) -> SampleValue:
    if rule.values == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise refuse(
                f"must be a number, got {json_type(value)} ({kind} metrics take numbers)", at=at
            )
        return float(value)
    if isinstance(value, bool | str | int):
        return value
    if value.is_integer():
        return int(value)
    raise refuse(f"exact metrics take strings, booleans or integers, got {value!r}", at=at)


@dataclass(frozen=True, config=_CONFIG)
class WorkloadError(_Wire):
    """Why a workload failed, or why it was skipped."""

    type: Text256 = Field(description="Exception type or short reason code.")
    message: Message = Field(description="Human-readable reason (a traceback is clipped).")


@dataclass(frozen=True, config=_CONFIG)
class WorkloadResult(_Wire):
    """One workload's outcome in one process: its metrics, or why there are none."""

    JSON_DEFAULTS: ClassVar[Mapping[str, Any]] = {"size": "", "durationSeconds": 0.0}

    name: Name = Field(description="Workload name, unique within the document.")
    size: Text32 = Field(description="Problem size the workload ran at (`tiny`, `full`).")
    status: WorkloadStatus = Field(
        description="`ok`; `failed` (the run fails); `skipped` (does not apply here, e.g. "
        "collectives on a one-GPU node; carries its reason and no metrics)."
    )
    duration_seconds: Number = Field(ge=0, description="Wall time the workload took.")
    metrics: tuple[Metric, ...] = Field(default=(), description="What the workload measured.")
    error: WorkloadError | None = Field(
        default=None, description="Required when status is `failed` or `skipped`."
    )

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    @model_validator(mode="after")
    def _status_rules(self) -> WorkloadResult:
        if self.status in ("failed", "skipped") and self.error is None:
            raise refuse(f"is required when status is {self.status!r}", at=".error")
        if self.status == "skipped" and self.metrics:
            raise refuse("must be empty when status is 'skipped'", at=".metrics")
        _unique((m.name for m in self.metrics), "metric", ".metrics")
        return self


def _unique(names: Iterable[str], what: str, at: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise refuse(f"duplicate {what} name {name!r}", at=f"{at}[{i}].name")
        seen.add(name)


@dataclass(frozen=True, config=_CONFIG)
class RunIdentity(_Wire):
    """Which suite, run, platform and replicate the document belongs to (informative)."""

    suite: Text253 = Field(default="", description="RegressionSuite name.")
    run: Text253 = Field(default="", description="VerificationRun name.")
    platform: Text253 = Field(default="", description="Platform key.")
    replicate: Text253 = Field(default="", description="This process's or pod's replicate.")
    started_at: Text64 = Field(default="", description="RFC 3339 time the process started.")
    finished_at: Text64 = Field(default="", description="RFC 3339 time it finished.")


@dataclass(frozen=True, config=_CONFIG)
class FingerprintField(_Wire):
    """One environment fact and whether it could be read, so that a diff can say
    `ECC: not_supported -> ok` rather than only `None -> 1`."""

    value: JsonValue = Field(default=None, description="The fact; any JSON value.")
    status: StatusText = Field(
        default="ok",
        description="`ok`, `not_supported`, `unavailable` or `error: <message>`.",
    )
    source: Text256 = Field(default="", description="Where the value came from.")
    JSON_REQUIRED: ClassVar[tuple[str, ...]] = ("status",)


FingerprintName = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(_fits(MAX_NAME_LENGTH)),
]
Fingerprint = Mapping[str, Mapping[str, FingerprintField]]


@dataclass(frozen=True, config=_CONFIG)
class DocumentError(_Wire):
    """An error the process recorded outside any one workload's result."""

    type: Text256 = Field(description="Exception type or short reason code.")
    message: Message = Field(description="Human-readable reason.")
    workload: OptionalName = Field(default="", description="The workload it concerns, if any.")


@dataclass(frozen=True, config=_CONFIG)
class ResultDocument(_Wire):
    """What one workload process (or a merge of several) reports."""

    run: RunIdentity = Field(description="Identity of the run (informative).")
    workloads: tuple[WorkloadResult, ...] = Field(description="One entry per workload run.")
    fingerprint: Mapping[FingerprintName, Mapping[FingerprintName, FingerprintField]] = Field(
        default_factory=dict,
        description="Environment fingerprint: group -> field -> {value, status, source}.",
    )
    errors: tuple[DocumentError, ...] = Field(
        default=(), description="Errors recorded outside any workload's result."
    )
    schema_version: SchemaVersion = Field(
        default=SCHEMA_VERSION_V1,
        description="Names the version of this contract: v2 when the document holds a "
        "`distribution` metric, else v1 (which every earlier reader reads).",
    )
    JSON_DEFAULTS: ClassVar[Mapping[str, Any]] = {"run": {}}
    JSON_REQUIRED: ClassVar[tuple[str, ...]] = ("schemaVersion",)

    def workload(self, name: str) -> WorkloadResult | None:
        return next((w for w in self.workloads if w.name == name), None)

    def metrics(self) -> Iterable[tuple[str, Metric]]:
        """Every metric as (`workload/metric` key, metric)."""
        for workload in self.workloads:
            for metric in workload.metrics:
                yield f"{workload.name}/{metric.name}", metric

    @model_validator(mode="after")
    def _unique_workloads(self) -> ResultDocument:
        _unique((w.name for w in self.workloads), "workload", ".workloads")
        # The lowest version that can say what the document holds. A JSON v1 document
        # with a v2 kind never gets here (its reader refuses it first), so this only
        # labels documents built in Python (workloads, merges).
        needs_v2 = any(m.kind in V2_KINDS for w in self.workloads for m in w.metrics)
        version = SCHEMA_VERSION if needs_v2 else SCHEMA_VERSION_V1
        if version != self.schema_version:
            object.__setattr__(self, "schema_version", version)
        return self


MODEL_CLASSES: Final[tuple[type[Any], ...]] = (
    ResultDocument,
    RunIdentity,
    WorkloadResult,
    WorkloadError,
    Metric,
    Outputs,
    ReplicateSamples,
    FingerprintField,
    DocumentError,
)


def _document_errors(cls: type[Any]) -> None:
    """Make `cls(...)` raise ResultDocumentError (naming the field), not pydantic's error:
    a document built in Python obeys the same contract and speaks the same language."""
    init = cls.__init__
    positional = [f.name for f in dataclasses.fields(cls)]

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except ValidationError as exc:
            raise from_validation(exc, positional=positional) from exc

    cls.__init__ = __init__


for _cls in MODEL_CLASSES:
    _document_errors(_cls)
