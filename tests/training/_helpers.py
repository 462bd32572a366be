"""Small synthetic problems shared by the training tests."""

import numpy as np

import ember
from ember import nn


def blobs(n=256, classes=2, dim=4, seed=0, spread=0.5):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(classes, dim))
    y = rng.integers(0, classes, size=n)
    x = centers[y] + spread * rng.normal(size=(n, dim))
    return x.astype(np.float32), y.astype(np.int64)


def mlp(inp, out, hidden=16, seed=0):
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, out))


def accuracy(model, x, y):
    return float((model.predict(x, verbose=0).argmax(1) == y).mean())
