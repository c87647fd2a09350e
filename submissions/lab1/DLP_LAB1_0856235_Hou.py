"""
DLP Lab1 - Backpropagation
0856235 侯冠宇 (Hou, K.-Y.)

network() does everything: it asks init() for the weights and the data, then trains on the
whole batch.  Each weight matrix is stored (neurons, inputs), and the output neuron's weights
are a plain vector.
"""
import numpy as np
import matplotlib.pyplot as plt


def generate_XOR_easy():
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


def init(hidden=3):
    w1 = np.random.randn(hidden, 2)
    w2 = np.random.randn(hidden, hidden)
    w3 = np.random.randn(hidden)
    b1 = np.zeros(hidden)
    b2 = np.zeros(hidden)
    b3 = np.zeros(1)
    x, y = generate_XOR_easy()
    return w1, w2, w3, b1, b2, b3, x, y


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def network(epochs=3000, lr=1.0):
    w1, w2, w3, b1, b2, b3, x, y = init()
    n = x.shape[0]
    t = y.reshape(n)
    losses = []
    for epoch in range(epochs):
        h1 = sigmoid(x @ w1.T + b1)
        h2 = sigmoid(h1 @ w2.T + b2)
        out = sigmoid(h2 @ w3 + b3)
        losses.append(np.mean((out - t) ** 2))
        if epoch % 500 == 0:
            print('epoch', epoch, 'loss', losses[-1])
        d3 = 2 / n * (out - t) * out * (1 - out)
        dw3 = h2.T @ d3
        db3 = np.sum(d3, keepdims=True)
        d2 = np.outer(d3, w3) * h2 * (1 - h2)
        dw2 = h1.T @ d2
        db2 = d2.sum(axis=0)
        d1 = (d2 @ w2) * h1 * (1 - h1)
        dw1 = d1.T @ x
        db1 = d1.sum(axis=0)
        w3 -= lr * dw3
        w2 -= lr * dw2
        w1 -= lr * dw1
        b3 -= lr * db3
        b2 -= lr * db2
        b1 -= lr * db1
    print('accuracy', np.mean((out > 0.5) == t))
    plt.plot(losses)
    plt.title('Training loss')
    plt.show()


np.random.seed(0)
network()
