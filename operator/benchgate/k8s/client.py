"""Async-safe wrappers around the synchronous `kubernetes` client.

Every call runs in a worker thread (`asyncio.to_thread`) so kopf's event loop never
blocks. Objects come back as plain dicts exactly as the API serialises them (camelCase),
so the pure modules never see client model classes. Creation is create-if-absent: a 409
means the deterministic name already exists, which after a restart is the point.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import kubernetes
from kubernetes.client.exceptions import ApiException

from benchgate.api import crd
from benchgate.k8s.calls import require
from benchgate.k8s.errors import status_message

JSON = dict[str, Any]
DEFAULT_LOG_LIMIT_BYTES: Final = 2 * 1024 * 1024


def load_config() -> None:
    """In-cluster service account if there is one, else KUBECONFIG / ~/.kube/config."""
    config: Any = kubernetes.config
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()


def _decode(response: Any) -> JSON:
    data = response.data
    return dict(json.loads(data)) if data else {}


class Api:
    """The operator's API access; one instance per process, created after load_config()."""

    def __init__(self, api_client: kubernetes.client.ApiClient | None = None) -> None:
        # Typed as Any: every call passes dicts and `_preload_content=False` (raw JSON
        # back), which the client's model-class annotations do not describe.
        self.client: Any = api_client or kubernetes.client.ApiClient()
        self.core: Any = kubernetes.client.CoreV1Api(self.client)
        self.batch: Any = kubernetes.client.BatchV1Api(self.client)
        self.custom: Any = kubernetes.client.CustomObjectsApi(self.client)

    async def _call(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.to_thread(fn)

    # ------------------------------------------------------------------ create
    async def create(self, obj: Mapping[str, Any]) -> tuple[JSON, bool]:
        """Create `obj`; returns (object, created). An existing object is read back."""
        kind = obj["kind"]
        ns = obj["metadata"]["namespace"]
        name = obj["metadata"]["name"]
        body = dict(obj)
        try:
            if kind == "Job":
                require("create", "batch", "jobs")
                r = await self._call(
                    lambda: self.batch.create_namespaced_job(ns, body, _preload_content=False)
                )
            elif kind == "ConfigMap":
                require("create", "", "configmaps")
                r = await self._call(
                    lambda: self.core.create_namespaced_config_map(ns, body, _preload_content=False)
                )
            elif kind in (crd.RUN_KIND, crd.BASELINE_KIND):
                plural = crd.RUN_PLURAL if kind == crd.RUN_KIND else crd.BASELINE_PLURAL
                require("create", crd.GROUP, plural)
                r = await self._call(
                    lambda: self.custom.create_namespaced_custom_object(
                        crd.GROUP, crd.VERSION, ns, plural, body, _preload_content=False
                    )
                )
            else:
                raise ValueError(f"benchgate never creates a {kind}")
            return _decode(r), True
        except ApiException as exc:
            if exc.status != 409:
                raise
        existing = await self.get(kind, ns, name)
        return existing or {}, False

    async def get(self, kind: str, namespace: str, name: str) -> JSON | None:
        try:
            if kind == "ConfigMap":
                require("get", "", "configmaps")
                r = await self._call(
                    lambda: self.core.read_namespaced_config_map(
                        name, namespace, _preload_content=False
                    )
                )
            elif kind == "Job":
                # By name: Kubernetes adds no job-name label to a Job that has labels.
                require("get", "batch", "jobs")
                r = await self._call(
                    lambda: self.batch.read_namespaced_job(name, namespace, _preload_content=False)
                )
            else:
                plural = {
                    crd.RUN_KIND: crd.RUN_PLURAL,
                    crd.BASELINE_KIND: crd.BASELINE_PLURAL,
                    crd.SUITE_KIND: crd.SUITE_PLURAL,
                }[kind]
                require("get", crd.GROUP, plural)
                r = await self._call(
                    lambda: self.custom.get_namespaced_custom_object(
                        crd.GROUP, crd.VERSION, namespace, plural, name, _preload_content=False
                    )
                )
            return _decode(r)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    # -------------------------------------------------------------------- lists
    async def list_jobs(self, namespace: str, selector: str) -> list[JSON]:
        require("list", "batch", "jobs")
        r = await self._call(
            lambda: self.batch.list_namespaced_job(
                namespace, label_selector=selector, _preload_content=False
            )
        )
        return list(_decode(r).get("items") or [])

    async def list_pods(self, namespace: str, selector: str) -> list[JSON]:
        require("list", "", "pods")
        r = await self._call(
            lambda: self.core.list_namespaced_pod(
                namespace, label_selector=selector, _preload_content=False
            )
        )
        return list(_decode(r).get("items") or [])

    async def list_nodes(self) -> list[JSON]:
        require("list", "", "nodes")
        r = await self._call(lambda: self.core.list_node(_preload_content=False))
        return list(_decode(r).get("items") or [])

    # ------------------------------------------------------------ node gating
    async def get_node(self, name: str) -> JSON | None:
        require("get", "", "nodes")
        try:
            return _decode(
                await self._call(lambda: self.core.read_node(name, _preload_content=False))
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            if exc.status == 403:
                raise PermissionError(f"get nodes/{name}: {status_message(exc)}") from exc
            raise

    async def replace_node_taints(
        self, name: str, resource_version: str, taints: list[JSON]
    ) -> bool:
        """Set spec.taints if the node is still at `resource_version`; False on a race.
        PermissionError when the role does not allow it (the chart's gating RBAC is off).

        A JSON patch (a list body) whose `test` op guards the resourceVersion: the whole
        list is replaced, so there is no doubt about how taints would merge, and a node
        that changed meanwhile is left alone (the next reconcile looks again).
        """
        require("patch", "", "nodes")
        ops = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
            {"op": "add", "path": "/spec/taints", "value": taints},
        ]
        try:
            await self._call(
                lambda: self.core.patch_node(
                    name, ops, _content_type="application/json-patch+json", _preload_content=False
                )
            )
        except ApiException as exc:
            if exc.status in (404, 409, 422):
                return False
            if exc.status == 403:
                raise PermissionError(f"patch nodes/{name}: {status_message(exc)}") from exc
            raise
        return True

    async def list_custom(
        self, plural: str, namespace: str | None, selector: str = ""
    ) -> list[JSON]:
        require("list", crd.GROUP, plural)
        if namespace is None:
            r = await self._call(
                lambda: self.custom.list_cluster_custom_object(
                    crd.GROUP, crd.VERSION, plural, label_selector=selector, _preload_content=False
                )
            )
        else:
            r = await self._call(
                lambda: self.custom.list_namespaced_custom_object(
                    crd.GROUP,
                    crd.VERSION,
                    namespace,
                    plural,
                    label_selector=selector,
                    _preload_content=False,
                )
            )
        return list(_decode(r).get("items") or [])

    # ------------------------------------------------------------------- writes
    async def patch_status(
        self, plural: str, namespace: str, name: str, status: Mapping[str, Any]
    ) -> None:
        """Merge-patch status (lists inside are replaced whole: always send them whole)."""
        require("patch", crd.GROUP, plural, "status")
        body = {"status": dict(status)}
        try:
            await self._call(
                lambda: self.custom.patch_namespaced_custom_object_status(
                    crd.GROUP, crd.VERSION, namespace, plural, name, body, _preload_content=False
                )
            )
        except ApiException as exc:
            if exc.status != 404:  # deleted meanwhile: nothing to report on
                raise

    async def patch_annotations(
        self, plural: str, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> None:
        require("patch", crd.GROUP, plural)
        body = {"metadata": {"annotations": dict(annotations)}}
        await self._call(
            lambda: self.custom.patch_namespaced_custom_object(
                crd.GROUP, crd.VERSION, namespace, plural, name, body, _preload_content=False
            )
        )

    async def delete_custom(self, plural: str, namespace: str, name: str) -> None:
        require("delete", crd.GROUP, plural)
        try:
            await self._call(
                lambda: self.custom.delete_namespaced_custom_object(
                    crd.GROUP,
                    crd.VERSION,
                    namespace,
                    plural,
                    name,
                    body=kubernetes.client.V1DeleteOptions(propagation_policy="Background"),
                    _preload_content=False,
                )
            )
        except ApiException as exc:
            if exc.status != 404:
                raise

    # --------------------------------------------------------------------- logs
    async def read_pod_log(
        self, namespace: str, name: str, container: str, limit_bytes: int = DEFAULT_LOG_LIMIT_BYTES
    ) -> tuple[str, bool]:
        """The pod's log, at most `limit_bytes` (read by the API server, not by us);
        returns (text, truncated)."""
        require("get", "", "pods", "log")
        r = await self._call(
            lambda: self.core.read_namespaced_pod_log(
                name,
                namespace,
                container=container,
                limit_bytes=limit_bytes,
                _preload_content=False,
            )
        )
        raw: bytes = r.data or b""
        return raw[:limit_bytes].decode("utf-8", errors="replace"), len(raw) >= limit_bytes
