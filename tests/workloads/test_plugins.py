"""Workload plugins: installed with pip, listed without torch, run and reported like
built-ins; what can go wrong with a plugin fails that workload and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchgate.api.result import document_to_dict, loads

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def env_with(*paths: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="module")
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example package, installed by pip into a directory of its own (the shared
    virtual environment is left alone)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT / "examples" / "plugin"),
        ],
        check=True,
        timeout=300,
    )
    return target


def fake_dist(site: Path, name: str, entry_points: dict[str, str]) -> None:
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[benchgate.workloads]\n{lines}\n")


FAKE_MODULE = """
from benchgate_workloads.api import WorkloadDef, exact

def _raise(ctx):
    raise RuntimeError("the plugin's own bug")

def _undeclared(ctx):
    return [exact(ctx, "surprise", 1, unit="1", description="not declared")]

def _ok(ctx):
    return [exact(ctx, "answer", 42, unit="1", description="a constant")]

CLASH = WorkloadDef(name="determinism", run="fakeplug:_ok", metrics=("answer",))
DUP = WorkloadDef(name="dup_workload", run="fakeplug:_ok", metrics=("answer",))
RAISES = WorkloadDef(name="raising_workload", run="fakeplug:_raise", metrics=("answer",))
UNDECLARED = WorkloadDef(name="undeclared_metric", run="fakeplug:_undeclared", metrics=("answer",))
LAZY_BROKEN = WorkloadDef(name="lazy_broken", run="fakeplug_missing_module:run", metrics=("a",))
OLD_API = WorkloadDef(name="future_api", run="fakeplug:_ok", metrics=("answer",), api_version=9)
NOT_A_DEF = 42
"""


@pytest.fixture(scope="module")
def broken_plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("broken-site")
    (site / "fakeplug.py").write_text(FAKE_MODULE)
    fake_dist(
        site,
        "fakeplug",
        {
            "determinism": "fakeplug:CLASH",
            "dup_workload": "fakeplug:DUP",
            "raising_workload": "fakeplug:RAISES",
            "undeclared_metric": "fakeplug:UNDECLARED",
            "lazy_broken": "fakeplug:LAZY_BROKEN",
            "future_api": "fakeplug:OLD_API",
            "not_a_def": "fakeplug:NOT_A_DEF",
            "import_error": "fakeplug_does_not_exist:WORKLOAD",
        },
    )
    fake_dist(site, "fakeplug2", {"dup_workload": "fakeplug:DUP"})
    return site


def run(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)


def test_an_installed_plugin_is_listed_without_importing_torch(example_plugin: Path) -> None:
    probe = (
        "import sys; from benchgate_workloads.entrypoint import main; main(['list']); "
        "main(['list', '--json']); print('TORCH', 'torch' in sys.modules)"
    )
    out = run([sys.executable, "-c", probe], env_with(example_plugin))
    assert out.returncode == 0, out.stderr
    assert "example_classifier\tplugin (benchgate-example-plugin 0.1.0)" in out.stdout
    assert "TORCH False" in out.stdout, "listing imported torch"
    listing = run([str(BIN / "benchgate"), "run", "--list"], env_with(example_plugin))
    assert "example_classifier" in listing.stdout and "prediction_consistency" in listing.stdout


def test_the_plugin_runs_under_benchgate_run_with_the_fingerprint(
    example_plugin: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "plugin.json"
    done = run(
        [
            str(BIN / "benchgate"),
            "run",
            str(ROOT / "examples" / "plugin" / "suite.yaml"),
            "--replicates",
            "3",
            "--out",
            str(out_file),
        ],
        env_with(example_plugin),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    doc = loads(out_file.read_text())
    workload = doc.workload("example_classifier")
    assert workload is not None and workload.status == "ok", workload
    names = {m.name for m in workload.metrics}
    assert {"final_loss", "train_step_ms", "samples_per_s", "outputs"} <= names, names
    outputs = workload.metric("outputs")
    assert outputs is not None and outputs.kind == "distribution"
    assert outputs.replicates == ["proc-0", "proc-1", "proc-2"]
    assert doc.fingerprint and "torch" in json.dumps(document_to_dict(doc)["fingerprint"])
    assert doc.schema_version == "benchgate.dev/result/v2"


def test_a_suite_is_checked_against_the_installed_plugins(
    example_plugin: Path, tmp_path: Path
) -> None:
    suite = (ROOT / "examples" / "plugin" / "suite.yaml").read_text()
    missing = tmp_path / "missing.yaml"
    missing.write_text(suite.replace("example_classifier", "not_installed"))
    out = run([str(BIN / "benchgate"), "run", str(missing)], env_with(example_plugin))
    assert out.returncode == 3, out.stderr
    assert "spec.workloads[0].name" in out.stderr and "installed plugins: example_classifier" in (
        out.stderr
    )
    unmarked = tmp_path / "unmarked.yaml"
    unmarked.write_text(suite.replace("      plugin: true\n", ""))
    out = run([str(BIN / "benchgate"), "run", str(unmarked)], env_with(example_plugin))
    assert out.returncode == 3 and "is an installed plugin: set plugin: true" in out.stderr
    clash = tmp_path / "clash.yaml"
    clash.write_text(suite.replace("example_classifier", "determinism"))
    out = run([str(BIN / "benchgate"), "run", str(clash)], env_with(example_plugin))
    assert out.returncode == 3 and "may not take the name of a built-in" in out.stderr


def workload_doc(env: dict[str, str], *names: str) -> Any:
    args = [str(BIN / "benchgate-workload"), "run", "--repetitions", "1"]
    for name in names:
        args += ["--workload", name]
    out = run(args, env)
    assert out.returncode == 0, out.stderr[-3000:]
    begin = out.stdout.index("-----BEGIN BENCHGATE RESULT-----")
    return loads(out.stdout[begin:].split("\n", 1)[1].rsplit("-----END", 1)[0])


def test_broken_plugins_fail_their_own_workload_and_the_others_still_run(
    broken_plugins: Path,
) -> None:
    env = env_with(broken_plugins)
    names = [
        "raising_workload",
        "dup_workload",
        "import_error",
        "lazy_broken",
        "undeclared_metric",
        "future_api",
        "not_a_def",
        "determinism",
    ]
    doc = workload_doc(env, *names)
    expected = {
        "raising_workload": ("RuntimeError", "the plugin's own bug"),
        "dup_workload": ("PluginNameClash", "fakeplug 0.1 and fakeplug2 0.1"),
        "import_error": ("PluginImportError", "fakeplug_does_not_exist"),
        "lazy_broken": ("PluginImportError", "fakeplug_missing_module"),
        "undeclared_metric": ("ValueError", "surprise"),
        "future_api": ("PluginApiVersion", "version 9"),
        "not_a_def": ("PluginInvalid", "must name a benchgate_workloads.api.WorkloadDef"),
    }
    for name, (kind, words) in expected.items():
        result = doc.workload(name)
        assert result is not None and result.status == "failed", (name, result)
        assert result.error is not None and result.error.type == kind, (name, result.error)
        assert words in result.error.message, (name, result.error.message)
    built_in = doc.workload("determinism")
    assert built_in is not None and built_in.status == "ok", "the built-in keeps its name"
    assert any(e.workload == "determinism" and e.type == "PluginNameClash" for e in doc.errors), (
        doc.errors
    )
    listing = run([str(BIN / "benchgate-workload"), "list"], env).stdout
    assert "determinism\tPluginNameClash" in listing and "import_error\tPluginImportError" in (
        listing
    )


def test_every_public_name_of_the_api_is_documented() -> None:
    from benchgate_workloads import api

    page = (ROOT / "docs" / "plugins.md").read_text()
    missing = [name for name in api.__all__ if f"`{name}" not in page and f"{name}(" not in page]
    assert not missing, f"docs/plugins.md does not document {missing}"
