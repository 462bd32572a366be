"""tinygrad runner: the step under ``TinyJit`` (captured on the 2nd call, replayed after).

tinygrad keeps PyTorch's layouts (``Linear.weight`` is ``(out, in)``, NCHW/OIHW), so the
weights load as they are. Optimizers are tinygrad's own (``nn.optim.Adam``/``AdamW``/``SGD``).
Its CPU backend compiles kernels with ``clang`` (install it: ``apt-get install clang``);
threads: the parent sets ``NUM_CPU_THREADS``.
"""

from __future__ import annotations

import contextlib
import math

from benchmarks import protocol, workloads


def build(args, arrays):
    import numpy as np
    import tinygrad
    from tinygrad import Tensor, TinyJit
    from tinygrad.nn import optim

    spec = workloads.WORKLOADS[args.workload]
    model = spec["model"]
    params = {
        k: Tensor(np.ascontiguousarray(v)).realize() for k, v in workloads.params_of(arrays).items()
    }
    x = Tensor(np.asarray(arrays["x"]).astype(np.int32 if model == "gpt" else np.float32))
    y = Tensor(np.asarray(arrays["y"]).astype(np.int32))
    x, y = x.realize(), y.realize()

    def linear(name, h):
        return h.linear(params[name + ".weight"].T, params.get(name + ".bias"))

    def layer_norm(name, h):
        return h.layernorm(eps=workloads.LN_EPS) * params[name + ".weight"] + params[name + ".bias"]

    def forward(inp):
        if model == "mlp":
            h = linear("fc1", inp).relu()
            h = linear("fc2", h).relu()
            return linear("fc3", h)
        if model == "cnn":
            h = inp.conv2d(params["conv1.weight"], params["conv1.bias"], padding=1).relu()
            h = h.max_pool2d(2)
            h = h.conv2d(params["conv2.weight"], params["conv2.bias"], padding=1).relu()
            h = h.max_pool2d(2).flatten(1)
            return linear("fc2", linear("fc1", h).relu())
        b, t = inp.shape
        d, nh = workloads.GPT["d_model"], workloads.GPT["heads"]
        hd = d // nh
        pos = Tensor.arange(t)
        h = params["wte.weight"][inp] + params["wpe.weight"][pos]
        for i in range(workloads.GPT["layers"]):
            pre = f"h.{i}."
            qkv = linear(pre + "qkv", layer_norm(pre + "ln1", h))
            qkv = qkv.reshape(b, t, 3, nh, hd).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            o = q.scaled_dot_product_attention(k, v, is_causal=True)
            h = h + linear(pre + "proj", o.transpose(1, 2).reshape(b, t, d))
            m = linear(pre + "fc", layer_norm(pre + "ln2", h))
            m = m * 0.5 * (1.0 + (m * (1.0 / math.sqrt(2.0))).erf())  # exact (erf) GELU
            h = h + linear(pre + "fc_proj", m)
        return linear("head", layer_norm("lnf", h))

    def mode(name):  # Tensor.train()/test() in older tinygrad; Context(TRAINING=...) in 0.14
        fn = getattr(Tensor, name, None)
        if fn is not None:
            return fn()
        try:
            from tinygrad.helpers import Context

            return Context(TRAINING=int(name == "train"))
        except (ImportError, KeyError, TypeError):
            return contextlib.nullcontext()

    version = getattr(tinygrad, "__version__", None)
    if version is None:
        from importlib import metadata

        version = metadata.version("tinygrad")

    if spec["kind"] == "infer":
        labels = np.asarray(arrays["y"])

        @TinyJit
        def fwd(inp):
            return forward(inp).realize()

        def infer():
            with mode("test"):
                return fwd(x)

        return (
            infer,
            lambda out: workloads.np_cross_entropy(out.numpy(), labels),
            None,
            version,
        )

    plist = list(params.values())
    opt_name = spec["optimizer"]
    b1, b2 = workloads.ADAM_BETAS
    if opt_name == "adam":
        opt = optim.Adam(plist, lr=spec["lr"], b1=b1, b2=b2, eps=workloads.ADAM_EPS)
    elif opt_name == "adamw":
        opt = optim.AdamW(
            plist,
            lr=spec["lr"],
            b1=b1,
            b2=b2,
            eps=workloads.ADAM_EPS,
            weight_decay=spec["weight_decay"],
        )
    else:
        opt = optim.SGD(plist, lr=spec["lr"], momentum=spec["momentum"])

    @TinyJit
    def train_step(inp, lab):
        with mode("train"):
            opt.zero_grad()
            logits = forward(inp)
            loss = logits.reshape(-1, logits.shape[-1]).sparse_categorical_crossentropy(
                lab.reshape(-1)
            )
            loss.backward()
            # realize the loss together with the update, so it is the loss before the step
            return loss.realize(*opt.schedule_step())

    def step():
        return train_step(x, y)

    return step, lambda out: float(out.item()), None, version


if __name__ == "__main__":
    protocol.child_main("tinygrad", build)
