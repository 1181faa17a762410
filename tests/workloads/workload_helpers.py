"""Helpers for the workload tests: the workload process, `benchgate`, tiny suites."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchgate.api.result import ResultDocument, extract_from_log, loads


def workload_process(
    args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """`python -m benchgate_workloads ...` in a fresh process (as a Job pod runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "benchgate_workloads", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def benchgate(
    args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """The `benchgate` command line in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "benchgate.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def document_from_stdout(proc: subprocess.CompletedProcess[str]) -> ResultDocument:
    assert proc.returncode == 0, f"workload process failed ({proc.returncode}):\n{proc.stderr}"
    return extract_from_log(proc.stdout)


def read_document(path: Path) -> ResultDocument:
    return loads(path.read_text())


def write_suite(
    path: Path,
    workloads: Sequence[str],
    *,
    replicates: int = 3,
    repetitions: int = 2,
    extra: str = "",
) -> Path:
    """A tiny RegressionSuite YAML; `extra` is appended under the first workload."""
    lines = [
        "apiVersion: benchgate.dev/v1alpha1",
        "kind: RegressionSuite",
        "metadata: {name: workload-tests, namespace: default}",
        "spec:",
        "  size: tiny",
        "  image: ghcr.io/benchgate/workload:0.1.0",
        "  workloads:",
    ]
    for i, name in enumerate(workloads):
        lines.append(f"    - name: {name}")
        if i == 0 and extra:
            lines += [f"      {line}" for line in extra.strip().splitlines()]
    lines += [
        f"  sampling: {{replicates: {replicates}, repetitions: {repetitions}, mode: fixed}}",
        '  statistics: {confidence: "0.95", tolerancePercent: 3, errorFactor: 2}',
        "  timeoutSeconds: 300",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
