"""Probes: exercise the student's network inside the sandbox and report raw observations.

Every probe answers with measurements -- arrays, shapes, timings, exceptions -- and never with
a verdict: the grader compares them with the reference and decides.  The probes reach the
student's network through an *adapter*, a small dict the grader builds from the ``interface``
probe's observations::

    {"class": "NN", "ctor": {"args": [], "kwargs": {"dim": [2, 3, 3, 1]}},
     "forward": "predict", "backward": "backprop", "backward_lr": False,
     "update": "update", "update_lr": True, "lr_attr": None, "input": "rows",
     "params": ["weights[0]", "weights[1]", "weights[2]"]}

``params`` are *paths* from the instance to each parameter array (``weights[0]``, ``W1``,
``layers[1].weight``, ``parameters['W1']``), read and written in place.

Standard library and NumPy only; this module runs in the child and never imports the grader.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import time
from typing import Any

import numpy as np

MAX_DEPTH = 3
MAX_ARRAYS = 64
PATH_TOKEN = re.compile(r"\.([A-Za-z_]\w*)|\[(\d+)\]|\['([^']*)'\]|(\[:\])")
"""Path steps: ``.attr``, ``[0]``, ``['key']``, and ``[:]``, every item of a list: the rest
of the path is taken in each (``network[0][:]['weights']``, a layer of per-neuron dicts)."""


class ProbeError(Exception):
    """The probe could not do what the grader asked (not the student's error)."""


# --- parameters by path -----------------------------------------------------------------------

def _children(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return [(f"[{k!r}]", v) for k, v in value.items() if isinstance(k, str)]
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        return [(f".{k}", v) for k, v in attributes.items() if isinstance(k, str)]
    return []


def _reachable(obj: Any) -> Any:
    """Every (path, value) reachable from the instance through attributes, lists and dicts,
    breadth first, at most :data:`MAX_DEPTH` deep, each object entered once."""
    seen: set[int] = {id(obj)}
    frontier: list[tuple[str, Any, int]] = [("", obj, 0)]
    while frontier:
        path, value, depth = frontier.pop(0)
        for step, child in _children(value):
            child_path = path + step
            yield child_path.lstrip("."), child
            if depth < MAX_DEPTH and id(child) not in seen and not callable(child) and \
                    not isinstance(child, (np.ndarray, str, bytes, int, float, bool, type(None))):
                seen.add(id(child))
                frontier.append((child_path, child, depth + 1))


def find_arrays(obj: Any) -> dict[str, np.ndarray]:
    """Every float array reachable from the instance, by path, breadth first and bounded; and
    the matrices a network written in plain Python keeps as lists: a layer of per-neuron dicts
    (``[{"weights": [w1, w2, b]}, ...]``: ``layer[:]['weights']``), or a list of rows."""
    found: dict[str, np.ndarray] = {}
    seen: set[int] = set()
    for path, child in _reachable(obj):
        if isinstance(child, np.ndarray) and child.dtype.kind == "f" and child.size > 0 \
                and id(child) not in seen:
            found[path] = child
            seen.add(id(child))
        elif type(child) is list and child and id(child) not in seen:
            seen.add(id(child))
            found.update(_list_matrices(path, child))
        if len(found) >= MAX_ARRAYS:
            break
    return found


def _fill(rows: list[Any], new: np.ndarray) -> bool:
    """Write ``new`` into the student's own list (of floats, or of rows of floats) in place;
    False when the shapes differ."""
    if new.ndim == 1 and len(rows) == new.size and not any(type(v) is list for v in rows):
        rows[:] = [float(v) for v in new]
        return True
    if new.ndim == 2 and len(rows) == len(new) and all(
            type(row) is list and len(row) == new.shape[1] for row in rows):
        for row, values in zip(rows, new):
            row[:] = [float(v) for v in values]
        return True
    return False


def _numbers(value: Any) -> bool:
    return type(value) is list and bool(value) and all(
        type(v) in (float, int) or isinstance(v, np.floating) for v in value) and any(
        type(v) is float or isinstance(v, np.floating) for v in value)


def _list_matrices(path: str, items: list[Any]) -> dict[str, np.ndarray]:
    """The matrices a list holds as plain Python: rows of floats of one length, or dicts
    sharing a key whose values are such rows (or single floats: a neuron's output)."""
    if all(_numbers(row) for row in items) and len({len(row) for row in items}) == 1:
        return {path: np.array(items, dtype=float)}
    if not all(type(item) is dict for item in items):
        return {}
    shared = set(items[0]).intersection(*items[1:])
    found = {}
    for key in sorted(k for k in shared if type(k) is str):
        values = [item[key] for item in items]
        rows = all(_numbers(v) for v in values) and len({len(v) for v in values}) == 1
        if rows or all(type(v) is float or isinstance(v, np.floating) for v in values):
            found[f"{path}[:]['{key}']"] = np.array(values, dtype=float)
    return found


RATE_NAME = re.compile(r"(^|_)(lr|learn(ing)?_?rate|l_?rate|lr_?rate|eta|step_?size)($|_)|"
                       r"^(alpha|rate)$", re.IGNORECASE)
"""A parameter or attribute named like a learning rate (``beta``, ``decay_rate`` are not)."""


NOT_RATE_NAME = re.compile(r"decay|momentum|beta|gamma|min|max|schedule|factor|init",
                           re.IGNORECASE)
"""Names of other numbers beside a rate: ``lr_decay``, ``lr_min``, ``init_lr``."""


def is_rate_name(name: str) -> bool:
    return bool(RATE_NAME.search(name)) and not NOT_RATE_NAME.search(name)


def find_rates(obj: Any) -> list[str]:
    """The paths of the learning rates a network keeps for itself: numbers named like a rate on
    the network or its parts (``lr``, ``optimizer.lr``, ``layers[0].learning_rate``).  The
    grader sets every one of them to its own rate before a step, as it passes a rate to a
    step that takes one."""
    found = []
    for path, child in _reachable(obj):
        name = re.split(r"[.\[]", path)[-1].strip("'] ")
        if isinstance(child, (int, float, np.floating)) and not isinstance(child, bool) and \
                0 < float(child) <= 10 and is_rate_name(name):
            found.append(path)
    return found


def set_number(obj: Any, path: str, value: float) -> None:
    """Write a number (a learning rate) at ``path``."""
    steps = _parse(path)
    parent = obj
    for kind, key in steps[:-1]:
        parent = _get(parent, kind, key)
    kind, key = steps[-1]
    if kind == "attr":
        setattr(parent, key, value)
    else:
        parent[key] = value


def _parse(path: str) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = []
    text = path if path.startswith(("[", ".")) else "." + path
    position = 0
    for match in PATH_TOKEN.finditer(text):
        if match.start() != position:
            raise ProbeError(f"bad parameter path {path!r}")
        attr, index, key, every = match.groups()
        steps.append(("attr", attr) if attr else ("index", int(index)) if index is not None
                     else ("every", None) if every else ("key", key))
        position = match.end()
    if position != len(text):
        raise ProbeError(f"bad parameter path {path!r}")
    return steps


def _get(obj: Any, kind: str, key: Any) -> Any:
    return getattr(obj, key) if kind == "attr" else obj[key]


_NO_DEFAULT = object()


def method_at(obj: Any, path: str, default: Any = _NO_DEFAULT) -> Any:
    """The method at ``path`` from the object: ``forward``, or a layer's, ``layer1.forward``,
    ``layers[0].forward``; ``default`` when there is none (if given)."""
    try:
        return get_param(obj, path)
    except (AttributeError, LookupError, TypeError, ProbeError):
        if default is _NO_DEFAULT:
            raise
        return default


def get_param(obj: Any, path: str) -> np.ndarray:
    return _follow(obj, _parse(path))


def _follow(value: Any, steps: list[tuple[str, Any]]) -> Any:
    for n, (kind, key) in enumerate(steps):
        if kind == "every":  # a matrix made of the items' rows (a copy)
            return np.array([_follow(item, steps[n + 1:]) for item in value], dtype=float)
        value = _get(value, kind, key)
    return value


def set_param(obj: Any, path: str, new: np.ndarray) -> None:
    """Write ``new`` into the parameter at ``path``: in place if the shapes allow it."""
    _write(obj, _parse(path), np.asarray(new, dtype=float))


def _write(obj: Any, steps: list[tuple[str, Any]], new: np.ndarray) -> None:
    parent = obj
    for n, (kind, key) in enumerate(steps[:-1]):
        if kind == "every":  # row i of the matrix into item i, in the student's own lists
            for item, row in zip(parent, new):
                _write(item, steps[n + 1:], row)
            return
        parent = _get(parent, kind, key)
    kind, key = steps[-1]
    current = _get(parent, kind, key)
    if isinstance(current, list) and _fill(current, new):
        return
    if isinstance(current, np.ndarray) and current.shape == new.shape and current.flags.writeable:
        current[...] = new
    elif kind == "attr":
        setattr(parent, key, new.copy())
    else:
        parent[key] = new.copy()


def read_params(obj: Any, paths: list[str]) -> list[np.ndarray]:
    return [np.array(get_param(obj, p), dtype=float, copy=True) for p in paths]


# --- calling the student's network --------------------------------------------------------------

def as_output(value: Any) -> np.ndarray:
    """The prediction as a float array.  Of a tuple, the smallest of its arrays (the last of
    equals): the output layer is narrower than the hidden ones, whether forward returns ``(y,
    cache)``, ``(Z1, Z2, Z3)`` or ``(z1, a1, z2, a2, z3, a3)``; a tuple without arrays gives
    its first array-like item."""
    if isinstance(value, tuple) and value:
        arrays = [(v.size, -i) for i, v in enumerate(value) if isinstance(v, np.ndarray)
                  and v.ndim >= 1 and v.size > 0 and v.dtype.kind in "fiu"]
        if arrays:
            value = value[-min(arrays)[1]]
        elif not np.isscalar(value[0]):
            value = value[0]
    return np.asarray(value, dtype=float)


def reseed(seed: int | None) -> None:
    """Make the student's own random draws (an unseeded initialisation, a shuffle) the same on
    every run, whatever ran before this construction: see ``seeding.py``."""
    if seed is None:
        return
    import seeding

    seeding.install(seed)
    seeding.reseed(seed)


def loss_gradient(role: dict[str, Any], output: Any, labels: Any) -> np.ndarray:
    """The loss gradient the program handed its backward pass (as ``grader/lossgrad.py``
    recognised it from the trace), computed on the grader's batch."""
    p = np.asarray(output)
    y = np.asarray(labels, dtype=float)
    y = y.reshape(p.shape) if y.size == p.size else y
    g = p - y
    if role.get("form") == "bce":
        q = np.clip(p, 1e-12, 1 - 1e-12)
        g = g / (q * (1 - q))
    scale = float(role.get("scale", 1.0))
    if role.get("mean"):
        scale /= max(int(y.size), 1)
    return (scale * g).astype(p.dtype if p.dtype.kind == "f" else float)


PROCEDURE_CLASS = "__labgrade_program__"
"""The name of the object that plays a program of functions as a network (the parent's
``grader/learning.py`` names it the same)."""


def play_procedure(namespace: dict[str, Any], args: dict[str, Any]) -> None:
    """For a program without a network object, define the class that plays one: it holds the
    weights in ``weights`` (made by the program's own initialising function, or drawn at the
    scale of its recorded shapes) and has the student's step functions as its methods."""
    spec = args.get("procedure") or (args.get("adapter") or {}).get("procedure")
    if not spec:
        return
    owner = spec.get("object")  # methods passing the weights around: the object built again

    def function(name: str) -> Any:
        if owner is None:
            return namespace.get(name)
        return getattr(Program.owner, name, None)

    class Program:
        owner: Any = None

        def __init__(self) -> None:
            if owner is not None:
                Program.owner = construct(namespace[owner["class"]],
                                          {**owner, "described": True}, namespace)[0]
                self.owner = Program.owner  # where the grader finds the rate it keeps
                for name in spec["functions"]:
                    setattr(self, name, function(name))
            init = spec.get("init")
            if init and callable(function(init["function"])):
                call_args, call_kwargs = constructor_call({**init, "described": True}, namespace)
                made = function(init["function"])(*call_args, **call_kwargs)
                weights: list[Any] = [None] * len(spec["shapes"])
                for item, k in init["items"].items():
                    weights[int(k)] = _as_weight(made if int(item) == -1 else made[int(item)])
                self.weights = weights
            else:  # drawn inline by the program: the same shapes and spread, drawn again
                scales = list(spec.get("scales") or []) + [None] * len(spec["shapes"])
                self.weights = [_drawn(shape, scale, namespace)
                                for shape, scale in zip(spec["shapes"], scales)]

    for name in spec["functions"]:
        if owner is None and name in namespace:
            setattr(Program, name, staticmethod(namespace[name]))
    Program.__name__ = Program.__qualname__ = "program"
    namespace[PROCEDURE_CLASS] = Program


def _as_weight(value: Any) -> Any:
    """A weight the program's initialiser made: a float array, or a dict of them (with its
    other items kept as they are)."""
    if isinstance(value, dict):
        return {k: np.array(v, dtype=float) if isinstance(v, np.ndarray) else v
                for k, v in value.items()}
    return np.array(value, dtype=float)


def _drawn(shape: Any, scale: Any, namespace: dict[str, Any]) -> Any:
    """A weight drawn again at the program's recorded shape and spread (1/sqrt(rows) when
    unknown); a dict of weights item by item, its other items as recorded."""
    if isinstance(shape, dict):
        scales = scale if isinstance(scale, dict) else {}
        drawn: dict[str, Any] = {k: _drawn(s, scales.get(k), namespace)
                                 for k, s in shape.get("arrays", {}).items()}
        for k, desc in shape.get("values", {}).items():
            try:
                drawn[k] = rebuild(desc, namespace)
            except ProbeError:
                drawn[k] = None
        return drawn
    return np.random.normal(0.0, scale if scale else 1.0 / np.sqrt(max(1, shape[0])), shape)


def rebuild(desc: dict[str, Any], namespace: dict[str, Any],
            built: dict[Any, Any] | None = None) -> Any:
    """A value the student's program passed, from the tracer's descriptor (see
    ``grader/learning.py`` and ``grader/rebuilding.py``): numbers and literals as they were, a
    namespace as an ``argparse.Namespace``, a function or class by its name in the student's
    module, the student's object built again as the program built it (once per call: ``built``
    keeps those made, so that an object the program passed twice is one object again), lists,
    tuples and dicts of those."""
    kind = desc.get("type")
    if kind == "built":
        built = {} if built is None else built
        if desc.get("object") not in built:
            cls = namespace.get(str(desc.get("class")))
            if not isinstance(cls, type):
                raise ProbeError(f"class {desc.get('class')!r} is not defined")
            args, kwargs = constructor_call({**desc, "described": True}, namespace, built)
            built[desc.get("object")] = cls(*args, **kwargs)
        return built[desc.get("object")]
    if kind == "sequence":
        items = [rebuild(d, namespace, built) for d in desc.get("items", [])]
        return tuple(items) if desc.get("tuple") else items
    if kind == "mapping":
        return {k: rebuild(d, namespace, built) for k, d in desc.get("items", {}).items()}
    if kind in ("number", "literal"):
        value = desc.get("value")
        return tuple(value) if desc.get("tuple") and isinstance(value, list) else value
    if kind == "namespace":
        import argparse

        return argparse.Namespace(**(desc.get("value") or {}))
    if kind == "data":
        return stand_in_data(desc)
    if kind == "held":  # the rebuilt network's own object (its parameter, or itself)
        if built is None or "network" not in built:
            raise ProbeError("an object of the network was passed where no network was built")
        return get_param(built["network"], str(desc["path"])) if desc.get("path") \
            else built["network"]
    if kind in ("function", "class"):
        if desc.get("name") not in namespace:
            raise ProbeError(f"{desc.get('name')!r} is not defined")
        return namespace[desc["name"]]
    raise ProbeError(f"a {kind} argument cannot be passed again")


def constructor_call(ctor: dict[str, Any], namespace: dict[str, Any],
                     built: dict[Any, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
    """The constructor's arguments: as given, or rebuilt from the program's own call."""
    if not ctor.get("described"):
        return list(ctor.get("args", [])), dict(ctor.get("kwargs", {}))
    built = {} if built is None else built
    return ([rebuild(d, namespace, built) for d in ctor.get("args", [])],
            {k: rebuild(d, namespace, built) for k, d in ctor.get("kwargs", {}).items()})


def construct(cls: type, ctor: dict[str, Any], namespace: dict[str, Any]
              ) -> tuple[Any, list[Any], dict[str, Any]]:
    """The network built as the program built it: the constructor call, then the calls that
    built it further before it trained (``net.addLayer(...)``, ``net.setting(...)``), with the
    objects the program passed built again once each; also the constructor's arguments."""
    built: dict[Any, Any] = {}
    args, kwargs = constructor_call(ctor, namespace, built)
    obj = cls(*args, **kwargs)
    for call in ctor.get("setup", []):
        call_args, call_kwargs = constructor_call({**call, "described": True}, namespace, built)
        getattr(obj, call["method"])(*call_args, **call_kwargs)
    for name, desc in ctor.get("state", {}).items():  # set by its training method, not ours
        if not hasattr(obj, name):
            setattr(obj, name, rebuild(desc, namespace, built))
    return obj, args, kwargs


def companions(network: Any, ctor: dict[str, Any], namespace: dict[str, Any]) -> list[Any]:
    """The objects the program built from the network to train it (an optimizer given its
    parameters), built again from the rebuilt network's own objects."""
    built: dict[Any, Any] = {"network": network}
    made = []
    for spec in ctor.get("companions", []):
        cls = student_class(namespace, str(spec.get("class")), spec.get("module_file"))
        args, kwargs = constructor_call({**spec, "described": True}, namespace, built)
        made.append(cls(*args, **kwargs))
    return made


def student_class(namespace: dict[str, Any], name: str, module_file: str | None) -> type:
    """The student's class ``name``: from the loaded definitions, else from the file that
    defines it (``src/optimizer.py``, which the network's own file never imports), imported
    under a name of its own so that its ``if __name__ == "__main__"`` part does not run."""
    cls = namespace.get(name)
    if isinstance(cls, type):
        return cls
    path = os.path.abspath(module_file) if module_file else ""
    if path.endswith(".py") and os.path.isfile(path):
        for module in list(sys.modules.values()):
            if os.path.abspath(getattr(module, "__file__", None) or "/") == path and \
                    isinstance(getattr(module, name, None), type):
                return getattr(module, name)
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "labgrade_student_" + re.sub(r"\W", "_", module_file or ""), path)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            folder = os.path.dirname(path)
            sys.path.insert(0, folder)  # its own imports of the files beside it
            try:
                spec.loader.exec_module(module)
            finally:
                if folder in sys.path:
                    sys.path.remove(folder)
            found = getattr(module, name, None)
            if isinstance(found, type):
                return found
    raise ProbeError(f"class {name!r} is not defined")


def stand_in_data(desc: dict[str, Any]) -> np.ndarray:
    """For a constructor that takes the training data (``Model(X, y)``): inputs in (0, 1) and
    their labels (x0 > x1), at the recorded shape and dtype, always the same; the network is
    then bound to each batch it steps on (:class:`BoundData`)."""
    shape = [int(d) for d in desc.get("shape") or [1, 2]]
    cols = len(shape) == 2 and shape[-1] != 2 and shape[0] == 2
    n = int(np.prod(shape)) // 2 if desc.get("role") == "x" else int(np.prod(shape))
    X = np.random.default_rng(0).uniform(0.0, 1.0, (n, 2))
    if desc.get("role") == "x":
        return X.T.copy() if cols else X
    labels = (X[:, 0] > X[:, 1]).astype(desc.get("dtype") or float)
    return labels.reshape(shape)


class BoundData:
    """Where a network built with its training data keeps it (``self.X = X``, ``self.y =
    y.T``): the attributes holding the very arrays the constructor was passed, as passed or
    transposed.  Binding a batch writes it there, in the form the program used, so that a
    step that reads ``self.X`` steps on the grader's batch."""

    def __init__(self, obj: Any, ctor: dict[str, Any], args: list[Any],
                 kwargs: dict[str, Any]) -> None:
        self.obj = obj
        self.slots: dict[str, list[tuple[str, bool, dict[str, Any]]]] = {}
        passed = [*zip(ctor.get("args", []), args),
                  *((d, kwargs[k]) for k, d in ctor.get("kwargs", {}).items() if k in kwargs)]
        for desc, value in passed:
            if not isinstance(desc, dict) or desc.get("type") != "data":
                continue
            for attr, held in list(vars(obj).items()):
                if not isinstance(held, np.ndarray):
                    continue
                if held is value or (held.shape == value.shape and np.array_equal(held, value)):
                    self.slots.setdefault(desc["role"], []).append((attr, False, desc))
                elif held.shape == value.T.shape and np.array_equal(held, value.T):
                    self.slots.setdefault(desc["role"], []).append((attr, True, desc))
            if desc.get("role") == "x" and "x" not in self.slots:
                raise ProbeError("your network keeps the training data it was built with in a "
                                 "form the grader cannot replace with its own batch")
        if ctor.get("holds_data") and not self.slots:
            self._find_kept(obj)

    def _find_kept(self, obj: Any) -> None:
        """A network that got its data from a method (``get_data()`` generating it,
        ``set_data(X, y)`` given the grader's stand-in): the attributes holding a batch of the
        lab's inputs, ``(N, 2)`` or ``(2, N)``, and those holding N labels of 0 and 1."""
        arrays = {attr: held for attr, held in list(vars(obj).items())
                  if isinstance(held, np.ndarray) and held.ndim in (1, 2)}
        inputs = {attr: held for attr, held in arrays.items() if held.ndim == 2
                  and held.dtype.kind == "f" and 2 in held.shape and max(held.shape) > 2}
        if not inputs:
            raise ProbeError("your network predicts from data it keeps, but the grader found "
                             "no batch of the lab's inputs on it to replace with its own")
        samples = max(max(held.shape) for held in inputs.values())
        for attr, held in inputs.items():
            if max(held.shape) == samples:
                self.slots.setdefault("x", []).append(
                    (attr, False, {"role": "x", "shape": list(held.shape)}))
        for attr, held in arrays.items():
            if attr not in inputs and held.size == samples and held.dtype.kind in "fiub" and \
                    (held.ndim == 1 or 1 in held.shape) and np.all((held == 0) | (held == 1)):
                self.slots.setdefault("y", []).append(
                    (attr, False, {"role": "y", "shape": list(held.shape),
                                   "dtype": str(held.dtype)}))

    def __bool__(self) -> bool:
        return bool(self.slots)

    def keep_at(self, path: str, shape: list[int]) -> None:
        """Write each batch of inputs at ``path`` too (``weights[0]['X1']``: a dict of weights
        that keeps the batch its backward pass reads)."""
        self.slots.setdefault("x", []).append((path, False, {"role": "x", "shape": shape}))

    def bind(self, role: str, rows: np.ndarray) -> None:
        """Write a batch (``(N, 2)`` inputs or ``(N, 1)`` labels) where the data was kept."""
        for attr, transposed, desc in self.slots.get(role, []):
            if "[" in attr:  # a path into the object's containers
                value = rows.T if len(desc["shape"]) == 2 and desc["shape"][0] == 2 and \
                    desc["shape"][-1] != 2 else rows
                _write(self.obj, _parse(attr), np.asarray(value, dtype=float))
                continue
            shape = desc.get("shape") or []
            if role == "x":
                value = rows.T if len(shape) == 2 and shape[0] == 2 and shape[-1] != 2 else rows
            else:
                value = np.asarray(rows).reshape(-1)
                if len(shape) == 2:
                    value = value.reshape(1, -1) if shape[0] == 1 and shape[-1] != 1 \
                        else value.reshape(-1, 1)
                value = value.astype(desc.get("dtype") or float)
            setattr(self.obj, attr, value.T if transposed else value)


class Network:
    """The student's network behind the adapter: predict, backprop and update in the lab's terms,
    or the training step the student's own program showed (``adapter["step"]``)."""

    def __init__(self, namespace: dict[str, Any], adapter: dict[str, Any],
                 seed: int | None = None) -> None:
        self.adapter = adapter
        reseed(seed)
        cls = namespace.get(adapter["class"])
        if cls is None:
            raise ProbeError(f"class {adapter['class']!r} is not defined")
        self.namespace = namespace
        self.obj, args, kwargs = construct(cls, adapter.get("ctor", {}), namespace)
        self.data = BoundData(self.obj, adapter.get("ctor", {}), args, kwargs)
        for k, shape in enumerate((adapter.get("procedure") or {}).get("shapes") or []):
            for key in (shape.get("data") or []) if isinstance(shape, dict) else []:
                self.data.keep_at(f"weights[{k}][{key!r}]", shape["arrays"][key])
        self.companions = companions(self.obj, adapter.get("ctor", {}), namespace)
        self.companion_rates = [find_rates(c) for c in self.companions]
        self.learned: list[dict[str, Any]] | None = adapter.get("step")
        self.results: dict[int, Any] = {}
        self.last_x: np.ndarray | None = None
        # a predict made through the network's layers names them by path: layer1.forward
        self.predict_calls = int(adapter.get("predict_calls") or 1)
        self.forward = method_at(self.obj, adapter["forward"])
        self.backward = method_at(self.obj, adapter["backward"])
        self.update_fn = method_at(self.obj, adapter["update"]) if adapter.get("update") \
            else None
        self.params = list(adapter.get("params", []))
        self.extra: tuple[Any, ...] = ()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs ``(N, out)``; a network that takes one sample at a time is asked one by one
        (a legitimate style: the lab's loop is per sample)."""
        if len(X) > 1 and (self.adapter.get("single_only") or self._vector_input()):
            return np.vstack([self.predict(X[i:i + 1]).reshape(1, -1) for i in range(len(X))])
        batch = X.T if self.adapter.get("input") == "cols" else X
        if self.data:
            self.data.bind("x", X)
        if self.learned:
            raw = self.learned_predict(batch)
        else:
            raw = self.forward(batch)
        # forwardPass(X) -> (A, cache) with backwardPass(Y, cache): keep what backward needs
        self.extra = tuple(raw[1:]) if isinstance(raw, tuple) else ()
        out = as_output(raw)
        if self.adapter.get("input") == "cols":
            out = out.T
        if out.size % len(X) != 0:
            raise ValueError(f"predict returned {out.size} values for {len(X)} samples")
        return out.reshape(len(X), -1)

    def learned_predict(self, batch: Any) -> Any:
        """The program's own prediction on the batch: its predict call, or the chain of its
        layers' calls, each passed what the one before returned."""
        self.last_x = batch
        self.results = {}
        for j in range(self.predict_calls):
            self.results[j] = self._call(self.learned[j], batch, None, None)
        return self.results[self.predict_calls - 1]

    def bound_predict(self, batch: Any) -> Any:
        """The program's own prediction for a network that keeps its data: the batch written
        where the data was kept first (its arrays are then the batch, not parameters)."""
        rows = np.asarray(batch)
        if rows.ndim == 2 and rows.shape[-1] != 2 and rows.shape[0] == 2:
            rows = rows.T
        self.data.bind("x", rows)
        return self.learned_predict(batch)

    def _vector_input(self) -> bool:
        """The program fed its network one sample at a time, as a vector."""
        return bool(self.learned) and any(
            r.get("role") == "x" and r.get("ndim") == 1 for r in self.learned[0]["args"])

    def _target(self, y: np.ndarray) -> np.ndarray:
        return y.T if self.adapter.get("input") == "cols" else y

    def step(self, y: np.ndarray, lr: float) -> None:
        """Backprop on the last prediction, then apply the update with this learning rate."""
        for path in self.adapter.get("lr_attr") or ():
            set_number(self.obj, path, lr)
        for companion, paths in zip(self.companions, self.companion_rates):
            for path in paths:
                set_number(companion, path, lr)
        if self.data:
            self.data.bind("y", y)
        if self.learned:
            for j, call in enumerate(self.learned[self.predict_calls:],
                                     start=self.predict_calls):
                self.results[j] = self._call(call, self.last_x, self._target(y), lr)
            return
        extra = self.extra if self.adapter.get("backward_cache") else ()
        if self.adapter.get("backward_lr"):
            self.backward(self._target(y), *extra, lr)
        else:
            self.backward(self._target(y), *extra)
        if self.update_fn is not None:
            if self.adapter.get("update_lr"):
                self.update_fn(lr)
            else:
                self.update_fn()

    def _call(self, call: dict[str, Any], x: Any, y: Any, lr: float | None) -> Any:
        """One call of the learned step, each argument supplied by its role."""
        def value(role: dict[str, Any]) -> Any:
            kind = role.get("role")
            if kind in ("x", "y"):  # as the program passed them: one sample may be a vector
                value = x if kind == "x" else y
                # labels as a vector whenever the program passed a vector; an input only when it
                # is one sample (a batch asked of such a network is asked one by one)
                vector = role.get("ndim") == 1 and (kind == "y" or np.size(value) == np.shape(
                    value)[-1 if self.adapter.get("input") != "cols" else 0])
                return np.asarray(value).reshape(-1) if vector else value
            if kind == "lr":
                return lr
            if kind == "param":
                return self.obj.weights[int(role["index"])]
            if kind in ("output", "loss_grad"):
                result = self.results[role["of"]]
                result = result[role["item"]] if "item" in role else result
                return result if kind == "output" else loss_gradient(role, result, y)
            return rebuild(role.get("value") or {}, self.namespace)

        on = call.get("on")
        method = method_at(self.obj if on is None else self.companions[int(on)], call["method"])
        result = method(*[value(r) for r in call.get("args", [])],
                        **{k: value(r) for k, r in call.get("kwargs", {}).items()})
        for item, k in (call.get("returns") or {}).items():  # a function returning new weights
            new = result if int(item) == -1 else result[int(item)]
            held = self.obj.weights[int(k)]
            if isinstance(held, dict):  # a dict of weights: its arrays, written in place
                for key, value in dict(new).items():
                    if isinstance(held.get(key), np.ndarray) and np.shape(value) == \
                            held[key].shape:
                        held[key][...] = value
                    else:
                        held[key] = value
            else:
                held[...] = np.asarray(new, dtype=float)
        return result

    def set_params(self, values: list[np.ndarray]) -> None:
        for path, value in zip(self.params, values):
            set_param(self.obj, path, value)

    def get_params(self) -> list[np.ndarray]:
        return read_params(self.obj, self.params)


def _error(exc: BaseException) -> dict[str, Any]:
    import traceback

    child = os.path.dirname(os.path.abspath(__file__)) + os.sep  # the grader's side
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(child)
              and not f.filename.endswith(("probes.py", "worker.py"))]
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}, line {frames[-1].lineno}" \
        if frames else None
    # the student's own frames only, for the report: the probes' frames mean nothing to them,
    # and their files named as in the submission, not where the sandbox keeps them
    here = os.getcwd() + os.sep
    for frame in frames:
        if frame.filename.startswith(here):
            frame.filename = frame.filename[len(here):]
    shown = "".join(traceback.format_list(frames[-12:]))
    shown += "".join(traceback.format_exception_only(type(exc), exc))
    return {"type": type(exc).__name__, "message": str(exc)[:500], "where": where,
            "line": frames[-1].line if frames else None, "traceback": shown[-4000:]}


# --- the probes -------------------------------------------------------------------------------

def _positional_count(func: Any) -> int | None:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def binds(func: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        inspect.signature(func).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return False
    return True


def _lab_calls(cls: Any, backward: Any, update: Any, dim: Any) -> dict[str, bool]:
    """Whether the class also takes the lab's own calls, ``NN(dim=...)`` (or ``NN(dims)``),
    ``backprop(y)`` and ``update(lr)``, whatever the student's program called: the interface
    is the class's, not the program's."""
    return {"constructor": dim is not None and (binds(cls, dim=dim) or binds(cls, dim)),
            "backward": binds(backward, None),
            "update": update is None or binds(update, None)}


def _takes_rate_at(func: Any, position: int) -> bool:
    """Whether the positional parameter at ``position`` is named like a learning rate: a
    backward with no update method may take the rate after the labels (``backward(y, lr)``),
    but ``backward(y, function_type)`` must not be handed one."""
    try:
        params = [p for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    if position >= len(params):
        return False
    return is_rate_name(params[position].name)


def probe_interface(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Find a class that can play the lab's network and construct it.

    Tries the candidate classes in the grader's order, each constructor form in turn (each
    construction seeded from the grading seed), and names the methods that play the lab's
    roles.  Nothing else of the student's runs here: predict is explored by the ``network``
    probe, in a request of its own, so that a predict that exits or hangs costs the forward
    check, not the class's interface.
    """
    roles = args["roles"]
    attempts: list[dict[str, Any]] = []
    for name in args["candidates"]:
        cls = namespace.get(name)
        if not isinstance(cls, type):
            continue
        for form in args["ctor_forms"]:
            record: dict[str, Any] = {"class": name, "ctor": form}
            attempts.append(record)
            reseed(args.get("seed"))
            try:
                obj, _, _ = construct(cls, form, namespace)
            except Exception as exc:  # noqa: BLE001 -- any student error is an observation
                record["error"] = _error(exc)
                continue
            methods = {role: next((m for m in names if callable(method_at(obj, m, None))),
                                  None)
                       for role, names in roles.items()}
            record["methods"] = methods
            if not methods.get("forward") or not methods.get("backward"):
                record["error"] = {"type": "Interface", "message": "no forward or backward method"}
                continue
            return {"attempts": attempts, "chosen": record}
    return {"attempts": attempts, "chosen": None}


def probe_network(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """How to call the constructed network, and which of its arrays are its parameters
    (:func:`_exercise`), on a fresh instance seeded from the grading seed."""
    methods = args["methods"]
    net = Network(namespace, {"class": args["class"], "ctor": args.get("ctor", {}),
                              "forward": methods["forward"], "backward": methods["backward"],
                              "update": methods.get("update"), "step": args.get("step"),
                              "predict_calls": args.get("predict_calls")},
                  args.get("seed"))
    if net.learned:  # the program's own predict call, with its other arguments
        return _exercise(net.obj, methods, args, net.bound_predict if net.data else
                         net.learned_predict, any(net.companion_rates))
    return _exercise(net.obj, methods, args, net.forward)


def _exercise(obj: Any, methods: dict[str, Any], args: dict[str, Any],
              forward: Any, companion_rate: bool = False) -> dict[str, Any]:
    """How to call this network, and which of its arrays are its parameters.

    No training step runs here: a broken backprop or update (a crash, an exit, a hang) must
    cost only the checks that need it, never the class's interface or its predict.  The
    calling convention comes from the signatures; the parameters are the arrays that predict
    reads (:func:`_read_by_predict`), found at the grader's test values, whatever the
    student's own initialisation.  ``companion_rate``: an object the step calls besides the
    network (its optimizer) keeps a rate, which the grader sets before each step.
    """
    found: dict[str, Any] = {}
    update = method_at(obj, methods["update"]) if methods.get("update") else None
    backward = method_at(obj, methods["backward"])
    # bound methods: ``update(self, lr)`` has one positional parameter, ``update(self)`` none
    update_arity = _positional_count(update) if update is not None else 0
    found["update_lr"] = update is not None and (update_arity is None or update_arity >= 1)
    backward_arity = _positional_count(backward) or 0
    rate_attr = find_rates(obj) or None
    found["lr_attr"] = rate_attr if update is not None and not found["update_lr"] else None
    passes_rate = False
    if args.get("step"):  # a learned step: the rate is an argument of it, or the object's own
        passes_rate = any(r.get("role") == "lr" for call in args["step"]
                          for r in [*call.get("args", []), *call.get("kwargs", {}).values()])
        found["lr_attr"] = None if passes_rate else rate_attr
    initial = {p: a.copy() for p, a in find_arrays(obj).items()}
    x = np.array(args["sample_x"], dtype=float)
    output = None
    for layout in ("rows", "cols"):
        try:
            output = forward(x if layout == "rows" else x.T)
            found["input"] = layout
            break
        except Exception as exc:  # noqa: BLE001
            found.setdefault("forward_errors", []).append(_error(exc))
    found["output_type"] = type(output).__name__
    extra = tuple(output[1:]) if isinstance(output, tuple) else ()
    found["backward_cache"] = bool(extra) and backward_arity >= 1 + len(extra)
    cache = len(extra) if found["backward_cache"] else 0
    found["backward_lr"] = update is None and backward_arity >= 2 + cache and \
        _takes_rate_at(backward, 1 + cache)
    if args.get("step"):
        found["fixed_rate"] = not passes_rate and rate_attr is None and not companion_rate
    else:
        found["fixed_rate"] = not (found["update_lr"] or found["backward_lr"]
                                   or found["lr_attr"])
    found["lab_calls"] = _lab_calls(type(obj), backward, update, args.get("lab_dim"))
    # a step learned from the student's program was called so by the program itself
    unusable = None if args.get("step") else _uncallable_step(
        methods, backward, update, found, len(extra) if found["backward_cache"] else 0)
    if unusable:
        found["step_signature"] = unusable
    after_forward = find_arrays(obj)
    found["arrays"] = {p: list(a.shape) for p, a in after_forward.items()}
    if output is None:  # predict raised: its own check says so; nothing more to learn here
        found["error"] = found["forward_errors"][0]
        found.setdefault("input", "rows")
        found["params"] = []
        found["cached"] = []
        return found
    try:
        found["output"] = as_output(output)
    except (TypeError, ValueError) as exc:
        found["output_error"] = _error(exc)
    cached = sorted(p for p, a in after_forward.items()
                    if p not in initial or initial[p].shape != a.shape
                    or not np.array_equal(initial[p], a))
    found["cached"] = cached
    held = [p for p in after_forward if p not in cached]
    rng = np.random.default_rng([int(args.get("seed") or 0), 7])
    probe = rng.uniform(0.0, 1.0, (SENSITIVITY_INPUTS, x.shape[1]))
    reads, evidence = _read_by_predict(obj, forward, found["input"], held, probe, rng)
    found["params"] = [{"path": p, "shape": list(after_forward[p].shape)} for p in reads]
    found["sensitivity"] = evidence
    return found


def _uncallable_step(methods: dict[str, Any], backward: Any, update: Any,
                     found: dict[str, Any], cache: int) -> dict[str, Any] | None:
    """The method whose signature does not accept what the lab's step passes (``backprop(y)``,
    with the forward pass's cache if it returns one, then ``update(lr)``), with its signature;
    None when both accept it.  Observed without calling anything: a call that fails only
    because of the grader's arguments must never be reported as the student's error."""
    calls = [(methods["backward"], backward, 1 + cache + bool(found["backward_lr"]))]
    if update is not None:
        calls.append((methods["update"], update, int(bool(found["update_lr"]))))
    for name, method, count in calls:
        try:
            signature = inspect.signature(method)
        except (TypeError, ValueError):
            continue  # a builtin or an odd callable: let the call itself tell
        try:
            signature.bind(*([None] * count))
        except TypeError as exc:
            return {"method": name, "signature": f"{name}{signature}", "passed": count,
                    "message": str(exc)}
    return None


SENSITIVITY_INPUTS = 8
SENSITIVITY_DRAWS = 3
"""Independent redraws of one array before it is called unread: a predict that returns 0/1
labels may, by chance, keep every label under one redraw."""
SENSITIVITY_SECONDS = 20.0
"""A slow predict (say, Python loops over every neuron) may not get through a redraw of every
array within the step's time limit: the arrays not redrawn by then are counted as read, the
cautious side (the layout search leaves out the ones that fit no layer)."""


def _test_values(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Values with which a sigmoid network's pre-activations are of order one, whatever the
    student's own initialisation (weights in the hundreds saturate every unit, and a saturated
    predict does not show which arrays it reads)."""
    fan_in = shape[0] if len(shape) >= 2 else 1
    return rng.normal(0.0, 1.5 / np.sqrt(max(1, fan_in)) if len(shape) >= 2 else 0.5, shape)


def _predict_on(forward: Any, X: np.ndarray, orientation: str) -> np.ndarray:
    """predict on rows ``X``, as a batch, else one sample at a time."""
    def once(rows: np.ndarray) -> np.ndarray:
        out = as_output(forward(rows.T if orientation == "cols" else rows))
        return (out.T if orientation == "cols" else out).reshape(len(rows), -1)

    try:
        return once(X)
    except Exception:  # noqa: BLE001 -- a network that takes one sample at a time
        return np.vstack([once(X[i:i + 1]) for i in range(len(X))])


def _read_by_predict(obj: Any, forward: Any, orientation: str, paths: list[str],
                     X: np.ndarray, rng: np.random.Generator
                     ) -> tuple[list[str], dict[str, Any]]:
    """Of ``paths``, the arrays whose values predict's output depends on.

    Every array is first set to test values (:func:`_test_values`), then each in turn is
    redrawn: an array is read when a redraw changes some output.  Gradient buffers, optimizer
    state, stored data and constants are not read; a layer that update never moves still is.
    The evidence says what predict gave before and after every array was redrawn at once, so
    that a predict which ignores all of them can be shown, expected against observed.
    """
    for path in paths:
        set_param(obj, path, _test_values(tuple(get_param(obj, path).shape), rng))
    try:
        base = _predict_on(forward, X, orientation)
    except Exception as exc:  # noqa: BLE001 -- predict fails on the test values
        return [], {"error": _error(exc)}
    reads = []
    began = time.monotonic()
    for path in paths:
        if time.monotonic() - began > SENSITIVITY_SECONDS:
            reads.append(path)
            continue
        saved = np.array(get_param(obj, path), copy=True)
        for _ in range(SENSITIVITY_DRAWS):
            set_param(obj, path, _test_values(saved.shape, rng))
            try:
                out = _predict_on(forward, X, orientation)
                changed = out.shape != base.shape or not np.allclose(out, base, rtol=0,
                                                                     atol=1e-12)
            except Exception:  # noqa: BLE001 -- the output depends on it enough to break
                changed = True
            if changed:
                reads.append(path)
                break
        set_param(obj, path, saved)
    evidence: dict[str, Any] = {"x": X[0], "before": base[0], "arrays": len(paths)}
    if paths and not reads:
        for path in paths:
            set_param(obj, path, _test_values(tuple(get_param(obj, path).shape), rng))
        try:
            evidence["after"] = _predict_on(forward, X, orientation)[0]
        except Exception as exc:  # noqa: BLE001
            evidence["after_error"] = _error(exc)
    return reads, evidence


def probe_forward(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Predictions for a batch and for each sample alone, optionally with given parameters."""
    net = Network(namespace, args["adapter"], args.get("seed"))
    if args.get("params") is not None:
        net.set_params([np.asarray(p, dtype=float) for p in args["params"]])
    X = np.asarray(args["X"], dtype=float)
    result: dict[str, Any] = {"params": net.get_params()}
    try:
        result["batch"] = net.predict(X)
    except Exception as exc:  # noqa: BLE001
        result["batch_error"] = _error(exc)
    singles = []
    for i in range(len(X)):
        try:
            singles.append(net.predict(X[i:i + 1]).reshape(-1))
        except Exception as exc:  # noqa: BLE001
            result["single_error"] = _error(exc)
            break
    else:
        result["singles"] = np.array(singles)
    return result


def probe_steps(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """From given parameters, one predict/backprop/update per learning rate, and a second step.

    Each learning rate starts from a fresh instance, so that optimizer state cannot leak from
    one measurement into the next; the second step continues the first learning rate's run.
    """
    X = np.asarray(args["X"], dtype=float)
    Y = np.asarray(args["Y"], dtype=float)
    start = [np.asarray(p, dtype=float) for p in args["params"]]
    runs = []
    for i, lr in enumerate(args["lrs"]):
        net = Network(namespace, args["adapter"], args.get("seed"))
        net.set_params(start)
        run: dict[str, Any] = {"lr": lr}
        try:
            run["prediction"] = net.predict(X)
            net.step(Y, lr)
            run["after"] = net.get_params()
            if i == 0 and args.get("second_step"):
                net.predict(X)
                net.step(Y, lr)
                run["after_second"] = net.get_params()
        except Exception as exc:  # noqa: BLE001
            run["error"] = _error(exc)
        runs.append(run)
    return {"runs": runs}


def _forget_figures() -> None:
    """Close what the student's step drew (a learning curve plotted at every call of
    ``train``): nobody sees it while the grader trains, and thousands of steps of it fill the
    memory until the process dies."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and pyplot.get_fignums():
        pyplot.close("all")


def probe_train(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The lab's training loop through the student's methods: per sample, in order, until every
    sample's loss is below the threshold, or the step or time budget runs out.

    Reports the loss seen per epoch and the final predictions; the grader recomputes losses
    and accuracy from the predictions itself.
    """
    net = Network(namespace, args["adapter"], args.get("seed"))
    if args.get("params") is not None:
        net.set_params([np.asarray(p, dtype=float) for p in args["params"]])
    X = np.asarray(args["X"], dtype=float)
    Y = np.asarray(args["Y"], dtype=float).reshape(len(X), -1)
    lr, threshold = float(args["lr"]), float(args["threshold"])
    max_steps, budget = int(args["max_steps"]), float(args["seconds"])
    began = time.monotonic()
    result: dict[str, Any] = {"params_before": net.get_params()}
    curve: list[float] = []
    steps = 0
    stopped = "steps"
    losses = np.zeros(0)
    try:
        while steps < max_steps:
            losses = np.empty(len(X))
            for i in range(len(X)):
                prediction = net.predict(X[i:i + 1])
                net.step(Y[i:i + 1], lr)
                losses[i] = float(np.mean((prediction.reshape(-1) - Y[i]) ** 2))
                steps += 1
            curve.append(float(np.mean(losses)))
            _forget_figures()
            if not np.all(np.isfinite(losses)):
                stopped = "diverged"
                break
            if np.all(losses < threshold):
                stopped = "converged"
                break
            if time.monotonic() - began > budget:
                stopped = "time"
                break
    except Exception as exc:  # noqa: BLE001
        result["error"] = _error(exc)
        stopped = "error"
    result.update({"curve": np.array(curve), "steps": steps, "stopped": stopped,
                   "seconds": time.monotonic() - began,
                   "last_losses": losses if steps else np.zeros(0)})
    try:
        result["params_after"] = net.get_params()
        result["train_prediction"] = net.predict(X)
        if args.get("X_eval") is not None:
            result["eval_prediction"] = net.predict(np.asarray(args["X_eval"], dtype=float))
    except Exception as exc:  # noqa: BLE001
        result.setdefault("error", _error(exc))
    return result


def probe_fd(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The MSE of ``predict`` with every parameter entry nudged by +h and by -h.

    Raw losses only: the grader forms the central differences and compares them with the step
    that backprop and update apply.  For networks whose parameters map onto no reference layout.
    """
    net = Network(namespace, args["adapter"], args.get("seed"))
    if args.get("params") is not None:
        net.set_params([np.asarray(p, dtype=float) for p in args["params"]])
    X = np.asarray(args["X"], dtype=float)
    Y = np.asarray(args["Y"], dtype=float).reshape(len(X), -1)
    h = float(args["h"])
    values = net.get_params()
    plus, minus = [], []
    for k, base in enumerate(values):
        up, down = np.empty(base.size), np.empty(base.size)
        for i in range(base.size):
            for sign, out in ((1.0, up), (-1.0, down)):
                nudged = [v.copy() for v in values]
                nudged[k].reshape(-1)[i] += sign * h
                net.set_params(nudged)
                prediction = net.predict(X)
                if prediction.size != Y.size:
                    raise ValueError(f"predict returned {prediction.size} values for "
                                     f"{len(X)} sample{'s' if len(X) > 1 else ''}")
                out[i] = float(np.mean((prediction.reshape(Y.shape) - Y) ** 2))
        plus.append(up.reshape(base.shape))
        minus.append(down.reshape(base.shape))
    net.set_params(values)
    return {"plus": plus, "minus": minus, "params": values}


# --- generic probes: any rubric's functions and variables ---------------------------------------

MAX_ITEMS = 50
"""Entries of a dictionary variable described, at the most."""
MAX_VARIABLE_SIZE = 100_000
"""Elements of a variable sent back as an array; a larger one is described by its shape only."""


def _observed_value(value: Any, depth: int = 0) -> dict[str, Any]:
    """A value as the parent can judge it: numbers as an array, a dictionary of them (the
    weights of a modular notebook, ``Ws[l]``) entry by entry, anything else by its type."""
    described: dict[str, Any] = {"type": type(value).__name__}
    if isinstance(value, dict) and depth == 0:
        described["items"] = {str(k): _observed_value(v, 1)
                              for k, v in list(value.items())[:MAX_ITEMS]}
        described["keys"] = [k if isinstance(k, (int, str)) else str(k)
                             for k in list(value)[:MAX_ITEMS]]
        return described
    if callable(value) or isinstance(value, (str, bytes, dict)):
        return described
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return described
    described["shape"] = list(array.shape)
    described["dtype"] = str(getattr(value, "dtype", array.dtype))
    if array.size <= MAX_VARIABLE_SIZE:
        described["value"] = array
    return described


def _student_function(namespace: dict[str, Any], names: list[str]) -> str | None:
    """The first of ``names`` the submission defines as something callable."""
    return next((n for n in names if callable(namespace.get(n))), None)


def _defined_functions(namespace: dict[str, Any]) -> list[str]:
    """The functions the submission defines, for a message naming what is there instead."""
    return sorted(n for n, v in namespace.items() if callable(v) and not n.startswith("_")
                  and getattr(v, "__module__", None) in (None, "__main__"))[:40]


def _copied(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


def _changed(original: Any, given: Any) -> bool:
    """Whether the function changed an argument it was given (an array, or the arrays of a
    dict such as Ws)."""
    if isinstance(original, np.ndarray):
        return not (isinstance(given, np.ndarray) and given.shape == original.shape
                    and np.array_equal(original, given, equal_nan=True))
    if isinstance(original, dict):
        return not isinstance(given, dict) or set(given) != set(original) or any(
            _changed(original[k], given[k]) for k in original)
    return False


def probe_functions(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Call the first of ``names`` the submission defines on each of ``calls`` (a list of
    argument lists): what it returned (or, with ``picks``, the returned values at those
    positions), whether it changed its array arguments, and the floating-point warnings it
    raised (overflow in ``exp``)."""
    import warnings

    found = _student_function(namespace, args["names"])
    if found is None:
        return {"found": None, "defined": _defined_functions(namespace)}
    function = namespace[found]
    results = []
    for call in args["calls"]:
        given = [_copied(a) for a in call]
        reseed(args.get("seed"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = function(*given)
            except Exception as exc:  # noqa: BLE001 -- the student's error, as data
                results.append({"error": _error(exc)})
                continue
        if args.get("pick") is not None and isinstance(value, (tuple, list)):
            try:
                value = value[int(args["pick"])]
            except IndexError:
                pass
        picks = args.get("picks")
        if picks is not None:  # several of the values returned (W, b of W, b, L)
            returned = value if isinstance(value, (tuple, list)) else (value,)
            results.append({"type": type(value).__name__, "parts": [
                _observed_value(returned[int(i)]) for i in picks] if all(
                0 <= int(i) < len(returned) for i in picks) else None})
            continue
        results.append({
            **_observed_value(value),
            "mutated": [_changed(a, g) for a, g in zip(call, given)],
            "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught})[:5]})
    return {"found": found, "results": results}


def _arrays_of(value: Any) -> Any:
    """A container of arrays (a dict by layer, a list) as arrays the parent can read, or None."""
    if isinstance(value, dict):
        out = {k: np.asarray(v, dtype=float) for k, v in value.items()
               if isinstance(v, (np.ndarray, list, float, int))}
        return out if len(out) == len(value) else None
    if isinstance(value, (list, tuple)):
        try:
            return [np.asarray(v, dtype=float) for v in value]
        except (TypeError, ValueError):
            return None
    return None


def probe_step_function(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Call the first of ``names`` the submission defines once with ``args``: what it returned
    (a pair of containers of arrays, such as ``Ws, bs``) and what the arguments at the
    ``watch`` positions hold after the call (changed in place)."""
    found = _student_function(namespace, args["names"])
    if found is None:
        return {"found": None, "defined": _defined_functions(namespace)}
    given = [_copied(a) for a in args["args"]]
    reseed(args.get("seed"))
    try:
        with np.errstate(all="ignore"):
            value = namespace[found](*given)
    except Exception as exc:  # noqa: BLE001 -- the student's error, as data
        return {"found": found, "error": _error(exc)}
    answer: dict[str, Any] = {"found": found, "after": {
        str(i): _arrays_of(given[i]) for i in args.get("watch", ()) if i < len(given)}}
    if isinstance(value, (tuple, list)) and len(value) == 2:
        pair = [_arrays_of(v) for v in value]
        if all(p is not None for p in pair):
            answer["returned"] = pair
    return answer


CELL_STATES: list[dict[str, Any]] = []
"""After each cell of a notebook run as a whole: the top-level arrays and numbers that cell
created or changed (copies), in order (see ``worker.op_load``)."""

MAX_KEPT_ELEMENTS = 20_000_000
"""Numbers kept across all cells' states, at the most (160 MB): a notebook of many large
arrays must not run its process out of memory because the grader keeps copies."""


class _Latest:
    """The variables as the last kept cell left them, and how many numbers are kept in all."""

    state: dict[str, np.ndarray] = {}
    kept = 0


def reset_cell_states() -> None:
    CELL_STATES.clear()
    _Latest.state, _Latest.kept = {}, 0


def keep_cell_state(namespace: dict[str, Any]) -> None:
    if _Latest.kept > MAX_KEPT_ELEMENTS:
        CELL_STATES.append({})  # past the budget: the later cells' states are not kept
        return
    changed: dict[str, np.ndarray] = {}
    for name, value in list(namespace.items()):
        if name.startswith("_") or isinstance(value, bool) or not isinstance(
                value, (int, float, np.ndarray, np.generic)) or \
                np.size(value) > MAX_VARIABLE_SIZE:
            continue
        before = _Latest.state.get(name)
        if before is None or before.shape != np.shape(value) or \
                not np.array_equal(before, value, equal_nan=True):
            changed[name] = np.array(value, copy=True)
    _Latest.state.update(changed)
    _Latest.kept += sum(v.size for v in changed.values())
    CELL_STATES.append(changed)


def _state_at(moment: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
    """The variables after the last cell at which all of ``moment["with"]`` existed and none
    of ``moment["without"]`` did (or after the cell ``moment["until"]``), and that cell's
    number (1-based)."""
    state: dict[str, Any] = {}
    found = None
    if "until" in moment:  # after a given cell (0-based), if the run got that far
        until = int(moment["until"])
        if until >= len(CELL_STATES):
            return None
        for changes in CELL_STATES[:until + 1]:
            state = {**state, **changes}
        return state, until + 1
    for index, changes in enumerate(CELL_STATES):
        state = {**state, **changes}
        if all(n in state for n in moment.get("with", ())) and \
                not any(n in state for n in moment.get("without", ())):
            found = (dict(state), index + 1)
    return found


def probe_variables(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The variables ``names`` as the submission left them after it ran: each one's type,
    shape, dtype and value (numbers only); absent ones are missing from the answer.  With a
    ``moment`` (a notebook run as a whole), as they were after the cell it names."""
    moment = args.get("moment")
    if moment:
        found = _state_at(moment)
        if found is None:
            return {"variables": {}, "moment_found": False, "cells": len(CELL_STATES)}
        state, cell = found
        return {"variables": {name: _observed_value(state[name]) for name in args["names"]
                              if name in state}, "moment_found": True, "cell": cell}
    return {"variables": {name: _observed_value(namespace[name]) for name in args["names"]
                          if name in namespace}}


def probe_loop_step(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """One step of a notebook's training cell, watched as it ran (``loops.py``): the
    variables ``names`` at the pass through a loop's header before the step and at the one
    after, for the first step of the ``occurrence``-th cell (among ``cells``, 0-based, if
    given) that changed every one of ``weights``."""
    import loops

    weights = list(args["weights"])
    step = loops.find_step(weights, args.get("cells"), int(args.get("occurrence", 1)))
    if step is None:
        return {"found": False, **loops.summary(weights)}
    before, after = step
    return {"found": True, "cell": before.cell + 1, "line": before.line,
            "next_line": after.line,
            "before": {n: _observed_value(before.state[n]) for n in args["names"]
                       if n in before.state},
            "after": {n: _observed_value(after.state[n]) for n in args["names"]
                      if n in after.state}}


OPS = {
    "interface": probe_interface,
    "network": probe_network,
    "forward": probe_forward,
    "steps": probe_steps,
    "train": probe_train,
    "fd": probe_fd,
    "functions": probe_functions,
    "variables": probe_variables,
    "step_function": probe_step_function,
    "loop_step": probe_loop_step,
}
