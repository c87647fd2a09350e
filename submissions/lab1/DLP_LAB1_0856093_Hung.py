# DLP Lab1 反向傳播 (backpropagation)
# 0856093 洪梓軒 (Hung)
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
    return 1.0 / (1.0 + np.exp(-x))


def mse(y_pred, y_data, derivative=False):
    if derivative:
        return 2 * (y_pred - y_data) / len(y_data)
    return np.mean((y_pred - y_data) ** 2)


class NN:
    """Dense Layer"""

    def __init__(self, dim, activation=sigmoid, loss=mse):
        self.layers = [None] * len(dim)
        self.weights = [np.random.uniform(-1, 1, (a, b)) for a, b in zip(dim[:-1], dim[1:])]
        self.grads = [np.zeros_like(w) for w in self.weights]
        self.act = activation
        self.loss = loss

    def predict(self, X):
        self.layers[0] = X
        for i in range(len(self.weights)):
            self.layers[i + 1] = self.act(self.layers[i] @ self.weights[i])
        return self.layers[-1]

    def backprop(self, y_data):
        out = self.layers[-1]
        # 輸出層: dL/dy 乘上 sigmoid 的微分
        delta = self.loss(out, y_data, derivative=True) * out
        for i in range(len(self.weights) - 1, -1, -1):
            self.grads[i] = self.layers[i].T @ delta
            # 往前傳: 乘上 W 的轉置, 再乘 sigmoid 的微分
            delta = (delta @ self.weights[i].T) * self.layers[i]

    def update(self, lr):
        for i in range(len(self.weights)):
            self.weights[i] -= lr * self.grads[i]


np.random.seed(93)
nn = NN(dim=[2, 3, 3, 1])
lr = 0.8
X, Y = generate_linear()
# X, Y = generate_XOR_easy()

loss_curve = []
for epoch in range(1, 1001):
    loss = []
    for x, y in zip(X, Y):
        x, y = x.reshape(1, -1), y.reshape(1, -1)
        y_pred = nn.predict(x)
        nn.backprop(y)
        nn.update(lr)
        loss.append(mse(y_pred, y))
    loss_curve.append(np.mean(loss))
    if epoch % 50 == 0:
        print('epoch', epoch, 'loss:', loss_curve[-1])
    if all(np.array(loss) < 0.04):
        break

print(nn.predict(X))
pred = nn.predict(X)
Y_pred = [1 if p >= 0.5 else 0 for p in pred[:, 0]]
correct = sum(1 for p, t in zip(Y_pred, Y[:, 0]) if p == t)
print('Accuracy: %d / %d = %.2f' % (correct, len(Y), correct / len(Y)))

plt.plot(loss_curve)
plt.title('Learning curve')
plt.xlabel('epoch')
plt.ylabel('loss')
plt.show()
plt.figure()
show_result(X, Y, Y_pred)
