"""`benchgate status`'s view, derived from API objects alone."""

from __future__ import annotations

from typing import Any

from benchgate.domain.overview import age, exit_code, overview, render, to_data

NOW = 1_800_000_000.0


def suite(rows: list[dict[str, Any]], **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "numerics", "namespace": "ml"},
        "spec": {"gating": {"enabled": True}},
        "status": {
            "platforms": rows,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "PlatformsFailed",
                    "message": "1 failed",
                }
            ],
            **status,
        },
    }


def run(name: str, verdict: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ml"},
        "spec": {"trigger": {"reason": "NewPlatform"}},
        "status": {
            "verdict": verdict,
            "worstMetric": "gemm/gflops",
            "worstChange": "-12.00%",
            **status,
        },
    }


def baseline(name: str, created: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ml", "creationTimestamp": created}}


def node(name: str, gated: bool) -> dict[str, Any]:
    taints = [{"key": "benchgate.dev/unverified", "value": "ml.numerics", "effect": "NoSchedule"}]
    return {"metadata": {"name": name}, "spec": {"taints": taints if gated else []}}


ROWS = [
    {
        "key": "a" * 64,
        "class": "h100-550",
        "nodes": ["n1"],
        "lastRun": "r1",
        "verdict": "Passed",
        "baseline": "b0",
    },
    {
        "key": "b" * 64,
        "class": "h100-560",
        "nodes": ["n2", "n3"],
        "lastRun": "r2",
        "verdict": "Regressed",
        "baseline": "b0",
        "trigger": "FingerprintChanged",
    },
    {
        "key": "c" * 64,
        "class": "h100-570",
        "nodes": ["n4"],
        "verdict": "Pending",
        "waitingFor": "its node labels to settle until 2027-01-15T08:00:00Z",
    },
]


def view(nodes: list[dict[str, Any]] | None = None) -> Any:
    runs = [
        run("r1", "Passed"),
        run("r2", "Regressed", message="regression detected (gemm/gflops)"),
    ]
    return overview(
        [suite(ROWS)],
        runs,
        [baseline("b0", "2027-01-15T05:00:00Z")],
        nodes if nodes is not None else [node("n1", False), node("n2", True), node("n3", True)],
        NOW,
    )


def test_each_platform_has_its_verdict_gating_baseline_age_and_next_step() -> None:
    (s,) = view()
    a, b, c = s.platforms
    assert (a.verdict, a.gated, a.next_steps) == ("Passed", (), ())
    assert b.verdict == "Regressed" and b.gated == ("n2", "n3") and b.worst_change == "-12.00%"
    assert b.baseline == "b0" and b.baseline_age_seconds == 3 * 3600, "NOW is 08:00Z"
    assert any("benchgate report r2 -n ml" in step for step in b.next_steps)
    assert any("benchgate accept r2 -n ml" in step for step in b.next_steps)
    assert any("benchgate verify numerics --platform h100-560 -n ml" in s for s in b.next_steps)
    assert c.waiting_for.startswith("its node labels to settle")
    assert exit_code([s]) == 1
    text = render([s])
    assert "Regressed" in text and "2/2" in text and "waiting for: its node labels" in text
    assert to_data([s])["suites"][0]["platforms"][1]["platformClass"] == "h100-560"


def test_an_accepted_run_shows_accepted_and_no_one_may_list_nodes_shows_a_question_mark() -> None:
    accepted = run("r2", "Regressed", acceptance={"baseline": "r2-baseline", "by": "alice"})
    accepted["metadata"]["annotations"] = {"benchgate.dev/promoted-to": "r2-baseline"}
    (s,) = overview(
        [suite(ROWS[:2])],
        [run("r1", "Passed"), accepted],
        [baseline("r2-baseline", "2027-01-15T07:59:00Z")],
        None,
        NOW,
    )
    b = s.platforms[1]
    assert b.verdict == "Accepted" and b.baseline == "r2-baseline" and b.gated is None
    assert exit_code([s]) == 0
    assert " ? " in render([s])


def test_ages_read_like_kubectl() -> None:
    assert [age(x) for x in (None, 5, 90, 7200, 3 * 86400)] == ["-", "5s", "1m", "2h", "3d"]


def test_a_platform_whose_nodes_are_gone_is_history_not_a_failure() -> None:
    """A node whose driver changed moved to a new platform: the old platform's regression
    is history, shown but neither failing `benchgate status` nor offering a re-verify."""
    gone = {**ROWS[1], "nodes": []}
    (s,) = overview(
        [suite([ROWS[0], gone])], [run("r1", "Passed"), run("r2", "Regressed")], [], [], NOW
    )
    history = s.platforms[1]
    assert history.verdict == "Regressed" and history.next_steps == ()
    assert exit_code([s]) == 0
