# DLP Lab1 - Backpropagation
# 0856107 曾冠霖 (Tseng)
# backprop written out layer by layer (easier for me to check against my notes)
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
        self.dW = [None, None, None]

    def predict(self, X):
        Z = X
        self.layers[0] = np.array(Z)
        for i, W in enumerate(self.weights):
            Z = self.act(Z @ W)
            self.layers[i + 1] = np.array(Z)
        return Z

    def backprop(self, y_data):
        x, a1, a2, y_pred = self.layers
        W1, W2, W3 = self.weights
        # output layer
        d3 = derivative(self.loss, y_pred, y_data) * derivative(self.act, y_pred)   # (1, 1)
        self.dW[2] = a2.T @ d3                                                      # (3, 1)
        # second hidden layer
        d2 = (d3 @ W3.T) * derivative(self.act, a2)                                 # (1, 3)
        self.dW[1] = a1.T @ d2                                                      # (3, 3)
        # first hidden layer
        d1 = (d2 @ W2) * derivative(self.act, a1)                                   # (1, 3)
        self.dW[0] = x.T @ d1                                                       # (2, 3)

    def update(self, lr):
        for i in range(3):
            self.weights[i] -= lr * self.dW[i]


np.random.seed(107)
nn = NN(dim=[2, 3, 3, 1])
lr, epoch, done = 0.8, 0, False

# X, Y = generate_XOR_easy()
X, Y = generate_linear()
loss_per_epoch = []
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
    loss_per_epoch.append(np.mean(loss))
    done = all(np.array(loss) < 0.04) or epoch >= 300000

print(nn.predict(X))
Y_pred = [int(nn.predict(x.reshape(1, -1)).item() >= 0.5) for x in X]
print('accuracy: {:.2f}%'.format(100 * np.mean(np.array(Y_pred) == Y.ravel())))

plt.plot(loss_per_epoch)
plt.xlabel('epoch')
plt.ylabel('loss')
plt.title('Learning curve')
plt.show()
plt.figure()
show_result(X, Y, Y_pred)
