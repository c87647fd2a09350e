"""What current NumPy refuses that older NumPy accepted: names it removed, and a (1, 1) array
taken as a number.  A student who learnt from an older tutorial (or wrote the lab on an older
NumPy) gets an error that says nothing of why; the hint says what replaced it (from the NumPy
release notes: 1.23, 1.24, 2.0 and 2.4)."""

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


SCALAR_TRAP = "only 0-dimensional arrays can be converted to Python scalars"
"""NumPy 2.4's error for ``float(a)``, ``int(a)`` or ``math.log(a)`` of an array with one
element but more than zero dimensions (a (1, 1) output), which older NumPy accepted."""
TEMPLATE_LINE = re.compile(r"int\(\s*\w+\.predict\(.*\)\s*>=?\s*0\.5\s*\)")
"""The lab template's ``int(nn.predict(x.reshape(1, -1)) >= 0.5)``."""


def scalar_trap_hint(message: str, source_line: str | None = None) -> str:
    """``"; NumPy 2.4 ... .item() ..."`` for the error NumPy 2.4 raises where a (1, 1) array is
    taken as a number, naming the student's own line when known, else ``""``."""
    if SCALAR_TRAP not in (message or ""):
        return ""
    line = (source_line or "").strip()
    if TEMPLATE_LINE.search(line):
        return ("; the lab template's line `int(nn.predict(x.reshape(1, -1)) >= 0.5)` turns a "
                "(1, 1) array into a number, which NumPy 2.4 and later refuse: write "
                "`int(nn.predict(x.reshape(1, -1)).item() >= 0.5)` instead")
    shown = f"`{line}` takes" if line else "a line of your program takes"
    return (f"; {shown} a (1, 1) array as a number (float(), int(), math.log(), ...), which "
            "NumPy 2.4 and later refuse: take the number out first with `.item()` "
            "(`value.item()`) or an index (`value[0, 0]`)")


def numpy_hint(message: str, source_line: str | None = None) -> str:
    """The hint for an error current NumPy raises where older NumPy did not, else ``""``."""
    return removed_name_hint(message) or scalar_trap_hint(message, source_line)
