"""Gradescope's autograder ``results.json``, made from one submission's ``result.json``.

A course that collects the lab on Gradescope runs labgrade as its autograder; Gradescope then
reads ``/autograder/results/results.json`` in the format of its "Autograder Specifications"
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, section "Output format").
Only fields documented there are written:

* top level: ``score``, ``execution_time`` (whole seconds), ``output`` and ``output_format``,
  ``test_output_format``, ``test_name_format``, ``tests``;
* per test (one per check, in the result's order): ``name``, ``number``, ``score``,
  ``max_score``, ``status`` (``"passed"`` or ``"failed"``, the only two the specification
  allows: ``error`` and ``skip`` are failures there, and their output says which), ``output``,
  ``visibility``.

Every text is declared ``"text"``: Gradescope renders ``"html"``, ``"md"`` and the top level's
default ``"simple_format"`` as markup, and names and messages come from students.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Collection, Mapping

from grader.render.text import xml_safe
from grader.results import write_json_atomic
from grader.score import round_points

__all__ = ["gradescope_results", "write_gradescope"]

_SAYS = {"error": "error", "skip": "skipped"}


def _points(value: Any) -> float:
    return round_points(value or 0.0)


def _test(number: int, check: Mapping[str, Any], graded: bool,
          public_checks: Collection[str] | None) -> dict[str, Any]:
    status, cid = check.get("status"), xml_safe(check.get("id"))
    message = xml_safe(check.get("message"))
    return {
        "name": cid,
        "number": str(number),  # the specification's example numbers are strings ("1.1")
        "score": _points(check.get("points")) if graded else 0.0,
        "max_score": _points(check.get("max_points")),
        "status": "passed" if status == "pass" else "failed",
        "output": f"{_SAYS[status]}: {message}" if status in _SAYS else message,
        # "after_published": hidden checks are shown once the TA publishes the grades
        "visibility": "visible" if public_checks is None or check.get("id") in public_checks
                      else "after_published",
    }


def _output(result: Mapping[str, Any], score: float) -> str:
    """One paragraph for the whole submission: graded or why not, the late rule, the notes."""
    checks = result.get("checks") or []
    most = round_points(sum(c.get("max_points") or 0.0 for c in checks))
    if result.get("graded"):
        parts = [f"Graded by labgrade: automatic checks {score:g}/{most:g} points."]
    else:
        parts = [f"Not graded: {xml_safe(result.get('error') or 'unknown error')}."]
    late = (result.get("late") or {}).get("reason")
    if late:
        parts.append(f"labgrade's deadline rule, not applied to this score: {xml_safe(late)}.")
    parts.extend(xml_safe(note) for note in result.get("notes") or [])
    return " ".join(" ".join(part.split()) for part in parts)


def gradescope_results(result: Mapping[str, Any], *,
                       public_checks: Collection[str] | None = None) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one ``result.json`` dict.

    ``public_checks``: the ids shown to students at once (``"visible"``); the other checks wait
    until the grades are published (``"after_published"``).  ``None``: every check is visible.
    An ungraded result still gives a valid file: score 0, the reason in ``output``, and its
    (skipped) checks as failed tests worth 0.
    """
    graded = bool(result.get("graded"))
    tests = [_test(i, check, graded, public_checks)
             for i, check in enumerate(result.get("checks") or [], start=1)]
    # Only the automatic points: the sum of the checks' points, which the result contract makes
    # score.auto (summed from the tests, so that Gradescope's total and its tests agree to the
    # cent).  Gradescope applies the course's late policy to this score itself and holds the
    # manual sections as its own rubric questions: applying labgrade's late factor or adding
    # manual points here would count them twice.
    score = round_points(sum(test["score"] for test in tests))
    return {
        "score": score,
        "execution_time": int(round(float(result.get("duration_s") or 0.0))),
        "output": _output(result, score),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "tests": tests,
    }


def write_gradescope(path: Path | str, result: Mapping[str, Any], *,
                     public_checks: Collection[str] | None = None) -> None:
    """Write :func:`gradescope_results` to ``path`` (Gradescope reads
    ``/autograder/results/results.json``), atomically."""
    write_json_atomic(path, gradescope_results(result, public_checks=public_checks))
