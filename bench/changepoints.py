"""Calibration of the history's change-point detector (benchgate.domain.history).

Prints, for histories of 10, 20 and 40 sessions of normal noise, how often a history
with no change shows any change point (false), and how often a single step of 3 noise
SDs in the middle is found (power), for the shipped penalty and for the textbook
2 log n. Run: `python bench/changepoints.py [--draws N]`.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchgate.domain import history


def rates(n: int, draws: int, rng: np.random.Generator) -> tuple[float, float]:
    def found(values: np.ndarray) -> bool:
        # Levels around 100 with 1 % noise: the detector works on the log scale.
        return bool(history.change_points(list(100 * np.exp(0.01 * values)), "ratio"))

    false = sum(found(rng.normal(0, 1, n)) for _ in range(draws)) / draws
    step = np.r_[np.zeros(n // 2), np.full(n - n // 2, 3.0)]
    power = sum(found(rng.normal(0, 1, n) + step) for _ in range(draws)) / draws
    return false, power


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=400)
    args = parser.parse_args()
    shipped = history.PENALTY_PER_LOG_N
    print(f"{'sessions':>8} {'penalty':>10} {'false':>7} {'power (3 SD step)':>18}")
    for factor in (shipped, 2.0):
        history.PENALTY_PER_LOG_N = factor
        for n in (10, 20, 40):
            false, power = rates(n, args.draws, np.random.default_rng(n))
            label = f"{factor:g} log n"
            print(f"{n:>8} {label:>10} {false:>7.1%} {power:>18.1%}")
    history.PENALTY_PER_LOG_N = shipped


if __name__ == "__main__":
    main()
