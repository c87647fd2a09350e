"""Recognise the loss gradient a student's program hands to its own backward pass.

Many networks take the gradient of the loss with respect to their output, ``backward(dout)``,
and the program computes it inline: ``model.backward(2 * (p - y) / len(y))``,
``model.backward(loss_derivative(p, y))``, ``net.Backward(p - y)``.  The grader cannot replay
that expression, but it can tell what it was from the values the tracer recorded: the argument
is a multiple of ``p - y`` (the mean or summed squared error; ``y - p`` with a negative
multiple) or of ``(p - y) / (p (1 - p))`` (binary cross-entropy), where ``p`` is what the step's
predict returned and ``y`` the labels, which need not appear in the step at all: each sample's
label is 0 or 1, so the one multiple that fits every recorded sample, with one label or the
other, tells the form.  The grader then supplies the same form on its own batch, and the
gradient check judges the result against the lab's MSE as it judges any step (the child
computes it: ``loss_gradient`` in ``grader/sandbox/child/probes.py``).

Nothing here runs student code: it reads recorded values.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

from reference.deferred import np

FORMS = ("mse", "bce")
"""The loss derivatives recognised, in the order tried: the lab's squared error first."""
TOLERANCE = 1e-4
"""Relative agreement between the recorded gradient and the form, per sample: float32
networks round at about 1e-7, so a real match is far inside this and a coincidence far outside."""
MIN_SAMPLES = 3
"""Recorded samples needed: two could fit a wrong multiple by chance."""
MEAN_BELOW = 0.5
"""A batch gradient whose multiple is smaller than this was divided by the batch size (the mean
squared error gives 2/N, the summed one 1 or 2)."""


def recognise(observations: Sequence[tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]]
              ) -> dict[str, Any] | None:
    """The role ``{"role": "loss_grad", ...}`` of an array argument, from every recorded step:
    each observation is the argument's descriptor and the step's calls before it; None when it
    is no loss gradient of an earlier call's output."""
    if not observations:
        return None
    for source in _sources(observations[0][1]):
        pairs = [_pair(desc, earlier, source) for desc, earlier in observations]
        usable = [p for p in pairs if p is not None]
        if not usable:
            continue
        size = Counter(n for _, _, n in usable).most_common(1)[0][0]
        p = np.concatenate([a for a, _, n in usable if n == size])
        d = np.concatenate([b for _, b, n in usable if n == size])
        for form in FORMS:
            multiple = _fit(p, d, form)
            if multiple is not None:
                mean = size > 1 and abs(multiple) * size <= 2.5 and abs(multiple) < MEAN_BELOW
                role = {"role": "loss_grad", "form": form, "of": source[0],
                        "scale": multiple * size if mean else multiple, "mean": mean}
                return role | ({} if source[1] is None else {"item": source[1]})
    return None


def _sources(earlier: Sequence[Mapping[str, Any]]) -> list[tuple[int, int | None]]:
    """The earlier calls' array results (call index, tuple item), the predict's first."""
    found: list[tuple[int, int | None]] = []
    for j, call in enumerate(earlier):
        result = call.get("result") or {}
        if result.get("type") == "array":
            found.append((j, None))
        elif result.get("type") == "sequence" and isinstance(result.get("items"), list):
            found += [(j, t) for t, item in enumerate(result["items"])
                      if item.get("type") == "array"]
    return found


def recorded_values(desc: Mapping[str, Any]) -> np.ndarray | None:
    """An array's recorded values, flat: all of a small one, the first of a large one."""
    values = desc.get("values", desc.get("head"))
    if values is None:
        return None
    try:
        return np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None


def _pair(desc: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]],
          source: tuple[int, int | None]) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The recorded output and gradient of one step, sample by sample, and the batch size."""
    j, item = source
    if j >= len(earlier):
        return None
    result = earlier[j].get("result") or {}
    if item is not None:
        items = result.get("items") or []
        result = items[item] if item < len(items) else {}
    shape_p, shape_d = result.get("shape"), desc.get("shape")
    if not shape_p or not shape_d or int(np.prod(shape_p)) != int(np.prod(shape_d)):
        return None
    p, d = recorded_values(result), recorded_values(desc)
    if p is None or d is None:
        return None
    n = min(len(p), len(d))
    return p[:n], d[:n], int(np.prod(shape_p))


def _fit(p: np.ndarray, d: np.ndarray, form: str) -> float | None:
    """The multiple k with ``d == k * form(p, y)`` for labels y of 0 or 1, if one fits all."""
    if len(p) < MIN_SAMPLES or not np.all(np.isfinite(p)) or not np.all(np.isfinite(d)):
        return None
    if form == "bce":
        if np.any((p <= 0) | (p >= 1)):
            return None
        g = d * p * (1 - p)
    else:
        g = d
    if not np.any(g != 0):
        return None
    first = int(np.argmax(np.abs(g)))
    for label in (0.0, 1.0):
        if p[first] == label:
            continue
        k = g[first] / (p[first] - label)
        misfit = np.minimum(np.abs(g - k * p), np.abs(g - k * (p - 1)))
        if np.all(misfit <= TOLERANCE * abs(k) * (1 + np.abs(p))):
            return float(f"{k:.9g}")  # what the program wrote, not its rounding
    return None


def text(role: Mapping[str, Any]) -> str:
    """The recognised gradient as the program wrote it, near enough: ``2*(out0 - y)/N``."""
    out = f"out{role.get('of', 0)}" + (f"[{role['item']}]" if "item" in role else "")
    scale = float(role.get("scale", 1.0))
    body = f"({out} - y)" if role.get("form") != "bce" else f"dBCE({out}, y)"
    lead = "" if scale == 1 else "-" if scale == -1 else f"{scale:g}*"
    return lead + body + ("/N" if role.get("mean") else "")
