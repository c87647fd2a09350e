"""
Deep Learning and Practice, Lab 1: back-propagation
0856011 蔡宗翰 (Tsai)

Net: 2 -> 3 -> 3 -> 1 with biases, sigmoid activations, MSE loss,
full-batch gradient descent.  Run: python DLP_LAB1_0856011_Tsai.py
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

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_prime(z):
    # derivative w.r.t. the pre-activation z
    s = sigmoid(z)
    return s * (1.0 - s)


def mse_loss(y_hat, y):
    return np.mean((y_hat - y) ** 2)


class Net:
    def __init__(self, n_input=2, n_hidden1=3, n_hidden2=3, n_output=1):
        self.W1 = np.random.randn(n_input, n_hidden1)
        self.b1 = np.zeros(n_hidden1)
        self.W2 = np.random.randn(n_hidden1, n_hidden2)
        self.b2 = np.zeros(n_hidden2)
        self.W3 = np.random.randn(n_hidden2, n_output)
        self.b3 = np.zeros(n_output)

    def forward(self, x):
        self.x = x
        self.z1 = x @ self.W1 + self.b1
        self.a1 = sigmoid(self.z1)
        self.z2 = self.a1 @ self.W2 + self.b2
        self.a2 = sigmoid(self.z2)
        self.z3 = self.a2 @ self.W3 + self.b3
        self.y_hat = sigmoid(self.z3)
        return self.y_hat

    def backward(self, y):
        n = y.shape[0]
        # dL/dz3 for L = mean((y_hat - y)^2)
        delta3 = 2.0 * (self.y_hat - y) / n * sigmoid_prime(self.z3)
        self.dW3 = self.a2.T @ delta3
        self.db3 = delta3.sum(axis=0)

        delta2 = (delta3 @ self.W3.T) * sigmoid_prime(self.z2)
        self.dW2 = self.a1.T @ delta2
        self.db2 = delta2.sum(axis=0)

        delta1 = (delta2 @ self.W2.T) * sigmoid_prime(self.z1)
        self.dW1 = self.x.T @ delta1
        self.db1 = delta1.sum(axis=0)

    def step(self, lr):
        self.W1 -= lr * self.dW1
        self.b1 -= lr * self.db1
        self.W2 -= lr * self.dW2
        self.b2 -= lr * self.db2
        self.W3 -= lr * self.dW3
        self.b3 -= lr * self.db3


def plot_result(x, y, pred, title):
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.5))
    ax[0].set_title('Ground truth')
    ax[0].scatter(x[:, 0], x[:, 1], c=['r' if v == 0 else 'b' for v in y.ravel()])
    ax[1].set_title('Predict result')
    ax[1].scatter(x[:, 0], x[:, 1], c=['r' if v == 0 else 'b' for v in pred.ravel()])
    fig.suptitle(title)
    plt.show()


def main():
    np.random.seed(11)
    for name, (X, Y) in (('linear', generate_linear(100)), ('xor', generate_XOR_easy())):
        net = Net()
        lr = 2.0
        history = []
        for epoch in range(1, 50001):
            y_hat = net.forward(X)
            loss = mse_loss(y_hat, Y)
            history.append(loss)
            net.backward(Y)
            net.step(lr)
            if epoch % 2000 == 0:
                print(f'[{name}] epoch {epoch:6d}  loss {loss:.6f}')
            if np.all((y_hat - Y) ** 2 < 0.04):
                print(f'[{name}] done at epoch {epoch}, loss {loss:.6f}')
                break
        pred = (net.forward(X) > 0.5).astype(int)
        print(net.forward(X))
        print(f'[{name}] accuracy: {np.mean(pred == Y) * 100:.1f}%')

        plt.figure()
        plt.plot(history)
        plt.title(f'{name}: learning curve')
        plt.xlabel('epoch')
        plt.ylabel('MSE')
        plt.show()
        plot_result(X, Y, pred, name)


if __name__ == '__main__':
    main()
