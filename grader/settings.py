"""Sandbox settings: every limit the child runs under, with its default and its reason.

Each knob is one dataclass field whose metadata carries the help text, so the defaults, the
documentation (``labgrade inspect --help``, the README) and validation live in one place.  A
rubric or the command line overrides fields by name with :func:`SandboxSettings.replace`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

MiB = 1024 * 1024

ISOLATION_CHOICES = ("auto", "namespaces", "rlimits")


def knob(default: Any, help: str, *, minimum: float | None = None) -> Any:  # noqa: A002
    """A settings field: its default, its help text and the smallest value that makes sense."""
    return field(default=default, metadata={"help": help, "minimum": minimum})


@dataclass(frozen=True)
class SandboxSettings:
    """Limits and isolation for running one submission's code in a child process."""

    isolation: str = knob(
        "auto",
        "How the child is isolated: 'namespaces' (its own PID, network, mount, IPC and UTS "
        "namespaces, a private root with only the system, Python and the submission, and an "
        "unprivileged user; needs root and util-linux unshare), 'rlimits' (resource limits and a "
        "process group only), or 'auto' (namespaces where the machine allows it, else rlimits).")
    step_timeout: float = knob(
        60.0, "Wall-clock seconds for one step (loading the code, one probe).", minimum=0.1)
    submission_timeout: float = knob(
        600.0, "Wall-clock seconds for everything one submission runs, all steps together.",
        minimum=0.1)
    cell_timeout: float = knob(
        30.0, "Seconds for one notebook cell; a cell over it is reported and skipped.",
        minimum=0.1)
    cpu_seconds: int = knob(
        600, "CPU seconds for the child process (RLIMIT_CPU): stops a busy loop that somehow "
        "escapes the wall clock.", minimum=1)
    memory_bytes: int = knob(
        1536 * MiB, "Address space of the child (RLIMIT_AS). Importing matplotlib alone needs "
        "about 300 MiB; far below 1 GiB, NumPy fails with cryptic errors.", minimum=256 * MiB)
    file_size_bytes: int = knob(
        64 * MiB, "Largest file the child may write (RLIMIT_FSIZE).", minimum=1 * MiB)
    processes: int = knob(
        32, "Processes the sandbox user may run at once (RLIMIT_NPROC). Linux ignores this "
        "limit for root, so it only holds at the namespaces level, where the child runs as an "
        "unprivileged user.", minimum=1)
    open_files: int = knob(128, "Open file descriptors (RLIMIT_NOFILE).", minimum=16)
    output_bytes: int = knob(
        256 * 1024, "Bytes of stdout and of stderr kept per step; the rest is counted and "
        "dropped, with a marker.", minimum=1024)
    message_bytes: int = knob(
        128 * MiB, "Largest message the child may send to the grader; a larger one is an "
        "error, not a memory exhaustion of the grader.", minimum=1 * MiB)
    tmp_bytes: int = knob(
        64 * MiB, "Size of the private /tmp at the namespaces level.", minimum=1 * MiB)

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATION_CHOICES:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATION_CHOICES)}, "
                             f"not {self.isolation!r}")
        for f in dataclasses.fields(self):
            minimum = f.metadata.get("minimum")
            value = getattr(self, f.name)
            if minimum is not None and not (isinstance(value, (int, float)) and value >= minimum):
                raise ValueError(f"{f.name} must be a number >= {minimum}, not {value!r}")

    def replace(self, **changes: Any) -> "SandboxSettings":
        """A copy with some fields changed (validated like the original)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown sandbox setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def help(cls) -> dict[str, tuple[Any, str]]:
        """``{name: (default, help text)}`` for documentation and ``--help`` output."""
        return {f.name: (f.default, f.metadata["help"]) for f in dataclasses.fields(cls)}
