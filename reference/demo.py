"""The demo a TA shows: the reference Lab1 network trained on both datasets, with its figures.

``labgrade reference lab1 --out DIR`` runs :func:`run_lab1`.  For each dataset it trains
``NN(dim=[2, 3, 3, 1])`` with the lab's loop (lr 0.8, per sample, until every sample's loss <
0.04), printing the loss as the lab's script does, then prints the predictions and the accuracy
and saves the prediction-vs-ground-truth and learning-curve figures as PNG files.

A correct network can get stuck in a local minimum of XOR from an unlucky initialisation (see
:mod:`reference.convergence`), so a run that has not converged within its step budget is
restarted from the next initialisation seed, and the demo says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from reference.deferred import np
from reference.convergence import lab_dataset
from reference.lab1 import LAB_DIM, LAB_LR, NN, show_learning_curve, show_result, train
from reference.training import TrainingResult, predict_labels

DATASETS = ("linear", "xor")
ATTEMPT_STEPS = 100_000
"""Step budget of one attempt; most converging XOR runs need far fewer (see bench/)."""
MAX_ATTEMPTS = 20


@dataclass
class DemoRun:
    """One dataset's outcome, as printed and plotted."""

    dataset: str
    init_seed: int
    attempts: int
    result: TrainingResult
    figures: list[Path]


def train_with_restarts(
    X: np.ndarray, Y: np.ndarray, first_seed: int, *, log: Callable[[str], None],
    attempt_steps: int = ATTEMPT_STEPS, max_attempts: int = MAX_ATTEMPTS, log_every: int = 5000,
) -> tuple[NN, int, int, TrainingResult]:
    """Train from ``first_seed``, then the next seeds, until a run converges.

    Returns the network, the seed that converged, the number of attempts and the result.
    """
    for attempt in range(max_attempts):
        seed = first_seed + attempt
        nn = NN(list(LAB_DIM), rng=seed)
        result = train(nn, X, Y, LAB_LR, max_steps=attempt_steps, log_every=log_every, log=log)
        if result.converged:
            return nn, seed, attempt + 1, result
        log(f"initialisation {seed} did not converge in {result.steps} steps "
            "(a local minimum); restarting from initialisation "
            f"{seed + 1}")
    raise RuntimeError(f"no initialisation out of {max_attempts} converged")


def run_lab1(
    out: Path, *, seed: int = 0, data_seed: int = 0, log: Callable[[str], None] = print,
) -> list[DemoRun]:
    """Train on both lab datasets, print losses and accuracy, save four figures in ``out``."""
    import matplotlib

    matplotlib.use("Agg")  # figures go to files; never open a window
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for dataset in DATASETS:
        X, Y = lab_dataset(dataset, data_seed)
        log(f"== {dataset}: {len(X)} points, NN(dim={list(LAB_DIM)}), lr {LAB_LR}")
        nn, used_seed, attempts, result = train_with_restarts(X, Y, seed, log=log)
        y_prob = nn.predict(X)
        y_label = predict_labels(y_prob)
        log(f"converged after {result.steps} steps ({result.epochs} epochs) "
            f"from initialisation {used_seed}")
        log("predictions:\n" + np.array2string(y_prob, precision=5))
        correct = int(np.sum(y_label == Y.reshape(-1)))
        log(f"accuracy: {result.accuracy} ({correct}/{len(X)} correct)")
        result_png = out / f"lab1_{dataset}_result.png"
        curve_png = out / f"lab1_{dataset}_learning_curve.png"
        show_result(X, Y, y_label, path=str(result_png))
        show_learning_curve(result.loss_curve, path=str(curve_png),
                            title=f"Learning curve ({dataset})")
        log(f"figures: {result_png}, {curve_png}")
        runs.append(DemoRun(dataset, used_seed, attempts, result, [result_png, curve_png]))
    return runs
