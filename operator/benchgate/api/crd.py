"""Names of benchgate's API objects: group, versions, plurals, label and annotation keys.

One place so that the CRDs, the controllers, the RBAC table and the tests agree.
"""

from __future__ import annotations

from typing import Final

GROUP: Final = "benchgate.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

SUITE_KIND: Final = "RegressionSuite"
SUITE_PLURAL: Final = "regressionsuites"
RUN_KIND: Final = "VerificationRun"
RUN_PLURAL: Final = "verificationruns"
BASELINE_KIND: Final = "RegressionBaseline"
BASELINE_PLURAL: Final = "regressionbaselines"

# kopf keeps its own bookkeeping (progress, last-handled) under this prefix.
ANNOTATION_PREFIX: Final = GROUP

# Labels put on every child object; selectors use them to find children after a restart.
LABEL_SUITE: Final = f"{GROUP}/suite"
LABEL_RUN: Final = f"{GROUP}/run"
LABEL_BASELINE: Final = f"{GROUP}/baseline"
LABEL_PLATFORM: Final = f"{GROUP}/platform"  # first 8 hex digits of the platform key
LABEL_HARDWARE_CLASS: Final = f"{GROUP}/hardware-class"
# A node labelled `benchgate.dev/gating=disabled` is never gated by any suite (it is
# still verified); a taint of ours it carries is taken off.
LABEL_GATING: Final = f"{GROUP}/gating"
GATING_DISABLED: Final = "disabled"
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_NAME: Final = "app.kubernetes.io/name"
LABEL_PART_OF: Final = "app.kubernetes.io/part-of"
MANAGED_BY: Final = "benchgate-operator"

# `kubectl annotate verificationrun X benchgate.dev/promote=true` promotes a passed run.
ANNOTATION_PROMOTE: Final = f"{GROUP}/promote"
# Set on a run once it has been promoted, naming the baseline (idempotence after restarts).
ANNOTATION_PROMOTED_TO: Final = f"{GROUP}/promoted-to"
# Set instead when a promotion was asked for a run that did not pass (says why).
ANNOTATION_PROMOTE_REFUSED: Final = f"{GROUP}/promote-refused"

# `benchgate verify`, or `kubectl annotate rsuite X benchgate.dev/verify="<token>
# [platform=P|node=N]"`: one manual verification request. The runs it makes are named after
# its token, and the suite's status.manualRequest records the token once handled.
ANNOTATION_VERIFY: Final = f"{GROUP}/verify"
# `benchgate accept RUN --reason ...`: make a run that did not pass a baseline on purpose.
# The reason is the request; who asked and how that was established ride along.
ANNOTATION_ACCEPT_REASON: Final = f"{GROUP}/accept-reason"
ANNOTATION_ACCEPT_BY: Final = f"{GROUP}/accept-by"
ANNOTATION_ACCEPT_IDENTITY_SOURCE: Final = f"{GROUP}/accept-identity-source"
# Set instead of promoted-to when an accept request was refused (says why).
ANNOTATION_ACCEPT_REFUSED: Final = f"{GROUP}/accept-refused"
# On a RegressionBaseline: pin it as its hardware class's anchor (slow-drift reference).
ANNOTATION_ANCHOR: Final = f"{GROUP}/anchor"
# On a RegressionBaseline: the spec hash of the run it was promoted from (what the suite
# measured). Only later runs of the same measurement become its sessions.
ANNOTATION_SPEC_HASH: Final = f"{GROUP}/spec-hash"

# Data key of the ConfigMaps holding merged result documents (runs and baselines).
RESULT_DATA_KEY: Final = "result.json"
