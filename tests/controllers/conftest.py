"""Fixtures: one sandbox and one real operator process per test module.

The operator runs as the chart's ServiceAccount with exactly the chart's RBAC, admission
policy and flags (tests/chart_install.py), in a sandbox whose namespaces enforce Pod
Security "restricted" unless labelled otherwise: every verification pod of these tests
must meet that profile, and every API call the operator makes must be granted by the
chart.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from controller_harness import CHART_VALUES, OPERATOR_NAMESPACE, ROOT, Cluster, Operator

from benchgate_sandbox.testing import Sandbox
from chart_install import install


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("controllers")
    with Sandbox(
        workdir=workdir / "sandbox",
        bookmark_interval=0.3,
        job_backoff=0.05,
        pod_security="restricted",
    ) as sb:
        sb.install_crds([ROOT / "crds"])
        installed = install(sb, CHART_VALUES, namespace=OPERATOR_NAMESPACE)
        operator = Operator(sb, workdir / "operator.log", installed)
        operator.start()
        try:
            yield Cluster(sb, operator)
        finally:
            operator.stop()
