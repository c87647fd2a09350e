# -*- coding: utf-8 -*-
# DLP 2020 Lab1 back propagation  --  0856023 郭彥廷 (Kuo)
# Layers are objects (like PyTorch's nn.Linear + Sigmoid), a Model chains them.
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

def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class Dense:
    """One fully connected layer followed by a sigmoid."""

    def __init__(self, in_features, out_features):
        self.weight = np.random.normal(0, 1, (in_features, out_features))
        self.bias = np.zeros((1, out_features))
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = np.zeros_like(self.bias)

    def forward(self, x):
        self.input = x
        self.output = sigmoid(x @ self.weight + self.bias)
        return self.output

    def backward(self, grad_output):
        # grad_output = dL / d(output of this layer)
        grad_z = grad_output * self.output * (1 - self.output)
        self.grad_weight = self.input.T @ grad_z
        self.grad_bias = np.sum(grad_z, axis=0, keepdims=True)
        return grad_z @ self.weight.T


class Model:
    def __init__(self, dim=(2, 3, 3, 1)):
        self.layers = [Dense(dim[i], dim[i + 1]) for i in range(len(dim) - 1)]
        self.output = None

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        self.output = x
        return x

    def loss(self, y):
        return np.mean((self.output - y) ** 2)

    def backward(self, y):
        grad = 2 * (self.output - y) / y.size
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def update(self, lr):
        for layer in self.layers:
            layer.weight -= lr * layer.grad_weight
            layer.bias -= lr * layer.grad_bias


def fit(model, X, Y, lr=0.5, epochs=2000):
    losses = []
    for epoch in range(epochs):
        order = np.random.permutation(len(X))
        for i in order:
            model.forward(X[i:i + 1])
            model.backward(Y[i:i + 1])
            model.update(lr)
        model.forward(X)
        losses.append(model.loss(Y))
        if epoch % 200 == 0:
            print('epoch %4d loss %.5f' % (epoch, losses[-1]))
        if np.all((model.output - Y) ** 2 < 0.04):
            print('epoch %4d loss %.5f (stop)' % (epoch, losses[-1]))
            break
    return losses


np.random.seed(23)

for title, (X, Y) in [('Linear', generate_linear(n=100)), ('XOR', generate_XOR_easy())]:
    model = Model(dim=[2, 3, 3, 1])
    losses = fit(model, X, Y)
    prob = model.forward(X)
    pred_y = np.round(prob).astype(int)
    print(prob)
    print('%s accuracy: %.2f%%' % (title, 100 * np.mean(pred_y == Y)))

    plt.figure()
    plt.plot(losses)
    plt.title(title + ' learning curve')
    plt.xlabel('epoch')
    plt.ylabel('loss')
    plt.show()

    plt.figure()
    show_result(X, Y, pred_y)
