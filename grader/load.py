"""Load one submission in its sandbox and report what it defines: the ``load`` stage.

The grader's side of loading: notebooks are read here with nbformat (a truncated or invalid
notebook is a clear error, and no code of it runs), the child is asked to load the main file,
and what went wrong is turned into sentences a student understands.  Three recoveries make
sure a broken submission still yields everything that can be had:

* a notebook cell that defeats the child's own per-cell timer is identified from the child's
  progress messages; the child is restarted and the notebook loaded again without that cell;
* in definitions mode, when kept code needs names that only dropped code defines, the module
  is executed under its time limit, and the report says so;
* if that execution hangs or kills the child, the child is restarted and only the definitions
  are loaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.sandbox import Sandbox, StepResult
from grader.settings import SandboxSettings

DEFINITIONS = "definitions"
EXECUTE = "execute"


@dataclass
class LoadResult:
    """What loading one submission found; plain data, ready for JSON."""

    mode: str
    isolation: str
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``{name: {"methods": [...], "init_signature": "(self, dim, ...)", ...}}``."""
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    """One sentence each, for the student."""
    error_details: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stdout: str = ""
    figures: list[bytes] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["figures"] = len(self.figures)
        return data


def read_notebook_cells(path: Path) -> list[str]:
    """The code cells' sources, in order; raises ValueError with a student-readable reason."""
    import nbformat

    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as err:  # nbformat raises several unrelated types for broken files
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"the notebook {path.name} cannot be read ({reason}); is it truncated "
                         "or not saved as .ipynb?") from None
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def error_location(error: dict[str, Any]) -> str:
    """``lab1.py, line 12`` or ``cell 7, line 1``: where a loader error happened."""
    where = []
    if error.get("file"):
        where.append(str(error["file"]))
    if error.get("cell"):
        where.append(f"cell {error['cell']}")
    if error.get("line"):
        where.append(f"line {error['line']}")
    return ", ".join(where)


def describe_error(error: dict[str, Any]) -> str:
    """One line for one loader error: where, what, and the offending line if known."""
    text = error_location(error)
    message = error.get("message") or error.get("kind", "error")
    line = (error.get("source_line") or "").strip()
    return (f"{text}: " if text else "") + message + (f" (in: {line})" if line else "")


def _step_failure(step: StepResult, what: str) -> str:
    return f"{what}: {step.message}"


class Loader:
    """Loads one submission's main file into a running :class:`Sandbox`."""

    def __init__(self, sandbox: Sandbox, main: str, kind: str, seed: int | None = None,
                 numpy_as_is: bool = False, restart: int = 0, cell_states: bool = False,
                 settings: SandboxSettings | None = None, time_limit: float | None = None
                 ) -> None:
        self.sandbox = sandbox
        self.main = main
        self.kind = kind
        self.seed = seed
        """The grading seed: the child seeds every source of randomness from it before each
        load, so that the student's own random draws are the same on every run."""
        self.restart = restart
        """0, or which run again from another start (the child changes every seed the program
        gives: ``seeding._student_seed``)."""
        self.cell_states = cell_states
        """Keep, after each cell of a notebook run as a whole, what it changed and the first
        passes through its loops (a ``variables`` check's ``moment``, a ``step`` check's
        training loop)."""
        self.numpy_as_is = numpy_as_is
        """Run on NumPy as installed, without the stand-ins for names it removed
        (``grader/sandbox/child/numpy_compat.py``): the student's program, as it runs today."""
        self.settings: SandboxSettings = settings or sandbox.settings
        """The time limits of the steps (the sandbox's, unless a check gives its own)."""
        self.time_limit = time_limit
        """The most a whole notebook may take (the program check's budget); else the cells'
        own limits only.  A script's run is one step: ``settings.step_timeout`` bounds it."""

    def load(self, mode: str = DEFINITIONS) -> LoadResult:
        return self._run(mode, fresh=False)

    def run_fresh(self) -> LoadResult:
        """Run the whole program (``execute`` mode) as a new child would, in a fork of the
        sandbox's child (:meth:`Sandbox.request` with ``fresh``): nothing the checks did before
        is seen, the child stays as it was, and the libraries it imported are not imported
        again.  A run that fails is reported as it failed; nothing is loaded instead."""
        return self._run(EXECUTE, fresh=True)

    def _run(self, mode: str, fresh: bool) -> LoadResult:
        result = LoadResult(mode=mode, isolation=self.sandbox.isolation.describe())
        if self.kind == "notebook":
            self._load_notebook(mode, result, fresh)
        else:
            self._load_script(mode, result, fresh)
        return result

    # --- notebooks ------------------------------------------------------------------------

    def _load_notebook(self, mode: str, result: LoadResult, fresh: bool) -> None:
        try:
            cells = read_notebook_cells(self.sandbox.workdir / self.main)
        except ValueError as err:
            result.errors.append(str(err))
            return
        skip: set[int] = set()
        while True:
            args = {"main": self.main, "kind": "notebook", "mode": mode, "cells": cells,
                    "cell_timeout": self.settings.cell_timeout, "skip_cells": sorted(skip),
                    "seed": self.seed, "numpy_as_is": self.numpy_as_is,
                    "restart": self.restart, "cell_states": self.cell_states}
            limit = self.settings.cell_timeout * (len(cells) + 1) + 5
            if self.time_limit is not None:
                args["timeout"] = self.time_limit
                limit = min(limit, self.time_limit + 5)
            step = self.sandbox.request("load", args, timeout=limit, fresh=fresh)
            if step.answered or step.failure not in ("timeout", "crash", "exit"):
                break
            started = [p["cell"] for p in step.progress if "cell" in p]
            out_of_time = self.time_limit is not None and step.failure == "timeout"
            if not started or started[-1] in skip or self.sandbox.remaining_budget() <= 0 \
                    or out_of_time:  # the whole run's time is spent: no second run
                break
            stuck = started[-1]
            skip.add(stuck)
            result.errors.append(f"cell {stuck + 1}: {step.message}; the cells after it "
                                 "were loaded without it")
            if not fresh:
                self.sandbox.restart()
        self._absorb(step, result, "loading the notebook")
        for cell in result.cells:
            if cell.get("index") in skip:
                cell["status"] = "timeout" if step.failure != "crash" else "crash"

    # --- scripts --------------------------------------------------------------------------

    def _load_script(self, mode: str, result: LoadResult, fresh: bool) -> None:
        args = {"main": self.main, "kind": "script", "mode": mode,
                "timeout": self.settings.step_timeout, "seed": self.seed,
                "numpy_as_is": self.numpy_as_is, "restart": self.restart}
        step = self.sandbox.request("load", args, timeout=self.settings.step_timeout + 5,
                                    fresh=fresh)
        if not step.answered and fresh:
            result.errors.append(_step_failure(step, f"running {self.main}"))
            result.stdout += step.output
            return
        if not step.answered and mode == EXECUTE:
            result.errors.append(_step_failure(step, f"running {self.main}"))
            result.stdout += step.output
            self.sandbox.restart()
            result.notes.append(f"only the definitions of {self.main} were loaded, because "
                                "running it did not end normally")
            result.mode = DEFINITIONS
            args["mode"] = DEFINITIONS
            step = self.sandbox.request("load", args, timeout=self.settings.step_timeout + 5)
        self._absorb(step, result, f"loading {self.main}")
        needs = step.result.get("needs_execute") if step.answered else None
        if mode == DEFINITIONS and needs:
            names = ", ".join(needs)
            result.notes.append(f"{self.main} was also executed, because its definitions use "
                                f"{names}, which only its top-level code defines")
            args["mode"] = EXECUTE
            fallback = self.sandbox.request("load", args, timeout=self.settings.step_timeout + 5)
            if fallback.answered:
                result.mode = f"{DEFINITIONS}+{EXECUTE}"
                self._absorb(fallback, result, f"running {self.main}")
            else:
                result.errors.append(_step_failure(fallback, f"running {self.main}"))
                self.sandbox.restart()
                args["mode"] = DEFINITIONS
                self._absorb(self.sandbox.request("load", args,
                                                  timeout=self.settings.step_timeout + 5),
                             result, f"loading {self.main}")

    # --- results --------------------------------------------------------------------------

    def _absorb(self, step: StepResult, result: LoadResult, what: str) -> None:
        """Merge one load step's observations into the result."""
        result.seconds += step.seconds
        result.stdout += step.output
        if not step.answered:
            result.errors.append(_step_failure(step, what))
            return
        reply = step.reply or {}
        result.stdout += reply.get("stdout", "") + reply.get("stderr", "")
        if not reply.get("ok"):
            error = reply.get("error", {})
            result.errors.append(f"{what}: the grader failed ({error.get('message')})")
            result.error_details.append(error)
            return
        report = step.result
        for error in report.get("errors", []):
            if report.get("mode") == EXECUTE and error.get("kind") == "exit" \
                    and error.get("exit_code") == 0:
                result.notes.append("the program ended itself with sys.exit(0)")
                continue
            if error not in result.error_details:
                result.error_details.append(error)
                result.errors.append(describe_error(error))
        result.cells = report.get("cells", result.cells)
        result.notes += [n for n in report.get("notes", []) if n not in result.notes]
        result.figures += list(report.get("figures", []))
        definitions = report.get("definitions", {})
        result.classes = definitions.get("classes", result.classes)
        result.functions = definitions.get("functions", result.functions)


def load_files(files: Path, main: str, kind: str, settings: SandboxSettings | None = None,
               mode: str = DEFINITIONS, seed: int | None = None,
               numpy_as_is: bool = False) -> LoadResult:
    """Start a sandbox on ``files``, load ``main`` (a path relative to it), and clean up."""
    with Sandbox(files, settings) as sandbox:
        return Loader(sandbox, main, kind, seed, numpy_as_is).load(mode)


def trace_program(sandbox: Sandbox, main: str, kind: str, *, seconds: float = 10.0,
                  seed: int | None = None) -> dict[str, Any]:
    """Run the student's whole program under the child's tracer and return the record
    (``grader/sandbox/child/tracer.py``): how the student's classes were constructed and their
    methods called, until a few dozen steps or ``seconds`` had passed.  A fresh run: the
    program runs as a new child would run it, and the child stays as it was.  A program that
    cannot be read or that kills the run gives ``{"events": [], "failure": sentence}``: the
    record is a hint, never a verdict."""
    args: dict[str, Any] = {"main": main, "kind": kind, "seconds": seconds, "seed": seed}
    if kind == "notebook":
        try:
            args["cells"] = read_notebook_cells(sandbox.workdir / main)
        except ValueError as err:
            return {"events": [], "failure": str(err)}
    step = sandbox.request("trace", args, timeout=seconds + 30, fresh=True)
    if not step.ok:
        reason = step.message if not step.answered else \
            (step.reply or {}).get("error", {}).get("message", "")
        return {"events": [], "failure": f"tracing {main}: {reason}"}
    return dict(step.result)
