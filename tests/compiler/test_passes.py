"""The graph passes of ``ember.compile`` (``ember.compiler.passes``).

Each pass is checked on small hand-built graphs (what it must change, what it must leave alone)
and on the graphs traced from three models (an MLP, a CNN and a GPT-like block, forward and
backward): the Interpreter on the pass's result must give what it gives on the traced graph.
Fused graphs cannot run in the Interpreter; they are checked through the executor.
"""

from __future__ import annotations

import functools
import sys

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.compiler.executor import make_executor
from ember.compiler.passes import (
    eliminate_common_subexpressions,
    eliminate_dead_code,
    fold_constants,
    fuse_elementwise,
    optimize,
    plan_memory,
    simplify,
    split_linear_bias,
)
from ember.ir import Graph, run_graph
from ember.ir.symbolic import SymInt

F32 = "float32"


def _rand(*shape, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def _ops(g: Graph) -> list[str]:
    return [n.op for n in g.nodes]


# ---------------------------------------------------------------------------------------------
# traced graphs of three models (forward and backward), with inputs to run them on
# ---------------------------------------------------------------------------------------------
class _Block(nn.Module):
    """A GPT block: pre-LayerNorm causal self-attention and a GELU MLP."""

    def __init__(self, d=16, heads=2):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.fc_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, c = x.shape
        h = self.heads
        qkv = self.qkv(self.ln1(x)).reshape(b, t, 3, h, c // h).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x))))


class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x)))
        return self.fc(x.reshape(x.shape[0], -1))


def _model(name: str):
    ember.manual_seed(0)
    if name == "mlp":
        model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))
        x = _rand(6, 12)
    elif name == "cnn":
        model, x = _CNN(), _rand(2, 1, 8, 8)
    else:
        model, x = _Block(), _rand(2, 8, 16)
    return model, x


@functools.cache
def traced_graphs(name: str):
    """``[(graph, inputs, params)]`` for the forward and backward graph of a model's loss
    (cached: the passes never edit the graphs they are given, which the tests check)."""
    model, x = _model(name)

    def loss(inp):
        return (model(inp) ** 2).mean()

    f = ember.compile(loss)
    f(ember.from_numpy(x))
    (entry,) = f._cache.values()
    params = entry.params()
    fwd, bwd = entry.traced.graph, entry.traced.backward
    outs = run_graph(fwd, [x], params)
    saved = outs[entry.n_out :]
    grads = [np.ones(np.shape(outs[k]), np.float32) for k in entry.traced.diff_outputs]
    return [(fwd, [x], params), (bwd, [*saved, *grads], params)]


MODELS = ["mlp", "cnn", "gpt_block"]


def _same_results(a: list, b: list, rtol=1e-6) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape and x.dtype == y.dtype
        scale = max(1.0, float(np.abs(y).max())) if y.size else 1.0
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-6 * scale)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize(
    "graph_pass",
    [eliminate_dead_code, eliminate_common_subexpressions, fold_constants, simplify],
    ids=["dce", "cse", "fold", "simplify"],
)
def test_pass_keeps_results_on_traced_graphs(name, graph_pass):
    for graph, inputs, params in traced_graphs(name):
        before = len(graph.nodes)
        out = graph_pass(graph)
        out.validate()
        assert len(graph.nodes) == before, "a pass must not edit the graph it is given"
        _same_results(run_graph(out, inputs, params), run_graph(graph, inputs, params))


@pytest.mark.parametrize("name", MODELS)
def test_optimize_then_fuse_keeps_results_on_traced_graphs(name):
    for graph, inputs, params in traced_graphs(name):
        plain = optimize(graph, fuse=False)
        assert len(plain.nodes) <= len(graph.nodes)
        _same_results(run_graph(plain, inputs, params), run_graph(graph, inputs, params))
        fused = optimize(graph)
        assert "fused" in _ops(fused)
        ex = make_executor(graph, {"backend": "auto"})
        _same_results(ex.run(inputs, params), run_graph(graph, inputs, params), rtol=2e-6)


# ---------------------------------------------------------------------------------------------
# dead-code elimination
# ---------------------------------------------------------------------------------------------
def test_dce_drops_unused_nodes_constants_and_params_but_keeps_inputs():
    g = Graph()
    x = g.add_input((3,), F32, name="x")
    unused_in = g.add_input((3,), F32, name="unused")
    w = g.add_param((3,), F32, "w")
    c = g.add_const(np.ones(3, np.float32))
    (dead,) = g.add_node("mul", [x, w], {}, [((3,), F32)])
    (dead2,) = g.add_node("add", [dead, c], {}, [((3,), F32)])
    (y,) = g.add_node("neg", [x], {}, [((3,), F32)])
    g.outputs = [y]
    out = eliminate_dead_code(g)
    assert _ops(out) == ["neg"]
    assert out.inputs == [x, unused_in]
    assert not out.params and not out.consts


def test_dce_keeps_mutation_sources_and_random_ops():
    g = Graph()
    x = g.add_input((3,), F32, name="x")
    stat = g.add_param((3,), F32, "running_mean")
    (new_stat,) = g.add_node("mul", [stat, x], {}, [((3,), F32)])
    shape = {"shape": (3,), "dtype": ember.float32}
    (noise,) = g.add_node("rand_uniform", [], shape, [((3,), F32)])  # result unused
    (y,) = g.add_node("exp", [x], {}, [((3,), F32)])
    g.outputs = [y]
    g.mutations = [(stat, new_stat)]
    out = eliminate_dead_code(g)
    assert _ops(out) == ["mul", "rand_uniform", "exp"]
    assert noise in out.values


# ---------------------------------------------------------------------------------------------
# common subexpressions
# ---------------------------------------------------------------------------------------------
def _two_nodes(op_a, attrs_a, op_b, attrs_b, swap=False, out_shape=(2, 3)):
    g = Graph()
    x = g.add_input((2, 3), F32, name="x")
    y = g.add_input((2, 3), F32, name="y")
    (a,) = g.add_node(op_a, [x, y] if op_a in ("add", "sub") else [x], attrs_a, [(out_shape, F32)])
    ins_b = ([y, x] if swap else [x, y]) if op_b in ("add", "sub") else [x]
    (b,) = g.add_node(op_b, ins_b, attrs_b, [(out_shape, F32)])
    g.outputs = [a, b]
    return g


SUM0 = {"axes": (0,), "keepdim": False, "dtype": ember.float32}
SUM1 = {"axes": (1,), "keepdim": False, "dtype": ember.float32}
RAND = {"shape": (2, 3), "dtype": ember.float32}


@pytest.mark.parametrize(
    "graph,merged",
    [
        (_two_nodes("exp", {}, "exp", {}), True),
        (_two_nodes("add", {}, "add", {}, swap=True), True),  # commutative
        (_two_nodes("sub", {}, "sub", {}, swap=True), False),  # not commutative
        (_two_nodes("sum", SUM0, "sum", SUM0, out_shape=(3,)), True),
        (_two_nodes("sum", SUM0, "sum", SUM1, out_shape=(3,)), False),  # other attrs
        (_two_nodes("clone", {}, "clone", {}), False),  # a clone is a separate copy
    ],
    ids=["same-op", "commutative", "sub-swapped", "same-attrs", "other-attrs", "clone"],
)
def test_cse(graph, merged):
    out = eliminate_common_subexpressions(graph)
    assert len(out.nodes) == (1 if merged else 2)
    assert (out.outputs[0] == out.outputs[1]) == merged
    x, y = _rand(2, 3, seed=1), _rand(2, 3, seed=2)
    _same_results(run_graph(out, [x, y]), run_graph(graph, [x, y]))


def test_cse_never_merges_random_ops_and_merges_equal_constants():
    g = Graph()
    (a,) = g.add_node("rand_uniform", [], RAND, [((2, 3), F32)])
    (b,) = g.add_node("rand_uniform", [], RAND, [((2, 3), F32)])
    c1 = g.add_const(np.float32(0.5) * np.ones((), np.float32))
    c2 = g.add_const(np.float32(0.5) * np.ones((), np.float32))
    (m1,) = g.add_node("mul", [a, c1], {}, [((2, 3), F32)])
    (m2,) = g.add_node("mul", [a, c2], {}, [((2, 3), F32)])
    g.outputs = [m1, m2, b]
    out = eliminate_common_subexpressions(g)
    assert _ops(out) == ["rand_uniform", "rand_uniform", "mul"]
    assert len(out.consts) == 1


# ---------------------------------------------------------------------------------------------
# constant folding
# ---------------------------------------------------------------------------------------------
def test_fold_evaluates_constant_chains():
    g = Graph()
    x = g.add_input((3,), F32, name="x")
    c = g.add_const(np.arange(3, dtype=np.float32))
    (e,) = g.add_node("exp", [c], {}, [((3,), F32)])
    (n,) = g.add_node("neg", [e], {}, [((3,), F32)])
    (y,) = g.add_node("add", [x, n], {}, [((3,), F32)])
    g.outputs = [y]
    out = fold_constants(g)
    assert _ops(out) == ["add"]
    np.testing.assert_array_equal(out.consts[n], -np.exp(np.arange(3, dtype=np.float32)))
    assert not out.consts[n].flags.writeable


def test_fold_leaves_random_large_and_batch_dependent_nodes():
    g = Graph()
    x = g.add_input((SymInt(1, 0), 4), F32, name="x")
    c = g.add_const(np.ones((), np.float32))
    (r,) = g.add_node("rand_uniform", [], RAND, [((2, 3), F32)])  # no inputs, still not folded
    (big,) = g.add_node("expand", [c], {"shape": (1024, 1024)}, [((1024, 1024), F32)])
    (per_batch,) = g.add_node(
        "expand", [c], {"shape": (SymInt(1, 0), 4)}, [((SymInt(1, 0), 4), F32)]
    )
    (small,) = g.add_node("expand", [c], {"shape": (2, 2)}, [((2, 2), F32)])
    (y,) = g.add_node("add", [x, per_batch], {}, [((SymInt(1, 0), 4), F32)])
    g.outputs = [r, big, y, small]
    out = fold_constants(g, max_bytes=1 << 16)
    assert _ops(out) == ["rand_uniform", "expand", "expand", "add"]
    assert small in out.consts


def test_fold_leaves_nodes_whose_forward_fails():
    g = Graph()
    a = g.add_const(np.ones((2, 3), np.float32))
    b = g.add_const(np.ones((4, 5), np.float32))
    (y,) = g.add_node("matmul", [a, b], {}, [((2, 5), F32)])  # fails: 3 != 4
    g.outputs = [y]
    assert _ops(fold_constants(g)) == ["matmul"]


# ---------------------------------------------------------------------------------------------
# algebraic simplification
# ---------------------------------------------------------------------------------------------
def _simplify_case(build):
    g = Graph()
    x = g.add_input((2, 3), F32, name="x")
    y = build(g, x)
    g.outputs = [y]
    return g


def _const(g, value, shape=()):
    return g.add_const(np.full(shape, value, np.float32))


def _node(g, op, ins, attrs=None, shape=(2, 3), dtype=F32):
    return g.add_node(op, ins, attrs or {}, [(shape, dtype)])[0]


SIMPLIFY_CASES = [
    ("x*1", lambda g, x: _node(g, "mul", [x, _const(g, 1.0)]), []),
    ("1*x", lambda g, x: _node(g, "mul", [_const(g, 1.0), x]), []),
    ("x+0", lambda g, x: _node(g, "add", [x, _const(g, 0.0)]), []),
    ("x-0", lambda g, x: _node(g, "sub", [x, _const(g, 0.0)]), []),
    ("x/1", lambda g, x: _node(g, "div", [x, _const(g, 1.0, (3,))]), []),
    ("x**1", lambda g, x: _node(g, "pow", [x, _const(g, 1.0)]), []),
    ("x**2", lambda g, x: _node(g, "pow", [x, _const(g, 2.0)]), ["mul"]),
    ("x*-1", lambda g, x: _node(g, "mul", [x, _const(g, -1.0)]), ["neg"]),
    ("0-x", lambda g, x: _node(g, "sub", [_const(g, 0.0), x]), ["neg"]),
    ("neg-neg", lambda g, x: _node(g, "neg", [_node(g, "neg", [x])]), []),
    ("reshape-same", lambda g, x: _node(g, "reshape", [x], {"shape": (2, 3)}), []),
    ("expand-same", lambda g, x: _node(g, "expand", [x], {"shape": (2, 3)}), []),
    ("cast-same", lambda g, x: _node(g, "cast", [x], {"dtype": ember.float32}), []),
    (
        "reshape-chain",
        lambda g, x: _node(
            g,
            "reshape",
            [_node(g, "reshape", [x], {"shape": (6,)}, (6,))],
            {"shape": (3, 2)},
            (3, 2),
        ),
        ["reshape"],
    ),
    (
        "permute-twice",
        lambda g, x: _node(
            g, "permute", [_node(g, "permute", [x], {"dims": (1, 0)}, (3, 2))], {"dims": (1, 0)}
        ),
        [],
    ),
    (
        "cast-widen-back",
        lambda g, x: _node(
            g,
            "cast",
            [_node(g, "cast", [x], {"dtype": ember.float64}, dtype="float64")],
            {"dtype": ember.float32},
        ),
        [],
    ),
    (
        "cast-narrow-back",  # float32 -> float16 -> float32 rounds: kept
        lambda g, x: _node(
            g,
            "cast",
            [_node(g, "cast", [x], {"dtype": ember.float16}, dtype="float16")],
            {"dtype": ember.float32},
        ),
        ["cast", "cast"],
    ),
    ("clone", lambda g, x: _node(g, "exp", [_node(g, "clone", [x])]), ["exp"]),
    (
        "x+0-broadcasting",  # the zeros make the result bigger: kept
        lambda g, x: _node(g, "add", [x, _const(g, 0.0, (4, 2, 3))], shape=(4, 2, 3)),
        ["add"],
    ),
]


@pytest.mark.parametrize("name,build,ops", SIMPLIFY_CASES, ids=[c[0] for c in SIMPLIFY_CASES])
def test_simplify(name, build, ops):
    g = _simplify_case(build)
    out = eliminate_dead_code(simplify(g))
    assert _ops(out) == ops
    x = _rand(2, 3, seed=3)
    _same_results(run_graph(out, [x]), run_graph(g, [x]), rtol=0)


def _qkv_backward(keys, base_value=0.0):
    """The gradient of ``x[0], x[1], x[2]``: each piece scattered into zeros, then added."""
    from ember.ops.movement import _slice

    g = Graph()
    pieces = [g.add_input((2, 4), F32, name=f"g{k}") for k in range(3)]
    zeros = g.add_const(np.full((3, 2, 4), base_value, np.float32))
    total = None
    for k, piece in zip(keys, pieces):
        chain = ((_slice, {"key": (k,)}),)
        s = _node(g, "view_scatter", [zeros, piece], {"chain": chain}, (3, 2, 4))
        total = s if total is None else _node(g, "add", [total, s], shape=(3, 2, 4))
    g.outputs = [total]
    return g


@pytest.mark.parametrize(
    "keys,base,stacked",
    [
        ((2, 1, 0), 0.0, True),
        ((0, -2, 2), 0.0, True),
        ((0, 1, 1), 0.0, False),
        ((2, 1, 0), 1.0, False),
    ],
    ids=["all-rows", "negative-index", "a-row-missing", "base-not-zero"],
)
def test_sums_of_scatters_into_zeros_become_one_cat(keys, base, stacked):
    g = _qkv_backward(keys, base)
    out = eliminate_dead_code(simplify(g))
    assert ("cat" in _ops(out)) == stacked
    if stacked:
        assert "view_scatter" not in _ops(out) and "add" not in _ops(out)
    args = [_rand(2, 4, seed=k) for k in range(3)]
    _same_results(run_graph(out, args), run_graph(g, args), rtol=0)


def test_simplify_keeps_a_returned_clone():
    g = Graph()
    x = g.add_input((3,), F32, name="x")
    (c,) = g.add_node("clone", [x], {}, [((3,), F32)])
    g.outputs = [c]
    assert _ops(simplify(g)) == ["clone"]  # the caller gets its own copy, as in eager mode


# ---------------------------------------------------------------------------------------------
# fusion
# ---------------------------------------------------------------------------------------------
def _fused(g: Graph) -> list:
    return [n.attrs["group"] for n in g.nodes if n.op == "fused"]


def test_fusion_merges_a_tree_with_broadcast_operands_and_a_row_reduction():
    g = Graph()
    x = g.add_input((4, 8), F32, name="x")
    b = g.add_input((8,), F32, name="b")
    s = g.add_input((4, 1), F32, name="s")
    a1 = _node(g, "add", [x, b], shape=(4, 8))
    a2 = _node(g, "mul", [x, s], shape=(4, 8))
    a3 = _node(g, "exp", [a1], shape=(4, 8))
    a4 = _node(g, "sub", [a3, a2], shape=(4, 8))
    r = _node(g, "sum", [a4], {"axes": (1,), "keepdim": True, "dtype": ember.float32}, (4, 1))
    g.outputs = [r, a2]
    out = fuse_elementwise(g)
    (group,) = _fused(out)
    assert _ops(out) == ["fused"]
    assert group.ops() == ["add", "mul", "exp", "sub", "sum"]
    assert group.inputs == [x, b, s] and set(group.outputs) == {r, a2}
    assert group.split == 1
    args = [_rand(4, 8, seed=1), _rand(8, seed=2), _rand(4, 1, seed=3)]
    ex = make_executor(g, {})
    _same_results(ex.run(args, {}), run_graph(g, args))


def test_fusion_never_creates_a_cycle_through_an_outside_node():
    # a -> matmul (not fusable) -> c ; c and a both feed d: d may not join a's group
    g = Graph()
    x = g.add_input((4, 4), F32, name="x")
    a = _node(g, "exp", [x], shape=(4, 4))
    m = _node(g, "matmul", [a, x], shape=(4, 4))
    d = _node(g, "add", [a, m], shape=(4, 4))
    g.outputs = [d]
    out = fuse_elementwise(g)
    assert _ops(out) == ["fused", "matmul", "fused"]
    args = [_rand(4, 4)]
    _same_results(make_executor(g, {}).run(args, {}), run_graph(g, args))


def test_fusion_keeps_reductions_and_their_readers_apart():
    # softmax by hand: amax and sum are row reductions; the values that read them need a
    # second pass over the row, so they form the next group
    g = Graph()
    x = g.add_input((3, 5), F32, name="x")
    keep = {"axes": (1,), "keepdim": True}
    m = _node(g, "amax", [x], keep, (3, 1))
    e = _node(g, "exp", [_node(g, "sub", [x, m], shape=(3, 5))], shape=(3, 5))
    s = _node(g, "sum", [e], {**keep, "dtype": ember.float32}, (3, 1))
    y = _node(g, "div", [e, s], shape=(3, 5))
    g.outputs = [y]
    out = fuse_elementwise(g)
    assert [grp.ops() for grp in _fused(out)] == [["sub", "exp", "sum"], ["div"]]
    assert _ops(out)[0] == "amax"  # a reduction alone stays a NumPy reduction
    args = [_rand(3, 5)]
    _same_results(make_executor(g, {}).run(args, {}), run_graph(g, args))


def test_fusion_column_and_row_reductions_share_a_group_at_one_split():
    g = Graph()
    x = g.add_input((2, 3, 8), F32, name="x")
    w = g.add_input((8,), F32, name="w")
    p = _node(g, "mul", [x, w], shape=(2, 3, 8))
    col = _node(g, "sum", [p], {"axes": (0, 1), "keepdim": False, "dtype": ember.float32}, (8,))
    row = _node(g, "sum", [p], {"axes": (2,), "keepdim": True, "dtype": ember.float32}, (2, 3, 1))
    mid = _node(g, "sum", [p], {"axes": (1,), "keepdim": False, "dtype": ember.float32}, (2, 8))
    g.outputs = [col, row, mid]
    out = fuse_elementwise(g)
    (group,) = _fused(out)
    assert group.ops() == ["mul", "sum", "sum"] and group.split == 2
    assert _ops(out) == ["fused", "sum"]  # axes (1,) is neither leading nor trailing
    args = [_rand(2, 3, 8), _rand(8, seed=1)]
    _same_results(make_executor(g, {}).run(args, {}), run_graph(g, args))


def test_fusion_leaves_pure_broadcasts_as_views():
    g = Graph()
    x = g.add_input((1, 3), F32, name="x")
    (e,) = g.add_node("expand", [x], {"shape": (4, 3)}, [((4, 3), F32)])
    (m,) = g.add_node(
        "matmul", [_node(g, "permute", [e], {"dims": (1, 0)}, (3, 4)), e], {}, [((3, 3), F32)]
    )
    g.outputs = [m]
    assert "fused" not in _ops(fuse_elementwise(g))


def test_linear_bias_moves_into_the_following_kernel():
    g = Graph()
    x = g.add_input((4, 8), F32, name="x")
    w, b = g.add_param((6, 8), F32, "w"), g.add_param((6,), F32, "b")
    y = _node(g, "linear", [x, w, b], shape=(4, 6))
    z = _node(g, "relu", [y], shape=(4, 6))
    w2, b2 = g.add_param((3, 6), F32, "w2"), g.add_param((3,), F32, "b2")
    g.outputs = [z, _node(g, "linear", [z, w2, b2], shape=(4, 3))]
    out = split_linear_bias(g)
    assert _ops(out) == ["linear", "add", "relu", "linear"]  # the last one feeds no elementwise op
    assert len(out.nodes[0].inputs) == 2 and out.nodes[1].inputs[1] == b
    assert len(out.nodes[3].inputs) == 3 and out.nodes[3].inputs[2] == b2
    rng = np.random.default_rng(0)
    params = {
        n: rng.standard_normal(g.values[v].shape).astype(np.float32) for v, n in g.params.items()
    }
    args = [_rand(4, 8)]
    _same_results(run_graph(out, args, params), run_graph(g, args, params), rtol=0)
    fused = fuse_elementwise(out)
    assert [grp.ops() for grp in _fused(fused)] == [["add", "relu"]]


# ---------------------------------------------------------------------------------------------
# memory planning
# ---------------------------------------------------------------------------------------------
def _chain(length=4, n=256):
    g = Graph()
    x = g.add_input((n,), F32, name="x")
    v = x
    for k in range(length):
        v = _node(g, "exp" if k % 2 else "neg", [v], shape=(n,))
    g.outputs = [v]
    return g


def test_memory_plan_reuses_buffers_in_place_and_never_plans_outputs():
    g = _chain()
    plan = plan_memory(g, writes_into=lambda n: True, inplace=lambda n: [(0, 0)])
    out = g.outputs[0]
    assert out not in plan.buffer_of
    assert len(plan.buffers) == 1 and plan.buffers[0] == 256 * 4
    assert len(plan.inplace) == 2  # neg->exp->neg in one buffer, the last exp is the output
    assert plan.peak_bytes == plan.unplanned_peak_bytes == 2 * 1024  # one buffer + the output
    assert "buffer 0: 1024 bytes" in plan.describe()


def test_memory_plan_without_inplace_alternates_two_buffers():
    g = _chain(length=5)
    plan = plan_memory(g, writes_into=lambda n: True)
    assert len(plan.buffers) == 2 and not plan.inplace


def test_memory_plan_keeps_a_buffer_alive_while_a_view_of_it_lives():
    g = Graph()
    x = g.add_input((4, 4), F32, name="x")
    a = _node(g, "exp", [x], shape=(4, 4))
    t = _node(g, "permute", [a], {"dims": (1, 0)}, (4, 4))  # a view of a's buffer
    b = _node(g, "neg", [x], shape=(4, 4))  # must not take a's buffer: t still reads it
    c = _node(g, "add", [t, b], shape=(4, 4))
    g.outputs = [c]
    plan = plan_memory(g, writes_into=lambda n: n.op != "permute")
    assert plan.buffer_of[a] != plan.buffer_of[b]


def test_memory_plan_never_plans_what_an_output_views():
    g = Graph()
    x = g.add_input((4, 4), F32, name="x")
    a = _node(g, "exp", [x], shape=(4, 4))
    t = _node(g, "reshape", [a], {"shape": (16,)}, (16,))
    g.outputs = [t]
    plan = plan_memory(g, writes_into=lambda n: n.op == "exp")
    assert a not in plan.buffer_of  # the caller keeps the view, so a needs fresh memory


def test_memory_plan_sizes_follow_the_batch_size():
    g = Graph()
    x = g.add_input((SymInt(1, 0), 8), F32, name="x")
    a = _node(g, "exp", [x], shape=(SymInt(1, 0), 8))
    b = _node(g, "neg", [a], shape=(SymInt(1, 0), 8))
    g.outputs = [_node(g, "sum", [b], {"axes": None, "keepdim": False, "dtype": ember.float32}, ())]
    sizes = [plan_memory(g, writes_into=lambda n: n.op != "sum", n=n).arena_bytes for n in (1, 5)]
    assert sizes == [2 * 8 * 4, 2 * 5 * 8 * 4]


def test_memory_plan_takes_over_dying_fresh_arrays():
    # matmul is not planned here (a NumPy forward: fresh memory each run); the elementwise
    # chain after it works in that array instead of taking new memory, even for the output
    g = Graph()
    x = g.add_input((64, 64), F32, name="x")
    m = _node(g, "matmul", [x, x], shape=(64, 64))
    a = _node(g, "exp", [m], shape=(64, 64))
    b = _node(g, "neg", [a], shape=(64, 64))
    g.outputs = [b]
    plan = plan_memory(g, writes_into=lambda n: n.op != "matmul", inplace=lambda n: [(0, 0)])
    assert plan.reuse == {a: m, b: a} and not plan.buffers
    assert plan.peak_bytes == 64 * 64 * 4 < plan.unplanned_peak_bytes


@pytest.mark.parametrize("name", MODELS)
def test_executor_memory_plan_on_traced_graphs(name):
    for graph, inputs, params in traced_graphs(name):
        ex = make_executor(graph, {})
        first = ex.run(inputs, params)
        plan = ex.memory_plan
        assert 0 < ex.planned_peak_bytes == plan.peak_bytes
        # buffers are shared by values that are never alive together
        assert len(plan.buffers) <= len(plan.buffer_of)
        for v, b in plan.buffer_of.items():
            assert plan.buffers[b] >= graph_nbytes(ex.graph, v)
        # a second run reuses the buffers and leaves the first run's results untouched
        kept = [np.array(o, copy=True) for o in first]
        ex.run(inputs, params)
        _same_results(first, kept, rtol=0)


def graph_nbytes(g: Graph, v: int) -> int:
    val = g.values[v]
    return int(np.prod(val.shape, dtype=np.int64)) * np.dtype(val.dtype).itemsize


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
