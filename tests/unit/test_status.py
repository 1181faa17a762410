"""Status composition: conditions, reasons, rows, and the suite's summary."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import UTC, datetime
from typing import Any

from benchgate.api import conditions as c
from benchgate.domain import status as s

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)


@dataclass(frozen=True)
class M:
    key: str = "gemm_throughput/gflops_fp32"
    unit: str = "GFLOP/s"
    kind: str = "continuous"
    verdict: str = "Regressed"
    reason: str = "-18.0% < -5% tolerance"
    baseline: float | str | None = 12.5
    candidate: float | str | None = 10.25
    change: float | None = -0.18
    ci_low: float | None = -0.21
    ci_high: float | None = -0.15
    p_decision: float | None = 0.0012
    n_baseline: int = 3
    n_candidate: int = 3


@dataclass(frozen=True)
class E:
    group: str = "runtime"
    field: str = "fp32_precision"
    before: Any = "none"
    after: Any = "tf32"
    summary: str = "runtime.fp32_precision: none -> tf32"


@dataclass(frozen=True)
class Cmp:
    metrics: tuple[M, ...] = (M(),)
    verdict: str = "Regressed"
    reason: str = "1 metric regressed"
    worst: M | None = M()
    env_changes: tuple[E, ...] = (E(),)


def cond(status: dict[str, Any], type_: str) -> dict[str, Any]:
    found = c.find(status["conditions"], type_)
    assert found is not None, f"condition {type_} missing from {status['conditions']}"
    return dict(found)


def test_regression_names_the_metric_and_fills_rows() -> None:
    st = s.run_status(s.from_comparison(Cmp()), None, now=T0, generation=1)
    verified = cond(st, "Verified")
    assert (verified["status"], verified["reason"]) == ("False", "RegressionDetected")
    assert "gemm_throughput/gflops_fp32" in verified["message"]
    assert cond(st, "Complete")["status"] == "True"
    assert st["verdict"] == "Regressed"
    assert st["worstMetric"] == "gemm_throughput/gflops_fp32"
    assert st["worstChange"] == "-18.00%"
    (row,) = st["metrics"]
    assert row["baseline"] == "12.5" and row["candidate"] == "10.25"
    assert row["ciLow"] == "-21.00%" and row["pValue"] == "0.0012"
    assert row["replicates"] == "3/3"
    assert st["envDiff"][0]["field"] == "runtime.fp32_precision"
    for value in (row["baseline"], row["change"], st["worstChange"]):
        assert isinstance(value, str), "status carries numbers as strings, never floats"


def test_each_unhappy_path_has_its_own_reason() -> None:
    outcomes = {
        "WorkloadFailed": s.workload_failed("gemm_throughput raised"),
        "TimedOut": s.timed_out("deadline"),
        "ResultRejected": s.result_rejected("no document"),
        "NoBaseline": s.no_baseline("no baseline", promoted_to=None),
        "BaselinePromoted": s.no_baseline("no baseline", promoted_to="r-baseline"),
        "Inconclusive": s.from_comparison(Cmp(verdict="Inconclusive")),
        "PlatformVerified": s.from_comparison(Cmp(verdict="Passed", worst=None)),
        "VerificationPending": s.pending(),
        "Running": s.running("1/3 pods done"),
    }
    for reason, outcome in outcomes.items():
        st = s.run_status(outcome, None, now=T0, generation=1)
        assert cond(st, "Verified")["reason"] == reason
    assert (
        cond(s.run_status(s.pending(), None, now=T0, generation=1), "Complete")["status"] == "False"
    )
    passed = s.run_status(s.from_comparison(Cmp(verdict="Passed")), None, now=T0, generation=1)
    assert cond(passed, "Verified")["status"] == "True"


def test_last_transition_time_moves_only_when_status_changes() -> None:
    first = s.run_status(s.pending(), None, now=T0, generation=1)
    second = s.run_status(s.running("going"), first["conditions"], now=T1, generation=1)
    assert cond(second, "Verified")["lastTransitionTime"] == "2026-11-23T10:00:00Z"
    assert cond(second, "Verified")["reason"] == "Running"
    done = s.run_status(s.from_comparison(Cmp()), second["conditions"], now=T1, generation=1)
    assert cond(done, "Verified")["lastTransitionTime"] == "2026-11-23T10:05:00Z"
    assert cond(done, "Verified")["observedGeneration"] == 1


def summary(name: str, key: str, verdict: str, created: float, reason: str = "") -> s.RunSummary:
    return s.RunSummary(
        name=name,
        platform_key=key,
        platform_class=f"cls-{key}",
        created_at=created,
        verdict=verdict,
        reason=reason,
        baseline="b",
        last_transition=f"2026-11-23T10:0{int(created)}:00Z",
    )


def test_suite_rows_use_the_latest_run_per_platform() -> None:
    runs = [
        summary("r1", "k1", "Regressed", 1),
        summary("r2", "k1", "Passed", 2),
        summary("r3", "k2", "Regressed", 3),
    ]
    st = s.suite_status(
        platforms={"k1": ("cls-k1", ["n1"]), "k3": ("cls-k3", ["n3"])},
        runs=runs,
        existing=None,
        now=T0,
        generation=4,
    )
    rows = {r["key"]: r for r in st["platforms"]}
    assert rows["k1"]["verdict"] == "Passed" and rows["k1"]["lastRun"] == "r2"
    assert rows["k3"]["verdict"] == "Pending"
    # k2 has no nodes now (its key changed, or its pool left): its row stays as history
    # but its old regression no longer fails the suite.
    assert rows["k2"]["verdict"] == "Regressed" and rows["k2"]["nodes"] == []
    assert (st["platformsVerified"], st["platformsFailed"]) == (1, 0)
    assert st["latestVerdict"] == "Regressed" and st["latestRun"] == "r3"
    assert cond(st, "Degraded")["status"] == "False"
    assert cond(st, "Ready")["reason"] == "PlatformsPending"
    assert st["message"] == "1 of 2 platform(s) not verified yet (1 verified, 0 baseline)"
    assert cond(st, "Ready")["observedGeneration"] == 4 and st["observedGeneration"] == 4
    present = s.suite_status(
        platforms={"k1": ("cls-k1", ["n1"]), "k2": ("cls-k2", ["n2"])},
        runs=runs,
        existing=None,
        now=T0,
        generation=4,
    )
    assert (present["platformsVerified"], present["platformsFailed"]) == (1, 1)
    assert cond(present, "Ready")["reason"] == "PlatformsFailed"


def test_a_platform_whose_key_changed_keeps_its_history_and_its_baseline() -> None:
    """The demo's story: the first run on k-old became the baseline, then the node's
    kernel changed its key to k-new, whose run passed against that baseline."""
    runs = [
        summary("first", "k-old", "NoBaseline", 1, reason="BaselinePromoted"),
        summary("second", "k-new", "Passed", 2),
    ]
    st = s.suite_status(
        platforms={"k-new": ("cls", ["vm"])},
        runs=runs,
        existing=None,
        now=T0,
        generation=1,
        previous_rows=[{"key": "k-old", "firstSeenTime": "2026-11-23T09:00:00Z"}],
    )
    rows = {r["key"]: r for r in st["platforms"]}
    assert rows["k-old"]["lastRun"] == "first" and rows["k-old"]["nodes"] == []
    assert rows["k-old"]["firstSeenTime"] == "2026-11-23T09:00:00Z"
    assert rows["k-new"]["lastRun"] == "second" and rows["k-new"]["nodes"] == ["vm"]
    assert (st["platformsVerified"], st["platformsFailed"]) == (1, 0)
    assert st["message"] == "1 platform(s) verified, 1 serving as baseline"
    assert cond(st, "Ready")["status"] == "True"
    assert st["latestRun"] == "second"


def test_history_rows_give_way_first_when_the_list_is_full() -> None:
    present = {f"p{i:04d}": ("cls", [f"n{i}"]) for i in range(s.MAX_ROWS - 1)}
    runs = [summary(f"old{i}", f"gone{i}", "Passed", i % 9) for i in range(3)]
    st = s.suite_status(platforms=present, runs=runs, existing=None, now=T0, generation=1)
    keys = {r["key"] for r in st["platforms"]}
    assert len(keys) == s.MAX_ROWS, "the CRD allows at most MAX_ROWS rows"
    assert set(present) <= keys, "a platform with nodes is never dropped for history"
    assert "gone2" in keys, "the most recent history is kept"


def test_suite_ready_when_every_platform_verified_or_is_the_baseline() -> None:
    runs = [
        summary("r1", "k1", "Passed", 1),
        summary("r2", "k2", "NoBaseline", 2, reason="BaselinePromoted"),
    ]
    st = s.suite_status(
        platforms={"k1": ("a", ["n1"]), "k2": ("b", ["n2"])},
        runs=runs,
        existing=None,
        now=T0,
        generation=1,
    )
    assert cond(st, "Ready")["status"] == "True"
    assert cond(st, "Degraded")["status"] == "False"
    empty = s.suite_status(platforms={}, runs=[], existing=None, now=T0, generation=1)
    assert cond(empty, "Ready")["reason"] == "NoPlatforms"


def test_long_exact_values_fit_the_crd_bound() -> None:
    long = M(
        kind="exact",
        baseline="ran: " + "x" * 500,
        candidate="ran: " + "y" * 500,
        change=None,
        ci_low=None,
        ci_high=None,
    )
    row = s.metric_row(long)
    assert len(row["baseline"]) <= 64 and len(row["candidate"]) <= 64
    assert row["change"] == ""


def test_merge_keeps_conditions_it_does_not_touch() -> None:
    first = c.merge(
        None,
        [c.Condition("Ready", "True", "A"), c.Condition("Other", "False", "B")],
        now=T0,
        generation=1,
    )
    second = c.merge(first, [c.Condition("Ready", "False", "C", "why")], now=T1, generation=2)
    assert [x["type"] for x in second] == ["Ready", "Other"]
    assert second[1] == first[1], "an untouched condition is kept as it was"
    assert second[0]["lastTransitionTime"] == "2026-11-23T10:05:00Z"
    assert second[0]["observedGeneration"] == 2 and second[0]["message"] == "why"


def test_rows_say_what_runs_what_is_waited_for_and_what_was_accepted() -> None:
    going = s.RunSummary(
        "r9",
        "k1",
        "cls-k1",
        9,
        "Running",
        "Running",
        "b",
        "",
        trigger="Manual",
        progress="3 of 6 replicates (look 1 of 2, at most 6)",
    )
    accepted = dataclass_replace(summary("r2", "k2", "Accepted", 2), anchor="b0", drift="x drifted")
    st = s.suite_status(
        platforms={"k1": ("cls-k1", ["n1"]), "k2": ("cls-k2", ["n2"]), "k3": ("cls-k3", ["n3"])},
        runs=[summary("r1", "k1", "Passed", 1), going, accepted],
        existing=None,
        now=T0,
        generation=1,
        waiting={"k3": "its node labels to settle until 2026-11-23T10:01:00Z"},
    )
    rows = {r["key"]: r for r in st["platforms"]}
    assert rows["k1"]["running"] == "r9 (Manual): 3 of 6 replicates (look 1 of 2, at most 6)"
    assert rows["k3"]["waitingFor"].startswith("its node labels to settle")
    assert rows["k2"]["verdict"] == "Accepted" and rows["k2"]["drift"] == "x drifted"
    assert st["platformsVerified"] == 1, "k2 (Accepted) is verified; k1 is running"
    assert s.effective_verdict({"verdict": "Regressed", "acceptance": {"baseline": "b"}}) == (
        "Accepted"
    )
    assert s.effective_verdict({"verdict": "Regressed"}) == "Regressed"


def test_the_design_that_judged_a_run_is_written_to_status_control() -> None:
    control = {"design": "concurrent-control", "node": "old-1", "why": "control node old-1"}
    outcome = dataclass_replace(s.running("2 of 3 replicate(s) finished"), control=control)
    status = s.run_status(outcome, None, now=datetime(2026, 1, 1, tzinfo=UTC), generation=1)
    assert status["control"] == control
    bare = s.run_status(s.running("x"), None, now=datetime(2026, 1, 1, tzinfo=UTC), generation=1)
    assert "control" not in bare, "no design recorded yet: the field is left as it is"
