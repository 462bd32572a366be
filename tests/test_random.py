"""Generators, seeding and sampling (deterministic per seed; distributions checked loosely)."""

import pickle

import numpy as np
import pytest

import ember

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def arr(t):
    return t.detach().numpy()


# -- generators and seeding -------------------------------------------------------------------
def test_module_namespace():
    for name in [
        "Generator",
        "manual_seed",
        "seed",
        "initial_seed",
        "get_rng_state",
        "set_rng_state",
        "default_generator",
        "rand",
        "randn",
        "randint",
        "randperm",
        "normal",
        "bernoulli",
        "multinomial",
        "rand_like",
        "randn_like",
        "randint_like",
    ]:
        assert hasattr(ember.random, name), name
        assert hasattr(ember, name), name
    assert callable(ember.random.fork_rng)


def test_same_seed_same_numbers():
    ember.manual_seed(123)
    a = [
        arr(ember.rand(5)),
        arr(ember.randn(3, 2)),
        arr(ember.randint(0, 100, (7,))),
        arr(ember.randperm(10)),
        arr(ember.empty(4).uniform_(-1, 1)),
    ]
    ember.manual_seed(123)
    b = [
        arr(ember.rand(5)),
        arr(ember.randn(3, 2)),
        arr(ember.randint(0, 100, (7,))),
        arr(ember.randperm(10)),
        arr(ember.empty(4).uniform_(-1, 1)),
    ]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    ember.manual_seed(124)
    assert not np.array_equal(arr(ember.rand(5)), a[0])


def test_manual_seed_returns_generator_and_initial_seed():
    g = ember.manual_seed(5)
    assert g is ember.default_generator and ember.initial_seed() == 5
    assert ember.Generator().initial_seed() == 67280421310721
    g2 = ember.Generator()
    assert g2.manual_seed(9) is g2 and g2.initial_seed() == 9
    assert ember.Generator().manual_seed(-1).initial_seed() == 0xFFFF_FFFF_FFFF_FFFF
    with pytest.raises(RuntimeError, match="range"):
        ember.manual_seed(1 << 64)
    with pytest.raises(TypeError):
        ember.manual_seed(1.5)


def test_seed_is_random_and_recorded():
    s1 = ember.seed()
    assert ember.initial_seed() == s1
    assert ember.Generator().seed() != ember.Generator().seed()


def test_generators_are_independent():
    g1, g2 = ember.Generator().manual_seed(1), ember.Generator().manual_seed(1)
    a = arr(ember.rand(3, generator=g1))
    ember.rand(100)  # the default generator does not disturb g2
    np.testing.assert_array_equal(arr(ember.rand(3, generator=g2)), a)


def test_state_round_trip():
    g = ember.Generator().manual_seed(77)
    ember.rand(3, generator=g)
    st = g.get_state()
    assert st.dtype is ember.uint8 and st.ndim == 1
    a = arr(ember.randn(5, generator=g))
    b = arr(ember.randint(0, 9, (4,), generator=g))
    g.set_state(st)
    np.testing.assert_array_equal(arr(ember.randn(5, generator=g)), a)
    np.testing.assert_array_equal(arr(ember.randint(0, 9, (4,), generator=g)), b)
    # bytes work too, and the seed comes back with the state
    g2 = ember.Generator().set_state(bytes(st.numpy()))
    assert g2.initial_seed() == 77
    np.testing.assert_array_equal(arr(ember.randn(5, generator=g2)), a)
    # an odd number of 32-bit draws leaves a cached half word; it must round-trip too
    g._rng.integers(0, 10, 1, dtype=np.uint32)
    st2 = g.get_state()
    x = g._rng.integers(0, 1 << 31, 5, dtype=np.uint32)
    g.set_state(st2)
    np.testing.assert_array_equal(g._rng.integers(0, 1 << 31, 5, dtype=np.uint32), x)


def test_default_rng_state_round_trip():
    s = ember.get_rng_state()
    a = arr(ember.rand(4))
    ember.set_rng_state(s)
    np.testing.assert_array_equal(arr(ember.rand(4)), a)
    before = arr(ember.get_rng_state()).copy()
    with ember.random.fork_rng():
        ember.rand(10)
    np.testing.assert_array_equal(arr(ember.get_rng_state()), before)


def test_bad_state_errors():
    with pytest.raises(RuntimeError, match="generator state"):
        ember.Generator().set_state(b"abc")
    with pytest.raises(TypeError, match="uint8"):
        ember.Generator().set_state(ember.zeros(50))
    with pytest.raises(TypeError):
        ember.Generator().set_state("state")
    with pytest.raises(TypeError, match="Generator"):
        ember.rand(2, generator=np.random.default_rng())


def test_generator_pickles():
    g = ember.Generator().manual_seed(3)
    ember.rand(2, generator=g)
    g2 = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(arr(ember.rand(3, generator=g)), arr(ember.rand(3, generator=g2)))


# -- sampling functions -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_rand_randn_dtypes_and_range(dtype):
    d = getattr(ember, dtype)
    if d is None:
        pytest.skip("ml_dtypes not installed")
    x = ember.rand(1000, dtype=d)
    assert x.dtype is d and x.shape == (1000,)
    v = arr(x).astype(np.float64)
    assert v.min() >= 0 and v.max() < 1
    assert ember.randn(2, 3, dtype=d).dtype is d


def test_rand_defaults_and_sizes():
    assert ember.rand(2, 3).dtype is ember.float32
    assert ember.rand((2, 3)).shape == (2, 3)
    assert ember.rand(()).shape == ()
    assert ember.randn(0).shape == (0,)
    x = ember.rand(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    with pytest.raises(RuntimeError, match="floating"):
        ember.rand(2, dtype=ember.int64)
    with pytest.raises(RuntimeError, match="negative"):
        ember.randn(-1)


def test_randn_statistics():
    x = arr(ember.randn(200_000, generator=ember.Generator().manual_seed(0)))
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01


@pytest.mark.parametrize("args", [(10, (1000,)), (-5, 5, (50, 20)), (3, 4, (100,))])
def test_randint_bounds(args):
    x = ember.randint(*args)
    lo, hi = (0, args[0]) if len(args) == 2 else args[:2]
    assert x.dtype is ember.int64 and x.shape == args[-1]
    v = arr(x)
    assert v.min() >= lo and v.max() < hi
    if hi - lo <= 10:
        assert set(v.ravel().tolist()) == set(range(lo, hi))


def test_randint_forms_and_errors():
    assert ember.randint(0, 10, size=(3,)).shape == (3,)
    assert ember.randint(low=2, high=5, size=(4,)).shape == (4,)
    assert ember.randint(10, (2,), dtype=ember.float32).dtype is ember.float32
    assert ember.randint(0, 256, (5,), dtype=ember.uint8).dtype is ember.uint8
    with pytest.raises(RuntimeError, match="from"):
        ember.randint(5, 5, (3,))
    with pytest.raises(RuntimeError, match="out of bounds"):
        ember.randint(0, 300, (3,), dtype=ember.uint8)
    with pytest.raises(TypeError, match="size"):
        ember.randint(5)


@requires_torch
def test_randint_matches_torch_shape_dtype():
    for args in [(10, (2, 3)), (1, 5, (4,))]:
        e, t = ember.randint(*args), torch.randint(*args)
        assert tuple(e.shape) == tuple(t.shape) and str(e.dtype)[6:] == str(t.dtype)[6:]


def test_randperm():
    p = ember.randperm(50)
    assert p.dtype is ember.int64 and sorted(arr(p).tolist()) == list(range(50))
    assert ember.randperm(0).shape == (0,)
    assert ember.randperm(5, dtype=ember.float32).dtype is ember.float32
    with pytest.raises(RuntimeError, match="non-negative"):
        ember.randperm(-1)


def test_normal_variants():
    g = ember.Generator().manual_seed(0)
    m = ember.tensor([0.0, 10.0, -10.0])
    x = ember.normal(m, 0.0, generator=g)
    np.testing.assert_array_equal(arr(x), arr(m))
    y = ember.normal(m, ember.tensor([1.0, 1.0, 1.0]))
    assert y.shape == (3,) and y.dtype is ember.float32
    z = ember.normal(0.0, ember.ones(2, 2, dtype=ember.float64))
    assert z.shape == (2, 2) and z.dtype is ember.float64
    w = ember.normal(5.0, 2.0, (100_000,), generator=g)
    assert w.dtype is ember.float32
    assert abs(arr(w).mean() - 5) < 0.05 and abs(arr(w).std() - 2) < 0.05
    b = ember.normal(ember.zeros(3, 1), ember.ones(1, 4))
    assert b.shape == (3, 4)
    with pytest.raises(TypeError, match="size"):
        ember.normal(0.0, 1.0)
    with pytest.raises(RuntimeError, match="std"):
        ember.normal(ember.zeros(2), -1.0)


@requires_torch
def test_normal_dtypes_match_torch():
    for mk in [
        lambda m: m.normal(m.zeros(2, dtype=m.float64), 1.0),
        lambda m: m.normal(2.0, 3.0, (2,)),
        lambda m: m.normal(m.zeros(2), m.ones(2)),
    ]:
        assert str(mk(ember).dtype)[6:] == str(mk(torch).dtype)[6:]


def test_bernoulli():
    g = ember.Generator().manual_seed(1)
    p = ember.full((100_000,), 0.3)
    x = ember.bernoulli(p, generator=g)
    assert x.dtype is ember.float32 and set(np.unique(arr(x))) <= {0.0, 1.0}
    assert abs(arr(x).mean() - 0.3) < 0.01
    np.testing.assert_array_equal(arr(ember.bernoulli(ember.tensor([0.0, 1.0]))), [0.0, 1.0])
    assert ember.bernoulli(ember.zeros(3, dtype=ember.float64)).dtype is ember.float64
    assert abs(arr(ember.bernoulli(ember.zeros(10_000), 0.8)).mean() - 0.8) < 0.03
    assert arr(p.bernoulli()).shape == (100_000,)
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        ember.bernoulli(ember.tensor([1.5]))


def test_multinomial():
    g = ember.Generator().manual_seed(2)
    w = ember.tensor([1.0, 2.0, 3.0, 4.0])
    for _ in range(20):
        s = arr(ember.multinomial(w, 4, generator=g))
        assert sorted(s.tolist()) == [0, 1, 2, 3]
    s = ember.multinomial(w, 20_000, replacement=True, generator=g)
    assert s.dtype is ember.int64 and s.shape == (20_000,)
    freq = np.bincount(arr(s), minlength=4) / 20_000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.02)
    rows = ember.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(arr(ember.multinomial(rows, 3, True)), [[1, 1, 1], [0, 0, 0]])
    two = arr(ember.multinomial(ember.rand(5, 10) + 0.01, 6))
    assert two.shape == (5, 6) and all(len(set(r)) == 6 for r in two.tolist())
    # zero-weight categories are taken last when sampling without replacement (as torch)
    assert arr(ember.multinomial(ember.tensor([1.0, 0.0, 0.0]), 2)).tolist()[0] == 0
    assert arr(w.multinomial(2)).shape == (2,)


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match="without replacement"):
        ember.multinomial(ember.ones(3), 4)
    with pytest.raises(RuntimeError, match="element < 0"):
        ember.multinomial(ember.tensor([1.0, -1.0]), 1)
    with pytest.raises(RuntimeError, match="sum of probabilities"):
        ember.multinomial(ember.zeros(3), 1)
    with pytest.raises(RuntimeError, match="1 or 2 dim"):
        ember.multinomial(ember.ones(2, 2, 2), 1)


def test_like_functions():
    x = ember.zeros(2, 3, dtype=ember.float64)
    assert ember.rand_like(x).dtype is ember.float64 and ember.rand_like(x).shape == (2, 3)
    assert ember.randn_like(x, dtype=ember.float32).dtype is ember.float32
    r = ember.randint_like(ember.zeros(100, dtype=ember.int32), 3, 7)
    assert r.dtype is ember.int32 and arr(r).min() >= 3 and arr(r).max() < 7
    assert ember.randint_like(ember.zeros(4), 5).dtype is ember.float32
    with pytest.raises(RuntimeError, match="floating"):
        ember.rand_like(ember.zeros(2, dtype=ember.int64))
    g1, g2 = ember.Generator().manual_seed(4), ember.Generator().manual_seed(4)
    np.testing.assert_array_equal(
        arr(ember.randn_like(x, generator=g1)), arr(ember.randn_like(x, generator=g2))
    )


def test_poisson():
    x = ember.poisson(ember.full((50_000,), 4.0), generator=ember.Generator().manual_seed(0))
    assert x.dtype is ember.float32 and abs(arr(x).mean() - 4) < 0.05


# -- in-place methods -------------------------------------------------------------------------
def test_inplace_methods_values():
    g = ember.Generator().manual_seed(0)
    x = ember.empty(100_000)
    assert x.uniform_(2, 5, generator=g) is x
    v = arr(x)
    assert v.min() >= 2 and v.max() < 5 and abs(v.mean() - 3.5) < 0.02
    x.normal_(1.0, 0.5, generator=g)
    assert abs(arr(x).mean() - 1) < 0.01 and abs(arr(x).std() - 0.5) < 0.01
    x.exponential_(2.0, generator=g)
    assert arr(x).min() >= 0 and abs(arr(x).mean() - 0.5) < 0.01
    x.bernoulli_(0.25, generator=g)
    assert set(np.unique(arr(x))) == {0.0, 1.0} and abs(arr(x).mean() - 0.25) < 0.01
    x.geometric_(0.5, generator=g)
    assert arr(x).min() >= 1 and abs(arr(x).mean() - 2) < 0.05
    x.log_normal_(0.0, 0.25, generator=g)
    assert arr(x).min() > 0 and abs(np.log(arr(x)).std() - 0.25) < 0.01
    x.cauchy_(generator=g)
    assert abs(np.median(arr(x))) < 0.05
    x.uniform_(**{"from": -1, "to": 1})
    assert arr(x).min() >= -1 and arr(x).max() < 1


def test_random_int_ranges():
    x = ember.zeros(1000, dtype=ember.int64).random_(0, 5)
    assert set(arr(x).tolist()) == {0, 1, 2, 3, 4}
    assert arr(ember.zeros(1000, dtype=ember.int32).random_(3)).max() < 3
    assert arr(ember.zeros(10, dtype=ember.uint8).random_()).dtype == np.uint8
    f = arr(ember.zeros(1000).random_())
    assert f.min() >= 0 and f.max() <= 2**24 and np.all(f == np.round(f))
    b = arr(ember.zeros(100, dtype=ember.bool).random_())
    assert set(b.tolist()) == {True, False}
    with pytest.raises(RuntimeError, match="from"):
        ember.zeros(2, dtype=ember.int64).random_(5, 5)


def test_inplace_same_seed_same_numbers():
    a = ember.empty(5).normal_(generator=ember.Generator().manual_seed(8))
    b = ember.empty(5).normal_(generator=ember.Generator().manual_seed(8))
    np.testing.assert_array_equal(arr(a), arr(b))


def test_inplace_dtype_errors():
    for name, args in [
        ("uniform_", ()),
        ("normal_", ()),
        ("exponential_", ()),
        ("cauchy_", ()),
        ("log_normal_", ()),
    ]:
        with pytest.raises(RuntimeError, match="floating point"):
            getattr(ember.zeros(2, dtype=ember.int64), name)(*args)
    with pytest.raises(RuntimeError, match="std"):
        ember.zeros(2).normal_(0, -1)
    with pytest.raises(RuntimeError, match="from"):
        ember.zeros(2).uniform_(1, 0)
    with pytest.raises(RuntimeError, match="p"):
        ember.zeros(2).bernoulli_(1.5)
    assert ember.zeros(3, dtype=ember.int64).bernoulli_(1.0).tolist() == [1, 1, 1]


def test_inplace_on_parameters_under_no_grad():
    w = ember.zeros(4, 3, requires_grad=True)
    v0 = w._version_value
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.normal_()
    with ember.no_grad():
        w.uniform_(-0.1, 0.1)
        w.normal_(0, 0.02)
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    assert w._version_value == v0 + 2
    assert np.abs(arr(w)).sum() > 0


@requires_torch
def test_inplace_nonleaf_history_is_replaced_like_torch():
    def run(m):
        x = m.ones(3, requires_grad=True)
        y = x * 3
        y.uniform_()
        (y * 2).sum().backward()
        return x.grad.numpy().copy(), y.requires_grad

    (eg, er), (tg, tr) = run(ember), run(torch)
    np.testing.assert_array_equal(eg, tg)
    assert er == tr
