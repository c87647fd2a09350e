"""The notebook exercises as notebooks: the solution and the student's starter, from one source.

Each exercise is a list of cells written once.  A code cell marks what the student must write:

.. code-block:: python

    def derivative_sigmoid(a):
        # BEGIN SOLUTION
        # BLANK return ?
        return a * (1 - a)
        # END SOLUTION

The solution keeps the lines between the markers (without the ``# BLANK`` lines); the starter
replaces them with the ``# BLANK`` lines (without the prefix), or with ``# YOUR CODE HERE``
when there are none: the blanks the course's own notebooks have (the ``?`` of the [3,4,4,2]
notebook, an empty update cell).  The rubric of the exercise grades the solution notebook at
full marks (a test says so), so the starter, the solution and the rubric cannot drift apart.

``python -m reference.exercises.notebooks DIR`` writes every solution notebook, executed with
its outputs (this needs ``ipykernel``: ``pip install 'labgrade[notebooks]'``), into ``DIR``;
``labgrade release EXERCISE --out DIR`` writes a starter.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BEGIN, END, BLANK = "# BEGIN SOLUTION", "# END SOLUTION", "# BLANK"
_MARKER = re.compile(r"^(\s*)(# BEGIN SOLUTION|# END SOLUTION|# BLANK ?)(.*)$")


@dataclass(frozen=True)
class Cell:
    kind: Literal["markdown", "code"]
    source: str


def md(text: str) -> Cell:
    return Cell("markdown", text.strip("\n"))


def code(text: str) -> Cell:
    return Cell("code", text.strip("\n"))


@dataclass(frozen=True)
class Exercise:
    """One notebook exercise: its name (the rubric's id), file name, title and cells."""

    name: str
    filename: str
    title: str
    cells: tuple[Cell, ...]


def solution_source(source: str) -> str:
    """A code cell as the solution has it: the markers and the blanks removed."""
    kept = []
    for line in source.splitlines():
        match = _MARKER.match(line)
        if match is None:
            kept.append(line)
    return "\n".join(kept)


def starter_source(source: str) -> str:
    """A code cell as the student receives it: each solution region replaced by its blanks."""
    out: list[str] = []
    inside, blanks, indent = False, [], ""
    for line in source.splitlines():
        match = _MARKER.match(line)
        if match and match.group(2) == BEGIN:
            inside, blanks, indent = True, [], match.group(1)
        elif match and match.group(2) == END:
            out += blanks or [f"{indent}# YOUR CODE HERE"]
            inside = False
        elif match and match.group(2).startswith(BLANK):
            blanks.append(match.group(1) + match.group(3))
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"a solution region is not closed with {END!r}")
    return "\n".join(out)


def notebook(exercise: Exercise, *, starter: bool = False):
    """The exercise as an nbformat notebook (not executed)."""
    import nbformat

    cells = []
    for cell in exercise.cells:
        if cell.kind == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
        else:
            text = starter_source(cell.source) if starter else solution_source(cell.source)
            cells.append(nbformat.v4.new_code_cell(text))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def executed(nb, *, timeout: int = 120):
    """``nb`` run top to bottom in a Jupyter kernel, with its outputs."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3").execute()
    return nb


# --- the exercises --------------------------------------------------------------------------

AND_OR = Exercise("and-or", "01.AND_OR.ipynb",
                  "Machine Learning with NumPy: AND and OR", cells=(
    md("""
# AND and OR with a single-layer perceptron

One sigmoid unit, `y_pred = sigmoid(x @ wout + bout)`, learns AND and then OR on the four
corners of {-1, 1}², full batch, 5000 epochs, learning rate 0.1.  Write `sigmoid` and
`derivative_sigmoid`, then run the training cells.
"""),
    code("""
import numpy as np

np.random.seed(0)
"""),
    code("""
def sigmoid(x):
    # BEGIN SOLUTION
    # BLANK return ?
    # exp(-log(1 + exp(-x))) = 1 / (1 + exp(-x)), without overflow for large |x|
    return np.exp(-np.logaddexp(0, -x))
    # END SOLUTION


def derivative_sigmoid(a):
    \"\"\"The derivative of the sigmoid, given its output a = sigmoid(x).\"\"\"
    # BEGIN SOLUTION
    # BLANK return ?
    return a * (1 - a)
    # END SOLUTION
"""),
    md("## Data"),
    code("""
x = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]])
d_in, d_out = 2, 1
learning_rate = 0.1
"""),
    md("## AND"),
    code("""
y = np.array([[1], [0], [0], [0]])
wout = np.random.uniform(size=(d_in, 1))
bout = np.random.uniform(size=(1, d_out))

for epoch in range(5000):
    y_pred = sigmoid(x.dot(wout) + bout)
    loss = np.square(y_pred - y).sum()
    if epoch % 500 == 0:
        print(epoch, loss)
    # BEGIN SOLUTION
    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    grad_wout = x.T.dot(grad_y_pred)
    grad_bout = np.sum(grad_y_pred, axis=0, keepdims=True)
    wout += grad_wout * learning_rate
    bout += grad_bout * learning_rate
    # END SOLUTION

print(y_pred)
print(wout)
print(bout)
"""),
    md("## OR"),
    code("""
y = np.array([[1], [1], [0], [1]])
wout = np.random.uniform(size=(d_in, 1))
bout = np.random.uniform(size=(1, d_out))

for epoch in range(5000):
    y_pred = sigmoid(x.dot(wout) + bout)
    loss = np.square(y_pred - y).sum()
    if epoch % 500 == 0:
        print(epoch, loss)
    # BEGIN SOLUTION
    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    grad_wout = x.T.dot(grad_y_pred)
    grad_bout = np.sum(grad_y_pred, axis=0, keepdims=True)
    wout += grad_wout * learning_rate
    bout += grad_bout * learning_rate
    # END SOLUTION

print(y_pred)
print(wout)
print(bout)
"""),
))

XOR = Exercise("xor", "02.XOR.ipynb", "Machine Learning with NumPy: XOR", cells=(
    md("""
# XOR: a single layer cannot learn it, one hidden layer can

First the single sigmoid unit of the AND/OR notebook on XOR: its loss stays near 1.0 and its
outputs near 0.5, because no line separates XOR.  Then a hidden layer of two sigmoid units,
`h = sigmoid(x @ wh + bh)`, `y_pred = sigmoid(h @ wout + bout)`, which learns it.
"""),
    code("""
import numpy as np

np.random.seed(0)
"""),
    code("""
def sigmoid(x):
    # BEGIN SOLUTION
    # BLANK return ?
    return np.exp(-np.logaddexp(0, -x))
    # END SOLUTION


def derivative_sigmoid(a):
    \"\"\"The derivative of the sigmoid, given its output a = sigmoid(x).\"\"\"
    # BEGIN SOLUTION
    # BLANK return ?
    return a * (1 - a)
    # END SOLUTION
"""),
    code("""
x = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]])
y = np.array([[0], [1], [0], [1]])
epoch = 5000
learning_rate = 0.1
d_in, d_out = x.shape[1], 1
"""),
    md("## A single layer"),
    code("""
wout = np.random.uniform(size=(d_in, d_out))
bout = np.random.uniform(size=(1, d_out))

for i in range(epoch):
    y_pred = sigmoid(x.dot(wout) + bout)
    loss = np.square(y_pred - y)
    if i % 500 == 0:
        print('Epoch', i, ':', loss.sum())
    # BEGIN SOLUTION
    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    wout += x.T.dot(grad_y_pred) * learning_rate
    bout += np.sum(grad_y_pred, axis=0, keepdims=True) * learning_rate
    # END SOLUTION

print(y_pred)
"""),
    md("## One hidden layer of two units"),
    code("""
d_h = 2
wh = np.random.uniform(size=(d_in, d_h))
bh = np.random.uniform(size=(1, d_h))
wout = np.random.uniform(size=(d_h, d_out))
bout = np.random.uniform(size=(1, d_out))

for i in range(epoch):
    h = sigmoid(x.dot(wh) + bh)
    y_pred = sigmoid(h.dot(wout) + bout)
    loss = np.square(y_pred - y)
    if i % 500 == 0:
        print('Epoch', i, ':', loss.sum())
    # BEGIN SOLUTION
    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    grad_wout = h.T.dot(grad_y_pred)
    grad_bout = np.sum(grad_y_pred, axis=0, keepdims=True)
    grad_h = grad_y_pred.dot(wout.T) * derivative_sigmoid(h)
    grad_wh = x.T.dot(grad_h)
    grad_bh = np.sum(grad_h, axis=0, keepdims=True)
    wout += grad_wout * learning_rate
    bout += grad_bout * learning_rate
    wh += grad_wh * learning_rate
    bh += grad_bh * learning_rate
    # END SOLUTION

print(y_pred)
"""),
))

EXERCISES: dict[str, Exercise] = {e.name: e for e in (AND_OR, XOR)}


def write_solutions(folder: Path) -> list[Path]:
    """Every solution notebook, executed with its outputs, into ``folder``."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for exercise in EXERCISES.values():
        path = folder / f"solution_{exercise.name}.ipynb"
        nbformat.write(executed(notebook(exercise)), str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_solutions(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(path)
