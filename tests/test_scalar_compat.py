"""NumPy 2.4 refuses to take a one-element array as a number (``float(loss)`` for a (1, 1)
loss); while the grader learns and checks a network, the student's code is compiled to do what
older NumPy did (``grader/sandbox/child/scalar_compat.py``), and the program check still runs
the program as it is and says where it fails."""

from __future__ import annotations

import ast
import builtins
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.batch import rubric_settings
from grader.checks.base import ERROR, PASS
from grader.discover import discover
from grader.grading import grade_submission
from grader.rubric import load_rubric
from grader.sandbox.child import scalar_compat


def run_rewritten(source: str) -> dict:
    tree = scalar_compat.rewrite(ast.parse(textwrap.dedent(source)))
    namespace: dict = {"np": np}
    setattr(builtins, scalar_compat.HELPER, scalar_compat.scalar)
    try:
        exec(compile(tree, "<student>", "exec"), namespace)  # noqa: S102 -- our own text
    finally:
        delattr(builtins, scalar_compat.HELPER)
    return namespace


def test_each_conversion_of_a_one_element_array_takes_its_element():
    ns = run_rewritten("""
        import math
        loss = np.array([[0.25]])
        a = float(loss)
        b = int(np.array([[3.7]]))
        c = math.log(loss)
        d = "%.2f" % loss
        e = "%.1f and %d" % (loss, np.array([2]))
        f = float("1.5")
        g = float(np.float64(2.0))
    """)
    assert (ns["a"], ns["b"], ns["d"], ns["e"], ns["f"], ns["g"]) == \
        (0.25, 3, "0.25", "0.2 and 2", 1.5, 2.0)
    assert ns["c"] == pytest.approx(np.log(0.25))


def test_arrays_of_more_than_one_element_still_fail_as_they_always_did():
    with pytest.raises(TypeError):
        run_rewritten("float(np.array([1.0, 2.0]))")


def test_without_the_rewrite_numpy_refuses_the_conversion():
    """The reason the rewrite exists (NumPy 2.4 and later): if this ever passes, NumPy has
    changed its mind and the program check's explanation must change too."""
    with pytest.raises(TypeError, match="0-dimensional"):
        float(np.array([[0.25]]))


PACKAGE_NET = '''
import math
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


class Net:
    def __init__(self, sizes, lr=0.5):
        self.W = [np.random.uniform(-1, 1, (a, b)) for a, b in zip(sizes, sizes[1:])]
        self.lr = lr

    def run(self, x):
        self.a = [x]
        for W in self.W:
            self.a.append(sigmoid(self.a[-1] @ W))
        return self.a[-1]

    def propagate(self, y):
        delta = 2 * (self.a[-1] - y) * self.a[-1] * (1 - self.a[-1])
        self.g = []
        for k in range(len(self.W) - 1, -1, -1):
            self.g.insert(0, self.a[k].T @ delta)
            delta = (delta @ self.W[k].T) * self.a[k] * (1 - self.a[k])

    def descend(self):
        for W, g in zip(self.W, self.g):
            W -= self.lr * g

    def loss(self, out, y):
        return math.sqrt(float(np.mean((out - y) ** 2, keepdims=True)))  # a (1, 1) array
'''

PACKAGE_MAIN = '''
import numpy as np
from net import Net

np.random.seed(0)
X = np.random.uniform(0, 1, (30, 2))
Y = (X[:, :1] > X[:, 1:]).astype(float)
net = Net([2, 4, 4, 1])
for epoch in range(20000):
    for i in range(len(X)):
        out = net.run(X[i:i + 1])
        print("loss %.4f" % net.loss(out, Y[i:i + 1]))  # before the first step is made
        net.propagate(Y[i:i + 1])
        net.descend()
'''


@pytest.mark.slow
def test_a_network_whose_module_prints_a_one_element_loss_is_learned_and_graded(tmp_path):
    folder = tmp_path / "DLP_LAB1_0900412_Loss"
    folder.mkdir()
    (folder / "net.py").write_text(PACKAGE_NET, encoding="utf-8")
    (folder / "main.py").write_text(PACKAGE_MAIN, encoding="utf-8")
    [sub] = discover(folder, workdir=tmp_path / "work")
    verdicts = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                                only={"interface", "gradient", "program"}).verdicts
    interface = verdicts["interface"]
    assert interface.status == PASS and "descend()" in interface.message, interface.message
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message
    program = verdicts["program"]  # the program itself, as it runs on this NumPy
    line = PACKAGE_NET.splitlines().index(next(t for t in PACKAGE_NET.splitlines()
                                               if "math.sqrt" in t)) + 1
    assert program.status == ERROR and f"(net.py, line {line})" in program.message, \
        program.message
    assert ".item()" in program.message


def test_a_notebook_cell_that_crashes_so_is_named_by_its_cell(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import numpy as np"),
                      nbformat.v4.new_code_cell("loss = np.array([[0.5]])\nprint(float(loss))")]
    path = tmp_path / "DLP_LAB1_0900413_Cell.ipynb"
    nbformat.write(notebook, str(path))
    [sub] = discover(path, workdir=tmp_path / "work")
    program = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                               only={"program"}).verdicts["program"]
    assert program.status == ERROR
    assert "your program crashed (cell 2, line 2)" in program.message, program.message


def test_the_rewrite_is_only_for_the_students_own_modules(tmp_path: Path):
    finder = scalar_compat._StudentModules(str(tmp_path))
    (tmp_path / "mine.py").write_text("x = float(__import__('numpy').array([[1.0]]))\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        spec = finder.find_spec("mine", None)
        assert isinstance(spec.loader, scalar_compat._StudentModuleLoader)
        # anything else is left to the finders after it (which refuse the grader's packages)
        assert finder.find_spec("json", None) is None
        assert finder.find_spec("reference", None) is None
    finally:
        sys.path.remove(str(tmp_path))
