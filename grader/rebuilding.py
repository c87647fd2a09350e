"""How to build a student's network again, as the student's program built it.

The tracer records every argument of a constructor call as a descriptor
(``grader/sandbox/child/tracer.py``).  Most are plain values the child can pass again
(numbers, literals, an argparse namespace, a function or class of the student's).  Two more
kinds are rebuilt here:

* the student's own objects, built again by their own recorded construction: a network made
  Keras-like, ``net.AddLayer(FullConnectLayer(2, 4))`` or ``MLP(layers=[Linear(2, 4),
  Sigmoid(), ...])``, passes layer objects, each rebuilt as ``{"type": "built", "class",
  "args", "kwargs", "object"}`` (one object passed twice is built once: a shared activation
  stays shared);
* lists, tuples and dicts of rebuildable items.

A network is also built by what the program calls on it before it trains: ``addLayer(...)``,
``setting(l_rate=4, n_epoch=2000)``, ``compile(...)``.  Those *setup calls*
(:func:`setup_calls`) are replayed after the constructor, in order.

Nothing here runs student code.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

PLAIN = frozenset({"number", "literal", "namespace", "function", "class", "data"})
"""Descriptors the child passes again as recorded (``data``: the training data a constructor
was passed, see ``learning.with_data_roles``)."""
MAX_DEPTH = 4
"""Objects built from objects built from ...: deeper than this is not a network's building."""
MAX_SETUP_CALLS = 32


def rebuildable(desc: Mapping[str, Any], constructs: Mapping[int, Mapping[str, Any]],
                depth: int = 0, held: Mapping[int, str] | None = None) -> dict[str, Any] | None:
    """The descriptor as the child can rebuild it, or None when it cannot be.  ``held``: the
    network's own objects by their path from it (``""`` for the network itself), passed again
    as the rebuilt network's (``{"type": "held", "path": "linear1.weight"}``)."""
    kind = desc.get("type")
    if kind in PLAIN:
        return dict(desc)
    if kind == "object" and held and desc.get("object") in held:
        return {"type": "held", "path": held[desc["object"]], "class": desc.get("class")}
    if depth >= MAX_DEPTH:
        return None
    if kind == "object":
        built = constructs.get(desc.get("object"))  # type: ignore[arg-type]
        # no construction recorded: a class without an __init__ of its own (``Sigmoid()``)
        call = {"args": [], "kwargs": {}} if built is None else \
            rebuildable_call(built, constructs, depth + 1, held)
        if call is None:
            return None
        return {"type": "built", "class": desc.get("class"), "object": desc.get("object"),
                **call}
    if kind in ("sequence", "mapping") and isinstance(desc.get("items"), (list, dict)):
        items = desc["items"]
        if isinstance(items, dict):
            done = {k: rebuildable(v, constructs, depth + 1, held) for k, v in items.items()}
            return None if any(v is None for v in done.values()) else \
                {"type": "mapping", "items": done}
        listed = [rebuildable(v, constructs, depth + 1, held) for v in items]
        return None if any(v is None for v in listed) else \
            {"type": "sequence", "tuple": bool(desc.get("tuple")), "items": listed}
    return None


def rebuildable_call(event: Mapping[str, Any], constructs: Mapping[int, Mapping[str, Any]],
                     depth: int = 0, held: Mapping[int, str] | None = None
                     ) -> dict[str, Any] | None:
    """``{"args": [...], "kwargs": {...}}`` of a call the child can make again, or None."""
    args = [rebuildable(d, constructs, depth, held) for d in event.get("args", [])]
    kwargs = {k: rebuildable(d, constructs, depth, held)
              for k, d in event.get("kwargs", {}).items()}
    if any(a is None for a in args) or any(v is None for v in kwargs.values()):
        return None
    return {"args": args, "kwargs": kwargs}


def constructs_by_object(events: Sequence[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    return {e["object"]: e for e in events if e.get("kind") == "construct"}


def setup_calls(calls: Sequence[Mapping[str, Any]], network: int, before: int,
                skip: set[str], constructs: Mapping[int, Mapping[str, Any]]
                ) -> list[dict[str, Any]]:
    """The calls the program made on the network from outside before its first step (event
    number ``before``), that build it: every such call whose arguments can be rebuilt, except
    the step's own methods (``skip``: a loss printed before training is no building) and
    calls that raised.  A call passed the data (``net.fit(X, y)``) cannot be rebuilt and is
    left out."""
    found = []
    for e in calls:
        if e.get("i", 0) >= before or e.get("object") != network or "within" in e \
                or e.get("caller") == network or e.get("method") in skip or "raised" in e:
            continue
        call = rebuildable_call(e, constructs)
        if call is not None:
            found.append({"method": e["method"], **call})
    return found[:MAX_SETUP_CALLS]


def held_paths(objects: Mapping[str, Any], network: int) -> dict[int, str]:
    """The network and every object it holds, directly or through its parts, by its path from
    the network (``{4: "", 5: "linear1", 6: "linear1.weight"}``)."""
    paths = {network: ""}
    for key in objects:
        chain, obj, seen = [], int(key), set()
        while obj not in paths and obj not in seen:
            seen.add(obj)
            held = (objects.get(str(obj)) or {}).get("held")
            if not held:
                break
            chain.append((obj, str(held["path"])))
            obj = int(held["by"])
        if obj in paths:
            for inner, path in reversed(chain):
                paths[inner] = f"{paths[obj]}.{path}".lstrip(".")
                obj = inner
    return paths


def refers_to(desc: Mapping[str, Any], objects: set[int], depth: int = 0) -> bool:
    """Whether a descriptor passes one of ``objects`` (in a list, a tuple or a dict too)."""
    if desc.get("type") == "object":
        return desc.get("object") in objects
    items = desc.get("items")
    if depth >= MAX_DEPTH or not isinstance(items, (list, dict)):
        return False
    values = items.values() if isinstance(items, dict) else items
    return any(isinstance(v, Mapping) and refers_to(v, objects, depth + 1) for v in values)
