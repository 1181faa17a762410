"""API faults injected from tests: answer N matching requests with 409, 422, 429, 500..."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from benchgate_sandbox.errors import ApiError

_REASONS = {
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    403: "Forbidden",
    404: "NotFound",
    422: "Invalid",
}


@dataclass
class FaultRule:
    status: int
    times: int
    verb: str | None = None  # get list watch create update patch delete
    resource: str | None = None  # plural or plural.group
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    hits: int = 0

    def matches(
        self,
        verb: str,
        resource: str,
        plural: str,
        namespace: str | None,
        name: str | None,
        subresource: str | None,
    ) -> bool:
        return (
            (self.verb is None or self.verb == verb)
            and (self.resource is None or self.resource in (resource, plural))
            and (self.namespace is None or self.namespace == namespace)
            and (self.name is None or self.name == name)
            and (self.subresource is None or self.subresource == (subresource or ""))
        )


class FaultInjector:
    """Rules are added from the test thread and consumed on the server loop: locked."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def check(
        self,
        verb: str,
        resource: str,
        plural: str,
        namespace: str | None,
        name: str | None,
        subresource: str | None,
    ) -> None:
        with self._lock:
            for rule in self._rules:
                if rule.hits < rule.times and rule.matches(
                    verb, resource, plural, namespace, name, subresource
                ):
                    rule.hits += 1
                    break
            else:
                return
        reason = _REASONS.get(rule.status, "InternalError")
        headers = {"Retry-After": "1"} if rule.status == 429 else {}
        message = {
            429: "injected: too many requests, please try again later",
            409: "injected: the object has been modified; please apply your changes "
            "to the latest version and try again",
        }.get(rule.status, f"injected fault ({rule.status})")
        raise ApiError(
            rule.status, reason, message, {"name": name or "", "kind": plural}, headers=headers
        )
