"""Platform fingerprints: which node attributes make two nodes "the same platform".

A platform is the set of node labels and `status.nodeInfo` fields that change what ML
workloads compute or how fast (GPU product, driver, kernel, OS image, runtime, pool).
Its key is the SHA-256 of the canonical JSON of those fields; a driver upgrade changes
the key, a relabel that only bumps `nvidia.com/gfd.timestamp` does not.

Pure: plain mappings in, frozen dataclasses out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from benchgate.api.suite import PlatformSpec

# Labels that define a platform when present (absent labels are simply not part of it).
DEFAULT_LABELS: Final[tuple[str, ...]] = (
    # well-known
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "node.kubernetes.io/instance-type",
    # NVIDIA GPU feature discovery
    "nvidia.com/gpu.product",
    "nvidia.com/gpu.memory",
    "nvidia.com/gpu.count",
    "nvidia.com/gpu.family",
    "nvidia.com/gpu.compute.major",
    "nvidia.com/gpu.compute.minor",
    "nvidia.com/gpu.machine",
    "nvidia.com/cuda.driver-version.full",
    "nvidia.com/cuda.driver.major",
    "nvidia.com/cuda.driver.minor",
    "nvidia.com/cuda.driver.rev",
    "nvidia.com/cuda.runtime-version.full",
    "nvidia.com/cuda.runtime.major",
    "nvidia.com/cuda.runtime.minor",
    "nvidia.com/mig.strategy",
    "nvidia.com/mig.capable",
    "nvidia.com/gpu.mode",
    "nvidia.com/gpu.replicas",
    "nvidia.com/gpu.sharing-strategy",
    "nvidia.com/mig.config",
    # node feature discovery
    "feature.node.kubernetes.io/kernel-version.full",
    "feature.node.kubernetes.io/system-os_release.ID",
    "feature.node.kubernetes.io/system-os_release.VERSION_ID",
    "feature.node.kubernetes.io/cpu-model.vendor_id",
    "feature.node.kubernetes.io/cpu-model.family",
    "feature.node.kubernetes.io/cpu-model.id",
    "feature.node.kubernetes.io/cpu-hardware_multithreading",
    "feature.node.kubernetes.io/cpu-pstate.turbo",
    "feature.node.kubernetes.io/cpu-pstate.scaling_governor",
    "feature.node.kubernetes.io/cpu-cstate.enabled",
    "feature.node.kubernetes.io/pci-0302_10de.present",
    "feature.node.kubernetes.io/pci-0300_10de.present",
    "feature.node.kubernetes.io/memory-numa",
    # GKE
    "cloud.google.com/gke-nodepool",
    "cloud.google.com/gke-accelerator",
    "cloud.google.com/gke-gpu-driver-version",
    "cloud.google.com/machine-family",
    "cloud.google.com/gke-os-distribution",
    "cloud.google.com/gke-container-runtime",
    # EKS
    "eks.amazonaws.com/nodegroup",
    "eks.amazonaws.com/nodegroup-image",
    "eks.amazonaws.com/capacityType",
    # AKS
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "kubernetes.azure.com/node-image-version",
    "kubernetes.azure.com/os-sku",
    "kubernetes.azure.com/accelerator",
    # Karpenter
    "karpenter.sh/nodepool",
    "karpenter.sh/capacity-type",
    "karpenter.k8s.aws/instance-family",
    "karpenter.k8s.aws/instance-gpu-name",
    "karpenter.k8s.aws/instance-gpu-count",
    "karpenter.k8s.aws/instance-gpu-memory",
)
# GFD's mixed MIG strategy labels, e.g. nvidia.com/mig-1g.10gb.count.
DEFAULT_LABEL_PATTERNS: Final[tuple[re.Pattern[str], ...]] = (
    re.compile(
        r"^nvidia\.com/mig-[0-9a-z.]+\.(count|memory|multiprocessors|slices\.gi|slices\.ci)$"
    ),
)
DEFAULT_NODE_INFO_FIELDS: Final[tuple[str, ...]] = (
    "kernelVersion",
    "osImage",
    "containerRuntimeVersion",
    "kubeletVersion",
    "architecture",
)
# Labels that change on every relabel or only say where a node is: never part of a key,
# whatever the suite lists.
ALWAYS_IGNORED: Final[tuple[re.Pattern[str], ...]] = (
    re.compile(r"(^|[/.])timestamp$"),  # nvidia.com/gfd.timestamp
    re.compile(r"^kubernetes\.io/hostname$"),
    re.compile(r"^topology\.kubernetes\.io/(region|zone)$"),
    re.compile(r"^nvidia\.com/gpu-driver-upgrade-state$"),
    re.compile(r"^benchgate\.dev/"),
)

LABEL_PREFIX: Final = "label:"
NODE_INFO_PREFIX: Final = "nodeInfo:"


def _ignored(label: str, extra: Iterable[str]) -> bool:
    return label in extra or any(p.search(label) for p in ALWAYS_IGNORED)


@dataclass(frozen=True)
class Platform:
    """One platform: key, human class names and the (sorted) fields that made the key."""

    key: str
    platform_class: str  # e.g. "h100-80gb-hbm3-550" or "cpu-amd64-6-8"
    hardware_class: str  # e.g. "h100-80gb-hbm3" or "cpu-amd64"
    fields: tuple[tuple[str, str], ...]

    @property
    def short(self) -> str:
        return self.key[:8]

    def field_map(self) -> dict[str, str]:
        return dict(self.fields)

    def to_spec(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "class": self.platform_class,
            "hardwareClass": self.hardware_class,
            "fields": [{"name": n, "value": v} for n, v in self.fields],
        }

    @staticmethod
    def from_spec(raw: Mapping[str, Any]) -> Platform:
        fields = tuple(
            (str(f.get("name", "")), str(f.get("value", ""))) for f in raw.get("fields") or []
        )
        return Platform(
            key=str(raw.get("key", "")),
            platform_class=str(raw.get("class", "")),
            hardware_class=str(raw.get("hardwareClass", "")),
            fields=tuple(sorted(fields)),
        )


def platform_fields(
    labels: Mapping[str, str], node_info: Mapping[str, Any], spec: PlatformSpec
) -> tuple[tuple[str, str], ...]:
    """The (name, value) pairs that define this node's platform, sorted by name."""
    wanted = set(spec.labels)
    patterns: tuple[re.Pattern[str], ...] = ()
    if spec.use_defaults:
        wanted |= set(DEFAULT_LABELS)
        patterns = DEFAULT_LABEL_PATTERNS
    out: dict[str, str] = {}
    for label, value in labels.items():
        if _ignored(label, spec.ignore_labels):
            continue
        if label in wanted or any(p.match(label) for p in patterns):
            out[LABEL_PREFIX + label] = str(value)
    info_fields = spec.node_info_fields
    if info_fields is None:
        info_fields = DEFAULT_NODE_INFO_FIELDS if spec.use_defaults else ()
    for info_name in info_fields:
        info_value = node_info.get(info_name)
        if info_value not in (None, ""):
            out[NODE_INFO_PREFIX + info_name] = str(info_value)
    return tuple(sorted(out.items()))


def platform_key(fields: Iterable[tuple[str, str]]) -> str:
    canonical = json.dumps(sorted(fields), separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "unknown"


def hardware_class(labels: Mapping[str, str], node_info: Mapping[str, Any]) -> str:
    """What the node *is*, independent of software: baselines are chosen within it."""
    product = (
        labels.get("nvidia.com/gpu.product")
        or labels.get("karpenter.k8s.aws/instance-gpu-name")
        or labels.get("cloud.google.com/gke-accelerator")
        or labels.get("kubernetes.azure.com/accelerator")
    )
    if product:
        name = re.sub(r"^(nvidia|tesla)[- ]", "", product.strip(), flags=re.IGNORECASE)
        count = labels.get("nvidia.com/gpu.count") or labels.get(
            "karpenter.k8s.aws/instance-gpu-count"
        )
        suffix = f"-x{count}" if count and count != "1" else ""
        return _slug(name, 36) + suffix
    arch = labels.get("kubernetes.io/arch") or str(node_info.get("architecture") or "") or "unknown"
    instance = labels.get("node.kubernetes.io/instance-type")
    return _slug(f"cpu-{arch}-{instance}" if instance else f"cpu-{arch}")


def _software_tag(labels: Mapping[str, str], node_info: Mapping[str, Any]) -> str:
    driver = (
        labels.get("nvidia.com/cuda.driver-version.full")
        or labels.get("nvidia.com/cuda.driver.major")
        or labels.get("cloud.google.com/gke-gpu-driver-version")
    )
    if driver:
        return driver.split(".")[0]
    kernel = labels.get("feature.node.kubernetes.io/kernel-version.full") or str(
        node_info.get("kernelVersion") or ""
    )
    match = re.match(r"(\d+)\.(\d+)", kernel)
    return f"{match.group(1)}.{match.group(2)}" if match else ""


def platform_class(labels: Mapping[str, str], node_info: Mapping[str, Any]) -> str:
    """A short, bounded name for metric labels: hardware class plus driver major (GPU)
    or kernel major.minor (CPU), e.g. "h100-80gb-hbm3-550"."""
    hw = hardware_class(labels, node_info)
    tag = _software_tag(labels, node_info)
    return _slug(f"{hw}-{tag}" if tag else hw, 63)


def node_platform(
    labels: Mapping[str, str], node_info: Mapping[str, Any], spec: PlatformSpec
) -> Platform:
    fields = platform_fields(labels, node_info, spec)
    return Platform(
        key=platform_key(fields),
        platform_class=platform_class(labels, node_info),
        hardware_class=hardware_class(labels, node_info),
        fields=fields,
    )


def settle_signature(labels: Mapping[str, str], node_info: Mapping[str, Any]) -> str:
    """A hash of everything that may still be relabelled while a node settles.

    Suite-independent (every label but the always-ignored ones, every nodeInfo field but
    bootID), so one "last changed" time per node serves every suite's debounce.
    """
    kept = {k: v for k, v in labels.items() if not _ignored(k, ())}
    info = {k: v for k, v in node_info.items() if k != "bootID"}
    canonical = json.dumps(
        [sorted(kept.items()), sorted(info.items())], default=str, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def differing_fields(
    before: Iterable[tuple[str, str]], after: Iterable[tuple[str, str]]
) -> list[tuple[str, str | None, str | None]]:
    """(name, before, after) for every field that differs, sorted by name."""
    a, b = dict(before), dict(after)
    return [(n, a.get(n), b.get(n)) for n in sorted(set(a) | set(b)) if a.get(n) != b.get(n)]


def describe_change(
    before: Iterable[tuple[str, str]], after: Iterable[tuple[str, str]], limit: int = 4
) -> str:
    diffs = differing_fields(before, after)
    parts = [
        f"{n} {old if old is not None else '<none>'} -> {new if new is not None else '<none>'}"
        for n, old, new in diffs[:limit]
    ]
    more = f" (+{len(diffs) - limit} more)" if len(diffs) > limit else ""
    return "; ".join(parts) + more
