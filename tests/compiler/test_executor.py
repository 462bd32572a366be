"""The executor of ``ember.compile`` (``ember.compiler.executor``) against the reference
Interpreter: traced models on both back ends, fresh outputs, mutations, batch-size-dependent
graphs, threads, views that primitives return without saying so, and ``ember.compile``'s
``backend`` option end to end."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.compiler.codegen import c_build
from ember.compiler.executor import Executor, make_executor
from ember.ir import Graph, run_graph
from ember.ir.symbolic import SymInt
from ember.registry import REGISTRY, Spec, primitive

sys.path.insert(0, str(Path(__file__).parent))
from test_passes import MODELS, _model, traced_graphs  # noqa: E402

BACKENDS = ["c", "numpy"]
F32 = "float32"


def _backend_or_skip(backend: str) -> None:
    if backend == "c" and c_build.toolchain() is None:
        pytest.skip("no working C compiler")


def _close(a, b, rtol=2e-6):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6 * scale)


def _n(g, op, ins, shape, attrs=None, dtype=F32):
    return g.add_node(op, list(ins), attrs or {}, [(shape, dtype)])[0]


# ---------------------------------------------------------------------------------------------
# traced models: executor == Interpreter
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", MODELS)
def test_executor_equals_interpreter_on_traced_models(name, backend):
    _backend_or_skip(backend)
    for graph, inputs, params in traced_graphs(name):
        ex = make_executor(graph, {"backend": backend})
        assert ex.backend == backend
        ref = run_graph(graph, inputs, params)
        for _ in range(2):  # the checked first run and the fast path
            for a, b in zip(ex.run(inputs, params), ref):
                _close(a, b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_training_step_equals_eager(backend):
    _backend_or_skip(backend)
    model, x = _model("gpt_block")
    target = ember.from_numpy(np.random.default_rng(1).standard_normal(x.shape).astype(np.float32))

    def loss_fn(inp):
        return F.mse_loss(model(inp), target)

    compiled = ember.compile(loss_fn, backend=backend)
    inp = ember.from_numpy(x)
    for _ in range(2):
        model.zero_grad()
        loss_fn(inp).backward()
        eager = [p.grad.numpy().copy() for p in model.parameters()]
        model.zero_grad()
        loss = compiled(inp)
        loss.backward()
        assert loss.item() == pytest.approx(loss_fn(inp).item(), rel=1e-6)
        for p, e in zip(model.parameters(), eager):
            _close(p.grad.numpy(), e, rtol=1e-5)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend must be one of 'auto', 'c', 'numpy', got 'gpu'"):
        ember.compile(lambda x: x * 2, backend="gpu")(ember.ones(2))


# ---------------------------------------------------------------------------------------------
# run-time behaviour
# ---------------------------------------------------------------------------------------------
def _mlp_graph():
    g = Graph()
    x = g.add_input((8, 16), F32, name="x")
    w = g.add_param((32, 16), F32, "w")
    b = g.add_param((32,), F32, "b")
    h = _n(g, "relu", [_n(g, "linear", [x, w, b], (8, 32))], (8, 32))
    s = _n(
        g,
        "sum",
        [_n(g, "exp", [h], (8, 32))],
        (8, 1),
        {"axes": (1,), "keepdim": True, "dtype": ember.float32},
    )
    g.outputs = [h, s]
    rng = np.random.default_rng(0)
    params = {
        "w": rng.standard_normal((32, 16)).astype(np.float32) * 0.3,
        "b": rng.standard_normal(32).astype(np.float32),
    }
    return (
        g,
        params,
        lambda seed: [np.random.default_rng(seed).standard_normal((8, 16)).astype(np.float32)],
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_outputs_are_fresh_arrays_every_run(backend):
    _backend_or_skip(backend)
    g, params, inputs = _mlp_graph()
    ex = make_executor(g, {"backend": backend})
    first = ex.run(inputs(1), params)
    kept = [o.copy() for o in first]
    second = ex.run(inputs(2), params)
    for a, b in zip(first, kept):
        np.testing.assert_array_equal(a, b)
    assert all(not np.shares_memory(a, b) for a, b in zip(first, second))
    _close(second[0], run_graph(g, inputs(2), params)[0])


def test_missing_parameter_is_named():
    g, params, inputs = _mlp_graph()
    ex = make_executor(g, {})
    with pytest.raises(KeyError, match="the graph needs parameter 'b'"):
        ex.run(inputs(0), {"w": params["w"]})


def test_check_inputs_names_shape_and_dtype_mistakes():
    g, params, inputs = _mlp_graph()
    ex = make_executor(g, {})
    with pytest.raises(ValueError, match=r"input 0 \(x\): expected shape \(8, 16\), got \(4, 16\)"):
        ex.run([np.zeros((4, 16), np.float32)], params, check=True)
    with pytest.raises(TypeError, match="input 0 \\(x\\): expected dtype float32, got float64"):
        ex.run([np.zeros((8, 16))], params, check=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mutations_are_written_into_parameters_and_inputs(backend):
    _backend_or_skip(backend)
    g = Graph()
    x = g.add_input((4,), F32, name="x")
    stat = g.add_param((4,), F32, "running_mean")
    new = _n(g, "add", [_n(g, "mul", [stat, g.add_const(np.float32(0.9))], (4,)), x], (4,))
    y = _n(g, "exp", [x], (4,))
    g.outputs = [y]
    g.mutations = [(stat, new), (x, y)]
    ex = make_executor(g, {"backend": backend})
    params = {"running_mean": np.ones(4, np.float32)}
    arg = np.arange(4, dtype=np.float32)
    (out,) = ex.run([arg], params)
    np.testing.assert_allclose(params["running_mean"], 0.9 + np.arange(4))
    np.testing.assert_allclose(arg, np.exp(np.arange(4, dtype=np.float32)), rtol=1e-6)
    assert not np.shares_memory(out, arg)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_graph_for_every_batch_size(backend):
    _backend_or_skip(backend)
    N = SymInt(1, 0)
    g = Graph()
    x = g.add_input((N, 6), F32, name="x")
    h = _n(g, "tanh", [_n(g, "mul", [x, x], (N, 6))], (N, 6))
    flat = _n(g, "reshape", [h], (SymInt(6, 0),), {"shape": (SymInt(6, 0),)})
    g.outputs = [_n(g, "neg", [flat], (SymInt(6, 0),))]
    ex = make_executor(g, {"backend": backend})
    for n in (3, 1, 7, 3):
        arg = np.random.default_rng(n).standard_normal((n, 6)).astype(np.float32)
        _close(ex.run([arg], {})[0], run_graph(g, [arg])[0])
    assert sorted(ex._programs) == [1, 3, 7]


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_outputs_are_copies(backend):
    _backend_or_skip(backend)
    g = Graph()
    x = g.add_input((3,), F32, name="x")
    c = g.add_const(np.arange(3, dtype=np.float32))
    folded = _n(g, "exp", [c], (3,))  # becomes a constant
    g.outputs = [folded, _n(g, "add", [x, folded], (3,))]
    ex = make_executor(g, {"backend": backend})
    out = ex.run([np.zeros(3, np.float32)], {})[0]
    out[:] = -1  # the caller owns what it gets
    np.testing.assert_allclose(ex.run([np.zeros(3, np.float32)], {})[0], np.exp(np.arange(3)))


def test_concurrent_runs_from_threads_get_their_own_buffers():
    g, params, inputs = _mlp_graph()
    ex = make_executor(g, {})
    expected = {s: run_graph(g, inputs(s), params) for s in range(4)}
    errors = []

    def worker(seed):
        try:
            for _ in range(30):
                for a, b in zip(ex.run(inputs(seed), params), expected[seed]):
                    _close(a, b)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# a primitive that returns a view of its operand without declaring is_view (a bug an op
# author could make): the executor's first run must notice and plan around it
def _sneaky_forward(x):
    """Returns a view (the bug)."""
    return x.reshape(x.shape)


@pytest.fixture
def sneaky_view():
    name = "_test_sneaky_view"
    primitive(name, lambda x: Spec(x.shape, x.dtype))(_sneaky_forward)
    yield name
    del REGISTRY[name]


def test_first_run_detects_undeclared_views(sneaky_view):
    if c_build.toolchain() is None:
        pytest.skip("no working C compiler")
    g = Graph()
    x = g.add_input((64,), F32, name="x")
    a = _n(g, "exp", [x], (64,))  # planned buffer
    v = _n(g, sneaky_view, [a], (64,))  # secretly a's memory; a dies here
    b = _n(g, "neg", [_n(g, "cumsum", [x], (64,), {"axis": 0, "dtype": ember.float32})], (64,))
    g.outputs = [_n(g, "add", [v, b], (64,))]
    ex = make_executor(g, {"backend": "c"})
    arg = np.linspace(-1, 1, 64, dtype=np.float32)
    for _ in range(2):
        _close(ex.run([arg], {})[0], run_graph(g, [arg])[0])
    assert [ex.graph.nodes[k].op for k in ex._views] == [sneaky_view]


# ---------------------------------------------------------------------------------------------
# inspection
# ---------------------------------------------------------------------------------------------
def test_source_profile_and_memory_plan_are_inspectable():
    g, params, inputs = _mlp_graph()
    ex = make_executor(g, {})
    assert isinstance(ex, Executor)
    src = ex.source()
    assert src.startswith("def run(inputs, params):") and "params['w']" in src
    steps = ex.profile(inputs(0), params, runs=3)
    assert [label.split(":")[0] for label, _ in steps] == [
        str(k) for k in range(len(ex.graph.nodes))
    ]
    assert all(t >= 0 for _, t in steps)
    assert ex.planned_peak_bytes == ex.memory_plan.peak_bytes > 0


def test_interpreter_stays_available_as_the_reference():
    g, params, inputs = _mlp_graph()
    ref = make_executor(g, {"executor": "interpreter"})
    assert ref.backend == "interpreter"
    for a, b in zip(make_executor(g, {}).run(inputs(3), params), ref.run(inputs(3), params)):
        _close(a, b)


def test_kernels_can_build_in_the_background():
    if c_build.toolchain() is None:
        pytest.skip("no working C compiler")
    g = Graph()
    x = g.add_input((5, 7), F32, name="x")
    # a constant no other test uses: a library that is not in the cache yet
    c = g.add_const(np.float32(1.0 + np.random.default_rng().random()))
    g.outputs = [_n(g, "tanh", [_n(g, "mul", [x, c], (5, 7))], (5, 7))]
    ex = make_executor(g, {"wait_for_kernels": False})
    arg = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    _close(ex.run([arg], {})[0], run_graph(g, [arg])[0])  # NumPy until the build is done
    ex.wait_for_kernels()
    assert all(entry[0] == "c" for entry in ex._kernels.values())
    _close(ex.run([arg], {})[0], run_graph(g, [arg])[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_sampling_ops_draw_anew_every_run(backend):
    _backend_or_skip(backend)
    g = Graph()
    x = g.add_input((256, 300), F32, name="x")
    attrs = {"shape": (256, 300), "dtype": ember.float32}
    (noise,) = g.add_node("rand_uniform", [], attrs, [((256, 300), F32)])
    g.outputs = [_n(g, "mul", [_n(g, "exp", [noise], (256, 300)), x], (256, 300))]
    ex = make_executor(g, {"backend": backend})
    arg = np.ones((256, 300), np.float32)
    ember.manual_seed(7)
    first, second = ex.run([arg], {})[0], ex.run([arg], {})[0]
    assert not np.array_equal(first, second)
    ember.manual_seed(7)
    _close(ex.run([arg], {})[0], first)  # the generator decides, as in eager mode


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_runs_kernels_on_one_thread():
    """GNU OpenMP's thread pool does not survive fork (DataLoader workers): a child that runs
    a compiled graph must not wait for threads that are not there."""
    g = Graph()
    x = g.add_input((512, 512), F32, name="x")
    g.outputs = [_n(g, "tanh", [_n(g, "mul", [x, x], (512, 512))], (512, 512))]
    ex = make_executor(g, {"kernel_threads": 2})
    arg = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
    expected = ex.run([arg], {})[0]  # the parent's team exists now
    pid = os.fork()
    if pid == 0:  # the child
        ok = np.allclose(ex.run([arg], {})[0], expected)
        os._exit(0 if ok and ex._threads == 1 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


@pytest.mark.parametrize("source", ["input", "param", "const"])
def test_kernels_never_write_into_the_callers_memory_through_a_view(source):
    g = Graph()
    x = g.add_input((4, 8), F32, name="x")
    data = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    if source == "input":
        v = x
    elif source == "param":
        v = g.add_param((4, 8), F32, "w")
    else:
        v = g.add_const(data.copy())
    flat = _n(g, "reshape", [v], (32,), {"shape": (32,)})  # a view of the caller's array
    g.outputs = [_n(g, "exp", [flat], (32,)), _n(g, "neg", [x], (4, 8))]
    ex = make_executor(g, {})
    arg, params = data.copy(), {"w": data.copy()}
    for _ in range(2):
        out = ex.run([arg], params)
    np.testing.assert_array_equal(arg, data)
    np.testing.assert_array_equal(params["w"], data)
    _close(out[0], np.exp(data.reshape(-1)))
