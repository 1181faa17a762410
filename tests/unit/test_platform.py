"""Platform fingerprints: which node changes make a new platform, which do not."""

from __future__ import annotations

from benchgate.api.suite import PlatformSpec
from benchgate.domain.platform import (
    describe_change,
    node_platform,
    platform_fields,
    settle_signature,
)

H100_LABELS = {
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/os": "linux",
    "kubernetes.io/hostname": "gpu-a",
    "topology.kubernetes.io/zone": "us-central1-a",
    "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
    "nvidia.com/gpu.count": "8",
    "nvidia.com/gpu.memory": "81559",
    "nvidia.com/cuda.driver-version.full": "550.54.15",
    "nvidia.com/gfd.timestamp": "1732300000",
    "cloud.google.com/gke-nodepool": "h100-pool",
    "nvidia.com/mig-1g.10gb.count": "7",
    "team": "ml-infra",
}
NODE_INFO = {
    "kernelVersion": "6.8.0-1015-gcp",
    "osImage": "Ubuntu 22.04.4 LTS",
    "containerRuntimeVersion": "containerd://1.7.22",
    "kubeletVersion": "v1.31.2",
    "architecture": "amd64",
    "bootID": "b-1",
    "machineID": "m-1",
}
DEFAULTS = PlatformSpec()


def test_same_attributes_give_the_same_key_and_gfd_timestamp_is_ignored() -> None:
    first = node_platform(H100_LABELS, NODE_INFO, DEFAULTS)
    relabelled = node_platform(
        {
            **H100_LABELS,
            "nvidia.com/gfd.timestamp": "1732309999",
            "kubernetes.io/hostname": "gpu-b",
        },
        NODE_INFO,
        DEFAULTS,
    )
    assert first.key == relabelled.key, "a GFD relabel or another host must not be a new platform"
    assert len(first.key) == 64


def test_driver_upgrade_and_kernel_change_make_a_new_platform() -> None:
    base = node_platform(H100_LABELS, NODE_INFO, DEFAULTS)
    driver = node_platform(
        {**H100_LABELS, "nvidia.com/cuda.driver-version.full": "560.35.03"}, NODE_INFO, DEFAULTS
    )
    kernel = node_platform(H100_LABELS, {**NODE_INFO, "kernelVersion": "6.8.0-1020-gcp"}, DEFAULTS)
    assert len({base.key, driver.key, kernel.key}) == 3
    assert "label:nvidia.com/cuda.driver-version.full 550.54.15 -> 560.35.03" in describe_change(
        base.fields, driver.fields
    )


def test_defaults_cover_gfd_nfd_pools_and_node_info_but_not_unlisted_labels() -> None:
    names = dict(platform_fields(H100_LABELS, NODE_INFO, DEFAULTS))
    assert "label:nvidia.com/gpu.product" in names
    assert "label:cloud.google.com/gke-nodepool" in names
    assert "label:nvidia.com/mig-1g.10gb.count" in names
    assert "nodeInfo:kernelVersion" in names and "nodeInfo:containerRuntimeVersion" in names
    assert "label:team" not in names, "labels the suite does not name are not part of the key"
    assert "nodeInfo:bootID" not in names, "a reboot keeps the platform"
    assert "label:topology.kubernetes.io/zone" not in names


def test_suite_can_add_and_ignore_labels_and_pick_node_info_fields() -> None:
    spec = PlatformSpec(
        labels=("team",),
        ignore_labels=("cloud.google.com/gke-nodepool",),
        node_info_fields=("kernelVersion",),
    )
    names = dict(platform_fields(H100_LABELS, NODE_INFO, spec))
    assert "label:team" in names
    assert "label:cloud.google.com/gke-nodepool" not in names
    assert [n for n in names if n.startswith("nodeInfo:")] == ["nodeInfo:kernelVersion"]
    only = PlatformSpec(use_defaults=False, labels=("team",))
    assert dict(platform_fields(H100_LABELS, NODE_INFO, only)) == {"label:team": "ml-infra"}


def test_gfd_timestamp_is_ignored_even_when_the_suite_lists_it() -> None:
    spec = PlatformSpec(labels=("nvidia.com/gfd.timestamp",))
    assert "label:nvidia.com/gfd.timestamp" not in dict(
        platform_fields(H100_LABELS, NODE_INFO, spec)
    )


def test_class_names_are_short_bounded_and_human() -> None:
    gpu = node_platform(H100_LABELS, NODE_INFO, DEFAULTS)
    assert gpu.hardware_class == "h100-80gb-hbm3-x8"
    assert gpu.platform_class == "h100-80gb-hbm3-x8-550"
    cpu = node_platform(
        {"kubernetes.io/arch": "arm64"}, {"kernelVersion": "6.1.0-18-arm64"}, DEFAULTS
    )
    assert cpu.hardware_class == "cpu-arm64"
    assert cpu.platform_class == "cpu-arm64-6-1"
    weird = node_platform({"nvidia.com/gpu.product": "X" * 300}, {}, DEFAULTS)
    assert len(weird.platform_class) <= 63


def test_settle_signature_ignores_timestamps_and_boot_id_but_sees_new_labels() -> None:
    base = settle_signature(H100_LABELS, NODE_INFO)
    assert base == settle_signature(
        {**H100_LABELS, "nvidia.com/gfd.timestamp": "2"}, {**NODE_INFO, "bootID": "b-2"}
    )
    assert base != settle_signature({**H100_LABELS, "nvidia.com/gpu.family": "hopper"}, NODE_INFO)


def test_spec_round_trip() -> None:
    from benchgate.domain.platform import Platform

    gpu = node_platform(H100_LABELS, NODE_INFO, DEFAULTS)
    assert Platform.from_spec(gpu.to_spec()) == gpu
