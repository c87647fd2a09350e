# DLP Lab1 - Backpropagation
# 0856071 李承恩 (Lee)
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

        self.layers = [None] * len(dim)      # outputs a = sigma(z) of every layer
        self.z = [None] * (len(dim) - 1)     # inputs z = a @ W of every sigmoid
        self.weights = [init_weights(d) for d in zip(dim[:-1], dim[1:])]
        self.dW = [None] * len(self.weights)
        self.act = activation
        self.loss = loss

    def predict(self, X):
        self.layers[0] = np.array(X)
        for i, W in enumerate(self.weights):
            self.z[i] = self.layers[i] @ W
            self.layers[i + 1] = self.act(self.z[i])
        return self.layers[-1]

    def backprop(self, y_data):
        # chain rule: dL/dz = dL/da * da/dz = dL/da * sigma'(z)
        dz = derivative(self.loss, self.layers[-1], y_data) * derivative(self.act, self.z[-1])
        for i in reversed(range(len(self.weights))):
            self.dW[i] = np.kron(self.layers[i].T, dz)
            if i > 0:
                dz = np.multiply(dz @ self.weights[i].T, derivative(self.act, self.z[i - 1]))

    def update(self, lr):
        for i in range(len(self.weights)):
            self.weights[i] -= lr * self.dW[i]


np.random.seed(71)
nn = NN(dim=[2, 3, 3, 1])
lr = 0.8

X, Y = generate_XOR_easy()
# X, Y = generate_linear()
step = 0
curve = []
for epoch in range(10000):
    loss = []
    for x, y in zip(X, Y):
        x, y = x.reshape(1, -1), y.reshape(1, -1)
        y_pred = nn.predict(x)
        nn.backprop(y)
        nn.update(lr)
        loss += [mse(y_pred, y)]
        step += 1
        if step % 5000 == 0:
            print('epoch', step, 'loss:', loss[-1])
    curve.append(np.mean(loss))
    if all(np.array(loss) < 0.04):
        break

print(nn.predict(X))
Y_pred = [int(nn.predict(x.reshape(1, -1))[0, 0] >= 0.5) for x in X]
print('accuracy:', np.mean(np.array(Y_pred).reshape(-1, 1) == Y))

plt.plot(curve)
plt.title('Learning curve')
plt.xlabel('epoch')
plt.ylabel('loss')
plt.show()

plt.figure()
show_result(X, Y, Y_pred)
