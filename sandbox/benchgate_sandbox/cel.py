"""CEL `x-kubernetes-validations` evaluated with cel-python where it can.

cel-python implements the CEL standard library, not the Kubernetes extension libraries.
Rules that call a Kubernetes-only function are NOT enforced by the sandbox; they are
recorded in `unenforced` (rule -> why) so that tests and the sandbox's startup log can
say so plainly instead of pretending. A few tiny string extensions are provided here.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

# Kubernetes CEL libraries (k8s.io/apiserver/pkg/cel/library) cel-python does not have.
_K8S_ONLY = (
    "quantity",
    "isQuantity",
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
    "compareTo",
    "isGreaterThan",
    "isLessThan",
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


_FUNCTIONS: dict[str, Any] = {"lowerAscii": _lower, "upperAscii": _upper, "trim": _trim}


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
            return Outcome(False, f"rule evaluation error: {exc.args[0]}")
        if isinstance(result, CELEvalError):
            return Outcome(False, f"rule evaluation error: {result.args[0]}")
        if bool(result):
            return Outcome(True)
        message = None
        if message_expression:
            try:
                message = str(self._program(message_expression).evaluate(activation))
            except (Unsupported, CELEvalError):
                message = None
        return Outcome(False, message)
