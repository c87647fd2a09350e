"""How often the lab's own setting converges, and how many steps it takes: measured, not guessed.

The lab trains ``NN(dim=[2, 3, 3, 1])`` (sigmoid, no bias, weights from U(-1, 1)) one sample at a
time with lr 0.8 until every sample's loss is below 0.04.  On ``generate_XOR_easy()`` a correct
network often gets stuck in a local minimum, so a grader that trains a student's network once
and fails it on a timeout would fail correct students.  This module measures, for any dataset,
the fraction of random initialisations that converge within a step budget and the distribution
of the steps they need, so that the grader can size its budgets and restarts from facts.

Speed: one per-sample step of a single tiny network costs tens of microseconds of NumPy
overhead, so trying a thousand initialisations one after the other would take hours.
:func:`train_many` therefore trains K networks side by side as stacked ``(K, fan_in, fan_out)``
arrays, with the same arithmetic, in the same order, as :class:`reference.lab1.NN` trained by
:func:`reference.lab1.train` -- the tests check that both follow the same trajectory.

Initialisation ``seed`` means ``NN(dim, rng=seed)``: trial ``k`` of a measurement is the network
``NN(dim, rng=seeds[k])``, so every converging (or stuck) initialisation can be reproduced.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

from reference.deferred import np
from reference.activations import Activation, get_activation, sigmoid
from reference.lab1 import LAB_DIM, LAB_LR, NN
from reference.training import LAB_LOSS_THRESHOLD

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    Array = np.ndarray


@dataclass
class ManyResult:
    """Outcome of :func:`train_many`: one entry per initialisation seed."""

    seeds: list[int]
    converged: Array
    """Boolean, shape (K,)."""
    steps: Array
    """Steps taken until convergence (the budget for the others), shape (K,)."""
    max_steps: int
    n_samples: int
    seconds: float = 0.0


@dataclass
class ConvergenceStats:
    """Summary of a measurement, with a confidence interval on the convergence rate."""

    dataset: str
    trials: int
    converged: int
    max_steps: int
    rate: float
    rate_low: float
    rate_high: float
    """Wilson 95% interval for the rate."""
    steps_quantiles: dict[str, float] = field(default_factory=dict)
    """Quantiles (min, 10%, median, 90%, max) of the steps of the runs that converged."""
    seconds: float = 0.0

    def restarts_for(self, failure_probability: float) -> int:
        """Independent restarts needed so that a correct network fails less often than asked.

        Uses the pessimistic end of the interval: ``(1 - rate_low) ** n <= failure_probability``.
        """
        return restarts_needed(self.rate_low, failure_probability)


def restarts_needed(rate: float, failure_probability: float) -> int:
    """Smallest ``n`` with ``(1 - rate) ** n <= failure_probability`` (``rate`` per attempt)."""
    if rate >= 1.0:
        return 1
    if rate <= 0.0:
        raise ValueError("a convergence rate of 0 cannot be made reliable by restarts")
    return max(1, math.ceil(math.log(failure_probability) / math.log(1.0 - rate)))


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sound even at 0 or n successes)."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    # at 0 or n successes the exact bound is 0 or 1; the formula lands an ulp inside it
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def initial_weights(seeds: Sequence[int], dim: Sequence[int] = LAB_DIM) -> list[Array]:
    """Stacked initial weights, layer by layer ``(K, fan_in, fan_out)``, of ``NN(dim, rng=s)``."""
    nets = [NN(list(dim), rng=int(s)).weights for s in seeds]
    return [np.stack([w[layer] for w in nets]) for layer in range(len(dim) - 1)]


def _prime(act: Activation, z: Array) -> Array:
    return _sigmoid_prime_from_z(z) if act.name == "sigmoid" else act.derivative_from_preactivation(z)


def _sigmoid_prime_from_z(z: Array) -> Array:
    s = sigmoid(z)
    return s * (1.0 - s)


def train_many(
    X: Array,
    Y: Array,
    seeds: Sequence[int],
    *,
    dim: Sequence[int] = LAB_DIM,
    lr: float = LAB_LR,
    threshold: float = LAB_LOSS_THRESHOLD,
    max_steps: int = 100_000,
    progress: Callable[[int, int], None] | None = None,
    initial: Sequence[Array] | None = None,
    bias: bool = False,
    max_work: int | None = None,
    hidden: str = "sigmoid",
    output: str = "sigmoid",
) -> ManyResult:
    """Train ``NN(dim, rng=s)`` for every seed ``s`` with the lab's per-sample loop, side by side.

    Networks leave the stack as soon as they converge, so the cost falls as they do.
    ``progress(steps_done, still_training)`` is called after every pass over the data.
    ``initial`` (stacked weights, layer by layer ``(K, fan_in, fan_out)``) replaces the seeds'
    initialisations; ``seeds`` then only label the K networks.  ``bias=True`` trains
    ``NN(dim, bias=True, rng=s)`` instead: the same initial weights, biases starting at zero.
    ``max_work`` bounds the weight-updates spent (networks x steps x weights, counted, so the
    same on every machine): training stops after the pass that reaches it, and the result's
    ``max_steps`` is then the steps taken.  ``hidden`` / ``output``: the activations (the
    lab's sigmoid by default; a student's network with ReLU hidden layers is measured as one).
    """
    act_hidden, act_output = get_activation(hidden), get_activation(output)
    start = time.perf_counter()
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    n = len(X)
    seeds = [int(s) for s in seeds]
    weights = initial_weights(seeds, dim) if initial is None else \
        [np.array(w, dtype=float, copy=True) for w in initial]
    if len(weights[0]) != len(seeds):
        raise ValueError(f"{len(seeds)} seeds for {len(weights[0])} initial networks")
    biases = [np.zeros((len(seeds), 1, W.shape[2])) for W in weights] if bias else None
    active = np.arange(len(seeds))
    converged = np.zeros(len(seeds), dtype=bool)
    steps_taken = np.full(len(seeds), max_steps, dtype=np.int64)
    steps = 0
    n_layers = len(weights)
    per_network = sum(int(np.prod(W.shape[1:])) for W in weights)
    work = 0
    while steps < max_steps and active.size:
        if max_work is not None and work >= max_work:
            max_steps = steps
            break
        work += active.size * per_network * n
        worst = np.zeros(active.size)
        for i in range(n):
            x, y = X[i:i + 1], Y[i:i + 1]
            # forward: a_{l+1} = f(a_l @ W_l), for every network of the stack
            outputs = [np.broadcast_to(x, (active.size, 1, x.shape[1]))]
            pre = []
            for layer, W in enumerate(weights):
                z = outputs[-1] @ W
                if biases is not None:
                    z = z + biases[layer]
                pre.append(z)
                act = act_output if layer == n_layers - 1 else act_hidden
                outputs.append(sigmoid(z) if act.name == "sigmoid" else act.forward(z))
            p = outputs[-1]
            loss = np.mean((p - y) ** 2, axis=(1, 2))
            # backward, as reference.network.backward with the lab's mse
            delta = 2.0 * (p - y) / y.size * _prime(act_output, pre[-1])
            grads = [np.empty(0)] * n_layers
            bias_grads = [np.empty(0)] * n_layers
            for layer in range(n_layers - 1, -1, -1):
                grads[layer] = np.swapaxes(outputs[layer], 1, 2) @ delta
                bias_grads[layer] = delta  # summed over a batch of one sample
                if layer > 0:
                    delta = (delta @ np.swapaxes(weights[layer], 1, 2)) \
                        * _prime(act_hidden, pre[layer - 1])
            for W, g in zip(weights, grads):
                W -= lr * g
            if biases is not None:
                for b, g in zip(biases, bias_grads):
                    b -= lr * g
            worst = np.maximum(worst, loss)
        steps += n
        done = worst < threshold
        if done.any():
            finished = active[done]
            converged[finished] = True
            steps_taken[finished] = steps
            keep = ~done
            active = active[keep]
            weights = [W[keep] for W in weights]
            if biases is not None:
                biases = [b[keep] for b in biases]
        if progress is not None:
            progress(steps, int(active.size))
    steps_taken[~converged] = steps
    return ManyResult(seeds, converged, steps_taken, max_steps, n, time.perf_counter() - start)


def summarize(result: ManyResult, dataset: str) -> ConvergenceStats:
    """Rate with its Wilson interval and the quantiles of the steps of the converged runs."""
    k = int(result.converged.sum())
    trials = len(result.seeds)
    low, high = wilson_interval(k, trials)
    q: dict[str, float] = {}
    if k:
        s = result.steps[result.converged]
        q = {name: float(np.quantile(s, p)) for name, p in
             (("min", 0.0), ("p10", 0.1), ("median", 0.5), ("p90", 0.9), ("max", 1.0))}
    return ConvergenceStats(dataset, trials, k, result.max_steps, k / trials if trials else 0.0,
                            low, high, q, result.seconds)


def measure(
    dataset: str,
    trials: int = 200,
    *,
    max_steps: int = 100_000,
    first_seed: int = 0,
    data_seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> ConvergenceStats:
    """Convergence of the lab setting on ``"xor"`` (``generate_XOR_easy``) or ``"linear"``.

    ``"linear"`` uses ``generate_linear(rng=np.random.default_rng(data_seed))``; the
    initialisations are the seeds ``first_seed .. first_seed + trials - 1``.
    """
    X, Y = lab_dataset(dataset, data_seed)
    seeds = range(first_seed, first_seed + trials)
    return summarize(train_many(X, Y, seeds, max_steps=max_steps, progress=progress), dataset)


def lab_dataset(name: str, data_seed: int = 0) -> tuple[Array, Array]:
    """The lab's datasets by name: ``"xor"`` or ``"linear"`` (100 points from ``data_seed``)."""
    from reference.lab1 import generate_linear, generate_XOR_easy

    if name == "xor":
        return generate_XOR_easy()
    if name == "linear":
        return generate_linear(100, rng=np.random.default_rng(data_seed))
    raise ValueError(f"unknown dataset {name!r}; use 'xor' or 'linear'")


def converging_seeds(
    dataset: str, count: int = 1, *, max_steps: int = 100_000, data_seed: int = 0,
    search: int = 64,
) -> list[tuple[int, int]]:
    """The first ``count`` initialisation seeds that converge, with the steps they need.

    Searches the seeds ``0 .. search - 1`` side by side; raises if fewer than ``count`` converge.
    """
    X, Y = lab_dataset(dataset, data_seed)
    result = train_many(X, Y, range(search), max_steps=max_steps)
    found = [(s, int(n)) for s, ok, n in zip(result.seeds, result.converged, result.steps) if ok]
    if len(found) < count:
        raise RuntimeError(f"only {len(found)} of {search} initialisations converged on "
                           f"{dataset} within {max_steps} steps; search more seeds")
    return found[:count]


@dataclass
class RobustInit:
    """An initialisation with which the reference converges, even when nudged."""

    seed: int
    steps: int
    """Steps the unperturbed reference needs."""
    worst_steps: int
    """The most steps any of its nudged copies needed."""


def robust_init(
    X: Array, Y: Array, seeds: Sequence[int], *, copies: int = 4, nudge: float = 1e-9,
    max_steps: int = 60_000, rng_seed: int = 0, lr: float = LAB_LR, bias: bool = False,
) -> RobustInit | None:
    """Among ``seeds``, an initialisation that converges however its last bits fall.

    A student's correct network computes the same function with other rounding (another order
    of sums, ``1 / (1 + exp(-x))`` instead of a stable sigmoid); over tens of thousands of
    per-sample steps such differences can grow until a run that converged for the reference
    gets stuck.  So each candidate is trained with ``copies - 1`` nudged copies (relative noise
    ``nudge``), and only one where every copy converges is chosen: the fewest worst-case
    steps wins.  None if no candidate qualifies.
    """
    found = robust_inits(X, Y, seeds, copies=copies, nudge=nudge, max_steps=max_steps,
                         rng_seed=rng_seed, lr=lr, bias=bias)
    return min(found, key=lambda r: (r.worst_steps, r.seed)) if found else None


def robust_inits(
    X: Array, Y: Array, seeds: Sequence[int], *, copies: int = 4, nudge: float = 1e-9,
    max_steps: int = 60_000, rng_seed: int = 0, lr: float = LAB_LR, bias: bool = False,
) -> list[RobustInit]:
    """Every initialisation among ``seeds`` that passes :func:`robust_init`'s test."""
    seeds = [int(s) for s in seeds]
    base = initial_weights(seeds)
    noise = np.random.default_rng(rng_seed)
    stacked = []
    for layer in base:
        copies_of_layer = [layer]
        for _ in range(copies - 1):
            copies_of_layer.append(layer * (1.0 + nudge * noise.standard_normal(layer.shape)))
        stacked.append(np.concatenate(copies_of_layer))
    labels = [s for _ in range(copies) for s in seeds]
    result = train_many(X, Y, labels, max_steps=max_steps, initial=stacked, lr=lr, bias=bias)
    converged = result.converged.reshape(copies, len(seeds))
    steps = result.steps.reshape(copies, len(seeds))
    return [RobustInit(seed, int(steps[0, j]), int(steps[:, j].max()))
            for j, seed in enumerate(seeds) if converged[:, j].all()]
