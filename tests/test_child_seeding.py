"""The grading seed reaches every source of randomness in the student's process (seeding.py).

A correct network initialised with unseeded ``np.random.randn(...)`` or ``default_rng()`` must
get the same grade every time.  The sandbox tests load one student file in real sandboxes and
read its draws back through the worker's ``call`` operation: the same seed gives the same
draws, another seed others, and NumPy's own behaviour is kept wherever a seed is given.  The
unit tests import ``seeding`` as the worker does (the child folder on ``sys.path``) in
subprocesses, so that this process's NumPy is never patched, and compare against NumPy
computed here.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from grader.load import DEFINITIONS, EXECUTE, Loader
from grader.sandbox import Sandbox
from grader.settings import SandboxSettings
from tests_support import ROOT

CHILD = ROOT / "grader" / "sandbox" / "child"
SETTINGS = SandboxSettings(step_timeout=20.0, cell_timeout=10.0, submission_timeout=120.0)

DRAWS = '''
import random

import numpy as np
from numpy.random import default_rng

RNG = np.random.default_rng()


def draw():
    """Three numbers from each source, in a fixed order."""
    return {
        "randn": np.random.randn(3).tolist(),
        "default_rng": np.random.default_rng().normal(size=3).tolist(),
        "default_rng_again": np.random.default_rng().normal(size=3).tolist(),
        "RandomState": np.random.RandomState().rand(3).tolist(),
        "PCG64": np.random.Generator(np.random.PCG64()).random(3).tolist(),
        "random": [random.random() for _ in range(3)],
        "Random": [random.Random().random() for _ in range(3)],
        "from_import": default_rng().random(3).tolist(),
        "module_rng": RNG.random(3).tolist(),
        "seeded_5": np.random.default_rng(5).random(3).tolist(),
    }
'''

SCRIPT = DRAWS + '''

AT_LOAD = draw()


class Net:
    def __init__(self):
        self.drawn = draw()

    def values(self):
        return self.drawn


def at_load():
    return AT_LOAD


def kinds():
    rng = np.random.default_rng()
    return {
        "Generator": isinstance(rng, np.random.Generator),
        "RandomState": isinstance(np.random.RandomState(), np.random.RandomState),
        "global RandomState": isinstance(np.random.mtrand._rand, np.random.RandomState),
        "BitGenerator": isinstance(np.random.PCG64(), np.random.BitGenerator),
        "PCG64 of default_rng": isinstance(rng.bit_generator, np.random.PCG64),
        "Random": isinstance(random.Random(), random.Random),
        "default_rng(generator) is generator": np.random.default_rng(rng) is rng,
    }


def from_bit_generator():
    return np.random.default_rng(np.random.PCG64(5)).random(3).tolist()
'''

SOURCES = {"randn", "default_rng", "default_rng_again", "RandomState", "PCG64", "random",
           "Random", "from_import", "module_rng", "seeded_5"}
UNSEEDED = SOURCES - {"seeded_5"}


def _call(sandbox: Sandbox, target: str, then: list[str] = ()) -> Any:
    """What ``target()`` (then each method on its result) returned, as the worker sends it."""
    step = sandbox.request("call", {"target": target,
                                    "then": [{"method": m} for m in then]}, timeout=20)
    assert step.ok, step.message
    return step.result["results"][-1]


def run_script(folder: Path, seed: int | None) -> dict[str, Any]:
    """Load the script in a fresh sandbox with ``seed``; what it drew while loading and in a
    construction of ``Net``, and its isinstance checks."""
    with Sandbox(folder, SETTINGS) as sandbox:
        loaded = Loader(sandbox, "student.py", "script", seed).load(DEFINITIONS)
        assert loaded.errors == [], loaded.errors
        # AT_LOAD is only defined by executing the module: the load's second request.
        assert loaded.mode == "definitions+execute"
        return {"load": _call(sandbox, "at_load"),
                "construction": _call(sandbox, "Net", ["values"]),
                "kinds": _call(sandbox, "kinds"),
                "from_bit_generator": _call(sandbox, "from_bit_generator")}


def run_notebook(folder: Path, seed: int | None) -> dict[str, Any]:
    """Load the notebook in a fresh sandbox with ``seed``; what its cells drew."""
    with Sandbox(folder, SETTINGS) as sandbox:
        loaded = Loader(sandbox, "student.ipynb", "notebook", seed).load(EXECUTE)
        assert loaded.errors == [], loaded.errors
        return _call(sandbox, "at_load")


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("script")
    (folder / "student.py").write_text(SCRIPT, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(script: Path) -> dict[str, dict[str, Any]]:
    """Five sandboxes: seed 11 twice, seed 12, and no seed twice."""
    return {"11": run_script(script, 11), "11 again": run_script(script, 11),
            "12": run_script(script, 12),
            "none": run_script(script, None), "none again": run_script(script, None)}


@pytest.mark.parametrize("phase", ["load", "construction"])
def test_same_seed_same_draws_in_fresh_sandboxes(runs: dict, phase: str) -> None:
    first, second = runs["11"][phase], runs["11 again"][phase]
    assert set(first) == SOURCES
    for source in SOURCES:
        assert first[source] == second[source], source


@pytest.mark.parametrize("phase", ["load", "construction"])
def test_other_seed_other_draws(runs: dict, phase: str) -> None:
    for source in UNSEEDED:
        assert runs["11"][phase][source] != runs["12"][phase][source], source


def test_without_a_seed_nothing_is_seeded(runs: dict) -> None:
    """Loading without a seed leaves NumPy alone: two runs draw differently."""
    for source in ("default_rng", "RandomState", "PCG64", "from_import", "Random"):
        assert runs["none"]["load"][source] != runs["none again"]["load"][source], source


def test_unseeded_generators_differ_from_each_other(runs: dict) -> None:
    drawn = runs["11"]["load"]
    assert drawn["default_rng"] != drawn["default_rng_again"]
    assert len(set(drawn["Random"])) == 3  # three generators, three different first numbers
    firsts = {drawn[source][0] for source in ("from_import", "PCG64", "module_rng")}
    assert len(firsts) == 3


def test_explicit_seeds_are_numpys_own(runs: dict) -> None:
    expected = np.random.default_rng(5).random(3).tolist()
    assert runs["11"]["load"]["seeded_5"] == expected
    assert runs["11"]["construction"]["seeded_5"] == expected
    assert runs["11"]["from_bit_generator"] == expected


def test_isinstance_still_holds(runs: dict) -> None:
    kinds = runs["11"]["kinds"]
    assert len(kinds) == 7
    assert all(kinds.values()), kinds


def test_notebook_load_is_seeded(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(DRAWS),
                      nbformat.v4.new_code_cell("AT_LOAD = draw()\n\ndef at_load():\n"
                                                "    return AT_LOAD")]
    nbformat.write(notebook, str(tmp_path / "student.ipynb"))
    first, second = run_notebook(tmp_path, 11), run_notebook(tmp_path, 11)
    other = run_notebook(tmp_path, 12)
    assert set(first) == SOURCES
    for source in UNSEEDED:
        assert first[source] == second[source], source
        assert first[source] != other[source], source


SELF_SEEDED = """
import random
import numpy as np

np.random.seed(0)
random.seed(3)
DRAWN = {"randn": np.random.randn(3).tolist(), "rng": np.random.default_rng(5).random(2).tolist(),
         "random": random.random()}

def at_load():
    return DRAWN
"""


def run_restart(folder: Path, restart: int) -> dict[str, Any]:
    with Sandbox(folder, SETTINGS) as sandbox:
        loaded = Loader(sandbox, "student.ipynb", "notebook", 11, restart=restart).load(EXECUTE)
        assert loaded.errors == [], loaded.errors
        return _call(sandbox, "at_load")


def test_a_restart_changes_the_seeds_a_program_sets_and_repeats_itself(tmp_path: Path) -> None:
    """Run again from another start (a notebook stuck from an unlucky one): the seeds the
    program sets itself are changed too, the same way on every run of that restart, and the
    first run is the program's own."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SELF_SEEDED)]
    nbformat.write(notebook, str(tmp_path / "student.ipynb"))
    first, again = run_restart(tmp_path, 0), run_restart(tmp_path, 0)
    one, one_again, two = (run_restart(tmp_path, 1), run_restart(tmp_path, 1),
                           run_restart(tmp_path, 2))
    np.random.seed(0)
    own = np.random.randn(3).tolist()
    assert first == again and first["randn"] == own  # NumPy's own seed 0
    assert first["rng"] == np.random.default_rng(5).random(2).tolist()
    assert one == one_again
    for source in ("randn", "rng", "random"):
        assert len({json.dumps(run[source]) for run in (first, one, two)}) == 3, source


# --- install and reseed, imported as the worker imports them --------------------------------

UNIT = r'''
import json, pickle, random, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
ORIGINAL = {**{name: getattr(np.random, name) for name in
               ("default_rng", "seed", "PCG64", "RandomState", "SeedSequence")},
            "Random": random.Random, "random.seed": random.seed}
import seeding

def draws():
    """One number from every unseeded constructor and global state (the global states first:
    what install and reseed left them at)."""
    out = {"randn": float(np.random.randn()), "random": random.random()}
    rs = np.random.RandomState(); rs.seed()
    np.random.seed()
    legacy = np.random.rand()
    random.seed(a=None)
    return {
        **out, "default_rng": np.random.default_rng().random(),
        "RandomState": np.random.RandomState().rand(), "RandomState.seed()": rs.rand(),
        "np.random.seed()": legacy, "random.seed()": random.random(),
        "Random": random.Random().random(),
        "SeedSequence": [int(w) for w in np.random.SeedSequence().generate_state(2)],
        **{name: int(getattr(np.random, name)().random_raw())
           for name in seeding.BIT_GENERATORS},
    }

def seeded():
    """The same constructors given a seed: NumPy's and Python's own numbers."""
    return {
        "default_rng": np.random.default_rng(5).random(),
        "RandomState": np.random.RandomState(5).rand(),
        "Random": random.Random(5).random(),
        "SeedSequence": [int(w) for w in np.random.SeedSequence(5).generate_state(2)],
        "Philox key": int(np.random.Philox(key=3).random_raw()),
        **{name: int(getattr(np.random, name)(5).random_raw())
           for name in seeding.BIT_GENERATORS},
    }

def round_trips():
    """Patched objects still pickle, and come back drawing the same numbers."""
    objects = [np.random.default_rng(), np.random.PCG64(), np.random.RandomState(),
               random.Random(), np.random.default_rng(5), np.random.SeedSequence()]
    def first(obj):
        if isinstance(obj, np.random.SeedSequence):
            return int(obj.generate_state(1)[0])
        return float(obj.random_raw() if hasattr(obj, "random_raw") else obj.random())
    return [first(pickle.loads(pickle.dumps(o))) == first(o) for o in objects]

seed = int(sys.argv[3])
out = {}
if sys.argv[2] == "reseed-only":
    seeding.reseed(seed)
    out["draws"] = draws()
else:
    seeding.install(seed)
    seeding.install(seed)
    seeding.reseed(seed)
    out["draws"] = draws()
    out["seeded"] = seeded()
    out["round_trips"] = round_trips()
    seeding.reseed(seed)
    out["after reseed"] = draws()
    seeding.reseed(seed + 1)
    out["other seed"] = draws()
    out["wrapped once"] = [
        np.random.default_rng.__wrapped__ is ORIGINAL["default_rng"],
        np.random.seed.__wrapped__ is ORIGINAL["seed"],
        np.random.PCG64.__mro__[1] is ORIGINAL["PCG64"],
        np.random.RandomState.__mro__[1] is ORIGINAL["RandomState"],
        np.random.SeedSequence.__mro__[1] is ORIGINAL["SeedSequence"],
        random.Random.__mro__[1] is ORIGINAL["Random"],
        random.seed.__wrapped__ == ORIGINAL["random.seed"]]
    out["mtrand"] = [np.random.mtrand.RandomState is np.random.RandomState,
                     np.random.mtrand.seed is np.random.seed]
print(json.dumps(out))
'''


def run_unit(tmp_path: Path, mode: str, seed: int) -> dict[str, Any]:
    """Run the unit script in a fresh interpreter; what it printed."""
    runner = tmp_path / "unit.py"
    runner.write_text(UNIT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run([sys.executable, str(runner), str(CHILD), mode, str(seed)],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def unit(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The unit script run twice with seed 21."""
    where = tmp_path_factory.mktemp("unit")
    return [run_unit(where, "install", 21), run_unit(where, "install", 21)]


def test_install_makes_every_unseeded_constructor_repeatable(unit: list[dict]) -> None:
    first, second = unit
    assert len(first["draws"]) == 14
    assert first["draws"] == second["draws"]
    for name, value in first["draws"].items():
        assert value != first["other seed"][name], name


def test_reseed_draws_the_same_whatever_ran_before(unit: list[dict]) -> None:
    assert unit[0]["after reseed"] == unit[0]["draws"]


def test_reseed_alone_installs(tmp_path: Path) -> None:
    """A construction is seeded even when the load carried no seed."""
    first, second = run_unit(tmp_path, "reseed-only", 21), run_unit(tmp_path, "reseed-only", 21)
    assert first["draws"] == second["draws"]


def test_seeded_constructors_are_numpys_own(unit: list[dict]) -> None:
    expected = {
        "default_rng": np.random.default_rng(5).random(),
        "RandomState": np.random.RandomState(5).rand(),
        "Random": random.Random(5).random(),
        "SeedSequence": [int(w) for w in np.random.SeedSequence(5).generate_state(2)],
        "Philox key": int(np.random.Philox(key=3).random_raw()),
        **{name: int(getattr(np.random, name)(5).random_raw())
           for name in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")},
    }
    assert unit[0]["seeded"] == expected


def test_install_twice_wraps_once(unit: list[dict]) -> None:
    assert unit[0]["wrapped once"] == [True] * 7
    assert unit[0]["mtrand"] == [True, True]


def test_patched_objects_still_pickle(unit: list[dict]) -> None:
    assert unit[0]["round_trips"] == [True] * 6


def legacy_randn(seed: int) -> float:
    """NumPy's first legacy normal after ``np.random.seed(seed)``, computed without touching
    this process's global state."""
    return float(np.random.RandomState(seed).randn())


@pytest.mark.parametrize("seed", [-1, 2**31 + 21, 2**32 + 21, 2**70])
def test_any_integer_seed(tmp_path: Path, seed: int) -> None:
    """Seeds outside NumPy's legacy range still seed, and the legacy state wraps modulo 2**32."""
    drawn = run_unit(tmp_path, "install", seed)["draws"]
    assert (drawn["randn"] == legacy_randn(21)) == (seed == 2**32 + 21)
