"""The notebook exercises as notebooks: the solution and the student's starter, from one source.

Each exercise is a list of cells written once.  A code cell marks what the student must write:

.. code-block:: python

    def derivative_sigmoid(a):
        # BEGIN SOLUTION
        # BLANK return ?
        return a * (1 - a)
        # END SOLUTION

The solution keeps the lines between the markers (without the ``# BLANK`` lines); the starter
replaces them with the ``# BLANK`` lines (without the prefix), or with ``# YOUR CODE HERE``
when there are none: the blanks the course's own notebooks have (the ``?`` of the [3,4,4,2]
notebook, an empty update cell).  The rubric of the exercise grades the solution notebook at
full marks (a test says so), so the starter, the solution and the rubric cannot drift apart.

``python -m reference.exercises.notebooks DIR`` writes every solution notebook, executed with
its outputs (this needs ``ipykernel``: ``pip install 'labgrade[notebooks]'``), into ``DIR``;
``labgrade release EXERCISE --out DIR`` writes a starter.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BEGIN, END, BLANK = "# BEGIN SOLUTION", "# END SOLUTION", "# BLANK"
_MARKER = re.compile(r"^(\s*)(# BEGIN SOLUTION|# END SOLUTION|# BLANK ?)(.*)$")


@dataclass(frozen=True)
class Cell:
    kind: Literal["markdown", "code"]
    source: str


def md(text: str) -> Cell:
    return Cell("markdown", text.strip("\n"))


def code(text: str) -> Cell:
    return Cell("code", text.strip("\n"))


@dataclass(frozen=True)
class Exercise:
    """One notebook exercise: its name (the rubric's id), file name, title and cells."""

    name: str
    filename: str
    title: str
    cells: tuple[Cell, ...]


def solution_source(source: str) -> str:
    """A code cell as the solution has it: the markers and the blanks removed."""
    kept = []
    for line in source.splitlines():
        match = _MARKER.match(line)
        if match is None:
            kept.append(line)
    return "\n".join(kept)


def starter_source(source: str, blank: str = "# YOUR CODE HERE") -> str:
    """A cell as the student receives it: each solution region replaced by its blanks, else
    by ``blank``."""
    out: list[str] = []
    inside, blanks, indent = False, [], ""
    for line in source.splitlines():
        match = _MARKER.match(line)
        if match and match.group(2) == BEGIN:
            inside, blanks, indent = True, [], match.group(1)
        elif match and match.group(2) == END:
            out += blanks or [f"{indent}{blank}"]
            inside = False
        elif match and match.group(2).startswith(BLANK):
            blanks.append(match.group(1) + match.group(3))
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"a solution region is not closed with {END!r}")
    return "\n".join(out)


def notebook(exercise: Exercise, *, starter: bool = False):
    """The exercise as an nbformat notebook (not executed)."""
    import nbformat

    cells = []
    for cell in exercise.cells:
        blank = "*Your answer here.*" if cell.kind == "markdown" else "# YOUR CODE HERE"
        text = starter_source(cell.source, blank) if starter else solution_source(cell.source)
        if cell.kind == "markdown":  # an answer in words is a solution region too
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cells.append(nbformat.v4.new_code_cell(text))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def executed(nb, *, timeout: int = 120):
    """``nb`` run top to bottom in a Jupyter kernel, with its outputs."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3").execute()
    return nb


# --- the exercises --------------------------------------------------------------------------

AND_OR = Exercise("and-or", "01.AND_OR.ipynb",
                  "Machine Learning with NumPy: AND and OR", cells=(
    md("""
# AND and OR with a single-layer perceptron

One sigmoid unit, `y_pred = sigmoid(x @ wout + bout)`, learns AND and then OR on the four
corners of {-1, 1}², full batch, 5000 epochs, learning rate 0.1.  Write `sigmoid` and
`derivative_sigmoid`, then run the training cells.
"""),
    code("""
import numpy as np

np.random.seed(0)
"""),
    code("""
def sigmoid(x):
    # BEGIN SOLUTION
    # BLANK return ?
    # exp(-log(1 + exp(-x))) = 1 / (1 + exp(-x)), without overflow for large |x|
    return np.exp(-np.logaddexp(0, -x))
    # END SOLUTION


def derivative_sigmoid(a):
    \"\"\"The derivative of the sigmoid, given its output a = sigmoid(x).\"\"\"
    # BEGIN SOLUTION
    # BLANK return ?
    return a * (1 - a)
    # END SOLUTION
"""),
    md("## Data"),
    code("""
x = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]])
d_in, d_out = 2, 1
learning_rate = 0.1
"""),
    md("## AND"),
    code("""
y = np.array([[1], [0], [0], [0]])
wout = np.random.uniform(size=(d_in, 1))
bout = np.random.uniform(size=(1, d_out))

for epoch in range(5000):
    y_pred = sigmoid(x.dot(wout) + bout)
    loss = np.square(y_pred - y).sum()
    if epoch % 500 == 0:
        print(epoch, loss)
    # BEGIN SOLUTION
    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    grad_wout = x.T.dot(grad_y_pred)
    grad_bout = np.sum(grad_y_pred, axis=0, keepdims=True)
    wout += grad_wout * learning_rate
    bout += grad_bout * learning_rate
    # END SOLUTION

print(y_pred)
print(wout)
print(bout)
"""),
    md("## OR"),
    code("""
y = np.array([[1], [1], [0], [1]])
wout = np.random.uniform(size=(d_in, 1))
bout = np.random.uniform(size=(1, d_out))

for epoch in range(5000):
    y_pred = sigmoid(x.dot(wout) + bout)
    loss = np.square(y_pred - y).sum()
    if epoch % 500 == 0:
        print(epoch, loss)
    # BEGIN SOLUTION
    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    grad_wout = x.T.dot(grad_y_pred)
    grad_bout = np.sum(grad_y_pred, axis=0, keepdims=True)
    wout += grad_wout * learning_rate
    bout += grad_bout * learning_rate
    # END SOLUTION

print(y_pred)
print(wout)
print(bout)
"""),
))

XOR = Exercise("xor", "02.XOR.ipynb", "Machine Learning with NumPy: XOR", cells=(
    md("""
# XOR: a single layer cannot learn it, one hidden layer can

First the single sigmoid unit of the AND/OR notebook on XOR: its loss stays near 1.0 and its
outputs near 0.5, because no line separates XOR.  Then a hidden layer of two sigmoid units,
`h = sigmoid(x @ wh + bh)`, `y_pred = sigmoid(h @ wout + bout)`, which learns it.
"""),
    code("""
import numpy as np

np.random.seed(0)
"""),
    code("""
def sigmoid(x):
    # BEGIN SOLUTION
    # BLANK return ?
    return np.exp(-np.logaddexp(0, -x))
    # END SOLUTION


def derivative_sigmoid(a):
    \"\"\"The derivative of the sigmoid, given its output a = sigmoid(x).\"\"\"
    # BEGIN SOLUTION
    # BLANK return ?
    return a * (1 - a)
    # END SOLUTION
"""),
    code("""
x = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]])
y = np.array([[0], [1], [0], [1]])
epoch = 5000
learning_rate = 0.1
d_in, d_out = x.shape[1], 1
"""),
    md("## A single layer"),
    code("""
wout = np.random.uniform(size=(d_in, d_out))
bout = np.random.uniform(size=(1, d_out))

for i in range(epoch):
    y_pred = sigmoid(x.dot(wout) + bout)
    loss = np.square(y_pred - y)
    if i % 500 == 0:
        print('Epoch', i, ':', loss.sum())
    # BEGIN SOLUTION
    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    wout += x.T.dot(grad_y_pred) * learning_rate
    bout += np.sum(grad_y_pred, axis=0, keepdims=True) * learning_rate
    # END SOLUTION

print(y_pred)
"""),
    md("## One hidden layer of two units"),
    code("""
d_h = 2
wh = np.random.uniform(size=(d_in, d_h))
bh = np.random.uniform(size=(1, d_h))
wout = np.random.uniform(size=(d_h, d_out))
bout = np.random.uniform(size=(1, d_out))

for i in range(epoch):
    h = sigmoid(x.dot(wh) + bh)
    y_pred = sigmoid(h.dot(wout) + bout)
    loss = np.square(y_pred - y)
    if i % 500 == 0:
        print('Epoch', i, ':', loss.sum())
    # BEGIN SOLUTION
    grad_y_pred = (y - y_pred) * derivative_sigmoid(y_pred)
    grad_wout = h.T.dot(grad_y_pred)
    grad_bout = np.sum(grad_y_pred, axis=0, keepdims=True)
    grad_h = grad_y_pred.dot(wout.T) * derivative_sigmoid(h)
    grad_wh = x.T.dot(grad_h)
    grad_bh = np.sum(grad_h, axis=0, keepdims=True)
    wout += grad_wout * learning_rate
    bout += grad_bout * learning_rate
    wh += grad_wh * learning_rate
    bh += grad_bh * learning_rate
    # END SOLUTION

print(y_pred)
"""),
))

REVERSE_XOR = Exercise("reverse-xor", "Reverse_Engineering_XOR.ipynb",
                       "Reverse Engineering of AI Models: XOR", cells=(
    md("""
# Reverse engineering of AI models: a 2-2-1 network for XOR

The network `s1 = X W1 + b0`, `h = sigmoid(s1)`, `s2 = h W2 + b1`, `y_pred = sigmoid(s2)`,
trained full batch on the loss `L = 1/2 (y - y_pred)^2`, from hand-picked starting values.
"""),
    code("""
import numpy as np
import matplotlib.pyplot as plt

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
y = np.array([[0], [1], [1], [0]])
b0 = np.array([[1, 1]])
b1 = -1
W1 = np.array([[-1, 1], [1, -1]])
W2 = np.array([[1], [1]])
"""),
    code("""
def sigmoid(x):
    # BEGIN SOLUTION
    # BLANK return ?
    return np.exp(-np.logaddexp(0, -x))
    # END SOLUTION


def sigmoid_derivative(f_x):
    \"\"\"The derivative of the sigmoid, given its output f_x = sigmoid(x).\"\"\"
    # BEGIN SOLUTION
    # BLANK return ?
    return f_x * (1 - f_x)
    # END SOLUTION
"""),
    md("""
## Training

From these starting values the squared error needs a large rate (at lr 0.01 it sits on a
plateau at outputs 0.5; below lr 4 it ends in the local minimum 2/3, 2/3, 2/3, 0).
"""),
    code("""
epochs = 10000
lr = 5.0

for _ in range(epochs):
    s1 = np.dot(X, W1) + b0
    h = sigmoid(s1)
    s2 = np.dot(h, W2) + b1
    y_pred = sigmoid(s2)
    # BEGIN SOLUTION
    # BLANK # YOUR CODE HERE: the backward pass, then the update of W2, b1, W1 and b0
    # dL/ds2 for L = 1/2 (y - y_pred)^2: the chain rule's minus sign makes it (y_pred - y)
    L_derivative = (y_pred - y) * sigmoid_derivative(y_pred)
    L_w_derivative = L_derivative.dot(W2.T) * sigmoid_derivative(h)
    W2 = W2 - lr * h.T.dot(L_derivative)
    b1 = b1 - lr * np.sum(L_derivative, axis=0, keepdims=True)
    W1 = W1 - lr * X.T.dot(L_w_derivative)
    b0 = b0 - lr * np.sum(L_w_derivative, axis=0, keepdims=True)
    # END SOLUTION

print(y_pred)
"""),
    md("""
## 1. Write formula of layer 1 weight updating.
"""),
    md("""
# BEGIN SOLUTION
With `delta2 = dL/ds2 = (y_pred - y) * y_pred (1 - y_pred)` and
`delta1 = dL/ds1 = (delta2 W2^T) * h (1 - h)`:
`dL/dW1 = X^T delta1`, `dL/db0 = sum of delta1 over the samples`, and the update is
`W1 <- W1 - lr * X^T delta1`, `b0 <- b0 - lr * sum(delta1)`.
# END SOLUTION
"""),
    md("""
## 2. Compute prediction by using different loss/cost function.
"""),
    code("""
# BEGIN SOLUTION
# the mean binary cross-entropy: dL/ds2 = (y_pred - y) / 4, no sigmoid' at the output
V1, c0 = np.array([[-1.0, 1.0], [1.0, -1.0]]), np.array([[1.0, 1.0]])
V2, c1 = np.array([[1.0], [1.0]]), -1.0
for _ in range(epochs):
    hidden = sigmoid(X.dot(V1) + c0)
    out = sigmoid(hidden.dot(V2) + c1)
    delta2 = (out - y) / len(y)
    delta1 = delta2.dot(V2.T) * sigmoid_derivative(hidden)
    V2, c1 = V2 - lr * hidden.T.dot(delta2), c1 - lr * delta2.sum(axis=0, keepdims=True)
    V1, c0 = V1 - lr * X.T.dot(delta1), c0 - lr * delta1.sum(axis=0, keepdims=True)
print(out)
# END SOLUTION
"""),
    md("""
## 3. Compare different bias (plot different equations).
"""),
    code("""
# BEGIN SOLUTION
def final_loss(first_bias, second_bias, rate=1.0, steps=5000):
    A1, a0 = np.array([[-1.0, 1.0], [1.0, -1.0]]), np.array(first_bias, dtype=float)
    A2, a1 = np.array([[1.0], [1.0]]), float(second_bias)
    history = []
    for _ in range(steps):
        hid = sigmoid(X.dot(A1) + a0)
        res = sigmoid(hid.dot(A2) + a1)
        history.append(0.5 * np.sum((y - res) ** 2))
        d2 = (res - y) * sigmoid_derivative(res)
        d1 = d2.dot(A2.T) * sigmoid_derivative(hid)
        A2, a1 = A2 - rate * hid.T.dot(d2), a1 - rate * d2.sum()
        A1, a0 = A1 - rate * X.T.dot(d1), a0 - rate * d1.sum(axis=0, keepdims=True)
    return history


for biases in ([[1, 1]], -1), ([[1, 1]], 0), ([[0, 0]], 0), ([[-1, -1]], -1):
    plt.plot(final_loss(*biases), label=f"b0 = {biases[0]}, b1 = {biases[1]}")
plt.yscale("log")
plt.xlabel("epoch")
plt.ylabel("loss")
plt.legend()
plt.show()
# END SOLUTION
"""),
))

XOR_RELU = Exercise("xor-relu", "XOR_ReLU.ipynb",
                    "Neural Networks and the Simplest XOR Problem (ReLU)", cells=(
    md("""
# The simplest XOR problem, with a ReLU hidden layer

A 3-2-1 network without biases: `h = x w1`, `h_relu = max(h, 0)`, `y_pred = h_relu w2`, the sum
of squares as the loss, plain gradient descent (learning rate 0.01, 500 steps).
"""),
    code("""
import numpy as np

x = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]])
y = np.array([[0, 1, 1, 0]]).T
print("Input data:\\n", x, "\\n Output data:\\n", y)
"""),
    code("""
np.random.seed(seed=83832)
D_in, H, D_out = 3, 2, 1
w1 = np.random.randn(D_in, H)
w2 = np.random.randn(H, D_out)
bias = np.random.randn(H, 1)
"""),
    code("""
learning_rate = .01
for t in range(500):
    h = x.dot(w1)
    h_relu = np.maximum(h, 0)
    y_pred = h_relu.dot(w2)
    loss = np.square(y_pred - y).sum()
    if t % 100 == 0 or t == 499:
        print(t, loss)
    # BEGIN SOLUTION
    # BLANK # YOUR CODE HERE: the gradients grad_w1 and grad_w2 of the loss, then the update
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.T.dot(grad_y_pred)
    grad_h_relu = grad_y_pred.dot(w2.T)
    grad_h = grad_h_relu.copy()
    grad_h[h < 0] = 0
    grad_w1 = x.T.dot(grad_h)
    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2
    # END SOLUTION
"""),
    code("""
pred = np.maximum(x.dot(w1), 0).dot(w2)
print(pred, "\\n", y)
"""),
))

# Examples 1-3 of the [3,4,4,2] tutorial share one loop; each fills in its activations and
# update.  ``{{`` are the loop's own braces, the others the example's parts.
EXAMPLE_LOOP = """
{setup}
m = X.shape[0]  # number of samples
E = []  # error after each step
acc = [0]  # accuracy after each step
while acc[-1] < 100:
    ix = list(range(m))
    np.random.shuffle(ix)  # randomly shuffle the data
    X = X[ix, :].reshape(X.shape[0], X.shape[1])
    Y = Y[ix, :]
    for i in range(0, m, b):  # one batch
        Xb = X[i:i + b, :].reshape(b, X.shape[1])
        Z1 = np.dot(Xb, W0) + b0
        a1 = {hidden_1}
        Z2 = np.dot(a1, W1) + b1
        a2 = {hidden_2}
        Z3 = np.dot(a2, W2) + b2
        a3 = {output}
        Yhat = a3
        d = Yhat - Y[i:i + b, :]
        g1 = {g_1}
        g2 = {g_2}
        g3 = {g3}
        dEda3 = d * g3
        dEda2 = np.dot(dEda3, W2.T) * g2
        dEda1 = np.dot(dEda2, W1.T) * g1
        dEdW2 = np.dot(a2.T, dEda3)
        dEdb2 = np.sum(dEda3, axis=0, keepdims=True)
        dEdW1 = np.dot(a1.T, dEda2)
        dEdb1 = np.sum(dEda2, axis=0, keepdims=True)
        dEdW0 = np.dot(Xb.T, dEda1)
        dEdb0 = np.sum(dEda1, axis=0, keepdims=True)
{update}
    # forward pass on all the data, for the error and the accuracy
    a1 = {hidden_x1}
    a2 = {hidden_x2}
    Z3 = np.dot(a2, W2) + b2
    Yhat = {output}
    E = np.append(E, np.sum(0.5 * (Yhat - Y) ** 2))
    acc = np.append(acc, np.sum(np.argmax(Yhat, axis=1) == np.argmax(Y, axis=1)) / m * 100)
print("accuracy: %d, batch number: %d" % (acc[-1], len(acc)))
"""

PLAIN_UPDATE = """\
        W0 -= alpha / m * dEdW0
        b0 -= alpha / m * dEdb0
        W1 -= alpha / m * dEdW1
        b1 -= alpha / m * dEdb1
        W2 -= alpha / m * dEdW2
        b2 -= alpha / m * dEdb2"""

ADAGRAD_UPDATE = """\
        r0 += np.square(dEdW0)
        r1 += np.square(dEdW1)
        r2 += np.square(dEdW2)
        W0 += -alpha / (stab + np.sqrt(r0)) * dEdW0 / m
        b0 += -alpha * dEdb0 / m
        W1 += -alpha / (stab + np.sqrt(r1)) * dEdW1 / m
        b1 += -alpha * dEdb1 / m
        W2 += -alpha / (stab + np.sqrt(r2)) * dEdW2 / m
        b2 += -alpha * dEdb2 / m"""


def example_loop(setup: str, hidden: str, output: str, g: str, g3: str, update: str) -> str:
    """One of Examples 1-3: the shared loop with the example's activations and update;
    ``hidden`` and ``g`` are written for ``{z}`` / layer ``{l}``."""
    return EXAMPLE_LOOP.format(
        setup=setup, output=output, g3=g3, update=update,
        hidden_1=hidden.format(z="Z1"), hidden_2=hidden.format(z="Z2"),
        hidden_x1=hidden.format(z="(np.dot(X, W0) + b0)"),
        hidden_x2=hidden.format(z="(np.dot(a1, W1) + b1)"),
        g_1=g.format(l=1), g_2=g.format(l=2))


MLP_3442 = Exercise("mlp-3442", "Learning_Setup_3442.ipynb",
                    "Python Tutorial: Learning Setup, the modular [3,4,4,2] network", cells=(
    md("""
# A network of [3, 4, 4, 2], modular

Two Gaussian classes of 20 points in 3 dimensions, one-hot labels.  First the initialization
schemes and three ways of training the network written out inline (Examples 1-3), then the
same network written as functions that keep the weights and biases in dictionaries `Ws[l]`,
`bs[l]` (Example 4).  Fill in the `?`.
"""),
    code("""
import numpy as np

np.random.seed(28)
class1 = np.random.randn(20, 3) + np.array([2, 2, 2])
class2 = np.random.randn(20, 3) + np.array([4, 4, 4])
X = np.vstack((class1, class2))
Y = np.vstack((np.zeros((20, 1)) + [1, 0], np.zeros((20, 1)) + [0, 1]))
"""),
    md("## Initialization schemes"),
    code("""
width0, width1, width2, width3 = 3, 4, 4, 2

# normal
b0nn = np.random.randn(1, width1)
b1nn = np.random.randn(1, width2)
b2nn = np.random.randn(1, width3)
W0nn = np.random.randn(width0, width1)
W1nn = np.random.randn(width1, width2)
W2nn = np.random.randn(width2, width3)

# uniform in [-1, 1)
W0Xu = 2 * (np.random.rand(width0, width1) - 0.5)
W1Xu = 2 * (np.random.rand(width1, width2) - 0.5)
W2Xu = 2 * (np.random.rand(width2, width3) - 0.5)

# Xavier-like: normal, divided by sqrt(fan_in + fan_out)
W0 = W0nn / np.sqrt(width0 + width1)
W1 = W1nn / np.sqrt(width1 + width2)
W2 = W2nn / np.sqrt(width2 + width3)

# Xavier: uniform in +-sqrt(6 / (fan_in + fan_out))
# BEGIN SOLUTION
# BLANK W0 = ?
# BLANK W1 = ?
# BLANK W2 = ?
W0 = W0Xu * np.sqrt(6 / (width0 + width1))
W1 = W1Xu * np.sqrt(6 / (width1 + width2))
W2 = W2Xu * np.sqrt(6 / (width2 + width3))
# END SOLUTION
b0 = b0nn * np.sqrt(2)
b1 = b1nn * np.sqrt(2)
b2 = b2nn * np.sqrt(2)
"""),
    md("""
## Example 1: BGD vs mini-BGD vs SGD

Sigmoid activations, `E = 1/2 sum (Yhat - Y)^2`, steps of `alpha / m` times the batch's
summed gradient, until every point is classified right.  `b = 1` is SGD, `b < m` mini-batch,
`b = m` BGD.
"""),
    code(example_loop("alpha = 1\nb = 5", hidden="1 / (1 + np.exp(-{z}))",
                      output="1 / (1 + np.exp(-Z3))", g="a{l} * (1 - a{l})", g3="a3 * (1 - a3)",
                      update=PLAIN_UPDATE)),
    md("""
## Example 2: ReLU activations

ReLU hidden layers, a softmax output (its output delta is `Yhat - Y`: the cross-entropy's
gradient), He-like uniform weights.
"""),
    code(example_loop(
        "def softmax_rows(Z):\n"
        "    expo = np.exp(Z - np.max(Z, axis=1, keepdims=True))  # shifted row by row\n"
        "    return expo / np.sum(expo, axis=1, keepdims=True)\n\n\n"
        "W0 = W0Xu * np.sqrt(6 / width0)\nW1 = W1Xu * np.sqrt(6 / width1)\n"
        "W2 = W2Xu * np.sqrt(6 / width2)\nalpha = .5\nb = 10",
        hidden="np.maximum(0, {z})", output="softmax_rows(Z3)", g="(a{l} > 0) * 1", g3="1",
        update=PLAIN_UPDATE)),
    md("""
## Example 3: AdaGrad

Example 1's network and steps, each weight's step divided by the square root of the sum of
its squared gradients so far (`r`); the biases take plain steps.
"""),
    code(example_loop(
        "W0 = W0Xu * np.sqrt(6 / (width0 + width1))\n"
        "W1 = W1Xu * np.sqrt(6 / (width1 + width2))\n"
        "W2 = W2Xu * np.sqrt(6 / (width2 + width3))\n"
        "r0 = 0\nr1 = 0\nr2 = 0\nstab = 1e-7  # stabilizing factor\nalpha = 1\nb = 5",
        hidden="1 / (1 + np.exp(-{z}))", output="1 / (1 + np.exp(-Z3))",
        g="a{l} * (1 - a{l})", g3="a3 * (1 - a3)", update=ADAGRAD_UPDATE)),
    md("## Example 4: Modularize"),
    code("""
def initialize_normal(layer_width):
    Ws = {}
    bs = {}
    layers = len(layer_width)
    for l in range(0, layers - 1):
        # BEGIN SOLUTION
        # BLANK Ws[l] = np.random.randn(?, ?)
        # BLANK bs[l] = np.random.randn(1, ?)
        Ws[l] = np.random.randn(layer_width[l], layer_width[l + 1])
        bs[l] = np.random.randn(1, layer_width[l + 1])
        # END SOLUTION
    return Ws, bs
"""),
    code("""
def sigmoid(Input, Ws, bs):
    Z = np.dot(Input, Ws) + bs
    # BEGIN SOLUTION
    # BLANK return 1 / (1 + np.exp(-Z))
    return np.exp(-np.logaddexp(0, -Z))
    # END SOLUTION


def dsigmoid(A):
    # BEGIN SOLUTION
    # BLANK return ?
    return A * (1 - A)
    # END SOLUTION


def relu(Input, Ws, bs):
    Z = np.dot(Input, Ws) + bs
    # BEGIN SOLUTION
    # BLANK return ?
    return np.maximum(0, Z)
    # END SOLUTION


def drelu(A):
    # BEGIN SOLUTION
    # BLANK return ?
    return (A > 0) * 1.0
    # END SOLUTION


def softmax(Input, Ws, bs):
    Z = np.dot(Input, Ws) + bs
    # BEGIN SOLUTION
    # BLANK expo = ?
    # BLANK return ?
    expo = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return expo / np.sum(expo, axis=1, keepdims=True)
    # END SOLUTION
"""),
    code("""
def forwardprop(X, Ws, bs):
    layers = len(Ws)
    layerout = {}
    layerout[0] = X
    for l in range(0, layers - 1):
        # BEGIN SOLUTION
        # BLANK layerout[l + 1] = sigmoid(?, Ws[l], bs[l])
        layerout[l + 1] = sigmoid(layerout[l], Ws[l], bs[l])
        # END SOLUTION
    # BEGIN SOLUTION
    # BLANK pred = softmax(?, Ws[layers - 1], bs[layers - 1])
    pred = softmax(layerout[layers - 1], Ws[layers - 1], bs[layers - 1])
    # END SOLUTION
    layerout.pop(0)
    return layerout, pred


def Loss(y_pred, y_true):
    # BEGIN SOLUTION
    # BLANK return -np.sum(np.log(np.sum(?, axis=-1))) / y_true.shape[0]
    return -np.sum(np.log(np.sum(y_pred * y_true, axis=-1))) / y_true.shape[0]
    # END SOLUTION


def error(y_pred, y_true):
    m = y_true.shape[0]
    # BEGIN SOLUTION
    # BLANK return ?
    return np.sum(np.argmax(y_pred, axis=1) != np.argmax(y_true, axis=1)) / m
    # END SOLUTION
"""),
    code("""
def backprop(x_true, y_true, y_pred, Ws, bs, activations, alpha=0.01):
    layers = len(Ws)
    A = {0: x_true, **activations}
    m = y_true.shape[0]
    delta = y_pred - y_true
    # BEGIN SOLUTION
    # BLANK # YOUR CODE HERE: every layer's dLdW and dLdb first, then the updates
    dWs, dbs = {}, {}
    for l in range(layers - 1, -1, -1):
        dWs[l] = np.dot(A[l].T, delta)
        dbs[l] = np.sum(delta, axis=0, keepdims=True)
        if l > 0:
            delta = np.dot(delta, Ws[l].T) * dsigmoid(A[l])
    for l in dWs:
        Ws[l] -= alpha / m * dWs[l]
        bs[l] -= alpha / m * dbs[l]
    # END SOLUTION
    return Ws, bs
"""),
    md("""
Creating a network and training it (this can also be incorporated into a function!).
"""),
    code("""
network = [3, 4, 5, 2]
# BEGIN SOLUTION
# BLANK W, b = initialize_normal(?)
# BLANK itera = 1000
# BLANK L = np.zeros(itera)
# BLANK for epoc in range(itera):
# BLANK     act, pred = forwardprop(X, ?, ?)
# BLANK     L[epoc] = Loss(?, ?)
# BLANK     W, b = backprop(X, Y, ?, ?, ?, ?, 0.2)
# BLANK     err = error(?, ?) * 100
def train(X, Y, network, itera=1000, alpha=0.2):
    W, b = initialize_normal(network)
    L = np.zeros(itera)
    for epoc in range(itera):
        act, pred = forwardprop(X, W, b)
        L[epoc] = Loss(pred, Y)
        W, b = backprop(X, Y, pred, W, b, act, alpha)
    return W, b, L


W, b, L = train(X, Y, network)
act, pred = forwardprop(X, W, b)
err = error(pred, Y) * 100
# END SOLUTION
print("error: %3d %%, loss %.4f" % (err, L[-1]))
"""),
))

EXERCISES: dict[str, Exercise] = {e.name: e for e in (AND_OR, XOR, REVERSE_XOR, XOR_RELU,
                                                      MLP_3442)}


def write_solutions(folder: Path) -> list[Path]:
    """Every solution notebook, executed with its outputs, into ``folder``."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for exercise in EXERCISES.values():
        path = folder / f"solution_{exercise.name}.ipynb"
        nbformat.write(executed(notebook(exercise)), str(path))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_solutions(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(path)
