"""A corpus of bad RegressionSuites, each with the layer that must refuse it and the field
its message must name; and valid edge cases that must be accepted.

Used three times, so that the three doors agree: the operator's own validation
(tests/unit/test_suite_corpus.py), the sandbox API as `kubectl apply` meets it
(tests/sandbox/test_suite_corpus_api.py) and `benchgate run` (tests/workloads/
test_suite_corpus_run.py).

Layers:
- "schema": the CRD's OpenAPI schema (types, enums, ranges, patterns, lengths, lists);
- "cel": the CRD's x-kubernetes-validations rules (cross-field and value rules);
- "unknown": a field the CRD does not have (refused under strict field validation,
  which is kubectl's default and what `benchgate run` applies);
- "operator": what only the operator can know (the workload catalog, baselines in the
  cluster): accepted by the API, then refused with an InvalidSpec condition before any
  pod runs. `local=False` marks what `benchgate run` cannot know (cluster objects).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

Layer = Literal["schema", "cel", "unknown", "operator"]

VALID: dict[str, Any] = {
    "apiVersion": "benchgate.dev/v1alpha1",
    "kind": "RegressionSuite",
    "metadata": {"name": "corpus"},
    "spec": {
        "size": "tiny",
        "image": "ghcr.io/benchgate/workload:0.1.0",
        "workloads": [
            {
                "name": "gemm_throughput",
                "metrics": [{"name": "gflops_fp32", "tolerancePercent": 5}],
            },
            {"name": "numerics_probe"},
        ],
        "sampling": {"replicates": 3, "repetitions": 3, "mode": "fixed", "maxSamples": 30},
        "statistics": {"confidence": "0.95", "tolerancePercent": 3, "errorFactor": 2},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "jobTemplate": {
            "env": [{"name": "OMP_NUM_THREADS", "value": "1"}],
            "resources": {"requests": {"cpu": "1", "memory": "512Mi"}, "limits": {"cpu": "1"}},
        },
    },
}


@dataclass(frozen=True)
class Case:
    id: str
    layer: Layer
    field: str  # the field path the refusal must name
    spec: dict[str, Any] = field(default_factory=dict)  # merged into VALID["spec"]
    metadata: dict[str, Any] = field(default_factory=dict)
    delete: tuple[str, ...] = ()  # spec keys to remove
    local: bool = True  # `benchgate run` can know it

    def manifest(self) -> dict[str, Any]:
        body = copy.deepcopy(VALID)
        body["metadata"].update(self.metadata)
        for key in self.delete:
            body["spec"].pop(key, None)
        merge(body["spec"], self.spec)
        return body


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """JSON merge patch (RFC 7386) of plain dicts; lists replace."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def gemm(*metrics: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"workloads": [{"name": "gemm_throughput", "metrics": list(metrics), **extra}]}


def job(**template: Any) -> dict[str, Any]:
    return {"jobTemplate": template}


def res(requests: dict[str, Any] | None = None, limits: dict[str, Any] | None = None) -> Any:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return job(resources=resources)


def tol(**toleration: Any) -> dict[str, Any]:
    return job(tolerations=[toleration])


W0 = "spec.workloads[0]"
M0 = f"{W0}.metrics[0]"
STATS = "spec.statistics"
JT = "spec.jobTemplate"

BAD: tuple[Case, ...] = (
    # --- metadata
    Case("name-64-chars", "cel", "metadata.name", metadata={"name": "a" * 64}),
    Case("name-253-chars", "cel", "metadata.name", metadata={"name": "a" * 253}),
    Case("name-with-a-dot", "cel", "metadata.name", metadata={"name": "gpu.pool"}),
    # --- size, image
    Case("size-unknown", "schema", "spec.size", {"size": "huge"}),
    Case("size-not-a-string", "schema", "spec.size", {"size": 1}),
    Case("image-missing", "schema", "spec.image", delete=("image",)),
    Case("image-empty", "schema", "spec.image", {"image": ""}),
    Case("image-trailing-space", "schema", "spec.image", {"image": "ghcr.io/x/w:1 "}),
    Case("image-upper-case-path", "schema", "spec.image", {"image": "ghcr.io/Team/w:1"}),
    Case("image-bad-digest", "schema", "spec.image", {"image": "ghcr.io/x/w@sha256:xyz"}),
    Case("image-too-long", "schema", "spec.image", {"image": "r/" + "a" * 600}),
    # --- workloads
    Case("workloads-missing", "schema", "spec.workloads", delete=("workloads",)),
    Case("workloads-empty", "schema", "spec.workloads", {"workloads": []}),
    Case("workloads-not-a-list", "schema", "spec.workloads", {"workloads": "gemm_throughput"}),
    Case("workload-name-upper", "schema", f"{W0}.name", {"workloads": [{"name": "Gemm"}]}),
    Case("workload-name-missing", "schema", f"{W0}.name", {"workloads": [{"repetitions": 3}]}),
    Case(
        "workload-duplicate",
        "schema",
        "spec.workloads[1]",
        {"workloads": [{"name": "determinism"}, {"name": "determinism"}]},
    ),
    Case(
        "workloads-too-many",
        "schema",
        "spec.workloads",
        {"workloads": [{"name": f"w{chr(97 + i // 26)}{chr(97 + i % 26)}"} for i in range(33)]},
    ),
    Case("workload-repetitions-0", "schema", f"{W0}.repetitions", gemm(repetitions=0)),
    Case("workload-repetitions-string", "schema", f"{W0}.repetitions", gemm(repetitions="3")),
    Case(
        "workload-parameters-removed",
        "unknown",
        f"{W0}.parameters",
        gemm(parameters={"n": "1024"}),
    ),
    # --- metric overrides
    Case("override-name-missing", "schema", f"{M0}.name", gemm({"tolerancePercent": 5})),
    Case("override-name-spaces", "schema", f"{M0}.name", gemm({"name": "a b", "ignore": True})),
    Case(
        "override-tolerance-0",
        "cel",
        f"{M0}.tolerancePercent",
        gemm({"name": "gflops_fp32", "tolerancePercent": 0}),
    ),
    Case(
        "override-tolerance-500",
        "cel",
        f"{M0}.tolerancePercent",
        gemm({"name": "gflops_fp32", "tolerancePercent": 500}),
    ),
    Case(
        "override-tolerance-negative",
        "cel",
        f"{M0}.tolerancePercent",
        gemm({"name": "gflops_fp32", "tolerancePercent": -5}),
    ),
    Case(
        "override-tolerance-string-0",
        "cel",
        f"{M0}.tolerancePercent",
        gemm({"name": "gflops_fp32", "tolerancePercent": "0"}),
    ),
    Case(
        "override-tolerance-string-100.5",
        "cel",
        f"{M0}.tolerancePercent",
        gemm({"name": "gflops_fp32", "tolerancePercent": "100.5"}),
    ),
    Case(
        "override-tolerance-text",
        "schema",
        f"{M0}.tolerancePercent",
        gemm({"name": "gflops_fp32", "tolerancePercent": "five"}),
    ),
    Case(
        "override-tolerance-float",
        "schema",
        f"{M0}.tolerancePercent",
        gemm({"name": "gflops_fp32", "tolerancePercent": 2.5}),
    ),
    Case(
        "override-error-factor-0",
        "cel",
        f"{M0}.errorFactor",
        gemm({"name": "gflops_fp32", "errorFactor": 0}),
    ),
    Case(
        "override-error-factor-11",
        "cel",
        f"{M0}.errorFactor",
        gemm({"name": "gflops_fp32", "errorFactor": 11}),
    ),
    Case(
        "override-error-factor-half",
        "cel",
        f"{M0}.errorFactor",
        gemm({"name": "gflops_fp32", "errorFactor": "0.5"}),
    ),
    Case("override-sets-nothing", "cel", M0, gemm({"name": "gflops_fp32"})),
    Case(
        "override-ignore-string",
        "schema",
        f"{M0}.ignore",
        gemm({"name": "gflops_fp32", "ignore": "yes"}),
    ),
    Case(
        "override-duplicate",
        "schema",
        f"{W0}.metrics[1]",
        gemm(
            {"name": "gflops_fp32", "ignore": True}, {"name": "gflops_fp32", "tolerancePercent": 5}
        ),
    ),
    # --- sampling
    Case("replicates-1", "cel", "spec.sampling.replicates", {"sampling": {"replicates": 1}}),
    Case("replicates-2", "cel", "spec.sampling.replicates", {"sampling": {"replicates": 2}}),
    Case(
        "replicates-negative",
        "schema",
        "spec.sampling.replicates",
        {"sampling": {"replicates": -1}},
    ),
    Case("replicates-201", "schema", "spec.sampling.replicates", {"sampling": {"replicates": 201}}),
    Case("repetitions-0", "schema", "spec.sampling.repetitions", {"sampling": {"repetitions": 0}}),
    Case("mode-unknown", "schema", "spec.sampling.mode", {"sampling": {"mode": "adaptive"}}),
    Case("max-samples-2", "schema", "spec.sampling.maxSamples", {"sampling": {"maxSamples": 2}}),
    Case(
        "plan-over-max-samples",
        "cel",
        "spec.sampling.replicates",
        {"sampling": {"replicates": 20, "repetitions": 3, "maxSamples": 30}},
    ),
    # --- statistics
    Case("confidence-float", "schema", f"{STATS}.confidence", {"statistics": {"confidence": 0.95}}),
    Case("confidence-0.5", "cel", f"{STATS}.confidence", {"statistics": {"confidence": "0.5"}}),
    Case("confidence-1", "cel", f"{STATS}.confidence", {"statistics": {"confidence": "1"}}),
    Case("confidence-integer", "cel", f"{STATS}.confidence", {"statistics": {"confidence": 1}}),
    Case(
        "confidence-percent", "schema", f"{STATS}.confidence", {"statistics": {"confidence": "95%"}}
    ),
    Case(
        "tolerance-0", "cel", f"{STATS}.tolerancePercent", {"statistics": {"tolerancePercent": 0}}
    ),
    Case(
        "tolerance-101",
        "cel",
        f"{STATS}.tolerancePercent",
        {"statistics": {"tolerancePercent": 101}},
    ),
    Case(
        "tolerance-500",
        "cel",
        f"{STATS}.tolerancePercent",
        {"statistics": {"tolerancePercent": 500}},
    ),
    Case(
        "tolerance-negative",
        "cel",
        f"{STATS}.tolerancePercent",
        {"statistics": {"tolerancePercent": -5}},
    ),
    Case(
        "tolerance-string-0.0",
        "cel",
        f"{STATS}.tolerancePercent",
        {"statistics": {"tolerancePercent": "0.0"}},
    ),
    Case("error-factor-0", "cel", f"{STATS}.errorFactor", {"statistics": {"errorFactor": 0}}),
    Case("error-factor-20", "cel", f"{STATS}.errorFactor", {"statistics": {"errorFactor": "20"}}),
    # --- node selection and platform
    Case("node-selector-bool", "schema", "spec.nodeSelector.gpu", {"nodeSelector": {"gpu": True}}),
    Case(
        "node-selector-value-space",
        "schema",
        "spec.nodeSelector.pool",
        {"nodeSelector": {"pool": "a b"}},
    ),
    Case(
        "node-selector-value-64",
        "schema",
        "spec.nodeSelector.pool",
        {"nodeSelector": {"pool": "a" * 64}},
    ),
    Case("node-selector-key-bad", "cel", "spec.nodeSelector", {"nodeSelector": {"bad key!": "x"}}),
    Case(
        "use-defaults-string",
        "schema",
        "spec.platform.useDefaults",
        {"platform": {"useDefaults": "yes"}},
    ),
    Case(
        "platform-label-bad",
        "schema",
        "spec.platform.labels[0]",
        {"platform": {"labels": ["not a key!"]}},
    ),
    Case(
        "node-info-field-unknown",
        "schema",
        "spec.platform.nodeInfoFields[0]",
        {"platform": {"nodeInfoFields": ["kernel"]}},
    ),
    Case(
        "node-info-field-duplicate",
        "schema",
        "spec.platform.nodeInfoFields[1]",
        {"platform": {"nodeInfoFields": ["osImage", "osImage"]}},
    ),
    Case(
        "settle-too-long",
        "schema",
        "spec.platform.settleSeconds",
        {"platform": {"settleSeconds": 3601}},
    ),
    # --- triggers, baseline
    Case("period-10s", "cel", "spec.triggers.periodSeconds", {"triggers": {"periodSeconds": 10}}),
    Case(
        "period-negative",
        "schema",
        "spec.triggers.periodSeconds",
        {"triggers": {"periodSeconds": -1}},
    ),
    Case(
        "trigger-string",
        "schema",
        "spec.triggers.newPlatform",
        {"triggers": {"newPlatform": "yes"}},
    ),
    Case(
        "baseline-policy-unknown",
        "schema",
        "spec.baseline.policy",
        {"baseline": {"policy": "Newest"}},
    ),
    Case(
        "baseline-explicit-no-name",
        "cel",
        "spec.baseline.name",
        {"baseline": {"policy": "Explicit"}},
    ),
    Case(
        "baseline-name-bad",
        "schema",
        "spec.baseline.name",
        {"baseline": {"policy": "Explicit", "name": "Bad_Name"}},
    ),
    # --- job template: resources
    Case("quantity-words", "schema", f"{JT}.resources.requests.cpu", res({"cpu": "1 core"})),
    Case("quantity-float", "schema", f"{JT}.resources.limits.cpu", res(None, {"cpu": 0.5})),
    Case("requests-over-limits-cpu", "cel", f"{JT}.resources", res({"cpu": "2"}, {"cpu": "1"})),
    Case(
        "requests-over-limits-memory",
        "cel",
        f"{JT}.resources",
        res({"memory": "2Gi"}, {"memory": "1Gi"}),
    ),
    Case("gpu-request-without-limit", "cel", f"{JT}.resources", res({"nvidia.com/gpu": 1}, {})),
    Case(
        "gpu-request-not-limit",
        "cel",
        f"{JT}.resources",
        res({"nvidia.com/gpu": 1}, {"nvidia.com/gpu": 2}),
    ),
    Case("gpu-fraction", "cel", f"{JT}.resources", res(None, {"nvidia.com/gpu": "500m"})),
    Case("resource-name-unqualified", "cel", f"{JT}.resources.limits", res(None, {"gpu": 1})),
    Case("quantity-negative", "cel", f"{JT}.resources.requests", res({"cpu": "-1"})),
    Case(
        "resources-unknown-key", "unknown", f"{JT}.resources.claims", job(resources={"claims": []})
    ),
    # --- job template: scheduling, identity, env, security, lifetimes
    Case(
        "toleration-operator-unknown",
        "schema",
        f"{JT}.tolerations[0].operator",
        tol(key="k", operator="Maybe"),
    ),
    Case(
        "toleration-exists-with-value",
        "cel",
        f"{JT}.tolerations[0]",
        tol(key="k", operator="Exists", value="v"),
    ),
    Case(
        "toleration-no-key-equal", "cel", f"{JT}.tolerations[0]", tol(operator="Equal", value="v")
    ),
    Case(
        "toleration-seconds-no-execute",
        "cel",
        f"{JT}.tolerations[0]",
        tol(key="k", effect="NoSchedule", tolerationSeconds=60),
    ),
    Case(
        "toleration-effect-unknown",
        "schema",
        f"{JT}.tolerations[0].effect",
        tol(key="k", effect="Sometimes"),
    ),
    Case(
        "toleration-key-bad",
        "schema",
        f"{JT}.tolerations[0].key",
        tol(key="bad key", operator="Exists"),
    ),
    Case(
        "runtime-class-bad", "schema", f"{JT}.runtimeClassName", job(runtimeClassName="Nvidia_GPU")
    ),
    Case(
        "priority-class-bad",
        "schema",
        f"{JT}.priorityClassName",
        job(priorityClassName="High Priority"),
    ),
    Case(
        "service-account-bad", "schema", f"{JT}.serviceAccountName", job(serviceAccountName="SA!")
    ),
    Case(
        "pull-policy-unknown", "schema", f"{JT}.imagePullPolicy", job(imagePullPolicy="Sometimes")
    ),
    Case("env-name-digit", "schema", f"{JT}.env[0].name", job(env=[{"name": "1BAD"}])),
    Case(
        "env-pod-name-reserved",
        "cel",
        f"{JT}.env[0].name",
        job(env=[{"name": "POD_NAME", "value": "x"}]),
    ),
    Case(
        "env-home-reserved",
        "cel",
        f"{JT}.env[0].name",
        job(env=[{"name": "HOME", "value": "/root"}]),
    ),
    Case(
        "env-duplicate",
        "schema",
        f"{JT}.env[1]",
        job(env=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
    ),
    Case(
        "env-value-too-long",
        "schema",
        f"{JT}.env[0].value",
        job(env=[{"name": "A", "value": "x" * 5000}]),
    ),
    Case(
        "privileged-non-root",
        "cel",
        f"{JT}.securityContext.privileged",
        job(securityContext={"privileged": True}),
    ),
    Case(
        "root-uid-non-root",
        "cel",
        f"{JT}.securityContext.runAsUser",
        job(securityContext={"runAsUser": 0}),
    ),
    Case(
        "capability-lower-case",
        "schema",
        f"{JT}.securityContext.addCapabilities[0]",
        job(securityContext={"addCapabilities": ["sys_admin"]}),
    ),
    Case("backoff-11", "schema", f"{JT}.backoffLimit", job(backoffLimit=11)),
    Case("ttl-0", "schema", f"{JT}.ttlSecondsAfterFinished", job(ttlSecondsAfterFinished=0)),
    Case("ttl-60", "schema", f"{JT}.ttlSecondsAfterFinished", job(ttlSecondsAfterFinished=60)),
    # --- limits of the run
    Case("nodes-per-platform-0", "schema", "spec.nodesPerPlatform", {"nodesPerPlatform": 0}),
    Case("concurrency-65", "schema", "spec.concurrency", {"concurrency": 65}),
    Case("timeout-10s", "schema", "spec.timeoutSeconds", {"timeoutSeconds": 10}),
    Case("timeout-float", "schema", "spec.timeoutSeconds", {"timeoutSeconds": 1.5}),
    Case("history-0", "schema", "spec.historyLimit", {"historyLimit": 0}),
    Case("gating-no-execute", "schema", "spec.gating.effect", {"gating": {"effect": "NoExecute"}}),
    Case(
        "gating-taint-key-bad",
        "schema",
        "spec.gating.taintKey",
        {"gating": {"taintKey": "not a key"}},
    ),
    Case("gating-enabled-string", "schema", "spec.gating.enabled", {"gating": {"enabled": "yes"}}),
    Case("spec-unknown-field", "unknown", "spec.tolerancePercent", {"tolerancePercent": 3}),
    # --- only the operator knows
    Case(
        "workload-typo",
        "operator",
        f"{W0}.name",
        {"workloads": [{"name": "gemm_througput"}]},
    ),
    Case(
        "override-metric-typo",
        "operator",
        f"{M0}.name",
        gemm({"name": "gflop_fp32", "ignore": True}),
    ),
    Case(
        "override-other-workloads-metric",
        "operator",
        f"{M0}.name",
        gemm({"name": "final_loss", "tolerancePercent": 5}),
    ),
    Case(
        "explicit-baseline-missing",
        "operator",
        "spec.baseline.name",
        {"baseline": {"policy": "Explicit", "name": "no-such-baseline"}},
        local=False,
    ),
)

GOOD: tuple[Case, ...] = (
    Case("name-63-chars", "schema", "", metadata={"name": "a" * 62 + "z"}),
    Case("tolerance-100", "schema", "", {"statistics": {"tolerancePercent": 100}}),
    Case("tolerance-0.01", "schema", "", {"statistics": {"tolerancePercent": "0.01"}}),
    Case(
        "override-tolerance-100",
        "schema",
        "",
        gemm({"name": "gflops_fp32", "tolerancePercent": "100"}),
    ),
    Case("error-factor-10", "schema", "", {"statistics": {"errorFactor": 10}}),
    Case("error-factor-1", "schema", "", {"statistics": {"errorFactor": "1"}}),
    Case("confidence-0.8", "schema", "", {"statistics": {"confidence": "0.8"}}),
    Case("confidence-0.9999", "schema", "", {"statistics": {"confidence": "0.9999"}}),
    Case("replicates-0", "schema", "", {"sampling": {"replicates": 0}}),
    Case("replicates-3", "schema", "", {"sampling": {"replicates": 3, "repetitions": 10}}),
    Case("ttl-300", "schema", "", job(ttlSecondsAfterFinished=300)),
    Case(
        "requests-equal-limits",
        "schema",
        "",
        res({"cpu": "1000m", "memory": "1Gi"}, {"cpu": "1", "memory": "1024Mi"}),
    ),
    Case(
        "gpu-requests-equal-limits",
        "schema",
        "",
        res({"nvidia.com/gpu": 1}, {"nvidia.com/gpu": "1"}),
    ),
    Case(
        "image-by-digest", "schema", "", {"image": "ghcr.io/benchgate/workload@sha256:" + "a" * 64}
    ),
    Case(
        "image-registry-port",
        "schema",
        "",
        {"image": "registry.local:5000/bench/workload:v1.2.3-rc.1"},
    ),
    Case(
        "override-gpu-metric",
        "schema",
        "",
        gemm({"name": "gflops_bf16_8192", "tolerancePercent": 5}),
    ),
    Case("toleration-exists-all", "schema", "", tol(operator="Exists")),
)
