"""`Sandbox` under pytest-asyncio, and `benchgate sandbox` serving the real kubectl."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import yaml

from benchgate_sandbox.nodes import h100_pool_node
from benchgate_sandbox.testing import Sandbox

KUBECTL = Path(sys.executable).parent / "kubectl"
ROOT = Path(__file__).resolve().parents[2]


async def test_sandbox_serves_an_async_test_without_blocking_its_loop(tmp_path: Path) -> None:
    async with Sandbox(workdir=tmp_path / "sb") as sb:
        sb.add_node(node=h100_pool_node("gpu-a", driver="560.35.03"))
        trust = ssl.create_default_context(cafile=str(sb.ca_path))
        admin = {"Authorization": f"Bearer {sb.admin_token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{sb.url}/api/v1/nodes", headers=admin, ssl=trust) as response,
        ):
            nodes = (await response.json())["items"]
        assert [n["metadata"]["name"] for n in nodes] == ["gpu-a"]
        labels = nodes[0]["metadata"]["labels"]
        assert labels["nvidia.com/cuda.driver-version.full"] == "560.35.03"
        assert labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
        assert nodes[0]["status"]["allocatable"]["nvidia.com/gpu"] == "8"


def test_benchgate_sandbox_command_serves_kubectl(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchgate.cli",
            "sandbox",
            "--kubeconfig",
            str(kubeconfig),
            "--node",
            "this",
            "--node",
            "h100:gpu-a:550.54.15",
            "--crds",
            str(Path(__file__).parent / "fixtures" / "widgets-crd.yaml"),
            "--serve-seconds",
            "20",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("Serving until"):
                break
        text = "".join(lines)
        assert f"export KUBECONFIG={kubeconfig}" in text, text
        assert "widgets.example.com" in text and "CEL rules NOT enforced" in text, text
        done = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert done.returncode == 0, done.stderr
        names = sorted(n["metadata"]["name"] for n in json.loads(done.stdout)["items"])
        assert "gpu-a" in names and len(names) == 2, names
    finally:
        process.terminate()
        process.wait(10)


def _final_table(output: str, resource: str) -> list[dict[str, str]]:
    """The rows of the last `kubectl get <resource> ... -o wide` table the demo printed,
    by column (kubectl aligns columns under their headers)."""
    block = output.rsplit(f"$ kubectl get {resource}", 1)[1].split("\n$ ", 1)[0]
    lines = [line for line in block.splitlines()[1:] if line.strip()]
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?<!\S)\S+(?: \S+)*", header)]
    names = [header[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
    return [
        {n: line[s:e].strip() for n, s, e in zip(names, starts, [*starts[1:], None], strict=True)}
        for line in lines[1:]
    ]


def test_the_demo_ends_with_tables_that_agree(tmp_path: Path) -> None:
    """`benchgate sandbox --demo` stops the operator only once the suite's row shows the
    last run: its final tables must agree (no "not verified" suite beside a run that
    Passed), and the first platform, whose key the kernel change replaced, keeps its
    history: its run still serves as the baseline the suite counts."""
    sample = yaml.safe_load((ROOT / "crds" / "samples" / "cpu-suite.yaml").read_text())
    # The node appears once and changes once, by the demo's own hand: a 1 s settle window
    # instead of the product's 30 s keeps the test short and changes nothing it checks.
    sample["spec"]["platform"]["settleSeconds"] = 1
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(sample))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchgate.cli",
            "sandbox",
            "--demo",
            "--sample",
            str(tmp_path / "suite.yaml"),
            "--crds",
            str(ROOT / "crds"),
            "--demo-timeout",
            "400",
        ],
        capture_output=True,
        text=True,
        timeout=480,
        cwd=ROOT,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "The suite's row agrees with its runs." in output, output[-6000:]
    verdicts = re.search(r"^Verdicts: (\w+) -> (\w+)$", output, re.MULTILINE)
    assert verdicts is not None, f"the demo did not reach its second verdict:\n{output[-6000:]}"
    first, second = verdicts.groups()
    assert first == "NoBaseline", output[-6000:]
    runs = _final_table(output, "verificationruns.benchgate.dev")
    assert sorted(r["VERDICT"] for r in runs) == sorted([first, second]), runs
    (suite,) = _final_table(output, "regressionsuites.benchgate.dev")
    assert suite["LATEST VERDICT"] == second, (suite, runs)
    good, bad = second in ("Passed", "Improved"), second in ("Regressed", "Failed", "Invalid")
    assert (suite["VERIFIED"], suite["FAILED"]) == (str(int(good)), str(int(bad))), suite
    if not bad:  # a failed platform's message names it instead of counting baselines
        assert re.search(r"\b1 (serving as )?baseline\b", suite["MESSAGE"]), (
            f"the first platform's baseline run dropped out of the suite's counts: {suite}"
        )
