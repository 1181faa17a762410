"""The shipped alert rules: valid, unit-tested with promtool, and documented.

(That their expressions only use exported metrics is tested with the dashboard's queries in
tests/chart/test_dashboard.py.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "charts/benchgate/files/alerts.yaml"
RULE_TESTS = sorted((ROOT / "tests/alerts").glob("*_test.yaml"))
RUNBOOK = ROOT / "docs/runbook.md"
RUNBOOK_URL = "https://github.com/benchgate/benchgate/blob/main/docs/runbook.md#"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: run `make system-deps` (Debian package prometheus)")
    return path


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_check_rules_accepts_the_shipped_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"promtool check rules:\n{result.stdout}{result.stderr}"


def test_promtool_unit_tests_of_every_alert_pass() -> None:
    assert RULE_TESTS, "tests/alerts/*_test.yaml are missing"
    result = subprocess.run(
        [promtool(), "test", "rules", *map(str, RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"promtool test rules failed:\n{result.stdout}{result.stderr}"


def test_every_alert_is_tested_both_firing_and_not_firing() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert names - firing == set(), f"alerts never tested firing: {sorted(names - firing)}"
    assert names - silent == set(), f"alerts never tested not firing: {sorted(names - silent)}"


def test_every_alert_follows_the_house_conventions() -> None:
    runbook_anchors = {
        line[3:].strip().lower()
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in alerts():
        name = rule["alert"]
        assert re.fullmatch(r"Benchgate[A-Z][A-Za-z]+", name), f"{name}: CamelCase, Benchgate*"
        assert rule.get("for"), f"{name}: every alert needs a `for:`"
        assert rule["labels"]["severity"] in {"critical", "warning"}, f"{name}: severity"
        notes = rule["annotations"]
        for key in ("summary", "description", "runbook_url"):
            assert notes.get(key), f"{name}: annotation {key} is missing"
        assert notes["runbook_url"] == RUNBOOK_URL + name.lower(), (
            f"{name}: runbook_url must point at docs/runbook.md#{name.lower()}"
        )
        assert name.lower() in runbook_anchors, f"docs/runbook.md has no section '## {name}'"
        if name.startswith("BenchgateVerification") or name == "BenchgateJobsFailing":
            text = notes["summary"] + notes["description"]
            for label in ("suite", "platform", "platform_class"):
                assert f"$labels.{label}" in text, f"{name}: annotations must name the {label}"


def test_the_runbook_has_one_section_per_alert_and_no_other() -> None:
    sections = [
        line[3:].strip()
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("## Benchgate")
    ]
    assert sorted(sections) == sorted(rule["alert"] for rule in alerts()), (
        "docs/runbook.md must have exactly one '## <AlertName>' section per shipped alert"
    )
