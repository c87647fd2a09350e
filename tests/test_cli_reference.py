"""``labgrade reference lab1`` end to end, as a TA runs it: a real process, real PNG files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def labgrade(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.mark.slow
def test_reference_lab1_prints_perfect_accuracy_and_writes_four_figures(tmp_path):
    out = tmp_path / "demo"
    proc = labgrade("reference", "lab1", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.findall(r"^accuracy: (\S+)", proc.stdout, re.M) == ["1.0", "1.0"]
    assert re.search(r"^epoch 5000 loss: \d", proc.stdout, re.M), "loss printed during training"
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["lab1_linear_learning_curve.png", "lab1_linear_result.png",
                    "lab1_xor_learning_curve.png", "lab1_xor_result.png"]
    for png in out.glob("*.png"):
        import matplotlib.image

        image = matplotlib.image.imread(png)
        assert image.shape[0] > 300 and image.shape[1] > 400
        assert image.std() > 0.01, f"{png.name} is blank"
    assert proc.stderr == ""


def test_out_that_is_a_file_is_a_one_line_error(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    proc = labgrade("reference", "lab1", "--out", str(target), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"labgrade: error: --out {target} exists and is not a folder"
    assert "Traceback" not in proc.stderr


def test_version_and_help(tmp_path):
    proc = labgrade("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("labgrade ")
    proc = labgrade("--help", cwd=tmp_path)
    assert proc.returncode == 0 and "reference" in proc.stdout
    proc = labgrade("reference", "lab9", cwd=tmp_path)
    assert proc.returncode == 2 and "invalid choice: 'lab9'" in proc.stderr
