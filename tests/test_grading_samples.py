"""Every sample submission graded, and every verdict the one a careful TA would give.

The ground truth is ``submissions/lab1/README.md``: correct submissions in many styles must pass,
and each buggy one must fail the right check with a message that names its bug.  Real
sandboxes, real probes, the shipped rubric.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from grader.discover import discover
from grader.grading import grade_submission
from grader.rubric import load_rubric
from grader.batch import rubric_settings

from tests_support import ROOT, SAMPLES

FAST = {"interface", "forward", "gradient", "numpy_only"}

# key: (interface fraction, gradient status, words the gradient message must contain)
EXPECTED = {
    "0856001": (1.0, "pass", "true gradient"),       # the template, correct
    "0856003": (1.0, "pass", "true gradient"),       # with bias vectors
    "0856011": (0.5, "pass", "true gradient"),       # Net, W1..W3 + b1..b3, forward/backward/step
    "0856017": (1.0, "pass", "scale 0.5"),           # notebook, MSE without the 2
    "0856023": (0.5, "pass", "true gradient"),       # Model of Dense layer objects
    "0856037": (0.5, "pass", "scale 0.5"),           # update() with the rate fixed at construction
    "0856042": (1.0, "fail", "wrong sign"),
    "0856049": (1.0, "pass", "true gradient"),       # weights stored transposed, inputs as columns
    "0856058": (0.5, "pass", "true gradient"),       # backward updates in place, no update()
    "0856064": (0.5, "pass", "true gradient"),       # forwardPass -> (A, cache); backwardPass(Y, cache)
    "0856071": (1.0, "fail", "pre-activation instead of the output"),
    "0856082": (1.0, "fail", "derivative of the sigmoid is missing"),
    "0856093": (1.0, "fail", "the sigmoid itself"),
    "0856107": (1.0, "fail", "uses W instead of W.T"),
    "0856118": (1.0, "fail", "averaged over the batch instead of summed"),
    "0856129": (1.0, "fail", "batch size"),
    "0856131": (1.0, "fail", "changes from sample to sample"),
    "0856142": (1.0, "fail", "keeps state between steps"),
    "0856153": (1.0, "pass", "true gradient"),       # correct, but imports torch
    "0856175": (1.0, "pass", "true gradient"),       # correct, but the template's last line
    "0856186": (1.0, "pass", "true gradient"),       # correct, but prints no accuracy, no figures
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    rubric = load_rubric("lab1")
    settings = rubric_settings(rubric)
    work = tmp_path_factory.mktemp("work")
    subs = [sub for sub in discover(SAMPLES, workdir=work)
            if sub.key in {*EXPECTED, "0856105", "0856164"}]
    # two at a time, as `labgrade grade` does on this machine's two cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        gradings = pool.map(lambda sub: grade_submission(sub, settings=settings, seed=0, only=FAST),
                            subs)
        return {sub.key: grading for sub, grading in zip(subs, gradings)}


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_interface_forward_and_gradient_verdicts(graded, key):
    fraction, status, words = EXPECTED[key]
    verdicts = graded[key].verdicts
    assert verdicts["interface"].status == "pass", verdicts["interface"].message
    assert verdicts["interface"].fraction == fraction, verdicts["interface"].message
    assert verdicts["forward"].status == "pass", verdicts["forward"].message
    gradient = verdicts["gradient"]
    assert gradient.status == status, gradient.message
    assert words in gradient.message, gradient.message


@pytest.mark.slow
def test_numpy_only_names_the_forbidden_import(graded):
    for key, grading in graded.items():
        verdict = grading.verdicts.get("numpy_only")
        if key == "0856153":
            assert verdict.status == "fail" and "torch" in verdict.message
        elif grading.graded:
            assert verdict.status == "pass", (key, verdict.message)


@pytest.mark.slow
def test_hard_coded_answers_and_syntax_errors_earn_nothing(graded):
    pan = graded["0856164"].verdicts  # predict answers by a rule; nothing is learned
    assert pan["interface"].status == "pass" and "reads none of the" in pan["interface"].message
    assert pan["gradient"].status == "fail"
    assert pan["forward"].status == "fail"
    assert "predict does not compute the network's output from its weights" \
        in pan["forward"].message
    huang = graded["0856105"]
    assert not huang.graded and "line 80" in huang.error
    assert all(v.status == "skip" for v in huang.verdicts.values())


def test_a_scalar_trap_elsewhere_is_quoted_not_blamed_on_the_template(tmp_path):
    script = tmp_path / "DLP_LAB1_0900302_Min.py"
    script.write_text("import math\nimport numpy as np\npredict = np.full((1, 1), 0.5)\n"
                      "print('loss', -math.log(predict))\n")
    [sub] = discover(script, workdir=tmp_path / "work")
    settings = rubric_settings(load_rubric("lab1"))
    verdict = grade_submission(sub, settings=settings, seed=0, only={"program"}).verdicts["program"]
    assert verdict.status == "error", verdict.message
    assert "line 4" in verdict.message and "`print('loss', -math.log(predict))` takes a (1, 1)" \
        in verdict.message, verdict.message
    assert "template" not in verdict.message


@pytest.mark.slow
def test_program_check_explains_the_numpy_scalar_trap_and_missing_output(tmp_path):
    rubric = load_rubric("lab1")
    settings = rubric_settings(rubric)
    subs = {s.key: s for s in discover(SAMPLES, workdir=tmp_path)}
    lai = grade_submission(subs["0856175"], settings=settings, seed=0, only={"program"})
    verdict = lai.verdicts["program"]
    assert verdict.status == "error" and ".item()" in verdict.message
    assert "NumPy 2.4" in verdict.message and "template's line" in verdict.message
    assert "line 139" in verdict.message, verdict.message
    kao = grade_submission(subs["0856186"], settings=settings, seed=0, only={"program"})
    verdict = kao.verdicts["program"]
    assert verdict.status == "fail" and 0 < verdict.fraction < 1
    assert "does not print the accuracy" in verdict.message and "figure" in verdict.message


@pytest.mark.slow
def test_a_correct_template_submission_never_fails_train_xor_over_4_seeds(tmp_path):
    rubric = load_rubric("lab1")
    settings = rubric_settings(rubric)
    [sub] = discover(SAMPLES / "DLP_LAB1_0856001_Chen.py", workdir=tmp_path)

    def train_xor(seed: int):
        return grade_submission(sub, settings=settings, seed=1000 + seed,
                                only={"interface", "gradient", "train_xor"}).verdicts["train_xor"]

    # two at a time, as `labgrade grade` does on this machine's two cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        verdicts = list(pool.map(train_xor, range(4)))
    failures = [(seed, v.message) for seed, v in enumerate(verdicts) if v.status != "pass"]
    assert failures == []
    assert all(len(v.details["attempts"]) == 1 for v in verdicts), "one start is enough"


@pytest.mark.slow
def test_answers_that_are_not_learned_do_not_pass_training(tmp_path):
    rubric = load_rubric("lab1")
    [sub] = discover(SAMPLES / "DLP_LAB1_0856164_Pan.py", workdir=tmp_path)
    grading = grade_submission(sub, settings=rubric_settings(rubric), seed=0,
                               only={"interface", "train_linear", "train_xor"})
    for task in ("train_linear", "train_xor"):
        verdict = grading.verdicts[task]
        assert verdict.status == "fail" and "no weight changed" in verdict.message


@pytest.mark.slow
@pytest.mark.parametrize("bug", [False, True], ids=["correct", "sign-error"])
def test_parameters_in_no_known_layout_are_checked_by_finite_differences(tmp_path, bug):
    source = (ROOT / "tests" / "flat_vector_network.py").read_text()
    if bug:
        source = source.replace("self.theta -= lr * self.g", "self.theta += lr * self.g")
    path = tmp_path / "DLP_LAB1_0900200_Odd.py"
    path.write_text(source)
    [sub] = discover(path, workdir=tmp_path / "work")
    grading = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                               only={"interface", "gradient"})
    verdict = grading.verdicts["gradient"]
    assert verdict.details["method"] == "central differences through predict"
    if bug:
        assert verdict.status == "fail" and "wrong sign" in verdict.message
    else:
        assert verdict.status == "pass" and verdict.details["scale"] == pytest.approx(1.0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 3, 6])
def test_correct_samples_pass_the_gradient_under_hidden_seeds(tmp_path, seed):
    """The TA grades with a hidden seed: the test weights it draws must never make a correct
    plain SGD look wrong (output weights that nearly cancel once did, at most seeds)."""
    settings = rubric_settings(load_rubric("lab1"))
    for name in ("DLP_LAB1_0856003_Wu.py", "DLP_LAB1_0856011_Tsai.py"):
        [sub] = discover(SAMPLES / name, workdir=tmp_path / name)
        verdict = grade_submission(sub, settings=settings, seed=seed,
                                   only={"interface", "gradient"}).verdicts["gradient"]
        assert verdict.status == "pass", f"{name}, seed {seed}: {verdict.message}"


@pytest.mark.slow
def test_a_network_whose_update_does_nothing_still_has_its_forward_pass_checked(tmp_path):
    """update() forgotten: nothing moves, yet predict is the forward pass of the weights the
    network holds.  The forward check confirms it; the gradient check names what is wrong."""
    source = (SAMPLES / "DLP_LAB1_0856001_Chen.py").read_text()
    broken = source.replace("            self.weights[i] -= lr * dw\n", "            pass\n")
    assert broken != source
    path = tmp_path / "DLP_LAB1_0900202_Idle.py"
    path.write_text(broken)
    [sub] = discover(path, workdir=tmp_path / "work")
    verdicts = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                                only={"interface", "forward", "gradient"}).verdicts
    assert "weights[0] = layer 1 weights" in verdicts["interface"].message
    assert verdicts["forward"].status == "pass" and verdicts["forward"].fraction == 1.0, \
        verdicts["forward"].message
    assert verdicts["gradient"].status == "fail"
    assert "layers 1, 2 and 3 (weights[0], weights[1] and weights[2]) never change" \
        in verdicts["gradient"].message, verdicts["gradient"].message


def test_the_students_own_packages_at_any_depth_are_no_foreign_imports(tmp_path):
    """``src/main.py`` imports ``models.net`` and ``data.loader``: folders of the submission
    without ``__init__.py``; only ``scipy`` is foreign."""
    root = tmp_path / "DLP_LAB1_0900303_Lee"
    (root / "src" / "models").mkdir(parents=True)
    (root / "src" / "data").mkdir()
    (root / "src" / "models" / "net.py").write_text("import numpy as np\nclass Net:\n    pass\n")
    (root / "src" / "data" / "loader.py").write_text("import scipy\n")
    (root / "src" / "main.py").write_text("from models.net import Net\nfrom data.loader import *\n"
                                          "import others.report\n")
    [sub] = discover(root, workdir=tmp_path / "work")
    verdict = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                               only={"numpy_only"}).verdicts["numpy_only"]
    assert verdict.status == "fail", verdict.message
    assert [f["module"] for f in verdict.details["imports"]] == ["scipy", "others"]


@pytest.mark.slow
def test_a_prediction_with_too_many_values_is_said_so_by_the_finite_differences(tmp_path):
    """An offset with one row per training sample (5 here), added to every prediction: one
    input gets five outputs, which the gradient check says in those words."""
    source = (ROOT / "tests" / "flat_vector_network.py").read_text()
    source = source.replace("        self.theta = np.random.uniform(-1, 1, 2 * 3 + 3 * 3 + 3)\n",
                            "        self.theta = np.random.uniform(-1, 1, 2 * 3 + 3 * 3 + 3)\n"
                            "        self.offset = np.zeros((5, 1))\n")
    source = source.replace("        return self.a[-1]\n", "        return self.a[-1] + self.offset\n")
    assert "self.offset" in source
    path = tmp_path / "DLP_LAB1_0900203_Rows.py"
    path.write_text(source)
    [sub] = discover(path, workdir=tmp_path / "work")
    verdict = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                               only={"interface", "gradient"}).verdicts["gradient"]
    assert verdict.status == "error", verdict.message
    assert "predict returned 5 values for 1 sample" in verdict.message, verdict.message
