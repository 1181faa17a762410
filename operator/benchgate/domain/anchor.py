"""Slow drift: every verification is also judged against its class's *anchor* baseline.

A run is compared with the closest baseline, which after a few accepted changes is the
latest of them. Five changes of 1.5 % each then pass one by one at a 3 % tolerance while
the platform has lost 7.7 %. So the operator also compares the candidate with the
*anchor* of its hardware class — the first baseline the class had, or the one a person
pinned (`kubectl annotate rbase NAME benchgate.dev/anchor=true`; the newest pinned one
wins) — with the same engine and tolerances, and reports a regression against it as its
own finding ("3.1 % slower than the anchor across 4 accepted changes"), in the run's
`Drifted` condition, `status.anchor`, a DriftDetected Event and the suite's platform row.
Drift does not change the step's verdict or gating: every step was accepted or passed,
and what to do about the sum is a person's decision (pin a new anchor once it is).

Pure: baseline records and an engine comparison in, the choice and the finding out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from benchgate.api import conditions as c
from benchgate.domain.baseline import BaselineRecord
from benchgate.domain.platform import Platform

_TIME_UNITS: Final = frozenset({"s", "ms", "us", "µs", "ns", "sec", "seconds"})
SHOWN_METRICS: Final = 1


@dataclass(frozen=True)
class AnchorChoice:
    anchor: BaselineRecord | None
    # Baselines of the class made after the anchor, up to and including the one the run
    # was compared with: the accepted changes the drift accumulated over.
    changes: int
    why: str


def _order(b: BaselineRecord) -> tuple[float, str]:
    return (b.created_at, b.name)


def choose_anchor(
    suite: str, platform: Platform, baselines: Sequence[BaselineRecord], compared_with: str
) -> AnchorChoice:
    """The anchor of `platform`'s hardware class among the suite's baselines."""
    same_class = sorted(
        (
            b
            for b in baselines
            if b.suite == suite and b.platform.hardware_class == platform.hardware_class
        ),
        key=_order,
    )
    if not same_class:
        return AnchorChoice(None, 0, f"no baseline for hardware class {platform.hardware_class}")
    pinned = [b for b in same_class if b.pinned]
    if pinned:
        anchor = pinned[-1]
        why = f"{anchor.name}, pinned as the anchor of {platform.hardware_class}"
    else:
        anchor = same_class[0]
        why = f"{anchor.name}, the first baseline of {platform.hardware_class}"
    used = next((b for b in same_class if b.name == compared_with), None)
    if used is None:
        return AnchorChoice(anchor, 0, why)
    low, high = sorted((_order(anchor), _order(used)))
    changes = sum(1 for b in same_class if low < _order(b) <= high)
    return AnchorChoice(anchor, changes, why)


class JudgedMetric(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def change(self) -> float | None: ...


class JudgedRun(Protocol):
    @property
    def metrics(self) -> Sequence[JudgedMetric]: ...
    @property
    def verdict(self) -> str: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class DriftFinding:
    """The candidate against the anchor: what status.anchor and `Drifted` say."""

    anchor: str
    changes: int
    verdict: str  # the engine's verdict against the anchor
    worst_metric: str
    worst_change: float | None
    message: str
    same: bool = False  # the run was compared with the anchor itself

    @property
    def drifted(self) -> bool:
        return self.verdict == "Regressed" and not self.same

    def condition(self) -> c.Condition:
        if self.same:
            return c.Condition(c.DRIFTED, "False", c.BASELINE_IS_ANCHOR, self.message)
        if self.drifted:
            return c.Condition(c.DRIFTED, "True", c.DRIFT_DETECTED, self.message)
        if self.verdict in ("Passed", "Improved"):
            return c.Condition(c.DRIFTED, "False", c.WITHIN_ANCHOR, self.message)
        if self.verdict == "Inconclusive":
            return c.Condition(c.DRIFTED, "Unknown", c.ANCHOR_INCONCLUSIVE, self.message)
        return c.Condition(c.DRIFTED, "Unknown", c.ANCHOR_UNAVAILABLE, self.message)


def _wording(metric: JudgedMetric) -> tuple[float, str]:
    """(size in percent, 'slower'/'worse'/'changed') of a regression against the anchor."""
    change = metric.change or 0.0
    unit = metric.unit.strip().lower()
    timed = metric.direction == "lower" and unit in _TIME_UNITS
    rate = metric.direction == "higher" and unit.endswith("/s")
    if timed or rate:
        return abs(change) * 100, "slower"
    if metric.direction == "band":
        return abs(change) * 100, "away from"
    return abs(change) * 100, "worse"


def changes_text(changes: int) -> str:
    return f"{changes} accepted change{'' if changes == 1 else 's'}"


def drift_finding(
    comparison: JudgedRun, choice: AnchorChoice, step_verdict: str
) -> DriftFinding | None:
    """What the candidate's comparison with the anchor says (None without an anchor)."""
    anchor = choice.anchor
    if anchor is None:
        return None
    across = changes_text(choice.changes)
    regressed = sorted(
        (m for m in comparison.metrics if m.verdict == "Regressed"),
        key=lambda m: -abs(m.change) if m.change is not None else float("-inf"),
    )
    if comparison.verdict == "Regressed" and regressed:
        worst = regressed[0]
        if worst.change is None:
            what = f"{worst.key} no longer matches the anchor {anchor.name}"
        else:
            size, word = _wording(worst)
            than = "the anchor's" if word == "away from" else "than the anchor"
            what = f"{worst.key} {size:.1f} % {word} {than} {anchor.name}"
        more = len(regressed) - SHOWN_METRICS
        also = f" (and {more} more metric{'s' if more > 1 else ''})" if more > 0 else ""
        step = " although this step passed" if step_verdict in ("Passed", "Improved") else ""
        return DriftFinding(
            anchor.name,
            choice.changes,
            "Regressed",
            worst.key,
            worst.change,
            f"{what} across {across}{also}{step}: slow drift beyond the tolerance; if it is "
            f"intended, pin a newer anchor (kubectl annotate rbase <name> "
            f"benchgate.dev/anchor=true)",
        )
    if comparison.verdict in ("Passed", "Improved"):
        message = f"within the tolerance of the anchor {anchor.name} across {across}"
    elif comparison.verdict == "Inconclusive":
        message = (
            f"against the anchor {anchor.name} across {across}: inconclusive ({comparison.reason})"
        )
    else:
        message = (
            f"cannot be judged against the anchor {anchor.name}: {comparison.reason or 'invalid'}"
        )
    return DriftFinding(anchor.name, choice.changes, comparison.verdict, "", None, message)


def baseline_is_anchor(choice: AnchorChoice, step_verdict: str) -> DriftFinding | None:
    """The run was compared with the anchor itself: the step *is* the drift check."""
    if choice.anchor is None:
        return None
    return DriftFinding(
        choice.anchor.name,
        0,
        step_verdict,
        "",
        None,
        f"compared with the anchor {choice.anchor.name} itself: the step's verdict is the "
        "drift check",
        same=True,
    )
