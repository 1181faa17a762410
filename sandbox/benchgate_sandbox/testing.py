"""`Sandbox`: the API stand-in plus kubelet, scheduler, Job controller and GC, for tests.

The server always runs on its own event loop in a background thread, so it keeps
serving while a synchronous test blocks (kopf's `KopfRunner` runs kopf in a thread and
blocks the test thread) and equally under pytest-asyncio. Methods called from the test
thread are marshalled onto the sandbox loop.

    with Sandbox() as sb:                       # or: async with Sandbox() as sb:
        sb.add_node(node=this_machine_node())
        sb.install_crds(["crds/"])
        subprocess.run(["kubectl", "--kubeconfig", str(sb.kubeconfig_path), "get", "nodes"])

The server authenticates and authorizes every request (RBAC, Pod Security, admission
policies). `kubeconfig_path` is a cluster admin's (group `system:masters`);
`kubeconfig_for("alice", groups=[...])` and `service_account_kubeconfig(ns, name)` write
kubeconfigs for other identities. The methods below (`create`, `apply`, `get`, ...) act
on the store directly, as the API server's trusted loopback client: they skip
authentication and authorization but not admission.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import copy
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import yaml
from aiohttp import web

from benchgate_sandbox import tls
from benchgate_sandbox.admission import install_pod_admission
from benchgate_sandbox.authn import MASTERS, Authenticator
from benchgate_sandbox.faults import FaultRule
from benchgate_sandbox.gc import GarbageCollector
from benchgate_sandbox.jobs import JobController
from benchgate_sandbox.kubelet import Kubelet
from benchgate_sandbox.nodes import this_machine_node
from benchgate_sandbox.podsecurity import install_pod_security
from benchgate_sandbox.rbac import RbacAuthorizer
from benchgate_sandbox.rbac_defaults import (
    AggregationController,
    RbacWriteCheck,
    install_bootstrap_policy,
)
from benchgate_sandbox.resources import JSON, ResourceType
from benchgate_sandbox.scheduler import Scheduler
from benchgate_sandbox.server import ApiServer, Request
from benchgate_sandbox.store import Store
from benchgate_sandbox.vap import PolicyAdmission, install_policy_admission
from benchgate_sandbox.watch import WatchHub

T = TypeVar("T")
Names = list[str]
Requests = list[Request]
Objects = list[JSON]  # (a method named `list` below shadows the builtin in annotations)


def load_manifests(paths: Iterable[str | os.PathLike[str]]) -> list[JSON]:
    """All YAML documents in the given files and directories (sorted, recursive)."""
    docs: list[JSON] = []
    for entry in paths:
        path = Path(entry)
        files = (
            sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
            if path.is_dir()
            else [path]
        )
        for file in files:
            docs += [d for d in yaml.safe_load_all(file.read_text()) if isinstance(d, dict)]
    return docs


class Sandbox:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        kubeconfig_path: str | os.PathLike[str] | None = None,
        bookmark_interval: float = 1.0,
        job_backoff: float = 0.2,
        history: int = 2000,
        workdir: str | os.PathLike[str] | None = None,
        pod_security: str = "privileged",
    ) -> None:
        """`pod_security`: the Pod Security level enforced in namespaces without a
        `pod-security.kubernetes.io/enforce` label (the cluster default)."""
        self.host, self._port = host, port
        self.pod_security = pod_security
        self._own_dir = workdir is None
        self.workdir = (
            Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="benchgate-sandbox-"))
        )
        self.kubeconfig_path = (
            Path(kubeconfig_path) if kubeconfig_path else self.workdir / "kubeconfig"
        )
        self.bookmark_interval, self.job_backoff, self.history = (
            bookmark_interval,
            job_backoff,
            history,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._stopped = False
        self.store: Store
        self.server: ApiServer
        self.hub: WatchHub
        self.kubelet: Kubelet
        self.jobs: JobController
        self.authn: Authenticator
        self.rbac: RbacAuthorizer
        self.policies: PolicyAdmission
        self.admin_token = ""
        self.certificate: tls.ServingCertificate

    # -- lifecycle -------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self._port}"

    @property
    def ca_path(self) -> Path:
        """The CA that signed the serving certificate (`requests.get(..., verify=ca_path)`)."""
        return self.certificate.ca_path

    def start(self) -> Sandbox:
        self._thread = threading.Thread(
            target=self._thread_main, name="benchgate-sandbox", daemon=True
        )
        self._thread.start()
        # pod processes run in their own sessions: never leave them behind at exit
        atexit.register(self.stop)
        if not self._ready.wait(30):
            raise RuntimeError("the sandbox API server did not start within 30 s")
        if self._error is not None:
            raise RuntimeError(f"the sandbox failed to start: {self._error}") from self._error
        self._write_kubeconfig()
        return self

    def stop(self) -> None:
        """Stop serving and kill every pod process (idempotent; also run at exit)."""
        if self._stopped:
            return
        self._stopped = True
        if (
            self._loop is not None
            and self._stop is not None
            and self._thread is not None
            and self._thread.is_alive()
        ):
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Sandbox:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start() rather than lost in the thread
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        self.store = Store(history=self.history)
        install_pod_admission(self.store)
        accounts = self.store.type_for("", "v1", "serviceaccounts")

        def account_uid(namespace: str, name: str) -> str | None:
            found = self.store.peek(accounts, namespace, name)
            return None if found is None else str(found["metadata"]["uid"])

        self.authn = Authenticator(account_uid)
        self.admin_token = self.authn.add_user("sandbox-admin", (MASTERS,))
        self.rbac = RbacAuthorizer(self.store.objects)
        install_bootstrap_policy(self.store)
        aggregation = AggregationController(self.store)
        # Admission order as in kube-apiserver: Pod Security, then the policies; the RBAC
        # storage's own checks on roles and bindings come after admission.
        install_pod_security(self.store, self.pod_security)
        self.policies = install_policy_admission(self.store, self.rbac)
        self.store.admission.append(RbacWriteCheck(self.store, self.rbac))
        self.hub = WatchHub(self.store, self.bookmark_interval)
        self.server = ApiServer(self.store, self.hub, self.authn, self.rbac)
        runner = web.AppRunner(self.server.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self.certificate = tls.create(self.workdir / "pki", self.host)
        site = web.TCPSite(
            runner, self.host, self._port, ssl_context=self.certificate.server_context()
        )
        await site.start()
        self._port = int(runner.addresses[0][1])  # the port the OS chose for port 0
        pods_dir = self.workdir / "pods"
        pods_dir.mkdir(parents=True, exist_ok=True)
        self.kubelet = Kubelet(self.store, pods_dir, self.host, self._port)
        self.server.pod_logs = self.kubelet.logs
        self.jobs = JobController(self.store, backoff=self.job_backoff)
        controllers = [
            aggregation.run(),
            GarbageCollector(self.store).run(),
            Scheduler(self.store).run(),
            self.kubelet.run(),
            self.jobs.run(),
        ]
        tasks = [asyncio.create_task(c) for c in controllers]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            self.hub.drop()
            await self.kubelet.shutdown()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runner.cleanup()

    def _write_kubeconfig(
        self,
        path: Path | None = None,
        user: str = "sandbox-admin",
        token: str = "",
        namespace: str = "default",
    ) -> Path:
        path = path or self.kubeconfig_path
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [
                {
                    "name": "benchgate-sandbox",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(
                            self.certificate.ca_pem
                        ).decode(),
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": token or self.admin_token}}],
            "contexts": [
                {
                    "name": "benchgate-sandbox",
                    "context": {
                        "cluster": "benchgate-sandbox",
                        "user": user,
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": "benchgate-sandbox",
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)  # it holds a bearer token
        return path

    # -- identities ------------------------------------------------------------------
    def add_user(self, name: str, groups: Iterable[str] = ()) -> str:
        """Register user `name` (in `groups`, and system:authenticated); returns a token."""
        return self.authn.add_user(name, tuple(groups))

    def kubeconfig_for(
        self,
        name: str,
        groups: Iterable[str] = (),
        *,
        path: str | os.PathLike[str] | None = None,
        namespace: str = "default",
    ) -> Path:
        """A kubeconfig that authenticates as user `name` (what RBAC then allows)."""
        token = self.add_user(name, groups)
        target = Path(path) if path else self.workdir / "kubeconfigs" / f"user-{name}"
        return self._write_kubeconfig(target, name, token, namespace)

    def service_account_token(self, namespace: str, name: str) -> str:
        """A token bound to ServiceAccount `namespace/name` (which must exist), as the
        TokenRequest API issues it."""
        account = self.get("v1", "ServiceAccount", name, namespace)
        return self.authn.issue(namespace, name, str(account["metadata"]["uid"]))

    def service_account_kubeconfig(
        self, namespace: str, name: str, *, path: str | os.PathLike[str] | None = None
    ) -> Path:
        """A kubeconfig that authenticates as ServiceAccount `namespace/name`."""
        token = self.service_account_token(namespace, name)
        target = Path(path) if path else self.workdir / "kubeconfigs" / f"sa-{namespace}-{name}"
        return self._write_kubeconfig(
            target, f"system:serviceaccount:{namespace}:{name}", token, namespace
        )

    # -- running code on the sandbox loop ----------------------------------------------
    def call(self, fn: Callable[[], T], timeout: float = 30) -> T:
        """Run `fn` on the sandbox loop (where the store lives) and return its result."""
        assert self._loop is not None, "the sandbox is not started"
        if threading.current_thread() is self._thread:
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def _run(self, coro: Any, timeout: float = 30) -> Any:
        assert self._loop is not None, "the sandbox is not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- objects ---------------------------------------------------------------------
    def _type(self, api_version: str, kind: str) -> ResourceType:
        rt = self.call(lambda: self.store.type_for_kind(api_version, kind))
        if rt is None:
            raise KeyError(f"the sandbox serves no {kind} in {api_version}; install its CRD first")
        return rt

    def create(self, obj: JSON) -> JSON:
        rt = self._type(obj["apiVersion"], obj["kind"])
        ns = (obj.get("metadata") or {}).get("namespace") or ("default" if rt.namespaced else None)
        return self.call(lambda: self.store.create(rt, ns, obj))

    def apply(self, obj: JSON) -> JSON:
        """Create, or replace the spec/metadata of an existing object (not status)."""
        rt = self._type(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or ("default" if rt.namespaced else None)

        def run() -> JSON:
            if self.store.peek(rt, ns, meta["name"]) is None:
                return self.store.create(rt, ns, obj)
            body = copy.deepcopy(obj)
            body.setdefault("metadata", {}).pop("resourceVersion", None)
            return self.store.update(rt, ns, meta["name"], body)

        return self.call(run)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> JSON:
        rt = self._type(api_version, kind)
        return self.call(
            lambda: self.store.get(rt, namespace or ("default" if rt.namespaced else None), name)
        )

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> Objects:
        rt = self._type(api_version, kind)
        return self.call(lambda: self.store.select(rt, namespace))

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str | None = "Background",
    ) -> JSON:
        rt = self._type(api_version, kind)
        return self.call(
            lambda: self.store.delete(
                rt,
                namespace or ("default" if rt.namespaced else None),
                name,
                propagation=propagation,
            )
        )

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> JSON:
        meta: JSON = {"name": name}
        if labels:
            meta["labels"] = dict(labels)
        return self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})

    def apply_all(self, docs: Iterable[JSON]) -> Names:
        """Create or update every object in `docs` (a rendered chart, say), in order;
        returns their kind/name."""
        return [f"{d['kind']}/{self.apply(d)['metadata']['name']}" for d in docs]

    def install_crds(self, paths: Iterable[str | os.PathLike[str]]) -> Names:
        """Create every CustomResourceDefinition found in the files/directories given."""
        names = []
        for doc in load_manifests(paths):
            if doc.get("kind") == "CustomResourceDefinition":
                names.append(self.apply(doc)["metadata"]["name"])
        return names

    # -- nodes -----------------------------------------------------------------------
    def add_node(
        self,
        name: str | None = None,
        labels: dict[str, str] | None = None,
        node_info: dict[str, str] | None = None,
        taints: Objects | None = None,
        *,
        node: JSON | None = None,
        kubelet: bool = True,
    ) -> JSON:
        """Register a node. Start from `node` (e.g. `h100_pool_node(...)`) or this machine;
        `labels`/`node_info` are merged in; `kubelet=False` leaves its pods unstarted."""
        body = copy.deepcopy(node) if node is not None else this_machine_node(name)
        if name:
            body["metadata"]["name"] = name
            body["metadata"].setdefault("labels", {})["kubernetes.io/hostname"] = name
        body["metadata"].setdefault("labels", {}).update(labels or {})
        body.setdefault("status", {}).setdefault("nodeInfo", {}).update(node_info or {})
        if taints is not None:
            body.setdefault("spec", {})["taints"] = taints
        if not kubelet:
            body["metadata"].setdefault("annotations", {})["sandbox.benchgate.dev/kubelet"] = "none"
        return self.create(body)

    def delete_node(self, name: str) -> None:
        """Fault: the node disappears (its pods are stopped, failed and garbage-collected)."""
        self.delete("v1", "Node", name)

    # -- faults ----------------------------------------------------------------------
    def fail(
        self,
        status: int,
        times: int = 1,
        *,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
    ) -> FaultRule:
        """Answer the next `times` matching API requests with `status` (409, 429, 500...)."""
        return self.server.faults.add(
            FaultRule(status, times, verb, resource, namespace, name, subresource)
        )

    def drop_watches(self, resource: str | None = None) -> int:
        """End open watch streams (all, or of one resource such as "pods" or "jobs.batch")."""
        return self.call(lambda: self.hub.drop(resource))

    def compact(self) -> None:
        """Forget watch history: watching from any earlier resourceVersion now gets 410."""
        self.call(self.store.compact)

    def evict_pod(
        self, namespace: str, name: str, message: str = "The node was low on resource: memory."
    ) -> None:
        self._run(self.kubelet.evict(namespace, name, message))

    def set_image_digest(self, image: str, sha256_hex: str) -> None:
        """Make the kubelet report a different digest for `image` (a "new image")."""
        self.call(lambda: self.kubelet.image_digests.__setitem__(image, sha256_hex))

    # -- observation -----------------------------------------------------------------
    @property
    def requests(self) -> Requests:
        return list(self.server.requests)

    def requests_by(self, username: str) -> Requests:
        """The resource requests `username` made (authenticated or impersonated)."""
        return [a.request for a in list(self.server.audit) if a.user == username]

    @property
    def unenforced_cel_rules(self) -> dict[str, str]:
        """CEL the sandbox cannot evaluate: CRD rules, and admission policy expressions."""
        return {**self.store.cel.unenforced, **self.policies.compiled.unenforced}

    def pod_log(self, namespace: str, name: str, container: str | None = None) -> str:
        def read() -> str:
            pod = self.store.get(self.store.type_for("", "v1", "pods"), namespace, name)
            run = self.kubelet.runs.get(pod["metadata"]["uid"])
            cname = container or pod["spec"]["containers"][0]["name"]
            path = run.workdir / f"{cname}.log" if run else None
            return path.read_text(errors="replace") if path and path.exists() else ""

        return self.call(read)

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 30, what: str = "condition"
    ) -> T:
        """Poll `predicate` (from the test thread) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        last: T | None = None
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                last = predicate()
                if last:
                    return last
            time.sleep(0.05)
        raise TimeoutError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
