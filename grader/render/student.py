"""The student report (``<student>/report.html``): one self-contained page that explains a
grade as a TA would in office hours."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from grader.render.html import render_page
from grader.render.views import build_report
from grader.rubric import Rubric


def check_titles() -> dict[str, str]:
    """What each check verifies, in a few words (its registered summary)."""
    from grader.checks.base import REGISTRY
    from grader.grading import load_checks

    load_checks()
    return {check_id: spec.summary for check_id, spec in REGISTRY.items()}


def run_info(result: Mapping[str, Any], rubric: Rubric | None, seed: int | None
             ) -> list[tuple[str, str]]:
    """What was run and how: enough to reproduce the grade."""
    rubric_info = result.get("rubric") or {}
    grader_info = result.get("grader") or {}
    info = [("rubric", f"{rubric_info.get('id')} version {rubric_info.get('version')}"),
            ("grader", f"labgrade {grader_info.get('version')}")]
    public = rubric.seeds.public if rubric is not None else None
    if seed is not None and seed == public:
        info.append(("data seed", f"{seed}, the rubric's public seed: `labgrade check` on "
                                  "the same file reproduces these numbers"))
    elif public is not None:
        info.append(("data seed", f"a seed the TA chose for grading; `labgrade check` uses the "
                                  f"public seed {public}, so its data differ"))
    info.append(("isolation", str(grader_info.get("isolation"))))
    info.append(("time taken", f"{float(result.get('duration_s') or 0):.1f} s"))
    return info


def student_report(result: Mapping[str, Any], *, files_root: Path | None,
                   figures: Sequence[bytes] = (), rubric: Rubric | None = None,
                   seed: int | None = None, main: str | None = None,
                   self_check: bool = False) -> str:
    """The HTML of one student's report.  ``files_root`` holds the submission's files as
    discovered (None: the source is not shown), ``figures`` the PNGs its program drew, ``main``
    the submission's main file (else its first source); ``self_check``: the report of a
    student's own ``labgrade check`` (the public checks only)."""
    public = (rubric.public_check_ids if rubric is not None else ()) if self_check else None
    view = build_report(result, titles=check_titles(), files_root=files_root, figures=figures,
                        run_info=run_info(result, rubric, seed), main=main,
                        public_checks=public,
                        answers={sid: s.answer for sid, s in rubric.sections.items()
                                 if s.answer} if rubric is not None else None)
    title = rubric.title if rubric is not None else str((result.get("rubric") or {}).get("id"))
    return render_page("student.html.j2", r=view, rubric_title=title)
