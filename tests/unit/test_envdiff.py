"""Environment diff: ranking and what is ignored."""

from __future__ import annotations

from benchgate.api.result import FingerprintField
from benchgate.domain.envdiff import diff_fingerprints


def _fp(**groups: dict[str, object]) -> dict[str, dict[str, FingerprintField]]:
    return {
        g: {f: FingerprintField(value=v, source="t") for f, v in fields.items()}
        for g, fields in groups.items()
    }


def test_driver_change_ranks_first_and_volatile_fields_are_ignored() -> None:
    before = _fp(
        driver={"driver_version": "550.54"},
        environment={"OMP_NUM_THREADS": None},
        runtime={"cuda_matmul_allow_tf32": False},
        host={"cpu_count": 16},
        software={"torch_version": "2.13.0", "numpy_version": "2.4"},
        volatile={"collected_at": "t1"},
        gpu={"gpu_temperature": 40, "pid": 1},
    )
    after = _fp(
        driver={"driver_version": "560.35"},
        environment={"OMP_NUM_THREADS": "4"},
        runtime={"cuda_matmul_allow_tf32": True},
        host={"cpu_count": 8},
        software={"torch_version": "2.13.1", "numpy_version": "2.4"},
        volatile={"collected_at": "t2"},
        gpu={"gpu_temperature": 70, "pid": 2},
    )
    changes = diff_fingerprints(before, after)
    summaries = [c.summary for c in changes]
    assert summaries == [
        "driver.driver_version: 550.54 -> 560.35",
        "software.torch_version: 2.13.0 -> 2.13.1",
        "runtime.cuda_matmul_allow_tf32: False -> True",
        "environment.OMP_NUM_THREADS: (unset) -> 4",
        "host.cpu_count: 16 -> 8",
    ]


def test_identical_fingerprints_have_no_changes_and_status_changes_count() -> None:
    fp = _fp(driver={"driver_version": "550"})
    assert diff_fingerprints(fp, fp) == ()
    lost = {"driver": {"driver_version": FingerprintField(value=None, status="unavailable")}}
    (change,) = diff_fingerprints(fp, lost)
    assert change.after_status == "unavailable" and "(unavailable)" in change.summary


def test_kubernetes_platform_fields_and_gpu_name_rank_with_the_driver() -> None:
    before = {
        "kubernetes": {
            "kernel_version": {"value": "6.1", "status": "ok"},
            "node_name": {"value": "a", "status": "ok"},
        },
        "gpu.0": {
            "name": {"value": "H100", "status": "ok"},
            "clock_sm_max_mhz": {"value": 1980, "status": "ok"},
        },
    }
    after = {
        "kubernetes": {
            "kernel_version": {"value": "6.8", "status": "ok"},
            "node_name": {"value": "b", "status": "ok"},
        },
        "gpu.0": {
            "name": {"value": "H200", "status": "ok"},
            "clock_sm_max_mhz": {"value": 1755, "status": "ok"},
        },
    }
    ranked = [(c.group, c.field, c.rank) for c in diff_fingerprints(before, after)]
    assert ranked[:2] == [("gpu.0", "name", 0), ("kubernetes", "kernel_version", 0)]
    assert ranked[-1][1] == "node_name"


def test_field_missing_on_one_side_is_reported_as_absent() -> None:
    (change,) = diff_fingerprints(_fp(host={}), _fp(host={"numa_nodes": 2}))
    assert change.before_status == "absent" and change.summary.endswith("(absent) -> 2")
