"""How much of a baseline the prediction-consistency workload takes, at `full` size.

    .venv/bin/python bench/prediction_storage.py [--replicates 10]

Runs prediction_consistency at full size on this machine's CPU once per replicate (the
outputs do not depend on the device's speed, only their values on its arithmetic),
merges the replicates as the operator does, and prints the bytes each part takes in the
stored document, against the 900 KiB document bound (below the 1 MiB ConfigMap limit).
The worst case of one distribution metric (every bound at its maximum) is printed too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import torch

from benchgate.api.result import (
    MAX_DOCUMENT_BYTES,
    MAX_OUTPUT_VALUES,
    MAX_PREDICTION_INPUTS,
    Outputs,
    ResultDocument,
    RunIdentity,
    WorkloadResult,
    document_to_dict,
    dumps,
    merge_documents,
)
from benchgate_workloads import prediction_consistency
from benchgate_workloads.api import Context


def replicate(i: int, repetitions: int) -> ResultDocument:
    ctx = Context("full", torch.device("cpu"), repetitions, f"pod-{i}")
    metrics = tuple(prediction_consistency.run(ctx))
    return ResultDocument(
        run=RunIdentity(),
        workloads=(WorkloadResult(prediction_consistency.NAME, "full", "ok", 1.0, metrics),),
    )


def worst_case() -> int:
    """One distribution metric at every bound: 4096 inputs x 4 stored values (16384),
    top-1, confidence and labels per input, float32 values of full precision."""
    rng = np.random.default_rng(0)
    values = rng.standard_normal(MAX_OUTPUT_VALUES).astype(np.float32) * 1e3
    outputs = Outputs(
        replicate="pod-0",
        inputs=MAX_PREDICTION_INPUTS,
        input_set="sha256:" + "0" * 64,
        model="sha256:" + "0" * 64,
        width=MAX_OUTPUT_VALUES // MAX_PREDICTION_INPUTS,
        values=tuple(float(v) for v in values.astype(str)),
        top1=tuple(int(v) for v in rng.integers(0, 1000, MAX_PREDICTION_INPUTS)),
        confidence=tuple(
            float(v) for v in rng.random(MAX_PREDICTION_INPUTS).astype(np.float32).astype(str)
        ),
        labels=tuple(int(v) for v in rng.integers(0, 1000, MAX_PREDICTION_INPUTS)),
    )
    return len(json.dumps(dataclasses.asdict(outputs)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    merged = merge_documents(replicate(i, args.repetitions) for i in range(args.replicates))
    total = len(dumps(merged).encode())
    metric = document_to_dict(merged)["workloads"][0]["metrics"][0]
    outputs = len(json.dumps(metric["outputs"]).encode())
    samples = len(json.dumps(metric["samples"]).encode())
    o = merged.workloads[0].metrics[0].outputs
    assert o is not None
    rows = [
        ("inputs x stored values per input", f"{o.inputs} x {o.width} = {o.inputs * o.width}"),
        ("replicates x repetitions", f"{args.replicates} x {args.repetitions}"),
        ("outputs record (values, top-1, confidence, labels)", f"{outputs / 1024:.1f} KiB"),
        ("per-replicate hashes (samples)", f"{samples / 1024:.1f} KiB"),
        ("whole prediction document", f"{total / 1024:.1f} KiB"),
        ("share of the document bound", f"{total / MAX_DOCUMENT_BYTES:.1%}"),
        ("worst case of one distribution metric (every bound)", f"{worst_case() / 1024:.1f} KiB"),
        ("document bound (ConfigMap limit 1 MiB)", f"{MAX_DOCUMENT_BYTES / 1024:.0f} KiB"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'prediction_consistency at full size':<{width}}  bytes")
    print(f"{'-' * width}  {'-' * 18}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
