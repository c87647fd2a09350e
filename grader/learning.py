"""Learn how to build and step a student's network from a trace of the student's own program.

A TA learns how to drive a network by reading the main program; the grader does the same: the
child runs the program under a tracer (``grader/sandbox/child/tracer.py``) that records how the
student's classes are constructed and how their methods are called, with every argument
described (numbers, literals, arrays by identity and shape, the student's objects).  This
module, in the parent, turns that record into a :class:`LearnedProtocol`: which object is the
network, the constructor call that built it (replayable, with the student's own widths,
activation and rate), the method that predicts, and the calls that make one training step, each
argument given a *role*: the input batch, the labels, the output of an earlier call of the
step, the learning rate, or a constant.  The checks then drive the network through it, on the
grader's data, weights and learning rate.

The step is learned from the calls the program makes on the network from outside; when those
show none (the program trains inside one long method, ``net.train(X, Y, epochs=50000,
lr=0.1)``), from the calls that method makes on its own object, which the tracer records with
``within``: the grader then makes those calls itself, as the method did.

Nothing here runs student code; a trace that shows no network (a file of definitions only, a
program that never trains) gives None, and the name-based discovery of the interface check
remains the way in.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from grader import lossgrad, rebuilding

REPLAYABLE = rebuilding.PLAIN
"""Descriptor types the child passes again as recorded (``grader/rebuilding.py`` rebuilds the
student's own objects and containers of them too).  ``data`` is the training data a
constructor was passed (``Model(X, y, hidden=10)``, see :func:`with_data_roles`): the child
passes a batch of its own, and binds each batch it steps on where the network kept that
data."""
FEATURES = 2
"""Inputs of the lab's data: (N, 2) rows, or (2, N) columns."""
MIN_STEPS = 2
"""Complete steps the program must have made: a program that exits or crashes within its first
step has not shown what its step is (its update may never have been reached).  One step is
enough when a call after it crashed and the step had updated arrays the network already held
(:func:`_updated_then_crashed`): that step was whole."""
LARGEST_RATE = 10.0
"""A number passed to a step call and at most this is read as a learning rate; larger numbers
(epochs, batch sizes) are constants."""


def is_rate_name(name: str) -> bool:
    """The rule by which the child sets the rates a network keeps (one definition for both
    sides, :mod:`grader.sandbox.child.probes`), imported when first needed: that module
    imports NumPy, which the grader's start does not wait for (:mod:`reference.deferred`)."""
    from grader.sandbox.child.probes import is_rate_name as rule

    return rule(name)


@dataclass
class StepCall:
    """One call of a training step: the method and the role of each argument.

    A role is ``{"role": "x"}`` (the batch being learned), ``{"role": "y"}`` (its labels),
    ``{"role": "output", "of": j}`` (what call ``j`` of the step returned; ``"item": t`` for the
    t-th item of a returned tuple), ``{"role": "lr"}``, or ``{"role": "value", "value": desc}``
    (the student's constant, replayed as is)."""

    method: str
    args: list[dict[str, Any]]
    kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    returns: dict[int, int] = field(default_factory=dict)
    """For a procedure: which item of the call's result becomes which weight (-1: the whole
    result is one weight)."""
    on: int | None = None
    """The companion object the call is made on (an index into
    :attr:`LearnedProtocol.companions`); None: the network."""


@dataclass
class LearnedProtocol:
    """How the student's program builds and trains its network, as the grader replays it."""

    network_class: str
    constructor: dict[str, Any]
    """``{"args": [desc], "kwargs": {name: desc}}``: descriptors the child rebuilds."""
    predict: str
    """The method that takes the batch and returns the network's output (the step's first
    call)."""
    step: list[StepCall]
    """The calls of one training step, the predict call first."""
    input: str
    """``rows`` (N, 2) or ``cols`` (2, N): how the program feeds its batches."""
    student_lr: float | None
    """The learning rate the program itself passed in the step, if it passed one."""
    samples_per_step: int
    """How many samples the program's own steps took (1: per sample, as the lab's loop)."""
    predict_calls: int = 1
    """How many of the step's first calls make the prediction: one (the network's forward), or
    a chain of its layers' for a network whose class has no forward of its own
    (``layer1.forward(x); layer2.forward(out0); output.forward(out1)``, methods named by the
    layers' paths from the network); the output is the last one's."""
    within: str | None = None
    """The network's own method the program steps inside (``train`` looping over
    ``self.forward(x)``, ...), when the step was learned from there; None when the program
    makes the step's calls itself."""
    companions: list[dict[str, Any]] = field(default_factory=list)
    """Objects the program built from the network to train it, whose calls are part of the
    step: an optimizer given the network's parameters (``SGD(model.parameters(), lr=0.1)``,
    then ``optimizer.step()``).  Each is ``{"class", "args", "kwargs"}``, its arguments
    rebuilt by the child, the network's own objects passed as the rebuilt network's
    (``{"type": "held", "path": "linear1.weight"}``)."""
    procedure: dict[str, Any] | None = None
    """For a program without a network object (functions that take the weights as arguments
    and return the new ones): ``{"functions": [names], "shapes": [shape per weight], "init":
    {"function", "args", "kwargs", "items": {item: weight}} or None}``.  The child then plays
    the network with an object of its own holding the weights (``weights[k]``), whose methods
    are the student's functions; the roles ``{"role": "param", "index": k}`` pass weight k, and
    a call's ``returns`` ({item: k}) stores what it returned as the new weight k."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """The program's own calls, as the report shows them: ``net = Net(2, 4, 4, 1,
        lr=0.1); out0 = net.forward(x); net.backward(x, y, out0); net.update()``, or for a
        program that steps inside its network's method, ``net = Net(2, 4, 4, 1);
        net.train(...) steps by out0 = self.forward(x); self.backward(y); self.update(lr)``."""
        held = (self.procedure or {}).get("object")
        if self.procedure is not None:
            init = self.procedure.get("init")
            shapes = self.procedure["shapes"]
            weights = ", ".join("params" if isinstance(shape, dict) else f"W{k + 1}"
                                for k, shape in enumerate(shapes))
            maker = ("net." if held else "") + (init["function"] if init else "")
            parts = [f"net = {held['class']}({call_text(held)})"] if held else []
            parts += [f"{weights} = {maker}({call_text(init)})" if init else
                      f"{weights} = arrays of shapes " + ", ".join(
                          "x".join(map(str, shape)) if isinstance(shape, list) else
                          "{" + ", ".join(shape["arrays"]) + "}" for shape in shapes)]
        else:
            parts = [f"net = {self.network_class}({call_text(self.constructor)})"]
            parts += [f"net.{c['method']}({call_text(c)})"
                      for c in self.constructor.get("setup", [])]
            parts += [f"{_companion_name(k)} = {c['class']}({call_text(c)})"
                      for k, c in enumerate(self.companions)]
        steps = []
        owner = ("net." if held else "") if self.procedure is not None else \
            "self." if self.within else "net."
        for j, call in enumerate(self.step):
            args = [_role_text(r) for r in call.args]
            args += [f"{k}={_role_text(r)}" for k, r in call.kwargs.items()]
            returned = any(r.get("role") in ("output", "loss_grad") and r.get("of") == j
                           for later in self.step[j + 1:]
                           for r in [*later.args, *later.kwargs.values()])
            lead = f"out{j} = " if returned or j < self.predict_calls else ""
            if call.returns:
                names = ["params" if isinstance(self.procedure and self.procedure["shapes"][k],
                                                dict) else f"W{k + 1}"
                         for _, k in sorted(call.returns.items())]
                lead = ", ".join(names) + " = "
            where = owner if call.on is None else _companion_name(call.on) + "."
            steps.append(f"{lead}{where}{call.method}({', '.join(args)})")
        if self.within:  # the calls the program's own method makes, as that method writes them
            steps[0] = f"net.{self.within}(...) steps by {steps[0]}"
        return "; ".join(parts + steps)


def learn(trace: Mapping[str, Any]) -> LearnedProtocol | None:
    """The protocol of the network the program trains, or None when the trace shows none."""
    events = list(trace.get("events", []))
    # a call that raised stays: a program whose update crashes on its first step still shows
    # what its step is, and replaying it shows the crash where it belongs
    calls = [e for e in events if e.get("kind") == "call"]
    constructs = rebuilding.constructs_by_object(events)
    network = _network_object(calls, trace.get("objects") or {}, constructs)
    if network is None:
        return learn_procedure(events) or _methods_as_procedure(events)
    built = with_data_roles(constructs[network]) if network in constructs else None
    ctor = None if built is None else rebuilding.rebuildable_call(built, constructs)
    if built is None or ctor is None:
        return None
    objects = trace.get("objects") or {}
    held = rebuilding.held_paths(objects, network)
    # a trainer that calls the network's methods itself drives it: the step is those calls
    drivers = {e.get("caller") for e in calls if e["object"] == network}
    companions = {k: c for k, c in _companions(events, network, held, constructs,
                                                 objects).items() if k not in drivers}
    # the program's calls on the network, and on the objects it built to train it
    own = [e for e in calls if (e["object"] == network and e.get("caller") != network) or (
        e["object"] in companions and not isinstance(e.get("caller"), int))]
    outer, inner = _longest_outer_call(calls, network)
    found = _step_of(own) or _step_of(inner)
    # a network that keeps the data it trains on (``self.x_train`` from ``get_data()``) may
    # predict without being passed it: ``forward()``, then ``backward()``
    kept = None if _binds_data(built) else _kept_input(objects, network)
    if found is None and kept is not None:
        found = _step_of(own, kept) or _step_of(inner, kept)
    predict_calls = 1
    if found is None:
        found = _whole_step(calls, own, bound=_binds_data(built), network=network,
                            objects=trace.get("objects") or {})
        outer = None
        predict_calls = len(found[1]) - 1 if found is not None else 1
    if found is None:
        return None
    predict, segment, similar = found
    within = None if segment[0].get("within") is None else outer
    x = _array_arg(segment[0])
    holds_data = x is None
    x = x or kept
    assert x is not None  # the predict call takes an array, or reads the one kept
    step = [_roles(j, segment, similar, x) for j in range(len(segment))]
    used = [k for k in companions if any(e["object"] == k for e in segment)]
    for call, event in zip(step, segment):
        if event["object"] in used:
            call.on = used.index(event["object"])
    epochs = _epoch_arg(segment[-1]) if len(segment) == predict_calls + 1 else None
    if epochs is not None:  # a whole training run, asked for one epoch: one step
        one = {"role": "value", "value": {"type": "number", "value": 1}}
        if isinstance(epochs, int):
            step[-1].args[epochs] = one
        else:
            step[-1].kwargs[epochs] = one
    rates = _rates(segment[1:])
    rows = x["shape"][-1] == FEATURES or len(x["shape"]) == 1
    samples = int(x["shape"][0] if rows else x["shape"][-1]) if len(x["shape"]) > 1 else 1
    first = similar[0] if similar else segment
    started = min([int(e["i"]) for e in first] + [int(e["within"]) for e in first[:1]
                                                  if e.get("within") is not None])
    # a call that only stored new arrays on the network (``net.set_data(X, y)``) is
    # replayed with the grader's stand-in data, which each step then replaces
    stores = [with_data_roles(e) if e["object"] == network and _only_stores(e) else e
              for e in calls]
    setup = rebuilding.setup_calls(stores, network, started,
                                   {c.method for c in step} | {within or ""}, constructs)
    state = {}
    if within is not None:  # what the training method set on the object before its loop
        outer_call = next((e for e in calls if e.get("i") == segment[0].get("within")), {})
        state = {k: d for k, d in (outer_call.get("state") or {}).items()
                 if d.get("type") in ("number", "literal")}
    return LearnedProtocol(
        network_class=built["class"],
        constructor={**ctor, **({"setup": setup} if setup else {}),
                     **({"state": state} if state else {}),
                     **({"holds_data": True} if holds_data else {})},
        predict=predict, step=step, input="rows" if rows else "cols",
        student_lr=float(rates[0]) if rates else None, samples_per_step=samples,
        predict_calls=predict_calls, within=within,
        companions=[companions[k] for k in used])


def _companion_name(index: int) -> str:
    return "opt" if index == 0 else f"opt{index + 1}"


def _companions(events: Sequence[Mapping[str, Any]], network: int, held: Mapping[int, str],
                constructs: Mapping[int, Mapping[str, Any]], objects: Mapping[str, Any]
                ) -> dict[int, dict[str, Any]]:
    """The objects the program built from the network, or from objects it holds, to train it:
    an optimizer given its parameters (``SGD(model.parameters(), lr=1)``), a trainer given the
    network.  Their calls that change the network belong to the step; each is built again from
    the rebuilt network's own objects."""
    found: dict[int, dict[str, Any]] = {}
    for e in events:
        if e.get("kind") != "construct" or e["object"] in held or e["object"] == network:
            continue
        if not any(rebuilding.refers_to(d, set(held)) for d in
                   [*e.get("args", []), *e.get("kwargs", {}).values()]):
            continue
        call = rebuilding.rebuildable_call(e, constructs, held=held)
        if call is not None:
            where = (objects.get(str(e["object"])) or {}).get("module_file")
            found[e["object"]] = {"class": e["class"], **call,
                                  **({"module_file": where} if where else {})}
    return found


# --- which object, which calls ---------------------------------------------------------------

def _network_object(calls: Sequence[Mapping[str, Any]], objects: Mapping[str, Any],
                    constructs: Mapping[int, Mapping[str, Any]]) -> int | None:
    """The object the program trains: of the objects whose arrays some call changed (or that
    hold such an object: a model whose training run was cut short records no change of its
    own, its layers do), the one the program itself (its functions and top level) calls most
    often, then the one called most often from outside its own methods: a network's layers and
    its activation objects are called by the network, and one activation object shared by two
    layers is called more often than the network is.  An object built from another one's
    parts (an optimizer given the network's parameters) is that one's helper, never it."""
    learning = Counter(e["object"] for e in calls if e.get("changed"))
    if not learning:
        return None
    for changed, count in list(learning.items()):
        holder, seen = changed, {changed}
        while (held := (objects.get(str(holder)) or {}).get("held")) and held["by"] not in seen:
            holder = held["by"]
            seen.add(holder)
            learning[holder] += count
    parts = {k: set(rebuilding.held_paths(objects, k)) for k in learning}
    for helper in list(learning):
        built = constructs.get(helper) or {}
        descs = [*built.get("args", []), *built.get("kwargs", {}).values()]
        own_parts = parts[helper]  # the layers it was built from are its own
        if descs and any(other not in own_parts and any(
                rebuilding.refers_to(d, parts[other] - own_parts) for d in descs)
                for other in parts):
            del learning[helper]
    if not learning:
        return None
    program = Counter(e["object"] for e in calls if not isinstance(e.get("caller"), int))
    outside = Counter(e["object"] for e in calls if e.get("caller") != e["object"])
    return max(learning, key=lambda k: (program[k], outside[k], learning[k], -k))


def _longest_outer_call(calls: Sequence[Mapping[str, Any]], network: int
                        ) -> tuple[str | None, list[Mapping[str, Any]]]:
    """The method of the network's outside call that made the most calls on the network itself,
    and those calls: a program that trains inside ``net.train(X, Y, epochs)`` shows its step
    only there."""
    inside: dict[int, list[Mapping[str, Any]]] = {}
    for e in calls:
        if e["object"] == network and e.get("within") is not None:
            inside.setdefault(e["within"], []).append(e)
    if not inside:
        return None, []
    index = max(inside, key=lambda i: (len(inside[i]), -i))
    method = next((e["method"] for e in calls if e.get("i") == index), None)
    return method, inside[index]


def _step_of(calls: Sequence[Mapping[str, Any]], kept: Mapping[str, Any] | None = None
             ) -> tuple[str, list[Mapping[str, Any]], list[list[Mapping[str, Any]]]] | None:
    """The predict method, one typical step of these calls and every step like it, or None
    when they show none.  ``kept``: the batch the network keeps, which a predict may read
    instead of taking it."""
    predict = _predict_method(calls, kept)
    if predict is None:
        return None
    found = _typical_step(calls, predict)
    return None if found is None else (predict, *found)


def _predict_method(own: Sequence[Mapping[str, Any]], kept: Mapping[str, Any] | None = None
                    ) -> str | None:
    """The method called most often with a batch of the lab's inputs that returns an array (or
    a tuple holding one): the network's forward pass; for a network that keeps its batch
    (``kept``), one taking no array that returns as many rows as the batch has samples."""
    counts = Counter(e["method"] for e in own
                     if _array_arg(e) is not None and _returns_array(e))
    if not counts and kept is not None:
        samples = max(kept["shape"])
        counts = Counter(e["method"] for e in own if not any(
            d.get("type") == "array" for d in _descs(e)) and _returns_array(e)
            and samples in ((e.get("result") or {}).get("shape") or [])[:1])
    return counts.most_common(1)[0][0] if counts else None


def _kept_input(objects: Mapping[str, Any], network: int) -> dict[str, Any] | None:
    """The largest batch of the lab's inputs the network holds (``self.x_train``, (N, 2) or
    (2, N)), as an array descriptor; None when it holds none."""
    arrays = (objects.get(str(network)) or {}).get("arrays") or {}
    found = [list(shape) for shape in arrays.values() if len(shape) == 2
             and FEATURES in shape and max(shape) > FEATURES]
    if not found:
        return None
    return {"type": "array", "shape": max(found, key=max), "dtype": "float64"}


def _only_stores(call: Mapping[str, Any]) -> bool:
    """A call that only gave the object new arrays (``set_data(X, y)``), changing none it had:
    no training run."""
    changed = set(call.get("changed") or ())
    return bool(changed) and changed <= set(call.get("new") or ())


def _typical_step(own: Sequence[Mapping[str, Any]], predict: str
                  ) -> tuple[list[Mapping[str, Any]], list[list[Mapping[str, Any]]]] | None:
    """The calls from one predict to the next, in the most frequent pattern among those in which
    a later call changes the network (a predict made only to print a loss is alone), and every
    step of that pattern the program made (their values tell what an argument is)."""
    starts = [i for i, e in enumerate(own) if e["method"] == predict]
    segments = [_before_crash(own[a:b]) for a, b in zip(starts, [*starts[1:], len(own)])]
    changing = {tuple(e["method"] for e in s) for s in segments
                if len(s) > 1 and any(e.get("changed") for e in s[1:])}
    # every repetition of a pattern that changed the network once counts: a saturated
    # network's later steps change nothing, and are steps all the same
    learning = [s for s in segments if tuple(e["method"] for e in s) in changing]
    if not learning:
        return None
    patterns = Counter(tuple(e["method"] for e in s) for s in learning)
    best = patterns.most_common(1)[0][0]
    segment = next(s for s in learning if tuple(e["method"] for e in s) == best)
    unit = _one_repetition(segment[1:])
    steps = len(learning) + (len(segment) - 1) // len(unit) - 1
    if steps < MIN_STEPS and not (steps == 1 and _updated_then_crashed(own, segment)):
        return None
    return [segment[0], *unit], [s for s in learning
                                 if tuple(e["method"] for e in s) == best]


def _before_crash(calls: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The calls without those at their end that raised and changed nothing: a loss printed
    after the update that crashes (``compute_loss`` called wrongly) is not part of the step."""
    calls = list(calls)
    while len(calls) > 1 and "raised" in calls[-1] and not calls[-1].get("changed"):
        calls.pop()
    return calls


def _updated_then_crashed(own: Sequence[Mapping[str, Any]],
                          segment: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the program's one step updated arrays the network held before it (not only
    caches and gradients stored for the first time), then crashed in a call that evaluates
    what the step predicted (a loss or an accuracy, passed the output): the step was whole.
    A crash in a call not passed the output (``update(lr)``) may be the step's own end."""
    after = next((k + 1 for k, e in enumerate(own) if e is segment[-1]), len(own))
    if after >= len(own) or "raised" not in own[after]:
        return False
    output = _results(segment[:1])
    evaluates = any(d.get("ref") in output for d in _descs(own[after]))
    updated = any(set(e.get("changed") or ()) - set(e.get("new", ())) for e in segment[1:])
    return evaluates and updated


def _whole_step(calls: Sequence[Mapping[str, Any]], own: Sequence[Mapping[str, Any]],
                bound: bool, network: int, objects: Mapping[str, Any]
                ) -> tuple[str, list[Mapping[str, Any]], list[list[Mapping[str, Any]]]] | None:
    """A step of one call, the predict that call makes inside it first: a network built with
    its training data (``bound``) stepped by a call that takes no batch (``loss =
    model.backward()``, ``nn.train()``, ``self.forward(self.X)`` inside), or a training run
    taking the batch and an epoch count (``net.fit(X, y, epochs=5000, lr=0.5)``), which makes
    one step when asked for one epoch, when it predicts on the whole batch each epoch.  The
    calls inside such a run are made on the network's layers, which the grader cannot call."""
    def batchless(e: Mapping[str, Any]) -> bool:
        return bound and bool(e.get("changed")) and \
            not any(d.get("type") == "array" for d in _descs(e))

    whole = Counter(e["method"] for e in own if batchless(e) or (
        _epoch_arg(e) is not None and _array_arg(e) is not None and _learned_during(e, calls)))
    if not whole:
        return None
    method, count = whole.most_common(1)[0]
    first = next(e for e in own if e["method"] == method)
    if count < MIN_STEPS and _epoch_arg(first) is None:
        return None
    predict = next((e for e in calls if e.get("within") == first.get("i")
                    and e["object"] == first["object"] and _array_arg(e) is not None
                    and _returns_array(e)), None)
    chain = [predict] if predict is not None else _layer_chain(calls, first, network, objects)
    if not chain or (_array_arg(first) is not None and
                     _array_arg(chain[0]).get("shape") != _array_arg(first).get("shape")):
        return None  # one sample at a time inside: one epoch is many steps
    segment = [*chain, first]
    return chain[-1]["method"], segment, [segment]


def _layer_chain(calls: Sequence[Mapping[str, Any]], first: Mapping[str, Any], network: int,
                 objects: Mapping[str, Any]) -> list[dict[str, Any]]:
    """For a network whose class has no forward of its own, the prediction its training run
    makes through its layers: the calls the run makes on objects the network holds, the first
    taking the run's batch, each next one taking the previous one's result
    (``self.output.forward(self.layer2.forward(self.layer1.forward(x)))``), as calls on the
    network by the layers' paths (``layer1.forward``); empty when there is no such chain."""
    x = _array_arg(first)
    paths = {int(k): v["held"]["path"] for k, v in objects.items()
             if (v.get("held") or {}).get("by") == network}
    if x is None or not paths:
        return []
    inside = [e for e in calls if e.get("i", 0) > first.get("i", 0)
              and e.get("caller") == network and e.get("object") in paths]
    chain: list[Mapping[str, Any]] = []
    for e in inside:
        wanted = x.get("ref") if not chain else (chain[-1].get("result") or {}).get("ref")
        if wanted is not None and any(d.get("ref") == wanted for d in _descs(e)) \
                and _returns_array(e):
            chain.append(e)
        elif chain:
            break
    return [{**e, "object": network, "method": f"{paths[e['object']]}.{e['method']}"}
            for e in chain]


EPOCH_NAME = re.compile(r"epoch|iter|itr|step|round", re.IGNORECASE)
NOT_EPOCH_NAME = re.compile(r"print|show|log|display|verbose|every|interval|size|save",
                            re.IGNORECASE)


def _epoch_arg(call: Mapping[str, Any]) -> int | str | None:
    """The argument that counts a training run's epochs (``fit(X, y, 5000)`` with the
    parameter named ``epochs``, ``train(x, y, n_iter=5000)``), by its parameter's name."""
    keyed = _named_args(call) + [(name, name, number_desc(value)) for name, value in
                                 call.get("defaults", {}).items()]  # left at its default
    for key, name, desc in keyed:
        value = desc.get("value")
        if desc.get("type") == "number" and isinstance(value, int) and value >= 2 and \
                EPOCH_NAME.search(name) and not NOT_EPOCH_NAME.search(name):
            return key
    return None


def _learned_during(call: Mapping[str, Any], calls: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the call, or a call made after it began (by it, on the network's layers),
    updated arrays that were there before: a run cut short by the tracer records no change
    of its own."""
    return bool(call.get("changed")) or any(
        set(e.get("changed") or ()) - set(e.get("new", ())) for e in calls
        if e.get("i", 0) > call.get("i", 0))


def with_data_roles(built: Mapping[str, Any]) -> dict[str, Any]:
    """The construct event with the training data it was passed marked as such: the batch of
    the lab's inputs becomes ``{"type": "data", "role": "x"}`` and its 0/1 labels ``{"type":
    "data", "role": "y"}`` (with their recorded shape and dtype), which the child supplies
    from the batch it steps on.  Other arrays stay what they are (not replayable)."""
    descs = [*built.get("args", []), *built.get("kwargs", {}).values()]
    x = next((d for d in descs if d.get("type") == "array" and _array_arg({"args": [d]})
              and len(d.get("shape") or []) == 2), None)
    if x is None:
        return dict(built)

    def mark(desc: Mapping[str, Any]) -> dict[str, Any]:
        if desc.get("type") != "array":
            return dict(desc)
        data = {"type": "data", "shape": list(desc["shape"]), "dtype": desc.get("dtype")}
        if desc.get("ref") == x.get("ref"):
            return {**data, "role": "x"}
        if (desc.get("summary") or {}).get("binary") and _same_samples(desc, x):
            return {**data, "role": "y"}
        return dict(desc)

    return {**built, "args": [mark(d) for d in built.get("args", [])],
            "kwargs": {k: mark(d) for k, d in built.get("kwargs", {}).items()}}


def _binds_data(built: Mapping[str, Any]) -> bool:
    return any(d.get("type") == "data"
               for d in [*built.get("args", []), *built.get("kwargs", {}).values()])


def _one_repetition(calls: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The shortest unit the calls repeat: a program whose ``train(x, y)`` makes a whole step
    by itself calls it again and again after one predict; one of them is one step."""
    methods = [e["method"] for e in calls]
    for size in range(1, len(methods) // 2 + 1):
        if len(methods) % size == 0 and methods == methods[:size] * (len(methods) // size):
            return list(calls[:size])
    return list(calls)


# --- roles -----------------------------------------------------------------------------------

def _descs(call: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [*call.get("args", []), *call.get("kwargs", {}).values()]


def _named_args(call: Mapping[str, Any]) -> list[tuple[int | str, str, dict[str, Any]]]:
    """The call's arguments as (position or keyword, parameter name, descriptor); the name of a
    positional one is the tracer's ``names`` (``""`` where it recorded none)."""
    names = list(call.get("names", []))
    return [(k, names[k] if k < len(names) else "", d)
            for k, d in enumerate(call.get("args", []))] + \
        [(k, k, d) for k, d in call.get("kwargs", {}).items()]


INPUT_NAME = re.compile(r"^(x|inputs?|data|samples?|batch|features?|a0|x_\w*|\w*_x)$",
                        re.IGNORECASE)
WEIGHT_NAME = re.compile(r"^(w|weights?|theta|params?|parameters?)\d*$|^w\d|^weight",
                         re.IGNORECASE)


def _array_arg(call: Mapping[str, Any]) -> dict[str, Any] | None:
    """The call's array argument shaped like a batch of the lab's inputs: of those, the one
    whose parameter is named like an input, else the first shaped as rows, else the first
    (``forward(weight1, weight2, weight3, x)``: ``weight1`` is 2 x 10 too, but a weight)."""
    found = []
    for _, name, desc in _named_args(call):
        shape = desc.get("shape") or []
        if desc.get("type") == "array" and shape and (
                shape[-1] == FEATURES or (len(shape) == 2 and shape[0] == FEATURES)
                or shape == [FEATURES]):
            found.append((not INPUT_NAME.search(name), bool(WEIGHT_NAME.search(name)),
                          shape[-1] != FEATURES, len(found), desc))
    return min(found, key=lambda f: f[:4])[4] if found else None


def _returns_array(call: Mapping[str, Any]) -> bool:
    result = call.get("result") or {}
    if result.get("type") == "array":
        return True
    value = result.get("value")  # a network in plain Python returns a list of floats
    if result.get("type") == "literal" and isinstance(value, list) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return True
    return result.get("type") == "sequence" and any(
        item.get("type") == "array" for item in result.get("items", []))


def _is_rate(desc: Mapping[str, Any]) -> bool:
    value = desc.get("value")
    return desc.get("type") == "number" and isinstance(value, (int, float)) and \
        not isinstance(value, bool) and 0 < value <= LARGEST_RATE


NOT_RATE_NAME = re.compile(r"beta|momentum|decay|gamma|eps|rho|lamb?da|reg|clip|drop|thresh|tol|"
                           r"epoch|iter|print|show|verbose|seed|size|batch|every|interval",
                           re.IGNORECASE)
"""Other hyper-parameters: a small number named so is never taken for an unnamed rate."""


def _rate_key(call: Mapping[str, Any]) -> int | str | None:
    """The argument that is the call's learning rate: of its small positive numbers, the one
    whose parameter is named like a rate, else the first not named like another
    hyper-parameter (``optimize(0.1, grads, beta=0.9)``: the momentum stays the student's)."""
    numbers = [(key, name) for key, name, desc in _named_args(call) if _is_rate(desc)]
    named = [key for key, name in numbers if is_rate_name(name)]
    plain = [key for key, name in numbers if not NOT_RATE_NAME.search(name)]
    # a rate left at its default (``fit(X, y)`` with ``learning_rate=0.05``), by its name only
    defaulted = [name for name, value in call.get("defaults", {}).items()
                 if _is_rate(number_desc(value)) and is_rate_name(name)]
    return (named or plain or defaulted or [None])[0]


def number_desc(value: float) -> dict[str, Any]:
    return {"type": "number", "value": value}


def _rates(calls: Iterable[Mapping[str, Any]]) -> list[float]:
    """The learning rates the calls were given, in order."""
    found = []
    for call in calls:
        key = _rate_key(call)
        if key is not None:
            found.append(float(_arg(call, key).get("value", call.get("defaults", {}).get(key))))
    return found


def _results(segment: Sequence[Mapping[str, Any]]) -> dict[int, tuple[int, int | None]]:
    """Array refs returned by the step's calls: ref -> (call index, tuple item or None)."""
    refs: dict[int, tuple[int, int | None]] = {}
    for j, call in enumerate(segment):
        result = call.get("result") or {}
        if "ref" in result:
            refs.setdefault(result["ref"], (j, None))
        items = result.get("items", []) if result.get("type") == "sequence" else []
        for t, item in enumerate(items if isinstance(items, list) else []):
            if "ref" in item:
                refs.setdefault(item["ref"], (j, t))
    return refs


def _role(desc: Mapping[str, Any], x: Mapping[str, Any], outputs: Mapping[int, tuple],
          before: int, rate: bool) -> dict[str, Any]:
    """What an argument is, in terms the grader can supply again."""
    if desc.get("ref") in outputs and outputs[desc["ref"]][0] < before:
        j, item = outputs[desc["ref"]]
        return {"role": "output", "of": j} | ({} if item is None else {"item": item})
    if desc.get("type") not in ("array", *REPLAYABLE):
        return {"role": "unknown", "value": dict(desc)}
    if desc.get("type") == "array":
        ndim = len(desc.get("shape") or [])
        if desc.get("ref") == x.get("ref") or _same_values(desc, x):
            return {"role": "x", "ndim": ndim}
        if desc.get("ref") in outputs and outputs[desc["ref"]][0] < before:
            j, item = outputs[desc["ref"]]
            return {"role": "output", "of": j} | ({} if item is None else {"item": item})
        if (desc.get("summary") or {}).get("binary") and _same_samples(desc, x):
            return {"role": "y", "ndim": ndim}
        return {"role": "unknown", "value": dict(desc)}
    if rate:
        return {"role": "lr", "value": dict(desc)}
    return {"role": "value", "value": dict(desc)}


def _same_values(desc: Mapping[str, Any], x: Mapping[str, Any]) -> bool:
    """The batch again, sliced anew (``net.backward(X[i:i+1], ...)`` after
    ``net.forward(X[i:i+1])``): the same shape and the same recorded values."""
    if desc.get("shape") != x.get("shape") or "values" not in desc or "values" not in x:
        return False
    return desc["values"] == x["values"]


def _same_samples(desc: Mapping[str, Any], x: Mapping[str, Any]) -> bool:
    """Labels have one entry per sample of the batch."""
    shape, xs = desc.get("shape") or [], x.get("shape") or []
    if len(xs) <= 1:  # one sample as a vector: one label, as a vector or (1, 1)
        return all(d == 1 for d in shape)
    n = xs[0] if xs[-1] == FEATURES else xs[-1]
    return bool(shape) and n in shape and all(d in (1, n) for d in shape)


def _roles(index: int, segment: Sequence[Mapping[str, Any]],
           similar: Sequence[Sequence[Mapping[str, Any]]], x: Mapping[str, Any]) -> StepCall:
    call = segment[index]
    outputs = _results(segment)
    rate = None if index == 0 else _rate_key(call)  # the predict call takes no rate

    def role(key: int | str) -> dict[str, Any]:
        found = _role(_arg(call, key), x, outputs, index, key == rate)
        if found["role"] == "unknown" and found["value"].get("type") == "array":
            gradient = lossgrad.recognise([(_arg(s[index], key), s[:index]) for s in similar
                                           if index < len(s)])
            if gradient is not None:
                return gradient
        return found

    kwargs = {k: role(k) for k in call.get("kwargs", {})}
    if isinstance(rate, str) and rate not in kwargs:  # the rate it was left at: the grader's
        kwargs[rate] = {"role": "lr", "value": number_desc(call["defaults"][rate])}
    return StepCall(call["method"], [role(n) for n in range(len(call.get("args", [])))],
                    kwargs)


def _arg(call: Mapping[str, Any], key: int | str) -> dict[str, Any]:
    if isinstance(key, int):
        args = call.get("args", [])
        return dict(args[key]) if key < len(args) else {}
    return dict(call.get("kwargs", {}).get(key, {}))


def constructions(trace: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per class, the first constructor call the program made itself (not inside another of
    its objects) that can be made again: even a program whose training runs inside one long
    method shows how its network is built."""
    found: dict[str, dict[str, Any]] = {}
    constructs = rebuilding.constructs_by_object(trace.get("events", []))
    for event in trace.get("events", []):
        if event.get("kind") != "construct" or event.get("caller") is not None:
            continue
        call = rebuilding.rebuildable_call(with_data_roles(event), constructs)
        if event.get("class") not in found and call is not None:
            found[event["class"]] = call
    return found


def _replayable(built: Mapping[str, Any]) -> bool:
    return rebuilding.rebuildable_call(built, {}) is not None


def unsupported_roles(protocol: LearnedProtocol) -> list[str]:
    """Arguments of the step the grader cannot supply again (an array the program computed
    itself, such as its own loss gradient), as ``method(argument n)``; empty when the whole
    step can be replayed."""
    found = []
    for call in protocol.step:
        for n, role in enumerate(call.args):
            if role["role"] == "unknown":
                found.append(f"{call.method}(argument {n + 1})")
        for name, role in call.kwargs.items():
            if role["role"] == "unknown":
                found.append(f"{call.method}({name}=...)")
    return found


# --- text ------------------------------------------------------------------------------------

def _value_text(desc: Mapping[str, Any]) -> str:
    kind = desc.get("type")
    if kind in ("number", "literal"):
        return repr(desc.get("value"))
    if kind in ("function", "class"):
        return str(desc.get("name"))
    if kind == "namespace":
        return "Namespace(" + ", ".join(f"{k}={v!r}" for k, v in
                                        (desc.get("value") or {}).items()) + ")"
    if kind == "array":
        return "array" + "x".join(str(d) for d in desc.get("shape", []))
    if kind == "data":  # the training data the program passed: the grader passes its batch
        return desc.get("role", "x")
    if kind == "built":  # the student's object, built again as the program built it
        return f"{desc.get('class')}({call_text(desc)})"
    if kind == "held":  # the network's own object, passed again as the rebuilt network's
        return f"net.{desc['path']}".rstrip(".")
    if kind == "sequence" and isinstance(desc.get("items"), list):
        inner = ", ".join(_value_text(d) for d in desc["items"])
        return f"({inner})" if desc.get("tuple") else f"[{inner}]"
    if kind == "mapping" and isinstance(desc.get("items"), dict):
        return "{" + ", ".join(f"{k!r}: {_value_text(d)}" for k, d in desc["items"].items()) + "}"
    return str(desc.get("class") or kind)


def call_text(call: Mapping[str, Any]) -> str:
    parts = [_value_text(d) for d in call.get("args", [])]
    parts += [f"{k}={_value_text(d)}" for k, d in call.get("kwargs", {}).items()]
    return ", ".join(parts)


def _role_text(role: Mapping[str, Any]) -> str:
    kind = role.get("role")
    if kind in ("x", "y"):
        return kind
    if kind == "output":
        return f"out{role['of']}" + (f"[{role['item']}]" if "item" in role else "")
    if kind == "lr":
        return "lr"
    if kind == "loss_grad":
        return lossgrad.text(role)
    if kind == "param":
        return role.get("name") or f"W{role['index'] + 1}"
    return _value_text(role.get("value") or {})


def describe_roles(roles: Iterable[Mapping[str, Any]]) -> str:
    return ", ".join(_role_text(r) for r in roles)


# --- a program of functions ------------------------------------------------------------------

PROCEDURE_CLASS = "__labgrade_program__"
"""The name under which the child plays a program of functions as a network object."""


def learn_procedure(events: Sequence[Mapping[str, Any]]) -> LearnedProtocol | None:
    """The protocol of a program without a network object, whose functions take the weights as
    arguments: ``Z1, Z2, out = forward(x, w1, w2, w3)``, then ``w1, w2, w3 = backward(x, Z1,
    Z2, out, y, w1, w2, w3, lr)`` (or a backward that updates the arrays in place).  The
    weights are the float arrays the forward function takes besides the batch; the step is
    learned from the calls one caller makes (the top level, or the student's ``train``), as
    for a network's methods.  None when no such function trains anything."""
    functions = [e for e in events if e.get("kind") == "function"]
    by_caller: dict[Any, list[Mapping[str, Any]]] = {}
    for e in functions:
        by_caller.setdefault(e.get("caller"), []).append(e)
    best: LearnedProtocol | None = None
    for group in by_caller.values():
        found = _procedure_of(group, functions)
        if found is not None and (best is None or len(found.step) > len(best.step)):
            best = found
    return best


def _methods_as_procedure(events: Sequence[Mapping[str, Any]]) -> LearnedProtocol | None:
    """A class whose methods pass the weights around as a program of functions does
    (``params = net.init_parameters()``, ``A, cache = net.forward_pass(X, params)``, ...,
    ``params = net.update_parameters(params, grads)``): the object holds none of them, so it
    is no network; its methods, called on the object built as the program built it, are the
    procedure's functions."""
    constructs = rebuilding.constructs_by_object(events)
    methods: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        if e.get("kind") == "call" and e.get("object") in constructs:
            methods.setdefault(e["object"], []).append(
                dict(e, kind="function", name=e["method"]))
    best: LearnedProtocol | None = None
    for obj, calls in methods.items():
        ctor = rebuilding.rebuildable_call(constructs[obj], constructs)
        found = learn_procedure(calls) if ctor is not None else None
        if found is None or found.procedure is None or \
                (best is not None and len(found.step) <= len(best.step)):
            continue
        found.procedure["object"] = {"class": constructs[obj]["class"], **ctor}
        best = found
    return best


def _weight_args(call: Mapping[str, Any], x: Mapping[str, Any]) -> list[tuple[Any, dict]]:
    """The float arrays a forward call takes besides the batch, as (argument key, descriptor):
    the weights and biases (zero biases included; labels, 0/1 with one per sample, are not)."""
    found = []
    for key, _, desc in _named_args(call):
        labels = (desc.get("summary") or {}).get("binary") and _same_samples(desc, x)
        if desc.get("type") == "array" and desc.get("ref") != x.get("ref") \
                and str(desc.get("dtype", "")).startswith("float") and not labels:
            found.append((key, desc))
        elif _weight_mapping(desc):
            found.append((key, desc))
    return found


def _weight_mapping(desc: Mapping[str, Any]) -> bool:
    """A dict of the weights (``parameters = {"W1": ..., "b1": ...}``, Andrew Ng's style),
    passed whole: its items include float arrays."""
    items = desc.get("items")
    return desc.get("type") == "mapping" and desc.get("ref") is not None and \
        isinstance(items, dict) and any(
            d.get("type") == "array" and str(d.get("dtype", "")).startswith("float")
            for d in items.values())


def _weight_shape(desc: Mapping[str, Any], x: Mapping[str, Any] | None = None) -> Any:
    """A weight's shape, or for a dict of weights each item's: ``{"arrays": {key: shape},
    "values": {key: descriptor}}`` (its other items, replayed as recorded), and ``"data"``:
    the keys holding the very batch the forward pass is given (``params['X1'] = input``, which
    the backward pass reads): the child writes each batch there."""
    if desc.get("type") != "mapping":
        return list(desc.get("shape") or [])
    items = desc.get("items") or {}
    data = [k for k, d in items.items() if x is not None and d.get("type") == "array"
            and d.get("ref") is not None and d.get("ref") == x.get("ref")]
    return {"arrays": {k: list(d.get("shape") or []) for k, d in items.items()
                       if d.get("type") == "array"},
            "values": {k: dict(d) for k, d in items.items() if d.get("type") != "array"},
            **({"data": data} if data else {})}


def _procedure_of(group: Sequence[Mapping[str, Any]], everything: Sequence[Mapping[str, Any]]
                  ) -> LearnedProtocol | None:
    candidates = Counter(e["name"] for e in group if _array_arg(e) is not None
                         and _returns_array(e) and _weight_args(e, _array_arg(e) or {}))
    if not candidates:
        return None
    predict = candidates.most_common(1)[0][0]
    starts = [i for i, e in enumerate(group) if e["name"] == predict]
    segments = [list(group[a:b]) for a, b in zip(starts, [*starts[1:], len(group)])]

    def weights(segment: Sequence[Mapping[str, Any]]) -> list[int]:
        x = _array_arg(segment[0]) or {}
        return [d.get("ref") for _, d in _weight_args(segment[0], x)]

    def steps(n: int) -> bool:  # a later call takes the weights or returns the next ones
        segment, refs = segments[n], set(weights(segments[n]))
        following = set(weights(segments[n + 1])) if n + 1 < len(segments) else set()
        return any(d.get("ref") in refs for e in segment[1:] for d in _descs(e)) or bool(
            following - refs and following & set(_result_refs(segment[1:])))

    learning = [n for n in range(len(segments)) if len(segments[n]) > 1 and steps(n)]
    if len(learning) < MIN_STEPS:
        return None
    patterns = Counter(tuple(e["name"] for e in segments[n]) for n in learning)
    pattern = patterns.most_common(1)[0][0]
    chosen = [n for n in learning if tuple(e["name"] for e in segments[n]) == pattern]
    n0 = chosen[0]
    segment = segments[n0]
    x = _array_arg(segment[0])
    assert x is not None
    refs = weights(segment)
    shapes = [_weight_shape(d, x) for _, d in _weight_args(segment[0], x)]
    nxt = weights(segments[n0 + 1]) if n0 + 1 < len(segments) else []
    # function events read as method calls, so that roles are found as for a network's
    as_method = [dict(e, method=e["name"]) for e in segment]
    similar = [[dict(e, method=e["name"]) for e in segments[n]] for n in chosen]
    step = []
    for j, call in enumerate(segment):
        role = _roles(j, as_method, similar, x)
        role.args = [_param(call.get("args", [])[n], refs) or r for n, r in enumerate(role.args)]
        role.kwargs = {k: _param(call.get("kwargs", {})[k], refs) or r
                       for k, r in role.kwargs.items()}
        if j > 0:
            role.returns = _returned_weights(call, nxt)
        step.append(role)
    rates = _rates(segment[1:])
    rows = x["shape"][-1] == FEATURES or len(x["shape"]) == 1
    samples = int(x["shape"][0] if rows else x["shape"][-1]) if len(x["shape"]) > 1 else 1
    return LearnedProtocol(
        network_class=PROCEDURE_CLASS, constructor={"args": [], "kwargs": {}},
        predict=predict, step=step, input="rows" if rows else "cols",
        student_lr=float(rates[0]) if rates else None, samples_per_step=samples,
        procedure={"functions": sorted({e["name"] for e in segment}), "shapes": shapes,
                   "scales": _scales(segments[0][0], x),
                   "init": _initialiser(everything, segment[0], refs)})


def _scales(first: Mapping[str, Any], x: Mapping[str, Any]) -> list[float | None]:
    """The spread of each weight at the program's first forward call (its own initialisation,
    read from the recorded values), so that a start drawn again is drawn alike."""
    found: list[Any] = []
    for _, desc in _weight_args(first, x):
        if desc.get("type") == "mapping":  # a dict of weights: each array's own spread
            found.append({k: _spread(d) for k, d in (desc.get("items") or {}).items()
                          if d.get("type") == "array"})
        else:
            found.append(_spread(desc))
    return found


def _spread(desc: Mapping[str, Any]) -> float | None:
    flat = lossgrad.recorded_values(desc)
    return float((flat ** 2).mean() ** 0.5) if flat is not None and flat.size > 1 else None


def _param(desc: Mapping[str, Any], refs: Sequence[Any]) -> dict[str, Any] | None:
    if desc.get("type") in ("array", "mapping") and desc.get("ref") in refs:
        return {"role": "param", "index": list(refs).index(desc["ref"]),
                **({"name": "params"} if desc.get("type") == "mapping" else {})}
    return None


def _result_refs(calls: Iterable[Mapping[str, Any]]) -> list[Any]:
    found = []
    for call in calls:
        result = call.get("result") or {}
        found.append(result.get("ref"))
        if result.get("type") == "sequence" and isinstance(result.get("items"), list):
            found += [item.get("ref") for item in result["items"]]
    return [r for r in found if r is not None]


def _returned_weights(call: Mapping[str, Any], following: Sequence[Any]) -> dict[int, int]:
    """Which items of what the call returned are the weights the next forward call takes."""
    result = call.get("result") or {}
    if result.get("ref") in following:
        return {-1: list(following).index(result["ref"])}
    items = result.get("items") if result.get("type") == "sequence" else None
    return {t: list(following).index(item["ref"]) for t, item in enumerate(items or [])
            if item.get("ref") in following}


def _initialiser(events: Sequence[Mapping[str, Any]], first: Mapping[str, Any],
                 refs: Sequence[Any]) -> dict[str, Any] | None:
    """The function that made the weights (``init_weights(2, 4, 4, 1)`` returning them), when
    the program called one that can be called again."""
    for event in events:
        if event.get("i", 0) >= first.get("i", 0):
            break
        result = event.get("result") or {}
        items = result.get("items") if result.get("type") == "sequence" else None
        made = {t: list(refs).index(item["ref"]) for t, item in enumerate(items or [])
                if item.get("ref") in refs}
        if result.get("ref") in refs and len(refs) == 1:  # returns the one dict of weights
            made = {-1: 0}
        if len(made) == len(refs) and _replayable(event):
            return {"function": event["name"], "args": list(event.get("args", [])),
                    "kwargs": dict(event.get("kwargs", {})), "items": made}
    return None
