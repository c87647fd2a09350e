"""Why the grader could not follow a student's program, in one sentence the student can act on.

When the trace of the program (``grader/sandbox/child/tracer.py``) shows no training step the
grader can repeat (``grader/learning.py`` learns none), the interface check's message says
what the program did instead: it stopped with an error before training (reading a
command-line argument it was not given, waiting for the keyboard), it trained inside one
function with the forward and backward passes written inline, it built a network and never
trained it, or it ran nothing at all.  Each sentence ends with what to change, because "the
grader could not follow your program" alone leaves a student nowhere to go.

Nothing here runs student code; it reads the record only.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from grader.numpy_names import numpy_hint

CALLS_TO_REPEAT = ("write the network as a class NN with predict, backprop and update, or as "
                   "functions the program calls once per step (forward(x, W1, W2, W3), "
                   "backward(...)) that take the weights")
"""What a program the grader cannot step should become: the shapes it can repeat."""

LONG_CALL = 0.5
"""A single call of the program's own function that took at least this share of the traced
run (and at least ``LONG_SECONDS``, or was cut short) is where the program trains."""
LONG_SECONDS = 1.0


def why_unfollowed(trace: Mapping[str, Any]) -> str:
    """The sentence for a trace that shows no step (``""`` when there is nothing to say)."""
    if trace.get("failure"):
        return f"your program could not be run to see how it trains ({trace['failure']})"
    events = list(trace.get("events", []))
    error = trace.get("error") if trace.get("stopped") == "error" else None
    if error:
        return _stopped(error)
    inline = _inline_loop(events)
    plain = _plain_network_steps(events, inline[:-2]) if inline else []
    if plain:
        calls = ", ".join(f"{name}({', '.join(names)})" for name, names in plain)
        return (f"your program trains inside {inline} through {calls}, which pass the whole "
                "network as Python lists (of layers, of neurons), not its weights as arrays, so "
                f"there is no step the grader can repeat on its own weights: {CALLS_TO_REPEAT}")
    if inline:
        return (f"your program trains inside {inline}, with the forward and backward passes "
                "written inline in its loop, so there is no step the grader can repeat on its "
                f"own weights: {CALLS_TO_REPEAT}")
    built = [e for e in events if e.get("kind") == "construct"]
    changed = any(e.get("changed") for e in events if e.get("kind") == "call")
    if built and not changed:
        names = ", ".join(dict.fromkeys(e["class"] for e in built))
        return (f"your program builds {names} but no call it makes changes a NumPy array "
                "those objects hold: keep the weights on the network (self.W1, ...) as arrays "
                "its step changes, and train it from the program, as the lab's main loop does")
    if not events:
        return ("running your program calls none of its own functions or classes: the "
                "program should build the network and train it (call your training loop)")
    return ""


def _stopped(error: Mapping[str, Any]) -> str:
    """A program that raised before it had shown a step: where, and the usual causes."""
    place = error.get("file") or (f"cell {error['cell']}"
                                  if error.get("cell") is not None else "your program")
    where = f"{place}, line {error.get('line')}: " if error.get("line") else ""
    message = str(error.get("message", "an error"))
    line = str(error.get("source_line") or "")
    sentence = (f"your program stopped with an error before it had trained ({where}"
                f"{message}{numpy_hint(message, line)})")
    if "sys.argv" in line or "argv[" in line:
        sentence += ("; the grader runs your program without command-line arguments: give "
                     "them defaults (argparse defaults, or sys.argv[1] if len(sys.argv) > 1 "
                     "else ...)")
    elif error.get("kind") == "input" or "input(" in line:
        sentence += ("; give each choice a default the program uses when nothing is typed, "
                     "or set it in the code")
    return sentence


def _inline_loop(events: Sequence[Mapping[str, Any]]) -> str | None:
    """``network()`` or ``main(-1)``: the program's own function (or a method), called from
    the top level, that ran for most of the run (or until it was stopped) calling only helpers
    (``sigmoid``, its derivative, the data generators), none that takes the weights."""
    top = [e for e in events if e.get("kind") in ("function", "call")
           and e.get("caller") is None and "within" not in e]
    if not top:
        return None
    total = sum(float(e.get("seconds") or 0.0) for e in top)
    longest = max(top, key=lambda e: (e.get("unfinished", False), float(e.get("seconds") or 0)))
    share = 1.0 if longest.get("unfinished") else \
        float(longest.get("seconds") or 0.0) / total if total else 0.0
    if share < LONG_CALL or not (longest.get("unfinished")
                                 or float(longest.get("seconds") or 0.0) >= LONG_SECONDS):
        return None
    if longest["kind"] == "call":  # a method: its calls on its own object are recorded within
        if any(e.get("within") == longest.get("i") for e in events):
            return None
        return f"{longest['method']}()"
    inside = [e for e in events if e.get("caller") == longest.get("name")
              and e.get("kind") == "function"]
    if any(_takes_weights(e) for e in inside):
        return None  # it calls functions that take the weights: not an inline loop
    return f"{longest['name']}()"


def _plain_network_steps(events: Sequence[Mapping[str, Any]], caller: str
                         ) -> list[tuple[str, list[str]]]:
    """The functions ``caller`` calls again and again passing a network in plain Python, a list
    of lists or dicts (``forward_propagate(network, row)`` of a per-neuron network), with their
    parameters' names."""
    found: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for e in events:
        if e.get("kind") != "function" or e.get("caller") != caller:
            continue
        values = [d.get("value") for d in [*e.get("args", []), *e.get("kwargs", {}).values()]
                  if d.get("type") == "literal"]
        if any(isinstance(v, list) and v and all(isinstance(i, (list, dict)) for i in v)
               for v in values):
            counts[e["name"]] = counts.get(e["name"], 0) + 1
            found.setdefault(e["name"], list(e.get("names") or []))
    return [(name, names) for name, names in found.items() if counts[name] > 1]


def _takes_weights(call: Mapping[str, Any]) -> bool:
    """A helper that takes two or more float arrays (an input and a weight matrix) is a step
    function; ``sigmoid(z)`` takes one."""
    arrays = [d for d in [*call.get("args", []), *call.get("kwargs", {}).values()]
              if d.get("type") == "array" and "float" in str(d.get("dtype"))]
    return len(arrays) >= 2
