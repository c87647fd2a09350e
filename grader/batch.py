"""Grade many submissions: ``labgrade grade`` (TAs) and ``labgrade check`` (students).

For each submission found: load it in its sandbox, run the checks, score them with the rubric,
and write ``OUT/<key>/result.json`` (the contract of DESIGN.md) with the program's figures
beside it; then merge the manual scores and write ``OUT/grades.csv``.  Every file is written
atomically, and a batch that is stopped and started again reuses the results already written
for the same submission, rubric, seed and grader: nothing is lost, nothing graded twice.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from grader import __version__
from grader.discover import Submission, discover
from grader.grading import grade_submission
from grader.results import build_result, write_grades_csv, write_json_atomic, write_text_atomic
from grader.rubric import Rubric
from grader.sandbox import isolation
from grader.score import make_score, merge_manual, read_manual, score_checks
from grader.settings import SandboxSettings

RESUME_FILE = ".labgrade-resume.json"


@dataclass
class BatchOutcome:
    """What a batch produced, for the command's summary."""

    results: list[dict[str, Any]] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    """Where each result lives, in the same order."""
    problems: list[str] = field(default_factory=list)
    reused: int = 0


def rubric_settings(rubric: Rubric) -> dict[str, dict[str, Any]]:
    return {check_id: rubric.settings(check_id) for check_id in rubric.check_ids}


def _resume_key(sub: Submission, rubric: Rubric, seed: int, self_check: bool) -> dict[str, Any]:
    return {"sha256": sub.sha256, "rubric": [rubric.id, rubric.version], "seed": seed,
            "grader": __version__, "self_check": self_check}


def _reusable(folder: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    try:
        if json.loads((folder / RESUME_FILE).read_text()) != key:
            return None
        return json.loads((folder / "result.json").read_text())
    except (OSError, ValueError):
        return None


def grade_one(sub: Submission, rubric: Rubric, *, seed: int, sandbox: SandboxSettings,
              self_check: bool = False) -> tuple[dict[str, Any], list[bytes]]:
    """One submission's ``result.json`` content, and the figures its program drew."""
    only = set(rubric.public_check_ids) if self_check else None
    start = time.monotonic()
    grading = grade_submission(sub, settings=rubric_settings(rubric), seed=seed,
                               sandbox_settings=sandbox, only=only)
    checks = score_checks(grading.verdicts, rubric, self_check=self_check)
    score = make_score(checks, rubric, submitted_at=sub.submitted_at)
    level = grading.isolation or isolation.choose(sandbox.isolation).level
    result = build_result(sub, rubric, checks, score, grader_version=__version__,
                          isolation=level, graded=grading.graded, error=grading.error,
                          duration_s=round(time.monotonic() - start, 3),
                          notes=list(sub.notes) + (grading.loaded.notes if grading.loaded else []))
    return result, list(grading.facts.get("program_figures", []))


def grade_batch(
    paths: Sequence[Path], rubric: Rubric, out: Path, *, seed: int, sandbox: SandboxSettings,
    manual: Path | None = None, self_check: bool = False,
    progress: Callable[[int, int, Submission, dict[str, Any] | None], None] | None = None,
) -> BatchOutcome:
    """Grade everything found in ``paths`` into ``out``; see the module docstring."""
    outcome = BatchOutcome()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="labgrade-grade-") as work:
        subs: list[Submission] = []
        for i, path in enumerate(paths):
            subs += discover(path, workdir=Path(work) / str(i))
        _unique_keys(subs)
        for index, sub in enumerate(subs):
            folder = out / sub.key
            key = _resume_key(sub, rubric, seed, self_check)
            result = _reusable(folder, key)
            if progress:
                progress(index, len(subs), sub, None)
            if result is None:
                result, figures = grade_one(sub, rubric, seed=seed, sandbox=sandbox,
                                            self_check=self_check)
                folder.mkdir(parents=True, exist_ok=True)
                for number, png in enumerate(figures, start=1):
                    (folder / "figures").mkdir(exist_ok=True)
                    (folder / "figures" / f"program_{number}.png").write_bytes(png)
                write_json_atomic(folder / "result.json", result)
                write_json_atomic(folder / RESUME_FILE, key)
            else:
                outcome.reused += 1
            outcome.results.append(result)
            outcome.folders.append(folder)
            if progress:
                progress(index + 1, len(subs), sub, result)
    if manual is not None:
        outcome.problems = merge_manual(outcome.results, read_manual(manual, rubric))
        for folder, result in zip(outcome.folders, outcome.results):
            write_json_atomic(folder / "result.json", result)
    if outcome.problems:
        write_text_atomic(out / "problems.txt", "\n".join(outcome.problems) + "\n")
    write_grades_csv(out / "grades.csv", outcome.results)
    return outcome


def _unique_keys(subs: list[Submission]) -> None:
    """Two inputs of one batch may yield the same key (two zips of one student): suffix them."""
    seen: dict[str, int] = {}
    for sub in subs:
        count = seen.get(sub.key, 0)
        seen[sub.key] = count + 1
        if count:
            sub.key = f"{sub.key}-{count + 1}"
