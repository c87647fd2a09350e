"""Weight initialisation schemes, as taught in the [3,4,4,2] tutorial and the Lab1 template.

Every scheme takes ``(fan_in, fan_out, rng)`` and returns a ``(fan_in, fan_out)`` float64 matrix,
so a layer computes ``x @ W`` exactly as in the lab.  Randomness always comes from an explicit
:class:`numpy.random.Generator`: the same seed gives the same network.

=================  ===========================================  ==============================
name               distribution                                 where it comes from
=================  ===========================================  ==============================
``normal``         N(0, 1)                                      tutorial ``W0nn``
``uniform``        U(-1, 1)                                     Lab1 setting, tutorial ``W0Xu``
``xavier_like``    N(0, 1) / sqrt(fan_in + fan_out)             tutorial "Xavier-like"
``xavier_uniform`` U(-1, 1) * sqrt(6 / (fan_in + fan_out))      tutorial "Xavier" (Glorot)
``he``             N(0, 1) * sqrt(2 / fan_in)                   for ReLU layers (He et al.)
=================  ===========================================  ==============================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from reference.deferred import np

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    Array = np.ndarray
    Initializer = Callable[[int, int, np.random.Generator], Array]


def normal(fan_in: int, fan_out: int, rng: np.random.Generator) -> Array:
    """Standard normal entries."""
    return rng.standard_normal((fan_in, fan_out))


def uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> Array:
    """Uniform entries in [-1, 1): the initialisation the Lab1 convergence facts refer to."""
    return rng.uniform(-1.0, 1.0, (fan_in, fan_out))


def xavier_like(fan_in: int, fan_out: int, rng: np.random.Generator) -> Array:
    """Normal entries scaled by ``1 / sqrt(fan_in + fan_out)``."""
    return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in + fan_out)


def xavier_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> Array:
    """Glorot uniform: ``U(-1, 1) * sqrt(6 / (fan_in + fan_out))``, variance ``2 / (in + out)``."""
    return rng.uniform(-1.0, 1.0, (fan_in, fan_out)) * np.sqrt(6.0 / (fan_in + fan_out))


def he(fan_in: int, fan_out: int, rng: np.random.Generator) -> Array:
    """He normal: ``N(0, 1) * sqrt(2 / fan_in)``, keeps ReLU activations' variance constant."""
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)


INITIALIZERS: dict[str, Initializer] = {
    "normal": normal,
    "uniform": uniform,
    "xavier_like": xavier_like,
    "xavier_uniform": xavier_uniform,
    "he": he,
}


def get_initializer(name_or_fn: str | Initializer) -> Initializer:
    """Look a scheme up by name, or pass a callable ``(fan_in, fan_out, rng) -> W`` through."""
    if callable(name_or_fn):
        return name_or_fn
    try:
        return INITIALIZERS[name_or_fn]
    except KeyError:
        known = ", ".join(sorted(INITIALIZERS))
        raise ValueError(f"unknown initialisation {name_or_fn!r}; known: {known}") from None


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Accept a Generator, a seed, or None (fresh entropy) wherever randomness is needed."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
