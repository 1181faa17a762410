"""Which RegressionBaseline a run is compared against.

Policy `Explicit` names one. Policy `ClosestFingerprint` picks, among the suite's
baselines of the same hardware class (comparing an H100 with an A100 says nothing about
the driver), the one whose platform fields differ least from the run's; ties go to the
newest baseline, then to the name, so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from benchgate.api.crd import ANNOTATION_ANCHOR as ANCHOR_ANNOTATION
from benchgate.api.suite import BaselineSpec
from benchgate.domain.platform import Platform, differing_fields


@dataclass(frozen=True)
class BaselineRecord:
    name: str
    suite: str
    platform: Platform
    created_at: float
    configmap: str
    source_run: str = ""
    pinned: bool = False  # annotated benchgate.dev/anchor=true: its class's anchor


@dataclass(frozen=True)
class BaselineChoice:
    baseline: BaselineRecord | None
    distance: int | None  # platform fields that differ; None without a baseline
    why: str


def distance(a: Platform, b: Platform) -> int:
    return len(differing_fields(a.fields, b.fields))


def choose_baseline(
    policy: BaselineSpec, suite: str, platform: Platform, baselines: Sequence[BaselineRecord]
) -> BaselineChoice:
    if policy.policy == "Explicit":
        named = next((b for b in baselines if b.name == policy.name), None)
        if named is None:
            return BaselineChoice(
                None,
                None,
                f"RegressionBaseline {policy.name!r} (spec.baseline.name) does not exist",
            )
        d = distance(named.platform, platform)
        return BaselineChoice(
            named, d, f"explicit baseline {named.name} ({d} platform field(s) differ)"
        )
    same_class = [
        b
        for b in baselines
        if b.suite == suite and b.platform.hardware_class == platform.hardware_class
    ]
    if not same_class:
        return BaselineChoice(
            None, None, f"no baseline for hardware class {platform.hardware_class} in suite {suite}"
        )
    best = min(same_class, key=lambda b: (distance(b.platform, platform), -b.created_at, b.name))
    d = distance(best.platform, platform)
    return BaselineChoice(
        best,
        d,
        f"closest baseline in {platform.hardware_class}: {best.name} "
        f"({d} platform field(s) differ)",
    )


def baseline_record(obj: Mapping[str, Any], created_at: float) -> BaselineRecord:
    """A BaselineRecord from a RegressionBaseline object (dict as the API returns it)."""
    spec = obj.get("spec") or {}
    return BaselineRecord(
        name=str((obj.get("metadata") or {}).get("name", "")),
        suite=str(spec.get("suite", "")),
        platform=Platform.from_spec(spec.get("platform") or {}),
        created_at=created_at,
        configmap=str(spec.get("samplesConfigMap", "")),
        source_run=str(spec.get("sourceRun", "")),
        pinned=str(
            ((obj.get("metadata") or {}).get("annotations") or {}).get(ANCHOR_ANNOTATION, "")
        ).lower()
        == "true",
    )


@dataclass(frozen=True)
class FirstRunRecord:
    """What decides which of a suite's concurrent first runs of a class promotes."""

    name: str
    hardware_class: str
    created_at: float
    complete: bool
    baseline: str  # status.baseline.name chosen at plan time; "" when none was found


def earlier_first_runs(me: FirstRunRecord, runs: Sequence[FirstRunRecord]) -> list[str]:
    """Runs of `me`'s hardware class that started before it without a baseline and are
    still going: one of them will become the class's first baseline, so `me` waits to be
    compared with it rather than promoting itself beside it.

    Without this, two pools of one class that appear together (say, driver 550 and 560)
    would both become baselines and neither would be compared: a regressed driver would
    enter as a baseline. Order is (creation time, name), total, so no two runs wait on
    each other; a run that ends without promoting (failed, timed out) stops the wait.
    """
    key = (me.created_at, me.name)
    earlier = [
        r
        for r in runs
        if r.name != me.name
        and r.hardware_class == me.hardware_class
        and not r.complete
        and not r.baseline
        and (r.created_at, r.name) < key
    ]
    return [r.name for r in sorted(earlier, key=lambda r: (r.created_at, r.name))]


# A baseline grows from the promoted run to this many sessions (runs on other nodes or
# days), so the engine estimates the between-session component instead of assuming the
# per-family prior (docs/statistics.md). Three is the fewest from which a spread can be
# estimated with some honesty (two degrees of freedom), and few enough that a platform
# class's baseline is complete after a couple of periodic re-verifications.
MAX_SESSIONS: Final = 3


@dataclass(frozen=True)
class SessionCandidate:
    """A finished run that could become a later session of the baseline it passed."""

    verdict: str
    platform_key: str
    image: str
    metric_keys: frozenset[str]
    spec_hash: str = ""  # the suite spec the run measured (VerificationRun spec.specHash)


def session_refusal(
    baseline: BaselineRecord,
    baseline_image: str,
    baseline_keys: frozenset[str],
    run: SessionCandidate,
    sessions: int,
    baseline_spec_hash: str = "",
) -> str | None:
    """Why `run` does not become a later session of `baseline` (None: it does).

    Only a run that measured the same thing on the same platform may: it Passed against
    this baseline, its platform key, verification image and suite spec (`baseline_spec_hash`,
    "" when the baseline does not record it) are the baseline's, and it reports exactly the
    baseline's metrics. A spec change (another size, a thread count in jobTemplate.env)
    makes another measurement, not another session of this one.
    """
    if sessions >= MAX_SESSIONS:
        return f"the baseline already has {sessions} sessions"
    if run.verdict != "Passed":
        return f"the run is {run.verdict}, not Passed"
    if run.platform_key != baseline.platform.key:
        return "the run is of another platform than the baseline"
    if run.image != baseline_image:
        return "the run used another verification image than the baseline"
    if not baseline_spec_hash or run.spec_hash != baseline_spec_hash:
        return "the run measured another suite spec than the baseline (or it is unknown)"
    if run.metric_keys != baseline_keys:
        return "the run reports other metrics than the baseline"
    return None
