"""The one way every benchgate handler meets an error: retry with a bounded backoff, or
end with a condition that says why. No handler loops on a traceback.

kopf on its own retries any exception from a timer every 60 s, and a PermanentError
from a timer only until the next tick; either way the same traceback returns forever.
`guarded` classifies the error (benchgate.k8s.errors) instead:

- transient: `kopf.TemporaryError` with a short jittered delay (benchgate.k8s.errors
  `backoff`: the first retry within a second, doubling up to 30 s, never under the
  server's Retry-After), whatever the handler's reconcile interval; kopf logs one line
  per retry;
- permanent: one ERROR line (with the traceback once, when it is not an API answer),
  then `on_permanent` records the failure on the object (a condition, an annotation).
  A run's record ends it; a suite or a baseline, which live on, is looked at again only
  after `retry_permanent_after` seconds (one line in the log each time), not every tick.

Handlers that decide for themselves may still raise `kopf.TemporaryError` or
`kopf.PermanentError`; those pass through untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import kopf

from benchgate import metrics
from benchgate.k8s.errors import (
    TRANSIENT_BASE_SECONDS,
    TRANSIENT_CAP_SECONDS,
    Failure,
    backoff,
    classify,
)

OnPermanent = Callable[[Failure], Awaitable[None]]


async def guarded(
    kind: str,
    what: str,
    work: Callable[[], Awaitable[None]],
    *,
    retry: int,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
    on_permanent: OnPermanent,
    base_delay: float = TRANSIENT_BASE_SECONDS,
    max_delay: float = TRANSIENT_CAP_SECONDS,
    retry_permanent_after: float | None = None,
) -> None:
    """Run one reconciliation of `what` (a `kind` object); see the module docstring."""
    try:
        await work()
    except (kopf.TemporaryError, kopf.PermanentError):
        metrics.record_reconcile(kind=kind, ok=False)
        raise
    except Exception as exc:
        metrics.record_reconcile(kind=kind, ok=False)
        failure = classify(exc)
        if not failure.permanent:
            delay = backoff(retry, base=base_delay, cap=max_delay, retry_after=failure.retry_after)
            raise kopf.TemporaryError(
                f"{what}: {failure.message} (transient {failure.reason}; retry in {delay:g} s)",
                delay=delay,
            ) from exc
        logger.error(
            "%s: %s (permanent %s; recorded on the object, not retried)",
            what,
            failure.message,
            failure.reason,
            exc_info=exc if failure.unexpected else None,
        )
        await _record(kind, what, failure, retry, on_permanent, base_delay, max_delay)
        if retry_permanent_after is not None:
            raise kopf.TemporaryError(
                f"{what}: {failure.reason} recorded; looking again in {retry_permanent_after:g} s",
                delay=retry_permanent_after,
            ) from exc
    else:
        metrics.record_reconcile(kind=kind, ok=True)


async def _record(
    kind: str,
    what: str,
    failure: Failure,
    retry: int,
    on_permanent: OnPermanent,
    base_delay: float,
    max_delay: float,
) -> None:
    """Write the failure onto the object; if even that fails, retry it with the backoff
    (whatever the second error is, the object must end up saying what happened)."""
    try:
        await on_permanent(failure)
    except Exception as exc:
        second = classify(exc)
        delay = backoff(retry, base=base_delay, cap=max_delay, retry_after=second.retry_after)
        raise kopf.TemporaryError(
            f"{what}: could not record {failure.reason} ({second.message}); retry in {delay:g} s",
            delay=delay,
        ) from exc
