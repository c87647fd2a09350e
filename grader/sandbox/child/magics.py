"""Neutralise IPython syntax in notebook cells, so that plain Python can run them.

Runs inside the sandboxed child as the top-level module ``magics`` (standard library only).
IPython is not available in the sandbox, and its input transformers are a heavy dependency, so
this is a small *line-based* neutraliser.  Every input line gives exactly one output line, so
line numbers in tracebacks and syntax errors are the cell's own.

What it does (each change is reported in :attr:`Neutralised.notes`):

* ``%time stmt`` and ``%timeit [options] stmt``: the statement is kept and runs once;
* any other line magic (``%matplotlib inline``, ``%load_ext``, ``%run``, ...): ``pass``, with
  the line's indentation kept so that blocks stay valid;
* shell escapes ``!pip install numpy``, ``!ls``: ``pass``;
* ``x = !ls``: ``x = []``; ``x = %who_ls``: ``x = None``;
* help syntax ``np.sum?``, ``np.sum??``, ``?np.sum``: ``pass``;
* cell magics ``%%time``, ``%%timeit``, ``%%capture``, ``%%prun``: the magic line is removed
  (``%%timeit``'s setup statement on that line is kept) and the body runs as Python;
* ``%%writefile [-a] name``: the cell is not run; :attr:`Neutralised.writefile` holds the file
  name and the text for the loader to write, as Jupyter would;
* ``%%bash``, ``%%sh``, ``%%html``, ``%%javascript``, ``%%latex``, ``%%markdown``, ``%%script``
  and any unknown cell magic: the cell is skipped (``skip``), it is not Python.

Lines that start inside a multi-line string (a docstring with a line starting with ``%`` or
``!``) or that continue a bracketed expression or a backslash line are never touched: the
:mod:`tokenize` module tells which lines start a logical line.  If tokenizing fails, the magic
lines are masked and tokenizing is tried again; if that fails too, every line is treated as a
line start (the plain line-based approach).

Not supported: automagic (``ls``, ``pwd``, ``matplotlib inline`` without ``%``) -- such lines
stay as they are and fail as Python would; ``%run`` (the line becomes ``pass``); the value a
magic would have returned (``t = %timeit -o f()`` gives ``t = None``).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from dataclasses import dataclass, field
from typing import Any

KEEP_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
NOT_PYTHON_CELL_MAGICS = frozenset({
    "bash", "sh", "html", "javascript", "js", "latex", "markdown", "script", "svg", "perl",
    "ruby", "python2", "pypy", "sx", "system", "!", "cmd", "powershell", "file",
})
TIMING_LINE_MAGICS = frozenset({"time", "timeit"})

_TIMEIT_OPTIONS = re.compile(r"^(?:\s*(?:-[nrp]\s*\d+|-[a-zA-Z]+)(?=\s|$))*")
_HELP = re.compile(r"^(\?{1,2}[\w.\[\]()*]*|[\w.\[\]()*]+\?{1,2})$")
_ASSIGN_MAGIC = re.compile(r"^(?P<target>[A-Za-z_][\w\s,.\[\]'\"*]*?)\s*=\s*(?P<sigil>[!%])"
                           r"(?P<command>.*)$")


@dataclass
class Neutralised:
    code: str
    """Python source with as many lines as the cell (empty for a skipped cell)."""
    notes: list[str] = field(default_factory=list)
    """What was changed, e.g. ``"line 1: removed %matplotlib inline"``."""
    skip: bool = False
    """The cell is not Python (a ``%%bash``, ``%%html``, ``%%writefile``... cell)."""
    skip_reason: str | None = None
    writefile: tuple[str, str] | None = None
    """``(file name, text)`` of a ``%%writefile`` cell."""
    writefile_append: bool = False
    """``%%writefile -a``: append instead of overwrite."""


def _short(text: str, limit: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _logical_starts(text: str) -> set[int] | None:
    """1-based numbers of the lines on which a logical line starts, or None if untokenizable."""
    starts: set[int] = set()
    depth = 0
    at_start = True
    skip_types = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                  tokenize.ENCODING, tokenize.ENDMARKER}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.NEWLINE:
                at_start = True
                continue
            if tok.type == tokenize.NL:
                if depth == 0:
                    at_start = True
                continue
            if tok.type in skip_types:
                continue
            if at_start:
                starts.add(tok.start[0])
                at_start = False
            if tok.type == tokenize.OP:
                if tok.string in "([{":
                    depth += 1
                elif tok.string in ")]}":
                    depth = max(0, depth - 1)
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return starts


def _looks_magic(stripped: str) -> bool:
    if stripped.startswith(("%", "!")):
        return True
    if _HELP.match(stripped.rstrip()):
        return True
    match = _ASSIGN_MAGIC.match(stripped)
    return bool(match and _valid_target(match.group("target")))


def _valid_target(target: str) -> bool:
    try:
        ast.parse(f"{target} = None")
    except SyntaxError:
        return False
    return True


def _timed_statement(args: str) -> str:
    """The statement after ``%time`` / ``%timeit`` options (``-n 10 -r3 -q``...)."""
    return _TIMEIT_OPTIONS.sub("", args, count=1).strip()


def _line_magic(line: str, number: int, notes: list[str]) -> str:
    """The Python line that replaces one (non-protected) line, or the line itself."""
    stripped = line.lstrip()
    indent = line[:len(line) - len(stripped)]
    if stripped.startswith("%"):
        body = stripped.lstrip("%")
        name = body.split(None, 1)[0] if body.strip() else ""
        if stripped.startswith("%%"):
            notes.append(f"line {number}: removed {_short(stripped)} (a cell magic must be "
                         "on the cell's first line)")
            return indent + "pass"
        if name in TIMING_LINE_MAGICS:
            statement = _timed_statement(body[len(name):])
            if statement:
                notes.append(f"line {number}: ran the statement after %{name} once, untimed")
                return indent + statement
        notes.append(f"line {number}: removed {_short(stripped)}")
        return indent + "pass"
    if stripped.startswith("!"):
        notes.append(f"line {number}: removed shell command {_short(stripped)}")
        return indent + "pass"
    if _HELP.match(stripped.rstrip()):
        notes.append(f"line {number}: removed help request {_short(stripped)}")
        return indent + "pass"
    match = _ASSIGN_MAGIC.match(stripped)
    if match and _valid_target(match.group("target")):
        target = match.group("target").strip()
        if match.group("sigil") == "!":
            notes.append(f"line {number}: shell command {_short(stripped)} not run, "
                         f"{target} = []")
            return f"{indent}{target} = []"
        notes.append(f"line {number}: magic {_short(stripped)} not run, {target} = None")
        return f"{indent}{target} = None"
    return line


def _cell_magic(first: str) -> tuple[str, str]:
    """(name, arguments) of a ``%%name args`` line."""
    body = first.strip()[2:]
    name, _, args = body.partition(" ")
    return name.strip(), args.strip()


def neutralise(cell_source: str) -> Neutralised:
    """Turn one notebook code cell into plain Python (see the module docstring)."""
    text = cell_source.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    notes: list[str] = []

    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        name, args = _cell_magic(lines[first])
        number = first + 1
        if name == "writefile":
            words = args.split()
            append = "-a" in words or "--append" in words
            names = [w for w in words if not w.startswith("-")]
            if not names:
                return Neutralised(code="", notes=notes, skip=True,
                                   skip_reason="%%writefile without a file name")
            filename = names[0].strip("'\"")
            body = "\n".join(lines[first + 1:])
            if body and not body.endswith("\n"):
                body += "\n"
            return Neutralised(code="", notes=[f"%%writefile {filename}: the cell's text "
                                               "is written to that file, not run"],
                               skip=True, skip_reason=f"%%writefile {filename}",
                               writefile=(filename, body), writefile_append=append)
        if name in KEEP_BODY_CELL_MAGICS:
            setup = _timed_statement(args) if name == "timeit" else ""
            if setup:
                lines[first] = setup
                notes.append(f"line {number}: removed %%{name}, kept its setup statement")
            else:
                lines[first] = ""
                notes.append(f"line {number}: removed %%{name}; the cell runs once")
        else:
            reason = (f"%%{name} cell: not Python" if name in NOT_PYTHON_CELL_MAGICS
                      else f"unknown cell magic %%{name}: not run")
            return Neutralised(code="", notes=[reason], skip=True, skip_reason=reason)

    starts = _logical_starts("\n".join(lines))
    if starts is None:
        masked = []
        for line in lines:
            stripped = line.lstrip()
            masked.append(line[:len(line) - len(stripped)] + "pass"
                          if _looks_magic(stripped) else line)
        starts = _logical_starts("\n".join(masked))
    if starts is None:
        starts = set(range(1, len(lines) + 1))

    out = []
    for number, line in enumerate(lines, start=1):
        if number in starts and line.strip():
            out.append(_line_magic(line, number, notes))
        else:
            out.append(line)
    return Neutralised(code="\n".join(out), notes=notes)


# --- the IPython names notebooks use --------------------------------------------------------------

class IPythonStub:
    """Stands for ``get_ipython()``: every method does nothing and returns None."""

    def run_line_magic(self, *args: Any, **kwargs: Any) -> None:
        return None

    def run_cell_magic(self, *args: Any, **kwargs: Any) -> None:
        return None

    def system(self, *args: Any, **kwargs: Any) -> None:
        return None

    def magic(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _nothing

    def __repr__(self) -> str:
        return "<IPython stub: the grader runs notebooks without IPython>"


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


_IPYTHON = IPythonStub()


def get_ipython() -> IPythonStub:
    return _IPYTHON


def display(*objects: Any, **kwargs: Any) -> None:
    """Like IPython's ``display``: prints the repr of each object."""
    for obj in objects:
        print(repr(obj), file=sys.stdout)


def ipython_stub_namespace() -> dict[str, Any]:
    """``get_ipython`` and ``display``, to put in a notebook's namespace."""
    return {"get_ipython": get_ipython, "display": display}
