"""Fixtures: one sandbox and one real operator process per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from controller_harness import ROOT, Cluster, Operator

from benchgate_sandbox.testing import Sandbox


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("controllers")
    with Sandbox(workdir=workdir / "sandbox", bookmark_interval=0.3, job_backoff=0.05) as sb:
        sb.install_crds([ROOT / "crds"])
        operator = Operator(sb, workdir / "operator.log")
        operator.start()
        try:
            yield Cluster(sb, operator)
        finally:
            operator.stop()
