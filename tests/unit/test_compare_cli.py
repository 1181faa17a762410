"""`benchgate compare`: exit codes and what the outputs show."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_verdict import document, lognormal_groups, metric

from benchgate.api.result import ResultDocument, dumps
from benchgate.cli import main

# The documents here are drawn within one session; the flag tells the engine so (the
# session level's own CLI behaviour is tested at the end of this module).
SAME = ["--session-sd", "0"]


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
    b, c = _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", cand)
    rc = main(["compare", b, c, *SAME])
    out = capsys.readouterr().out
    assert rc == code, out
    assert f"Verdict: {verdict}" in out


def test_table_shows_metric_change_ci_verdict_why_and_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = _docs(115.0, fp="560.35")
    main(["compare", _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", cand), *SAME])
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
    assert main(["compare", b, c, "--format", "json", *SAME]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "Regressed" and data["metrics"][0]["key"] == "w/t"
    assert data["metrics"][0]["ciLow"] > 0.03
    assert main(["compare", b, c, "--format", "markdown", *SAME]) == 1
    md = capsys.readouterr().out
    assert md.startswith("### benchgate: **Regressed**") and "| `w/t` |" in md


def test_tolerance_flag_and_suite_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = _docs(108.0, n=12)
    b, c = _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", cand)
    assert main(["compare", b, c, *SAME]) == 1
    assert main(["compare", b, c, "--tolerance-percent", "20", *SAME]) == 0
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "apiVersion: benchgate.dev/v1alpha1\nkind: RegressionSuite\nmetadata: {name: s}\n"
        "spec:\n  workloads:\n    - name: w\n      metrics: [{name: t, tolerancePercent: 25}]\n"
    )
    assert main(["compare", b, c, "--suite", str(suite), *SAME]) == 0
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


def _session(rng: np.random.Generator, offset: float, n: int = 10) -> ResultDocument:
    return document(
        metric("t", lognormal_groups(rng, replicates=n, repetitions=3, centre=100 * (1 + offset)))
    )


def test_several_baselines_are_sessions_and_the_output_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(11)
    paths = [_write(tmp_path, f"s{i}.json", _session(rng, 0.0)) for i in range(4)]
    rc = main(["compare", *paths])
    out = capsys.readouterr().out
    assert rc in (0, 2), out
    assert "Design: stored baseline (3 sessions)" in out
    assert "estimated from 3 baseline sessions" in out
    main(["compare", *paths, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["baselineSessions"] == 3 and data["design"] == "stored-baseline"
    main(["compare", paths[0], paths[1]])
    assert "Design: stored baseline (1 session)" in capsys.readouterr().out


def test_control_judges_the_candidate_in_its_own_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(12)
    base = [_write(tmp_path, f"b{i}.json", _session(rng, 0.0)) for i in range(2)]
    control = _write(tmp_path, "control.json", _session(rng, 0.06))
    cand = _write(tmp_path, "cand.json", _session(rng, 0.06))
    rc = main(["compare", *base, cand, "--control", control, "--node-sd", "0"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Design: concurrent control" in out and "session check: the session ran" in out
    main(["compare", cand, "--control", control, "--format", "markdown"])
    md = capsys.readouterr().out
    assert "_Design: concurrent control" in md


def test_a_lone_candidate_without_control_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(13)
    one = _write(tmp_path, "c.json", _session(rng, 0.0))
    assert main(["compare", one]) == 3
    assert "give a baseline document and a candidate" in capsys.readouterr().err
    assert main(["compare", "--session-sd", "200", one, one]) == 3
    assert "--session-sd must be a percentage" in capsys.readouterr().err
