"""``function``: a function the exercise asks for behaves as the reference function does.

A generic kind: a rubric names as many as it needs (``[checks.sigmoid] kind = "function"``),
each with the function's names, the reference it is compared with, the arguments the grader
draws and the edge cases it must survive.  Checks look at functions directly, not only at
final outputs: a wrong derivative or a softmax without the max shift can still end in good
looking predictions.

Measurement: the child calls the student's function on the grader's arguments (random ones
from the grading seed, then the rubric's edge cases) and returns what it gave, whether it
changed its array arguments, and the floating-point warnings it raised.

Judgement: values equal to the reference's within the tolerance, relative to max(1, |ref|),
with the shape tolerated as (N,) for (N, 1) where the rubric says so; finite and right on every
edge case; its inputs untouched.  A wrong function is compared with the rubric's known
mistakes (a derivative taken of the pre-activation, say), and named when it matches one.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator, Literal

from reference.deferred import np
from grader.checks.base import ERROR, FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from grader.rubric import IDENTIFIER, CheckConfig, setting, weights_problems

REFERENCE = (lambda text: text.count(":") == 1 and all(
    part and all(p.isidentifier() for p in part.split(".")) for part in text.split(":")),
    "module:function, such as reference.activations:sigmoid")


def reference_function(path: str) -> Callable[..., Any]:
    """``module:function`` imported (in the grader's process: it is the reference's code)."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Argument:
    """``[[checks.<name>.arguments]]``: one argument the grader draws for every call."""

    shape: tuple[int, ...] = setting((4, 1), "Shape of the array drawn; [] for a number.",
                                     minimum=1)
    low: float = setting(-5.0, "Smallest value drawn (uniformly).")
    high: float = setting(5.0, "Largest value drawn.")
    one_hot: bool = setting(False, "Rows of zeros with one 1 (labels of classes), of the "
                                   "shape given, instead of uniform values.")
    layers: tuple[int, ...] = setting((), "Widths of a network ([3, 4, 4, 2]): the argument is "
                                          "then a dict {layer: array} of its weight matrices, "
                                          "or of its bias rows with part = 'biases', as a "
                                          "modular notebook passes Ws and bs.", minimum=1)
    part: Literal["weights", "biases"] = setting("weights", "With layers: which arrays.")


@dataclass(frozen=True)
class Mistake:
    """``[[checks.<name>.mistakes]]``: a known wrong version, named when the student's
    function computes it."""

    reference: str = setting(help="The wrong version, module:function.", valid=REFERENCE)
    explain: str = setting(help="What the student did and what to do instead, in a sentence.",
                           nonempty=True)


@dataclass(frozen=True)
class FunctionWeights:
    """``[checks.<name>.weights]``: partial credit of a function check (sums to 1)."""

    values: float = setting(0.7, "Share for the right values on random arguments.",
                            minimum=0, maximum=1)
    edge_cases: float = setting(0.2, "Share for surviving the edge cases (finite and right); "
                                     "with no edge cases, shared by the others.",
                                minimum=0, maximum=1)
    inputs_kept: float = setting(0.1, "Share for leaving its array arguments unchanged.",
                                 minimum=0, maximum=1)


@dataclass(frozen=True)
class FunctionCheck(CheckConfig):
    """``[checks.<name>]`` with ``kind = "function"``: one function of the exercise."""

    # required (checked in problems()): a dataclass field after the defaults of CheckConfig
    # needs a default of its own
    names: tuple[str, ...] = setting((), "The function's name, then accepted aliases "
                                         "(required).", nonempty=True, valid=IDENTIFIER)
    reference: str = setting("", "The reference function it must equal, module:function "
                                 "(required).", valid=(lambda t: not t or REFERENCE[0](t),
                                                       REFERENCE[1]))
    arguments: tuple[Argument, ...] = setting(factory=lambda: (Argument(),),
                                              help="The arguments of every call, in order.")
    samples: int = setting(5, "Calls on random arguments.", minimum=1)
    edge_cases: tuple[tuple[float, ...], ...] = setting(
        (), "Rows of values given as the first argument (shape (1, n)), the others drawn: "
            "the function must return finite values equal to the reference's (large |x| for "
            "sigmoid and softmax).")
    tolerance: float = setting(1e-6, "Largest difference, relative to max(1, |reference|).",
                               above=0)
    lenient_shape: bool = setting(True, "A result of shape (N,) where the reference gives "
                                        "(N, 1), or the reverse, counts as the same.")
    no_warnings: bool = setting(True, "An edge case during which the function raises a "
                                      "floating-point warning (overflow in exp) fails, even "
                                      "when its value comes out right.")
    mistakes: tuple[Mistake, ...] = setting((), "Known wrong versions, named when matched.")
    output: int | None = setting(None, "When the function returns several values (a tuple), "
                                       "the position of the one compared (-1: the last).")
    weights: FunctionWeights = setting(factory=FunctionWeights, help="Partial credit.")

    def problems(self) -> Iterator[tuple[str, str]]:
        if not self.names:
            yield "names", "missing; expected the function's name, such as [\"sigmoid\"]"
        if not self.reference:
            yield "reference", f"missing; expected {REFERENCE[1]}"
        # without edge cases their share goes to the others (see check_function), so the
        # defaults serve every function
        yield from weights_problems(self.weights, {"values": True, "edge_cases": True,
                                                    "inputs_kept": True})


def _calls(ctx: GradingContext, conf: FunctionCheck) -> tuple[list[list[Any]], int]:
    """The argument lists: ``samples`` random ones, then one per edge case."""
    rng = ctx.rng(f"function {ctx.current}")

    def draw(arg: Argument) -> Any:
        if arg.layers:
            widths = list(arg.layers)
            return {layer: rng.uniform(arg.low, arg.high, size=(
                        1 if arg.part == "biases" else widths[layer], widths[layer + 1]))
                    for layer in range(len(widths) - 1)}
        if not arg.shape:
            return float(rng.uniform(arg.low, arg.high))
        if arg.one_hot:
            rows = int(np.prod(arg.shape[:-1]))
            return np.eye(arg.shape[-1])[rng.integers(0, arg.shape[-1], size=rows)].reshape(
                tuple(arg.shape))
        return rng.uniform(arg.low, arg.high, size=tuple(arg.shape))

    calls = [[draw(a) for a in conf.arguments] for _ in range(int(conf.samples))]
    for row in conf.edge_cases:
        first = np.asarray(row, dtype=float).reshape(1, -1)
        calls.append([first, *(draw(a) for a in conf.arguments[1:])])
    return calls, int(conf.samples)


def sendable(value: Any) -> Any:
    """A dict keyed by layer numbers survives the trip to the child as pairs (JSON keys are
    strings, and a notebook indexes Ws[0], not Ws["0"])."""
    if isinstance(value, dict):
        return {"__pairs__": [[k, v] for k, v in value.items()]}
    return value


def _same_shape(got: np.ndarray, expected: np.ndarray, lenient: bool) -> bool:
    if got.shape == expected.shape:
        return True
    return lenient and got.size == expected.size and \
        [d for d in got.shape if d != 1] == [d for d in expected.shape if d != 1]


def _gap(got: np.ndarray, expected: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        gaps = np.abs(got.reshape(expected.shape) - expected) / np.maximum(1.0, np.abs(expected))
    gaps = np.where(np.isfinite(gaps), gaps, np.inf)
    return float(gaps.max()) if gaps.size else 0.0


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {np.shape(v)}" for k, v in value.items()) + "}"
    array = np.asarray(value, dtype=float)
    text = np.array2string(array.reshape(-1)[:4], precision=4, separator=", ")
    return text[:-1] + ", ...]" if array.size > 4 else text


def _mistake(conf: FunctionCheck, call: list[Any], got: np.ndarray) -> str | None:
    for mistake in conf.mistakes:
        with np.errstate(all="ignore"):
            wrong = np.asarray(reference_function(mistake.reference)(*call), dtype=float)
        if wrong.size == got.size and _gap(got, wrong.reshape(got.shape)) <= conf.tolerance:
            return mistake.explain
    return None


@register("function", config=FunctionCheck, generic=True,
          summary="a function of the exercise equals the reference function")
def check_function(ctx: GradingContext) -> Verdict:
    conf: FunctionCheck = ctx.config(ctx.current)
    reference = reference_function(conf.reference)
    calls, random_calls = _calls(ctx, conf)
    step = ctx.probe("functions", {"names": list(conf.names), "seed": ctx.seed,
                                   "calls": [[sendable(a) for a in call] for call in calls],
                                   "pick": conf.output})
    failure = probe_failure(step, f"calling {conf.names[0]}")
    if failure:
        return Verdict(ERROR, failure, 0.0)
    observed = step.result
    if observed.get("found") is None:
        defined = ", ".join(observed.get("defined") or []) or "none"
        return Verdict(FAIL, f"no function {' or '.join(conf.names)} is defined (your "
                             f"functions: {defined})", 0.0, {"defined": observed.get("defined")})
    name = observed["found"]
    details: dict[str, Any] = {"function": name, "calls": len(calls)}
    problems: list[str] = []
    parts = asdict(conf.weights)
    if not conf.edge_cases:
        del parts["edge_cases"]
    earned = dict(parts)
    worst = 0.0
    rows: list[dict[str, Any]] = []  # expected against observed, call by call, for the report
    details["rows"] = rows
    for index, (call, result) in enumerate(zip(calls, observed["results"])):
        edge = index >= random_calls
        part = "edge_cases" if edge else "values"
        shown = f"{name}({_short(call[0])}{', ...' if len(call) > 1 else ''})"
        before = len(problems)
        row: dict[str, Any] = {"input": _short(call[0]), "edge": edge}
        rows.append(row)
        if "error" in result:
            problems.append(f"{shown} raised {describe_student_error(result['error'])}")
            earned[part] = 0.0
            row.update(got=f"raised {result['error'].get('type', 'an error')}", ok=False)
            continue
        with np.errstate(all="ignore"):
            expected = reference(*call)
        if conf.output is not None and isinstance(expected, (tuple, list)):
            expected = expected[conf.output]
        expected = np.asarray(expected, dtype=float)
        row["expected"] = _short(expected)
        got = result.get("value")
        if got is None:
            problems.append(f"{shown} returned a {result.get('type')}, not numbers")
            earned[part] = 0.0
            row.update(got=f"a {result.get('type')}", ok=False)
            continue
        got = np.asarray(got, dtype=float)
        row["got"] = _short(got)
        if not _same_shape(got, expected, bool(conf.lenient_shape)):
            problems.append(f"{shown} returned shape {tuple(got.shape)}; expected "
                            f"{tuple(expected.shape)}")
            earned[part] = 0.0
            row["ok"] = False
            continue
        gap = _gap(got, expected)
        worst = max(worst, gap if np.isfinite(gap) else float("inf"))
        if gap > float(conf.tolerance):
            finite = bool(np.all(np.isfinite(got)))
            why = _mistake(conf, call, got.reshape(expected.shape))
            text = (f"{shown}: expected {_short(expected)} (the reference), got {_short(got)}"
                    if finite else f"{shown} returned {_short(got)}: not finite"
                    + (f" ({'; '.join(result.get('warnings') or [])})"
                       if result.get("warnings") else ""))
            problems.append(text + (f"; {why}" if why else ""))
            earned[part] = 0.0
        elif edge and conf.no_warnings and result.get("warnings"):
            problems.append(f"{shown} is right but raised {'; '.join(result['warnings'])} "
                            "(compute it in a form that cannot overflow)")
            earned[part] = 0.0
            row["warned"] = True
        if any(result.get("mutated") or []):
            earned["inputs_kept"] = 0.0
            row["changed its input"] = True
        row["ok"] = len(problems) == before and not row.get("changed its input")
    if earned["inputs_kept"] == 0.0:
        problems.append(f"{name} changes the array it is given (write to a new array: "
                        "callers still need their input)")
    if earned["values"] == 0.0:
        earned["inputs_kept"] = 0.0  # keeping one's inputs earns nothing for wrong values
    details["max_difference"] = worst if np.isfinite(worst) else "inf"
    details["tolerance"] = float(conf.tolerance)
    fraction = round(sum(earned.values()) / max(sum(parts.values()), 1e-9), 4)
    if not problems:
        edge = f", and on {len(conf.edge_cases)} edge case(s)" if conf.edge_cases else ""
        return Verdict(PASS, f"{name} equals {conf.reference.split(':')[1]} of the reference "
                             f"on {random_calls} random inputs{edge} (largest relative "
                             f"difference {worst:.2g})", 1.0, details)
    details["problems"] = problems
    seen: list[str] = []
    for problem in problems:  # the same finding on every call is said once
        if problem.split(":")[-1] not in [s.split(":")[-1] for s in seen]:
            seen.append(problem)
    return Verdict(FAIL, "; ".join(seen[:3]), fraction, details)
