"""Definitions mode: keep a module's definitions, drop its top-level side effects.

Runs inside the sandboxed child as the top-level module ``definitions`` (standard library only;
never imports the grader).  :func:`definitions_only` parses a script or a notebook cell and
returns a new :class:`ast.Module` holding only what defines things:

kept
    imports (``from __future__`` included); function and class definitions, whole, with their
    decorators; assignments (``=``, annotated, augmented) to plain names whose value is
    *simple* (see :func:`is_simple`); ``if`` and ``try`` blocks whose tests are simple and
    whose every statement is itself kept (``try: import x except ImportError: x = None``,
    ``if sys.version_info >= (3, 8): ...``); ``global``, ``pass``; docstrings and other bare
    constants.
dropped
    loops (``for``, ``while``); bare calls (``plt.show()``, ``train(...)``, ``np.random.seed(1)``,
    ``print(...)``, ``input()``, ``exec(...)``); assignments whose value calls anything not in
    :data:`ALLOWED_CALLS` (``X, Y = generate_XOR_easy()``, ``nn = NN(...)``) or that assign into
    an object (``cfg["lr"] = 0.1``, ``nn.lr = 0.1``); ``if __name__ == "__main__":`` blocks;
    ``if``/``try`` blocks holding anything dropped; ``with``, ``del``, ``assert``, ``raise``,
    ``match``, top-level ``await`` and any other expression statement; and a kept
    assignment, ``if`` or ``try`` that reads a name only dropped code has defined so far
    (``X, Y = generate_XOR_easy()`` dropped, then ``n = X.shape[0]``: it would raise
    ``NameError``; it is dropped with a ``reason``).

Each dropped statement is reported (:class:`Dropped`: line, kind, one line of text).  The
result also says which names the kept code reads as globals but only dropped code defines
(``needed_dropped_names``): such a module's functions would fail with ``NameError`` unless the
whole module is executed.  Scopes are resolved with :mod:`symtable`, so a function's own
parameters and local variables are never mistaken for globals.
"""

from __future__ import annotations

import __future__
import ast
import builtins
import io
import symtable
import tokenize
from dataclasses import dataclass, field
from typing import Any

NUMPY_ALIASES = ("np", "numpy")

ALLOWED_NUMPY_CALLS = frozenset({
    "array", "asarray", "zeros", "ones", "empty", "full", "eye", "identity", "arange",
    "linspace", "zeros_like", "ones_like", "float32", "float64", "int32", "int64", "dtype",
    "random.default_rng", "random.RandomState",
})
"""Cheap NumPy constructors allowed in a kept assignment, after ``np.`` or ``numpy.``."""

ALLOWED_CALLS = frozenset({
    # builtin constructors
    "dict", "list", "tuple", "set", "frozenset", "float", "int", "str", "bool", "complex",
    "bytes", "range", "slice", "object",
    # standard-library constructors students put at module level
    "namedtuple", "collections.namedtuple", "defaultdict", "collections.defaultdict",
    "OrderedDict", "collections.OrderedDict", "TypeVar", "typing.TypeVar", "NewType",
    "typing.NewType", "partial", "functools.partial", "logging.getLogger",
    "os.path.join", "os.path.dirname", "os.path.abspath", "os.path.basename",
    "os.environ.get", "os.getenv",
})
"""Calls allowed in a kept assignment (dotted names as written), besides
:data:`ALLOWED_NUMPY_CALLS`."""

MODULE_DUNDERS = frozenset({
    "__name__", "__file__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__",
    "__path__", "__cached__", "__annotations__", "__dict__", "__debug__",
})

BUILTIN_NAMES = frozenset(dir(builtins)) | MODULE_DUNDERS


@dataclass
class Dropped:
    """One dropped top-level statement."""

    line: int
    kind: str
    """loop, call, print, exec, await, assignment, main-guard, if, try, with, del, assert,
    raise, match, expression or other."""
    text: str
    """The statement's first line, stripped and shortened."""
    end_line: int = 0
    cell: int | None = None
    """1-based code-cell number, for notebooks (set by the loader)."""
    reason: str | None = None
    """Why a statement that is otherwise kept was dropped, e.g. ``uses X, which only dropped
    code defines``."""

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "end_line": self.end_line, "kind": self.kind,
                "text": self.text, "cell": self.cell, "reason": self.reason}


@dataclass
class DefinitionsResult:
    module: ast.Module
    """The kept statements, ready for ``compile(module, filename, "exec")``."""
    dropped: list[Dropped] = field(default_factory=list)
    kept_names: list[str] = field(default_factory=list)
    """Names bound at module level by kept code (incl. ``global`` names its functions assign)."""
    dropped_names: list[str] = field(default_factory=list)
    """Names bound at module level by dropped statements."""
    global_reads: list[str] = field(default_factory=list)
    """Names kept code reads as globals (function and class bodies, defaults, decorators,
    kept values), builtins excluded."""
    needed_dropped_names: list[str] = field(default_factory=list)
    """``global_reads`` that only dropped code defines."""
    docstring: str | None = None


# --- simple expressions -------------------------------------------------------------------------

def dotted_name(node: ast.expr) -> str | None:
    """``np.random.seed`` for the expression ``np.random.seed``; None if not a dotted name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def is_allowed_call(func: ast.expr) -> bool:
    name = dotted_name(func)
    if name is None:
        return False
    if name in ALLOWED_CALLS:
        return True
    head, _, rest = name.partition(".")
    return head in NUMPY_ALIASES and rest in ALLOWED_NUMPY_CALLS


def is_simple(node: ast.AST | None) -> bool:
    """Cheap to evaluate and calls nothing but :data:`ALLOWED_CALLS` (lambdas: only defaults)."""
    if node is None:
        return True
    if isinstance(node, (ast.Constant, ast.Name)):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(is_simple(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is None or is_simple(k) for k in node.keys) and all(
            is_simple(v) for v in node.values)
    if isinstance(node, ast.Starred):
        return is_simple(node.value)
    if isinstance(node, ast.UnaryOp):
        return is_simple(node.operand)
    if isinstance(node, ast.BinOp):
        return is_simple(node.left) and is_simple(node.right)
    if isinstance(node, ast.BoolOp):
        return all(is_simple(v) for v in node.values)
    if isinstance(node, ast.Compare):
        return is_simple(node.left) and all(is_simple(c) for c in node.comparators)
    if isinstance(node, ast.IfExp):
        return is_simple(node.test) and is_simple(node.body) and is_simple(node.orelse)
    if isinstance(node, ast.Attribute):
        return is_simple(node.value)
    if isinstance(node, ast.Subscript):
        return is_simple(node.value) and is_simple(node.slice)
    if isinstance(node, ast.Slice):
        return is_simple(node.lower) and is_simple(node.upper) and is_simple(node.step)
    if isinstance(node, ast.Lambda):
        args = node.args
        return all(is_simple(d) for d in args.defaults) and all(
            d is None or is_simple(d) for d in args.kw_defaults)
    if isinstance(node, ast.JoinedStr):
        return all(is_simple(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return is_simple(node.value) and is_simple(node.format_spec)
    if isinstance(node, ast.Call):
        return (is_allowed_call(node.func) and all(is_simple(a) for a in node.args)
                and all(is_simple(k.value) for k in node.keywords))
    return False


# --- statements ---------------------------------------------------------------------------------

def _is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = (test.left, test.comparators[0])
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)


def _plain_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_plain_target(e) for e in target.elts)
    if isinstance(target, ast.Starred):
        return _plain_target(target.value)
    return False


def _calls_in(node: ast.AST) -> list[str]:
    return [dotted_name(n.func) or "" for n in ast.walk(node) if isinstance(n, ast.Call)]


def _expression_kind(value: ast.expr) -> str:
    calls = _calls_in(value)
    if any(c in ("exec", "eval", "builtins.exec", "builtins.eval") for c in calls):
        return "exec"
    if any(isinstance(n, ast.Await) for n in ast.walk(value)):
        return "await"
    if isinstance(value, ast.Call) and dotted_name(value.func) == "print":
        return "print"
    if isinstance(value, ast.Call):
        return "call"
    return "expression"


def classify(stmt: ast.stmt) -> tuple[bool, str]:
    """(keep, kind) for one statement, following the module docstring's rules."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return True, "import"
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return True, "function"
    if isinstance(stmt, ast.ClassDef):
        return True, "class"
    if isinstance(stmt, (ast.Pass, ast.Global)):
        return True, "pass" if isinstance(stmt, ast.Pass) else "global"
    type_alias = getattr(ast, "TypeAlias", None)
    if type_alias is not None and isinstance(stmt, type_alias):
        return True, "type-alias"
    if isinstance(stmt, ast.Expr):
        if isinstance(stmt.value, ast.Constant):
            return True, "docstring"
        return False, _expression_kind(stmt.value)
    if isinstance(stmt, ast.Assign):
        if all(_plain_target(t) for t in stmt.targets) and is_simple(stmt.value):
            return True, "assignment"
        kind = _expression_kind(stmt.value)
        return False, kind if kind in ("exec", "await") else "assignment"
    if isinstance(stmt, ast.AnnAssign):
        if isinstance(stmt.target, ast.Name) and is_simple(stmt.value):
            return True, "assignment"
        return False, "assignment"
    if isinstance(stmt, ast.AugAssign):
        if isinstance(stmt.target, ast.Name) and is_simple(stmt.value):
            return True, "assignment"
        return False, "assignment"
    if isinstance(stmt, ast.If):
        if _is_main_guard(stmt.test):
            return False, "main-guard"
        if is_simple(stmt.test) and all(classify(s)[0] for s in stmt.body + stmt.orelse):
            return True, "if"
        return False, "if"
    try_star = getattr(ast, "TryStar", None)
    if isinstance(stmt, ast.Try) or (try_star is not None and isinstance(stmt, try_star)):
        bodies = stmt.body + stmt.orelse + stmt.finalbody
        handlers_ok = all(is_simple(h.type) and all(classify(s)[0] for s in h.body)
                          for h in stmt.handlers)
        if handlers_ok and all(classify(s)[0] for s in bodies):
            return True, "try"
        return False, "try"
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        return False, "loop"
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return False, "with"
    if isinstance(stmt, ast.Delete):
        return False, "del"
    if isinstance(stmt, ast.Assert):
        return False, "assert"
    if isinstance(stmt, ast.Raise):
        return False, "raise"
    if isinstance(stmt, ast.Match):
        return False, "match"
    return False, "other"


# --- names --------------------------------------------------------------------------------------

def bound_names(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the module namespace (not inside its functions)."""
    names: set[str] = set()
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            stack.extend(node.decorator_list)  # evaluated at module level, may hold := only
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.partition(".")[0])
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return names


def module_level_reads(stmt: ast.stmt) -> set[str]:
    """Names a kept assignment, ``if`` or ``try`` reads when it runs (not inside the bodies of
    the functions, classes and lambdas it may hold)."""
    names: set[str] = set()
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        names.add(stmt.target.id)
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return names


_VALUE_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.If, ast.Try)


def _scope_analysis(module: ast.Module) -> tuple[set[str], set[str]]:
    """(names read as globals, names bound as globals by ``global`` statements in functions)."""
    try:
        table = symtable.symtable(ast.unparse(module), "<kept>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return set(), set()
    reads: set[str] = set()
    declared: set[str] = set()
    for sym in table.get_symbols():
        if sym.is_referenced():
            reads.add(sym.get_name())
    stack = list(table.get_children())
    while stack:
        scope = stack.pop()
        stack.extend(scope.get_children())
        for sym in scope.get_symbols():
            if not sym.is_global():
                continue
            if sym.is_referenced():
                reads.add(sym.get_name())
            if sym.is_declared_global() and sym.is_assigned():
                declared.add(sym.get_name())
    return reads, declared


def future_flags(module: ast.Module) -> int:
    """Compiler flags of the module's ``from __future__ import ...`` statements."""
    flags = 0
    for stmt in module.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            for alias in stmt.names:
                feature = getattr(__future__, alias.name, None)
                if feature is not None:
                    flags |= feature.compiler_flag
    return flags


def _without_comment(text: str) -> str:
    if "#" not in text:
        return text
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text + "\n").readline):
            if tok.type == tokenize.COMMENT:
                return text[:tok.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return text


def _one_line(lines: list[str], stmt: ast.stmt, limit: int = 100) -> str:
    try:
        text = _without_comment(lines[stmt.lineno - 1].strip())
    except IndexError:
        text = type(stmt).__name__
    end = getattr(stmt, "end_lineno", None) or stmt.lineno
    compound = isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With,
                                 ast.AsyncWith, ast.Try, ast.Match))
    if end > stmt.lineno and not compound and not text.endswith("..."):
        text += " ..."
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


def definitions_only(source: str, filename: str) -> DefinitionsResult:
    """Parse ``source`` and keep only its definitions (raises SyntaxError like ``ast.parse``)."""
    tree = ast.parse(source, filename=filename)
    lines = source.splitlines()
    kept: list[ast.stmt] = []
    dropped: list[Dropped] = []
    kept_names: set[str] = set()
    dropped_names: set[str] = set()
    for stmt in tree.body:
        keep, kind = classify(stmt)
        reason = None
        if keep and isinstance(stmt, _VALUE_STATEMENTS):
            # a kept value built from what dropped code defines would only raise NameError
            missing = sorted(module_level_reads(stmt) & (dropped_names - kept_names))
            if missing:
                keep = False
                reason = f"uses {', '.join(missing)}, which only dropped code defines"
        if keep:
            kept.append(stmt)
            kept_names |= bound_names(stmt)
        else:
            dropped.append(Dropped(line=stmt.lineno, kind=kind, text=_one_line(lines, stmt),
                                   end_line=getattr(stmt, "end_lineno", None) or stmt.lineno,
                                   reason=reason))
            dropped_names |= bound_names(stmt)
    module = ast.Module(body=kept, type_ignores=[])
    reads, declared = _scope_analysis(module)
    kept_names |= declared
    reads -= BUILTIN_NAMES
    needed = (reads - kept_names) & dropped_names
    return DefinitionsResult(
        module=module, dropped=dropped, kept_names=sorted(kept_names),
        dropped_names=sorted(dropped_names), global_reads=sorted(reads),
        needed_dropped_names=sorted(needed), docstring=ast.get_docstring(tree, clean=False))
