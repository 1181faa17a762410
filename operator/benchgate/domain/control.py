"""Which design judges a run: a concurrent control, or the stored baseline alone.

A stored baseline was measured days or weeks ago; whatever moved since (the datacentre,
the neighbours, a reboot) moves the candidate too and would be called its regression. In
a rolling upgrade nodes of the baseline's platform still exist: one of them, measured in
the same time window with the same replicates and seeds, is a control, and the candidate
is judged against it round by round (`domain/concurrent.py`); the stored baseline then
only says whether the session itself was unusual.

The control is chosen when the run is planned and recorded in `status.control`, so a
restart never picks another one. A control node:
- is of the baseline's platform (its key), in the candidate's hardware class;
- is selected by the suite (`spec.nodeSelector`): the suite's Job pods only run there;
- is Ready and schedulable, and carries none of the suite's gating taint (a gated node is
  itself unverified: it cannot vouch for the old platform);
- is not one of the candidate's nodes.
Among those, the first by name: deterministic, so two operators (or one after a restart)
agree.

A control is never a verification of its node: it is part of the candidate's run, gates
nothing, promotes nothing, and a control that fails leaves the candidate judged against
the stored baseline (`fallback`).

Pure: the controller passes node snapshots in as `ControlNode`s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from benchgate.api.suite import ControlMode
from benchgate.domain.platform import Platform

Design = Literal["concurrent-control", "stored-baseline"]
CONCURRENT: Final[Design] = "concurrent-control"
STORED: Final[Design] = "stored-baseline"


@dataclass(frozen=True)
class ControlNode:
    """A node as the control choice sees it."""

    name: str
    platform_key: str
    selected: bool  # matches the suite's nodeSelector
    ready: bool
    schedulable: bool
    gated: bool  # carries the suite's gating taint


@dataclass(frozen=True)
class ControlChoice:
    design: Design
    node: str  # "" without a control
    why: str
    # Required and none found: the run waits for a control node rather than judging.
    wait: bool = False

    def status(self) -> dict[str, Any]:
        """status.control as written when the run is planned."""
        return {"design": self.design, "node": self.node, "why": self.why[:4096]}


def choose_control(
    mode: ControlMode,
    candidate: Platform,
    candidate_nodes: Sequence[str],
    baseline: Platform | None,
    nodes: Sequence[ControlNode],
    *,
    sequential: bool = False,
) -> ControlChoice:
    """The design for a run of `candidate` judged against a baseline of `baseline`."""
    if mode == "Never":
        return ControlChoice(STORED, "", "spec.baseline.control is Never")
    if baseline is None:
        return ControlChoice(STORED, "", "no baseline: nothing to control for")
    if baseline.key == candidate.key:
        return ControlChoice(
            STORED,
            "",
            "the baseline is of the run's own platform: no older platform to measure beside it",
        )
    if baseline.hardware_class != candidate.hardware_class:
        return ControlChoice(
            STORED,
            "",
            f"the baseline is of hardware class {baseline.hardware_class}, the run of "
            f"{candidate.hardware_class}: a control must be the same hardware",
        )
    if sequential:
        # A sequential run's looks are judged against the stored baseline
        # (sampling.sequential_decision); a control would need looks of its own.
        return ControlChoice(
            STORED, "", "spec.sampling.mode is sequential: looks judge against the stored baseline"
        )
    of_platform = [n for n in nodes if n.platform_key == baseline.key and n.selected]
    usable = sorted(
        (
            n.name
            for n in of_platform
            if n.ready and n.schedulable and not n.gated and n.name not in candidate_nodes
        ),
    )
    if usable:
        return ControlChoice(
            CONCURRENT,
            usable[0],
            f"control node {usable[0]} of the baseline's platform {baseline.key[:8]} "
            "runs the same replicates at the same time",
        )
    if not of_platform:
        why = f"no node of the baseline's platform {baseline.key[:8]} is left in the suite"
    else:
        why = (
            f"no node of the baseline's platform {baseline.key[:8]} is Ready, schedulable "
            f"and ungated ({', '.join(sorted(n.name for n in of_platform))} "
            f"{'is' if len(of_platform) == 1 else 'are'} not)"
        )
    if mode == "Required":
        return ControlChoice(
            STORED, "", f"{why}; spec.baseline.control is Required: waiting for one", wait=True
        )
    return ControlChoice(STORED, "", why)


def fallback(control: Mapping[str, Any], why: str) -> dict[str, Any]:
    """status.control after the control could not be used: the stored-baseline design,
    saying which control was dropped and why."""
    node = str(control.get("node") or "")
    return {
        "design": STORED,
        "node": node,
        "why": f"the control on {node} was dropped: {why}; judged against the stored baseline"[
            :4096
        ],
    }
