"""The batch engine (bench/ measures it) gives the document engine's verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from test_verdict import document, metric

from benchgate.api.result import ResultDocument
from benchgate.domain import batch, sessions
from benchgate.domain.concurrent import compare_concurrent
from benchgate.domain.verdict import VERDICT_CODE, EngineSettings, compare_documents

METRICS, REPLICATES, REPETITIONS = 4, 8, 3
PRIOR = sessions.SESSION_PRIOR_SD["latency"]


def _raw(rng: np.random.Generator, shift: float, session: float) -> np.ndarray:
    """(metrics, replicates, repetitions) timings around 100 ms with process offsets."""
    offsets = rng.normal(0, 0.01, (1, REPLICATES, 1))
    noise = rng.normal(0, 0.02, (METRICS, REPLICATES, REPETITIONS))
    values = 100 * np.exp(offsets + noise + session)
    values[0] *= 1 + shift
    return values


def _doc(raw: np.ndarray) -> ResultDocument:
    return document(*(metric(f"m{j}", raw[j].tolist()) for j in range(METRICS)))


@pytest.mark.parametrize("shift", [0.0, 0.08, 0.3])
@pytest.mark.parametrize("n_sessions", [1, 3])
def test_batch_and_document_paths_agree(shift: float, n_sessions: int) -> None:
    rng = np.random.default_rng(int(shift * 100) + n_sessions)
    base_raw = [_raw(rng, 0.0, rng.normal(0, 0.01)) for _ in range(n_sessions)]
    cand_raw = _raw(rng, shift, rng.normal(0, 0.01))
    settings = EngineSettings()
    docs = compare_documents([_doc(r) for r in base_raw], _doc(cand_raw), settings)
    result = batch.judge_batch(
        np.stack([batch.summaries(r) for r in base_raw], axis=-2),
        batch.summaries(cand_raw),
        margin=np.log1p(0.03),
        bad_sign=1,
        settings=settings,
        prior_sd=PRIOR,
        base_floors=np.stack([batch.floors(r, 1) for r in base_raw], axis=-2),
        cand_floors=batch.floors(cand_raw, 1),
        base_reps=np.stack([np.log(r).reshape(METRICS, -1) for r in base_raw], axis=-2),
        repetitions=REPETITIONS,
    )
    from_docs = [VERDICT_CODE[m.verdict] for m in docs.metrics]
    assert result.codes.tolist() == from_docs, docs.reason
    assert result.tests.diff == pytest.approx([np.log1p(m.change) for m in docs.metrics])


@pytest.mark.parametrize("shift", [0.0, 0.1])
def test_batch_and_document_paths_agree_on_the_concurrent_design(shift: float) -> None:
    rng = np.random.default_rng(11)
    day = rng.normal(0, 0.05)
    control, cand = _raw(rng, 0.0, day), _raw(rng, shift, day)
    base_raw = _raw(rng, 0.0, 0.0)
    settings = EngineSettings()
    docs = compare_concurrent(_doc(cand), _doc(control), _doc(base_raw), settings)
    result = batch.judge_batch(
        batch.summaries(base_raw)[:, None, :],
        batch.summaries(cand),
        margin=np.log1p(0.03),
        bad_sign=1,
        settings=settings,
        prior_sd=PRIOR,
        control=batch.summaries(control),
        node_sd=sessions.NODE_PRIOR_SD["latency"],
        base_floors=batch.floors(base_raw, 1)[:, None, :],
        cand_floors=batch.floors(cand, 1),
        control_floors=batch.floors(control, 1),
        base_reps=np.log(base_raw).reshape(METRICS, 1, -1),
        control_reps=np.log(control).reshape(METRICS, -1),
        repetitions=REPETITIONS,
    )
    assert result.codes.tolist() == [VERDICT_CODE[m.verdict] for m in docs.metrics], docs.reason
