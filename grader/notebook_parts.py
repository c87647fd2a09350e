"""The parts of a notebook, by its Markdown headings.

A notebook exercise is organised by headings ("Example 1: BGD vs mini-BGD vs SGD", "Exercise
2"), and students keep them: a check can say which part of the notebook it judges (the state
after Example 1, the training loop of Example 3) and the report can show a part's answer by the
heading it sits under.  Reading only: nothing here runs a cell.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s")


def _level(source: str, wanted: str) -> int:
    """The level of the heading line that holds ``wanted`` (7 when no heading line does: the
    text sits in a paragraph, and any heading ends the part)."""
    for line in source.splitlines():
        match = _HEADING.match(line)
        if match and wanted in line.lower():
            return len(match.group(1))
    return 7


def heading_span(cells: Sequence[Any], heading: str) -> tuple[int, int] | None:
    """``(start, end)`` indices of the cells from the first Markdown heading that is
    ``heading`` (case-insensitive; else the first Markdown cell that contains it) to the next heading of the same level or above (its
    subheadings stay in the part); None when no Markdown cell contains it."""
    wanted = heading.strip().lower()
    if not wanted:
        return None
    markdown = [i for i, c in enumerate(cells) if c.get("cell_type") == "markdown"]
    # a heading that is the text ("## AND") before one that merely contains it ("AND and OR")
    start = next((i for i in markdown if any(
        m and line[m.end():].strip().strip("#").strip().lower() == wanted
        for line in str(cells[i].get("source", "")).splitlines()
        for m in [_HEADING.match(line)])), None)
    if start is None:
        start = next((i for i in markdown if wanted in str(cells[i].get("source", "")).lower()),
                     None)
    if start is None:
        return None
    level = _level(str(cells[start].get("source", "")), wanted)
    for i in range(start + 1, len(cells)):
        if cells[i].get("cell_type") != "markdown":
            continue
        levels = [len(m.group(1)) for m in map(_HEADING.match,
                                                str(cells[i].get("source", "")).splitlines())
                  if m]
        if levels and min(levels) <= level:
            return start, i
    return start, len(cells)


def read_cells(path: Path) -> list[Any] | None:
    """The notebook's cells, or None when it cannot be read."""
    import nbformat

    try:
        return list(nbformat.reads(path.read_text(encoding="utf-8", errors="replace"),
                                   as_version=4).cells)
    except Exception:  # noqa: BLE001 -- nbformat raises many kinds for a damaged file
        return None


def code_cells_under(path: Path, heading: str) -> list[int] | None:
    """The code cells under ``heading``, as 0-based positions among the notebook's code cells
    (the numbering the sandbox runs them by); None when the heading is not there."""
    cells = read_cells(path)
    span = heading_span(cells, heading) if cells is not None else None
    if span is None or cells is None:
        return None
    number = -1
    found = []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            number += 1
            if span[0] <= i < span[1]:
                found.append(number)
    return found
