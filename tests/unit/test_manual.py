"""Manual verification requests: parsing, one run per platform named after the token,
waiting for a busy platform, refusals that say what exists."""

from __future__ import annotations

import pytest
from test_triggers import gpu, node, record, suite

from benchgate.domain.manual import VerifyRequest, VerifyRequestError, parse_request, plan_manual
from benchgate.domain.triggers import run_name


def test_parse_accepts_a_token_and_one_selector() -> None:
    assert parse_request("t1") == VerifyRequest("t1")
    assert parse_request("  t1   platform=h100-550 ") == VerifyRequest("t1", platform="h100-550")
    assert parse_request("2026-12-01.a node=gpu-7") == VerifyRequest("2026-12-01.a", node="gpu-7")
    request = VerifyRequest("t2", node="n")
    assert parse_request(request.annotation()) == request


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "is empty"),
        ("-bad", "token"),
        ("x" * 64, "token"),
        ("t platform=a node=b", "not both"),
        ("t platform=a platform=b", "twice"),
        ("t color=red", "platform=<...> or node=<...>"),
        ("t platform=", "platform=<...> or node=<...>"),
    ],
)
def test_parse_refuses_with_a_reason(value: str, says: str) -> None:
    with pytest.raises(VerifyRequestError, match=says):
        parse_request(value)


def test_every_platform_gets_one_run_named_after_the_token() -> None:
    a, b = gpu("550"), gpu("560")
    nodes = [node("n1", a), node("n2", b)]
    plan = plan_manual(suite(), VerifyRequest("tok"), nodes, [])
    assert plan.state == "Handled"
    assert {r.platform.key for r in plan.create} == {a.key, b.key}
    assert all(r.reason == "Manual" and r.token == "tok" for r in plan.create)
    expected = run_name("pool", a.key, "Manual", "img:1", "h1", "tok")
    assert expected in plan.runs
    # Asked again (a restart before the status recorded the token): the same names.
    again = plan_manual(suite(), VerifyRequest("tok"), nodes, [])
    assert again.runs == plan.runs
    # Once the runs exist nothing more is created, and the request is handled.
    existing = [record(r.name, r.platform, r.nodes, finished=False) for r in plan.create]
    done = plan_manual(suite(), VerifyRequest("tok"), nodes, existing)
    assert done.state == "Handled" and done.create == () and set(done.runs) == set(plan.runs)
    # A new token is a new request: new names.
    other = plan_manual(suite(), VerifyRequest("tok2"), nodes, [])
    assert not set(other.runs) & set(plan.runs)


def test_a_platform_selector_by_class_or_key_prefix_and_a_node() -> None:
    a, b = gpu("550"), gpu("560")
    nodes = [node("n1", a), node("n2", b), node("n3", b)]
    by_key = plan_manual(suite(), VerifyRequest("t", platform=b.key[:8]), nodes, [])
    assert [r.platform.key for r in by_key.create] == [b.key]
    by_node = plan_manual(suite(), VerifyRequest("t", node="n3"), nodes, [])
    assert [(r.platform.key, r.nodes) for r in by_node.create] == [(b.key, ("n3",))]
    by_class = plan_manual(suite(), VerifyRequest("t", platform=a.platform_class), nodes, [])
    assert a.key in {r.platform.key for r in by_class.create}


def test_a_busy_platform_waits_and_the_idle_one_starts() -> None:
    a, b = gpu("550"), gpu("560")
    nodes = [node("n1", a), node("n2", b)]
    busy = [record("running-b", b, ("n2",), finished=False)]
    plan = plan_manual(suite(), VerifyRequest("t"), nodes, busy)
    assert plan.state == "Waiting"
    assert "waiting for running-b to finish" in plan.message
    assert [r.platform.key for r in plan.create] == [a.key]


def test_a_request_naming_nothing_in_scope_is_refused_with_what_exists() -> None:
    a = gpu("550")
    nodes = [node("n1", a)]
    plan = plan_manual(suite(), VerifyRequest("t", platform="a100-x"), nodes, [])
    assert plan.state == "Refused" and plan.create == ()
    assert "no platform a100-x" in plan.message and a.platform_class in plan.message
    plan = plan_manual(suite(), VerifyRequest("t", node="elsewhere"), nodes, [])
    assert plan.state == "Refused" and "n1" in plan.message
    assert plan_manual(suite(), VerifyRequest("t"), [], []).state == "Refused"
