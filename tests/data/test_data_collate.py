"""default_collate / default_convert against torch.utils.data (the oracle)."""

import collections

import numpy as np
import pytest

import ember
from ember.data import collate, default_collate, default_collate_fn_map, default_convert

torch = pytest.importorskip("torch")
from torch.utils.data import default_collate as torch_collate  # noqa: E402
from torch.utils.data._utils.collate import default_convert as torch_convert  # noqa: E402

Point = collections.namedtuple("Point", "x y")


def to_torch(obj):
    """ember -> torch for samples (tensors become torch tensors, structure kept)."""
    if isinstance(obj, ember.Tensor):
        return torch.from_numpy(obj.numpy().copy())
    if isinstance(obj, dict):
        return {k: to_torch(v) for k, v in obj.items()}
    if isinstance(obj, Point):
        return Point(*(to_torch(v) for v in obj))
    if isinstance(obj, tuple):
        return tuple(to_torch(v) for v in obj)
    if isinstance(obj, list):
        return [to_torch(v) for v in obj]
    return obj


def assert_same(ours, theirs):
    """Structure, types, dtypes and values agree."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ember.Tensor), type(ours)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        return
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            assert_same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert ours == theirs


BATCHES = {
    "floats": [1.0, 2.5, -3.0],
    "ints": [1, 2, 3],
    "bools": [True, False],
    "ints_then_floats": [1, 2.5],
    "floats_then_ints": [1.5, 2],
    "np_float32_scalars": [np.float32(1.5), np.float32(2)],
    "np_int32_scalars": [np.int32(1), np.int32(2)],
    "np_arrays_uint8": [np.zeros((2, 3), np.uint8), np.ones((2, 3), np.uint8)],
    "np_arrays_float64": [np.arange(3.0), np.arange(3.0) * 2],
    "strings": ["a", "b"],
    "bytes": [b"a", b"b"],
    "tuples": [(1, 2.0), (3, 4.0)],
    "lists": [[1, 2], [3, 4]],
    "dicts": [{"a": 1, "b": (1.0, "x")}, {"a": 2, "b": (2.0, "y")}],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "nested": [{"p": [Point(np.float32(1), [1, 2])]}, {"p": [Point(np.float32(2), [3, 4])]}],
    "tensors": [ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0])],
    "int_tensors": [ember.tensor([[1, 2]]), ember.tensor([[3, 4]])],
    "tensor_label_pairs": [(ember.zeros(2, 2), 0), (ember.ones(2, 2), 1)],
}


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_default_collate_matches_torch(name):
    batch = BATCHES[name]
    assert_same(default_collate(batch), torch_collate(to_torch(batch)))


CONVERT = {
    "array": np.arange(4, dtype=np.int32),
    "scalar": np.float32(3),
    "str_array": np.array(["a"]),
    "tuple": (np.zeros(2), 1),
    "list": [np.zeros(2), "s"],
    "dict": {"x": np.ones(2), "y": 1.0},
    "namedtuple": Point(np.zeros(1), 2),
    "tensor": ember.tensor([1, 2]),
    "int": 3,
}


@pytest.mark.parametrize("name", sorted(CONVERT))
def test_default_convert_matches_torch(name):
    data = CONVERT[name]
    assert_same(default_convert(data), torch_convert(to_torch(data)))


@pytest.mark.parametrize(
    "batch, exc, match",
    [
        ([[1, 2], [3]], RuntimeError, "each element in list of batch should be of equal size"),
        ([object(), object()], TypeError, "default_collate: batch must contain"),
        ([np.array(["a"]), np.array(["b"])], TypeError, "default_collate: batch must contain"),
        ([ember.zeros(2), ember.zeros(3)], RuntimeError, "stack expects each tensor"),
        ([np.zeros(2), np.zeros(3)], RuntimeError, "stack expects each tensor"),
    ],
)
def test_collate_errors_like_torch(batch, exc, match):
    with pytest.raises(exc, match=match):
        default_collate(batch)


def test_collate_keeps_autograd_when_samples_require_grad():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    b = ember.tensor([3.0, 4.0], requires_grad=True)
    out = default_collate([a, b])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])


def test_collate_with_custom_map():
    def join(batch, *, collate_fn_map=None):
        return "|".join(batch)

    fns = {**default_collate_fn_map, str: join}
    assert collate([{"s": "a", "n": 1}, {"s": "b", "n": 2}], collate_fn_map=fns)["s"] == "a|b"
