"""Scoring, lateness, manual scores, result.json and grades.csv."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.checks.base import Verdict
from grader.results import (ADDITIONS, build_result, grades_rows, validate_result,
                            write_grades_csv, write_json_atomic)
from grader.rubric import load_rubric
from grader.score import (NO_SUBMISSION_TIME, ManualError, late_factor, make_score,
                          merge_manual, read_manual, round_points, score_checks)

TW = timezone(timedelta(hours=8))
RUBRIC = load_rubric("lab1")
ALL_PASS = {cid: Verdict("pass", "ok", 1.0) for cid in RUBRIC.check_ids}


def rubric_with(tmp_path: Path, old: str, new: str):
    text = Path(RUBRIC.source).read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "variant.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_rubric(path)


def submission(student_id: str | None = "0756172", name: str | None = "鍾嘉峻",
               submitted_at: datetime | None = datetime(2020, 9, 2, 10, 0, tzinfo=TW)):
    return SimpleNamespace(student_id=student_id, student_name=name,
                           source=Path(f"/batch/DLP_LAB1_{student_id}_{name}.zip"),
                           sha256="ab" * 32, submitted_at=submitted_at, files=["lab1.py"],
                           notes=["a note from discovery"])


def result_for(verdicts=ALL_PASS, rubric=RUBRIC, graded=True, error=None, **sub):
    sub_ = submission(**sub)
    checks = score_checks(verdicts, rubric)
    score = make_score(checks, rubric, submitted_at=sub_.submitted_at)
    return build_result(sub_, rubric, checks, score, grader_version="0.1.0",
                        isolation="rlimits", graded=graded, error=error, duration_s=4.2)


# --- checks to points ----------------------------------------------------------------------------

def test_points_are_the_fraction_of_the_checks_points_with_partial_credit():
    verdicts = {"interface": Verdict("pass", "found NN", 1.0),
                "gradient": Verdict("fail", "layer 2 has the wrong sign", 0.0,
                                    {"scale": -1.0}),
                "train_xor": Verdict("fail", "converged, accuracy 20/21", 0.5),
                "program": Verdict("fail", "one figure of two", 0.8),
                "forward": Verdict("pass", "matches", 1 / 3)}
    results = score_checks(verdicts, RUBRIC)
    assert [r.id for r in results] == list(RUBRIC.check_ids)  # the rubric's order
    by_id = {r.id: r for r in results}
    assert (by_id["interface"].points, by_id["interface"].max_points) == (4, 4)
    assert by_id["gradient"].points == 0 and by_id["gradient"].details == {"scale": -1.0}
    assert by_id["train_xor"].points == 3.0
    assert by_id["program"].points == 4.8
    assert by_id["forward"].points == 2.0  # 6 / 3, rounded to 2 decimals
    assert by_id["numpy_only"].status == "skip" and by_id["numpy_only"].message == "not run"
    assert make_score(results, RUBRIC).auto == 4 + 2 + 3 + 4.8


def test_self_check_skips_say_that_the_ta_runs_them():
    public = {cid: ALL_PASS[cid] for cid in RUBRIC.public_check_ids}
    results = {r.id: r for r in score_checks(public, RUBRIC, self_check=True)}
    assert "program" not in RUBRIC.public_check_ids, "program must stay TA-only"
    assert results["program"].status == "skip" and results["program"].points == 0
    assert "not part of the self-check" in results["program"].message
    for cid in ("gradient", "train_xor"):  # public checks are scored in the self-check
        assert results[cid].status == "pass"


def test_a_verdict_for_an_unknown_check_is_a_bug():
    with pytest.raises(ValueError, match="does not have: softmax"):
        score_checks({"softmax": Verdict("pass", "ok", 1.0)}, RUBRIC)


@pytest.mark.parametrize("value,rounded", [(0.125, 0.13), (2.675, 2.68), (1 / 3, 0.33),
                                           (39.995, 40.0), (7.04, 7.04), (0, 0.0)])
def test_points_round_half_up_to_two_decimals(value, rounded):
    assert round_points(value) == rounded


# --- lateness ------------------------------------------------------------------------------------

@pytest.mark.parametrize("when,factor,reason", [
    ("2020-09-01T20:00:00+08:00", 1.0, "on time: submitted 2020-09-01 20:00+08:00"),
    ("2020-09-02T11:59:00+08:00", 1.0, "on time"),                      # exactly at the deadline
    ("2020-09-02T03:59:00+00:00", 1.0, "on time: submitted 2020-09-02 11:59+08:00"),  # UTC
    ("2020-09-02T11:59:30+08:00", 0.8, "late: submitted 2020-09-02 11:59+08:00, 30 s after"),
    ("2020-09-02T13:05:00+08:00", 0.8, "1 h 6 min after the deadline 2020-09-02 11:59+08:00; "
                                       "score x 0.8"),
    ("2020-09-05T12:00:00+08:00", 0.8, "3 days after"),
    ("2020-09-02T12:30:00", 0.8, "(a time without a zone, read in the deadline's)"),
])
def test_late_factor_against_the_deadline(when, factor, reason):
    got, why = late_factor(when, RUBRIC)
    assert got == factor and reason in why
    assert late_factor(datetime.fromisoformat(when), RUBRIC)[0] == factor


def test_grace_period_override_and_unknown_time(tmp_path):
    rubric = rubric_with(tmp_path, "grace_minutes = 0 ", "grace_minutes = 10 ")
    assert late_factor("2020-09-02T12:09:00+08:00", rubric) == (
        1.0, "on time: submitted 2020-09-02 12:09+08:00, 10 min after the deadline "
             "2020-09-02 11:59+08:00 but within the 10-minute grace period")
    assert late_factor("2020-09-02T12:09:01+08:00", rubric)[0] == 0.8
    assert late_factor(None, RUBRIC) == (1.0, NO_SUBMISSION_TIME)
    assert late_factor("2020-09-01T00:00:00+08:00", RUBRIC, override=0.5) == (
        0.5, "late factor 0.5 set by the TA")
    assert late_factor(None, RUBRIC, override=1)[0] == 1.0
    with pytest.raises(ValueError, match="between 0 and 1"):
        late_factor(None, RUBRIC, override=1.5)


def test_no_deadline_means_nothing_is_late(tmp_path):
    text = Path(RUBRIC.source).read_text(encoding="utf-8")
    start, end = text.index("[deadline]"), text.index("# --- the course's scoring")
    path = tmp_path / "nodeadline.toml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    rubric = load_rubric(path)
    assert rubric.deadline is None
    assert late_factor("2030-01-01T00:00:00+00:00", rubric) == (1.0, "the rubric has no deadline")


# --- the score -----------------------------------------------------------------------------------

def test_total_is_auto_plus_manual_times_the_late_factor():
    checks = score_checks({**ALL_PASS, "program": Verdict("fail", "no figures", 0.8)}, RUBRIC)
    on_time = make_score(checks, RUBRIC, manual={"report": 35.5, "questions": 18},
                         submitted_at="2020-09-02T11:00:00+08:00")
    assert (on_time.auto, on_time.manual, on_time.late_factor) == (38.8, 53.5, 1.0)
    assert (on_time.total, on_time.max) == (92.3, 100)
    assert on_time.sections == {"report": 35.5, "experimental_results": 38.8, "questions": 18}
    late = make_score(checks, RUBRIC, manual={"report": 35.5, "questions": 18},
                      submitted_at="2020-09-02T12:00:00+08:00")
    assert late.total == round_points(92.3 * 0.8) == 73.84
    assert late.to_dict() == {"auto": 38.8, "manual": 53.5, "late_factor": 0.8,
                              "total": 73.84, "max": 100}


def test_manual_is_none_until_graded_and_partial_while_grading():
    checks = score_checks(ALL_PASS, RUBRIC)
    none = make_score(checks, RUBRIC)
    assert none.manual is None and none.total == 40 and none.pending == ["report", "questions"]
    partial = make_score(checks, RUBRIC, manual={"report": 30, "questions": None})
    assert partial.manual == 30 and partial.total == 70 and partial.pending == ["questions"]
    with pytest.raises(ValueError, match="report must be between 0 and 40"):
        make_score(checks, RUBRIC, manual={"report": 41})
    with pytest.raises(ValueError, match="not a manual section"):
        make_score(checks, RUBRIC, manual={"experimental_results": 1})


# --- manual scores -------------------------------------------------------------------------------

def write_csv(tmp_path: Path, text: str, *, bom: bool = False, name: str = "manual.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def batch():
    return [result_for(student_id="0756172", name="鍾嘉峻"),
            result_for(student_id="0756173", name="王小明",
                       submitted_at=datetime(2020, 9, 2, 13, 0, tzinfo=TW)),
            result_for(student_id="0756174", name="Lee"),
            result_for(student_id="0756175", name="Chen"),
            result_for(student_id=None, name="nameless")]


@pytest.mark.parametrize("bom", [False, True])
def test_manual_scores_merge_and_every_problem_is_reported(tmp_path, bom):
    path = write_csv(tmp_path, "\n".join([
        "ID,Report,questions,comment,late_factor,submitted_at",
        "756172,35.5,18,\"clear report, good demo\",,",   # Excel dropped the leading zero
        "0756173,40,,,,",                                 # questions not graded yet
        "0756174,A+,25,,2,yesterday",                     # not a number, out of range, bad time
        "0756174,1,1,,,",                                 # duplicate
        ",10,10,,,",                                      # empty id
        "0999999,30,15,,,",                               # not in the batch
        "0756175,\"37,5\",-1,,,,extra",                   # decimal comma, negative, extra cell
    ]) + "\n", bom=bom)
    manual = read_manual(path, RUBRIC)
    results = batch()
    problems = merge_manual(results, manual)
    expected = [
        "manual.csv line 4: student 0756174, report: 'A+' is not a number; left not graded",
        "manual.csv line 4: student 0756174, questions: 25 is outside 0 to 20; left not graded",
        "manual.csv line 4: student 0756174, late_factor: 2 is outside 0 to 1; ignored",
        "manual.csv line 4: student 0756174, submitted_at: 'yesterday' is not an ISO 8601 time",
        "manual.csv line 5: student 0756174 appears again (first on line 4); this line is "
        "ignored",
        "manual.csv line 6: the id is empty, so the line is ignored",
        "manual.csv line 8: cells beyond the header's 6 columns are ignored ('extra')",
        "manual.csv line 8: student 0756175, report: '37,5' is not a number; use a point as the "
        "decimal separator; left not graded",
        "manual.csv line 8: student 0756175, questions: -1 is outside 0 to 20; left not graded",
        "student 0756173 (王小明): questions not graded yet (manual.csv line 3)",
        "student 0756174 (Lee): report, questions not graded yet (manual.csv line 4)",
        "student 0756175 (Chen): report, questions not graded yet (manual.csv line 8)",
        "the submission /batch/DLP_LAB1_None_nameless.zip has no student id",
        "manual.csv line 7: student 0999999 is not in this batch (no submission); the line is "
        "not used",
    ]
    for message in expected:
        assert any(p.startswith(message) for p in problems), (message, problems)
    assert len(problems) == len(expected)

    first, second, third = results[0], results[1], results[2]
    assert first["score"] == {"auto": 40, "manual": 53.5, "late_factor": 1.0, "total": 93.5,
                              "max": 100}
    assert first["comment"] == "clear report, good demo"
    assert "manual scores from manual.csv line 2" in first["notes"]
    # Late (13:00 > 11:59): (40 + 40) x 0.8; questions still pending.
    assert second["score"]["manual"] == 40 and second["score"]["total"] == 64
    assert [s["points"] for s in second["sections"]] == [40, 40, None]
    assert third["score"]["manual"] is None and third["score"]["total"] == 40
    for result in results:
        assert validate_result(result) == []


def test_manual_overrides_of_late_factor_and_submission_time(tmp_path):
    path = write_csv(tmp_path, "id,report,questions,late_factor,submitted_at\n"
                               "0756172,40,20,0.8,\n"              # late demo, decided by the TA
                               "0756173,40,20,,2020-09-02T11:00\n"   # really on time
                               "0756174,40,20,,2020-09-03T09:00:00+08:00\n")
    results = batch()[:3]
    merge_manual(results, read_manual(path, RUBRIC))
    assert results[0]["score"]["late_factor"] == 0.8 and results[0]["score"]["total"] == 80
    assert results[0]["late"]["reason"] == "late factor 0.8 set by the TA"
    assert results[1]["score"]["late_factor"] == 1.0 and results[1]["score"]["total"] == 100
    assert results[1]["submission"]["submitted_at"] == "2020-09-02T11:00:00+08:00"
    assert results[2]["score"]["late_factor"] == 0.8
    assert results[2]["late"]["reason"].startswith("late: submitted 2020-09-03 09:00+08:00")
    for result in results:
        assert validate_result(result) == []


def test_merging_twice_gives_the_same_result(tmp_path):
    path = write_csv(tmp_path, "id,report,questions,comment\n0756172,30,10,ok\n")
    results = batch()[:1]
    merge_manual(results, read_manual(path, RUBRIC))
    once = copy.deepcopy(results)
    merge_manual(results, read_manual(path, RUBRIC))
    assert results == once


def test_a_missing_section_column_is_reported_not_fatal(tmp_path):
    path = write_csv(tmp_path, "id,report\n0756172,30\n")
    manual = read_manual(path, RUBRIC)
    assert manual.problems == ["manual.csv: there is no 'questions' column, so questions is not "
                               "graded yet for anyone"]
    results = batch()[:1]
    merge_manual(results, manual)
    assert results[0]["score"]["manual"] == 30


def test_a_result_graded_under_another_rubric_is_not_merged(tmp_path):
    path = write_csv(tmp_path, "id,report,questions\n0756172,30,10\n")
    results = batch()[:1]
    results[0]["rubric"]["version"] = "0"
    problems = merge_manual(results, read_manual(path, RUBRIC))
    assert any(f"was graded with rubric lab1 0, not lab1 {RUBRIC.version}" in p
               for p in problems)
    assert results[0]["score"]["manual"] is None


@pytest.mark.parametrize("text,message", [
    ("id,report,questions,grade\n", "unknown column 'grade'"),
    ("id,report,qestions\n", "unknown column 'qestions' (did you mean 'questions'?)"),
    ("id,report,report\n", "column 'report' appears twice"),
    ("student,report,questions\n", "the first line must be a header with an 'id' column"),
    ("id;report;questions\n0756172;30;10\n", "separated by semicolons"),
    ("\n\n", "is empty"),
])
def test_unusable_manual_files_raise_with_the_reason(tmp_path, text, message):
    with pytest.raises(ManualError, match=re.escape(message)):
        read_manual(write_csv(tmp_path, text), RUBRIC)


def test_manual_files_that_cannot_be_read(tmp_path):
    with pytest.raises(ManualError, match="does not exist"):
        read_manual(tmp_path / "none.csv", RUBRIC)
    path = tmp_path / "big5.csv"
    path.write_bytes("id,report,questions,comment\n0756172,30,10,很好\n".encode("big5"))
    with pytest.raises(ManualError, match="is not UTF-8 text; save it as 'CSV UTF-8'"):
        read_manual(path, RUBRIC)


# --- result.json ---------------------------------------------------------------------------------

def test_build_result_is_exactly_the_contract_plus_documented_additions():
    result = result_for()
    assert list(result) == ["schema", "student", "submission", "rubric", "grader", "graded",
                            "error", "checks", "score", "duration_s", *ADDITIONS]
    assert result["schema"] == 1
    assert result["student"] == {"id": "0756172", "name": "鍾嘉峻"}
    assert result["submission"] == {"path": "/batch/DLP_LAB1_0756172_鍾嘉峻.zip",
                                    "sha256": "ab" * 32,
                                    "submitted_at": "2020-09-02T10:00:00+08:00",
                                    "files": ["lab1.py"]}
    assert result["rubric"] == {"id": "lab1", "version": RUBRIC.version}
    assert result["grader"] == {"version": "0.1.0", "isolation": "rlimits"}
    assert set(result["checks"][0]) == {"id", "status", "points", "max_points", "message",
                                        "details"}
    assert result["score"] == {"auto": 40, "manual": None, "late_factor": 1.0, "total": 40,
                               "max": 100}
    assert result["late"]["factor"] == 1.0 and result["notes"] == ["a note from discovery"]
    assert validate_result(result) == []


def test_an_ungraded_submission_still_has_a_valid_result():
    sub = submission(submitted_at=None)
    score = make_score([], RUBRIC, submitted_at=None)
    result = build_result(sub, RUBRIC, [], score, grader_version="0.1.0", isolation="namespaces",
                          graded=False, error="No Python source (.py) was found.",
                          duration_s=0.01)
    assert result["score"]["total"] == 0 and result["late"]["reason"] == NO_SUBMISSION_TIME
    assert validate_result(result) == []


def test_build_result_refuses_an_inconsistent_score():
    checks = score_checks(ALL_PASS, RUBRIC)
    score = make_score(checks[:2], RUBRIC)
    with pytest.raises(ValueError, match="score.auto: expected the sum of the checks' points"):
        build_result(submission(), RUBRIC, checks, score, grader_version="0.1.0",
                     isolation="rlimits", graded=True, error=None, duration_s=1)


def _set(path: str, value):
    def change(data):
        *parents, last = path.split(".")
        target = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is DELETE:
            del target[last]
        else:
            target[int(last) if isinstance(target, list) else last] = value
    return change


DELETE = object()


@pytest.mark.parametrize("change,message", [
    (_set("schema", 2), "schema: expected 1, found 2"),
    (_set("score", DELETE), "score: missing"),
    (_set("grade", 1), "grade: unknown key"),
    (_set("student.email", "x@y"), "student.email: unknown key"),
    (_set("checks.0.status", "passed"), "checks[0] (interface).status: expected pass | fail | "
                                        "error | skip, found \"passed\""),
    (_set("checks.0.points", 5), "checks[0] (interface).points: 5 is more than max_points 4"),
    (_set("checks.1.points", -1), "checks[1] (forward).points: expected a number >= 0"),
    (_set("checks.1.details", []), "checks[1] (forward).details: expected an object"),
    (_set("checks.1.id", "interface"), "checks[1] (interface): the id appears twice"),
    (_set("score.total", 41), "score.total: expected (auto 40 + manual 0) x late_factor 1 = "
                              "40, found 41"),
    (_set("score.auto", 39), "score.auto: expected the sum of the checks' points, 40, found 39"),
    (_set("score.late_factor", 1.5), "score.late_factor: expected a number between 0 and 1"),
    (_set("score.manual", "n/a"), "score.manual: expected a number >= 0 or null"),
    (_set("graded", "yes"), "graded: expected true or false"),
    (_set("error", "boom"), "error: expected null when graded is true"),
    (_set("graded", False), "error: expected a sentence saying why when graded is false"),
    (_set("grader.isolation", "docker"), "grader.isolation: expected 'namespaces' or "
                                         "'rlimits'"),
    (_set("submission.sha256", "xyz"), "submission.sha256: expected 64 lowercase hexadecimal"),
    (_set("submission.submitted_at", "yesterday"), "submission.submitted_at: expected an ISO "
                                                   "8601 time or null"),
    (_set("submission.files", "lab1.py"), "submission.files: expected a list of strings"),
    (_set("duration_s", -1), "duration_s: expected a number >= 0"),
    (_set("duration_s", float("nan")), "duration_s: expected a number >= 0"),
    (_set("late.factor", 0.8), "late.factor: 0.8 differs from score.late_factor 1"),
    (_set("sections.0.points", 50), "sections[0].points: 50 is more than max_points 40"),
    (_set("sections.1.points", 30), "sections: the auto sections add up to 30, but score.auto "
                                    "is 40"),
    (_set("sections.0.points", 30), "sections: the graded manual sections add up to 30 "
                                    "(1 graded), but score.manual is null"),
    (_set("notes", "x"), "notes: expected a list of strings"),
])
def test_validate_result_catches_each_violation(change, message):
    result = result_for()
    change(result)
    problems = validate_result(result)
    assert any(p.startswith(message) for p in problems), problems


def test_validate_result_on_nonsense():
    assert validate_result([]) == ["result: expected an object, found list"]
    assert "score: missing" in validate_result({k: v for k, v in result_for().items()
                                                if k != "score"})


# --- writing -------------------------------------------------------------------------------------

def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_json_atomic_writes_readable_utf8_json(tmp_path):
    result = result_for()
    result["checks"][2]["details"]["rel_error"] = float("nan")
    path = tmp_path / "result.json"
    write_json_atomic(path, result)
    text = path.read_text(encoding="utf-8")
    assert "鍾嘉峻" in text  # not \u-escaped
    data = json.loads(text)
    assert data["checks"][2]["details"]["rel_error"] == "nan"
    assert data["score"] == result["score"]
    assert leftovers(tmp_path) == []
    write_json_atomic(path, {"replaced": True})
    assert json.loads(path.read_text(encoding="utf-8")) == {"replaced": True}
    assert leftovers(tmp_path) == []


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    write_json_atomic(path, {"old": True})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(path, {"new": True})
    monkeypatch.undo()
    assert json.loads(path.read_text(encoding="utf-8")) == {"old": True}
    assert leftovers(tmp_path) == []

    def broken_fsync(fd):
        raise KeyboardInterrupt  # a TA's Ctrl-C mid-write

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(path, {"new": True})
    monkeypatch.undo()
    assert json.loads(path.read_text(encoding="utf-8")) == {"old": True}
    assert leftovers(tmp_path) == []
    with pytest.raises(TypeError, match="cannot write a object"):
        write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text(encoding="utf-8")) == {"old": True}
    assert leftovers(tmp_path) == []


def test_grades_csv_has_a_bom_and_one_sorted_row_per_student(tmp_path):
    results = batch()
    manual = write_csv(tmp_path, "id,report,questions\n0756172,35.5,18\n0756173,40,\n")
    merge_manual(results, read_manual(manual, RUBRIC))
    results.append(result_for(student_id="0756170", name="=HYPERLINK(\"http://x\")",
                              graded=False, error="No Python source (.py) was found.",
                              verdicts={}))
    results.reverse()  # the order given does not matter
    path = tmp_path / "grades.csv"
    write_grades_csv(path, results)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["id", "name", "report", "experimental_results", "questions", "auto",
                       "manual", "late_factor", "total", "max", "status"]
    assert [r[0] for r in rows[1:]] == ["0756170", "0756172", "0756173", "0756174", "0756175",
                                        ""]
    by_id = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert by_id["0756172"] == {"id": "0756172", "name": "鍾嘉峻", "report": "35.5",
                                "experimental_results": "40", "questions": "18", "auto": "40",
                                "manual": "53.5", "late_factor": "1", "total": "93.5",
                                "max": "100", "status": "graded"}
    assert by_id["0756173"]["status"] == "graded; manual pending: questions"
    assert by_id["0756173"]["late_factor"] == "0.8" and by_id["0756173"]["total"] == "64"
    assert by_id["0756170"]["name"] == "'=HYPERLINK(\"http://x\")"  # never a formula
    assert by_id["0756170"]["status"] == "not graded: No Python source (.py) was found."
    assert by_id["0756170"]["total"] == "0"
    assert by_id[""]["name"] == "nameless"
    assert leftovers(tmp_path) == []
    assert grades_rows(results)[1] == rows[1:]
