"""The checks: parent-side functions that turn the child's observations into verdicts.

See :mod:`grader.checks.base` for the verdict and the registry.
"""
