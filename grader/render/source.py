"""The student's source in the report: highlighted, with the lines the checks point at marked.

Python files are highlighted with Pygments, every line with an anchor, so that a check's
message naming ``lab1.py, line 40`` links to it.  A notebook is rendered with nbconvert's HTML
exporter, outputs included; the code cells the checks point at are tagged, and a note before
each says which lines.  Everything a student wrote (their Markdown, their outputs, which may be
HTML) goes through an allow-list sanitizer (bleach) before it reaches the page: a report must
never run a student's script or load anything from the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import bleach
from bleach.html5lib_shim import Filter
from markupsafe import Markup, escape

from grader.render.places import PLACES, Place, places_in  # noqa: F401 -- used here and by callers

MAX_SOURCE_BYTES = 400_000
"""A file larger than this is not shown (a data file saved as .py, a notebook of images)."""

ALLOWED_TAGS = frozenset({
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul"})


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """Classes and ids everywhere; links only within the page; images only embedded ones
    (``data:image/...``): nothing a student wrote may load from the network."""
    if name in ("class", "id"):
        return True
    if tag == "a" and name == "href":
        return value.startswith("#")
    if tag == "img" and name == "src":
        return value.startswith(("data:image/png", "data:image/jpeg", "data:image/gif"))
    return tag == "img" and name in ("alt", "width", "height")


class _Images(Filter):
    """After the allow-list: an image whose source was refused (a URL) is dropped, and one
    without alt text gets one, so that every image of the page can be read aloud."""

    def __iter__(self):
        for token in Filter.__iter__(self):
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "img":
                attributes = token.get("data") or {}
                if (None, "src") not in attributes:
                    continue
                attributes.setdefault((None, "alt"), "an image the notebook displayed")
                token["data"] = attributes
            yield token


def sanitized(html: str) -> Markup:
    """Student-made HTML reduced to the allow-list above (scripts, styles, forms, frames,
    event handlers and external links are dropped, their text kept)."""
    cleaner = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=_allowed_attribute,
                             protocols=["data"], strip=True, strip_comments=True,
                             filters=[_Images])
    return Markup(cleaner.clean(html))


@dataclass
class Marks:
    """Where the checks point in one file: line numbers (scripts) or (cell, line) pairs
    (notebooks), each with the checks that point there."""

    lines: dict[int, list[str]] = field(default_factory=dict)
    cells: dict[int, dict[int, list[str]]] = field(default_factory=dict)


def find_marks(texts: Iterable[tuple[str, str]], files: Iterable[str], main: str | None
               ) -> dict[str, Marks]:
    """The places each check's text names, per file: ``texts`` are (check id, text) pairs
    (messages, tracebacks), ``files`` the submission's files, ``main`` its main file."""
    files = list(files)
    marks: dict[str, Marks] = {}
    for check_id, text in texts:
        for place in places_in(text, files, main):
            mark = marks.setdefault(place.file, Marks())
            if place.cell is not None:
                ids = mark.cells.setdefault(place.cell, {}).setdefault(place.line, [])
            else:
                ids = mark.lines.setdefault(place.line, [])
            if check_id not in ids:
                ids.append(check_id)
    return marks


def line_anchor(file: str, line: int) -> str:
    """The id of a source line in the report (the same for the link and the target)."""
    return f"src-{_slug(file)}-{line}"


def cell_anchor(file: str, cell: int) -> str:
    return f"src-{_slug(file)}-cell-{cell}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "file"


def linked(text: str, files: Iterable[str], main: str | None) -> Markup:
    """``text`` escaped, with every place of the submission it names turned into a link to
    that line (or notebook cell) of the report's source listing."""
    out, last = [], 0
    for place in places_in(text, files, main):
        target = cell_anchor(place.file, place.cell) if place.cell is not None else \
            line_anchor(place.file, place.line)
        out += [escape(text[last:place.start]),
                Markup('<a href="#{}">{}</a>').format(target, text[place.start:place.end])]
        last = place.end
    out.append(escape(text[last:]))
    return Markup("").join(out)


@dataclass(frozen=True)
class SourceView:
    """One file of the submission as the report shows it."""

    path: str
    html: Markup
    marked: int
    """How many places the checks point at in it."""
    note: str = ""


def render_sources(root: Path | None, files: Iterable[str], marks: Mapping[str, Marks]
                   ) -> list[SourceView]:
    """Every Python file and notebook of the submission, the main file first as listed."""
    views = []
    for name in files:
        if not name.endswith((".py", ".ipynb")):
            continue
        path = (root / name) if root is not None else None
        mark = marks.get(name, Marks())
        count = len(mark.lines) + sum(len(c) for c in mark.cells.values())
        if path is None or not path.is_file():
            views.append(SourceView(name, Markup(""), count,
                                    "the file is no longer available to show"))
            continue
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            views.append(SourceView(name, Markup(""), count,
                                    f"not shown: {size // 1000} kB is too large for a report"))
            continue
        data = path.read_bytes()
        if name.endswith(".ipynb"):
            html, note = _notebook_html(name, data, mark)
        else:
            html, note = _python_html(name, data.decode("utf-8", errors="replace"), mark), ""
        views.append(SourceView(name, html, count, note))
    return views


def _python_html(name: str, text: str, mark: Marks) -> Markup:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    lines = text.count("\n") + 1
    formatter = HtmlFormatter(linenos="inline", hl_lines=[n for n in mark.lines if n <= lines],
                              lineanchors=f"src-{_slug(name)}", anchorlinenos=True,
                              wrapcode=True, cssclass="source")
    # Pygments escapes the code it highlights; the markup it adds is its own
    return Markup(highlight(text, PythonLexer(), formatter))


def _notebook_html(name: str, data: bytes, mark: Marks) -> tuple[Markup, str]:
    import nbformat
    from nbconvert import HTMLExporter

    try:
        notebook = nbformat.reads(data.decode("utf-8", errors="replace"), as_version=4)
    except Exception as err:  # nbformat raises many kinds for a damaged file  # noqa: BLE001
        return Markup(""), f"not shown: the notebook cannot be read ({type(err).__name__})"
    cells, number = [], 0
    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            number += 1
            pointed = mark.cells.get(number)
            note = f"code cell {number}"
            if pointed:
                note += ": the checks point at " + "; ".join(
                    f"line {line} ({', '.join(ids)})" for line, ids in sorted(pointed.items()))
            anchor = nbformat.v4.new_markdown_cell(
                f'<span id="{cell_anchor(name, number)}">{"▶ " if pointed else ""}'
                f"{note}</span>")
            cells.append(anchor)
        cells.append(cell)
    notebook.cells = cells
    exporter = HTMLExporter(template_name="basic", exclude_input_prompt=True,
                            exclude_output_prompt=True, anchor_link_text="")
    body, _ = exporter.from_notebook_node(notebook)
    return Markup(_demoted(sanitized(body))), ""


def _demoted(html: str) -> str:
    """The notebook's own headings three levels down: its "# Lab1" sits inside the report's
    "Your code" section, and the page's outline must stay the report's."""
    return re.sub(r"<(/?)h([1-6])\b", lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + 3)}",
                  html)


def answer_html(root: Path | None, main: str | None, heading: str) -> Markup | None:
    """The student's answer in a notebook: the cells under the first Markdown cell that
    contains ``heading`` (:func:`grader.notebook_parts.heading_span`), rendered with their
    outputs (sanitized); None when the notebook or the heading is not there."""
    if root is None or not main or not main.endswith(".ipynb") or not heading.strip():
        return None
    import nbformat
    from nbconvert import HTMLExporter

    from grader.notebook_parts import heading_span

    try:
        notebook = nbformat.reads((root / main).read_text(encoding="utf-8", errors="replace"),
                                  as_version=4)
    except Exception:  # noqa: BLE001 -- an unreadable notebook shows no answer
        return None
    span = heading_span(notebook.cells, heading)
    if span is None:
        return None
    notebook.cells = notebook.cells[span[0]:span[1]]
    exporter = HTMLExporter(template_name="basic", exclude_input_prompt=True,
                            exclude_output_prompt=True, anchor_link_text="")
    body, _ = exporter.from_notebook_node(notebook)
    return Markup(_demoted(sanitized(body)))


def pygments_css() -> str:
    """The highlighting styles of both the Python listings and nbconvert's cells."""
    from pygments.formatters import HtmlFormatter

    formatter = HtmlFormatter(style="default")
    return formatter.get_style_defs([".source", ".highlight"])
