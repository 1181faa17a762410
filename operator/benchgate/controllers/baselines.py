"""RegressionBaseline status: Ready once its samples ConfigMap holds a valid document.

A timer looks at every baseline that is not Ready yet: a promotion creates the baseline
and then its ConfigMap, so a missing ConfigMap is first "on its way" (Ready Unknown,
WaitingForSamples) and, past SAMPLES_GRACE_SECONDS after the baseline's creation, gone
(Ready False, SamplesMissing). The timer keeps looking quietly (no log line per tick), so
a ConfigMap created later (a promotion finished after an operator restart) still makes
the baseline Ready; once Ready, the timer stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from benchgate.api import conditions as c
from benchgate.api import crd
from benchgate.api.result import ResultDocument, ResultDocumentError
from benchgate.controllers import state
from benchgate.controllers.guard import guarded
from benchgate.controllers.runs import load_document
from benchgate.k8s.errors import Failure


def not_ready(status: Mapping[str, Any], **_: Any) -> bool:
    return not c.is_true((status or {}).get("conditions") or [], c.READY)


@kopf.timer(
    crd.GROUP,
    crd.VERSION,
    crd.BASELINE_PLURAL,
    interval=state.BASELINE_INTERVAL,
    initial_delay=0.2,
    when=not_ready,
)
async def baseline_ready(**kwargs: Any) -> None:
    body = dict(kwargs["body"])
    meta = body["metadata"]

    async def record(failure: Failure) -> None:
        await write_condition(
            body,
            c.Condition(
                c.READY,
                "False",
                c.RECONCILE_FAILED,
                f"the operator cannot check this baseline: {failure.message} ({failure.reason})",
            ),
            None,
        )

    await guarded(
        crd.BASELINE_KIND,
        f"RegressionBaseline {meta['namespace']}/{meta['name']}",
        lambda: _check(body),
        retry=int(kwargs.get("retry") or 0),
        logger=kwargs["logger"],
        on_permanent=record,
        retry_permanent_after=state.PERMANENT_RETRY_SECONDS,
    )


async def _check(body: Mapping[str, Any]) -> None:
    meta = body["metadata"]
    configmap = str((body.get("spec") or {}).get("samplesConfigMap", ""))
    try:
        document = await load_document(meta["namespace"], configmap)
    except ResultDocumentError as exc:
        condition = c.Condition(
            c.READY,
            "False",
            c.SAMPLES_MISSING,
            f"ConfigMap {configmap} holds no valid document: {exc}",
        )
        await write_condition(body, condition, None)
        return
    if document is not None:
        condition = c.Condition(
            c.READY, "True", c.SAMPLES_STORED, f"samples in ConfigMap {configmap}"
        )
    elif state.clock() - state.parse_time(meta.get("creationTimestamp")) < (
        state.SAMPLES_GRACE_SECONDS
    ):
        condition = c.Condition(
            c.READY,
            "Unknown",
            c.WAITING_FOR_SAMPLES,
            f"waiting for ConfigMap {configmap}, which the promotion creates",
        )
    else:
        condition = c.Condition(
            c.READY,
            "False",
            c.SAMPLES_MISSING,
            f"ConfigMap {configmap} with the samples did not appear within "
            f"{state.SAMPLES_GRACE_SECONDS:g}s of the baseline's creation; runs cannot be "
            "compared with this baseline. Promote the run again, or delete this baseline",
        )
    await write_condition(body, condition, document)


async def write_condition(
    body: Mapping[str, Any], condition: c.Condition, document: ResultDocument | None
) -> None:
    """Write the baseline's status when it changes (never a write per tick)."""
    meta = body["metadata"]
    status = dict(body.get("status") or {})
    generation = int(meta.get("generation") or 0)
    new_status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": c.merge(
            status.get("conditions"), [condition], now=state.now(), generation=generation
        ),
    }
    if document is not None:
        keys = list(document.metrics())
        new_status["metrics"] = len(keys)
        new_status["replicates"] = max((len(m.samples) for _, m in keys), default=0)
    if all(status.get(k) == v for k, v in new_status.items()):
        return
    await state.api().patch_status(crd.BASELINE_PLURAL, meta["namespace"], meta["name"], new_status)
