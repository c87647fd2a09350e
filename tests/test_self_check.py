"""The self-check from inside a notebook and a script: ``from grader import check``.

A real notebook executed by a real Jupyter kernel (nbclient, ipykernel): its last cell calls
``check``, which grades the cells run before it in a sandboxed child process and prints the
summary ``labgrade check`` prints.  And a script that checks itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests_support import ROOT

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

AND_OR = ROOT / "submissions" / "and-or"


def run_notebook(source: Path, folder: Path, last: str) -> tuple[str, dict]:
    """Execute the notebook's code cells and then ``last`` in a kernel; the last cell's
    printed text, and the kernel's variables named in it (as printed)."""
    from nbclient import NotebookClient

    notebook = nbformat.read(str(source), as_version=4)
    cells = [nbformat.v4.new_code_cell(c.source) for c in notebook.cells
             if c.cell_type == "code"]
    notebook.cells = [*cells, nbformat.v4.new_code_cell(last)]
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    outputs = notebook.cells[-1].outputs
    # printed text, and what rich displays in a notebook (HTML with a plain-text twin)
    text = "".join(o.get("text", "") if o.get("output_type") == "stream" else
                   o.get("data", {}).get("text/plain", "") for o in outputs)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # the plain twin keeps rich's colours
    return text, {o.get("ename"): o.get("evalue") for o in outputs
                  if o.get("output_type") == "error"}


LAST = """
from grader import check
ok = check(rubric="and-or")
print("ok", ok)
"""


@pytest.mark.slow
def test_check_in_a_notebook_grades_the_cells_run_before_it(tmp_path):
    text, errors = run_notebook(AND_OR / "solution_and-or.ipynb", tmp_path, LAST)
    assert errors == {}, errors
    assert "labgrade check: Machine Learning with NumPy: AND and OR" in text
    for check in ("sigmoid", "derivative_sigmoid", "update", "or_gate"):
        assert f"PASS  {check}" in text, text
    assert "10/10 points from the public checks" in text and text.rstrip().endswith("ok True")


@pytest.mark.slow
def test_check_in_a_notebook_says_what_fails_and_where_to_look(tmp_path):
    text, errors = run_notebook(AND_OR / "DLP_HW1_0857003_Tsai.ipynb", tmp_path, LAST)
    assert errors == {}, errors
    assert "FAIL  update" in text and "wrong sign" in text
    assert "where to look: update() must subtract" in text
    assert text.rstrip().endswith("ok False")


def test_a_script_checks_itself(tmp_path):
    script = tmp_path / "gates.py"
    script.write_text(
        "import numpy as np\n\n\n"
        "def sigmoid(x):\n    return np.exp(-np.logaddexp(0, -x))\n\n\n"
        "def derivative_sigmoid(a):\n    return a * (1 - a)\n\n\n"
        "if __name__ == '__main__':\n"
        "    from grader import check\n"
        "    print('ok', check(sigmoid, rubric='and-or'))\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "PASS  sigmoid" in done.stdout and "PASS  derivative_sigmoid" in done.stdout
    assert "FAIL  or_gate" in done.stdout  # a script has no OR gate trained in it
    assert done.stdout.rstrip().endswith("ok False")


# --- the pytest plugin, in a student's repository ------------------------------------------------

def student_repository(folder: Path, notebook: str, *, table: bool) -> Path:
    folder.mkdir()
    (folder / "01.AND_OR.ipynb").write_bytes((AND_OR / notebook).read_bytes())
    if table:
        (folder / "pyproject.toml").write_text(
            '[tool.labgrade]\nrubric = "and-or"\npath = "01.AND_OR.ipynb"\n', encoding="utf-8")
    return folder


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    # labgrade's plugin is loaded by its entry point, as in a student's environment
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-n", "0", "-rA", *args],
                          capture_output=True, text=True, timeout=600, cwd=folder)


@pytest.mark.slow
def test_the_pytest_plugin_passes_a_correct_repository(tmp_path):
    repo = student_repository(tmp_path / "good", "solution_and-or.ipynb", table=False)
    done = run_pytest(repo, "--labgrade", "and-or")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
    for check in ("sigmoid", "derivative_sigmoid", "update", "or_gate"):
        assert f"labgrade::{check}" in done.stdout


@pytest.mark.slow
def test_the_pytest_plugin_fails_each_failing_check_with_its_message(tmp_path):
    repo = student_repository(tmp_path / "bad", "DLP_HW1_0857003_Tsai.ipynb", table=True)
    done = run_pytest(repo)  # the rubric and the path from [tool.labgrade]
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 failed, 2 passed" in done.stdout
    assert "FAILED labgrade::update" in done.stdout and "FAILED labgrade::or_gate" in done.stdout
    assert "wrong sign: your update moves the weights up the gradient" in done.stdout
    assert "where to look: update() must subtract" in done.stdout


def test_the_pytest_plugin_adds_nothing_unless_asked(tmp_path):
    repo = tmp_path / "plain"
    repo.mkdir()
    (repo / "test_one.py").write_text("def test_one():\n    assert True\n", encoding="utf-8")
    done = run_pytest(repo)
    assert done.returncode == 0 and "1 passed" in done.stdout and "labgrade" not in done.stdout
