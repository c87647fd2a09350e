"""NumPy, imported the first time one of its names is used: ``from reference.deferred import np``.

The reference and the grader's checks are imported whenever the grader starts, and a
student's ``labgrade check`` waits for that start.  Importing NumPy takes about as long as
all the rest of it, and the grader's own process needs no array until a check compares one:
the submission's sandbox, which has NumPy of its own, is started meanwhile.  So the modules
that only use NumPy inside their functions name it through this stand-in, which imports
NumPy on the first attribute asked of it and then holds each name like a module would.

Type checkers see NumPy itself.  A name used at a module's top level (``np.ndarray`` in an
alias, a constant computed with NumPy) imports NumPy right away, as a plain import would:
keep such names under ``TYPE_CHECKING`` or compute the constant without NumPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any


class DeferredModule:
    """Stands for a module until one of its attributes is asked for, then imports it."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_deferred_name", name)

    def __getattr__(self, attr: str) -> Any:
        # only called for names not held yet: each is looked up once, then it is an
        # ordinary attribute of this object (a module's names never change)
        value = getattr(importlib.import_module(self._deferred_name), attr)
        object.__setattr__(self, attr, value)
        return value

    def __repr__(self) -> str:
        return f"<deferred module {self._deferred_name!r}>"


if TYPE_CHECKING:
    import numpy as np
else:
    np = DeferredModule("numpy")
