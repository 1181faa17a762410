"""ValidatingAdmissionPolicy in the sandbox against the Kubernetes reference
(kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/): matching,
match conditions, variables, messages, reasons, failure policy, validation actions,
params, the authorizer library, and the shape of the API server's refusal.
"""

from __future__ import annotations

from typing import Any

from sandbox_http import Raw

from benchgate_sandbox.testing import Sandbox

ADM = "admissionregistration.k8s.io/v1"
CM = "/api/v1/namespaces/{ns}/configmaps"
RBAC = "rbac.authorization.k8s.io"


def policy(name: str, validations: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["configmaps"],
                }
            ]
        },
        "validations": validations,
    }
    body.update(spec)
    return {
        "apiVersion": ADM,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": body,
    }


def binding(
    name: str, policy_name: str, actions: list[str] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": ADM,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": policy_name, "validationActions": actions or ["Deny"], **spec},
    }


def cm(
    name: str, data: dict[str, str] | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}}


SIZE = {"expression": "size(object.data) <= 2", "message": "at most two keys"}


def test_a_denial_has_the_api_servers_shape(sandbox: Sandbox, raw: Raw) -> None:
    sandbox.apply(policy("small-maps", [SIZE]))
    sandbox.apply(binding("small-maps-binding", "small-maps"))
    assert raw.post(CM.format(ns="default"), cm("ok", {"a": "1"})).status_code == 201
    refused = raw.post(CM.format(ns="default"), cm("big", {"a": "1", "b": "2", "c": "3"}))
    assert refused.status_code == 422, "no reason: Invalid, 422"
    message = (
        "ValidatingAdmissionPolicy 'small-maps' with binding 'small-maps-binding' denied "
        "request: at most two keys"
    )
    assert refused.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'configmaps "big" is forbidden: {message}',
        "reason": "Invalid",
        "details": {"name": "big", "kind": "configmaps", "causes": [{"message": message}]},
        "code": 422,
    }
    # UPDATE is matched too; DELETE is not listed in operations.
    grown = raw.patch(CM.format(ns="default") + "/ok", {"data": {"b": "2", "c": "3"}})
    assert grown.status_code == 422
    assert raw.delete(CM.format(ns="default") + "/ok").status_code == 200


def test_messages_reasons_and_the_default_message(sandbox: Sandbox, raw: Raw) -> None:
    validations = [
        {
            "expression": "!has(object.data.forbidden)",
            "reason": "Forbidden",
            "messageExpression": "'key forbidden set by ' + request.userInfo.username",
        },
        {"expression": "!has(object.data.plain)"},
        {
            "expression": "!has(object.data.fallback)",
            "message": "the literal message",
            "messageExpression": "object.data.nonexistent",  # errors: the message is used
        },
    ]
    sandbox.apply(policy("messages", validations))
    sandbox.apply(binding("messages", "messages"))
    forbidden = raw.post(CM.format(ns="default"), cm("f", {"forbidden": "x"}))
    assert forbidden.status_code == 403 and forbidden.json()["reason"] == "Forbidden"
    assert forbidden.json()["message"].endswith(
        "denied request: key forbidden set by sandbox-admin"
    )
    plain = raw.post(CM.format(ns="default"), cm("p", {"plain": "x"})).json()
    assert plain["message"].endswith("denied request: failed expression: !has(object.data.plain)")
    fallback = raw.post(CM.format(ns="default"), cm("b", {"fallback": "x"})).json()
    assert fallback["message"].endswith("denied request: the literal message")


def test_match_conditions_selectors_and_exclusions_narrow_a_policy(
    sandbox: Sandbox, raw: Raw
) -> None:
    sandbox.create_namespace("checked", labels={"team": "checked"})
    sandbox.create_namespace("free")
    spec = policy(
        "narrow",
        [{"expression": "false", "message": "refused"}],
        matchConditions=[
            {
                "name": "not-exempt",
                "expression": "!has(object.metadata.labels) "
                "|| !('exempt' in object.metadata.labels)",
            }
        ],
    )
    spec["spec"]["matchConstraints"]["namespaceSelector"] = {"matchLabels": {"team": "checked"}}
    spec["spec"]["matchConstraints"]["excludeResourceRules"] = [
        {
            "apiGroups": [""],
            "apiVersions": ["*"],
            "operations": ["*"],
            "resources": ["configmaps"],
            "resourceNames": ["allowed-name"],
        }
    ]
    sandbox.apply(spec)
    sandbox.apply(binding("narrow", "narrow"))
    assert raw.post(CM.format(ns="checked"), cm("x")).status_code == 422
    assert raw.post(CM.format(ns="free"), cm("x")).status_code == 201, "namespaceSelector"
    assert raw.post(CM.format(ns="checked"), cm("y", labels={"exempt": "yes"})).status_code == 201
    assert raw.post(CM.format(ns="checked"), cm("allowed-name")).status_code == 201
    # A binding narrows further with matchResources.objectSelector.
    sandbox.apply(
        binding(
            "narrow",
            "narrow",
            matchResources={"objectSelector": {"matchLabels": {"strict": "yes"}}},
        )
    )
    assert raw.post(CM.format(ns="checked"), cm("z")).status_code == 201
    assert raw.post(CM.format(ns="checked"), cm("w", labels={"strict": "yes"})).status_code == 422


def test_a_policy_needs_a_binding_and_a_binding_its_policy(sandbox: Sandbox, raw: Raw) -> None:
    sandbox.apply(policy("unbound", [{"expression": "false"}]))
    assert raw.post(CM.format(ns="default"), cm("a")).status_code == 201
    sandbox.apply(binding("dangling", "no-such-policy"))
    assert raw.post(CM.format(ns="default"), cm("b")).status_code == 201


def test_failure_policy_decides_on_errors(sandbox: Sandbox, raw: Raw) -> None:
    broken = [{"expression": "object.data.missing == 'x'"}]
    sandbox.apply(policy("strict", broken))
    sandbox.apply(binding("strict", "strict"))
    refused = raw.post(CM.format(ns="default"), cm("a"))
    assert refused.status_code == 422
    assert "expression 'object.data.missing == 'x'' resulted in error" in refused.json()["message"]
    sandbox.apply(policy("strict", broken, failurePolicy="Ignore"))
    assert raw.post(CM.format(ns="default"), cm("b")).status_code == 201


def test_warn_and_deny_and_invalid_objects(sandbox: Sandbox, raw: Raw) -> None:
    sandbox.apply(policy("warned", [{"expression": "false", "message": "heads up"}]))
    sandbox.apply(binding("warned", "warned", ["Warn"]))
    made = raw.post(CM.format(ns="default"), cm("a"))
    assert made.status_code == 201
    assert made.headers["Warning"] == (
        "299 - \"Validation failed for ValidatingAdmissionPolicy 'warned' with binding "
        "'warned': heads up\""
    )
    both = raw.post(
        f"/apis/{ADM}/validatingadmissionpolicybindings",
        binding("both", "warned", ["Deny", "Warn"]),
    )
    assert both.status_code == 422 and "spec.validationActions" in both.json()["message"]
    bad = raw.post(
        f"/apis/{ADM}/validatingadmissionpolicies", policy("bad", [{"expression": "object.(("}])
    )
    assert bad.status_code == 422
    assert "spec.validations[0].expression" in bad.json()["message"], bad.json()
    # A policy that refuses everything cannot lock the policies themselves.
    lock = policy("lock", [{"expression": "false"}])
    lock["spec"]["matchConstraints"]["resourceRules"][0].update(
        apiGroups=["*"], apiVersions=["*"], resources=["*"], operations=["*"]
    )
    sandbox.apply(lock)
    sandbox.apply(binding("lock", "lock"))
    assert raw.post(CM.format(ns="default"), cm("locked")).status_code == 422
    assert raw.delete(f"/apis/{ADM}/validatingadmissionpolicybindings/lock").status_code == 200


def test_variables_params_and_old_object(sandbox: Sandbox, raw: Raw) -> None:
    limits = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "limits", "namespace": "default"},
        "data": {"max": "2"},
    }
    sandbox.apply(limits)
    spec = policy(
        "params",
        [
            {
                "expression": "variables.keys <= int(params.data.max)",
                "messageExpression": "'too many keys: ' + string(variables.keys)",
            },
            {
                "expression": "oldObject == null || !has(oldObject.data.frozen) "
                "|| object.data.frozen == oldObject.data.frozen",
                "message": "frozen is frozen",
            },
        ],
        paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
        variables=[{"name": "keys", "expression": "size(object.data)"}],
    )
    spec["spec"]["matchConstraints"]["resourceRules"][0]["resourceNames"] = ["target", "target2"]
    sandbox.apply(spec)
    sandbox.apply(
        binding(
            "params",
            "params",
            paramRef={"name": "limits", "namespace": "default", "parameterNotFoundAction": "Deny"},
        )
    )
    assert (
        raw.post(CM.format(ns="default"), cm("target", {"a": "1", "frozen": "y"})).status_code
        == 201
    )
    too_many = raw.post(CM.format(ns="default"), cm("target2", {"a": "1", "b": "2", "c": "3"}))
    assert too_many.json()["message"].endswith("too many keys: 3")
    changed = raw.patch(CM.format(ns="default") + "/target", {"data": {"frozen": "n"}})
    assert changed.status_code == 422 and changed.json()["message"].endswith("frozen is frozen")
    sandbox.delete("v1", "ConfigMap", "limits", "default")
    missing = raw.post(CM.format(ns="default"), cm("target2", {"a": "1"}))
    assert missing.status_code == 422
    assert (
        "no params found for policy binding with `Deny` parameterNotFoundAction"
        in missing.json()["message"]
    )


def test_the_authorizer_library_asks_rbac_about_the_requester(sandbox: Sandbox, raw: Raw) -> None:
    validations = [
        {
            "expression": "!has(object.data.secretRef) || authorizer.group('')"
            ".resource('secrets').namespace(request.namespace).name(object.data.secretRef)"
            ".check('get').allowed()",
            "reason": "Forbidden",
            "messageExpression": "'user ' + request.userInfo.username "
            "+ ' may not read secret ' + object.data.secretRef",
        },
        {
            "expression": "!has(object.data.custom) "
            "|| authorizer.requestResource.check('approve').allowed()"
        },
        {
            "expression": "!has(object.data.asBot) || authorizer.serviceAccount('default', 'bot')"
            ".group('').resource('pods').namespace('default').check('list').allowed()"
        },
    ]
    sandbox.apply(policy("authz", validations))
    sandbox.apply(binding("authz", "authz"))
    sandbox.apply(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role",
            "metadata": {"name": "cm-writer", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}],
        }
    )
    sandbox.apply(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "pat", "namespace": "default"},
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "cm-writer"},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "pat"}],
        }
    )
    pat = Raw(sandbox.url, sandbox.ca_path, sandbox.add_user("pat"))
    assert pat.post(CM.format(ns="default"), cm("a")).status_code == 201
    refused = pat.post(CM.format(ns="default"), cm("b", {"secretRef": "db"}))
    assert refused.status_code == 403 and refused.json()["message"].endswith(
        "user pat may not read secret db"
    )
    assert raw.post(CM.format(ns="default"), cm("c", {"secretRef": "db"})).status_code == 201, (
        "admin may"
    )
    assert pat.post(CM.format(ns="default"), cm("d", {"custom": "1"})).status_code == 422, (
        "custom verb"
    )
    assert pat.post(CM.format(ns="default"), cm("e", {"asBot": "1"})).status_code == 422, (
        "the bot holds nothing"
    )
    sandbox.apply(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role",
            "metadata": {"name": "pod-lister", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        }
    )
    sandbox.apply(
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "bot", "namespace": "default"},
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "pod-lister"},
            "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}],
        }
    )
    assert pat.post(CM.format(ns="default"), cm("f", {"asBot": "1"})).status_code == 201
