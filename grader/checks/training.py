"""``train_linear`` and ``train_xor``: the grader trains the student's network itself.

Measurement: fresh data from the grading seed (100 points of ``generate_linear``, at least 0.02
from the diagonal -- see :data:`grader.reference_runs.DIAGONAL_MARGIN` -- and a held-out 100 for
the linear task; the 21 points of ``generate_XOR_easy``), then the lab's loop -- one
predict/backprop/update per sample, lr 0.8 -- through the student's own methods, inside the
sandbox, within a step and time budget.

A correct student must not fail because of an unlucky initialisation: only about a third of
random initialisations converge on XOR at all (see ``bench/convergence.py``).  So where the
parameters map onto the reference, the student starts from weights with which the reference
itself converges, and with ``lr / scale`` (the gradient check's convention factor): a correct
implementation then follows the reference's loss curve step for step, and a mismatch of the
curves is itself reported.  Otherwise the student's own initialisation is used, seeded, with
as many restarts as the reference's measured convergence rate requires for a correct network
to fail less often than the rubric's ``failure_probability`` (:mod:`grader.reference_runs`).

Judgement, from the final predictions only (recomputed here, never taken from the child): pass
when every training sample's loss is below 0.04 -- the lab's criterion -- and the accuracy
reaches the rubric's threshold, on the held-out points too for the linear task.  Loss and
accuracy are judged at the same moment (NOTES: either alone lets broken networks through).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Iterator

from reference.deferred import np
from grader.checks.base import ERROR, FAIL, PASS, SKIP, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from grader.layout import Layout
from grader.reference_runs import (ReferenceRun, convergence_profile, plan_restarts,
                                   reference_run, task_data)
from grader.rubric import CheckConfig, setting, weights_problems
from reference.lab1 import LAB_DIM


@dataclass(frozen=True)
class TrainWeights:
    """``[checks.train_*.weights]``: partial credit of a training check (sums to 1)."""

    converged: float = setting(0.5, "Share for converging: every sample's loss below the "
                                    "threshold.", minimum=0, maximum=1)
    accuracy: float = setting(0.5, "Share for reaching the accuracy threshold.",
                              minimum=0, maximum=1)


@dataclass(frozen=True)
class TrainCheck(CheckConfig):
    """``[checks.train_linear]``, ``[checks.train_xor]``: the grader trains the student's network
    with the lab's per-sample loop, through the student's own methods."""

    lr: float = setting(0.8, "Learning rate (the lab's).", above=0)
    loss_threshold: float = setting(
        0.04, "Training stops when every sample's loss is below this (the lab's criterion).",
        above=0)
    accuracy_threshold: float = setting(1.0, "Accuracy needed on the training points.",
                                        minimum=0, maximum=1)
    held_out_accuracy_threshold: float = setting(
        0.95, "Accuracy needed on the held-out points (when held_out_points > 0).",
        minimum=0, maximum=1)
    max_steps: int = setting(200_000, "Per-sample updates allowed per attempt.", minimum=1)
    attempts: int = setting(
        30, "Most initialisations tried (1: no restart) when the student's own "
            "initialisation is used, because the parameters map onto no known layout. Within "
            "this cap, the attempts and their steps are sized from the reference's measured "
            "convergence so that a correct network fails less often than "
            "failure_probability. Starting from weights the reference is known to converge "
            "from needs one attempt.", minimum=1)
    failure_probability: float = setting(
        1e-3, "Largest accepted chance that a correct network started from its own "
              "initialisation fails every attempt.", above=0, maximum=0.5)
    time_budget_s: float = setting(30.0, "Wall-clock seconds per attempt.", above=0)
    total_time_budget_s: float = setting(
        300.0, "Wall-clock seconds for all attempts together; attempts left when it runs out "
               "are not made (a broken network would otherwise spend attempts x "
               "time_budget_s).", above=0)
    training_points: int = setting(21, "Points trained on.", minimum=1)
    held_out_points: int = setting(
        0, "Fresh points the held-out accuracy is measured on (0: none).", minimum=0)
    weights: TrainWeights = setting(factory=TrainWeights, help="Partial credit.")

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from weights_problems(self.weights, {})


@dataclass(frozen=True)
class LinearTrainCheck(TrainCheck):
    """``[checks.train_linear]``: training on ``generate_linear()``."""

    max_steps: int = setting(50_000, "Per-sample updates allowed per attempt.", minimum=1)
    attempts: int = setting(
        5, "Most initialisations tried (1: no restart) when the student's own "
           "initialisation is used (see train_xor's attempts).", minimum=1)
    total_time_budget_s: float = setting(
        120.0, "Wall-clock seconds for all attempts together.", above=0)
    training_points: int = setting(100, "Points of generate_linear(n) trained on.", minimum=1)
    held_out_points: int = setting(100, "Fresh points the held-out accuracy is measured on.",
                                   minimum=0)


@dataclass(frozen=True)
class XorTrainCheck(TrainCheck):
    """``[checks.train_xor]``: training on ``generate_XOR_easy()`` (its 21 fixed points)."""

    training_points: int = setting(21, "Points of generate_XOR_easy() (always 21).",
                                   minimum=21, maximum=21)


OWN_INIT_STEP_MARGIN = 1.1
"""Room above the restart plan's steps: a student's initialisation need not be drawn exactly
as the reference's."""
OWN_PATH_MARGIN = 5.0
STEP_MARGIN = 2.0
"""Steps allowed, as a multiple of the most any nudged copy of the reference needed: a correct
student's rounding differs from the reference's, so its run may take somewhat longer."""


def judge_predictions(prediction: Any, Y: np.ndarray) -> tuple[float, float, float]:
    """(largest per-sample loss, mean loss, accuracy) from raw predictions."""
    p = np.asarray(prediction, dtype=float).reshape(-1)
    y = np.asarray(Y, dtype=float).reshape(-1)
    if p.size != y.size:
        raise ValueError(f"{p.size} predictions for {y.size} samples")
    losses = (p - y) ** 2
    accuracy = float(np.mean((p >= 0.5).astype(float) == y))
    return float(np.max(losses)), float(np.mean(losses)), accuracy


def _train_check(task: str, ctx: GradingContext) -> Verdict:
    if ctx.facts.observed is not None:
        return Verdict(SKIP, "not checked: your training loop is written inline, so the grader "
                       "cannot run it on its own data and weights (the program check shows how "
                       "your own run ended)")
    return _trained(task, ctx)


def _trained(task: str, ctx: GradingContext) -> Verdict:
    conf: TrainCheck = ctx.config(task)
    weights = asdict(conf.weights)
    threshold = float(conf.loss_threshold)
    X, Y, X_eval, Y_eval = task_data(task, ctx.seed, int(conf.training_points),
                                     int(conf.held_out_points))
    layout = ctx.facts.layout
    scale = float(ctx.facts.gradient_scale or 1.0)
    lr = float(conf.lr) / scale if scale > 0 else float(conf.lr)
    adapter = ctx.facts.adapter
    details: dict[str, Any] = {"lr": lr, "data_points": len(X)}
    if ctx.facts.predict_failure:
        return Verdict(ERROR, f"not trained: {ctx.facts.predict_failure}, and every step "
                       "starts with predict", 0.0, details)
    if ctx.facts.step_unusable:
        return Verdict(SKIP, f"not checked: {ctx.facts.step_unusable} (see interface)")
    if ctx.facts.step_failure:
        # each attempt would wait for the same dead or endless step until its budget ran out
        return Verdict(ERROR, f"not trained: {ctx.facts.step_failure} (in the gradient "
                       "check), and training takes thousands of such steps", 0.0, details)
    # the reference's robust starts exist for the lab's widths; other widths (the student's
    # choice) train from the network's own initialisation, with restarts
    lab_widths = layout is not None and list(layout.dims) == list(LAB_DIM) and \
        (layout.hidden, layout.output) == ("sigmoid", "sigmoid")  # the robust starts' network
    ref = reference_run(task, ctx.seed, len(X), float(conf.lr), layout.has_bias,
                        int(conf.max_steps)) if lab_widths else None
    attempts: list[dict[str, Any]] = []
    if ref is not None:
        plans, needed = _reference_starts(ref, layout, ctx, conf, len(X), details)
    else:
        plans, needed = _own_restarts(task, ctx, conf, len(X), details)
    started = time.monotonic()
    initials: list[list[np.ndarray]] = []
    earned_by_attempt: list[float] = []
    successes = 0
    for plan in plans:
        seconds = min(float(conf.time_budget_s),
                      float(conf.total_time_budget_s) - (time.monotonic() - started))
        if seconds <= 0:
            details["out_of_time"] = (f"the {float(conf.total_time_budget_s):g} s for all "
                                      f"attempts ran out after {len(attempts)} attempt(s)")
            break
        step = ctx.probe("train", {
            "adapter": adapter, "params": plan["params"], "seed": plan.get("seed", ctx.seed),
            "X": X, "Y": Y, "X_eval": X_eval, "lr": lr, "threshold": threshold,
            "max_steps": plan["max_steps"], "seconds": seconds},
            timeout=seconds + 30)
        failure = probe_failure(step, f"training on {task[6:]} data")
        if failure:
            details["attempts"] = attempts
            return Verdict(ERROR, failure, 0.0, details)
        obs = step.result
        attempt = {"from": plan["from"], "steps": obs["steps"], "stopped": obs["stopped"],
                   "seconds": round(obs["seconds"], 2)}
        if "reference_steps" in plan:
            attempt["reference_steps"] = plan["reference_steps"]
        attempts.append(attempt)
        if "error" in obs:
            details["attempts"] = attempts
            return Verdict(ERROR, "training raised " + describe_student_error(obs["error"]),
                           0.0, details)
        before, after = obs.get("params_before", []), obs.get("params_after", [])
        if plan.get("params") is None:  # the student's own initialisation
            initials.append([np.asarray(b, dtype=float) for b in before])
        if not before or all(np.array_equal(b, a) for b, a in zip(before, after)):
            details["attempts"] = attempts
            return Verdict(FAIL, f"no weight changed while training on the {task[6:]} data: "
                           "whatever predict answers, it was not learned", 0.0, details)
        try:
            worst, mean, accuracy = judge_predictions(obs["train_prediction"], Y)
        except (KeyError, ValueError) as err:
            details["attempts"] = attempts
            return Verdict(FAIL, f"after training, predict gave unusable output ({err})", 0.0,
                           details)
        curve = np.asarray(obs["curve"], dtype=float)
        details["loss_curve"], details["loss_curve_every"] = _thinned(curve)
        details["predictions"] = _predictions(X, Y, obs["train_prediction"])
        if ref is not None and len(attempts) == 1:  # the reference's curve is the first start's
            details["follows_reference"] = _follows(curve, ref.curve)
            details["reference_loss_curve"], _ = _thinned(ref.curve,
                                                          details["loss_curve_every"])
        # the lab's criterion: every loss of the last pass, each measured just before that
        # sample's update, below 0.04.  The final predictions come after the later samples'
        # updates, which can push a point near the diagonal well above 0.04 (0.095 measured on
        # a correct network), so they are not held to it; they must classify correctly
        last = np.asarray(obs.get("last_losses", []), dtype=float).reshape(-1)
        lab_rule = last.size == len(X) and bool(np.all(last < threshold))
        accurate = accuracy >= float(conf.accuracy_threshold)
        attempt.update({"worst_loss": worst, "mean_loss": mean, "accuracy": accuracy,
                        "last_pass_worst_loss": float(last.max()) if last.size else None,
                        "converged": lab_rule})
        if X_eval is not None:
            _, _, heldout = judge_predictions(obs["eval_prediction"], Y_eval)
            attempt["heldout_accuracy"] = heldout
            accurate = accurate and heldout >= float(conf.held_out_accuracy_threshold)
        earned = weights["converged"] * lab_rule + weights["accuracy"] * accurate
        earned_by_attempt.append(earned / max(sum(weights.values()), 1e-9))
        attempt["passed"] = bool(lab_rule and accurate)
        successes += attempt["passed"]
        if successes >= needed:
            details["attempts"] = attempts
            return Verdict(PASS, _success(task, attempt, details), 1.0, details)
        if len(attempts) - successes > len(plans) - needed:
            break  # too many starts got stuck for the rest to make up
    details["attempts"] = attempts
    problem = initialisation_problem(initials, list(adapter.get("params") or []))
    restarts = details.get("restarts")
    if restarts and ctx.facts.gradient_scale and not details.get("out_of_time") and \
            not problem and \
            float(restarts["failure_probability"]) > float(conf.failure_probability):
        # the reference built to these widths rarely converges within what the grader can
        # afford either: not converging is no evidence against a network whose step the
        # gradient check proved right, and bad luck must never fail a correct network
        details["benefit_of_the_doubt"] = True
        return Verdict(PASS, _undecided(task, attempts, restarts), 1.0, details)
    # restarts: the best attempt counts; several starts: how they went on average
    fraction = max(earned_by_attempt) if needed == 1 else \
        sum(earned_by_attempt) / len(earned_by_attempt)
    text = _failure(task, attempts[-1], conf, details)
    if problem:
        details["initialisation"] = problem
        text += f"; {problem}"
    return Verdict(FAIL, text, round(fraction, 4), details)


SATURATING_WEIGHT = 10.0
"""A weight this large makes a sigmoid's input of the same order for inputs in [0, 1]:
sigma'(10) = 4.5e-5, so the gradient through it all but vanishes."""


def initialisation_problem(initials: list[list[np.ndarray]], paths: list[str]) -> str | None:
    """What in the student's own initial weights makes learning impossible, named: all the
    weights of a layer equal (its hidden units get the same gradient and stay identical), a
    scale that saturates every sigmoid, or the same weights at every restart (the constructor
    re-seeds the generator, so restarting cannot help)."""
    if not initials or not initials[0]:
        return None
    first = initials[0]
    names = paths + [f"array {k + 1}" for k in range(len(paths), len(first))]
    equal = [name for name, a in zip(names, first) if a.ndim == 2 and min(a.shape) > 1
             and np.ptp(a) == 0]
    if equal:
        return (f"your initialisation gives every weight of {', '.join(equal)} the same value "
                f"({float(first[names.index(equal[0])].flat[0]):.3g}): the hidden units then get "
                "the same gradient and stay identical, so the network cannot learn (draw the "
                "weights at random)")
    largest = max((float(np.max(np.abs(a))) for a in first if a.size), default=0.0)
    if largest > SATURATING_WEIGHT:
        return (f"your initial weights reach {largest:.3g} in size: the sigmoids saturate "
                "(their derivative is almost 0), so the gradient vanishes and learning stalls "
                "(draw weights of order 1, e.g. np.random.uniform(-1, 1, ...))")
    if len(initials) > 1 and all(len(other) == len(first) and all(
            np.array_equal(a, b) for a, b in zip(first, other)) for other in initials[1:]):
        return (f"all {len(initials)} attempts began from the same weights: your network "
                "gets the same weights every time it is built (np.random.seed(...) in the "
                "constructor, or weights that are not drawn at random), so a start that gets "
                "stuck is the only start there is")
    return None


def _undecided(task: str, attempts: list[dict[str, Any]], restarts: dict[str, Any]) -> str:
    return (f"not held against you: none of {len(attempts)} attempt(s) of up to "
            f"{restarts['steps_per_attempt']} steps converged on the {task[6:]} data, but the "
            f"reference network built to your widths converges within that from only "
            f"{restarts['rate']:.0%} of starts at the lab's rate ({restarts['trials']} measured), "
            f"so a correct network fails like this with a probability of up to "
            f"{restarts['failure_probability']:.2g}; your step applies the true gradient (see "
            "gradient)")


def _reference_starts(ref: ReferenceRun, layout: Layout, ctx: GradingContext,
                      conf: TrainCheck, points: int, details: dict[str, Any]
                      ) -> tuple[list[dict[str, Any]], int]:
    """Training plans from the reference's robust starts, and how many must succeed.

    A network with the true gradient retraces the reference: one start is enough.  One without
    it follows its own path, which may be slower, and may get stuck from some starts and not
    from others: it gets more room and all the robust starts, and must succeed from most of
    them (the reference converges from every one)."""
    # a network whose step keeps its own rate follows its own path too
    true_gradient = bool(ctx.facts.gradient_scale) and not _keeps_own_rate(ctx)
    margin = STEP_MARGIN if true_gradient else OWN_PATH_MARGIN
    biases = [np.zeros((1, n)) for n in LAB_DIM[1:]] if layout.has_bias else None
    starts = ref.starts()[:1] if true_gradient else ref.starts()
    plans = [{"params": layout.to_student(initial, biases),
              "max_steps": min(int(init.worst_steps * margin * _slowdown(ctx, conf))
                               + 10 * points,
                               int(conf.max_steps)),
              "from": f"reference initialisation {init.seed}", "reference_steps": init.steps}
             for init, initial in starts]
    details["reference_steps"] = ref.steps
    needed = len(plans) // 2 + 1
    if len(plans) > 1:
        details["starts"] = {"tried_at_most": len(plans), "needed": needed}
    return plans, needed


def _own_restarts(task: str, ctx: GradingContext, conf: TrainCheck, points: int,
                  details: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Training plans from the student's own initialisation: as many restarts as the
    reference's measured convergence requires for a correct network to fail less often than
    the rubric allows; one success is enough."""
    layout = ctx.facts.layout  # widths other than the lab's: the reference built to them
    shape = (list(layout.dims), layout.has_bias, (layout.hidden, layout.output)) \
        if layout is not None else (list(LAB_DIM), False)
    restart = plan_restarts(
        convergence_profile(task, ctx.seed, points, float(conf.lr), int(conf.max_steps),
                            *shape),
        float(conf.failure_probability), int(conf.attempts))
    details["restarts"] = {**asdict(restart), "why": restart.describe()}
    steps = min(int(restart.steps_per_attempt * OWN_INIT_STEP_MARGIN * _slowdown(ctx, conf)),
                int(conf.max_steps))
    plans = [{"params": None, "max_steps": steps, "seed": ctx.seed + k,
              "from": f"your own initialisation (seed {ctx.seed + k})"}
             for k in range(restart.attempts)]
    return plans, 1


def _slowdown(ctx: GradingContext, conf: TrainCheck) -> float:
    """How many times more steps a network needs whose step keeps its own learning rate (the
    grader cannot set it): the lab's rate over the rate its step measured in the gradient
    check.  1 for every network whose rate the grader sets."""
    scale = ctx.facts.gradient_scale
    return max(1.0, float(conf.lr) / scale) if _keeps_own_rate(ctx) and scale else 1.0


def _keeps_own_rate(ctx: GradingContext) -> bool:
    """The network's step takes no rate the grader can set (see the interface's adapter)."""
    return bool((ctx.facts.adapter or {}).get("fixed_rate"))


CURVE_POINTS = 200
"""Points of a loss curve kept in ``details``: enough for the report's plot, small in JSON."""


def _thinned(curve: np.ndarray, every: int | None = None) -> tuple[list[float], int]:
    """A loss curve (one mean loss per pass) cut to about :data:`CURVE_POINTS` points, and
    how many passes apart they are, so that the report's plot has the right x axis."""
    every = every or max(1, len(curve) // CURVE_POINTS)
    return [round(float(v), 6) for v in curve[::every]], every


def _predictions(X: np.ndarray, Y: np.ndarray, prediction: Any) -> dict[str, Any]:
    """The training data and what the trained network predicted for it: the evidence of the
    lab's own ``show_result`` figure (ground truth beside predictions)."""
    try:
        predicted = np.asarray(prediction, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return {}
    if predicted.size != len(X) or not np.all(np.isfinite(predicted)):
        return {}
    return {"x": np.round(X, 4).tolist(), "truth": np.asarray(Y).reshape(-1).astype(int).tolist(),
            "predicted": np.round(predicted, 4).tolist()}


def _follows(curve: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    n = min(len(curve), len(reference))
    if n == 0:
        return {"epochs_compared": 0}
    gap = np.abs(curve[:n] - reference[:n]) / np.maximum(np.abs(reference[:n]), 1e-12)
    return {"epochs_compared": int(n), "max_relative_gap": float(np.max(gap)),
            "same": bool(np.max(gap) < 1e-6 and len(curve) == len(reference))}


def _success(task: str, attempt: dict[str, Any], details: dict[str, Any]) -> str:
    name = task[6:]
    text = (f"converged on the {name} data in {attempt['steps']} steps: every sample's loss "
            f"< 0.04, accuracy {attempt['accuracy']:.0%}")
    if "heldout_accuracy" in attempt:
        text += f", {attempt['heldout_accuracy']:.0%} on 100 fresh points"
    if details.get("restarts"):
        text += (f"; from your own initialisation, attempt {len(details['attempts'])} of up to "
                 f"{details['restarts']['attempts']}")
    elif details.get("starts"):
        done = details["attempts"]
        good = sum(bool(a.get("passed")) for a in done)
        text += (f"; from {good} of the {len(done)} starting weights tried (the reference "
                 f"converges from each), at least {details['starts']['needed']} of "
                 f"{details['starts']['tried_at_most']} needed")
    follows = details.get("follows_reference")
    if follows and follows.get("same"):
        text += "; the loss curve is the reference's, step for step"
    return text


def _failure(task: str, attempt: dict[str, Any], conf: TrainCheck,
             details: dict[str, Any]) -> str:
    name = task[6:]
    why = {"time": f"the {float(conf.time_budget_s):g} s budget ran out",
           "steps": f"{attempt['steps']} steps were not enough",
           "diverged": "the loss became NaN or infinite",
           "converged": "its losses met the lab's rule, but its final predictions are not "
                        "accurate enough"}.get(attempt["stopped"], "it stopped")
    text = (f"did not converge on the {name} data: {why}; at the end the largest sample loss "
            f"was {attempt.get('worst_loss', float('nan')):.3g} (needs < 0.04) and the accuracy "
            f"{attempt.get('accuracy', 0):.0%}")
    if "heldout_accuracy" in attempt:
        text += f", {attempt['heldout_accuracy']:.0%} on 100 fresh points"
        if attempt.get("accuracy", 0) >= float(conf.accuracy_threshold) > \
                attempt["heldout_accuracy"] + 0.1:
            text += " (right on the training data, wrong on new data: are the answers " \
                "hard-coded rather than learned?)"
    restarts = details.get("restarts")
    if restarts and len(details.get("attempts", [])) > 1:
        text += (f"; none of the {len(details['attempts'])} attempts from your own "
                 f"initialisation converged, where a correct network fails all "
                 f"{restarts['attempts']} with a probability below "
                 f"{max(restarts['failure_probability'], 1e-9):.2g}")
    if details.get("out_of_time"):
        text += f" ({details['out_of_time']})"
    done = details.get("attempts", [])
    tried = [a["reference_steps"] for a in done if "reference_steps" in a]
    if len(tried) == 1:
        text += f"; from the same initial weights the reference converges in {tried[0]} steps"
    elif tried:
        good = sum(bool(a.get("passed")) for a in done)
        text += (f"; it succeeded from {good} of {len(done)} starting weights, from each of "
                 f"which the reference converges (in {min(tried)}-{max(tried)} steps), and "
                 f"needs {details['starts']['needed']} of {details['starts']['tried_at_most']}")
    return text


@register("train_linear", config=LinearTrainCheck, requires=("interface",),
          reads=("adapter", "layout", "gradient_scale", "predict_failure", "step_failure",
                 "step_unusable", "observed"),
          summary="trained by the grader on generate_linear() data, it converges")
def check_train_linear(ctx: GradingContext) -> Verdict:
    return _train_check("train_linear", ctx)


@register("train_xor", config=XorTrainCheck, requires=("interface",),
          reads=("adapter", "layout", "gradient_scale", "predict_failure", "step_failure",
                 "step_unusable", "observed"),
          summary="trained by the grader on generate_XOR_easy() data, it converges")
def check_train_xor(ctx: GradingContext) -> Verdict:
    return _train_check("train_xor", ctx)
