# DLP Lab1 - Backpropagation
# 0856153 蘇柏宇 (Su)
# The network itself is pure numpy.  If PyTorch happens to be installed, check_with_torch()
# compares my gradients with autograd (I used it while debugging).
import numpy as np
import matplotlib.pyplot as plt

try:
    import torch
except ImportError:
    torch = None


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

def derivative(f, *args):
    return f(*args, derivative=True)


def sigmoid(x, derivative=False):
    if derivative:
        return np.multiply(x, 1.0 - x)
    return 1.0 / (1.0 + np.exp(-x))


def mse(y_pred, y_data, derivative=False):
    if derivative:
        return 2 * (y_pred - y_data) / y_data.size
    return np.mean((y_pred - y_data) ** 2)


class NN:
    """Dense Layer"""

    def __init__(self, dim, activation=sigmoid, loss=mse):
        def init_weights(d):
            return np.random.uniform(-1, 1, d)

        self.layers = [None] * len(dim)
        self.weights = [init_weights(d) for d in zip(dim[:-1], dim[1:])]
        self.act = activation
        self.loss = loss
        self.dW = []

    def predict(self, X):
        Z = X
        self.layers[0] = np.array(Z)
        for i, W in enumerate(self.weights):
            Z = self.act(Z @ W)
            self.layers[i + 1] = np.array(Z)
        return Z

    def backprop(self, y_data):
        dW = []
        y_pred = self.layers[-1]
        dz = np.multiply(derivative(self.loss, y_pred, y_data), derivative(self.act, y_pred))
        for i in reversed(range(len(self.weights))):
            Z = self.layers[i]
            dW.append(Z.T @ dz)
            dz = np.multiply(dz @ self.weights[i].T, derivative(self.act, Z))
        self.dW = dW[::-1]

    def update(self, lr):
        for i, dw in enumerate(self.dW):
            self.weights[i] -= lr * dw


def check_with_torch(nn, x, y):
    """compare my backprop with torch.autograd on one sample"""
    if torch is None:
        print('(torch is not installed, gradient check skipped)')
        return
    Ws = [torch.tensor(w, requires_grad=True) for w in nn.weights]
    a = torch.tensor(x)
    for W in Ws:
        a = torch.sigmoid(a @ W)
    loss = ((a - torch.tensor(y, dtype=torch.float64)) ** 2).mean()
    loss.backward()
    nn.predict(x)
    nn.backprop(y)
    for i, W in enumerate(Ws):
        print('layer', i, 'max |torch - mine| =', np.abs(W.grad.numpy() - nn.dW[i]).max())


np.random.seed(153)
nn = NN(dim=[2, 3, 3, 1])
lr, epoch, done = 0.8, 0, False

X, Y = generate_linear()
# X, Y = generate_XOR_easy()
check_with_torch(nn, X[:1], Y[:1].astype(float))

curve = []
while not done:
    loss = []
    for x, y in zip(X, Y):
        x, y = x.reshape(1, -1), y.reshape(1, -1)
        y_pred = nn.predict(x)
        nn.backprop(y)
        nn.update(lr)
        loss += [mse(y_pred, y)]
        epoch += 1
        if epoch % 5000 == 0:
            print('epoch', epoch, 'loss:', loss[-1])
    curve.append(np.mean(loss))
    done = all(np.array(loss) < 0.04) or epoch >= 200000

print(nn.predict(X))
Y_pred = [int(nn.predict(x.reshape(1, -1)).item() >= 0.5) for x in X]
print('accuracy:', np.mean(np.array(Y_pred) == Y.ravel()))

plt.plot(curve)
plt.title('Learning curve')
plt.xlabel('epoch')
plt.ylabel('loss')
plt.show()
plt.figure()
show_result(X, Y, Y_pred)
