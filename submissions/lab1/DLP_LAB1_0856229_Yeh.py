"""
DLP Lab1 - Backpropagation
0856229 葉家豪 (Yeh, C.-H.)

Written in plain Python from the "neural network from scratch" tutorial: every neuron is a dict
with its weights (the bias last), its output and its delta.  NumPy only makes the data.
"""
import math
import random

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


class PlainNet:
    def __init__(self):
        self.layers = []
        self.l_rate = 1.0

    def add_layer(self, n_neurons, n_inputs):
        self.layers.append([{"weights": [random.uniform(-1, 1) for _ in range(n_inputs + 1)]}
                            for _ in range(n_neurons)])

    @staticmethod
    def transfer(activation):
        return 1.0 / (1.0 + math.exp(-activation))

    def forward(self, row):
        inputs = list(row)
        for layer in self.layers:
            outputs = []
            for neuron in layer:
                activation = neuron["weights"][-1]
                for w, x in zip(neuron["weights"][:-1], inputs):
                    activation += w * x
                neuron["output"] = self.transfer(activation)
                outputs.append(neuron["output"])
            inputs = outputs
        return inputs

    def backward(self, expected):
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            for j, neuron in enumerate(layer):
                if i == len(self.layers) - 1:
                    error = 2 * (neuron["output"] - expected[j])
                else:
                    error = sum(n["weights"][j] * n["delta"] for n in self.layers[i + 1])
                neuron["delta"] = error * neuron["output"] * (1.0 - neuron["output"])

    def update(self, row):
        inputs = list(row)
        for layer in self.layers:
            for neuron in layer:
                for k, x in enumerate(inputs):
                    neuron["weights"][k] -= self.l_rate * neuron["delta"] * x
                neuron["weights"][-1] -= self.l_rate * neuron["delta"]
            inputs = [neuron["output"] for neuron in layer]

    def train(self, X, Y, epochs):
        losses = []
        for epoch in range(epochs):
            total = 0.0
            for row, label in zip(X, Y):
                out = self.forward(row)
                total += (out[0] - label[0]) ** 2
                self.backward(label)
                self.update(row)
            losses.append(total / len(X))
            if epoch % 200 == 0:
                print(f"epoch {epoch:4d} loss : {losses[-1]:.5f}")
        return losses


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


if __name__ == "__main__":
    random.seed(3)
    np.random.seed(3)
    x, y = generate_XOR_easy()
    net = PlainNet()
    net.add_layer(4, 2)
    net.add_layer(4, 4)
    net.add_layer(1, 4)
    losses = net.train(x, y, 2000)
    pred = [int(net.forward(row)[0] > 0.5) for row in x]
    print(f"accuracy: {np.mean(np.array(pred) == y.reshape(-1)) * 100:.1f}%")
    plt.plot(losses)
    plt.title("learning curve")
    plt.show()
    show_result(x, y, pred)
