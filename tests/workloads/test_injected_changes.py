"""Known changes injected into otherwise identical runs; `benchgate compare` must flag
exactly the metrics that should move, and nothing else.

- BENCHGATE_INJECT_PRECISION=tf32 (fp32 matmul inputs rounded to TF32's 10-bit mantissa):
  the fp32 matmul error and checksum metrics and `tf32_effective`.
- BENCHGATE_INJECT_SLOWDOWN=0.5 (every timed region 50 % longer, -33 % throughput): the
  GEMM throughputs. A 20 % slowdown (-16.7 %) sits too close to the 10 % tolerance for a
  shared CI machine: one CI run measured it as -11 % and stayed Inconclusive after 11
  replicates per side, because the baseline's own speed drifted by several percent. The
  20 % slowdown still runs, and must never pass: each GEMM throughput is Regressed or, on a
  noisy machine, Inconclusive, and nothing else moves.
- A changed thread count (OMP_NUM_THREADS): the parameter checksum, and the fingerprint's
  thread fields.

The machine is shared and noisy, so baseline and candidate replicates are interleaved in
time (`benchgate run --replicates 1 --first-replicate i`, alternating sides): load that
comes and goes hits both sides alike, and the 20 %-trimmed means of 5 replicates shrug
off one disturbed process.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from workload_helpers import benchgate, read_document, write_suite

from benchgate.api.result import ResultDocument, dumps, merge_documents

REPLICATES = 5
REPETITIONS = 5  # the median of 5 repetitions shrugs off two disturbed ones
WORKLOADS = ["numerics_probe", "gemm_throughput", "determinism"]
# One intra-op thread on both sides of the timing comparisons: with 2 OpenMP threads on a
# 2-core machine that other jobs share, a descheduled thread stalls every parallel
# region's barrier and a whole replicate's GEMMs run ~50x slower -- measured here -- which
# no estimator can tell from a regression. The thread-count test then uses 2.
BASE_THREADS = "1"
FLAGGED = {"Regressed", "Improved", "Invalid"}
PRECISION_MOVES = {
    f"numerics_probe/matmul_fp32_{m}"
    for m in ("rel_rmse", "max_abs_err", "ulp_p50", "ulp_p99", "sha256")
} | {"numerics_probe/tf32_effective"}
SLOWDOWN_MOVES = {f"gemm_throughput/gflops_{d}" for d in ("fp32", "bf16", "fp16")}
# side -> (injected environment, workloads run); the candidates skip determinism, which
# neither change touches by construction, to keep the test near a minute.
SIDES: dict[str, tuple[dict[str, str], list[str]]] = {
    "baseline": ({}, WORKLOADS),
    "precision": ({"BENCHGATE_INJECT_PRECISION": "tf32"}, WORKLOADS[:2]),
    "slowdown": ({"BENCHGATE_INJECT_SLOWDOWN": "0.5"}, WORKLOADS[:2]),
    "slowdown20": ({"BENCHGATE_INJECT_SLOWDOWN": "0.2"}, ["gemm_throughput"]),
}


def _merged(paths: list[Path]) -> ResultDocument:
    return merge_documents(read_document(p) for p in paths)


# When the slowdown is still Inconclusive on a throughput metric after REPLICATES (a
# disturbed replicate widens the interval on this shared 2-core machine), collect more
# interleaved replicates of both sides, as the engine's "N more replicates would likely
# decide" advises and as sequential mode does in the product -- at most EXTRA_ROUNDS.
EXTRA_ROUNDS = 3
EXTRA_PER_ROUND = 3


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("inject")
    # Each process runs one replicate (--replicates 1 below); the suite's own plan is unused.
    suite = write_suite(tmp / "suite.yaml", WORKLOADS, repetitions=REPETITIONS)
    parts: dict[str, list[Path]] = {side: [] for side in SIDES}

    def run_round(replicates: range, sides: list[str]) -> None:
        for i in replicates:
            for side in sides:
                env, workloads = SIDES[side]
                out = tmp / f"{side}-{i}.json"
                selected = [arg for name in workloads for arg in ("--workload", name)]
                proc = benchgate(
                    [
                        "run",
                        str(suite),
                        *selected,
                        "--replicates",
                        "1",
                        "--first-replicate",
                        str(i),
                        "--out",
                        str(out),
                    ],
                    env={"OMP_NUM_THREADS": BASE_THREADS, **env},
                )
                assert proc.returncode == 0, f"{side} replicate {i} failed:\n{proc.stderr}"
                parts[side].append(out)

    def write_merged() -> dict[str, Path]:
        files = {}
        for side, paths in parts.items():
            files[side] = tmp / f"{side}.json"
            files[side].write_text(dumps(_merged(paths)))
        # The baseline as the candidates see it: the workloads they ran.
        files["baseline-candidates"] = _only(
            tmp / "baseline-candidates.json", read_document(files["baseline"]), WORKLOADS[:2]
        )
        files["baseline-gemm"] = _only(
            tmp / "baseline-gemm.json", read_document(files["baseline"]), ["gemm_throughput"]
        )
        files["baseline-determinism"] = _only(
            tmp / "baseline-determinism.json", read_document(files["baseline"]), ["determinism"]
        )
        files["suite"] = suite
        return files

    run_round(range(REPLICATES), list(SIDES))
    files = write_merged()
    first = REPLICATES
    for _ in range(EXTRA_ROUNDS):
        _, report = _compare(files["baseline-candidates"], files["slowdown"])
        if all(_verdicts(report)[k] != "Inconclusive" for k in SLOWDOWN_MOVES):
            break
        run_round(range(first, first + EXTRA_PER_ROUND), ["baseline", "slowdown"])
        first += EXTRA_PER_ROUND
        files = write_merged()
    return files


def _only(path: Path, doc: ResultDocument, workloads: list[str]) -> Path:
    path.write_text(
        dumps(replace(doc, workloads=tuple(w for w in doc.workloads if w.name in workloads)))
    )
    return path


def _compare(baseline: Path, candidate: Path) -> tuple[int, dict[str, Any]]:
    proc = benchgate(["compare", str(baseline), str(candidate), "--format", "json"])
    assert proc.returncode in (0, 1, 2, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {m["key"]: m["verdict"] for m in report["metrics"]}


def _assert_only(verdicts: dict[str, str], moves: set[str], report: dict[str, Any]) -> None:
    flagged = {k for k, v in verdicts.items() if v in FLAGGED}
    reasons = {m["key"]: m["reason"] for m in report["metrics"] if m["key"] in flagged ^ moves}
    assert flagged == moves, (
        f"flagged but should not move: {sorted(flagged - moves)}; should move but not "
        f"flagged: {sorted(moves - flagged)}; reasons: {reasons}"
    )
    for key in moves:
        assert verdicts[key] == "Regressed", f"{key}: {verdicts[key]}"


def test_reduced_precision_flags_exactly_the_fp32_matmul_numerics(runs: dict[str, Path]) -> None:
    code, report = _compare(runs["baseline-candidates"], runs["precision"])
    verdicts = _verdicts(report)
    _assert_only(verdicts, PRECISION_MOVES, report)
    # Exact and error metrics are not noisy: everything else must positively pass.
    for key, verdict in verdicts.items():
        if key.startswith(("numerics_probe/", "determinism/")) and key not in PRECISION_MOVES:
            assert verdict == "Passed", f"{key}: {verdict}"
    assert code == 1 and report["verdict"] == "Regressed"


def test_slowdown_flags_exactly_the_throughput_metrics(runs: dict[str, Path]) -> None:
    code, report = _compare(runs["baseline-candidates"], runs["slowdown"])
    verdicts = _verdicts(report)
    _assert_only(verdicts, SLOWDOWN_MOVES, report)
    # fp16 GEMM on a CPU is emulated (~3 GFLOP/s) and its speed differs from process to
    # process far more than the native dtypes: clean-clone CI runs measured it at -47.0 %
    # and -12.2 % for this 50 % slowdown, Regressed both times. Its verdict is held above;
    # the magnitude is checked on the native dtypes only.
    for key in SLOWDOWN_MOVES - {"gemm_throughput/gflops_fp16"}:
        change = next(m["change"] for m in report["metrics"] if m["key"] == key)
        # The magnitude only has to show the injection did what it says (not 10x, not
        # nothing): an estimate swings +-15 points with the per-process offsets of a
        # shared host.
        assert -0.60 < change < -0.15, (
            f"{key}: a 50 % slowdown is -33.3 % throughput, measured {change:+.1%}"
        )
    assert all(v == "Passed" for k, v in verdicts.items() if not k.startswith("gemm"))
    assert code == 1


def test_a_20_percent_slowdown_never_passes(runs: dict[str, Path]) -> None:
    _, report = _compare(runs["baseline-gemm"], runs["slowdown20"])
    verdicts = _verdicts(report)
    flagged = {k for k, v in verdicts.items() if v in FLAGGED}
    assert flagged <= SLOWDOWN_MOVES, report["reason"]
    for key in SLOWDOWN_MOVES:
        metric = next(m for m in report["metrics"] if m["key"] == key)
        # Only the verdict is held here: at 20 % a single dtype's estimate is within this
        # host's noise (a CI run measured fp16 at -4.6 %, rightly Inconclusive).
        assert metric["verdict"] in ("Regressed", "Inconclusive"), metric["reason"]
    assert all(v == "Passed" for k, v in verdicts.items() if k not in SLOWDOWN_MOVES)


def test_changed_thread_count_flags_the_checksum_and_the_fingerprint(runs: dict[str, Path]) -> None:
    baseline = runs["baseline-determinism"]
    threads = "1" if BASE_THREADS != "1" else "2"
    proc = benchgate(
        [
            "run",
            str(runs["suite"]),
            "--workload",
            "determinism",
            "--replicates",
            "2",
            "--baseline",
            str(baseline),
            "--format",
            "json",
        ],
        env={"OMP_NUM_THREADS": threads},
    )
    assert proc.returncode == 1, f"expected Regressed (exit 1):\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(proc.stdout)
    _assert_only(_verdicts(report), {"determinism/params_sha256"}, report)
    changes = {
        (c["group"], c["field"]): (c["before"], c["after"]) for c in report["environmentChanges"]
    }
    assert changes.get(("runtime", "num_threads")) == (int(BASE_THREADS), int(threads))
    assert changes.get(("environment", "OMP_NUM_THREADS")) == (BASE_THREADS, threads)
    assert set(changes) <= {
        ("runtime", "num_threads"),
        ("runtime", "num_interop_threads"),
        ("environment", "OMP_NUM_THREADS"),
    }, f"unrelated fingerprint changes reported: {changes}"


def test_unchanged_environment_flags_nothing(runs: dict[str, Path]) -> None:
    """The control: the baseline against itself moves nothing, and its fingerprint diff is
    empty (noisy timing metrics may stay Inconclusive, but never Regressed or Improved)."""
    code, report = _compare(runs["baseline"], runs["baseline"])
    assert code in (0, 2), report["reason"]
    assert report["environmentChanges"] == []
    assert not {k for k, v in _verdicts(report).items() if v in FLAGGED}
    base = read_document(runs["baseline"])
    assert base.fingerprint["environment"]["OMP_NUM_THREADS"].value == BASE_THREADS
