"""
DLP Lab1 - Backpropagation
0856223 曹育誠 (Tsao, Y.-C.)

A small Keras-like library: layers are objects added to a Sequential model one by one, and
fit() runs the whole training (forward on the batch, the MSE gradient, backward through the
layers in reverse, each layer updating itself).
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


class Dense:
    def __init__(self, n_in, n_out):
        self.W = np.random.uniform(-1, 1, (n_in, n_out))
        self.b = np.zeros((1, n_out))

    def Forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def Backward(self, grad, lr):
        dx = grad @ self.W.T
        self.W -= lr * self.x.T @ grad
        self.b -= lr * grad.sum(axis=0, keepdims=True)
        return dx


class Sigmoid:
    def Forward(self, x):
        self.y = 1.0 / (1.0 + np.exp(-x))
        return self.y

    def Backward(self, grad, lr):
        return grad * self.y * (1.0 - self.y)


class Sequential:
    def __init__(self):
        self.layers = []
        self.history = []

    def AddLayer(self, layer):
        self.layers.append(layer)

    def Forward(self, x):
        for layer in self.layers:
            x = layer.Forward(x)
        return x

    def fit(self, X, y, epochs=1000, lr=0.5, verbose=2000):
        for epoch in range(epochs):
            pred = self.Forward(X)
            loss = np.mean((pred - y) ** 2)
            self.history.append(loss)
            if epoch % verbose == 0:
                print(f'epoch {epoch:5d} loss : {loss:.5f}')
            if loss < 0.001:
                break
            grad = 2 * (pred - y) / len(y)
            for layer in reversed(self.layers):
                grad = layer.Backward(grad, lr)


def experiment(X, y):
    model = Sequential()
    model.AddLayer(Dense(2, 6))
    model.AddLayer(Sigmoid())
    model.AddLayer(Dense(6, 6))
    model.AddLayer(Sigmoid())
    model.AddLayer(Dense(6, 1))
    model.AddLayer(Sigmoid())
    model.fit(X, y, epochs=20000, lr=1.0)
    pred = model.Forward(X)
    print(f'accuracy : {np.mean((pred > 0.5) == y) * 100:.1f}%')
    plt.figure()
    plt.plot(model.history)
    plt.figure()
    plt.subplot(1, 2, 1)
    plt.scatter(X[:, 0], X[:, 1], c=y[:, 0], cmap='bwr')
    plt.subplot(1, 2, 2)
    plt.scatter(X[:, 0], X[:, 1], c=(pred[:, 0] > 0.5), cmap='bwr')
    plt.show()


if __name__ == '__main__':
    np.random.seed(223)
    experiment(*generate_linear(100))
    experiment(*generate_XOR_easy())
