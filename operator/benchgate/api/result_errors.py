"""How the result document says "no": one error type that names the field.

Every refusal, whether it comes from decoding the JSON text, from the typed model or from
a cross-field rule, becomes a `ResultDocumentError` whose `path` names the field the way a
user would write it (`workloads[0].metrics[2].samples[1].values[3]`) and whose `message`
says what is expected there. Nothing else escapes the result module's public functions:
a malformed document fails its run, never the reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

# The `type` of every PydanticCustomError raised by our own validators.
ERROR_TYPE: Final = "benchgate"


class ResultDocumentError(ValueError):
    """A document that cannot be accepted; `path` names the offending field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class RejectedToken:
    """A JSON token the decoder refused to turn into a value (a 5000-digit number, NaN,
    a key that appears twice in one object).

    The decoder cannot know where in the document a token sits, so it leaves this marker
    in the token's place; whichever field then finds it reports the marker's message under
    that field's path. No field type accepts a marker, so it can never be taken as data.
    """

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"RejectedToken({self.message!r})"


def refuse(message: str, at: str = "") -> PydanticCustomError:
    """An error from one of our validators; `at` extends the path below the field the
    validator runs on (for example `[3]` or `.samples[1].replicate`)."""
    return PydanticCustomError(ERROR_TYPE, "{message}", {"message": message, "at": at})


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if isinstance(value, RejectedToken):
        return "a refused token"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def join_path(prefix: str, parts: Sequence[str | int], at: str = "") -> str:
    """`workloads[0].metrics[2]` from a pydantic location; `document` for the root."""
    path = prefix
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return (path + at).lstrip(".") or "document"


def _expected(kind: str, value: Any, ctx: dict[str, Any]) -> str | None:
    """Our wording for pydantic's error kinds: what is expected, and what came instead."""
    got = json_type(value)
    expectations = {
        "missing": "is required",
        "string_type": f"must be a string, got {got}",
        "float_type": f"must be a number, got {got}",
        "int_type": f"must be an integer, got {got}",
        "bool_type": f"must be true or false, got {got}",
        "tuple_type": f"must be an array, got {got}",
        "list_type": f"must be an array, got {got}",
        "dict_type": f"must be an object, got {got}",
        "dataclass_type": f"must be an object, got {got}",
        "dataclass_exact_type": f"must be an object, got {got}",
        "finite_number": f"must be finite, got {value!r}",
        "none_required": f"must be null, got {got}",
    }
    if kind in expectations:
        return expectations[kind]
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}, got {value!r}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        size = len(value.encode()) if isinstance(value, str) else 0
        return f"is {size} bytes long; at most {ctx.get('max_length')} bytes (UTF-8) are allowed"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}, got {value!r}"[:300]
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {
            "greater_than_equal": ">=",
            "greater_than": ">",
            "less_than_equal": "<=",
            "less_than": "<",
        }[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be {op} {bound}, got {value!r}"
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return "unknown field"
    if kind == "unexpected_positional_argument":
        return "too many positional arguments"
    return None


def from_validation(
    exc: ValidationError, *, prefix: str = "", positional: Sequence[str] = ()
) -> ResultDocumentError:
    """The first problem pydantic found, as a ResultDocumentError naming the field.

    `positional` names the fields of a constructor called with positional arguments
    (pydantic reports those by index).
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = list(first["loc"])
    if loc and isinstance(loc[0], int) and positional and loc[0] < len(positional):
        loc[0] = positional[loc[0]]
    # Key validation of a mapping is reported as (..., key, "[key]"): the name itself.
    key: str | int | None = None
    if "[key]" in loc:
        cut = loc.index("[key]")
        key, loc = loc[cut - 1], loc[: cut - 1]
    parts = loc
    ctx = dict(first.get("ctx") or {})
    value = first.get("input")
    if first["type"] == ERROR_TYPE:
        message = str(ctx.get("message", first["msg"]))
        path = join_path(prefix, parts, str(ctx.get("at", "")))
    else:
        if isinstance(value, RejectedToken):
            message = value.message
        else:
            message = _expected(first["type"], value, ctx) or first["msg"]
        path = join_path(prefix, parts)
    if key is not None:
        message = f"name {key!r} {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return ResultDocumentError(path, message)
