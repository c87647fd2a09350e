"""
DLP Lab1 - Backpropagation      0856049 楊子霆 (Yang)

Vectorised over the whole batch.  I follow the notation of Andrew Ng's course:
samples are COLUMNS, W[l] has shape (n_out, n_in) and a layer computes
    A[l+1] = sigmoid(W[l] @ A[l] + b[l])
generate_linear() gives rows (N, 2), so predict() transposes for you.
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

def sigmoid(x, derivative=False):
    if derivative:
        return x * (1.0 - x)          # x is sigmoid(z) here
    return 1.0 / (1.0 + np.exp(-x))


def mse(y_pred, y_data, derivative=False):
    if derivative:
        return 2.0 * (y_pred - y_data) / y_data.size
    return np.mean((y_pred - y_data) ** 2)


class NN:
    def __init__(self, dim, activation=sigmoid, loss=mse):
        # W[l]: (dim[l+1], dim[l]),  b[l]: (dim[l+1], 1)
        self.W = [np.random.randn(n_out, n_in) for n_in, n_out in zip(dim[:-1], dim[1:])]
        self.b = [np.zeros((n_out, 1)) for n_out in dim[1:]]
        self.act = activation
        self.loss = loss
        self.A = []
        self.dW = [np.zeros_like(W) for W in self.W]
        self.db = [np.zeros_like(b) for b in self.b]

    def forward(self, A):
        """A: (2, N), one column per sample.  Returns (1, N)."""
        self.A = [A]
        for W, b in zip(self.W, self.b):
            A = self.act(W @ A + b)
            self.A.append(A)
        return A

    def predict(self, X):
        """X: (N, 2), one row per sample.  Returns (N, 1) probabilities."""
        return self.forward(np.asarray(X, dtype=float).T).T

    def backprop(self, Y):
        Y = np.asarray(Y, dtype=float).reshape(1, -1)            # (1, N)
        dZ = self.loss(self.A[-1], Y, derivative=True) * self.act(self.A[-1], derivative=True)
        for l in reversed(range(len(self.W))):
            self.dW[l] = dZ @ self.A[l].T                         # (n_out, n_in)
            self.db[l] = np.sum(dZ, axis=1, keepdims=True)        # (n_out, 1)
            if l > 0:
                dZ = (self.W[l].T @ dZ) * self.act(self.A[l], derivative=True)

    def update(self, lr):
        for l in range(len(self.W)):
            self.W[l] -= lr * self.dW[l]
            self.b[l] -= lr * self.db[l]


def run(X, Y, title, lr=5.0, epochs=30000):
    nn = NN([2, 3, 3, 1])
    curve = []
    for epoch in range(epochs):
        P = nn.predict(X)
        curve.append(mse(P, Y))
        nn.backprop(Y)
        nn.update(lr)
        if epoch % 1000 == 0:
            print('{} epoch {:5d} loss: {:.6f}'.format(title, epoch, curve[-1]))
        if ((P - Y) ** 2).max() < 0.04:
            break
    P = nn.predict(X)
    print(P)
    Y_pred = (P >= 0.5).astype(int)
    print('{} accuracy: {:.1%}'.format(title, float(np.mean(Y_pred == Y))))
    plt.figure()
    plt.plot(curve)
    plt.yscale('log')
    plt.title(title + ' learning curve')
    plt.xlabel('epoch')
    plt.ylabel('MSE')
    plt.show()
    plt.figure()
    show_result(X, Y, Y_pred)


np.random.seed(5)
run(*generate_linear(n=100), 'linear')
run(*generate_XOR_easy(), 'XOR')
