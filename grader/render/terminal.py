"""The student's self-check in a terminal: ``labgrade check``'s summary.

Compact and in colour on a terminal (rich), the same text without colour or escape codes when
piped into a file or a CI log (rich leaves them out when its output is not a terminal, and long
lines are not wrapped, so that a log can be searched).  One line per public check: its status,
its points and its message; under a check that did not pass, where to look (the diagnosis's
hint, the student's own line a traceback ended at, or the place the message names).  Then the
points, and what the TA's grading adds.  Reads a result only: it computes no score.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, TextIO

from rich.console import Console
from rich.text import Text

STYLES = {"pass": ("PASS", "bold green"), "fail": ("FAIL", "bold red"),
          "error": ("ERROR", "bold magenta"), "skip": ("skip", "dim")}


def _hints(details: Any, depth: int = 0) -> Iterable[str]:
    """Every ``hint`` in a check's details (a diagnosis keeps one per measured case)."""
    if depth > 3 or not isinstance(details, Mapping):
        return
    hint = details.get("hint")
    if isinstance(hint, str) and hint.strip():
        yield hint.strip()
    for value in details.values():
        yield from _hints(value, depth + 1)


def where_to_look(check: Mapping[str, Any], files: Iterable[str], main: str | None
                  ) -> str | None:
    """Where a student should look first for a check that did not pass, or None."""
    if check.get("status") in ("pass", "skip"):
        return None
    details = check.get("details") or {}
    hint = next(iter(_hints(details)), None)
    if hint:
        return hint
    from grader.checks.context import student_frame

    frame = student_frame(str(details.get("traceback", ""))).strip()
    if frame:  # " (file, line N: `code`)"
        return f"your code stopped at {frame.removeprefix('(').removesuffix(')')}"
    from grader.render.places import places_in

    message = str(check.get("message", ""))
    place = next(iter(places_in(message, list(files), main)), None)
    if place is not None:
        return message[place.start:place.end]
    return None


def print_check_summary(result: Mapping[str, Any], *, title: str, rubric_id: str,
                        version: str, public: list[str], rest: list[str],
                        manual: list[str], isolation: str, out: TextIO) -> None:
    """The summary of a self-check: what ``labgrade check`` prints."""
    console = Console(file=out, highlight=False, soft_wrap=True, emoji=False)
    head = Text(f"labgrade check: {title} (rubric {rubric_id} v{version}), "
                f"isolation {isolation}")
    console.print(head, style="bold")
    if not isolation.startswith("namespaces"):
        console.print("  your code runs under resource limits only here (no private "
                      "namespaces): enough for a self-check, and the TA's grading isolates "
                      "it fully", style="yellow")
    submission = result.get("submission") or {}
    console.print(Text(str(submission.get("path", ""))), style="dim")
    if not result.get("graded"):
        console.print(Text(f"\nnot graded: {result.get('error')}"), style="bold red")
        return
    shown = [c for c in result.get("checks", []) if c["id"] in set(public)]
    width = max((len(c["id"]) for c in shown), default=0)
    files = [str(f) for f in submission.get("files") or []]
    named = str(submission.get("path", "")).replace("\\", "/").rsplit("/", 1)[-1]
    main = next((f for f in files if f.rsplit("/", 1)[-1] == named), files[0] if files else None)
    earned = total = 0.0
    for check in shown:
        earned += check["points"]
        total += check["max_points"]
        word, style = STYLES.get(check["status"], (check["status"], ""))
        line = Text("  ")
        line.append(f"{word:<5}", style=style)
        line.append(f" {check['id']:<{width}} ", style="bold")
        line.append(f"{check['points']:>5g}/{check['max_points']:<3g} ")
        line.append(str(check.get("message", "")))
        console.print(line)
        look = where_to_look(check, files, main)
        if look:
            console.print(Text(f"  {'':<5} {'':<{width}}   where to look: {look}"),
                          style="cyan")
    plural = "s" if len(rest) > 1 else ""
    adds = [*(["hidden data", f"the {', '.join(rest)} check{plural}"] if rest else []),
            *manual]
    said = ", ".join(adds[:-1]) + f" and {adds[-1]}" if len(adds) > 1 else "".join(adds)
    console.print(Text(f"\n{earned:g}/{total:g} points from the public checks"
                       + (f"; the TA's grading adds {said}." if adds else ".")), style="bold")


def print_rubric_check(result: Mapping[str, Any], rubric: Any, isolation: str,
                       out: TextIO) -> None:
    """:func:`print_check_summary` with what the rubric says (its public checks, the rest, its
    manual sections)."""
    print_check_summary(
        result, title=rubric.title, rubric_id=rubric.id, version=rubric.version,
        public=list(rubric.public_check_ids),
        rest=[cid for cid in rubric.check_ids if cid not in rubric.public_check_ids],
        manual=[s.title for s in rubric.manual_sections.values()], isolation=isolation,
        out=out)

