"""Decode result-document JSON text within bounds, before any field is looked at.

The standard library's decoder recurses once per nesting level and turns every number
token into a Python number; a hostile document can therefore exhaust the stack (100 000
nested arrays) or make `int()` raise (Python refuses integers above 4300 digits). So:

- size: the text is at most `max_bytes` long and valid UTF-8;
- depth: one linear pass counts brackets outside strings, and a document nested deeper
  than MAX_NESTING_DEPTH is refused before the decoder sees it, naming where;
- numbers, NaN/Infinity and repeated keys: the decoder's hooks replace such a token by a
  `RejectedToken`, which the typed model then reports under the field's own path
  (`workloads[0].metrics[1].samples[0].values[3]: is a number written with 5000 ...`).
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any, Final

from benchgate.api.result_errors import RejectedToken, ResultDocumentError
from benchgate.api.result_model import MAX_NESTING_DEPTH, MAX_NUMBER_CHARS

# A JSON string, or an unterminated one running to the end of the text. Possessive, and
# with the `\Z` alternative a scan never restarts inside a string: the pass stays linear
# even for hostile input such as `"\"\"\"...` without a closing quote.
_STRING: Final = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]+")
_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}
_TOKEN: Final = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\Z)|[\[\]{},:]', re.DOTALL)
# A run of number characters outside strings longer than any number a document may hold.
_LONG_NUMBER: Final = re.compile(rf"[-+0-9.eE]{{{MAX_NUMBER_CHARS + 1},}}")
_SHOWN_PATH_PARTS: Final = 10


def _deepest(outside_strings: str) -> int:
    brackets = _NOT_BRACKET.sub("", outside_strings)
    if len(brackets) <= MAX_NESTING_DEPTH:
        return len(brackets)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _path_at_depth(text: str, depth: int) -> tuple[str, int]:
    """The path of the container that opens at nesting level `depth`, and its offset.

    Only called once a document is known to be too deep, so a Python-level token scan
    (stopping at that level) is affordable.
    """
    # Each frame: [is_object, index or key, expecting_key].
    stack: list[list[Any]] = []
    last_string = ""
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            stack.append([token == "{", 0 if token == "[" else None, token == "{"])
            if len(stack) >= depth:
                parts = stack[:-1]
                shown = "".join(
                    f".{frame[1]}" if frame[0] else f"[{frame[1]}]"
                    for frame in parts[:_SHOWN_PATH_PARTS]
                )
                if len(parts) > _SHOWN_PATH_PARTS:
                    shown += "..."
                return shown.lstrip(".") or "document", match.start()
        elif token in "]}":
            if stack:
                stack.pop()
        elif token == ",":
            if stack:
                frame = stack[-1]
                if frame[0]:
                    frame[2] = True
                else:
                    frame[1] += 1
        elif token == ":":
            if stack and stack[-1][0]:
                stack[-1][1] = last_string
                stack[-1][2] = False
        else:
            last_string = token[1:-1][:64]
    return "document", 0


def _check_depth(text: str, outside_strings: str) -> None:
    if _deepest(outside_strings) <= MAX_NESTING_DEPTH:
        return
    path, offset = _path_at_depth(text, MAX_NESTING_DEPTH + 1)
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    raise ResultDocumentError(
        path,
        f"nests objects/arrays deeper than {MAX_NESTING_DEPTH} levels (line {line}, "
        f"column {column}); a result document needs about 10",
    )


def _too_long(token: str) -> RejectedToken:
    return RejectedToken(
        f"is a number written with {len(token)} characters; at most {MAX_NUMBER_CHARS} are "
        "allowed (a float64 needs 24)"
    )


def _parse_int(token: str) -> int | RejectedToken:
    if len(token) > MAX_NUMBER_CHARS:
        return _too_long(token)
    return int(token)


def _parse_float(token: str) -> float | RejectedToken:
    if len(token) > MAX_NUMBER_CHARS:
        return _too_long(token)
    value = float(token)
    if not math.isfinite(value):
        return RejectedToken(f"{token} is outside the range of a float64")
    return value


def _parse_constant(token: str) -> RejectedToken:
    return RejectedToken(
        f"{token} is not allowed in a result document (JSON has no NaN or Infinity; "
        "leave the sample out or record an error)"
    )


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        # A repeated key is read differently by different tools (first or last wins):
        # refuse it where it stands rather than guess.
        out[key] = RejectedToken("appears twice in one object") if key in out else value
    return out


def decode(data: str | bytes, *, max_bytes: int) -> Any:
    """JSON text -> Python value, bounded; raises ResultDocumentError only."""
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > max_bytes:
        raise ResultDocumentError(
            "document", f"is {size} bytes, over the limit of {max_bytes} bytes"
        )
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ResultDocumentError(
                "document", f"is not valid UTF-8 (byte {exc.start}): {exc.reason}"
            ) from exc
    else:
        text = data
    outside_strings = _STRING.sub("", text)
    _check_depth(text, outside_strings)
    # Number hooks cost a Python call per number (~100 000 in a full document), so they
    # are used only when a number token is long enough to need one; shorter ones parse
    # natively (an overflowing float becomes inf, which the model refuses by path).
    long_numbers = _LONG_NUMBER.search(outside_strings) is not None
    try:
        return json.loads(
            text,
            parse_int=_parse_int if long_numbers else None,
            parse_float=_parse_float if long_numbers else None,
            parse_constant=_parse_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as exc:
        raise ResultDocumentError(
            "document", f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except RecursionError as exc:  # the depth check above makes this unreachable
        raise ResultDocumentError("document", "nests too deeply to decode") from exc
