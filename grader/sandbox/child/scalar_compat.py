"""One-element arrays taken as numbers again, in the student's code, while the grader learns and
checks a network.

NumPy 2.4 refuses ``float(a)``, ``int(a)``, ``math.log(a)`` and ``"%f" % a`` for an array of one
element that is not 0-d (``loss`` of shape (1, 1)); older NumPy allowed it.  A student who wrote
the lab on an older NumPy has a network that works and a program that now stops at its first
loss print, before the grader has seen a single training step.  While tracing and checking,
the student's own code (the main file, its notebook cells and the student's modules it
imports) is compiled with each such conversion's argument passed through :func:`scalar` first,
which does what NumPy did before: take the element out.  Library code is untouched, and the
``program`` check runs the program on NumPy as it is and says which line fails and why.

Rewriting the student's source is the only place this can be done: ``ndarray.__float__`` is
NumPy's own C method, and replacing ``builtins.float`` would change every library too.
"""

from __future__ import annotations

import ast
import builtins
import importlib.machinery
import importlib.util
import os
import sys
from typing import Any, Sequence

import numpy as np

HELPER = "__labgrade_scalar__"
"""The name the rewritten code calls: a builtin, so that every student module sees it."""
CONVERTERS = frozenset({"float", "int", "complex"})
"""``float(a)``, and NumPy's removed aliases of them, ``np.float(a)``, given back by
``numpy_compat.py``."""
NUMBER_MODULES = frozenset({"math", "cmath"})
"""``math.log(a)``, ``math.exp(a)``: every argument is taken as a number."""


def scalar(value: Any) -> Any:
    """The element of a one-element array that is not 0-d, as NumPy before 2.4 took it when a
    number was asked for; anything else as it is."""
    if type(value) is np.ndarray and value.ndim > 0 and value.size == 1:
        return value.reshape(()).item()
    return value


def _wrapped(node: ast.expr) -> ast.expr:
    if isinstance(node, (ast.Starred, ast.Constant)):
        return node
    call = ast.Call(func=ast.Name(id=HELPER, ctx=ast.Load()), args=[node], keywords=[])
    return ast.copy_location(call, node)


class _Conversions(ast.NodeTransformer):
    """Passes the argument of each conversion to a number through :func:`scalar`."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        converter = (isinstance(func, ast.Name) and func.id in CONVERTERS) or (
            isinstance(func, ast.Attribute) and func.attr in CONVERTERS
            and isinstance(func.value, ast.Name))
        if converter and node.args:
            node.args[0] = _wrapped(node.args[0])
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                func.value.id in NUMBER_MODULES:
            node.args = [_wrapped(a) for a in node.args]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and \
                isinstance(node.left.value, str):  # "%.4f" % loss
            if isinstance(node.right, ast.Tuple):
                node.right.elts = [_wrapped(e) for e in node.right.elts]
            else:
                node.right = _wrapped(node.right)
        return node


def rewrite(tree: ast.AST) -> ast.AST:
    """The tree with every conversion to a number softened (changed in place)."""
    return ast.fix_missing_locations(_Conversions().visit(tree))


class _StudentModuleLoader(importlib.machinery.SourceFileLoader):
    """Loads a module of the submission from its source, rewritten; never from a cached
    ``.pyc`` (one written by the program check holds the code as the student wrote it) and
    never writing one (the program check must not find this one)."""

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        source = importlib.util.decode_source(self.get_data(path))
        tree = compile(source, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
        return compile(rewrite(tree), path, "exec", dont_inherit=True)


class _StudentModules:
    """Finds the submission's own modules (``from model import MLP``) to load them rewritten."""

    def __init__(self, folder: str) -> None:
        self.folder = os.path.join(os.path.realpath(folder), "")

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        origin = getattr(spec, "origin", None) or ""
        if spec is None or not origin.endswith(".py") or \
                not os.path.realpath(origin).startswith(self.folder):
            return None  # not the student's: the finders after this one decide (and refuse
            # the grader's own packages to a submission)
        spec.loader = _StudentModuleLoader(fullname, origin)
        return spec


def install(folder: str) -> None:
    """Soften the conversions in the student's modules under ``folder`` from now on (the main
    file and notebook cells are rewritten by the loader, which calls :func:`rewrite`)."""
    setattr(builtins, HELPER, scalar)
    if not any(isinstance(f, _StudentModules) for f in sys.meta_path):
        sys.meta_path.insert(0, _StudentModules(folder))


def uninstall() -> None:
    """Undo :func:`install`: a fresh run of the program (``fresh.py``) forks a worker that
    installed it, and the program must meet NumPy as it is."""
    if hasattr(builtins, HELPER):
        delattr(builtins, HELPER)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _StudentModules)]
