"""Per-device replicates: on a multi-GPU node, each GPU is a replicate of its own.

A node with eight GPUs and one of them throttling is the platform fault that matters, and
a location test over pods cannot see it when each pod reports one number for its node.
So the device-local workloads run once per visible GPU, and each GPU's repetitions become
one replicate named `<replicate>/gpu<k>` (e.g. `pod-2/gpu5`): the verdict engine's
slow-subset test then sees one slow GPU as a slow replicate among eight.

Workloads that use several GPUs at once (collectives) or are too long to repeat per device
(training) run once, on the current device. Replicates of one pod share that pod's
process; for GPU kernels the process contributes little of a device's time, and the
engine's max-T bootstrap resamples the device replicates as they come.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

import torch

from benchgate.api.result import Metric
from benchgate_workloads.api import Context

# Device-local workloads: each GPU measured on its own.
PER_DEVICE: Final = frozenset(
    {"gemm_throughput", "memory_bandwidth", "inference_latency", "numerics_probe"}
)


def device_replicate(replicate: str, index: int) -> str:
    """The replicate id of device `index` of a process/pod `replicate`."""
    return f"{replicate}/gpu{index}"


def visible_gpus() -> list[torch.device]:
    """Every CUDA device this process sees (none on a CPU host)."""
    if not torch.cuda.is_available():
        return []
    return [torch.device("cuda", k) for k in range(torch.cuda.device_count())]


def merge_device_metrics(per_device: Sequence[Sequence[Metric]]) -> list[Metric]:
    """One metric per name whose sample groups are every device's, in device order.

    Devices must report the same metrics with the same unit, direction, kind, scale and
    tolerance; a metric only some devices report (a case one GPU cannot run) keeps the
    groups it has. Raises ValueError naming the metric when the devices disagree.
    """
    order: list[str] = []
    merged: dict[str, Metric] = {}
    for metrics in per_device:
        for metric in metrics:
            prior = merged.get(metric.name)
            if prior is None:
                order.append(metric.name)
                merged[metric.name] = metric
                continue
            for attr in ("unit", "direction", "kind", "scale", "tolerance", "error_factor"):
                if getattr(prior, attr) != getattr(metric, attr):
                    raise ValueError(
                        f"{metric.name}.{attr}: devices disagree "
                        f"({getattr(prior, attr)!r} vs {getattr(metric, attr)!r})"
                    )
            merged[metric.name] = replace(prior, samples=prior.samples + metric.samples)
    return [merged[name] for name in order]


def run_per_device(
    run: Callable[[Context], list[Metric]], ctx: Context, devices: Sequence[torch.device]
) -> list[Metric]:
    """Run a device-local workload once per device, each as replicate `<id>/gpu<k>`."""
    results = []
    for position, device in enumerate(devices):
        index = device.index if device.index is not None else position
        if device.type == "cuda":
            torch.cuda.set_device(device)
        local = replace(ctx, device=device, replicate=device_replicate(ctx.replicate, index))
        results.append(run(local))
    return merge_device_metrics(results)


def restore(device: torch.device) -> None:
    """Make `device` current again after `run_per_device` moved through the others."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
