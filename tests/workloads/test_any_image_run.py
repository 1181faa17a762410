"""Any-image workloads under `benchgate run`: the command runs locally, its document is
read, and what goes wrong fails that workload with the reason."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from workload_helpers import benchgate

from benchgate.api.result import extract_from_log, json_schema, loads

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "any-image" / "suite.yaml"


def example_script() -> str:
    script: str = yaml.safe_load(EXAMPLE.read_text())["spec"]["workloads"][0]["args"][0]
    return script


def test_the_documented_script_is_the_examples_and_prints_a_valid_document() -> None:
    page = (ROOT / "docs" / "any-image.md").read_text()
    block = re.search(r"<!-- example: .*?-->\n```sh\n(.*?)```", page, re.S)
    assert block is not None, "docs/any-image.md lost its example block"
    assert block.group(1) == example_script(), (
        "docs/any-image.md and examples/any-image/suite.yaml must show the same script"
    )
    env = {
        **os.environ,
        "BENCHGATE_WORKLOAD": "shell_probe",
        "BENCHGATE_SIZE": "tiny",
        "BENCHGATE_REPETITIONS": "3",
        "BENCHGATE_REPLICATE_OFFSET": "2",
        "BENCHGATE_SUITE": "s",
        "BENCHGATE_RUN": "r",
    }
    out = subprocess.run(
        ["sh", "-c", example_script()], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout.split("-----BEGIN BENCHGATE RESULT-----\n", 1)[1]
    text = text.split("-----END BENCHGATE RESULT-----", 1)[0]
    jsonschema.validate(json.loads(text), json_schema())  # what `benchgate schema` prints
    doc = extract_from_log(out.stdout)
    (workload,) = doc.workloads
    assert workload.name == "shell_probe" and workload.status == "ok"
    loop = workload.metric("loop_ms")
    assert loop is not None and loop.replicates == ["pod-2"] and len(loop.values) == 3


def run_suite(tmp_path: Path, workloads: list[dict[str, Any]], *extra: str) -> Any:
    body = yaml.safe_load(EXAMPLE.read_text())
    body["spec"]["workloads"] = workloads
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(body))
    return benchgate(["run", str(path), *extra])


def test_the_example_suite_runs_and_compares(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    first = benchgate(["run", str(EXAMPLE), "--out", str(base)])
    assert first.returncode == 0, first.stderr[-2000:]
    doc = loads(base.read_text())
    workload = doc.workload("shell_probe")
    assert workload is not None and workload.status == "ok"
    assert workload.metric("loop_ms") is not None
    assert [g.replicate for g in workload.metrics[0].samples] == ["pod-0", "pod-1", "pod-2"]
    again = benchgate(["run", str(EXAMPLE), "--baseline", str(base)])
    assert "shell_probe/cksum" in again.stdout and again.returncode in (0, 2), again.stdout


DOC = (
    '{"schemaVersion": "benchgate.dev/result/v1", "workloads": [{"name": "$BENCHGATE_WORKLOAD", '
    '"status": "ok", "metrics": [{"name": "answer", "unit": "1", "direction": "equal", '
    '"kind": "exact", "samples": [{"replicate": "pod-$BENCHGATE_REPLICATE_OFFSET", '
    '"values": [42]}]}]}]}'
)


def probe(name: str, script: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script], **fields}


def test_a_file_mode_document_is_read_from_the_file(tmp_path: Path) -> None:
    out = tmp_path / "doc.json"
    script = f'cat > "$BENCHGATE_RESULT_FILE" <<EOF\n{DOC}\nEOF\n'
    done = run_suite(tmp_path, [probe("file_probe", script, resultFrom="File")], "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    workload = loads(out.read_text()).workload("file_probe")
    assert workload is not None and workload.status == "ok", workload


def test_broken_any_image_workloads_fail_with_the_reason(tmp_path: Path) -> None:
    out = tmp_path / "doc.json"
    done = run_suite(
        tmp_path,
        [
            probe("exit_probe", "echo failing >&2; exit 3"),
            probe("silent_probe", "echo no document"),
            probe(
                "garbage_probe",
                "printf '%s\\nnot json\\n%s\\n' '-----BEGIN BENCHGATE RESULT-----' "
                "'-----END BENCHGATE RESULT-----'",
            ),
            probe("missing_command", "true", command=["no-such-benchmark-binary"]),
        ],
        "--out",
        str(out),
        "--replicates",
        "1",
    )
    assert done.returncode == 4, "no replicate produced a usable document"
    doc = loads(out.read_text())
    expected = {
        "exit_probe": ("ProcessFailed", "exit code 3"),
        "silent_probe": ("InvalidDocument", "no result document"),
        "garbage_probe": ("InvalidDocument", "document"),
        "missing_command": ("StartError", "is not on this machine"),
    }
    for name, (kind, words) in expected.items():
        workload = doc.workload(name)
        assert workload is not None and workload.status == "failed", name
        assert workload.error is not None and workload.error.type == kind, (name, workload.error)
        assert words in workload.error.message, (name, workload.error.message)
