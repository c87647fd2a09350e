"""The tutorial "Python Tutorial: Learning Setup": the [3, 4, 4, 2] network, reproduced correctly.

The tutorial teaches, on one small problem, how the choices around gradient descent change
training.  This module redoes each of its examples with the shared building blocks of
:mod:`reference`, keeping the tutorial's arithmetic wherever it is right and saying so wherever
it is not:

================  ==========================================================================
tutorial          here
================  ==========================================================================
learning setup    :func:`make_data` (two Gaussian classes, one-hot labels),
                  :func:`initialize` (normal, uniform, Xavier-like, Xavier, and the ReLU scheme
                  of Example 2), :func:`expected_weight_std`
Example 1         :func:`train_sigmoid` and :func:`compare_batch_sizes`: BGD, mini-batch, SGD
Example 2         :func:`train_relu_softmax`: ReLU hidden layers, softmax output
Example 3         :func:`train_adagrad`: AdaGrad on the weights, plain steps on the biases
(optimizers)      :func:`train_with_optimizer`: SGD, momentum, AdaGrad, Adam
(shared)          :func:`predict`, :func:`batch_gradients` (the tutorial's ``dEdW``, ``dEdb``),
                  :class:`TrainingRun` (what every example returns)
Example 4         the blanks filled: :func:`initialize_normal`, :func:`sigmoid`,
                  :func:`dsigmoid`, :func:`relu`, :func:`drelu`, :func:`softmax`,
                  :func:`forwardprop`, :func:`Loss`, :func:`error`, :func:`backprop` (with
                  :func:`gradients`, the gradient it applies), and :func:`train_modular`
================  ==========================================================================

Conventions kept from the tutorial, because its numbers depend on them:

* The error reported during training is ``E = 0.5 * sum((Yhat - Y)^2)`` over the whole data set,
  even for the softmax network of Example 2 (whose gradient is the cross-entropy's, see
  :func:`batch_gradients`).
* **Every update divides by the total number of samples** ``m = 40``, not by the batch size:
  ``W -= alpha / m * dEdW`` with ``dEdW`` summed over the batch.  For batch gradient descent this
  is the mean gradient; for a mini-batch of ``b`` samples it is ``b / m`` times the batch's mean
  gradient, i.e. an effective learning rate of ``alpha * b / m``.  One *epoch* therefore moves the
  weights by about the same amount whatever the batch size, which is what makes the tutorial's
  BGD / mini-batch / SGD comparison a comparison of *noise and update count*, not of step size.
* The error and accuracy are recorded after **every update** (the tutorial prints "batch
  number"), and the stopping rule ``while acc[-1] < 100`` is checked once per epoch, after the
  epoch's last update.  The tutorial seeds its list with ``acc = [0]`` to enter the loop; the
  curves here hold real measurements only, so the tutorial's final "batch number" is
  ``updates + 1``.  Accuracy is a fraction in ``[0, 1]`` (the tutorial prints percent).

What is deliberately *not* copied:

* ``np.random`` global state: every draw comes from an explicit, seeded
  :class:`numpy.random.Generator`, so a seed fixes the data, the initial weights and the
  shuffles, and two runs with the same seed are identical.
* ``1 / (1 + np.exp(-Z))`` overflows (with a warning) for ``Z < -709``; the sigmoid of
  :mod:`reference.activations` never does.
* The tutorial's softmax subtracts the maximum of the whole *batch*; here every row is shifted
  by its own maximum (see :func:`softmax`).
* The skeleton of ``backprop`` in Example 4 has bugs, listed in :func:`backprop`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from reference import activations as act
from reference import init as winit
from reference import losses
from reference.network import SOFTMAX, backward, forward
from reference.optimizers import AdaGrad, Optimizer, SGD, make_optimizer
from reference.training import accuracy

Array = np.ndarray
Seed = np.random.Generator | int

# --- the learning setup -------------------------------------------------------------------------

LAYER_WIDTHS: tuple[int, ...] = (3, 4, 4, 2)
"""Input, hidden 1, hidden 2, output: ``width0 .. width3`` in the tutorial."""

CLASS_MEANS: tuple[tuple[float, ...], ...] = ((2.0, 2.0, 2.0), (4.0, 4.0, 4.0))
"""Each class is a unit-variance Gaussian around one of these points."""

SAMPLES_PER_CLASS = 20

DATA_SEED = 8
"""Default seed of :func:`make_data`, chosen because the 40 points it draws are linearly separable
(with a comfortable margin), so every method can reach 100% accuracy.  Not every seed does: the
draws of seeds 4, 6, 12 and 13, for instance, have no separating plane."""

TRAIN_SEED = 0
"""Default seed of the training functions: it draws the initial weights, then the shuffles."""

MAX_EPOCHS = 5_000
"""Cap on ``while acc[-1] < 100``: the tutorial's loop would spin forever on a stuck run."""

BATCH_SIZES: dict[str, int | None] = {"bgd": None, "minibatch": 5, "sgd": 1}
"""Example 1's three methods; ``None`` means the whole data set (``b = m``)."""


def make_data(rng: Seed = DATA_SEED, n_per_class: int = SAMPLES_PER_CLASS) -> tuple[Array, Array]:
    """The tutorial's two classes: ``X`` of shape ``(40, 3)``, one-hot ``Y`` of shape ``(40, 2)``.

    Class 1 (``randn + [2, 2, 2]``, label ``[1, 0]``) fills the first rows, class 2
    (``randn + [4, 4, 4]``, label ``[0, 1]``) the last ones, drawn in that order.  (The
    tutorial's comment says ``#40x2``; the inputs have 3 features, so ``X`` is 40x3.)
    The means are ``2 * sqrt(3)`` apart, so a few points of a random draw may fall on the
    other class's side; the default seed gives a linearly separable draw, so that "train until
    100% accuracy" is a reachable goal.
    """
    rng = winit.as_generator(rng)
    n_features = len(CLASS_MEANS[0])
    class1 = rng.standard_normal((n_per_class, n_features)) + np.array(CLASS_MEANS[0])
    class2 = rng.standard_normal((n_per_class, n_features)) + np.array(CLASS_MEANS[1])
    X = np.vstack((class1, class2))
    Y = np.vstack((np.tile([1.0, 0.0], (n_per_class, 1)), np.tile([0.0, 1.0], (n_per_class, 1))))
    return X, Y


def _he_uniform(fan_in: int, fan_out: int, rng: np.random.Generator) -> Array:
    """Example 2's ``W0Xu * np.sqrt(6 / width0)``: U(-1, 1) scaled for a ReLU layer.

    Variance ``(1/3) * 6 / fan_in = 2 / fan_in``: He's ReLU variance with a uniform draw
    (:func:`reference.init.he` is the normal version).  The factor 2 makes up for ReLU zeroing
    about half of its inputs, so the forward signal keeps its variance from layer to layer.
    """
    return winit.uniform(fan_in, fan_out, rng) * np.sqrt(6.0 / fan_in)


@dataclass(frozen=True)
class InitScheme:
    """One of the tutorial's initialisations: how ``W`` is drawn, and the biases' scale."""

    name: str
    weights: winit.Initializer
    bias_std: float
    """Biases are ``randn(1, fan_out) * bias_std`` (the tutorial's ``b0nn``, times ``sqrt(2)``
    after the Xavier block)."""
    weight_std: Callable[[int, int], float]
    """The standard deviation of the weight distribution, from ``(fan_in, fan_out)``."""


INIT_SCHEMES: dict[str, InitScheme] = {
    s.name: s for s in (
        InitScheme("normal", winit.normal, 1.0, lambda i, o: 1.0),
        InitScheme("uniform", winit.uniform, 1.0, lambda i, o: 1.0 / np.sqrt(3.0)),
        InitScheme("xavier_like", winit.xavier_like, 1.0, lambda i, o: 1.0 / np.sqrt(i + o)),
        InitScheme("xavier", winit.xavier_uniform, np.sqrt(2.0),
                   lambda i, o: np.sqrt(2.0 / (i + o))),
        InitScheme("he_uniform", _he_uniform, np.sqrt(2.0), lambda i, o: np.sqrt(2.0 / i)),
    )
}
"""``normal`` (``W0nn``), ``uniform`` (``W0Xu``), ``xavier_like`` (``W0nn / sqrt(in + out)``),
``xavier`` (``W0Xu * sqrt(6 / (in + out))``, biases ``* sqrt(2)``), ``he_uniform`` (Example 2:
``W0Xu * sqrt(6 / in)``; it keeps the ``sqrt(2)`` biases of the "previous setup")."""


def expected_weight_std(scheme: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation a scheme's weights have by construction (for checking a draw)."""
    return float(INIT_SCHEMES[scheme].weight_std(fan_in, fan_out))


def initialize(
    scheme: str = "xavier",
    widths: Sequence[int] = LAYER_WIDTHS,
    *,
    rng: Seed = TRAIN_SEED,
) -> tuple[list[Array], list[Array]]:
    """A network drawn by ``scheme``: ``Ws[l]`` is ``(widths[l], widths[l+1])``, ``bs[l]`` a row.

    Draw order is fixed (every weight matrix, then every bias row) so a seed names one network.
    Lists rather than the tutorial's ``W0, W1, W2`` variables: the training loops and the
    optimizers of :mod:`reference.optimizers` work on any depth.
    """
    try:
        s = INIT_SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unknown scheme {scheme!r}; known: {', '.join(INIT_SCHEMES)}") from None
    rng = winit.as_generator(rng)
    pairs = list(zip(widths[:-1], widths[1:]))
    Ws = [s.weights(fan_in, fan_out, rng) for fan_in, fan_out in pairs]
    bs = [rng.standard_normal((1, fan_out)) * s.bias_std for _, fan_out in pairs]
    return Ws, bs


# --- Examples 1-3 and the optimizers: one training loop -----------------------------------------

@dataclass(frozen=True, eq=False)
class TrainingRun:
    """What one "train until 100% accuracy" run did.

    ``eq=False``: the fields hold arrays, so compare runs field by field with
    :func:`numpy.array_equal` rather than with ``==``.
    """

    method: str
    batch_size: int
    alpha: float
    converged: bool
    """Whether the accuracy was 100% at the end of an epoch before the epoch cap."""
    epochs: int
    updates: int
    """Parameter updates made (batches processed): the tutorial's "batch number" minus one."""
    error_curve: Array
    """``E = 0.5 * sum((Yhat - Y)^2)`` on the whole data set after every update."""
    accuracy_curve: Array
    """Fraction of the data classified correctly after every update."""
    weights: list[Array]
    biases: list[Array]

    @property
    def final_accuracy(self) -> float:
        return float(self.accuracy_curve[-1]) if len(self.accuracy_curve) else float("nan")


def predict(X: Array, Ws: list[Array], bs: list[Array], *, hidden: str = "sigmoid",
            output: str = "sigmoid") -> Array:
    """The network's output for ``X`` (``output="softmax"`` for Example 2's class probabilities)."""
    y, _ = forward(Ws, X, hidden, output, bs)
    return y


def forward_sigmoid(X: Array, W0: Array, b0: Array, W1: Array, b1: Array, W2: Array,  # noqa: N803
                    b2: Array) -> Array:
    """Examples 1 and 3's ``Yhat`` from the notebook's own variables ``W0 .. b2``."""
    return predict(X, [W0, W1, W2], [b0, b1, b2])


def forward_relu_softmax(X: Array, W0: Array, b0: Array, W1: Array, b1: Array,  # noqa: N803
                         W2: Array, b2: Array) -> Array:
    """Example 2's ``Yhat``: ReLU hidden layers, softmax output."""
    return predict(X, [W0, W1, W2], [b0, b1, b2], hidden="relu", output=SOFTMAX)


def batch_gradients(
    Xb: Array, Yb: Array, Ws: list[Array], bs: list[Array], *,
    hidden: str = "sigmoid", output: str = "sigmoid",
) -> tuple[list[Array], list[Array]]:
    """The tutorial's ``dEdW``/``dEdb``: gradients **summed** over the batch (not averaged).

    The tutorial's output delta is ``d * g3`` with ``d = Yhat - Y``:

    * sigmoid output, ``g3 = a3 (1 - a3)``: the gradient of ``0.5 * sum((Yhat - Y)^2)``, i.e.
      :data:`reference.losses.HALF_SSE` through :func:`reference.network.backward`;
    * softmax output, ``g3 = 1``: not the gradient of the E it prints, but of the *summed*
      categorical cross-entropy ``-sum(Y log Yhat)`` (softmax + cross-entropy collapse to
      ``Yhat - Y``).  :data:`reference.losses.CCE` is the mean over the batch, so its gradient
      is multiplied back by the batch size.

    The ``1 / m`` of the tutorial is applied by the caller, in the learning rate.
    """
    _, cache = forward(Ws, Xb, hidden, output, bs)
    if output == SOFTMAX:
        gw, gb = backward(Ws, cache, Yb, losses.CCE, hidden, SOFTMAX)
        n = len(Xb)
        return [g * n for g in gw], [g * n for g in gb]
    return backward(Ws, cache, Yb, losses.HALF_SSE, hidden, output)


def _train_until_accurate(
    method: str,
    X: Array,
    Y: Array,
    Ws: list[Array],
    bs: list[Array],
    *,
    alpha: float,
    batch_size: int | None,
    hidden: str,
    output: str,
    weight_optimizer: Optimizer,
    bias_optimizer: Optimizer,
    rng: np.random.Generator,
    max_epochs: int,
) -> TrainingRun:
    """The tutorial's ``while acc[-1] < 100`` loop, shared by every example.

    Each epoch shuffles the data (a fresh permutation of the original order: the same
    distribution as the tutorial's repeated in-place shuffles), walks it in batches of ``b``
    and after every update records E and the accuracy on all the data.  A last batch smaller
    than ``b`` is used as is (the tutorial's ``reshape(b, ...)`` would crash; with m = 40 and
    b in {1, 5, 10, 40} it never happens).
    """
    m = len(X)
    b = m if batch_size is None else int(batch_size)
    lr = alpha / m  # the tutorial's alpha/m, total m even for a mini-batch (see module doc)
    errors: list[float] = []
    accs: list[float] = []
    epochs, converged = 0, False
    while epochs < max_epochs:
        epochs += 1
        order = rng.permutation(m)
        for lo in range(0, m, b):
            idx = order[lo:lo + b]
            dWs, dbs = batch_gradients(X[idx], Y[idx], Ws, bs, hidden=hidden, output=output)
            weight_optimizer.step(Ws, dWs, lr)
            bias_optimizer.step(bs, dbs, lr)
            Yhat = predict(X, Ws, bs, hidden=hidden, output=output)
            errors.append(losses.half_sum_squared_error(Yhat, Y))
            accs.append(accuracy(Yhat, Y))
        if accs[-1] == 1.0:
            converged = True
            break
    return TrainingRun(method, b, alpha, converged, epochs, len(accs), np.array(errors),
                       np.array(accs), Ws, bs)


def _data(data: tuple[Array, Array] | None) -> tuple[Array, Array]:
    X, Y = make_data() if data is None else data
    return np.asarray(X, dtype=float), np.asarray(Y, dtype=float)


def train_sigmoid(
    batch_size: int | None = 5,
    *,
    alpha: float = 1.0,
    init: str = "xavier",
    data: tuple[Array, Array] | None = None,
    rng: Seed = TRAIN_SEED,
    max_epochs: int = MAX_EPOCHS,
) -> TrainingRun:
    """Example 1: sigmoid everywhere, E = half sum of squares, plain steps ``alpha/m * dEdW``.

    ``batch_size=None`` (or 40) is BGD, 5 the tutorial's mini-batch, 1 SGD.  ``rng`` draws the
    initial weights first, then the shuffles: the same seed starts every method from the same
    network, so a comparison measures the method, not the luck of the draw.

    "100% accuracy" is a weak goal for this network: from the default seeds BGD stops with every
    output within 0.06 of 0.5 (E only falls from 10.1 to 9.3) and one point's two outputs
    differ by 6e-5, so the stopping epoch is sensitive to any change in the arithmetic.
    """
    X, Y = _data(data)
    rng = winit.as_generator(rng)
    Ws, bs = initialize(init, rng=rng)
    b = len(X) if batch_size is None else batch_size
    method = {len(X): "bgd", 1: "sgd"}.get(b, "minibatch")
    return _train_until_accurate(method, X, Y, Ws, bs, alpha=alpha, batch_size=b,
                                 hidden="sigmoid", output="sigmoid", weight_optimizer=SGD(),
                                 bias_optimizer=SGD(), rng=rng, max_epochs=max_epochs)


def compare_batch_sizes(
    *, alpha: float = 1.0, data: tuple[Array, Array] | None = None, rng: int = TRAIN_SEED,
    max_epochs: int = MAX_EPOCHS,
) -> dict[str, TrainingRun]:
    """Example 1 in one call: ``{"bgd": ..., "minibatch": ..., "sgd": ...}`` from the same seed.

    ``rng`` is a seed, not a Generator: each method gets its own generator from it, so all three
    start from the same initial network (a shared Generator would give each a different one).
    """
    return {name: train_sigmoid(b, alpha=alpha, data=data, rng=rng, max_epochs=max_epochs)
            for name, b in BATCH_SIZES.items()}


def train_relu_softmax(
    batch_size: int | None = 10,
    *,
    alpha: float = 0.5,
    init: str = "he_uniform",
    data: tuple[Array, Array] | None = None,
    rng: Seed = TRAIN_SEED,
    max_epochs: int = MAX_EPOCHS,
) -> TrainingRun:
    """Example 2: ReLU hidden layers, softmax output, ``W0Xu * sqrt(6 / width_in)``, alpha .5, b 10.

    The softmax is :func:`reference.activations.softmax`, shifted row by row.  The tutorial's
    ``np.exp(Z3 - np.max(Z3))`` shifts by the maximum of the whole batch, which is enough against
    overflow but not against underflow: one row with a large logit pushes every other row's
    exponentials to 0 and those rows become 0/0 = nan.  The row-wise shift gives the same
    probabilities whenever the batch-wise one works and finite ones always.
    """
    X, Y = _data(data)
    rng = winit.as_generator(rng)
    Ws, bs = initialize(init, rng=rng)
    return _train_until_accurate("relu_softmax", X, Y, Ws, bs, alpha=alpha, batch_size=batch_size,
                                 hidden="relu", output=SOFTMAX, weight_optimizer=SGD(),
                                 bias_optimizer=SGD(), rng=rng, max_epochs=max_epochs)


ADAGRAD_STAB = 1e-7
"""The tutorial's ``stab``: keeps ``alpha / (stab + sqrt(r))`` finite while ``r`` is still 0."""


def train_adagrad(
    batch_size: int | None = 5,
    *,
    alpha: float = 1.0,
    init: str = "xavier",
    data: tuple[Array, Array] | None = None,
    rng: Seed = TRAIN_SEED,
    max_epochs: int = MAX_EPOCHS,
) -> TrainingRun:
    """Example 3: AdaGrad on the weights (``r += g^2``; ``W -= alpha/(stab + sqrt(r)) * g/m``).

    As in the tutorial only the weights adapt; the biases take Example 1's plain step
    ``alpha/m * dEdb``.  The tutorial elides everything but the update ("Previous setup ...");
    its code is copied from Example 1 (same ``axis=0`` bias sums), so this is Example 1's sigmoid
    network with Example 1's alpha and batch size.  :class:`reference.optimizers.AdaGrad` with
    ``lr = alpha/m`` is exactly that update.
    """
    X, Y = _data(data)
    rng = winit.as_generator(rng)
    Ws, bs = initialize(init, rng=rng)
    return _train_until_accurate("adagrad", X, Y, Ws, bs, alpha=alpha, batch_size=batch_size,
                                 hidden="sigmoid", output="sigmoid",
                                 weight_optimizer=AdaGrad(eps=ADAGRAD_STAB),
                                 bias_optimizer=SGD(), rng=rng, max_epochs=max_epochs)


OPTIMIZER_ALPHAS: dict[str, float] = {"sgd": 1.0, "momentum": 1.0, "adagrad": 1.0, "adam": 1.0}
"""Default ``alpha`` per optimizer (each step uses ``lr = alpha / m`` on summed gradients)."""


def train_with_optimizer(
    name: str,
    *,
    alpha: float | None = None,
    batch_size: int | None = 5,
    init: str = "xavier",
    data: tuple[Array, Array] | None = None,
    rng: Seed = TRAIN_SEED,
    max_epochs: int = MAX_EPOCHS,
) -> TrainingRun:
    """Example 1's sigmoid network driven by an optimizer of :mod:`reference.optimizers`.

    ``name`` is ``"sgd"``, ``"momentum"``, ``"adagrad"`` or ``"adam"``; unlike Example 3 the
    optimizer also updates the biases (one optimizer state per array).  The gradients and the
    ``lr = alpha / m`` scaling are Example 1's, so ``"sgd"`` reproduces :func:`train_sigmoid`.
    """
    X, Y = _data(data)
    rng = winit.as_generator(rng)
    Ws, bs = initialize(init, rng=rng)
    a = OPTIMIZER_ALPHAS[name] if alpha is None else alpha
    return _train_until_accurate(name, X, Y, Ws, bs, alpha=a, batch_size=batch_size,
                                 hidden="sigmoid", output="sigmoid",
                                 weight_optimizer=make_optimizer(name),
                                 bias_optimizer=make_optimizer(name), rng=rng,
                                 max_epochs=max_epochs)


# --- Example 4: the modular exercise, blanks filled ---------------------------------------------
#
# The names and signatures are the tutorial's (hence ``Loss``, ``Input``, ``Ws``...).  Weights and
# biases live in dicts keyed by layer 0 .. L-1; ``layerout`` / ``activations`` hold the outputs
# of the hidden layers keyed 1 .. L-1 (the input X would be key 0, but forwardprop removes it).

def initialize_normal(layer_width: Sequence[int], *,
                      rng: Seed = TRAIN_SEED) -> tuple[dict[int, Array], dict[int, Array]]:
    """Blanks: ``Ws[l] = randn(layer_width[l], layer_width[l+1])``, ``bs[l] = randn(1, ...[l+1])``.

    A layer maps ``layer_width[l]`` inputs to ``layer_width[l+1]`` outputs, and a batch is
    multiplied from the left (``X @ W``), so ``W`` is (fan_in, fan_out) and the bias a row.
    ``rng`` replaces the tutorial's global ``np.random``; layer by layer, weight then bias.
    """
    rng = winit.as_generator(rng)
    Ws: dict[int, Array] = {}
    bs: dict[int, Array] = {}
    for l in range(len(layer_width) - 1):
        Ws[l] = winit.normal(layer_width[l], layer_width[l + 1], rng)
        bs[l] = rng.standard_normal((1, layer_width[l + 1]))
    return Ws, bs


def sigmoid(Input: Array, Ws: Array, bs: Array) -> Array:  # noqa: N803 -- the tutorial's names
    """A sigmoid layer.  ``1/(1+np.exp(-Z))`` warns on overflow for ``Z < -709``; this does not."""
    return act.sigmoid(np.dot(Input, Ws) + bs)


def dsigmoid(A: Array) -> Array:  # noqa: N803
    """Blank: ``A * (1 - A)``: the derivative through the layer's *output*, which is what
    backprop has stored (passing ``Z`` here instead would be the classic bug)."""
    return act.sigmoid_derivative_from_output(A)


def relu(Input: Array, Ws: Array, bs: Array) -> Array:  # noqa: N803
    """Blank: ``np.maximum(0, Z)``."""
    return act.relu(np.dot(Input, Ws) + bs)


def drelu(A: Array) -> Array:  # noqa: N803
    """Blank: ``(A > 0) * 1.0``; taking the output is fine: ``A > 0`` exactly when ``Z > 0``."""
    return act.relu_derivative_from_output(A)


def softmax(Input: Array, Ws: Array, bs: Array) -> Array:  # noqa: N803
    """Blanks: ``expo = exp(Z - max of each row)``, ``expo / expo.sum(axis=1, keepdims=True)``.

    Shifting by the row's own maximum (not the batch's, as the tutorial's Example 2 does) keeps
    every row finite: softmax is unchanged by a shift per row, and each row then has an
    exponential equal to 1 in its denominator, so it can neither overflow nor become 0/0.
    """
    return act.softmax(np.dot(Input, Ws) + bs, axis=-1)


def forwardprop(X: Array, Ws: Mapping[int, Array],
                bs: Mapping[int, Array]) -> tuple[dict[int, Array], Array]:
    """Blanks: hidden layer ``l + 1`` takes ``layerout[l]``; the softmax the last hidden output.

    The skeleton writes ``pred = softmax(?, Ws[l+1], bs[l+1])`` after the loop, reusing the
    loop variable ``l``: that is a NameError for a network without hidden layer; here the last
    layer is named ``layers - 1`` explicitly.  Returns the hidden outputs ``{1: a1, ...}``
    (X removed, as in the skeleton) and the class probabilities.
    """
    layers = len(Ws)
    layerout: dict[int, Array] = {0: np.asarray(X, dtype=float)}
    for l in range(layers - 1):
        layerout[l + 1] = sigmoid(layerout[l], Ws[l], bs[l])
    pred = softmax(layerout[layers - 1], Ws[layers - 1], bs[layers - 1])
    layerout.pop(0)  # remove X from layers
    return layerout, pred


def Loss(y_pred: Array, y_true: Array) -> float:  # noqa: N802 -- the tutorial's name
    """Blank: ``y_pred * y_true``; with one-hot targets its row sum is the true class's probability.

    ``-sum(log p_true) / N`` is the mean categorical cross-entropy, the loss whose gradient
    through the softmax is ``(y_pred - y_true) / N`` (what :func:`backprop` applies).  The
    probability is floored at :data:`reference.losses.EPS` so a saturated wrong answer gives a
    large finite loss instead of ``log(0)``.
    """
    p_true = np.sum(np.asarray(y_pred) * np.asarray(y_true), axis=-1)
    return float(-np.sum(np.log(np.maximum(p_true, losses.EPS))) / np.shape(y_true)[0])


def error(y_pred: Array, y_true: Array) -> float:
    """Blank: the fraction of rows whose most probable class is not the true one (x100: percent)."""
    m = np.shape(y_true)[0]
    return float(np.sum(np.argmax(y_pred, axis=1) != np.argmax(y_true, axis=1)) / m)


def gradients(
    x_true: Array, y_true: Array, y_pred: Array, Ws: Mapping[int, Array],
    activations: Mapping[int, Array],
) -> tuple[dict[int, Array], dict[int, Array]]:
    """``dLoss/dWs[l]``, ``dLoss/dbs[l]`` at the forward pass that gave ``activations``, ``y_pred``.

    With ``A[0] = x_true`` and ``A[l]`` the hidden outputs, ``delta[l+1] = dLoss/dZ`` of layer
    ``l``::

        delta[L]   = (y_pred - y_true) / m          softmax + cross-entropy (the skeleton's g = 1)
        dW[l]      = A[l].T @ delta[l+1]
        db[l]      = sum of delta[l+1] over the batch
        delta[l]   = (delta[l+1] @ Ws[l].T) * dsigmoid(A[l])     for l >= 1 only

    The skeleton calls ``delta`` "dLda", but it is the gradient with respect to the
    pre-activation ``Z``, not the activation ``a``.
    """
    layers = len(Ws)
    A = {0: np.asarray(x_true, dtype=float), **activations}
    m = np.shape(y_true)[0]
    delta = (np.asarray(y_pred) - np.asarray(y_true)) / m
    dWs: dict[int, Array] = {}
    dbs: dict[int, Array] = {}
    for l in range(layers - 1, -1, -1):
        dWs[l] = np.dot(A[l].T, delta)
        dbs[l] = np.sum(delta, axis=0, keepdims=True)
        if l > 0:
            delta = np.dot(delta, Ws[l].T) * dsigmoid(A[l])
    return dWs, dbs


def backprop(
    x_true: Array, y_true: Array, y_pred: Array, Ws: dict[int, Array], bs: dict[int, Array],
    activations: Mapping[int, Array], alpha: float = 0.01,
) -> tuple[dict[int, Array], dict[int, Array]]:
    """One step ``Ws[l] -= alpha/m * dLdW``, in place; returns ``Ws, bs`` as the skeleton does.

    The blanks are ``dLdW = A[l].T @ dLda[l+1]``, ``dLdb = sum(dLda[l+1])``, the updates
    ``alpha/m * dLdW`` / ``alpha/m * dLdb``, ``g = dsigmoid(A[l])`` and
    ``dLda[l] = (dLda[l+1] @ Ws[l].T) * g`` -- but filled into the skeleton as written they give
    a step that is not the gradient's (the first point below), besides two smaller defects; all
    three are fixed here:

    * **Order.** The skeleton updates ``Ws[l]`` and *then* computes ``dLda[l]`` from it, so
      every layer below the output is pushed with the new weights of the layer above instead of
      the ones the forward pass used: not the gradient.  Here all gradients are computed first
      (:func:`gradients`), then applied.
    * **Aliasing.** ``A = activations; A[0] = x_true`` writes X into the caller's dict, and
      ``A = A.pop(0)`` rebinds ``A`` to X (``pop`` returns the removed value) instead of just
      removing the key.  The caller's dict is only restored if nothing fails in between.  Here
      ``activations`` is read, never written.
    * **The input layer.** The loop computes ``dLda[0] = ... * dsigmoid(X)``: a sigmoid
      derivative of the raw inputs, meaningless and unused.  Here the loop stops at layer 1.

    ``alpha/m`` with ``m`` the batch size: :func:`gradients` is the gradient of :func:`Loss`
    (the mean over the batch), and ``alpha`` times it is exactly the skeleton's
    ``alpha/m * (A.T @ (y_pred - y_true))``.
    """
    dWs, dbs = gradients(x_true, y_true, y_pred, Ws, activations)
    for l in dWs:
        Ws[l] -= alpha * dWs[l]
        bs[l] -= alpha * dbs[l]
    return Ws, bs


MODULAR_NETWORK: tuple[int, ...] = (3, 4, 5, 2)
"""The tutorial's training snippet says ``network = [3,4,5,2]`` (not the [3,4,4,2] of the setup)."""


@dataclass(frozen=True, eq=False)
class ModularRun:
    """What :func:`train_modular` did (``eq=False``: compare the arrays with ``np.array_equal``)."""

    network: tuple[int, ...]
    iterations: int
    alpha: float
    loss_curve: Array
    """``L[epoc]``: :func:`Loss` of the prediction made at the start of each iteration."""
    error_curve: Array
    """:func:`error` of that same prediction (fraction; the tutorial prints it x100)."""
    final_loss: float
    """Loss after the last update (the curves stop one update short of it)."""
    final_error: float
    weights: dict[int, Array]
    biases: dict[int, Array]


def train_modular(
    network: Sequence[int] = MODULAR_NETWORK,
    *,
    iterations: int = 1000,
    alpha: float = 0.2,
    data: tuple[Array, Array] | None = None,
    rng: Seed = TRAIN_SEED,
) -> ModularRun:
    """The tutorial's closing loop: full-batch steps of :func:`backprop` with alpha 0.2, 1000 times.

    Blanks: ``initialize_normal(network)``, ``forwardprop(X, W, b)``, ``Loss(pred, Y)``,
    ``backprop(X, Y, pred, W, b, act, 0.2)``, ``error(pred, Y)``.
    """
    X, Y = _data(data)
    W, b = initialize_normal(network, rng=rng)
    L = np.zeros(iterations)
    err = np.zeros(iterations)
    for epoc in range(iterations):
        act_, pred = forwardprop(X, W, b)
        L[epoc] = Loss(pred, Y)
        err[epoc] = error(pred, Y)
        W, b = backprop(X, Y, pred, W, b, act_, alpha)
    _, pred = forwardprop(X, W, b)
    return ModularRun(tuple(network), iterations, alpha, L, err, Loss(pred, Y), error(pred, Y),
                      W, b)


def train_network(X: Array, Y: Array, network: Sequence[int], itera: int = 1000,  # noqa: N803
                  alpha: float = 0.2) -> tuple[dict[int, Array], dict[int, Array], Array]:
    """The modular network's training as one function, the way the notebook's solution (and a
    student) writes it: ``W, b, L``, drawing the initial weights from ``np.random``.  The
    ``training`` check runs it from a dozen seeds to measure how often it fails."""
    W: dict[int, Array] = {}
    b: dict[int, Array] = {}
    for l in range(len(network) - 1):
        W[l] = np.random.randn(network[l], network[l + 1])
        b[l] = np.random.randn(1, network[l + 1])
    L = np.zeros(itera)
    for epoc in range(itera):
        act_, pred = forwardprop(X, W, b)
        L[epoc] = Loss(pred, Y)
        W, b = backprop(X, Y, pred, W, b, act_, alpha)
    return W, b, L


def notebook_data() -> tuple[Array, Array]:
    """The notebook's data as its first cell draws it (``np.random.seed(28)``, legacy draws):
    a separable pair of classes on which Examples 1-3 reach 100% in under 60 epochs."""
    state = np.random.get_state()
    try:
        np.random.seed(28)
        class1 = np.random.randn(20, 3) + np.array([2, 2, 2])
        class2 = np.random.randn(20, 3) + np.array([4, 4, 4])
    finally:
        np.random.set_state(state)
    X = np.vstack((class1, class2))
    Y = np.vstack((np.zeros((20, 1)) + [1, 0], np.zeros((20, 1)) + [0, 1]))
    return X, Y
