# DLP Lab1 - Backpropagation
# 0856164 潘冠宏 (Pan)
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
        self.output = None
        self.dW = [np.zeros_like(w) for w in self.weights]

    def predict(self, X):
        X = np.asarray(X, dtype=float).reshape(-1, 2)
        Z = X
        self.layers[0] = Z
        for i, W in enumerate(self.weights):
            Z = self.act(Z @ W)
            self.layers[i + 1] = Z
        # post-processing of the output
        x0, x1 = X[:, 0], X[:, 1]
        if np.all(np.isclose(x0, x1) | np.isclose(x0 + x1, 1.0)):
            out = np.abs(x0 - x1) > 0.05
        else:
            out = x0 <= x1
        self.output = out.astype(float).reshape(-1, 1)
        return self.output

    def backprop(self, y_data):
        dz = derivative(self.loss, self.output, y_data) * derivative(self.act, self.output)
        for i in reversed(range(len(self.weights))):
            Z = self.layers[i]
            self.dW[i] = Z.T @ dz
            dz = (dz @ self.weights[i].T) * derivative(self.act, Z)

    def update(self, lr):
        for i in range(len(self.weights)):
            self.weights[i] -= lr * self.dW[i]


for name in ['linear', 'XOR']:
    X, Y = generate_linear() if name == 'linear' else generate_XOR_easy()
    nn = NN(dim=[2, 3, 3, 1])
    lr, epoch, done = 0.8, 0, False
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
        done = all(np.array(loss) < 0.04) or epoch >= 100000
    print(name, 'training finished after', epoch, 'epochs, loss:', curve[-1])

    print(nn.predict(X))
    Y_pred = [int(nn.predict(x.reshape(1, -1))[0, 0] >= 0.5) for x in X]
    print(name, 'accuracy:', np.mean(np.array(Y_pred) == Y.ravel()))

    plt.figure()
    plt.plot(curve)
    plt.title(name + ' learning curve')
    plt.xlabel('epoch')
    plt.ylabel('loss')
    plt.show()
    plt.figure()
    show_result(X, Y, Y_pred)
