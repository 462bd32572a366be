"""A typical PyTorch training script runs unchanged with ``import ember as torch``.

The script below is plain PyTorch (model class, Dataset/DataLoader, optimizer loop, LR
scheduler, saving and loading a state_dict). It runs once with ``lib = torch`` and once with
``lib = ember``; both start from the same weights, so the loss curves must agree.
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((256, 20)).astype(np.float32)
Y = (X[:, :3].sum(axis=1) > 0).astype(np.int64) + (X[:, 3] > 1).astype(np.int64)


def training_script(lib, path, init_state=None):
    nn = lib.nn
    F = lib.nn.functional

    class ToyData(lib.utils.data.Dataset):
        def __init__(self, x, y):
            self.x, self.y = lib.tensor(x), lib.tensor(y)

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return self.x[i], self.y[i]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(20, 32), nn.BatchNorm1d(32), nn.ReLU())
            self.head = nn.Linear(32, 3)

        def forward(self, x):
            return self.head(self.body(x))

    model = Net()
    if init_state is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in init_state.items()})
    loader = lib.utils.data.DataLoader(ToyData(X, Y), batch_size=32, shuffle=False)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    losses = []
    for _epoch in range(4):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    lib.save(model.state_dict(), path)
    restored = Net()
    restored.load_state_dict(lib.load(path))
    restored.eval()
    with lib.no_grad():
        logits = restored(lib.tensor(X))
        accuracy = (logits.argmax(dim=1) == lib.tensor(Y)).float().mean().item()
    return losses, accuracy, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def test_training_script_matches_pytorch(tmp_path):
    # the same initial weights for both: a freshly initialised torch state
    torch.manual_seed(0)
    probe = _initial_state()
    torch.manual_seed(0)
    theirs, t_acc, _ = training_script(torch, tmp_path / "torch.pt", init_state=probe)
    ours, e_acc, _ = training_script(ember, tmp_path / "ember.safetensors", init_state=probe)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert e_acc == pytest.approx(t_acc, abs=1e-6)
    assert e_acc > 0.8


def _initial_state():
    body = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU())
    head = torch.nn.Linear(32, 3)
    state = {f"body.{k}": v for k, v in body.state_dict().items()}
    state.update({f"head.{k}": v for k, v in head.state_dict().items()})
    return {k: v.numpy().copy() for k, v in state.items()}
