"""What a loaded namespace defines: the student's classes and functions, without running them.

Runs inside the sandboxed child as the top-level module ``describe`` (standard library only).
Nothing here calls student code: attributes are read from ``__dict__`` through ``type``'s own
descriptors, signatures are built from code objects, and a default value is shown with
``repr`` only if its type is a builtin one (else as ``<TypeName>``).  ``isinstance`` is avoided
on student objects (it may read a ``__class__`` property).
"""

from __future__ import annotations

import itertools
import linecache
import os
import re
import sys
import types
from typing import Any

MAX_SIGNATURE = 200
MAX_DEFAULT = 40
CELL_FILE = re.compile(r"^<cell (\d+)>$")

_type_dict = type.__dict__["__dict__"]
_type_mro = type.__dict__["__mro__"]
_type_name = type.__dict__["__name__"]
_type_module = type.__dict__["__module__"]

_SCALARS = (type(None), bool, int, float, complex, str, bytes)
_CONTAINERS = (tuple, list, set, frozenset, dict)

CO_VARARGS = 0x04
CO_VARKEYWORDS = 0x08


def _one_of(kind: Any, kinds: tuple) -> bool:
    """``kind in kinds`` by identity: ``in`` would call a student metaclass's ``__eq__``."""
    return any(kind is k for k in kinds)


def _is_class(obj: Any) -> bool:
    return issubclass(type(obj), type)


def class_name(cls: type) -> str:
    """A class's ``__name__`` read through ``type`` itself (a metaclass cannot intercept it)."""
    try:
        return str(_type_name.__get__(cls))
    except Exception:  # noqa: BLE001
        return "?"


def type_name(obj: Any) -> str:
    return class_name(type(obj))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def safe_repr(value: Any, depth: int = 0) -> str:
    """``repr`` for builtin values only; ``<TypeName>`` (or a function's name) otherwise."""
    kind = type(value)
    if _one_of(kind, _SCALARS):
        if kind is int and value.bit_length() > 64:
            return "<int>"
        if kind is str or kind is bytes:
            value = value[:MAX_DEFAULT]
        return _short(repr(value), MAX_DEFAULT)
    if _one_of(kind, _CONTAINERS) and depth < 2:
        if kind is dict:
            items = list(itertools.islice(value.items(), 6))
            inner = ", ".join(f"{safe_repr(k, depth + 1)}: {safe_repr(v, depth + 1)}"
                              for k, v in items)
            more = ", ..." if len(value) > 6 else ""
            return _short("{" + inner + more + "}", MAX_DEFAULT)
        items = list(itertools.islice(value, 6))
        inner = ", ".join(safe_repr(v, depth + 1) for v in items)
        more = ", ..." if len(value) > 6 else ""
        if kind is tuple:
            text = "(" + inner + ("," if len(value) == 1 else "") + more + ")"
        elif kind is list:
            text = "[" + inner + more + "]"
        else:
            text = f"{class_name(kind)}({{{inner}{more}}})" if value else f"{class_name(kind)}()"
        return _short(text, MAX_DEFAULT)
    if kind is types.FunctionType or kind is types.BuiltinFunctionType:
        try:
            return str(value.__name__)
        except Exception:  # noqa: BLE001
            return "<function>"
    if kind is type:
        return class_name(value)
    return f"<{type_name(value)}>"


def _annotation(value: Any) -> str:
    if type(value) is str:
        return _short(value, MAX_DEFAULT)
    if type(value) is type:
        return class_name(value)
    try:
        module = _type_module.__get__(type(value))
    except Exception:  # noqa: BLE001
        module = None
    if type(module) is str and module in ("typing", "types", "builtins") and (
            type(value) is not object):
        try:
            return _short(repr(value).replace("typing.", ""), MAX_DEFAULT)
        except Exception:  # noqa: BLE001
            return "<...>"
    return "<...>"


def _unwrap(func: types.FunctionType) -> types.FunctionType:
    """Follow ``functools.wraps``' ``__wrapped__`` to a plain function, a few steps at most."""
    for _ in range(5):
        inner = func.__dict__.get("__wrapped__")
        if type(inner) is not types.FunctionType:
            break
        func = inner
    return func


def signature(func: Any) -> str:
    """``(self, dim, activation=sigmoid, loss=mse)`` for a plain function; ``?`` otherwise."""
    if type(func) is not types.FunctionType:
        return "?"
    try:
        func = _unwrap(func)
        code = func.__code__
        defaults = func.__defaults__ or ()
        kwdefaults = func.__kwdefaults__ or {}
        annotations = func.__annotations__
        if type(annotations) is not dict:
            annotations = {}
        names = code.co_varnames
        npos = code.co_argcount
        nposonly = code.co_posonlyargcount
        nkw = code.co_kwonlyargcount
        parts: list[str] = []

        def param(name: str, default: Any = None, has_default: bool = False) -> str:
            text = name
            if name in annotations:
                text += f": {_annotation(annotations[name])}"
                if has_default:
                    return text + f" = {safe_repr(default)}"
            if has_default:
                text += f"={safe_repr(default)}"
            return text

        first_default = npos - len(defaults)
        for i in range(npos):
            has = i >= first_default
            parts.append(param(names[i], defaults[i - first_default] if has else None, has))
            if nposonly and i == nposonly - 1:
                parts.append("/")
        index = npos + nkw
        if code.co_flags & CO_VARARGS:
            parts.append("*" + param(names[index]))
            index += 1
        elif nkw:
            parts.append("*")
        for i in range(npos, npos + nkw):
            name = names[i]
            parts.append(param(name, kwdefaults.get(name), name in kwdefaults))
        if code.co_flags & CO_VARKEYWORDS:
            parts.append("**" + param(names[index]))
        text = "(" + ", ".join(parts) + ")"
        if "return" in annotations:
            text += f" -> {_annotation(annotations['return'])}"
        return _short(text, MAX_SIGNATURE)
    except Exception:  # noqa: BLE001 -- a signature is a courtesy, never a failure
        return "?"


class _StudentFiles:
    """Decides whether a code object's file is the student's: a notebook cell or a file inside
    the working directory (or the main file)."""

    def __init__(self, main_file: str | None) -> None:
        self.cwd = os.path.realpath(os.getcwd())
        self.own = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
        self.main = os.path.realpath(main_file) if main_file else None
        self._cache: dict[str, bool] = {}

    def is_student(self, filename: str) -> bool:
        if filename in self._cache:
            return self._cache[filename]
        if CELL_FILE.match(filename):
            result = True
        elif filename.startswith("<"):
            result = False
        else:
            real = os.path.realpath(filename)
            result = (real == self.main or real.startswith(self.cwd + os.sep)) and not (
                real.startswith(self.own + os.sep))
            if "site-packages" in real.split(os.sep) or "dist-packages" in real.split(os.sep):
                result = result and real == self.main
        self._cache[filename] = result
        return result

    def is_main(self, filename: str) -> bool:
        """The main file itself or a notebook cell (every student file without a main file)."""
        if CELL_FILE.match(filename):
            return True
        if self.main is None:
            return self.is_student(filename)
        return not filename.startswith("<") and os.path.realpath(filename) == self.main

    def display(self, filename: str) -> str:
        match = CELL_FILE.match(filename)
        if match:
            return f"cell {match.group(1)}"
        real = os.path.realpath(filename)
        if real.startswith(self.cwd + os.sep):
            return os.path.relpath(real, self.cwd)
        return os.path.basename(filename)


def _functions_of(cls: type) -> list[tuple[str, types.FunctionType]]:
    """(name, function) for the plain, static and class methods in a class's own ``__dict__``."""
    found = []
    try:
        items = list(_type_dict.__get__(cls).items())
    except Exception:  # noqa: BLE001
        return found
    for name, value in items:
        if type(name) is not str:
            continue
        if _one_of(type(value), (staticmethod, classmethod)):
            value = value.__func__
        if type(value) is types.FunctionType:
            found.append((name, value))
    return found


def _class_line(cls: type, filename: str, first_method_line: int) -> int:
    name = class_name(cls)
    lineno = None
    try:
        own = _type_dict.__get__(cls)
        if type(own.get("__firstlineno__")) is int:
            return own["__firstlineno__"]
    except Exception:  # noqa: BLE001
        pass
    lines = linecache.getlines(filename)
    pattern = re.compile(r"^\s*class\s+" + re.escape(name) + r"\b")
    start = min(first_method_line, len(lines))
    for i in range(start - 1, -1, -1):
        if pattern.match(lines[i]):
            lineno = i + 1
            break
    return lineno or first_method_line


def describe(namespace: dict, *, main_file: str | None = None) -> dict:
    """``{"classes": {...}, "functions": {...}}`` for what the student's code defined.

    ``classes[name]``: ``methods`` (sorted names of the functions defined on the class and on
    its student-defined bases, ``__init__`` included), ``init_signature``, ``bases`` (names),
    ``defined_in`` (a path relative to the working directory, or ``"cell N"``), ``line``.
    ``functions[name]``: ``signature``, ``defined_in``, ``line``.  Both sorted by name.

    Functions: only those defined by ``main_file`` itself or by notebook cells (a helper the
    main file imports from a sibling module is not listed).  Classes: those defined by any of
    the student's files (the main file, the cells, or a module inside the working directory,
    so that ``from model import NN`` still shows the lab's class; ``defined_in`` says where).
    Without ``main_file``, functions from any student file are listed too.
    """
    files = _StudentFiles(main_file)
    classes: dict[str, dict] = {}
    functions: dict[str, dict] = {}
    try:
        items = list(namespace.items())
    except Exception:  # noqa: BLE001
        items = []
    module_name = namespace.get("__name__") if type(namespace) is dict else None
    for name, value in items:
        if type(name) is not str or (name.startswith("__") and name.endswith("__")):
            continue
        if type(value) is types.FunctionType:
            code = value.__code__
            if not files.is_main(code.co_filename):
                continue
            functions[name] = {"signature": signature(value),
                               "defined_in": files.display(code.co_filename),
                               "line": code.co_firstlineno}
        elif _is_class(value):
            info = _describe_class(value, files, module_name)
            if info is not None:
                classes[name] = info
    return {"classes": dict(sorted(classes.items())),
            "functions": dict(sorted(functions.items()))}


def _student_class(cls: type, files: _StudentFiles, module_name: Any) -> tuple[bool, str, int]:
    """(is the student's, file, line) for one class.

    The student's if one of its own functions comes from a student file, or if its
    ``__module__`` is the namespace's own (a class statement of the main file or of a cell),
    or a module whose file is the student's (generated methods, e.g. a dataclass's
    ``__init__``, come from ``"<string>"`` or from the library, so they cannot decide)."""
    lines = [(f.__code__.co_firstlineno, f.__code__.co_filename) for _, f in _functions_of(cls)]
    mine = [(line, filename) for line, filename in lines if files.is_student(filename)]
    if mine:
        line, filename = min(mine)
        return True, filename, line
    try:
        module = _type_dict.__get__(cls).get("__module__")
    except Exception:  # noqa: BLE001
        module = None
    if type(module) is not str:
        return False, "", 0
    if module_name is not None and module == module_name:
        filename, line = _find_class_statement(class_name(cls), files, None)
        return True, filename, line
    loaded = sys.modules.get(module)
    path = loaded.__dict__.get("__file__") if type(loaded) is types.ModuleType else None
    if type(path) is str and files.is_student(path):
        filename, line = _find_class_statement(class_name(cls), files, path)
        return True, filename or path, line
    return False, "", 0


def _find_class_statement(name: str, files: _StudentFiles,
                          path: str | None) -> tuple[str, int]:
    """(file, line) of the last ``class name`` statement in ``path``, else in the main file or
    the notebook cells (a class without methods of its own has no code object to say where
    it is)."""
    pattern = re.compile(r"^\s*class\s+" + re.escape(name) + r"\b")
    if path is not None:
        candidates = [path]
    else:
        cells = sorted((int(m.group(1)), key) for key in list(linecache.cache)
                       if type(key) is str and (m := CELL_FILE.match(key)))
        candidates = ([files.main] if files.main else []) + [key for _, key in cells]
    found = ("", 0)
    for filename in candidates:
        for number, text in enumerate(linecache.getlines(filename), start=1):
            if pattern.match(text):
                found = (filename, number)
    return found


def _describe_class(cls: type, files: _StudentFiles, module_name: Any) -> dict | None:
    mine, filename, first_line = _student_class(cls, files, module_name)
    if not mine:
        return None
    try:
        mro = list(_type_mro.__get__(cls))
    except Exception:  # noqa: BLE001
        mro = [cls]
    methods: set[str] = set()
    init: Any = None
    init_found_elsewhere = False
    for klass in mro:
        if klass is object:
            continue
        student = klass is cls or _student_class(klass, files, module_name)[0]
        own = dict(_functions_of(klass))
        if student:
            methods.update(own)
            if init is None and not init_found_elsewhere and "__init__" in own:
                init = own["__init__"]
        else:
            try:
                if "__init__" in _type_dict.__get__(klass):
                    init_found_elsewhere = init_found_elsewhere or init is None
            except Exception:  # noqa: BLE001
                pass
    if init is not None:
        init_signature = signature(init)
    elif init_found_elsewhere:
        init_signature = "?"
    else:
        init_signature = "(self)"
    try:
        bases = [class_name(b) for b in type.__dict__["__bases__"].__get__(cls)]
    except Exception:  # noqa: BLE001
        bases = []
    return {
        "methods": sorted(methods),
        "init_signature": init_signature,
        "bases": [b for b in bases if b != "object"],
        "defined_in": files.display(filename) if filename else "",
        "line": _class_line(cls, filename, first_line) if filename else 0,
    }
