"""``gradient``: the step that ``backprop`` + ``update(lr)`` applies is the true gradient.

Measurement, black box: the student's parameters are set to well-conditioned test weights
(hidden pre-activations of order one, away from saturation: small weights hide bugs), then
``predict``, ``backprop`` and ``update(lr)`` run once, and the applied gradient is read off as
``(W_before - W_after) / lr`` for every parameter array.  This is done with two learning rates
(powers of two, where reading the step off is exact) from fresh instances, to confirm that the
step is linear in ``lr``; a second step catches optimizer state hidden in ``update``; all of it
for one sample and for the 21-point batch.

Judgement: :func:`grader.diagnosis.diagnose` compares every parameter array with the
reference gradient on the same weights, up to one positive factor fixed on the output layer
(which absorbs the MSE conventions), names the first layer that goes wrong and the known bug
that matches.  The factor found is kept for the training checks (``lr / scale``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.base import ERROR, FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from grader.layout import Layout
from reference.lab1 import generate_XOR_easy

LAB_DIMS = [2, 3, 3, 1]
LEARNING_RATES = (1.0, 0.5)


def measure(ctx: GradingContext, layout: Layout, X: np.ndarray, Y: np.ndarray,
            weights: list[np.ndarray], biases: list[np.ndarray] | None) -> dict[str, Any]:
    """Run the steps in the child; return applied gradients in the reference's orientation."""
    before = layout.to_student(weights, biases)
    rates = [float(r) for r in ctx.setting("gradient", "learning_rates", LEARNING_RATES)]
    step = ctx.probe("steps", {"adapter": ctx.facts["adapter"] | {"params": layout.paths},
                               "params": before, "X": X, "Y": Y, "lrs": rates,
                               "second_step": True, "seed": ctx.seed})
    failure = probe_failure(step, "taking a gradient step")
    if failure:
        return {"failure": failure}
    measured: dict[str, Any] = {"runs": []}
    for run in step.result["runs"]:
        if "error" in run:
            return {"student_error": describe_student_error(run["error"])}
        lr = float(run["lr"])
        applied = [(b - a) / lr for b, a in zip(before, run["after"])]
        gw, gb = layout.to_reference(applied)
        entry = {"lr": lr, "weights": gw, "biases": gb}
        if "after_second" in run:
            after_w, after_b = layout.to_reference(run["after"])
            second = [(a - s) / lr for a, s in zip(run["after"], run["after_second"])]
            sw, sb = layout.to_reference(second)
            entry["second"] = {"weights_before": after_w, "biases_before": after_b,
                               "weights": sw, "biases": sb}
        measured["runs"].append(entry)
    return measured


def judge(weights, biases, X, Y, measured: dict[str, Any], tol: float) -> Any:
    """The diagnosis of one measurement (one sample, or the batch)."""
    from grader.diagnosis import diagnose

    first = measured["runs"][0]
    other = measured["runs"][1] if len(measured["runs"]) > 1 else None
    lr_pair = None if other is None else (
        (first["lr"], first["weights"] + (first["biases"] or [])),
        (other["lr"], other["weights"] + (other["biases"] or [])))
    return diagnose(weights, biases, X, Y, first["weights"], first["biases"], lr_pair=lr_pair,
                    second_step=first.get("second"), tol=tol)


SINGLE_SAMPLES = 3
"""Single-sample measurements: with one sample, an output-layer bug (the cross-entropy's
gradient, a missing sigmoid' at the output) only rescales every array by one factor, which
looks like an MSE convention; that factor then differs from sample to sample, the
conventions' does not."""
SCALE_AGREEMENT = 1e-6


@register("gradient", requires=("interface",),
          summary="backprop + update applies the true gradient, layer by layer")
def check_gradient(ctx: GradingContext) -> Verdict:
    from grader.diagnosis import well_conditioned_weights

    layout: Layout | None = ctx.facts.get("layout")
    if layout is None:
        return check_by_finite_differences(ctx)
    rng = ctx.rng("gradient")
    weights, biases = well_conditioned_weights(LAB_DIMS, rng, bias=layout.has_bias)
    X_all, Y_all = generate_XOR_easy()
    # never the origin: without a bias, every first-layer gradient is 0 there
    picks = 1 + rng.choice(len(X_all) - 1, size=SINGLE_SAMPLES, replace=False)
    cases = {f"sample {int(i)}": (X_all[i:i + 1], Y_all[i:i + 1].astype(float)) for i in picks}
    if ctx.setting("gradient", "batch", True):
        cases["batch"] = (X_all, Y_all.astype(float))
    reports: dict[str, Any] = {}
    for name, (X, Y) in cases.items():
        measured = measure(ctx, layout, X, Y, weights, biases)
        if "failure" in measured:
            return Verdict(ERROR, measured["failure"], 0.0, {"case": name})
        if "student_error" in measured:
            if name == "batch":
                reports[name] = {"skipped": "predict/backprop do not take a batch: "
                                 + measured["student_error"]}
                continue
            return Verdict(ERROR, "a gradient step on one sample raised "
                           + measured["student_error"], 0.0, {"case": name})
        reports[name] = judge(weights, biases, X, Y, measured,
                              float(ctx.setting("gradient", "tolerance", 1e-6)))
    singles = [reports[k] for k in reports if k != "batch"]
    batch = reports.get("batch", {"skipped": "not asked for by the rubric"})
    batch_measured = hasattr(batch, "ok")
    details: dict[str, Any] = {k: (v.to_dict() if hasattr(v, "to_dict") else v)
                               for k, v in reports.items()}
    single_ok, single_message = _judge_singles(singles)
    scale = singles[0].scale
    if single_ok and scale and scale > 0:
        ctx.facts["gradient_scale"] = float(scale)
    weights_conf = {"single_sample": 0.75, "batch": 0.25,
                    **dict(ctx.setting("gradient", "weights", {}) or {})}
    batch_ok = batch_measured and batch.all_ok
    total = weights_conf["single_sample"] + (weights_conf["batch"] if batch_measured else 0.0)
    earned = weights_conf["single_sample"] * single_ok + weights_conf["batch"] * batch_ok
    fraction = round(earned / total, 4) if total > 0 else float(single_ok)
    if single_ok and (batch_ok or not batch_measured):
        note = "" if batch_measured else " (one sample at a time: predict does not take a batch)"
        convention = f", {singles[0].convention}" if singles[0].convention else ""
        return Verdict(PASS, f"the applied gradient is the true gradient in every layer "
                       f"(scale {scale:.4g}{convention}){note}", 1.0, details)
    if single_ok:
        return Verdict(FAIL, f"right for one sample at a time, wrong for a batch of 21: "
                       f"{batch.message}", fraction, details)
    return Verdict(FAIL, single_message, fraction, details)


def _judge_singles(singles: list[Any]) -> tuple[bool, str]:
    """All single-sample diagnoses right, with one shared scale; else the first problem."""
    for report in singles:
        if not report.ok:
            return False, report.message + (f" ({report.hint})" if report.hint else "")
    scales = [r.scale for r in singles]
    spread = max(scales) / min(scales) - 1.0 if min(scales) > 0 else float("inf")
    if spread > SCALE_AGREEMENT:
        listed = ", ".join(f"x{s:.3g}" for s in scales)
        return False, ("the size of your gradient relative to the true one changes from sample "
                       f"to sample ({listed}); an MSE convention would give one constant factor: "
                       "the output layer's derivative is probably wrong (the gradient of binary "
                       "cross-entropy, or a missing sigmoid' at the output)")
    for report in singles:  # the gradient is right; what update() does with it may not be
        if not report.all_ok:
            return False, report.message + (f" ({report.hint})" if report.hint else "")
    return True, ""


FD_STEP = 1e-5
FD_TOLERANCE = 1e-5
"""Central differences through ``predict`` are good to about 1e-10 at h = 1e-5 (NOTES); the
tolerance leaves room for a student's less careful arithmetic, and real bugs are 0.05 to 1."""


def check_by_finite_differences(ctx: GradingContext) -> Verdict:
    """Parameters that map onto no reference layout: compare the applied step with central
    differences of the lab's MSE through the student's own ``predict``, array by array, up to
    one positive factor shared by all arrays.  No bug can be named this way."""
    from reference.gradcheck import relative_error

    adapter = ctx.facts["adapter"]
    paths = adapter.get("params") or []
    if not paths:
        return Verdict(FAIL, "no parameter of your network moves when it is trained, so there "
                       "is no gradient to check", 0.0)
    X_all, Y_all = generate_XOR_easy()
    pick = 1 + int(ctx.rng("gradient").integers(len(X_all) - 1))
    X, Y = X_all[pick:pick + 1], Y_all[pick:pick + 1].astype(float)
    fd = ctx.probe("fd", {"adapter": adapter, "X": X, "Y": Y, "h": FD_STEP, "seed": ctx.seed})
    failure = probe_failure(fd, "computing finite differences")
    if failure:
        return Verdict(ERROR, failure, 0.0)
    values = fd.result["params"]
    numeric = [(p - m) / (2 * FD_STEP) for p, m in zip(fd.result["plus"], fd.result["minus"])]
    lr = float(ctx.setting("gradient", "learning_rates", LEARNING_RATES)[0])
    step = ctx.probe("steps", {"adapter": adapter, "params": values, "X": X, "Y": Y,
                               "lrs": [lr], "seed": ctx.seed})
    failure = probe_failure(step, "taking a gradient step")
    if failure:
        return Verdict(ERROR, failure, 0.0)
    run = step.result["runs"][0]
    if "error" in run:
        return Verdict(ERROR, "a gradient step raised " + describe_student_error(run["error"]), 0.0)
    applied = [(b - a) / lr for b, a in zip(values, run["after"])]
    flat_n = np.concatenate([n.reshape(-1) for n in numeric])
    flat_a = np.concatenate([a.reshape(-1) for a in applied])
    scale = float(flat_a @ flat_n / max(flat_n @ flat_n, 1e-300))
    arrays = [{"name": path, "shape": list(a.shape),
               "rel_error": relative_error(a, scale * n)} for path, a, n in
              zip(paths, applied, numeric)]
    details = {"method": "central differences through predict", "scale": scale,
               "arrays": arrays, "sample": pick}
    wrong = [a for a in arrays if a["rel_error"] > FD_TOLERANCE]
    if scale > 0 and not wrong:
        return Verdict(PASS, f"the applied step equals the gradient of the MSE in every array "
                       f"(checked by finite differences through predict; scale {scale:.4g})",
                       1.0, details)
    if scale <= 0:
        return Verdict(FAIL, "wrong sign: the step moves the weights up the gradient (gradient "
                       "ascent)", 0.0, details)
    names = ", ".join(f"{a['name']} (relative error {a['rel_error']:.2g})" for a in wrong)
    return Verdict(FAIL, f"the applied step differs from the gradient of the MSE in {names}",
                   0.0, details)
