"""Names NumPy removed are explained where a student's error mentions them."""

from __future__ import annotations

import pytest

from grader.batch import rubric_settings
from grader.discover import discover
from grader.grading import grade_submission
from grader.rubric import load_rubric
from grader.checks.context import describe_student_error
from grader.numpy_names import SCALAR_TRAP, numpy_hint, removed_name_hint
from grader.unfollowed import why_unfollowed
from tests_support import SAMPLES


def test_a_removed_name_gets_its_replacement():
    assert removed_name_hint("AttributeError: module 'numpy' has no attribute 'asscalar'") \
        == "; np.asscalar is now a.item() (removed in NumPy 1.23)"
    assert removed_name_hint("module 'numpy' has no attribute 'float'").startswith(
        "; np.float is now float or np.float64")


def test_other_errors_get_no_hint():
    assert removed_name_hint("module 'numpy' has no attribute 'sigmoid'") == ""
    assert removed_name_hint("name 'np' is not defined") == ""


def test_the_hint_reaches_the_messages():
    error = {"type": "AttributeError", "message": "module 'numpy' has no attribute 'NaN'",
             "where": "lab1.py, line 9"}
    assert describe_student_error(error).endswith("np.NaN is now np.nan (removed in NumPy 2.0)")
    trace = {"events": [], "stopped": "error", "error": {
        "kind": "exception", "file": "lab1.py", "line": 168, "source_line": "x = 1",
        "message": "AttributeError: module 'numpy' has no attribute 'asscalar'"}}
    assert "np.asscalar is now a.item()" in why_unfollowed(trace)


def test_a_one_element_array_taken_as_a_number_is_explained_on_the_students_own_line():
    template = numpy_hint(SCALAR_TRAP, "    pred = int(nn.predict(x.reshape(1, -1)) >= 0.5)")
    assert "the lab template's line" in template and ".item() >= 0.5" in template
    own = numpy_hint(f"TypeError: {SCALAR_TRAP}",
                     "        loss = -(y * math.log(predict) + (1-y) * math.log(1-predict))")
    assert "`loss = -(y * math.log(predict)" in own and "template" not in own
    assert "NumPy 2.4" in own and ".item()" in own
    assert numpy_hint("TypeError: unsupported operand", "x = a + b") == ""


def test_the_scalar_hint_reaches_a_program_stopped_in_its_first_step():
    trace = {"events": [], "stopped": "error", "error": {
        "kind": "exception", "file": "lab1.py", "line": 140,
        "source_line": "        total += math.log(predict)", "message": f"TypeError: {SCALAR_TRAP}"}}
    why = why_unfollowed(trace)
    assert "lab1.py, line 140" in why and "`total += math.log(predict)` takes a (1, 1) array" \
        in why, why


@pytest.mark.slow
def test_a_network_using_a_removed_name_is_graded_and_its_program_told(tmp_path):
    """The template's network written on an older NumPy (``np.float``): the checks grade its
    mathematics with the name given back; the program, run on NumPy as it is, fails and says
    what replaced it."""
    source = (SAMPLES / "DLP_LAB1_0856001_Chen.py").read_text(encoding="utf-8")
    old = "    return 1.0 / (1.0 + np.exp(-x))"
    assert old in source
    path = tmp_path / "DLP_LAB1_0900304_Old.py"
    path.write_text(source.replace(old, "    return np.float(1.0) / (1.0 + np.exp(-x))"),
                    encoding="utf-8")
    [sub] = discover(path, workdir=tmp_path / "work")
    verdicts = grade_submission(sub, settings=rubric_settings(load_rubric("lab1")), seed=0,
                                only={"interface", "forward", "gradient", "program"}).verdicts
    for check in ("interface", "forward", "gradient"):
        assert verdicts[check].status == "pass", verdicts[check].message
    program = verdicts["program"]
    assert program.status == "error" and "np.float is now float" in program.message, \
        program.message


def test_a_method_reading_the_programs_own_variable_is_told_why_it_is_undefined():
    error = {"type": "NameError", "message": "name 'y_train' is not defined",
             "where": "lab1.ipynb cell 5, line 68",
             "line": "temp0 = self.derivative_sigmoid(h) * (yPredict - y_train)"}
    text = describe_student_error(error)
    assert text.startswith("NameError: name 'y_train' is not defined (lab1.ipynb cell 5, "
                           "line 68): `temp0 = ")
    assert "if `y_train` is one, pass it to the method as an argument" in text
