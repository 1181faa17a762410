"""The environment fingerprint, collected in-process: which platform produced a result.

Layout (the contract with `benchgate.domain.envdiff`): group -> field -> FingerprintField
(value, status, source). A field is never missing: what cannot be read is recorded as
`unavailable`, `not_supported` or `error: ...`, so that a diff can say "ECC:
not_supported -> ok". Groups: driver, software, runtime, environment, host, gpu.<N> (or
one `gpu` group with `devices: 0` when there is no GPU), and `volatile` for values that
change on every run (the diff ignores that group).

Nothing here raises: every probe is wrapped, because a fingerprint that crashes the
verification Job would hide the very platform problem it should describe.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import platform
import re
import socket
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from benchgate.api.result import FingerprintField, ResultDocumentError
from benchgate_workloads import nvml

Group = dict[str, FingerprintField]

ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "ATEN_CPU_CAPABILITY",
    "CUBLAS_WORKSPACE_CONFIG",
    "NVIDIA_TF32_OVERRIDE",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
    "TORCH_BLAS_PREFER_CUBLASLT",
    "TORCH_LINALG_PREFER_CUSOLVER",
    "TORCH_CUDNN_V8_API_DISABLED",
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "CUDA_MODULE_LOADING",
    "CUDA_LAUNCH_BLOCKING",
    "PYTORCH_CUDA_ALLOC_CONF",
    "PYTORCH_ALLOC_CONF",
    "KMP_AFFINITY",
    "GOMP_CPU_AFFINITY",
    "LD_LIBRARY_PATH",
    # A run with fault injection must say so wherever its result goes.
    "BENCHGATE_INJECT_SLOWDOWN",
    "BENCHGATE_INJECT_PRECISION",
    "BENCHGATE_INJECT_FAIL",
    "BENCHGATE_INJECT_PERTURB",
)
ENV_PREFIXES = ("NCCL_", "TORCH_NCCL_")

# parallel_info() mixes build facts (OpenMP/MKL/oneDNN versions) with thread counts and
# environment variables that the runtime and environment groups already record; keeping
# them here would report one thread-count change twice under a "software" heading.
_PARALLEL_INFO_DROP = re.compile(
    r"(get_num_threads|get_num_interop_threads|get_max_threads|hardware_concurrency"
    r"|_NUM_THREADS\s*:)"
)


def _ok(value: Any, source: str) -> FingerprintField:
    try:
        return FingerprintField(value=value, status="ok", source=source)
    except ResultDocumentError as exc:
        # A value over the document's limits (a 10 KB environment variable) is recorded
        # as an error of its own field: one odd fact must not cost the whole fingerprint.
        return FingerprintField(None, f"error: {exc.message}"[:200], source)


def probe(fn: Callable[[], Any], source: str) -> FingerprintField:
    """Read one value; an exception becomes an `error: ...` status, never a crash."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the allow_tf32 getters warn since 2.9
            value = fn()
    except Exception as exc:
        return FingerprintField(None, f"error: {type(exc).__name__}: {exc}"[:200], source)
    return _ok(_jsonable(value), source)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _unavailable(source: str, value: Any = None) -> FingerprintField:
    return FingerprintField(value=value, status="unavailable", source=source)


def _read_text(path: str) -> str:
    return Path(path).read_text()


# ---------------------------------------------------------------------------- software


def _os_pretty_name() -> str:
    for line in _read_text("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise LookupError("PRETTY_NAME not in /etc/os-release")


def _parallel_info() -> str:
    lines = torch.__config__.parallel_info().splitlines()
    kept = [line.strip() for line in lines if not _PARALLEL_INFO_DROP.search(line)]
    return "\n".join(line for line in kept if line)


def _nccl_version() -> FingerprintField:
    source = "torch.cuda.nccl.version()"
    try:
        version = torch.cuda.nccl.version()  # type: ignore[no-untyped-call]
    except (AttributeError, RuntimeError):  # CPU builds have no NCCL
        return _unavailable(source)
    if isinstance(version, tuple):
        return _ok(".".join(str(v) for v in version), source)
    return _ok(_jsonable(version), source)


def _cudnn_version() -> FingerprintField:
    source = "torch.backends.cudnn.version()"
    try:
        version = torch.backends.cudnn.version()  # type: ignore[no-untyped-call]
    except Exception as exc:
        return FingerprintField(None, f"error: {exc}"[:200], source)
    return _unavailable(source) if version is None else _ok(int(version), source)


def software() -> Group:
    import numpy

    return {
        "torch_version": _ok(torch.__version__, "torch.__version__"),
        "torch_git_version": probe(lambda: torch.version.git_version, "torch.version.git_version"),
        "torch_cuda_version": (
            _ok(torch.version.cuda, "torch.version.cuda")
            if torch.version.cuda
            else _unavailable("torch.version.cuda")
        ),
        "torch_debug": probe(lambda: bool(torch.version.debug), "torch.version.debug"),
        "cudnn_version": _cudnn_version(),
        "nccl_version": _nccl_version(),
        "cuda_arch_list": probe(
            lambda: list(torch.cuda.get_arch_list()), "torch.cuda.get_arch_list()"
        ),
        "torch_config_sha256": probe(
            lambda: hashlib.sha256(torch.__config__.show().encode()).hexdigest(),
            "sha256(torch.__config__.show())",
        ),
        "parallel_info": probe(_parallel_info, "torch.__config__.parallel_info() less threads"),
        "numpy_version": _ok(numpy.__version__, "numpy.__version__"),
        "python_version": _ok(sys.version.split()[0], "sys.version"),
        "libc_version": probe(lambda: " ".join(platform.libc_ver()).strip(), "platform.libc_ver()"),
        "os_pretty_name": probe(_os_pretty_name, "/etc/os-release PRETTY_NAME"),
        "kernel_release": probe(platform.release, "platform.release()"),
    }


# ----------------------------------------------------------------------------- runtime


def runtime() -> Group:
    b = torch.backends
    probes: dict[str, tuple[Callable[[], Any], str]] = {
        "cuda_matmul_allow_tf32": (
            lambda: b.cuda.matmul.allow_tf32,
            "torch.backends.cuda.matmul.allow_tf32",
        ),
        "cudnn_allow_tf32": (lambda: b.cudnn.allow_tf32, "torch.backends.cudnn.allow_tf32"),
        "float32_matmul_precision": (
            torch.get_float32_matmul_precision,
            "torch.get_float32_matmul_precision()",
        ),
        # getattr: these attributes exist since torch 2.9 only; older builds record an error.
        "fp32_precision": (
            lambda: getattr(b, "fp32_precision"),  # noqa: B009
            "torch.backends.fp32_precision",
        ),
        "cuda_matmul_fp32_precision": (
            lambda: b.cuda.matmul.fp32_precision,
            "torch.backends.cuda.matmul.fp32_precision",
        ),
        "cudnn_fp32_precision": (
            lambda: b.cudnn.fp32_precision,
            "torch.backends.cudnn.fp32_precision",
        ),
        "cudnn_conv_fp32_precision": (
            lambda: getattr(b.cudnn, "conv").fp32_precision,  # noqa: B009
            "torch.backends.cudnn.conv.fp32_precision",
        ),
        "mkldnn_matmul_fp32_precision": (
            lambda: getattr(b.mkldnn, "matmul").fp32_precision,  # noqa: B009
            "torch.backends.mkldnn.matmul.fp32_precision",
        ),
        "cuda_matmul_allow_fp16_reduced_precision_reduction": (
            lambda: b.cuda.matmul.allow_fp16_reduced_precision_reduction,
            "torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
        ),
        "cuda_matmul_allow_bf16_reduced_precision_reduction": (
            lambda: b.cuda.matmul.allow_bf16_reduced_precision_reduction,
            "torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction",
        ),
        "cuda_matmul_allow_fp16_accumulation": (
            lambda: b.cuda.matmul.allow_fp16_accumulation,
            "torch.backends.cuda.matmul.allow_fp16_accumulation",
        ),
        "deterministic_algorithms": (
            torch.are_deterministic_algorithms_enabled,
            "torch.are_deterministic_algorithms_enabled()",
        ),
        "deterministic_debug_mode": (
            torch.get_deterministic_debug_mode,
            "torch.get_deterministic_debug_mode()",
        ),
        "cudnn_benchmark": (lambda: b.cudnn.benchmark, "torch.backends.cudnn.benchmark"),
        "cudnn_deterministic": (
            lambda: b.cudnn.deterministic,
            "torch.backends.cudnn.deterministic",
        ),
        "sdp_flash": (b.cuda.flash_sdp_enabled, "torch.backends.cuda.flash_sdp_enabled()"),
        "sdp_mem_efficient": (
            b.cuda.mem_efficient_sdp_enabled,
            "torch.backends.cuda.mem_efficient_sdp_enabled()",
        ),
        "sdp_math": (b.cuda.math_sdp_enabled, "torch.backends.cuda.math_sdp_enabled()"),
        "sdp_cudnn": (b.cuda.cudnn_sdp_enabled, "torch.backends.cuda.cudnn_sdp_enabled()"),
        "preferred_blas_library": (
            lambda: str(b.cuda.preferred_blas_library()),
            "torch.backends.cuda.preferred_blas_library()",
        ),
        "num_threads": (torch.get_num_threads, "torch.get_num_threads()"),
        "num_interop_threads": (torch.get_num_interop_threads, "torch.get_num_interop_threads()"),
        "default_dtype": (lambda: str(torch.get_default_dtype()), "torch.get_default_dtype()"),
        "mkldnn_enabled": (lambda: b.mkldnn.enabled, "torch.backends.mkldnn.enabled"),
    }
    return {name: probe(fn, source) for name, (fn, source) in probes.items()}


# ------------------------------------------------------------------------- environment


def environment(env: Mapping[str, str] | None = None) -> Group:
    """One field per variable; unset is an observation (value None, status ok)."""
    env = os.environ if env is None else env
    names = set(ENV_VARS) | {k for k in env if k.startswith(ENV_PREFIXES)}
    return {name: _ok(env.get(name), "env") for name in sorted(names)}


# -------------------------------------------------------------------------------- host


def _cpu_model() -> str:
    for line in _read_text("/proc/cpuinfo").splitlines():
        if line.lower().startswith(("model name", "hardware", "cpu model")):
            return line.split(":", 1)[1].strip()
    raise LookupError("no model name in /proc/cpuinfo")


def _cgroup_cpu_limit() -> FingerprintField:
    """CPUs the cgroup may use (quota / period), or None when unlimited."""
    try:
        quota, period = _read_text("/sys/fs/cgroup/cpu.max").split()[:2]
        if quota == "max":
            return _ok(None, "/sys/fs/cgroup/cpu.max")
        return _ok(round(int(quota) / int(period), 3), "/sys/fs/cgroup/cpu.max")
    except FileNotFoundError:
        pass
    except Exception as exc:
        return FingerprintField(None, f"error: {exc}"[:200], "/sys/fs/cgroup/cpu.max")
    source = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
    try:  # cgroup v1
        quota_us = int(_read_text(source))
        period_us = int(_read_text("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))
    except FileNotFoundError:
        return _unavailable(source)
    except Exception as exc:
        return FingerprintField(None, f"error: {exc}"[:200], source)
    return _ok(None if quota_us < 0 else round(quota_us / period_us, 3), source)


def _mem_total_kib() -> int:
    for line in _read_text("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    raise LookupError("no MemTotal in /proc/meminfo")


def host() -> Group:
    return {
        "cpu_model": probe(_cpu_model, "/proc/cpuinfo"),
        "arch": probe(platform.machine, "platform.machine()"),
        "cpu_count": probe(os.cpu_count, "os.cpu_count()"),
        "cpus_allowed": probe(lambda: len(os.sched_getaffinity(0)), "os.sched_getaffinity(0)"),
        "cgroup_cpu_limit": _cgroup_cpu_limit(),
        "mem_total_kib": probe(_mem_total_kib, "/proc/meminfo"),
        "numa_nodes": probe(
            lambda: len(list(Path("/sys/devices/system/node").glob("node[0-9]*"))),
            "/sys/devices/system/node",
        ),
        "cpu_capability": probe(
            torch.backends.cpu.get_cpu_capability, "torch.backends.cpu.get_cpu_capability()"
        ),
    }


# ------------------------------------------------------------------------------ driver


def driver(nv: nvml.Session) -> Group:
    def field(call: Callable[[Any], Any], source: str) -> FingerprintField:
        reading = nv.read(call)
        return FingerprintField(reading.value, reading.status, source)

    return {
        "driver_version": field(
            lambda m: m.nvmlSystemGetDriverVersion(), "nvmlSystemGetDriverVersion"
        ),
        "cuda_driver_version": field(
            lambda m: m.nvmlSystemGetCudaDriverVersion_v2(), "nvmlSystemGetCudaDriverVersion_v2"
        ),
        "nvml_version": field(lambda m: m.nvmlSystemGetNVMLVersion(), "nvmlSystemGetNVMLVersion"),
    }


# --------------------------------------------------------------------------------- gpu


@dataclass(frozen=True)
class TorchDevice:
    """What torch says about one visible device (torch index, not the NVML index)."""

    index: int
    name: str
    uuid: str
    total_memory: int
    multi_processor_count: int
    major: int
    minor: int
    l2_cache_size: int | None
    memory_bus_width: int | None


def torch_devices() -> list[TorchDevice]:
    if not torch.cuda.is_available():
        return []
    devices = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        devices.append(
            TorchDevice(
                index=i,
                name=p.name,
                uuid=str(getattr(p, "uuid", "")),
                total_memory=int(p.total_memory),
                multi_processor_count=int(p.multi_processor_count),
                major=int(p.major),
                minor=int(p.minor),
                l2_cache_size=getattr(p, "L2_cache_size", None),
                memory_bus_width=getattr(p, "memory_bus_width", None),
            )
        )
    return devices


def _nvml_device_fields(nv: nvml.Session, handle: Any) -> Group:
    m = nv.module
    c = {  # NVML enum values with their documented defaults, for fakes without them
        "sm": getattr(m, "NVML_CLOCK_SM", 1),
        "mem": getattr(m, "NVML_CLOCK_MEM", 2),
        "gr": getattr(m, "NVML_CLOCK_GRAPHICS", 0),
        "corrected": getattr(m, "NVML_MEMORY_ERROR_TYPE_CORRECTED", 0),
        "uncorrected": getattr(m, "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", 1),
        "volatile": getattr(m, "NVML_VOLATILE_ECC", 0),
        "aggregate": getattr(m, "NVML_AGGREGATE_ECC", 1),
    }
    calls: dict[str, tuple[Callable[[Any], Any], str]] = {
        "nvml_name": (lambda n: n.nvmlDeviceGetName(handle), "nvmlDeviceGetName"),
        "vbios_version": (
            lambda n: n.nvmlDeviceGetVbiosVersion(handle),
            "nvmlDeviceGetVbiosVersion",
        ),
        "inforom_image_version": (
            lambda n: n.nvmlDeviceGetInforomImageVersion(handle),
            "nvmlDeviceGetInforomImageVersion",
        ),
        "board_part_number": (
            lambda n: n.nvmlDeviceGetBoardPartNumber(handle),
            "nvmlDeviceGetBoardPartNumber",
        ),
        "architecture": (
            lambda n: n.nvmlDeviceGetArchitecture(handle),
            "nvmlDeviceGetArchitecture",
        ),
        "pci_device_id": (
            lambda n: n.nvmlDeviceGetPciInfo_v3(handle).pciDeviceId,
            "nvmlDeviceGetPciInfo_v3",
        ),
        "pcie_gen_current": (
            lambda n: n.nvmlDeviceGetCurrPcieLinkGeneration(handle),
            "nvmlDeviceGetCurrPcieLinkGeneration",
        ),
        "pcie_width_current": (
            lambda n: n.nvmlDeviceGetCurrPcieLinkWidth(handle),
            "nvmlDeviceGetCurrPcieLinkWidth",
        ),
        "pcie_gen_max": (
            lambda n: n.nvmlDeviceGetMaxPcieLinkGeneration(handle),
            "nvmlDeviceGetMaxPcieLinkGeneration",
        ),
        "pcie_width_max": (
            lambda n: n.nvmlDeviceGetMaxPcieLinkWidth(handle),
            "nvmlDeviceGetMaxPcieLinkWidth",
        ),
        "numa_node": (lambda n: n.nvmlDeviceGetNumaNodeId(handle), "nvmlDeviceGetNumaNodeId"),
        "ecc_mode_current": (lambda n: n.nvmlDeviceGetEccMode(handle)[0], "nvmlDeviceGetEccMode"),
        "ecc_mode_pending": (lambda n: n.nvmlDeviceGetEccMode(handle)[1], "nvmlDeviceGetEccMode"),
        "ecc_errors_corrected_volatile": (
            lambda n: n.nvmlDeviceGetTotalEccErrors(handle, c["corrected"], c["volatile"]),
            "nvmlDeviceGetTotalEccErrors",
        ),
        "ecc_errors_uncorrected_volatile": (
            lambda n: n.nvmlDeviceGetTotalEccErrors(handle, c["uncorrected"], c["volatile"]),
            "nvmlDeviceGetTotalEccErrors",
        ),
        "ecc_errors_corrected_aggregate": (
            lambda n: n.nvmlDeviceGetTotalEccErrors(handle, c["corrected"], c["aggregate"]),
            "nvmlDeviceGetTotalEccErrors",
        ),
        "ecc_errors_uncorrected_aggregate": (
            lambda n: n.nvmlDeviceGetTotalEccErrors(handle, c["uncorrected"], c["aggregate"]),
            "nvmlDeviceGetTotalEccErrors",
        ),
        "remapped_rows": (
            lambda n: list(n.nvmlDeviceGetRemappedRows(handle)),
            "nvmlDeviceGetRemappedRows (corr, unc, pending, failure)",
        ),
        "retired_pages_pending": (
            lambda n: n.nvmlDeviceGetRetiredPagesPendingStatus(handle),
            "nvmlDeviceGetRetiredPagesPendingStatus",
        ),
        "mig_mode_current": (lambda n: n.nvmlDeviceGetMigMode(handle)[0], "nvmlDeviceGetMigMode"),
        "mig_mode_pending": (lambda n: n.nvmlDeviceGetMigMode(handle)[1], "nvmlDeviceGetMigMode"),
        "is_mig_device": (
            lambda n: bool(n.nvmlDeviceIsMigDeviceHandle(handle)),
            "nvmlDeviceIsMigDeviceHandle",
        ),
        "persistence_mode": (
            lambda n: n.nvmlDeviceGetPersistenceMode(handle),
            "nvmlDeviceGetPersistenceMode",
        ),
        "compute_mode": (lambda n: n.nvmlDeviceGetComputeMode(handle), "nvmlDeviceGetComputeMode"),
        "clock_sm_max_mhz": (
            lambda n: n.nvmlDeviceGetMaxClockInfo(handle, c["sm"]),
            "nvmlDeviceGetMaxClockInfo(SM)",
        ),
        "clock_mem_max_mhz": (
            lambda n: n.nvmlDeviceGetMaxClockInfo(handle, c["mem"]),
            "nvmlDeviceGetMaxClockInfo(MEM)",
        ),
        "clock_graphics_max_mhz": (
            lambda n: n.nvmlDeviceGetMaxClockInfo(handle, c["gr"]),
            "nvmlDeviceGetMaxClockInfo(GRAPHICS)",
        ),
        "applications_clock_sm_mhz": (
            lambda n: n.nvmlDeviceGetApplicationsClock(handle, c["sm"]),
            "nvmlDeviceGetApplicationsClock(SM)",
        ),
        "applications_clock_mem_mhz": (
            lambda n: n.nvmlDeviceGetApplicationsClock(handle, c["mem"]),
            "nvmlDeviceGetApplicationsClock(MEM)",
        ),
        "default_applications_clock_sm_mhz": (
            lambda n: n.nvmlDeviceGetDefaultApplicationsClock(handle, c["sm"]),
            "nvmlDeviceGetDefaultApplicationsClock(SM)",
        ),
        "power_limit_mw": (
            lambda n: n.nvmlDeviceGetPowerManagementLimit(handle),
            "nvmlDeviceGetPowerManagementLimit",
        ),
        "power_limit_enforced_mw": (
            lambda n: n.nvmlDeviceGetEnforcedPowerLimit(handle),
            "nvmlDeviceGetEnforcedPowerLimit",
        ),
        "power_limit_default_mw": (
            lambda n: n.nvmlDeviceGetPowerManagementDefaultLimit(handle),
            "nvmlDeviceGetPowerManagementDefaultLimit",
        ),
        "gsp_firmware_version": (
            lambda n: n.nvmlDeviceGetGspFirmwareVersion(handle),
            "nvmlDeviceGetGspFirmwareVersion",
        ),
        "gsp_firmware_mode": (
            lambda n: list(n.nvmlDeviceGetGspFirmwareMode(handle)),
            "nvmlDeviceGetGspFirmwareMode",
        ),
    }
    out: Group = {}
    for name, (call, source) in calls.items():
        reading = nv.read(call)
        out[name] = FingerprintField(reading.value, reading.status, source)
    return out


NVML_DEVICE_FIELDS = (
    "nvml_name",
    "vbios_version",
    "inforom_image_version",
    "board_part_number",
    "architecture",
    "pci_device_id",
    "pcie_gen_current",
    "pcie_width_current",
    "pcie_gen_max",
    "pcie_width_max",
    "numa_node",
    "ecc_mode_current",
    "ecc_mode_pending",
    "ecc_errors_corrected_volatile",
    "ecc_errors_uncorrected_volatile",
    "ecc_errors_corrected_aggregate",
    "ecc_errors_uncorrected_aggregate",
    "remapped_rows",
    "retired_pages_pending",
    "mig_mode_current",
    "mig_mode_pending",
    "is_mig_device",
    "persistence_mode",
    "compute_mode",
    "clock_sm_max_mhz",
    "clock_mem_max_mhz",
    "clock_graphics_max_mhz",
    "applications_clock_sm_mhz",
    "applications_clock_mem_mhz",
    "default_applications_clock_sm_mhz",
    "power_limit_mw",
    "power_limit_enforced_mw",
    "power_limit_default_mw",
    "gsp_firmware_version",
    "gsp_firmware_mode",
)


def gpu_groups(nv: nvml.Session, devices: list[TorchDevice]) -> dict[str, Group]:
    """One `gpu.<torch index>` group per device, NVML joined by UUID."""
    if not devices:
        return {"gpu": {"devices": _unavailable("torch.cuda.is_available()", value=0)}}
    groups: dict[str, Group] = {}
    for d in devices:
        props = "torch.cuda.get_device_properties"
        group: Group = {
            "name": _ok(d.name, props),
            "uuid": _ok(d.uuid, props),
            "total_memory_bytes": _ok(d.total_memory, props),
            "multi_processor_count": _ok(d.multi_processor_count, props),
            "compute_capability": _ok(f"{d.major}.{d.minor}", props),
            "l2_cache_bytes": _ok(d.l2_cache_size, props)
            if d.l2_cache_size is not None
            else _unavailable(props),
            "memory_bus_width": _ok(d.memory_bus_width, props)
            if d.memory_bus_width is not None
            else _unavailable(props),
        }
        handle = nvml.handle_by_uuid(nv, d.uuid)
        if handle.status == "ok":
            group.update(_nvml_device_fields(nv, handle.value))
        else:
            group.update(
                {
                    name: FingerprintField(None, handle.status, "nvmlDeviceGetHandleByUUID")
                    for name in NVML_DEVICE_FIELDS
                }
            )
        groups[f"gpu.{d.index}"] = group
    return groups


# ---------------------------------------------------------------------------- volatile


def volatile(nv: nvml.Session, devices: list[TorchDevice]) -> Group:
    out: Group = {
        "collected_at": _ok(_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "clock"),
        "pid": _ok(os.getpid(), "os.getpid()"),
        "hostname": probe(socket.gethostname, "socket.gethostname()"),
        "boot_id": probe(
            lambda: _read_text("/proc/sys/kernel/random/boot_id").strip(),
            "/proc/sys/kernel/random/boot_id",
        ),
    }
    for d in devices:
        handle = nvml.handle_by_uuid(nv, d.uuid)
        for name, call, source in sampled_gpu_calls(nv):
            if handle.status != "ok":
                out[f"gpu{d.index}_{name}"] = FingerprintField(None, handle.status, source)
                continue
            reading = nv.read(functools.partial(_call_with_handle, call, handle.value))
            out[f"gpu{d.index}_{name}"] = FingerprintField(reading.value, reading.status, source)
    return out


def _call_with_handle(call: Callable[[Any, Any], Any], handle: Any, module: Any) -> Any:
    return call(module, handle)


def sampled_gpu_calls(nv: nvml.Session) -> list[tuple[str, Callable[[Any, Any], Any], str]]:
    """NVML readings that change from second to second (also sampled during timing)."""
    m = nv.module
    sm = getattr(m, "NVML_CLOCK_SM", 1)
    temp = getattr(m, "NVML_TEMPERATURE_GPU", 0)
    return [
        (
            "temperature_c",
            lambda n, h: n.nvmlDeviceGetTemperature(h, temp),
            "nvmlDeviceGetTemperature",
        ),
        ("power_usage_mw", lambda n, h: n.nvmlDeviceGetPowerUsage(h), "nvmlDeviceGetPowerUsage"),
        ("clock_sm_mhz", lambda n, h: n.nvmlDeviceGetClockInfo(h, sm), "nvmlDeviceGetClockInfo"),
        (
            "performance_state",
            lambda n, h: n.nvmlDeviceGetPerformanceState(h),
            "nvmlDeviceGetPerformanceState",
        ),
        (
            "clocks_event_reasons",
            lambda n, h: n.nvmlDeviceGetCurrentClocksEventReasons(h),
            "nvmlDeviceGetCurrentClocksEventReasons",
        ),
    ]


# ----------------------------------------------------------------------------- collect


def collect(devices: list[TorchDevice] | None = None) -> dict[str, Group]:
    """The whole fingerprint; `devices` defaults to what torch sees (tests pass fakes)."""
    devices = torch_devices() if devices is None else devices
    with nvml.session() as nv:
        groups: dict[str, Group] = {
            "driver": driver(nv),
            "software": software(),
            "runtime": runtime(),
            "environment": environment(),
            "host": host(),
        }
        groups.update(gpu_groups(nv, devices))
        groups["volatile"] = volatile(nv, devices)
    return groups
