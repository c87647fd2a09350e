# DLP Lab1 - Backpropagation
# 0856131 周佳穎 (Chou)
# For a 0/1 classification binary cross-entropy is the better loss, and with a sigmoid
# output its gradient is very simple: dL/dz = y_pred - y (no sigmoid' needed at the output).
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


def bce(y_pred, y_data, derivative=False):
    if derivative:
        # gradient w.r.t. the output layer's z (sigmoid and cross-entropy together)
        return (y_pred - y_data) / y_data.shape[0]
    eps = 1e-12
    return -np.mean(y_data * np.log(y_pred + eps) + (1 - y_data) * np.log(1 - y_pred + eps))


class NN:
    """Dense Layer"""

    def __init__(self, dim, activation=sigmoid, loss=bce):
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
        dz = derivative(self.loss, self.layers[-1], y_data)
        for i in reversed(range(len(self.weights))):
            Z = self.layers[i]
            dW.append(Z.T @ dz)
            dz = np.multiply(dz @ self.weights[i].T, derivative(self.act, Z))
        self.dW = dW[::-1]

    def update(self, lr):
        for i, dw in enumerate(self.dW):
            self.weights[i] -= lr * dw


np.random.seed(4)
nn = NN(dim=[2, 3, 3, 1])
lr, epoch, done = 0.8, 0, False

X, Y = generate_XOR_easy()
# X, Y = generate_linear()
curve = []
while not done:
    loss = []
    for x, y in zip(X, Y):
        x, y = x.reshape(1, -1), y.reshape(1, -1)
        y_pred = nn.predict(x)
        nn.backprop(y)
        nn.update(lr)
        loss += [bce(y_pred, y)]
        epoch += 1
        if epoch % 5000 == 0:
            print('epoch', epoch, 'loss:', loss[-1])
    curve.append(np.mean(loss))
    done = all(np.array(loss) < 0.04) or epoch >= 200000

print(nn.predict(X))
Y_pred = [int(nn.predict(x.reshape(1, -1))[0][0] >= 0.5) for x in X]
print('accuracy:', np.mean(np.array(Y_pred) == Y.ravel()))

plt.plot(curve)
plt.title('Learning curve (binary cross-entropy)')
plt.xlabel('epoch')
plt.ylabel('loss')
plt.show()
plt.figure()
show_result(X, Y, Y_pred)
