"""The worker's code as sandboxes get it (``grader/sandbox/runtime.py``): compiled once, kept in
the user's cache, with matplotlib's font list, and given to the student's code before it runs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.load import DEFINITIONS, EXECUTE, Loader
from grader.sandbox import Sandbox, isolation, runtime
from grader.settings import SandboxSettings


def make_runtime(cache: Path) -> Path:
    """A runtime made in a process of its own with ``cache`` as the user's cache."""
    done = subprocess.run(
        [sys.executable, "-c", "from grader.sandbox import runtime; "
                               "print(runtime.prepared_runtime())"],
        env={"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin", "HOME": str(cache)},
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return Path(done.stdout.strip())


def test_the_runtime_is_compiled_once_and_found_again(tmp_path):
    made = make_runtime(tmp_path / "cache")

    assert made.parent == tmp_path / "cache" / "labgrade"
    sources = sorted(p.name for p in runtime.CHILD_DIR.glob("*.py"))
    assert sorted(p.name for p in made.glob("*.py")) == sources
    for name in sources:
        pyc = Path(importlib.util.cache_from_source(str(made / name)))
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc.name}: not an unchecked hash-based pyc"
    fonts = list((made / runtime.FONT_CACHE).glob("fontlist*.json"))
    assert len(fonts) == 1 and json.loads(fonts[0].read_text())["ttflist"]
    # a second grader finds it, and nothing else was left in the cache
    assert make_runtime(tmp_path / "cache") == made
    assert [p.name for p in (tmp_path / "cache" / "labgrade").iterdir()] == [made.name]


def test_an_unwritable_cache_gives_a_runtime_for_the_process(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")

    made = make_runtime(blocked)

    assert not str(made).startswith(str(blocked))
    assert not made.exists()  # removed when its process ended


def test_the_student_code_finds_matplotlibs_font_list_already_made(tmp_path):
    # matplotlib would write its font list again if it found none, or one it cannot use
    (tmp_path / "sub.py").write_text(textwrap.dedent("""
        import os
        def listing():
            folder = os.environ["MPLCONFIGDIR"]
            return sorted((n, os.stat(os.path.join(folder, n)).st_mtime_ns)
                          for n in os.listdir(folder))
        print("fonts:", listing())
        import matplotlib.font_manager
        matplotlib.font_manager.findfont("DejaVu Sans")
        print("after:", listing())
    """))
    with Sandbox(tmp_path, SandboxSettings()) as sandbox:
        run = Loader(sandbox, "sub.py", "script").load(EXECUTE)

    assert run.errors == []
    before = next(line for line in run.stdout.splitlines() if line.startswith("fonts:"))
    after = next(line for line in run.stdout.splitlines() if line.startswith("after:"))
    assert "fontlist" in before and before.replace("fonts:", "") == after.replace("after:", "")


@pytest.mark.parametrize("level", [pytest.param("namespaces", marks=pytest.mark.skipif(
    isolation.detect().level != isolation.NAMESPACES, reason="needs root and unshare")),
    "rlimits"])
def test_a_sandbox_started_before_its_files_are_known_gets_them_later(tmp_path, level):
    # `labgrade check` starts the child while it reads the rubric and finds the submission
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "sub.py").write_text("import helper\n\ndef value():\n    return helper.HALF * 2\n")
    (tmp_path / "files" / "helper.py").write_text("HALF = 21\n")
    with Sandbox(None, SandboxSettings(isolation=level)) as sandbox:
        sandbox.give_files(tmp_path / "files")
        loaded = Loader(sandbox, "sub.py", "script").load(DEFINITIONS)
        value = sandbox.request("call", {"target": "value"}, timeout=5)
        with pytest.raises(RuntimeError):
            sandbox.give_files(tmp_path / "files")
        sandbox.restart()  # a revived child gets the same files
        again = Loader(sandbox, "sub.py", "script").load(DEFINITIONS)

    assert loaded.errors == [] and again.errors == [], (loaded.errors, again.errors)
    assert value.result["results"] == [42]


@pytest.mark.parametrize("level", [pytest.param("namespaces", marks=pytest.mark.skipif(
    isolation.detect().level != isolation.NAMESPACES, reason="needs root and unshare")),
    "rlimits"])
def test_a_submission_cannot_change_the_worker_of_the_next_one(tmp_path, level):
    # namespaces: the prepared folder itself, mounted read-only (nothing copied per sandbox);
    # rlimits: a private copy, which the child may spoil for itself only
    (tmp_path / "sub.py").write_text(textwrap.dedent("""
        import os, sys
        def spoil():
            folder = os.path.dirname(sys.modules["protocol"].__file__)
            try:
                with open(os.path.join(folder, "worker.py"), "a") as f:
                    f.write("raise SystemExit('spoiled')\\n")
            except OSError as err:
                return ["refused", folder]
            return ["written", folder]
    """))
    prepared = runtime.prepared_runtime()
    before = (prepared / "worker.py").read_bytes()
    with Sandbox(tmp_path, SandboxSettings(isolation=level)) as sandbox:
        Loader(sandbox, "sub.py", "script").load(DEFINITIONS)
        spoiled = sandbox.request("call", {"target": "spoil"}, timeout=5)
        outcome, folder = spoiled.result["results"][0]
        copied = (sandbox.base / "runtime").is_dir()
    assert (prepared / "worker.py").read_bytes() == before
    if level == "namespaces":
        assert (outcome, copied) == ("refused", False)
    else:
        assert (outcome, copied) == ("written", True) and folder != str(prepared)
    with Sandbox(tmp_path, SandboxSettings(isolation=level)) as sandbox:  # the next one works
        assert Loader(sandbox, "sub.py", "script").load(DEFINITIONS).errors == []
