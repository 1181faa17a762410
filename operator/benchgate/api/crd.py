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

# Data key of the ConfigMaps holding merged result documents (runs and baselines).
RESULT_DATA_KEY: Final = "result.json"
