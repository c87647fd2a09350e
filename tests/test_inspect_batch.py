"""``labgrade inspect`` end to end on a class batch mixing good, broken and hostile submissions.

A real ``labgrade`` process, real zips and notebooks; asserted: each submission's record, the
bounded total time, and that the good submissions come out exactly as when they are alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "submissions" / "lab1"
CHEN = SAMPLES / "DLP_LAB1_0856001_Chen.py"

CLASS = textwrap.dedent("""
    import numpy as np

    class NN:
        def __init__(self, dim):
            self.weights = [np.zeros((a, b)) for a, b in zip(dim, dim[1:])]
        def predict(self, X):
            return X
        def backprop(self, y):
            pass
        def update(self, lr):
            pass
""")


def inspect(*args: str, timeout: float = 240) -> tuple[list[dict], subprocess.CompletedProcess]:
    proc = subprocess.run([sys.executable, "-m", "grader", "inspect", "--json", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return records, proc


def notebook(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, str(path))


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["student"]["id"]: r for r in records}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    shutil.copy(CHEN, folder / CHEN.name)
    # module-level training that never ends, around a correct class
    (folder / "DLP_LAB1_0900001_Endless.py").write_text(CLASS + textwrap.dedent("""
        nn = NN([2, 3, 3, 1])
        while True:
            nn.update(0.1)
    """))
    # a notebook whose third cell never ends; %matplotlib inline and a shell escape too
    notebook(folder / "DLP_LAB1_0900002_Cells.ipynb", [
        "%matplotlib inline\nimport numpy as np",
        "!pip install numpy\nX = np.zeros((2, 2))",
        # a class body runs even in definitions mode; this one also defeats the cell timer
        "import signal\nclass Spin:\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "    while True:\n        pass",
        CLASS,
        "def after():\n    return 1",
    ])
    # a truncated notebook
    good = folder / "tmp.ipynb"
    notebook(good, [CLASS])
    text = good.read_text()
    good.unlink()
    (folder / "DLP_LAB1_0900003_Truncated.ipynb").write_text(text[: len(text) // 2])
    # hostile class bodies: they run while the definitions load
    (folder / "DLP_LAB1_0900004_Exit.py").write_text("import os\nclass NN:\n    os._exit(3)\n")
    (folder / "DLP_LAB1_0900005_Crash.py").write_text(
        "import ctypes\nclass NN:\n    ctypes.string_at(0)\n")
    # a two-file zip with a relative import, and report.pdf
    with zipfile.ZipFile(folder / "DLP_LAB1_0900006_Pkg.zip", "w") as z:
        z.writestr("lab1/main.py", "from .activations import sigmoid\n" + CLASS
                   + "\nACT = sigmoid\n")
        z.writestr("lab1/activations.py", "def sigmoid(x):\n    return x\n")
        z.writestr("report.pdf", b"%PDF-1.4\n%%EOF\n")
    # a zip slip, a symlink entry and a zip bomb
    with zipfile.ZipFile(folder / "DLP_LAB1_0900007_Slip.zip", "w") as z:
        z.writestr("../../escaped.py", "print('owned')\n")
    with zipfile.ZipFile(folder / "DLP_LAB1_0900008_Link.zip", "w") as z:
        info = zipfile.ZipInfo("lab1.py")
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "/etc/passwd")
    with zipfile.ZipFile(folder / "DLP_LAB1_0900009_Bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("lab1.py", b"#" * (300 * 1024 * 1024))
    shutil.copy(SAMPLES / "DLP_LAB1_0856105_Huang.py", folder / "DLP_LAB1_0856105_Huang.py")
    return folder


@pytest.mark.slow
def test_a_hostile_batch_is_inspected_completely_and_the_good_submission_is_unaffected(batch):
    start = time.monotonic()
    records, proc = inspect(str(batch), "--step-timeout", "4", "--cell-timeout", "2")
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 120
    got = by_id(records)
    assert sorted(got) == ["0856001", "0856105"] + [f"090000{i}" for i in range(1, 10)]
    for record in records:
        assert record["isolation"] in (None, "namespaces", "rlimits (namespaces need the grader"
                                       " to run as root)") or record["isolation"].startswith(
                                           ("namespaces", "rlimits"))

    alone, _ = inspect(str(CHEN))
    chen = got["0856001"]
    for key in ("classes", "functions", "errors", "main", "mode", "sha256"):
        assert chen[key] == alone[0][key], key
    assert chen["classes"]["NN"] == ["__init__", "backprop", "predict", "update"]

    endless = got["0900001"]
    assert endless["mode"] == "definitions" and "NN" in endless["classes"]
    assert endless["errors"] == []

    cells = got["0900002"]
    assert "NN" in cells["classes"] and "after" in cells["functions"]
    assert any(e.startswith("cell 3: did not finish within") for e in cells["errors"])
    assert [c["status"] for c in cells["cells"]][2] == "timeout"

    assert any("cannot be read" in e for e in got["0900003"]["errors"])
    assert any("exit code 3" in e for e in got["0900004"]["errors"])
    assert any("segmentation fault" in e for e in got["0900005"]["errors"])

    pkg = got["0900006"]
    assert pkg["main"] == "lab1/main.py" and pkg["has_report_pdf"]
    assert "NN" in pkg["classes"] and pkg["errors"] == [], pkg["errors"]

    for key in ("0900007", "0900008", "0900009"):
        assert got[key]["errors"] and got[key]["classes"] == {}, key
        assert got[key]["mode"] is None  # nothing of a refused archive ran
    assert not (batch.parent / "escaped.py").exists()
    assert any("line 80" in e for e in got["0856105"]["errors"])


def test_inspect_human_output_and_a_missing_path(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader", "inspect", str(CHEN)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "class NN(self, dim, activation=sigmoid, loss=mse): backprop, predict, update" \
        in proc.stdout
    assert "no errors" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "grader", "inspect", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_execute_mode_captures_the_program_output_and_figures(tmp_path):
    (tmp_path / "DLP_LAB1_0900010_Plot.py").write_text(textwrap.dedent("""
        import matplotlib.pyplot as plt
        for epoch in range(3):
            print("epoch", epoch, "loss:", 1.0 / (epoch + 1))
        plt.plot([1, 2, 3])
        plt.show()
        plt.plot([3, 2, 1])
        plt.show()
        print("accuracy: 1.0")
    """))
    records, proc = inspect(str(tmp_path / "DLP_LAB1_0900010_Plot.py"), "--execute")
    assert proc.returncode == 0, proc.stderr
    [record] = records
    assert record["mode"] == "execute" and record["errors"] == []
    assert "epoch 2 loss: 0.333" in record["stdout"] and "accuracy: 1.0" in record["stdout"]
    assert record["figures"] == 2


def test_execute_mode_notebook_whose_third_cell_never_ends(tmp_path):
    path = tmp_path / "DLP_LAB1_0900011_Loop.ipynb"
    notebook(path, ["import numpy as np", "x = 1", "while True:\n    x += 1",
                    "def after():\n    return x", "print('reached', after() > 1)"])
    start = time.monotonic()
    records, proc = inspect(str(path), "--execute", "--cell-timeout", "1")
    assert proc.returncode == 0 and time.monotonic() - start < 30
    [record] = records
    assert [c["status"] for c in record["cells"]] == ["ok", "ok", "timeout", "ok", "ok"]
    assert "after" in record["functions"] and "reached True" in record["stdout"]
    assert any(e.startswith("cell 3") and "did not finish within 1 s" in e
               for e in record["errors"]), record["errors"]


def test_sys_exit_0_ends_a_program_normally_but_a_nonzero_exit_is_an_error(tmp_path):
    ok = tmp_path / "ok"
    bad = tmp_path / "bad"
    ok.mkdir()
    bad.mkdir()
    (ok / "DLP_LAB1_0900012_Ok.py").write_text(
        "import sys\ndef main():\n    print('accuracy: 1.0')\n    return 0\n"
        "if __name__ == '__main__':\n    sys.exit(main())\n")
    (bad / "DLP_LAB1_0900013_Bad.py").write_text("import sys\nprint('oops')\nsys.exit(2)\n")
    [record], _ = inspect(str(ok / "DLP_LAB1_0900012_Ok.py"), "--execute")
    assert record["errors"] == [] and "sys.exit(0)" in " ".join(record["notes"])
    assert "accuracy: 1.0" in record["stdout"]
    [record], _ = inspect(str(bad / "DLP_LAB1_0900013_Bad.py"), "--execute")
    assert any("sys.exit(2)" in e for e in record["errors"]), record["errors"]


def test_output_piped_into_a_reader_that_stops_early_is_no_traceback():
    proc = subprocess.Popen([sys.executable, "-m", "grader", "inspect", str(SAMPLES)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    proc.wait(timeout=120)
    assert first.startswith(b"== ")
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


def test_inspect_picks_the_main_file_as_grading_does(tmp_path):
    """The rubric's aliases decide the main file: a class Net with forward/backward/step beats
    a larger helper file, as in `labgrade grade`; a rubric that is not there is a usage error."""
    folder = tmp_path / "DLP_LAB1_0756172_Wang"
    folder.mkdir()
    (folder / "net.py").write_text(textwrap.dedent("""\
        class Net:
            def forward(self, x):
                return x
            def backward(self, y):
                pass
            def step(self, lr):
                pass
    """))
    (folder / "plots.py").write_text("def show(x):\n    return x\n" * 40)
    records, proc = inspect(str(folder))
    assert proc.returncode == 0, proc.stderr
    [record] = records
    assert record["main"] == "net.py" and "class Net" in record["main_reason"]
    missing = subprocess.run([sys.executable, "-m", "grader", "inspect", str(folder),
                              "--rubric", "no-such-rubric"],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert missing.returncode == 2 and "no-such-rubric" in missing.stderr
    assert "Traceback" not in missing.stderr
