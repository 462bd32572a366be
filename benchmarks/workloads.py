"""Workload definitions shared by every framework.

The shapes, the initial weights and the data of each workload are made here once, with NumPy
and a fixed seed, in the parent process (:func:`make_arrays`), and written to an ``.npz`` that
every runner loads, so all frameworks start from identical numbers and their step-0 losses
agree. Weights are stored in PyTorch's layout (``Linear.weight`` is ``(out, in)``, conv
kernels are ``OIHW``, images ``NCHW``); :func:`channels_last` converts them to the
``(in, out)`` / ``HWIO`` / ``NHWC`` layout that JAX and TensorFlow use on CPU.

The model code for ember and PyTorch is written once, as a function of the library module
(:func:`build_torchlike` takes ``lib`` = ``ember`` or ``torch``), from basic layers only:
``nn.Linear``, ``nn.Conv2d``, ``nn.MaxPool2d``, ``nn.Embedding``, ``nn.LayerNorm``,
``F.scaled_dot_product_attention``, ``F.gelu`` and ``F.cross_entropy``.

This module imports only the standard library at import time (NumPy lazily), so the parent
and every runner, in any virtual environment, can import it.
"""

from __future__ import annotations

import math

SEED = 0

#: GPT shape (W3 and W4b).
GPT = {"vocab": 512, "ctx": 64, "layers": 4, "d_model": 128, "heads": 4, "mlp_ratio": 4}

#: Every workload, in report order. ``kind`` is ``train`` (one optimizer step) or ``infer``
#: (one batch-1 forward without autograd).
WORKLOADS: dict[str, dict] = {
    "mlp_train": {
        "id": "W1",
        "title": "MLP train step (784-512-512-10, batch 128, Adam)",
        "kind": "train",
        "model": "mlp",
        "batch": 128,
        "optimizer": "adam",
        "lr": 1e-3,
    },
    "cnn_train": {
        "id": "W2",
        "title": "CNN train step (2x conv+pool, batch 64, SGD momentum)",
        "kind": "train",
        "model": "cnn",
        "batch": 64,
        "optimizer": "sgd",
        "lr": 1e-2,
        "momentum": 0.9,
    },
    "gpt_train": {
        "id": "W3",
        "title": "GPT train step (4 layers, d 128, ctx 64, batch 16, AdamW)",
        "kind": "train",
        "model": "gpt",
        "batch": 16,
        "optimizer": "adamw",
        "lr": 3e-4,
        "weight_decay": 0.01,
    },
    "mlp_infer": {
        "id": "W4a",
        "title": "MLP forward, batch 1 (latency)",
        "kind": "infer",
        "model": "mlp",
        "batch": 1,
    },
    "gpt_infer": {
        "id": "W4b",
        "title": "GPT forward over 64 tokens, batch 1 (latency)",
        "kind": "infer",
        "model": "gpt",
        "batch": 1,
    },
}

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
LN_EPS = 1e-5


# --------------------------------------------------------------------------- parameters


def param_shapes(model: str) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes (PyTorch layout), in the modules' registration order."""
    if model == "mlp":
        return {
            "fc1.weight": (512, 784),
            "fc1.bias": (512,),
            "fc2.weight": (512, 512),
            "fc2.bias": (512,),
            "fc3.weight": (10, 512),
            "fc3.bias": (10,),
        }
    if model == "cnn":
        return {
            "conv1.weight": (32, 1, 3, 3),
            "conv1.bias": (32,),
            "conv2.weight": (64, 32, 3, 3),
            "conv2.bias": (64,),
            "fc1.weight": (128, 3136),
            "fc1.bias": (128,),
            "fc2.weight": (10, 128),
            "fc2.bias": (10,),
        }
    if model == "gpt":
        v, t, d, r = GPT["vocab"], GPT["ctx"], GPT["d_model"], GPT["mlp_ratio"]
        shapes: dict[str, tuple[int, ...]] = {"wte.weight": (v, d), "wpe.weight": (t, d)}
        for i in range(GPT["layers"]):
            p = f"h.{i}."
            shapes.update(
                {
                    p + "ln1.weight": (d,),
                    p + "ln1.bias": (d,),
                    p + "qkv.weight": (3 * d, d),
                    p + "qkv.bias": (3 * d,),
                    p + "proj.weight": (d, d),
                    p + "proj.bias": (d,),
                    p + "ln2.weight": (d,),
                    p + "ln2.bias": (d,),
                    p + "fc.weight": (r * d, d),
                    p + "fc.bias": (r * d,),
                    p + "fc_proj.weight": (d, r * d),
                    p + "fc_proj.bias": (d,),
                }
            )
        shapes.update({"lnf.weight": (d,), "lnf.bias": (d,), "head.weight": (v, d)})
        return shapes
    raise ValueError(f"unknown model {model!r}")


def make_arrays(workload: str, seed: int = SEED) -> dict:
    """Initial weights (``p.<name>``) and data (``x``, ``y``) of one workload, as NumPy arrays.

    Linear and conv layers use PyTorch's default init (uniform in +-1/sqrt(fan_in) for weight
    and bias), embeddings N(0, 1), LayerNorm ones/zeros: the same numbers for every framework.
    """
    import numpy as np

    spec = WORKLOADS[workload]
    model = spec["model"]
    # One seed per model, so W1 and W4a (and W3 and W4b) share their weights.
    rng = np.random.default_rng([seed, ["mlp", "cnn", "gpt"].index(model)])
    out: dict = {}
    shapes = param_shapes(model)
    fan_in = 1  # a bias uses the fan-in of the weight registered just before it
    for name, shape in shapes.items():
        if name.endswith(("ln1.weight", "ln2.weight", "lnf.weight")):
            arr = np.ones(shape, np.float32)
        elif name.endswith(("ln1.bias", "ln2.bias", "lnf.bias")):
            arr = np.zeros(shape, np.float32)
        elif name in ("wte.weight", "wpe.weight"):
            arr = rng.standard_normal(shape, dtype=np.float32)
        else:
            if len(shape) > 1:
                fan_in = int(math.prod(shape[1:]))
            bound = 1.0 / math.sqrt(fan_in)
            arr = rng.uniform(-bound, bound, size=shape).astype(np.float32)
        out["p." + name] = arr
    drng = np.random.default_rng([seed, 100 + list(WORKLOADS).index(workload)])
    b = spec["batch"]
    if model == "mlp":
        out["x"] = drng.standard_normal((b, 784), dtype=np.float32)
        out["y"] = drng.integers(0, 10, size=(b,), dtype=np.int64)
    elif model == "cnn":
        out["x"] = drng.random((b, 1, 28, 28), dtype=np.float32)
        out["y"] = drng.integers(0, 10, size=(b,), dtype=np.int64)
    else:
        tokens = drng.integers(0, GPT["vocab"], size=(b, GPT["ctx"] + 1), dtype=np.int64)
        out["x"] = np.ascontiguousarray(tokens[:, :-1])
        out["y"] = np.ascontiguousarray(tokens[:, 1:])
    return out


def params_of(arrays) -> dict:
    """The ``p.``-prefixed arrays of an ``.npz``, without the prefix (PyTorch layout)."""
    return {k[2:]: arrays[k] for k in arrays if k.startswith("p.")}


def channels_last(model: str, params: dict) -> dict:
    """PyTorch layout -> JAX/TensorFlow layout: Linear ``(in, out)``, conv ``HWIO``.

    The CNN's ``fc1`` rows are permuted from PyTorch's ``(C, H, W)`` flatten order to the
    ``(H, W, C)`` order of an NHWC flatten, so both compute the same function.
    """
    import numpy as np

    out = {}
    for name, w in params.items():
        if w.ndim == 4:  # OIHW -> HWIO
            w = w.transpose(2, 3, 1, 0)
        elif w.ndim == 2 and name not in ("wte.weight", "wpe.weight"):
            if model == "cnn" and name == "fc1.weight":
                w = w.reshape(128, 64, 7, 7).transpose(2, 3, 1, 0).reshape(3136, 128)
            else:
                w = w.T
        out[name] = np.ascontiguousarray(w)
    return out


def nhwc(x):
    """NCHW images -> NHWC."""
    import numpy as np

    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def np_cross_entropy(logits, labels) -> float:
    """Mean cross-entropy in float64 NumPy: the check value of the inference workloads."""
    import numpy as np

    z = np.asarray(logits, dtype=np.float64)
    z = z.reshape(-1, z.shape[-1])
    lab = np.asarray(labels).reshape(-1)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(lab.size), lab].mean())


# --------------------------------------------------------------------------- FLOPs


def forward_matmul_flops(model: str, batch: int) -> tuple[float, float]:
    """(all forward matmul/conv FLOPs, those of the first layer) for one forward pass."""
    if model == "mlp":
        layers = [2 * batch * 784 * 512, 2 * batch * 512 * 512, 2 * batch * 512 * 10]
        return float(sum(layers)), float(layers[0])
    if model == "cnn":
        layers = [
            2 * batch * 28 * 28 * 32 * 1 * 9,
            2 * batch * 14 * 14 * 64 * 32 * 9,
            2 * batch * 3136 * 128,
            2 * batch * 128 * 10,
        ]
        return float(sum(layers)), float(layers[0])
    v, t, d, r = GPT["vocab"], GPT["ctx"], GPT["d_model"], GPT["mlp_ratio"]
    tokens = batch * t
    per_layer = tokens * (2 * d * 3 * d + 2 * d * d + 2 * 2 * d * r * d) + 2 * 2 * batch * t * t * d
    total = GPT["layers"] * per_layer + tokens * 2 * d * v
    return float(total), 0.0  # the embeddings need gradients: no layer is exempt


def flops(workload: str) -> float:
    """Matmul/conv FLOPs of one step: forward, plus 2x forward for the backward of a train
    step (input and weight gradients), less the input gradient of the first layer."""
    spec = WORKLOADS[workload]
    fwd, first = forward_matmul_flops(spec["model"], spec["batch"])
    if spec["kind"] == "infer":
        return fwd
    return 3 * fwd - first


# --------------------------------------------------------------------------- ember / torch


def build_torchlike(lib, workload: str, arrays, *, compile_fn=None):
    """Build one workload with a PyTorch-like library (``ember`` or ``torch``).

    Returns ``(step, value)``: ``step()`` runs one training step (returning the loss) or one
    inference forward (returning the logits); ``value(out)`` turns that into the check value
    (the loss) as a Python float. ``compile_fn`` (e.g. ``torch.compile``) wraps the model.
    """
    import numpy as np

    nn = lib.nn
    F = lib.nn.functional
    spec = WORKLOADS[workload]

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc3 = nn.Linear(512, 10)

        def forward(self, x):
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(3136, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.reshape(x.shape[0], -1)
            return self.fc2(F.relu(self.fc1(x)))

    class Block(nn.Module):
        def __init__(self, d, heads, ratio):
            super().__init__()
            self.heads = heads
            self.ln1 = nn.LayerNorm(d, eps=LN_EPS)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d, eps=LN_EPS)
            self.fc = nn.Linear(d, ratio * d)
            self.fc_proj = nn.Linear(ratio * d, d)

        def forward(self, x):
            b, t, c = x.shape
            h = self.heads
            qkv = self.qkv(self.ln1(x)).reshape(b, t, 3, h, c // h).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.fc_proj(F.gelu(self.fc(self.ln2(x))))

    class GPTModel(nn.Module):
        def __init__(self):
            super().__init__()
            v, t, d = GPT["vocab"], GPT["ctx"], GPT["d_model"]
            self.wte = nn.Embedding(v, d)
            self.wpe = nn.Embedding(t, d)
            self.h = nn.ModuleList(
                [Block(d, GPT["heads"], GPT["mlp_ratio"]) for _ in range(GPT["layers"])]
            )
            self.lnf = nn.LayerNorm(d, eps=LN_EPS)
            self.head = nn.Linear(d, v, bias=False)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.wte(idx) + self.wpe(lib.arange(t))
            for block in self.h:
                x = block(x)
            return self.head(self.lnf(x))

    model = {"mlp": MLP, "cnn": CNN, "gpt": GPTModel}[spec["model"]]()
    params = params_of(arrays)
    names = [n for n, _ in model.named_parameters()]
    if sorted(names) != sorted(params):
        raise RuntimeError(f"parameter names differ: {sorted(names)} vs {sorted(params)}")
    with lib.no_grad():
        for name, p in model.named_parameters():
            src = lib.from_numpy(np.ascontiguousarray(params[name]))
            if tuple(p.shape) != tuple(src.shape):
                raise RuntimeError(f"{name}: shape {tuple(p.shape)} vs {tuple(src.shape)}")
            p.copy_(src)

    x = lib.from_numpy(np.asarray(arrays["x"]))
    y = lib.from_numpy(np.asarray(arrays["y"]))
    labels = np.asarray(arrays["y"])
    fwd = compile_fn(model) if compile_fn is not None else model

    if spec["kind"] == "infer":
        model.eval()

        def infer():
            with lib.no_grad():
                return fwd(x)

        return infer, lambda out: np_cross_entropy(out.numpy(), labels)

    opt_name = spec["optimizer"]
    if opt_name == "adam":
        opt = lib.optim.Adam(model.parameters(), lr=spec["lr"], betas=ADAM_BETAS, eps=ADAM_EPS)
    elif opt_name == "adamw":
        opt = lib.optim.AdamW(
            model.parameters(),
            lr=spec["lr"],
            betas=ADAM_BETAS,
            eps=ADAM_EPS,
            weight_decay=spec["weight_decay"],
        )
    else:
        opt = lib.optim.SGD(model.parameters(), lr=spec["lr"], momentum=spec["momentum"])
    model.train()

    def train_step():
        opt.zero_grad(set_to_none=True)
        logits = fwd(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return train_step, lambda out: float(out.item())
