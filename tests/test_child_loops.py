"""A notebook's training loops watched as it runs (``grader/sandbox/child/loops.py``), in a
real sandbox: one step read from two passes through a loop's header, whatever the loop looks
like, and a long loop that finishes within its cell's budget (only its first passes are
traced).

Real notebooks, run top to bottom by the child (``Loader(..., cell_states=True)``), and the
``loop_step`` probe the ``step`` kind asks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.load import EXECUTE, Loader
from grader.sandbox import Sandbox
from grader.settings import SandboxSettings

SETTINGS = SandboxSettings(step_timeout=20.0, cell_timeout=30.0, submission_timeout=120.0)

CELLS = [
    # 1: data and a function whose own loop must not count (it runs in its own frame)
    """
import numpy as np
x = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])
y = np.array([[1.0], [0.0], [0.0], [0.0]])

def sigmoid(z):
    for _ in range(3):
        pass
    return 1 / (1 + np.exp(-z))
""",
    # 2: initialisation in a loop: one weight changes per pass, never all of them
    """
w = np.zeros((2, 1))
v = np.zeros((1, 1))
for k in range(2):
    w[k, 0] = 0.5 * (k + 1)
v[0, 0] = 0.1
""",
    # 3: a full-batch loop, written over several lines per statement
    """
for epoch in range(200000):
    p = sigmoid(x.dot(w)
                + v)
    g = (p - y) * p * (1 - p)
    w = w - 0.1 * x.T.dot(
        g)
    v -= 0.1 * g.sum(axis=0, keepdims=True)
""",
    # 4: a while loop around a mini-batch loop, shuffling in place
    """
rows = 4
acc = [0]
while len(acc) < 3:
    order = np.random.permutation(rows)
    x, y = x[order], y[order]
    for i in range(0, rows, 2):
        p = sigmoid(x[i:i + 2].dot(w) + v)
        g = (p - y[i:i + 2]) * p * (1 - p)
        w -= 0.5 * x[i:i + 2].T.dot(g)
        v -= 0.5 * g.sum(axis=0, keepdims=True)
    acc.append(1)
""",
]


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory):
    folder: Path = tmp_path_factory.mktemp("loops")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c.strip()) for c in CELLS]
    nbformat.write(nb, str(folder / "student.ipynb"))
    with Sandbox(folder, SETTINGS) as sandbox:
        loaded = Loader(sandbox, "student.ipynb", "notebook", seed=0,
                        cell_states=True).load(EXECUTE)
        # 200 000 epochs finish within the cell's budget: only their first passes are traced
        assert loaded.errors == [], loaded.errors

        def step(occurrence: int, names=("w", "v", "x", "y", "i"), cells=None):
            result = sandbox.request("loop_step", {
                "weights": ["w", "v"], "names": list(names), "cells": cells,
                "occurrence": occurrence}, timeout=20)
            assert result.ok, result.message
            return result.result

        yield step


def _value(found: dict) -> np.ndarray:
    return np.asarray(found["value"], dtype=float)


def test_the_first_loop_that_changes_every_weight_is_the_full_batch_one(watched):
    step = watched
    seen = step(1)
    assert seen["found"] and seen["cell"] == 3 and seen["line"] == 1
    w0, v0 = _value(seen["before"]["w"]), _value(seen["before"]["v"])
    np.testing.assert_array_equal(w0, [[0.5], [1.0]])  # as the initialising cell left it
    x, y = _value(seen["before"]["x"]), _value(seen["before"]["y"])
    p = 1 / (1 + np.exp(-(x @ w0 + v0)))
    g = (p - y) * p * (1 - p)
    np.testing.assert_allclose(_value(seen["after"]["w"]), w0 - 0.1 * x.T @ g)
    np.testing.assert_allclose(_value(seen["after"]["v"]), v0 - 0.1 * g.sum(axis=0))


def test_a_nested_mini_batch_loop_gives_its_batch_start_after_the_step(watched):
    step = watched
    seen = step(2)
    assert seen["found"] and seen["cell"] == 4
    # the pass after the step is the header of the inner loop, before it takes the next i
    assert seen["next_line"] == seen["line"] == 6
    assert int(_value(seen["after"]["i"])) == 0
    x, y = _value(seen["before"]["x"]), _value(seen["before"]["y"])
    w0, v0 = _value(seen["before"]["w"]), _value(seen["before"]["v"])
    p = 1 / (1 + np.exp(-(x[:2] @ w0 + v0)))
    g = (p - y[:2]) * p * (1 - p)
    np.testing.assert_allclose(_value(seen["after"]["w"]), w0 - 0.5 * x[:2].T @ g)


def test_cells_can_be_chosen_and_a_missing_step_says_what_was_seen(watched):
    step = watched
    assert step(1, cells=[3])["cell"] == 4  # 0-based: the fourth cell
    missing = step(1, cells=[0, 1])
    assert missing == {"found": False, "loop_cells": [2, 3, 4], "changed": ["v", "w"]}
    assert step(3)["found"] is False


def test_the_states_after_a_cell_that_ended_the_child_stay_with_their_cells(tmp_path):
    # cell 2 ends the process: the notebook is run again without it, and the state kept after
    # each later cell must still be found under that cell's own number
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (
        "a = 1.0", "import os\nos._exit(3)", "b = a + 1", "c = b * 2")]
    nbformat.write(nb, str(tmp_path / "student.ipynb"))
    with Sandbox(tmp_path, SETTINGS) as sandbox:
        loaded = Loader(sandbox, "student.ipynb", "notebook", seed=0,
                        cell_states=True).load(EXECUTE)
        assert any("cell 2" in e for e in loaded.errors), loaded.errors

        def variables(moment):
            step = sandbox.request("variables", {"names": ["a", "b", "c"], "moment": moment},
                                   timeout=20)
            assert step.ok, step.message
            return step.result

        after_third = variables({"until": 2})
        with_c = variables({"with": ["c"]})
    assert sorted(after_third["variables"]) == ["a", "b"], after_third
    assert after_third["cell"] == 3
    assert with_c["cell"] == 4 and sorted(with_c["variables"]) == ["a", "b", "c"]
