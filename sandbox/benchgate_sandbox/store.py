"""The object store behind the API stand-in: etcd plus the generic registry semantics.

Single-threaded: every method runs on the sandbox's event loop, so a mutation and the
watch event it emits are atomic with respect to readers. Controllers (kubelet,
scheduler, jobs, GC) subscribe to events; the HTTP layer subscribes per watch.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from jsonschema.exceptions import SchemaError

from benchgate.api.cel import CelEngine
from benchgate.api.structural import Cause
from benchgate_sandbox import errors
from benchgate_sandbox.authn import SANDBOX_ADMIN, UserInfo
from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.metadata import metadata_causes
from benchgate_sandbox.resources import (
    BUILTIN_TYPES,
    JSON,
    RBAC_GROUP,
    CRDError,
    ResourceType,
    types_from_crd,
)
from benchgate_sandbox.selectors import (
    FieldRequirement,
    Requirement,
    fields_match,
    labels_match,
)
from benchgate_sandbox.validation import SchemaValidator

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED MODIFIED DELETED
    key: tuple[str, str]  # (group, plural)
    obj: JSON
    old: JSON | None


Mutator = Callable[[JSON, "JSON | None"], None]
Validator = Callable[[JSON, "JSON | None"], list[Cause]]


@dataclass(frozen=True)
class AdmissionAttributes:
    """admission.Attributes: one write as validating admission sees it, after defaulting
    and schema validation (object is None for DELETE, old is None for CREATE)."""

    operation: str  # CREATE UPDATE DELETE
    rt: ResourceType
    namespace: str  # "" for a cluster-scoped object
    name: str
    subresource: str
    obj: JSON | None
    old: JSON | None
    user: UserInfo
    dry_run: bool
    warnings: list[str]


# A validating admission plugin: raises ApiError to refuse, may append warnings.
ValidatingHook = Callable[[AdmissionAttributes], None]


class Store:
    def __init__(self, history: int = 2000) -> None:
        self.rv = 1
        self.compacted_rv = 0
        self.history: deque[Event] = deque(maxlen=history)
        self.objects: dict[tuple[str, str], dict[tuple[str, str], JSON]] = {}
        self.types: dict[tuple[str, str, str], ResourceType] = {}
        self.listeners: list[Callable[[Event], None]] = []
        self.mutators: dict[tuple[str, str], list[Mutator]] = {}
        self.validators: dict[tuple[str, str], list[Validator]] = {}
        # Validating admission plugins, in order, for every kind (after the validators).
        self.admission: list[ValidatingHook] = []
        self.cel = CelEngine()
        self.schemas = SchemaValidator(self.cel)
        for rt in BUILTIN_TYPES:
            self._register(rt)
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(self.type_for("", "v1", "namespaces"), None, {"metadata": {"name": ns}})

    # -- types ---------------------------------------------------------------------
    def _register(self, rt: ResourceType) -> None:
        self.types[(rt.group, rt.version, rt.plural)] = rt
        self.objects.setdefault(rt.key, {})

    def type_for(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.types.get((group, version, plural))
        if rt is None:
            # the real API's answer for an unknown resource path: plain 404 NotFound
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        return rt

    def type_for_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self.types.values():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

    def all_types(self) -> Iterable[ResourceType]:
        return list(self.types.values())

    # -- events --------------------------------------------------------------------
    def _emit(self, type_: str, rt: ResourceType, obj: JSON, old: JSON | None) -> None:
        if len(self.history) == self.history.maxlen:
            self.compacted_rv = self.history[0].rv
        event = Event(self.rv, type_, rt.key, copy.deepcopy(obj), old)
        self.history.append(event)
        for listener in list(self.listeners):
            listener(event)

    def compact(self) -> None:
        """Forget all watch history, as etcd compaction does: older RVs now get 410."""
        self.compacted_rv = self.rv
        self.history.clear()

    def _next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    # -- reads ---------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> JSON:
        obj = self.objects[rt.key].get((namespace or "", name))
        if obj is None:
            raise errors.not_found(rt.qualified, name)
        return copy.deepcopy(obj)

    def peek(self, rt: ResourceType, namespace: str | None, name: str) -> JSON | None:
        """The stored object, not a copy: for controllers that only read."""
        return self.objects[rt.key].get((namespace or "", name))

    def select(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: tuple[Requirement, ...] = (),
        fields: tuple[FieldRequirement, ...] = (),
    ) -> list[JSON]:
        items = []
        for (ns, _name), obj in sorted(self.objects[rt.key].items()):
            if namespace and rt.namespaced and ns != namespace:
                continue
            if labels_match(labels, obj) and fields_match(fields, obj):
                items.append(copy.deepcopy(obj))
        return items

    def iter_objects(self, rt: ResourceType) -> list[JSON]:
        return list(self.objects[rt.key].values())

    # -- admission -----------------------------------------------------------------
    def _admit(
        self,
        rt: ResourceType,
        obj: JSON,
        old: JSON | None,
        field_validation: str,
        warnings: list[str],
        *,
        user: UserInfo | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> None:
        causes: list[Cause] = []
        for mutate in self.mutators.get(rt.key, []):
            mutate(obj, old)
        if rt.schema is not None:
            outcome = self.schemas.admit(rt.schema, obj, old)
            causes += outcome.causes
            if outcome.unknown_fields:
                if field_validation == "Strict":
                    listing = ", ".join(f'unknown field "{f}"' for f in outcome.unknown_fields)
                    raise errors.bad_request(f"strict decoding error: {listing}")
                if field_validation != "Ignore":
                    warnings += [f'unknown field "{f}"' for f in outcome.unknown_fields]
        causes += metadata_causes(obj)
        for validate in self.validators.get(rt.key, []):
            causes += validate(obj, old)
        name = obj["metadata"].get("name", "")
        if causes:
            kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
            messages = [c.message for c in causes]
            text = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
            raise ApiError(
                422,
                "Invalid",
                f'{kind} "{name}" is invalid: {text}',
                {
                    "name": name,
                    "group": rt.group,
                    "kind": rt.kind,
                    "causes": [c.to_dict() for c in causes],
                },
            )
        self._validating_admission(
            AdmissionAttributes(
                "CREATE" if old is None else "UPDATE",
                rt,
                str(obj["metadata"].get("namespace") or ""),
                name,
                subresource or "",
                obj,
                old,
                user or SANDBOX_ADMIN,
                dry_run,
                warnings,
            )
        )

    def _validating_admission(self, attributes: AdmissionAttributes) -> None:
        for hook in list(self.admission):
            hook(attributes)

    def _check_namespace(self, rt: ResourceType, namespace: str | None) -> str:
        if not rt.namespaced:
            return ""
        if not namespace:
            raise errors.bad_request(
                "the server could not find the requested resource: a namespace is required"
            )
        ns = self.objects[("", "namespaces")].get(("", namespace))
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f"{rt.plural} is forbidden: unable to create new "
                f"content in namespace {namespace} because it is being terminated",
                {"name": "", "kind": rt.plural},
            )
        return namespace

    # -- writes --------------------------------------------------------------------
    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: JSON,
        *,
        dry_run: bool = False,
        field_validation: str = "Warn",
        warnings: list[str] | None = None,
        user: UserInfo | None = None,
    ) -> JSON:
        warnings = warnings if warnings is not None else []
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        body_ns = meta.get("namespace")
        ns = self._check_namespace(rt, namespace or body_ns)
        if rt.namespaced and body_ns and body_ns != ns:
            raise errors.bad_request(
                "the namespace of the provided object does not match the "
                "namespace sent on the request"
            )
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    random.choice(_SUFFIX_CHARS) for _ in range(5)
                )
            else:
                raise self._invalid(
                    rt,
                    "",
                    "metadata.name",
                    "FieldValueRequired",
                    "Required value: name or generateName is required",
                )
        name = meta["name"]
        if rt.group == RBAC_GROUP:
            # RBAC names are path segments (ValidateRBACName): "system:discovery" is fine.
            if name in (".", "..") or "/" in name or "%" in name:
                raise self._invalid(
                    rt,
                    name,
                    "metadata.name",
                    "FieldValueInvalid",
                    f"Invalid value: \"{name}\": may not be '.' or '..' and may not "
                    "contain '/' or '%'",
                )
        elif not (_LABEL if rt.key == ("", "namespaces") else _NAME).match(name) or len(name) > 253:
            raise self._invalid(
                rt,
                name,
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must '
                "consist of lower case alphanumeric characters, '-' or '.', and "
                "must start and end with an alphanumeric character",
            )
        if (ns, name) in self.objects[rt.key]:
            raise errors.already_exists(rt.qualified, name)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if rt.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        for server_field in (
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
            "managedFields",
        ):
            meta.pop(server_field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_iso()
        if rt.has_status or not rt.builtin:
            meta["generation"] = 1
        if (
            rt.has_status
            and not (rt.builtin and rt.key == ("", "nodes"))
            and rt.key != ("", "namespaces")
        ):
            obj.pop("status", None)  # status is written through /status only
        self._admit(rt, obj, None, field_validation, warnings, user=user, dry_run=dry_run)
        if rt.key == CRD_KEY:
            self._crd_accepted(obj)
        if dry_run:
            return obj
        meta["resourceVersion"] = self._next_rv()
        self.objects[rt.key][(ns, name)] = obj
        if rt.key == CRD_KEY:
            self._install_crd(obj)
        self._emit("ADDED", rt, obj, None)
        return copy.deepcopy(obj)

    def _invalid(
        self, rt: ResourceType, name: str, field: str, reason: str, detail: str
    ) -> ApiError:
        cause = Cause(reason, field, detail)
        kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
        return ApiError(
            422,
            "Invalid",
            f'{kind} "{name}" is invalid: {cause.message}',
            {"name": name, "group": rt.group, "kind": rt.kind, "causes": [cause.to_dict()]},
        )

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: JSON,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
        warnings: list[str] | None = None,
        user: UserInfo | None = None,
    ) -> JSON:
        warnings = warnings if warnings is not None else []
        ns = namespace or "" if rt.namespaced else ""
        current = self.objects[rt.key].get((ns, name))
        if current is None:
            raise errors.not_found(rt.qualified, name)
        meta_in = body.get("metadata") or {}
        if meta_in.get("name", name) != name:
            raise errors.bad_request(
                "the name of the object "
                f"({meta_in.get('name')}) does not match the name on the URL ({name})"
            )
        if (
            meta_in.get("resourceVersion")
            and meta_in["resourceVersion"] != current["metadata"]["resourceVersion"]
        ):
            raise errors.conflict(rt.qualified, name, errors.STALE)
        if meta_in.get("uid") and meta_in["uid"] != current["metadata"]["uid"]:
            raise errors.conflict(
                rt.qualified,
                name,
                "Precondition failed: UID in precondition: "
                f"{meta_in['uid']}, UID in object meta: {current['metadata']['uid']}",
            )
        old = copy.deepcopy(current)
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in body:
                new["status"] = copy.deepcopy(body["status"])
            else:
                new.pop("status", None)
        else:
            new = copy.deepcopy(body)
            new["apiVersion"], new["kind"] = rt.api_version, rt.kind
            meta = new.setdefault("metadata", {})
            for fixed in (
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if fixed in old["metadata"]:
                    meta[fixed] = old["metadata"][fixed]
                else:
                    meta.pop(fixed, None)
            if rt.has_status and rt.key != ("", "namespaces"):
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            if old["metadata"].get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(
                    old["metadata"].get("finalizers") or []
                )
                if added:
                    raise self._invalid(
                        rt,
                        name,
                        "metadata.finalizers",
                        "FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being deleted",
                    )
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        self._admit(
            rt,
            new,
            old,
            field_validation,
            warnings,
            user=user,
            subresource=subresource,
            dry_run=dry_run,
        )
        if _spec_of(rt, new) != _spec_of(rt, old) and "generation" in new["metadata"]:
            new["metadata"]["generation"] = old["metadata"]["generation"] + 1
        if new == old:
            return copy.deepcopy(old)  # a no-op write changes nothing, not even the RV
        if dry_run:
            return new
        new["metadata"]["resourceVersion"] = self._next_rv()
        self.objects[rt.key][(ns, name)] = new
        if rt.key == CRD_KEY:
            self._install_crd(new)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return self._remove(rt, ns, name)
        self._emit("MODIFIED", rt, new, old)
        return copy.deepcopy(new)

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str | None = None,
        preconditions: JSON | None = None,
        grace_seconds: int | None = None,
        dry_run: bool = False,
        warnings: list[str] | None = None,
        user: UserInfo | None = None,
    ) -> JSON:
        ns = namespace or "" if rt.namespaced else ""
        current = self.objects[rt.key].get((ns, name))
        if current is None:
            raise errors.not_found(rt.qualified, name)
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != current["metadata"]["uid"]:
            raise errors.conflict(
                rt.qualified,
                name,
                "Precondition failed: UID in precondition: "
                f"{pre['uid']}, UID in object meta: {current['metadata']['uid']}",
            )
        if (
            pre.get("resourceVersion")
            and pre["resourceVersion"] != current["metadata"]["resourceVersion"]
        ):
            raise errors.conflict(
                rt.qualified,
                name,
                "Precondition failed: ResourceVersion in "
                f"precondition: {pre['resourceVersion']}, ResourceVersion in "
                f"object meta: {current['metadata']['resourceVersion']}",
            )
        if user is not None:
            # Only API requests are admitted on delete: the sandbox's own garbage collector
            # and kubelet delete as the real ones do, which no benchgate policy restricts.
            self._validating_admission(
                AdmissionAttributes(
                    "DELETE",
                    rt,
                    ns,
                    name,
                    "",
                    None,
                    copy.deepcopy(current),
                    user,
                    dry_run,
                    warnings if warnings is not None else [],
                )
            )
        if dry_run:
            return copy.deepcopy(current)
        if propagation is None and rt.key == ("batch", "jobs"):
            propagation = "Orphan"  # batch/v1 Jobs orphan their pods unless told otherwise
            if warnings is not None:
                warnings.append(
                    "child pods are preserved by default when jobs are deleted; set "
                    "propagationPolicy=Background to remove them or set "
                    "propagationPolicy=Orphan to suppress this warning"
                )
        old = copy.deepcopy(current)
        meta = current["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if propagation == "Orphan":
            self.orphan_dependents(meta["uid"])
        if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        graceful = self._graceful(rt, current, grace_seconds)
        if meta.get("deletionTimestamp"):
            if finalizers != list(meta.get("finalizers") or []):
                meta["finalizers"] = finalizers
                meta["resourceVersion"] = self._next_rv()
                self._emit("MODIFIED", rt, current, old)
            return copy.deepcopy(current)
        if finalizers or graceful is not None:
            meta["deletionTimestamp"] = now_iso()
            meta["deletionGracePeriodSeconds"] = graceful or 0
            if finalizers:
                meta["finalizers"] = finalizers
            if "generation" in meta:
                meta["generation"] += 1
            if rt.key == ("", "namespaces"):
                current.setdefault("status", {})["phase"] = "Terminating"
            meta["resourceVersion"] = self._next_rv()
            self._emit("MODIFIED", rt, current, old)
            return copy.deepcopy(current)
        return self._remove(rt, ns, name)

    def _graceful(self, rt: ResourceType, obj: JSON, grace: int | None) -> int | None:
        """Pods on a node get a grace period: the kubelet stops them, then removes them."""
        if rt.key == ("", "namespaces"):
            return 0  # the namespace controller empties it first
        if rt.key != ("", "pods") or grace == 0:
            return None
        if not (obj.get("spec") or {}).get("nodeName"):
            return None
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return None
        default = (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        return int(grace if grace is not None else default) or 1

    def _remove(self, rt: ResourceType, ns: str, name: str) -> JSON:
        obj = self.objects[rt.key].pop((ns, name))
        old = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = self._next_rv()
        if rt.key == CRD_KEY:
            self._uninstall_crd(obj)
        self._emit("DELETED", rt, obj, old)
        return copy.deepcopy(obj)

    def finish_deletion(self, rt: ResourceType, ns: str, name: str) -> None:
        """For controllers (kubelet, namespace GC): remove an object now."""
        if (ns, name) in self.objects[rt.key]:
            self._remove(rt, ns, name)

    # -- ownership -----------------------------------------------------------------
    def dependents(self, uid: str) -> list[tuple[ResourceType, JSON]]:
        found = []
        for rt in self._storage_types():
            for obj in self.objects[rt.key].values():
                if any(
                    ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or []
                ):
                    found.append((rt, obj))
        return found

    def _storage_types(self) -> list[ResourceType]:
        seen: dict[tuple[str, str], ResourceType] = {}
        for rt in self.types.values():
            seen.setdefault(rt.key, rt)
        return list(seen.values())

    def storage_types(self) -> list[ResourceType]:
        return self._storage_types()

    def uid_exists(self, uid: str) -> bool:
        return any(
            obj["metadata"].get("uid") == uid
            for rt in self._storage_types()
            for obj in self.objects[rt.key].values()
        )

    def orphan_dependents(self, uid: str) -> None:
        for rt, obj in self.dependents(uid):
            refs = [r for r in obj["metadata"]["ownerReferences"] if r.get("uid") != uid]
            body = copy.deepcopy(obj)
            body["metadata"]["ownerReferences"] = refs
            if not refs:
                del body["metadata"]["ownerReferences"]
            self.update(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], body)

    # -- CRDs ----------------------------------------------------------------------
    def _crd_accepted(self, crd: JSON) -> None:
        try:
            types = types_from_crd(crd)
        except CRDError as exc:
            name = crd["metadata"].get("name", "")
            raise ApiError(
                422,
                "Invalid",
                f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: {exc}',
                {
                    "name": name,
                    "kind": "CustomResourceDefinition",
                    "group": "apiextensions.k8s.io",
                    "causes": [],
                },
            ) from exc
        for i, rt in enumerate(types):
            try:
                self.schemas.register(rt.schema)
            except SchemaError as exc:  # not a schema the API server would take either
                raise self._invalid(
                    self.types[("apiextensions.k8s.io", "v1", "customresourcedefinitions")],
                    crd["metadata"].get("name", ""),
                    f"spec.versions[{i}].schema.openAPIV3Schema",
                    "FieldValueInvalid",
                    f"Invalid value: {exc.message}",
                ) from exc
        expected = f"{types[0].plural}.{types[0].group}"
        if crd["metadata"]["name"] != expected:
            raise self._invalid(
                self.types[("apiextensions.k8s.io", "v1", "customresourcedefinitions")],
                crd["metadata"]["name"],
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{crd["metadata"]["name"]}": '
                'must be spec.names.plural+"."+spec.group',
            )
        spec = crd["spec"]
        crd["status"] = {
            "acceptedNames": copy.deepcopy(spec["names"]),
            "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": now_iso(),
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": now_iso(),
                },
            ],
        }

    def _install_crd(self, crd: JSON) -> None:
        types = types_from_crd(crd)
        for key in [k for k, t in self.types.items() if (t.group, t.plural) == types[0].key]:
            del self.types[key]
        for rt in types:
            self.schemas.register(rt.schema)
            self._register(rt)

    def _uninstall_crd(self, crd: JSON) -> None:
        types = types_from_crd(crd)
        key = types[0].key
        for stored in list(self.objects.get(key, {}).values()):
            rt = types[0]
            self._remove(rt, stored["metadata"].get("namespace", ""), stored["metadata"]["name"])
        for k in [k for k, t in self.types.items() if t.key == key]:
            del self.types[k]
        self.objects.pop(key, None)


def _spec_of(rt: ResourceType, obj: JSON) -> JSON:
    """What counts as 'spec' for metadata.generation: all but metadata (and status)."""
    skip = {"metadata", "status"} if rt.has_status else {"metadata"}
    return {k: v for k, v in obj.items() if k not in skip}
