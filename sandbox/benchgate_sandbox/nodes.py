"""Node objects for the sandbox: this machine as it is, or a look-alike H100 pool node.

The H100 node carries the labels GPU Feature Discovery, NFD and Karpenter would put on
a real p5 node, so platform detection sees what it would see in a cluster; its pods
still run here, on the CPU (the kubelet is local).
"""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path
from typing import Any

from benchgate import __version__

JSON = dict[str, Any]
KUBELET_VERSION = "v1.37.0-sandbox"
RUNTIME_VERSION = f"benchgate-sandbox://{__version__}"


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _mem_kib() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _node(
    name: str, labels: JSON, node_info: JSON, capacity: JSON, taints: list[JSON] | None = None
) -> JSON:
    node: JSON = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints} if taints else {},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "nodeInfo": node_info,
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
            "conditions": [
                {"type": t, "status": "False", "reason": f"KubeletHas{r}", "message": m}
                for t, r, m in (
                    (
                        "MemoryPressure",
                        "SufficientMemory",
                        "kubelet has sufficient memory available",
                    ),
                    ("DiskPressure", "NoDiskPressure", "kubelet has no disk pressure"),
                    ("PIDPressure", "SufficientPID", "kubelet has sufficient PID available"),
                )
            ]
            + [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
        },
    }
    return node


def this_machine_node(name: str | None = None) -> JSON:
    """A Node describing this machine: its kernel, OS, CPU count and memory."""
    name = name or socket.gethostname().lower().split(".")[0] or "localhost"
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": _arch(),
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": _arch(),
        "node.kubernetes.io/instance-type": "local",
    }
    machine_id = _read("/etc/machine-id", "0" * 32)
    info = {
        "machineID": machine_id,
        "systemUUID": machine_id,
        "bootID": _read("/proc/sys/kernel/random/boot_id", ""),
        "kernelVersion": platform.release(),
        "osImage": _os_image(),
        "containerRuntimeVersion": RUNTIME_VERSION,
        "kubeletVersion": KUBELET_VERSION,
        "operatingSystem": "linux",
        "architecture": _arch(),
    }
    capacity = {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{_mem_kib()}Ki",
        "pods": "110",
        "ephemeral-storage": "100Gi",
    }
    return _node(name, labels, info, capacity)


def h100_pool_node(
    name: str,
    driver: str = "550.54.15",
    *,
    gpus: int = 8,
    kernel: str = "6.1.109-118.189.amzn2023.x86_64",
    os_image: str = "Amazon Linux 2023.6.20241031",
    cuda_driver: str = "12.4",
    nodepool: str = "h100",
    taints: list[JSON] | None = None,
) -> JSON:
    """A Node that looks like a p5.48xlarge H100 pool node (GFD/NFD/Karpenter labels)."""
    major, minor, rev = [*driver.split("."), "0", "0"][:3]
    kmajor, kminor = kernel.split(".")[:2]
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "p5.48xlarge",
        "topology.kubernetes.io/region": "us-east-1",
        "topology.kubernetes.io/zone": "us-east-1a",
        "karpenter.sh/nodepool": nodepool,
        "karpenter.sh/capacity-type": "on-demand",
        "karpenter.k8s.aws/instance-family": "p5",
        "karpenter.k8s.aws/instance-gpu-name": "h100",
        "karpenter.k8s.aws/instance-gpu-count": str(gpus),
        "karpenter.k8s.aws/instance-gpu-memory": "81920",
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
        "nvidia.com/gpu.memory": "81559",
        "nvidia.com/gpu.count": str(gpus),
        "nvidia.com/gpu.family": "hopper",
        "nvidia.com/gpu.compute.major": "9",
        "nvidia.com/gpu.compute.minor": "0",
        "nvidia.com/gpu.machine": "p5.48xlarge",
        "nvidia.com/gpu.mode": "compute",
        "nvidia.com/gpu.replicas": "1",
        "nvidia.com/gpu.sharing-strategy": "none",
        "nvidia.com/mig.capable": "true",
        "nvidia.com/mig.strategy": "single",
        "nvidia.com/cuda.driver-version.full": driver,
        "nvidia.com/cuda.driver-version.major": major,
        "nvidia.com/cuda.driver-version.minor": minor,
        "nvidia.com/cuda.driver-version.revision": rev,
        "nvidia.com/cuda.runtime-version.full": cuda_driver,
        "nvidia.com/cuda.runtime-version.major": cuda_driver.split(".")[0],
        "nvidia.com/cuda.runtime-version.minor": [*cuda_driver.split("."), "0"][1],
        "nvidia.com/gfd.timestamp": "1763856000",
        "feature.node.kubernetes.io/kernel-version.full": kernel,
        "feature.node.kubernetes.io/kernel-version.major": kmajor,
        "feature.node.kubernetes.io/kernel-version.minor": kminor,
        "feature.node.kubernetes.io/system-os_release.ID": "amzn",
        "feature.node.kubernetes.io/system-os_release.VERSION_ID": "2023",
        "feature.node.kubernetes.io/cpu-model.vendor_id": "AMD",
        "feature.node.kubernetes.io/cpu-model.family": "25",
        "feature.node.kubernetes.io/cpu-model.id": "1",
        "feature.node.kubernetes.io/pci-0302_10de.present": "true",
    }
    info = {
        "machineID": f"ec2{name.encode().hex()[:29]:0<29}",
        "systemUUID": f"ec2-{name}",
        "bootID": f"boot-{name}",
        "kernelVersion": kernel,
        "osImage": os_image,
        "containerRuntimeVersion": "containerd://1.7.23",
        "kubeletVersion": "v1.31.2-eks-94953ac",
        "operatingSystem": "linux",
        "architecture": "amd64",
    }
    capacity = {
        "cpu": "192",
        "memory": "2097152000Ki",
        "pods": "100",
        "nvidia.com/gpu": str(gpus),
        "ephemeral-storage": "3800Gi",
    }
    return _node(name, labels, info, capacity, taints)
