"""``forward``: predict returns finite values of the right shape, and equals the reference.

Measurement, two ``predict`` calls in the child, each on a fresh instance built with the grading
seed (so that the student's own random initialisation is reproducible):

* on the 21 XOR points, as one batch and one sample at a time: the lab's own inputs, for the
  shape, finiteness and range of the outputs, and to catch a batch that mixes samples;
* on ``[checks.forward] samples`` random inputs drawn from the grading generator
  (``ctx.rng("forward")``), uniform in a square a little larger than the unit square that holds
  the lab's data: the student's weights are read back from the instance, mapped onto the
  reference's layers with the layout that ``interface`` confirmed, and the reference forward
  pass (:func:`reference.network.forward`) is run on them.  ``interface`` confirmed the layout on
  test weights; this compares on the student's *own* weights, at inputs the student cannot
  anticipate.

Judgement: fail on an error, a wrong shape, non-finite values, or sigmoid outputs outside
[0, 1] (closed: a saturated sigmoid is exactly 1.0 in float64); a single-sample-only
``predict`` is noted, not failed.  A predict whose output depends on none of the arrays the
network holds, or a network that holds none, fails: whatever it returns was not computed by a
network (``interface`` found that, redrawing every array; the message shows the output before
and after).  Where the parameters map onto the reference, every output must equal the
reference's within the rubric's ``tolerance``, relative to ``max(1, |reference|)``; the
details give the largest difference, and a failure shows the worst input with the expected and
the observed output.  Parameters that map onto nothing cost half the points: the computation
cannot be confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Any

from reference.deferred import np
from grader.checks.base import ERROR, FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from grader.layout import Layout
from grader.rubric import CheckConfig, setting
from reference.lab1 import generate_XOR_easy
from reference.network import forward as reference_forward


@dataclass(frozen=True)
class ForwardCheck(CheckConfig):
    """``[checks.forward]``: predict matches the reference forward pass."""

    tolerance: float = setting(
        1e-6, "Largest accepted |student - reference| / max(1, |reference|) per output.",
        above=0)
    samples: int = setting(
        8, "Random inputs, uniform in [-0.25, 1.25]^2 (the unit square of the lab's data, with "
           "a margin) and drawn from the grading seed, at which predict is compared with the "
           "reference forward pass on the student's own weights.", minimum=1)


INPUT_RANGE = (-0.25, 1.25)
"""The comparison inputs are uniform in this square: it covers the lab's data (the unit square:
``generate_linear`` and ``generate_XOR_easy``) with a margin, so that a ``predict`` that only
agrees where the data lies (a clipped or rescaled input) still shows."""


def comparison_inputs(ctx: GradingContext) -> np.ndarray:
    """The rubric's ``samples`` random inputs, from the grading seed: the same seed draws the
    same inputs, whatever ran before."""
    n = ctx.config("forward").samples
    low, high = INPUT_RANGE
    return ctx.rng("forward").uniform(low, high, (n, 2))


def _outputs(obs: dict[str, Any]) -> np.ndarray | None:
    """predict's outputs from a ``forward`` probe: the batch's, else the one-by-one ones."""
    if "batch" in obs:
        return np.asarray(obs["batch"], dtype=float)
    if "singles" in obs:
        return np.asarray(obs["singles"], dtype=float)
    return None


def compare_with_reference(ctx: GradingContext, layout: Layout, labels_only: bool
                           ) -> tuple[str | None, str | None, dict[str, Any]]:
    """predict against the reference forward pass on the student's own weights.

    Returns ``(status, message, details)``: ``status`` is None when every output agrees within
    the tolerance, else the verdict's status (``fail``, or ``error`` when predict raised) with
    the message that explains it.  Measurement (one probe, the reference run on the weights
    read back from the same instance) and judgement (the tolerance, the worst input) side by
    side.
    """
    X = comparison_inputs(ctx)
    tol = ctx.config("forward").tolerance
    adapter = {**ctx.facts.adapter, "params": layout.paths}
    step = ctx.probe("forward", {"adapter": adapter, "X": X, "seed": ctx.seed})
    details: dict[str, Any] = {"compared_on": len(X), "inputs": X.round(6).tolist(),
                               "tolerance": tol}
    failure = probe_failure(step, "predicting on random inputs")
    if failure:
        return ERROR, failure, details
    obs = step.result
    got = _outputs(obs)
    if got is None:
        error = obs.get("batch_error") or obs.get("single_error") or {}
        return ERROR, "predict on random inputs raised " + describe_student_error(error), details
    params = [np.asarray(p, dtype=float) for p in obs["params"]]
    if not all(np.all(np.isfinite(p)) for p in params):
        return FAIL, ("your network's initial weights are not all finite (NaN or infinite), so "
                      "its forward pass cannot be compared"), details
    weights, biases = layout.to_reference(params)
    with np.errstate(all="ignore"):  # absurd (finite) weights may overflow: compared below
        expected, _ = reference_forward(weights, X, layout.hidden, layout.output, biases)
    if got.size != expected.size:
        return FAIL, (f"predict on {len(X)} random inputs returned {got.size} values (shape "
                      f"{tuple(got.shape)}); expected one output per input, shape "
                      f"{tuple(expected.shape)}"), details
    got = got.reshape(expected.shape)
    if labels_only:
        # a probability of exactly 0.5 is a tie that > and >= break differently: not a mistake
        ties = np.abs(expected - 0.5) <= tol
        expected = (expected >= 0.5).astype(float)
        expected = np.where(ties, got, expected)
    with np.errstate(invalid="ignore", over="ignore"):
        gaps = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    gaps = np.where(np.isfinite(gaps), gaps, np.inf)
    per_input = gaps.max(axis=1)
    worst = int(np.argmax(per_input))
    largest = float(per_input[worst])
    details["max_difference"] = largest
    details["worst_input"] = X[worst].round(6).tolist()
    # expected against observed, input by input: the report's table
    details["expected"] = np.round(expected, 6).tolist()
    details["observed"] = [[float(v) if np.isfinite(v) else str(v) for v in row]
                           for row in np.round(got.astype(float), 6)]
    details["differences"] = [float(v) if np.isfinite(v) else "inf" for v in per_input]
    if largest <= tol:
        return None, None, details
    column = int(np.argmax(gaps[worst]))
    e, g = float(expected[worst, column]), float(got[worst, column])
    what = "label " if labels_only else ""
    return FAIL, (f"predict is not the reference forward pass of your network's own weights: "
                  f"expected {what}{e:.3g} from the reference forward pass, predict gave {g:.3g} "
                  f"at x = {_short(X[worst])} (relative difference {largest:.3g}, tolerance "
                  f"{tol:g}; the worst of {len(X)} random inputs)"), details


@register("forward", config=ForwardCheck, requires=("interface",),
          reads=("adapter", "layout", "predict_labels", "predict_failure",
                 "predict_ignores_arrays", "observed"),
          summary="predict gives finite outputs in [0, 1] equal to the reference forward pass")
def check_forward(ctx: GradingContext) -> Verdict:
    if ctx.facts.predict_failure:  # seen once already: asking again would wait as long again
        return Verdict(ERROR, ctx.facts.predict_failure)
    if ctx.facts.observed is not None:  # watched, not called: its forward pass confirmed it
        loop = ctx.facts.observed
        return Verdict(PASS, "the prediction your training loop computes equals the reference "
                       f"forward pass on its own weights ({loop.layout.activations}; watched "
                       "in its first iteration: there is no predict to call on other inputs)")
    X, _ = generate_XOR_easy()
    adapter = ctx.facts.adapter
    step = ctx.probe("forward", {"adapter": adapter, "X": X, "seed": ctx.seed})
    failure = probe_failure(step, "predicting")
    if failure:
        return Verdict(ERROR, failure)
    obs = step.result
    notes = []
    out = _outputs(obs)
    if out is None:
        return Verdict(ERROR, "predict raised " + describe_student_error(obs.get("batch_error")
                                                                  or obs.get("single_error", {})))
    if "batch" not in obs:
        notes.append("predict works on one sample at a time only (a batch raised "
                     f"{describe_student_error(obs['batch_error'])}); the lab's loop is per "
                     "sample, so this is fine")
    details: dict[str, Any] = {"output_shape": list(out.shape), "notes": notes}
    if out.size != len(X):
        return Verdict(FAIL, f"predict on {len(X)} samples returned {out.size} values (shape "
                       f"{tuple(out.shape)}); expected one output per sample, shape ({len(X)}, 1)"
                       + _per_sample_rows(out, len(X), ctx.facts.adapter), 0.0, details)
    if not np.all(np.isfinite(out)):
        return Verdict(FAIL, "predict returned NaN or infinite values", 0.0, details)
    layout: Layout | None = ctx.facts.layout
    labels_only = ctx.facts.predict_labels if layout is not None else \
        bool(np.all(np.isin(out, (0.0, 1.0))))
    # closed: in float64 a saturated sigmoid rounds to exactly 1.0 (z > 36.7), and weights in
    # the hundreds saturate legitimately
    if not labels_only and not np.all((out >= 0) & (out <= 1)):
        return Verdict(FAIL, f"predict returned values outside [0, 1] (min {out.min():.3g}, max "
                       f"{out.max():.3g}); a sigmoid output is always between 0 and 1",
                       0.0, details)
    if labels_only:
        notes.append("predict returns 0/1 labels rather than probabilities; the lab's loss "
                     "needs the probabilities")
    if "singles" in obs and "batch" in obs:
        singles = np.asarray(obs["singles"], dtype=float).reshape(out.shape)
        gap = float(np.max(np.abs(singles - out)))
        # rounding noise (a batch may take another BLAS kernel) is not a difference
        details["batch_vs_single"] = gap if gap > 1e-12 else 0.0
        if gap > 1e-9:
            return Verdict(FAIL, "predict gives different outputs for the same sample in a batch "
                           f"and alone (difference {gap:.3g}): is it mixing samples?", 0.0, details)
    ignored = ctx.facts.predict_ignores_arrays
    if ignored is not None:
        details["sensitivity"] = ignored
        return Verdict(FAIL, _ignores_weights(ignored), 0.0, details)
    if layout is None:
        return Verdict(PASS, "predict returns finite values of the right shape, but its weights "
                       "do not map onto the lab's three layers, so it could not be compared with "
                       "the reference forward pass", 0.5, details)
    details["layout"] = layout.describe()
    status, problem, comparison = compare_with_reference(
        ctx, layout, ctx.facts.predict_labels)
    details["comparison"] = comparison
    if status is not None:
        return Verdict(status, problem or "", 0.0, details)
    message = (f"predict matches the reference forward pass on your network's own weights "
               f"({comparison['compared_on']} random inputs, largest relative difference "
               f"{comparison['max_difference']:.2g})")
    if labels_only:
        message += " (as labels)"
    if notes:
        message += "; " + "; ".join(notes)
    return Verdict(PASS, message, 1.0, details)


def _ignores_weights(evidence: dict[str, Any]) -> str:
    """Why a predict that reads none of the network's arrays fails, expected against observed."""
    held = evidence.get("held", [])
    if not held:
        return ("predict does not compute the network's output from weights: your network holds "
                "no weight arrays (NumPy float arrays) at all, so whatever predict returns was "
                "not computed by a network")
    shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
    text = (f"predict does not compute the network's output from its weights: its output does "
            f"not depend on any of the {len(held)} arrays your network holds ({shown})")
    if "after" in evidence:
        text += (f"; expected a different output once every array was set to other values, "
                 f"observed the same, {_short(evidence['before'])} at x = "
                 f"{_short(evidence['x'])}, before and after")
    return text


def _per_sample_rows(out: np.ndarray, samples: int, adapter: dict[str, Any] | None) -> str:
    """Why each sample gets many outputs, when the network holds arrays with one row per sample
    of its own training data (a bias ``np.random.randn(100, 50)`` for 100 samples): added to a
    batch, such a bias broadcasts every sample against every training row."""
    extra = out.size // samples if out.size % samples == 0 else 0
    rows = [path for path, shape in ((adapter or {}).get("shapes") or {}).items()
            if len(shape) == 2 and shape[0] == extra and shape[1] != 2]  # not the data
    if extra <= 1 or not rows:
        return ""
    return (f": {', '.join(rows)} {'have' if len(rows) > 1 else 'has'} one row per sample of "
            f"your own training data ({extra}), so each input is paired with all {extra} rows; "
            "a bias has one row, shared by every sample (shape (1, width))")


def _short(values: Any) -> str:
    flat = np.asarray(values, dtype=float).reshape(-1)
    return "[" + ", ".join(f"{v:.3g}" for v in flat) + "]" if flat.size > 1 else f"{flat[0]:.3g}"
