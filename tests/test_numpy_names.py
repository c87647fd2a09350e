"""Names NumPy removed are explained where a student's error mentions them."""

from __future__ import annotations

from grader.checks.context import describe_student_error
from grader.numpy_names import removed_name_hint
from grader.unfollowed import why_unfollowed


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
