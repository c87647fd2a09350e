"""Running untrusted submissions: the isolation boundary between the grader and student code.

The grader's side is :mod:`grader.sandbox.runner` (:class:`Sandbox`) and
:mod:`grader.sandbox.isolation`; everything in :mod:`grader.sandbox.child` runs inside the
child, from a private copy, as top-level modules that never import the grader.
"""

from grader.sandbox.runner import Sandbox, StepResult

__all__ = ["Sandbox", "StepResult"]
