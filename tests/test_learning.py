"""Learning how a program builds and steps its network, from the tracer's record
(``grader/learning.py``), and the widths read off a network's arrays (``grader/layout.py``).

The records here are written as the tracer writes them, for programs in the styles real
students use; ``tests/test_child_tracer.py`` checks that the tracer writes them so.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.batch import rubric_settings
from grader.checks.base import PASS
from grader.discover import discover
from grader.grading import grade_submission
from grader.layout import candidate_dims
from grader.learning import learn, unsupported_roles
from grader.rubric import load_rubric


def grade_source(tmp_path: Path, name: str, source: str, only: set[str]) -> Any:
    """Grade a program written here as the student file ``name``, with the shipped rubric."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    [sub] = discover(path, workdir=tmp_path / "work")
    return grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                            only=only)


def number(value: float) -> dict[str, Any]:
    return {"type": "number", "value": value}


def array(ref: int, shape: list[int], binary: bool = False) -> dict[str, Any]:
    return {"type": "array", "ref": ref, "shape": shape, "dtype": "float64",
            "summary": {"min": 0.0, "max": 1.0, "binary": binary}}


def call(i: int, method: str, args: list, result: dict | None = None, changed=(),
         kwargs: dict | None = None, obj: int = 0, caller=None) -> dict[str, Any]:
    return {"i": i, "kind": "call", "object": obj, "method": method, "args": args,
            "kwargs": kwargs or {}, "caller": caller, "result": result or {"type": "literal",
                                                                           "value": None},
            "changed": list(changed)}


def construct(args: list, kwargs: dict | None = None, cls: str = "Net", obj: int = 0,
              caller=None) -> dict[str, Any]:
    return {"i": 0, "kind": "construct", "object": obj, "class": cls, "args": args,
            "kwargs": kwargs or {}, "caller": caller}


def per_sample_program(repeats: int = 5) -> dict[str, Any]:
    """``net = Net(2, 4, 4, 1, lr=0.1)``; per sample: ``out = net.forward(x)``,
    ``net.backward(x, y, out)``, ``net.update()``; and a loss print with ``net.forward(X)``."""
    events = [construct([number(2), number(4), number(4), number(1)], {"lr": number(0.1)})]
    ref = 10
    for n in range(repeats):
        x, y, out = ref, ref + 1, ref + 2
        ref += 3
        events += [call(len(events), "forward", [array(x, [1, 2])], array(out, [1, 1]),
                        changed=["a1", "a2"]),
                   call(len(events) + 1, "backward",
                        [array(x, [1, 2]), array(y, [1, 1], binary=True), array(out, [1, 1])],
                        changed=["dW1", "dW2", "dW3"]),
                   call(len(events) + 2, "update", [], changed=["W1", "W2", "W3"])]
    events.append(call(len(events), "forward", [array(999, [100, 2])], array(1000, [100, 1])))
    return {"events": events, "stopped": "repeats"}


def test_a_per_sample_program_is_learned_with_the_roles_of_its_arguments():
    protocol = learn(per_sample_program())
    assert protocol is not None
    assert protocol.network_class == "Net" and protocol.predict == "forward"
    assert [c.method for c in protocol.step] == ["forward", "backward", "update"]
    assert protocol.step[0].args == [{"role": "x", "ndim": 2}]
    assert protocol.step[1].args == [{"role": "x", "ndim": 2}, {"role": "y", "ndim": 2},
                                     {"role": "output", "of": 0}]
    assert protocol.input == "rows" and protocol.samples_per_step == 1
    assert protocol.student_lr is None and not unsupported_roles(protocol)
    assert protocol.describe() == ("net = Net(2, 4, 4, 1, lr=0.1); out0 = net.forward(x); "
                                   "net.backward(x, y, out0); net.update()")


def test_the_rate_a_step_passes_becomes_the_graders_and_columns_are_recognised():
    events = [construct([{"type": "literal", "value": [2, 3, 3, 1]}], cls="NN")]
    for n in range(4):
        x, y, out = 10 * n, 10 * n + 1, 10 * n + 2
        events += [call(0, "predict", [array(x, [2, 21])], array(out, [1, 21])),
                   call(0, "backprop", [array(y, [1, 21], binary=True)], changed=["g"]),
                   call(0, "update", [number(0.8)], changed=["W"])]
    protocol = learn({"events": events})
    assert protocol is not None and protocol.input == "cols" and protocol.samples_per_step == 21
    assert protocol.step[2].args[0]["role"] == "lr" and protocol.student_lr == 0.8
    assert protocol.describe().endswith("net.backprop(y); net.update(lr)")


@pytest.mark.parametrize("names, args, kwargs, rate", [
    (["self", "grads", "lr", "beta"], [array(5, [3]), number(0.1), number(0.9)], {}, 1),
    (["self", "beta", "lr"], [number(0.9), number(0.1)], {}, 1),
    (["self", "lr"], [number(0.1)], {"momentum": number(0.5)}, 0),
    (["self", "l_rate", "n_epoch"], [number(0.3), number(3)], {}, 0),
])
def test_the_rate_is_the_number_named_like_one_not_a_momentum_beside_it(names, args, kwargs,
                                                                        rate):
    events = [construct([{"type": "literal", "value": [2, 3, 3, 1]}], cls="NN")]
    for n in range(3):
        x, y, out = 10 * n, 10 * n + 1, 10 * n + 2
        events += [call(0, "predict", [array(x, [2, 21])], array(out, [1, 21])),
                   call(0, "backprop", [array(y, [1, 21], binary=True)], changed=["g"]),
                   dict(call(0, "optimize", args, kwargs=kwargs, changed=["W"]),
                        names=names[1:])]
    protocol = learn({"events": events})
    assert protocol is not None
    roles = [*protocol.step[2].args, *protocol.step[2].kwargs.values()]
    assert [r["role"] for r in roles].count("lr") == 1
    assert roles[rate]["role"] == "lr" and protocol.student_lr == roles[rate]["value"]["value"]


def test_a_tuple_returned_by_the_forward_pass_is_passed_on_by_item():
    events = [construct([{"type": "literal", "value": [2, 3, 3, 1]}])]
    for n in range(3):
        x, y, out, cache = 10 * n, 10 * n + 1, 10 * n + 2, 10 * n + 3
        result = {"type": "sequence", "tuple": True,
                  "items": [array(out, [21, 1]), array(cache, [21, 3])]}
        events += [call(0, "forwardPass", [array(x, [21, 2])], result),
                   call(0, "backwardPass", [array(y, [21, 1], binary=True), array(cache, [21, 3])],
                        changed=["grads"]),
                   call(0, "update", [number(1)], changed=["W"])]
    protocol = learn({"events": events})
    assert protocol is not None
    assert protocol.step[1].args == [{"role": "y", "ndim": 2},
                                     {"role": "output", "of": 0, "item": 1}]
    assert protocol.step[2].args[0]["role"] == "lr"  # a rate of 1, written as an int


def test_what_cannot_be_replayed_is_said_or_not_learned():
    # backward(dout): the loss gradient the program computed itself
    events = [construct([])]
    for n in range(3):
        events += [call(0, "forward", [array(10 * n, [1, 2])], array(10 * n + 1, [1, 1])),
                   call(0, "backward", [array(10 * n + 5, [1, 1])], changed=["W"])]
    protocol = learn({"events": events})
    assert protocol is not None and unsupported_roles(protocol) == ["backward(argument 1)"]
    # a network built from an array that is not the lab's data cannot be built again
    built = per_sample_program()
    built["events"][0]["args"] = [array(500, [100, 7])]
    assert learn(built) is None
    # a program that only predicts, or defines and never trains, shows no step
    only = [construct([]), call(1, "forward", [array(1, [1, 2])], array(2, [1, 1]))]
    assert learn({"events": only}) is None and learn({"events": []}) is None


def test_the_trained_object_is_the_network_not_a_layer_or_a_helper():
    events = per_sample_program()["events"]
    events.insert(1, construct([number(2), number(4)], cls="Dense", obj=1, caller=0))
    events.insert(2, construct([], cls="Logger", obj=2))
    events += [call(0, "log", [number(0.5)], obj=2, changed=["history"])]
    protocol = learn({"events": events})
    assert protocol is not None and protocol.network_class == "Net"


def inside_train_program(steps: int = 30, methods=("forward", "backward", "update"),
                         first: int = 1) -> list[dict[str, Any]]:
    """``net.train(X, Y, epochs=50000, lr=0.1)`` (event ``first``, never finished) whose body
    calls, per sample, ``self.forward(x)``, ``self.backward(y)``, ``self.update(lr)``: x a new
    slice of X every time, lr the number train was given."""
    forward, backward, update = methods
    train = {**call(first, "train", [array(1, [4, 2]), array(2, [4, 1], binary=True)],
                    kwargs={"epochs": number(50000), "lr": number(0.1)}),
             "result": None, "changed": None, "unfinished": True}
    events = [train]
    for n in range(steps):
        x, y, out = 100 + 3 * n, 101 + 3 * n, 102 + 3 * n
        i = first + len(events)
        events += [{**call(i, forward, [array(x, [1, 2])], array(out, [1, 1]), changed=["a1"],
                           caller=0), "within": first},
                   {**call(i + 1, backward, [array(y, [1, 1], binary=True)], changed=["g1"],
                           caller=0), "within": first},
                   {**call(i + 2, update, [number(0.1)], changed=["W1"], caller=0),
                    "within": first}]
    return events


def test_a_program_that_trains_inside_one_method_is_stepped_as_that_method_steps():
    events = [construct([number(2), number(4), number(4), number(1)]), *inside_train_program()]
    protocol = learn({"events": events, "stopped": "repeats"})
    assert protocol is not None and protocol.within == "train"
    assert [c.method for c in protocol.step] == ["forward", "backward", "update"]
    assert [c.args for c in protocol.step] == [[{"role": "x", "ndim": 2}],
                                               [{"role": "y", "ndim": 2}],
                                               [{"role": "lr", "value": number(0.1)}]]
    assert protocol.student_lr == 0.1 and protocol.samples_per_step == 1
    assert protocol.input == "rows" and not unsupported_roles(protocol)
    assert protocol.describe() == ("net = Net(2, 4, 4, 1); net.train(...) steps by "
                                   "out0 = self.forward(x); self.backward(y); self.update(lr)")
    # one step inside is not a step shown
    short = [construct([]), *inside_train_program(steps=1)]
    assert learn({"events": short, "stopped": "ended"}) is None


def test_the_calls_made_from_outside_are_preferred_to_those_inside_a_method():
    events = per_sample_program()["events"]
    events += inside_train_program(methods=("_forward", "_backward", "_apply"),
                                   first=len(events))
    protocol = learn({"events": events})
    assert protocol is not None and protocol.within is None
    assert [c.method for c in protocol.step] == ["forward", "backward", "update"]
    assert protocol.describe().endswith("out0 = net.forward(x); net.backward(x, y, out0); "
                                        "net.update()")


def test_hidden_widths_are_read_off_the_arrays():
    assert candidate_dims([("W1", (2, 4)), ("W2", (4, 4)), ("W3", (4, 1))], (2, 3, 3, 1)) \
        == [(2, 4, 4, 1)]
    assert candidate_dims([("w1", (3, 10)), ("w2", (11, 8)), ("w3", (9, 1))], (2, 3, 3, 1)) \
        == [(2, 10, 8, 1)]  # biases folded in as a last row
    lab = candidate_dims([("w1", (2, 3)), ("w2", (3, 3)), ("w3", (3, 1))], (2, 3, 3, 1))
    assert lab[0] == (2, 3, 3, 1)  # the lab's widths first, when they fit
    assert candidate_dims([("theta", (18,))], (2, 3, 3, 1)) == []


def test_a_program_that_stops_within_its_first_step_shows_no_step():
    """The program's update crashed (or its backprop exited) on the first step: what it calls
    is not a whole step, so the grader drives the network by the lab's names instead."""
    events = [construct([{"type": "literal", "value": [2, 3, 3, 1]}], cls="NN"),
              call(1, "predict", [array(1, [1, 2])], array(2, [1, 1])),
              call(2, "backprop", [array(3, [1, 1], binary=True)], changed=["grads[2]"]),
              {**call(3, "update", [number(0.8)]), "raised": "ValueError"}]
    assert learn({"events": events, "stopped": "error"}) is None


def one_step_then_loss_crash(backward_changes: dict[str, Any]) -> dict[str, Any]:
    """``p = net.forward(X); net.backward(y, p)``, then ``net.compute_loss(p, y)`` raises: the
    2020 skeleton's lineage, where a loss written wrongly ends the program after one step."""
    return {"events": [
        construct([{"type": "literal", "value": [10, 10]}], {"lr": number(0.1)},
                  cls="SimpleNet"),
        call(1, "forward", [array(1, [21, 2])], array(2, [21, 1]), changed=["a[1]"]),
        {**call(2, "backward", [array(3, [21, 1], binary=True), array(2, [21, 1])]),
         **backward_changes},
        {**call(3, "compute_loss", [array(2, [21, 1]), array(3, [21, 1], binary=True)]),
         "raised": "TypeError"}], "stopped": "error"}


def test_one_whole_step_then_a_crash_evaluating_its_output_shows_the_step():
    """The step updated the weights the network held; the crash came after, in a call
    evaluating the step's output: the step was whole."""
    protocol = learn(one_step_then_loss_crash({"changed": ["W[1]", "W[2]", "W[3]"]}))
    assert protocol is not None
    assert [c.method for c in protocol.step] == ["forward", "backward"]
    assert protocol.step[1].args == [{"role": "y", "ndim": 2}, {"role": "output", "of": 0}]


def test_one_step_that_only_stored_new_arrays_before_a_crash_shows_no_step():
    """Gradients stored for the first time are no update: the update may be what the crash
    kept the program from reaching."""
    changes = {"changed": ["dW[1]", "dW[2]"], "new": ["dW[1]", "dW[2]"]}
    assert learn(one_step_then_loss_crash(changes)) is None


def test_a_call_that_raised_after_whole_steps_stays_in_the_step():
    events = [construct([{"type": "literal", "value": [2, 3, 3, 1]}], cls="NN")]
    for n in range(3):
        events += [call(1, "predict", [array(10 * n, [1, 2])], array(10 * n + 1, [1, 1])),
                   call(2, "backprop", [array(10 * n + 2, [1, 1], binary=True)],
                        changed=["grads[2]"]),
                   {**call(3, "update", [number(0.8)], changed=["W"]),
                    **({"raised": "ValueError"} if n == 2 else {})}]
    protocol = learn({"events": events, "stopped": "error"})
    assert protocol is not None
    assert [c.method for c in protocol.step] == ["predict", "backprop", "update"]


def test_a_method_that_makes_a_whole_step_is_one_step_however_often_it_is_repeated():
    """``net.forward(X)`` to print the loss, then ``net.train(X, y)`` again and again, each a
    full step: one step is one train call."""
    events = [construct([], cls="Neural_Network")]
    events.append(call(1, "forward", [array(1, [100, 2])], array(2, [100, 1])))
    events += [call(2 + n, "train", [array(1, [100, 2]), array(3, [100, 1], binary=True)],
                    changed=["W1", "W2", "W3"]) for n in range(12)]
    protocol = learn({"events": events})
    assert protocol is not None
    assert [c.method for c in protocol.step] == ["forward", "train"]
    assert protocol.step[1].args == [{"role": "x", "ndim": 2}, {"role": "y", "ndim": 2}]


def test_one_sample_fed_as_a_vector_is_replayed_as_a_vector():
    """``for x, y in zip(X, Y): out = net.forward(x); net.backward(y)`` with x of shape (2,)
    and y of shape (1,): the roles keep the program's shapes."""
    events = [construct([])]
    for n in range(3):
        events += [call(0, "forward", [array(10 * n, [2])], array(10 * n + 1, [1])),
                   call(0, "backward", [array(10 * n + 2, [1], binary=True)], changed=["W"])]
    protocol = learn({"events": events})
    assert protocol is not None and protocol.samples_per_step == 1
    assert protocol.step[0].args == [{"role": "x", "ndim": 1}]
    assert protocol.step[1].args == [{"role": "y", "ndim": 1}]


TRAINS_INSIDE = """
import numpy as np


class Net:
    def __init__(self, n_in, h1, h2, n_out):
        rng = np.random.default_rng(1)
        self.W1 = rng.normal(size=(n_in, h1))
        self.W2 = rng.normal(size=(h1, h2))
        self.W3 = rng.normal(size=(h2, n_out))

    @staticmethod
    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def _forward(self, x):
        self.x = x
        self.a1 = self.sigmoid(x @ self.W1)
        self.a2 = self.sigmoid(self.a1 @ self.W2)
        self.out = self.sigmoid(self.a2 @ self.W3)
        return self.out

    def _backward(self, y):
        d3 = 2 * (self.out - y) * self.out * (1 - self.out)
        d2 = (d3 @ self.W3.T) * self.a2 * (1 - self.a2)
        d1 = (d2 @ self.W2.T) * self.a1 * (1 - self.a1)
        self.g3, self.g2, self.g1 = self.a2.T @ d3, self.a1.T @ d2, self.x.T @ d1

    def _apply(self, lr):
        self.W1 -= lr * self.g1
        self.W2 -= lr * self.g2
        self.W3 -= lr * self.g3

    def train(self, X, Y, epochs, lr):
        for epoch in range(epochs):
            for i in range(len(X)):
                self._forward(X[i:i + 1])
                self._backward(Y[i:i + 1])
                self._apply(lr)


if __name__ == "__main__":
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    Y = np.array([[0], [1], [1], [0]], dtype=float)
    net = Net(2, 4, 4, 1)
    net.train(X, Y, epochs=50000, lr=0.1)
    print(net._forward(X))
"""


@pytest.mark.slow
def test_a_network_that_trains_inside_its_own_method_is_graded_through_that_step(
        tmp_path: Path) -> None:
    """No method is named as the lab names them: only the step learned from inside ``train``
    can drive the network."""
    verdicts = grade_source(tmp_path, "DLP_LAB1_0900401_Inside.py", TRAINS_INSIDE, {"interface", "forward", "gradient"}).verdicts
    interface = verdicts["interface"]
    assert "built and stepped as your program does" in interface.message, interface.message
    assert "net.train(...) steps by out0 = self._forward(x); self._backward(y); " \
        "self._apply(lr)" in interface.message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message


# --- a loss gradient the program computes itself ------------------------------------------------

def dout_program(gradient, values: bool = True, repeats: int = 4,
                 n: int = 5) -> dict[str, Any]:
    """``out = net.forward(X); net.backward(<gradient of out and Y>); net.update()`` on a batch
    of ``n``, with the recorded values of ``out`` and of the gradient (``values`` or, as the
    tracer records a large batch, ``head``), and one activation object the network calls."""
    import numpy as np

    rng = np.random.default_rng(3)
    events = [construct([number(2), number(4), number(4), number(1)]),
              construct([], cls="Sigmoid", obj=1, caller=0)]
    ref = 10
    for _ in range(repeats):
        p = rng.uniform(0.05, 0.95, (n, 1))
        y = rng.integers(0, 2, (n, 1)).astype(float)
        out = array(ref + 1, [n, 1]) | {("values" if values else "head"): p.tolist()}
        grad = array(ref + 2, [n, 1]) | {("values" if values else "head"):
                                         gradient(p, y).tolist()}
        events += [call(len(events), "forward", [array(ref, [n, 2])], out, changed=["a1"]),
                   call(len(events) + 1, "forward", [array(ref + 5, [n, 4])],
                        array(ref + 6, [n, 4]), changed=["cache"], obj=1, caller=0),
                   call(len(events) + 2, "forward", [array(ref + 7, [n, 4])],
                        array(ref + 8, [n, 4]), changed=["cache"], obj=1, caller=0),
                   call(len(events) + 3, "backward", [grad], changed=["dW1"]),
                   call(len(events) + 4, "update", [], changed=["W1", "W2", "W3"])]
        ref += 10
    return {"events": events, "stopped": "repeats"}


@pytest.mark.parametrize("gradient, text, role", [
    (lambda p, y: 2 * (p - y) / len(y), "net.backward(2*(out0 - y)/N)",
     {"form": "mse", "scale": 2.0, "mean": True}),
    (lambda p, y: y - p, "net.backward(-(out0 - y))", {"form": "mse", "scale": -1.0,
                                                       "mean": False}),
    (lambda p, y: -(y / p - (1 - y) / (1 - p)), "net.backward(dBCE(out0, y))",
     {"form": "bce", "scale": 1.0, "mean": False}),
])
def test_a_loss_gradient_computed_by_the_program_is_recognised_from_its_values(gradient, text,
                                                                              role):
    for values in (True, False):
        protocol = learn(dout_program(gradient, values=values))
        assert protocol is not None and protocol.network_class == "Net"
        assert protocol.step[1].args == [{"role": "loss_grad", "of": 0} | role]
        assert not unsupported_roles(protocol)
        assert text in protocol.describe()


def test_an_array_that_is_no_loss_gradient_stays_unknown():
    import numpy as np

    protocol = learn(dout_program(lambda p, y: np.cos(3 * p) + y))
    assert protocol is not None
    assert protocol.step[1].args[0]["role"] == "unknown"
    assert unsupported_roles(protocol) == ["backward(argument 1)"]


def test_the_network_is_the_object_the_program_calls_not_an_activation_it_shares():
    """One activation object used by both hidden layers is called twice per step, by the
    network: more often than the network itself, which the program calls."""
    protocol = learn(dout_program(lambda p, y: p - y))
    assert protocol is not None and protocol.network_class == "Net"
    assert [c.method for c in protocol.step] == ["forward", "backward", "update"]


# --- a program of functions -------------------------------------------------------------------

def function(i: int, name: str, args: list, result: dict | None = None,
             caller=None) -> dict[str, Any]:
    return {"i": i, "kind": "function", "name": name, "args": args, "kwargs": {},
            "caller": caller, "result": result or {"type": "literal", "value": None}}


def sequence(*items: dict) -> dict[str, Any]:
    return {"type": "sequence", "items": list(items)}


def functional_program(returns_new: bool = True, repeats: int = 4) -> dict[str, Any]:
    """``w1, b1, w2 = init(2, 4, 1)``; per step ``h, out = forward(x, w1, b1, w2)`` (the zero
    bias included), ``sigmoid`` called inside, then ``w1, b1, w2 = backward(x, y, h, out, w1,
    b1, w2, 0.1)`` returning new arrays (or updating them in place and returning nothing)."""
    weights = [array(1, [2, 4]), array(2, [1, 4], binary=True), array(3, [4, 1])]
    events = [function(0, "init", [number(2), number(4), number(1)], sequence(*weights))]
    ref = 100
    for _ in range(repeats):
        x, y, h, out = array(ref, [1, 2]), array(ref + 1, [1, 1], binary=True), \
            array(ref + 2, [1, 4]), array(ref + 3, [1, 1])
        events.append(function(len(events), "forward", [x, *weights], sequence(h, out)))
        events.append(function(len(events), "sigmoid", [array(ref + 9, [1, 4])],
                               array(ref + 8, [1, 4]), caller="forward"))
        new = [array(ref + 4 + k, w["shape"]) for k, w in enumerate(weights)] \
            if returns_new else weights
        events.append(function(len(events), "backward", [x, y, h, out, *weights, number(0.1)],
                               sequence(*new) if returns_new else None))
        weights = new
        ref += 10
    return {"events": events, "stopped": "time"}


@pytest.mark.parametrize("returns_new", [True, False])
def test_a_program_of_functions_is_learned_with_its_weights(returns_new):
    protocol = learn(functional_program(returns_new))
    assert protocol is not None and protocol.procedure is not None
    assert protocol.procedure["shapes"] == [[2, 4], [1, 4], [4, 1]]
    assert protocol.procedure["init"]["function"] == "init"
    assert protocol.procedure["functions"] == ["backward", "forward"]
    params = [{"role": "param", "index": k} for k in range(3)]
    assert protocol.step[0].args == [{"role": "x", "ndim": 2}, *params]
    assert protocol.step[1].args[:4] == [{"role": "x", "ndim": 2}, {"role": "y", "ndim": 2},
                                         {"role": "output", "of": 0, "item": 0},
                                         {"role": "output", "of": 0, "item": 1}]
    assert protocol.step[1].args[4:7] == params and protocol.student_lr == 0.1
    assert protocol.step[1].returns == ({0: 0, 1: 1, 2: 2} if returns_new else {})
    assert not unsupported_roles(protocol)
    assert protocol.describe().startswith("W1, W2, W3 = init(2, 4, 1); out0 = forward(x, W1, "
                                          "W2, W3); ")


def test_functions_that_never_take_the_weights_back_are_no_network():
    trace = functional_program()
    for event in trace["events"]:
        if event["name"] == "backward":
            event["args"] = event["args"][:4]
            event["result"] = {"type": "literal", "value": None}
    assert learn(trace) is None


# --- a network built with its training data ------------------------------------------------------

def data_bound_program(steps: int = 5) -> dict[str, Any]:
    """``model = Model(X, y, hidden=4, lr=0.5)``; then ``loss = model.backward()`` again and
    again, each predicting with ``self.forward(self.X)`` inside."""
    x, y = array(1, [21, 2]), array(2, [21, 1], binary=True)
    events = [construct([x, y], {"hidden": number(4), "lr": number(0.5)}, cls="Model")]
    for n in range(steps):
        outer = len(events)
        events.append(call(outer, "backward", [], number(0.25), changed=["layers[0].W"]))
        events.append({**call(outer + 1, "forward", [x], array(100 + n, [21, 1])),
                       "within": outer, "caller": 0})
    return {"events": events, "stopped": "repeats"}


def test_a_network_built_with_its_data_is_stepped_by_its_own_call():
    protocol = learn(data_bound_program())
    assert protocol is not None
    assert protocol.describe() == ("net = Model(x, y, hidden=4, lr=0.5); "
                                   "out0 = net.forward(x); net.backward()")
    x, y = protocol.constructor["args"]
    assert (x["type"], x["role"], x["shape"]) == ("data", "x", [21, 2])
    assert (y["type"], y["role"]) == ("data", "y")
    assert protocol.within is None and protocol.samples_per_step == 21


def test_data_that_is_no_batch_of_the_labs_inputs_stays_unreplayable():
    trace = data_bound_program()
    trace["events"][0]["args"][0] = array(1, [21, 3])  # three features: not the lab's data
    assert learn(trace) is None


def test_one_call_of_the_whole_step_is_not_enough():
    assert learn(data_bound_program(steps=1)) is None


NEVER_TRAINS = '''
import numpy as np


class Net:
    def __init__(self, hidden=4, rate=0.5):
        self.W = [np.random.randn(2, hidden), np.random.randn(hidden, hidden),
                  np.random.randn(hidden, 1)]
        self.rate = rate

    def forward(self, x):
        self.a = [x]
        for W in self.W:
            self.a.append(1 / (1 + np.exp(-self.a[-1] @ W)))
        return self.a[-1]

    def backward(self, y):
        d = 2 * (self.a[-1] - y) * self.a[-1] * (1 - self.a[-1])
        for k in (2, 1, 0):
            g = self.a[k].T @ d
            d = (d @ self.W[k].T) * self.a[k] * (1 - self.a[k])
            self.W[k] -= self.rate * g

    def train(self, X, y, epochs=20000):
        for epoch in range(epochs):
            self.forward(X)
            self.backward(y)


net = Net(hidden=4, rate=0.5)
# net.train(X, y)   the experiments were commented out before submitting
'''


@pytest.mark.slow
def test_a_network_the_program_never_trains_is_graded_through_its_own_train(tmp_path: Path
                                                                            ) -> None:
    verdicts = grade_source(tmp_path, "DLP_LAB1_0900404_Never.py", NEVER_TRAINS, {"interface", "forward", "gradient"}).verdicts
    message = verdicts["interface"].message
    assert "your program never trains its network, so the grader called its train(X, y) on " \
        "the XOR data to see how it learns: net = Net(hidden=4, rate=0.5); net.train(...) " \
        "steps by out0 = self.forward(x); self.backward(y)" in message, message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message


# --- a program whose weights are one dict passed around (Andrew Ng's style) -------------------

def params_dict(ref: int) -> dict[str, Any]:
    return {"type": "mapping", "ref": ref, "items": {
        "W1": array(ref + 1, [4, 2]), "b1": array(ref + 2, [4, 1]),
        "W2": array(ref + 3, [1, 4]), "b2": array(ref + 4, [1, 1]),
        "act": {"type": "literal", "value": "sigmoid"}}}


def dict_program(repeats: int = 4) -> dict[str, Any]:
    """``params = init([2, 4, 1])``; per step ``AL, caches = forward(X, params)``,
    ``grads = backward(AL, Y, caches)``, ``params = update(params, grads, 0.5)``."""
    params = params_dict(1)
    events = [function(0, "init", [{"type": "literal", "value": [2, 4, 1]}], params)]
    ref = 100
    for _ in range(repeats):
        x, y = array(7, [2, 21]), array(8, [1, 21], binary=True)
        al, caches, grads = array(ref, [1, 21]), array(ref + 1, [4, 21]), \
            {"type": "mapping", "ref": ref + 2, "items": {"dW1": array(ref + 3, [4, 2])}}
        new = params_dict(ref + 10)
        events += [function(len(events), "forward", [x, params], sequence(al, caches)),
                   function(len(events) + 1, "backward", [al, y, caches], grads),
                   function(len(events) + 2, "update", [params, grads, number(0.5)], new)]
        params = new
        ref += 20
    return {"events": events, "stopped": "time"}


def test_a_dict_of_weights_passed_around_is_one_weight():
    protocol = learn(dict_program())
    assert protocol is not None and protocol.procedure is not None
    assert protocol.describe() == (
        "params = init([2, 4, 1]); out0 = forward(x, params); "
        "out1 = backward(out0[0], y, out0[1]); params = update(params, out1, lr)")
    [shape] = protocol.procedure["shapes"]
    assert shape["arrays"] == {"W1": [4, 2], "b1": [4, 1], "W2": [1, 4], "b2": [1, 1]}
    assert shape["values"] == {"act": {"type": "literal", "value": "sigmoid"}}
    assert protocol.procedure["init"]["items"] == {-1: 0}
    assert protocol.input == "cols" and protocol.student_lr == 0.5


def test_methods_passing_a_dict_of_weights_are_played_on_the_object_the_program_built():
    """The same program written as methods of ``Trainer(lr=0.5)``, called inside its
    ``train(X, Y)``: the object holds no weights, its methods are the procedure's."""
    events = [construct([], {"lr": number(0.5)}, cls="Trainer", obj=3)]
    events.append(call(1, "train", [array(7, [2, 21]), array(8, [1, 21], binary=True)], obj=3))
    for e in dict_program()["events"]:
        method = {k: v for k, v in e.items() if k not in ("name", "kind")}
        events.append(dict(method, kind="call", method=e["name"], object=3, caller=3, within=1,
                           i=e["i"] + 2))
    protocol = learn({"events": events, "stopped": "time"})
    assert protocol is not None and protocol.procedure is not None
    assert protocol.procedure["object"] == {"class": "Trainer", "args": [],
                                            "kwargs": {"lr": number(0.5)}}
    assert protocol.describe() == (
        "net = Trainer(lr=0.5); params = net.init([2, 4, 1]); out0 = net.forward(x, params); "
        "out1 = net.backward(out0[0], y, out0[1]); params = net.update(params, out1, lr)")


NG_STYLE = '''
import numpy as np


def generate_XOR_easy():
    inputs, labels = [], []
    for i in range(11):
        inputs.append([0.1 * i, 0.1 * i]); labels.append(0)
        if 0.1 * i == 0.5:
            continue
        inputs.append([0.1 * i, 1 - 0.1 * i]); labels.append(1)
    return np.array(inputs), np.array(labels).reshape(21, 1)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def initialize_parameters(layer_dims):
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1])
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


def forward_propagation(X, parameters):
    caches = [X]
    for l in range(1, 4):
        caches.append(sigmoid(parameters["W%d" % l] @ caches[-1] + parameters["b%d" % l]))
    return caches[-1], caches


def backward_propagation(AL, Y, caches, parameters):
    grads = {}
    dZ = 2 * (AL - Y) / Y.shape[1] * AL * (1 - AL)
    for l in range(3, 0, -1):
        grads["dW%d" % l] = dZ @ caches[l - 1].T
        grads["db%d" % l] = dZ.sum(axis=1, keepdims=True)
        A = caches[l - 1]
        dZ = (parameters["W%d" % l].T @ dZ) * A * (1 - A)
    return grads


def update_parameters(parameters, grads, learning_rate):
    return {key: value - learning_rate * grads["d" + key] for key, value in parameters.items()}


X, Y = generate_XOR_easy()
parameters = initialize_parameters([2, 4, 4, 1])
for i in range(20000):
    AL, caches = forward_propagation(X.T, parameters)
    grads = backward_propagation(AL, Y.T, caches, parameters)
    parameters = update_parameters(parameters, grads, 1.0)
'''


@pytest.mark.slow
def test_a_program_passing_a_dict_of_weights_is_played_and_graded(tmp_path: Path) -> None:
    verdicts = grade_source(tmp_path, "DLP_LAB1_0900407_Ng.py", NG_STYLE, {"interface", "forward", "gradient"}).verdicts
    message = verdicts["interface"].message
    assert "played as your program does: params = initialize_parameters([2, 4, 4, 1]); " \
        "out0 = forward_propagation(x, params); out1 = backward_propagation(out0[0], y, " \
        "out0[1], params); params = update_parameters(params, out1, lr)" in message, message
    assert verdicts["forward"].status == PASS, verdicts["forward"].message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message


def test_the_batch_sliced_anew_for_the_backward_call_is_the_batch():
    """``net.forward(X[i:i+1])`` then ``net.backward(X[i:i+1], dout, out)``: two slices, one
    sample."""
    events = [construct([])]
    for n in range(3):
        x = {**array(10 * n, [1, 2]), "values": [[0.1 * n, 0.9]]}
        again = {**x, "ref": 10 * n + 5}
        events += [call(0, "forward", [x], array(10 * n + 1, [1, 1])),
                   call(0, "backward", [again, array(10 * n + 2, [1, 1], binary=True)],
                        changed=["W"])]
    protocol = learn({"events": events})
    assert protocol is not None
    assert protocol.step[1].args[0] == {"role": "x", "ndim": 2}


MULTI_FILE = {
    "layers.py": '"""Layers: each one a fully connected layer with its sigmoid, forward, backward and update."""\nimport numpy as np\n\n\nclass Dense:\n    """A fully connected sigmoid layer that keeps its gradient until update."""\n\n    def __init__(self, n_in, n_out):\n        self.W = np.random.uniform(-1, 1, (n_in, n_out))\n        self.b = np.zeros((1, n_out))\n\n    def forward(self, x):\n        self.x = x\n        self.out = 1 / (1 + np.exp(-(x @ self.W + self.b)))\n        return self.out\n\n    def backward(self, grad):\n        delta = grad * self.out * (1 - self.out)\n        self.dW = self.x.T @ delta\n        self.db = delta.sum(axis=0, keepdims=True)\n        return delta @ self.W.T\n\n    def update(self, lr):\n        self.W -= lr * self.dW\n        self.b -= lr * self.db\n\n    def describe(self):\n        return f"Dense({self.W.shape[0]}, {self.W.shape[1]})"\n\n    def parameters(self):\n        return [self.W, self.b]\n\n    def gradients(self):\n        return [self.dW, self.db]\n',
    "model.py": 'from layers import Dense\n\n\nclass Classifier:\n    def __init__(self, hidden=4):\n        self.layers = [Dense(2, hidden), Dense(hidden, hidden), Dense(hidden, 1)]\n\n    def forward(self, x):\n        for layer in self.layers:\n            x = layer.forward(x)\n        return x\n\n    def backward(self, grad):\n        for layer in reversed(self.layers):\n            grad = layer.backward(grad)\n\n    def update(self, lr):\n        for layer in self.layers:\n            layer.update(lr)\n',
    "main.py": 'import numpy as np\nfrom model import Classifier\n\n\ndef generate_XOR_easy():\n    inputs, labels = [], []\n    for i in range(11):\n        inputs.append([0.1 * i, 0.1 * i]); labels.append(0)\n        if 0.1 * i == 0.5:\n            continue\n        inputs.append([0.1 * i, 1 - 0.1 * i]); labels.append(1)\n    return np.array(inputs), np.array(labels).reshape(21, 1)\n\n\nX, Y = generate_XOR_easy()\nnet = Classifier(hidden=4)\nfor epoch in range(20000):\n    pred = net.forward(X)\n    net.backward(2 * (pred - Y) / len(Y))\n    net.update(1.0)\n',
}


@pytest.mark.slow
def test_the_network_is_loaded_from_the_file_defining_it_not_the_file_discovery_chose(
        tmp_path: Path) -> None:
    """``layers.py`` (the larger file, whose layer class has the same three methods) is the
    main file discovery chooses; the program trains ``model.Classifier``: its file is loaded."""
    folder = tmp_path / "DLP_LAB1_0900408_Multi"
    folder.mkdir()
    for name, text in MULTI_FILE.items():
        (folder / name).write_text(text, encoding="utf-8")
    rubric = load_rubric("lab1")
    [sub] = discover(folder, workdir=tmp_path / "work", **rubric.discovery_names())
    assert sub.main == "layers.py" and sub.entry == "main.py"
    graded = grade_submission(sub, settings=rubric_settings(rubric), seed=0,
                              only={"interface", "gradient"})
    interface = graded.verdicts["interface"]
    assert "net = Classifier(hidden=4)" in interface.message, interface.message
    assert interface.details["program"]["main"] == "model.py"
    assert graded.verdicts["gradient"].status == PASS, graded.verdicts["gradient"].message


OPTIMIZER_STYLE = '''
import numpy as np

class SGD:
    def __init__(self, lr):
        self.lr = lr
        self.lr_decay = 0.5  # named like the rate, but not the rate: left alone

    def update(self, params, grads):
        for key in params:
            params[key] -= self.lr * grads[key]

class MLP:
    def __init__(self, sizes, lr=0.05):
        rng = np.random.default_rng(0)
        self.params = {f"W{i + 1}": rng.uniform(-1, 1, (a, b))
                       for i, (a, b) in enumerate(zip(sizes, sizes[1:]))}
        self.optimizer = SGD(lr)

    def forward(self, x):
        self.a = [x]
        for i in range(1, 4):
            self.a.append(1 / (1 + np.exp(-self.a[-1] @ self.params[f"W{i}"])))
        return self.a[-1]

    def backward(self, dout):
        self.grads = {}
        delta = dout * self.a[3] * (1 - self.a[3])
        for i in (3, 2, 1):
            self.grads[f"W{i}"] = self.a[i - 1].T @ delta
            delta = (delta @ self.params[f"W{i}"].T) * self.a[i - 1] * (1 - self.a[i - 1])

    def update(self):
        self.optimizer.update(self.params, self.grads)

X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
Y = np.array([[0.0], [0.0], [1.0], [1.0]])
net = MLP([2, 4, 4, 1], lr=0.05)
for epoch in range(2000):
    out = net.forward(X)
    net.backward(2 * (out - Y))
    net.update()
'''


@pytest.mark.slow
def test_a_rate_the_network_keeps_in_its_optimizer_is_set_by_the_grader(tmp_path: Path) -> None:
    grading = grade_source(tmp_path, "DLP_LAB1_0900408_Hsu.py", OPTIMIZER_STYLE, {"interface", "gradient"})
    assert grading.facts["adapter"]["lr_attr"] == ["optimizer.lr"]
    gradient = grading.verdicts["gradient"]
    assert gradient.status == PASS and "scale 1," in gradient.message, gradient.message
    assert "keeps for itself" not in gradient.message


TRAIN_SETS_UP = '''
import numpy as np

class Net:
    def __init__(self, sizes):
        rng = np.random.default_rng(1)
        self.W = [rng.uniform(-1, 1, (a, b)) for a, b in zip(sizes, sizes[1:])]

    def forward(self, x):
        self.a = [x]
        for W in self.W:
            self.a.append(1 / (1 + np.exp(-self.a[-1] @ W)))
        return self.a[-1]

    def backward(self, y):
        delta = 2 * (self.a[-1] - y) * self.a[-1] * (1 - self.a[-1])
        self.g = []
        for i in range(len(self.W) - 1, -1, -1):
            self.g.insert(0, self.a[i].T @ delta)
            delta = (delta @ self.W[i].T) * self.a[i] * (1 - self.a[i])

    def update(self, lr):
        if self.optimizer == "sgd":
            for W, g in zip(self.W, self.g):
                W -= lr * g

    def train(self, X, Y, epochs=1000, lr=0.5, optimizer="sgd"):
        self.optimizer = optimizer  # set up here, read by update()
        for _ in range(epochs):
            for i in range(len(X)):
                self.forward(X[i:i + 1])
                self.backward(Y[i:i + 1])
                self.update(lr)

X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
Y = np.array([[0.0], [0.0], [1.0], [1.0]])
net = Net([2, 4, 4, 1])
net.train(X, Y, epochs=3000, lr=0.5)
'''


@pytest.mark.slow
def test_what_the_training_method_sets_up_before_its_loop_is_set_for_the_graders_steps(
        tmp_path: Path) -> None:
    grading = grade_source(tmp_path, "DLP_LAB1_0900409_Tsai.py", TRAIN_SETS_UP, {"interface", "gradient"})
    assert grading.facts["adapter"]["ctor"]["state"] == {
        "optimizer": {"type": "literal", "value": "sgd"}}
    gradient = grading.verdicts["gradient"]
    assert gradient.status == PASS, gradient.message


FIT_AT_DEFAULTS = '''
import numpy as np

class Dense:
    def __init__(self, n_in, n_out):
        self.W = np.random.uniform(-1, 1, (n_in, n_out))
        self.b = np.zeros((1, n_out))

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, grad, learning_rate):
        back = grad @ self.W.T
        self.W -= learning_rate * self.x.T @ grad
        self.b -= learning_rate * grad.sum(axis=0, keepdims=True)
        return back

class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, grad, learning_rate):
        return grad * self.out * (1 - self.out)

class Model:
    def __init__(self):
        self.layers = []

    def add(self, layer):
        self.layers.append(layer)

    def predict(self, X):
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def fit(self, X, y, epochs=100000, learning_rate=0.05):
        for epoch in range(epochs):
            grad = 2 * (self.predict(X) - y) / len(y)
            for layer in reversed(self.layers):
                grad = layer.backward(grad, learning_rate)

X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
Y = np.array([[0.0], [0.0], [1.0], [1.0]])
model = Model()
for layer in (Dense(2, 4), Sigmoid(), Dense(4, 4), Sigmoid(), Dense(4, 1), Sigmoid()):
    model.add(layer)
model.fit(X, Y)
'''


@pytest.mark.slow
def test_a_training_run_left_at_its_default_epochs_and_rate_is_one_step_at_the_graders_rate(
        tmp_path: Path) -> None:
    grading = grade_source(tmp_path, "DLP_LAB1_0900410_Lin.py", FIT_AT_DEFAULTS,
                           {"interface", "gradient"})
    interface = grading.verdicts["interface"]
    assert "out0 = net.predict(x); net.fit(x, y, learning_rate=lr, epochs=1)" in \
        interface.message, interface.message
    gradient = grading.verdicts["gradient"]
    assert gradient.status == PASS and "(scale 1," in gradient.message, gradient.message


def test_the_batch_is_the_argument_named_like_an_input_not_a_weight_of_the_same_shape():
    """``forward(weight1, weight2, weight3, x)``: weight1 is 2 x 10, shaped like a batch of
    columns; x is the batch."""
    events, w = [], [array(1, [2, 10]), array(2, [10, 10]), array(3, [10, 1])]
    for n in range(3):
        x, y = array(10 * n + 10, [1, 2]), array(10 * n + 11, [1, 1], binary=True)
        out, cache = array(10 * n + 12, [1, 1]), array(10 * n + 13, [1, 10])
        new = [array(10 * n + 14 + k, shape) for k, shape in enumerate(([2, 10], [10, 10],
                                                                         [10, 1]))]
        events += [dict(function(len(events), "forward", [*w, x], sequence(out, cache)),
                        names=["weight1", "weight2", "weight3", "x"]),
                   dict(function(len(events) + 1, "backpropagation", [x, y, cache, *w],
                                 sequence(*new)),
                        names=["x", "y", "outputs", "weight1", "weight2", "weight3"])]
        w = new
    protocol = learn({"events": events})
    assert protocol is not None and protocol.procedure is not None
    assert protocol.step[0].args[3] == {"role": "x", "ndim": 2}
    assert protocol.procedure["shapes"] == [[2, 10], [10, 10], [10, 1]]


ONE_HIDDEN_LAYER = TRAIN_SETS_UP.replace("net = Net([2, 4, 4, 1])", "net = Net([2, 8, 1])")


@pytest.mark.slow
def test_a_network_with_one_hidden_layer_is_graded_as_it_is_and_told(tmp_path: Path) -> None:
    assert ONE_HIDDEN_LAYER != TRAIN_SETS_UP
    grading = grade_source(tmp_path, "DLP_LAB1_0900412_Wu.py", ONE_HIDDEN_LAYER,
                           {"interface", "forward", "gradient"})
    interface = grading.verdicts["interface"]
    assert "(a 2-8-1 network: 1 hidden layer where the lab asks for two; the checks grade it " \
        "as it is)" in interface.message, interface.message
    for check in ("forward", "gradient"):
        assert grading.verdicts[check].status == PASS, grading.verdicts[check].message


def test_a_class_the_program_only_feeds_its_own_objects_is_no_network():
    """A home-made autodiff: ``with GradTape() as tape: tape.forward(loss)``, ``loss`` a
    ``Var``; and a network stepped on arrays beside it."""
    from grader.checks.interface import object_operators

    var = {"type": "object", "class": "Var", "ref": 9}
    events = [construct([], cls="GradTape", obj=0), call(1, "__enter__", [], obj=0),
              call(2, "forward", [var], obj=0), call(3, "backward", [var], obj=0),
              construct([], cls="Net", obj=1), call(5, "forward", [array(7, [4, 2])], obj=1)]
    objects = {"0": {"class": "GradTape"}, "1": {"class": "Net"}}
    assert object_operators({"events": events, "objects": objects}) == ["GradTape"]


def test_a_notebook_stopped_in_a_cell_is_told_which_cell():
    from grader.unfollowed import why_unfollowed

    trace = {"events": [], "stopped": "error", "error": {
        "kind": "exception", "file": None, "cell": 5, "line": 1, "source_line": "r = train(hp)",
        "message": "ValueError: bad"}}
    assert "(cell 5, line 1: ValueError: bad" in why_unfollowed(trace)


def optimizer_program(steps: int = 4) -> dict[str, Any]:
    """``model = Net(...)`` holding two Linear layers, each holding a Parameter;
    ``opt = SGD(model.parameters(), lr=0.5)``; per step ``opt.zero_grad()``,
    ``out = model.forward(X)``, ``model.backward(out)``, ``opt.step()``."""
    param = {"type": "object", "class": "Parameter"}
    events = [construct([number(2), number(3), number(1)], obj=0),
              construct([number(2), number(3)], cls="Linear", obj=1, caller=0),
              construct([array(90, [3, 2])], cls="Parameter", obj=2, caller=1),
              construct([number(3), number(1)], cls="Linear", obj=3, caller=0),
              construct([array(91, [1, 3])], cls="Parameter", obj=4, caller=3),
              construct([sequence({**param, "object": 2}, {**param, "object": 4})],
                        {"lr": number(0.5)}, cls="SGD", obj=5)]
    events[-1]["names"] = ["params"]
    i = len(events)
    for k in range(steps):
        events.append(call(i, "zero_grad", [], obj=5, changed=["params[0].grad"] if k else []))
        events.append(call(i + 1, "forward", [array(0, [21, 2])], array(10 + k, [21, 1])))
        events.append(call(i + 2, "backward", [{**array(10 + k, [21, 1])}], obj=0,
                           changed=["fc1.weight.grad", "fc2.weight.grad"]))
        events.append(call(i + 3, "step", [], obj=5, changed=["params[0].data",
                                                               "params[1].data"]))
        i += 4
    objects = {"0": {"class": "Net", "arrays": {"fc1.weight.data": [3, 2]}},
               "1": {"class": "Linear", "held": {"by": 0, "path": "fc1"}},
               "2": {"class": "Parameter", "held": {"by": 1, "path": "weight"}},
               "3": {"class": "Linear", "held": {"by": 0, "path": "fc2"}},
               "4": {"class": "Parameter", "held": {"by": 3, "path": "weight"}},
               "5": {"class": "SGD", "module_file": "optim.py"}}
    for n, e in enumerate(events):
        e["i"] = n
    return {"events": events, "objects": objects}


def test_an_optimizer_given_the_networks_parameters_steps_with_it():
    protocol = learn(optimizer_program())
    assert protocol is not None and protocol.network_class == "Net"
    assert [(c.method, c.on) for c in protocol.step] == [
        ("forward", None), ("backward", None), ("step", 0), ("zero_grad", 0)]
    [opt] = protocol.companions
    assert opt["class"] == "SGD" and opt["module_file"] == "optim.py"
    assert opt["args"] == [{"type": "sequence", "tuple": False, "items": [
        {"type": "held", "path": "fc1.weight", "class": "Parameter"},
        {"type": "held", "path": "fc2.weight", "class": "Parameter"}]}]
    assert "opt = SGD([net.fc1.weight, net.fc2.weight], lr=0.5)" in protocol.describe()
    assert "opt.step(); opt.zero_grad()" in protocol.describe()


OPTIMIZER_PROGRAM = '''
import numpy as np


class Layer:
    def __init__(self, n_in, n_out):
        self.W = np.random.uniform(-1, 1, (n_in, n_out))
        self.dW = np.zeros_like(self.W)

    def forward(self, x):
        self.x = x
        self.out = 1 / (1 + np.exp(-(x @ self.W)))
        return self.out

    def backward(self, grad):
        delta = grad * self.out * (1 - self.out)
        self.dW += self.x.T @ delta
        return delta @ self.W.T


class Model:
    def __init__(self):
        self.layers = [Layer(2, 4), Layer(4, 4), Layer(4, 1)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)


class Momentumless:
    def __init__(self, layers, learning_rate):
        self.layers = layers
        self.learning_rate = learning_rate

    def step(self):
        for layer in self.layers:
            layer.W -= self.learning_rate * layer.dW

    def clear(self):
        for layer in self.layers:
            layer.dW[...] = 0


np.random.seed(0)
X = np.random.uniform(0, 1, (20, 2))
Y = (X[:, :1] > X[:, 1:]).astype(float)
model = Model()
opt = Momentumless(model.layers, 0.5)
for epoch in range(100000):
    out = model.forward(X)
    model.backward(2 * (out - Y) / len(X))
    opt.step()
    opt.clear()
'''


@pytest.mark.slow
def test_a_network_stepped_by_an_optimizer_holding_its_layers_is_graded(tmp_path: Path):
    verdicts = grade_source(tmp_path, "DLP_LAB1_0900411_Opt.py", OPTIMIZER_PROGRAM,
                            {"interface", "forward", "gradient"}).verdicts
    assert verdicts["interface"].status == PASS, verdicts["interface"].message
    assert "opt = Momentumless([net.layers[0], net.layers[1], net.layers[2]], 0.5)" in \
        verdicts["interface"].message
    gradient = verdicts["gradient"]
    assert gradient.status == PASS, gradient.message
    assert "keeps for itself" not in gradient.message, "the grader sets the optimizer's rate"


def test_a_trainer_that_calls_the_network_itself_is_not_part_of_the_step():
    trace = optimizer_program()
    for e in trace["events"]:
        if e.get("method") == "forward":  # the trainer's own method runs the network
            e["caller"] = 5
    protocol = learn(trace)
    assert protocol is not None and not protocol.companions
    assert all(c.on is None for c in protocol.step)


def kept_data_program(steps: int = 4) -> dict[str, Any]:
    """``net = Net()``; ``net.get_data()`` stores ``x_train``; ``net.train()`` loops over
    ``self.forward()`` (no argument, returns the (21, 1) prediction) and ``self.backward()``."""
    events = [construct([]), call(1, "get_data", [], changed=["x_train"]),
              call(2, "train", [])]
    events[1]["new"] = ["x_train"]
    events[2].update({"unfinished": True, "changed": None})
    for k in range(steps):
        events.append({**call(3 + 2 * k, "forward", [], array(10 + k, [21, 1]), caller=0),
                       "within": 2})
        events.append({**call(4 + 2 * k, "backward", [], changed=["W1", "W2", "W3"],
                              caller=0), "within": 2})
    return {"events": events, "objects": {"0": {"class": "Net", "arrays": {
        "W1": [2, 4], "W2": [4, 4], "W3": [4, 1], "x_train": [21, 2]}}}}


def test_a_network_that_keeps_its_data_predicts_without_being_passed_it():
    protocol = learn(kept_data_program())
    assert protocol is not None and protocol.constructor.get("holds_data")
    assert [c.method for c in protocol.step] == ["forward", "backward"]
    assert protocol.within == "train" and protocol.samples_per_step == 21
    assert protocol.constructor["setup"] == [{"method": "get_data", "args": [], "kwargs": {}}]


def test_a_network_that_keeps_no_batch_of_the_labs_inputs_shows_no_step():
    trace = kept_data_program()
    trace["objects"]["0"]["arrays"]["x_train"] = [21, 5]
    assert learn(trace) is None


SET_DATA_PROGRAM = '''
import numpy as np


class Classifier:
    def __init__(self, hidden):
        self.W = [np.random.uniform(-1, 1, s) for s in ((2, hidden), (hidden, hidden),
                                                         (hidden, 1))]

    def set_data(self, inputs, targets):
        self.inputs, self.targets = inputs, targets

    def run(self):
        self.a = [self.inputs]
        for W in self.W:
            self.a.append(1 / (1 + np.exp(-(self.a[-1] @ W))))
        return self.a[-1]

    def learn(self, rate):
        delta = (self.a[-1] - self.targets) * self.a[-1] * (1 - self.a[-1])
        for k in range(len(self.W) - 1, -1, -1):
            grad = self.a[k].T @ delta
            delta = (delta @ self.W[k].T) * self.a[k] * (1 - self.a[k])
            self.W[k] -= rate * grad


np.random.seed(0)
X = np.random.uniform(0, 1, (40, 2))
model = Classifier(5)
model.set_data(X, (X[:, :1] > X[:, 1:]).astype(int))
for epoch in range(100000):
    model.run()
    model.learn(0.5)
'''


@pytest.mark.slow
def test_a_network_given_its_data_by_a_method_is_stepped_on_the_graders_batches(tmp_path):
    verdicts = grade_source(tmp_path, "DLP_LAB1_0900414_Kept.py", SET_DATA_PROGRAM,
                            {"interface", "forward", "gradient"}).verdicts
    interface = verdicts["interface"]
    assert interface.status == PASS, interface.message
    assert "net.set_data(x, y)" in interface.message, interface.message
    assert "W[0] = layer 1 weights" in interface.message  # the data is not a parameter
    assert verdicts["forward"].status == PASS, verdicts["forward"].message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message


def test_a_decay_rate_is_no_learning_rate_on_either_side():
    """The parent reads the rate a step passes and the child sets the rates a network keeps:
    one rule for both (``decay_rate`` is the schedule's, ``lr`` the step's)."""
    step = call(5, "update", [number(0.9), number(0.1)])
    step["names"] = ["decay_rate", "lr"]
    from grader.learning import _rate_key
    from grader.sandbox.child.probes import find_rates

    assert _rate_key(step) == 1

    class Optimizer:
        def __init__(self):
            self.decay_rate, self.lr = 0.9, 0.1

    assert find_rates(Optimizer()) == ["lr"]


DATA_IN_PARAMS = '''
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def init(x, hidden):
    params = {'X': x}
    params['W1'] = np.random.randn(2, hidden)
    params['W2'] = np.random.randn(hidden, hidden)
    params['W3'] = np.random.randn(hidden, 1)
    return params


def forward(params, x):
    params['A1'] = sigmoid(x @ params['W1'])
    params['A2'] = sigmoid(params['A1'] @ params['W2'])
    return sigmoid(params['A2'] @ params['W3'])


def backward(params, out, y):
    d3 = 2 * (out - y) / len(y) * out * (1 - out)
    d2 = (d3 @ params['W3'].T) * params['A2'] * (1 - params['A2'])
    d1 = (d2 @ params['W2'].T) * params['A1'] * (1 - params['A1'])
    return {'W3': params['A2'].T @ d3, 'W2': params['A1'].T @ d2, 'W1': params['X'].T @ d1}


def update(params, grads, lr):
    for key in grads:
        params[key] = params[key] - lr * grads[key]
    return params


np.random.seed(1)
x = np.random.uniform(0, 1, (30, 2))
y = (x[:, :1] > x[:, 1:]).astype(float)
params = init(x, 4)
for epoch in range(100000):
    out = forward(params, x)
    grads = backward(params, out, y)
    params = update(params, grads, 1.0)
'''


@pytest.mark.slow
def test_a_dict_of_weights_that_keeps_the_batch_is_given_each_batch(tmp_path):
    """``params['X'] = x`` at initialisation, read by the backward pass: the grader's batch is
    written there too, or the first layer's gradient would mix two batches."""
    verdicts = grade_source(tmp_path, "DLP_LAB1_0900415_Dict.py", DATA_IN_PARAMS,
                            {"interface", "forward", "gradient"}).verdicts
    assert verdicts["interface"].status == PASS, verdicts["interface"].message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message
