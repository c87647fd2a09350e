"""The pieces of the reports, one at a time: where a message points in the code, what the
sanitizer lets through, what a check's evidence shows, and which files ``--format`` names."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from grader.checks.context import student_traceback
from grader.checks.program import shortened
from grader.render.formats import parse_formats
from grader.render.source import _demoted, find_marks, linked, places_in, sanitized
from grader.render.views import Table, build_report

FILES = ["lab1.py", "helpers/layers.py", "lab1.ipynb"]


@pytest.mark.parametrize("text, expected", [
    ("crashed (lab1.py, line 40: `x = 1`)", [("lab1.py", None, 40)]),
    ('  File "helpers/layers.py", line 7, in forward', [("helpers/layers.py", None, 7)]),
    ("in cell 3, line 14", [("lab1.py", 3, 14)]),
    ('File "<cell 2>", line 5, in f', [("lab1.py", 2, 5)]),
    ("lab1.ipynb, cell 4, line 2: boom", [("lab1.ipynb", 4, 2)]),
    ('File "/usr/lib/python3/dist-packages/numpy/core.py", line 3', []),
    ("after line 7 of the loop", []),
])
def test_places_named_by_checks_and_tracebacks(text, expected):
    found = [(p.file, p.cell, p.line) for p in places_in(text, FILES, "lab1.py")]
    assert found == expected


def test_links_escape_the_text_around_them():
    html = linked("<b> in lab1.py, line 3 & more", FILES, "lab1.py")
    assert isinstance(html, Markup)
    assert html == '&lt;b&gt; in <a href="#src-lab1-py-3">lab1.py, line 3</a> &amp; more'


def test_marks_gather_the_checks_pointing_at_each_line():
    marks = find_marks([("gradient", "lab1.py, line 3"), ("forward", "lab1.py, line 3"),
                        ("program", "cell 2, line 1")], FILES, "lab1.ipynb")
    assert marks["lab1.py"].lines == {3: ["gradient", "forward"]}
    assert marks["lab1.ipynb"].cells == {2: {1: ["program"]}}


def test_the_sanitizer_keeps_text_and_embedded_images_only():
    dirty = ('<p onclick="x()">hi<script>alert(1)</script></p>'
             '<img src="http://example.com/t.png"><img src="data:image/png;base64,AAAA">'
             '<a href="http://example.com">out</a><a href="#here">in</a>'
             '<iframe src="http://example.com"></iframe><style>body{}</style>'
             '<svg><script>alert(2)</script></svg><div style="background:url(http://x)">d</div>')
    clean = str(sanitized(dirty))
    for banned in ("<script", "onclick", "http://", "<iframe", "<style", "<svg", "style="):
        assert banned not in clean, banned
    assert '<img src="data:image/png;base64,AAAA" alt="an image the notebook displayed">' in clean
    assert '<a href="#here">in</a>' in clean and "out" in clean and ">d<" in clean


def test_notebook_headings_sit_below_the_report_s():
    assert _demoted('<h1 id="x">A</h1><h4>B</h4><h6>C</h6>') == \
        '<h4 id="x">A</h4><h6>B</h6><h6>C</h6>'


def test_a_long_output_keeps_its_beginning_and_end():
    text = "\n".join(f"epoch {i} loss {1 / (i + 1):.4f}" for i in range(5000))
    short = shortened(text).splitlines()
    assert short[0] == "epoch 0 loss 1.0000" and short[-1].startswith("epoch 4999 ")
    assert "… 4900 lines not shown …" in short
    assert shortened("x" * 1000).endswith(" …") and len(shortened("x" * 1000)) < 310


def test_a_traceback_keeps_only_the_student_s_frames():
    text = ('Traceback (most recent call last):\n'
            '  File "/opt/labgrade/grader/sandbox/child/worker.py", line 322, in handle\n'
            '    result = op(ctx, args)\n'
            '  File "/opt/labgrade/grader/sandbox/child/probes.py", line 90, in steps\n'
            '    net.backprop(y)\n'
            '  File "/sandbox/lab1.py", line 41, in backprop\n'
            '    d = a @ y\n'
            'ValueError: shapes (2,3) and (1,1) not aligned\n')
    assert student_traceback(text) == (
        'Traceback (most recent call last):\n  File "/sandbox/lab1.py", line 41, in backprop\n'
        '    d = a @ y\nValueError: shapes (2,3) and (1,1) not aligned\n')
    assert student_traceback(text.replace("/sandbox/lab1.py", "/opt/x/probes.py")) == ""


def _layer(number: int, ok: bool) -> dict:
    return {"layer": number, "name": f"weights[{number - 1}]", "shape": [3, 3], "ok": ok,
            "rel_error": 1e-12 if ok else 0.5, "cosine": 1.0 if ok else 0.4,
            "scale_ratio": 1.0 if ok else 0.5}


def _result(cases: dict) -> dict:
    return {
        "student": {"id": "0856001", "name": "Chen"},
        "submission": {"path": "/x/lab1.py", "files": ["lab1.py"], "submitted_at": None},
        "rubric": {"id": "lab1", "version": "3"}, "grader": {"version": "0", "isolation": "x"},
        "graded": True, "error": None, "duration_s": 1.0,
        "checks": [{"id": "gradient", "status": "fail", "points": 0, "max_points": 10,
                    "message": "layer 1 is wrong", "details": cases}],
        "score": {"auto": 0, "manual": None, "late_factor": 1.0, "total": 0, "max": 100},
        "sections": [], "late": {"factor": 1.0, "reason": "on time"}, "comment": None,
        "notes": []}


def test_gradient_evidence_flags_the_wrong_layers_once_per_finding():
    wrong = {"all_ok": False, "message": "layer 1: W instead of W.T", "hint": "use W.T",
             "layers": [_layer(1, False), _layer(2, True), _layer(3, True)]}
    other = dict(wrong, message="layer 1: off by 2x")
    view = build_report(_result({"sample 1": wrong, "sample 2": dict(wrong),
                                 "batch": other}),
                        titles={}, files_root=None, figures=[])
    tables = [b for b in view.checks[0].blocks if isinstance(b, Table)]
    assert [t.caption.split(":")[0] for t in tables] == ["Per layer, on sample 1",
                                                         "Per layer, on batch"]
    assert tables[0].flagged == [True, False, False]
    assert tables[0].rows[0][-1] == "WRONG" and tables[0].rows[1][-1] == "right"
    assert view.verdict == "1 of 1 automatic checks need work: gradient."


def test_formats_are_named_and_json_always_kept():
    assert parse_formats("junit") == ("json", "junit")
    assert parse_formats(" HTML , csv") == ("html", "json", "csv")
    with pytest.raises(ValueError, match="unknown format pdf; choose from html, json"):
        parse_formats("html,pdf")


def test_the_page_s_style_is_not_escaped():
    from grader.render.html import render_page

    page = render_page("overview.html.j2", title="t", sections=[], rows=[], rates=[],
                       histogram=type("P", (), {"uri": "data:image/png;base64,", "alt": "a"}),
                       count=0, graded=0, mean="0", maximum="0", not_graded=[], slowest=[],
                       symbols={}, words={}, script="var a = \"<x>\";")
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert '"Segoe UI"' in style and "&#34;" not in style and "&quot;" not in style
    assert '<script>var a = "<x>";</script>' in page


def test_a_diverged_loss_curve_is_drawn_with_its_gaps():
    result = _result({})
    result["checks"] = [{"id": "train_xor", "status": "fail", "points": 0, "max_points": 6,
                         "message": "did not converge", "details": {
                             "loss_curve": [0.25, 0.5, "inf", "nan", "nan"],
                             "loss_curve_every": 10, "reference_loss_curve": [0.25, 0.1],
                             "attempts": [{"from": "reference initialisation 0", "steps": 50,
                                           "stopped": "steps", "accuracy": 0.5,
                                           "passed": False}]}}]
    view = build_report(result, titles={}, files_root=None, figures=[])
    plots = [b.plot for b in view.checks[0].blocks if b.kind == "plot"]
    assert len(plots) == 1 and plots[0].uri.startswith("data:image/svg+xml;base64,")
    assert "from 0.25 to 0.5, with passes where it diverged in 41 passes" in plots[0].alt


def test_evidence_that_cannot_be_shown_costs_only_that_evidence():
    result = _result({"sample 1": {"layers": [{"shape": object()}], "all_ok": False}})
    result["checks"][0]["details"]["sample 1"]["layers"] = "not a list of layers"
    result["checks"][0]["details"]["sample 2"] = {"layers": [None]}
    view = build_report(result, titles={}, files_root=None, figures=[])
    texts = [str(b.html) for b in view.checks[0].blocks if b.kind == "text"]
    assert texts == ["The evidence of this check could not be shown (AttributeError)."]
    assert view.checks[0].message == "layer 1 is wrong"


def test_forward_evidence_shows_expected_against_observed_per_input():
    result = _result({})
    result["checks"] = [{"id": "forward", "status": "fail", "points": 0, "max_points": 6,
                         "message": "predict is not the reference forward pass", "details": {
                             "comparison": {"compared_on": 2, "inputs": [[0.1, 0.2], [1, 1]],
                                            "tolerance": 1e-6, "max_difference": 0.25,
                                            "expected": [[0.5], [0.75]],
                                            "observed": [[0.5], ["nan"]],
                                            "differences": [0.0, "inf"]}}}]
    view = build_report(result, titles={}, files_root=None, figures=[])
    table = next(b for b in view.checks[0].blocks if isinstance(b, Table))
    assert table.rows == [["[0.1, 0.2]", "0.5", "0.5", "0"], ["[1, 1]", "0.75", "nan", "inf"]]
    assert table.flagged == [False, True]


def test_a_grader_failure_shows_no_grader_internals():
    result = _result({})
    result["checks"] = [{"id": "future_check", "status": "error", "points": 0, "max_points": 2,
                         "message": "the grader failed on this check (KeyError: 'x'); this is "
                                    "not your fault: please report it",
                         "details": {"grader_traceback": "Traceback ... grader/checks/x.py",
                                     "tried": 3}}]
    view = build_report(result, titles={}, files_root=None, figures=[])
    shown = [item for block in view.checks[0].blocks for item in block.items]
    assert shown == [("tried", "3")]
    assert str(view.checks[0].traceback) == ""
