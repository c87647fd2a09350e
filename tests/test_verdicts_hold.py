"""Verdicts that hold: the same grade every time, no points for what was not done, and a broken
method costs only the checks that use it.

Rows 24-46 of ``submissions/lab1/README.md`` are graded here, in real sandboxes with the shipped
rubric, and every verdict is compared with the README's; their methods may exit, kill the
process or never end, so they never run in the test process.  The determinism test drives the
``labgrade grade`` command itself, with one and two jobs and after a resumed batch.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grader.batch import rubric_settings
from grader.checks.base import FAIL, PASS, REGISTRY, Verdict, register
from grader.checks.context import FACT_NAMES, GradingContext
from grader.discover import discover
from grader.grading import grade_submission, load_checks, needed_checks
from grader.rubric import RubricError, load_rubric
from grader.settings import SandboxSettings
from test_batch_parallel import differences, without_timings
from test_grade_command import labgrade
from test_rubric import LAB1_TEXT, edited, write
from tests_support import SAMPLES, SANDBOX_ONLY_SAMPLES

CHECKS = ("interface", "forward", "gradient", "train_linear", "train_xor", "numpy_only", "program")
HANGS = "DLP_LAB1_0856209_Shen.py"
"""Its update never ends: graded with a 10 s step limit and program budget (the verdicts are
the same, the test is faster)."""


def readme_verdicts(name: str) -> dict[str, str]:
    """The seven verdicts of a sample's row in submissions/lab1/README.md."""
    for line in (SAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        if re.match(r"\|\s*\d+\s*\|\s*`" + re.escape(name) + "`", line):
            pairs = re.findall(r"`(" + "|".join(CHECKS) + r")`:?\s*\**(pass|fail|error|skip)"
                               r"\**", line)
            assert len(pairs) == len(CHECKS), f"README row of {name}: each check once, {pairs}"
            return dict(pairs)
    raise AssertionError(f"{name} has no row in submissions/lab1/README.md")


def grade_sample(name: str, workdir: Path) -> dict[str, Verdict]:
    rubric = load_rubric("lab1")
    settings = rubric_settings(rubric)
    sandbox = None
    if name == HANGS:
        settings["program"] = dataclasses.replace(settings["program"], time_budget_s=10.0)
        sandbox = SandboxSettings(step_timeout=10.0)
    [sub] = discover(SAMPLES / name, workdir=workdir / name)
    return grade_submission(sub, settings=settings, seed=rubric.seeds.public,
                            sandbox_settings=sandbox).verdicts


def small_network(tmp_path: Path, name: str, predict: str, backprop: str = "pass",
                  backprop_args: str = "y") -> Any:
    """A student file with ``NN(dim)`` holding three weight matrices in ``self.w``, whose
    predict, backprop and update have the bodies given (update applies ``self.g`` if set)."""
    def body(text: str) -> str:
        return "".join(f"        {line}\n" for line in text.splitlines())

    path = tmp_path / f"DLP_LAB1_{name}.py"
    path.write_text(
        "import numpy as np\n"
        "class NN:\n"
        "    def __init__(self, dim):\n"
        "        self.w = [np.random.uniform(-1, 1, (a, b)) for a, b in zip(dim, dim[1:])]\n"
        "        self.g = []\n"
        "    def predict(self, X):\n" + body(predict) +
        f"    def backprop(self, {backprop_args}):\n" + body(backprop) +
        "    def update(self, lr):\n"
        "        for W, g in zip(self.w, self.g):\n"
        "            W -= lr * g\n")
    [sub] = discover(path, workdir=tmp_path / "work")
    return sub


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, dict[str, Verdict]]:
    work = tmp_path_factory.mktemp("verdicts")
    names = sorted(SANDBOX_ONLY_SAMPLES)
    with ThreadPoolExecutor(max_workers=2) as pool:  # as `labgrade grade` does on two cores
        return dict(zip(names, pool.map(lambda n: grade_sample(n, work), names)))


@pytest.mark.slow
@pytest.mark.timeout(900)  # the first one waits for the module's graded batch (~3 min here)
@pytest.mark.parametrize("name", sorted(SANDBOX_ONLY_SAMPLES))
def test_every_verdict_is_the_readmes(graded, name):
    verdicts = graded[name]
    observed = {check: verdicts[check].status for check in CHECKS}
    assert observed == readme_verdicts(name), {c: verdicts[c].message for c in CHECKS}


# --- no points for what was not done ------------------------------------------------------------

@pytest.mark.slow
def test_a_frozen_layer_is_named_and_costs_the_gradient(graded):
    ho = graded["DLP_LAB1_0856199_Ho.py"]
    assert "weights[0] = layer 1 weights" in ho["interface"].message
    gradient = ho["gradient"]
    assert gradient.status == FAIL and gradient.fraction == 0.0
    assert "layers 1 and 2 (weights[0] and weights[1]) never change: their gradient is left " \
        "at zero" in gradient.message, gradient.message
    assert "layer 3 is right" in gradient.message


@pytest.mark.slow
def test_a_predict_without_weights_fails_forward_saying_so(graded):
    tang = graded["DLP_LAB1_0856201_Tang.py"]
    assert tang["interface"].status == PASS
    assert tang["forward"].status == FAIL and tang["forward"].fraction == 0.0
    assert "holds no weight arrays" in tang["forward"].message
    assert "no weights" in tang["gradient"].message
    for task in ("train_linear", "train_xor"):
        assert "no weight changed" in tang[task].message


def test_a_predict_that_ignores_the_arrays_it_holds_fails_forward_expected_against_observed(
        tmp_path):
    sub = small_network(tmp_path, "0900301_Rule",
                        "return np.where(X[:, :1] <= X[:, 1:], 0.9, 0.1)")
    verdicts = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                                only={"interface", "forward", "gradient"}).verdicts
    assert "reads none of the 3 arrays" in verdicts["interface"].message
    forward = verdicts["forward"]
    assert forward.status == FAIL
    assert "does not depend on any of the 3 arrays your network holds" in forward.message
    assert "expected a different output once every array was set to other values, observed " \
        "the same" in forward.message, forward.message
    assert verdicts["gradient"].status == FAIL


# --- one broken method costs only the checks that need it ---------------------------------------

BROKEN = {
    "DLP_LAB1_0856203_Yu.py": ("ValueError", "line 77"),
    "DLP_LAB1_0856205_Wang.py": ("called sys.exit()", "line 76"),
    "DLP_LAB1_0856207_Zhou.py": ("ended the Python process", ""),
    HANGS: ("did not finish within 10 s", ""),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_step_costs_the_gradient_and_training_only(graded, name):
    verdicts = graded[name]
    words, line = BROKEN[name]
    assert verdicts["interface"].status == PASS and verdicts["interface"].fraction == 1.0
    assert verdicts["forward"].status == PASS and verdicts["forward"].fraction == 1.0
    assert verdicts["numpy_only"].status == PASS
    for check in ("gradient", "train_linear", "train_xor"):
        verdict = verdicts[check]
        assert verdict.status == "error" and verdict.fraction == 0.0, (check, verdict.message)
        assert words in verdict.message and line in verdict.message, (check, verdict.message)


# --- the same grade every time ------------------------------------------------------------------

@pytest.mark.slow
def test_an_unseeded_saturated_network_gets_the_same_result_every_time(tmp_path):
    """Weights of np.random.randn(...) * 100, never seeded, and an unseeded default_rng(): three
    gradings (one job, two jobs, a resumed batch) give the same result.json but for timings."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("DLP_LAB1_0856197_Fang.py", "DLP_LAB1_0856201_Tang.py"):
        shutil.copy(SAMPLES / name, folder / name)
    results = []
    for run, jobs in enumerate(("1", "2")):
        out = tmp_path / f"out{run}"
        proc = labgrade("grade", str(folder), "--out", str(out), "--jobs", jobs, "--format",
                        "json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results.append(json.loads((out / "0856197" / "result.json").read_text()))
    resumed = tmp_path / "out1"
    shutil.rmtree(resumed / "0856197")  # stopped before this student's result was written
    proc = labgrade("grade", str(folder), "--out", str(resumed), "--jobs", "2", "--format",
                    "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results.append(json.loads((resumed / "0856197" / "result.json").read_text()))
    first = without_timings(results[0])
    for again in results[1:]:
        assert without_timings(again) == first, differences(first, without_timings(again))
    assert first["score"]["auto"] == 40, [(c["id"], c["message"]) for c in first["checks"]]


# --- declared contracts -------------------------------------------------------------------------

def test_every_check_declares_its_settings_and_facts():
    registry = load_checks()
    assert {cid for cid, spec in registry.items() if not spec.generic} == set(CHECKS)
    for spec in registry.values():
        assert dataclasses.is_dataclass(spec.config), spec.id
        assert set(spec.reads) <= FACT_NAMES and set(spec.writes) <= FACT_NAMES
        for fact in spec.reads:  # every fact read has a writer that runs first
            writers = [s.id for s in registry.values() if fact in s.writes]
            assert writers and all(list(registry).index(w) < list(registry).index(spec.id)
                                   for w in writers), (spec.id, fact)
    assert "gradient" in registry["train_xor"].after
    assert needed_checks(registry, {"train_xor"}) == {"interface", "gradient", "train_xor"}


def test_defaults_live_only_in_the_settings_dataclasses():
    """A check module holds no default of its own: every knob is its dataclass's field."""
    for module in Path(__file__).resolve().parents[1].joinpath("grader", "checks").glob("*.py"):
        text = module.read_text()
        assert not re.search(r"^DEFAULTS?\b|^DEFAULT_[A-Z_]+ =", text, re.M), module.name
        assert "ctx.setting(" not in text and "ctx.settings" not in text, module.name


def test_a_rubric_that_measures_nothing_is_refused(tmp_path):
    text = edited("single_sample = true\n", "single_sample = false\n", LAB1_TEXT)
    text = edited("batch = true\n", "batch = false\n", text)
    with pytest.raises(RubricError, match="single_sample: expected single_sample or batch"):
        load_rubric(write(tmp_path, text))


@pytest.mark.slow
def test_the_batch_alone_judges_the_gradient_when_single_samples_are_off(tmp_path):
    text = edited("single_sample = true\n", "single_sample = false\n", LAB1_TEXT)
    text = edited("single_sample = 0.75\n", "single_sample = 0.0\n", text)
    text = edited("batch = 0.25\n", "batch = 1.0\n", text)
    rubric = load_rubric(write(tmp_path, text))
    verdicts = {}
    for name in ("DLP_LAB1_0856003_Wu.py", "DLP_LAB1_0856118_Lu.py"):
        [sub] = discover(SAMPLES / name, workdir=tmp_path / name)
        verdicts[name] = grade_submission(sub, settings=rubric_settings(rubric), seed=0,
                                          only={"interface", "gradient"}).verdicts["gradient"]
    wu, lu = verdicts.values()
    assert wu.status == PASS and not any(k.startswith("sample") for k in wu.details)
    assert lu.status == FAIL and "bias" in lu.message  # the batch-only bug, now alone judged
    assert not any(k.startswith("sample") for k in lu.details)


@pytest.mark.slow
def test_a_readers_verdict_does_not_depend_on_whether_its_writer_was_asked_for(tmp_path):
    """The notebook's gradient is half the true one: train_xor trains with lr / 0.5 whether or
    not the gradient check was asked for, because the runner runs the writer of that fact."""
    rubric = load_rubric("lab1")
    [sub] = discover(SAMPLES / "DLP_LAB1_0856017_王小明.ipynb", workdir=tmp_path)
    alone = grade_submission(sub, settings=rubric_settings(rubric), seed=0, only={"train_xor"})
    both = grade_submission(sub, settings=rubric_settings(rubric), seed=0,
                            only={"gradient", "train_xor"})
    assert set(alone.verdicts) == {"train_xor"}
    assert alone.verdicts["train_xor"].details["lr"] == both.verdicts["train_xor"].details["lr"] \
        == pytest.approx(1.6)


@pytest.fixture
def rogue_check():
    """A check that writes a fact it does not declare, registered for one test only (after the
    rubric is read: the shipped rubric has no table for it, so the settings name it)."""
    settings = rubric_settings(load_rubric("lab1"))
    from grader.checks.numpy_only import NumpyOnlyCheck

    @register("rogue", config=NumpyOnlyCheck, summary="writes what it does not declare")
    def rogue(ctx: GradingContext) -> Verdict:
        ctx.facts.gradient_scale = 2.0
        return Verdict(PASS, "done", 1.0)

    yield "rogue", {**settings, "rogue": NumpyOnlyCheck(points=0.0)}  # a rubric naming it
    del REGISTRY["rogue"]


def test_a_check_that_writes_an_undeclared_fact_is_a_grader_error(tmp_path, rogue_check):
    check_id, settings = rogue_check
    path = tmp_path / "DLP_LAB1_0900302_Min.py"
    path.write_text("x = 1\n")
    [sub] = discover(path, workdir=tmp_path / "work")
    verdict = grade_submission(sub, settings=settings, seed=0, only={check_id}).verdicts[check_id]
    assert verdict.status == "error" and "gradient_scale" in verdict.message
    assert "not your fault" in verdict.message


def test_the_rubric_command_documents_every_checks_settings():
    """Each check's settings come from its own module, and `labgrade rubric --schema` lists
    them with their defaults and help text."""
    schema = labgrade("rubric", "--schema")
    assert schema.returncode == 0, schema.stderr
    for key in ("checks.gradient.single_sample (bool, true)", "checks.forward.samples (int, 8)",
                "checks.train_linear.max_steps (int, 50000)", "checks.interface.methods.update"):
        assert key in schema.stdout, key
    shown = labgrade("rubric", "lab1")
    assert shown.returncode == 0 and "gradient: 10 (public)" in shown.stdout
    missing = labgrade("rubric", "missing.toml")
    assert missing.returncode == 2 and "missing.toml" in missing.stderr


def test_every_setting_is_read_by_its_check():
    """A rubric knob that nothing reads would let a TA change a number that changes nothing:
    every field of a check's settings is used (``cfg.<name>``) in the module that declares it,
    or in a module of ``grader.checks`` it hands the work to (``step`` on a notebook's loop)."""
    common = {f.name for f in dataclasses.fields(load_rubric("lab1").checks["interface"])
              if f.name in ("points", "public", "section", "kind")}
    for spec in load_checks().values():
        source = Path(sys.modules[spec.run.__module__].__file__).read_text()
        # the code after the settings classes: a knob read only by its own validation is unused
        start = source.index("class " + spec.config.__name__)
        body = source[re.compile(r"^(?!class |@dataclass|\s|$)", re.M).search(source, start + 1)
                      .start():]
        for helper in re.findall(r"from grader\.checks\.(\w+) import", body):
            body += (Path(sys.modules[spec.run.__module__].__file__).parent /
                     f"{helper}.py").read_text()
        for f in dataclasses.fields(spec.config):
            if f.name in common:
                continue
            assert re.search(r"\.\s*" + f.name + r"\b", body), (spec.id, f.name)


def test_a_step_the_grader_cannot_call_is_an_interface_matter_not_the_students_error(tmp_path):
    """backprop(x, y, y_pred): a signature the lab's backprop(y) does not fit.  Calling it with
    the lab's one argument would raise a TypeError of the grader's making; the interface check
    says so (partial credit), and the checks that need a step are skipped, never `error`."""
    sub = small_network(
        tmp_path, "0900303_Sig",
        "self.a = [X]\nfor W in self.w:\n    self.a.append(1 / (1 + np.exp(-self.a[-1] @ W)))\n"
        "return self.a[-1]",
        "d = 2 * (y_pred - y) * y_pred * (1 - y_pred)\nself.g = []\nfor i in (2, 1, 0):\n"
        "    self.g.insert(0, self.a[i].T @ d)\n"
        "    d = (d @ self.w[i].T) * self.a[i] * (1 - self.a[i])",
        backprop_args="x, y, y_pred")
    verdicts = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                                only={"interface", "forward", "gradient", "train_xor"}).verdicts
    interface = verdicts["interface"]
    assert interface.status == PASS and interface.fraction == 0.5, interface.message
    assert "backprop(x, y, y_pred) cannot be called as the lab's step" in interface.message
    assert verdicts["forward"].status == PASS and verdicts["forward"].fraction == 1.0
    for check in ("gradient", "train_xor"):
        assert verdicts[check].status == "skip", verdicts[check].message
        assert "backprop(x, y, y_pred)" in verdicts[check].message


@pytest.mark.parametrize("leftover, words", [
    ("import sys; sys.exit(3)", "called sys.exit(3)"),
    ("import os; os._exit(0)", "ended the Python process"),
    ("while True: pass", "did not finish within 5 s"),
])
def test_a_predict_that_exits_or_hangs_costs_forward_not_the_interface(tmp_path, leftover,
                                                                       words):
    sub = small_network(tmp_path, "0900304_Exit", leftover)
    verdicts = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                                sandbox_settings=SandboxSettings(step_timeout=5.0),
                                only={"interface", "forward", "gradient", "train_xor"}).verdicts
    assert verdicts["interface"].status == PASS and verdicts["interface"].fraction == 1.0, \
        verdicts["interface"].message
    for check in ("forward", "gradient", "train_xor"):
        assert verdicts[check].status == "error", verdicts[check].message
        assert words in verdicts[check].message, verdicts[check].message


def test_the_program_check_reads_loss_and_accuracy_printed_in_chinese():
    from grader.checks.program import ACCURACY_LINE, LOSS_LINE

    assert ACCURACY_LINE.search("準確率 100.0 %") and ACCURACY_LINE.search("accuracy: 0.95")
    assert LOSS_LINE.search("epoch 5000 損失: 0.0312") and LOSS_LINE.search("loss=0.03")
    assert not ACCURACY_LINE.search("epoch 5000 損失: 0.0312")


# --- built and stepped as the student's own program does ---------------------------------------

@pytest.mark.slow
def test_the_network_is_built_and_stepped_as_the_program_does(graded):
    pan = graded["DLP_LAB1_0856213_Pan.py"]["interface"]
    assert "built and stepped as your program does: net = Net(2, 4, 4, 1, lr=1.0); " \
        "out0 = net.forward(x); net.backward(x, y, out0); net.update()" in pan.message
    assert pan.details["program"]["stopped"] == "repeats"
    chiu = graded["DLP_LAB1_0856215_Chiu.py"]
    assert "net = NeuralNet(); out0 = net.forward(x); net.train(x, y)" in \
        chiu["interface"].message
    assert "(a 2-5-5-1 network" in chiu["interface"].message
    assert chiu["gradient"].status == PASS and "scale 0.25" in chiu["gradient"].message
    kuo = graded["DLP_LAB1_0856217_Kuo.py"]  # its own loss gradient, its layers' own rate
    assert "net = Classifier(hidden=6, rate=2.0); out0 = net.forward(x); " \
        "net.backward(2*(out0 - y)/N); net.update()" in kuo["interface"].message
    # every copy of the rate (the network's and each layer's) is set to the grader's
    assert kuo["gradient"].status == PASS and "true gradient in every layer (scale 1," in \
        kuo["gradient"].message, kuo["gradient"].message
    liao = graded["DLP_LAB1_0856219_Liao.py"]  # no class: functions passing the weights
    assert "played as your program does: W1, W2, W3 = init_weights(2, 5, 5, 1); " \
        "out0 = forward(x, W1, W2, W3); W1, W2, W3 = backward(x, y, out0[0], out0[1], " \
        "out0[2], W1, W2, W3, lr)" in liao["interface"].message, liao["interface"].message
    assert liao["interface"].fraction == 0.5 and "a set of functions (backward, forward)" in \
        liao["interface"].message
    chao = graded["DLP_LAB1_0856221_Chao.py"]  # built with its data; a step of one call
    assert "net = BinaryClassifier(x, y, hidden=8, lr=0.3); out0 = net.forward(x); " \
        "net.fit_step()" in chao["interface"].message, chao["interface"].message
    assert chao["gradient"].status == PASS, chao["gradient"].message
    tsao = graded["DLP_LAB1_0856223_Tsao.py"]  # built layer by layer; one epoch of fit
    assert "net = Sequential(); net.AddLayer(Dense(2, 6)); net.AddLayer(Sigmoid())" in \
        tsao["interface"].message, tsao["interface"].message
    assert "net.fit(x, y, epochs=1, lr=lr)" in tsao["interface"].message
    wei = graded["DLP_LAB1_0856225_Wei.py"]  # an inline loop, watched
    assert wei["interface"].fraction == 0.25, wei["interface"].message
    assert "uses W instead of W.T" in wei["gradient"].message, wei["gradient"].message
    lo = graded["DLP_LAB1_0856211_Lo.py"]["interface"]  # no step shown? still its constructor
    assert "(a 2-4-4-1 network" in lo.message


def test_a_program_that_feeds_one_sample_as_a_vector_is_replayed_so(tmp_path):
    """``for x, y in zip(X, Y): net.forward(x); net.backward(y, 0.5)`` with x of shape (2,) and
    a backward built on np.outer that takes nothing else: the grader feeds it the same way."""
    path = tmp_path / "DLP_LAB1_0900305_Vec.py"
    path.write_text(
        "import numpy as np\n"
        "def sigmoid(z):\n"
        "    return 1 / (1 + np.exp(-z))\n"
        "class Net:\n"
        "    def __init__(self, sizes):\n"
        "        self.W = [np.random.uniform(-1, 1, (a, b)) for a, b in zip(sizes, sizes[1:])]\n"
        "    def forward(self, x):\n"
        "        self.a = [x]\n"
        "        for W in self.W:\n"
        "            self.a.append(sigmoid(self.a[-1] @ W))\n"
        "        return self.a[-1]\n"
        "    def backward(self, y, lr):\n"
        "        d = 2 * (self.a[-1] - y) * self.a[-1] * (1 - self.a[-1])\n"
        "        for i in (2, 1, 0):\n"
        "            g = np.outer(self.a[i], d)\n"
        "            d = (self.W[i] @ d) * self.a[i] * (1 - self.a[i])\n"
        "            self.W[i] -= lr * g\n"
        "if __name__ == '__main__':\n"
        "    X = np.random.rand(50, 2)\n"
        "    Y = (X[:, 0] > X[:, 1]).astype(float).reshape(-1, 1)\n"
        "    net = Net([2, 3, 3, 1])\n"
        "    for epoch in range(1000):\n"
        "        for x, y in zip(X, Y):\n"
        "            net.forward(x)\n"
        "            net.backward(y, 0.5)\n")
    [sub] = discover(path, workdir=tmp_path / "work")
    verdicts = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                                only={"interface", "forward", "gradient"}).verdicts
    assert "built and stepped as your program does: net = Net([2, 3, 3, 1]); " \
        "out0 = net.forward(x); net.backward(y, lr)" in verdicts["interface"].message
    assert verdicts["forward"].status == PASS and verdicts["forward"].fraction == 1.0
    assert verdicts["gradient"].status == PASS, verdicts["gradient"].message


def test_a_notebook_exported_as_a_script_keeps_its_magics_and_still_loads(tmp_path):
    """``%matplotlib inline`` left in a ``.py`` exported from a notebook is no syntax error of
    the student's network: it is neutralised as in a notebook, and said so."""
    sub = small_network(tmp_path, "0900306_Magic", "return self.w[0][:1, :1] + 0 * X[:, :1]")
    sub.source.write_text("%matplotlib inline\n" + sub.source.read_text())
    [sub] = discover(sub.source, workdir=tmp_path / "work2")
    graded = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                              only={"interface"})
    assert graded.verdicts["interface"].status == PASS, graded.verdicts["interface"].message
    assert "invalid syntax" not in graded.verdicts["interface"].message
