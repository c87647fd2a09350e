"""Ground truth of the sample submissions in ``submissions/lab1/`` (see ``submissions/lab1/README.md``).

The samples' module-level code is never run here: the sign-error sample's training loop never
ends.  Only their imports, functions and classes are kept (with :mod:`ast`) and exec'd in a fresh
namespace.  Then one step of predict, backprop and update(lr=1.0), starting from the reference's
weights, is compared with :class:`reference.lab1.NN`.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from reference import lab1 as ref

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = ROOT / "submissions" / "lab1"
README = SUBMISSIONS / "README.md"

CORRECT_PY = SUBMISSIONS / "DLP_LAB1_0856001_Chen.py"
NOTEBOOK = SUBMISSIONS / "DLP_LAB1_0856017_王小明.ipynb"
SIGN_ERROR_PY = SUBMISSIONS / "DLP_LAB1_0856042_Lin.py"
SYNTAX_ERROR_PY = SUBMISSIONS / "DLP_LAB1_0856105_Huang.py"
ALL_SAMPLES = (CORRECT_PY, NOTEBOOK, SIGN_ERROR_PY, SYNTAX_ERROR_PY)

# How each sample's weight change compares with the reference's, d_student = factor * d_reference:
# the reference's mse derivative is 2 (y_pred - y) / n.  Chen and Lin use the same one for a
# single sample, the notebook uses y_pred - y (1/2 of it), and Lin's update has the wrong sign.
FACTOR = {CORRECT_PY: 1.0, NOTEBOOK: 0.5, SIGN_ERROR_PY: -1.0}

DIM = [2, 3, 3, 1]
ATOL = 1e-12
KEPT_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


# --- helpers ------------------------------------------------------------------------------------

def source_of(path: Path) -> str:
    """The Python source of a sample: the file itself, or a notebook's code cells, magics removed."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        cells = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            lines = [line for line in cell.source.splitlines()
                     if not line.lstrip().startswith(("%", "!"))]
            cells.append("\n".join(lines))
        return "\n\n".join(cells) + "\n"
    return path.read_text(encoding="utf-8")


def definitions_only(source: str, filename: str) -> ast.Module:
    """The module with only its top-level imports, functions and classes (no loops, no calls)."""
    tree = ast.parse(source, filename=filename)
    kept = [node for node in tree.body if isinstance(node, KEPT_NODES)]
    return ast.Module(body=kept, type_ignores=[])


def load_definitions(source: str, filename: str) -> dict:
    namespace: dict = {"__name__": "student_submission"}
    module = definitions_only(source, filename)
    exec(compile(module, filename, "exec"), namespace)  # noqa: S102 -- definitions only
    return namespace


@pytest.fixture(autouse=True)
def _keep_numpy_global_rng():
    """The students' NN() draws from np.random's global state: restore it afterwards."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


@pytest.fixture(scope="module")
def xor_data():
    return ref.generate_XOR_easy()


def make_pair(namespace: dict):
    """A reference NN(rng=0) and the student's NN holding copies of the same weights."""
    reference = ref.NN(dim=DIM, rng=0)
    student = namespace["NN"](dim=DIM)
    assert [w.shape for w in student.weights] == [w.shape for w in reference.weights]
    student.weights = [w.copy() for w in reference.weights]
    return reference, student


def one_step(model, x, y, lr: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """predict + backprop + update(lr); return the prediction and the change of every weight."""
    before = [np.array(w, dtype=float, copy=True) for w in model.weights]
    y_pred = np.array(model.predict(x), dtype=float, copy=True)
    model.backprop(y)
    model.update(lr)
    return y_pred, [np.asarray(w, dtype=float) - b for w, b in zip(model.weights, before)]


def readme_row(path: Path) -> str:
    rows = [line for line in README.read_text(encoding="utf-8").splitlines()
            if line.startswith("|") and f"`{path.name}`" in line]
    assert len(rows) == 1, f"README.md must have exactly one table row for {path.name}"
    return rows[0]


def documented_syntax_error_line() -> int:
    match = re.search(r"SyntaxError at line (\d+)", readme_row(SYNTAX_ERROR_PY))
    assert match, "README.md must give the syntax error's line as 'SyntaxError at line N'"
    return int(match.group(1))


# --- the files themselves -----------------------------------------------------------------------

def documented_names() -> set[str]:
    """The file names of all the README table's rows."""
    return {m.group(1) for line in README.read_text(encoding="utf-8").splitlines()
            if (m := re.match(r"\|\s*\d+\s*\|\s*`([^`]+)`\s*\|", line))}


def test_readme_documents_exactly_the_samples():
    on_disk = {p.name for p in SUBMISSIONS.iterdir() if p.name != "README.md"}
    # the README's other rows are the style and bug samples, checked by test_submissions_bugs.py
    others = documented_names() - {p.name for p in ALL_SAMPLES}
    assert on_disk == {p.name for p in ALL_SAMPLES} | others, (
        "a sample was added or removed: document it in submissions/lab1/README.md and here")
    for path in ALL_SAMPLES:
        assert re.match(r"DLP_LAB1_\d{7}_[^\W\d_]+\.(py|ipynb)$", path.name), path.name
        readme_row(path)


def test_syntax_error_sample_fails_at_the_documented_line():
    source = SYNTAX_ERROR_PY.read_text(encoding="utf-8")
    with pytest.raises(SyntaxError) as excinfo:
        compile(source, str(SYNTAX_ERROR_PY), "exec")
    line = documented_syntax_error_line()
    assert excinfo.value.lineno == line
    assert source.splitlines()[line - 1].strip() == "def backprop(self, y_data)"


def test_syntax_error_sample_is_otherwise_correct(xor_data):
    """Adding the missing colon leaves a working file: the error is the only defect."""
    lines = SYNTAX_ERROR_PY.read_text(encoding="utf-8").splitlines()
    line = documented_syntax_error_line()
    lines[line - 1] += ":"
    namespace = load_definitions("\n".join(lines) + "\n", str(SYNTAX_ERROR_PY))
    X, Y = xor_data
    reference, student = make_pair(namespace)
    _, d_ref = one_step(reference, X[3:4], Y[3:4], 1.0)
    _, d_student = one_step(student, X[3:4], Y[3:4], 1.0)
    for a, b in zip(d_student, d_ref):
        np.testing.assert_allclose(a, b, rtol=0, atol=ATOL)


@pytest.mark.parametrize("path", [p for p in ALL_SAMPLES if p.suffix == ".py" and p != SYNTAX_ERROR_PY],
                         ids=lambda p: p.name)
def test_other_py_samples_compile(path):
    compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_notebook_is_valid_and_its_code_compiles():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells[0].source.splitlines()[0] == "%matplotlib inline"
    assert all(not c.get("outputs") for c in code_cells)
    compile(source_of(NOTEBOOK), str(NOTEBOOK), "exec")


# --- the networks against the reference ---------------------------------------------------------

@pytest.fixture(scope="module", params=list(FACTOR), ids=lambda p: p.name)
def sample(request):
    path = request.param
    return path, load_definitions(source_of(path), str(path))


def test_definitions_follow_the_lab_interface(sample):
    path, ns = sample
    for name in ("generate_linear", "generate_XOR_easy", "show_result", "sigmoid", "mse", "NN"):
        assert name in ns, f"{path.name} lacks {name}"
    params = list(inspect.signature(ns["NN"].__init__).parameters)
    assert params == ["self", "dim", "activation", "loss"]
    assert ns["NN"].__init__.__defaults__ == (ns["sigmoid"], ns["mse"])
    for method in ("predict", "backprop", "update"):
        assert callable(getattr(ns["NN"], method))
    X, Y = ns["generate_XOR_easy"]()
    X_ref, Y_ref = ref.generate_XOR_easy()
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(Y, Y_ref)


def test_mse_derivative_factor(sample):
    """The student's dL/dy_pred on one sample is |FACTOR| times the reference's."""
    path, ns = sample
    y_pred, y = np.array([[0.3]]), np.array([[1]])
    ratio = ns["mse"](y_pred, y, derivative=True) / ref.mse(y_pred, y, derivative=True)
    assert ratio.item() == pytest.approx(abs(FACTOR[path]), abs=ATOL)
    assert float(ns["mse"](y_pred, y)) == pytest.approx(ref.mse(y_pred, y), abs=ATOL)


def test_one_step_on_a_single_sample(sample, xor_data):
    path, ns = sample
    X, Y = xor_data
    x, y = X[5].reshape(1, -1), Y[5].reshape(1, -1)
    reference, student = make_pair(ns)
    p_ref, d_ref = one_step(reference, x, y, 1.0)
    p_student, d_student = one_step(student, x, y, 1.0)
    np.testing.assert_allclose(p_student, p_ref, rtol=0, atol=ATOL)
    for a, b in zip(d_student, d_ref):
        assert np.max(np.abs(b)) > 1e-6  # the comparison is not vacuous
        np.testing.assert_allclose(a, FACTOR[path] * b, rtol=0, atol=ATOL)


def test_one_step_from_the_same_weights_on_each_xor_point(sample, xor_data):
    path, ns = sample
    X, Y = xor_data
    for i in range(len(X)):
        x, y = X[i].reshape(1, -1), Y[i].reshape(1, -1)
        reference, student = make_pair(ns)
        p_ref, d_ref = one_step(reference, x, y, 1.0)
        p_student, d_student = one_step(student, x, y, 1.0)
        np.testing.assert_allclose(p_student, p_ref, rtol=0, atol=ATOL, err_msg=f"point {i}")
        for layer, (a, b) in enumerate(zip(d_student, d_ref)):
            np.testing.assert_allclose(a, FACTOR[path] * b, rtol=0, atol=ATOL,
                                       err_msg=f"point {i}, layer {layer}")


def test_a_pass_over_the_xor_points_one_at_a_time(sample, xor_data):
    """21 consecutive steps with lr=1.0 equal the reference's with lr=FACTOR (-1: ascent)."""
    path, ns = sample
    X, Y = xor_data
    reference, student = make_pair(ns)
    for i in range(len(X)):
        x, y = X[i].reshape(1, -1), Y[i].reshape(1, -1)
        p_ref, _ = one_step(reference, x, y, FACTOR[path])
        p_student, _ = one_step(student, x, y, 1.0)
        np.testing.assert_allclose(p_student, p_ref, rtol=0, atol=ATOL, err_msg=f"point {i}")
        for layer, (a, b) in enumerate(zip(student.weights, reference.weights)):
            np.testing.assert_allclose(a, b, rtol=0, atol=ATOL, err_msg=f"point {i}, layer {layer}")


def test_the_sign_error_sample_goes_uphill(xor_data):
    """With a small lr, the correct samples lower a sample's loss and the sign error raises it."""
    X, Y = xor_data
    x, y = X[2].reshape(1, -1), Y[2].reshape(1, -1)
    for path in FACTOR:
        ns = load_definitions(source_of(path), str(path))
        _, student = make_pair(ns)
        before = ref.mse(student.predict(x), y)
        student.backprop(y)
        student.update(1e-3)
        after = ref.mse(student.predict(x), y)
        assert (after > before) == (FACTOR[path] < 0), path.name


def test_notebook_predicts_a_whole_batch_like_the_reference(xor_data):
    X, _ = xor_data
    ns = load_definitions(source_of(NOTEBOOK), str(NOTEBOOK))
    reference, student = make_pair(ns)
    np.testing.assert_allclose(student.predict(X), reference.predict(X), rtol=0, atol=ATOL)
