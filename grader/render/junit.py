"""JUnit XML of a batch, for the CI systems that draw test reports from it.

GitLab, Jenkins, GitHub's test-report actions and most other CI tools read JUnit XML and show
its failures next to the pipeline; a course that grades in CI (a submission repository, a nightly
batch) gets labgrade's verdicts there without a plug-in.  The layout is the common one:

* ``<testsuites>`` with the totals (``tests``, ``failures``, ``errors``, ``skipped``, ``time``);
* one ``<testsuite>`` per submission, named ``"<id> <name>"`` (the submission's path when it has
  no student id);
* one ``<testcase>`` per check (``classname`` ``labgrade.<rubric id>.<student id>``, ``name`` the
  check id), with ``<failure>``, ``<error>`` or ``<skipped>`` for the statuses ``fail``,
  ``error`` and ``skip``: the check's message as ``message`` and, as text, the message and the
  points.  An ungraded submission also gets a testcase ``graded`` whose ``<error>`` says why.

The file is built with :mod:`xml.etree.ElementTree`, never by pasting strings, so quotes, ``<``
and ``]]>`` in a student's name or message are escaped by the library.  What no escaping can
fix is a character XML 1.0 forbids outright; :func:`xml_safe` removes those first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

from grader.render.text import xml_safe
from grader.results import write_text_atomic
from grader.score import round_points

__all__ = ["junit_xml", "write_junit", "xml_safe"]

_ELEMENT = {"fail": "failure", "error": "error", "skip": "skipped"}
_COUNT = {"fail": "failures", "error": "errors", "skip": "skipped"}


def _number(value: Any) -> str:
    return f"{round_points(value or 0.0):g}"


def _seconds(check: Mapping[str, Any]) -> float:
    """What a check took, where its details say (the program's run, the training attempts)."""
    details = check.get("details") or {}
    seconds = details.get("seconds")
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
        return float(seconds)
    return float(sum(a.get("seconds") or 0.0 for a in details.get("attempts") or []
                     if isinstance(a, Mapping)))


def _suite_name(result: Mapping[str, Any]) -> str:
    student = result.get("student") or {}
    if not student.get("id"):
        return xml_safe((result.get("submission") or {}).get("path") or "unknown submission")
    return xml_safe(" ".join(str(part) for part in (student["id"], student.get("name")) if part))


def _classname(result: Mapping[str, Any]) -> str:
    """``labgrade.<rubric>.<student>``: CI tools group test cases by the dotted parts, so dots
    inside a part become ``_``, and a submission without an id is named after its file."""
    rubric = (result.get("rubric") or {}).get("id") or "rubric"
    student = (result.get("student") or {}).get("id") \
        or Path((result.get("submission") or {}).get("path") or "unknown").name
    return xml_safe(".".join(["labgrade", *(str(p).replace(".", "_") for p in (rubric, student))]))


def _testcase(suite: ET.Element, classname: str, name: str, status: str, message: str,
              points: str, seconds: float) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=xml_safe(name),
                         time=f"{seconds:.3f}")
    text = f"{message}\n{points}"
    if status in _ELEMENT:
        outcome = ET.SubElement(case, _ELEMENT[status], message=message, type=status)
        outcome.text = text
    else:
        ET.SubElement(case, "system-out").text = text


def _suite(result: Mapping[str, Any]) -> tuple[ET.Element, Counter]:
    counts: Counter = Counter()
    seconds = float(result.get("duration_s") or 0.0)
    suite = ET.Element("testsuite", name=_suite_name(result))
    score = result.get("score") or {}
    properties = ET.SubElement(suite, "properties")
    for key in ("auto", "total", "max"):
        ET.SubElement(properties, "property", name=f"score.{key}", value=_number(score.get(key)))
    classname = _classname(result)
    if not result.get("graded"):
        error = xml_safe(result.get("error") or "not graded")
        _testcase(suite, classname, "graded", "error", error, "not graded: 0 points", 0.0)
        counts.update(("tests", "errors"))
    for check in result.get("checks") or []:
        status = check.get("status")
        points = (f"{_number(check.get('points'))}/{_number(check.get('max_points'))} points "
                  f"({status})")
        _testcase(suite, classname, check.get("id") or "check", status,
                  xml_safe(check.get("message")), points, _seconds(check))
        counts.update(("tests", _COUNT.get(status, "passed")))
    for key in ("tests", "failures", "errors", "skipped"):
        suite.set(key, str(counts[key]))
    suite.set("time", f"{seconds:.3f}")
    counts["time"] = seconds
    return suite, counts


def junit_xml(results: Sequence[Mapping[str, Any]]) -> str:
    """The JUnit XML of ``results`` (``result.json`` dicts), one ``<testsuite>`` each, in order.

    The text starts with an XML declaration (UTF-8) and always parses, whatever the students
    wrote: see :func:`xml_safe`.
    """
    root = ET.Element("testsuites", name="labgrade")
    totals: Counter = Counter()
    for result in results:
        suite, counts = _suite(result)
        root.append(suite)
        totals.update(counts)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    root.set("time", f"{totals['time']:.3f}")
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def write_junit(path: Path | str, results: Sequence[Mapping[str, Any]]) -> None:
    """Write :func:`junit_xml` of ``results`` to ``path`` (UTF-8), atomically."""
    write_text_atomic(path, junit_xml(results))
