"""Process-wide handles the handlers share: the API wrapper, the clock, intervals.

Nothing here is state that matters after a restart: the API object is a connection,
the clock is a function, the intervals come from the environment.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

from benchgate.domain.policy import ClusterPolicy, from_environment
from benchgate.k8s.client import Api, load_config

_api: Api | None = None
_policy: ClusterPolicy | None = None
clock: Callable[[], float] = time.time  # injected in tests if needed


def _float_env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# How often suites and runs are re-reconciled (everything is re-derived from the API).
SUITE_INTERVAL = _float_env("BENCHGATE_SUITE_INTERVAL_SECONDS", 15.0)
RUN_INTERVAL = _float_env("BENCHGATE_RUN_INTERVAL_SECONDS", 5.0)
# Extra time past a run's timeoutSeconds before the operator itself calls it TimedOut
# (the Job's activeDeadlineSeconds normally fires first).
DEADLINE_GRACE_SECONDS = _float_env("BENCHGATE_DEADLINE_GRACE_SECONDS", 60.0)
# How long a suite or baseline that met a permanent error (recorded in its conditions)
# rests before the operator looks at it again (controllers/guard.py).
PERMANENT_RETRY_SECONDS = _float_env("BENCHGATE_PERMANENT_RETRY_SECONDS", 600.0)
# How often a baseline that is not Ready is looked at again (its samples ConfigMap may
# appear), and how long after its creation a missing ConfigMap is still "on its way".
BASELINE_INTERVAL = _float_env("BENCHGATE_BASELINE_INTERVAL_SECONDS", 30.0)
SAMPLES_GRACE_SECONDS = _float_env("BENCHGATE_SAMPLES_GRACE_SECONDS", 60.0)
# How many Node taint patches one suite's gating has in flight at once: thousands of
# nodes change together on a pool rollout, and one at a time would take minutes.
GATING_CONCURRENCY = max(1, int(_float_env("BENCHGATE_GATING_CONCURRENCY", 16.0)))
# The gating circuit breaker (domain.gating.breaker): when more than this share of a
# suite's nodes, and more than GATING_BREAKER_MIN_NODES of them, would be gated because
# their platform's verification failed or regressed, a broken image or baseline is more
# likely than broken hardware: no more nodes are gated, and it pages.
GATING_BREAKER_SHARE = min(1.0, max(0.0, _float_env("BENCHGATE_GATING_BREAKER_SHARE", 0.5)))
GATING_BREAKER_MIN_NODES = max(0, int(_float_env("BENCHGATE_GATING_BREAKER_MIN_NODES", 5.0)))


def api() -> Api:
    global _api
    if _api is None:
        load_config()
        _api = Api()
    return _api


def policy() -> ClusterPolicy:
    """The cluster policy the operator was started with (`benchgate operator` flags)."""
    global _policy
    if _policy is None:
        _policy = from_environment(os.environ)
    return _policy


def now() -> datetime:
    return datetime.fromtimestamp(clock(), tz=UTC)


def parse_time(value: object) -> float:
    """Epoch seconds of an RFC 3339 timestamp ("" or junk -> 0)."""
    if not isinstance(value, str) or not value:
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
