"""Data loading: datasets, samplers, ``DataLoader`` and collation (``torch.utils.data`` names).

Also importable as ``ember.utils.data``. Image transforms live in ``ember.data.transforms``
and ready-made datasets (``Digits`` shipped inside the package, ``MNIST``, ``FashionMNIST``,
``CIFAR10``) in ``ember.data.datasets``.

Example:
    >>> import ember
    >>> from ember.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(ember.randn(8, 3), ember.arange(8))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=3)]
    [[0, 1, 2], [3, 4, 5], [6, 7]]
"""

from .collate import collate, default_collate, default_collate_fn_map, default_convert
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "collate",
    "default_collate",
    "default_collate_fn_map",
    "default_convert",
    "get_worker_info",
    "random_split",
]


def __getattr__(name: str):
    """Load ``transforms`` and ``datasets`` lazily (``ember.data.transforms`` works as well)."""
    if name in ("transforms", "datasets"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ember.data' has no attribute {name!r}")
