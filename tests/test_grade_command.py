"""``labgrade grade`` and ``labgrade check`` end to end: real processes, real files.

The batch: a correct template script, the sign-error script and the syntax-error script.
Asserted: every ``result.json`` meets the contract, ``grades.csv`` has a row per student, a
second run reuses what the first wrote, manual scores are merged and their problems reported,
and the self-check's exit code says whether the public checks passed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.results import validate_result

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "submissions" / "lab1"
BATCH = ["DLP_LAB1_0856001_Chen.py", "DLP_LAB1_0856042_Lin.py", "DLP_LAB1_0856105_Huang.py"]


def labgrade(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    for name in BATCH:
        shutil.copy(SAMPLES / name, folder / name)
    out = tmp_path_factory.mktemp("grade-out")  # its own: the session folder is shared
    proc = labgrade("grade", str(folder), "--out", str(out),
                    "--rubric", str(quick_program(folder.parent)))
    return folder, out, proc


PROGRAM_BUDGET = 15
"""The program check's budget in these tests: the sign-error script never ends, and the shipped
60 s would only make the batch slower (the correct script's program takes about 3 s)."""


def quick_program(folder: Path) -> Path:
    """The shipped rubric with the program check's budget cut to :data:`PROGRAM_BUDGET`."""
    text = (ROOT / "rubrics" / "lab1.toml").read_text(encoding="utf-8")
    head, program = text.split("[checks.program]\n", 1)
    program = program.replace("time_budget_s = 60\n", f"time_budget_s = {PROGRAM_BUDGET}\n", 1)
    path = folder / "lab1_quick_program.toml"
    path.write_text(head + "[checks.program]\n" + program, encoding="utf-8")
    return path


def results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}


@pytest.mark.slow
def test_grade_writes_a_valid_result_per_student_and_the_gradebook(graded):
    folder, out, proc = graded
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    found = results(out)
    assert sorted(found) == ["0856001", "0856042", "0856105"]
    for key, result in found.items():
        assert validate_result(result) == [], key
    chen, lin, huang = found["0856001"], found["0856042"], found["0856105"]
    status = {c["id"]: c["status"] for c in chen["checks"]}
    assert status == {"interface": "pass", "forward": "pass", "gradient": "pass",
                      "train_linear": "pass", "train_xor": "pass", "numpy_only": "pass",
                      "program": "pass"}
    assert chen["score"]["auto"] == 40 and chen["score"]["manual"] is None
    assert chen["grader"]["isolation"] in ("namespaces", "rlimits")
    assert (out / "0856001" / "figures" / "program_1.png").read_bytes()[:4] == b"\x89PNG"
    gradient = next(c for c in lin["checks"] if c["id"] == "gradient")
    assert gradient["status"] == "fail" and "wrong sign" in gradient["message"]
    samples = [v for k, v in gradient["details"].items() if k.startswith("sample ")]
    assert len(samples) == 3 and all(s["scale"] < 0 for s in samples)
    program = next(c for c in lin["checks"] if c["id"] == "program")
    assert program["status"] == "error"
    assert f"did not finish in {PROGRAM_BUDGET} s" in program["message"], program["message"]
    assert huang["graded"] is False and "line 80" in huang["error"]
    assert all(c["status"] == "skip" for c in huang["checks"])
    with (out / "grades.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["0856001", "0856042", "0856105"]
    assert float(rows[0]["auto"]) == 40.0


@pytest.mark.slow
def test_a_second_run_reuses_results_and_merges_manual_scores(graded, tmp_path):
    folder, out, _ = graded
    manual = tmp_path / "manual.csv"
    manual.write_text("id,report,questions,comment\n0856001,35,18,clear report\n"
                      "0856042,50,10,\n9999999,30,10,not in this class\n", encoding="utf-8")
    before = {k: v["duration_s"] for k, v in results(out).items()}
    proc = labgrade("grade", str(folder), "--out", str(out), "--manual", str(manual),
                    "--rubric", str(quick_program(folder.parent)))
    assert proc.returncode == 0, proc.stderr
    assert "3 unchanged, reused" in proc.stdout
    after = results(out)
    assert {k: v["duration_s"] for k, v in after.items()} == before
    chen = after["0856001"]["score"]
    # a copied file's time is its modification time, after the 2020 deadline: late
    assert chen["manual"] == 53 and chen["late_factor"] == 0.8
    assert chen["total"] == pytest.approx(round((40 + 53) * 0.8, 2))
    problems = (out / "problems.txt").read_text()
    assert "9999999" in problems and "50" in problems
    assert "9999999" in proc.stderr


def test_force_grades_again_what_a_rerun_would_reuse(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(SAMPLES / "DLP_LAB1_0856105_Huang.py", folder)  # does not parse: fast
    out = tmp_path / "out"
    first = labgrade("grade", str(folder), "--out", str(out), "--format", "json")
    assert first.returncode == 0, first.stderr
    result = out / "0856105" / "result.json"
    written = result.stat().st_mtime_ns
    again = labgrade("grade", str(folder), "--out", str(out), "--format", "json")
    assert "1 unchanged, reused" in again.stdout and result.stat().st_mtime_ns == written
    forced = labgrade("grade", str(folder), "--out", str(out), "--format", "json", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "reused" not in forced.stdout and result.stat().st_mtime_ns != written
    assert json.loads(result.read_text())["graded"] is False


def test_the_self_check_says_where_to_look_in_plain_text_when_piped(tmp_path):
    yu = SAMPLES / "DLP_LAB1_0856203_Yu.py"
    piped = labgrade("check", str(yu))
    assert piped.returncode == 1
    assert "\x1b[" not in piped.stdout  # no colour, no escape codes in a log
    lines = piped.stdout.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith("  ERROR gradient"))
    assert lines[error + 1].split("where to look: ")[1] == \
        "your code stopped at DLP_LAB1_0856203_Yu.py, line 77: " \
        "`self.weights[i] -= lr * self.grads[i].T`"
    assert len(lines[error]) > 120 and "line 77" in lines[error]  # not wrapped at 80 columns
    # where namespaces are not allowed (a CI runner), the summary says how the code ran
    limited = labgrade("check", str(yu), "--isolation", "rlimits")
    assert "isolation rlimits (requested)" in limited.stdout.splitlines()[0]
    assert "your code runs under resource limits only here" in limited.stdout
    if "isolation namespaces" in piped.stdout.splitlines()[0]:
        assert "resource limits only" not in piped.stdout
    coloured = subprocess.run([sys.executable, "-m", "grader", "check", str(yu)],
                              capture_output=True, text=True, timeout=300, cwd=ROOT,
                              env={**os.environ, "FORCE_COLOR": "1", "TERM": "xterm"})
    assert "\x1b[" in coloured.stdout and "ERROR" in coloured.stdout


def test_check_exit_code_says_whether_the_public_checks_pass(tmp_path):
    good = labgrade("check", str(SAMPLES / "DLP_LAB1_0856001_Chen.py"))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "PASS  gradient" in good.stdout and "34/34 points from the public checks" in good.stdout
    bad = labgrade("check", str(SAMPLES / "DLP_LAB1_0856105_Huang.py"), "--json")
    assert bad.returncode == 1
    result = json.loads(bad.stdout)
    assert result["graded"] is False and validate_result(result) == []


def test_grade_refuses_a_bad_rubric_with_a_clear_message(tmp_path):
    rubric = tmp_path / "broken.toml"
    rubric.write_text((ROOT / "rubrics" / "lab1.toml").read_text().replace(
        "points = 10\n", "points = 'ten'\n", 1))
    proc = labgrade("grade", str(SAMPLES / "DLP_LAB1_0856001_Chen.py"), "--rubric", str(rubric),
                    "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "checks.gradient.points" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_the_same_submission_graded_twice_gets_the_same_result(tmp_path):
    from grader.batch import grade_one
    from grader.discover import discover
    from grader.rubric import load_rubric
    from grader.settings import SandboxSettings

    rubric = load_rubric("lab1")
    [sub] = discover(SAMPLES / "DLP_LAB1_0856017_王小明.ipynb", workdir=tmp_path)
    runs = [grade_one(sub, rubric, seed=3, sandbox=SandboxSettings(), self_check=True)[0]
            for _ in range(2)]
    for run in runs:  # only wall-clock timings may differ
        run.pop("duration_s")
        for check in run["checks"]:
            for attempt in check["details"].get("attempts", []):
                attempt.pop("seconds")
    assert runs[0] == runs[1]
