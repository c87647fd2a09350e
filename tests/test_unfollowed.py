"""The sentence that says why the grader could not follow a program, and what to change."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.batch import rubric_settings
from grader.checks.base import FAIL
from grader.discover import discover
from grader.grading import grade_submission
from grader.rubric import load_rubric
from grader.unfollowed import why_unfollowed


def function(i: int, name: str, args: list, caller: Any = None, seconds: float = 0.001,
             **more: Any) -> dict[str, Any]:
    return {"i": i, "kind": "function", "name": name, "args": args, "kwargs": {},
            "caller": caller, "seconds": seconds, **more}


def floats(ref: int, shape: list[int]) -> dict[str, Any]:
    return {"type": "array", "ref": ref, "shape": shape, "dtype": "float64"}


def test_a_program_stopped_by_a_missing_command_line_argument_is_told_to_give_a_default():
    trace = {"events": [], "stopped": "error", "error": {
        "kind": "exception", "message": "IndexError: list index out of range",
        "file": "lab1.py", "line": 174, "source_line": "if sys.argv[1] == 'linear':"}}
    sentence = why_unfollowed(trace)
    assert "lab1.py, line 174: IndexError: list index out of range" in sentence
    assert "without command-line arguments" in sentence


def test_a_program_waiting_for_the_keyboard_is_told_to_give_a_default():
    trace = {"events": [], "stopped": "error", "error": {
        "kind": "input", "file": "main.py", "line": 153,
        "message": "your program waits for keyboard input (input()); a grader cannot type",
        "source_line": "option = input('Choose a dataset to test. 1 : linear, 2 : xor')"}}
    sentence = why_unfollowed(trace)
    assert "main.py, line 153: your program waits for keyboard input" in sentence
    assert sentence.endswith("give each choice a default the program uses when nothing is "
                             "typed, or set it in the code")


def test_an_inline_loop_names_its_function_and_what_to_write_instead():
    events = [function(0, "network", [], seconds=7.9),
              *[function(k, "sigmoid", [floats(k, [21, 3])], caller="network")
                for k in range(1, 40)]]
    sentence = why_unfollowed({"events": events, "stopped": "ended"})
    assert sentence.startswith("your program trains inside network(), with the forward and "
                               "backward passes written inline")
    assert "class NN with predict, backprop and update" in sentence


def test_a_function_calling_step_functions_that_take_the_weights_is_no_inline_loop():
    events = [function(0, "train", [], seconds=7.9),
              *[function(k, "forward", [floats(2 * k, [21, 2]), floats(2 * k + 1, [2, 4])],
                         caller="train") for k in range(1, 10)]]
    assert "inline" not in why_unfollowed({"events": events, "stopped": "time"})


def test_a_network_built_and_never_trained_is_said():
    events = [{"i": 0, "kind": "construct", "object": 0, "class": "Net", "args": [],
               "kwargs": {}, "caller": None},
              {"i": 1, "kind": "call", "object": 0, "method": "forward", "args": [],
               "kwargs": {}, "caller": None, "changed": [], "seconds": 0.01}]
    assert why_unfollowed({"events": events, "stopped": "ended"}).startswith(
        "your program builds Net but no call it makes changes a NumPy array those objects "
        "hold")


INLINE = '''
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def generate_XOR_easy():
    inputs, labels = [], []
    for i in range(11):
        inputs.append([0.1 * i, 0.1 * i]); labels.append(0)
        if 0.1 * i == 0.5:
            continue
        inputs.append([0.1 * i, 1 - 0.1 * i]); labels.append(1)
    return np.array(inputs), np.array(labels).reshape(21, 1)


class Model:
    """Only holds the weights: the loop that trains them is written inline in run()."""

    def __init__(self, dims):
        rng = np.random.default_rng(1)
        self.weight = [rng.normal(size=(a, b)) for a, b in zip(dims, dims[1:])]


def run(epochs, lr):
    x, y = generate_XOR_easy()
    w1, w2, w3 = Model([2, 4, 4, 1]).weight
    for epoch in range(epochs):
        # the sigmoid written out: the loop calls none of the student's functions, so the
        # grader cannot even watch it step
        a1 = 1 / (1 + np.exp(-(x @ w1)))
        a2 = 1 / (1 + np.exp(-(a1 @ w2)))
        out = 1 / (1 + np.exp(-(a2 @ w3)))
        d3 = (out - y) * out * (1 - out)
        d2 = (d3 @ w3.T) * a2 * (1 - a2)
        d1 = (d2 @ w2.T) * a1 * (1 - a1)
        w3 -= lr * a2.T @ d3
        w2 -= lr * a1.T @ d2
        w1 -= lr * x.T @ d1
    return w1, w2, w3


run(200000, 0.5)
'''


@pytest.mark.slow
def test_an_inline_training_loop_gets_an_interface_message_saying_what_to_change(
        tmp_path: Path) -> None:
    path = tmp_path / "DLP_LAB1_0900402_Inline.py"
    path.write_text(textwrap.dedent(INLINE), encoding="utf-8")
    [sub] = discover(path, workdir=tmp_path / "work")
    settings = rubric_settings(load_rubric("lab1"))  # the loop never stops by itself
    settings["interface"] = dataclasses.replace(settings["interface"], trace_seconds=3.0)
    verdict = grade_submission(sub, settings=settings, seed=0,
                               only={"interface"}).verdicts["interface"]
    assert verdict.status == FAIL
    assert verdict.message.startswith("Model has no method for the forward pass, predict (or "
                                      "forward, feed_forward), or none for backprop, so no "
                                      "class is the network; "), verdict.message
    assert "your program trains inside run(), with the forward and backward passes written " \
        "inline" in verdict.message, verdict.message


def test_functions_passed_a_network_of_python_lists_are_named_as_what_to_change():
    network = {"type": "literal", "value": [[{"weights": [0.1, 0.2, 0.3]}],
                                            [{"weights": [0.4, 0.5]}]]}
    events = [function(0, "train_network", [network], seconds=9.0)]
    for k in range(1, 30, 3):
        events += [function(k, "forward_propagate", [network, floats(k, [3])],
                            caller="train_network", names=["network", "row"]),
                   function(k + 1, "backward_propagate_error", [network, {
                       "type": "literal", "value": [0, 1]}], caller="train_network",
                       names=["network", "expected"]),
                   function(k + 2, "activation", [{"type": "number", "value": 0.3}],
                            caller="train_network", names=["x"])]
    sentence = why_unfollowed({"events": events, "stopped": "time"})
    assert sentence.startswith("your program trains inside train_network() through "
                               "forward_propagate(network, row), backward_propagate_error("
                               "network, expected), which pass the whole network as Python "
                               "lists"), sentence
    assert "class NN with predict, backprop and update" in sentence
