"""Reference solution of DLP "Lab1 - Backpropagation", with the lab's own names and signatures.

Everything a student's file defines has its counterpart here, with the same signature::

    generate_linear(n=100)            generate_XOR_easy()
    sigmoid(x, derivative=False)      mse(y_pred, y_data, derivative=False)
    derivative(f, *args)              show_result(x, y, pred_y)
    class NN:
        __init__(self, dim, activation=sigmoid, loss=mse)
        predict(X)  backprop(y_data)  update(lr)      attribute: weights (list, no bias)

and the lab's training script is :func:`train`::

    nn = NN(dim=[2, 3, 3, 1])
    X, Y = generate_XOR_easy()
    train(nn, X, Y, lr=0.8)        # per sample, until every sample's loss < 0.04

Two conventions of the template are kept on purpose and documented where they live:
``sigmoid(x, derivative=True)`` takes the sigmoid's *output* (the template applies it to the
stored layer outputs), and ``mse`` is the mean over all elements, with derivative
``2 (y_pred - y) / n``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from reference.deferred import np
from reference import activations as _act
from reference import losses as _loss
from reference.network import MLP
from reference.optimizers import Optimizer
from reference.training import LAB_LOSS_THRESHOLD, TrainingResult, train_per_sample

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    from reference.init import Initializer

    Array = np.ndarray

LAB_DIM = (2, 3, 3, 1)
LAB_LR = 0.8


# --- data -----------------------------------------------------------------------------------

def generate_linear(n: int = 100, *, rng: np.random.Generator | None = None) -> tuple[Array, Array]:
    """``n`` points uniform in the unit square, labelled 1 on or above the diagonal, else 0.

    Without ``rng`` it draws from NumPy's global state exactly like the lab's function
    (``np.random.uniform(0, 1, (n, 2))``); pass a Generator for reproducible data.
    Returns inputs of shape ``(n, 2)`` and integer labels of shape ``(n, 1)``.
    """
    pts = np.random.uniform(0, 1, (n, 2)) if rng is None else rng.uniform(0, 1, (n, 2))
    labels = (pts[:, 0] <= pts[:, 1]).astype(int)  # the lab: 0 if x > y else 1
    return pts, labels.reshape(n, 1)


def generate_XOR_easy() -> tuple[Array, Array]:  # noqa: N802 -- the lab's name
    """The lab's 21 XOR points: the diagonal (label 0) and the anti-diagonal (label 1).

    Built with the lab's own arithmetic (``0.1 * i`` and ``1 - 0.1 * i``) and in its order,
    so every coordinate is bit-for-bit the lab's; the centre (0.5, 0.5) appears once, as 0.
    The data has no randomness, hence no ``rng`` argument.
    """
    inputs, labels = [], []
    for i in range(11):
        inputs.append([0.1 * i, 0.1 * i])
        labels.append(0)
        if 0.1 * i == 0.5:
            continue
        inputs.append([0.1 * i, 1 - 0.1 * i])
        labels.append(1)
    return np.array(inputs), np.array(labels).reshape(21, 1)


# --- the lab's helper functions ---------------------------------------------------------------

def sigmoid(x: Array, derivative: bool = False) -> Array:
    """``1 / (1 + e^-x)``; with ``derivative=True``, ``x`` is a sigmoid *output* ``a``: ``a (1 - a)``.

    That is the template's convention: its backprop calls ``derivative(self.act, Z)`` on the
    layer outputs it stored during ``predict``.
    """
    if derivative:
        return _act.sigmoid_derivative_from_output(x)
    return _act.sigmoid(x)


def mse(y_pred: Array, y_data: Array, derivative: bool = False) -> Any:
    """Mean squared error over all elements; with ``derivative=True``, ``2 (y_pred - y) / n``."""
    if derivative:
        return _loss.mse_gradient(y_pred, y_data)
    return _loss.mse(y_pred, y_data)


def derivative(f: Callable[..., Any], *args: Any) -> Any:
    """``f``'s derivative at ``args``, for the lab-style functions above: ``f(*args, derivative=True)``."""
    return f(*args, derivative=True)


def _show_or_save(fig: Any, path: str | None) -> Any:
    """The lab shows its figures; the grader and the demo save them instead."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    if path is None:
        plt.show()
    else:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def show_result(x: Array, y: Array, pred_y: Array, *, path: str | None = None) -> Any:
    """Ground truth beside prediction, red for label 0 and blue for 1, as in the lab.

    Shows the figure (the lab's behaviour) or, with ``path``, saves it there and closes it.
    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    x = np.asarray(x, dtype=float)
    truth = np.asarray(y).reshape(-1)
    pred = np.asarray(pred_y).reshape(-1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, labels, title in ((axes[0], truth, "Ground truth"), (axes[1], pred, "Predict result")):
        ax.set_title(title, fontsize=18)
        zero = labels == 0
        ax.plot(x[zero, 0], x[zero, 1], "ro")
        ax.plot(x[~zero, 0], x[~zero, 1], "bo")
    return _show_or_save(fig, path)


def show_learning_curve(loss_curve: Sequence[float], *, path: str | None = None,
                        title: str = "Learning curve") -> Any:
    """Loss per epoch (the lab's second required figure); saved to ``path`` or shown."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(np.arange(1, len(loss_curve) + 1), loss_curve, color="tab:blue")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _show_or_save(fig, path)


# --- the network ------------------------------------------------------------------------------

def _lab_activation(activation: Any) -> _act.Activation | str:
    """Turn the lab's ``activation=`` argument into an :class:`Activation`.

    Accepts this module's :func:`sigmoid`, an Activation or its name, or any lab-style function
    ``f(x, derivative=False)`` whose derivative form takes the function's *output*, the template's
    convention.  A function whose derivative takes the pre-activation must be passed as an
    :class:`~reference.activations.Activation` instead: the two cannot be told apart by calling.
    """
    if activation is sigmoid:
        return _act.SIGMOID
    if isinstance(activation, (_act.Activation, str)):
        return _act.get_activation(activation)
    f = activation
    return _act.Activation(
        name=getattr(f, "__name__", "activation"),
        forward=lambda z: f(z),
        derivative_from_preactivation=lambda z: f(f(z), derivative=True),
        derivative_from_output=lambda a: f(a, derivative=True),
    )


def _lab_loss(loss: Any) -> _loss.Loss | str:
    """Turn the lab's ``loss=`` argument into a :class:`Loss` (see :func:`_lab_activation`)."""
    if loss is mse:
        return _loss.MSE
    if isinstance(loss, (_loss.Loss, str)):
        return _loss.get_loss(loss)
    f = loss
    return _loss.Loss(getattr(f, "__name__", "loss"), lambda p, y: f(p, y),
                      lambda p, y: f(p, y, derivative=True))


class NN(MLP):
    """Dense Layer: the lab's network, ``a_{l+1} = act(a_l @ W_l)``, no bias by default.

    ``NN(dim=[2, 3, 3, 1])`` draws each ``weights[l]`` (shape ``(dim[l], dim[l+1])``) from
    U(-1, 1).  Keyword-only extras, not in the template: ``bias=True`` adds a bias row per layer
    (``biases``), ``init`` picks another scheme from :mod:`reference.init`, ``rng`` fixes the
    draw, ``optimizer`` replaces plain SGD in :meth:`update`.

    ``predict`` accepts one sample ``(1, d)`` (or ``(d,)``) and a batch ``(N, d)``; ``backprop``
    differentiates the loss of the last ``predict`` call (for a batch: the mean over it).
    """

    def __init__(
        self,
        dim: Sequence[int],
        activation: Any = sigmoid,
        loss: Any = mse,
        *,
        bias: bool = False,
        init: Initializer | str = "uniform",
        rng: np.random.Generator | int | None = None,
        optimizer: Optimizer | str = "sgd",
    ) -> None:
        super().__init__(dim, hidden=_lab_activation(activation), loss=_lab_loss(loss),
                         bias=bias, init=init, rng=rng, optimizer=optimizer)
        self.act = activation
        self.loss = loss

    @property
    def layers(self) -> list[Array]:
        """The template's ``self.layers``: the input and every layer's output of the last predict."""
        return list(self.cache.outputs) if self.cache is not None else [None] * len(self.sizes)

    def predict(self, X: Array) -> Array:
        """Forward pass; returns the output probabilities, shape ``(N, dim[-1])``."""
        return self.forward(X)

    def backprop(self, y_data: Array) -> None:
        """Gradients of the loss of the last :meth:`predict` with respect to every weight."""
        self.backward(y_data)

    def update(self, lr: float) -> None:
        """``weights[i] -= lr * dW[i]`` (or the chosen optimizer's step)."""
        self.step(lr)


def train(
    nn: Any,
    X: Array,
    Y: Array,
    lr: float = LAB_LR,
    *,
    max_steps: int = 200_000,
    log_every: int | None = None,
    log: Callable[[str], None] = print,
) -> TrainingResult:
    """The lab's training script: per-sample updates until every sample's loss < 0.04."""
    return train_per_sample(nn, X, Y, lr, threshold=LAB_LOSS_THRESHOLD, max_steps=max_steps,
                            loss_fn=_loss.mse, log_every=log_every, log=log)
