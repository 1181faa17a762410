"""Environment diff: what changed between two fingerprints, most consequential first.

A verdict is only as useful as its explanation: when a GEMM got 8 % slower, the first
question is "what else changed?". The ranking puts what most often moves performance
or numerics on top: the driver, the node's kernel/OS/runtime/image and the GPU model;
then the torch/CUDA/cuDNN/NCCL builds; then numerics flags (TF32, reduced-precision
reductions, determinism); then environment variables; then hardware details; then the
rest. Fields that change on every run (the `volatile` group, timestamps, temperatures,
power draw, pids, boot ids) are ignored so that the diff of two runs on an unchanged
platform is empty.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from benchgate.api.result import FingerprintField

IGNORED_GROUPS: Final = frozenset({"volatile"})
IGNORED_FIELD_PATTERNS: Final = ("*_timestamp", "*temperature*", "*power_usage*", "pid", "boot_id")
KUBERNETES_PLATFORM_FIELDS: Final = frozenset(
    {"kernel_version", "os_image", "container_runtime_version", "image_id"}
)
SOFTWARE_BUILD_PREFIXES: Final = ("torch", "cudnn", "nccl", "cuda")

RANK_PLATFORM: Final = 0
RANK_SOFTWARE: Final = 1
RANK_NUMERICS: Final = 2
RANK_ENVIRONMENT: Final = 3
RANK_HARDWARE: Final = 4
RANK_OTHER: Final = 5

ABSENT: Final = "absent"


@dataclass(frozen=True)
class EnvChange:
    group: str
    field: str
    before: Any
    after: Any
    before_status: str
    after_status: str
    rank: int
    summary: str  # "driver.driver_version: 550.54 -> 560.35"


def is_ignored(group: str, field: str) -> bool:
    if group in IGNORED_GROUPS:
        return True
    return any(fnmatch.fnmatchcase(field, pattern) for pattern in IGNORED_FIELD_PATTERNS)


def rank_of(group: str, field: str) -> int:
    """Lower is more consequential (see the module docstring)."""
    is_gpu = group == "gpu" or group.startswith("gpu.")
    if group == "driver" or (group == "kubernetes" and field in KUBERNETES_PLATFORM_FIELDS):
        return RANK_PLATFORM
    if is_gpu and field == "name":
        return RANK_PLATFORM
    if group == "software" and field.startswith(SOFTWARE_BUILD_PREFIXES):
        return RANK_SOFTWARE
    if group == "runtime":
        return RANK_NUMERICS
    if group == "environment":
        return RANK_ENVIRONMENT
    if group == "host" or is_gpu:
        return RANK_HARDWARE
    return RANK_OTHER


def _field(raw: Any) -> tuple[Any, str]:
    if isinstance(raw, FingerprintField):
        return raw.value, raw.status
    if isinstance(raw, Mapping):
        return raw.get("value"), str(raw.get("status", "ok"))
    return raw, "ok"


def _show(value: Any, status: str) -> str:
    if status == ABSENT:
        return "(absent)"
    if status != "ok":
        return f"({status})" if value is None else f"{value!r} ({status})"
    if value is None:
        return "(unset)"
    return str(value) if isinstance(value, str) and value else repr(value)


def diff_fingerprints(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> tuple[EnvChange, ...]:
    """Every field whose value or status differs, most consequential first.

    Accepts parsed fingerprints (`FingerprintField` values) or their JSON form. A field
    or group present on one side only is reported with status "absent" on the other.
    """
    changes: list[EnvChange] = []
    for group in sorted(set(before) | set(after)):
        if group in IGNORED_GROUPS:
            continue
        fields_before = before.get(group, {})
        fields_after = after.get(group, {})
        for name in sorted(set(fields_before) | set(fields_after)):
            if is_ignored(group, name):
                continue
            vb, sb = _field(fields_before[name]) if name in fields_before else (None, ABSENT)
            va, sa = _field(fields_after[name]) if name in fields_after else (None, ABSENT)
            if vb == va and sb == sa and type(vb) is type(va):
                continue
            changes.append(
                EnvChange(
                    group=group,
                    field=name,
                    before=vb,
                    after=va,
                    before_status=sb,
                    after_status=sa,
                    rank=rank_of(group, name),
                    summary=f"{group}.{name}: {_show(vb, sb)} -> {_show(va, sa)}",
                )
            )
    changes.sort(key=lambda c: (c.rank, c.group, c.field))
    return tuple(changes)
