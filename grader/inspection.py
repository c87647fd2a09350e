"""``labgrade inspect``: discover and load submissions, and say what was found.

For TAs checking a batch before grading, and for the tests: for each submission, who it is,
its files, the main source and why it was chosen, how it was loaded and isolated, the classes
and functions it defines, and every problem, in sentences.  A broken or hostile submission is
reported like any other; one submission's failure never stops the others.
"""

from __future__ import annotations

import json
import tempfile
import traceback
from pathlib import Path
from typing import Any, Iterator, TextIO

from grader.discover import Submission, discover
from grader.load import DEFINITIONS, EXECUTE, LoadResult, load_files
from grader.settings import SandboxSettings


def inspect_submission(sub: Submission, settings: SandboxSettings, mode: str) -> dict[str, Any]:
    """One submission's record (the ``--json`` object)."""
    record: dict[str, Any] = {
        "student": {"id": sub.student_id, "name": sub.student_name},
        "key": sub.key,
        "source": str(sub.source),
        "files": sub.files,
        "main": sub.main,
        "main_reason": sub.main_reason,
        "kind": sub.kind,
        "sha256": sub.sha256,
        "submitted_at": sub.submitted_at.isoformat() if sub.submitted_at else None,
        "has_report_pdf": sub.has_report_pdf,
        "mode": None,
        "isolation": None,
        "classes": {},
        "class_details": {},
        "functions": {},
        "cells": [],
        "errors": list(sub.errors),
        "notes": list(sub.notes),
        "seconds": 0.0,
    }
    if sub.main is None or sub.errors:  # nothing loadable, and the reason is already said
        return record
    try:
        loaded = load_files(sub.root, sub.main, sub.kind or "script", settings, mode,
                            numpy_as_is=mode == EXECUTE)  # a run shows what really fails
    except Exception as err:  # the grader's own failure: report it, keep the batch going
        record["errors"].append(f"internal grader error while loading: {err!r}; please report "
                                "it with this submission")
        record["traceback"] = traceback.format_exc()
        return record
    record.update(_loaded_fields(loaded))
    record["errors"] += loaded.errors
    record["notes"] += loaded.notes
    return record


def _loaded_fields(loaded: LoadResult) -> dict[str, Any]:
    return {
        "mode": loaded.mode,
        "isolation": loaded.isolation,
        "classes": {name: info.get("methods", []) for name, info in loaded.classes.items()},
        "class_details": loaded.classes,
        "functions": {name: info.get("signature", "?") for name, info in loaded.functions.items()},
        "cells": loaded.cells,
        "stdout": loaded.stdout,
        "figures": len(loaded.figures),
        "seconds": round(loaded.seconds, 3),
    }


def inspect_path(path: Path, *, settings: SandboxSettings, mode: str = DEFINITIONS,
                 roster: Path | None = None, names: dict[str, Any] | None = None
                 ) -> Iterator[dict[str, Any]]:
    """Records for every submission found in ``path``, in a deterministic order.  ``names``:
    how the main file is recognised (:meth:`grader.rubric.Rubric.discovery_names`), so that
    inspecting shows the file that grading will load."""
    with tempfile.TemporaryDirectory(prefix="labgrade-inspect-") as work:
        for sub in discover(path, workdir=work, roster=roster, **(names or {})):
            yield inspect_submission(sub, settings, mode)


def print_record(record: dict[str, Any], out: TextIO) -> None:
    """The human-readable form of one record."""
    student = record["student"]
    who = " ".join(x for x in (student.get("id"), student.get("name")) if x) or record["key"]
    print(f"== {who}  ({record['source']})", file=out)
    print(f"   files: {', '.join(record['files']) or '(none)'}", file=out)
    if record["main"]:
        print(f"   main: {record['main']} ({record['kind']}; {record['main_reason']})", file=out)
    if record["mode"]:
        print(f"   loaded: {record['mode']} mode, isolation {record['isolation']}, "
              f"{record['seconds']:.2f} s", file=out)
    for name, info in record.get("class_details", {}).items():
        methods = ", ".join(m for m in info.get("methods", []) if m != "__init__")
        print(f"   class {name}{info.get('init_signature', '')}: {methods}", file=out)
    for name, signature in record["functions"].items():
        print(f"   def {name}{signature}", file=out)
    for cell in record["cells"]:
        if cell.get("status") not in (None, "ok"):
            print(f"   cell {cell.get('number')}: {cell.get('status')}", file=out)
    for note in record["notes"]:
        print(f"   note: {note}", file=out)
    for error in record["errors"]:
        print(f"   error: {error}", file=out)
    if not record["errors"]:
        print("   no errors", file=out)


def run(path: Path, *, settings: SandboxSettings, mode: str, as_json: bool,
        roster: Path | None, out: TextIO, names: dict[str, Any] | None = None) -> int:
    for record in inspect_path(path, settings=settings, mode=mode, roster=roster, names=names):
        if as_json:
            record.pop("traceback", None)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            print_record(record, out)
        out.flush()
    return 0
