"""
DLP Lab1 - Backpropagation
0856237 江柏翰 (Jiang, P.-H.)

python main.py [--data xor|linear] [--epochs N] [--lr LR]
"""
import argparse

import matplotlib.pyplot as plt
import numpy as np

from layers import MSELoss, Net
from optim import SGD


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
    plt.scatter(x[:, 0], x[:, 1], c=['r' if v == 0 else 'b' for v in y[:, 0]])
    plt.subplot(1, 2, 2)
    plt.title('Predict result', fontsize=18)
    plt.scatter(x[:, 0], x[:, 1], c=['r' if v == 0 else 'b' for v in pred_y[:, 0]])
    plt.show()


def train(model, loss_fn, optimizer, x, y, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        out = model.forward(x)
        loss = loss_fn.forward(out, y)
        model.backward(loss_fn.backward())
        optimizer.step()
        losses.append(loss)
        if epoch % 1000 == 0:
            print(f'epoch {epoch} loss : {loss:.5f}')
    return losses


def main(args):
    np.random.seed(args.seed)
    x, y = generate_XOR_easy() if args.data == 'xor' else generate_linear()
    model = Net([2, 4, 4, 1])
    optimizer = SGD(model.parameters(), lr=args.lr)
    losses = train(model, MSELoss(), optimizer, x, y, args.epochs)
    pred = (model.forward(x) > 0.5).astype(int)
    print('accuracy :', np.mean(pred == y))
    plt.plot(losses)
    plt.title('Learning curve')
    plt.show()
    show_result(x, y, pred)


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--data', default='xor', choices=['xor', 'linear'])
    parser.add_argument('--epochs', type=int, default=8000)
    parser.add_argument('--lr', type=float, default=2.0)
    parser.add_argument('--seed', type=int, default=1)
    main(parser.parse_args())
