"""TensorFlow runner: the whole step as one ``tf.function`` graph (no XLA ``jit_compile``).

Low-level TF (``tf.Variable``, ``tf.GradientTape``, ``tf.nn``), no Keras layers: the models
use the ``(in, out)`` / ``HWIO`` / ``NHWC`` layout (TF's CPU convolutions want NHWC) and
Adam, AdamW and SGD-momentum are written out with PyTorch's update rules, so the numbers
match the other frameworks exactly. Threads: ``tf.config.threading`` intra/inter-op.
"""

from __future__ import annotations

import math

from benchmarks import protocol, workloads


def build(args, arrays):
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    spec = workloads.WORKLOADS[args.workload]
    model = spec["model"]
    layout = workloads.channels_last(model, workloads.params_of(arrays))
    params = {k: tf.Variable(v, name=k.replace(".", "_")) for k, v in layout.items()}
    names = list(params)
    x = np.asarray(arrays["x"])
    x = tf.constant(workloads.nhwc(x) if model == "cnn" else x)
    y = tf.constant(np.asarray(arrays["y"]))

    def linear(name, h):
        w = params[name + ".weight"]
        out = tf.matmul(h, w) if len(h.shape) == 2 else tf.einsum("btc,cd->btd", h, w)
        b = params.get(name + ".bias")
        return out if b is None else out + b

    def layer_norm(name, h):
        mu, var = tf.nn.moments(h, axes=[-1], keepdims=True)
        h = (h - mu) * tf.math.rsqrt(var + workloads.LN_EPS)
        return h * params[name + ".weight"] + params[name + ".bias"]

    def conv(name, h):
        out = tf.nn.conv2d(h, params[name + ".weight"], strides=1, padding="SAME")
        return tf.nn.bias_add(out, params[name + ".bias"])

    def forward(inp):
        if model == "mlp":
            h = tf.nn.relu(linear("fc1", inp))
            h = tf.nn.relu(linear("fc2", h))
            return linear("fc3", h)
        if model == "cnn":
            h = tf.nn.max_pool2d(tf.nn.relu(conv("conv1", inp)), 2, 2, "VALID")
            h = tf.nn.max_pool2d(tf.nn.relu(conv("conv2", h)), 2, 2, "VALID")
            h = tf.reshape(h, [h.shape[0], -1])
            return linear("fc2", tf.nn.relu(linear("fc1", h)))
        b, t = inp.shape
        d, nh = workloads.GPT["d_model"], workloads.GPT["heads"]
        hd = d // nh
        h = tf.gather(params["wte.weight"], inp) + params["wpe.weight"][:t]
        mask = tf.linalg.band_part(tf.ones((t, t), tf.bool), -1, 0)
        for i in range(workloads.GPT["layers"]):
            pre = f"h.{i}."
            qkv = linear(pre + "qkv", layer_norm(pre + "ln1", h))
            qkv = tf.transpose(tf.reshape(qkv, [b, t, 3, nh, hd]), [2, 0, 3, 1, 4])
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = tf.matmul(q, k, transpose_b=True) * (1.0 / math.sqrt(hd))
            att = tf.nn.softmax(tf.where(mask, att, -math.inf), axis=-1)
            o = tf.reshape(tf.transpose(tf.matmul(att, v), [0, 2, 1, 3]), [b, t, d])
            h = h + linear(pre + "proj", o)
            m = tf.nn.gelu(linear(pre + "fc", layer_norm(pre + "ln2", h)), approximate=False)
            h = h + linear(pre + "fc_proj", m)
        return linear("head", layer_norm("lnf", h))

    def sync(out):  # CPU execution is synchronous; fetching the result makes it certain
        return out.numpy()

    if spec["kind"] == "infer":
        fwd = tf.function(forward)
        labels = np.asarray(arrays["y"])

        def infer():
            return fwd(x)

        return (
            infer,
            lambda out: workloads.np_cross_entropy(out.numpy(), labels),
            sync,
            tf.__version__,
        )

    opt = spec["optimizer"]
    lr = spec["lr"]
    b1, b2 = workloads.ADAM_BETAS
    eps = workloads.ADAM_EPS
    wd = spec.get("weight_decay", 0.0) if opt == "adamw" else 0.0
    slots = {
        k: [tf.Variable(tf.zeros_like(v)) for _ in range(1 if opt == "sgd" else 2)]
        for k, v in params.items()
    }
    t_var = tf.Variable(0.0)

    @tf.function
    def train_step(inp, lab):
        with tf.GradientTape() as tape:
            logits = forward(inp)
            logits = tf.reshape(logits, [-1, logits.shape[-1]])
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=tf.reshape(lab, [-1]), logits=logits
                )
            )
        # embedding gradients come back as IndexedSlices: make them dense, as torch does
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, [params[k] for k in names])]
        if opt == "sgd":
            for k, g in zip(names, grads):
                buf = slots[k][0]
                buf.assign(spec["momentum"] * buf + g)
                params[k].assign_sub(lr * buf)
            return loss
        t = t_var.assign_add(1.0)
        c1 = 1.0 - tf.pow(b1, t)
        c2 = 1.0 - tf.pow(b2, t)
        for k, g in zip(names, grads):
            m, v = slots[k]
            m.assign(b1 * m + (1 - b1) * g)
            v.assign(b2 * v + (1 - b2) * g * g)
            p = params[k]
            if wd:
                p.assign(p * (1 - lr * wd))
            p.assign_sub((lr / c1) * m / (tf.sqrt(v) / tf.sqrt(c2) + eps))
        return loss

    def step():
        return train_step(x, y)

    return step, lambda out: float(out.numpy()), sync, tf.__version__


if __name__ == "__main__":
    protocol.child_main("tensorflow", build)
