"""`benchgate compare`: exit codes and what the outputs show."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_verdict import document, lognormal_groups, metric

from benchgate.api.result import ResultDocument, dumps
from benchgate.cli import main


def _write(tmp_path: Path, name: str, doc: ResultDocument) -> str:
    path = tmp_path / name
    path.write_text(dumps(doc))
    return str(path)


def _docs(centre: float, *, n: int = 10, within: float = 0.02, fp: str = "550.54"):
    rng = np.random.default_rng(7)
    fp_b = {"driver": {"driver_version": "550.54"}}
    fp_c = {"driver": {"driver_version": fp}}
    base = document(
        metric("t", lognormal_groups(rng, replicates=n, repetitions=3, within=within)),
        fingerprint=fp_b,
    )
    cand = document(
        metric(
            "t", lognormal_groups(rng, replicates=n, repetitions=3, within=within, centre=centre)
        ),
        fingerprint=fp_c,
    )
    return base, cand


@pytest.mark.parametrize(
    ("centre", "n", "within", "code", "verdict"),
    [
        (100.0, 12, 0.02, 0, "Passed"),
        (115.0, 10, 0.02, 1, "Regressed"),
        (102.0, 3, 0.08, 2, "Inconclusive"),
        (85.0, 10, 0.02, 0, "Improved"),
    ],
)
def test_exit_codes_follow_the_verdict(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    centre: float,
    n: int,
    within: float,
    code: int,
    verdict: str,
) -> None:
    base, cand = _docs(centre, n=n, within=within)
    rc = main(["compare", _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", cand)])
    out = capsys.readouterr().out
    assert rc == code, out
    assert f"Verdict: {verdict}" in out


def test_table_shows_metric_change_ci_verdict_why_and_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = _docs(115.0, fp="560.35")
    main(["compare", _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", cand)])
    out = capsys.readouterr().out
    for text in (
        "metric",
        "baseline",
        "candidate",
        "90% CI",
        "verdict",
        "why",
        "w/t",
        "Regressed",
        "tolerance",
        "driver.driver_version: 550.54 -> 560.35",
    ):
        assert text in out, f"{text!r} missing from the table:\n{out}"


def test_json_and_markdown_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, cand = _docs(115.0)
    b, c = _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", cand)
    assert main(["compare", b, c, "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "Regressed" and data["metrics"][0]["key"] == "w/t"
    assert data["metrics"][0]["ciLow"] > 0.03
    assert main(["compare", b, c, "--format", "markdown"]) == 1
    md = capsys.readouterr().out
    assert md.startswith("### benchgate: **Regressed**") and "| `w/t` |" in md


def test_tolerance_flag_and_suite_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = _docs(108.0, n=12)
    b, c = _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", cand)
    assert main(["compare", b, c]) == 1
    assert main(["compare", b, c, "--tolerance-percent", "20"]) == 0
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "apiVersion: benchgate.dev/v1alpha1\nkind: RegressionSuite\nmetadata: {name: s}\n"
        "spec:\n  image: img:1\n"
        "  workloads:\n    - name: w\n      metrics: [{name: t, tolerancePercent: 25}]\n"
    )
    assert main(["compare", b, c, "--suite", str(suite)]) == 0
    capsys.readouterr()


def test_invalid_input_exits_3_and_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = _docs(100.0)
    good = _write(tmp_path, "b.json", base)
    bad = tmp_path / "bad.json"
    raw = json.loads(dumps(base))
    raw["workloads"][0]["metrics"][0]["samples"][0]["values"][0] = "fast"
    bad.write_text(json.dumps(raw))
    assert main(["compare", good, str(bad)]) == 3
    err = capsys.readouterr().err
    assert "candidate" in err and "workloads[0].metrics[0].samples[0].values[0]" in err
    assert main(["compare", good, str(tmp_path / "missing.json")]) == 3
    assert "cannot read" in capsys.readouterr().err
    nan = tmp_path / "nan.json"
    nan.write_text(dumps(base).replace('"values": [', '"values": [NaN, ', 1))
    assert main(["compare", good, str(nan)]) == 3
    assert "NaN" in capsys.readouterr().err


def test_invalid_comparison_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    groups = [[5.0, 5.0]] * 4
    doc = document(metric("t", groups))
    assert main(["compare", _write(tmp_path, "b.json", doc), _write(tmp_path, "c.json", doc)]) == 3
    assert "Verdict: Invalid" in capsys.readouterr().out
