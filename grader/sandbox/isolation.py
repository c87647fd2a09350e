"""Which isolation this machine allows, and what the private root must contain.

Two levels, recorded in every result:

* ``namespaces`` -- as root, with util-linux ``unshare``: the child gets its own PID, network,
  mount, IPC and UTS namespaces, a private root holding only the system directories, Python
  and the submission, an unprivileged uid and gid, and every rlimit.  No network, no view of
  other files, and no process outlives the submission.
* ``rlimits`` -- anywhere else (a student's laptop, most CI runners): the rlimits, a process
  group, a scrubbed environment and a private working directory.  The network and the rest of
  the file system stay reachable, a process that calls ``setsid()`` can escape the group kill,
  and the process limit does not hold for root.
"""

from __future__ import annotations

import copy
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

NAMESPACES = "namespaces"
RLIMITS = "rlimits"

UNSHARE_FLAGS = ("--pid", "--fork", "--kill-child", "--mount", "--net", "--ipc", "--uts",
                 "--propagation", "private")

SYSTEM_DIRS = ("/usr", "/etc")
"""Bound read-only into the private root (``/etc`` for fonts, time zones and ``passwd``)."""
TOP_LEVEL_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
"""Symlinks into ``/usr`` on merged-/usr systems, directories elsewhere."""


@dataclass(frozen=True)
class Isolation:
    """The level in use and, when it is not the strongest, why."""

    level: str
    reason: str = ""

    def describe(self) -> str:
        return self.level if not self.reason else f"{self.level} ({self.reason})"


@functools.cache
def detect() -> Isolation:
    """The strongest level that works here, found by trying it once per grader process."""
    if os.name != "posix" or not sys.platform.startswith("linux"):
        return Isolation(RLIMITS, "namespaces need Linux")
    if os.geteuid() != 0:
        return Isolation(RLIMITS, "namespaces need the grader to run as root")
    unshare = shutil.which("unshare")
    if unshare is None:
        return Isolation(RLIMITS, "util-linux unshare is not installed")
    try:
        probe = subprocess.run([unshare, *UNSHARE_FLAGS, "true"], capture_output=True,
                               timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as err:
        return Isolation(RLIMITS, f"unshare failed: {err}")
    if probe.returncode != 0:
        message = probe.stderr.decode(errors="replace").strip().splitlines()
        return Isolation(RLIMITS, "unshare is not permitted here"
                         + (f": {message[-1]}" if message else ""))
    return Isolation(NAMESPACES)


def choose(requested: str) -> Isolation:
    """Resolve ``auto``; refuse ``namespaces`` where it cannot work, saying why."""
    found = detect()
    if requested == "auto" or requested == found.level:
        return found
    if requested == RLIMITS:
        return Isolation(RLIMITS, "requested")
    raise RuntimeError(f"isolation 'namespaces' is not available: {found.reason}")


def python_paths() -> list[str]:
    """Directories the child's Python needs: its prefixes and every site-packages in use."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable))}
    candidates |= {p for p in sys.path
                   if p and ("site-packages" in p or "dist-packages" in p) and os.path.isdir(p)}
    paths = sorted(os.path.realpath(p) for p in candidates if os.path.isdir(p))
    paths += sorted({os.path.abspath(p) for p in candidates if os.path.isdir(p)} - set(paths))
    return _outermost(p for p in paths if not _under_any(p, SYSTEM_DIRS))


OWN_PACKAGES = ("grader", "reference")


def grader_package_dirs() -> list[str]:
    """Every copy of the grader's own packages, to be hidden in the child's root.

    Both the imported ones (a source tree, when run from a checkout) and any other copy on
    the import path (an install in site-packages beside the checkout the tests run from).
    Looked for as folders, not through the installed distributions' records: reading those
    costs more than starting a sandbox's interpreter, on every ``labgrade check``.
    """
    import importlib

    found = {str(Path(importlib.import_module(name).__file__).resolve().parent)
             for name in OWN_PACKAGES}
    for entry in sys.path:
        for name in OWN_PACKAGES:
            package = os.path.join(entry or os.curdir, name)
            if os.path.isfile(os.path.join(package, "__init__.py")):
                found.add(os.path.realpath(package))
    return sorted(d for d in found if os.path.isdir(d))


def _under_any(path: str, roots: tuple[str, ...] | list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _outermost(paths) -> list[str]:
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not _under_any(path, kept):
            kept.append(path)
    return sorted(kept)


def root_layout() -> dict[str, list]:
    """The private root's content: read-only binds, symlinks to recreate, paths to hide."""
    return copy.deepcopy(_root_layout())  # the caller's to change


@functools.lru_cache(maxsize=1)
def _root_layout() -> dict[str, list]:
    """Found once per grader process: nothing here changes while the grader runs."""
    binds = [[d, d] for d in SYSTEM_DIRS if os.path.isdir(d)]
    links = []
    for top in TOP_LEVEL_LINKS:
        if os.path.islink(top):
            links.append([top, os.readlink(top)])
        elif os.path.isdir(top):
            binds.append([top, top])
    binds += [[p, p] for p in python_paths()]
    bound = [b[1] for b in binds]
    hide = [p for p in grader_package_dirs() if _under_any(p, bound)]
    return {"ro_binds": binds, "symlinks": links, "hide": hide}
