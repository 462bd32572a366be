"""Random numbers: ``Generator``, seeding and the sampling functions (PyTorch names).

Every draw comes from a :class:`Generator`, a thin wrapper over NumPy's
``np.random.Generator(np.random.PCG64(seed))``. Functions take ``generator=`` and fall back to
the module's default generator, which ``ember.manual_seed`` reseeds. The same seed always gives
the same numbers (the streams differ from PyTorch's, whose engine is different).

Example:
    >>> import ember
    >>> _ = ember.manual_seed(0)
    >>> a = ember.rand(3)
    >>> _ = ember.manual_seed(0)
    >>> bool((ember.rand(3) == a).all())
    True
"""

from __future__ import annotations

import contextlib
import os
import struct

import numpy as np

from . import dtypes as _dt
from .device import CPU, as_device
from .registry import Spec, primitive
from .tensor import Tensor

__all__ = [
    "Generator",
    "default_generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
    "rand",
    "randn",
    "randint",
    "randperm",
    "normal",
    "bernoulli",
    "multinomial",
    "poisson",
    "rand_like",
    "randn_like",
    "randint_like",
]

_DEFAULT_SEED = 67280421310721  # what ``torch.Generator()`` starts from
_U64 = 0xFFFF_FFFF_FFFF_FFFF
_MAGIC = b"EMRG"
_STATE_FORMAT = "<4sBQ16s16sBI"  # magic, version, seed, pcg state, pcg inc, has_uint32, uinteger
_STATE_SIZE = struct.calcsize(_STATE_FORMAT)


def _check_seed(seed) -> int:
    if isinstance(seed, Tensor):
        seed = seed.item()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed expected an int seed, got {type(seed).__name__}")
    seed = int(seed)
    if not -(1 << 63) <= seed <= _U64:
        raise RuntimeError(
            "manual_seed: seed must be within the inclusive range "
            f"[-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff], got {seed}"
        )
    return seed + _U64 + 1 if seed < 0 else seed


class Generator:
    """A source of random numbers (PCG64) that can be seeded, saved and restored.

    Example:
        >>> import ember
        >>> g = ember.Generator().manual_seed(42)
        >>> g.initial_seed()
        42
        >>> state = g.get_state()
        >>> a = ember.rand(2, generator=g)
        >>> _ = g.set_state(state)
        >>> bool((ember.rand(2, generator=g) == a).all())
        True
    """

    def __init__(self, device=None):
        self.device = as_device(device) if device is not None else CPU
        self._seed = _DEFAULT_SEED
        self._np: np.random.Generator | None = None

    @property
    def _rng(self) -> np.random.Generator:
        """The NumPy generator that does the drawing (created lazily)."""
        if self._np is None:
            self._np = np.random.Generator(np.random.PCG64(self._seed))
        return self._np

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns the generator itself, as in PyTorch."""
        self._seed = _check_seed(seed)
        self._np = None
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy and return the new seed."""
        self.manual_seed(int.from_bytes(os.urandom(8), "little"))
        return self._seed

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def get_state(self) -> Tensor:
        """The full state as a uint8 tensor; ``set_state`` of it restores the stream exactly."""
        st = self._rng.bit_generator.state
        inner = st["state"]
        packed = struct.pack(
            _STATE_FORMAT,
            _MAGIC,
            1,
            self._seed,
            int(inner["state"]).to_bytes(16, "little"),
            int(inner["inc"]).to_bytes(16, "little"),
            int(st["has_uint32"]),
            int(st["uinteger"]),
        )
        return Tensor._wrap(np.frombuffer(packed, np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state from ``get_state`` (a uint8 tensor, array, bytes or bytearray)."""
        if isinstance(new_state, Tensor):
            if new_state._data.dtype != np.uint8:
                raise TypeError(
                    f"set_state: expected a uint8 (ByteTensor) state, got {new_state.dtype}"
                )
            raw = new_state._data.tobytes()
        elif isinstance(new_state, np.ndarray):
            raw = np.ascontiguousarray(new_state, np.uint8).tobytes()
        elif isinstance(new_state, (bytes, bytearray, memoryview)):
            raw = bytes(new_state)
        else:
            raise TypeError(
                f"set_state: expected a uint8 tensor or bytes, got {type(new_state).__name__}"
            )
        if len(raw) != _STATE_SIZE or raw[:4] != _MAGIC:
            raise RuntimeError(
                f"set_state: not an ember generator state ({len(raw)} bytes; expected "
                f"{_STATE_SIZE} bytes from Generator.get_state())"
            )
        _, version, seed, state, inc, has_u32, uinteger = struct.unpack(_STATE_FORMAT, raw)
        if version != 1:
            raise RuntimeError(f"set_state: unsupported generator state version {version}")
        bitgen = np.random.PCG64()
        bitgen.state = {
            "bit_generator": "PCG64",
            "state": {
                "state": int.from_bytes(state, "little"),
                "inc": int.from_bytes(inc, "little"),
            },
            "has_uint32": has_u32,
            "uinteger": uinteger,
        }
        self._seed = seed
        self._np = np.random.Generator(bitgen)
        return self

    def __getstate__(self):
        return {"device": str(self.device), "state": self.get_state()._data.tobytes()}

    def __setstate__(self, d) -> None:
        self.__init__(d["device"])
        self.set_state(d["state"])

    def __repr__(self) -> str:
        return f"<ember.Generator device={self.device} initial_seed={self._seed}>"


default_generator = Generator()
default_generator._seed = int.from_bytes(os.urandom(8), "little")  # PyTorch seeds it randomly


def _gen(generator: Generator | None) -> np.random.Generator:
    if generator is None:
        return default_generator._rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be an ember.Generator, got {type(generator).__name__}")
    return generator._rng


def manual_seed(seed: int) -> Generator:
    """Seed the default generator; returns it.

    Example:
        >>> import ember
        >>> ember.manual_seed(3).initial_seed()
        3
    """
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from OS entropy and return the seed.

    Example:
        >>> import ember
        >>> s = ember.seed()
        >>> ember.initial_seed() == s
        True
    """
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last seeded with.

    Example:
        >>> import ember
        >>> _ = ember.manual_seed(7)
        >>> ember.initial_seed()
        7
    """
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state as a uint8 tensor.

    Example:
        >>> import ember
        >>> ember.get_rng_state().dtype
        ember.uint8
    """
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state from ``get_rng_state()``.

    Example:
        >>> import ember
        >>> s = ember.get_rng_state()
        >>> a = ember.rand(2)
        >>> ember.set_rng_state(s)
        >>> bool((ember.rand(2) == a).all())
        True
    """
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True):
    """Context manager: the default generator's state is restored on exit.

    Example:
        >>> import ember
        >>> s = ember.get_rng_state()
        >>> with ember.random.fork_rng():
        ...     _ = ember.rand(3)
        >>> bool((ember.get_rng_state() == s).all())
        True
    """
    if not enabled:
        yield
        return
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)


# -- drawing helpers ---------------------------------------------------------------------------
_MANTISSA = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


def _float_dtype(dtype, op: str) -> _dt.dtype:
    d = _dt.as_dtype(dtype)
    if not d.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating point dtype, got {d}")
    return d


def _uniform01(rng: np.random.Generator, shape: tuple, d: _dt.dtype) -> np.ndarray:
    """Uniform samples in [0, 1) exactly representable in ``d`` (never rounds up to 1)."""
    if d.name in ("float32", "float64"):
        return rng.random(shape, dtype=d.np)
    bits = _MANTISSA[d.name]
    return (rng.integers(0, 1 << bits, shape) * (1.0 / (1 << bits))).astype(d.np)


def _standard_normal(rng: np.random.Generator, shape: tuple, d: _dt.dtype) -> np.ndarray:
    if d.name in ("float32", "float64"):
        return rng.standard_normal(shape, dtype=d.np)
    return rng.standard_normal(shape, dtype=np.float32).astype(d.np)


def _make(arr: np.ndarray, requires_grad: bool, device) -> Tensor:
    as_device(device)
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


# -- sampling primitives: the registry ops that ``ember.compile`` records (a compiled graph
# draws fresh samples on every call, like eager) -------------------------------------------
def _sample_rule(*, shape, dtype, **_):
    return Spec(tuple(shape), dtype)


@primitive("rand_uniform", _sample_rule, is_random=True)
def rand_uniform(*, shape, dtype, generator=None):
    """Uniform samples on [0, 1) of ``shape`` and float ``dtype``."""
    return _uniform01(_gen(generator), tuple(shape), dtype)


@primitive("rand_normal", _sample_rule, is_random=True)
def rand_normal(*, shape, dtype, generator=None):
    """Standard normal samples of ``shape`` and float ``dtype``."""
    return _standard_normal(_gen(generator), tuple(shape), dtype)


@primitive("rand_bernoulli", _sample_rule, is_random=True)
def rand_bernoulli(*, shape, p, dtype, generator=None):
    """0/1 samples of ``shape`` that are 1 with probability ``p`` (a number)."""
    return (_gen(generator).random(tuple(shape)) < p).astype(dtype.np)


def _apply(prim, **attrs):
    from ._dispatch import apply

    return apply(prim, **attrs)


def _sizes(size, op: str) -> tuple:
    from .ops.creation import _size_args

    try:
        return _size_args(size)
    except TypeError as exc:
        raise TypeError(f"{op}: {exc}") from None


def rand(
    *size,
    generator: Generator | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
    out=None,
) -> Tensor:
    """Uniform samples on [0, 1): ``ember.rand(2, 3)`` or ``ember.rand((2, 3))``.

    Example:
        >>> import ember
        >>> x = ember.rand(2, 3)
        >>> x.shape, bool(((x >= 0) & (x < 1)).all())
        (ember.Size([2, 3]), True)
    """
    d = _float_dtype(dtype, "rand")
    as_device(device)
    out = _apply(rand_uniform, shape=_sizes(size, "rand"), dtype=d, generator=generator)
    return out.requires_grad_(True) if requires_grad else out


def randn(
    *size,
    generator: Generator | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
    out=None,
) -> Tensor:
    """Standard normal samples: ``ember.randn(2, 3)``.

    Example:
        >>> import ember
        >>> ember.randn(4, 5).shape
        ember.Size([4, 5])
    """
    d = _float_dtype(dtype, "randn")
    as_device(device)
    out = _apply(rand_normal, shape=_sizes(size, "randn"), dtype=d, generator=generator)
    return out.requires_grad_(True) if requires_grad else out


def _int_bounds(d: _dt.dtype) -> tuple[int, int]:
    """The inclusive range of integers ``d`` holds exactly."""
    if d is _dt.bool:
        return 0, 1
    if d.is_floating_point:
        m = 1 << _MANTISSA[d.name]
        return -m, m
    info = np.iinfo(d.np)
    return int(info.min), int(info.max)


def _randint_array(rng, low: int, high: int, shape: tuple, d: _dt.dtype, op: str) -> np.ndarray:
    if low >= high:
        raise RuntimeError(
            f"{op}: expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    lo, hi = _int_bounds(d)
    if low < lo or high - 1 > hi:
        raise RuntimeError(
            f"{op}: range [{low}, {high}) is out of bounds for dtype {d.name} ([{lo}, {hi}])"
        )
    return rng.integers(low, high, shape, dtype=np.int64, endpoint=False).astype(d.np)


def _as_int(v, name: str, op: str) -> int:
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__} ({v!r})")
    return int(v)


def randint(
    *args,
    size=None,
    low=None,
    high=None,
    generator: Generator | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
    out=None,
) -> Tensor:
    """Integers uniform on [low, high): ``randint(high, size)`` or ``randint(low, high, size)``.

    The dtype is int64 unless ``dtype`` is given.

    Example:
        >>> import ember
        >>> x = ember.randint(3, 10, (4,))
        >>> x.dtype, bool(((x >= 3) & (x < 10)).all())
        (ember.int64, True)
    """
    args = list(args)
    if size is None:
        if (
            not args
            or not isinstance(args[-1], (tuple, list, Tensor))
            or (isinstance(args[-1], Tensor) and args[-1].ndim == 0)
        ):
            raise TypeError(
                "randint: missing the 'size' argument (a tuple), e.g. randint(10, (3,))"
            )
        size = args.pop()
    if isinstance(size, Tensor):
        size = size.tolist()
    if high is None:
        if not args:
            raise TypeError("randint: missing the 'high' argument")
        high = args.pop()
    if low is None:
        low = args.pop() if args else 0
    if args:
        raise TypeError("randint: too many positional arguments; use randint(low, high, size)")
    low, high = _as_int(low, "low", "randint"), _as_int(high, "high", "randint")
    d = _dt.int64 if dtype is None else _dt.as_dtype(dtype)
    shape = _sizes((tuple(size),), "randint")
    arr = _randint_array(_gen(generator), low, high, shape, d, "randint")
    return _make(arr, requires_grad, device)


def randperm(
    n: int,
    *,
    generator: Generator | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
    out=None,
) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` is given).

    Example:
        >>> import ember
        >>> sorted(ember.randperm(5).tolist())
        [0, 1, 2, 3, 4]
    """
    n = _as_int(n, "n", "randperm")
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    d = _dt.int64 if dtype is None else _dt.as_dtype(dtype)
    lo, hi = _int_bounds(d)
    if n > 0 and n - 1 > hi:
        raise RuntimeError(f"randperm: n is too large for result tensor type {d.name}, got {n}")
    return _make(_gen(generator).permutation(n).astype(d.np), requires_grad, device)


def _value_array(v, op: str, name: str) -> np.ndarray:
    if isinstance(v, Tensor):
        return v._data
    if isinstance(v, (bool, int, float, np.number)):
        return np.asarray(v, np.float64)
    raise TypeError(f"{op}: {name} must be a tensor or a number, got {type(v).__name__}")


def normal(
    mean=0.0,
    std=1.0,
    size=None,
    *,
    generator: Generator | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
    out=None,
) -> Tensor:
    """Normal samples with elementwise ``mean`` and ``std`` (tensors or numbers).

    With tensor arguments the result has their broadcast shape and dtype; with two numbers
    ``size`` is required. The result is not differentiable with respect to mean and std
    (as in PyTorch; write ``mean + std * ember.randn_like(mean)`` for the reparametrised form).

    Example:
        >>> import ember
        >>> ember.normal(ember.zeros(3), 1.0).shape
        ember.Size([3])
        >>> ember.normal(2.0, 3.0, size=(2, 2)).shape
        ember.Size([2, 2])
    """
    m, s = _value_array(mean, "normal", "mean"), _value_array(std, "normal", "std")
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if tensors:
        if size is not None:
            raise RuntimeError("normal: size may only be given when mean and std are numbers")
        d = tensors[0].dtype
        for t in tensors[1:]:
            d = _dt.promote_types(d, t.dtype)
        if dtype is not None:
            d = _dt.as_dtype(dtype)
        if not d.is_floating_point:
            raise RuntimeError(f"normal: expected floating point mean/std, got {d}")
        try:
            shape = np.broadcast_shapes(m.shape, s.shape)
        except ValueError:
            raise RuntimeError(
                f"normal: mean shape {tuple(m.shape)} and std shape {tuple(s.shape)} "
                "cannot be broadcast together"
            ) from None
    else:
        if size is None:
            raise TypeError("normal: size is required when mean and std are numbers")
        d = _float_dtype(dtype, "normal")
        shape = _sizes((tuple(size),), "normal")
    if np.any(s < 0):
        raise RuntimeError(f"normal: expects std >= 0.0, but found std {float(np.min(s))}")
    ct = d.np if d.name in ("float32", "float64") else np.dtype(np.float32)
    z = _standard_normal(_gen(generator), tuple(shape), _dt.from_numpy_dtype(ct))
    arr = (z * s.astype(ct) + m.astype(ct)).astype(d.np, copy=False)
    return _make(arr, requires_grad, device)


def _probs(x, op: str) -> np.ndarray:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a tensor of probabilities, got {type(x).__name__}")
    return x._data


def bernoulli(input: Tensor, p=None, *, generator: Generator | None = None, out=None) -> Tensor:  # noqa: A002
    """0/1 samples: element ``i`` is 1 with probability ``input[i]`` (or ``p`` when given).

    The result has ``input``'s shape and dtype.

    Example:
        >>> import ember
        >>> ember.bernoulli(ember.tensor([0.0, 1.0]))
        tensor([0., 1.])
    """
    x = _probs(input, "bernoulli")
    probs = x if p is None else _value_array(p, "bernoulli", "p")
    probs = np.broadcast_to(probs, x.shape)
    if np.any((probs < 0) | (probs > 1)) or np.any(np.isnan(probs)):
        raise RuntimeError("bernoulli: expected all probabilities to be in the range [0, 1]")
    u = _gen(generator).random(x.shape)
    return Tensor._wrap((u < probs).astype(x.dtype))


def multinomial(
    input: Tensor,  # noqa: A002
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
    out=None,
) -> Tensor:
    """Indices sampled from the rows of ``input`` (non-negative weights, 1-D or 2-D); int64.

    Without replacement each row's indices are distinct.

    Example:
        >>> import ember
        >>> ember.multinomial(ember.tensor([0.0, 1.0, 0.0]), 2, replacement=True)
        tensor([1, 1])
        >>> sorted(ember.multinomial(ember.tensor([1.0, 1.0, 1.0]), 3).tolist())
        [0, 1, 2]
    """
    w = _probs(input, "multinomial")
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {w.ndim}")
    if not (w.dtype.kind == "f" or input.dtype is _dt.bfloat16):
        raise RuntimeError(
            f"multinomial only supports floating-point dtypes for input, got {input.dtype}"
        )
    n = _as_int(num_samples, "num_samples", "multinomial")
    if n <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples, got {n}")
    rows = np.asarray(w, np.float64).reshape(-1, w.shape[-1])
    k = rows.shape[1]
    if k == 0:
        raise RuntimeError("multinomial: number of categories cannot be zero")
    if not replacement and n > k:
        raise RuntimeError(
            f"multinomial: cannot sample n_sample ({n}) > prob_dist.size(-1) ({k}) samples "
            "without replacement"
        )
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError(
            "multinomial: probability tensor contains either inf, nan or element < 0"
        )
    totals = rows.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise RuntimeError(
            "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
        )
    rng = _gen(generator)
    if replacement:
        cdf = np.cumsum(rows / totals, axis=1)
        cdf[:, -1] = 1.0
        u = rng.random((rows.shape[0], n))
        idx = np.stack([np.searchsorted(cdf[r], u[r], side="right") for r in range(rows.shape[0])])
        # never pick a zero-weight category because of rounding at the edges of the cdf
        idx = np.minimum(idx, k - 1)
    else:
        # Exponential-race trick (as PyTorch): keys w / E with E ~ Exp(1), take the largest.
        e = rng.standard_exponential(rows.shape)
        with np.errstate(divide="ignore"):
            keys = rows / e
        idx = np.argsort(-keys, axis=1, kind="stable")[:, :n]
    out_shape = (n,) if w.ndim == 1 else (w.shape[0], n)
    return Tensor._wrap(idx.astype(np.int64).reshape(out_shape))


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:  # noqa: A002
    """Poisson samples with elementwise rates ``input`` (same shape and dtype).

    Example:
        >>> import ember
        >>> ember.poisson(ember.zeros(3))
        tensor([0., 0., 0.])
    """
    rates = _probs(input, "poisson")
    if np.any(rates < 0) or np.any(np.isnan(rates)):
        raise RuntimeError("poisson: rates must be non-negative")
    return Tensor._wrap(_gen(generator).poisson(np.asarray(rates, np.float64)).astype(rates.dtype))


def _like(x, dtype, op: str) -> tuple[tuple, _dt.dtype]:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected an ember Tensor, got {type(x).__name__}")
    d = x.dtype if dtype is None else _dt.as_dtype(dtype)
    return tuple(x._data.shape), d


def rand_like(
    input: Tensor,  # noqa: A002
    *,
    generator: Generator | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Uniform samples on [0, 1) with ``input``'s shape and (floating) dtype.

    Example:
        >>> import ember
        >>> ember.rand_like(ember.zeros(2, dtype=ember.float64)).dtype
        ember.float64
    """
    shape, d = _like(input, dtype, "rand_like")
    d = _float_dtype(d, "rand_like")
    as_device(device)
    out = _apply(rand_uniform, shape=shape, dtype=d, generator=generator)
    return out.requires_grad_(True) if requires_grad else out


def randn_like(
    input: Tensor,  # noqa: A002
    *,
    generator: Generator | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Standard normal samples with ``input``'s shape and (floating) dtype.

    Example:
        >>> import ember
        >>> ember.randn_like(ember.zeros(2, 3)).shape
        ember.Size([2, 3])
    """
    shape, d = _like(input, dtype, "randn_like")
    d = _float_dtype(d, "randn_like")
    as_device(device)
    out = _apply(rand_normal, shape=shape, dtype=d, generator=generator)
    return out.requires_grad_(True) if requires_grad else out


def randint_like(
    input: Tensor,  # noqa: A002
    low=0,
    high=None,
    *,
    generator: Generator | None = None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    memory_format=None,
) -> Tensor:
    """Integers on [low, high) with ``input``'s shape and dtype: ``randint_like(x, 10)``.

    Example:
        >>> import ember
        >>> x = ember.randint_like(ember.zeros(5), 3)
        >>> x.dtype, bool(((x >= 0) & (x < 3)).all())
        (ember.float32, True)
    """
    if high is None:
        low, high = 0, low
    shape, d = _like(input, dtype, "randint_like")
    low, high = _as_int(low, "low", "randint_like"), _as_int(high, "high", "randint_like")
    arr = _randint_array(_gen(generator), low, high, shape, d, "randint_like")
    return _make(arr, requires_grad, device)


# -- in-place Tensor methods -------------------------------------------------------------------
def _fill_random(target: Tensor, op: str, draw) -> Tensor:
    """Overwrite ``target`` with ``draw(shape, dtype) -> ndarray`` keeping autograd right.

    Runs through ``apply_inplace``: inside ``ember.no_grad`` (how ``nn.init`` calls these on
    parameters) it writes directly and bumps the version counter; on a leaf that requires grad
    outside ``no_grad`` it raises, as PyTorch does.
    """
    from ._dispatch import apply_inplace
    from .ops.creation import overwrite_result

    d = _dt.from_numpy_dtype(target._data.dtype)
    values = Tensor._wrap(np.asarray(draw(tuple(target._data.shape), d)).astype(d.np, copy=False))

    def fn(t):
        return overwrite_result(t, values)

    fn.__name__ = op
    return apply_inplace(target, fn)


def _require_float(t: Tensor, op: str) -> _dt.dtype:
    d = t.dtype
    if not d.is_floating_point:
        raise RuntimeError(f"{op}_: expected a floating point tensor, got {d}")
    return d


def _compute_dtype(d: _dt.dtype) -> _dt.dtype:
    return d if d.name in ("float32", "float64") else _dt.float32


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None, **kw) -> Tensor:
    """Fill in place with uniform samples on [a, b) (PyTorch's ``from``/``to`` also accepted).

    Example:
        >>> import ember
        >>> x = ember.empty(100).uniform_(-2, 2)
        >>> bool(((x >= -2) & (x < 2)).all())
        True
    """
    a, b = kw.pop("from", a), kw.pop("to", b)
    _no_extra(kw, "uniform_")
    _require_float(self, "uniform")
    a, b = float(a), float(b)
    if not a <= b:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}"
        )
    rng = _gen(generator)

    def draw(shape, d):
        cd = _compute_dtype(d)
        u = _uniform01(rng, shape, cd)
        return u * cd.np.type(b - a) + cd.np.type(a)

    return _fill_random(self, "uniform", draw)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with normal samples.

    Example:
        >>> import ember
        >>> ember.empty(2, 3).normal_(0.0, 0.02).shape
        ember.Size([2, 3])
    """
    _require_float(self, "normal")
    mean, std = float(mean), float(std)
    if std < 0:
        raise RuntimeError(f"normal_ expects std >= 0.0, but found std {std}")
    rng = _gen(generator)

    def draw(shape, d):
        cd = _compute_dtype(d)
        return _standard_normal(rng, shape, cd) * cd.np.type(std) + cd.np.type(mean)

    return _fill_random(self, "normal", draw)


def random_(self: Tensor, *args, generator=None, **kw) -> Tensor:
    """Fill in place with integers: ``random_()``, ``random_(to)`` or ``random_(from, to)``.

    With no bounds the range is [0, 2**mantissa] for floats and [0, max] for integers.

    Example:
        >>> import ember
        >>> x = ember.zeros(5, dtype=ember.int64).random_(0, 3)
        >>> bool(((x >= 0) & (x < 3)).all())
        True
    """
    frm, to = kw.pop("from", None), kw.pop("to", None)
    _no_extra(kw, "random_")
    if len(args) == 1:
        to = args[0]
    elif len(args) == 2:
        frm, to = args
    elif args:
        raise TypeError("random_: expected at most two positional arguments (from, to)")
    d = self.dtype
    lo, hi = _int_bounds(d)
    if to is None:  # [from, max] (for floats: [from, 2**mantissa])
        low, high = (0 if frm is None else _as_int(frm, "from", "random_")), hi + 1
    else:
        low = 0 if frm is None else _as_int(frm, "from", "random_")
        high = _as_int(to, "to", "random_")
    rng = _gen(generator)
    return _fill_random(
        self, "random", lambda s, dd: _randint_array(rng, low, high, s, dd, "random_")
    )


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill in place with 0/1 samples that are 1 with probability ``p`` (number or tensor).

    Example:
        >>> import ember
        >>> ember.empty(3).bernoulli_(1.0)
        tensor([1., 1., 1.])
    """
    probs = _value_array(p, "bernoulli_", "p")
    if np.any((probs < 0) | (probs > 1)) or np.any(np.isnan(probs)):
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    try:
        probs = np.broadcast_to(probs, self._data.shape)
    except ValueError:
        raise RuntimeError(
            f"bernoulli_: p of shape {probs.shape} cannot be broadcast to {tuple(self.shape)}"
        ) from None
    rng = _gen(generator)
    return _fill_random(self, "bernoulli", lambda s, d: rng.random(s) < probs)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with exponential samples of rate ``lambd``.

    Example:
        >>> import ember
        >>> bool((ember.empty(10).exponential_(2.0) >= 0).all())
        True
    """
    _require_float(self, "exponential")
    lambd = float(lambd)
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    rng = _gen(generator)

    def draw(shape, d):
        cd = _compute_dtype(d)
        return rng.standard_exponential(shape, dtype=cd.np) / cd.np.type(lambd)

    return _fill_random(self, "exponential", draw)


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill in place with geometric samples (trials until the first success, >= 1).

    Example:
        >>> import ember
        >>> ember.empty(3).geometric_(1.0)
        tensor([1., 1., 1.])
    """
    p = float(p)
    if not 0 < p <= 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1], but got p={p}")
    rng = _gen(generator)
    return _fill_random(self, "geometric", lambda s, d: rng.geometric(p, s))


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill in place with Cauchy samples.

    Example:
        >>> import ember
        >>> ember.empty(4).cauchy_().shape
        ember.Size([4])
    """
    _require_float(self, "cauchy")
    rng = _gen(generator)
    return _fill_random(
        self, "cauchy", lambda s, d: float(median) + float(sigma) * rng.standard_cauchy(s)
    )


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill in place with samples whose logarithm is normal(mean, std).

    Example:
        >>> import ember
        >>> bool((ember.empty(5).log_normal_() > 0).all())
        True
    """
    _require_float(self, "log_normal")
    if not float(std) > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    rng = _gen(generator)
    return _fill_random(self, "log_normal", lambda s, d: rng.lognormal(float(mean), float(std), s))


def _no_extra(kw: dict, op: str) -> None:
    if kw:
        raise TypeError(f"{op}() got unexpected keyword arguments {sorted(kw)}")


def _bernoulli_method(self: Tensor, p=None, *, generator=None) -> Tensor:
    return bernoulli(self, p, generator=generator)


def _multinomial_method(
    self: Tensor, num_samples: int, replacement: bool = False, *, generator=None
) -> Tensor:
    return multinomial(self, num_samples, replacement, generator=generator)


_bernoulli_method.__doc__ = bernoulli.__doc__
_multinomial_method.__doc__ = multinomial.__doc__

for _name, _fn in (
    ("uniform_", uniform_),
    ("normal_", normal_),
    ("random_", random_),
    ("bernoulli_", bernoulli_),
    ("exponential_", exponential_),
    ("geometric_", geometric_),
    ("cauchy_", cauchy_),
    ("log_normal_", log_normal_),
    ("bernoulli", _bernoulli_method),
    ("multinomial", _multinomial_method),
):
    setattr(Tensor, _name, _fn)
