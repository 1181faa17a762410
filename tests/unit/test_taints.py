"""The reserved taint keys: one list, refused alike by the CRD's CEL rule and the operator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from celpy.adapter import json_to_cel

from benchgate.api import taints

ROOT = Path(__file__).resolve().parents[2]

RESERVED = [
    "nvidia.com/gpu",
    "nvidia.com/mig-1g.10gb",
    "amd.com/gpu",
    "gpu.intel.com/i915",
    "habana.ai/gaudi",
    "aws.amazon.com/neuron",
    "google.com/tpu",
    "cloud.google.com/gke-spot",
    "eks.amazonaws.com/compute-type",
    "kubernetes.azure.com/scalesetpriority",
    "karpenter.sh/disrupted",
    "karpenter.k8s.aws/instance-family",
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unschedulable",
    "node-role.kubernetes.io/control-plane",
    "node.cloudprovider.kubernetes.io/uninitialized",
    "kubernetes.io/arch",
    "node.cilium.io/agent-not-ready",
    "ToBeDeletedByClusterAutoscaler",
    "DeletionCandidateOfClusterAutoscaler",
]
ALLOWED = [
    "benchgate.dev/unverified",
    "example.com/gpu-verified",
    "notnvidia.com/gpu",  # a different domain that merely ends in the same letters
    "nvidia.com.example.org/gpu",
    "unverified",
    "team-a.benchgate.dev/gate",
]


def cel_accepts(key: str) -> bool:
    """Evaluate the CRD's rule as the API server would (cel-python: standard CEL)."""
    env = celpy.Environment()
    program = env.program(env.compile(taints.cel_rule()))
    return bool(program.evaluate({"self": json_to_cel(key)}))


def taint_key_schema() -> dict[str, Any]:
    crd = yaml.safe_load((ROOT / "crds/regressionsuites.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return dict(spec["properties"]["gating"]["properties"]["taintKey"])


def test_the_crd_rule_is_generated_from_the_one_list() -> None:
    (rule,) = taint_key_schema()["x-kubernetes-validations"]
    assert rule["rule"] == taints.cel_rule(), (
        "crds/regressionsuites.yaml's rule on spec.gating.taintKey is not taints.cel_rule(): "
        "paste the new rule (python -c 'from benchgate.api.taints import cel_rule; "
        "print(cel_rule())') into both CRD copies"
    )
    assert rule["message"] == taints.CEL_MESSAGE
    assert rule["reason"] == "FieldValueForbidden"


@pytest.mark.parametrize("key", RESERVED)
def test_reserved_keys_are_refused_by_the_operator_and_the_cel_rule(key: str) -> None:
    assert taints.reserved(key), key
    assert not cel_accepts(key), f"the CRD would accept {key}"


@pytest.mark.parametrize("key", ALLOWED)
def test_keys_of_your_own_are_accepted_by_both(key: str) -> None:
    assert not taints.reserved(key), key
    assert cel_accepts(key), f"the CRD would refuse {key}"


def test_the_default_key_is_not_reserved() -> None:
    assert taint_key_schema()["default"] == "benchgate.dev/unverified"
    assert not taints.reserved(taint_key_schema()["default"])
