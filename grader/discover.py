"""The "discover" stage: turn a path into :class:`Submission` records.

A path may be one ``.py``, one ``.ipynb``, one ``.zip``, one folder that is a single submission,
or a folder of submissions (a class's batch).  Every submission is copied or safely extracted
into its own folder under ``workdir`` (``Submission.root``), so later stages never read the
input again, never see a single file's siblings, and never write next to the TA's files.

Everything here is parent-side: student files are read, parsed with :mod:`ast` and copied, but
never executed or imported.  One broken submission becomes a :class:`Submission` whose
``errors`` say why in a sentence; it never stops the batch.  Only the TA's own mistakes (a path
that does not exist, a malformed roster) raise :class:`DiscoveryError`.

Batch or single folder (``layout="auto"``), decided from the folder's top level only:

1. entries (files or sub-folders) carrying **two or more different student ids** in their
   names (``DLP_LAB1_0756172_...``, ``0756173_...``): a batch;
2. else a top-level ``.py``/``.ipynb`` that **defines the graded class** (a class named in
   ``main_class_names`` or ``main_class_aliases``, or one with a method of every role of
   ``main_method_names``): one submission;
3. else any top-level **``.zip``**: a batch;
4. else any top-level ``.py``/``.ipynb``: one submission;
5. else (only sub-folders and other files): a batch of its sub-folders if some sub-folder holds
   source files, the folder's own name carries no student id, it has no top-level PDF report,
   and there are two such sub-folders or one whose name carries an id; otherwise one submission.

In a batch, every sub-folder, ``.zip``, ``.py`` and ``.ipynb`` is one submission, as is any other
file whose name carries a student id (a lone report, a ``.rar``); other files (``README.md``,
the roster) and hidden entries are ignored.  ``layout="single"`` or ``"batch"`` overrides the rule.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import os
import re
import shutil
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Literal, Sequence

from grader.archive import (ArchiveError, ExtractionLimits, SizeLimitExceeded, SkippedEntry,
                            copy_limited, decode_legacy_name, extract_zip, junk_reason)

__all__ = [
    "DiscoveryError",
    "ParsedName",
    "RosterEntry",
    "Submission",
    "discover",
    "missing_students",
    "parse_submission_name",
    "read_roster",
    "read_times",
]

SOURCE_KINDS: dict[str, Literal["script", "notebook"]] = {".py": "script", ".ipynb": "notebook"}
# Archive formats students send instead of a zip; they are named in the error, never opened.
OTHER_ARCHIVES = {".rar": "RAR", ".7z": "7-Zip", ".tar": "tar", ".gz": "gzip", ".tgz": "gzip",
                  ".bz2": "bzip2", ".xz": "xz"}
MAX_PARSE_BYTES = 2_000_000  # a Lab1 script is ~5 kB; larger files are chosen by name only
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024  # notebooks carry outputs (plots), hence a larger cap
MAIN_NAME_HINTS = ("main", "lab1", "lab")  # stems, besides the submission's own name

SubmittedAtSource = Literal["zip-entries", "mtime", "csv"]


class DiscoveryError(Exception):
    """A problem with what the TA asked for (a missing path, a malformed CSV): stops discovery."""


# --- student id and name from a file name -----------------------------------------------------

@dataclass(frozen=True)
class ParsedName:
    """What a submission's file or folder name says about its author."""

    student_id: str | None
    student_name: str | None


_SEPARATORS = re.compile(r"[_\-\s]+")
_ID = re.compile(r"[A-Za-z]?\d{5,10}")
_PREFIX = re.compile(r"(dlp|lab\d*|hw\d*|homework\d*)", re.IGNORECASE)
# What students append to a name they submit twice: "(1)", "- Copy", "_final", "v2" ...
_COPY_SUFFIX = re.compile(r"\s*(\(\d+\)|\[\d+\]|-\s*(copy|複製|副本))\s*$", re.IGNORECASE)
_NOISE_TOKENS = re.compile(r"(v\d+|ver\d+|final|new|copy|revised|resubmit|updated|\d{1,3})",
                           re.IGNORECASE)


def _looks_like_date(token: str) -> bool:
    """``20240321``: a date students put in file names, not an 8-digit student id."""
    if len(token) != 8 or not token.isdigit() or not token.startswith("20"):
        return False
    try:
        date(int(token[:4]), int(token[4:6]), int(token[6:]))
    except ValueError:
        return False
    return True


def _is_id(token: str) -> bool:
    return bool(_ID.fullmatch(token)) and not _looks_like_date(token)


def parse_submission_name(name: str) -> ParsedName:
    """Student id and name from ``DLP_LAB1_0756172_鍾嘉峻.zip`` and the ways students vary it.

    Accepted: any extension (removed), a ``DLP``/``LABn``/``HWn`` prefix in any case, ``_``,
    ``-`` or spaces as separators, ids of 5-10 digits with an optional leading letter
    (``A0756172``, ``r09922001``), Chinese or Latin names with spaces, copy suffixes such as
    `` (1)``, ``- Copy`` or ``_final``.  Without an id, the id is ``None`` and the name is what
    remains of the stem once the prefix is removed (or the stem itself).
    """
    stem = unicodedata.normalize("NFC", name).strip()
    suffix = PurePosixPath(stem).suffix
    if suffix and suffix[1:].isalnum() and not suffix[1:].isdigit():
        stem = stem[: -len(suffix)]
    while _COPY_SUFFIX.search(stem):
        stem = _COPY_SUFFIX.sub("", stem)
    tokens = [token for token in _SEPARATORS.split(stem) if token]
    # Drop the course prefix: "DLP", "LAB1", "Lab", "1" right after "Lab".
    while tokens and (_PREFIX.fullmatch(tokens[0])
                      or (tokens[0].isdigit() and len(tokens[0]) <= 2)):
        tokens.pop(0)
    ids = [i for i, token in enumerate(tokens) if _is_id(token)]
    if not ids:
        rest = " ".join(tokens)
        # "lab1_20240321" leaves only a date: the whole stem says more than that.
        return ParsedName(None, rest if rest and not rest.isdigit() else (stem or None))
    at = ids[0]
    name_tokens = tokens[:at] + tokens[at + 1:]
    while name_tokens and _NOISE_TOKENS.fullmatch(name_tokens[-1]):
        name_tokens.pop()
    return ParsedName(tokens[at], " ".join(name_tokens) or None)


def _id_key(student_id: str) -> str:
    """Ids compared without case and leading zeros: Excel drops the zero of ``0756172``."""
    return student_id.strip().upper().lstrip("0") or "0"


# --- roster and submission times --------------------------------------------------------------

@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster CSV, with the line it came from (for messages)."""

    student_id: str
    name: str
    line: int


def _csv_rows(path: Path, columns: tuple[str, ...], what: str
              ) -> Iterable[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for every non-empty data row of a CSV with a required header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DiscoveryError(f"{what} file {path} does not exist") from None
    except UnicodeDecodeError:
        raise DiscoveryError(f"{what} file {path} is not UTF-8 text; save it as 'CSV UTF-8'"
                             ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for row in reader:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if header is None:
            header = [cell.casefold() for cell in cells]
            missing = [column for column in columns if column not in header]
            if missing:
                found = ", ".join(repr(cell) for cell in cells)
                wanted = " and ".join(repr(column) for column in columns)
                raise DiscoveryError(f"{what} file {path}, line {reader.line_num}: the first "
                                     f"line must be a header naming the columns {wanted} "
                                     f"(found {found})")
            continue
        values = {column: (cells[header.index(column)] if header.index(column) < len(cells)
                           else "") for column in columns}
        yield reader.line_num, values
    if header is None:
        raise DiscoveryError(f"{what} file {path} is empty: it needs a header line naming the "
                             f"columns {', '.join(columns)}")


def _unique_ids(path: Path, what: str, rows: Iterable[tuple[int, dict[str, str]]]
                ) -> Iterable[tuple[int, dict[str, str]]]:
    """Pass rows through, refusing empty and duplicate ids with the lines involved."""
    first_line: dict[str, int] = {}
    for line, row in rows:
        student_id = row["id"]
        if not student_id:
            raise DiscoveryError(f"{what} file {path}, line {line}: the id is empty")
        key = _id_key(student_id)
        if key in first_line:
            raise DiscoveryError(f"{what} file {path}, line {line}: student id {student_id} "
                                 f"appears twice (first on line {first_line[key]})")
        first_line[key] = line
        yield line, row


def read_roster(path: Path | str) -> dict[str, RosterEntry]:
    """The roster CSV (header with ``id`` and ``name``; extra columns ignored; UTF-8, BOM or not).

    Returned by normalised id (see ``_id_key``).  A missing header, an empty or duplicate id
    raises :class:`DiscoveryError` naming the file and the line.
    """
    path = Path(path)
    roster: dict[str, RosterEntry] = {}
    for line, row in _unique_ids(path, "roster", _csv_rows(path, ("id", "name"), "roster")):
        roster[_id_key(row["id"])] = RosterEntry(row["id"], row["name"], line)
    return roster


def _aware(moment: datetime, tz: tzinfo | None) -> datetime:
    """A naive time read in ``tz`` (``None``: the machine's zone); aware times are kept."""
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=tz) if tz else moment.astimezone()


def read_times(path: Path | str, tz: tzinfo | None = None) -> dict[str, datetime]:
    """Submission times from a CSV with columns ``id`` and ``submitted_at`` (ISO 8601).

    Times without a zone are read in ``tz`` (``None``: the grading machine's zone).  Returned by
    normalised id; a bad time or a duplicate id raises :class:`DiscoveryError` with the line.
    """
    path = Path(path)
    times: dict[str, datetime] = {}
    rows = _csv_rows(path, ("id", "submitted_at"), "submission-time")
    for line, row in _unique_ids(path, "submission-time", rows):
        try:
            moment = datetime.fromisoformat(row["submitted_at"])
        except ValueError:
            raise DiscoveryError(f"submission-time file {path}, line {line}: "
                                 f"{row['submitted_at']!r} is not an ISO 8601 time such as "
                                 "2024-03-21T23:59:00+08:00") from None
        times[_id_key(row["id"])] = _aware(moment, tz)
    return times


# --- the result -------------------------------------------------------------------------------

@dataclass
class Submission:
    """One student's submission, found and copied, ready for the loader.

    ``root`` is a private folder under ``workdir`` holding the submission's files: the extracted
    zip, a copy of the folder, or, for a single file, a folder holding only a copy of that file
    (its siblings are never dragged in).  ``files``, ``main`` and ``sources`` are POSIX paths
    relative to ``root``.  ``errors`` are problems that make grading impossible, one sentence
    each for the student (a refused zip, no source file, an unreadable notebook chosen as the
    main file): when it is not empty, the result is ``graded: false``.  ``notes`` are things a
    TA should know that do not stop grading (unsafe zip entries skipped, several candidate
    files, an id that is not in the roster).  ``skipped`` lists every entry left out, junk
    included.  A main file that does not parse is *not* an error here: the loader
    reports its syntax error with the line.
    """

    key: str
    student_id: str | None
    student_name: str | None
    source: Path
    source_type: Literal["zip", "file", "folder"]
    root: Path
    sha256: str
    files: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    main: str | None = None
    main_reason: str | None = None
    main_class: str | None = None
    kind: Literal["script", "notebook"] | None = None
    entry: str | None = None
    """The program the student runs (the main file, or the file that runs and imports it): what
    the program check runs and what the grader learns the network's training from."""
    entry_kind: Literal["script", "notebook"] | None = None
    submitted_at: datetime | None = None
    submitted_at_source: SubmittedAtSource | None = None
    size_bytes: int = 0
    has_report_pdf: bool = False
    report_pdfs: list[str] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing stops the loader from trying this submission."""
        return not self.errors and self.main is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, for ``result.json``'s ``student`` and ``submission`` parts."""
        return {
            "key": self.key, "student_id": self.student_id, "student_name": self.student_name,
            "source": str(self.source), "source_type": self.source_type, "root": str(self.root),
            "sha256": self.sha256, "files": list(self.files), "sources": list(self.sources),
            "main": self.main, "main_reason": self.main_reason, "main_class": self.main_class,
            "kind": self.kind, "entry": self.entry, "entry_kind": self.entry_kind,
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "submitted_at_source": self.submitted_at_source, "size_bytes": self.size_bytes,
            "has_report_pdf": self.has_report_pdf, "report_pdfs": list(self.report_pdfs),
            "skipped": [{"name": s.name, "reason": s.reason, "code": s.code}
                        for s in self.skipped],
            "errors": list(self.errors), "notes": list(self.notes),
        }


# --- reading sources without running them -----------------------------------------------------

@dataclass
class _SourceInfo:
    """What static analysis found in one ``.py`` or ``.ipynb`` file."""

    path: str
    kind: Literal["script", "notebook"]
    size: int
    classes: dict[str, set[str]] = field(default_factory=dict)  # class -> methods, source order
    problem: str | None = None  # why it could not be (fully) read, one sentence
    scanned: bool = False  # classes found by a text scan because the file does not parse
    unreadable: bool = False  # a notebook that nbformat cannot read at all
    imports: set[str] = field(default_factory=set)  # every module name part it imports
    runs: bool = False  # has top-level code that runs (a program, not only definitions)


def _class_methods(tree: ast.AST) -> dict[str, set[str]]:
    """Every class of the module with its methods, including those of bases defined alongside.

    ``class Net(Base)`` where ``Base`` (same file) defines ``predict`` still has ``predict``.
    The walk up the bases is iterative and visits at most ``_MAX_BASES`` classes per class, so
    a hostile file with a 100,000-class chain (or a cycle) costs the parent nothing.
    """
    nodes = sorted((node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)),
                   key=lambda node: (node.lineno, node.col_offset))
    own = {node.name: {item.name for item in node.body
                       if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
           for node in nodes}
    bases = {node.name: [b.id for b in node.bases if isinstance(b, ast.Name)] for node in nodes}

    def methods(name: str) -> set[str]:
        result, seen, todo = set(), {name}, [name]
        while todo and len(seen) <= _MAX_BASES:
            current = todo.pop()
            result |= own.get(current, set())
            for base in bases.get(current, ()):
                if base in own and base not in seen:
                    seen.add(base)
                    todo.append(base)
        return result

    return {node.name: methods(node.name) for node in nodes}


_MAX_BASES = 50
_CLASS_LINE = re.compile(r"class\s+([A-Za-z_]\w*)")
_DEF_LINE = re.compile(r"\s+(?:async\s+)?def\s+([A-Za-z_]\w*)")


def _scan_classes(text: str) -> dict[str, set[str]]:
    """A line-based guess of classes and methods, for a file that does not parse.

    A class starts at a column-0 ``class`` line and ends at the next column-0 statement; indented
    ``def`` lines in between are its methods.  Good enough to recognise the graded class in a
    file with one missing colon; the loader reports the syntax error itself.
    """
    classes: dict[str, set[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            match = _CLASS_LINE.match(line)
            current = match.group(1) if match else None
            if current:
                classes.setdefault(current, set())
            continue
        match = _DEF_LINE.match(line)
        if current and match:
            classes[current].add(match.group(1))
    return classes


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                ast.Assign, ast.AnnAssign, ast.Pass)


def _program_facts(tree: ast.Module) -> tuple[set[str], bool]:
    """The module names it imports (every dotted part, relative imports included), and whether
    it runs anything at the top level (a call, a loop, ``if __name__ == "__main__":``): the
    program a student runs, as opposed to a module of definitions it imports."""
    imports: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(part for alias in node.names for part in alias.name.split("."))
        elif isinstance(node, ast.ImportFrom):
            imports.update((node.module or "").split(".") if node.module else ())
            if node.level:  # from . import model
                imports.update(alias.name for alias in node.names)
    imports.discard("")
    modules = {alias.asname or alias.name.split(".")[0] for node in tree.body
               if isinstance(node, ast.Import) for alias in node.names}
    return imports, any(_runs(node, modules) for node in tree.body)


def _runs(node: ast.stmt, modules: set[str]) -> bool:
    """Whether a top-level statement runs the program: a loop, ``if __name__ ...``, a call of
    the file's own code.  A docstring or a library's setup call (``np.random.seed(16)``,
    ``warnings.filterwarnings(...)``) in a module of definitions does not."""
    if isinstance(node, _DEFINITIONS):
        return False
    if isinstance(node, ast.Expr):
        if isinstance(node.value, ast.Constant):
            return False
        if isinstance(node.value, ast.Call):
            root = node.value.func
            while isinstance(root, ast.Attribute):
                root = root.value
            return not (isinstance(root, ast.Name) and root.id in modules)
    return True


def _parse_classes(source: str | bytes) -> tuple[dict[str, set[str]], str | None]:
    """Classes of ``source`` by parsing it (never running it), or by a text scan if that fails."""
    try:
        # Student code triggers SyntaxWarning/DeprecationWarning ("\d"); they are not ours.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        text = source if isinstance(source, str) else source.decode("utf-8", "replace")
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return _scan_classes(text), reason
    return _class_methods(tree), None


_MAGIC_LINE = re.compile(r"^(\s*)[%!]")


def _cell_python(source: str) -> str | None:
    """A code cell as plain Python: line magics and shell escapes become ``pass``.

    Cell magics (``%%bash``) make the whole cell something else: ``None``.
    """
    if source.lstrip().startswith("%%"):
        return None
    lines = []
    for line in source.splitlines():
        magic = _MAGIC_LINE.match(line)
        lines.append(magic.group(1) + "pass" if magic else line)  # keeps the block structure
    return "\n".join(lines) + "\n"


def _analyze_notebook(path: Path, info: _SourceInfo) -> None:
    try:
        text = path.read_text(encoding="utf-8")
        captured: dict[str, Any] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import nbformat  # only for notebooks: it is slow to import

            notebook = nbformat.reads(text, as_version=4, capture_validation_error=captured)
        cells = [cell.get("source", "") for cell in notebook.get("cells", [])
                 if cell.get("cell_type") == "code"]
    except Exception as exc:  # nbformat raises many kinds on malformed input; all mean "unreadable"
        info.unreadable = True
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        info.problem = (f"The notebook {info.path!r} cannot be read ({detail[:200]}); please "
                        "save it again from Jupyter and resubmit.")
        return
    code = [python for python in map(_cell_python, cells) if python]
    if sum(len(c) for c in code) > MAX_PARSE_BYTES:
        info.problem = f"the notebook {info.path!r} has more code than the grader parses"
        return
    info.runs = True  # a notebook is run cell by cell
    failures = []
    for number, cell in enumerate(code, 1):
        classes, reason = _parse_classes(cell)
        if not reason:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                info.imports |= _program_facts(ast.parse(cell))[0]
        for name, methods in classes.items():
            info.classes.setdefault(name, set()).update(methods)
        if reason:
            failures.append(number)
    if failures:
        info.problem = f"code cells {failures} of {info.path!r} do not parse"
    elif "ValidationError" in captured:
        info.problem = f"the notebook {info.path!r} does not follow the notebook format"


def _analyze(root: Path, relative: str) -> _SourceInfo:
    """Static facts about one source file; never raises for bad content."""
    path = root / relative
    kind = SOURCE_KINDS[PurePosixPath(relative).suffix.lower()]
    info = _SourceInfo(relative, kind, path.stat().st_size)
    if kind == "notebook":
        if info.size > MAX_NOTEBOOK_BYTES:
            info.problem = f"the notebook {relative!r} is too large to read"
            info.unreadable = True
        else:
            _analyze_notebook(path, info)
        return info
    if info.size > MAX_PARSE_BYTES:
        info.problem = f"{relative!r} is larger than {MAX_PARSE_BYTES} bytes and was not parsed"
        return info
    raw = path.read_bytes()
    info.classes, reason = _parse_classes(raw)
    if not reason:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info.imports, info.runs = _program_facts(ast.parse(raw))
    if reason:
        info.problem = f"{relative!r} does not parse ({reason})"
        info.scanned = True
    return info


# --- choosing the main file -------------------------------------------------------------------

@dataclass(frozen=True)
class _Choice:
    info: _SourceInfo
    reason: str
    main_class: str | None
    also: list[str]  # other files that qualified as well, for the TA's notes


def _preference(info: _SourceInfo, hints: set[str]) -> tuple:
    """Tie-break among equally qualified files: shallow, named like a main file, a script,
    large, then by path (so the choice is deterministic)."""
    path = PurePosixPath(info.path)
    return (len(path.parts), path.stem.casefold() not in hints, info.kind != "script",
            -info.size, info.path)


MethodRoles = tuple[tuple[str, ...], ...]
"""Accepted method names per role (forward, backward, update): a class plays the graded part
when it has one name of every role."""


def method_roles(method_names: Sequence[str | Sequence[str]]) -> MethodRoles:
    """``("predict", ("backprop", "backward"))`` -> ``(("predict",), ("backprop", "backward"))``."""
    return tuple((role,) if isinstance(role, str) else tuple(role) for role in method_names)


def _has_roles(found: set[str], roles: MethodRoles) -> bool:
    return all(any(name in found for name in role) for role in roles)


def _with_methods(info: _SourceInfo, roles: MethodRoles) -> list[str]:
    return [name for name, found in info.classes.items() if _has_roles(found, roles)]


def _scanned(info: _SourceInfo) -> str:
    return " (found by a text scan: the file does not parse)" if info.scanned else ""


def _named(rank: list[_SourceInfo], names: tuple[str, ...], roles: MethodRoles,
           complete_only: bool) -> _Choice | None:
    """The best file defining a class called one of ``names`` (in their order of preference);
    one whose class also has the methods beats a stub."""
    named = [i for i in rank if any(name in i.classes for name in names)]
    complete = [i for i in named
                if any(_has_roles(i.classes.get(name, set()), roles) for name in names)]
    pool = complete if complete_only else (complete or named)
    if not pool:
        return None
    best = pool[0]
    found = [name for name in names if name in best.classes]
    cls = next((name for name in found if _has_roles(best.classes[name], roles)), found[0])
    return _Choice(best, f"defines class {cls}{_scanned(best)}", cls,
                   [i.path for i in named if i is not best])


def _choose_main(infos: list[_SourceInfo], hints: set[str], class_names: tuple[str, ...],
                 method_names: Sequence[str | Sequence[str]],
                 class_aliases: tuple[str, ...] = ()) -> _Choice | None:
    """The main source file, by the rules in order; see :func:`discover`."""
    if not infos:
        return None
    roles = method_roles(method_names)
    rank = sorted(infos, key=lambda info: _preference(info, hints))
    methods = ", ".join(role[0] for role in roles)
    # a lab name, even on a stub, is the strongest sign; an alias ("Model", "Network") is
    # common enough in helper files that it counts only with the methods
    choice = (_named(rank, class_names, roles, complete_only=False)
              or _named(rank, class_aliases, roles, complete_only=True))
    if choice:
        return choice
    typed = [i for i in rank if _with_methods(i, roles)]
    if typed:
        best = typed[0]
        cls = _with_methods(best, roles)[0]
        return _Choice(best, f"defines class {cls} with {methods} (no class named "
                             f"{' or '.join(class_names)}){_scanned(best)}", cls,
                       [i.path for i in typed if i is not best])
    choice = _named(rank, class_aliases, roles, complete_only=False)
    if choice:
        return choice
    if len(rank) == 1:
        return _Choice(rank[0], "the only Python source or notebook", None, [])
    hinted = [i for i in rank if PurePosixPath(i.path).stem.casefold() in hints]
    if hinted:
        return _Choice(hinted[0], f"named like a main file ({PurePosixPath(hinted[0].path).name})",
                       None, [i.path for i in hinted[1:]])
    largest = min(rank, key=lambda info: (-info.size, info.path))
    return _Choice(largest, f"the largest of {len(rank)} source files", None, [])


def _choose_entry(infos: list[_SourceInfo], main: _SourceInfo | None, hints: set[str]
                  ) -> _SourceInfo | None:
    """The program the student runs: the main file when it runs something itself, else a file
    that runs and imports the main file's module (``main.py`` importing ``model.py``, a
    notebook importing the module beside it), the best named first."""
    if main is None or main.runs:
        return main
    # main.py importing train.py importing model.py: the program is the file that runs, at
    # the end of the chain of imports that reaches the main file's module
    reached, stems = [main], _stems(main)
    while True:
        more = [i for i in infos if i not in reached
                and stems & {name.casefold() for name in i.imports}]
        if not more:
            break
        reached += more
        stems |= {stem for i in more for stem in _stems(i)}
    importers = [i for i in reached if i.runs and i is not main]
    if not importers:
        return main
    return min(importers, key=lambda info: _preference(info, hints))


def _stems(info: _SourceInfo) -> set[str]:
    return {part.casefold() for part in PurePosixPath(info.path).with_suffix("").parts}


# --- copying and extracting into workdir ------------------------------------------------------

@dataclass
class _Contents:
    """What landed in a submission's staging folder."""

    files: list[str] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    total_bytes: int = 0
    entry_times: dict[str, datetime] = field(default_factory=dict)
    sha256: str = ""
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _tree_sha256(digests: dict[str, tuple[int, str]]) -> str:
    """A folder's hash: sorted relative paths, each with its size and content hash.

    Independent of the walk order, file times and junk, so the same files hash the same.
    """
    outer = hashlib.sha256()
    for relative in sorted(digests):
        size, digest = digests[relative]
        outer.update(relative.encode("utf-8") + b"\0" + str(size).encode() + b"\0"
                     + digest.encode() + b"\n")
    return outer.hexdigest()


def _readable_name(name: str) -> str:
    """A disk name as NFC text; bytes that are not UTF-8 are decoded like zip names."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes: the name's bytes are not UTF-8
        name = decode_legacy_name(os.fsencode(name))[0]
    return unicodedata.normalize("NFC", name)


class _HashingWriter:
    """Writes to ``out`` and hashes exactly the bytes written (one read of the source)."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.out.write(data)


def _copy_file(src: Path, dst: Path, limit: int) -> tuple[int, str]:
    """Copy a regular file without following links; ``(bytes, sha256)``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(src, flags), "rb") as fh, open(dst, "xb") as out:
        writer = _HashingWriter(out)
        copied = copy_limited(fh, writer, limit)  # type: ignore[arg-type]
    mtime = src.stat(follow_symlinks=False).st_mtime
    os.utime(dst, (mtime, mtime))
    return copied, writer.digest.hexdigest()


@dataclass
class _FolderCopy:
    """State of one folder copy: the limits and what was copied so far."""

    limits: ExtractionLimits
    contents: _Contents
    digests: dict[str, tuple[int, str]] = field(default_factory=dict)
    entries: int = 0


def _copy_tree(src: Path, dst: Path, parts: tuple[str, ...], state: _FolderCopy) -> None:
    """Copy ``src`` into ``dst`` recursively, in sorted order, skipping links, junk and devices."""
    limits, contents = state.limits, state.contents
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        name = _readable_name(entry.name)
        relative = "/".join(parts + (name,))
        state.entries += 1
        if state.entries > limits.max_members:
            raise ArchiveError(f"The submission folder holds more than {limits.max_members} "
                               "files and folders; please submit only your source code and "
                               "report.", code="too-many")
        if entry.is_symlink():
            contents.skipped.append(SkippedEntry(relative, "symbolic link, not followed"))
            continue
        is_dir = entry.is_dir(follow_symlinks=False)
        junk = junk_reason(parts + (name,), is_dir=is_dir)
        if junk:
            contents.skipped.append(SkippedEntry(relative, junk))
            continue
        target = dst / name
        if target.exists():
            contents.skipped.append(SkippedEntry(relative, "same name as another file once "
                                                           "normalised (NFC)"))
            continue
        if is_dir:
            if len(parts) + 1 >= limits.max_depth:
                raise ArchiveError(f"The folder {relative!r} is nested deeper than "
                                   f"{limits.max_depth} levels, so the submission was refused.",
                                   code="too-deep")
            target.mkdir(mode=0o755)
            _copy_tree(Path(entry.path), target, parts + (name,), state)
        elif entry.is_file(follow_symlinks=False):
            limit = min(limits.max_member_bytes, limits.max_total_bytes - contents.total_bytes)
            try:
                size, digest = _copy_file(Path(entry.path), target, limit)
            except SizeLimitExceeded:
                raise ArchiveError(f"The file {relative!r} is larger than allowed (at most "
                                   f"{limits.max_member_bytes // 2**20} MiB per file and "
                                   f"{limits.max_total_bytes // 2**20} MiB in all); please "
                                   "leave large data files out.", code="too-large") from None
            contents.total_bytes += size
            contents.files.append(relative)
            state.digests[relative] = (size, digest)
        else:
            contents.skipped.append(SkippedEntry(relative, "not a regular file"))


def _stage_folder(folder: Path, staging: Path, limits: ExtractionLimits) -> _Contents:
    contents = _Contents()
    state = _FolderCopy(limits, contents)
    try:
        _copy_tree(folder, staging, (), state)
    except ArchiveError as exc:
        _empty(staging)
        contents.error = exc.message
        contents.files, contents.total_bytes = [], 0
    contents.files.sort()
    contents.sha256 = _tree_sha256(state.digests)
    return contents


def _stage_file(path: Path, staging: Path, limits: ExtractionLimits) -> _Contents:
    contents = _Contents(sha256=_file_sha256(path))
    name = _readable_name(path.name)
    try:
        size, _digest = _copy_file(path, staging / name, limits.max_member_bytes)
    except SizeLimitExceeded:
        _empty(staging)
        contents.error = (f"{name!r} is larger than the {limits.max_member_bytes // 2**20} MiB "
                          "allowed for one file.")
        return contents
    contents.files, contents.total_bytes = [name], size
    suffix = path.suffix.lower()
    if suffix in OTHER_ARCHIVES:
        contents.error = (f"{name!r} is a {OTHER_ARCHIVES[suffix]} archive, which the grader "
                          "does not open; please submit a .zip file.")
    return contents


def _stage_zip(path: Path, staging: Path, limits: ExtractionLimits, tz: tzinfo | None
               ) -> _Contents:
    contents = _Contents(sha256=_file_sha256(path))
    try:
        result = extract_zip(path, staging, limits, tz=tz, gradable=tuple(SOURCE_KINDS))
    except ArchiveError as exc:
        staging.mkdir(exist_ok=True)
        contents.error = exc.message
        contents.skipped = exc.skipped
        return contents
    contents.files, contents.skipped = result.files, result.skipped
    contents.notes += [_skipped_note(entry) for entry in result.skipped if entry.unsafe]
    contents.total_bytes, contents.entry_times = result.total_bytes, result.entry_times
    if result.name_encoding not in (None, "utf-8"):
        label = {"cp950": "Big5", "gbk": "GBK", "cp437": "CP437"}[result.name_encoding]
        contents.notes.append(f"file names in the zip were written in {label} and converted")
    return contents


def _skipped_note(entry: SkippedEntry) -> str:
    """The note telling the student that an entry of their zip was left out, and why: a file
    they count on may be missing from the grading because of it."""
    return f"skipped the zip entry '{entry.name}': {entry.reason}"


def _empty(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o755, exist_ok=True)


def _place(staging: Path, final: Path) -> None:
    """Move a staged submission to its final folder, replacing a previous run's."""
    if final.is_symlink() or final.is_file():
        final.unlink()
    elif final.exists():
        shutil.rmtree(final)
    os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide it from a sandbox running as another uid
    os.rename(staging, final)


# --- deciding what the submissions are --------------------------------------------------------

def _visible(folder: Path) -> list[Path]:
    """The folder's entries a human would see: no hidden files, no junk, no links; sorted."""
    entries = []
    for child in folder.iterdir():
        if child.name.startswith(".") or child.is_symlink():
            continue
        if junk_reason((child.name,), is_dir=child.is_dir()):
            continue
        entries.append(child)
    return sorted(entries, key=lambda p: (unicodedata.normalize("NFC", p.name).casefold(), p.name))


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def _graded_class_in(path: Path, class_names: tuple[str, ...], roles: MethodRoles) -> bool:
    info = _analyze(path.parent, path.name)
    return (any(name in info.classes for name in class_names)
            or bool(_with_methods(info, roles)))


def _holds_source(folder: Path, budget: int) -> bool:
    """True if some ``.py``/``.ipynb`` lies under ``folder`` (looking at ``budget`` entries)."""
    for _dirpath, _dirs, names in os.walk(folder):
        for name in names:
            if Path(name).suffix.lower() in SOURCE_KINDS:
                return True
        budget -= len(names) + len(_dirs)
        if budget <= 0:
            return False
    return False


def _layout(folder: Path, class_names: tuple[str, ...], roles: MethodRoles,
            limits: ExtractionLimits) -> Literal["single", "batch"]:
    """Batch or single submission, by the rule in the module docstring."""
    entries = _visible(folder)
    ids = {_id_key(parsed.student_id) for parsed in
           (parse_submission_name(e.name) for e in entries) if parsed.student_id}
    if len(ids) >= 2:
        return "batch"
    top_sources = [e for e in entries if e.is_file() and _suffix(e) in SOURCE_KINDS]
    if any(_graded_class_in(e, class_names, roles) for e in top_sources):
        return "single"
    if any(e.is_file() and _suffix(e) == ".zip" for e in entries):
        return "batch"
    if top_sources:
        return "single"
    with_source = [e for e in entries
                   if e.is_dir() and _holds_source(e, limits.max_members)]
    own_id = parse_submission_name(folder.name).student_id
    has_pdf = any(e.is_file() and _suffix(e) == ".pdf" for e in entries)
    if with_source and own_id is None and not has_pdf and (
            len(with_source) >= 2 or parse_submission_name(with_source[0].name).student_id):
        return "batch"
    return "single"


def _batch_members(folder: Path) -> list[Path]:
    """The entries of a batch folder that are submissions (see the module docstring)."""
    members = []
    for entry in _visible(folder):
        suffix = _suffix(entry)
        if (entry.is_dir() or suffix in SOURCE_KINDS or suffix == ".zip"
                or suffix in OTHER_ARCHIVES or parse_submission_name(entry.name).student_id):
            members.append(entry)
    return members


# --- keys -------------------------------------------------------------------------------------

def _safe_key(text: str) -> str:
    """A folder name safe on every file system: letters (any script), digits, ``._-``."""
    text = unicodedata.normalize("NFC", text)
    key = re.sub(r"[^\w.\-]+", "_", text, flags=re.UNICODE).strip("._-")
    return key[:64] or "submission"


def _unique_keys(wanted: list[str]) -> list[str]:
    """Keys made unique in order, case-insensitively: ``0756172``, ``0756172-2``, ..."""
    taken: set[str] = set()
    keys = []
    for key in wanted:
        candidate, n = key, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{key}-{n}"
        taken.add(candidate.casefold())
        keys.append(candidate)
    return keys


# --- building one submission ------------------------------------------------------------------

def _stem(path: Path) -> str:
    name = unicodedata.normalize("NFC", path.name)
    return name if path.is_dir() else PurePosixPath(name).stem


def _latest(moments: Iterable[datetime]) -> datetime | None:
    return max(moments, default=None)


def _mtime(path: Path, tz: tzinfo | None) -> datetime:
    moment = datetime.fromtimestamp(path.stat().st_mtime, tz)
    return moment if tz else moment.astimezone()


def _submission_time(source_type: str, source: Path, root: Path, contents: _Contents,
                     sources: list[str], tz: tzinfo | None
                     ) -> tuple[datetime | None, SubmittedAtSource | None]:
    """The latest time of the source files (zip entries or file times), else of any file."""
    if source_type == "zip":
        for group in (sources, contents.files):
            moment = _latest(contents.entry_times[f] for f in group if f in contents.entry_times)
            if moment:
                return moment, "zip-entries"
        return _mtime(source, tz), "mtime"
    for group in (sources, contents.files):
        if group:
            # Copies keep the originals' modification times.
            return max(_mtime(root / f, tz) for f in group), "mtime"
    return _mtime(source, tz), "mtime"


def _identity(source: Path, source_type: str, contents: _Contents, main: str | None
              ) -> tuple[ParsedName, str | None]:
    """Id and name from the source's name, else from a wrapper folder or the main file inside.

    Returns the parsed name and, when it came from inside, a note saying where.
    """
    parsed = parse_submission_name(_stem(source))
    if parsed.student_id:
        return parsed, None
    inside: list[str] = []
    tops = {f.split("/")[0] for f in contents.files}
    if source_type != "file" and len(tops) == 1 and any("/" in f for f in contents.files):
        inside.append(tops.pop())
    if main:
        inside.append(PurePosixPath(main).stem)
    for candidate in inside:
        found = parse_submission_name(candidate)
        if found.student_id:
            return found, f"student id taken from {candidate!r} inside the submission"
    return parsed, None


def _no_source_error(contents: _Contents) -> str:
    nested = [f for f in contents.files
              if PurePosixPath(f).suffix.lower() in {".zip", *OTHER_ARCHIVES}]
    if nested:
        return ("No Python source (.py) or notebook (.ipynb) was found; the submission holds "
                f"another archive ({nested[0]!r}), please submit one zip with your files "
                "directly in it.")
    return "No Python source (.py) or notebook (.ipynb) was found in the submission."


@dataclass(frozen=True)
class _Options:
    workdir: Path
    limits: ExtractionLimits
    class_names: tuple[str, ...]
    method_names: MethodRoles
    tz: tzinfo | None
    class_aliases: tuple[str, ...] = ()


def _stage(source: Path, opts: _Options) -> tuple[str, Path, _Contents]:
    """Copy or extract ``source`` into a fresh staging folder under workdir."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=opts.workdir))
    try:
        if source.is_dir():
            return "folder", staging, _stage_folder(source, staging, opts.limits)
        if _suffix(source) == ".zip":
            return "zip", staging, _stage_zip(source, staging, opts.limits, opts.tz)
        return "file", staging, _stage_file(source, staging, opts.limits)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _build(source: Path, opts: _Options) -> tuple[Submission, Path]:
    """One submission, staged (its ``root`` is set when the batch's keys are known)."""
    source_type, staging, contents = _stage(source, opts)
    sources = [f for f in contents.files if PurePosixPath(f).suffix.lower() in SOURCE_KINDS]
    infos = [_analyze(staging, f) for f in sources]
    hints = set(MAIN_NAME_HINTS) | {_stem(source).casefold()}
    choice = _choose_main(infos, hints, opts.class_names, opts.method_names, opts.class_aliases)
    main = choice.info.path if choice else None
    entry = _choose_entry(infos, choice.info if choice else None, hints)
    parsed, id_note = _identity(source, source_type, contents, main)
    pdfs = [f for f in contents.files if PurePosixPath(f).suffix.lower() == ".pdf"]
    at, at_source = _submission_time(source_type, source, staging, contents, sources, opts.tz)
    sub = Submission(
        key="", student_id=parsed.student_id, student_name=parsed.student_name, source=source,
        source_type=source_type, root=staging, sha256=contents.sha256, files=contents.files,
        sources=sources, main=main, main_reason=choice.reason if choice else None,
        main_class=choice.main_class if choice else None,
        kind=choice.info.kind if choice else None,
        entry=entry.path if entry else None, entry_kind=entry.kind if entry else None,
        submitted_at=at, submitted_at_source=at_source,
        size_bytes=contents.total_bytes, has_report_pdf=bool(pdfs), report_pdfs=pdfs,
        skipped=contents.skipped, notes=list(contents.notes))
    if id_note:
        sub.notes.append(id_note)
    if contents.error:
        sub.errors.append(contents.error)
    elif not sources:
        sub.errors.append(_no_source_error(contents))
    for info in infos:
        if info.problem is None:
            continue
        if info.path == main and info.unreadable:
            sub.errors.append(info.problem)
        elif info.path != main or info.kind == "notebook":
            sub.notes.append(info.problem)
    if choice and choice.also:
        sub.notes.append(f"other candidates for the main file: {', '.join(choice.also)}")
    return sub, staging


def _broken(source: Path, opts: _Options, exc: Exception) -> tuple[Submission, Path]:
    """A submission the grader itself failed on: still a record, with the reason."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=opts.workdir))
    parsed = parse_submission_name(_stem(source))
    try:
        digest = _file_sha256(source) if source.is_file() else hashlib.sha256().hexdigest()
    except OSError:
        digest = hashlib.sha256().hexdigest()
    sub = Submission(key="", student_id=parsed.student_id, student_name=parsed.student_name,
                     source=source, source_type="folder" if source.is_dir() else "file",
                     root=staging, sha256=digest)
    sub.errors.append(f"The grader could not read this submission ({type(exc).__name__}: "
                      f"{str(exc)[:200]}).")
    return sub, staging


# --- roster, times, duplicates ----------------------------------------------------------------

def _apply_roster(subs: list[Submission], roster: dict[str, RosterEntry], path: Path) -> None:
    for sub in subs:
        if sub.student_id is None:
            sub.notes.append(f"no student id in the file name, so the roster {path.name} could "
                             "not be applied")
            continue
        entry = roster.get(_id_key(sub.student_id))
        if entry is None:
            sub.notes.append(f"student id {sub.student_id} is not in the roster {path.name}")
        else:
            sub.student_name = entry.name


def _apply_times(subs: list[Submission], times: dict[str, datetime], path: Path) -> None:
    for sub in subs:
        moment = times.get(_id_key(sub.student_id)) if sub.student_id else None
        if moment is None:
            sub.notes.append(f"no submission time for this student in {path.name}; using "
                             f"{sub.submitted_at_source or 'nothing'}")
        else:
            sub.submitted_at, sub.submitted_at_source = moment, "csv"


def _note_duplicates(subs: list[Submission]) -> None:
    by_id: dict[str, list[Submission]] = {}
    for sub in subs:
        if sub.student_id:
            by_id.setdefault(_id_key(sub.student_id), []).append(sub)
    for group in by_id.values():
        if len(group) > 1:
            keys = ", ".join(sub.key for sub in group)
            for sub in group:
                sub.notes.append(f"student {sub.student_id} has {len(group)} submissions in "
                                 f"this batch ({keys})")


def missing_students(roster: dict[str, RosterEntry], submissions: list[Submission]
                     ) -> list[RosterEntry]:
    """Roster students without any submission, in roster order (for the class index)."""
    seen = {_id_key(sub.student_id) for sub in submissions if sub.student_id}
    return sorted((entry for key, entry in roster.items() if key not in seen),
                  key=lambda entry: entry.line)


# --- the entry point --------------------------------------------------------------------------

def _members(path: Path, layout: str, opts: _Options) -> list[Path]:
    if path.is_file():
        return [path]
    if layout == "auto":
        layout = _layout(path, opts.class_names + opts.class_aliases, opts.method_names,
                         opts.limits)
    return _batch_members(path) if layout == "batch" else [path]


def discover(path: Path | str, *, workdir: Path | str, roster: Path | str | None = None,
             times: Path | str | None = None, limits: ExtractionLimits = ExtractionLimits(),
             main_class_names: tuple[str, ...] = ("NN",),
             main_method_names: Sequence[str | Sequence[str]] = ("predict", "backprop",
                                                                 "update"),
             main_class_aliases: tuple[str, ...] = (),
             layout: Literal["auto", "single", "batch"] = "auto",
             tz: tzinfo | None = None) -> list[Submission]:
    """Find the submissions in ``path`` and give each a private copy under ``workdir``.

    ``path``: a ``.py``, ``.ipynb`` or ``.zip`` file, a folder that is one submission, or a
    folder of submissions (see the module docstring for how ``layout="auto"`` decides).
    ``workdir`` belongs to the grader: each submission lands in ``workdir/<key>``, replacing
    what a previous run left there; it must not lie inside ``path``.  ``roster`` (CSV ``id,name``)
    overrides names by id; ``times`` (CSV ``id,submitted_at``) overrides submission times.
    ``tz`` is the course's zone, for zip timestamps and CSV times without one (``None``: the
    machine's).  The main file is, in order: the file defining a class in
    ``main_class_names``; one defining a class in ``main_class_aliases`` that has the methods;
    one defining a class with a method of every role of ``main_method_names`` (each role a
    name or a tuple of accepted names, as the rubric's aliases); one defining an alias class
    without them; the only source file; one named ``main``/``lab1``/``lab`` or like the
    submission; the largest.  Among files that qualify alike, one whose class has the methods
    wins, then the shallowest, the one named like a main file, a script, the largest.

    The result is sorted by source path and is the same on every run.  Broken submissions are
    returned with ``errors``; only TA-side problems raise :class:`DiscoveryError`.
    """
    path, workdir = Path(path), Path(workdir).absolute()
    if layout not in ("auto", "single", "batch"):
        raise ValueError(f"layout must be 'auto', 'single' or 'batch', not {layout!r}")
    if not path.exists():
        raise DiscoveryError(f"{path} does not exist")
    path = path.resolve()
    if path.is_dir() and workdir.resolve().is_relative_to(path):
        raise DiscoveryError(f"the work folder {workdir} must not be inside {path}: its copies "
                             "would be discovered as submissions next time")
    roster_entries = read_roster(roster) if roster is not None else None
    time_entries = read_times(times, tz) if times is not None else None
    workdir.mkdir(parents=True, exist_ok=True)
    opts = _Options(workdir, limits, tuple(main_class_names), method_roles(main_method_names),
                    tz, tuple(main_class_aliases))

    built: list[tuple[Submission, Path]] = []
    try:
        for member in _members(path, layout, opts):
            try:
                built.append(_build(member, opts))
            except Exception as exc:  # a bug or an odd file must not stop the batch
                built.append(_broken(member, opts, exc))
        keys = _unique_keys([_safe_key(sub.student_id or _stem(sub.source))
                             for sub, _staging in built])
        for (sub, staging), key in zip(built, keys):
            sub.key, sub.root = key, workdir / key
            _place(staging, sub.root)
    except BaseException:
        for sub, staging in built:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    subs = [sub for sub, _staging in built]
    _note_duplicates(subs)
    if roster_entries is not None:
        _apply_roster(subs, roster_entries, Path(roster))
    if time_entries is not None:
        _apply_times(subs, time_entries, Path(times))
    return subs
