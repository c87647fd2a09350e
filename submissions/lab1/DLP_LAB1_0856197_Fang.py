"""
DLP Lab1 - Backpropagation, 0856197 方志豪 (Fang)

2-3-3-1 sigmoid network, no bias, MSE loss, per-sample SGD.
I scale the initial weights up so that the first epochs move fast.
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


class NN:
    def __init__(self, dim=(2, 3, 3, 1), lr=0.8):
        # big initial weights (no seed: every run is a new experiment)
        self.W1 = np.random.randn(dim[0], dim[1]) * 100
        self.W2 = np.random.randn(dim[1], dim[2]) * 100
        self.W3 = np.random.randn(dim[2], dim[3]) * 100
        self.lr = lr

    def predict(self, x):
        self.x = x
        self.a1 = sigmoid(x @ self.W1)
        self.a2 = sigmoid(self.a1 @ self.W2)
        self.a3 = sigmoid(self.a2 @ self.W3)
        return self.a3

    def backprop(self, y):
        n = y.shape[0]
        d3 = 2 * (self.a3 - y) / n * self.a3 * (1 - self.a3)
        d2 = (d3 @ self.W3.T) * self.a2 * (1 - self.a2)
        d1 = (d2 @ self.W2.T) * self.a1 * (1 - self.a1)
        self.dW3 = self.a2.T @ d3
        self.dW2 = self.a1.T @ d2
        self.dW1 = self.x.T @ d1

    def update(self, lr=None):
        lr = self.lr if lr is None else lr
        self.W1 = self.W1 - lr * self.dW1
        self.W2 = self.W2 - lr * self.dW2
        self.W3 = self.W3 - lr * self.dW3


def train(nn, X, Y, epochs=2000):
    rng = np.random.default_rng()
    curve = []
    for epoch in range(epochs):
        losses = []
        for i in rng.permutation(len(X)):
            y_hat = nn.predict(X[i:i + 1])
            losses.append(float(np.mean((y_hat - Y[i:i + 1]) ** 2)))
            nn.backprop(Y[i:i + 1])
            nn.update()
        curve.append(np.mean(losses))
        if epoch % 200 == 0:
            print(f'epoch {epoch:5d} loss: {curve[-1]:.6f}')
        if max(losses) < 0.04:
            break
    return curve


if __name__ == '__main__':
    X, Y = generate_XOR_easy()
    nn = NN()
    curve = train(nn, X, Y)
    pred = nn.predict(X)
    print(pred)
    labels = (pred >= 0.5).astype(int)
    print('accuracy:', np.mean(labels == Y))
    plt.plot(curve)
    plt.title('learning curve')
    plt.show()
    show_result(X, Y, labels)
