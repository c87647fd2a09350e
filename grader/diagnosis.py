"""Diagnose a student's backprop from the gradient its ``update(lr)`` applied.

Parent-side and pure NumPy: this module never runs student code.  The probes (another module)
set well-conditioned test weights in the student's network, call ``predict(X)``,
``backprop(y)`` and ``update(lr)``, read the applied gradient ``(W_before - W_after) / lr`` of
every parameter array, map the arrays onto the reference layout (``weights[l]`` of shape
``(fan_in, fan_out)``, optional ``biases[l]`` of shape ``(1, fan_out)``) and hand the plain
arrays to :func:`diagnose`.

What :func:`diagnose` does, in order (the measured facts behind each choice are in
``shared/NOTES.md``, "Gradient checking" and "Lab1 specifics"):

1. The reference gradient, from :func:`reference.network.forward` and
   :func:`~reference.network.backward` on the same weights and batch (the reference's MSE is
   the mean over all elements).
2. One positive scale ``c``, fitted by least squares on the **output layer's weights only** and
   applied to every array: it absorbs the harmless conventions (``2·mean``, ``mean``, ``2·sum``,
   ``sum``, the ``1/N`` of a batch).  Fitting it over all arrays would let one wrong layer pull it
   off.  The convention ``c`` corresponds to is named when it is one of the usual ones.
3. Per array: ``||g_s - c g_r|| / (||g_s|| + ||c g_r||)`` (the CS231n / NOTES metric: ~1e-10 and
   below for correct code, 0.05 to 1 for real bugs), the cosine, and the array's own least-squares
   scale relative to ``c``.  Per array, never over the whole vector: a first-layer bug can leave
   the whole-vector error at 2-5 % while ``weights[0]`` alone is off by 60 %.
4. If it fails: the first wrong array, walking from the output backwards (backprop's order), and
   the known bug whose gradient the measurement matches (:data:`BUGS`, below: each entry computes
   the buggy gradient and explains it, side by side, micrograd style).  A variant that gives the
   correct gradient for this network (ReLU's derivative from the output or from the input) is
   harmless and never named.
5. Corroboration without a threshold: the Taylor remainder test of Farrell et al. (2013),
   :func:`taylor_test`, along a seeded random direction inside each array; order ~2 for a
   correct gradient, ~1 for a wrong one (the smallest is ``taylor_order``).
6. Optional: linearity in the learning rate (two ``lr``), and hidden optimizer state (a second
   consecutive step compared with the gradient at the new weights).  These are *findings*
   (``findings``, ``notes``, the end of ``message``); they do not change ``ok``, which is about
   the gradient itself: the caller decides what they cost.

:func:`well_conditioned_weights` makes test weights for which these comparisons are sharp.

What the measurement should be, for the diagnosis to be sharp: a **batch** (the gradient check
uses ``batch_size`` XOR points) and not only one sample.  With one sample and one output, every output-layer bug (the
cross-entropy gradient, a wrong derivative at the output), an averaged bias and a missing
``1/N`` multiply every array by the same factor, which the shared scale absorbs: the gradient is
then right up to scale, and the diagnosis says so (or calls a negative factor a sign error).  A
single sample must not be the origin in a network without bias (``z = 0 @ W = 0``).  A learning
rate of order one, a power of two, reads the gradient exactly (NOTES: ~1e-16).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from reference.deferred import np
from reference.activations import Activation, get_activation
from reference.losses import Loss, get_loss
from reference.network import SOFTMAX, output_delta
from reference.network import backward as reference_backward
from reference.network import forward as reference_forward

__all__ = [
    "ADAPTIVE_TOL", "BUGS", "DEFAULT_TOL", "ArrayReport", "Bug", "GradientDiagnosis", "Net",
    "StepMeasurement", "TaylorResult", "Variant", "bug", "conventions", "diagnose",
    "name_convention", "taylor_test", "well_conditioned_weights",
]

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    Array = np.ndarray

DEFAULT_TOL = 1e-6
"""Per-array relative error below which an array passes (correct code: 1e-10 to 1e-16)."""

ADAPTIVE_TOL = 1e-3
"""Looser match for the Adam/AdaGrad variant: their ``eps`` perturbs ``g / |g|`` by ~eps/|g|."""

LINEARITY_TOL = 1e-8
"""Gradients read at two learning rates further apart than this: ``update`` is not ``lr * g``."""

STATE_FIT_TOL = 1e-6
"""Residual below which a second step is explained as ``g2 + beta * g1`` (momentum)."""

CONVENTION_RTOL = 1e-6
"""Relative distance within which a fitted scale is named as a convention."""

TAYLOR_STEPS = tuple(10.0 ** (-1 - k / 2) for k in range(7))
"""Step sizes of the Taylor remainder test, 1e-1 down to 1e-4 by half decades (the values of
``np.logspace(-1, -4, 7)``, computed without importing NumPy)."""


# --- results ------------------------------------------------------------------------------------

@dataclass
class ArrayReport:
    """How one parameter array's applied gradient compares with the reference.

    ``rel_error`` is ``||g_s - c g_r|| / (||g_s|| + ||c g_r||)`` with the shared positive scale
    ``|c|``; ``scale_ratio`` is the array's own least-squares scale divided by ``|c|`` (1 when it
    agrees with the output layer, -1 for a sign flip, N for a missing ``1/N`` in a batch of N);
    ``deviation`` is ``||g_s - c g_r|| / ||c g_r||``, the "off by" of the messages.
    """

    name: str
    shape: tuple[int, ...]
    layer: int
    rel_error: float
    cosine: float
    scale_ratio: float
    ok: bool
    deviation: float = 0.0
    moved: bool = True
    finite: bool = True
    stored_transposed: bool | None = None
    taylor_order: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "shape": list(self.shape), "layer": self.layer,
               "rel_error": _round(self.rel_error, 3), "cosine": _round(self.cosine, 6),
               "scale_ratio": _round(self.scale_ratio, 6), "ok": self.ok,
               "taylor_order": _round(self.taylor_order, 3)}
        if not self.moved:
            out["moved"] = False
        if not self.finite:
            out["finite"] = False
        if self.stored_transposed is not None:
            out["stored_transposed"] = self.stored_transposed
        return out


@dataclass
class GradientDiagnosis:
    """The verdict on one measured gradient, with everything a report needs.

    ``ok``: every array matches the reference up to one positive scale (``scale``), within
    ``tol``.  ``bug`` is the id of the matching entry of :data:`BUGS` (``bug_where`` says where),
    ``first_wrong`` the first wrong array from the output backwards, ``message`` one line for the
    student and ``hint`` what to look at.  ``findings`` lists ids of update-rule problems found
    beside the gradient (``"lr_not_linear"``, ``"optimizer_state"``, ``"gradient_accumulates"``):
    they are explained in ``notes`` and at the end of ``message`` but do not change ``ok``.
    """

    ok: bool
    scale: float
    convention: str | None
    arrays: list[ArrayReport]
    first_wrong: str | None
    bug: str | None
    message: str
    hint: str
    taylor_order: float | None
    notes: list[str] = field(default_factory=list)
    convention_ids: list[str] = field(default_factory=list)
    bug_where: str | None = None
    also_consistent_with: list[str] = field(default_factory=list)
    aggregate_rel_error: float = 0.0
    linearity_error: float | None = None
    optimizer_state: bool | None = None
    momentum: float | None = None
    findings: list[str] = field(default_factory=list)
    tol: float = DEFAULT_TOL

    @property
    def all_ok(self) -> bool:
        """The gradient is right *and* update() is plain gradient descent (no finding)."""
        return self.ok and not self.findings

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data for ``result.json``'s ``details``."""
        return {
            "ok": self.ok,
            "all_ok": self.all_ok,
            "scale": _round(self.scale, 6),
            "convention": self.convention,
            "convention_ids": list(self.convention_ids),
            "bug": self.bug,
            "bug_where": self.bug_where,
            "also_consistent_with": list(self.also_consistent_with),
            "first_wrong": self.first_wrong,
            "message": self.message,
            "hint": self.hint,
            "tol": self.tol,
            "aggregate_rel_error": _round(self.aggregate_rel_error, 3),
            "taylor_order": _round(self.taylor_order, 3),
            "linearity_error": _round(self.linearity_error, 3),
            "optimizer_state": self.optimizer_state,
            "momentum": _round(self.momentum, 4),
            "findings": list(self.findings),
            "layers": [a.to_dict() for a in self.arrays],
            "notes": list(self.notes),
        }


@dataclass
class StepMeasurement:
    """A second consecutive step: the weights after the first step and what the second applied.

    ``X`` and ``y`` default to the first step's batch.
    """

    weights: Sequence[Array]
    biases: Sequence[Array] | None
    measured_w: Sequence[Array | None]
    measured_b: Sequence[Array | None] | None = None
    X: Array | None = None
    y: Array | None = None


@dataclass(frozen=True)
class TaylorResult:
    """Remainders ``|L(w + h d) - L(w) - h <g, d>|`` and the fitted order (slope in log-log)."""

    order: float | None
    steps: tuple[float, ...]
    remainders: tuple[float, ...]


# --- the network under test, and a backprop with knobs for the bug variants ----------------------

@dataclass(frozen=True)
class Slot:
    """One parameter array: ``weights[l]`` or ``biases[l]``; ``index`` in the flat list."""

    name: str
    kind: str
    layer: int
    shape: tuple[int, ...]
    index: int


class Net:
    """The weights, the batch and the reference forward pass: what every variant works from.

    Gradients are handled as one flat list, weights first then biases (as
    :meth:`reference.network.MLP.parameters`).
    """

    def __init__(self, weights: Sequence[Array], biases: Sequence[Array] | None, X: Array,
                 y: Array, hidden: Activation | str = "sigmoid",
                 output: Activation | str | None = None, loss: Loss | str = "mse",
                 names: Sequence[str] | None = None) -> None:
        self.weights = [np.array(w, dtype=float) for w in weights]
        self.names = list(names) if names else None
        """The arrays as the student names them (a notebook's ``wh``, ``bout``), weights
        then biases; None: ``weights[l]``, ``biases[l]``."""
        self.biases = None if biases is None else [np.array(b, dtype=float).reshape(1, -1)
                                                   for b in biases]
        X = np.asarray(X, dtype=float)
        self.X = X.reshape(1, -1) if X.ndim == 1 else X
        self.hidden = get_activation(hidden)
        self.output: Activation | str = (self.hidden if output is None else
                                         output if output == SOFTMAX else get_activation(output))
        self.loss = get_loss(loss)
        self.prediction, self.cache = reference_forward(self.weights, self.X, self.hidden,
                                                        self.output, self.biases)
        self.y = np.asarray(y, dtype=float).reshape(self.prediction.shape)
        self._check_shapes()
        self.slots = self._slots()
        self._reference: list[Array] | None = None

    def _check_shapes(self) -> None:
        if not self.weights:
            raise ValueError("no weight matrices")
        for l, W in enumerate(self.weights):
            if W.ndim != 2:
                raise ValueError(f"weights[{l}] must be 2-d, got shape {W.shape}")
            if l and W.shape[0] != self.weights[l - 1].shape[1]:
                raise ValueError(f"weights[{l}] of shape {W.shape} does not follow "
                                 f"weights[{l - 1}] of shape {self.weights[l - 1].shape}")
        if self.biases is not None and [b.shape[1] for b in self.biases] != [
                W.shape[1] for W in self.weights]:
            raise ValueError("biases do not match the weight matrices' widths")

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    @property
    def has_bias(self) -> bool:
        return self.biases is not None

    @property
    def batch(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_elements(self) -> int:
        return int(self.prediction.size)

    @property
    def n_out(self) -> int:
        return int(self.prediction.shape[1])

    @property
    def elementwise_output(self) -> bool:
        return self.output != SOFTMAX

    def params(self) -> list[Array]:
        return self.weights + (self.biases or [])

    def _slots(self) -> list[Slot]:
        slots = [Slot(f"weights[{l}]", "weights", l, W.shape, l)
                 for l, W in enumerate(self.weights)]
        if self.biases is not None:
            slots += [Slot(f"biases[{l}]", "biases", l, b.shape, self.n_layers + l)
                      for l, b in enumerate(self.biases)]
        if self.names and len(self.names) == len(slots):
            slots = [replace(s, name=n) for s, n in zip(slots, self.names)]
        return slots

    def fit_order(self) -> list[int]:
        """Array indices from the output backwards, weights before bias within a layer."""
        order = []
        for l in range(self.n_layers - 1, -1, -1):
            order.append(l)
            if self.has_bias:
                order.append(self.n_layers + l)
        return order

    def activation_of(self, layer: int) -> Activation | str:
        return self.output if layer == self.n_layers - 1 else self.hidden

    def flat(self, grad_w: Sequence[Array], grad_b: Sequence[Array]) -> list[Array]:
        return list(grad_w) + (list(grad_b) if self.has_bias else [])

    def reference(self) -> list[Array]:
        """The correct gradient, from the reference's own backward pass."""
        if self._reference is None:
            gw, gb = reference_backward(self.weights, self.cache, self.y, self.loss, self.hidden,
                                        self.output)
            self._reference = self.flat(gw, gb)
        return self._reference

    def backprop(
        self,
        *,
        deriv: Callable[[int, Array, Array], Array | None] | None = None,
        back: Callable[[int], Array | None] | None = None,
        dw_input: Callable[[int], Array | None] | None = None,
        bias_grad: Callable[[int, Array], Array | None] | None = None,
        loss: Loss | str | None = None,
        out_delta: Callable[[Array], Array] | None = None,
    ) -> list[Array]:
        """The lab's backprop with hooks; every hook returns None for "do the correct thing".

        ``deriv(l, z_l, a_l)``: the activation-derivative factor of layer ``l`` (0-based);
        ``back(l)``: the matrix that carries delta from layer ``l`` to ``l - 1`` (correct:
        ``weights[l].T``); ``dw_input(l)``: the array whose transpose multiplies ``delta_l`` in
        ``dW_l`` (correct: the layer's input); ``bias_grad(l, delta_l)``; ``loss``: another loss;
        ``out_delta(delta)``: what the output layer's delta becomes.  With no hooks it equals
        :func:`reference.network.backward`.
        """
        c = self.cache
        last = self.n_layers - 1
        loss_fn = self.loss if loss is None else get_loss(loss)
        d = deriv(last, c.preactivations[-1], c.outputs[-1]) if deriv else None
        if d is None:
            delta = output_delta(c, self.y, loss_fn, self.output)
        else:
            delta = loss_fn.gradient(c.outputs[-1], self.y) * d
        if out_delta is not None:
            delta = out_delta(delta)
        grad_w: list[Array] = [np.empty(0)] * self.n_layers
        grad_b: list[Array] = [np.empty(0)] * self.n_layers
        for l in range(last, -1, -1):
            a_in = dw_input(l) if dw_input else None
            grad_w[l] = (c.outputs[l] if a_in is None else a_in).T @ delta
            b = bias_grad(l, delta) if bias_grad else None
            grad_b[l] = np.sum(delta, axis=0, keepdims=True) if b is None else b
            if l > 0:
                W = back(l) if back else None
                W = self.weights[l].T if W is None else W
                z, a = c.preactivations[l - 1], c.outputs[l]
                f = deriv(l - 1, z, a) if deriv else None
                f = self.hidden.derivative_from_preactivation(z) if f is None else f
                delta = (delta @ W) * f
        return self.flat(grad_w, grad_b)

    # -- words --

    def array_label(self, slot: Slot) -> str:
        """``layer 3 (output, weights[2], 3x1)``, ``layer 1 (biases[0], 1x4)``."""
        head = f"layer {slot.layer + 1} ("
        if slot.layer == self.n_layers - 1:
            head += "output, "
        return head + f"{slot.name}, {_shape(slot.shape)})"

    def layer_label(self, layer: int) -> str:
        return self.array_label(self.slots[layer])

    def loss_value(self, params: Sequence[Array]) -> float:
        """The reference loss at other parameters (for the Taylor test)."""
        n = self.n_layers
        weights = list(params[:n])
        biases = list(params[n:]) if self.has_bias else None
        p, _ = reference_forward(weights, self.X, self.hidden, self.output, biases)
        return float(self.loss(p, self.y))


# --- the known bugs -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One way a bug can show up: where, and the buggy gradient (flat, like :meth:`Net.reference`).

    ``act`` names the activation involved (for the words), ``params`` carries anything the
    words need (``{N}``, ``{other}``).
    """

    where: str
    grads: list[Array]
    act: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bug:
    """A known bug: its id, what it means for the student, a hint, and how to compute it.

    ``compute(net)`` yields the bug's variants, narrowest first (one layer, then several); the
    first variant the measurement matches is reported.  ``description`` and ``hint`` are format
    strings: ``{where}``, ``{act}``, ``{N}``, and the derivative forms ``{out_form}`` (the correct
    formula through the output ``a``), ``{on_z}`` (that formula applied to ``z``), ``{on_a}`` (the
    pre-activation formula applied to ``a``) plus a variant's own ``params``.
    """

    id: str
    description: str
    hint: str
    compute: Callable[[Net], Iterable[Variant]]
    tol: float | None = None

    def words(self, net: Net, variant: Variant) -> tuple[str, str]:
        values = {"where": variant.where, "act": variant.act or _act_name(net.hidden),
                  "N": net.batch}
        values.update(_FORMS.get(values["act"], _GENERIC_FORMS))
        values.update(variant.params)
        return self.description.format(**values), self.hint.format(**values)


BUGS: list[Bug] = []
"""The registry, in order of precedence: when two bugs give the same gradient (a missing sigmoid
derivative at the output *is* the cross-entropy gradient), the earlier one is named."""


def bug(bug_id: str, description: str, hint: str, *, tol: float | None = None
        ) -> Callable[[Callable[[Net], Iterable[Variant]]], Callable[[Net], Iterable[Variant]]]:
    """Decorator: add ``Bug(bug_id, description, hint, compute)`` to :data:`BUGS`."""

    def register(compute: Callable[[Net], Iterable[Variant]]) -> Callable[[Net], Iterable[Variant]]:
        if any(b.id == bug_id for b in BUGS):
            raise ValueError(f"bug {bug_id!r} registered twice")
        BUGS.append(Bug(bug_id, description, hint, compute, tol))
        return compute

    return register


_FORMS: dict[str, dict[str, str]] = {
    "sigmoid": {"out_form": "a·(1−a)", "on_z": "z·(1−z)", "on_a": "sigmoid(a)·(1−sigmoid(a))"},
    "tanh": {"out_form": "1−a²", "on_z": "1−z²", "on_a": "1−tanh(a)²"},
}
_GENERIC_FORMS = {"out_form": "f'(z) written through a = f(z)", "on_z": "that formula applied to z",
                  "on_a": "f'(a)"}


def _act_name(act: Activation | str) -> str:
    return act if isinstance(act, str) else act.name


def _scopes(net: Net, *, output: bool = True) -> list[tuple[str, frozenset[int], str]]:
    """Where a layer-wise bug may sit, narrowest first: each layer, all hidden ones, all."""
    last = net.n_layers - 1
    hidden_layers = list(range(last))
    out: list[tuple[str, frozenset[int], str]] = [
        (net.layer_label(l), frozenset({l}), _act_name(net.hidden)) for l in hidden_layers]
    use_output = output and net.elementwise_output
    if use_output:
        out.append((net.layer_label(last), frozenset({last}), _act_name(net.output)))
    if len(hidden_layers) >= 2:
        out.append(("every hidden layer", frozenset(hidden_layers), _act_name(net.hidden)))
    if use_output and hidden_layers:
        both = {_act_name(net.hidden), _act_name(net.output)}
        out.append(("every layer", frozenset(range(last + 1)),
                    both.pop() if len(both) == 1 else "activation"))
    return out


def _derivative_bug(net: Net, wrong: Callable[[Activation, Array, Array], Array]
                    ) -> Iterator[Variant]:
    for where, layers, act in _scopes(net):
        def deriv(l: int, z: Array, a: Array, layers: frozenset[int] = layers) -> Array | None:
            if l not in layers:
                return None
            activation = net.activation_of(l)
            assert isinstance(activation, Activation)
            return wrong(activation, z, a)
        yield Variant(where, net.backprop(deriv=deriv), act)


@bug("sign",
     "wrong sign: your update moves the weights up the gradient (gradient ascent)",
     "update() must subtract: W -= lr * dW.  If your output error is (y - y_pred) instead of "
     "(y_pred - y), the minus sign has to move with it")
def _sign(net: Net) -> Iterator[Variant]:
    yield Variant("every layer", [-g for g in net.reference()])


@bug("sign_layer",
     "that array's update moves it up the gradient (gradient ascent) while the others move "
     "down",
     "compare the update (or the delta) of {where} with the other layers': one has + where the "
     "others have -")
def _sign_layer(net: Net) -> Iterator[Variant]:
    ref = net.reference()
    for slot in net.slots:
        flipped = list(ref)
        flipped[slot.index] = -ref[slot.index]
        yield Variant(net.array_label(slot), flipped)
    if net.has_bias:
        for l in range(net.n_layers):
            flipped = list(ref)
            for i in (l, net.n_layers + l):
                flipped[i] = -ref[i]
            yield Variant(f"layer {l + 1} (weights[{l}] and biases[{l}])", flipped)


@bug("not_updated",
     "update() never applies this array's gradient",
     "update() must move every parameter array, including {where}")
def _not_updated(net: Net) -> Iterator[Variant]:
    ref = net.reference()
    for slot in net.slots:
        frozen = list(ref)
        frozen[slot.index] = np.zeros_like(ref[slot.index])
        yield Variant(net.array_label(slot), frozen)


@bug("adaptive_optimizer",
     "update() rescales every entry of the gradient to about the same size, as Adam, AdaGrad or "
     "RMSProp do: the step is lr·sign(gradient), not lr·gradient",
     "the lab asks for plain gradient descent: W -= lr * dW", tol=ADAPTIVE_TOL)
def _adaptive(net: Net) -> Iterator[Variant]:
    yield Variant("every layer", [np.sign(g) for g in net.reference()])


@bug("bce",
     "your gradient is right for binary cross-entropy, not for the MSE the lab asks for: the "
     "output error (y_pred − y) is not multiplied by the sigmoid's derivative at the output",
     "for the MSE the output delta is 2·(y_pred − y)/n · sigmoid'(z_out) (or a·(1−a) with the "
     "output a); the form without sigmoid' belongs to cross-entropy")
def _bce(net: Net) -> Iterator[Variant]:
    if net.loss.name in ("mse", "sse", "half_sse") and net.elementwise_output:
        yield Variant("the output layer", net.backprop(loss="bce"), _act_name(net.output))


@bug("softmax_derivative",
     "the softmax's delta is multiplied by y_pred·(1 − y_pred), a sigmoid's derivative: with the "
     "cross-entropy, the softmax and the loss together give the delta y_pred − y, with no "
     "derivative factor",
     "the output delta of a softmax trained with the cross-entropy is y_pred - y (the "
     "tutorial's g3 = 1)")
def _softmax_derivative(net: Net) -> Iterator[Variant]:
    if net.output == SOFTMAX:
        p = net.cache.outputs[-1]
        yield Variant("the output layer", net.backprop(out_delta=lambda d: d * p * (1 - p)),
                      "softmax")


@bug("derivative_of_preactivation",
     "the derivative of the {act} is taken of the pre-activation instead of the output: {on_z} "
     "instead of {out_form} with a = {act}(z), in {where}",
     "the template's derivative (a·(1−a) for the sigmoid) expects the layer's output, what "
     "predict stored after the activation, not z = x @ W")
def _derivative_of_preactivation(net: Net) -> Iterator[Variant]:
    yield from _derivative_bug(net, lambda act, z, a: act.derivative_from_output(z))


@bug("derivative_of_output_twice",
     "the derivative of the {act} is computed from the layer's output as if it were the "
     "pre-activation: {on_a}, the {act} applied twice, in {where}",
     "use either the output form {out_form} with the stored output a, or {act}'(z) with the "
     "pre-activation z; not {act}'(a)")
def _derivative_of_output_twice(net: Net) -> Iterator[Variant]:
    yield from _derivative_bug(net, lambda act, z, a: act.derivative_from_preactivation(a))


@bug("missing_derivative",
     "the derivative of the {act} is missing in {where}: delta is not multiplied by {act}'(z)",
     "after carrying delta back through W.T, multiply it elementwise by the activation's "
     "derivative for that layer: delta = (delta @ W.T) * {act}'(z)")
def _missing_derivative(net: Net) -> Iterator[Variant]:
    yield from _derivative_bug(net, lambda act, z, a: np.ones_like(z))


@bug("inverted_mask",
     "the {act}'s derivative is masked the wrong way in {where}: the gradient flows where the "
     "unit is off (z < 0) and is stopped where it is on",
     "the ReLU passes the gradient where z > 0: grad_h[h < 0] = 0 (or delta * (z > 0)), "
     "not grad_h[h > 0] = 0")
def _inverted_mask(net: Net) -> Iterator[Variant]:
    def inverted(act: Activation, z: Array, a: Array) -> Array:
        return 1.0 - act.derivative_from_preactivation(z)
    # only where the derivative is a 0/1 mask (the ReLU): elsewhere 1 - f' is no one's mistake
    if any(_act_name(net.activation_of(l)) == "relu" for l in range(net.n_layers)):
        yield from (v for v in _derivative_bug(net, inverted) if v.act == "relu")


@bug("activation_instead_of_derivative",
     "{where} multiplies delta by the {act} itself, {act}(z), instead of its derivative "
     "{act}'(z)",
     "call the derivative (derivative=True in the template), not the activation")
def _activation_instead_of_derivative(net: Net) -> Iterator[Variant]:
    yield from _derivative_bug(net, lambda act, z, a: a)


@bug("derivative_wrong_layer",
     "{where} multiplies delta by the derivative of the {other} layer's pre-activation: a layer "
     "index is off by one",
     "delta_l = (delta_(l+1) @ W_(l+1).T) * f'(z_l): the derivative belongs to the same layer as "
     "the delta")
def _derivative_wrong_layer(net: Net) -> Iterator[Variant]:
    zs = net.cache.preactivations
    for l in range(net.n_layers - 1):
        for other, word in ((l + 1, "next"), (l - 1, "previous")):
            if not 0 <= other < net.n_layers or other == l or zs[other].shape != zs[l].shape:
                continue
            act = net.activation_of(other)
            if not isinstance(act, Activation):
                continue

            def deriv(k: int, z: Array, a: Array, l: int = l, other: int = other,
                      act: Activation = act) -> Array | None:
                return act.derivative_from_preactivation(zs[other]) if k == l else None
            yield Variant(net.layer_label(l), net.backprop(deriv=deriv), _act_name(net.hidden),
                          {"other": word})


@bug("transposed_weights",
     "backprop through {where} uses W instead of W.T (delta @ W): the shapes fit because the "
     "matrix is square, but every layer below gets a wrong delta",
     "delta_prev = (delta @ W.T) * f'(z_prev), with the transpose of {where}")
def _transposed(net: Net) -> Iterator[Variant]:
    for l in range(1, net.n_layers):
        W = net.weights[l]
        if W.shape[0] == W.shape[1]:
            yield Variant(net.layer_label(l),
                          net.backprop(back=lambda k, l=l, W=W: W if k == l else None))


@bug("transposed_gradient",
     "the gradient of {where} is applied transposed: the shapes fit because the matrix is "
     "square, but each weight gets the change of its mirror image",
     "for weights stored (inputs, outputs) the gradient is a_prev.T @ delta; for weights stored "
     "(outputs, inputs) it is delta.T @ a_prev: match the gradient to the array it updates")
def _transposed_gradient(net: Net) -> Iterator[Variant]:
    reference = net.reference()
    for slot in net.slots:
        grad = reference[slot.index]
        if slot.kind == "weights" and grad.ndim == 2 and grad.shape[0] == grad.shape[1]:
            grads = list(reference)
            grads[slot.index] = grad.T
            yield Variant(net.array_label(slot), grads)


@bug("bias_averaged",
     "the bias gradient is averaged over the batch instead of summed: every bias array is "
     "{N} times (the batch size) too small compared with the weights",
     "db = delta.sum(axis=0, keepdims=True), like dW = a.T @ delta (which sums over the batch "
     "too); the 1/N belongs to the loss")
def _bias_averaged(net: Net) -> Iterator[Variant]:
    if net.has_bias and net.batch > 1:
        yield Variant("every bias array", net.backprop(
            bias_grad=lambda l, delta: np.mean(delta, axis=0, keepdims=True)))


def _one_array_scaled(net: Net, factor: float) -> Iterator[Variant]:
    if net.batch > 1:
        ref = net.reference()
        for slot in net.slots:
            scaled = list(ref)
            scaled[slot.index] = factor * ref[slot.index]
            yield Variant(net.array_label(slot), scaled)


@bug("missing_batch_mean",
     "{N} is the batch size: the 1/N of the batch mean is missing in that array only",
     "every array's gradient must carry the same 1/N: check the line that computes {where}")
def _missing_batch_mean(net: Net) -> Iterator[Variant]:
    yield from _one_array_scaled(net, float(net.batch))


@bug("extra_batch_mean",
     "1/{N} is one over the batch size: that array is divided by N twice",
     "divide by N once, in the loss's gradient, or in every array alike: check {where}")
def _extra_batch_mean(net: Net) -> Iterator[Variant]:
    yield from _one_array_scaled(net, 1.0 / net.batch)


@bug("dw_uses_own_output",
     "dW of {where} uses the layer's own output instead of its input: a_l.T @ delta_l instead "
     "of a_(l-1).T @ delta_l",
     "dW_l = (the input of layer l).T @ delta_l: the previous layer's output (X for layer 1)")
def _dw_uses_own_output(net: Net) -> Iterator[Variant]:
    for l, W in enumerate(net.weights):
        if W.shape[0] == W.shape[1]:
            yield Variant(net.layer_label(l), net.backprop(
                dw_input=lambda k, l=l: net.cache.outputs[l + 1] if k == l else None))


@bug("dw_uses_preactivation",
     "dW of {where} uses the previous layer's pre-activation z instead of its output a = f(z)",
     "dW_l = (the input of layer l).T @ delta_l, and that input is the previous layer's output "
     "after the activation")
def _dw_uses_preactivation(net: Net) -> Iterator[Variant]:
    layers = list(range(1, net.n_layers))
    scopes = [(net.layer_label(l), {l}) for l in layers]
    if len(layers) >= 2:
        scopes.append(("every layer after the first", set(layers)))
    for where, chosen in scopes:
        yield Variant(where, net.backprop(
            dw_input=lambda k, chosen=chosen: net.cache.preactivations[k - 1] if k in chosen
            else None))


# --- metrics ------------------------------------------------------------------------------------

def _dot(a: Array, b: Array) -> float:
    return float(np.dot(a.ravel(), b.ravel()))


def _norm(a: Array) -> float:
    return float(np.linalg.norm(a.ravel()))


def _rel(a: Array, b: Array) -> float:
    denom = _norm(a) + _norm(b)
    return 0.0 if denom == 0.0 else _norm(a - b) / denom


def _fit(measured: Sequence[Array], model: Sequence[Array], order: Sequence[int]
         ) -> tuple[float, int | None]:
    """Least-squares ``c`` with ``measured ≈ c * model`` on the first usable array of ``order``."""
    for i in order:
        m, g = measured[i], model[i]
        if np.all(np.isfinite(m)) and 0.0 < _norm(m) < math.inf and _norm(g) > 0.0:
            return _dot(m, g) / _dot(g, g), i
    return 0.0, None


def _matches(measured: Sequence[Array], model: Sequence[Array], order: Sequence[int], tol: float
             ) -> tuple[bool, float]:
    c, _ = _fit(measured, model, order)
    if not c > 0.0:
        return False, c
    return all(_rel(m, c * g) < tol for m, g in zip(measured, model)), c


def _round(x: float | None, digits: int) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def _shape(shape: Sequence[int]) -> str:
    return "x".join(str(s) for s in shape)


# --- conventions --------------------------------------------------------------------------------

# id, short name, what it is, the student's coefficient k of (y_pred - y) in dL/dy_pred, from
# (n elements, N samples)
_CONVENTIONS: tuple[tuple[str, str, str, Callable[[int, int], float]], ...] = (
    ("2*mean", "2·mean", "gradient 2(y_pred − y)/n, the lab's MSE, mean((y_pred − y)²)",
     lambda n, N: 2.0 / n),
    ("mean", "mean", "gradient (y_pred − y)/n: the MSE without its 2, loss ½·mean(...)",
     lambda n, N: 1.0 / n),
    ("2*sum", "2·sum", "gradient 2(y_pred − y): loss sum((y_pred − y)²), not divided by n",
     lambda n, N: 2.0),
    ("sum", "sum", "gradient (y_pred − y): loss ½·sum((y_pred − y)²)", lambda n, N: 1.0),
    ("2*mean_samples", "2·mean over samples",
     "gradient 2(y_pred − y)/N: squared errors summed over the outputs, averaged over samples",
     lambda n, N: 2.0 / N),
    ("mean_samples", "mean over samples", "gradient (y_pred − y)/N", lambda n, N: 1.0 / N),
)
_REFERENCE_K: dict[str, Callable[[int, int], float]] = {
    "mse": lambda n, N: 2.0 / n, "sse": lambda n, N: 2.0, "half_sse": lambda n, N: 1.0}


def conventions(loss: Loss | str, n_elements: int, batch: int) -> list[tuple[str, str, float]]:
    """``(id, words, scale)`` of each usual convention, relative to ``loss``'s gradient."""
    loss = get_loss(loss)
    if loss.name not in _REFERENCE_K:
        return [("reference", f"the {loss.name} gradient of reference.losses", 1.0),
                ("sum_samples", "summed over the batch instead of averaged", float(batch))]
    k_ref = _REFERENCE_K[loss.name](n_elements, batch)
    out = []
    for cid, short, words, k in _CONVENTIONS:
        if cid.endswith("_samples") and n_elements == batch:
            continue  # one output: the same as the mean over elements
        out.append((cid, f"{short}: {words}", k(n_elements, batch) / k_ref))
    return out


def name_convention(scale: float, loss: Loss | str, n_elements: int, batch: int
                    ) -> tuple[str | None, list[str]]:
    """The words and ids of the conventions ``scale`` corresponds to (None, [] if none)."""
    found = [(cid, words) for cid, words, s in conventions(loss, n_elements, batch)
             if abs(scale - s) <= CONVENTION_RTOL * s]
    if not found:
        return None, []
    ids = [cid for cid, _ in found]
    head = found[0][1]
    if len(found) > 1:
        short, rest = head.split(": ", 1)
        others = ", ".join(words.split(":")[0] for _, words in found[1:])
        head = f"{short} (= {others} for this batch size): {rest}"
    return head, ids


# --- Taylor remainder test ----------------------------------------------------------------------

def taylor_test(loss_fn: Callable[[Sequence[Array]], float], params: Sequence[Array],
                grads: Sequence[Array], rng: np.random.Generator | int,
                *, steps: Sequence[float] = TAYLOR_STEPS) -> TaylorResult:
    """Farrell et al. (2013): ``|L(w + h d) - L(w) - h <g, d>|`` against ``h``, in log-log.

    ``d`` is one Gaussian direction over every array (unit norm overall) drawn from ``rng``;
    each step is taken both ways (``+h d`` and ``-h d``) and the larger remainder kept, so that a
    linear error term cannot be cancelled by the curvature term at some ``h``.
    The remainder falls like ``h^2`` when ``g`` is the gradient and like ``h`` otherwise;
    ``order`` is the least-squares slope over the steps whose remainder is above round-off
    (None when fewer than three are).
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    params = [np.asarray(p, dtype=float) for p in params]
    direction = [rng.standard_normal(p.shape) for p in params]
    total = math.sqrt(sum(_dot(d, d) for d in direction))
    direction = [d / total for d in direction]
    base = loss_fn(params)
    slope = sum(_dot(np.asarray(g, dtype=float), d) for g, d in zip(grads, direction))
    remainders = []
    for h in steps:
        # both ways along d: a linear error and the curvature term may cancel one way, never both
        r = [abs(loss_fn([p + s * d for p, d in zip(params, direction)]) - base - s * slope)
             for s in (h, -h)]
        remainders.append(max(r))
    floor = 64.0 * np.finfo(float).eps * max(abs(base), 1e-300)
    points = [(h, r) for h, r in zip(steps, remainders) if r > floor]
    order = None
    if len(points) >= 3:
        logh = np.log([h for h, _ in points])
        logr = np.log([r for _, r in points])
        order = float(np.polyfit(logh, logr, 1)[0])
    return TaylorResult(order, tuple(float(h) for h in steps), tuple(remainders))


# --- diagnose -----------------------------------------------------------------------------------

def _as_list(arrays: Sequence[Array | None] | None, shapes: Sequence[tuple[int, ...]],
             what: str) -> tuple[list[Array], list[bool]]:
    """The measured arrays as floats of the right shapes, None (did not move) as zeros."""
    out, moved = [], []
    arrays = [None] * len(shapes) if arrays is None else list(arrays)
    if len(arrays) != len(shapes):
        raise ValueError(f"{len(arrays)} measured {what} arrays for {len(shapes)} parameters")
    for i, (a, shape) in enumerate(zip(arrays, shapes)):
        if a is None:
            out.append(np.zeros(shape))
            moved.append(False)
            continue
        a = np.asarray(a, dtype=float)
        if a.shape != tuple(shape):
            if a.size == int(np.prod(shape)) and what == "biases":
                a = a.reshape(shape)
            else:
                raise ValueError(f"measured {what}[{i}] has shape {a.shape}, expected {shape} "
                                 "(map it to the reference orientation first)")
        out.append(a)
        moved.append(bool(np.any(a != 0.0)))
    return out, moved


def _measured(net: Net, measured_w: Sequence[Array | None],
              measured_b: Sequence[Array | None] | None) -> tuple[list[Array], list[bool]]:
    w, moved_w = _as_list(measured_w, [W.shape for W in net.weights], "weights")
    if not net.has_bias:
        return w, moved_w
    assert net.biases is not None
    b, moved_b = _as_list(measured_b, [x.shape for x in net.biases], "biases")
    return w + b, moved_w + moved_b


def _array_reports(net: Net, measured: list[Array], moved: list[bool], c: float, tol: float,
                   transposed: Sequence[bool | None] | None) -> list[ArrayReport]:
    ref = net.reference()
    c_pos = abs(c)
    reports = []
    for slot in net.slots:
        m, g = measured[slot.index], ref[slot.index]
        finite = bool(np.all(np.isfinite(m))) and math.isfinite(_norm(m))
        cg = c_pos * g
        if not finite:
            rel, cos, ratio, dev = 1.0, math.nan, math.nan, math.inf
        else:
            rel = _rel(m, cg)
            nm, ng = _norm(m), _norm(g)
            cos = (_dot(m, g) / (nm * ng)) if nm > 0 and ng > 0 else (1.0 if nm == ng else 0.0)
            if ng > 0 and c_pos > 0:
                ratio = _dot(m, g) / _dot(g, g) / c_pos
            else:
                ratio = 1.0 if nm == 0 else math.nan
            dev = _norm(m - cg) / _norm(cg) if _norm(cg) > 0 else (0.0 if nm == 0 else math.inf)
        flag = None
        if transposed is not None and slot.kind == "weights" and slot.layer < len(transposed):
            flag = transposed[slot.layer]
        reports.append(ArrayReport(
            name=slot.name, shape=tuple(slot.shape), layer=slot.layer + 1, rel_error=rel,
            cosine=cos, scale_ratio=ratio, ok=bool(finite and c > 0 and rel < tol),
            deviation=dev, moved=moved[slot.index], finite=finite, stored_transposed=flag))
    return reports


def _nearly_one(ratio: float) -> bool:
    """A size ratio that rounds to 1 in a message: "1x the correct size" would say nothing."""
    return math.isfinite(ratio) and abs(ratio - 1.0) < 0.005


def _observation(report: ArrayReport, fitted: bool = False) -> str:
    """What is wrong with one array, in words; ``fitted``: the array the scale was fitted on."""
    if not report.finite:
        return "contains NaN, inf or values too large to compare"
    if not report.moved:
        return "is zero: the array did not change in update()"
    if report.cosine <= -0.9999:
        return f"has the wrong sign ({report.scale_ratio:.3g}x the correct one)"
    if report.cosine >= 0.9999 and _nearly_one(report.scale_ratio):
        return ("is close to the correct one but not within the tolerance (relative error "
                f"{report.rel_error:.2g})")
    if report.cosine >= 0.9999 and math.isfinite(report.scale_ratio):
        return (f"points the right way but is {report.scale_ratio:.3g}x the correct size "
                f"(relative error {report.rel_error:.2g})")
    if fitted:
        return (f"is off by {report.deviation:.0%}: cosine {report.cosine:.2f} with the correct "
                f"one (relative error {report.rel_error:.2g})")
    return (f"is off by {report.deviation:.0%}: {report.scale_ratio:.2f}x the correct one along "
            f"it, cosine {report.cosine:.2f} (relative error {report.rel_error:.2g})")


def _first_wrong(net: Net, reports: list[ArrayReport]) -> ArrayReport | None:
    by_index = {slot.index: reports[k] for k, slot in enumerate(net.slots)}
    for i in net.fit_order():
        if not by_index[i].ok:
            return by_index[i]
    return None


def _locate(net: Net, reports: list[ArrayReport], first: ArrayReport, fitted_on: int | None
            ) -> str:
    """``layer 3 (output, weights[2], 3x1) is right; layer 2 (weights[1], 3x3): your ...``"""
    slot = next(s for s in net.slots if s.name == first.name)
    right_layers = [l for l in range(net.n_layers - 1, slot.layer, -1)
                    if all(r.ok for r in reports if r.layer == l + 1)]
    prefix = ""
    if right_layers and right_layers[-1] == slot.layer + 1:
        above = net.layer_label(right_layers[-1])
        prefix = (f"{above} is right; " if len(right_layers) == 1 else
                  f"{above} and the layers above it are right; ")
    return (f"{prefix}{net.array_label(slot)}: your gradient "
            f"{_observation(first, slot.index == fitted_on)}")


def _generic_hint(net: Net, first: ArrayReport) -> str:
    slot = next(s for s in net.slots if s.name == first.name)
    if first.cosine >= 0.9999 and _nearly_one(first.scale_ratio):
        return (f"{first.name} nearly matches: a small difference in the arithmetic (float32, "
                "an epsilon in a derivative) or a loss close to the MSE on this batch")
    if first.cosine >= 0.9999:
        return (f"{first.name} alone is scaled by {first.scale_ratio:.3g}: a factor (1/N, 2, "
                "lr) applied to this array only")
    if first.cosine <= -0.9999:
        return f"{first.name} moves the wrong way: check the sign of its update"
    if slot.kind == "biases":
        return "check the bias gradient: db_l = delta_l.sum(axis=0, keepdims=True)"
    if slot.layer == net.n_layers - 1:
        return ("check the output layer: delta_out = dL/dy_pred * f'(z_out) and "
                "dW_out = a_prev.T @ delta_out")
    l = slot.layer + 1
    return (f"the layers above are right, so the error enters when delta goes back into "
            f"layer {l}: delta_{l} = (delta_{l + 1} @ W_{l + 1}.T) * f'(z_{l}) and "
            f"dW_{l} = a_{l - 1}.T @ delta_{l} (a_0 = X)")


def _flatten_grads(grads: Any) -> list[Array | None]:
    """``(measured_w, measured_b)`` or a flat list of arrays, as one flat list."""
    if (isinstance(grads, tuple) and len(grads) == 2
            and (grads[0] is None or isinstance(grads[0], (list, tuple)))):
        w, b = grads
        return list(w or []) + list(b or [])
    return list(grads)


def _linearity(lr_pair: Any, words: list[str], findings: list[str]) -> float | None:
    """The largest relative difference between the gradients read at two learning rates."""
    if lr_pair is None:
        return None
    if isinstance(lr_pair, (int, float)):
        error = float(lr_pair)
        if error > LINEARITY_TOL:
            findings.append("lr_not_linear")
            words.append(f"update() is not proportional to lr: the applied gradient changes by "
                         f"{error:.2g} between two learning rates")
        return error
    (lr1, g1), (lr2, g2) = lr_pair
    a = [np.zeros(0) if x is None else np.asarray(x, dtype=float) for x in _flatten_grads(g1)]
    b = [np.zeros(0) if x is None else np.asarray(x, dtype=float) for x in _flatten_grads(g2)]
    if len(a) != len(b):
        raise ValueError("the two learning-rate measurements list different arrays")
    if not all(np.all(np.isfinite(x)) for x in a + b):
        words.append("the learning-rate comparison produced NaN or inf")
        return None
    error = max((_rel(x, y) for x, y in zip(a, b) if x.shape == y.shape), default=0.0)
    if error > LINEARITY_TOL:
        findings.append("lr_not_linear")
        na = math.sqrt(sum(_dot(x, x) for x in a))
        nb = math.sqrt(sum(_dot(x, x) for x in b))
        ratio = na / nb if nb > 0 else math.inf
        if abs(ratio - lr2 / lr1) <= 1e-6 * lr2 / lr1:
            what = "update() ignores lr: it takes the same step whatever the learning rate"
        elif abs(ratio - lr1 / lr2) <= 1e-6 * lr1 / lr2:
            what = "update() multiplies by lr twice: the step grows like lr²"
        else:
            what = "update() is not proportional to lr"
        words.append(f"{what} ((W_before − W_after)/lr differs by {error:.2g} between "
                     f"lr={lr1:g} and lr={lr2:g}); the lab's update is W -= lr * dW")
    return error


def _coerce_step(step: Any) -> StepMeasurement:
    """A :class:`StepMeasurement`, from itself, a tuple of its fields or a mapping.

    Two mappings are understood: the field names, and the probes' form ``{"weights_before",
    "biases_before", "weights", "biases"}`` where ``weights`` / ``biases`` are the *measured*
    second-step gradients.
    """
    if isinstance(step, StepMeasurement):
        return step
    if isinstance(step, Mapping):
        if "weights_before" in step:
            return StepMeasurement(step["weights_before"], step.get("biases_before"),
                                   step["weights"], step.get("biases"), step.get("X"),
                                   step.get("y"))
        return StepMeasurement(**step)
    return StepMeasurement(*step)


def _second_step(net: Net, step: StepMeasurement, model: Callable[[Net], list[Array]] | None,
                 first: list[Array], c: float, tol: float, notes: list[str], words: list[str],
                 findings: list[str]) -> tuple[bool | None, float | None]:
    """Does the second step apply ``c`` times the (student's) gradient at the new weights?

    Returns ``(optimizer_state, beta)``; ``beta`` when the difference is ``beta`` times the first
    step (momentum; 1 when gradients accumulate).  ``words`` gets what the student must read.
    """
    if model is None or not c > 0:
        notes.append("second step not judged: the first step is already wrong")
        return None, None
    net2 = Net(step.weights, step.biases, net.X if step.X is None else step.X,
               net.y if step.y is None else step.y, net.hidden, net.output, net.loss)
    measured2, _ = _measured(net2, step.measured_w, step.measured_b)
    if not all(np.all(np.isfinite(m)) for m in measured2):
        words.append("the second step produced NaN or inf")
        findings.append("optimizer_state")
        return True, None
    expected = [c * g for g in model(net2)]
    if all(_rel(m, e) < tol for m, e in zip(measured2, expected)):
        return False, None
    findings.append("optimizer_state")
    residual = np.concatenate([(m - e).ravel() for m, e in zip(measured2, expected)])
    previous = np.concatenate([m.ravel() for m in first])
    beta = None
    if _dot(previous, previous) > 0:
        b = _dot(residual, previous) / _dot(previous, previous)
        if _norm(residual - b * previous) <= STATE_FIT_TOL * max(_norm(residual), 1e-300):
            beta = b
    if beta is not None and abs(beta - 1.0) <= 1e-6:
        findings.append("gradient_accumulates")
        words.append("the second step applied the sum of both steps' gradients: backprop() adds "
                     "to the previous gradient (+=) instead of replacing it; reset it every step")
    else:
        extra = (f": the second step is the new gradient plus {beta:.3g} x the first step, "
                 f"momentum with beta ≈ {beta:.3g}") if beta is not None else ""
        words.append("update() keeps state between steps (momentum or Adam?): the lab asks for "
                     f"plain gradient descent{extra}")
    return True, beta


def diagnose(
    weights: Sequence[Array],
    biases: Sequence[Array] | None,
    X: Array,
    y: Array,
    measured_w: Sequence[Array | None],
    measured_b: Sequence[Array | None] | None,
    *,
    hidden: Activation | str = "sigmoid",
    output: Activation | str | None = None,
    loss: Loss | str = "mse",
    second_step: StepMeasurement | Mapping[str, Any] | Sequence[Any] | None = None,
    lr_pair: tuple[tuple[float, Any], tuple[float, Any]] | float | None = None,
    tol: float = DEFAULT_TOL,
    transposed: Sequence[bool | None] | None = None,
    taylor_rng: np.random.Generator | int = 0,
    absent_biases: Sequence[int] = (),
    names: Sequence[str] | None = None,
) -> GradientDiagnosis:
    """Compare the gradient a student's ``update`` applied with the reference, and explain it.

    ``weights`` / ``biases``: the test parameters before the step, in reference orientation
    (``biases`` None for a network without bias); ``X`` ``(N, d)``, ``y`` ``(N, out)``: the
    batch; ``measured_w`` / ``measured_b``: ``(W_before - W_after) / lr`` per array, None for an
    array that did not move.  ``hidden``/``output``/``loss``: the lab's network (sigmoid, MSE).
    ``lr_pair``: ``((lr1, grads1), (lr2, grads2))`` with ``grads`` as ``(measured_w, measured_b)``
    or a flat list, or an already computed linearity error.  ``second_step``: a
    :class:`StepMeasurement` (or a mapping / tuple of its fields).  ``transposed``: per weight
    matrix, whether the student stores it ``(fan_out, fan_in)`` (reported only: the arrays given
    are already in reference orientation).  ``taylor_rng``: seed or Generator of the Taylor
    direction.  ``absent_biases``: layers whose bias the student's network does not have (a
    bias on the hidden layers only): fixed at zero in both networks, they are not judged.
    ``names``: the arrays as the student names them, weights then biases, for the messages.
    Raises ValueError only for inconsistent shapes, which is the caller's error.
    """
    # a student's update may hold huge values: every verdict below tests finiteness explicitly
    with np.errstate(over="ignore", invalid="ignore"):
        return _diagnose(weights, biases, X, y, measured_w, measured_b, hidden=hidden,
                         output=output, loss=loss, second_step=second_step, lr_pair=lr_pair,
                         tol=tol, transposed=transposed, taylor_rng=taylor_rng,
                         absent_biases=absent_biases, names=names)


def _diagnose(weights: Sequence[Array], biases: Sequence[Array] | None, X: Array, y: Array,
              measured_w: Sequence[Array | None], measured_b: Sequence[Array | None] | None,
              *, hidden: Activation | str, output: Activation | str | None, loss: Loss | str,
              second_step: Any, lr_pair: Any, tol: float,
              transposed: Sequence[bool | None] | None,
              taylor_rng: np.random.Generator | int,
              absent_biases: Sequence[int] = (),
              names: Sequence[str] | None = None) -> GradientDiagnosis:
    net = Net(weights, biases, X, y, hidden, output, loss, names)
    measured, moved = _measured(net, measured_w, measured_b)
    ref = net.reference()
    absent = [net.n_layers + l for l in absent_biases if net.has_bias]
    order = [i for i in net.fit_order() if i not in absent]
    notes: list[str] = []
    findings: list[str] = []

    c, fitted_on = _fit(measured, ref, order)
    if not math.isfinite(c):
        c, fitted_on = 0.0, None
    for i in absent:  # not the student's parameter: taken as right, whatever it would be
        measured[i], moved[i] = abs(c) * ref[i], True
    if fitted_on is not None and fitted_on != order[0]:
        notes.append(f"the scale was fitted on {net.slots[fitted_on].name}: "
                     f"{net.slots[order[0]].name} gave nothing to fit on")
    convention, convention_ids = (name_convention(c, net.loss, net.n_elements, net.batch)
                                  if c > 0 else (None, []))
    reports = _array_reports(net, measured, moved, c, tol, transposed)
    ok = bool(c > 0 and all(r.ok for r in reports))
    concatenated_m = np.concatenate([m.ravel() for m in measured])
    concatenated_r = np.concatenate([abs(c) * g.ravel() for g in ref])
    aggregate = (_rel(concatenated_m, concatenated_r) if np.all(np.isfinite(concatenated_m))
                 else 1.0)
    for r in reports:
        if r.stored_transposed:
            notes.append(f"{r.name} is stored transposed {_shape(r.shape[::-1])} in your code; "
                         "that is fine, it was compared in the (fan_in, fan_out) layout")

    if ok:
        verdict = _explain_success(net, measured, reports, c, convention, tol, notes)
    else:
        verdict = _explain_failure(net, measured, reports, c, fitted_on, tol, notes)

    taylor_order = None
    if abs(c) > 0 and all(r.finite for r in reports):
        taylor_order = _taylor_per_array(net, measured, abs(c), reports, taylor_rng)
        if taylor_order is not None:
            worst_array = min((r for r in reports if r.taylor_order is not None),
                              key=lambda r: r.taylor_order or 0.0)
            notes.append(f"Taylor remainder test: order {taylor_order:.2f} at worst "
                         f"({worst_array.name}; 2 for a correct gradient, 1 for a wrong one)")

    update_words: list[str] = []
    linearity = _linearity(lr_pair, update_words, findings)
    state = beta = None
    if second_step is not None:
        state, beta = _second_step(net, _coerce_step(second_step), verdict.model, measured,
                                   verdict.model_scale, tol, notes, update_words, findings)
    notes.extend(update_words)
    message = verdict.message + (". " + "; ".join(update_words) if update_words else "")

    return GradientDiagnosis(
        ok=ok, scale=float(c), convention=convention, arrays=reports,
        first_wrong=verdict.first_wrong, bug=verdict.bug, message=message, hint=verdict.hint,
        taylor_order=taylor_order, notes=notes, convention_ids=convention_ids,
        bug_where=verdict.where, also_consistent_with=verdict.also,
        aggregate_rel_error=aggregate, linearity_error=linearity, optimizer_state=state,
        momentum=beta, findings=findings, tol=tol)


@dataclass
class _Verdict:
    message: str
    hint: str = ""
    bug: str | None = None
    where: str | None = None
    first_wrong: str | None = None
    also: list[str] = field(default_factory=list)
    model: Callable[[Net], list[Array]] | None = None
    """What the student's gradient is, as a function of the network (for the second step)..."""
    model_scale: float = 0.0
    """...times this factor."""


def _explain_success(net: Net, measured: list[Array], reports: list[ArrayReport], c: float,
                     convention: str | None, tol: float, notes: list[str]) -> _Verdict:
    worst = max((r.rel_error for r in reports), default=0.0)
    scale_words = (f"scale {c:.6g}, {convention}" if convention else
                   f"scale {c:.6g}, which matches no usual MSE convention")
    if convention is None:
        notes.append(f"the shared scale {c:.6g} is not one of the usual MSE conventions "
                     "(2·mean, mean, 2·sum, sum); one positive factor for every layer is "
                     "accepted, but check the loss's normalisation and the lr in update()")
        notes.extend(_ambiguities(net, measured, net.fit_order(), tol))
    return _Verdict(f"gradient correct in every layer: relative error at most {worst:.1g} per "
                    f"array ({scale_words})", model=Net.reference, model_scale=c)


def _explain_failure(net: Net, measured: list[Array], reports: list[ArrayReport], c: float,
                     fitted_on: int | None, tol: float, notes: list[str]) -> _Verdict:
    first = _first_wrong(net, reports)
    first_wrong = first.name if first is not None else None
    if net.batch == 1:
        notes.append("measured on one sample: a bug in the output layer's derivative shows only "
                     "as one factor (even a sign) on every array; a batch of samples tells more")
    if not all(r.finite for r in reports):
        bad = ", ".join(r.name for r in reports if not r.finite)
        return _Verdict(f"the update of {bad} contains NaN, inf or overflowing values",
                        "look for an overflow (exp of a large number) or a division by zero in "
                        "backprop and update", "non_finite", bad, first_wrong)
    if fitted_on is None or first is None:
        return _Verdict("update() did not change any parameter: no gradient was applied",
                        "update(lr) must move every weight: W -= lr * dW", "no_update",
                        "every array", first_wrong)
    located = _locate(net, reports, first, fitted_on)
    matches = _match_bugs(net, measured, net.fit_order(), tol)
    if not matches:
        notes.append("no known bug matches this gradient exactly")
        message = located
        if c < 0:
            message = (f"wrong sign on the output layer ({net.slots[fitted_on].name}): your "
                       f"update moves it up the gradient (gradient ascent); {located}")
        wrong = [r.name for r in reports if not r.ok and r.name != first.name]
        if wrong:
            message += f"; also wrong: {', '.join(wrong)}"
        return _Verdict(message, _generic_hint(net, first), first_wrong=first_wrong)
    (chosen, variant, c_v), rest = matches[0], matches[1:]
    description, hint = chosen.words(net, variant)
    message = (f"{description}, in every layer" if chosen.id == "sign" else
               f"{located} — {description}")
    if chosen.id not in ("sign", "sign_layer") and abs(c_v - c) > CONVENTION_RTOL * abs(c_v):
        named, _ = name_convention(c_v, net.loss, net.n_elements, net.batch)
        if named:
            notes.append(f"with that bug accounted for, the scale is {c_v:.6g}: {named}")
    also = list(dict.fromkeys(b.id for b, _, _ in rest if b.id != chosen.id))
    return _Verdict(message, hint, chosen.id, variant.where, first_wrong, also,
                    _variant_model(chosen, variant.where), c_v)


def _taylor_per_array(net: Net, measured: list[Array], c: float, reports: list[ArrayReport],
                      rng: np.random.Generator | int) -> float | None:
    """:func:`taylor_test` along a random direction inside each array; the smallest order.

    One direction per array, not one over all of them: an error confined to a small array
    (the first layer's gradient is often ten times smaller than the output layer's) is then not
    drowned by the curvature along the others.  Sets each report's ``taylor_order``.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    params = net.params()
    for slot, report in zip(net.slots, reports):
        def loss_one(one: Sequence[Array], i: int = slot.index) -> float:
            return net.loss_value(params[:i] + [one[0]] + params[i + 1:])
        report.taylor_order = taylor_test(loss_one, [params[slot.index]],
                                          [measured[slot.index] / c], rng).order
    orders = [r.taylor_order for r in reports if r.taylor_order is not None]
    return min(orders) if orders else None


def _variants(net: Net) -> Iterator[tuple[Bug, Variant]]:
    for entry in BUGS:
        for variant in entry.compute(net):
            yield entry, variant


def _match_bugs(net: Net, measured: list[Array], order: list[int], tol: float
                ) -> list[tuple[Bug, Variant, float]]:
    """Every (bug, variant) the measurement matches, in registry order; harmless ones skipped."""
    ref = net.reference()
    found = []
    for entry, variant in _variants(net):
        if _matches(variant.grads, ref, order, tol)[0]:
            continue  # the same gradient as the correct one here: harmless
        hit, c_v = _matches(measured, variant.grads, order, entry.tol or tol)
        if hit:
            found.append((entry, variant, c_v))
    return found


def _ambiguities(net: Net, measured: list[Array], order: list[int], tol: float) -> list[str]:
    """Bugs this batch cannot tell from a correct gradient but which would explain the scale."""
    out = []
    ref = net.reference()
    for entry, variant in _variants(net):
        same, s = _matches(variant.grads, ref, order, tol)
        if not same or abs(s - 1.0) <= CONVENTION_RTOL:
            continue
        hit, c_v = _matches(measured, variant.grads, order, tol)
        if hit and name_convention(c_v, net.loss, net.n_elements, net.batch)[0]:
            description, _ = entry.words(net, variant)
            note = (f"this batch cannot tell a correct gradient from one where {description}; "
                    "that bug would explain the unusual scale: a batch of several samples "
                    "tells them apart")
            if note not in out:
                out.append(note)
    return out


def _variant_model(entry: Bug, where: str) -> Callable[[Net], list[Array]]:
    def model(net: Net) -> list[Array]:
        for variant in entry.compute(net):
            if variant.where == where:
                return variant.grads
        raise LookupError(f"{entry.id} has no variant {where!r} for this network")
    return model


# --- test weights -------------------------------------------------------------------------------

def _probe_grid(d: int) -> Array:
    per_axis = max(2, int(round(121 ** (1.0 / d))))
    axis = np.linspace(0.0, 1.0, per_axis)
    return np.array(list(itertools.product(axis, repeat=d)), dtype=float)


_KINKED = ("relu", "leaky_relu")
SPREAD_CANDIDATES = 64
OUTPUT_CANCELLATION_CAP = 2.0
"""Largest ``sum_j |w_j a_j| + |b|`` of an output column, as a multiple of its largest ``|z|``."""


def _spread_output(a: Array, input_peak: Array, fan_out: int, rng: np.random.Generator,
                   bias: bool) -> tuple[Array, Array]:
    """Output columns whose pre-activation varies most over the samples (mixed signs allowed).

    Of ``SPREAD_CANDIDATES`` draws per column, the one with the largest spread
    ``(max z - min z) / max |z|`` is kept: the output's derivative then differs between samples,
    which is what makes output-layer bugs (cross-entropy's gradient, a wrong output derivative)
    visible in a batch.  Only among those whose terms cancel little (at most
    :data:`OUTPUT_CANCELLATION_CAP`): mixed signs that nearly cancel have the largest spread,
    but once scaled to an order-one pre-activation need weights in the hundreds, and one step of lr 1
    saturates the output, the second step's gradient (~1e-24) drowns in the rounding of
    ``(W_before - W_after) / lr``, and a correct plain SGD looks like hidden optimizer state.
    """
    fan_in = a.shape[1]
    W = np.empty((fan_in, fan_out))
    b = np.zeros(fan_out)
    for k in range(fan_out):
        signs = rng.choice([-1.0, 1.0], size=(SPREAD_CANDIDATES, fan_in))
        mags = rng.uniform(0.6, 1.2, (SPREAD_CANDIDATES, fan_in)) / input_peak[None, :]
        offsets = (rng.choice([-1.0, 1.0], SPREAD_CANDIDATES)
                   * rng.uniform(0.3, 0.6, SPREAD_CANDIDATES)) if bias else np.zeros(
                       SPREAD_CANDIDATES)
        cols = signs * mags
        z = a @ cols.T + offsets[None, :]
        peak = np.max(np.abs(z), axis=0)
        safe_peak = np.where(peak > 0, peak, 1.0)
        spread = np.where(peak > 0, (z.max(axis=0) - z.min(axis=0)) / safe_peak, 0.0)
        # how much the terms of z cancel: sum_j |w_j a_j| + |b| against |z|, at its worst
        gross = np.max(np.abs(a) @ np.abs(cols).T + np.abs(offsets)[None, :], axis=0)
        cancelling = np.where(peak > 0, gross / safe_peak, np.inf)
        allowed = cancelling <= OUTPUT_CANCELLATION_CAP
        best = int(np.argmax(np.where(allowed, spread, -np.inf))) if allowed.any() \
            else int(np.argmin(cancelling))
        W[:, k] = cols[best]
        b[k] = offsets[best]
    return W, b


def well_conditioned_weights(
    dims: Sequence[int],
    rng: np.random.Generator | int,
    *,
    bias: bool = False,
    activation: Activation | str = "sigmoid",
    output: Activation | str | None = None,
    X: Array | None = None,
) -> tuple[list[Array], list[Array] | None]:
    """Test weights under which a wrong gradient cannot hide; returns ``(weights, biases)``.

    Small weights hide bugs (pre-activations ~0.01 make a wrong tanh derivative a 7e-7 error),
    large ones saturate the sigmoid, and a ReLU input near 0 sits on the kink.  So:

    * **no cancellation**: every column is *sign-consistent*.  Layer ``l``'s inputs have one sign
      per input unit over all samples (``[0, 1]`` inputs, sigmoid and ReLU outputs are >= 0; a
      tanh unit has its column's sign), and ``W[j, k] = s_k * sign(input_j) * m_jk`` with
      ``m_jk`` in [0.6, 1.2] / (the largest |input_j|), ``b_k = s_k * [0.3, 0.6]``.  Then
      ``|z_k| = sum_j |W_jk| |a_j| + |b_k|``: no sample sits near 0 unless its input to the
      layer is itself near 0 (without bias: only points within ~0.05 of the origin, and the
      origin itself, where ``z = 0 @ W = 0`` whatever ``W`` is);
    * **order one**: each column (with its bias) is scaled so that its largest ``|z|`` over the
      probe samples is in [1.5, 3]: far from the sigmoid's saturation (``sigmoid'(3) = 0.045``);
    * **both signs** in every hidden layer of width >= 2 (``s_k`` of both kinds): derivatives
      differ between units, and a ReLU layer has live units and dead ones, so a missing ReLU
      derivative shows;
    * the **output layer** (no kink for a sigmoid, tanh, identity or softmax output) is instead
      chosen for spread (:func:`_spread_output`): mixed signs, its pre-activation varying as much
      as possible across the samples, so that output-layer bugs show in a batch.  A ReLU output
      is built like a hidden layer.

    ``X`` (the probe samples) defaults to a grid of [0, 1]^d (11 x 11 for the lab's two inputs,
    which contains the 21 XOR points).  Deterministic: only ``rng`` draws, in a fixed order.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    hidden = get_activation(activation)
    out_act: Activation | str = (hidden if output is None else
                                 output if output == SOFTMAX else get_activation(output))
    dims = [int(d) for d in dims]
    a = _probe_grid(dims[0]) if X is None else np.asarray(X, dtype=float).reshape(-1, dims[0])
    weights: list[Array] = []
    biases: list[Array] | None = [] if bias else None
    for layer, (fan_in, fan_out) in enumerate(zip(dims, dims[1:])):
        last = layer == len(dims) - 2
        input_sign = np.ones(fan_in)
        input_peak = np.ones(fan_in)
        for j in range(fan_in):
            col = a[:, j]
            nonzero = col[col != 0.0]
            if nonzero.size and np.all(nonzero < 0):
                input_sign[j] = -1.0
            peak = float(np.max(np.abs(col))) if col.size else 0.0
            input_peak[j] = peak if peak > 0 else 1.0
        act = out_act if last else hidden
        if last and _act_name(act) not in _KINKED:
            W, b = _spread_output(a, input_peak, fan_out, rng, bias)
        else:
            signs = rng.choice([-1.0, 1.0], size=fan_out)
            if not last and fan_out >= 2 and abs(signs.sum()) == fan_out:
                signs[int(rng.integers(fan_out))] *= -1.0
            if not last and not np.any(signs > 0):
                signs[0] = 1.0
            magnitudes = rng.uniform(0.6, 1.2, (fan_in, fan_out)) / input_peak[:, None]
            W = input_sign[:, None] * signs[None, :] * magnitudes
            b = signs * rng.uniform(0.3, 0.6, fan_out) if bias else np.zeros(fan_out)
        z = a @ W + b
        peaks = np.max(np.abs(z), axis=0)
        targets = rng.uniform(1.5, 3.0, fan_out)
        factors = np.where(peaks > 0, targets / np.where(peaks > 0, peaks, 1.0), 1.0)
        W = W * factors[None, :]
        b = b * factors
        weights.append(W)
        if biases is not None:
            biases.append(b.reshape(1, -1))
        z = a @ W + b
        if act == SOFTMAX:
            break
        assert isinstance(act, Activation)
        a = act.forward(z)
    return weights, biases
