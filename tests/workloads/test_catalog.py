"""The workload catalog the operator ships is the one the workloads package declares."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchgate.api.catalog import CATALOG_FILE, load_catalog
from benchgate_workloads import registry

SCRIPT = Path(sys.executable).parent / "benchgate-workload"


def test_the_shipped_catalog_equals_benchgate_workload_list_json() -> None:
    live = subprocess.run(
        [str(SCRIPT), "list", "--json", "--builtin"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert json.loads(live) == json.loads(CATALOG_FILE.read_text()), (
        "operator/benchgate/api/workload_catalog.json is out of date: run `make catalog`"
    )


def test_the_catalog_knows_every_registered_workload() -> None:
    catalog = load_catalog()
    assert sorted(catalog.workloads) == sorted(registry.NAMES)
    assert catalog.reports("gemm_throughput", "gflops_bf16_8192"), "the GPU sample's override"
    assert catalog.reports("gemm_throughput", "gflops_fp32"), "the tiny/CPU name"
    assert not catalog.reports("gemm_throughput", "gflop_fp32"), "a typo is not a metric"
    assert not catalog.reports("gemm_throughput", "final_loss"), "another workload's metric"
