"""A Markdown summary of results, for ``$GITHUB_STEP_SUMMARY`` and merge-request comments.

CI shows Markdown where people already look: GitHub renders a job's ``$GITHUB_STEP_SUMMARY``
on the run's page, and GitLab and GitHub render a bot's comment on a merge request.  One result
gives a heading with the student and the total and a table of its checks; several give the
class table and the counts (graded, not graded, each check's pass rate).

Names, messages and notes come from students, and GitHub renders inline HTML and Markdown: a
name like ``<img src=x onerror=alert(1)>`` or ``[click](http://evil)`` must appear as the text
it is.  Every piece of text therefore goes through :func:`_cell` (escaped, on one line, at most
:data:`LIMIT` characters); statuses are words, with an emoji only as decoration.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

from grader.render.text import xml_safe
from grader.results import write_text_atomic
from grader.score import round_points

__all__ = ["LIMIT", "STATUS_WORDS", "markdown_summary", "write_markdown"]

LIMIT = 300
"""The most characters of student text in one cell; longer text ends with an ellipsis."""

STATUS_WORDS = {"pass": "✅ pass", "fail": "❌ fail", "error": "⚠️ error", "skip": "⏭️ skip"}

_ESCAPES = str.maketrans({
    # HTML first: as entities, a student's tag is shown, never parsed.
    "<": "&lt;", ">": "&gt;", "&": "&amp;",
    # A backslash as an entity, not "\\": then the only backslashes in a cell are the escapes
    # below, and no table parser can take a student's "\" for the escape of the next "|".
    "\\": "&#92;",
    "|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]",
    "#": "\\#", "~": "\\~", "$": "\\$",  # headings, strikethrough, math
})


def _cell(value: Any, limit: int = LIMIT) -> str:
    """``value`` as Markdown that shows exactly its text: control characters dropped
    (:func:`~grader.render.text.xml_safe`), on one line, shortened, then escaped."""
    text = " ".join(xml_safe(value).split())
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text.translate(_ESCAPES)


def _points(points: Any, most: Any) -> str:
    return f"{round_points(points or 0.0):g}/{round_points(most or 0.0):g}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _student(result: Mapping[str, Any]) -> str:
    student = result.get("student") or {}
    parts = [p for p in (student.get("id"), student.get("name")) if p]
    return " ".join(parts) or (result.get("submission") or {}).get("path") or "unknown student"


def _one(result: Mapping[str, Any]) -> list[str]:
    score, checks = result.get("score") or {}, result.get("checks") or []
    lines = [f"## {_cell(_student(result))}: {_points(score.get('total'), score.get('max'))}", ""]
    most = sum(c.get("max_points") or 0.0 for c in checks)
    if result.get("graded"):
        said = [f"Graded: automatic checks {_points(score.get('auto'), most)} points."]
    else:
        said = [f"**Not graded**: {_cell(result.get('error') or 'unknown error')}."]
    pending = [s.get("title") or s.get("id") for s in result.get("sections") or []
               if s.get("kind") == "manual" and s.get("points") is None]
    if pending:
        said.append(f"Manual sections pending: {_cell(', '.join(map(str, pending)))}.")
    late = (result.get("late") or {}).get("reason")
    if late:
        said.append(f"Deadline: {_cell(late)}.")
    if result.get("comment"):
        said.append(f"TA's comment: {_cell(result['comment'])}")
    lines += [" ".join(said), ""]
    lines += _table(["check", "status", "points", "message"],
                    [[_cell(c.get("id")), STATUS_WORDS.get(c.get("status"), _cell(c.get("status"))),
                      _points(c.get("points"), c.get("max_points")), _cell(c.get("message"))]
                     for c in checks])
    notes = [f"- {_cell(note)}" for note in result.get("notes") or []]
    return lines + (["", "Notes:", "", *notes] if notes else [])


def _not_passed(result: Mapping[str, Any]) -> str:
    if not result.get("graded"):
        return "none checked"
    return ", ".join(f"{_cell(c.get('id'))} ({_cell(c.get('status'))})"
                     for c in result.get("checks") or [] if c.get("status") != "pass")


def _class(results: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = []
    for result in results:
        student, score = result.get("student") or {}, result.get("score") or {}
        status = ("✅ graded" if result.get("graded") else
                  f"⚠️ not graded: {_cell(result.get('error') or 'unknown error')}")
        rows.append([_cell(student.get("id") or (result.get("submission") or {}).get("path")),
                     _cell(student.get("name")), f"{round_points(score.get('auto') or 0.0):g}",
                     _points(score.get("total"), score.get("max")), status,
                     _not_passed(result)])
    graded = sum(1 for r in results if r.get("graded"))
    lines = [f"## {len(results)} submissions", "",
             *_table(["id", "name", "auto", "total/max", "status", "failed checks"], rows), "",
             f"**{graded} graded, {len(results) - graded} not graded.**", ""]
    return lines + _check_rates(results)


def _check_rates(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """Per check, in the order first met: how many results have each status, and the pass
    rate among the results that have the check."""
    counts: dict[str, Counter] = {}
    for result in results:
        for check in result.get("checks") or []:
            counts.setdefault(str(check.get("id")), Counter())[check.get("status")] += 1
    rows = []
    for cid, seen in counts.items():
        total = sum(seen.values())
        rows.append([_cell(cid), *(str(seen[s]) for s in STATUS_WORDS),
                     f"{seen['pass']}/{total} ({100 * seen['pass'] / total:.0f}%)"])
    return _table(["check", *STATUS_WORDS.values(), "pass rate"], rows)


def markdown_summary(results: Sequence[Mapping[str, Any]], *, title: str | None = None) -> str:
    """The Markdown of ``results`` (``result.json`` dicts): one result's checks, or, for
    several, the class table and counts; under ``# title`` when a title is given."""
    lines = [f"# {_cell(title)}", ""] if title else []
    if not results:
        lines.append("No results.")
    elif len(results) == 1:
        lines += _one(results[0])
    else:
        lines += _class(results)
    return "\n".join(lines) + "\n"


def write_markdown(path: Path | str, results: Sequence[Mapping[str, Any]], *,
                   title: str | None = None) -> None:
    """Write :func:`markdown_summary` to ``path`` (UTF-8), atomically.  For a GitHub job
    summary, append the text to ``$GITHUB_STEP_SUMMARY`` instead: that file is GitHub's."""
    write_text_atomic(path, markdown_summary(results, title=title))
