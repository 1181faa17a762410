"""benchgate.k8s.errors: the API's real answers, classified as transient or permanent."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from benchgate.api.result import ResultDocumentError
from benchgate.k8s.client import Api
from benchgate.k8s.errors import Failure, backoff, classify
from benchgate_sandbox.testing import Sandbox

RUN = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "r-results", "namespace": "default"},
    "data": {"result.json": "{}"},
}


async def answer(sandbox: Sandbox, api: Api, status: int) -> Failure:
    """Classify what the API client raises when the sandbox answers `status`."""
    sandbox.fail(status, times=1, verb="create", resource="configmaps")
    with pytest.raises(ApiException) as raised:
        await api.create(RUN)
    return classify(raised.value)


@pytest.mark.parametrize(
    ("status", "reason"),
    [(409, "Conflict"), (500, "ApiUnavailable"), (503, "ApiUnavailable")],
)
async def test_busy_or_conflicting_answers_are_transient(
    sandbox: Sandbox, api: Api, status: int, reason: str
) -> None:
    # 409 on create means "exists" to the client (it reads the object back); a 409 on
    # any other write is a conflict worth retrying. Classify the raw answer.
    if status == 409:
        failure = classify(ApiException(status=409, reason="Conflict"))
    else:
        failure = await answer(sandbox, api, status)
    assert not failure.permanent and failure.reason == reason, failure


async def test_too_many_requests_waits_at_least_retry_after(sandbox: Sandbox, api: Api) -> None:
    failure = await answer(sandbox, api, 429)
    assert not failure.permanent and failure.retry_after == 1.0, failure
    for jitter in (0.0, 0.5, 1.0):
        assert backoff(0, retry_after=failure.retry_after, jitter=jitter) >= 1.0, (
            "a retry sooner than the server's Retry-After"
        )


@pytest.mark.parametrize(("status", "reason"), [(422, "ApiInvalid"), (403, "ApiForbidden")])
async def test_refused_requests_are_permanent_and_say_what_the_api_said(
    sandbox: Sandbox, api: Api, status: int, reason: str
) -> None:
    failure = await answer(sandbox, api, status)
    assert failure.permanent and failure.reason == reason, failure
    assert f"API answered {status}" in failure.message and "injected fault" in failure.message
    assert not failure.unexpected, "an API answer needs no traceback"


def test_data_the_operator_cannot_handle_is_permanent_and_worth_a_traceback() -> None:
    for exc in (
        RecursionError("maximum recursion depth exceeded"),
        KeyError("metadata"),
        ResultDocumentError("run", "not an object"),
    ):
        failure = classify(exc)
        assert failure.permanent and failure.unexpected and failure.reason == "ReconcileFailed"
        assert type(exc).__name__ in failure.message


def test_an_unreachable_api_is_transient() -> None:
    import urllib3.exceptions

    for exc in (ConnectionRefusedError(111, "refused"), TimeoutError("read timed out")):
        assert not classify(exc).permanent
    pool_error = urllib3.exceptions.MaxRetryError(None, "/api", ConnectionRefusedError())  # type: ignore[arg-type]
    assert not classify(pool_error).permanent


def test_the_backoff_doubles_up_to_its_cap() -> None:
    delays = [backoff(retry, base=2, cap=60, jitter=1.0) for retry in range(8)]
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff(10_000, base=2, cap=60, jitter=1.0) == 60, "no overflow on a long outage"


def test_a_transient_error_is_retried_within_a_second_then_less_often() -> None:
    """The product's delays (not the test operator's): one 500 must not cost a reconcile
    interval, and a long outage must not become a busy loop."""
    first = [backoff(0, jitter=j) for j in (0.0, 0.5, 1.0)]
    assert all(0.25 <= d <= 1.0 for d in first), first
    assert backoff(3, jitter=1.0) == 8 * backoff(0, jitter=1.0), "it doubles"
    capped = [backoff(50, jitter=j) for j in (0.0, 1.0)]
    assert capped == [15.0, 30.0], capped


def test_the_jitter_spreads_handlers_that_failed_together() -> None:
    delays = {backoff(2) for _ in range(50)}
    assert len(delays) > 10, f"50 retries after one outage chose only {sorted(delays)}"
    assert all(2.0 <= d <= 4.0 for d in delays), sorted(delays)
