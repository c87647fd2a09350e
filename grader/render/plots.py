"""The reports' plots, drawn with matplotlib and embedded as data URIs.

A report must open from an e-mail attachment with no network, so every figure is inside the
page: SVG (sharp on a phone and in print) as a ``data:`` URI in an ``<img>``, which also keeps
each figure's internal ids apart from the page's and lets it carry alt text.  Figures are made
with matplotlib's object API (:class:`~matplotlib.figure.Figure`), never with ``pyplot``,
whose global state is not safe while other threads work; the SVG's ids and metadata are fixed,
so the same result draws the same bytes.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib
from matplotlib.figure import Figure

LABEL_STYLES = {0: ("o", "#b2182b", "label 0"), 1: ("^", "#2166ac", "label 1")}
"""The lab's red-for-0, blue-for-1, with a shape each, so that colour is not the only cue."""
STUDENT_COLOUR, REFERENCE_COLOUR = "#2166ac", "#636363"


@dataclass(frozen=True)
class Plot:
    """An embedded figure: its ``data:`` URI and the text that stands for it."""

    uri: str
    alt: str
    caption: str = ""


def _svg_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "labgrade", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def png_uri(png: bytes) -> str:
    """A PNG the student's program drew, as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _losses(values: Sequence[Any] | None) -> list[float]:
    """A curve as read back from ``result.json``, where a loss that diverged is the string
    "nan" or "inf": as floats, the points a log axis cannot show left as gaps (NaN)."""
    out = []
    for value in values or []:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        out.append(number if math.isfinite(number) and number > 0 else
                   (1e-300 if number == 0 else math.nan))
    return out


def _ends(curve: list[float]) -> str:
    shown = [v for v in curve if math.isfinite(v)]
    if not shown:
        return "no finite loss (it diverged)"
    text = f"from {shown[0]:.3g} to {shown[-1]:.3g}"
    return text + (", with passes where it diverged" if len(shown) < len(curve) else "")


def loss_curves(student: Sequence[Any], every: int, reference: Sequence[Any] | None,
                task: str) -> Plot:
    """The grader's training of the student's network (log scale), beside the reference's
    from the same start when there is one: a correct network retraces it."""
    student, reference = _losses(student), _losses(reference)
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    epochs = [1 + i * every for i in range(len(student))]
    ax.plot(epochs, student, color=STUDENT_COLOUR, linewidth=2, label="your network")
    if reference:
        ref_epochs = [1 + i * every for i in range(len(reference))]
        ax.plot(ref_epochs, reference, color=REFERENCE_COLOUR, linewidth=1.5,
                linestyle="--", label="reference")
    ax.set_yscale("log")
    ax.set_xlabel("pass over the data (epoch)")
    ax.set_ylabel("mean loss (MSE)")
    ax.set_title(f"Learning curve: {task} data")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    alt = (f"Learning curve on the {task} data, log scale: your network's mean loss goes "
           f"{_ends(student)} in {1 + (len(student) - 1) * every} passes"
           if student else f"Learning curve on the {task} data: no loss was recorded")
    if reference:
        alt += f"; the reference's {_ends(reference)}"
    return Plot(_svg_uri(fig), alt + ".")


def predictions(x: Sequence[Sequence[float]], truth: Sequence[int],
                predicted: Sequence[float], task: str) -> Plot:
    """Ground truth beside the predictions, as in the lab's ``show_result``; the points the
    network gets wrong are ringed."""
    labels = [1 if p >= 0.5 else 0 for p in predicted]
    wrong = [i for i, (t, p) in enumerate(zip(truth, labels)) if int(t) != p]
    fig = Figure(figsize=(8.4, 3.9))
    for position, (values, title) in enumerate(((truth, "Ground truth"),
                                                (labels, "Predict result")), start=1):
        ax = fig.add_subplot(1, 2, position)
        for label, (marker, colour, name) in LABEL_STYLES.items():
            points = [p for p, v in zip(x, values) if int(v) == label]
            if points:
                ax.scatter([p[0] for p in points], [p[1] for p in points], marker=marker,
                           color=colour, s=28, label=name)
        if position == 2 and wrong:
            ax.scatter([x[i][0] for i in wrong], [x[i][1] for i in wrong], s=130,
                       facecolors="none", edgecolors="black", linewidths=1.5,
                       label="wrong")
        ax.set_title(title)
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="best", fontsize="small")
    alt = (f"Predictions on the {len(truth)} {task} training points beside the ground truth: "
           + (f"{len(wrong)} point(s) classified wrongly, ringed." if wrong
              else "every point classified correctly."))
    return Plot(_svg_uri(fig), alt)


def histogram(totals: Sequence[float], maximum: float) -> Plot:
    """The class's total scores, in bins of a tenth of the maximum."""
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    top = maximum if maximum > 0 else 1.0
    edges = [top * i / 10 for i in range(11)]
    ax.hist(list(totals), bins=edges, color=STUDENT_COLOUR, edgecolor="white")
    ax.set_xlabel(f"total (out of {top:g})")
    ax.set_ylabel("students")
    ax.set_xlim(0, top)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Score distribution")
    counts = [sum(1 for t in totals if lo <= t < hi or (hi == top and t == top))
              for lo, hi in zip(edges, edges[1:])]
    alt = "Histogram of total scores: " + "; ".join(
        f"{count} between {lo:g} and {hi:g}" for count, lo, hi in zip(counts, edges, edges[1:])
        if count) if totals else "Histogram of total scores: no student graded yet"
    return Plot(_svg_uri(fig), alt + ".")
