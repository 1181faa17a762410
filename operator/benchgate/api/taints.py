"""Taint keys benchgate never manages: the one list, used by the CRD and the operator.

A gating suite adds and removes its own taint on nodes. A key that Kubernetes, a device
plugin, a cloud provider or an autoscaler already uses for its own taints (for example
the `nvidia.com/gpu=present:NoSchedule` taint of a GPU node pool) would make benchgate
overwrite, then remove, a taint it does not own. Such keys are refused:

- by the CRD: `spec.gating.taintKey` carries a CEL rule generated from this module
  (`cel_rule()`; tests/unit/test_taints.py checks the CRD holds exactly that rule);
- by the operator (`reserved()`), before any Node write, for suites stored before the
  rule existed (Helm does not upgrade CRDs).

A key is reserved when its prefix (the part before "/") is one of RESERVED_DOMAINS or a
subdomain of one, or when it is one of RESERVED_KEYS (keys without a prefix that
autoscalers use). docs/gating.md lists them for users.
"""

from __future__ import annotations

import re
from typing import Final

# Domains whose owners put taints on nodes (with every subdomain).
RESERVED_DOMAINS: Final[tuple[str, ...]] = (
    # Kubernetes itself: node.kubernetes.io/not-ready, node-role.kubernetes.io/control-plane,
    # node.cloudprovider.kubernetes.io/uninitialized, ...; *.k8s.io is reserved likewise.
    "kubernetes.io",
    "k8s.io",
    # device plugins and accelerator operators: nvidia.com/gpu, amd.com/gpu,
    # gpu.intel.com/i915, habana.ai/gaudi, aws.amazon.com/neuron, google.com/tpu
    "nvidia.com",
    "amd.com",
    "intel.com",
    "habana.ai",
    # cloud providers' node pools: cloud.google.com/gke-spot, eks.amazonaws.com/...,
    # kubernetes.azure.com/scalesetpriority, karpenter.k8s.aws/...
    "google.com",
    "amazon.com",
    "amazonaws.com",
    "k8s.aws",
    "azure.com",
    "oraclecloud.com",
    # autoscalers and CNI agents: karpenter.sh/disrupted, node.cilium.io/agent-not-ready
    "karpenter.sh",
    "cilium.io",
)
# Keys without a prefix that the cluster autoscaler puts on nodes it scales down.
RESERVED_KEYS: Final[tuple[str, ...]] = (
    "ToBeDeletedByClusterAutoscaler",
    "DeletionCandidateOfClusterAutoscaler",
)


def pattern() -> str:
    """One regular expression (RE2 and Python alike) matching every reserved key."""
    domains = "|".join(re.escape(d) for d in RESERVED_DOMAINS)
    keys = "|".join(re.escape(k) for k in RESERVED_KEYS)
    return rf"^(([a-z0-9-]+\.)*({domains})/.*|({keys}))$"


_RESERVED: Final = re.compile(pattern())


def reserved(key: str) -> bool:
    """True when `key` belongs to Kubernetes or a well-known vendor (see the docstring)."""
    return _RESERVED.match(key) is not None


def cel_rule() -> str:
    """The CEL rule on spec.gating.taintKey that refuses reserved keys."""
    escaped = pattern().replace("\\", "\\\\")
    return f"!self.matches('{escaped}')"


CEL_MESSAGE: Final = (
    "taintKey belongs to Kubernetes or a vendor (e.g. nvidia.com/gpu, node.kubernetes.io/*, "
    "karpenter.sh/*): benchgate would overwrite, then remove, taints it does not own; use a "
    "key of your own such as benchgate.dev/unverified"
)
