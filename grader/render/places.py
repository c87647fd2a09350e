"""Where a message or a traceback points in the student's code: ``lab1.py, line 40``,
``cell 3, line 14``, ``File "<cell 3>", line 14``.

Kept apart from the report's HTML (``source.py``) so that the terminal's self-check finds a
place without loading the HTML sanitizer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

PLACES = (
    # a traceback's frame: File "lab1.py", line 40 / File "<cell 3>", line 14
    re.compile(r'File "(?:<cell (?P<cell>\d+)>|(?P<file>[^\n]+?))", line (?P<line>\d+)'),
    # a check's message: lab1.py, line 40 / lab1.ipynb, cell 3, line 14 / cell 3, line 14
    re.compile(r"(?:(?P<file>[\w.\-/\u00c0-\uffff]+\.(?:py|ipynb)),\s*)?"
               r"(?:<?cell (?P<cell>\d+)>?,\s*)?line (?P<line>\d+)"),
)
"""How the checks and tracebacks name a place in the student's code."""


@dataclass(frozen=True)
class Place:
    start: int
    end: int
    file: str
    cell: int | None
    line: int


def places_in(text: str, files: Iterable[str], main: str | None) -> list[Place]:
    """The places of the submission that ``text`` names, in order; a place without a file
    (a notebook cell, ``line 12`` alone) is in the main file, and a file that is not the
    submission's (NumPy's own, say) is no place to show."""
    by_name = {Path(f).name: f for f in files}
    found: list[Place] = []
    for pattern in PLACES:
        for match in pattern.finditer(text):
            if any(p.start < match.end() and match.start() < p.end for p in found):
                continue
            named, cell = match.group("file"), match.group("cell")
            if named is None and cell is None and pattern is PLACES[1]:
                continue  # "line 12" alone could be anything
            file = by_name.get(Path(named).name) if named else main
            if file is None:
                continue
            found.append(Place(match.start(), match.end(), file,
                               int(cell) if cell else None, int(match.group("line"))))
    return sorted(found, key=lambda p: p.start)
