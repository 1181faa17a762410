"""Render the chart with real Helm (helm-python-sdk bundles Helm's engine, offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts/benchgate"

# Values a production install would plausibly use: namespaced RBAC, Prometheus Operator
# objects on, an image pinned by digest, extra scheduling settings.
PRODUCTION_VALUES: dict[str, Any] = {
    "image": {
        "repository": "registry.example.com/benchgate/operator",
        "digest": "sha256:" + "ab" * 32,
    },
    "watchNamespaces": ["ml-platform", "ci"],
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "grafanaDashboard": {"namespace": "monitoring", "annotations": {"grafana_folder": "ML"}},
    "operator": {"extraArgs": ["--verbose"], "extraEnv": [{"name": "TZ", "value": "UTC"}]},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
    "priorityClassName": "system-cluster-critical",
    "imagePullSecrets": [{"name": "regcred"}],
}


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
