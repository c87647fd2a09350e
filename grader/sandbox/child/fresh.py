"""Fresh runs: a command run in a fork of the worker, as if in a new child, at a fraction of
the cost.

Tracing the student's program and running it whole (the ``program`` check) must start from
nothing the probes left behind, which used to mean a new sandbox: a new interpreter that imports
NumPy and, for most submissions, matplotlib (half a second to a second each time) before the
student's first line runs.  A fork of the worker already has those libraries imported and
nothing of the submission that :func:`forget_the_submission` does not drop, so the run starts at
once, and the worker itself is untouched by whatever the run does.

The worker waits for the fork and relays its messages to the grader, complete ones only: a fork
killed half-way through writing one cannot corrupt the grader's pipe.  A fork that does not
answer within its time limit is killed with everything it started (its own process group); one
that dies (a crash, ``os._exit``, the CPU limit) is reported as a ``died`` answer, which the
grader turns into the same failure a dead child gives, while the worker goes on serving the
other checks.  The worker never judges what the fork did.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
import types
from typing import Any, Callable

import protocol

RELAY_LIMIT = 1 << 31
"""The worker relays what the grader will take; the grader's own limit refuses larger ones."""
POLL_SECONDS = 0.5
"""How often the worker looks whether the fork ended while its pipe stays open (a process the
fork started holds it)."""


def run(command: dict[str, Any], send: Callable[[dict[str, Any]], None],
        body: Callable[[int], None]) -> None:
    """Fork; in the fork, ``body(write_fd)`` sends the command's answer on ``write_fd`` and the
    fork ends; in the worker, relay that answer, or say how the fork died."""
    limit = float((command.get("fresh") or {}).get("timeout") or 60.0)
    pipe: tuple[int, ...] = ()
    try:
        pipe = read_fd, write_fd = os.pipe()
        pid = os.fork()
    except OSError as err:  # out of processes or memory (the submission's doing, or not)
        for fd in pipe:
            os.close(fd)
        send({"id": command.get("id"), "ok": False, "error": {
            "kind": "grader", "message": f"a fresh run could not be started: {err}"}})
        return
    if pid == 0:
        code = 0
        try:
            os.setpgid(0, 0)  # the fork and what it starts are killed together
            os.close(read_fd)
            body(write_fd)
        except BaseException:  # noqa: BLE001 -- the worker reports the fork's death
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    start = time.monotonic()
    final, died = _relay(read_fd, pid, start + limit, send)
    try:
        os.killpg(pid, signal.SIGKILL)  # whatever the run left running
    except (ProcessLookupError, PermissionError):
        pass
    _, status = os.waitpid(pid, 0)
    if final is not None:
        send(final)
        return
    if died is None:
        died = ({"failure": "crash", "signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status)
                else {"failure": "exit", "code": os.WEXITSTATUS(status)})
    died["seconds"] = time.monotonic() - start
    send({"id": command.get("id"), "ok": False, "died": died})


def _relay(read_fd: int, pid: int, deadline: float, send: Callable[[dict[str, Any]], None]
           ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Pass the fork's progress messages on as they come; return its answer, or why there is
    none (``None`` when it simply ended without one)."""
    arrived: list[dict[str, Any]] = []
    reader = protocol.MessageReader(arrived.append, RELAY_LIMIT)
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, {"failure": "timeout"}
            ready, _, _ = select.select([pipe], [], [], min(remaining, POLL_SECONDS))
            if not ready:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return None, None
                continue
            chunk = pipe.read(65536)
            if not chunk:
                return None, None
            try:
                reader.feed(chunk)
            except protocol.ProtocolError as err:
                return None, {"failure": "protocol", "detail": str(err)}
            for message in arrived:
                if "progress" not in message:
                    return message, None
                send(message)
            arrived.clear()


def forget_the_submission(workdir: str) -> dict[str, Any]:
    """In the fork: a new ``__main__`` namespace, the submission's own modules out of
    ``sys.modules`` (they run again when imported), no figure left open; the libraries stay
    imported.  The new namespace."""
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    prefix = os.path.join(os.path.abspath(workdir), "")
    for name, loaded in list(sys.modules.items()):
        origin = getattr(loaded, "__file__", None)
        if isinstance(origin, str) and os.path.abspath(origin).startswith(prefix):
            del sys.modules[name]
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # noqa: BLE001 -- a student's patched pyplot: its figures stay
            pass
    return module.__dict__
