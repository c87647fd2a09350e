"""Every source of randomness in the student's process, seeded from the grading seed.

Runs inside the sandboxed child as the top-level module ``seeding`` (standard library and NumPy
only; never imports the grader).  A network initialised with ``np.random.randn(...)`` or an
unseeded ``np.random.default_rng()`` would otherwise start from different weights on every run,
and the same submission could get a different grade each time it is graded.

:func:`install`, once before the student's code loads, seeds the global states (NumPy's legacy
``np.random.*`` functions and the ``random`` module) and replaces, on ``numpy.random`` (and on
``numpy.random.mtrand`` where the name lives there too) and on ``random``, each constructor that
draws entropy from the operating system when it is given no seed: ``default_rng``,
``RandomState``, the bit generators ``PCG64``, ``PCG64DXSM``, ``MT19937``, ``Philox`` and
``SFC64``, ``SeedSequence``, ``random.Random``, and the ``np.random.seed()`` and
``random.seed()`` that re-seed a global state from entropy.  Given no seed, each now takes the
next seed of a deterministic series derived from the grading seed (``SeedSequence([seed, n])``
for the n-th such call), so that two unseeded generators differ from each other but are the same
on every run.  Given a seed, each behaves exactly as NumPy's or Python's own.

:func:`reseed`, before each construction of the student's network, seeds the global states again
and restarts the series, so that a construction draws the same numbers whatever ran before it.

Not covered: ``random.SystemRandom``, ``os.urandom`` and ``secrets`` read the operating system's
entropy on every draw, by design, and nothing can make them repeatable.  A generator the student
created before :func:`reseed` (``RNG = np.random.default_rng()`` at module level) keeps its own
state across constructions: its draws are the same on every run as long as the child receives
the same requests in the same order.
"""

from __future__ import annotations

import functools
import random
import types
from typing import Any, Callable

import numpy as np
import numpy.random.mtrand

SEEDED = "__seeded_from_grading_seed__"
"""Marks a replacement installed here: installing twice never wraps a replacement again."""

BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")

# The original constructors, captured before any replacement: the replacements build on them.
_ORIGINAL_SEED_SEQUENCE = np.random.SeedSequence
_ORIGINAL_MT19937 = np.random.MT19937
_ORIGINAL_NUMPY_SEED = np.random.seed
_ORIGINAL_RANDOM_SEED = random.seed


class _Series:
    """The grading seed and how many unseeded generators were made since the last reseed;
    ``restart``: which run of a program run again to try other starts (0: the first)."""

    seed: int | None = None
    count = 0
    restart = 0


def _student_seed(seed: Any) -> Any:
    """A seed the student's code gives, as this run uses it: itself on the first run; on a
    restart, a seed derived from it and the restart's number, so that a program that seeds
    itself (``np.random.seed(0)``) starts elsewhere too, and the same elsewhere every time."""
    if not _Series.restart or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        return seed
    sequence = _ORIGINAL_SEED_SEQUENCE([int(seed) % (1 << 128), 0x5EED, _Series.restart])
    return int(sequence.generate_state(1, np.uint32)[0])


def _entropy(seed: int) -> int:
    """The grading seed as SeedSequence entropy, which must not be negative."""
    return int(seed) % (1 << 128)


def _next_entropy() -> list[int]:
    """The entropy of the next unseeded generator: ``[seed, n]`` for the n-th since reseed."""
    if _Series.seed is None:
        raise RuntimeError("seeding.install(seed) must be called before drawing seeds")
    entropy = [_entropy(_Series.seed), _Series.count]
    _Series.count += 1
    return entropy


def _next_sequence() -> np.random.SeedSequence:
    """The next seed of the series, as NumPy's own ``SeedSequence``."""
    return _ORIGINAL_SEED_SEQUENCE(_next_entropy())


def _next_words() -> np.ndarray:
    """128 bits for the legacy seeding functions, which take an array of 32-bit words."""
    return _next_sequence().generate_state(4, np.uint32)


def _next_int() -> int:
    """128 bits as one integer, for ``random.Random``."""
    return int.from_bytes(_next_words().tobytes(), "little")


# --- the replacements --------------------------------------------------------------------------
#
# ``default_rng`` and the two ``seed`` functions are plain functions, so a function wrapping them
# is a faithful replacement.  The others are classes: a student may write
# ``isinstance(rng, np.random.RandomState)``, subclass them, or pickle their instances, which a
# wrapping function would break.  NumPy's bit generators, ``SeedSequence`` and ``RandomState``
# can be subclassed (checked on NumPy 2.4), so each replacement is a subclass of the same name
# that supplies the seed when none is given.  The name matters: a bit generator's ``state``
# carries its class name, and restoring a state checks it.  The metaclass makes the original
# classes' instances (``np.random.default_rng(5).bit_generator``, NumPy's global ``RandomState``,
# ``random``'s global ``Random``) still instances of the replacing name.


class _SameAsOriginal(type):
    """Metaclass: an instance of the original class counts as an instance of its replacement
    (and only of the replacement itself: a student's own subclass of it stays strict)."""

    def __instancecheck__(cls, instance: Any) -> bool:
        if cls.__dict__.get(SEEDED):
            return isinstance(instance, cls.__mro__[1])
        return super().__instancecheck__(instance)

    def __subclasscheck__(cls, subclass: type) -> bool:
        if cls.__dict__.get(SEEDED):
            return issubclass(subclass, cls.__mro__[1])
        return super().__subclasscheck__(subclass)


def _replacement_class(original: type, body: dict[str, Any]) -> type:
    """A subclass of ``original`` named and placed like it, so that pickling finds it."""
    module = "random" if original.__module__ == "random" else "numpy.random"
    namespace = {**body, "__module__": module, "__qualname__": original.__name__,
                 "__doc__": original.__doc__, SEEDED: True}
    return _SameAsOriginal(original.__name__, (original,), namespace)


def _seeded_bit_generator(original: type) -> type:
    """A bit generator that takes the next seed of the series when given neither seed nor key."""

    def __init__(self: Any, seed: Any = None, *args: Any, **kwargs: Any) -> None:
        key = kwargs.get("key", args[1] if len(args) > 1 else None)  # Philox(seed, counter, key)
        if seed is None and key is None:
            seed = _next_sequence()
        original.__init__(self, _student_seed(seed), *args, **kwargs)

    return _replacement_class(original, {"__init__": __init__})


def _seeded_seed_sequence(original: type) -> type:
    """A ``SeedSequence`` whose entropy, when none is given, is ``[seed, n]``."""

    def __init__(self: Any, entropy: Any = None, **kwargs: Any) -> None:
        if entropy is None:
            entropy = _next_entropy()
        original.__init__(self, entropy, **kwargs)

    return _replacement_class(original, {"__init__": __init__})


def _seeded_random_state(original: type) -> type:
    """A ``RandomState`` built, and re-seeded by ``.seed()``, from the series when unseeded."""

    def __init__(self: Any, seed: Any = None) -> None:
        original.__init__(self, _ORIGINAL_MT19937(_next_sequence()) if seed is None
                          else _student_seed(seed))

    def seed(self: Any, seed: Any = None) -> None:
        original.seed(self, _next_words() if seed is None else _student_seed(seed))

    return _replacement_class(original, {"__init__": __init__, "seed": seed})


def _seeded_random(original: type) -> type:
    """A ``random.Random`` seeded from the series when unseeded (its ``__init__`` calls seed)."""

    def seed(self: Any, a: Any = None, version: int = 2) -> None:
        original.seed(self, _next_int() if a is None else _student_seed(a), version)

    return _replacement_class(original, {"seed": seed})


def _seeded_function(original: Callable[..., Any], next_seed: Callable[[], Any],
                     parameter: str = "seed") -> Callable[..., Any]:
    """``original`` with ``next_seed()`` in place of a missing or None seed, the first
    parameter, called ``parameter`` (``random.seed`` calls it ``a``)."""

    @functools.wraps(original)
    def seeded(*args: Any, **kwargs: Any) -> Any:
        seed = args[0] if args else kwargs.pop(parameter, None)
        return original(next_seed() if seed is None else _student_seed(seed), *args[1:],
                        **kwargs)

    setattr(seeded, SEEDED, True)
    return seeded


Maker = Callable[[Any], Any]


def _replacements() -> list[tuple[str, Maker, tuple[types.ModuleType, ...]]]:
    """Each name to replace, how to make its replacement from the original, and the modules
    where it is replaced.

    ``numpy.random.bit_generator.SeedSequence`` stays NumPy's: pickling any bit generator
    pickles its ``SeedSequence`` by that module and name, which must still find NumPy's class.
    """
    legacy = (np.random, numpy.random.mtrand)
    return [
        ("default_rng", lambda f: _seeded_function(f, _next_sequence), (np.random,)),
        ("seed", lambda f: _seeded_function(f, _next_words), legacy),
        ("RandomState", _seeded_random_state, legacy),
        ("SeedSequence", _seeded_seed_sequence, (np.random,)),
        *[(name, _seeded_bit_generator, (np.random,)) for name in BIT_GENERATORS],
        ("Random", _seeded_random, (random,)),
        ("seed", lambda f: _seeded_function(f, _next_int, "a"), (random,)),
    ]


def _replace(name: str, make: Maker, modules: tuple[types.ModuleType, ...]) -> None:
    """Replace ``name`` on every module that has it, by one replacement, unless already done."""
    original = getattr(modules[0], name)
    replacement = original if getattr(original, SEEDED, False) else make(original)
    for module in modules:
        current = getattr(module, name, None)
        if current is original or current is replacement:
            setattr(module, name, replacement)


def _seed_globals(seed: int) -> None:
    """NumPy's legacy global state (seeds must be below 2**32) and ``random``'s."""
    _ORIGINAL_NUMPY_SEED(int(seed) % (1 << 32))
    _ORIGINAL_RANDOM_SEED(int(seed))


# --- the interface -----------------------------------------------------------------------------

def install(seed: int, restart: int = 0) -> None:
    """Seed every source of randomness from ``seed``; call once before the student's code loads
    (again is harmless: nothing is replaced twice, and the series follows the new seed).
    ``restart`` > 0: a run of the program again from another start, the seeds the student's
    code gives changed too (see ``_student_seed``)."""
    _Series.seed, _Series.count, _Series.restart = int(seed), 0, int(restart)
    for name, make, modules in _replacements():
        _replace(name, make, modules)
    _seed_globals(_entropy(seed) + int(restart) * 7919 if restart else seed)


def reseed(seed: int) -> None:
    """Before each construction of the student's network: the global states seeded again and the
    series restarted, so that the construction draws the same numbers whatever ran before it."""
    if not getattr(np.random.default_rng, SEEDED, False):
        install(seed)
    _Series.seed, _Series.count = int(seed), 0
    _seed_globals(seed)
