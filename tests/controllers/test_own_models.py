"""A team's own models through the real operator: plugins, any-image workloads, predictions.

One sandbox and one operator for the module (conftest); each scenario has its own
namespace and node pool, and the suites of a scenario run side by side.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from controller_harness import GROUP_VERSION, ROOT, Cluster, condition

EXAMPLES = ROOT / "examples"
MARKERS = ("-----BEGIN BENCHGATE RESULT-----", "-----END BENCHGATE RESULT-----")


def example_suite(path: Path, namespace: str, pool: str, **spec: Any) -> dict[str, Any]:
    """An example suite as shipped, pointed at the test's node pool."""
    body: dict[str, Any] = yaml.safe_load(path.read_text())
    body["metadata"]["namespace"] = namespace
    body["spec"].update(
        nodeSelector={"benchgate-test/pool": pool},
        platform={"settleSeconds": 0},
        timeoutSeconds=120,
        **spec,
    )
    return body


def first_run(cluster: Cluster, namespace: str, suite: str, timeout: float = 150) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        return next(
            (
                r
                for r in cluster.finished_runs(namespace)
                if r["spec"]["suite"]["name"] == suite
                and r["spec"]["trigger"]["reason"] == "NewPlatform"
            ),
            None,
        )

    run: dict[str, Any] = cluster.wait(done, timeout=timeout, what=f"{suite}'s first run")
    return run


def spec_changed_run(
    cluster: Cluster, namespace: str, suite: str, env: list[dict[str, str]], timeout: float = 150
) -> dict[str, Any]:
    """Change the suite's jobTemplate.env (part of what is measured): a new run, judged
    against the first run's baseline."""
    obj = cluster.sb.get(GROUP_VERSION, "RegressionSuite", suite, namespace)
    obj["spec"].setdefault("jobTemplate", {})["env"] = env
    cluster.sb.apply(obj)

    def done() -> dict[str, Any] | None:
        return next(
            (
                r
                for r in cluster.finished_runs(namespace)
                if r["spec"]["suite"]["name"] == suite
                and r["spec"]["trigger"]["reason"] == "SpecChanged"
            ),
            None,
        )

    run: dict[str, Any] = cluster.wait(done, timeout=timeout, what=f"{suite}'s judged run")
    return run


def metric_row(run: dict[str, Any], key: str) -> dict[str, Any]:
    rows = {m["key"]: m for m in run["status"].get("metrics") or []}
    assert key in rows, f"{key} not judged; status.metrics has {sorted(rows)}"
    return rows[key]


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("plugin-site")
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
            str(EXAMPLES / "plugin"),
        ],
        check=True,
        timeout=300,
    )
    return target


def test_the_example_plugin_is_judged_in_an_operator_run(
    cluster: Cluster, plugin_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox kubelet passes PYTHONPATH to its pods: the plugin is "in the image".
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(plugin_path), os.environ.get("PYTHONPATH")])),
    )
    ns = "plugin"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node("plugin-a", labels={"benchgate-test/pool": ns})
    suite = example_suite(EXAMPLES / "plugin" / "suite.yaml", ns, ns)
    # Training losses and step times of 3 replicates are judged like any continuous metric
    # (and may be Inconclusive with so few); this test is about the plugin's predictions.
    suite["spec"]["workloads"][0]["metrics"] = [
        {"name": n, "ignore": True}
        for n in (
            "train_step_ms",
            "samples_per_s",
            "loss_at_step_1",
            "loss_at_step_30",
            "loss_curve_steps_1_15",
            "loss_curve_steps_16_30",
            "loss_curve_steps_31_45",
            "loss_curve_steps_46_60",
            "final_loss",
        )
    ]
    cluster.sb.create(suite)
    first = first_run(cluster, ns, "example-plugin")
    assert condition(first, "Verified")["reason"] == "BaselinePromoted", condition(
        first, "Verified"
    )
    cm = cluster.sb.get("v1", "ConfigMap", first["status"]["resultsConfigMap"], ns)
    assert '"example_classifier"' in cm["data"]["result.json"]
    assert '"kind": "distribution"' in cm["data"]["result.json"]

    judged = spec_changed_run(cluster, ns, "example-plugin", [{"name": "RERUN", "value": "1"}])
    row = metric_row(judged, "example_classifier/outputs")
    assert row["verdict"] == "Passed", row
    assert row["prediction"]["bitwiseIdentical"] is True, row
    assert row["prediction"]["top1Agreement"] == "1", row
    assert judged["status"]["verdict"] == "Passed", judged["status"]


SHELL_DOC = (
    'replicate="pod-$((BENCHGATE_REPLICATE_OFFSET + ${JOB_COMPLETION_INDEX:-0}))"\n'
    'doc=\'{"schemaVersion": "benchgate.dev/result/v1", "workloads": [{"name": "NAME", '
    '"status": "ok", "metrics": [{"name": "answer", "unit": "1", "direction": "equal", '
    '"kind": "exact", "samples": [{"replicate": "REP", "values": [42]}]}]}]}\'\n'
    'doc=$(printf %s "$doc" | sed "s/NAME/$BENCHGATE_WORKLOAD/; s/REP/$replicate/")\n'
)


def shell(name: str, script: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": "docker.io/library/busybox:1.36",
        "command": ["sh", "-c"],
        "args": [script],
        **fields,
    }


ANY_IMAGE = {
    # name: (workload, expected Verified reason of the first run, words its message holds)
    "stdout": (
        shell(
            "exact_probe",
            SHELL_DOC + f'printf "%s\\n%s\\n%s\\n" "{MARKERS[0]}" "$doc" "{MARKERS[1]}"',
        ),
        "BaselinePromoted",
        (),
    ),
    "file": (
        shell(
            "file_probe",
            SHELL_DOC + 'printf "%s\\n" "$doc" > "$BENCHGATE_RESULT_FILE"',
            resultFrom="File",
        ),
        "BaselinePromoted",
        (),
    ),
    "garbage": (
        shell("garbage_probe", f'printf "%s\\nnot json {{]\\n%s\\n" "{MARKERS[0]}" "{MARKERS[1]}"'),
        "ResultRejected",
        ("container garbage-probe", "document"),
    ),
    "nothing": (
        shell("silent_probe", "echo working; exit 0"),
        "ResultRejected",
        ("container silent-probe", "no result document between"),
    ),
    "oversized": (
        shell(
            "huge_probe",
            f'printf "%s\\n" "{MARKERS[0]}"; head -c 2097152 /dev/zero | tr "\\0" x; '
            f'printf "\\n%s\\n" "{MARKERS[1]}"',
        ),
        "ResultRejected",
        ("container huge-probe",),
    ),
    "exit": (
        shell("failing_probe", "echo about to fail >&2; exit 3"),
        "WorkloadFailed",
        ("container failing-probe exited 3",),
    ),
    "misnamed": (
        shell(
            "misnamed_probe",
            SHELL_DOC.replace("$BENCHGATE_WORKLOAD", "someone_else")
            + f'printf "%s\\n%s\\n%s\\n" "{MARKERS[0]}" "$doc" "{MARKERS[1]}"',
        ),
        "ResultRejected",
        ("workloads[0].name", "misnamed_probe"),
    ),
}


def test_any_image_workloads_are_judged_or_fail_their_run_with_the_reason(
    cluster: Cluster,
) -> None:
    ns = "anyimage"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node("img-a", labels={"benchgate-test/pool": ns})
    for name, (workload, _, _) in ANY_IMAGE.items():
        cluster.suite(ns, name, ns, workloads=[workload], baseline={"autoPromoteFirst": True})
    # The shipped example, as is: a shell script in busybox that times a loop.
    cluster.sb.create(example_suite(EXAMPLES / "any-image" / "suite.yaml", ns, ns))
    for name, (_, reason, words) in ANY_IMAGE.items():
        run = first_run(cluster, ns, name)
        verified = condition(run, "Verified")
        assert verified["reason"] == reason, (name, verified)
        pod = f"pod {name}-" if reason != "BaselinePromoted" else ""
        for word in (*words, pod):
            assert word in verified["message"], (name, word, verified["message"])
    example = first_run(cluster, ns, "example-any-image")
    assert condition(example, "Verified")["reason"] == "BaselinePromoted", condition(
        example, "Verified"
    )
    cm = cluster.sb.get("v1", "ConfigMap", example["status"]["resultsConfigMap"], ns)
    assert '"loop_ms"' in cm["data"]["result.json"]
    # A valid document is judged against the baseline it became.
    judged = spec_changed_run(cluster, ns, "stdout", [{"name": "RERUN", "value": "1"}])
    assert metric_row(judged, "exact_probe/answer")["verdict"] == "Passed"
    assert judged["status"]["verdict"] == "Passed", judged["status"]
    # The operator stayed up through all of it.
    assert cluster.operator.process is not None and cluster.operator.process.poll() is None


def test_a_user_model_is_checked_and_a_perturbed_weight_is_caught(cluster: Cluster) -> None:
    ns = "predict"
    cluster.sb.create_namespace(ns)
    cluster.sb.add_node("pred-a", labels={"benchgate-test/pool": ns})
    subprocess.run(
        [sys.executable, str(EXAMPLES / "prediction" / "make_model.py")], check=True, timeout=120
    )
    cluster.sb.create(example_suite(EXAMPLES / "prediction" / "suite.yaml", ns, ns))
    first = first_run(cluster, ns, "example-prediction")
    assert condition(first, "Verified")["reason"] == "BaselinePromoted"
    judged = spec_changed_run(
        cluster,
        ns,
        "example-prediction",
        [{"name": "BENCHGATE_INJECT_PERTURB", "value": "3"}],
    )
    row = metric_row(judged, "prediction_consistency/outputs")
    assert row["verdict"] == "Regressed", row
    assert "top-1 class changed" in row["reason"], row
    assert int(row["prediction"]["top1Flips"]) > 0 and float(row["prediction"]["psi"]) > 0
    verified = condition(judged, "Verified")
    assert verified["reason"] == "RegressionDetected", verified
    assert "prediction_consistency/outputs" in verified["message"]
    cluster.wait_event(ns, judged["metadata"]["name"], "RegressionDetected")
