"""The AND/OR notebook exercise end to end, its notebooks from one source, and an exercise made
of a rubric alone.

* ``submissions/and-or``: the solution and seven broken student notebooks are graded once, for
  real (``labgrade grade --rubric and-or``), and every check's status, the failing checks'
  reasons and the solution's 10/10 are those of ``submissions/and-or/README.md``;
* ``reference/exercises/notebooks.py``: the solution and the starter of a cell on small
  examples, and neither the committed solution notebook nor the starter drifts from
  ``AND_OR``;
* a ReLU exercise written here as a rubric TOML of generic checks (``function``,
  ``variables``) and two notebooks: the correct one gets full marks, the broken one the
  expected reasons.  A TA adds an exercise without writing Python.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from reference.exercises.notebooks import (AND_OR, BEGIN, BLANK, END, notebook,
                                           solution_source, starter_source)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "submissions" / "and-or"
SOLUTION = SAMPLES / "solution_and-or.ipynb"


def grade(folder: Path, rubric: str, out: Path) -> dict[str, dict]:
    """``labgrade grade`` run as the TA runs it; each ``result.json`` by submitted file name."""
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(folder), "--rubric",
                           rubric, "--out", str(out), "--jobs", "2", "--format", "json"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    found = [json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*/result.json")]
    return {Path(r["submission"]["path"]).name: r for r in found}


def checks(result: dict) -> dict[str, dict]:
    return {c["id"]: c for c in result["checks"]}


# --- the AND/OR samples -------------------------------------------------------------------------

PASS4 = {"sigmoid": "pass", "derivative_sigmoid": "pass", "update": "pass", "or_gate": "pass"}

EXPECTED: dict[str, tuple[dict[str, str], dict[str, list[str]]]] = {
    # file: (status of each check, fragments of each failing check's message)
    "solution_and-or.ipynb": (PASS4, {}),
    "DLP_HW1_0857001_Chen.ipynb": (
        {**PASS4, "derivative_sigmoid": "fail", "update": "fail"},
        {"derivative_sigmoid": ["it applies the sigmoid again"],
         "update": ["cell 4", "wout", "the sigmoid applied twice"]}),
    "DLP_HW1_0857002_Wu.ipynb": (
        {**PASS4, "sigmoid": "fail"},
        {"sigmoid": ["is right but raised", "overflow encountered in exp"]}),
    "DLP_HW1_0857003_Tsai.ipynb": (
        {**PASS4, "update": "fail", "or_gate": "fail"},
        {"update": ["wrong sign", "gradient ascent"],
         "or_gate": ["y_pred labels 0% of the samples right", "[0, 1, 2, 3] are wrong"]}),
    "DLP_HW1_0857004_Kuo.ipynb": (
        {**PASS4, "or_gate": "fail"},
        {"or_gate": ["samples [1, 3] are wrong", "does not follow from the stored weights"]}),
    "DLP_HW1_0857005_Hsu.ipynb": (
        {**PASS4, "update": "fail", "or_gate": "fail"},
        {"update": ["no pass of them changes wout", "are the updates assigned?"],
         "or_gate": ["does not follow from the stored weights", "stored [0.98, 0.97, 0.02, 0.99]"]}),
    "DLP_HW1_0857006_Lin.ipynb": (
        {**PASS4, "derivative_sigmoid": "fail", "or_gate": "fail"},
        {"derivative_sigmoid": ["changes the array it is given"],
         "or_gate": ["y_pred labels 25% of the samples right",
                     "your weights label the data right, so it was changed after the last "
                     "forward pass"]}),
    "DLP_HW1_0857007_Yang.ipynb": (PASS4, {}),
}

POINTS = {
    # file: {check: points}: a careful TA's partial credit
    "DLP_HW1_0857001_Chen.ipynb": {"derivative_sigmoid": 0},  # wrong values earn nothing
    "DLP_HW1_0857002_Wu.ipynb": {"sigmoid": 1.6, "derivative_sigmoid": 2, "update": 2,
                                 "or_gate": 4},
    "DLP_HW1_0857006_Lin.ipynb": {"derivative_sigmoid": 1.8},
    "DLP_HW1_0857007_Yang.ipynb": {"sigmoid": 2, "derivative_sigmoid": 2, "update": 2,
                                   "or_gate": 4},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, dict]:
    return grade(SAMPLES, "and-or", tmp_path_factory.mktemp("and-or") / "out")


@pytest.mark.slow
def test_every_sample_is_graded_with_its_id_and_name_from_the_file_name(graded):
    assert sorted(graded) == sorted(EXPECTED)
    for name, result in graded.items():
        assert result["graded"] and result["error"] is None, name
        assert result["rubric"]["id"] == "and-or"
        match = re.fullmatch(r"DLP_HW1_(\d{7})_(\w+)\.ipynb", name)
        if match:
            assert (result["student"]["id"], result["student"]["name"]) == match.groups()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_check_has_the_readme_verdict(graded, name):
    statuses, fragments = EXPECTED[name]
    found = checks(graded[name])
    assert {check: c["status"] for check, c in found.items()} == statuses
    for check, wanted in fragments.items():
        for fragment in wanted:
            assert fragment in found[check]["message"], (check, found[check]["message"])
    for check, points in POINTS.get(name, {}).items():
        assert found[check]["points"] == pytest.approx(points), check


@pytest.mark.slow
def test_the_solution_and_the_aliased_derivative_get_full_marks(graded):
    for name in ("solution_and-or.ipynb", "DLP_HW1_0857007_Yang.ipynb"):
        assert graded[name]["score"]["auto"] == pytest.approx(10), name
    assert checks(graded["DLP_HW1_0857007_Yang.ipynb"])["derivative_sigmoid"][
        "message"].startswith("dsigmoid equals")


@pytest.mark.slow
def test_the_variables_check_judges_the_top_to_bottom_run_not_the_saved_outputs(graded):
    """The out-of-order notebook's saved output of the OR cell is a trained OR gate."""
    nb = nbformat.read(SAMPLES / "DLP_HW1_0857004_Kuo.ipynb", as_version=4)
    saved = [c for c in nb.cells if c.cell_type == "code" and "for epoch" in c.source][-1]
    text = "".join(o.get("text", "") for o in saved.outputs)
    assert "[[0.9999578 ]\n [0.96635589]\n [0.03364411]\n [0.96635589]]" in text
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts != sorted(counts)  # the saved run was out of order
    assert checks(graded["DLP_HW1_0857004_Kuo.ipynb"])["or_gate"]["status"] == "fail"


# --- reference/exercises/notebooks.py ------------------------------------------------------------

CELL = f"""
def f(a):
    {BEGIN}
    {BLANK} return ?
    return a * (1 - a)
    {END}

for step in range(3):
    {BEGIN}
    w += 1
    {END}
print(w)
""".strip("\n")


def test_solution_source_keeps_the_solution_without_markers_or_blanks():
    assert solution_source(CELL) == ("def f(a):\n    return a * (1 - a)\n\n"
                                     "for step in range(3):\n    w += 1\nprint(w)")


def test_starter_source_keeps_the_blanks_or_says_where_to_write():
    assert starter_source(CELL) == ("def f(a):\n    return ?\n\n"
                                    "for step in range(3):\n    # YOUR CODE HERE\nprint(w)")


def test_cells_without_markers_are_the_same_in_both():
    text = "x = 1\n# a comment\nprint(x)"
    assert solution_source(text) == starter_source(text) == text


def test_an_unclosed_solution_region_is_refused():
    with pytest.raises(ValueError, match="not closed"):
        starter_source(f"def f(a):\n    {BEGIN}\n    return a\n")


def code_sources(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def test_the_committed_solution_notebook_is_the_exercises():
    committed = nbformat.read(SOLUTION, as_version=4)
    assert code_sources(committed) == code_sources(notebook(AND_OR))
    assert all(cell.outputs for cell in committed.cells
               if cell.cell_type == "code" and "print(" in cell.source)  # it was executed


def test_the_starter_has_the_blanks_and_no_solution_line():
    starter = "\n".join(code_sources(notebook(AND_OR, starter=True)))
    assert starter.count("    return ?") == 2
    assert starter.count("# YOUR CODE HERE") == 2  # the AND and OR update steps
    for marker in (BEGIN, END, BLANK):
        assert marker not in starter
    solution_lines = set()
    for cell in AND_OR.cells:
        inside = False
        for line in cell.source.splitlines():
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif inside and line.strip() and not line.strip().startswith(BLANK):
                solution_lines.add(line.strip())
    assert {"return a * (1 - a)", "wout += grad_wout * learning_rate"} <= solution_lines
    assert not solution_lines & {line.strip() for line in starter.splitlines()}


# --- an exercise made of a rubric alone ----------------------------------------------------------

RELU_RUBRIC = """
[rubric]
id = "relu-demo"
version = "1"
title = "ReLU and its derivative (a rubric of generic checks only)"
lab = "relu"
max_points = 6

[sections.exercise]
title = "The notebook's functions and weights"
points = 6
kind = "auto"

[checks.relu]
kind = "function"
points = 2
public = true
names = ["relu"]
reference = "reference.activations:relu"
edge_cases = [[-1e300, -1.0, 0.0, 1.0, 1e300]]

[[checks.relu.arguments]]
shape = [4, 3]

[checks.drelu]
kind = "function"
points = 2
public = true
names = ["drelu", "relu_derivative"]
reference = "reference.activations:relu_derivative_from_preactivation"
# at 0 the derivative is 0: z >= 0 fails here
edge_cases = [[-2.0, 0.0, 3.0]]

[[checks.drelu.mistakes]]
reference = "reference.activations:relu"
explain = "it returns relu(z) itself: the derivative is 1 where z > 0 and 0 elsewhere"

[checks.weights]
kind = "variables"
points = 2
public = true

[checks.weights.variables.W]
shape = [2, 3]
"""

RELU_CELLS = {
    "correct": ["""
import numpy as np

rng = np.random.default_rng(0)
""", """
def relu(z):
    return np.maximum(z, 0)


def drelu(z):
    return (z > 0).astype(float)
""", """
x = np.array([[1.0, -2.0], [0.5, 3.0]])
W = rng.normal(size=(2, 3))
h = relu(x @ W)
print(h, drelu(x @ W))
"""],
}
RELU_CELLS["broken"] = [RELU_CELLS["correct"][0], """
def relu(z):
    return np.maximum(z, 0)


def drelu(z):
    return np.maximum(z, 0)
""", """
x = np.array([[1.0, -2.0], [0.5, 3.0]])
W = rng.normal(size=(3, 2))
h = relu(x @ W.T)
print(h, drelu(x @ W.T))
"""]
RELU_FILES = {"correct": "DLP_HW2_0857101_Pan.ipynb", "broken": "DLP_HW2_0857102_Ho.ipynb"}


@pytest.fixture(scope="module")
def relu_graded(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("relu")
    rubric = folder.parent / f"{folder.name}-relu.toml"
    rubric.write_text(RELU_RUBRIC, encoding="utf-8")
    for which, cells in RELU_CELLS.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.strip("\n"))
                                             for c in cells])
        nbformat.write(nb, str(folder / RELU_FILES[which]))
    graded = grade(folder, str(rubric), folder.parent / f"{folder.name}-out")
    return {which: graded[name] for which, name in RELU_FILES.items()}


@pytest.mark.slow
def test_a_rubric_of_generic_checks_gives_the_correct_notebook_full_marks(relu_graded):
    correct = relu_graded["correct"]
    assert correct["rubric"]["id"] == "relu-demo"
    assert {k: c["status"] for k, c in checks(correct).items()} == {
        "relu": "pass", "drelu": "pass", "weights": "pass"}
    assert correct["score"]["auto"] == pytest.approx(6)


@pytest.mark.slow
def test_a_rubric_of_generic_checks_names_what_the_broken_notebook_got_wrong(relu_graded):
    found = checks(relu_graded["broken"])
    assert {k: c["status"] for k, c in found.items()} == {
        "relu": "pass", "drelu": "fail", "weights": "fail"}
    assert "it returns relu(z) itself" in found["drelu"]["message"]
    assert "W has shape (3, 2); expected (2, 3)" in found["weights"]["message"]
    assert found["relu"]["points"] == pytest.approx(2) and found["weights"]["points"] == 0


@pytest.mark.slow
def test_an_untrained_unit_on_the_right_side_of_the_threshold_is_not_learned(tmp_path):
    """The starter with the functions written and the update left out: its untrained unit
    labels OR right by chance (the notebook's own seed), which is no learned gate."""
    nb = notebook(AND_OR, starter=True)
    nb.cells[2].source = notebook(AND_OR).cells[2].source  # the two functions, written
    folder = tmp_path / "in"
    folder.mkdir()
    nbformat.write(nb, str(folder / "DLP_HW1_0857099_Untrained.ipynb"))
    path = folder / "DLP_HW1_0857099_Untrained.ipynb"
    result = checks(grade(path, "and-or", tmp_path / "out")[path.name])
    assert result["or_gate"]["status"] == "fail"
    assert "y_pred is on the right side of 0.5 but not learned: it is 0.42 from a label" in \
        result["or_gate"]["message"]
    assert result["sigmoid"]["status"] == result["derivative_sigmoid"]["status"] == "pass"


HEADING_RUBRIC = """
[rubric]
id = "and-or-parts"
version = "1"
title = "AND and OR, judged by the notebook's parts"
lab = "and_or"
max_points = 4

[sections.exercise]
title = "Parts"
points = 4
kind = "auto"

[checks.and_gate]
kind = "variables"
points = 1
public = true

[checks.and_gate.moment]
heading = "AND"

[checks.and_gate.prediction]
variable = "y_pred"
labels = [1, 0, 0, 0]
max_error = 0.2

[checks.or_update]
kind = "step"
points = 1
public = true
heading = "OR"
weight_variables = ["wout"]
bias_variables = ["bout"]
inputs = "x"
labels = "y"
hidden = "sigmoid"
output = "sigmoid"
loss = "half_sse"

[checks.missing_part]
kind = "variables"
points = 1
public = true

[checks.missing_part.moment]
heading = "XOR"

[checks.missing_part.variables.wout]
shape = [2, 1]

[checks.missing_loop]
kind = "step"
points = 1
public = true
heading = "Example 9"
weight_variables = ["wout"]
inputs = "x"
labels = "y"
"""


@pytest.mark.slow
def test_parts_of_a_notebook_are_judged_by_their_headings(tmp_path):
    """The AND gate after the cells under "## AND" (the OR cell reuses its names later), the
    OR cell's loop under "## OR"; a heading the notebook does not have is said so."""
    rubric = tmp_path / "parts.toml"
    rubric.write_text(HEADING_RUBRIC, encoding="utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / SOLUTION.name).write_bytes(SOLUTION.read_bytes())
    [result] = grade(folder, str(rubric), tmp_path / "out").values()
    found = checks(result)
    assert found["and_gate"]["status"] == "pass", found["and_gate"]["message"]
    assert "after cell 4; y_pred labels all 4 samples right" in found["and_gate"]["message"]
    assert found["or_update"]["status"] == "pass"
    assert "the training loop at cell 5, line 5" in found["or_update"]["message"]
    assert found["missing_part"]["message"] == "no Markdown cell of your notebook says \"XOR\""
    assert found["missing_loop"]["message"] == \
        "no Markdown cell of your notebook says \"Example 9\""
