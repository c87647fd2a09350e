"""``labgrade grade --jobs N``: several submissions at once, with real sandboxes and real samples.

Asserted: grading with two jobs gives the same results, in the same order, and the same
gradebook as grading one after the other; a run whose output goes to a pipe prints one plain
line per submission and no escape codes, while on a terminal it draws a progress bar; a grader
failure on one submission costs that submission only, and the next run tries it again; Ctrl-C
stops the batch at once and keeps what was finished.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import grader.batch
from grader.batch import RESUME_FILE, BatchProgress, grade_batch
from grader.results import validate_result
from grader.rubric import Rubric, load_rubric
from grader.sandbox.runner import MARKER_VARIABLE
from grader.settings import SandboxSettings
from tests_support import ROOT, SAMPLES

CHEN = "DLP_LAB1_0856001_Chen.py"  # correct, template style
HSU = "DLP_LAB1_0856037_Hsu.py"  # correct, update() without a rate, one sample at a time
WANG = "DLP_LAB1_0856017_王小明.ipynb"  # correct notebook, non-ASCII name
HUANG = "DLP_LAB1_0856105_Huang.py"  # syntax error: not graded
LIN = "DLP_LAB1_0856042_Lin.py"  # sign error; its program never ends
FAST = [CHEN, HSU, WANG, HUANG]
"""Samples whose self-check takes a few seconds each."""

TIMING_KEYS = {"duration_s", "seconds"}
"""Wall-clock measurements: the only parts of a result that may differ between two runs."""
ANSI = re.compile(r"\x1b\[")
LINE = re.compile(r"^\[(\d+)/(\d+)\] (.+?): (.+)$")


def without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two results differ, one entry per differing value (a readable failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r:.300} != {b!r:.300}"]


def class_folder(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "class"
    folder.mkdir()
    for name in names:
        shutil.copy(SAMPLES / name, folder / name)
    return folder


@functools.cache
def lab1() -> Rubric:
    """One rubric for every run of this module, so that the runs compared grade alike."""
    return load_rubric("lab1")


def self_check_batch(folder: Path, out: Path, jobs: int, events: list[BatchProgress] | None = None):
    rubric = lab1()
    return grade_batch([folder], rubric, out, seed=rubric.seeds.public, sandbox=SandboxSettings(),
                       self_check=True, jobs=jobs, progress=events.append if events is not None
                       else None)


def labgrade(*args: str, **kwargs: Any) -> subprocess.Popen:
    """The command itself, as a TA runs it; Ctrl-C works even where the test runner's shell
    started it with SIGINT ignored."""
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from grader.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, text=True, **kwargs)


def most_at_once(events: list[BatchProgress]) -> int:
    running = most = 0
    for event in events:
        running += 1 if event.result is None else -(not event.reused)
        most = max(most, running)
    return most


@pytest.mark.slow
def test_two_jobs_give_the_same_results_in_the_same_order_as_one(tmp_path):
    folder = class_folder(tmp_path, FAST)
    events: dict[int, list[BatchProgress]] = {1: [], 2: []}
    outcomes = {jobs: self_check_batch(folder, tmp_path / f"out{jobs}", jobs, events[jobs])
                for jobs in (1, 2)}

    one, two = outcomes[1], outcomes[2]
    assert [f.name for f in one.folders] == [f.name for f in two.folders] \
        == ["0856001", "0856017", "0856037", "0856105"]  # discovery order: by file name
    assert [r["student"]["id"] for r in two.results] == [f.name for f in two.folders]
    for f1, f2, r1, r2 in zip(one.folders, two.folders, one.results, two.results, strict=True):
        written = [json.loads((f / "result.json").read_text()) for f in (f1, f2)]
        assert written == [r1, r2]
        assert validate_result(r2) == [], f2.name
        assert differences(without_timings(r1), without_timings(r2), f2.name) == []
        assert (f2 / RESUME_FILE).is_file()
    assert (tmp_path / "out1" / "grades.csv").read_bytes() \
        == (tmp_path / "out2" / "grades.csv").read_bytes()
    assert [r["graded"] for r in two.results] == [True, True, True, False]

    # two really ran at once, never more; every submission started once and finished once
    assert most_at_once(events[1]) == 1 and most_at_once(events[2]) == 2
    for jobs in (1, 2):
        finished = [e for e in events[jobs] if e.result is not None]
        assert [e.done for e in finished] == [1, 2, 3, 4]
        assert sorted(e.submission.key for e in finished) == sorted(f.name for f in one.folders)


@pytest.mark.slow
def test_a_pipe_gets_one_plain_line_per_submission_and_a_terminal_a_progress_bar(tmp_path):
    folder = class_folder(tmp_path, [CHEN, HSU, HUANG])
    out = tmp_path / "out"
    proc = labgrade("grade", str(folder), "--out", str(out), "--jobs", "2",
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    assert not ANSI.search(stdout) and not ANSI.search(stderr)
    lines = stdout.splitlines()
    progress = [LINE.match(line) for line in lines if LINE.match(line)]
    assert len(progress) == 3 and len(lines) == 3 + 3  # the header, then the summary
    # the counts a TA reads first, as the results say (Huang's file does not parse)
    written = [json.loads(p.read_text()) for p in out.glob("*/result.json")]
    failed = sum(r["graded"] and any(c["status"] in ("fail", "error") for c in r["checks"])
                 for r in written)
    assert lines[-1] == f"{2 - failed} with every check passed, {failed} with failed " \
                        "checks, 1 not graded"
    assert [int(m[1]) for m in progress] == [1, 2, 3] and {m[2] for m in progress} == {"3"}
    said = {m[3]: m[4] for m in progress}
    assert said["0856001 Chen"] == "40/40 auto"
    assert re.fullmatch(r"\d+/40 auto.*", said["0856037 Hsu"])
    assert said["0856105 Huang"].startswith("not graded: ") and "line 80" in said["0856105 Huang"]
    with (out / "grades.csv").open(encoding="utf-8-sig") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == ["0856001", "0856037", "0856105"]

    # on a terminal: the same lines, above a live progress bar (everything reused this time)
    leader, follower = pty.openpty()
    shown: list[bytes] = []
    reader = threading.Thread(target=drain, args=(leader, shown), daemon=True)
    reader.start()
    proc = labgrade("grade", str(folder), "--out", str(out), "--jobs", "2", stdout=follower,
                    stderr=subprocess.PIPE, env={**os.environ, "TERM": "xterm", "COLUMNS": "120"})
    os.close(follower)
    _, stderr = proc.communicate(timeout=120)
    reader.join(timeout=10)
    screen = b"".join(shown).decode("utf-8", errors="replace")
    assert proc.returncode == 0, stderr
    assert ANSI.search(screen) and "elapsed" in screen and "3 unchanged, reused" in screen
    assert f"{failed + 1} need work" in screen  # beside the bar, Huang's included
    for who in ("[1/3] 0856001 Chen: 40/40 auto", "0856037 Hsu: ", "0856105 Huang: not graded"):
        assert who in screen


def drain(fd: int, into: list[bytes]) -> None:
    """Read a pseudo-terminal until its last writer is gone (so the writer never blocks)."""
    try:
        while chunk := os.read(fd, 65536):
            into.append(chunk)
    except OSError:  # EIO: the command has exited
        pass
    finally:
        os.close(fd)


def test_a_grader_failure_on_one_submission_costs_only_that_one(tmp_path, monkeypatch):
    folder = class_folder(tmp_path, [CHEN, HSU, HUANG])
    real_grade_one = grader.batch.grade_one

    def grade_one_failing_on_hsu(sub, *args, **kwargs):
        if sub.student_id == "0856037":
            raise RuntimeError("simulated grader bug")
        return real_grade_one(sub, *args, **kwargs)

    monkeypatch.setattr(grader.batch, "grade_one", grade_one_failing_on_hsu)
    out = tmp_path / "out"
    outcome = self_check_batch(folder, out, jobs=2)

    chen, hsu, huang = outcome.results
    assert chen["graded"] and chen["score"]["auto"] == 34
    assert not huang["graded"] and "line 80" in huang["error"]
    assert validate_result(hsu) == [] and hsu["graded"] is False
    assert "the grader failed" in hsu["error"] and "RuntimeError: simulated grader bug" \
        in hsu["error"] and "not your fault" in hsu["error"]
    assert all(c["status"] == "skip" and c["points"] == 0 for c in hsu["checks"])
    assert json.loads((out / "0856037" / "result.json").read_text()) == hsu
    [failure] = outcome.grader_failures
    assert failure.startswith("0856037: Traceback") and "simulated grader bug" in failure
    with (out / "grades.csv").open(encoding="utf-8-sig") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == ["0856001", "0856037", "0856105"]

    # the failure is not kept as a result to reuse: once the grader works, it is graded
    assert not (out / "0856037" / RESUME_FILE).exists()
    monkeypatch.setattr(grader.batch, "grade_one", real_grade_one)
    again = self_check_batch(folder, out, jobs=2)
    assert again.reused == 2 and again.grader_failures == []
    assert again.results[1]["graded"] and again.results[1]["error"] is None
    assert (out / "0856037" / RESUME_FILE).is_file()


def test_ctrl_c_stops_the_batch_at_once_and_keeps_what_was_finished(tmp_path):
    # in this order: the syntax error is done in a moment; Chen's grading takes several
    # seconds more, and Lin's program runs until its 60 s budget is over
    folder = class_folder(tmp_path, [CHEN, LIN])
    shutil.copy(SAMPLES / HUANG, folder / "DLP_LAB1_0856000_Huang.py")
    out = tmp_path / "out"
    proc = labgrade("grade", str(folder), "--out", str(out), "--jobs", "2",
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    first = ""
    while not LINE.match(first):
        first = proc.stdout.readline()
        assert first, proc.communicate()[1]
    assert "0856000 Huang: not graded" in first
    time.sleep(1)  # Lin's sandbox is running now, beside Chen's
    assert sandboxes_of(proc.pid)
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - interrupted < 10  # without stopping the sandboxes: 15 s or more
    assert proc.returncode == 130 and "labgrade: interrupted" in stderr
    assert "Traceback" not in stderr and "submission(s)" not in stdout
    assert sandboxes_of(proc.pid) == []  # none left running
    assert (out / "0856000" / RESUME_FILE).is_file()  # the finished one is kept...
    assert not (out / "0856042" / "result.json").exists()  # ...the stopped one is not written
    for result in out.glob("*/result.json"):  # and nothing is half written
        assert (result.parent / RESUME_FILE).is_file()


def sandboxes_of(grader_pid: int) -> list[int]:
    """Processes of the sandboxes a grader process started (each carries the sandbox's marker
    in its environment, which names the grader's pid), whether or not the grader is alive."""
    needle = f"{MARKER_VARIABLE}={grader_pid}-".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and any(v.startswith(needle) for v in
                                            (entry / "environ").read_bytes().split(b"\0")):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_a_batch_killed_at_any_moment_and_started_again_gives_the_results_of_a_clean_run(
        tmp_path):
    """SIGKILL to the whole process group (the grader and its sandboxes) mid-batch, at two
    moments (while the first submissions are graded, and once some results are written), then
    the same command again: every result, the gradebook and the files written are those of a run
    that was never stopped, and nothing half-written is left."""
    folder = tmp_path / "class"
    shutil.copytree(ROOT / "submissions" / "and-or", folder,
                    ignore=shutil.ignore_patterns("*.md"))
    command = [sys.executable, "-m", "grader", "grade", str(folder), "--rubric", "and-or",
               "--jobs", "2", "--format", "json,csv"]
    clean = tmp_path / "clean"
    done = subprocess.run([*command, "--out", str(clean)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    killed = tmp_path / "killed"
    for written in (0, 3):  # results on disk when the kill comes
        proc = subprocess.Popen([*command, "--out", str(killed)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + 300
        while len(list(killed.glob("*/result.json"))) < written + 1 and \
                proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    resumed = subprocess.run([*command, "--out", str(killed)], capture_output=True,
                             text=True, timeout=600, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr
    expected = {p.parent.name: without_timings(json.loads(p.read_text()))
                for p in clean.glob("*/result.json")}
    found = {p.parent.name: without_timings(json.loads(p.read_text()))
             for p in killed.glob("*/result.json")}
    assert sorted(found) == sorted(expected) and len(found) == 8
    for key in expected:
        assert found[key] == expected[key], differences(expected[key], found[key])
    assert (killed / "grades.csv").read_text(encoding="utf-8-sig") == \
        (clean / "grades.csv").read_text(encoding="utf-8-sig")
    assert sorted(p.relative_to(killed).as_posix() for p in killed.rglob("*")) == \
        sorted(p.relative_to(clean).as_posix() for p in clean.rglob("*"))
    assert not list(killed.rglob("*.tmp"))

