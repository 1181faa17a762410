"""The RegressionSuite CRD's schema: the one definition of a valid suite.

`crds/regressionsuites.yaml` is the source; the operator package ships a byte-identical
copy (`benchgate/api/crds/`, checked by tests/unit/test_crds.py) so that the operator
image and `benchgate run` validate a suite with exactly the schema `kubectl apply` is
checked against, through `benchgate.api.structural` (the API server's semantics:
pruning, defaults, OpenAPI, CEL).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from benchgate.api import crd
from benchgate.api.structural import JSON, Admission, StructuralSchema, load_version_schema

CRD_FILE: Final = Path(__file__).with_name("crds") / "regressionsuites.yaml"


@functools.cache
def suite_crd() -> JSON:
    loaded: JSON = yaml.safe_load(CRD_FILE.read_text())
    return loaded


@functools.cache
def suite_schema() -> StructuralSchema:
    return StructuralSchema(load_version_schema(suite_crd(), crd.VERSION))


def admit_suite(manifest: Mapping[str, Any]) -> tuple[JSON, Admission]:
    """A defaulted, pruned copy of the suite (apiVersion, kind, metadata, spec) and what
    the API server would say about it. Status is the operator's own and not re-checked."""
    obj = {k: copy.deepcopy(v) for k, v in manifest.items() if k != "status"}
    return obj, suite_schema().admit(obj)
