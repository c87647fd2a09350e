"""``interface``: find the student's network class, construct it, find its parameters.

Measurement: the ``interface`` probe tries the candidate classes (the lab's name first, then the
rubric's aliases, then any class with a forward and a backward method), each constructor form
the rubric allows, and watches one predict/backprop/update to tell parameters from cached
activations.  Then every parameter layout the shapes allow is tried against the reference's
forward pass on the same weights, to learn how this student stores the network.

Judgement: full points for the lab's own interface (``NN(dim=[2, 3, 3, 1])``, ``predict``,
``backprop``, ``update(lr)``); a student who named things differently loses only the rubric's
alias share, and every other check runs through the adapter found.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from grader.checks.base import ERROR, FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from grader.layout import Layout, candidate_layouts
from reference.network import forward as reference_forward

LAB_DIMS = [2, 3, 3, 1]
DEFAULTS = {
    "class_names": ["NN"],
    "class_aliases": ["Dense", "Net", "NeuralNetwork", "SimpleNet", "Model", "MLP", "Network"],
    "any_class_name": True,
    "methods": {"forward": ["predict", "forward", "feed_forward", "forwardPass", "feedforward"],
                "backward": ["backprop", "backward", "back_propagation", "backwardPass",
                             "backpropagation"],
                "update": ["update", "step", "update_weights"]},
    "constructor_forms": ["dim=", "positional", "layers=", "sizes=", "layer_sizes=", "dims=",
                          "none"],
    "class_alias_credit": 1.0,
    "alias_credit": 0.5,
    "dim": LAB_DIMS,
}
LAB_FORMS = ("dim=", "positional")
"""``NN(dim=[2, 3, 3, 1])`` and ``NN([2, 3, 3, 1])`` are the lab's own call."""


def conf(ctx: GradingContext, key: str) -> Any:
    return ctx.setting("interface", key, DEFAULTS[key])


def constructor_forms(ctx: GradingContext) -> list[dict[str, Any]]:
    """The rubric's constructor forms as calls: ``"dim="`` -> ``NN(dim=[2, 3, 3, 1])``,
    ``"positional"`` -> ``NN([2, 3, 3, 1])``, ``"none"`` -> ``NN()``."""
    dims = list(conf(ctx, "dim"))
    forms = []
    for form in conf(ctx, "constructor_forms"):
        if form == "positional":
            forms.append({"args": [dims], "form": form})
        elif form == "none":
            forms.append({"args": [], "form": form})
        else:
            forms.append({"kwargs": {form.rstrip("="): dims}, "form": form})
    return forms


MATCH_TOLERANCE = 1e-6


def candidates(ctx: GradingContext) -> list[str]:
    """Class names to try, in order: the lab's, the aliases, then duck-typed ones."""
    loaded = ctx.loaded.classes if ctx.loaded else {}
    names, aliases = conf(ctx, "class_names"), conf(ctx, "class_aliases")
    forward = set(conf(ctx, "methods")["forward"])
    backward = set(conf(ctx, "methods")["backward"])
    ordered = [n for n in [*names, *aliases] if n in loaded]
    if conf(ctx, "any_class_name"):
        ordered += sorted(n for n, info in loaded.items() if n not in ordered
                          and forward & set(info.get("methods", []))
                          and backward & set(info.get("methods", [])))
    return ordered


def conditioned_weights(rng: np.random.Generator, dims: list[int], bias: bool
                        ) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Weights whose pre-activations on inputs in [0, 1]^2 are of order one."""
    weights = [rng.normal(0.0, 1.5 / np.sqrt(a), (a, b)) for a, b in zip(dims, dims[1:])]
    biases = [rng.normal(0.0, 0.5, (1, b)) for b in dims[1:]] if bias else None
    return weights, biases


def confirm_layout(ctx: GradingContext, adapter: dict[str, Any], layouts: list[Layout]
                   ) -> tuple[Layout | None, dict[str, Any]]:
    """The first layout under which the student's predict equals the reference forward pass."""
    rng = ctx.rng("layout")
    X = rng.uniform(0.0, 1.0, (6, 2))
    tried = []
    for layout in layouts:
        weights, biases = conditioned_weights(rng, LAB_DIMS, layout.has_bias)
        step = ctx.probe("forward", {"adapter": {**adapter, "params": layout.paths},
                                     "params": layout.to_student(weights, biases), "X": X})
        obs = step.result if step.ok else {}
        if "batch" not in obs and "singles" not in obs:
            error = obs.get("batch_error") or obs.get("single_error") or {}
            tried.append({"layout": layout.describe(), "error": probe_failure(step, "predicting")
                          or describe_student_error(error)})
            continue
        if "batch" not in obs:
            adapter["single_only"] = True  # one sample at a time works: use that everywhere
        got = np.asarray(obs.get("batch", obs.get("singles")), dtype=float).reshape(len(X), -1)
        expected, _ = reference_forward(weights, X, "sigmoid", "sigmoid", biases)
        if got.shape == expected.shape:
            diff = float(np.max(np.abs(got - expected)))
            worst = int(np.argmax(np.max(np.abs(got - expected), axis=1)))
            tried.append({"layout": layout.describe(), "max_abs_diff": diff,
                          "x": X[worst].tolist(), "expected": expected[worst].tolist(),
                          "got": got[worst].tolist()})
            if diff < float(ctx.setting("forward", "tolerance", MATCH_TOLERANCE)):
                return layout, {"tried": tried, "labels": False}
            labels = (expected >= 0.5).astype(float)
            if np.array_equal(got, labels) and not np.array_equal(labels, expected):
                return layout, {"tried": tried, "labels": True}
        else:
            tried.append({"layout": layout.describe(), "shape": list(got.shape)})
    return None, {"tried": tried}


def frozen_layout(ctx: GradingContext, adapter: dict[str, Any], chosen: dict[str, Any]
                  ) -> tuple[Layout | None, dict[str, Any]]:
    """For a network whose step moves nothing: the arrays it holds that predict does not
    overwrite, taken as the weights if predict computes the forward pass from them.  Then the
    other checks can say what is wrong (the step) and what is right (the forward pass); if
    predict ignores them, the forward check says that instead (``frozen_mismatch``)."""
    frozen = [(path, shape) for path, shape in chosen.get("arrays", {}).items()
              if path not in chosen.get("cached", [])]
    # besides the weights, a network may hold gradient buffers of the same shapes: try every
    # container (weights[...], dW[...], the plain attributes W1, b1, ...) on its own too
    groups: dict[str, list[tuple[str, Any]]] = {}
    for path, shape in frozen:
        root = re.split(r"[\[.]", path, maxsplit=1)[0] if re.search(r"[\[.]", path) else ""
        groups.setdefault(root, []).append((path, shape))
    layouts = [layout for group in [frozen, *groups.values()]
               for layout in candidate_layouts(group, LAB_DIMS)]
    if not layouts:
        return None, {}
    layout, evidence = confirm_layout(ctx, adapter, layouts)
    if layout is not None:
        adapter["params"] = list(layout.paths)
        evidence["frozen"] = True
    else:
        ctx.facts["frozen_mismatch"] = evidence.get("tried", [])
    return layout, evidence


@register("interface", summary="a class with predict, backprop and update constructs")
def check_interface(ctx: GradingContext) -> Verdict:
    names = candidates(ctx)
    if not names:
        defined = ", ".join(sorted(ctx.loaded.classes)) if ctx.loaded and ctx.loaded.classes \
            else "no classes"
        return Verdict(FAIL, "no class NN with predict, backprop and update was found "
                       f"(your code defines: {defined})", 0.0, {"candidates": []})
    roles = {role: list(conf(ctx, "methods")[role]) for role in ("forward", "backward", "update")}
    step = ctx.probe("interface", {
        "candidates": names, "roles": roles, "ctor_forms": constructor_forms(ctx),
        "sample_x": [[0.2, 0.7]], "sample_y": [[1.0]], "lr": 0.5})
    failure = probe_failure(step, "constructing your network")
    if failure:
        return Verdict(ERROR, failure, 0.0, {"candidates": names})
    chosen = step.result.get("chosen")
    attempts = step.result.get("attempts", [])
    if chosen is None:
        errors = [f"{a['class']}({_form(a['ctor'])}): {describe_student_error(a['error'])}"
                  for a in attempts if "error" in a][:3]
        return Verdict(ERROR if errors else FAIL,
                       "your network could not be constructed: " + "; ".join(errors or names),
                       0.0, {"candidates": names, "attempts": len(attempts)})
    for problem in ("error", "step_error"):
        if problem in chosen:
            what = "predict" if problem == "error" else "backprop/update"
            return Verdict(ERROR, f"{chosen['class']}.{what} raised "
                           f"{describe_student_error(chosen[problem])}", 0.0, _details(chosen))
    still = "" if chosen.get("params") else \
        "; but a predict/backprop/update step changed no weights, so nothing can learn"
    adapter = {"class": chosen["class"], "ctor": chosen["ctor"],
               "forward": chosen["methods"]["forward"], "backward": chosen["methods"]["backward"],
               "update": chosen["methods"].get("update"), "update_lr": chosen["update_lr"],
               "backward_lr": chosen["backward_lr"], "lr_attr": chosen.get("lr_attr"),
               "backward_cache": chosen.get("backward_cache", False),
               "input": chosen["input"], "params": [p["path"] for p in chosen["params"]]}
    ctx.facts["adapter"] = adapter
    layouts = candidate_layouts([(p["path"], p["shape"]) for p in chosen["params"]], LAB_DIMS)
    layout, evidence = confirm_layout(ctx, adapter, layouts) if layouts else (None, {})
    if not chosen.get("params"):
        layout, evidence = frozen_layout(ctx, adapter, chosen)
    ctx.facts["layout"] = layout
    ctx.facts["predict_labels"] = evidence.get("labels", False)
    details = _details(chosen)
    details["layout"] = layout.describe() if layout else None
    details["layout_evidence"] = evidence.get("tried", [])
    lab_class = chosen["class"] in conf(ctx, "class_names")
    lab_methods = [chosen["methods"]["forward"], chosen["methods"]["backward"],
                   chosen["methods"].get("update")] == \
        [conf(ctx, "methods")[role][0] for role in ("forward", "backward", "update")]
    lab_ctor = chosen["ctor"].get("form") in LAB_FORMS
    credits, differences = [], []
    if not lab_class:
        differences.append(f"the class is named {chosen['class']}, not "
                           f"{conf(ctx, 'class_names')[0]}")
        credits.append(float(conf(ctx, "class_alias_credit")))
    if not lab_methods:
        m = chosen["methods"]
        differences.append(f"the methods are {m['forward']}/{m['backward']}/"
                           f"{m.get('update') or '(no update)'}, not predict/backprop/update")
        credits.append(float(conf(ctx, "alias_credit")))
    if not lab_ctor:
        differences.append(f"it is constructed as {chosen['class']}({_form(chosen['ctor'])}), "
                           "not NN(dim=[2, 3, 3, 1])")
        credits.append(float(conf(ctx, "alias_credit")))
    if chosen.get("update_lr") is False and chosen["methods"].get("update"):
        differences.append("update() takes no learning rate")
        credits.append(float(conf(ctx, "alias_credit")))
    where = f"; parameters: {layout.describe()}" if layout else \
        "; its parameters do not map onto the lab's layers, so some checks compare less"
    if not chosen.get("params"):
        where = still
    if not differences:
        return Verdict(PASS, f"{chosen['class']}(dim=[2, 3, 3, 1]) with predict, backprop and "
                       f"update{where}", 1.0, details)
    fraction = min(credits) if credits else 1.0
    return Verdict(PASS if fraction > 0 else FAIL,
                   "the lab's interface, under other names: " + "; ".join(differences)
                   + " (the other checks use it as found)" + where, fraction, details)


def _form(ctor: dict[str, Any]) -> str:
    """The call's arguments as written, e.g. ``dim=[2, 3, 3, 1]``."""
    parts = [repr(a) for a in ctor.get("args", [])]
    parts += [f"{k}={v!r}" for k, v in ctor.get("kwargs", {}).items()]
    return ", ".join(parts)


def _details(chosen: dict[str, Any]) -> dict[str, Any]:
    return {"class": chosen["class"], "constructor": _form(chosen["ctor"]),
            "methods": chosen.get("methods"), "input": chosen.get("input"),
            "parameters": chosen.get("params", []),
            "gradient_buffers": chosen.get("gradient_buffers", []),
            "optimizer_state": chosen.get("optimizer_state", []),
            "cached": chosen.get("cached", [])}
