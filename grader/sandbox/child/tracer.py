"""Record how a student's own program builds and drives its network: the ``trace`` operation.

A TA learns how to drive a student's network by reading the main program (``Net(2, 4, 4, 1,
lr=0.1)``, then ``out = net.forward(X); net.backward(X, Y, out); net.update()`` in a loop, or a
``train(net, X, Y)`` function, or a model that trains itself in its constructor).  The grader
does the same: it runs the student's program here, in execute mode (``__name__ ==
"__main__"``, through ``loader.py``, so figures, ``input()``, time limits, relative imports and
magics behave as in the ``program`` check), under a trace hook that records how the student's
classes are constructed and how their methods are called, and stops the program after a few
training steps.  The parent learns from the record how to construct the network again and what
one training step is; nothing here judges.

The record is a list of events, in the order they happened (arguments as the call wrote
them: ``args``, with ``names``, the parameters that took them, and ``kwargs``, each value a
descriptor):

* ``construct``: an ``__init__`` of a class defined in a student file ran for a new object
  (the outermost one: a subclass's ``super().__init__`` adds nothing);
* ``call``: a method of a student object was called from outside that object (the top level,
  a student function such as ``train``, or another object), with its arguments, its result (or
  the exception it raised), the float arrays of the object it changed (``"new"``: those of them
  that appeared, a cache or a gradient stored for the first time), and its duration;
  calls a method makes on its own object (``forward`` calling ``self.sigmoid``) are internal,
  except those the first outside call of a method makes directly (``net.train(X, Y)`` calling
  ``self.forward(x)``, not ``forward`` then calling ``self.sigmoid``): a program that trains
  inside one long method shows its step there.  Those are recorded as calls too, with
  ``"within"``: the number of the outside call's event, and the object as their caller;
* ``function``: a plain function of a student file was called from the top level or from
  another such function (not from inside a method).

Values are *descriptors* (plain JSON) that the parent can replay: numbers and literals as they
are, arrays by shape, dtype, a small summary, their values (or the first of them, for a large
array: enough to recognise a loss gradient the program computed itself) and a ``ref`` that is
the same for the same array object (so that ``backward(X, Y, out)`` can be seen to receive the very array ``forward``
returned), student objects by the tracer's own object number.  Describing never runs student
code: no ``repr`` of a student's object, no attribute that could be a property, only ``type``
and ``__dict__``.

The run stops when one method of one object is about to be called for the ``repeats + 1``-th
time, from outside or within (that call does not run, so the last recorded step is whole:
``repeats``), when the ``seconds`` are spent (``time``: the loader's time limit, for a script;
for a notebook an enclosing timer that cuts every cell's own limit to what is left), or when
the program ends
(``ended``) or fails (``error``).

Student files are those ``describe.py`` calls the student's: notebook cells and files inside
the working directory, never the standard library, NumPy, matplotlib or the child's modules.

The hook is ``sys.settrace``, not ``sys.setprofile``: a profile hook sees a frame return but is
not told which exception left it, and it is also called for every C function; the trace hook
follows only the student's frames (their ``return`` and ``exception`` events, no ``line``
events) and ignores every other frame at its first event.  The run stops by
:class:`StopTracing`, raised by the hook into the student's code: a ``BaseException``, so that a
student's ``except Exception:`` around a training step does not swallow it.  (A bare
``except:`` does; the hook is then gone, and the loader's time limit ends the run.)
"""

from __future__ import annotations

import bisect
import contextlib
import dis
import importlib.util
import inspect
import itertools
import os
import re
import signal
import sys
import time
import types
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

import describe
import arguments
import loader
import probes

MAX_EVENTS = 3000
MAX_FUNCTION_EVENTS = 200
MAX_EVENTS_PER_FUNCTION = 64
"""Events of one function at the most: a helper a data generator calls per point leaves room
for the step's functions."""
MAX_HELD = 16
"""Items of a loop's lists, and attributes of its objects, watched with its variables."""
MAX_STATE = 100
"""Attributes of the network recorded as the state its training method set up."""
MAX_LITERAL_ITEMS = 200
MAX_LITERAL_DEPTH = 4
MAX_STRING = 1000
MAX_SEQUENCE_ITEMS = 16
MAX_SEQUENCE_DEPTH = 3
MAX_ARRAY_VALUES = 64
MAX_COPIED_ELEMENTS = 1_000_000
SUMMARY_ONCE_ABOVE = 100_000
"""Arrays larger than this are summarised once per array object: a data set passed to every
step must not cost a pass over its values at every call."""
MAX_REPR = 120
MAX_NOTES = 20

_MODULE, _TRANSPARENT, _FUNCTION = "module", "transparent", "function"
_NOT_PLAIN_FUNCTION = (inspect.CO_GENERATOR | inspect.CO_COROUTINE
                       | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE)
_RETURN_OPCODES = {dis.opmap[name] for name in ("RETURN_VALUE", "RETURN_CONST")
                   if name in dis.opmap}
_MISSING = object()

# bound now, so that a student's ``signal.setitimer = ...`` cannot switch the budget off
_setitimer = signal.setitimer
_set_handler = signal.signal


class StopTracing(BaseException):
    """Raised into the student's program to end a traced run (not an ``Exception``).

    The loader reports it as an error whose ``exception`` is ``StopTracing``; the tracer takes
    such errors out of the report, since stopping is the grader's doing, not the student's."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the grader ended the traced run ({reason})")
        self.reason = reason


# --- what is the student's -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Method:
    name: str
    function: types.FunctionType | None
    is_property: bool = False


class _StudentCode:
    """Which code objects, classes and functions are the student's.

    The hook asks on every new frame, so each answer is cached (by code object, by class)."""

    def __init__(self, main_file: str | None) -> None:
        self.files = describe._StudentFiles(main_file)
        self._kinds: dict[types.CodeType, str | None] = {}
        self._classes: dict[type, bool] = {}
        self._methods: dict[type, dict[types.CodeType, _Method]] = {}

    def kind(self, code: types.CodeType) -> str | None:
        """None for code that is not the student's; else module code, a plain function or
        method, or *transparent* code (class bodies, lambdas, comprehensions, generators) that
        runs on behalf of whatever called it."""
        try:
            return self._kinds[code]
        except KeyError:
            pass
        if not self.files.is_student(code.co_filename):
            kind = None
        elif code.co_name == "<module>":
            kind = _MODULE
        elif (not code.co_flags & inspect.CO_OPTIMIZED or code.co_name.startswith("<")
              or code.co_flags & _NOT_PLAIN_FUNCTION):
            kind = _TRANSPARENT
        else:
            kind = _FUNCTION
        self._kinds[code] = kind
        return kind

    def is_student_class(self, cls: Any) -> bool:
        try:
            return self._classes[cls]
        except KeyError:
            pass
        except TypeError:  # an unhashable metaclass instance
            return False
        mine = False
        if not issubclass(type(cls), type) or issubclass(cls, type):
            mine = False
        else:
            try:
                mine = describe._student_class(cls, self.files, "__main__")[0]
            except Exception:  # noqa: BLE001 -- a class we cannot read is not recorded
                mine = False
        self._classes[cls] = mine
        return mine

    def module_file(self, cls: type) -> str:
        try:
            _, filename, _ = describe._student_class(cls, self.files, "__main__")
        except Exception:  # noqa: BLE001
            return ""
        return self.files.display(filename) if filename else ""

    def methods(self, cls: type) -> dict[types.CodeType, _Method]:
        """The code of every function reachable as a method of ``cls`` from the student's
        classes in its MRO (the nearest definition wins), property accessors included."""
        try:
            return self._methods[cls]
        except KeyError:
            pass
        found: dict[types.CodeType, _Method] = {}
        for klass in _mro(cls):
            if klass is object or not self.is_student_class(klass):
                continue
            for name, function in describe._functions_of(klass):
                found.setdefault(function.__code__, _Method(name, function))
            for name, accessor in _property_accessors(klass):
                found.setdefault(accessor.__code__, _Method(name, accessor, is_property=True))
        self._methods[cls] = found
        return found


def _mro(cls: type) -> list[type]:
    try:
        return list(type.__dict__["__mro__"].__get__(cls))
    except Exception:  # noqa: BLE001
        return [cls]


def _property_accessors(cls: type) -> list[tuple[str, types.FunctionType]]:
    try:
        items = list(type.__dict__["__dict__"].__get__(cls).items())
    except Exception:  # noqa: BLE001
        return []
    found = []
    for name, value in items:
        if type(value) is property:
            for accessor in (value.fget, value.fset, value.fdel):
                if type(accessor) is types.FunctionType:
                    found.append((name, accessor))
    return found


def _is_class_member(code: types.CodeType) -> bool:
    """A function defined in a class body (a static method, or a method called on something
    that is not a student object), as opposed to a module-level or nested function."""
    parts = code.co_qualname.split(".")
    return len(parts) > 1 and parts[-2] != "<locals>"


# --- how a call was made -------------------------------------------------------------------------

class _CallSites:
    """How many arguments a call passed and which by keyword, read from the calling instruction.

    ``Net(2, 4, 4, 1, lr=0.1)`` binds the same locals as ``Net(2, 4, 4, 1, 0.1)``, and
    ``Net([2, 3, 1])`` the same as ``Net([2, 3, 1], lr=0.1)`` when 0.1 is the default; only the
    caller's bytecode tells them apart, and the parent replays the call as the student wrote
    it."""

    def __init__(self) -> None:
        self._code: dict[types.CodeType, tuple[list[int], list[dis.Instruction]]] = {}

    def call(self, caller: types.FrameType | None) -> tuple[int, tuple[str, ...]] | None:
        """(number of arguments, keyword names) of the call ``caller`` is making, or None when
        it is not a plain call (``f(*args, **kwargs)``, an operator, a C function's own)."""
        if caller is None:
            return None
        offsets, instructions = self._instructions(caller.f_code)
        # a Python-to-Python call leaves f_lasti on the CALL or on one of its cache entries
        index = bisect.bisect_right(offsets, caller.f_lasti) - 1
        if index < 0 or instructions[index].opname not in ("CALL", "CALL_KW"):
            return None
        call = instructions[index]
        names = self._keyword_names(caller.f_code, call, instructions[max(0, index - 3):index])
        return None if names is None or call.arg is None else (call.arg, names)

    @staticmethod
    def _keyword_names(code: types.CodeType, call: dis.Instruction,
                       before: list[dis.Instruction]) -> tuple[str, ...] | None:
        """``KW_NAMES`` before ``CALL`` (3.11, 3.12), a constant before ``CALL_KW`` (3.13)."""
        for previous in reversed(before):
            if previous.opname == "KW_NAMES":
                names = code.co_consts[previous.arg]
                return tuple(names) if type(names) is tuple else None
            if previous.opname == "LOAD_CONST" and call.opname == "CALL_KW":
                return tuple(previous.argval) if type(previous.argval) is tuple else None
            if previous.opname != "PRECALL":
                break
        return None if call.opname == "CALL_KW" else ()

    def _instructions(self, code: types.CodeType) -> tuple[list[int], list[dis.Instruction]]:
        try:
            return self._code[code]
        except KeyError:
            instructions = list(dis.get_instructions(code))
            table = ([i.offset for i in instructions], instructions)
            self._code[code] = table
            return table


def _parameters(code: types.CodeType) -> tuple[tuple[str, ...], tuple[str, ...], str | None,
                                               str | None]:
    """(positional, keyword-only, *args, **kwargs) parameter names of a code object."""
    names = code.co_varnames
    npos, nkw = code.co_argcount, code.co_kwonlyargcount
    index = npos + nkw
    star = names[index] if code.co_flags & inspect.CO_VARARGS else None
    index += star is not None
    starstar = names[index] if code.co_flags & inspect.CO_VARKEYWORDS else None
    return names[:npos], names[npos:npos + nkw], star, starstar


def _is_default(function: types.FunctionType | None, name: str, position: int | None,
                value: Any) -> bool:
    """Whether ``value`` is the very object the function's default for the parameter is."""
    if function is None:
        return False
    if position is None:
        defaults = function.__kwdefaults__ or {}
        return name in defaults and defaults[name] is value
    defaults = function.__defaults__ or ()
    first = function.__code__.co_argcount - len(defaults)
    return position >= first and defaults[position - first] is value


def _plausible(site: tuple[int, tuple[str, ...]], parameters: tuple[str, ...],
               keyword_only: tuple[str, ...], extra_kw: dict, required: int) -> bool:
    """Whether the calling instruction can be this call: its keywords are parameters and it
    passes every parameter without a default.  (When a C function such as ``map`` makes the
    call, the instruction is the caller's call of ``map``.)"""
    count, keywords = site
    if not set(keywords) <= set(parameters) | set(keyword_only) | set(extra_kw):
        return False
    positional = count - len(keywords)
    return all(i < positional or name in keywords
               for i, name in enumerate(parameters[:required]))


def bound_arguments(frame: types.FrameType, function: types.FunctionType | None,
                    site: tuple[int, tuple[str, ...]] | None, skip: int
                    ) -> tuple[list[Any], dict[str, Any], list[str]]:
    """The arguments a call passed, read from the new frame's locals at its first event, and
    the names of the parameters that took the positional ones.

    ``site`` is what :meth:`_CallSites.call` read at the caller.  With it, the arguments are
    split as the call wrote them.  Without it, every positional parameter is positional except
    trailing ones that hold their very default object, and keyword-only ones are keywords
    unless they hold their default: replaying binds the same values either way."""
    code = frame.f_code
    local = frame.f_locals
    positional, keyword_only, star, starstar = _parameters(code)
    parameters = positional[skip:]
    extra = local.get(star, ()) if star else ()
    extra = extra if type(extra) is tuple else ()
    extra_kw = local.get(starstar, {}) if starstar else {}
    extra_kw = extra_kw if type(extra_kw) is dict else {}
    required = len(parameters) if function is None else max(
        0, len(positional) - len(function.__defaults__ or ()) - skip)
    if site is not None and not _plausible(site, parameters, keyword_only, extra_kw, required):
        site = None
    by_name = set(site[1]) if site is not None else set()
    passed = list(itertools.takewhile(lambda name: name not in by_name, parameters))
    if site is not None and not extra:
        passed = passed[:max(0, site[0] - len(site[1]))]
    elif not extra:
        while passed and _is_default(function, passed[-1], skip + len(passed) - 1,
                                     local.get(passed[-1])):
            passed.pop()
    args = [local.get(name) for name in passed] + list(extra)
    kwargs = {name: local.get(name) for name in parameters if name in by_name}
    for name in keyword_only:
        chosen = name in by_name if site is not None else not _is_default(
            function, name, None, local.get(name))
        if chosen:
            kwargs[name] = local.get(name)
    kwargs.update({k: v for k, v in extra_kw.items() if type(k) is str})
    return args, kwargs, passed + [f"*{star}"] * len(extra)


# --- descriptors ---------------------------------------------------------------------------------

class _NotLiteral(Exception):
    """The value holds something that is not a number or a literal."""


class Descriptors:
    """Plain-JSON descriptions of the values a program passes around (see the module docstring).

    Keeps the numbering: student objects by first appearance (kept alive, so that an id is
    never reused), arrays by identity (held weakly: an array that died and a new one at the
    same address get different ``ref``s, and a run over a large data set does not keep every
    step's output alive)."""

    def __init__(self, code: _StudentCode) -> None:
        self.code = code
        self.objects: list[Any] = []
        self._object_ids: dict[int, int] = {}
        self._arrays: dict[int, tuple[Callable[[], Any], int]] = {}
        self._strong: list[np.ndarray] = []
        self._array_count = 0
        self._summaries: dict[int, dict[str, Any]] = {}

    def object_id(self, obj: Any) -> int:
        number = self._object_ids.get(id(obj))
        if number is None:
            number = len(self.objects)
            self._object_ids[id(obj)] = number
            self.objects.append(obj)
        return number

    def describe(self, value: Any) -> dict[str, Any]:
        """Never raises: a value that cannot be described becomes ``other``."""
        try:
            return self._describe(value, 0)
        except Exception:  # noqa: BLE001
            return {"type": "other", "class": describe.type_name(value), "repr": ""}

    def _describe(self, value: Any, depth: int) -> dict[str, Any]:
        kind = type(value)
        if kind is bool or kind is np.bool_:
            return {"type": "literal", "value": bool(value)}
        if kind is int or kind is float or issubclass(kind, (np.integer, np.floating)):
            return {"type": "number", "value": value.item() if isinstance(value, np.generic)
                    else value}
        if issubclass(kind, np.ndarray):
            return self._array(value)
        if kind in (list, tuple, dict) or value is None or issubclass(kind, str):
            try:
                plain = _literal(value, [0], 0)
            except _NotLiteral:
                return self._container(value, depth)
            return {"type": "literal", "value": plain, **({"tuple": True} if kind is tuple
                                                          else {})}
        return self._reference(value, kind)

    def _container(self, value: Any, depth: int) -> dict[str, Any]:
        kind = type(value)
        if depth >= MAX_SEQUENCE_DEPTH or (kind is dict and not all(
                type(k) is str for k in value)):
            return self._other(value, kind)
        if len(value) > MAX_SEQUENCE_ITEMS:
            shape = {"length": len(value)}
        elif kind is dict:
            shape = {"items": {k: self._describe(v, depth + 1) for k, v in value.items()}}
        else:
            shape = {"items": [self._describe(v, depth + 1) for v in value]}
        # by identity too: a cache that forward returns and backward takes is passed on as is
        shape["ref"] = self._ref(value)
        if kind is dict:
            return {"type": "mapping", **shape}
        return {"type": "sequence", "tuple": kind is tuple, **shape}

    def _reference(self, value: Any, kind: type) -> dict[str, Any]:
        """Student objects, functions and classes by name; everything else as ``other``."""
        if self.code.is_student_class(kind):
            return {"type": "object", "object": self.object_id(value),
                    "class": describe.class_name(kind)}
        if kind is types.FunctionType and self.code.files.is_student(
                value.__code__.co_filename):
            return {"type": "function", "name": value.__name__}
        if kind is types.MethodType and self.code.is_student_class(type(value.__self__)):
            return {"type": "method", "object": self.object_id(value.__self__),
                    "name": value.__func__.__name__}
        if issubclass(kind, type) and self.code.is_student_class(value):
            return {"type": "class", "name": describe.class_name(value)}
        argparse = sys.modules.get("argparse")
        if argparse is not None and kind is argparse.Namespace:
            return self._namespace(value)
        return self._other(value, kind)

    def _namespace(self, value: Any) -> dict[str, Any]:
        literals: dict[str, Any] = {}
        others: dict[str, Any] = {}
        for name, item in dict(value.__dict__).items():
            try:
                literals[name] = _literal(item, [0], 0)
            except _NotLiteral:
                others[name] = self._describe(item, MAX_SEQUENCE_DEPTH - 1)
        return {"type": "namespace", "value": literals, **({"items": others} if others else {})}

    def _other(self, value: Any, kind: type) -> dict[str, Any]:
        """A library object's own ``repr`` (the library's code, not the student's); a builtin
        container's shown without calling its items' ``repr``, which may be a student's."""
        if kind in (list, tuple, dict, set, frozenset):
            text = describe.safe_repr(value)
        else:
            try:
                text = repr(value)[:MAX_REPR]
            except Exception:  # noqa: BLE001
                text = ""
        return {"type": "other", "class": describe.class_name(kind), "repr": text}

    def _array(self, value: np.ndarray) -> dict[str, Any]:
        ref = self._ref(value)
        plain = value.view(np.ndarray)
        numeric = plain.dtype.kind in "biuf"
        desc: dict[str, Any] = {"type": "array", "shape": list(plain.shape),
                                "dtype": str(plain.dtype), "ref": ref}
        if numeric and plain.size <= MAX_ARRAY_VALUES:
            desc["values"] = plain.tolist()
        elif numeric:  # the first samples of a batch: enough to tell a loss gradient by
            desc["head"] = plain.flat[:MAX_ARRAY_VALUES].tolist()
        desc["summary"] = self._summary(plain, ref, numeric)
        return desc

    def _ref(self, value: Any) -> int:
        """A number per object (an array, or a container of arrays), the same each time it is
        seen: weakly held where the type allows it, so a long run does not keep every step."""
        known = self._arrays.get(id(value))
        if known is not None and known[0]() is value:
            return known[1]
        ref = self._array_count
        self._array_count += 1
        try:
            holder: Callable[[], Any] = weakref.ref(value)
        except TypeError:
            self._strong.append(value)
            holder = (lambda kept=value: kept)
        self._arrays[id(value)] = (holder, ref)
        return ref

    def _summary(self, plain: np.ndarray, ref: int, numeric: bool) -> dict[str, Any]:
        if not numeric or plain.size == 0:
            return {"min": None, "max": None, "binary": False}
        if plain.size > SUMMARY_ONCE_ABOVE and ref in self._summaries:
            return self._summaries[ref]
        summary = {"min": plain.min().item(), "max": plain.max().item(),
                   "binary": bool(((plain == 0) | (plain == 1)).all())}
        if plain.size > SUMMARY_ONCE_ABOVE:
            self._summaries[ref] = summary
        return summary


def _literal(value: Any, count: list[int], depth: int) -> Any:
    """``value`` as plain JSON if it holds only numbers, strings, None and small containers of
    them (tuples become lists); raises :class:`_NotLiteral` otherwise."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if issubclass(kind, str):
        return str.__str__(value)[:MAX_STRING]
    if kind is np.bool_:
        return bool(value)
    if issubclass(kind, (np.integer, np.floating)):
        return value.item()
    if kind in (list, tuple, dict) and depth < MAX_LITERAL_DEPTH:
        count[0] += len(value)
        if count[0] > MAX_LITERAL_ITEMS:
            raise _NotLiteral
        if kind is dict:
            if not all(type(k) is str for k in value):
                raise _NotLiteral
            return {k: _literal(v, count, depth + 1) for k, v in value.items()}
        return [_literal(v, count, depth + 1) for v in value]
    raise _NotLiteral


# --- the hook ------------------------------------------------------------------------------------

@dataclass
class _Scope:
    """On whose behalf a student frame runs, and the event its return completes."""

    owner: int | None = None
    """The student object whose method this frame is, or runs inside of."""
    function: str | None = None
    """The student function this frame is, or runs inside of (outside any method)."""
    event: dict[str, Any] | None = None
    obj: Any = None
    before: dict[str, np.ndarray] | None = None
    started: float = 0.0
    exception: str | None = None


_TOP = _Scope()


def _snapshot(obj: Any) -> dict[str, np.ndarray] | None:
    """Copies of the object's float arrays, or None when they are too large to copy at every
    call (or cannot be read)."""
    try:
        arrays = probes.find_arrays(obj)
        if sum(a.size for a in arrays.values()) > MAX_COPIED_ELEMENTS:
            return None
        return {path: np.array(a, copy=True) for path, a in arrays.items()}
    except Exception:  # noqa: BLE001 -- no snapshot: "changed" is then unknown (null)
        return None


def _changed(before: dict[str, np.ndarray] | None, obj: Any) -> list[str] | None:
    """The paths of the object's float arrays whose shape or values differ from ``before``
    (arrays that appeared or disappeared included)."""
    if before is None:
        return None
    after = probes.find_arrays(obj)
    changed = [path for path, array in after.items()
               if path not in before or before[path].shape != array.shape
               or not np.array_equal(before[path], array, equal_nan=True)]
    return changed + [path for path in before if path not in after]


def _returned_normally(frame: types.FrameType, value: Any) -> bool:
    """A ``return`` event carries None both for ``return None`` and for an exception leaving
    the frame; the instruction the frame stopped at tells them apart."""
    if value is not None:
        return True
    code = frame.f_code.co_code
    return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] in _RETURN_OPCODES


TRAINING_METHODS = ("train", "fit", "training", "train_model", "train_network",
                    "trainNetwork", "fit_model")
"""The names of a network's own training method, ``train(X, y)``, that the grader calls when
the program never trains (:meth:`Tracer.call_training`)."""
MIN_CALL_SECONDS = 1.0
MAX_HOLDER_OBJECTS = 200
"""Constructed objects searched for which holds which (:meth:`Tracer._holders`)."""


def _xor_data() -> tuple[np.ndarray, np.ndarray]:
    """The lab's ``generate_XOR_easy()``: 21 points and their 0/1 labels (N, 1)."""
    inputs, labels = [], []
    for i in range(11):
        inputs.append([0.1 * i, 0.1 * i])
        labels.append(0)
        if 0.1 * i == 0.5:
            continue
        inputs.append([0.1 * i, 1 - 0.1 * i])
        labels.append(1)
    return np.array(inputs), np.array(labels).reshape(21, 1)


MAX_VARIABLE_SIZE = 2048
"""Arrays of at most this many numbers are recorded among a loop's variables: the lab's
weights, its batch and labels (1000 samples of the linear data); not the activations of a
large batch or a 100x100 layer."""
MAX_VARIABLE_NUMBERS = 40_000
"""Numbers recorded among all the variables' snapshots, at the most: a few dozen steps of the
lab's network."""


FUNCTION_REPEATS = 2
"""A function taking a matrix may be called this many times the repeats of a method before
the run is stopped (``sigmoid`` runs several times a step)."""


def _takes_matrix(frame: types.FrameType, code: types.CodeType) -> bool:
    """Whether a call passed a float matrix (a batch, a weight, a layer's activations): the
    functions of a training step do; a data generator's helper called per point does not."""
    local = frame.f_locals
    return any(type(value) is np.ndarray and value.ndim == 2 and value.dtype.kind == "f"
               for value in (local.get(name) for name in code.co_varnames[:code.co_argcount]))


class _LoopVariables:
    """What a training loop written inline holds in its own variables (``w1``, ``w2``, ``x``,
    ``y``), snapshot whenever it calls one of the student's functions (``sigmoid``): a loop
    that builds no network and calls no step function can still be watched stepping, the
    weights before and after each step (``grader/observed.py``).  Each snapshot records only
    the variables that changed since the frame's previous one, with their values."""

    def __init__(self, is_student_class: Callable[[Any], bool] = lambda cls: False) -> None:
        self.snapshots: list[dict[str, Any]] = []
        self.numbers = 0
        self.state: dict[int, dict[str, np.ndarray]] = {}
        self.is_student_class = is_student_class

    def _arrays(self, frame: types.FrameType) -> dict[str, np.ndarray]:
        """The frame's arrays, with those its lists hold (``weights[0]``) and those its
        objects of the student's classes hold (``model.weight[1]``, ``net.W1``): a loop may
        keep its weights there."""
        found: dict[str, Any] = {}

        def attributes(path: str, obj: Any) -> None:  # an object of the student's classes
            for attr, held in list(getattr(obj, "__dict__", {}).items())[:MAX_HELD]:
                found[f"{path}.{attr}"] = held
                if type(held) in (list, tuple):
                    found.update({f"{path}.{attr}[{i}]": v
                                  for i, v in enumerate(held[:MAX_HELD])})

        for name, value in frame.f_locals.items():
            if type(name) is not str:
                continue
            found[name] = value
            if type(value) in (list, tuple):
                for i, item in enumerate(value[:MAX_HELD]):
                    found[f"{name}[{i}]"] = item
                    if self.is_student_class(type(item)):  # W = [Var(w1), Var(w2), ...]
                        attributes(f"{name}[{i}]", item)
            elif self.is_student_class(type(value)):
                attributes(name, value)
        return {name: value for name, value in found.items()
                if type(value) is np.ndarray and value.dtype.kind in "fiub"
                and 0 < value.size <= MAX_VARIABLE_SIZE}

    def observe(self, frame: types.FrameType, at: int, raised: bool = False) -> None:
        """Snapshot the frame's changed variables (``raised``: as an exception leaves it)."""
        if self.numbers >= MAX_VARIABLE_NUMBERS:
            return
        try:
            variables = self._arrays(frame)
        except Exception:  # noqa: BLE001 -- a frame whose locals cannot be read is not watched
            return
        state = self.state.setdefault(id(frame.f_code), {})
        changed = {name: value for name, value in variables.items()
                   if name not in state or state[name].shape != value.shape
                   or not np.array_equal(state[name], value)}
        gone = [name for name in state if name not in variables]
        if not changed and not gone and not raised:
            return
        for name in gone:
            del state[name]
        for name, value in changed.items():
            state[name] = np.array(value, copy=True)
            self.numbers += value.size
        self.snapshots.append({
            "frame": frame.f_code.co_name, "at": at,
            "set": {name: {"shape": list(value.shape), "dtype": str(value.dtype),
                           "values": value.astype(float).tolist()}
                    for name, value in changed.items()},
            **({"gone": gone} if gone else {}), **({"raised": True} if raised else {})})


class Tracer:
    """The trace hook and what it recorded."""

    def __init__(self, code: _StudentCode, *, seconds: float, repeats: int) -> None:
        self.code = code
        self.values = Descriptors(code)
        self.sites = _CallSites()
        self.seconds = seconds
        self.repeats = repeats
        self.deadline = float("inf")
        self.events: list[dict[str, Any]] = []
        self.truncated = False
        self.function_events = 0
        self.counts: dict[tuple[int, str], int] = {}
        self.constructed: set[int] = set()
        self.scopes: dict[types.FrameType, _Scope] = {}
        self.reason: str | None = None
        self.notes: list[str] = []
        self.loops = _LoopVariables(code.is_student_class)
        self.function_counts: dict[str, int] = {}

    # installing

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """The hook, for the duration of the run only."""
        previous = sys.gettrace()
        self.deadline = time.monotonic() + self.seconds
        sys.settrace(self._on_call)
        try:
            yield
        finally:
            sys.settrace(previous)
            self.scopes.clear()

    def before_cell(self) -> None:
        """A notebook's next cell is about to run.  Once the run is over (or out of time),
        the hook goes back in to stop the cell at its first line: a stop ends one cell, and
        the loader runs the following cells anyway."""
        if self.reason is None and time.monotonic() >= self.deadline:
            self.reason = "time"
        if self.reason is not None:
            sys.settrace(self._on_call)

    # events

    def _on_call(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        """The global trace function: every new frame, student's or not, starts here."""
        code = frame.f_code
        kind = self.code.kind(code)
        if kind is None:
            return None
        if self.reason is not None:
            raise StopTracing(self.reason)
        if time.monotonic() >= self.deadline:
            self._stop("time")
        try:
            scope = self._enter(frame, code, kind)
        except Exception as exc:  # noqa: BLE001 -- the tracer's failure is not the student's
            self._note(exc)
            return None
        self.scopes[frame] = scope
        frame.f_trace_lines = False
        return self._on_event

    def _on_event(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        """The local trace function of the student's frames: exceptions and returns."""
        if event == "exception":
            scope = self.scopes.get(frame)
            if scope is not None:
                scope.exception = describe.class_name(arg[0])
            if id(frame.f_code) in self.loops.state and not (
                    isinstance(arg[0], type) and issubclass(arg[0], StopTracing)):
                # a watched loop that crashes (a loss NumPy 2.4 cannot turn into a number,
                # after the step's updates): its variables as the step left them
                self.loops.observe(frame, len(self.events), raised=True)
            return self._on_event
        if event == "return":
            scope = self.scopes.pop(frame, None)
            if scope is not None and scope.event is not None:
                try:
                    self._finish(frame, scope, arg)
                except Exception as exc:  # noqa: BLE001
                    self._note(exc)
            return None
        return self._on_event

    def _stop(self, reason: str) -> None:
        self.reason = reason
        raise StopTracing(reason)

    def _note(self, exc: Exception) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(f"tracer: {describe.type_name(exc)}: {exc}"[:300])

    def _add(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The event as recorded (numbered), or None once the record is full."""
        if len(self.events) >= MAX_EVENTS:
            self.truncated = True
            return None
        recorded = {"i": len(self.events), **event}
        self.events.append(recorded)
        return recorded

    def _enter(self, frame: types.FrameType, code: types.CodeType, kind: str) -> _Scope:
        caller, parent = self._caller(frame)
        if kind == _MODULE:
            return _Scope()
        if kind == _TRANSPARENT:
            return _Scope(parent.owner, parent.function)
        method = self._method(frame, code)
        if method is not None:
            return self._enter_method(frame, method, caller, parent)
        if _is_class_member(code):
            return _Scope(parent.owner, parent.function)
        return self._enter_function(frame, code, caller, parent)

    def _caller(self, frame: types.FrameType) -> tuple[types.FrameType | None, _Scope]:
        """The nearest student frame below ``frame`` (library frames in between are skipped),
        and its scope; (None, top level) when there is none."""
        back = frame.f_back
        while back is not None:
            scope = self.scopes.get(back)
            if scope is not None:
                return back, scope
            back = back.f_back
        return None, _TOP

    def _method(self, frame: types.FrameType, code: types.CodeType
                ) -> tuple[Any, _Method] | None:
        if not code.co_argcount:
            return None
        obj = frame.f_locals.get(code.co_varnames[0], _MISSING)
        cls = type(obj)
        if not self.code.is_student_class(cls):
            return None
        method = self.code.methods(cls).get(code)
        return None if method is None else (obj, method)

    def _where(self, frame: types.FrameType | None) -> str | None:
        if frame is None:
            return None
        return f"{self.code.files.display(frame.f_code.co_filename)}:{frame.f_lineno}"

    def _arguments(self, frame: types.FrameType, function: types.FunctionType | None,
                   skip: int) -> dict[str, Any]:
        args, kwargs, names = bound_arguments(frame, function, self.sites.call(frame.f_back),
                                              skip)
        # the parameters' names tell an epoch count from a width (``fit(X, y, 1000, 4)``)
        positional, keyword_only, _, _ = _parameters(frame.f_code)
        # numbers left at their defaults: ``fit(X, y)`` with ``epochs=100000`` and
        # ``learning_rate=0.05``, which a grader replaying one epoch at its own rate passes
        defaults = {name: value for name in [*positional[skip:], *keyword_only]
                    if name not in names and name not in kwargs
                    and type(value := frame.f_locals.get(name)) in (int, float)}
        return {"args": [self.values.describe(v) for v in args],
                "kwargs": {k: self.values.describe(v) for k, v in kwargs.items()},
                **({"names": names} if names else {}),
                **({"defaults": defaults} if defaults else {})}

    def _enter_method(self, frame: types.FrameType, method: tuple[Any, _Method],
                      caller: types.FrameType | None, parent: _Scope) -> _Scope:
        obj, info = method
        number = self.values.object_id(obj)
        scope = _Scope(owner=number)
        if info.name == "__init__" and number not in self.constructed:
            self.constructed.add(number)
            self._add({"kind": "construct", "object": number, "class": describe.type_name(obj),
                       **self._arguments(frame, info.function, 1), "caller": parent.owner,
                       "where": self._where(caller)})
        elif not info.is_property and (parent.owner != number
                                       or self._records_inside(parent, number)):
            if parent.owner is None and caller is not None:
                # a loop of the program's own that steps objects (a home-made autodiff's
                # ``tape.backward()``, weights ``W[0].value``) is watched as it calls them
                self.loops.observe(caller, len(self.events))
            key = (number, info.name)
            count = self.counts.get(key, 0) + 1
            if count > self.repeats:
                self._stop("repeats")
            self.counts[key] = count
            within = {} if parent.owner != number else {"within": parent.event["i"]}
            if within and "state" not in parent.event:
                # what the training method set up before its first step (``self.optimizer =
                # optimizer`` in ``train``): the grader, stepping as it does, sets it too
                parent.event["state"] = self._plain_state(obj)
            scope.event = self._add({"kind": "call", "object": number, "method": info.name,
                                     **self._arguments(frame, info.function, 1),
                                     "caller": parent.owner, **within,
                                     "where": self._where(caller)})
            if scope.event is not None:
                scope.obj, scope.before = obj, _snapshot(obj)
                scope.started = time.perf_counter()
        return scope

    def _plain_state(self, obj: Any) -> dict[str, Any]:
        """The object's attributes that are plain values (numbers, strings, flags, None)."""
        attributes = getattr(obj, "__dict__", None)
        if not isinstance(attributes, dict):
            return {}
        return {k: self.values.describe(v) for k, v in list(attributes.items())[:MAX_STATE]
                if isinstance(k, str) and (v is None or type(v) in (int, float, bool, str))}

    def _records_inside(self, parent: _Scope, number: int) -> bool:
        """Whether a method of object ``number`` called by ``parent`` (a frame of the same
        object) is recorded: a program that trains inside one long method (``net.train(X, Y,
        epochs=50000)`` looping over ``self.forward(x)``, ``self.backward(y)``,
        ``self.update(lr)``) shows its step only there.  Only the calls the outside call's own
        frame makes (``forward``'s ``self.sigmoid`` is the step's inside, not a step), and only
        in the first outside call of that method: a method the program calls again from outside
        is driven from outside, and its every call's helpers would only crowd the record and
        spend the repeats."""
        outer = parent.event
        return (outer is not None and outer["kind"] == "call" and "within" not in outer
                and outer["object"] == number
                and self.counts.get((number, outer["method"])) == 1)

    def _enter_function(self, frame: types.FrameType, code: types.CodeType,
                        caller: types.FrameType | None, parent: _Scope) -> _Scope:
        scope = _Scope(owner=parent.owner, function=code.co_name)
        if parent.owner is None and caller is not None:
            self.loops.observe(caller, len(self.events))
        if parent.owner is None and _takes_matrix(frame, code):
            # a program of functions (forward(x, w1, w2, w3), sigmoid(z) in an inline loop)
            # has shown enough steps after this many calls of one of them: stop it there too
            key = (-1, code.co_name)
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.counts[key] > FUNCTION_REPEATS * self.repeats:
                self._stop("repeats")
        recorded = self.function_counts.get(code.co_name, 0)
        if parent.owner is not None or self.function_events >= MAX_FUNCTION_EVENTS \
                or recorded >= MAX_EVENTS_PER_FUNCTION:
            return scope  # a helper called per data point must not use up the record
        self.function_counts[code.co_name] = recorded + 1
        function = frame.f_globals.get(code.co_name)
        if type(function) is not types.FunctionType or function.__code__ is not code:
            function = None
        scope.event = self._add({"kind": "function", "name": code.co_name,
                                 **self._arguments(frame, function, 0),
                                 "caller": parent.function, "where": self._where(caller)})
        if scope.event is not None:
            self.function_events += 1
            scope.started = time.perf_counter()
        return scope

    def _finish(self, frame: types.FrameType, scope: _Scope, value: Any) -> None:
        event = scope.event
        assert event is not None
        event["seconds"] = round(time.perf_counter() - scope.started, 6)
        if _returned_normally(frame, value):
            event["result"] = self.values.describe(value)
        else:
            event["result"] = None
            event["raised"] = scope.exception or "?"
        if event["kind"] == "call":
            event["changed"] = _changed(scope.before, scope.obj)
            appeared = [path for path in event["changed"] or ()
                        if scope.before is not None and path not in scope.before]
            if appeared:  # a cache or gradient stored the first time, not an update
                event["new"] = appeared

    # the record

    def objects(self) -> dict[str, dict[str, Any]]:
        """Each recorded object's class and its float arrays at the end of the run (keys are
        the object numbers, as strings: JSON keys).  As many objects as events at the most: a
        network made of one object per scalar must not flood the answer."""
        found = {}
        if len(self.values.objects) > MAX_EVENTS:
            self.truncated = True
        for number, obj in enumerate(self.values.objects[:MAX_EVENTS]):
            try:
                arrays = {path: list(a.shape) for path, a in probes.find_arrays(obj).items()}
            except Exception:  # noqa: BLE001
                arrays = {}
            found[str(number)] = {"class": describe.type_name(obj),
                                  "module_file": self.code.module_file(type(obj)),
                                  "arrays": arrays}
        self._holders(found)
        return found

    def _holders(self, found: dict[str, dict[str, Any]]) -> None:
        """For each constructed object another recorded object holds, ``held``: ``{"by": n,
        "path": "layer1"}`` (an attribute, or an item of a list, tuple or dict attribute):
        a network whose class has no forward of its own predicts through its layers, which
        the grader reaches by these paths."""
        numbers = sorted(self.constructed)[:MAX_HOLDER_OBJECTS]
        by_id = {id(self.values.objects[n]): n for n in numbers}
        for holder in numbers:
            try:
                attributes = list(vars(self.values.objects[holder]).items())
            except TypeError:
                continue
            for name, value in attributes:
                items = [(name, value)]
                if type(value) in (list, tuple):
                    items = [(f"{name}[{k}]", v) for k, v in enumerate(value)]
                elif type(value) is dict:
                    items = [(f"{name}[{k!r}]", v) for k, v in value.items() if type(k) is str]
                for path, item in items:
                    held = by_id.get(id(item))
                    if held is not None and held != holder and str(held) in found \
                            and "held" not in found[str(held)]:
                        found[str(held)]["held"] = {"by": holder, "path": path}

    def trained(self) -> bool:
        """Whether any recorded call changed its object's arrays."""
        return any(e.get("changed") for e in self.events if e["kind"] == "call")

    def call_training(self, seconds: float) -> dict[str, Any] | None:
        """For a program that built its network and never trained it (its runs commented out):
        call the network's own training method, ``net.train(X, y)``, on the lab's XOR data,
        recorded as the program's own call would be, within what is left of the budget.  A
        TA would do the same to see how the network learns.  What was called, or None when no
        object the program built has such a method."""
        if seconds < MIN_CALL_SECONDS:
            return None
        X, Y = _xor_data()
        for event in reversed([e for e in self.events if e["kind"] == "construct"
                               and e.get("caller") is None]):
            obj = self.values.objects[event["object"]]
            for name in TRAINING_METHODS:
                method = getattr(obj, name, None)
                if callable(method) and probes.binds(method, X, Y):
                    self.notes.append(f"your program never trains its network: the grader "
                                      f"called {event['class']}.{name}(X, y) on the XOR data")
                    self._run_call(method, X, Y, seconds)
                    return {"object": event["object"], "method": name}
        return None

    def _run_call(self, method: Any, X: np.ndarray, Y: np.ndarray, seconds: float) -> None:
        """The call, traced, stopped by the repeats, the time left, or the alarm (a loop that
        calls none of the student's code between its steps); whatever it raises is recorded."""
        def alarm(signum: int, frame: Any) -> None:
            raise StopTracing("time")

        previous = _set_handler(signal.SIGALRM, alarm)
        self.seconds = seconds
        _setitimer(signal.ITIMER_REAL, seconds + 1.0)
        try:
            with self.installed():
                method(X, Y)
        except StopTracing as stop:
            self.reason = self.reason or str(stop)
        except BaseException:  # noqa: BLE001 -- the raising call's event records it
            pass
        finally:
            _setitimer(signal.ITIMER_REAL, 0)
            _set_handler(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)

    def unfinished(self) -> None:
        """Calls the stop cut short have no result: say so."""
        for event in self.events:
            if event["kind"] != "construct" and "seconds" not in event:
                event.update(result=None, unfinished=True)
                if event["kind"] == "call":
                    event["changed"] = None


# --- running the program -------------------------------------------------------------------------

def _ignore_alarm(signum: int, frame: Any) -> None:
    """The whole run's timer only bounds the cells' own limits (see :func:`_run_budget`)."""


@contextlib.contextmanager
def _run_budget(seconds: float) -> Iterator[None]:
    """A timer for the whole traced run, around a notebook: the loader cuts each cell's own
    limit to what is left of an enclosing timer, so no cell runs past the budget."""
    previous = _set_handler(signal.SIGALRM, _ignore_alarm)
    _setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    try:
        yield
    finally:
        _setitimer(signal.ITIMER_REAL, 0)
        _set_handler(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


class _AbsentModules:
    """While tracing, ``import pandas`` of a module the sandbox does not have gives a stub: a
    program that imports what it never uses (a common leftover) still runs and shows its
    training; any use of the stub raises the ``ModuleNotFoundError`` the import would have.
    Consulted last, after every real finder; top-level modules only."""

    def __init__(self, is_student: Callable[[str], bool]) -> None:
        self.is_student = is_student
        self.stubbed: list[str] = []

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if path is not None or "." in fullname or not self._imported_by_student():
            return None  # a library's optional import (try: import _winapi) fails as usual
        self.stubbed.append(fullname)
        return importlib.util.spec_from_loader(fullname, self)

    def _imported_by_student(self) -> bool:
        """Whether the import statement is the student's: the first frame outside the import
        machinery runs a student file."""
        own = os.path.dirname(os.path.abspath(__file__)) + os.sep
        frame = sys._getframe(1)
        while frame is not None and (frame.f_code.co_filename.startswith(("<frozen", own))):
            frame = frame.f_back  # the import machinery, and the worker's import recorder
        return frame is not None and self.is_student(frame.f_code.co_filename)

    def create_module(self, spec: Any) -> types.ModuleType:
        return _AbsentModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        pass

    @contextlib.contextmanager
    def installed(self, notes: list[str]) -> Iterator[None]:
        sys.meta_path.append(self)
        try:
            yield
        finally:
            sys.meta_path.remove(self)
            for name in self.stubbed:
                if isinstance(sys.modules.get(name), _AbsentModule):
                    del sys.modules[name]
            if self.stubbed:
                notes.append("not installed where the grader runs, imported as stubs while "
                             "tracing (any use fails): " + ", ".join(sorted(set(self.stubbed))))


class _AbsentModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ModuleNotFoundError(f"No module named {self.__name__!r}", name=self.__name__)


def trace(path: str | None, namespace: dict, *, kind: str, cells: list[Any] | None = None,
          seconds: float = 10.0, repeats: int = 30,
          on_cell_start: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run the student's program (the script at ``path``, or a notebook's code ``cells``) in
    execute mode into ``namespace``, recording it; the record as plain JSON (see the module
    docstring and :func:`_outcome`)."""
    started = time.monotonic()
    tracer = Tracer(_StudentCode(path if kind != "notebook" else None), seconds=seconds,
                    repeats=repeats)
    absent = _AbsentModules(tracer.code.files.is_student)
    if kind == "notebook":
        def cell_starts(index: int) -> None:
            if on_cell_start is not None:
                on_cell_start(index)
            tracer.before_cell()

        with _run_budget(seconds), absent.installed(tracer.notes), tracer.installed():
            report = loader.load_notebook(list(cells or []), namespace, mode=loader.EXECUTE,
                                          cell_timeout=seconds, on_cell_start=cell_starts,
                                          answer_input=arguments.first_choice)
    else:
        assert path is not None
        with absent.installed(tracer.notes), tracer.installed():
            report = loader.load_script(path, namespace, mode=loader.EXECUTE, timeout=seconds,
                                        answer_input=arguments.first_choice)
    outcome = _outcome(report, tracer.reason)
    called = None
    if outcome["stopped"] == "ended" and not tracer.trained():
        called = tracer.call_training(started + seconds - time.monotonic())
        if called is not None:
            outcome["stopped"] = tracer.reason or "ended"
    tracer.unfinished()
    objects = tracer.objects()
    return {"events": tracer.events, "truncated": tracer.truncated, "objects": objects,
            **outcome, "notes": tracer.notes, **({"called": called} if called else {}),
            "variables": tracer.loops.snapshots}


def _outcome(report: loader.LoadReport, reason: str | None) -> dict[str, Any]:
    """``stopped``, ``error`` and ``load`` (the loader's report without figures, and without
    the errors the stop itself caused: running out of the budget, or :class:`StopTracing`).

    ``stopped``: the tracer's own stop (``repeats``, ``time``) if there was one; else ``time``
    if the loader's limit ended the run; else ``error`` if the program raised (``error`` is
    then the loader's first error); else ``ended``.  A clean ``sys.exit(0)`` ends a program."""
    load = report.to_dict(include_figures=False)

    def is_stop(error: dict[str, Any]) -> bool:
        return error["kind"] == "timeout" or (
            reason is not None and error["exception"] == "StopTracing")

    stops = [e for e in load["errors"] if is_stop(e)]
    load["errors"] = [e for e in load["errors"] if not is_stop(e)]
    load["ok"] = not load["errors"]
    _mark_stopped_cells(load, {e["cell"] for e in stops} - {e["cell"] for e in load["errors"]})
    failures = [e for e in load["errors"] if not (e["kind"] == "exit" and e["exit_code"] == 0)]
    if reason is not None:
        stopped = reason
    elif stops:
        stopped = "time"
    else:
        stopped = "error" if failures else "ended"
    return {"stopped": stopped, "error": failures[0] if failures else None, "load": load}


def _mark_stopped_cells(load: dict[str, Any], numbers: set[Any]) -> None:
    """The cell the run stopped in is ``stopped``; the cells after it, which the stop kept
    from running, ``skipped``."""
    first = True
    for cell in load["cells"]:
        if cell["number"] in numbers and cell["status"] in ("error", "timeout"):
            cell["status"] = "stopped" if first else "skipped"
            if not first:
                cell["notes"].append("not run: the traced run had stopped")
            first = False
