"""Watching a training loop written inline step by step (``grader/observed.py``), and the
checks that grade it so: the weights, steps and batches found from the loop's own variables,
and the gradient judged on the steps it took."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.batch import rubric_settings
from grader.checks.base import PASS, SKIP
from grader.discover import discover
from grader.grading import grade_submission
from grader.layout import candidate_layouts
from grader.observed import observe
from grader.rubric import load_rubric
from reference.network import forward as reference_forward

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, 0.2]])
Y = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])


def snapshot(at: int, **values: np.ndarray) -> dict[str, Any]:
    return {"frame": "train", "at": at,
            "set": {k: {"shape": list(v.shape), "dtype": "float64", "values": v.tolist()}
                    for k, v in values.items()}}


def watched_loop(steps: int = 4, frozen: bool = False) -> dict[str, Any]:
    """What the tracer records of ``train(x, y, w1, w2, w3)``: the loop computes the forward
    pass (a snapshot at each sigmoid call), then updates every weight with the MSE gradient
    (layer 1 left alone when ``frozen``)."""
    rng = np.random.default_rng(0)
    w = [rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 1))]
    snaps = [snapshot(0, x=X, y=Y, w1=w[0], w2=w[1], w3=w[2])]
    for step in range(steps):
        out, cache = reference_forward(w, X, "sigmoid", "sigmoid")
        a1, a2 = cache.outputs[1], cache.outputs[2]
        snaps.append(snapshot(len(snaps), z1=X @ w[0]))
        snaps.append(snapshot(len(snaps), a1=a1))
        d3 = 2 * (out - Y) / len(Y) * out * (1 - out)
        d2 = (d3 @ w[2].T) * a2 * (1 - a2)
        d1 = (d2 @ w[1].T) * a1 * (1 - a1)
        w = [w[0] - (0 if frozen else 0.5) * X.T @ d1, w[1] - 0.5 * a1.T @ d2,
             w[2] - 0.5 * a2.T @ d3]
        snaps.append(snapshot(len(snaps), out=out, w1=w[0], w2=w[1], w3=w[2]))
    return {"events": [], "variables": snaps}


def test_the_weights_steps_and_batch_of_a_watched_loop_are_found():
    loop = observe(watched_loop())
    assert loop is not None
    assert loop.layout.paths == ["w1", "w2", "w3"] and loop.layout.dims == (2, 4, 4, 1)
    assert (loop.layout.hidden, loop.layout.output) == ("sigmoid", "sigmoid")
    assert len(loop.steps) == 3 and not loop.per_sample
    first = loop.steps[0]
    assert np.array_equal(first.X, X) and np.array_equal(first.Y, Y)
    assert loop.describe() == ("the loop in train() with the weights w1, w2, w3 (a 2-4-4-1 "
                               "network, sigmoid hidden layers, sigmoid output; 5 samples per "
                               "step)")


def test_a_layer_the_loop_never_updates_is_a_step_that_leaves_it_unchanged():
    loop = observe(watched_loop(frozen=True))
    assert loop is not None and len(loop.steps) >= 2
    assert not np.any(loop.steps[0].applied_w[0]) and np.any(loop.steps[0].applied_w[2])


def test_variables_whose_forward_pass_is_not_the_networks_show_no_loop():
    trace = watched_loop()
    for snap in trace["variables"]:  # the prediction the loop computed is not the network's
        if "out" in snap["set"]:
            snap["set"]["out"]["values"] = np.zeros((5, 1)).tolist()
    assert observe(trace) is None


PER_SAMPLE = 'import numpy as np\n\n\ndef generate_XOR_easy():\n    inputs, labels = [], []\n    for i in range(11):\n        inputs.append([0.1 * i, 0.1 * i]); labels.append(0)\n        if 0.1 * i == 0.5:\n            continue\n        inputs.append([0.1 * i, 1 - 0.1 * i]); labels.append(1)\n    return np.array(inputs), np.array(labels).reshape(21, 1)\n\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n\n\nx_all, y_all = generate_XOR_easy()\nnp.random.seed(3)\nw1, b1 = np.random.randn(2, 4), np.zeros((1, 4))\nw2, b2 = np.random.randn(4, 4), np.zeros((1, 4))\nw3, b3 = np.random.randn(4, 1), np.zeros((1, 1))\nlr = 0.5\nfor epoch in range(100000):\n    for i in range(len(x_all)):\n        x = x_all[i:i + 1]\n        y = y_all[i, 0]\n        a1 = sigmoid(x @ w1 + b1)\n        a2 = sigmoid(a1 @ w2 + b2)\n        out = sigmoid(a2 @ w3 + b3)\n        d3 = 2 * (out - y) * out * (1 - out)\n        d2 = (d3 @ w3.T) * a2 * (1 - a2)\n        d1 = (d2 @ w2.T) * a1 * (1 - a1)\n        w3 -= lr * a2.T @ d3\n        b3 -= lr * d3\n        w2 -= lr * a1.T @ d2\n        b2 -= lr * d2\n        w1 -= lr * x.T @ d1\n        b1 -= lr * d1\n'


def graded(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "DLP_LAB1_0900409_Inline.py"
    path.write_text(text, encoding="utf-8")
    [sub] = discover(path, workdir=tmp_path / "work")
    return grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                            only={"interface", "forward", "gradient", "train_xor"}).verdicts


@pytest.mark.slow
def test_a_per_sample_loop_at_the_top_level_is_watched_and_its_gradient_checked(tmp_path):
    verdicts = graded(tmp_path, PER_SAMPLE)
    interface = verdicts["interface"]
    assert interface.status == PASS and interface.fraction == 0.25, interface.message
    assert "a training loop written inline, the loop at your program's top level with the " \
        "weights b1, b2, b3, w1, w2, w3" in interface.message
    assert "one sample per step" in interface.message
    assert verdicts["forward"].status == PASS
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message
    assert "watched, not replayed" in verdicts["gradient"].message
    assert verdicts["train_xor"].status == SKIP


@pytest.mark.slow
def test_a_loop_that_crashes_after_its_first_updates_is_watched_to_the_crash(tmp_path):
    """A loss looked up where it was never stored (``history['loss']``) crashes the program
    once the first step's updates are all made; the variables as it raised end the step."""
    crashing = PER_SAMPLE.replace("lr = 0.5\n", "lr = 0.5\nhistory = {}\n") \
        .replace("for i in range(len(x_all)):", "for i in range(1, len(x_all)):") \
        .replace("        b1 -= lr * d1\n", "        b1 -= lr * d1\n        print(history['loss'])\n")
    assert crashing.count("history['loss']") == 1
    verdicts = graded(tmp_path, crashing)
    interface = verdicts["interface"]
    assert interface.status == PASS and interface.fraction == 0.25, interface.message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message


HELD_WEIGHTS = '''import numpy as np


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


class Weights:
    def __init__(self, sizes):
        self.W = [np.random.uniform(-1, 1, (a, b)) for a, b in zip(sizes, sizes[1:])]


def train(X, Y, epochs, lr):
    model = Weights([2, 4, 4, 1])
    for epoch in range(epochs):
        for i in range(len(X)):
            x, y = X[i:i + 1], Y[i:i + 1]
            a1 = sigmoid(x @ model.W[0])
            a2 = sigmoid(a1 @ model.W[1])
            out = sigmoid(a2 @ model.W[2])
            d3 = 2 * (out - y) * out * (1 - out)
            d2 = (d3 @ model.W[2].T) * a2 * (1 - a2)
            d1 = (d2 @ model.W[1].T) * a1 * (1 - a1)
            model.W[2] -= lr * a2.T @ d3
            model.W[1] -= lr * a1.T @ d2
            model.W[0] -= lr * x.T @ d1
    return model


np.random.seed(5)
train(*generate_XOR_easy(), 100000, 0.5)
'''


@pytest.mark.slow
def test_a_loop_keeping_its_weights_in_an_object_is_watched(tmp_path):
    verdicts = graded(tmp_path, HELD_WEIGHTS)
    interface = verdicts["interface"]
    assert interface.status == PASS and interface.fraction == 0.25, interface.message
    assert "model.W[0], model.W[1], model.W[2]" in interface.message, interface.message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message


def indexed_loop(samples: int = 3) -> dict[str, Any]:
    """What the tracer records of a loop over ``i`` that writes each layer's output into a row
    of an array prepared before the loop (``y[i] = sigmoid(h2[i] @ w3)``): no variable ever
    holds the current sample."""
    rng = np.random.default_rng(1)
    w = [rng.normal(size=(2, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 1))]
    h1, h2, out = np.zeros((5, 4)), np.zeros((5, 4)), np.zeros((5, 1))
    snaps = [snapshot(0, x=X, labels=Y, w1=w[0], w2=w[1], w3=w[2], h1=h1, h2=h2, out=out)]
    for i in range(samples):
        x, y = X[i:i + 1], Y[i:i + 1]
        p, cache = reference_forward(w, x, "sigmoid", "sigmoid")
        a1, a2 = cache.outputs[1], cache.outputs[2]
        h1, h2, out = h1.copy(), h2.copy(), out.copy()
        h1[i], h2[i], out[i] = a1[0], a2[0], p[0]
        snaps.append(snapshot(len(snaps), h1=h1))
        snaps.append(snapshot(len(snaps), h2=h2, out=out))
        d3 = 2 * (p - y) * p * (1 - p)
        d2 = (d3 @ w[2].T) * a2 * (1 - a2)
        d1 = (d2 @ w[1].T) * a1 * (1 - a1)
        w = [w[0] - 0.5 * x.T @ d1, w[1] - 0.5 * a1.T @ d2, w[2] - 0.5 * a2.T @ d3]
        snaps.append(snapshot(len(snaps), w1=w[0], w2=w[1], w3=w[2]))
    return {"events": [], "variables": snaps}


def test_a_loop_indexing_the_data_set_steps_on_the_row_it_predicted():
    loop = observe(indexed_loop())
    assert loop is not None and loop.per_sample, loop and loop.describe()
    assert loop.layout.paths == ["w1", "w2", "w3"]
    for i, step in enumerate(loop.steps):
        assert np.array_equal(step.X, X[i:i + 1]) and np.array_equal(step.Y, Y[i:i + 1])


def test_a_loop_whose_buffers_hold_no_prediction_of_the_weights_shows_no_loop():
    trace = indexed_loop()
    for snap in trace["variables"]:
        snap["set"].pop("out", None)
    trace["variables"][0]["set"]["out"] = snapshot(0, out=np.zeros((5, 1)))["set"]["out"]
    assert observe(trace) is None


def crashed_first_sample() -> dict[str, Any]:
    """A top-level loop whose first sample is (0, 0), with zero arrays ``z1``, ``z2`` prepared
    before it and a (1, 1) label of 0: the forward pass fills ``z2``, the updates leave the
    first layer as it was (its gradient is zero there), and the loss crashes the program."""
    rng = np.random.default_rng(2)
    w = [rng.uniform(size=(2, 3)), rng.uniform(size=(3, 3)), rng.uniform(size=(3, 1))]
    x, y = X[:1], Y[:1]
    z1, z2 = np.zeros((1, 3)), np.zeros((1, 3))
    snaps = [snapshot(0, inputs=X, labels=Y, w1=w[0], w2=w[1], w3=w[2], z1=z1, z2=z2,
                      a0=x, y=y)]
    p, cache = reference_forward(w, x, "sigmoid", "sigmoid")
    a1, a2 = cache.outputs[1], cache.outputs[2]
    snaps.append(snapshot(1, a1=a1, z2=a1 @ w[1]))
    snaps.append(snapshot(2, a2=a2, a3=p))
    d3 = 2 * (p - y) * p * (1 - p)
    d2 = (d3 @ w[2].T) * a2 * (1 - a2)
    d1 = (d2 @ w[1].T) * a1 * (1 - a1)
    crash = snapshot(3, w3=w[2] - 0.5 * a2.T @ d3, w2=w[1] - 0.5 * a1.T @ d2, d1=d1)
    crash["raised"] = True
    return {"events": [], "variables": snaps + [crash]}


def test_a_crash_ends_the_step_and_zero_buffers_are_not_biases():
    loop = observe(crashed_first_sample())
    assert loop is not None, "the step that ended at the crash is watched"
    assert loop.layout.paths == ["w1", "w2", "w3"] and not loop.layout.has_bias
    [step] = loop.steps
    assert not np.any(step.applied_w[0]) and np.any(step.applied_w[1])


def test_without_the_crash_an_unfinished_step_is_no_step():
    trace = crashed_first_sample()
    del trace["variables"][-1]["raised"]
    assert observe(trace) is None


def test_an_output_neuron_kept_as_a_vector_is_the_last_layers_weights():
    params = [("w1", (3, 2)), ("w2", (3, 3)), ("w3", (3,))]
    layouts = candidate_layouts(params, (2, 3, 3, 1))
    assert layouts, "a (3,) vector is the output layer's weights"
    layout = layouts[0]
    weights, biases = layout.to_reference([np.ones((3, 2)), np.eye(3), np.arange(3.0)])
    assert biases is None and weights[2].shape == (3, 1)
    assert np.array_equal(weights[2][:, 0], np.arange(3.0))
    back = layout.to_student(weights, None)
    assert back[2].shape == (3,) and np.array_equal(back[0], np.ones((3, 2)).T.T)


def test_the_labels_are_those_set_with_the_inputs_not_a_thresholded_prediction():
    trace = watched_loop()
    snaps = trace["variables"]
    for k, snap in enumerate(snaps):  # pred = out > 0.5, all ones, made after the forward pass
        if "out" in snap["set"]:
            snap["set"]["pred"] = snapshot(0, pred=np.ones((5, 1)))["set"]["pred"]
            snap["set"]["dX"] = snapshot(0, dX=np.zeros((5, 2)))["set"]["dX"]
    loop = observe(trace)
    assert loop is not None
    assert np.array_equal(loop.steps[0].Y, Y) and np.array_equal(loop.steps[0].X, X)


def test_a_gradient_kept_beside_each_weight_is_not_taken_for_the_weights():
    trace = watched_loop()
    for snap in trace["variables"]:
        for name in ("w1", "w2", "w3"):
            if name in snap["set"]:
                value = np.asarray(snap["set"][name]["values"])
                snap["set"][f"{name}.grad"] = snapshot(0, g=value * 0.1 + 1)["set"]["g"]
    loop = observe(trace)
    assert loop is not None and loop.layout.paths == ["w1", "w2", "w3"]


def test_positive_outputs_of_a_relu_network_are_read_as_its_relu_output():
    rng = np.random.default_rng(4)
    w = [rng.uniform(0, 1, (2, 3)), rng.uniform(0, 1, (3, 3)), rng.uniform(0, 1, (3, 1))]
    snaps = [snapshot(0, x=X, y=Y, w1=w[0], w2=w[1], w3=w[2])]
    for step in range(3):
        out, cache = reference_forward(w, X, "relu", "relu")
        snaps.append(snapshot(len(snaps), out=out))
        w = [a - 0.01 * np.sign(a) for a in w]
        snaps.append(snapshot(len(snaps), w1=w[0], w2=w[1], w3=w[2]))
    loop = observe({"events": [], "variables": snaps},
                   [("sigmoid", "sigmoid"), ("relu", "identity"), ("relu", "relu")])
    assert loop is not None and (loop.layout.hidden, loop.layout.output) == ("relu", "relu")


HELD_IN_A_LIST = '''import numpy as np


class Param:
    def __init__(self, value):
        self.value = value
        self.grad = np.zeros_like(value)


class Tape:
    def run(self, params, x):
        self.a = [x]
        for p in params:
            self.a.append(1 / (1 + np.exp(-(self.a[-1] @ p.value))))
        return self.a[-1]

    def back(self, params, y):
        delta = 2 * (self.a[-1] - y) / len(y) * self.a[-1] * (1 - self.a[-1])
        for k in range(len(params) - 1, -1, -1):
            params[k].grad = self.a[k].T @ delta
            delta = (delta @ params[k].value.T) * self.a[k] * (1 - self.a[k])


def train(X, Y, epochs, lr):
    np.random.seed(2)
    W = [Param(np.random.uniform(-1, 1, (a, b))) for a, b in ((2, 4), (4, 4), (4, 1))]
    tape = Tape()
    for epoch in range(epochs):
        out = tape.run(W, X)
        pred = (out > 0.5) * 1.0
        tape.back(W, Y)
        for p in W:
            p.value = p.value - lr * p.grad


X = np.random.default_rng(0).uniform(0, 1, (20, 2))
train(X, (X[:, :1] > X[:, 1:]) * 1.0, 100000, 0.5)
'''


@pytest.mark.slow
def test_a_loop_over_weights_held_by_objects_in_a_list_is_watched(tmp_path):
    verdicts = graded(tmp_path, HELD_IN_A_LIST)
    interface = verdicts["interface"]
    assert interface.status == PASS and interface.fraction == 0.25, interface.message
    assert "W[0].value, W[1].value, W[2].value" in interface.message, interface.message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message
