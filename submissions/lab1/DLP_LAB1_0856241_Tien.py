"""
DLP Lab1 - Backpropagation
0856241 田家豪 (Tien, C.-H.)

A network in plain Python: a list of layers, each a list of neurons {'w': [...], 'out', 'err'}
(the bias is each neuron's last weight), trained one row at a time; a row holds the two inputs
and the label last.
"""
import math
import random

import matplotlib.pyplot as plt
import numpy as np


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


def make_net(sizes):
    net = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        net.append([{'w': [random.uniform(-1, 1) for _ in range(n_in + 1)]}
                    for _ in range(n_out)])
    return net


def feed(net, row):
    values = list(row[:-1])
    for layer in net:
        nxt = []
        for neuron in layer:
            z = neuron['w'][-1] + sum(w * v for w, v in zip(neuron['w'], values))
            neuron['out'] = 1.0 / (1.0 + math.exp(-z))
            nxt.append(neuron['out'])
        values = nxt
    return values[0]


def blame(net, target):
    for i in reversed(range(len(net))):
        for j, neuron in enumerate(net[i]):
            if i == len(net) - 1:
                error = 2 * (neuron['out'] - target)
            else:
                error = sum(up['w'][j] * up['err'] for up in net[i + 1])
            neuron['err'] = error * neuron['out'] * (1 - neuron['out'])


def adjust(net, row, rate):
    values = list(row[:-1])
    for layer in net:
        for neuron in layer:
            for k, v in enumerate(values):
                neuron['w'][k] -= rate * neuron['err'] * v
            neuron['w'][-1] -= rate * neuron['err']
        values = [neuron['out'] for neuron in layer]


def fit(net, rows, rate, epochs):
    losses = []
    for epoch in range(epochs):
        total = 0.0
        for row in rows:
            out = feed(net, row)
            total += (out - row[-1]) ** 2
            blame(net, row[-1])
            adjust(net, row, rate)
        losses.append(total / len(rows))
        if epoch % 500 == 0:
            print('epoch', epoch, 'loss :', losses[-1])
    return losses


if __name__ == '__main__':
    random.seed(3)
    x, y = generate_XOR_easy()
    rows = [list(a) + [float(b)] for a, b in zip(x, y[:, 0])]
    net = make_net([2, 4, 4, 1])
    losses = fit(net, rows, 0.5, 3000)
    pred = [int(feed(net, row) > 0.5) for row in rows]
    print('accuracy :', np.mean(np.array(pred) == y[:, 0]))
    plt.plot(losses)
    plt.title('Learning curve')
    plt.show()
    plt.subplot(1, 2, 1)
    plt.scatter(x[:, 0], x[:, 1], c=y[:, 0], cmap='bwr')
    plt.subplot(1, 2, 2)
    plt.scatter(x[:, 0], x[:, 1], c=pred, cmap='bwr')
    plt.show()
