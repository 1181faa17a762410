"""kopf's own KopfRunner runs a trivial operator against the sandbox: discovery, list +
watch, merge patches of status, event posting, finalizer add/remove (JSON patch)."""

from __future__ import annotations

from pathlib import Path

from kopf.testing import KopfRunner

from benchgate_sandbox.testing import Sandbox

OPERATOR = Path(__file__).parent / "trivial_operator.py"


def widget(name: str) -> dict[str, object]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"image": "img:1"},
    }


def test_kopf_operator_patches_status_posts_events_and_releases_finalizers(
    widgets: Sandbox,
) -> None:
    sb = widgets
    with KopfRunner(
        ["run", "--standalone", "--all-namespaces", "--verbose", str(OPERATOR)], timeout=60
    ) as runner:
        sb.create(widget("w1"))
        status = sb.wait_for(
            lambda: sb.get("example.com/v1", "Widget", "w1").get("status"),
            20,
            "kopf to patch the widget's status",
        )
        assert status.get("message") == "hello w1", status
        got = sb.get("example.com/v1", "Widget", "w1")
        assert got["metadata"].get("finalizers"), "kopf adds its finalizer for delete handlers"
        greeted = sb.wait_for(
            lambda: [e for e in sb.list("v1", "Event", "default") if e.get("reason") == "Greeted"],
            10,
            "kopf's Greeted event",
        )
        assert greeted[0]["involvedObject"]["name"] == "w1"
        assert greeted[0]["involvedObject"]["uid"] == got["metadata"]["uid"]

        sb.delete("example.com/v1", "Widget", "w1")
        sb.wait_for(
            lambda: not sb.list("example.com/v1", "Widget", "default"),
            20,
            "kopf to remove its finalizer so the widget goes away",
        )
        sb.drop_watches()  # kopf must survive a dropped watch and keep working
        sb.create(widget("w2"))
        sb.wait_for(
            lambda: (
                (sb.get("example.com/v1", "Widget", "w2").get("status") or {}).get("message")
                == "hello w2"
            ),
            20,
            "kopf to handle w2 after a dropped watch",
        )
    assert runner.exception is None, runner.exception
    assert runner.exit_code == 0, runner.output[-2000:]
    assert "Handler 'greet' succeeded" in runner.output
    verbs = {(r.verb, r.resource, r.subresource) for r in sb.requests}
    assert ("watch", "widgets.example.com", None) in verbs
    assert ("create", "events", None) in verbs
