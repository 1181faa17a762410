"""`Sandbox` under pytest-asyncio, and `benchgate sandbox` serving the real kubectl."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from benchgate_sandbox.nodes import h100_pool_node
from benchgate_sandbox.testing import Sandbox

KUBECTL = Path(sys.executable).parent / "kubectl"


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
