"""
DLP Lab1 Backpropagation -- 0856129 柯志偉 (Ko)
mini-batch version: the whole dataset goes through the network at once and the
gradients are averaged over the m samples of the batch.
"""
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
        return 2 * (y_pred - y_data)
    return np.mean((y_pred - y_data) ** 2)


class NN:
    """Dense Layer"""

    def __init__(self, dim, activation=sigmoid, loss=mse):
        self.layers = [None] * len(dim)
        self.weights = [np.random.uniform(-1, 1, d) for d in zip(dim[:-1], dim[1:])]
        self.dW = [np.zeros_like(w) for w in self.weights]
        self.act = activation
        self.loss = loss

    def predict(self, X):
        Z = X
        self.layers[0] = np.array(Z)
        for i, W in enumerate(self.weights):
            Z = self.act(Z @ W)
            self.layers[i + 1] = np.array(Z)
        return Z

    def backprop(self, y_data):
        m = y_data.shape[0]
        x, a1, a2, y_pred = self.layers
        d3 = derivative(self.loss, y_pred, y_data) * derivative(self.act, y_pred)
        self.dW[2] = a2.T @ d3 / m
        d2 = (d3 @ self.weights[2].T) * derivative(self.act, a2)
        self.dW[1] = a1.T @ d2 / m
        d1 = (d2 @ self.weights[1].T) * derivative(self.act, a1)
        self.dW[0] = x.T @ d1

    def update(self, lr):
        for i in range(len(self.weights)):
            self.weights[i] -= lr * self.dW[i]


np.random.seed(129)
X, Y = generate_XOR_easy()
# X, Y = generate_linear()
nn = NN(dim=[2, 3, 3, 1])
lr = 1.0
batch_size = 7
loss_curve = []
for epoch in range(1, 20001):
    idx = np.random.permutation(len(X))
    for start in range(0, len(X), batch_size):
        batch = idx[start:start + batch_size]
        nn.predict(X[batch])
        nn.backprop(Y[batch])
        nn.update(lr)
    y_pred = nn.predict(X)
    loss_curve.append(mse(y_pred, Y))
    if epoch % 100 == 0:
        print('epoch', epoch, 'loss:', loss_curve[-1])
    if np.all((y_pred - Y) ** 2 < 0.04):
        print('converged at epoch', epoch)
        break

y_pred = nn.predict(X)
print(y_pred)
Y_pred = (y_pred >= 0.5).astype(int)
print('accuracy: {}%'.format(np.mean(Y_pred == Y) * 100))

plt.plot(loss_curve)
plt.title('Learning curve')
plt.xlabel('epoch')
plt.ylabel('loss')
plt.show()
plt.figure()
show_result(X, Y, Y_pred)
