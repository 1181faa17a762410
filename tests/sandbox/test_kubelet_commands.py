"""What the sandbox kubelet runs: Kubernetes' command/args/ENTRYPOINT/CMD rules, $(VAR)
expansion and emptyDir volumes shared between a pod's containers."""

from __future__ import annotations

from typing import Any

from benchgate.api.podenv import expand
from benchgate_sandbox.kubelet import ImageConfig
from benchgate_sandbox.testing import Sandbox

PY = "python"


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"restartPolicy": "Never", "nodeName": "local-1", "containers": containers, **spec},
    }


def finished(sandbox: Sandbox, name: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        obj = sandbox.get("v1", "Pod", name, "default")
        return obj if obj.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

    result: dict[str, Any] = sandbox.wait_for(done, 30, f"pod {name} finished")
    return result


def test_expansion_follows_kubernetes() -> None:
    env = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)", env) == "1-two"
    assert expand("$$(A) costs $$5", env) == "$(A) costs $5", "$$ escapes"
    assert expand("$(MISSING) $(A", env) == "$(MISSING) $(A", "undefined stays as written"


def test_command_replaces_entrypoint_and_args_replace_cmd(sandbox: Sandbox) -> None:
    sandbox.add_node("local-1")
    sandbox.kubelet.images["example.com/tools/printer"] = ImageConfig(
        entrypoint=(PY, "-c", "import sys; print('argv', sys.argv[1:])"),
        cmd=("from-cmd",),
    )
    image = "example.com/tools/printer:1.0"
    code = "import sys; print('argv', sys.argv[1:])"
    sandbox.create(
        pod(
            "commands",
            [
                {"name": "defaults", "image": image},
                {"name": "args-only", "image": image, "args": ["given", "$(WHO)", "$$(WHO)"]},
                {"name": "command", "image": image, "command": [PY, "-c", code, "own"]},
            ],
            initContainers=[],
        )
    )
    obj = finished(sandbox, "commands")
    assert obj["status"]["phase"] == "Succeeded", obj["status"]
    logs = {
        c: sandbox.pod_log("default", "commands", c) for c in ("defaults", "args-only", "command")
    }
    assert "argv ['from-cmd']" in logs["defaults"], "no command, no args: ENTRYPOINT + CMD"
    assert "argv ['given', '$(WHO)', '$(WHO)']" in logs["args-only"], (
        "args replace CMD; an undefined $(WHO) stays; $$ escapes"
    )
    assert "argv ['own']" in logs["command"], "command replaces ENTRYPOINT, and CMD is dropped"


def test_an_unknown_image_without_a_command_does_not_start_and_says_why(
    sandbox: Sandbox,
) -> None:
    sandbox.add_node("local-1")
    sandbox.create(pod("unknown", [{"name": "main", "image": "example.com/mystery:1"}]))
    obj = finished(sandbox, "unknown")
    state = obj["status"]["containerStatuses"][0]["state"]["terminated"]
    assert state["reason"] == "StartError" and "ENTRYPOINT of image" in state["message"]


def test_env_expands_in_order_and_empty_dirs_are_shared_between_steps(sandbox: Sandbox) -> None:
    sandbox.add_node("local-1")
    write = (
        "import os, pathlib; p = pathlib.Path(os.environ['OUT']); "
        "p.write_text(os.environ['GREETING']); print('wrote', p.name)"
    )
    read = "import os, pathlib, sys; print('read', pathlib.Path(sys.argv[1]).read_text())"
    mounts = [{"name": "shared", "mountPath": "/shared"}]
    sandbox.create(
        pod(
            "volumes",
            [
                {
                    "name": "reader",
                    "image": "x",
                    "command": [PY, "-c", read, "/shared/f.txt"],
                    "volumeMounts": mounts,
                }
            ],
            initContainers=[
                {
                    "name": "writer",
                    "image": "x",
                    "command": [PY, "-c", write],
                    "env": [
                        {"name": "NAME", "value": "world"},
                        {"name": "GREETING", "value": "hello $(NAME)"},
                        {"name": "OUT", "value": "/shared/f.txt"},
                    ],
                    "volumeMounts": mounts,
                }
            ],
            volumes=[{"name": "shared", "emptyDir": {}}],
        )
    )
    obj = finished(sandbox, "volumes")
    assert obj["status"]["phase"] == "Succeeded", obj["status"]
    assert "read hello world" in sandbox.pod_log("default", "volumes", "reader")


def test_a_failed_init_container_fails_the_pod_and_says_which(sandbox: Sandbox) -> None:
    sandbox.add_node("local-1")
    sandbox.create(
        pod(
            "initfail",
            [{"name": "main", "image": "x", "command": [PY, "-c", "print('never')"]}],
            initContainers=[
                {"name": "step", "image": "x", "command": [PY, "-c", "raise SystemExit(3)"]}
            ],
        )
    )
    obj = finished(sandbox, "initfail")
    assert obj["status"]["phase"] == "Failed" and "reason" not in obj["status"], (
        "a real kubelet gives an init failure no pod-level reason"
    )
    init = obj["status"]["initContainerStatuses"][0]
    assert init["name"] == "step" and init["state"]["terminated"]["exitCode"] == 3
