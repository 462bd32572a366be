"""Ready-made datasets: ``Digits`` (shipped inside ember), ``MNIST``, ``FashionMNIST``, ``CIFAR10``.

``Digits`` needs no files. The others read the standard distribution files from a ``root``
folder in torchvision's layout, and ``download=True`` fetches them (MD5-checked) where a
network is reachable.

Example:
    >>> from ember.data.datasets import Digits
    >>> len(Digits(train=True)) + len(Digits(train=False))
    1797
"""

from .cifar import CIFAR10
from .digits import Digits, load_digits
from .mnist import MNIST, FashionMNIST

__all__ = ["CIFAR10", "Digits", "FashionMNIST", "MNIST", "load_digits"]
