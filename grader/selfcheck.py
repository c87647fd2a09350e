"""``from grader import check; check(NN)``: the self-check from inside a notebook or a script.

The student's code is never run in the caller's process by the check: what is checked is the
code itself, graded as ``labgrade check`` grades a file, in a sandboxed child process.  In a
notebook the code is the cells run so far, in the order they were run (IPython keeps them:
``history_manager.input_hist_raw``), written to a temporary notebook without the cell that
calls ``check``; in a script it is the file that defines the class passed (or the script being
run).  The summary is the one ``labgrade check`` prints.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SELF_CHECK = ("from grader import", "import grader")
"""A cell that imports the self-check calls the grader from inside the grading: left out."""


def _ipython() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _cells_run(shell: Any) -> list[str]:
    """The cells run before this one, in the order they ran (the history's first entry is
    empty, its last the cell running now); cells that use the self-check left out."""
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or \
        shell.user_ns.get("In", [])
    return [cell for cell in list(history)[1:-1]
            if cell.strip() and not any(marker in cell for marker in SELF_CHECK)]


def _notebook_from(cells: list[str], folder: Path, name: str) -> Path:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    path = folder / name
    nbformat.write(notebook, str(path))
    return path


def _script_of(obj: Any) -> Path | None:
    """The file that defines ``obj`` (a class or a function), else the script being run."""
    try:
        found = inspect.getsourcefile(obj) if obj is not None else None
    except TypeError:  # a built-in, or defined where no file is
        found = None
    if found is None:
        main = sys.modules.get("__main__")
        found = getattr(main, "__file__", None)
    return Path(found) if found and Path(found).is_file() else None


def check(obj: Any = None, *, rubric: str = "lab1", out: Any = None) -> bool:
    """Self-check the code that defines ``obj`` (or, in a notebook, every cell run so far)
    against ``rubric``; print the summary and return whether every public check passed."""
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="labgrade-selfcheck-") as work:
        shell = _ipython()
        if shell is not None and hasattr(shell, "user_ns"):
            path = _notebook_from(_cells_run(shell), Path(work), "notebook.ipynb")
        else:
            path = _script_of(obj)
            if path is None:
                print("labgrade check: no file defines this code; save it in a .py file or a "
                      "notebook first", file=out)
                return False
        done = subprocess.run([sys.executable, "-m", "grader", "check", str(path), "--rubric",
                               rubric, "--json"], capture_output=True, text=True,
                              env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    if done.returncode not in (0, 1):
        print(done.stderr.strip() or done.stdout.strip(), file=out)
        return False
    result = json.loads(done.stdout)
    from grader.render.terminal import print_rubric_check
    from grader.rubric import load_rubric
    from grader.sandbox import isolation

    print_rubric_check(result, load_rubric(rubric), isolation.choose("auto").describe(), out)
    return done.returncode == 0
