"""``training``: a training function of the exercise, run on the grader's data under a budget,
reaches the outcome the exercise expects.

A generic kind for a notebook (or script) that wraps its training in a function
(``train(X, Y, network, itera, alpha)`` returning ``W, b, L``).  The rubric says what each
argument is (the data, or a number, or a list of numbers), what the function returns (the
trained parameters, a prediction or a loss history) and the outcome: the share of samples
labelled right, a last loss below a bound, or (``expect = "not_learned"``) a model that must
*not* learn the data (a single layer on XOR: one that does is doing something else).

Measurement: the child calls the function once per attempt, seeded from the grading seed and
the attempt, under the rubric's time budget (a training that hangs costs its budget and no
more), and returns the values the rubric picks.

Judgement: parameters go through the rubric's reference forward pass, so the prediction judged
is the one the returned weights make.  A function that does not learn is called again from other
starts, as many times as the reference needs: ``restarts`` unset, the reference training
function is run from a dozen seeds in the grader and the restarts are sized so that a correct
function that fails as often as the reference would fail all its attempts less than once in a
thousand.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

from reference.deferred import np
from grader.checks.base import ERROR, FAIL, PASS, SKIP, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from grader.checks.function import REFERENCE, reference_function, sendable
from grader.checks.variables import as_argument, classes_of, label_classes
from grader.rubric import IDENTIFIER, CheckConfig, setting

CALIBRATION_RUNS = 12
"""Seeds the reference training function is run from to measure how often it fails."""
CHANCE = 1e-3
"""A correct function may fail every attempt by bad luck at most this often."""
MAX_RESTARTS = 6


@dataclass(frozen=True)
class Given:
    """``[[checks.<name>.arguments]]``: one argument of the training function, in order."""

    role: Literal["inputs", "labels", "number", "list"] = setting(
        "number", "'inputs' or 'labels' of the data, a 'number' (value = [0.2]) or a 'list' of "
                  "numbers (value = [3, 4, 5, 2]); whole numbers are passed as int.")
    value: tuple[float, ...] = setting((), "The number, or the numbers of the list.")

    def problems(self):
        if self.role == "number" and len(self.value) != 1:
            yield "value", "expected one number, such as [1000]"


@dataclass(frozen=True)
class TrainingCheck(CheckConfig):
    """``[checks.<name>]`` with ``kind = "training"``: a training function and its outcome."""

    # required (checked in problems()): a field after CheckConfig's defaults needs a default
    names: tuple[str, ...] = setting((), "The function's name, then accepted aliases "
                                         "(required).", nonempty=True, valid=IDENTIFIER)
    arguments: tuple[Given, ...] = setting((), "Its arguments, in order.")
    data: str = setting("", "The exercise's data: module:function returning (inputs, labels); "
                            "labels with a column per class are one-hot (required).",
                        valid=(lambda t: not t or REFERENCE[0](t), REFERENCE[1]))
    returns: Literal["parameters", "prediction", "losses"] = setting(
        "parameters", "What the function returns: the trained 'parameters' (passed to the "
                      "forward pass), the 'prediction' on the inputs, or the 'losses' per step.")
    parameters: tuple[int, ...] = setting((0, 1), "With returns = 'parameters': the positions "
                                                  "of the returned values the forward pass takes "
                                                  "after the inputs (W, b of W, b, L).",
                                          minimum=0)
    output: int = setting(0, "With returns = 'prediction' or 'losses': the position of that "
                             "value among those returned (0 when it returns one).", minimum=0)
    forward: str = setting("", "With returns = 'parameters': the reference forward pass "
                               "(module:function; when it returns every layer's output, the "
                               "last is the prediction).",
                           valid=(lambda t: not t or REFERENCE[0](t), REFERENCE[1]))
    classes: Literal["threshold", "argmax"] = setting(
        "argmax", "A prediction's class: its largest column, or above the threshold.")
    threshold: float = setting(0.5, "With classes = 'threshold': a value above it is class 1.")
    accuracy: float = setting(1.0, "Share of samples it must label right; with expect = "
                                   "'not_learned', a share it must stay below.",
                              minimum=0, maximum=1)
    loss_at_most: float = setting(0.1, "With returns = 'losses': the last loss must be at most "
                                       "this.", minimum=0)
    expect: Literal["learned", "not_learned"] = setting(
        "learned", "'not_learned' for a model that cannot learn the data.")
    seconds: float = setting(60.0, "Budget of one call, in seconds.", above=0)
    optional: bool = setting(False, "A submission without the function is skipped, not "
                                    "failed (the exercise leaves the function optional).")
    reference: str = setting("", "The reference training function, called with the same "
                                 "arguments and drawing from np.random as a student's does; "
                                 "its failures from a dozen seeds size the restarts.",
                             valid=(lambda t: not t or REFERENCE[0](t), REFERENCE[1]))
    restarts: int | None = setting(None, "Calls again from other starts when it does not "
                                         "learn; unset: measured from the reference (0 "
                                         "without one).", minimum=0, maximum=MAX_RESTARTS)

    def problems(self):
        if not self.names:
            yield "names", "missing; expected the function's name, such as [\"train\"]"
        if not self.data:
            yield "data", "missing; expected module:function giving the inputs and labels"
        if self.returns == "parameters" and not self.forward:
            yield "forward", "missing; returns = 'parameters' needs the reference forward pass"


def _arguments(conf: TrainingCheck) -> tuple[list[Any], np.ndarray, np.ndarray]:
    X, Y = reference_function(conf.data)()
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)

    def number(v: float) -> int | float:
        return int(v) if float(v).is_integer() else float(v)

    args = [X if g.role == "inputs" else Y if g.role == "labels" else
            number(g.value[0]) if g.role == "number" else [number(v) for v in g.value]
            for g in conf.arguments]
    return args, X, Y


def _outcome(conf: TrainingCheck, parts: list[Any], X: np.ndarray, Y: np.ndarray
             ) -> tuple[bool, str, dict[str, Any]]:
    """Whether the returned values reach the outcome, what was seen, and the evidence."""
    if conf.returns == "losses":
        losses = np.asarray(parts[0], dtype=float).reshape(-1)
        if not losses.size:
            return False, "returned no losses", {}
        last = float(losses[-1])
        details = {"last_loss": last, "first_loss": float(losses[0]), "steps": int(losses.size)}
        learned = bool(np.isfinite(last) and last <= conf.loss_at_most)
        return learned, f"its last loss is {last:.4g} (at most {conf.loss_at_most:g} " \
                        f"expected; {losses.size} values, from {float(losses[0]):.4g})", details
    if conf.returns == "parameters":
        with np.errstate(all="ignore"):
            output = reference_function(conf.forward)(X, *parts)
        if isinstance(output, tuple):
            output = output[-1]
        raw = np.asarray(output, dtype=float)
    else:
        raw = np.asarray(parts[0], dtype=float)
    labels = label_classes(Y)
    given = classes_of(raw, conf.classes, conf.threshold, None)
    if given is None or given.size != labels.size:
        return False, f"its prediction has shape {raw.shape} for {labels.size} samples", {}
    accuracy = float(np.mean(given == labels))
    details = {"accuracy": accuracy, "wrong": [int(i) for i in np.flatnonzero(given != labels)]}
    what = "the prediction its weights make" if conf.returns == "parameters" else \
        "its prediction"
    return (accuracy >= conf.accuracy,
            f"{what} labels {accuracy:.0%} of the {labels.size} samples right", details)


@functools.lru_cache(maxsize=16)
def _calibrated(conf: TrainingCheck) -> tuple[int, float | None]:
    """Restarts sized from the reference's own failures, and its failure rate."""
    if conf.restarts is not None:
        return int(conf.restarts), None
    if not conf.reference or conf.expect != "learned":
        return 0, None
    args, X, Y = _arguments(conf)
    picks = list(conf.parameters) if conf.returns == "parameters" else [conf.output]
    train = reference_function(conf.reference)
    state = np.random.get_state()
    failures = 0
    try:
        for seed in range(CALIBRATION_RUNS):
            np.random.seed(seed)
            with np.errstate(all="ignore"):
                returned = train(*args)
            returned = returned if isinstance(returned, tuple) else (returned,)
            failures += not _outcome(conf, [returned[i] for i in picks], X, Y)[0]
    finally:
        np.random.set_state(state)
    rate = failures / CALIBRATION_RUNS
    if rate == 0 or rate == 1:
        return 0, rate
    return min(MAX_RESTARTS, max(0, math.ceil(math.log(CHANCE) / math.log(rate)) - 1)), rate


@register("training", config=TrainingCheck, generic=True,
          summary="a training function reaches the outcome the exercise expects")
def check_training(ctx: GradingContext) -> Verdict:
    conf: TrainingCheck = ctx.config(ctx.current)
    args, X, Y = _arguments(conf)
    restarts, rate = _calibrated(conf)
    picks = list(conf.parameters) if conf.returns == "parameters" else [conf.output]
    details: dict[str, Any] = {"restarts": restarts}
    if rate is not None:
        details["reference_failure_rate"] = rate
    call = [sendable(a) for a in args]
    for attempt in range(restarts + 1):
        step = ctx.probe("functions", {"names": list(conf.names), "seed": ctx.seed + attempt,
                                       "calls": [call], "picks": picks},
                         timeout=float(conf.seconds))
        if not step.answered and step.failure == "timeout":
            return Verdict(FAIL, f"{conf.names[0]} did not finish within its "
                                 f"{conf.seconds:g} s", 0.0, details)
        failure = probe_failure(step, f"calling {conf.names[0]}")
        if failure:
            return Verdict(ERROR, failure, 0.0, details)
        observed = step.result
        if observed.get("found") is None:
            defined = ", ".join(observed.get("defined") or []) or "none"
            if conf.optional:
                return Verdict(SKIP, f"no training function {' or '.join(conf.names)} "
                                     "(optional: the training may stay a loop)", 0.0, details)
            return Verdict(FAIL, f"no function {' or '.join(conf.names)} is defined (your "
                                 f"functions: {defined})", 0.0, details)
        name = observed["found"]
        result = observed["results"][0]
        if "error" in result:
            return Verdict(ERROR, f"{name} raised {describe_student_error(result['error'])}",
                           0.0, details)
        parts = result.get("parts")
        if parts is None or len(parts) != len(picks):
            return Verdict(FAIL, f"{name} returned a {result.get('type')}; expected at least "
                                 f"{max(picks) + 1} values", 0.0, details)
        try:
            learned, seen, found = _outcome(conf, [as_argument(p) for p in parts], X, Y)
        except (ValueError, TypeError, KeyError, IndexError) as err:
            return Verdict(FAIL, f"what {name} returned cannot be used as the exercise's "
                                 f"network: {err}", 0.0, details)
        details.update(found, attempts=attempt + 1)
        if conf.expect == "not_learned":
            if learned:
                return Verdict(FAIL, f"{name}: {seen}, but this model cannot learn the data: "
                                     "something else is going on (a hidden layer added, the "
                                     "labels or the data changed)", 0.0, details)
            return Verdict(PASS, f"{name}: {seen} (this model cannot learn the data, as the "
                                 "exercise shows)", 1.0, details)
        if learned:
            again = f" (in attempt {attempt + 1}, from another start)" if attempt else ""
            return Verdict(PASS, f"{name}, run on the exercise's data: {seen}{again}", 1.0,
                           details)
    tried = f" in each of {restarts + 1} attempts from different starts" if restarts else ""
    return Verdict(FAIL, f"{name}, run on the exercise's data: {seen}{tried}", 0.0, details)
