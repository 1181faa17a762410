"""`benchgate status`: every suite's platforms on one screen, derived from API objects only.

For each suite and platform: its nodes (and which are gated), the latest run with its
verdict and worst metric, the baseline and its age, what is running and what the
operator waits for (status.platforms[].running / waitingFor), the anchor finding, and
the next step a user can take, as a command to copy. Everything comes from the suite's,
runs' and baselines' status and the nodes' taints: the operator keeps no other state,
so neither does this view.

Pure: API objects (dicts as the API returns them) and the time in; a plain model and its
table/JSON rendering out.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final

from benchgate.api import crd
from benchgate.domain.gating import owner_value
from benchgate.domain.status import BAD_VERDICTS, effective_verdict

NOT_OK: Final = BAD_VERDICTS
UNDECIDED: Final = frozenset({"Inconclusive"})


@dataclass(frozen=True)
class PlatformOverview:
    key: str
    platform_class: str
    nodes: tuple[str, ...]
    gated: tuple[str, ...] | None  # None: the nodes' taints could not be read
    verdict: str
    reason: str  # the latest run's Verified reason (BaselinePromoted, ChangeAccepted, ...)
    latest_run: str
    trigger: str
    worst_metric: str
    worst_change: str
    message: str
    baseline: str
    baseline_age_seconds: float | None
    running: str
    waiting_for: str
    anchor: str
    drift: str
    next_steps: tuple[str, ...]


@dataclass(frozen=True)
class SuiteOverview:
    namespace: str
    name: str
    ready: str  # the Ready condition's status
    reason: str
    message: str
    gating: str  # "off", or the taint the suite gates with
    gating_problem: str  # GatingReady False: why
    manual_request: str
    platforms: tuple[PlatformOverview, ...] = field(default_factory=tuple)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


def next_steps(
    suite: str, namespace: str, row: Mapping[str, Any], run: Mapping[str, Any] | None
) -> tuple[str, ...]:
    """What a person can do about this platform now, as commands to copy."""
    if "nodes" in row and not row["nodes"]:
        return ()  # history: no node has this platform now, nothing to verify or accept
    ns = f" -n {shlex.quote(namespace)}"
    verdict = str(row.get("verdict") or "Pending")
    name = str(row.get("lastRun") or "")
    platform = shlex.quote(str(row.get("class") or str(row.get("key") or "")[:8]))
    verify = f"benchgate verify {shlex.quote(suite)} --platform {platform}{ns}"
    steps: list[str] = []
    if verdict == "Regressed":
        steps += [
            f"see what regressed: benchgate report {name}{ns}",
            f"fixed it? re-verify: {verify}",
            f'intended? accept it: benchgate accept {name}{ns} --reason "..."',
        ]
    elif verdict == "Inconclusive":
        steps += [
            f"see the data: benchgate report {name}{ns}",
            f"raise spec.sampling.replicates, then: {verify}",
            f'or accept it as the baseline: benchgate accept {name}{ns} --reason "..."',
        ]
    elif verdict in ("Failed", "TimedOut", "Invalid"):
        steps += [
            f"find out why: kubectl describe verificationrun {name}{ns}",
            f"after fixing it: {verify}",
        ]
    elif verdict == "NoBaseline" and str(row.get("reason")) != "BaselinePromoted":
        steps.append(f"make it the baseline: benchgate promote {name}{ns}")
    elif verdict in ("Pending", "Running") and not row.get("waitingFor") and run is None:
        steps.append(f"nothing yet; to verify now: {verify}")
    if row.get("drift"):
        steps.append(
            f"drift against the anchor: benchgate history {shlex.quote(suite)} --platform "
            f"{platform}{ns}; if intended, pin a newer anchor: kubectl annotate rbase "
            f"<baseline>{ns} {crd.ANNOTATION_ANCHOR}=true"
        )
    return tuple(steps)


def overview(
    suites: Sequence[Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    baselines: Sequence[Mapping[str, Any]],
    nodes: Sequence[Mapping[str, Any]] | None,
    now: float,
) -> list[SuiteOverview]:
    """One SuiteOverview per suite, platforms in the order of the suite's status."""
    runs_by_name = {(_meta(r).get("namespace"), _meta(r).get("name")): r for r in runs}
    baselines_by_name = {(_meta(b).get("namespace"), _meta(b).get("name")): b for b in baselines}
    taints = (
        None
        if nodes is None
        else {
            str(_meta(n).get("name")): list((n.get("spec") or {}).get("taints") or [])
            for n in nodes
        }
    )
    out = []
    for suite in sorted(suites, key=lambda s: (_meta(s).get("namespace"), _meta(s).get("name"))):
        meta = _meta(suite)
        ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        status = suite.get("status") or {}
        gating_spec = (suite.get("spec") or {}).get("gating") or {}
        key = str(gating_spec.get("taintKey") or "benchgate.dev/unverified")
        value = owner_value(ns, name)
        enabled = bool(gating_spec.get("enabled"))
        gate = _condition(suite, "GatingReady")
        platforms = []
        for row in status.get("platforms") or []:
            run = runs_by_name.get((ns, row.get("lastRun")))
            run_status = (run or {}).get("status") or {}
            run_meta = _meta(run or {})
            promoted_to = str(
                (run_meta.get("annotations") or {}).get(crd.ANNOTATION_PROMOTED_TO) or ""
            )
            baseline = promoted_to or str(row.get("baseline") or "")
            base_obj = baselines_by_name.get((ns, baseline))
            created = _time(_meta(base_obj or {}).get("creationTimestamp"))
            members = tuple(str(n) for n in row.get("nodes") or [])
            gated: tuple[str, ...] | None = None
            if taints is not None:
                gated = tuple(
                    n
                    for n in members
                    if enabled
                    and any(
                        t.get("key") == key and t.get("value") == value for t in taints.get(n, [])
                    )
                )
            verdict = effective_verdict(run_status) if run else str(row.get("verdict") or "Pending")
            platforms.append(
                PlatformOverview(
                    key=str(row.get("key") or ""),
                    platform_class=str(row.get("class") or ""),
                    nodes=members,
                    gated=gated,
                    verdict=verdict,
                    reason=str(row.get("reason") or ""),
                    latest_run=str(row.get("lastRun") or ""),
                    trigger=str(row.get("trigger") or ""),
                    worst_metric=str(run_status.get("worstMetric") or ""),
                    worst_change=str(run_status.get("worstChange") or ""),
                    message=str(run_status.get("message") or ""),
                    baseline=baseline,
                    baseline_age_seconds=None if created is None else max(0.0, now - created),
                    running=str(row.get("running") or ""),
                    waiting_for=str(row.get("waitingFor") or ""),
                    anchor=str(row.get("anchor") or ""),
                    drift=str(row.get("drift") or ""),
                    next_steps=next_steps(name, ns, {**row, "verdict": verdict}, run),
                )
            )
        ready = _condition(suite, "Ready")
        manual = status.get("manualRequest") or {}
        out.append(
            SuiteOverview(
                namespace=ns,
                name=name,
                ready=str(ready.get("status") or "Unknown"),
                reason=str(ready.get("reason") or ""),
                message=str(ready.get("message") or status.get("message") or ""),
                gating=f"{key}={value}:{gating_spec.get('effect') or 'NoSchedule'}"
                if enabled
                else "off",
                gating_problem=str(gate.get("message") or "")
                if gate.get("status") == "False"
                else "",
                manual_request=(
                    f"{manual.get('token')}: {manual.get('state')} - {manual.get('message')}"
                    if manual.get("token")
                    else ""
                ),
                platforms=tuple(platforms),
            )
        )
    return out


def exit_code(suites: Sequence[SuiteOverview]) -> int:
    """1 when a platform regressed or failed, 2 when one is inconclusive, else 0. A
    platform with no nodes now is history (its key changed) and counts for nothing."""
    verdicts = {p.verdict for s in suites for p in s.platforms if p.nodes}
    if verdicts & NOT_OK:
        return 1
    if verdicts & UNDECIDED:
        return 2
    return 0


def age(seconds: float | None) -> str:
    """kubectl's short ages: 45s, 12m, 5h, 3d."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= size):
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        (indent + "   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def render(suites: Sequence[SuiteOverview], *, wide: bool = False) -> str:
    """The human view: one block per suite, a table of platforms, then details and next
    steps for each platform that needs attention."""
    if not suites:
        return "No RegressionSuites found.\n"
    lines: list[str] = []
    for suite in suites:
        lines.append(
            f"RegressionSuite {suite.namespace}/{suite.name}: Ready={suite.ready}"
            + (f" ({suite.reason})" if suite.reason else "")
            + (f" - {suite.message}" if suite.message else "")
        )
        gating = f"gating: {suite.gating}"
        if suite.gating_problem:
            gating += f" - NOT GATING: {suite.gating_problem}"
        lines.append(f"  {gating}")
        if suite.manual_request:
            lines.append(f"  last manual request: {suite.manual_request}")
        header = [
            "PLATFORM",
            "NODES",
            "VERDICT",
            "WORST METRIC",
            "CHANGE",
            "GATED",
            "BASELINE",
            "AGE",
        ]
        if wide:
            header += ["LATEST RUN", "TRIGGER", "ANCHOR", "KEY"]
        rows = [header]
        for p in suite.platforms:
            gated = (
                "?" if p.gated is None else (f"{len(p.gated)}/{len(p.nodes)}" if p.gated else "no")
            )
            row = [
                p.platform_class or p.key[:8],
                ",".join(p.nodes) if len(p.nodes) <= 3 else f"{len(p.nodes)} nodes",
                # The platform whose run became the baseline: "NoBaseline" would read wrong.
                "Baseline" if p.reason == "BaselinePromoted" else p.verdict,
                p.worst_metric or "-",
                p.worst_change or "-",
                gated,
                p.baseline or "-",
                age(p.baseline_age_seconds),
            ]
            if wide:
                row += [p.latest_run or "-", p.trigger or "-", p.anchor or "-", p.key[:8]]
            rows.append(row)
        if len(rows) > 1:
            lines += _table(rows)
        else:
            lines.append("  no platform: no node matches spec.nodeSelector")
        for p in suite.platforms:
            notes = []
            if p.running:
                notes.append(f"running: {p.running}")
            if p.waiting_for:
                notes.append(f"waiting for: {p.waiting_for}")
            if p.verdict in NOT_OK | UNDECIDED and p.message:
                notes.append(f"{p.latest_run} ({p.trigger or 'run'}): {p.message}")
            if p.drift:
                notes.append(f"drift: {p.drift}")
            if not notes and not p.next_steps:
                continue
            lines.append(f"  {p.platform_class or p.key[:8]}:")
            lines += [f"    {n}" for n in notes]
            lines += [f"    next: {s}" for s in p.next_steps]
        lines.append("")
    return "\n".join(lines)


def to_data(suites: Sequence[SuiteOverview]) -> dict[str, Any]:
    """The JSON/YAML form (camelCase keys, for scripts)."""

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(w.title() for w in rest)

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {camel(k): convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    return {"suites": [convert(asdict(s)) for s in suites]}
