"""``ember.callbacks``: hooks into ``fit``/``evaluate``/``predict`` with Keras's names.

One callback per file. ``fit`` adds :class:`History` and :class:`ProgbarLogger` itself;
pass the others in ``callbacks=[...]``. See :mod:`ember.callbacks.callback` for the order
in which the hooks run.

Example:
    >>> import ember
    >>> from ember import callbacks, nn
    >>> from ember.training import Model
    >>> _ = ember.manual_seed(0)
    >>> model = Model(nn.Linear(2, 1))
    >>> model.compile(optimizer="sgd", loss="mse", lr=0.1)
    >>> x = ember.randn(32, 2)
    >>> y = x.sum(1, keepdim=True)
    >>> epochs_seen = []
    >>> history = model.fit(x, y, epochs=20, verbose=0, callbacks=[
    ...     callbacks.EarlyStopping(monitor="loss", patience=2),
    ...     callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epochs_seen.append(e)),
    ... ])
    >>> len(history.epoch) == len(epochs_seen)
    True
"""

from .backup_and_restore import BackupAndRestore
from .callback import Callback, CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .progbar import ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
