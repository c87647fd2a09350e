"""The Lab1 reference: the lab's data, helpers, network interface, training and convergence."""

from __future__ import annotations

import numpy as np
import pytest

from reference import convergence, lab1
from reference.init import INITIALIZERS
from reference.lab1 import NN, generate_linear, generate_XOR_easy, mse, sigmoid
from reference.optimizers import SGD, AdaGrad, Adam, Momentum, make_optimizer
from reference.training import accuracy, predict_labels, train_batches


# --- data: bit for bit the lab's ----------------------------------------------------------------

def lab_generate_linear(n=100):
    """The lab's own code, copied from the slides."""
    pts = np.random.uniform(0, 1, (n, 2))
    inputs = []
    labels = []
    for pt in pts:
        inputs.append([pt[0], pt[1]])
        if pt[0] > pt[1]:
            labels.append(0)
        else:
            labels.append(1)
    return np.array(inputs), np.array(labels).reshape(n, 1)


def lab_generate_XOR_easy():
    inputs = []
    labels = []
    for i in range(11):
        inputs.append([0.1 * i, 0.1 * i])
        labels.append(0)
        if 0.1 * i == 0.5:
            continue
        inputs.append([0.1 * i, 1 - 0.1 * i])
        labels.append(1)
    return np.array(inputs), np.array(labels).reshape(21, 1)


def test_generate_linear_matches_the_lab_from_the_same_global_state():
    np.random.seed(1234)
    expected = lab_generate_linear(50)
    np.random.seed(1234)
    got = generate_linear(50)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert got[0].shape == (50, 2) and got[1].shape == (50, 1)


def test_generate_linear_with_a_generator_is_reproducible_and_leaves_global_state_alone():
    np.random.seed(5)
    state = np.random.get_state()[1].copy()
    a = generate_linear(rng=np.random.default_rng(3))
    b = generate_linear(rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    x, y = a
    assert np.array_equal(y.reshape(-1), (x[:, 0] <= x[:, 1]).astype(int))


def test_generate_xor_easy_is_the_lab_data_bit_for_bit():
    X, Y = generate_XOR_easy()
    eX, eY = lab_generate_XOR_easy()
    np.testing.assert_array_equal(X, eX)
    np.testing.assert_array_equal(Y, eY)
    assert X.shape == (21, 2) and Y.sum() == 10


# --- the lab's helpers --------------------------------------------------------------------------

def test_sigmoid_derivative_takes_the_output_as_in_the_template():
    z = np.array([[-1.0, 0.5]])
    a = sigmoid(z)
    np.testing.assert_allclose(lab1.derivative(sigmoid, a), a * (1 - a))
    np.testing.assert_allclose(sigmoid(a, derivative=True), a * (1 - a))


def test_mse_and_its_derivative():
    p, y = np.array([[0.75]]), np.array([[1]])
    assert mse(p, y) == pytest.approx(0.0625)
    np.testing.assert_allclose(lab1.derivative(mse, p, y), [[-0.5]])


def test_show_result_and_learning_curve_save_png_files(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    X, Y = generate_XOR_easy()
    lab1.show_result(X, Y, Y, path=str(tmp_path / "r.png"))
    lab1.show_learning_curve([0.3, 0.2, 0.1], path=str(tmp_path / "c.png"))
    for name in ("r.png", "c.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


# --- the network's interface --------------------------------------------------------------------

def test_nn_has_the_template_interface_and_shapes():
    nn = NN(dim=[2, 3, 3, 1], rng=0)
    assert [w.shape for w in nn.weights] == [(2, 3), (3, 3), (3, 1)]
    assert all(np.all(np.abs(w) <= 1) for w in nn.weights)
    assert nn.biases is None and nn.act is sigmoid and nn.loss is mse
    one = nn.predict(np.array([[0.2, 0.7]]))
    flat = nn.predict(np.array([0.2, 0.7]))
    batch = nn.predict(generate_XOR_easy()[0])
    assert one.shape == (1, 1) and flat.shape == (1, 1) and batch.shape == (21, 1)
    np.testing.assert_array_equal(one, flat)
    assert np.all((batch > 0) & (batch < 1))
    assert len(nn.layers) == 4 and nn.layers[0].shape == (21, 2)
    np.testing.assert_allclose(batch[3:4], nn.predict(generate_XOR_easy()[0][3:4]), rtol=1e-15)


def test_nn_is_deterministic_for_a_seed_and_checks_its_call_order():
    np.testing.assert_array_equal(NN([2, 3, 3, 1], rng=4).weights[1],
                                  NN([2, 3, 3, 1], rng=4).weights[1])
    nn = NN([2, 3, 3, 1], rng=0)
    with pytest.raises(RuntimeError, match="forward"):
        nn.backprop(np.array([[1]]))
    nn.predict(np.array([[0.1, 0.2]]))
    with pytest.raises(RuntimeError, match="backward"):
        nn.update(0.1)


def test_nn_accepts_a_lab_style_activation_function():
    def tanh(x, derivative=False):
        return 1.0 - x ** 2 if derivative else np.tanh(x)

    nn = NN([2, 3, 1], activation=tanh, rng=1)
    ref = NN([2, 3, 1], activation="tanh", rng=1)
    x, y = np.array([[0.3, -0.8]]), np.array([[0.5]])
    for net in (nn, ref):
        net.predict(x)
        net.backprop(y)
        net.update(0.5)
    for a, b in zip(nn.weights, ref.weights):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_nn_with_bias_and_every_init_scheme():
    for name in INITIALIZERS:
        nn = NN([2, 4, 1], bias=True, init=name, rng=0)
        assert [b.shape for b in nn.biases] == [(1, 4), (1, 1)]
        assert nn.predict(np.zeros((5, 2))).shape == (5, 1)


@pytest.mark.parametrize("name,fan_in,fan_out,expected_std", [
    ("normal", 400, 300, 1.0),
    ("uniform", 400, 300, 1 / np.sqrt(3)),
    ("xavier_like", 400, 300, 1 / np.sqrt(700)),
    ("xavier_uniform", 400, 300, np.sqrt(2 / 700)),
    ("he", 400, 300, np.sqrt(2 / 400)),
])
def test_init_schemes_have_their_documented_scale(name, fan_in, fan_out, expected_std):
    w = INITIALIZERS[name](fan_in, fan_out, np.random.default_rng(0))
    assert w.shape == (fan_in, fan_out)
    assert w.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(w.mean()) < 0.05 * expected_std + 1e-3


# --- optimizers ---------------------------------------------------------------------------------

def test_optimizers_follow_their_formulas_for_two_steps():
    g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    lr = 0.1

    def run(opt):
        p = np.zeros(2)
        trace = []
        for g in (g1, g2):
            opt.step([p], [g], lr)
            trace.append(p.copy())
        return trace

    sgd = run(SGD())
    np.testing.assert_allclose(sgd[1], -lr * (g1 + g2))
    mom = run(Momentum(beta=0.9))
    np.testing.assert_allclose(mom[0], sgd[0])  # first step equals SGD
    np.testing.assert_allclose(mom[1], -lr * g1 - lr * (0.9 * g1 + g2))
    ada = run(AdaGrad(eps=0.0))
    np.testing.assert_allclose(ada[0], -lr * np.sign(g1))
    r = g1 ** 2 + g2 ** 2
    np.testing.assert_allclose(ada[1], ada[0] - lr * g2 / np.sqrt(r))
    adam = run(Adam(eps=0.0))
    np.testing.assert_allclose(adam[0], -lr * np.sign(g1))  # bias-corrected first step
    assert not np.allclose(adam[1] - adam[0], sgd[1] - sgd[0])


def test_optimizer_registry_and_errors():
    assert isinstance(make_optimizer("adam"), Adam)
    with pytest.raises(ValueError, match="known: adagrad, adam, momentum, sgd"):
        make_optimizer("rmsprop")
    with pytest.raises(ValueError, match="shape"):
        SGD().step([np.zeros(2)], [np.zeros(3)], 0.1)


def test_nn_trains_with_a_stateful_optimizer():
    X, Y = generate_linear(40, rng=np.random.default_rng(0))
    nn = NN([2, 4, 1], bias=True, optimizer="adam", rng=0)
    result = train_batches(nn, X, Y, 0.05, max_epochs=400, until_accuracy=1.0)
    assert result.converged and result.accuracy == 1.0


# --- training and convergence -------------------------------------------------------------------

def test_accuracy_and_labels():
    assert list(predict_labels(np.array([[0.2], [0.5], [0.9]]))) == [0, 1, 1]
    assert accuracy(np.array([[0.9, 0.1], [0.3, 0.7]]), np.array([[1, 0], [1, 0]])) == 0.5


@pytest.mark.slow
def test_reference_converges_on_both_lab_datasets_from_fixed_seeds():
    X, Y = generate_XOR_easy()
    xor = lab1.train(NN([2, 3, 3, 1], rng=0), X, Y, max_steps=60_000)
    assert xor.converged and xor.accuracy == 1.0 and xor.steps == 30093
    X, Y = generate_linear(100, rng=np.random.default_rng(0))
    lin = lab1.train(NN([2, 3, 3, 1], rng=0), X, Y, max_steps=60_000)
    assert lin.converged and lin.accuracy == 1.0
    assert lin.loss_curve[-1] < lin.loss_curve[0]


def test_lab_loop_logs_like_the_template():
    lines = []
    X, Y = generate_XOR_easy()
    lab1.train(NN([2, 3, 3, 1], rng=1), X, Y, max_steps=10_500, log_every=5000, log=lines.append)
    assert [line.split()[:2] for line in lines] == [["epoch", "5000"], ["epoch", "10000"]]
    assert lines[0].startswith("epoch 5000 loss: ")


def test_stacked_trainer_follows_the_same_trajectory_as_nn_one_by_one():
    X, Y = generate_linear(30, rng=np.random.default_rng(2))
    seeds = list(range(3))
    many = convergence.train_many(X, Y, seeds, max_steps=30_000)
    for i, seed in enumerate(seeds):
        alone = lab1.train(NN([2, 3, 3, 1], rng=seed), X, Y, max_steps=30_000)
        assert (bool(many.converged[i]), int(many.steps[i])) == (alone.converged, alone.steps)
    assert many.converged.any()


def test_statistics_helpers():
    low, high = convergence.wilson_interval(32, 100)
    assert low < 0.32 < high and 0.2 < low and high < 0.45
    assert convergence.wilson_interval(0, 10)[0] == 0.0
    assert convergence.wilson_interval(10, 10)[1] == 1.0  # not 0.9999999999999999
    assert convergence.restarts_needed(0.5, 1e-3) == 10
    assert convergence.restarts_needed(1.0, 1e-3) == 1
    with pytest.raises(ValueError):
        convergence.restarts_needed(0.0, 1e-3)


def test_measure_summarises_rates_and_step_quantiles():
    stats = convergence.measure("linear", trials=6, max_steps=40_000)
    assert stats.trials == 6 and 0 <= stats.converged <= 6
    assert stats.rate_low <= stats.rate <= stats.rate_high
    if stats.converged:
        q = stats.steps_quantiles
        assert q["min"] <= q["median"] <= q["max"] <= 40_000 + 99
    with pytest.raises(ValueError, match="unknown dataset"):
        convergence.lab_dataset("spiral")


def test_converging_seeds_are_reproducible_by_nn():
    [(seed, steps)] = convergence.converging_seeds("linear", 1, max_steps=40_000, search=4)
    X, Y = convergence.lab_dataset("linear")
    result = lab1.train(NN([2, 3, 3, 1], rng=seed), X, Y, max_steps=40_000)
    assert result.converged and result.steps == steps


def test_demo_restarts_a_stuck_initialisation_and_says_so():
    from reference.demo import train_with_restarts

    X, Y = generate_XOR_easy()
    lines = []
    with pytest.raises(RuntimeError, match="no initialisation out of 2 converged"):
        train_with_restarts(X, Y, 0, log=lines.append, attempt_steps=200, max_attempts=2)
    assert any("initialisation 0 did not converge" in line and "restarting" in line
               for line in lines)


def test_stacked_trainer_with_biases_follows_nn_with_bias():
    X, Y = generate_linear(30, rng=np.random.default_rng(4))
    many = convergence.train_many(X, Y, [0, 1], max_steps=30_000, bias=True)
    for i, seed in enumerate([0, 1]):
        alone = lab1.train(NN([2, 3, 3, 1], bias=True, rng=seed), X, Y, max_steps=30_000)
        assert (bool(many.converged[i]), int(many.steps[i])) == (alone.converged, alone.steps)


def test_robust_init_converges_under_nudges():
    X, Y = generate_XOR_easy()
    init = convergence.robust_init(X, Y, range(12), max_steps=30_000)
    assert init is not None and init.steps <= init.worst_steps <= 30_000
    result = lab1.train(NN([2, 3, 3, 1], rng=init.seed), X, Y, max_steps=30_000)
    assert result.converged and result.steps == init.steps


@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
def test_shipped_xor_initialisations_converge_robustly(bias):
    from reference.known_inits import XOR_NO_BIAS, XOR_WITH_BIAS

    table = XOR_WITH_BIAS if bias else XOR_NO_BIAS
    X, Y = generate_XOR_easy()
    sample = [table[0], table[len(table) // 2], table[-1]]
    found = convergence.robust_inits(X, Y, [s for s, _ in sample], max_steps=35_000, bias=bias)
    assert [(r.seed, r.steps) for r in found] == sample
    assert all(r.worst_steps <= 35_000 for r in found)


def test_stacked_trainer_with_other_activations_follows_the_reference_network():
    """A student's ReLU (or tanh) network is measured as one: one pass of the stacked trainer
    equals the reference network's per-sample steps with those activations."""
    from reference.network import backward, forward

    X, Y = generate_linear(20, rng=np.random.default_rng(1))
    for hidden in ("relu", "tanh"):
        many = convergence.train_many(X, Y, [4], max_steps=20_000, hidden=hidden,
                                      output="sigmoid", lr=0.5)
        weights = [w[0].copy() for w in convergence.initial_weights([4])]
        steps, worst = 0, 1.0
        while steps < 20_000 and worst >= 0.04:
            worst = 0.0
            for i in range(len(X)):
                x, y = X[i:i + 1], Y[i:i + 1].astype(float)
                out, cache = forward(weights, x, hidden, "sigmoid")
                worst = max(worst, float(np.mean((out - y) ** 2)))
                grads, _ = backward(weights, cache, y, "mse", hidden, "sigmoid")
                weights = [w - 0.5 * g for w, g in zip(weights, grads)]
            steps += len(X)
        assert (bool(many.converged[0]), int(many.steps[0])) == (worst < 0.04, steps), hidden
        assert many.converged[0], hidden


def test_a_profile_of_another_activation_is_kept_under_a_name_of_its_own():
    from grader.reference_runs import profile_name

    lab = profile_name("train_xor", 0, 21, 0.8, 1000)
    assert profile_name("train_xor", 0, 21, 0.8, 1000, activations=("sigmoid", "sigmoid")) == lab
    assert profile_name("train_xor", 0, 21, 0.8, 1000, activations=("relu", "sigmoid")) != lab
