"""Grading on a Dask cluster: a ``distributed.LocalCluster`` of two worker processes, started
here, and ``labgrade grade --executor dask --scheduler <its address>`` run as a TA runs it.

Each submission's files travel with its task; the results, written by the client, are those of
the same batch graded on this machine (but for timings), and so are the gradebook and the
reports.  A scheduler that cannot be reached is said in one sentence.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_batch_parallel import differences, without_timings
from tests_support import ROOT

distributed = pytest.importorskip("distributed")

NOTEBOOKS = ["solution_and-or.ipynb", "DLP_HW1_0857001_Chen.ipynb",
             "DLP_HW1_0857003_Tsai.ipynb", "DLP_HW1_0857005_Hsu.ipynb"]


def grade(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "grade", str(folder), "--rubric",
                           "and-or", "--out", str(out), "--format", "json,csv", *extra],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as local:
        yield local


@pytest.mark.slow
def test_a_batch_graded_on_a_cluster_gets_the_results_of_one_machine(tmp_path, cluster):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "submissions" / "and-or" / name, folder / name)
    here = grade(folder, tmp_path / "here", "--jobs", "2")
    assert here.returncode == 0, here.stderr
    there = grade(folder, tmp_path / "there", "--executor", "dask", "--scheduler",
                  cluster.scheduler_address)
    assert there.returncode == 0, there.stdout + there.stderr
    assert f"on the Dask cluster at {cluster.scheduler_address}" in there.stdout
    expected = {p.parent.name: without_timings(json.loads(p.read_text()))
                for p in (tmp_path / "here").glob("*/result.json")}
    found = {p.parent.name: without_timings(json.loads(p.read_text()))
             for p in (tmp_path / "there").glob("*/result.json")}
    assert sorted(found) == sorted(expected) and len(found) == len(NOTEBOOKS)
    for key in expected:
        assert found[key] == expected[key], differences(expected[key], found[key])
    assert (tmp_path / "there" / "grades.csv").read_text(encoding="utf-8-sig") == \
        (tmp_path / "here" / "grades.csv").read_text(encoding="utf-8-sig")
    # the submissions were tasks of the cluster, not graded in the client
    assert "labgrade" in cluster.scheduler.task_prefixes


def test_a_scheduler_that_cannot_be_reached_is_said_in_one_sentence(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(ROOT / "submissions" / "and-or" / NOTEBOOKS[0], folder)
    done = grade(folder, tmp_path / "out", "--executor", "dask", "--scheduler",
                 "tcp://127.0.0.1:9", "--scheduler-timeout", "2")
    assert done.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr
    wrong = grade(folder, tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9")
    assert wrong.returncode == 2 and "--scheduler needs --executor dask" in wrong.stderr
