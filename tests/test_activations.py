"""A network whose hidden layers use another activation than the lab's sigmoid (the template's
``NN(dim, activation=sigmoid)`` lets a student pass one) is recognised, and checked with it."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from grader.batch import rubric_settings
from grader.checks.base import FAIL, PASS
from grader.checks.interface import InterfaceCheck, activation_pairs
from grader.discover import discover
from grader.grading import grade_submission
from grader.rubric import load_rubric

RELU_NET = '''
import numpy as np


def relu(x):
    return np.maximum(0, x)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class NN:
    def __init__(self, dim, activation=relu):
        self.w = [np.random.uniform(-1, 1, (a, b)) for a, b in zip(dim, dim[1:])]
        self.act = activation

    def predict(self, X):
        self.a = [X]
        for k, W in enumerate(self.w):
            z = self.a[-1] @ W
            self.a.append(sigmoid(z) if k == len(self.w) - 1 else self.act(z))
        return self.a[-1]

    def backprop(self, y):
        out = self.a[-1]
        d = 2 * (out - y) / len(y) * out * (1 - out)
        self.g = []
        for k in range(len(self.w) - 1, -1, -1):
            self.g.insert(0, self.a[k].T @ d)
            d = (d @ self.w[k].T) * DERIVATIVE
        return self.g

    def update(self, lr):
        for W, g in zip(self.w, self.g):
            W -= lr * g
'''


def graded(tmp_path: Path, derivative: str, **interface) -> dict:
    path = tmp_path / "DLP_LAB1_0900405_Relu.py"
    path.write_text(textwrap.dedent(RELU_NET).replace("DERIVATIVE", derivative),
                    encoding="utf-8")
    [sub] = discover(path, workdir=tmp_path / "work")
    settings = rubric_settings(load_rubric("lab1"))
    settings["interface"] = dataclasses.replace(settings["interface"], **interface)
    return grade_submission(sub, settings=settings, seed=0,
                            only={"interface", "forward", "gradient"}).verdicts


def test_the_labs_sigmoid_network_is_tried_first():
    pairs = activation_pairs(InterfaceCheck(points=4))
    assert pairs[0] == ("sigmoid", "sigmoid") and ("relu", "sigmoid") in pairs
    assert activation_pairs(InterfaceCheck(points=4, hidden_activations=("sigmoid",),
                                           output_activations=("sigmoid",))) == \
        [("sigmoid", "sigmoid")]


def test_a_relu_network_is_recognised_and_its_gradient_checked_with_relu(tmp_path):
    verdicts = graded(tmp_path, "(self.a[k] > 0)")
    assert "(activations: relu hidden layers, sigmoid output; the checks use them)" in \
        verdicts["interface"].message, verdicts["interface"].message
    assert verdicts["forward"].status == PASS, verdicts["forward"].message
    assert "reference forward pass" in verdicts["forward"].message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message


def test_a_wrong_relu_derivative_fails_the_gradient(tmp_path):
    verdicts = graded(tmp_path, "self.a[k] * (1 - self.a[k])")  # the sigmoid's, on a ReLU
    assert verdicts["forward"].status == PASS
    assert verdicts["gradient"].status == FAIL, verdicts["gradient"].message


def test_a_course_that_accepts_only_sigmoid_does_not_map_a_relu_network(tmp_path):
    verdicts = graded(tmp_path, "(self.a[k] > 0)", hidden_activations=("sigmoid",))
    assert "its parameters do not map onto the lab's layers" in verdicts["interface"].message
