"""ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1), evaluated on every write.

What the API server's validating admission does with a policy and its bindings
(k8s.io/apiserver/pkg/admission/plugin/policy/validating), in the same order:

1. Every ValidatingAdmissionPolicyBinding names its policy; a binding whose policy does
   not exist is skipped. The request must match the policy's `matchConstraints` and the
   binding's `matchResources`: resourceRules (apiGroups, apiVersions, operations,
   resources with `*`, `res/*`, `*/sub`; scope; resourceNames), excludeResourceRules,
   namespaceSelector (the labels of the request's namespace; a Namespace matches by its
   own) and objectSelector (object or oldObject). The policy and binding kinds, and
   webhook configurations, are never intercepted.
2. With `paramKind`, the binding's `paramRef` picks the params (by name, or by label
   selector; `parameterNotFoundAction` Allow or Deny); the policy is evaluated once
   per params object.
3. `matchConditions` must all be true, else the policy does not apply.
4. `variables` are evaluated in order (a later one may use `variables.<earlier>`; an
   error is kept as the variable's value and only matters where it is used), then every
   `validations[]` expression. False denies with `messageExpression` (if it evaluates
   to a one-line string), else `message`, else "failed expression: <expression>"; the
   validation's `reason` (default Invalid) sets the HTTP code: Invalid 422, Forbidden
   403, Unauthorized 401, RequestEntityTooLarge 413. An evaluation error follows
   `failurePolicy` (Fail, the default, denies; Ignore admits).
5. The binding's `validationActions`: Deny refuses the request with
   `<resource>.<group> "<name>" is forbidden: ValidatingAdmissionPolicy '<p>' with
   binding '<b>' denied request: <message>`; Warn adds a `Warning` header; Audit has no
   audit log to go to here.

CEL: `object`, `oldObject` (null on CREATE / DELETE), `request` (kind, resource,
subResource, name, namespace, operation, userInfo, dryRun, options), `params`,
`namespaceObject`, `variables`, and `authorizer` with the Kubernetes authz library:
`authorizer.group(g).resource(r).subresource(s).namespace(ns).name(n).check(verb)`
giving a Decision with `allowed()`, `reason()`, `errored()`, `error()`;
`authorizer.path(p).check(verb)`; `authorizer.serviceAccount(ns, name)` (an authorizer
acting as that ServiceAccount) and `authorizer.requestResource` (a check on the
request's own resource). Checks go to the sandbox's RBAC authorizer. cel-python
evaluates the expressions with the quantity library of `benchgate.api.cel`; an
expression that calls another Kubernetes-only function cannot be evaluated here: it is
recorded in `unenforced` (listed at start-up) and its evaluation error follows
failurePolicy, as an error would on a real server.

Expressions are compiled when a policy is created or changed; one that does not parse
is refused (422, naming the field), as the real server refuses it. The real server
also type-checks against the matched kinds' schemas; cel-python does not.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from benchgate.api.cel import FUNCTIONS, KUBERNETES_ONLY_CALL
from benchgate.api.structural import Cause
from benchgate_sandbox.authn import UserInfo, service_account_user
from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.rbac import Attributes, RbacAuthorizer
from benchgate_sandbox.resources import ADMISSION_GROUP, JSON
from benchgate_sandbox.selectors import selector_object_matches
from benchgate_sandbox.store import AdmissionAttributes, Store

POLICIES = (ADMISSION_GROUP, "validatingadmissionpolicies")
BINDINGS = (ADMISSION_GROUP, "validatingadmissionpolicybindings")
# Never intercepted, so that a broken policy can always be fixed or removed.
EXEMPT = {
    (ADMISSION_GROUP, r)
    for r in (
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
        "mutatingadmissionpolicies",
        "mutatingadmissionpolicybindings",
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
    )
}
REASON_CODES = {"Invalid": 422, "Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413}
MAX_MESSAGE_BYTES = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes


# -- the authz library ----------------------------------------------------------------------


class AuthorizerVal(celtypes.MapType):
    """`authorizer`: a map only so that `authorizer.requestResource` reads as a field."""

    def __init__(self, rbac: RbacAuthorizer, user: UserInfo, request: ResourceCheck | None):
        super().__init__({celtypes.StringType("requestResource"): request} if request else {})
        self.rbac = rbac
        self.user = user


@dataclass(frozen=True)
class GroupCheck:
    authorizer: AuthorizerVal
    group: str


@dataclass(frozen=True)
class ResourceCheck:
    authorizer: AuthorizerVal
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""


@dataclass(frozen=True)
class PathCheck:
    authorizer: AuthorizerVal
    path: str


@dataclass(frozen=True)
class DecisionVal:
    allowed: bool
    reason: str
    error: str = ""


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    return str(value)


def _path(a: Any, p: Any) -> PathCheck:
    if not isinstance(a, AuthorizerVal):
        raise TypeError("path() applies to an authorizer")
    if not _text(p, "path").strip():
        raise ValueError("path must not be empty")
    return PathCheck(a, str(p))


def _group(a: Any, g: Any) -> GroupCheck:
    if not isinstance(a, AuthorizerVal):
        raise TypeError("group() applies to an authorizer")
    return GroupCheck(a, _text(g, "group"))


def _service_account(a: Any, namespace: Any, name: Any) -> AuthorizerVal:
    if not isinstance(a, AuthorizerVal):
        raise TypeError("serviceAccount() applies to an authorizer")
    user = service_account_user(_text(namespace, "namespace"), _text(name, "name"))
    return AuthorizerVal(a.rbac, user, None)


def _resource(g: Any, r: Any) -> ResourceCheck:
    if not isinstance(g, GroupCheck):
        raise TypeError("resource() applies to a GroupCheck")
    if not _text(r, "resource").strip():
        raise ValueError("resource must not be empty")
    return ResourceCheck(g.authorizer, g.group, str(r))


def _with(field_name: str) -> Any:
    def setter(check: Any, value: Any) -> ResourceCheck:
        if not isinstance(check, ResourceCheck):
            raise TypeError(f"{field_name}() applies to a ResourceCheck")
        changes: dict[str, Any] = {field_name: _text(value, field_name)}
        return dataclasses.replace(check, **changes)

    return setter


def _selector(check: Any, _value: Any) -> ResourceCheck:
    """fieldSelector()/labelSelector(): RBAC ignores selectors, so the check is unchanged."""
    if not isinstance(check, ResourceCheck):
        raise TypeError("selectors apply to a ResourceCheck")
    return check


def _check(target: Any, verb: Any) -> DecisionVal:
    verb = _text(verb, "verb")
    if isinstance(target, ResourceCheck):
        attributes = Attributes(
            target.authorizer.user,
            verb,
            True,
            target.group,
            target.resource,
            target.subresource,
            target.namespace,
            target.name,
        )
    elif isinstance(target, PathCheck):
        attributes = Attributes(target.authorizer.user, verb, False, path=target.path)
    else:
        raise TypeError("check() applies to a ResourceCheck or a PathCheck")
    decision = target.authorizer.rbac.authorize(attributes)
    return DecisionVal(decision.allowed, decision.reason)


def _decision(d: Any) -> DecisionVal:
    if not isinstance(d, DecisionVal):
        raise TypeError("expected an authorization Decision")
    return d


AUTHZ_FUNCTIONS: dict[str, Any] = {
    "path": _path,
    "group": _group,
    "serviceAccount": _service_account,
    "resource": _resource,
    "subresource": _with("subresource"),
    "namespace": _with("namespace"),
    "name": _with("name"),
    "fieldSelector": _selector,
    "labelSelector": _selector,
    "check": _check,
    "allowed": lambda d: celtypes.BoolType(_decision(d).allowed),
    "reason": lambda d: celtypes.StringType(_decision(d).reason),
    "errored": lambda d: celtypes.BoolType(bool(_decision(d).error)),
    "error": lambda d: celtypes.StringType(_decision(d).error),
}


# -- compilation ----------------------------------------------------------------------------


class Compiled:
    """Every expression of the policies, compiled once (keyed by text)."""

    def __init__(self) -> None:
        self.env = celpy.Environment()
        self.programs: dict[str, Any] = {}
        self.functions = {**FUNCTIONS, **AUTHZ_FUNCTIONS}
        self.unenforced: dict[str, str] = {}

    def compile(self, expression: str) -> Any:
        """The program; CELParseError when the expression does not parse."""
        program = self.programs.get(expression)
        if program is None:
            program = self.env.program(self.env.compile(expression), functions=self.functions)
            self.programs[expression] = program
            if m := KUBERNETES_ONLY_CALL.search(expression):
                self.unenforced[expression] = (
                    f"uses the Kubernetes CEL extension {m.group(1)!r}, which cel-python does "
                    "not implement: its evaluation fails and failurePolicy decides"
                )
        return program

    def evaluate(self, expression: str, activation: Mapping[str, Any]) -> Any:
        """The value, or a CELEvalError (CEL errors are values)."""
        try:
            result = self.compile(expression).evaluate(dict(activation))
        except CELEvalError as exc:
            return exc
        except (CELParseError, TypeError, ValueError, KeyError) as exc:
            return CELEvalError(str(exc), type(exc), None)
        return result


def _why(error: CELEvalError) -> str:
    return str(error.args[0]) if error.args else str(error)


def _expressions(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(field path, expression) of every CEL expression in a policy spec."""
    for i, cond in enumerate(spec.get("matchConditions") or ()):
        yield f"spec.matchConditions[{i}].expression", str(cond.get("expression", ""))
    for i, var in enumerate(spec.get("variables") or ()):
        yield f"spec.variables[{i}].expression", str(var.get("expression", ""))
    for i, val in enumerate(spec.get("validations") or ()):
        yield f"spec.validations[{i}].expression", str(val.get("expression", ""))
        if val.get("messageExpression"):
            yield f"spec.validations[{i}].messageExpression", str(val["messageExpression"])
    for i, ann in enumerate(spec.get("auditAnnotations") or ()):
        yield f"spec.auditAnnotations[{i}].valueExpression", str(ann.get("valueExpression", ""))


# -- matching -------------------------------------------------------------------------------


def _resource_matches(patterns: list[str], resource: str, subresource: str) -> bool:
    for pattern in patterns:
        res, _, sub = pattern.partition("/")
        if res in ("*", resource) and sub in ("*", subresource):
            return True
    return False


def _rule_matches(rule: Mapping[str, Any], a: AdmissionAttributes) -> bool:
    def has(key: str, value: str) -> bool:
        values = [str(v) for v in rule.get(key) or ()]
        return "*" in values or value in values

    # A Namespace object is cluster-scoped: its namespace attribute here is "".
    scope = rule.get("scope") or "*"
    names = rule.get("resourceNames") or ()
    resources = [str(r) for r in rule.get("resources") or ()]
    return (
        has("operations", a.operation)
        and has("apiGroups", a.rt.group)
        and has("apiVersions", a.rt.version)
        and _resource_matches(resources, a.rt.plural, a.subresource)
        and (scope == "*" or (scope == "Namespaced") == bool(a.namespace))
        and (not names or a.name in names)
    )


class PolicyError(Exception):
    """The policy or binding cannot be applied (missing params, ...): failurePolicy decides."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Decision:
    message: str
    reason: str = "Invalid"
    warnings: list[str] = field(default_factory=list)


class PolicyAdmission:
    """The validating admission plugin, with the store's policies and bindings."""

    def __init__(self, store: Store, rbac: RbacAuthorizer) -> None:
        self.store = store
        self.rbac = rbac
        self.compiled = Compiled()

    # -- validation of the API objects themselves -------------------------------------------
    def validate_policy(self, obj: JSON, old: JSON | None) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes: list[Cause] = []
        constraints = spec.get("matchConstraints")
        if not isinstance(constraints, Mapping) or not constraints.get("resourceRules"):
            causes.append(
                Cause("FieldValueRequired", "spec.matchConstraints.resourceRules", "Required value")
            )
        if not spec.get("validations") and not spec.get("auditAnnotations"):
            causes.append(
                Cause(
                    "FieldValueRequired",
                    "spec.validations",
                    "Required value: validations or auditAnnotations must contain at least "
                    "one item",
                )
            )
        policy = spec.get("failurePolicy", "Fail")
        if policy not in ("Fail", "Ignore"):
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    "spec.failurePolicy",
                    f'Unsupported value: "{policy}": supported values: "Fail", "Ignore"',
                )
            )
        for i, val in enumerate(spec.get("validations") or ()):
            reason = val.get("reason")
            if reason is not None and reason not in REASON_CODES:
                causes.append(
                    Cause(
                        "FieldValueNotSupported",
                        f"spec.validations[{i}].reason",
                        f'Unsupported value: "{reason}": supported values: "Unauthorized", '
                        '"Forbidden", "Invalid", "RequestEntityTooLarge"',
                    )
                )
        for path, expression in _expressions(spec):
            if not expression.strip():
                causes.append(Cause("FieldValueRequired", path, "Required value"))
                continue
            try:
                self.compiled.compile(expression)
            except CELParseError as exc:
                detail = " ".join(str(exc).split())
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        path,
                        f'Invalid value: "{expression}": compilation failed: {detail}',
                    )
                )
        return causes

    @staticmethod
    def default_policy(obj: JSON, old: JSON | None) -> None:
        """The API server's defaults for a policy (what `kubectl get -o yaml` reads back)."""
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        spec.setdefault("failurePolicy", "Fail")
        constraints = spec.get("matchConstraints")
        if isinstance(constraints, dict):
            constraints.setdefault("matchPolicy", "Equivalent")
            constraints.setdefault("namespaceSelector", {})
            constraints.setdefault("objectSelector", {})
            for rule in constraints.get("resourceRules") or ():
                if isinstance(rule, dict):
                    rule.setdefault("scope", "*")

    @staticmethod
    def validate_binding(obj: JSON, old: JSON | None) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes: list[Cause] = []
        if not spec.get("policyName"):
            causes.append(Cause("FieldValueRequired", "spec.policyName", "Required value"))
        actions = [str(a) for a in spec.get("validationActions") or ()]
        if not actions:
            causes.append(
                Cause(
                    "FieldValueRequired",
                    "spec.validationActions",
                    "Required value: at least one validation action is required",
                )
            )
        for i, action in enumerate(actions):
            if action not in ("Deny", "Warn", "Audit"):
                causes.append(
                    Cause(
                        "FieldValueNotSupported",
                        f"spec.validationActions[{i}]",
                        f'Unsupported value: "{action}": supported values: "Audit", "Deny", "Warn"',
                    )
                )
        if len(set(actions)) != len(actions):
            causes.append(Cause("FieldValueDuplicate", "spec.validationActions", "Duplicate value"))
        if "Deny" in actions and "Warn" in actions:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    "spec.validationActions",
                    "Invalid value: must not contain both Deny and Warn (repeating the same "
                    "validation failure information in the API response and headers serves "
                    "no purpose)",
                )
            )
        ref = spec.get("paramRef")
        if ref is not None and not ref.get("parameterNotFoundAction"):
            causes.append(
                Cause(
                    "FieldValueRequired", "spec.paramRef.parameterNotFoundAction", "Required value"
                )
            )
        return causes

    # -- admission -----------------------------------------------------------------------------
    def __call__(self, a: AdmissionAttributes) -> None:
        if (a.rt.group, a.rt.plural) in EXEMPT:
            return
        bindings = self.store.objects.get(BINDINGS) or {}
        policies = self.store.objects.get(POLICIES) or {}
        if not bindings:
            return
        denied: tuple[str, str, Decision] | None = None
        for (_, binding_name), binding in sorted(bindings.items()):
            spec = binding.get("spec") or {}
            policy = policies.get(("", str(spec.get("policyName", ""))))
            if policy is None:
                continue
            pspec = policy.get("spec") or {}
            if not self._matches(pspec.get("matchConstraints") or {}, a, require_rules=True):
                continue
            if spec.get("matchResources") and not self._matches(
                spec["matchResources"], a, require_rules=False
            ):
                continue
            decisions = self._evaluate(policy, binding, a)
            actions = spec.get("validationActions") or []
            for decision in decisions:
                if "Warn" in actions:
                    a.warnings.append(
                        f"Validation failed for ValidatingAdmissionPolicy "
                        f"'{policy['metadata']['name']}' with binding '{binding_name}': "
                        f"{decision.message}"
                    )
                if "Deny" in actions and denied is None:
                    denied = (policy["metadata"]["name"], binding_name, decision)
        if denied is None:
            return
        policy_name, binding_name, decision = denied
        message = (
            f"ValidatingAdmissionPolicy '{policy_name}' with binding '{binding_name}' denied "
            f"request: {decision.message}"
        )
        qualified = f"{a.rt.plural}.{a.rt.group}" if a.rt.group else a.rt.plural
        subject = f'{qualified} "{a.name}"' if a.name else qualified
        details: JSON = {"name": a.name, "kind": a.rt.plural, "causes": [{"message": message}]}
        if a.rt.group:
            details["group"] = a.rt.group
        raise ApiError(
            REASON_CODES.get(decision.reason, 422),
            decision.reason,
            f"{subject} is forbidden: {message}",
            details,
        )

    def _namespace_labels(self, a: AdmissionAttributes) -> Mapping[str, str] | None:
        if a.rt.key == ("", "namespaces"):
            return ((a.obj or a.old or {}).get("metadata") or {}).get("labels") or {}
        if not a.namespace:
            return None
        ns = (self.store.objects.get(("", "namespaces")) or {}).get(("", a.namespace))
        return ((ns or {}).get("metadata") or {}).get("labels") or {}

    def _matches(
        self, match: Mapping[str, Any], a: AdmissionAttributes, require_rules: bool
    ) -> bool:
        rules = match.get("resourceRules") or []
        if (rules or require_rules) and not any(_rule_matches(r, a) for r in rules):
            return False
        if any(_rule_matches(r, a) for r in match.get("excludeResourceRules") or ()):
            return False
        labels = self._namespace_labels(a)
        if labels is not None and not selector_object_matches(
            match.get("namespaceSelector"), labels
        ):
            return False
        selector = match.get("objectSelector")
        if selector:
            candidates = [o for o in (a.obj, a.old) if o is not None]
            if not any(
                selector_object_matches(selector, (o.get("metadata") or {}).get("labels") or {})
                for o in candidates
            ):
                return False
        return True

    def _params(self, policy: JSON, binding: JSON, a: AdmissionAttributes) -> list[JSON | None]:
        kind = (policy.get("spec") or {}).get("paramKind")
        if not kind:
            return [None]
        ref = (binding.get("spec") or {}).get("paramRef")
        if not ref:
            raise PolicyError("failed to configure binding: no paramRef specified")
        rt = self.store.type_for_kind(str(kind.get("apiVersion", "")), str(kind.get("kind", "")))
        if rt is None:
            raise PolicyError(
                f"failed to configure policy: no such paramKind {kind.get('apiVersion')}/"
                f"{kind.get('kind')}"
            )
        namespace = ""
        if rt.namespaced:
            namespace = str(ref.get("namespace") or a.namespace)
            if not namespace:
                raise PolicyError(
                    "cannot use a namespaced paramKind without paramRef.namespace for a "
                    "cluster-scoped request"
                )
        objects = self.store.objects.get(rt.key) or {}
        if ref.get("name"):
            found = objects.get((namespace, str(ref["name"])))
            params = [found] if found is not None else []
        else:
            params = [
                o
                for (ns, _), o in sorted(objects.items())
                if ns == namespace
                and selector_object_matches(
                    ref.get("selector") or {}, (o.get("metadata") or {}).get("labels") or {}
                )
            ]
        if params:
            return [copy.deepcopy(p) for p in params]
        if ref.get("parameterNotFoundAction") == "Deny":
            raise PolicyError(
                "no params found for policy binding with `Deny` parameterNotFoundAction"
            )
        return []

    def _activation(self, a: AdmissionAttributes, params: JSON | None) -> dict[str, Any]:
        info = a.user
        kind = a.obj.get("kind") if a.obj else (a.old or {}).get("kind", a.rt.kind)
        request = {
            "uid": str(uuid.uuid4()),
            "kind": {"group": a.rt.group, "version": a.rt.version, "kind": kind or a.rt.kind},
            "resource": {"group": a.rt.group, "version": a.rt.version, "resource": a.rt.plural},
            "subResource": a.subresource,
            "requestKind": {
                "group": a.rt.group,
                "version": a.rt.version,
                "kind": kind or a.rt.kind,
            },
            "requestResource": {
                "group": a.rt.group,
                "version": a.rt.version,
                "resource": a.rt.plural,
            },
            "requestSubResource": a.subresource,
            "name": a.name,
            "namespace": a.namespace,
            "operation": a.operation,
            "userInfo": info.to_dict(),
            "dryRun": a.dry_run,
            "options": {
                "kind": {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions"}.get(
                    a.operation, "DeleteOptions"
                ),
                "apiVersion": "meta.k8s.io/v1",
            },
        }
        namespace_object = None
        if a.namespace:
            ns = (self.store.objects.get(("", "namespaces")) or {}).get(("", a.namespace))
            namespace_object = json_to_cel(copy.deepcopy(ns)) if ns is not None else None
        authorizer = AuthorizerVal(self.rbac, info, None)
        own = ResourceCheck(authorizer, a.rt.group, a.rt.plural, a.subresource, a.namespace, a.name)
        authorizer = AuthorizerVal(self.rbac, info, own)
        return {
            "object": json_to_cel(copy.deepcopy(a.obj)) if a.obj is not None else None,
            "oldObject": json_to_cel(copy.deepcopy(a.old)) if a.old is not None else None,
            "request": json_to_cel(request),
            "params": json_to_cel(params) if params is not None else None,
            "namespaceObject": namespace_object,
            "authorizer": authorizer,
        }

    def _evaluate(self, policy: JSON, binding: JSON, a: AdmissionAttributes) -> list[Decision]:
        spec = policy.get("spec") or {}
        fail = spec.get("failurePolicy", "Fail") != "Ignore"
        try:
            params_list = self._params(policy, binding, a)
        except PolicyError as exc:
            return [Decision(exc.message)] if fail else []
        decisions: list[Decision] = []
        for params in params_list:
            activation = self._activation(a, params)
            applies = True
            for cond in spec.get("matchConditions") or ():
                result = self.compiled.evaluate(str(cond.get("expression", "")), activation)
                if isinstance(result, CELEvalError) or not isinstance(result, celtypes.BoolType):
                    if fail:
                        why = _why(result) if isinstance(result, CELEvalError) else "not a bool"
                        decisions.append(
                            Decision(
                                f"failed to evaluate match condition {cond.get('name')!r}: {why}"
                            )
                        )
                    applies = False
                    break
                if not result:
                    applies = False
                    break
            if not applies:
                continue
            variables: dict[Any, Any] = {}
            activation["variables"] = celtypes.MapType(variables)
            for var in spec.get("variables") or ():
                value = self.compiled.evaluate(str(var.get("expression", "")), activation)
                variables[celtypes.StringType(str(var.get("name", "")))] = value
                activation["variables"] = celtypes.MapType(variables)
            for validation in spec.get("validations") or ():
                decision = self._validate(validation, activation, fail)
                if decision is not None:
                    decisions.append(decision)
        return decisions

    def _validate(
        self, validation: Mapping[str, Any], activation: Mapping[str, Any], fail: bool
    ) -> Decision | None:
        expression = str(validation.get("expression", ""))
        result = self.compiled.evaluate(expression, activation)
        if isinstance(result, CELEvalError) or not isinstance(result, celtypes.BoolType):
            if not fail:
                return None
            why = (
                _why(result)
                if isinstance(result, CELEvalError)
                else ("validation expression must evaluate to bool")
            )
            return Decision(f"expression '{expression}' resulted in error: {why}")
        if result:
            return None
        message = ""
        if validation.get("messageExpression"):
            value = self.compiled.evaluate(str(validation["messageExpression"]), activation)
            if isinstance(value, str) and not isinstance(value, CELEvalError):
                text = str(value).strip()
                if len(text.encode()) <= MAX_MESSAGE_BYTES and "\n" not in text:
                    message = text
        if not message:
            message = str(validation.get("message") or "").strip()
        if not message:
            message = f"failed expression: {expression.strip()}"
        return Decision(message, str(validation.get("reason") or "Invalid"))


def install_policy_admission(store: Store, rbac: RbacAuthorizer) -> PolicyAdmission:
    plugin = PolicyAdmission(store, rbac)
    store.mutators.setdefault(POLICIES, []).append(plugin.default_policy)
    store.validators.setdefault(POLICIES, []).append(plugin.validate_policy)
    store.validators.setdefault(BINDINGS, []).append(plugin.validate_binding)
    store.admission.append(plugin)
    return plugin
