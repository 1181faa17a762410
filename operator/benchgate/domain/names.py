"""Every name benchgate derives from a suite's name, within every Kubernetes limit.

A suite's name is a DNS label of at most 63 characters (its CRD refuses longer ones: the
name is itself a label value and a taint value). What is derived from it:

    object (and label)        shape                            at most  its limit
    VerificationRun, label    <suite prefix>-<plat8>-<hash8>   52       63 (a label value)
    Job                       <run>-<i>                        57       63 (*)
    results ConfigMap         <run>-results                    60       253
    RegressionBaseline, label <run>-baseline                   61       63 (a label value)
    samples ConfigMap         <baseline>-samples               69       253

(*) A Job's name becomes a label value of its pods, and an Indexed Job's pods are named
and hostnamed <job>-<index>: both at most 63, so Job names leave room for a 5-digit
index (run names from here never need more than 52 + "-" + 4 digits).

The run's hash covers the suite's full name, the trigger and the platform, so two suites
whose names share the prefix kept in the run name still derive different run names (a
collision needs 32 bits of SHA-256 to agree; the suite controller also refuses to adopt a
run another suite owns). `tests/unit/test_names.py` checks the table at 63 characters.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

RUN_NAME_MAX: Final = 52
# An Indexed Job's pods are named and hostnamed <job>-<index>, which must be a DNS label
# (63 characters, no dots): Job names leave room for "-" and a 5-digit index.
MAX_JOB_NAME: Final = 63 - 6
_DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
BASELINE_SUFFIX: Final = "-baseline"
RESULTS_SUFFIX: Final = "-results"
SAMPLES_SUFFIX: Final = "-samples"
_PLATFORM_CHARS: Final = 8
_HASH_CHARS: Final = 8


def digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def prefix(text: str, budget: int) -> str:
    """At most `budget` characters of a DNS label, never ending in '-'."""
    return text[:budget].rstrip("-")


def run_name(suite: str, platform_key: str, reason: str, *parts: str) -> str:
    """<suite>-<platformhash8>-<triggerhash8>: the same trigger always gets the same name,
    and different suites (whatever their names share) different ones."""
    trigger = digest(suite, reason, platform_key, *parts)[:_HASH_CHARS]
    tail = f"-{platform_key[:_PLATFORM_CHARS]}-{trigger}"
    return prefix(suite, RUN_NAME_MAX - len(tail)) + tail


def job_name(run: str, index: int) -> str:
    """`<run>-<index>`. Runs named here always fit; a run name that would leave no room
    for the pods' `-<completion index>` within a DNS label (or that has dots) is
    shortened with a hash of it, so even a hand-made run gets valid Jobs."""
    name = f"{run}-{index}"
    if len(name) <= MAX_JOB_NAME and _DNS_LABEL.match(name):
        return name
    hashed = hashlib.sha256(run.encode()).hexdigest()[:8]
    room = MAX_JOB_NAME - len(hashed) - len(str(index)) - 2
    head = re.sub(r"[^a-z0-9-]", "-", run.lower())[:room].strip("-")
    return f"{head}-{hashed}-{index}" if head else f"{hashed}-{index}"


def results_configmap_name(owner: str) -> str:
    return f"{owner}{RESULTS_SUFFIX}"


def baseline_name(run: str) -> str:
    """A baseline promoted from a run is named after it (one baseline per run)."""
    return f"{run}{BASELINE_SUFFIX}"


def samples_configmap_name(baseline: str) -> str:
    return f"{baseline}{SAMPLES_SUFFIX}"


# A run's concurrent control (domain/control.py) is measured by Jobs of its own: their
# label benchgate.dev/run is `<run>-c` (never a run's name: those end in a hash), so the
# run's own selector never collects the control's pods. Jobs `<run>-c-<i>` (at most 57
# characters for i < 100, as job_name keeps them) and the ConfigMap `<run>-control-results`.
CONTROL_SUFFIX: Final = "-c"


def control_name(run: str) -> str:
    """The name the control's Jobs and pods carry in place of the run's."""
    return f"{run}{CONTROL_SUFFIX}"


def control_results_configmap_name(run: str) -> str:
    return f"{run}-control{RESULTS_SUFFIX}"


def session_configmap_name(baseline: str, session: int) -> str:
    """A baseline's later session `session` (2, 3, ...): `<baseline>-samples-<k>`. The
    first session is the promoted run's `<baseline>-samples`."""
    return f"{samples_configmap_name(baseline)}-{session}"
