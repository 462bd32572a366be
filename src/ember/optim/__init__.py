"""``ember.optim``: optimizers and learning-rate schedulers, PyTorch-style.

Every optimizer derives from :class:`Optimizer`, which owns the parameter groups, the
per-parameter state and ``state_dict``; each one writes only its state initialisation and
its in-place update. Given the same gradients, parameter trajectories equal PyTorch's.

Example:
    >>> import ember
    >>> w = ember.tensor([4.0], requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.25)
    >>> sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    ...     sched.step()
    >>> w, sched.get_last_lr()
    (tensor([1.3125], requires_grad=True), [0.03125])
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "LBFGS",
    "lr_scheduler",
]
