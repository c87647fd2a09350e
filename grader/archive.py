"""Safe extraction of student zips (the parent side of the "discover" stage).

A zip handed in by a student is untrusted input: it may try to write outside the folder it is
extracted to ("zip slip"), carry symbolic links or device files, be a zip bomb, lie in its
headers, be encrypted, truncated, or not be a zip at all.  :func:`extract_zip` checks every entry
*before* writing anything, streams the data with byte counters (headers can lie), writes into a
private temporary folder next to the target and renames it into place only when everything went
well.

One unsafe entry does not cost the student the rest of the submission: an entry that cannot be
written safely (a path leaving the folder, a link, a device, a password, an absurd size or
ratio, a duplicate name) is skipped and recorded as a :class:`SkippedEntry` with a reason the
student understands.  Only problems of the whole zip (not a zip, damaged, too many entries, too
large or too compressed in total, nothing gradable left) raise :class:`ArchiveError`, with one
sentence for the student, and leave nothing behind.

Nothing here executes or imports what it extracts.

Member names written by Windows tools (no UTF-8 flag) are decoded the way a Taiwanese course
needs: the Info-ZIP Unicode Path field if present, else UTF-8, Big5 (cp950), GBK, and only then
the zip standard's CP437.  All names are normalised to Unicode NFC (macOS writes NFD).
"""

from __future__ import annotations

import copy
import errno
import lzma
import math
import os
import re
import shutil
import stat
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone, tzinfo
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Sequence

__all__ = [
    "ArchiveError",
    "ExtractionLimits",
    "ExtractionResult",
    "SizeLimitExceeded",
    "SkippedEntry",
    "copy_limited",
    "decode_legacy_name",
    "extract_zip",
    "junk_reason",
    "MiB",
]

MiB = 1024 * 1024

# General-purpose flag bits of a zip entry (APPNOTE.TXT 4.4.4).
_FLAG_ENCRYPTED = 0x0001
_FLAG_STRONG_ENCRYPTION = 0x0040
_FLAG_UTF8 = 0x0800

# Extra-field header ids (APPNOTE.TXT 4.5 and Info-ZIP's extra.fld).
_EXTRA_NTFS = 0x000A
_EXTRA_UNIX_TIME = 0x5455  # "UT": extended timestamp, seconds since the epoch, UTC
_EXTRA_UNICODE_PATH = 0x7075  # "up": UTF-8 name written by 7-Zip, WinRAR, Info-ZIP

# Legacy encodings tried, in order, for names without the UTF-8 flag.  Big5 before GBK: the
# course is taught in Taiwan, and many GBK byte pairs are also valid Big5 (the reverse is rarer).
LEGACY_NAME_ENCODINGS: tuple[str, ...] = ("utf-8", "cp950", "gbk")
_ENCODING_LABELS = {"utf-8": "UTF-8", "cp950": "Big5 (cp950)", "gbk": "GBK", "cp437": "CP437"}

# What the grader can grade: without one of these left, skipping unsafe entries refuses the zip.
GRADABLE_SUFFIXES: tuple[str, ...] = (".py", ".ipynb")

_COPY_CHUNK = 64 * 1024
_MAX_NAME_COMPONENT_BYTES = 255  # NAME_MAX of Linux and macOS file systems
# The central directory of a zip is read into memory before any entry can be checked, so its
# declared size is checked first.  Real entries take well under 1 KiB each (46 fixed bytes, the
# name, a few extra fields); 4 KiB per allowed member is generous and still bounds the memory.
_CENTRAL_DIR_BYTES_PER_MEMBER = 4096


# --- limits -----------------------------------------------------------------------------------

def _limit(default: int | float, help: str, *, minimum: int | float) -> Any:
    """One limit = name (the attribute), type (the annotation), default, help and minimum.

    Keeping them together (as traitlets do in nbclient) means the CLI can build its options and
    the docs their table from :meth:`ExtractionLimits.describe` without repeating anything.
    """
    return field(default=default, metadata={"help": help, "minimum": minimum})


@dataclass(frozen=True)
class ExtractionLimits:
    """Caps that make a zip bomb or an oversized submission a clear refusal, not a full disk.

    The defaults are far above any honest Lab1 submission (a few source files, a report PDF and
    perhaps a small dataset) and far below what would hurt a grading machine.
    """

    max_total_bytes: int = _limit(
        200 * MiB, "Largest total size, in bytes, of all files extracted from one submission.",
        minimum=1)
    max_members: int = _limit(
        2000, "Largest number of entries (files, folders and skipped ones) in one zip.",
        minimum=1)
    max_member_bytes: int = _limit(
        100 * MiB, "Largest size, in bytes, of one extracted file; a larger one is skipped.",
        minimum=1)
    max_ratio: float = _limit(
        200.0, "Largest compression ratio (uncompressed / compressed size) of one entry and of "
               "the whole zip; text compresses about 3-10 times, zip bombs thousands of times.",
        minimum=1)
    ratio_min_bytes: int = _limit(
        1 * MiB, "The ratio check applies only to entries (and totals) larger than this many "
                 "bytes: a small file of zeros compresses well but is harmless.", minimum=0)
    max_depth: int = _limit(
        20, "Largest number of path components of an entry (folders + the file name).",
        minimum=1)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            minimum = f.metadata["minimum"]
            wants_int = f.type in ("int", int)
            ok_type = int if wants_int else (int, float)
            if isinstance(value, bool) or not isinstance(value, ok_type):
                kind = "an integer" if wants_int else "a number"
                raise ValueError(f"ExtractionLimits.{f.name} must be {kind}, got {value!r}")
            if not math.isfinite(value) or value < minimum:
                raise ValueError(f"ExtractionLimits.{f.name} must be at least {minimum}, "
                                 f"got {value!r} ({f.metadata['help']})")

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any, str]]:
        """``(name, type, default, help)`` for every limit, for command-line options and docs."""
        return [(f.name, str(f.type), f.default, f.metadata["help"]) for f in fields(cls)]


# --- results and errors -----------------------------------------------------------------------

class ArchiveError(Exception):
    """A submitted archive was refused; ``str(error)`` is one sentence written for the student.

    ``code`` says why in one word (for tests and statistics), ``entry`` names the zip entry at
    fault when there is one, ``skipped`` the entries left out before the zip was refused (when
    nothing gradable was left without them).
    """

    def __init__(self, message: str, *, code: str, entry: str | None = None,
                 skipped: Sequence[SkippedEntry] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.entry = entry
        self.skipped = list(skipped)


class SizeLimitExceeded(Exception):
    """Raised by :func:`copy_limited` when the source holds more bytes than allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class SkippedEntry:
    """An entry that was deliberately not extracted: junk, or an entry unsafe to write.

    Junk (macOS and Windows metadata, caches) has no ``code`` and a short ``reason`` ("macOS
    metadata folder"): it is recorded for the TA, and the student need not hear of it.  An unsafe
    entry has a ``code`` (one word, like :attr:`ArchiveError.code`) and a ``reason`` that is a
    clause for the student ("it points outside the submission folder"), since a file of theirs
    may be missing from the grading because of it.  ``name`` is always printable.
    """

    name: str
    reason: str
    code: str | None = None

    @property
    def unsafe(self) -> bool:
        """True for an entry skipped because it could not be written safely (not junk)."""
        return self.code is not None


@dataclass
class ExtractionResult:
    """What :func:`extract_zip` wrote.

    ``files`` are POSIX paths relative to ``target``, sorted; ``skipped`` are the entries left
    out (junk and unsafe entries, see :class:`SkippedEntry`); ``entry_times`` gives each file's
    modification time recorded in the zip (timezone-aware; absent when the zip's date is invalid).
    ``name_encoding`` is the legacy encoding used for names without the UTF-8 flag, when one was
    needed (``"cp950"`` for Big5 names), else ``None``.
    """

    target: Path
    files: list[str]
    directories: list[str]
    skipped: list[SkippedEntry]
    total_bytes: int
    entry_times: dict[str, datetime]
    name_encoding: str | None = None


# --- junk -------------------------------------------------------------------------------------

_JUNK_DIRS = {"__macosx": "macOS metadata folder", "__pycache__": "Python bytecode cache",
              ".ipynb_checkpoints": "Jupyter checkpoint folder"}
_JUNK_FILES = {".ds_store": "macOS folder settings", "thumbs.db": "Windows thumbnail cache",
               "desktop.ini": "Windows folder settings"}


def junk_reason(parts: tuple[str, ...] | list[str], *, is_dir: bool = False) -> str | None:
    """Why the path made of ``parts`` is operating-system junk to skip, or ``None`` if it is not.

    Junk is skipped silently but recorded, so a TA can still see that it was there.
    """
    folders = parts if is_dir else parts[:-1]
    for part in folders:
        reason = _JUNK_DIRS.get(part.casefold())
        if reason:
            return reason
    if not is_dir and parts:
        name = parts[-1]
        reason = _JUNK_FILES.get(name.casefold())
        if reason:
            return reason
        if name.startswith("._"):  # AppleDouble resource fork, when zipped outside __MACOSX
            return "macOS resource fork"
    return None


# --- names ------------------------------------------------------------------------------------

def _decodes_cleanly(raw: bytes, encoding: str) -> str | None:
    """``raw`` decoded strictly with ``encoding`` if that gives printable text, else ``None``."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return None
    # Private-use and control characters mean the guess is wrong (isprintable rejects both).
    return text if text.isprintable() else None


def decode_legacy_name(raw: bytes, encodings: tuple[str, ...] = LEGACY_NAME_ENCODINGS
                       ) -> tuple[str, str]:
    """Decode a zip member name written without the UTF-8 flag: ``(name, encoding used)``.

    The first of ``encodings`` that decodes cleanly into printable text wins; CP437 (the zip
    standard's own, which decodes any bytes) is the last resort.
    """
    for encoding in encodings:
        text = _decodes_cleanly(raw, encoding)
        if text is not None:
            return text, encoding
    return raw.decode("cp437"), "cp437"


def _choose_archive_encoding(raw_names: list[bytes]) -> str | None:
    """The first legacy encoding that decodes *every* non-ASCII name of the zip cleanly.

    One zip is made by one tool on one machine, so deciding for the whole archive uses more
    evidence than deciding name by name (a short Big5 name may also happen to be valid GBK).
    """
    non_ascii = [raw for raw in raw_names if not raw.isascii()]
    if not non_ascii:
        return None
    for encoding in LEGACY_NAME_ENCODINGS:
        if all(_decodes_cleanly(raw, encoding) is not None for raw in non_ascii):
            return encoding
    return None


def _extra_fields(extra: bytes) -> dict[int, bytes]:
    """The extra fields of a zip entry by header id; a malformed tail is ignored."""
    result: dict[int, bytes] = {}
    offset = 0
    while offset + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, offset)
        data = extra[offset + 4: offset + 4 + size]
        if len(data) < size:
            break
        result.setdefault(header_id, data)
        offset += 4 + size
    return result


def _unicode_path_field(info: zipfile.ZipInfo, raw: bytes) -> str | None:
    """The UTF-8 name from an Info-ZIP Unicode Path field, if present and still matching.

    The field carries the CRC-32 of the legacy name it was written for; a mismatch means a later
    tool renamed the entry without updating the field, and the field must then be ignored.
    """
    data = _extra_fields(info.extra).get(_EXTRA_UNICODE_PATH)
    if not data or len(data) < 5 or data[0] != 1:
        return None
    (crc,) = struct.unpack_from("<L", data, 1)
    if crc != zlib.crc32(raw):
        return None
    try:
        return data[5:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _member_names(infos: list[zipfile.ZipInfo]) -> tuple[list[str], str | None]:
    """The readable, NFC-normalised name of every entry, and the legacy encoding used, if any."""
    # zipfile decodes names without the UTF-8 flag as CP437; encoding them back gives the bytes.
    raws = [None if info.flag_bits & _FLAG_UTF8 else info.orig_filename.encode("cp437")
            for info in infos]
    archive_encoding = _choose_archive_encoding([raw for raw in raws if raw is not None])
    used: str | None = None
    names = []
    for info, raw in zip(infos, raws):
        if raw is None:
            name = info.orig_filename
        else:
            name = _unicode_path_field(info, raw)
            if name is None and archive_encoding is not None:
                name = raw.decode(archive_encoding)
                used = archive_encoding
            elif name is None:
                name, encoding = decode_legacy_name(raw)
                used = used or (encoding if not raw.isascii() else None)
        names.append(unicodedata.normalize("NFC", name))
    return names, used


_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_PATH_BYTES = 1024  # well below PATH_MAX (4096), leaving room for the grader's own folders
_MAX_SHOWN_CHARS = 120


class _Unsafe(Exception):
    """One entry cannot be written safely; it is skipped and the rest of the zip is kept."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _printable(name: str) -> str:
    """``name`` safe to show in a message or a terminal: control characters as escapes
    (``\\x07``), and a name longer than a line cut short."""
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                    for ch in name)
    if len(shown) > _MAX_SHOWN_CHARS:
        shown = shown[: _MAX_SHOWN_CHARS - 3] + "..."
    return shown


def _safe_parts(name: str, limits: ExtractionLimits) -> tuple[str, ...]:
    """The path components of entry ``name``, or :class:`_Unsafe` if it cannot be written safely.

    Backslashes are read as folder separators (PowerShell 5's Compress-Archive writes them), so
    ``..\\evil.py`` is caught like ``../evil.py``.  Any ``..`` component makes the entry unsafe,
    even one that would stay inside (``a/../b``): no honest tool writes it.
    """
    if not name.isprintable():  # NUL included
        raise _Unsafe("bad-name", "its name holds control characters")
    if _DRIVE.match(name):
        raise _Unsafe("escape", f"it names a Windows drive ({name[:2]}), which points outside "
                                "the submission folder")
    unified = name.replace("\\", "/")
    if unified.startswith("/"):
        raise _Unsafe("escape", "it has an absolute path, which points outside the submission "
                                "folder")
    parts = tuple(part for part in unified.split("/") if part not in ("", "."))
    if ".." in parts:
        raise _Unsafe("escape", "it points outside the submission folder")
    if len(parts) > limits.max_depth:
        raise _Unsafe("too-deep", f"it is nested {len(parts)} levels deep, more than the "
                                  f"{limits.max_depth} allowed")
    longest = max((len(part.encode("utf-8")) for part in parts), default=0)
    if longest > _MAX_NAME_COMPONENT_BYTES or len(unified.encode("utf-8")) > _MAX_PATH_BYTES:
        raise _Unsafe("bad-name", "its name is longer than file systems allow")
    return parts


# --- entry times ------------------------------------------------------------------------------

_FILETIME_EPOCH = 116444736000000000  # 1970-01-01 in 100 ns ticks since 1601-01-01


def _entry_time(info: zipfile.ZipInfo, tz: tzinfo | None) -> datetime | None:
    """When the entry's file was last modified, timezone-aware, or ``None`` if unknown.

    The UTC timestamps of the "UT" (Info-ZIP, macOS) and NTFS (7-Zip) extra fields are used
    when present; otherwise the MS-DOS date and time, which are local time without a zone, are
    read in ``tz`` (``None``: the grading machine's local zone).
    """
    extras = _extra_fields(info.extra)
    timestamp: float | None = None
    unix_time = extras.get(_EXTRA_UNIX_TIME)
    if unix_time and len(unix_time) >= 5 and unix_time[0] & 1:
        timestamp = struct.unpack_from("<i", unix_time, 1)[0]
    ntfs = extras.get(_EXTRA_NTFS)
    if timestamp is None and ntfs and len(ntfs) >= 4 + 4 + 24:
        tag, size = struct.unpack_from("<HH", ntfs, 4)  # 4 reserved bytes, then tag 1: times
        if tag == 1 and size >= 24:
            (ticks,) = struct.unpack_from("<Q", ntfs, 8)
            timestamp = (ticks - _FILETIME_EPOCH) / 10_000_000
    try:
        if timestamp is not None:
            moment = datetime.fromtimestamp(timestamp, timezone.utc)
            return moment.astimezone(tz) if tz else moment.astimezone()
        naive = datetime(*info.date_time)
        return naive.replace(tzinfo=tz) if tz else naive.astimezone()
    except (ValueError, OverflowError, OSError):
        return None


# --- streaming copy ---------------------------------------------------------------------------

def copy_limited(src: BinaryIO, dst: BinaryIO, limit: int) -> int:
    """Copy ``src`` to ``dst`` and return the byte count; :class:`SizeLimitExceeded` past ``limit``.

    Counting while copying is what protects against headers that lie about sizes: the check
    uses the bytes actually produced, and never writes more than ``limit`` of them.
    """
    copied = 0
    while True:
        # Ask for one byte more than the budget allows, to tell "exactly limit" from "more".
        chunk = src.read(min(_COPY_CHUNK, limit - copied + 1))
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > limit:
            raise SizeLimitExceeded(limit)
        dst.write(chunk)


# --- the archive as a whole -------------------------------------------------------------------

def _mib(n: float) -> str:
    """A size for people: ``512 bytes``, ``3.2 KiB``, ``150.0 MiB``."""
    if n < 1024:
        return f"{n:.0f} bytes"
    if n < MiB:
        return f"{n / 1024:.1f} KiB"
    return f"{n / MiB:.1f} MiB"


def _not_a_zip(zip_path: Path) -> ArchiveError:
    """The most helpful refusal for a file that zipfile cannot open, guessed from its first bytes."""
    shown = zip_path.name
    try:
        with open(zip_path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        head = b""
    if not head:
        return ArchiveError(f"{shown!r} is empty (0 bytes); please upload your zip again.",
                            code="not-zip")
    kinds = {b"Rar!\x1a\x07": "a RAR archive", b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
             b"\x1f\x8b": "a gzip file", b"%PDF": "a PDF document"}
    for magic, kind in kinds.items():
        if head.startswith(magic):
            return ArchiveError(f"{shown!r} is {kind}, not a zip; please submit a .zip file.",
                                code="not-zip")
    if head.startswith(b"PK\x03\x04"):
        return ArchiveError(f"{shown!r} is an incomplete or damaged zip (its end is missing, the "
                            "upload may have been cut off); please create and upload it again.",
                            code="corrupt")
    return ArchiveError(f"{shown!r} is not a zip archive; please submit a .zip file made with a "
                        "standard zip tool.", code="not-zip")


def _central_directory_summary(zip_path: Path) -> tuple[int, int] | None:
    """``(declared entry count, central directory bytes)`` from the end records, if readable.

    This runs before :class:`zipfile.ZipFile` reads the whole central directory into memory, so
    a zip declaring millions of entries is refused without allocating them.  Anything odd returns
    ``None`` and is left to zipfile, which then fails with a clear error or reads a small zip.
    """
    eocd_size, search = 22, 22 + 65535  # the end record plus the longest possible comment
    try:
        with open(zip_path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - search))
            tail = fh.read()
            at = tail.rfind(b"PK\x05\x06")
            if at < 0 or len(tail) - at < eocd_size:
                return None
            record = struct.unpack_from("<4s4H2LH", tail, at)
            count, cd_size = record[4], record[5]
            if count != 0xFFFF and cd_size != 0xFFFFFFFF:
                return count, cd_size
            # Zip64: the locator sits just before the end record and points at the zip64 record.
            locator_at = size - len(tail) + at - 20
            if locator_at < 0:
                return None
            fh.seek(locator_at)
            sig, _disk, zip64_offset, _disks = struct.unpack("<4sLQL", fh.read(20))
            if sig != b"PK\x06\x07":
                return None
            fh.seek(zip64_offset)
            zip64 = fh.read(56)
            if len(zip64) < 56 or zip64[:4] != b"PK\x06\x06":
                return None
            values = struct.unpack("<4sQ2H2L4Q", zip64)
            return values[7], values[8]
    except (OSError, struct.error, ValueError, OverflowError):
        return None


def _check_archive_size(zip_path: Path, limits: ExtractionLimits) -> None:
    """Refuse archives too large to open safely: the file itself, its entries' directory."""
    size = zip_path.stat().st_size
    if size > limits.max_total_bytes:
        raise ArchiveError(f"{zip_path.name!r} is {_mib(size)}, more than the "
                           f"{_mib(limits.max_total_bytes)} allowed for a submission; please "
                           "submit only your source code and report.", code="too-large")
    summary = _central_directory_summary(zip_path)
    if summary is None:
        return
    count, cd_size = summary
    if count > limits.max_members or cd_size > limits.max_members * _CENTRAL_DIR_BYTES_PER_MEMBER:
        raise ArchiveError(f"{zip_path.name!r} declares {count} entries, more than the "
                           f"{limits.max_members} allowed; please submit only your source code "
                           "and report.", code="too-many")


# --- planning: every check before anything is written -----------------------------------------

@dataclass
class _Plan:
    """The entries to extract and those to skip, decided before anything is written."""

    files: list[tuple[zipfile.ZipInfo, str]] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)

    def skip(self, name: str, unsafe: _Unsafe) -> None:
        """Record entry ``name`` as left out, with the reason the student will read."""
        self.skipped.append(SkippedEntry(_printable(name), unsafe.reason, unsafe.code))


def _entry_type(info: zipfile.ZipInfo, raw_name: str) -> str:
    """``"dir"``, ``"file"``, ``"symlink"`` or ``"special"`` from the name and the mode bits."""
    mode = info.external_attr >> 16  # the Unix st_mode, when the tool recorded one
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return "symlink"
    if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
        return "special"
    if kind == stat.S_IFDIR or raw_name.endswith(("/", "\\")) or info.external_attr & 0x10:
        return "dir"  # 0x10 is the MS-DOS directory attribute
    return "file"


def _check_entry_kind(info: zipfile.ZipInfo, kind: str) -> None:
    """:class:`_Unsafe` for a link, a device or pipe, or a password-protected entry."""
    if kind == "symlink":
        raise _Unsafe("symlink", "it is a symbolic link, which the grader does not follow; "
                                 "please zip the file itself")
    if kind == "special":
        raise _Unsafe("special", "it is a device or pipe, not a regular file")
    if info.flag_bits & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION):
        raise _Unsafe("encrypted", "it is password-protected; please zip it without a password")


def _ratio_too_high(uncompressed: int, compressed: int, limits: ExtractionLimits) -> bool:
    return (uncompressed > limits.ratio_min_bytes
            and uncompressed > limits.max_ratio * max(compressed, 1))


def _check_entry_size(info: zipfile.ZipInfo, limits: ExtractionLimits) -> None:
    """:class:`_Unsafe` for a file whose declared size or compression ratio is absurd."""
    if info.file_size > limits.max_member_bytes:
        raise _Unsafe("too-large", f"it is {_mib(info.file_size)} uncompressed, more than the "
                                   f"{_mib(limits.max_member_bytes)} allowed for one file; "
                                   "please leave large data files out")
    if _ratio_too_high(info.file_size, info.compress_size, limits):
        ratio = info.file_size / max(info.compress_size, 1)
        raise _Unsafe("ratio", f"it is compressed {ratio:.0f} times (more than "
                               f"{limits.max_ratio:g}), which is how zip bombs look")


def _check_declared_totals(plan: _Plan, limits: ExtractionLimits) -> None:
    """Zip-bomb checks on the total the kept entries declare (streaming re-checks each one).

    Skipped entries do not count: they are never written.
    """
    total = sum(info.file_size for info, _path in plan.files)
    compressed = sum(info.compress_size for info, _path in plan.files)
    if total > limits.max_total_bytes:
        raise ArchiveError(f"The zip unpacks to {_mib(total)}, more than the "
                           f"{_mib(limits.max_total_bytes)} allowed; please submit only your "
                           "source code and report.", code="too-large")
    if _ratio_too_high(total, compressed, limits):
        raise ArchiveError(f"The zip is compressed {total / max(compressed, 1):.0f} times overall "
                           f"(more than {limits.max_ratio:g}), which is how zip bombs look, so "
                           "the zip was refused.", code="ratio")


def _parents(path: str) -> set[str]:
    """The folders ``a`` and ``a/b`` of ``a/b/c.py``."""
    parts = path.split("/")[:-1]
    return {"/".join(parts[:depth]) for depth in range(1, len(parts) + 1)}


def _skip_duplicates(plan: _Plan) -> None:
    """Keep the first of several files of one name and skip the others.

    Tools disagree on which copy wins (most overwrite with the last); keeping the first and
    telling the student which entries were left out makes the choice predictable.
    """
    kept: dict[str, tuple[zipfile.ZipInfo, str]] = {}
    for info, path in plan.files:
        if path in kept:
            plan.skip(path, _Unsafe("duplicate", "an earlier entry of the zip has the same name, "
                                                 "and only that first one was kept"))
        else:
            kept[path] = (info, path)
    plan.files = list(kept.values())


def _skip_clashes(plan: _Plan, explicit_dirs: set[str]) -> None:
    """Skip a file whose name is also a folder's, and list the folders to create.

    The folder (named by an entry, or needed by another file's path) holds files and is more
    likely the submission than a single file of the same name.
    """
    folders = explicit_dirs.union(*(_parents(path) for _info, path in plan.files))
    kept = []
    for info, path in plan.files:
        if path in folders:
            plan.skip(path, _Unsafe("duplicate", "the zip also holds a folder of that name"))
        else:
            kept.append((info, path))
    plan.files = kept
    plan.directories = sorted(explicit_dirs.union(*(_parents(path) for _info, path in kept)))


def _plan_entry(plan: _Plan, info: zipfile.ZipInfo, shown: str, limits: ExtractionLimits,
                explicit_dirs: set[str]) -> None:
    """Check one entry and record it in ``plan`` as a file, a folder or a skipped entry."""
    try:
        parts = _safe_parts(shown, limits)
        kind = _entry_type(info, shown)
        junk = junk_reason(parts, is_dir=kind == "dir")
        if junk:
            plan.skipped.append(SkippedEntry(shown, junk))
            return
        _check_entry_kind(info, kind)
        if kind == "file":
            _check_entry_size(info, limits)
    except _Unsafe as unsafe:
        plan.skip(shown, unsafe)
        return
    if not parts:  # "./" and the like: the root folder itself
        return
    if kind == "dir":
        explicit_dirs.add("/".join(parts))
    else:
        plan.files.append((info, "/".join(parts)))


def _plan(zf: zipfile.ZipFile, limits: ExtractionLimits) -> tuple[_Plan, str | None]:
    """Check every entry and decide what to extract and what to skip; nothing is written yet."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveError(f"The zip holds {len(infos)} entries, more than the "
                           f"{limits.max_members} allowed; please submit only your source code "
                           "and report.", code="too-many")
    names, encoding = _member_names(infos)
    plan = _Plan()
    explicit_dirs: set[str] = set()
    for info, shown in zip(infos, names):
        _plan_entry(plan, info, shown, limits, explicit_dirs)
    _skip_duplicates(plan)
    _skip_clashes(plan, explicit_dirs)
    _check_declared_totals(plan, limits)
    return plan, encoding


# --- writing ----------------------------------------------------------------------------------

# Compression methods that zipfile cannot read but students' tools write (APPNOTE.TXT 4.4.5).
_METHOD_NAMES = {9: "Deflate64, method", 93: "Zstandard, method", 95: "xz, method",
                 98: "PPMd, method"}

# Reading a damaged entry raises one of these, depending on the compression method.
_DATA_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, ValueError,
                struct.error, RuntimeError)


def _is_data_error(exc: BaseException) -> bool:
    """True if ``exc`` means "this zip's bytes are bad" rather than "the grader's disk failed".

    bz2 reports corrupt data as an ``OSError`` without an errno; real I/O errors carry one.
    """
    if isinstance(exc, _DATA_ERRORS):
        return True
    return isinstance(exc, OSError) and exc.errno is None


def _inside(base: str, candidate: str) -> bool:
    return os.path.commonpath([base, candidate]) == base


def _open_new(path: str) -> BinaryIO:
    """A new regular file, never following a link and never reusing an existing file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, 0o644), "wb")


# zipfile decompresses a little ahead of what is read (ZipExtFile.MIN_READ_SIZE, 4 KiB, for
# deflate); an entry is opened with this much room past its limit, so that zipfile's own cut
# never comes before the byte counter's.
_READ_AHEAD = 64 * 1024


def _entry_limit(info: zipfile.ZipInfo, limits: ExtractionLimits) -> int:
    """The most bytes one entry may produce: its declared size, within the per-entry caps.

    The declared size already passed the per-entry checks; the caps are applied again so that
    the streaming limit never rests on the planning alone.
    """
    limit = min(info.file_size, limits.max_member_bytes)
    if info.file_size > limits.ratio_min_bytes:
        limit = min(limit, max(limits.ratio_min_bytes,
                               int(limits.max_ratio * max(info.compress_size, 1))))
    return limit


def _open_past_declared(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> BinaryIO:
    """The entry's data, which zipfile will produce until well past ``limit`` bytes.

    zipfile silently cuts an entry at the size its header declares and then reports a bad
    CRC-32, so a header that understates the size would look like ordinary damage.  Letting it
    read on lets :func:`copy_limited` count the extra bytes and name the lie; what is written is
    still bounded by ``limit``.
    """
    probe = copy.copy(info)
    probe.file_size = limit + 1 + _READ_AHEAD
    return zf.open(probe)


def _extract_one(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, base: str,
                 budget: int, limits: ExtractionLimits) -> int | None:
    """Stream one entry to ``base/path`` with byte counters: the bytes written, or ``None`` when
    the entry holds more data than it may (its partial file is then removed).

    ``budget`` is what is left of the archive's total cap: passing it refuses the whole zip.
    """
    dest = os.path.join(base, *path.split("/"))
    # Belt and braces: _safe_parts already skipped every escape.
    if not _inside(base, os.path.realpath(os.path.dirname(dest))):
        raise ArchiveError(f"The zip entry {path!r} points outside the submission folder, so "
                           "the zip was refused.", code="escape", entry=path)
    own = _entry_limit(info, limits)
    limit = min(own, budget)
    try:
        with _open_past_declared(zf, info, limit) as src, _open_new(dest) as dst:
            return copy_limited(src, dst, limit)
    except SizeLimitExceeded:
        os.unlink(dest)
        if limit < own:
            raise ArchiveError(f"The zip unpacks to more than the {_mib(limits.max_total_bytes)} "
                               "allowed; please submit only your source code and report.",
                               code="too-large", entry=path) from None
        return None
    except NotImplementedError:
        method = _METHOD_NAMES.get(info.compress_type, "method")
        raise ArchiveError(f"The zip entry {path!r} uses a compression method the grader cannot "
                           f"read ({method} {info.compress_type}); please re-create the zip "
                           "with standard (deflate) compression.", code="unsupported",
                           entry=path) from None
    except Exception as exc:
        if not _is_data_error(exc):
            raise
        detail = _damage(str(exc))
        raise ArchiveError(f"The zip entry {path!r} is damaged ({detail}), so the zip could not "
                           "be read; please create it again and resubmit.", code="corrupt",
                           entry=path) from None


def _damage(message: str) -> str:
    """What zipfile's error message means, in a few words for the student."""
    if "CRC" in message:
        return "bad CRC-32"
    if "differ" in message or "header" in message:
        return "its headers are inconsistent"
    return "its data cannot be decompressed"


def _write_plan(zf: zipfile.ZipFile, plan: _Plan, base: str, limits: ExtractionLimits,
                tz: tzinfo | None) -> tuple[list[str], int, dict[str, datetime]]:
    """Create the folders and stream the files: ``(files written, their bytes, their times)``.

    An entry found while streaming to hold more data than its header declares joins
    ``plan.skipped``: headers can lie, and only the bytes counted are believed.
    """
    for directory in plan.directories:
        os.makedirs(os.path.join(base, *directory.split("/")), mode=0o755, exist_ok=True)
    files: list[str] = []
    total = 0
    times: dict[str, datetime] = {}
    for info, path in plan.files:
        written = _extract_one(zf, info, path, base, limits.max_total_bytes - total, limits)
        if written is None:
            plan.skip(path, _Unsafe("lying-header", "it holds more data than its header "
                                                    "declares, which is how damaged or "
                                                    "malicious zips look"))
            continue
        files.append(path)
        total += written
        moment = _entry_time(info, tz)
        if moment is not None:
            times[path] = moment
            stamp = moment.timestamp()
            os.utime(os.path.join(base, *path.split("/")), (stamp, stamp))
    return files, total, times


def _check_gradable(files: list[str], skipped: list[SkippedEntry],
                    gradable: tuple[str, ...]) -> None:
    """Refuse a zip left without any source file because unsafe entries were skipped.

    Without that cause (a zip holding only a report) the zip is extracted, and the discover stage
    says what is missing; with it, the student must hear what was left out and why.
    """
    if any(PurePosixPath(f).suffix.lower() in gradable for f in files):
        return
    unsafe = [entry for entry in skipped if entry.unsafe]
    if not unsafe:
        return
    listed = ", ".join(f"'{entry.name}' ({entry.reason})" for entry in unsafe[:3])
    more = f" and {len(unsafe) - 3} more" if len(unsafe) > 3 else ""
    raise ArchiveError(f"Nothing gradable is left in the zip once its unsafe entries are "
                       f"skipped: {listed}{more}; please zip your {' or '.join(gradable)} files "
                       "themselves, with relative paths, and submit again.",
                       code="nothing-gradable", skipped=skipped)


def _place(tmp: str, target: Path) -> None:
    """Move the finished extraction to ``target`` (an empty folder there is replaced)."""
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the sandbox may read it as another user
    if target.exists():
        target.rmdir()  # empty: checked before extraction started
    os.rename(tmp, target)


def extract_zip(zip_path: Path | str, target_dir: Path | str,
                limits: ExtractionLimits = ExtractionLimits(), *,
                tz: tzinfo | None = None,
                gradable: tuple[str, ...] = GRADABLE_SUFFIXES) -> ExtractionResult:
    """Extract the untrusted zip ``zip_path`` into ``target_dir``, skipping unsafe entries, or
    refuse it whole.

    ``target_dir`` must not exist or be an empty folder.  Every entry is checked before anything
    is written; entries that cannot be written safely are skipped (``ExtractionResult.skipped``,
    each with its reason).  The data then goes into a temporary folder next to ``target_dir``,
    which is renamed into place at the end, so a refusal (:class:`ArchiveError`) or a crash
    leaves neither a half-extracted target nor anything else behind.  The zip is refused whole
    for problems of the whole archive, and when skipping left no file with a ``gradable``
    suffix.  Nested zips are kept as files.  ``tz`` is the zone of the zip's MS-DOS timestamps
    (``None``: the local zone).
    """
    zip_path, target = Path(zip_path), Path(target_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(errno.EEXIST, "extraction target exists and is not empty", target)
    _check_archive_size(zip_path, limits)
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, struct.error,
            OverflowError, NotImplementedError):
        raise _not_a_zip(zip_path) from None
    with zf:
        plan, encoding = _plan(zf, limits)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".extract-", dir=target.parent)
        try:
            base = os.path.realpath(tmp)
            files, total, times = _write_plan(zf, plan, base, limits, tz)
            _check_gradable(files, plan.skipped, gradable)
            _place(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return ExtractionResult(target=target, files=sorted(files),
                            directories=plan.directories, skipped=plan.skipped,
                            total_bytes=total, entry_times=times, name_encoding=encoding)
