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
import re
import time
from typing import Any

import numpy as np

MAX_DEPTH = 3
MAX_ARRAYS = 64
PATH_TOKEN = re.compile(r"\.([A-Za-z_]\w*)|\[(\d+)\]|\['([^']*)'\]")


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


def find_arrays(obj: Any) -> dict[str, np.ndarray]:
    """Every float array reachable from the instance, by path, breadth first and bounded."""
    found: dict[str, np.ndarray] = {}
    seen: set[int] = {id(obj)}
    frontier: list[tuple[str, Any, int]] = [("", obj, 0)]
    while frontier and len(found) < MAX_ARRAYS:
        path, value, depth = frontier.pop(0)
        for step, child in _children(value):
            child_path = path + step
            if isinstance(child, np.ndarray):
                if child.dtype.kind == "f" and child.size > 0 and id(child) not in seen:
                    found[child_path.lstrip(".")] = child
                    seen.add(id(child))
            elif depth < MAX_DEPTH and id(child) not in seen and not callable(child) \
                    and not isinstance(child, (str, bytes, int, float, bool, type(None))):
                seen.add(id(child))
                frontier.append((child_path, child, depth + 1))
    return found


def _parse(path: str) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = []
    text = path if path.startswith(("[", ".")) else "." + path
    position = 0
    for match in PATH_TOKEN.finditer(text):
        if match.start() != position:
            raise ProbeError(f"bad parameter path {path!r}")
        attr, index, key = match.groups()
        steps.append(("attr", attr) if attr else ("index", int(index)) if index is not None
                     else ("key", key))
        position = match.end()
    if position != len(text):
        raise ProbeError(f"bad parameter path {path!r}")
    return steps


def _get(obj: Any, kind: str, key: Any) -> Any:
    return getattr(obj, key) if kind == "attr" else obj[key]


def get_param(obj: Any, path: str) -> np.ndarray:
    value = obj
    for kind, key in _parse(path):
        value = _get(value, kind, key)
    return value


def set_param(obj: Any, path: str, new: np.ndarray) -> None:
    """Write ``new`` into the parameter at ``path``: in place if the shapes allow it."""
    steps = _parse(path)
    parent = obj
    for kind, key in steps[:-1]:
        parent = _get(parent, kind, key)
    kind, key = steps[-1]
    current = _get(parent, kind, key)
    new = np.asarray(new, dtype=float)
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
    """The prediction as a float array; a tuple's first array-like item (``(y, cache)``)."""
    if isinstance(value, tuple) and value and not np.isscalar(value[0]):
        value = value[0]
    return np.asarray(value, dtype=float)


class Network:
    """The student's network behind the adapter: predict, backprop and update in the lab's terms."""

    def __init__(self, namespace: dict[str, Any], adapter: dict[str, Any],
                 seed: int | None = None) -> None:
        self.adapter = adapter
        if seed is not None:  # the student's own random draws (init, shuffles) reproducible
            import random

            np.random.seed(seed)
            random.seed(seed)
        cls = namespace.get(adapter["class"])
        if cls is None:
            raise ProbeError(f"class {adapter['class']!r} is not defined")
        ctor = adapter.get("ctor", {})
        self.obj = cls(*ctor.get("args", []), **ctor.get("kwargs", {}))
        self.forward = getattr(self.obj, adapter["forward"])
        self.backward = getattr(self.obj, adapter["backward"])
        self.update_fn = getattr(self.obj, adapter["update"]) if adapter.get("update") else None
        self.params = list(adapter.get("params", []))
        self.extra: tuple[Any, ...] = ()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs ``(N, out)``; a network that takes one sample at a time is asked one by one
        (a legitimate style: the lab's loop is per sample)."""
        if len(X) > 1 and self.adapter.get("single_only"):
            return np.vstack([self.predict(X[i:i + 1]).reshape(1, -1) for i in range(len(X))])
        raw = self.forward(X.T if self.adapter.get("input") == "cols" else X)
        # forwardPass(X) -> (A, cache) with backwardPass(Y, cache): keep what backward needs
        self.extra = tuple(raw[1:]) if isinstance(raw, tuple) else ()
        out = as_output(raw)
        if self.adapter.get("input") == "cols":
            out = out.T
        if out.size % len(X) != 0:
            raise ValueError(f"predict returned {out.size} values for {len(X)} samples")
        return out.reshape(len(X), -1)

    def _target(self, y: np.ndarray) -> np.ndarray:
        return y.T if self.adapter.get("input") == "cols" else y

    def step(self, y: np.ndarray, lr: float) -> None:
        """Backprop on the last prediction, then apply the update with this learning rate."""
        lr_attr = self.adapter.get("lr_attr")
        if lr_attr:
            setattr(self.obj, lr_attr, lr)
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

    def set_params(self, values: list[np.ndarray]) -> None:
        for path, value in zip(self.params, values):
            set_param(self.obj, path, value)

    def get_params(self) -> list[np.ndarray]:
        return read_params(self.obj, self.params)


def _error(exc: BaseException) -> dict[str, Any]:
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.endswith(("probes.py", "worker.py"))]
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}, line {frames[-1].lineno}" \
        if frames else None
    return {"type": type(exc).__name__, "message": str(exc)[:500], "where": where,
            "line": frames[-1].line if frames else None}


# --- the probes -------------------------------------------------------------------------------

def _positional_count(func: Any) -> int | None:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def probe_interface(namespace: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Find a class that can play the lab's network, construct it, and find its parameters.

    Tries the candidate classes in the grader's order, each constructor form in turn, then
    exercises one predict/backprop/update on a sample to tell parameters (arrays that update
    changes and predict does not) from cached activations.
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
            try:
                obj = cls(*form.get("args", []), **form.get("kwargs", {}))
            except Exception as exc:  # noqa: BLE001 -- any student error is an observation
                record["error"] = _error(exc)
                continue
            methods = {role: next((m for m in names if callable(getattr(obj, m, None))), None)
                       for role, names in roles.items()}
            record["methods"] = methods
            if not methods.get("forward") or not methods.get("backward"):
                record["error"] = {"type": "Interface", "message": "no forward or backward method"}
                continue
            record.update(_exercise(cls, form, obj, methods, args))
            return {"attempts": attempts, "chosen": record}
    return {"attempts": attempts, "chosen": None}


def _exercise(cls: Any, form: dict[str, Any], obj: Any, methods: dict[str, Any],
              args: dict[str, Any]) -> dict[str, Any]:
    """One step through the network, watching which arrays move."""
    found: dict[str, Any] = {}
    update = getattr(obj, methods["update"]) if methods.get("update") else None
    backward = getattr(obj, methods["backward"])
    # bound methods: ``update(self, lr)`` has one positional parameter, ``update(self)`` none
    update_arity = _positional_count(update) if update is not None else 0
    found["update_lr"] = update is not None and (update_arity is None or update_arity >= 1)
    backward_arity = _positional_count(backward) or 0
    found["lr_attr"] = next((a for a in ("lr", "learning_rate", "eta", "alpha")
                             if isinstance(getattr(obj, a, None), (int, float))), None) \
        if update is not None and not found["update_lr"] else None
    initial = {p: a.copy() for p, a in find_arrays(obj).items()}
    x = np.array(args["sample_x"], dtype=float)
    y = np.array(args["sample_y"], dtype=float)
    forward = getattr(obj, methods["forward"])
    output = None
    for layout in ("rows", "cols"):
        try:
            output = forward(x if layout == "rows" else x.T)
            found["input"] = layout
            break
        except Exception as exc:  # noqa: BLE001
            found.setdefault("forward_errors", []).append(_error(exc))
    if output is None:
        found["error"] = found["forward_errors"][0]
        return found
    found["output_type"] = type(output).__name__
    extra = tuple(output[1:]) if isinstance(output, tuple) else ()
    found["backward_cache"] = bool(extra) and backward_arity >= 1 + len(extra)
    found["backward_lr"] = update is None and \
        backward_arity >= 2 + (len(extra) if found["backward_cache"] else 0)
    extra = extra if found["backward_cache"] else ()
    try:
        found["output"] = as_output(output)
    except (TypeError, ValueError) as exc:
        found["output_error"] = _error(exc)
    after_forward = find_arrays(obj)
    changed_by_forward = {p for p, a in after_forward.items()
                          if p not in initial or initial[p].shape != a.shape
                          or not np.array_equal(initial[p], a)}
    before_step = {p: a.copy() for p, a in after_forward.items()}
    target = y if found["input"] == "rows" else y.T
    lr = float(args.get("lr", 0.5))
    after_backward: dict[str, np.ndarray] = {}
    try:
        if found["lr_attr"]:
            setattr(obj, found["lr_attr"], lr)
        backward(target, *extra, lr) if found["backward_lr"] else backward(target, *extra)
        after_backward = {p: a.copy() for p, a in find_arrays(obj).items()}
        if update is not None:
            update(lr) if found["update_lr"] else update()
    except Exception as exc:  # noqa: BLE001
        found["step_error"] = _error(exc)
    after_step = find_arrays(obj)
    moved_by_update = _moved(after_backward, after_step) if update is not None else set()
    # with an update method, parameters are what it moves (backward alone fills gradient
    # buffers); without one, or if update moved nothing, what the whole step moved
    moved = moved_by_update or _moved(before_step, after_step)
    candidates = [p for p in after_step if p in moved and p not in changed_by_forward]
    # optimizer state (a momentum's velocities) also moves in update(), but predict never
    # reads it: a parameter is an array whose change changes the prediction
    inert = _inert(obj, forward, x if found["input"] == "rows" else x.T, candidates)
    params = [{"path": path, "shape": list(after_step[path].shape)}
              for path in candidates if path not in inert]
    found["optimizer_state"] = sorted(inert)
    found["gradient_buffers"] = sorted(_moved(before_step, after_backward) - moved)
    found["params"] = params
    found["arrays"] = {p: list(a.shape) for p, a in after_step.items()}
    found["cached"] = sorted(changed_by_forward)
    return found


def _inert(obj: Any, forward: Any, x: np.ndarray, paths: list[str]) -> set[str]:
    """Of ``paths``, the arrays whose perturbation leaves the prediction unchanged."""
    inert: set[str] = set()
    try:
        base = as_output(forward(x)).copy()
    except Exception:  # noqa: BLE001 -- cannot tell: keep them all
        return inert
    for path in paths:
        array = get_param(obj, path)
        saved = array.copy()
        try:
            array += 0.01 * (1.0 + np.abs(array))
            changed = not np.allclose(as_output(forward(x)), base, rtol=0, atol=1e-12)
        except Exception:  # noqa: BLE001
            changed = True
        finally:
            array[...] = saved
        if not changed:
            inert.add(path)
    return inert


def _moved(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> set[str]:
    """Paths present in both whose arrays kept their shape and changed value."""
    return {p for p, a in after.items()
            if p in before and before[p].shape == a.shape and not np.array_equal(before[p], a)}


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
                out[i] = float(np.mean((net.predict(X).reshape(Y.shape) - Y) ** 2))
        plus.append(up.reshape(base.shape))
        minus.append(down.reshape(base.shape))
    net.set_params(values)
    return {"plus": plus, "minus": minus, "params": values}


OPS = {
    "interface": probe_interface,
    "forward": probe_forward,
    "steps": probe_steps,
    "train": probe_train,
    "fd": probe_fd,
}
