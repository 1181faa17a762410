"""All kopf settings in one startup handler, plus the restart-time metrics rebuild."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

import kopf

from benchgate import metrics
from benchgate.api import crd
from benchgate.controllers import state

logger = logging.getLogger("benchgate.operator")

# The component named on every Event the operator posts (source.component and
# reportingComponent).
REPORTING_COMPONENT = "benchgate"


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # kopf's bookkeeping goes under our own prefix, on our own CRs only.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=crd.ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=crd.ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{crd.GROUP}/kopf-finalizer"
    # One replica by default; with BENCHGATE_PEERING=<name> replicas hand over via kopf
    # peering (needs the KopfPeering CRD installed).
    peering = os.environ.get("BENCHGATE_PEERING", "")
    if peering:
        settings.peering.name = peering
        settings.peering.mandatory = True
        settings.peering.standalone = False
    else:
        settings.peering.standalone = True
    settings.posting.enabled = True
    settings.posting.level = logging.INFO
    # kopf reports its Events as component "kopf" ("From: kopf" in `kubectl describe`);
    # a cluster admin filtering Events by source must see who actually decided.
    settings.posting.reporting_component = REPORTING_COMPONENT
    settings.posting.reporting_instance = os.environ.get("POD_NAME", "") or socket.gethostname()
    settings.posting.event_name_prefix = f"{REPORTING_COMPONENT}-"
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
    settings.execution.max_workers = 8

    logger.info("cluster policy: %s", state.policy().summary())
    port = os.environ.get("BENCHGATE_METRICS_PORT", "")
    if port and port != "0":
        metrics.start_metrics_server(int(port))
        logger.info("metrics on :%s/metrics", port)
    await rebuild_metrics()


async def rebuild_metrics() -> None:
    """Restore the exported gauges from the API: state lives there, not in memory."""
    api = state.api()
    try:
        suites = await api.list_custom(crd.SUITE_PLURAL, None)
        runs = await api.list_custom(crd.RUN_PLURAL, None)
    except Exception as exc:  # no cluster-wide list right (namespaced install): skip
        logger.warning("could not rebuild metrics from status: %s", exc)
        return
    metrics.rebuild_from_status(suites, runs)
