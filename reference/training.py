"""Training loops: the lab's per-sample loop, full batch and mini-batch.

The loops drive any model with the lab's interface -- ``predict(X)``, ``backprop(y)``,
``update(lr)`` -- or an :class:`~reference.network.MLP` (``forward``/``backward``/``step``), so the
same code trains the reference and, later, a student's network through the grader.

Vocabulary, because the lab template blurs it: a **step** is one parameter update; an **epoch**
is one pass over the data.  The template's variable ``epoch`` counts steps (it is incremented
for every sample), so its "epoch 5000" is 5000 updates, i.e. about 238 passes over the 21 XOR
points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from reference.deferred import np
from reference.init import as_generator
from reference.losses import mse

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    Array = np.ndarray
Logger = Callable[[str], None]

LAB_LOSS_THRESHOLD = 0.04
"""The lab's stopping rule: training is done when every sample's loss is below this."""


@dataclass
class TrainingResult:
    """What a training run did, for reports and tests."""

    converged: bool
    steps: int
    epochs: int
    loss_curve: list[float] = field(default_factory=list)
    """Mean loss over each epoch (for the per-sample loop: the losses seen during that pass)."""
    accuracy: float = float("nan")
    seconds: float = 0.0


def _methods(model: Any) -> tuple[Callable, Callable, Callable]:
    """The model's (predict, backprop, update), accepting the lab's names or the MLP's."""
    if all(hasattr(model, m) for m in ("predict", "backprop", "update")):
        return model.predict, model.backprop, model.update
    if all(hasattr(model, m) for m in ("forward", "backward", "step")):
        return model.forward, model.backward, model.step
    raise TypeError(f"{type(model).__name__} has neither predict/backprop/update "
                    "nor forward/backward/step")


def predict_labels(y_pred: Array) -> Array:
    """Class labels from predictions: threshold 0.5 for one output, argmax for several."""
    y_pred = np.asarray(y_pred, dtype=float)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return np.argmax(y_pred, axis=1)
    return (y_pred.reshape(-1) >= 0.5).astype(int)


def accuracy(y_pred: Array, y_true: Array) -> float:
    """Fraction of correct labels; one-hot targets are compared by argmax."""
    y_true = np.asarray(y_true)
    truth = np.argmax(y_true, axis=1) if y_true.ndim == 2 and y_true.shape[1] > 1 \
        else y_true.reshape(-1).astype(int)
    return float(np.mean(predict_labels(y_pred) == truth))


def train_per_sample(
    model: Any,
    X: Array,
    Y: Array,
    lr: float = 0.8,
    *,
    threshold: float = LAB_LOSS_THRESHOLD,
    max_steps: int = 200_000,
    loss_fn: Callable[[Array, Array], float] = mse,
    log_every: int | None = None,
    log: Logger = print,
) -> TrainingResult:
    """The lab's loop: one update per sample, in order, until every sample's loss < ``threshold``.

    Each sample's loss is measured on the prediction made just before its update, exactly as the
    lab template does; training stops at the end of the first pass where all of them are below
    the threshold, or once ``max_steps`` updates have been made.  ``log_every`` prints the
    template's progress line every that many steps.
    """
    predict, backprop, update = _methods(model)
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    start = time.perf_counter()
    steps = epochs = 0
    curve: list[float] = []
    converged = False
    while steps < max_steps:
        losses = np.empty(len(X))
        for i in range(len(X)):
            x, y = X[i:i + 1], Y[i:i + 1]
            y_pred = predict(x)
            backprop(y)
            update(lr)
            losses[i] = loss_fn(y_pred, y)
            steps += 1
            if log_every and steps % log_every == 0:
                log(f"epoch {steps} loss: {losses[i]:.6f}")
        epochs += 1
        curve.append(float(np.mean(losses)))
        if np.all(losses < threshold):
            converged = True
            break
    acc = accuracy(predict(X), Y)
    return TrainingResult(converged, steps, epochs, curve, acc, time.perf_counter() - start)


def train_batches(
    model: Any,
    X: Array,
    Y: Array,
    lr: float,
    *,
    batch_size: int | None = None,
    max_epochs: int = 1000,
    until_accuracy: float | None = None,
    rng: np.random.Generator | int | None = 0,
    loss_fn: Callable[[Array, Array], float] = mse,
    log_every: int | None = None,
    log: Logger = print,
) -> TrainingResult:
    """Full-batch (``batch_size=None``), mini-batch or stochastic (``batch_size=1``) descent.

    The data is shuffled every epoch with the seeded ``rng`` (except for full batch, where order
    does not matter).  Stops after ``max_epochs``, or as soon as the accuracy on the whole data
    reaches ``until_accuracy`` (``converged`` says whether it did; without a target, whether
    the run finished).
    """
    predict, backprop, update = _methods(model)
    generator = as_generator(rng)
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    n = len(X)
    size = n if batch_size is None else int(batch_size)
    start = time.perf_counter()
    curve: list[float] = []
    steps = epochs = 0
    converged = until_accuracy is None
    acc = float("nan")
    for epochs in range(1, max_epochs + 1):
        order = np.arange(n) if size >= n else generator.permutation(n)
        for lo in range(0, n, size):
            idx = order[lo:lo + size]
            predict(X[idx])
            backprop(Y[idx])
            update(lr)
            steps += 1
        y_all = predict(X)
        curve.append(float(loss_fn(y_all, Y)))
        acc = accuracy(y_all, Y)
        if log_every and epochs % log_every == 0:
            log(f"epoch {epochs} loss: {curve[-1]:.6f} accuracy: {acc:.3f}")
        if until_accuracy is not None and acc >= until_accuracy:
            converged = True
            break
    return TrainingResult(converged, steps, epochs, curve, acc, time.perf_counter() - start)
