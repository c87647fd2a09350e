"""
DLP Lab1 - Backpropagation
0856219 廖宜君 (Liao, Y.-C.)

No class: the weights are passed to the functions and backward returns the new ones.
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


def init_weights(n_in, h1, h2, n_out):
    w1 = np.random.uniform(-1, 1, (n_in, h1))
    w2 = np.random.uniform(-1, 1, (h1, h2))
    w3 = np.random.uniform(-1, 1, (h2, n_out))
    return w1, w2, w3


def forward(x, w1, w2, w3):
    a1 = sigmoid(x @ w1)
    a2 = sigmoid(a1 @ w2)
    a3 = sigmoid(a2 @ w3)
    return a1, a2, a3


def backward(x, y, a1, a2, a3, w1, w2, w3, lr):
    d3 = 2 * (a3 - y) * a3 * (1 - a3)
    d2 = (d3 @ w3.T) * a2 * (1 - a2)
    d1 = (d2 @ w2.T) * a1 * (1 - a1)
    w3 = w3 - lr * a2.T @ d3
    w2 = w2 - lr * a1.T @ d2
    w1 = w1 - lr * x.T @ d1
    return w1, w2, w3


def train(x, y, epochs=3000, lr=0.5):
    w1, w2, w3 = init_weights(2, 5, 5, 1)
    losses = []
    for epoch in range(epochs):
        for i in range(len(x)):
            xi, yi = x[i:i + 1], y[i:i + 1]
            a1, a2, a3 = forward(xi, w1, w2, w3)
            w1, w2, w3 = backward(xi, yi, a1, a2, a3, w1, w2, w3, lr)
        pred = forward(x, w1, w2, w3)[2]
        losses.append(float(np.mean((pred - y) ** 2)))
        if epoch % 500 == 0:
            print(f'epoch {epoch} loss {losses[-1]:.5f}')
        if np.all((pred - y) ** 2 < 0.01):
            break
    pred = forward(x, w1, w2, w3)[2]
    print(f'accuracy {np.mean((pred > 0.5) == y) * 100:.1f}%')
    plt.figure()
    plt.plot(losses)
    plt.figure()
    plt.subplot(1, 2, 1)
    plt.scatter(x[:, 0], x[:, 1], c=y[:, 0])
    plt.subplot(1, 2, 2)
    plt.scatter(x[:, 0], x[:, 1], c=(pred[:, 0] > 0.5))
    plt.show()


if __name__ == '__main__':
    np.random.seed(219)
    train(*generate_linear(100))
    train(*generate_XOR_easy())
