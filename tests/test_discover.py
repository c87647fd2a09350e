"""The discover stage on every kind of input: the real samples, files, zips, folders, a mixed class
batch with a broken zip, roster and time CSVs, name parsing, and main-file choice.  Everything is
real files in tmp_path; no student code is ever run."""

from __future__ import annotations

import ast
import io
import json
import os
import shutil
import stat
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from grader.archive import ExtractionLimits
from grader.discover import (DiscoveryError, ParsedName, Submission, discover, missing_students,
                             parse_submission_name, read_roster, read_times)
from grader.results import validate_result
from test_grade_command import labgrade

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "submissions" / "lab1"
TAIPEI = timezone(timedelta(hours=8))

NN_SCRIPT = """\
import numpy as np

class NN:
    def __init__(self, dim):
        self.weights = [np.zeros((a, b)) for a, b in zip(dim, dim[1:])]

    def predict(self, X):
        return X

    def backprop(self, y):
        pass

    def update(self, lr):
        pass

nn = NN([2, 3, 3, 1])
while True:  # a training loop that never ends: discover must never run it
    pass
"""
HELPER = "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"


def notebook_text(*cells: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    return nbformat.writes(nb)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def make_zip(path: Path, entries: dict[str, str | bytes],
             date_time: tuple[int, ...] = (2024, 3, 21, 23, 0, 0),
             links: tuple[str, ...] = ()) -> Path:
    """A zip of ``entries``; those named in ``links`` are symbolic links (their Unix mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=date_time)
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return path


def one(subs: list[Submission]) -> Submission:
    assert len(subs) == 1, [s.source for s in subs]
    return subs[0]


def root_listing(sub: Submission) -> list[str]:
    return sorted(p.relative_to(sub.root).as_posix() for p in sub.root.rglob("*") if p.is_file())


# --- the real samples ---------------------------------------------------------------------------

GRADED_METHODS = {"predict", "backprop", "update"}  # discover's default main_method_names


def sample_classes(path: Path) -> tuple[list[tuple[str, set[str]]], bool]:
    """The classes a sample defines, in source order, each with its methods (those of bases
    defined in the same file included), read with ast; and whether the file parses as it is.

    A notebook's code cells are joined, magics and shell escapes becoming ``pass``.  A file
    that fails only for a missing colon (sample #4) is read with the colon added.
    """
    if path.suffix == ".ipynb":
        cells = [cell.source for cell in nbformat.read(path, as_version=4).cells
                 if cell.cell_type == "code"]
        lines = [line[: len(line) - len(line.lstrip())] + "pass"
                 if line.lstrip().startswith(("%", "!")) else line
                 for cell in cells for line in cell.splitlines()]
        source = "\n".join(lines) + "\n"
    else:
        source = path.read_text(encoding="utf-8")
    parses = True
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        assert exc.msg == "expected ':'", f"{path.name}: {exc}"
        lines = source.splitlines()
        lines[exc.lineno - 1] += ":"
        tree, parses = ast.parse("\n".join(lines) + "\n"), False
    nodes = sorted((n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)),
                   key=lambda n: (n.lineno, n.col_offset))
    own = {n.name: {f.name for f in n.body if isinstance(f, (ast.FunctionDef,
                                                                ast.AsyncFunctionDef))}
           for n in nodes}
    bases = {n.name: [b.id for b in n.bases if isinstance(b, ast.Name)] for n in nodes}

    def methods(name: str, seen: frozenset = frozenset()) -> set[str]:
        found = set(own.get(name, set()))
        for base in bases.get(name, ()):
            if base in own and base not in seen:
                found |= methods(base, seen | {name})
        return found

    return [(n.name, methods(n.name)) for n in nodes], parses


def expected_main_class(classes: list[tuple[str, set[str]]]) -> tuple[str | None, str]:
    """discover's documented choice for a lone file: a class named NN, else the first class
    with all of predict, backprop, update (duck typing), else no class; and the reason."""
    if any(name == "NN" for name, _methods in classes):
        return "NN", "defines class NN"
    for name, methods in classes:
        if GRADED_METHODS <= methods:
            return name, (f"defines class {name} with predict, backprop, update (no class "
                          "named NN)")
    return None, "the only Python source or notebook"


def test_the_sample_folder_is_a_batch_of_files_and_folders(tmp_path):
    subs = discover(SAMPLES, workdir=tmp_path / "work")
    sources = sorted(p.name for p in SAMPLES.iterdir()
                     if p.suffix in (".py", ".ipynb") or (p.is_dir() and p.name[0] != "_"))
    assert sorted(s.source.name for s in subs) == sources
    got = [(s.student_id, s.student_name, s.kind) for s in subs]
    for expected in [("0856001", "Chen", "script"), ("0856017", "王小明", "notebook"),
                     ("0856042", "Lin", "script"), ("0856105", "Huang", "script")]:
        assert expected in got
    assert got == sorted(got)
    main_classes = set()
    for sub in subs:
        assert sub.source_type == ("folder" if sub.source.is_dir() else "file")
        assert sub.source.parent == SAMPLES
        if sub.source.is_dir():  # a package of files (row 44): its program is the main file
            assert sub.main == "main.py" and "layers.py" in sub.files and sub.ok
            continue
        assert sub.main == sub.source.name and sub.files == [sub.source.name]
        assert root_listing(sub) == [sub.source.name], "a single file never drags its siblings"
        assert sub.root == tmp_path / "work" / sub.key and sub.key == sub.student_id
        classes, parses = sample_classes(sub.source)
        if not classes:  # a network written as functions (row 35): no class to choose
            assert parses and sub.main_class is None, sub.source.name
            continue
        main_class, reason = expected_main_class(classes)
        if not parses:
            reason += " (found by a text scan: the file does not parse)"
        assert (sub.main_class, sub.main_reason) == (main_class, reason), sub.source.name
        main_classes.add(main_class)
        assert sub.errors == [] and sub.ok
        assert sub.submitted_at_source == "mtime" and sub.submitted_at.tzinfo is not None
        assert len(sub.sha256) == 64 and not sub.has_report_pdf
    # The samples exercise every rule: a class named NN, duck typing, and neither.
    assert "NN" in main_classes and None in main_classes and len(main_classes) >= 3
    assert "README.md" not in {s.source.name for s in subs}
    by_id = {s.student_id: s for s in subs}
    record = json.loads(json.dumps(by_id["0856017"].to_dict(), ensure_ascii=False))
    assert record["student_name"] == "王小明" and record["kind"] == "notebook"
    huang = by_id["0856105"]
    assert huang.main_reason == "defines class NN (found by a text scan: the file does not parse)"
    assert (huang.root / huang.main).read_bytes() == huang.source.read_bytes()


def test_a_sample_given_alone(tmp_path):
    sub = one(discover(SAMPLES / "DLP_LAB1_0856017_王小明.ipynb", workdir=tmp_path))
    assert (sub.student_id, sub.kind, sub.main_reason) == ("0856017", "notebook",
                                                           "defines class NN")
    sub = one(discover(SAMPLES / "DLP_LAB1_0856105_Huang.py", workdir=tmp_path))
    assert sub.main == "DLP_LAB1_0856105_Huang.py" and sub.errors == []


# --- names --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("DLP_LAB1_0756172_鍾嘉峻.zip", ("0756172", "鍾嘉峻")),
    ("DLP_LAB1_0756172_鍾嘉峻.py", ("0756172", "鍾嘉峻")),
    ("0756172_鍾嘉峻", ("0756172", "鍾嘉峻")),
    ("dlp_lab1_0756172.zip", ("0756172", None)),
    ("DLP_LAB1_0756172_鍾嘉峻 (1).zip", ("0756172", "鍾嘉峻")),
    ("Lab1-0756172-Wang Xiao Ming.zip", ("0756172", "Wang Xiao Ming")),
    ("DLP LAB2 A0756172 Wang Xiao Ming.ipynb", ("A0756172", "Wang Xiao Ming")),
    ("dlp_Lab1_r09922001_王小明_final.zip", ("r09922001", "王小明")),
    ("DLP_LAB_1_310551001_Lee.zip", ("310551001", "Lee")),
    ("王小明_0756172.py", ("0756172", "王小明")),
    ("DLP_LAB1_0756172_Chen - Copy.zip", ("0756172", "Chen")),
    ("lab1_20240321.py", (None, "lab1_20240321")),
    ("DLP_LAB1_鍾嘉峻.zip", (None, "鍾嘉峻")),
    ("my homework.zip", (None, "my homework")),
])
def test_student_id_and_name_from_messy_file_names(name, expected):
    assert parse_submission_name(name) == ParsedName(*expected)


def test_nfd_file_names_from_macos_are_normalised():
    import unicodedata

    nfd = unicodedata.normalize("NFD", "DLP_LAB1_0756172_Gaël.zip")
    assert parse_submission_name(nfd) == ParsedName("0756172", "Gaël")


# --- single inputs ------------------------------------------------------------------------------

def test_a_zip_with_nested_folders_report_and_junk(tmp_path):
    zip_path = make_zip(tmp_path / "in" / "DLP_LAB1_0756172_鍾嘉峻.zip", {
        "DLP_LAB1_0756172_鍾嘉峻/src/lab1.py": NN_SCRIPT,
        "DLP_LAB1_0756172_鍾嘉峻/src/utils.py": HELPER,
        "DLP_LAB1_0756172_鍾嘉峻/Report.PDF": b"%PDF-1.4\n",
        "__MACOSX/DLP_LAB1_0756172_鍾嘉峻/._Report.PDF": b"\0",
    })
    sub = one(discover(zip_path, workdir=tmp_path / "work", tz=TAIPEI))
    prefix = "DLP_LAB1_0756172_鍾嘉峻/"
    assert (sub.student_id, sub.student_name, sub.key) == ("0756172", "鍾嘉峻", "0756172")
    assert sub.source_type == "zip" and sub.root == tmp_path / "work" / "0756172"
    assert sub.files == [prefix + "Report.PDF", prefix + "src/lab1.py", prefix + "src/utils.py"]
    assert sub.main == prefix + "src/lab1.py" and sub.kind == "script"
    assert sub.has_report_pdf and sub.report_pdfs == [prefix + "Report.PDF"]
    assert [s.name for s in sub.skipped] == ["__MACOSX/DLP_LAB1_0756172_鍾嘉峻/._Report.PDF"]
    assert sub.submitted_at == datetime(2024, 3, 21, 23, 0, 0, tzinfo=TAIPEI)
    assert sub.submitted_at_source == "zip-entries"
    assert not list(zip_path.parent.glob("*/")), "nothing is extracted next to the input"


def test_submitted_at_is_the_latest_source_entry(tmp_path):
    zip_path = tmp_path / "DLP_LAB1_0756172_x.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("lab1.py", (2024, 3, 20, 10, 0, 0)), NN_SCRIPT)
        zf.writestr(zipfile.ZipInfo("utils.py", (2024, 3, 21, 22, 30, 0)), HELPER)
        zf.writestr(zipfile.ZipInfo("report.pdf", (2024, 3, 25, 9, 0, 0)), b"%PDF")  # not source
    sub = one(discover(zip_path, workdir=tmp_path / "work", tz=timezone.utc))
    assert sub.submitted_at == datetime(2024, 3, 21, 22, 30, tzinfo=timezone.utc)


def test_a_single_submission_folder(tmp_path):
    folder = tmp_path / "DLP_LAB1_0756172_鍾嘉峻"
    write(folder / "code" / "lab1.py", NN_SCRIPT)
    write(folder / "code" / "utils.py", HELPER)
    write(folder / "report.pdf", b"%PDF")
    write(folder / "data" / "xor.csv", "0,0,0\n")
    write(folder / ".DS_Store", b"\0")
    os.symlink("/etc/passwd", folder / "code" / "passwd.py")
    sub = one(discover(folder, workdir=tmp_path / "work"))
    assert sub.source_type == "folder" and sub.student_id == "0756172"
    assert sub.files == ["code/lab1.py", "code/utils.py", "data/xor.csv", "report.pdf"]
    assert sub.main == "code/lab1.py" and sub.has_report_pdf
    assert {s.name: s.reason for s in sub.skipped} == {
        ".DS_Store": "macOS folder settings", "code/passwd.py": "symbolic link, not followed"}
    assert root_listing(sub) == sub.files and sub.submitted_at_source == "mtime"


def test_a_folder_without_an_id_whose_top_level_file_defines_nn_is_one_submission(tmp_path):
    folder = tmp_path / "my work"
    write(folder / "nn.py", NN_SCRIPT)
    write(folder / "helpers.py", HELPER)
    write(folder / "old" / "try1.py", HELPER)
    sub = one(discover(folder, workdir=tmp_path / "work"))
    assert sub.main == "nn.py" and sub.files == ["helpers.py", "nn.py", "old/try1.py"]
    assert (sub.student_id, sub.student_name, sub.key) == (None, "my work", "my_work")


def test_other_files_and_archives_are_submissions_with_errors(tmp_path):
    rar = write(tmp_path / "DLP_LAB1_0756172_x.rar", b"Rar!\x1a\x07\x00")
    sub = one(discover(rar, workdir=tmp_path / "work"))
    assert sub.errors == ["'DLP_LAB1_0756172_x.rar' is a RAR archive, which the grader does not "
                          "open; please submit a .zip file."]
    pdf = write(tmp_path / "DLP_LAB1_0756172_x.pdf", b"%PDF")
    sub = one(discover(pdf, workdir=tmp_path / "work"))
    assert sub.has_report_pdf and sub.main is None and not sub.ok
    assert sub.errors == ["No Python source (.py) or notebook (.ipynb) was found in the "
                          "submission."]


def test_a_zip_holding_only_another_zip(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("lab1.py", NN_SCRIPT)
    outer = make_zip(tmp_path / "DLP_LAB1_0756172_x.zip",
                     {"DLP_LAB1_0756172_x.zip": inner.getvalue()})
    sub = one(discover(outer, workdir=tmp_path / "work"))
    assert sub.files == ["DLP_LAB1_0756172_x.zip"] and sub.main is None
    assert "another archive ('DLP_LAB1_0756172_x.zip')" in sub.errors[0]


# A correct submission with unsafe entries beside it: they are left out, the rest is graded.
CHEN = "DLP_LAB1_0856001_Chen"
UNSAFE_ZIP = {f"{CHEN}/lab1.py": "def hello():\n    return 1\n",
              f"{CHEN}/report.pdf": b"%PDF-1.4\n", "../../evil.py": "import os\n",
              f"{CHEN}/data.py": "/etc/passwd", f"__MACOSX/{CHEN}/._lab1.py": b"\0"}
UNSAFE_NOTES = ["skipped the zip entry '../../evil.py': it points outside the submission folder",
                f"skipped the zip entry '{CHEN}/data.py': it is a symbolic link, which the grader "
                "does not follow; please zip the file itself"]


def test_unsafe_zip_entries_are_skipped_and_told_in_the_notes(tmp_path):
    zip_path = make_zip(tmp_path / "in" / f"{CHEN}.zip", UNSAFE_ZIP, links=(f"{CHEN}/data.py",))
    sub = one(discover(zip_path, workdir=tmp_path / "work"))
    assert sub.ok and sub.errors == [] and sub.main == f"{CHEN}/lab1.py"
    assert sub.files == [f"{CHEN}/lab1.py", f"{CHEN}/report.pdf"] == root_listing(sub)
    assert sub.notes == UNSAFE_NOTES  # the macOS junk is recorded but not told
    assert {s.name: s.code for s in sub.skipped} == {
        "../../evil.py": "escape", f"{CHEN}/data.py": "symlink",
        f"__MACOSX/{CHEN}/._lab1.py": None}
    assert {"name": "../../evil.py", "reason": "it points outside the submission folder",
            "code": "escape"} in sub.to_dict()["skipped"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "work"]


def test_a_zip_left_with_nothing_gradable_is_an_error_naming_the_skipped_entries(tmp_path):
    zip_path = make_zip(tmp_path / f"{CHEN}.zip", {"../lab1.py": "class NN: pass\n",
                                                    "report.pdf": b"%PDF-1.4\n"})
    sub = one(discover(zip_path, workdir=tmp_path / "work"))
    assert not sub.ok and sub.files == [] and root_listing(sub) == []
    assert sub.errors == ["Nothing gradable is left in the zip once its unsafe entries are "
                          "skipped: '../lab1.py' (it points outside the submission folder); "
                          "please zip your .py or .ipynb files themselves, with relative paths, "
                          "and submit again."]
    assert [(s.name, s.code) for s in sub.skipped] == [("../lab1.py", "escape")]


def test_grading_a_zip_with_unsafe_entries_grades_the_rest_and_says_what_was_skipped(tmp_path):
    folder = tmp_path / "class"
    make_zip(folder / f"{CHEN}.zip", UNSAFE_ZIP, links=(f"{CHEN}/data.py",))
    out = tmp_path / "out"
    proc = labgrade("grade", str(folder), "--out", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "0856001" / "result.json").read_text(encoding="utf-8"))
    assert validate_result(result) == []
    assert result["graded"] is True and result["error"] is None
    assert result["submission"]["files"] == [f"{CHEN}/lab1.py", f"{CHEN}/report.pdf"]
    assert [n for n in result["notes"] if n.startswith("skipped")] == UNSAFE_NOTES  # once each
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class", "out"]


def test_the_id_can_come_from_the_folder_inside_a_badly_named_zip(tmp_path):
    zip_path = make_zip(tmp_path / "lab1.zip", {"DLP_LAB1_0756172_鍾嘉峻/lab1.py": NN_SCRIPT})
    sub = one(discover(zip_path, workdir=tmp_path / "work"))
    assert (sub.student_id, sub.student_name) == ("0756172", "鍾嘉峻")
    assert "student id taken from 'DLP_LAB1_0756172_鍾嘉峻' inside the submission" in sub.notes


def test_a_big5_named_zip_from_windows(tmp_path):
    # Names written as Big5 bytes without the UTF-8 flag: ASCII placeholders of the same length
    # are written and replaced afterwards, since zipfile itself would write UTF-8.
    big5 = "鍾嘉峻.py".encode("cp950")
    placeholder = b"N" * len(big5)
    data = make_zip(tmp_path / "tmp.zip", {placeholder.decode(): NN_SCRIPT}).read_bytes()
    zip_path = write(tmp_path / "DLP_LAB1_0756172_鍾嘉峻.zip", data.replace(placeholder, big5))
    sub = one(discover(zip_path, workdir=tmp_path / "work"))
    assert sub.main == "鍾嘉峻.py" and (sub.root / "鍾嘉峻.py").exists()
    assert "file names in the zip were written in Big5 and converted" in sub.notes


# --- a class batch ------------------------------------------------------------------------------

@pytest.fixture
def batch(tmp_path):
    """A class folder mixing every kind of submission, a broken zip and files to ignore."""
    folder = tmp_path / "class"
    make_zip(folder / "DLP_LAB1_0756172_鍾嘉峻.zip",
             {"lab1.py": NN_SCRIPT, "report.pdf": b"%PDF"})
    write(folder / "0756173_Wang.py", NN_SCRIPT)
    write(folder / "Lab1-0756174-Lee Da.ipynb", notebook_text("%matplotlib inline", NN_SCRIPT))
    write(folder / "DLP_LAB1_0756175_Chen" / "src" / "main.py", NN_SCRIPT)
    write(folder / "DLP_LAB1_0756175_Chen" / "report.pdf", b"%PDF")
    whole = make_zip(tmp_path / "whole.zip", {"lab1.py": NN_SCRIPT * 20}).read_bytes()
    write(folder / "DLP_LAB1_0756176_Broken.zip", whole[: len(whole) // 2])
    write(folder / "README.md", "How to submit\n")
    write(folder / "roster.csv", "id,name\n")
    write(folder / ".DS_Store", b"\0")
    write(folder / "__MACOSX" / "._x", b"\0")
    return folder


def test_a_batch_mixing_kinds_with_a_broken_zip(batch, tmp_path):
    subs = discover(batch, workdir=tmp_path / "work")
    by_id = {s.student_id: s for s in subs}
    assert [s.student_id for s in subs] == ["0756173", "0756172", "0756175", "0756176",
                                            "0756174"], "sorted by source name, case-insensitive"
    assert [s.source.name for s in subs] == sorted((s.source.name for s in subs), key=str.casefold)
    assert (by_id["0756172"].source_type, by_id["0756172"].main) == ("zip", "lab1.py")
    assert by_id["0756172"].has_report_pdf
    assert (by_id["0756173"].source_type, by_id["0756173"].kind) == ("file", "script")
    assert by_id["0756174"].kind == "notebook" and by_id["0756174"].student_name == "Lee Da"
    assert (by_id["0756175"].source_type, by_id["0756175"].main) == ("folder", "src/main.py")
    for student_id in ("0756172", "0756173", "0756174", "0756175"):
        assert by_id[student_id].ok and by_id[student_id].errors == []
    broken = by_id["0756176"]
    assert broken.errors == ["'DLP_LAB1_0756176_Broken.zip' is an incomplete or damaged zip "
                             "(its end is missing, the upload may have been cut off); please "
                             "create and upload it again."]
    assert broken.files == [] and broken.root.is_dir() and len(broken.sha256) == 64
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == sorted(s.key for s in subs)


def test_discovering_twice_gives_equal_results(batch, tmp_path):
    first = discover(batch, workdir=tmp_path / "work")
    second = discover(batch, workdir=tmp_path / "work")
    assert first == second
    assert [s.to_dict() for s in first] == [s.to_dict() for s in second]
    # A copy of the class elsewhere hashes the same: hashes depend on contents only.
    shutil.copytree(batch, tmp_path / "copy")
    third = discover(tmp_path / "copy", workdir=tmp_path / "work2")
    assert [s.sha256 for s in third] == [s.sha256 for s in first]


def test_two_submissions_of_one_student_get_distinct_keys(tmp_path):
    folder = tmp_path / "class"
    make_zip(folder / "DLP_LAB1_0756172_鍾嘉峻.zip", {"lab1.py": NN_SCRIPT})
    make_zip(folder / "DLP_LAB1_0756172_鍾嘉峻 (1).zip", {"lab1.py": NN_SCRIPT + "\n"})
    write(folder / "0756180_Wu.py", NN_SCRIPT)
    subs = discover(folder, workdir=tmp_path / "work")
    assert [s.key for s in subs] == ["0756180", "0756172", "0756172-2"]
    assert subs[1].sha256 != subs[2].sha256 and subs[1].root != subs[2].root
    assert "student 0756172 has 2 submissions in this batch (0756172, 0756172-2)" in subs[2].notes


def test_a_batch_of_subfolders_without_ids(tmp_path):
    folder = tmp_path / "class"
    write(folder / "alice" / "lab1.py", NN_SCRIPT)
    write(folder / "bob" / "code" / "nn.py", NN_SCRIPT)
    subs = discover(folder, workdir=tmp_path / "work")
    assert [(s.key, s.student_id, s.main) for s in subs] == [("alice", None, "lab1.py"),
                                                             ("bob", None, "code/nn.py")]


def test_one_subfolder_named_with_an_id_is_a_batch_of_one(tmp_path):
    write(tmp_path / "class" / "0756172_Chen" / "lab1.py", NN_SCRIPT)
    sub = one(discover(tmp_path / "class", workdir=tmp_path / "work"))
    assert (sub.student_id, sub.source.name, sub.files) == ("0756172", "0756172_Chen",
                                                           ["lab1.py"])


def test_the_layout_can_be_forced(tmp_path):
    folder = tmp_path / "class"
    write(folder / "alice" / "lab1.py", NN_SCRIPT)
    write(folder / "bob" / "lab1.py", NN_SCRIPT)
    sub = one(discover(folder, workdir=tmp_path / "work", layout="single"))
    assert sub.files == ["alice/lab1.py", "bob/lab1.py"]
    assert sub.notes == ["other candidates for the main file: bob/lab1.py"]
    samples = [p for p in SAMPLES.iterdir()
               if p.suffix in (".py", ".ipynb") or (p.is_dir() and p.name[0] != "_")]
    assert len(samples) > 4, "the sample folder holds more than the original four samples"
    forced = discover(SAMPLES, workdir=tmp_path / "w2", layout="batch")
    assert sorted(s.source.name for s in forced) == sorted(p.name for p in samples)


def test_workdir_inside_the_input_and_missing_paths_are_refused(batch, tmp_path):
    with pytest.raises(DiscoveryError, match="must not be inside"):
        discover(batch, workdir=batch / "work")
    with pytest.raises(DiscoveryError, match="does not exist"):
        discover(tmp_path / "nope", workdir=tmp_path / "work")


# --- roster and submission times ----------------------------------------------------------------

def test_roster_overrides_names_and_notes_unknown_ids(batch, tmp_path):
    roster = write(tmp_path / "roster.csv",
                   "\ufeffID,Name,email\n0756172,鍾嘉峻 (Chung),a@x\n756173,王大明,b@x\n"
                   "0756199,Absent,c@x\n\n")
    subs = discover(batch, workdir=tmp_path / "work", roster=roster)
    by_id = {s.student_id: s for s in subs}
    assert by_id["0756172"].student_name == "鍾嘉峻 (Chung)"
    assert by_id["0756173"].student_name == "王大明", "Excel's lost leading zero still matches"
    assert "student id 0756174 is not in the roster roster.csv" in by_id["0756174"].notes
    entries = read_roster(roster)
    assert [e.student_id for e in missing_students(entries, subs)] == ["0756199"]


@pytest.mark.parametrize("text, words", [
    ("0756172,鍾嘉峻\n", r"roster\.csv, line 1: the first line must be a header naming the "
                        r"columns 'id' and 'name' \(found '0756172', '鍾嘉峻'\)"),
    ("id,name\n0756172,A\n\n0756173,B\n0756172,C\n",
     r"roster\.csv, line 5: student id 0756172 appears twice \(first on line 2\)"),
    ("id,name\n,A\n", r"roster\.csv, line 2: the id is empty"),
    ("", r"roster\.csv is empty"),
])
def test_roster_problems_name_the_file_and_line(tmp_path, text, words):
    roster = write(tmp_path / "roster.csv", text)
    with pytest.raises(DiscoveryError, match=words):
        discover(SAMPLES, workdir=tmp_path / "work", roster=roster)
    assert not (tmp_path / "work").exists(), "checked before anything is copied"


def test_a_roster_that_is_not_utf8(tmp_path):
    roster = write(tmp_path / "roster.csv", "id,name\n0756172,鍾嘉峻\n".encode("cp950"))
    with pytest.raises(DiscoveryError, match="not UTF-8 text"):
        read_roster(roster)


def test_submission_times_from_a_csv(batch, tmp_path):
    times = write(tmp_path / "times.csv", "id,submitted_at\n0756172,2024-03-22T00:10:00+08:00\n"
                                          "0756173,2024-03-21 23:59:00\n")
    subs = discover(batch, workdir=tmp_path / "work", times=times, tz=TAIPEI)
    by_id = {s.student_id: s for s in subs}
    assert by_id["0756172"].submitted_at == datetime(2024, 3, 22, 0, 10, tzinfo=TAIPEI)
    assert by_id["0756173"].submitted_at == datetime(2024, 3, 21, 23, 59, tzinfo=TAIPEI)
    assert by_id["0756172"].submitted_at_source == "csv"
    assert by_id["0756175"].submitted_at_source == "mtime"
    assert any("no submission time" in note for note in by_id["0756175"].notes)


def test_submission_time_problems_name_the_line(tmp_path):
    times = write(tmp_path / "t.csv", "id,submitted_at\n0756172,yesterday\n")
    with pytest.raises(DiscoveryError, match=r"t\.csv, line 2: 'yesterday' is not an ISO 8601"):
        read_times(times)
    times = write(tmp_path / "t.csv", "student,time\n")
    with pytest.raises(DiscoveryError, match="'id' and 'submitted_at'"):
        read_times(times)


# --- choosing the main file ---------------------------------------------------------------------

def main_of(tmp_path: Path, files: dict[str, str | bytes], **kwargs) -> Submission:
    folder = tmp_path / "DLP_LAB1_0756172_x"
    for name, text in files.items():
        write(folder / name, text)
    return one(discover(folder, workdir=tmp_path / "work", **kwargs))


def test_the_class_name_beats_duck_typing(tmp_path):
    duck = NN_SCRIPT.replace("class NN", "class Net").replace("nn = NN", "nn = Net")
    sub = main_of(tmp_path, {"a_duck.py": duck, "z_nn.py": NN_SCRIPT})
    assert (sub.main, sub.main_class, sub.main_reason) == ("z_nn.py", "NN", "defines class NN")


def test_duck_typing_finds_a_differently_named_class(tmp_path):
    duck = NN_SCRIPT.replace("class NN:", "class Base:\n    def predict(self, X):\n"
                                          "        pass\n\nclass Dense(Base):")
    sub = main_of(tmp_path, {"model.py": duck, "utils.py": HELPER * 50})
    assert (sub.main, sub.main_class) == ("model.py", "Dense")
    assert sub.main_reason == ("defines class Dense with predict, backprop, update "
                               "(no class named NN)")
    sub = main_of(tmp_path / "b", {"model.py": NN_SCRIPT, "u.py": HELPER},
                  main_class_names=("MLP",), main_method_names=("predict",))
    assert (sub.main, sub.main_class) == ("model.py", "NN")


def renamed(cls: str, forward: str = "predict", backward: str = "backprop",
            update: str = "update") -> str:
    return (NN_SCRIPT.replace("class NN", f"class {cls}").replace("nn = NN", f"nn = {cls}")
            .replace("predict", forward).replace("backprop", backward)
            .replace("def update", f"def {update}").replace(".update(", f".{update}("))


def test_the_rubrics_aliases_find_the_main_file(tmp_path):
    from grader.rubric import load_rubric

    names = load_rubric("lab1").discovery_names()
    net = renamed("Net", "forward", "backward", "step")
    files = {"a_config.py": "class Model:\n    pass\n" + HELPER * 60, "net.py": net}
    # the lab's names alone see no graded class, so the largest file wins ...
    assert main_of(tmp_path / "a", files).main == "a_config.py"
    # ... the rubric's aliases find Net with forward/backward/step, over a bare alias class
    sub = main_of(tmp_path / "b", files, **names)
    assert (sub.main, sub.main_class, sub.main_reason) == ("net.py", "Net", "defines class Net")


def test_methods_of_every_role_under_any_accepted_name(tmp_path):
    from grader.rubric import load_rubric

    names = load_rubric("lab1").discovery_names()
    perceptron = renamed("Perceptron", "feed_forward", "back_propagation", "update_weights")
    files = {"mlp.py": perceptron, "big.py": HELPER * 80}
    sub = main_of(tmp_path / "a", files, **names)
    assert (sub.main, sub.main_class) == ("mlp.py", "Perceptron")
    assert sub.main_reason == ("defines class Perceptron with predict, backprop, update (no "
                               "class named NN)")
    # a class missing a role (no update of any accepted name) does not qualify
    partial = perceptron.replace("def update_weights", "def apply")
    files = {"mlp.py": partial, "big.py": HELPER * 80}
    assert main_of(tmp_path / "b", files, **names).main == "big.py"


def test_a_bare_alias_class_counts_only_when_nothing_better_is_found(tmp_path):
    from grader.rubric import load_rubric

    names = load_rubric("lab1").discovery_names()
    typed = renamed("Perceptron")
    files = {"a_model.py": "class Model:\n    pass\n" + HELPER * 60, "z.py": typed}
    assert main_of(tmp_path / "a", files, **names).main == "z.py"
    files = {"a_model.py": "class Model:\n    pass\n", "z.py": HELPER * 60}
    sub = main_of(tmp_path / "b", files, **names)
    assert (sub.main, sub.main_class) == ("a_model.py", "Model")


def test_the_lab1_rubric_names_every_role():
    from grader.rubric import load_rubric

    names = load_rubric("lab1").discovery_names()
    assert names["main_class_names"] == ("NN",)
    assert "Dense" in names["main_class_aliases"]
    assert [role[0] for role in names["main_method_names"]] == ["predict", "backprop", "update"]
    assert all(len(role) > 1 for role in names["main_method_names"])


def test_names_then_size_decide_when_no_class_is_found(tmp_path):
    sub = main_of(tmp_path / "a", {"lab1.py": "x = 1\n", "big.py": HELPER * 50})
    assert (sub.main, sub.main_reason) == ("lab1.py", "named like a main file (lab1.py)")
    sub = main_of(tmp_path / "b", {"DLP_LAB1_0756172_x.py": "x = 1\n", "big.py": HELPER * 50})
    assert sub.main == "DLP_LAB1_0756172_x.py", "named like the submission"
    sub = main_of(tmp_path / "c", {"a.py": "x = 1\n", "b.py": HELPER * 50, "c.py": HELPER})
    assert (sub.main, sub.main_reason) == ("b.py", "the largest of 3 source files")


def test_files_that_do_not_parse_are_read_without_crashing(tmp_path):
    # A missing colon, a NUL byte, absurd nesting, an invalid escape (a warning, an error under
    # -W error): none of them may escape discover, and the text scan still finds the class.
    broken = NN_SCRIPT.replace("def backprop(self, y):", "def backprop(self, y)")
    sub = main_of(tmp_path / "a", {
        "nn.py": broken, "nul.py": b"x = 1\0\n", "deep.py": "-" * 100_000 + "1\n",
        "attr.py": "a" + ".b" * 100_000 + "\n", "esc.py": 'import re\np = re.compile("\\d+")\n'})
    assert (sub.main, sub.main_class) == ("nn.py", "NN") and sub.errors == []
    assert "(found by a text scan" in sub.main_reason
    assert sum("does not parse" in note for note in sub.notes) == 3
    sub = main_of(tmp_path / "b", {"model.py": broken.replace("class NN", "class Net")})
    assert sub.main_reason == ("defines class Net with predict, backprop, update (no class "
                               "named NN) (found by a text scan: the file does not parse)")
    sub = main_of(tmp_path / "c", {"lab.py": "def f(:\n    pass\n"})
    assert (sub.main, sub.main_reason) == ("lab.py", "the only Python source or notebook")
    assert sub.errors == [], "the loader, not discover, reports the syntax error"


def test_long_inheritance_chains_and_cycles_cost_nothing(tmp_path):
    chain = "".join(f"class A{i}(A{i - 1}):\n    pass\n" for i in range(1, 3000))
    text = ("class A0:\n    def predict(self): pass\n    def backprop(self, y): pass\n"
            "    def update(self, lr): pass\n" + chain + "class B(C): pass\nclass C(B): pass\n")
    sub = main_of(tmp_path, {"model.py": text, "other.py": HELPER})
    assert (sub.main, sub.main_class) == ("model.py", "A0")


def test_an_unreadable_notebook_is_an_error_only_when_it_is_the_main_file(tmp_path):
    sub = main_of(tmp_path / "a", {"lab1.ipynb": "{ this is not json"})
    assert sub.main == "lab1.ipynb" and len(sub.errors) == 1
    assert sub.errors[0].startswith("The notebook 'lab1.ipynb' cannot be read (")
    sub = main_of(tmp_path / "b", {"lab1.ipynb": "{ this is not json", "nn.py": NN_SCRIPT})
    assert sub.main == "nn.py" and sub.errors == [] and len(sub.notes) == 1


def test_notebook_magics_and_shell_lines_do_not_hide_the_class(tmp_path):
    text = notebook_text("%%bash\necho hi", "!pip install numpy\n%matplotlib inline",
                         "if True:\n    !ls\n" + NN_SCRIPT)
    sub = main_of(tmp_path, {"work.ipynb": text, "helpers.py": HELPER})
    assert (sub.main, sub.kind, sub.main_class) == ("work.ipynb", "notebook", "NN")
    assert sub.notes == []


def test_limits_apply_to_folders_too(tmp_path):
    folder = tmp_path / "DLP_LAB1_0756172_x"
    write(folder / "lab1.py", NN_SCRIPT)
    for i in range(5):
        write(folder / "data" / f"{i}.csv", "1\n")
    sub = one(discover(folder, workdir=tmp_path / "work", limits=ExtractionLimits(max_members=4)))
    assert sub.errors and "more than 4 files and folders" in sub.errors[0]
    assert sub.files == [] and list(sub.root.iterdir()) == []


# --- the program the student runs ---------------------------------------------------------------

MODEL = ("import numpy as np\n\nclass NN:\n    def predict(self, x):\n        return x\n"
         "    def backprop(self, y):\n        pass\n    def update(self, lr):\n        pass\n")


def test_the_program_that_imports_the_network_is_the_entry_point(tmp_path):
    folder = tmp_path / "DLP_LAB1_0756172_Wang"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "model.py").write_text(MODEL + "np.random.seed(16)\n")  # setup, no program
    (folder / "src" / "utils.py").write_text("def accuracy(p, y):\n    return (p == y).mean()\n")
    (folder / "src" / "main.py").write_text(
        "from model import NN\nfrom utils import accuracy\n\nif __name__ == '__main__':\n"
        "    net = NN()\n    print(accuracy(net.predict(1), 1))\n")
    (folder / "src" / "plot.py").write_text("import matplotlib\nprint('a helper that runs')\n")
    [sub] = discover(folder, workdir=tmp_path / "work")
    assert sub.main == "src/model.py"  # where the network is defined
    assert sub.entry == "src/main.py" and sub.entry_kind == "script"  # what the student runs
    assert sub.to_dict()["entry"] == "src/main.py"


def test_the_entry_point_may_import_the_network_through_another_module(tmp_path):
    """``main.py`` imports ``train.py``, which imports the network's module and runs nothing
    itself: the program is ``main.py``."""
    folder = tmp_path / "DLP_LAB1_0756173_Lin"
    folder.mkdir()
    (folder / "model.py").write_text(MODEL)
    (folder / "train.py").write_text("from model import NN\n\ndef run():\n    return NN()\n")
    (folder / "main.py").write_text("from train import run\n\nif __name__ == '__main__':\n"
                                    "    run()\n")
    (folder / "plot.py").write_text("print('a helper that runs')\n")
    [sub] = discover(folder, workdir=tmp_path / "work")
    assert sub.main == "model.py" and sub.entry == "main.py"


def test_a_notebook_importing_the_module_beside_it_is_the_entry_point(tmp_path):
    import nbformat

    folder = tmp_path / "DLP_LAB1_0756173_Lin"
    folder.mkdir()
    (folder / "network.py").write_text(MODEL)
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from network import NN"),
        nbformat.v4.new_code_cell("net = NN()\nnet.predict(1)")])
    nbformat.write(notebook, str(folder / "lab1.ipynb"))
    [sub] = discover(folder, workdir=tmp_path / "work")
    assert sub.main == "network.py" and (sub.entry, sub.entry_kind) == ("lab1.ipynb", "notebook")


def test_a_main_file_that_runs_by_itself_is_its_own_entry_point(tmp_path):
    path = tmp_path / "DLP_LAB1_0756174_Chen.py"
    path.write_text(MODEL + "\nif __name__ == '__main__':\n    NN().predict(1)\n")
    [sub] = discover(path, workdir=tmp_path / "work")
    assert sub.entry == sub.main == path.name
