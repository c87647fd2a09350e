"""Hostile submissions against the real sandbox: every attack ends bounded, explained, contained.

Each test writes a small submission, runs it in a real sandboxed child, and asserts the outcome:
how long it took, the message a student would read, that no process is left behind, and that
nothing was written outside the working directory.  The ``namespaces`` level runs wherever the
machine allows it (root and util-linux ``unshare``, as on CI); the ``rlimits`` level runs
everywhere, except the attacks it is documented not to contain.
"""

from __future__ import annotations

import socket
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from grader.load import DEFINITIONS, EXECUTE, Loader
from grader.sandbox import Sandbox, isolation
from grader.settings import SandboxSettings

HAS_NAMESPACES = isolation.detect().level == isolation.NAMESPACES
needs_namespaces = pytest.mark.skipif(not HAS_NAMESPACES,
                                      reason="namespaces need root and util-linux unshare")
LEVELS = [pytest.param("namespaces", marks=needs_namespaces), "rlimits"]

FAST = dict(step_timeout=4.0, cell_timeout=2.0, submission_timeout=60.0)


def write_submission(folder: Path, code: str, name: str = "sub.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(code))
    return folder


def processes_of(sandbox: Sandbox) -> list[int]:
    """Live processes that belong to this sandbox: by its uid, or by its environment marker."""
    found = []
    needle = f"LABGRADE_SANDBOX={sandbox.marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid = int((entry / "status").read_text().split("Uid:")[1].split()[0])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if (uid == sandbox.uid and sandbox.isolation.level == isolation.NAMESPACES) \
                or needle in environ:
            found.append(int(entry.name))
    return found


class Run:
    """A sandbox with the submission loaded, for calling its functions."""

    def __init__(self, folder: Path, level: str, mode: str = DEFINITIONS, **settings) -> None:
        self.sandbox = Sandbox(folder, SandboxSettings(isolation=level, **{**FAST, **settings}))
        self.sandbox.start()
        self.loaded = Loader(self.sandbox, "sub.py", "script").load(mode)

    def call(self, target: str, timeout: float = 4.0, **args):
        return self.sandbox.request("call", {"target": target, **args}, timeout=timeout)

    def close(self) -> None:
        self.sandbox.close()


@pytest.fixture
def run_factory():
    runs: list[Run] = []

    def make(folder: Path, level: str, **kw) -> Run:
        runs.append(Run(folder, level, **kw))
        return runs[-1]

    yield make
    for run in runs:
        run.close()
        assert processes_of(run.sandbox) == [], "a process outlived its sandbox"


# --- processes ----------------------------------------------------------------------------------

@needs_namespaces
def test_fork_bomb_is_stopped_by_the_process_limit(tmp_path, run_factory):
    folder = write_submission(tmp_path / "s", """
        import os
        def boom():
            children = 0
            while True:
                os.fork()
                children += 1
    """)
    run = run_factory(folder, "namespaces", processes=16)
    start = time.monotonic()
    step = run.call("boom", timeout=10)
    assert time.monotonic() - start < 15
    # either the fork loop failed with EAGAIN in one of the copies (an error answer), or the
    # copies fought over the pipe; both are contained and explained
    assert step.failure in (None, "protocol", "timeout", "exit")
    if step.answered:
        assert step.reply["error"]["kind"] in ("BlockingIOError", "OSError")
    run.close()
    assert processes_of(run.sandbox) == []


@pytest.mark.parametrize("level", LEVELS)
def test_detached_daemon_that_ignores_sigterm_does_not_survive(tmp_path, level, run_factory):
    folder = write_submission(tmp_path / "s", """
        import os, signal, time
        def daemonize():
            if os.fork() == 0:
                os.setsid()
                if os.fork() != 0:
                    os._exit(0)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                while True:
                    time.sleep(0.1)
            time.sleep(0.5)
            return "spawned"
    """)
    run = run_factory(folder, level)
    step = run.call("daemonize")
    assert step.ok and step.result["results"] == ["spawned"]
    assert processes_of(run.sandbox), "the daemon should be alive while the sandbox runs"
    run.close()
    deadline = time.monotonic() + 5
    while processes_of(run.sandbox) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_of(run.sandbox) == []


@pytest.mark.parametrize("level", LEVELS)
def test_exit_calls_in_a_method_are_explained_and_the_sandbox_restarts(tmp_path, level,
                                                                       run_factory):
    folder = write_submission(tmp_path / "s", """
        import os, sys
        def polite():
            sys.exit(0)
        def brutal():
            os._exit(0)
        def fine():
            return 42
    """)
    run = run_factory(folder, level)
    step = run.call("polite")
    assert step.answered and not step.ok and step.reply["error"]["kind"] == "SystemExit"
    assert run.call("fine").result["results"] == [42]  # the child survived sys.exit
    step = run.call("brutal")
    assert not step.answered and step.failure == "exit"
    assert step.message == "the program ended the Python process (exit code 0)"
    run.sandbox.restart()
    Loader(run.sandbox, "sub.py", "script").load()
    assert run.call("fine").result["results"] == [42]


@pytest.mark.parametrize("level", LEVELS)
def test_segfault_through_ctypes_is_a_crash_not_a_grader_error(tmp_path, level, run_factory):
    folder = write_submission(tmp_path / "s", """
        import ctypes
        def crash():
            return ctypes.string_at(0)
    """)
    run = run_factory(folder, level)
    step = run.call("crash")
    assert step.failure == "crash"
    assert step.message == "the Python interpreter crashed (segmentation fault)"


@pytest.mark.parametrize("level", LEVELS)
def test_endless_loop_in_a_method_is_killed_at_the_deadline(tmp_path, level, run_factory):
    folder = write_submission(tmp_path / "s", """
        def spin():
            while True:
                try:
                    pass
                except BaseException:
                    pass
    """)
    run = run_factory(folder, level)
    start = time.monotonic()
    step = run.call("spin", timeout=2)
    assert 1.9 < time.monotonic() - start < 8
    assert step.failure == "timeout" and step.message == "did not finish within 2 s"
    later = run.call("spin", timeout=2)
    assert later.failure == "stopped" and later.seconds < 0.5
    assert later.message == ("not run, because an earlier step ended the program "
                             "(did not finish within 2 s)")


@pytest.mark.parametrize("level", LEVELS)
def test_endless_loop_at_import_in_execute_mode_still_loads_the_definitions(tmp_path, level,
                                                                           run_factory):
    folder = write_submission(tmp_path / "s", """
        class NN:
            def predict(self, X): return X
            def backprop(self, y): pass
            def update(self, lr): pass
        import signal
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # defeats the in-process timer
        done = False
        while not done:
            pass
    """)
    start = time.monotonic()
    run = run_factory(folder, level, mode=EXECUTE, step_timeout=2.0)
    assert time.monotonic() - start < 20
    assert run.loaded.mode == DEFINITIONS
    assert "NN" in run.loaded.classes
    assert any("did not finish within" in e for e in run.loaded.errors)
    assert any("only the definitions" in n for n in run.loaded.notes)


# --- resources ----------------------------------------------------------------------------------

@pytest.mark.parametrize("level", LEVELS)
def test_memory_bomb_becomes_a_memory_error(tmp_path, level, run_factory):
    folder = write_submission(tmp_path / "s", """
        import numpy as np
        def hog():
            return np.ones((200_000, 200_000)).sum()
        def hog_bytes():
            return len(bytearray(50 * 1024 ** 3))
    """)
    run = run_factory(folder, level)
    for name in ("hog", "hog_bytes"):
        step = run.call(name)
        assert step.answered and not step.ok
        assert "MemoryError" in step.reply["error"]["kind"]


@pytest.mark.parametrize("level", LEVELS)
def test_output_floods_are_truncated_with_a_marker(tmp_path, level, run_factory):
    folder = write_submission(tmp_path / "s", """
        import os
        def shout():
            for _ in range(200_000):
                print("spam " * 20)
            return "done"
        def scream():
            for _ in range(20_000):
                os.write(1, b"x" * 1000)
            return "done"
    """)
    run = run_factory(folder, level, output_bytes=10_000)
    step = run.call("shout", timeout=30)
    assert step.ok and step.result["results"] == ["done"]
    assert len(step.reply["stdout"]) < 11_000 and "more characters not kept" in step.reply["stdout"]
    step = run.call("scream", timeout=30)
    assert step.ok and len(step.output) < 11_000 and "more bytes of output not kept" in step.output


@pytest.mark.parametrize("level", LEVELS)
def test_huge_file_write_hits_the_file_size_limit(tmp_path, level, run_factory):
    folder = write_submission(tmp_path / "s", """
        def fill():
            with open("big.bin", "wb") as f:
                for _ in range(100):
                    f.write(b"x" * 1024 * 1024)
    """)
    run = run_factory(folder, level, file_size_bytes=8 * 1024 * 1024)
    step = run.call("fill")
    assert step.answered and not step.ok
    assert "File too large" in step.reply["error"]["message"]


# --- the outside world --------------------------------------------------------------------------

@needs_namespaces
def test_no_network_and_no_view_of_other_files(tmp_path, run_factory):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(3)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    secret = tmp_path / "other_student" / "secret.py"
    secret.parent.mkdir()
    secret.write_text("ANSWER = 42\n")
    outside = tmp_path / "outside.txt"
    folder = write_submission(tmp_path / "s", f"""
        import os, socket
        def connect():
            socket.create_connection(("127.0.0.1", {port}), timeout=2)
        def steal():
            return open({str(secret)!r}).read()
        def scribble():
            open({str(outside)!r}, "w").write("pwned")
        def system():
            open("/etc/labgrade-pwned", "w").write("pwned")
        def home():
            seen = dict()
            seen["/"] = sorted(os.listdir("/"))
            if os.path.isdir("/root"):
                seen["/root"] = sorted(os.listdir("/root"))
            return seen
        def local():
            open("notes.txt", "w").write("fine")
            open("/tmp/scratch", "w").write("fine")
            return open("notes.txt").read()
    """)
    try:
        check_isolated_world(run_factory(folder, "namespaces"), accepted, outside)
    finally:
        server.close()


def check_isolated_world(run, accepted, outside) -> None:
    step = run.call("connect")
    assert step.answered and not step.ok and step.reply["error"]["kind"] in ("OSError",
                                                                             "ConnectionRefusedError")
    time.sleep(0.2)
    assert accepted == []
    for name in ("steal", "scribble", "system"):
        step = run.call(name)
        assert step.answered and not step.ok, name
        assert step.reply["error"]["kind"] in ("FileNotFoundError", "OSError",
                                               "PermissionError"), name
    assert not outside.exists() and not Path("/etc/labgrade-pwned").exists()
    seen = run.call("home").result["results"][0]
    # a top-level folder is visible only when it holds the (read-only) Python the child runs
    # on: the interpreter's or the virtual environment's own path, and nothing else beside it
    python_tops = {p.split("/")[1] for p in isolation.python_paths()}
    assert "work" not in seen["/"] or "work" in python_tops
    assert "home" not in seen["/"] or "home" in python_tops
    assert "sandbox" in seen["/"]
    python_home = [p for p in isolation.python_paths() if p.startswith("/root/")]
    assert seen.get("/root", []) == sorted({p.split("/")[2] for p in python_home})
    assert run.call("local").result["results"] == ["fine"]


@needs_namespaces
def test_the_child_runs_unprivileged_with_its_limits(tmp_path, run_factory):
    folder = write_submission(tmp_path / "s", "X = 1\n")
    run = run_factory(folder, "namespaces")
    info = run.sandbox.request("ping").result
    assert info["uid"] != 0 and info["uid"] == run.sandbox.uid
    assert info["pid"] == 2  # PID 1 is the reaper, not student code
    assert info["cwd"] == "/sandbox"
    assert info["limits"]["NPROC"][0] == SandboxSettings().processes


@pytest.mark.parametrize("level", LEVELS)
def test_monkeypatching_numpy_and_builtins_stays_in_its_own_child(tmp_path, level, run_factory):
    cheat = write_submission(tmp_path / "cheat", """
        import builtins, numpy
        numpy.allclose = lambda *a, **k: True
        builtins.abs = lambda x: 0
        def probe():
            return [bool(numpy.allclose(1, 2)), abs(-5)]
    """)
    honest = write_submission(tmp_path / "honest", """
        import numpy
        def probe():
            return [bool(numpy.allclose(1, 2)), abs(-5)]
    """)
    # definitions mode keeps the assignment to an attribute? no: only plain names.  Execute it.
    cheater = run_factory(cheat, level, mode=EXECUTE)
    assert cheater.call("probe").result["results"] == [[True, 0]]
    assert honest and run_factory(honest, level).call("probe").result["results"] == [[False, 5]]
    assert not np.allclose(1, 2) and abs(-5) == 5  # the grader's own process is untouched


@pytest.mark.parametrize("level", LEVELS)
def test_the_reference_solution_cannot_be_imported_but_a_students_own_module_can(
        tmp_path, level, run_factory):
    folder = write_submission(tmp_path / "s", """
        def cheat():
            from reference.lab1 import NN
            return "got it"
        def grade():
            import grader
            return "got it"
        def own():
            import helpers
            return helpers.VALUE
    """)
    (folder / "helpers.py").write_text("VALUE = 7\n")
    run = run_factory(folder, level)
    for name in ("cheat", "grade"):
        step = run.call(name)
        assert step.answered and not step.ok
        assert "not available to submissions" in step.reply["error"]["message"]
    assert run.call("own").result["results"] == [7]


@pytest.mark.parametrize("level", LEVELS)
def test_input_and_show_at_module_level_do_not_hang(tmp_path, level, run_factory):
    folder = write_submission(tmp_path / "s", """
        import matplotlib.pyplot as plt
        plt.plot([0, 1], [1, 0])
        plt.show()
        epochs = int(input("epochs? "))
        def after(): return 1
    """)
    start = time.monotonic()
    run = run_factory(folder, level, mode=EXECUTE)
    assert time.monotonic() - start < 20
    assert any("waits for keyboard input" in e for e in run.loaded.errors)
    assert len(run.loaded.figures) == 1 and run.loaded.figures[0][:4] == b"\x89PNG"


@needs_namespaces
def test_no_copy_of_the_reference_is_even_readable_in_the_private_root(tmp_path, run_factory):
    folder = write_submission(tmp_path / "s", """
        import os, sys
        def look(hidden):
            readable = [p for p in sys.path
                        if os.path.exists(os.path.join(p, "reference", "lab1.py"))]
            return [readable, [os.listdir(d) if os.path.isdir(d) else None for d in hidden]]
    """)
    hidden = isolation.root_layout()["hide"]
    run = run_factory(folder, "namespaces")
    readable, listings = run.call("look", args=[hidden]).result["results"][0]
    assert readable == []
    assert all(listing in ([], None) for listing in listings)


@needs_namespaces
def test_a_grader_installed_in_a_virtualenv_under_tmp_can_start_its_sandbox(tmp_path):
    """CI's layout: the checkout, and so the virtualenv, live in /tmp, which the sandbox
    replaces with a private tmpfs; the virtualenv must still be visible in the child."""
    import subprocess
    import venv

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False, symlinks=True).create(env_dir)
    assert str(env_dir).startswith("/tmp/") or not str(tmp_path).startswith("/tmp/")
    (tmp_path / "s").mkdir()
    script = ("from grader.sandbox import Sandbox\n"
              f"with Sandbox({str(tmp_path / 's')!r}) as sb:\n"
              "    step = sb.request('ping', timeout=20)\n"
              "    print(step.answered, step.failure, step.message, step.result.get('uid'))\n")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([str(env_dir / "bin" / "python"), "-c", script], capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    answered, failure, *_ = proc.stdout.split()
    assert (answered, failure) == ("True", "None"), proc.stdout


# --- several sandboxes at once --------------------------------------------------------------------

def test_live_sandboxes_never_share_a_user_id(tmp_path):
    """The process limit counts per user: two sandboxes of one grader at once must not share
    one, however many came and went before (a batch grades hundreds, several at a time)."""
    from grader.sandbox import runner

    folder = write_submission(tmp_path / "s", "x = 1\n")
    long_lived = Sandbox(folder, SandboxSettings(isolation="rlimits"))
    short = []
    try:
        for _ in range(runner.UIDS_PER_PROCESS - 1):  # go once round the ids beside it
            sandbox = Sandbox(folder, SandboxSettings(isolation="rlimits"))
            short.append(sandbox.uid)
            assert sandbox.uid != long_lived.uid
            sandbox.close()
        crowd = [Sandbox(folder, SandboxSettings(isolation="rlimits"))
                 for _ in range(runner.UIDS_PER_PROCESS - 1)]
        uids = {long_lived.uid, *(s.uid for s in crowd)}
        assert len(uids) == runner.UIDS_PER_PROCESS
        for sandbox in crowd:
            sandbox.close()
    finally:
        long_lived.close()


@pytest.mark.parametrize("level", LEVELS)
def test_stopping_all_sandboxes_ends_every_step_waiting_on_them(tmp_path, level, run_factory):
    """Ctrl-C in a parallel batch: the gradings' threads wait on their children; killing the
    children ends those waits at once, as crashes, and nothing survives."""
    import threading

    from grader.sandbox.runner import stop_all_sandboxes

    code = """
        def spin():
            while True:
                pass
    """
    runs = [run_factory(write_submission(tmp_path / f"s{i}", code), level) for i in range(2)]
    steps = []
    threads = [threading.Thread(target=lambda r=r: steps.append(r.call("spin", timeout=60)))
               for r in runs]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    started = time.monotonic()
    assert stop_all_sandboxes() == 2
    for thread in threads:
        thread.join(timeout=10)
    assert time.monotonic() - started < 10
    assert len(steps) == 2 and all(step.failure == "crash" for step in steps), steps
    assert stop_all_sandboxes() == 0, "nothing is left running"
