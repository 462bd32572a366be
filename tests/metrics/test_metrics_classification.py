"""Accuracy, precision / recall / F1, confusion matrix and AUC against reference formulas and
scikit-learn (when installed)."""

import numpy as np
import pytest

import ember
from ember import metrics
from ember.metrics import functional as F

try:
    import sklearn.metrics as skm
except ImportError:  # pragma: no cover - sklearn is an optional test dependency
    skm = None

needs_sklearn = pytest.mark.skipif(skm is None, reason="scikit-learn is not installed")

rng = np.random.default_rng(0)
N, C = 200, 4
LOGITS = rng.normal(size=(N, C))
LABELS = rng.integers(0, C, size=N)
ONE_HOT = np.eye(C)[LABELS]
BIN_SCORES = rng.uniform(size=N)
BIN_LABELS = (rng.uniform(size=N) < BIN_SCORES).astype(np.int64)
WEIGHTS = rng.uniform(0.1, 2.0, size=N)


def as_kinds(x):
    return [x, x.tolist(), ember.tensor(x)]


# -- accuracy --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", range(3))
def test_sparse_categorical_accuracy_inputs(kind):
    expected = np.mean(LOGITS.argmax(1) == LABELS)
    yp, yt = as_kinds(LOGITS)[kind], as_kinds(LABELS)[kind]
    assert F.sparse_categorical_accuracy(yp, yt) == pytest.approx(expected)
    assert F.accuracy(yp, yt) == pytest.approx(expected)
    m = metrics.get("sparse_categorical_accuracy")
    m.update_state(yp, yt)
    assert m.result() == pytest.approx(expected)


def test_accuracy_batches_equal_whole_and_weights():
    expected = np.average(LOGITS.argmax(1) == LABELS, weights=WEIGHTS)
    m = metrics.SparseCategoricalAccuracy()
    for i in range(0, N, 32):
        m.update_state(LOGITS[i : i + 32], LABELS[i : i + 32], sample_weight=WEIGHTS[i : i + 32])
    assert m.result() == pytest.approx(expected)
    assert F.accuracy(LOGITS, LABELS, sample_weight=WEIGHTS) == pytest.approx(expected)
    m.reset_state()
    assert m.result() == 0.0


def test_accuracy_label_column_and_probabilities():
    probs = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
    a = F.accuracy(probs, LABELS[:, None])
    assert a == pytest.approx(np.mean(LOGITS.argmax(1) == LABELS))


def test_categorical_accuracy():
    expected = np.mean(LOGITS.argmax(1) == LABELS)
    assert F.categorical_accuracy(LOGITS, ONE_HOT) == pytest.approx(expected)
    assert metrics.get("categorical_accuracy")(LOGITS, ONE_HOT) == pytest.approx(expected)
    assert F.accuracy(LOGITS, ONE_HOT) == pytest.approx(expected)
    with pytest.raises(ValueError):
        F.categorical_accuracy(LOGITS, LABELS)


def test_binary_accuracy_threshold_and_logits():
    expected = np.mean((BIN_SCORES > 0.5) == BIN_LABELS)
    assert F.binary_accuracy(BIN_SCORES, BIN_LABELS) == pytest.approx(expected)
    assert F.accuracy(BIN_SCORES[:, None], BIN_LABELS) == pytest.approx(expected)
    assert metrics.BinaryAccuracy(threshold=0.7)(BIN_SCORES, BIN_LABELS) == pytest.approx(
        np.mean((BIN_SCORES > 0.7) == BIN_LABELS)
    )
    logits = np.log(BIN_SCORES / (1 - BIN_SCORES))
    assert F.binary_accuracy(logits, BIN_LABELS, from_logits=True) == pytest.approx(expected)
    assert F.binary_accuracy(logits, BIN_LABELS, threshold=0.0) == pytest.approx(expected)
    # multi-label: element-wise
    yp = np.array([[0.9, 0.2], [0.4, 0.8]])
    yt = np.array([[1, 1], [0, 1]])
    assert F.binary_accuracy(yp, yt) == 0.75


def test_accuracy_integer_predictions():
    assert F.accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75


def test_accuracy_sequence_outputs():
    logits = rng.normal(size=(3, 5, 7))
    labels = rng.integers(0, 7, size=(3, 5))
    assert F.accuracy(logits, labels) == pytest.approx(np.mean(logits.argmax(-1) == labels))


def test_accuracy_shape_mismatch_raises():
    with pytest.raises(ValueError):
        F.binary_accuracy(np.zeros((4, 2, 3)), np.zeros((5,)))


def _ref_top_k(scores, labels, k):
    true = scores[np.arange(len(labels)), labels]
    return np.mean((scores > true[:, None]).sum(1) < k)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy(k):
    expected = _ref_top_k(LOGITS, LABELS, k)
    assert F.top_k_accuracy(LOGITS, LABELS, k=k) == pytest.approx(expected)
    assert F.top_k_accuracy(LOGITS, ONE_HOT, k=k) == pytest.approx(expected)
    assert metrics.get(f"top{k}")(LOGITS, LABELS) == pytest.approx(expected)
    if k == 1:
        assert expected == pytest.approx(np.mean(LOGITS.argmax(1) == LABELS))


@needs_sklearn
def test_top_k_against_sklearn():
    for k in (2, 3):
        ref = skm.top_k_accuracy_score(LABELS, LOGITS, k=k, labels=range(C))
        assert F.top_k_accuracy(LOGITS, LABELS, k=k) == pytest.approx(ref)


# -- confusion matrix ------------------------------------------------------------------------
def test_confusion_matrix_reference():
    cm = F.confusion_matrix(LOGITS, LABELS)
    ref = np.zeros((C, C), dtype=np.int64)
    for t, p in zip(LABELS, LOGITS.argmax(1)):
        ref[t, p] += 1
    assert cm.dtype == np.int64 and np.array_equal(cm, ref)
    m = metrics.ConfusionMatrix()
    for i in range(0, N, 50):
        m.update_state(ember.tensor(LOGITS[i : i + 50]), ember.tensor(LABELS[i : i + 50]))
    assert np.array_equal(m.result(), ref)
    assert m.result().dtype == np.int64


def test_confusion_matrix_binary_growth_and_weights():
    cm = F.confusion_matrix(BIN_SCORES, BIN_LABELS)
    p = BIN_SCORES > 0.5
    assert cm.tolist() == [
        [int(np.sum(~p & (BIN_LABELS == 0))), int(np.sum(p & (BIN_LABELS == 0)))],
        [int(np.sum(~p & (BIN_LABELS == 1))), int(np.sum(p & (BIN_LABELS == 1)))],
    ]
    m = metrics.ConfusionMatrix()
    m.update_state([0, 1], [1, 1])
    m.update_state([3], [2])
    assert m.result().shape == (4, 4) and m.result()[2, 3] == 1
    w = F.confusion_matrix([0, 1, 1], [0, 1, 0], sample_weight=[2.0, 0.5, 1.0])
    assert w.tolist() == [[2.0, 1.0], [0.0, 0.5]]
    assert F.confusion_matrix([0, 1], [0, 1], num_classes=3).shape == (3, 3)
    with pytest.raises(ValueError):
        F.confusion_matrix([0, 5], [0, 1], num_classes=3)


@needs_sklearn
def test_confusion_matrix_sklearn():
    ref = skm.confusion_matrix(LABELS, LOGITS.argmax(1), sample_weight=WEIGHTS)
    np.testing.assert_allclose(F.confusion_matrix(LOGITS, LABELS, sample_weight=WEIGHTS), ref)


# -- precision / recall / F1 -----------------------------------------------------------------
def _ref_prf(pred, true, k):
    tp = np.array([np.sum((pred == c) & (true == c)) for c in range(k)], float)
    fp = np.array([np.sum((pred == c) & (true != c)) for c in range(k)], float)
    fn = np.array([np.sum((pred != c) & (true == c)) for c in range(k)], float)
    return tp, fp, fn


def test_precision_recall_f1_reference_formulas():
    pred = LOGITS.argmax(1)
    tp, fp, fn = _ref_prf(pred, LABELS, C)
    p, r = tp / (tp + fp), tp / (tp + fn)
    f = 2 * p * r / (p + r)
    assert F.precision(LOGITS, LABELS, average="macro") == pytest.approx(p.mean())
    assert F.recall(LOGITS, LABELS, average="macro") == pytest.approx(r.mean())
    assert F.f1_score(LOGITS, LABELS, average="macro") == pytest.approx(f.mean())
    micro = tp.sum() / (tp.sum() + fp.sum())
    assert F.precision(LOGITS, LABELS, average="micro") == pytest.approx(micro)
    assert F.f1_score(LOGITS, LABELS, average="micro") == pytest.approx(micro)
    np.testing.assert_allclose(F.recall(LOGITS, LABELS, average=None), r)
    # auto = macro for multi-class
    assert metrics.get("f1")(LOGITS, LABELS) == pytest.approx(f.mean())


def test_binary_precision_recall_f1():
    p = BIN_SCORES > 0.5
    t = BIN_LABELS == 1
    tp, fp, fn = np.sum(p & t), np.sum(p & ~t), np.sum(~p & t)
    assert F.precision(BIN_SCORES, BIN_LABELS) == pytest.approx(tp / (tp + fp))
    assert F.recall(BIN_SCORES, BIN_LABELS) == pytest.approx(tp / (tp + fn))
    assert F.f1_score(BIN_SCORES, BIN_LABELS) == pytest.approx(2 * tp / (2 * tp + fp + fn))
    logits = np.log(BIN_SCORES / (1 - BIN_SCORES))
    assert F.precision(logits, BIN_LABELS, from_logits=True) == pytest.approx(tp / (tp + fp))
    # stateful over batches == whole
    m = metrics.get("precision")
    for i in range(0, N, 64):
        m.update_state(ember.tensor(BIN_SCORES[i : i + 64]), BIN_LABELS[i : i + 64].tolist())
    assert m.result() == pytest.approx(tp / (tp + fp))
    assert m.name == "precision"


def test_prf_zero_division_and_binary_error():
    assert F.precision([0.1, 0.2], [1, 0]) == 0.0
    assert F.precision([0.1, 0.2], [1, 0], zero_division=1.0) == 1.0
    with pytest.raises(ValueError, match="binary"):
        F.precision(LOGITS, LABELS, average="binary")
    assert metrics.Precision().result() == 0.0


def test_multilabel_threshold():
    yp = np.array([[0.9, 0.6, 0.1], [0.2, 0.7, 0.8], [0.6, 0.1, 0.4]])
    yt = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]])
    P = yp > 0.5
    T = yt == 1
    tp, fp, fn = (P & T).sum(), (P & ~T).sum(), (~P & T).sum()
    assert F.precision(yp, yt, threshold=0.5, average="micro") == pytest.approx(tp / (tp + fp))
    assert F.recall(yp, yt, threshold=0.5, average="micro") == pytest.approx(tp / (tp + fn))


@needs_sklearn
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_prf_against_sklearn_multiclass(average):
    pred = LOGITS.argmax(1)
    kw = dict(average=average, sample_weight=WEIGHTS, zero_division=0)
    for ours, ref in [
        (F.precision, skm.precision_score),
        (F.recall, skm.recall_score),
        (F.f1_score, skm.f1_score),
    ]:
        got = ours(LOGITS, LABELS, average=average, sample_weight=WEIGHTS)
        np.testing.assert_allclose(got, ref(LABELS, pred, **kw), rtol=1e-12)
    m = metrics.F1Score(average=average)
    for i in range(0, N, 40):
        m.update_state(LOGITS[i : i + 40], LABELS[i : i + 40], WEIGHTS[i : i + 40])
    np.testing.assert_allclose(m.result(), skm.f1_score(LABELS, pred, **kw), rtol=1e-12)


@needs_sklearn
def test_prf_against_sklearn_binary():
    pred = (BIN_SCORES > 0.5).astype(int)
    for avg in ["binary", "macro", "micro"]:
        assert F.f1_score(BIN_SCORES, BIN_LABELS, average=avg) == pytest.approx(
            skm.f1_score(BIN_LABELS, pred, average=avg)
        )
    assert F.fbeta_score(BIN_SCORES, BIN_LABELS, beta=0.5) == pytest.approx(
        skm.fbeta_score(BIN_LABELS, pred, beta=0.5)
    )


def test_integer_label_predictions_growing_classes():
    m = metrics.Recall(average="macro")
    m.update_state([0, 1, 1], [0, 1, 0])
    m.update_state([2, 2], [2, 1])
    pred, true = np.array([0, 1, 1, 2, 2]), np.array([0, 1, 0, 2, 1])
    tp, fp, fn = _ref_prf(pred, true, 3)
    assert m.result() == pytest.approx((tp / (tp + fn)).mean())


# -- AUC -------------------------------------------------------------------------------------
def _ref_roc_auc(scores, labels):
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0) + 0.5 * (diff == 0)).mean()


def test_roc_auc_pairwise_formula_with_ties():
    scores = np.round(BIN_SCORES, 1)  # many ties
    expected = _ref_roc_auc(scores, BIN_LABELS)
    assert F.roc_auc(scores, BIN_LABELS) == pytest.approx(expected)
    m = metrics.AUC()
    for i in range(0, N, 30):
        m.update_state(ember.tensor(scores[i : i + 30]), BIN_LABELS[i : i + 30])
    assert m.result() == pytest.approx(expected)


def test_pr_auc_reference():
    # average precision: mean of precision at each positive's rank (no ties)
    order = np.argsort(-BIN_SCORES)
    y = BIN_LABELS[order]
    precision_at = np.cumsum(y) / np.arange(1, N + 1)
    expected = precision_at[y == 1].mean()
    assert F.pr_auc(BIN_SCORES, BIN_LABELS) == pytest.approx(expected)
    assert metrics.get("pr_auc")(BIN_SCORES, BIN_LABELS) == pytest.approx(expected)
    assert metrics.AUC(curve="PR")(BIN_SCORES, BIN_LABELS) == pytest.approx(expected)


def test_auc_degenerate():
    with pytest.raises(ValueError, match="single class"):
        F.roc_auc([0.2, 0.3], [1, 1])
    assert metrics.AUC()([0.2, 0.3], [1, 1]) == 0.0
    assert metrics.AUC().result() == 0.0
    assert F.pr_auc([0.2, 0.3], [0, 0]) == 0.0
    with pytest.raises(ValueError):
        metrics.AUC(curve="XY")


def test_multiclass_auc_one_vs_rest():
    per = [_ref_roc_auc(LOGITS[:, c], (LABELS == c).astype(int)) for c in range(C)]
    assert F.roc_auc(LOGITS, LABELS) == pytest.approx(np.mean(per))
    np.testing.assert_allclose(F.roc_auc(LOGITS, LABELS, average=None), per)
    assert metrics.AUC()(LOGITS, ONE_HOT) == pytest.approx(np.mean(per))


@needs_sklearn
def test_auc_against_sklearn():
    w = WEIGHTS
    assert F.roc_auc(BIN_SCORES, BIN_LABELS, sample_weight=w) == pytest.approx(
        skm.roc_auc_score(BIN_LABELS, BIN_SCORES, sample_weight=w)
    )
    assert F.pr_auc(BIN_SCORES, BIN_LABELS, sample_weight=w) == pytest.approx(
        skm.average_precision_score(BIN_LABELS, BIN_SCORES, sample_weight=w)
    )
    probs = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
    for avg in ["macro", "weighted"]:
        ref = skm.roc_auc_score(LABELS, probs, multi_class="ovr", average=avg)
        assert F.roc_auc(probs, LABELS, average=avg) == pytest.approx(ref)
        assert F.roc_auc(LOGITS, LABELS, average=avg, from_logits=True) == pytest.approx(ref)
    for avg in ["macro", "micro", "weighted"]:
        ref = skm.average_precision_score(ONE_HOT, probs, average=avg)
        assert F.pr_auc(probs, ONE_HOT, average=avg) == pytest.approx(ref)
        ref = skm.roc_auc_score(ONE_HOT, probs, average=avg)
        assert metrics.AUC(average=avg)(probs, ONE_HOT) == pytest.approx(ref)
    fpr, tpr, thr = F.roc_curve(BIN_SCORES, BIN_LABELS)
    rfpr, rtpr, _ = skm.roc_curve(BIN_LABELS, BIN_SCORES, drop_intermediate=False)
    np.testing.assert_allclose(fpr, rfpr)
    np.testing.assert_allclose(tpr, rtpr)
    p, r, t = F.precision_recall_curve(BIN_SCORES, BIN_LABELS)
    rp, rr, rt = skm.precision_recall_curve(BIN_LABELS, BIN_SCORES)
    np.testing.assert_allclose(p, rp)
    np.testing.assert_allclose(r, rr)
    np.testing.assert_allclose(t, rt)
