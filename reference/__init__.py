"""Reference implementations of DLP Lab1 (Backpropagation) and its notebook exercises.

The grader measures every student's result against these modules:

* :mod:`reference.lab1` -- the lab's names (``NN``, ``generate_linear``, ``sigmoid``, ...);
* :mod:`reference.activations`, :mod:`reference.losses`, :mod:`reference.init`,
  :mod:`reference.optimizers`, :mod:`reference.network` -- the shared building blocks;
* :mod:`reference.training` -- per-sample, full-batch and mini-batch loops;
* :mod:`reference.convergence` -- how often the lab's setting converges, measured;
* :mod:`reference.exercises` -- one module per notebook exercise.
"""
