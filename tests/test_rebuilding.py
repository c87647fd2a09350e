"""Building a network again as the program built it: its own objects passed as arguments,
containers of them, and the calls that built it before it trained (``grader/rebuilding.py``),
and a training run replayed for one epoch (``grader/learning.py``)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.batch import rubric_settings
from grader.checks.base import PASS
from grader.discover import discover
from grader.grading import grade_submission
from grader.learning import learn
from grader.rebuilding import rebuildable, setup_calls
from grader.rubric import load_rubric
from test_learning import array, call, construct, number


def obj(number_: int, cls: str) -> dict[str, Any]:
    return {"type": "object", "object": number_, "class": cls}


def test_an_object_is_rebuilt_from_its_own_construction_and_containers_item_by_item():
    constructs = {1: construct([number(2), number(4)], cls="Dense", obj=1)}
    layers = {"type": "sequence", "tuple": False,
              "items": [obj(1, "Dense"), obj(2, "Sigmoid"), obj(1, "Dense")]}
    rebuilt = rebuildable(layers, constructs)
    assert rebuilt is not None
    dense, sigmoid, again = rebuilt["items"]
    assert dense == {"type": "built", "class": "Dense", "object": 1,
                     "args": [number(2), number(4)], "kwargs": {}}
    assert again == dense  # one object passed twice: the child builds it once
    # no construction recorded: a class without an __init__ of its own takes no argument
    assert sigmoid["args"] == [] and sigmoid["class"] == "Sigmoid"


def test_an_object_built_from_an_array_cannot_be_rebuilt():
    constructs = {1: construct([array(5, [4, 4])], cls="Dense", obj=1)}
    assert rebuildable(obj(1, "Dense"), constructs) is None


def test_setup_calls_are_those_before_the_first_step_that_can_be_replayed():
    calls = [call(1, "add", [obj(1, "Dense")]), call(2, "forward", [array(3, [4, 2])]),
             call(3, "load", [array(9, [2, 4])]), {**call(4, "compile", []), "raised": "E"},
             call(5, "setting", [], kwargs={"l_rate": number(4)}),
             call(6, "add", [obj(2, "Dense")], obj=7),
             call(9, "add", [obj(3, "Dense")])]
    found = setup_calls(calls, network=0, before=9, skip={"forward"}, constructs={})
    assert [c["method"] for c in found] == ["add", "setting"]
    assert found[1]["kwargs"] == {"l_rate": number(4)}


def fit_program(epochs_name: str = "epochs", per_sample: bool = False) -> dict[str, Any]:
    """``net = Seq(); net.add(Dense(2, 4)); ...; net.fit(X, y, 50000, 0.5)`` stopped by the
    tracer inside fit, which predicts on the batch each epoch and steps the layers itself."""
    x, y = array(1, [21, 2]), array(2, [21, 1], binary=True)
    events = [construct([], cls="Seq"), construct([number(2), number(4)], cls="Dense", obj=1),
              call(2, "add", [obj(1, "Dense")]),
              {**call(3, "fit", [x, y, number(50000), number(0.5)]),
               "names": ["X", "y", epochs_name, "lr"], "changed": None, "unfinished": True}]
    inner = array(1, [1, 2]) if per_sample else x
    for n in range(3):
        events.append({**call(4 + 2 * n, "forward", [inner], array(50 + n, [21, 1]),
                              changed=["layers[0].x"]), "within": 3, "caller": 0})
        events.append(call(5 + 2 * n, "backward", [array(60 + n, [21, 4])],
                           changed=["W"], obj=1, caller=0))
    return {"events": events, "stopped": "repeats"}


def test_a_training_run_is_replayed_for_one_epoch_after_the_calls_that_built_it():
    protocol = learn(fit_program())
    assert protocol is not None
    assert protocol.describe() == ("net = Seq(); net.add(Dense(2, 4)); out0 = net.forward(x); "
                                   "net.fit(x, y, 1, lr)")
    assert protocol.student_lr == 0.5


@pytest.mark.parametrize("name", ["print_every", "hidden"])
def test_a_count_not_named_as_epochs_is_not_changed(name):
    assert learn(fit_program(epochs_name=name)) is None


def test_a_run_stepping_one_sample_at_a_time_inside_is_not_one_step_per_epoch():
    assert learn(fit_program(per_sample=True)) is None


def chain_program() -> dict[str, Any]:
    """``model = Model(10)``; ``model.train(x, y, 100000)`` chains its layers' calls,
    ``self.output.forward(self.layer2.forward(self.layer1.forward(x)))``, then steps them
    backwards; the model has no forward of its own, and its run is cut short."""
    x, y = array(1, [21, 2]), array(2, [21, 1], binary=True)
    events = [construct([number(10)], cls="Model"),
              {**construct([number(2), number(10)], cls="Layer", obj=1, caller=0), "i": 1},
              {**construct([number(10), number(1)], cls="Layer", obj=2, caller=0), "i": 2},
              {**call(3, "train", [x, y, number(100000)]), "names": ["x", "y", "epoch"],
               "changed": None, "unfinished": True}]
    for n in range(3):
        base = 4 + 4 * n
        events += [call(base, "forward", [x], array(10 + n, [21, 10]), obj=1, caller=0),
                   call(base + 1, "forward", [array(10 + n, [21, 10])], array(20 + n, [21, 1]),
                        obj=2, caller=0),
                   call(base + 2, "backward", [array(30 + n, [21, 1])], changed=["w"], obj=2,
                        caller=0),
                   call(base + 3, "backward", [array(40 + n, [21, 10])], changed=["w"], obj=1,
                        caller=0)]
    objects = {"0": {"class": "Model"},
               "1": {"class": "Layer", "held": {"by": 0, "path": "layer1"}},
               "2": {"class": "Layer", "held": {"by": 0, "path": "output"}}}
    return {"events": events, "stopped": "repeats", "objects": objects}


def test_a_model_without_forward_predicts_through_its_layers_chain():
    protocol = learn(chain_program())
    assert protocol is not None and protocol.network_class == "Model"
    assert protocol.predict_calls == 2
    assert protocol.describe() == ("net = Model(10); out0 = net.layer1.forward(x); "
                                   "out1 = net.output.forward(out0); net.train(x, y, 1)")


def test_without_knowing_who_holds_the_layers_there_is_no_chain():
    trace = chain_program()
    trace["objects"] = {}
    protocol = learn(trace)
    assert protocol is None or protocol.network_class != "Model"


CHAINED = '''
import numpy as np


def generate_XOR_easy():
    inputs, labels = [], []
    for i in range(11):
        inputs.append([0.1 * i, 0.1 * i]); labels.append(0)
        if 0.1 * i == 0.5:
            continue
        inputs.append([0.1 * i, 1 - 0.1 * i]); labels.append(1)
    return np.array(inputs), np.array(labels).reshape(21, 1)


class Layer:
    def __init__(self, n_in, n_out):
        self.w = np.random.randn(n_in, n_out)
        self.b = np.zeros((1, n_out))

    def forward(self, x):
        self.x = x
        self.z = 1 / (1 + np.exp(-(x @ self.w + self.b)))
        return self.z

    def backward(self, up, lr):
        g = up * self.z * (1 - self.z)
        down = g @ self.w.T
        self.w -= lr * self.x.T @ g
        self.b -= lr * g.sum(axis=0, keepdims=True)
        return down


class Model:
    def __init__(self, hidden_size=10, lr=0.1):
        self.layer1 = Layer(2, hidden_size)
        self.layer2 = Layer(hidden_size, hidden_size)
        self.output = Layer(hidden_size, 1)
        self.lr = lr

    def train(self, x, y, epoch=100000):
        for i in range(epoch):
            out = self.output.forward(self.layer2.forward(self.layer1.forward(x)))
            grad = 2 * (out - y) / len(y)
            self.layer1.backward(self.layer2.backward(self.output.backward(grad, self.lr),
                                                      self.lr), self.lr)
        return out


x, y = generate_XOR_easy()
model = Model(hidden_size=10, lr=0.5)
model.train(x, y, 100000)
'''


@pytest.mark.slow
def test_a_model_that_chains_its_layers_inside_train_is_graded(tmp_path: Path) -> None:
    path = tmp_path / "DLP_LAB1_0900406_Chain.py"
    path.write_text(textwrap.dedent(CHAINED), encoding="utf-8")
    [sub] = discover(path, workdir=tmp_path / "work")
    verdicts = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                                only={"interface", "forward", "gradient"}).verdicts
    message = verdicts["interface"].message
    assert "net = Model(hidden_size=10, lr=0.5); out0 = net.layer1.forward(x); " \
        "out1 = net.layer2.forward(out0); out2 = net.output.forward(out1); " \
        "net.train(x, y, 1)" in message, message
    assert verdicts["forward"].status == PASS, verdicts["forward"].message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message
