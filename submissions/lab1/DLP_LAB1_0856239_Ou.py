"""
DLP Lab1 - Backpropagation
0856239 歐陽靜 (Ou, C.)

The model owns its data: load_xor() / load_linear() generate it and keep it on the object,
and forward() / backward() work on what the model holds, so training needs no arguments.
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


class Model:
    def __init__(self, hidden=4, lr=1.0, epochs=5000):
        self.w1 = np.random.uniform(-1, 1, (2, hidden))
        self.w2 = np.random.uniform(-1, 1, (hidden, hidden))
        self.w3 = np.random.uniform(-1, 1, (hidden, 1))
        self.lr = lr
        self.epochs = epochs
        self.losses = []

    def load_xor(self):
        self.x, self.y = generate_XOR_easy()

    def load_linear(self, n=100):
        self.x, self.y = generate_linear(n)

    @staticmethod
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    def forward(self):
        self.a1 = self.sigmoid(self.x @ self.w1)
        self.a2 = self.sigmoid(self.a1 @ self.w2)
        self.out = self.sigmoid(self.a2 @ self.w3)
        return self.out

    def backward(self):
        n = len(self.x)
        d3 = 2 * (self.out - self.y) / n * self.out * (1 - self.out)
        d2 = (d3 @ self.w3.T) * self.a2 * (1 - self.a2)
        d1 = (d2 @ self.w2.T) * self.a1 * (1 - self.a1)
        self.w3 -= self.lr * self.a2.T @ d3
        self.w2 -= self.lr * self.a1.T @ d2
        self.w1 -= self.lr * self.x.T @ d1

    def train(self):
        for epoch in range(self.epochs):
            out = self.forward()
            self.losses.append(float(np.mean((out - self.y) ** 2)))
            self.backward()
            if epoch % 1000 == 0:
                print(f'epoch {epoch} loss : {self.losses[-1]:.5f}')
        pred = (self.forward() > 0.5).astype(int)
        print('accuracy :', np.mean(pred == self.y))
        return pred


def show(model, pred):
    plt.subplot(1, 2, 1)
    plt.title('Ground truth', fontsize=18)
    plt.scatter(model.x[:, 0], model.x[:, 1], c=model.y[:, 0], cmap='bwr')
    plt.subplot(1, 2, 2)
    plt.title('Predict result', fontsize=18)
    plt.scatter(model.x[:, 0], model.x[:, 1], c=pred[:, 0], cmap='bwr')
    plt.show()
    plt.plot(model.losses)
    plt.title('Learning curve')
    plt.show()


if __name__ == '__main__':
    np.random.seed(7)
    model = Model(hidden=4, lr=2.0, epochs=6000)
    model.load_xor()
    show(model, model.train())
