"""
Deep Learning and Practice, Lab 1 (back-propagation)
0856211 羅文傑 (Lo)

Four units per hidden layer: three were not enough for XOR in my runs.
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


def show_result(x, y, pred_y):
    plt.subplot(1, 2, 1)
    plt.title('Ground truth', fontsize=18)
    for i in range(x.shape[0]):
        plt.plot(x[i][0], x[i][1], 'ro' if y[i] == 0 else 'bo')
    plt.subplot(1, 2, 2)
    plt.title('Predict result', fontsize=18)
    for i in range(x.shape[0]):
        plt.plot(x[i][0], x[i][1], 'ro' if pred_y[i] == 0 else 'bo')
    plt.show()


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Net:
    """2 -> 4 -> 4 -> 1, sigmoid everywhere, biases, MSE."""

    def __init__(self):
        sizes = [2, 4, 4, 1]
        self.W = [np.random.randn(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.b = [np.zeros((1, b)) for b in sizes[1:]]

    def forward(self, x):
        self.acts = [x]
        for W, b in zip(self.W, self.b):
            self.acts.append(sigmoid(self.acts[-1] @ W + b))
        return self.acts[-1]

    def backward(self, y):
        out = self.acts[-1]
        delta = 2 * (out - y) / len(y) * out * (1 - out)
        self.dW, self.db = [None] * 3, [None] * 3
        for i in reversed(range(3)):
            self.dW[i] = self.acts[i].T @ delta
            self.db[i] = delta.sum(axis=0, keepdims=True)
            if i > 0:
                delta = (delta @ self.W[i].T) * self.acts[i] * (1 - self.acts[i])

    def update(self, lr):
        for i in range(3):
            self.W[i] -= lr * self.dW[i]
            self.b[i] -= lr * self.db[i]


def train(net, X, Y, lr=0.5, epochs=5000):
    curve = []
    for epoch in range(epochs):
        losses = []
        for x, y in zip(X, Y):
            out = net.forward(x[None, :])
            losses.append(float(np.mean((out - y) ** 2)))
            net.backward(y[None, :])
            net.update(lr)
        curve.append(np.mean(losses))
        if max(losses) < 0.04:
            print(f'converged after {epoch + 1} epochs, loss {curve[-1]:.5f}')
            break
        if epoch % 500 == 0:
            print(f'epoch {epoch} loss {curve[-1]:.5f}')
    return curve


if __name__ == '__main__':
    np.random.seed(211)
    for name, (X, Y) in (('linear', generate_linear(100)), ('XOR', generate_XOR_easy())):
        net = Net()
        curve = train(net, X, Y)
        pred = (net.forward(X) >= 0.5).astype(int)
        print(name, 'accuracy:', np.mean(pred == Y))
        plt.figure()
        plt.plot(curve)
        plt.title(f'{name} learning curve')
        plt.figure()
        show_result(X, Y, pred)
