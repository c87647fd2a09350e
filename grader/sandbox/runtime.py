"""The worker's code as each sandbox gets it: compiled once, with a warm matplotlib font cache.

Every sandbox runs the child's modules (``grader/sandbox/child``) from a private read-only
copy, as a Python that writes no bytecode; compiled anew in every child they cost ~0.1 s per
sandbox, and a submission that imports matplotlib waits another ~0.3 s while matplotlib lists
the machine's fonts into an empty cache.  Both are the same for every sandbox of a machine, so
they are made once and kept in the user's cache (``~/.cache/labgrade/runtime-<hash>``, the hash
of the child's sources and of the Python that runs them), beside the reference's records:

* each module with an unchecked-hash ``.pyc`` (valid whatever the copy's timestamps; a changed
  source gets a new hash, hence a new folder);
* ``mplcache/``, the font list matplotlib writes on its first import, made by that Python in a
  process of its own (no submission involved); the worker copies it into the sandbox's own
  matplotlib folder before any student code runs.

Where the cache cannot be written, the folder is made in a temporary place for this process.
Without matplotlib there is simply no font list.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

CHILD_DIR = Path(__file__).resolve().parent / "child"
FONT_CACHE = "mplcache"
"""The folder of the runtime with matplotlib's font list (read by ``child/worker.py``)."""
FONT_LIST_SECONDS = 60.0
"""The most the font list may take to make (a machine with thousands of fonts)."""

_lock = threading.Lock()
_prepared: Path | None = None


def prepared_runtime() -> Path:
    """The folder each sandbox runs its worker from (mounted, or copied at the rlimits level);
    made the first time it is asked for on this machine (a second or two), then found."""
    global _prepared
    with _lock:
        if _prepared is None or not _prepared.is_dir():
            _prepared = _find_or_make()
        return _prepared


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{sys.version}\0{sys.executable}\0".encode())
    for source in sorted(CHILD_DIR.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def _find_or_make() -> Path:
    name = f"runtime-{_fingerprint()}"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labgrade"
    kept = cache / name
    if kept.is_dir():
        return kept
    try:
        cache.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
    except OSError:  # no writable cache: a folder for this process only
        building = Path(tempfile.mkdtemp(prefix=f"labgrade-{name}-"))
        atexit.register(shutil.rmtree, building, ignore_errors=True)
        _build(building)
        return building
    _build(building)
    try:
        building.rename(kept)  # atomic: a grader that made it at the same time wins
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
    return kept if kept.is_dir() else building


def _build(folder: Path) -> None:
    import py_compile  # once per machine: not worth its import in every grader process

    folder.chmod(0o755)  # mkdtemp's 0700 would keep the sandbox's own user out
    for source in CHILD_DIR.glob("*.py"):
        copy = folder / source.name
        shutil.copy2(source, copy)
        try:
            py_compile.compile(str(copy), doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        except py_compile.PyCompileError:
            pass  # the child compiles it itself, and says what is wrong
    fonts = folder / FONT_CACHE
    fonts.mkdir()
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(fonts),
                   "MPLCONFIGDIR": str(fonts), "MPLBACKEND": "Agg", "LANG": "C.UTF-8"}
    try:
        subprocess.run([sys.executable, "-s", "-c", "import matplotlib.font_manager"],
                       env=environment, capture_output=True, timeout=FONT_LIST_SECONDS,
                       check=False)
    except (OSError, subprocess.TimeoutExpired):
        pass
    for other in fonts.iterdir():  # the font list only: nothing else is meant to be shared
        if not other.name.startswith("fontlist"):
            shutil.rmtree(other, ignore_errors=True) if other.is_dir() else other.unlink()
