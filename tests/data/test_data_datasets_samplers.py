"""Dataset combinators, random_split and samplers (torch.utils.data as the oracle where it applies)."""

import importlib
import warnings

import numpy as np
import pytest

import ember
from ember.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)

try:
    import torch
    import torch.utils.data as tud
except ImportError:  # pragma: no cover - torch is the optional oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def test_utils_data_alias():
    assert importlib.import_module("ember.utils.data") is ember.data
    assert ember.utils.data.DataLoader is ember.data.DataLoader


# -- datasets ------------------------------------------------------------------------------------
def test_tensor_dataset():
    x, y = ember.arange(12.0).reshape(4, 3), ember.arange(4)
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.numpy(), [6.0, 7.0, 8.0])
    assert yi.item() == 2
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(ember.zeros(3), ember.zeros(4))


def test_concat_dataset_indexing_matches_torch():
    parts = [list(range(3)), list(range(10, 15)), [], list(range(20, 22))]
    ours = ConcatDataset(parts)
    assert len(ours) == 10
    assert ours.cumulative_sizes == [3, 8, 8, 10]
    assert [ours[i] for i in range(-10, 10)] == [ours[i % 10] for i in range(-10, 10)]
    if torch is not None:
        theirs = tud.ConcatDataset(parts)
        assert [ours[i] for i in range(-10, 10)] == [theirs[i] for i in range(-10, 10)]
    with pytest.raises(IndexError):
        ours[10]
    with pytest.raises(ValueError):
        ours[-11]
    with pytest.raises(TypeError):
        ConcatDataset([ChainDataset([])])


def test_dataset_add_and_chain():
    class Two(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            if i >= 2:
                raise IndexError(i)
            return i

    both = Two() + Two()
    assert isinstance(both, ConcatDataset) and [both[i] for i in range(4)] == [0, 1, 0, 1]

    class It(IterableDataset):
        def __iter__(self):
            return iter("ab")

    chained = It() + It()
    assert isinstance(chained, ChainDataset) and list(chained) == ["a", "b", "a", "b"]


def test_subset_and_stack_dataset():
    s = Subset(list("abcdef"), [5, 0, 2])
    assert len(s) == 3 and [s[i] for i in range(3)] == ["f", "a", "c"]
    assert s.__getitems__([2, 0]) == ["c", "f"]
    st = StackDataset([1, 2], ["x", "y"])
    assert st[1] == (2, "y") and len(st) == 2
    with pytest.raises(ValueError):
        StackDataset([1], [1, 2])


def test_base_classes_raise_not_implemented():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        iter(IterableDataset())


# -- random_split --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n, lengths",
    [
        (10, [3, 7]),
        (10, [0.5, 0.5]),
        (10, [0.3, 0.3, 0.4]),
        (11, [0.5, 0.5]),
        (7, [0.1, 0.2, 0.7]),
        (100, [0.33, 0.33, 0.34]),
        (5, [1.0]),
        (3, [0.1, 0.1, 0.8]),
    ],
)
def test_random_split_lengths_match_torch(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty splits warn (checked below)
        ours = random_split(range(n), lengths, generator=ember.Generator().manual_seed(0))
        if torch is not None:
            g = torch.Generator().manual_seed(0)
            theirs = tud.random_split(range(n), lengths, generator=g)
            assert [len(p) for p in ours] == [len(p) for p in theirs]
    items = sorted(x for part in ours for x in (part[i] for i in range(len(part))))
    assert items == list(range(n))


def test_random_split_reproducible_and_errors():
    a = random_split(range(20), [15, 5], generator=ember.Generator().manual_seed(3))
    b = random_split(range(20), [15, 5], generator=ember.Generator().manual_seed(3))
    assert list(a[0].indices) == list(b[0].indices)
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])
    with pytest.warns(UserWarning, match="Length of split at index"):
        random_split(range(2), [0.1, 0.1, 0.8])


# -- samplers ------------------------------------------------------------------------------------
def test_sequential_sampler():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    assert len(SequentialSampler("abc")) == 3
    if torch is not None:
        assert list(SequentialSampler(range(7))) == list(tud.SequentialSampler(range(7)))


@needs_torch
@pytest.mark.parametrize(
    "n, bs, drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)]
)
def test_batch_sampler_matches_torch(n, bs, drop):
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), bs, drop)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_batch_sampler_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), bad, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        BatchSampler(range(3), 2, 1)


def test_random_sampler():
    g = ember.Generator().manual_seed(0)
    perm = list(RandomSampler(range(10), generator=g))
    assert sorted(perm) == list(range(10)) and perm != list(range(10))
    # the same generator state gives the same order; a fresh pass a new one
    assert list(RandomSampler(range(10), generator=ember.Generator().manual_seed(0))) == perm
    assert list(RandomSampler(range(10), generator=g)) != perm
    # more samples than items without replacement: whole permutations chained
    many = list(RandomSampler(range(4), num_samples=10, generator=g))
    assert (
        len(many) == 10 and sorted(many[:4]) == [0, 1, 2, 3] and sorted(many[4:8]) == [0, 1, 2, 3]
    )
    rep = RandomSampler(range(3), replacement=True, num_samples=100, generator=g)
    drawn = list(rep)
    assert len(rep) == 100 and len(drawn) == 100 and set(drawn) == {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)


def test_random_sampler_uses_global_seed_without_generator():
    ember.manual_seed(5)
    a = list(RandomSampler(range(20)))
    ember.manual_seed(5)
    assert list(RandomSampler(range(20))) == a


def test_subset_random_sampler():
    idx = [10, 20, 30, 40]
    s = SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(1))
    out = list(s)
    assert sorted(out) == idx and len(s) == 4


def test_weighted_random_sampler_statistics():
    weights = [0.1, 0.2, 0.3, 0.4]
    s = WeightedRandomSampler(weights, 20000, generator=ember.Generator().manual_seed(0))
    counts = np.bincount(list(s), minlength=4) / 20000
    np.testing.assert_allclose(counts, weights, atol=0.02)
    if torch is not None:
        t = tud.WeightedRandomSampler(weights, 20000, generator=torch.Generator().manual_seed(0))
        theirs = np.bincount(list(t), minlength=4) / 20000
        np.testing.assert_allclose(counts, theirs, atol=0.03)
    no_rep = list(
        WeightedRandomSampler(
            [1, 1, 1, 1, 0], 4, replacement=False, generator=ember.Generator().manual_seed(0)
        )
    )
    assert sorted(no_rep) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler(weights, 0)
    with pytest.raises(ValueError, match="1d sequence"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
