"""When to verify: pure decisions from nodes, existing runs and the clock.

Inputs are what the operator can always re-read from the API (nodes and the suite's
VerificationRuns), plus one debounce time per node; output is at most one new
VerificationRun per suite and platform, with a deterministic name so that re-deciding
after a restart asks for the same object again (and the API answers 409).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from benchgate.api.suite import SuiteSpec, TriggerSpec
from benchgate.domain.names import run_name
from benchgate.domain.platform import Platform, describe_change

TriggerReason = Literal[
    "NewPlatform", "FingerprintChanged", "ImageChanged", "SpecChanged", "Periodic", "Manual"
]


@dataclass(frozen=True)
class NodeState:
    """A node as the trigger logic sees it."""

    name: str
    platform: Platform
    changed_at: float  # epoch seconds when its platform-relevant attributes last changed
    ready: bool = True
    schedulable: bool = True


@dataclass(frozen=True)
class RunRecord:
    """An existing VerificationRun of the suite (from the API)."""

    name: str
    platform_key: str
    platform_fields: tuple[tuple[str, str], ...]
    nodes: tuple[str, ...]
    image: str
    spec_hash: str
    trigger: str
    created_at: float
    finished: bool


@dataclass(frozen=True)
class SuiteState:
    name: str
    image: str
    spec_hash: str
    triggers: TriggerSpec
    settle_seconds: int
    nodes_per_platform: int


@dataclass(frozen=True)
class RunRequest:
    name: str
    platform: Platform
    nodes: tuple[str, ...]
    reason: TriggerReason
    message: str
    token: str = ""  # Manual runs: the request token the name derives from (domain/manual.py)


@dataclass(frozen=True)
class TriggerPlan:
    requests: tuple[RunRequest, ...]
    recheck_after: float | None  # seconds until a settle window or a period ends
    notes: tuple[str, ...] = ()  # why platforms were skipped, for logs
    # What the operator waits for before it can verify a platform, by platform key (a
    # settle window, a ready node): shown in the suite's status.platforms[].waitingFor.
    waiting: tuple[tuple[str, str], ...] = ()


def measured_spec_hash(suite: SuiteSpec) -> str:
    """Hash of the spec parts that change what is measured (not who/when/where)."""
    raw = suite.raw
    measured = {
        "size": suite.size,
        "workloads": raw.get("workloads"),
        "sampling": raw.get("sampling"),
        "statistics": raw.get("statistics"),
        "env": (raw.get("jobTemplate") or {}).get("env"),
    }
    canonical = json.dumps(measured, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def suite_state(suite: SuiteSpec) -> SuiteState:
    op = suite.operator
    return SuiteState(
        name=suite.name,
        image=suite.image,
        spec_hash=measured_spec_hash(suite),
        triggers=op.triggers,
        settle_seconds=op.platform.settle_seconds,
        nodes_per_platform=op.nodes_per_platform,
    )


def group_by_platform(nodes: Iterable[NodeState]) -> dict[str, list[NodeState]]:
    groups: dict[str, list[NodeState]] = {}
    for node in sorted(nodes, key=lambda n: n.name):
        groups.setdefault(node.platform.key, []).append(node)
    return groups


def _previous_platform(
    node_names: Sequence[str], key: str, runs: Sequence[RunRecord]
) -> RunRecord | None:
    """The latest run on one of these nodes that measured a different platform."""
    names = set(node_names)
    earlier = [r for r in runs if r.platform_key != key and names & set(r.nodes)]
    return max(earlier, key=lambda r: (r.created_at, r.name), default=None)


def decide(
    suite: SuiteState, nodes: Iterable[NodeState], runs: Sequence[RunRecord], now: float
) -> TriggerPlan:
    requests: list[RunRequest] = []
    notes: list[str] = []
    waiting: list[tuple[str, str]] = []
    recheck: list[float] = []
    for key, members in group_by_platform(nodes).items():
        platform = members[0].platform
        usable = [n for n in members if n.ready and n.schedulable]
        if not usable:
            notes.append(f"{platform.platform_class}: no ready, schedulable node")
            waiting.append((key, "a ready, schedulable node (every node of it is not)"))
            continue
        # Act only once every node of the platform has settled: GFD/NFD relabel in waves.
        unsettled = [
            n.changed_at + suite.settle_seconds - now
            for n in members
            if n.changed_at + suite.settle_seconds > now
        ]
        if unsettled:
            recheck.append(max(unsettled))
            notes.append(f"{platform.platform_class}: labels settling for {max(unsettled):.0f}s")
            settled = datetime.fromtimestamp(now + max(unsettled), tz=UTC)
            waiting.append(
                (
                    key,
                    f"its node labels to settle (spec.platform.settleSeconds="
                    f"{suite.settle_seconds}) until {settled.strftime('%Y-%m-%dT%H:%M:%SZ')}",
                )
            )
            continue
        chosen = tuple(n.name for n in usable[: suite.nodes_per_platform])
        mine = [r for r in runs if r.platform_key == key]
        if any(not r.finished for r in mine):
            notes.append(f"{platform.platform_class}: a run is in progress")
            continue
        request = _decide_platform(
            suite, platform, chosen, [n.name for n in members], mine, runs, now, recheck
        )
        if request is not None:
            requests.append(request)
    return TriggerPlan(
        requests=tuple(requests),
        recheck_after=min(recheck) if recheck else None,
        notes=tuple(notes),
        waiting=tuple(waiting),
    )


def _decide_platform(
    suite: SuiteState,
    platform: Platform,
    chosen: tuple[str, ...],
    members: Sequence[str],
    mine: Sequence[RunRecord],
    all_runs: Sequence[RunRecord],
    now: float,
    recheck: list[float],
) -> RunRequest | None:
    key = platform.key
    triggers = suite.triggers
    if not mine:
        previous = _previous_platform(members, key, all_runs)
        if previous is not None and triggers.fingerprint_change:
            message = (
                f"platform of {', '.join(sorted(set(members) & set(previous.nodes)))} "
                f"changed: {describe_change(previous.platform_fields, platform.fields)}"
            )
            return RunRequest(
                run_name(suite.name, key, "FingerprintChanged", suite.image, suite.spec_hash),
                platform,
                chosen,
                "FingerprintChanged",
                message,
            )
        if previous is None and triggers.new_platform:
            return RunRequest(
                run_name(suite.name, key, "NewPlatform", suite.image, suite.spec_hash),
                platform,
                chosen,
                "NewPlatform",
                f"new platform {platform.platform_class} on {', '.join(members)}",
            )
        return None
    latest = max(mine, key=lambda r: (r.created_at, r.name))
    if latest.image != suite.image and triggers.image_change:
        return RunRequest(
            run_name(suite.name, key, "ImageChanged", suite.image, suite.spec_hash),
            platform,
            chosen,
            "ImageChanged",
            f"image {latest.image} -> {suite.image}",
        )
    if latest.spec_hash != suite.spec_hash and triggers.spec_change:
        return RunRequest(
            run_name(suite.name, key, "SpecChanged", suite.image, suite.spec_hash),
            platform,
            chosen,
            "SpecChanged",
            "the suite's measured spec (workloads, size, sampling, statistics, env) changed",
        )
    if triggers.period_seconds > 0:
        due = latest.created_at + triggers.period_seconds
        if now >= due:
            slot = str(int(now // triggers.period_seconds))
            return RunRequest(
                run_name(suite.name, key, "Periodic", suite.image, suite.spec_hash, slot),
                platform,
                chosen,
                "Periodic",
                f"periodic re-verification (every {triggers.period_seconds}s)",
            )
        recheck.append(due - now)
    return None


def run_record(run: Mapping[str, Any], created_at: float, finished: bool) -> RunRecord:
    """A RunRecord from a VerificationRun object (dict as the API returns it)."""
    spec = run.get("spec") or {}
    platform = spec.get("platform") or {}
    return RunRecord(
        name=str((run.get("metadata") or {}).get("name", "")),
        platform_key=str(platform.get("key", "")),
        platform_fields=Platform.from_spec(platform).fields,
        nodes=tuple(spec.get("nodes") or ()),
        image=str(spec.get("image", "")),
        spec_hash=str(spec.get("specHash", "")),
        trigger=str((spec.get("trigger") or {}).get("reason", "")),
        created_at=created_at,
        finished=finished,
    )
