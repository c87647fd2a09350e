"""How fast labgrade grades, measured side by side on this machine in one run.

Usage::

    python bench/grading.py               # everything: about 20 minutes on two cores
    python bench/grading.py --count 12    # a smaller batch for the scaling figures
    python bench/grading.py --skip-batch  # the quick figures only (a few minutes)

Prints one figure or one ratio per line, so that a regression shows at a glance:

* the fixed cost of one submission in a batch (discovery, a sandbox started, the file loaded
  and traced, the sandbox torn down, the result written), measured as what each trivial
  submission adds to a batch of them, against the floor, ``python -c "import numpy"`` in a
  fresh process; and what a student waits for ``labgrade check`` of a trivial file, which
  adds the grader's own start (its imports, the rubric) to that;
* the time to grade a correct Lab1 submission (``labgrade grade``, every check) against the
  time its own script needs to train both datasets, one run each (the template trains one
  dataset per run, chosen by commenting a line; the script draws its data and weights without
  a seed, so each is the median of ``--repeat-training`` runs);
* a batch of generated submissions, a realistic mix of correct, buggy, hanging and crashing
  ones, graded with 1 and with 2 workers, and the speed-up; and what a hanging submission
  costs against its budgets (its trace, its one timed-out step, its program);
* the peak memory of the grader process and of the largest sandbox.

Goals (issue of the batch grading): fixed cost at most 3x the floor; a correct submission
graded in at most the time its own script needs to train both datasets; a near-linear speed-up
with workers; a hanging submission costs its budgets and no more.  Each cheap figure is the
median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "submissions" / "lab1"
CORRECT = "DLP_LAB1_0856001_Chen.py"
MIX = {
    # kind: (sample, what it does)
    "correct": ("DLP_LAB1_0856001_Chen.py", "a correct template script"),
    "buggy": ("DLP_LAB1_0856071_Lee.py", "a wrong activation derivative"),
    "hanging": ("DLP_LAB1_0856209_Shen.py", "an update that never ends"),
    "crashing": ("DLP_LAB1_0856203_Yu.py", "an update that raises"),
}
PROGRAM_BUDGET = 20
"""The program check's budget in the batch (the shipped 60 s would make the batch mostly a
wait on the hanging programs; the figure printed is relative to it)."""


def timed(command: list[str], **kwargs) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=False, capture_output=True, **kwargs)
    return time.perf_counter() - began


def median_time(command: list[str], repeat: int, **kwargs) -> float:
    return statistics.median(timed(command, **kwargs) for _ in range(repeat))


def labgrade(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader", *args]


def line(name: str, value: float, unit: str = "s") -> None:
    print(f"{name:<70} {value:10.3f} {unit}", flush=True)


def fixed_cost(work: Path, repeat: int, count: int = 20) -> None:
    floor = median_time([sys.executable, "-c", "import numpy"], repeat)
    line("floor: python -c 'import numpy'", floor)
    one, many = work / "trivial-1", work / f"trivial-{count}"
    for folder, n in ((one, 1), (many, count)):
        folder.mkdir()
        for i in range(n):
            (folder / f"DLP_LAB1_{9200000 + i}_Trivial.py").write_text(f"VALUE = {i}\n")
    times = {}
    for folder, n in ((one, 1), (many, count)):
        times[n] = median_time(labgrade("grade", str(folder), "--out", str(work / f"out-{n}"),
                                        "--jobs", "1", "--format", "json", "--force"),
                               repeat, cwd=ROOT)
    per_submission = (times[count] - times[1]) / (count - 1)
    line(f"fixed cost per submission (batch of {count} trivial files, 1 worker)",
         per_submission)
    line("ratio fixed cost / floor (goal <= 3)", per_submission / floor, "x")
    check = median_time(labgrade("check", str(one / "DLP_LAB1_9200000_Trivial.py")), repeat,
                        cwd=ROOT)
    line("labgrade check of a trivial file (the grader's start included)", check)
    line("ratio labgrade check / floor (goal <= 3)", check / floor, "x")


def _dataset_script(source: str, dataset: str) -> str:
    """The template's script training ``dataset``: it picks one by commenting a line."""
    xor, linear = "X, Y = generate_XOR_easy()\n", "X, Y = generate_linear()\n"
    if xor not in source or "#" + linear not in source:
        raise SystemExit(f"{CORRECT} no longer picks its dataset the template's way")
    if dataset == "xor":
        return source
    return source.replace(xor, "#" + xor, 1).replace("#" + linear, linear, 1)


def correct_submission(work: Path, repeat: int) -> None:
    own = work / "own"
    own.mkdir()
    source = (SAMPLES / CORRECT).read_text(encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    trains = {}
    for dataset in ("linear", "xor"):
        script = own / f"{dataset}.py"
        script.write_text(_dataset_script(source, dataset), encoding="utf-8")
        trains[dataset] = median_time([sys.executable, script.name], repeat, cwd=own, env=env)
        line(f"its own script trains the {dataset} data ({CORRECT}), median", trains[dataset])
    both = trains["linear"] + trains["xor"]
    graded = timed(labgrade("grade", str(SAMPLES / CORRECT), "--layout", "single", "--out",
                            str(work / "one"), "--format", "json"), cwd=ROOT)
    line("its own script, both datasets", both)
    line("labgrade grade of that correct submission (every check)", graded)
    line("ratio grading / its own training of both datasets (goal <= 1)", graded / both, "x")
    line("ratio grading / its own training of the xor data alone", graded / trains["xor"], "x")


def quick_rubric(work: Path) -> Path:
    text = (ROOT / "rubrics" / "lab1.toml").read_text(encoding="utf-8")
    head, program = text.split("[checks.program]\n", 1)
    program = program.replace("time_budget_s = 60\n", f"time_budget_s = {PROGRAM_BUDGET}\n", 1)
    path = work / "lab1_bench.toml"
    path.write_text(head + "[checks.program]\n" + program, encoding="utf-8")
    return path


def batch(work: Path, count: int) -> None:
    folder = work / "batch"
    folder.mkdir()
    kinds = list(MIX)
    for i in range(count):
        kind = kinds[i % len(kinds)]
        shutil.copy(SAMPLES / MIX[kind][0], folder / f"DLP_LAB1_{9100000 + i}_{kind.title()}.py")
    rubric = quick_rubric(work)
    times = {}
    for jobs in (1, 2):
        out = work / f"out{jobs}"
        times[jobs] = timed(labgrade("grade", str(folder), "--rubric", str(rubric), "--out",
                                     str(out), "--jobs", str(jobs), "--format", "json"),
                            cwd=ROOT)
        line(f"batch of {count} ({', '.join(kinds)}), {jobs} worker(s)", times[jobs])
    line("speed-up 2 workers / 1 (goal near 2)", times[1] / times[2], "x")
    per_kind: dict[str, list[float]] = {k: [] for k in kinds}
    for path in (work / "out1").glob("*/result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        kind = Path(result["submission"]["path"]).stem.rsplit("_", 1)[-1].lower()
        seconds = result.get("duration_s")
        if kind in per_kind and isinstance(seconds, (int, float)):
            per_kind[kind].append(float(seconds))
    for kind, values in per_kind.items():
        if values:
            line(f"one {kind} submission ({MIX[kind][1]}), median", statistics.median(values))
    if per_kind["hanging"]:
        sys.path.insert(0, str(ROOT))
        from grader.checks.interface import InterfaceCheck
        from grader.settings import SandboxSettings

        # what it may cost: its trace (the program runs until its update hangs), its first
        # step's time limit (the checks after it do not wait again) and its program's budget
        step, trace = SandboxSettings().step_timeout, InterfaceCheck(points=0).trace_seconds
        budget = trace + step + PROGRAM_BUDGET
        line(f"its budgets: its trace's {trace:g} s, one step's {step:g} s, its program's "
             f"{PROGRAM_BUDGET} s", budget)
        line("hanging submission / its budgets (goal <= 1)",
             statistics.median(per_kind["hanging"]) / budget, "x")


def memory(work: Path) -> None:
    probe = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from grader.batch import grade_one\n"
        "from grader.discover import discover\n"
        "from grader.rubric import load_rubric\n"
        "from grader.settings import SandboxSettings\n"
        f"[sub] = discover(Path({str(SAMPLES / CORRECT)!r}), workdir={str(work / 'mem')!r})\n"
        "grade_one(sub, load_rubric('lab1'), seed=0, sandbox=SandboxSettings())\n"
        "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(own, kids)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    try:
        own, kids = (int(v) for v in done.stdout.split()[-2:])
    except ValueError:
        print("memory: not measured:", done.stderr.strip().splitlines()[-1:], flush=True)
        return
    line("peak memory of the grader process", own / 1024, "MB")
    line("peak memory of the largest sandbox", kids / 1024, "MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40, help="submissions in the batch")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the cheap figures")
    parser.add_argument("--repeat-training", type=int, default=3,
                        help="runs of the student's own script per dataset")
    parser.add_argument("--skip-batch", action="store_true", help="only the quick figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labgrade-bench-") as tmp:
        work = Path(tmp)
        print(f"labgrade benchmark, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        fixed_cost(work, args.repeat)
        correct_submission(work, args.repeat_training)
        memory(work)
        if not args.skip_batch:
            batch(work, args.count)


if __name__ == "__main__":
    main()
