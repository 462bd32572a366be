"""Shape and view primitives (reshape, expand, permute, slice...) and composites on them.

View primitives return NumPy views: the result shares memory and the version counter with
its base, and in-place writes through a view reach the base, as in PyTorch.

Example:
    >>> import ember
    >>> x = ember.arange(6).reshape(2, 3)
    >>> x.t().shape
    ember.Size([3, 2])
"""

from __future__ import annotations

import builtins

import numpy as np

from .. import _dispatch
from .. import dtypes as _dt
from .._dispatch import apply, apply_inplace
from ..registry import ShapeError, Spec, primitive
from ..tensor import Tensor, tensor_method
from ._helpers import broadcast_shapes as _broadcast_shapes
from ._helpers import promote, sum_to_shape, to_tensor, wrap_dim

__all__ = [
    "reshape",
    "view",
    "expand",
    "permute",
    "clone",
    "contiguous",
    "copy_",
    "view_as",
    "reshape_as",
    "expand_as",
    "broadcast_to",
    "broadcast_tensors",
    "broadcast_shapes",
    "transpose",
    "swapaxes",
    "swapdims",
    "t",
    "movedim",
    "moveaxis",
    "squeeze",
    "unsqueeze",
    "flatten",
    "unflatten",
    "ravel",
    "narrow",
    "select",
    "chunk",
    "split",
    "tensor_split",
    "unbind",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "repeat",
    "tile",
    "repeat_interleave",
    "tril",
    "triu",
    "diagonal",
    "diag",
    "diag_embed",
    "cat",
    "concat",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "pad",
    "resize_",
    "unfold",
]


def _infer_shape(op: str, shape, numel: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred, got shape {list(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ShapeError(f"{op}: invalid shape dimension {s} in {list(shape)}")
            known *= s
    if unknown:
        if known == 0 or numel % known:
            raise ShapeError(f"{op}: shape {list(shape)} is invalid for input of size {numel}")
        shape = shape[: unknown[0]] + (numel // known,) + shape[unknown[0] + 1 :]
    elif known != numel:
        raise ShapeError(f"{op}: shape {list(shape)} is invalid for input of size {numel}")
    return shape


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _reshape_rule(x: Spec, *, shape) -> Spec:
    return Spec(_infer_shape("reshape", shape, _numel(x.shape)), x.dtype)


@primitive("reshape", _reshape_rule, is_view=True)
def _reshape(x, *, shape):
    """Same data, new shape (a view when the memory layout allows)."""
    return x.reshape(shape)


@_reshape.defvjp
def _(ctx, g):
    return (reshape(g, ctx.in_meta[0][0]),)


def _flat_shape_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


@tensor_method()
def reshape(input: Tensor, *shape) -> Tensor:
    """Return the data with a new shape; one dimension may be -1.

    Example:
        >>> import ember
        >>> ember.arange(6).reshape(3, -1).shape
        ember.Size([3, 2])
    """
    x = to_tensor(input)
    target = _infer_shape("reshape", _flat_shape_args(shape), x._data.size)
    if target == x._data.shape:
        return apply(_reshape, x, shape=target) if x._requires_grad else _alias(x)
    return apply(_reshape, x, shape=target)


def _alias(x: Tensor) -> Tensor:
    return apply(_reshape, x, shape=tuple(x._data.shape))


@tensor_method()
def view(input: Tensor, *shape) -> Tensor:
    """Like ``reshape`` but never copies; a dtype argument reinterprets the bytes.

    Example:
        >>> import ember
        >>> ember.zeros(4).view(2, 2).shape
        ember.Size([2, 2])
    """
    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        return Tensor._wrap(input._data.view(shape[0].np))
    out = reshape(input, *shape)
    if out._data.size and not np.shares_memory(out._data, input._data):
        raise RuntimeError(
            f"view: size {list(out.shape)} is not compatible with input tensor's size and stride "
            f"{list(input.shape)} (at least one dimension spans across two contiguous subspaces). "
            "Use .reshape(...) instead."
        )
    return out


def _expand_rule(x: Spec, *, shape) -> Spec:
    return Spec(_expand_shape(x.shape, shape), x.dtype)


def _expand_shape(src: tuple, shape: tuple) -> tuple:
    shape = tuple(int(s) for s in shape)
    if len(shape) < len(src):
        raise ShapeError(
            f"expand: the number of sizes provided ({len(shape)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(src)})"
        )
    lead = len(shape) - len(src)
    out = list(shape)
    for i, s in enumerate(src):
        want = shape[lead + i]
        if want == -1:
            out[lead + i] = s
        elif s != want and s != 1:
            raise ShapeError(
                f"expand: the expanded size of the tensor ({want}) must match the existing size "
                f"({s}) at non-singleton dimension {lead + i}. Target sizes: {list(shape)}. "
                f"Tensor sizes: {list(src)}"
            )
    if any(s < 0 for s in out[:lead]):
        raise ShapeError(
            f"expand: -1 is not allowed in a leading, non-existing dimension {list(shape)}"
        )
    return tuple(out)


@primitive("expand", _expand_rule, is_view=True)
def _expand(x, *, shape):
    """Broadcast to a larger shape without copying (read-only view)."""
    if not x.flags.c_contiguous or not x.size:
        return np.broadcast_to(x, shape)
    # np.broadcast_to costs ~7 us in Python; building the zero-stride view directly ~1 us
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError("cannot broadcast to fewer dimensions")
    strides = [0] * lead
    for n, want, st in zip(x.shape, shape[lead:], x.strides):
        if n == want:
            strides.append(st)
        elif n == 1:
            strides.append(0)
        else:
            raise ValueError("shape mismatch")  # the rule's message names both shapes
    out = np.ndarray(shape, x.dtype, x, 0, tuple(strides))
    out.flags.writeable = False
    return out


@_expand.defvjp
def _(ctx, g):
    return (sum_to_shape(g, ctx.in_meta[0][0]),)


@tensor_method()
def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast singleton dimensions to ``sizes`` (-1 keeps a size) without copying."""
    x = to_tensor(input)
    shape = _expand_shape(x._data.shape, _flat_shape_args(sizes))
    if shape == x._data.shape:
        return x
    return apply(_expand, x, shape=shape)


def _permute_rule(x: Spec, *, dims) -> Spec:
    if sorted(dims) != list(range(len(x.shape))):
        raise ShapeError(
            f"permute: dims {list(dims)} are not a permutation of the {len(x.shape)} dimensions "
            f"of a tensor of shape {tuple(x.shape)}"
        )
    return Spec(tuple(x.shape[d] for d in dims), x.dtype)


@primitive("permute", _permute_rule, is_view=True)
def _permute(x, *, dims):
    """Reorder the axes (a view)."""
    return np.transpose(x, dims)


@_permute.defvjp
def _(ctx, g):
    inv = tuple(np.argsort(ctx.attrs["dims"]).tolist())
    return (permute(g, inv),)


@tensor_method()
def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dimensions: ``x.permute(2, 0, 1)``."""
    x = to_tensor(input)
    dims = _flat_shape_args(dims)
    nd = x._data.ndim
    dims = tuple(wrap_dim("permute", d, nd) for d in dims)
    _permute_rule(Spec(x._data.shape, None), dims=dims)
    return apply(_permute, x, dims=dims)


def _copy_rule(x: Spec) -> Spec:
    return x


@primitive("clone", _copy_rule)
def _clone(x):
    """A copy of the data in new memory."""
    return x.copy()


@_clone.defvjp
def _(ctx, g):
    return (g,)


@tensor_method()
def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own memory; gradients flow back to ``input``."""
    return apply(_clone, to_tensor(input))


@tensor_method()
def contiguous(input: Tensor, memory_format=None) -> Tensor:
    """``input`` if already C-contiguous, else a contiguous copy."""
    if input._data.flags.c_contiguous:
        return input
    return clone(input)


def _copy_value(dst: Tensor, src) -> Tensor:
    src = to_tensor(src)
    if src._data.dtype != dst._data.dtype:
        from .elementwise import cast

        src = cast(src, dst.dtype)
    return expand(src, tuple(dst._data.shape)) if src._data.shape != dst._data.shape else src


@tensor_method()
def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast) into ``self`` in place; autograd tracks it."""
    src = to_tensor(src)
    try:
        np.broadcast_shapes(src._data.shape, self._data.shape)
        np.broadcast_to(np.empty(src._data.shape, np.bool_), self._data.shape)
    except ValueError:
        raise RuntimeError(
            f"copy_: the source of shape {tuple(src.shape)} cannot be broadcast to the "
            f"destination shape {tuple(self.shape)}"
        ) from None
    return apply_inplace(self, _copied, src)


def _copied(dst: Tensor, src: Tensor) -> Tensor:
    return clone(_copy_value(dst, src))


# ---------------------------------------------------------------------------------------------
# aliases of reshape / expand / permute
# ---------------------------------------------------------------------------------------------
@tensor_method()
def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.view(other.shape)``.

    Example:
        >>> import ember
        >>> ember.zeros(6).view_as(ember.zeros(2, 3)).shape
        ember.Size([2, 3])
    """
    return view(input, tuple(other.shape))


@tensor_method()
def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.reshape(other.shape)``.

    Example:
        >>> import ember
        >>> ember.zeros(6).reshape_as(ember.zeros(3, 2)).shape
        ember.Size([3, 2])
    """
    return reshape(input, tuple(other.shape))


@tensor_method()
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.shape)``.

    Example:
        >>> import ember
        >>> ember.zeros(3).expand_as(ember.zeros(2, 3)).shape
        ember.Size([2, 3])
    """
    return expand(input, tuple(other.shape))


@tensor_method()
def broadcast_to(input: Tensor, shape) -> Tensor:
    """Broadcast ``input`` to ``shape`` without copying (same as ``expand``).

    Example:
        >>> import ember
        >>> ember.broadcast_to(ember.tensor([1, 2]), (3, 2)).shape
        ember.Size([3, 2])
    """
    return expand(input, tuple(shape))


def broadcast_shapes(*shapes):
    """The shape that ``shapes`` broadcast to, as an ``ember.Size``.

    Example:
        >>> import ember
        >>> ember.broadcast_shapes((2, 1), (3,))
        ember.Size([2, 3])
    """
    from ..tensor import Size

    shapes = [(s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes]
    return Size(_broadcast_shapes("broadcast_shapes", *shapes))


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """Expand every tensor to their common broadcast shape (views).

    Example:
        >>> import ember
        >>> a, b = ember.broadcast_tensors(ember.zeros(2, 1), ember.zeros(3))
        >>> a.shape, b.shape
        (ember.Size([2, 3]), ember.Size([2, 3]))
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = [to_tensor(t) for t in tensors]
    shape = _broadcast_shapes("broadcast_tensors", *[t._data.shape for t in ts])
    return tuple(expand(t, shape) for t in ts)


@tensor_method("transpose", "swapaxes", "swapdims")
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions (a view).

    Example:
        >>> import ember
        >>> ember.zeros(2, 3, 4).transpose(0, 2).shape
        ember.Size([4, 3, 2])
    """
    x = to_tensor(input)
    nd = x._data.ndim
    d0, d1 = wrap_dim("transpose", dim0, nd), wrap_dim("transpose", dim1, nd)
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return apply(_permute, x, dims=tuple(dims))


swapaxes = swapdims = transpose


@tensor_method()
def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions (0-D and 1-D are returned as they are).

    Example:
        >>> import ember
        >>> ember.zeros(2, 3).t().shape
        ember.Size([3, 2])
    """
    x = to_tensor(input)
    if x._data.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {x._data.ndim}D"
        )
    return apply(_permute, x, dims=tuple(range(x._data.ndim))[::-1])


def _T(self) -> Tensor:
    """All dimensions reversed (``x.permute(n-1, ..., 0)``)."""
    return apply(_permute, self, dims=tuple(range(self._data.ndim))[::-1])


def _mT(self) -> Tensor:
    """The last two dimensions swapped (batched matrix transpose)."""
    if self._data.ndim < 2:
        raise RuntimeError(
            "tensor.mT is only supported on matrices or batches of matrices. "
            f"Got {self._data.ndim}-D tensor."
        )
    return transpose(self, -2, -1)


Tensor.T = property(_T)
Tensor.mT = property(_mT)
Tensor.H = property(_T)
Tensor.mH = property(_mT)


def _dims_tuple(op: str, dims, ndim: int) -> tuple:
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    out = tuple(wrap_dim(op, d, ndim) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: repeated dim in {list(dims)}")
    return out


@tensor_method("movedim", "moveaxis")
def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dimensions ``source`` to positions ``destination`` (ints or tuples).

    Example:
        >>> import ember
        >>> ember.zeros(2, 3, 4).movedim(0, -1).shape
        ember.Size([3, 4, 2])
    """
    x = to_tensor(input)
    nd = x._data.ndim
    src = _dims_tuple("movedim", source, nd)
    dst = _dims_tuple("movedim", destination, nd)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return apply(_permute, x, dims=tuple(order))


moveaxis = movedim


# ---------------------------------------------------------------------------------------------
# squeeze / unsqueeze / flatten (reshapes that stay views)
# ---------------------------------------------------------------------------------------------
@tensor_method()
def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove size-1 dimensions (all, or those in ``dim``; other sizes are left alone).

    Example:
        >>> import ember
        >>> ember.zeros(2, 1, 3, 1).squeeze(1).shape
        ember.Size([2, 3, 1])
    """
    x = to_tensor(input)
    shape = x._data.shape
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        dims = _dims_tuple("squeeze", dim, len(shape))
        dims = tuple(d for d in dims if len(shape) and shape[d] == 1)
    return apply(_reshape, x, shape=tuple(s for i, s in enumerate(shape) if i not in dims))


@tensor_method()
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (``-1`` appends).

    Example:
        >>> import ember
        >>> ember.zeros(2, 3).unsqueeze(1).shape
        ember.Size([2, 1, 3])
    """
    x = to_tensor(input)
    shape = x._data.shape
    d = wrap_dim("unsqueeze", dim, len(shape) + 1)
    return apply(_reshape, x, shape=shape[:d] + (1,) + shape[d:])


@tensor_method()
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one (0-D becomes 1-D).

    Example:
        >>> import ember
        >>> ember.zeros(2, 3, 4).flatten(1).shape
        ember.Size([2, 12])
    """
    x = to_tensor(input)
    shape = x._data.shape
    if not shape:
        return apply(_reshape, x, shape=(1,))
    s = wrap_dim("flatten", start_dim, len(shape))
    e = wrap_dim("flatten", end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return x
    return reshape(x, shape[:s] + (_numel(shape[s : e + 1]),) + shape[e + 1 :])


@tensor_method()
def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one entry may be -1).

    Example:
        >>> import ember
        >>> ember.zeros(2, 12).unflatten(1, (3, -1)).shape
        ember.Size([2, 3, 4])
    """
    x = to_tensor(input)
    shape = x._data.shape
    d = wrap_dim("unflatten", dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = _infer_shape("unflatten", sizes, shape[d])
    except ShapeError:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
            f"({shape[d]}) in the input tensor"
        ) from None
    return reshape(x, shape[:d] + sizes + shape[d + 1 :])


@tensor_method()
def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view when the memory allows).

    Example:
        >>> import ember
        >>> ember.zeros(2, 3).ravel().shape
        ember.Size([6])
    """
    return reshape(input, -1)


# ---------------------------------------------------------------------------------------------
# slice: basic indexing as a view primitive
# ---------------------------------------------------------------------------------------------
def _slice_shape(shape: tuple, key: tuple, op: str = "slice") -> tuple:
    out = []
    d = 0
    for k in key:
        if k is None:
            out.append(1)
            continue
        if d >= len(shape):
            raise IndexError(f"{op}: too many indices for tensor of dimension {len(shape)}")
        n = shape[d]
        if isinstance(k, slice):
            if k.step is not None and k.step <= 0:
                raise ValueError(f"{op}: step must be greater than zero")
            out.append(len(range(*k.indices(n))))
        elif not -n <= k < n:
            raise IndexError(f"index {k} is out of bounds for dimension {d} with size {n}")
        d += 1
    return tuple(out) + tuple(shape[d:])


def _slice_rule(x: Spec, *, key) -> Spec:
    return Spec(_slice_shape(tuple(x.shape), key), x.dtype)


@primitive("slice", _slice_rule, is_view=True)
def _slice(x, *, key):
    """Basic indexing (ints, positive-step slices, None) over the leading dims: a view."""
    return x[key + (Ellipsis,)]


def _scatter_vjp(prim):
    """vjp of a view primitive: the gradient of the view placed into zeros of the input's shape."""

    def vjp(ctx, g):
        from .creation import zeros
        from .view_scatter import view_scatter

        shape = ctx.in_meta[0][0]
        if _dispatch.is_traced():
            base = zeros(shape, dtype=g.dtype)
        else:  # a read-only broadcast zero: view_scatter's copy of it is the only fill pass
            base = Tensor._wrap(np.broadcast_to(np.zeros((), g._data.dtype), shape))
        return (view_scatter(base, g, ((prim, ctx.attrs),)),)

    prim.defvjp(vjp)


_scatter_vjp(_slice)


def _dim_key(dim: int, k) -> tuple:
    return (slice(None),) * dim + (k,)


@tensor_method()
def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """``length`` elements of dimension ``dim`` from ``start`` (a view).

    Example:
        >>> import ember
        >>> ember.arange(6).narrow(0, 1, 3)
        tensor([1, 2, 3])
    """
    x = to_tensor(input)
    shape = x._data.shape
    d = wrap_dim("narrow", dim, len(shape))
    n = shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(
            f"narrow: start ({start}) out of range for dimension {d} of size {n} "
            f"(expected to be in range of [{-n}, {n}])"
        )
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})."
        )
    return apply(_slice, x, key=_dim_key(d, slice(start, start + length, 1)))


@tensor_method()
def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` of dimension ``dim``, with that dimension removed (a view).

    Example:
        >>> import ember
        >>> ember.arange(6).reshape(2, 3).select(1, 0)
        tensor([0, 3])
    """
    x = to_tensor(input)
    shape = x._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim("select", dim, len(shape))
    index = int(index)
    if not -shape[d] <= index < shape[d]:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(shape)} at "
            f"dimension {d}"
        )
    return apply(_slice, x, key=_dim_key(d, index % shape[d]))


def _split_at(x: Tensor, d: int, sizes) -> tuple:
    out, start = [], 0
    for s in sizes:
        out.append(apply(_slice, x, key=_dim_key(d, slice(start, start + s, 1))))
        start += s
    return tuple(out)


@tensor_method()
def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into chunks of ``split_size`` (the last may be smaller) or of the listed sizes.

    Example:
        >>> import ember
        >>> [p.tolist() for p in ember.arange(5).split(2)]
        [[0, 1], [2, 3], [4]]
    """
    x = to_tensor(tensor)
    shape = x._data.shape
    d = wrap_dim("split", dim, len(shape))
    n = shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n):
            raise RuntimeError(
                f"split: split_size can only be 0 if dimension size is 0, got {size}"
            )
        if n == 0:
            return (x,)
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or builtins.sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {d}), but got split_sizes={sizes}"
            )
    return _split_at(x, d, sizes)


@tensor_method()
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of ``ceil(size / chunks)`` (possibly fewer pieces).

    Example:
        >>> import ember
        >>> [p.tolist() for p in ember.arange(5).chunk(3)]
        [[0, 1], [2, 3], [4]]
    """
    chunks = int(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    x = to_tensor(input)
    d = wrap_dim("chunk", dim, x._data.ndim)
    n = x._data.shape[d]
    size = max(-(-n // chunks), 1)
    return split(x, size, d)


@tensor_method()
def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into ``n`` near-equal sections, or at the listed indices (like ``np.array_split``).

    Example:
        >>> import ember
        >>> [p.tolist() for p in ember.arange(5).tensor_split(3)]
        [[0, 1], [2, 3], [4]]
    """
    x = to_tensor(input)
    d = wrap_dim("tensor_split", dim, x._data.ndim)
    n = x._data.shape[d]
    if isinstance(indices_or_sections, Tensor) and indices_or_sections.ndim == 0:
        indices_or_sections = int(indices_or_sections)
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        return _split_at(x, d, sizes)
    bounds = [int(i) for i in indices_or_sections]
    out, prev = [], 0
    for b in bounds + [n]:
        b = min(max(b + n if b < 0 else b, 0), n)
        lo = min(prev, b)
        out.append(apply(_slice, x, key=_dim_key(d, slice(lo, b, 1))))
        prev = max(prev, b)
    return tuple(out)


@tensor_method()
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """All slices along ``dim`` as a tuple of views.

    Example:
        >>> import ember
        >>> [r.tolist() for r in ember.arange(4).reshape(2, 2).unbind()]
        [[0, 1], [2, 3]]
    """
    x = to_tensor(input)
    if not x._data.ndim:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim("unbind", dim, x._data.ndim)
    return tuple(apply(_slice, x, key=_dim_key(d, i)) for i in range(x._data.shape[d]))


# ---------------------------------------------------------------------------------------------
# diagonal / diag_embed / diag / tril / triu
# ---------------------------------------------------------------------------------------------
def _diag_dims(op: str, ndim: int, dim1: int, dim2: int) -> tuple:
    d1, d2 = wrap_dim(op, dim1, ndim), wrap_dim(op, dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"{op}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def _diag_len(n1: int, n2: int, offset: int) -> int:
    if offset >= 0:
        return max(min(n1, n2 - offset), 0)
    return max(min(n1 + offset, n2), 0)


def _diagonal_rule(x: Spec, *, offset, dim1, dim2) -> Spec:
    if len(x.shape) < 2:
        raise ShapeError(
            f"diagonal: expected a tensor with at least 2 dimensions, got shape {x.shape}"
        )
    rest = tuple(s for i, s in enumerate(x.shape) if i not in (dim1, dim2))
    return Spec(rest + (_diag_len(x.shape[dim1], x.shape[dim2], offset),), x.dtype)


def _np_diagonal(x, offset, dim1, dim2):
    out = np.diagonal(x, offset, dim1, dim2)
    if x.flags.writeable:
        out.flags.writeable = True  # NumPy marks it read-only; the memory is x's and writable
    return out


@primitive("diagonal", _diagonal_rule, is_view=True)
def _diagonal(x, *, offset, dim1, dim2):
    """The diagonal over ``dim1``/``dim2`` as the last dimension (a writable view)."""
    return _np_diagonal(x, offset, dim1, dim2)


_scatter_vjp(_diagonal)


@tensor_method()
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the ``dim1``/``dim2`` planes, appended as the last dimension (a view).

    Example:
        >>> import ember
        >>> ember.arange(9).reshape(3, 3).diagonal(1)
        tensor([1, 5])
    """
    x = to_tensor(input)
    if x._data.ndim < 2:
        raise RuntimeError(
            f"diagonal: expected a tensor with at least 2 dimensions, got {x._data.ndim}"
        )
    d1, d2 = _diag_dims("diagonal", x._data.ndim, dim1, dim2)
    return apply(_diagonal, x, offset=int(offset), dim1=d1, dim2=d2)


def _diag_embed_rule(x: Spec, *, offset, dim1, dim2) -> Spec:
    if not x.shape:
        raise ShapeError("diag_embed: expected a tensor with at least 1 dimension")
    m = x.shape[-1] + abs(offset)
    out = list(x.shape[:-1])
    for d in sorted((dim1, dim2)):
        out.insert(d, m)
    return Spec(tuple(out), x.dtype)


@primitive("diag_embed", _diag_embed_rule)
def _diag_embed(x, *, offset, dim1, dim2):
    """Zeros with the last dimension of ``x`` written on the ``dim1``/``dim2`` diagonals."""
    m = x.shape[-1] + abs(offset)
    shape = list(x.shape[:-1])
    for d in sorted((dim1, dim2)):
        shape.insert(d, m)
    out = np.zeros(shape, x.dtype)
    _np_diagonal(out, offset, dim1, dim2)[...] = x
    return out


@_diag_embed.defvjp
def _(ctx, g):
    a = ctx.attrs
    return (apply(_diagonal, g, offset=a["offset"], dim1=a["dim1"], dim2=a["dim2"]),)


@tensor_method()
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices whose ``offset`` diagonals (over ``dim1``/``dim2``) hold the last dim of ``input``.

    Example:
        >>> import ember
        >>> ember.diag_embed(ember.tensor([1, 2]))
        tensor([[1, 0],
                [0, 2]])
    """
    x = to_tensor(input)
    if x._data.ndim < 1:
        raise RuntimeError("diag_embed: expected a tensor with at least 1 dimension")
    d1, d2 = _diag_dims("diag_embed", x._data.ndim + 1, dim1, dim2)
    return apply(_diag_embed, x, offset=int(offset), dim1=d1, dim2=d2)


@tensor_method()
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-D input: a square matrix with it on a diagonal; 2-D input: a copy of a diagonal.

    Example:
        >>> import ember
        >>> ember.diag(ember.tensor([[1, 2], [3, 4]]))
        tensor([1, 4])
    """
    x = to_tensor(input)
    if x._data.ndim == 1:
        return apply(_diag_embed, x, offset=int(diagonal), dim1=0, dim2=1)
    if x._data.ndim == 2:
        return clone(apply(_diagonal, x, offset=int(diagonal), dim1=0, dim2=1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x._data.ndim}D")


def _tri_rule(name):
    def rule(x: Spec, *, diagonal) -> Spec:
        if len(x.shape) < 2:
            raise ShapeError(
                f"{name}: input tensor must have at least 2 dimensions, got shape {tuple(x.shape)}"
            )
        return x

    return rule


@primitive("tril", _tri_rule("tril"))
def _tril(x, *, diagonal):
    """Zero the elements above the ``diagonal``-th diagonal of the last two dims."""
    if x.ndim < 2:
        raise ValueError("tril needs a matrix")
    return np.tril(x, diagonal)


@primitive("triu", _tri_rule("triu"))
def _triu(x, *, diagonal):
    """Zero the elements below the ``diagonal``-th diagonal of the last two dims."""
    if x.ndim < 2:
        raise ValueError("triu needs a matrix")
    return np.triu(x, diagonal)


@_tril.defvjp
def _(ctx, g):
    return (apply(_tril, g, diagonal=ctx.attrs["diagonal"]),)


@_triu.defvjp
def _(ctx, g):
    return (apply(_triu, g, diagonal=ctx.attrs["diagonal"]),)


@tensor_method()
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims (elements above ``diagonal`` zeroed).

    Example:
        >>> import ember
        >>> ember.tril(ember.ones(2, 2, dtype=ember.int64))
        tensor([[1, 0],
                [1, 1]])
    """
    return apply(_tril, to_tensor(input), diagonal=int(diagonal))


@tensor_method()
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims (elements below ``diagonal`` zeroed).

    Example:
        >>> import ember
        >>> ember.triu(ember.ones(2, 2, dtype=ember.int64))
        tensor([[1, 1],
                [0, 1]])
    """
    return apply(_triu, to_tensor(input), diagonal=int(diagonal))


# ---------------------------------------------------------------------------------------------
# flip / roll / repeat / tile / repeat_interleave
# ---------------------------------------------------------------------------------------------
@primitive("flip", lambda x, *, dims: x)
def _flip(x, *, dims):
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""
    return np.flip(x, dims).copy()


@_flip.defvjp
def _(ctx, g):
    return (apply(_flip, g, dims=ctx.attrs["dims"]),)


@tensor_method()
def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (returns a copy).

    Example:
        >>> import ember
        >>> ember.arange(3).flip(0)
        tensor([2, 1, 0])
    """
    x = to_tensor(input)
    return apply(_flip, x, dims=_dims_tuple("flip", dims, x._data.ndim))


@tensor_method()
def fliplr(input: Tensor) -> Tensor:
    """Flip dimension 1 (left/right); needs at least 2 dimensions.

    Example:
        >>> import ember
        >>> ember.tensor([[1, 2]]).fliplr()
        tensor([[2, 1]])
    """
    x = to_tensor(input)
    if x._data.ndim < 2:
        raise RuntimeError("fliplr: Input must be >= 2-d.")
    return flip(x, (1,))


@tensor_method()
def flipud(input: Tensor) -> Tensor:
    """Flip dimension 0 (up/down); needs at least 1 dimension.

    Example:
        >>> import ember
        >>> ember.tensor([[1], [2]]).flipud()
        tensor([[2],
                [1]])
    """
    x = to_tensor(input)
    if x._data.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d.")
    return flip(x, (0,))


@primitive("roll", lambda x, *, shifts, dims: x)
def _roll(x, *, shifts, dims):
    """Rotate elements along ``dims`` by ``shifts`` (a copy)."""
    return np.roll(x, shifts, dims)


@_roll.defvjp
def _(ctx, g):
    a = ctx.attrs
    return (apply(_roll, g, shifts=tuple(-s for s in a["shifts"]), dims=a["dims"]),)


@tensor_method()
def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Rotate elements along ``dims`` by ``shifts``; without ``dims`` the flattened tensor.

    Example:
        >>> import ember
        >>> ember.arange(4).roll(1)
        tensor([3, 0, 1, 2])
    """
    x = to_tensor(input)
    shifts = (
        (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
    )
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(
                f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: 0"
            )
        flat = reshape(x, -1)
        return reshape(apply(_roll, flat, shifts=shifts, dims=(0,)), tuple(x._data.shape))
    dims = (int(dims),) if isinstance(dims, (int, np.integer)) else tuple(int(d) for d in dims)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: {len(dims)}"
        )
    dims = tuple(wrap_dim("roll", d, x._data.ndim) for d in dims)
    return apply(_roll, x, shifts=shifts, dims=dims)


def _owned(out: Tensor, src: Tensor) -> Tensor:
    """``out`` itself, or a copy when it still shares memory with ``src``."""
    if out._data.size and np.shares_memory(out._data, src._data):
        return clone(out)
    return out


@tensor_method()
def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dimension (a copy).

    Example:
        >>> import ember
        >>> ember.tensor([1, 2]).repeat(2)
        tensor([1, 2, 1, 2])
    """
    x = to_tensor(input)
    reps = tuple(int(r) for r in _flat_shape_args(sizes))
    nd = x._data.ndim
    if len(reps) < nd:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
            "tensor"
        )
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat: repeats can not be negative, got {list(reps)}")
    shape = (1,) * (len(reps) - nd) + tuple(x._data.shape)
    inter = tuple(v for s in shape for v in (1, s))
    big = tuple(v for r, s in zip(reps, shape) for v in (r, s))
    y = expand(reshape(x, inter), big)
    return _owned(reshape(y, tuple(r * s for r, s in zip(reps, shape))), x)


@tensor_method()
def tile(input: Tensor, dims) -> Tensor:
    """Like ``repeat``; fewer ``dims`` than dimensions are padded with leading 1s.

    Example:
        >>> import ember
        >>> ember.tensor([[1, 2]]).tile((2,)).shape
        ember.Size([1, 4])
    """
    x = to_tensor(input)
    dims = (int(dims),) if isinstance(dims, (int, np.integer)) else tuple(int(d) for d in dims)
    dims = (1,) * (x._data.ndim - len(dims)) + dims
    return repeat(x, dims)


@tensor_method()
def repeat_interleave(input: Tensor, repeats, dim: int | None = None, *, output_size=None):
    """Repeat each element ``repeats`` times along ``dim`` (flattened when ``dim`` is None).

    Example:
        >>> import ember
        >>> ember.tensor([1, 2]).repeat_interleave(2)
        tensor([1, 1, 2, 2])
    """
    x = to_tensor(input)
    if dim is None:
        x, d = reshape(x, -1), 0
    else:
        d = wrap_dim("repeat_interleave", dim, x._data.ndim)
    shape = tuple(x._data.shape)
    if isinstance(repeats, Tensor) and repeats.ndim == 0:
        repeats = int(repeats)
    if isinstance(repeats, (int, np.integer)):
        r = int(repeats)
        if r < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        y = expand(unsqueeze(x, d + 1), shape[: d + 1] + (r,) + shape[d + 1 :])
        return _owned(reshape(y, shape[:d] + (shape[d] * r,) + shape[d + 1 :]), x)
    reps = np.asarray(repeats._data if isinstance(repeats, Tensor) else repeats).reshape(-1)
    if reps.size not in (1, shape[d]):
        raise RuntimeError(
            f"repeat_interleave: repeats must have the same size as input along dim, but got "
            f"repeats.size(0) = {reps.size} and input.size({d}) = {shape[d]}"
        )
    if np.any(reps < 0):
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    idx = np.repeat(np.arange(shape[d]), np.broadcast_to(reps, (shape[d],)))
    from .indexing import index_select

    return index_select(x, d, Tensor._wrap(idx.astype(np.int64)))


# ---------------------------------------------------------------------------------------------
# cat / stack
# ---------------------------------------------------------------------------------------------
def _legacy_empty(shape) -> bool:
    return tuple(shape) == (0,)


def _cat_rule(*xs: Spec, dim) -> Spec:
    for s in xs:
        if s.dtype is not xs[0].dtype:
            raise TypeError(f"cat: expected tensors of one dtype, got {xs[0].dtype} and {s.dtype}")
    kept = [(k, s) for k, s in enumerate(xs) if not _legacy_empty(s.shape)]
    if not kept:
        return Spec((0,), xs[0].dtype)
    first = kept[0][1]
    for k, s in kept:
        if len(s.shape) != len(first.shape):
            raise ShapeError(
                f"cat: Tensors must have same number of dimensions: got {len(first.shape)} and "
                f"{len(s.shape)} (shapes {tuple(first.shape)} and {tuple(s.shape)})"
            )
        for i, (a, b) in enumerate(zip(first.shape, s.shape)):
            if i != dim and a != b:
                raise ShapeError(
                    f"cat: Sizes of tensors must match except in dimension {dim}. Expected size "
                    f"{a} but got size {b} for tensor number {k} in the list (shapes "
                    f"{tuple(first.shape)} and {tuple(s.shape)})"
                )
    shape = list(first.shape)
    shape[dim] = builtins.sum(s.shape[dim] for _, s in kept)
    return Spec(tuple(shape), first.dtype)


@primitive("cat", _cat_rule)
def _cat(*xs, dim):
    """Join tensors along an existing dimension ``dim`` (legacy empty ``(0,)`` inputs skipped)."""
    kept = [x for x in xs if not _legacy_empty(x.shape)]
    if not kept:
        return np.zeros((0,), xs[0].dtype)
    return np.concatenate(kept, axis=dim)


@_cat.defvjp
def _(ctx, g):
    from .creation import zeros

    d = ctx.attrs["dim"]
    grads, start = [], 0
    for (shape, _), need in zip(ctx.in_meta, ctx.needs_input_grad):
        if _legacy_empty(shape):
            grads.append(zeros((0,), dtype=g.dtype) if need else None)
            continue
        n = shape[d]
        grads.append(
            apply(_slice, g, key=_dim_key(d, slice(start, start + n, 1))) if need else None
        )
        start += n
    return tuple(grads)


def _tensor_list(op: str, tensors) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' must be a sequence of Tensors, not Tensor")
    ts = [to_tensor(t) for t in tensors]
    if not ts:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    return ts


def cat(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate tensors along ``dim`` (dtypes are promoted; legacy empty 1-D inputs skipped).

    Example:
        >>> import ember
        >>> ember.cat([ember.zeros(2, 3), ember.ones(1, 3)]).shape
        ember.Size([3, 3])
    """
    ts = _tensor_list("cat", tensors)
    for k, t_ in enumerate(ts):
        if t_._data.ndim == 0:
            raise RuntimeError(
                f"cat: zero-dimensional tensor (at position {k}) cannot be concatenated"
            )
    (*ts,), _ = promote(*ts)
    kept = [t_ for t_ in ts if not _legacy_empty(t_._data.shape)]
    d = wrap_dim("cat", dim, kept[0]._data.ndim if kept else 1)
    return _finish_out(apply(_cat, *ts, dim=d), out)


concat = concatenate = cat


def _finish_out(result: Tensor, out: Tensor | None) -> Tensor:
    if out is None:
        return result
    if tuple(out.shape) != tuple(result.shape):
        resize_(out, tuple(result.shape))
    return copy_(out, result)


def stack(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join equally shaped tensors along a new dimension ``dim``.

    Example:
        >>> import ember
        >>> ember.stack([ember.zeros(2), ember.ones(2)], dim=1).shape
        ember.Size([2, 2])
    """
    ts = _tensor_list("stack", tensors)
    s0 = tuple(ts[0]._data.shape)
    for k, t_ in enumerate(ts):
        if tuple(t_._data.shape) != s0:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(s0)} at entry 0 and "
                f"{list(t_._data.shape)} at entry {k}"
            )
    d = wrap_dim("stack", dim, len(s0) + 1)
    return cat([unsqueeze(t_, d) for t_ in ts], d, out=out)


@tensor_method()
def atleast_1d(*tensors):
    """View 0-D tensors as 1-D (others unchanged); a tuple for several inputs.

    Example:
        >>> import ember
        >>> ember.atleast_1d(ember.tensor(1.0)).shape
        ember.Size([1])
    """
    return _atleast(tensors, 1)


@tensor_method()
def atleast_2d(*tensors):
    """View tensors with fewer than 2 dims as 2-D (``(n,)`` becomes ``(1, n)``).

    Example:
        >>> import ember
        >>> ember.atleast_2d(ember.zeros(3)).shape
        ember.Size([1, 3])
    """
    return _atleast(tensors, 2)


@tensor_method()
def atleast_3d(*tensors):
    """View tensors with fewer than 3 dims as 3-D: ``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` ->
    ``(m, n, 1)``.

    Example:
        >>> import ember
        >>> ember.atleast_3d(ember.zeros(2, 3)).shape
        ember.Size([2, 3, 1])
    """
    return _atleast(tensors, 3)


def _atleast(tensors, n: int):
    single = len(tensors) == 1 and not isinstance(tensors[0], (list, tuple))
    items = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = []
    for t_ in items:
        x = to_tensor(t_)
        s = tuple(x._data.shape)
        if len(s) >= n:
            out.append(x)
            continue
        if n == 1:
            new = (1,)
        elif n == 2:
            new = (1,) * (2 - len(s)) + s
        else:
            new = {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}[len(s)]
        out.append(apply(_reshape, x, shape=new))
    return out[0] if single else tuple(out)


def hstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D tensors).

    Example:
        >>> import ember
        >>> ember.hstack([ember.zeros(2), ember.ones(3)]).shape
        ember.Size([5])
    """
    ts = _atleast(tuple(_tensor_list("hstack", tensors)), 1)
    ts = ts if isinstance(ts, tuple) else (ts,)
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1, out=out)


def vstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along dim 0 after making every tensor at least 2-D.

    Example:
        >>> import ember
        >>> ember.vstack([ember.zeros(3), ember.ones(3)]).shape
        ember.Size([2, 3])
    """
    ts = _atleast(tuple(_tensor_list("vstack", tensors)), 2)
    return cat(ts if isinstance(ts, tuple) else (ts,), 0, out=out)


def dstack(tensors, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along dim 2 after making every tensor at least 3-D.

    Example:
        >>> import ember
        >>> ember.dstack([ember.zeros(2, 3), ember.ones(2, 3)]).shape
        ember.Size([2, 3, 2])
    """
    ts = _atleast(tuple(_tensor_list("dstack", tensors)), 3)
    return cat(ts if isinstance(ts, tuple) else (ts,), 2, out=out)


# ---------------------------------------------------------------------------------------------
# pad
# ---------------------------------------------------------------------------------------------
def _pad_rule(x: Spec, *, widths, value) -> Spec:
    shape = []
    for d, (n, (lo, hi)) in enumerate(zip(x.shape, widths)):
        m = n + lo + hi
        if m < 0:
            raise ShapeError(
                f"pad: the padded size of dimension {d} (size {n}, padding ({lo}, {hi})) would be "
                f"{m}, which is negative"
            )
        shape.append(m)
    return Spec(tuple(shape), x.dtype)


@primitive("pad", _pad_rule)
def _pad(x, *, widths, value):
    """Constant padding; negative widths crop."""
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, widths))
    x = x[crop]
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    return np.pad(x, grow, mode="constant", constant_values=value)


@_pad.defvjp
def _(ctx, g):
    widths = tuple((-lo, -hi) for lo, hi in ctx.attrs["widths"])
    return (apply(_pad, g, widths=widths, value=0),)


def _pad_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    idx = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(idx, 0, n - 1)
    if mode == "circular":
        return idx % n
    period = 2 * (n - 1)
    m = np.abs(idx) % period if period else np.zeros_like(idx)
    return np.where(m >= n, period - m, m)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (last_lo, last_hi, 2nd_last_lo, ...)``.

    ``mode`` is ``"constant"`` (negative widths crop), ``"reflect"``, ``"replicate"`` or
    ``"circular"``, as in ``torch.nn.functional.pad``.

    Example:
        >>> import ember
        >>> pad(ember.tensor([[1, 2]]), (1, 1), value=9)
        tensor([[9, 1, 2, 9]])
        >>> pad(ember.tensor([[[1.0, 2.0, 3.0]]]), (2, 0), mode="reflect")
        tensor([[[3., 2., 1., 2., 3.]]])
    """
    x = to_tensor(input)
    pads = tuple(int(p) for p in pad)
    nd = x._data.ndim
    if len(pads) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(pads)}")
    k = len(pads) // 2
    if k > nd:
        raise RuntimeError(
            f"pad: Padding length should be at most twice the number of dimensions of the input "
            f"({nd}), got {len(pads)}"
        )
    widths = [(0, 0)] * nd
    for i in range(k):
        widths[nd - 1 - i] = (pads[2 * i], pads[2 * i + 1])
    if mode == "constant":
        v = 0 if value is None else value
        if x._data.dtype.kind in "iub":
            v = int(v) if x._data.dtype.kind != "b" else bool(v)
        else:
            v = float(v)
        return apply(_pad, x, widths=tuple(widths), value=v)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(
            f"pad: unknown padding mode {mode!r}; expected 'constant', 'reflect', 'replicate' or "
            "'circular'"
        )
    if value is not None and value != 0:
        raise RuntimeError(f"pad: padding mode {mode!r} doesn't take in value argument")
    if nd not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: {mode} padding of the last {k} dimension(s) expects a {k + 1}D or {k + 2}D "
            f"input, got a {nd}D input of shape {tuple(x.shape)}"
        )
    from .indexing import index_select

    out = x
    for d in range(nd - k, nd):
        lo, hi = widths[d]
        if lo == 0 and hi == 0:
            continue
        n = out._data.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"pad: Padding size should be less than the corresponding input dimension, but "
                f"got: padding ({lo}, {hi}) at dimension {d} of input {list(x.shape)}"
            )
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError(
                f"pad: Padding value causes wrapping around more than once (padding ({lo}, {hi}) "
                f"at dimension {d} of input {list(x.shape)})"
            )
        if mode == "replicate" and n == 0:
            raise RuntimeError(f"pad: replicate padding of an empty dimension {d}")
        idx = Tensor._wrap(_pad_index(n, lo, hi, mode).astype(np.int64))
        out = index_select(out, d, idx)
    return out


# ---------------------------------------------------------------------------------------------
# unfold (sliding windows, a read-only view) and resize_
# ---------------------------------------------------------------------------------------------
def _unfold_shape(shape: tuple, dim: int, size: int, step: int) -> tuple:
    n = shape[dim] if shape else 1
    if size > n:
        raise ShapeError(
            f"unfold: maximum size for tensor at dimension {dim} is {n} but size is {size}"
        )
    if step <= 0:
        raise ShapeError(f"unfold: step is {step} but must be > 0")
    if not shape:
        return (size,)
    out = list(shape)
    out[dim] = (n - size) // step + 1
    return tuple(out) + (size,)


def _unfold_rule(x: Spec, *, dim, size, step) -> Spec:
    return Spec(_unfold_shape(tuple(x.shape), dim, size, step), x.dtype)


@primitive("unfold", _unfold_rule, is_view=True)
def _unfold(x, *, dim, size, step):
    """All windows of ``size`` along ``dim`` with stride ``step`` (read-only, overlapping view)."""
    shape = _unfold_shape(x.shape, dim, size, step)
    if x.ndim == 0:
        return x.reshape(1)
    st = list(x.strides)
    strides = tuple(st[:dim] + [st[dim] * step] + st[dim + 1 :] + [st[dim]])
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def _unfold_backward_rule(g: Spec, *, shape, dim, size, step) -> Spec:
    return Spec(tuple(shape), g.dtype)


@primitive("unfold_backward", _unfold_backward_rule)
def _unfold_backward(g, *, shape, dim, size, step):
    """Sum the windows ``g`` (the output of ``unfold``) back into a tensor of ``shape``."""
    out = np.zeros(shape, g.dtype)
    if not shape:
        out[...] = g.sum()
        return out
    nwin = g.shape[dim]
    for j in range(size):
        sl = [slice(None)] * len(shape)
        sl[dim] = slice(j, j + step * (nwin - 1) + 1, step)
        out[tuple(sl)] += g[..., j]
    return out


@_unfold.defvjp
def _(ctx, g):
    a = ctx.attrs
    return (apply(_unfold_backward, g, shape=ctx.in_meta[0][0], **a),)


@_unfold_backward.defvjp
def _(ctx, g):
    a = ctx.attrs
    return (apply(_unfold, g, dim=a["dim"], size=a["size"], step=a["step"]),)


@tensor_method()
def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Sliding windows of ``size`` along ``dimension`` with stride ``step``, as a new last dim.

    Example:
        >>> import ember
        >>> ember.arange(5).unfold(0, 2, 2)
        tensor([[0, 1],
                [2, 3]])
    """
    x = to_tensor(input)
    d = wrap_dim("unfold", dimension, x._data.ndim)
    _unfold_shape(tuple(x._data.shape), d, int(size), int(step))
    return apply(_unfold, x, dim=d, size=int(size), step=int(step))


@tensor_method()
def resize_(self: Tensor, *sizes) -> Tensor:
    """Give ``self`` a new shape in place, keeping the leading elements (used by ``out=``).

    New elements (when the size grows) are zero. A tensor that requires grad can't be resized.

    Example:
        >>> import ember
        >>> ember.zeros(2, 3).resize_(6).shape
        ember.Size([6])
    """
    shape = tuple(int(s) for s in _flat_shape_args(sizes))
    if any(s < 0 for s in shape):
        raise RuntimeError(
            f"resize_: Trying to create tensor with negative dimension {list(shape)}"
        )
    if self._requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    n = _numel(shape)
    data = self._data
    if n == data.size and data.flags.c_contiguous:
        self._data = data.reshape(shape)
    else:
        new = np.zeros(n, data.dtype)
        flat = data.reshape(-1)
        m = min(n, flat.size)
        new[:m] = flat[:m]
        self._data = new.reshape(shape)
    return self
