"""Tests of reference/exercises/net3442.py: the [3, 4, 4, 2] "Learning Setup" tutorial.

Gradients are checked against central finite differences in float64; the training examples are
checked to reach 100% accuracy from the module's default seeds within caps a few times larger
than what they need; the tutorial's own arithmetic is transcribed here once, literally, to show
that the module reproduces it.
"""

from __future__ import annotations

import numpy as np

from reference.gradcheck import numerical_gradients
import pytest

from reference.exercises import net3442 as net
from reference.losses import categorical_cross_entropy, half_sum_squared_error

M = 2 * net.SAMPLES_PER_CLASS


# --- helpers ------------------------------------------------------------------------------------

def numerical_gradient(f, params) -> list[np.ndarray]:
    """Central differences of the scalar ``f()`` with respect to every entry of every array."""
    return numerical_gradients(f, params, h=1e-6)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300))


def tutorial_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def tutorial_gradients(Xb, Yb, Ws, bs, relu_softmax=False):
    """Example 1 / Example 2 of the tutorial, transcribed (its variable names, three layers)."""
    W0, W1, W2 = Ws
    b0, b1, b2 = bs
    act = (lambda z: np.maximum(0, z)) if relu_softmax else tutorial_sigmoid
    a1 = act(Xb @ W0 + b0)
    a2 = act(a1 @ W1 + b1)
    Z3 = a2 @ W2 + b2
    if relu_softmax:
        expo = np.exp(Z3 - np.max(Z3))
        a3 = expo / np.sum(expo, axis=1, keepdims=True)
        g1, g2, g3 = (a1 > 0) * 1, (a2 > 0) * 1, 1
    else:
        a3 = tutorial_sigmoid(Z3)
        g1, g2, g3 = a1 * (1 - a1), a2 * (1 - a2), a3 * (1 - a3)
    d = a3 - Yb
    dEda3 = d * g3
    dEda2 = np.dot(dEda3, W2.T) * g2
    dEda1 = np.dot(dEda2, W1.T) * g1
    return ([Xb.T @ dEda1, a1.T @ dEda2, a2.T @ dEda3],
            [np.sum(dEda1, axis=0, keepdims=True), np.sum(dEda2, axis=0, keepdims=True),
             np.sum(dEda3, axis=0, keepdims=True)])


# --- data and initialisation --------------------------------------------------------------------

def test_make_data_shapes_labels_and_classes():
    X, Y = net.make_data()
    assert X.shape == (40, 3) and Y.shape == (40, 2)
    assert np.array_equal(Y[:20], np.tile([1.0, 0.0], (20, 1)))
    assert np.array_equal(Y[20:], np.tile([0.0, 1.0], (20, 1)))
    # class means near [2,2,2] and [4,4,4] (standard error of a mean of 20 draws: 0.22)
    assert np.all(np.abs(X[:20].mean(axis=0) - 2.0) < 1.0)
    assert np.all(np.abs(X[20:].mean(axis=0) - 4.0) < 1.0)


def test_make_data_is_seeded_and_leaves_global_state_alone():
    state = np.random.get_state()
    X1, Y1 = net.make_data()
    X2, _ = net.make_data(net.DATA_SEED)
    X3, _ = net.make_data(np.random.default_rng(net.DATA_SEED))
    X4, _ = net.make_data(net.DATA_SEED + 1)
    after = np.random.get_state()
    assert np.array_equal(X1, X2) and np.array_equal(X1, X3)
    assert not np.array_equal(X1, X4)
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


def test_default_data_is_linearly_separable():
    """The documented reason 100% accuracy is reachable: a perceptron separates the default draw."""
    X, Y = net.make_data()
    Xa = np.hstack([X - X.mean(axis=0), np.ones((M, 1))])
    s = np.where(Y[:, 0] == 1.0, 1.0, -1.0)
    w = np.zeros(4)
    for _ in range(10_000):
        wrong = np.flatnonzero(s * (Xa @ w) <= 0)
        if wrong.size == 0:
            break
        w += s[wrong[0]] * Xa[wrong[0]]
    assert np.all(s * (Xa @ w) > 0)


def test_initialize_shapes_for_the_tutorial_widths():
    for scheme in net.INIT_SCHEMES:
        Ws, bs = net.initialize(scheme)
        assert [W.shape for W in Ws] == [(3, 4), (4, 4), (4, 2)]
        assert [b.shape for b in bs] == [(1, 4), (1, 4), (1, 2)]
    with pytest.raises(ValueError):
        net.initialize("glorot")


@pytest.mark.parametrize("scheme", list(net.INIT_SCHEMES))
def test_init_schemes_have_the_documented_scale(scheme):
    fan_in, fan_out = 300, 500
    (W,), (b,) = net.initialize(scheme, (fan_in, fan_out), rng=1)
    expected = net.expected_weight_std(scheme, fan_in, fan_out)
    assert abs(W.std() / expected - 1) < 0.02
    assert abs(W.mean()) < 0.02 * expected
    assert abs(b.std() / net.INIT_SCHEMES[scheme].bias_std - 1) < 0.2  # only 500 biases
    (_,), (b_wide,) = net.initialize(scheme, (2, 40_000), rng=2)
    assert abs(b_wide.std() / net.INIT_SCHEMES[scheme].bias_std - 1) < 0.03


def test_init_scale_formulas_are_the_tutorials():
    assert net.expected_weight_std("xavier_like", 3, 4) == pytest.approx(1 / np.sqrt(7))
    assert net.expected_weight_std("xavier", 3, 4) == pytest.approx(np.sqrt(6 / 7) / np.sqrt(3))
    assert net.expected_weight_std("he_uniform", 3, 4) == pytest.approx(np.sqrt(6 / 3) / np.sqrt(3))
    # uniform schemes are bounded by their scale factor
    (W,), _ = net.initialize("xavier", (300, 500), rng=3)
    assert np.abs(W).max() <= np.sqrt(6 / 800)
    (W,), _ = net.initialize("he_uniform", (300, 500), rng=3)
    assert np.abs(W).max() <= np.sqrt(6 / 300)
    assert net.INIT_SCHEMES["xavier"].bias_std == pytest.approx(np.sqrt(2))
    assert net.INIT_SCHEMES["normal"].bias_std == 1.0


# --- Example 4: the modular functions -----------------------------------------------------------

def test_initialize_normal_is_keyed_by_layer_and_seeded():
    Ws, bs = net.initialize_normal([3, 4, 5, 2])
    assert sorted(Ws) == sorted(bs) == [0, 1, 2]
    assert [Ws[l].shape for l in range(3)] == [(3, 4), (4, 5), (5, 2)]
    assert [bs[l].shape for l in range(3)] == [(1, 4), (1, 5), (1, 2)]
    Ws2, _ = net.initialize_normal([3, 4, 5, 2])
    Ws3, _ = net.initialize_normal([3, 4, 5, 2], rng=net.TRAIN_SEED + 1)
    assert all(np.array_equal(Ws[l], Ws2[l]) for l in range(3))
    assert not np.array_equal(Ws[0], Ws3[0])


def test_forwardprop_shapes_and_probabilities():
    X, _ = net.make_data()
    Ws, bs = net.initialize_normal(net.MODULAR_NETWORK)
    layerout, pred = net.forwardprop(X, Ws, bs)
    assert sorted(layerout) == [1, 2]  # the input is removed, the output returned separately
    assert layerout[1].shape == (40, 4) and layerout[2].shape == (40, 5)
    assert pred.shape == (40, 2)
    assert np.all((layerout[1] > 0) & (layerout[1] < 1))
    np.testing.assert_allclose(pred.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # it is the network it claims to be
    a1 = 1 / (1 + np.exp(-(X @ Ws[0] + bs[0])))
    a2 = 1 / (1 + np.exp(-(a1 @ Ws[1] + bs[1])))
    z = a2 @ Ws[2] + bs[2]
    np.testing.assert_allclose(pred, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-12)


def test_forwardprop_without_hidden_layer():
    Ws, bs = net.initialize_normal([3, 2])
    layerout, pred = net.forwardprop(np.ones((5, 3)), Ws, bs)
    assert layerout == {} and pred.shape == (5, 2)


def test_softmax_survives_huge_logits_where_the_batch_max_does_not():
    Input = np.array([[1000.0, 999.0], [0.0, 1.0], [-1e300, 1e300]])
    eye, zero = np.eye(2), np.zeros((1, 2))
    p = net.softmax(Input, eye, zero)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    e = np.exp(1.0)
    np.testing.assert_allclose(p[0], [e / (1 + e), 1 / (1 + e)], rtol=1e-14)
    np.testing.assert_allclose(p[1], [1 / (1 + e), e / (1 + e)], rtol=1e-14)
    np.testing.assert_array_equal(p[2], [0.0, 1.0])
    # the tutorial's shift by the batch's maximum turns the second row into 0/0
    with np.errstate(all="ignore"):
        Z = Input[:2]
        expo = np.exp(Z - np.max(Z))
        batchwise = expo / np.sum(expo, axis=1, keepdims=True)
    assert np.isnan(batchwise[1]).all()


def test_activation_layers_and_derivatives():
    Input = np.array([[-1000.0, -1.0, 0.0, 2.0, 1000.0]])
    eye, zero = np.eye(5), np.zeros((1, 5))
    s = net.sigmoid(Input, eye, zero)  # no overflow warning at -1000 (warnings are errors)
    np.testing.assert_allclose(s, [[0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-2)), 1.0]])
    np.testing.assert_allclose(net.dsigmoid(s), s * (1 - s))
    r = net.relu(Input, eye, zero)
    np.testing.assert_array_equal(r, [[0.0, 0.0, 0.0, 2.0, 1000.0]])
    np.testing.assert_array_equal(net.drelu(r), [[0.0, 0.0, 0.0, 1.0, 1.0]])
    # derivatives are the true ones: finite differences of the layer through its output
    z = np.array([[-3.0, -0.5, 0.7, 4.0]])
    h = 1e-6
    I4, z4 = np.eye(4), np.zeros((1, 4))
    fd = (net.sigmoid(z + h, I4, z4) - net.sigmoid(z - h, I4, z4)) / (2 * h)
    np.testing.assert_allclose(net.dsigmoid(net.sigmoid(z, I4, z4)), fd, rtol=1e-8)
    fd = (net.relu(z + h, I4, z4) - net.relu(z - h, I4, z4)) / (2 * h)
    np.testing.assert_allclose(net.drelu(net.relu(z, I4, z4)), fd, rtol=1e-8)


def test_loss_and_error():
    y_true = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y_pred = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    expected = -(np.log(0.9) + np.log(0.8) + np.log(0.4) + np.log(0.5)) / 4
    assert net.Loss(y_pred, y_true) == pytest.approx(expected, rel=1e-14)
    assert net.Loss(y_pred, y_true) == pytest.approx(categorical_cross_entropy(y_pred, y_true))
    assert net.error(y_pred, y_true) == 0.25  # row 3 is wrong; the tie in row 4 goes to class 0
    # a certain, wrong prediction: large and finite, no log(0) warning
    assert 20 < net.Loss(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])) < np.inf


def _modular_setup(seed=5):
    X, Y = net.make_data()
    Ws, bs = net.initialize_normal(net.MODULAR_NETWORK, rng=seed)
    return X, Y, Ws, bs


def test_modular_gradients_equal_finite_differences_of_loss():
    X, Y, Ws, bs = _modular_setup()
    act, pred = net.forwardprop(X, Ws, bs)
    dWs, dbs = net.gradients(X, Y, pred, Ws, act)
    params = [Ws[l] for l in range(3)] + [bs[l] for l in range(3)]
    numeric = numerical_gradient(lambda: net.Loss(net.forwardprop(X, Ws, bs)[1], Y), params)
    for analytic, fd in zip([dWs[l] for l in range(3)] + [dbs[l] for l in range(3)], numeric):
        assert analytic.shape == fd.shape
        assert relative_error(analytic, fd) < 1e-7


def test_backprop_step_is_alpha_times_the_gradient_and_leaves_activations_alone():
    X, Y, Ws, bs = _modular_setup(seed=6)
    act, pred = net.forwardprop(X, Ws, bs)
    act_before = {k: v.copy() for k, v in act.items()}
    W_before = {l: W.copy() for l, W in Ws.items()}
    b_before = {l: b.copy() for l, b in bs.items()}
    params = [Ws[l] for l in range(3)] + [bs[l] for l in range(3)]
    numeric = numerical_gradient(lambda: net.Loss(net.forwardprop(X, Ws, bs)[1], Y), params)

    alpha = 0.5
    Ws_out, bs_out = net.backprop(X, Y, pred, Ws, bs, act, alpha)

    assert Ws_out is Ws and bs_out is bs  # updated in place, returned as the skeleton does
    assert sorted(act) == [1, 2]  # no input key left behind, nothing rebound
    assert all(np.array_equal(act[k], act_before[k]) for k in act)
    steps = [(W_before[l] - Ws[l]) / alpha for l in range(3)] + \
            [(b_before[l] - bs[l]) / alpha for l in range(3)]
    for step, fd in zip(steps, numeric):
        assert relative_error(step, fd) < 1e-7


def test_the_skeletons_update_order_would_not_be_the_gradient():
    """The docstring's claim: propagating through already-updated weights gives another step."""
    X, Y, Ws, bs = _modular_setup(seed=7)
    act, pred = net.forwardprop(X, Ws, bs)
    alpha, m = 0.5, len(X)
    skeleton_W = {l: W.copy() for l, W in Ws.items()}
    A = {0: X, **act}
    delta = pred - Y
    for l in range(2, -1, -1):  # update first, then propagate with the new weights
        dLdW = A[l].T @ delta
        skeleton_W[l] -= alpha / m * dLdW
        delta = (delta @ skeleton_W[l].T) * net.dsigmoid(A[l])
    W_before0 = Ws[0].copy()
    net.backprop(X, Y, pred, Ws, bs, act, alpha)
    assert relative_error((W_before0 - skeleton_W[0]) / alpha, (W_before0 - Ws[0]) / alpha) > 1e-3


def test_train_modular_reaches_zero_error_and_is_deterministic():
    run = net.train_modular()
    assert run.network == (3, 4, 5, 2) and run.iterations == 1000 and run.alpha == 0.2
    assert run.loss_curve.shape == run.error_curve.shape == (1000,)
    assert run.final_error == 0.0
    assert run.final_loss < run.loss_curve[0] / 10
    assert np.all(np.diff(run.loss_curve) < 1e-12)  # full-batch steps on a smooth loss: downhill
    again = net.train_modular()
    assert np.array_equal(run.loss_curve, again.loss_curve)
    assert all(np.array_equal(run.weights[l], again.weights[l]) for l in range(3))


# --- Examples 1-3: the tutorial's arithmetic, reproduced ----------------------------------------

@pytest.mark.parametrize("relu_softmax", [False, True])
def test_batch_gradients_are_the_tutorials(relu_softmax):
    X, Y = net.make_data()
    Ws, bs = net.initialize("he_uniform" if relu_softmax else "xavier", rng=11)
    kwargs = dict(hidden="relu", output="softmax") if relu_softmax else {}
    gw, gb = net.batch_gradients(X[:10], Y[:10], Ws, bs, **kwargs)
    tw, tb = tutorial_gradients(X[:10], Y[:10], Ws, bs, relu_softmax)
    for a, b in zip(gw + gb, tw + tb):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("relu_softmax", [False, True])
def test_batch_gradients_equal_finite_differences(relu_softmax):
    """Sigmoid: the gradient of E = 0.5 * SSE.  Softmax: of the *summed* cross-entropy."""
    X, Y = net.make_data()
    Xb, Yb = X[::4], Y[::4]
    Ws, bs = net.initialize("he_uniform" if relu_softmax else "xavier", rng=12)
    kwargs = dict(hidden="relu", output="softmax") if relu_softmax else {}

    def objective():
        p = net.predict(Xb, Ws, bs, **kwargs)
        if relu_softmax:
            return len(Xb) * categorical_cross_entropy(p, Yb)
        return half_sum_squared_error(p, Yb)

    gw, gb = net.batch_gradients(Xb, Yb, Ws, bs, **kwargs)
    numeric = numerical_gradient(objective, Ws + bs)
    for analytic, fd in zip(gw + gb, numeric):
        assert relative_error(analytic, fd) < 1e-7


def test_minibatch_epoch_divides_by_the_total_m():
    """One epoch of Example 1 (b = 5), transcribed from the tutorial, equals train_sigmoid's."""
    X, Y = net.make_data()
    rng = np.random.default_rng(net.TRAIN_SEED)
    Ws, bs = net.initialize("xavier", rng=rng)  # the run draws the network first, then shuffles
    order = rng.permutation(M)
    alpha, b = 1.0, 5
    for i in range(0, M, b):
        idx = order[i:i + b]
        gw, gb = tutorial_gradients(X[idx], Y[idx], Ws, bs)
        for p, g in zip(Ws + bs, gw + gb):
            p -= alpha / M * g
    run = net.train_sigmoid(5, max_epochs=1)
    assert run.epochs == 1 and run.updates == 8
    for mine, theirs in zip(run.weights + run.biases, Ws + bs):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-14)
    assert run.error_curve[-1] == pytest.approx(
        half_sum_squared_error(net.predict(X, Ws, bs), Y), rel=1e-12)


def test_adagrad_step_is_the_tutorials():
    """Example 3, one BGD update: r = g^2; W -= alpha/(stab + sqrt(r)) g/m; b -= alpha g/m."""
    X, Y = net.make_data()
    Ws, bs = net.initialize("xavier", rng=net.TRAIN_SEED)
    gw, gb = tutorial_gradients(X, Y, Ws, bs)
    alpha = 1.0
    for W, g in zip(Ws, gw):
        W += -alpha / (1e-7 + np.sqrt(np.square(g))) * g / M
    for b, g in zip(bs, gb):
        b += -alpha * g / M
    run = net.train_adagrad(None, alpha=alpha, max_epochs=1)
    assert run.updates == 1
    for mine, theirs in zip(run.weights + run.biases, Ws + bs):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-14)


# --- training to 100% accuracy ------------------------------------------------------------------

def _check_converged(run: net.TrainingRun, cap: int) -> None:
    assert run.converged, f"{run.method}: {run.final_accuracy:.3f} after {run.epochs} epochs"
    assert run.final_accuracy == 1.0
    assert run.epochs <= cap
    assert run.updates == run.epochs * -(-M // run.batch_size)
    assert run.error_curve.shape == run.accuracy_curve.shape == (run.updates,)
    assert np.all(np.isfinite(run.error_curve))
    assert run.error_curve[-1] < run.error_curve[0]
    assert np.all((run.accuracy_curve >= 0) & (run.accuracy_curve <= 1))


def test_example1_bgd_minibatch_sgd_reach_100_percent():
    runs = net.compare_batch_sizes(max_epochs=400)
    assert {name: run.batch_size for name, run in runs.items()} == {"bgd": 40, "minibatch": 5,
                                                                    "sgd": 1}
    for run in runs.values():
        _check_converged(run, cap=400)
    # with alpha/m for every batch, an epoch moves the weights about equally whatever b is
    epochs = [run.epochs for run in runs.values()]
    assert max(epochs) < 2 * min(epochs)


def test_example1_starts_every_method_from_the_same_network():
    a = net.train_sigmoid(None, max_epochs=0)
    b = net.train_sigmoid(1, max_epochs=0)
    Ws, bs = net.initialize("xavier", rng=net.TRAIN_SEED)
    for x, y, z in zip(a.weights + a.biases, b.weights + b.biases, Ws + bs):
        assert np.array_equal(x, y) and np.array_equal(x, z)
    assert not a.converged and a.updates == 0


def test_example2_relu_softmax_reaches_100_percent():
    run = net.train_relu_softmax()
    assert run.batch_size == 10 and run.alpha == 0.5
    _check_converged(run, cap=100)


def test_example3_adagrad_reaches_100_percent():
    _check_converged(net.train_adagrad(max_epochs=200), cap=200)


@pytest.mark.parametrize("name, cap", [("sgd", 400), ("momentum", 200), ("adagrad", 200),
                                       ("adam", 100)])
def test_every_optimizer_reaches_100_percent(name, cap):
    run = net.train_with_optimizer(name, max_epochs=cap)
    assert run.method == name
    _check_converged(run, cap)


def test_optimizer_sgd_is_example1():
    a = net.train_with_optimizer("sgd", max_epochs=20)
    b = net.train_sigmoid(5, max_epochs=20)
    assert np.array_equal(a.error_curve, b.error_curve)
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))


def test_epoch_cap_stops_a_run_that_has_not_converged():
    run = net.train_sigmoid(None, max_epochs=3)
    assert not run.converged and run.epochs == 3 and run.updates == 3


# --- determinism ----------------------------------------------------------------------------------

@pytest.mark.parametrize("train", [
    lambda seed: net.train_sigmoid(5, rng=seed, max_epochs=30),
    lambda seed: net.train_relu_softmax(rng=seed, max_epochs=30),
    lambda seed: net.train_adagrad(rng=seed, max_epochs=30),
    lambda seed: net.train_with_optimizer("adam", rng=seed, max_epochs=30),
], ids=["sigmoid", "relu_softmax", "adagrad", "adam"])
def test_same_seed_same_run(train):
    state = np.random.get_state()
    a, b, c = train(3), train(3), train(4)
    assert np.random.get_state()[2:] == state[2:]
    assert np.array_equal(np.random.get_state()[1], state[1])
    assert a.epochs == b.epochs and np.array_equal(a.error_curve, b.error_curve)
    assert np.array_equal(a.accuracy_curve, b.accuracy_curve)
    assert all(np.array_equal(x, y) for x, y in zip(a.weights + a.biases, b.weights + b.biases))
    assert not np.array_equal(a.error_curve[:5], c.error_curve[:5])
