"""Safe extraction of student zips: real zips built with :mod:`zipfile`, hostile ones patched byte
by byte where zipfile refuses to write them, and the file system checked before and after.

An unsafe entry is skipped, with its reason, and the rest of the zip is kept; only problems of
the whole archive refuse it."""

from __future__ import annotations

import io
import os
import random
import shutil
import stat
import struct
import unicodedata
import zipfile
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.archive import (ArchiveError, ExtractionLimits, ExtractionResult, SizeLimitExceeded,
                            SkippedEntry, copy_limited, decode_legacy_name, extract_zip)

TAIPEI = timezone(timedelta(hours=8))

# Field offsets in the zip headers (APPNOTE.TXT 4.3.7 and 4.3.12).
LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"
LOCAL_FIELDS = {"flags": (6, "<H"), "method": (8, "<H"), "crc": (14, "<L"),
                "file_size": (22, "<L")}
CENTRAL_FIELDS = {"flags": (8, "<H"), "method": (10, "<H"), "crc": (16, "<L"),
                  "file_size": (24, "<L"), "external_attr": (38, "<L")}


# --- helpers ------------------------------------------------------------------------------------

def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]],
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def patch(data: bytes, signature: bytes, index: int, fields: dict, name: str, value: int) -> bytes:
    """Overwrite one header field of the ``index``-th header with ``signature``."""
    at = -1
    for _ in range(index + 1):
        at = data.index(signature, at + 1)
    offset, fmt = fields[name]
    buf = bytearray(data)
    struct.pack_into(fmt, buf, at + offset, value)
    return bytes(buf)


def patch_both(data: bytes, index: int, name: str, value: int) -> bytes:
    """The same field in the local header and the central directory (they must agree)."""
    if name in LOCAL_FIELDS:
        data = patch(data, LOCAL, index, LOCAL_FIELDS, name, value)
    return patch(data, CENTRAL, index, CENTRAL_FIELDS, name, value)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def incompressible(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture
def dirs(tmp_path):
    """A folder for the zips and a separate parent for the extraction target."""
    zips = tmp_path / "zips"
    out = tmp_path / "out"
    zips.mkdir()
    out.mkdir()
    return zips, out


def refused(zip_path: Path, out: Path, limits: ExtractionLimits = ExtractionLimits()
            ) -> ArchiveError:
    """Extract, expect a refusal, and check that nothing at all was written."""
    before = listing(out.parent)
    with pytest.raises(ArchiveError) as info:
        extract_zip(zip_path, out / "target", limits)
    assert listing(out.parent) == before, "a refused zip must leave nothing behind"
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message
    return info.value


def extracted(zip_path: Path, out: Path, limits: ExtractionLimits = ExtractionLimits()
              ) -> ExtractionResult:
    """Extract, expect success, and check that nothing was written beside the target (``out``'s
    parent is the test's own tmp_path, so an escape would show up in its listing)."""
    before = listing(out.parent)
    result = extract_zip(zip_path, out / "target", limits)
    added = set(listing(out.parent)) - set(before)
    assert all(p == "out/target" or p.startswith("out/target/") for p in added), sorted(added)
    assert listing(out / "target") == sorted({*result.files, *result.directories})
    return result


def skipped(result: ExtractionResult | ArchiveError) -> dict[str, SkippedEntry]:
    """The unsafe entries left out (junk aside), by name."""
    return {entry.name: entry for entry in result.skipped if entry.unsafe}


def symlink(name: str, mode: int = stat.S_IFLNK | 0o777) -> zipfile.ZipInfo:
    """An entry whose Unix mode says link (or another special file), as Info-ZIP writes it."""
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


# --- unsafe entries are skipped, the rest is kept -----------------------------------------------

def test_a_correct_submission_beside_unsafe_entries_is_extracted_without_them(dirs):
    zips, out = dirs
    inside_tmp = str(out.parent / "absolute_evil.py")  # absolute, and where a leak would show
    good = {"DLP_LAB1_0856001_Chen/lab1.py": b"def hello():\n    return 1\n",
            "DLP_LAB1_0856001_Chen/report.pdf": b"%PDF-1.4\n"}
    zip_path = make_zip(zips / "DLP_LAB1_0856001_Chen.zip", [
        *good.items(), ("../../evil.py", b"import os\n"), ("/etc/x.py", b"pwned\n"),
        (inside_tmp, b"pwned\n"), (symlink("DLP_LAB1_0856001_Chen/data.py"), b"/etc/passwd"),
        ("C:\\x.py", b"pwned\n")])
    result = extracted(zip_path, out)
    assert result.files == sorted(good)
    for name, data in good.items():
        assert (out / "target" / name).read_bytes() == data
    assert not (out.parent.parent / "evil.py").exists() and not Path("/etc/x.py").exists()
    assert {name: entry.code for name, entry in skipped(result).items()} == {
        "../../evil.py": "escape", "/etc/x.py": "escape", inside_tmp: "escape",
        "DLP_LAB1_0856001_Chen/data.py": "symlink", "C:\\x.py": "escape"}
    reasons = {name: entry.reason for name, entry in skipped(result).items()}
    assert reasons["../../evil.py"] == "it points outside the submission folder"
    assert "absolute path" in reasons["/etc/x.py"] and "symbolic link" in reasons[
        "DLP_LAB1_0856001_Chen/data.py"] and "Windows drive (C:)" in reasons["C:\\x.py"]


@pytest.mark.parametrize("evil", ["../evil.py", "/etc/x", "C:\\x", "C:x", "a/../../b",
                                  "..\\evil.py", "\\\\server\\share\\x.py", "ok/../../../tmp/x"])
def test_entries_escaping_the_target_are_skipped_and_nothing_is_written_for_them(dirs, evil):
    zips, out = dirs
    zip_path = make_zip(zips / "slip.zip", [("lab1.py", b"print(1)\n"), (evil, b"pwned\n")])
    result = extracted(zip_path, out)
    assert result.files == ["lab1.py"] and result.directories == []
    [entry] = result.skipped
    assert (entry.name, entry.code) == (evil, "escape")
    assert "outside the submission folder" in entry.reason


def test_windows_backslash_paths_that_stay_inside_are_read_as_folders(dirs):
    zips, out = dirs
    zip_path = make_zip(zips / "ps.zip", [("src\\lab1.py", b"x = 1\n")])
    result = extract_zip(zip_path, out / "target")
    assert result.files == ["src/lab1.py"]
    assert (out / "target" / "src" / "lab1.py").read_bytes() == b"x = 1\n"


@pytest.mark.parametrize("mode, code", [(stat.S_IFLNK | 0o777, "symlink"),
                                        (stat.S_IFIFO | 0o644, "special"),
                                        (stat.S_IFCHR | 0o644, "special")])
def test_links_and_special_files_are_skipped(dirs, mode, code):
    zips, out = dirs
    zip_path = make_zip(zips / "link.zip", [("lab1.py", b"x = 1\n"),
                                            (symlink("data.csv", mode), b"/etc/passwd")])
    result = extracted(zip_path, out)
    assert result.files == ["lab1.py"]
    assert skipped(result)["data.csv"].code == code


def test_encrypted_entries_are_skipped(dirs):
    zips, out = dirs
    data = make_zip(zips / "plain.zip", [("lab1.py", b"x = 1\n"), ("secret.py", b"y = 2\n")]
                    ).read_bytes()
    zip_path = zips / "secret.zip"
    zip_path.write_bytes(patch_both(data, 1, "flags", 0x1))
    result = extracted(zip_path, out)
    assert result.files == ["lab1.py"]
    entry = skipped(result)["secret.py"]
    assert entry.code == "encrypted" and "password" in entry.reason


def test_control_characters_in_names_are_skipped_and_shown_printable(dirs):
    zips, out = dirs
    zip_path = make_zip(zips / "ctl.zip", [("lab1.py", b"x = 1\n"), ("evil\x07\x1b.py", b"y\n")])
    result = extracted(zip_path, out)
    assert result.files == ["lab1.py"]
    assert [(s.name, s.code) for s in result.skipped] == [("evil\\x07\\x1b.py", "bad-name")]


def test_too_deep_paths_and_too_long_names_are_skipped(dirs):
    zips, out = dirs
    long_name = "x" * 300 + ".py"
    zip_path = make_zip(zips / "deep.zip", [("lab1.py", b"x = 1\n"), ("a/b/c/d.py", b"y = 1\n"),
                                            (long_name, b"z = 1\n")])
    result = extracted(zip_path, out, ExtractionLimits(max_depth=3))
    assert result.files == ["lab1.py"] and result.directories == []
    codes = [(s.code, len(s.name) <= 120) for s in result.skipped]
    assert codes == [("too-deep", True), ("bad-name", True)]
    assert "4 levels deep, more than the 3 allowed" in result.skipped[0].reason
    assert extract_zip(zip_path, out / "ok", ExtractionLimits(max_depth=4)).files == [
        "a/b/c/d.py", "lab1.py"]


def test_duplicate_names_keep_the_first_and_file_folder_clashes_keep_the_folder(dirs):
    zips, out = dirs
    # zipfile warns on a duplicate name, so write two names and make them equal afterwards.
    data = make_zip(zips / "two.zip", [("lab1.py", b"a = 1\n"), ("lab2.py", b"b = 2\n")]
                    ).read_bytes().replace(b"lab2.py", b"lab1.py")
    (zips / "dup.zip").write_bytes(data)
    result = extract_zip(zips / "dup.zip", out / "dup")
    assert result.files == ["lab1.py"] and (out / "dup" / "lab1.py").read_bytes() == b"a = 1\n"
    entry = skipped(result)["lab1.py"]
    assert entry.code == "duplicate" and "first one was kept" in entry.reason

    clash = make_zip(zips / "clash.zip", [("src", b"a file"), ("src/lab1.py", b"x = 1\n")])
    result = extracted(clash, out)
    assert result.files == ["src/lab1.py"] and result.directories == ["src"]
    assert "folder of that name" in skipped(result)["src"].reason


def test_a_zip_with_nothing_but_unsafe_entries_is_refused_saying_what_was_skipped(dirs):
    zips, out = dirs
    zip_path = make_zip(zips / "evil.zip", [("../../evil.py", b"x\n"), (symlink("lab1.py"), b"/"),
                                            ("report.pdf", b"%PDF-1.4\n")])
    error = refused(zip_path, out)
    assert error.code == "nothing-gradable" and str(error).startswith("Nothing gradable is left")
    assert ("'../../evil.py' (it points outside the submission folder)" in str(error)
            and "'lab1.py' (it is a symbolic link" in str(error))
    assert sorted(skipped(error)) == ["../../evil.py", "lab1.py"]

    many = make_zip(zips / "many.zip", [(f"../evil{i}.py", b"x\n") for i in range(5)])
    error = refused(many, out)
    assert "'../evil2.py'" in str(error) and "'../evil3.py'" not in str(error)
    assert "and 2 more" in str(error) and len(error.skipped) == 5


def test_a_zip_without_source_but_nothing_unsafe_is_extracted_for_discovery_to_explain(dirs):
    zips, out = dirs
    zip_path = make_zip(zips / "report.zip", [("report.pdf", b"%PDF-1.4\n")])
    assert extracted(zip_path, out).files == ["report.pdf"]


# --- zip bombs ----------------------------------------------------------------------------------

def test_too_many_entries_is_refused(dirs):
    zips, out = dirs
    zip_path = make_zip(zips / "many.zip", [(f"f{i}.txt", b"x") for i in range(11)])
    error = refused(zip_path, out, ExtractionLimits(max_members=10))
    assert error.code == "too-many" and "10" in str(error)
    assert len(extract_zip(zip_path, out / "t", ExtractionLimits(max_members=11)).files) == 11


def test_declared_total_and_member_sizes_are_checked_before_extracting(dirs):
    zips, out = dirs
    text = b"0.12345 0.67890\n" * 40_000  # 640 kB each, a small zip
    zip_path = make_zip(zips / "big.zip", [("a.txt", text), ("b.txt", text)])
    assert zip_path.stat().st_size < 100_000
    error = refused(zip_path, out, ExtractionLimits(max_total_bytes=1_000_000))
    assert error.code == "too-large" and "unpacks to 1.2 MiB" in str(error)


def test_an_entry_declaring_more_than_the_per_file_cap_is_skipped_and_not_counted(dirs):
    zips, out = dirs
    text = b"0.12345 0.67890\n" * 40_000  # 640 kB, a small entry in the zip
    zip_path = make_zip(zips / "big.zip", [("lab1.py", b"x = 1\n"), ("a.txt", text),
                                           ("b.txt", text[:400_000])])
    # Together over the total cap, but a.txt is skipped and only what is kept counts.
    result = extracted(zip_path, out, ExtractionLimits(max_member_bytes=500_000,
                                                       max_total_bytes=1_000_000))
    assert result.files == ["b.txt", "lab1.py"] and result.total_bytes == 400_006
    entry = skipped(result)["a.txt"]
    assert entry.code == "too-large" and "625.0 KiB uncompressed" in entry.reason


def test_a_zip_file_larger_than_the_total_cap_is_refused_unopened(dirs):
    zips, out = dirs
    zip_path = make_zip(zips / "huge.zip", [("a.bin", incompressible(3000))])
    error = refused(zip_path, out, ExtractionLimits(max_total_bytes=1000))
    assert error.code == "too-large" and "'huge.zip' is 3.0 KiB" in str(error)


def test_a_highly_compressed_entry_is_skipped_as_a_bomb(dirs):
    zips, out = dirs
    zip_path = make_zip(zips / "bomb.zip", [("lab1.py", b"x = 1\n"),
                                            ("zeros.npy", bytes(50 * 2**20))])
    assert zip_path.stat().st_size < 200_000  # ~50 KiB on disk, 50 MiB unpacked
    result = extracted(zip_path, out)  # default limits: under every size cap, over the ratio
    assert result.files == ["lab1.py"]
    entry = skipped(result)["zeros.npy"]
    assert entry.code == "ratio" and "zip bombs" in entry.reason


def test_the_overall_ratio_is_checked_too(dirs):
    zips, out = dirs
    # Each entry is just under the per-entry threshold, together they are over it.
    entries = [(f"part{i}.bin", bytes(2**20)) for i in range(4)]
    zip_path = make_zip(zips / "parts.zip", entries)
    error = refused(zip_path, out)
    assert error.code == "ratio" and error.entry is None and "overall" in str(error)


def test_small_compressible_files_are_not_bombs(dirs):
    zips, out = dirs
    zip_path = make_zip(zips / "zeros.zip", [("empty_weights.txt", bytes(100_000))])
    assert extract_zip(zip_path, out / "t").total_bytes == 100_000


def test_a_header_that_understates_the_size_is_caught_while_streaming(dirs):
    zips, out = dirs
    payload = b"0123456789abcdef" * 65536  # 1 MiB, highly compressible
    data = make_zip(zips / "honest.zip", [("lab1.py", b"x = 1\n"), ("data.txt", payload)]
                    ).read_bytes()
    lying = patch(data, CENTRAL, 1, CENTRAL_FIELDS, "file_size", 100)
    # Even with the CRC forged to match the 100 bytes the header promises, the extra data is seen.
    forged = patch(lying, CENTRAL, 1, CENTRAL_FIELDS, "crc", zlib.crc32(payload[:100]))
    for name, zip_data in (("lying.zip", lying), ("forged.zip", forged)):
        (zips / name).write_bytes(zip_data)
        result = extracted(zips / name, out)
        assert result.files == ["lab1.py"] and result.total_bytes == 6
        assert skipped(result)["data.txt"].code == "lying-header"
        shutil.rmtree(out / "target")


def test_an_entry_streaming_past_the_per_file_cap_is_skipped_and_its_partial_file_removed(dirs):
    zips, out = dirs
    declared, real = 100_000, incompressible(1000) * 1000  # 1 MB out of a few KiB
    data = make_zip(zips / "honest.zip", [("lab1.py", b"x = 1\n"), ("weights.npy", real)]
                    ).read_bytes()
    (zips / "lying.zip").write_bytes(patch(data, CENTRAL, 1, CENTRAL_FIELDS, "file_size",
                                           declared))
    limits = ExtractionLimits(max_member_bytes=200_000)  # the real size is far beyond it
    result = extracted(zips / "lying.zip", out, limits)
    assert result.files == ["lab1.py"]
    assert not (out / "target" / "weights.npy").exists()  # more than a chunk was written first
    entry = skipped(result)["weights.npy"]
    assert entry.code == "lying-header" and "more data than its header declares" in entry.reason


def test_the_streaming_counter_stops_at_the_limit():
    sink = io.BytesIO()
    assert copy_limited(io.BytesIO(b"x" * 1000), sink, 1000) == 1000
    sink = io.BytesIO()
    with pytest.raises(SizeLimitExceeded):
        copy_limited(io.BytesIO(b"x" * 200_000), sink, 100_000)
    assert len(sink.getvalue()) <= 100_000, "never writes past the limit"
    with pytest.raises(SizeLimitExceeded):
        copy_limited(io.BytesIO(b"x"), io.BytesIO(), 0)


# --- broken archives ----------------------------------------------------------------------------

def test_a_truncated_zip_is_refused_with_a_clear_message(dirs):
    zips, out = dirs
    data = make_zip(zips / "whole.zip", [("lab1.py", incompressible(5000))]).read_bytes()
    (zips / "cut.zip").write_bytes(data[: len(data) // 2])
    error = refused(zips / "cut.zip", out)
    assert error.code == "corrupt"
    assert "'cut.zip'" in str(error) and "upload" in str(error)


def test_a_damaged_entry_is_refused_naming_it(dirs):
    zips, out = dirs
    data = bytearray(make_zip(zips / "ok.zip", [("lab1.py", b"print('hello world')\n" * 50)],
                              compression=zipfile.ZIP_STORED).read_bytes())
    at = data.index(b"hello")
    data[at] ^= 0xFF  # flip bits of the stored data: its CRC-32 no longer matches
    (zips / "bad.zip").write_bytes(bytes(data))
    error = refused(zips / "bad.zip", out)
    assert error.code == "corrupt" and error.entry == "lab1.py" and "CRC" in str(error)


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"Rar!\x1a\x07\x00" + b"\0" * 40, "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c" + b"\0" * 40, "7-Zip archive"),
    (b"def f():\n    return 1\n", "not a zip archive"),
])
def test_files_that_are_not_zips_are_refused_with_what_they_are(dirs, content, words):
    zips, out = dirs
    (zips / "DLP_LAB1_0756172.zip").write_bytes(content)
    error = refused(zips / "DLP_LAB1_0756172.zip", out)
    assert words in str(error) and "'DLP_LAB1_0756172.zip'" in str(error)


def test_an_unsupported_compression_method_is_refused(dirs):
    zips, out = dirs
    data = make_zip(zips / "ok.zip", [("lab1.py", b"x = 1\n" * 100)]).read_bytes()
    (zips / "d64.zip").write_bytes(patch_both(data, 0, "method", 9))  # Deflate64
    error = refused(zips / "d64.zip", out)
    assert error.code == "unsupported" and error.entry == "lab1.py"
    assert "(Deflate64, method 9)" in str(error)


# --- names --------------------------------------------------------------------------------------

def raw_name_zip(path: Path, raw_names: list[bytes], extra: bytes = b"") -> Path:
    """A zip whose names are the given bytes, without the UTF-8 flag (as Windows tools write).

    zipfile would set the UTF-8 flag for non-ASCII names, so ASCII placeholders of the same
    length are written and then replaced by the raw bytes (local header and central directory).
    """
    placeholders = [chr(ord("A") + i).encode() * len(raw) for i, raw in enumerate(raw_names)]
    entries = []
    for i, placeholder in enumerate(placeholders):
        info = zipfile.ZipInfo(placeholder.decode(), date_time=(2024, 3, 21, 23, 58, 0))
        info.extra = extra
        entries.append((info, f"content {i}\n".encode()))
    data = make_zip(path, entries).read_bytes()
    for placeholder, raw in zip(placeholders, raw_names):
        assert data.count(placeholder) == 2
        data = data.replace(placeholder, raw)
    path.write_bytes(data)
    return path


def test_big5_names_from_windows_come_out_readable(dirs):
    zips, out = dirs
    names = ["鍾嘉峻.py", "報告/DLP_LAB1_0756172_鍾嘉峻.pdf"]
    zip_path = raw_name_zip(zips / "big5.zip", [n.encode("cp950") for n in names])
    with zipfile.ZipFile(zip_path) as zf:  # what Python alone makes of them: CP437 mojibake
        assert all(not info.flag_bits & 0x800 for info in zf.infolist())
        assert "鍾嘉峻.py" not in zf.namelist()
    result = extract_zip(zip_path, out / "target")
    assert result.files == sorted(names)
    assert result.name_encoding == "cp950"
    assert (out / "target" / "鍾嘉峻.py").read_bytes() == b"content 0\n"


def test_cp437_and_utf8_names_come_out_right(dirs):
    zips, out = dirs
    # b"caf\x82" is valid only in CP437 (0x82 is 'é'); UTF-8 without the flag is what macOS
    # writes, in NFD; and a name with the flag set is read as UTF-8 by zipfile itself.
    nfd = unicodedata.normalize("NFD", "résumé.py")
    raw_name_zip(zips / "cp437.zip", [b"caf\x82.py"])
    raw_name_zip(zips / "mac.zip", [nfd.encode("utf-8")])
    make_zip(zips / "flag.zip", [("王小明/lab1.py", b"x = 1\n")])
    assert extract_zip(zips / "cp437.zip", out / "a").files == ["café.py"]
    mac = extract_zip(zips / "mac.zip", out / "b")
    assert mac.files == ["résumé.py"] and mac.files[0] == unicodedata.normalize("NFC", nfd)
    assert extract_zip(zips / "flag.zip", out / "c").files == ["王小明/lab1.py"]


def test_the_unicode_path_extra_field_wins(dirs):
    zips, out = dirs
    raw = "鍾嘉峻.py".encode("cp950")
    field = struct.pack("<HHBL", 0x7075, 5 + len("王小明.py".encode()), 1, zlib.crc32(raw))
    extra = field + "王小明.py".encode()
    zip_path = raw_name_zip(zips / "up.zip", [raw], extra=extra)
    assert extract_zip(zip_path, out / "t").files == ["王小明.py"]


def test_decode_legacy_name_order():
    assert decode_legacy_name("鍾嘉峻".encode("utf-8")) == ("鍾嘉峻", "utf-8")
    assert decode_legacy_name("鍾嘉峻".encode("cp950")) == ("鍾嘉峻", "cp950")
    assert decode_legacy_name(b"caf\x82") == ("café", "cp437")


# --- what is kept -------------------------------------------------------------------------------

def test_junk_is_skipped_but_recorded_and_folders_and_nested_zips_are_kept(dirs):
    zips, out = dirs
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("inner.py", "x = 1\n")
    zip_path = make_zip(zips / "full.zip", [
        ("DLP_LAB1_0756172/", b""),
        ("DLP_LAB1_0756172/code/lab1.py", b"class NN: pass\n"),
        ("DLP_LAB1_0756172/code/utils/helpers.py", b"def f(): pass\n"),
        ("DLP_LAB1_0756172/report.pdf", b"%PDF-1.4\n"),
        ("DLP_LAB1_0756172/old.zip", inner.getvalue()),
        ("DLP_LAB1_0756172/empty/", b""),
        ("__MACOSX/DLP_LAB1_0756172/._lab1.py", b"\0\5\26\7"),
        ("DLP_LAB1_0756172/.DS_Store", b"\0\0\0\1Bud1"),
        ("DLP_LAB1_0756172/Thumbs.db", b"\xd0\xcf"),
        ("DLP_LAB1_0756172/code/__pycache__/lab1.cpython-311.pyc", b"\xa7\r\r\n"),
        ("DLP_LAB1_0756172/.ipynb_checkpoints/lab1-checkpoint.ipynb", b"{}"),
    ])
    result = extract_zip(zip_path, out / "target")
    assert result.files == ["DLP_LAB1_0756172/code/lab1.py",
                            "DLP_LAB1_0756172/code/utils/helpers.py",
                            "DLP_LAB1_0756172/old.zip", "DLP_LAB1_0756172/report.pdf"]
    assert listing(out / "target") == sorted([
        "DLP_LAB1_0756172", "DLP_LAB1_0756172/code", "DLP_LAB1_0756172/code/utils",
        "DLP_LAB1_0756172/empty", *result.files])
    assert sorted(s.name for s in result.skipped) == sorted([
        "__MACOSX/DLP_LAB1_0756172/._lab1.py", "DLP_LAB1_0756172/.DS_Store",
        "DLP_LAB1_0756172/Thumbs.db", "DLP_LAB1_0756172/code/__pycache__/lab1.cpython-311.pyc",
        "DLP_LAB1_0756172/.ipynb_checkpoints/lab1-checkpoint.ipynb"])
    assert all(s.reason and not s.unsafe for s in result.skipped)  # junk, nothing to tell
    assert (out / "target" / "DLP_LAB1_0756172/old.zip").read_bytes() == inner.getvalue()
    assert result.total_bytes == sum((out / "target" / f).stat().st_size for f in result.files)
    # Only the target was created next to it: the temporary folder was renamed into place.
    assert listing(out) == ["target"] + [f"target/{p}" for p in listing(out / "target")]


def test_entry_times_are_timezone_aware_and_set_on_the_files(dirs):
    zips, out = dirs
    dos = zipfile.ZipInfo("dos.py", date_time=(2024, 3, 21, 23, 58, 30))
    ut = zipfile.ZipInfo("ut.py", date_time=(2024, 3, 22, 1, 0, 0))
    moment = datetime(2024, 3, 21, 15, 59, 59, tzinfo=timezone.utc)
    ut.extra = struct.pack("<HHBi", 0x5455, 5, 1, int(moment.timestamp()))
    zip_path = make_zip(zips / "times.zip", [(dos, b"a = 1\n"), (ut, b"b = 2\n")])
    result = extract_zip(zip_path, out / "target", tz=TAIPEI)
    assert result.entry_times["dos.py"] == datetime(2024, 3, 21, 23, 58, 30, tzinfo=TAIPEI)
    assert result.entry_times["ut.py"] == moment  # the UTC field wins over the DOS time
    assert result.entry_times["ut.py"].utcoffset() == timedelta(hours=8)
    assert os.stat(out / "target" / "ut.py").st_mtime == moment.timestamp()


def test_the_target_must_be_new_or_empty(dirs):
    zips, out = dirs
    zip_path = make_zip(zips / "a.zip", [("lab1.py", b"x = 1\n")])
    (out / "empty").mkdir()
    assert extract_zip(zip_path, out / "empty").files == ["lab1.py"]
    with pytest.raises(FileExistsError):
        extract_zip(zip_path, out / "empty")


# --- limits -------------------------------------------------------------------------------------

def test_limits_have_defaults_and_help_in_one_place():
    limits = ExtractionLimits()
    assert (limits.max_total_bytes, limits.max_members, limits.max_member_bytes,
            limits.max_ratio, limits.max_depth) == (200 * 2**20, 2000, 100 * 2**20, 200.0, 20)
    described = {name: (kind, default, help) for name, kind, default, help
                 in ExtractionLimits.describe()}
    assert described["max_members"][:2] == ("int", 2000)
    assert all(help.endswith(".") for _kind, _default, help in described.values())
    with pytest.raises(AttributeError):
        limits.max_members = 5  # type: ignore[misc]  (frozen)


@pytest.mark.parametrize("kwargs, words", [
    ({"max_members": 0}, "max_members must be at least 1"),
    ({"max_total_bytes": -5}, "max_total_bytes must be at least 1"),
    ({"max_depth": 2.5}, "max_depth must be an integer"),
    ({"max_members": True}, "max_members must be an integer"),
    ({"max_ratio": 0.5}, "max_ratio must be at least 1"),
    ({"max_ratio": float("nan")}, "max_ratio must be at least 1"),
    ({"max_member_bytes": "10"}, "max_member_bytes must be an integer"),
])
def test_limits_are_validated_with_clear_messages(kwargs, words):
    with pytest.raises(ValueError, match=words):
        ExtractionLimits(**kwargs)
