"""A fully connected network in plain NumPy: pure forward and backward passes, and a class.

The pure functions :func:`forward` and :func:`backward` take the parameters as arguments, so the
grader can run the reference computation on a student's own weights and compare layer by layer.
:class:`MLP` wraps them with state (weights, cached activations, gradients, an optimizer) and is
what :class:`reference.lab1.NN` and the exercises build on.

Shapes follow the lab: a batch ``X`` is ``(N, d_in)``, a layer computes
``a_next = f(a @ W + b)`` with ``W`` of shape ``(fan_in, fan_out)`` and ``b`` of shape
``(1, fan_out)``, and the output is ``(N, d_out)``.

Backward, for the loss ``L`` and ``delta_l = dL/dz_l`` (the gradient at layer ``l``'s
pre-activation)::

    delta_L   = dL/dy * f'(z_L)             (softmax + cross-entropy: (y - t) / N)
    dL/dW_l   = a_{l-1}^T @ delta_l          (a_0 = X; for one sample this is the outer
                                              product the lab template writes as np.kron)
    dL/db_l   = sum of delta_l over the batch (summed, not averaged: the 1/N is in the loss)
    delta_l-1 = (delta_l @ W_l^T) * f'(z_{l-1})
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from reference.deferred import np
from reference.activations import Activation, get_activation, softmax, softmax_backward
from reference.init import as_generator, get_initializer
from reference.losses import BCE, CCE, Loss, get_loss
from reference.optimizers import Optimizer, make_optimizer

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    from reference.init import Initializer

    Array = np.ndarray

SOFTMAX = "softmax"
"""Name of the output activation that is not elementwise (see :func:`forward`)."""

OutputActivation = Activation | str


@dataclass
class ForwardCache:
    """What the forward pass remembers for the backward pass.

    ``outputs[0]`` is the input ``X``; ``outputs[l]`` and ``preactivations[l - 1]`` belong to
    layer ``l`` (1-based), so ``outputs[-1]`` is the prediction.
    """

    outputs: list[Array] = field(default_factory=list)
    preactivations: list[Array] = field(default_factory=list)


def _as_batch(X: Array) -> Array:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        return X.reshape(1, -1)
    if X.ndim != 2:
        raise ValueError(f"expected inputs of shape (N, d) or (d,), got {X.shape}")
    return X


def _apply_output(output: OutputActivation, z: Array) -> Array:
    if output == SOFTMAX:
        return softmax(z)
    return get_activation(output).forward(z)


def forward(
    weights: Sequence[Array],
    X: Array,
    hidden: Activation | str = "sigmoid",
    output: OutputActivation | None = None,
    biases: Sequence[Array] | None = None,
) -> tuple[Array, ForwardCache]:
    """Run ``X`` through the layers; return the prediction and the cache for :func:`backward`.

    ``hidden`` is used on every layer but the last, ``output`` (default: same as ``hidden``)
    on the last; ``output="softmax"`` gives row-wise class probabilities.
    """
    hidden_act = get_activation(hidden)
    output = hidden_act if output is None else output
    a = _as_batch(X)
    cache = ForwardCache(outputs=[a], preactivations=[])
    last = len(weights) - 1
    for layer, W in enumerate(weights):
        z = a @ W
        if biases is not None:
            z = z + biases[layer]
        a = hidden_act.forward(z) if layer < last else _apply_output(output, z)
        cache.preactivations.append(z)
        cache.outputs.append(a)
    return a, cache


def output_delta(
    cache: ForwardCache, y_true: Array, loss: Loss | str, output: OutputActivation
) -> Array:
    """``dL/dz`` at the last layer's pre-activation.

    Softmax with categorical cross-entropy and sigmoid with binary cross-entropy use the
    combined form ``(p - y) / N``, which is exact and does not divide by ``p (1 - p)``.
    """
    loss = get_loss(loss)
    p = cache.outputs[-1]
    y = np.asarray(y_true, dtype=float).reshape(p.shape)
    is_sigmoid = output != SOFTMAX and get_activation(output).name == "sigmoid"
    if output == SOFTMAX and loss is CCE:
        return (p - y) / p.shape[0]
    if is_sigmoid and loss is BCE:
        return (p - y) / p.size
    grad_p = loss.gradient(p, y)
    if output == SOFTMAX:
        return softmax_backward(p, grad_p)
    return grad_p * get_activation(output).derivative_from_preactivation(cache.preactivations[-1])


def backward(
    weights: Sequence[Array],
    cache: ForwardCache,
    y_true: Array,
    loss: Loss | str = "mse",
    hidden: Activation | str = "sigmoid",
    output: OutputActivation | None = None,
) -> tuple[list[Array], list[Array]]:
    """Gradients of the loss with respect to every weight matrix and every bias row.

    Returns ``(grad_weights, grad_biases)`` in layer order; ``grad_biases[l]`` has shape
    ``(1, fan_out)`` and is returned even for a network without biases (it is then simply the
    gradient a bias would have), which keeps the caller's code free of special cases.
    """
    hidden_act = get_activation(hidden)
    output = hidden_act if output is None else output
    delta = output_delta(cache, y_true, loss, output)
    n_layers = len(weights)
    grad_w: list[Array] = [np.empty(0)] * n_layers
    grad_b: list[Array] = [np.empty(0)] * n_layers
    for layer in range(n_layers - 1, -1, -1):
        grad_w[layer] = cache.outputs[layer].T @ delta
        grad_b[layer] = np.sum(delta, axis=0, keepdims=True)
        if layer > 0:
            z_prev = cache.preactivations[layer - 1]
            delta = (delta @ weights[layer].T) * hidden_act.derivative_from_preactivation(z_prev)
    return grad_w, grad_b


class MLP:
    """A multi-layer perceptron with optional biases and a pluggable optimizer.

    ``sizes`` lists the layer widths from input to output, e.g. ``[2, 3, 3, 1]`` for the lab.
    Randomness comes only from ``rng`` (a Generator or a seed), so a seed fixes the network.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        hidden: Activation | str = "sigmoid",
        output: OutputActivation | None = None,
        loss: Loss | str = "mse",
        *,
        bias: bool = False,
        init: Initializer | str = "uniform",
        rng: np.random.Generator | int | None = None,
        optimizer: Optimizer | str = "sgd",
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least two positive widths, got {sizes}")
        generator = as_generator(rng)
        initializer = get_initializer(init)
        self.sizes = sizes
        self.hidden = get_activation(hidden)
        self.output: OutputActivation = self.hidden if output is None else (
            output if output == SOFTMAX else get_activation(output))
        self.loss_fn = get_loss(loss)
        self.weights: list[Array] = [
            initializer(fan_in, fan_out, generator) for fan_in, fan_out in zip(sizes, sizes[1:])
        ]
        self.biases: list[Array] | None = (
            [np.zeros((1, fan_out)) for fan_out in sizes[1:]] if bias else None
        )
        self.optimizer = make_optimizer(optimizer)
        self.cache: ForwardCache | None = None
        self.grad_weights: list[Array] | None = None
        self.grad_biases: list[Array] | None = None

    def forward(self, X: Array) -> Array:
        """Predict for a batch ``(N, d_in)`` or one sample ``(d_in,)``; remember the activations."""
        y, self.cache = forward(self.weights, X, self.hidden, self.output, self.biases)
        return y

    def backward(self, y_true: Array) -> None:
        """Compute the gradients for the last :meth:`forward` call and keep them for :meth:`step`."""
        if self.cache is None:
            raise RuntimeError("backward() needs a forward() first: it differentiates that call")
        gw, gb = backward(self.weights, self.cache, y_true, self.loss_fn, self.hidden, self.output)
        self.grad_weights = gw
        self.grad_biases = gb if self.biases is not None else None

    def step(self, lr: float) -> None:
        """Apply the stored gradients with the optimizer (``W -= lr * dW`` for SGD)."""
        if self.grad_weights is None:
            raise RuntimeError("step() needs a backward() first: there is no gradient to apply")
        self.optimizer.step(self.parameters(), self.gradients(), lr)

    def parameters(self) -> list[Array]:
        """Every trainable array, weights first, then biases (the arrays themselves, not copies)."""
        return list(self.weights) + (list(self.biases) if self.biases is not None else [])

    def gradients(self) -> list[Array]:
        """The gradients matching :meth:`parameters`, from the last :meth:`backward`."""
        if self.grad_weights is None:
            raise RuntimeError("no gradient yet: call backward() first")
        return list(self.grad_weights) + (list(self.grad_biases or []))

    def loss_on(self, X: Array, y_true: Array) -> float:
        """The loss on ``(X, y_true)`` without touching the cache."""
        y, _ = forward(self.weights, X, self.hidden, self.output, self.biases)
        return self.loss_fn(y, y_true)
