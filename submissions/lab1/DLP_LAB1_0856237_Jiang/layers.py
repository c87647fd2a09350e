"""A small PyTorch-like toolkit: parameters that carry their gradient, layers, a loss."""
import numpy as np


class Parameter:
    def __init__(self, data):
        self.data = data
        self.grad = np.zeros_like(data)


class Linear:
    def __init__(self, n_in, n_out):
        self.weight = Parameter(np.random.uniform(-1, 1, (n_out, n_in)))
        self.bias = Parameter(np.zeros(n_out))

    def forward(self, x):
        self.x = x
        return x @ self.weight.data.T + self.bias.data

    def backward(self, grad):
        self.weight.grad += grad.T @ self.x
        self.bias.grad += grad.sum(axis=0)
        return grad @ self.weight.data

    def parameters(self):
        return [self.weight, self.bias]


class Sigmoid:
    def forward(self, x):
        self.out = 1.0 / (1.0 + np.exp(-x))
        return self.out

    def backward(self, grad):
        return grad * self.out * (1.0 - self.out)

    def parameters(self):
        return []


class Net:
    def __init__(self, sizes):
        self.layers = []
        for n_in, n_out in zip(sizes, sizes[1:]):
            self.layers += [Linear(n_in, n_out), Sigmoid()]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


class MSELoss:
    def forward(self, pred, target):
        self.pred, self.target = pred, target
        return float(np.mean((pred - target) ** 2))

    def backward(self):
        return 2.0 * (self.pred - self.target) / self.pred.size
