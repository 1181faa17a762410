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
        "spec:\n  image: img:1\n"
        "  workloads:\n    - name: w\n      metrics: [{name: t, tolerancePercent: 25}]\n"
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
    base, _ = _docs(100.0)
    two = document(metric("t", [[100.0, 101.0], [99.0, 100.5]]))  # too few to judge
    assert main(["compare", _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", two)]) == 3
    out = capsys.readouterr().out
    assert "Verdict: Invalid" in out and "candidate has 2 replicate(s)" in out


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


def test_a_baseline_the_engine_cannot_judge_against_is_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flat = document(metric("t", [[5.0, 5.0]] * 4))
    b = _write(tmp_path, "b.json", flat)
    assert main(["compare", b, _write(tmp_path, "c.json", flat)]) == 3
    captured = capsys.readouterr()
    assert not captured.out, "nothing is judged against an unusable baseline"
    assert f"baseline {b} cannot serve as a baseline: workloads[0].metrics[0] (w/t)" in (
        captured.err
    )
    assert "every replicate summary of the baseline is identical" in captured.err


def test_the_table_shows_each_metrics_tolerance_and_where_it_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = _docs(100.0, n=12)
    b, c = _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", cand)
    main(["compare", b, c])
    assert "3% (workload)" in capsys.readouterr().out
    main(["compare", b, c, "--tolerance-percent", "7", "--format", "json"])
    row = json.loads(capsys.readouterr().out)["metrics"][0]
    assert (row["tolerance"], row["toleranceSource"]) == (0.07, "--tolerance-percent")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "apiVersion: benchgate.dev/v1alpha1\nkind: RegressionSuite\nmetadata: {name: s}\n"
        "spec:\n  image: img:1\n"
        "  workloads:\n    - name: w\n      metrics: [{name: t, tolerancePercent: 4}]\n"
    )
    main(["compare", b, c, "--suite", str(suite), "--format", "markdown"])
    assert "| 4% (suite) |" in capsys.readouterr().out


# Samples a float64 holds but the arithmetic overflows on (found by fuzzing compare with
# values from 5e-324 to 1e308): the engine used to raise OverflowError/ValueError here.
EXTREME = [
    (
        "linear",
        "lower",
        [[5e153, 1.0], [1e300, 5e-309, 3.0000003], [2e-300], [2e-154, 1e300], [-0.0, -1e308]],
        [[5e-301], [-1e308, 2e-300], [1e-154, 1.0000001], [0.0]],
    ),
    (
        "linear",
        "lower",
        [[2.0], [-1e308], [1e-154, 0.5, 5e-324], [1e-300, 5e-301, 2e-300], [1e-323]],
        [[-0.0], [1e308, 2e-308], [1e308, 1.5], [2.0], [0.0, 1e300], [1e300, 2.0, 6.0]],
    ),
    (
        "ratio",
        "band",
        [[1e-154], [5e-301], [2e300, 1e-300, 1.5]],
        [[0.5], [6.0], [2e-154], [1e300, 2e-154], [2e300]],
    ),
]


@pytest.mark.parametrize(("scale", "direction", "base", "cand"), EXTREME)
def test_extreme_but_valid_samples_are_judged_without_a_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    scale: str,
    direction: str,
    base: list[list[float]],
    cand: list[list[float]],
) -> None:
    b = document(metric("t", base, scale=scale, direction=direction, tolerance=0.05))
    c = document(metric("t", cand, scale=scale, direction=direction, tolerance=0.05))
    rc = main(
        [
            "compare",
            _write(tmp_path, "b.json", b),
            _write(tmp_path, "c.json", c),
            "--format",
            "json",
        ]
    )
    out, err = capsys.readouterr()
    assert rc in (0, 1, 2, 3) and "Traceback" not in err
    if rc != 3 or out:
        json.loads(out)  # finite JSON: no NaN or Infinity leaks into the output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nests too deeply to be a RegressionSuite"),
        (b"apiVersion: v1\nkind: ConfigMap\n", "must hold exactly one RegressionSuite, found 0"),
        (b"\xff\xfe", "is not UTF-8 text"),
        (
            b"apiVersion: benchgate.dev/v1alpha1\nkind: RegressionSuite\nmetadata: {name: s}\n"
            b"spec: {workloads: [{name: w}], statistics: {confidence: 0.95}}\n",
            "spec.statistics.confidence",
        ),
    ],
    ids=["too-deep", "not-a-suite", "not-text", "float-confidence"],
)
def test_a_bad_suite_file_exits_3_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, says: str
) -> None:
    base, cand = _docs(100.0)
    suite = tmp_path / "suite.yaml"
    suite.write_bytes(content)
    b, c = _write(tmp_path, "b.json", base), _write(tmp_path, "c.json", cand)
    rc = main(["compare", b, c, "--suite", str(suite)])
    err = capsys.readouterr().err
    assert rc == 3 and str(suite) in err and says in err, err
