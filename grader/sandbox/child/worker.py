"""The sandboxed child: applies its limits, then answers the grader's commands one by one.

Started by the grader (directly at the ``rlimits`` level, by ``bootstrap.py`` at the
``namespaces`` level) as ``python -s -P -B worker.py SPEC``, where ``SPEC`` is JSON naming the
two pipe descriptors, the working directory and the limits.  Before any student code exists in
the process it sets the resource limits, makes ``input()`` fail fast, and blocks imports of the
grader's own packages; then it reads one JSON command per line and answers each with one
message (see ``protocol.py``).

Commands name an operation in :data:`OPS`.  Operations return raw observations only -- what
was defined, what was printed, what raised -- never a verdict: the grader decides.  Whatever
student code does inside an operation (raise, ``sys.exit``, print, loop past its time limit)
becomes part of that operation's answer; if it kills the process instead, the grader notices
the closed pipe and reports that.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.machinery
import io
import json
import os
import resource
import sys
import time
import traceback
import types
from typing import Any, Callable

RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
if RUNTIME_DIR not in sys.path:
    sys.path.insert(0, RUNTIME_DIR)

import protocol  # noqa: E402

BLOCKED_PACKAGES = ("grader", "reference", "labgrade")


class BlockGraderPackages:
    """Refuse the grader's own packages, unless the submission itself has a module of that name.

    A student's ``reference.py`` must still import; the grader's ``reference`` package (the
    model answer) must not.  A finder is any object with ``find_spec`` (this one and the
    child's others do not derive from ``importlib.abc``, whose import costs every sandbox's
    start a few milliseconds).
    """

    def __init__(self, student_dirs: list[str]) -> None:
        self.student_dirs = student_dirs

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        top = name.partition(".")[0]
        if top not in BLOCKED_PACKAGES:
            return None
        if path is None:  # a top-level name: only the submission's own files may provide it
            spec = importlib.machinery.PathFinder.find_spec(name, self.student_dirs)
        else:
            spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.origin and any(
                os.path.abspath(spec.origin).startswith(os.path.abspath(d) + os.sep)
                for d in self.student_dirs):
            return spec
        raise ModuleNotFoundError(
            f"No module named {name!r} (the grader's own packages are not available to "
            "submissions)", name=name)


class CappedText(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        marker = f"\n[... {self.dropped} more characters not kept ...]\n" if self.dropped else ""
        return "".join(self.parts) + marker


def no_keyboard(prompt: object = "") -> str:
    """Replacement for ``input()``: a grader cannot type, so fail at once and say why."""
    raise EOFError("your program waits for keyboard input (input()); a grader cannot type")


def apply_limits(limits: dict[str, int]) -> None:
    """Lower every resource limit as asked (a process may always lower its own limits)."""
    names = {"cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS,
             "fsize": resource.RLIMIT_FSIZE, "nofile": resource.RLIMIT_NOFILE,
             "nproc": resource.RLIMIT_NPROC, "core": resource.RLIMIT_CORE}
    for name, value in limits.items():
        which = names[name]
        _, hard = resource.getrlimit(which)
        soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
        new_hard = soft + 5 if name == "cpu" else soft  # SIGXCPU first, SIGKILL 5 s later
        if hard != resource.RLIM_INFINITY:
            new_hard = min(new_hard, hard)
        resource.setrlimit(which, (soft, new_hard))


class Context:
    """State kept between commands: the student's namespace and what loading found."""

    def __init__(self, spec: dict[str, Any], send: Callable[[dict[str, Any]], None]) -> None:
        self.spec = spec
        self.send = send
        self.workdir = os.getcwd()
        # The student's code runs as the real __main__ module, so that classes defined in it
        # (dataclasses, pickling, typing.get_type_hints) find their module in sys.modules.
        module = types.ModuleType("__main__")
        sys.modules["__main__"] = module
        self.namespace: dict[str, Any] = module.__dict__
        self.main: str | None = None
        self.command_id: Any = None

    def progress(self, **fields: Any) -> None:
        self.send({"id": self.command_id, "progress": fields})


# --- operations --------------------------------------------------------------------------------

def op_ping(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Who and where the child is: used by the grader's own checks of the isolation."""
    return {"pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid(), "cwd": os.getcwd(),
            "python": sys.version.split()[0], "executable": sys.executable,
            "limits": {name: list(resource.getrlimit(getattr(resource, "RLIMIT_" + name)))
                       for name in ("CPU", "AS", "FSIZE", "NOFILE", "NPROC")}}


def _enter_program(ctx: Context, args: dict[str, Any]) -> str:
    """What loading and tracing the student's program both do first: seed every source of
    randomness when a ``seed`` is given, remember the main file and put its folder on the
    path.  The main file's path."""
    if args.get("seed") is not None:
        import seeding

        seeding.install(int(args["seed"]), restart=int(args.get("restart") or 0))
        if not args.get("restart"):
            seeding.reseed(int(args["seed"]))
    import loader
    import numpy_compat
    import scalar_compat

    if not args.get("numpy_as_is"):
        numpy_compat.restore_removed_names()
        scalar_compat.install(ctx.workdir)
        loader.SOURCE_REWRITE = scalar_compat.rewrite
    else:  # the program check runs the program on NumPy as it is, maybe in a fresh run
        numpy_compat.remove_stand_ins()
        scalar_compat.uninstall()
        loader.SOURCE_REWRITE = None
    ctx.main = args["main"]
    path = os.path.join(ctx.workdir, args["main"])
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return path


def op_load(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Load the submission's main file into the namespace (see ``loader.py``).

    With a ``seed``, every source of randomness is seeded from it first (see ``seeding.py``),
    so that what the student's code draws while loading is the same on every run.
    """
    import arguments
    import describe
    import loader

    path = _enter_program(ctx, args)
    mode = args.get("mode", "definitions")
    # a program run as a whole answers input() as a TA would (the first option offered)
    answer = arguments.first_choice if mode == "execute" else None
    if args.get("kind") == "notebook":
        import probes

        import loops

        # asked for (``cell_states``), a notebook run as a whole keeps what each cell left and
        # the first passes through each cell's loops: an exercise's checks may judge the state
        # after a given part (the single-layer XOR before the MLP cells) or one step of a
        # training cell; nothing else pays for the copies
        probes.reset_cell_states()
        loops.reset()
        watch = mode == "execute" and bool(args.get("cell_states"))

        def started(index: int) -> None:
            ctx.progress(cell=index)
            if watch:
                loops.start_cell(index)

        def ended(index: int) -> None:
            loops.end_cell()
            probes.keep_cell_state(ctx.namespace)

        report = loader.load_notebook(
            args["cells"], ctx.namespace, mode=mode, cell_timeout=float(args["cell_timeout"]),
            total_timeout=float(args["timeout"]) if args.get("timeout") else None,
            on_cell_start=started, skip_cells=set(args.get("skip_cells", ())),
            answer_input=answer, after_cell=ended if watch else None)
    else:
        report = loader.load_script(path, ctx.namespace, mode=mode,
                                    timeout=float(args["timeout"]), answer_input=answer)
    result = report.to_dict()
    result["definitions"] = describe.describe(ctx.namespace, main_file=args["main"])
    return result


def op_trace(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Run the student's own program in execute mode under the tracer (see ``tracer.py``):
    how it constructs its classes and calls their methods, stopped after ``repeats`` calls of
    one method of one object or ``seconds`` of running.  Seeded like ``load``.

    ``{"main": path, "kind": "script"|"notebook", "cells": [...], "seconds": 10.0,
    "repeats": 30, "seed": int|None}``."""
    import tracer

    path = _enter_program(ctx, args)
    return tracer.trace(path, ctx.namespace, kind=args.get("kind", "script"),
                        cells=args.get("cells"), seconds=float(args.get("seconds", 10.0)),
                        repeats=int(args.get("repeats", 30)),
                        on_cell_start=lambda i: ctx.progress(cell=i))


def op_describe(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """What the namespace defines now."""
    import describe

    return describe.describe(ctx.namespace, main_file=ctx.main)


STUDENT_IMPORTS: set[str] = set()
"""Top-level modules that the submission's own code imported (not their dependencies)."""


def record_student_imports(workdir: str) -> None:
    """Wrap ``__import__`` to note the modules imported by code in the working directory or in
    a notebook cell, for the NumPy-only rule.  Cheap: one frame lookup per import statement."""
    original = builtins.__import__
    prefix = os.path.abspath(workdir) + os.sep

    def importing(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                  level: int = 0) -> Any:
        if level == 0 and name:
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(prefix) or caller.startswith("<cell"):
                STUDENT_IMPORTS.add(name.partition(".")[0])
        return original(name, globals, locals, fromlist, level)

    builtins.__import__ = importing


def op_imports(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Top-level modules the submission's code imported so far: for the NumPy-only rule."""
    return {"modules": sorted(STUDENT_IMPORTS)}


def op_call(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Call something the submission defined and return what it returned.

    ``{"target": "NN", "args": [...], "kwargs": {...}, "then": [{"method": "predict",
    "args": [...]}, ...]}``: calls ``target`` (a name in the namespace), then each method in
    turn on its result.  Values that can travel (numbers, strings, arrays, lists of them) come
    back as they are; anything else as its type name.  The building block of the probes.
    """
    target = ctx.namespace.get(args["target"])
    if target is None:
        raise NameError(f"{args['target']!r} is not defined by the submission")
    value = target(*args.get("args", []), **args.get("kwargs", {}))
    results = [observable(value)]
    for step in args.get("then", []):
        method = getattr(value, step["method"])
        results.append(observable(method(*step.get("args", []), **step.get("kwargs", {}))))
    return {"results": results}


def materialise(value: Any) -> Any:
    """Commands carry arrays as ``{"__array__": nested lists}``: make them float64 arrays."""
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            import numpy as np

            return np.array(value["__array__"], dtype=float)
        if set(value) == {"__pairs__"}:  # a dict whose keys are not strings (layer numbers)
            return {key: materialise(item) for key, item in value["__pairs__"]}
        return {k: materialise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialise(v) for v in value]
    return value


def observable(value: Any) -> Any:
    """A value the protocol can carry, or a description of one it cannot."""
    try:
        protocol.encode({"v": value})
        return value
    except (TypeError, ValueError):
        return {"type": type(value).__name__}


OPS: dict[str, Callable[[Context, dict[str, Any]], dict[str, Any]]] = {
    "ping": op_ping,
    "load": op_load,
    "trace": op_trace,
    "describe": op_describe,
    "imports": op_imports,
    "call": op_call,
}


def _probe_op(name: str) -> Callable[[Context, dict[str, Any]], dict[str, Any]]:
    def run(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
        import probes

        probes.play_procedure(ctx.namespace, args)
        return probes.OPS[name](ctx.namespace, args)

    run.__doc__ = f"The {name!r} probe (see probes.py)."
    return run


OPS.update({name: _probe_op(name)
            for name in ("interface", "network", "forward", "steps", "train", "fd",
                         "functions", "variables", "step_function", "loop_step")})


def run_command(ctx: Context, command: dict[str, Any], output_limit: int) -> dict[str, Any]:
    """Run one command with stdout/stderr captured; turn anything it raises into data."""
    ctx.command_id = command.get("id")
    op = OPS.get(command.get("op", ""))
    if op is None:
        return {"id": ctx.command_id, "ok": False,
                "error": {"kind": "grader", "message": f"unknown operation {command.get('op')!r}"}}
    out, err = CappedText(output_limit), CappedText(output_limit)
    saved = sys.stdout, sys.stderr, builtins.input
    sys.stdout, sys.stderr, builtins.input = out, err, no_keyboard
    start = time.perf_counter()
    try:
        result = op(ctx, materialise(command.get("args") or {}))
        reply = {"id": ctx.command_id, "ok": True, "result": result}
    except BaseException as exc:  # noqa: BLE001 -- SystemExit and KeyboardInterrupt included
        reply = {"id": ctx.command_id, "ok": False,
                 "error": {"kind": type(exc).__name__, "message": str(exc)[:2000],
                           "traceback": traceback.format_exc(limit=20)[-8000:]}}
    finally:
        sys.stdout, sys.stderr, builtins.input = saved
    reply["seconds"] = time.perf_counter() - start
    reply["stdout"], reply["stdout_dropped"] = out.text(), out.dropped
    reply["stderr"], reply["stderr_dropped"] = err.text(), err.dropped
    return reply


def make_sender(fd: int) -> Callable[[dict[str, Any]], None]:
    """Messages to the grader (or, in a fresh run's fork, to the worker that relays them)."""

    def send(message: dict[str, Any]) -> None:
        try:
            protocol.write_message(fd, message)
        except TypeError as exc:  # an observation that cannot be encoded: say so
            protocol.write_message(fd, {"id": message.get("id"), "ok": False, "error": {
                "kind": "grader", "message": f"observation could not be encoded: {exc}"}})

    return send


def warm_font_cache() -> None:
    """Give matplotlib the font list the grader made once (``grader/sandbox/runtime.py``),
    before any student code: its first import then does not list the machine's fonts again."""
    source = os.path.join(RUNTIME_DIR, "mplcache")
    target = os.environ.get("MPLCONFIGDIR")
    if not target or not os.path.isdir(source):
        return
    try:
        os.makedirs(target, exist_ok=True)
        for name in os.listdir(source):
            with open(os.path.join(source, name), "rb") as kept, \
                    open(os.path.join(target, name), "wb") as copy:
                copy.write(kept.read())
    except OSError:
        pass  # matplotlib lists the fonts itself


def main() -> None:
    spec = json.loads(sys.argv[1])
    apply_limits(spec["limits"])
    warm_font_cache()
    res_fd, cmd_fd = int(spec["res_fd"]), int(spec["cmd_fd"])
    workdir = os.getcwd()
    for name in ("figures", "magics", "definitions", "describe", "loader", "probes", "seeding",
                 "tracer", "numpy_compat", "arguments", "scalar_compat", "loops", "fresh"):
        try:  # our own modules, imported before the path is closed to submissions
            importlib.import_module(name)
        except ImportError:
            pass  # an operation that needs it says so in its answer

    sys.path[:] = [p for p in sys.path if p != RUNTIME_DIR]  # submissions cannot import us
    sys.path.insert(0, workdir)
    sys.meta_path.insert(0, BlockGraderPackages([workdir]))
    record_student_imports(workdir)
    builtins.input = no_keyboard

    send = make_sender(res_fd)
    ctx = Context(spec, send)
    output_limit = int(spec["output_chars"])
    with os.fdopen(cmd_fd, "rb", buffering=0) as commands:
        for command in protocol.read_commands(commands):
            if command.get("fresh"):
                import fresh

                fresh.run(command, send, lambda write_fd: _in_fork(
                    ctx, command, output_limit, write_fd, (res_fd, cmd_fd)))
            else:
                send(run_command(ctx, command, output_limit))
    os._exit(0)


def _in_fork(ctx: Context, command: dict[str, Any], output_limit: int, write_fd: int,
             closed: tuple[int, ...]) -> None:
    """What a fresh run's fork does: forget what the worker's earlier commands left, run the
    command, send its answer to the worker (never on the grader's own pipes, which it closes:
    the worker relays complete messages only)."""
    import fresh

    for fd in closed:
        os.close(fd)
    ctx.send = make_sender(write_fd)
    ctx.namespace = fresh.forget_the_submission(ctx.workdir)
    ctx.send(run_command(ctx, command, output_limit))


if __name__ == "__main__":
    main()
