"""The fingerprint degrades field by field, never crashes, and joins GPUs by UUID.

A fake `pynvml` module stands in for NVML on this GPU-less machine for the `ok` and
`not_supported` paths; the real nvidia-ml-py (installed here, without a driver) exercises
the `unavailable` path.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from benchgate.api.result import ResultDocument, RunIdentity, dumps, loads
from benchgate_workloads import fingerprint, nvml
from benchgate_workloads.fingerprint import TorchDevice


class FakeNVMLError(Exception):
    pass


class FakeNotSupported(FakeNVMLError):
    pass


class FakeLibraryNotFound(FakeNVMLError):
    pass


def fake_pynvml(
    *, init_error: type[Exception] | None = None, not_supported: frozenset[str] = frozenset()
) -> types.ModuleType:
    """A pynvml stand-in with two GPUs whose NVML order differs from torch's order."""
    m = types.ModuleType("pynvml")
    m.NVMLError = FakeNVMLError  # type: ignore[attr-defined]
    m.NVMLError_NotSupported = FakeNotSupported  # type: ignore[attr-defined]
    m.NVMLError_LibraryNotFound = FakeLibraryNotFound  # type: ignore[attr-defined]
    m.calls = []  # type: ignore[attr-defined]
    boards = {
        "GPU-aaaa": {"name": "NVIDIA H100 80GB HBM3", "vbios": "96.00.89.00.01", "ecc": 1},
        "GPU-bbbb": {"name": "NVIDIA H100 80GB HBM3", "vbios": "96.00.99.00.01", "ecc": 0},
    }

    def api(name: str, result: Any) -> None:
        def call(*args: Any) -> Any:
            m.calls.append(name)  # type: ignore[attr-defined]
            if name in not_supported:
                raise FakeNotSupported(name)
            return result(*args) if callable(result) else result

        setattr(m, name, call)

    def init() -> None:
        m.calls.append("nvmlInit")  # type: ignore[attr-defined]
        if init_error is not None:
            raise init_error("init failed")

    m.nvmlInit = init  # type: ignore[attr-defined]
    api("nvmlShutdown", None)
    api("nvmlSystemGetDriverVersion", "550.54.15")
    api("nvmlSystemGetCudaDriverVersion_v2", 12040)
    api("nvmlSystemGetNVMLVersion", "12.550.54.15")
    api("nvmlDeviceGetHandleByUUID", lambda uuid: boards[uuid])
    api("nvmlDeviceGetName", lambda h: h["name"])
    api("nvmlDeviceGetVbiosVersion", lambda h: h["vbios"])
    api("nvmlDeviceGetEccMode", lambda h: [h["ecc"], h["ecc"]])
    api("nvmlDeviceGetTotalEccErrors", lambda h, kind, counter: 0)
    api("nvmlDeviceGetCurrPcieLinkGeneration", 5)
    api("nvmlDeviceGetMaxPcieLinkGeneration", 5)
    api("nvmlDeviceGetCurrPcieLinkWidth", 16)
    api("nvmlDeviceGetMaxPcieLinkWidth", 16)
    api("nvmlDeviceGetMigMode", [0, 0])
    api("nvmlDeviceGetPowerManagementLimit", 700000)
    api("nvmlDeviceGetTemperature", lambda h, sensor: 41)
    # Every other NVML call the fingerprint makes is unsupported on this fake SKU.
    return m


@pytest.fixture()
def two_gpus() -> list[TorchDevice]:
    # torch index 0 is NVML's second board (CUDA_VISIBLE_DEVICES reorders indices).
    def dev(i: int, uuid: str) -> TorchDevice:
        return TorchDevice(
            index=i,
            name="NVIDIA H100 80GB HBM3",
            uuid=uuid,
            total_memory=85_000_000_000,
            multi_processor_count=132,
            major=9,
            minor=0,
            l2_cache_size=52_428_800,
            memory_bus_width=5120,
        )

    return [dev(0, "bbbb"), dev(1, "GPU-aaaa")]


def collect_with(
    monkeypatch: pytest.MonkeyPatch, module: types.ModuleType | None, devices: list[TorchDevice]
) -> dict[str, Any]:
    monkeypatch.setitem(sys.modules, "pynvml", module)  # None makes `import` fail
    return fingerprint.collect(devices)


def test_fake_nvml_ok_path_fills_driver_and_joins_gpus_by_uuid(
    monkeypatch: pytest.MonkeyPatch, two_gpus: list[TorchDevice]
) -> None:
    m = fake_pynvml()
    fp = collect_with(monkeypatch, m, two_gpus)
    driver = fp["driver"]
    assert (driver["driver_version"].value, driver["driver_version"].status) == ("550.54.15", "ok")
    assert driver["cuda_driver_version"].value == 12040
    assert "gpu" not in fp and {"gpu.0", "gpu.1"} <= set(fp)
    # Joined by UUID, not by index: torch's gpu.0 is the board whose UUID is GPU-bbbb.
    assert fp["gpu.0"]["vbios_version"].value == "96.00.99.00.01"
    assert fp["gpu.0"]["ecc_mode_current"].value == 0
    assert fp["gpu.1"]["vbios_version"].value == "96.00.89.00.01"
    assert fp["gpu.1"]["ecc_mode_current"].value == 1
    assert fp["gpu.0"]["compute_capability"].value == "9.0"
    assert fp["gpu.0"]["pcie_width_max"].value == 16
    assert fp["volatile"]["gpu0_temperature_c"].value == 41
    assert m.calls[-1] == "nvmlShutdown", "NVML must be shut down after collecting"


def test_unsupported_queries_are_marked_not_supported_field_by_field(
    monkeypatch: pytest.MonkeyPatch, two_gpus: list[TorchDevice]
) -> None:
    m = fake_pynvml(not_supported=frozenset({"nvmlDeviceGetEccMode", "nvmlSystemGetNVMLVersion"}))
    fp = collect_with(monkeypatch, m, two_gpus)
    assert fp["gpu.0"]["ecc_mode_current"].status == "not_supported"
    assert fp["gpu.0"]["ecc_mode_current"].value is None
    assert fp["driver"]["nvml_version"].status == "not_supported"
    # Neighbouring fields are unaffected.
    assert fp["gpu.0"]["vbios_version"].status == "ok"
    assert fp["driver"]["driver_version"].status == "ok"
    # Calls the fake does not implement at all become error statuses, never exceptions.
    assert fp["gpu.0"]["persistence_mode"].status.startswith("error:")


def test_every_nvml_device_field_is_present_even_when_nvml_is_missing(
    monkeypatch: pytest.MonkeyPatch, two_gpus: list[TorchDevice]
) -> None:
    fp = collect_with(monkeypatch, None, two_gpus)
    assert {f.status for f in fp["driver"].values()} == {"unavailable"}
    for name in fingerprint.NVML_DEVICE_FIELDS:
        assert fp["gpu.1"][name].status == "unavailable", name
    assert fp["gpu.1"]["name"].status == "ok", "torch's view of the GPU must survive"


def test_nvml_init_failure_marks_the_whole_driver_group_unavailable(
    monkeypatch: pytest.MonkeyPatch, two_gpus: list[TorchDevice]
) -> None:
    m = fake_pynvml(init_error=FakeLibraryNotFound)
    fp = collect_with(monkeypatch, m, two_gpus)
    assert {f.status for f in fp["driver"].values()} == {"unavailable"}
    assert "nvmlShutdown" not in m.calls, "shutdown without a successful init"


def test_real_pynvml_without_a_driver_is_unavailable() -> None:
    pytest.importorskip("pynvml")
    with nvml.session() as nv:
        if nv.ok:
            pytest.skip("this machine has a working NVML")
        assert nv.status == "unavailable"
    fp = fingerprint.collect([])
    assert {f.status for f in fp["driver"].values()} == {"unavailable"}
    assert fp["gpu"]["devices"].value == 0


def test_shutdown_runs_even_when_collection_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    m = fake_pynvml()
    monkeypatch.setitem(sys.modules, "pynvml", m)
    with pytest.raises(RuntimeError), nvml.session():
        raise RuntimeError("boom")
    assert m.calls[-1] == "nvmlShutdown"


def test_environment_records_unset_variables_as_observations() -> None:
    env = {
        "OMP_NUM_THREADS": "4",
        "NCCL_IB_DISABLE": "1",
        "TORCH_NCCL_BLOCKING_WAIT": "1",
        "UNRELATED": "x",
    }
    group = fingerprint.environment(env)
    assert group["OMP_NUM_THREADS"].value == "4"
    assert group["NCCL_IB_DISABLE"].value == "1"
    assert group["TORCH_NCCL_BLOCKING_WAIT"].value == "1"
    assert "UNRELATED" not in group
    unset = group["CUBLAS_WORKSPACE_CONFIG"]
    assert (unset.value, unset.status, unset.source) == (None, "ok", "env")


def test_a_value_over_the_documents_limits_is_an_error_of_its_own_field() -> None:
    """A 10 KB environment variable must not cost the process its whole fingerprint."""
    group = fingerprint.environment({"NCCL_TOPO_DUMP": "x" * 10_000, "NCCL_IB_DISABLE": "1"})
    huge = group["NCCL_TOPO_DUMP"]
    assert huge.value is None and huge.status.startswith("error: is 10000 bytes long"), huge
    assert group["NCCL_IB_DISABLE"].value == "1"


def test_thread_counts_live_in_runtime_not_in_the_build_info() -> None:
    import torch

    info = fingerprint.software()["parallel_info"].value
    assert "OpenMP" in info or "ATen" in info
    assert "get_num_threads" not in info, "thread counts belong to runtime.num_threads"
    assert fingerprint.runtime()["num_threads"].value == torch.get_num_threads()


def test_fingerprint_round_trips_through_the_result_document(
    monkeypatch: pytest.MonkeyPatch, two_gpus: list[TorchDevice]
) -> None:
    fp = collect_with(monkeypatch, fake_pynvml(), two_gpus)
    doc = ResultDocument(run=RunIdentity(replicate="proc-0"), workloads=(), fingerprint=fp)
    again = loads(dumps(doc))
    assert again.fingerprint["gpu.0"]["vbios_version"].value == "96.00.99.00.01"
    assert again.fingerprint["host"]["cpu_capability"].status == "ok"


def test_odd_nvml_return_types_are_recorded_as_json_values(
    monkeypatch: pytest.MonkeyPatch, two_gpus: list[TorchDevice]
) -> None:
    import ctypes

    m = fake_pynvml()
    m.nvmlDeviceGetVbiosVersion = lambda h: b"96.00.89"  # type: ignore[attr-defined]
    m.nvmlDeviceGetPersistenceMode = lambda h: ctypes.c_uint(1)  # type: ignore[attr-defined]
    fp = collect_with(monkeypatch, m, two_gpus)
    assert fp["gpu.0"]["vbios_version"].value == "96.00.89"
    assert isinstance(fp["gpu.0"]["persistence_mode"].value, str)
    doc = ResultDocument(run=RunIdentity(), workloads=(), fingerprint=fp)
    assert loads(dumps(doc)).fingerprint["gpu.0"]["persistence_mode"].status == "ok"
