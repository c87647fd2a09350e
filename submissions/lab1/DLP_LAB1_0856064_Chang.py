#!/usr/bin/env python
# coding: utf-8
#
# Lab1 Backpropagation -- 0856064 張書豪 (Chang)
# parameters / cache / grads dictionaries, the way I learned it in the deeplearning.ai course.
# loss: J = 1/(2m) * sum((A3 - Y)^2)
import numpy as np
import matplotlib.pyplot as plt


def generate_linear(n=100):
    import numpy as np
    pts = np.random.uniform(0, 1, (n, 2))
    inputs = []
    labels = []
    for pt in pts:
        inputs.append([pt[0], pt[1]])
        distance = (pt[0]-pt[1])/1.414
        if pt[0] > pt[1]:
            labels.append(0)
        else:
            labels.append(1)
    return np.array(inputs), np.array(labels).reshape(n, 1)


def generate_XOR_easy():
    import numpy as np
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
    import matplotlib.pyplot as plt
    plt.subplot(1,2,1)
    plt.title('Ground truth', fontsize=18)
    for i in range(x.shape[0]):
        if y[i] == 0:
            plt.plot(x[i][0], x[i][1], 'ro')
        else:
            plt.plot(x[i][0], x[i][1], 'bo')

    plt.subplot(1,2,2)
    plt.title('Predict result', fontsize=18)
    for i in range(x.shape[0]):
        if pred_y[i] == 0:
            plt.plot(x[i][0], x[i][1], 'ro')
        else:
            plt.plot(x[i][0], x[i][1], 'bo')

    plt.show()

def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def sigmoid_backward(Z):
    s = sigmoid(Z)
    return s * (1 - s)


def compute_cost(A, Y):
    m = Y.shape[0]
    return np.sum((A - Y) ** 2) / (2 * m)


class NeuralNetwork:
    def __init__(self, layer_dims=(2, 3, 3, 1)):
        self.L = len(layer_dims) - 1
        self.parameters = {}
        for l in range(1, self.L + 1):
            self.parameters['W' + str(l)] = np.random.randn(layer_dims[l - 1], layer_dims[l])
            self.parameters['b' + str(l)] = np.zeros((1, layer_dims[l]))
        self.grads = {}

    def forwardPass(self, X):
        cache = {'A0': X}
        A = X
        for l in range(1, self.L + 1):
            Z = A @ self.parameters['W' + str(l)] + self.parameters['b' + str(l)]
            A = sigmoid(Z)
            cache['Z' + str(l)] = Z
            cache['A' + str(l)] = A
        return A, cache

    def backwardPass(self, Y, cache):
        m = Y.shape[0]
        dA = (cache['A' + str(self.L)] - Y) / m
        for l in reversed(range(1, self.L + 1)):
            dZ = dA * sigmoid_backward(cache['Z' + str(l)])
            self.grads['dW' + str(l)] = cache['A' + str(l - 1)].T @ dZ
            self.grads['db' + str(l)] = np.sum(dZ, axis=0, keepdims=True)
            dA = dZ @ self.parameters['W' + str(l)].T
        return self.grads

    def update(self, lr):
        for l in range(1, self.L + 1):
            self.parameters['W' + str(l)] -= lr * self.grads['dW' + str(l)]
            self.parameters['b' + str(l)] -= lr * self.grads['db' + str(l)]


np.random.seed(64)
datasets = {'linear': generate_linear(n=100), 'XOR': generate_XOR_easy()}
learning_rate = 4.0

for name, (X, Y) in datasets.items():
    model = NeuralNetwork([2, 3, 3, 1])
    costs = []
    for i in range(40000):
        A3, cache = model.forwardPass(X)
        cost = compute_cost(A3, Y)
        costs.append(cost)
        model.backwardPass(Y, cache)
        model.update(learning_rate)
        if i % 2000 == 0:
            print('%s  epoch %d  loss: %f' % (name, i, cost))
        if np.max((A3 - Y) ** 2) < 0.04:
            print('%s  converged at epoch %d' % (name, i))
            break

    A3, _ = model.forwardPass(X)
    print(A3)
    predictions = (A3 > 0.5).astype(int)
    print('%s accuracy: %.2f %%' % (name, np.mean(predictions == Y) * 100))

    plt.figure()
    plt.plot(np.squeeze(costs))
    plt.ylabel('cost')
    plt.xlabel('epoch')
    plt.title(name + ', learning rate = ' + str(learning_rate))
    plt.show()

    plt.figure()
    show_result(X, Y, predictions)
