"""
DLP Lab1 - Backpropagation  (0856215 Chiu / 邱)
One call of train() is one full-batch gradient step.
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


class NeuralNet:
    def __init__(self):
        self.Wa = np.random.uniform(-1, 1, (2, 5))
        self.Wb = np.random.uniform(-1, 1, (5, 5))
        self.Wc = np.random.uniform(-1, 1, (5, 1))

    def forward(self, X):
        self.h1 = sigmoid(X @ self.Wa)
        self.h2 = sigmoid(self.h1 @ self.Wb)
        self.o = sigmoid(self.h2 @ self.Wc)
        return self.o

    def train(self, X, y):
        o = self.forward(X)
        err = y - o                      # half squared error: its gradient is -(y - o)
        delta_o = err * o * (1 - o)
        delta_2 = delta_o @ self.Wc.T * self.h2 * (1 - self.h2)
        delta_1 = delta_2 @ self.Wb.T * self.h1 * (1 - self.h1)
        self.Wc += 0.5 * self.h2.T @ delta_o
        self.Wb += 0.5 * self.h1.T @ delta_2
        self.Wa += 0.5 * X.T @ delta_1
        return float(np.mean(err ** 2))


if __name__ == '__main__':
    np.random.seed(215)
    for X, y in (generate_linear(100), generate_XOR_easy()):
        model = NeuralNet()
        history = []
        for i in range(30000):
            if i % 3000 == 0:
                print('step', i, 'loss', np.mean((model.forward(X) - y) ** 2))
            history.append(model.train(X, y))
        labels = (model.forward(X) > 0.5).astype(int)
        print('acc =', (labels == y).mean())
        plt.figure()
        plt.plot(history)
        plt.figure()
        show_result(X, y, labels)
