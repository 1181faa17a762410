"""The Helm chart, rendered and linted by real Helm, validated as Kubernetes would."""

from __future__ import annotations

import importlib
import json
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml
from chart_render import CHART, PRODUCTION_VALUES, ROOT, by_kind, objects, render

KUBE_VERSION = "1.30"
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}


@pytest.mark.parametrize("values", [None, PRODUCTION_VALUES], ids=["default", "production"])
def test_helm_lint_is_clean(values: dict[str, Any] | None) -> None:
    report = helm.lint(str(CHART), values, strict=True, kube_version=f"v{KUBE_VERSION}.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert problems == [], f"helm lint --strict found: {problems}"


@pytest.mark.parametrize("values", [None, PRODUCTION_VALUES], ids=["default", "production"])
def test_rendered_builtin_objects_are_valid_kubernetes(values: dict[str, Any] | None) -> None:
    rendered = objects(values)
    for obj in rendered:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']} is invalid: {exc.message}")


# Minimal structural schemas for the Prometheus Operator's kinds (their CRDs are not
# here): what the Prometheus Operator needs to pick the objects up at all.
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {"type": "object", "required": ["matchLabels"]},
                "namespaceSelector": {"type": "object"},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "properties": {"interval": {"type": "string"}, "path": {"type": "string"}},
                    },
                },
            },
        },
    },
}
PROMETHEUS_RULE_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "properties": {
                            "rules": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "properties": {
                                        "alert": {"type": "string"},
                                        "expr": {"type": "string"},
                                        "for": {"type": "string"},
                                        "labels": {"type": "object"},
                                        "annotations": {"type": "object"},
                                    },
                                },
                            }
                        },
                    },
                }
            },
        },
    },
}


def test_monitoring_objects_only_exist_behind_their_flags() -> None:
    default_kinds = {o["kind"] for o in objects()}
    assert default_kinds.isdisjoint(CUSTOM_KINDS), "ServiceMonitor/PrometheusRule are opt-in"
    rendered = objects(PRODUCTION_VALUES)
    (monitor,) = by_kind(rendered, "ServiceMonitor")
    (rule,) = by_kind(rendered, "PrometheusRule")
    jsonschema.validate(monitor, SERVICE_MONITOR_SCHEMA)
    jsonschema.validate(rule, PROMETHEUS_RULE_SCHEMA)
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (service,) = by_kind(rendered, "Service")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    ), "the ServiceMonitor must select the metrics Service"
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "benchgate", (
        "job label must contain 'benchgate': BenchgateOperatorDown selects up{job=~'.*benchgate.*'}"
    )


def test_the_prometheus_rule_ships_exactly_the_promtool_tested_file() -> None:
    (rule,) = by_kind(objects(PRODUCTION_VALUES), "PrometheusRule")
    shipped = yaml.safe_load((CHART / "files/alerts.yaml").read_text())
    assert rule["spec"] == shipped


def test_the_deployment_runs_one_hardened_operator() -> None:
    (deployment,) = by_kind(objects(), "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    args = container["args"]
    assert args[0] == "operator", "ENTRYPOINT is `benchgate`; args must start with the command"
    assert "--metrics-port=8000" in args and "--all-namespaces" in args
    liveness = next(a for a in args if a.startswith("--liveness="))
    probe = container["livenessProbe"]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert liveness == f"--liveness=http://0.0.0.0:{ports[probe['port']]}{probe['path']}", (
        "the liveness probe must hit the endpoint kopf is told to serve"
    )
    assert pod["serviceAccountName"] == "benchgate"


def test_production_values_reach_the_deployment() -> None:
    rendered = objects(PRODUCTION_VALUES, release="prod", namespace="ops")
    (deployment,) = by_kind(rendered, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.example.com/benchgate/operator@sha256:" + "ab" * 32
    args = container["args"]
    assert args[3:5] == ["--namespace=ml-platform", "--namespace=ci"] and args[-1] == "--verbose"
    assert [a for a in args if not a.startswith(("--namespace", "--metrics", "--liveness"))] == [
        "operator",
        "--gating-namespace=ml-platform",
        "--privileged-namespace=gpu-diagnostics",
        "--allowed-image=registry.example.com/benchgate/*",
        "--require-image-digest",
        "--verbose",
    ], "the cluster policy values must reach the operator's flags"
    assert {"name": "TZ", "value": "UTC"} in container["env"]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert deployment["metadata"]["name"] == "prod-benchgate"
    (dashboard,) = by_kind(rendered, "ConfigMap")
    assert dashboard["metadata"]["namespace"] == "monitoring"


def test_every_object_carries_the_standard_labels() -> None:
    for obj in objects(PRODUCTION_VALUES, release="prod"):
        labels = obj["metadata"].get("labels", {})
        for key in (
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/version",
            "app.kubernetes.io/managed-by",
            "app.kubernetes.io/part-of",
            "helm.sh/chart",
        ):
            assert key in labels, f"{obj['kind']} {obj['metadata']['name']} lacks label {key}"
        assert labels["app.kubernetes.io/instance"] == "prod"


def test_the_dashboard_configmap_carries_the_dashboard_for_the_grafana_sidecar() -> None:
    (configmap,) = by_kind(objects(), "ConfigMap")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((CHART / "files/dashboard.json").read_text())
    assert json.loads(configmap["data"]["benchgate.json"]) == shipped
    disabled = objects({"grafanaDashboard": {"enabled": False}})
    assert by_kind(disabled, "ConfigMap") == []


def test_notes_tell_how_to_check_the_install() -> None:
    rendered = render(PRODUCTION_VALUES, release="prod", namespace="ops")
    notes = rendered["benchgate/templates/NOTES.txt"]
    assert "kubectl -n ops get deploy prod-benchgate" in notes
    assert "kubectl get regressionsuites -A" in notes
    assert "ml-platform, ci" in notes


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"metrics": {"port": "8000"}}, "/metrics/port': got string, want integer"),
        ({"resources": {"requests": {"cpu": "a lot"}}}, "/resources/requests/cpu"),
        ({"replicaCount": 2}, "replicaCount"),
        ({"watchNamespaces": ["Not_A_Namespace"]}, "/watchNamespaces/0"),
    ],
    ids=["port-type", "bad-quantity", "unknown-key", "namespace-name"],
)
def test_bad_values_fail_rendering_naming_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        render(values)
    assert message in str(caught.value), f"the error should name the bad key: {caught.value}"


def test_the_chart_ships_the_top_level_crds_as_templates() -> None:
    """crds/ is the one source: the chart's files/crds/ is a byte-identical copy, and
    what the chart renders is those CRDs with only Helm's labels and keep policy added."""
    source = {p.name: p.read_bytes() for p in (ROOT / "crds").glob("*.yaml")}
    shipped = {p.name: p.read_bytes() for p in (CHART / "files/crds").glob("*.yaml")}
    assert source, "crds/*.yaml is empty: the operator's CRDs are missing"
    copy_them = "copy them with: cp crds/*.yaml charts/benchgate/files/crds/"
    assert shipped.keys() == source.keys(), (
        f"charts/benchgate/files/crds/ has {sorted(shipped)}, crds/ has {sorted(source)}; "
        + copy_them
    )
    stale = [name for name in source if shipped[name] != source[name]]
    assert stale == [], f"charts/benchgate/files/crds/ is out of date for {stale}: {copy_them}"
    assert not (CHART / "crds").exists(), (
        "charts/benchgate/crds/ would be installed once and never upgraded by Helm, and "
        "clash with templates/crds.yaml"
    )
    rendered = {c["metadata"]["name"]: c for c in by_kind(objects(), "CustomResourceDefinition")}
    for text in source.values():
        crd = yaml.safe_load(text)
        name = crd["metadata"]["name"]
        assert rendered[name]["spec"] == crd["spec"], f"the chart renders {name} differently"
        metadata = rendered[name]["metadata"]
        assert metadata["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert metadata["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert rendered.keys() == {
        "regressionsuites.benchgate.dev",
        "verificationruns.benchgate.dev",
        "regressionbaselines.benchgate.dev",
    }


def test_crds_can_be_left_to_another_tool_or_deleted_with_the_release() -> None:
    assert by_kind(objects({"crds": {"enabled": False}}), "CustomResourceDefinition") == []
    for crd in by_kind(objects({"crds": {"keep": False}}), "CustomResourceDefinition"):
        assert "helm.sh/resource-policy" not in crd["metadata"].get("annotations", {})


@pytest.mark.parametrize("values", [None, PRODUCTION_VALUES], ids=["default", "production"])
def test_the_deployment_args_are_accepted_by_the_benchgate_cli(
    values: dict[str, Any] | None,
) -> None:
    try:
        importlib.import_module("benchgate.commands.operator")
    except ModuleNotFoundError:
        pytest.skip("benchgate/commands/operator.py (`benchgate operator`) does not exist yet")
    from benchgate.cli import build_parser

    (deployment,) = by_kind(objects(values), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = [
        a
        for a in container["args"]
        if a not in (values or {}).get("operator", {}).get("extraArgs", [])
    ]
    try:
        parsed = build_parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"`benchgate {' '.join(args)}` is rejected by the CLI the image runs")
    assert parsed.command == "operator"
