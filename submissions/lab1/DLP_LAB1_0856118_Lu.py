# DLP Lab1  0856118 呂明哲 (Lu)
# Dense network with biases, trained on the WHOLE dataset at once (full-batch gradient descent)
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
        return 2 * (y_pred - y_data) / y_data.shape[0]
    return np.mean((y_pred - y_data) ** 2)


class Dense:
    """Dense Layer"""

    def __init__(self, dim, activation=sigmoid, loss=mse):
        self.layers = [None] * len(dim)
        self.weights = [np.random.uniform(-1, 1, d) for d in zip(dim[:-1], dim[1:])]
        self.biases = [np.random.uniform(-1, 1, (1, n)) for n in dim[1:]]
        self.act = activation
        self.loss = loss
        self.dW = [None] * len(self.weights)
        self.db = [None] * len(self.biases)

    def predict(self, X):
        Z = X
        self.layers[0] = Z
        for i in range(len(self.weights)):
            Z = self.act(Z @ self.weights[i] + self.biases[i])
            self.layers[i + 1] = Z
        return Z

    def backprop(self, y_data):
        dz = derivative(self.loss, self.layers[-1], y_data) * derivative(self.act, self.layers[-1])
        for i in reversed(range(len(self.weights))):
            self.dW[i] = self.layers[i].T @ dz
            self.db[i] = np.mean(dz, axis=0, keepdims=True)   # average over the batch
            dz = (dz @ self.weights[i].T) * derivative(self.act, self.layers[i])

    def update(self, lr):
        for i in range(len(self.weights)):
            self.weights[i] -= lr * self.dW[i]
            self.biases[i] -= lr * self.db[i]


np.random.seed(118)
for task in ['linear', 'XOR']:
    X, Y = generate_linear() if task == 'linear' else generate_XOR_easy()
    nn = Dense(dim=[2, 3, 3, 1])
    lr = 2.0
    curve = []
    for epoch in range(1, 30001):
        y_pred = nn.predict(X)
        curve.append(mse(y_pred, Y))
        nn.backprop(Y)
        nn.update(lr)
        if epoch % 1000 == 0:
            print(task, 'epoch', epoch, 'loss:', curve[-1])
        if np.all((y_pred - Y) ** 2 < 0.04):
            print(task, 'finished at epoch', epoch)
            break
    Y_pred = (nn.predict(X) >= 0.5).astype(int)
    print(nn.predict(X))
    print(task, 'accuracy:', np.mean(Y_pred == Y))
    plt.figure()
    plt.plot(curve)
    plt.title(task + ' learning curve')
    plt.xlabel('epoch')
    plt.ylabel('loss')
    plt.show()
    plt.figure()
    show_result(X, Y, Y_pred)
