"""How long reading and writing result documents takes, hostile ones included.

    .venv/bin/python bench/result_document.py           # ~15 s
    .venv/bin/python bench/result_document.py --quick   # smoke run

The operator reads one document per pod log (bounded at 900 KiB) and `benchgate compare`
two files; a hostile document must cost no more than a valid one of the same size. Prints
a markdown table of medians over repeated runs (this machine is noisy: compare rows of
one run, not runs of different days).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchgate.api.result import (
    MAX_DOCUMENT_BYTES,
    Metric,
    ReplicateSamples,
    ResultDocumentError,
    dumps,
    loads,
    merge_documents,
)

VERSION = "benchgate.dev/result/v1"


def document(metrics: int, replicates: int, values: int) -> str:
    """A valid document: `metrics` continuous metrics of replicates x values samples."""
    samples = [
        {"replicate": f"pod-{r}", "values": [1.0 + 0.001 * (r + v) for v in range(values)]}
        for r in range(replicates)
    ]
    return json.dumps(
        {
            "schemaVersion": VERSION,
            "run": {"suite": "s", "run": "r"},
            "workloads": [
                {
                    "name": "w",
                    "status": "ok",
                    "metrics": [
                        {"name": f"m{i}", "unit": "s", "direction": "lower", "samples": samples}
                        for i in range(metrics)
                    ],
                }
            ],
            "fingerprint": {"g": {f"f{i}": {"value": f"v{i}", "status": "ok"} for i in range(80)}},
        }
    )


def near_limit() -> str:
    """A valid document just under MAX_DOCUMENT_BYTES."""
    replicates = 1
    while len(document(20, replicates + 1, 25)) < MAX_DOCUMENT_BYTES:
        replicates += 1
    return document(20, replicates, 25)


def hostile() -> dict[str, str]:
    size = MAX_DOCUMENT_BYTES - 1024
    return {
        "100 000 nested arrays": "[" * 100_000 + "]" * 100_000,
        "nested arrays up to the size limit": "[" * (size // 2) + "]" * (size // 2),
        "5000-digit number": document(1, 3, 2).replace("1.0", "9" * 5000, 1),
        "unterminated escapes up to the size limit": '"' + '\\"' * (size // 2),
        "900 KiB of one string": '{"schemaVersion": "' + "x" * size + '"}',
    }


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def refused(text: str) -> Callable[[], None]:
    def run() -> None:
        try:
            loads(text)
        except ResultDocumentError:
            return
        raise AssertionError("a hostile document was accepted")

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeat = 3 if args.quick else 15
    rows: list[tuple[str, int, float]] = []
    for name, text in (
        ("one pod, 10 metrics x 1 replicate x 10 values", document(10, 1, 10)),
        ("merged run, 10 metrics x 30 replicates x 10 values", document(10, 30, 10)),
        ("valid, just under the size limit", near_limit()),
    ):
        rows.append(
            (f"loads: {name}", len(text.encode()), median_ms(lambda t=text: loads(t), repeat))
        )
        doc = loads(text)
        rows.append(
            (f"dumps: {name}", len(text.encode()), median_ms(lambda d=doc: dumps(d), repeat))
        )
    for name, text in hostile().items():
        rows.append((f"refuse: {name}", len(text.encode()), median_ms(refused(text), repeat)))
    pods = [loads(document(10, 1, 10).replace("pod-0", f"pod-{i}")) for i in range(30)]
    rows.append(("merge 30 pod documents", 0, median_ms(lambda: merge_documents(pods), repeat)))

    def build() -> None:
        for i in range(100):
            Metric(f"m{i}", "s", "lower", "continuous", (ReplicateSamples("p", (1.0,) * 10),))

    rows.append(("build 100 metrics in Python (10 values each)", 0, median_ms(build, repeat)))
    print(f"Median of {repeat} runs each.\n")
    print("| operation | bytes | median ms | MB/s |")
    print("|---|---|---|---|")
    for name, size, ms in rows:
        rate = f"{size / ms / 1000:.0f}" if size and ms else "-"
        print(f"| {name} | {size or '-'} | {ms:.2f} | {rate} |")


if __name__ == "__main__":
    main()
