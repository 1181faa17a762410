"""Fixtures: a started sandbox and benchgate's own API wrapper speaking to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchgate.k8s.client import Api
from benchgate_sandbox.testing import Sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(workdir=tmp_path / "sandbox", bookmark_interval=0.3, job_backoff=0.05) as sb:
        yield sb


@pytest.fixture
def api(sandbox: Sandbox) -> Api:
    from kubernetes import config

    return Api(config.new_client_from_config(config_file=str(sandbox.kubeconfig_path)))
