"""Kubernetes resource quantities (`500m`, `2Gi`, `1e3`), parsed as the API server does.

One parser for the three places that must agree with the API server on what a quantity
is and how two compare: the CEL `quantity()` library that the suite's CRD rules call
(requests <= limits), the sandbox's Pod validation, and nothing else. Values are exact
decimals, so `1000m` equals `1` and `1Ki` equals `1024`.

Grammar (k8s.io/apimachinery/pkg/api/resource):

    <quantity>        ::= <signedNumber><suffix>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
PATTERN: Final = re.compile(
    rf"^(?P<number>{_NUMBER})(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_BINARY: Final = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL: Final = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12}
_DECIMAL.update(P=15, E=18)
# The API server refuses quantities whose value does not fit its int64 representation
# (2^63 - 1 in the smallest unit it keeps, nano): far beyond any real request.
MAX_ABS: Final = Decimal(2**63 - 1)


class QuantityError(ValueError):
    """Not a quantity; the message says what a quantity looks like."""


@dataclass(frozen=True, order=True)
class Quantity:
    value: Decimal
    text: str = field(compare=False)

    def is_integer(self) -> bool:
        return self.value == self.value.to_integral_value()

    def __str__(self) -> str:
        return self.text


def parse(text: str) -> Quantity:
    match = PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise QuantityError(
            f"quantities must match the regular expression '{PATTERN.pattern}' "
            "(e.g. 500m, 2, 1.5Gi, 1e3)"
        )
    try:
        number = Decimal(match.group("number"))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise QuantityError(f"{text!r} is not a number") from exc
    suffix = match.group("suffix") or ""
    if suffix in _BINARY:
        value = number * (Decimal(1024) ** _BINARY[suffix])
    elif suffix in _DECIMAL:
        value = number.scaleb(_DECIMAL[suffix])
    else:
        value = number.scaleb(int(suffix[1:]))
    if abs(value) > MAX_ABS:
        raise QuantityError(f"{text!r} is too large for a quantity")
    return Quantity(value, text)


def of(raw: object) -> Quantity:
    """A quantity from what a manifest may hold there: a string or an integer."""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise QuantityError(f"must be a quantity string or an integer, got {raw!r}")
    return parse(str(raw))


def is_quantity(raw: object) -> bool:
    try:
        of(raw)
    except QuantityError:
        return False
    return True
