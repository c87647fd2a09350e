"""What every check works with: the submission, its sandbox, its settings, and shared facts.

Checks talk to the student's code only through :meth:`GradingContext.probe`, which sends a
request to the sandboxed child and hands back its raw observations.  If an earlier step ended
the child (a timeout in training, a crash), the next probe starts a fresh child and loads the
definitions again first, so one check's disaster does not become the next check's error.

What one check establishes for the others lives in :class:`Facts`, whose fields are the only
facts there are; every check declares which it reads and writes
(:func:`grader.checks.base.register`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from reference.deferred import np
from grader.load import DEFINITIONS, EXECUTE, Loader, LoadResult
from grader.numpy_names import numpy_hint
from grader.sandbox import Sandbox, StepResult

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    Array = np.ndarray


@dataclass
class Facts:
    """What checks learn about a submission and hand on; each field names its writer."""

    adapter: dict[str, Any] | None = None
    """``interface``: how to construct and call the student's network (see ``probes.py``)."""
    layout: Any = None
    """``interface``: the :class:`grader.layout.Layout` of its parameters, None when they map
    onto no layer of the lab's network."""
    predict_labels: bool = False
    """``interface``: predict returns 0/1 labels of the forward pass, not probabilities."""
    predict_failure: str | None = None
    """``interface``: exploring predict ended or hung the student's process (a sentence)."""
    predict_ignores_arrays: dict[str, Any] | None = None
    """``interface``: predict works but reads none of the network's arrays; the evidence."""
    step_unusable: str | None = None
    """``interface``: backward or update cannot be called as the lab's step (``backprop(y)``,
    ``update(lr)``), because of its signature (a sentence); the steps are then not taken."""
    gradient_scale: float | None = None
    """``gradient``: the positive factor between the applied step and the true gradient (the
    MSE convention), set only when the gradient is right."""
    step_failure: str | None = None
    """``gradient``: a training step killed or hung the student's process (a sentence)."""
    program_figures: list[bytes] = field(default_factory=list)
    """``program``: the PNG figures the student's own program drew."""
    observed: Any = None
    """``interface``: a training loop written inline, which the grader can only watch
    stepping (:class:`grader.observed.ObservedLoop`); there is then no adapter."""

    def snapshot(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


FACT_NAMES = frozenset(f.name for f in dataclasses.fields(Facts))


@dataclass
class GradingContext:
    """One submission's grading session."""

    main: str
    kind: str
    sources: list[str]
    files_root: Any
    configs: Mapping[str, Any]
    """Per check id, its rubric settings (the check's config dataclass)."""
    seed: int
    entry: str | None = None
    """The program the student runs (see :class:`grader.discover.Submission`), else ``main``."""
    entry_kind: str | None = None
    sandbox: Sandbox | None = None
    loaded: LoadResult | None = None
    facts: Facts = field(default_factory=Facts)
    executed: Any = None
    """The child that ran the whole program top to bottom (:meth:`probe_executed`), with its
    :class:`LoadResult` as ``executed_load``; started the first time a check asks."""
    executed_load: LoadResult | None = None
    executed_restart: int = 0
    definitions_lost: bool = False
    """The sandbox was revived for a fresh run only: the next probe loads the definitions."""
    current: str = ""
    """The name of the check being run (a rubric may hold several checks of one kind, each
    with its own settings: ``ctx.config(ctx.current)``)."""
    student_tracebacks: list[str] = field(default_factory=list)
    """Every traceback of the student's code the probes met, trimmed to the student's own
    frames, in order: the runner shows the last one beside a check's ``error`` verdict."""

    @property
    def program(self) -> tuple[str, str]:
        """``(path, kind)`` of the program to run: the entry point, else the main file."""
        return (self.entry or self.main), (self.entry_kind or self.kind)

    def config(self, check_id: str) -> Any:
        """The check's rubric settings; a check the rubric does not configure gets its
        dataclass's defaults (the one place they are written)."""
        if check_id in self.configs:
            return self.configs[check_id]
        from grader.checks.base import REGISTRY

        return REGISTRY[check_id].config(points=0.0)

    def rng(self, purpose: str) -> np.random.Generator:
        """A generator seeded from the grading seed and what it is for: the same submission
        graded with the same seed draws the same numbers, whatever ran before."""
        salt = sum((i + 1) * b for i, b in enumerate(purpose.encode()))
        return np.random.default_rng([self.seed, salt])

    def probe(self, op: str, args: dict[str, Any], timeout: float | None = None) -> StepResult:
        """Ask the child for observations; revive it first if an earlier step ended it."""
        assert self.sandbox is not None
        if self.sandbox.stopped is not None or self.definitions_lost:
            if self.sandbox.stopped is not None:
                self.sandbox.restart()
            Loader(self.sandbox, self.main, self.kind, seed=self.seed).load(DEFINITIONS)
            self.definitions_lost = False
        step = self.sandbox.request(op, args, timeout=timeout)
        self._keep_traceback(step)
        return step

    def child_for_fresh_runs(self) -> Sandbox:
        """The sandbox, alive, for a fresh run (a run of the whole program that starts from
        nothing, ``Sandbox.request(fresh=True)``): revived without loading the definitions if
        an earlier step ended it (the next probe loads them)."""
        assert self.sandbox is not None
        if self.sandbox.stopped is not None:
            self.sandbox.restart()
            self.definitions_lost = True
        return self.sandbox

    def probe_executed(self, op: str, args: dict[str, Any], timeout: float | None = None,
                       restart: int = 0) -> StepResult:
        """Ask the child in which the student's program (or notebook) ran top to bottom, as
        the student runs it, for observations of what it left behind: the variables of a
        notebook exercise are made by its cells, not by its definitions.  One such child
        serves every check of the submission; :meth:`close` ends it.  ``restart`` > 0: a run
        of the program again from another start (every seed it sets changed), for a network
        that may get stuck from an unlucky one."""
        assert self.sandbox is not None
        if self.executed is not None and (self.executed.stopped is not None
                                          or self.executed_restart != restart):
            self.close()  # an earlier step ended it, or another run is asked for
        if self.executed is None:
            self.executed = Sandbox(self.files_root, self.sandbox.settings).__enter__()
            self.executed_restart = restart
            path, kind = self.program
            self.executed_load = Loader(self.executed, path, kind, seed=self.seed,
                                        restart=restart, cell_states=True).load(EXECUTE)
        step = self.executed.request(op, args, timeout=timeout)
        self._keep_traceback(step)
        return step

    def cells_under(self, heading: str) -> list[int] | str:
        """The code cells of the student's notebook under a Markdown heading (0-based among
        its code cells, the numbering the sandbox runs them by), or why there are none."""
        from grader.notebook_parts import code_cells_under

        path, kind = self.program
        cells = code_cells_under(self.files_root / path, heading) if kind == "notebook" \
            else None
        if cells is None:
            return f"no Markdown cell of your notebook says \"{heading}\""
        if not cells:
            return f"there is no code under \"{heading}\" in your notebook"
        return cells

    def close(self) -> None:
        """End the child of :meth:`probe_executed`, if one was started."""
        if self.executed is not None:
            executed, self.executed = self.executed, None
            executed.__exit__(None, None, None)

    def _keep_traceback(self, step: StepResult) -> None:
        if not step.answered:
            return
        if not step.ok:
            shown = student_traceback(((step.reply or {}).get("error") or {}).get("traceback", ""))
        else:
            shown = _nested_traceback(step.result)
        if shown.strip():
            self.student_tracebacks.append(shown)


def _nested_traceback(observation: Any, depth: int = 4) -> str:
    """The first student error's traceback in a probe's observations (``{"error": {...}}``,
    maybe inside a list of runs), already trimmed by the child."""
    if depth < 0:
        return ""
    if isinstance(observation, dict):
        error = observation.get("error")
        if isinstance(error, dict) and error.get("traceback"):
            return str(error["traceback"])
        values = observation.values()
    elif isinstance(observation, list):
        values = observation
    else:
        return ""
    for value in values:
        if isinstance(value, (dict, list)):
            found = _nested_traceback(value, depth - 1)
            if found:
                return found
    return ""


def probe_failure(step: StepResult, doing: str) -> str | None:
    """A sentence when the probe produced no observations (the child died, or the operation
    itself raised), else None."""
    if not step.answered:
        what = step.message if step.message.startswith(("the program", "not run")) \
            else f"your code {step.message}"
        return f"{what} while {doing}"
    if not step.ok:
        error = (step.reply or {}).get("error", {})
        kind, message = error.get("kind", "error"), error.get("message", "")
        where = student_frame(error.get("traceback", ""))
        if kind == "SystemExit":
            code = f"({message})" if message else "()"
            return f"your code called sys.exit{code} while {doing}{where}"
        return f"{kind} while {doing}: {message}".strip() + where
    return None


_FRAME = re.compile(r'^  File "([^"]+)", line (\d+), in (.+)$')
GRADER_FRAMES = ("probes.py", "worker.py", "loader.py", "seeding.py")
"""The child's own modules: a traceback's frames in them are the grader's, not the student's."""


def student_frame(traceback_text: str) -> str:
    """Where in the student's code a traceback ended, as `` (file, line N: `code`)``; empty
    when no frame is the student's."""
    lines = traceback_text.splitlines()
    found = ""
    for i, line in enumerate(lines):
        match = _FRAME.match(line)
        if not match or match.group(1).endswith(GRADER_FRAMES) or match.group(1).startswith("<"):
            continue
        code = lines[i + 1].strip() if i + 1 < len(lines) and \
            not _FRAME.match(lines[i + 1]) else ""
        found = f" ({match.group(1).rsplit('/', 1)[-1]}, line {match.group(2)}" + \
            (f": `{code}`)" if code and not code.startswith(("^", "~")) else ")")
    return found


def student_traceback(traceback_text: str) -> str:
    """A traceback with only the student's frames and the exception: the child's own frames
    (the probes, the worker) are the grader's internals, and mean nothing to a student."""
    lines = traceback_text.rstrip().splitlines()
    kept: list[str] = []
    ours = False
    for i, line in enumerate(lines):
        match = _FRAME.match(line)
        if match:
            ours = not (match.group(1).endswith(GRADER_FRAMES) or match.group(1).startswith("<"))
            if ours:
                kept.append(line)
        elif line.startswith("Traceback (most recent call last)"):
            ours = False
        elif line.startswith("    ") and ours:
            kept.append(line)
        elif not line.startswith(" ") and i > 0:  # the exception, and what follows it
            kept += lines[i:]
            break
    if not any(_FRAME.match(k) for k in kept):
        return ""
    return "\n".join(["Traceback (most recent call last):", *kept]) + "\n"


UNDEFINED_NAME = re.compile(r"name '(\w+)' is not defined")


def describe_student_error(error: Mapping[str, Any]) -> str:
    """A student's exception, as one line with where it happened."""
    where = f" ({error['where']})" if error.get("where") else ""
    line = f": `{error['line'].strip()}`" if error.get("line") else ""
    message = str(error.get("message", ""))
    hint = numpy_hint(message, error.get("line"))
    undefined = UNDEFINED_NAME.search(message) if error.get("type") == "NameError" else None
    if undefined and not hint:
        # the checks load the definitions, not the program: a method reading the program's
        # own variables (``y_train`` of the training loop) finds none
        name = undefined.group(1)
        hint = (f"; the checks call your methods without running your program around them, so "
                f"a method cannot read the program's own variables: if `{name}` is one, pass "
                "it to the method as an argument or keep it on the object")
    return f"{error.get('type', 'Error')}: {message}{where}{line}{hint}"
