"""The gradient diagnosis: simulated students, correct and buggy, must get the right verdict.

The students are simulated by :func:`student_step`, a backprop written the way students write it
(explicit formulas, its own loop), independent from the variants in :mod:`grader.diagnosis`: a
bug there and the same bug here are two separate implementations that have to agree.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from grader import diagnosis as dg
from grader.diagnosis import (BUGS, GradientDiagnosis, StepMeasurement, diagnose, taylor_test,
                              well_conditioned_weights)
from reference.lab1 import generate_linear, generate_XOR_easy
from reference.network import backward, forward
from reference.optimizers import Adam

X_XOR, Y_XOR = generate_XOR_easy()
SINGLE = 7  # the XOR point (0.4, 0.6): away from the origin, where z = 0 @ W = 0

CONFIGS = {
    "2331": ([2, 3, 3, 1], False),
    "2441b": ([2, 4, 4, 1], True),
}

# the coefficient k of (y_pred - y) in a student's dL/dy_pred, from (n elements, N samples)
CONVENTIONS = {
    "2*mean": lambda n, N: 2.0 / n,
    "mean": lambda n, N: 1.0 / n,
    "2*sum": lambda n, N: 2.0,
    "sum": lambda n, N: 1.0,
}


# --- the simulated student -----------------------------------------------------------------------

def _f(act, z):
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if act == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0.0)


def _f_prime_from_output(act, a):
    """The template's style: the derivative written through the stored output a."""
    if act == "sigmoid":
        return a * (1.0 - a)
    if act == "tanh":
        return 1.0 - a * a
    return (a > 0).astype(float)


def student_step(weights, biases, X, y, *, act="sigmoid", convention="2*mean", bug=None,
                 layers=(), array=None):
    """``(measured_w, measured_b)`` of a student's backprop + SGD update, with one bug.

    ``layers``: 0-based layers a layer-wise bug applies to; ``array``: ("weights"|"biases", l)
    for a bug in one array's update.
    """
    L = len(weights)
    acts = [act] * (L - 1) + ["sigmoid"]  # the lab's sigmoid output, whatever the hidden layers
    A, Z = [X], []
    for l, W in enumerate(weights):
        z = A[-1] @ W + (biases[l] if biases is not None else 0.0)
        Z.append(z)
        A.append(_f(acts[l], z))
    p = A[-1]
    n, N = p.size, X.shape[0]
    k = CONVENTIONS[convention](n, N)

    def fprime(l):
        a, z, f = A[l + 1], Z[l], acts[l]
        if l in layers:
            if bug == "derivative_of_preactivation":
                return _f_prime_from_output(f, z)
            if bug == "derivative_of_output_twice":
                return _f_prime_from_output(f, _f(f, a))
            if bug == "missing_derivative":
                return np.ones_like(z)
            if bug == "activation_instead_of_derivative":
                return a
            if bug == "inverted_mask":  # grad_h[h > 0] = 0: 1 - f' of a ReLU
                return 1.0 - _f_prime_from_output(f, a)
            if bug == "derivative_wrong_layer":
                return _f_prime_from_output(acts[l + 1], A[l + 2])
        return _f_prime_from_output(f, a)

    if bug == "bce":
        delta = (p - y) / n
    else:
        delta = k * (p - y) * fprime(L - 1)
    gw, gb = [None] * L, [None] * L
    for l in range(L - 1, -1, -1):
        a_in = A[l]
        if l in layers and bug == "dw_uses_own_output":
            a_in = A[l + 1]
        if l in layers and bug == "dw_uses_preactivation":
            a_in = Z[l - 1]
        gw[l] = a_in.T @ delta
        gb[l] = (delta.mean(axis=0, keepdims=True) if bug == "bias_averaged"
                 else delta.sum(axis=0, keepdims=True))
        if l > 0:
            back = weights[l] if (l in layers and bug == "transposed_weights") else weights[l].T
            delta = (delta @ back) * fprime(l - 1)
    grads = {"weights": gw, "biases": gb}
    if bug == "sign":
        grads = {key: [-g for g in gs] for key, gs in grads.items()}
    if array is not None:
        kind, l = array
        if bug == "sign_layer":
            grads[kind][l] = -grads[kind][l]
        elif bug == "missing_batch_mean":
            grads[kind][l] = grads[kind][l] * N
        elif bug == "extra_batch_mean":
            grads[kind][l] = grads[kind][l] / N
        elif bug == "not_updated":
            grads[kind][l] = None
        elif bug == "transposed_gradient":
            grads[kind][l] = grads[kind][l].T
    if bug == "adaptive_optimizer":  # the reference Adam's first step, read back as a gradient
        params = [w.copy() for w in weights] + ([b.copy() for b in biases] if biases else [])
        before = [q.copy() for q in params]
        flat = grads["weights"] + (grads["biases"] if biases else [])
        Adam().step(params, flat, 1.0)
        moved = [b - a for a, b in zip(params, before)]
        grads = {"weights": moved[:L], "biases": moved[L:]}
    return grads["weights"], (grads["biases"] if biases is not None else None)


def setup(config, n_samples, act="sigmoid", seed=0):
    dims, bias = CONFIGS[config]
    weights, biases = well_conditioned_weights(dims, seed, bias=bias, activation=act,
                                               output="sigmoid")
    if n_samples == 1:
        X, y = X_XOR[SINGLE:SINGLE + 1], Y_XOR[SINGLE:SINGLE + 1].astype(float)
    else:
        X, y = X_XOR, Y_XOR.astype(float)
    return weights, biases, X, y


def run(config, n_samples, act="sigmoid", **student):
    weights, biases, X, y = setup(config, n_samples, act)
    mw, mb = student_step(weights, biases, X, y, act=act, **student)
    return diagnose(weights, biases, X, y, mw, mb, hidden=act, output="sigmoid")


# --- the machinery -------------------------------------------------------------------------------

@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
def test_backprop_with_no_hooks_is_the_reference_backward(config, act):
    weights, biases, X, y = setup(config, 21, act)
    net = dg.Net(weights, biases, X, y, act, "sigmoid")
    _, cache = forward(weights, X, act, "sigmoid", biases)
    gw, gb = backward(weights, cache, y, "mse", act, "sigmoid")
    expected = gw + (gb if biases is not None else [])
    for mine, ref in zip(net.backprop(), expected):
        np.testing.assert_array_equal(mine, ref)


def test_the_simulated_student_is_right_when_it_has_no_bug():
    """Sanity of the test's own student: with no bug it is the reference gradient exactly."""
    for config in CONFIGS:
        weights, biases, X, y = setup(config, 21)
        mw, mb = student_step(weights, biases, X, y)
        _, cache = forward(weights, X, "sigmoid", None, biases)
        gw, gb = backward(weights, cache, y)
        for mine, ref in zip(mw + (mb or []), gw + (gb if biases is not None else [])):
            np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-15)


def test_bug_ids_are_unique_and_every_bug_has_words():
    ids = [b.id for b in BUGS]
    assert len(ids) == len(set(ids))
    assert {"sign", "sign_layer", "derivative_of_preactivation", "derivative_of_output_twice",
            "missing_derivative", "activation_instead_of_derivative", "transposed_weights",
            "bias_averaged", "missing_batch_mean", "dw_uses_own_output", "bce",
            "adaptive_optimizer"} <= set(ids)
    assert all(b.description and b.hint for b in BUGS)


# --- (a) correct gradients under every convention ------------------------------------------------

@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("n_samples", [1, 21])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_correct_gradient_passes_under_every_convention_and_names_it(config, n_samples,
                                                                     convention):
    d = run(config, n_samples, convention=convention)
    assert d.ok, d.message
    assert d.bug is None and d.first_wrong is None
    assert all(r.ok and r.rel_error < 1e-12 for r in d.arrays)
    assert convention in d.convention_ids
    n = n_samples  # one output
    assert d.scale == pytest.approx(CONVENTIONS[convention](n, n) / (2.0 / n), rel=1e-9)
    if n_samples == 21:
        assert d.convention_ids == [convention]
    else:  # one sample, one output: 2·mean and 2·sum are the same number
        assert len(d.convention_ids) == 2
    assert d.message.startswith("gradient correct in every layer")


def test_the_labs_own_mse_is_scale_one_and_named_so():
    d = run("2331", 21)
    assert d.scale == pytest.approx(1.0, rel=1e-12)
    assert d.convention.startswith("2·mean") and "the lab's MSE" in d.convention


def test_an_unusual_positive_scale_still_passes_with_a_note():
    weights, biases, X, y = setup("2331", 21)
    mw, mb = student_step(weights, biases, X, y)
    d = diagnose(weights, biases, X, y, [0.3 * g for g in mw], None)
    assert d.ok and d.convention is None and d.scale == pytest.approx(0.3)
    assert any("not one of the usual MSE conventions" in n for n in d.notes)


# --- (b) every known bug is named, and no other --------------------------------------------------

ALL = (0, 1, 2)
# (bug, layers, array, expected id, expected where (substring)); layers are 0-based
BUG_CASES = [
    ("sign", (), None, "sign", "every layer"),
    ("sign_layer", (), ("weights", 1), "sign_layer", "weights[1]"),
    ("sign_layer", (), ("weights", 2), "sign_layer", "weights[2]"),
    ("sign_layer", (), ("weights", 0), "sign_layer", "weights[0]"),
    ("not_updated", (), ("weights", 1), "not_updated", "weights[1]"),
    ("adaptive_optimizer", (), None, "adaptive_optimizer", "every layer"),
    ("derivative_of_preactivation", ALL, None, "derivative_of_preactivation", "every layer"),
    ("derivative_of_preactivation", (0,), None, "derivative_of_preactivation", "layer 1 ("),
    ("derivative_of_preactivation", (0, 1), None, "derivative_of_preactivation",
     "every hidden layer"),
    ("derivative_of_output_twice", ALL, None, "derivative_of_output_twice", "every layer"),
    ("derivative_of_output_twice", (1,), None, "derivative_of_output_twice", "layer 2 ("),
    ("missing_derivative", (0, 1), None, "missing_derivative", "every hidden layer"),
    ("missing_derivative", (0,), None, "missing_derivative", "layer 1 ("),
    ("missing_derivative", ALL, None, "missing_derivative", "every layer"),
    ("activation_instead_of_derivative", ALL, None, "activation_instead_of_derivative",
     "every layer"),
    ("activation_instead_of_derivative", (1,), None, "activation_instead_of_derivative",
     "layer 2 ("),
    ("derivative_wrong_layer", (0,), None, "derivative_wrong_layer", "layer 1 ("),
    ("transposed_weights", (1,), None, "transposed_weights", "layer 2 ("),
    ("transposed_gradient", (), ("weights", 1), "transposed_gradient", "weights[1]"),
    ("dw_uses_own_output", (1,), None, "dw_uses_own_output", "layer 2 ("),
    ("dw_uses_preactivation", (1,), None, "dw_uses_preactivation", "layer 2 ("),
    ("dw_uses_preactivation", (1, 2), None, "dw_uses_preactivation", "every layer after"),
    # batch-only bugs: with one sample they change nothing, or only the shared scale
    ("missing_derivative", (2,), None, "bce", "output"),  # the same gradient as BCE's
    ("bce", (), None, "bce", "output"),
    ("missing_batch_mean", (), ("weights", 0), "missing_batch_mean", "weights[0]"),
    ("missing_batch_mean", (), ("weights", 2), "missing_batch_mean", "weights[2]"),
    ("extra_batch_mean", (), ("weights", 1), "extra_batch_mean", "weights[1]"),
    ("derivative_of_preactivation", (2,), None, "derivative_of_preactivation", "output"),
]
BATCH_ONLY = {"bce", "missing_batch_mean", "extra_batch_mean", "bias_averaged"}
BIAS_CASES = [
    ("bias_averaged", (), None, "bias_averaged", "every bias array"),
    ("sign_layer", (), ("biases", 1), "sign_layer", "biases[1]"),
    ("missing_batch_mean", (), ("biases", 0), "missing_batch_mean", "biases[0]"),
]


def _batch_only(case):
    bug, layers, _, expected, _ = case
    return expected in BATCH_ONLY or (layers == (2,) and bug != "dw_uses_preactivation")


def _cases(config):
    cases = BUG_CASES + (BIAS_CASES if CONFIGS[config][1] else [])
    return [pytest.param(config, n, case, id=f"{config}-{n}-{case[0]}-{case[1]}-{case[2]}")
            for n in (1, 21) for case in cases if n == 21 or not _batch_only(case)]


@pytest.mark.parametrize("config, n_samples, case", _cases("2331") + _cases("2441b"))
def test_each_bug_fails_and_is_named(config, n_samples, case):
    bug, layers, array, expected, where = case
    d = run(config, n_samples, bug=bug, layers=layers, array=array, convention="sum")
    assert not d.ok
    assert d.bug == expected, (d.bug, d.bug_where, d.message)
    if n_samples == 1 and 2 in layers and where == "every layer":
        # one sample, one output: the output's part of the bug is only a factor, absorbed by
        # the shared scale, so the narrowest explanation is the hidden layers alone
        assert d.bug_where in ("every layer", "every hidden layer")
    else:
        assert where in d.bug_where
    assert d.first_wrong is not None and d.message and d.hint
    assert not any(r.ok for r in d.arrays if r.name == d.first_wrong)


@pytest.mark.parametrize("bug", ["derivative_of_preactivation", "derivative_of_output_twice",
                                 "missing_derivative", "activation_instead_of_derivative"])
def test_tanh_derivative_bugs_are_named_with_tanh_formulas(bug):
    d = run("2331", 21, act="tanh", bug=bug, layers=(0, 1))
    assert d.bug == bug and d.bug_where == "every hidden layer"
    assert "tanh" in d.message
    if bug == "derivative_of_preactivation":
        assert "1−z²" in d.message


def test_batch_only_bugs_are_invisible_in_one_sample_and_pass():
    """With N = 1 these bugs change nothing, or one factor for every array: correctly a pass."""
    for bug, array in (("bias_averaged", None), ("missing_batch_mean", ("weights", 0))):
        d = run("2441b", 1, bug=bug, array=array)
        assert d.ok and d.bug is None


def test_bce_with_one_sample_passes_but_says_a_batch_would_tell():
    d = run("2331", 1, bug="bce")
    assert d.ok and d.convention is None
    assert any("binary cross-entropy" in n and "batch" in n for n in d.notes)


def test_bce_message_says_exactly_what_the_lab_wants():
    d = run("2331", 21, bug="bce")
    assert d.bug == "bce"
    assert "your gradient is right for binary cross-entropy, not for the MSE the lab asks for" \
        in d.message


def test_global_sign_error_message_and_negative_scale():
    d = run("2331", 21, bug="sign")
    assert d.scale < 0 and d.bug == "sign"
    assert d.message.startswith(
        "wrong sign: your update moves the weights up the gradient (gradient ascent)")
    assert all(r.scale_ratio == pytest.approx(-1.0) and r.cosine == pytest.approx(-1.0)
               for r in d.arrays)
    assert d.to_dict()["scale"] < 0


def test_sign_flip_in_one_hidden_layer_only():
    d = run("2331", 21, bug="sign_layer", array=("weights", 1))
    assert d.scale > 0 and d.bug == "sign_layer" and d.first_wrong == "weights[1]"
    assert "layer 2 (weights[1], 3x3)" in d.message and "wrong sign" in d.message
    report = {r.name: r for r in d.arrays}
    assert report["weights[1]"].scale_ratio == pytest.approx(-1.0)
    assert report["weights[0]"].ok and report["weights[2]"].ok


def test_sign_flip_of_the_output_layer_only_is_not_called_global():
    d = run("2331", 21, bug="sign_layer", array=("weights", 2))
    assert d.scale < 0 and d.bug == "sign_layer" and "weights[2]" in d.bug_where


def test_relu_derivative_from_output_is_harmless_and_passes():
    """For ReLU, a > 0 exactly when z > 0: the output form on z (or on a) is no bug."""
    for config in CONFIGS:
        for bug in (None, "derivative_of_preactivation", "derivative_of_output_twice"):
            d = run(config, 21, act="relu", bug=bug, layers=(0, 1))
            assert d.ok and d.bug is None, (config, bug, d.message)


def test_relu_missing_derivative_is_still_caught():
    d = run("2441b", 21, act="relu", bug="missing_derivative", layers=(0, 1))
    assert d.bug == "missing_derivative"


def test_relu_mask_the_wrong_way_is_named():
    """grad_h[h > 0] = 0 in place of grad_h[h < 0] = 0: the tutorial's ReLU mask inverted."""
    d = run("2441b", 21, act="relu", bug="inverted_mask", layers=(0, 1))
    assert not d.ok and d.bug == "inverted_mask"
    assert "masked the wrong way" in d.message


def test_an_inverted_mask_is_never_suspected_of_a_sigmoid_network():
    d = run("2441b", 21, act="sigmoid", bug="missing_derivative", layers=(0, 1))
    assert d.bug == "missing_derivative"
    assert "masked the wrong way" not in d.message + " ".join(d.also_consistent_with or [])


# --- (c) what no known bug explains --------------------------------------------------------------

def test_random_noise_of_one_in_a_thousand_fails_without_naming_a_bug():
    weights, biases, X, y = setup("2441b", 21)
    mw, mb = student_step(weights, biases, X, y)
    rng = np.random.default_rng(5)

    def noisy(g):
        return g + 1e-3 * np.linalg.norm(g) / np.sqrt(g.size) * rng.standard_normal(g.shape)

    d = diagnose(weights, biases, X, y, [noisy(g) for g in mw], [noisy(g) for g in mb])
    assert not d.ok and d.bug is None
    assert all(1e-5 < r.rel_error < 1e-2 for r in d.arrays if r.name != "weights[2]")
    assert "no known bug matches" in " ".join(d.notes)
    assert d.message.startswith("layer 3 (output") or "is right" in d.message


def test_nan_in_the_update_is_reported():
    weights, biases, X, y = setup("2331", 21)
    mw, _ = student_step(weights, biases, X, y)
    mw[0] = mw[0].copy()
    mw[0][0, 0] = np.nan
    d = diagnose(weights, biases, X, y, mw, None)
    assert not d.ok and d.bug == "non_finite" and "weights[0]" in d.message
    json.dumps(d.to_dict())


def test_nothing_moved():
    weights, biases, X, y = setup("2331", 21)
    d = diagnose(weights, biases, X, y, [None, None, None], None)
    assert not d.ok and d.bug == "no_update"


# --- where it goes wrong -------------------------------------------------------------------------

def test_message_names_the_right_layer_above_the_first_wrong_one():
    d = run("2331", 21, bug="transposed_weights", layers=(1,))
    assert d.first_wrong == "weights[0]"  # delta of layer 1 is wrong; dW of layer 2 is not
    assert d.message.startswith("layer 2 (weights[1], 3x3) and the layers above it are right")
    d = run("2331", 21, bug="dw_uses_own_output", layers=(1,))
    assert d.first_wrong == "weights[1]"
    assert d.message.startswith("layer 3 (output, weights[2], 3x1) is right; layer 2 "
                                "(weights[1], 3x3): your gradient is off by")


def test_first_wrong_layer_message_for_a_first_layer_only_bug():
    d = run("2331", 21, bug="missing_derivative", layers=(0,))
    assert d.first_wrong == "weights[0]"
    assert d.message.startswith("layer 2 (weights[1], 3x3) and the layers above it are right; "
                                "layer 1 (weights[0], 2x3): your gradient is off by")
    assert "the derivative of the sigmoid is missing in layer 1 (weights[0], 2x3)" in d.message
    assert [r.name for r in d.arrays if not r.ok] == ["weights[0]"]


def test_whole_vector_error_would_hide_the_first_layer_bug():
    """NOTES: a first-layer bug can leave the whole-vector error at a few percent: the larger
    later layers' gradients dilute it, so the check judges every array on its own."""
    d = run("2331", 21, bug="derivative_of_output_twice", layers=(0,))
    report = {r.name: r for r in d.arrays}
    assert d.aggregate_rel_error < report["weights[0]"].rel_error / 2
    assert not report["weights[0]"].ok and report["weights[0]"].rel_error > 0.05
    assert report["weights[0]"].deviation > 0.5  # off by more than half
    assert report["weights[1]"].ok and report["weights[2]"].ok
    assert d.first_wrong == "weights[0]" and d.bug == "derivative_of_output_twice"


def test_output_form_on_z_message_names_the_formulas():
    d = run("2331", 21, bug="derivative_of_preactivation", layers=(0, 1, 2))
    assert ("the derivative of the sigmoid is taken of the pre-activation instead of the output: "
            "z·(1−z) instead of a·(1−a)") in d.message


# --- Taylor remainder ----------------------------------------------------------------------------

def test_taylor_order_is_two_for_a_correct_gradient_and_one_for_a_wrong_one():
    good = run("2331", 21)
    bad = run("2331", 21, bug="missing_derivative", layers=(0, 1))
    assert 1.8 < good.taylor_order < 2.3
    assert 0.8 < bad.taylor_order < 1.3


def test_taylor_test_on_a_quadratic():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])

    def loss(params):
        w = params[0].ravel()
        return float(0.5 * w @ A @ w + w.sum())

    w = np.array([[0.3, -0.7]])
    grad = (A @ w.ravel() + 1.0).reshape(1, 2)
    assert taylor_test(loss, [w], [grad], 0).order == pytest.approx(2.0, abs=0.05)
    assert taylor_test(loss, [w], [1.1 * grad], 0).order == pytest.approx(1.0, abs=0.2)


# --- learning rate and optimizer state -----------------------------------------------------------

def _second_step(weights, biases, X, y, first, *, beta=0.0, lr=1.0):
    mw, mb = first
    w1 = [w - lr * g for w, g in zip(weights, mw)]
    b1 = None if biases is None else [b - lr * g for b, g in zip(biases, mb)]
    gw, gb = student_step(w1, b1, X, y)
    gw = [g + beta * m for g, m in zip(gw, mw)]
    if gb is not None:
        gb = [g + beta * m for g, m in zip(gb, mb)]
    return StepMeasurement(w1, b1, gw, gb)


@pytest.mark.parametrize("config", CONFIGS)
def test_plain_sgd_second_step_has_no_state(config):
    weights, biases, X, y = setup(config, 21)
    first = student_step(weights, biases, X, y)
    d = diagnose(weights, biases, X, y, *first,
                 second_step=_second_step(weights, biases, X, y, first))
    assert d.ok and d.optimizer_state is False and not d.findings and d.all_ok


def test_momentum_is_reported_as_a_finding_with_its_beta():
    weights, biases, X, y = setup("2441b", 21)
    first = student_step(weights, biases, X, y)
    d = diagnose(weights, biases, X, y, *first,
                 second_step=_second_step(weights, biases, X, y, first, beta=0.9))
    assert d.ok and d.optimizer_state is True and d.momentum == pytest.approx(0.9)
    assert "optimizer_state" in d.findings
    assert ("update() keeps state between steps (momentum or Adam?): the lab asks for plain "
            "gradient descent") in d.message


def test_second_step_in_the_probes_mapping_form():
    """The probes hand the second step as {weights_before, biases_before, weights, biases}."""
    weights, biases, X, y = setup("2441b", 21)
    first = student_step(weights, biases, X, y)
    step = _second_step(weights, biases, X, y, first, beta=0.9)
    d = diagnose(weights, biases, X, y, *first, second_step={
        "weights_before": step.weights, "biases_before": step.biases,
        "weights": step.measured_w, "biases": step.measured_b})
    assert d.ok and not d.all_ok and d.momentum == pytest.approx(0.9)
    assert d.to_dict()["all_ok"] is False


def test_accumulated_gradients_are_told_apart_from_momentum():
    weights, biases, X, y = setup("2331", 21)
    first = student_step(weights, biases, X, y)
    step = _second_step(weights, biases, X, y, first, beta=1.0)
    d = diagnose(weights, biases, X, y, *first, second_step=(step.weights, step.biases,
                                                              step.measured_w, None))
    assert "gradient_accumulates" in d.findings and "+=" in d.message


def test_adam_is_caught_on_the_first_step():
    d = run("2331", 21, bug="adaptive_optimizer")
    assert d.bug == "adaptive_optimizer" and "plain gradient descent" in d.hint


def test_learning_rate_linearity():
    weights, biases, X, y = setup("2331", 21)
    mw, mb = student_step(weights, biases, X, y)
    d = diagnose(weights, biases, X, y, mw, mb, lr_pair=((1.0, (mw, mb)), (0.5, (mw, mb))))
    assert d.linearity_error == 0.0 and not d.findings
    ignored = [2.0 * g for g in mw]  # the same step at lr 0.5 reads as twice the gradient
    d = diagnose(weights, biases, X, y, mw, mb, lr_pair=((1.0, mw), (0.5, ignored)))
    assert d.ok and "lr_not_linear" in d.findings and "ignores lr" in d.message
    d = diagnose(weights, biases, X, y, mw, mb, lr_pair=1e-3)
    assert d.linearity_error == 1e-3 and "lr_not_linear" in d.findings


# --- report --------------------------------------------------------------------------------------

def test_to_dict_is_json_and_has_the_layers():
    d = run("2441b", 21, bug="transposed_weights", layers=(1,))
    data = json.loads(json.dumps(d.to_dict()))
    assert data["bug"] == "transposed_weights" and data["ok"] is False
    assert [x["name"] for x in data["layers"]] == [
        "weights[0]", "weights[1]", "weights[2]", "biases[0]", "biases[1]", "biases[2]"]
    assert data["layers"][0]["shape"] == [2, 4]
    assert isinstance(data["scale"], float) and isinstance(data["layers"][0]["rel_error"], float)


def test_transposed_storage_is_reported_not_judged():
    weights, biases, X, y = setup("2331", 21)
    mw, _ = student_step(weights, biases, X, y)
    d = diagnose(weights, biases, X, y, mw, None, transposed=[True, False, True])
    assert d.ok and d.arrays[0].stored_transposed is True
    assert any("stored transposed" in n for n in d.notes)


def test_same_inputs_same_diagnosis():
    one = run("2441b", 21, bug="missing_derivative", layers=(0,)).to_dict()
    two = run("2441b", 21, bug="missing_derivative", layers=(0,)).to_dict()
    assert one == two
    assert isinstance(run("2331", 1), GradientDiagnosis)


def test_inconsistent_shapes_are_the_callers_error():
    weights, biases, X, y = setup("2331", 21)
    mw, _ = student_step(weights, biases, X, y)
    with pytest.raises(ValueError, match="weights\\[0\\]"):
        diagnose(weights, biases, X, y, [mw[0].T, mw[1], mw[2]], None)


# --- test weights --------------------------------------------------------------------------------

@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("config", CONFIGS)
def test_well_conditioned_weights_keep_preactivations_of_order_one(act, config):
    dims, bias = CONFIGS[config]
    weights, biases = well_conditioned_weights(dims, 3, bias=bias, activation=act,
                                               output="sigmoid")
    assert [w.shape for w in weights] == list(zip(dims, dims[1:]))
    assert (biases is None) == (not bias)
    X_lin, _ = generate_linear(100, rng=np.random.default_rng(11))
    X = np.vstack([X_XOR, X_lin])
    _, cache = forward(weights, X, act, "sigmoid", biases)
    near_origin = X.sum(axis=1) < 0.1
    for l, z in enumerate(cache.preactivations):
        assert np.abs(z).max() <= 4.0  # far from saturation (sigmoid'(4) = 0.018)
        if l < len(weights) - 1:  # hidden: away from 0 (a ReLU kink), except at the origin
            keep = np.ones(len(X), bool) if bias else ~near_origin
            assert np.abs(z[keep]).min() > 0.05, (l, np.abs(z[keep]).min())
            assert np.abs(z).max() > 1.0  # order one, not 0.01
        if act == "relu" and l < len(weights) - 1:
            assert np.any(z > 0) and np.any(z < 0)  # live units and dead ones


def test_well_conditioned_weights_are_deterministic():
    a = well_conditioned_weights([2, 4, 4, 1], 7, bias=True)
    b = well_conditioned_weights([2, 4, 4, 1], np.random.default_rng(7), bias=True)
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        np.testing.assert_array_equal(x, y)


def _read_back(before, after, lr):
    return [(b - a) / lr for b, a in zip(before, after)]


@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
def test_a_correct_student_passes_under_every_grading_seed(bias):
    """What the gradient check does, with the rounding of a real run: the test weights of many
    grading seeds, two SGD steps of lr 1 read back as ``(W_before - W_after) / lr``.  The
    second step must never look like optimizer state, whatever the seed (the weights must not
    be so large that one step saturates the output)."""
    X_all, Y_all = generate_XOR_easy()
    wrong = []
    for seed in range(40):
        rng = np.random.default_rng([seed, 99])
        weights, biases = dg.well_conditioned_weights([2, 3, 3, 1], rng, bias=bias)
        for X, y in ((X_all[5:6], Y_all[5:6]), (X_all[::5], Y_all[::5])):
            params = list(weights) + (list(biases) if bias else [])
            gw, gb = student_step(weights, biases, X, y)
            first = gw + (gb if bias else [])
            after = [p - g for p, g in zip(params, first)]
            w1, b1 = after[:3], (after[3:] if bias else None)
            gw2, gb2 = student_step(w1, b1, X, y)
            second = [p - g for p, g in zip(after, gw2 + (gb2 if bias else []))]
            m1, m2 = _read_back(params, after, 1.0), _read_back(after, second, 1.0)
            d = diagnose(weights, biases, X, y, m1[:3], m1[3:] if bias else None,
                         second_step=StepMeasurement(w1, b1, m2[:3], m2[3:] if bias else None))
            if not (d.ok and d.optimizer_state is False):
                wrong.append((seed, len(X), d.message))
    assert not wrong, wrong[:3]


def test_an_array_nearly_right_is_told_so_not_called_1x_the_size():
    weights, biases, X, y = setup("2331", 21)
    mw, mb = student_step(weights, biases, X, y, convention="sum")
    mw[2] = mw[2] * (1 + 3e-4 * np.array([[1.0], [-1.0], [0.5]]))
    d = diagnose(weights, biases, X, y, mw, mb, hidden="sigmoid", output="sigmoid")
    assert not d.ok and d.first_wrong == "weights[2]", d.message
    assert "close to the correct one but not within the tolerance" in d.message
    assert "1x" not in d.message and "scaled by 1:" not in d.hint


def test_a_bias_the_network_does_not_have_is_not_judged():
    weights, biases, X, y = setup("2441b", 21)
    biases = [b if l < 2 else np.zeros_like(b) for l, b in enumerate(biases)]
    mw, mb = student_step(weights, biases, X, y, convention="sum")
    mb[2] = np.zeros_like(mb[2])  # no output bias: nothing moves there
    assert not diagnose(weights, biases, X, y, mw, mb, hidden="sigmoid", output="sigmoid").ok
    d = diagnose(weights, biases, X, y, mw, mb, hidden="sigmoid", output="sigmoid",
                 absent_biases=[2])
    assert d.ok, d.message
    mw[1] = -mw[1]  # and a real bug is still found
    assert not diagnose(weights, biases, X, y, mw, mb, hidden="sigmoid", output="sigmoid",
                        absent_biases=[2]).ok


def test_a_layout_with_a_bias_on_the_hidden_layers_only_names_the_absent_one():
    from grader.layout import candidate_layouts

    params = [("W1", (2, 3)), ("b1", (3,)), ("W2", (3, 3)), ("b2", (3,)), ("W3", (3, 1))]
    layout = next(l for l in candidate_layouts(params, (2, 3, 3, 1))
                  if [s.role for s in l.slots] == ["weight", "bias", "weight", "bias", "weight"]
                  and [s.layer for s in l.slots] == [0, 0, 1, 1, 2])
    assert layout.absent_biases == [2]


def test_a_softmax_delta_times_a_sigmoid_derivative_is_named():
    """Example 2 of the [3,4,4,2] tutorial with g3 = a3 (1 - a3) instead of 1: the student's
    step, computed here by hand, is named by its bug."""
    rng = np.random.default_rng(3)
    widths = [3, 4, 4, 2]
    weights = [rng.uniform(-1, 1, (a, b)) for a, b in zip(widths, widths[1:])]
    biases = [rng.uniform(-0.5, 0.5, (1, b)) for b in widths[1:]]
    X = rng.uniform(-1, 1, (6, 3))
    Y = np.eye(2)[rng.integers(0, 2, 6)]
    a1 = np.maximum(0, X @ weights[0] + biases[0])
    a2 = np.maximum(0, a1 @ weights[1] + biases[1])
    z3 = a2 @ weights[2] + biases[2]
    p = np.exp(z3 - z3.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d3 = (p - Y) * p * (1 - p)  # the bug
    d2 = (d3 @ weights[2].T) * (a2 > 0)
    d1 = (d2 @ weights[1].T) * (a1 > 0)
    mw = [X.T @ d1, a1.T @ d2, a2.T @ d3]
    mb = [d.sum(axis=0, keepdims=True) for d in (d1, d2, d3)]
    d = diagnose(weights, biases, X, Y, mw, mb, hidden="relu", output="softmax", loss="cce")
    assert not d.ok and d.bug == "softmax_derivative", d.message
    assert "the softmax's delta is multiplied by y_pred·(1 − y_pred)" in d.message
