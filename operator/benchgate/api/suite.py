"""RegressionSuite spec, parsed from the manifest dict into frozen dataclasses.

The same manifest drives `benchgate run SUITE.yaml` on a laptop and the operator in a
cluster, so both read it through this module. Parsing is strict and every error names
the field path and the fix. Spec numbers are integers or decimal strings, never floats
(Kubernetes API conventions): `tolerancePercent: 3` or `confidence: "0.95"`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, Literal

import yaml

GROUP: Final = "benchgate.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
SUITE_KIND: Final = "RegressionSuite"

SIZES: Final = ("tiny", "full")
SAMPLING_MODES: Final = ("fixed", "sequential")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
WORKLOAD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

Size = Literal["tiny", "full"]
SamplingMode = Literal["fixed", "sequential"]


class SuiteSpecError(ValueError):
    """An invalid RegressionSuite; `path` is the field path (e.g. spec.workloads[0].name)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def decimal_field(value: Any, path: str, *, low: Decimal, high: Decimal) -> Decimal:
    """An integer or a decimal string within [low, high]; floats are refused."""
    if isinstance(value, bool | float):
        raise SuiteSpecError(
            path, f'must be an integer or a decimal string such as "{value}", not a float'
        )
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise SuiteSpecError(path, f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise SuiteSpecError(path, f"{value!r} is not a finite number")
    else:
        raise SuiteSpecError(path, f"must be an integer or a decimal string, got {value!r}")
    if not low <= number <= high:
        raise SuiteSpecError(path, f"must be between {low} and {high}, got {value}")
    return number


def _int_field(value: Any, path: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SuiteSpecError(path, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        raise SuiteSpecError(path, f"must be between {low} and {high}, got {value}")
    return value


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SuiteSpecError(path, f"must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SuiteSpecError(path, f"must be a list, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class MetricOverride:
    """Per-metric judgement settings that override what the workload reports."""

    name: str
    tolerance: float | None = None  # fraction (0.03 = 3 %)
    error_factor: float | None = None
    ignore: bool = False


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    repetitions: int | None = None  # per replicate; None = the suite's sampling default
    parameters: Mapping[str, str] = field(default_factory=dict)
    metrics: tuple[MetricOverride, ...] = ()

    def override(self, metric: str) -> MetricOverride | None:
        return next((m for m in self.metrics if m.name == metric), None)


@dataclass(frozen=True)
class SamplingSpec:
    """How many independent replicates (fresh processes/pods) and repetitions in each.

    `replicates: 0` means "let the verdict engine recommend a plan" from the baseline's
    variance components. In `sequential` mode the plan is a maximum and verification
    stops early once every metric is decided.
    """

    replicates: int = 0
    repetitions: int = 3
    mode: SamplingMode = "fixed"
    max_samples: int = 30


@dataclass(frozen=True)
class StatisticsSpec:
    confidence: float = 0.95  # family-wise, Holm-corrected across the run's metrics
    tolerance: float = 0.03  # default relative tolerance for metrics without their own
    error_factor: float = 2.0  # numerical-error metrics pass at <= k x the baseline error


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    namespace: str
    size: Size
    image: str
    workloads: tuple[WorkloadSpec, ...]
    sampling: SamplingSpec
    statistics: StatisticsSpec
    # The whole validated spec, for the operator-only sections (platform, triggers,
    # baseline, jobTemplate, gating) that `benchgate run` does not need.
    raw: Mapping[str, Any] = field(default_factory=dict)
    # The operator-only sections, parsed (defaults when absent).
    operator: OperatorSpec = field(default_factory=lambda: OperatorSpec())

    def workload(self, name: str) -> WorkloadSpec | None:
        return next((w for w in self.workloads if w.name == name), None)


def _parse_metric_override(raw: Any, path: str) -> MetricOverride:
    obj = _mapping(raw, path)
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise SuiteSpecError(f"{path}.name", "is required (the metric name the workload reports)")
    tolerance = None
    if "tolerancePercent" in obj:
        tolerance = float(
            decimal_field(
                obj["tolerancePercent"],
                f"{path}.tolerancePercent",
                low=Decimal(0),
                high=Decimal(1000),
            )
            / 100
        )
    error_factor = None
    if "errorFactor" in obj:
        error_factor = float(
            decimal_field(
                obj["errorFactor"], f"{path}.errorFactor", low=Decimal(1), high=Decimal(1000)
            )
        )
    ignore = obj.get("ignore", False)
    if not isinstance(ignore, bool):
        raise SuiteSpecError(f"{path}.ignore", "must be true or false")
    return MetricOverride(name=name, tolerance=tolerance, error_factor=error_factor, ignore=ignore)


def _parse_workload(raw: Any, path: str) -> WorkloadSpec:
    obj = _mapping(raw, path)
    name = obj.get("name")
    if not isinstance(name, str) or not WORKLOAD_NAME.match(name):
        raise SuiteSpecError(
            f"{path}.name", f"must be a workload name such as 'gemm_throughput', got {name!r}"
        )
    repetitions = None
    if obj.get("repetitions") is not None:
        repetitions = _int_field(obj["repetitions"], f"{path}.repetitions", low=1, high=1000)
    parameters = _mapping(obj.get("parameters"), f"{path}.parameters")
    for key, value in parameters.items():
        if not isinstance(value, str):
            raise SuiteSpecError(
                f"{path}.parameters.{key}", f'must be a string (quote it: "{value}")'
            )
    metrics = tuple(
        _parse_metric_override(m, f"{path}.metrics[{i}]")
        for i, m in enumerate(_list(obj.get("metrics"), f"{path}.metrics"))
    )
    return WorkloadSpec(
        name=name, repetitions=repetitions, parameters=dict(parameters), metrics=metrics
    )


def parse_suite(manifest: Mapping[str, Any]) -> SuiteSpec:
    """Parse a whole RegressionSuite object (apiVersion, kind, metadata, spec)."""
    if manifest.get("kind") != SUITE_KIND:
        raise SuiteSpecError("kind", f"must be {SUITE_KIND!r}, got {manifest.get('kind')!r}")
    if manifest.get("apiVersion") != API_VERSION:
        raise SuiteSpecError(
            "apiVersion", f"must be {API_VERSION!r}, got {manifest.get('apiVersion')!r}"
        )
    metadata = _mapping(manifest.get("metadata"), "metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not DNS_LABEL.match(name) or len(name) > 63:
        raise SuiteSpecError("metadata.name", f"must be a DNS label, got {name!r}")
    namespace = metadata.get("namespace", "default")
    if not isinstance(namespace, str) or not DNS_LABEL.match(namespace):
        raise SuiteSpecError("metadata.namespace", f"must be a DNS label, got {namespace!r}")
    spec = _mapping(manifest.get("spec"), "spec")

    size = spec.get("size", "tiny")
    if size not in SIZES:
        raise SuiteSpecError("spec.size", f"must be one of {list(SIZES)}, got {size!r}")
    image = spec.get("image", "")
    if not isinstance(image, str):
        raise SuiteSpecError("spec.image", "must be a container image reference")

    raw_workloads = _list(spec.get("workloads"), "spec.workloads")
    if not raw_workloads:
        raise SuiteSpecError("spec.workloads", "must list at least one workload")
    workloads = tuple(
        _parse_workload(w, f"spec.workloads[{i}]") for i, w in enumerate(raw_workloads)
    )
    names = [w.name for w in workloads]
    for i, workload_name in enumerate(names):
        if workload_name in names[:i]:
            raise SuiteSpecError(
                f"spec.workloads[{i}].name", f"duplicate workload {workload_name!r}"
            )

    sampling_obj = _mapping(spec.get("sampling"), "spec.sampling")
    mode = sampling_obj.get("mode", "fixed")
    if mode not in SAMPLING_MODES:
        raise SuiteSpecError(
            "spec.sampling.mode", f"must be one of {list(SAMPLING_MODES)}, got {mode!r}"
        )
    sampling = SamplingSpec(
        replicates=_int_field(
            sampling_obj.get("replicates", 0), "spec.sampling.replicates", low=0, high=200
        ),
        repetitions=_int_field(
            sampling_obj.get("repetitions", 3), "spec.sampling.repetitions", low=1, high=1000
        ),
        mode=mode,
        max_samples=_int_field(
            sampling_obj.get("maxSamples", 30), "spec.sampling.maxSamples", low=2, high=10_000
        ),
    )

    stats_obj = _mapping(spec.get("statistics"), "spec.statistics")
    statistics = StatisticsSpec(
        confidence=float(
            decimal_field(
                stats_obj.get("confidence", "0.95"),
                "spec.statistics.confidence",
                low=Decimal("0.5"),
                high=Decimal("0.9999"),
            )
        ),
        tolerance=float(
            decimal_field(
                stats_obj.get("tolerancePercent", 3),
                "spec.statistics.tolerancePercent",
                low=Decimal(0),
                high=Decimal(1000),
            )
            / 100
        ),
        error_factor=float(
            decimal_field(
                stats_obj.get("errorFactor", 2),
                "spec.statistics.errorFactor",
                low=Decimal(1),
                high=Decimal(1000),
            )
        ),
    )
    return SuiteSpec(
        name=name,
        namespace=namespace,
        size=size,
        image=image,
        workloads=workloads,
        sampling=sampling,
        statistics=statistics,
        raw=spec,
        operator=parse_operator_sections(spec),
    )


def load_suite_file(path: str | Path) -> SuiteSpec:
    """Read a YAML file (possibly multi-document) and parse its RegressionSuite."""
    text = Path(path).read_text()
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise SuiteSpecError(str(path), f"is not valid YAML: {exc}") from exc
    suites = [d for d in documents if isinstance(d, Mapping) and d.get("kind") == SUITE_KIND]
    if len(suites) != 1:
        raise SuiteSpecError(str(path), f"must hold exactly one {SUITE_KIND}, found {len(suites)}")
    return parse_suite(suites[0])


# ------------------------------------------------------------ operator-only sections

BASELINE_POLICIES: Final = ("ClosestFingerprint", "Explicit")
NODE_INFO_FIELDS: Final = (
    "kernelVersion",
    "osImage",
    "containerRuntimeVersion",
    "kubeletVersion",
    "architecture",
    "operatingSystem",
    "machineID",
    "systemUUID",
    "bootID",
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CAPABILITY = re.compile(r"^[A-Z_]+$")
BaselinePolicy = Literal["ClosestFingerprint", "Explicit"]


def _bool_field(value: Any, path: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SuiteSpecError(path, f"must be true or false, got {value!r}")
    return value


def _str_field(value: Any, path: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise SuiteSpecError(path, f"must be a string, got {value!r}")
    return value


def _str_list(value: Any, path: str) -> tuple[str, ...]:
    items = _list(value, path)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise SuiteSpecError(f"{path}[{i}]", f"must be a non-empty string, got {item!r}")
    return tuple(items)


@dataclass(frozen=True)
class PlatformSpec:
    """Which node attributes define a platform (defaults live in domain.platform)."""

    use_defaults: bool = True
    labels: tuple[str, ...] = ()
    node_info_fields: tuple[str, ...] | None = None  # None = the defaults
    ignore_labels: tuple[str, ...] = ()
    settle_seconds: int = 30

    @staticmethod
    def from_spec(raw: Any, path: str = "spec.platform") -> PlatformSpec:
        obj = _mapping(raw, path)
        fields: tuple[str, ...] | None = None
        if obj.get("nodeInfoFields") is not None:
            fields = _str_list(obj["nodeInfoFields"], f"{path}.nodeInfoFields")
            for i, name in enumerate(fields):
                if name not in NODE_INFO_FIELDS:
                    raise SuiteSpecError(
                        f"{path}.nodeInfoFields[{i}]",
                        f"must be one of {list(NODE_INFO_FIELDS)}, got {name!r}",
                    )
        return PlatformSpec(
            use_defaults=_bool_field(obj.get("useDefaults"), f"{path}.useDefaults", True),
            labels=_str_list(obj.get("labels"), f"{path}.labels"),
            node_info_fields=fields,
            ignore_labels=_str_list(obj.get("ignoreLabels"), f"{path}.ignoreLabels"),
            settle_seconds=_int_field(
                obj.get("settleSeconds", 30), f"{path}.settleSeconds", low=0, high=3600
            ),
        )


@dataclass(frozen=True)
class TriggerSpec:
    new_platform: bool = True
    fingerprint_change: bool = True
    image_change: bool = True
    spec_change: bool = True
    period_seconds: int = 0  # 0 = no periodic re-verification

    @staticmethod
    def from_spec(raw: Any, path: str = "spec.triggers") -> TriggerSpec:
        obj = _mapping(raw, path)
        period = _int_field(
            obj.get("periodSeconds", 0), f"{path}.periodSeconds", low=0, high=31_536_000
        )
        if 0 < period < 300:
            raise SuiteSpecError(
                f"{path}.periodSeconds", f"must be 0 (off) or at least 300, got {period}"
            )
        return TriggerSpec(
            new_platform=_bool_field(obj.get("newPlatform"), f"{path}.newPlatform", True),
            fingerprint_change=_bool_field(
                obj.get("fingerprintChange"), f"{path}.fingerprintChange", True
            ),
            image_change=_bool_field(obj.get("imageChange"), f"{path}.imageChange", True),
            spec_change=_bool_field(obj.get("specChange"), f"{path}.specChange", True),
            period_seconds=period,
        )


@dataclass(frozen=True)
class BaselineSpec:
    policy: BaselinePolicy = "ClosestFingerprint"
    name: str = ""
    auto_promote_first: bool = True

    @staticmethod
    def from_spec(raw: Any, path: str = "spec.baseline") -> BaselineSpec:
        obj = _mapping(raw, path)
        policy = obj.get("policy", "ClosestFingerprint")
        if policy not in BASELINE_POLICIES:
            raise SuiteSpecError(
                f"{path}.policy", f"must be one of {list(BASELINE_POLICIES)}, got {policy!r}"
            )
        name = _str_field(obj.get("name"), f"{path}.name")
        if policy == "Explicit" and not name:
            raise SuiteSpecError(
                f"{path}.name", "is required when policy is Explicit (a RegressionBaseline name)"
            )
        return BaselineSpec(
            policy=policy,
            name=name,
            auto_promote_first=_bool_field(
                obj.get("autoPromoteFirst"), f"{path}.autoPromoteFirst", True
            ),
        )


@dataclass(frozen=True)
class SecuritySpec:
    """Pod hardening. The defaults are the restrictive ones; a suite loosens explicitly."""

    run_as_non_root: bool = True
    run_as_user: int = 65532
    read_only_root_filesystem: bool = True
    allow_privilege_escalation: bool = False
    privileged: bool = False
    add_capabilities: tuple[str, ...] = ()

    @staticmethod
    def from_spec(raw: Any, path: str) -> SecuritySpec:
        obj = _mapping(raw, path)
        caps = _str_list(obj.get("addCapabilities"), f"{path}.addCapabilities")
        for i, cap in enumerate(caps):
            if not CAPABILITY.match(cap):
                raise SuiteSpecError(
                    f"{path}.addCapabilities[{i}]",
                    f"must be a capability name such as SYS_ADMIN, got {cap!r}",
                )
        spec = SecuritySpec(
            run_as_non_root=_bool_field(obj.get("runAsNonRoot"), f"{path}.runAsNonRoot", True),
            run_as_user=_int_field(
                obj.get("runAsUser", 65532), f"{path}.runAsUser", low=0, high=2_147_483_647
            ),
            read_only_root_filesystem=_bool_field(
                obj.get("readOnlyRootFilesystem"), f"{path}.readOnlyRootFilesystem", True
            ),
            allow_privilege_escalation=_bool_field(
                obj.get("allowPrivilegeEscalation"), f"{path}.allowPrivilegeEscalation", False
            ),
            privileged=_bool_field(obj.get("privileged"), f"{path}.privileged", False),
            add_capabilities=caps,
        )
        if spec.privileged and spec.run_as_non_root:
            raise SuiteSpecError(
                f"{path}.privileged", "privileged pods must also set runAsNonRoot: false"
            )
        if spec.run_as_non_root and spec.run_as_user == 0:
            raise SuiteSpecError(f"{path}.runAsUser", "must not be 0 while runAsNonRoot is true")
        return spec


@dataclass(frozen=True)
class JobTemplateSpec:
    resources: Mapping[str, Any] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    runtime_class_name: str = ""
    priority_class_name: str = ""
    service_account_name: str = ""
    image_pull_policy: str = ""
    env: tuple[tuple[str, str], ...] = ()
    security: SecuritySpec = field(default_factory=SecuritySpec)
    backoff_limit: int = 0
    ttl_seconds_after_finished: int = 3600

    @staticmethod
    def from_spec(raw: Any, path: str = "spec.jobTemplate") -> JobTemplateSpec:
        obj = _mapping(raw, path)
        resources = _mapping(obj.get("resources"), f"{path}.resources")
        for key in resources:
            if key not in ("requests", "limits"):
                raise SuiteSpecError(
                    f"{path}.resources.{key}", "only requests and limits are allowed"
                )
            for name, quantity in _mapping(resources[key], f"{path}.resources.{key}").items():
                if isinstance(quantity, bool | float) or not isinstance(quantity, int | str):
                    raise SuiteSpecError(
                        f"{path}.resources.{key}.{name}",
                        f'must be a quantity such as "2" or 512Mi, got {quantity!r}',
                    )
        tolerations = tuple(
            dict(_mapping(t, f"{path}.tolerations[{i}]"))
            for i, t in enumerate(_list(obj.get("tolerations"), f"{path}.tolerations"))
        )
        env: list[tuple[str, str]] = []
        for i, item in enumerate(_list(obj.get("env"), f"{path}.env")):
            entry = _mapping(item, f"{path}.env[{i}]")
            env_name = entry.get("name")
            if not isinstance(env_name, str) or not ENV_NAME.match(env_name):
                raise SuiteSpecError(
                    f"{path}.env[{i}].name",
                    f"must be an environment variable name, got {env_name!r}",
                )
            env.append((env_name, _str_field(entry.get("value"), f"{path}.env[{i}].value")))
        pull = _str_field(obj.get("imagePullPolicy"), f"{path}.imagePullPolicy")
        if pull not in ("", "Always", "IfNotPresent", "Never"):
            raise SuiteSpecError(
                f"{path}.imagePullPolicy", f"must be Always, IfNotPresent or Never, got {pull!r}"
            )
        return JobTemplateSpec(
            resources={k: dict(v) for k, v in resources.items()},
            tolerations=tolerations,
            runtime_class_name=_str_field(obj.get("runtimeClassName"), f"{path}.runtimeClassName"),
            priority_class_name=_str_field(
                obj.get("priorityClassName"), f"{path}.priorityClassName"
            ),
            service_account_name=_str_field(
                obj.get("serviceAccountName"), f"{path}.serviceAccountName"
            ),
            image_pull_policy=pull,
            env=tuple(env),
            security=SecuritySpec.from_spec(obj.get("securityContext"), f"{path}.securityContext"),
            backoff_limit=_int_field(
                obj.get("backoffLimit", 0), f"{path}.backoffLimit", low=0, high=10
            ),
            ttl_seconds_after_finished=_int_field(
                obj.get("ttlSecondsAfterFinished", 3600),
                f"{path}.ttlSecondsAfterFinished",
                low=0,
                high=604_800,
            ),
        )


TAINT_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
GATING_EFFECTS: Final = ("NoSchedule", "PreferNoSchedule")


@dataclass(frozen=True)
class GatingSpec:
    """Keep a node tainted until its platform is verified (spec.gating).

    The operator removes `taint_key` from a node in scope once the latest finished run of
    the node's platform passed (or became the class's first baseline), and puts
    `taint_key=<suite>:<effect>` back while it is not verified (new, changed, running,
    regressed, failed or inconclusive). Verification Jobs tolerate the taint. NoExecute is
    not offered: gating must never evict running workloads.
    """

    enabled: bool = False
    taint_key: str = "benchgate.dev/unverified"
    effect: str = "NoSchedule"

    @classmethod
    def from_spec(cls, raw: Any) -> GatingSpec:
        obj = _mapping(raw, "spec.gating")
        key = obj.get("taintKey", cls.taint_key)
        if not isinstance(key, str) or len(key) > 253 or not TAINT_KEY.match(key):
            raise SuiteSpecError(
                "spec.gating.taintKey",
                f"{key!r} is not a taint key; use a qualified name such as "
                "benchgate.dev/unverified",
            )
        effect = obj.get("effect", cls.effect)
        if effect not in GATING_EFFECTS:
            raise SuiteSpecError(
                "spec.gating.effect",
                f"{effect!r} is not one of {', '.join(GATING_EFFECTS)} "
                "(NoExecute would evict running workloads)",
            )
        return cls(
            enabled=_bool_field(obj.get("enabled"), "spec.gating.enabled", False),
            taint_key=key,
            effect=effect,
        )


@dataclass(frozen=True)
class OperatorSpec:
    """The parts of a RegressionSuite only the operator reads."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    platform: PlatformSpec = field(default_factory=PlatformSpec)
    triggers: TriggerSpec = field(default_factory=TriggerSpec)
    baseline: BaselineSpec = field(default_factory=BaselineSpec)
    job_template: JobTemplateSpec = field(default_factory=JobTemplateSpec)
    nodes_per_platform: int = 1
    concurrency: int = 2
    timeout_seconds: int = 1800
    history_limit: int = 10
    gating: GatingSpec = field(default_factory=GatingSpec)


def parse_operator_sections(spec: Mapping[str, Any]) -> OperatorSpec:
    """Parse nodeSelector, platform, triggers, baseline, jobTemplate and the limits."""
    selector = _mapping(spec.get("nodeSelector"), "spec.nodeSelector")
    for key, value in selector.items():
        if not isinstance(value, str):
            raise SuiteSpecError(
                f"spec.nodeSelector.{key}", f'must be a string (quote it: "{value}")'
            )
    return OperatorSpec(
        node_selector=dict(selector),
        platform=PlatformSpec.from_spec(spec.get("platform")),
        triggers=TriggerSpec.from_spec(spec.get("triggers")),
        baseline=BaselineSpec.from_spec(spec.get("baseline")),
        job_template=JobTemplateSpec.from_spec(spec.get("jobTemplate")),
        nodes_per_platform=_int_field(
            spec.get("nodesPerPlatform", 1), "spec.nodesPerPlatform", low=1, high=16
        ),
        concurrency=_int_field(spec.get("concurrency", 2), "spec.concurrency", low=1, high=64),
        timeout_seconds=_int_field(
            spec.get("timeoutSeconds", 1800), "spec.timeoutSeconds", low=30, high=86_400
        ),
        history_limit=_int_field(
            spec.get("historyLimit", 10), "spec.historyLimit", low=1, high=100
        ),
        gating=GatingSpec.from_spec(spec.get("gating")),
    )
