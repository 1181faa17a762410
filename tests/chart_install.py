"""The Helm chart, rendered with real Helm (helm-python-sdk, offline) and installed into
a sandbox as `helm install` would install its access control: the operator's
ServiceAccount, its (Cluster)Roles and bindings, the user roles and the admission policy.

The controller tests run the operator as that ServiceAccount, with the flags of the
rendered Deployment, so a verb missing from the chart's RBAC fails a test, and the chart's
admission policy judges every suite the tests apply through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts/benchgate"

# What an install puts in a cluster that decides who may do what (the Deployment, Service
# and dashboard are left out: the tests run the operator as a process).
ACCESS_KINDS = (
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
)


def render(
    values: dict[str, Any] | None = None,
    *,
    release: str = "benchgate",
    namespace: str = "benchgate",
) -> dict[str, str]:
    """Template path -> rendered text, exactly as `helm template` would produce it."""
    with helm.Chart.load(str(CHART)) as chart:
        return chart.render(values=values, name=release, namespace=namespace, is_install=True)


def objects(values: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart renders (NOTES.txt excluded)."""
    found: list[dict[str, Any]] = []
    for path, text in render(values, **kwargs).items():
        if path.endswith("NOTES.txt"):
            continue
        found.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return found


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


@dataclass(frozen=True)
class Installed:
    namespace: str
    service_account: str
    operator_args: tuple[str, ...]  # the rendered Deployment's `benchgate ...` arguments
    objects: tuple[dict[str, Any], ...]


def install(
    sandbox: Any,
    values: dict[str, Any] | None = None,
    *,
    release: str = "benchgate",
    namespace: str = "benchgate",
) -> Installed:
    """Apply the chart's access-control objects to `sandbox` (create or update, so a
    second call with other values is a `helm upgrade` of them)."""
    rendered = objects(values, release=release, namespace=namespace)
    if not any(ns["metadata"]["name"] == namespace for ns in sandbox.list("v1", "Namespace")):
        sandbox.create_namespace(namespace)
    applied = [o for o in rendered if o["kind"] in ACCESS_KINDS]
    for obj in applied:
        if obj["kind"] in ("ServiceAccount", "Role", "RoleBinding"):
            obj.setdefault("metadata", {}).setdefault("namespace", namespace)
            if not any(
                n["metadata"]["name"] == obj["metadata"]["namespace"]
                for n in sandbox.list("v1", "Namespace")
            ):
                sandbox.create_namespace(obj["metadata"]["namespace"])
    sandbox.apply_all(applied)
    (deployment,) = by_kind(rendered, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return Installed(
        namespace,
        pod["serviceAccountName"],
        tuple(container["args"]),
        tuple(rendered),
    )
