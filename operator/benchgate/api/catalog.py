"""What the verification image can run: the workload catalog, and the suite checks that
need it (no schema can know which workloads an image has).

`workload_catalog.json` is generated from the one definition of the workload set
(`benchgate_workloads.registry`, printed by `benchgate-workload list --json`; regenerate
with `make catalog`, a test checks it is current). It describes the built-in workloads of
benchgate's workload image of the same version.

The rule for names the catalog does not know: every entry of `spec.workloads` names a
built-in workload today, so an unknown name is refused (a typo must not become a Job
that fails). A later kind of workload that brings its own code (a plugin, any image that
prints a result document) will be declared by a field of its own and checked against
what it declares, not against this catalog.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from benchgate.api.structural import Cause
from benchgate.api.suite import SuiteSpec

CATALOG_FILE: Final = Path(__file__).with_name("workload_catalog.json")


@dataclass(frozen=True)
class Catalog:
    workloads: Mapping[str, tuple[str, ...]]  # name -> metric name patterns (whole match)

    def reports(self, workload: str, metric: str) -> bool:
        return any(re.fullmatch(p, metric) for p in self.workloads.get(workload, ()))


@functools.cache
def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    raw = json.loads(path.read_text())
    return Catalog({w["name"]: tuple(w["metrics"]) for w in raw["workloads"]})


def catalog_causes(suite: SuiteSpec, catalog: Catalog | None = None) -> list[Cause]:
    """Workloads the image does not have and metric overrides no workload reports; each
    names its field, the value and what would be valid."""
    catalog = catalog or load_catalog()
    known = sorted(catalog.workloads)
    causes: list[Cause] = []
    for i, workload in enumerate(suite.workloads):
        if workload.name not in catalog.workloads:
            supported = ", ".join(f'"{n}"' for n in known)
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    f"spec.workloads[{i}].name",
                    f'Unsupported value: "{workload.name}": not a workload of the '
                    f"verification image; supported values: {supported}",
                )
            )
            continue
        for j, override in enumerate(workload.metrics):
            if catalog.reports(workload.name, override.name):
                continue
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"spec.workloads[{i}].metrics[{j}].name",
                    f'Invalid value: "{override.name}": {workload.name} reports no such '
                    f"metric; its metrics match {_patterns(catalog.workloads[workload.name])}",
                )
            )
    return causes


def _patterns(patterns: Sequence[str]) -> str:
    return ", ".join(patterns)
