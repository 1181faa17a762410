"""Chart conventions a team running many operators expects: overridable security contexts
(OpenShift's restricted SCC assigns the UID), an optional NetworkPolicy, alert selector and
runbook URL as values (the rules, rendered with them, still pass every promtool unit test),
nameOverride that does not break the operator-down alert, and the version as image tag."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml
from chart_render import CHART, ROOT, by_kind, objects

KUBE_VERSION = "1.30"
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}
DEFAULT_RUNBOOK = "https://github.com/benchgate/benchgate/blob/main/docs/runbook.md"
CUSTOM_RUNBOOK = "https://wiki.example.com/platform/benchgate-runbook"

# An OpenShift-like install: the SCC picks the UID, fsGroup and group (so the chart must
# not fix them); NetworkPolicy on; a renamed chart scraped under its own job name.
OPENSHIFT_VALUES: dict[str, Any] = {
    "nameOverride": "gpu-verifier",
    "image": {"digest": "sha256:" + "cd" * 32},
    "podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None},
    "networkPolicy": {
        "enabled": True,
        "apiServer": {"cidrs": ["10.0.0.1/32", "fd00::1/128"]},
        "metricsFrom": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ],
    },
    "serviceMonitor": {"enabled": True},
    "prometheusRule": {
        "enabled": True,
        "operatorSelector": 'job="gpu-verifier",namespace="ops"',
        "runbookBaseUrl": CUSTOM_RUNBOOK + "/",
    },
}


def test_helm_lint_strict_is_clean_with_openshift_values() -> None:
    report = helm.lint(str(CHART), OPENSHIFT_VALUES, strict=True, kube_version=f"v{KUBE_VERSION}.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert problems == [], f"helm lint --strict found: {problems}"


def test_openshift_values_render_valid_kubernetes_objects() -> None:
    rendered = objects(OPENSHIFT_VALUES, release="prod", namespace="ops")
    assert by_kind(rendered, "NetworkPolicy"), "networkPolicy.enabled must render one"
    for obj in rendered:
        if obj["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']} is invalid: {exc.message}")


def test_the_security_contexts_keep_their_hardening_when_the_uid_is_left_to_the_cluster() -> None:
    (deployment,) = by_kind(objects(OPENSHIFT_VALUES), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }, "null values must remove the fixed UID/GID/fsGroup (restricted-v2 SCC assigns them)"
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    (default,) = by_kind(objects(), "Deployment")
    assert default["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 65532, (
        "the default stays the image's non-root UID"
    )


def test_the_network_policy_allows_the_api_server_out_and_metrics_in_only() -> None:
    rendered = objects(OPENSHIFT_VALUES)
    assert by_kind(objects(), "NetworkPolicy") == [], "the NetworkPolicy is opt-in"
    (policy,) = by_kind(rendered, "NetworkPolicy")
    (deployment,) = by_kind(rendered, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items(), (
        "the NetworkPolicy must select the operator pod"
    )
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    (egress,) = policy["spec"]["egress"]
    assert [p["port"] for p in egress["ports"]] == [443, 6443]
    assert [t["ipBlock"]["cidr"] for t in egress["to"]] == ["10.0.0.1/32", "fd00::1/128"]
    (ingress,) = policy["spec"]["ingress"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    metrics_port = next(p for p in container["ports"] if p["name"] == "metrics")
    assert ingress["ports"] == [{"port": metrics_port["name"], "protocol": "TCP"}]
    assert ingress["from"] == OPENSHIFT_VALUES["networkPolicy"]["metricsFrom"]


def test_name_override_keeps_the_scraped_job_matching_the_operator_down_alert() -> None:
    # Without this, the ServiceMonitor's job follows the chart name and the default
    # selector job=~".*benchgate.*" finds nothing: absent() pages forever.
    values = {
        "nameOverride": "gpu-verifier",
        "fullnameOverride": "verifier",
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
    }
    rendered = objects(values)
    (monitor,) = by_kind(rendered, "ServiceMonitor")
    (service,) = by_kind(rendered, "Service")
    (rule,) = by_kind(rendered, "PrometheusRule")
    job = service["metadata"]["labels"][monitor["spec"]["jobLabel"]]
    assert job == "benchgate", f"the scraped job is {job!r}"
    alerts = {r.get("alert"): r for g in rule["spec"]["groups"] for r in g["rules"]}
    down = alerts["BenchgateOperatorDown"]
    assert 'up{job=~".*benchgate.*"}' in down["expr"]
    assert service["metadata"]["name"] == "verifier-metrics"


def test_the_chart_deploys_its_own_version_as_the_image_tag() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    (deployment,) = by_kind(objects(), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/benchgate/operator:{chart['appVersion']}"
    (pinned,) = by_kind(objects(OPENSHIFT_VALUES), "Deployment")
    (container,) = pinned["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/benchgate/operator@sha256:" + "cd" * 32


def rendered_rules(values: dict[str, Any]) -> dict[str, Any]:
    (rule,) = by_kind(objects(values, namespace="ops"), "PrometheusRule")
    spec: dict[str, Any] = rule["spec"]
    return spec


def test_rendered_rules_with_non_default_values_pass_every_promtool_unit_test(
    tmp_path: Path,
) -> None:
    """The shipped promtool tests, translated as the values translate the rules: the
    runbook links point at the custom base and the operator's series carry the custom job
    and namespace. Every alert must still fire and stay silent where the tests say."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: run `make system-deps` (Debian package prometheus)")
    rules = rendered_rules(OPENSHIFT_VALUES)
    by_name = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert all(
        r["annotations"]["runbook_url"].startswith(CUSTOM_RUNBOOK + "#") for r in by_name.values()
    )
    assert 'up{job="gpu-verifier",namespace="ops"}' in by_name["BenchgateOperatorDown"]["expr"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    tests = sorted((ROOT / "tests/alerts").glob("*_test.yaml"))
    for source in tests:
        suite = yaml.safe_load(
            source.read_text()
            .replace(DEFAULT_RUNBOOK, CUSTOM_RUNBOOK)
            .replace("job: benchgate,", "job: gpu-verifier, namespace: ops,")
            .replace('job="benchgate"', 'job="gpu-verifier",namespace="ops"')
            # absent() of equality matchers carries their labels (Prometheus semantics):
            # the never-scraped page names the job and namespace it looked for.
            .replace(
                "exp_labels: {severity: critical}",
                "exp_labels: {severity: critical, job: gpu-verifier, namespace: ops}",
            )
        )
        suite["rule_files"] = ["rules.yaml"]
        (tmp_path / source.name).write_text(yaml.safe_dump(suite))
    result = subprocess.run(
        [promtool, "test", "rules", *(t.name for t in tests)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert result.returncode == 0, f"promtool test rules failed:\n{result.stdout}{result.stderr}"


def test_default_values_render_exactly_the_tested_rules_file() -> None:
    shipped = yaml.safe_load((CHART / "files/alerts.yaml").read_text())
    assert rendered_rules({"prometheusRule": {"enabled": True}}) == shipped
    unchanged = copy.deepcopy(shipped)
    assert (
        rendered_rules(
            {"prometheusRule": {"enabled": True, "runbookBaseUrl": DEFAULT_RUNBOOK + "/"}}
        )
        == unchanged
    ), "a trailing slash on the base URL must not change the links"
