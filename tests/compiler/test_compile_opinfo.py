"""``ember.compile`` equals eager for every op of the OpInfo tables.

The tables are the ones the op tests already use (``tests/ops/*.py`` and the functional tables in
``tests/nn/``); their samples are reused through one helper, :func:`check_compiled`, which for
one op and one sample:

1. compiles a function calling the op and runs it on the sample: outputs and the gradients of
   every floating input (for a fixed random upstream gradient) must equal eager mode's;
2. runs the *same* compiled function on different values of the same shapes (floats mirrored
   inside their range and rolled, integers and booleans rolled): equal to eager again and no
   re-trace. A value the graph froze at trace time would show up here.

Per op, the samples with different signatures go through one compiled function in turn: each new
signature re-traces once, and calling an earlier signature again re-uses its graph.

Ops that cannot be compiled (their output shape depends on the data, or they read a traced value
as Python data) must raise ``TraceError`` with a clear message: see ``REFUSED``. Error inputs must
raise the same error under ``ember.compile`` as in eager mode.

Tolerance: the compiled graph runs the registry's own NumPy forwards, so results agree to float32
rounding: ``rtol=1e-6`` plus an absolute ``1e-6 * max(1, |eager|.max())`` (operations reordered
by the graph, e.g. a fused slow path instead of an eager fast path, may differ in the last bit).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.compiler import TraceError
from opinfo import OpInfo, Sample, to_ember

for _sub in ("ops", "nn"):
    _path = str(Path(__file__).resolve().parents[1] / _sub)
    if _path not in sys.path:
        sys.path.insert(0, _path)

import test_activation_norm as _activation_norm  # noqa: E402
import test_conv_pool as _conv_pool  # noqa: E402
import test_elementwise_ops as _elementwise  # noqa: E402
import test_indexing_ops as _indexing  # noqa: E402
import test_linalg_ops as _linalg  # noqa: E402
import test_linear_fused as _linear_fused  # noqa: E402
import test_losses as _losses  # noqa: E402
import test_movement_ops as _movement  # noqa: E402
import test_reduce_ops as _reduce  # noqa: E402

_MODULES = {
    "elementwise": _elementwise,
    "indexing": _indexing,
    "linalg": _linalg,
    "linear": _linear_fused,
    "movement": _movement,
    "reduce": _reduce,
    "activation_norm": _activation_norm,
    "conv_pool": _conv_pool,
    "losses": _losses,
}


def _tables() -> list[tuple[str, OpInfo]]:
    """Every OpInfo of every table (any module-level list of OpInfos) as (family, info)."""
    out = []
    for family, mod in _MODULES.items():
        for name, value in vars(mod).items():
            if name.isupper() and isinstance(value, list) and value:
                if all(isinstance(v, OpInfo) for v in value):
                    out.extend((family, info) for info in value)
    return out


_INF = np.array([1.0, np.inf, -np.inf, np.nan, 2.0, 1e-9])
# ops that no family table lists, found while making these tests (fixed to trace faithfully)
EXTRA_OPS = [
    OpInfo(
        "isclose",
        ember.isclose,
        [
            Sample((_INF, np.array([1.0 + 1e-7, np.inf, np.inf, np.nan, 2.1, 0.0])), name="inf"),
            Sample((_INF, _INF[::-1].copy()), {"equal_nan": True, "rtol": 0.1}, name="nan"),
            Sample((np.array([3, 4]), np.array([3, 5])), name="int"),
        ],
        grad=False,
    ),
    OpInfo("allclose", ember.allclose, [Sample((_INF, _INF.copy()), {"equal_nan": True})]),
]

ALL_OPS = _tables() + [("extra", info) for info in EXTRA_OPS]

_DATA_DEPENDENT = "its output shape depends on the data"
_FROZEN = "computed from traced data outside the op registry"
_READS = r"reads a traced value as Python data"

# Ops that cannot be compiled, why, and the TraceError text that says so.
REFUSED = {
    "getitem_mask": ("a boolean mask selects a data-dependent number of elements", "nonzero"),
    "getitem_mask_slice": ("boolean mask indexing: data-dependent output shape", "nonzero"),
    "setitem_mask_grad": ("the masked region's size depends on the mask's values", "nonzero"),
    "masked_select": ("the result has as many elements as the mask has True values", "nonzero"),
    "nonzero": ("one row per non-zero element: data-dependent shape", _DATA_DEPENDENT),
    "nonzero_tuple": ("one entry per non-zero element: data-dependent shape", _DATA_DEPENDENT),
    "argwhere": ("one row per non-zero element: data-dependent shape", _DATA_DEPENDENT),
    "unique": ("as many outputs as distinct values: data-dependent shape", _DATA_DEPENDENT),
    "unique_dim": ("as many rows as distinct rows: data-dependent shape", _DATA_DEPENDENT),
    "repeat_interleave_tensor": (
        "repeat counts given as a tensor: the output length is their sum (data-dependent)",
        _FROZEN,
    ),
    "rmatmul_ndarray": ("the op itself calls .numpy() on its traced input", _READS),
    "allclose": ("returns a Python bool computed from the data", _READS),
}


def _key(family: str, info: OpInfo) -> str:
    return f"{family}.{info.name}"


COMPILED_OPS = [(f, i) for f, i in ALL_OPS if i.name not in REFUSED and i.samples]

RESTORE_BUG = (
    "tracer.restore writes into a read-only constant (the engine's broadcast zeros for an unused "
    "output of gelu's two outputs): see test_unused_output_of_a_multi_output_primitive in "
    "test_compile_pitfalls.py"
)
SNAPSHOT_BUG = (
    "the in-place write of x[key] = v on a tensor that requires grad computes from a copy the "
    "tracer never sees: see test_in_place_op_on_a_tensor_that_requires_grad in "
    "test_compile_pitfalls.py"
)
# op -> tracer bug it hits (strict xfails; the family bundles leave these ops out)
TRACER_BUGS: dict = {}  # all fixed; kept for the next bug found
ERROR_ONLY_OPS = [(f, i) for f, i in ALL_OPS if not i.samples]


# ---------------------------------------------------------------------------------------------
# the helper
# ---------------------------------------------------------------------------------------------
def _vary(a):
    """Other values of the same shape and dtype, inside the sample's own range."""
    if isinstance(a, (list, tuple)):
        return type(a)(_vary(x) for x in a)
    if not isinstance(a, np.ndarray) or a.size == 0:
        return a
    if a.dtype.kind == "f":
        if a.size == 1:
            return np.asarray(a * 0.75)
        lo, hi = a.min(), a.max()
        return np.roll((lo + hi - a).reshape(-1), 1).reshape(a.shape)  # mirrored and rolled
    return np.roll(a.reshape(-1), 1).reshape(a.shape)


def _own(a):
    if isinstance(a, (list, tuple)):
        return type(a)(_own(x) for x in a)
    return a.copy() if isinstance(a, np.ndarray) else a


def _copied(sample: Sample) -> Sample:
    """The sample with its own arrays (tensors over shared arrays would alias each other)."""
    return Sample(_own(sample.args), sample.kwargs, sample.name)


def _outputs(res) -> list:
    if isinstance(res, (tuple, list)):
        return [o for r in res for o in _outputs(r)]
    return [res]


def _tensor_leaves(args) -> list:
    if isinstance(args, (list, tuple)):
        return [t for a in args for t in _tensor_leaves(a)]
    return [args] if isinstance(args, ember.Tensor) else []


def _close(actual, expected, what: str) -> None:
    assert isinstance(actual, ember.Tensor) == isinstance(expected, ember.Tensor), what
    if not isinstance(expected, ember.Tensor):
        assert actual == expected, f"{what}: {actual!r} != {expected!r}"
        return
    a, e = actual.detach().numpy(), expected.detach().numpy()
    assert a.shape == e.shape, f"{what}: shape {a.shape}, eager {e.shape}"
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype}, eager {e.dtype}"
    if e.dtype.kind not in "fc":
        np.testing.assert_array_equal(a, e, err_msg=what)
        return
    finite = e[np.isfinite(e)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-6 * scale, err_msg=what, equal_nan=True)


def _run(fn, args: tuple, kwargs: dict):
    """Outputs of ``fn(*args)`` and the gradients of its float inputs (fixed cotangents)."""
    outs = _outputs(fn(*args, **kwargs))
    diff = [o for o in outs if isinstance(o, ember.Tensor) and o.requires_grad]
    leaves = [t for t in _tensor_leaves(args) if t.requires_grad]
    grads = []
    if diff and leaves:
        rng = np.random.default_rng(1)
        cots = [ember.tensor(rng.standard_normal(o.shape).astype(np.float32)) for o in diff]
        grads = list(ember.autograd.grad(diff, leaves, cots, allow_unused=True))
    return outs, grads


def _compare(make_args, kwargs: dict, compiled, eager, what: str, labels=None) -> None:
    """``compiled`` and ``eager`` on fresh tensors from ``make_args()``: outputs and grads."""
    outs, grads = _run(compiled, make_args(), kwargs)
    e_outs, e_grads = _run(eager, make_args(), kwargs)
    assert len(outs) == len(e_outs), f"{what}: {len(outs)} outputs, eager {len(e_outs)}"
    for k, (c, e) in enumerate(zip(outs, e_outs)):
        _close(c, e, f"{what}: output {k} ({labels[k] if labels else ''})")
    assert len(grads) == len(e_grads), f"{what}: differentiable outputs differ from eager"
    for k, (c, e) in enumerate(zip(grads, e_grads)):
        if e is None or c is None:
            zero = e if c is None else c
            assert zero is None or not np.any(zero.numpy()), f"{what}: gradient {k} missing"
            continue
        _close(c, e, f"{what}: gradient of input {k}")


def _around_tracer_bugs(result):
    """Plain tuples for namedtuples and shape (1,) for 0-d outputs, inside the compiled function.

    Two tracer bugs, each with its own strict xfail test in test_compile_pitfalls.py: a
    namedtuple output (``sort``, ``max(dim)``, ``topk``...) is returned frozen from the trace
    instead of as graph outputs, and a 0-d upstream gradient reaches the backward graph as shape
    (1,). Remove this wrapper when those tests pass.
    """
    if isinstance(result, tuple):
        return tuple(_around_tracer_bugs(r) for r in result)
    if isinstance(result, list):
        return [_around_tracer_bugs(r) for r in result]
    if isinstance(result, ember.Tensor) and result.dim() == 0:
        return result.reshape(1)
    return result


def _compile_op(info: OpInfo, backend: str = "numpy"):
    return ember.compile(lambda *a, **k: _around_tracer_bugs(info.op(*a, **k)), backend=backend)


def _eager(info: OpInfo):
    return lambda *a, **k: _around_tracer_bugs(info.op(*a, **k))


def _maker(info: OpInfo, sample: Sample):
    return lambda: to_ember(info, sample, "float32", requires_grad=info.grad)


def check_compiled(info: OpInfo, sample: Sample) -> None:
    """Compiled == eager on ``sample`` and on other values of the same shapes, one trace."""
    compiled = _compile_op(info)
    _compare(_maker(info, sample), sample.kwargs, compiled, _eager(info), f"{info.name} sample")
    varied = Sample(tuple(_vary(a) for a in sample.args), sample.kwargs, sample.name)
    what = f"{info.name} other values, same shapes"
    _compare(_maker(info, varied), sample.kwargs, compiled, _eager(info), what)
    assert compiled.traces == 1, f"{info.name}: re-traced for new values of the same shapes"


# ---------------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------------
def _marks(info: OpInfo):
    reason = TRACER_BUGS.get(info.name)
    return pytest.mark.xfail(strict=True, reason=reason) if reason else ()


def _sample_params():
    return [
        pytest.param(info, s, id=f"{_key(family, info)}-{s.name or k}", marks=_marks(info))
        for family, info in COMPILED_OPS
        for k, s in enumerate(info.samples)
    ]


@pytest.mark.parametrize("info,sample", _sample_params())
def test_compiled_matches_eager(info, sample):
    check_compiled(info, sample)


def _signature(info: OpInfo, sample: Sample) -> str:
    """What the compile cache keys on: tensor shapes/dtypes and the Python values."""
    parts = [(a.shape, a.dtype.name) if isinstance(a, np.ndarray) else repr(a) for a in sample.args]
    return repr((parts, sample.kwargs))


_MULTI = [
    pytest.param(info, id=_key(f, info), marks=_marks(info))
    for f, info in COMPILED_OPS
    if len({_signature(info, s) for s in info.samples}) > 1
]


@pytest.mark.parametrize("info", _MULTI)
def test_new_signature_retraces_once(info):
    compiled = _compile_op(info)
    seen: list = []
    for s in info.samples:
        args = to_ember(info, s, "float32", requires_grad=info.grad)
        compiled(*args, **s.kwargs)
        sig = _signature(info, s)
        if sig not in seen:
            seen.append(sig)
        assert compiled.traces == len(seen), f"{info.name}: traced {compiled.traces} times"
    s = info.samples[0]  # the first signature again: its graph is re-used
    _compare(_maker(info, s), s.kwargs, compiled, _eager(info), f"{info.name} first signature")
    assert compiled.traces == len(seen)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_trace_error(name):
    (info,) = [i for _, i in ALL_OPS if i.name == name]
    reason, match = REFUSED[name]
    sample = info.samples[0]
    args = to_ember(info, sample, "float32")
    compiled = _compile_op(info)
    with pytest.raises(TraceError, match=match) as err:
        compiled(*args, **sample.kwargs)
    assert re.search(r"\(at \S+\.py:\d+: ", str(err.value)), f"{name}: no user line: {err.value}"
    # fullgraph=False: the same call runs eagerly, with a warning
    fallback = ember.compile(lambda *a, **k: info.op(*a, **k), fullgraph=False)
    with pytest.warns(UserWarning, match="falling back to eager"):
        got = _outputs(fallback(*args, **sample.kwargs))
    for k, (c, e) in enumerate(zip(got, _outputs(info.op(*args, **sample.kwargs)))):
        _close(c, e, f"{name} eager fallback: output {k}")


def test_data_dependent_table_is_refused():
    """Every op the indexing tests list as data-dependent is in the refusal table."""
    assert {i.name for i in _indexing.DD_OPS} <= set(REFUSED)


@pytest.mark.parametrize("family", list(dict.fromkeys(f for f, _ in COMPILED_OPS)))
def test_family_on_default_backend(family):
    """Every op of a family on its first sample, as one graph on the default backend (fusion
    and C kernels where a compiler exists): each op meets the C renderer, for two C builds per
    family (building one library per op and sample would take minutes)."""
    cases = [
        (i, _copied(s))
        for f, i in COMPILED_OPS
        if f == family and i.name not in TRACER_BUGS
        for s in i.samples[:1]
    ]
    names = [f"{i.name}[{s.name or k}]" for k, (i, s) in enumerate(cases)]

    def run_all(*groups):
        return [_around_tracer_bugs(i.op(*g, **s.kwargs)) for (i, s), g in zip(cases, groups)]

    def maker(samples):
        return lambda: tuple(
            to_ember(i, s, "float32", requires_grad=i.grad) for (i, _), s in zip(cases, samples)
        )

    eager_results = run_all(*maker([s for _, s in cases])())
    labels = [name for name, r in zip(names, eager_results) for _ in _outputs(r)]
    compiled = ember.compile(run_all, backend="auto")
    originals = [s for _, s in cases]
    varied = [Sample(tuple(_vary(a) for a in s.args), s.kwargs, s.name) for s in originals]
    for samples, what in ((originals, "sample"), (varied, "other values, same shapes")):
        _compare(maker(samples), {}, compiled, run_all, f"{family} {what}", labels)
    assert compiled.traces == 1


def _error_params():
    return [
        pytest.param(info, case, id=f"{_key(f, info)}-{k}")
        for f, info in ALL_OPS
        for k, case in enumerate(info.errors)
    ]


@pytest.mark.parametrize("info,case", _error_params())
def test_error_inputs_raise_the_same_error(info, case):
    args = to_ember(info, Sample(case.args, case.kwargs), "float32")
    with pytest.raises(case.exc, match=case.match):
        _compile_op(info)(*args, **case.kwargs)


def test_every_op_is_covered():
    covered = {_key(f, i) for f, i in COMPILED_OPS + ERROR_ONLY_OPS}
    refused = {_key(f, i) for f, i in ALL_OPS if i.name in REFUSED}
    assert covered | refused == {_key(f, i) for f, i in ALL_OPS}
    assert all(i.errors for _, i in ERROR_ONLY_OPS), "an op without samples must have errors"
    assert len(COMPILED_OPS) >= 340
