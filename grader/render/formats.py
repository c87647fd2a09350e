"""The files a batch can write (``--format``), by name.

Apart from their writers (:mod:`grader.render.outputs`): the command line lists them in its
help, which every command builds before it starts, and that must not wait for the renderers.
"""

from __future__ import annotations

FORMATS: dict[str, str] = {
    "html": "report.html per student and index.html, the class overview",
    "json": "result.json per student (always written: every other format is made from it)",
    "csv": "grades.csv, the gradebook (UTF-8 with BOM, for spreadsheets)",
    "gradescope": "results.json per student, in Gradescope's autograder format",
    "junit": "junit.xml, one test case per check, for CI systems",
    "markdown": "summary.md, for $GITHUB_STEP_SUMMARY and merge-request comments",
}
DEFAULT_FORMATS = ("html", "json", "csv")


def parse_formats(text: str) -> tuple[str, ...]:
    """``html,junit`` -> the formats, ``json`` included; an unknown name is refused with the
    list of known ones."""
    asked = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [part for part in asked if part not in FORMATS]
    if unknown or not asked:
        raise ValueError(f"unknown format {', '.join(unknown) or repr(text)}; choose from "
                         f"{', '.join(FORMATS)} (comma-separated)")
    return tuple(f for f in FORMATS if f in asked or f == "json")


def formats_help() -> str:
    return "; ".join(f"{name}: {text}" for name, text in FORMATS.items())
