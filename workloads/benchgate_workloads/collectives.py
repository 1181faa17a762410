"""Collectives: all-reduce bus bandwidth and correctness across the node's GPUs.

Catches NCCL version and algorithm changes, topology changes (a GPU or NVLink missing, P2P
disabled, traffic falling back to PCIe or host memory), NVLink/PCIe degradation, and
reductions that return wrong values.

One process per GPU (world size = `torch.cuda.device_count()`, backend nccl, rendezvous
through a TCPStore that this process hosts on a free loopback port). A single GPU cannot
all-reduce with itself, so a one-GPU node raises Skip. Without CUDA the same code runs in
2 CPU processes with backend gloo, so the path is exercised on any machine; those numbers
measure loopback TCP and memory copies, not an interconnect, and `full` on CPU uses the
tiny message sizes.

Metrics:
- `busbw_gbps_<dtype>_<size>` (GB/s, higher), fp32 and bf16, at 256 KiB and 4 MiB (tiny,
  and CPU at any size) or 8, 64 and 256 MiB (full, GPU). Bus bandwidth as nccl-tests
  defines it for all-reduce: algbw = S / t for a message of S bytes, busbw = algbw x
  2(n-1)/n for n ranks (the bytes each rank's links carry in a ring all-reduce, so the
  number is comparable across world sizes). t is one all-reduce's time, the slowest
  rank's; per repetition the median of the timed calls (GPU, CUDA events) or the fastest
  (CPU, clock; see timing.py for why the minimum on shared CPU hosts).
- `wrong_values` (count, exact, must stay 0): after timing, every rank all-reduces a
  rank-dependent pattern of small integers whose sum is exact in the dtype; the elements
  that differ from the exact sum, over all ranks, sizes and dtypes (the nccl-tests #wrong).
- `world_size` (ranks) and `backend` (nccl or gloo), exact.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import torch

from benchgate.api.result import Metric
from benchgate_workloads import injection, timing
from benchgate_workloads.api import Context, Skip, exact
from benchgate_workloads.api import timing as timing_metric

NAME = "collectives"
CHILD_MODULE = "benchgate_workloads.collectives"
KiB = 1024
MiB = 1024 * KiB
CPU_WORLD = 2
TINY_SIZES = (256 * KiB, 4 * MiB)
FULL_GPU_SIZES = (8 * MiB, 64 * MiB, 256 * MiB)
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
TIMEOUT_S = {"tiny": 120.0, "full": 600.0}
MAX_MODULUS = 4093  # pattern period (a prime): long enough to catch misplaced chunks
LOG_TAIL_CHARS = 1500


class CollectiveError(RuntimeError):
    """A rank process failed or timed out; the message carries its log's tail."""


def bus_bandwidth(nbytes: int, seconds: float, world: int) -> float:
    """nccl-tests' all-reduce bus bandwidth in GB/s (1e9 bytes/s): S/t x 2(n-1)/n."""
    return nbytes / seconds / 1e9 * 2 * (world - 1) / world


def count_wrong(result: torch.Tensor, expected: torch.Tensor) -> int:
    """Elements of `result` that are not exactly `expected` (NaN counts as wrong)."""
    return int((result != expected.to(result.dtype)).sum().item())


def modulus(dtype: torch.dtype, world: int) -> int:
    """Pattern values lie in [0, m): every partial sum of `world` of them is an integer
    below 2 / eps = 2^(mantissa bits + 1), hence exact in `dtype` in any reduction order."""
    exact_limit = round(2 / torch.finfo(dtype).eps)
    return max(2, min(MAX_MODULUS, exact_limit // world))


def pattern(numel: int, rank: int, m: int, device: torch.device) -> torch.Tensor:
    """Rank `rank`'s input for the correctness check (int32; cast exactly to the dtype)."""
    return (torch.arange(numel, dtype=torch.int32, device=device) + 3 * rank + 1) % m


def size_label(nbytes: int) -> str:
    return f"{nbytes // MiB}mib" if nbytes >= MiB else f"{nbytes // KiB}kib"


@dataclass(frozen=True)
class Plan:
    """What every rank process runs; passed to it as JSON on its command line."""

    backend: str
    device: str  # "cuda" or "cpu"
    world: int
    port: int
    sizes: tuple[int, ...]
    dtypes: tuple[str, ...]
    warmup: int
    samples: int
    repetitions: int
    timeout_s: float
    out: str
    parent_pid: int


# ------------------------------------------------------------------ the workload process


def run(ctx: Context) -> list[Metric]:
    if ctx.cuda:
        world = torch.cuda.device_count()
        if world < 2:
            raise Skip(f"{NAME} needs >= 2 GPUs; this node has {world}")
        backend = "nccl"
        sizes = TINY_SIZES if ctx.tiny else FULL_GPU_SIZES
        dtypes = ("fp32", "bf16") if torch.cuda.is_bf16_supported() else ("fp32",)
        torch.cuda.empty_cache()  # the ranks need the memory earlier workloads cached
    else:
        world, backend, sizes, dtypes = CPU_WORLD, "gloo", TINY_SIZES, ("fp32", "bf16")
    tplan = timing.plan_for(ctx.size)
    result = launch(
        backend=backend,
        device=ctx.device.type,
        world=world,
        sizes=sizes,
        dtypes=dtypes,
        warmup=tplan.warmup,
        samples=tplan.cuda_samples,
        repetitions=ctx.repetitions,
        timeout_s=TIMEOUT_S[ctx.size],
    )
    stat = "median" if ctx.cuda else "fastest"
    metrics = []
    for dtype in dtypes:
        for nbytes in sizes:
            case = f"{dtype}_{size_label(nbytes)}"
            seconds = result["seconds"][case]
            metrics.append(
                timing_metric(
                    ctx,
                    f"busbw_gbps_{case}",
                    [bus_bandwidth(nbytes, s, world) for s in seconds],
                    unit="GB/s",
                    direction="higher",
                    description=f"{backend} all-reduce (sum) of {size_label(nbytes)} {dtype} "
                    f"over {world} ranks: bus bandwidth S/t x 2(n-1)/n (nccl-tests), S the "
                    f"message bytes, t the slowest rank's time per call; per repetition the "
                    f"{stat} of {tplan.cuda_samples} calls after {tplan.warmup} warm-up calls.",
                )
            )
    metrics += [
        exact(
            ctx,
            "wrong_values",
            int(result["wrong"]),
            unit="count",
            description="Elements differing from the exact sum when every rank "
            "all-reduces a rank-dependent pattern of small integers (exact in the "
            "dtype), summed over ranks, sizes and dtypes; must stay 0.",
        ),
        exact(
            ctx,
            "world_size",
            world,
            unit="ranks",
            description="Ranks in the all-reduce: one per GPU, or 2 CPU processes.",
        ),
        exact(
            ctx,
            "backend",
            backend,
            unit="backend",
            description="torch.distributed backend: nccl on GPUs, gloo on CPU.",
        ),
    ]
    return metrics


def _pythonpath() -> str:
    """This package's and `benchgate`'s roots first, so a rank imports what we run."""
    import benchgate

    roots = [
        str(Path(m.__file__ or "").resolve().parents[1])
        for m in (sys.modules["benchgate_workloads"], benchgate)
    ]
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(roots + rest))


def _tail(path: Path) -> str:
    text = path.read_text(errors="replace").strip() if path.exists() else ""
    last = text.splitlines()[-1] if text else "(no output)"
    return f"{last}\n--- log tail ---\n{text[-LOG_TAIL_CHARS:]}"


def launch(
    *,
    backend: str,
    device: str,
    world: int,
    sizes: Sequence[int],
    dtypes: Sequence[str],
    warmup: int,
    samples: int,
    repetitions: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Run `world` rank processes to completion and return rank 0's results.

    Raises CollectiveError with the failing rank's message when one exits non-zero, and
    when they do not all finish within `timeout_s`; the ranks are killed on every path.
    """
    import torch.distributed as dist

    # Hosting the store here binds port 0 and keeps it: no window for another process
    # to take the port between finding it and the ranks' rendezvous.
    store = dist.TCPStore(  # type: ignore[attr-defined]  # re-exported only at runtime
        "127.0.0.1",
        0,
        is_master=True,
        wait_for_workers=False,
        timeout=dt.timedelta(seconds=timeout_s),
    )
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[IO[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="benchgate-collectives-") as tmp:
        out = Path(tmp) / "result.json"
        plan = Plan(
            backend=backend,
            device=device,
            world=world,
            port=store.port,
            sizes=tuple(sizes),
            dtypes=tuple(dtypes),
            warmup=warmup,
            samples=samples,
            repetitions=repetitions,
            timeout_s=timeout_s,
            out=str(out),
            parent_pid=os.getpid(),
        )
        env = {**os.environ, "PYTHONPATH": _pythonpath()}
        paths = [Path(tmp) / f"rank{rank}.log" for rank in range(world)]
        try:
            for rank, path in enumerate(paths):
                logs.append(path.open("wb"))
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", CHILD_MODULE, json.dumps(asdict(plan)), str(rank)],
                        stdin=subprocess.DEVNULL,
                        stdout=logs[-1],
                        stderr=subprocess.STDOUT,
                        env=env,
                    )
                )
            deadline = time.monotonic() + timeout_s
            while True:
                codes = [p.poll() for p in procs]
                failed = [(r, c) for r, c in enumerate(codes) if c not in (None, 0)]
                if failed:
                    rank, code = failed[0]
                    raise CollectiveError(
                        f"{NAME}: rank {rank} of {world} ({backend}) exited "
                        f"with {code}: {_tail(paths[rank])}"
                    )
                if all(c == 0 for c in codes):
                    break
                if time.monotonic() > deadline:
                    running = [r for r, c in enumerate(codes) if c is None]
                    raise CollectiveError(
                        f"{NAME}: ranks {running} of {world} ({backend}) did not finish in "
                        f"{timeout_s:g}s and were killed; rank {running[0]}: "
                        f"{_tail(paths[running[0]])}"
                    )
                time.sleep(0.02)
            result: dict[str, Any] = json.loads(out.read_text())
            return result
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
            for p in procs:
                p.wait()
            for log in logs:
                log.close()


# ------------------------------------------------------------------ one rank process


def _exit_with_parent(parent_pid: int) -> None:
    """A rank whose workload process died (SIGKILL, OOM kill) exits instead of waiting
    for its peers until the collective timeout."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def _time_calls(plan: Plan, tensor: torch.Tensor, device: torch.device) -> list[list[float]]:
    """Seconds of each timed all-reduce on this rank, one list per repetition."""
    import torch.distributed as dist

    for _ in range(plan.warmup):
        dist.all_reduce(tensor)
    timing.synchronize(device)
    reps = []
    factor = injection.slowdown()
    pad = injection.GpuPad(device, factor) if timing.is_cuda(device) else None
    for _ in range(plan.repetitions):
        if pad is not None:
            pairs = []
            calls: list[float] = []
            for _ in range(plan.samples):
                start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
                end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
                start.record()
                dist.all_reduce(tensor)
                end.record()
                if pad.active:  # on the stream, see injection.GpuPad
                    calls.append(pad.seconds(start, end))
                else:
                    pairs.append((start, end))
            torch.cuda.synchronize(device)
            reps.append(calls + [s.elapsed_time(e) / 1e3 for s, e in pairs])
        else:
            calls = []
            for _ in range(plan.samples):
                dist.barrier()  # every rank starts the call together
                started = time.perf_counter()
                dist.all_reduce(tensor)
                injection.pad_cpu(started, factor)
                calls.append(time.perf_counter() - started)
            reps.append(calls)
    return reps


def _rank_main(plan: Plan, rank: int) -> None:
    import torch.distributed as dist

    _exit_with_parent(plan.parent_pid)
    cuda = plan.device == "cuda"
    if cuda:
        torch.cuda.set_device(rank)
        device = torch.device("cuda", rank)
    else:
        device = torch.device("cpu")
        # Share the cores between the ranks rather than oversubscribe them.
        torch.set_num_threads(
            max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) // plan.world))
        )
    timeout = dt.timedelta(seconds=plan.timeout_s)
    store = dist.TCPStore(  # type: ignore[attr-defined]  # re-exported only at runtime
        "127.0.0.1", plan.port, is_master=False, timeout=timeout
    )
    dist.init_process_group(
        plan.backend,
        store=store,
        rank=rank,
        world_size=plan.world,
        timeout=timeout,
        device_id=device if cuda else None,
    )
    try:
        seconds: dict[str, list[float]] = {}
        for name in plan.dtypes:
            dtype = DTYPES[name]
            for nbytes in plan.sizes:
                # Zeros: a repeated sum of zeros never overflows to inf in the timed loop.
                tensor = torch.zeros(nbytes // dtype.itemsize, dtype=dtype, device=device)
                per_call = torch.tensor(
                    _time_calls(plan, tensor, device), dtype=torch.float64, device=device
                )
                # One call takes as long as its slowest rank.
                dist.all_reduce(per_call, op=dist.ReduceOp.MAX)
                pick = statistics.median if cuda else min
                seconds[f"{name}_{size_label(nbytes)}"] = [
                    float(pick(rep)) for rep in per_call.cpu().tolist()
                ]
        wrong = 0
        for name in plan.dtypes:
            dtype = DTYPES[name]
            m = modulus(dtype, plan.world)
            for nbytes in plan.sizes:
                numel = nbytes // dtype.itemsize
                tensor = pattern(numel, rank, m, device).to(dtype)
                dist.all_reduce(tensor)
                expected = pattern(numel, 0, m, device)
                for other in range(1, plan.world):
                    expected += pattern(numel, other, m, device)
                wrong += count_wrong(tensor, expected)
        total = torch.tensor([wrong], dtype=torch.int64, device=device)
        dist.all_reduce(total)
        if rank == 0:
            result = {"seconds": seconds, "wrong": int(total.item())}
            Path(plan.out).write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def _main(argv: Sequence[str]) -> None:
    raw = json.loads(argv[0])
    raw["sizes"], raw["dtypes"] = tuple(raw["sizes"]), tuple(raw["dtypes"])
    _rank_main(Plan(**raw), int(argv[1]))


if __name__ == "__main__":
    _main(sys.argv[1:])
