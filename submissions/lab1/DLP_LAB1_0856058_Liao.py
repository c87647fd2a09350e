# DLP Lab1  0856058 廖柏翔 (Liao)
# SimpleNet: the bias is folded into each weight matrix (an extra input that is always 1),
# so every matrix has shape (n_in + 1, n_out).  back_propagation() also updates the weights.
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

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class SimpleNet:
    def __init__(self, sizes=(2, 3, 3, 1)):
        self.sizes = list(sizes)
        self.w = [np.random.uniform(-1, 1, (n_in + 1, n_out))
                  for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]
        self.acts = []

    @staticmethod
    def _add_bias(a):
        return np.hstack([a, np.ones((a.shape[0], 1))])

    def feed_forward(self, x):
        a = np.atleast_2d(x)
        self.acts = [a]
        for w in self.w:
            a = sigmoid(self._add_bias(a) @ w)
            self.acts.append(a)
        return a

    def back_propagation(self, y, lr):
        """one gradient-descent step on E = sum((out - y)^2)"""
        y = np.atleast_2d(y)
        out = self.acts[-1]
        delta = 2 * (out - y) * out * (1 - out)
        for i in reversed(range(len(self.w))):
            a_prev = self.acts[i]
            grad = self._add_bias(a_prev).T @ delta
            if i > 0:
                # the bias row does not go back to the previous layer
                delta = (delta @ self.w[i][:-1].T) * a_prev * (1 - a_prev)
            self.w[i] -= lr * grad


def accuracy(net, X, Y):
    pred = (net.feed_forward(X) > 0.5).astype(int)
    return np.mean(pred == Y), pred


np.random.seed(58)
for data_name in ['linear', 'xor']:
    if data_name == 'linear':
        X, Y = generate_linear(n=100)
    else:
        X, Y = generate_XOR_easy()
    net = SimpleNet([2, 3, 3, 1])
    lr = 0.5
    loss_list = []
    for epoch in range(1, 4001):
        errors = []
        for x, y in zip(X, Y):
            out = net.feed_forward(x)
            net.back_propagation(y, lr)
            errors.append(((out - y) ** 2).item())
        loss_list.append(sum(errors) / len(errors))
        if epoch % 100 == 0:
            print(data_name, 'epoch', epoch, 'loss', loss_list[-1])
        if max(errors) < 0.04:
            print(data_name, 'stop at epoch', epoch)
            break
    acc, pred = accuracy(net, X, Y)
    print(net.feed_forward(X))
    print(data_name, 'accuracy =', acc)
    plt.figure()
    plt.plot(loss_list)
    plt.title('learning curve (' + data_name + ')')
    plt.xlabel('epoch')
    plt.ylabel('loss')
    plt.show()
    plt.figure()
    show_result(X, Y, pred)
