"""Derived names fit every Kubernetes limit at the longest suite name and never collide."""

from __future__ import annotations

import re

import pytest

from benchgate.domain import names
from benchgate.domain.jobs import child_labels

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
KEY = "f" * 64


def longest_names(suite: str) -> dict[str, str]:
    run = names.run_name(suite, KEY, "NewPlatform", "ghcr.io/benchgate/workload:0.1.0", "0" * 16)
    baseline = names.baseline_name(run)
    return {
        "run": run,
        "job": names.job_name(run, 999),
        "indexed pod hostname": f"{names.job_name(run, 999)}-99999",
        "results": names.results_configmap_name(run),
        "baseline": baseline,
        "samples": names.samples_configmap_name(baseline),
        "control": names.control_name(run),
        "control job": names.job_name(names.control_name(run), 99),
        "control pod hostname": f"{names.job_name(names.control_name(run), 99)}-99999",
        "control results": names.control_results_configmap_name(run),
    }


@pytest.mark.parametrize("suite", ["a" * 63, "a-" * 31 + "b", "x", "a" * 61 + "-b"])
def test_every_derived_name_fits_at_the_longest_suite_name(suite: str) -> None:
    derived = longest_names(suite)
    for what in (
        "run",
        "job",
        "indexed pod hostname",
        "baseline",
        "control",
        "control job",
        "control pod hostname",
    ):
        value = derived[what]
        assert len(value) <= 63 and DNS_LABEL.match(value), f"{what} {value!r} is not a label"
    for what in ("results", "samples", "control results"):
        assert len(derived[what]) <= 253 and DNS_LABEL.match(derived[what]), derived[what]
    for owner in (derived["run"], derived["control"]):
        labels = child_labels(owner, suite, KEY)
        bad = {k: v for k, v in labels.items() if len(v) > 63 or not LABEL_VALUE.match(v)}
        assert not bad, f"label values the API server would refuse: {bad}"
    # The control's Jobs keep their "-c-<i>" shape (not the hashed fallback) up to 99 Jobs.
    assert derived["control job"] == f"{derived['run']}-c-99", derived["control job"]


def test_a_control_name_is_never_a_run_name() -> None:
    # The run's selector (benchgate.dev/run=<run>) must never collect the control's pods:
    # run names end in a hex hash, the control's name in "-c".
    run = names.run_name("s", KEY, "NewPlatform")
    assert not re.search(r"-[0-9a-f]{8}$", names.control_name(run))
    assert names.control_name(run) != run


def test_a_253_character_name_still_derives_valid_names() -> None:
    # The CRD refuses such a suite (metadata.name is a DNS label); the builders must not
    # produce an invalid name even so.
    derived = longest_names("a" * 253)
    assert all(
        len(v) <= 63
        for k, v in derived.items()
        if k not in ("results", "samples", "control results")
    )


def test_suites_sharing_a_long_prefix_get_distinct_runs() -> None:
    shared = "gpu-pool-verification-for-the-training-cluster-"  # 48 characters in common
    a = names.run_name(shared + "a", KEY, "NewPlatform", "img", "h")
    b = names.run_name(shared + "b", KEY, "NewPlatform", "img", "h")
    assert a != b, "two suites with a common 48-character prefix derived the same run"
    assert names.run_name(shared + "a", KEY, "NewPlatform", "img", "h") == a, "deterministic"


def test_63_character_suites_differing_only_at_the_end_never_collide() -> None:
    seen: dict[str, str] = {}
    for i in range(2000):
        suite = f"{'s' * 58}{i:05d}"
        run = names.run_name(suite, KEY, "NewPlatform", "img", "h")
        assert run not in seen, f"{suite} and {seen[run]} both derived {run}"
        seen[run] = suite


def test_run_names_from_here_are_never_rewritten_by_the_job_name_guard() -> None:
    # job_name() hashes a run name that would not fit; the names derived here always fit.
    run = longest_names("a" * 63)["run"]
    assert names.job_name(run, 9999) == f"{run}-9999"
