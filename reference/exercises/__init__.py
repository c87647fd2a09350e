"""Reference solutions of the notebook exercises that come with the course materials.

One module per notebook, each reproducing the notebook with its own names and saying where the
notebook is wrong:

* :mod:`reference.exercises.and_or` -- "Machine Learning with NumPy", "01.AND_OR.ipynb": AND and OR with one sigmoid
  unit (``wout``, ``bout``, ``y_pred``);
* :mod:`reference.exercises.xor_single` -- "Machine Learning with NumPy", "02.XOR.ipynb", first part: the same unit on
  XOR, which must fail (loss 1.0, outputs 0.5);
* :mod:`reference.exercises.xor_mlp` -- "Machine Learning with NumPy", "02.XOR.ipynb", second part: one hidden layer
  of two sigmoid units (``wh``, ``bh``, ``wout``, ``bout``), with its measured failure rate;
* :mod:`reference.exercises.xor_relu` -- "Neural Networks and the Simplest XOR Problem" tutorial: the 3-2-1 ReLU network, reproducing
  the printed losses and weights of ``np.random.seed(83832)``;
* :mod:`reference.exercises.reverse_xor` -- KIT719 "Reverse Engineering of AI Models" notebook: the 2-2-1 network with
  ``b0``, ``b1``, its sign bug (gradient ascent) reproduced and corrected, and its three
  exercises;
* :mod:`reference.exercises.net3442` -- "Python Tutorial: Learning Setup": the
  [3, 4, 4, 2] network, initialisations, batch sizes, optimizers and the modular exercise.
"""
