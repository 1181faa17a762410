"""Seeds that pair: replicate i of the baseline and replicate i of a candidate run carry
the same replicate name and train from the same seed, whatever names Kubernetes gave
their pods (Indexed Jobs: the completion index, not the pod name, numbers a replicate)."""

from __future__ import annotations

import json
from typing import Any

from controller_harness import GROUP_VERSION, Cluster, condition

NS = "seeds"
# One BLAS thread per pod, so that a training run is bitwise reproducible from its seed.
SINGLE_THREAD = {"name": "OMP_NUM_THREADS", "value": "1"}


def final_losses(cluster: Cluster, run: dict[str, Any]) -> dict[str, list[float]]:
    """Replicate name -> final_loss values, from the result document the run stored."""
    cm = cluster.sb.get("v1", "ConfigMap", run["status"]["resultsConfigMap"], NS)
    document = json.loads(cm["data"]["result.json"])
    (workload,) = [w for w in document["workloads"] if w["name"] == "train_convnet"]
    (metric,) = [m for m in workload["metrics"] if m["name"] == "final_loss"]
    return {group["replicate"]: group["values"] for group in metric["samples"]}


def test_baseline_and_candidate_replicates_pair_by_name_and_seed(cluster: Cluster) -> None:
    sb = cluster.sb
    sb.create_namespace(NS)
    sb.add_node(f"{NS}-node", labels={"benchgate-test/pool": NS})
    cluster.suite(
        NS,
        NS,
        NS,
        workloads=[{"name": "train_convnet"}],
        sampling={"replicates": 4, "repetitions": 2},
        concurrency=2,
        jobTemplate={"env": [SINGLE_THREAD]},
    )
    baseline = cluster.wait(
        lambda: cluster.finished_runs(NS), timeout=120, what="the baseline run"
    )[0]
    assert condition(baseline, "Verified")["reason"] == "BaselinePromoted", baseline["status"]

    # A spec change makes a new run of the same platform, compared with that baseline.
    suite = sb.get(GROUP_VERSION, "RegressionSuite", NS, NS)
    mark = {"name": "BENCHGATE_TEST_MARK", "value": "2"}
    suite["spec"]["jobTemplate"]["env"] = [SINGLE_THREAD, mark]
    sb.apply(suite)
    first = baseline["metadata"]["name"]
    candidate = cluster.wait(
        lambda: [r for r in cluster.finished_runs(NS) if r["metadata"]["name"] != first],
        timeout=120,
        what="the candidate run",
    )[0]

    base, cand = final_losses(cluster, baseline), final_losses(cluster, candidate)
    assert sorted(base) == sorted(cand) == [f"pod-{i}" for i in range(4)], (
        f"replicates are named by completion index, not by pod: {sorted(base)} / {sorted(cand)}"
    )
    for replicate in base:
        assert base[replicate] == cand[replicate], (
            f"{replicate} trained from another seed in the candidate: {base[replicate]} vs "
            f"{cand[replicate]} (same platform, same seed must give the same loss)"
        )
    assert len({values[0] for values in base.values()}) == 4, (
        "each replicate has its own seed: the losses sample the seed distribution"
    )
    pods = [p for p in sb.list("v1", "Pod", NS) if p["status"].get("phase") == "Succeeded"]
    assert len({p["metadata"]["name"] for p in pods}) == 8, "eight distinct pods ran"
