"""The class overview (``index.html``): every student at a glance, where the class struggled,
what could not be graded, and what took longest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from grader.render import plots
from grader.render.html import asset, render_page
from grader.render.views import STATUS_SYMBOLS, STATUS_WORDS
from grader.score import round_points

SLOWEST = 5


@dataclass
class Cell:
    text: str
    sort: str | float
    """What the column sorts by (numbers sort as numbers; a missing value sorts first)."""
    numeric: bool = False


@dataclass
class StudentRow:
    link: str
    student_id: str
    name: str
    cells: list[Cell]
    status: str
    status_word: str
    failed: str


@dataclass
class CheckRate:
    id: str
    counts: dict[str, int]
    rate: float
    """Share of the graded submissions that passed, 0..1."""
    percent: str
    bar_rem: float
    """Width of the rate's bar (10rem for everyone passing)."""


def _points_cell(points: Any) -> Cell:
    if points is None:
        return Cell("–", -1.0, True)
    return Cell(f"{round_points(points):g}", float(points), True)


def _status(result: Mapping[str, Any]) -> tuple[str, str]:
    if not result.get("graded"):
        return "error", "not graded"
    pending = any(s.get("kind") == "manual" and s.get("points") is None
                  for s in result.get("sections") or [])
    return ("skip", "manual pending") if pending else ("pass", "graded")


def student_rows(entries: Sequence[tuple[str, Mapping[str, Any]]], section_ids: Sequence[str]
                 ) -> list[StudentRow]:
    rows = []
    for link, result in entries:
        student = result.get("student") or {}
        score = result.get("score") or {}
        points = {s.get("id"): s.get("points") for s in result.get("sections") or []}
        failed = [c["id"] for c in result.get("checks") or [] if c.get("status") in
                  ("fail", "error")]
        status, word = _status(result)
        factor = score.get("late_factor")
        cells = [_points_cell(points.get(sid)) for sid in section_ids]
        cells += [Cell(f"× {factor:g}" if factor is not None else "", factor or 0.0, True),
                  _points_cell(score.get("total"))]
        rows.append(StudentRow(link, str(student.get("id") or ""),
                               str(student.get("name") or ""), cells, status, word,
                               ", ".join(failed)))
    return rows


def check_rates(results: Sequence[Mapping[str, Any]]) -> list[CheckRate]:
    """Per check, how the graded submissions fared (in the rubric's order)."""
    order: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        if not result.get("graded"):
            continue
        for check in result.get("checks") or []:
            if check["id"] not in counts:
                order.append(check["id"])
                counts[check["id"]] = {s: 0 for s in STATUS_WORDS}
            counts[check["id"]][check.get("status", "skip")] = \
                counts[check["id"]].get(check.get("status", "skip"), 0) + 1
    rates = []
    for check_id in order:
        total = sum(counts[check_id].values())
        rate = counts[check_id]["pass"] / total if total else 0.0
        rates.append(CheckRate(check_id, counts[check_id], rate, f"{100 * rate:.0f}%",
                               round(10 * rate, 2)))
    return rates


def class_overview(entries: Sequence[tuple[str, Mapping[str, Any]]], *, title: str) -> str:
    """The HTML of the overview.  ``entries`` are (link to the student's report, result)."""
    results = [result for _, result in entries]
    sections: list[tuple[str, str]] = []
    for result in results:
        for section in result.get("sections") or []:
            if section.get("id") not in dict(sections):
                sections.append((section.get("id"), section.get("title") or section.get("id")))
    graded = [r for r in results if r.get("graded")]
    maximum = max((float((r.get("score") or {}).get("max") or 0) for r in results), default=0)
    totals = [float((r.get("score") or {}).get("total") or 0) for r in graded]
    not_graded = [(link, r) for link, r in entries if not r.get("graded")]
    slowest = sorted(entries, key=lambda e: -float(e[1].get("duration_s") or 0))[:SLOWEST]
    mean = sum(totals) / len(totals) if totals else 0.0
    return render_page(
        "overview.html.j2", title=title, sections=sections,
        rows=student_rows(entries, [sid for sid, _ in sections]),
        rates=check_rates(results), histogram=plots.histogram(totals, maximum),
        count=len(results), graded=len(graded), mean=f"{mean:.1f}", maximum=f"{maximum:g}",
        not_graded=[(link, r.get("student") or {}, str(r.get("error") or ""))
                    for link, r in not_graded],
        slowest=[(link, r.get("student") or {}, f"{float(r.get('duration_s') or 0):.1f} s")
                 for link, r in slowest],
        symbols=STATUS_SYMBOLS, words=STATUS_WORDS, script=asset("sort.js"))
