"""Initialisations of the lab's network known to converge on ``generate_XOR_easy()``, robustly.

Measured with :func:`reference.convergence.robust_inits` over the seeds 0..63 (``NN(dim=[2, 3,
3, 1], rng=seed)``, lr 0.8, per-sample updates, every sample's loss below 0.04, each also
trained from three copies nudged by 1e-9): only these converge, and within about 30k steps,
however their last bits fall.  The XOR data never changes, so neither does this list; the
grader picks one by its seed instead of searching again (tens of seconds) for every grading.
``bench/convergence.py --known`` measures it again; a test re-checks entries.

Each entry: (seed, steps of the reference from that initialisation).
"""

XOR_NO_BIAS: tuple[tuple[int, int], ...] = (
    (0, 30093), (11, 12075), (37, 12012), (41, 14427), (42, 27930), (43, 20769), (44, 15456),
    (58, 24507), (59, 16989),
)

XOR_WITH_BIAS: tuple[tuple[int, int], ...] = (
    (0, 7140), (1, 14994), (4, 7623), (5, 10311), (6, 11277), (9, 29631), (10, 13818),
    (12, 11844), (15, 22218), (19, 23184), (23, 16233), (25, 24129), (26, 15582), (27, 19257),
    (28, 15288), (30, 10836), (34, 14574), (35, 5523), (38, 19446), (39, 9366), (44, 15855),
    (53, 9324),
)


def known_xor_init(seed: int, bias: bool) -> tuple[int, int]:
    """The grading seed's initialisation: (init seed, reference steps)."""
    table = XOR_WITH_BIAS if bias else XOR_NO_BIAS
    return table[seed % len(table)]
