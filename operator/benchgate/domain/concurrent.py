"""The concurrent-control design: judge a candidate against a control measured with it.

When nodes of the baseline's platform still exist (a rolling driver or image upgrade), a
control node of the old platform runs the suite in the same time window as the candidate,
interleaved replicate by replicate: round k is the control's replicate k and the
candidate's replicate k. Whatever moves both in that window -- the day, the datacentre's
temperature, a shared filesystem, the neighbours -- cancels in the round's difference, so
the comparison is the paired one (duet benchmarking, Bulej et al. 2020; randomized
multiple interleaved trials, Abedi & Brecht 2017): the trimmed mean of the per-round
differences, never two independent samples. What does not cancel is that the two are
different nodes of one platform; that node component is an assumption per metric family
(sessions.NODE_PRIOR_SD, or `EngineSettings.node_sd`), shown in every reason it judges.

The stored baseline still has a job: the control against it says whether the session
itself was unusual ("the session ran 6 % slow on the control too: the stored baseline,
not the candidate, moved"), which a stored-baseline comparison alone would have called a
regression of the candidate.

    compare_concurrent(candidate_doc, control_doc, baseline_sessions, settings, overrides)

takes exactly what a controller holds: the two documents of one session and the stored
baseline's session documents (or None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from benchgate.api.result import ResultDocument
from benchgate.api.suite import MetricOverride
from benchgate.domain import sessions
from benchgate.domain.envdiff import diff_fingerprints
from benchgate.domain.stats import FloatArray
from benchgate.domain.verdict import (
    Comparison,
    ContinuousInput,
    EngineSettings,
    MetricComparison,
    Prepared,
    as_sessions,
    bad_sign_of,
    compare_documents,
    continuous_share,
    judge,
    prepare,
    summarize,
)


def paired_inputs(
    candidate: ResultDocument,
    control: ResultDocument,
    settings: EngineSettings,
    overrides: Mapping[str, MetricOverride] | None = None,
    baseline: Sequence[ResultDocument] = (),
) -> list[Prepared]:
    """Every metric of the candidate against the control, continuous ones paired by round.

    Exact and error metrics are judged against the control as usual. The stored
    baseline's sessions (optional) widen the reference for the slow-subset test.
    """
    prepared = prepare(control, candidate, settings, overrides)
    reference: dict[str, tuple[tuple[FloatArray, ...], tuple[FloatArray, ...]]] = {}
    if baseline:
        for item in prepare(baseline, control, settings, overrides):
            if isinstance(item, ContinuousInput):
                reference[item.key] = (
                    tuple(s * item.base_scale for s in item.floors),
                    tuple(s * item.base_scale for s in item.reps),
                )
    out: list[Prepared] = []
    for item in prepared:
        if not isinstance(item, ContinuousInput):
            out.append(item)
            continue
        control_summaries = item.sessions[0]
        control_floors = item.floors[0]
        n_pairs = min(len(item.cand), len(control_summaries))
        unpaired = len(item.cand) + len(control_summaries) - 2 * n_pairs
        note = item.note
        if unpaired:
            extra = f"{unpaired} unpaired replicate(s) left out of the rounds"
            note = f"{note}; {extra}" if note else extra
        family = sessions.metric_family(item.key.split("/", 1)[-1], item.unit)
        ref_floors, ref_reps = reference.get(item.key, ((), ()))
        refs = tuple(s / item.base_scale for s in ref_floors)
        out.append(
            replace(
                item,
                cand=item.cand[:n_pairs],
                cand_labels=item.cand_labels[:n_pairs],
                control=control_summaries[:n_pairs],
                sessions=(),
                floors=refs,
                cand_floors=None if item.cand_floors is None else item.cand_floors[:n_pairs],
                control_floors=control_floors[:n_pairs],
                reps=tuple(s / item.base_scale for s in ref_reps),
                control_reps=item.reps[0],
                cand_repetitions=(
                    None if item.cand_repetitions is None else item.cand_repetitions[:n_pairs]
                ),
                base_labels=(),
                component=sessions.node_component(family, override_sd=settings.node_sd),
                note=note,
            )
        )
    return out


def _session_note(control_check: Comparison, judged: Sequence[MetricComparison]) -> str:
    """Whether the session itself was unusual, from the control against the baseline.

    A control that moved beyond its metric's tolerance (as a point estimate, or decided)
    means the stored-baseline comparison of the candidate would have carried that move
    too; the candidate's own verdict comes from the pairs, which it cancels in.
    """
    moved = [
        m
        for m in control_check.metrics
        if m.kind == "continuous"
        and m.change is not None
        and (
            m.verdict in ("Regressed", "Improved")
            or (m.tolerance is not None and abs(m.change) > m.tolerance)
        )
    ]
    if not moved:
        if control_check.verdict in ("Passed", "Improved"):
            return "the session was ordinary: the control matches the stored baseline"
        return (
            f"the control against the stored baseline is {control_check.verdict.lower()} "
            "and within its tolerances: nothing says the session was unusual"
        )
    worst = max(moved, key=lambda m: abs(m.change or 0.0))
    change = worst.change or 0.0
    sign = bad_sign_of(worst.direction) if worst.direction in ("lower", "higher") else 0
    if sign:
        how = f"{abs(change) * 100:.0f} % {'slow' if sign * change > 0 else 'fast'}"
    else:
        how = f"{abs(change) * 100:.0f} % off"
    interval = ""
    if worst.ci_low is not None and worst.ci_high is not None:
        interval = f" [{worst.ci_low * 100:+.1f} %, {worst.ci_high * 100:+.1f} %]"
    where = f"{worst.key} {change * 100:+.1f} %{interval} against the stored baseline"
    cand_row = next((m for m in judged if m.key == worst.key), None)
    if cand_row is not None and cand_row.verdict not in ("Regressed", "Improved"):
        return (
            f"the session ran {how} on the control too ({where}): the stored baseline, "
            "not the candidate, moved"
        )
    return f"the session ran {how} on the control too ({where}); the candidate moved beyond it"


def compare_concurrent(
    candidate: ResultDocument,
    control: ResultDocument,
    baseline: ResultDocument | Sequence[ResultDocument] | None = None,
    settings: EngineSettings | None = None,
    overrides: Mapping[str, MetricOverride] | None = None,
) -> Comparison:
    """Judge `candidate` against `control` (same session, interleaved by round).

    With a stored `baseline` (one session document or several), the control is also
    judged against it (`Comparison.control_check`) and the reason says whether the
    session itself was unusual. The result's `design` is "concurrent-control".
    """
    settings = settings or EngineSettings()
    docs = as_sessions(baseline) if baseline is not None else ()
    items = paired_inputs(candidate, control, settings, overrides, docs)
    # With distribution metrics in the run their KS tests hold part of alpha.
    results = judge(items, settings, family_share=continuous_share(control, overrides or {}))
    comparison = summarize(
        results,
        diff_fingerprints(control.fingerprint, candidate.fingerprint),
        settings.confidence,
        design="concurrent-control",
    )
    if not docs:
        return comparison
    check = compare_documents(docs, control, settings, overrides)
    note = _session_note(check, results)
    return replace(
        comparison,
        control_check=check,
        session_note=note,
        reason=f"{comparison.reason}; {note}",
        baseline_sessions=len(docs),
    )
