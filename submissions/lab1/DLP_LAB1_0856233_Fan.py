#!/usr/bin/env python
# coding: utf-8
# DLP Lab1 - Backpropagation, 0856233 范雅婷 (Fan, Y.-T.)
# Exported from my notebook: the cells run one after the other at the top level.

# In[1]:


import numpy as np
import matplotlib.pyplot as plt


# In[2]:


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


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def der_sigmoid(a):
    return a * (1.0 - a)


# In[3]:


inputs, labels = generate_XOR_easy()
hidden = [5, 5]
np.random.seed(1)
w1 = np.random.rand(2, hidden[0])
w2 = np.random.rand(hidden[0], hidden[1])
w3 = np.random.rand(hidden[1], 1)
z1 = np.zeros((1, hidden[0]))
z2 = np.zeros((1, hidden[1]))
learning_rate = 0.5


# In[4]:


loss_curve = []
for epoch in range(3000):
    total_loss = 0
    for i, x in enumerate(inputs):
        a0 = np.array(x).reshape((1, 2))
        y = np.array(labels[i]).reshape((1, 1))
        # forward pass
        z1 = a0 @ w1
        a1 = sigmoid(z1)
        z2 = a1 @ w2
        a2 = sigmoid(z2)
        z3 = a2 @ w3
        a3 = sigmoid(z3)
        # backward pass
        C_z3 = 2 * (a3 - y) * der_sigmoid(a3)
        C_a2 = C_z3 @ w3.T
        w3 = w3 - learning_rate * (a2.T @ C_z3)
        C_z2 = der_sigmoid(a2) * C_a2
        C_a1 = C_z2 @ w2.T
        w2 = w2 - learning_rate * (a1.T @ C_z2)
        C_z1 = der_sigmoid(a1) * C_a1
        w1 = w1 - learning_rate * (a0.T @ C_z1)
        total_loss += float((a3 - y) ** 2)
    loss_curve.append(total_loss)
    if epoch % 100 == 0:
        print(f"epoch:{epoch} loss:{total_loss}")


# In[5]:


plt.plot(loss_curve)
plt.xlabel("epoch")
plt.ylabel("loss")
plt.show()
correct = 0
for i, x in enumerate(inputs):
    out = sigmoid(sigmoid(sigmoid(x.reshape(1, 2) @ w1) @ w2) @ w3)
    correct += int((out[0, 0] > 0.5) == labels[i, 0])
print("accuracy:", correct / len(inputs))
