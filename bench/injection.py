"""The injected slowdown on this host's wall clock: measured against nominal.

    .venv/bin/python bench/injection.py            # 7 rounds per row, ~3 min
    .venv/bin/python bench/injection.py --quick    # 3 rounds

For BENCHGATE_INJECT_SLOWDOWN = 5, 20 and 50 %, each round times a region plainly and
slowed, back to back, with the workloads' own CPU timing primitive (`timing.repeat`: the
fastest ~2 ms block of calls); the table gives the median and range over rounds of the
measured slowdown of the time per call, and for the GEMMs what the throughput metric
reports (nominal: 1/(1+x) - 1, -4.76 % at 5 %). Regions: a 20 us spin (steady by
construction) and tiny torch.mm GEMMs (256^2 fp32 and bf16, one thread), the workload's
`tiny` cases. The exactness of the mechanism itself is tested on a controlled clock
(tests/workloads/test_injection_size.py); this shows what a shared host adds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch

from benchgate_workloads import injection, timing

SIZES = (0.05, 0.2, 0.5)
PLAN = timing.TimingPlan(warmup=2, min_run_time_s=0.05, cuda_samples=1)


def _spin() -> None:
    deadline = time.perf_counter() + 20e-6
    while time.perf_counter() < deadline:
        pass


def _gemm(dtype: torch.dtype) -> Callable[[], object]:
    torch.manual_seed(7)
    a = torch.randn(256, 256).to(dtype)
    b = torch.randn(256, 256).to(dtype)
    out = torch.empty(256, 256, dtype=dtype)
    return lambda: torch.mm(a, b, out=out)


def _seconds(fn: Callable[[], object]) -> float:
    return min(timing.repeat(fn, torch.device("cpu"), 2, PLAN))


def measure(fn: Callable[[], object], size: float, rounds: int) -> list[float]:
    """Measured slowdowns of the time per call, one per round."""
    out = []
    for _ in range(rounds):
        os.environ.pop(injection.SLOWDOWN_ENV, None)
        plain = _seconds(fn)
        os.environ[injection.SLOWDOWN_ENV] = str(size)
        slowed = _seconds(fn)
        out.append(slowed / plain - 1)
    os.environ.pop(injection.SLOWDOWN_ENV, None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds per row")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rounds = 3 if args.quick else 7
    regions = {
        "20 us spin": _spin,
        "256^2 fp32 torch.mm": _gemm(torch.float32),
        "256^2 bf16 torch.mm": _gemm(torch.bfloat16),
    }
    started = time.monotonic()
    print(
        f"{rounds} rounds per row; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores\n"
    )
    print("| region | injected | time per call: median [range] | throughput metric: median |")
    print("|---|---|---|---|")
    for name, fn in regions.items():
        for size in SIZES:
            got = measure(fn, size, rounds)
            med = statistics.median(got)
            tput = 1 / (1 + med) - 1
            print(
                f"| {name} | {size:.0%} | {med:+.2%} [{min(got):+.2%}, {max(got):+.2%}] | "
                f"{tput:+.2%} (nominal {1 / (1 + size) - 1:+.2%}) |",
                flush=True,
            )
    print(f"\n({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
