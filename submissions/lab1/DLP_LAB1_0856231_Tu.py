"""
DLP Lab1 - Backpropagation
0856231 杜承翰 (Tu, C.-H.)

The weights live in a small Params object; training() goes through the data set one sample
at a time by index, writing every layer's output into arrays prepared before the loop.
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


def derivative_sigmoid(a):
    return np.multiply(a, 1.0 - a)


class Params():
    def __init__(self, dims):
        self.weight = [np.random.uniform(-1, 1, size=(dims[i], dims[i + 1]))
                       for i in range(len(dims) - 1)]


def training(itr, lr, width, x, y_):
    m = Params([2, width, width, 1])
    n = len(x)
    h1 = np.zeros([n, width])
    h2 = np.zeros([n, width])
    y = np.zeros([n, 1])
    pred_y = np.zeros([n, 1])
    loss = np.zeros([itr, 1])
    for epoch in range(itr):
        for i in range(n):
            # forward
            h1[i] = sigmoid(x[i] @ m.weight[0])
            h2[i] = sigmoid(h1[i] @ m.weight[1])
            y[i] = sigmoid(h2[i] @ m.weight[2])
            # backward
            d3 = 2 * (y[i] - y_[i]) * derivative_sigmoid(y[i])
            d2 = (m.weight[2].T * d3) * derivative_sigmoid(h2[i])
            d1 = (d2 @ m.weight[1].T) * derivative_sigmoid(h1[i])
            # update
            m.weight[2] -= lr * h2[i].reshape(width, 1) * d3
            m.weight[1] -= lr * h1[i].reshape(width, 1) @ d2
            m.weight[0] -= lr * x[i].reshape(2, 1) @ d1
        loss[epoch] = np.mean((y - y_) ** 2)
        if epoch % 500 == 0:
            print('epoch', epoch, 'loss :', loss[epoch, 0])
    pred_y = (y > 0.5).astype(int)
    print('Accuracy :', np.mean(pred_y == y_))
    show_result(x, y_, pred_y)
    plt.plot(loss)
    plt.title('Learning curve')
    plt.show()


if __name__ == '__main__':
    np.random.seed(3)
    x, y_ = generate_XOR_easy()
    training(2000, 0.5, 4, x, y_)
