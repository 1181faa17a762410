"""The Dockerfile, checked without a Docker engine: its stages, pins, users, the commands
each stage runs, and that the entrypoints resolve and run in this environment."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from benchgate.api.result import extract_from_log

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
FINAL_TARGETS = ("operator", "workload")
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cmake|apt-get|apk add)\b")


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> dict[str, Stage]:
    """Stages by name; continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", args.strip(), re.IGNORECASE)
            assert match, f"every stage must be named (FROM image AS name): {line}"
            current = Stage(base=match.group(1), name=match.group(2))
            stages[current.name] = current
        elif current is not None:
            current.instructions.append((keyword, args.strip()))
    return stages


STAGES = parse_dockerfile(DOCKERFILE.read_text())


def test_both_targets_exist() -> None:
    for target in FINAL_TARGETS:
        assert target in STAGES, f"Dockerfile has no `{target}` target"


def test_every_base_image_is_pinned() -> None:
    for stage in STAGES.values():
        if stage.base in STAGES:
            continue  # built on an earlier stage
        pinned = "@sha256:" in stage.base or re.search(r":\d+\.\d+\.\d+[\w.-]*$", stage.base)
        assert pinned, f"stage {stage.name}: base {stage.base} is not pinned (digest or x.y.z tag)"


@pytest.mark.parametrize("target", FINAL_TARGETS)
def test_final_stages_run_as_a_numeric_non_root_user(target: str) -> None:
    users = STAGES[target].all("USER")
    assert users, f"{target}: no USER, the image would run as root"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, (
        f"{target}: USER {users[-1]} must be a numeric non-root uid (runAsNonRoot checks it)"
    )


@pytest.mark.parametrize("target", FINAL_TARGETS)
def test_final_stages_carry_no_build_tools(target: str) -> None:
    stage = STAGES[target]
    assert stage.all("RUN") == [], f"{target}: the final stage should only COPY a built venv"
    for keyword, args in stage.instructions:
        assert not BUILD_TOOLS.search(args), f"{target}: build tool in `{keyword} {args}`"
    sources = {
        re.search(r"--from=(\S+)", c).group(1)
        for c in stage.all("COPY")  # type: ignore[union-attr]
        if "--from=" in c
    }
    for source in sources:
        for run in STAGES[source].all("RUN"):
            assert not BUILD_TOOLS.search(run), f"{source} (copied into {target}) installs {run}"


def test_the_operator_image_installs_no_torch() -> None:
    (copy,) = [c for c in STAGES["operator"].all("COPY") if "--from=" in c]
    venv = STAGES[re.search(r"--from=(\S+)", copy).group(1)]  # type: ignore[union-attr]
    runs = " ".join(venv.all("RUN"))
    assert "[workloads]" not in runs and "torch==" not in runs, (
        "the operator venv must be installed without the workloads extra"
    )
    assert "benchgate-*.whl" in runs


def test_no_image_ships_the_sandbox() -> None:
    copied = " ".join(c for s in STAGES.values() for c in s.all("COPY") if "--from" not in c)
    assert "sandbox" not in copied, "the build stage must not copy sandbox/ into the wheel"
    assert "sandbox" in (ROOT / ".dockerignore").read_text().split()
    runs = " ".join(STAGES["operator-venv"].all("RUN"))
    assert '! /opt/benchgate/bin/python -c "import benchgate_sandbox"' in runs, (
        "the operator venv should prove at build time that benchgate_sandbox is absent"
    )


def test_the_workload_image_installs_pinned_cuda_torch_and_the_workloads_extra() -> None:
    (copy,) = [c for c in STAGES["workload"].all("COPY") if "--from=" in c]
    venv = STAGES[re.search(r"--from=(\S+)", copy).group(1)]  # type: ignore[union-attr]
    args = dict(a.split("=", 1) for a in venv.all("ARG"))
    runs = " ".join(venv.all("RUN"))
    assert re.fullmatch(r"\d+\.\d+\.\d+", args.get("TORCH_VERSION", "")), "pin torch exactly"
    assert re.fullmatch(r"cu\d{3}", args.get("TORCH_CUDA", "")), "pick a CUDA wheel index"
    assert "--index-url https://download.pytorch.org/whl/${TORCH_CUDA}" in runs
    assert "torch==${TORCH_VERSION}" in runs
    assert "[workloads]" in runs, "the workloads extra brings nvidia-ml-py"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra = " ".join(pyproject["project"]["optional-dependencies"]["workloads"])
    assert "nvidia-ml-py" in extra
    low, high = re.search(r"torch>=([\d.]+),<=([\d.]+)", extra).groups()  # type: ignore[union-attr]
    version = tuple(int(p) for p in args["TORCH_VERSION"].split("."))
    assert tuple(map(int, low.split("."))) <= version <= tuple(map(int, high.split("."))), (
        f"TORCH_VERSION {args['TORCH_VERSION']} is outside pyproject's torch range"
    )


@pytest.mark.parametrize(
    ("target", "script"), [("operator", "benchgate"), ("workload", "benchgate-workload")]
)
def test_entrypoints_are_the_projects_console_scripts(target: str, script: str) -> None:
    (entrypoint,) = STAGES[target].all("ENTRYPOINT")
    assert entrypoint == f'["{script}"]', f'{target}: ENTRYPOINT should be ["{script}"]'
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert script in scripts, f"pyproject.toml declares no console script {script}"
    installed = Path(sys.executable).parent / script
    assert installed.exists(), f"{script} is not installed in {installed.parent}"
    result = subprocess.run([str(installed), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"`{script} --help` failed:\n{result.stderr}"


def test_the_operator_command_line_matches_the_image_default() -> None:
    cmd = STAGES["operator"].all("CMD")[-1]
    assert '"operator"' in cmd and "--metrics-port=8000" in cmd and "--liveness=" in cmd


def test_the_workload_entrypoint_runs_a_tiny_workload_here() -> None:
    script = shutil.which("benchgate-workload", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("benchgate-workload is not installed in this venv")
    result = subprocess.run(
        [
            script,
            "run",
            "--size",
            "tiny",
            "--replicate",
            "t",
            "--repetitions",
            "1",
            "--workload",
            "numerics_probe",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, f"benchgate-workload failed:\n{result.stderr[-2000:]}"
    document = extract_from_log(result.stdout)
    names = [w.name for w in document.workloads]
    assert names == ["numerics_probe"], f"unexpected workloads in the document: {names}"


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "tests"} <= ignored
    copied = {
        src
        for s in STAGES.values()
        for c in s.all("COPY")
        if "--from" not in c
        for src in c.split()[:-1]
    }
    for path in copied:
        assert path.rstrip("/") not in ignored, f"COPY {path} is excluded by .dockerignore"
