"""Node gating: which nodes in a suite's scope carry its taint, from the verdicts.

A node is released (its gating taint removed) once the latest finished run of its
platform is Passed or Improved, or was promoted to a baseline (automatically as the
class's first run, or by a human's annotation); otherwise it is
gated: a platform with no finished run yet (new, changed, settling, running) or whose
latest run regressed, failed, timed out or was inconclusive. A driver upgrade makes a
new platform with no finished run, so the node is gated again until that run passes.

Ownership: benchgate touches only taints it can prove it wrote. A suite's taint is
`taintKey=<owner value>:<effect>`, the value naming the suite (`owner_value`); a taint
under the same key with any other value is someone else's and is never modified or
removed, and a reserved key (benchgate.api.taints: nvidia.com/gpu, node.kubernetes.io/*,
...) is never used at all. Two suites never share a key: the oldest suite that asks for
it (creationTimestamp, then uid: both from the API, so every operator process and every
restart decides the same) owns it; the others are told who does (`gating_refusal`).

Pure: plain data in (nodes with their taints, run summaries, claims), the taint lists to
write out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from benchgate.api import taints as reserved_taints
from benchgate.api.suite import GatingSpec

VERIFIED_VERDICTS: Final = frozenset({"Passed", "Improved"})
PROMOTED_REASON: Final = "BaselinePromoted"
MAX_VALUE_CHARS: Final = 63  # a taint value is a label value
TAINT_KEY_RESERVED: Final = "TaintKeyReserved"
TAINT_KEY_IN_USE: Final = "TaintKeyInUse"


def owner_value(namespace: str, suite: str) -> str:
    """The value of `suite`'s taints: "namespace.name" (a namespace has no dots, so it
    reads back unambiguously), hash-shortened to the 63 characters a taint value allows."""
    full = f"{namespace}.{suite}"
    if len(full) <= MAX_VALUE_CHARS:
        return full
    digest = hashlib.sha256(f"{namespace}/{suite}".encode()).hexdigest()[:10]
    return f"{full[: MAX_VALUE_CHARS - len(digest) - 1].rstrip('-.')}-{digest}"


@dataclass(frozen=True)
class Claim:
    """A suite that gates with `key` (from the API: the suites' own metadata)."""

    key: str
    namespace: str
    suite: str
    created: str  # metadata.creationTimestamp, RFC 3339 (sorts as text)
    uid: str


def key_owner(key: str, claims: Iterable[Claim]) -> Claim | None:
    """The suite that owns `key`: the oldest claim, ties broken by uid."""
    return min((c for c in claims if c.key == key), key=lambda c: (c.created, c.uid), default=None)


def gating_refusal(spec: GatingSpec, me: Claim, claims: Iterable[Claim]) -> tuple[str, str] | None:
    """Why this suite may not gate with its key ((reason, message)), or None when it may."""
    key = spec.taint_key
    if reserved_taints.reserved(key):
        return (
            TAINT_KEY_RESERVED,
            f"spec.gating.taintKey {key}: {reserved_taints.CEL_MESSAGE}; no node is gated",
        )
    owner = key_owner(key, [*claims, me])
    if owner is not None and owner.uid != me.uid:
        return (
            TAINT_KEY_IN_USE,
            f"spec.gating.taintKey {key} is already used by suite {owner.namespace}/"
            f"{owner.suite} (created {owner.created}, before this one); two suites on one "
            "key would remove each other's taints, so this suite gates no node: give it "
            "a key of its own",
        )
    return None


@dataclass(frozen=True)
class GatedNode:
    name: str
    platform_key: str
    taints: tuple[Mapping[str, Any], ...]
    opted_out: bool = False  # labelled benchgate.dev/gating=disabled: never gated


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


def _why(latest: LatestRun | None, opted_out: bool = False) -> str:
    if opted_out:
        return "the node opted out of gating (label benchgate.dev/gating=disabled)"
    if latest is None:
        return "its platform has no finished verification yet"
    if latest.verdict in VERIFIED_VERDICTS:
        return f"its platform verified ({latest.verdict})"
    if verified(latest):
        return "its platform's run was promoted to a baseline"
    return f"its platform's latest verification is {latest.verdict} ({latest.reason})"


def failing(node: GatedNode, latest: Mapping[str, LatestRun]) -> bool:
    """Whether the node would be gated because its platform's verification finished and
    did not verify (failed, regressed, ...), not because it is new."""
    run = latest.get(node.platform_key)
    return not node.opted_out and run is not None and not verified(run)


@dataclass(frozen=True)
class Breaker:
    """The gating circuit breaker's reading for one suite."""

    halted: bool
    failing: int  # nodes that would be gated for a failed or regressed verification
    nodes: int  # the suite's nodes that may be gated (opted-out ones not counted)
    message: str


def breaker(
    nodes: Sequence[GatedNode], latest: Mapping[str, LatestRun], share: float, floor: int
) -> Breaker:
    """Halt gating for failures when more than `share` of the suite's nodes, and more than
    `floor` of them, would be gated because their verification failed: a broken image or
    baseline fails every platform at once and must not quarantine the fleet."""
    eligible = [n for n in nodes if not n.opted_out]
    bad = [n for n in eligible if failing(n, latest)]
    platforms = sorted({n.platform_key[:8] for n in bad})
    halted = len(bad) > floor and len(bad) > share * len(eligible)
    if halted:
        message = (
            f"{len(bad)} of {len(eligible)} nodes ({len(bad) / len(eligible):.0%}) would be "
            f"gated for failed or regressed verifications (platforms {', '.join(platforms[:5])}"
            f"{' ...' if len(platforms) > 5 else ''}), over the cap of {share:.0%}: more likely "
            "a broken image or baseline than broken hardware, so no more nodes are gated for "
            "failures until fewer fail; check the latest runs"
        )
    else:
        message = (
            f"{len(bad)} of {len(eligible)} nodes gated for failed verifications, within the "
            f"cap of {share:.0%}"
        )
    return Breaker(halted, len(bad), len(eligible), message)


def plan_taints(
    spec: GatingSpec,
    value: str,
    nodes: Iterable[GatedNode],
    latest: Mapping[str, LatestRun],
    halted: bool = False,
) -> list[TaintChange]:
    """The nodes whose taints must change, with their new taint lists. Only the taint
    `spec.taint_key=value` is ever added or removed; every other taint, including one
    under our key with another value, is kept exactly as it is. `halted` (the breaker):
    no node is newly gated for a failed verification; nodes already gated stay so."""
    if not spec.enabled:
        return []
    changes = []
    wanted = {"key": spec.taint_key, "value": value, "effect": spec.effect}
    for node in nodes:
        run = latest.get(node.platform_key)
        gate = not verified(run) and not node.opted_out
        if halted and failing(node, latest):
            continue  # neither gated now nor released: its platform did fail
        mine = [t for t in node.taints if _ours(t, spec.taint_key, value)]
        others = [dict(t) for t in node.taints if not _ours(t, spec.taint_key, value)]
        # The API allows one taint per key and effect: a foreign taint in the slot ours
        # would take already keeps the node off, and is not ours to replace.
        taken = any(_slot(t) == _slot(wanted) for t in others)
        if gate and not taken and [_same(t) for t in mine] != [_same(wanted)]:
            changes.append(TaintChange(node.name, [*others, dict(wanted)], True, _why(run)))
        elif mine and (not gate or taken):
            changes.append(TaintChange(node.name, others, False, _why(run, node.opted_out)))
    return changes


def released(
    key: str, value: str, node: str, taints: Sequence[Mapping[str, Any]], suite: str
) -> TaintChange | None:
    """The change that takes a deleted suite's own taint (`key=value`) off a node, or None
    when the node does not carry it."""
    kept = [dict(t) for t in taints if not _ours(t, key, value)]
    if len(kept) == len(taints):
        return None
    return TaintChange(node, kept, False, f"suite {suite} was deleted")


def _ours(taint: Mapping[str, Any], key: str, value: str) -> bool:
    return taint.get("key") == key and taint.get("value") == value


def _slot(taint: Mapping[str, Any]) -> tuple[str, str]:
    return (str(taint.get("key", "")), str(taint.get("effect", "")))


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
