"""RegressionSuite reconcile: nodes -> platforms -> triggers -> VerificationRuns -> status.

A timer re-derives everything from the API (nodes from the index, runs by label), so a
restart at any point resumes where the API says things are: run names are deterministic
and creating one that exists is a no-op.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from benchgate import metrics
from benchgate.api import conditions as c
from benchgate.api import crd
from benchgate.api.catalog import catalog_causes
from benchgate.api.structural import Cause
from benchgate.api.suite import GatingSpec, SuiteSpec, SuiteSpecError, parse_suite
from benchgate.controllers import events, state
from benchgate.controllers.guard import guarded
from benchgate.controllers.nodes import NodeSnapshot, nodes_from_index
from benchgate.domain import gating, policy
from benchgate.domain import status as st
from benchgate.domain.jobs import Owner
from benchgate.domain.manual import VerifyRequestError, parse_request, plan_manual
from benchgate.domain.platform import node_platform
from benchgate.domain.triggers import (
    NodeState,
    RunRequest,
    SuiteState,
    decide,
    run_record,
    suite_state,
)
from benchgate.k8s.errors import Failure


def run_finished(run: Mapping[str, Any]) -> bool:
    return c.is_true((run.get("status") or {}).get("conditions") or [], c.COMPLETE)


def matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def node_states(suite: SuiteSpec, nodes: list[NodeSnapshot]) -> list[NodeState]:
    out = []
    for node in nodes:
        if not matches(suite.operator.node_selector, node.labels):
            continue
        out.append(
            NodeState(
                name=node.name,
                platform=node_platform(node.labels, node.node_info, suite.operator.platform),
                changed_at=node.changed_at,
                ready=node.ready,
                schedulable=node.schedulable,
            )
        )
    return out


async def baseline_causes(suite: SuiteSpec) -> list[Cause]:
    """An Explicit baseline must exist before a run is compared with it."""
    policy = suite.operator.baseline
    if policy.policy != "Explicit":
        return []
    if await state.api().get(crd.BASELINE_KIND, suite.namespace, policy.name) is not None:
        return []
    return [
        Cause(
            "FieldValueNotFound",
            "spec.baseline.name",
            f'Not found: "{policy.name}": no RegressionBaseline {policy.name} in namespace '
            f"{suite.namespace}; promote a passed run to create it, or use policy "
            "ClosestFingerprint",
        )
    ]


def run_manifest(
    suite: SuiteSpec, suite_body: Mapping[str, Any], spec_hash: str, request: RunRequest
) -> dict[str, Any]:
    meta = suite_body["metadata"]
    owner = Owner(crd.API_VERSION, crd.SUITE_KIND, meta["name"], meta["uid"])
    return {
        "apiVersion": crd.API_VERSION,
        "kind": crd.RUN_KIND,
        "metadata": {
            "name": request.name,
            "namespace": suite.namespace,
            "labels": {
                crd.LABEL_SUITE: suite.name,
                crd.LABEL_PLATFORM: request.platform.short,
                crd.LABEL_HARDWARE_CLASS: request.platform.hardware_class[:63].strip("-"),
                crd.LABEL_MANAGED_BY: crd.MANAGED_BY,
                crd.LABEL_PART_OF: "benchgate",
            },
            "ownerReferences": [owner.reference()],
        },
        "spec": {
            "suite": {"name": suite.name, "generation": int(meta.get("generation") or 0)},
            "platform": request.platform.to_spec(),
            "nodes": list(request.nodes),
            "trigger": {
                "reason": request.reason,
                "message": request.message[:4096],
                "token": request.token,
            },
            "image": suite.image,
            "specHash": spec_hash,
        },
    }


def summary_of(run: Mapping[str, Any]) -> st.RunSummary:
    spec = run.get("spec") or {}
    status = run.get("status") or {}
    verified = c.find(status.get("conditions") or [], c.VERIFIED) or {}
    platform = spec.get("platform") or {}
    anchor = status.get("anchor") or {}
    drifted = c.find(status.get("conditions") or [], c.DRIFTED) or {}
    return st.RunSummary(
        name=run["metadata"]["name"],
        platform_key=str(platform.get("key", "")),
        platform_class=str(platform.get("class", "")),
        created_at=state.parse_time(run["metadata"].get("creationTimestamp")),
        verdict=st.effective_verdict(status),
        reason=str(verified.get("reason", "")),
        baseline=str((status.get("baseline") or {}).get("name", "")),
        last_transition=str(status.get("completedAt") or ""),
        trigger=str((spec.get("trigger") or {}).get("reason") or ""),
        progress=str(status.get("message") or "waiting for the operator"),
        anchor=str(anchor.get("name") or ""),
        drift=str(anchor.get("message") or "") if drifted.get("status") == "True" else "",
    )


async def collect_garbage(
    namespace: str, runs: list[dict[str, Any]], limit: int, logger: logging.Logger
) -> list[dict[str, Any]]:
    """Delete the oldest finished runs beyond `limit` per platform; returns the kept ones.
    Their Jobs and ConfigMaps go with them (owner references)."""
    by_platform: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        key = str(((run.get("spec") or {}).get("platform") or {}).get("key", ""))
        by_platform.setdefault(key, []).append(run)
    doomed: set[str] = set()
    for members in by_platform.values():
        finished = sorted(
            (r for r in members if run_finished(r)),
            key=lambda r: (r["metadata"].get("creationTimestamp", ""), r["metadata"]["name"]),
            reverse=True,
        )
        for run in finished[limit:]:
            doomed.add(run["metadata"]["name"])
    for name in sorted(doomed):
        logger.info("historyLimit: deleting VerificationRun %s", name)
        await state.api().delete_custom(crd.RUN_PLURAL, namespace, name)
    return [r for r in runs if r["metadata"]["name"] not in doomed]


async def write_status(body: Mapping[str, Any], status: dict[str, Any]) -> None:
    current = dict(body.get("status") or {})
    if all(current.get(k) == v for k, v in status.items()):
        return  # nothing changed: no write, no watch event for everyone else
    meta = body["metadata"]
    await state.api().patch_status(crd.SUITE_PLURAL, meta["namespace"], meta["name"], status)


@kopf.index(crd.GROUP, crd.VERSION, crd.SUITE_PLURAL)
def taint_claims(body: kopf.Body, **_: Any) -> dict[str, gating.Claim]:
    """Which suite gates with which taint key: every operator process (and every restart)
    sees the same suites in the API, so every one picks the same owner of a key. A suite
    in a namespace the cluster policy does not let gate claims nothing: an older suite
    elsewhere must not keep a permitted suite from its key."""
    meta = body.get("metadata") or {}
    if not state.policy().gating_allowed(str(meta.get("namespace", ""))):
        return {}
    try:
        spec = GatingSpec.from_spec((body.get("spec") or {}).get("gating"))
    except SuiteSpecError:
        return {}
    if not spec.enabled:
        return {}
    claim = gating.Claim(
        spec.taint_key,
        str(meta.get("namespace", "")),
        str(meta.get("name", "")),
        str(meta.get("creationTimestamp", "")),
        str(meta.get("uid", "")),
    )
    return {spec.taint_key: claim}


@kopf.timer(
    crd.GROUP, crd.VERSION, crd.SUITE_PLURAL, interval=state.SUITE_INTERVAL, initial_delay=0.5
)
async def reconcile_suite(**kwargs: Any) -> None:
    body = dict(kwargs["body"])
    name, namespace, logger = kwargs["name"], kwargs["namespace"], kwargs["logger"]

    async def record(failure: Failure) -> None:
        await record_failure(body, failure)

    await guarded(
        crd.SUITE_KIND,
        f"RegressionSuite {namespace}/{name}",
        lambda: _reconcile(
            body, name, namespace, kwargs["node_index"], kwargs["taint_claims"], logger
        ),
        retry=int(kwargs.get("retry") or 0),
        logger=logger,
        on_permanent=record,
        retry_permanent_after=state.PERMANENT_RETRY_SECONDS,
    )


async def record_failure(body: Mapping[str, Any], failure: Failure) -> None:
    """A permanent error met while reconciling the suite (guard.guarded): Ready False and
    Degraded True say why, with one Warning Event when that news is new."""
    meta = body["metadata"]
    status = body.get("status") or {}
    existing = status.get("conditions") or []
    generation = int(meta.get("generation") or 0)
    message = f"the operator cannot reconcile this suite: {failure.message} ({failure.reason})"
    conditions = c.merge(
        existing,
        [
            c.Condition(c.READY, "False", c.RECONCILE_FAILED, message),
            c.Condition(c.DEGRADED, "True", c.RECONCILE_FAILED, message),
        ],
        now=state.now(),
        generation=generation,
    )
    await write_status(body, {"conditions": conditions, "message": message[:1024]})
    if (c.find(existing, c.READY) or {}).get("message") != message:
        events.post(body, warning=True, reason=c.RECONCILE_FAILED, message=message)
    metrics.set_suite_conditions(
        namespace=meta["namespace"], suite=meta["name"], conditions=conditions
    )


async def _reconcile(
    body: dict[str, Any],
    name: str,
    namespace: str,
    node_index: Mapping[str, Any],
    claim_index: Mapping[str, Any],
    logger: logging.Logger,
) -> None:
    api = state.api()
    generation = int(body["metadata"].get("generation") or 0)
    existing = (body.get("status") or {}).get("conditions")
    try:
        suite = parse_suite(body)
        # What the schema cannot know, checked before any run (and so any pod) exists.
        problems = catalog_causes(suite) + await baseline_causes(suite)
        if problems:
            raise SuiteSpecError.from_causes(problems)
    except SuiteSpecError as exc:
        await refuse(body, c.INVALID_SPEC, str(exc))
        return
    # What the cluster lets this suite's pods be, checked before any run (and so any Job).
    refused = policy.pod_refusal(state.policy(), suite)
    if refused is not None:
        await refuse(body, refused.reason, refused.message)
        return
    states = node_states(suite, nodes_from_index(node_index))
    runs = await api.list_custom(crd.RUN_PLURAL, namespace, f"{crd.LABEL_SUITE}={name}")
    records = [
        run_record(r, state.parse_time(r["metadata"].get("creationTimestamp")), run_finished(r))
        for r in runs
    ]
    trigger_state = suite_state(suite)
    plan = decide(trigger_state, states, records, now=state.clock())
    for note in plan.notes:
        logger.debug("suite %s: %s", name, note)
    for request in plan.requests:
        await create_run(body, suite, trigger_state, request, runs, logger)
    manual = await handle_manual(body, suite, trigger_state, states, runs, logger)
    runs = await collect_garbage(namespace, runs, suite.operator.history_limit, logger)

    platforms: dict[str, tuple[str, list[str]]] = {}
    for node in states:
        _class, members = platforms.setdefault(
            node.platform.key, (node.platform.platform_class, [])
        )
        members.append(node.name)
    # Every run, not only those of platforms with nodes now: a platform whose key changed
    # keeps its row as history (domain.status.suite_status says how it counts).
    status = st.suite_status(
        platforms=platforms,
        runs=[summary_of(r) for r in runs],
        existing=existing,
        now=state.now(),
        generation=generation,
        extra={"imageSeen": suite.image, "specHash": trigger_state.spec_hash},
        previous_rows=(body.get("status") or {}).get("platforms"),
        waiting=dict(plan.waiting),
    )
    if manual is not None:
        status["manualRequest"] = manual
    if suite.operator.gating.enabled:
        # Refusals come before any Node write: the cluster policy's, then the key's.
        forbidden = policy.gating_refusal(state.policy(), namespace)
        refusal = (
            (forbidden.reason, forbidden.message)
            if forbidden is not None
            else gating.gating_refusal(
                suite.operator.gating, claim_of(body, suite.operator.gating), claims(claim_index)
            )
        )
        halted: c.Condition | None = None
        if refusal is None:
            refusal, reading = await gate_nodes(
                body, suite, states, nodes_from_index(node_index), runs, logger
            )
            halted = c.Condition(
                c.GATING_HALTED,
                "True" if reading.halted else "False",
                c.FAILURE_SHARE_EXCEEDED if reading.halted else c.FAILURES_WITHIN_CAP,
                reading.message,
            )
        gate = gating_condition(suite.operator.gating, body, refusal)
        status["conditions"] = c.merge(
            status["conditions"],
            [gate] if halted is None else [gate, halted],
            now=state.now(),
            generation=generation,
        )
        announce_gating(body, gate)
        if halted is not None:
            announce_halt(body, halted)
    else:
        status["conditions"] = [
            x
            for x in status["conditions"]
            if x.get("type") not in (c.GATING_READY, c.GATING_HALTED)
        ]
    await write_status(body, status)
    metrics.set_suite_conditions(
        namespace=namespace,
        suite=name,
        conditions=status["conditions"],
        verification_period_seconds=suite.operator.triggers.period_seconds,
    )
    metrics.set_platforms(
        namespace=namespace, suite=name, views=metrics.platform_views(status, runs)
    )


async def refuse(body: Mapping[str, Any], reason: str, message: str) -> None:
    """The suite cannot run (InvalidSpec, or refused by the cluster policy): Ready=False
    with `reason`, no run, and one Warning Event when the news is new."""
    if (body.get("status") or {}).get("message") != message[:1024]:
        events.post(body, warning=True, reason=reason, message=message)
    status = st.suite_status(
        platforms={},
        runs=[],
        existing=(body.get("status") or {}).get("conditions"),
        now=state.now(),
        generation=int(body["metadata"].get("generation") or 0),
        spec_error=message,
        spec_error_reason=reason,
    )
    await write_status(body, status)


async def create_run(
    body: Mapping[str, Any],
    suite: SuiteSpec,
    trigger_state: SuiteState,
    request: RunRequest,
    runs: list[dict[str, Any]],
    logger: logging.Logger,
) -> bool:
    """Create the run `request` asks for (a 409 means it exists: a restart re-asked).
    Appends a newly created run to `runs`; False when the name belongs to another suite."""
    manifest = run_manifest(suite, body, trigger_state.spec_hash, request)
    created_run, created = await state.api().create(manifest)
    owners = {r.get("uid") for r in created_run["metadata"].get("ownerReferences") or []}
    if not created and body["metadata"]["uid"] not in owners:
        # Names hash the suite's full name, so this needs a 32-bit hash collision; if it
        # happens, say so rather than wait forever on another suite's run.
        events.post(
            body,
            warning=True,
            reason=c.RUN_NAME_CONFLICT,
            message=f"VerificationRun {request.name} already exists and belongs to "
            "another suite; this platform cannot be verified until it is deleted",
        )
        return False
    if created:
        runs.append(created_run)
        logger.info(
            "created VerificationRun %s (%s: %s)", request.name, request.reason, request.message
        )
        events.post(
            body,
            warning=False,
            reason=c.VERIFICATION_STARTED,
            message=f"{request.reason}: {request.message}; "
            f"VerificationRun {request.name} on {', '.join(request.nodes)}",
        )
        metrics.record_run_started(
            namespace=suite.namespace, suite=suite.name, trigger=request.reason
        )
    return True


async def handle_manual(
    body: Mapping[str, Any],
    suite: SuiteSpec,
    trigger_state: SuiteState,
    states: list[NodeState],
    runs: list[dict[str, Any]],
    logger: logging.Logger,
) -> dict[str, Any] | None:
    """Act on the suite's benchgate.dev/verify annotation (domain/manual.py); returns the
    status.manualRequest to write (None: there never was a request).

    Restart-safe by construction: the token decides the run names, the API holds the runs,
    and the status records a token as handled only once all its runs exist."""
    previous = dict((body.get("status") or {}).get("manualRequest") or {})
    value = str((body["metadata"].get("annotations") or {}).get(crd.ANNOTATION_VERIFY) or "")
    if not value.strip():
        return previous or None
    words = value.split()
    token = words[0][:63]
    if previous.get("token") == token and previous.get("state") in ("Handled", "Refused"):
        return previous
    record: dict[str, Any]
    try:
        request = parse_request(value)
    except VerifyRequestError as exc:
        record = {
            "token": token,
            "state": "Refused",
            "message": f"annotation {crd.ANNOTATION_VERIFY}: {exc}"[:1024],
        }
    else:
        records = [
            run_record(r, state.parse_time(r["metadata"].get("creationTimestamp")), run_finished(r))
            for r in runs
        ]
        manual = plan_manual(trigger_state, request, states, records)
        conflicts = {
            request_run.name
            for request_run in manual.create
            if not await create_run(body, suite, trigger_state, request_run, runs, logger)
        }
        record = {
            "token": request.token,
            "platform": request.platform,
            "node": request.node,
            "state": manual.state,
            "runs": [n for n in manual.runs if n not in conflicts],
            "message": manual.message[:1024],
        }
    if record["state"] != "Waiting":
        same = previous.get("token") == record["token"] and previous.get("state") == record["state"]
        record["handledTime"] = str(previous.get("handledTime") or "") if same else ""
        record["handledTime"] = record["handledTime"] or c.format_time(state.now())
    if record["state"] == "Refused" and (
        previous.get("token") != record["token"] or previous.get("message") != record["message"]
    ):
        events.post(body, warning=True, reason=c.VERIFY_REFUSED, message=str(record["message"]))
    return record


def claim_of(body: Mapping[str, Any], spec: GatingSpec) -> gating.Claim:
    meta = body["metadata"]
    return gating.Claim(
        spec.taint_key,
        str(meta.get("namespace", "")),
        str(meta.get("name", "")),
        str(meta.get("creationTimestamp", "")),
        str(meta.get("uid", "")),
    )


def claims(index: Mapping[str, Any]) -> list[gating.Claim]:
    """Every claim in the taint_claims index (kopf keeps one store per key)."""
    return [claim for store in index.values() for claim in store]


def gating_condition(
    spec: GatingSpec, body: Mapping[str, Any], refusal: tuple[str, str] | None
) -> c.Condition:
    if refusal is not None:
        return c.Condition(c.GATING_READY, "False", *refusal)
    meta = body["metadata"]
    value = gating.owner_value(str(meta.get("namespace", "")), str(meta.get("name", "")))
    return c.Condition(
        c.GATING_READY,
        "True",
        c.TAINT_KEY_OWNED,
        f"unverified nodes carry {spec.taint_key}={value}:{spec.effect}",
    )


def announce_gating(body: Mapping[str, Any], condition: c.Condition) -> None:
    """One Warning Event when gating is refused (derived from status: the news is the
    change of the GatingReady condition, so neither a tick nor a restart repeats it)."""
    before = c.find((body.get("status") or {}).get("conditions") or [], c.GATING_READY) or {}
    if condition.status == "False" and (
        before.get("reason") != condition.reason or before.get("message") != condition.message
    ):
        events.post(body, warning=True, reason=condition.reason, message=condition.message)


def announce_halt(body: Mapping[str, Any], condition: c.Condition) -> None:
    """One Warning Event when the gating circuit breaker trips (the condition turning
    True is the news; a tick or a restart with it already True repeats nothing)."""
    before = c.find((body.get("status") or {}).get("conditions") or [], c.GATING_HALTED) or {}
    if condition.status == "True" and before.get("status") != "True":
        events.post(body, warning=True, reason=c.GATING_HALTED, message=condition.message)


def _verified_reason(run: Mapping[str, Any]) -> str:
    """The run's Verified reason; a run a human promoted since counts as promoted."""
    if (run["metadata"].get("annotations") or {}).get(crd.ANNOTATION_PROMOTED_TO):
        return c.BASELINE_PROMOTED
    return summary_of(run).reason


Replan = Callable[[tuple[Mapping[str, Any], ...]], gating.TaintChange | None]


async def retaint(node_name: str, replan: Replan) -> gating.TaintChange | None:
    """Read the node fresh (the index may lag), let `replan` decide on its current taints,
    and write the result guarded by the node's resourceVersion. The change written, or
    None: nothing to change, the node is gone, or it changed meanwhile (next reconcile).
    PermissionError when the role may not get or patch Nodes."""
    api = state.api()
    node = await api.get_node(node_name)
    if node is None:
        return None
    change = replan(tuple((node.get("spec") or {}).get("taints") or ()))
    if change is None:
        return None
    written = await api.replace_node_taints(
        node_name, str(node["metadata"].get("resourceVersion", "")), change.taints
    )
    return change if written else None


# How many node names an aggregated gating Event names; the count says how many in all.
EVENT_SAMPLE_NODES = 5


async def gate_nodes(
    body: Mapping[str, Any],
    suite: SuiteSpec,
    states: list[NodeState],
    nodes: list[NodeSnapshot],
    runs: list[dict[str, Any]],
    logger: logging.Logger,
) -> tuple[tuple[str, str] | None, gating.Breaker]:
    """Taint the suite's unverified nodes, release the verified ones (spec.gating).
    Returns why gating is impossible ((reason, message): the role may not patch Nodes)
    or None, and the circuit breaker's reading (domain.gating.breaker).

    Fleet-sized: each change is planned from the node index (no GET per node) and
    written guarded by the indexed resourceVersion, so a node that changed meanwhile is
    left alone until the index has caught up (the next reconcile); the patches go out
    at most GATING_CONCURRENCY at a time; the batch is announced with one Event per
    direction (counts and a sample of node names), not one per node."""
    snapshots = {n.name: n for n in nodes}
    in_scope = [
        gating.GatedNode(
            s.name,
            s.platform.key,
            tuple(snapshots[s.name].taints) if s.name in snapshots else (),
            opted_out=s.name in snapshots
            and snapshots[s.name].labels.get(crd.LABEL_GATING) == crd.GATING_DISABLED,
        )
        for s in states
    ]
    summaries = [(summary_of(r), _verified_reason(r), run_finished(r)) for r in runs]
    latest = gating.latest_finished(
        [(s.platform_key, s.created_at, s.verdict, reason, done) for s, reason, done in summaries]
    )
    spec = suite.operator.gating
    value = gating.owner_value(suite.namespace, suite.name)
    reading = gating.breaker(
        in_scope, latest, state.GATING_BREAKER_SHARE, state.GATING_BREAKER_MIN_NODES
    )
    if reading.halted:
        logger.warning("suite %s: gating halted: %s", suite.name, reading.message)
    planned = [
        p
        for p in gating.plan_taints(spec, value, in_scope, latest, halted=reading.halted)
        if p.node in snapshots
    ]
    if not planned:
        return None, reading
    limit = asyncio.Semaphore(state.GATING_CONCURRENCY)

    async def write(change: gating.TaintChange) -> gating.TaintChange | None:
        async with limit:
            written = await state.api().replace_node_taints(
                change.node, snapshots[change.node].resource_version, change.taints
            )
        if not written:
            logger.debug("node %s changed meanwhile: no taint written; next reconcile", change.node)
        return change if written else None

    results = await asyncio.gather(*(write(p) for p in planned), return_exceptions=True)
    announce_taints(
        body,
        spec.taint_key,
        value,
        [r for r in results if isinstance(r, gating.TaintChange)],
        logger,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    denied = next((e for e in errors if isinstance(e, PermissionError)), None)
    if denied is not None:
        logger.debug("suite %s cannot gate nodes: %s", suite.name, denied)
        return (
            c.GATING_FAILED,
            f"cannot gate nodes ({denied}): install the chart with "
            "gating.enabled=true (RBAC to get and patch Nodes)",
        ), reading
    if errors:
        raise errors[0]  # transient or not, the guard decides (benchgate.controllers.guard)
    return None, reading


def announce_taints(
    body: Mapping[str, Any],
    key: str,
    value: str,
    written: list[gating.TaintChange],
    logger: logging.Logger,
) -> None:
    """One Event (and one log line) per direction for the changes one reconcile wrote."""
    for gated, reason, verb in (
        (True, c.NODE_GATED, "gated"),
        (False, c.NODE_RELEASED, "released"),
    ):
        batch = sorted((w for w in written if w.gated == gated), key=lambda w: w.node)
        if not batch:
            continue
        sample = ", ".join(w.node for w in batch[:EVENT_SAMPLE_NODES])
        more = (
            f" and {len(batch) - EVENT_SAMPLE_NODES} more"
            if len(batch) > EVENT_SAMPLE_NODES
            else ""
        )
        whys = collections.Counter(w.why for w in batch)
        because = "; ".join(f"{n}: {why}" for why, n in whys.most_common(3))
        message = f"{len(batch)} node(s) {verb} ({key}={value}): {sample}{more} ({because})"
        logger.info("%s", message)
        events.post(body, warning=False, reason=reason, message=message[:1024])


@kopf.on.delete(crd.GROUP, crd.VERSION, crd.SUITE_PLURAL, optional=True)
async def forget_suite(**kwargs: Any) -> None:
    """Children go through owner references; the exported series are forgotten, and a
    gating suite takes its own taint off the nodes it gated (best effort: no finalizer
    holds the suite, so a deletion while the operator is down leaves the taints; see
    docs/gating.md)."""
    name, namespace = kwargs["name"], kwargs["namespace"]
    metrics.forget_suite(namespace=namespace, suite=name)
    try:
        spec = GatingSpec.from_spec((kwargs["body"].get("spec") or {}).get("gating"))
    except SuiteSpecError:
        return
    if not spec.enabled:
        return
    value = gating.owner_value(namespace, name)
    for snap in nodes_from_index(kwargs["node_index"]):
        if gating.released(spec.taint_key, value, snap.name, snap.taints, name) is None:
            continue
        try:
            await retaint(
                snap.name,
                functools.partial(gating.released, spec.taint_key, value, snap.name, suite=name),
            )
        except PermissionError as exc:
            kwargs["logger"].warning(
                "suite deleted, cannot remove %s from %s: %s", spec.taint_key, snap.name, exc
            )
            return
