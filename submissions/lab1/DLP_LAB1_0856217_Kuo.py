"""
DLP Lab1 - Backpropagation
0856217 郭宇翔 (Kuo, Y.-H.)

Layers as objects: every Dense layer keeps its own learning rate and the bias as the last row
of its weights. The network's backward takes dL/dy, computed by the training loop.
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


class Dense:
    """One fully connected sigmoid layer; W has one row more than inputs: the bias."""

    def __init__(self, n_in, n_out, rate):
        self.W = np.random.uniform(-1, 1, (n_in + 1, n_out))
        self.rate = rate

    def forward(self, a):
        self.a = np.hstack([a, np.ones((len(a), 1))])
        self.out = sigmoid(self.a @ self.W)
        return self.out

    def backward(self, grad):
        delta = grad * self.out * (1 - self.out)
        self.dW = self.a.T @ delta
        return (delta @ self.W.T)[:, :-1]

    def step(self):
        self.W -= self.rate * self.dW


class Classifier:
    def __init__(self, hidden=6, rate=0.5):
        self.rate = rate
        self.layers = [Dense(2, hidden, rate), Dense(hidden, hidden, rate),
                       Dense(hidden, 1, rate)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def update(self):
        for layer in self.layers:
            layer.step()


def train(X, Y, epochs=20000):
    net = Classifier(hidden=6, rate=2.0)
    losses = []
    for epoch in range(epochs):
        pred = net.forward(X)
        losses.append(float(np.mean((pred - Y) ** 2)))
        net.backward(2 * (pred - Y) / len(Y))
        net.update()
        if epoch % 2000 == 0:
            print(f'epoch {epoch:5d} loss : {losses[-1]:.5f}')
        if np.all((pred - Y) ** 2 < 0.01):
            break
    pred = net.forward(X)
    print(f'accuracy : {np.mean((pred > 0.5) == Y) * 100:.1f}%')
    plt.figure()
    plt.plot(losses)
    plt.figure()
    plt.subplot(1, 2, 1)
    plt.scatter(X[:, 0], X[:, 1], c=Y[:, 0], cmap='bwr')
    plt.subplot(1, 2, 2)
    plt.scatter(X[:, 0], X[:, 1], c=(pred[:, 0] > 0.5), cmap='bwr')
    plt.show()


if __name__ == '__main__':
    np.random.seed(217)
    train(*generate_linear(100))
    train(*generate_XOR_easy())
