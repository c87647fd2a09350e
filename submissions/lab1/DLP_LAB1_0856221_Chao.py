"""
DLP Lab1 - Backpropagation
0856221 趙品翔 (Chao, P.-H.)

The model is built with its training data and trains itself: fit_step() runs the forward pass
on the stored data, the MSE loss, backprop through the layers and the update, and returns the
loss. Every layer object keeps its own learning rate.
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


class Affine:
    def __init__(self, n_in, n_out, lr):
        self.W = np.random.randn(n_in, n_out)
        self.b = np.zeros((1, n_out))
        self.lr = lr

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, grad):
        dx = grad @ self.W.T
        self.W -= self.lr * self.x.T @ grad
        self.b -= self.lr * grad.sum(axis=0, keepdims=True)
        return dx


class Sigmoid:
    def forward(self, x):
        self.y = 1.0 / (1.0 + np.exp(-x))
        return self.y

    def backward(self, grad):
        return grad * self.y * (1.0 - self.y)


class BinaryClassifier:
    def __init__(self, X, y, hidden=8, lr=0.3):
        self.X = X
        self.y = y.astype(float)
        self.layers = [Affine(X.shape[1], hidden, lr), Sigmoid(),
                       Affine(hidden, hidden, lr), Sigmoid(),
                       Affine(hidden, 1, lr), Sigmoid()]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def fit_step(self):
        pred = self.forward(self.X)
        loss = np.mean((pred - self.y) ** 2)
        grad = 2 * (pred - self.y) / len(self.y)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return loss


def experiment(X, y, epochs=30000):
    model = BinaryClassifier(X, y, hidden=8, lr=0.3)
    losses = []
    for epoch in range(epochs):
        losses.append(model.fit_step())
        if epoch % 3000 == 0:
            print(f'epoch {epoch:5d} loss : {losses[-1]:.5f}')
        if losses[-1] < 0.001:
            break
    pred = model.forward(X)
    print(f'accuracy : {np.mean((pred > 0.5) == y) * 100:.1f}%')
    plt.figure()
    plt.plot(losses)
    plt.figure()
    plt.subplot(1, 2, 1)
    plt.scatter(X[:, 0], X[:, 1], c=y[:, 0], cmap='bwr')
    plt.subplot(1, 2, 2)
    plt.scatter(X[:, 0], X[:, 1], c=(pred[:, 0] > 0.5), cmap='bwr')
    plt.show()


if __name__ == '__main__':
    np.random.seed(221)
    experiment(*generate_linear(100))
    experiment(*generate_XOR_easy())
