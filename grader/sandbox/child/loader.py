"""Load a student's script or notebook into a namespace, inside the sandboxed child.

Runs inside the sandboxed child as the top-level module ``loader`` (standard library only; it
imports its siblings ``definitions``, ``magics`` and ``figures`` as top-level modules and never
anything of the grader).  The worker calls:

* :func:`load_script` -- one ``.py`` file, in *definitions* mode (only its imports, functions,
  classes and simple assignments run, see ``definitions.py``) or *execute* mode (the whole
  program, as ``python file.py`` would run it, with its figures captured);
* :func:`load_notebook` -- the code cells of a notebook, in order, each neutralised (magics,
  shell escapes; see ``magics.py``) and each under its own time limit.

Both run with ``__name__ == "__main__"`` (the worker's namespace is the ``__main__`` module),
``builtins.input`` replaced by a function that fails at once (:class:`KeyboardInputRequested`,
an ``EOFError``: stdin is closed anyway), ``breakpoint()`` ignored, and the working directory
restored afterwards if the program changed it.

Scripts: ``sys.argv = [file]`` and ``__file__`` are set; the file is decoded as UTF-8 (with or
without BOM, or its PEP 263 declaration), else cp950, big5, latin-1 (with a note), and compiled
with its real path, so tracebacks name it; compile-time warnings become notes.  A script with
relative imports (``from .model import NN``) runs as a module of a synthetic package
:data:`SYNTHETIC_PACKAGE` whose ``__path__`` is the script's folder; the folder is put first on
``sys.path`` for plain ``import model``.  In definitions mode the kept statements run one by
one, so one that raises (``import tqdm``) does not stop the next; a timeout stops them all.
The report's ``needs_execute`` lists the names kept code needs from dropped code.

Notebooks: cell N (1-based, among code cells) is compiled as ``<cell N>`` and its neutralised
text registered in :mod:`linecache`, so tracebacks show its lines; ``get_ipython`` and
``display`` stubs are put in the namespace; top-level ``await`` works; ``sys.argv`` is
``["notebook"]``; a ``%%writefile name`` cell writes ``name`` inside the working directory.

Whatever the student's code does -- raise, ``sys.exit()``, ``input()``, ``KeyboardInterrupt``,
run out of memory or recursion, loop past its time limit -- becomes a :class:`LoadError` in the
returned :class:`LoadReport`; nothing is raised to the caller but the loader's own bugs.

Time limits: ``signal.setitimer(ITIMER_REAL)`` with a SIGALRM handler raising
:class:`LoadTimeout`, which derives from ``BaseException`` so that a student's ``except
Exception:`` does not swallow it; after the first expiry the timer fires again every 0.5 s,
in case a bare ``except:`` swallowed it.  The timer is always cancelled and the previous
handler restored.  (Code that defeats this, e.g. a long computation inside one C call, is the
parent's wall-clock limit's business, as is a student's own ``signal.signal(SIGALRM, ...)``.)
A timeout of None or <= 0, or a call outside the main thread, has no in-process limit.

Reports turn into plain data with ``to_dict()``; ``LoadReport.to_dict()`` carries the PNG bytes
of the captured figures under ``figures`` (the protocol sends bytes as attachments), and
``to_dict(include_figures=False)`` is pure JSON.
"""

from __future__ import annotations

import ast
import builtins
import codecs
import importlib
import importlib.machinery
import io
import linecache
import os
import re
import signal
import sys
import threading
import time
import tokenize
import types
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import arguments
import definitions
import figures
import magics

DEFINITIONS = "definitions"
EXECUTE = "execute"
MODES = (DEFINITIONS, EXECUTE)

SYNTHETIC_PACKAGE = "submission"
"""Package a script with relative imports (``from .model import NN``) is loaded into."""

INPUT_MESSAGE = "your program waits for keyboard input (input()); a grader cannot type"
FIGURE_FLUSH_TIMEOUT = 15.0
RETRIGGER_SECONDS = 0.5
MAX_TRACEBACK_FRAMES = 30
MAX_MESSAGE = 300
MAX_TRACEBACK_CHARS = 6000
CO_COROUTINE = 0x0080
CELL_FILE = re.compile(r"^<cell (\d+)>$")
CHILD_DIR = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))

# bound now, so that a student's ``signal.setitimer = ...`` cannot switch our limits off
_setitimer = signal.setitimer
_getitimer = signal.getitimer
_set_handler = signal.signal
_ITIMER_REAL = signal.ITIMER_REAL
_SIGALRM = signal.SIGALRM
_current_thread = threading.current_thread
_main_thread = threading.main_thread

ERROR_KINDS = ("syntax", "exception", "timeout", "input", "exit", "keyboard_interrupt",
               "memory", "recursion", "decode")
CELL_STATUSES = ("ok", "error", "timeout", "skipped", "not-python")


class LoadTimeout(BaseException):
    """Raised by the SIGALRM handler when a step runs out of time (not an ``Exception``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"did not finish within {seconds:g} s")
        self.seconds = seconds


class KeyboardInputRequested(EOFError):
    """What ``input()`` raises while loading: stdin is closed, like a real EOF."""


# --- reports --------------------------------------------------------------------------------------

@dataclass
class LoadError:
    kind: str
    """One of :data:`ERROR_KINDS`."""
    message: str
    """One line, e.g. ``expected ':'`` or ``ZeroDivisionError: division by zero``."""
    file: str | None = None
    """Relative to the working directory (None for a notebook cell)."""
    line: int | None = None
    column: int | None = None
    cell: int | None = None
    """1-based code-cell number (notebooks): the cell that was running."""
    source_line: str | None = None
    traceback: str = ""
    """Student frames only (files in the working directory, notebook cells)."""
    exception: str | None = None
    """The exception's class name."""
    origin: str | None = None
    """Where the error really happened when that is not ``file``/``cell`` + ``line``, e.g.
    ``"cell 2, line 14"`` for a function of cell 2 failing while cell 5 runs."""
    exit_code: int | str | None = None
    """For ``exit``: the code given to ``sys.exit`` (0 for a bare ``sys.exit()``)."""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "file": self.file,
                "line": self.line, "column": self.column, "cell": self.cell,
                "source_line": self.source_line, "traceback": self.traceback,
                "exception": self.exception, "origin": self.origin,
                "exit_code": self.exit_code}


@dataclass
class CellReport:
    index: int
    """0-based index among the code cells, as given."""
    number: int
    """1-based, for messages (``cell 3``)."""
    status: str = "ok"
    """One of :data:`CELL_STATUSES`."""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "number": self.number, "status": self.status,
                "seconds": round(self.seconds, 4), "notes": list(self.notes)}


@dataclass
class LoadReport:
    kind: str
    """``script`` or ``notebook``."""
    mode: str
    """The mode that ran: ``definitions`` or ``execute``."""
    ok: bool = True
    """No errors at all."""
    file: str | None = None
    encoding: str | None = None
    errors: list[LoadError] = field(default_factory=list)
    cells: list[CellReport] = field(default_factory=list)
    dropped: list[definitions.Dropped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    needs_execute: list[str] = field(default_factory=list)
    """Definitions mode: names the kept code reads that only dropped code defines."""
    seconds: float = 0.0
    input_calls: int = 0
    figures: list[bytes] = field(default_factory=list)
    """PNG bytes of the figures drawn (execute mode)."""

    def to_dict(self, *, include_figures: bool = True) -> dict[str, Any]:
        """Plain data.  ``figures`` is a list of PNG ``bytes`` (the protocol carries them as
        attachments); with ``include_figures=False`` it is left out and the dict is pure JSON.
        ``figure_count`` is always there."""
        data: dict[str, Any] = {
            "kind": self.kind, "mode": self.mode, "ok": self.ok, "file": self.file,
            "encoding": self.encoding, "errors": [e.to_dict() for e in self.errors],
            "cells": [c.to_dict() for c in self.cells],
            "dropped": [d.to_dict() for d in self.dropped], "notes": list(self.notes),
            "needs_execute": list(self.needs_execute), "seconds": round(self.seconds, 4),
            "input_calls": self.input_calls, "figure_count": len(self.figures),
        }
        if include_figures:
            data["figures"] = list(self.figures)
        return data


# --- time limits ----------------------------------------------------------------------------------

class _TimeLimit:
    """SIGALRM-based limit for one step; ``stop()`` is idempotent and always disarms."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.active = False
        self.armed = False
        self.previous: Any = None
        self.outer: tuple[float, float, float] | None = None

    def _handler(self, signum: int, frame: Any) -> None:
        if self.active:
            raise LoadTimeout(self.seconds or 0.0)

    def start(self) -> None:
        if self.seconds is None or self.seconds <= 0:
            return
        if _current_thread() is not _main_thread():
            return
        remaining, interval = _getitimer(_ITIMER_REAL)
        self.outer = (remaining, interval, time.monotonic()) if remaining > 0 else None
        self.previous = _set_handler(_SIGALRM, self._handler)
        self.armed = True
        self.active = True
        seconds = self.seconds if self.outer is None else max(min(self.seconds, remaining), 1e-3)
        _setitimer(_ITIMER_REAL, seconds, RETRIGGER_SECONDS)

    def stop(self) -> None:
        while True:
            try:
                self.active = False
                if self.armed:
                    _setitimer(_ITIMER_REAL, 0)
                    _set_handler(_SIGALRM, self.previous or signal.SIG_DFL)
                    self.armed = False
                    if self.outer is not None:  # an enclosing limit: give it back its time
                        remaining, interval, began = self.outer
                        left = remaining - (time.monotonic() - began)
                        _setitimer(_ITIMER_REAL, max(left, 1e-3), interval)
                return
            except LoadTimeout:
                continue


def _run_limited(func: Callable[[], Any], seconds: float | None) -> BaseException | None:
    """Run ``func`` under a time limit; return what it raised (LoadTimeout included)."""
    limit = _TimeLimit(seconds)
    try:
        limit.start()
        try:
            func()
        finally:
            limit.stop()
    except BaseException as exc:  # noqa: BLE001 -- everything the student's code can raise
        limit.stop()
        return exc
    return None


def _safe_text(func: Callable[[], Any], fallback: str, limit: float = 2.0) -> str:
    """``str(func())`` for a student-controlled value (``__str__`` may hang or raise)."""
    box: list[str] = []

    def run() -> None:
        box.append(str.__str__(str(func())))  # an exact str, not a student's subclass

    failure = _run_limited(run, limit)
    if failure is not None or not box:
        return fallback
    return box[0]


# --- the student's surroundings while loading ----------------------------------------------------

class _Surroundings:
    """``input()`` fails fast, ``breakpoint()`` is ignored, ``sys.argv`` is the script's, and
    the working directory is restored afterwards."""

    def __init__(self, argv: list[str] | None, report: LoadReport,
                 answer: Callable[[str], str | None] | None = None) -> None:
        self.argv = argv
        self.report = report
        self.answer = answer
        self.prompts: list[str] = []

    def _input(self, prompt: object = "") -> str:
        text = prompt if type(prompt) is str else ""
        reply = self.answer(text) if self.answer is not None else None
        if reply is not None:
            self.report.notes.append(f"input({text[:60]!r}) was answered {reply!r}")
            return reply
        self.prompts.append(text[:80])
        raise KeyboardInputRequested(INPUT_MESSAGE)

    def __enter__(self) -> _Surroundings:
        self.saved = (builtins.input, sys.breakpointhook, list(sys.argv), os.getcwd())
        builtins.input = self._input
        sys.breakpointhook = lambda *args, **kwargs: None
        if self.argv is not None:
            sys.argv = list(self.argv)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        builtins.input, sys.breakpointhook, argv, cwd = self.saved
        sys.argv = argv
        try:
            if os.getcwd() != cwd:
                os.chdir(cwd)
                self.report.notes.append("the program changed the working directory; it was "
                                         "changed back")
        except OSError:
            try:
                os.chdir(cwd)
            except OSError:
                pass
        self.report.input_calls += len(self.prompts)
        if self.prompts:
            self.report.notes.append(f"input() was called {len(self.prompts)} time(s); it "
                                     "cannot be answered while grading")


# --- the student's modules may share our names ------------------------------------------------

OWN_MODULE_NAMES = ("seeding", "probes", "loader", "definitions", "magics", "figures",
                    "describe", "protocol", "worker", "bootstrap", "tracer", "numpy_compat",
                    "arguments", "scalar_compat", "loops", "fresh")
"""The child's modules are imported as top-level modules: a submission's own ``loader.py`` or
``figures.py`` must still be what *its* ``import loader`` finds while it loads."""


class _Unshadow:
    """While loading, take our modules out of ``sys.modules`` when the student's folders hold a
    module of the same name; put them back afterwards (the worker imports them again by name;
    the student's code keeps its own modules through its namespace)."""

    def __init__(self, folders: list[str]) -> None:
        self.folders = folders
        self.saved: dict[str, types.ModuleType] = {}

    def refresh(self) -> None:
        for name in OWN_MODULE_NAMES:
            module = sys.modules.get(name)
            if module is None or name in self.saved:
                continue
            own_file = os.path.realpath(module.__dict__.get("__file__") or "")
            if not own_file.startswith(CHILD_DIR + os.sep):
                continue
            if any(os.path.exists(os.path.join(folder, name + ".py"))
                   or os.path.isdir(os.path.join(folder, name)) for folder in self.folders):
                self.saved[name] = sys.modules.pop(name)

    def __enter__(self) -> _Unshadow:
        self.refresh()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for name, module in self.saved.items():
            sys.modules[name] = module
        self.saved.clear()


# --- where the student's code is ---------------------------------------------------------------

class _Places:
    """Which files are the student's, and how to name them in messages."""

    def __init__(self, main_file: str | None = None) -> None:
        self.cwd = os.path.realpath(os.getcwd())
        self.main = os.path.realpath(main_file) if main_file else None

    def is_student(self, filename: str) -> bool:
        if CELL_FILE.match(filename):
            return True
        if not filename or filename.startswith("<"):
            return False
        real = os.path.realpath(filename)
        if real.startswith(CHILD_DIR + os.sep):
            return False
        return real == self.main or real.startswith(self.cwd + os.sep)

    def display(self, filename: str | None) -> str | None:
        if not filename:
            return None
        if filename.startswith("<"):
            return filename
        real = os.path.realpath(filename)
        if real.startswith(self.cwd + os.sep):
            return os.path.relpath(real, self.cwd)
        return os.path.basename(filename)


def _frames(tb: types.TracebackType | None) -> list[tuple[str, int, str]]:
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, tb.tb_lineno or 0, code.co_name))
        tb = tb.tb_next
    return frames


def _source_line(filename: str, lineno: int) -> str:
    try:
        return linecache.getline(filename, lineno).strip()
    except Exception:  # noqa: BLE001
        return ""


def _format_traceback(frames: list[tuple[str, int, str]], places: _Places,
                      last_line: str) -> str:
    out = ["Traceback (most recent call last, your code only):"]
    if len(frames) > MAX_TRACEBACK_FRAMES:
        out.append(f"  ... {len(frames) - MAX_TRACEBACK_FRAMES} earlier calls not shown")
        frames = frames[-MAX_TRACEBACK_FRAMES:]
    previous = None
    repeats = 0

    def flush_repeats() -> None:
        if repeats > 3:
            out.append(f"  [Previous line repeated {repeats - 3} more times]")

    for filename, lineno, name in frames:
        key = (filename, lineno, name)
        if key == previous:
            repeats += 1
            if repeats > 3:
                continue
        else:
            flush_repeats()
            previous, repeats = key, 1
        out.append(f'  File "{places.display(filename)}", line {lineno}, in {name}')
        text = _source_line(filename, lineno)
        if text:
            out.append(f"    {text}")
    flush_repeats()
    out.append(last_line)
    text = "\n".join(out)
    if len(text) > MAX_TRACEBACK_CHARS:
        text = text[:MAX_TRACEBACK_CHARS // 2] + "\n  ...\n" + text[-MAX_TRACEBACK_CHARS // 2:]
    return text


def _exception_name(exc: BaseException) -> str:
    try:
        return str(type.__dict__["__name__"].__get__(type(exc)))
    except Exception:  # noqa: BLE001
        return "Exception"


def _one_line(text: str) -> str:
    text = " ".join(text[:4 * MAX_MESSAGE].split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def _exit_code(exc: SystemExit) -> str:
    code = exc.code
    if code is None or type(code) is int or type(code) is bool:
        return repr(code) if code is not None else ""
    if type(code) is str:
        return repr(code[:60])
    return "..."


def _syntax_error(exc: SyntaxError, places: _Places, *, cell: int | None = None,
                  source: str | None = None) -> LoadError:
    # a SyntaxError raised by the student's own code may carry anything in its fields
    filename = exc.filename if type(exc.filename) is str else ""
    lineno = exc.lineno if type(exc.lineno) is int else None
    offset = exc.offset if type(exc.offset) is int else None
    text = exc.text if type(exc.text) is str else None
    if text is None and source is not None and lineno:
        lines = source.splitlines()
        if 0 < lineno <= len(lines):
            text = lines[lineno - 1]
    text = text.rstrip("\r\n")[:500] if text else None
    msg = exc.msg if type(exc.msg) is str else _safe_text(lambda: exc.msg, "")
    message = _one_line(msg or "invalid syntax")
    in_cell = CELL_FILE.match(filename)
    shown = places.display(filename) or "?"
    location = f"{shown}, line {lineno}"
    return LoadError(
        kind="syntax", message=message,
        file=None if in_cell else places.display(filename),
        line=lineno, column=offset,
        cell=int(in_cell.group(1)) if in_cell else cell,
        source_line=text, exception=_exception_name(exc),
        traceback=f'  File "{shown}", line {lineno}\n'
                  + (f"    {text.strip()}\n" if text else "")
                  + f"{_exception_name(exc)}: {message}",
        origin=None if (in_cell or cell is None) else location)


def error_from_exception(exc: BaseException, places: _Places, *,
                         cell: int | None = None) -> LoadError:
    """Turn what the student's code raised into a :class:`LoadError`."""
    name = _exception_name(exc)
    if isinstance(exc, SyntaxError) and not isinstance(exc, LoadTimeout):
        return _syntax_error(exc, places, cell=cell)
    detail = _one_line(_safe_text(lambda: exc, f"<{name} that cannot be shown>"))
    if isinstance(exc, LoadTimeout):
        kind, message = "timeout", f"did not finish within {exc.seconds:g} s"
    elif isinstance(exc, KeyboardInputRequested):
        kind, message = "input", INPUT_MESSAGE
    elif isinstance(exc, SystemExit):
        code = _exit_code(exc)
        kind = "exit"
        message = (f"the program stopped itself there with sys.exit({code}) (or exit()); "
                   "the code after it did not run")
    elif isinstance(exc, KeyboardInterrupt):
        kind = "keyboard_interrupt"
        message = "KeyboardInterrupt: the program stopped as if Ctrl+C had been pressed"
    elif isinstance(exc, MemoryError):
        kind, message = "memory", "ran out of memory" + (f" ({detail})" if detail else "")
    elif isinstance(exc, RecursionError):
        kind = "recursion"
        message = (f"RecursionError: {detail or 'maximum recursion depth exceeded'} (does a "
                   "function call itself without end?)")
    else:
        kind = "exception"
        message = f"{name}: {detail}" if detail else name
    frames = [f for f in _frames(exc.__traceback__) if places.is_student(f[0])]
    error = LoadError(kind=kind, message=_one_line(message), exception=name)
    if isinstance(exc, SystemExit):
        code = exc.code
        error.exit_code = 0 if code is None else (
            int(code) if type(code) in (int, bool) else _one_line(str(code))[:60]
            if type(code) is str else "...")
    last_line = f"{name}: {detail}" if detail else name
    if kind == "timeout":
        last_line = f"stopped here: {message}"
    elif kind == "input":
        last_line = f"stopped here: {message}"
    error.traceback = _format_traceback(frames, places, last_line) if frames else last_line
    if not frames:
        error.cell = cell
        return error
    # where it happened: the innermost student frame; for a timeout, the outermost one (the
    # top-level statement that did not finish), with the innermost as the origin
    where = frames[-1]
    pick = 0 if kind == "timeout" else -1
    if cell is not None:
        own = [f for f in frames if f[0] == f"<cell {cell}>"]
        anchor = own[pick] if own else where
        error.cell = cell
        error.line = anchor[1]
        error.source_line = _source_line(anchor[0], anchor[1]) or None
        if where != anchor:
            error.origin = f"{_where(where[0], places)}, line {where[1]}"
    else:
        anchor = frames[pick]
        match = CELL_FILE.match(anchor[0])
        error.cell = int(match.group(1)) if match else None
        error.file = None if match else places.display(anchor[0])
        error.line = anchor[1]
        error.source_line = _source_line(anchor[0], anchor[1]) or None
        if where != anchor:
            error.origin = f"{_where(where[0], places)}, line {where[1]}"
    return error


def _where(filename: str, places: _Places) -> str:
    match = CELL_FILE.match(filename)
    return f"cell {match.group(1)}" if match else str(places.display(filename))


# --- reading and compiling ---------------------------------------------------------------------

def read_source(path: str) -> tuple[str, str, str | None]:
    """(text, encoding, note): UTF-8 (with or without BOM, or a PEP 263 declaration), else
    cp950, big5, then latin-1 with a note.  Newlines are normalised.  Raises OSError."""
    with open(path, "rb") as handle:
        data = handle.read()
    note = None
    text: str | None = None
    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        try:
            text, encoding = data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            text = None
    if text is None:
        declared = None
        try:
            declared, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except (SyntaxError, LookupError):
            declared = None
        candidates = []
        if declared and codecs.lookup(declared).name not in ("utf-8", "utf-8-sig"):
            candidates.append(declared)
        candidates += ["utf-8", "cp950", "big5", "latin-1"]
        for candidate in candidates:
            try:
                text, encoding = data.decode(candidate), candidate
                break
            except (UnicodeDecodeError, LookupError):
                continue
        assert text is not None  # latin-1 decodes anything
        if encoding in ("cp950", "big5", "latin-1"):
            note = (f"{os.path.basename(path)} is not UTF-8: it was read as {encoding}; "
                    "save it as UTF-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, encoding, note


SOURCE_REWRITE: Callable[[ast.AST], ast.AST] | None = None
"""Applied to the student's code before it is compiled to run (``scalar_compat.rewrite`` while
the grader learns and checks a network; None when the program runs as it is)."""


def _compile_quietly(source: Any, filename: str, mode: str, flags: int,
                     notes: list[str] | None, where: str = "") -> Any:
    """``compile`` with its warnings (invalid escapes, ``is`` with a literal) turned into notes
    instead of stderr output (or errors, under ``-W error``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if SOURCE_REWRITE is not None and not flags & ast.PyCF_ONLY_AST:
            if not isinstance(source, ast.AST):
                source = compile(source, filename, mode, flags=flags | ast.PyCF_ONLY_AST,
                                 dont_inherit=True)
            source = SOURCE_REWRITE(source)
        result = compile(source, filename, mode, flags=flags, dont_inherit=True)
    if notes is not None:
        for warning in caught[:5]:
            line = f"line {warning.lineno}: " if warning.lineno else ""
            text = f"{where}{line}{warning.category.__name__}: {warning.message}"
            if text not in notes:
                notes.append(_one_line(text))
    return result


def _has_relative_import(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.ImportFrom) and node.level > 0 for node in ast.walk(tree))


def _ensure_package(folder: str) -> None:
    """Make ``submission`` a package whose path is the script's folder."""
    existing = sys.modules.get(SYNTHETIC_PACKAGE)
    if existing is not None and list(getattr(existing, "__path__", []) or []) == [folder]:
        return
    package = types.ModuleType(SYNTHETIC_PACKAGE)
    spec = importlib.machinery.ModuleSpec(SYNTHETIC_PACKAGE, None, is_package=True)
    spec.submodule_search_locations = [folder]
    package.__spec__ = spec
    package.__path__ = [folder]
    package.__package__ = SYNTHETIC_PACKAGE
    sys.modules[SYNTHETIC_PACKAGE] = package
    for name in [n for n in sys.modules if n.startswith(SYNTHETIC_PACKAGE + ".")]:
        del sys.modules[name]


def _ensure_on_path(folder: str) -> None:
    if folder not in sys.path:
        sys.path.insert(0, folder)
    importlib.invalidate_caches()


# --- running ----------------------------------------------------------------------------------

def _exec_code(code: types.CodeType, namespace: dict) -> None:
    if code.co_flags & CO_COROUTINE:  # a notebook cell with top-level await
        import asyncio

        asyncio.run(eval(code, namespace))  # noqa: S307 -- the student's own cell
    else:
        exec(code, namespace)  # noqa: S102 -- the student's own code, in the sandbox


def _run_definitions(statements: list[ast.stmt], filename: str, flags: int, namespace: dict,
                     timeout: float | None) -> tuple[list[BaseException], LoadTimeout | None]:
    """Run kept statements one by one: one that raises does not stop the others.  A timeout
    stops them all."""
    codes = []
    for stmt in statements:
        module = ast.Module(body=[stmt], type_ignores=[])
        codes.append(_compile_quietly(module, filename, "exec", flags, None))
    failures: list[BaseException] = []

    def run() -> None:
        for code in codes:
            try:
                _exec_code(code, namespace)
            except LoadTimeout:
                raise
            except BaseException as exc:  # noqa: BLE001 -- recorded, the next one still runs
                failures.append(exc)

    outcome = _run_limited(run, timeout)
    if outcome is not None and not isinstance(outcome, LoadTimeout):
        failures.append(outcome)
        outcome = None
    return failures, outcome


def _finish(report: LoadReport, start: float) -> LoadReport:
    report.ok = not report.errors
    report.seconds = time.perf_counter() - start
    return report


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")


# --- scripts ------------------------------------------------------------------------------------

def _without_magics(source: str, abspath: str, report: LoadReport,
                    first: SyntaxError) -> tuple[ast.AST, str]:
    """The tree and source of a script whose only syntax errors are IPython magics, with
    them neutralised; else ``first`` is raised."""
    neutral = magics.neutralise(source)
    if neutral.skip or not neutral.notes:
        raise first
    try:
        tree = _compile_quietly(neutral.code, abspath, "exec", ast.PyCF_ONLY_AST, report.notes)
    except SyntaxError:
        raise first from None
    report.notes += [f"{report.file}, {note} (IPython syntax)" for note in neutral.notes]
    return tree, neutral.code


def load_script(path: str, namespace: dict, *, mode: str = DEFINITIONS,
                timeout: float | None = 60.0,
                answer_input: Callable[[str], str | None] | None = None) -> LoadReport:
    """Load one script into ``namespace`` (see the module docstring).  ``answer_input(prompt)``
    answers ``input()`` where it returns a string (None: the call fails as it would)."""
    _check_mode(mode)
    start = time.perf_counter()
    abspath = os.path.abspath(path)
    places = _Places(abspath)
    display = places.display(abspath) or os.path.basename(abspath)
    report = LoadReport(kind="script", mode=mode, file=display)
    try:
        source, encoding, note = read_source(abspath)
    except OSError as exc:
        report.errors.append(LoadError(kind="decode", file=display, exception=type(exc).__name__,
                                       message=f"cannot read {display}: {exc.strerror or exc}"))
        return _finish(report, start)
    report.encoding = encoding
    if note:
        report.notes.append(note)
    try:
        try:
            tree = _compile_quietly(source, abspath, "exec", ast.PyCF_ONLY_AST, report.notes)
        except SyntaxError as first:
            # a notebook exported as a script keeps its magics (``%matplotlib inline``, ``!pip
            # install``): neutralised as in a notebook, else the first error stands
            tree, source = _without_magics(source, abspath, report, first)
        code = _compile_quietly(tree, abspath, "exec", 0, report.notes)
    except SyntaxError as exc:
        report.errors.append(_syntax_error(exc, places, source=source))
        return _finish(report, start)
    except ValueError as exc:  # null bytes (Python 3.11)
        report.errors.append(LoadError(kind="syntax", file=display, exception="ValueError",
                                       message=f"{exc} (is it really a Python file?)"))
        return _finish(report, start)

    folder = os.path.dirname(abspath)
    _ensure_on_path(folder)
    namespace["__name__"] = "__main__"
    namespace["__file__"] = abspath
    namespace["__cached__"] = None
    namespace.setdefault("__doc__", None)
    if _has_relative_import(tree):
        _ensure_package(folder)
        namespace["__package__"] = SYNTHETIC_PACKAGE
        namespace["__spec__"] = None
        report.notes.append(f"{display} uses relative imports: it was loaded as a module of a "
                            f"package '{SYNTHETIC_PACKAGE}' made of its folder")
    else:
        namespace.setdefault("__package__", None)
        namespace.setdefault("__spec__", None)

    guessed = arguments.guessed_argv(source) or []
    if guessed and mode == EXECUTE:
        report.notes.append(f"{display} reads sys.argv: it was run as `python {display} "
                            f"{' '.join(guessed)}`, the words its code compares them with")
    with _Surroundings([display, *guessed], report, answer_input), \
            _Unshadow([folder, places.cwd]):
        if mode == EXECUTE:
            namespace["__doc__"] = ast.get_docstring(tree, clean=False)
            _run_with_figures(lambda: _exec_code(code, namespace), timeout, report, places)
        else:
            _script_definitions(source, abspath, namespace, timeout, report, places)
    return _finish(report, start)


def _script_definitions(source: str, abspath: str, namespace: dict, timeout: float | None,
                        report: LoadReport, places: _Places) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = definitions.definitions_only(source, abspath)
    report.dropped = result.dropped
    report.needs_execute = result.needed_dropped_names
    if result.needed_dropped_names:
        report.notes.append("the kept definitions use names that only the dropped top-level "
                            "code defines: " + ", ".join(result.needed_dropped_names))
    namespace["__doc__"] = result.docstring
    flags = definitions.future_flags(result.module)
    failures, timed_out = _run_definitions(result.module.body, abspath, flags, namespace,
                                           timeout)
    for exc in failures:
        report.errors.append(error_from_exception(exc, places))
    if timed_out is not None:
        report.errors.append(error_from_exception(timed_out, places))
        report.notes.append("the definitions after the one that ran out of time were not "
                            "loaded")


def _run_with_figures(func: Callable[[], None], timeout: float | None, report: LoadReport,
                      places: _Places) -> None:
    capture = figures.capture_figures()
    captured = capture.__enter__()
    try:
        failure = _run_limited(func, timeout)
        if failure is not None:
            report.errors.append(error_from_exception(failure, places))
        _flush_figures(captured, report)
    finally:
        capture.__exit__(None, None, None)
    report.figures = list(captured.pngs)
    report.notes += [n for n in captured.notes if n not in report.notes]


def _flush_figures(captured: figures.CapturedFigures, report: LoadReport) -> None:
    failure = _run_limited(captured.flush, FIGURE_FLUSH_TIMEOUT)
    if failure is not None:
        captured.discard()
        report.notes.append(f"the open figures could not be saved ({_exception_name(failure)})")


# --- notebooks ----------------------------------------------------------------------------------

def _register_cell(filename: str, code: str) -> None:
    lines = [line + "\n" for line in code.split("\n")]
    linecache.cache[filename] = (len(code), None, lines, filename)


def load_notebook(cells: list[str], namespace: dict, *, mode: str = DEFINITIONS,
                  cell_timeout: float | None = 60.0,
                  on_cell_start: Callable[[int], None] | None = None,
                  skip_cells: Iterable[int] = frozenset(),
                  answer_input: Callable[[str], str | None] | None = None,
                  after_cell: Callable[[int], None] | None = None,
                  total_timeout: float | None = None) -> LoadReport:
    """Run a notebook's code cells (their sources, in order) into ``namespace``.

    Each cell is neutralised (``magics.py``) and runs under its own time limit; a cell that
    raises or runs out of time is recorded and the following cells still run.  In definitions
    mode only each cell's definitions run.  ``on_cell_start(index)`` is called just before a
    cell's code runs, ``after_cell(index)`` just after; cells in ``skip_cells`` (0-based
    indices) are not run at all.  ``total_timeout``: the most the whole notebook may take (a
    program run under a budget); the cell running when it is over stops there, as a timeout,
    and the cells after it are not run, so that what ran is still reported.
    """
    _check_mode(mode)
    start = time.perf_counter()
    skip = set(skip_cells)
    places = _Places(None)
    report = LoadReport(kind="notebook", mode=mode)
    namespace["__name__"] = "__main__"
    namespace.setdefault("__doc__", None)
    namespace.setdefault("__package__", None)
    namespace.setdefault("__spec__", None)
    for name, value in magics.ipython_stub_namespace().items():
        namespace.setdefault(name, value)
    _ensure_on_path(places.cwd)

    state = _NotebookState()
    deadline = time.perf_counter() + total_timeout if total_timeout else None
    capture = figures.capture_figures() if mode == EXECUTE else None
    captured = capture.__enter__() if capture is not None else None
    try:
        with _Surroundings(["notebook"], report, answer_input), \
                _Unshadow([places.cwd]) as unshadow:
            for index, source in enumerate(cells):
                cell = CellReport(index=index, number=index + 1)
                report.cells.append(cell)
                began = time.perf_counter()
                left = deadline - time.perf_counter() if deadline is not None else None
                if index in skip or (left is not None and left <= 0):
                    cell.status = "skipped"
                    cell.notes.append("not run: it did not finish on an earlier attempt"
                                      if index in skip else
                                      "not run: the notebook's time ran out")
                    if after_cell is not None:
                        after_cell(index)  # for every cell, run or not: what is kept after
                        # each cell stays in step with the cells' numbers
                    continue
                limit, cut = cell_timeout, False
                if left is not None and (not limit or limit <= 0 or left < limit):
                    limit, cut = left, True
                seen = len(report.errors)
                _run_cell(_cell_text(source), cell, namespace, mode, limit,
                          on_cell_start, report, places, state)
                if cut and cell.status == "timeout" and len(report.errors) > seen:
                    _whole_notebook_timeout(report.errors[-1], total_timeout)
                if after_cell is not None:
                    after_cell(index)
                unshadow.refresh()  # a %%writefile cell may have written a loader.py
                if captured is not None:
                    _flush_figures(captured, report)
                cell.seconds = time.perf_counter() - began
    finally:
        if capture is not None and captured is not None:
            capture.__exit__(None, None, None)
            report.figures = list(captured.pngs)
            report.notes += [n for n in captured.notes if n not in report.notes]
    if mode == DEFINITIONS:
        needed = (state.reads - state.kept) & state.dropped_names
        report.needs_execute = sorted(needed)
        if needed:
            report.notes.append("the kept definitions use names that only dropped top-level "
                                "code defines: " + ", ".join(sorted(needed)))
    return _finish(report, start)


def _whole_notebook_timeout(error: LoadError, total_timeout: float | None) -> None:
    """A cell stopped because the notebook's time ran out, not its own: say so, in the
    message and in the traceback's last line (which gave the few seconds the cell had left)."""
    said = f"did not finish within {total_timeout:g} s, the time for the whole notebook"
    if error.traceback:
        head, _, last = error.traceback.rpartition("\n")
        if last.startswith("stopped here: "):
            error.traceback = (head + "\n" if head else "") + f"stopped here: {said}"
    error.message = said


class _NotebookState:
    def __init__(self) -> None:
        self.flags = 0
        self.reads: set[str] = set()
        self.kept: set[str] = set()
        self.dropped_names: set[str] = set()


def _cell_text(source: Any) -> str:
    if isinstance(source, (list, tuple)):
        return "".join(str(part) for part in source)
    return str(source)


def _run_cell(source: str, cell: CellReport, namespace: dict, mode: str,
              timeout: float | None, on_cell_start: Callable[[int], None] | None,
              report: LoadReport, places: _Places, state: _NotebookState) -> None:
    number = cell.number
    neutral = magics.neutralise(source)
    cell.notes += neutral.notes
    if neutral.writefile is not None:
        _write_file(neutral, cell, report, places)
        return
    if neutral.skip:
        cell.status = "not-python"
        return
    filename = f"<cell {number}>"
    _register_cell(filename, neutral.code)
    top_level_await = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    try:
        tree = _compile_quietly(neutral.code, filename, "exec",
                                ast.PyCF_ONLY_AST | top_level_await | state.flags, cell.notes)
        code = _compile_quietly(tree, filename, "exec", top_level_await | state.flags,
                                cell.notes)
    except SyntaxError as exc:
        report.errors.append(_syntax_error(exc, places, cell=number, source=neutral.code))
        cell.status = "error"
        return
    except ValueError as exc:
        report.errors.append(LoadError(kind="syntax", cell=number, exception="ValueError",
                                       message=str(exc)))
        cell.status = "error"
        return
    state.flags |= definitions.future_flags(tree)

    if mode == EXECUTE:
        if on_cell_start is not None:
            on_cell_start(cell.index)
        failure = _run_limited(lambda: _exec_code(code, namespace), timeout)
        if failure is not None:
            error = error_from_exception(failure, places, cell=number)
            report.errors.append(error)
            cell.status = "timeout" if error.kind == "timeout" else "error"
        return

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = definitions.definitions_only(neutral.code, filename)
    for dropped in result.dropped:
        dropped.cell = number
    report.dropped += result.dropped
    state.reads |= set(result.global_reads)
    state.kept |= set(result.kept_names)
    state.dropped_names |= set(result.dropped_names)
    if result.dropped:
        cell.notes.append(f"{len(result.dropped)} top-level statement(s) not run "
                          "(definitions mode)")
    if on_cell_start is not None:
        on_cell_start(cell.index)
    failures, timed_out = _run_definitions(result.module.body, filename, state.flags,
                                           namespace, timeout)
    for exc in failures:
        report.errors.append(error_from_exception(exc, places, cell=number))
    if timed_out is not None:
        report.errors.append(error_from_exception(timed_out, places, cell=number))
        cell.status = "timeout"
    elif failures:
        cell.status = "error"


def _write_file(neutral: magics.Neutralised, cell: CellReport, report: LoadReport,
                places: _Places) -> None:
    """``%%writefile name``: write the cell's text into the working directory, as Jupyter."""
    assert neutral.writefile is not None
    name, text = neutral.writefile
    target = os.path.realpath(os.path.join(places.cwd, name))
    if not target.startswith(places.cwd + os.sep):
        report.errors.append(LoadError(
            kind="exception", cell=cell.number, exception="PermissionError",
            message=f"%%writefile {name}: only files inside the submission's folder can be "
                    "written"))
        cell.status = "error"
        return
    try:
        with open(target, "a" if neutral.writefile_append else "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        report.errors.append(LoadError(kind="exception", cell=cell.number,
                                       exception=type(exc).__name__,
                                       message=f"%%writefile {name}: {exc.strerror or exc}"))
        cell.status = "error"
        return
    importlib.invalidate_caches()
    linecache.checkcache(target)
    cell.status = "ok"
    cell.notes.append(f"wrote {os.path.relpath(target, places.cwd)} "
                      f"({text.count(chr(10))} lines)")
