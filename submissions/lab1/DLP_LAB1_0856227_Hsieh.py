"""
DLP Lab1 - Backpropagation
0856227 謝明哲 (Hsieh, M.-C.)

Andrew Ng's course style: the Trainer keeps the hyper-parameters, and the parameters travel
between its methods in a dict (W is (out, in), the samples are columns).
"""
import numpy as np
import matplotlib.pyplot as plt


def generate_linear(n=100):
    pts = np.random.uniform(0, 1, (n, 2))
    inputs = []
    labels = []
    for pt in pts:
        inputs.append([pt[0], pt[1]])
        if pt[0] > pt[1]:
            labels.append(0)
        else:
            labels.append(1)
    return np.array(inputs), np.array(labels).reshape(n, 1)


def generate_XOR_easy():
    inputs = []
    labels = []
    for i in range(11):
        inputs.append([0.1 * i, 0.1 * i])
        labels.append(0)
        if 0.1 * i == 0.5:
            continue
        inputs.append([0.1 * i, 1 - 0.1 * i])
        labels.append(1)
    return np.array(inputs), np.array(labels).reshape(21, 1)


class Trainer:
    def __init__(self, layer_dims, epochs=3000, lr=0.5, print_every=500):
        self.__dims = layer_dims
        self.__epochs = epochs
        self.__lr = lr
        self.__print_every = print_every

    def init_params(self):
        params = {}
        for l in range(1, len(self.__dims)):
            params["W" + str(l)] = np.random.randn(self.__dims[l], self.__dims[l - 1])
            params["b" + str(l)] = np.zeros((self.__dims[l], 1))
        return params

    @staticmethod
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    def forward_pass(self, X, params):
        caches = [X]
        A = X
        for l in range(1, len(self.__dims)):
            A = self.sigmoid(params["W" + str(l)] @ A + params["b" + str(l)])
            caches.append(A)
        return A, caches

    @staticmethod
    def compute_cost(AL, Y):
        return float(np.mean((AL - Y) ** 2))

    def backward_pass(self, AL, Y, caches, params):
        grads = {}
        L = len(self.__dims) - 1
        dA = 2 * (AL - Y)  # d/dA of the squared error, summed over the samples
        for l in range(L, 0, -1):
            A = caches[l]
            dZ = dA * A * (1 - A)
            grads["dW" + str(l)] = dZ @ caches[l - 1].T
            grads["db" + str(l)] = np.sum(dZ, axis=1, keepdims=True)
            dA = params["W" + str(l)].T @ dZ
        return grads

    def update_params(self, params, grads):
        new = {}
        for l in range(1, len(self.__dims)):
            new["W" + str(l)] = params["W" + str(l)] - self.__lr * grads["dW" + str(l)]
            new["b" + str(l)] = params["b" + str(l)] - self.__lr * grads["db" + str(l)]
        return new

    def train(self, X, Y):
        params = self.init_params()
        costs = []
        for epoch in range(self.__epochs):
            for i in range(X.shape[1]):
                x, y = X[:, i:i + 1], Y[:, i:i + 1]
                AL, caches = self.forward_pass(x, params)
                grads = self.backward_pass(AL, y, caches, params)
                params = self.update_params(params, grads)
            AL, _ = self.forward_pass(X, params)
            costs.append(self.compute_cost(AL, Y))
            if epoch % self.__print_every == 0:
                print(f"epoch {epoch:5d} loss : {costs[-1]:.6f}")
        return params, costs

    def predict(self, X, params):
        AL, _ = self.forward_pass(X, params)
        return (AL > 0.5).astype(int)


def show_result(x, y, pred_y):
    plt.subplot(1, 2, 1)
    plt.title('Ground truth', fontsize=18)
    for i in range(x.shape[0]):
        plt.plot(x[i][0], x[i][1], 'ro' if y[i] == 0 else 'bo')
    plt.subplot(1, 2, 2)
    plt.title('Predict result', fontsize=18)
    for i in range(x.shape[0]):
        plt.plot(x[i][0], x[i][1], 'ro' if pred_y[i] == 0 else 'bo')
    plt.show()


if __name__ == "__main__":
    np.random.seed(7)
    for name, (x, y) in (("linear", generate_linear(100)), ("XOR", generate_XOR_easy())):
        model = Trainer(layer_dims=[2, 6, 6, 1], epochs=600, lr=0.5, print_every=150)
        params, costs = model.train(x.T, y.T)
        pred = model.predict(x.T, params).T
        print(f"{name} accuracy: {np.mean(pred == y) * 100:.1f}%")
        plt.plot(costs)
        plt.title(f"{name} learning curve")
        plt.show()
        show_result(x, y, pred)
