"""The API stand-in against the Kubernetes API documentation (API concepts, API
conventions, CRD docs), driven through the official client and plain HTTP.

These do not test our operator; they keep the stand-in honest where kopf, kubectl and
the client can tell it apart from a real API server.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from benchgate_sandbox.testing import Sandbox

Raw = Any  # the `raw` fixture (tests/sandbox/conftest.py): plain HTTP helpers

CM = "/api/v1/namespaces/default/configmaps"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


def cm(name: str, labels: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}, **meta},
        "data": {"k": name},
    }


def widget(name: str = "w1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"image": "img:1", **spec},
    }


# -- resourceVersion, watch -------------------------------------------------------------


def test_watch_replays_changes_in_order_and_resumes_from_a_resource_version(
    api: Any, raw: Raw
) -> None:
    core = client.CoreV1Api(api)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("a"))
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "1"}})
    middle = core.patch_namespaced_config_map("a", "default", {"data": {"k": "2"}})
    core.create_namespaced_config_map("default", cm("b"))
    core.delete_namespaced_config_map("a", "default")

    events = raw.watch(CM, {"resourceVersion": start, "timeoutSeconds": "1"})
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert seen == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("MODIFIED", "a"),
        ("ADDED", "b"),
        ("DELETED", "a"),
    ], f"watch from RV {start} replayed {seen}"
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs), f"RVs not increasing: {rvs}"

    resumed = raw.watch(
        CM, {"resourceVersion": middle.metadata.resource_version, "timeoutSeconds": "1"}
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in resumed] == [
        ("ADDED", "b"),
        ("DELETED", "a"),
    ], "resuming must deliver only later events"


def test_watch_without_resource_version_starts_with_current_state_then_live(
    sandbox: Sandbox, api: Any
) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map("default", cm("existing"))

    def later() -> None:
        time.sleep(0.3)
        sandbox.create(cm("fresh", namespace="default"))

    threading.Thread(target=later).start()
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, "default", timeout_seconds=2):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "existing"), ("ADDED", "fresh")]


def test_too_old_resource_version_is_410_gone(sandbox: Sandbox, api: Any, raw: Raw) -> None:
    core = client.CoreV1Api(api)
    old = core.create_namespaced_config_map("default", cm("a")).metadata.resource_version
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "x"}})
    sandbox.compact()

    events = raw.watch(CM, {"resourceVersion": old, "timeoutSeconds": "1"})
    assert len(events) == 1 and events[0]["type"] == "ERROR", events
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"

    with pytest.raises(ApiException) as exc:
        for _ in watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=1
        ):
            pass
    assert exc.value.status == 410, "the official client must see 410 for an expired RV"

    listed = raw.get(CM, params={"resourceVersion": old, "resourceVersionMatch": "Exact"})
    assert listed.status_code == 410 and listed.json()["reason"] == "Expired"


def test_bookmarks_carry_the_current_resource_version(sandbox: Sandbox, raw: Raw) -> None:
    rv = raw.get(CM).json()["metadata"]["resourceVersion"]
    events = raw.watch(
        CM, {"resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "1"}
    )
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks, f"no BOOKMARK in a 1 s watch with 0.3 s bookmark interval: {events}"
    assert bookmarks[0]["object"]["kind"] == "ConfigMap"
    assert int(bookmarks[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)
    plain = raw.watch(CM, {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert not [e for e in plain if e["type"] == "BOOKMARK"], "bookmarks only when allowed"


def test_streaming_list_sends_initial_events_then_an_end_bookmark(
    sandbox: Sandbox, raw: Raw
) -> None:
    raw.post(CM, cm("one"))
    raw.post(CM, cm("two"))
    events = raw.watch(
        CM,
        {
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "1",
        },
    )
    assert [e["type"] for e in events[:3]] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    bad = raw.get(CM, params={"watch": "true", "sendInitialEvents": "true"})
    assert bad.status_code == 422, "sendInitialEvents without NotOlderThan is invalid"


# -- writes: conflicts, generation, status ------------------------------------------------


def test_stale_update_and_duplicate_create_are_409(api: Any) -> None:
    core = client.CoreV1Api(api)
    first = core.create_namespaced_config_map("default", cm("a"))
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "new"}})
    first.data = {"k": "stale"}
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("a", "default", first)
    assert stale.value.status == 409 and "the object has been modified" in stale.value.body
    with pytest.raises(ApiException) as dup:
        core.create_namespaced_config_map("default", cm("a"))
    assert dup.value.status == 409 and '"reason":"AlreadyExists"' in dup.value.body.replace(" ", "")


def test_merge_patch_with_stale_resource_version_is_409(raw: Raw) -> None:
    created = raw.post(CM, cm("a")).json()
    raw.patch(f"{CM}/a", {"data": {"k": "1"}})
    stale = raw.patch(
        f"{CM}/a",
        {
            "metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
            "data": {"k": "2"},
        },
    )
    assert stale.status_code == 409, stale.text


def test_generation_counts_spec_changes_only(widgets: Sandbox, raw: Raw) -> None:
    created = raw.post(WIDGETS, widget()).json()
    assert created["metadata"]["generation"] == 1
    labelled = raw.patch(f"{WIDGETS}/w1", {"metadata": {"labels": {"a": "b"}}}).json()
    assert labelled["metadata"]["generation"] == 1, "metadata changes must not bump generation"
    status = raw.patch(f"{WIDGETS}/w1/status", {"status": {"message": "hi"}}).json()
    assert status["metadata"]["generation"] == 1, "status changes must not bump generation"
    changed = raw.patch(f"{WIDGETS}/w1", {"spec": {"replicas": 3}}).json()
    assert changed["metadata"]["generation"] == 2
    same = raw.patch(f"{WIDGETS}/w1", {"spec": {"replicas": 3}}).json()
    assert same["metadata"]["resourceVersion"] == changed["metadata"]["resourceVersion"], (
        "a no-op patch must not change the resourceVersion"
    )


def test_status_subresource_isolation(widgets: Sandbox, raw: Raw) -> None:
    created = raw.post(WIDGETS, {**widget(), "status": {"message": "from create"}}).json()
    assert "status" not in created, "status in a create is dropped when /status exists"
    main = raw.patch(f"{WIDGETS}/w1", {"spec": {"replicas": 2}, "status": {"message": "x"}}).json()
    assert main["spec"]["replicas"] == 2 and "status" not in main, "main resource ignores status"
    via_status = raw.patch(
        f"{WIDGETS}/w1/status",
        {"spec": {"replicas": 9}, "metadata": {"labels": {"x": "y"}}, "status": {"message": "ok"}},
    ).json()
    assert via_status["status"] == {"message": "ok"}
    assert via_status["spec"]["replicas"] == 2, "/status must ignore spec"
    assert "x" not in (via_status["metadata"].get("labels") or {}), "/status must ignore metadata"
    put = raw.put(f"{WIDGETS}/w1/status", {**via_status, "status": {"message": "put"}}).json()
    assert put["status"]["message"] == "put"


# -- deletion ---------------------------------------------------------------------------


def test_background_cascading_deletion_follows_owner_references(sandbox: Sandbox, raw: Raw) -> None:
    owner = raw.post(CM, cm("owner")).json()
    other = raw.post(CM, cm("other-owner")).json()
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    other_ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "other-owner",
        "uid": other["metadata"]["uid"],
    }
    raw.post(CM, cm("child", ownerReferences=[ref]))
    raw.post(CM, cm("shared", ownerReferences=[ref, other_ref]))
    assert raw.delete(f"{CM}/owner", {"propagationPolicy": "Background"}).status_code == 200
    sandbox.wait_for(
        lambda: raw.get(f"{CM}/child").status_code == 404,
        5,
        "the dependent to be garbage-collected",
    )
    shared = raw.get(f"{CM}/shared").json()
    assert shared["metadata"]["ownerReferences"] == [other_ref], (
        "a dependent with a live owner stays, minus the deleted owner's reference"
    )


def test_foreground_deletion_waits_for_dependents(sandbox: Sandbox, raw: Raw) -> None:
    owner = raw.post(CM, cm("owner")).json()
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": True,
    }
    raw.post(CM, cm("child", ownerReferences=[ref], finalizers=["example.com/hold"]))
    deleting = raw.delete(f"{CM}/owner", {"propagationPolicy": "Foreground"})
    assert (
        deleting.status_code == 202
        and "foregroundDeletion" in deleting.json()["metadata"]["finalizers"]
    )
    time.sleep(0.3)
    assert raw.get(f"{CM}/owner").status_code == 200, "owner must wait for its dependents"
    raw.patch(f"{CM}/child", {"metadata": {"finalizers": None}})
    sandbox.wait_for(lambda: raw.get(f"{CM}/owner").status_code == 404, 5, "owner removal")


def test_orphan_deletion_keeps_dependents(sandbox: Sandbox, raw: Raw) -> None:
    owner = raw.post(CM, cm("owner")).json()
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    raw.post(CM, cm("child", ownerReferences=[ref]))
    raw.delete(f"{CM}/owner", {"propagationPolicy": "Orphan"})
    time.sleep(0.3)
    child = raw.get(f"{CM}/child").json()
    assert not child["metadata"].get("ownerReferences"), child


def test_finalizers_hold_deletion_until_removed(raw: Raw) -> None:
    raw.post(CM, cm("held", finalizers=["example.com/cleanup"]))
    response = raw.delete(f"{CM}/held")
    assert response.status_code == 202
    held = raw.get(f"{CM}/held").json()
    assert held["metadata"]["deletionTimestamp"], "deletionTimestamp must be set"
    more = raw.patch(f"{CM}/held", {"metadata": {"finalizers": ["example.com/cleanup", "x/y"]}})
    assert more.status_code == 422 and "no new finalizers" in more.text
    ops = [
        {"op": "test", "path": "/metadata/finalizers", "value": ["example.com/cleanup"]},
        {"op": "remove", "path": "/metadata/finalizers/0"},
    ]
    done = raw.patch(f"{CM}/held", ops, "application/json-patch+json")
    assert done.status_code == 200, done.text
    assert raw.get(f"{CM}/held").status_code == 404, "last finalizer removed: object gone"


def test_json_patch_test_op_mismatch_is_422(raw: Raw) -> None:
    raw.post(CM, cm("a", finalizers=["x/one"]))
    ops = [
        {"op": "test", "path": "/metadata/finalizers", "value": ["x/other"]},
        {"op": "remove", "path": "/metadata/finalizers/0"},
    ]
    response = raw.patch(f"{CM}/a", ops, "application/json-patch+json")
    assert response.status_code == 422, response.text
    assert raw.get(f"{CM}/a").json()["metadata"]["finalizers"] == ["x/one"]


def test_namespace_deletion_removes_its_contents(sandbox: Sandbox, api: Any) -> None:
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", cm("a"))
    core.delete_namespace("doomed")
    sandbox.wait_for(
        lambda: not [n for n in core.list_namespace().items if n.metadata.name == "doomed"],
        5,
        "namespace removal",
    )
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map("doomed", cm("b"))
    assert missing.value.status == 404


# -- selectors --------------------------------------------------------------------------


def test_label_selectors(api: Any) -> None:
    core = client.CoreV1Api(api)
    for name, labels in (
        ("a", {"tier": "web", "env": "prod"}),
        ("b", {"tier": "db", "env": "prod"}),
        ("c", {"tier": "web"}),
        ("d", {}),
    ):
        core.create_namespaced_config_map("default", cm(name, labels))

    def names(selector: str) -> list[str]:
        items = core.list_namespaced_config_map("default", label_selector=selector).items
        return sorted(i.metadata.name for i in items if i.metadata.name in "abcd")

    assert names("tier=web") == ["a", "c"]
    assert names("tier!=web") == ["b", "d"], "!= also matches objects without the label"
    assert names("tier in (web,db),env=prod") == ["a", "b"]
    assert names("tier notin (web)") == ["b", "d"]
    assert names("env") == ["a", "b"]
    assert names("!env") == ["c", "d"]


def test_field_selectors_and_unsupported_fields(api: Any, raw: Raw) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map("default", cm("a"))
    core.create_namespaced_config_map("default", cm("b"))
    found = core.list_namespaced_config_map("default", field_selector="metadata.name=b").items
    assert [i.metadata.name for i in found] == ["b"]
    not_a = core.list_namespaced_config_map("default", field_selector="metadata.name!=a").items
    assert "a" not in [i.metadata.name for i in not_a]
    bad = raw.get(CM, params={"fieldSelector": "data.k=a"})
    assert bad.status_code == 400 and "field label not supported" in bad.text


def test_watch_with_selector_sees_objects_leave_and_enter(raw: Raw) -> None:
    rv = raw.get(CM).json()["metadata"]["resourceVersion"]
    raw.post(CM, cm("a", {"app": "x"}))
    raw.patch(f"{CM}/a", {"metadata": {"labels": {"app": "y"}}})
    raw.patch(f"{CM}/a", {"metadata": {"labels": {"app": "x"}}})
    events = raw.watch(CM, {"resourceVersion": rv, "labelSelector": "app=x", "timeoutSeconds": "1"})
    assert [e["type"] for e in events] == ["ADDED", "DELETED", "ADDED"]


# -- CRD schema -------------------------------------------------------------------------


def test_schema_violations_are_422_with_field_paths(widgets: Sandbox, raw: Raw) -> None:
    bad = widget(
        replicas=20,
        size="huge",
        owner="Bad_Name",
        ports=[{"name": "http", "port": 80}, {"name": "http", "port": 70000}],
    )
    del bad["spec"]["image"]
    response = raw.post(WIDGETS, bad)
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["kind"] == "Status" and status["reason"] == "Invalid"
    assert status["details"]["kind"] == "Widget" and status["details"]["group"] == "example.com"
    causes = {c["field"]: c for c in status["details"]["causes"]}
    assert set(causes) == {
        "spec.image",
        "spec.replicas",
        "spec.size",
        "spec.owner",
        "spec.ports[1].port",
        "spec.ports[1]",
    }, causes
    assert causes["spec.image"]["reason"] == "FieldValueRequired"
    assert causes["spec.size"]["reason"] == "FieldValueNotSupported"
    assert 'supported values: "small", "medium", "large"' in causes["spec.size"]["message"]
    assert "should be less than or equal to 10" in causes["spec.replicas"]["message"]
    assert "should match '^[a-z][a-z0-9-]*$'" in causes["spec.owner"]["message"]
    assert causes["spec.ports[1]"]["reason"] == "FieldValueDuplicate"
    assert status["message"].startswith('Widget.example.com "w1" is invalid: [')

    typed = raw.post(WIDGETS, widget(replicas="three"))
    assert typed.status_code == 422
    assert "spec.replicas in body must be of type integer" in typed.json()["message"]


def test_defaulting_and_pruning(widgets: Sandbox, raw: Raw) -> None:
    body = widget(bogus=1, extra={"anything": {"goes": True}}, labels={"a": "b"})
    response = raw.post(WIDGETS, body)
    assert response.status_code == 201
    assert 'unknown field \\"spec.bogus\\"' in response.headers.get(
        "Warning", ""
    ) or 'unknown field "spec.bogus"' in response.headers.get("Warning", "")
    spec = response.json()["spec"]
    assert "bogus" not in spec, "unknown fields are pruned"
    assert spec["extra"] == {"anything": {"goes": True}}, "preserve-unknown-fields is kept"
    assert (spec["size"], spec["replicas"], spec["maxReplicas"]) == ("small", 1, 5), "defaults"
    strict = raw.post(WIDGETS, widget("w2", bogus=1), params={"fieldValidation": "Strict"})
    assert strict.status_code == 400 and 'unknown field "spec.bogus"' in strict.json()["message"]


def test_cel_rules_are_enforced_where_cel_python_can(widgets: Sandbox, raw: Raw) -> None:
    over = raw.post(WIDGETS, widget(replicas=7, maxReplicas=6))
    assert over.status_code == 422
    cause = over.json()["details"]["causes"][0]
    assert cause["field"] == "spec" and "replicas must not exceed maxReplicas" in cause["message"]
    assert raw.post(WIDGETS, widget(mode="slow")).status_code == 201, (
        "transition rules do not apply on create"
    )
    changed = raw.patch(f"{WIDGETS}/w1", {"spec": {"mode": "fast"}})
    assert changed.status_code == 422 and "mode is immutable" in changed.text
    negative = raw.post(WIDGETS, widget("w3", limit="-500m"))
    assert negative.status_code == 422 and "limit must be positive" in negative.text, (
        "the Kubernetes quantity library is evaluated"
    )
    assert raw.post(WIDGETS, widget("w3", limit="500m")).status_code == 201
    unenforced = widgets.unenforced_cel_rules
    assert list(unenforced) == ["!has(self.homepage) || isURL(self.homepage)"], unenforced
    assert raw.post(WIDGETS, widget("w4", homepage="not a url")).status_code == 201, (
        "the isURL() rule is listed as not enforced, and indeed not enforced"
    )


# -- printing, discovery, negotiation ------------------------------------------------------

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def test_table_printing_uses_additional_printer_columns(widgets: Sandbox, raw: Raw) -> None:
    raw.post(WIDGETS, widget(size="large", replicas=3))
    raw.patch(
        f"{WIDGETS}/w1/status",
        {"status": {"conditions": [{"type": "Ready", "status": "True"}], "message": "all good"}},
    )
    table = raw.get(WIDGETS, headers={"Accept": TABLE}).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Size",
        "Replicas",
        "Ready",
        "Message",
        "Age",
    ]
    assert table["columnDefinitions"][4]["priority"] == 1
    cells = table["rows"][0]["cells"]
    assert cells[:5] == ["w1", "large", 3, "True", "all good"]
    assert cells[5].endswith("s"), f"Age is a human duration: {cells[5]!r}"
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_discovery_lists_crds_and_subresources(widgets: Sandbox, raw: Raw) -> None:
    groups = raw.get("/apis").json()
    assert "example.com" in [g["name"] for g in groups["groups"]]
    resources = raw.get("/apis/example.com/v1").json()["resources"]
    names = {r["name"]: r for r in resources}
    assert names["widgets"]["shortNames"] == ["wd"] and names["widgets"]["namespaced"]
    assert "widgets/status" in names
    assert raw.get("/apis/kopf.zalando.org/v1/clusterkopfpeerings").status_code == 404


def test_protobuf_body_is_415_and_strategic_patch_on_crs_is_415(widgets: Sandbox, raw: Raw) -> None:
    response = raw.request(
        "POST", CM, data=b"k8s\x00", headers={"Content-Type": "application/vnd.kubernetes.protobuf"}
    )
    assert response.status_code == 415
    raw.post(WIDGETS, widget())
    smp = raw.patch(
        f"{WIDGETS}/w1", {"spec": {"replicas": 2}}, "application/strategic-merge-patch+json"
    )
    assert smp.status_code == 415
    negotiated = raw.get(
        CM, headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"}
    )
    assert negotiated.status_code == 200 and negotiated.json()["kind"] == "ConfigMapList"


def test_strategic_merge_patch_merges_containers_by_name(sandbox: Sandbox, raw: Raw) -> None:
    pod = {
        "metadata": {"name": "p"},
        "spec": {
            "nodeName": "nowhere",
            "containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}],
        },
    }
    raw.post("/api/v1/namespaces/default/pods", pod)
    patched = raw.patch(
        "/api/v1/namespaces/default/pods/p",
        {"spec": {"containers": [{"name": "b", "image": "y:2"}]}},
        "application/strategic-merge-patch+json",
    ).json()
    assert [(c["name"], c["image"]) for c in patched["spec"]["containers"]] == [
        ("a", "x:1"),
        ("b", "y:2"),
    ]


def test_injected_api_faults(sandbox: Sandbox, raw: Raw) -> None:
    raw.post(CM, cm("a"))
    sandbox.fail(500, times=1, verb="get", resource="configmaps")
    sandbox.fail(429, times=1, verb="patch")
    assert raw.get(f"{CM}/a").status_code == 500
    assert raw.get(f"{CM}/a").status_code == 200, "only N matching requests fail"
    throttled = raw.patch(f"{CM}/a", {"data": {"k": "v"}})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert ("get", "configmaps", "default", None) in sandbox.requests


def test_dropped_watch_ends_the_stream(sandbox: Sandbox, raw: Raw) -> None:
    rv = raw.get(CM).json()["metadata"]["resourceVersion"]
    result: list[list[dict[str, Any]]] = []
    thread = threading.Thread(
        target=lambda: result.append(
            raw.watch(CM, {"resourceVersion": rv, "timeoutSeconds": "30"}, timeout=30)
        )
    )
    start = time.monotonic()
    thread.start()
    sandbox.wait_for(lambda: sandbox.drop_watches("configmaps"), 5, "an open watch to drop")
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - start < 10, "the watch was not dropped"


def test_invalid_label_values_are_rejected(raw: Raw) -> None:
    too_long = raw.post(CM, cm("a", {"benchgate.dev/platform": "x" * 64}))
    assert too_long.status_code == 422, "label values are limited to 63 characters"
    cause = too_long.json()["details"]["causes"][0]
    assert cause["field"] == "metadata.labels" and "no more than 63 characters" in cause["message"]
    assert raw.post(CM, cm("b", {"bad key!": "v"})).status_code == 422
    assert raw.post(CM, cm("c", {"ok.example/key": "v-1.2_3"})).status_code == 201


def test_pod_spec_is_immutable_except_images(raw: Raw) -> None:
    pods = "/api/v1/namespaces/default/pods"
    raw.post(
        pods,
        {
            "metadata": {"name": "p"},
            "spec": {
                "nodeName": "nowhere",
                "containers": [{"name": "a", "image": "x:1", "command": ["true"]}],
            },
        },
    )
    changed = raw.patch(f"{pods}/p", {"spec": {"restartPolicy": "Never"}})
    assert changed.status_code == 422 and "pod updates may not change fields" in changed.text
    moved = raw.patch(f"{pods}/p", {"spec": {"nodeName": "elsewhere"}})
    assert moved.status_code == 422, "a bound pod cannot be moved"
    image = raw.patch(
        f"{pods}/p",
        {"spec": {"containers": [{"name": "a", "image": "x:2"}]}},
        "application/strategic-merge-patch+json",
    )
    assert image.status_code == 200, image.text
