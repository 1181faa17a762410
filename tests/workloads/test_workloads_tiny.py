"""Every workload at tiny size in one fresh process: the document, metric semantics and
what the numbers must mean physically."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from workload_helpers import document_from_stdout, workload_process

from benchgate.api.result import (
    BEGIN_MARKER,
    ResultDocument,
    extract_from_log,
    json_schema,
)
from benchgate_workloads import registry

ALL_WORKLOADS = (
    "numerics_probe",
    "determinism",
    "gemm_throughput",
    "memory_bandwidth",
    "collectives",
    "train_convnet",
    "train_transformer",
    "inference_latency",
    "prediction_consistency",
    "memory_behaviour",
)
REPETITIONS = 2
REPLICATE = "proc-7"

# (workload, metric regex) -> (unit, direction, kind, scale)
TIMING = ("continuous", "ratio")
LOSSES = r"(loss_at_step_\d+|loss_curve_steps_\d+_\d+|final_loss)"
EXPECTED: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("numerics_probe", r".*_(rel_rmse|max_abs_err)"): ("1", "lower", "error", "linear"),
    ("prediction_consistency", r"outputs"): ("logit", "equal", "distribution", "linear"),
    ("numerics_probe", r".*_ulp_p(50|99)"): ("ULP", "lower", "error", "linear"),
    ("numerics_probe", r".*_sha256"): ("sha256", "equal", "exact", "linear"),
    ("numerics_probe", r"tf32_effective"): ("bool", "equal", "exact", "linear"),
    ("numerics_probe", r"coverage"): ("cases", "equal", "exact", "linear"),
    ("determinism", r"bitwise_repeatable"): ("bool", "equal", "exact", "linear"),
    ("determinism", r"repeat_max_abs_diff"): ("1", "lower", "error", "linear"),
    ("determinism", r"params_sha256"): ("sha256", "equal", "exact", "linear"),
    ("determinism", r"nondeterministic_ops_raised"): ("count", "equal", "exact", "linear"),
    ("gemm_throughput", r"gflops_(fp32|bf16|fp16)"): ("GFLOP/s", "higher", *TIMING),
    ("memory_bandwidth", r"host_copy_gbps"): ("GB/s", "higher", *TIMING),
    ("collectives", r"busbw_gbps_(fp32|bf16)_(256kib|4mib)"): ("GB/s", "higher", *TIMING),
    ("collectives", r"wrong_values"): ("count", "equal", "exact", "linear"),
    ("collectives", r"world_size"): ("ranks", "equal", "exact", "linear"),
    ("collectives", r"backend"): ("backend", "equal", "exact", "linear"),
    ("train_convnet", r"step_time_ms_p(50|90)"): ("ms", "lower", *TIMING),
    ("train_convnet", r"images_per_s"): ("images/s", "higher", *TIMING),
    ("train_convnet", LOSSES): ("nats", "band", "continuous", "linear"),
    ("train_transformer", r"step_time_ms"): ("ms", "lower", *TIMING),
    ("train_transformer", r"tokens_per_s"): ("tokens/s", "higher", *TIMING),
    ("train_transformer", LOSSES): ("nats", "band", "continuous", "linear"),
    ("train_transformer", r"grad_norm_max"): ("1", "band", "continuous", "linear"),
    ("train_transformer", r"sdpa_backend"): ("backend", "equal", "exact", "linear"),
    ("inference_latency", r"latency_p(50|95|99)_ms"): ("ms", "lower", *TIMING),
    ("inference_latency", r"requests_per_s"): ("requests/s", "higher", *TIMING),
    ("memory_behaviour", r"host_maxrss_kib"): ("KiB", "band", "continuous", "ratio"),
}


@pytest.fixture(scope="module")
def run_all() -> tuple[ResultDocument, dict[str, Any], str]:
    proc = workload_process(
        [
            "run",
            "--size",
            "tiny",
            "--replicate",
            REPLICATE,
            "--repetitions",
            str(REPETITIONS),
            "--suite-name",
            "s",
            "--run-name",
            "r",
            "--platform",
            "cpu",
        ]
    )
    doc = document_from_stdout(proc)
    text = proc.stdout.split(BEGIN_MARKER, 1)[1].rsplit("-----END", 1)[0]
    return doc, json.loads(text), proc.stderr


def test_document_is_valid_against_the_parser_and_the_json_schema(run_all: Any) -> None:
    doc, raw, _ = run_all
    jsonschema.validate(raw, json_schema())
    assert doc.run.replicate == REPLICATE and doc.run.suite == "s"
    assert [w.name for w in doc.workloads] == list(ALL_WORKLOADS)
    failed = {w.name: w.error for w in doc.workloads if w.status != "ok"}
    assert not failed, f"workloads failed at tiny size: {failed}"
    assert not doc.errors


def test_progress_is_reported_on_stderr(run_all: Any) -> None:
    _, _, stderr = run_all
    for name in ALL_WORKLOADS:
        assert f"{name} ok in" in stderr, f"no progress line for {name} in:\n{stderr}"


def test_every_metric_has_the_declared_unit_direction_and_kind(run_all: Any) -> None:
    doc, _, _ = run_all
    unmatched = []
    for key, metric in doc.metrics():
        workload, name = key.split("/", 1)
        rule = next(
            (
                v
                for (w, pattern), v in EXPECTED.items()
                if w == workload and re.fullmatch(pattern, name)
            ),
            None,
        )
        if rule is None:
            unmatched.append(key)
            continue
        got = (metric.unit, metric.direction, metric.kind, metric.scale)
        assert got == rule, f"{key}: (unit, direction, kind, scale) is {got}, expected {rule}"
        assert metric.description, f"{key} has no description"
        assert metric.replicates == [REPLICATE], f"{key}: samples not grouped by replicate"
        assert len(metric.values) == REPETITIONS, f"{key}: expected one value per repetition"
        if metric.kind == "continuous" and metric.scale == "ratio":
            assert all(float(v) > 0 for v in metric.values), f"{key}: ratio metric <= 0"
        if metric.kind == "continuous":
            assert f"{metric.tolerance:.0%}" in metric.description, (
                f"{key}: the tolerance is not documented in the description"
            )
    assert not unmatched, f"metrics without an expectation in this test: {unmatched}"


def test_every_reported_metric_is_in_the_catalog_the_operator_ships(run_all: Any) -> None:
    # A metric missing from registry.METRICS would make the operator refuse a suite that
    # overrides it (InvalidSpec) although the workload reports it.
    doc, _, _ = run_all
    missing = [key for key, _ in doc.metrics() if not registry.reports(*key.split("/", 1))]
    assert not missing, f"add these to benchgate_workloads.registry.METRICS: {missing}"


def _values(doc: ResultDocument) -> dict[str, Any]:
    return {key: m.values[0] for key, m in doc.metrics()}


def test_numerics_probe_errors_are_physically_plausible(run_all: Any) -> None:
    v = _values(run_all[0])
    for op in ("matmul", "conv2d", "softmax", "layer_norm", "sdpa_math"):
        fp32 = v[f"numerics_probe/{op}_fp32_rel_rmse"]
        bf16 = v[f"numerics_probe/{op}_bf16_rel_rmse"]
        assert 0 < fp32 < 1e-5, f"{op} fp32 relative RMSE {fp32} is not fp32-sized"
        assert 1e-4 < bf16 < 5e-2, f"{op} bf16 relative RMSE {bf16} is not bf16-sized"
        assert fp32 < bf16
        assert re.fullmatch(r"[0-9a-f]{64}", v[f"numerics_probe/{op}_fp32_sha256"])
    assert v["numerics_probe/tf32_effective"] is False
    coverage = v["numerics_probe/coverage"]
    assert "sdpa_math_fp32" in coverage.split("; skipped")[0]
    assert "sdpa_efficient_fp32:" in coverage, (
        f"a CPU run must record why it skipped the CUDA-only SDPA backends: {coverage}"
    )


def test_determinism_holds_within_the_process(run_all: Any) -> None:
    v = _values(run_all[0])
    assert v["determinism/bitwise_repeatable"] is True
    assert v["determinism/repeat_max_abs_diff"] == 0.0
    assert v["determinism/nondeterministic_ops_raised"] == 0


def test_training_learns_and_throughput_matches_step_time(run_all: Any) -> None:
    doc, _, _ = run_all
    v = _values(doc)
    for w in ("train_convnet", "train_transformer"):
        assert v[f"{w}/final_loss"] < v[f"{w}/loss_at_step_10"], f"{w} did not learn"
        curve = sorted(
            (int(k.split("_")[-2]), val)
            for k, val in v.items()
            if k.startswith(f"{w}/loss_curve_steps_")
        )
        # Four windows that tile the run from step 1, and a curve that comes down.
        assert curve[0][0] == 1 and len(curve) == 4, curve
        assert curve[-1][1] < curve[0][1], f"{w} loss curve does not descend: {curve}"
    step = doc.workload("train_transformer").metric("step_time_ms")  # type: ignore[union-attr]
    tps = doc.workload("train_transformer").metric("tokens_per_s")  # type: ignore[union-attr]
    assert step is not None and tps is not None
    for ms, tokens in zip(step.values, tps.values, strict=True):
        assert tokens == pytest.approx(8 * 32 / (float(ms) / 1e3))


def test_latency_percentiles_are_ordered(run_all: Any) -> None:
    v = _values(run_all[0])
    p50, p95, p99 = (v[f"inference_latency/latency_p{q}_ms"] for q in (50, 95, 99))
    assert 0 < p50 <= p95 <= p99


def test_fingerprint_has_every_contract_group_and_degrades_without_a_gpu(run_all: Any) -> None:
    doc, raw, _ = run_all
    fp = doc.fingerprint
    for group in ("driver", "software", "runtime", "environment", "host", "gpu", "volatile"):
        assert group in fp, f"fingerprint group {group} missing"
    for group, fields in raw["fingerprint"].items():
        for name, f in fields.items():
            assert set(f) == {"value", "status", "source"}, f"{group}.{name}: {f}"
    # This machine has no GPU and no NVML library: explicit, not missing.
    assert fp["gpu"]["devices"].value == 0 and fp["gpu"]["devices"].status == "unavailable"
    assert {f.status for f in fp["driver"].values()} == {"unavailable"}
    assert fp["runtime"]["num_threads"].status == "ok"
    assert fp["software"]["torch_version"].value.startswith("2.")
    assert fp["environment"]["OMP_NUM_THREADS"].status == "ok"


def test_unknown_workload_is_a_usage_error() -> None:
    proc = workload_process(["run", "--workload", "no_such_workload"])
    assert proc.returncode == 2
    assert "no_such_workload" in proc.stderr and "numerics_probe" in proc.stderr


def test_garbage_injection_prints_no_parseable_document() -> None:
    proc = workload_process(
        ["run", "--workload", "memory_behaviour"], env={"BENCHGATE_INJECT_GARBAGE": "1"}
    )
    assert proc.returncode == 0
    with pytest.raises(ValueError, match="not valid JSON"):
        extract_from_log(proc.stdout)


def test_fingerprint_records_the_environment_the_process_started_with(run_all: Any) -> None:
    # Workloads must not leak their own settings (say, a cuBLAS workspace for
    # deterministic mode) into the description of the platform.
    import os

    doc, _, _ = run_all
    for name, field in doc.fingerprint["environment"].items():
        assert field.value == os.environ.get(name), (
            f"environment.{name} is {field.value!r} but the process started with "
            f"{os.environ.get(name)!r}"
        )
