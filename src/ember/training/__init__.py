"""``ember.training``: Keras-style training for ``nn.Module`` (``ember.Model``).

* :class:`Model` (``ember.Model``): an ``nn.Module`` with ``compile``/``fit``/``evaluate``/
  ``predict``; subclass it, or wrap any module with ``Model(module)``.
* :class:`Trainer`: the mixin behind it, for ``class Net(Trainer, nn.Module)``.
* :mod:`~ember.training.data_adapter`: what ``fit`` accepts and how it batches it.
* :mod:`~ember.training.losses_registry`: loss names and sample weighting.
* :mod:`~ember.training.history`: ``History`` and ``plot_history``.

Callbacks live in :mod:`ember.callbacks`.

Example:
    >>> import numpy as np
    >>> import ember
    >>> from ember import nn
    >>> from ember.training import Model
    >>> _ = ember.manual_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(128, 4))
    >>> y = (x[:, 0] > 0).astype(np.int64)
    >>> model = Model(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
    >>> model.compile(optimizer="adam", loss="cross_entropy", lr=0.05)
    >>> history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    >>> accuracy = (model.predict(x, verbose=0).argmax(1) == y).mean()
    >>> bool(accuracy > 0.9)
    True
"""

from .history import History, plot_history
from .model import Model
from .trainer import Trainer

__all__ = ["History", "Model", "Trainer", "plot_history"]
