"""The ``step`` kind on a notebook's training cell: one pass of its loop, judged like a step.

Measurement (the child, ``loops.py``): as the notebook runs top to bottom, the first passes
through each cell's loop headers are copied; the first two consecutive passes across which
every weight variable the rubric names changed frame one step.  Here: the weights before and
after it, the inputs and labels the notebook held (or the mini-batch ``X[i:i+b]`` the step
took), and the applied step ``before - after``.

Judgement: :func:`grader.diagnosis.diagnose`, as for a step function: every array the true
gradient of the rubric's loss up to one positive factor (the loop's own learning rate), the
first wrong layer named with the known bug it matches (a sign: ``+=`` where ``-=`` belongs,
a missing derivative...).  The network's widths are the student's own (read from the weights).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reference.deferred import np
from grader.checks.base import ERROR, FAIL, PASS, Verdict
from grader.checks.context import GradingContext, probe_failure
from grader.diagnosis import diagnose

if TYPE_CHECKING:
    from grader.checks.step import StepCheck

ADAGRAD_EPSILON = 1e-7
"""AdaGrad's stabiliser, as the tutorial writes it; far below any accumulated square."""


def _array(found: dict[str, Any] | None) -> np.ndarray | None:
    if not found or found.get("value") is None:
        return None
    return np.asarray(found["value"], dtype=float)


def _oriented(weights: list[np.ndarray], after: list[np.ndarray], features: int
              ) -> tuple[list[np.ndarray], list[np.ndarray], list[bool]] | str:
    """The weights as ``(fan_in, fan_out)``, chained from the inputs' width; a matrix stored
    the other way round is turned, and said so."""
    out_w, out_a, turned = [], [], []
    width = features
    for W, A in zip(weights, after):
        W = W.reshape(-1, 1) if W.ndim == 1 else W
        A = A.reshape(W.shape) if A.size == W.size else A
        if W.ndim != 2:
            return f"a weight of shape {W.shape} is not a matrix"
        if W.shape[0] == width:
            out_w.append(W), out_a.append(A), turned.append(False)
        elif W.shape[1] == width:
            out_w.append(W.T), out_a.append(A.T), turned.append(True)
        else:
            return f"shapes {[w.shape for w in weights]} do not chain from {features} inputs"
        width = out_w[-1].shape[1]
    return out_w, out_a, turned


def _batch(conf: "StepCheck", before: dict[str, Any], after: dict[str, Any]
           ) -> tuple[np.ndarray, np.ndarray] | str:
    X, Y = _array(before.get(conf.inputs)), _array(before.get(conf.labels))
    if X is None or Y is None:
        missing = [n for n, v in ((conf.inputs, X), (conf.labels, Y)) if v is None]
        return f"{' and '.join(missing)} held no numbers at that step"
    X = X.reshape(-1, 1) if X.ndim == 1 else X.reshape(X.shape[0], -1)
    Y = Y.reshape(len(Y), -1) if Y.ndim else Y.reshape(1, 1)
    if not conf.batch_start:
        return X, Y
    # the loop variable, as the pass after the step saw it: the start of that step's batch
    start = _array(after.get(conf.batch_start))
    size_text = conf.batch_size.strip()
    size = _array(after.get(size_text)) if size_text.isidentifier() else \
        np.asarray(float(size_text or 1))
    if start is None or size is None or start.size != 1 or size.size != 1:
        return f"{conf.batch_start} and {conf.batch_size or 'the batch size'} are not numbers " \
               "at that step"
    first, count = int(start.reshape(())), int(size.reshape(()))
    return X[first:first + count], Y[first:first + count]


def check_loop_step(ctx: GradingContext, conf: "StepCheck") -> Verdict:
    cells = ctx.cells_under(conf.heading) if conf.heading else None
    where = f" under \"{conf.heading}\"" if conf.heading else ""
    if isinstance(cells, str):
        return Verdict(FAIL, cells, 0.0)
    names = [*conf.weight_variables, *conf.bias_variables, *conf.accumulators, conf.inputs,
             conf.labels] + [n for n in (conf.batch_start, conf.batch_size.strip())
                             if n.isidentifier()]
    step = ctx.probe_executed("loop_step", {
        "weights": list(conf.weight_variables), "names": list(dict.fromkeys(names)),
        "cells": cells, "occurrence": int(conf.occurrence)}, restart=ctx.executed_restart)
    failure = probe_failure(step, "watching your training loop")
    if failure:
        return Verdict(ERROR, failure, 0.0)
    seen = step.result
    wanted = ", ".join(conf.weight_variables)
    if not seen.get("found"):
        loops = seen.get("loop_cells") or []
        which = "" if conf.occurrence == 1 else f" (the {_ordinal(conf.occurrence)} one)"
        text = f"no loop of your notebook{where}{which} changes {wanted} at every pass"
        if loops:
            changed = seen.get("changed") or []
            text += (f" (cells {', '.join(map(str, loops))} run loops; their passes change "
                     f"only {', '.join(changed)})" if changed else
                     f" (cells {', '.join(map(str, loops))} run loops, but no pass of them "
                     f"changes {wanted}: are the updates assigned?)")
        ran = ctx.executed_load
        if ran is not None and ran.errors:
            text += f" ({ran.errors[0]})"
        return Verdict(FAIL, text, 0.0)
    before, after = seen["before"], seen["after"]
    place = f"cell {seen['cell']}, line {seen['line']}"  # the report links it to the cell
    details: dict[str, Any] = {"cell": seen["cell"], "line": seen["line"]}
    read = [(_array(before.get(n)), _array(after.get(n))) for n in conf.weight_variables]
    if any(a is None or b is None for a, b in read):
        return Verdict(FAIL, f"{wanted} are not all arrays of numbers at {place}", 0.0, details)
    batch = _batch(conf, before, after)
    if isinstance(batch, str):
        return Verdict(FAIL, f"{batch} ({place})", 0.0, details)
    X, Y = batch
    oriented = _oriented([a for a, _ in read], [b for _, b in read], X.shape[1])
    if isinstance(oriented, str):
        return Verdict(FAIL, f"{oriented} ({place})", 0.0, details)
    weights, new_w, turned = oriented
    measured_w = [w - n for w, n in zip(weights, new_w)]
    biases = measured_b = None
    if conf.bias_variables:
        pairs = [(_array(before.get(n)), _array(after.get(n))) for n in conf.bias_variables]
        if any(a is None or b is None or a.size != w.shape[1]
               for (a, b), w in zip(pairs, weights)):
            return Verdict(FAIL, f"{', '.join(conf.bias_variables)} do not match the widths "
                                 f"of {wanted} ({place})", 0.0, details)
        biases = [a.reshape(1, -1) for a, _ in pairs]
        measured_b = [a.reshape(1, -1) - b.reshape(1, -1) for a, b in pairs]
    if conf.accumulators:
        scaled = _adagrad(conf, before, after, measured_w, turned)
        if isinstance(scaled, str):
            return Verdict(FAIL, f"{scaled} ({place})", 0.0, details)
        measured_w = scaled
    if Y.shape[0] != X.shape[0]:
        return Verdict(FAIL, f"{conf.inputs} has {X.shape[0]} rows and {conf.labels} "
                             f"{Y.shape[0]} ({place})", 0.0, details)
    try:
        diagnosis = diagnose(weights, biases, X, Y, measured_w, measured_b,
                             hidden=conf.hidden, output=conf.output, loss=conf.loss,
                             tol=float(conf.tolerance), transposed=turned,
                             taylor_rng=ctx.rng(f"loop step {ctx.current}"),
                             names=[*conf.weight_variables, *conf.bias_variables])
    except ValueError as err:  # the labels do not fit the network's output
        return Verdict(FAIL, f"the step cannot be judged: {err} ({place})", 0.0, details)
    details[f"the step in cell {seen['cell']} (batch of {X.shape[0]})"] = diagnosis.to_dict()
    if diagnosis.ok:
        worst = max((r.rel_error for r in diagnosis.arrays), default=0.0)
        # the loop's own learning rate is part of the scale: no convention is read into it
        return Verdict(PASS, f"the training loop at {place} applies the true gradient to "
                             f"{', '.join([*conf.weight_variables, *conf.bias_variables])}: "
                             f"relative error at most {worst:.1g} per array, each step "
                             f"{diagnosis.scale:.3g} times the gradient (your learning rate "
                             "times your loss's convention of the mean)", 1.0, details)
    return Verdict(FAIL, f"the training loop at {place}: {diagnosis.message}", 0.0, details)


def _adagrad(conf: "StepCheck", before: dict[str, Any], after: dict[str, Any],
             measured: list[np.ndarray], turned: list[bool]) -> list[np.ndarray] | str:
    """The step without AdaGrad's per-entry scale: ``(W - W') * sqrt(r')``; the accumulator
    must have grown by the square of the gradient (up to the one factor of the mean)."""
    unscaled = []
    growth, squares = [], []
    for name, step, flip in zip(conf.accumulators, measured, turned):
        r0, r1 = _array(before.get(name)), _array(after.get(name))
        if r1 is None or r1.size != step.size:
            return f"{name} is not an array of the shape of its weights"
        r1 = r1.T if flip else r1.reshape(step.shape)
        r0 = np.zeros_like(r1) if r0 is None or r0.size != r1.size else \
            (r0.T if flip else r0.reshape(step.shape))
        gradient = step * (ADAGRAD_EPSILON + np.sqrt(np.maximum(r1, 0)))
        unscaled.append(gradient)
        growth.append((r1 - r0).ravel())
        squares.append((gradient ** 2).ravel())
    grown, square = np.concatenate(growth), np.concatenate(squares)
    factor = float(grown @ square / max(float(square @ square), 1e-300))
    if not factor > 0 or np.linalg.norm(grown - factor * square) > \
            1e-6 * max(np.linalg.norm(grown), 1e-300):
        return (f"{', '.join(conf.accumulators)} did not grow by the squared gradient of "
                "the step (AdaGrad adds dW ** 2 before it scales the step by 1 / sqrt(r))")
    return unscaled


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")
