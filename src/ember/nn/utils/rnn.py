"""Variable-length sequence batches: padding and packing (``torch.nn.utils.rnn``).

The index bookkeeping is done in NumPy, and the data moves through one differentiable
``index_select``, so gradients flow from padded or packed outputs back to the inputs.

Example:
    >>> import ember
    >>> from ember.nn.utils.rnn import pack_sequence, pad_packed_sequence, pad_sequence
    >>> a, b = ember.tensor([1.0, 2.0, 3.0]), ember.tensor([4.0])
    >>> pad_sequence([a, b], batch_first=True)
    tensor([[1., 2., 3.],
            [4., 0., 0.]])
    >>> packed = pack_sequence([a, b])
    >>> packed.data, packed.batch_sizes
    (tensor([1., 4., 2., 3.]), tensor([2, 1, 1]))
    >>> padded, lengths = pad_packed_sequence(packed, batch_first=True)
    >>> lengths
    tensor([3, 1])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ...tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


def _long(values) -> Tensor:
    return Tensor._wrap(np.asarray(values, dtype=np.int64, order="C"))


def _ints(values: Any, what: str) -> np.ndarray:
    arr = values._data if isinstance(values, Tensor) else np.asarray(values)
    if arr.ndim != 1:
        raise RuntimeError(
            f"'{what}' argument should be a 1D CPU int64 tensor, but got "
            f"{arr.ndim}D {arr.dtype} tensor"
        )
    return arr.astype(np.int64)


def _gather_rows(src: Tensor, idx: np.ndarray, pad_value: float | None) -> Tensor:
    """``src.reshape(-1, *rest)[idx]``, where index ``len(src)`` selects a padding row."""
    import ember

    rest = tuple(src.shape[1:])
    if pad_value is not None:
        src = ember.cat([src, ember.full((1, *rest), pad_value, dtype=src.dtype)])
    out = src.index_select(0, _long(idx.reshape(-1)))
    return out.reshape(*idx.shape, *rest)


class _PackedSequenceBase(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceBase):
    """A batch of variable-length sequences packed time step by time step.

    ``data`` holds, for each time step ``t``, the ``batch_sizes[t]`` sequences still running
    (longest first); ``sorted_indices`` maps sorted to original batch order (``None`` if the
    input was already sorted) and ``unsorted_indices`` is its inverse. Build one with
    :func:`pack_padded_sequence` or :func:`pack_sequence` rather than by hand.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import PackedSequence
        >>> p = PackedSequence(ember.tensor([1.0, 2.0, 3.0]), ember.tensor([2, 1]))
        >>> p.batch_sizes, p.sorted_indices
        (tensor([2, 1]), None)
        >>> p.double().data.dtype
        ember.float64
    """

    def __new__(
        cls,
        data: Tensor | Sequence[Tensor],
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # the legacy PackedSequence((data, batch_sizes)) form
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Convert ``data`` like ``Tensor.to``; returns ``self`` when nothing changes."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """This sequence with ``data`` on the CPU (it always is)."""
        return self

    def pin_memory(self) -> PackedSequence:
        """No-op: ember's CPU memory needs no pinning."""
        return self

    def is_pinned(self) -> bool:
        """Always False: ember does not pin memory."""
        return False

    @property
    def is_cuda(self) -> bool:
        """Whether ``data`` is on a CUDA device."""
        return self.data.is_cuda

    def double(self) -> PackedSequence:
        """``data`` as float64."""
        return self.to(dtype=_dtypes().float64)

    def float(self) -> PackedSequence:
        """``data`` as float32."""
        return self.to(dtype=_dtypes().float32)

    def half(self) -> PackedSequence:
        """``data`` as float16."""
        return self.to(dtype=_dtypes().float16)

    def long(self) -> PackedSequence:
        """``data`` as int64."""
        return self.to(dtype=_dtypes().int64)

    def int(self) -> PackedSequence:
        """``data`` as int32."""
        return self.to(dtype=_dtypes().int32)

    def short(self) -> PackedSequence:
        """``data`` as int16."""
        return self.to(dtype=_dtypes().int16)

    def char(self) -> PackedSequence:
        """``data`` as int8."""
        return self.to(dtype=_dtypes().int8)

    def byte(self) -> PackedSequence:
        """``data`` as uint8."""
        return self.to(dtype=_dtypes().uint8)


def _dtypes():
    from ... import dtypes

    return dtypes


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a 1-D permutation tensor (``None`` stays ``None``).

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import invert_permutation
        >>> invert_permutation(ember.tensor([2, 0, 1]))
        tensor([1, 2, 0])
    """
    if permutation is None:
        return None
    perm = _ints(permutation, "permutation")
    out = np.empty_like(perm)
    out[perm] = np.arange(perm.size, dtype=np.int64)
    return _long(out)


def pad_sequence(
    sequences: Tensor | Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack variable-length sequences into one padded tensor (differentiable).

    Each sequence has shape ``(L_i, *)``; the result is ``(max L, B, *)``, or
    ``(B, max L, *)`` with ``batch_first``. Every sequence is cast to the first one's dtype.

    Args:
        sequences: tensors of shape ``(L_i, *)`` with the same trailing dimensions.
        batch_first: put the batch dimension first.
        padding_value: the value of padded elements.
        padding_side: ``"right"`` (pad after each sequence) or ``"left"``.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pad_sequence
        >>> seqs = [ember.tensor([1, 2]), ember.tensor([3])]
        >>> pad_sequence(seqs, padding_value=-1)
        tensor([[ 1,  3],
                [ 2, -1]])
        >>> pad_sequence(seqs, batch_first=True, padding_side="left")
        tensor([[1, 2],
                [0, 3]])
    """
    import ember

    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    elif not isinstance(sequences, Iterable):
        raise RuntimeError(
            "pad_sequence: Expected iterable for input sequences, but got arg of "
            f"type: {type(sequences)}"
        )
    seqs = tuple(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    first = seqs[0]
    trailing, dtype = tuple(first.shape[1:]), first.dtype
    for i, s in enumerate(seqs):
        if s.dim() == 0 or tuple(s.shape[1:]) != trailing:
            raise RuntimeError(
                f"pad_sequence: every sequence needs shape (L, {', '.join(map(str, trailing))}"
                f"{',' if len(trailing) == 1 else ''}) like sequence 0, but sequence {i} has "
                f"shape {tuple(s.shape)}"
            )
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    total, max_len = int(lengths.sum()), int(lengths.max())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(max_len)[None, :]  # (1, L)
    if padding_side == "left":
        pos = pos - (max_len - lengths)[:, None]
    idx = np.where((pos >= 0) & (pos < lengths[:, None]), starts[:, None] + pos, total)
    if not batch_first:
        idx = idx.T
    flat = ember.cat([s if s.dtype == dtype else s.to(dtype) for s in seqs])
    return _gather_rows(flat, idx, padding_value)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False
) -> list[Tensor]:
    """Split a padded batch back into a list of sequences (the inverse of ``pad_sequence``).

    Unlike PyTorch this does not transpose ``padded_sequences`` in place.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import unpad_sequence
        >>> padded = ember.tensor([[1, 2, 3], [4, 0, 0]])
        >>> unpad_sequence(padded, ember.tensor([3, 1]), batch_first=True)
        [tensor([1, 2, 3]), tensor([4])]
    """
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = _ints(lengths, "lengths")
    if len(lens) != padded_sequences.shape[0]:
        raise ValueError(
            f"unpad_sequence: got {len(lens)} lengths for a batch of "
            f"{padded_sequences.shape[0]} sequences"
        )
    return [padded_sequences[b, : int(n)] for b, n in enumerate(lens)]


def pack_padded_sequence(
    input: Tensor,  # noqa: A002 - PyTorch's name
    lengths: Tensor | Sequence[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch of variable-length sequences (differentiable in ``input``).

    Args:
        input: ``(T, B, *)``, or ``(B, T, *)`` with ``batch_first``.
        lengths: the length of each sequence (a list or a 1-D integer tensor).
        batch_first: whether ``input`` has the batch dimension first.
        enforce_sorted: require ``lengths`` sorted in decreasing order; with False the batch
            is sorted here and ``sorted_indices`` records the permutation.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pack_padded_sequence
        >>> x = ember.tensor([[1, 2, 3], [4, 5, 0]])
        >>> p = pack_padded_sequence(x, [3, 2], batch_first=True)
        >>> p.data, p.batch_sizes
        (tensor([1, 4, 2, 5, 3]), tensor([2, 2, 1]))
        >>> y = ember.tensor([[1, 2, 0], [3, 4, 5]])
        >>> p = pack_padded_sequence(y, [2, 3], batch_first=True, enforce_sorted=False)
        >>> p.data, p.sorted_indices
        (tensor([3, 1, 4, 2, 5]), tensor([1, 0]))
    """
    lens = _ints(lengths, "lengths")
    x = input
    if x.dim() < 2:
        raise RuntimeError(
            "pack_padded_sequence: input must have at least 2 dimensions "
            f"(time and batch), got shape {tuple(x.shape)}"
        )
    steps, batch = (x.shape[1], x.shape[0]) if batch_first else x.shape[:2]
    if len(lens) != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got "
            f"{len(lens)} (batch_size={batch})"
        )
    sorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = _long(order)
        x = x.index_select(0 if batch_first else 1, sorted_indices)
    if batch and lens.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an "
            "element in 'lengths' that is <= 0"
        )
    if batch and lens.max() > steps:
        raise RuntimeError(
            f"pack_padded_sequence: a sequence length of {int(lens.max())} "
            f"exceeds the {steps} time steps of the padded input"
        )
    max_len = int(lens.max()) if batch else 0
    t = np.arange(max_len)[:, None]  # (T, 1)
    b = np.arange(batch)[None, :]  # (1, B)
    flat = b * steps + t if batch_first else t * batch + b
    running = lens[None, :] > t  # (T, B): sequence b still has a step t
    idx = flat[running]  # row-major: time step by time step, sorted batch order within
    batch_sizes = running.sum(1)
    data = _gather_rows(x.reshape(-1, *x.shape[2:]), idx, None)
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Unpack a :class:`PackedSequence` into a padded batch and the lengths (differentiable).

    Args:
        sequence: the packed batch.
        batch_first: return ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: the value of padded elements.
        total_length: pad to this many time steps (at least the longest sequence).

    Returns:
        ``(padded, lengths)``, in the original batch order; ``lengths`` is an int64 tensor.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pack_sequence, pad_packed_sequence
        >>> p = pack_sequence([ember.tensor([1, 2]), ember.tensor([3, 4, 5])],
        ...                   enforce_sorted=False)
        >>> pad_packed_sequence(p, batch_first=True, total_length=4)
        (tensor([[1, 2, 0, 0],
                [3, 4, 5, 0]]), tensor([2, 3]))
    """
    bs = _ints(sequence.batch_sizes, "batch_sizes")
    max_len = len(bs)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_len}"
            )
        max_len = int(total_length)
    batch = int(bs[0]) if len(bs) else 0
    bs_full = np.zeros(max_len, dtype=np.int64)
    bs_full[: len(bs)] = bs
    starts = np.concatenate([[0], np.cumsum(bs_full)[:-1]])
    b = np.arange(batch)[None, :]
    n_rows = int(sequence.data.shape[0])
    idx = np.where(b < bs_full[:, None], starts[:, None] + b, n_rows)  # (T, B)
    lengths = (bs[:, None] > np.arange(batch)[None, :]).sum(0) if batch else bs[:0]
    if sequence.unsorted_indices is not None:
        order = _ints(sequence.unsorted_indices, "unsorted_indices")
        idx, lengths = idx[:, order], lengths[order]
    if batch_first:
        idx = idx.T
    return _gather_rows(sequence.data, idx, padding_value), _long(lengths)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length sequences (``pad_sequence`` + ``pack_padded_sequence``).

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pack_sequence
        >>> p = pack_sequence([ember.tensor([1, 2, 3]), ember.tensor([4, 5]), ember.tensor([6])])
        >>> p.data, p.batch_sizes, p.sorted_indices
        (tensor([1, 4, 6, 2, 5, 3]), tensor([3, 2, 1]), None)
    """
    lengths = [int(v.shape[0]) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a :class:`PackedSequence` holds, in the original order.

    Example:
        >>> import ember
        >>> from ember.nn.utils.rnn import pack_sequence, unpack_sequence
        >>> unpack_sequence(pack_sequence([ember.tensor([1]), ember.tensor([2, 3])],
        ...                               enforce_sorted=False))
        [tensor([1]), tensor([2, 3])]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
