"""Manual verification: one request in the suite's annotation -> exactly one run per platform.

`benchgate verify SUITE [--platform P | --node N]` (or `kubectl annotate rsuite SUITE
benchgate.dev/verify="<token> [platform=P | node=N]" --overwrite`) asks the operator to
verify now. The request is the annotation's value; its first word, the *token*, makes
it a request of its own: the run made for a platform is named after the token
(`run_name(..., "Manual", ..., token)`), so re-deciding after a restart, at any moment,
asks for the same run again and the API answers 409. Once every run the request asks for
exists, the suite's `status.manualRequest` records the token as handled and the
annotation is not looked at again until its token changes.

A request for a platform whose run is still going waits for it (one run per platform at
a time, as for every trigger); a request that names nothing in the suite's scope is
refused with the reason and the platforms that exist. The settle window does not apply:
a person asked, now.

Pure: the request text, the suite's nodes and runs in; the runs to create out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from benchgate.domain.names import run_name
from benchgate.domain.triggers import (
    NodeState,
    RunRecord,
    RunRequest,
    SuiteState,
    group_by_platform,
)

ManualState = Literal["Handled", "Waiting", "Refused"]
TOKEN_PATTERN: Final = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
MAX_SELECTOR_CHARS: Final = 253
# A platform named by its key: at least the 8 hex digits of the benchgate.dev/platform
# label (what dashboards and alerts show), at most the whole 64.
_KEY_PREFIX: Final = re.compile(r"^[0-9a-f]{8,64}$")
USAGE: Final = '"<token> [platform=<class or key prefix> | node=<node name>]"'


class VerifyRequestError(ValueError):
    """The annotation's value is not a request; the message says what to write."""


@dataclass(frozen=True)
class VerifyRequest:
    token: str
    platform: str = ""  # a platform class name or a key prefix; "" = every platform
    node: str = ""  # a node in the suite's scope; its platform is verified on it

    def annotation(self) -> str:
        """The annotation value that asks for this request."""
        if self.node:
            return f"{self.token} node={self.node}"
        if self.platform:
            return f"{self.token} platform={self.platform}"
        return self.token

    def describe(self) -> str:
        if self.node:
            return f"node {self.node}"
        if self.platform:
            return f"platform {self.platform}"
        return "every platform"


def parse_request(value: str) -> VerifyRequest:
    """The request in an annotation value, or VerifyRequestError naming what is wrong."""
    words = value.split()
    if not words:
        raise VerifyRequestError(f"is empty; write {USAGE}")
    token, options = words[0], words[1:]
    if not TOKEN_PATTERN.match(token):
        raise VerifyRequestError(
            f"token {token[:80]!r} must be 1-63 letters, digits, '-', '_' or '.', starting and "
            f"ending with a letter or digit; write {USAGE}"
        )
    found: dict[str, str] = {}
    for option in options:
        key, sep, selector = option.partition("=")
        if not sep or key not in ("platform", "node") or not selector:
            raise VerifyRequestError(f"{option[:80]!r} is not platform=<...> or node=<...>")
        if key in found:
            raise VerifyRequestError(f"{key}= is given twice")
        if len(selector) > MAX_SELECTOR_CHARS:
            raise VerifyRequestError(f"{key}= is longer than {MAX_SELECTOR_CHARS} characters")
        found[key] = selector
    if len(found) > 1:
        raise VerifyRequestError("give platform= or node=, not both")
    return VerifyRequest(token, found.get("platform", ""), found.get("node", ""))


def platform_matches(selector: str, key: str, platform_class: str) -> bool:
    """A platform is named by its class (e.g. amd64-6.8) or a prefix of its key."""
    if selector == platform_class:
        return True
    return bool(_KEY_PREFIX.match(selector)) and key.startswith(selector)


@dataclass(frozen=True)
class ManualPlan:
    state: ManualState
    message: str
    create: tuple[RunRequest, ...] = ()  # runs to create now (deterministic names)
    runs: tuple[str, ...] = ()  # every run the request asks for that exists or is created


def plan_manual(
    suite: SuiteState,
    request: VerifyRequest,
    nodes: Iterable[NodeState],
    runs: Sequence[RunRecord],
) -> ManualPlan:
    groups = group_by_platform(nodes)
    targets: list[tuple[str, tuple[str, ...]]] = []  # (platform key, nodes to pin to)
    if request.node:
        in_scope = [n for members in groups.values() for n in members]
        node = next((n for n in in_scope if n.name == request.node), None)
        if node is None:
            return ManualPlan(
                "Refused",
                f"node {request.node} is not in this suite's scope (spec.nodeSelector) or does "
                f"not exist; nodes in scope: {_listing(n.name for n in in_scope)}",
            )
        targets.append((node.platform.key, (node.name,)))
    else:
        for key, members in groups.items():
            if not request.platform or platform_matches(
                request.platform, key, members[0].platform.platform_class
            ):
                targets.append((key, ()))
        if not targets:
            known = (f"{m[0].platform.platform_class} ({k[:8]})" for k, m in groups.items())
            what = f"no platform {request.platform}" if request.platform else "no platform"
            return ManualPlan(
                "Refused",
                f"{what} in this suite's scope; platforms in scope: {_listing(known)}",
            )
    existing = {r.name for r in runs}
    create: list[RunRequest] = []
    names: list[str] = []
    waiting: list[str] = []
    for key, pinned in targets:
        members = groups[key]
        platform = members[0].platform
        name = run_name(suite.name, key, "Manual", suite.image, suite.spec_hash, request.token)
        if name in existing:
            names.append(name)
            continue
        going = sorted(r.name for r in runs if r.platform_key == key and not r.finished)
        if going:
            waiting.append(f"{platform.platform_class}: waiting for {going[0]} to finish")
            continue
        usable = [
            n for n in members if n.ready and n.schedulable and (not pinned or n.name in pinned)
        ]
        if not usable:
            where = f"node {pinned[0]}" if pinned else "no node of the platform"
            waiting.append(f"{platform.platform_class}: {where} is not ready and schedulable")
            continue
        chosen = tuple(n.name for n in usable[: suite.nodes_per_platform])
        create.append(
            RunRequest(
                name,
                platform,
                chosen,
                "Manual",
                f"manual request {request.token} ({request.describe()})",
                token=request.token,
            )
        )
        names.append(name)
    if waiting:
        return ManualPlan("Waiting", "; ".join(waiting), tuple(create), tuple(names))
    return ManualPlan(
        "Handled",
        f"verifying {request.describe()}: {', '.join(names)}",
        tuple(create),
        tuple(names),
    )


def _listing(items: Iterable[str], limit: int = 10) -> str:
    shown = sorted(set(items))
    if not shown:
        return "none"
    more = len(shown) - limit
    return ", ".join(shown[:limit]) + (f" (and {more} more)" if more > 0 else "")
