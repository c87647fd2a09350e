"""``variables``: after the notebook ran top to bottom, its variables hold what the exercise
asks for, and its predictions are its own.

A generic kind: a rubric names the variables (``wout``, ``bout``, ``y_pred``) with their
shapes, and may name the prediction with the labels it must get right and the reference
forward pass that recomputes it from the stored weights.  Saved outputs are not evidence: the
notebook is run again from the top, and a prediction pasted in (or left over from cells run
out of order) does not follow from the weights it sits beside.

Measurement: the variables as the submission left them (type, shape, values).
Judgement: each exists with its shape; the prediction classifies the exercise's data (labels
thresholded at the rubric's threshold); recomputed by the reference from the stored
variables, it is the stored prediction within the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reference.deferred import np
from grader.checks.base import ERROR, FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext, probe_failure
from grader.checks.function import REFERENCE, reference_function
from grader.rubric import IDENTIFIER, CheckConfig, setting

DATA = "@inputs"
"""In ``prediction.arguments``: the rubric's own ``inputs`` rather than a student variable."""


@dataclass(frozen=True)
class Variable:
    """``[checks.<name>.variables.<variable>]``: one variable the exercise leaves behind."""

    shape: tuple[int, ...] = setting((), "Its shape; [] accepts any.", minimum=0)
    lenient_shape: bool = setting(True, "(N,) for (N, 1), or the reverse, is accepted.")
    at_most: float | None = setting(None, "Every value must be at most this (a final error "
                                          "rate, a loss).")
    at_least: float | None = setting(None, "Every value must be at least this.")
    entries: tuple[tuple[int, ...], ...] = setting(
        (), "For a dictionary of arrays (a modular notebook's Ws, by layer): the shape of each "
            "entry, in the order of its keys.")


@dataclass(frozen=True)
class Moment:
    """``[checks.<name>.moment]``: judge the notebook as it was after a part of it (the
    single-layer XOR, before the MLP cells reuse its names): after the last cell at which the
    ``with`` variables existed and the ``without`` ones did not yet."""

    present: tuple[str, ...] = setting((), "Variables that exist at that moment.",
                                       key="with", valid=IDENTIFIER)
    absent: tuple[str, ...] = setting((), "Variables that do not exist yet at that moment.",
                                      key="without", valid=IDENTIFIER)
    heading: str = setting("", "Or: after the last code cell under the Markdown heading that "
                               "contains this text (\"Example 1\"), when later parts reuse "
                               "the same names.")


@dataclass(frozen=True)
class Prediction:
    """``[checks.<name>.prediction]``: the prediction must classify the data and follow from
    the stored weights."""

    variable: str = setting(help="The variable holding the prediction (y_pred).",
                            valid=IDENTIFIER)
    labels: tuple[float, ...] = setting((), "The right label of each sample, in order.")
    labels_from: str = setting("", "Or: the variable holding the labels, as the notebook left "
                                   "them (a notebook that shuffles its data in place); one-hot "
                                   "rows give each row's class.",
                               valid=(lambda t: not t or IDENTIFIER[0](t), IDENTIFIER[1]))
    classes: Literal["threshold", "argmax"] = setting(
        "threshold", "How a prediction names its class: above the threshold is 1 (in the "
                     "column of the labels' class 1, for several columns), or 'argmax': the "
                     "column of its largest value, as the tutorial's accuracy counts.")
    threshold: float = setting(0.5, "A prediction above it is label 1.")
    accuracy: float = setting(1.0, "Share of samples it must label right; with expect = "
                                   "'not_learned', a share it must stay below.", minimum=0,
                              maximum=1)
    expect: Literal["learned", "not_learned"] = setting(
        "learned", "'not_learned' for a model that cannot learn the data (a single layer on "
                   "XOR): the exercise shows it failing, and a model that succeeds is doing "
                   "something else.")
    forward: str = setting("", "The reference forward pass (module:function) that recomputes "
                               "the prediction from the stored variables (when it returns "
                               "every layer's output, the last one); empty: none.",
                           valid=(lambda t: not t or REFERENCE[0](t), REFERENCE[1]))
    arguments: tuple[str, ...] = setting((), f"Its arguments: variable names, or {DATA} for "
                                             "the rubric's inputs.")
    inputs: tuple[tuple[float, ...], ...] = setting((), "The exercise's inputs, one row per "
                                                        "sample (for the recomputation).")
    column: int | None = setting(None, "For a prediction of one column per class (a softmax), "
                                       "the column of the class the labels call 1.")
    tolerance: float = setting(0.05, "Largest difference between the stored prediction and "
                                     "the recomputed one (the last update may come after the "
                                     "last prediction).", minimum=0)
    max_error: float = setting(0.5, "A learned prediction must be this close to the label of "
                                    "every sample it labels right: an untrained unit can land "
                                    "on the right side of 0.5 by chance (0.5: the right side "
                                    "is enough).", above=0, maximum=1)


@dataclass(frozen=True)
class VariablesCheck(CheckConfig):
    """``[checks.<name>]`` with ``kind = "variables"``: what the notebook leaves behind."""

    variables: dict[str, Variable] = setting(
        factory=dict, help="The variables that must exist, by name, with their shapes.",
        key_valid=IDENTIFIER)
    prediction: Prediction | None = setting(None, "The prediction to judge, if any.")
    moment: Moment | None = setting(None, "Judge the notebook after a part of it rather than "
                                          "at its end (notebooks only).")
    restarts: int = setting(0, "When the prediction is not learned, run the program again "
                               "from the top up to this many times, every seed it sets (and "
                               "every unseeded draw) changed each time; the first run that "
                               "learns counts.  A correct network stuck from an unlucky "
                               "start (about one XOR start in seven with two hidden units) "
                               "is not failed for it.", minimum=0, maximum=20)

    def problems(self):
        prediction = self.prediction
        if prediction is not None and bool(prediction.labels) == bool(prediction.labels_from):
            yield "prediction.labels", "expected either the labels or labels_from"
        moment = self.moment
        if moment is not None and bool(moment.heading) == bool(moment.present or moment.absent):
            yield "moment", "expected either a heading or with/without variables"


def _shape_ok(shape: list[int], wanted: tuple[int, ...], lenient: bool) -> bool:
    if not wanted or list(shape) == list(wanted):
        return True
    squeeze = [d for d in shape if d != 1]
    return lenient and squeeze == [d for d in wanted if d != 1]


@register("variables", config=VariablesCheck, generic=True,
          summary="the notebook's variables hold what the exercise asks for")
def check_variables(ctx: GradingContext) -> Verdict:
    conf: VariablesCheck = ctx.config(ctx.current)
    runs = int(conf.restarts) + 1
    for restart in range(runs):
        verdict, stuck = _one_run(ctx, conf, restart)
        if not stuck:
            break
    if restart:
        verdict.details["runs"] = restart + 1
        if verdict.status == PASS:
            verdict.message += (f" (learned in run {restart + 1} of your program, run again "
                                "from another start: a correct network can get stuck from an "
                                "unlucky one)")
        else:
            verdict.message += (f"; from none of {runs} runs, each from another start "
                                "(every seed your program sets changed)")
    return verdict


def _one_run(ctx: GradingContext, conf: VariablesCheck, restart: int
             ) -> tuple[Verdict, bool]:
    """One run of the program, judged; and whether it only failed to learn (another start
    may do)."""
    wanted = dict(conf.variables)
    prediction = conf.prediction
    names = list(wanted) + ([prediction.variable] if prediction else []) + \
        [a for a in (prediction.arguments if prediction else ()) if a != DATA] + \
        ([prediction.labels_from] if prediction and prediction.labels_from else [])
    asked: dict[str, Any] = {"names": list(dict.fromkeys(names))}
    moment = conf.moment
    if moment is not None and moment.heading:
        cells = ctx.cells_under(moment.heading)
        if isinstance(cells, str):
            return Verdict(FAIL, cells, 0.0), False
        asked["moment"] = {"until": max(cells)}
    elif moment is not None:
        asked["moment"] = {"with": list(moment.present), "without": list(moment.absent)}
    step = ctx.probe_executed("variables", asked, restart=restart)
    failure = probe_failure(step, "reading your variables")
    if failure:
        return Verdict(ERROR, failure, 0.0), False
    ran = ctx.executed_load
    trouble = f" ({ran.errors[0]})" if ran is not None and ran.errors else ""
    if moment is not None and moment.heading and not step.result.get("moment_found"):
        return Verdict(FAIL, f"your notebook{trouble} did not run as far as the cells under "
                             f"\"{moment.heading}\"", 0.0), False
    if moment is not None and not step.result.get("moment_found"):
        absent = f" before {', '.join(moment.absent)}" if moment.absent else ""
        return Verdict(FAIL, f"no cell of your notebook{trouble} leaves "
                             f"{', '.join(moment.present)}{absent}: the part of the exercise "
                             "that makes them is missing", 0.0), False
    when = f" after cell {step.result['cell']}" if moment is not None else ""
    found: dict[str, Any] = step.result["variables"]
    details: dict[str, Any] = {"variables": {n: _described(d) for n, d in found.items()}}
    missing = [n for n in dict.fromkeys(names) if n not in found]
    if missing:
        return Verdict(FAIL, f"after your program ran top to bottom{trouble}, "
                             f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                             f"not defined{when}", 0.0, details), False
    problems = []
    for name, spec in wanted.items():
        shape = found[name].get("shape")
        if spec.entries:
            problems += _entries(name, spec, found[name])
        elif shape is None:
            problems.append(f"{name} is a {found[name]['type']}, not an array of numbers")
        elif not _shape_ok(shape, tuple(spec.shape), bool(spec.lenient_shape)):
            problems.append(f"{name} has shape {tuple(shape)}; expected {tuple(spec.shape)}")
        else:
            problems += _bounds(name, spec, found[name].get("value"))
    stuck = False
    if prediction and not problems:
        problems += _judge_prediction(prediction, found, details)
        # only the learning failed (the prediction is the weights' own): another start may do
        stuck = bool(problems) and prediction.expect == "learned" and \
            "recomputed_difference" in details and \
            not any("does not follow" in p for p in problems)
    if problems:
        return Verdict(FAIL, "; ".join(problems), 0.0, details), stuck
    said = ", ".join(_said(n, found[n]) for n in wanted)
    text = f"{said} as the exercise asks{when}" if said else f"the variables are there{when}"
    if prediction:
        text += (f"; {prediction.variable} labels all {len(details['labels'])} samples right"
                 if details["accuracy"] == 1 else
                 f"; {prediction.variable} labels {details['accuracy']:.0%} right"
                 + (" (this model cannot learn the data, as the exercise shows)"
                    if prediction.expect == "not_learned" else ""))
        if prediction.forward:
            text += " and follows from the stored weights"
    return Verdict(PASS, text, 1.0, details), False


def _said(name: str, found: dict[str, Any]) -> str:
    """A variable in a message: its value if a number, else its shape(s)."""
    if "items" in found:
        return f"{name} {[tuple(v.get('shape') or ()) for v in found['items'].values()]}"
    if found.get("shape") == [] and found.get("value") is not None:
        return f"{name} = {float(np.asarray(found['value'])):.4g}"
    return f"{name} {tuple(found.get('shape') or ())}"


def _described(found: dict[str, Any]) -> dict[str, Any]:
    """A variable for ``details``: its type and shapes, not its values."""
    out = {k: v for k, v in found.items() if k not in ("value", "items", "keys")}
    if "items" in found:
        out["entries"] = {k: _described(v) for k, v in found["items"].items()}
    return out


def _entries(name: str, spec: Variable, found: dict[str, Any]) -> list[str]:
    items = found.get("items")
    if items is None:
        return [f"{name} is a {found.get('type')}, not a dictionary of arrays"]
    shapes = [v.get("shape") for v in items.values()]
    wanted = [list(e) for e in spec.entries]
    if len(shapes) != len(wanted) or not all(
            s is not None and _shape_ok(s, tuple(w), bool(spec.lenient_shape))
            for s, w in zip(shapes, wanted)):
        shown = [tuple(s) if s is not None else None for s in shapes]
        return [f"{name} holds arrays of shapes {shown}; expected {[tuple(w) for w in wanted]}"]
    return []


def as_argument(found: dict[str, Any]) -> Any:
    """A variable as the reference function takes it: an array, or a dictionary of arrays
    keyed as the student keyed it (layer numbers)."""
    if "items" in found:
        return {key: np.asarray(item.get("value"), dtype=float)
                for key, item in zip(found.get("keys", []), found["items"].values())}
    return np.asarray(found.get("value"), dtype=float)


def _bounds(name: str, spec: Variable, value: Any) -> list[str]:
    if value is None or (spec.at_most is None and spec.at_least is None):
        return []
    values = np.asarray(value, dtype=float).reshape(-1)
    shown = f"{values[0]:.4g}" if values.size == 1 else f"from {values.min():.4g} to " \
        f"{values.max():.4g}"
    if spec.at_most is not None and not np.all(values <= spec.at_most):
        return [f"{name} is {shown}; it should be at most {spec.at_most:g}"]
    if spec.at_least is not None and not np.all(values >= spec.at_least):
        return [f"{name} is {shown}; it should be at least {spec.at_least:g}"]
    return []


def _column(values: np.ndarray, column: int | None) -> np.ndarray:
    if column is not None and values.ndim == 2 and values.shape[1] > column:
        values = values[:, column]
    return values.reshape(-1)


def classes_of(raw: np.ndarray, classes: str, threshold: float, column: int | None
               ) -> np.ndarray | None:
    """Each sample's class as a prediction names it: its largest column ('argmax'; None when
    it has no column per class), or above the threshold (in the column of class 1)."""
    if classes == "argmax":
        return raw.argmax(axis=1).astype(float) if raw.ndim == 2 and raw.shape[1] > 1 else None
    return (_column(raw, column) > threshold).astype(float)


def label_classes(labels: Any) -> np.ndarray:
    """The class of each sample from labels: one-hot rows give the column of their 1, a
    column of labels its values."""
    labels = np.asarray(labels, dtype=float)
    if labels.ndim == 2 and labels.shape[1] > 1:
        return labels.argmax(axis=1).astype(float)
    return labels.reshape(-1)


def _labels(prediction: Prediction, found: dict[str, Any]) -> np.ndarray | None:
    """The right class of each sample: the rubric's labels, or the notebook's own."""
    if not prediction.labels_from:
        return label_classes(prediction.labels)
    value = found[prediction.labels_from].get("value")
    return None if value is None else label_classes(value)


def _judge_prediction(prediction: Prediction, found: dict[str, Any],
                      details: dict[str, Any]) -> list[str]:
    raw = found[prediction.variable].get("value")
    if raw is None:
        return [f"{prediction.variable} holds no numbers"]
    raw = np.asarray(raw, dtype=float)
    labels = _labels(prediction, found)
    if labels is None:
        return [f"{prediction.labels_from} holds no labels"]
    by_argmax = prediction.classes == "argmax"
    if by_argmax and (raw.ndim != 2 or raw.shape[1] < 2):
        return [f"{prediction.variable} has shape {raw.shape}: not one column per class"]
    stored = raw.reshape(-1) if by_argmax else _column(raw, prediction.column)
    if (len(raw) if by_argmax else stored.size) != labels.size:
        return [f"{prediction.variable} has {len(raw) if by_argmax else stored.size} values "
                f"for {labels.size} samples"]
    given = classes_of(raw, prediction.classes, prediction.threshold, prediction.column)
    assert given is not None  # a prediction without a column per class was refused above
    accuracy = float(np.mean(given == labels))
    details["accuracy"] = accuracy
    details["labels"] = labels.astype(int).tolist()
    details["stored"] = np.round(stored, 6).tolist()
    details["predicted_labels"] = given.astype(int).tolist()
    problems = []
    if prediction.expect == "not_learned":
        if accuracy >= prediction.accuracy:
            problems.append(f"{prediction.variable} labels {accuracy:.0%} of the samples right, "
                            "but this model cannot learn the data: something else is going on "
                            "(a hidden layer added, the labels or the data changed)")
    elif accuracy < prediction.accuracy:
        wrong = [i for i in range(labels.size) if given[i] != labels[i]]
        problems.append(f"{prediction.variable} labels {accuracy:.0%} of the samples right "
                        f"(needs {prediction.accuracy:.0%}): samples {wrong} are wrong")
    elif not by_argmax:  # the samples it labels right must be learned, not only on the right side
        right = given == labels
        error = float(np.max(np.abs(stored - labels)[right])) if np.any(right) else 1.0
        details["max_error"] = error
        if error >= prediction.max_error:
            problems.append(f"{prediction.variable} is on the right side of "
                            f"{prediction.threshold:g} but not learned: it is {error:.2f} from "
                            f"a label (needs < {prediction.max_error:g}; "
                            f"{np.round(stored, 3).tolist()} for {labels.astype(int).tolist()})")
    if prediction.forward:
        args = [np.asarray(prediction.inputs, dtype=float) if a == DATA else as_argument(found[a])
                for a in prediction.arguments]
        with np.errstate(all="ignore"):
            output = reference_function(prediction.forward)(*args)
        if isinstance(output, tuple):  # a forward pass returning every layer: the last one
            output = output[-1]
        output = np.asarray(output, dtype=float)
        recomputed = output.reshape(-1) if by_argmax else _column(output, prediction.column)
        gap = float(np.max(np.abs(recomputed - stored))) if recomputed.size == stored.size \
            else float("inf")
        details["recomputed"] = np.round(recomputed, 6).tolist()
        details["recomputed_difference"] = gap if np.isfinite(gap) else "inf"
        if not gap <= prediction.tolerance:
            # why they differ is for the student to find; what is known is said
            weights_right = output.shape == raw.shape and bool(np.all(classes_of(
                output, prediction.classes, prediction.threshold, prediction.column) == labels))
            why = ("your weights label the data right, so it was changed after the last "
                   "forward pass (a function changing its argument in place?)"
                   if weights_right else
                   "were cells run out of order, or the prediction written by hand?")
            problems.append(
                f"{prediction.variable} does not follow from the stored weights: recomputed "
                f"from {', '.join(a for a in prediction.arguments if a != DATA)} it is "
                f"{np.round(recomputed, 3).tolist()}, stored {np.round(stored, 3).tolist()} "
                f"({why})")
    return problems
