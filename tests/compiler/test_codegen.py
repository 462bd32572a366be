"""The C back end of ``ember.compile`` (``ember.compiler.codegen``).

* every op of the C table against its registry NumPy forward, on every dtype it accepts, with
  special values (NaN, infinities, signed zeros, integer overflow): exact for arithmetic,
  comparisons, selection and sums; within a few ulp for libm functions;
* broadcasting patterns, reductions, batch-size-dependent shapes;
* the C path against the NumPy fallback on whole groups;
* the on-disk cache (a second build is a hit; concurrent builds are safe), the fallback with
  a one-line notice when there is no compiler or it fails.

Skipped where no C compiler works.
"""

from __future__ import annotations

import os
import threading
import warnings

import numpy as np
import pytest

import ember
import ember.ops.conv_kernels  # noqa: F401 - registers the convolution primitives
from ember.compiler.codegen import c_build
from ember.compiler.codegen.c_ops import C_OPS
from ember.compiler.codegen.c_render import render_group
from ember.compiler.codegen.library import KernelLibrary
from ember.compiler.executor import make_executor
from ember.compiler.passes import fuse_elementwise
from ember.ir import Graph, run_graph
from ember.ir.symbolic import SymInt
from ember.registry import REGISTRY

needs_cc = pytest.mark.skipif(
    c_build.toolchain() is None, reason="no working C compiler (or EMBER_NO_CC is set)"
)


# ---------------------------------------------------------------------------------------------
# inputs with special values
# ---------------------------------------------------------------------------------------------
_RNG = np.random.default_rng(0)
_SHAPE = (6, 40)


def _values(dtype: str, op: str, k: int):
    if dtype == "bool":
        return _RNG.integers(0, 2, _SHAPE).astype(bool)
    if dtype in ("float32", "float64"):
        a = _RNG.uniform(-4, 4, _SHAPE)
        if op in ("log", "log2", "log10", "sqrt", "rsqrt"):
            a = np.abs(a) + 1e-3
        if op in ("log1p",):
            a = np.abs(a) - 0.5
        if op in ("asin", "acos"):
            a = a / 4.5
        if op in ("pow",) and k == 0:
            a = np.abs(a)
        a = a.astype(dtype)
        flat = a.reshape(-1)
        flat[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0]
        if k:
            flat[:6] = flat[:6][::-1]
        return a
    info = np.iinfo(dtype)
    a = _RNG.integers(-9 if info.min < 0 else 0, 10, _SHAPE).astype(dtype)
    a.reshape(-1)[:2] = [info.max, info.min]  # wrap-around arithmetic
    return a


# (op, operand dtypes, attrs); the C table says which dtypes each op accepts
_DTYPE_CHOICES = ("float32", "float64", "int32", "int64", "int8", "uint8", "bool")


def _op_cases():
    cases = []
    for op, entry in sorted(C_OPS.items()):
        if op in ("gelu", "gelu_backward", "expand", "where", "cast", "clamp", "round"):
            continue
        n_in = {"add": 2}.get(op, _arity(op))
        for dt in _DTYPE_CHOICES:
            if dt in entry[1]:
                cases.append((op, [dt] * n_in, {}))
    cases += [
        ("where", ["bool", "float32", "float32"], {}),
        ("where", ["bool", "int64", "int64"], {}),
        ("round", ["float32"], {"decimals": 0}),
        ("clamp", ["float32"], {"min": -1.0, "max": 2.5}),
        ("clamp", ["int32"], {"min": -3, "max": None}),
        ("cast", ["float32"], {"dtype": ember.int32}),
        ("cast", ["float32"], {"dtype": ember.bool}),
        ("cast", ["int64"], {"dtype": ember.float32}),
        ("cast", ["bool"], {"dtype": ember.float64}),
        ("cast", ["float64"], {"dtype": ember.float32}),
    ]
    return cases


def _arity(op: str) -> int:
    binary = {
        "add sub mul div pow atan2 fmod maximum minimum eq ne lt le gt ge logical_and "
        "logical_or logical_xor bitwise_and bitwise_or bitwise_xor relu_grad"
    }
    return 2 if op in " ".join(binary).split() else 1


_EXACT = {"float32": 0.0, "float64": 0.0}
_LIBM = {"float32": 1e-6, "float64": 1e-14}  # libm / libmvec: a few ulp
_LIBM_OPS = set(
    "exp exp2 log log2 log10 log1p expm1 sin cos tan asin acos atan sinh cosh tanh erf pow atan2 "
    "sigmoid".split()
)


def _case_id(case) -> str:
    return f"{case[0]}-{'-'.join(case[1])}-{len(case[2])}"


@pytest.fixture(scope="module")
def op_results():
    """Every case of the table as one node of one graph (one C build for all of them):
    ``case id -> (reference outputs, compiled outputs)``."""
    g = Graph()
    refs, args, outs_of = {}, [], {}
    for case in _op_cases():
        op, dtypes, attrs = case
        arrays = [_values(dt, op, k) for k, dt in enumerate(dtypes)]
        if op == "cast" and dtypes[0].startswith("float") and attrs["dtype"].name != "bool":
            arrays = [np.nan_to_num(a, nan=0.0, posinf=7.0, neginf=-7.0) for a in arrays]
        prim = REGISTRY[op]
        with np.errstate(all="ignore"):
            ref = prim.forward(*arrays, **attrs)
        ref = list(ref) if prim.num_outputs > 1 else [ref]
        ins = [g.add_input(a.shape, a.dtype.name) for a in arrays]
        types = [(np.shape(r), np.asarray(r).dtype.name) for r in ref]
        outs_of[_case_id(case)] = g.add_node(op, ins, attrs, types)
        refs[_case_id(case)] = ref
        args += arrays
    g.outputs = [o for outs in outs_of.values() for o in outs]
    ex = make_executor(g, {"backend": "c"})
    assert all(n.op == "fused" for n in ex.graph.nodes)
    with np.errstate(all="ignore"):
        got = ex.run(args, {})
    assert all(entry[0] == "c" for entry in ex._kernels.values())  # C ran, not the fallback
    by_value = dict(zip(g.outputs, got))
    return {cid: (refs[cid], [by_value[o] for o in outs]) for cid, outs in outs_of.items()}


@needs_cc
@pytest.mark.parametrize("case", _op_cases(), ids=[_case_id(c) for c in _op_cases()])
def test_c_op_matches_numpy_forward(case, op_results):
    refs, got = op_results[_case_id(case)]
    op = case[0]
    for r, o in zip(refs, got):
        r = np.asarray(r)
        assert o.dtype == r.dtype and o.shape == r.shape
        if r.dtype.kind != "f":
            np.testing.assert_array_equal(o, r)
            continue
        tol = (_LIBM if op in _LIBM_OPS else _EXACT)[r.dtype.name]
        np.testing.assert_array_equal(np.isnan(o), np.isnan(r))
        np.testing.assert_allclose(o, r, rtol=tol, atol=0)


@needs_cc
def test_gelu_kernels_match_the_numpy_forwards():
    x = (_RNG.standard_normal((16, 64)) * 3).astype(np.float32)
    x.reshape(-1)[:4] = [np.nan, 10.0, -10.0, 0.0]
    g_ = _RNG.standard_normal((16, 64)).astype(np.float32)
    ref_y, ref_cdf = REGISTRY["gelu"].forward(x)
    g = Graph()
    xi, gi = g.add_input(x.shape, "float32", "x"), g.add_input(g_.shape, "float32", "g")
    y, cdf = g.add_node("gelu", [xi], {}, [(x.shape, "float32")] * 2)
    (dx,) = g.add_node("gelu_backward", [gi, xi, cdf], {}, [(x.shape, "float32")])
    g.outputs = [y, cdf, dx]
    out = make_executor(g, {"backend": "c"}).run([x, g_], {})
    np.testing.assert_array_equal(out[0], ref_y)  # same float32 rational function, same order
    np.testing.assert_array_equal(out[1], ref_cdf)
    ref_dx = REGISTRY["gelu_backward"].forward(g_, x, ref_cdf)
    # exp differs from NumPy's by an ulp; GELU' crosses zero, so compare against the scale
    np.testing.assert_allclose(out[2], ref_dx, rtol=1e-6, atol=1e-6 * np.nanmax(np.abs(ref_dx)))


# ---------------------------------------------------------------------------------------------
# broadcasting, reductions, dynamic shapes: C against the NumPy fallback of the same group
# ---------------------------------------------------------------------------------------------
def _graph(shapes: list, build):
    g = Graph()
    ins = [g.add_input(s, "float32", name=f"x{k}") for k, s in enumerate(shapes)]
    g.outputs = list(build(g, *ins))
    return g


def _n(g, op, ins, shape, attrs=None, dtype="float32"):
    return g.add_node(op, list(ins), attrs or {}, [(shape, dtype)])[0]


def _sum(axes, keepdim=False):
    return {"axes": axes, "keepdim": keepdim, "dtype": ember.float32}


BROADCASTS = [
    ("same-shape", [(5, 7), (5, 7)], (5, 7)),
    ("row-bias", [(5, 7), (7,)], (5, 7)),
    ("column", [(5, 7), (5, 1)], (5, 7)),
    ("scalar", [(5, 7), ()], (5, 7)),
    ("middle", [(3, 4, 5), (3, 1, 5)], (3, 4, 5)),
    ("outer", [(3, 1), (1, 4)], (3, 4)),
    ("leading-new-dims", [(2, 3, 4, 5), (4, 5)], (2, 3, 4, 5)),
    ("size-one-dims", [(1, 5, 1, 7), (5, 1, 1)], (1, 5, 1, 7)),
    ("zero-size", [(0, 7), (7,)], (0, 7)),
]


@needs_cc
@pytest.mark.parametrize("name,shapes,out", BROADCASTS, ids=[b[0] for b in BROADCASTS])
def test_broadcasting_patterns(name, shapes, out):
    def build(g, a, b):
        s = _n(g, "mul", [a, b], out)
        return [_n(g, "tanh", [_n(g, "add", [s, a], out)], out)]

    g = _graph(shapes, build)
    args = [_RNG.uniform(-2, 2, s).astype(np.float32) for s in shapes]
    got = make_executor(g, {"backend": "c"}).run(args, {})
    ref = make_executor(g, {"backend": "numpy"}).run(args, {})
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-6)


REDUCTIONS = [
    ("row-sum", (16, 128), _sum((1,), True), (16, 1)),
    ("row-sum-long", (3, 1000), _sum((1,)), (3,)),  # pairwise blocks and halves
    ("row-sum-short", (4, 5), _sum((1,)), (4,)),
    ("col-sum", (1024, 128), _sum((0,)), (128,)),
    ("two-leading", (16, 64, 32), _sum((0, 1)), (32,)),
    ("two-trailing", (4, 64, 32), _sum((1, 2), True), (4, 1, 1)),
    ("all", (37, 11), _sum(None), ()),
]


@needs_cc
@pytest.mark.parametrize("name,shape,attrs,out", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_fused_sums_give_numpys_bits(name, shape, attrs, out):
    def build(g, x, w):
        return [_n(g, "sum", [_n(g, "mul", [x, w], shape)], out, attrs)]

    w_shape = shape[-1:]
    g = _graph([shape, w_shape], build)
    args = [
        _RNG.standard_normal(shape).astype(np.float32) * 10,
        _RNG.random(w_shape).astype(np.float32),
    ]
    ex = make_executor(g, {"backend": "c"})
    assert [n.op for n in ex.graph.nodes] == ["fused"]
    got = ex.run(args, {})[0]
    axes, keepdim = attrs["axes"], attrs["keepdim"]
    np.testing.assert_array_equal(got, np.sum(args[0] * args[1], axis=axes, keepdims=keepdim))
    # the registry's sum may add in another order (through BLAS): the rounding error bound
    bound = np.sum(np.abs(args[0] * args[1]), axis=axes, keepdims=keepdim)
    assert np.all(np.abs(got - run_graph(g, args)[0]) <= 1e-5 * bound)


@needs_cc
@pytest.mark.parametrize("op", ["amax", "amin"])
def test_fused_max_min_propagate_nan(op):
    def build(g, x):
        e = _n(g, "abs", [x], (6, 9))
        return [
            _n(g, op, [e], (6,), {"axes": (1,), "keepdim": False}),
            _n(g, op, [e], (9,), {"axes": (0,), "keepdim": False}),
        ]

    g = _graph([(6, 9)], build)
    x = _RNG.standard_normal((6, 9)).astype(np.float32)
    x[2, 3] = np.nan
    got = make_executor(g, {"backend": "c"}).run([x], {})
    ref = run_graph(g, [x])
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)


@needs_cc
def test_integer_and_bool_sums():
    g = Graph()
    x = g.add_input((5, 6), "int32", name="x")
    m = g.add_input((5, 6), "bool", name="m")
    sq = _n(g, "mul", [x, x], (5, 6), dtype="int32")
    long_sq = _n(g, "cast", [sq], (5, 6), {"dtype": ember.int64}, dtype="int64")
    s = _n(
        g,
        "sum",
        [long_sq],
        (5,),
        {"axes": (1,), "keepdim": False, "dtype": ember.int64},
        dtype="int64",
    )
    c = _n(
        g,
        "sum",
        [_n(g, "logical_not", [m], (5, 6), dtype="bool")],
        (6,),
        {"axes": (0,), "keepdim": False, "dtype": ember.int64},
        dtype="int64",
    )
    g.outputs = [s, c]
    args = [
        _RNG.integers(-50000, 50000, (5, 6)).astype(np.int32),
        _RNG.integers(0, 2, (5, 6)).astype(bool),
    ]
    got = make_executor(g, {"backend": "c"}).run(args, {})
    for a, b in zip(got, run_graph(g, args)):
        np.testing.assert_array_equal(a, b)


@needs_cc
def test_batch_size_dependent_shapes_use_one_kernel():
    N = SymInt(1, 0)

    def build(g, x, b):
        y = _n(g, "relu", [_n(g, "add", [x, b], (N, 3, 8))], (N, 3, 8))
        return [y, _n(g, "sum", [y], (N, 3, 1), _sum((2,), True))]

    g = _graph([(N, 3, 8), (8,)], build)
    ex = make_executor(g, {"backend": "c"})
    (kernel,) = ex.kernel_sources()
    assert "n" in kernel.source.split("{", 1)[1]  # sizes are computed from n at run time
    for n in (1, 4, 2):
        args = [
            _RNG.standard_normal((n, 3, 8)).astype(np.float32),
            _RNG.random(8).astype(np.float32),
        ]
        for a, b in zip(ex.run(args, {}), run_graph(g, args)):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# the renderer is text the C exporter can reuse
# ---------------------------------------------------------------------------------------------
def test_equal_groups_render_to_one_function_and_constants_are_inlined():
    def layer(g, x, w):
        c = g.add_const(np.full((), 0.5, np.float32))
        return _n(g, "mul", [_n(g, "exp", [_n(g, "mul", [x, w], (4, 8))], (4, 8)), c], (4, 8))

    g = _graph([(4, 8), (8,), (8,)], lambda g, x, w1, w2: [layer(g, layer(g, x, w1), w2)])
    (group,) = [n.attrs["group"] for n in fuse_elementwise(g).nodes]
    k1 = render_group(group, consts=g.consts)
    assert "0x1.0000000000000p-1f" in k1.source  # 0.5 written as an exact literal
    assert len(k1.inputs) == 3  # x, w1, w2; the constant is not a parameter
    h = _graph([(4, 8), (8,)], lambda h, x, w: [layer(h, x, w)])
    h2 = _graph([(4, 8), (8,)], lambda h, x, w: [layer(h, x, w)])
    a = render_group(fuse_elementwise(h).nodes[0].attrs["group"], h.consts)
    b = render_group(fuse_elementwise(h2).nodes[0].attrs["group"], h2.consts)
    assert a.name == b.name and a.source == b.source
    assert a.source.startswith(f"int {a.name}(const float *in0, const float *in1, float *out0")


# ---------------------------------------------------------------------------------------------
# building: cache, concurrency, failures, no compiler
# ---------------------------------------------------------------------------------------------
def _kernel(seed: float):
    g = _graph(
        [(8,)],
        lambda g, x: [_n(g, "mul", [_n(g, "exp", [x], (8,)), g.add_const(np.float32(seed))], (8,))],
    )
    return render_group(fuse_elementwise(g).nodes[0].attrs["group"], g.consts)


@needs_cc
def test_second_build_is_a_cache_hit(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path))
    tc, offset = c_build.toolchain(), c_build.array_data_offset()
    first = KernelLibrary([_kernel(1.5)], tc, offset).wait()
    second = KernelLibrary([_kernel(1.5)], tc, offset).wait()
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert first.path == second.path and first.path.startswith(str(tmp_path))
    assert os.path.exists(first.path[:-3] + ".c")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary left


@needs_cc
def test_concurrent_builds_of_one_library_are_safe(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path))
    tc, offset = c_build.toolchain(), c_build.array_data_offset()
    results, errors = [], []

    def build():
        try:
            kernel = _kernel(2.5)
            lib = KernelLibrary([kernel], tc, offset).wait()
            fn = lib.function(kernel.name)
            sizes = np.array(kernel.sizes() + [1])  # loop sizes, one thread
            args = [np.zeros(8, np.float32), np.empty(8, np.float32), sizes]
            fn(*args) if offset is not None else fn(*[a.ctypes.data for a in args])
            y = args[1]
            results.append(y.copy())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        np.testing.assert_array_equal(r, np.full(8, 2.5, np.float32))


def _fallback_graph():
    g = _graph([(4, 8)], lambda g, x: [_n(g, "sigmoid", [_n(g, "neg", [x], (4, 8))], (4, 8))])
    return g, [_RNG.standard_normal((4, 8)).astype(np.float32)]


def test_no_compiler_falls_back_to_numpy_with_one_notice(monkeypatch):
    monkeypatch.setenv("EMBER_NO_CC", "1")
    c_build.reset_toolchain()
    try:
        g, args = _fallback_graph()
        with pytest.warns(RuntimeWarning, match="EMBER_NO_CC is set; fused kernels run with NumPy"):
            ex = make_executor(g, {"backend": "auto"})
        assert ex.backend == "numpy" and "fused" not in [n.op for n in ex.graph.nodes]
        np.testing.assert_array_equal(ex.run(args, {})[0], run_graph(g, args)[0])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once per process
            make_executor(g, {"backend": "c"})
    finally:
        c_build.reset_toolchain()


def test_a_failing_compiler_falls_back_with_a_notice(tmp_path, monkeypatch):
    bad = tmp_path / "badcc"
    bad.write_text("#!/bin/sh\necho 'badcc (fake) 1.0'\nexit 1\n")
    bad.chmod(0o755)
    monkeypatch.setenv("CC", str(bad))
    monkeypatch.setenv("EMBER_CACHE_DIR", str(tmp_path / "cache"))
    c_build.reset_toolchain()
    try:
        g, args = _fallback_graph()
        with pytest.warns(RuntimeWarning, match="no working C compiler"):
            ex = make_executor(g, {"backend": "auto"})
        np.testing.assert_array_equal(ex.run(args, {})[0], run_graph(g, args)[0])
    finally:
        c_build.reset_toolchain()


@needs_cc
def test_the_numpy_backend_needs_no_compiler_and_gives_the_same_results():
    g, args = _fallback_graph()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ex = make_executor(g, {"backend": "numpy"})
    assert ex.backend == "numpy" and ex.library is None
    c = make_executor(g, {"backend": "c"}).run(args, {})[0]
    np.testing.assert_allclose(ex.run(args, {})[0], c, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# native window kernels around the convolution GEMMs
# ---------------------------------------------------------------------------------------------
_PAD1 = dict(stride=(1, 1), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1)
_ODD = dict(stride=(2, 1), padding=((2, 1), (0, 2)), dilation=(1, 2), groups=1)
_GEOMETRIES = [
    ("batch-in-chunks", (20, 32, 12, 12), (8, 32, 3, 3), _PAD1),
    ("3x3-pad1", (4, 6, 9, 9), (5, 6, 3, 3), _PAD1),
    ("strided-dilated-asym", (3, 4, 11, 9), (5, 4, 3, 2), _ODD),
]


@needs_cc
@pytest.mark.parametrize("name,xs,ws,geo", _GEOMETRIES, ids=[g[0] for g in _GEOMETRIES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_convolution_kernels_match_the_forwards(name, xs, ws, geo, dtype):
    from ember.compiler.codegen.native import native_forward

    x = _RNG.standard_normal(xs).astype(dtype)
    w = _RNG.standard_normal(ws).astype(dtype)
    out = REGISTRY["conv"].forward(x, w, **geo)
    g = _RNG.standard_normal(out.shape).astype(dtype)
    cases = [
        ("conv", [x, w], geo),
        ("conv_input_grad", [g, w], dict(size=xs[2:], **geo)),
        ("conv_weight_grad", [x, g], dict(kernel=ws[2:], **geo)),
    ]
    for op, args, attrs in cases:
        ref = REGISTRY[op].forward
        fast = native_forward(op, [dtype] * 2, [a.shape for a in args], attrs, ref)
        assert fast is not None
        a, b = fast(*args, **attrs), ref(*args, **attrs)
        scale = np.abs(b).max()
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * scale, err_msg=op)


@needs_cc
@pytest.mark.parametrize(
    "attrs",
    [
        dict(kernel=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), ceil_mode=False),
        dict(kernel=(3, 2), stride=(2, 2), padding=(1, 1), dilation=(1, 2), ceil_mode=True),
    ],
    ids=["2x2", "padded-dilated-ceil"],
)
def test_native_max_pool_and_its_scatter_give_the_forwards_bits(attrs):
    from ember.compiler.codegen.native import native_forward

    x = _RNG.standard_normal((2, 3, 9, 10)).astype(np.float32)
    x[0, 0, 1, 1] = x[1, 2, 4, 4] = np.nan
    x[0, 1, :4, :4] = 0.5  # ties: the first maximum wins
    pool = native_forward("max_pool", ["float32"], [x.shape], attrs, None)
    (v, idx), (rv, ridx) = pool(x, **attrs), REGISTRY["max_pool"].forward(x, **attrs)
    np.testing.assert_array_equal(v, rv)
    np.testing.assert_array_equal(idx, ridx)
    grad = _RNG.standard_normal(v.shape).astype(np.float32)
    scatter_ref = REGISTRY["pool_scatter"].forward
    scatter = native_forward(
        "pool_scatter", ["float32", "int64"], [v.shape, idx.shape], {"size": (9, 10)}, scatter_ref
    )
    np.testing.assert_array_equal(
        scatter(grad, idx, size=(9, 10)), scatter_ref(grad, idx, size=(9, 10))
    )
    bad = idx.copy()
    bad[0, 0, 0, 0] = 9 * 10  # out of the plane: the C kernel refuses, the forward decides
    np.testing.assert_array_equal(
        scatter(grad, bad, size=(9, 10)), scatter_ref(grad, bad, size=(9, 10))
    )


def test_native_kernels_do_not_apply_to_other_ranks_groups_or_dtypes():
    from ember.compiler.codegen.native import native_forward

    geo = dict(stride=(1,), padding=((0, 0),), dilation=(1,), groups=1)
    assert native_forward("conv", ["float32"] * 2, [(2, 3, 8), (4, 3, 3)], geo, None) is None
    geo2 = dict(stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=2)
    assert native_forward("conv", ["float32"] * 2, [(2, 4, 8, 8), (4, 2, 3, 3)], geo2, None) is None
    assert native_forward("exp", ["float32"], [(2,)], {}, None) is None
    newer = {"axis": 1, "approximate": True}  # an attribute added to the forward later
    assert native_forward("softmax", ["float32"], [(2, 3)], newer, None) is None


def _row_cases():
    x = (_RNG.standard_normal((6, 37)) * 5).astype(np.float64)
    x[1, :] = -np.inf  # a fully masked row
    x[2, 3], x[3, 4] = np.nan, np.inf
    g = _RNG.standard_normal(x.shape)
    with np.errstate(all="ignore"):
        y = REGISTRY["softmax"].forward(x, axis=1)
        ly = REGISTRY["log_softmax"].forward(x, axis=1)
    z = _RNG.standard_normal((4, 5, 128)) * 3 + 1
    q, k = _RNG.standard_normal((2, 3, 8, 4)), _RNG.standard_normal((2, 3, 8, 4))
    logits = _RNG.standard_normal((16, 10)) * 3
    t = _RNG.integers(0, 10, 16)
    t[3] = -100
    ce = dict(ignore_index=-100, smoothing=0.0)
    return [
        ("softmax", [x], {"axis": 1}),
        ("log_softmax", [x], {"axis": 1}),
        ("softmax_backward", [g, y], {"axis": 1, "scale": 0.17}),
        ("log_softmax_backward", [g, ly], {"axis": 1}),
        ("standardize", [z], {"axes": (2,), "eps": 1e-5}),
        ("standardize", [z], {"axes": (1, 2), "eps": 1e-5}),
        ("attention_probs", [q, k], {"scale": 0.5, "causal": True}),
        ("attention_probs", [q, k[:, :, :6]], {"scale": 0.5, "causal": False}),
        ("cross_entropy", [logits, t], {**ce, "reduction": "mean"}),
        ("cross_entropy", [logits, t], {**ce, "reduction": "none"}),
        ("cross_entropy_backward", [logits, t, np.asarray(1.3)], {**ce, "reduction": "sum"}),
        (
            "cross_entropy_backward",
            [logits, t, _RNG.standard_normal(16)],
            {**ce, "reduction": "none"},
        ),
    ]


@needs_cc
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", range(12))
def test_native_row_kernels_match_the_forwards(case, dtype):
    """float64: within an ulp or two (the forwards may sum rows through BLAS); float32: a few
    ulp (libm's expf/logf also differ from NumPy's own)."""
    import ember.nn  # noqa: F401 - registers attention_probs
    from ember.compiler.codegen.native import native_forward

    op, arrays, attrs = _row_cases()[case]
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    ref = REGISTRY[op].forward
    fast = native_forward(op, [a.dtype.name for a in arrays], [a.shape for a in arrays], attrs, ref)
    assert fast is not None
    with np.errstate(all="ignore"):
        got, want = fast(*arrays, **attrs), ref(*arrays, **attrs)
    for a, b in zip(
        got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)
    ):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        tol = 1e-13 if dtype == "float64" else 1e-6
        scale = np.abs(b[np.isfinite(b)]).max(initial=1.0)  # cancellation: p - 1 near p = 1
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


@needs_cc
def test_native_cross_entropy_leaves_bad_targets_to_the_forward():
    from ember.compiler.codegen.native import native_forward

    ref = REGISTRY["cross_entropy"].forward
    attrs = dict(ignore_index=-100, smoothing=0.0, reduction="mean")
    fast = native_forward("cross_entropy", ["float32", "int64"], [(2, 3), (2,)], attrs, ref)
    with pytest.raises(IndexError, match="target 7 is out of bounds for 3 classes"):
        fast(np.zeros((2, 3), np.float32), np.array([0, 7]), **attrs)


def test_an_unusable_cache_directory_falls_back_to_a_temporary_one(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("EMBER_CACHE_DIR", str(blocker / "kernels"))  # cannot be created
    root = c_build.cache_dir()
    assert not root.startswith(str(blocker)) and os.access(root, os.W_OK)
