"""Garbage collection: ownerReferences cascade, foreground deletion, namespace cleanup.

Runs asynchronously after the triggering write, as the real garbage collector and
namespace controller do, so clients observe the owner gone first and dependents after.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy

from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.resources import JSON
from benchgate_sandbox.store import Event, Store


class GarbageCollector:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        store.listeners.append(self.queue.put_nowait)

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            # an ApiError means we raced with another writer; the next event re-triggers
            with contextlib.suppress(ApiError):
                self._handle(event)

    def _handle(self, event: Event) -> None:
        meta = event.obj["metadata"]
        if event.type == "DELETED":
            self._cascade(meta["uid"])
            if meta.get("namespace"):
                self._namespace(meta["namespace"])
            for ref in meta.get("ownerReferences") or []:
                self._foreground_done(ref.get("uid", ""))
            return
        if event.key == ("", "namespaces") and meta.get("deletionTimestamp"):
            self._namespace(meta["name"])
        if meta.get("deletionTimestamp") and "foregroundDeletion" in (meta.get("finalizers") or []):
            for rt, dep in self.store.dependents(meta["uid"]):
                if not dep["metadata"].get("deletionTimestamp"):
                    self._delete(rt.key, dep, "Background")
            self._foreground_done(meta["uid"])
        # a dependent whose owners all do not exist is garbage from the start
        if (
            event.type == "ADDED"
            and meta.get("ownerReferences")
            and not any(self.store.uid_exists(r.get("uid", "")) for r in meta["ownerReferences"])
        ):
            self._delete(event.key, event.obj, "Background")

    def _cascade(self, uid: str) -> None:
        for rt, dep in self.store.dependents(uid):
            refs = dep["metadata"]["ownerReferences"]
            alive = [r for r in refs if r.get("uid") != uid and self.store.uid_exists(r["uid"])]
            if alive:
                body = copy.deepcopy(dep)
                body["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                self.store.update(
                    rt, dep["metadata"].get("namespace"), dep["metadata"]["name"], body
                )
            elif not dep["metadata"].get("deletionTimestamp"):
                self._delete(rt.key, dep, "Background")

    def _delete(self, key: tuple[str, str], obj: JSON, propagation: str) -> None:
        rt = next(t for t in self.store.storage_types() if t.key == key)
        with contextlib.suppress(ApiError):
            self.store.delete(
                rt,
                obj["metadata"].get("namespace"),
                obj["metadata"]["name"],
                propagation=propagation,
            )

    def _foreground_done(self, owner_uid: str) -> None:
        for rt in self.store.storage_types():
            for obj in self.store.iter_objects(rt):
                meta = obj["metadata"]
                if meta.get("uid") != owner_uid:
                    continue
                if "foregroundDeletion" in (
                    meta.get("finalizers") or []
                ) and not self.store.dependents(owner_uid):
                    body = copy.deepcopy(obj)
                    body["metadata"]["finalizers"] = [
                        f for f in meta["finalizers"] if f != "foregroundDeletion"
                    ]
                    self.store.update(rt, meta.get("namespace"), meta["name"], body)
                return

    def _namespace(self, name: str) -> None:
        ns_type = self.store.type_for("", "v1", "namespaces")
        ns = self.store.peek(ns_type, None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        remaining = 0
        for rt in self.store.storage_types():
            if not rt.namespaced:
                continue
            for obj in list(self.store.iter_objects(rt)):
                if obj["metadata"].get("namespace") != name:
                    continue
                remaining += 1
                if not obj["metadata"].get("deletionTimestamp"):
                    self._delete(rt.key, obj, "Background")
        if remaining == 0:
            self.store.finish_deletion(ns_type, "", name)
