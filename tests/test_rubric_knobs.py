"""The rubric's forward and gradient settings reach the checks: ``[checks.forward] samples``,
``[checks.gradient] batch_size`` and ``[checks.gradient] epsilon``.

Each knob is turned in a copy of the shipped rubric, the copy is loaded and validated like any
rubric, and sample submissions are graded with it in real sandboxes; what changes is read off
the verdicts and their details.  The public seed 0 is used, as in ``test_grading_samples``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.batch import rubric_settings
from grader.discover import Submission, discover
from grader.grading import grade_submission
from grader.rubric import Rubric, load_rubric

from test_rubric import LAB1_TEXT, edited, write
from tests_support import ROOT, SAMPLES

SEED = 0
FORWARD = {"interface", "forward"}
GRADIENT = {"interface", "gradient"}


def rubric_with(tmp_path: Path, old: str, new: str) -> Rubric:
    """The shipped rubric with one line changed, written to a file and loaded (and validated)
    from it; the file is read at once, so the next call may overwrite it."""
    return load_rubric(write(tmp_path, edited(old, new, LAB1_TEXT)))


def sample(name: str, tmp_path: Path) -> Submission:
    [sub] = discover(SAMPLES / name, workdir=tmp_path / f"work-{name}")
    return sub


def grade(sub: Submission, rubric: Rubric, only: set[str], seed: int = SEED) -> dict:
    return grade_submission(sub, settings=rubric_settings(rubric), seed=seed, only=only).verdicts


# --- [checks.forward] samples --------------------------------------------------------------------

def test_forward_compares_on_as_many_random_inputs_as_the_rubric_says(tmp_path):
    chen = sample("DLP_LAB1_0856001_Chen.py", tmp_path)
    shipped = grade(chen, load_rubric("lab1"), FORWARD)["forward"]
    three = grade(chen, rubric_with(tmp_path, "samples = 8\n", "samples = 3\n"), FORWARD)["forward"]
    for verdict, n in ((shipped, 8), (three, 3)):
        assert verdict.status == "pass" and verdict.fraction == 1.0, verdict.message
        comparison = verdict.details["comparison"]
        assert comparison["compared_on"] == n and len(comparison["inputs"]) == n
        assert f"{n} random inputs" in verdict.message
        assert comparison["max_difference"] <= comparison["tolerance"] == 1e-6
        assert all(-0.25 <= v <= 1.25 for x in comparison["inputs"] for v in x)
    # one seeded stream: the 3 inputs are the first 3 of the 8
    assert three.details["comparison"]["inputs"] == shipped.details["comparison"]["inputs"][:3]


def test_a_predict_that_is_not_the_forward_pass_of_its_weights_shows_the_worst_input(tmp_path):
    # The template, but predict clips its input to the unit square: the interface's layout
    # test (inputs inside the square) cannot see it; random inputs a little beyond it do.
    source = (SAMPLES / "DLP_LAB1_0856001_Chen.py").read_text()
    old = "        Z = X\n        self.layers[0] = np.array(Z)\n"
    path = tmp_path / "DLP_LAB1_0900201_Clip.py"
    path.write_text(edited(old, old.replace("Z = X", "Z = np.clip(X, 0.0, 1.0)"), source))
    [sub] = discover(path, workdir=tmp_path / "work")
    verdicts = grade(sub, load_rubric("lab1"), FORWARD)
    assert verdicts["interface"].status == "pass" and verdicts["interface"].details["layout"]
    forward = verdicts["forward"]
    assert forward.status == "fail" and forward.fraction == 0.0, forward.message
    comparison = forward.details["comparison"]
    assert comparison["max_difference"] > comparison["tolerance"]
    worst = comparison["worst_input"]
    assert min(worst) < 0.0 or max(worst) > 1.0, worst
    match = re.search(r"expected (\S+) from the reference forward pass, predict gave (\S+) at "
                      r"x = \[([^\]]+)\]", forward.message)
    assert match, forward.message
    expected, got = float(match.group(1)), float(match.group(2))
    assert abs(expected - got) > 1e-3
    assert [float(v) for v in match.group(3).split(", ")] == pytest.approx(worst, abs=5e-3)


# --- [checks.gradient] batch_size ----------------------------------------------------------------

def test_the_gradient_batch_has_the_rubrics_size_and_still_names_the_batch_bugs(tmp_path):
    six = rubric_with(tmp_path, "batch_size = 4\n", "batch_size = 6\n")
    shipped = load_rubric("lab1")
    wu, lu, ko = (sample(name, tmp_path) for name in (
        "DLP_LAB1_0856003_Wu.py",     # correct, with biases
        "DLP_LAB1_0856118_Lu.py",     # bias gradient averaged over the batch
        "DLP_LAB1_0856129_Ko.py"))    # 1/N missing in the first layer
    for rubric, n in ((shipped, 4), (six, 6)):
        correct = grade(wu, rubric, GRADIENT)["gradient"]
        assert correct.status == "pass", correct.message
        assert correct.details["batch_data"]["shape"] == [n, 2]
        assert len(set(correct.details["batch_data"]["xor_points"])) == n
        averaged = grade(lu, rubric, GRADIENT)["gradient"]
        assert averaged.status == "fail" and averaged.fraction == 0.75, averaged.message
        assert averaged.details["batch"]["bug"] == "bias_averaged"
        assert f"batch of {n}:" in averaged.message
        assert f"{n} times (the batch size)" in averaged.message
        missing = grade(ko, rubric, GRADIENT)["gradient"]
        assert missing.status == "fail" and missing.fraction == 0.75, missing.message
        assert missing.details["batch"]["bug"] == "missing_batch_mean"
        assert f"{n} is the batch size" in missing.message


def test_a_batch_larger_than_the_xor_data_is_completed_with_uniform_points(tmp_path):
    rubric = rubric_with(tmp_path, "batch_size = 4\n", "batch_size = 25\n")
    verdict = grade(sample("DLP_LAB1_0856003_Wu.py", tmp_path), rubric, GRADIENT)["gradient"]
    assert verdict.status == "pass", verdict.message
    batch = verdict.details["batch_data"]
    assert batch["shape"] == [25, 2]
    assert batch["xor_points"] == list(range(21)) and batch["uniform_points"] == 4
    assert "batch_size 25" in batch["note"] and "21 XOR points" in batch["note"]


def test_the_xor_rule_that_labels_extra_batch_points_agrees_with_the_lab_data():
    from grader.checks.gradient import xor_labels
    from reference.lab1 import generate_XOR_easy

    X, Y = generate_XOR_easy()
    assert xor_labels(X).tolist() == Y.astype(float).tolist()


# --- [checks.gradient] epsilon -------------------------------------------------------------------

def test_epsilon_is_the_step_of_the_finite_difference_fallback(tmp_path):
    # Weights in one flat vector map onto no layout: the check falls back to central
    # differences through predict, with the rubric's step.
    path = tmp_path / "DLP_LAB1_0900200_Odd.py"
    path.write_text((ROOT / "tests" / "flat_vector_network.py").read_text())
    [sub] = discover(path, workdir=tmp_path / "work")
    errors = {}
    for line in ("epsilon = 1e-6\n", None, "epsilon = 0.5\n"):
        rubric = load_rubric("lab1") if line is None else \
            rubric_with(tmp_path, "epsilon = 1e-5\n", line)
        verdict = grade(sub, rubric, GRADIENT)["gradient"]
        epsilon = rubric.checks["gradient"].epsilon
        assert verdict.details["method"] == "central differences through predict"
        assert verdict.details["epsilon"] == epsilon
        errors[epsilon] = max(a["rel_error"] for a in verdict.details["arrays"])
        if epsilon < 0.1:
            assert verdict.status == "pass", verdict.message
        else:  # the step is so large that the differences measure curvature, not the slope
            assert verdict.status == "fail" and "step 0.5" in verdict.message, verdict.message
    assert set(errors) == {1e-6, 1e-5, 0.5}
    assert errors[1e-5] < 1e-9 and errors[1e-6] < 1e-8
    assert errors[0.5] > 1e-5 and errors[0.5] > 1000 * errors[1e-6]


# --- determinism ---------------------------------------------------------------------------------

def test_the_same_seed_draws_the_same_inputs_and_batch(tmp_path):
    wu = sample("DLP_LAB1_0856003_Wu.py", tmp_path)
    rubric = load_rubric("lab1")
    only = {"interface", "forward", "gradient"}
    first, again, other = (grade(wu, rubric, only, seed) for seed in (SEED, SEED, 2))
    for check in ("forward", "gradient"):
        assert first[check].details == again[check].details
        assert first[check].message == again[check].message
    assert first["forward"].details["comparison"]["inputs"] != \
        other["forward"].details["comparison"]["inputs"]
    assert first["gradient"].details["batch_data"]["xor_points"] != \
        other["gradient"].details["batch_data"]["xor_points"]
