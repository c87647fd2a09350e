"""A network built with its training data: the child's stand-in data and where it binds each
batch (``grader/sandbox/child/probes.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from grader.sandbox.child.probes import BoundData, ProbeError, stand_in_data

X_DESC = {"type": "data", "role": "x", "shape": [21, 2], "dtype": "float64"}
Y_DESC = {"type": "data", "role": "y", "shape": [21, 1], "dtype": "int64"}


def test_stand_in_data_has_the_recorded_shapes_and_consistent_labels():
    X, y = stand_in_data(X_DESC), stand_in_data(Y_DESC)
    assert X.shape == (21, 2) and y.shape == (21, 1) and y.dtype == np.int64
    assert np.array_equal(y[:, 0], (X[:, 0] > X[:, 1]).astype(int))
    cols = stand_in_data({**X_DESC, "shape": [2, 21]})
    assert cols.shape == (2, 21) and np.array_equal(cols, X.T)
    assert np.array_equal(stand_in_data(X_DESC), X)  # always the same


class Kept:
    """Keeps the inputs as passed and the labels transposed, as float."""

    def __init__(self, X, y):
        self.X = X
        self.Y = y.T.astype(float)
        self.W = np.ones((2, 3))


def test_each_batch_is_written_where_the_data_was_kept_in_the_form_kept():
    X, y = stand_in_data(X_DESC), stand_in_data(Y_DESC)
    net = Kept(X, y)
    bound = BoundData(net, {"args": [X_DESC, Y_DESC]}, [X, y], {})
    assert bound
    batch, labels = np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[1.0], [0.0]])
    bound.bind("x", batch)
    bound.bind("y", labels)
    assert np.array_equal(net.X, batch)
    assert net.Y.shape == (1, 2) and np.array_equal(net.Y, [[1, 0]])
    assert net.W.shape == (2, 3)  # the weights are not data


class Normalised:
    def __init__(self, X, y):
        self.X = (X - X.mean(axis=0)) / X.std(axis=0)


def test_data_kept_in_a_form_the_grader_cannot_replace_is_said():
    X, y = stand_in_data(X_DESC), stand_in_data(Y_DESC)
    with pytest.raises(ProbeError, match="cannot replace with its own batch"):
        BoundData(Normalised(X, y), {"args": [X_DESC, Y_DESC]}, [X, y], {})


def test_a_network_built_without_data_binds_nothing():
    bound = BoundData(Kept(np.zeros((3, 2)), np.zeros((3, 1))), {"args": []}, [], {})
    assert not bound


class Plotting:
    """A network whose update draws its learning curve on a new figure at every call."""

    def __init__(self, dim):
        rng = np.random.default_rng(0)
        self.W = [rng.uniform(-1, 1, (a, b)) for a, b in zip(dim, dim[1:])]

    def predict(self, x):
        self.a = [x]
        for W in self.W:
            self.a.append(1 / (1 + np.exp(-(self.a[-1] @ W))))
        return self.a[-1]

    def backprop(self, y):
        delta = 2 * (self.a[-1] - y) * self.a[-1] * (1 - self.a[-1])
        self.g = []
        for k in range(len(self.W) - 1, -1, -1):
            self.g.insert(0, self.a[k].T @ delta)
            delta = (delta @ self.W[k].T) * self.a[k] * (1 - self.a[k])

    def update(self, lr):
        import matplotlib.pyplot as plt

        for W, g in zip(self.W, self.g):
            W -= lr * g
        plt.figure()
        plt.plot([1, 2, 3])


def test_what_a_step_draws_is_closed_while_the_grader_trains():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grader.sandbox.child.probes import probe_train

    adapter = {"class": "Plotting", "ctor": {"args": [[2, 3, 3, 1]], "kwargs": {}},
               "forward": "predict", "backward": "backprop", "update": "update",
               "update_lr": True, "params": ["W[0]", "W[1]", "W[2]"]}
    X = np.random.default_rng(1).uniform(0, 1, (10, 2))
    result = probe_train({"Plotting": Plotting}, {
        "adapter": adapter, "X": X, "Y": (X[:, :1] > X[:, 1:]).astype(float), "lr": 0.5,
        "threshold": 0.04, "max_steps": 300, "seconds": 30, "seed": None})
    try:
        assert result["steps"] == 300 and "error" not in result
        assert len(plt.get_fignums()) <= 10, "one pass's figures at the most"
    finally:
        plt.close("all")
