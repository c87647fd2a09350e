"""Tests of the notebook exercises (AND/OR and XOR notebooks, the ReLU XOR tutorial, the KIT719 notebook) (reference/exercises/*.py).

* AND/OR and XOR notebooks: AND and OR are learned with the notebook's weight pattern; the single layer is stuck
  on XOR at loss 1.0 and outputs 0.5; the 2-2-1 network learns XOR from its default seed and
  the documented failing seed is stuck in the documented local minimum;
* ReLU XOR tutorial: the ReLU network reproduces every printed number of ``np.random.seed(83832)``
  without touching NumPy's global random state;
* KIT719 notebook: the original (sign-flipped) training reproduces the printed, wrong numbers and
  fails XOR; the corrected one learns it; the three exercises;
* every gradient these modules use is checked against central finite differences of its loss
  (float64, relative error below 1e-7).

NumPy floating-point errors (overflow, division by zero, invalid values) are raised, not
warned, for every test of this file.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference.exercises import and_or, reverse_xor, xor_mlp, xor_relu, xor_single
from reference.gradcheck import numerical_gradient, relative_error
from reference.losses import binary_cross_entropy, half_sum_squared_error
from reference.network import forward as network_forward
from reference.network import backward as network_backward

TOL = 1e-7
"""Bar for analytic against central-difference gradients (float64)."""

HALF_UNIT_8_DECIMALS = 5e-9 + 1e-15
"""A value printed with 8 decimals is within half a unit of the 8th decimal of the true one."""


@pytest.fixture(autouse=True)
def loud_floating_point():
    """Make NumPy raise on overflow, division by zero and invalid values, inside every test."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        yield


def fd_check(loss, params, analytic):
    """Assert every analytic gradient matches central differences of ``loss()``."""
    for p, g in zip(params, analytic):
        numeric = numerical_gradient(loss, p)
        err = relative_error(g, numeric)
        assert err < TOL, f"relative error {err:.2e} for a parameter of shape {p.shape}"


# --- AND / OR -------------------------------------------------------------------------

@pytest.mark.parametrize("gate", ["and", "or"])
def test_single_layer_learns_and_and_or(gate):
    r = and_or.train(gate)
    target = and_or.TARGETS[gate]
    assert r.correct and r.accuracy == 1.0
    np.testing.assert_array_equal(r.labels, target.astype(int))
    assert r.final_loss < 0.005  # the notebook prints 0.0038 at epoch 4500
    assert r.loss_history[0] > 0.5 > r.loss_history[500] > r.final_loss
    assert np.all(np.diff(r.loss_history) < 0)  # full-batch descent with a small rate


@pytest.mark.parametrize("gate, bias_sign", [("and", -1.0), ("or", 1.0)])
def test_and_or_weights_show_the_notebooks_pattern(gate, bias_sign):
    """Equal weights; bias of one weight's size, negative for AND and positive for OR."""
    r = and_or.train(gate)
    w1, w2 = r.wout.ravel()
    b = r.bout.item()
    assert w1 > 0 and abs(w1 - w2) < 1e-6 * w1
    assert np.sign(b) == bias_sign
    assert abs(abs(b) - w1) < 1e-4 * w1
    # The notebook (another, unseeded draw) printed 3.3551 for AND and 3.3589 for OR: the
    # solution after 5000 epochs hardly depends on the start.
    assert abs(w1 - 3.355) < 0.01


def test_and_outputs_match_the_notebooks_printed_outputs():
    r = and_or.train("and")
    printed = np.array([[9.66268751e-01], [3.37312503e-02], [4.25387789e-05], [3.37312503e-02]])
    np.testing.assert_allclose(r.y_pred, printed, atol=1e-3)


@pytest.mark.parametrize("seed", [1, 2, 12345])
def test_and_or_learn_from_other_seeds(seed):
    for gate in ("and", "or"):
        assert and_or.train(gate, rng=seed, epochs=2000).correct


def test_and_or_randomness_comes_only_from_rng():
    state = np.random.get_state()
    a = and_or.train("and", rng=7, epochs=10)
    b = and_or.train("and", rng=np.random.default_rng(7), epochs=10)
    c = and_or.train("and", rng=8, epochs=10)
    np.testing.assert_array_equal(a.wout, b.wout)
    assert not np.array_equal(a.wout, c.wout)
    assert _same_global_state(state, np.random.get_state())


def test_and_or_initial_weights_are_uniform_0_1_drawn_wout_first():
    wout, bout = and_or.init_params(2, 1, rng=3)
    g = np.random.default_rng(3)
    np.testing.assert_array_equal(wout, g.uniform(size=(2, 1)))
    np.testing.assert_array_equal(bout, g.uniform(size=(1, 1)))
    assert np.all((wout >= 0) & (wout < 1))


def test_and_or_gradients_are_negative_gradients_of_half_sse():
    """The slide's ``+=`` is descent: its "gradients" are minus those of 0.5 * SSE."""
    rng = np.random.default_rng(0)
    wout, bout = rng.normal(size=(2, 1)), rng.normal(size=(1, 1))
    x, y = and_or.X, and_or.Y_AND

    def half_sse() -> float:
        return half_sum_squared_error(and_or.forward(x, wout, bout), y)

    grad_wout, grad_bout = and_or.gradients(x, y, and_or.forward(x, wout, bout))
    fd_check(half_sse, [wout, bout], [-grad_wout, -grad_bout])


def test_and_or_update_decreases_the_printed_loss():
    wout, bout = and_or.init_params(2, rng=0)
    x, y = and_or.X, and_or.Y_OR
    y_pred = and_or.forward(x, wout, bout)
    grad_wout, grad_bout = and_or.gradients(x, y, y_pred)
    after = and_or.forward(x, wout + 0.1 * grad_wout, bout + 0.1 * grad_bout)
    assert and_or.loss(after, y) < and_or.loss(y_pred, y)


# --- XOR with a single layer ----------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_layer_is_stuck_on_xor(seed):
    r = xor_single.train(rng=seed)
    assert abs(r.final_loss - xor_single.STUCK_LOSS) < 1e-3
    np.testing.assert_allclose(r.y_pred, 0.5, atol=1e-2)
    assert np.all(np.abs(r.loss_history[500:] - 1.0) < 1e-3)  # notebook: 1.0000000003 at 500
    assert np.max(np.abs(r.wout)) < 1e-6 and abs(r.bout.item()) < 1e-6


def test_single_layer_xor_zero_weights_are_stationary():
    """Why it is stuck: at wout = 0 the XOR data gives a zero weight gradient for any bias."""
    for b in (-1.3, 0.0, 0.4):
        y_pred = xor_single.forward(xor_single.X, np.zeros((2, 1)), np.array([[b]]))
        grad_wout, _ = xor_single.gradients(xor_single.X, xor_single.Y_XOR, y_pred)
        np.testing.assert_allclose(grad_wout, 0.0, atol=1e-15)


# --- XOR with one hidden layer of 2 ---------------------------------------------------

def test_mlp_learns_xor_from_the_default_seed():
    r = xor_mlp.train()
    assert r.correct
    np.testing.assert_array_equal(r.labels, xor_mlp.Y_XOR.astype(int))
    assert r.final_loss < 0.05
    assert r.loss_history[0] > 1.0 > r.final_loss
    assert r.wh.shape == (2, 2) and r.bh.shape == (1, 2)
    assert r.wout.shape == (2, 1) and r.bout.shape == (1, 1)


def test_mlp_documented_failing_seed_is_stuck_in_the_half_solved_minimum():
    """Seed 3 (see the module's failure table): two points learned, two at 0.5, SSE -> 0.5."""
    r = xor_mlp.train(rng=3, epochs=20_000)
    assert not r.correct
    assert 0.5 < r.final_loss < 0.51
    assert np.sum(np.abs(r.y_pred - 0.5) < 0.01) == 2


def test_mlp_failure_rate_counts_failing_seeds():
    assert xor_mlp.failure_rate([0, 1, 2, 3]) == 0.25


def test_mlp_gradients_are_negative_gradients_of_half_sse():
    rng = np.random.default_rng(5)
    wh, bh = rng.normal(size=(2, 2)), rng.normal(size=(1, 2))
    wout, bout = rng.normal(size=(2, 1)), rng.normal(size=(1, 1))
    x, y = xor_mlp.X, xor_mlp.Y_XOR

    def half_sse() -> float:
        return half_sum_squared_error(xor_mlp.forward(x, wh, bh, wout, bout)[1], y)

    h, y_pred = xor_mlp.forward(x, wh, bh, wout, bout)
    grads = xor_mlp.gradients(x, y, h, y_pred, wout)
    fd_check(half_sse, [wh, bh, wout, bout], [-g for g in grads])

    # ... and they agree with the shared building block reference.network.backward.
    _, cache = network_forward([wh, wout], x, "sigmoid", biases=[bh, bout])
    gw, gb = network_backward([wh, wout], cache, y, "half_sse", "sigmoid")
    for ours, shared in zip(grads, [gw[0], gb[0], gw[1], gb[1]]):
        np.testing.assert_allclose(-ours, shared, rtol=1e-12, atol=1e-15)


# --- the ReLU network -----------------------------------------------------------------

def test_relu_xor_reproduces_the_printed_losses():
    r = xor_relu.train()
    assert r.loss_history.shape == (500,)
    assert r.loss_history[0] == pytest.approx(xor_relu.PRINTED_LOSS_STEP_0, rel=1e-9)
    assert r.loss_history[1] == pytest.approx(xor_relu.PRINTED_LOSS_STEP_1, rel=1e-9)
    assert r.loss_history[499] == pytest.approx(xor_relu.PRINTED_LOSS_STEP_499, rel=1e-9)
    assert r.final_loss == pytest.approx(1.1201309285195922e-08, rel=1e-9)


def test_relu_xor_reproduces_the_printed_weights_and_predictions():
    r = xor_relu.train()
    for ours, printed in [(r.w1, xor_relu.PRINTED_W1), (r.w2, xor_relu.PRINTED_W2),
                          (r.h_relu, xor_relu.PRINTED_H_RELU), (r.pred, xor_relu.PRINTED_PRED)]:
        np.testing.assert_allclose(ours, printed, rtol=0, atol=HALF_UNIT_8_DECIMALS)
    assert r.accuracy == 1.0


def test_relu_xor_does_not_touch_the_global_random_state():
    np.random.seed(1)
    state = np.random.get_state()
    r = xor_relu.train()
    assert _same_global_state(state, np.random.get_state())
    assert r.loss_history[0] == pytest.approx(xor_relu.PRINTED_LOSS_STEP_0, rel=1e-9)


def test_relu_xor_draws_like_the_tutorial():
    """Same stream as np.random.seed(83832); randn(3,2), randn(2,1), randn(2,1) in that order."""
    w1, w2, bias = xor_relu.init_weights()
    legacy = np.random.RandomState(83832)
    np.testing.assert_array_equal(w1, legacy.randn(3, 2))
    np.testing.assert_array_equal(w2, legacy.randn(2, 1))
    np.testing.assert_array_equal(bias, legacy.randn(2, 1))
    # x[:, 2] is always 0, so w1's third row never moves.
    np.testing.assert_array_equal(xor_relu.train().w1[2], w1[2])
    with pytest.raises(TypeError):
        xor_relu.init_weights(np.random.default_rng(83832))


def test_relu_xor_gradients_match_finite_differences():
    w1, w2, _ = xor_relu.init_weights()
    x, y = xor_relu.X, xor_relu.Y
    h = x.dot(w1)
    assert np.all((h == 0) | (np.abs(h) > 0.05))  # nonzero rows stay away from the ReLU kink

    def loss() -> float:
        return xor_relu.loss(xor_relu.forward(x, w1, w2)[2], y)

    grads = xor_relu.gradients(x, y, *xor_relu.forward(x, w1, w2), w2)
    fd_check(loss, [w1, w2], grads)


# --- the KIT719 notebook --------------------------------------------------------------

def notebook_training_cell(epochs: int, lr: float):
    """The notebook's cell, transcribed literally (integer starting arrays and all)."""
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def sigmoid_derivative(f_x):
        return f_x * (1 - f_x)

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([[0], [1], [1], [0]])
    b0 = np.array([[1, 1]])
    b1 = -1
    W1 = np.array([[-1, 1], [1, -1]])
    W2 = np.array([[1], [1]])
    for _ in range(epochs):
        s1 = np.dot(X, W1) + b0
        h = sigmoid(s1)
        s2 = np.dot(h, W2) + b1
        y_pred = sigmoid(s2)
        L_derivative = (y - y_pred) * sigmoid_derivative(y_pred)
        L_w_derivative = L_derivative.dot(W2.T) * sigmoid_derivative(h)
        W2 = W2 - lr * h.T.dot(L_derivative)
        b1 = b1 - lr * np.sum(L_derivative, axis=0, keepdims=True)
        W1 = W1 - lr * X.T.dot(L_w_derivative)
        b0 = b0 - lr * np.sum(L_w_derivative, axis=0, keepdims=True)
    return W1, W2, b0, b1, y_pred


def test_reverse_xor_original_reproduces_the_printed_numbers():
    r = reverse_xor.train(sign_convention="original")
    assert r.learning_rate == 0.01 and r.epochs == 10_000
    for ours, printed in [(r.W1, reverse_xor.PRINTED_W1), (r.W2, reverse_xor.PRINTED_W2),
                          (r.b0, reverse_xor.PRINTED_B0), (r.b1, reverse_xor.PRINTED_B1),
                          (r.y_pred, reverse_xor.PRINTED_Y_PRED)]:
        np.testing.assert_allclose(ours, printed, rtol=0, atol=HALF_UNIT_8_DECIMALS)
        np.testing.assert_array_equal(np.round(ours, 8), printed)


def test_reverse_xor_original_is_the_notebooks_arithmetic_bit_for_bit():
    ours = reverse_xor.train(sign_convention="original", epochs=300)
    W1, W2, b0, b1, y_pred = notebook_training_cell(300, 0.01)
    for a, b in [(ours.W1, W1), (ours.W2, W2), (ours.b0, b0), (ours.b1, b1),
                 (ours.y_pred, y_pred)]:
        np.testing.assert_array_equal(a, b)


def test_reverse_xor_original_fails_xor_by_climbing_the_loss():
    r = reverse_xor.train(sign_convention="original")
    assert not r.learned_xor and r.accuracy == 0.5
    assert np.all(r.y_pred > 0.99)  # every output pushed to 1
    assert r.loss_history[-1] > r.loss_history[0]
    assert np.all(np.diff(r.loss_history) > 0)  # gradient ascent, every single step


def test_reverse_xor_corrected_learns_xor_with_the_documented_defaults():
    r = reverse_xor.train()
    assert r.sign_convention == "corrected"
    assert r.learning_rate == reverse_xor.CORRECTED_LEARNING_RATE == 5.0
    assert r.epochs == reverse_xor.CORRECTED_EPOCHS
    assert r.learned_xor
    np.testing.assert_array_equal(r.y_pred >= 0.5, reverse_xor.Y == 1)
    assert r.first_correct_epoch == 52
    assert r.final_loss < 1e-3
    assert np.all(np.abs(r.y_pred - reverse_xor.Y) < 0.01)


def test_reverse_xor_corrected_with_small_rates_does_not_learn_from_the_notebooks_start():
    """Documented: lr 0.01 stays on the plateau; lr 1 falls into the 2/3 local minimum."""
    slow = reverse_xor.train(learning_rate=0.01, epochs=10_000)
    assert not slow.learned_xor
    np.testing.assert_allclose(slow.y_pred, 0.5, atol=0.02)

    trapped = reverse_xor.train(learning_rate=1.0, epochs=10_000)
    assert not trapped.learned_xor and trapped.accuracy == 0.75
    np.testing.assert_allclose(trapped.y_pred[:3], 2 / 3, atol=0.01)
    assert trapped.y_pred[3, 0] < 0.05
    assert trapped.final_loss == pytest.approx(1 / 3, abs=0.01)


def test_reverse_xor_one_step_original_climbs_and_corrected_descends():
    up = reverse_xor.train(sign_convention="original", learning_rate=0.01, epochs=2)
    down = reverse_xor.train(sign_convention="corrected", learning_rate=0.01, epochs=2)
    assert up.loss_history[1] > up.loss_history[0] > down.loss_history[1]
    assert up.loss_history[0] == down.loss_history[0]


def test_reverse_xor_exercise_2_cross_entropy_learns_xor():
    r = reverse_xor.train_cross_entropy()
    assert r.loss == "bce" and r.learned_xor
    assert r.first_correct_epoch == 35
    assert r.final_loss < 1e-3
    assert r.final_loss == pytest.approx(binary_cross_entropy(r.y_pred, reverse_xor.Y),
                                         rel=1e-12)


def test_reverse_xor_exercise_3_bias_decides_between_local_minimum_and_xor():
    rows = reverse_xor.compare_biases()
    assert len(rows) == len(reverse_xor.BIAS_CANDIDATES)
    notebook, *others = rows
    np.testing.assert_array_equal(notebook.b0, [[1.0, 1.0]])
    np.testing.assert_array_equal(notebook.b1, [[-1.0]])
    assert notebook.accuracy < 1.0 and notebook.first_correct_epoch is None
    assert notebook.final_loss > 0.3
    for row in others:
        assert row.accuracy == 1.0 and row.first_correct_epoch is not None
        assert row.final_loss < 0.01


@pytest.mark.parametrize("loss", ["half_sse", "bce"])
@pytest.mark.parametrize("where", ["notebook", "random"])
def test_reverse_xor_exercise_1_layer1_gradient_matches_finite_differences(loss, where):
    if where == "notebook":
        W1, b0, W2, b1 = (np.array(a, dtype=float) for a in (
            reverse_xor.W1_INIT, reverse_xor.B0_INIT, reverse_xor.W2_INIT, reverse_xor.B1_INIT))
    else:
        rng = np.random.default_rng(11)
        W1, b0 = rng.normal(size=(2, 2)), rng.normal(size=(1, 2))
        W2, b1 = rng.normal(size=(2, 1)), rng.normal(size=(1, 1))
    X, y = reverse_xor.X, reverse_xor.Y

    def objective() -> float:
        return reverse_xor.loss_value(reverse_xor.forward(X, W1, b0, W2, b1)[1], y, loss)

    dW1, db0 = reverse_xor.layer1_gradients(X, y, W1, b0, W2, b1, loss)
    fd_check(objective, [W1, b0], [dW1, db0])
    # and every gradient the training loop applies (layer 2 included)
    fd_check(objective, [W1, b0, W2, b1], reverse_xor.gradients(X, y, W1, b0, W2, b1, loss))


def test_reverse_xor_losses_are_the_shared_ones():
    y_pred = np.array([[0.2], [0.7], [0.6], [0.1]])
    assert reverse_xor.loss_value(y_pred, reverse_xor.Y) == pytest.approx(
        0.5 * np.sum((y_pred - reverse_xor.Y) ** 2), rel=1e-15)
    assert reverse_xor.loss_value(y_pred, reverse_xor.Y, "bce") == pytest.approx(
        -np.mean(reverse_xor.Y * np.log(y_pred) + (1 - reverse_xor.Y) * np.log(1 - y_pred)),
        rel=1e-12)
    with pytest.raises(ValueError):
        reverse_xor.loss_value(y_pred, reverse_xor.Y, "mse")
    with pytest.raises(ValueError):
        reverse_xor.train(sign_convention="ascent")


def test_shared_constants_are_read_only():
    for constant in (and_or.X, and_or.Y_AND, xor_single.Y_XOR, xor_relu.X,
                     reverse_xor.W1_INIT, reverse_xor.B0_INIT):
        with pytest.raises(ValueError):
            constant[0, 0] = 42.0


# --- helpers ------------------------------------------------------------------------------------

def _same_global_state(a, b) -> bool:
    """Compare two ``np.random.get_state()`` tuples (one element is an array)."""
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]
