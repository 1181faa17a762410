"""`benchgate run SUITE.yaml`: fresh processes per replicate, one merged document."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from workload_helpers import benchgate, read_document, write_suite

from benchgate.api.result import ResultDocument, json_schema

REPLICATES = 3
REPETITIONS = 2
OVERRIDES = """
metrics:
  - {name: coverage, ignore: true}
  - {name: matmul_fp32_rel_rmse, errorFactor: 4}
"""


@pytest.fixture(scope="module")
def run_doc(tmp_path_factory: pytest.TempPathFactory) -> tuple[ResultDocument, dict, str]:
    tmp = tmp_path_factory.mktemp("run")
    suite = write_suite(
        tmp / "suite.yaml",
        ["numerics_probe", "determinism", "memory_behaviour"],
        replicates=REPLICATES,
        repetitions=REPETITIONS,
        extra=OVERRIDES,
    )
    out = tmp / "result.json"
    proc = benchgate(["run", str(suite), "--out", str(out)])
    assert proc.returncode == 0, f"benchgate run failed:\n{proc.stderr}"
    return read_document(out), json.loads(out.read_text()), proc.stderr


def test_run_writes_a_valid_document_with_one_group_per_replicate(run_doc: tuple) -> None:
    doc, raw, _ = run_doc
    jsonschema.validate(raw, json_schema())
    assert doc.run.suite == "workload-tests"
    assert [w.name for w in doc.workloads] == ["numerics_probe", "determinism", "memory_behaviour"]
    expected = [f"proc-{i}" for i in range(REPLICATES)]
    for key, metric in doc.metrics():
        assert metric.replicates == expected, f"{key}: replicates {metric.replicates}"
        assert all(len(g.values) == REPETITIONS for g in metric.samples), key


def test_checksums_agree_across_processes_with_the_same_thread_count(run_doc: tuple) -> None:
    doc, _, _ = run_doc
    checksums = [(k, m) for k, m in doc.metrics() if k.endswith("sha256")]
    assert any(k == "determinism/params_sha256" for k, _ in checksums)
    for key, metric in checksums:
        assert len(set(metric.values)) == 1, (
            f"{key} differs between processes: "
            f"{dict((g.replicate, g.values[0]) for g in metric.samples)}"
        )


def test_suite_overrides_are_applied(run_doc: tuple) -> None:
    doc, _, _ = run_doc
    numerics = doc.workload("numerics_probe")
    assert numerics is not None
    assert numerics.metric("coverage") is None, "ignore: true must drop the metric"
    matmul = numerics.metric("matmul_fp32_rel_rmse")
    assert matmul is not None and matmul.error_factor == 4.0
    assert numerics.metric("matmul_bf16_rel_rmse").error_factor == 3.0  # type: ignore[union-attr]


def test_progress_names_every_replicate(run_doc: tuple) -> None:
    _, _, stderr = run_doc
    for i in range(REPLICATES):
        assert f"replicate proc-{i}" in stderr


def test_failing_workload_is_reported_while_the_others_run(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite.yaml", ["memory_behaviour", "determinism"], repetitions=1)
    out = tmp_path / "result.json"
    proc = benchgate(
        ["run", str(suite), "--replicates", "1", "--out", str(out)],
        env={"BENCHGATE_INJECT_FAIL": "memory_behaviour"},
    )
    assert proc.returncode == 0, proc.stderr
    doc = read_document(out)
    failed = doc.workload("memory_behaviour")
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None and failed.error.type == "InjectedFailure"
    assert [e.workload for e in doc.errors] == ["memory_behaviour"]
    ok = doc.workload("determinism")
    assert ok is not None and ok.status == "ok" and ok.metrics
    assert "failed: memory_behaviour" in proc.stderr


def test_a_replicate_without_a_document_is_recorded_and_exits_non_zero(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite.yaml", ["memory_behaviour"], repetitions=1)
    out = tmp_path / "result.json"
    proc = benchgate(
        ["run", str(suite), "--replicates", "1", "--out", str(out)],
        env={"BENCHGATE_INJECT_GARBAGE": "1"},
    )
    assert proc.returncode == 4, proc.stderr
    doc = read_document(out)
    workload = doc.workload("memory_behaviour")
    assert workload is not None and workload.status == "failed"
    assert workload.error is not None and workload.error.type == "InvalidDocument"
    assert "not valid JSON" in workload.error.message


def test_bad_suite_and_unknown_workload_are_refused_with_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: benchgate.dev/v1alpha1\nkind: RegressionSuite\n"
        "metadata: {name: x}\nspec: {workloads: []}\n"
    )
    proc = benchgate(["run", str(bad)])
    assert proc.returncode == 3 and "spec.workloads" in proc.stderr
    suite = write_suite(tmp_path / "suite.yaml", ["determinism"])
    proc = benchgate(["run", str(suite), "--workload", "gemm_throughput"])
    assert proc.returncode == 3
    assert "--workload" in proc.stderr and "determinism" in proc.stderr


def test_document_goes_to_stdout_without_out(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "suite.yaml", ["memory_behaviour"], repetitions=1)
    proc = benchgate(["run", str(suite), "--replicates", "1"])
    assert proc.returncode == 0, proc.stderr
    jsonschema.validate(json.loads(proc.stdout), json_schema())


def test_zero_replicates_asks_the_engine_for_a_plan(tmp_path: Path) -> None:
    import argparse

    from benchgate.api.suite import load_suite_file
    from benchgate.commands import run as run_command

    suite = load_suite_file(write_suite(tmp_path / "s.yaml", ["determinism"], replicates=0))
    parser = argparse.ArgumentParser()
    run_command.configure(parser)
    plan = run_command.build_plan(parser.parse_args([str(tmp_path / "s.yaml")]), suite, None)
    assert plan.replicates >= 3, "the engine never plans fewer than min_replicates"
    assert plan.why.startswith("engine recommendation")
    explicit = run_command.build_plan(
        parser.parse_args([str(tmp_path / "s.yaml"), "--replicates", "2", "--repetitions", "4"]),
        suite,
        None,
    )
    assert (explicit.replicates, explicit.repetitions["determinism"]) == (2, 4)


def test_sequential_mode_stops_once_every_metric_is_decided(run_doc: tuple, tmp_path: Path) -> None:
    from dataclasses import replace

    from benchgate.api.result import dumps

    doc, _, _ = run_doc
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        dumps(replace(doc, workloads=tuple(w for w in doc.workloads if w.name == "determinism")))
    )
    suite = write_suite(
        tmp_path / "suite.yaml", ["determinism"], replicates=8, repetitions=REPETITIONS
    )
    suite.write_text(suite.read_text().replace("mode: fixed", "mode: sequential"))
    proc = benchgate(["run", str(suite), "--baseline", str(baseline), "--format", "markdown"])
    assert proc.returncode == 0, f"expected Passed:\n{proc.stdout}\n{proc.stderr}"
    assert "benchgate: **Passed**" in proc.stdout
    # Checksums decide at the first look (3 replicates) instead of running all 8.
    assert "replicate proc-3" not in proc.stderr, proc.stderr
    assert "sequential look after 3 replicate(s)" in proc.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{" * 100_000, "nests objects/arrays deeper than 32 levels"),
        (
            '{"schemaVersion": "benchgate.dev/result/v1", "workloads": [{"name": "w", '
            '"status": "ok", "metrics": [{"name": "t", "unit": "s", "direction": "lower", '
            '"samples": [{"replicate": "p", "values": [' + "9" * 5000 + "]}]}]}]}",
            "workloads[0].metrics[0].samples[0].values[0]: is a number written with 5000",
        ),
        (
            '{"schemaVersion": "benchgate.dev/result/v1", "workloads": [{"name": "w", '
            '"status": "ok", "metrics": [{"name": "t", "unit": "s", "direction": "lower", '
            '"samples": [{"replicate": "p", "values": [1.0, 1.1]}]}]}]}',
            "cannot serve as a baseline: workloads[0].metrics[0] (w/t): baseline has 1 replicate",
        ),
    ],
    ids=["too-deep", "huge-number", "one-replicate"],
)
def test_a_bad_baseline_is_refused_before_any_workload_runs(
    tmp_path: Path, content: str, expected: str
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(content)
    suite = write_suite(tmp_path / "suite.yaml", ["determinism"], replicates=3)
    proc = benchgate(["run", str(suite), "--baseline", str(baseline)])
    assert proc.returncode == 3, proc.stderr
    assert f"--baseline {baseline}" in proc.stderr and expected in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "replicate proc-0" not in proc.stderr, "no workload may run against a bad baseline"
