"""
DLP Lab1 - Backpropagation
0856203 余承恩 (Yu)
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


def mse(y_pred, y):
    return np.mean((y_pred - y) ** 2)


class NN:
    def __init__(self, dim, activation=sigmoid, loss=mse):
        self.weights = [np.random.uniform(-1, 1, (a, b)) for a, b in zip(dim[:-1], dim[1:])]
        self.grads = [np.zeros_like(w) for w in self.weights]
        self.act = activation
        self.loss = loss

    def predict(self, X):
        self.a = [X]
        for W in self.weights:
            self.a.append(self.act(self.a[-1] @ W))
        return self.a[-1]

    def backprop(self, y_data):
        y_pred = self.a[-1]
        delta = 2 * (y_pred - y_data) / y_data.size * y_pred * (1 - y_pred)
        for i in (2, 1, 0):
            self.grads[i] = self.a[i].T @ delta
            delta = (delta @ self.weights[i].T) * self.a[i] * (1 - self.a[i])
    def update(self, lr):
        for i in range(len(self.weights)):
            # the gradient is stored (out, in) like in the slides
            self.weights[i] -= lr * self.grads[i].T


if __name__ == '__main__':
    np.random.seed(203)
    X, Y = generate_linear(100)
    nn = NN([2, 3, 3, 1])
    curve = []
    for epoch in range(3000):
        losses = []
        for x, y in zip(X, Y):
            y_hat = nn.predict(x.reshape(1, -1))
            losses.append(nn.loss(y_hat, y.reshape(1, -1)))
            nn.backprop(y.reshape(1, -1))
            nn.update(0.8)
        curve.append(np.mean(losses))
        if epoch % 500 == 0:
            print('epoch', epoch, 'loss', curve[-1])
        if max(losses) < 0.04:
            break
    pred = (nn.predict(X) >= 0.5).astype(int)
    print('accuracy', np.mean(pred == Y))
    plt.plot(curve)
    plt.show()
    show_result(X, Y, pred)
