"""Run a submission's code in a sandboxed child and talk to it: the grader's side of the boundary.

A :class:`Sandbox` owns one child process for one submission: a private copy of the
submission's files, the child's pipes, its output, its deadlines, and the killing of every
process it started.  The grader sends commands (``load``, later the probes) with
:meth:`Sandbox.request` and gets back a :class:`StepResult`, which is either the child's answer
or a plain account of why there is none (a timeout, a crash, an exit, garbage on the pipe).
Nothing the child says is a verdict; nothing it prints reaches the protocol pipe.

If a step kills the child (a timeout, a segfault), the sandbox can be started again with
:meth:`Sandbox.restart` for the next step, from a fresh copy of the files.
"""

from __future__ import annotations

import itertools
import json
import marshal
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.sandbox import isolation
from grader.sandbox.child import protocol
from grader.sandbox.runtime import prepared_runtime
from grader.settings import SandboxSettings

WORKDIR_INSIDE = "/sandbox"
RUNTIME_INSIDE = "/labgrade-runtime"
UID_BASE = 1_600_000
"""Sandbox users are numbered from here: far above any real account, unique per child."""
UIDS_PER_PROCESS = 100
"""User ids one grader process hands out; each live sandbox has one of its own, so that the
process limit (counted per user) of one sandbox never counts another's processes."""

_uid_counter = itertools.count()
_registry_lock = threading.Lock()
_uids_in_use: set[int] = set()
_live: "weakref.WeakSet[Sandbox]" = weakref.WeakSet()


def _take_uid(serial: int) -> int:
    """A user id no other live sandbox of this process has (shared only beyond
    :data:`UIDS_PER_PROCESS` sandboxes at once)."""
    base = UID_BASE + (os.getpid() % 10_000) * UIDS_PER_PROCESS
    with _registry_lock:
        for offset in range(UIDS_PER_PROCESS):
            uid = base + (serial + offset) % UIDS_PER_PROCESS
            if uid not in _uids_in_use:
                _uids_in_use.add(uid)
                return uid
    return base + serial % UIDS_PER_PROCESS


def stop_all_sandboxes() -> int:
    """SIGKILL the child of every live sandbox of this process; returns how many.

    For Ctrl-C during a parallel batch: the threads that own the sandboxes cannot be
    interrupted, but each of them is waiting on its child, so once the children are gone every
    step fails at once and the gradings end within moments.
    """
    with _registry_lock:
        live = list(_live)
    return sum(sandbox.interrupt() for sandbox in live)

MARKER_VARIABLE = "LABGRADE_SANDBOX"
FRESH_GRACE_SECONDS = 5.0
"""How much longer than a fresh run's limit the grader waits for the child's account of it."""

SIGNAL_MESSAGES = {
    signal.SIGSEGV: "the Python interpreter crashed (segmentation fault)",
    signal.SIGBUS: "the Python interpreter crashed (bus error)",
    signal.SIGABRT: "the Python interpreter aborted",
    signal.SIGFPE: "the Python interpreter crashed (arithmetic fault)",
    signal.SIGILL: "the Python interpreter crashed (illegal instruction)",
    signal.SIGXCPU: "the program used up its CPU time",
    signal.SIGXFSZ: "the program wrote a file larger than allowed",
    signal.SIGKILL: "the program was killed (most likely it ran out of memory)",
}


@dataclass
class StepResult:
    """What one command produced: the child's answer, or why there is none."""

    op: str
    answered: bool
    reply: dict[str, Any] | None = None
    failure: str | None = None
    """Without an answer: ``timeout``, ``crash``, ``exit``, ``protocol``, ``setup``, or
    ``stopped`` (an earlier step ended the child and it was not restarted)."""
    message: str = ""
    """One sentence for the student (or the TA, for ``setup``)."""
    seconds: float = 0.0
    progress: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""
    """What the child wrote to its real stdout/stderr during the step (capped)."""
    contained: bool = False
    """A fresh run failed without an answer, but only its fork ended: the child that serves
    the other steps lives on (see ``child/fresh.py``)."""

    @property
    def ok(self) -> bool:
        """The child answered and the operation itself did not fail."""
        return self.answered and bool(self.reply and self.reply.get("ok"))

    @property
    def result(self) -> dict[str, Any]:
        return (self.reply or {}).get("result") or {}


def _encode_argument(value: Any) -> Any:
    """Commands are JSON: arrays travel as ``{"__array__": nested lists}`` (exact: JSON writes
    the shortest representation that reads back as the same float64)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return {"__array__": value.astype(float).tolist()}
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot send a {type(value).__name__} to the sandbox")


class _CappedStream:
    """Drains one of the child's output pipes, keeping the first bytes and counting the rest."""

    def __init__(self, pipe: Any, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, args=(pipe,), daemon=True)
        self.thread.start()

    def _drain(self, pipe: Any) -> None:
        with pipe:
            while chunk := pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536):
                with self.lock:
                    room = self.limit - len(self.data)
                    self.data += chunk[:max(room, 0)]
                    self.dropped += max(0, len(chunk) - max(room, 0))

    def take(self) -> str:
        """Everything kept since the last call, with a marker if output was dropped."""
        with self.lock:
            text = self.data.decode("utf-8", errors="replace")
            if self.dropped:
                text += f"\n[... {self.dropped} more bytes of output not kept ...]\n"
            self.data, self.dropped = bytearray(), 0
        return text


class Sandbox:
    """One sandboxed child for one submission's files; a context manager that cleans up."""

    def __init__(self, files: Path | None, settings: SandboxSettings | None = None) -> None:
        self.files = Path(files) if files is not None else None
        """The submission's files; None until :meth:`give_files` for a sandbox started early."""
        self.settings = settings or SandboxSettings()
        self.isolation = isolation.choose(self.settings.isolation)
        self.base = Path(tempfile.mkdtemp(prefix="labgrade-"))
        self.workdir = self.base / "work"
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None
        self.budget_used = 0.0
        self._ids = itertools.count(1)
        self._messages: queue.Queue = queue.Queue()
        self._out: _CappedStream | None = None
        self._err: _CappedStream | None = None
        self._cmd_fd: int | None = None
        self.stopped: str | None = None
        """Why the child is gone, once a step has ended it; cleared by :meth:`restart`."""
        serial = next(_uid_counter)
        self.uid = _take_uid(serial)
        self.marker = f"{os.getpid()}-{serial}-{time.monotonic_ns()}"
        """In the child's environment, to find its processes that escaped the group."""

    # --- life cycle -----------------------------------------------------------------------

    def __enter__(self) -> "Sandbox":
        if self.process is None:  # else started early: see give_files
            self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> None:
        """Copy the files, start the child; it then waits for commands."""
        self._prepare_files()
        cmd_read, cmd_write = os.pipe()
        res_read, res_write = os.pipe()
        argv, env = self._command(cmd_read, res_write)
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(cmd_read, res_write), env=env, start_new_session=True,
            cwd=str(self.workdir))
        os.close(cmd_read)
        os.close(res_write)
        self._cmd_fd = cmd_write
        self.stopped = None
        self._messages = queue.Queue()
        limit = self.settings.output_bytes
        self._out = _CappedStream(self.process.stdout, limit)
        self._err = _CappedStream(self.process.stderr, limit)
        threading.Thread(target=self._read_messages, args=(res_read,), daemon=True).start()
        self.started_at = time.monotonic()
        with _registry_lock:
            _live.add(self)

    def restart(self) -> None:
        """A fresh child on a fresh copy of the files, after a step killed the previous one."""
        spent = self.budget_used
        self._stop()
        self.start()
        self.budget_used = spent

    def close(self) -> None:
        """Kill every process of the child and delete the private files."""
        self._stop()
        shutil.rmtree(self.base, ignore_errors=True)
        with _registry_lock:
            _uids_in_use.discard(self.uid)

    def interrupt(self) -> bool:
        """SIGKILL the child's process group now, from any thread; the step waiting on it then
        fails as a crash.  False if there was no running child."""
        process = self.process
        if process is None or process.poll() is not None:
            return False
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def give_files(self, files: Path) -> None:
        """The submission's files, to a sandbox started without them, before its first
        command: ``labgrade check`` starts the child (an interpreter, NumPy, the worker) while
        it reads the rubric and finds the submission.  They are copied into the working
        folder the child already has (at the namespaces level it is mounted: it must stay the
        same folder)."""
        if self.files is not None:
            raise RuntimeError("the sandbox already has its files")
        self.files = Path(files)
        shutil.copytree(self.files, self.workdir, symlinks=False, dirs_exist_ok=True)
        self._own_files()

    def _prepare_files(self) -> None:
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        if self.files is not None:
            shutil.copytree(self.files, self.workdir, symlinks=False)
        else:
            self.workdir.mkdir(parents=True)
        runtime = self._runtime()
        if self.isolation.level == isolation.RLIMITS and not runtime.exists():
            shutil.copytree(prepared_runtime(), runtime)
        for sub in ("home", "tmp", "root"):
            (self.base / sub).mkdir(exist_ok=True)
        self._own_files()

    def _runtime(self) -> Path:
        """The worker's code as this child runs it.  At the namespaces level, the prepared
        folder itself, mounted read-only; at the rlimits level the child could write to it,
        so it gets a copy of its own and cannot change the next submission's worker."""
        if self.isolation.level == isolation.NAMESPACES:
            return prepared_runtime()
        return self.base / "runtime"

    def _own_files(self) -> None:
        """At the namespaces level the child runs as the sandbox's own user: the working
        folder is its."""
        if self.isolation.level == isolation.NAMESPACES:
            for path in [self.workdir, *self.workdir.rglob("*")]:
                os.lchown(path, self.uid, self.uid)

    def _command(self, cmd_fd: int, res_fd: int) -> tuple[list[str], dict[str, str]]:
        s = self.settings
        namespaces = self.isolation.level == isolation.NAMESPACES
        runtime_dir = self._runtime()
        runtime = RUNTIME_INSIDE if namespaces else str(runtime_dir)
        home = "/tmp" if namespaces else str(self.base / "home")
        worker_spec = {
            "cmd_fd": cmd_fd, "res_fd": res_fd, "output_chars": s.output_bytes,
            "limits": {"cpu": s.cpu_seconds, "as": s.memory_bytes, "fsize": s.file_size_bytes,
                       "nofile": s.open_files, "nproc": s.processes, "core": 0},
        }
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "TMPDIR": "/tmp" if namespaces else str(self.base / "tmp"),
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.matplotlib",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1",
            MARKER_VARIABLE: self.marker,
        }
        worker = [sys.executable, "-s", "-P", "-B", f"{runtime}/worker.py",
                  json.dumps(worker_spec)]
        if not namespaces:
            return worker, env
        spec = {**isolation.root_layout(), "root": str(self.base / "root"),
                "workdir": str(self.workdir), "workdir_inside": WORKDIR_INSIDE,
                "runtime": str(runtime_dir), "runtime_inside": RUNTIME_INSIDE,
                "tmp_bytes": s.tmp_bytes, "uid": self.uid, "gid": self.uid,
                "keep_fds": [cmd_fd, res_fd], "argv": worker, "env": env}
        unshare = shutil.which("unshare") or "unshare"
        argv = [unshare, *isolation.UNSHARE_FLAGS, sys.executable, "-I", "-S", "-B",
                str(runtime_dir / "bootstrap.py"), marshal.dumps(spec).hex()]
        # the marker here too: every process of the sandbox, unshare and the reaper included,
        # carries it (the bootstrap gives the worker ``env`` itself)
        return argv, {"PATH": env["PATH"], "LANG": "C.UTF-8", MARKER_VARIABLE: self.marker}

    def _read_messages(self, fd: int) -> None:
        reader = protocol.MessageReader(self._messages.put, self.settings.message_bytes)
        try:
            with os.fdopen(fd, "rb", buffering=0) as pipe:
                while chunk := pipe.read(65536):
                    reader.feed(chunk)
        except protocol.ProtocolError as err:
            self._messages.put(("protocol", str(err)))
            return
        self._messages.put(("eof", None))

    # --- commands -------------------------------------------------------------------------

    def remaining_budget(self) -> float:
        return max(0.0, self.settings.submission_timeout - self.budget_used)

    def request(self, op: str, args: dict[str, Any] | None = None,
                timeout: float | None = None, *, fresh: bool = False) -> StepResult:
        """Send one command and wait for its answer, at most ``timeout`` seconds of wall clock.

        The wait is also bounded by what is left of the submission's whole budget.  ``fresh``:
        run the command as a new child would, on nothing earlier commands left, in a fork of
        the child that the child itself kills at the time limit (``child/fresh.py``); the
        child goes on serving the other commands whatever the run did.
        """
        if self.process is None:
            raise RuntimeError("the sandbox is not started")
        limit = min(timeout if timeout is not None else self.settings.step_timeout,
                    self.remaining_budget())
        command_id = next(self._ids)
        start = time.monotonic()
        result = StepResult(op, answered=False)
        if self.stopped is not None:
            result.failure = "stopped"
            result.message = f"not run, because an earlier step ended the program " \
                             f"({self.stopped})"
            return result
        command: dict[str, Any] = {"id": command_id, "op": op, "args": args or {}}
        if fresh:
            command["fresh"] = {"timeout": limit}
        try:
            line = json.dumps(command, default=_encode_argument) + "\n"
            os.write(self._cmd_fd, line.encode("utf-8"))
        except (BrokenPipeError, OSError):
            self._collect_death(result)
        else:
            # a fresh run's fork is killed by the child at the limit; the grader waits a
            # little longer, for the child's answer saying so
            wait = limit + FRESH_GRACE_SECONDS if fresh else limit
            self._wait_for(command_id, start + wait, limit, result)
        result.seconds = time.monotonic() - start
        self.budget_used += result.seconds
        if not result.answered and not result.contained:
            self.stopped = result.message
        result.output = self._output()
        return result

    def _wait_for(self, command_id: int, deadline: float, limit: float,
                  result: StepResult) -> None:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._kill()
                result.failure = "timeout"
                result.message = f"did not finish within {limit:g} s"
                return
            try:
                message = self._messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if isinstance(message, tuple):
                kind, detail = message
                if kind == "protocol":
                    self._kill()
                    result.failure = "protocol"
                    result.message = f"the program corrupted the grader's channel ({detail})"
                else:
                    self._collect_death(result)
                return
            if message.get("id") != command_id:
                continue  # a late answer to a command that timed out in an earlier child
            if "progress" in message:
                result.progress.append(message["progress"])
                continue
            if isinstance(message.get("died"), dict):
                result.contained = True
                result.failure, result.message = self._explain_fork(message["died"], limit)
                return
            result.answered, result.reply = True, message
            return

    def _collect_death(self, result: StepResult) -> None:
        """The pipe closed: the child is gone.  Say how it went."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill()
            code = self.process.returncode
        self._kill()
        result.failure, result.message = self._explain_exit(code)

    def _explain_exit(self, code: int | None) -> tuple[str, str]:
        # imported here: the bootstrap loads libc at import, which the grader needs only now
        from grader.sandbox.child.bootstrap import SETUP_FAILED

        if code == SETUP_FAILED:
            return "setup", "the sandbox could not be set up: " + self._err_tail()
        if code is not None and code < 0:
            sig = -code
        elif code is not None and code > 128 and self.isolation.level == isolation.NAMESPACES:
            sig = code - 128
        else:
            return "exit", f"the program ended the Python process (exit code {code})"
        return "crash", _signal_message(sig)

    @staticmethod
    def _explain_fork(died: dict[str, Any], limit: float) -> tuple[str, str]:
        """How a fresh run's fork ended without an answer, in the words a dead child gets."""
        failure = str(died.get("failure"))
        if failure == "timeout":
            return "timeout", f"did not finish within {limit:g} s"
        if failure == "crash":
            return "crash", _signal_message(int(died.get("signal") or 0))
        if failure == "protocol":
            return "protocol", f"the program corrupted the grader's channel " \
                               f"({died.get('detail')})"
        return "exit", f"the program ended the Python process (exit code {died.get('code')})"

    def _err_tail(self) -> str:
        if self._err is None:
            return "no detail"
        self._err.thread.join(timeout=2)  # the child is gone: let its last words arrive
        text = self._err.take()
        return text.strip().splitlines()[-1] if text.strip() else "no detail"

    def _output(self) -> str:
        parts = [s.take() for s in (self._out, self._err) if s is not None]
        return "".join(p for p in parts if p)

    # --- killing --------------------------------------------------------------------------

    def _kill(self) -> None:
        """SIGKILL the child's whole process group (and, with namespaces, its namespace)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _stop(self) -> None:
        if self.process is None:
            return
        if self._cmd_fd is not None:
            try:
                os.close(self._cmd_fd)
            except OSError:
                pass
            self._cmd_fd = None
        try:
            self.process.wait(timeout=2)  # a healthy worker exits when its command pipe closes
        except subprocess.TimeoutExpired:
            pass
        self._kill()
        if self.isolation.level == isolation.RLIMITS:
            sweep_escaped(self.process.pid, self.marker)
        for stream in (self._out, self._err):
            if stream is not None:
                stream.thread.join(timeout=2)
        self.process = None
        with _registry_lock:
            _live.discard(self)


def _signal_message(sig: int) -> str:
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    return SIGNAL_MESSAGES.get(sig, f"the program was stopped by {name}")


def sweep_escaped(session_id: int, marker: str) -> int:
    """Kill processes that left the child's process group, as far as they can be found.

    At the rlimits level nothing contains them.  They are found by the session they still
    belong to, or by the marker variable in the environment they started with (it survives
    ``setsid()`` and double forks; only a program that executes a new program with a cleaned
    environment, or with another uid, gets past it).  With namespaces this is never needed.
    Returns how many processes were killed.
    """
    killed = 0
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            session = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[3])
            environ = (entry / "environ").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if session == session_id or needle in environ.split(b"\0"):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
    return killed
