"""What the grader does before it grades, which a student waits for in ``labgrade check``: its
own imports (NumPy only on first use, :mod:`reference.deferred`), the rubric's reading, and the
private root's layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.checks.base import REGISTRY, register
from grader.rubric import CheckConfig, load_rubric
from grader.sandbox import isolation
from reference.deferred import DeferredModule

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_checking_a_trivial_file_never_imports_numpy_in_the_grader(tmp_path):
    # the sandbox's child has NumPy; the grader's process needs it only when a check compares
    # arrays, and a file with no network never gets there
    (tmp_path / "sub.py").write_text("x = 1\n")
    done = run_python(f"""
        import sys
        from grader import cli
        code = cli.main(["check", {str(tmp_path / "sub.py")!r}, "--json"])
        print("NUMPY", "numpy" in sys.modules, code)
    """)
    last = done.stdout.strip().splitlines()[-1]
    assert last == "NUMPY False 1", done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout[:done.stdout.rindex("NUMPY")])
    assert next(c for c in result["checks"] if c["id"] == "interface")["status"] == "fail"


def test_importing_every_check_and_the_reference_leaves_numpy_for_later():
    done = run_python("""
        import sys
        import grader.batch, grader.cli, grader.selfcheck, reference.demo
        from grader.grading import load_checks
        from grader.rubric import CheckConfig, load_rubric
        load_checks(); load_rubric("lab1")
        print("numpy" in sys.modules)
    """)
    assert done.stdout.strip() == "False", done.stderr[-3000:]


def test_a_graded_network_still_gets_numpy_when_a_check_needs_it(tmp_path):
    # the same process, once a check computes: the reference's arrays are real arrays
    done = run_python("""
        import sys
        from reference.lab1 import LAB_DIM, NN, generate_XOR_easy
        print("numpy" in sys.modules)
        X, y = generate_XOR_easy()
        net = NN(LAB_DIM, rng=0)
        print(type(net.predict(X)).__module__, "numpy" in sys.modules)
    """)
    assert done.stdout.split() == ["False", "numpy", "True"], done.stderr[-3000:]


def test_a_deferred_module_imports_on_first_use_and_then_holds_the_name():
    done = run_python("""
        import sys
        from reference.deferred import DeferredModule
        colorsys = DeferredModule("colorsys")
        print("colorsys" in sys.modules, repr(colorsys))
        print(colorsys.rgb_to_hsv(1.0, 0.0, 0.0), "colorsys" in sys.modules)
        held = colorsys.rgb_to_hsv is sys.modules["colorsys"].rgb_to_hsv
        print("rgb_to_hsv" in vars(colorsys), held)
    """)
    assert done.stdout.splitlines() == [
        "False <deferred module 'colorsys'>", "(0.0, 1.0, 1.0) True", "True True"], done.stderr


def test_a_missing_name_of_a_deferred_module_is_an_attribute_error():
    with pytest.raises(AttributeError):
        DeferredModule("colorsys").no_such_function  # noqa: B018


def test_a_check_registered_after_a_rubric_was_read_is_known_to_the_next_one(tmp_path):
    # the rubric keeps the checks' settings between readings; a new check must not be missed
    load_rubric("lab1")
    rubric_text = (ROOT / "rubrics" / "lab1.toml").read_text()
    rubric_text += "\n[checks.late_arrival]\npoints = 0\npublic = true\n"
    (tmp_path / "late.toml").write_text(rubric_text)
    try:
        @register("late_arrival", config=CheckConfig)
        def late_arrival(ctx, config):  # pragma: no cover - only its registration matters
            """A check that arrives after the rubric's first reading."""
            raise AssertionError

        rubric = load_rubric(str(tmp_path / "late.toml"))
    finally:
        REGISTRY.pop("late_arrival", None)
    assert rubric.checks["late_arrival"].public is True


def test_every_copy_of_the_grader_on_the_import_path_is_hidden_from_the_child(tmp_path,
                                                                            monkeypatch):
    # a copy installed beside the checkout (site-packages, or a folder a .pth file adds),
    # whether or not it is the one imported
    other = tmp_path / "site-packages"
    for name in isolation.OWN_PACKAGES:
        (other / name).mkdir(parents=True)
        (other / name / "__init__.py").write_text("")
    (other / "unrelated").mkdir()
    (other / "unrelated" / "__init__.py").write_text("")
    monkeypatch.setattr(sys, "path", [*sys.path, str(other)])
    found = isolation.grader_package_dirs()
    assert str(other / "grader") in found and str(other / "reference") in found
    assert str(other / "unrelated") not in found
    assert os.path.dirname(isolation.__file__).rsplit("/sandbox", 1)[0] in found
