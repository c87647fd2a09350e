# DLP Lab1 Backpropagation
# 0856037 許家豪 (Hsu)
#
# one sample at a time, so every vector here is 1-D:
#   a0 = x (2,)  ->  a1 (3,)  ->  a2 (3,)  ->  y (1,)
# the learning rate is given when the network is created: NN(dim, lr=0.8)
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

def sigmoid(x, derivative=False):
    if derivative:
        # x = sigmoid(z)
        return x * (1 - x)
    return 1 / (1 + np.exp(-x))


def mse(y_pred, y_data, derivative=False):
    if derivative:
        # d/dy of (y - y_hat)^2, the constant 2 does not matter (learning rate takes it)
        return y_pred - y_data
    return np.mean((y_pred - y_data) ** 2)


class NN:
    def __init__(self, dim, lr=0.8, activation=sigmoid, loss=mse):
        self.lr = lr
        self.act = activation
        self.loss = loss
        self.weights = [np.random.uniform(-1, 1, (dim[i], dim[i + 1])) for i in range(len(dim) - 1)]
        self.a = []
        self.grads = []

    def predict(self, x):
        a = np.asarray(x, dtype=float).flatten()
        self.a = [a]
        for W in self.weights:
            a = self.act(np.dot(a, W))
            self.a.append(a)
        return a

    def backprop(self, y):
        y = np.asarray(y, dtype=float).flatten()
        delta = self.loss(self.a[-1], y, derivative=True) * self.act(self.a[-1], derivative=True)
        self.grads = [None] * len(self.weights)
        for i in reversed(range(len(self.weights))):
            self.grads[i] = np.outer(self.a[i], delta)
            delta = np.dot(self.weights[i], delta) * self.act(self.a[i], derivative=True)

    def update(self):
        for i in range(len(self.weights)):
            self.weights[i] -= self.lr * self.grads[i]


np.random.seed(37)
X, Y = generate_linear(n=100)
# X, Y = generate_XOR_easy()

nn = NN([2, 3, 3, 1], lr=0.8)
loss_history = []
for epoch in range(1, 5001):
    loss = []
    for x, y in zip(X, Y):
        y_pred = nn.predict(x)
        nn.backprop(y)
        nn.update()
        loss.append(mse(y_pred, y))
    loss_history.append(np.mean(loss))
    if epoch % 50 == 0:
        print('epoch', epoch, 'loss:', loss_history[-1])
    if max(loss) < 0.04:
        print('finish at epoch', epoch)
        break

Y_pred = []
for x in X:
    print(nn.predict(x))
    Y_pred.append(1 if nn.predict(x)[0] >= 0.5 else 0)
acc = sum(int(p == t) for p, t in zip(Y_pred, Y.ravel())) / len(Y)
print('accuracy:', acc)

plt.plot(loss_history)
plt.xlabel('epoch')
plt.ylabel('loss')
plt.title('learning curve')
plt.show()

plt.figure()
show_result(X, Y, Y_pred)
