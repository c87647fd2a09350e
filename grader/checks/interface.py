"""``interface``: find the student's network class, construct it, find its parameters.

Measurement: the ``interface`` probe tries the candidate classes (the lab's name first, then the
rubric's aliases, then any class with a forward and a backward method), each constructor form
the rubric allows, each construction seeded from the grading seed.  It learns how to call the
network from the signatures, and which arrays are its parameters from ``predict`` alone: the
arrays predict reads, found at the grader's test values (never from whether the student's own
initialisation happens to move in a step).  Then every parameter layout the shapes allow is
tried against the reference's forward pass on the same weights, to learn how this student
stores the network.

Judgement: the class, its construction and its methods' names and signatures, nothing else.
Full points for the lab's own interface (``NN(dim=[2, 3, 3, 1])``, ``predict``, ``backprop``,
``update(lr)``); a student who named things differently loses only the rubric's alias share,
and every other check runs through the adapter found.  A predict that raises or reads no
weights, a backprop or update that crashes, exits or hangs, cost the checks that use them
(``forward``, ``gradient``, training), not this one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

import itertools
from typing import Any, Mapping

from reference.deferred import np
from grader.checks.base import ERROR, FAIL, PASS, Verdict, register
from grader.checks.context import GradingContext, describe_student_error, probe_failure
from grader.layout import Layout, candidate_dims, candidate_layouts
from grader.learning import (LearnedProtocol, call_text, constructions, describe_roles, learn,
                             unsupported_roles)
from grader.load import DEFINITIONS, Loader, trace_program
from grader.observed import observe
from grader.rubric import ACTIVATION, CONSTRUCTOR_FORM, IDENTIFIER, CheckConfig, setting
from grader.unfollowed import why_unfollowed
from reference.network import forward as reference_forward


@dataclass(frozen=True)
class MethodNames:
    """``[checks.interface.methods]``: accepted method names per role; the first is the lab's."""

    forward: tuple[str, ...] = setting(
        ("predict", "forward", "feed_forward", "forwardPass", "feedforward"),
        "Names of the forward pass (the lab's: predict).", nonempty=True, valid=IDENTIFIER)
    backward: tuple[str, ...] = setting(
        ("backprop", "backward", "back_propagation", "backwardPass", "backpropagation"),
        "Names of the backward pass (the lab's: backprop).", nonempty=True, valid=IDENTIFIER)
    update: tuple[str, ...] = setting(
        ("update", "step", "update_weights"), "Names of the weight update (the lab's: update).",
        nonempty=True, valid=IDENTIFIER)


@dataclass(frozen=True)
class InterfaceCheck(CheckConfig):
    """``[checks.interface]``: the network class is found and constructed."""

    class_names: tuple[str, ...] = setting(
        ("NN",), "The lab's class names.", nonempty=True, valid=IDENTIFIER)
    class_aliases: tuple[str, ...] = setting(
        ("Dense", "Net", "NeuralNetwork", "SimpleNet", "Model", "MLP", "Network"),
        "Other class names looked for, in order, when no class has a lab name.",
        valid=IDENTIFIER)
    any_class_name: bool = setting(
        True, "Accept, after the names above, any class with a method for every role.")
    methods: MethodNames = setting(factory=MethodNames, help="Method names per role.")
    dim: tuple[int, ...] = setting(
        (2, 3, 3, 1), "The architecture the network is built with: inputs, two hidden "
                      "layers, output.", nonempty=True, minimum=1)
    constructor_forms: tuple[str, ...] = setting(
        ("dim=", "positional", "layers=", "sizes=", "layer_sizes=", "dims=", "none"),
        "How the class may be constructed with `dim`, tried in order: 'name=' passes it as "
        "that keyword, 'positional' as the first argument, 'none' calls the class without "
        "arguments (an architecture fixed in the code). The first form is the lab's.",
        nonempty=True, valid=CONSTRUCTOR_FORM)
    class_alias_credit: float = setting(
        1.0, "Fraction of the check's points when the class is found under an alias or by "
             "its methods rather than by a lab name.", minimum=0, maximum=1)
    alias_credit: float = setting(
        0.5, "Fraction of the check's points when a method or the constructor form is not "
             "the lab's (first) one. With several aliases, the lowest credit applies.",
        minimum=0, maximum=1)
    procedure_credit: float = setting(
        0.5, "Fraction of the check's points for a network written as functions that take the "
             "weights as arguments (no class), which the grader plays as the program does.",
        minimum=0, maximum=1)
    observed_credit: float = setting(
        0.25, "Fraction of the check's points for a training loop written inline (the weights "
              "are its local variables; no class, no step function), which the grader can only "
              "watch stepping: the gradient is checked on the steps it watched, the training "
              "checks cannot run.", minimum=0, maximum=1)
    learn_from_program: bool = setting(
        True, "Run the student's own program under a tracer first, and build and step the "
              "network as it does (its constructor call, widths and training step); the names "
              "above are the way in when the program shows no training.")
    trace_seconds: float = setting(
        10.0, "Wall-clock seconds the traced program may run before the grader stops it (it "
              "stops by itself after a few dozen training steps).", above=0)
    hidden_activations: tuple[str, ...] = setting(
        ("sigmoid", "relu", "tanh", "leaky_relu", "identity"),
        "Activations of the hidden layers the network is recognised with, tried in order "
        "against the reference forward pass (the template's NN(dim, activation=sigmoid) lets "
        "a student pass another); the checks then use the one found. ['sigmoid'] only: a "
        "network with another activation is not mapped onto the lab's layers.",
        nonempty=True, valid=ACTIVATION)
    output_activations: tuple[str, ...] = setting(
        ("sigmoid", "identity", "relu"), "Activations of the output layer, tried in the same "
        "way (a network written with one activation everywhere has a ReLU output).",
        nonempty=True, valid=ACTIVATION)

    def discovery_names(self) -> dict[str, tuple]:
        """The names that mark a submission's main file (:func:`grader.discover.discover`'s
        keyword arguments), so that a multi-file submission whose class is ``Net`` with
        ``forward`` is read from the file the checks will look in."""
        return {"main_class_names": tuple(self.class_names),
                "main_class_aliases": tuple(self.class_aliases),
                "main_method_names": (tuple(self.methods.forward), tuple(self.methods.backward),
                                      tuple(self.methods.update))}


LAB_DIMS = [2, 3, 3, 1]
LAB_FORMS = ("dim=", "positional")
"""``NN(dim=[2, 3, 3, 1])`` and ``NN([2, 3, 3, 1])`` are the lab's own call."""


def conf(ctx: GradingContext) -> InterfaceCheck:
    """This check's rubric settings."""
    return ctx.config("interface")


def role_names(cfg: InterfaceCheck, role: str) -> list[str]:
    """The accepted method names of a role (forward, backward, update), the lab's first."""
    return list(getattr(cfg.methods, role))


def constructor_forms(ctx: GradingContext) -> list[dict[str, Any]]:
    """The rubric's constructor forms as calls: ``"dim="`` -> ``NN(dim=[2, 3, 3, 1])``,
    ``"positional"`` -> ``NN([2, 3, 3, 1])``, ``"none"`` -> ``NN()``."""
    dims = list(conf(ctx).dim)
    forms = []
    for form in conf(ctx).constructor_forms:
        if form == "positional":
            forms.append({"args": [dims], "form": form})
        elif form == "none":
            forms.append({"args": [], "form": form})
        else:
            forms.append({"kwargs": {form.rstrip("="): dims}, "form": form})
    return forms


MATCH_TOLERANCE = 1e-6
"""A layout is confirmed when predict equals the reference forward pass on the test weights
within this (relative to max(1, |reference|)): any correct predict agrees to ~1e-15, and a wrong
layout differs by far more."""


def candidates(ctx: GradingContext) -> list[str]:
    """Class names to try, in order: the lab's, the aliases, then duck-typed ones."""
    loaded = ctx.loaded.classes if ctx.loaded else {}
    cfg = conf(ctx)
    names, aliases = cfg.class_names, cfg.class_aliases
    forward, backward = set(role_names(cfg, "forward")), set(role_names(cfg, "backward"))
    ordered = [n for n in [*names, *aliases] if n in loaded]
    if cfg.any_class_name:
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
        weights, biases = conditioned_weights(rng, list(layout.dims), layout.has_bias)
        step = ctx.probe("forward", {"adapter": {**adapter, "params": layout.paths},
                                     "params": layout.to_student(weights, biases), "X": X,
                                     "seed": ctx.seed})
        obs = step.result if step.ok else {}
        if "batch" not in obs and "singles" not in obs:
            error = obs.get("batch_error") or obs.get("single_error") or {}
            tried.append({"layout": layout.describe(), "error": probe_failure(step, "predicting")
                          or describe_student_error(error)})
            continue
        if "batch" not in obs:
            adapter["single_only"] = True  # one sample at a time works: use that everywhere
        got = np.asarray(obs.get("batch", obs.get("singles")), dtype=float).reshape(len(X), -1)
        for hidden, output in activation_pairs(conf(ctx)):
            with np.errstate(all="ignore"):
                expected, _ = reference_forward(weights, X, hidden, output, biases)
            if got.shape != expected.shape:
                tried.append({"layout": layout.describe(), "shape": list(got.shape)})
                break
            found = dataclasses.replace(layout, hidden=hidden, output=output)
            diff = float(np.max(np.abs(got - expected)))
            if hidden == output == "sigmoid":  # the lab's network: what the details show
                worst = int(np.argmax(np.max(np.abs(got - expected), axis=1)))
                tried.append({"layout": layout.describe(), "max_abs_diff": diff,
                              "x": X[worst].tolist(), "expected": expected[worst].tolist(),
                              "got": got[worst].tolist()})
            if diff < MATCH_TOLERANCE:
                return found, {"tried": tried, "labels": False}
            labels = (expected >= 0.5).astype(float)
            if output == "sigmoid" and np.array_equal(got, labels) and \
                    not np.array_equal(labels, expected):
                return found, {"tried": tried, "labels": True}
    return None, {"tried": tried}


def activation_pairs(cfg: InterfaceCheck) -> list[tuple[str, str]]:
    """(hidden, output) activations in the order tried: the lab's sigmoid network first."""
    pairs = [(h, o) for o in cfg.output_activations for h in cfg.hidden_activations]
    return sorted(pairs, key=lambda pair: (pair != ("sigmoid", "sigmoid"), pairs.index(pair)))


OTHER_DEPTHS = (1, 3)
"""Hidden layers tried when the arrays fit no network of the lab's two."""
MAX_SUBSET_SEARCH = 8
"""Up to this many arrays read by predict, subsets of them are tried too when all of them fit
no layout; beyond it, the network is too unlike the lab's to guess which are the layers."""


def find_layout(ctx: GradingContext, adapter: dict[str, Any], reads: list[tuple[str, Any]]
                ) -> tuple[Layout | None, dict[str, Any]]:
    """The layout of the arrays predict reads, confirmed against the reference forward pass.

    The lab's widths first, then the hidden widths the arrays' shapes allow (the student's
    choice).  All the arrays first; if their shapes fit no layout (predict also reads, say, a
    constant scaling array), the largest subsets whose shapes fit."""
    tried: list[Any] = []
    # the lab's depth first; then one or three hidden layers, which a network with another
    # depth than the lab asks for is graded with (and told)
    depths = [candidate_dims(reads, LAB_DIMS) or [tuple(LAB_DIMS)]] + [
        candidate_dims(reads, (LAB_DIMS[0], *[LAB_DIMS[1]] * hidden, LAB_DIMS[-1]))
        for hidden in OTHER_DEPTHS]
    for dims in [d for options in depths for d in options]:
        layouts = candidate_layouts(reads, dims)
        if not layouts and len(reads) <= MAX_SUBSET_SEARCH:
            for size in range(len(reads) - 1, len(dims) - 2, -1):
                layouts = [layout for group in itertools.combinations(reads, size)
                           for layout in candidate_layouts(list(group), dims)]
                if layouts:
                    break
        if not layouts:
            continue
        layout, evidence = confirm_layout(ctx, adapter, layouts)
        if layout is not None:
            return layout, evidence
        tried += evidence.get("tried", [])
    return None, {"tried": tried}


def object_operators(trace: Mapping[str, Any]) -> list[str]:
    """Classes whose methods the program called only on other objects of its own, never on an
    array (``GradTape.forward(loss)`` of a home-made autodiff): whatever they are named, they
    are no network the grader could feed a batch."""
    objects = trace.get("objects") or {}
    calls: dict[str, list[Mapping[str, Any]]] = {}
    for e in trace.get("events", []):
        if e.get("kind") == "call" and e.get("caller") is None and \
                not str(e.get("method", "")).startswith("__"):  # ``with tape:`` is no call
            cls = (objects.get(str(e.get("object"))) or {}).get("class")
            if cls:
                calls.setdefault(cls, []).append(e)
    found = []
    for cls, made in calls.items():
        args = [[*e.get("args", []), *e.get("kwargs", {}).values()] for e in made]
        if all(a for a in args) and not any(d.get("type") == "array" for a in args for d in a) \
                and any(d.get("type") == "object" for a in args for d in a):
            found.append(cls)
    return sorted(found)


def learned_protocol(ctx: GradingContext) -> tuple[LearnedProtocol | None, dict[str, Any]]:
    """What the student's own program shows about building and stepping its network, with what
    the details report about it; None when it shows no step the grader can replay (then
    ``about["constructors"]`` still has the constructor calls it made)."""
    cfg = conf(ctx)
    if not cfg.learn_from_program or ctx.sandbox is None:
        return None, {}
    entry, kind = ctx.program
    trace = trace_program(ctx.child_for_fresh_runs(), entry, kind,
                          seconds=cfg.trace_seconds, seed=ctx.seed)
    about: dict[str, Any] = {"program": entry, "stopped": trace.get("stopped"),
                             "events": len(trace["events"])}
    if trace.get("failure"):
        about["failure"] = trace["failure"]
    if trace.get("called"):  # the program never trained: the grader called its train(X, y)
        about["called"] = trace["called"]
    protocol = learn(trace)
    defined = ctx.loaded.classes if ctx.loaded else {}
    about["constructors"] = {c: call for c, call in constructions(trace).items()
                             if c in defined}
    graphs = object_operators(trace)
    if graphs:
        about["not_networks"] = graphs
    if protocol is None:
        about["learned"] = None
        about["why"] = why_unfollowed(trace)
        loop = observe(trace, activation_pairs(cfg))
        if loop is not None:
            ctx.facts.observed = loop
            about["observed"] = loop.describe()
        return None, about
    about["learned"] = protocol.describe()
    if protocol.procedure is None and protocol.network_class not in defined:
        moved = _load_defining_file(ctx, trace, protocol.network_class)
        defined = ctx.loaded.classes if ctx.loaded else {}
        if moved:
            about["main"] = moved
    missing = unsupported_roles(protocol)
    if missing or (protocol.procedure is None and protocol.network_class not in defined):
        about["not_replayable"] = missing or [f"{protocol.network_class} is not a class the "
                                              "definitions define"]
        return None, about
    return protocol, about


def _load_defining_file(ctx: GradingContext, trace: dict[str, Any], cls: str) -> str | None:
    """The network the program trains is defined in another of the submission's files than
    the one discovery chose (``models/model.py`` beside ``models/layer.py``, whose layer class
    has the same methods): load that file's definitions instead, and say which it is."""
    files = {(o.get("module_file") or "") for o in (trace.get("objects") or {}).values()
             if o.get("class") == cls}
    found = next((f for f in sorted(files) if f in ctx.sources and f != ctx.main
                  and f.endswith(".py")), None)
    if found is None or ctx.sandbox is None:
        return None
    loaded = Loader(ctx.sandbox, found, "script", seed=ctx.seed).load(DEFINITIONS)
    if cls not in loaded.classes:
        Loader(ctx.sandbox, ctx.main, ctx.kind, seed=ctx.seed).load(DEFINITIONS)
        return None
    ctx.main, ctx.kind, ctx.loaded = found, "script", loaded
    return found


def learned_request(protocol: LearnedProtocol, ctx: GradingContext) -> dict[str, Any]:
    """The interface probe's request for the network the program built: its class, its
    constructor call, and the methods its step calls."""
    step, k = protocol.step, protocol.predict_calls
    roles = {"forward": [protocol.predict], "backward": [step[k].method],
             "update": [step[-1].method] if len(step) > k + 1 else []}
    ctor = {**protocol.constructor, "form": "learned", "described": True,
            **({"companions": protocol.companions} if protocol.companions else {})}
    return {"candidates": [protocol.network_class], "roles": roles, "ctor_forms": [ctor],
            "seed": ctx.seed, "procedure": protocol.procedure}


@register("interface", config=InterfaceCheck,
          writes=("adapter", "layout", "predict_labels", "predict_failure",
                  "predict_ignores_arrays", "step_unusable", "observed"),
          summary="a class with predict, backprop and update constructs")
def check_interface(ctx: GradingContext) -> Verdict:
    protocol, program = learned_protocol(ctx)
    names = [n for n in candidates(ctx) if n not in program.get("not_networks", ())]
    if protocol is not None:
        step = ctx.probe("interface", learned_request(protocol, ctx))
        if not step.ok or step.result.get("chosen") is None:
            program["not_replayable"] = ["the program's constructor call did not construct "
                                         "the network again"]
            protocol = None
    if protocol is None:
        if not names and ctx.facts.observed is not None:
            return _observed_verdict(ctx, program)
        if not names:
            defined = ", ".join(sorted(ctx.loaded.classes)) \
                if ctx.loaded and ctx.loaded.classes else "no classes"
            why = f"; {program['why']}" if program.get("why") else ""
            return Verdict(FAIL, "no class NN with predict, backprop and update was found, and "
                           "your program trains no network the grader could follow (your code "
                           f"defines: {defined}){why}", 0.0,
                           {"candidates": [], "program": program})
        step = ctx.probe("interface", named_request(ctx, names, program))
    failure = probe_failure(step, "constructing your network")
    if failure:
        return Verdict(ERROR, failure, 0.0, {"candidates": names})
    chosen = step.result.get("chosen")
    attempts = step.result.get("attempts", [])
    if chosen is None and ctx.facts.observed is not None and protocol is None:
        return _observed_verdict(ctx, program)
    if chosen is None:
        return _unconstructed(ctx, names, attempts, program)
    # a network the grader can build is graded, not a loop it watched (the program's loop
    # around the network's own methods, whose arrays the tracer watches too)
    ctx.facts.observed = None
    program.pop("observed", None)
    steps = [asdict(call) for call in protocol.step] if protocol is not None else None
    explored = ctx.probe("network", {"class": chosen["class"], "ctor": chosen["ctor"],
                                     "methods": chosen["methods"], "sample_x": [[0.2, 0.7]],
                                     "seed": ctx.seed, "step": steps,
                                     "predict_calls": protocol.predict_calls if protocol
                                     else 1,
                                     "lab_dim": list(conf(ctx).dim),
                                     "procedure": protocol.procedure if protocol else None})
    trouble = probe_failure(explored, "predicting with your network")
    if trouble:  # predict exits, kills the process or hangs: the forward check's verdict
        ctx.facts.predict_failure = trouble
        chosen.update(UNEXPLORED)
    else:
        chosen.update(explored.result)
    ctx.facts.adapter = adapter = _adapter(chosen, steps)
    adapter["predict_calls"] = protocol.predict_calls if protocol is not None else 1
    if protocol is not None and protocol.procedure is not None:
        adapter["procedure"] = protocol.procedure
    reads = [(p["path"], p["shape"]) for p in chosen["params"]]
    layout, evidence = find_layout(ctx, adapter, reads) if reads else (None, {})
    if layout is not None:
        adapter["params"] = list(layout.paths)
    ctx.facts.layout = layout
    ctx.facts.predict_labels = evidence.get("labels", False)
    ctx.facts.predict_ignores_arrays = None if reads or "error" in chosen or trouble else \
        {**chosen.get("sensitivity", {}), "held": sorted(chosen.get("arrays", {}))}
    if "step_signature" in chosen:
        ctx.facts.step_unusable = _step_in_words(chosen["step_signature"])
    details = _details(chosen)
    details["program"] = program
    details["layout"] = layout.describe() if layout else None
    details["layout_evidence"] = evidence.get("tried", [])
    credits, differences = _differences(ctx, chosen, protocol)
    where = _parameters_in_words(chosen, layout)
    if protocol is not None and program.get("called"):
        where += (f"; your program never trains its network, so the grader called its "
                  f"{program['called']['method']}(X, y) on the XOR data to see how it learns: "
                  f"{protocol.describe()}")
    elif protocol is not None:
        where += f"; built and stepped as your program does: {protocol.describe()}"
    if protocol is not None and protocol.procedure is not None:
        where = where.replace("; built and stepped as your program does: ",
                              "; played as your program does: ", 1)
    if not differences:
        return Verdict(PASS, f"{chosen['class']}(dim=[2, 3, 3, 1]) with predict, backprop and "
                       f"update{where}", 1.0, details)
    fraction = min(credits) if credits else 1.0
    return Verdict(PASS if fraction > 0 else FAIL,
                   "the lab's interface, with differences: " + "; ".join(differences)
                   + " (the other checks use it as found)" + where, fraction, details)


def _observed_verdict(ctx: GradingContext, program: dict[str, Any]) -> Verdict:
    """A training loop written inline: nothing to call, but watched stepping."""
    loop = ctx.facts.observed
    cfg = conf(ctx)
    return Verdict(PASS, "the lab's interface, with differences: your network is a training "
                   f"loop written inline, {loop.describe()}, not a class "
                   f"{cfg.class_names[0]} with predict, backprop and update: the grader "
                   "watched its steps (the gradient is checked on them) but cannot call it "
                   "(the training checks cannot run); write the network as a class NN with "
                   "predict, backprop and update to be graded in full",
                   cfg.observed_credit, {"program": program, "observed": loop.describe()})


def _unconstructed(ctx: GradingContext, names: list[str], attempts: list[dict[str, Any]],
                   program: dict[str, Any]) -> Verdict:
    """No candidate class was both constructed and found with the methods of the lab's roles:
    the constructors' own errors if they raised, else which methods are missing; and why the
    program showed no step to follow, when it said."""
    why = f"; {program['why']}" if program.get("why") else ""
    details = {"candidates": names, "attempts": len(attempts)}
    built = sorted({a["class"] for a in attempts if "methods" in a})
    raised = [f"{a['class']}({_form(a['ctor'])}): {describe_student_error(a['error'])}"
              for a in attempts if "error" in a and "methods" not in a][:3]
    if raised and not built:  # no form of the constructor built anything
        return Verdict(ERROR, "your network could not be constructed: " + "; ".join(raised)
                       + why, 0.0, details)
    cfg = conf(ctx)
    lab = f"{role_names(cfg, 'forward')[0]} (or {', '.join(role_names(cfg, 'forward')[1:3])})"
    return Verdict(FAIL, f"{', '.join(built or names)} has no method for the forward pass, "
                   f"{lab}, or none for backprop, so no class is the network{why}", 0.0,
                   details)


def named_request(ctx: GradingContext, names: list[str], program: dict[str, Any]
                  ) -> dict[str, Any]:
    """The interface probe's request when the program showed no step: the rubric's names, the
    class the program built first, constructed as it built it, then the rubric's forms."""
    roles = {role: role_names(conf(ctx), role) for role in ("forward", "backward", "update")}
    built = program.get("constructors", {})
    learned_forms = [{**call, "form": "learned", "described": True} for call in built.values()]
    ordered = [n for n in names if n in built] + [n for n in names if n not in built]
    return {"candidates": ordered, "roles": roles,
            "ctor_forms": learned_forms + constructor_forms(ctx), "seed": ctx.seed}


def _adapter(chosen: dict[str, Any], steps: list[dict[str, Any]] | None) -> dict[str, Any]:
    """How the probes drive the network (see ``probes.py``), from what the interface and
    network probes found."""
    methods = chosen["methods"]
    return {"class": chosen["class"], "ctor": chosen["ctor"], "forward": methods["forward"],
            "backward": methods["backward"], "update": methods.get("update"),
            "update_lr": chosen["update_lr"], "backward_lr": chosen["backward_lr"],
            "lr_attr": chosen.get("lr_attr"),
            "backward_cache": chosen.get("backward_cache", False), "input": chosen["input"],
            "params": [p["path"] for p in chosen["params"]], "step": steps,
            "shapes": {p["path"]: list(p["shape"]) for p in chosen["params"]},
            "fixed_rate": bool(chosen.get("fixed_rate"))}


UNEXPLORED = {"update_lr": True, "lr_attr": None, "backward_lr": False, "backward_cache": False,
              "fixed_rate": False,
              "input": "rows", "params": [], "cached": [], "arrays": {}, "unexplored": True}
"""How the network is called when exploring predict failed: the lab's own convention."""


def _differences(ctx: GradingContext, chosen: dict[str, Any],
                 protocol: LearnedProtocol | None) -> tuple[list[float], list[str]]:
    """Where the class differs from the lab's interface, each with the rubric's credit."""
    cfg = conf(ctx)
    if protocol is not None:
        return _learned_differences(cfg, chosen, protocol)
    lab_class = chosen["class"] in cfg.class_names
    lab_methods = [chosen["methods"]["forward"], chosen["methods"]["backward"],
                   chosen["methods"].get("update")] == \
        [role_names(cfg, role)[0] for role in ("forward", "backward", "update")]
    lab_ctor = chosen["ctor"].get("form") in LAB_FORMS or \
        bool(chosen.get("lab_calls", {}).get("constructor"))
    credits, differences = [], []
    if not lab_class:
        differences.append(f"the class is named {chosen['class']}, not "
                           f"{cfg.class_names[0]}")
        credits.append(cfg.class_alias_credit)
    if not lab_methods:
        m = chosen["methods"]
        differences.append(f"the methods are {m['forward']}/{m['backward']}/"
                           f"{m.get('update') or '(no update)'}, not predict/backprop/update")
        credits.append(cfg.alias_credit)
    if not lab_ctor:
        differences.append(f"it is constructed as {chosen['class']}({_form(chosen['ctor'])}), "
                           "not NN(dim=[2, 3, 3, 1])")
        credits.append(cfg.alias_credit)
    if "step_signature" in chosen:
        differences.append(_step_in_words(chosen["step_signature"]))
        credits.append(cfg.alias_credit)
    if chosen.get("update_lr") is False and chosen["methods"].get("update"):
        differences.append("update() takes no learning rate")
        credits.append(cfg.alias_credit)
    return credits, differences


def _parameters_in_words(chosen: dict[str, Any], layout: Layout | None) -> str:
    """The end of the interface message: where the weights are, or why none were found.  A
    predict that raises or reads no array is the forward check's verdict, not this one's."""
    if chosen.get("unexplored"):
        return f"; but {chosen['methods']['forward']} could not be run (the forward check says why)"
    if "error" in chosen:
        return (f"; but {chosen['methods']['forward']} raised "
                f"{describe_student_error(chosen['error'])} (the forward check reports it)")
    if not chosen.get("params"):
        held = len(chosen.get("arrays", {}))
        return (f"; but {chosen['methods']['forward']} reads none of the {held} arrays your "
                "network holds" if held else "; but your network holds no weight arrays "
                "(NumPy float arrays)") + " (the forward check reports it)"
    if layout is not None:
        shape = '-'.join(str(d) for d in layout.dims)
        hidden = len(layout.dims) - 2
        widths = "" if list(layout.dims) == LAB_DIMS else \
            f" (a {shape} network: the hidden widths are yours)" if hidden == 2 else \
            (f" (a {shape} network: {hidden} hidden layer{'s' if hidden > 1 else ''} where the "
             "lab asks for two; the checks grade it as it is)")
        if (layout.hidden, layout.output) != ("sigmoid", "sigmoid"):
            widths += f" (activations: {layout.activations}; the checks use them)"
        return f"; parameters: {layout.describe()}{widths}"
    return "; its parameters do not map onto the lab's layers, so some checks compare less"


LAB_STEP = ("predict(x)", "backprop(y)", "update(lr)")


def _learned_differences(cfg: InterfaceCheck, chosen: dict[str, Any],
                         protocol: LearnedProtocol) -> tuple[list[float], list[str]]:
    """How a network the program built and stepped differs from the lab's interface."""
    credits, differences = [], []
    lab = chosen.get("lab_calls", {})
    if protocol.procedure is not None:  # no class at all: the lab's interface is missing
        names = ", ".join(protocol.procedure["functions"])
        held = protocol.procedure.get("object")
        what = f"methods of {held['class']} ({names}) that are passed the weights and hold " \
            "none" if held else f"a set of functions ({names}) that take the weights as arguments"
        return [cfg.procedure_credit], [
            f"your network is {what}, not a class {cfg.class_names[0]} with predict, backprop "
            "and update"]
    if chosen["class"] not in cfg.class_names:
        differences.append(f"the class is named {chosen['class']}, not {cfg.class_names[0]}")
        credits.append(cfg.class_alias_credit)
    if not (_lab_constructor(cfg, protocol.constructor) or lab.get("constructor")):
        differences.append(f"it is constructed as {chosen['class']}("
                           f"{call_text(protocol.constructor)}), not NN(dim=[2, 3, 3, 1])")
        credits.append(cfg.alias_credit)
    calls = tuple(f"{c.method}({describe_roles([*c.args, *c.kwargs.values()])})"
                  for c in protocol.step)
    names = tuple(c.method for c in protocol.step)
    lab_names = tuple(role_names(cfg, role)[0] for role in ("forward", "backward", "update"))
    takes_lab_calls = names == lab_names and lab.get("backward") and lab.get("update")
    if calls != LAB_STEP and not takes_lab_calls:
        differences.append(f"one training step is {'; '.join(calls)}, not "
                           f"{'; '.join(LAB_STEP)}")
        credits.append(cfg.alias_credit)
    return credits, differences


def _lab_constructor(cfg: InterfaceCheck, ctor: dict[str, Any]) -> bool:
    """``NN(dim=[2, 3, 3, 1])`` or ``NN([2, 3, 3, 1])``, as the program wrote it."""
    values = [d.get("value") for d in [*ctor.get("args", []), *ctor.get("kwargs", {}).values()]]
    names = set(ctor.get("kwargs", {}))
    return values == [list(cfg.dim)] and names <= {"dim"}


def _step_in_words(problem: dict[str, Any]) -> str:
    """Why the grader cannot take the lab's step through this method."""
    given = {0: "no argument", 1: "one argument"}.get(problem["passed"],
                                                     f"{problem['passed']} arguments")
    return (f"{problem['signature']} cannot be called as the lab's step, which passes it "
            f"{given} ({problem['message']}), so the steps of the gradient and training "
            "checks cannot be taken")


def _form(ctor: dict[str, Any]) -> str:
    """The call's arguments as written, e.g. ``dim=[2, 3, 3, 1]``."""
    if ctor.get("described"):
        return call_text(ctor)
    parts = [repr(a) for a in ctor.get("args", [])]
    parts += [f"{k}={v!r}" for k, v in ctor.get("kwargs", {}).items()]
    return ", ".join(parts)


def _details(chosen: dict[str, Any]) -> dict[str, Any]:
    return {"class": chosen["class"], "constructor": _form(chosen["ctor"]),
            "methods": chosen.get("methods"), "input": chosen.get("input"),
            "parameters": chosen.get("params", []), "cached": chosen.get("cached", [])}
