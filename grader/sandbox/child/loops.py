"""Watch the loops a notebook's cells run at the top level.

A notebook exercise trains in a cell: the weights are notebook variables (``wh``, ``wout``) and
one step of training is one pass through a loop's body.  The grader cannot call such a step,
but it can watch one: while a cell runs, each pass through the header line of one of its
top-level loops (``for epoch in range(5000):``, ``while acc[-1] < 100:``, a nested
``for i in range(0, m, b):``) copies the notebook's numeric variables, for the first
:data:`MAX_PASSES` passes of the cell.  Two consecutive passes across which every weight
changed frame one step: the weights before and after it, and the data it used.

Only the first passes are traced (``sys.settrace`` on the cell's own frame, then nothing): a
5000-epoch loop runs at full speed after its first iterations.  Measurements only: which pair
of passes is a step, and whether it is the true gradient, is the grader's to decide.

Standard library and NumPy only; this module runs in the child and never imports the grader.
"""

from __future__ import annotations

import ast
import linecache
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_PASSES = 16
"""Passes through a cell's loop headers copied, at the most (a nested loop's first steps come
after an outer pass or two)."""
MAX_VARIABLE_SIZE = 100_000
"""A larger array is not copied (a data set of images is not a weight of these exercises)."""
MAX_KEPT_ELEMENTS = 10_000_000
"""Numbers copied across all passes of all cells, at the most (80 MB)."""


@dataclass
class Pass:
    """The numeric variables as they were when the loop came back to its header."""

    cell: int
    line: int
    state: dict[str, np.ndarray]


@dataclass
class _Watch:
    filename: str = ""
    cell: int = -1
    lines: frozenset[int] = frozenset()
    passes: int = 0
    kept: int = 0


PASSES: list[Pass] = []
_WATCH = _Watch()


def reset() -> None:
    PASSES.clear()
    _WATCH.kept = 0


def loop_lines(source: str) -> frozenset[int]:
    """The header lines of the loops a cell runs itself (not those inside its functions,
    which run when called, in frames of their own)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    lines: set[int] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            lines.add(node.lineno)
        stack.extend(ast.iter_child_nodes(node))
    return frozenset(lines)


def start_cell(index: int) -> None:
    """Before cell ``index`` runs (0-based; its code is compiled as ``<cell index+1>``)."""
    filename = f"<cell {index + 1}>"
    lines = loop_lines("".join(linecache.getlines(filename)))
    if not lines or _WATCH.kept > MAX_KEPT_ELEMENTS:
        return
    _WATCH.filename, _WATCH.cell, _WATCH.lines = filename, index, lines
    _WATCH.passes = 0
    sys.settrace(_on_call)


def end_cell() -> None:
    sys.settrace(None)


def _on_call(frame: Any, event: str, arg: Any) -> Any:
    code = frame.f_code
    if code.co_filename == _WATCH.filename and code.co_name == "<module>":
        return _on_line
    return None


def _on_line(frame: Any, event: str, arg: Any) -> Any:
    if event != "line" or frame.f_lineno not in _WATCH.lines:
        return _on_line
    _WATCH.passes += 1
    state = _numbers(frame.f_globals)
    _WATCH.kept += sum(v.size for v in state.values())
    PASSES.append(Pass(_WATCH.cell, frame.f_lineno, state))
    if _WATCH.passes >= MAX_PASSES or _WATCH.kept > MAX_KEPT_ELEMENTS:
        sys.settrace(None)  # no new frame is looked at; this one stops below
        return None
    return _on_line


def _numbers(namespace: dict[str, Any]) -> dict[str, np.ndarray]:
    copied = {}
    for name, value in list(namespace.items()):
        if name.startswith("_") or isinstance(value, bool) or not isinstance(
                value, (int, float, np.ndarray, np.generic)):
            continue
        if np.size(value) <= MAX_VARIABLE_SIZE:
            copied[name] = np.array(value, copy=True)
    return copied


def _changed(before: dict[str, np.ndarray], after: dict[str, np.ndarray], name: str) -> bool:
    a, b = before.get(name), after.get(name)
    return a is not None and b is not None and a.shape == b.shape and \
        not np.array_equal(a, b, equal_nan=True)


def find_step(weights: list[str], cells: list[int] | None, occurrence: int
              ) -> tuple[Pass, Pass] | None:
    """The first step of the ``occurrence``-th cell (1-based, among ``cells`` if given) in
    which two consecutive passes through its loops changed every one of ``weights``."""
    seen = 0
    for index in sorted({p.cell for p in PASSES}):
        if cells is not None and index not in cells:
            continue
        passes = [p for p in PASSES if p.cell == index]
        step = next(((a, b) for a, b in zip(passes, passes[1:])
                     if all(_changed(a.state, b.state, w) for w in weights)), None)
        if step is not None:
            seen += 1
            if seen == occurrence:
                return step
    return None


def summary(weights: list[str]) -> dict[str, Any]:
    """What was seen when no step was: the cells with loops, and which of the weights any of
    their passes changed (for a message saying what is missing)."""
    cells = sorted({p.cell + 1 for p in PASSES})
    changed = sorted({w for w in weights for a, b in zip(PASSES, PASSES[1:])
                      if a.cell == b.cell and _changed(a.state, b.state, w)})
    return {"loop_cells": cells, "changed": changed}
