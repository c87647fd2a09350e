"""
DLP Lab1 Backpropagation
0856082 鄭宇翔 (Cheng)
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
        def init_weights(d):
            return np.random.uniform(-1, 1, d)

        self.layers = [None] * len(dim)
        self.weights = [init_weights(d) for d in zip(dim[:-1], dim[1:])]
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
        y_pred = self.layers[-1]
        # output layer: dL/dy * sigmoid'
        dz = np.multiply(derivative(self.loss, y_pred, y_data), derivative(self.act, y_pred))
        self.dW = []
        for i in reversed(range(len(self.weights))):
            Z = self.layers[i]
            self.dW.insert(0, Z.T @ dz)
            # pass the error back to the previous layer
            dz = dz @ self.weights[i].T

    def update(self, lr):
        for i in range(len(self.weights)):
            self.weights[i] -= lr * self.dW[i]


np.random.seed(82)
nn = NN(dim=[2, 3, 3, 1])
lr, epoch, done = 0.8, 0, False

X, Y = generate_linear()
# X, Y = generate_XOR_easy()
history = []
while not done and epoch < 500000:
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
    history.append(np.mean(loss))
    done = all(np.array(loss) < 0.04)

print(nn.predict(X))
Y_pred = [int(nn.predict(x.reshape(1, -1)).item() >= 0.5) for x in X]
print('accuracy:', sum(int(p == t) for p, t in zip(Y_pred, Y[:, 0])) / len(Y))

plt.plot(history)
plt.xlabel('epoch')
plt.ylabel('loss')
plt.title('learning curve')
plt.show()
plt.figure()
show_result(X, Y, Y_pred)
