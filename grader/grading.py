"""Run the checks on one submission: load it in a sandbox, then each check in order.

The checks are the modules of :mod:`grader.checks` that register themselves
(:mod:`grader.checks.base`); each declares its contract, and the runner follows it: it orders
the checks (every check after the checks it requires and after the writers of the facts it
reads, otherwise in the rubric's order), runs the writers of a fact whenever one of its readers
is asked for (so a check's verdict never depends on which other checks were asked for), skips
a check whose required check did not pass, and refuses a check that writes a fact it did not
declare.  A check that raises because of a grader bug becomes an ``error`` verdict that says
so, and the remaining checks still run.  Scoring is not done here: the verdicts go to
:mod:`grader.score`.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import grader.checks
from grader.checks.base import (ERROR, PASS, REGISTRY, SKIP, CheckSpec, Verdict, ordered,
                                ordered_plan)
from grader.checks.context import GradingContext
from grader.discover import Submission
from grader.load import DEFINITIONS, Loader, LoadResult
from grader.sandbox import Sandbox
from grader.settings import SandboxSettings

INFRASTRUCTURE = frozenset({"base", "context"})
"""Modules of :mod:`grader.checks` that hold no check."""


def load_checks(preferred: Iterable[str] = ()) -> dict[str, CheckSpec]:
    """Import every check module (each registers itself) and return the registry in running
    order, ties in the ``preferred`` order (a rubric's)."""
    import_check_modules()
    return ordered(REGISTRY, list(preferred))


@functools.cache
def import_check_modules() -> None:
    """Each check module, once per process (reading a rubric asks for the checks' settings
    once per table)."""
    for module in pkgutil.iter_modules(grader.checks.__path__):
        if module.name not in INFRASTRUCTURE:
            importlib.import_module(f"grader.checks.{module.name}")


def check_plan(settings: Mapping[str, Any]) -> dict[str, CheckSpec]:
    """The checks to run, by name, each with its kind's spec, in running order: the rubric's
    (``settings``: name -> settings, whose ``kind`` names the kind when the name is not one);
    without settings, every kind that needs no rubric data, by its own name."""
    registry = load_checks(settings)
    if not settings:
        return {cid: spec for cid, spec in registry.items() if not spec.generic}
    plan = {cid: registry[getattr(config, "kind", None) or cid]
            for cid, config in settings.items()}
    return ordered_plan(plan, list(settings))


def needed_checks(plan: Mapping[str, CheckSpec], only: set[str] | None) -> set[str]:
    """The checks to run for ``only``: those, the checks they require and the writers of the
    facts they read, transitively."""
    if only is None:
        return set(plan)
    needed: set[str] = set()
    pending = [c for c in only if c in plan]
    while pending:
        check_id = pending.pop()
        if check_id not in needed:
            needed.add(check_id)
            pending += [other for other, spec in plan.items()
                        if spec.id in plan[check_id].after]
    return needed


@dataclass
class Grading:
    """The outcome of running the checks on one submission, before scoring."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    loaded: LoadResult | None = None
    isolation: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    graded: bool = True
    error: str | None = None
    seconds: float = 0.0


def grade_submission(
    sub: Submission,
    *,
    settings: Mapping[str, Any],
    seed: int,
    sandbox_settings: SandboxSettings | None = None,
    only: set[str] | None = None,
    started: Sandbox | None = None,
) -> Grading:
    """Load ``sub`` and run the checks (all, or those in ``only``); never raises for the
    student's code, whatever it does.  ``settings`` maps check names to their rubric settings
    (``rubric.checks``): the checks that run (empty: every kind that needs no rubric data,
    with its settings' defaults).  ``started``: a sandbox already started and given ``sub``'s
    files (:meth:`Sandbox.give_files`), used instead of a new one and closed like it."""
    plan = check_plan(settings)
    start = time.monotonic()
    outcome = Grading()
    if sub.errors or sub.main is None:
        outcome.graded = False
        outcome.error = sub.errors[0] if sub.errors else "no Python source or notebook found"
        return outcome
    ctx = GradingContext(main=sub.main, kind=sub.kind or "script", sources=list(sub.sources),
                         entry=sub.entry or sub.main, entry_kind=sub.entry_kind or sub.kind,
                         files_root=sub.root, configs=settings, seed=seed)
    run = needed_checks(plan, only)
    with started or Sandbox(sub.root, sandbox_settings) as sandbox:
        ctx.sandbox = sandbox
        outcome.isolation = sandbox.isolation.level
        ctx.loaded = outcome.loaded = Loader(sandbox, sub.main, ctx.kind,
                                             seed=seed).load(DEFINITIONS)
        syntax = [e for e in ctx.loaded.error_details if e.get("kind") in ("syntax", "decode")]
        if syntax and not ctx.loaded.classes:
            outcome.graded = False
            outcome.error = ctx.loaded.errors[0]
        verdicts: dict[str, Verdict] = {}
        try:
            for check_id, spec in plan.items():
                if check_id in run:
                    ctx.current = check_id
                    verdicts[check_id] = _run_check(spec, ctx, verdicts, outcome)
        finally:
            ctx.close()
    outcome.loaded = ctx.loaded  # the interface may have loaded the file defining the network
    outcome.verdicts = {c: v for c, v in verdicts.items() if only is None or c in only}
    outcome.facts = {k: v for k, v in ctx.facts.snapshot().items() if k != "layout"}
    outcome.seconds = time.monotonic() - start
    return outcome


def _run_check(spec: CheckSpec, ctx: GradingContext, verdicts: Mapping[str, Verdict],
               outcome: Grading) -> Verdict:
    """One check, following its contract: skipped when a required check did not pass, an
    ``error`` verdict when the grader itself fails (a bug, or a fact written undeclared)."""
    missing = [r for r in spec.requires if r not in verdicts or verdicts[r].status != PASS]
    if missing or not outcome.graded:
        reason = outcome.error if not outcome.graded else \
            f"needs {', '.join(missing)} to pass first"
        return Verdict(SKIP, f"not checked: {reason}")
    before = ctx.facts.snapshot()
    seen = len(ctx.student_tracebacks)
    try:
        verdict = spec.run(ctx)
        after = ctx.facts.snapshot()
        undeclared = [k for k in after if after[k] is not before[k] and k not in spec.writes]
        if undeclared:
            raise RuntimeError(f"check {spec.id!r} wrote facts it does not declare: {undeclared}")
        if verdict.status == ERROR and len(ctx.student_tracebacks) > seen:
            # the report shows the student where their code raised during this check
            verdict.details.setdefault("traceback", ctx.student_tracebacks[-1])
        return verdict
    except Exception as err:  # a grader bug: say so, keep grading the rest
        return Verdict(ERROR, f"the grader failed on this check ({type(err).__name__}: {err}); "
                       "this is not your fault: please report it",
                       0.0, {"grader_traceback": traceback.format_exc(limit=8)})
