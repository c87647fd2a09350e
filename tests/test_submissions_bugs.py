"""Ground truth of the style and bug samples in ``submissions/lab1/`` (see ``submissions/lab1/README.md``).

Each sample is a whole student script.  Only its imports, functions and classes are kept (with
:mod:`ast`) and exec'd in a fresh namespace: the module-level training code never runs here.
Every sample stores its parameters its own way (lists, ``W1``..``b3`` attributes, layer objects,
a dict, transposed matrices, bias rows folded into the weights), so each has a hand-written
:class:`Layout` that writes the reference's parameters into the student's object and reads them
back.  Parameters are named as in the reference: ``W1 W2 W3`` of shapes (2, 3), (3, 3), (3, 1)
and ``b1 b2 b3`` of shapes (1, 3), (1, 3), (1, 1).

Then one step of the student's own methods (forward, backward, update with ``lr``) is taken from
the same parameters as :func:`reference.network.backward`, and the applied gradient
``(before - after) / lr`` is compared with the reference gradient of the lab's MSE, array by
array, after fitting one scale factor on the output layer's weights (NOTES.md, "Gradient
checking"): correct samples match a positive multiple of it (the documented factor), and every
bug sample matches its own documented bug model exactly, with exactly the documented arrays off.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from reference import lab1 as ref_lab1
from reference import network as ref_net
from reference.activations import sigmoid as ref_sigmoid
from tests_support import SANDBOX_ONLY_SAMPLES

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = ROOT / "submissions" / "lab1"
README = SUBMISSIONS / "README.md"

ORIGINAL_SAMPLES = {"DLP_LAB1_0856001_Chen.py", "DLP_LAB1_0856017_王小明.ipynb",
                    "DLP_LAB1_0856042_Lin.py", "DLP_LAB1_0856105_Huang.py"}
"""Checked by ``test_submissions_samples.py``."""

DIM = [2, 3, 3, 1]
NAMES = ("W1", "W2", "W3", "b1", "b2", "b3")
WEIGHT_NAMES = NAMES[:3]
BIAS_NAMES = NAMES[3:]
LR = 1.0  # a power of two of order 1: (before - after) / lr is then exact (NOTES.md)
EXACT = 1e-9  # relative error of a correct array (measured ~1e-15)
OFF = 0.05  # relative error above which an array is "off" (real bugs measure 0.1 to 1)
KEPT_NODES = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
CHECKS = ("interface", "forward", "gradient", "train_linear", "train_xor", "numpy_only", "program")
ALLOWED_MODULES = {"numpy", "matplotlib"}

Params = dict[str, np.ndarray]


# --- loading ------------------------------------------------------------------------------------

def load_definitions(path: Path) -> dict:
    """Exec only the top-level imports, functions and classes of a sample, in a fresh namespace."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    module = ast.Module(body=[n for n in tree.body if isinstance(n, KEPT_NODES)], type_ignores=[])
    namespace: dict = {"__name__": "student_submission"}
    exec(compile(module, str(path), "exec"), namespace)  # noqa: S102 -- our own samples
    return namespace


@pytest.fixture(autouse=True)
def _keep_numpy_global_rng():
    """The samples' constructors draw from np.random's global state: restore it afterwards."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


# --- parameter layouts --------------------------------------------------------------------------

def _copy(a) -> np.ndarray:
    return np.array(a, dtype=float, copy=True)


@dataclass
class Layout:
    """How one sample stores its parameters and names its methods.

    ``forward(model, X)`` returns the probabilities as (N, 1); ``learn(model, Y, lr)`` is the
    sample's backward pass and update with learning rate ``lr``.
    """

    make: Callable[[dict], Any]
    write: Callable[[Any, Params], None]
    read: Callable[[Any], Params]
    forward: Callable[[Any, np.ndarray], np.ndarray]
    learn: Callable[[Any, np.ndarray, float], None]
    bias: bool
    batch: bool
    """Whether predict/backprop work on a batch (N, 2) as well as on one sample (1, 2)."""


def template(cls: str = "NN", biases: str | None = None, batch: bool = True) -> Layout:
    """The TA template: ``cls(dim=...)``, ``weights`` list (+ optional bias list),
    ``predict(X)``, ``backprop(y)``, ``update(lr)``."""

    def write(m, p):
        m.weights = [_copy(p[n]) for n in WEIGHT_NAMES]
        if biases:
            setattr(m, biases, [_copy(p[n]) for n in BIAS_NAMES])

    def read(m):
        out = {n: _copy(w) for n, w in zip(WEIGHT_NAMES, m.weights)}
        if biases:
            out.update({n: _copy(b) for n, b in zip(BIAS_NAMES, getattr(m, biases))})
        return out

    def learn(m, Y, lr):
        m.backprop(Y)
        m.update(lr)

    return Layout(make=lambda ns: ns[cls](dim=DIM), write=write, read=read,
                  forward=lambda m, X: np.asarray(m.predict(X)), learn=learn,
                  bias=biases is not None, batch=batch)


def _tsai() -> Layout:
    """``Net()``: attributes W1..W3 (in, out) and 1-D b1..b3; forward / backward / step(lr)."""

    def write(m, p):
        for n in WEIGHT_NAMES:
            setattr(m, n, _copy(p[n]))
        for n in BIAS_NAMES:
            setattr(m, n, _copy(p[n]).reshape(-1))

    def read(m):
        out = {n: _copy(getattr(m, n)) for n in WEIGHT_NAMES}
        out.update({n: _copy(getattr(m, n)).reshape(1, -1) for n in BIAS_NAMES})
        return out

    def learn(m, Y, lr):
        m.backward(Y)
        m.step(lr)

    return Layout(make=lambda ns: ns["Net"](), write=write, read=read,
                  forward=lambda m, X: m.forward(X), learn=learn, bias=True, batch=True)


def _kuo() -> Layout:
    """``Model(dim=...)``: ``layers[i].weight`` (in, out) and ``.bias`` (1, out) of ``Dense``
    objects; forward / backward(y) / update(lr)."""

    def write(m, p):
        for layer, w, b in zip(m.layers, WEIGHT_NAMES, BIAS_NAMES):
            layer.weight, layer.bias = _copy(p[w]), _copy(p[b])

    def read(m):
        out = {}
        for layer, w, b in zip(m.layers, WEIGHT_NAMES, BIAS_NAMES):
            out[w], out[b] = _copy(layer.weight), _copy(layer.bias)
        return out

    def learn(m, Y, lr):
        m.backward(Y)
        m.update(lr)

    return Layout(make=lambda ns: ns["Model"](dim=DIM), write=write, read=read,
                  forward=lambda m, X: m.forward(X), learn=learn, bias=True, batch=True)


def _hsu() -> Layout:
    """``NN(dim, lr=0.8)``, no bias, one sample at a time as 1-D vectors, ``update()`` without
    an argument (the rate is ``self.lr``)."""
    base = template()

    def learn(m, Y, lr):
        m.backprop(Y)
        m.lr = lr
        m.update()

    return Layout(make=lambda ns: ns["NN"](DIM, lr=0.8), write=base.write, read=base.read,
                  forward=lambda m, X: np.asarray(m.predict(X)).reshape(1, -1), learn=learn,
                  bias=False, batch=False)


def _yang() -> Layout:
    """``NN(dim)`` storing ``W[l]`` transposed (out, in) and ``b[l]`` as columns (out, 1);
    ``predict`` takes rows (N, 2) and transposes internally."""

    def write(m, p):
        m.W = [_copy(p[n]).T.copy() for n in WEIGHT_NAMES]
        m.b = [_copy(p[n]).T.copy() for n in BIAS_NAMES]

    def read(m):
        out = {n: _copy(w).T for n, w in zip(WEIGHT_NAMES, m.W)}
        out.update({n: _copy(b).T for n, b in zip(BIAS_NAMES, m.b)})
        return out

    base = template()
    return Layout(make=lambda ns: ns["NN"](DIM), write=write, read=read,
                  forward=base.forward, learn=base.learn, bias=True, batch=True)


def _liao() -> Layout:
    """``SimpleNet(sizes)``: ``w[l]`` of shape (in + 1, out), the last row is the bias;
    ``feed_forward(x)``, ``back_propagation(y, lr)`` updates in place (no update method)."""

    def write(m, p):
        m.w = [np.vstack([_copy(p[w]), _copy(p[b])]) for w, b in zip(WEIGHT_NAMES, BIAS_NAMES)]

    def read(m):
        out = {}
        for w_name, b_name, w in zip(WEIGHT_NAMES, BIAS_NAMES, m.w):
            out[w_name], out[b_name] = _copy(w[:-1]), _copy(w[-1:])
        return out

    return Layout(make=lambda ns: ns["SimpleNet"](DIM), write=write, read=read,
                  forward=lambda m, X: m.feed_forward(X),
                  learn=lambda m, Y, lr: m.back_propagation(Y, lr), bias=True, batch=True)


def _chang() -> Layout:
    """``NeuralNetwork(layer_dims)``: ``parameters['W1']`` (in, out), ``parameters['b1']``
    (1, out); ``forwardPass(X)`` returns ``(A3, cache)``, ``backwardPass(Y, cache)``,
    ``update(lr)``."""

    def write(m, p):
        m.parameters = {n: _copy(p[n]) for n in NAMES}

    def read(m):
        return {n: _copy(m.parameters[n]) for n in NAMES}

    caches: dict[int, Any] = {}

    def forward(m, X):
        out, caches[id(m)] = m.forwardPass(X)
        return out

    def learn(m, Y, lr):
        m.backwardPass(Y, caches.pop(id(m)))
        m.update(lr)

    return Layout(make=lambda ns: ns["NeuralNetwork"](DIM), write=write, read=read,
                  forward=forward, learn=learn, bias=True, batch=True)


# --- the reference and the bug models -----------------------------------------------------------

def reference_gradient(p: Params, X, Y, loss: str = "mse") -> Params:
    """dL/dparams of the reference (the lab's MSE: mean over all elements)."""
    W = [p[n] for n in WEIGHT_NAMES]
    b = [p[n] for n in BIAS_NAMES] if "b1" in p else None
    _, cache = ref_net.forward(W, X, "sigmoid", biases=b)
    gw, gb = ref_net.backward(W, cache, Y, loss, "sigmoid")
    out = dict(zip(WEIGHT_NAMES, gw))
    if b is not None:
        out.update(zip(BIAS_NAMES, gb))
    return out


def model_gradient(p: Params, X, Y, *,
                   out_delta: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                   hidden_prime: Callable[[np.ndarray, np.ndarray], np.ndarray],
                   backward_matrix: Callable[[int, np.ndarray], np.ndarray] = lambda l, W: W.T,
                   ) -> Params:
    """Backprop written out with hooks, to state each bug exactly.

    ``out_delta(p, z3, y)`` is the output layer's delta, ``hidden_prime(a, z)`` the factor
    applied to a hidden layer's back-propagated error, ``backward_matrix(l, W_l)`` the matrix
    that carries the error from layer ``l`` (0-based) back to layer ``l - 1``.
    """
    W = [p[n] for n in WEIGHT_NAMES]
    b = [p[n] for n in BIAS_NAMES] if "b1" in p else [0.0] * 3
    a, z = [np.asarray(X, dtype=float)], []
    for Wl, bl in zip(W, b):
        z.append(a[-1] @ Wl + bl)
        a.append(ref_sigmoid(z[-1]))
    delta = out_delta(a[-1], z[-1], np.asarray(Y, dtype=float).reshape(a[-1].shape))
    out: Params = {}
    for l in (2, 1, 0):
        out[WEIGHT_NAMES[l]] = a[l].T @ delta
        out[BIAS_NAMES[l]] = delta.sum(axis=0, keepdims=True)
        if l:
            delta = (delta @ backward_matrix(l, W[l])) * hidden_prime(a[l], z[l - 1])
    return {n: g for n, g in out.items() if n in p}


def sigmoid_prime(a, z):
    return a * (1 - a)


def mse_delta(p, z, y):
    return 2 * (p - y) / p.size * p * (1 - p)


def scaled(names: tuple[str, ...], factor: Callable[[int], float]) -> Callable:
    """The reference gradient with the arrays ``names`` multiplied by ``factor(N)``."""

    def model(p, X, Y):
        g = reference_gradient(p, X, Y)
        return {n: v * factor(len(X)) if n in names else v for n, v in g.items()}

    return model


# The bugs, each exactly as the sample's code computes it (see submissions/lab1/README.md).
BUG_MODELS: dict[str, Callable[[Params, Any, Any], Params]] = {
    # sigma'(z) computed with the output formula z (1 - z) at the pre-activation, every layer
    "lee": lambda p, X, Y: model_gradient(
        p, X, Y, out_delta=lambda a, z, y: 2 * (a - y) / a.size * z * (1 - z),
        hidden_prime=lambda a, z: z * (1 - z)),
    # no activation derivative in the hidden layers (the output layer has it)
    "cheng": lambda p, X, Y: model_gradient(
        p, X, Y, out_delta=lambda a, z, y: 2 * (a - y) * a * (1 - a),
        hidden_prime=lambda a, z: 1.0),
    # multiplies by sigma (the activation) instead of sigma', every layer
    "hung": lambda p, X, Y: model_gradient(
        p, X, Y, out_delta=lambda a, z, y: 2 * (a - y) / len(y) * a,
        hidden_prime=lambda a, z: a),
    # delta2 @ W2 instead of delta2 @ W2.T for the square 3x3 matrix
    "tseng": lambda p, X, Y: model_gradient(
        p, X, Y, out_delta=mse_delta, hidden_prime=sigmoid_prime,
        backward_matrix=lambda l, W: W if l == 1 else W.T),
    # bias gradients averaged over the batch (an extra 1/N)
    "lu": scaled(BIAS_NAMES, lambda n: 1.0 / n),
    # the 1/m is missing in the first layer's gradient (N times too large)
    "ko": scaled(("W1",), lambda n: float(n)),
    # binary cross-entropy through the sigmoid: output delta (y_pred - y) / N, no sigma'
    "chou": lambda p, X, Y: model_gradient(
        p, X, Y, out_delta=lambda a, z, y: (a - y) / len(y), hidden_prime=sigmoid_prime),
}


# --- the samples --------------------------------------------------------------------------------

@dataclass
class Sample:
    file: str
    layout: Layout
    factor: tuple[float | str, float | str | None]
    """The applied gradient as a multiple of the reference's, on one sample and on a batch of
    N (None: not batch-capable; "N", "N/2": that multiple of the batch size; "bug": see
    ``bug``).  For a bug sample: its documented factor where it is proportional."""
    bug: str | None = None
    off: tuple[tuple[str, ...], tuple[str, ...] | None] = ((), ())
    """The arrays that are off on one sample and on a batch (None: not batch-capable); every
    other array is exact, except the ``loose`` ones."""
    loose: tuple[str, ...] = ()
    """Arrays whose error on a batch depends on how much the predictions differ across it."""
    verdicts: dict[str, str] = field(default_factory=dict)


def V(**changes: str) -> dict[str, str]:
    """The verdicts: everything passes except ``changes``."""
    verdicts = dict.fromkeys(CHECKS, "pass")
    verdicts.update(changes)
    return verdicts


SAMPLES = {s.file: s for s in [
    # --- correct, in seven styles ---
    Sample("DLP_LAB1_0856003_Wu.py", template(biases="biases"), (1.0, 1.0), verdicts=V()),
    Sample("DLP_LAB1_0856011_Tsai.py", _tsai(), (1.0, 1.0), verdicts=V()),
    Sample("DLP_LAB1_0856023_Kuo.py", _kuo(), (1.0, 1.0), verdicts=V()),
    Sample("DLP_LAB1_0856037_Hsu.py", _hsu(), (0.5, None), off=((), None), verdicts=V()),
    Sample("DLP_LAB1_0856049_Yang.py", _yang(), (1.0, 1.0), verdicts=V()),
    Sample("DLP_LAB1_0856058_Liao.py", _liao(), (1.0, "N"), verdicts=V()),
    Sample("DLP_LAB1_0856064_Chang.py", _chang(), (0.5, 0.5), verdicts=V()),
    # --- one bug each ---
    Sample("DLP_LAB1_0856071_Lee.py", template(batch=False), ("bug", None), bug="lee",
           off=(("W1", "W2"), None), verdicts=V(gradient="fail", train_linear="fail",
                                                 train_xor="fail")),
    Sample("DLP_LAB1_0856082_Cheng.py", template(), (1.0, "N"), bug="cheng",
           off=(("W1", "W2"), ("W1", "W2")),
           verdicts=V(gradient="fail", train_linear="fail", train_xor="fail")),
    Sample("DLP_LAB1_0856093_Hung.py", template(), ("bug", "bug"), bug="hung",
           off=(("W1", "W2"), ("W1", "W2")), loose=("W3",),
           verdicts=V(gradient="fail", train_linear="fail", train_xor="fail")),
    Sample("DLP_LAB1_0856107_Tseng.py", template(), (1.0, 1.0), bug="tseng",
           off=(("W1",), ("W1",)), verdicts=V(gradient="fail", train_xor="fail")),
    Sample("DLP_LAB1_0856118_Lu.py", template("Dense", biases="biases"), (1.0, 1.0), bug="lu",
           off=((), BIAS_NAMES), verdicts=V(gradient="fail")),
    Sample("DLP_LAB1_0856129_Ko.py", template(), (1.0, 1.0), bug="ko",
           off=((), ("W1",)), verdicts=V(gradient="fail")),
    Sample("DLP_LAB1_0856131_Chou.py", template(), ("bug", "bug"), bug="chou",
           off=((), ()), loose=WEIGHT_NAMES, verdicts=V(gradient="fail")),
    Sample("DLP_LAB1_0856142_Hsieh.py", template(batch=False), (1.0, None),
           off=((), None), verdicts=V(gradient="fail", train_linear="fail")),
    Sample("DLP_LAB1_0856153_Su.py", template(), (1.0, 1.0),
           verdicts=V(numpy_only="fail")),
    Sample("DLP_LAB1_0856164_Pan.py", template(), ("zero", "zero"),
           verdicts=V(forward="fail", gradient="fail", train_linear="fail", train_xor="fail")),
    Sample("DLP_LAB1_0856175_Lai.py", template(batch=False), (1.0, None), off=((), None),
           verdicts=V(program="error")),
    Sample("DLP_LAB1_0856186_Kao.py", template(batch=False), (1.0, None), off=((), None),
           verdicts=V(program="fail")),
]}
BUGGY = [s for s in SAMPLES.values() if s.bug]
PROPORTIONAL = [s for s in SAMPLES.values() if not s.bug and s.factor[0] != "zero"]


@pytest.fixture(scope="module")
def namespaces() -> dict[str, dict]:
    return {name: load_definitions(SUBMISSIONS / name) for name in SAMPLES}


def draw_params(rng: np.random.Generator, bias: bool) -> Params:
    """Weights U(-2, 2), biases U(-1, 1): hidden pre-activations of order 1 (NOTES.md)."""
    p = {n: rng.uniform(-2, 2, (a, b)) for n, a, b in zip(WEIGHT_NAMES, DIM, DIM[1:])}
    if bias:
        p.update({n: rng.uniform(-1, 1, (1, b)) for n, b in zip(BIAS_NAMES, DIM[1:])})
    return p


def cases(sample: Sample, batch: bool, count: int = 4):
    """(params, X, Y) drawn from a fixed seed; X: one point (1, 2) or a batch of 8."""
    rng = np.random.default_rng(sum(map(ord, sample.file)) + 1000 * batch)
    for _ in range(count):
        X = rng.uniform(0, 1, (8 if batch else 1, 2))
        Y = (X[:, :1] <= X[:, 1:]).astype(float)
        yield draw_params(rng, sample.layout.bias), X, Y


def applied_gradient(sample: Sample, ns: dict, p: Params, X, Y, lr: float = LR):
    """(prediction, (before - after) / lr) for one forward + backward + update of the sample."""
    layout = sample.layout
    model = layout.make(ns)
    layout.write(model, p)
    pred = np.asarray(layout.forward(model, X), dtype=float).reshape(len(X), -1)
    layout.learn(model, Y, lr)
    after = layout.read(model)
    assert set(after) == set(p)
    return pred, {n: (p[n] - after[n]) / lr for n in p}, model


def relative_errors(g: Params, r: Params) -> tuple[float, dict[str, float]]:
    """Scale fitted on W3 (least squares), then ``||g - c r|| / (||g|| + ||c r||)`` per array."""
    c = float(np.vdot(g["W3"], r["W3"]) / np.vdot(r["W3"], r["W3"]))
    errors = {}
    for n in g:
        a, b = g[n], c * r[n]
        denom = np.linalg.norm(a) + np.linalg.norm(b)
        errors[n] = 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)
    return c, errors


def expected_factor(factor: float | str, n: int) -> float:
    return {"N": float(n), "N/2": n / 2}.get(factor, factor) if isinstance(factor, str) \
        else float(factor)


# --- the files and the README -------------------------------------------------------------------

def readme_rows() -> dict[str, str]:
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*\d+\s*\|\s*`([^`]+)`\s*\|", line)
        if match:
            assert match.group(1) not in rows, f"two README rows for {match.group(1)}"
            rows[match.group(1)] = line
    return rows


def test_every_new_sample_is_on_disk_in_the_readme_and_here():
    on_disk = {p.name for p in SUBMISSIONS.iterdir() if p.name != "README.md"
               and (p.is_file() or not p.name.startswith(("_", ".")))}
    documented = set(readme_rows())
    assert on_disk == documented, "document every sample in submissions/lab1/README.md"
    assert documented - ORIGINAL_SAMPLES - SANDBOX_ONLY_SAMPLES == set(SAMPLES), \
        "and give it a Sample entry here (or in test_verdicts_hold.py)"
    for name in SAMPLES:
        assert re.match(r"DLP_LAB1_\d{7}_[^\W\d_]+\.py$", name), name


@pytest.mark.parametrize("name", list(SAMPLES))
def test_readme_states_the_verdict_of_every_check(name):
    """The README row lists each check as `check` **verdict** (or plain verdict), with a reason."""
    row = readme_rows()[name]
    pairs = re.findall(r"`(" + "|".join(CHECKS) + r")`:?\s*\**(pass|fail|error)\**", row)
    assert len(pairs) == len(CHECKS), f"README row of {name}: each check once, {pairs}"
    assert dict(pairs) == SAMPLES[name].verdicts, f"README row of {name}"


@pytest.mark.parametrize("name", list(SAMPLES))
def test_the_whole_file_compiles(name):
    compile((SUBMISSIONS / name).read_text(encoding="utf-8"), name, "exec")


# --- numpy_only: a static audit of every import -------------------------------------------------

def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module the file imports, anywhere (guarded imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


@pytest.mark.parametrize("name", list(SAMPLES))
def test_numpy_only(name):
    forbidden = imported_modules(SUBMISSIONS / name) - ALLOWED_MODULES - set(
        sys.stdlib_module_names)
    expected = {"torch"} if SAMPLES[name].verdicts["numpy_only"] == "fail" else set()
    assert forbidden == expected


def test_the_guarded_torch_import_is_a_module_level_try():
    tree = ast.parse((SUBMISSIONS / "DLP_LAB1_0856153_Su.py").read_text(encoding="utf-8"))
    [guard] = [n for n in tree.body if isinstance(n, ast.Try)]
    assert [a.name for a in guard.body[0].names] == ["torch"]
    assert guard.handlers[0].type.id == "ImportError"


# --- forward ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n, s in SAMPLES.items() if s.verdicts["forward"] == "pass"])
def test_forward_matches_the_reference(name, namespaces):
    sample = SAMPLES[name]
    for batch in (False, True) if sample.layout.batch else (False,):
        for p, X, Y in cases(sample, batch):
            pred, _, _ = applied_gradient(sample, namespaces[name], p, X, Y)
            W = [p[n] for n in WEIGHT_NAMES]
            b = [p[n] for n in BIAS_NAMES] if sample.layout.bias else None
            expected, _ = ref_net.forward(W, X, "sigmoid", biases=b)
            np.testing.assert_allclose(pred, expected, rtol=0, atol=1e-12)


def test_the_single_sample_only_network_refuses_a_batch(namespaces):
    """Hsu's predict flattens its input: it is written for one sample at a time."""
    sample = SAMPLES["DLP_LAB1_0856037_Hsu.py"]
    model = sample.layout.make(namespaces[sample.file])
    X, _ = ref_lab1.generate_XOR_easy()
    with pytest.raises(ValueError):
        model.predict(X)


# --- gradient: correct samples ------------------------------------------------------------------

@pytest.mark.parametrize("name", [s.file for s in PROPORTIONAL])
def test_correct_step_is_a_positive_multiple_of_the_reference_gradient(name, namespaces):
    sample = SAMPLES[name]
    for batch, factor in ((False, sample.factor[0]), (True, sample.factor[1])):
        if factor is None:
            continue
        for p, X, Y in cases(sample, batch):
            _, g, _ = applied_gradient(sample, namespaces[name], p, X, Y)
            r = reference_gradient(p, X, Y)
            assert all(np.max(np.abs(v)) > 1e-6 for v in r.values())  # not vacuous
            c, errors = relative_errors(g, r)
            assert c == pytest.approx(expected_factor(factor, len(X)), rel=1e-9), (batch, c)
            assert max(errors.values()) < EXACT, (batch, errors)


# --- gradient: the bugs -------------------------------------------------------------------------

def test_the_hook_model_without_hooks_is_the_reference():
    """model_gradient with the correct hooks reproduces reference.network.backward."""
    rng = np.random.default_rng(7)
    for bias in (False, True):
        p, X = draw_params(rng, bias), rng.uniform(0, 1, (5, 2))
        Y = (X[:, :1] > 0.5).astype(float)
        g = model_gradient(p, X, Y, out_delta=mse_delta, hidden_prime=sigmoid_prime)
        for n, v in reference_gradient(p, X, Y).items():
            np.testing.assert_allclose(g[n], v, rtol=0, atol=1e-14)


@pytest.mark.parametrize("name", [s.file for s in BUGGY])
def test_bug_step_is_the_documented_bug_and_only_the_documented_arrays_are_off(name, namespaces):
    sample = SAMPLES[name]
    for batch, off in ((False, sample.off[0]), (True, sample.off[1])):
        if off is None:
            continue
        for p, X, Y in cases(sample, batch):
            _, g, _ = applied_gradient(sample, namespaces[name], p, X, Y)
            expected = BUG_MODELS[sample.bug](p, X, Y)
            for n in p:
                scale = np.max(np.abs(expected[n]))
                np.testing.assert_allclose(g[n], expected[n], rtol=0, atol=1e-12 * max(1, scale),
                                           err_msg=f"{n}, batch={batch}")
            _, errors = relative_errors(g, reference_gradient(p, X, Y))
            loose = set(sample.loose) if batch else set()
            found_off = {n for n, e in errors.items() if e > OFF} - loose
            fine = {n for n, e in errors.items() if e < EXACT} - loose
            assert found_off == set(off), (batch, errors)
            assert fine == set(p) - set(off) - loose, (batch, errors)


def test_transposed_square_matrix_is_off_only_because_W2_is_not_symmetric(namespaces):
    """Tseng's bug vanishes for a symmetric W2: the test weights are what reveal it."""
    sample = SAMPLES["DLP_LAB1_0856107_Tseng.py"]
    p, X, Y = next(cases(sample, False))
    p["W2"] = (p["W2"] + p["W2"].T) / 2
    _, g, _ = applied_gradient(sample, namespaces[sample.file], p, X, Y)
    _, errors = relative_errors(g, reference_gradient(p, X, Y))
    assert max(errors.values()) < EXACT


def test_output_layer_factors_of_the_activation_bugs(namespaces):
    """On one sample the output layer is still proportional, with the bug's own factor:
    z3 (1 - z3) / sigma'(z3) for Lee (negative whenever z3 is outside (0, 1)), 1 / (1 - y_pred)
    for Hung; Cheng's output layer is exact."""
    factors = {"DLP_LAB1_0856071_Lee.py": lambda a, z: z * (1 - z) / (a * (1 - a)),
               "DLP_LAB1_0856093_Hung.py": lambda a, z: 1 / (1 - a),
               "DLP_LAB1_0856082_Cheng.py": lambda a, z: 1.0}
    signs = set()
    for name, factor in factors.items():
        sample = SAMPLES[name]
        for p, X, Y in cases(sample, False, count=8):
            pred, g, _ = applied_gradient(sample, namespaces[name], p, X, Y)
            a = pred.item()
            z = np.log(a / (1 - a))
            c, errors = relative_errors(g, reference_gradient(p, X, Y))
            assert c == pytest.approx(factor(a, z), rel=1e-6)
            assert errors["W3"] < EXACT
            if name.endswith("Lee.py"):
                signs.add(np.sign(c))
    assert signs == {-1.0, 1.0}, "the test weights should show Lee's factor with both signs"


def test_cross_entropy_is_proportional_per_sample_but_not_over_a_batch(namespaces):
    """Chou's step is the exact BCE gradient.  On one sample it is the MSE gradient times
    1 / (2 p (1 - p)), a factor that changes from sample to sample (a one-sample check with a
    free factor passes it); over a batch no single factor fits."""
    sample = SAMPLES["DLP_LAB1_0856131_Chou.py"]
    ns = namespaces[sample.file]
    factors = []
    for p, X, Y in cases(sample, False, count=6):
        pred, g, _ = applied_gradient(sample, ns, p, X, Y)
        c, errors = relative_errors(g, reference_gradient(p, X, Y))
        a = pred.item()
        assert c == pytest.approx(1 / (2 * a * (1 - a)), rel=1e-9)
        assert max(errors.values()) < EXACT
        factors.append(c)
    assert max(factors) / min(factors) > 1.5
    for p, X, Y in cases(sample, True):
        _, g, _ = applied_gradient(sample, ns, p, X, Y)
        bce = reference_gradient(p, X, Y, loss="bce")
        for n in p:
            np.testing.assert_allclose(g[n], bce[n], rtol=0, atol=1e-12)


def test_bias_averaging_and_missing_one_over_n_scale_by_the_batch_size(namespaces):
    """Lu's biases move 1/N of the reference's step, Ko's W1 moves N times it; all else exact."""
    for name, arrays, factor in (("DLP_LAB1_0856118_Lu.py", BIAS_NAMES, lambda n: 1 / n),
                                 ("DLP_LAB1_0856129_Ko.py", ("W1",), lambda n: n)):
        sample = SAMPLES[name]
        for p, X, Y in cases(sample, True, count=2):
            _, g, _ = applied_gradient(sample, namespaces[name], p, X, Y)
            r = reference_gradient(p, X, Y)
            for n in p:
                k = factor(len(X)) if n in arrays else 1.0
                np.testing.assert_allclose(g[n], k * r[n], rtol=1e-9, atol=1e-14)


def test_momentum_first_step_is_sgd_and_the_second_is_not(namespaces):
    """Hsieh's update keeps a velocity (momentum 0.9): step 1 equals plain descent, step 2 moves
    lr * (g2 + 0.9 g1) instead of lr * g2."""
    sample = SAMPLES["DLP_LAB1_0856142_Hsieh.py"]
    ns = namespaces[sample.file]
    for p, X, Y in cases(sample, False, count=3):
        model = sample.layout.make(ns)
        sample.layout.write(model, p)
        sample.layout.forward(model, X)
        sample.layout.learn(model, Y, LR)
        p1 = sample.layout.read(model)
        g1 = reference_gradient(p, X, Y)
        for n in p:
            np.testing.assert_allclose((p[n] - p1[n]) / LR, g1[n], rtol=0, atol=1e-12)
        x2, y2 = np.array([[0.3, 0.8]]), np.array([[1.0]])
        sample.layout.forward(model, x2)
        sample.layout.learn(model, y2, LR)
        p2 = sample.layout.read(model)
        step2 = {n: (p1[n] - p2[n]) / LR for n in p}
        g2 = reference_gradient(p1, x2, y2)
        for n in p:
            np.testing.assert_allclose(step2[n], g2[n] + 0.9 * g1[n], rtol=0, atol=1e-12)
        _, errors = relative_errors(step2, g2)
        assert max(errors.values()) > OFF, errors


# --- the hard-coded answers ---------------------------------------------------------------------

def test_hardcoded_predictions_are_right_and_nothing_ever_moves(namespaces):
    """Pan's predict returns labels from a rule on the inputs; the gradient it applies is 0."""
    sample = SAMPLES["DLP_LAB1_0856164_Pan.py"]
    ns = namespaces[sample.file]
    datasets = [ref_lab1.generate_XOR_easy(),
                ref_lab1.generate_linear(200, rng=np.random.default_rng(5))]
    for X, Y in datasets:
        model = sample.layout.make(ns)
        before = sample.layout.read(model)
        np.testing.assert_array_equal(model.predict(X), Y)
        for i in range(len(X)):  # the lab's per-sample loop, one pass
            model.predict(X[i:i + 1])
            model.backprop(Y[i:i + 1])
            model.update(0.8)
            np.testing.assert_array_equal(model.predict(X[i:i + 1]), Y[i:i + 1])
        after = sample.layout.read(model)
        for n in before:
            np.testing.assert_array_equal(after[n], before[n])
        # and its output is not the network's forward pass
        W = [before[n] for n in WEIGHT_NAMES]
        expected, _ = ref_net.forward(W, X, "sigmoid")
        assert np.max(np.abs(model.predict(X) - expected)) > 0.1
    for p, X, Y in cases(sample, True, count=2):
        _, g, _ = applied_gradient(sample, ns, p, X, Y)
        assert all(not v.any() for v in g.values())
        assert all(np.abs(v).max() > 1e-6 for v in reference_gradient(p, X, Y).values())


# --- program: what the whole script does at the end ---------------------------------------------

def calls(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.append(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return names


def prints_accuracy(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str) \
                        and "accuracy" in sub.value.lower():
                    return True
    return False


def top_level_code(tree: ast.Module) -> list[ast.stmt]:
    """What runs as a script: the module-level statements and the bodies of the module's
    functions they call (``main()``, ``run(...)``), transitively."""
    body = [n for n in tree.body if not isinstance(n, KEPT_NODES)]
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    seen: set[str] = set()
    while True:
        called = set(calls(ast.Module(body=body, type_ignores=[]))) & set(functions) - seen
        if not called:
            return body
        for name in sorted(called):
            body = body + functions[name].body
        seen |= called


@pytest.mark.parametrize("name", list(SAMPLES))
def test_the_program_prints_the_accuracy_and_draws_unless_documented(name):
    tree = ast.parse((SUBMISSIONS / name).read_text(encoding="utf-8"))
    script = ast.Module(body=top_level_code(tree), type_ignores=[])
    draws = {"show", "show_result", "plot_result"} & set(calls(script))
    if name.endswith("Kao.py"):
        assert not prints_accuracy(script) and not draws
        assert not any(isinstance(n, (ast.Import, ast.ImportFrom)) and "matplotlib" in ast.dump(n)
                       for n in tree.body), "matplotlib is only imported in the unused show_result"
    else:
        assert prints_accuracy(script) and draws


def test_the_numpy_2_4_trap_is_the_templates_last_line(namespaces):
    """Lai keeps the slide's ``int(nn.predict(x.reshape(1, -1)) >= 0.5)``: a (1, 1) array."""
    sample = SAMPLES["DLP_LAB1_0856175_Lai.py"]
    source = (SUBMISSIONS / sample.file).read_text(encoding="utf-8")
    line = "Y_pred = [int(nn.predict(x.reshape(1, -1)) >= 0.5) for x in X]"
    assert source.count(line) == 1
    documented = re.search(r"TypeError: only 0-dimensional arrays[^|]*? at line (\d+)",
                           readme_rows()[sample.file])
    assert documented, "README row of Lai must give the crash's line as 'at line N'"
    assert source.splitlines()[int(documented.group(1)) - 1] == line
    nn = sample.layout.make(namespaces[sample.file])
    X, _ = ref_lab1.generate_XOR_easy()
    out = nn.predict(X[0].reshape(1, -1)) >= 0.5
    assert out.shape == (1, 1)
    if tuple(int(v) for v in np.__version__.split(".")[:2]) >= (2, 4):
        with pytest.raises(TypeError, match="only 0-dimensional arrays"):
            int(out)
    # every other sample takes the number out before int() or thresholds a whole batch
    for other in SAMPLES:
        if other != sample.file:
            assert line not in (SUBMISSIONS / other).read_text(encoding="utf-8"), other
