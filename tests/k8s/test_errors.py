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
    assert backoff(0, base=0.1, cap=300, retry_after=failure.retry_after) == 1.0


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
    delays = [backoff(retry, base=2, cap=60) for retry in range(8)]
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff(10_000, base=2, cap=60) == 60, "no overflow on a long outage"
