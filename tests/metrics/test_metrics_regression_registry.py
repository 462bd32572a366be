"""Regression metrics, the Metric base classes and ``ember.metrics.get``."""

import numpy as np
import pytest

import ember
from ember import metrics
from ember.metrics import functional as F

try:
    import sklearn.metrics as skm
except ImportError:  # pragma: no cover
    skm = None

needs_sklearn = pytest.mark.skipif(skm is None, reason="scikit-learn is not installed")

rng = np.random.default_rng(1)
YT = rng.normal(3.0, 2.0, size=(120, 3))
YP = YT + rng.normal(0, 0.7, size=YT.shape)
W = rng.uniform(0.2, 1.5, size=120)


def test_regression_reference_formulas():
    err = YP - YT
    assert F.mean_absolute_error(YP, YT) == pytest.approx(np.abs(err).mean())
    assert F.mean_squared_error(YP, YT) == pytest.approx((err**2).mean())
    assert F.root_mean_squared_error(YP, YT) == pytest.approx(np.sqrt((err**2).mean()))
    ss_res = (err**2).sum(0)
    ss_tot = ((YT - YT.mean(0)) ** 2).sum(0)
    assert F.r2_score(YP, YT) == pytest.approx(np.mean(1 - ss_res / ss_tot))
    np.testing.assert_allclose(F.r2_score(YP, YT, multioutput="raw_values"), 1 - ss_res / ss_tot)
    wm = np.average(np.abs(err).mean(1), weights=W)
    assert F.mean_absolute_error(YP, YT, sample_weight=W) == pytest.approx(wm)


@pytest.mark.parametrize(
    "name,fn",
    [("mae", F.mean_absolute_error), ("mse", F.mean_squared_error),
     ("rmse", F.root_mean_squared_error), ("r2", F.r2_score)],
)  # fmt: skip
def test_stateful_regression_batches(name, fn):
    m = metrics.get(name)
    assert m.name == name
    for i in range(0, 120, 25):
        m.update_state(ember.tensor(YP[i : i + 25]), YT[i : i + 25], sample_weight=W[i : i + 25])
    assert m.result() == pytest.approx(fn(YP, YT, sample_weight=W))
    m.reset_state()
    assert m.result() == 0.0


def test_r2_large_mean_is_stable():
    yt = 1e8 + rng.normal(size=500)
    yp = yt + 0.1 * rng.normal(size=500)
    m = metrics.R2Score()
    for i in range(0, 500, 7):
        m.update_state(yp[i : i + 7], yt[i : i + 7])
    assert m.result() == pytest.approx(F.r2_score(yp, yt), abs=1e-6)


def test_r2_constant_target_and_shapes():
    assert F.r2_score([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert F.r2_score([1.0, 2.0], [1.0, 1.0]) == 0.0
    # (N, 1) predictions against (N,) targets: no N x N broadcasting
    assert F.mean_squared_error(np.ones((4, 1)), np.zeros(4)) == 1.0
    with pytest.raises(ValueError):
        F.mean_squared_error(np.ones((4, 2)), np.zeros((3, 2)))


@needs_sklearn
def test_regression_against_sklearn():
    assert F.mean_absolute_error(YP, YT, sample_weight=W) == pytest.approx(
        skm.mean_absolute_error(YT, YP, sample_weight=W)
    )
    assert F.mean_squared_error(YP, YT, sample_weight=W) == pytest.approx(
        skm.mean_squared_error(YT, YP, sample_weight=W)
    )
    for mo in ["uniform_average", "variance_weighted", "raw_values"]:
        np.testing.assert_allclose(
            F.r2_score(YP, YT, sample_weight=W, multioutput=mo),
            skm.r2_score(YT, YP, sample_weight=W, multioutput=mo),
        )
        m = metrics.R2Score(multioutput=mo)
        for i in range(0, 120, 50):
            m.update_state(YP[i : i + 50], YT[i : i + 50], W[i : i + 50])
        np.testing.assert_allclose(
            m.result(), skm.r2_score(YT, YP, sample_weight=W, multioutput=mo)
        )


def test_get_names():
    cases = {
        "accuracy": metrics.Accuracy,
        "acc": metrics.Accuracy,
        "sparse_categorical_accuracy": metrics.SparseCategoricalAccuracy,
        "categorical_accuracy": metrics.CategoricalAccuracy,
        "binary_accuracy": metrics.BinaryAccuracy,
        "top_k_accuracy": metrics.TopKAccuracy,
        "top5": metrics.TopKAccuracy,
        "precision": metrics.Precision,
        "recall": metrics.Recall,
        "f1": metrics.F1Score,
        "auc": metrics.AUC,
        "mae": metrics.MeanAbsoluteError,
        "mse": metrics.MeanSquaredError,
        "rmse": metrics.RootMeanSquaredError,
        "r2": metrics.R2Score,
        "confusion_matrix": metrics.ConfusionMatrix,
        "MAE": metrics.MeanAbsoluteError,
    }
    for name, cls in cases.items():
        m = metrics.get(name)
        assert isinstance(m, cls), name
        assert m.name == name
        assert metrics.get(name) is not m  # fresh state each time
    assert metrics.get("top5").k == 5 and metrics.get("top_3_accuracy").k == 3
    assert metrics.get("pr_auc").curve == "PR"
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.get("nope")
    with pytest.raises(TypeError):
        metrics.get(3)


def test_get_instance_class_and_callable():
    m = metrics.AUC(curve="PR")
    assert metrics.get(m) is m
    assert isinstance(metrics.get(metrics.Recall), metrics.Recall)

    def mean_diff(y_pred, y_true):
        return ember.tensor(y_pred) - ember.tensor(y_true)

    w = metrics.get(mean_diff)
    assert w.name == "mean_diff"
    w.update_state([1.0, 3.0], [0.0, 0.0])
    w.update_state([5.0], [0.0], sample_weight=[2.0])
    assert w.result() == pytest.approx((1 + 3 + 10) / 4)

    # a loss module (scalar result) is weighted by batch size
    loss = ember.nn.MSELoss()
    lm = metrics.get(loss)
    assert lm.name == "mse_loss"
    lm.update_state(ember.tensor([1.0, 1.0]), ember.tensor([0.0, 0.0]))
    lm.update_state(ember.tensor([2.0]), ember.tensor([0.0]))
    assert lm.result() == pytest.approx((1 + 1 + 4) / 3)


def test_metric_protocol_and_inputs():
    m = metrics.Mean(name="loss")
    m.update_state(ember.tensor([1.0, 2.0], requires_grad=True))
    m.update_state(np.float32(3.0))
    assert isinstance(m.result(), float) and m.result() == 2.0
    m.reset_states()
    assert m.result() == 0.0
    s = metrics.Sum()
    s.update_state([[1, 2], [3, 4]], sample_weight=[1.0, 0.0])
    assert s.result() == 3.0
    assert "Mean" in repr(m)
    assert metrics.Accuracy(threshold=0.3).get_config()["threshold"] == 0.3
    with pytest.raises(ValueError, match="sample_weight"):
        metrics.Mean().update_state([1.0, 2.0], sample_weight=[1.0, 2.0, 3.0])


def test_results_are_python_floats():
    for name in ["accuracy", "precision", "recall", "f1", "auc", "mae", "mse", "rmse", "r2"]:
        m = metrics.get(name)
        m.update_state(ember.tensor([0.9, 0.2, 0.6, 0.3]), ember.tensor([1, 0, 0, 1]))
        assert type(m.result()) is float, name


def test_bfloat16_and_float16_inputs():
    x = ember.tensor([0.9, 0.1]).half()
    assert F.binary_accuracy(x, [1, 0]) == 1.0
