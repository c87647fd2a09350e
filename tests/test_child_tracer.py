"""The ``trace`` operation (grader/sandbox/child/tracer.py): the student's own program, run in a
real sandbox under the tracer, tells how it constructs its network and what one training step
is.

Every test writes a small program of its own, traces it in a fresh sandbox and asserts on the
record: the constructions, the calls made from outside each object (and those the first such
call of a method makes directly on its own object), the student functions that drive them, and
how the run ended.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from grader.learning import learn
from grader.sandbox import Sandbox
from grader.settings import SandboxSettings

SETTINGS = SandboxSettings(step_timeout=30.0, cell_timeout=10.0, submission_timeout=120.0)

NET = '''
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class Net:
    def __init__(self, n_in, h1, h2, n_out, lr=0.1):
        rng = np.random.default_rng(0)
        self.W1 = rng.normal(size=(n_in, h1))
        self.W2 = rng.normal(size=(h1, h2))
        self.W3 = rng.normal(size=(h2, n_out))
        self.lr = lr

    def sigmoid(self, x):
        return sigmoid(x)

    def forward(self, x):
        self.a1 = self.sigmoid(x @ self.W1)
        self.a2 = self.sigmoid(self.a1 @ self.W2)
        return self.sigmoid(self.a2 @ self.W3)

    def backward(self, x, y, out):
        d3 = (out - y) * out * (1 - out)
        d2 = (d3 @ self.W3.T) * self.a2 * (1 - self.a2)
        d1 = (d2 @ self.W2.T) * self.a1 * (1 - self.a1)
        self.g3, self.g2, self.g1 = self.a2.T @ d3, self.a1.T @ d2, x.T @ d1

    def update(self):
        self.W1 -= self.lr * self.g1
        self.W2 -= self.lr * self.g2
        self.W3 -= self.lr * self.g3


X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([[0], [1], [1], [0]], dtype=float)
'''



def training_loop(construction: str, epochs: int) -> str:
    """Top-level code that builds ``net`` and trains it the plainest way."""
    return f'''
net = {construction}
for epoch in range({epochs}):
    out = net.forward(X)
    net.backward(X, Y, out)
    net.update()
'''


TOP_LEVEL_LOOP = (NET + '\nif __name__ == "__main__":'
                  + textwrap.indent(training_loop("Net(2, 4, 4, 1, lr=0.5)", 100000), "    ")
                  + '    print("trained")\n')


def trace(folder: Path, program: str | list[str], **args: Any) -> dict[str, Any]:
    """The record of ``program`` (a script's source, or a notebook's code cells) traced in a
    fresh sandbox; also the step's wall-clock seconds and the program's output, under
    ``"step_seconds"`` and ``"stdout"``."""
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(program, str):
        (folder / "student.py").write_text(textwrap.dedent(program), encoding="utf-8")
        request = {"main": "student.py", "kind": "script"}
    else:
        request = {"main": "student.ipynb", "kind": "notebook", "cells": program}
    with Sandbox(folder, SETTINGS) as sandbox:
        step = sandbox.request("trace", {**request, **args}, timeout=60)
    assert step.ok, (step.message, step.reply)
    return {**step.result, "step_seconds": step.seconds, "stdout": step.reply["stdout"]}


def of_kind(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in record["events"] if e["kind"] == kind]


def outside(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The calls made from outside their object (not ``within`` another of its calls)."""
    return [e for e in of_kind(record, "call") if "within" not in e]


def literal(desc: dict[str, Any]) -> Any:
    assert desc["type"] in ("number", "literal"), desc
    return desc["value"]


# --- a network trained at the top level ---------------------------------------------------------

def test_top_level_loop_is_recorded_step_by_step(tmp_path: Path) -> None:
    record = trace(tmp_path, TOP_LEVEL_LOOP)
    assert record["stopped"] == "repeats"
    assert record["error"] is None and record["load"]["errors"] == [], record["load"]
    assert "trained" not in record["stdout"]

    [construct] = of_kind(record, "construct")
    assert construct["class"] == "Net" and construct["caller"] is None
    assert [literal(a) for a in construct["args"]] == [2, 4, 4, 1]
    assert construct["names"] == ["n_in", "h1", "h2", "n_out"]  # the parameters' names
    assert list(construct["kwargs"]) == ["lr"] and literal(construct["kwargs"]["lr"]) == 0.5
    assert construct["where"].startswith("student.py:")

    calls = of_kind(record, "call")
    outside = [c for c in calls if "within" not in c]
    methods = [c["method"] for c in outside]
    assert methods == ["forward", "backward", "update"] * 30, methods
    assert all(c["object"] == construct["object"] and c["caller"] is None for c in outside)
    # forward's own calls on its object are internal, but for its first call's: a method may
    # be where the program trains
    inside = [c for c in calls if "within" in c]
    assert [c["method"] for c in inside] == ["sigmoid"] * 3
    assert all(c["within"] == calls[0]["i"] for c in inside)


def test_top_level_loop_links_arrays_and_changes(tmp_path: Path) -> None:
    record = trace(tmp_path, TOP_LEVEL_LOOP, repeats=5)
    calls = outside(record)
    for forward, backward, update in zip(calls[0::3], calls[1::3], calls[2::3]):
        assert backward["args"][2]["ref"] == forward["result"]["ref"]
        assert backward["args"][0]["ref"] == forward["args"][0]["ref"]  # the same X each time
        assert {"W1", "W2", "W3"} <= set(update["changed"])
        assert not {"W1", "W2", "W3"} & set(forward["changed"])
        assert update["result"] == {"type": "literal", "value": None}
        assert "new" not in update  # the weights were there before: an update
        assert forward["result"]["shape"] == [4, 1] and forward["seconds"] >= 0
    # the first forward and backward store their caches and gradients: new, not updated
    assert set(calls[0]["new"]) == {"a1", "a2"} and set(calls[1]["new"]) == {"g1", "g2", "g3"}
    assert "new" not in calls[3]
    x = calls[0]["args"][0]
    assert x["values"] == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert x["summary"] == {"min": 0.0, "max": 1.0, "binary": True}
    arrays = record["objects"][str(calls[0]["object"])]["arrays"]
    assert arrays["W1"] == [2, 4] and arrays["W3"] == [4, 1]
    assert record["objects"]["0"]["class"] == "Net"
    assert record["objects"]["0"]["module_file"] == "student.py"


# --- a program that never trains ----------------------------------------------------------------

NEVER_TRAINS = NET.replace("    def update(self):", """    def fit(self, X, Y, epochs=50000):
        for epoch in range(epochs):
            out = self.forward(X)
            self.backward(X, Y, out)
            self.update()

    def update(self):""") + '''

if __name__ == "__main__":
    net = Net(2, 4, 4, 1, lr=0.5)
    # net.fit(X, Y)   (the runs are commented out)
    print("built")
'''


def test_a_network_the_program_never_trains_is_trained_by_its_own_method(tmp_path: Path
                                                                         ) -> None:
    record = trace(tmp_path, NEVER_TRAINS)
    assert "built" in record["stdout"] and record["stopped"] == "repeats"
    [construct] = of_kind(record, "construct")
    assert record["called"] == {"object": construct["object"], "method": "fit"}
    assert any("the grader called Net.fit(X, y)" in note for note in record["notes"])
    fit, *inside = of_kind(record, "call")
    assert fit["method"] == "fit" and fit["caller"] is None
    assert fit["args"][0]["shape"] == [21, 2] and fit["args"][1]["shape"] == [21, 1]
    assert [c["method"] for c in inside[:6]] == ["forward", "backward", "update"] * 2
    protocol = learn(record)
    assert protocol is not None and protocol.within == "fit"


def test_a_program_that_trains_is_not_trained_again(tmp_path: Path) -> None:
    record = trace(tmp_path, NEVER_TRAINS.replace("# net.fit(X, Y)   (the runs are commented out)",
                                                "net.fit(X, Y, 3)"))
    assert "called" not in record and record["stopped"] == "ended"


ASKS = NET + '''
choice = input("Which data? (0: XOR / 1: linear) ")
name = input("Your name: ")
if choice == "0":
    net = Net(2, 4, 4, 1)
    for epoch in range(1000):
        out = net.forward(X)
        net.backward(X, Y, out)
        net.update()
'''


def test_a_prompt_offering_choices_gets_the_first_and_one_offering_none_fails(
        tmp_path: Path) -> None:
    record = trace(tmp_path, ASKS)
    # the first prompt answered "0"; the second offers no choice: the program stops there
    assert record["stopped"] == "error" and record["error"]["kind"] == "input"
    assert "Your name" in record["error"]["source_line"]
    assert any("was answered '0'" in note for note in record["load"]["notes"])
    assert not of_kind(record, "call")
    record = trace(tmp_path / "one", ASKS.replace('name = input("Your name: ")\n', ""))
    assert record["stopped"] == "repeats"
    assert [c["method"] for c in outside(record)][:3] == ["forward", "backward", "update"]


def test_a_module_the_sandbox_lacks_is_a_stub_when_the_program_imports_it_unused(
        tmp_path: Path) -> None:
    program = "import pandas as pd\nimport numpy as np\n" + TOP_LEVEL_LOOP.replace(
        "import numpy as np\n", "", 1)
    record = trace(tmp_path, program)
    assert record["stopped"] == "repeats", record["error"]
    assert any("imported as stubs while tracing (any use fails): pandas" in note
               for note in record["notes"])
    # used, it fails as the import would have
    record = trace(tmp_path / "uses", "import pandas as pd\nframe = pd.DataFrame()\n")
    assert record["stopped"] == "error"
    assert "No module named 'pandas'" in record["error"]["message"]


FUNCTIONS = '''
import numpy as np


def label(point):
    return float(point[0] > point[1])


def forward(x, w):
    return 1 / (1 + np.exp(-(x @ w)))


points = np.random.default_rng(0).uniform(0, 1, (200, 2))
labels = np.array([[label(p)] for p in points])  # a helper per point: never a stop
w = np.zeros((2, 1))
for epoch in range(10 ** 6):
    out = forward(points, w)
    w -= 0.1 * points.T @ (out - labels)
'''


def test_a_program_of_functions_is_stopped_after_enough_calls_of_its_step_functions(
        tmp_path: Path) -> None:
    record = trace(tmp_path, FUNCTIONS)
    assert record["stopped"] == "repeats", record["stopped"]
    calls = [e for e in of_kind(record, "function") if e["name"] == "forward"]
    assert len(calls) >= 30 and record["step_seconds"] < 8


# --- a network that trains inside its own method ------------------------------------------------

TRAIN_METHOD = NET.replace("    def update(self):", """    def train(self, X, Y, epochs, lr):
        for epoch in range(epochs):
            for x, y in zip(X, Y):
                x, y = x[None, :], y[None, :]
                out = self.forward(x)
                self.backward(x, y, out)
                self.update(lr)

    def update(self, lr):
        self.lr = lr
""").replace("        self.W1 -= self.lr", "        self.W1 -= lr") + '''

if __name__ == "__main__":
    net = Net(2, 4, 4, 1)
    net.train(X, Y, epochs=50000, lr=0.2)
    print("trained")
'''


def test_the_calls_a_long_method_makes_on_its_own_object_are_recorded_within_it(
        tmp_path: Path) -> None:
    record = trace(tmp_path, TRAIN_METHOD)
    assert record["stopped"] == "repeats" and record["error"] is None
    assert "trained" not in record["stdout"]
    [construct] = of_kind(record, "construct")
    train, *inside = of_kind(record, "call")
    assert train["method"] == "train" and train["caller"] is None and train["unfinished"]
    assert literal(train["kwargs"]["epochs"]) == 50000
    # train's own calls; forward's self.sigmoid, one level deeper, is not there
    methods = [c["method"] for c in inside]
    assert methods == ["forward", "backward", "update"] * 30, methods
    assert all(c["within"] == train["i"] and c["caller"] == construct["object"]
               for c in inside)
    forwards, backwards, updates = inside[0::3], inside[1::3], inside[2::3]
    assert len({f["args"][0]["ref"] for f in forwards}) == 30  # a new slice every sample
    assert all(f["args"][0]["shape"] == [1, 2] and f["result"]["shape"] == [1, 1]
               for f in forwards)
    assert all(b["args"][0]["ref"] == f["args"][0]["ref"] for f, b in zip(forwards, backwards))
    assert all(b["args"][2]["ref"] == f["result"]["ref"] for f, b in zip(forwards, backwards))
    assert all(b["args"][1]["summary"]["binary"] for b in backwards)
    # (a sample of zeros moves no first-layer weight)
    assert all(literal(u["args"][0]) == 0.2 and {"W2", "W3"} <= set(u["changed"])
               for u in updates)


# --- layers, a train function, a student's own except ------------------------------------------

LAYERS = '''
import numpy as np


class Dense:
    def __init__(self, n_in, n_out):
        self.W = np.full((n_in, n_out), 0.1)

    def forward(self, x):
        self.x = x
        return x @ self.W


class Network:
    def __init__(self, sizes):
        self.layers = [Dense(2, 3), Dense(3, 1)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x


net = Network([2, 3, 1])
X = np.ones((4, 2))
for _ in range(1000):
    net.forward(X)
'''


def test_layers_built_inside_the_network_name_it_as_caller(tmp_path: Path) -> None:
    record = trace(tmp_path, LAYERS, repeats=3)
    network, *layers = of_kind(record, "construct")
    assert network["class"] == "Network" and network["caller"] is None
    assert [c["class"] for c in layers] == ["Dense", "Dense"]
    assert all(c["caller"] == network["object"] for c in layers)
    assert [literal(a) for a in layers[1]["args"]] == [3, 1]
    inner = [c for c in outside(record) if c["object"] != network["object"]]
    assert inner and all(c["caller"] == network["object"] for c in inner)
    assert record["stopped"] == "repeats"


TRAIN_FUNCTION = NET + '''

def train(net, X, Y, epochs):
    for _ in range(epochs):
        out = net.forward(X)
        net.backward(X, Y, out)
        net.update()


if __name__ == "__main__":
    train(Net(2, 4, 4, 1), X, Y, epochs=100000)
'''


def test_a_train_function_drives_the_calls(tmp_path: Path) -> None:
    record = trace(tmp_path, TRAIN_FUNCTION, repeats=4)
    [train] = [e for e in of_kind(record, "function") if e["name"] == "train"]
    assert train["caller"] is None and train["unfinished"] is True
    assert [a["type"] for a in train["args"]] == ["object", "array", "array"]
    assert literal(train["kwargs"]["epochs"]) == 100000
    [construct] = of_kind(record, "construct")
    assert train["args"][0]["object"] == construct["object"]
    assert construct["args"] == [{"type": "number", "value": v} for v in (2, 4, 4, 1)]
    assert construct["kwargs"] == {}  # lr kept its default: not passed
    train_lines = {TRAIN_FUNCTION.splitlines().index(f"        {text}") + 1
                   for text in ("out = net.forward(X)", "net.backward(X, Y, out)",
                                "net.update()")}
    calls = outside(record)
    assert len(calls) == 12 and all(c["caller"] is None for c in calls)
    assert {int(c["where"].split(":")[1]) for c in calls} == train_lines
    assert all(e["name"] != "sigmoid" for e in of_kind(record, "function"))  # inside a method


def test_a_students_except_exception_does_not_swallow_the_stop(tmp_path: Path) -> None:
    program = NET + '''
net = Net(2, 4, 4, 1)
for epoch in range(100000):
    try:
        net.backward(X, Y, net.forward(X))
        net.update()
    except Exception:
        print("step failed")
'''
    record = trace(tmp_path, program, repeats=5)
    assert record["stopped"] == "repeats" and record["error"] is None
    assert len(outside(record)) == 15
    assert record["step_seconds"] < 10


# --- notebooks ---------------------------------------------------------------------------------

def test_a_notebook_is_traced_cell_by_cell(tmp_path: Path) -> None:
    cells = [NET, "net = Net(2, 4, 4, 1, lr=0.3)",
             "for i in range(100000):\n    out = net.forward(X)\n    net.backward(X, Y, out)\n"
             "    net.update()",
             "print('after training')"]
    record = trace(tmp_path, cells, repeats=4)
    assert record["stopped"] == "repeats" and record["error"] is None
    [construct] = of_kind(record, "construct")
    assert construct["where"] == "cell 2:1"
    assert literal(construct["kwargs"]["lr"]) == 0.3
    calls = outside(record)
    assert [c["method"] for c in calls] == ["forward", "backward", "update"] * 4
    assert all(c["where"].startswith("cell 3:") for c in calls)
    assert record["load"]["errors"] == []
    assert [c["status"] for c in record["load"]["cells"]] == ["ok", "ok", "stopped", "skipped"]


def test_a_notebooks_budget_bounds_the_whole_run_not_each_cell(tmp_path: Path) -> None:
    cells = ["x = 0", "while True:\n    x += 1", "while True:\n    x -= 1", "print(x)"]
    record = trace(tmp_path, cells, seconds=2)
    assert record["stopped"] == "time" and record["load"]["errors"] == []
    assert [c["status"] for c in record["load"]["cells"]] == ["ok", "stopped", "skipped",
                                                              "skipped"]
    assert record["step_seconds"] < 2 + 3


# --- how a run ends ----------------------------------------------------------------------------

def test_a_program_that_ends_before_the_repeats(tmp_path: Path) -> None:
    record = trace(tmp_path, NET + training_loop("Net(2, 4, 4, 1)", 5))
    assert record["stopped"] == "ended" and record["error"] is None
    calls = outside(record)
    assert len(calls) == 15 and not any(c.get("unfinished") for c in calls)
    assert record["load"]["ok"] is True


def test_a_program_that_raises_keeps_the_events_before(tmp_path: Path) -> None:
    program = NET + '''
class Fragile(Net):
    steps = 0

    def update(self):
        Fragile.steps += 1
        if Fragile.steps == 3:
            raise ValueError("the loss diverged")
        super().update()
''' + training_loop("Fragile(2, 4, 4, 1)", 100)
    record = trace(tmp_path, program)
    assert record["stopped"] == "error"
    assert record["error"]["exception"] == "ValueError"
    assert "the loss diverged" in record["error"]["message"]
    assert record["load"]["errors"] == [record["error"]]
    calls = outside(record)
    assert [c["method"] for c in calls] == ["forward", "backward", "update"] * 3
    assert calls[-1]["raised"] == "ValueError" and calls[-1]["result"] is None
    assert "raised" not in calls[-4]
    [construct] = of_kind(record, "construct")  # Net.__init__ under Fragile: one object
    assert construct["class"] == "Fragile"


def test_a_program_that_never_calls_a_method_runs_out_of_time(tmp_path: Path) -> None:
    program = '''
count = 0
while True:
    count += 1
'''
    record = trace(tmp_path, program, seconds=2)
    assert record["stopped"] == "time" and record["error"] is None
    assert record["load"]["errors"] == []
    assert record["events"] == []
    assert record["step_seconds"] < 2 + 3


# --- descriptors -------------------------------------------------------------------------------

def test_descriptors_of_a_namespace_a_list_and_a_function(tmp_path: Path) -> None:
    program = '''
import argparse

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class SGD:
    pass


class Model:
    def __init__(self, options, sizes, activation=None, optimizer=None, shape=(2, 1)):
        self.options = options


parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--epochs", type=int, default=10)
Model(parser.parse_args(), [2, 3, 3, 1], activation=sigmoid, optimizer=SGD, shape=(4, 1))
'''
    record = trace(tmp_path, program)
    [construct] = of_kind(record, "construct")
    options, sizes = construct["args"]
    assert options == {"type": "namespace", "value": {"lr": 0.1, "epochs": 10}}
    assert sizes == {"type": "literal", "value": [2, 3, 3, 1]}
    assert construct["kwargs"]["activation"] == {"type": "function", "name": "sigmoid"}
    assert construct["kwargs"]["optimizer"] == {"type": "class", "name": "SGD"}
    assert construct["kwargs"]["shape"] == {"type": "literal", "value": [4, 1], "tuple": True}
    assert record["stopped"] == "ended"


def test_a_submission_may_have_its_own_tracer_module(tmp_path: Path) -> None:
    (tmp_path / "tracer.py").write_text("def steps():\n    return 3\n", encoding="utf-8")
    program = NET + '''
from tracer import steps

net = Net(2, 4, 4, 1)
for epoch in range(steps()):
    net.update() if epoch else net.backward(X, Y, net.forward(X))
'''
    record = trace(tmp_path, program)
    assert record["stopped"] == "ended", record["error"]
    assert [c["method"] for c in outside(record)] == [
        "forward", "backward", "update", "update"]
    assert {"kind": "function", "name": "steps"}.items() <= of_kind(record, "function")[0].items()


def test_the_record_is_capped(tmp_path: Path) -> None:
    program = """
class Cell:
    def __init__(self, value):
        self.value = value


cells = [Cell(i) for i in range(4000)]
print(len(cells))
"""
    record = trace(tmp_path, program)
    assert record["stopped"] == "ended" and record["truncated"] is True
    assert len(record["events"]) == 3000 and record["events"][-1]["i"] == 2999
    assert "4000" in record["stdout"]
