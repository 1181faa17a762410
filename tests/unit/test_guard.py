"""benchgate.controllers.guard: how soon a handler tries again after a transient error."""

from __future__ import annotations

import logging

import kopf
import pytest
from kubernetes.client.exceptions import ApiException

from benchgate.controllers.guard import guarded
from benchgate.k8s.errors import Failure


async def retry_delay(exc: Exception, retry: int = 0) -> float:
    """The delay `guarded` asks kopf for when one reconciliation meets `exc`."""

    async def work() -> None:
        raise exc

    async def never(failure: Failure) -> None:
        raise AssertionError(f"a transient error was recorded as permanent: {failure}")

    with pytest.raises(kopf.TemporaryError) as raised:
        await guarded(
            "VerificationRun",
            "VerificationRun ns/r",
            work,
            retry=retry,
            logger=logging.getLogger("test"),
            on_permanent=never,
        )
    assert raised.value.delay is not None
    return float(raised.value.delay)


async def test_one_server_error_is_retried_within_a_second() -> None:
    delays = [
        await retry_delay(ApiException(status=500, reason="InternalError")) for _ in range(20)
    ]
    assert max(delays) <= 1.0, f"one 500 delays the handler by up to {max(delays)} s"


async def test_too_many_requests_waits_for_retry_after_and_no_longer_than_needed() -> None:
    exc = ApiException(status=429, reason="TooManyRequests")
    exc.headers = {"Retry-After": "1"}
    delays = [await retry_delay(exc) for _ in range(20)]
    assert min(delays) >= 1.0 and max(delays) <= 1.0, delays


async def test_a_long_outage_backs_off_to_half_a_minute() -> None:
    delay = await retry_delay(TimeoutError("read timed out"), retry=20)
    assert 15.0 <= delay <= 30.0, delay
