"""View models of the student report: what each part of the page says, made from one
``result.json``.

The templates only lay these out; every number shown here was computed by the checks and the
score stage, and is only formatted.  Each check's evidence is built by a function registered
for its id with :func:`evidence` (a check added later gets its own, or the generic one, which
lists its details), beside the blocks that function may use: tables, plots, preformatted text,
name-value pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Mapping, Sequence

from markupsafe import Markup

from grader.render import plots
from grader.render.source import (SourceView, answer_html, find_marks, line_anchor, linked,
                                  render_sources)
from grader.score import round_points

STATUS_WORDS = {"pass": "Passed", "fail": "Failed", "error": "Error", "skip": "Skipped"}
STATUS_SYMBOLS = {"pass": "✓", "fail": "✗", "error": "!", "skip": "–"}
"""A symbol and a word for each status: the badge's colour is never the only cue."""


# --- blocks of evidence ------------------------------------------------------------------------

@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[str]]
    flagged: list[bool] = field(default_factory=list)
    """Per row: this row is where the problem is (highlighted, and marked in words)."""
    kind: str = "table"


@dataclass
class PlotBlock:
    plot: plots.Plot
    kind: str = "plot"


@dataclass
class Pre:
    title: str
    text: str
    kind: str = "pre"


@dataclass
class Text:
    html: Markup
    kind: str = "text"


@dataclass
class Pairs:
    title: str
    items: list[tuple[str, Markup | str]]
    kind: str = "pairs"


Block = Table | PlotBlock | Pre | Text | Pairs


@dataclass
class EvidenceContext:
    """What an evidence builder may use beside the check's details."""

    files: list[str]
    main: str | None
    figures: list[bytes]
    method_lines: dict[str, int]
    """Where the student's methods are defined in the main file (``backprop`` -> 52)."""

    def link(self, text: str) -> Markup:
        return linked(text, self.files, self.main)


EvidenceBuilder = Callable[[Mapping[str, Any], EvidenceContext], list[Block]]
EVIDENCE: dict[str, EvidenceBuilder] = {}


def evidence(check_id: str) -> Callable[[EvidenceBuilder], EvidenceBuilder]:
    """Register the function that shows a check's evidence in the report."""

    def decorate(func: EvidenceBuilder) -> EvidenceBuilder:
        EVIDENCE[check_id] = func
        return func

    return decorate


def _number(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _shape(shape: Any) -> str:
    return "×".join(str(s) for s in shape) if isinstance(shape, (list, tuple)) else str(shape)


# --- the checks' evidence ----------------------------------------------------------------------

@evidence("interface")
def _interface(details: Mapping[str, Any], ctx: EvidenceContext) -> list[Block]:
    blocks: list[Block] = []
    program = details.get("program") or {}
    items: list[tuple[str, Markup | str]] = []
    if program.get("learned"):
        items.append(("learned from your program", program["learned"]))
    elif details.get("class"):
        items.append(("built as", f"{details['class']}({details.get('constructor', '')})"))
    for role, name in (details.get("methods") or {}).items():
        line = ctx.method_lines.get(str(name))
        where = f"{ctx.main}, line {line}" if line and ctx.main else ""
        items.append((f"{role} method", ctx.link(f"{name} ({where})" if where else str(name))))
    if details.get("layout"):
        items.append(("parameters", str(details["layout"])))
    if items:
        blocks.append(Pairs("How the grader builds and steps your network", items))
    params = details.get("parameters") or []
    if params:
        blocks.append(Table("The arrays the grader found as your network's parameters",
                            ["parameter", "shape"],
                            [[str(p.get("path")), _shape(p.get("shape"))] for p in params]))
    return blocks


@evidence("forward")
def _forward(details: Mapping[str, Any], ctx: EvidenceContext) -> list[Block]:
    comparison = details.get("comparison") or {}
    items: list[tuple[str, Markup | str]] = []
    if comparison:
        items += [("inputs compared", _number(comparison.get("compared_on"))),
                  ("largest difference", _number(comparison.get("max_difference"))),
                  ("tolerance", _number(comparison.get("tolerance"))),
                  ("worst input", str(comparison.get("worst_input")))]
    if details.get("output_shape"):
        items.append(("predict's output on the 21 XOR points", _shape(details["output_shape"])))
    blocks: list[Block] = [Pairs("Your predict against the reference", items)] if items else []
    inputs, expected = comparison.get("inputs") or [], comparison.get("expected") or []
    observed, gaps = comparison.get("observed") or [], comparison.get("differences") or []
    if inputs and len(inputs) == len(expected) == len(observed) == len(gaps):
        tolerance = float(comparison.get("tolerance") or 0)
        wrong = [not isinstance(g, (int, float)) or g > tolerance for g in gaps]
        blocks.append(Table(
            "Input by input: the reference forward pass of your weights against your predict",
            ["input x", "expected (reference)", "your predict", "relative difference"],
            [[str(x), ", ".join(_number(v, 4) for v in e), ", ".join(_number(v, 4) for v in o),
              _number(g)] for x, e, o, g in zip(inputs, expected, observed, gaps)],
            wrong))
    for note in details.get("notes") or []:
        blocks.append(Text(ctx.link(str(note))))
    return blocks


def _gradient_cases(details: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(name, case) for name, case in details.items()
            if isinstance(case, Mapping) and isinstance(case.get("layers"), list)]


@evidence("gradient")
def _gradient(details: Mapping[str, Any], ctx: EvidenceContext) -> list[Block]:
    cases = _gradient_cases(details)
    wrong = [(name, case) for name, case in cases if not case.get("all_ok", case.get("ok"))]
    # one table per distinct finding: three samples with the same bug tell it once
    shown: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for name, case in wrong or cases[:1]:
        shown.setdefault(str(case.get("message", "")), (name, case))
    blocks: list[Block] = []
    for message, (name, case) in list(shown.items())[:3]:
        rows, flagged = [], []
        for layer in case["layers"]:
            rows.append([str(layer.get("layer", "")), str(layer.get("name", "")),
                         _shape(layer.get("shape")), _number(layer.get("rel_error")),
                         _number(layer.get("cosine")), _number(layer.get("scale_ratio")),
                         "right" if layer.get("ok") else "WRONG"])
            flagged.append(not layer.get("ok"))
        blocks.append(Table(
            f"Per layer, on {name}: the step your code applied against the true gradient",
            ["layer", "parameter", "shape", "relative error", "cosine", "scale ratio",
             "verdict"], rows, flagged))
        if len(shown) > 1 and message:
            blocks.append(Text(ctx.link(message)))
        if case.get("hint"):
            blocks.append(Text(Markup("<strong>Where to look:</strong> ") +
                               ctx.link(str(case["hint"]))))
    rest = [name for name, _ in cases if name not in {n for n, _ in shown.values()}]
    if rest:
        alike = "the same finding" if wrong else "a right gradient"
        if wrong and len(wrong) < len(cases):
            alike = f"{len(cases) - len(wrong)} of them right"
        blocks.append(Text(Markup("Also measured on {}: {}.").format(", ".join(rest), alike)))
    backward = ctx.method_lines.get("backprop") or next(
        (line for name, line in ctx.method_lines.items() if "back" in name.lower()), None)
    if wrong and backward and ctx.main:
        blocks.append(Text(Markup("Your backward pass starts at ") +
                           ctx.link(f"{ctx.main}, line {backward}") + Markup(".")))
    if details.get("never_changes"):
        blocks.append(Text(ctx.link("never changed by a step: "
                                    + ", ".join(map(str, details["never_changes"])))))
    return blocks


evidence("step")(_gradient)  # a notebook's step function: the same per-layer evidence


def _training(task: str) -> EvidenceBuilder:
    def build(details: Mapping[str, Any], ctx: EvidenceContext) -> list[Block]:
        blocks: list[Block] = []
        curve = details.get("loss_curve") or []
        if curve:
            blocks.append(PlotBlock(plots.loss_curves(
                curve, int(details.get("loss_curve_every") or 1),
                details.get("reference_loss_curve"), task)))
        shown = details.get("predictions") or {}
        if shown.get("x"):
            blocks.append(PlotBlock(plots.predictions(shown["x"], shown["truth"],
                                                      shown["predicted"], task)))
        attempts = details.get("attempts") or []
        if attempts:
            rows = [[str(a.get("from", "")), _number(a.get("steps")), str(a.get("stopped", "")),
                     _number(a.get("last_pass_worst_loss")),
                     f"{100 * a['accuracy']:.0f}%" if isinstance(a.get("accuracy"), float)
                     else "", "yes" if a.get("passed") else "no"] for a in attempts]
            blocks.append(Table("Training runs of your network (lr "
                                f"{_number(details.get('lr'))}, "
                                f"{details.get('data_points', '?')} points)",
                                ["started from", "steps", "stopped by",
                                 "worst loss (last pass)", "accuracy", "succeeded"],
                                rows, [not a.get("passed") for a in attempts]))
        if details.get("initialisation"):
            blocks.append(Text(ctx.link(str(details["initialisation"]))))
        return blocks

    return build


evidence("train_linear")(_training("linear"))
evidence("train_xor")(_training("xor"))


@evidence("numpy_only")
def _numpy_only(details: Mapping[str, Any], ctx: EvidenceContext) -> list[Block]:
    found = details.get("imports") or []
    blocks: list[Block] = []
    if found:
        blocks.append(Table("Imports the lab does not allow",
                            ["module", "where", "statement"],
                            [[str(i.get("module")), str(i.get("where")),
                              str(i.get("statement"))] for i in found],
                            [True] * len(found)))
    late = details.get("imported_at_run_time") or []
    if late:
        blocks.append(Text(Markup("Imported while your code ran: {}").format(
            ", ".join(map(str, late)))))
    return blocks


@evidence("program")
def _program(details: Mapping[str, Any], ctx: EvidenceContext) -> list[Block]:
    blocks: list[Block] = []
    output = details.get("stdout", details.get("stdout_tail"))
    if output:
        blocks.append(Pre("What your program printed", str(output)))
    elif "stdout" in details or "stdout_tail" in details:
        blocks.append(Text(Markup("Your program printed nothing.")))
    for number, png in enumerate(ctx.figures, start=1):
        blocks.append(PlotBlock(plots.Plot(plots.png_uri(png),
                                           f"Figure {number} drawn by your program",
                                           f"Figure {number} of your program")))
    return blocks


def _evidence(build: EvidenceBuilder, details: Mapping[str, Any], ctx: EvidenceContext
              ) -> list[Block]:
    """A check's evidence; details a builder cannot show (a bug of ours, or details from
    another version of the grader) cost that evidence, not the student's whole report."""
    try:
        return build(details, ctx)
    except Exception as err:  # noqa: BLE001 -- the message and the other checks still show
        return [Text(Markup("The evidence of this check could not be shown ({}).").format(
            type(err).__name__))]


@evidence("function")
def _function(details: Mapping[str, Any], ctx: EvidenceContext) -> list[Block]:
    rows = details.get("rows") or []
    if not rows:
        return []
    name = details.get("function", "your function")
    return [Table(f"{name} call by call: the reference's result against yours (tolerance "
                  f"{_number(details.get('tolerance'))}, relative)",
                  ["input", "kind", "expected (reference)", "yours", "verdict"],
                  [[str(r.get("input", "")), "edge case" if r.get("edge") else "random",
                    str(r.get("expected", "")), str(r.get("got", "")),
                    "right" if r.get("ok") else
                    "changed its input" if r.get("changed its input") else
                    "right, but with a floating-point warning" if r.get("warned") else "WRONG"]
                   for r in rows], [not r.get("ok") for r in rows])]


@evidence("variables")
def _variables(details: Mapping[str, Any], ctx: EvidenceContext) -> list[Block]:
    blocks: list[Block] = []
    found = details.get("variables") or {}
    if found:
        blocks.append(Table("Your variables after the program ran top to bottom",
                            ["variable", "type", "shape", "dtype"],
                            [[str(n), str(v.get("type", "")), _shape(v.get("shape", "")),
                              str(v.get("dtype", ""))] for n, v in found.items()]))
    labels, stored = details.get("labels") or [], details.get("stored") or []
    if labels and len(labels) == len(stored):
        given = details.get("predicted_labels") or []
        again = details.get("recomputed") or []
        columns = ["sample", "right label", "your prediction", "its label"]
        if len(again) == len(stored):
            columns.append("recomputed from your weights")
        rows, flagged = [], []
        for i, (label, value) in enumerate(zip(labels, stored)):
            row = [str(i), str(label), _number(value), str(given[i]) if i < len(given) else ""]
            if len(again) == len(stored):
                row.append(_number(again[i]))
            rows.append(row)
            flagged.append(i < len(given) and given[i] != label)
        blocks.append(Table("The prediction, sample by sample", columns, rows, flagged))
    return blocks


def _generic(details: Mapping[str, Any], ctx: EvidenceContext) -> list[Block]:
    """A check without its own evidence view: its simple details, as name and value."""
    # a grader failure's traceback is for the TA (on stderr), never for the student
    items = [(str(k), _number(v)) for k, v in details.items()
             if isinstance(v, (str, int, float, bool)) and not k.endswith("traceback")]
    return [Pairs("Details", items)] if items else []


# --- the page --------------------------------------------------------------------------------

@dataclass
class CheckView:
    id: str
    title: str
    status: str
    status_word: str
    symbol: str
    points: str
    message: Markup
    blocks: list[Block]
    traceback: Markup = Markup("")


@dataclass
class SectionView:
    title: str
    kind: str
    points: str
    pending: bool
    answer: Markup | None = None
    """For a manual section: the student's answer cells, shown beside the TA's points."""


@dataclass
class ReportView:
    """Everything the student report shows."""

    student: str
    student_id: str
    student_name: str
    submission: str
    files: list[str]
    submitted_at: str
    late_reason: str
    late_factor: str
    is_late: bool
    total: str
    maximum: str
    verdict: str
    graded: bool
    error: Markup | None
    sections: list[SectionView]
    checks: list[CheckView]
    comment: str | None
    notes: list[Markup]
    sources: list[SourceView]
    run_info: list[tuple[str, str]]
    self_check: str = ""
    """For a student's self-check: what it covers (else empty, the TA's grading)."""


def _points(points: Any, maximum: Any) -> str:
    shown = "–" if points is None else f"{round_points(points):g}"
    return f"{shown} / {round_points(maximum):g}"


def _when(text: str | None) -> str:
    if not text:
        return "unknown"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() if moment.tzinfo else \
        moment.strftime("%Y-%m-%d %H:%M")


def _verdict(result: Mapping[str, Any], checks: Sequence[CheckView], *, pending: bool
             ) -> str:
    if not result.get("graded"):
        return "Not graded: " + str(result.get("error") or "the submission could not be read")
    needing = [c.id for c in checks if c.status in ("fail", "error")]
    waiting = [s.get("title") for s in result.get("sections") or []
               if pending and s.get("kind") == "manual" and s.get("points") is None]
    text = (f"{len(needing)} of {len(checks)} automatic checks need work: {', '.join(needing)}."
            if needing else f"All {len(checks)} automatic checks passed."
            if all(c.status == "pass" for c in checks) else
            "No automatic check failed; some could not be run.")
    skipped = [c.id for c in checks if c.status == "skip"]
    if needing and skipped:
        text += f" Not checked until then: {', '.join(skipped)}."
    if waiting:
        text += f" Pending the TA's grading: {', '.join(map(str, waiting))}."
    return text


def method_lines(root: Path | None, main: str | None) -> dict[str, int]:
    """``def name(`` lines of the main Python file: where a method the checks name starts."""
    if root is None or not main or not main.endswith(".py") or not (root / main).is_file():
        return {}
    found: dict[str, int] = {}
    text = (root / main).read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"\s*def\s+(\w+)\s*\(", line)
        if match:
            found.setdefault(match.group(1), number)
    return found


def _texts(check: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    yield check["id"], str(check.get("message", ""))
    details = check.get("details") or {}
    if details.get("traceback"):
        yield check["id"], str(details["traceback"])
    for found in details.get("imports") or []:
        if isinstance(found, Mapping) and found.get("where"):
            yield check["id"], str(found["where"])


def build_report(result: Mapping[str, Any], *, titles: Mapping[str, str],
                 files_root: Path | None, figures: Sequence[bytes],
                 run_info: Sequence[tuple[str, str]] = (), main: str | None = None,
                 public_checks: Collection[str] | None = None,
                 answers: Mapping[str, str] | None = None) -> ReportView:
    """The view of one student's report.  ``titles`` name the checks (their registered
    summaries); ``files_root`` holds the submission's files (None: the source is not shown);
    ``figures`` are the PNGs the student's program drew.  ``public_checks``: the report of a
    self-check, which runs these checks only (its headline is their points, not a grade).
    ``answers``: per manual section, the heading of the student's answer in a notebook."""
    student = result.get("student") or {}
    submission = result.get("submission") or {}
    files = [str(f) for f in submission.get("files") or []]
    main = main or next((f for f in files if f.endswith((".py", ".ipynb"))), None)
    if main in files:  # the main file first in the listing
        files = [main, *(f for f in files if f != main)]
    ctx = EvidenceContext(files, main, list(figures), method_lines(files_root, main))
    checks = []
    for check in result.get("checks") or []:
        details = check.get("details") or {}
        build = EVIDENCE.get(check.get("kind") or check["id"], _generic)
        checks.append(CheckView(
            check["id"], titles.get(check["id"]) or titles.get(check.get("kind") or "", "")
            or check["id"], check["status"],
            STATUS_WORDS.get(check["status"], check["status"]),
            STATUS_SYMBOLS.get(check["status"], "?"),
            _points(check.get("points"), check.get("max_points")),
            ctx.link(str(check.get("message", ""))),
            _evidence(build, details, ctx) if check["status"] != "skip" else [],
            ctx.link(str(details.get("traceback") or ""))))
    marks = find_marks((t for c in result.get("checks") or [] for t in _texts(c)), files, main)
    score = result.get("score") or {}
    late = result.get("late") or {}
    factor = score.get("late_factor", late.get("factor", 1.0))
    name = student.get("name") or ""
    sid = student.get("id") or ""
    if public_checks is not None:
        public = [c for c in result.get("checks") or [] if c["id"] in public_checks]
        earned = sum(float(c.get("points") or 0) for c in public)
        most = sum(float(c.get("max_points") or 0) for c in public)
        score = {"total": earned, "max": most, "late_factor": 1.0}
        late = {"reason": "not judged in a self-check: the TA's grading applies the deadline"}
        checks = [c for c in checks if c.id in public_checks]
    return ReportView(
        self_check="" if public_checks is None else (
            "The public checks only, on the rubric's public data. The TA's grading may add "
            "hidden data, the checks that are not public, the parts graded by hand and the "
            "deadline."),
        student=" ".join(p for p in (sid, name) if p) or Path(str(submission.get("path",
                                                                              "?"))).name,
        student_id=sid, student_name=name,
        submission=Path(str(submission.get("path", ""))).name, files=files,
        submitted_at=_when(submission.get("submitted_at")),
        late_reason=str(late.get("reason") or ""), late_factor=f"{factor:g}",
        is_late=bool(factor is not None and factor < 1),
        total=f"{round_points(score.get('total') or 0):g}",
        maximum=f"{round_points(score.get('max') or 0):g}",
        verdict=_verdict(result, checks, pending=public_checks is None),
        graded=bool(result.get("graded")),
        error=ctx.link(str(result["error"])) if result.get("error") else None,
        sections=[SectionView(str(s.get("title")), str(s.get("kind")),
                              _points(s.get("points"), s.get("max_points")),
                              s.get("points") is None,
                              answer_html(files_root, main, (answers or {}).get(
                                  str(s.get("id")), "")))
                  for s in result.get("sections") or []],
        checks=checks, comment=result.get("comment"),
        notes=[ctx.link(str(n)) for n in result.get("notes") or []],
        sources=render_sources(files_root, files, marks),
        run_info=list(run_info))


__all__ = ["EVIDENCE", "ReportView", "build_report", "evidence", "line_anchor"]
