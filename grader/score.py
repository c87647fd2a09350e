"""The "score" stage: verdicts become points, lateness a factor, the TA's manual scores merge in.

Pure parent-side data code: nothing here runs student code.

* :func:`score_checks` turns the checks' :class:`~grader.checks.base.Verdict` s into
  :class:`~grader.checks.base.CheckResult` s: ``fraction`` x the rubric's points for the check,
  rounded to 2 decimals; a check without a verdict is a ``skip`` that says why.
* :func:`late_factor` applies the course rule "late report or demo: score x 0.8" to the whole
  score, from the submission time, the deadline and its grace period, or a TA's override.
* :func:`make_score` adds it up into a :class:`Score`: ``total = (auto + manual) x late_factor``.
* :func:`read_manual` reads the TA's CSV of manual scores (``id,report,questions,comment`` and
  optionally ``late_factor``, ``submitted_at``), and :func:`merge_manual` puts them into the
  batch's result dicts, returning every problem as a sentence: nothing is silently dropped.

Points are rounded half up to 2 decimals (:func:`round_points`): 0.125 becomes 0.13, as a
student checking by hand expects, not 0.12 as binary floating point would have it.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping, MutableMapping, Sequence

from grader.checks.base import SKIP, CheckResult, Verdict
from grader.discover import _id_key
from grader.rubric import Rubric

__all__ = [
    "ManualError",
    "ManualRow",
    "ManualScores",
    "NO_SUBMISSION_TIME",
    "Score",
    "late_factor",
    "make_score",
    "merge_manual",
    "read_manual",
    "round_points",
    "score_checks",
    "section_rows",
    "student_key",
]

NO_SUBMISSION_TIME = "no submission time"


def round_points(value: float) -> float:
    """``value`` rounded half up to 2 decimals (of its shortest decimal form)."""
    return float(Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def student_key(student_id: str) -> str:
    """How student ids are compared: without case and leading zeros (Excel drops the zero of
    ``0756172``), the same rule as discovery's roster."""
    return _id_key(student_id)


# --- checks --------------------------------------------------------------------------------------

def score_checks(verdicts: Mapping[str, Verdict], rubric: Rubric, *, self_check: bool = False
                 ) -> list[CheckResult]:
    """One :class:`CheckResult` per check of the rubric, in the rubric's order.

    ``points = fraction x the check's points``, rounded to 2 decimals; ``max_points`` comes from
    the rubric.  A check without a verdict is ``skip`` with 0 points: in a self-check
    (``self_check=True``) a check that is not public says that the TA's grading runs it.  A
    verdict for a check the rubric does not have raises :class:`ValueError` (a bug of the
    caller: run the rubric's checks, :attr:`Rubric.check_ids`).
    """
    unknown = [cid for cid in verdicts if cid not in rubric.checks]
    if unknown:
        raise ValueError(f"verdicts for checks the rubric {rubric.id} does not have: "
                         f"{', '.join(unknown)} (its checks: {', '.join(rubric.check_ids)})")
    results = []
    for cid, check in rubric.checks.items():
        verdict = verdicts.get(cid)
        if verdict is None:
            if self_check and not check.public:
                message = ("not part of the self-check: this check runs when the TA grades "
                           "the submission")
            else:
                message = "not run"
            results.append(CheckResult(cid, SKIP, 0.0, check.points, message, {},
                                       check.kind))
            continue
        results.append(CheckResult(cid, verdict.status,
                                   round_points(verdict.fraction * check.points), check.points,
                                   verdict.message, dict(verdict.details), check.kind))
    return results


# --- lateness ------------------------------------------------------------------------------------

def _span(delta: timedelta) -> str:
    """``1 h 6 min``, ``2 days 3 h``, ``40 s``: how late, for people."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def _shown(moment: datetime, zone: tzinfo | None) -> str:
    return moment.astimezone(zone).isoformat(sep=" ", timespec="minutes")


def _moment(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.strip())


def late_factor(submitted_at: datetime | str | None, rubric: Rubric,
                override: float | None = None) -> tuple[float, str]:
    """The factor the whole score is multiplied by, and why, in a sentence.

    ``override`` (a TA's decision, e.g. for a late demo) wins.  Without a deadline in the rubric
    or a submission time (``None``), the factor is 1.0 (reason ``"no submission time"`` for the
    latter).  Work is late when submitted after the deadline plus ``grace_minutes``; exactly at
    that moment is on time.  A time without a zone (or an ISO 8601 string without one) is read
    in the deadline's zone.
    """
    if override is not None:
        if isinstance(override, bool) or not (isinstance(override, (int, float))
                                              and 0 <= override <= 1):
            raise ValueError(f"a late factor must be a number between 0 and 1, not {override!r}")
        return float(override), f"late factor {float(override):g} set by the TA"
    deadline = rubric.deadline
    if deadline is None:
        return 1.0, "the rubric has no deadline"
    if submitted_at is None:
        return 1.0, NO_SUBMISSION_TIME
    moment = _moment(submitted_at)
    zone_note = ""
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=deadline.when.tzinfo)
        zone_note = " (a time without a zone, read in the deadline's)"
    when, zone = deadline.when, deadline.when.tzinfo
    submitted = f"submitted {_shown(moment, zone)}{zone_note}"
    if moment <= when:
        return 1.0, f"on time: {submitted}, deadline {_shown(when, zone)}"
    if moment <= deadline.limit:
        return 1.0, (f"on time: {submitted}, {_span(moment - when)} after the deadline "
                     f"{_shown(when, zone)} but within the {deadline.grace_minutes:g}-minute "
                     "grace period")
    return deadline.late_factor, (f"late: {submitted}, {_span(moment - when)} after the "
                                  f"deadline {_shown(when, zone)}; score x "
                                  f"{deadline.late_factor:g}")


# --- the score -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    """A submission's score.  ``total = (auto + manual) x late_factor``, rounded to 2 decimals,
    with a manual score not graded yet counting 0 until it is.

    ``auto``: the checks' points; ``manual``: the sum of the graded manual sections (``None``
    while none is graded); ``max``: the rubric's ``max_points``; ``sections``: points per
    section id in the rubric's order (``None``: a manual section not graded yet);
    ``late_reason``: why ``late_factor`` is what it is.
    """

    auto: float
    manual: float | None
    late_factor: float
    total: float
    max: float
    sections: dict[str, float | None] = field(default_factory=dict)
    late_reason: str = ""

    @property
    def pending(self) -> list[str]:
        """Sections not graded yet."""
        return [sid for sid, points in self.sections.items() if points is None]

    def to_dict(self) -> dict[str, Any]:
        """``result.json``'s ``score``, exactly the contract's keys."""
        return {"auto": self.auto, "manual": self.manual, "late_factor": self.late_factor,
                "total": self.total, "max": self.max}


def section_rows(rubric: Rubric, score: Score) -> list[dict[str, Any]]:
    """The ``sections`` addition of ``result.json``: one dict per section, in the rubric's order,
    ``{"id", "title", "kind", "points", "max_points"}`` (``points`` ``None``: not graded yet)."""
    return [{"id": sid, "title": section.title, "kind": section.kind,
             "points": score.sections.get(sid), "max_points": section.points}
            for sid, section in rubric.sections.items()]


def _assemble(rubric: Rubric, auto_points: Mapping[str, float],
              manual: Mapping[str, float | None], factor: float, reason: str) -> Score:
    sections: dict[str, float | None] = {}
    for sid, section in rubric.sections.items():
        if section.kind == "auto":
            sections[sid] = round_points(auto_points.get(sid, 0.0))
        else:
            value = manual.get(sid)
            sections[sid] = None if value is None else round_points(value)
    auto = round_points(sum(v for sid, v in sections.items()
                            if rubric.sections[sid].kind == "auto" and v is not None))
    graded = [v for sid, v in sections.items()
              if rubric.sections[sid].kind == "manual" and v is not None]
    manual_total = round_points(sum(graded)) if graded else None
    total = round_points((auto + (manual_total or 0.0)) * factor)
    return Score(auto, manual_total, factor, total, rubric.max_points, sections, reason)


def _auto_points(rubric: Rubric, checks: Iterable[tuple[str, float]]) -> dict[str, float]:
    per_section: dict[str, float] = {}
    for cid, points in checks:
        config = rubric.checks.get(cid)
        if config is not None and config.section is not None:
            per_section[config.section] = per_section.get(config.section, 0.0) + points
    return per_section


def make_score(check_results: Sequence[CheckResult], rubric: Rubric, *,
               manual: Mapping[str, float | None] | None = None,
               submitted_at: datetime | str | None = None,
               late_override: float | None = None) -> Score:
    """The :class:`Score` of one submission: its checks' points, the manual sections graded so
    far (``{"report": 35, "questions": None}``; ``None``/missing: not graded yet) and the late
    factor from ``submitted_at`` (see :func:`late_factor`).  Manual values must lie within
    their section's points (:class:`ValueError` otherwise)."""
    manual = dict(manual or {})
    for sid, value in manual.items():
        section = rubric.sections.get(sid)
        if section is None or section.kind != "manual":
            raise ValueError(f"{sid!r} is not a manual section of the rubric {rubric.id} "
                             f"(its manual sections: {', '.join(rubric.manual_sections)})")
        if value is not None and not 0 <= value <= section.points:
            raise ValueError(f"{sid} must be between 0 and {section.points:g}, not {value!r}")
    factor, reason = late_factor(submitted_at, rubric, late_override)
    auto = _auto_points(rubric, ((r.id, r.points) for r in check_results))
    return _assemble(rubric, auto, manual, factor, reason)


# --- manual scores -------------------------------------------------------------------------------

class ManualError(Exception):
    """A manual-scores file that cannot be read at all (missing, not UTF-8, a bad header)."""


OPTIONAL_COLUMNS = ("comment", "late_factor", "submitted_at")


@dataclass(frozen=True)
class ManualRow:
    """One student's line of the manual-scores CSV.  ``sections``: points per manual section
    present in the file, ``None`` for an empty cell (not graded yet) or an unusable one (then a
    problem says why)."""

    line: int
    student_id: str
    sections: dict[str, float | None]
    comment: str | None = None
    late_factor: float | None = None
    submitted_at: datetime | None = None


@dataclass
class ManualScores:
    """The manual-scores CSV, read: rows by :func:`student_key`, and the problems found in it."""

    path: Path
    rubric: Rubric
    columns: tuple[str, ...]
    rows: dict[str, ManualRow] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _not_a_number(text: str) -> str:
    hint = "; use a point as the decimal separator" if _number(text.replace(",", ".")) \
        is not None else ""
    return f"{text!r} is not a number{hint}"


def read_manual(path: Path | str, rubric: Rubric) -> ManualScores:
    """The TA's manual scores: a CSV whose header names ``id``, the rubric's manual sections
    (Lab1: ``report``, ``questions``) and optionally ``comment``, ``late_factor`` (a per-student
    override of the late factor, 0 to 1) and ``submitted_at`` (ISO 8601; without a zone, the
    deadline's).  UTF-8 with or without a BOM (Excel's "CSV UTF-8"); header names ignore case.

    A file that cannot be used at all (missing, not UTF-8, no ``id`` column, an unknown or
    repeated column) raises :class:`ManualError`.  Everything else is a problem sentence in
    ``problems``, never a silent drop: an empty id, a repeated student (the first line counts),
    a value that is not a number or lies outside 0..the section's points (left not graded), a
    bad late factor or time (ignored), cells beyond the header.  An empty score cell means "not
    graded yet"; :func:`merge_manual` reports those.
    """
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManualError(f"manual-scores file {path} does not exist") from None
    except IsADirectoryError:
        raise ManualError(f"manual-scores file {path} is a folder") from None
    except UnicodeDecodeError:
        raise ManualError(f"manual-scores file {path} is not UTF-8 text; save it as "
                          "'CSV UTF-8'") from None
    manual_ids = list(rubric.manual_sections)
    known = ["id", *manual_ids, *OPTIONAL_COLUMNS]
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    scores: ManualScores | None = None
    first_line: dict[str, int] = {}
    for row in reader:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        line = reader.line_num
        if header is None:
            header = [cell.casefold() for cell in cells]
            _check_header(path, line, cells, header, known)
            scores = ManualScores(path, rubric, tuple(header))
            for sid in manual_ids:
                if sid not in header:
                    scores.problems.append(
                        f"{name}: there is no {sid!r} column, so {sid} is not graded yet for "
                        "anyone")
            continue
        assert scores is not None
        _read_row(scores, name, line, header, cells, first_line)
    if scores is None:
        raise ManualError(f"manual-scores file {path} is empty: it needs a header line naming "
                          f"the columns {', '.join(known)}")
    return scores


def _check_header(path: Path, line: int, cells: list[str], header: list[str],
                  known: list[str]) -> None:
    where = f"manual-scores file {path}, line {line}"
    if "id" not in header:
        semicolons = len(cells) == 1 and ";" in cells[0]
        hint = (" (the columns seem separated by semicolons: save the file as 'CSV UTF-8 "
                "(comma delimited)')") if semicolons else ""
        raise ManualError(f"{where}: the first line must be a header with an 'id' column and "
                          f"the columns {', '.join(known[1:])}, found "
                          f"{', '.join(repr(c) for c in cells)}{hint}")
    problems = []
    for column in header:
        if not column:
            problems.append("a column without a name")
        elif column not in known:
            close = difflib.get_close_matches(column, known, n=1)
            problems.append(f"unknown column {column!r}"
                            + (f" (did you mean {close[0]!r}?)" if close else ""))
    repeated = sorted({c for c in header if c and header.count(c) > 1})
    problems += [f"column {c!r} appears twice" for c in repeated]
    if problems:
        raise ManualError(f"{where}: {'; '.join(problems)}; the columns are "
                          f"{', '.join(known)}")


def _read_row(scores: ManualScores, name: str, line: int, header: list[str], cells: list[str],
              first_line: dict[str, int]) -> None:
    problems = scores.problems
    at = f"{name} line {line}"
    if len(cells) > len(header) and any(cells[len(header):]):
        extra = ", ".join(repr(c) for c in cells[len(header):] if c)
        problems.append(f"{at}: cells beyond the header's {len(header)} columns are ignored "
                        f"({extra}); a comment with commas needs quotes")
    values = {column: (cells[i] if i < len(cells) else "") for i, column in enumerate(header)}
    student_id = values["id"]
    if not student_id:
        filled = ", ".join(f"{c}={v!r}" for c, v in values.items() if v)
        problems.append(f"{at}: the id is empty, so the line is ignored ({filled})")
        return
    key = student_key(student_id)
    if key in first_line:
        problems.append(f"{at}: student {student_id} appears again (first on line "
                        f"{first_line[key]}); this line is ignored, fix the file and merge again")
        return
    first_line[key] = line
    sections: dict[str, float | None] = {}
    for sid, section in scores.rubric.manual_sections.items():
        if sid not in values:
            continue
        raw = values[sid]
        if not raw:
            sections[sid] = None
            continue
        value = _number(raw)
        if value is None:
            problems.append(f"{at}: student {student_id}, {sid}: {_not_a_number(raw)}; left "
                            "not graded")
            sections[sid] = None
        elif not 0 <= value <= section.points:
            problems.append(f"{at}: student {student_id}, {sid}: {raw} is outside 0 to "
                            f"{section.points:g}; left not graded")
            sections[sid] = None
        else:
            sections[sid] = value
    factor: float | None = None
    raw = values.get("late_factor", "")
    if raw:
        factor = _number(raw)
        if factor is None or not 0 <= factor <= 1:
            problems.append(f"{at}: student {student_id}, late_factor: "
                            + (f"{raw} is outside 0 to 1" if factor is not None
                               else _not_a_number(raw)) + "; ignored")
            factor = None
    moment: datetime | None = None
    raw = values.get("submitted_at", "")
    if raw:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            problems.append(f"{at}: student {student_id}, submitted_at: {raw!r} is not an "
                            "ISO 8601 time such as 2020-09-02T11:59:00+08:00; ignored")
        else:
            deadline = scores.rubric.deadline
            if moment.tzinfo is None and deadline is not None:
                moment = moment.replace(tzinfo=deadline.when.tzinfo)
    comment = values.get("comment") or None
    scores.rows[key] = ManualRow(line, student_id, sections, comment, factor, moment)


def _result_label(result: Mapping[str, Any]) -> str:
    student = result.get("student") or {}
    sid, name = student.get("id"), student.get("name")
    if sid:
        return f"student {sid}" + (f" ({name})" if name else "")
    path = (result.get("submission") or {}).get("path")
    return f"the submission {path or name or '?'}"


def merge_manual(results: Sequence[MutableMapping[str, Any]], manual: ManualScores) -> list[str]:
    """Put the manual scores into the batch's result dicts (see :mod:`grader.results`), in place.

    For each result whose student has a line: the manual sections, the comment, the late factor
    (the line's ``late_factor``, else one computed from its ``submitted_at``, which also
    replaces ``submission.submitted_at``, else the result's own) and the total are updated.
    Returns every problem, in a sentence each: the file's own (see :func:`read_manual`), lines
    whose student is not in the batch, students of the batch without a line or with sections not
    graded yet, submissions without a student id, results graded under another rubric.
    """
    rubric, name = manual.rubric, manual.path.name
    problems = list(manual.problems)
    matched: dict[str, int] = {}
    for result in results:
        label = _result_label(result)
        student_id = (result.get("student") or {}).get("id")
        if not student_id:
            problems.append(f"{label} has no student id, so no manual score can be matched "
                            "to it")
            continue
        theirs = result.get("rubric") or {}
        if (theirs.get("id"), theirs.get("version")) != (rubric.id, rubric.version):
            problems.append(f"{label} was graded with rubric {theirs.get('id')} "
                            f"{theirs.get('version')}, not {rubric.id} {rubric.version}; "
                            "grade it again before merging manual scores")
            continue
        key = student_key(student_id)
        row = manual.rows.get(key)
        if row is None:
            problems.append(f"{label} has no line in {name}: "
                            f"{', '.join(rubric.manual_sections)} not graded yet")
            _apply(result, rubric, {}, None, name)
            continue
        matched[key] = matched.get(key, 0) + 1
        if matched[key] == 2:
            problems.append(f"{label} has several submissions in this batch; the manual scores "
                            f"of {name} line {row.line} apply to each")
        pending = [sid for sid in rubric.manual_sections if row.sections.get(sid) is None]
        if pending:
            problems.append(f"{label}: {', '.join(pending)} not graded yet ({name} line "
                            f"{row.line})")
        _apply(result, rubric, row.sections, row, name)
    for key, row in manual.rows.items():
        if key not in matched:
            problems.append(f"{name} line {row.line}: student {row.student_id} is not in this "
                            "batch (no submission); the line is not used")
    return problems


def _apply(result: MutableMapping[str, Any], rubric: Rubric,
           sections: Mapping[str, float | None], row: ManualRow | None, source: str) -> None:
    """Recompute a result dict's score, sections and lateness with these manual sections."""
    score = result.setdefault("score", {})
    submission = result.setdefault("submission", {})
    late = result.get("late") or {}
    if row is not None and row.late_factor is not None:
        factor, reason = late_factor(None, rubric, override=row.late_factor)
    elif row is not None and row.submitted_at is not None:
        submission["submitted_at"] = row.submitted_at.isoformat()
        factor, reason = late_factor(row.submitted_at, rubric)
    else:
        factor = float(score.get("late_factor", 1.0))
        reason = late.get("reason") or ""
    checks = [(c.get("id"), float(c.get("points") or 0.0)) for c in result.get("checks") or []]
    new = _assemble(rubric, _auto_points(rubric, checks), sections, factor, reason)
    result["score"] = new.to_dict()
    result["sections"] = section_rows(rubric, new)
    result["late"] = {"factor": new.late_factor, "reason": new.late_reason}
    if row is not None:
        result["comment"] = row.comment
        note = f"manual scores from {source} line {row.line}"
        notes = result.setdefault("notes", [])
        if note not in notes:
            notes.append(note)
