"""``numpy_only``: the lab allows NumPy and the standard library (and matplotlib for plots).

Measurement: a static audit of every source file and notebook cell of the submission (every
``import``, ``from ... import``, ``__import__("x")`` and ``importlib.import_module("x")`` with a
constant name, wherever it stands: inside functions and ``try`` blocks too, since a guarded
``import torch`` is still a forbidden import), plus the modules the child actually imported
while the submission was loaded and probed.

Judgement: every top-level module must be allowed by the rubric (the standard library, NumPy,
matplotlib by default) or be one of the submission's own files; each offending import is named
with its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass

import ast
import sys
from pathlib import Path
from typing import Any, Iterator

from grader.checks.base import FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext, probe_failure
from grader.rubric import MODULE, MODULE_GROUPS, STDLIB, CheckConfig, setting


@dataclass(frozen=True)
class NumpyOnlyCheck(CheckConfig):
    """``[checks.numpy_only]``: only NumPy, matplotlib and the standard library are imported."""

    allowed: tuple[str, ...] = setting(
        ("numpy", "matplotlib", "mpl_toolkits", "pylab", STDLIB),
        f"Top-level modules a submission may import; {STDLIB} stands for the whole standard "
        "library. A module is allowed when it or a package it is part of is listed.",
        nonempty=True, valid=MODULE)

    def allows(self, module: str) -> bool:
        """Whether importing ``module`` (dotted or not) is allowed."""
        parts = module.split(".")
        names = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        for entry in self.allowed:
            if entry in MODULE_GROUPS:
                if parts[0] in MODULE_GROUPS[entry]:
                    return True
            elif entry in names:
                return True
        return False


STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}
MAX_SOURCE_BYTES = 2_000_000


def allowed_modules(spec: Any) -> tuple[set[str], bool]:
    """The rubric's allowed list as (names, whether the standard library is allowed)."""
    names = set(spec)
    return {n for n in names if not n.startswith("@")}, "@stdlib" in names


def _constant_name(node: ast.Call) -> str | None:
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called in ("__import__", "import_module") and node.args and \
            isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def imports_in(source: str) -> Iterator[tuple[str, int, str]]:
    """``(top-level module, line, statement text)`` for every import in the source."""
    tree = ast.parse(source)
    lines = source.splitlines()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call):
            name = _constant_name(node)
            names = [name] if name else []
        for name in names:
            line = getattr(node, "lineno", 0)
            text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            yield name.partition(".")[0], line, text


def source_units(root: Path, sources: list[str]) -> Iterator[tuple[str, str]]:
    """``(label, code)`` per script and per notebook code cell (IPython syntax removed)."""
    from grader.sandbox.child import magics

    for relative in sources:
        path = Path(root) / relative
        try:
            if path.stat().st_size > MAX_SOURCE_BYTES:
                continue
            if path.suffix == ".ipynb":
                from grader.load import read_notebook_cells

                for number, cell in enumerate(read_notebook_cells(path), start=1):
                    yield f"{relative}, cell {number}", magics.neutralise(cell).code
            else:
                yield relative, path.read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError):
            continue


@register("numpy_only", config=NumpyOnlyCheck,
          summary="imports only NumPy, the standard library and matplotlib")
def check_numpy_only(ctx: GradingContext) -> Verdict:
    allowed, stdlib_ok = allowed_modules(ctx.config("numpy_only").allowed)
    # the student's own modules and packages, at any depth: ``src/models/model.py`` is
    # imported as ``models.model`` from src/main.py (a folder without __init__.py too)
    own = {Path(s).stem for s in ctx.sources} | {part for s in ctx.sources
                                                for part in Path(s).parts[:-1]}

    def forbidden(module: str) -> bool:
        return not (module in allowed or (stdlib_ok and module in STDLIB) or module in own)

    found: list[dict[str, Any]] = []
    unreadable = []
    for label, code in source_units(Path(ctx.files_root), ctx.sources):
        try:
            for module, line, text in imports_in(code):
                if forbidden(module):
                    found.append({"module": module, "where": f"{label}, line {line}",
                                  "statement": text, "_order": (label, line)})
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            unreadable.append(label)
    found.sort(key=lambda f: f.pop("_order"))
    runtime: list[str] = []
    step = ctx.probe("imports", {})
    if probe_failure(step, "listing imports") is None:
        runtime = [m for m in step.result.get("modules", []) if forbidden(m)
                   and not m.startswith("_")]
    static_modules = {f["module"] for f in found}
    runtime_only = sorted(set(runtime) - static_modules)
    details = {"imports": found, "imported_at_run_time": runtime_only,
               "unparsed": unreadable}
    if not found and not runtime_only:
        return Verdict(PASS, "imports only allowed modules (NumPy, the standard library, "
                       "matplotlib)", 1.0, details)
    parts = [f"{f['module']} ({f['where']}: `{f['statement']}`)" for f in found]
    parts += [f"{m} (imported while your code ran)" for m in runtime_only]
    return Verdict(FAIL, "the lab allows only NumPy and the standard library (and matplotlib "
                   "for plots), but your code imports " + "; ".join(parts), 0.0, details)
