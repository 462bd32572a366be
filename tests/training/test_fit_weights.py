"""class_weight and sample_weight change the loss exactly as a manual computation does."""

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.training import Model
from ember.training.data_adapter import class_weight_to_sample_weight


def _data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=n)
    return x, y


def _manual_step(weights, x, y, w, lr):
    """One SGD step with loss mean(w_i * ce_i); returns (loss, new weight, new bias)."""
    lin = nn.Linear(3, 3)
    lin.load_state_dict(weights)
    per_sample = F.cross_entropy(lin(ember.from_numpy(x)), ember.from_numpy(y), reduction="none")
    loss = (per_sample * ember.from_numpy(w.astype(np.float32))).mean()
    loss.backward()
    new_w = lin.weight.detach().numpy() - lr * lin.weight.grad.numpy()
    new_b = lin.bias.detach().numpy() - lr * lin.bias.grad.numpy()
    return float(loss.item()), new_w, new_b


@pytest.mark.parametrize("kind", ["class_weight", "sample_weight", "both"])
def test_weights_match_manual_computation(kind):
    x, y = _data()
    ember.manual_seed(0)
    lin = nn.Linear(3, 3)
    start = {k: v.clone() for k, v in lin.state_dict().items()}
    class_weight = {0: 0.5, 1: 2.0, 2: 3.0}
    sample_weight = np.linspace(0.1, 2.0, len(y))
    w = np.ones(len(y))
    kwargs = {}
    if kind in ("class_weight", "both"):
        kwargs["class_weight"] = class_weight
        w = w * np.array([class_weight[c] for c in y])
    if kind in ("sample_weight", "both"):
        kwargs["sample_weight"] = sample_weight
        w = w * sample_weight
    model = Model(lin)
    model.compile("sgd", "cross_entropy", lr=0.1)
    h = model.fit(x, y, batch_size=len(y), epochs=1, shuffle=False, verbose=0, **kwargs)
    loss, new_w, new_b = _manual_step(start, x, y, w, 0.1)
    assert h.history["loss"][0] == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(lin.weight.detach().numpy(), new_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lin.bias.detach().numpy(), new_b, rtol=1e-5, atol=1e-6)


def test_weighted_loss_differs_from_unweighted_and_nn_module_loss():
    x, y = _data()
    ember.manual_seed(0)
    model = Model(nn.Linear(3, 3))
    model.compile("sgd", nn.CrossEntropyLoss(), lr=0.0)
    plain = model.evaluate(x, y, verbose=0)
    sw = np.where(y == 0, 5.0, 0.0)
    weighted = model.evaluate(x, y, sample_weight=sw, verbose=0)
    logits = model(ember.from_numpy(x))
    per = F.cross_entropy(logits, ember.from_numpy(y), reduction="none").detach().numpy()
    assert weighted == pytest.approx(float((per * sw).mean()), rel=1e-5)
    assert plain == pytest.approx(float(per.mean()), rel=1e-5)
    assert model.loss.reduction == "mean"  # restored after the per-sample call


def test_custom_loss_without_reduction_argument():
    x, y = _data()
    model = Model(nn.Linear(3, 3))

    def per_sample_ce(y_pred, y_true):  # Keras-style: returns one loss per sample
        return F.cross_entropy(y_pred, y_true, reduction="none")

    model.compile("sgd", per_sample_ce)
    model.fit(x, y, sample_weight=np.ones(len(y)), epochs=1, verbose=0)

    model.compile("sgd", lambda p, t: F.cross_entropy(p, t))
    with pytest.raises(ValueError, match="reduction"):
        model.fit(x, y, class_weight={0: 2.0}, epochs=1, verbose=0)


def test_class_weight_label_layouts():
    cw = {0: 1.0, 1: 4.0}
    np.testing.assert_array_equal(class_weight_to_sample_weight(np.array([1, 0]), cw), [4, 1])
    np.testing.assert_array_equal(
        class_weight_to_sample_weight(np.array([[0.0, 1.0], [1.0, 0.0]]), cw), [4, 1]
    )
    np.testing.assert_array_equal(
        class_weight_to_sample_weight(np.array([[1.0], [0.0]]), cw), [4, 1]
    )
