"""scripts/gpu-check runs without a GPU: the CUDA parts are skipped, saying so, and the
report still holds what the CPU can measure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU the check runs for real")
def test_the_gpu_check_skips_the_gpu_parts_on_a_cpu_machine(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gpu-check"),
            "--out",
            str(out),
            "--budget-seconds",
            "300",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["schema"] == "benchgate.dev/gpu-check/v1" and report["ok"] is True
    assert report["environment"]["cuda_available"] is False
    assert "torch" in report["environment"]
    steps = report["steps"]
    tests = steps["gpu_tests"]
    assert tests["status"] == "skipped" and tests["counts"]["tests"] > 0
    assert tests["counts"]["skipped"] == tests["counts"]["tests"], "GPU tests skip, never fail"
    assert steps["gpu_sample_suite"] == {
        "status": "skipped",
        "seconds": 0.0,
        "reason": "no CUDA device",
    }
    predicted = steps["prediction_cuda_vs_cpu"]
    assert predicted["status"] == "ok" and predicted["cuda"]["status"] == "skipped"
    assert predicted["prediction"]["inputs"] == 1024, "the full-size reference model ran"
    assert predicted["prediction"]["bitwiseIdentical"] is True, "CPU reruns are deterministic"
    assert report["total_seconds"] < 300
