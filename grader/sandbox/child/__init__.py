"""Code that runs inside the sandboxed child.

These modules are copied to a private folder and run there as top-level modules (``import
protocol``, ``import loader``), with nothing of the grader importable; they use only the
standard library (NumPy and matplotlib lazily, where a submission needs them).  The grader
imports :mod:`grader.sandbox.child.protocol` and :mod:`grader.sandbox.child.bootstrap` for their
shared definitions only.
"""
