"""What a check produces, and the registry that names the checks and their contracts.

A check turns observations (what the child measured) into a :class:`Verdict`: a status, a
fraction of the check's points (partial credit), a message for the student and structured
details.  Checks never run student code and never decide points: the rubric gives each check
its maximum, and the score stage turns ``fraction`` into points (see :mod:`grader.score`).

A check is one module of :mod:`grader.checks` that registers itself with :func:`register`,
declaring its contract (:class:`CheckSpec`): its rubric settings' dataclass, the checks it
requires, the facts it reads and writes.  Adding a check is that module and its
``[checks.<id>]`` section in the rubric, nothing else.  The ids are the stable names of
``result.json`` (docs/design.md): ``interface``, ``forward``, ``gradient``, ``train_linear``,
``train_xor``, ``numpy_only``, ``program``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

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
    kind: str | None = None
    """The check's kind when its id is not one (``sigmoid`` of kind ``function``)."""

    def to_dict(self) -> dict[str, Any]:
        entry = {"id": self.id, "status": self.status, "points": self.points,
                 "max_points": self.max_points, "message": self.message,
                 "details": self.details}
        if self.kind and self.kind != self.id:
            entry["kind"] = self.kind
        return entry


@dataclass(frozen=True)
class CheckSpec:
    """A registered check and its contract, declared in one place (:func:`register`).

    ``config`` is the dataclass of its rubric settings (``[checks.<id>]``): the single home of
    every default and its help text.  ``requires`` are the checks that must *pass* first, else
    this one is skipped; ``reads`` and ``writes`` name the :class:`~grader.checks.context.Facts`
    it takes from earlier checks and leaves for later ones.  The runner orders the checks from
    these declarations (every check after the ones it requires and after the writers of what it
    reads), runs the writers of a fact whenever a reader runs, and refuses a check that writes
    a fact it did not declare.
    """

    id: str
    run: Callable[..., Verdict]
    config: type
    requires: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    summary: str = ""
    generic: bool = False
    """A kind a rubric instantiates with its own data (``[checks.sigmoid] kind = "function"``):
    it means nothing without a rubric's settings, so it runs only where a rubric names it."""

    @property
    def after(self) -> tuple[str, ...]:
        """The checks that must have run before this one: the required ones and the writers
        of the facts it reads."""
        writers = [spec.id for spec in REGISTRY.values()
                   if spec.id != self.id and set(spec.writes) & set(self.reads)]
        return tuple(dict.fromkeys([*self.requires, *writers]))


REGISTRY: dict[str, CheckSpec] = {}


def register(check_id: str, *, config: type, requires: tuple[str, ...] = (),
             reads: tuple[str, ...] = (), writes: tuple[str, ...] = (), summary: str = "",
             generic: bool = False
             ) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Decorator: make a check function known under ``check_id``, with its contract
    (``generic``: see :attr:`CheckSpec.generic`)."""

    def decorate(func: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id!r} registered twice")
        from grader.checks.context import FACT_NAMES

        unknown = [f for f in (*reads, *writes) if f not in FACT_NAMES]
        if unknown:
            raise ValueError(f"check {check_id!r} declares unknown facts {unknown}; the facts "
                             f"are the fields of grader.checks.context.Facts")
        REGISTRY[check_id] = CheckSpec(check_id, func, config, tuple(requires), tuple(reads),
                                       tuple(writes),
                                       summary or (func.__doc__ or "").strip().splitlines()[0],
                                       generic)
        return func

    return decorate


def ordered(registry: dict[str, CheckSpec], preferred: Sequence[str] = ()
            ) -> dict[str, CheckSpec]:
    """The registry in running order: every check after the ones it must follow
    (:attr:`CheckSpec.after`), otherwise in the ``preferred`` order (a rubric's), then in the
    order the checks were registered."""
    unknown = sorted(cid for cid, spec in registry.items()
                     if any(r not in registry for r in spec.requires))
    if unknown:
        raise ValueError(f"checks with unknown or circular requirements: {unknown}")
    return ordered_plan(registry, preferred)


def ordered_plan(plan: dict[str, CheckSpec], preferred: Sequence[str] = ()
                 ) -> dict[str, CheckSpec]:
    """A rubric's checks (name -> kind's spec) in running order: every check after the checks
    of the kinds its kind must follow, otherwise in the ``preferred`` order (the rubric's).
    A lab's checks are named by their kinds, so this is :func:`ordered` for them."""
    rank = {cid: i for i, cid in enumerate([*preferred, *plan])}
    by_kind: dict[str, list[str]] = {}
    for cid, spec in plan.items():
        by_kind.setdefault(spec.id, []).append(cid)
    done: dict[str, CheckSpec] = {}
    pending = dict(plan)
    while pending:
        ready = sorted((cid for cid, spec in pending.items()
                        if all(other in done for kind in spec.after
                               for other in by_kind.get(kind, []))),
                       key=lambda cid: rank[cid])
        if not ready:
            raise ValueError(f"checks with circular requirements: {sorted(pending)}")
        done[ready[0]] = pending.pop(ready[0])
    return done
