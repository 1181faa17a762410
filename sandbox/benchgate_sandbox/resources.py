"""Resource types the sandbox serves: the built-in kinds plus those CRDs define.

A `ResourceType` is everything the API server needs to know about a kind to route,
validate, print and discover it. Built-ins are declared here; custom ones are derived
from CustomResourceDefinition objects as they are created, like a real API server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

RBAC_GROUP = "rbac.authorization.k8s.io"
ADMISSION_GROUP = "admissionregistration.k8s.io"
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = True
    builtin: bool = True
    schema: JSON | None = None  # openAPIV3Schema of a CRD version
    printer_columns: tuple[JSON, ...] = ()
    selectable_fields: tuple[str, ...] = ()  # extra field-selector paths (CRD selectableFields)
    extra_subresources: tuple[str, ...] = ()  # beyond status: log, binding, eviction, token
    field_selectors: tuple[str, ...] = field(default=())  # built-in field labels
    # A review (SubjectAccessReview, SelfSubjectReview, ...): create-only, answered at once
    # and never stored, as on the real server.
    virtual: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: a kind is stored once per group, whatever version serves it."""
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        """`jobs.batch` / `pods`: the resource name kubectl and RBAC speak."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def allowed_field_labels(self) -> frozenset[str]:
        base = {"metadata.name", "metadata.namespace"} if self.namespaced else {"metadata.name"}
        return frozenset(base | set(self.field_selectors) | set(self.selectable_fields))


def _core(plural: str, kind: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType(
        group="",
        version="v1",
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        singular=kind.lower(),
        **kw,
    )


_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _core(
        "namespaces",
        "Namespace",
        namespaced=False,
        short_names=("ns",),
        field_selectors=("status.phase",),
    ),
    _core(
        "nodes",
        "Node",
        namespaced=False,
        short_names=("no",),
        field_selectors=("spec.unschedulable",),
    ),
    _core(
        "pods",
        "Pod",
        short_names=("po",),
        categories=("all",),
        extra_subresources=("log", "binding", "eviction"),
        field_selectors=(
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ),
    ),
    _core("configmaps", "ConfigMap", short_names=("cm",), has_status=False),
    _core("secrets", "Secret", has_status=False, field_selectors=("type",)),
    _core(
        "serviceaccounts",
        "ServiceAccount",
        short_names=("sa",),
        has_status=False,
        extra_subresources=("token",),
    ),
    _core("events", "Event", short_names=("ev",), has_status=False, field_selectors=_EVENT_FIELDS),
    ResourceType(
        "batch",
        "v1",
        "jobs",
        "Job",
        True,
        singular="job",
        categories=("all",),
        field_selectors=("status.successful",),
    ),
    ResourceType(
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        True,
        singular="event",
        short_names=("ev",),
        has_status=False,
        field_selectors=(
            "regarding.kind",
            "regarding.name",
            "regarding.namespace",
            "regarding.uid",
            "reason",
            "type",
            "reportingController",
        ),
    ),
    ResourceType(
        "coordination.k8s.io", "v1", "leases", "Lease", True, singular="lease", has_status=False
    ),
    *(
        ResourceType(
            RBAC_GROUP,
            "v1",
            plural,
            kind,
            namespaced,
            singular=kind.lower(),
            has_status=False,
        )
        for plural, kind, namespaced in (
            ("roles", "Role", True),
            ("rolebindings", "RoleBinding", True),
            ("clusterroles", "ClusterRole", False),
            ("clusterrolebindings", "ClusterRoleBinding", False),
        )
    ),
    ResourceType(
        ADMISSION_GROUP,
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        False,
        singular="validatingadmissionpolicy",
        categories=("api-extensions",),
    ),
    ResourceType(
        ADMISSION_GROUP,
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        False,
        singular="validatingadmissionpolicybinding",
        categories=("api-extensions",),
        has_status=False,
    ),
    *(
        ResourceType(
            group,
            "v1",
            plural,
            kind,
            namespaced,
            singular="",
            has_status=False,
            virtual=True,
        )
        for group, plural, kind, namespaced in (
            ("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
            ("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False),
            ("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview", False),
            (
                "authorization.k8s.io",
                "localsubjectaccessreviews",
                "LocalSubjectAccessReview",
                True,
            ),
            ("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview", False),
            ("authentication.k8s.io", "tokenreviews", "TokenReview", False),
        )
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        singular="customresourcedefinition",
        short_names=("crd", "crds"),
        categories=("api-extensions",),
    ),
)


class CRDError(ValueError):
    """A CustomResourceDefinition the sandbox cannot serve; the message names the field."""


def types_from_crd(crd: Mapping[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of a CRD."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    if not (group and plural and kind):
        raise CRDError("spec.group, spec.names.plural and spec.names.kind are required")
    scope = spec.get("scope", "Namespaced")
    if scope not in ("Namespaced", "Cluster"):
        raise CRDError(
            f'spec.scope: Unsupported value: "{scope}": supported values: "Cluster", "Namespaced"'
        )
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        out.append(
            ResourceType(
                group=group,
                version=version["name"],
                plural=plural,
                kind=kind,
                namespaced=scope == "Namespaced",
                singular=names.get("singular") or kind.lower(),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                has_status="status" in (version.get("subresources") or {}),
                builtin=False,
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
                selectable_fields=tuple(
                    f["jsonPath"].lstrip(".") for f in version.get("selectableFields") or ()
                ),
            )
        )
    if not out:
        raise CRDError("spec.versions: at least one version must be served")
    return out
