"""CEL `x-kubernetes-validations` evaluated with cel-python, as the API server would.

The operator (validating a RegressionSuite against its CRD), `benchgate run` and the
sandbox's API stand-in all evaluate a CRD's rules here. cel-python implements the CEL
standard library; of the Kubernetes extension libraries this module adds the quantity
library (`quantity()`, `isQuantity()`, `compareTo()`, `isInteger()`, ...: what a rule
needs to say "requests <= limits") and a few string functions. A rule that calls any
other Kubernetes-only function is NOT enforced: it is recorded in `unenforced`
(rule -> why) so that tests and the sandbox's start-up log say so plainly instead of
pretending. Every rule in benchgate's own CRDs is enforced (tests/unit/test_crds.py).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any, cast

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from benchgate.api import quantity as q

# Kubernetes CEL libraries (k8s.io/apiserver/pkg/cel/library) not implemented here.
_K8S_ONLY = (
    "url",
    "isURL",
    "ip",
    "isIP",
    "cidr",
    "isCIDR",
    "semver",
    "isSemver",
    "isSorted",
    "sum",
    "min",
    "max",
    "indexOf",
    "lastIndexOf",
    "replace",
    "split",
    "join",
    "substring",
    "charAt",
    "format",
    "reverse",
    "authorizer",
    "regex.find",
    "find",
    "findAll",
    "quote",
    "sets.",
    "base64.",
    "strings.",
    "optional.",
    "orValue",
    "hasValue",
    "value",
)
_K8S_CALL = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(re.escape(n) for n in _K8S_ONLY) + r")\s*\("
)


def _lower(s: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(str(s).lower())


def _upper(s: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(str(s).upper())


def _trim(s: celtypes.StringType) -> celtypes.StringType:
    return celtypes.StringType(str(s).strip())


class QuantityValue(celtypes.StringType):
    """A Kubernetes Quantity inside CEL; it prints as the text it was made from."""

    def __new__(cls, parsed: q.Quantity) -> QuantityValue:
        made = cast(QuantityValue, super().__new__(cls, parsed.text))
        made.parsed = parsed
        return made

    parsed: q.Quantity


def _quantity(text: Any) -> QuantityValue:
    if isinstance(text, QuantityValue):
        return text
    if not isinstance(text, celtypes.StringType):
        raise TypeError(f"quantity() takes a string, got {type(text).__name__}")
    return QuantityValue(q.parse(str(text)))


def _is_quantity(text: Any) -> celtypes.BoolType:
    return celtypes.BoolType(isinstance(text, celtypes.StringType) and q.is_quantity(str(text)))


def _operand(value: Any) -> q.Quantity:
    if isinstance(value, QuantityValue):
        return value.parsed
    if isinstance(value, celtypes.IntType):
        return q.parse(str(int(value)))
    raise TypeError(f"not a quantity: {value!r}")


def _compare_to(a: Any, b: Any) -> celtypes.IntType:
    x, y = _operand(a).value, _operand(b).value
    return celtypes.IntType((x > y) - (x < y))


def _is_less_than(a: Any, b: Any) -> celtypes.BoolType:
    return celtypes.BoolType(_operand(a).value < _operand(b).value)


def _is_greater_than(a: Any, b: Any) -> celtypes.BoolType:
    return celtypes.BoolType(_operand(a).value > _operand(b).value)


def _is_integer(a: Any) -> celtypes.BoolType:
    return celtypes.BoolType(_operand(a).is_integer())


def _as_integer(a: Any) -> celtypes.IntType:
    parsed = _operand(a)
    if not parsed.is_integer():
        raise ValueError(f"{parsed.text} is not an integer")
    return celtypes.IntType(int(parsed.value))


def _as_approximate_float(a: Any) -> celtypes.DoubleType:
    return celtypes.DoubleType(float(_operand(a).value))


def _sign(a: Any) -> celtypes.IntType:
    value = _operand(a).value
    return celtypes.IntType((value > 0) - (value < 0))


_FUNCTIONS: dict[str, Any] = {
    "lowerAscii": _lower,
    "upperAscii": _upper,
    "trim": _trim,
    "quantity": _quantity,
    "isQuantity": _is_quantity,
    "compareTo": _compare_to,
    "isLessThan": _is_less_than,
    "isGreaterThan": _is_greater_than,
    "isInteger": _is_integer,
    "asInteger": _as_integer,
    "asApproximateFloat": _as_approximate_float,
    "sign": _sign,
}


# The Kubernetes CEL libraries this module implements, and the pattern of a call to one it
# does not: shared with the sandbox's ValidatingAdmissionPolicy evaluation.
FUNCTIONS: dict[str, Any] = _FUNCTIONS
KUBERNETES_ONLY_CALL = _K8S_CALL


class Unsupported(Exception):
    """cel-python cannot evaluate this rule; it is not enforced."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str | None = None  # from messageExpression, when it evaluated


class CelEngine:
    def __init__(self) -> None:
        self._env = celpy.Environment()
        self._programs: dict[str, Any] = {}
        self.unenforced: dict[str, str] = {}

    def check(self, rule: str) -> None:
        """Compile now (at CRD install) so unsupported rules are known up front."""
        with contextlib.suppress(Unsupported):
            self._program(rule)

    def _program(self, rule: str) -> Any:
        if rule in self.unenforced:
            raise Unsupported(self.unenforced[rule])
        if rule not in self._programs:
            if m := _K8S_CALL.search(rule):
                self.unenforced[rule] = (
                    f"uses the Kubernetes CEL extension {m.group(1)!r}, "
                    "which cel-python does not implement"
                )
                raise Unsupported(self.unenforced[rule])
            try:
                ast = self._env.compile(rule)
            except CELParseError as exc:
                self.unenforced[rule] = f"cel-python cannot parse it: {exc}"
                raise Unsupported(self.unenforced[rule]) from exc
            self._programs[rule] = self._env.program(ast, functions=_FUNCTIONS)
        return self._programs[rule]

    def evaluate(
        self,
        rule: str,
        self_value: Any,
        old_value: Any = None,
        message_expression: str | None = None,
    ) -> Outcome:
        program = self._program(rule)
        activation: dict[str, Any] = {"self": json_to_cel(self_value)}
        if old_value is not None:
            activation["oldSelf"] = json_to_cel(old_value)
        try:
            result = program.evaluate(activation)
        except CELEvalError as exc:
            if str(exc.args[0]).startswith("undeclared reference"):
                name = exc.args[2][0] if len(exc.args) > 2 and exc.args[2] else "?"
                self.unenforced[rule] = f"cel-python lacks a function it calls: {name}"
                raise Unsupported(self.unenforced[rule]) from exc
            return Outcome(False, f"rule evaluation error: {_why(exc)}")
        if isinstance(result, CELEvalError):
            return Outcome(False, f"rule evaluation error: {_why(result)}")
        if bool(result):
            return Outcome(True)
        message = None
        if message_expression:
            try:
                message = str(self._program(message_expression).evaluate(activation))
            except (Unsupported, CELEvalError):
                message = None
        return Outcome(False, message)


def _why(error: CELEvalError) -> str:
    """The underlying reason (e.g. an invalid quantity), not cel-python's wrapper text."""
    args = error.args
    if len(args) > 2 and isinstance(args[1], type) and issubclass(args[1], q.QuantityError):
        return str(args[2][0]) if args[2] else str(args[0])
    return str(args[0])
