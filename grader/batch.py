"""Grade many submissions: ``labgrade grade`` (TAs) and ``labgrade check`` (students).

For each submission found: load it in its sandbox, run the checks, score them with the rubric,
and write ``OUT/<key>/result.json`` (the contract of docs/design.md) with the program's figures
beside it; then merge the manual scores and write what ``formats`` asks for from the results
(the report per student, ``OUT/index.html``, ``OUT/grades.csv``, the exports: see
:mod:`grader.render.outputs`).  Every file is written
atomically, and a batch that is stopped and started again reuses the results already written
for the same submission, rubric, seed and grader: nothing is lost, nothing graded twice.

Several submissions are graded at once (``jobs``): each one's grading mostly waits on its own
sandboxed child process, so threads are enough.  Only the main thread writes results and
reports progress, each submission as soon as it is done; the results keep the order in which
the submissions were found, whatever the order they finish in, and each result is the same
whatever ``jobs`` is (except the timings).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Sequence

from grader import __version__
from grader.checks.base import SKIP, Verdict
from grader.discover import Submission, discover
from grader.distributed import DaskExecutor, GradeJob
from grader.grading import grade_submission, load_checks
from grader.render.formats import DEFAULT_FORMATS
from grader.render.outputs import StudentEntry, write_class_outputs, write_student_outputs
from grader.results import build_result, write_json_atomic, write_text_atomic
from grader.rubric import Rubric
from grader.sandbox import isolation
from grader.sandbox.runner import Sandbox, stop_all_sandboxes
from grader.score import make_score, merge_manual, read_manual, score_checks
from grader.settings import SandboxSettings

RESUME_FILE = ".labgrade-resume.json"
STOP_GRACE_S = 30.0
"""After Ctrl-C, how long the batch keeps stopping the submissions still being graded before it
gives up waiting for them."""


@dataclass
class BatchOutcome:
    """What a batch produced, for the command's summary."""

    results: list[dict[str, Any]] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    """Where each result lives, in the same order."""
    problems: list[str] = field(default_factory=list)
    reused: int = 0
    grader_failures: list[str] = field(default_factory=list)
    """For each submission the grader itself failed on: its key and the traceback, for the TA
    to report (the student's result only says that the grader failed)."""


@dataclass(frozen=True)
class BatchProgress:
    """One step of a batch, for a progress display.

    Sent from the main thread only: when a submission's grading starts (``result`` is None)
    and when its result is ready (graded now, or ``reused`` from an earlier run).
    """

    done: int
    """Submissions finished so far, this one included once its result is there."""
    total: int
    submission: Submission
    result: dict[str, Any] | None = None
    reused: bool = False


ProgressCallback = Callable[[BatchProgress], None]


def default_jobs() -> int:
    """How many submissions to grade at once by default: one per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no sched_getaffinity (macOS)
        return max(1, os.cpu_count() or 1)


def rubric_settings(rubric: Rubric) -> dict[str, Any]:
    """Each check's rubric settings (its config dataclass), in the rubric's order."""
    return dict(rubric.checks)


def _resume_key(sub: Submission, rubric: Rubric, seed: int, self_check: bool) -> dict[str, Any]:
    return {"sha256": sub.sha256, "rubric": [rubric.id, rubric.version], "seed": seed,
            "grader": __version__, "self_check": self_check}


def _reusable(folder: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    try:
        if json.loads((folder / RESUME_FILE).read_text()) != key:
            return None
        return json.loads((folder / "result.json").read_text())
    except (OSError, ValueError):
        return None


def grade_one(sub: Submission, rubric: Rubric, *, seed: int, sandbox: SandboxSettings,
              self_check: bool = False, started: Sandbox | None = None
              ) -> tuple[dict[str, Any], list[bytes]]:
    """One submission's ``result.json`` content, and the figures its program drew
    (``started``: see :func:`grader.grading.grade_submission`)."""
    only = set(rubric.public_check_ids) if self_check else None
    start = time.monotonic()
    grading = grade_submission(sub, settings=rubric_settings(rubric), seed=seed,
                               sandbox_settings=sandbox, only=only, started=started)
    checks = score_checks(grading.verdicts, rubric, self_check=self_check)
    score = make_score(checks, rubric, submitted_at=sub.submitted_at)
    level = grading.isolation or isolation.choose(sandbox.isolation).level
    result = build_result(sub, rubric, checks, score, grader_version=__version__,
                          isolation=level, graded=grading.graded, error=grading.error,
                          duration_s=round(time.monotonic() - start, 3),
                          notes=grading.loaded.notes if grading.loaded else ())
    return result, list(grading.facts.get("program_figures", []))


def grader_failure_result(sub: Submission, rubric: Rubric, err: Exception, *,
                          sandbox: SandboxSettings, self_check: bool = False,
                          duration_s: float = 0.0) -> dict[str, Any]:
    """An ungraded result saying that the grader itself failed on ``sub``.

    A bug of the grader must cost the class one result, not the whole batch, and the student
    must be told it is not their fault; the result keeps the contract like any other.
    """
    what = (str(err).strip().splitlines() or [""])[0][:200]  # one line: the TA has the rest
    error = (f"the grader failed on this submission ({type(err).__name__}"
             f"{': ' + what if what else ''}); this is not your fault: please report it")
    public = set(rubric.public_check_ids)
    verdicts = {cid: Verdict(SKIP, f"not checked: {error}") for cid in rubric.check_ids
                if not self_check or cid in public}
    checks = score_checks(verdicts, rubric, self_check=self_check)
    score = make_score(checks, rubric, submitted_at=sub.submitted_at)
    try:
        level = isolation.choose(sandbox.isolation).level
    except RuntimeError:  # the level asked for is not available: say what this machine has
        level = isolation.detect().level
    return build_result(sub, rubric, checks, score, grader_version=__version__, isolation=level,
                        graded=False, error=error, duration_s=duration_s)


@dataclass
class _Task:
    """One submission of the batch and where its result goes."""

    index: int
    sub: Submission
    folder: Path
    key: dict[str, Any]


def grade_batch(
    paths: Sequence[Path], rubric: Rubric, out: Path, *, seed: int, sandbox: SandboxSettings,
    manual: Path | None = None, self_check: bool = False, jobs: int | None = None,
    progress: ProgressCallback | None = None, formats: Collection[str] = DEFAULT_FORMATS,
    layout: str = "auto", force: bool = False, executor: "DaskExecutor | None" = None,
) -> BatchOutcome:
    """Grade everything found in ``paths`` into ``out``, ``jobs`` submissions at a time
    (default :func:`default_jobs`; 1: one after the other); see the module docstring.
    ``formats`` are the files written beside the results (:mod:`grader.render.outputs`);
    ``layout`` says whether each path is one submission (``single``), a folder of them
    (``batch``), or which of the two discovery should decide (``auto``).  ``force``: grade
    every submission again, even one whose result for the same content, rubric, seed and
    grader is already in ``out``.  ``executor``: grade on a Dask cluster
    (:mod:`grader.distributed`) instead of ``jobs`` threads of this process.

    ``progress`` is called from the calling thread only.  Ctrl-C stops the submissions being
    graded and raises :class:`KeyboardInterrupt`; what was finished before is kept.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    outcome = BatchOutcome()
    out.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    with tempfile.TemporaryDirectory(prefix="labgrade-grade-") as work:
        subs: list[Submission] = []
        for i, path in enumerate(paths):
            subs += discover(path, workdir=Path(work) / str(i), layout=layout,
                             **rubric.discovery_names())
        _unique_keys(subs)
        tasks = [_Task(i, sub, out / sub.key, _resume_key(sub, rubric, seed, self_check))
                 for i, sub in enumerate(subs)]
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        done = 0

        def report(task: _Task, result: dict[str, Any] | None, reused: bool = False) -> None:
            if progress:
                progress(BatchProgress(done, len(tasks), task.sub, result, reused))

        todo = []
        for task in tasks:
            _remove_leftovers(task.folder)
            reused = None if force else _reusable(task.folder, task.key)
            if reused is None:
                todo.append(task)
                continue
            results[task.index], done = reused, done + 1
            outcome.reused += 1
            report(task, reused, reused=True)

        def grade(task: _Task) -> _Outcome:
            return _grade_safely(task.sub, rubric, seed=seed, sandbox=sandbox,
                                 self_check=self_check)

        def finished(task: _Task, graded: _Outcome) -> None:
            nonlocal done
            _write_result(task, graded)
            if graded.grader_failure is not None:
                outcome.grader_failures.append(f"{task.sub.key}: {graded.grader_failure}")
            results[task.index], done = graded.result, done + 1
            report(task, graded.result)

        if executor is not None and todo:
            executor.run_all(todo, GradeJob(rubric, seed, sandbox, self_check),
                             started=lambda task: report(task, None), finished=finished)
        elif todo:
            _warm_up(sandbox)
            _run_all(todo, grade, jobs=jobs, started=lambda task: report(task, None),
                     finished=finished)
        outcome.results = [r for r in results if r is not None]  # all of them, in order
        outcome.folders = [task.folder for task in tasks]
        if manual is not None:
            outcome.problems = merge_manual(outcome.results, read_manual(manual, rubric))
            for folder, result in zip(outcome.folders, outcome.results):
                write_json_atomic(folder / "result.json", result)
        if outcome.problems:
            write_text_atomic(out / "problems.txt", "\n".join(outcome.problems) + "\n")
        # the pages show the submissions' files, which live in ``work`` until the end
        entries = [StudentEntry(task.folder, results[task.index], task.sub.root, task.sub.main)
                   for task in tasks if results[task.index] is not None]
        for entry in entries:
            failure = write_student_outputs(entry, formats, rubric=rubric, seed=seed)
            if failure:
                outcome.grader_failures.append(failure)
        outcome.grader_failures += write_class_outputs(out, entries, formats, rubric=rubric)
    return outcome


def _warm_up(sandbox: SandboxSettings) -> None:
    """Import the checks and find the isolation level once, before the threads start: both are
    cached for the whole process, and several threads doing them at once would only repeat
    the work (an isolation that is not available is then refused once, not per student)."""
    load_checks()
    isolation.choose(sandbox.isolation)


@dataclass
class _Outcome:
    """What grading one submission gave: its result and figures, and, when the grader itself
    failed on it, the traceback for the TA."""

    result: dict[str, Any]
    figures: list[bytes]
    grader_failure: str | None = None


def _grade_safely(sub: Submission, rubric: Rubric, *, seed: int, sandbox: SandboxSettings,
                  self_check: bool) -> _Outcome:
    """:func:`grade_one`, turning a failure of the grader itself into that submission's result,
    so that one grader bug never stops the rest of the class's grading."""
    start = time.monotonic()
    try:
        return _Outcome(*grade_one(sub, rubric, seed=seed, sandbox=sandbox,
                                   self_check=self_check))
    except Exception as err:  # a grader bug: said in the result, the traceback to the TA
        result = grader_failure_result(sub, rubric, err, sandbox=sandbox, self_check=self_check,
                                       duration_s=round(time.monotonic() - start, 3))
        return _Outcome(result, [], traceback.format_exc())


def _remove_leftovers(folder: Path) -> None:
    """The temporary files of an atomic write that a killed run left behind (a run killed
    between writing one and renaming it into place)."""
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)


def _write_result(task: _Task, graded: _Outcome) -> None:
    """Figures, then ``result.json``, then the resume key: a batch killed at any point finds
    either a complete result it can reuse or none.  A grader failure gets no resume key, so
    that the next run tries that submission again."""
    folder = task.folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RESUME_FILE).unlink(missing_ok=True)
    for stale in folder.glob("figures/program_*.png"):  # an earlier run's, maybe more of them
        stale.unlink()
    for number, png in enumerate(graded.figures, start=1):
        (folder / "figures").mkdir(exist_ok=True)
        (folder / "figures" / f"program_{number}.png").write_bytes(png)
    write_json_atomic(folder / "result.json", graded.result)
    if graded.grader_failure is None:
        write_json_atomic(folder / RESUME_FILE, task.key)


def _run_all(tasks: list[_Task], grade: Callable[[_Task], _Outcome], *, jobs: int,
             started: Callable[[_Task], None],
             finished: Callable[[_Task, _Outcome], None]) -> None:
    """``grade`` every task, ``jobs`` at a time, handing each result to ``finished`` as soon as
    it is ready.  ``started`` and ``finished`` run in the calling thread.

    Tasks start in their order, a new one whenever one finishes, so that at most ``jobs``
    sandboxes run at once and nothing waits in a queue that Ctrl-C would have to cancel.
    """
    if jobs == 1 or len(tasks) <= 1:  # in this thread: Ctrl-C reaches the sandbox directly
        for task in tasks:
            started(task)
            finished(task, grade(task))
        return
    pool = ThreadPoolExecutor(max_workers=min(jobs, len(tasks)),
                              thread_name_prefix="labgrade-grade")
    running: dict[Future[_Outcome], _Task] = {}
    waiting = iter(tasks)
    try:
        while True:
            while len(running) < jobs and (task := next(waiting, None)) is not None:
                started(task)
                running[pool.submit(grade, task)] = task
            if not running:
                break
            ready, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(ready, key=lambda f: running[f].index):
                finished(running.pop(future), future.result())
    except BaseException:  # Ctrl-C, or results that cannot be written: stop what still runs
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_running(list(running))
        raise
    pool.shutdown()


def _stop_running(futures: list[Future[_Outcome]]) -> None:
    """Make the submissions still being graded end now, and wait (a little) until they have.

    Their threads cannot be interrupted, but they mostly wait on their sandboxes: killing the
    sandboxes' processes makes every step fail at once, so each grading ends within moments
    (and its result, made of those failures, is thrown away).  Without this, the command would
    sit for minutes after Ctrl-C while the last submissions finish, their sandboxes running on.
    """
    deadline = time.monotonic() + STOP_GRACE_S
    while any(not f.done() for f in futures) and time.monotonic() < deadline:
        stop_all_sandboxes()
        wait(futures, timeout=0.1)


def _unique_keys(subs: list[Submission]) -> None:
    """Two inputs of one batch may yield the same key (two zips of one student): suffix them."""
    seen: dict[str, int] = {}
    for sub in subs:
        count = seen.get(sub.key, 0)
        seen[sub.key] = count + 1
        if count:
            sub.key = f"{sub.key}-{count + 1}"
