"""Render the chart with real Helm (helm-python-sdk bundles Helm's engine, offline)."""

from __future__ import annotations

from typing import Any

from chart_install import CHART, ROOT, by_kind, objects, render

__all__ = ["CHART", "PRODUCTION_VALUES", "ROOT", "by_kind", "objects", "render"]

# Values a production install would plausibly use: namespaced RBAC, Prometheus Operator
# objects on, an image pinned by digest, extra scheduling settings, a cluster policy.
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
    "gating": {"enabled": True, "namespaces": ["ml-platform"]},
    "policy": {
        "privilegedNamespaces": ["gpu-diagnostics"],
        "allowedImages": ["registry.example.com/benchgate/*"],
        "requireImageDigest": True,
    },
}
