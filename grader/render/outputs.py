"""Which files a batch writes (``--format``), and writing them from the results.

``result.json`` is always written: it is the grade itself, what every other format is made
from, and what an interrupted batch resumes from.  The others are chosen with ``--format``; a
page that fails to render costs that page (the TA is told), never a grade.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

from grader.results import write_grades_csv, write_text_atomic
from grader.rubric import Rubric

@dataclass
class StudentEntry:
    """One student's result and where its files are."""

    folder: Path
    result: Mapping[str, Any]
    files_root: Path | None = None
    """The submission's files as discovered (for the source listing); None: not shown."""
    main: str | None = None


def program_figures(folder: Path) -> list[bytes]:
    """The figures the student's program drew, as the batch kept them."""
    found = sorted((folder / "figures").glob("program_*.png"),
                   key=lambda p: int(p.stem.rsplit("_", 1)[-1]))
    return [p.read_bytes() for p in found]


def write_student_outputs(entry: StudentEntry, formats: Collection[str], *,
                          rubric: Rubric | None, seed: int | None) -> str | None:
    """The per-student files of ``formats`` beside its ``result.json``; a sentence and the
    traceback when one could not be made (a grader bug: the grade itself is safe)."""
    try:
        if "html" in formats:
            from grader.render.student import student_report

            html = student_report(entry.result, files_root=entry.files_root,
                                  figures=program_figures(entry.folder), rubric=rubric,
                                  seed=seed, main=entry.main)
            write_text_atomic(entry.folder / "report.html", html)
        if "gradescope" in formats:
            from grader.render.gradescope import write_gradescope

            write_gradescope(entry.folder / "results.json", entry.result,
                             public_checks=rubric.public_check_ids if rubric else None)
    except Exception:  # a bug of ours: the TA gets the traceback, the batch goes on
        return f"{entry.folder.name}: the report could not be written\n{traceback.format_exc()}"
    return None


def write_class_outputs(out: Path, entries: Sequence[StudentEntry], formats: Collection[str],
                        *, rubric: Rubric | None) -> list[str]:
    """The batch's files of ``formats`` in ``out``; the problems, as for the students'."""
    problems = []
    results = [entry.result for entry in entries]
    title = rubric.title if rubric is not None else "labgrade"
    writers = {
        "csv": lambda: write_grades_csv(out / "grades.csv", results),
        "html": lambda: _write_overview(out, entries, title),
        "junit": lambda: _write_junit(out, results),
        "markdown": lambda: _write_markdown(out, results, title),
    }
    for name, write in writers.items():
        if name not in formats:
            continue
        try:
            write()
        except Exception:  # a bug of ours: the other files are still written
            problems.append(f"{name}: could not be written\n{traceback.format_exc()}")
    return problems


def _write_overview(out: Path, entries: Sequence[StudentEntry], title: str) -> None:
    from grader.render.overview import class_overview

    links = [(f"{entry.folder.relative_to(out).as_posix()}/report.html", entry.result)
             for entry in entries]
    write_text_atomic(out / "index.html", class_overview(links, title=title))


def _write_junit(out: Path, results: Sequence[Mapping[str, Any]]) -> None:
    from grader.render.junit import write_junit

    write_junit(out / "junit.xml", results)


def _write_markdown(out: Path, results: Sequence[Mapping[str, Any]], title: str) -> None:
    from grader.render.markdown import write_markdown

    write_markdown(out / "summary.md", results, title=title)
