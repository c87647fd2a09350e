"""
DLP Lab1 Backpropagation
student: 0856042 林育賢
two hidden layers (3, 3), sigmoid, MSE, train one sample at a time
"""
import numpy as np
import matplotlib.pyplot as plt


# ---------------- data (TA's functions) ----------------
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


# ---------------- helper functions ----------------
def derivative(f, *args):
    return f(*args, derivative=True)


def sigmoid(x, derivative=False):
    if derivative == True:
        # x 是 sigmoid 的輸出
        return x * (1 - x)
    return 1 / (1 + np.exp(-x))


def mse(y_pred, y_data, derivative=False):
    if derivative == True:
        return 2 * (y_pred - y_data)
    return np.mean(np.square(y_pred - y_data))


# ---------------- model ----------------
class NN:
    """Dense Layer"""

    def __init__(self, dim, activation=sigmoid, loss=mse):
        def init_weights(d):
            return np.random.uniform(-1, 1, size=d)

        self.layers = [None] * len(dim)
        self.weights = [init_weights(d) for d in zip(dim[:-1], dim[1:])]
        self.gradients = [np.zeros_like(w) for w in self.weights]
        self.act = activation
        self.loss = loss

    def predict(self, X):
        self.layers[0] = X
        for i in range(len(self.weights)):
            # 下一層 = sigmoid(這一層 . W)
            self.layers[i + 1] = self.act(np.dot(self.layers[i], self.weights[i]))
        return self.layers[-1]

    def backprop(self, y_data):
        # output layer 的 delta
        delta = derivative(self.loss, self.layers[-1], y_data) * derivative(self.act, self.layers[-1])
        for i in range(len(self.weights) - 1, -1, -1):
            self.gradients[i] = np.dot(self.layers[i].T, delta)
            # 往前一層傳
            delta = np.dot(delta, self.weights[i].T) * derivative(self.act, self.layers[i])

    def update(self, lr):
        for i in range(len(self.weights)):
            self.weights[i] += lr * self.gradients[i]


nn = NN(dim=[2, 3, 3, 1])
lr, epoch, done = 0.8, 0, False

X, Y = generate_XOR_easy()
# X, Y = generate_linear()
history = []
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
    history.append(sum(loss) / len(loss))
    done = all(np.array(loss) < 0.04)

# ---------------- result ----------------
print(nn.predict(X))
Y_pred = [int(nn.predict(x.reshape(1, -1))[0][0] >= 0.5) for x in X]
correct = 0
for i in range(len(Y)):
    if Y_pred[i] == Y[i][0]:
        correct += 1
print('Accuracy:', correct / len(Y) * 100, '%')

plt.plot(history)
plt.title('learning curve')
plt.xlabel('epoch')
plt.ylabel('loss')
plt.show()

show_result(X, Y, Y_pred)
