"""Rubrics: the shipped lab1 rubric, every kind of malformed rubric, and seed resolution."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.rubric import (CHECK_IDS, SEED_VARIABLE, InterfaceCheck, NumpyOnlyCheck, Rubric,
                           RubricError, SeedError, effective_seed, load_rubric, parse_rubric,
                           rubric_names, schema_help)

LAB1 = Path(__file__).resolve().parents[1] / "rubrics" / "lab1.toml"
LAB1_TEXT = LAB1.read_text(encoding="utf-8")

MINIMAL = """
[rubric]
id = "mini"
version = "0"
title = "Minimal"
lab = "lab1"
max_points = 10

[sections.code]
title = "Code"
points = 7
kind = "auto"

[sections.report]
title = "Report"
points = 3
kind = "manual"

[checks.interface]
points = 1
[checks.forward]
points = 1
[checks.gradient]
points = 1
[checks.train_linear]
points = 1
[checks.train_xor]
points = 1
[checks.numpy_only]
points = 1
[checks.program]
points = 1
"""


def write(tmp_path: Path, text: str, name: str = "rubric.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str, text: str = LAB1_TEXT) -> str:
    """The text with ``old`` (which must occur exactly once) replaced."""
    assert text.count(old) == 1, f"{old!r} should occur once in the rubric"
    return text.replace(old, new)


# --- the shipped rubric --------------------------------------------------------------------------

def test_lab1_loads_by_name_and_its_numbers_add_up():
    rubric = load_rubric("lab1")
    assert (rubric.id, rubric.info.lab, rubric.max_points) == ("lab1", "lab1", 100)
    assert Path(rubric.source) == LAB1
    assert {sid: (s.points, s.kind) for sid, s in rubric.sections.items()} == {
        "report": (40, "manual"), "experimental_results": (40, "auto"),
        "questions": (20, "manual")}
    assert set(rubric.check_ids) == set(CHECK_IDS)
    assert all(c.section == "experimental_results" for c in rubric.checks.values())
    assert sum(c.points for c in rubric.checks.values()) == 40
    assert sum(s.points for s in rubric.sections.values()) == rubric.max_points


def test_lab1_follows_the_course_rules():
    rubric = load_rubric("lab1")
    assert rubric.deadline.when == datetime(2020, 9, 2, 11, 59,
                                            tzinfo=timezone(timedelta(hours=8)))
    assert rubric.deadline.when.strftime("%a") == "Wed"  # "9/2 (Wed)"
    assert (rubric.deadline.late_factor, rubric.deadline.grace_minutes) == (0.8, 0)
    for check_id in ("train_linear", "train_xor"):
        train = rubric.checks[check_id]
        assert (train.lr, train.loss_threshold) == (0.8, 0.04)
    assert rubric.checks["train_xor"].training_points == 21
    assert rubric.checks["train_xor"].accuracy_threshold == 1.0
    assert rubric.checks["gradient"].tolerance == 1e-6
    assert rubric.checks["gradient"].learning_rates == (1.0, 0.5)
    # A batch-only bug (the bias averaged instead of summed) costs the batch share.
    gradient = rubric.checks["gradient"]
    assert gradient.single_sample and gradient.batch
    assert (gradient.weights.single_sample, gradient.weights.batch) == (0.75, 0.25)
    # With a bias, every point's loss below 0.04 takes 80k-200k steps on linear data.
    assert rubric.checks["train_linear"].max_steps == 200_000
    interface = rubric.checks["interface"]
    assert isinstance(interface, InterfaceCheck)
    assert interface.class_names == ("NN",) and "Dense" in interface.class_aliases
    assert interface.methods.forward[0] == "predict"
    assert interface.methods.backward[0] == "backprop"
    assert interface.methods.update[0] == "update"
    assert interface.constructor_forms[0] == "dim=" and interface.dim == (2, 3, 3, 1)
    program = rubric.checks["program"]
    assert (program.time_budget_s, program.min_figures) == (60, 2)
    assert set(rubric.public_check_ids) == {"interface", "forward", "gradient", "train_linear",
                                            "train_xor", "numpy_only"}
    assert rubric.seeds.public == 0


def test_numpy_only_allows_numpy_matplotlib_and_the_standard_library():
    check = load_rubric("lab1").checks["numpy_only"]
    assert isinstance(check, NumpyOnlyCheck)
    for module in ("numpy", "numpy.linalg", "matplotlib.pyplot", "os", "os.path", "random",
                   "math", "time"):
        assert check.allows(module), module
    for module in ("scipy", "sklearn.datasets", "torch", "numpyx", "pandas", "matplotlibx"):
        assert not check.allows(module), module


def test_describe_and_schema_help_document_everything():
    rubric = load_rubric("lab1")
    text = rubric.describe()
    for expected in ("Report [report, manual]: 40", "gradient: 10 (public)",
                     "train_xor: 6 (public)",
                     "program: 6 (TA only)", "2020-09-02T11:59:00+08:00", "score x 0.8",
                     SEED_VARIABLE):
        assert expected in text
    keys = {line.split(" ")[0] for line in schema_help().splitlines()}
    for key in ("rubric.max_points", "deadline.when", "deadline.grace_minutes",
                "sections.<id>.kind", "checks.interface.methods.forward",
                "checks.train_xor.attempts", "checks.program.weights.figures", "seeds.public"):
        assert key in keys
    # Every key the shipped file uses is documented.
    for line in LAB1_TEXT.splitlines():
        match = re.match(r"([a-z_]+) = ", line)
        if match:
            assert any(k.endswith("." + match.group(1)) for k in keys), match.group(1)


def test_rubric_is_frozen_and_lists_itself():
    rubric = load_rubric("lab1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rubric.info = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rubric.checks["gradient"].points = 40  # type: ignore[misc]
    assert "lab1" in rubric_names()


# --- loading -------------------------------------------------------------------------------------

def test_load_by_path_as_string_or_path(tmp_path):
    path = write(tmp_path, LAB1_TEXT, "copy.toml")
    assert load_rubric(str(path)).id == "lab1"
    assert load_rubric(path).source == str(path)


def test_an_installed_package_finds_its_packaged_rubrics(tmp_path, monkeypatch):
    import grader.rubric as module

    packaged = tmp_path / "site-packages" / "grader" / "rubrics"
    packaged.mkdir(parents=True)
    (packaged / "lab1.toml").write_text(LAB1_TEXT, encoding="utf-8")
    monkeypatch.setattr(module, "_checkout_dir", lambda: tmp_path / "no-checkout")
    monkeypatch.setattr(module, "_packaged_dir", lambda: packaged)
    assert module.rubric_dirs() == [packaged]
    assert load_rubric("lab1").source == str(packaged / "lab1.toml")
    monkeypatch.setattr(module, "_packaged_dir", lambda: None)
    with pytest.raises(RubricError, match=re.escape("no rubric of that name (known: none "
                                                    "found)")):
        load_rubric("lab1")


def test_settings_are_plain_data_under_the_rubrics_names():
    rubric = load_rubric("lab1")
    interface = rubric.settings("interface")
    assert interface["methods"]["forward"][0] == "predict"
    assert interface["dim"] == [2, 3, 3, 1] and interface["points"] == 4
    linear = rubric.settings("train_linear")
    assert (linear["held_out_points"], linear["held_out_accuracy_threshold"]) == (100, 0.95)
    assert linear["weights"] == {"converged": 0.5, "accuracy": 0.5}
    assert rubric.settings("program")["weights"]["runs"] == 0.5


def test_minimal_rubric_takes_the_defaults(tmp_path):
    rubric = load_rubric(write(tmp_path, MINIMAL))
    assert rubric.deadline is None and rubric.seeds.public == 0
    assert rubric.checks["gradient"].tolerance == 1e-6  # the field's default
    assert rubric.checks["train_linear"].max_steps == 50_000
    assert rubric.checks["train_xor"].max_steps == 200_000
    assert not any(c.public for c in rubric.checks.values())
    assert all(c.section == "code" for c in rubric.checks.values())


@pytest.mark.parametrize("name,message", [
    ("lab9", "lab9: no rubric of that name (known: and-or, lab1"),
    ("no such", "is neither a rubric name nor a .toml file"),
])
def test_unknown_rubric_names_are_refused(name, message):
    with pytest.raises(RubricError, match=re.escape(message)):
        load_rubric(name)


def test_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(RubricError, match=re.escape(f"{tmp_path / 'none.toml'}: no such rubric")):
        load_rubric(tmp_path / "none.toml")
    path = write(tmp_path, "[rubric\nid = 1\n", "broken.toml")
    with pytest.raises(RubricError, match=re.escape(f"{path}: is not valid TOML")):
        load_rubric(path)
    latin = tmp_path / "latin.toml"
    latin.write_bytes("title = 'caf\u00e9'".encode("latin-1"))
    with pytest.raises(RubricError, match="is not UTF-8 text"):
        load_rubric(latin)


# --- malformed rubrics: each message names the file, the key and what was wrong -------------------

BAD = [
    pytest.param("[checks.gradient]\npoints = 10", "[checks.gradient]\npoints = \"ten\"",
                 "checks.gradient.points: expected a number >= 0, found 'ten'", id="wrong-type"),
    pytest.param("[checks.gradient]\npoints = 10", "[checks.gradient]\npoints = true",
                 "checks.gradient.points: expected a number >= 0, found true", id="bool-points"),
    pytest.param("[checks.gradient]\npoints = 10", "[checks.gradient]\npoints = -10",
                 "checks.gradient.points: expected a number >= 0, found -10", id="negative"),
    pytest.param('id = "lab1"\n', "", "rubric.id: missing; expected a name such as lab1",
                 id="missing-key"),
    pytest.param("[checks.gradient]\npoints = 10",
                 "[checks.gradient]\npoints = 10\ntolerence = 1e-3",
                 "checks.gradient.tolerence: unknown key; did you mean 'tolerance'?",
                 id="unknown-key"),
    pytest.param("hidden one.\npublic = 0", "hidden one.\npublic = 0\nhidden = 1234",
                 "seeds.hidden: unknown key", id="hidden-seed-in-file"),
    pytest.param("[checks.numpy_only]", "[checks.numpy_olny]",
                 "checks.numpy_olny: unknown check; did you mean 'numpy_only'?",
                 id="unknown-check"),
    pytest.param("[sections.report]\ntitle = \"Report\"\npoints = 40",
                 "[sections.report]\ntitle = \"Report\"\npoints = 30",
                 "sections: the sections add up to report 30 + experimental_results 40 + "
                 "questions 20 = 90 points, but rubric.max_points is 100", id="sections-sum"),
    pytest.param("[checks.gradient]\npoints = 10", "[checks.gradient]\npoints = 9",
                 "sections.experimental_results.points: the checks of this auto section add up "
                 "to interface 4 + forward 6 + gradient 9 + train_linear 6 + train_xor 6 + "
                 "numpy_only 2 + program 6 = 39, but the section is worth 40",
                 id="checks-sum"),
    pytest.param("when = 2020-09-02T11:59:00+08:00", "when = 2020-09-02T11:59:00",
                 "deadline.when: expected an ISO 8601 time with a timezone, such as "
                 "2020-09-02T11:59:00+08:00, found 2020-09-02T11:59:00 (no timezone",
                 id="deadline-without-zone"),
    pytest.param("when = 2020-09-02T11:59:00+08:00", 'when = "9/2 (Wed) 11:59 a.m."',
                 "deadline.when: expected an ISO 8601 time with a timezone, such as "
                 "2020-09-02T11:59:00+08:00, found '9/2 (Wed) 11:59 a.m.'", id="deadline-text"),
    pytest.param("when = 2020-09-02T11:59:00+08:00", "when = 2020-09-02",
                 "deadline.when: expected an ISO 8601 time with a timezone", id="deadline-date"),
    pytest.param("late_factor = 0.8 ", "late_factor = 1.2 ",
                 "deadline.late_factor: expected a number between 0 and 1, found 1.2",
                 id="late-factor-range"),
    pytest.param('kind = "auto"', 'kind = "automatic"',
                 "sections.experimental_results.kind: expected one of 'manual', 'auto', found "
                 "'automatic'", id="section-kind"),
    pytest.param("learning_rates = [1.0, 0.5]", "learning_rates = [1.0, 0]",
                 "checks.gradient.learning_rates[1]: expected a number > 0, found 0",
                 id="list-item"),
    pytest.param("learning_rates = [1.0, 0.5]", "learning_rates = 0.5",
                 "checks.gradient.learning_rates: expected a non-empty list of numbers > 0, "
                 "found 0.5", id="list-expected"),
    pytest.param("max_steps = 200_000\nattempts = 5", "max_steps = 2e5\nattempts = 5",
                 "checks.train_linear.max_steps: expected a whole number >= 1, found 200000.0",
                 id="int-expected"),
    pytest.param("attempts = 5\nfailure_probability = 0.001\n",
                 "attempts = 5\nfailure_probability = 0\n",
                 "checks.train_linear.failure_probability: expected a number > 0 and <= 0.5, "
                 "found 0", id="failure-probability"),
    pytest.param('allowed = ["numpy", "matplotlib", "mpl_toolkits", "pylab", "@stdlib"]',
                 'allowed = ["numpy", "matplotlib", "@std"]',
                 "checks.numpy_only.allowed[2]: expected a module name such as numpy, or "
                 "@stdlib, found '@std'", id="module-group"),
    pytest.param('constructor_forms = ["dim=", ', 'constructor_forms = ["dim", ',
                 "checks.interface.constructor_forms[0]: expected 'name=' (a keyword argument), "
                 "'positional' or 'none', found 'dim'", id="constructor-form"),
    pytest.param("runs = 0.5", "runs = 0.6",
                 "checks.program.weights: the shares must add up to 1, found runs 0.6 + loss "
                 "0.15 + accuracy 0.15 + figures 0.2 = 1.1", id="weights-sum"),
    pytest.param("single_sample = 0.75\nbatch = 0.25", "single_sample = 0.5\nbatch = 0.5",
                 None, id="batch-weight-ok"),
    # Switching the batch part off is fine once its share is 0 (two edits, made in order).
    pytest.param(("batch = true\n", "single_sample = 0.75\nbatch = 0.25"),
                 ("batch = false\n", "single_sample = 1.0\nbatch = 0.0"),
                 None, id="batch-off-ok"),
    pytest.param("[checks.forward]\npoints = 6", "[checks.forward]\nsection = \"report\"\n"
                 "points = 6", "checks.forward.section: expected one of the auto sections "
                 "(experimental_results), found 'report', which is graded by hand",
                 id="check-in-manual-section"),
    pytest.param("[checks.forward]\npoints = 6", "[checks.forward]\nsection = \"demo\"\n"
                 "points = 6", "checks.forward.section: expected one of the auto sections "
                 "(experimental_results), found 'demo', which is not a section",
                 id="check-in-unknown-section"),
    pytest.param("[sections.questions]", "[sections.total]",
                 "sections.total: expected the name to be a lowercase name", id="reserved-id"),
    pytest.param("[checks.program]\npoints = 6", "[checks.program.weights.extra]\nx = 1\n"
                 "[checks.program]\npoints = 6",
                 "checks.program.weights.extra: unknown key (known: runs, loss, accuracy, "
                 "figures)", id="nested-unknown-table"),
]


@pytest.mark.parametrize("old,new,message", BAD)
def test_malformed_rubrics_name_file_key_expected_and_found(tmp_path, old, new, message):
    text = LAB1_TEXT
    for one_old, one_new in (zip(old, new, strict=True) if isinstance(old, tuple)
                             else [(old, new)]):
        text = edited(one_old, one_new, text)
    path = write(tmp_path, text)
    if message is None:  # a variation that is fine
        assert load_rubric(path).id == "lab1"
        return
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    lines = str(info.value).splitlines()
    assert any(line.startswith(f"{path}: {message}") for line in lines), str(info.value)


def test_a_weighted_share_of_a_switched_off_part_is_refused(tmp_path):
    # The shipped rubric gives the batch part a share of 0.25: switching it off alone is refused.
    text = edited("batch = true\n", "batch = false\n")
    with pytest.raises(RubricError, match=re.escape(
            "checks.gradient.weights.batch: expected 0 since that part is switched off, "
            "found 0.25")):
        load_rubric(write(tmp_path, text))


def test_a_check_left_out_must_leave_the_points_right(tmp_path):
    # a rubric holds the checks it names; the sections' sums catch one dropped by mistake
    start = LAB1_TEXT.index("[checks.numpy_only]")
    end = LAB1_TEXT.index("[checks.program]")
    text = LAB1_TEXT[:start] + LAB1_TEXT[end:]
    with pytest.raises(RubricError, match=re.escape(
            "sections.experimental_results.points: the checks of this auto section add up to "
            "interface 4 + forward 6 + gradient 10 + train_linear 6 + train_xor 6 + program 6 "
            "= 38, but the section is worth 40")):
        load_rubric(write(tmp_path, text))


def test_a_check_of_another_name_says_its_kind(tmp_path):
    text = LAB1_TEXT.replace("[checks.numpy_only]", '[checks.imports]\nkind = "numpy_only"')
    rubric = load_rubric(write(tmp_path, text))
    assert rubric.checks["imports"].kind == "numpy_only" and "numpy_only" not in rubric.checks
    wrong = LAB1_TEXT.replace("[checks.numpy_only]", '[checks.imports]\nkind = "numpy_onyl"')
    with pytest.raises(RubricError, match=re.escape(
            "checks.imports.kind: unknown kind of check; did you mean 'numpy_only'?")):
        load_rubric(write(tmp_path, wrong))
    unnamed = LAB1_TEXT.replace("[checks.numpy_only]", "[checks.numpy_onyl]")
    with pytest.raises(RubricError, match=re.escape(
            "checks.numpy_onyl: unknown check; did you mean 'numpy_only'?")):
        load_rubric(write(tmp_path, unnamed))


def test_every_problem_is_reported_at_once(tmp_path):
    text = edited("max_points = 100 ", 'max_points = "100" ',
                  edited("tolerance = 1e-6\nepsilon", "tolerance = -1\nepsilon"))
    path = write(tmp_path, text)
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    keys = [key for key, _message in info.value.problems]
    assert keys == ["rubric.max_points", "checks.gradient.tolerance"]
    assert info.value.source == str(path)


def test_several_auto_sections_need_each_check_to_name_its_section(tmp_path):
    text = MINIMAL.replace("[sections.report]", '[sections.extra]\ntitle = "Extra"\npoints = 0\n'
                                                'kind = "auto"\n\n[sections.report]')
    with pytest.raises(RubricError, match=re.escape(
            "checks.interface.section: missing; expected one of code, extra")):
        load_rubric(write(tmp_path, text))
    named = text.replace("[checks.interface]\npoints = 1",
                         '[checks.interface]\npoints = 1\nsection = "code"')
    for check_id in CHECK_IDS[1:]:
        named = named.replace(f"[checks.{check_id}]\n", f'[checks.{check_id}]\nsection = "code"\n')
    rubric = load_rubric(write(tmp_path, named, "named.toml"))
    assert set(rubric.checks_in("code")) == set(CHECK_IDS) and not rubric.checks_in("extra")


def test_a_rubric_without_an_auto_section_cannot_hold_checks(tmp_path):
    text = MINIMAL.replace('kind = "auto"', 'kind = "manual"')
    with pytest.raises(RubricError, match="no section of kind 'auto' holds the checks"):
        load_rubric(write(tmp_path, text))


def test_parse_rubric_accepts_parsed_data():
    rubric = parse_rubric({"rubric": {"id": "x", "version": "1", "title": "X", "lab": "lab1",
                                      "max_points": 1},
                           "sections": {"code": {"title": "Code", "points": 1, "kind": "auto"}},
                           "checks": {cid: {"points": 1 if cid == "gradient" else 0}
                                      for cid in CHECK_IDS}})
    assert isinstance(rubric, Rubric) and rubric.checks["gradient"].points == 1.0


# --- seeds ---------------------------------------------------------------------------------------

def test_seed_resolution_order():
    rubric = load_rubric("lab1")
    assert effective_seed(rubric, None, {}) == (0, "public")
    assert effective_seed(rubric, None, {SEED_VARIABLE: ""}) == (0, "public")
    assert effective_seed(rubric, None, {SEED_VARIABLE: " 4242 "}) == (4242, SEED_VARIABLE)
    assert effective_seed(rubric, 7, {SEED_VARIABLE: "4242"}) == (7, "--seed")
    assert effective_seed(rubric, 0, {}) == (0, "--seed")


def test_seed_from_the_process_environment(monkeypatch):
    rubric = load_rubric("lab1")
    monkeypatch.setenv(SEED_VARIABLE, "99")
    assert effective_seed(rubric, None) == (99, SEED_VARIABLE)
    monkeypatch.delenv(SEED_VARIABLE)
    assert effective_seed(rubric, None) == (0, "public")


@pytest.mark.parametrize("cli,env,message", [
    (None, "abc", "LABGRADE_SEED must be a whole number >= 0, not 'abc'"),
    (None, "-3", "LABGRADE_SEED must be a whole number >= 0, not '-3'"),
    (None, "1.5", "LABGRADE_SEED must be a whole number >= 0, not '1.5'"),
    (-1, "", "--seed must be a whole number >= 0, not -1"),
])
def test_bad_seeds_are_refused(cli, env, message):
    with pytest.raises(SeedError, match=re.escape(message)):
        effective_seed(load_rubric("lab1"), cli, {SEED_VARIABLE: env})
