"""The "Machine Learning with NumPy" notebook "02.XOR.ipynb", first part: XOR with a single-layer perceptron must fail.

The network, data layout, initialisation and update are exactly those of
:mod:`reference.exercises.and_or` (one sigmoid unit, inputs in ``{-1, 1}^2``, 5000 epochs,
learning rate 0.1); only the targets change, to XOR: ``y = [[0], [1], [0], [1]]`` for the inputs
``[[1, 1], [1, -1], [-1, -1], [-1, 1]]``.

Why it cannot learn, and why it ends *exactly* at outputs 0.5 and loss 1.0
--------------------------------------------------------------------------
No line separates the two classes, so no single unit can get all four right.  Gradient descent
does more than fail, though: it goes to ``wout = 0``, ``bout = 0``.  With ``dL/ds = (y_pred - y)
sigmoid'(s)``, the weight gradient is ``x.T @ dL/ds``.  At ``wout = 0`` every point has the same
output ``sigmoid(bout)``, so ``dL/ds`` takes one value on the two points of label 0 and another
on the two of label 1; and each class consists of two opposite points (``(1, 1)`` and
``(-1, -1)``; ``(1, -1)`` and ``(-1, 1)``), whose contributions to ``x.T @ dL/ds`` cancel.  So
``wout = 0`` is stationary whatever the bias, the bias then settles where ``sigmoid(bout)`` is
the mean label, 0.5, and every output is 0.5: the printed loss, the sum of squared errors,
is ``4 * 0.25 = 1.0``.  The notebook prints ``1.000000000324432`` at epoch 500 and ``1.0``
afterwards, with weights of order ``1e-16``; this module does the same from every seed tried.

The outputs sit at 0.5 up to rounding, so their thresholded labels (and the accuracy) are
arbitrary: judge this run by its loss and outputs, not by its accuracy.
"""

from __future__ import annotations

import numpy as np

from reference.exercises.and_or import (
    DEFAULT_SEED,
    EPOCHS,
    LEARNING_RATE,
    X,
    PerceptronResult,
    derivative_sigmoid,
    forward,
    gradients,
    loss,
    train_perceptron,
)

Array = np.ndarray

__all__ = [
    "DEFAULT_SEED", "EPOCHS", "LEARNING_RATE", "X", "Y_XOR", "STUCK_LOSS", "STUCK_OUTPUT",
    "PerceptronResult", "data", "derivative_sigmoid", "forward", "gradients", "loss", "train",
]

Y_XOR = np.array([[0], [1], [0], [1]], dtype=float)
"""XOR of the two inputs, read as booleans with -1 = False."""
Y_XOR.flags.writeable = False

STUCK_LOSS = 1.0
"""Where the sum of squared errors ends: four outputs of 0.5 against labels 0 and 1."""

STUCK_OUTPUT = 0.5


def data() -> tuple[Array, Array]:
    """The notebook's XOR data: the corners of {-1, 1}^2 and their labels (copies), for a
    rubric's ``data``."""
    return np.array(X, dtype=float), np.array(Y_XOR, dtype=float)


def train(
    *,
    epochs: int = EPOCHS,
    learning_rate: float = LEARNING_RATE,
    rng: np.random.Generator | int = DEFAULT_SEED,
) -> PerceptronResult:
    """The notebook's single-layer run on XOR; expect ``final_loss`` ~ 1.0 and outputs ~ 0.5."""
    return train_perceptron(X, Y_XOR, epochs=epochs, learning_rate=learning_rate, rng=rng)
