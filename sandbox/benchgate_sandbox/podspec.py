"""The API server's checks of pod specs (Pods, Job templates) and Node taints.

Written from the API reference and k8s.io/kubernetes/pkg/apis/core/validation, for the
fields benchgate writes and a user may get wrong through a suite: container names and
image references, resources (quantity syntax, resource names, requests <= limits, the
rules for extended resources such as nvidia.com/gpu), tolerations and node selectors;
and taints on Nodes. A pod spec a real cluster refuses must be refused here too, or the
operator would pass its tests and fail in a cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from benchgate.api import quantity
from benchgate.api.structural import Cause
from benchgate_sandbox.errors import ApiError
from benchgate_sandbox.metadata import key_problem, label_causes, value_problem

_DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# What a JSON quantity that does not parse gets: the decoder refuses the whole body (400).
QUANTITY_DECODE: Final = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
STANDARD_RESOURCES: Final = frozenset({"cpu", "memory", "ephemeral-storage"})
_HUGEPAGES: Final = re.compile(r"^hugepages-")
TAINT_EFFECTS: Final = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS: Final = ("Exists", "Equal")


def _invalid(path: str, value: object, problem: str) -> Cause:
    return Cause("FieldValueInvalid", path, f"Invalid value: {json.dumps(str(value))}: {problem}")


def _overcommitable(name: str) -> bool:
    """cpu, memory and ephemeral-storage may be overcommitted; hugepages and extended
    resources (nvidia.com/gpu) may not: their requests must equal their limits."""
    return name in STANDARD_RESOURCES


def _resource_name_problem(name: str) -> str | None:
    if name in STANDARD_RESOURCES or _HUGEPAGES.match(name):
        return None
    if "/" not in name:
        return "must be a standard resource type or fully qualified"
    problem = key_problem(name)
    if problem:
        return problem
    if name.split("/", 1)[0].endswith("kubernetes.io"):
        return "must be a standard resource for containers"
    return None


def _quantities(
    raw: Any, path: str, kind: str, causes: list[Cause]
) -> dict[str, quantity.Quantity]:
    out: dict[str, quantity.Quantity] = {}
    if not isinstance(raw, Mapping):
        return out
    for name, value in raw.items():
        if (problem := _resource_name_problem(str(name))) is not None:
            causes.append(
                Cause("FieldValueInvalid", f"{path}[{name}]", f'Invalid value: "{name}": {problem}')
            )
            continue
        try:
            parsed = quantity.of(value)
        except quantity.QuantityError as exc:
            raise ApiError(400, "BadRequest", f"{kind}: {QUANTITY_DECODE}") from exc
        if parsed.value < 0:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"{path}[{name}]",
                    f'Invalid value: "{parsed}": must be greater than or equal to 0',
                )
            )
        elif (
            not _overcommitable(str(name))
            and not _HUGEPAGES.match(str(name))
            and not parsed.is_integer()
        ):
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"{path}[{name}]",
                    f'Invalid value: "{parsed}": must be an integer',
                )
            )
        out[str(name)] = parsed
    return out


def resources_causes(resources: Any, path: str, kind: str) -> list[Cause]:
    """ValidateResourceRequirements: names, quantities, requests against limits."""
    causes: list[Cause] = []
    if not isinstance(resources, Mapping):
        return causes
    limits = _quantities(resources.get("limits"), f"{path}.limits", kind, causes)
    requests = _quantities(resources.get("requests"), f"{path}.requests", kind, causes)
    for name, request in requests.items():
        limit = limits.get(name)
        if limit is None:
            if not _overcommitable(name):
                causes.append(
                    Cause(
                        "FieldValueRequired",
                        f"{path}.limits",
                        "Required value: Limit must be set for non overcommitable resources",
                    )
                )
            continue
        if _overcommitable(name) and request.value > limit.value:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"{path}.requests",
                    f'Invalid value: "{request}": must be less than or equal to '
                    f"{name} limit of {limit}",
                )
            )
        elif not _overcommitable(name) and request.value != limit.value:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"{path}.requests[{name}]",
                    f'Invalid value: "{request}": must be equal to {name} limit of {limit}',
                )
            )
    return causes


def _image_causes(image: Any, path: str) -> list[Cause]:
    if not image:
        return [Cause("FieldValueRequired", path, "Required value")]
    if not isinstance(image, str):
        return []
    if image != image.strip():
        return [
            Cause(
                "FieldValueInvalid",
                path,
                f"Invalid value: {json.dumps(image)}: must not have leading or trailing whitespace",
            )
        ]
    return []


def _security_context_causes(sc: Any, path: str) -> list[Cause]:
    """ValidateSecurityContext: privilege and CAP_SYS_ADMIN imply escalation."""
    if not isinstance(sc, Mapping) or sc.get("allowPrivilegeEscalation") is not False:
        return []
    causes = []
    if sc.get("privileged") is True:
        causes.append(
            Cause(
                "FieldValueInvalid",
                path,
                "Invalid value: cannot set `allowPrivilegeEscalation` to false and "
                "`privileged` to true",
            )
        )
    if "CAP_SYS_ADMIN" in ((sc.get("capabilities") or {}).get("add") or ()):
        causes.append(
            Cause(
                "FieldValueInvalid",
                path,
                "Invalid value: cannot set `allowPrivilegeEscalation` to false and "
                "`capabilities.Add` CAP_SYS_ADMIN",
            )
        )
    return causes


def toleration_causes(tolerations: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, tol in enumerate(tolerations if isinstance(tolerations, list) else []):
        here = f"{path}[{i}]"
        if not isinstance(tol, Mapping):
            continue
        key, op = str(tol.get("key") or ""), str(tol.get("operator") or "Equal")
        if key and (problem := key_problem(key)):
            causes.append(
                Cause("FieldValueInvalid", f"{here}.key", f'Invalid value: "{key}": {problem}')
            )
        if not key and op != "Exists":
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"{here}.operator",
                    f'Invalid value: "{op}": operator must be Exists when `key` is empty, '
                    'which means "match all values and all keys"',
                )
            )
        if op not in TOLERATION_OPERATORS:
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    f"{here}.operator",
                    f'Unsupported value: "{op}": supported values: "Equal", "Exists"',
                )
            )
        value = tol.get("value")
        if op == "Exists" and value:
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"{here}.operator",
                    f"Invalid value: \"{value}\": value must be empty when `operator` is 'Exists'",
                )
            )
        elif op == "Equal" and value and (problem := value_problem(str(value))):
            causes.append(
                Cause("FieldValueInvalid", f"{here}.value", f'Invalid value: "{value}": {problem}')
            )
        effect = tol.get("effect") or ""
        if effect and effect not in TAINT_EFFECTS:
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    f"{here}.effect",
                    f'Unsupported value: "{effect}": supported values: "NoSchedule", '
                    '"PreferNoSchedule", "NoExecute"',
                )
            )
        if tol.get("tolerationSeconds") is not None and effect != "NoExecute":
            causes.append(
                Cause(
                    "FieldValueInvalid",
                    f"{here}.effect",
                    f"Invalid value: \"{effect}\": effect must be 'NoExecute' when "
                    "`tolerationSeconds` is set",
                )
            )
    return causes


def pod_spec_causes(spec: Any, path: str, kind: str) -> list[Cause]:
    """ValidatePodSpec, for the fields the sandbox's users (and benchgate) write."""
    if not isinstance(spec, Mapping):
        return [Cause("FieldValueRequired", path, "Required value")]
    causes: list[Cause] = []
    containers = spec.get("containers")
    if not containers:
        causes.append(Cause("FieldValueRequired", f"{path}.containers", "Required value"))
    for group in ("initContainers", "containers"):
        seen: set[str] = set()
        for i, container in enumerate(spec.get(group) or []):
            here = f"{path}.{group}[{i}]"
            if not isinstance(container, Mapping):
                continue
            name = container.get("name")
            if not name:
                causes.append(Cause("FieldValueRequired", f"{here}.name", "Required value"))
            elif not (isinstance(name, str) and len(name) <= 63 and _DNS_LABEL.match(name)):
                causes.append(
                    Cause(
                        "FieldValueInvalid",
                        f"{here}.name",
                        f"Invalid value: {json.dumps(name)}: a lowercase RFC 1123 label must "
                        "consist of lower case alphanumeric characters or '-', and must start "
                        "and end with an alphanumeric character",
                    )
                )
            elif name in seen:
                causes.append(
                    Cause("FieldValueDuplicate", f"{here}.name", f'Duplicate value: "{name}"')
                )
            if isinstance(name, str):
                seen.add(name)
            causes += _image_causes(container.get("image"), f"{here}.image")
            causes += _security_context_causes(
                container.get("securityContext"), f"{here}.securityContext"
            )
            causes += resources_causes(container.get("resources"), f"{here}.resources", kind)
    causes += toleration_causes(spec.get("tolerations"), f"{path}.tolerations")
    causes += label_causes(spec.get("nodeSelector"), f"{path}.nodeSelector")
    return causes


def taint_causes(taints: Any, path: str) -> list[Cause]:
    """validateNodeTaints: qualified keys, label values, a known effect, unique key+effect."""
    causes: list[Cause] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(taints if isinstance(taints, list) else []):
        here = f"{path}[{i}]"
        if not isinstance(taint, Mapping):
            continue
        key = str(taint.get("key") or "")
        if not key:
            causes.append(Cause("FieldValueRequired", f"{here}.key", "Required value"))
        elif problem := key_problem(key):
            causes.append(
                Cause("FieldValueInvalid", f"{here}.key", f'Invalid value: "{key}": {problem}')
            )
        value = taint.get("value")
        if value and (problem := value_problem(str(value))):
            causes.append(
                Cause("FieldValueInvalid", f"{here}.value", f'Invalid value: "{value}": {problem}')
            )
        effect = str(taint.get("effect") or "")
        if not effect:
            causes.append(Cause("FieldValueRequired", f"{here}.effect", "Required value"))
        elif effect not in TAINT_EFFECTS:
            causes.append(
                Cause(
                    "FieldValueNotSupported",
                    f"{here}.effect",
                    f'Unsupported value: "{effect}": supported values: "NoSchedule", '
                    '"PreferNoSchedule", "NoExecute"',
                )
            )
        if (key, effect) in seen:
            causes.append(
                Cause(
                    "FieldValueDuplicate",
                    here,
                    f'Duplicate value: "{key}={value or ""}:{effect}": taints must be unique by '
                    "key and effect pair",
                )
            )
        seen.add((key, effect))
    return causes


def validate_node(node: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    return taint_causes((node.get("spec") or {}).get("taints"), "spec.taints")
