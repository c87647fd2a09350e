"""``step``: a notebook's training-step function applies the true gradient, layer by layer.

A generic kind for procedural code: the exercise's step is a function that takes the data, the
prediction, the weights and biases (dictionaries or lists by layer), the forward pass's
activations and a rate, and updates the weights (``backprop(x_true, y_true, y_pred, Ws, bs,
activations, alpha)`` of the [3,4,4,2] notebook).  The rubric says which argument is which.

Measurement: the grader draws a network of the rubric's widths and a batch, runs the reference
forward pass to make the prediction and the activations the function expects, and the child
calls the student's function once; what the weights became (returned, or changed in place) is
read back.  The applied gradient is ``(W_before - W_after) / rate``.

Judgement: Lab1's diagnosis (:func:`grader.diagnosis.diagnose`): every array must be the true
gradient of the rubric's loss up to one positive factor (any convention of the mean), the first
wrong layer and the known bug it matches are named (a sign, a missing derivative, ``W`` for
``W.T``, weights updated before the layers below used them...).

A notebook's step may also be one pass of a loop in a cell that updates weight variables
(``wout += x.T.dot(grad) * learning_rate``): then the rubric names the weights instead of a
function, the child watches the cell's loop as the notebook runs (``loops.py``) and the step is
read from the weights before and after one pass, on the data the notebook held then (the whole
set, or the batch ``X[i:i+b]`` a mini-batch loop took).  The rate is the loop's own, unknown:
the diagnosis allows one positive factor.  With ``accumulators`` (AdaGrad's ``r0 += dW**2``),
the step is first divided by the AdaGrad scale ``1 / sqrt(r)`` the loop applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reference.deferred import np
from grader.checks.base import ERROR, FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from grader.checks.function import sendable
from grader.diagnosis import DEFAULT_TOL, Net, diagnose
from grader.rubric import ACTIVATION_NAMES, IDENTIFIER, CheckConfig, setting
from reference.network import forward as reference_forward

ROLES = ("inputs", "labels", "prediction", "weights", "biases", "activations", "rate")
OUTPUTS = (*ACTIVATION_NAMES, "softmax")


@dataclass(frozen=True)
class StepCheck(CheckConfig):
    """``[checks.<name>]`` with ``kind = "step"``: a function that makes one training step."""

    names: tuple[str, ...] = setting((), "A step function's name, then accepted aliases "
                                         "(or weight_variables, for a loop in a cell).",
                                     valid=IDENTIFIER)
    arguments: tuple[str, ...] = setting(
        (), f"What each argument of the function is, in order: {', '.join(ROLES)}.",
        valid=(lambda t: t in ROLES, "one of " + ", ".join(ROLES)))
    weight_variables: tuple[str, ...] = setting(
        (), "For a training loop in a notebook cell: the weight variables, input layer first "
            "(['wh', 'wout']).", valid=IDENTIFIER)
    bias_variables: tuple[str, ...] = setting((), "Its bias variables, in the same order; "
                                                  "[]: a network without biases.",
                                              valid=IDENTIFIER)
    inputs: str = setting("X", "The variable holding the inputs, one row per sample.",
                          valid=IDENTIFIER)
    labels: str = setting("y", "The variable holding the labels.", valid=IDENTIFIER)
    batch_start: str = setting("", "For a mini-batch loop (for i in range(0, m, b)): the "
                                   "variable holding the first sample of a step's batch; "
                                   "empty: every step takes the whole data.",
                               valid=(lambda t: not t or IDENTIFIER[0](t), IDENTIFIER[1]))
    batch_size: str = setting("", "With batch_start: the variable (or the number) that is "
                                  "the batch size; empty: one sample.")
    accumulators: tuple[str, ...] = setting(
        (), "For AdaGrad: the variables accumulating each weight's squared gradient "
            "(r0, r1, r2), in the weights' order.", valid=IDENTIFIER)
    heading: str = setting("", "The loop is in a cell under the Markdown heading that "
                               "contains this text (\"Example 1\"); empty: anywhere.")
    occurrence: int = setting(1, "Which of the training loops (in the notebook's order, "
                                 "among those under the heading) that update every weight: "
                                 "1, the first (AND), 2, the second (OR)...", minimum=1)
    widths: tuple[int, ...] = setting((3, 4, 4, 2), "The network's widths, input to output.",
                                      minimum=1)
    hidden: str = setting("sigmoid", "The hidden layers' activation.",
                          valid=(lambda t: t in ACTIVATION_NAMES, ", ".join(ACTIVATION_NAMES)))
    output: str = setting("softmax", "The output layer's activation.",
                          valid=(lambda t: t in OUTPUTS, ", ".join(OUTPUTS)))
    loss: str = setting("cce", "The loss whose gradient the step must apply: mse, sse, "
                               "half_sse, bce, cce (categorical cross-entropy).",
                        valid=(lambda t: t in ("mse", "sse", "half_sse", "bce", "cce"),
                               "mse, sse, half_sse, bce or cce"))
    container: Literal["dict", "list"] = setting("dict", "How weights, biases and activations "
                                                         "are passed: dictionaries by layer "
                                                         "number, or lists.")
    batch: int = setting(6, "Samples in the batch the step is taken on.", minimum=1)
    rate: float = setting(0.1, "The rate passed to the function.", above=0)
    tolerance: float = setting(DEFAULT_TOL, "Largest relative error per array.", above=0)

    def problems(self):
        if bool(self.names) == bool(self.weight_variables):
            yield "names", ("expected either the function's name (names = [\"backprop\"]) or "
                            "the weight variables of a training loop (weight_variables)")
        elif self.names and "weights" not in self.arguments:
            yield "arguments", "missing; expected the role of every argument, weights included"
        if self.bias_variables and len(self.bias_variables) != len(self.weight_variables):
            yield "bias_variables", "expected one per weight variable"
        if self.accumulators and len(self.accumulators) != len(self.weight_variables):
            yield "accumulators", "expected one per weight variable"
        if len(self.widths) < 2:
            yield "widths", "expected at least an input and an output width"


def _network(ctx: GradingContext, conf: StepCheck):
    rng = ctx.rng(f"step {ctx.current}")
    widths = list(conf.widths)
    weights = [rng.uniform(-1, 1, size=(a, b)) / np.sqrt(a) for a, b in zip(widths, widths[1:])]
    biases = [rng.uniform(-0.5, 0.5, size=(1, b)) for b in widths[1:]]
    X = rng.uniform(-1, 1, size=(int(conf.batch), widths[0]))
    if conf.output == "softmax":
        Y = np.eye(widths[-1])[rng.integers(0, widths[-1], size=int(conf.batch))]
    else:
        Y = rng.integers(0, 2, size=(int(conf.batch), widths[-1])).astype(float)
    return weights, biases, X, Y


def _container(arrays: list[np.ndarray], kind: str, first: int = 0) -> Any:
    return {first + i: a for i, a in enumerate(arrays)} if kind == "dict" else list(arrays)


def _arrays(value: Any, count: int) -> list[np.ndarray] | None:
    """Arrays by layer from what came back: a dict (keys may have become strings) or a list."""
    if isinstance(value, dict):
        try:
            items = sorted(value.items(), key=lambda kv: int(kv[0]))
        except (TypeError, ValueError):
            return None
        value = [v for _, v in items]
    if not isinstance(value, (list, tuple)) or len(value) != count:
        return None
    try:
        return [np.asarray(v, dtype=float) for v in value]
    except (TypeError, ValueError):
        return None


@register("step", config=StepCheck, generic=True,
          summary="a training step (a function, or one pass of a cell's loop) applies the "
                  "true gradient, layer by layer")
def check_step(ctx: GradingContext) -> Verdict:
    conf: StepCheck = ctx.config(ctx.current)
    if conf.weight_variables:
        from grader.checks.loop_step import check_loop_step

        return check_loop_step(ctx, conf)
    weights, biases, X, Y = _network(ctx, conf)
    prediction, cache = reference_forward(weights, X, conf.hidden, conf.output, biases)
    activations = cache.outputs[1:-1]
    given = {"inputs": X, "labels": Y, "prediction": prediction, "rate": float(conf.rate),
             "weights": _container(weights, conf.container),
             "biases": _container(biases, conf.container),
             "activations": _container(activations, conf.container, first=1)}
    call = [sendable(given[role]) for role in conf.arguments]
    watch = {role: conf.arguments.index(role) for role in ("weights", "biases")
             if role in conf.arguments}
    step = ctx.probe("step_function", {"names": list(conf.names), "args": call,
                                       "watch": list(watch.values()), "seed": ctx.seed})
    failure = probe_failure(step, f"calling {conf.names[0]}")
    if failure:
        return Verdict(ERROR, failure, 0.0)
    observed = step.result
    if observed.get("found") is None:
        defined = ", ".join(observed.get("defined") or []) or "none"
        return Verdict(FAIL, f"no function {' or '.join(conf.names)} is defined (your "
                             f"functions: {defined})", 0.0)
    name = observed["found"]
    if "error" in observed:
        return Verdict(ERROR, f"{name} raised {describe_student_error(observed['error'])}", 0.0)
    after = _after(observed, watch, len(weights))
    if after is None:
        return Verdict(FAIL, f"{name} neither returned the new weights and biases nor changed "
                             "the ones it was given", 0.0)
    new_w, new_b = after
    if [w.shape for w in new_w] != [w.shape for w in weights]:
        return Verdict(FAIL, f"{name} gave back weights of shapes "
                             f"{[w.shape for w in new_w]}; they were {[w.shape for w in weights]}",
                       0.0)
    rate = float(conf.rate)
    measured_w = [(b - a) / rate for b, a in zip(weights, new_w)]
    measured_b = None if new_b is None else \
        [(b - np.asarray(a).reshape(b.shape)) / rate for b, a in zip(biases, new_b)]
    diagnosis = diagnose(weights, biases, X, Y, measured_w, measured_b, hidden=conf.hidden,
                         output=conf.output, loss=conf.loss, tol=float(conf.tolerance),
                         taylor_rng=ctx.rng(f"step taylor {ctx.current}"))
    details = {"function": name, f"batch of {int(conf.batch)}": diagnosis.to_dict()}
    if diagnosis.ok:
        return Verdict(PASS, f"{name} applies the true gradient in every layer ("
                             f"{diagnosis.message})", 1.0, details)
    message = diagnosis.message
    if _updated_before_use(weights, biases, X, Y, new_w, conf, measured_w):
        details["bug"] = "updated_before_use"
        message += (f" — {name} updates each layer's weights before the layer below computes "
                    "its delta from them, so every layer below the output is pushed by the "
                    "new weights, not the ones the forward pass used: compute every layer's "
                    "gradient first, then update")
    return Verdict(FAIL, message, 0.0, details)


def _updated_before_use(weights: list[np.ndarray], biases: list[np.ndarray], X: np.ndarray,
                        Y: np.ndarray, new_w: list[np.ndarray], conf: StepCheck,
                        measured: list[np.ndarray]) -> bool:
    """Whether the applied step is backpropagation through the weights as the step itself
    left them (the output layer's right, each layer below taking its delta from the layer
    above's updated weights): the order of a loop that updates as it goes."""
    net = Net(weights, biases, X, Y, conf.hidden, conf.output, conf.loss)
    model = net.backprop(back=lambda layer: new_w[layer].T)[:len(weights)]
    flat_m = np.concatenate([m.ravel() for m in measured])
    flat_g = np.concatenate([g.ravel() for g in model])
    scale = float(flat_m @ flat_g / max(float(flat_g @ flat_g), 1e-300))
    if not scale > 0:
        return False
    gap = np.linalg.norm(flat_m - scale * flat_g) / max(np.linalg.norm(flat_m), 1e-300)
    return bool(gap < 1e-6)


def _after(observed: dict[str, Any], watch: dict[str, int], layers: int
           ) -> tuple[list[np.ndarray], list[np.ndarray] | None] | None:
    """The weights and biases after the step: returned as ``(Ws, bs)``, or changed in place."""
    returned = observed.get("returned")
    if isinstance(returned, list) and len(returned) == 2:
        new_w, new_b = _arrays(returned[0], layers), _arrays(returned[1], layers)
        if new_w is not None:
            return new_w, new_b
    changed = observed.get("after") or {}
    new_w = _arrays(changed.get(str(watch.get("weights"))), layers)
    if new_w is None:
        return None
    new_b = _arrays(changed.get(str(watch.get("biases"))), layers) if "biases" in watch else None
    return new_w, new_b
