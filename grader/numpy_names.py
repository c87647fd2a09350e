"""Names older NumPy had and current NumPy removed: a student who learnt from an older
tutorial gets an ``AttributeError`` that says nothing of why.  The hint says what replaced it
(from the NumPy release notes: 1.23, 1.24 and 2.0)."""

from __future__ import annotations

import re

REMOVED = {
    "asscalar": "a.item() (removed in NumPy 1.23)",
    "float": "float or np.float64 (removed in NumPy 1.24)",
    "int": "int or np.int64 (removed in NumPy 1.24)",
    "bool": "bool or np.bool_ (removed in NumPy 1.24)",
    "object": "object (removed in NumPy 1.24)",
    "complex": "complex (removed in NumPy 1.24)",
    "str": "str (removed in NumPy 1.24)",
    "float_": "np.float64 (removed in NumPy 2.0)",
    "complex_": "np.complex128 (removed in NumPy 2.0)",
    "unicode_": "np.str_ (removed in NumPy 2.0)",
    "NaN": "np.nan (removed in NumPy 2.0)",
    "NAN": "np.nan (removed in NumPy 2.0)",
    "Inf": "np.inf (removed in NumPy 2.0)",
    "Infinity": "np.inf (removed in NumPy 2.0)",
    "infty": "np.inf (removed in NumPy 2.0)",
    "PINF": "np.inf (removed in NumPy 2.0)",
    "NINF": "-np.inf (removed in NumPy 2.0)",
    "product": "np.prod (removed in NumPy 2.0)",
    "cumproduct": "np.cumprod (removed in NumPy 2.0)",
    "alltrue": "np.all (removed in NumPy 2.0)",
    "sometrue": "np.any (removed in NumPy 2.0)",
    "round_": "np.round (removed in NumPy 2.0)",
    "mat": "np.asmatrix, or better plain arrays (removed in NumPy 2.0)",
}
_MISSING = re.compile(r"module 'numpy' has no attribute '(\w+)'")


def removed_name_hint(message: str) -> str:
    """``"; np.asscalar is now a.item() (removed in NumPy 1.23)"`` for an error about a name
    NumPy removed, else ``""``."""
    found = _MISSING.search(message or "")
    if not found or found.group(1) not in REMOVED:
        return ""
    return f"; np.{found.group(1)} is now {REMOVED[found.group(1)]}"
