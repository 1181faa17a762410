"""Fixtures for the sandbox's own tests: a started Sandbox and clients speaking to it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_http import Raw

from benchgate_sandbox.testing import Sandbox

FIXTURES = Path(__file__).parent / "fixtures"
WIDGET_CRD = FIXTURES / "widgets-crd.yaml"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(workdir=tmp_path / "sandbox", bookmark_interval=0.3, job_backoff=0.05) as sb:
        # The official client reads $KUBECONFIG when it is imported; tests also pass the
        # file explicitly, but keep the environment consistent for anything that reads it.
        previous = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = str(sb.kubeconfig_path)
        try:
            yield sb
        finally:
            if previous is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = previous


@pytest.fixture
def widgets(sandbox: Sandbox) -> Sandbox:
    sandbox.install_crds([WIDGET_CRD])
    return sandbox


@pytest.fixture
def api(sandbox: Sandbox) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=str(sandbox.kubeconfig_path))


@pytest.fixture
def raw(sandbox: Sandbox) -> Raw:
    return Raw(sandbox.url, sandbox.ca_path, sandbox.admin_token)
