# DLP Lab1 - Backpropagation
# 0856003 吳承翰 (Wu)
# Network: 2 -> 3 -> 3 -> 1, sigmoid everywhere, every layer has a bias, MSE loss,
# trained one sample at a time (like the TA's template) on both datasets.
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

def derivative(f, *args):
    return f(*args, derivative=True)


def sigmoid(x, derivative=False):
    # derivative=True: x is already the output of the sigmoid (stored in self.layers)
    if derivative:
        return np.multiply(x, 1.0 - x)
    return 1.0 / (1.0 + np.exp(-x))


def mse(y_pred, y_data, derivative=False):
    if derivative:
        return 2 * (y_pred - y_data) / y_data.shape[0]
    return np.mean((y_pred - y_data) ** 2)


class NN:
    """Dense Layer (with bias)"""

    def __init__(self, dim, activation=sigmoid, loss=mse):
        def init_weights(d):
            return np.random.uniform(-1, 1, d)

        self.layers = [None] * len(dim)
        self.weights = [init_weights(d) for d in zip(dim[:-1], dim[1:])]
        self.biases = [np.zeros((1, d)) for d in dim[1:]]
        self.act = activation
        self.loss = loss
        self.dW = [np.zeros_like(w) for w in self.weights]
        self.db = [np.zeros_like(b) for b in self.biases]

    def predict(self, X):
        Z = X
        self.layers[0] = np.array(Z)
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            Z = self.act(Z @ W + b)
            self.layers[i + 1] = np.array(Z)
        return Z

    def backprop(self, y_data):
        y_pred = self.layers[-1]
        # gradient at the output layer before its sigmoid
        dz = derivative(self.loss, y_pred, y_data) * derivative(self.act, y_pred)
        for i in reversed(range(len(self.weights))):
            Z = self.layers[i]
            self.dW[i] = Z.T @ dz
            self.db[i] = np.sum(dz, axis=0, keepdims=True)
            if i > 0:
                dz = (dz @ self.weights[i].T) * derivative(self.act, Z)

    def update(self, lr):
        for i in range(len(self.weights)):
            self.weights[i] -= lr * self.dW[i]
            self.biases[i] -= lr * self.db[i]


def train(nn, X, Y, lr=0.8, max_epoch=3000, name=''):
    curve = []
    for epoch in range(1, max_epoch + 1):
        loss = []
        for x, y in zip(X, Y):
            x, y = x.reshape(1, -1), y.reshape(1, -1)
            y_pred = nn.predict(x)
            nn.backprop(y)
            nn.update(lr)
            loss.append(mse(y_pred, y))
        curve.append(np.mean(loss))
        if epoch % 100 == 0:
            print(name, 'epoch', epoch, 'loss:', curve[-1])
        if all(np.array(loss) < 0.04):
            print(name, 'converged after', epoch, 'epochs')
            break
    return curve


np.random.seed(3)
for name, (X, Y) in [('linear', generate_linear()), ('XOR', generate_XOR_easy())]:
    nn = NN(dim=[2, 3, 3, 1])
    curve = train(nn, X, Y, lr=0.8, name=name)
    pred = nn.predict(X)
    print(pred)
    Y_pred = (pred >= 0.5).astype(int)
    print(name, 'accuracy: {:.2f}%'.format(np.mean(Y_pred == Y) * 100))

    plt.figure()
    plt.plot(curve)
    plt.title(name + ' learning curve')
    plt.xlabel('epoch')
    plt.ylabel('loss')
    plt.show()

    plt.figure()
    show_result(X, Y, Y_pred)
