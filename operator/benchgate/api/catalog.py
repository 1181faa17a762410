"""What the verification image can run: the workload catalog, and the suite checks that
need it (no schema can know which workloads an image has).

`workload_catalog.json` is generated from the one definition of the built-in workload set
(`benchgate_workloads.registry`, printed by `benchgate-workload list --json --builtin`;
regenerate with `make catalog`, a test checks it is current). It describes the built-in
workloads of benchgate's workload image of the same version. `benchgate run` reads the
same catalog from the installation it runs on (`benchgate-workload list --json`, with
the installed plugins: `Catalog.from_json`).

The rule for a suite's workloads, by kind (`spec.workloads[]`):
- built-in (no `plugin`, no `image`): its name must be in the catalog and each metric
  override must match one of its metric patterns (a typo must not become a Job that
  fails);
- plugin (`plugin: true`): the operator cannot see an image's plugins, so only a clash
  with a built-in name is refused; where the catalog knows the installed plugins
  (`benchgate run`), the plugin must be installed and overrides must match its
  declared metrics;
- any-image (`image` + `command`): checked against what it declares, not against this
  catalog: the name must not be a built-in's, and its requests must not exceed its limits
  (a check the CRD leaves to here, to keep the API server's CEL cost budget).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from benchgate.api import quantity
from benchgate.api.structural import Cause
from benchgate.api.suite import SuiteSpec, WorkloadSpec

CATALOG_FILE: Final = Path(__file__).with_name("workload_catalog.json")


@dataclass(frozen=True)
class Catalog:
    workloads: Mapping[str, tuple[str, ...]]  # name -> metric name patterns (whole match)
    plugins: frozenset[str] = frozenset()  # which of `workloads` are plugins
    # Whether this catalog knows the installed plugins (an installation's own listing)
    # or not (the catalog the operator ships: built-ins only).
    knows_plugins: bool = False
    problems: tuple[str, ...] = ()  # plugins that are installed but broken, in words

    def reports(self, workload: str, metric: str) -> bool:
        return any(re.fullmatch(p, metric) for p in self.workloads.get(workload, ()))

    @property
    def builtins(self) -> frozenset[str]:
        return frozenset(self.workloads) - self.plugins

    @staticmethod
    def from_json(raw: Mapping[str, Any]) -> Catalog:
        """Read `benchgate-workload list --json [--builtin]` output."""
        workloads = {w["name"]: tuple(w["metrics"]) for w in raw["workloads"]}
        plugins = frozenset(w["name"] for w in raw["workloads"] if w.get("source") == "plugin")
        problems = tuple(
            f"{p['workload']}: {p['type']}: {p['message']}" for p in raw.get("problems") or ()
        )
        return Catalog(workloads, plugins, "problems" in raw, problems)


@functools.cache
def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    return Catalog.from_json(json.loads(path.read_text()))


def catalog_causes(suite: SuiteSpec, catalog: Catalog | None = None) -> list[Cause]:
    """Workloads the image does not have and metric overrides no workload reports; each
    names its field, the value and what would be valid."""
    catalog = catalog or load_catalog()
    known = sorted(catalog.builtins)
    causes: list[Cause] = []
    for i, workload in enumerate(suite.workloads):
        field = f"spec.workloads[{i}]"
        if not workload.builtin:
            causes += _own_code_causes(workload, field, catalog)
            if not (workload.plugin and workload.name in catalog.plugins):
                continue  # overrides of what the catalog cannot see are not checked
        elif workload.name not in catalog.builtins:
            supported = ", ".join(f'"{n}"' for n in known)
            hint = (
                f'; "{workload.name}" is an installed plugin: set plugin: true'
                if workload.name in catalog.plugins
                else "; a plugin of your verification image needs plugin: true"
            )
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    f"{field}.name",
                    f'Unsupported value: "{workload.name}": not a workload of the '
                    f"verification image; supported values: {supported}{hint}",
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


def _own_code_causes(workload: WorkloadSpec, field: str, catalog: Catalog) -> list[Cause]:
    """A plugin or any-image workload: what can be checked without its code."""
    what = "a plugin" if workload.plugin else "an any-image workload"
    causes: list[Cause] = []
    if workload.name in catalog.builtins:
        causes.append(
            Cause(
                "FieldValueInvalid",
                f"{field}.name",
                f'Invalid value: "{workload.name}": {what} may not take the name of a '
                "built-in workload (its metrics would be judged against the built-in's "
                "baseline); rename it",
            )
        )
    elif workload.plugin and catalog.knows_plugins and workload.name not in catalog.plugins:
        installed = ", ".join(sorted(catalog.plugins)) or "none"
        broken = [p for p in catalog.problems if p.startswith(f"{workload.name}: ")]
        causes.append(
            Cause(
                "FieldValueNotSupported",
                f"{field}.name",
                f'Unsupported value: "{workload.name}": '
                + (broken[0] if broken else f"no installed plugin; installed plugins: {installed}"),
            )
        )
    if workload.container is not None:
        causes += _resource_causes(workload.container.resources, f"{field}.resources")
    return causes


def _resource_causes(resources: Mapping[str, Mapping[str, Any]], field: str) -> list[Cause]:
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    causes = []
    for name, value in requests.items():
        if name not in limits:
            if "/" in name:
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        f"{field}.limits",
                        f"Invalid value: an extended resource such as {name} needs a limit, "
                        "and its request must equal it",
                    )
                )
            continue
        try:
            request, limit = quantity.of(value), quantity.of(limits[name])
        except quantity.QuantityError as exc:
            causes.append(Cause("FieldValueInvalid", f"{field}.requests.{name}", str(exc)))
            continue
        if request > limit or ("/" in name and request != limit):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"{field}.requests.{name}",
                    f'Invalid value: "{value}": must be less than or equal to {name} limit of '
                    f"{limits[name]}"
                    + (
                        " (an extended resource's request must equal its limit)"
                        if "/" in name
                        else ""
                    ),
                )
            )
    return causes


def _patterns(patterns: Sequence[str]) -> str:
    return ", ".join(patterns)
