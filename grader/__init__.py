"""labgrade: grade NumPy neural-network labs, run untrusted submissions safely, explain bugs.

The pipeline is discover -> load -> probe -> check -> score -> render; see the README.
"""

__version__ = "0.1.0"
"""Written into every result.json (a changed grader regrades a batch); the package's version
(``pyproject.toml`` reads it from here)."""


def check(obj=None, *, rubric: str = "lab1", out=None) -> bool:
    """Self-check from a notebook or a script: ``from grader import check; check(NN)``.
    See :mod:`grader.selfcheck`."""
    from grader.selfcheck import check as run_check

    return run_check(obj, rubric=rubric, out=out)
