"""Fresh runs (``Sandbox.request(fresh=True)``, ``grader/sandbox/child/fresh.py``): the whole
program run in a fork of the loaded child, as a new child would run it.

Real sandboxes at both isolation levels: the run sees nothing the earlier commands left, its
failures (a hang, a crash, ``os._exit``, a corrupted pipe) are reported as a dead child's
would be, and the child goes on answering afterwards, its own state untouched.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.load import DEFINITIONS, Loader, trace_program
from grader.sandbox import Sandbox, isolation
from grader.settings import SandboxSettings

HAS_NAMESPACES = isolation.detect().level == isolation.NAMESPACES
LEVELS = [pytest.param("namespaces", marks=pytest.mark.skipif(
    not HAS_NAMESPACES, reason="namespaces need root and util-linux unshare")), "rlimits"]
FAST = dict(step_timeout=3.0, cell_timeout=2.0, submission_timeout=120.0)


def sandbox_on(folder: Path, files: dict[str, str], level: str) -> Sandbox:
    folder.mkdir(parents=True, exist_ok=True)
    for name, code in files.items():
        (folder / name).write_text(textwrap.dedent(code))
    sandbox = Sandbox(folder, SandboxSettings(isolation=level, **FAST))
    sandbox.start()
    return sandbox


def call(sandbox: Sandbox, target: str, **args):
    return sandbox.request("call", {"target": target, **args}, timeout=3)


@pytest.mark.parametrize("level", LEVELS)
def test_a_fresh_run_sees_nothing_the_probes_left_and_leaves_the_child_as_it_was(tmp_path,
                                                                                 level):
    sandbox = sandbox_on(tmp_path / "sub", {
        "helper.py": "print('helper imported')\nCOUNT = [0]\n",
        "sub.py": """
            import numpy as np
            import helper

            def bump():
                helper.COUNT[0] += 1
                return helper.COUNT[0]

            if __name__ == "__main__":
                print("count at start", helper.COUNT[0], "float" in np.__dict__)
        """}, level)
    try:
        loaded = Loader(sandbox, "sub.py", "script").load(DEFINITIONS)
        assert "bump" in loaded.functions
        assert [call(sandbox, "bump").result["results"][0] for _ in range(3)] == [1, 2, 3]

        run = Loader(sandbox, "sub.py", "script", numpy_as_is=True).run_fresh()

        assert run.errors == []
        # the student's module ran again (its print), from its first state; NumPy as it is
        assert "helper imported" in run.stdout
        assert "count at start 0 False" in run.stdout
        # the child kept its own state: the namespace, the module, the NumPy stand-ins
        assert call(sandbox, "bump").result["results"][0] == 4
        assert sandbox.stopped is None
    finally:
        sandbox.close()


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("ending, failure, words", [
    ("while True:\n    pass\n", "timeout", "did not finish within"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "crash",
     "segmentation fault"),
    ("import os\nos._exit(3)\n", "exit", "exit code 3"),
    ("import os\nfor fd in range(3, 64):\n"
     "    try:\n        os.write(fd, b'garbage that is not a frame' * 100)\n"
     "    except OSError:\n        pass\n", "protocol", "corrupted the grader's channel"),
])
def test_a_fresh_run_that_fails_is_explained_and_the_child_goes_on(tmp_path, level, ending,
                                                                   failure, words):
    sandbox = sandbox_on(tmp_path / "sub", {"sub.py": "def alive():\n    return 'yes'\n"
                                            "print('started')\n" + ending}, level)
    try:
        Loader(sandbox, "sub.py", "script").load(DEFINITIONS)
        step = sandbox.request("load", {"main": "sub.py", "kind": "script", "mode": "execute",
                                        "timeout": 30}, timeout=2, fresh=True)

        assert not step.answered and step.contained
        assert step.failure == failure and words in step.message
        assert sandbox.stopped is None
        assert call(sandbox, "alive").result["results"] == ["yes"]
    finally:
        sandbox.close()


@pytest.mark.parametrize("level", LEVELS)
def test_a_fresh_run_whose_program_leaves_a_process_behind_still_answers(tmp_path, level):
    # the forked grandchild holds the fork's pipe open: the answer must not wait for it
    sandbox = sandbox_on(tmp_path / "sub", {"sub.py": """
        import os, time
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        print("parent done")
    """}, level)
    try:
        step = sandbox.request("load", {"main": "sub.py", "kind": "script", "mode": "execute",
                                        "timeout": 20}, timeout=20, fresh=True)

        assert step.ok, step.message
        assert "parent done" in step.reply["stdout"]
        assert step.seconds < 20  # answered when the program ended, not at the time limit
    finally:
        sandbox.close()


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_check_run_that_times_out_is_timed_out_not_reloaded(tmp_path, level):
    sandbox = sandbox_on(tmp_path / "sub", {"sub.py": """
        def net():
            return 1
        print("epoch 1 loss 0.25")
        while True:
            pass
    """}, level)
    try:
        Loader(sandbox, "sub.py", "script").load(DEFINITIONS)
        budget = sandbox.settings.replace(step_timeout=1.0)
        run = Loader(sandbox, "sub.py", "script", numpy_as_is=True, settings=budget).run_fresh()

        assert run.mode == "execute"
        assert any("did not finish within 1 s" in e for e in run.errors), run.errors
        assert "epoch 1 loss 0.25" in run.stdout
        assert sandbox.stopped is None
        assert call(sandbox, "net").result["results"] == [1]
    finally:
        sandbox.close()


@pytest.mark.parametrize("level", LEVELS)
def test_tracing_runs_fresh(tmp_path, level):
    sandbox = sandbox_on(tmp_path / "sub", {"sub.py": """
        class Net:
            def __init__(self, n):
                self.n = n
            def predict(self, x):
                return x
        net = Net(3)
        for x in range(40):
            net.predict(x)
    """}, level)
    try:
        Loader(sandbox, "sub.py", "script").load(DEFINITIONS)
        record = trace_program(sandbox, "sub.py", "script", seconds=5)

        constructed = [e for e in record["events"] if e["kind"] == "construct"]
        assert [e["class"] for e in constructed] == ["Net"] and not record.get("failure")
        assert record["stopped"] == "repeats"
        # the trace ran in a fork: the child's namespace holds the definitions only
        assert sandbox.request("call", {"target": "net"}, timeout=3).reply["error"][
            "message"] == "'net' is not defined by the submission"
        assert sandbox.stopped is None
    finally:
        sandbox.close()


@pytest.mark.skipif(not HAS_NAMESPACES, reason="the process limit holds for the sandbox user")
def test_a_fresh_run_that_cannot_fork_says_so_and_the_child_goes_on(tmp_path):
    sandbox = sandbox_on(tmp_path / "sub", {"sub.py": """
        import os, time

        def use_every_process():
            made = 0
            while True:
                try:
                    pid = os.fork()
                except OSError:
                    return made
                if pid == 0:
                    time.sleep(60)
                    os._exit(0)
                made += 1

        def alive():
            return "yes"
    """}, "namespaces")
    try:
        Loader(sandbox, "sub.py", "script").load(DEFINITIONS)
        assert call(sandbox, "use_every_process").result["results"][0] > 0

        step = sandbox.request("load", {"main": "sub.py", "kind": "script", "mode": "execute",
                                        "timeout": 10}, timeout=10, fresh=True)

        assert step.answered and not step.ok
        assert "a fresh run could not be started" in step.reply["error"]["message"]
        assert call(sandbox, "alive").result["results"] == ["yes"]
    finally:
        sandbox.close()


def test_the_program_gets_what_is_left_of_the_submissions_budget_and_says_so(tmp_path):
    from grader.batch import rubric_settings
    from grader.discover import discover
    from grader.grading import grade_submission
    from grader.rubric import load_rubric

    script = tmp_path / "DLP_LAB1_0900401_Slow.py"
    script.write_text("import time\nfor epoch in range(100):\n"
                      "    print('epoch', epoch, 'loss', 0.25)\n    time.sleep(1)\n")
    [sub] = discover(script, workdir=tmp_path / "work")
    settings = rubric_settings(load_rubric("lab1"))  # the program's budget: 60 s
    limits = SandboxSettings(submission_timeout=15.0)

    grading = grade_submission(sub, settings=settings, seed=0, only={"program"},
                               sandbox_settings=limits)

    verdict = grading.verdicts["program"]
    assert verdict.status == "error"
    allowed = float(verdict.message.split("did not finish in ")[1].split(" s")[0])
    assert allowed < 15 and "epoch 0 loss 0.25" in verdict.details["stdout"]


@pytest.mark.parametrize("level", LEVELS)
def test_a_notebook_program_is_held_to_its_budget_as_a_whole_and_its_output_kept(tmp_path,
                                                                                 level):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"import time\nprint('epoch {n} loss 0.2')\ntime.sleep(1.5)")
        for n in range(4)])
    folder = tmp_path / "sub"
    folder.mkdir()
    nbformat.write(notebook, folder / "lab.ipynb")
    sandbox = Sandbox(folder, SandboxSettings(isolation=level, **FAST))
    sandbox.start()
    try:
        # each cell keeps within the cells' limit (2 s); together they do not keep within 4 s
        run = Loader(sandbox, "lab.ipynb", "notebook", numpy_as_is=True,
                     time_limit=4.0).run_fresh()

        assert run.errors == ["cell 3, line 3: did not finish within 4 s, the time for the "
                              "whole notebook (in: time.sleep(1.5))"], run.errors
        assert "epoch 2 loss 0.2" in run.stdout and "epoch 3" not in run.stdout
        assert [c["status"] for c in run.cells] == ["ok", "ok", "timeout", "skipped"]
        # the traceback names the notebook's time too, not the second or so the cell had left
        [detail] = run.error_details
        assert detail["traceback"].splitlines()[-1] == (
            "stopped here: did not finish within 4 s, the time for the whole notebook")
    finally:
        sandbox.close()


def test_a_notebook_out_of_time_is_told_which_cells_ran_and_keeps_its_earlier_error(tmp_path):
    # the cells together are longer than the budget, each of them is short; cell 2 raised
    import dataclasses

    import nbformat

    from grader.batch import rubric_settings
    from grader.discover import discover
    from grader.grading import grade_submission
    from grader.rubric import load_rubric

    sources = ["import time\nprint('epoch 0 loss 0.2')\ntime.sleep(1.5)",
               "show_result(1)", *["time.sleep(1.5)\nprint('epoch 1 loss 0.1')"] * 4]
    notebook = tmp_path / "DLP_LAB1_0900402_Long.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c)
                                                   for c in sources]), notebook)
    [sub] = discover(notebook, workdir=tmp_path / "work")
    settings = rubric_settings(load_rubric("lab1"))
    settings["program"] = dataclasses.replace(settings["program"], time_budget_s=4)

    verdict = grade_submission(sub, settings=settings, seed=0,
                               only={"program"}).verdicts["program"]

    assert verdict.status == "error"
    first, second = verdict.message.split("; ")[:2]
    assert first.startswith("your program stopped with an error: cell 2, line 1: NameError")
    assert second.startswith("your notebook did not finish in 4 s, the time for the whole "
                             "notebook: its cells took 3 s before cell 4"), verdict.message
    assert "`while not done`" not in verdict.message
    assert "; cells 5-6 were not run" in verdict.message, verdict.message
    # an error besides the time: the share for running is not kept
    assert verdict.details["earned"].get("runs") == 0.0


def test_every_module_of_the_child_gives_way_to_a_students_module_of_its_name():
    import ast

    from grader.sandbox.runtime import CHILD_DIR

    # the child's modules import each other as top-level modules: read the list, not import it
    tree = ast.parse((CHILD_DIR / "loader.py").read_text(encoding="utf-8"))
    [listed] = [ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign)
                and any(getattr(t, "id", "") == "OWN_MODULE_NAMES" for t in node.targets)]
    ours = {p.stem for p in CHILD_DIR.glob("*.py")} - {"__init__"}
    assert ours == set(listed)


@pytest.mark.parametrize("level", LEVELS)
def test_a_students_module_named_like_ours_is_theirs_in_fresh_runs_too(tmp_path, level):
    sandbox = sandbox_on(tmp_path / "sub", {
        "fresh.py": "VALUE = 42\n",
        "sub.py": "from fresh import VALUE\n\ndef value():\n    return VALUE\n\n"
                  "print('value', VALUE)\n"}, level)
    try:
        Loader(sandbox, "sub.py", "script").load(DEFINITIONS)
        assert call(sandbox, "value").result["results"] == [42]
        for _ in range(2):  # the child's own module is back for the next fresh run
            run = Loader(sandbox, "sub.py", "script").run_fresh()
            assert run.errors == [] and "value 42" in run.stdout
    finally:
        sandbox.close()


@pytest.mark.parametrize("cells, expected", [
    ([{"number": 1, "status": "ok", "seconds": 1.0},
      {"number": 2, "status": "timeout", "seconds": 55.0},
      {"number": 3, "status": "skipped", "seconds": 0.0}],
     "your notebook did not finish in 60 s: cell 2 was still running after 55 s (is the "
     "training loop able to stop?"),
    ([{"number": 1, "status": "ok", "seconds": 40.0},
      {"number": 2, "status": "timeout", "seconds": 20.0}],
     "your notebook did not finish in 60 s, the time for the whole notebook: its cells took "
     "40 s before cell 2, which was stopped after 20 s"),
    ([{"number": 1, "status": "ok", "seconds": 59.9},
      {"number": 2, "status": "timeout", "seconds": 0.1}],
     "your notebook did not finish in 60 s, the time for the whole notebook: the cells before "
     "cell 2 took all of it"),
])
def test_a_notebooks_timeout_says_whether_one_cell_or_all_of_them_took_the_time(cells,
                                                                                expected):
    from grader.checks.program import timeout_message

    message = timeout_message(60, "notebook", cells)
    assert message.startswith(expected), message
    assert message.endswith("cell 3 was not run") == (len(cells) == 3)
    assert timeout_message(60, "script", cells).startswith(
        "your program did not finish in 60 s (is the training loop able to stop?")
