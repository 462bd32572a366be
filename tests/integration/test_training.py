"""End-to-end training on real data from ../shared/data (skipped where that folder is absent).

Budgets are small so CI stays fast; the thresholds are the issue's acceptance criteria.
"""

import time
from pathlib import Path

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not available")


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5)
        self.fc1 = nn.Linear(32 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


@needs_data
def test_lenet_reaches_95_percent_on_mnist_5k():
    ember.manual_seed(0)
    raw = np.loadtxt(DATA / "mnist_5k.csv.gz", delimiter=",", dtype=np.float32)
    images = (raw[:, :-1] / 255.0 - 0.1307) / 0.3081
    images = images.reshape(-1, 1, 28, 28).astype(np.float32)
    labels = raw[:, -1].astype(np.int64)
    order = np.random.default_rng(0).permutation(len(labels))
    train, test = order[:4000], order[4000:]
    ds = ember.data.TensorDataset(ember.tensor(images[train]), ember.tensor(labels[train]))
    loader = ember.data.DataLoader(
        ds, batch_size=64, shuffle=True, generator=ember.Generator().manual_seed(0)
    )
    model = LeNet()
    opt = ember.optim.Adam(model.parameters(), lr=2e-3)
    start = time.perf_counter()
    for _ in range(4):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
    model.eval()
    with ember.no_grad():
        pred = model(ember.tensor(images[test])).argmax(dim=1).numpy()
    accuracy = float((pred == labels[test]).mean())
    elapsed = time.perf_counter() - start
    print(f"LeNet MNIST-5k: test accuracy {accuracy:.4f} in {elapsed:.1f} s")
    assert accuracy >= 0.95


class CharLSTM(nn.Module):
    def __init__(self, vocab: int, hidden: int = 256):
        super().__init__()
        self.embed = nn.Embedding(vocab, 64)
        self.lstm = nn.LSTM(64, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        out, _ = self.lstm(self.embed(x))
        return self.head(out)


@needs_data
def test_char_lstm_learns_tiny_shakespeare():
    ember.manual_seed(0)
    text = (DATA / "tiny_shakespeare.txt").read_text()
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    ids = np.array([lookup[c] for c in text], dtype=np.int64)
    split = int(0.9 * len(ids))
    train, val = ids[:split], ids[split:]
    rng = np.random.default_rng(0)
    seq, batch = 64, 32

    def sample(source):
        starts = rng.integers(0, len(source) - seq - 1, batch)
        x = np.stack([source[s : s + seq] for s in starts])
        y = np.stack([source[s + 1 : s + seq + 1] for s in starts])
        return ember.tensor(x), ember.tensor(y)

    model = CharLSTM(len(chars))
    opt = ember.optim.Adam(model.parameters(), lr=4e-3)
    start = time.perf_counter()
    for _ in range(400):
        x, y = sample(train)
        loss = F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()
    with ember.no_grad():
        losses = []
        for _ in range(10):
            x, y = sample(val)
            losses.append(F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1)).item())
    val_loss = float(np.mean(losses))
    elapsed = time.perf_counter() - start
    print(
        f"char-LSTM tiny shakespeare: validation loss {val_loss:.3f} nats/char in {elapsed:.1f} s"
    )
    assert val_loss < 2.3
