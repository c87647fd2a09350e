"""What a check produces, and the registry that names the checks.

A check turns observations (what the child measured) into a :class:`Verdict`: a status, a
fraction of the check's points (partial credit), a message for the student and structured
details.  Checks never run student code and never decide points: the rubric gives each check
its maximum, and the score stage turns ``fraction`` into points (see :mod:`grader.score`).

Checks register themselves by id with :func:`register`, in the order they must run; a check
lists the checks it depends on, and is skipped (status ``skip``) when one of them did not pass.
The ids are the stable names of ``result.json`` (see DESIGN.md): ``interface``, ``forward``,
``gradient``, ``train_linear``, ``train_xor``, ``numpy_only``, ``program``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

PASS, FAIL, ERROR, SKIP = "pass", "fail", "error", "skip"
STATUSES = (PASS, FAIL, ERROR, SKIP)
"""``error``: the student's code raised, hung or crashed during the check; ``skip``: a check it
depends on did not pass, so this one could not be judged."""


@dataclass
class Verdict:
    """A check's judgement, before points: the score stage multiplies ``fraction`` by the
    rubric's maximum for the check."""

    status: str
    message: str
    fraction: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"fraction must be in [0, 1], not {self.fraction}")


@dataclass
class CheckResult:
    """One entry of ``result.json``'s ``checks``: the verdict with its points."""

    id: str
    status: str
    points: float
    max_points: float
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "points": self.points,
                "max_points": self.max_points, "message": self.message,
                "details": self.details}


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its id, what it needs to have passed first, and its function."""

    id: str
    requires: tuple[str, ...]
    run: Callable[..., Verdict]
    summary: str


REGISTRY: dict[str, CheckSpec] = {}


def register(check_id: str, *, requires: tuple[str, ...] = (), summary: str = ""
             ) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Decorator: make a check function known under ``check_id``."""

    def decorate(func: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id!r} registered twice")
        REGISTRY[check_id] = CheckSpec(check_id, tuple(requires), func,
                                       summary or (func.__doc__ or "").strip().splitlines()[0])
        return func

    return decorate


def ordered(registry: dict[str, CheckSpec]) -> dict[str, CheckSpec]:
    """The registry in running order, every check after the checks it requires."""
    done: dict[str, CheckSpec] = {}
    pending = dict(registry)
    while pending:
        ready = [c for c in pending.values() if all(r in done for r in c.requires)]
        if not ready:
            raise ValueError(f"checks with unknown or circular requirements: {sorted(pending)}")
        for spec in ready:
            done[spec.id] = pending.pop(spec.id)
    return done
