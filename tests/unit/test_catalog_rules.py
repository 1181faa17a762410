"""The catalog rule for a suite's workloads, by kind: built-in, plugin, any-image."""

from __future__ import annotations

from typing import Any

import yaml

from benchgate.api.catalog import Catalog, catalog_causes, load_catalog
from benchgate.api.suite import parse_suite

SUITE: dict[str, Any] = {
    "apiVersion": "benchgate.dev/v1alpha1",
    "kind": "RegressionSuite",
    "metadata": {"name": "s", "namespace": "ns"},
    "spec": {"image": "verify:1", "sampling": {"replicates": 3}},
}


def causes(*workloads: dict[str, Any], catalog: Catalog | None = None) -> list[str]:
    body = yaml.safe_load(yaml.safe_dump(SUITE))
    body["spec"]["workloads"] = list(workloads)
    return [f"{c.field}: {c.detail}" for c in catalog_causes(parse_suite(body), catalog)]


def shell(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", "true"], **fields}


LOCAL = Catalog.from_json(
    {
        "workloads": [
            {"name": "numerics_probe", "metrics": ["coverage"]},
            {"name": "resnet_check", "metrics": ["outputs", "step_ms"], "source": "plugin"},
        ],
        "problems": [{"workload": "broken", "type": "PluginImportError", "message": "no torch"}],
    }
)


def test_the_operator_accepts_plugins_it_cannot_see_but_not_a_built_in_name() -> None:
    assert causes({"name": "resnet_check", "plugin": True}) == []
    (clash,) = causes({"name": "gemm_throughput", "plugin": True})
    assert clash.startswith("spec.workloads[0].name:") and "name of a built-in" in clash
    (typo,) = causes({"name": "resnet_chek"})
    assert "not a workload of the verification image" in typo and "plugin: true" in typo


def test_benchgate_run_checks_plugins_against_what_is_installed() -> None:
    assert causes({"name": "resnet_check", "plugin": True}, catalog=LOCAL) == []
    (missing,) = causes({"name": "other_model", "plugin": True}, catalog=LOCAL)
    assert "installed plugins: resnet_check" in missing
    (broken,) = causes({"name": "broken", "plugin": True}, catalog=LOCAL)
    assert "PluginImportError: no torch" in broken
    (override,) = causes(
        {"name": "resnet_check", "plugin": True, "metrics": [{"name": "step", "ignore": True}]},
        catalog=LOCAL,
    )
    assert override.startswith("spec.workloads[0].metrics[0].name:") and "step_ms" in override
    (unmarked,) = causes({"name": "resnet_check"}, catalog=LOCAL)
    assert "is an installed plugin: set plugin: true" in unmarked


def test_any_image_workloads_are_checked_against_what_they_declare() -> None:
    assert causes(shell("my_probe", metrics=[{"name": "anything", "ignore": True}])) == []
    (clash,) = causes(shell("determinism"))
    assert "an any-image workload may not take the name of a built-in" in clash
    (too_much,) = causes(
        shell("my_probe", resources={"requests": {"cpu": "4"}, "limits": {"cpu": "2"}})
    )
    assert too_much.startswith("spec.workloads[0].resources.requests.cpu:")
    assert "less than or equal to cpu limit of 2" in too_much
    (gpu,) = causes(shell("my_probe", resources={"requests": {"nvidia.com/gpu": 1}}))
    assert "needs a limit" in gpu


def test_the_shipped_catalog_knows_no_plugins() -> None:
    shipped = load_catalog()
    assert not shipped.knows_plugins and not shipped.plugins
    assert "prediction_consistency" in shipped.builtins
