"""What every check works with: the submission, its sandbox, settings, and shared facts.

Checks talk to the student's code only through :meth:`GradingContext.probe`, which sends a
request to the sandboxed child and hands back its raw observations.  If an earlier step ended
the child (a timeout in training, a crash), the next probe starts a fresh child and loads the
definitions again first, so one check's disaster does not become the next check's error.

Facts that one check establishes for the others (the adapter to the student's class, the
parameter layout, the gradient's scale) live in :attr:`GradingContext.facts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from grader.load import DEFINITIONS, Loader, LoadResult
from grader.sandbox import Sandbox, StepResult

Array = np.ndarray


@dataclass
class GradingContext:
    """One submission's grading session."""

    main: str
    kind: str
    sources: list[str]
    files_root: Any
    settings: Mapping[str, Mapping[str, Any]]
    """Per check id, its rubric settings."""
    seed: int
    sandbox: Sandbox | None = None
    loaded: LoadResult | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def setting(self, check_id: str, key: str, default: Any = None) -> Any:
        return self.settings.get(check_id, {}).get(key, default)

    def rng(self, purpose: str) -> np.random.Generator:
        """A generator seeded from the grading seed and what it is for: the same submission
        graded with the same seed draws the same numbers, whatever ran before."""
        salt = sum((i + 1) * b for i, b in enumerate(purpose.encode()))
        return np.random.default_rng([self.seed, salt])

    def probe(self, op: str, args: dict[str, Any], timeout: float | None = None) -> StepResult:
        """Ask the child for observations; revive it first if an earlier step ended it."""
        assert self.sandbox is not None
        if self.sandbox.stopped is not None:
            self.sandbox.restart()
            Loader(self.sandbox, self.main, self.kind).load(DEFINITIONS)
        return self.sandbox.request(op, args, timeout=timeout)


def probe_failure(step: StepResult, doing: str) -> str | None:
    """A sentence when the probe produced no observations (the child died, or the operation
    itself raised), else None."""
    if not step.answered:
        return f"your code {step.message} while {doing}"
    if not step.ok:
        error = (step.reply or {}).get("error", {})
        return f"{error.get('kind', 'error')} while {doing}: {error.get('message', '')}".strip()
    return None


def describe_student_error(error: Mapping[str, Any]) -> str:
    """A student's exception, as one line with where it happened."""
    where = f" ({error['where']})" if error.get("where") else ""
    line = f": `{error['line'].strip()}`" if error.get("line") else ""
    return f"{error.get('type', 'Error')}: {error.get('message', '')}{where}{line}"
