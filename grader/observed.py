"""Watch a training loop written inline, step by step, when it cannot be called.

Some students write the whole training in one function (or at the top level): the weights
are local variables (``w1, w2, w3``), the forward and backward passes are written out inside
the loop, and there is no predict or step to call.  The grader cannot replay such a program on
its own weights, but it can watch it: the tracer snapshots the numeric variables of the frame
that calls the student's helpers (``sigmoid``) each time it calls one
(``tracer._LoopVariables``).  From those snapshots this module finds

* the weights: variables the frame held before its loop began, whose shapes fit the lab's
  layers (any hidden widths), confirmed by the forward pass: under the reference network with
  those weights the batch gives a prediction the loop itself computed (which also tells the
  activations);
* the steps: from the weights before an iteration to the weights after it;
* each step's batch: the inputs and labels the iteration used (the whole data set, or the
  sample of a per-sample loop).

The gradient check then compares each observed update with the true gradient, as it does for a
step it takes itself, up to one positive factor (the loop's own learning rate is part of it).
Nothing here runs student code.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from reference.deferred import np
from grader.layout import Layout, candidate_dims, candidate_layouts
from reference.network import forward as reference_forward

LAB_DIMS = (2, 3, 3, 1)
FEATURES = 2
MATCH_TOLERANCE = 1e-6
DISTINCT = 1e-3
"""A prediction confirms the weights only if its values differ across the batch by this much
(tiny weights give outputs all alike, which match any variable all alike)."""
MAX_STEPS = 3
"""Observed steps judged, at the most."""
MAX_CANDIDATES = 12
"""Weight-like variables searched for the weights, at the most."""
MAX_GROUPS = 300
"""Sets of variables tried as the weights, at the most (earliest seen first)."""
SAMPLE_SHAPES = ((1, FEATURES), (FEATURES,), (FEATURES, 1))
"""One input sample (or a layer of width one the lab never has): never a weight."""
LAB_ACTIVATIONS = (("sigmoid", "sigmoid"),)

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    State = dict[str, np.ndarray]


@dataclass
class ObservedStep:
    """One iteration of the loop: its batch (as rows), the weights before and after it (in
    the reference's orientation)."""

    X: np.ndarray
    Y: np.ndarray
    weights: list[np.ndarray]
    biases: list[np.ndarray] | None
    applied_w: list[np.ndarray]
    """``before - after`` per layer: the loop's own learning rate times its gradient."""
    applied_b: list[np.ndarray] | None


@dataclass
class ObservedLoop:
    """What watching the loop showed."""

    frame: str
    layout: Layout
    steps: list[ObservedStep] = field(default_factory=list)
    per_sample: bool = False

    def describe(self) -> str:
        kind = "one sample per step" if self.per_sample else \
            f"{len(self.steps[0].X)} samples per step" if self.steps else ""
        widths = "-".join(str(d) for d in self.layout.dims)
        where = "at your program's top level" if self.frame.startswith("<") else \
            f"in {self.frame}()"
        return (f"the loop {where} with the weights {', '.join(self.layout.paths)} "
                f"(a {widths} network, {self.layout.activations}; {kind})")


def observe(trace: Mapping[str, Any],
            activations: Sequence[tuple[str, str]] = LAB_ACTIVATIONS) -> ObservedLoop | None:
    """The training loop the trace watched stepping, or None when no frame's variables show
    one (a loop whose weights live on an object, or that calls none of the student's
    functions, is not watched)."""
    snapshots = list(trace.get("variables") or [])
    frames: dict[str, list[dict[str, Any]]] = {}
    for snap in snapshots:
        frames.setdefault(snap["frame"], []).append(snap)
    for frame in sorted(frames, key=lambda f: -len(frames[f])):
        found = _observe_frame(frame, _states(frames[frame]), activations,
                               crashed=bool(frames[frame][-1].get("raised")))
        if found is not None:
            return found
    return None


def _states(snapshots: Sequence[Mapping[str, Any]]) -> list[State]:
    """The frame's variables after each snapshot (each records only what changed)."""
    current: State = {}
    states = []
    for snap in snapshots:
        current = dict(current)
        for name in snap.get("gone", []):
            current.pop(name, None)
        for name, desc in snap.get("set", {}).items():
            current[name] = np.asarray(desc["values"], dtype=float).reshape(desc["shape"])
        states.append(current)
    return states


def _observe_frame(frame: str, states: list[State], activations: Sequence[tuple[str, str]],
                   crashed: bool = False) -> ObservedLoop | None:
    if len(states) < 3:
        return None
    # weights whose every step is confirmed first; else those whose first steps are (a
    # network that changes how it computes after its first step is judged on those)
    for whole in (True, False):
        for names in itertools.islice(_weight_candidates(states), MAX_GROUPS):
            for layout in _layouts(names, states):
                steps = _steps(states, layout, crashed)
                if not steps:
                    continue
                loop = _confirmed(frame, layout, states, steps, activations, whole)
                if loop is not None:
                    return loop
    return None


def _is_input(a: np.ndarray) -> bool:
    return (a.ndim == 2 and (a.shape[1] == FEATURES or a.shape[0] == FEATURES)) or \
        a.shape == (FEATURES,)


def _is_labels(a: np.ndarray) -> bool:
    return a.size > 0 and bool(np.all((a == 0) | (a == 1)))


def _weight_candidates(states: list[State]) -> Iterable[list[str]]:
    """Sets of variable names that may be the weights, most likely first: the weight-shaped
    variables the frame held before its first update (a gradient is made inside the loop, the
    weights before it), then the largest subsets of them."""
    first_seen: dict[str, int] = {}
    for k, state in enumerate(states):
        for name in state:
            first_seen.setdefault(name, k)
    changes = {name: sum(1 for a, b in zip(states, states[1:]) if name in a and name in b
                         and not np.array_equal(a[name], b[name])) for name in first_seen}
    last = states[-1]
    # the data set: an input-shaped variable that never changes, (N, 2) or (2, N)
    # (one with 0/1 labels as many as its samples: a frozen first layer is (2, h) too)
    # (a set of labels has both classes: an array of zeros is more likely an initial value)
    label_sizes = {last[n].size for n in last if _is_labels(last[n])
                   and np.any(last[n] == 0) and np.any(last[n] == 1)}
    data = [last[n] for n in last if changes[n] == 0 and last[n].ndim == 2
            and _is_input(last[n])]
    batch_rows = {a.shape[0] if a.shape[1] == FEATURES else a.shape[1] for a in data
                  if (a.shape[1] == FEATURES and a.shape[0] > FEATURES)
                  or a.shape[1] in label_sizes} - {1}
    # a variable that changes but is 0/1 whenever seen holds labels, never a weight (a weight
    # is not 0/1 once updated): the current sample's label, ``y = Y[i:i + 1]``
    labels = {name for name in first_seen if changes[name] and all(
        _is_labels(s[name]) for s in states if name in s)}
    # zeros that never change are a buffer the loop has not filled yet (``z1 = np.zeros(...)``
    # before the loop), or biases it never updates: either way the network computes as if
    # there were none, and a network without biases is what the grader follows
    unused = {name for name in last if not changes[name] and not np.any(last[name])}
    candidates = sorted(
        (name for name in last if last[name].ndim in (1, 2) and name not in labels | unused
         and not _gradient_named(name)
         and last[name].shape not in SAMPLE_SHAPES
         and not (last[name].shape and last[name].shape[0] in batch_rows)
         and not (last[name].ndim == 2 and last[name].shape[-1] in batch_rows)),
        key=lambda name: (first_seen[name], name))[:MAX_CANDIDATES]
    # the weights were there before the loop: the variables first seen earliest first, then
    # with those seen next, and so on (a gradient or an activation appears inside the loop)
    waves = sorted({first_seen[name] for name in candidates})
    tried: set[tuple[str, ...]] = set()
    for wave in waves:
        pool = [name for name in candidates if first_seen[name] <= wave]
        for size in range(min(len(pool), 6), 2, -1):
            for group in itertools.combinations(pool, size):
                if group not in tried:
                    tried.add(group)
                    yield list(group)


GRADIENT_NAME = re.compile(r"^(grads?|gradients?|deltas?|d[WwBb]\d*|dL\w*|g[WwBb]\d*)$")
"""``W[0].grad``, ``dW1``: a gradient kept beside its weight, never a weight nor the batch (a
zero gradient before the first backward looks like a bias nobody has updated yet)."""


def _gradient_named(name: str) -> bool:
    return bool(GRADIENT_NAME.match(re.split(r"[.\]\[]", name.rstrip("]"))[-1]))


def _layouts(names: list[str], states: list[State]) -> list[Layout]:
    last = states[-1]
    params = [(name, last[name].shape) for name in names]
    return [layout for dims in candidate_dims(params, LAB_DIMS)
            for layout in candidate_layouts(params, dims)][:8]


def _steps(states: list[State], layout: Layout, crashed: bool = False
           ) -> list[tuple[int, int]]:
    """(before, after) state indices of the loop's first iterations: from the last state
    before any weight changes to the state where each has changed once (or where one changes
    again: a weight that never changes is a frozen layer, still a step).  A loop that raised
    (``crashed``) has its variables as it raised for its last state (the tracer snapshots it
    then): a step whose updates all came before a crash computing the loss is whole, even when
    a layer did not change (its gradient is zero on that sample: the first input ``(0, 0)``
    gives the first layer nothing to learn)."""
    names = layout.paths
    present = [k for k, s in enumerate(states) if all(n in s for n in names)]
    if not present:
        return []
    steps: list[tuple[int, int]] = []
    start: int | None = None
    pending = set(names)
    for k in range(present[0] + 1, len(states)):
        if not all(n in states[k] for n in names):
            break
        changed = {n for n in names if not np.array_equal(states[k][n], states[k - 1][n])}
        if not changed:
            continue
        if start is not None and changed - pending:  # a new iteration began
            steps.append((start, k - 1))
            start, pending = None, set(names)
        if start is None:
            start = k - 1
        pending -= changed
        if not pending:
            steps.append((start, k))
            start, pending = None, set(names)
        if len(steps) > MAX_STEPS:
            break
    else:
        if crashed and start is not None:
            steps.append((start, len(states) - 1))
    return steps[:MAX_STEPS + 1]


def _confirmed(frame: str, layout: Layout, states: list[State],
               steps: list[tuple[int, int]], pairs: Sequence[tuple[str, str]],
               whole: bool = True) -> ObservedLoop | None:
    """The loop, when the reference forward pass on each step's weights and batch gives a
    prediction the loop computed in that iteration (under some activations); ``whole``: every
    step must, else the steps up to the first that does not."""
    observed: list[ObservedStep] = []
    activations = None
    indexed = False
    previous = 0
    for before, after in steps:
        # the iteration's prediction is made from the weights before it, so it shows by the
        # first change of a parameter (a "bias" changing earlier is the forward pass's buffer)
        window = range(previous, before + 2)
        previous = after
        batch = _batch(states, layout.paths, before)
        if batch is None:
            continue
        X, Y, cols = batch
        arrays_before = [states[before][n] for n in layout.paths]
        arrays_after = [states[after][n] for n in layout.paths]
        weights, biases = layout.to_reference(arrays_before)
        if activations is None:
            activations = _activations(weights, biases, X, states, range(before + 2), pairs)
            if activations is None and len(X) > 1:
                indexed = True
                activations = next((pair for pair in pairs if _predicted_row(
                    weights, biases, X, states, window, pair) is not None), None)
            if activations is None:
                return None
        elif not indexed and _activations(weights, biases, X, states, window,
                                          [activations]) is None:
            # each step predicts from the weights before it, or these are not the weights (a
            # buffer the forward pass fills, ``z1 = a0 @ w1``, is no bias)
            if whole:
                return None
            break
        if indexed:  # a loop over ``x[i]``: the row whose prediction this iteration wrote
            row = _predicted_row(weights, biases, X, states, window, activations)
            if row is None:
                continue
            X, Y = X[row:row + 1], Y[row:row + 1]
        applied = [b - a for b, a in zip(arrays_before, arrays_after)]
        applied_w, applied_b = layout.to_reference(applied)
        observed.append(ObservedStep(X, Y, weights, biases, applied_w, applied_b))
    if not observed or activations is None:
        return None
    found = dataclasses.replace(layout, hidden=activations[0], output=activations[1])
    return ObservedLoop(frame, found, observed[:MAX_STEPS],
                        per_sample=all(len(s.X) == 1 for s in observed))


def _batch(states: list[State], weights: Sequence[str], before: int
           ) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """The inputs and labels of the iteration ending at state ``before``: the input-shaped
    variable set most recently (a per-sample loop's current sample, else the data set), and
    the 0/1 labels with as many samples, set nearest to it; a sample without its own label
    variable takes its row's label from the data set."""
    state = states[before]

    def set_at(name: str) -> int:
        for k in range(before, -1, -1):
            if name not in states[k]:
                return k + 1
            if k and (name not in states[k - 1]
                      or not np.array_equal(states[k - 1][name], states[k][name])):
                return k
        return 0

    inputs = sorted((n for n, a in state.items() if n not in weights and _is_input(a)
                     and a.shape != (FEATURES, 1) and not _gradient_named(n)),
                    key=lambda n: (-set_at(n), state[n].size))  # a loop's sample, then data
    # a copy of the batch kept later (``self.a = [x]`` in the forward pass) stands for the
    # variable it copies, set with its labels
    inputs = [min((o for o in inputs if state[o].shape == state[n].shape
                   and np.array_equal(state[o], state[n])), key=set_at) for n in inputs]
    for name in dict.fromkeys(inputs):
        x = state[name]
        cols = x.ndim == 2 and x.shape[0] == FEATURES and x.shape[1] != FEATURES
        rows = x.reshape(1, -1) if x.ndim == 1 else (x.T if cols else x)
        # the labels set with the inputs (``x, y = X[i], Y[i]``; ``X, Y = data``), not a
        # thresholded prediction made later in the iteration (``pred = out > 0.5``)
        labels = sorted((n for n, a in state.items() if n != name and n not in weights
                         and _is_labels(a) and a.size == len(rows) and not _gradient_named(n)),
                        key=lambda n: (abs(set_at(n) - set_at(name)), -set_at(n)))
        if labels:
            return rows, state[labels[0]].reshape(len(rows), 1), cols
        for full_name, full in state.items():  # the sample's row in the data set
            data = full.T if full.ndim == 2 and full.shape[0] == FEATURES else full
            if full_name == name or data.ndim != 2 or data.shape[1] != FEATURES:
                continue
            match = [i for i in range(len(data)) if np.allclose(data[i], rows[0])]
            ys = [a.reshape(-1) for n, a in state.items()
                  if n not in weights and _is_labels(a) and a.size == len(data)]
            if len(rows) == 1 and match and ys:
                return rows, ys[0][match[:1]].reshape(1, 1), cols
    return None


def _predicted_row(weights: list[np.ndarray], biases: list[np.ndarray] | None, X: np.ndarray,
                   states: list[State], window: range, pair: tuple[str, str]) -> int | None:
    """The data set's row whose prediction (under the activations ``pair``) the loop wrote
    into one element of an array in ``window``: a loop that indexes the data set
    (``y[i] = sigmoid(z2[i] @ w3)``) keeps no variable for its current sample."""
    try:
        with np.errstate(all="ignore"):
            expected, _ = reference_forward(weights, X, pair[0], pair[1], biases)
    except ValueError:
        return None
    flat = expected.reshape(-1)
    if flat.size != len(X) or not np.all(np.isfinite(flat)) or np.ptp(flat) < DISTINCT:
        return None
    for k in window:
        if k >= len(states):
            break
        for name, a in states[k].items():
            if a.size != len(X):
                continue
            old = states[k - 1].get(name) if k else None
            new = a.reshape(-1)
            fresh = np.arange(new.size) if old is None or old.size != new.size else \
                np.flatnonzero(old.reshape(-1) != new)
            rows = [int(j) for j in fresh
                    if np.isclose(new[j], flat[j], atol=MATCH_TOLERANCE, rtol=MATCH_TOLERANCE)
                    and min(abs(flat[j]), abs(flat[j] - 0.5)) >= DISTINCT]
            if len(rows) == 1:
                return rows[0]
    return None


def _activations(weights: list[np.ndarray], biases: list[np.ndarray] | None, X: np.ndarray,
                 states: list[State], window: Iterable[int],
                 pairs: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """The (hidden, output) activations under which the reference forward pass reproduces a
    prediction the loop computed in its first iteration."""
    seen = [a for k in window for a in states[k].values()
            if a.size == len(X) and a.ndim <= 2]
    matching = []
    for hidden, output in pairs:
        try:
            with np.errstate(all="ignore"):
                expected, _ = reference_forward(weights, X, hidden, output, biases)
        except ValueError:  # the batch found does not fit these weights: not this loop
            return None
        flat = expected.reshape(-1)
        if not np.all(np.isfinite(flat)) or (np.ptp(flat) < DISTINCT if flat.size > 1 else
                                             min(abs(flat[0]), abs(flat[0] - 0.5)) < DISTINCT):
            continue  # outputs all alike (or 0, or sigmoid(0)) match too much: no evidence
        if any(np.allclose(a.reshape(-1), flat, atol=MATCH_TOLERANCE, rtol=MATCH_TOLERANCE)
               for a in seen):
            matching.append((hidden, output))
    # positive outputs cannot tell a ReLU output from none: a loop that applies its one
    # activation to every layer (``A3 = Z3.activate(act)``) is the likelier of the two
    return next((pair for pair in matching if pair[0] == pair[1]),
                matching[0] if matching else None)
