"""How ``labgrade grade`` shows a batch's progress to the TA who started it.

On a terminal: a live progress bar (how many submissions are done, how many of them need work,
the time elapsed and an estimate of the time left) with one line per finished submission printed above it.  Anywhere
else (a CI log, a pipe, a file) the same lines as plain text, one per submission and nothing
else: no bar, no colour, no escape codes, so that logs stay readable and tools can parse them::

    [3/23] 0856001 Chen: 40/40 auto
    [4/23] 0856129 Ko: 37.5/40 auto  (failed: gradient)
    [5/23] 0856105 Huang: not graded: DLP_LAB1_0856105_Huang.py, line 80: expected ':' ...

The display is a callback for :func:`grader.batch.grade_batch`, which calls it from the main
thread only.
"""

from __future__ import annotations

import os
from typing import Any, TextIO

from grader.batch import BatchProgress


def needs_work(result: dict[str, Any] | None) -> bool:
    """Whether a finished submission was not graded or has a check that failed."""
    if not result:
        return False
    return not result.get("graded") or any(
        c["status"] in ("fail", "error") for c in result.get("checks", []))


def summary_line(event: BatchProgress, max_auto: float) -> str:
    """One finished submission, as one line: who, the automatic points or why it was not
    graded, and the checks that failed."""
    result: dict[str, Any] = event.result or {}
    sub = event.submission
    who = " ".join(x for x in (sub.student_id, sub.student_name) if x) or sub.key
    failing = [c["id"] for c in result.get("checks", []) if c["status"] in ("fail", "error")]
    state = f"{result['score']['auto']:g}/{max_auto:g} auto" if result.get("graded") \
        else f"not graded: {result.get('error')}"
    return f"[{event.done}/{event.total}] {who}: {state}" \
        + (f"  (failed: {', '.join(failing)})" if failing else "")


class PlainProgress:
    """One plain line per finished submission, flushed at once (logs are followed live)."""

    def __init__(self, out: TextIO, max_auto: float) -> None:
        self.out, self.max_auto = out, max_auto

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def __call__(self, event: BatchProgress) -> None:
        if event.result is not None:
            print(summary_line(event, self.max_auto), file=self.out, flush=True)


class LiveProgress:
    """A rich progress bar for a terminal, with the finished submissions' lines above it.

    The bar appears when the first submission starts being graded; results reused from an
    earlier run are counted as done from the start, so that they do not make the estimate of
    the time left look shorter than it is.
    """

    def __init__(self, out: TextIO, max_auto: float) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        from rich.table import Column

        self.max_auto = max_auto
        self.console = Console(file=out, highlight=False)
        steady = Column(width=32, no_wrap=True, overflow="ellipsis")  # the bar does not jump
        self.bar = Progress(TextColumn("{task.description}", table_column=steady), BarColumn(),
                            MofNCompleteColumn(),
                            TextColumn("{task.fields[failing]} need work"),
                            TextColumn("elapsed"), TimeElapsedColumn(),
                            TextColumn("left"), TimeRemainingColumn(),
                            console=self.console, speed_estimate_period=300)
        self.task: Any = None
        self.last: BatchProgress | None = None
        self.grading: list[str] = []
        """Who is being graded right now, shown beside the bar."""
        self.failing = 0
        """Finished submissions not graded or with a failed check, counted beside the bar."""

    def __enter__(self) -> "LiveProgress":
        self.bar.start()
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.grading.clear()
        if self.task is None and self.last is not None:  # everything was reused
            self._add_task(self.last.done, self.last.total)
        self._describe("graded" if exc_type is None else "stopped")
        self.bar.stop()

    def __call__(self, event: BatchProgress) -> None:
        self.last = event
        who = event.submission.student_id or event.submission.key
        if event.result is None:
            if self.task is None:  # the first grading starts: what is done so far was reused
                self._add_task(event.done, event.total)
            self.grading.append(who)
        else:
            if who in self.grading:
                self.grading.remove(who)
            self.failing += needs_work(event.result)
            self.bar.console.print(summary_line(event, self.max_auto), markup=False,
                                   highlight=False, soft_wrap=True)
            if self.task is not None:
                self.bar.update(self.task, completed=event.done, failing=self.failing)
        self._describe()

    def _add_task(self, done: int, total: int) -> None:
        self.task = self.bar.add_task("grading", total=total, completed=done,
                                      failing=self.failing)

    def _describe(self, idle: str = "graded") -> None:
        if self.task is not None:
            shown = ", ".join(self.grading[:4]) + (", ..." if len(self.grading) > 4 else "")
            self.bar.update(self.task, description=f"grading {shown}" if shown else idle)


def progress_display(out: TextIO, max_auto: float) -> PlainProgress | LiveProgress:
    """The live bar on a terminal, plain lines anywhere else (or on a terminal that cannot
    draw one, ``TERM=dumb``)."""
    interactive = out.isatty() and os.environ.get("TERM", "") != "dumb"
    return (LiveProgress if interactive else PlainProgress)(out, max_auto)
