"""Prediction consistency: judge a model's outputs on fixed inputs against the baseline's.

Pure numpy/scipy. A `distribution` metric carries `Outputs`: per input, the model's
output values (and, for classifiers, the top-1 class, its probability and the label).
Baseline and candidate ran the same model on the same seeded inputs, so the outputs are
compared input by input (what changed for *this* input) and as a distribution (did the
outputs as a whole move). docs/prediction.md explains the rules for users; the numbers
are `PredictionRules`.

Rules, worst first (`decide`):
  Invalid       the sides ran different inputs or a different model, or a shape differs.
  Regressed     top-1 class changed on more than `tolerance` of the inputs (the metric's
                tolerance, default 1 %); PSI >= 0.25; the KS test rejects "same output
                distribution" inside the run's family-wise error control; Wasserstein
                distance >= 0.1 of the baseline outputs' standard deviation; mean absolute
                output difference >= 0.05 of it; ECE up by more than 0.02 (with labels).
  Inconclusive  0.1 <= PSI < 0.25: the conventional "moderate shift, look at it" band.
  Passed        otherwise; the reason says whether the outputs are bitwise identical and
                by how much they differ if not.

PSI (population stability index) uses 10 bins at the baseline's deciles of the output
values (bins fixed by the baseline, so both sides are binned alike), with empty bins
floored at 1e-4 of a share, the usual convention; PSI >= 0.1 warns and >= 0.25 regresses
(Siddiqi's credit-scoring thresholds, used throughout model monitoring).

KS and multiplicity: the two-sample Kolmogorov-Smirnov p-value of the output values.
Baseline and candidate saw the same inputs, so their outputs are positively correlated;
the KS null distribution assumes independent samples and is therefore conservative here
(the two empirical CDFs are closer than independent draws would be). The run's
"Regressed" error is controlled across all of its metrics: the KS tests of the run's
distribution metrics get a share of alpha in proportion to their number (`alpha_share`),
Holm-adjusted among themselves; the continuous tests keep the rest. By the union bound the
family-wise error of the run stays at alpha.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from scipy import stats as sps

from benchgate.api.result import Metric, Outputs

PredictionVerdict = Literal["Passed", "Regressed", "Inconclusive", "Invalid"]

DEFAULT_FLIP_TOLERANCE: Final = 0.01
PSI_BINS: Final = 10
PSI_FLOOR: Final = 1e-4
ECE_BINS: Final = 15


@dataclass(frozen=True)
class PredictionRules:
    """Thresholds of the prediction-consistency verdict (docs/prediction.md)."""

    flip_tolerance: float = DEFAULT_FLIP_TOLERANCE  # share of inputs whose top-1 may change
    psi_warn: float = 0.10
    psi_regress: float = 0.25
    wasserstein_regress: float = 0.10  # W1 / baseline outputs' standard deviation
    mean_abs_regress: float = 0.05  # mean |candidate - baseline| / that deviation
    ece_regress: float = 0.02  # absolute increase of the expected calibration error


@dataclass(frozen=True)
class PredictionStats:
    """What the comparison of two `Outputs` found (all relative numbers are shares)."""

    inputs: int
    values: int  # output values compared (inputs x width)
    bitwise_identical: bool
    top1_flips: int | None  # None for outputs that are not class scores
    top1_agreement: float | None
    max_abs_diff: float
    mean_abs_diff: float
    max_rel_diff: float
    mean_rel_diff: float
    spread: float  # standard deviation of the baseline's output values
    psi: float
    ks_statistic: float
    ks_p: float
    wasserstein: float  # W1 / spread
    ece_baseline: float | None
    ece_candidate: float | None
    # Each replicate's repeated runs were bitwise identical (inference is deterministic).
    candidate_replicates_agree: bool
    baseline_replicates_agree: bool

    @property
    def flip_share(self) -> float | None:
        return None if self.top1_flips is None else self.top1_flips / self.inputs

    def to_dict(self) -> dict[str, Any]:
        def finite(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else x

        return {
            "inputs": self.inputs,
            "values": self.values,
            "bitwiseIdentical": self.bitwise_identical,
            "top1Flips": self.top1_flips,
            "top1Agreement": finite(self.top1_agreement),
            "maxAbsDiff": finite(self.max_abs_diff),
            "meanAbsDiff": finite(self.mean_abs_diff),
            "maxRelDiff": finite(self.max_rel_diff),
            "meanRelDiff": finite(self.mean_rel_diff),
            "spread": finite(self.spread),
            "psi": finite(self.psi),
            "ksStatistic": finite(self.ks_statistic),
            "ksP": finite(self.ks_p),
            "wassersteinRelative": finite(self.wasserstein),
            "eceBaseline": finite(self.ece_baseline),
            "eceCandidate": finite(self.ece_candidate),
            "candidateReplicatesAgree": self.candidate_replicates_agree,
            "baselineReplicatesAgree": self.baseline_replicates_agree,
        }


def _f32(values: Sequence[float]) -> np.ndarray[Any, np.dtype[np.float64]]:
    # The document stores float32 values in their shortest decimal form; reading them
    # back through float32 gives exactly the workload's numbers.
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def mismatch(base: Outputs, cand: Outputs) -> str | None:
    """Why two outputs cannot be compared input by input, or None."""
    if base.input_set != cand.input_set:
        return (
            f"the candidate ran another input set ({cand.input_set[:24]}) than the baseline "
            f"({base.input_set[:24]}); promote a baseline measured with this input set"
        )
    if base.model != cand.model:
        return (
            f"the candidate ran another model ({cand.model[:24]}) than the baseline "
            f"({base.model[:24]}); a new model needs a new baseline"
        )
    for attr in ("inputs", "width", "columns"):
        if getattr(base, attr) != getattr(cand, attr):
            return (
                f"outputs.{attr} differs: baseline {getattr(base, attr)!r}, "
                f"candidate {getattr(cand, attr)!r}"
            )
    if (base.top1 is None) != (cand.top1 is None):
        return "one side reports top-1 classes and the other does not"
    if base.labels != cand.labels:
        return "the two sides' labels differ although their input sets match"
    return None


def psi(base: np.ndarray[Any, Any], cand: np.ndarray[Any, Any], bins: int = PSI_BINS) -> float:
    """Population stability index over bins at the baseline's quantiles."""
    edges = np.unique(np.quantile(base, np.linspace(0, 1, bins + 1)[1:-1]))
    b = np.bincount(np.searchsorted(edges, base, side="right"), minlength=len(edges) + 1)
    c = np.bincount(np.searchsorted(edges, cand, side="right"), minlength=len(edges) + 1)
    pb = np.maximum(b / b.sum(), PSI_FLOOR)
    pc = np.maximum(c / c.sum(), PSI_FLOOR)
    return float(np.sum((pc - pb) * np.log(pc / pb)))


def ece(confidence: Sequence[float], predicted: Sequence[int], labels: Sequence[int]) -> float:
    """Expected calibration error over `ECE_BINS` equal-width confidence bins."""
    conf = np.asarray(confidence, dtype=np.float64)
    hit = np.asarray(predicted) == np.asarray(labels)
    which = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    total = 0.0
    for k in range(ECE_BINS):
        inside = which == k
        if inside.any():
            total += inside.mean() * abs(float(hit[inside].mean()) - float(conf[inside].mean()))
    return total


def _agree(metric: Metric) -> bool:
    """Whether each replicate's repetitions gave bitwise the same outputs (replicates may
    differ from each other: a plugin may train one model per replicate seed)."""
    return all(len({str(v) for v in group.values}) <= 1 for group in metric.samples)


def compare_outputs(base_metric: Metric, cand_metric: Metric) -> PredictionStats | str:
    """The statistics of two distribution metrics, or why they cannot be compared."""
    base, cand = base_metric.outputs, cand_metric.outputs
    if base is None or cand is None:
        return "a distribution metric without outputs"
    problem = mismatch(base, cand)
    if problem is not None:
        return problem
    vb, vc = _f32(base.values), _f32(cand.values)
    diff = np.abs(vc - vb)
    spread = float(np.std(vb))
    scale = spread if spread > 0 else max(float(np.max(np.abs(vb))), 1.0)
    # Relative to |baseline| with a floor, so outputs near 0 do not divide by ~0.
    rel = diff / np.maximum(np.abs(vb), 1e-6 * scale)
    flips = agreement = None
    if base.top1 is not None and cand.top1 is not None:
        flips = int(np.sum(np.asarray(base.top1) != np.asarray(cand.top1)))
        agreement = 1.0 - flips / base.inputs
    # The exact distribution is only computable for small samples; beyond, the asymptotic.
    ks = sps.ks_2samp(vb, vc, method="exact" if vb.size * vc.size <= 10_000 else "asymp")
    ece_b = ece_c = None
    if base.labels is not None and base.confidence is not None and cand.confidence is not None:
        assert base.top1 is not None and cand.top1 is not None
        ece_b = ece(base.confidence, base.top1, base.labels)
        ece_c = ece(cand.confidence, cand.top1, base.labels)
    return PredictionStats(
        inputs=base.inputs,
        values=int(vb.size),
        bitwise_identical=bool(np.array_equal(vb, vc)) and base.top1 == cand.top1,
        top1_flips=flips,
        top1_agreement=agreement,
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
        max_rel_diff=float(rel.max()),
        mean_rel_diff=float(rel.mean()),
        spread=spread,
        psi=psi(vb, vc),
        ks_statistic=float(ks.statistic),
        ks_p=float(ks.pvalue),
        wasserstein=float(sps.wasserstein_distance(vb, vc)) / scale,
        ece_baseline=ece_b,
        ece_candidate=ece_c,
        candidate_replicates_agree=_agree(cand_metric),
        baseline_replicates_agree=_agree(base_metric),
    )


def alpha_share(distribution_metrics: int, continuous_metrics: int) -> float:
    """The share of the run's alpha spent on the KS tests (proportional to their count)."""
    total = distribution_metrics + continuous_metrics
    return distribution_metrics / total if total else 0.0


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (monotone, capped at 1)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    m = len(p_values)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _g(x: float) -> str:
    return f"{x:.3g}"


def decide(
    s: PredictionStats, rules: PredictionRules, ks_p_adjusted: float, alpha: float
) -> tuple[PredictionVerdict, str]:
    """The verdict and its reason; every rule that fires is named, the worst decides."""
    bad: list[str] = []
    share = s.flip_share
    if share is not None and share > rules.flip_tolerance:
        bad.append(
            f"top-1 class changed on {s.top1_flips} of {s.inputs} inputs "
            f"({share:.1%} > {rules.flip_tolerance:.1%})"
        )
    if s.psi >= rules.psi_regress:
        bad.append(f"PSI {s.psi:.3f} >= {rules.psi_regress:g}")
    if ks_p_adjusted <= alpha:
        bad.append(
            f"KS {s.ks_statistic:.3f}: output distribution changed (adjusted p {_g(ks_p_adjusted)}"
            f" <= {alpha:g})"
        )
    if s.wasserstein >= rules.wasserstein_regress:
        bad.append(
            f"Wasserstein distance {s.wasserstein:.3f} of the baseline's spread >= "
            f"{rules.wasserstein_regress:g}"
        )
    if s.spread > 0 and s.mean_abs_diff / s.spread >= rules.mean_abs_regress:
        bad.append(
            f"mean |output difference| {_g(s.mean_abs_diff)} is "
            f"{s.mean_abs_diff / s.spread:.3f} of the baseline's spread >= "
            f"{rules.mean_abs_regress:g}"
        )
    if (
        s.ece_baseline is not None
        and s.ece_candidate is not None
        and s.ece_candidate - s.ece_baseline > rules.ece_regress
    ):
        bad.append(
            f"calibration worse: ECE {s.ece_baseline:.3f} -> {s.ece_candidate:.3f} "
            f"(+{s.ece_candidate - s.ece_baseline:.3f} > {rules.ece_regress:g})"
        )
    notes = []
    if not s.candidate_replicates_agree:
        notes.append(
            "repeated inference within a candidate replicate disagrees bitwise (not "
            "deterministic on this platform)"
        )
    suffix = ("; " + "; ".join(notes)) if notes else ""
    if bad:
        return "Regressed", "; ".join(bad) + suffix
    if s.psi >= rules.psi_warn:
        return "Inconclusive", (
            f"PSI {s.psi:.3f} is in the warning band [{rules.psi_warn:g}, "
            f"{rules.psi_regress:g}): a moderate shift of the outputs that needs a look{suffix}"
        )
    if s.bitwise_identical:
        return "Passed", f"outputs bitwise identical to the baseline's on {s.inputs} inputs{suffix}"
    flips = (
        f"top-1 changed on {s.top1_flips} of {s.inputs} inputs (<= {rules.flip_tolerance:.1%}); "
        if s.top1_flips is not None
        else ""
    )
    relative = f" ({s.max_abs_diff / s.spread:.2g} of spread)" if s.spread > 0 else ""
    return "Passed", (
        f"{flips}outputs differ: max |diff| {_g(s.max_abs_diff)}{relative}, mean "
        f"{_g(s.mean_abs_diff)}; PSI {s.psi:.3f}, KS p {_g(ks_p_adjusted)}, W1 "
        f"{s.wasserstein:.2g} of spread{suffix}"
    )
