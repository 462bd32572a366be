"""Functional metrics: one call on whole arrays, returning a Python float (or an array).

Every function takes ``(y_pred, y_true, ...)`` (PyTorch's argument order) as ember tensors, NumPy
arrays or lists, and an optional ``sample_weight`` (one weight per sample, or per element).

Predictions can be probabilities or logits:

* one score per sample (shape ``(N,)`` or ``(N, 1)``): a binary problem, positive when
  ``score > threshold`` (``0.5`` by default; pass ``from_logits=True`` for logits, which applies a
  sigmoid first, or simply ``threshold=0.0``);
* ``(N, C)`` scores with integer labels ``(N,)``: a multi-class problem, predicted class is the
  ``argmax`` (so logits and probabilities give the same result);
* ``(N, C)`` scores with ``(N, C)`` one-hot labels: multi-class via ``argmax`` (or multi-label when a
  ``threshold`` is given to precision / recall / F1).

Example:
    >>> from ember.metrics import functional as F
    >>> F.accuracy([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], [1, 0, 0])
    0.6666666666666666
    >>> F.f1_score([0.9, 0.2, 0.7, 0.4], [1, 0, 0, 1])
    0.5
    >>> F.roc_auc([0.9, 0.2, 0.7, 0.4], [1, 0, 0, 1])
    0.75
    >>> F.confusion_matrix([2, 0, 1, 1], [2, 0, 0, 1])
    array([[1, 1, 0],
           [0, 1, 0],
           [0, 0, 1]])
    >>> F.r2_score([2.5, 0.0, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0])
    0.9486081370449679
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import ArrayLike, _broadcast_weight, to_numpy

__all__ = [
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_accuracy",
    "confusion_matrix",
    "precision",
    "recall",
    "f1_score",
    "fbeta_score",
    "roc_auc",
    "pr_auc",
    "average_precision",
    "roc_curve",
    "precision_recall_curve",
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
    "r2_score",
]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.where(
        x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), 1.0 - 1.0 / (1.0 + np.exp(-np.abs(x)))
    )


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _match_shapes(yp: np.ndarray, yt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squeeze a trailing singleton axis so ``(N, 1)`` and ``(N,)`` line up (never N x N)."""
    if yp.shape == yt.shape:
        return yp, yt
    if yp.ndim == yt.ndim + 1 and yp.shape[-1] == 1 and yp.shape[:-1] == yt.shape:
        return yp.reshape(yt.shape), yt
    if yt.ndim == yp.ndim + 1 and yt.shape[-1] == 1 and yt.shape[:-1] == yp.shape:
        return yp, yt.reshape(yp.shape)
    if yp.size == yt.size and (yp.ndim <= 1 or yt.ndim <= 1):
        return yp.reshape(-1), yt.reshape(-1)
    raise ValueError(f"y_pred of shape {yp.shape} does not match y_true of shape {yt.shape}")


def _is_sparse(yp: np.ndarray, yt: np.ndarray) -> bool:
    """``(..., C)`` scores (C > 1) with integer labels of shape ``(...)`` or ``(..., 1)``."""
    if yp.ndim == yt.ndim + 1 and yp.shape[:-1] == yt.shape:
        return yp.shape[-1] > 1  # a single score column is a binary problem
    return (
        yp.ndim == yt.ndim
        and yp.ndim >= 1
        and yt.shape[-1] == 1
        and yp.shape[-1] > 1
        and yp.shape[:-1] == yt.shape[:-1]
    )


def _sparse_labels(yp: np.ndarray, yt: np.ndarray) -> np.ndarray:
    if yt.ndim == yp.ndim:
        yt = yt.reshape(yt.shape[:-1])
    return np.rint(yt).astype(np.int64) if yt.dtype.kind in "fc" else yt.astype(np.int64)


def _as_labels(y: np.ndarray) -> np.ndarray:
    return np.rint(y).astype(np.int64) if y.dtype.kind in "fc" else y.astype(np.int64)


def _weighted_mean(values: np.ndarray, sample_weight: ArrayLike | None) -> float:
    values = np.asarray(values, dtype=np.float64)
    w = _broadcast_weight(sample_weight, values.shape)
    total = w.sum()
    return float((values * w).sum() / total) if total else 0.0


def _scores(yp: np.ndarray, from_logits: bool) -> np.ndarray:
    yp = yp.astype(np.float64)
    return _sigmoid(yp) if from_logits else yp


# ---------------------------------------------------------------------------------------------
# accuracy
# ---------------------------------------------------------------------------------------------
def _binary_accuracy_values(yp, yt, threshold=0.5, from_logits=False) -> np.ndarray:
    yp, yt = _match_shapes(to_numpy(yp), to_numpy(yt))
    return (_scores(yp, from_logits) > threshold) == (yt > 0.5)


def _categorical_accuracy_values(yp, yt) -> np.ndarray:
    yp, yt = to_numpy(yp), to_numpy(yt)
    if yp.shape != yt.shape:
        raise ValueError(
            f"categorical accuracy needs one-hot y_true of y_pred's shape {yp.shape}, got "
            f"{yt.shape} (use sparse_categorical_accuracy for integer labels)"
        )
    return yp.argmax(axis=-1) == yt.argmax(axis=-1)


def _sparse_categorical_accuracy_values(yp, yt) -> np.ndarray:
    yp, yt = to_numpy(yp), to_numpy(yt)
    if not _is_sparse(yp, yt):
        raise ValueError(
            f"sparse categorical accuracy needs (..., C) scores and (...) integer labels, got "
            f"y_pred {yp.shape} and y_true {yt.shape}"
        )
    return yp.argmax(axis=-1) == _sparse_labels(yp, yt)


def _accuracy_values(yp, yt, threshold=0.5, from_logits=False) -> np.ndarray:
    yp, yt = to_numpy(yp), to_numpy(yt)
    if _is_sparse(yp, yt):
        return _sparse_categorical_accuracy_values(yp, yt)
    if yp.shape == yt.shape and yp.ndim >= 2 and yp.shape[-1] > 1:
        return _categorical_accuracy_values(yp, yt)
    if yp.dtype.kind in "fc":
        return _binary_accuracy_values(yp, yt, threshold, from_logits)
    yp, yt = _match_shapes(yp, yt)
    return yp == _as_labels(yt)


def _top_k_values(yp, yt, k=5) -> np.ndarray:
    yp, yt = to_numpy(yp, np.float64), to_numpy(yt)
    if yp.shape == yt.shape and yp.ndim >= 2 and yp.shape[-1] > 1:  # one-hot labels
        labels = yt.argmax(axis=-1)
    elif _is_sparse(yp, yt):
        labels = _sparse_labels(yp, yt)
    else:
        raise ValueError(
            f"top-k accuracy needs (..., C) scores and integer or one-hot labels, got y_pred "
            f"{yp.shape} and y_true {yt.shape}"
        )
    true_score = np.take_along_axis(yp, labels[..., None], axis=-1)
    # in the top k when fewer than k classes score strictly higher (ties count as hits, like
    # tf.math.in_top_k).
    return (yp > true_score).sum(axis=-1) < k


def accuracy(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    threshold: float = 0.5,
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
) -> float:
    """Fraction of correct predictions, choosing the rule from the shapes (Keras' ``"accuracy"``).

    * ``(..., C)`` scores and ``(...)`` integer labels: sparse categorical (``argmax``);
    * ``(..., C)`` scores and one-hot labels of the same shape: categorical (``argmax`` of both);
    * one floating score per sample: binary (``score > threshold``);
    * integer predictions: exact equality with the labels.

    Example:
        >>> accuracy([[2.0, -1.0], [0.0, 3.0]], [0, 0])
        0.5
        >>> accuracy([0.9, 0.1, 0.6], [1, 0, 0])
        0.6666666666666666
        >>> accuracy([1, 2, 3], [1, 2, 0])
        0.6666666666666666
    """
    return _weighted_mean(_accuracy_values(y_pred, y_true, threshold, from_logits), sample_weight)


def binary_accuracy(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    threshold: float = 0.5,
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
) -> float:
    """Fraction of elements with ``(y_pred > threshold) == (y_true > 0.5)`` (multi-label too).

    Example:
        >>> binary_accuracy([0.9, 0.4, 0.6, 0.2], [1, 1, 0, 0])
        0.5
        >>> binary_accuracy([2.0, -1.0], [1, 0], from_logits=True)
        1.0
    """
    vals = _binary_accuracy_values(y_pred, y_true, threshold, from_logits)
    return _weighted_mean(vals, sample_weight)


def categorical_accuracy(
    y_pred: ArrayLike, y_true: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Fraction of rows where ``argmax(y_pred) == argmax(y_true)`` (one-hot labels).

    Example:
        >>> categorical_accuracy([[0.2, 0.8], [0.6, 0.4]], [[0, 1], [0, 1]])
        0.5
    """
    return _weighted_mean(_categorical_accuracy_values(y_pred, y_true), sample_weight)


def sparse_categorical_accuracy(
    y_pred: ArrayLike, y_true: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Fraction of rows where ``argmax(y_pred) == y_true`` (integer labels).

    Example:
        >>> sparse_categorical_accuracy([[0.2, 0.8], [0.6, 0.4]], [1, 1])
        0.5
    """
    return _weighted_mean(_sparse_categorical_accuracy_values(y_pred, y_true), sample_weight)


def top_k_accuracy(
    y_pred: ArrayLike, y_true: ArrayLike, k: int = 5, *, sample_weight: ArrayLike | None = None
) -> float:
    """Fraction of rows whose true class is among the ``k`` highest scores.

    ``y_true`` holds integer labels or one-hot rows. Ties with the true class's score count as
    hits (``tf.math.in_top_k``).

    Example:
        >>> top_k_accuracy([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1]], [2, 2], k=2)
        0.5
    """
    return _weighted_mean(_top_k_values(y_pred, y_true, k), sample_weight)


# ---------------------------------------------------------------------------------------------
# classification statistics: confusion matrix, precision, recall, F1
# ---------------------------------------------------------------------------------------------
def _indicators(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    threshold: float | None = None,
    from_logits: bool = False,
    num_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Decode inputs into boolean ``(M, K)`` predicted / true indicator matrices.

    Returns ``(P, T, kind)`` with ``kind`` one of ``"binary"`` (K == 2, column 1 is the positive
    class), ``"multiclass"`` (exactly one true and one predicted class per row) or
    ``"multilabel"``.
    """
    yp, yt = to_numpy(y_pred), to_numpy(y_true)
    if _is_sparse(yp, yt):  # (N, C) scores, integer labels
        c = yp.shape[-1]
        labels = _sparse_labels(yp, yt).reshape(-1)
        k = max(c, num_classes or 0)
        _check_labels(labels, k)
        pred = yp.reshape(-1, c).argmax(axis=-1)
        return _one_hot(pred, k), _one_hot(labels, k), "multiclass"
    if yp.shape == yt.shape and yp.ndim >= 2 and yp.shape[-1] > 1:  # one-hot / multi-hot labels
        c = yp.shape[-1]
        t = yt.reshape(-1, c) > 0.5
        if threshold is None:
            pred = yp.reshape(-1, c).argmax(axis=-1)
            return _one_hot(pred, c), t, "multiclass"
        return _scores(yp.reshape(-1, c), from_logits) > threshold, t, "multilabel"
    yp, yt = _match_shapes(yp, yt)
    yp, yt = yp.reshape(-1), yt.reshape(-1)
    if yp.dtype.kind in "fc":  # one score per sample: binary
        p = _scores(yp, from_logits) > (0.5 if threshold is None else threshold)
        t = yt > 0.5
        return np.stack([~p, p], axis=1), np.stack([~t, t], axis=1), "binary"
    pred, labels = _as_labels(yp), _as_labels(yt)  # integer class labels
    k = num_classes
    if k is None:
        k = int(max(pred.max(initial=0), labels.max(initial=0))) + 1
    k = max(k, 2)
    _check_labels(pred, k)
    _check_labels(labels, k)
    return _one_hot(pred, k), _one_hot(labels, k), ("binary" if k == 2 else "multiclass")


def _check_labels(labels: np.ndarray, k: int) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"class labels must lie in [0, {k}), got {labels.min()}..{labels.max()}")


def _one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((labels.size, k), dtype=bool)
    out[np.arange(labels.size), labels] = True
    return out


def _row_weights(sample_weight: ArrayLike | None, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = to_numpy(sample_weight, np.float64).reshape(-1)
    if w.size == 1:
        return np.full(n, float(w[0]))
    if w.size != n:
        raise ValueError(f"sample_weight has {w.size} entries for {n} samples")
    return w


def _stats(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weighted per-class (tp, fp, fn) of boolean (M, K) indicators."""
    w = w[:, None]
    tp = (w * (P & T)).sum(axis=0)
    fp = (w * (P & ~T)).sum(axis=0)
    fn = (w * (~P & T)).sum(axis=0)
    return tp, fp, fn


def _div(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    out = np.full(np.broadcast(num, den).shape, float(zero_division))
    np.divide(num, den, out=out, where=den != 0)
    return out


_AVERAGES = ("binary", "micro", "macro", "weighted", None)


def _reduce_prf(
    tp: np.ndarray,
    fp: np.ndarray,
    fn: np.ndarray,
    which: str,
    average: str | None,
    kind: str,
    beta: float = 1.0,
    zero_division: float = 0.0,
) -> float | np.ndarray:
    """Precision / recall / F-beta from per-class counts, averaged like scikit-learn."""
    if average not in _AVERAGES and average != "auto":
        raise ValueError(f"average must be one of {_AVERAGES} or 'auto', got {average!r}")
    if average == "auto":
        average = "binary" if kind == "binary" else "macro"
    if average == "binary":
        if kind != "binary":
            raise ValueError(
                f"average='binary' needs a binary problem, but the inputs are {kind}; "
                "use average='micro', 'macro' or 'weighted'"
            )
        tp, fp, fn = tp[1:], fp[1:], fn[1:]
    elif average == "micro":
        tp, fp, fn = tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
    p = _div(tp, tp + fp, zero_division)
    r = _div(tp, tp + fn, zero_division)
    if which == "precision":
        v = p
    elif which == "recall":
        v = r
    else:
        b2 = beta * beta
        v = _div((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp, zero_division)
    if average is None:
        return v
    if average == "weighted":
        support = tp + fn
        return float((v * support).sum() / support.sum()) if support.sum() else float(zero_division)
    return float(v.mean()) if v.size else float(zero_division)


def _prf(which, y_pred, y_true, average, num_classes, threshold, from_logits, sample_weight,
         beta=1.0, zero_division=0.0):  # fmt: skip
    P, T, kind = _indicators(
        y_pred, y_true, threshold=threshold, from_logits=from_logits, num_classes=num_classes
    )
    tp, fp, fn = _stats(P, T, _row_weights(sample_weight, P.shape[0]))
    return _reduce_prf(tp, fp, fn, which, average, kind, beta, zero_division)


def precision(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    average: str | None = "auto",
    num_classes: int | None = None,
    threshold: float | None = None,
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
    zero_division: float = 0.0,
) -> float | np.ndarray:
    """Precision ``tp / (tp + fp)``.

    ``average``: ``"binary"`` (positive class 1), ``"micro"`` (global counts), ``"macro"``
    (unweighted mean over classes), ``"weighted"`` (mean weighted by support), ``None`` (per-class
    array) or ``"auto"`` (``"binary"`` for binary inputs, else ``"macro"``). ``threshold`` defaults
    to 0.5 for one score per sample; given with ``(N, C)`` scores and multi-hot labels it makes the
    problem multi-label. Classes with no predicted samples count as ``zero_division``.

    Example:
        >>> precision([0.9, 0.8, 0.3, 0.6], [1, 0, 0, 1])
        0.6666666666666666
        >>> precision([0, 1, 2, 2], [0, 1, 1, 2], average="macro")
        0.8333333333333334
        >>> precision([0, 1, 2, 2], [0, 1, 1, 2], average=None)
        array([1. , 1. , 0.5])
    """
    return _prf("precision", y_pred, y_true, average, num_classes, threshold, from_logits,
                sample_weight, zero_division=zero_division)  # fmt: skip


def recall(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    average: str | None = "auto",
    num_classes: int | None = None,
    threshold: float | None = None,
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
    zero_division: float = 0.0,
) -> float | np.ndarray:
    """Recall ``tp / (tp + fn)``; arguments as in :func:`precision`.

    Example:
        >>> recall([0.9, 0.8, 0.3, 0.6], [1, 0, 0, 1])
        1.0
        >>> recall([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], [1, 0, 0], average="micro")
        0.6666666666666666
    """
    return _prf("recall", y_pred, y_true, average, num_classes, threshold, from_logits,
                sample_weight, zero_division=zero_division)  # fmt: skip


def fbeta_score(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    beta: float = 1.0,
    average: str | None = "auto",
    num_classes: int | None = None,
    threshold: float | None = None,
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
    zero_division: float = 0.0,
) -> float | np.ndarray:
    """F-beta score ``(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp)``; see :func:`precision`.

    Example:
        >>> fbeta_score([1, 0, 1, 1], [1, 0, 0, 1], beta=2.0)
        0.9090909090909091
    """
    return _prf("f", y_pred, y_true, average, num_classes, threshold, from_logits, sample_weight,
                beta, zero_division)  # fmt: skip


def f1_score(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    average: str | None = "auto",
    num_classes: int | None = None,
    threshold: float | None = None,
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
    zero_division: float = 0.0,
) -> float | np.ndarray:
    """F1 score, the harmonic mean of precision and recall; arguments as in :func:`precision`.

    Example:
        >>> f1_score([0, 1, 2, 2], [0, 1, 1, 2], average="macro")
        0.7777777777777777
        >>> f1_score([0, 1, 2, 2], [0, 1, 1, 2], average="micro")
        0.75
    """
    return _prf("f", y_pred, y_true, average, num_classes, threshold, from_logits, sample_weight,
                1.0, zero_division)  # fmt: skip


def confusion_matrix(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    num_classes: int | None = None,
    threshold: float = 0.5,
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
) -> np.ndarray:
    """``(K, K)`` matrix counting samples with true class ``i`` (row) predicted as ``j`` (column).

    The layout is scikit-learn's. Integer counts (``int64``), or ``float64`` sums when
    ``sample_weight`` is given. Binary scores are thresholded, ``(N, C)`` scores use ``argmax``.

    Example:
        >>> confusion_matrix([0.8, 0.4, 0.6, 0.1], [1, 1, 0, 0])
        array([[1, 1],
               [1, 1]])
        >>> confusion_matrix([[0.9, 0.1], [0.2, 0.8]], [0, 0], num_classes=3)
        array([[1, 1, 0],
               [0, 0, 0],
               [0, 0, 0]])
    """
    pred, true, k = _label_pairs(y_pred, y_true, threshold, from_logits, num_classes)
    return _confusion(pred, true, k, None if sample_weight is None else
                      _row_weights(sample_weight, pred.size))  # fmt: skip


def _label_pairs(y_pred, y_true, threshold, from_logits, num_classes):
    yp, yt = to_numpy(y_pred), to_numpy(y_true)
    if _is_sparse(yp, yt):
        c = yp.shape[-1]
        pred = yp.reshape(-1, c).argmax(axis=-1)
        true = _sparse_labels(yp, yt).reshape(-1)
    elif yp.shape == yt.shape and yp.ndim >= 2 and yp.shape[-1] > 1:
        c = yp.shape[-1]
        pred, true = yp.reshape(-1, c).argmax(axis=-1), yt.reshape(-1, c).argmax(axis=-1)
    else:
        yp, yt = _match_shapes(yp, yt)
        yp, yt = yp.reshape(-1), yt.reshape(-1)
        if yp.dtype.kind in "fc":
            pred = (_scores(yp, from_logits) > threshold).astype(np.int64)
            true = (yt > 0.5).astype(np.int64)
            c = 2
        else:
            pred, true = _as_labels(yp), _as_labels(yt)
            c = int(max(pred.max(initial=0), true.max(initial=0))) + 1
            if num_classes is not None:  # labels must fit a given number of classes
                c = num_classes
    k = max(c, num_classes or 0)
    _check_labels(pred, k)
    _check_labels(true, k)
    return pred, true, k


def _confusion(pred: np.ndarray, true: np.ndarray, k: int, w: np.ndarray | None) -> np.ndarray:
    flat = true * k + pred
    if w is None:
        return np.bincount(flat, minlength=k * k).reshape(k, k).astype(np.int64)
    return np.bincount(flat, weights=w, minlength=k * k).reshape(k, k)


# ---------------------------------------------------------------------------------------------
# ranking metrics: ROC AUC, PR AUC (average precision)
# ---------------------------------------------------------------------------------------------
def _binary_clf_curve(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray):
    """Weighted false/true positive counts at each distinct threshold (descending)."""
    order = np.argsort(-scores, kind="mergesort")
    s, y, w = scores[order], labels[order], weights[order]
    idx = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    tps = np.cumsum(y * w)[idx]
    fps = np.cumsum((1.0 - y) * w)[idx]
    return fps, tps, s[idx]


def _binary_roc_auc(scores, labels, weights) -> float:
    fps, tps, _ = _binary_clf_curve(scores, labels, weights)
    if tps.size == 0 or tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    fpr = np.r_[0.0, fps] / fps[-1]
    tpr = np.r_[0.0, tps] / tps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def _binary_average_precision(scores, labels, weights) -> float:
    fps, tps, _ = _binary_clf_curve(scores, labels, weights)
    if tps.size == 0 or tps[-1] <= 0:
        return float("nan")
    prec = tps / (tps + fps)
    rec = np.r_[0.0, tps / tps[-1]]
    return float(np.sum(np.diff(rec) * prec))


def _ranking_inputs(y_pred, y_true, from_logits):
    """Score / binary-label matrices of shape (M, K) for one-vs-rest ranking metrics."""
    yp, yt = to_numpy(y_pred, np.float64), to_numpy(y_true)
    if _is_sparse(yp, yt):
        c = yp.shape[-1]
        scores = yp.reshape(-1, c)
        if from_logits:
            scores = _softmax(scores)
        labels = _sparse_labels(yp, yt).reshape(-1)
        _check_labels(labels, c)
        return scores, _one_hot(labels, c).astype(np.float64)
    if yp.shape == yt.shape and yp.ndim >= 2 and yp.shape[-1] > 1:
        c = yp.shape[-1]
        return yp.reshape(-1, c), (yt.reshape(-1, c) > 0.5).astype(np.float64)
    yp, yt = _match_shapes(yp, yt)
    return yp.reshape(-1, 1), (yt.reshape(-1, 1) > 0.5).astype(np.float64)


def _ranking_metric(scores, labels, weights, fn, average):
    if average not in ("macro", "micro", "weighted", None):
        raise ValueError(f"average must be 'macro', 'micro', 'weighted' or None, got {average!r}")
    if scores.shape[1] == 1 or average == "micro":
        k = scores.shape[1]
        return fn(scores.reshape(-1), labels.reshape(-1), np.repeat(weights, k))
    per_class = np.array([fn(scores[:, j], labels[:, j], weights) for j in range(scores.shape[1])])
    if average is None:
        return per_class
    if average == "weighted":
        support = (labels * weights[:, None]).sum(axis=0)
        return float(np.sum(per_class * support) / support.sum())
    return float(per_class.mean())


def roc_auc(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    average: str | None = "macro",
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
) -> float | np.ndarray:
    """Exact area under the ROC curve (ties handled by the trapezoidal rule, like scikit-learn).

    Binary: one score per sample. Multi-class ``(N, C)`` scores with integer labels, or
    multi-label ``(N, C)`` with multi-hot labels: one-vs-rest, averaged by ``average``
    (``"macro"``, ``"weighted"``, ``"micro"`` or ``None`` for per-class values). With
    ``from_logits=True`` multi-class scores go through a softmax first. Raises ``ValueError`` if
    only one class is present.

    Example:
        >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.75
        >>> roc_auc([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.1, 0.3, 0.6], [0.4, 0.4, 0.2]],
        ...         [0, 1, 2, 1])
        0.9166666666666666
    """
    scores, labels = _ranking_inputs(y_pred, y_true, from_logits)
    weights = _row_weights(sample_weight, scores.shape[0])
    out = _ranking_metric(scores, labels, weights, _binary_roc_auc, average)
    if np.any(np.isnan(out)):
        raise ValueError(
            "ROC AUC is not defined when y_true holds a single class (for some class in "
            "one-vs-rest)"
        )
    return out


def pr_auc(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    average: str | None = "macro",
    from_logits: bool = False,
    sample_weight: ArrayLike | None = None,
) -> float | np.ndarray:
    """Exact area under the precision-recall curve, as average precision.

    ``AP = sum_n (R_n - R_{n-1}) P_n`` over the distinct thresholds (scikit-learn's
    ``average_precision_score``, a step-wise integral with no optimistic interpolation). Inputs
    and ``average`` as in :func:`roc_auc`; a class with no positive sample scores 0.

    Example:
        >>> pr_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.8333333333333333
    """
    scores, labels = _ranking_inputs(y_pred, y_true, from_logits)
    weights = _row_weights(sample_weight, scores.shape[0])
    out = _ranking_metric(scores, labels, weights, _binary_average_precision, average)
    return np.nan_to_num(out, nan=0.0) if isinstance(out, np.ndarray) else (
        0.0 if np.isnan(out) else out)  # fmt: skip


average_precision = pr_auc


def roc_curve(
    y_pred: ArrayLike, y_true: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary ROC curve: ``(fpr, tpr, thresholds)`` with thresholds decreasing.

    The first point is ``(0, 0)`` at threshold ``inf``.

    Example:
        >>> fpr, tpr, thr = roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        >>> fpr.tolist(), tpr.tolist()
        ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    yp, yt = _match_shapes(to_numpy(y_pred, np.float64), to_numpy(y_true))
    yp, yt = yp.reshape(-1), (yt.reshape(-1) > 0.5).astype(np.float64)
    fps, tps, thr = _binary_clf_curve(yp, yt, _row_weights(sample_weight, yp.size))
    fpr = np.r_[0.0, fps] / (fps[-1] if fps[-1] else 1.0)
    tpr = np.r_[0.0, tps] / (tps[-1] if tps[-1] else 1.0)
    return fpr, tpr, np.r_[np.inf, thr]


def precision_recall_curve(
    y_pred: ArrayLike, y_true: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary precision-recall curve ``(precision, recall, thresholds)``, thresholds increasing.

    As in scikit-learn, the last point is ``(precision=1, recall=0)`` with no threshold.

    Example:
        >>> p, r, t = precision_recall_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        >>> p.round(3).tolist(), r.tolist(), t.tolist()
        ([0.5, 0.667, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0], [0.1, 0.35, 0.4, 0.8])
    """
    yp, yt = _match_shapes(to_numpy(y_pred, np.float64), to_numpy(y_true))
    yp, yt = yp.reshape(-1), (yt.reshape(-1) > 0.5).astype(np.float64)
    fps, tps, thr = _binary_clf_curve(yp, yt, _row_weights(sample_weight, yp.size))
    prec = _div(tps, tps + fps, 0.0)
    rec = tps / tps[-1] if tps[-1] else np.ones_like(tps)
    return np.r_[prec[::-1], 1.0], np.r_[rec[::-1], 0.0], thr[::-1]


# ---------------------------------------------------------------------------------------------
# regression
# ---------------------------------------------------------------------------------------------
def _regression_inputs(y_pred, y_true) -> tuple[np.ndarray, np.ndarray]:
    return _match_shapes(to_numpy(y_pred, np.float64), to_numpy(y_true, np.float64))


def mean_absolute_error(
    y_pred: ArrayLike, y_true: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Mean of ``|y_pred - y_true|`` over all elements (weighted per sample).

    Example:
        >>> mean_absolute_error([2.5, 0.0, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0])
        0.5
    """
    yp, yt = _regression_inputs(y_pred, y_true)
    return _weighted_mean(np.abs(yp - yt), sample_weight)


def mean_squared_error(
    y_pred: ArrayLike, y_true: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Mean of ``(y_pred - y_true) ** 2`` over all elements (weighted per sample).

    Example:
        >>> mean_squared_error([2.5, 0.0, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0])
        0.375
    """
    yp, yt = _regression_inputs(y_pred, y_true)
    return _weighted_mean((yp - yt) ** 2, sample_weight)


def root_mean_squared_error(
    y_pred: ArrayLike, y_true: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> float:
    """Square root of :func:`mean_squared_error`.

    Example:
        >>> root_mean_squared_error([1.0, 2.0], [1.0, 4.0])
        1.4142135623730951
    """
    return float(np.sqrt(mean_squared_error(y_pred, y_true, sample_weight=sample_weight)))


def _r2_from_moments(sw, mean, m2, ss_res, multioutput):
    """R^2 per output from weighted totals: ``1 - ss_res / ss_tot`` (scikit-learn's rules)."""
    ss_tot = np.asarray(m2, np.float64)
    ss_res = np.asarray(ss_res, np.float64)
    r2 = np.ones_like(ss_tot)
    nz = ss_tot != 0
    r2[nz] = 1.0 - ss_res[nz] / ss_tot[nz]
    r2[~nz & (ss_res != 0)] = 0.0  # constant target, imperfect prediction (force_finite)
    if multioutput == "raw_values":
        return r2
    if multioutput == "uniform_average":
        return float(r2.mean())
    if multioutput in ("variance_weighted", "variance_weighted_average"):
        return float((r2 * ss_tot).sum() / ss_tot.sum()) if ss_tot.sum() else float(r2.mean())
    raise ValueError(
        "multioutput must be 'uniform_average', 'variance_weighted' or 'raw_values', got "
        f"{multioutput!r}"
    )


def _r2_batch(yp: np.ndarray, yt: np.ndarray, sample_weight) -> tuple[Any, ...]:
    n = yt.shape[0] if yt.ndim else 1
    yt2, yp2 = yt.reshape(n, -1), yp.reshape(n, -1)
    w = _row_weights(sample_weight, n)[:, None]
    sw = np.broadcast_to(w, yt2.shape).sum(axis=0)
    mean = (w * yt2).sum(axis=0) / np.where(sw == 0, 1.0, sw)
    m2 = (w * (yt2 - mean) ** 2).sum(axis=0)
    ss_res = (w * (yt2 - yp2) ** 2).sum(axis=0)
    return sw, mean, m2, ss_res


def r2_score(
    y_pred: ArrayLike,
    y_true: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    multioutput: str = "uniform_average",
) -> float | np.ndarray:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (scikit-learn's ``r2_score``).

    Multi-output targets ``(N, D)`` give one score per output, combined by ``multioutput``
    (``"uniform_average"``, ``"variance_weighted"`` or ``"raw_values"``). A constant target scores
    1 if predicted exactly, else 0.

    Example:
        >>> r2_score([[0, 2], [-1, 2], [8, -5]], [[0.5, 1], [-1, 1], [7, -6]])
        0.9368005266622779
    """
    yp, yt = _regression_inputs(y_pred, y_true)
    sw, mean, m2, ss_res = _r2_batch(yp, yt, sample_weight)
    return _r2_from_moments(sw, mean, m2, ss_res, multioutput)
