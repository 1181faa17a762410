"""WATCH: replay from a resourceVersion, then live events; bookmarks; 410 when too old.

Follows the documented semantics: resourceVersion unset or "0" starts with synthetic
ADDED events for the current state; a specific RV replays every later change in
order; an RV older than the compacted history yields an ERROR event carrying a 410
`Status` ("too old resource version"), as the real watch cache does. With
`sendInitialEvents=true` (the streaming list kubectl may use) the initial ADDED events
end with a BOOKMARK annotated `k8s.io/initial-events-end`.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from benchgate_sandbox.resources import JSON, ResourceType
from benchgate_sandbox.selectors import FieldRequirement, Requirement, fields_match, labels_match
from benchgate_sandbox.store import Event, Store


@dataclass(eq=False)
class Watcher:
    rt: ResourceType
    namespace: str | None
    labels: tuple[Requirement, ...]
    fields: tuple[FieldRequirement, ...]
    bookmarks: bool
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)

    def matches(self, obj: JSON | None) -> bool:
        if obj is None:
            return False
        if (
            self.namespace
            and self.rt.namespaced
            and obj["metadata"].get("namespace") != self.namespace
        ):
            return False
        return labels_match(self.labels, obj) and fields_match(self.fields, obj)

    def translate(self, event: Event) -> tuple[str, JSON] | None:
        """The event this watcher sees, given its selectors (an object leaving the
        selection is DELETED for this watcher, one entering it is ADDED)."""
        new_ok = self.matches(event.obj)
        old_ok = self.matches(event.old)
        if event.type == "ADDED":
            return ("ADDED", event.obj) if new_ok else None
        if event.type == "DELETED":
            return ("DELETED", event.obj) if old_ok or new_ok else None
        if new_ok and old_ok:
            return ("MODIFIED", event.obj)
        if new_ok:
            return ("ADDED", event.obj)
        if old_ok:
            return ("DELETED", event.obj)
        return None


class WatchHub:
    def __init__(self, store: Store, bookmark_interval: float = 5.0) -> None:
        self.store = store
        self.bookmark_interval = bookmark_interval
        self.watchers: set[Watcher] = set()
        store.listeners.append(self._on_event)

    def _on_event(self, event: Event) -> None:
        for watcher in list(self.watchers):
            if watcher.rt.key == event.key:
                watcher.queue.put_nowait(event)

    def drop(self, resource: str | None = None) -> int:
        """Fault injection: end matching watch streams now (clients must re-watch)."""
        dropped = 0
        for watcher in list(self.watchers):
            if resource is None or resource in (watcher.rt.plural, watcher.rt.qualified):
                watcher.queue.put_nowait(None)
                dropped += 1
        return dropped

    def _bookmark(self, rt: ResourceType, initial_end: bool = False) -> JSON:
        meta: JSON = {"resourceVersion": str(self.store.rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {
            "type": "BOOKMARK",
            "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta},
        }

    async def stream(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: tuple[Requirement, ...],
        fields: tuple[FieldRequirement, ...],
        resource_version: str | None,
        *,
        bookmarks: bool,
        send_initial: bool | None,
        timeout: float | None,  # noqa: ASYNC109 - the API's timeoutSeconds, not a cancel scope
    ) -> AsyncIterator[JSON]:
        watcher = Watcher(rt, namespace, labels, fields, bookmarks)
        # Registering and snapshotting happen with no await between them, so no event
        # can fall in the gap between the replayed state and the live stream.
        self.watchers.add(watcher)
        try:
            initial: list[JSON] = []
            if send_initial or resource_version in (None, "", "0"):
                initial = [
                    {"type": "ADDED", "object": obj}
                    for obj in self.store.select(rt, namespace, labels, fields)
                ]
                if send_initial:
                    initial.append(self._bookmark(rt, initial_end=True))
            else:
                try:
                    since = int(resource_version)
                except ValueError:
                    since = -1
                if since < 0 or since < self.store.compacted_rv:
                    yield {
                        "type": "ERROR",
                        "object": {
                            "kind": "Status",
                            "apiVersion": "v1",
                            "metadata": {},
                            "status": "Failure",
                            "reason": "Expired",
                            "code": 410,
                            "message": f"too old resource version: {resource_version} "
                            f"({self.store.compacted_rv})",
                        },
                    }
                    return
                for event in self.store.history:
                    if event.rv > since and event.key == rt.key:
                        seen = watcher.translate(event)
                        if seen:
                            initial.append({"type": seen[0], "object": copy.deepcopy(seen[1])})
            for item in initial:
                yield item
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout if timeout else None
            while True:
                wait = self.bookmark_interval if bookmarks else None
                if deadline is not None:
                    left = deadline - loop.time()
                    if left <= 0:
                        return
                    wait = min(wait, left) if wait is not None else left
                try:
                    live = await asyncio.wait_for(watcher.queue.get(), wait)
                except TimeoutError:
                    if bookmarks:
                        yield self._bookmark(rt)
                    continue
                if live is None:
                    return  # dropped by fault injection
                seen = watcher.translate(live)
                if seen:
                    yield {"type": seen[0], "object": copy.deepcopy(seen[1])}
        finally:
            self.watchers.discard(watcher)
