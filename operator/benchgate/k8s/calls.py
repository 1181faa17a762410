"""Every Kubernetes API call the operator makes, as (verb, group, resource, subresource).

The Helm chart's RBAC must grant exactly these (its test compares), and the wrappers in
benchgate.k8s.client only call what is declared here (`require` fails loudly otherwise).
kopf itself also needs to list/watch the watched kinds, patch them (its bookkeeping
annotations on our own CRs; never on Nodes) and create Events; those are listed too.
"""

from __future__ import annotations

from typing import Final

from benchgate.api import crd

Call = tuple[str, str, str, str]  # verb, API group ("" = core), resource, subresource

API_CALLS: Final[frozenset[Call]] = frozenset(
    {
        # kopf watches (list + watch) and the handlers' reads
        ("list", "", "nodes", ""),
        ("watch", "", "nodes", ""),
        ("list", crd.GROUP, crd.SUITE_PLURAL, ""),
        ("watch", crd.GROUP, crd.SUITE_PLURAL, ""),
        ("get", crd.GROUP, crd.SUITE_PLURAL, ""),
        ("patch", crd.GROUP, crd.SUITE_PLURAL, ""),  # kopf's bookkeeping annotations
        ("patch", crd.GROUP, crd.SUITE_PLURAL, "status"),
        ("list", crd.GROUP, crd.RUN_PLURAL, ""),
        ("watch", crd.GROUP, crd.RUN_PLURAL, ""),
        ("get", crd.GROUP, crd.RUN_PLURAL, ""),
        ("create", crd.GROUP, crd.RUN_PLURAL, ""),
        ("patch", crd.GROUP, crd.RUN_PLURAL, ""),  # promoted-to annotation, kopf bookkeeping
        ("patch", crd.GROUP, crd.RUN_PLURAL, "status"),
        ("delete", crd.GROUP, crd.RUN_PLURAL, ""),  # history limit
        ("list", crd.GROUP, crd.BASELINE_PLURAL, ""),
        ("watch", crd.GROUP, crd.BASELINE_PLURAL, ""),
        ("get", crd.GROUP, crd.BASELINE_PLURAL, ""),
        ("create", crd.GROUP, crd.BASELINE_PLURAL, ""),
        ("patch", crd.GROUP, crd.BASELINE_PLURAL, ""),
        ("patch", crd.GROUP, crd.BASELINE_PLURAL, "status"),
        # verification Jobs and their pods
        ("create", "batch", "jobs", ""),
        ("get", "batch", "jobs", ""),  # read back by name when create answers 409
        ("list", "batch", "jobs", ""),
        ("list", "", "pods", ""),
        ("get", "", "pods", "log"),
        # raw samples
        ("create", "", "configmaps", ""),
        ("get", "", "configmaps", ""),
        # Events (kopf.info / kopf.warn post core/v1 Events)
        ("create", "", "events", ""),
        # kopf watches CRDs to notice when the watched kinds appear or go away
        ("list", "apiextensions.k8s.io", "customresourcedefinitions", ""),
        ("watch", "apiextensions.k8s.io", "customresourcedefinitions", ""),
    }
)


# Only with spec.gating in a suite, and granted only by the chart's gating.enabled=true:
# read a node fresh and replace its taints (never anything else on a Node).
GATING_CALLS: Final[frozenset[Call]] = frozenset(
    {
        ("get", "", "nodes", ""),
        ("patch", "", "nodes", ""),
    }
)


def require(verb: str, group: str, resource: str, subresource: str = "") -> None:
    if (verb, group, resource, subresource) not in API_CALLS | GATING_CALLS:
        raise RuntimeError(
            f"undeclared API call {verb} {group or 'core'}/{resource}"
            f"{'/' + subresource if subresource else ''}: add it to API_CALLS and to the "
            "chart's RBAC"
        )
