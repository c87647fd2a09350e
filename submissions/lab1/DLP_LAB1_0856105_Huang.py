#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# DLP_LAB1 0856105 黃志明
# usage: python DLP_LAB1_0856105_Huang.py [xor|linear]
import sys
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
        inputs.append([0.1*i, 0.1*i])
        labels.append(0)
        if 0.1*i == 0.5:
            continue
        inputs.append([0.1*i, 1-0.1*i])
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


def derivative(f, *args):
    return f(*args, derivative=True)


def sigmoid(x, derivative=False):
    if derivative:
        return x * (1.0 - x)
    return 1.0 / (1.0 + np.exp(-x))


def mse(y_pred, y_data, derivative=False):
    if derivative:
        return 2 * (y_pred - y_data) / len(y_data)
    return np.mean((y_pred - y_data) ** 2)


class NN:
    """Dense Layer"""

    def __init__(self, dim, activation=sigmoid, loss=mse):
        self.layers = [None] * len(dim)
        self.weights = [np.random.uniform(-1, 1, (a, b)) for a, b in zip(dim[:-1], dim[1:])]
        self.grads = [None] * len(self.weights)
        self.act = activation
        self.loss = loss

    def predict(self, X):
        self.layers[0] = X
        for i, W in enumerate(self.weights):
            self.layers[i + 1] = self.act(self.layers[i] @ W)
        return self.layers[-1]

    def backprop(self, y_data)
        dz = derivative(self.loss, self.layers[-1], y_data) * derivative(self.act, self.layers[-1])
        for i in reversed(range(len(self.weights))):
            self.grads[i] = np.kron(self.layers[i].T, dz)
            dz = (dz @ self.weights[i].T) * derivative(self.act, self.layers[i])

    def update(self, lr):
        for i in range(len(self.weights)):
            self.weights[i] -= lr * self.grads[i]


def train(nn, X, Y, lr=0.8):
    epoch, done = 0, False
    curve = []
    while not done:
        loss = []
        for x, y in zip(X, Y):
            x, y = x.reshape(1, -1), y.reshape(1, -1)
            y_pred = nn.predict(x)
            nn.backprop(y)
            nn.update(lr)
            loss.append(mse(y_pred, y))
            epoch += 1
            if epoch % 5000 == 0:
                print('epoch', epoch, 'loss:', loss[-1])
        curve.append(np.mean(loss))
        done = all(np.array(loss) < 0.04)
    return curve


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else 'xor'
    X, Y = generate_linear() if data == 'linear' else generate_XOR_easy()
    nn = NN(dim=[2, 3, 3, 1])
    curve = train(nn, X, Y)

    pred = nn.predict(X)
    print(pred)
    Y_pred = (pred >= 0.5).astype(int)
    print('accuracy:', np.mean(Y_pred == Y))

    plt.plot(curve)
    plt.xlabel('epoch')
    plt.ylabel('loss')
    plt.title('Learning curve (%s)' % data)
    plt.show()
    show_result(X, Y, Y_pred)


if __name__ == '__main__':
    main()
