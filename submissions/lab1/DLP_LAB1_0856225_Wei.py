"""
DLP Lab1 - Backpropagation
0856225 魏宏達 (Wei, H.-T.)

No class: the weights are variables of train(), and the forward and backward passes are
written out inside its loop (full batch, MSE).
"""
import numpy as np
import matplotlib.pyplot as plt


def generate_linear(n=100):
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


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def derivative_sigmoid(a):
    return a * (1.0 - a)


def train(x, y, hidden=4, lr=2.0, epochs=20000):
    w1 = np.random.uniform(-1, 1, (2, hidden))
    w2 = np.random.uniform(-1, 1, (hidden, hidden))
    w3 = np.random.uniform(-1, 1, (hidden, 1))
    losses = []
    for epoch in range(epochs):
        a1 = sigmoid(x @ w1)
        a2 = sigmoid(a1 @ w2)
        out = sigmoid(a2 @ w3)
        losses.append(float(np.mean((out - y) ** 2)))
        if epoch % 2000 == 0:
            print(f'epoch {epoch:5d} loss : {losses[-1]:.5f}')
        d3 = 2 * (out - y) / len(y) * derivative_sigmoid(out)
        d2 = (d3 @ w3.T) * derivative_sigmoid(a2)
        d1 = (d2 @ w2) * derivative_sigmoid(a1)
        w3 -= lr * a2.T @ d3
        w2 -= lr * a1.T @ d2
        w1 -= lr * x.T @ d1
    print(f'accuracy : {np.mean((out > 0.5) == y) * 100:.1f}%')
    plt.figure()
    plt.plot(losses)
    plt.figure()
    plt.subplot(1, 2, 1)
    plt.scatter(x[:, 0], x[:, 1], c=y[:, 0], cmap='bwr')
    plt.subplot(1, 2, 2)
    plt.scatter(x[:, 0], x[:, 1], c=(out[:, 0] > 0.5), cmap='bwr')
    plt.show()


if __name__ == '__main__':
    np.random.seed(225)
    train(*generate_linear(100))
    train(*generate_XOR_easy())
