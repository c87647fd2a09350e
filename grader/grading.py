"""Run the checks on one submission: load it in a sandbox, then each check in order.

The checks are the registered ones (:mod:`grader.checks.base`), imported here in their running
order.  A check whose prerequisite did not pass is skipped with a message naming it; a check
that raises because of a grader bug becomes an ``error`` verdict that says so, and the
remaining checks still run.  Scoring is not done here: the verdicts go to :mod:`grader.score`.
"""

from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Mapping

from grader.checks.base import ERROR, PASS, REGISTRY, SKIP, Verdict, ordered
from grader.checks.context import GradingContext
from grader.discover import Submission
from grader.load import DEFINITIONS, Loader, LoadResult
from grader.sandbox import Sandbox
from grader.settings import SandboxSettings

CHECK_MODULES = ("interface", "forward", "gradient", "training", "numpy_only", "program")


def load_checks() -> dict[str, Any]:
    """Import every check module (registering it) and return the registry, in order."""
    for name in CHECK_MODULES:
        importlib.import_module(f"grader.checks.{name}")
    return ordered(REGISTRY)


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
    settings: Mapping[str, Mapping[str, Any]],
    seed: int,
    sandbox_settings: SandboxSettings | None = None,
    only: set[str] | None = None,
) -> Grading:
    """Load ``sub`` and run the checks (all, or those in ``only``); never raises for the
    student's code, whatever it does."""
    registry = load_checks()
    start = time.monotonic()
    outcome = Grading()
    if sub.errors or sub.main is None:
        outcome.graded = False
        outcome.error = sub.errors[0] if sub.errors else "no Python source or notebook found"
        return outcome
    ctx = GradingContext(main=sub.main, kind=sub.kind or "script", sources=list(sub.sources),
                         files_root=sub.root, settings=settings, seed=seed)
    with Sandbox(sub.root, sandbox_settings) as sandbox:
        ctx.sandbox = sandbox
        outcome.isolation = sandbox.isolation.level
        ctx.loaded = outcome.loaded = Loader(sandbox, sub.main, ctx.kind).load(DEFINITIONS)
        syntax = [e for e in ctx.loaded.error_details if e.get("kind") in ("syntax", "decode")]
        if syntax and not ctx.loaded.classes:
            outcome.graded = False
            outcome.error = ctx.loaded.errors[0]
        for check_id, spec in registry.items():
            if only is not None and check_id not in only:
                continue
            missing = [r for r in spec.requires
                       if outcome.verdicts.get(r) is None or outcome.verdicts[r].status != PASS]
            if missing or not outcome.graded:
                reason = outcome.error if not outcome.graded else \
                    f"needs {', '.join(missing)} to pass first"
                outcome.verdicts[check_id] = Verdict(SKIP, f"not checked: {reason}")
                continue
            try:
                outcome.verdicts[check_id] = spec.run(ctx)
            except Exception as err:  # a grader bug: say so, keep grading the rest
                outcome.verdicts[check_id] = Verdict(
                    ERROR, f"the grader failed on this check ({type(err).__name__}: {err}); "
                    "this is not your fault: please report it",
                    0.0, {"grader_traceback": traceback.format_exc(limit=8)})
    outcome.facts = {k: v for k, v in ctx.facts.items() if k != "layout"}
    outcome.seconds = time.monotonic() - start
    return outcome
