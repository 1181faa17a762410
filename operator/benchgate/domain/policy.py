"""The cluster's benchgate policy: what a suite may make the operator do on its behalf.

A RegressionSuite is namespaced, but the operator acts with its own, cluster-wide
ServiceAccount: it taints cluster-scoped Nodes for a gating suite and creates the pods
of every suite's Jobs. The platform team that installs benchgate decides, once for the
cluster (chart values -> operator flags), what a suite in a namespace may ask for:

- gating (`spec.gating.enabled`): only suites in the listed namespaces (default: the
  operator's own namespace) taint or release Nodes, and only they may claim a taint key;
- pods beyond the Pod Security "restricted" profile (privileged, added capabilities other
  than NET_BIND_SERVICE, privilege escalation, running as root): only in the listed
  namespaces;
- a ServiceAccount of the suite's choosing for its pods: only in the listed namespaces;
- images: when an allow-list is set, every image a suite's pods run must be in it
  (repositories, repository prefixes `registry/path/*`, or exact digests), and with
  `require_digest` pinned by digest.

The operator checks every suite against this before any run, Job or Node write (and a
run again before its Jobs), so a cluster without the shipped admission policy (or one
that gets around it) still gets the refusal, as a condition and a Warning Event naming
the setting to change. Pure: settings in, refusals (reason, message) out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from benchgate.api import suite as api_suite
from benchgate.api.suite import JobTemplateSpec, SuiteSpec

GATING_FORBIDDEN: Final = "GatingForbidden"
PRIVILEGE_FORBIDDEN: Final = "PrivilegeForbidden"
IMAGE_FORBIDDEN: Final = "ImageForbidden"

# Where each setting lives, for messages that tell a platform team what to change.
GATING_SETTING: Final = "chart value gating.namespaces (operator flag --gating-namespace)"
PRIVILEGED_SETTING: Final = (
    "chart value policy.privilegedNamespaces (operator flag --privileged-namespace)"
)
SERVICE_ACCOUNT_SETTING: Final = (
    "chart value policy.serviceAccountNamespaces (operator flag --service-account-namespace)"
)
IMAGES_SETTING: Final = "chart value policy.allowedImages (operator flag --allowed-image)"
DIGEST_SETTING: Final = (
    "chart value policy.requireImageDigest (operator flag --require-image-digest)"
)

ANY_NAMESPACE: Final = "*"
# The one capability Pod Security "restricted" lets a container add.
RESTRICTED_CAPABILITIES: Final = frozenset({"NET_BIND_SERVICE"})

_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


class PolicyError(ValueError):
    """A setting the operator cannot use; the message names it."""


@dataclass(frozen=True)
class ImageReference:
    """A container image reference, normalised as the container runtime reads it
    (`busybox` is docker.io/library/busybox)."""

    repository: str  # registry/path, e.g. ghcr.io/benchgate/workload
    tag: str = ""
    digest: str = ""

    @staticmethod
    def parse(text: str) -> ImageReference:
        name, _, digest = text.partition("@")
        if digest and not _DIGEST.match(digest):
            raise PolicyError(f"{text!r}: the digest must be sha256:<64 hex digits>")
        tag = ""
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name, _, tag = name.rpartition(":")
            if not _TAG.match(tag):
                raise PolicyError(f"{text!r}: {tag!r} is not a valid tag")
        parts = name.split("/")
        if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
            registry, path = parts[0], parts[1:]
        else:
            registry, path = "docker.io", parts
            if len(path) == 1:
                path = ["library", *path]
        if not path or not all(_COMPONENT.match(p) for p in path):
            raise PolicyError(f"{text!r} is not an image reference")
        return ImageReference(f"{registry.lower()}/{'/'.join(path)}", tag, digest)


@dataclass(frozen=True)
class ImageRule:
    """One allow-list entry: a repository, a `prefix/*`, or a repository@digest."""

    text: str
    repository: str
    prefix: bool = False
    digest: str = ""

    @staticmethod
    def parse(text: str) -> ImageRule:
        entry = text.strip()
        if entry.endswith("/*"):
            base = ImageReference.parse(entry[:-2] + "/x").repository
            return ImageRule(entry, base[: -len("/x")], prefix=True)
        ref = ImageReference.parse(entry)
        if ref.tag:
            raise PolicyError(
                f"allowed image {entry!r}: give a repository, a repository prefix ending in "
                "/*, or repository@sha256:<digest>; a tag can be moved, so it allows nothing"
            )
        return ImageRule(entry, ref.repository, digest=ref.digest)

    def allows(self, ref: ImageReference) -> bool:
        if self.prefix:
            return ref.repository.startswith(self.repository + "/")
        if ref.repository != self.repository:
            return False
        return not self.digest or ref.digest == self.digest


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str


def _namespaces(values: Iterable[str], flag: str) -> frozenset[str]:
    found = set()
    for value in values:
        value = value.strip()
        if not value:
            continue
        if value != ANY_NAMESPACE and not _NAMESPACE.match(value):
            raise PolicyError(f"{flag} {value!r}: not a namespace name (or {ANY_NAMESPACE!r})")
        found.add(value)
    return frozenset(found)


@dataclass(frozen=True)
class ClusterPolicy:
    operator_namespace: str = ""
    gating_namespaces: frozenset[str] = frozenset()  # empty: the operator's own namespace
    privileged_namespaces: frozenset[str] = frozenset()
    service_account_namespaces: frozenset[str] = frozenset()
    allowed_images: tuple[ImageRule, ...] = ()  # empty: any image
    require_digest: bool = False

    @staticmethod
    def build(
        *,
        operator_namespace: str = "",
        gating_namespaces: Iterable[str] = (),
        privileged_namespaces: Iterable[str] = (),
        service_account_namespaces: Iterable[str] = (),
        allowed_images: Iterable[str] = (),
        require_digest: bool = False,
    ) -> ClusterPolicy:
        """From the operator's settings; PolicyError names a setting it cannot use."""
        return ClusterPolicy(
            operator_namespace=operator_namespace.strip(),
            gating_namespaces=_namespaces(gating_namespaces, "--gating-namespace"),
            privileged_namespaces=_namespaces(privileged_namespaces, "--privileged-namespace"),
            service_account_namespaces=_namespaces(
                service_account_namespaces, "--service-account-namespace"
            ),
            allowed_images=tuple(ImageRule.parse(i) for i in allowed_images if i.strip()),
            require_digest=require_digest,
        )

    @property
    def effective_gating_namespaces(self) -> frozenset[str]:
        if self.gating_namespaces:
            return self.gating_namespaces
        return frozenset({self.operator_namespace} if self.operator_namespace else ())

    def gating_allowed(self, namespace: str) -> bool:
        allowed = self.effective_gating_namespaces
        return ANY_NAMESPACE in allowed or namespace in allowed

    def summary(self) -> str:
        """One line for the operator's start-up log."""

        def listed(values: frozenset[str]) -> str:
            return ", ".join(sorted(values)) or "none"

        images = ", ".join(r.text for r in self.allowed_images) or "any"
        return (
            f"gating namespaces: {listed(self.effective_gating_namespaces)}; privileged pods "
            f"in: {listed(self.privileged_namespaces)}; ServiceAccounts in: "
            f"{listed(self.service_account_namespaces)}; images: {images}"
            + ("; digests required" if self.require_digest else "")
        )


def _listed(namespaces: frozenset[str], namespace: str) -> bool:
    return ANY_NAMESPACE in namespaces or namespace in namespaces


def gating_refusal(policy: ClusterPolicy, namespace: str) -> Refusal | None:
    if policy.gating_allowed(namespace):
        return None
    allowed = ", ".join(sorted(policy.effective_gating_namespaces)) or "none"
    return Refusal(
        GATING_FORBIDDEN,
        f"suites in namespace {namespace} may not gate nodes (allowed: {allowed}); no node is "
        f"touched. A platform team allows it with the {GATING_SETTING}",
    )


def elevated(template: JobTemplateSpec) -> list[str]:
    """What in `template` breaks the Pod Security "restricted" profile."""
    sec = template.security
    found = []
    if sec.privileged:
        found.append("securityContext.privileged: true")
    extra = [c for c in sec.add_capabilities if c not in RESTRICTED_CAPABILITIES]
    if extra:
        found.append(f"securityContext.addCapabilities: {', '.join(extra)}")
    if sec.allow_privilege_escalation:
        found.append("securityContext.allowPrivilegeEscalation: true")
    if not sec.run_as_non_root:
        found.append("securityContext.runAsNonRoot: false")
    return found


def privilege_refusal(
    policy: ClusterPolicy, namespace: str, template: JobTemplateSpec
) -> Refusal | None:
    found = elevated(template)
    if found and not _listed(policy.privileged_namespaces, namespace):
        return Refusal(
            PRIVILEGE_FORBIDDEN,
            f'spec.jobTemplate asks for more than Pod Security "restricted" allows '
            f"({'; '.join(found)}), and namespace {namespace} is not allowed privileged "
            f"verification pods; no Job is created. A platform team allows it with the "
            f"{PRIVILEGED_SETTING}",
        )
    account = template.service_account_name
    if account and not _listed(policy.service_account_namespaces, namespace):
        return Refusal(
            PRIVILEGE_FORBIDDEN,
            f"spec.jobTemplate.serviceAccountName {account}: verification pods run as the "
            f"namespace's default ServiceAccount unless the namespace is allowed to choose "
            f"one; no Job is created. A platform team allows it with the "
            f"{SERVICE_ACCOUNT_SETTING}",
        )
    return None


def suite_images(suite: SuiteSpec, image: str | None = None) -> tuple[str, ...]:
    """Every image a suite's verification pods run (`image` overrides spec.image: a run
    keeps the image it was created for) and the images of its any-image workloads, so the
    allow-list covers them too."""
    return api_suite.suite_images(suite if image is None else replace(suite, image=image))


def image_refusal(policy: ClusterPolicy, images: Iterable[str]) -> Refusal | None:
    for image in images:
        try:
            ref = ImageReference.parse(image)
        except PolicyError as exc:
            return Refusal(IMAGE_FORBIDDEN, f"image {exc}; no Job is created")
        if policy.require_digest and not ref.digest:
            return Refusal(
                IMAGE_FORBIDDEN,
                f"image {image} is not pinned by digest (@sha256:...), which this cluster "
                f"requires; no Job is created. Pin it, or change the {DIGEST_SETTING}",
            )
        if policy.allowed_images and not any(r.allows(ref) for r in policy.allowed_images):
            allowed = ", ".join(r.text for r in policy.allowed_images)
            return Refusal(
                IMAGE_FORBIDDEN,
                f"image {image} ({ref.repository}) is not in this cluster's allowed images "
                f"({allowed}); no Job is created. Use an allowed image, or change the "
                f"{IMAGES_SETTING}",
            )
    return None


def pod_refusal(
    policy: ClusterPolicy, suite: SuiteSpec, image: str | None = None
) -> Refusal | None:
    """Why the operator may not create `suite`'s verification pods, or None."""
    return privilege_refusal(policy, suite.namespace, suite.operator.job_template) or image_refusal(
        policy, suite_images(suite, image)
    )


def from_environment(env: Mapping[str, str]) -> ClusterPolicy:
    """The policy the operator was started with (`benchgate operator` sets these from its
    flags; the chart passes the flags)."""

    def values(name: str) -> list[str]:
        return [v for v in env.get(name, "").split(",") if v.strip()]

    return ClusterPolicy.build(
        operator_namespace=env.get("BENCHGATE_OPERATOR_NAMESPACE") or env.get("POD_NAMESPACE", ""),
        gating_namespaces=values("BENCHGATE_GATING_NAMESPACES"),
        privileged_namespaces=values("BENCHGATE_PRIVILEGED_NAMESPACES"),
        service_account_namespaces=values("BENCHGATE_SERVICE_ACCOUNT_NAMESPACES"),
        allowed_images=values("BENCHGATE_ALLOWED_IMAGES"),
        require_digest=env.get("BENCHGATE_REQUIRE_IMAGE_DIGEST", "") in ("1", "true", "True"),
    )
