"""RegressionBaseline status: Ready once its samples ConfigMap holds a valid document.

Every outcome ends in a condition: a document that does not parse is `SamplesMissing`
at once (no retry: it will not parse better), and a ConfigMap that does not appear
within SAMPLES_WAIT_SECONDS is `SamplesMissing` too, rather than a retry every 2 s
forever. The next operator start (resume) looks again.
"""

from __future__ import annotations

from typing import Any, Final

import kopf

from benchgate.api import conditions as c
from benchgate.api import crd
from benchgate.api.result import ResultDocumentError
from benchgate.controllers import state
from benchgate.controllers.runs import load_document

RETRY_DELAY_SECONDS: Final = 2
# The promoting reconcile creates the ConfigMap right after the baseline: seconds, not this.
SAMPLES_WAIT_SECONDS: Final = 60


@kopf.on.resume(crd.GROUP, crd.VERSION, crd.BASELINE_PLURAL)
@kopf.on.create(crd.GROUP, crd.VERSION, crd.BASELINE_PLURAL)
async def baseline_ready(**kwargs: Any) -> None:
    body = dict(kwargs["body"])
    meta = body["metadata"]
    status = dict(body.get("status") or {})
    configmap = str((body.get("spec") or {}).get("samplesConfigMap", ""))
    generation = int(meta.get("generation") or 0)
    try:
        document = await load_document(meta["namespace"], configmap)
    except ResultDocumentError as exc:
        condition = c.Condition(
            c.READY,
            "False",
            c.SAMPLES_MISSING,
            f"ConfigMap {configmap} holds no valid document: {exc}",
        )
        document = None
    else:
        if document is None and int(kwargs.get("retry") or 0) * RETRY_DELAY_SECONDS < (
            SAMPLES_WAIT_SECONDS
        ):
            # The promoting reconcile creates the ConfigMap right after the baseline.
            raise kopf.TemporaryError(
                f"waiting for ConfigMap {configmap}", delay=RETRY_DELAY_SECONDS
            )
        if document is None:
            condition = c.Condition(
                c.READY,
                "False",
                c.SAMPLES_MISSING,
                f"ConfigMap {configmap} with the samples did not appear within "
                f"{SAMPLES_WAIT_SECONDS}s; runs cannot be compared with this baseline",
            )
        else:
            condition = c.Condition(
                c.READY, "True", c.SAMPLES_STORED, f"samples in ConfigMap {configmap}"
            )
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
    await state.api().patch_status(crd.BASELINE_PLURAL, meta["namespace"], meta["name"], new_status)
