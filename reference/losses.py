"""Loss functions and their gradients with respect to the prediction.

Conventions matter for grading: the same network trained with ``mean``, ``2 * mean``, ``sum`` or
``0.5 * sum`` of squared errors has gradients that differ only by one positive factor, so each
loss here states its normalisation exactly, and the grader accepts any such factor.

* :func:`mse` -- the Lab1 loss: the **mean over every element** of ``(y_pred - y)^2``.  Its
  gradient is ``2 (y_pred - y) / y_pred.size``.  For the lab's per-sample training
  (``y_pred`` of shape ``(1, 1)``) this is just ``(y_pred - y)^2`` and ``2 (y_pred - y)``.
* :func:`sum_squared_error` -- ``sum((y_pred - y)^2)``, the loss of the ReLU XOR tutorial.
* :func:`half_sum_squared_error` -- ``0.5 * sum(...)``, the loss of the [3,4,4,2] tutorial.
* :func:`binary_cross_entropy` -- mean over every element, for sigmoid outputs.
* :func:`categorical_cross_entropy` -- sum over classes, mean over rows, for softmax outputs
  with one-hot targets.

Probabilities are clipped to ``[EPS, 1 - EPS]`` inside the cross-entropies so that a saturated
prediction gives a large finite loss instead of ``log(0)`` warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from reference.deferred import np

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    Array = np.ndarray

EPS = 1e-12


def _pair(y_pred: Array, y_true: Array) -> tuple[Array, Array]:
    """Both as float arrays of the prediction's shape (a (N,) target fits a (N, 1) prediction)."""
    p = np.asarray(y_pred, dtype=float)
    y = np.asarray(y_true, dtype=float)
    if p.shape != y.shape:
        if y.size != p.size:
            raise ValueError(f"prediction of shape {p.shape} and target of shape {y.shape} "
                             "do not match")
        y = y.reshape(p.shape)
    return p, y


def mse(y_pred: Array, y_true: Array) -> float:
    """Mean squared error over every element."""
    p, y = _pair(y_pred, y_true)
    return float(np.mean((p - y) ** 2))


def mse_gradient(y_pred: Array, y_true: Array) -> Array:
    """``d mse / d y_pred = 2 (y_pred - y) / n`` with ``n`` the number of elements."""
    p, y = _pair(y_pred, y_true)
    return 2.0 * (p - y) / p.size


def sum_squared_error(y_pred: Array, y_true: Array) -> float:
    """``sum((y_pred - y)^2)``."""
    p, y = _pair(y_pred, y_true)
    return float(np.sum((p - y) ** 2))


def sum_squared_error_gradient(y_pred: Array, y_true: Array) -> Array:
    """``2 (y_pred - y)``."""
    p, y = _pair(y_pred, y_true)
    return 2.0 * (p - y)


def half_sum_squared_error(y_pred: Array, y_true: Array) -> float:
    """``0.5 * sum((y_pred - y)^2)``: the factor makes the gradient ``y_pred - y``."""
    p, y = _pair(y_pred, y_true)
    return float(0.5 * np.sum((p - y) ** 2))


def half_sum_squared_error_gradient(y_pred: Array, y_true: Array) -> Array:
    """``y_pred - y``."""
    p, y = _pair(y_pred, y_true)
    return p - y


def binary_cross_entropy(y_pred: Array, y_true: Array) -> float:
    """``-mean(y log p + (1 - y) log(1 - p))`` over every element."""
    p, y = _pair(y_pred, y_true)
    p = np.clip(p, EPS, 1.0 - EPS)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def binary_cross_entropy_gradient(y_pred: Array, y_true: Array) -> Array:
    """``(p - y) / (p (1 - p)) / n``.

    Through a sigmoid output this becomes ``(p - y) / n`` with respect to the logits, which is
    why a student's sigmoid + cross-entropy backprop has no ``sigmoid'`` factor at the output.
    """
    p, y = _pair(y_pred, y_true)
    p = np.clip(p, EPS, 1.0 - EPS)
    return (p - y) / (p * (1.0 - p)) / p.size


def categorical_cross_entropy(y_pred: Array, y_true: Array) -> float:
    """``-sum(y log p) / N`` for ``N`` rows of class probabilities and one-hot targets."""
    p, y = _pair(y_pred, y_true)
    p = np.clip(p, EPS, 1.0)
    n_rows = p.shape[0] if p.ndim > 1 else 1
    return float(-np.sum(y * np.log(p)) / n_rows)


def categorical_cross_entropy_gradient(y_pred: Array, y_true: Array) -> Array:
    """``-y / p / N``; through a softmax output it collapses to ``(p - y) / N``."""
    p, y = _pair(y_pred, y_true)
    p = np.clip(p, EPS, 1.0)
    n_rows = p.shape[0] if p.ndim > 1 else 1
    return -y / p / n_rows


@dataclass(frozen=True)
class Loss:
    """A loss with its value and its gradient with respect to the prediction, side by side."""

    name: str
    value: Callable[[Array, Array], float]
    gradient: Callable[[Array, Array], Array]

    def __call__(self, y_pred: Array, y_true: Array) -> float:
        return self.value(y_pred, y_true)


MSE = Loss("mse", mse, mse_gradient)
SSE = Loss("sse", sum_squared_error, sum_squared_error_gradient)
HALF_SSE = Loss("half_sse", half_sum_squared_error, half_sum_squared_error_gradient)
BCE = Loss("bce", binary_cross_entropy, binary_cross_entropy_gradient)
CCE = Loss("cce", categorical_cross_entropy, categorical_cross_entropy_gradient)

LOSSES: dict[str, Loss] = {loss.name: loss for loss in (MSE, SSE, HALF_SSE, BCE, CCE)}


def get_loss(name_or_loss: str | Loss) -> Loss:
    """Look a loss up by name (``"mse"``, ``"bce"``, ...), or pass one through."""
    if isinstance(name_or_loss, Loss):
        return name_or_loss
    try:
        return LOSSES[name_or_loss]
    except KeyError:
        known = ", ".join(sorted(LOSSES))
        raise ValueError(f"unknown loss {name_or_loss!r}; known: {known}") from None
