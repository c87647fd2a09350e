"""The machine-readable exports: Gradescope's results.json, JUnit XML, the Markdown summary.

The inputs are result.json dicts built here (and checked against the result contract, so they
are what the grader writes), or, in the end-to-end test, a sample submission graded for real.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from grader.render.gradescope import gradescope_results, write_gradescope
from grader.render.junit import junit_xml, write_junit, xml_safe
from grader.render.markdown import LIMIT, markdown_summary, write_markdown
from grader.results import validate_result
from grader.score import round_points

ROOT = Path(__file__).resolve().parents[1]

HOSTILE_NAME = ("<img src=x onerror=alert(1)> \"Bob\" 'O'Neil' | ]]> &amp; \\ `x` *b* _i_ "
                "[link](http://evil) # ~~s~~ $x$")
HOSTILE_MESSAGE = ("\x00nul \x1b[31mred\x1b[0m \x07bell \ud800 lone\r\nsecond line | ]]> "
                   "</failure><script>alert(1)</script>")

# (id, status, points, max_points, message): one check of each status
MIXED = [
    ("interface", "pass", 4.0, 4.0, "NN(dim=[2, 3, 3, 1]) with predict, backprop and update"),
    ("forward", "fail", 0.0, 6.0, "predict differs from the reference (largest difference 0.3)"),
    ("gradient", "error", 3.0, 10.0, "backprop raised ValueError: shapes (3,1) and (2,3)"),
    ("train_linear", "skip", 0.0, 6.0, "not checked: the gradient check did not pass"),
]
CHECK_IDS = [check[0] for check in MIXED]


def make_result(student_id: str | None, name: str | None, checks=MIXED, *, graded: bool = True,
                error: str | None = None, late_factor: float = 1.0, manual: float | None = None,
                notes: tuple[str, ...] = (), path: str | None = None) -> dict[str, Any]:
    """A result.json dict as the grader writes it (validated against the contract)."""
    entries = [{"id": cid, "status": status, "points": points, "max_points": most,
                "message": message, "details": {}}
               for cid, status, points, most, message in checks]
    auto = round_points(sum(e["points"] for e in entries))
    max_auto = round_points(sum(e["max_points"] for e in entries))
    result = {
        "schema": 1,
        "student": {"id": student_id, "name": name},
        "submission": {"path": path or f"submissions/DLP_LAB1_{student_id}_{name}.py",
                       "sha256": "0" * 64, "submitted_at": "2020-09-01T10:00:00+08:00",
                       "files": ["main.py"]},
        "rubric": {"id": "lab1", "version": "3"},
        "grader": {"version": "0.1.0", "isolation": "rlimits"},
        "graded": graded,
        "error": error,
        "checks": entries,
        "score": {"auto": auto, "manual": manual, "late_factor": late_factor,
                  "total": round_points((auto + (manual or 0.0)) * late_factor),
                  "max": max_auto + 40.0},
        "duration_s": 12.6,
        "sections": [{"id": "experimental_results", "title": "Experimental results",
                      "kind": "auto", "points": auto, "max_points": max_auto},
                     {"id": "report", "title": "Report", "kind": "manual", "points": manual,
                      "max_points": 40.0}],
        "late": {"factor": late_factor,
                 "reason": "on time" if late_factor == 1.0 else f"late; score x {late_factor}"},
        "comment": None,
        "notes": list(notes),
    }
    assert validate_result(result) == []
    return result


def ungraded(student_id: str, name: str) -> dict[str, Any]:
    why = f"DLP_LAB1_{student_id}.py, line 80: expected ':' (in: def backprop(self, y_data)"
    checks = [(cid, "skip", 0.0, most, f"not checked: {why}") for cid, _, _, most, _ in MIXED]
    return make_result(student_id, name, checks, graded=False, error=why)


def hostile() -> dict[str, Any]:
    checks = [("interface", "pass", 4.0, 4.0, HOSTILE_MESSAGE),
              ("forward", "fail", 0.0, 6.0, HOSTILE_MESSAGE),
              ("gradient", "error", 0.0, 10.0, "x" * 1000 + " | <b>bold</b>")]
    return make_result("0856666", HOSTILE_NAME, checks, notes=(HOSTILE_MESSAGE,))


def class_results() -> list[dict[str, Any]]:
    return [make_result("0856017", "王小明"),
            make_result("0856018", "김민준", [(c, "pass", m, m, "ok") for c, _, _, m, _ in MIXED],
                        late_factor=0.8, manual=30.0),
            ungraded("0856105", "Huang"),
            make_result(None, None, path="submissions/unnamed folder/main.py"),
            hostile()]


# --- Gradescope ----------------------------------------------------------------------------------
# From Gradescope's "Autograder Specifications", section "Output format", as published in
# gradescope/autograder_samples docs/specs.md (gradescope-autograders.readthedocs.io/en/latest/
# specs/): every key results.json may hold, and the values its enumerated fields allow.

DOC_TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format",
                "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
                "leaderboard"}
DOC_TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output",
                 "output_format", "tags", "visibility", "extra_data"}
DOC_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}  # "Controlling ..."
DOC_STATUS = {"passed", "failed"}  # "Test case status"
DOC_FORMATS = {"text", "simple_format", "html", "md", "ansi"}  # "Output String Formatting"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def gradescope_problems(data: Any) -> list[str]:
    """Every way ``data`` leaves the documented results.json format."""
    if not isinstance(data, dict):
        return ["not an object"]
    problems = [f"unknown key {k!r}" for k in data if k not in DOC_TOP_KEYS]
    tests = data.get("tests", [])
    if "score" not in data and not (tests and all("score" in t for t in tests)):
        problems.append("no score: neither at the top level nor on every test")
    if "score" in data and not _is_number(data["score"]):
        problems.append(f"score {data['score']!r} is not a number")
    if "execution_time" in data and not (isinstance(data["execution_time"], int)
                                         and not isinstance(data["execution_time"], bool)):
        problems.append("execution_time is not whole seconds")
    for key in ("output_format", "test_output_format", "test_name_format"):
        if key in data and data[key] not in DOC_FORMATS:
            problems.append(f"{key} {data[key]!r} is not a documented format")
    for key in ("visibility", "stdout_visibility"):
        if key in data and data[key] not in DOC_VISIBILITY:
            problems.append(f"{key} {data[key]!r} is not a documented visibility")
    if "output" in data and not isinstance(data["output"], str):
        problems.append("output is not a string")
    if not isinstance(tests, list):
        return problems + ["tests is not a list"]
    for i, test in enumerate(tests):
        problems += [f"tests[{i}]: {p}" for p in _test_problems(test)]
    return problems


def _test_problems(test: Any) -> list[str]:
    if not isinstance(test, dict):
        return ["not an object"]
    problems = [f"unknown key {k!r}" for k in test if k not in DOC_TEST_KEYS]
    problems += [f"{k} is not a number" for k in ("score", "max_score")
                 if k in test and not _is_number(test[k])]
    problems += [f"{k} is not a string" for k in ("name", "number", "output")
                 if k in test and not isinstance(test[k], str)]
    if "status" in test and test["status"] not in DOC_STATUS:
        problems.append(f"status {test['status']!r} is not passed or failed")
    if "visibility" in test and test["visibility"] not in DOC_VISIBILITY:
        problems.append(f"visibility {test['visibility']!r} is not documented")
    for key in ("name_format", "output_format"):
        if key in test and test[key] not in DOC_FORMATS:
            problems.append(f"{key} {test[key]!r} is not a documented format")
    if "tags" in test and not (isinstance(test["tags"], list)
                               and all(isinstance(t, str) for t in test["tags"])):
        problems.append("tags is not a list of strings")
    return problems


def test_the_validator_of_the_documented_format_catches_what_it_should():
    good = gradescope_results(make_result("0856017", "王小明"))
    assert gradescope_problems(good) == []
    bad = json.loads(json.dumps(good))
    bad["tests"][0]["status"] = "error"
    bad["tests"][1]["visibility"] = "students"
    bad["result"] = 1
    assert len(gradescope_problems(bad)) == 3


def test_every_gradescope_file_keeps_the_documented_format(tmp_path):
    for i, result in enumerate(class_results()):
        path = tmp_path / f"results{i}.json"
        write_gradescope(path, result, public_checks={"interface"})
        data = json.loads(path.read_text(encoding="utf-8"))
        assert gradescope_problems(data) == [], result["student"]
        assert len(data["tests"]) == len(result["checks"])
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]), abs=1e-9)
        assert data["output_format"] == "text"  # student text is never rendered as HTML


def test_gradescope_score_is_the_automatic_points_without_late_factor_or_manual():
    result = class_results()[1]  # late (x 0.8) and with 30 manual points
    data = gradescope_results(result)
    assert data["score"] == result["score"]["auto"] == 26.0
    assert result["score"]["total"] != data["score"]
    assert data["execution_time"] == 13
    assert "late; score x 0.8" in data["output"] and "not applied" in data["output"]


def test_gradescope_tests_follow_the_checks_in_order_with_their_statuses():
    data = gradescope_results(make_result("0856017", "王小明"))
    assert [t["name"] for t in data["tests"]] == CHECK_IDS
    assert [t["number"] for t in data["tests"]] == ["1", "2", "3", "4"]
    assert [t["status"] for t in data["tests"]] == ["passed", "failed", "failed", "failed"]
    assert [(t["score"], t["max_score"]) for t in data["tests"]] == [
        (4.0, 4.0), (0.0, 6.0), (3.0, 10.0), (0.0, 6.0)]
    assert data["tests"][1]["output"] == MIXED[1][4]
    assert data["tests"][2]["output"].startswith("error: backprop raised")
    assert data["tests"][3]["output"].startswith("skipped: not checked")
    assert data["score"] == 7.0


def test_gradescope_visibility_follows_the_public_checks():
    result = make_result("0856017", "王小明")
    assert {t["visibility"] for t in gradescope_results(result)["tests"]} == {"visible"}
    shown = gradescope_results(result, public_checks=("interface", "gradient"))
    assert [t["visibility"] for t in shown["tests"]] == [
        "visible", "after_published", "visible", "after_published"]


def test_an_ungraded_result_still_gives_a_valid_gradescope_file(tmp_path):
    result = ungraded("0856105", "Huang")
    write_gradescope(tmp_path / "results.json", result)
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert gradescope_problems(data) == []
    assert data["score"] == 0
    assert data["output"].startswith("Not graded: ") and result["error"] in data["output"]
    assert [t["name"] for t in data["tests"]] == CHECK_IDS
    assert all(t["status"] == "failed" and t["score"] == 0 for t in data["tests"])
    assert all(t["output"].startswith("skipped: not checked: ") for t in data["tests"])


def test_hostile_text_reaches_gradescope_as_clean_text(tmp_path):
    write_gradescope(tmp_path / "results.json", hostile())  # a lone surrogate cannot be UTF-8
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert data["tests"][0]["output"] == xml_safe(HOSTILE_MESSAGE)
    assert "\x1b" not in data["output"] and "\x00" not in data["output"]
    assert "red" in data["tests"][0]["output"]


# --- JUnit XML -----------------------------------------------------------------------------------

def _statuses(results: list[dict[str, Any]]) -> dict[str, int]:
    statuses = [c["status"] for r in results for c in r["checks"]]
    ungraded_count = sum(not r["graded"] for r in results)
    return {"tests": len(statuses) + ungraded_count,
            "failures": statuses.count("fail"),
            "errors": statuses.count("error") + ungraded_count,
            "skipped": statuses.count("skip")}


def test_junit_parses_and_counts_what_the_results_hold(tmp_path):
    results = class_results()
    write_junit(tmp_path / "junit.xml", results)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    expected = _statuses(results)
    assert root.tag == "testsuites"
    assert {k: int(root.get(k)) for k in expected} == expected
    assert len(list(root.iter("testcase"))) == expected["tests"]
    assert len(list(root.iter("failure"))) == expected["failures"]
    assert len(list(root.iter("error"))) == expected["errors"]
    assert len(list(root.iter("skipped"))) == expected["skipped"]
    assert float(root.get("time")) == pytest.approx(12.6 * len(results), abs=0.01)
    suites = root.findall("testsuite")
    assert len(suites) == len(results)
    for suite, result in zip(suites, results):
        assert {k: int(suite.get(k)) for k in expected} == _statuses([result])


def test_junit_names_suites_and_cases_after_students_and_checks():
    results = class_results()
    root = ET.fromstring(junit_xml(results))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites[:4]] == [
        "0856017 王小明", "0856018 김민준", "0856105 Huang", "submissions/unnamed folder/main.py"]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == CHECK_IDS
    assert {c.get("classname") for c in cases} == {"labgrade.lab1.0856017"}
    assert suites[3].find("testcase").get("classname") == "labgrade.lab1.main_py"
    failure = cases[1].find("failure")
    assert failure.get("message") == MIXED[1][4]
    assert failure.text == f"{MIXED[1][4]}\n0/6 points (fail)"
    assert cases[2].find("error").text.endswith("3/10 points (error)")
    assert cases[3].find("skipped").get("message") == MIXED[3][4]
    assert cases[0].find("failure") is None and cases[0].find("error") is None


def test_an_ungraded_submission_is_a_graded_testcase_in_error():
    result = ungraded("0856105", "Huang")
    suite = ET.fromstring(junit_xml([result])).find("testsuite")
    first = suite.find("testcase")
    assert first.get("name") == "graded"
    assert first.find("error").get("message") == result["error"]
    assert result["error"] in first.find("error").text


def test_hostile_text_round_trips_through_the_xml_parser_as_text(tmp_path):
    write_junit(tmp_path / "junit.xml", [hostile()])
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("name") == f"0856666 {HOSTILE_NAME}"
    cleaned = "\ufffdnul red \ufffdbell \ufffd lone\nsecond line | ]]> " \
              "</failure><script>alert(1)</script>"
    assert xml_safe(HOSTILE_MESSAGE) == cleaned
    failure = suite.findall("testcase")[1].find("failure")
    assert failure.get("message") == cleaned
    assert failure.text.startswith(cleaned)
    assert len(list(suite.iter("failure"))) == 1  # the message's "</failure>" stayed text


def test_xml_safe_keeps_all_that_xml_can_hold():
    kept = "tab\tline\nCJK 王小明 김민준 emoji 🎉 private \ue000 quotes \"' <&>"
    assert xml_safe(kept) == kept
    assert xml_safe("a\x0bb\x0cc\x1fd\ufffee\uffff") == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffd"
    assert xml_safe(None) == "" and xml_safe(3.5) == "3.5"


# --- Markdown ------------------------------------------------------------------------------------

def cells(row: str) -> list[str]:
    """The cells of one table row, split at the pipes that are not escaped."""
    parts, current, i = [], "", 0
    while i < len(row):
        if row[i] == "\\" and i + 1 < len(row):
            current, i = current + row[i:i + 2], i + 2
            continue
        if row[i] == "|":
            parts.append(current)
            current = ""
        else:
            current += row[i]
        i += 1
    parts.append(current)
    return [p.strip() for p in parts[1:-1]]


def table_rows(markdown: str, header: str) -> list[list[str]]:
    """The body rows of the table whose first header cell is ``header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    width = len(cells(lines[start]))
    assert cells(lines[start + 1]) == ["---"] * width
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(cells(line))
        assert len(rows[-1]) == width, line
    return rows


def shown(cell: str) -> str:
    """The text GitHub shows for a cell: backslash escapes, then entities."""
    return html.unescape(re.sub(r"\\(.)", r"\1", cell))


def test_one_result_gives_its_heading_and_a_row_per_check(tmp_path):
    result = make_result("0856017", "王小明")
    write_markdown(tmp_path / "summary.md", [result])
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert text.startswith("## 0856017 王小明: 7/66\n")
    rows = table_rows(text, "check")
    assert [shown(r[0]) for r in rows] == CHECK_IDS
    assert [r[1] for r in rows] == ["✅ pass", "❌ fail", "⚠️ error", "⏭️ skip"]
    assert [r[1].split()[-1] for r in rows] == ["pass", "fail", "error", "skip"]
    assert [r[2] for r in rows] == ["4/4", "0/6", "3/10", "0/6"]
    assert shown(rows[2][3]) == MIXED[2][4]
    assert "Manual sections pending: Report." in text


def test_an_ungraded_result_says_why_in_markdown():
    result = ungraded("0856105", "Huang")
    text = markdown_summary([result], title="Lab 1")
    assert text.startswith("# Lab 1\n\n## 0856105 Huang: 0/66\n")
    assert "**Not graded**: " in text
    assert shown(text.split("**Not graded**: ")[1].split(". Manual")[0]) == result["error"]
    assert [r[1] for r in table_rows(text, "check")] == ["⏭️ skip"] * 4


def test_several_results_give_the_class_table_and_the_counts():
    results = class_results()
    text = markdown_summary(results)
    rows = table_rows(text, "id")
    assert len(rows) == len(results)
    assert [shown(r[1]) for r in rows[:2]] == ["王小明", "김민준"]
    assert rows[0][2:5] == ["7", "7/66", "✅ graded"]
    assert shown(rows[0][5]) == "forward (fail), gradient (error), train_linear (skip)"
    assert rows[1][3] == "44.8/66" and rows[1][5] == ""
    assert rows[2][4].startswith("⚠️ not graded: ") and rows[2][5] == "none checked"
    assert shown(rows[3][0]) == "submissions/unnamed folder/main.py"
    assert "**4 graded, 1 not graded.**" in text
    rates = {shown(r[0]): r for r in table_rows(text, "check")}
    assert list(rates) == CHECK_IDS
    # interface: passed by 0856017, 김민준, the unnamed one and the hostile one; Huang skipped
    assert rates["interface"][1:] == ["4", "0", "0", "1", "4/5 (80%)"]
    assert rates["train_linear"][1:] == ["1", "0", "0", "3", "1/4 (25%)"]


def test_hostile_text_stays_text_in_markdown():
    for text in (markdown_summary([hostile()]), markdown_summary(class_results())):
        assert "<" not in text and ">" not in text
        assert "](" not in text.replace("\\](", "")
        assert "\x00" not in text and "\x1b" not in text and "\ud800" not in text
    single = markdown_summary([hostile()])
    assert shown(single.splitlines()[0][len("## "):]) == f"0856666 {HOSTILE_NAME}: 4/60"
    rows = table_rows(single, "check")
    assert len(rows) == 3
    message = " ".join(xml_safe(HOSTILE_MESSAGE).split())
    assert shown(rows[0][3]) == message  # newlines inside a cell became spaces
    assert shown(rows[2][3]) == "x" * (LIMIT - 1) + "…"
    name = table_rows(markdown_summary(class_results()), "id")[4][1]
    assert shown(name) == HOSTILE_NAME


# --- end to end ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_sample_graded_for_real_goes_through_the_three_exports(tmp_path):
    from grader.batch import grade_one
    from grader.discover import discover
    from grader.rubric import load_rubric
    from grader.settings import SandboxSettings

    rubric = load_rubric("lab1")
    subs = discover(ROOT / "submissions" / "lab1" / "DLP_LAB1_0856001_Chen.py", workdir=tmp_path / "work",
                    layout="single", **rubric.discovery_names())
    result, _ = grade_one(subs[0], rubric, seed=rubric.seeds.public, sandbox=SandboxSettings(),
                          self_check=True)
    assert validate_result(result) == [] and result["graded"]
    public = set(rubric.public_check_ids)
    assert [c["id"] for c in result["checks"]] == list(rubric.check_ids)
    assert all(c["status"] == "skip" for c in result["checks"] if c["id"] not in public)

    write_gradescope(tmp_path / "results.json", result, public_checks=public)
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert gradescope_problems(data) == []
    assert data["score"] == pytest.approx(result["score"]["auto"], abs=0.011)
    assert [t["name"] for t in data["tests"]] == list(rubric.check_ids)
    assert {t["name"] for t in data["tests"] if t["visibility"] == "visible"} == public

    write_junit(tmp_path / "junit.xml", [result])
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert {k: int(root.get(k)) for k in ("tests", "failures", "errors", "skipped")} \
        == _statuses([result])
    assert root.find("testsuite").get("name") == "0856001 Chen"

    write_markdown(tmp_path / "summary.md", [result])
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    rows = table_rows(text, "check")
    assert [shown(r[0]) for r in rows] == [c["id"] for c in result["checks"]]
