"""The HTML reports and the class overview, from a real batch: real submissions graded in their
sandboxes, real pages parsed by an HTML5 parser.

The batch holds a correct script, a correct notebook, a script that does not parse, and two
hostile submissions: a script whose student name, printed output and error message are HTML
(with colour codes and a NUL byte), and a notebook by a student with a Korean name whose
Markdown and outputs try to run scripts and load images from the network.  Asserted: every page
is valid HTML5, self-contained (nothing loads from outside the page, no script but the
overview's own, allowed by its hash), shows every check and the total, every embedded image
decodes, and everything a student wrote is displayed as text.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import html5lib
import nbformat
import pytest
from matplotlib import image as mpimg

from tests.test_grade_command import labgrade, quick_program
from tests.tests_support import SAMPLES

pytestmark = pytest.mark.slow

HOSTILE_NAME = "<b>O'Brien \"Bob\" & Co"
HOSTILE_SCRIPT = f"DLP_LAB1_0856999_{HOSTILE_NAME}.py"
KOREAN_NOTEBOOK = "DLP_LAB1_0856998_김민준.ipynb"
BATCH = ["DLP_LAB1_0856001_Chen.py", "DLP_LAB1_0856017_王小明.ipynb",
         "DLP_LAB1_0856105_Huang.py"]
NS = "{http://www.w3.org/1999/xhtml}"

HOSTILE_CODE = '''import numpy as np

class NN:
    def __init__(self, dim=[2, 3, 3, 1]):
        rng = np.random.default_rng(0)
        self.weights = [rng.uniform(-1, 1, (a, b)) for a, b in zip(dim, dim[1:])]

    def predict(self, x):
        a = np.asarray(x, dtype=float)
        for w in self.weights:
            a = 1 / (1 + np.exp(-a @ w))
        return a

    def backprop(self, y):
        raise ValueError("<img src=x onerror=alert(1)> & </pre><script>alert(2)</script>")

    def update(self, lr):
        pass

print("<script>alert('out')</script> \\x1b[31mred\\x1b[0m \\x00 done")
print("loss 0.5, accuracy 100%")
'''


def hostile_notebook() -> nbformat.NotebookNode:
    """Markdown and outputs that would run scripts or load from the network if shown raw."""
    nb = nbformat.v4.new_notebook()
    code = (SAMPLES / "DLP_LAB1_0856001_Chen.py").read_text(encoding="utf-8")
    cell = nbformat.v4.new_code_cell("print('hello')")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={
            "text/html": '<script>alert("html output")</script><iframe src="http://example.com">'
                         '</iframe><img src="http://example.com/track.png" onerror="alert(3)">'
                         "<b>bold output</b>",
            "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(4)'
                             "</script></svg>",
            "text/plain": "<HTML object>"}),
        nbformat.v4.new_output("stream", name="stdout", text="<script>alert(5)</script>\n")]
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# 김민준's lab\n<script>alert('markdown')</script>\n"
            '<img src="https://example.com/x.png"> [a link](http://example.com) '
            '<a href="javascript:alert(6)">js</a> <div onclick="alert(7)">click</div>'),
        cell, nbformat.v4.new_code_cell(code)]
    return nb


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    for name in BATCH:
        shutil.copy(SAMPLES / name, folder / name)
    (folder / HOSTILE_SCRIPT).write_text(HOSTILE_CODE, encoding="utf-8")
    nbformat.write(hostile_notebook(), str(folder / KOREAN_NOTEBOOK))
    manual = tmp_path_factory.mktemp("reports-manual") / "manual.csv"
    manual.write_text("id,report,questions,comment\n"
                      "0856001,35,18,\"Clear report <script>alert('ta')</script>\"\n",
                      encoding="utf-8")
    out = tmp_path_factory.mktemp("reports-out")  # its own: other modules' batches share
    proc = labgrade("grade", str(folder), "--out", str(out), "--jobs", "2", "--manual",
                    str(manual), "--rubric", str(quick_program(folder.parent)),
                    "--format", "html,json,csv,junit,markdown,gradescope")
    assert proc.returncode == 0, proc.stderr
    return out


def parse(path: Path) -> ET.Element:
    """Strict HTML5 parsing: any parse error fails the test."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(
        path.read_text(encoding="utf-8"))


def elements(tree: ET.Element, tag: str) -> list[ET.Element]:
    return list(tree.iter(NS + tag))


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext())


def reports(out: Path) -> dict[str, Path]:
    return {p.parent.name: p for p in out.glob("*/report.html")}


def test_every_student_gets_a_report_and_the_class_an_overview(batch):
    folders = {p.parent.name for p in batch.glob("*/result.json")}
    assert folders == {"0856001", "0856017", "0856105", "0856999", "0856998"}
    assert set(reports(batch)) == folders
    assert (batch / "index.html").is_file()
    for name in ("grades.csv", "junit.xml", "summary.md"):
        assert (batch / name).is_file(), name
    for folder in folders:
        assert (batch / folder / "results.json").is_file()  # Gradescope's


def test_reports_are_valid_html5_with_every_check_and_the_total(batch):
    for key, path in reports(batch).items():
        result = json.loads((path.parent / "result.json").read_text(encoding="utf-8"))
        tree = parse(path)
        ids = {a.get("id") for a in tree.iter() if a.get("id")}
        for check in result["checks"]:
            assert f"check-{check['id']}" in ids, (key, check["id"])
        total = f"{result['score']['total']:g}"
        header = text_of(elements(tree, "header")[0])
        assert total in header and f"/ {result['score']['max']:g}" in header, (key, header)
        headings = [text_of(h) for h in elements(tree, "h2")]
        assert "The checks" in headings and "How this was graded" in headings


def _references(tree: ET.Element) -> list[tuple[str, str, str]]:
    found = []
    for element in tree.iter():
        for name, value in element.attrib.items():
            if name in ("src", "href", "srcset", "poster", "data", "action", "formaction",
                        "background", "xlink:href"):
                found.append((element.tag.replace(NS, ""), name, value))
    return found


def test_reports_load_nothing_from_outside_and_run_no_script(batch):
    for key, path in reports(batch).items():
        tree = parse(path)
        for tag, name, value in _references(tree):
            assert value.startswith(("data:image/", "#")), (key, tag, name, value[:80])
        for tag in ("script", "iframe", "object", "embed", "link", "base", "form"):
            assert not elements(tree, tag), (key, tag)
        for element in tree.iter():
            handlers = [a for a in element.attrib if a.lower().startswith("on")]
            assert not handlers, (key, element.tag, handlers)
        style = " ".join(text_of(s) for s in elements(tree, "style"))
        assert "@import" not in style
        assert all(u.startswith("data:") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", style))
        policy = [m.get("content") for m in elements(tree, "meta")
                  if m.get("http-equiv") == "Content-Security-Policy"]
        assert policy and "default-src 'none'" in policy[0] and "script-src 'none'" in policy[0]


def test_the_overview_runs_only_its_own_script_allowed_by_its_hash(batch):
    tree = parse(batch / "index.html")
    scripts = elements(tree, "script")
    assert len(scripts) == 1 and not scripts[0].get("src")
    digest = base64.b64encode(hashlib.sha256(text_of(scripts[0]).encode()).digest()).decode()
    policy = next(m.get("content") for m in elements(tree, "meta")
                  if m.get("http-equiv") == "Content-Security-Policy")
    assert f"'sha256-{digest}'" in policy
    for tag, name, value in _references(tree):
        if value.startswith(("data:image/", "#")):
            continue
        assert tag == "a" and value.endswith("/report.html"), (tag, value)
        assert (batch / value).is_file(), value


def _decode(uri: str) -> None:
    header, data = uri.split(",", 1)
    assert header.endswith(";base64"), header
    raw = base64.b64decode(data, validate=True)
    if header.startswith("data:image/svg+xml"):
        assert ET.fromstring(raw).tag.endswith("svg")
    else:
        picture = mpimg.imread(io.BytesIO(raw), format=header[len("data:image/"):-7])
        assert picture.shape[0] > 10 and picture.shape[1] > 10


def test_every_embedded_image_decodes_and_has_alt_text(batch):
    pages = [*reports(batch).values(), batch / "index.html"]
    count = 0
    for path in pages:
        for img in elements(parse(path), "img"):
            assert img.get("alt"), (path, img.attrib)
            _decode(img.get("src"))
            count += 1
    assert count >= 10  # loss curves, predictions, program figures, notebook outputs


def test_evidence_of_the_correct_script(batch):
    tree = parse(reports(batch)["0856001"])
    alts = [img.get("alt") for img in elements(tree, "img")]
    assert any(a.startswith("Learning curve on the xor data") and "reference" in a for a in alts)
    assert any(a.startswith("Predictions on the 21 xor training points") for a in alts)
    assert sum(a.startswith("Figure") for a in alts) == 2  # the program's own figures
    captions = [text_of(c) for c in elements(tree, "caption")]
    assert any(c.startswith("Per layer") for c in captions)
    # manual points and the TA's comment, escaped
    breakdown = text_of(elements(tree, "table")[0])
    assert "35 / 40" in breakdown and "18 / 20" in breakdown
    comment = text_of(next(b for b in elements(tree, "blockquote")))
    assert comment == "Clear report <script>alert('ta')</script>"
    pairs = " ".join(text_of(d) for d in elements(tree, "dd"))
    assert "net = NN(dim=[2, 3, 3, 1])" in pairs and "net.backprop(y)" in pairs


def test_a_hostile_student_is_shown_as_text(batch):
    tree = parse(reports(batch)["0856999"])
    assert text_of(elements(tree, "h1")[0]) == f"0856999 {HOSTILE_NAME}"
    assert HOSTILE_NAME in text_of(elements(tree, "title")[0])
    page = text_of(tree)
    assert "<img src=x onerror=alert(1)> & </pre><script>alert(2)</script>" in page
    printed = [text_of(p) for p in elements(tree, "pre") if "alert('out')" in text_of(p)]
    assert printed and "<script>alert('out')</script> red \ufffd done" in printed[0]
    # the traceback is the student's own frames, linked to their line
    traceback = next(p for p in elements(tree, "pre") if "traceback" in (p.get("class") or ""))
    assert "probes.py" not in text_of(traceback) and "in backprop" in text_of(traceback)
    links = [a.get("href") for a in traceback.iter(NS + "a")]
    assert links and all(link.startswith("#src-") for link in links)
    ids = {e.get("id") for e in tree.iter() if e.get("id")}
    assert all(link[1:] in ids for link in links)


def test_a_hostile_notebook_is_sanitized_and_its_korean_name_kept(batch):
    tree = parse(reports(batch)["0856998"])
    assert text_of(elements(tree, "h1")[0]) == "0856998 김민준"
    page = text_of(tree)
    assert "bold output" in page and "click" in page
    assert "<script>alert(5)</script>" in page  # the printed text, shown as text
    hrefs = [a.get("href") for a in elements(tree, "a")]
    assert not any(h and ("javascript" in h or h.startswith("http")) for h in hrefs)


def test_a_submission_that_cannot_be_graded_says_why(batch):
    tree = parse(reports(batch)["0856105"])
    section = next(s for s in elements(tree, "section")
                   if any(text_of(h).startswith("Why this submission")
                          for h in s.iter(NS + "h2")))
    assert "line 80" in text_of(section) and "expected ':'" in text_of(section)
    overview = parse(batch / "index.html")
    ungraded = next(s for s in elements(overview, "section")
                    if any("could not be graded" in text_of(h) for h in s.iter(NS + "h2")))
    assert "0856105" in text_of(ungraded) and "expected ':'" in text_of(ungraded)


def test_the_overview_lists_everyone_with_sortable_values(batch):
    tree = parse(batch / "index.html")
    table = next(t for t in elements(tree, "table") if "sortable" in (t.get("class") or ""))
    rows = list(table.iter(NS + "tbody"))[0].findall(NS + "tr")
    assert len(rows) == 5
    by_id = {text_of(r.findall(NS + "td")[0]): r for r in rows}
    assert by_id["0856999"].findall(NS + "td")[1].text == HOSTILE_NAME
    results = {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
               for p in batch.glob("*/result.json")}
    headers = [text_of(th) for th in table.iter(NS + "th")]
    total_column = headers.index("total")
    for key, row in by_id.items():
        cell = row.findall(NS + "td")[total_column]
        assert float(cell.get("data-sort")) == pytest.approx(results[key]["score"]["total"])
    rates = next(t for t in elements(tree, "table") if "bars" in (t.get("class") or ""))
    assert [text_of(r.find(NS + "th")) for r in list(rates.iter(NS + "tbody"))[0]] == \
        [c["id"] for c in results["0856001"]["checks"]]


def test_the_gradebook_reads_in_spreadsheets(batch):
    raw = (batch / "grades.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for 王小明 and 김민준
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["name"] for r in rows} >= {"王小明", "김민준", HOSTILE_NAME}


def test_format_chooses_the_files(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLES / "DLP_LAB1_0856105_Huang.py", folder)
    proc = labgrade("grade", str(folder), "--out", str(tmp_path / "out"), "--format", "junit")
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.relative_to(tmp_path / "out").as_posix()
                     for p in (tmp_path / "out").rglob("*") if p.is_file()
                     and not p.name.startswith("."))
    assert written == ["0856105/result.json", "junit.xml"]
    bad = labgrade("grade", str(folder), "--out", str(tmp_path / "out"), "--format", "pdf")
    assert bad.returncode == 2 and "unknown format pdf" in bad.stderr and "gradescope" in \
        bad.stderr


def test_check_writes_the_same_report_for_a_student(tmp_path):
    page = tmp_path / "me.html"
    proc = labgrade("check", str(SAMPLES / "DLP_LAB1_0856001_Chen.py"), "--html", str(page),
                    "--junit", str(tmp_path / "me.xml"), "--markdown", str(tmp_path / "me.md"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tree = parse(page)
    assert text_of(elements(tree, "h1")[0]) == "0856001 Chen"
    page = text_of(tree)
    assert "the rubric's public seed" in page and "Self-check." in page
    assert "/ 34" in text_of(elements(tree, "header")[0])  # the public checks, not /100
    assert not any(a.get("id") == "check-program" for a in tree.iter())  # TA-only
    assert ET.parse(tmp_path / "me.xml").getroot().tag == "testsuites"
    assert "0856001" in (tmp_path / "me.md").read_text(encoding="utf-8")


def test_a_gradescope_autograder_grades_its_one_submission(tmp_path):
    """The README's run_autograder: one student's upload, whatever its files are called."""
    upload = tmp_path / "submission"
    upload.mkdir()
    shutil.copy(SAMPLES / "DLP_LAB1_0856129_Ko.py", upload / "lab1.py")
    (upload / "helpers.py").write_text("SCALE = 1.0\n", encoding="utf-8")
    (upload / "report.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    out = tmp_path / "grades"
    proc = labgrade("grade", str(upload), "--layout", "single", "--out", str(out),
                    "--format", "gradescope", "--rubric", str(quick_program(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    found = list(out.glob("*/results.json"))
    assert len(found) == 1
    results = json.loads(found[0].read_text(encoding="utf-8"))
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    gradient = next(t for t in results["tests"] if t["name"].startswith("gradient"))
    assert gradient["status"] == "failed" and "1/N" in gradient["output"]
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_published"}
