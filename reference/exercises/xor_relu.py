"""The tutorial "Neural Networks and the Simplest XOR Problem": a ReLU network fitted by hand.

The tutorial (adapted from the PyTorch "learning by examples" page) fits a 3-2-1 network with a
ReLU hidden layer, **no biases** and a **linear** output to four rows of "XOR-like" data::

    h = x.dot(w1); h_relu = np.maximum(h, 0); y_pred = h_relu.dot(w2)
    loss = np.square(y_pred - y).sum()

with plain gradient descent (learning rate 0.01, 500 steps) from ``np.random.seed(83832)``.  This
module reproduces its printed numbers to the last digit: loss 10.65792615907139 at step 0,
1.1201309285195922e-08 at step 499, and the final ``w1``, ``w2``, ``h_relu`` and prediction
(see the ``PRINTED_*`` constants).

How the reproduction works without the global random state: the tutorial calls
``np.random.seed(83832)`` and then ``randn(3, 2)``, ``randn(2, 1)``, ``randn(2, 1)`` (``w1``,
``w2`` and a ``bias`` it never uses).  A local :class:`numpy.random.RandomState` seeded with 83832
is the same legacy Mersenne-Twister stream, so drawing the same three arrays from it in the same
order gives the tutorial's weights bit for bit, and nobody else's random numbers are disturbed.
(A :class:`numpy.random.Generator` would give different numbers: it is a different algorithm.)
The unused ``bias`` is drawn too, because skipping a draw would shift nothing here (it comes
last) but would make the stream differ from the tutorial's for anyone who draws afterwards.

Things worth knowing about this data, which make it a weak XOR test:

* Rows 0 and 3 are identical (all zeros), and the third input is always 0: the network only
  ever sees ``(0, 0) -> 0``, ``(1, 0) -> 1``, ``(0, 1) -> 1``, i.e. OR on three points, never
  ``(1, 1) -> 0``.  The third row of ``w1`` (``x[:, 2]`` is always 0) never changes: its final
  value is its initial one.
* Without biases a zero input gives exactly 0 whatever the weights, so the two 0-labelled rows
  are fitted for free.
* The ReLU mask follows the tutorial: ``grad_h[h < 0] = 0`` keeps the gradient where ``h == 0``
  exactly.  That happens only on the all-zero rows, whose contribution ``x.T @ grad_h`` is 0
  anyway, so the choice at the kink does not matter for this data.

The loss is the plain sum of squares, so ``grad_y_pred = 2.0 * (y_pred - y)`` and the update is
the ordinary ``w -= learning_rate * grad`` (no sign trick, unlike the AND/OR notebook).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference.training import accuracy as label_accuracy

Array = np.ndarray

X = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
"""The tutorial's inputs ``x`` (it builds them as integers; as floats every product is the same)."""

Y = np.array([[0, 1, 1, 0]], dtype=float).T
"""The tutorial's targets ``y``."""

X.flags.writeable = False
Y.flags.writeable = False

D_in, H, D_out = 3, 2, 1  # noqa: N816 -- the tutorial's names
SEED = 83832
LEARNING_RATE = 0.01
STEPS = 500

PRINTED_LOSS_STEP_0 = 10.65792615907139
PRINTED_LOSS_STEP_1 = 9.10203339892777
PRINTED_LOSS_STEP_499 = 1.1201309285195922e-08
PRINTED_W1 = np.array([[-0.20401151, 1.01377406],
                       [-0.10186284, 1.01392285],
                       [1.07856887, 0.01873049]])
PRINTED_W2 = np.array([[0.49346731], [0.98634069]])
PRINTED_H_RELU = np.array([[0.0, 0.0], [0.0, 1.01377258], [0.0, 1.01392433], [0.0, 0.0]])
PRINTED_PRED = np.array([[0.0], [0.99992661], [1.00007337], [0.0]])
PRINTED_DECIMALS = 8
"""NumPy printed the arrays above with 8 decimals; compare them to within half a unit of that."""


@dataclass(frozen=True)
class ReluXorResult:
    """A finished run, with the tutorial's names.

    ``h_relu`` and ``y_pred`` come from the **last step's forward pass** (before its update),
    which is the ``h_relu`` the tutorial displays; ``pred`` is the tutorial's verification
    cell, ``np.maximum(x.dot(w1), 0).dot(w2)`` with the final weights.  ``loss_history[t]`` is
    the loss printed at step ``t``.  ``accuracy`` thresholds ``pred`` at 0.5.
    """

    w1: Array
    w2: Array
    bias: Array
    h_relu: Array
    y_pred: Array
    pred: Array
    loss_history: Array
    accuracy: float
    steps: int
    learning_rate: float

    @property
    def final_loss(self) -> float:
        """The loss printed at the last step."""
        return float(self.loss_history[-1])


def init_weights(rng: np.random.RandomState | int = SEED) -> tuple[Array, Array, Array]:
    """``(w1, w2, bias)`` drawn from the legacy stream in the tutorial's order.

    Pass a seed or a :class:`numpy.random.RandomState` (not a Generator: only the legacy
    stream reproduces the tutorial's numbers).
    """
    if isinstance(rng, np.random.Generator):
        raise TypeError("xor_relu reproduces np.random.seed(83832): pass a RandomState or a "
                        "seed, not a Generator (a different algorithm, other numbers)")
    state = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
    w1 = state.randn(D_in, H)
    w2 = state.randn(H, D_out)
    bias = state.randn(H, 1)  # drawn but unused, as in the tutorial
    return w1, w2, bias


def forward(x: Array, w1: Array, w2: Array) -> tuple[Array, Array, Array]:
    """``(h, h_relu, y_pred)``: backprop needs the pre-activation ``h`` for the ReLU mask."""
    h = x.dot(w1)
    h_relu = np.maximum(h, 0)
    y_pred = h_relu.dot(w2)
    return h, h_relu, y_pred


def loss(y_pred: Array, y: Array) -> float:
    """``np.square(y_pred - y).sum()``: sum of squares, no 0.5, no mean."""
    return float(np.square(y_pred - y).sum())


def gradients(
    x: Array, y: Array, h: Array, h_relu: Array, y_pred: Array, w2: Array
) -> tuple[Array, Array]:
    """The tutorial's ``(grad_w1, grad_w2)``: the true gradients of :func:`loss`.

    Takes the forward pass's ``h``, ``h_relu`` and ``y_pred`` (from :func:`forward`) and ``w2``
    before the update, as the tutorial's loop body does.
    """
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.T.dot(grad_y_pred)
    grad_h_relu = grad_y_pred.dot(w2.T)
    grad_h = grad_h_relu.copy()
    grad_h[h < 0] = 0
    grad_w1 = x.T.dot(grad_h)
    return grad_w1, grad_w2


def train(
    *,
    steps: int = STEPS,
    learning_rate: float = LEARNING_RATE,
    rng: np.random.RandomState | int = SEED,
) -> ReluXorResult:
    """The tutorial's loop; from the defaults it reproduces every printed number."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    w1, w2, bias = init_weights(rng)
    loss_history = np.empty(steps)
    for t in range(steps):
        h, h_relu, y_pred = forward(X, w1, w2)
        loss_history[t] = loss(y_pred, Y)
        grad_w1, grad_w2 = gradients(X, Y, h, h_relu, y_pred, w2)
        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2
    pred = np.maximum(X.dot(w1), 0).dot(w2)
    return ReluXorResult(
        w1=w1, w2=w2, bias=bias, h_relu=h_relu, y_pred=y_pred, pred=pred,
        loss_history=loss_history, accuracy=label_accuracy(pred, Y),
        steps=steps, learning_rate=learning_rate,
    )
