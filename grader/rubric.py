"""Rubrics: how a lab's checks become points, read from a TOML file in ``rubrics/``.

A rubric says what a lab is worth and how: the course's sections (Lab1: report 40, experimental
results 40, questions 20), the points and settings of every automatic check, the deadline and
the late factor, and the public seed of the student self-check.  The file is read with
:mod:`tomllib` and validated into frozen dataclasses; nothing in it is trusted blindly:

* every key has a typed field with its default and its help text in one place (the
  :func:`setting` metadata), as :mod:`grader.settings` does for the sandbox limits;
* a malformed rubric raises :class:`RubricError`, whose message names the file, the key path
  and what was expected against what was found::

      rubrics/lab1.toml: checks.gradient.points: expected a number >= 0, found 'ten'

* unknown keys are errors (with a "did you mean" hint): a typo must never be silently ignored;
* the numbers must add up: the sections make ``rubric.max_points``, and the checks of an
  ``auto`` section make exactly that section's points.

Hidden seeds never come from the shipped rubric (students can read it): the TA passes
``--seed`` or sets ``LABGRADE_SEED``; see :func:`effective_seed`.

``load_rubric("lab1")`` finds ``rubrics/lab1.toml`` beside the ``grader`` package (a checkout or
an editable install) or, when installed, inside the package as ``grader/rubrics/lab1.toml``.
:meth:`Rubric.describe` prints a rubric for people; :func:`schema_help` documents every key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import sys
import tomllib
import types
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Union, get_args, get_origin
from typing import get_type_hints

__all__ = [
    "CHECK_IDS",
    "CHECK_TYPES",
    "CheckConfig",
    "Deadline",
    "RESERVED_COLUMNS",
    "Rubric",
    "RubricError",
    "RubricInfo",
    "Section",
    "Seeds",
    "SeedError",
    "SEED_VARIABLE",
    "effective_seed",
    "load_rubric",
    "rubric_names",
    "schema_help",
    "setting",
    "weights_problems",
]

SEED_VARIABLE = "LABGRADE_SEED"
STDLIB = "@stdlib"
"""In ``checks.numpy_only.allowed``: every module of Python's standard library
(:data:`sys.stdlib_module_names`), without listing them."""

MODULE_GROUPS = {STDLIB: frozenset(sys.stdlib_module_names)}

RESERVED_COLUMNS = frozenset({"id", "name", "comment", "late_factor", "submitted_at", "auto",
                              "manual", "total", "max", "status"})
"""Column names of the manual-scores CSV and of ``grades.csv``; a section may not be named so,
since every section is a column of both."""

_SECTION_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
_RUBRIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z")
_CONSTRUCTOR_FORM = re.compile(r"(positional|none|[A-Za-z_]\w*=)\Z")


class RubricError(Exception):
    """A rubric that cannot be used: every problem with the file and the key path involved.

    ``problems`` is a list of ``(key path, message)``; ``str(error)`` is one line per problem,
    each ``<file>: <key path>: <message>``.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {key}: {message}" if key else f"{source}: {message}"
                 for key, message in self.problems]
        super().__init__("\n".join(lines))


class SeedError(ValueError):
    """A seed given on the command line or in ``LABGRADE_SEED`` that is not a whole number >= 0."""


# --- the field helper ----------------------------------------------------------------------------

def setting(default: Any = dataclasses.MISSING, help: str = "", *,  # noqa: A002
            factory: Callable[[], Any] | None = None, minimum: float | None = None,
            above: float | None = None, maximum: float | None = None, nonempty: bool = False,
            valid: tuple[Callable[[Any], bool], str] | None = None,
            key_valid: tuple[Callable[[str], bool], str] | None = None,
            variants: Mapping[str, type] | None = None, key: str | None = None) -> Any:
    """A rubric field: its default (none: the key is required), its help text and its limits.

    ``minimum``/``maximum`` bound numbers (inclusive), ``above`` from below (exclusive); for a
    list of numbers they bound every item.  ``nonempty`` refuses an empty string or list.
    ``valid`` is ``(predicate, description)`` for each string (or each item of a list of
    strings); ``key_valid`` the same for the keys of a table of tables.  ``variants`` makes a
    table of tables whose keys choose the dataclass (the checks) and must all be present.
    ``key`` is the TOML key when it differs from the field name.
    """
    metadata = {"help": help, "minimum": minimum, "above": above, "maximum": maximum,
                "nonempty": nonempty, "valid": valid, "key_valid": key_valid,
                "variants": variants, "key": key}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _identifier(text: str) -> bool:
    return text.isidentifier()


IDENTIFIER = (_identifier, "a Python name such as NN")
SECTION_ID = (lambda text: bool(_SECTION_ID.match(text)) and text not in RESERVED_COLUMNS,
              "a lowercase name such as report (letters, digits, _), other than "
              + ", ".join(sorted(RESERVED_COLUMNS)))
MODULE = (lambda text: text in MODULE_GROUPS or bool(_MODULE.match(text)),
          f"a module name such as numpy, or {STDLIB}")
RUBRIC_NAME = (lambda text: bool(_RUBRIC_NAME.match(text)),
               "a name such as lab1 (letters, digits, _ . -)")
CONSTRUCTOR_FORM = (lambda text: bool(_CONSTRUCTOR_FORM.match(text)),
                    "'name=' (a keyword argument), 'positional' or 'none'")
ACTIVATION_NAMES = ("sigmoid", "relu", "tanh", "leaky_relu", "identity")
ACTIVATION = (lambda text: text in ACTIVATION_NAMES, "one of " + ", ".join(ACTIVATION_NAMES))


# --- the schema ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RubricInfo:
    """``[rubric]``: which rubric this is."""

    id: str = setting(help="Stable name of the rubric, written into every result.json "
                           "(e.g. 'lab1').", nonempty=True, valid=RUBRIC_NAME)
    version: str = setting(help="Version of this rubric, written into every result.json; "
                                "change it whenever points or settings change.", nonempty=True)
    title: str = setting(help="Human title shown in reports.", nonempty=True)
    lab: str = setting(help="The reference lab the checks compare with (reference/<lab>.py; "
                            "'lab1' for Lab1 - Backpropagation).", nonempty=True,
                       valid=RUBRIC_NAME)
    max_points: float = setting(help="Total points of the lab; the sections must add up to it.",
                                above=0)


@dataclass(frozen=True)
class Deadline:
    """``[deadline]``: when work becomes late, and what lateness costs."""

    when: datetime = setting(help="The deadline: an ISO 8601 time with its timezone, such as "
                                  "2020-09-02T11:59:00+08:00 (TOML date-time or string).")
    late_factor: float = setting(0.8, "Factor applied to the whole score of late work (the "
                                      "course rule: 'Score * 0.8').", minimum=0, maximum=1)
    grace_minutes: float = setting(0.0, "Minutes after the deadline that still count as on "
                                        "time (clock skew, upload time).", minimum=0)

    @property
    def limit(self) -> datetime:
        """The last moment that is still on time: the deadline plus the grace period."""
        return self.when + timedelta(minutes=self.grace_minutes)


@dataclass(frozen=True)
class Section:
    """``[sections.<id>]``: one of the course's scoring criteria."""

    title: str = setting(help="Title shown in reports and the gradebook.", nonempty=True)
    points: float = setting(help="Maximum points of the section.", minimum=0)
    kind: Literal["manual", "auto"] = setting(
        help="'manual': graded by the TA (a column of the manual-scores CSV); 'auto': the sum "
             "of the points of the automatic checks in this section.")
    answer: str = setting("", "For a manual section of a notebook exercise: text of the "
                              "heading that introduces the student's answer (\"Compare "
                              "different bias\"); the report shows the cells from that "
                              "heading to the next one, outputs and figures included, beside "
                              "the TA's points.")


@dataclass(frozen=True)
class CheckConfig:
    """``[checks.<id>]``: what every check has."""

    points: float = setting(help="Maximum points of the check (0: reported, not scored).",
                            minimum=0)
    kind: str | None = setting(None, "The kind of check, when the check's name is not one: "
                                     "`[checks.sigmoid]` with `kind = \"function\"`.  A rubric "
                                     "may hold several checks of one kind, each with its name.",
                               valid=IDENTIFIER)
    public: bool = setting(False, "Runs in the student self-check (`labgrade check`); checks "
                                  "that are not public run only when the TA grades.")
    section: str | None = setting(None, "The auto section the check's points count in; may be "
                                        "left out when the rubric has one auto section.",
                                  valid=IDENTIFIER)

    def problems(self) -> Iterator[tuple[str, str]]:
        """Cross-field problems, as ``(key relative to the check, message)``."""
        return iter(())


def weights_problems(weights: Any, enabled: Mapping[str, bool]) -> Iterator[tuple[str, str]]:
    values = {f.name: getattr(weights, f.name) for f in dataclasses.fields(weights)}
    total = sum(values.values())
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        parts = " + ".join(f"{name} {value:g}" for name, value in values.items())
        yield "weights", f"the shares must add up to 1, found {parts} = {total:g}"
    for name, on in enabled.items():
        if not on and values[name] > 0:
            yield f"weights.{name}", (f"expected 0 since that part is switched off, "
                                      f"found {values[name]:g}")


class _CheckTypes(Mapping[str, type]):
    """Every check id (the stable ids of result.json) with its settings' dataclass, read from
    the checks' registry (:mod:`grader.checks.base`) the first time it is needed: each check
    module declares its own settings, so a new check needs no line here."""

    _known: tuple = ()
    _cached: dict[str, type] = {}

    def _types(self) -> dict[str, type]:
        from grader.checks.base import REGISTRY
        from grader.grading import import_check_modules, load_checks

        import_check_modules()
        known = tuple((cid, id(spec)) for cid, spec in REGISTRY.items())
        if known != self._known:  # the first time, or a check registered since
            self._cached = {cid: spec.config for cid, spec in load_checks().items()}
            self._known = known
        return self._cached

    def __getitem__(self, key: str) -> type:
        return self._types()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types())

    def __len__(self) -> int:
        return len(self._types())


CHECK_TYPES: Mapping[str, type] = _CheckTypes()


def __getattr__(name: str) -> Any:
    """``CHECK_IDS`` and the checks' settings classes (``GradientCheck``, ...), looked up in the
    registry when first asked for: they live with their checks, which import this module."""
    if name.startswith("__"):  # the import system asks for __path__ and the like
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name == "CHECK_IDS":  # the lab's checks; generic kinds are named by each rubric
        from grader.grading import load_checks

        return tuple(cid for cid, spec in load_checks().items() if not spec.generic)
    for config in CHECK_TYPES.values():
        related = [*config.__mro__, *get_type_hints(config).values()]
        found = next((c for c in related if isinstance(c, type) and c.__name__ == name), None)
        if found is not None:
            return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Seeds:
    """``[seeds]``: the seed of the public self-check (hidden seeds are never in the file)."""

    public: int = setting(0, "Seed of every random draw of the student self-check and of CI. "
                             "The TA grades with a hidden seed (--seed or LABGRADE_SEED).",
                          minimum=0)


@dataclass(frozen=True)
class Rubric:
    """A validated rubric.  ``checks`` and ``sections`` keep the file's order (do not mutate
    them); every check's ``section`` is resolved."""

    info: RubricInfo = setting(help="Which rubric this is.", key="rubric")
    sections: dict[str, Section] = setting(
        help="The course's scoring criteria, by id (the ids are CSV columns).",
        key_valid=SECTION_ID, nonempty=True)
    checks: dict[str, CheckConfig] = setting(
        help="Every automatic check, by id, with its points and settings.",
        variants=CHECK_TYPES)
    deadline: Deadline | None = setting(None, "The deadline; without it nothing is late.")
    seeds: Seeds = setting(factory=Seeds, help="Seeds of the self-check.")
    source: str = field(default="<rubric>", metadata={"toml": False, "help": "Where it was "
                                                      "read from (for messages)."})

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def version(self) -> str:
        return self.info.version

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def max_points(self) -> float:
        return self.info.max_points

    @property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(self.checks)

    @property
    def public_check_ids(self) -> tuple[str, ...]:
        return tuple(cid for cid, check in self.checks.items() if check.public)

    def sections_of_kind(self, kind: str) -> dict[str, Section]:
        return {sid: s for sid, s in self.sections.items() if s.kind == kind}

    @property
    def manual_sections(self) -> dict[str, Section]:
        return self.sections_of_kind("manual")

    @property
    def auto_sections(self) -> dict[str, Section]:
        return self.sections_of_kind("auto")

    def checks_in(self, section_id: str) -> dict[str, CheckConfig]:
        return {cid: c for cid, c in self.checks.items() if c.section == section_id}

    def settings(self, check_id: str) -> dict[str, Any]:
        """A check's settings as plain data (nested tables as dicts, lists as lists), keyed by
        the rubric's names: what a check function reads."""
        return _plain(dataclasses.asdict(self.checks[check_id]))

    def discovery_names(self) -> dict[str, tuple]:
        """The names that mark a submission's main file, as :func:`grader.discover.discover`'s
        keyword arguments: the interface check's class names, aliases and methods per role,
        so that a multi-file submission whose class is ``Net`` with ``forward`` is read from the
        file the checks will look in."""
        names = getattr(self.checks.get("interface"), "discovery_names", None)
        return names() if names is not None else {}

    def describe(self) -> str:
        """The rubric in plain text: sections, checks with points, deadline, seeds."""
        lines = [f"{self.title} (rubric {self.id} {self.version}, lab {self.info.lab}): "
                 f"{_num(self.max_points)} points", ""]
        for sid, section in self.sections.items():
            lines.append(f"{section.title} [{sid}, {section.kind}]: {_num(section.points)}")
            for cid, check in self.checks_in(sid).items():
                where = "public" if check.public else "TA only"
                lines.append(f"    {cid}: {_num(check.points)} ({where})")
        lines.append("")
        if self.deadline:
            grace = (f", {_num(self.deadline.grace_minutes)} minutes grace"
                     if self.deadline.grace_minutes else "")
            lines.append(f"Deadline {self.deadline.when.isoformat()}{grace}; late work: "
                         f"score x {_num(self.deadline.late_factor)}")
        else:
            lines.append("No deadline: nothing is late.")
        lines.append(f"Self-check seed {self.seeds.public}; the TA grades with a hidden seed "
                     f"(--seed or {SEED_VARIABLE}).")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _num(value: float) -> str:
    return f"{value:g}"


# --- conversion and validation -------------------------------------------------------------------

_INVALID = object()
_PLURAL = {str: "strings", float: "numbers", int: "whole numbers", bool: "true/false values"}


def _bounds(meta: Mapping[str, Any]) -> str:
    low, above, high = meta.get("minimum"), meta.get("above"), meta.get("maximum")
    if low is not None and high is not None:
        return f" between {low:g} and {high:g}" if low != high else f" equal to {low:g}"
    parts = []
    if low is not None:
        parts.append(f">= {low:g}")
    if above is not None:
        parts.append(f"> {above:g}")
    if high is not None:
        parts.append(f"<= {high:g}")
    return (" " + " and ".join(parts)) if parts else ""


def _expected(tp: Any, meta: Mapping[str, Any]) -> str:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _expected(next(a for a in get_args(tp) if a is not type(None)), meta)
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number" + _bounds(meta)
    if tp is float:
        return "a number" + _bounds(meta)
    if tp is str:
        if meta.get("valid"):
            return meta["valid"][1]
        return "a non-empty string" if meta.get("nonempty") else "a string"
    if tp is datetime:
        return "an ISO 8601 time with a timezone, such as 2020-09-02T11:59:00+08:00"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is tuple:
        item = get_args(tp)[0]
        noun = _PLURAL.get(item, "values")
        lead = "a non-empty list" if meta.get("nonempty") else "a list"
        bounds = _bounds(meta) if item in (int, float) else ""
        return f"{lead} of {noun}{bounds}"
    return "a table"


def _found(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "...'"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, list):
        text = repr(value)
        return "a list " + (text if len(text) <= 60 else text[:56] + " ...]")
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


class _Converter:
    """Turns TOML values into typed fields, collecting every problem with its key path."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def bad(self, where: str, tp: Any, meta: Mapping[str, Any], value: Any) -> Any:
        self.problems.append((where, f"expected {_expected(tp, meta)}, found {_found(value)}"))
        return _INVALID

    def value(self, value: Any, tp: Any, meta: Mapping[str, Any], where: str) -> Any:
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            inner = next(a for a in get_args(tp) if a is not type(None))
            return self.value(value, inner, meta, where)
        if tp is bool:
            return value if isinstance(value, bool) else self.bad(where, tp, meta, value)
        if tp in (int, float):
            return self.number(value, tp, meta, where)
        if tp is str:
            ok = isinstance(value, str) and (value.strip() or not meta.get("nonempty"))
            if ok and meta.get("valid"):
                ok = meta["valid"][0](value)
            return value if ok else self.bad(where, tp, meta, value)
        if tp is datetime:
            return self.moment(value, tp, meta, where)
        if origin is Literal:
            return value if value in get_args(tp) and isinstance(value, str) \
                else self.bad(where, tp, meta, value)
        if origin is tuple:
            if not isinstance(value, list) or (meta.get("nonempty") and not value):
                return self.bad(where, tp, meta, value)
            item = get_args(tp)[0]
            items = [self.value(v, item, meta, f"{where}[{i}]") for i, v in enumerate(value)]
            return _INVALID if any(v is _INVALID for v in items) else tuple(items)
        if origin is dict:
            return self.table_of(value, get_args(tp)[1], meta, where)
        if dataclasses.is_dataclass(tp):
            return self.table(value, tp, where)
        raise TypeError(f"rubric schema: unsupported type {tp!r} at {where}")  # our bug

    def number(self, value: Any, tp: type, meta: Mapping[str, Any], where: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.bad(where, tp, meta, value)
        if tp is int and not isinstance(value, int):
            return self.bad(where, tp, meta, value)
        if not math.isfinite(value):
            return self.bad(where, tp, meta, value)
        low, above, high = meta.get("minimum"), meta.get("above"), meta.get("maximum")
        if ((low is not None and value < low) or (above is not None and value <= above)
                or (high is not None and value > high)):
            return self.bad(where, tp, meta, value)
        return float(value) if tp is float else value

    def moment(self, value: Any, tp: Any, meta: Mapping[str, Any], where: str) -> Any:
        moment = value
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                return self.bad(where, tp, meta, value)
        if not isinstance(moment, datetime):
            return self.bad(where, tp, meta, value)
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.problems.append((where, f"expected {_expected(tp, meta)}, found "
                                         f"{_found(value)} (no timezone: add one, e.g. +08:00)"))
            return _INVALID
        return moment

    def table(self, value: Any, cls: type, where: str) -> Any:
        if not isinstance(value, dict):
            return self.bad(where, cls, {}, value)
        fields = [f for f in dataclasses.fields(cls) if f.metadata.get("toml", True)]
        by_key = {f.metadata.get("key") or f.name: f for f in fields}
        hints = get_type_hints(cls)
        ok = True
        for key in value:
            if key not in by_key:
                self.problems.append((_join(where, key), _unknown(key, list(by_key), "key")))
                ok = False
        values: dict[str, Any] = {}
        for key, f in by_key.items():
            sub = _join(where, key)
            if key not in value:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    self.problems.append(
                        (sub, f"missing; expected {_expected(hints[f.name], f.metadata)}"))
                    ok = False
                continue
            converted = self.value(value[key], hints[f.name], f.metadata, sub)
            if converted is _INVALID:
                ok = False
            else:
                values[f.name] = converted
        if not ok:
            return _INVALID
        obj = cls(**values)
        problems = getattr(obj, "problems", None)
        if callable(problems):
            found = [(_join(where, key), message) for key, message in problems()]
            if found:
                self.problems.extend(found)
                return _INVALID
        return obj

    def table_of(self, value: Any, item: Any, meta: Mapping[str, Any], where: str) -> Any:
        if not isinstance(value, dict) or (meta.get("nonempty") and not value):
            lead = "a non-empty table" if meta.get("nonempty") else "a table"
            self.problems.append((where, f"expected {lead} of tables, found {_found(value)}"))
            return _INVALID
        variants: Mapping[str, type] | None = meta.get("variants")
        key_valid = meta.get("key_valid")
        result: dict[str, Any] = {}
        ok = True
        for key, sub_value in value.items():
            sub = _join(where, key)
            # a check's kind is its name, unless it says otherwise (several of one kind)
            kind = sub_value.get("kind", key) if isinstance(sub_value, dict) else key
            if variants is not None and kind not in variants:
                if kind == key:
                    self.problems.append((sub, _unknown(key, list(variants), "check") +
                                          "; a check of another name says its kind: "
                                          "kind = \"function\""))
                else:
                    self.problems.append((_join(sub, "kind"),
                                          _unknown(str(kind), list(variants), "kind of check")))
                ok = False
                continue
            if key_valid is not None and not key_valid[0](key):
                self.problems.append((sub, f"expected the name to be {key_valid[1]}, "
                                           f"found {key!r}"))
                ok = False
                continue
            converted = self.table(sub_value, variants[kind] if variants else item, sub)
            if converted is _INVALID:
                ok = False
            else:
                result[key] = converted
        return result if ok else _INVALID


def _unknown(key: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what}{hint} (known: {', '.join(known)})"


def _resolve(rubric: Rubric) -> tuple[Rubric, list[tuple[str, str]]]:
    """Cross-table rules: sections add up, checks sit in auto sections and add up to them."""
    problems: list[tuple[str, str]] = []
    total = sum(s.points for s in rubric.sections.values())
    if not math.isclose(total, rubric.max_points, abs_tol=1e-9):
        parts = " + ".join(f"{sid} {_num(s.points)}" for sid, s in rubric.sections.items())
        problems.append(("sections", f"the sections add up to {parts} = {_num(total)} points, "
                                     f"but rubric.max_points is {_num(rubric.max_points)}"))
    autos = list(rubric.auto_sections)
    checks: dict[str, CheckConfig] = {}
    for cid, check in rubric.checks.items():
        where = f"checks.{cid}.section"
        section = check.section
        if section is None:
            if len(autos) == 1:
                section = autos[0]
            elif not autos:
                problems.append((where, "no section of kind 'auto' holds the checks: add one "
                                        "(e.g. experimental_results, kind = \"auto\")"))
            else:
                problems.append((where, f"missing; expected one of {', '.join(autos)} since "
                                        "the rubric has several auto sections"))
        elif section not in rubric.sections:
            problems.append((where, f"expected one of the auto sections ({', '.join(autos)}), "
                                    f"found {section!r}, which is not a section"))
        elif rubric.sections[section].kind != "auto":
            problems.append((where, f"expected one of the auto sections ({', '.join(autos)}), "
                                    f"found {section!r}, which is graded by hand"))
        checks[cid] = dataclasses.replace(check, section=section)
    if problems:
        return rubric, problems
    rubric = dataclasses.replace(rubric, checks=checks)
    for sid in autos:
        inside = rubric.checks_in(sid)
        got = sum(c.points for c in inside.values())
        want = rubric.sections[sid].points
        if not math.isclose(got, want, abs_tol=1e-9):
            parts = " + ".join(f"{cid} {_num(c.points)}" for cid, c in inside.items()) or "none"
            problems.append((f"sections.{sid}.points",
                             f"the checks of this auto section add up to {parts} = "
                             f"{_num(got)}, but the section is worth {_num(want)}"))
    return rubric, problems


def parse_rubric(data: Mapping[str, Any], source: str = "<rubric>") -> Rubric:
    """A validated :class:`Rubric` from already-parsed TOML data (``source`` for messages)."""
    converter = _Converter()
    rubric = converter.table(dict(data), Rubric, "")
    if rubric is _INVALID:
        raise RubricError(source, converter.problems)
    rubric = dataclasses.replace(rubric, source=source)
    rubric, problems = _resolve(rubric)
    if problems:
        raise RubricError(source, problems)
    return rubric


def read_rubric(path: Path | str) -> Rubric:
    """The rubric in the TOML file ``path``."""
    path = Path(path)
    shown = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError(shown, [("", "no such rubric file")]) from None
    except IsADirectoryError:
        raise RubricError(shown, [("", "is a folder, not a rubric file")]) from None
    except UnicodeDecodeError:
        raise RubricError(shown, [("", "is not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(shown, [("", f"is not valid TOML: {exc}")]) from None
    return parse_rubric(data, shown)


# --- finding rubrics by name ---------------------------------------------------------------------

def _checkout_dir() -> Path:
    """``rubrics/`` beside the ``grader`` package: a checkout or an editable install."""
    return Path(__file__).resolve().parent.parent / "rubrics"


def _packaged_dir() -> Path | None:
    """``grader/rubrics`` inside an installed package (see the pyproject's package-data)."""
    packaged = resources.files("grader") / "rubrics"
    return packaged if isinstance(packaged, Path) else None


def rubric_dirs() -> list[Path]:
    """Where named rubrics are looked for, in order: ``rubrics/`` beside the ``grader`` package
    (a checkout, an editable install), then ``grader/rubrics`` inside the installed package.
    Only folders that exist are listed."""
    dirs = [_checkout_dir(), _packaged_dir()]
    return [d for d in dirs if d is not None and d.is_dir()]


def rubric_names() -> list[str]:
    """Names that :func:`load_rubric` accepts, e.g. ``["lab1"]``."""
    names: list[str] = []
    for folder in rubric_dirs():
        for path in sorted(folder.glob("*.toml")):
            if path.stem not in names:
                names.append(path.stem)
    return names


def load_rubric(name_or_path: str | os.PathLike[str]) -> Rubric:
    """A rubric by name (``"lab1"``: the shipped ``rubrics/lab1.toml``) or by file path.

    A string counts as a path when it ends with ``.toml`` or contains a path separator, so
    ``"lab1"`` always means the shipped rubric (write ``./lab1`` for a file of that name); a
    :class:`~pathlib.Path` is always a path.
    """
    text = os.fspath(name_or_path)
    is_path = (not isinstance(name_or_path, str) or text.endswith(".toml") or "/" in text
               or os.sep in text)
    if is_path:
        return read_rubric(text)
    if not _RUBRIC_NAME.match(text):
        raise RubricError(text, [("", "is neither a rubric name nor a .toml file")])
    for folder in rubric_dirs():
        candidate = folder / f"{text}.toml"
        if candidate.is_file():
            return read_rubric(candidate)
    known = ", ".join(rubric_names()) or "none found"
    raise RubricError(text, [("", f"no rubric of that name (known: {known}); pass a .toml "
                                  "file to use another")])


# --- seeds ---------------------------------------------------------------------------------------

def _seed(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise SeedError(f"{where} must be a whole number >= 0, not {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"\+?\d+", text):
            raise SeedError(f"{where} must be a whole number >= 0, not {value!r}")
        return int(text)
    if not isinstance(value, int) or value < 0:
        raise SeedError(f"{where} must be a whole number >= 0, not {value!r}")
    return value


def effective_seed(rubric: Rubric, cli_seed: int | None = None,
                   environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """The seed to grade with, and where it came from: ``"--seed"``, ``"LABGRADE_SEED"`` or
    ``"public"``, in that order of precedence.

    ``environ`` defaults to :data:`os.environ`; an empty ``LABGRADE_SEED`` counts as unset.  A
    seed that is not a whole number >= 0 raises :class:`SeedError`.
    """
    if cli_seed is not None:
        return _seed(cli_seed, "--seed"), "--seed"
    env = os.environ if environ is None else environ
    raw = env.get(SEED_VARIABLE, "")
    if raw.strip():
        return _seed(raw, SEED_VARIABLE), SEED_VARIABLE
    return rubric.seeds.public, "public"


# --- documentation -------------------------------------------------------------------------------

def _toml(value: Any) -> str:
    """A default as it would be written in the TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _type_name(next(a for a in get_args(tp) if a is not type(None)))
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin is tuple:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return "table of tables"
    if tp is datetime:
        return "date-time"
    if dataclasses.is_dataclass(tp):
        return "table"
    return getattr(tp, "__name__", str(tp))


def _schema_lines(cls: type, prefix: str) -> Iterable[str]:
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if not f.metadata.get("toml", True):
            continue
        key = _join(prefix, f.metadata.get("key") or f.name)
        tp = hints[f.name]
        if get_origin(tp) in (Union, types.UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        if f.default is not dataclasses.MISSING:
            default = "optional" if f.default is None else _toml(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = "(table)"
        else:
            default = "required"
        yield f"{key} ({_type_name(tp)}, {default}): {f.metadata.get('help', '')}"
        if dataclasses.is_dataclass(tp):
            yield from _schema_lines(tp, key)
        if get_origin(tp) is dict:
            variants = f.metadata.get("variants")
            if variants:
                for vid, vcls in variants.items():
                    yield from _schema_lines(vcls, f"{key}.{vid}")
            else:
                yield from _schema_lines(get_args(tp)[1], f"{key}.<id>")


def schema_help() -> str:
    """Every key a rubric may have, with its type, default and help text, one per line."""
    return "\n".join(_schema_lines(Rubric, ""))
