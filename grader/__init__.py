"""labgrade: grade NumPy neural-network labs, run untrusted submissions safely, explain bugs.

The pipeline is discover -> load -> probe -> check -> score -> render; see the README.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("labgrade")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"


def check(obj=None, *, rubric: str = "lab1", out=None) -> bool:
    """Self-check from a notebook or a script: ``from grader import check; check(NN)``.
    See :mod:`grader.selfcheck`."""
    from grader.selfcheck import check as run_check

    return run_check(obj, rubric=rubric, out=out)
