"""``forward``: predict returns finite values of the right shape, and equals the reference.

Measurement: ``predict`` on the 21 XOR points as one batch and one sample at a time, with the
student's own initial weights; the layout comparison made by ``interface`` (the student's
``predict`` against the reference forward pass on the same weights).

Judgement: fail on an error, a wrong shape, non-finite values, or sigmoid outputs outside
(0, 1); a single-sample-only ``predict`` is noted, not failed; where the parameters map onto
the reference, the outputs must equal the reference's.  Parameters that map onto nothing cost
half the points: the computation cannot be confirmed.
"""

from __future__ import annotations

import numpy as np

from grader.checks.base import ERROR, FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from reference.lab1 import generate_XOR_easy


@register("forward", requires=("interface",),
          summary="predict gives finite outputs in (0, 1) equal to the reference forward pass")
def check_forward(ctx: GradingContext) -> Verdict:
    X, _ = generate_XOR_easy()
    adapter = ctx.facts["adapter"]
    step = ctx.probe("forward", {"adapter": adapter, "X": X})
    failure = probe_failure(step, "predicting")
    if failure:
        return Verdict(ERROR, failure)
    obs = step.result
    notes = []
    if "batch" in obs:
        out = np.asarray(obs["batch"], dtype=float)
    elif "singles" in obs:
        out = np.asarray(obs["singles"], dtype=float)
        notes.append("predict works on one sample at a time only (a batch raised "
                     f"{describe_student_error(obs['batch_error'])}); the lab's loop is per "
                     "sample, so this is fine")
    else:
        return Verdict(ERROR, "predict raised " + describe_student_error(obs.get("batch_error")
                                                                  or obs.get("single_error", {})))
    details = {"output_shape": list(out.shape), "notes": notes}
    if out.size != len(X):
        return Verdict(FAIL, f"predict on {len(X)} samples returned {out.size} values (shape "
                       f"{tuple(out.shape)}); expected one output per sample, shape ({len(X)}, 1)",
                       0.0, details)
    if not np.all(np.isfinite(out)):
        return Verdict(FAIL, "predict returned NaN or infinite values", 0.0, details)
    labels_only = ctx.facts.get("predict_labels") or bool(np.all(np.isin(out, (0.0, 1.0))))
    if not labels_only and not np.all((out > 0) & (out < 1)):
        return Verdict(FAIL, f"predict returned values outside (0, 1) (min {out.min():.3g}, max "
                       f"{out.max():.3g}); a sigmoid output is always strictly between 0 and 1",
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
    layout = ctx.facts.get("layout")
    if layout is None:
        return Verdict(PASS, "predict returns finite values of the right shape, but its weights "
                       "do not map onto the lab's three layers, so it could not be compared with "
                       "the reference forward pass", 0.5, details)
    details["layout"] = layout.describe()
    message = "predict matches the reference forward pass on the same weights"
    if labels_only:
        message += " (as labels)"
    if notes:
        message += "; " + "; ".join(notes)
    return Verdict(PASS, message, 1.0, details)
