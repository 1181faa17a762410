"""Prediction consistency: the distribution kind (result v2) and its verdict rules."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from benchgate.api.result import (
    MAX_DOCUMENT_BYTES,
    MAX_OUTPUT_VALUES,
    SCHEMA_VERSION,
    SCHEMA_VERSION_V1,
    Metric,
    Outputs,
    ReplicateSamples,
    ResultDocument,
    ResultDocumentError,
    RunIdentity,
    WorkloadResult,
    dumps,
    loads,
    merge_documents,
)
from benchgate.api.suite import MetricOverride
from benchgate.domain import prediction
from benchgate.domain.verdict import EngineSettings, compare_documents

RNG = np.random.default_rng(5)
INPUTS, CLASSES = 400, 10
LOGITS = RNG.standard_normal((INPUTS, CLASSES)).astype(np.float32) * 3
LABELS = [int(v) for v in LOGITS.argmax(axis=1)]


def outputs_metric(
    logits: np.ndarray[Any, Any],
    replicate: str = "proc-0",
    *,
    model: str = "m1",
    input_set: str = "in1",
    hashes: tuple[str, ...] = ("h", "h"),
    labels: list[int] | None = LABELS,
    tolerance: float = 0.01,
) -> Metric:
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    return Metric(
        name="outputs",
        unit="logit",
        direction="equal",
        kind="distribution",
        scale="linear",
        tolerance=tolerance,
        samples=(ReplicateSamples(replicate, hashes),),
        outputs=Outputs(
            replicate=replicate,
            inputs=logits.shape[0],
            input_set=input_set,
            model=model,
            width=logits.shape[1],
            values=tuple(float(v) for v in logits.ravel().astype(str)),
            top1=tuple(int(v) for v in logits.argmax(axis=1)),
            confidence=tuple(float(p) for p in probs.max(axis=1)),
            labels=tuple(labels) if labels is not None else None,
        ),
    )


def doc(*metrics: Metric) -> ResultDocument:
    return ResultDocument(
        run=RunIdentity(),
        workloads=(
            WorkloadResult(
                name="prediction_consistency",
                size="tiny",
                status="ok",
                duration_seconds=1.0,
                metrics=metrics,
            ),
        ),
    )


def judge(
    base: np.ndarray[Any, Any], cand: np.ndarray[Any, Any], tolerance: float = 0.01, **kw: Any
) -> Any:
    """Judged as the engine does; the tolerance is the baseline's (the workload declares
    it), the keywords change the candidate."""
    comparison = compare_documents(
        doc(outputs_metric(base, tolerance=tolerance)), doc(outputs_metric(cand, **kw))
    )
    return comparison.metrics[0]


# ------------------------------------------------------------------ the document


def test_a_distribution_metric_round_trips_as_version_2() -> None:
    d = doc(outputs_metric(LOGITS))
    assert d.schema_version == SCHEMA_VERSION
    text = dumps(d)
    assert json.loads(text)["schemaVersion"] == "benchgate.dev/result/v2"
    back = loads(text)
    assert back == d
    got = back.workloads[0].metrics[0].outputs
    assert got is not None
    assert np.array_equal(np.asarray(got.values, dtype=np.float32), LOGITS.ravel()), (
        "float32 values must read back exactly from their shortest decimal form"
    )


def test_a_document_without_distribution_metrics_is_still_written_as_version_1() -> None:
    plain = Metric(
        "t", "ms", "lower", "continuous", (ReplicateSamples("p", (1.0, 2.0)),), scale="ratio"
    )
    text = dumps(doc(plain))
    raw = json.loads(text)
    assert raw["schemaVersion"] == SCHEMA_VERSION_V1
    assert "outputs" not in raw["workloads"][0]["metrics"][0], "v1 readers refuse unknown fields"


def test_a_version_1_document_cannot_smuggle_a_distribution_metric() -> None:
    raw = json.loads(dumps(doc(outputs_metric(LOGITS))))
    raw["schemaVersion"] = SCHEMA_VERSION_V1
    with pytest.raises(ResultDocumentError) as info:
        loads(json.dumps(raw))
    assert info.value.path == "workloads[0].metrics[0].kind"
    assert "needs schemaVersion 'benchgate.dev/result/v2'" in info.value.message


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda o: o.update(inputs=3), "outputs.values", "inputs x width"),
        (lambda o: o.update(top1=[1]), "outputs.top1", "one per input"),
        (lambda o: o.update(confidence=[1.5] * INPUTS), "outputs.confidence[0]", "probability"),
        (lambda o: o.update(labels=[-1] * INPUTS), "outputs.labels[0]", "class index"),
        (lambda o: o.update(values=["x"] * (INPUTS * CLASSES)), "outputs.values[0]", "number"),
        (
            lambda o: o.update(values=[0.0] * (MAX_OUTPUT_VALUES + 1)),
            "outputs.values",
            f"at most {MAX_OUTPUT_VALUES}",
        ),
        (lambda o: o.pop("inputSet"), "outputs.inputSet", "required"),
    ],
)
def test_bad_outputs_are_refused_naming_the_field(change: Any, path: str, words: str) -> None:
    raw = json.loads(dumps(doc(outputs_metric(LOGITS))))
    change(raw["workloads"][0]["metrics"][0]["outputs"])
    with pytest.raises(ResultDocumentError) as info:
        loads(json.dumps(raw))
    assert info.value.path == f"workloads[0].metrics[0].{path}", info.value
    assert words in info.value.message


def test_a_distribution_metric_needs_outputs_and_only_it_may_have_them() -> None:
    raw = json.loads(dumps(doc(outputs_metric(LOGITS))))
    del raw["workloads"][0]["metrics"][0]["outputs"]
    with pytest.raises(ResultDocumentError) as info:
        loads(json.dumps(raw))
    assert info.value.path.endswith(".outputs") and "required" in info.value.message


def test_replicates_merge_keeping_the_first_outputs_and_every_hash() -> None:
    a = doc(outputs_metric(LOGITS, "pod-0", hashes=("h0", "h0")))
    b = doc(outputs_metric(LOGITS + 1, "pod-1", hashes=("h1", "h1")))
    merged = merge_documents([a, b]).workloads[0].metrics[0]
    assert merged.replicates == ["pod-0", "pod-1"]
    assert merged.outputs is not None and merged.outputs.replicate == "pod-0"
    other = doc(outputs_metric(LOGITS, "pod-1", input_set="in2"))
    with pytest.raises(ResultDocumentError, match=r"outputs\.input_set"):
        merge_documents([a, other])


def test_the_largest_distribution_metric_fits_well_inside_a_document() -> None:
    inputs = MAX_OUTPUT_VALUES // 16
    big = RNG.standard_normal((inputs, 16)).astype(np.float32)
    size = len(dumps(doc(outputs_metric(big, labels=None))).encode())
    assert size < MAX_DOCUMENT_BYTES / 3, f"{size} bytes for {MAX_OUTPUT_VALUES} values"


# ------------------------------------------------------------------ the verdict


def test_identical_outputs_pass_and_say_so() -> None:
    m = judge(LOGITS, LOGITS.copy())
    assert m.verdict == "Passed" and "bitwise identical" in m.reason
    assert m.prediction is not None and m.prediction.top1_flips == 0
    assert m.prediction.psi == 0 and m.prediction.ks_statistic == 0


def test_rounding_noise_passes_with_its_size_named() -> None:
    noisy = LOGITS * (1 + RNG.standard_normal(LOGITS.shape).astype(np.float32) * 1e-3)
    m = judge(LOGITS, noisy)
    assert m.verdict == "Passed", m.reason
    assert m.prediction is not None and not m.prediction.bitwise_identical
    assert 0 < m.prediction.max_abs_diff < 0.1 and m.prediction.psi < 0.1
    assert "outputs differ" in m.reason


def test_top1_flips_above_the_tolerance_regress() -> None:
    cand = LOGITS.copy()
    flipped = 20  # 5 % of the inputs: swap their two largest logits
    for i in range(flipped):
        top2 = np.argsort(cand[i])[-2:]
        cand[i, top2] = cand[i, top2[::-1]]
    m = judge(LOGITS, cand)
    assert m.verdict == "Regressed" and "top-1 class changed on 20 of 400" in m.reason
    assert m.change == pytest.approx(0.05)
    within = judge(LOGITS, cand, tolerance=0.10)
    assert "top-1 class changed" not in within.reason, "a 10 % flip tolerance allows 5 %"


def test_a_suite_override_sets_the_flip_tolerance() -> None:
    cand = LOGITS.copy()
    for i in range(20):
        top2 = np.argsort(cand[i])[-2:]
        cand[i, top2] = cand[i, top2[::-1]]
    key = "prediction_consistency/outputs"
    loose = {key: MetricOverride(name="outputs", tolerance=0.10)}
    m = compare_documents(doc(outputs_metric(LOGITS)), doc(outputs_metric(cand)), None, loose)
    assert "top-1 class changed" not in m.metrics[0].reason
    assert m.metrics[0].tolerance == 0.10 and m.metrics[0].tolerance_source == "suite"


def test_a_shift_of_the_whole_distribution_regresses_by_psi_ks_and_wasserstein() -> None:
    m = judge(LOGITS, LOGITS + 4)  # every logit up: top-1 unchanged, distribution moved
    assert m.verdict == "Regressed"
    assert m.prediction is not None and m.prediction.top1_flips == 0
    for rule in ("PSI", "KS", "Wasserstein"):
        assert rule in m.reason, (rule, m.reason)


def test_a_moderate_shift_is_inconclusive_by_the_psi_warning_band() -> None:
    base = RNG.standard_normal((INPUTS, 1)).astype(np.float32)
    stats = None
    for shift in np.linspace(0.05, 0.6, 40):
        s = prediction.compare_outputs(
            outputs_metric(base, labels=None), outputs_metric(base + shift, labels=None)
        )
        assert not isinstance(s, str)
        if 0.1 <= s.psi < 0.25:
            stats = s
            break
    assert stats is not None
    relaxed = prediction.PredictionRules(wasserstein_regress=10, mean_abs_regress=10)
    verdict, reason = prediction.decide(stats, relaxed, 1.0, 0.05)
    assert verdict == "Inconclusive" and "warning band" in reason


def test_calibration_getting_worse_regresses_when_labels_exist() -> None:
    # Sharper logits, same ranking: top-1 and the shape are unchanged in rank, but the
    # model is now overconfident for its accuracy on noisy labels.
    noisy = list(LABELS)
    for i in range(0, INPUTS, 3):
        noisy[i] = (noisy[i] + 1) % CLASSES

    def ece_at(scale: float) -> float:
        m = outputs_metric(LOGITS * scale, labels=noisy).outputs
        assert m is not None and m.confidence is not None and m.top1 is not None
        return prediction.ece(m.confidence, m.top1, noisy)

    calibrated = min(np.linspace(0.05, 3, 60), key=ece_at)  # the best-calibrated scale
    base = outputs_metric(LOGITS * calibrated, labels=noisy)
    cand = outputs_metric(LOGITS * 10, labels=noisy)  # ~certain, yet right 2/3 of the time
    s = prediction.compare_outputs(base, cand)
    assert not isinstance(s, str)
    assert s.ece_candidate is not None and s.ece_baseline is not None
    assert s.ece_candidate - s.ece_baseline > 0.02
    verdict, reason = prediction.decide(s, prediction.PredictionRules(), 1.0, 0.05)
    assert verdict == "Regressed" and "calibration worse" in reason


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"input_set": "other"}, "another input set"),
        ({"model": "m2"}, "another model"),
    ],
)
def test_different_inputs_or_models_are_invalid_not_regressed(
    kw: dict[str, str], words: str
) -> None:
    m = judge(LOGITS, LOGITS, **kw)
    assert m.verdict == "Invalid" and words in m.reason


def test_ks_holds_its_share_of_the_run_alpha() -> None:
    """With 1 distribution and 9 continuous metrics, KS is tested at alpha/10: a p that
    would reject on its own at 0.05 does not once the run's other tests are counted."""
    assert prediction.alpha_share(1, 9) == pytest.approx(0.1)
    assert prediction.alpha_share(1, 0) == 1.0
    base = RNG.standard_normal((INPUTS, CLASSES)).astype(np.float32)
    s = None
    for shift in np.linspace(0.01, 0.2, 96):  # the smallest shift whose KS p is in range
        found = prediction.compare_outputs(outputs_metric(base), outputs_metric(base + shift))
        assert not isinstance(found, str)
        if 0.005 < found.ks_p < 0.05:
            s = found
            break
    assert s is not None
    ks_only = prediction.PredictionRules(wasserstein_regress=10, mean_abs_regress=10)
    alone, _ = prediction.decide(s, ks_only, s.ks_p, 0.05)
    shared, _ = prediction.decide(s, ks_only, min(1, s.ks_p / 0.1), 0.05)
    assert alone == "Regressed" and shared != "Regressed"


def test_continuous_metrics_give_up_the_distribution_share() -> None:
    settings = EngineSettings()
    plain = Metric(
        "t",
        "ms",
        "lower",
        "continuous",
        tuple(ReplicateSamples(f"p{i}", (1.0 + i * 0.01,)) for i in range(5)),
        scale="ratio",
        tolerance=0.05,
    )
    base = ResultDocument(
        run=RunIdentity(),
        workloads=(
            WorkloadResult("w", "tiny", "ok", 1.0, (plain,)),
            WorkloadResult("p", "tiny", "ok", 1.0, (outputs_metric(LOGITS),)),
        ),
    )
    from benchgate.domain.verdict import continuous_share, distribution_ks_share

    assert distribution_ks_share(base, {}) == pytest.approx(0.5)
    assert continuous_share(base, {}) == pytest.approx(0.5)
    ignored = {"p/outputs": MetricOverride(name="outputs", ignore=True)}
    assert continuous_share(base, ignored) == 1.0
    assert compare_documents(base, base, settings).verdict in ("Passed", "Inconclusive")


def test_the_comparison_serialises_the_prediction_numbers() -> None:
    from benchgate.domain.verdict import comparison_to_dict

    c = compare_documents(doc(outputs_metric(LOGITS)), doc(outputs_metric(LOGITS + 0.01)))
    out = comparison_to_dict(c)["metrics"][0]["prediction"]
    assert out["top1Flips"] == 0 and out["bitwiseIdentical"] is False
    json.dumps(out, allow_nan=False)
