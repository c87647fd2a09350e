"""``result.json`` (one per submission) and ``grades.csv`` (one per batch), written atomically.

:func:`build_result` assembles exactly the result contract of docs/design.md::

    schema, student {id, name}, submission {path, sha256, submitted_at, files},
    rubric {id, version}, grader {version, isolation}, graded, error, checks [...],
    score {auto, manual, late_factor, total, max}, duration_s

plus these additions, and no other key (:data:`ADDITIONS`; :func:`validate_result` refuses any
other):

* ``sections``: the course's sections with their points, ``[{"id", "title", "kind",
  "points", "max_points"}]`` in the rubric's order (``points`` ``null``: not graded yet);
* ``late``: ``{"factor", "reason"}``, why ``score.late_factor`` is what it is;
* ``comment``: the TA's comment from the manual-scores CSV, or ``null``;
* ``notes``: things a TA should know that did not stop grading (from discovery, from the
  merge of manual scores), one sentence each.

Every write is atomic: a temporary file in the same folder, flushed to disk, then
:func:`os.replace`; a reader (or a batch restarted after a kill) sees the old file or the new
one, never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from grader.checks.base import STATUSES, CheckResult
from grader.rubric import Rubric
from grader.score import Score, round_points, section_rows

__all__ = [
    "ADDITIONS",
    "ISOLATION_LEVELS",
    "SCHEMA",
    "build_result",
    "grades_rows",
    "validate_result",
    "write_grades_csv",
    "write_json_atomic",
    "write_text_atomic",
]

SCHEMA = 1
ISOLATION_LEVELS = ("namespaces", "rlimits")
CONTRACT_KEYS = ("schema", "student", "submission", "rubric", "grader", "graded", "error",
                 "checks", "score", "duration_s")
ADDITIONS = {
    "sections": "the course's sections with their points: [{id, title, kind, points, "
                "max_points}], points null while a manual section is not graded",
    "late": "{factor, reason}: why score.late_factor is what it is",
    "comment": "the TA's comment from the manual-scores CSV, or null",
    "notes": "things a TA should know that did not stop grading, one sentence each",
}
"""Keys of result.json beyond the original contract (docs/design.md), with what they hold."""


def _iso(moment: datetime | str | None) -> str | None:
    if moment is None or isinstance(moment, str):
        return moment
    return moment.isoformat()


def build_result(submission: Any, rubric: Rubric, check_results: Sequence[CheckResult],
                 score: Score, *, grader_version: str, isolation: str, graded: bool,
                 error: str | None, duration_s: float, notes: Iterable[str] = ()
                 ) -> dict[str, Any]:
    """One submission's ``result.json`` as a dict (the contract plus :data:`ADDITIONS`).

    ``submission`` is a :class:`grader.discover.Submission` (its ``student_id``,
    ``student_name``, ``source``, ``sha256``, ``submitted_at``, ``files`` and ``notes`` are
    read).  ``notes`` are added after the submission's own.  The result is checked with
    :func:`validate_result`; a violation is a bug of the caller and raises :class:`ValueError`.
    """
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "student": {"id": submission.student_id, "name": submission.student_name},
        "submission": {"path": str(submission.source), "sha256": submission.sha256,
                       "submitted_at": _iso(submission.submitted_at),
                       "files": [str(f) for f in submission.files]},
        "rubric": {"id": rubric.id, "version": rubric.version},
        "grader": {"version": grader_version, "isolation": isolation},
        "graded": graded,
        "error": error,
        "checks": [_json_ready(c.to_dict()) for c in check_results],
        "score": score.to_dict(),
        "duration_s": round(float(duration_s), 3),
        "sections": section_rows(rubric, score),
        "late": {"factor": score.late_factor, "reason": score.late_reason},
        "comment": None,
        "notes": [*getattr(submission, "notes", ()), *notes],
    }
    problems = validate_result(result)
    if problems:
        raise ValueError("the result breaks the result.json contract: " + "; ".join(problems))
    return result


# --- atomic writes -------------------------------------------------------------------------------

def _json_ready(value: Any) -> Any:
    """JSON-safe data: NumPy scalars and arrays as Python numbers and lists, paths and times as
    strings, and NaN/infinity (which JSON cannot hold) as the strings "nan", "inf", "-inf"."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_ready(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):  # NumPy arrays and scalars, without importing NumPy
        return _json_ready(value.tolist())
    raise TypeError(f"cannot write a {type(value).__name__} to JSON: {value!r:.80}")


def write_text_atomic(path: Path | str, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, fsync,
    :func:`os.replace`).  On any failure the temporary file is removed and an existing ``path``
    is left as it was."""
    path = Path(path)
    data = text.encode(encoding)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are read by the TA's other tools
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); best effort elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path: Path | str, data: Any) -> None:
    """``data`` as indented UTF-8 JSON (names stay readable: no ``\\u`` escapes), atomically.

    The data is made JSON-safe first (see ``_json_ready``: NaN becomes "nan"); data that cannot
    be written raises before anything touches the disk.
    """
    text = json.dumps(_json_ready(data), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    write_text_atomic(path, text)


# --- grades.csv ----------------------------------------------------------------------------------

def _cell_number(value: Any) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return f"{round_points(value):.2f}".rstrip("0").rstrip(".")


_FORMULA = re.compile(r"^[=+\-@\t\r]")


def _cell_text(value: Any) -> str:
    """Text that came from students (names, error messages) must not become a spreadsheet
    formula: a leading = + - @ is escaped with an apostrophe, as OWASP advises."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return "'" + text if _FORMULA.match(text) else text


def _status(result: Mapping[str, Any]) -> str:
    if not result.get("graded"):
        return f"not graded: {result.get('error') or 'unknown error'}"
    pending = [s.get("id") for s in result.get("sections") or []
               if s.get("kind") == "manual" and s.get("points") is None]
    return f"graded; manual pending: {', '.join(pending)}" if pending else "graded"


def _sort_key(result: Mapping[str, Any]) -> tuple[Any, ...]:
    student = result.get("student") or {}
    sid, name = student.get("id"), student.get("name")
    return (sid is None, sid or "", name or "", (result.get("submission") or {}).get("path", ""))


def grades_rows(results: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The header and rows of ``grades.csv`` (see :func:`write_grades_csv`)."""
    results = sorted(results, key=_sort_key)
    section_ids: list[str] = []
    for result in results:
        for section in result.get("sections") or []:
            if section.get("id") not in section_ids:
                section_ids.append(section.get("id"))
    header = ["id", "name", *section_ids, "auto", "manual", "late_factor", "total", "max",
              "status"]
    rows = []
    for result in results:
        student, score = result.get("student") or {}, result.get("score") or {}
        points = {s.get("id"): s.get("points") for s in result.get("sections") or []}
        rows.append([_cell_text(student.get("id")), _cell_text(student.get("name")),
                     *(_cell_number(points.get(sid)) for sid in section_ids),
                     _cell_number(score.get("auto")), _cell_number(score.get("manual")),
                     _cell_number(score.get("late_factor")), _cell_number(score.get("total")),
                     _cell_number(score.get("max")), _cell_text(_status(result))])
    return header, rows


def write_grades_csv(path: Path | str, results: Iterable[Mapping[str, Any]]) -> None:
    """The gradebook: one row per result, sorted by student id (results without an id last).

    Columns: ``id, name``, one per section (its points; empty while not graded), ``auto,
    manual, late_factor, total, max, status`` (``graded``, ``graded; manual pending: ...`` or
    ``not graded: <why>``).  Written atomically.
    """
    header, rows = grades_rows(results)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    # UTF-8 *with a BOM* ("utf-8-sig"): without it Excel reads the file in the machine's legacy
    # code page and Chinese names (鍾嘉峻) come out as mojibake.  Python's csv and
    # read_manual()/read_roster() (utf-8-sig) read it either way.
    write_text_atomic(path, buffer.getvalue(), encoding="utf-8-sig")


# --- validation ----------------------------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_TOLERANCE = 0.011  # points are rounded to 2 decimals at every stage


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where or 'result'}: {message}")

    def table(self, data: Any, where: str, keys: Sequence[str], optional: Sequence[str] = ()
              ) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            self.add(where, f"expected an object, found {type(data).__name__}")
            return None
        for key in keys:
            if key not in data:
                self.add(f"{where}.{key}" if where else key, "missing")
        for key in data:
            if key not in keys and key not in optional:
                self.add(f"{where}.{key}" if where else key, "unknown key")
        return data

    def kind(self, data: Mapping[str, Any], key: str, where: str, test: Any, expected: str
             ) -> bool:
        if key not in data:
            return False
        value = data[key]
        if not test(value):
            self.add(f"{where}.{key}" if where else key, f"expected {expected}, found "
                     f"{json.dumps(value, ensure_ascii=False, default=repr)[:80]}")
            return False
        return True


def _str_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _iso_or_none(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def validate_result(data: Any) -> list[str]:
    """Every way ``data`` breaks the result contract (an empty list: it keeps it).

    Checks the keys (none missing, none unknown beyond :data:`ADDITIONS`), the types, the check
    statuses (pass, fail, error, skip), ``0 <= points <= max_points``, ``graded``/``error``
    agreement, ``score.auto`` = the sum of the checks' points, ``score.total`` = ``(auto +
    manual) x late_factor`` (rounded), ``total <= max``, and the additions' shapes and sums.
    """
    c = _Checker()
    top = c.table(data, "", CONTRACT_KEYS, tuple(ADDITIONS))
    if top is None:
        return c.problems
    if "schema" in top and (top["schema"] != SCHEMA or isinstance(top["schema"], bool)):
        c.add("schema", f"expected {SCHEMA}, found {top['schema']!r}")

    student = c.table(top.get("student"), "student", ("id", "name")) if "student" in top else None
    if student is not None:
        c.kind(student, "id", "student", _str_or_none, "a string or null")
        c.kind(student, "name", "student", _str_or_none, "a string or null")

    sub = c.table(top.get("submission"), "submission", ("path", "sha256", "submitted_at",
                                                        "files")) if "submission" in top else None
    if sub is not None:
        c.kind(sub, "path", "submission", lambda v: isinstance(v, str) and v != "",
               "a non-empty string")
        c.kind(sub, "sha256", "submission",
               lambda v: isinstance(v, str) and bool(_SHA256.match(v)),
               "64 lowercase hexadecimal digits")
        c.kind(sub, "submitted_at", "submission", _iso_or_none, "an ISO 8601 time or null")
        c.kind(sub, "files", "submission",
               lambda v: isinstance(v, list) and all(isinstance(f, str) for f in v),
               "a list of strings")

    rub = c.table(top.get("rubric"), "rubric", ("id", "version")) if "rubric" in top else None
    if rub is not None:
        for key in ("id", "version"):
            c.kind(rub, key, "rubric", lambda v: isinstance(v, str) and v != "",
                   "a non-empty string")

    grader = c.table(top.get("grader"), "grader", ("version", "isolation")) \
        if "grader" in top else None
    if grader is not None:
        c.kind(grader, "version", "grader", lambda v: isinstance(v, str) and v != "",
               "a non-empty string")
        c.kind(grader, "isolation", "grader", lambda v: v in ISOLATION_LEVELS,
               " or ".join(repr(v) for v in ISOLATION_LEVELS))

    graded = top.get("graded")
    if c.kind(top, "graded", "", lambda v: isinstance(v, bool), "true or false"):
        error = top.get("error")
        if graded and error is not None:
            c.add("error", "expected null when graded is true, found "
                  f"{json.dumps(error, ensure_ascii=False)[:80]}")
        if not graded and not (isinstance(error, str) and error.strip()):
            c.add("error", "expected a sentence saying why when graded is false, found "
                  f"{json.dumps(error, ensure_ascii=False, default=repr)[:80]}")

    check_points = _validate_checks(c, top.get("checks")) if "checks" in top else None
    c.kind(top, "duration_s", "", lambda v: _is_number(v) and v >= 0, "a number >= 0")
    score = _validate_score(c, top.get("score"), check_points) if "score" in top else None
    _validate_additions(c, top, score, check_points)
    return c.problems


def _validate_checks(c: _Checker, checks: Any) -> float | None:
    if not isinstance(checks, list):
        c.add("checks", f"expected a list, found {type(checks).__name__}")
        return None
    total, seen, ok = 0.0, set(), True
    for i, check in enumerate(checks):
        where = f"checks[{i}]"
        entry = c.table(check, where, ("id", "status", "points", "max_points", "message",
                                       "details"), optional=("kind",))
        if entry is None:
            ok = False
            continue
        if c.kind(entry, "id", where, lambda v: isinstance(v, str) and v != "",
                  "a non-empty string"):
            where = f"checks[{i}] ({entry['id']})"
            if entry["id"] in seen:
                c.add(where, "the id appears twice")
            seen.add(entry["id"])
        c.kind(entry, "status", where, lambda v: v in STATUSES, " | ".join(STATUSES))
        good_points = c.kind(entry, "points", where, lambda v: _is_number(v) and v >= 0,
                             "a number >= 0")
        good_max = c.kind(entry, "max_points", where, lambda v: _is_number(v) and v >= 0,
                          "a number >= 0")
        if good_points and good_max and entry["points"] > entry["max_points"] + 1e-9:
            c.add(f"{where}.points", f"{entry['points']} is more than max_points "
                                     f"{entry['max_points']}")
        c.kind(entry, "message", where, lambda v: isinstance(v, str), "a string")
        c.kind(entry, "details", where, lambda v: isinstance(v, dict), "an object")
        if good_points:
            total += entry["points"]
        else:
            ok = False
    return total if ok else None


def _validate_score(c: _Checker, score: Any, check_points: float | None
                    ) -> dict[str, Any] | None:
    entry = c.table(score, "score", ("auto", "manual", "late_factor", "total", "max"))
    if entry is None:
        return None
    good = [c.kind(entry, "auto", "score", lambda v: _is_number(v) and v >= 0, "a number >= 0"),
            c.kind(entry, "manual", "score", lambda v: v is None or (_is_number(v) and v >= 0),
                   "a number >= 0 or null"),
            c.kind(entry, "late_factor", "score", lambda v: _is_number(v) and 0 <= v <= 1,
                   "a number between 0 and 1"),
            c.kind(entry, "total", "score", lambda v: _is_number(v) and v >= 0,
                   "a number >= 0"),
            c.kind(entry, "max", "score", lambda v: _is_number(v) and v > 0, "a number > 0")]
    if not all(good):
        return None
    auto, manual, factor = entry["auto"], entry["manual"], entry["late_factor"]
    if check_points is not None and abs(auto - check_points) > _TOLERANCE:
        c.add("score.auto", f"expected the sum of the checks' points, {check_points:g}, found "
                            f"{auto:g}")
    expected = round_points((auto + (manual or 0.0)) * factor)
    if abs(entry["total"] - expected) > _TOLERANCE:
        c.add("score.total", f"expected (auto {auto:g} + manual {manual or 0:g}) x late_factor "
                             f"{factor:g} = {expected:g}, found {entry['total']:g}")
    if entry["total"] > entry["max"] + 1e-9:
        c.add("score.total", f"{entry['total']:g} is more than max {entry['max']:g}")
    if auto + (manual or 0.0) > entry["max"] + _TOLERANCE:
        c.add("score", f"auto {auto:g} + manual {manual or 0:g} is more than max "
                       f"{entry['max']:g}")
    return entry


def _validate_additions(c: _Checker, top: Mapping[str, Any], score: Mapping[str, Any] | None,
                        check_points: float | None) -> None:
    if "comment" in top:
        c.kind(top, "comment", "", _str_or_none, "a string or null")
    if "notes" in top:
        c.kind(top, "notes", "", lambda v: isinstance(v, list)
               and all(isinstance(n, str) for n in v), "a list of strings")
    if "late" in top:
        late = c.table(top["late"], "late", ("factor", "reason"))
        if late is not None:
            if c.kind(late, "factor", "late", lambda v: _is_number(v) and 0 <= v <= 1,
                      "a number between 0 and 1") and score is not None \
                    and late["factor"] != score["late_factor"]:
                c.add("late.factor", f"{late['factor']:g} differs from score.late_factor "
                                     f"{score['late_factor']:g}")
            c.kind(late, "reason", "late", lambda v: isinstance(v, str), "a string")
    if "sections" not in top:
        return
    sections = top["sections"]
    if not isinstance(sections, list):
        c.add("sections", f"expected a list, found {type(sections).__name__}")
        return
    sums = {"auto": 0.0, "manual": 0.0, "max": 0.0}
    graded_manual, ok = 0, True
    for i, section in enumerate(sections):
        where = f"sections[{i}]"
        entry = c.table(section, where, ("id", "title", "kind", "points", "max_points"))
        if entry is None:
            ok = False
            continue
        c.kind(entry, "id", where, lambda v: isinstance(v, str) and v != "", "a non-empty string")
        c.kind(entry, "title", where, lambda v: isinstance(v, str), "a string")
        good = [c.kind(entry, "kind", where, lambda v: v in ("manual", "auto"),
                       "'manual' or 'auto'"),
                c.kind(entry, "points", where, lambda v: v is None or (_is_number(v) and v >= 0),
                       "a number >= 0 or null"),
                c.kind(entry, "max_points", where, lambda v: _is_number(v) and v >= 0,
                       "a number >= 0")]
        if not all(good):
            ok = False
            continue
        points, kind = entry["points"], entry["kind"]
        if points is not None and points > entry["max_points"] + 1e-9:
            c.add(f"{where}.points", f"{points:g} is more than max_points "
                                     f"{entry['max_points']:g}")
        if kind == "auto" and points is None:
            c.add(f"{where}.points", "expected a number for an auto section, found null")
        sums["max"] += entry["max_points"]
        if points is not None:
            sums[kind] += points
            graded_manual += kind == "manual"
    if not ok or score is None:
        return
    if abs(sums["max"] - score["max"]) > _TOLERANCE:
        c.add("sections", f"the sections' max_points add up to {sums['max']:g}, but score.max "
                          f"is {score['max']:g}")
    if abs(sums["auto"] - score["auto"]) > _TOLERANCE:
        c.add("sections", f"the auto sections add up to {sums['auto']:g}, but score.auto is "
                          f"{score['auto']:g}")
    manual = score["manual"]
    if (manual is None) != (graded_manual == 0) or (
            manual is not None and abs(sums["manual"] - manual) > _TOLERANCE):
        shown = "null" if manual is None else f"{manual:g}"
        c.add("sections", f"the graded manual sections add up to "
                          f"{sums['manual']:g} ({graded_manual} graded), but score.manual is "
                          f"{shown}")
