"""``gradient``: the step that ``backprop`` + ``update(lr)`` applies is the true gradient.

Measurement, black box: the student's parameters are set to well-conditioned test weights
(hidden pre-activations of order one, away from saturation: small weights hide bugs), then
``predict``, ``backprop`` and ``update(lr)`` run once, and the applied gradient is read off as
``(W_before - W_after) / lr`` for every parameter array.  This is done with two learning rates
(powers of two, where reading the step off is exact) from fresh instances, to confirm that the
step is linear in ``lr``; a second step catches optimizer state hidden in ``update``; all of it
on three single samples and on one batch of ``[checks.gradient] batch_size`` points
(:func:`batch_points`), drawn from the grading seed.

Judgement: :func:`grader.diagnosis.diagnose` compares every parameter array with the
reference gradient on the same weights, up to one positive factor fixed on the output layer
(which absorbs the MSE conventions), names the first layer that goes wrong and the known bug
that matches.  The factor found is kept for the training checks (``lr / scale``).

Parameters that map onto no reference layout (:func:`check_by_finite_differences`) are compared
instead with central differences of the lab's MSE through the student's own ``predict``, with
the step ``[checks.gradient] epsilon``.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing import Any, Iterator, Sequence

from reference.deferred import np
from grader.checks.base import ERROR, FAIL, PASS, SKIP, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from grader.layout import Layout
from grader.rubric import CheckConfig, setting, weights_problems
from reference.lab1 import generate_XOR_easy


@dataclass(frozen=True)
class GradientWeights:
    """``[checks.gradient.weights]``: partial credit of the gradient check (sums to 1)."""

    single_sample: float = setting(1.0, "Share for a correct gradient of one sample (1, 2).",
                                   minimum=0, maximum=1)
    batch: float = setting(0.0, "Share for a correct gradient of a batch (N, 2).",
                           minimum=0, maximum=1)


@dataclass(frozen=True)
class GradientCheck(CheckConfig):
    """``[checks.gradient]``: backprop + update(lr) apply the gradient of the loss."""

    tolerance: float = setting(
        1e-6, "Largest accepted relative error between the applied gradient (after the "
              "shared scale factor) and the reference's exact gradient on the same weights, "
              "per parameter array. (Parameters in no known layout are compared with central "
              "differences instead, whose own error needs a looser threshold, 1e-5.)",
        above=0)
    epsilon: float = setting(
        1e-6, "Step of the central finite differences through predict, used only when the "
              "parameters map onto no known layout (otherwise the reference's backprop on the "
              "same weights is the comparison); in float64 the error is smallest near 1e-5.",
        above=0)
    learning_rates: tuple[float, ...] = setting(
        (1.0, 0.5), "Learning rates passed to update(); the update must scale with them.",
        nonempty=True, above=0)
    single_sample: bool = setting(True, "Check the gradient of one sample, shape (1, 2).")
    batch: bool = setting(True, "Check the gradient of a batch, shape (batch_size, 2).")
    batch_size: int = setting(
        4, "Samples in the batch, drawn from the grading seed among the 21 XOR points (beyond "
           "21, the rest uniformly in the unit square, with XOR labels). Any size >= 2 tells a "
           "bias averaged over the batch (1/N) or a missing 1/N (xN) from the right gradient.",
        minimum=2)
    weights: GradientWeights = setting(factory=GradientWeights, help="Partial credit.")

    def problems(self) -> Iterator[tuple[str, str]]:
        if not (self.single_sample or self.batch):
            yield "single_sample", "expected single_sample or batch (or both) to be true"
        yield from weights_problems(self.weights, {"single_sample": self.single_sample,
                                                   "batch": self.batch})


def measure(ctx: GradingContext, layout: Layout, X: np.ndarray, Y: np.ndarray,
            weights: list[np.ndarray], biases: list[np.ndarray] | None) -> dict[str, Any]:
    """Run the steps in the child; return applied gradients in the reference's orientation."""
    before = layout.to_student(weights, biases)
    rates = list(ctx.config("gradient").learning_rates)
    if ctx.facts.adapter.get("fixed_rate"):
        # the step takes no rate and keeps it where the grader cannot set it: one rate, whose
        # factor the shared scale absorbs (the lab's update(lr) is the interface's business)
        rates = rates[:1]
    step = ctx.probe("steps", {"adapter": ctx.facts.adapter | {"params": layout.paths},
                               "params": before, "X": X, "Y": Y, "lrs": rates,
                               "second_step": True, "seed": ctx.seed})
    failure = probe_failure(step, "taking a gradient step")
    if failure:
        if not step.answered:  # it died or hung: training through the same step would too
            ctx.facts.step_failure = failure
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
    if ctx.facts.adapter.get("lr_attr") and _same_step(step.result["runs"]):
        # the grader set the rate through an attribute the step never reads (the network's
        # layers keep their own copy): the network keeps its own rate, as a fixed-rate one
        measured["runs"] = measured["runs"][:1]
    # fewer runs than rates asked: the network keeps its own rate, inside the measured scale
    measured["own_rate"] = len(measured["runs"]) < len(ctx.config("gradient").learning_rates)
    return measured


def _one_vector_per_step(adapter: dict[str, Any] | None) -> bool:
    """The student's program steps on one sample given as a vector (``net.forward(row)``):
    its network takes no batch, so none is asked of it (a batch of rows read as one sample
    would give a wrong answer without an error)."""
    step = (adapter or {}).get("step") or []
    return bool(step) and any(r.get("role") == "x" and r.get("ndim") == 1 for r in
                              [*step[0].get("args", []), *step[0].get("kwargs", {}).values()])


def _same_step(runs: list[dict[str, Any]]) -> bool:
    """Two runs at different rates left exactly the same weights."""
    return len(runs) > 1 and all(
        np.array_equal(np.asarray(a), np.asarray(b))
        for a, b in zip(runs[0].get("after", []), runs[1].get("after", [])))


def judge(weights, biases, X, Y, measured: dict[str, Any], tol: float,
          activations: tuple[str, str] = ("sigmoid", "sigmoid"),
          absent_biases: Sequence[int] = ()) -> Any:
    """The diagnosis of one measurement (one sample, or the batch)."""
    from grader.diagnosis import diagnose

    first = measured["runs"][0]
    other = measured["runs"][1] if len(measured["runs"]) > 1 else None
    lr_pair = None if other is None else (
        (first["lr"], first["weights"] + (first["biases"] or [])),
        (other["lr"], other["weights"] + (other["biases"] or [])))
    return diagnose(weights, biases, X, Y, first["weights"], first["biases"], lr_pair=lr_pair,
                    second_step=first.get("second"), tol=tol, hidden=activations[0],
                    output=activations[1], absent_biases=absent_biases)


def xor_labels(X: np.ndarray) -> np.ndarray:
    """The XOR rule of the lab's data for any point of the unit square: 1 when exactly one
    coordinate is above 0.5.  It gives every point of ``generate_XOR_easy()`` its label."""
    return ((X[:, 0] > 0.5) != (X[:, 1] > 0.5)).astype(float).reshape(-1, 1)




def batch_points(ctx: GradingContext) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The batch of the gradient check: ``[checks.gradient] batch_size`` points and labels, with
    what the details report about them.

    The points are the lab's own XOR points, drawn without replacement from the grading seed
    (``ctx.rng("gradient-batch")``: the same seed gives the same batch, whatever ran before).
    Any batch size N >= 2 keeps the batch-only bugs apart from the right gradient: a bias
    averaged instead of summed makes every bias array 1/N of the reference's, a missing 1/N
    makes one array N times it, and the shared scale cannot absorb a factor that only some
    arrays carry.  A batch larger than the 21 XOR points is completed with points drawn
    uniformly in the unit square, labelled by the same XOR rule (:func:`xor_labels`); the
    details say how many.
    """
    size = ctx.config("gradient").batch_size
    rng = ctx.rng("gradient-batch")
    X_all, Y_all = generate_XOR_easy()
    picks = np.sort(rng.choice(len(X_all), size=min(size, len(X_all)), replace=False))
    X, Y = X_all[picks], Y_all[picks].astype(float)
    extra = size - len(picks)
    if extra > 0:
        X_more = rng.uniform(0.0, 1.0, (extra, X.shape[1]))
        X, Y = np.vstack([X, X_more]), np.vstack([Y, xor_labels(X_more)])
    about: dict[str, Any] = {"shape": list(X.shape), "xor_points": [int(i) for i in picks],
                             "uniform_points": extra}
    if extra > 0:
        about["note"] = (f"batch_size {size} is more than the {len(X_all)} XOR points: "
                         f"{extra} points drawn uniformly in the unit square, XOR labels")
    return X, Y, about


SINGLE_SAMPLES = 3
"""Single-sample measurements: with one sample, an output-layer bug (the cross-entropy's
gradient, a missing sigmoid' at the output) only rescales every array by one factor, which
looks like an MSE convention; that factor then differs from sample to sample, the
conventions' does not."""
SCALE_AGREEMENT = 1e-6


@register("gradient", config=GradientCheck, requires=("interface",),
          reads=("adapter", "layout", "predict_failure", "step_unusable", "observed"),
          writes=("gradient_scale", "step_failure"),
          summary="backprop + update applies the true gradient, layer by layer")
def check_gradient(ctx: GradingContext) -> Verdict:
    from grader.diagnosis import well_conditioned_weights

    if ctx.facts.observed is not None:
        return check_observed_steps(ctx)
    if ctx.facts.predict_failure:
        return Verdict(ERROR, f"not checked: {ctx.facts.predict_failure}, and every step "
                       "starts with predict")
    if ctx.facts.step_unusable:
        return Verdict(SKIP, f"not checked: {ctx.facts.step_unusable} (see interface)")
    layout: Layout | None = ctx.facts.layout
    if layout is None:
        return check_by_finite_differences(ctx)
    cfg: GradientCheck = ctx.config("gradient")
    rng = ctx.rng("gradient")
    weights, biases = well_conditioned_weights(list(layout.dims), rng, bias=layout.has_bias,
                                               activation=layout.hidden, output=layout.output)
    X_all, Y_all = generate_XOR_easy()
    # never the origin: without a bias, every first-layer gradient is 0 there
    picks = 1 + rng.choice(len(X_all) - 1, size=SINGLE_SAMPLES, replace=False)
    cases = {f"sample {int(i)}": (X_all[i:i + 1], Y_all[i:i + 1].astype(float))
             for i in picks} if cfg.single_sample else {}
    batch_data: dict[str, Any] | None = None
    one_vector = _one_vector_per_step(ctx.facts.adapter)
    if cfg.batch and not one_vector:
        X_batch, Y_batch, batch_data = batch_points(ctx)
        cases["batch"] = (X_batch, Y_batch)
    reports: dict[str, Any] = {}
    own_rate = False
    for name, (X, Y) in cases.items():
        measured = measure(ctx, layout, X, Y, weights, biases)
        own_rate = own_rate or bool(measured.get("own_rate"))
        if "failure" in measured:
            return Verdict(ERROR, measured["failure"], 0.0, {"case": name})
        if "student_error" in measured:
            if name == "batch" and cfg.single_sample:
                reports[name] = {"skipped": "predict/backprop do not take a batch: "
                                 + measured["student_error"]}
                continue
            what = "a batch" if name == "batch" else "one sample"
            return Verdict(ERROR, f"a gradient step on {what} raised "
                           + measured["student_error"], 0.0, {"case": name})
        reports[name] = judge(weights, biases, X, Y, measured, cfg.tolerance,
                              (layout.hidden, layout.output), layout.absent_biases)
    singles = [reports[k] for k in reports if k != "batch"]
    batch = reports.get("batch", {"skipped": "your program steps on one sample at a time"
                                  if one_vector else "not asked for by the rubric"})
    batch_measured = hasattr(batch, "ok")
    details: dict[str, Any] = {k: (v.to_dict() if hasattr(v, "to_dict") else v)
                               for k, v in reports.items()}
    if batch_data is not None:
        details["batch_data"] = batch_data
    # with single samples off (the rubric's choice) the batch alone decides, and gives the scale
    first = (singles or [batch])[0]
    single_ok, single_message = _judge_singles(singles or [batch])
    if single_ok and first.scale and first.scale > 0:
        ctx.facts.gradient_scale = float(first.scale)
    shares = cfg.weights
    batch_ok = batch_measured and batch.all_ok
    total = shares.single_sample * bool(singles) + (shares.batch if batch_measured else 0.0)
    earned = shares.single_sample * bool(singles) * single_ok + shares.batch * batch_ok
    fraction = round(earned / total, 4) if total > 0 else float(single_ok)
    if single_ok and (batch_ok or not batch_measured):
        note = "" if batch_measured else " (one sample at a time: predict does not take a batch)"
        convention = f", {first.convention}" if first.convention else ""
        if own_rate:  # the factor is the rate times the convention: naming one would guess
            convention = (", which includes the learning rate your network keeps for itself: "
                          "the grader cannot set it")
        return Verdict(PASS, f"the applied gradient is the true gradient in every layer "
                       f"(scale {first.scale:.4g}{convention}){note}", 1.0, details)
    if single_ok and singles:
        return Verdict(FAIL, f"right for one sample at a time, wrong for a batch of "
                       f"{len(cases['batch'][0])}: {batch.message}", fraction, details)
    return Verdict(FAIL, single_message, fraction, details)


def check_observed_steps(ctx: GradingContext) -> Verdict:
    """A training loop written inline, watched stepping: each step it took, from its own
    weights on its own batch, against the true gradient there (up to one positive factor,
    which includes the loop's own learning rate)."""
    from grader.diagnosis import diagnose

    cfg: GradientCheck = ctx.config("gradient")
    loop = ctx.facts.observed
    reports = [diagnose(step.weights, step.biases, step.X, step.Y, step.applied_w,
                        step.applied_b, hidden=loop.layout.hidden, output=loop.layout.output,
                        tol=cfg.tolerance, absent_biases=loop.layout.absent_biases)
               for step in loop.steps]
    details = {f"step {k + 1}": r.to_dict() for k, r in enumerate(reports)}
    details["observed"] = loop.describe()
    ok, message = _judge_singles(reports)
    what = (f"the {len(reports)} steps" if len(reports) > 1 else "the step") + \
        " your training loop took (watched, not replayed)"
    if ok:
        first = reports[0]
        if first.scale and first.scale > 0:
            ctx.facts.gradient_scale = float(first.scale)
        return Verdict(PASS, f"{what} applied the true gradient in every layer (scale "
                       f"{first.scale:.4g}, which includes your loop's own learning rate)",
                       1.0, details)
    return Verdict(FAIL, f"{what}: {message}", 0.0, details)


def _judge_singles(singles: list[Any]) -> tuple[bool, str]:
    """All single-sample diagnoses right, with one shared scale; else the first problem."""
    for report in singles:
        if not report.ok:
            frozen = _frozen_message(report)
            if frozen:
                return False, frozen
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


def _frozen_message(report: Any) -> str | None:
    """When every wrong array is one the step never changed although its true gradient is not
    zero (a layer left out of backprop or update, a TODO), say so plainly, layer by layer."""
    wrong = [a for a in report.arrays if not a.ok]
    if not wrong or any(a.moved for a in wrong):
        return None
    layers = sorted({a.layer for a in wrong})
    names = _listed([f"{a.name}" for a in wrong])
    plural = len(layers) > 1
    text = (f"{'layers' if plural else 'layer'} {_listed([str(n) for n in layers])} ({names}) "
            f"never {'change' if plural else 'changes'}: {'their' if plural else 'its'} "
            "gradient is left at zero, while the true gradient is not")
    right = sorted({a.layer for a in report.arrays if a.ok})
    if right:
        text += (f"; {'layers' if len(right) > 1 else 'layer'} "
                 f"{_listed([str(n) for n in right])} {'are' if len(right) > 1 else 'is'} right")
    return text + " (does backprop compute every layer's gradient, and update apply it?)"


FD_TOLERANCE = 1e-5
"""The fallback's threshold on the relative error: it leaves room for a student's less careful
arithmetic and for the differences' own error, while real bugs are 0.05 to 1."""


def check_by_finite_differences(ctx: GradingContext) -> Verdict:
    """Parameters that map onto no reference layout: compare the applied step with central
    differences of the lab's MSE through the student's own ``predict``, array by array, up to
    one positive factor shared by all arrays.  No bug can be named this way.

    The step is the rubric's ``[checks.gradient] epsilon``: too large a step measures the
    curvature along with the slope (an error ~h^2), too small a one drowns the difference of two
    nearly equal losses in rounding (an error ~1e-16 / h)."""
    from reference.gradcheck import relative_error

    adapter = ctx.facts.adapter
    paths = adapter.get("params") or []
    if not paths:
        return Verdict(FAIL, "predict reads none of your network's arrays, so there are no "
                       "weights whose gradient could be checked", 0.0)
    X_all, Y_all = generate_XOR_easy()
    pick = 1 + int(ctx.rng("gradient").integers(len(X_all) - 1))
    X, Y = X_all[pick:pick + 1], Y_all[pick:pick + 1].astype(float)
    h = ctx.config("gradient").epsilon
    fd = ctx.probe("fd", {"adapter": adapter, "X": X, "Y": Y, "h": h, "seed": ctx.seed})
    failure = probe_failure(fd, "computing finite differences")
    if failure:
        return Verdict(ERROR, failure, 0.0)
    values = fd.result["params"]
    numeric = [(p - m) / (2 * h) for p, m in zip(fd.result["plus"], fd.result["minus"])]
    lr = ctx.config("gradient").learning_rates[0]
    step = ctx.probe("steps", {"adapter": adapter, "params": values, "X": X, "Y": Y,
                               "lrs": [lr], "seed": ctx.seed})
    failure = probe_failure(step, "taking a gradient step")
    if failure:
        if not step.answered:
            ctx.facts.step_failure = failure
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
    details = {"method": "central differences through predict", "epsilon": h,
               "tolerance": FD_TOLERANCE, "scale": scale, "arrays": arrays, "sample": pick}
    frozen = [path for path, a, n in zip(paths, applied, numeric)
              if not np.any(a) and np.linalg.norm(n) > 0]
    if frozen:
        details["never_changes"] = frozen
        return Verdict(FAIL, f"{_listed(frozen)} never {'change' if len(frozen) > 1 else 'changes'}"
                       f": {'their' if len(frozen) > 1 else 'its'} gradient is left at zero, "
                       "though predict reads "
                       f"{'them' if len(frozen) > 1 else 'it'} and the MSE depends on "
                       f"{'them' if len(frozen) > 1 else 'it'} (checked by finite differences "
                       "through predict)", 0.0, details)
    wrong = [a for a in arrays if a["rel_error"] > FD_TOLERANCE]
    if scale > 0 and not wrong:
        ctx.facts.gradient_scale = scale
        return Verdict(PASS, f"the applied step equals the gradient of the MSE in every array "
                       f"(checked by finite differences through predict; scale {scale:.4g})",
                       1.0, details)
    if scale <= 0:
        return Verdict(FAIL, "wrong sign: the step moves the weights up the gradient (gradient "
                       "ascent)", 0.0, details)
    names = ", ".join(f"{a['name']} (relative error {a['rel_error']:.2g})" for a in wrong)
    return Verdict(FAIL, f"the applied step differs from the gradient of the MSE in {names}: "
                   f"expected a relative error below {FD_TOLERANCE:g} against central "
                   f"differences through predict (step {h:g}), after the shared scale "
                   f"{scale:.4g}", 0.0, details)


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
