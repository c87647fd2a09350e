"""The "Machine Learning with NumPy" notebook "01.AND_OR.ipynb": AND and OR with a single-layer perceptron.

The notebook trains one sigmoid unit, ``y_pred = sigmoid(x @ wout + bout)``, on the four corners
of the square ``{-1, 1}^2`` (full batch, 5000 epochs, learning rate 0.1, weights drawn from
U(0, 1)).  Both gates are linearly separable, so the unit learns them; the trained weights show
the textbook pattern: the two input weights are equal (the data is symmetric in ``x1`` and
``x2``), and the bias has the magnitude of one weight with a **negative** sign for AND
(``x1 + x2 - 1 > 0`` only at ``(1, 1)``) and a **positive** sign for OR (``x1 + x2 + 1 > 0``
everywhere but ``(-1, -1)``).  The same code is reused by :mod:`reference.exercises.xor_single`,
where it must fail.

The sign convention of the slide
--------------------------------
The slide's update reads like gradient *ascent*::

    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    grad_wout = x.T.dot(grad_y_pred)
    wout += grad_wout * learning_rate

It is descent nonetheless.  For ``L = 0.5 * sum((y_pred - y)^2)`` and ``s = x @ wout + bout``,
``dL/ds = (y_pred - y) * sigmoid'(s)``, so the slide's ``grad_y_pred`` is ``-dL/ds`` and its
``grad_wout``/``grad_bout`` are ``-dL/dwout`` and ``-dL/dbout``.  Adding a negative gradient is
subtracting the gradient: ``wout += lr * (-dL/dwout)`` is ``wout -= lr * dL/dwout``.  The names
"grad_..." therefore hold *negative* gradients here; :func:`gradients` keeps the slide's sign so
that its values are the notebook's, and says so.

The printed loss is ``np.square(y_pred - y).sum()`` (no 0.5).  Its gradient is twice the one
above, so the slide's step is a descent step on the printed loss with learning rate 0.05: same
direction, and nothing else changes.

What is deliberately not copied: ``np.random.uniform`` from the global state.  The weights come
from an explicit :class:`numpy.random.Generator` (``rng``, a Generator or a seed), with the same
distribution U(0, 1) and the same draw order (``wout`` first, then ``bout``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from reference.activations import sigmoid, sigmoid_derivative_from_output
from reference.init import as_generator
from reference.training import accuracy as label_accuracy

Array = np.ndarray

X = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=float)
"""The notebook's four inputs ``x``, in its order."""

Y_AND = np.array([[1], [0], [0], [0]], dtype=float)
Y_OR = np.array([[1], [1], [0], [1]], dtype=float)
TARGETS: dict[str, Array] = {"and": Y_AND, "or": Y_OR}
for _constant in (X, Y_AND, Y_OR):
    _constant.flags.writeable = False  # shared by every run: nobody may change them
del _constant

EPOCHS = 5000
LEARNING_RATE = 0.1
DEFAULT_SEED = 0

Gate = Literal["and", "or"]

derivative_sigmoid = sigmoid_derivative_from_output
"""The notebook's ``derivative_sigmoid(y_pred)``: it takes the sigmoid's *output*, ``a (1 - a)``."""


@dataclass(frozen=True)
class PerceptronResult:
    """A finished single-layer run, with the notebook's names.

    ``y_pred`` is what the notebook prints after its loop: the prediction of the **last epoch's
    forward pass**, made just before the final update.  ``loss_history[i]`` is the printed
    loss of epoch ``i`` (sum of squared errors of that epoch's prediction, before its update),
    and ``accuracy`` is the fraction of ``y_pred`` that, thresholded at 0.5, equals the label.
    """

    wout: Array
    bout: Array
    y_pred: Array
    loss_history: Array
    accuracy: float
    epochs: int
    learning_rate: float

    @property
    def final_loss(self) -> float:
        """The last printed-style loss (sum of squared errors)."""
        return float(self.loss_history[-1])

    @property
    def labels(self) -> Array:
        """``y_pred`` thresholded at 0.5, as a ``(N, 1)`` integer column like the targets."""
        return (self.y_pred >= 0.5).astype(int)

    @property
    def correct(self) -> bool:
        """Whether every thresholded output equals its label."""
        return self.accuracy == 1.0


def init_params(
    d_in: int, d_out: int = 1, rng: np.random.Generator | int = DEFAULT_SEED
) -> tuple[Array, Array]:
    """``(wout, bout)`` drawn from U(0, 1), ``wout`` first, as the notebook does.

    All-positive initial weights are the notebook's choice; AND and OR are learned from every
    seed tried (the tests use several), so the start only changes the path, not the result.
    """
    generator = as_generator(rng)
    wout = generator.uniform(size=(d_in, d_out))
    bout = generator.uniform(size=(1, d_out))
    return wout, bout


def forward(x: Array, wout: Array, bout: Array) -> Array:
    """The notebook's forward pass ``sigmoid(x.dot(wout) + bout)``."""
    return sigmoid(x.dot(wout) + bout)


def loss(y_pred: Array, y: Array) -> float:
    """The printed loss, ``np.square(y_pred - y).sum()`` (no 0.5, no mean)."""
    return float(np.square(y_pred - y).sum())


def gradients(x: Array, y: Array, y_pred: Array) -> tuple[Array, Array]:
    """The notebook's ``(grad_wout, grad_bout)``, **with its sign**: ``-dL/dwout``, ``-dL/dbout``.

    ``L = 0.5 * sum((y_pred - y)^2)``; see the module docstring for why adding these is a
    descent step.  Only ``y_pred`` is needed, because the sigmoid's derivative is written
    through its output.
    """
    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    grad_wout = x.T.dot(grad_y_pred)
    grad_bout = np.sum(grad_y_pred, axis=0, keepdims=True)
    return grad_wout, grad_bout


def train_perceptron(
    x: Array,
    y: Array,
    *,
    epochs: int = EPOCHS,
    learning_rate: float = LEARNING_RATE,
    rng: np.random.Generator | int = DEFAULT_SEED,
) -> PerceptronResult:
    """The notebook's training cell for any targets ``y`` (AND, OR, or XOR in the next notebook).

    Full batch: each epoch is one forward pass over all four points and one update, in the
    notebook's order (forward, loss, gradients, ``+=``).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float).reshape(len(x), -1)
    wout, bout = init_params(x.shape[1], y.shape[1], rng)
    loss_history = np.empty(epochs)
    for i in range(epochs):
        y_pred = forward(x, wout, bout)
        loss_history[i] = loss(y_pred, y)
        grad_wout, grad_bout = gradients(x, y, y_pred)
        wout += grad_wout * learning_rate  # += of a negative gradient: descent
        bout += grad_bout * learning_rate
    return PerceptronResult(
        wout=wout,
        bout=bout,
        y_pred=y_pred,
        loss_history=loss_history,
        accuracy=label_accuracy(y_pred, y),
        epochs=epochs,
        learning_rate=learning_rate,
    )


def train(
    gate: Gate = "and",
    *,
    epochs: int = EPOCHS,
    learning_rate: float = LEARNING_RATE,
    rng: np.random.Generator | int = DEFAULT_SEED,
) -> PerceptronResult:
    """Train the notebook's perceptron on ``"and"`` or ``"or"``."""
    try:
        y = TARGETS[gate]
    except KeyError:
        raise ValueError(f"unknown gate {gate!r}; expected 'and' or 'or'") from None
    return train_perceptron(X, y, epochs=epochs, learning_rate=learning_rate, rng=rng)
