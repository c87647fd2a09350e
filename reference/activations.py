"""Activation functions, each with its derivative in both conventions.

Backprop code written by students computes the activation's derivative in one of two ways, and
mixing them up is the most common Lab1 bug:

* from the **pre-activation** ``z`` (the layer's input, ``z = x @ W``): ``sigmoid'(z)``;
* from the **output** ``a = f(z)`` that the forward pass stored: for the sigmoid,
  ``a * (1 - a)``.

Both are correct when used with the right argument.  Calling the output form on ``z`` (or the
pre-activation form on ``a``) is the bug.  To make the difference impossible to miss, every
:class:`Activation` here keeps the forward rule and the two derivative rules side by side, named
``derivative_from_preactivation`` and ``derivative_from_output``.

All functions are vectorised, work in float64 and emit no NumPy warnings for any finite input
(``sigmoid(-1000)`` is exactly 0.0, not an overflow warning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from reference.deferred import np

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    Array = np.ndarray


def sigmoid(z: Array) -> Array:
    """Logistic function ``1 / (1 + exp(-z))`` without overflow.

    ``exp(-z)`` overflows for ``z < -709``; the two-branch form only ever exponentiates a
    non-positive number, so it is exact and silent for every finite input.
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))  # in (0, 1], never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative_from_preactivation(z: Array) -> Array:
    """``sigmoid'(z)`` where ``z`` is the layer's pre-activation."""
    s = sigmoid(z)
    return s * (1.0 - s)


def sigmoid_derivative_from_output(a: Array) -> Array:
    """``sigmoid'`` expressed through the sigmoid's own output ``a = sigmoid(z)``: ``a (1 - a)``."""
    a = np.asarray(a, dtype=float)
    return a * (1.0 - a)


def tanh(z: Array) -> Array:
    """Hyperbolic tangent (NumPy's ``tanh`` is already stable)."""
    return np.tanh(np.asarray(z, dtype=float))


def tanh_derivative_from_preactivation(z: Array) -> Array:
    """``tanh'(z) = 1 - tanh(z)^2``."""
    t = np.tanh(np.asarray(z, dtype=float))
    return 1.0 - t * t


def tanh_derivative_from_output(a: Array) -> Array:
    """``tanh'`` through the output ``a = tanh(z)``: ``1 - a^2``."""
    a = np.asarray(a, dtype=float)
    return 1.0 - a * a


def relu(z: Array) -> Array:
    """Rectified linear unit ``max(z, 0)``."""
    return np.maximum(np.asarray(z, dtype=float), 0.0)


def relu_derivative_from_preactivation(z: Array) -> Array:
    """1 where ``z > 0``, else 0 (the subgradient 0 is used at the kink ``z = 0``)."""
    return (np.asarray(z) > 0).astype(float)


def relu_derivative_from_output(a: Array) -> Array:
    """1 where ``a > 0``, else 0.

    For ReLU the two conventions coincide, because ``relu(z) > 0`` exactly when ``z > 0``: a
    student who differentiates the output instead of the input has no bug here.
    """
    return (np.asarray(a) > 0).astype(float)


LEAKY_RELU_SLOPE = 0.01


def leaky_relu(z: Array, slope: float = LEAKY_RELU_SLOPE) -> Array:
    """``z`` for ``z > 0``, ``slope * z`` otherwise."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, slope * z)


def leaky_relu_derivative_from_preactivation(z: Array, slope: float = LEAKY_RELU_SLOPE) -> Array:
    """1 for ``z > 0``, ``slope`` otherwise."""
    return np.where(np.asarray(z) > 0, 1.0, slope)


def leaky_relu_derivative_from_output(a: Array, slope: float = LEAKY_RELU_SLOPE) -> Array:
    """Same as from the pre-activation: with ``slope > 0`` the output has the input's sign."""
    return np.where(np.asarray(a) > 0, 1.0, slope)


def identity(z: Array) -> Array:
    """The linear (no) activation, for regression outputs such as the ReLU XOR exercise."""
    return np.asarray(z, dtype=float)


def identity_derivative(x: Array) -> Array:
    """Derivative of the identity: ones, whichever convention is used."""
    return np.ones_like(np.asarray(x, dtype=float))


def softmax(z: Array, axis: int = -1) -> Array:
    """Row-wise softmax, shifted by each row's maximum so ``exp`` cannot overflow.

    (The [3,4,4,2] tutorial subtracts the maximum of the whole batch; the per-row maximum is the correct
    shift: a single large logit in one row cannot underflow every other row to 0/0.)
    """
    z = np.asarray(z, dtype=float)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_backward(a: Array, grad_output: Array) -> Array:
    """Backpropagate ``dL/da`` through ``a = softmax(z)`` row by row: ``a * (g - sum(g * a))``.

    Softmax couples the outputs of a row, so it has no elementwise derivative; used with
    categorical cross-entropy the product collapses to ``a - y`` (see :mod:`reference.losses`).
    """
    a = np.asarray(a, dtype=float)
    g = np.asarray(grad_output, dtype=float)
    return a * (g - np.sum(g * a, axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """An elementwise activation with its forward rule and both derivative rules together."""

    name: str
    forward: Callable[[Array], Array]
    derivative_from_preactivation: Callable[[Array], Array]
    derivative_from_output: Callable[[Array], Array]

    def __call__(self, z: Array) -> Array:
        return self.forward(z)


SIGMOID = Activation("sigmoid", sigmoid, sigmoid_derivative_from_preactivation,
                     sigmoid_derivative_from_output)
TANH = Activation("tanh", tanh, tanh_derivative_from_preactivation, tanh_derivative_from_output)
RELU = Activation("relu", relu, relu_derivative_from_preactivation, relu_derivative_from_output)
LEAKY_RELU = Activation("leaky_relu", leaky_relu, leaky_relu_derivative_from_preactivation,
                        leaky_relu_derivative_from_output)
IDENTITY = Activation("identity", identity, identity_derivative, identity_derivative)

ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (SIGMOID, TANH, RELU, LEAKY_RELU, IDENTITY)
}


def get_activation(name_or_activation: str | Activation) -> Activation:
    """Look an activation up by name (``"sigmoid"``, ``"tanh"``, ...), or pass one through."""
    if isinstance(name_or_activation, Activation):
        return name_or_activation
    try:
        return ACTIVATIONS[name_or_activation]
    except KeyError:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name_or_activation!r}; known: {known}") from None
