"""What an error means for the handler that met it: try again later, or stop and say why.

Every handler goes through one classification (benchgate.controllers.guard), so no
handler loops on a traceback:

- transient: the API is busy or unreachable, or an object changed under us (409, 429,
  408, 5xx, connection errors and timeouts). Retrying soon can succeed: `backoff` waits
  under a second the first time, doubling (jittered) up to 30 s, and never less than
  the server's Retry-After.
- permanent: the API refused the request itself (any other 4xx: 400, 403, 404, 422...)
  or the data cannot be handled (a ValueError, a KeyError, a parser's RecursionError...).
  Retrying the same request with the same data fails the same way, so the handler writes
  a condition with the reason and stops.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Final

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

TRANSIENT_STATUSES: Final = frozenset({408, 409, 429})
MESSAGE_CHARS: Final = 1024
# A transient error is retried soon: the first retry within a second (one 500 must not
# delay a verdict by a reconcile interval), then doubling up to half a minute, so that a
# long outage costs one request per handler every 15-30 s, not a busy loop.
TRANSIENT_BASE_SECONDS: Final = 1.0
TRANSIENT_CAP_SECONDS: Final = 30.0
# Retry-After is the server's word and always honoured, up to a bound that keeps a
# misconfigured proxy from parking a handler for a day.
RETRY_AFTER_CEILING_SECONDS: Final = 600.0


@dataclass(frozen=True)
class Failure:
    """One classified error: whether retrying can help, a CamelCase reason, one line."""

    permanent: bool
    reason: str
    message: str
    retry_after: float | None = None  # seconds the server asked us to wait
    unexpected: bool = False  # not an API answer: worth a traceback in the log, once


def classify(exc: BaseException) -> Failure:
    """The meaning of `exc` for a handler (see the module docstring)."""
    if isinstance(exc, ApiException):
        return _api_failure(exc)
    if isinstance(exc, ConnectionError | TimeoutError | urllib3.exceptions.HTTPError):
        return Failure(False, "ApiUnreachable", _one_line(f"{type(exc).__name__}: {exc}"))
    return Failure(
        True, "ReconcileFailed", _one_line(f"{type(exc).__name__}: {exc}"), unexpected=True
    )


def _api_failure(exc: ApiException) -> Failure:
    status = int(exc.status or 0)
    text = _one_line(f"API answered {status} {exc.reason or ''}: {_status_message(exc)}")
    if status == 0 or status >= 500 or status in TRANSIENT_STATUSES:
        reason = {409: "Conflict", 429: "TooManyRequests"}.get(status, "ApiUnavailable")
        return Failure(False, reason, text, retry_after=_retry_after(exc))
    reason = {403: "Forbidden", 404: "NotFound", 422: "Invalid"}.get(status, "BadRequest")
    return Failure(True, f"Api{reason}", text)


def status_message(exc: ApiException) -> str:
    """The API server's own words for a refusal (its Status message), on one line."""
    return _one_line(_status_message(exc)) or str(exc.reason or exc.status)


def _status_message(exc: ApiException) -> str:
    """The message of the API's Status object, else the raw body."""
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not body:
        return ""
    try:
        status = json.loads(body)
    except ValueError:
        return str(body)
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return str(status["message"])
    return str(body)


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from the API server; the backoff applies
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MESSAGE_CHARS]


def backoff(
    retry: int,
    *,
    base: float = TRANSIENT_BASE_SECONDS,
    cap: float = TRANSIENT_CAP_SECONDS,
    retry_after: float | None = None,
    jitter: float | None = None,
) -> float:
    """Seconds before attempt `retry + 1`: doubling from `base` up to `cap`, scaled by a
    jitter in [0.5, 1] (`jitter` in [0, 1]; random when None) so that the handlers that
    met one outage together do not retry in lockstep, and never sooner than the server's
    Retry-After (itself honoured up to RETRY_AFTER_CEILING_SECONDS)."""
    share = random.random() if jitter is None else min(max(jitter, 0.0), 1.0)
    delay = min(cap, base * 2.0 ** min(max(retry, 0), 30)) * (0.5 + 0.5 * share)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CEILING_SECONDS))
    return round(delay, 3)
