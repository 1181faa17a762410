"""One precedence for the tolerance a metric is judged with, visible in status.plan."""

from __future__ import annotations

from typing import Any

from benchgate.api.result import (
    Metric,
    ReplicateSamples,
    ResultDocument,
    RunIdentity,
    WorkloadResult,
)
from benchgate.api.suite import parse_suite
from benchgate.domain.tolerance import plan_rows
from benchgate.domain.verdict import EngineSettings, compare_documents


def metric(name: str, *, kind: str = "continuous", tolerance: float | None = 0.1) -> Metric:
    groups = [[100.0 + i, 101.0 + i, 99.0 + i] for i in range(4)]
    return Metric(
        name=name,
        unit="ms",
        direction="lower" if kind != "exact" else "equal",
        kind=kind,  # type: ignore[arg-type]
        scale="ratio" if kind == "continuous" else "linear",
        tolerance=tolerance,
        error_factor=3.0 if kind == "error" else None,
        samples=tuple(ReplicateSamples(f"proc-{i}", tuple(g)) for i, g in enumerate(groups)),
    )


def baseline() -> ResultDocument:
    return ResultDocument(
        run=RunIdentity(suite="s", run="r"),
        workloads=(
            WorkloadResult(
                name="gemm_throughput",
                size="tiny",
                status="ok",
                duration_seconds=1.0,
                metrics=(
                    metric("gflops_fp32"),  # declared 10 %, overridden to 5 %
                    metric("gflops_bf16"),  # declared 10 %
                    metric("gflops_fp16", tolerance=None),  # declares none: the suite's 3 %
                    metric("clock_event_reasons", kind="exact", tolerance=None),
                    metric("sm_clock_mhz"),  # ignored
                ),
            ),
        ),
    )


def suite(**statistics: Any) -> Any:
    return parse_suite(
        {
            "apiVersion": "benchgate.dev/v1alpha1",
            "kind": "RegressionSuite",
            "metadata": {"name": "s"},
            "spec": {
                "image": "img:1",
                "workloads": [
                    {
                        "name": "gemm_throughput",
                        "metrics": [
                            {"name": "gflops_fp32", "tolerancePercent": 5},
                            {"name": "sm_clock_mhz", "ignore": True},
                        ],
                    }
                ],
                "statistics": {"tolerancePercent": 3, **statistics},
            },
        }
    )


def test_plan_rows_show_the_precedence_override_workload_suite() -> None:
    rows = {r["metric"]: r for r in plan_rows(suite(), baseline())}
    assert rows["gemm_throughput/gflops_fp32"] == {
        "metric": "gemm_throughput/gflops_fp32",
        "judgedBy": "TolerancePercent",
        "value": "5",
        "source": "Override",
    }
    assert (
        rows["gemm_throughput/gflops_bf16"]["value"],
        rows["gemm_throughput/gflops_bf16"]["source"],
    ) == ("10", "Workload")
    assert (
        rows["gemm_throughput/gflops_fp16"]["value"],
        rows["gemm_throughput/gflops_fp16"]["source"],
    ) == ("3", "Suite")
    assert rows["gemm_throughput/clock_event_reasons"]["judgedBy"] == "Equality"
    assert rows["gemm_throughput/sm_clock_mhz"]["judgedBy"] == "Ignored"


def test_the_engine_judges_with_the_tolerance_the_plan_shows() -> None:
    spec = suite()
    rows = {r["metric"]: r for r in plan_rows(spec, baseline())}
    overrides = {f"{w.name}/{m.name}": m for w in spec.workloads for m in w.metrics}
    settings = EngineSettings.from_spec(spec.statistics, spec.sampling)
    comparison = compare_documents(baseline(), baseline(), settings, overrides)
    judged = {m.key: m.tolerance for m in comparison.metrics if m.tolerance is not None}
    for key, used in judged.items():
        if rows[key]["judgedBy"] == "TolerancePercent":
            assert float(rows[key]["value"]) == round(used * 100, 6), key
    assert "gemm_throughput/sm_clock_mhz" not in judged, "an ignored metric is not judged"


def test_without_a_baseline_the_plan_lists_overrides_and_defaults() -> None:
    rows = plan_rows(suite(tolerancePercent="2.5"), None)
    assert {
        "metric": "*",
        "judgedBy": "TolerancePercent",
        "value": "2.5",
        "source": "Suite",
    } in rows
    assert {"metric": "*", "judgedBy": "ErrorFactor", "value": "2", "source": "Suite"} in rows
    assert any(r["metric"] == "gemm_throughput/gflops_fp32" and r["value"] == "5" for r in rows)
