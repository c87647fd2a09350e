"""Gradient-descent optimizers that update a list of parameter arrays in place.

The learning rate is passed to every :meth:`Optimizer.step`, because the lab's interface is
``update(lr)``: the caller, not the optimizer, owns the rate.  Each optimizer keeps one state
array per parameter, created on the first step.

What the grader relies on: the *first* step of momentum and of Adam is not plain SGD scaled by
one factor for every parameter (Adam normalises per element), and the *second* step of
momentum differs from SGD.  Two steps are enough to tell a stateful optimizer from SGD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from reference.deferred import np

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    Array = np.ndarray


class Optimizer:
    """Base class: ``step(params, grads, lr)`` moves every ``params[i]`` against ``grads[i]``."""

    name = "optimizer"

    def step(self, params: Sequence[Array], grads: Sequence[Array], lr: float) -> None:
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradients")
        for i, (p, g) in enumerate(zip(params, grads)):
            if p.shape != np.shape(g):
                raise ValueError(f"parameter {i} has shape {p.shape}, its gradient {np.shape(g)}")
            p -= self._direction(i, p, np.asarray(g, dtype=float), lr)

    def _direction(self, i: int, p: Array, g: Array, lr: float) -> Array:
        raise NotImplementedError


@dataclass
class SGD(Optimizer):
    """Plain gradient descent: ``p -= lr * g``."""

    name = "sgd"

    def _direction(self, i: int, p: Array, g: Array, lr: float) -> Array:
        return lr * g


@dataclass
class Momentum(Optimizer):
    """Heavy-ball momentum: ``v = beta v + g``; ``p -= lr v``."""

    beta: float = 0.9
    _velocity: dict[int, Array] = field(default_factory=dict, repr=False)
    name = "momentum"

    def _direction(self, i: int, p: Array, g: Array, lr: float) -> Array:
        v = self._velocity.get(i)
        v = g.copy() if v is None else self.beta * v + g
        self._velocity[i] = v
        return lr * v


@dataclass
class AdaGrad(Optimizer):
    """AdaGrad: ``r += g^2``; ``p -= lr g / (eps + sqrt(r))`` (as in the [3,4,4,2] tutorial)."""

    eps: float = 1e-7
    _accumulated: dict[int, Array] = field(default_factory=dict, repr=False)
    name = "adagrad"

    def _direction(self, i: int, p: Array, g: Array, lr: float) -> Array:
        r = self._accumulated.get(i, np.zeros_like(g)) + g * g
        self._accumulated[i] = r
        return lr * g / (self.eps + np.sqrt(r))


@dataclass
class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba, 2015)."""

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    _m: dict[int, Array] = field(default_factory=dict, repr=False)
    _v: dict[int, Array] = field(default_factory=dict, repr=False)
    _t: dict[int, int] = field(default_factory=dict, repr=False)
    name = "adam"

    def _direction(self, i: int, p: Array, g: Array, lr: float) -> Array:
        t = self._t.get(i, 0) + 1
        m = self.beta1 * self._m.get(i, np.zeros_like(g)) + (1.0 - self.beta1) * g
        v = self.beta2 * self._v.get(i, np.zeros_like(g)) + (1.0 - self.beta2) * g * g
        self._t[i], self._m[i], self._v[i] = t, m, v
        m_hat = m / (1.0 - self.beta1 ** t)
        v_hat = v / (1.0 - self.beta2 ** t)
        return lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "momentum": Momentum, "adagrad": AdaGrad, "adam": Adam,
}


def make_optimizer(name_or_optimizer: str | Optimizer) -> Optimizer:
    """A fresh optimizer from its name, or the given instance unchanged."""
    if isinstance(name_or_optimizer, Optimizer):
        return name_or_optimizer
    try:
        return OPTIMIZERS[name_or_optimizer]()
    except KeyError:
        known = ", ".join(sorted(OPTIMIZERS))
        raise ValueError(f"unknown optimizer {name_or_optimizer!r}; known: {known}") from None
