"""``ember.compile(module)`` equals eager for every nn layer, and for the benchmark models.

Every layer class exported by ``ember.nn`` is built twice from the same seed (one eager twin,
one compiled twin) and called, in train and in eval mode, on the same inputs and then on
different values of the same shapes. Compared with eager: outputs, the gradients of the float
inputs and of every parameter (for fixed random upstream gradients), and every buffer after the
call (BatchNorm's running statistics and ``num_batches_tracked``), with one trace per mode.
Layer constructions and inputs reuse the nn test tables (``tests/nn/test_conv_pool.py`` and
``tests/nn/test_losses.py`` ``MODULE_CASES``, the RNN modes of ``tests/nn/test_rnn.py``); the
others are listed in ``LAYERS`` below.

Randomness: the compiled graph draws from ember's global generator when it runs, in the same
order as eager mode, so Dropout and RReLU in train mode are compared exactly under the same seed
(``test_dropout_draws_like_eager`` checks the masks themselves).

The benchmark models (W1 MLP, W2 CNN, W3 GPT from ``benchmarks/workloads.py``) are trained for a
few steps with the model compiled and eagerly: the losses and weights must agree.

Tolerance: ``rtol=1e-5`` with an absolute ``1e-6 * max(1, |eager|.max())``; a graph may order a
few float32 operations differently from eager mode (e.g. it always takes the general path where
eager mode has a fast path), so results agree to float32 rounding rather than bit for bit.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import ember
from ember import nn
from opinfo import rand

for _sub in ("nn",):
    _path = str(Path(__file__).resolve().parents[1] / _sub)
    if _path not in sys.path:
        sys.path.insert(0, _path)

import test_conv_pool as _conv_pool  # noqa: E402
import test_losses as _losses  # noqa: E402
import test_rnn as _rnn  # noqa: E402


@dataclasses.dataclass
class Layer:
    """One layer configuration: ``make()`` builds it, ``inputs`` are its positional arguments
    (NumPy arrays become tensors, float ones requiring grad; tuples stay tuples)."""

    id: str
    make: Callable
    inputs: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)


def L(id, make, *inputs, **kwargs):
    return Layer(id, make, inputs, kwargs)


X34 = rand(3, 4, seed=1)
X234 = rand(2, 3, 4, seed=2)
X3 = rand(4, 3, 5, seed=3)  # (N, C, L)
X4 = rand(2, 3, 4, 5, seed=4)  # (N, C, H, W)
X5 = rand(2, 3, 2, 3, 4, seed=5)  # (N, C, D, H, W)
SEQ = rand(5, 2, 8, seed=6)  # (L, N, E)
TGT = rand(4, 2, 8, seed=7)
IDX = np.array([[0, 3, 1], [2, 3, 3]])

ACTIVATIONS = [
    L("ReLU", lambda: nn.ReLU(), X34),
    L("ReLU-inplace", lambda: nn.Sequential(nn.Linear(4, 4), nn.ReLU(inplace=True)), X34),
    L("ReLU6", lambda: nn.ReLU6(), X34 * 4),
    L("LeakyReLU", lambda: nn.LeakyReLU(0.2), X34),
    L("ELU", lambda: nn.ELU(0.7), X34),
    L("SELU", lambda: nn.SELU(), X34),
    L("CELU", lambda: nn.CELU(1.5), X34),
    L("GELU", lambda: nn.GELU(), X34),
    L("GELU-tanh", lambda: nn.GELU("tanh"), X34),
    L("SiLU", lambda: nn.SiLU(), X34),
    L("Mish", lambda: nn.Mish(), X34),
    L("Hardswish", lambda: nn.Hardswish(), X34 * 2),
    L("Hardsigmoid", lambda: nn.Hardsigmoid(), X34 * 2),
    L("Hardtanh", lambda: nn.Hardtanh(-1.0, 0.5), X34),
    L("Tanh", lambda: nn.Tanh(), X34),
    L("Sigmoid", lambda: nn.Sigmoid(), X34),
    L("Softmax", lambda: nn.Softmax(1), X34),
    L("LogSoftmax", lambda: nn.LogSoftmax(0), X34),
    L("Softmin", lambda: nn.Softmin(-1), X234),
    L("Softplus", lambda: nn.Softplus(2.0, 5.0), X34),
    L("Softsign", lambda: nn.Softsign(), X34),
    L("LogSigmoid", lambda: nn.LogSigmoid(), X34),
    L("Threshold", lambda: nn.Threshold(0.1, 9.0), X34),
    L("GLU", lambda: nn.GLU(1), X34),
    L("Tanhshrink", lambda: nn.Tanhshrink(), X34),
    L("Hardshrink", lambda: nn.Hardshrink(0.3), X34),
    L("Softshrink", lambda: nn.Softshrink(0.3), X34),
    L("PReLU", lambda: nn.PReLU(3), X4),
    L("RReLU", lambda: nn.RReLU(), X34),
    L("Identity", lambda: nn.Identity(), X34),
]

NORMS = [
    L("BatchNorm1d", lambda: nn.BatchNorm1d(3), X3),
    L("BatchNorm1d-2d-momentum-None", lambda: nn.BatchNorm1d(4, momentum=None), X34),
    L("BatchNorm2d", lambda: nn.BatchNorm2d(3), X4),
    L("BatchNorm2d-no-affine", lambda: nn.BatchNorm2d(3, affine=False), X4),
    L("BatchNorm2d-no-stats", lambda: nn.BatchNorm2d(3, track_running_stats=False), X4),
    L("BatchNorm3d", lambda: nn.BatchNorm3d(3, eps=1e-3), X5),
    L("GroupNorm", lambda: nn.GroupNorm(3, 3), X4),
    L("InstanceNorm1d", lambda: nn.InstanceNorm1d(3, affine=True), X3),
    L("InstanceNorm2d-stats", lambda: nn.InstanceNorm2d(3, track_running_stats=True), X4),
    L("InstanceNorm3d", lambda: nn.InstanceNorm3d(3), X5),
    L("LayerNorm", lambda: nn.LayerNorm(4), X234),
    L("LayerNorm-2d-no-bias", lambda: nn.LayerNorm([3, 4], bias=False), X234),
    L("LocalResponseNorm", lambda: nn.LocalResponseNorm(2), X4),
    L("RMSNorm", lambda: nn.RMSNorm(4), X234),
]

DROPOUTS = [
    L("Dropout", lambda: nn.Dropout(0.4), X234),
    # in place on an activation nothing saved for backward (after Tanh, whose backward reads its
    # output, eager's backward refuses: test_inplace_dropout_on_a_saved_activation)
    L(
        "Dropout-inplace",
        lambda: nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.3, inplace=True)),
        X34,
    ),
    L("Dropout1d", lambda: nn.Dropout1d(0.5), X3),
    L("Dropout2d", lambda: nn.Dropout2d(0.5), X4),
    L("Dropout3d", lambda: nn.Dropout3d(0.5), X5),
    L("AlphaDropout", lambda: nn.AlphaDropout(0.3), X234),
    L("FeatureAlphaDropout", lambda: nn.FeatureAlphaDropout(0.3), X4),
]

LINEAR_AND_SHAPES = [
    L("Linear", lambda: nn.Linear(4, 5), X234),
    L("Linear-no-bias", lambda: nn.Linear(4, 2, bias=False), X34),
    L("LazyLinear", lambda: nn.LazyLinear(3), X34),
    L("Bilinear", lambda: nn.Bilinear(4, 3, 2), X34, rand(3, 3, seed=8)),
    L("LazyConv2d", lambda: nn.LazyConv2d(4, 3), X4),
    L("Embedding", lambda: nn.Embedding(5, 3), IDX),
    L("Embedding-padding", lambda: nn.Embedding(5, 3, padding_idx=3), IDX),
    L("Embedding-max-norm", lambda: nn.Embedding(5, 3, max_norm=1.0), IDX),
    L("Embedding-freq", lambda: nn.Embedding(5, 3, scale_grad_by_freq=True), IDX),
]


class _Containers(nn.Module):
    """Parameters and layers held in ModuleList / ModuleDict / ParameterList / ParameterDict."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Tanh()])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 2)})
        self.scales = nn.ParameterList([nn.Parameter(ember.ones(4)), nn.Parameter(ember.ones(2))])
        self.shifts = nn.ParameterDict({"a": nn.Parameter(ember.zeros(2))})

    def forward(self, x):
        for block in self.blocks:
            x = block(x) * self.scales[0]
        return self.heads["a"](x) * self.scales[1] + self.heads["b"](x) + self.shifts["a"]


CONTAINERS = [
    L("Sequential", lambda: nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2)), X34),
    L("ModuleList-ModuleDict-ParameterList-ParameterDict", _Containers, X34),
]

ATTENTION = [
    L("MultiheadAttention", lambda: nn.MultiheadAttention(8, 2), SEQ, SEQ, SEQ),
    L(
        "MultiheadAttention-kv-dims-batch-first",
        lambda: nn.MultiheadAttention(8, 2, kdim=3, vdim=5, batch_first=True, add_bias_kv=True),
        rand(2, 4, 8, seed=9),
        rand(2, 6, 3, seed=10),
        rand(2, 6, 5, seed=11),
    ),
    L(
        "MultiheadAttention-dropout-mask",
        lambda: nn.MultiheadAttention(8, 2, dropout=0.3),
        SEQ,
        SEQ,
        SEQ,
        attn_mask=np.triu(np.ones((5, 5), bool), 1),
    ),
    L(
        "TransformerEncoderLayer",
        lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.2),
        SEQ,
    ),
    L(
        "TransformerEncoderLayer-norm-first-gelu",
        lambda: nn.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, activation="gelu", norm_first=True, batch_first=True
        ),
        rand(2, 5, 8, seed=12),
    ),
    L(
        "TransformerDecoderLayer",
        lambda: nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.2),
        TGT,
        SEQ,
        tgt_is_causal=True,
        tgt_mask=np.triu(np.full((4, 4), -np.inf), 1),
    ),
    L(
        "TransformerEncoder",
        lambda: nn.TransformerEncoder(
            nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1), 2, norm=nn.LayerNorm(8)
        ),
        SEQ,
    ),
    L(
        "TransformerDecoder",
        lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.1), 2),
        TGT,
        SEQ,
    ),
    L(
        "Transformer",
        lambda: nn.Transformer(8, 2, 1, 1, dim_feedforward=16, dropout=0.1),
        SEQ,
        TGT,
    ),
]

RNN_CELLS = [
    L("RNNCell", lambda: nn.RNNCell(4, 3), X34, rand(3, 3, seed=13)),
    L("RNNCell-relu-no-hx", lambda: nn.RNNCell(4, 3, nonlinearity="relu"), X34),
    L("LSTMCell", lambda: nn.LSTMCell(4, 3), X34, (rand(3, 3, seed=14), rand(3, 3, seed=15))),
    L("GRUCell", lambda: nn.GRUCell(4, 3), X34, rand(3, 3, seed=16)),
]


def _rnn_layers() -> list:
    """tests/nn/test_rnn.py's modes (RNN, RNN-relu, LSTM, LSTM-proj, GRU) with and without hx."""
    out = []
    seq, batch, h_in, hidden = 5, 3, 4, 6
    for name, kw in _rnn.MODES:
        for options in ({}, {"num_layers": 2, "bidirectional": True, "dropout": 0.3}):
            d = 2 if options.get("bidirectional") else 1
            layers = options.get("num_layers", 1)
            h_out = kw.get("proj_size", hidden)
            h0 = rand(layers * d, batch, h_out, seed=17)
            hx = (h0, rand(layers * d, batch, hidden, seed=18)) if name == "LSTM" else h0
            label = "-".join([name] + [f"{k}={v}" for k, v in {**kw, **options}.items()])
            x = rand(seq, batch, h_in, seed=19)
            make = lambda n=name, k=kw, o=options: getattr(nn, n)(h_in, hidden, **k, **o)
            out.append(L(label, make, x))
            out.append(L(label + "-hx", make, x, hx))
    return out


def _conv_pool_layers() -> list:
    """tests/nn/test_conv_pool.py's MODULE_CASES with their inputs."""
    return [
        L(f"{name}-{k}", (lambda n=name, a=args, kw=kwargs: getattr(nn, n)(*a, **kw)), x)
        for k, (name, args, kwargs) in enumerate(_conv_pool.MODULE_CASES)
        for x in [_conv_pool._input_for(name, args)]
    ]


def _loss_layers() -> list:
    """tests/nn/test_losses.py's MODULE_CASES (array options become tensors), plus CTC and
    Gaussian NLL."""
    out = []
    for k, (cls, kw, args) in enumerate(_losses.MODULE_CASES):
        out.append(L(f"{cls}-{k}", (lambda c=cls, o=kw: getattr(nn, c)(**_tensors_of(o))), *args))
    t, n, c, s = 6, 2, 4, 3
    lp = np.log(np.random.default_rng(20).dirichlet(np.ones(c), (t, n)))
    targets = np.array([[1, 2, 2], [3, 1, 0]])
    out.append(L("CTCLoss", lambda: nn.CTCLoss(), lp, targets, [6, 5], [3, 2]))
    out.append(
        L(
            "CTCLoss-concatenated-sum",
            lambda: nn.CTCLoss(reduction="sum", zero_infinity=True),
            lp,
            np.array([1, 2, 2, 3, 1]),
            [6, 4],
            [s, 2],
        )
    )
    out.append(
        L(
            "GaussianNLLLoss",
            lambda: nn.GaussianNLLLoss(full=True),
            X34,
            rand(3, 4, seed=21),
            rand(3, 4, low=0.1, high=2.0, seed=22),
        )
    )
    return out


def _tensors_of(options: dict) -> dict:
    return {
        k: ember.tensor(v.astype(np.float32)) if isinstance(v, np.ndarray) else v
        for k, v in options.items()
    }


LAYERS = (
    ACTIVATIONS
    + NORMS
    + DROPOUTS
    + LINEAR_AND_SHAPES
    + CONTAINERS
    + ATTENTION
    + RNN_CELLS
    + _rnn_layers()
    + _conv_pool_layers()
    + _loss_layers()
)

# base classes, not layers: every concrete layer class derives from them
NOT_LAYERS = {"Module", "RNNBase", "RNNCellBase"}


# ---------------------------------------------------------------------------------------------
# the helper
# ---------------------------------------------------------------------------------------------
def _vary(a):
    """Other values of the same shape: floats mirrored in their range and rolled, others as is
    (indices, targets, masks and lengths keep their meaning)."""
    if isinstance(a, tuple):
        return tuple(_vary(x) for x in a)
    if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size > 1 and np.isfinite(a).all():
        lo, hi = a.min(), a.max()
        return np.roll((lo + hi - a).reshape(-1), 1).reshape(a.shape)
    return a


def _to_ember(a, grad: bool):
    if isinstance(a, tuple):
        return tuple(_to_ember(x, grad) for x in a)
    if isinstance(a, np.ndarray):
        if a.dtype.kind == "f":
            return ember.tensor(a.astype(np.float32), requires_grad=grad)
        return ember.tensor(a)
    return a


def _flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat(x)]
    return [out]


def _leaves(args) -> list:
    return [t for t in _flat(list(args)) if isinstance(t, ember.Tensor) and t.requires_grad]


def close(actual, expected, what: str, rtol: float = 1e-5) -> None:
    if expected is None or actual is None:
        assert actual is None and expected is None, f"{what}: {actual!r} vs eager {expected!r}"
        return
    a = actual.detach().numpy() if isinstance(actual, ember.Tensor) else np.asarray(actual)
    e = expected.detach().numpy() if isinstance(expected, ember.Tensor) else np.asarray(expected)
    assert a.shape == e.shape and a.dtype == e.dtype, f"{what}: {a.shape} {a.dtype} vs {e.shape}"
    if e.dtype.kind != "f":
        np.testing.assert_array_equal(a, e, err_msg=what)
        return
    finite = np.abs(e[np.isfinite(e)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    np.testing.assert_allclose(a, e, rtol=rtol, atol=1e-6 * scale, err_msg=what, equal_nan=True)


def close_grad(actual, expected, what: str) -> None:
    """As :func:`close`: a gradient eager mode leaves None must be None (not zeros)."""
    close(actual, expected, what)


def _np(t) -> np.ndarray:
    return t.detach().numpy()


def _twins(layer: Layer):
    ember.manual_seed(0)
    eager = layer.make()
    ember.manual_seed(0)
    twin = layer.make()
    return eager, twin


def _call(module, layer: Layer, arrays: tuple, seed: int):
    args = _to_ember(arrays, grad=True)
    kwargs = {k: _to_ember(v, grad=False) for k, v in layer.kwargs.items()}
    ember.manual_seed(seed)
    outs = [o for o in _flat(module(*args, **kwargs)) if o is not None]
    return args, outs


def _backward(outs: list, seed: int) -> None:
    diff = [o for o in outs if isinstance(o, ember.Tensor) and o.requires_grad]
    if not diff:
        return
    rng = np.random.default_rng(seed)
    loss = sum(
        (o * ember.tensor(rng.standard_normal(o.shape).astype(np.float32))).sum() for o in diff
    )
    loss.backward()


def check_layer(layer: Layer, mode: str, backend: str = "numpy") -> None:
    """Compiled twin == eager twin: outputs, input/param grads, buffers; two calls, one trace."""
    eager, twin = _twins(layer)
    compiled = ember.compile(twin, backend=backend)
    for m in (eager, twin):
        m.train(mode == "train")
    arrays = layer.inputs
    for call in range(2):
        e_args, e_outs = _call(eager, layer, arrays, seed=10 + call)
        c_args, c_outs = _call(compiled, layer, arrays, seed=10 + call)
        what = f"{layer.id} [{mode}, call {call}]"
        assert len(c_outs) == len(e_outs), f"{what}: {len(c_outs)} outputs, eager {len(e_outs)}"
        for k, (c, e) in enumerate(zip(c_outs, e_outs)):
            close(c, e, f"{what}: output {k}")
        _backward(e_outs, seed=call)
        _backward(c_outs, seed=call)
        for k, (c, e) in enumerate(zip(_leaves(c_args), _leaves(e_args))):
            close_grad(c.grad, e.grad, f"{what}: gradient of input {k}")
        e_params, c_params = dict(eager.named_parameters()), dict(twin.named_parameters())
        assert list(c_params) == list(e_params), f"{what}: parameters differ"
        for name, p in e_params.items():
            close_grad(c_params[name].grad, p.grad, f"{what}: gradient of {name}")
            close(c_params[name], p, f"{what}: parameter {name}")
        e_bufs, c_bufs = dict(eager.named_buffers()), dict(twin.named_buffers())
        assert list(c_bufs) == list(e_bufs), f"{what}: buffers differ"
        for name, b in e_bufs.items():
            close(c_bufs[name], b, f"{what}: buffer {name}")
        for m in (eager, twin):
            m.zero_grad(set_to_none=True)
        arrays = _vary(arrays)
    assert compiled._compiled.traces == 1, f"{layer.id}: traced {compiled._compiled.traces} times"


# ---------------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------------
# (layer id, mode or None for both) -> reason; each is a strict xfail
KNOWN_BUGS: dict = {}


def _layer_params():
    params = []
    for layer in LAYERS:
        for mode in ("train", "eval"):
            reason = KNOWN_BUGS.get((layer.id, mode)) or KNOWN_BUGS.get((layer.id, None))
            marks = pytest.mark.xfail(strict=True, reason=reason) if reason else ()
            params.append(pytest.param(layer, mode, id=f"{layer.id}-{mode}", marks=marks))
    return params


@pytest.mark.parametrize("layer,mode", _layer_params())
def test_compiled_layer_matches_eager(layer, mode):
    check_layer(layer, mode)


class _AllLayers(nn.Module):
    """Many layers in one module, each called on its own inputs: one graph for all of them."""

    def __init__(self, layers: list):
        super().__init__()
        self.layers = nn.ModuleList([layer.make() for layer in layers])
        self.options = [layer.kwargs for layer in layers]

    def forward(self, *groups):
        return [
            m(*g, **{k: _to_ember(v, grad=False) for k, v in kw.items()})
            for m, g, kw in zip(self.layers, groups, self.options)
        ]


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_all_layers_on_default_backend(mode):
    """Every layer configuration in one graph on the default backend (fusion and C kernels where
    a compiler exists), so each layer also meets the C renderer, for two C builds per mode."""
    layers = [
        layer
        for layer in LAYERS
        if (layer.id, mode) not in KNOWN_BUGS and (layer.id, None) not in KNOWN_BUGS
    ]
    bundle = Layer("all layers", lambda: _AllLayers(layers), tuple(x.inputs for x in layers))
    check_layer(bundle, mode, backend="auto")


def test_every_layer_class_is_covered():
    classes = {
        name
        for name, obj in vars(nn).items()
        if inspect.isclass(obj) and issubclass(obj, nn.Module) and name not in NOT_LAYERS
    }
    built = set()
    for layer in LAYERS:
        ember.manual_seed(0)
        built.update(type(m).__name__ for m in layer.make().modules())
    missing = classes - built
    assert not missing, f"layers without a compile test: {sorted(missing)}"
    assert len(classes) >= 100


def test_dropout_draws_like_eager():
    """The compiled graph draws the masks from the global generator, in eager mode's order."""
    drop = nn.Dropout(0.5)
    compiled = ember.compile(drop)
    x = ember.ones(4, 50)
    ember.manual_seed(7)
    eager_masks = [drop(x).numpy() != 0 for _ in range(3)]
    ember.manual_seed(7)
    compiled_masks = [compiled(x).numpy() != 0 for _ in range(3)]
    for e, c in zip(eager_masks, compiled_masks):
        np.testing.assert_array_equal(c, e)
    assert not np.array_equal(compiled_masks[0], compiled_masks[1]), "a new mask every call"
    assert 0.35 < np.mean(compiled_masks) < 0.65


def test_inplace_dropout_on_a_saved_activation():
    """Tanh's backward reads its output, which in-place dropout overwrites: eager mode's forward
    runs and its backward raises SavedTensorError; the compiled module does the same."""
    from ember.autograd.graph import SavedTensorError

    eager, twin = _twins(
        Layer("", lambda: nn.Sequential(nn.Tanh(), nn.Dropout(0.3, inplace=True)), (X34,))
    )
    compiled = ember.compile(twin)
    for call in range(2):
        x = ember.tensor((X34 + call).astype(np.float32), requires_grad=True)
        ember.manual_seed(call)
        e_out = eager(x)
        ember.manual_seed(call)
        c_out = compiled(x)
        close(c_out, e_out, f"call {call}: output")
        assert c_out.requires_grad
        for out in (e_out, c_out):
            with pytest.raises(SavedTensorError, match="modified by an inplace operation"):
                out.sum().backward()
        assert x.grad is None
    assert compiled._compiled.traces == 1
    with ember.no_grad():  # without autograd there is nothing to refuse
        x = ember.tensor(X34.astype(np.float32))
        ember.manual_seed(5)
        c_out = compiled(x)
        ember.manual_seed(5)
        close(c_out, eager(x), "no_grad")


def test_batchnorm_running_stats_follow_eager_over_steps():
    """Several training steps then eval: running stats and outputs as in eager mode."""
    eager, twin = nn.BatchNorm2d(3, momentum=0.3), nn.BatchNorm2d(3, momentum=0.3)
    compiled = ember.compile(twin)
    rng = np.random.default_rng(0)
    for step in range(4):
        x = (rng.standard_normal((4, 3, 2, 3)) * (step + 1) + step).astype(np.float32)
        close(compiled(ember.tensor(x)), eager(ember.tensor(x)), f"step {step}")
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        close(getattr(twin, name), getattr(eager, name), name)
    assert int(twin.num_batches_tracked) == 4
    eager.eval()
    compiled.eval()
    x = ember.tensor(rng.standard_normal((4, 3, 2, 3)).astype(np.float32))
    close(compiled(x), eager(x), "eval")
    assert compiled._compiled.traces == 2  # train and eval


# ---------------------------------------------------------------------------------------------
# the benchmark models, trained compiled and eagerly
# ---------------------------------------------------------------------------------------------
def _benchmark_step(workload: str, batch: int, compile_fn):
    from benchmarks import workloads

    arrays = workloads.make_arrays(workload)
    arrays["x"], arrays["y"] = arrays["x"][:batch], arrays["y"][:batch]
    step, _ = workloads.build_torchlike(ember, workload, arrays, compile_fn=compile_fn)
    opt = step.__closure__[step.__code__.co_freevars.index("opt")].cell_contents
    return step, [p for g in opt.param_groups for p in g["params"]], opt.param_groups[0]["lr"]


@pytest.mark.parametrize(
    "workload,batch,rtol",
    [("mlp_train", 32, 1e-6), ("cnn_train", 8, 1e-6), ("gpt_train", 2, 1e-6)],
    ids=["W1-MLP", "W2-CNN", "W3-GPT"],
)
def test_benchmark_model_trains_like_eager(workload, batch, rtol):
    eager_step, eager_params, lr = _benchmark_step(workload, batch, None)
    compiled_step, compiled_params, _ = _benchmark_step(workload, batch, ember.compile)
    for step in range(3):
        e_loss, c_loss = eager_step().item(), compiled_step().item()
        assert c_loss == pytest.approx(e_loss, rel=rtol), f"step {step}: loss"
    for k, (c, e) in enumerate(zip(compiled_params, eager_params)):
        # atol: 5% of one step of size lr. A gradient that is zero (GPT's key bias: softmax
        # ignores it) or nearly cancels in exact arithmetic is dominated by float32 rounding,
        # which Adam normalises into a step of up to lr, so its size follows the summation order
        np.testing.assert_allclose(
            _np(c), _np(e), rtol=1e-5, atol=0.05 * lr, err_msg=f"parameter {k} after 3 steps"
        )
