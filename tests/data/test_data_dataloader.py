"""DataLoader in the main process: batching, sampling options, validation (torch as the oracle)."""

import numpy as np
import pytest

import ember
from ember.data import (
    BatchSampler,
    DataLoader,
    IterableDataset,
    SequentialSampler,
    TensorDataset,
    default_collate,
)

try:
    import torch
    import torch.utils.data as tud
except ImportError:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def flat(batches):
    return [b.tolist() for b in batches]


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


class SizedStream(Stream):
    def __len__(self):
        return self.n


def test_basic_batches_and_len():
    x = ember.arange(20.0).reshape(10, 2)
    y = ember.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [tuple(b[0].shape) for b in batches] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), np.arange(10))
    assert len(DataLoader(range(10), batch_size=4, drop_last=True)) == 2
    assert flat(DataLoader(range(10), batch_size=4, drop_last=True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]


@needs_torch
@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 3},
        {"batch_size": 3, "drop_last": True},
        {"batch_size": 1},
        {"batch_size": None},
        {"batch_size": 4, "sampler": [5, 1, 3, 3, 0]},
        {"batch_sampler": [[0, 1], [7], [2, 3, 4]]},
    ],
)
def test_sequence_of_batches_matches_torch(kwargs):
    data = [(i, float(i) / 2, np.full(2, i, np.int32)) for i in range(10)]
    ours = list(DataLoader(data, **kwargs))
    theirs = list(tud.DataLoader(data, **kwargs))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        for fa, fb in zip(a, b):
            if isinstance(fb, torch.Tensor):
                np.testing.assert_array_equal(fa.numpy(), fb.numpy())
                assert str(fa.dtype).split(".")[-1] == str(fb.dtype).split(".")[-1]
            else:  # batch_size=None leaves Python numbers alone
                assert type(fa) is type(fb) and fa == fb


def test_batch_size_none_converts_samples():
    out = list(DataLoader([np.arange(3), np.arange(3) + 1], batch_size=None))
    assert all(isinstance(o, ember.Tensor) for o in out)
    assert out[1].tolist() == [1, 2, 3]


def test_shuffle_with_generator_is_reproducible():
    def epoch(seed):
        g = ember.Generator().manual_seed(seed)
        return flat(DataLoader(range(20), batch_size=5, shuffle=True, generator=g))

    assert epoch(0) == epoch(0)
    assert epoch(0) != epoch(1)
    assert sorted(sum(epoch(0), [])) == list(range(20))
    # successive epochs of one loader differ, but the whole run is reproducible
    g = ember.Generator().manual_seed(7)
    loader = DataLoader(range(20), batch_size=5, shuffle=True, generator=g)
    run1 = [flat(loader), flat(loader)]
    g.manual_seed(7)
    run2 = [flat(loader), flat(loader)]
    assert run1 == run2 and run1[0] != run1[1]


def test_shuffle_follows_global_seed():
    ember.manual_seed(123)
    a = flat(DataLoader(range(10), batch_size=10, shuffle=True))
    ember.manual_seed(123)
    assert flat(DataLoader(range(10), batch_size=10, shuffle=True)) == a


def test_custom_sampler_batch_sampler_and_collate():
    loader = DataLoader(range(6), batch_sampler=BatchSampler(SequentialSampler(range(6)), 4, False))
    assert flat(loader) == [[0, 1, 2, 3], [4, 5]] and len(loader) == 2
    loader = DataLoader(range(5), batch_size=2, collate_fn=lambda b: sum(b))
    assert list(loader) == [1, 5, 4]
    assert loader.collate_fn is not default_collate


def test_getitems_is_used_for_batches():
    class Batched:
        calls = []

        def __len__(self):
            return 5

        def __getitem__(self, i):
            raise AssertionError("__getitems__ should be used")

        def __getitems__(self, idx):
            self.calls.append(list(idx))
            return [i * 10 for i in idx]

    ds = Batched()
    assert flat(DataLoader(ds, batch_size=2)) == [[0, 10], [20, 30], [40]]
    assert ds.calls == [[0, 1], [2, 3], [4]]


def test_iterable_dataset_single_process():
    assert flat(DataLoader(Stream(7), batch_size=3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert flat(DataLoader(Stream(7), batch_size=3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    assert len(DataLoader(SizedStream(7), batch_size=3)) == 3
    assert len(DataLoader(SizedStream(7), batch_size=3, drop_last=True)) == 2
    with pytest.raises(TypeError):
        len(DataLoader(Stream(7), batch_size=3))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_workers": -1}, "num_workers option should be non-negative"),
        ({"timeout": -1}, "timeout option should be non-negative"),
        ({"prefetch_factor": 2}, "prefetch_factor option could only be specified"),
        ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
        ({"sampler": [0, 1], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
        ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
        ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
        ({"batch_size": None, "drop_last": True}, "batch_size=None option disables auto-batching"),
        ({"multiprocessing_context": "fork"}, "multiprocessing_context can only be used"),
    ],
)
def test_invalid_options_raise_like_torch(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(range(4), **kwargs)
    if torch is not None:
        with pytest.raises(ValueError):
            tud.DataLoader(range(4), **kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]], "batch_size": 1}]
)
def test_iterable_dataset_rejects_sampling_options(kwargs):
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified"):
        DataLoader(Stream(3), **kwargs)


def test_frozen_attributes():
    loader = DataLoader(range(4), batch_size=2)
    for name in ("batch_size", "sampler", "batch_sampler", "drop_last", "dataset"):
        with pytest.raises(ValueError, match=f"{name} attribute should not be set"):
            setattr(loader, name, None)
    loader.collate_fn = default_collate  # allowed, as in torch
