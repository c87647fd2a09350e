"""Every reference gradient against central finite differences, in float64.

The bar is a relative error below 1e-7 per parameter array, for each activation and loss, with
and without bias, for one sample and for a batch.  Test weights are chosen so that hidden
pre-activations are of order 1 (small weights would hide a wrong derivative) and ReLU inputs
stay away from the kink, where finite differences are meaningless.
"""

from __future__ import annotations

import numpy as np
import pytest

from reference import activations as act
from reference import losses
from reference.gradcheck import numerical_gradient, numerical_gradients, relative_error
from reference.lab1 import NN
from reference.network import SOFTMAX, MLP, backward, forward

TOL = 1e-7


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], low: float = 0.2,
                   high: float = 2.0) -> np.ndarray:
    """Values with |v| in [low, high]: order one, never near a ReLU kink."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


ELEMENTWISE = [act.SIGMOID, act.TANH, act.RELU, act.LEAKY_RELU, act.IDENTITY]


@pytest.mark.parametrize("activation", ELEMENTWISE, ids=lambda a: a.name)
def test_activation_derivative_from_preactivation_matches_finite_differences(activation):
    rng = np.random.default_rng(1)
    z = away_from_zero(rng, (4, 5), 0.1, 3.0)
    numeric = numerical_gradient(lambda: float(np.sum(activation.forward(z))), z)
    assert relative_error(activation.derivative_from_preactivation(z), numeric) < TOL


@pytest.mark.parametrize("activation", ELEMENTWISE, ids=lambda a: a.name)
def test_both_derivative_conventions_agree_when_given_the_right_argument(activation):
    z = away_from_zero(np.random.default_rng(2), (3, 7), 0.1, 3.0)
    from_z = activation.derivative_from_preactivation(z)
    from_a = activation.derivative_from_output(activation.forward(z))
    np.testing.assert_allclose(from_a, from_z, rtol=1e-12, atol=1e-15)


def test_sigmoid_derivative_conventions_differ_when_mixed_up():
    """The classic bug: the output form applied to the pre-activation is far off."""
    z = np.array([[-2.0, -0.5, 0.7, 1.5]])
    wrong = act.sigmoid_derivative_from_output(z)
    right = act.sigmoid_derivative_from_preactivation(z)
    assert relative_error(wrong, right) > 0.5


# What NumPy warns about by default; underflow to 0.0 is silent there, and the correct result.
LOUD = dict(over="raise", divide="raise", invalid="raise")


def test_sigmoid_is_stable_and_silent_at_extremes():
    x = np.array([-1000.0, -745.0, -36.0, 0.0, 36.0, 745.0, 1000.0])
    with np.errstate(**LOUD):
        s = act.sigmoid(x)
        d = act.sigmoid_derivative_from_preactivation(x)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    assert np.all(np.isfinite(d)) and np.all(d >= 0)
    np.testing.assert_allclose(act.sigmoid(np.array([-2.0, 3.0])), 1 / (1 + np.exp([2.0, -3.0])),
                               rtol=1e-15)


def test_softmax_is_stable_rowwise_and_its_backward_matches_finite_differences():
    z = np.array([[1000.0, 999.0, -1000.0], [0.1, 0.2, 0.3]])
    with np.errstate(**LOUD):
        p = act.softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    assert np.all(np.isfinite(p))
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 3))
    g = rng.normal(size=(4, 3))
    numeric = numerical_gradient(lambda: float(np.sum(g * act.softmax(z))), z)
    assert relative_error(act.softmax_backward(act.softmax(z), g), numeric) < TOL


def _targets(name: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    if name == "cce":
        return np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]
    if name == "bce":
        return rng.integers(0, 2, shape).astype(float)
    return rng.normal(size=shape)


@pytest.mark.parametrize("loss", list(losses.LOSSES.values()), ids=lambda l: l.name)
@pytest.mark.parametrize("rows", [1, 6])
def test_loss_gradient_matches_finite_differences(loss, rows):
    rng = np.random.default_rng(4)
    shape = (rows, 3)
    y = _targets(loss.name, shape, rng)
    p = rng.uniform(0.1, 0.9, shape)
    if loss.name == "cce":
        p = p / p.sum(axis=1, keepdims=True)
    numeric = numerical_gradient(lambda: loss.value(p, y), p)
    assert relative_error(loss.gradient(p, y), numeric) < TOL


def test_mse_convention_is_mean_over_elements():
    p = np.array([[0.2], [0.9]])
    y = np.array([[0.0], [1.0]])
    assert losses.mse(p, y) == pytest.approx((0.04 + 0.01) / 2)
    np.testing.assert_allclose(losses.mse_gradient(p, y), 2 * (p - y) / 2)


def test_losses_accept_flat_targets_and_reject_mismatched_ones():
    p = np.array([[0.2], [0.9]])
    assert losses.mse(p, np.array([0, 1])) == losses.mse(p, np.array([[0], [1]]))
    with pytest.raises(ValueError, match="do not match"):
        losses.mse(p, np.array([0, 1, 1]))


def test_cross_entropies_stay_finite_on_saturated_predictions():
    with np.errstate(**LOUD):
        assert np.isfinite(losses.binary_cross_entropy(np.array([[0.0], [1.0]]),
                                                       np.array([[1.0], [0.0]])))
        assert np.isfinite(losses.categorical_cross_entropy(np.array([[0.0, 1.0]]),
                                                            np.array([[1.0, 0.0]])))


# --- whole networks ---------------------------------------------------------------------------

NETWORK_CASES = [
    # (hidden, output, loss)
    ("sigmoid", "sigmoid", "mse"),
    ("sigmoid", "sigmoid", "bce"),
    ("tanh", "sigmoid", "mse"),
    ("relu", "identity", "sse"),
    ("leaky_relu", "sigmoid", "half_sse"),
    ("relu", SOFTMAX, "cce"),
    ("sigmoid", SOFTMAX, "cce"),
    ("tanh", SOFTMAX, "mse"),  # softmax without cross-entropy: the general softmax backward
]


def _conditioned_weights(sizes, rng):
    """Weights that put hidden pre-activations of inputs in [-1, 1] at order one."""
    return [rng.normal(0.0, 1.5 / np.sqrt(fan_in), (fan_in, fan_out))
            for fan_in, fan_out in zip(sizes, sizes[1:])]


@pytest.mark.parametrize("hidden,output,loss", NETWORK_CASES)
@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
@pytest.mark.parametrize("rows", [1, 8], ids=["one-sample", "batch"])
def test_network_backward_matches_finite_differences(hidden, output, loss, bias, rows):
    rng = np.random.default_rng(5)
    sizes = [3, 5, 4, 2] if output == SOFTMAX else [3, 5, 4, 1]
    weights = _conditioned_weights(sizes, rng)
    biases = [rng.normal(0, 0.5, (1, n)) for n in sizes[1:]] if bias else None
    X = rng.uniform(-1, 1, (rows, sizes[0]))
    y = _targets(loss, (rows, sizes[-1]), rng)

    def total_loss() -> float:
        pred, _ = forward(weights, X, hidden, output, biases)
        return losses.get_loss(loss).value(pred, y)

    _, cache = forward(weights, X, hidden, output, biases)
    if hidden in ("relu", "leaky_relu"):  # finite differences are meaningless at a kink
        assert min(np.abs(z).min() for z in cache.preactivations[:-1]) > 1e-3
    gw, gb = backward(weights, cache, y, loss, hidden, output)
    for layer, (g, n) in enumerate(zip(gw, numerical_gradients(total_loss, weights))):
        assert relative_error(g, n) < TOL, f"weights[{layer}]"
    if biases is not None:
        for layer, (g, n) in enumerate(zip(gb, numerical_gradients(total_loss, biases))):
            assert relative_error(g, n) < TOL, f"biases[{layer}]"


@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
@pytest.mark.parametrize("rows", [1, 21], ids=["one-sample", "batch"])
def test_lab_nn_update_applies_exactly_the_gradient_of_the_lab_loss(bias, rows):
    """What the grader will measure: (W_before - W_after) / lr equals dL/dW."""
    rng = np.random.default_rng(6)
    nn = NN([2, 3, 3, 1], bias=bias, rng=7)
    nn.weights = _conditioned_weights([2, 3, 3, 1], rng)
    X = rng.uniform(0, 1, (rows, 2))
    y = rng.integers(0, 2, (rows, 1))
    params = nn.parameters()
    numeric = numerical_gradients(lambda: nn.loss_on(X, y), params)
    before = [p.copy() for p in params]
    nn.predict(X)
    nn.backprop(y)
    nn.update(1.0)
    for i, (b, a, n) in enumerate(zip(before, nn.parameters(), numeric)):
        assert relative_error(b - a, n) < TOL, f"parameter {i}"


def test_mlp_with_bias_has_gradients_for_every_parameter():
    net = MLP([2, 4, 1], bias=True, rng=0)
    net.forward(np.ones((3, 2)))
    net.backward(np.ones((3, 1)))
    assert [g.shape for g in net.gradients()] == [p.shape for p in net.parameters()]
    assert len(net.parameters()) == 4
