"""Node gating: which nodes in a suite's scope carry its taint, from the verdicts.

A node is released (its gating taint removed) once the latest finished run of its
platform is Passed or Improved, or was promoted to a baseline (automatically as the
class's first run, or by a human's annotation); otherwise it is
gated: a platform with no finished run yet (new, changed, settling, running) or whose
latest run regressed, failed, timed out or was inconclusive. A driver upgrade makes a
new platform with no finished run, so the node is gated again until that run passes.

Pure: plain data in (nodes with their taints, run summaries), the taint lists to write
out. Only the suite's own key is ever touched; other taints are kept as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from benchgate.api.suite import GatingSpec

VERIFIED_VERDICTS: Final = frozenset({"Passed", "Improved"})
PROMOTED_REASON: Final = "BaselinePromoted"


@dataclass(frozen=True)
class GatedNode:
    name: str
    platform_key: str
    taints: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class LatestRun:
    """The latest *finished* run of a platform."""

    platform_key: str
    verdict: str
    reason: str


@dataclass(frozen=True)
class TaintChange:
    node: str
    taints: list[dict[str, Any]]  # the node's whole new spec.taints
    gated: bool  # True: the taint was added; False: removed
    why: str


def verified(latest: LatestRun | None) -> bool:
    if latest is None:
        return False
    return latest.verdict in VERIFIED_VERDICTS or latest.reason == PROMOTED_REASON


def _why(latest: LatestRun | None) -> str:
    if latest is None:
        return "its platform has no finished verification yet"
    if latest.verdict in VERIFIED_VERDICTS:
        return f"its platform verified ({latest.verdict})"
    if verified(latest):
        return "its platform's run was promoted to a baseline"
    return f"its platform's latest verification is {latest.verdict} ({latest.reason})"


def plan_taints(
    spec: GatingSpec, suite: str, nodes: Iterable[GatedNode], latest: Mapping[str, LatestRun]
) -> list[TaintChange]:
    """The nodes whose taints must change, with their new taint lists."""
    if not spec.enabled:
        return []
    changes = []
    wanted = {"key": spec.taint_key, "value": suite, "effect": spec.effect}
    for node in nodes:
        run = latest.get(node.platform_key)
        gate = not verified(run)
        mine = [t for t in node.taints if t.get("key") == spec.taint_key]
        others = [dict(t) for t in node.taints if t.get("key") != spec.taint_key]
        if gate and [_same(t) for t in mine] != [_same(wanted)]:
            changes.append(TaintChange(node.name, [*others, dict(wanted)], True, _why(run)))
        elif not gate and mine:
            changes.append(TaintChange(node.name, others, False, _why(run)))
    return changes


def released(
    key: str, suite: str, node: str, taints: Sequence[Mapping[str, Any]]
) -> TaintChange | None:
    """The change that takes `suite`'s own taint under `key` off a node (the suite is
    gone), or None when the node does not carry it."""
    kept = [dict(t) for t in taints if not (t.get("key") == key and t.get("value") == suite)]
    if len(kept) == len(taints):
        return None
    return TaintChange(node, kept, False, f"suite {suite} was deleted")


def _same(taint: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(taint.get("key", "")), str(taint.get("value", "")), str(taint.get("effect", "")))


def latest_finished(runs: Sequence[tuple[str, float, str, str, bool]]) -> dict[str, LatestRun]:
    """(platform key, created at, verdict, Verified reason, finished) -> latest finished
    run per platform (ties: the later in the input)."""
    best: dict[str, tuple[float, LatestRun]] = {}
    for key, created, verdict, reason, finished in runs:
        if not finished:
            continue
        if key not in best or created >= best[key][0]:
            best[key] = (created, LatestRun(key, verdict, reason))
    return {k: v for k, (_, v) in best.items()}


def toleration(spec: GatingSpec) -> dict[str, str] | None:
    """What verification pods need to land on a gated node."""
    if not spec.enabled:
        return None
    return {"key": spec.taint_key, "operator": "Exists", "effect": spec.effect}
