"""
DLP Lab1 - Backpropagation
0856213 潘冠廷 (Pan, G.-T.)

python DLP_LAB1_0856213_Pan.py --hidden 4 --lr 0.1
"""
import argparse
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


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def d_sigmoid(a):
    return a * (1.0 - a)


class Net:
    def __init__(self, n_in, h1, h2, n_out, lr=0.1):
        self.W1 = np.random.normal(0, 1, (n_in, h1))
        self.W2 = np.random.normal(0, 1, (h1, h2))
        self.W3 = np.random.normal(0, 1, (h2, n_out))
        self.lr = lr

    def forward(self, x):
        self.a1 = sigmoid(x @ self.W1)
        self.a2 = sigmoid(self.a1 @ self.W2)
        return sigmoid(self.a2 @ self.W3)

    def backward(self, x, y, out):
        n = len(y)
        d3 = 2 * (out - y) / n * d_sigmoid(out)
        d2 = (d3 @ self.W3.T) * d_sigmoid(self.a2)
        d1 = (d2 @ self.W2.T) * d_sigmoid(self.a1)
        self.g3, self.g2, self.g1 = self.a2.T @ d3, self.a1.T @ d2, x.T @ d1

    def update(self):
        self.W1 -= self.lr * self.g1
        self.W2 -= self.lr * self.g2
        self.W3 -= self.lr * self.g3


def run(X, Y, args):
    net = Net(2, args.hidden, args.hidden, 1, lr=args.lr)
    losses = []
    for epoch in range(args.epochs):
        out = net.forward(X)
        net.backward(X, Y, out)
        net.update()
        losses.append(float(np.mean((out - Y) ** 2)))
        if epoch % 1000 == 0:
            print(f'epoch {epoch:6d}  loss {losses[-1]:.6f}')
        if np.all((out - Y) ** 2 < 0.04):
            break
    pred = (net.forward(X) >= 0.5).astype(int)
    print('accuracy', np.mean(pred == Y))
    plt.figure()
    plt.plot(losses)
    plt.figure()
    show_result(X, Y, pred)


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--hidden', type=int, default=4)
    parser.add_argument('--lr', type=float, default=1.0)
    parser.add_argument('--epochs', type=int, default=20000)
    args = parser.parse_args()
    np.random.seed(213)
    run(*generate_linear(100), args)
    run(*generate_XOR_easy(), args)
