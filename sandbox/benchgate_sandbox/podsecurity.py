"""Pod Security Admission: the Pod Security Standards a namespace's labels ask for.

A namespace labelled `pod-security.kubernetes.io/enforce: baseline|restricted` refuses
pods that break that level (403, `violates PodSecurity "restricted:latest": ...`, the
checks listed as the real plugin lists them); `.../warn: <level>` adds a warning instead,
for pods and for the pod templates of Jobs (whose pods enforcement then refuses). An
unlabelled namespace gets the cluster default, `privileged` unless the sandbox is started
with another (as an AdmissionConfiguration's PodSecurityConfiguration `defaults` sets it;
kube-system is exempt then, as clusters configure it). Version labels are accepted and
read as `latest`.

The checks are those of the Pod Security Standards (kubernetes.io/docs/concepts/security/
pod-security-standards) that a pod spec can break:

- baseline: host namespaces, privileged containers, capabilities beyond the default set,
  hostPath volumes, host ports, seccomp `Unconfined`, a non-default /proc mount;
- restricted, in addition: volume types other than configMap, csi, downwardAPI,
  emptyDir, ephemeral, persistentVolumeClaim, projected and secret;
  allowPrivilegeEscalation not false; runAsNonRoot not true; runAsUser 0; no seccomp
  profile (RuntimeDefault or Localhost); capabilities not dropping ALL or adding
  anything but NET_BIND_SERVICE.
AppArmor, SELinux and sysctl checks are not modelled (nothing in benchgate sets them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.store import AdmissionAttributes, Store

PREFIX = "pod-security.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)


def _containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        c
        for group in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(group) or ()
        if isinstance(c, Mapping)
    ]


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(json.dumps(n) for n in names)


def _sc(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("securityContext")
    return value if isinstance(value, Mapping) else {}


def baseline_problems(spec: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    hosts = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    if hosts:
        out.append(f"host namespaces ({', '.join(hosts)})")
    containers = _containers(spec)
    privileged = [str(c.get("name")) for c in containers if _sc(c).get("privileged")]
    if privileged:
        out.append(
            f"privileged (container{'s' if len(privileged) > 1 else ''} {_quoted(privileged)} "
            "must not set securityContext.privileged=true)"
        )
    added = []
    for c in containers:
        extra = [
            str(cap)
            for cap in (_sc(c).get("capabilities") or {}).get("add") or ()
            if str(cap) not in BASELINE_CAPABILITIES
        ]
        if extra:
            added.append(
                f'container "{c.get("name")}" must not include {_quoted(extra)} in '
                "securityContext.capabilities.add"
            )
    if added:
        out.append(f"non-default capabilities ({'; '.join(added)})")
    host_paths = [
        str(v.get("name"))
        for v in spec.get("volumes") or ()
        if isinstance(v, Mapping) and "hostPath" in v
    ]
    if host_paths:
        out.append(
            f"hostPath volumes (volume{'s' if len(host_paths) > 1 else ''} {_quoted(host_paths)})"
        )
    ports = [
        f'container "{c.get("name")}" uses hostPort {p["hostPort"]}'
        for c in containers
        for p in c.get("ports") or ()
        if isinstance(p, Mapping) and p.get("hostPort")
    ]
    if ports:
        out.append(f"hostPort ({', '.join(ports)})")
    unconfined = [
        name
        for name, sc in [("pod", _sc(spec))]
        + [(f'container "{c.get("name")}"', _sc(c)) for c in containers]
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined"
    ]
    if unconfined:
        out.append(
            f"seccompProfile ({' and '.join(unconfined)} must not set "
            'securityContext.seccompProfile.type to "Unconfined")'
        )
    proc = [
        str(c.get("name")) for c in containers if _sc(c).get("procMount") not in (None, "Default")
    ]
    if proc:
        out.append(f"procMount (container {_quoted(proc)} must not set securityContext.procMount)")
    return out


def restricted_problems(spec: Mapping[str, Any]) -> list[str]:
    out = baseline_problems(spec)
    bad_volumes = []
    for volume in spec.get("volumes") or ():
        if not isinstance(volume, Mapping):
            continue
        kinds = [k for k in volume if k != "name"]
        if kinds and kinds[0] not in RESTRICTED_VOLUMES and kinds[0] != "hostPath":
            bad_volumes.append(
                f'volume "{volume.get("name")}" uses restricted volume type "{kinds[0]}"'
            )
    if bad_volumes:
        out.append(f"restricted volume types ({', '.join(bad_volumes)})")
    containers = _containers(spec)
    pod_sc = _sc(spec)
    escalation = [
        str(c.get("name"))
        for c in containers
        if _sc(c).get("allowPrivilegeEscalation") is not False
    ]
    if escalation:
        out.append(
            f"allowPrivilegeEscalation != false (container{'s' if len(escalation) > 1 else ''} "
            f"{_quoted(escalation)} must set securityContext.allowPrivilegeEscalation=false)"
        )

    def container_or_pod(key: str, good: Any) -> list[str]:
        pod_ok = good(pod_sc.get(key))
        return [
            str(c.get("name"))
            for c in containers
            if not (good(_sc(c).get(key)) or (_sc(c).get(key) is None and pod_ok))
        ]

    non_root = container_or_pod("runAsNonRoot", lambda v: v is True)
    if non_root:
        out.append(
            f"runAsNonRoot != true (pod or container{'s' if len(non_root) > 1 else ''} "
            f"{_quoted(non_root)} must set securityContext.runAsNonRoot=true)"
        )
    root = ["pod"] if pod_sc.get("runAsUser") == 0 else []
    root += [f'container "{c.get("name")}"' for c in containers if _sc(c).get("runAsUser") == 0]
    if root:
        out.append(f"runAsUser=0 ({' and '.join(root)} must not set runAsUser=0)")
    seccomp = container_or_pod(
        "seccompProfile",
        lambda v: isinstance(v, Mapping) and v.get("type") in ("RuntimeDefault", "Localhost"),
    )
    if seccomp:
        out.append(
            f"seccompProfile (pod or container{'s' if len(seccomp) > 1 else ''} "
            f'{_quoted(seccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" '
            'or "Localhost")'
        )
    caps = []
    for c in containers:
        capabilities = _sc(c).get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or ()):
            caps.append(
                f'container "{c.get("name")}" must set securityContext.capabilities.drop=["ALL"]'
            )
        extra = [str(a) for a in capabilities.get("add") or () if str(a) != "NET_BIND_SERVICE"]
        if extra:
            caps.append(
                f'container "{c.get("name")}" must not include {_quoted(extra)} in '
                "securityContext.capabilities.add"
            )
    if caps:
        out.append(f"unrestricted capabilities ({'; '.join(caps)})")
    return out


def problems(level: str, spec: Mapping[str, Any]) -> list[str]:
    if level == "restricted":
        return restricted_problems(spec)
    if level == "baseline":
        return baseline_problems(spec)
    return []


def _level(labels: Mapping[str, str], mode: str, default: str = "privileged") -> str:
    value = str(labels.get(f"{PREFIX}{mode}") or default)
    # An unknown level is read as the strictest: a typo in a label must not open a namespace.
    return value if value in LEVELS else "restricted"


class PodSecurity:
    def __init__(self, store: Store, default_enforce: str = "privileged") -> None:
        if default_enforce not in LEVELS:
            raise ValueError(f"pod security level {default_enforce!r}: one of {LEVELS}")
        self.store = store
        self.default_enforce = default_enforce

    def __call__(self, a: AdmissionAttributes) -> None:
        if a.operation != "CREATE" or a.subresource or a.obj is None or not a.namespace:
            return
        if a.rt.key == ("", "pods"):
            spec: Any = a.obj.get("spec")
        elif a.rt.key == ("batch", "jobs"):
            spec = ((a.obj.get("spec") or {}).get("template") or {}).get("spec")
        else:
            return
        if not isinstance(spec, Mapping):
            return
        ns = (self.store.objects.get(("", "namespaces")) or {}).get(("", a.namespace)) or {}
        labels = (ns.get("metadata") or {}).get("labels") or {}
        default = "privileged" if a.namespace == "kube-system" else self.default_enforce
        enforce = _level(labels, "enforce", default)
        if a.rt.key == ("", "pods") and (found := problems(enforce, spec)):
            name = a.name or ""
            raise ApiError(
                403,
                "Forbidden",
                f'pods "{name}" is forbidden: violates PodSecurity "{enforce}:latest": '
                + ", ".join(found),
                {"name": name, "kind": "pods"},
            )
        warn = _level(labels, "warn")
        if warn != "privileged" and (found := problems(warn, spec)):
            a.warnings.append(f'would violate PodSecurity "{warn}:latest": ' + ", ".join(found))


def install_pod_security(store: Store, default_enforce: str = "privileged") -> None:
    store.admission.append(PodSecurity(store, default_enforce))
