"""Names NumPy removed, given back while the grader learns and checks a network.

A student who wrote the lab on an older NumPy (``np.asscalar``, ``np.float``, ``np.NaN``) has
a network that works and a program that fails on the NumPy installed here.  The checks that
judge the network (the interface, the forward pass, the gradient, training) run with these
stand-ins, so that the network is graded on its mathematics; the ``program`` check runs the
student's program on NumPy as it is, and says what fails and what replaced it (the parent's
``grader/numpy_names.py`` lists the same names, from the NumPy release notes).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _asscalar(a: Any) -> Any:
    return np.asarray(a).item()


STAND_INS: dict[str, Any] = {
    "asscalar": _asscalar,                   # removed in 1.23
    "float": float, "int": int, "bool": bool, "object": object, "complex": complex,
    "str": str,                              # removed in 1.24
    "float_": np.float64, "complex_": np.complex128, "unicode_": np.str_,
    "NaN": np.nan, "NAN": np.nan, "Inf": np.inf, "Infinity": np.inf, "infty": np.inf,
    "PINF": np.inf, "NINF": -np.inf,
    "product": np.prod, "cumproduct": np.cumprod, "alltrue": np.all, "sometrue": np.any,
    "round_": np.round, "mat": np.asmatrix,  # removed in 2.0
}


def restore_removed_names() -> list[str]:
    """Give NumPy back each removed name it lacks; the names given back."""
    restored = []
    for name, value in STAND_INS.items():
        if name not in np.__dict__:
            setattr(np, name, value)
            restored.append(name)
    return restored


def remove_stand_ins() -> None:
    """Take the stand-ins away again: a fresh run of the program (``fresh.py``) forks a worker
    that gave them back, and the program must meet NumPy as it is."""
    for name, value in STAND_INS.items():
        if np.__dict__.get(name) is value:
            delattr(np, name)
