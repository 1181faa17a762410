"""Fixtures shared by the workload tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_injection(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell must not leak fault injection into these tests."""
    for name in (
        "BENCHGATE_INJECT_SLOWDOWN",
        "BENCHGATE_INJECT_PRECISION",
        "BENCHGATE_INJECT_FAIL",
        "BENCHGATE_INJECT_GARBAGE",
    ):
        monkeypatch.delenv(name, raising=False)
