"""RegressionSuite spec: validated against its CRD schema, then built into frozen dataclasses.

The CRD (`crds/regressionsuites.yaml`) is the one definition of a valid suite: ranges,
enums, name budgets and cross-field rules live there, so `kubectl apply` refuses what the
operator would. `parse_suite` validates a manifest with that same schema, as the API
server does (`benchgate.api.suite_schema`), so `benchgate run SUITE.yaml` on a laptop
refuses a suite with the messages `kubectl apply` prints; this module only builds typed
values from the validated, defaulted dict and checks nothing twice. What needs cluster or
image knowledge (does this workload exist, does this baseline exist) is not a schema
matter: see `benchgate.api.catalog` and the suite controller's InvalidSpec condition.
Spec numbers are integers or decimal strings, never floats (Kubernetes API conventions).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, cast

import yaml

from benchgate.api import crd
from benchgate.api.structural import Cause
from benchgate.api.suite_schema import admit_suite

Size = Literal["tiny", "full"]
SamplingMode = Literal["fixed", "sequential"]
BaselinePolicy = Literal["ClosestFingerprint", "Explicit"]
ControlMode = Literal["Auto", "Never", "Required"]


class SuiteSpecError(ValueError):
    """An invalid RegressionSuite; `path` is the first offending field path (e.g.
    spec.workloads[0].name) and `causes` every problem, as the API server lists them."""

    def __init__(self, path: str, message: str, causes: Sequence[Cause] = ()) -> None:
        self.causes = tuple(causes) or (Cause("FieldValueInvalid", path, message),)
        super().__init__("; ".join(c.message for c in self.causes))
        self.path = path
        self.message = message

    @classmethod
    def from_causes(cls, causes: Sequence[Cause]) -> SuiteSpecError:
        first = causes[0]
        return cls(first.field, first.detail, causes)


def _decimal(value: Any) -> Decimal:
    """An integer or decimal string the schema has already accepted."""
    return Decimal(str(value))


@dataclass(frozen=True)
class MetricOverride:
    """Per-metric judgement settings that override what the workload reports."""

    name: str
    tolerance: float | None = None  # fraction (0.03 = 3 %)
    error_factor: float | None = None
    ignore: bool = False

    @staticmethod
    def from_spec(obj: Mapping[str, Any]) -> MetricOverride:
        tolerance = obj.get("tolerancePercent")
        factor = obj.get("errorFactor")
        return MetricOverride(
            name=str(obj["name"]),
            tolerance=None if tolerance is None else float(_decimal(tolerance) / 100),
            error_factor=None if factor is None else float(_decimal(factor)),
            ignore=bool(obj.get("ignore", False)),
        )


@dataclass(frozen=True)
class ContainerSpec:
    """An any-image workload's own container (docs/any-image.md): it prints a result
    document between the markers on stdout, or writes it to $BENCHGATE_RESULT_FILE when
    `result_file` is set."""

    image: str
    command: tuple[str, ...]
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    resources: Mapping[str, Mapping[str, str | int]] = field(default_factory=dict)
    result_file: bool = False

    @staticmethod
    def from_spec(obj: Mapping[str, Any]) -> ContainerSpec:
        return ContainerSpec(
            image=str(obj["image"]),
            command=tuple(str(c) for c in obj.get("command") or ()),
            args=tuple(str(a) for a in obj.get("args") or ()),
            env=tuple((str(e["name"]), str(e.get("value", ""))) for e in obj.get("env") or ()),
            resources={k: dict(v) for k, v in (obj.get("resources") or {}).items()},
            result_file=obj.get("resultFrom", "Stdout") == "File",
        )


@dataclass(frozen=True)
class ModelSpec:
    """prediction_consistency: a user model file instead of the shipped reference model."""

    path: str
    input_shape: tuple[int, ...] = ()
    inputs: int | None = None

    def options(self) -> tuple[tuple[str, str], ...]:
        """The workload process's `--workload-option` settings."""
        out = [("model", self.path)]
        if self.input_shape:
            out.append(("inputShape", ",".join(map(str, self.input_shape))))
        if self.inputs is not None:
            out.append(("inputs", str(self.inputs)))
        return tuple(out)

    @staticmethod
    def from_spec(obj: Mapping[str, Any]) -> ModelSpec:
        return ModelSpec(
            path=str(obj["path"]),
            input_shape=tuple(int(s) for s in obj.get("inputShape") or ()),
            inputs=obj.get("inputs"),
        )


@dataclass(frozen=True)
class WorkloadSpec:
    name: str
    repetitions: int | None = None  # per replicate; None = the suite's sampling default
    metrics: tuple[MetricOverride, ...] = ()
    # A Python plugin installed in the verification image (docs/plugins.md).
    plugin: bool = False
    # An any-image workload: its own container instead of the verification image's.
    container: ContainerSpec | None = None
    model: ModelSpec | None = None

    def override(self, metric: str) -> MetricOverride | None:
        return next((m for m in self.metrics if m.name == metric), None)

    @property
    def builtin(self) -> bool:
        """Run by `benchgate-workload` from the shipped catalog (not a plugin, no image)."""
        return not self.plugin and self.container is None

    @staticmethod
    def from_spec(obj: Mapping[str, Any]) -> WorkloadSpec:
        return WorkloadSpec(
            name=str(obj["name"]),
            repetitions=obj.get("repetitions"),
            metrics=tuple(MetricOverride.from_spec(m) for m in obj.get("metrics") or ()),
            plugin=bool(obj.get("plugin", False)),
            container=ContainerSpec.from_spec(obj) if "image" in obj else None,
            model=ModelSpec.from_spec(obj["model"]) if "model" in obj else None,
        )


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

    @staticmethod
    def from_spec(obj: Mapping[str, Any]) -> SamplingSpec:
        return SamplingSpec(
            replicates=int(obj["replicates"]),
            repetitions=int(obj["repetitions"]),
            mode=cast(SamplingMode, obj["mode"]),
            max_samples=int(obj["maxSamples"]),
        )


@dataclass(frozen=True)
class StatisticsSpec:
    confidence: float = 0.95  # family-wise, Holm-corrected across the run's metrics
    tolerance: float = 0.03  # relative tolerance for metrics that declare none
    error_factor: float = 2.0  # numerical-error metrics pass at <= k x the baseline error

    @staticmethod
    def from_spec(obj: Mapping[str, Any]) -> StatisticsSpec:
        return StatisticsSpec(
            confidence=float(_decimal(obj["confidence"])),
            tolerance=float(_decimal(obj["tolerancePercent"]) / 100),
            error_factor=float(_decimal(obj["errorFactor"])),
        )


@dataclass(frozen=True)
class PlatformSpec:
    """Which node attributes define a platform (defaults live in domain.platform)."""

    use_defaults: bool = True
    labels: tuple[str, ...] = ()
    node_info_fields: tuple[str, ...] | None = None  # None = the defaults
    ignore_labels: tuple[str, ...] = ()
    settle_seconds: int = 30

    @staticmethod
    def from_spec(obj: Mapping[str, Any]) -> PlatformSpec:
        fields = obj.get("nodeInfoFields")
        return PlatformSpec(
            use_defaults=bool(obj["useDefaults"]),
            labels=tuple(obj.get("labels") or ()),
            node_info_fields=None if fields is None else tuple(fields),
            ignore_labels=tuple(obj.get("ignoreLabels") or ()),
            settle_seconds=int(obj["settleSeconds"]),
        )


@dataclass(frozen=True)
class TriggerSpec:
    new_platform: bool = True
    fingerprint_change: bool = True
    image_change: bool = True
    spec_change: bool = True
    period_seconds: int = 0  # 0 = no periodic re-verification

    @staticmethod
    def from_spec(obj: Mapping[str, Any]) -> TriggerSpec:
        return TriggerSpec(
            new_platform=bool(obj["newPlatform"]),
            fingerprint_change=bool(obj["fingerprintChange"]),
            image_change=bool(obj["imageChange"]),
            spec_change=bool(obj["specChange"]),
            period_seconds=int(obj["periodSeconds"]),
        )


@dataclass(frozen=True)
class BaselineSpec:
    policy: BaselinePolicy = "ClosestFingerprint"
    name: str = ""
    auto_promote_first: bool = True
    # Whether a run measures a control node of the baseline's platform beside the
    # candidate (domain/control.py).
    control: ControlMode = "Auto"

    @staticmethod
    def from_spec(obj: Mapping[str, Any]) -> BaselineSpec:
        return BaselineSpec(
            policy=cast(BaselinePolicy, obj["policy"]),
            name=str(obj["name"]),
            auto_promote_first=bool(obj["autoPromoteFirst"]),
            control=cast(ControlMode, obj["control"]),
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
    def from_spec(obj: Mapping[str, Any]) -> SecuritySpec:
        return SecuritySpec(
            run_as_non_root=bool(obj["runAsNonRoot"]),
            run_as_user=int(obj["runAsUser"]),
            read_only_root_filesystem=bool(obj["readOnlyRootFilesystem"]),
            allow_privilege_escalation=bool(obj["allowPrivilegeEscalation"]),
            privileged=bool(obj["privileged"]),
            add_capabilities=tuple(obj.get("addCapabilities") or ()),
        )


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
    def from_spec(obj: Mapping[str, Any]) -> JobTemplateSpec:
        resources = obj.get("resources") or {}
        return JobTemplateSpec(
            resources={k: dict(v) for k, v in resources.items()},
            tolerations=tuple(dict(t) for t in obj.get("tolerations") or ()),
            runtime_class_name=str(obj["runtimeClassName"]),
            priority_class_name=str(obj["priorityClassName"]),
            service_account_name=str(obj["serviceAccountName"]),
            image_pull_policy=str(obj["imagePullPolicy"]),
            env=tuple((str(e["name"]), str(e["value"])) for e in obj.get("env") or ()),
            security=SecuritySpec.from_spec(obj["securityContext"]),
            backoff_limit=int(obj["backoffLimit"]),
            ttl_seconds_after_finished=int(obj["ttlSecondsAfterFinished"]),
        )


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
    def from_spec(cls, obj: Mapping[str, Any] | None) -> GatingSpec:
        """Also read straight from a suite the API returns (a kopf index, a deletion), which
        the API server has validated and defaulted: absent fields take the CRD defaults."""
        obj = obj or {}
        return cls(
            enabled=bool(obj.get("enabled", cls.enabled)),
            taint_key=str(obj.get("taintKey", cls.taint_key)),
            effect=str(obj.get("effect", cls.effect)),
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

    @staticmethod
    def from_spec(spec: Mapping[str, Any]) -> OperatorSpec:
        return OperatorSpec(
            node_selector=dict(spec.get("nodeSelector") or {}),
            platform=PlatformSpec.from_spec(spec["platform"]),
            triggers=TriggerSpec.from_spec(spec["triggers"]),
            baseline=BaselineSpec.from_spec(spec["baseline"]),
            job_template=JobTemplateSpec.from_spec(spec["jobTemplate"]),
            nodes_per_platform=int(spec["nodesPerPlatform"]),
            concurrency=int(spec["concurrency"]),
            timeout_seconds=int(spec["timeoutSeconds"]),
            history_limit=int(spec["historyLimit"]),
            gating=GatingSpec.from_spec(spec["gating"]),
        )


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    namespace: str
    size: Size
    image: str
    workloads: tuple[WorkloadSpec, ...]
    sampling: SamplingSpec
    statistics: StatisticsSpec
    # The whole validated, defaulted spec (hashes of what is measured read it).
    raw: Mapping[str, Any] = field(default_factory=dict)
    operator: OperatorSpec = field(default_factory=OperatorSpec)

    def metric_overrides(self) -> dict[str, MetricOverride]:
        """Per-metric overrides keyed `workload/metric`, as the engine looks metrics up."""
        return {f"{w.name}/{m.name}": m for w in self.workloads for m in w.metrics}

    def workload(self, name: str) -> WorkloadSpec | None:
        return next((w for w in self.workloads if w.name == name), None)


def suite_images(spec: SuiteSpec) -> tuple[str, ...]:
    """Every image a suite's verification pods run, in first-use order: the verification
    image (built-in and plugin workloads, and the file-mode relay step) and each any-image
    workload's own. Admission or an image allow-list checks exactly these."""
    images: list[str] = []
    needs_verification_image = any(
        w.container is None or w.container.result_file for w in spec.workloads
    )
    if needs_verification_image:
        images.append(spec.image)
    for w in spec.workloads:
        if w.container is not None and w.container.image not in images:
            images.append(w.container.image)
    return tuple(images)


DEFAULT_NAMESPACE: Final = "default"


def parse_suite(manifest: Mapping[str, Any]) -> SuiteSpec:
    """Validate a whole RegressionSuite (apiVersion, kind, metadata, spec) against its CRD
    and build the typed spec. Unknown fields are refused, as `kubectl apply` (strict field
    validation) refuses them; a suite read back from the API has none.

    Validation costs tens of milliseconds (mostly CEL) and the controllers parse every
    suite on every reconcile, so results are memoised by the manifest's content: the same
    content always gives the same (immutable) spec, and nothing is kept but that."""
    meta = manifest.get("metadata")
    key = json.dumps(
        {
            "apiVersion": manifest.get("apiVersion"),
            "kind": manifest.get("kind"),
            "metadata": {k: meta.get(k) for k in ("name", "namespace")}
            if isinstance(meta, Mapping)
            else meta,
            "spec": manifest.get("spec"),
        },
        sort_keys=True,
        default=str,
    )
    return _parse_canonical(key)


@functools.lru_cache(maxsize=1024)
def _parse_canonical(key: str) -> SuiteSpec:
    return _parse(json.loads(key))


def _parse(manifest: Mapping[str, Any]) -> SuiteSpec:
    if manifest.get("kind") != crd.SUITE_KIND:
        raise SuiteSpecError("kind", f"must be {crd.SUITE_KIND!r}, got {manifest.get('kind')!r}")
    if manifest.get("apiVersion") != crd.API_VERSION:
        raise SuiteSpecError(
            "apiVersion", f"must be {crd.API_VERSION!r}, got {manifest.get('apiVersion')!r}"
        )
    metadata = manifest.get("metadata")
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str):
        raise SuiteSpecError("metadata.name", "Required value: name is required")
    if not isinstance(manifest.get("spec"), Mapping):
        raise SuiteSpecError("spec", "Required value")
    obj, admission = admit_suite(manifest)
    if admission.unknown_fields:
        raise SuiteSpecError.from_causes(
            [
                Cause("FieldValueInvalid", f, f'unknown field "{f}" (strict decoding error)')
                for f in admission.unknown_fields
            ]
        )
    if admission.causes:
        raise SuiteSpecError.from_causes(admission.causes)
    spec = obj["spec"]
    return SuiteSpec(
        name=metadata["name"],
        namespace=str(metadata.get("namespace") or DEFAULT_NAMESPACE),
        size=cast(Size, spec["size"]),
        image=str(spec["image"]),
        workloads=tuple(WorkloadSpec.from_spec(w) for w in spec["workloads"]),
        sampling=SamplingSpec.from_spec(spec["sampling"]),
        statistics=StatisticsSpec.from_spec(spec["statistics"]),
        raw=spec,
        operator=OperatorSpec.from_spec(spec),
    )


def load_suite_file(path: str | Path) -> SuiteSpec:
    """Read a YAML file (possibly multi-document) and parse its RegressionSuite."""
    text = Path(path).read_text()
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise SuiteSpecError(str(path), f"is not valid YAML: {exc}") from exc
    suites = [d for d in documents if isinstance(d, Mapping) and d.get("kind") == crd.SUITE_KIND]
    if len(suites) != 1:
        raise SuiteSpecError(
            str(path), f"must hold exactly one {crd.SUITE_KIND}, found {len(suites)}"
        )
    return parse_suite(suites[0])
