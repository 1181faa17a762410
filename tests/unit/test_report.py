"""`benchgate report` from two documents: worst first, self-contained, and what Chromium
shows is a page with the metric names on it (read back by OCR), not a blank one."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_verdict import document, lognormal_groups, metric

from benchgate.api.result import Metric, ReplicateSamples, ResultDocument, dumps
from benchgate.domain import report as model
from benchgate.domain.verdict import compare_documents
from report_browser import first_seen, ink, ocr, screenshot, spread, tokens

ROOT = Path(__file__).resolve().parents[2]
# The candidate's step time is this much slower. One simulated baseline session means the
# engine adds its 3 % session prior to each side; 30 % stays clearly Regressed beyond it.
SHIFT = 0.30


def loss(name: str, values: list[float]) -> Metric:
    return Metric(
        name=name,
        unit="nats",
        direction="band",
        kind="continuous",
        tolerance=0.1,
        samples=tuple(ReplicateSamples(f"pod-{i}", (v, v)) for i, v in enumerate(values)),
    )


def documents(shift: float, seed: int) -> ResultDocument:
    rng = np.random.default_rng(seed)
    groups = lognormal_groups
    timing = [
        metric(
            "step_time_ms",
            groups(rng, replicates=8, repetitions=3, centre=20 * (1 + shift)),
            unit="ms",
        ),
        metric(
            "throughput",
            groups(rng, replicates=8, repetitions=3, centre=400.0),
            unit="GFLOP/s",
            direction="higher",
        ),
    ]
    curve = [
        loss(f"loss_curve_steps_{a}_{b}", list(rng.normal(2.5 - a / 40, 0.01, 4)))
        for a, b in ((1, 10), (11, 20), (21, 30), (31, 40))
    ]
    doc = document(*timing, workload="gemm")
    train = document(*curve, workload="train_convnet")
    fingerprint = {"driver": {"version": "550" if shift == 0 else "560"}}
    return ResultDocument(
        run=doc.run,
        workloads=(*doc.workloads, *train.workloads),
        fingerprint=document(fingerprint=fingerprint).fingerprint,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("report")
    base, cand = where / "base.json", where / "cand.json"
    base.write_text(dumps(documents(0.0, 1)))
    cand.write_text(dumps(documents(SHIFT, 2)))
    return base, cand


def test_the_model_puts_the_worst_metric_first_and_finds_the_loss_curves() -> None:
    base, cand = documents(0.0, 1), documents(SHIFT, 2)
    comparison = compare_documents(base, cand)
    report = model.build(
        title="t",
        baseline_label="b",
        candidate_label="c",
        verdict=comparison.verdict,
        reason=comparison.reason,
        rows=model.rows_from_comparison(comparison),
        env=[],
        baseline=base,
        candidate=cand,
    )
    assert report.metrics[0].key == "gemm/step_time_ms"
    assert report.metrics[0].row.verdict == "Regressed"
    assert len(report.metrics[0].baseline_values) == 8, "one point per replicate"
    (curves,) = report.curves
    assert curves.workload == "train_convnet" and curves.steps == (5.5, 15.5, 25.5, 35.5)
    assert len(curves.baseline) == 4 and len(curves.candidate[0]) == 4


def test_rows_from_a_runs_status_keep_the_operators_verdicts_and_tolerances() -> None:
    status = {
        "metrics": [
            {"key": "w/m", "verdict": "Regressed", "change": "+12.50%", "ciLow": "+10.00%"},
            {"key": "w/n", "verdict": "Passed", "change": "", "reason": "exact"},
        ],
        "plan": {
            "tolerances": [
                {"metric": "*", "judgedBy": "TolerancePercent", "value": "3", "source": "Suite"},
                {"metric": "w/m", "judgedBy": "TolerancePercent", "value": "10"},
            ]
        },
    }
    rows = {r.key: r for r in model.rows_from_status(status)}
    assert rows["w/m"].change == pytest.approx(0.125) and rows["w/m"].ci_low == pytest.approx(0.1)
    assert rows["w/m"].tolerance == pytest.approx(0.10)
    assert rows["w/n"].change is None and rows["w/n"].tolerance == pytest.approx(0.03)


def test_cli_writes_a_self_contained_page_and_markdown(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    base, cand = files
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchgate.cli",
            "report",
            str(base),
            str(cand),
            "--html",
            str(html),
            "--markdown",
            str(md),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Regressed: wrote" in done.stderr
    page = html.read_text()
    # Self-contained: no script, and nothing the browser would fetch (xmlns URIs are names).
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"url\((?!#)", page), "only in-page references (SVG clip paths)"
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page), "an external resource"
    assert 'href="#gemm/step_time_ms"' in page, "the summary links to the metric's plot"
    assert page.count("<svg") >= 3, "a plot per continuous metric and the loss curves"
    assert "driver.version" in page and page.index("driver.version") < page.index("<svg")
    text = md.read_text()
    assert text.index("gemm/step_time_ms") < text.index("gemm/throughput"), "worst first"
    assert "| driver.version | 550 | 560 |" in text


def test_cli_refuses_bad_input_with_exit_3(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    for argv, says in (
        ([str(missing), str(missing)], "cannot read"),
        ([], "give a VerificationRun name, two result documents"),
        (["a", "b", "c"], "give a VerificationRun name"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "benchgate.cli", "report", *argv],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert done.returncode == 3 and says in done.stderr, (argv, done.stderr)


def test_chromium_shows_the_metric_names_worst_first(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    base, cand = files
    html, png = tmp_path / "r.html", tmp_path / "r.png"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchgate.cli",
            "report",
            str(base),
            str(cand),
            "--html",
            str(html),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    image = screenshot(html, png, height=2600)
    assert ink(image) > 0.02 and spread(image) > 20, "the page renders something, not blank"
    words = ocr(png)
    seen = " ".join(w.text.lower() for w in words)
    for name in ("gemm/step_time_ms", "gemm/throughput", "train_convnet"):
        missing = [t for t in tokens(name) if t not in seen]
        assert not missing, f"{name}: OCR did not find {missing} in the screenshot: {seen[:2000]}"
    assert "regressed" in seen
    worst, better = first_seen(words, "step_time_ms"), first_seen(words, "gemm/throughput")
    assert worst is not None and better is not None and worst < better, (worst, better)
