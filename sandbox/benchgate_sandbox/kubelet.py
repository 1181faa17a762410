"""The local kubelet: runs pods bound to sandbox nodes as local processes.

Images do not exist here; a container runs as a local process whose executable is looked
up on PATH with the directory of `sys.executable` first (so `python`, `benchgate`,
`benchgate-workload` are the project's). What runs follows Kubernetes: `command`
replaces the image's ENTRYPOINT and `args` its CMD; the sandbox knows the ENTRYPOINT and
CMD of the images in `Kubelet.images` (benchgate's own, and what tests add), and a
container with no `command` whose image it does not know fails to start, naming the
image. `$(VAR)` in command, args and env values expands from the container's environment
(`$$` escapes a `$`; an undefined `$(VAR)` stays as written). Each pod gets a temporary
working directory (also HOME). There are no mount namespaces: an `emptyDir` volume is a
directory of the pod's working directory, shared by the containers that mount it, and
the container sees it at its real path: a `mountPath` prefix of an env value, argument
or workingDir is replaced by that directory. stdout and stderr are captured together, as
container runtimes do, and served as the pod log. Status is reported through the store
like a real kubelet: phase, conditions, containerStatuses with a deterministic imageID
(`docker-pullable://<repo>@sha256:<hex>`; tests may override the digest per image), exit
codes and restart counts; a container whose executable does not exist ends `terminated`
with reason `StartError` and exit code 128, as with containerd."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import os
import re
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from benchgate.api.podenv import expand
from benchgate_sandbox import events
from benchgate_sandbox.errors import ApiError, bad_request, not_found
from benchgate_sandbox.resources import JSON
from benchgate_sandbox.store import Event, Store, now_iso

KUBELET_ANNOTATION = "sandbox.benchgate.dev/kubelet"  # "none": no kubelet serves the node
TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True)
class ImageConfig:
    """What an image's manifest says about how to start it."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()


# benchgate's own images (Dockerfile), by repository (any registry, tag or digest).
DEFAULT_IMAGES: dict[str, ImageConfig] = {
    "benchgate/workload": ImageConfig(
        ("benchgate-workload",), ("run", "--size", "tiny", "--replicate", "pod-0")
    ),
    "benchgate/operator": ImageConfig(("benchgate",), ("operator",)),
}


def image_digest(image: str, overrides: dict[str, str]) -> str:
    if image in overrides:
        return overrides[image]
    if "@sha256:" in image:
        return image.split("@sha256:", 1)[1]
    return hashlib.sha256(image.encode()).hexdigest()


def image_repo(image: str) -> str:
    image = image.split("@", 1)[0]
    head, _, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


@dataclass
class PodRun:
    uid: str
    namespace: str
    name: str
    workdir: Path
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    finished: dict[str, bool] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None
    stop_reason: tuple[str, str] | None = None  # (reason, message) when killed on purpose


class Kubelet:
    def __init__(
        self,
        store: Store,
        root: Path,
        api_host: str = "127.0.0.1",
        api_port: int = 0,
        restart_backoff: float = 0.2,
    ) -> None:
        self.store = store
        self.root = root
        self.api_host, self.api_port = api_host, api_port
        self.restart_backoff = restart_backoff
        self.image_digests: dict[str, str] = {}
        # repository (e.g. "ghcr.io/acme/scorer" or "benchgate/workload") -> ENTRYPOINT/CMD
        self.images: dict[str, ImageConfig] = dict(DEFAULT_IMAGES)
        self.runs: dict[str, PodRun] = {}
        self.terminating: set[str] = set()
        self.pods = store.type_for("", "v1", "pods")
        self.nodes = store.type_for("", "v1", "nodes")
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        store.listeners.append(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.key in (("", "pods"), ("", "nodes")):
            self.queue.put_nowait(event)

    def _serves(self, node_name: str | None) -> bool:
        if not node_name:
            return False
        node = self.store.peek(self.nodes, None, node_name)
        return (
            node is not None
            and (node["metadata"].get("annotations") or {}).get(KUBELET_ANNOTATION) != "none"
        )

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            with contextlib.suppress(ApiError):
                await self._handle(event)

    async def _handle(self, event: Event) -> None:
        if event.key == ("", "nodes"):
            if event.type == "DELETED":
                await self._node_gone(event.obj["metadata"]["name"])
            else:
                for bound in list(self.store.iter_objects(self.pods)):
                    self._maybe_start(bound)
            return
        meta = event.obj["metadata"]
        pod = self.store.peek(self.pods, meta["namespace"], meta["name"])
        if pod is None:
            run = self.runs.get(meta["uid"])
            if run is not None:
                await self._kill(run)
            return
        if pod["metadata"].get("deletionTimestamp"):
            uid = pod["metadata"]["uid"]
            if uid not in self.terminating:
                # in its own task: a process that ignores SIGTERM holds only its own pod
                self.terminating.add(uid)
                task = asyncio.get_running_loop().create_task(self._terminate(pod))
                task.add_done_callback(lambda _: self.terminating.discard(uid))
            return
        self._maybe_start(pod)

    def _maybe_start(self, pod: JSON) -> None:
        uid = pod["metadata"]["uid"]
        if uid in self.runs or pod["metadata"].get("deletionTimestamp"):
            return
        if (pod.get("status") or {}).get("phase") in TERMINAL:
            return
        if not self._serves((pod.get("spec") or {}).get("nodeName")):
            return
        workdir = Path(tempfile.mkdtemp(prefix=f"{pod['metadata']['name']}-", dir=self.root))
        run = PodRun(uid, pod["metadata"]["namespace"], pod["metadata"]["name"], workdir)
        self.runs[uid] = run
        run.task = asyncio.get_running_loop().create_task(self._run_pod(run))

    # -- status helpers --------------------------------------------------------------
    def _current(self, run: PodRun) -> JSON | None:
        pod = self.store.peek(self.pods, run.namespace, run.name)
        if pod is None or pod["metadata"]["uid"] != run.uid:
            return None
        return pod

    def _write_status(self, run: PodRun, status: JSON) -> None:
        pod = self._current(run)
        if pod is None:
            return
        body = copy.deepcopy(pod)
        body["status"] = status
        body["metadata"].pop("resourceVersion", None)
        self.store.update(self.pods, run.namespace, run.name, body, subresource="status")

    def _status(self, pod: JSON) -> JSON:
        return copy.deepcopy(pod.get("status") or {})

    def _container_status(
        self,
        pod: JSON,
        container: JSON,
        state: JSON,
        *,
        restarts: int = 0,
        last: JSON | None = None,
        ready: bool = False,
    ) -> JSON:
        image = container.get("image", "")
        digest = image_digest(image, self.image_digests)
        cid = hashlib.sha256(
            f"{pod['metadata']['uid']}/{container['name']}/{restarts}".encode()
        ).hexdigest()
        status: JSON = {
            "name": container["name"],
            "image": image,
            "imageID": f"docker-pullable://{image_repo(image)}@sha256:{digest}",
            "containerID": f"containerd://{cid}",
            "ready": ready,
            "started": "running" in state,
            "restartCount": restarts,
            "state": state,
            "lastState": last or {},
        }
        return status

    @staticmethod
    def _conditions(ready: bool, initialized: bool = True) -> list[JSON]:
        now = now_iso()
        flag = "True" if ready else "False"
        return [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": now},
            {
                "type": "Initialized",
                "status": "True" if initialized else "False",
                "lastTransitionTime": now,
            },
            {"type": "Ready", "status": flag, "lastTransitionTime": now},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
        ]

    # -- running ---------------------------------------------------------------------
    def _env(self, pod: JSON, container: JSON, run: PodRun) -> dict[str, str] | str:
        """The container's environment, or the reason it cannot be built."""
        bindir = os.path.dirname(sys.executable)
        env = {
            "PATH": bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(run.workdir),
            # As the kubelet: spec.hostname when set (Indexed Jobs), else the pod's name.
            "HOSTNAME": (pod.get("spec") or {}).get("hostname") or pod["metadata"]["name"],
            "KUBERNETES_SERVICE_HOST": self.api_host,
            "KUBERNETES_SERVICE_PORT": str(self.api_port),
        }
        for key in ("LANG", "LC_ALL", "TMPDIR", "PYTHONPATH"):
            if key in os.environ:
                env[key] = os.environ[key]
        mounts = self._mounts(pod, container, run)
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = self._rerooted(expand(str(item["value"]), env), mounts)
                continue
            source = item.get("valueFrom") or {}
            value = self._env_from(pod, source)
            if value is None:
                if _optional(source):
                    continue
                return f"couldn't find key for env var {item['name']!r}"
            env[item["name"]] = value
        return env

    def _mounts(self, pod: JSON, container: JSON, run: PodRun) -> list[tuple[str, Path]]:
        """(mountPath, local directory) of each emptyDir the container mounts, longest
        path first (a mount inside another wins)."""
        volumes = {
            v.get("name"): v
            for v in (pod.get("spec") or {}).get("volumes") or []
            if "emptyDir" in v
        }
        out = []
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") in volumes and mount.get("mountPath"):
                local = run.workdir / "volumes" / str(mount["name"])
                local.mkdir(parents=True, exist_ok=True)
                out.append((str(mount["mountPath"]).rstrip("/") or "/", local))
        return sorted(out, key=lambda m: -len(m[0]))

    @staticmethod
    def _rerooted(text: str, mounts: list[tuple[str, Path]]) -> str:
        for path, local in mounts:
            if text == path or text.startswith(path + "/"):
                return str(local) + text[len(path) :]
        return text

    def _argv(self, container: JSON) -> list[str] | str:
        """command + args as Kubernetes composes them with the image's ENTRYPOINT/CMD,
        or why the sandbox cannot know what to run."""
        command = [str(c) for c in container.get("command") or []]
        args = container.get("args")
        if command:
            return command + [str(a) for a in args or []]
        image = str(container.get("image", ""))
        config = self.images.get(image_repo(image)) or next(
            (c for repo, c in self.images.items() if image_repo(image).endswith("/" + repo)), None
        )
        if config is None:
            return (
                f"the sandbox does not know the ENTRYPOINT of image {image!r} (it runs no "
                "images): give the container a command, or register the image in "
                "Kubelet.images"
            )
        return (
            [*config.entrypoint, *(str(a) for a in args)]
            if args is not None
            else [
                *config.entrypoint,
                *config.cmd,
            ]
        )

    def _env_from(self, pod: JSON, source: JSON) -> str | None:
        if "fieldRef" in source:
            path = source["fieldRef"].get("fieldPath", "")
            meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
            simple = {
                "metadata.name": meta.get("name"),
                "metadata.namespace": meta.get("namespace"),
                "metadata.uid": meta.get("uid"),
                "spec.nodeName": spec.get("nodeName"),
                "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
                "status.podIP": status.get("podIP", "127.0.0.1"),
                "status.hostIP": status.get("hostIP", "127.0.0.1"),
            }
            if path in simple:
                return str(simple[path] or "")
            if m := re.match(r"metadata\.(labels|annotations)\['(.+)'\]$", path):
                return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
            return None
        for ref_key, plural in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
            if ref_key in source:
                ref = source[ref_key]
                obj = self.store.peek(
                    self.store.type_for("", "v1", plural),
                    pod["metadata"]["namespace"],
                    ref.get("name", ""),
                )
                data = (obj or {}).get("data") or {}
                if ref.get("key") not in data:
                    return None
                value = data[ref["key"]]
                if plural == "secrets":
                    import base64

                    return base64.b64decode(value).decode(errors="replace")
                return str(value)
        if "resourceFieldRef" in source:
            return "0"
        return None

    async def _run_pod(self, run: PodRun) -> None:
        pod = self._current(run)
        if pod is None:
            return
        spec = pod.get("spec") or {}
        status = self._status(pod)
        status.update(
            {
                "phase": "Pending",
                "hostIP": "127.0.0.1",
                "hostIPs": [{"ip": "127.0.0.1"}],
                "startTime": now_iso(),
                "conditions": self._conditions(False),
                "containerStatuses": [
                    self._container_status(pod, c, {"waiting": {"reason": "ContainerCreating"}})
                    for c in spec.get("containers") or []
                ],
            }
        )
        self._write_status(run, status)
        deadline = spec.get("activeDeadlineSeconds")
        try:
            if deadline:
                await asyncio.wait_for(self._run_containers(run), float(deadline))
            else:
                await self._run_containers(run)
        except TimeoutError:
            run.stop_reason = (
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline",
            )
            await self._kill(run)
            self._finish(run, failed_reason=run.stop_reason)

    async def _run_containers(self, run: PodRun) -> None:
        pod = self._current(run)
        if pod is None:
            return
        spec = pod["spec"]
        for init in spec.get("initContainers") or []:
            code = await self._run_container(run, init, init=True)
            if code != 0:
                # As the kubelet: the pod fails with no reason of its own; the init
                # container's terminated state says which step failed and how.
                self._finish(run, failed_reason=("", ""))
                return
        codes = await asyncio.gather(
            *(self._run_container(run, c) for c in spec.get("containers") or [])
        )
        if run.stop_reason is None:
            self._finish(run, failed_reason=None if all(c == 0 for c in codes) else ("", ""))

    async def _run_container(self, run: PodRun, container: JSON, init: bool = False) -> int:
        restarts = 0
        last: JSON | None = None
        policy = (self._current(run) or {}).get("spec", {}).get("restartPolicy", "Always")
        while True:
            pod = self._current(run)
            if pod is None or run.stop_reason is not None:
                return 137
            code, terminated = await self._start_once(run, pod, container, restarts, last, init)
            if terminated is None:  # could not even build the config: stays waiting
                return 1
            retry = (policy == "Always" and not init) or (policy == "OnFailure" and code != 0)
            if not retry or run.stop_reason is not None:
                return code
            restarts += 1
            last = {"terminated": terminated}
            log = self._log_path(run, container["name"])
            if log.exists():
                log.replace(log.with_suffix(".previous"))
            pod = self._current(run)
            if pod is None:
                return code
            waiting = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off restarting failed container {container['name']}",
                }
            }
            self._set_container(run, container, waiting, restarts, last, ready=False)
            await asyncio.sleep(min(self.restart_backoff * 2 ** (restarts - 1), 5.0))

    def _log_path(self, run: PodRun, container: str) -> Path:
        return run.workdir / f"{container}.log"

    def _set_container(
        self,
        run: PodRun,
        container: JSON,
        state: JSON,
        restarts: int,
        last: JSON | None,
        ready: bool,
        phase: str | None = None,
    ) -> None:
        pod = self._current(run)
        if pod is None:
            return
        status = self._status(pod)
        statuses = status.get("containerStatuses") or []
        new = self._container_status(
            pod, container, state, restarts=restarts, last=last, ready=ready
        )
        statuses = [new if s.get("name") == container["name"] else s for s in statuses]
        if not any(s.get("name") == container["name"] for s in statuses):
            key = "initContainerStatuses"
            status[key] = [s for s in status.get(key) or [] if s.get("name") != container["name"]]
            status[key].append(new)
        else:
            status["containerStatuses"] = statuses
        all_ready = bool(statuses) and all(s.get("ready") for s in statuses)
        status["conditions"] = self._conditions(all_ready)
        if phase:
            status["phase"] = phase
            status["podIP"] = "127.0.0.1"
            status["podIPs"] = [{"ip": "127.0.0.1"}]
        self._write_status(run, status)

    async def _start_once(
        self, run: PodRun, pod: JSON, container: JSON, restarts: int, last: JSON | None, init: bool
    ) -> tuple[int, JSON | None]:
        name = container["name"]
        env = self._env(pod, container, run)
        if isinstance(env, str):
            self._set_container(
                run,
                container,
                {"waiting": {"reason": "CreateContainerConfigError", "message": env}},
                restarts,
                last,
                False,
            )
            return 1, None
        mounts = self._mounts(pod, container, run)
        composed = self._argv(container)
        argv = (
            [self._rerooted(expand(a, env), mounts) for a in composed]
            if isinstance(composed, list)
            else []
        )
        started = now_iso()
        executable = shutil.which(argv[0], path=env["PATH"]) if argv else None
        if executable is None:
            what = argv[0] if argv else "<no command>"
            message = (
                f"failed to create containerd task: failed to create shim task: OCI "
                f"runtime create failed: runc create failed: unable to start container "
                f'process: exec: "{what}": executable file not found in $PATH'
            )
            if isinstance(composed, str):
                message = f"failed to create containerd task: {composed}"
            terminated = {
                "exitCode": 128,
                "reason": "StartError",
                "message": message,
                "startedAt": "1970-01-01T00:00:00Z",
                "finishedAt": now_iso(),
                "containerID": "",
            }
            self._set_container(run, container, {"terminated": terminated}, restarts, last, False)
            if current := self._current(run):
                events.record(
                    self.store,
                    current,
                    "Failed",
                    f"Error: {message}",
                    component="kubelet",
                    type_="Warning",
                )
            return 128, terminated
        log = self._log_path(run, name)
        workdir = run.workdir
        if container.get("workingDir"):
            workdir = Path(self._rerooted(str(container["workingDir"]), mounts))
            if not workdir.is_dir():
                workdir = run.workdir
        with log.open("ab") as sink:
            process = await asyncio.create_subprocess_exec(
                executable,
                *argv[1:],
                cwd=workdir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=sink,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        run.processes[name] = process
        run.finished[name] = False
        self._set_container(
            run,
            container,
            {"running": {"startedAt": started}},
            restarts,
            last,
            ready=not init,
            phase=None if init else "Running",
        )
        if restarts == 0 and (current := self._current(run)):
            events.record(
                self.store, current, "Started", f"Started container {name}", component="kubelet"
            )
        code = await process.wait()
        run.finished[name] = True
        if code < 0:
            code = 128 - code  # killed by a signal: 128 + signal number, as runtimes report
        terminated = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": started,
            "finishedAt": now_iso(),
            "containerID": f"containerd://{hashlib.sha256(f'{run.uid}/{name}/{restarts}'.encode()).hexdigest()}",
        }
        if run.stop_reason is None:
            self._set_container(run, container, {"terminated": terminated}, restarts, last, False)
        return code, terminated

    def _finish(self, run: PodRun, failed_reason: tuple[str, str] | None) -> None:
        pod = self._current(run)
        if pod is None:
            return
        status = self._status(pod)
        status["phase"] = "Failed" if failed_reason is not None else "Succeeded"
        if failed_reason and failed_reason[0]:
            status["reason"], status["message"] = failed_reason
        status["conditions"] = self._conditions(False)
        for cs in status.get("containerStatuses") or []:
            if "terminated" not in (cs.get("state") or {}):
                cs["state"] = {
                    "terminated": {"exitCode": 137, "reason": "Error", "finishedAt": now_iso()}
                }
                cs["ready"] = False
                cs["started"] = False
        self._write_status(run, status)

    # -- stopping --------------------------------------------------------------------
    async def _kill(self, run: PodRun, grace: float = 2.0) -> None:
        for process in run.processes.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in run.processes.values():
            if process.returncode is None:
                try:
                    await asyncio.wait_for(process.wait(), grace)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()

    async def _terminate(self, pod: JSON) -> None:
        """Graceful deletion: stop the containers, then remove the pod object."""
        if not self._serves((pod.get("spec") or {}).get("nodeName")):
            return
        run = self.runs.get(pod["metadata"]["uid"])
        if run is not None:
            if run.stop_reason is None:
                run.stop_reason = ("", "")
            events.record(self.store, pod, "Killing", "Stopping container(s)", component="kubelet")
            await self._kill(
                run, grace=float(pod["metadata"].get("deletionGracePeriodSeconds") or 1)
            )
            if run.task is not None:
                run.task.cancel()
        if not pod["metadata"].get("finalizers"):
            self.store.finish_deletion(
                self.pods, pod["metadata"]["namespace"], pod["metadata"]["name"]
            )

    async def evict(self, namespace: str, name: str, message: str) -> None:
        """Node-pressure eviction: the kubelet kills the pod and marks it Failed/Evicted."""
        pod = self.store.peek(self.pods, namespace, name)
        if pod is None:
            raise not_found("pods", name)
        run = self.runs.get(pod["metadata"]["uid"])
        reason = ("Evicted", message)
        if run is None:
            return
        run.stop_reason = reason
        await self._kill(run, grace=0.5)
        self._finish(run, failed_reason=reason)
        pod = self._current(run)
        if pod is not None:
            status = self._status(pod)
            status["conditions"].append(
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "reason": "TerminationByKubelet",
                    "message": message,
                    "lastTransitionTime": now_iso(),
                }
            )
            self._write_status(run, status)
            events.record(self.store, pod, "Evicted", message, component="kubelet", type_="Warning")

    async def _node_gone(self, node: str) -> None:
        """Pod GC for a deleted node: stop its pods, mark them Failed, delete them."""
        for pod in list(self.store.iter_objects(self.pods)):
            if (pod.get("spec") or {}).get("nodeName") != node:
                continue
            run = self.runs.get(pod["metadata"]["uid"])
            if run is not None:
                run.stop_reason = (
                    "NodeLost",
                    f"node {node} which was running pod {pod['metadata']['name']} is unresponsive",
                )
                await self._kill(run, grace=0.5)
                self._finish(run, failed_reason=("", ""))
                current = self._current(run)
                if current is not None:
                    status = self._status(current)
                    status["conditions"].append(
                        {
                            "type": "DisruptionTarget",
                            "status": "True",
                            "reason": "DeletionByPodGC",
                            "message": "PodGC: node no longer exists",
                            "lastTransitionTime": now_iso(),
                        }
                    )
                    self._write_status(run, status)
            with contextlib.suppress(ApiError):
                self.store.delete(
                    self.pods,
                    pod["metadata"]["namespace"],
                    pod["metadata"]["name"],
                    grace_seconds=0,
                )

    async def shutdown(self) -> None:
        for run in list(self.runs.values()):
            run.stop_reason = run.stop_reason or ("", "")
            await self._kill(run, grace=0.5)
            if run.task is not None:
                run.task.cancel()

    # -- logs ------------------------------------------------------------------------
    async def logs(self, namespace: str, name: str, request: web.Request) -> web.StreamResponse:
        pod = self.store.peek(self.pods, namespace, name)
        if pod is None:
            raise not_found("pods", name)
        names = [
            c["name"]
            for c in (pod["spec"].get("initContainers") or []) + pod["spec"].get("containers", [])
        ]
        container = request.query.get("container")
        if container is None:
            main = [c["name"] for c in pod["spec"].get("containers", [])]
            if len(main) != 1:
                raise bad_request(
                    f"a container name must be specified for pod {name}, choose "
                    f"one of: [{' '.join(main)}]"
                )
            container = main[0]
        if container not in names:
            raise bad_request(f"container {container} is not valid for pod {name}")
        run = self.runs.get(pod["metadata"]["uid"])
        path = self._log_path(run, container) if run else None
        if request.query.get("previous") in ("true", "1") and path is not None:
            path = path.with_suffix(".previous")
            if not path.exists():
                raise bad_request(
                    f'previous terminated container "{container}" in pod "{name}" not found'
                )
        if path is None or not path.exists():
            raise bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating'
            )
        data = path.read_bytes()
        if tail := request.query.get("tailLines"):
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-int(tail) :]) if int(tail) > 0 else b""
        if limit := request.query.get("limitBytes"):
            data = data[: int(limit)]
        if request.query.get("follow") not in ("true", "1"):
            return web.Response(body=data, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        await response.write(data)
        offset = path.stat().st_size
        assert run is not None
        while True:
            done = run.finished.get(container, True)
            if path.exists() and path.stat().st_size > offset:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
                offset += len(chunk)
                await response.write(chunk)
            elif done:
                break
            else:
                await asyncio.sleep(0.1)
        return response


def _optional(source: JSON) -> bool:
    return any((source.get(k) or {}).get("optional") for k in ("configMapKeyRef", "secretKeyRef"))
