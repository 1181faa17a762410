"""Guarded access to NVML: never a crash, always a status.

`pynvml` (nvidia-ml-py) may be missing, its library may be missing (`nvmlInit` raises
NVMLError_LibraryNotFound on a machine without a driver), and single queries may be
unsupported on a SKU (ECC on consumer GPUs, MIG before Ampere). Each of these becomes a
field status — `unavailable`, `not_supported` or `error: ...` — instead of an exception.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Reading:
    value: Any
    status: str


@dataclass(frozen=True)
class Session:
    """An initialised NVML, or the reason there is none (`module` is None then)."""

    module: ModuleType | None
    status: str  # "ok" | "unavailable" | "error: ..."

    @property
    def ok(self) -> bool:
        return self.module is not None

    def read(self, call: Callable[[ModuleType], Any], *, raw: bool = False) -> Reading:
        """Run one query; NotSupported -> not_supported, other NVML errors -> error.

        The value is made JSON-ready unless `raw` (device handles must stay handles).
        """
        if self.module is None:
            return Reading(None, self.status)
        try:
            value = call(self.module)
            return Reading(value if raw else _plain(value), "ok")
        except Exception as exc:  # NVMLError subclasses are generated at import time
            return Reading(None, classify(self.module, exc))


def classify(module: ModuleType, exc: BaseException) -> str:
    not_supported = getattr(module, "NVMLError_NotSupported", None)
    if not_supported is not None and isinstance(exc, not_supported):
        return "not_supported"
    for name in (
        "NVMLError_LibraryNotFound",
        "NVMLError_DriverNotLoaded",
        "NVMLError_NoPermission",
        "NVMLError_FunctionNotFound",
    ):
        cls = getattr(module, name, None)
        if cls is not None and isinstance(exc, cls):
            return "unavailable"
    return f"error: {type(exc).__name__}: {exc}"[:200]


def _plain(value: Any) -> Any:
    """NVML returns bytes on old bindings and ctypes structs for some calls; a result
    document takes only JSON values, so anything else is recorded as its text."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


@contextmanager
def session() -> Iterator[Session]:
    """nvmlInit on entry, nvmlShutdown in `finally`; a Session that says why if not."""
    try:
        module = importlib.import_module("pynvml")
    except ImportError:
        yield Session(None, "unavailable")
        return
    try:
        module.nvmlInit()
    except Exception as exc:
        status = classify(module, exc)
        yield Session(None, "unavailable" if status != "not_supported" else status)
        return
    try:
        yield Session(module, "ok")
    finally:
        with contextlib.suppress(Exception):  # a failed shutdown must not hide the result
            module.nvmlShutdown()


def handle_by_uuid(nv: Session, uuid: str) -> Reading:
    """The NVML handle of the device whose UUID torch reports (CUDA_VISIBLE_DEVICES-proof)."""
    wanted = uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"
    return nv.read(lambda m: m.nvmlDeviceGetHandleByUUID(wanted), raw=True)
