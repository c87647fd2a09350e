"""Map a student's parameter arrays onto the reference network's layers.

Students store the same network in many ways: a list ``weights`` of ``(in, out)`` matrices,
``W1..W3`` and ``b1..b3``, matrices stored transposed ``(out, in)``, a bias folded into an
``(in + 1, out)`` matrix, layer objects.  The interface probe reports the parameter arrays
(paths and shapes, in the order found); this module proposes every assignment of them to the
reference layers that the shapes allow, most plausible first.  Shapes alone cannot settle
everything (a 3x3 hidden matrix may or may not be transposed; a folded bias may be the first
or the last row), so the grader confirms a candidate by comparing the student's forward pass
with the reference's on the same weights (see :mod:`grader.checks.forward`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from reference.deferred import np

if TYPE_CHECKING:  # NumPy is imported when first used: see reference.deferred
    Array = np.ndarray

MAX_CANDIDATES = 32


@dataclass(frozen=True)
class Slot:
    """One student array's place in the reference network."""

    path: str
    shape: tuple[int, ...]
    layer: int
    role: str
    """``weight``, ``bias``, or ``folded`` (weight with its bias as an extra row)."""
    transposed: bool = False
    bias_first: bool = False
    """For ``folded``: the bias is the first row (else the last)."""


@dataclass(frozen=True)
class Layout:
    """A complete assignment: every student array to a layer role."""

    dims: tuple[int, ...]
    slots: tuple[Slot, ...]
    hidden: str = "sigmoid"
    """The hidden layers' activation, found by matching the reference forward pass (the
    template's ``NN(dim, activation=sigmoid)`` lets a student pass another)."""
    output: str = "sigmoid"

    @property
    def activations(self) -> str:
        """``relu hidden layers, sigmoid output``: for messages, when not the lab's sigmoid."""
        return f"{self.hidden} hidden layers, {self.output} output"

    @property
    def has_bias(self) -> bool:
        return any(s.role in ("bias", "folded") for s in self.slots)

    @property
    def absent_biases(self) -> list[int]:
        """The layers without a bias in a network that has biases elsewhere (a bias on the
        hidden layers only): the reference holds a zero there, which nothing updates."""
        if not self.has_bias:
            return []
        present = {s.layer for s in self.slots if s.role in ("bias", "folded")}
        return [layer for layer in range(len(self.dims) - 1) if layer not in present]

    @property
    def paths(self) -> list[str]:
        return [s.path for s in self.slots]

    def describe(self) -> str:
        """In words, for the report: how this student stores the network."""
        parts = []
        for s in self.slots:
            what = {"weight": "weights", "bias": "bias", "folded": "weights with bias row"}[s.role]
            extra = " (stored transposed)" if s.transposed else ""
            if s.role == "folded":
                extra += " (bias first)" if s.bias_first else " (bias last)"
            parts.append(f"{s.path} = layer {s.layer + 1} {what}{extra}")
        return "; ".join(parts)

    def weight_names(self) -> list[str]:
        """The student's name for each layer's weight array (for messages)."""
        names = {}
        for s in self.slots:
            if s.role in ("weight", "folded"):
                names[s.layer] = s.path
        return [names[i] for i in range(len(self.dims) - 1)]

    def to_student(self, weights: Sequence[Array], biases: Sequence[Array] | None) -> list[Array]:
        """The arrays to write into the student's parameters, in ``slots`` order."""
        out = []
        for s in self.slots:
            w = np.asarray(weights[s.layer], dtype=float)
            b = np.zeros((1, w.shape[1])) if biases is None else \
                np.asarray(biases[s.layer], dtype=float).reshape(1, -1)
            if s.role == "weight":
                value = w.reshape(s.shape) if len(s.shape) == 1 else w
            elif s.role == "bias":
                out.append(b.reshape(s.shape))
                continue
            else:
                value = np.vstack([b, w] if s.bias_first else [w, b])
            out.append(value.T if s.transposed else value)
        return out

    def to_reference(self, arrays: Sequence[Array]) -> tuple[list[Array], list[Array] | None]:
        """The student's arrays (or changes of them) as reference weights and bias rows."""
        n = len(self.dims) - 1
        weights: list[Array | None] = [None] * n
        biases: list[Array | None] = [None] * n
        for s, a in zip(self.slots, arrays):
            a = np.asarray(a, dtype=float)
            if s.role == "bias":
                biases[s.layer] = a.reshape(1, -1)
                continue
            a = a.T if s.transposed else a.reshape(-1, 1) if a.ndim == 1 else a
            if s.role == "folded":
                weights[s.layer] = a[1:] if s.bias_first else a[:-1]
                biases[s.layer] = (a[:1] if s.bias_first else a[-1:]).reshape(1, -1)
            else:
                weights[s.layer] = a
        if not self.has_bias:
            return list(weights), None  # type: ignore[arg-type]
        fan_outs = self.dims[1:]
        return list(weights), [b if b is not None else np.zeros((1, fo))  # type: ignore[misc]
                               for b, fo in zip(biases, fan_outs)]


def _options(path: str, shape: tuple[int, ...], layer: int, fan_in: int, fan_out: int,
             vectors: bool = True) -> list[Slot]:
    options = []
    if len(shape) == 2:
        if shape == (fan_in, fan_out):
            options.append(Slot(path, shape, layer, "weight"))
        if shape == (fan_out, fan_in):
            options.append(Slot(path, shape, layer, "weight", transposed=True))
        if shape == (fan_in + 1, fan_out):
            options += [Slot(path, shape, layer, "folded"),
                        Slot(path, shape, layer, "folded", bias_first=True)]
        if shape == (fan_out, fan_in + 1):
            options += [Slot(path, shape, layer, "folded", transposed=True),
                        Slot(path, shape, layer, "folded", transposed=True, bias_first=True)]
    if vectors and shape == (fan_in,) and fan_out == 1:  # one output neuron's weights
        options.append(Slot(path, shape, layer, "weight"))
    if shape in ((fan_out,), (1, fan_out), (fan_out, 1)) and not (
            len(shape) == 2 and shape in ((fan_in, fan_out), (fan_out, fan_in))):
        options.append(Slot(path, shape, layer, "bias"))
    return options


def _plausibility(layout: Layout) -> tuple:
    """Sort key: consistent orientation, bias last, student order matching layer order."""
    weights = [s for s in layout.slots if s.role != "bias"]
    orientations = {s.transposed for s in weights}
    non_square = [s for s in weights if len(s.shape) == 2 and s.shape[0] != s.shape[1]]
    majority = (sum(s.transposed for s in non_square) * 2 > len(non_square)) if non_square \
        else False
    disagree = sum(s.transposed != majority for s in weights)
    order = [s.layer for s in weights]
    bias_order = [s.layer for s in layout.slots if s.role == "bias"]
    return (len(orientations) > 1, disagree, sum(s.bias_first for s in weights),
            order != sorted(order), bias_order != sorted(bias_order))


def candidate_layouts(params: Sequence[tuple[str, Sequence[int]]], dims: Sequence[int]
                      ) -> list[Layout]:
    """Every way the arrays fit the layers, most plausible first (at most a few dozen).

    Each layer gets exactly one weight (plain, transposed or folded with its bias) and at most
    one separate bias; every array must be used exactly once.
    """
    dims = tuple(int(d) for d in dims)
    n_layers = len(dims) - 1
    params = [(p, tuple(int(x) for x in s)) for p, s in params]
    per_param = []
    # a vector is the output neuron's weights only when no matrix can be: else it is a bias
    last_in = dims[-2]
    vectors = dims[-1] == 1 and not any(
        shape in ((last_in, 1), (1, last_in), (last_in + 1, 1), (1, last_in + 1))
        for _, shape in params)
    for path, shape in params:
        options = [o for layer in range(n_layers)
                   for o in _options(path, shape, layer, dims[layer], dims[layer + 1], vectors)]
        if not options:
            return []
        per_param.append(options)
    layouts = []
    for combo in itertools.product(*per_param):
        weights = [s.layer for s in combo if s.role != "bias"]
        biases = [s.layer for s in combo if s.role == "bias"]
        folded = {s.layer for s in combo if s.role == "folded"}
        if sorted(weights) != list(range(n_layers)) or len(set(biases)) != len(biases) \
                or folded & set(biases):
            continue
        slots = tuple(combo)
        layouts.append(Layout(dims, slots))
        if len(layouts) >= MAX_CANDIDATES * 4:
            break
    layouts.sort(key=_plausibility)
    return layouts[:MAX_CANDIDATES]


def candidate_dims(params: Sequence[tuple[str, Sequence[int]]], dims: Sequence[int]
                   ) -> list[tuple[int, ...]]:
    """The architectures the arrays could be, the lab's ``dims`` first: the same inputs,
    outputs and number of layers, hidden widths read off the arrays' shapes (the lab asks for
    two hidden layers; their widths are the student's choice)."""
    dims = tuple(int(d) for d in dims)
    sizes = sorted({int(d) for _, shape in params for d in shape} |
                   {int(d) - 1 for _, shape in params for d in shape if int(d) > 1})
    hidden = len(dims) - 2
    options = [dims] + [(dims[0], *widths, dims[-1])
                        for widths in itertools.product(sizes, repeat=hidden)
                        if all(w >= 1 for w in widths)]
    seen: list[tuple[int, ...]] = []
    for option in options:
        if option not in seen and candidate_layouts(params, option):
            seen.append(option)
    return seen
