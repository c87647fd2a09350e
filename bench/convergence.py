"""Measure how often the lab's setting converges, and how fast the stacked trainer is.

Usage::

    python bench/convergence.py                 # 1000 initialisations per dataset
    python bench/convergence.py --trials 200 --max-steps 50000

Prints, for ``generate_XOR_easy()`` and ``generate_linear()``: the fraction of initialisations of
``NN(dim=[2, 3, 3, 1])`` (U(-1, 1), lr 0.8, per-sample SGD, stop when every sample's loss
< 0.04) that converge within the step budget, with its 95% interval, the quantiles of the steps
needed, the restarts a grader needs for a correct network to fail less than once in a thousand,
and the rate at several smaller budgets.  Then the speed of the stacked trainer against training
the same networks one by one with ``reference.lab1.train``, measured side by side in this run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference.convergence import (  # noqa: E402
    lab_dataset, restarts_needed, summarize, train_many, wilson_interval,
)
from reference.lab1 import NN, train  # noqa: E402


def report(dataset: str, trials: int, max_steps: int) -> None:
    X, Y = lab_dataset(dataset)
    result = train_many(X, Y, range(trials), max_steps=max_steps)
    stats = summarize(result, dataset)
    print(f"\n== {dataset}: {trials} initialisations, budget {max_steps} steps "
          f"({stats.seconds:.1f} s)")
    print(f"converged: {stats.converged}/{stats.trials} = {stats.rate:.3f} "
          f"(95% interval {stats.rate_low:.3f}..{stats.rate_high:.3f})")
    if stats.steps_quantiles:
        q = stats.steps_quantiles
        print("steps to converge: " + ", ".join(f"{k} {v:.0f}" for k, v in q.items()))
    for budget in sorted({max_steps // 20, max_steps // 10, max_steps // 4, max_steps // 2,
                          max_steps}):
        k = int(np.sum(result.converged & (result.steps <= budget)))
        low, high = wilson_interval(k, trials)
        restarts = restarts_needed(low, 1e-3) if low > 0 else "n/a"
        print(f"  within {budget:>7} steps: {k / trials:.3f} ({low:.3f}..{high:.3f}); "
              f"restarts for < 1/1000 failures: {restarts}")


def speed(trials: int, steps: int) -> None:
    X, Y = lab_dataset("xor")
    start = time.perf_counter()
    train_many(X, Y, range(trials), max_steps=steps, threshold=0.0)
    stacked = time.perf_counter() - start
    start = time.perf_counter()
    for seed in range(trials):
        train(NN([2, 3, 3, 1], rng=seed), X, Y, max_steps=steps, log=lambda _: None)
    one_by_one = time.perf_counter() - start
    print(f"\n== speed: {trials} networks x {steps} steps")
    print(f"stacked {stacked:.2f} s, one by one {one_by_one:.2f} s, "
          f"ratio {one_by_one / stacked:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--max-steps", type=int, default=200_000)
    parser.add_argument("--datasets", nargs="+", default=["xor", "linear"])
    args = parser.parse_args()
    for dataset in args.datasets:
        report(dataset, args.trials, args.max_steps)
    speed(trials=20, steps=2100)


if __name__ == "__main__":
    main()
