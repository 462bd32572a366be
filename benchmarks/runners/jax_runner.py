"""JAX runner: the whole step (forward, grad, optimizer update) under ``jax.jit``.

Plain JAX, no Flax/Optax: the models are pure functions of a parameter dict in the
``(in, out)`` / ``HWIO`` / ``NHWC`` layout (:func:`benchmarks.workloads.channels_last`), and
Adam, AdamW and SGD-momentum are written out with PyTorch's update rules. Threads: the parent
sets ``XLA_FLAGS`` (``--xla_cpu_multi_thread_eigen``, ``intra_op_parallelism_threads``).
"""

from __future__ import annotations

import functools
import math

from benchmarks import protocol, workloads


def build(args, arrays):
    import jax
    import jax.numpy as jnp
    import numpy as np

    spec = workloads.WORKLOADS[args.workload]
    model = spec["model"]
    params = {
        k: jnp.asarray(v)
        for k, v in workloads.channels_last(model, workloads.params_of(arrays)).items()
    }
    x = np.asarray(arrays["x"])
    x = jnp.asarray(workloads.nhwc(x) if model == "cnn" else x)
    x = x.astype(jnp.int32) if model == "gpt" else x
    y = jnp.asarray(np.asarray(arrays["y"]).astype(np.int32))

    def linear(p, name, h):
        out = h @ p[name + ".weight"]
        b = p.get(name + ".bias")
        return out if b is None else out + b

    def layer_norm(p, name, h):
        mu = h.mean(-1, keepdims=True)
        var = ((h - mu) ** 2).mean(-1, keepdims=True)
        h = (h - mu) * jax.lax.rsqrt(var + workloads.LN_EPS)
        return h * p[name + ".weight"] + p[name + ".bias"]

    def conv(p, name, h):
        out = jax.lax.conv_general_dilated(
            h,
            p[name + ".weight"],
            (1, 1),
            ((1, 1), (1, 1)),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        return out + p[name + ".bias"]

    def pool(h):
        return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def forward(p, inp):
        if model == "mlp":
            h = jax.nn.relu(linear(p, "fc1", inp))
            h = jax.nn.relu(linear(p, "fc2", h))
            return linear(p, "fc3", h)
        if model == "cnn":
            h = pool(jax.nn.relu(conv(p, "conv1", inp)))
            h = pool(jax.nn.relu(conv(p, "conv2", h)))
            h = h.reshape(h.shape[0], -1)
            return linear(p, "fc2", jax.nn.relu(linear(p, "fc1", h)))
        b, t = inp.shape
        d, nh = workloads.GPT["d_model"], workloads.GPT["heads"]
        hd = d // nh
        h = p["wte.weight"][inp] + p["wpe.weight"][:t]
        mask = jnp.tril(jnp.ones((t, t), bool))
        for i in range(workloads.GPT["layers"]):
            pre = f"h.{i}."
            qkv = linear(p, pre + "qkv", layer_norm(p, pre + "ln1", h))
            qkv = qkv.reshape(b, t, 3, nh, hd).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(hd))
            att = jax.nn.softmax(jnp.where(mask, att, -jnp.inf), axis=-1)
            o = (att @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
            h = h + linear(p, pre + "proj", o)
            m = jax.nn.gelu(linear(p, pre + "fc", layer_norm(p, pre + "ln2", h)), approximate=False)
            h = h + linear(p, pre + "fc_proj", m)
        return linear(p, "head", layer_norm(p, "lnf", h))

    def loss_fn(p, inp, lab):
        logits = forward(p, inp)
        logits = logits.reshape(-1, logits.shape[-1])
        logp = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.take_along_axis(logp, lab.reshape(-1, 1), axis=1).mean()

    def block(out):
        jax.block_until_ready(out)
        return out

    if spec["kind"] == "infer":
        fwd = jax.jit(forward)
        labels = np.asarray(arrays["y"])

        def infer():
            return fwd(params, x)

        return (
            infer,
            lambda out: workloads.np_cross_entropy(np.asarray(out), labels),
            block,
            jax.__version__,
        )

    opt = spec["optimizer"]
    lr = spec["lr"]
    b1, b2 = workloads.ADAM_BETAS
    eps = workloads.ADAM_EPS
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    if opt == "sgd":
        opt_state = {"buf": zeros}
    else:
        v0 = jax.tree_util.tree_map(jnp.zeros_like, params)
        opt_state = {"m": zeros, "v": v0, "t": jnp.zeros((), jnp.float32)}

    def update(p, g, s):
        if opt == "sgd":
            buf = jax.tree_util.tree_map(lambda bb, gg: spec["momentum"] * bb + gg, s["buf"], g)
            return jax.tree_util.tree_map(lambda pp, bb: pp - lr * bb, p, buf), {"buf": buf}
        t = s["t"] + 1.0
        m = jax.tree_util.tree_map(lambda mm, gg: b1 * mm + (1 - b1) * gg, s["m"], g)
        v = jax.tree_util.tree_map(lambda vv, gg: b2 * vv + (1 - b2) * gg * gg, s["v"], g)
        c1 = 1 - b1**t
        c2 = 1 - b2**t
        wd = spec.get("weight_decay", 0.0) if opt == "adamw" else 0.0

        def upd(pp, mm, vv):
            pp = pp * (1 - lr * wd)
            return pp - (lr / c1) * mm / (jnp.sqrt(vv) / jnp.sqrt(c2) + eps)

        return jax.tree_util.tree_map(upd, p, m, v), {"m": m, "v": v, "t": t}

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def train_step(p, s, inp, lab):
        loss, g = jax.value_and_grad(loss_fn)(p, inp, lab)
        p, s = update(p, g, s)
        return p, s, loss

    state = {"p": params, "s": opt_state}

    def step():
        state["p"], state["s"], loss = train_step(state["p"], state["s"], x, y)
        return loss

    return step, lambda out: float(out), block, jax.__version__


if __name__ == "__main__":
    protocol.child_main("jax", build)
