"""fit/evaluate/predict on small problems: convergence, inputs of every kind, outputs."""

import io

import numpy as np
import pytest
from _helpers import accuracy, blobs, mlp

import ember
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.training import Model, Trainer


def test_linear_regression_converges():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 3))
    w = np.array([[2.0], [-1.0], [0.5]])
    y = x @ w + 0.3
    ember.manual_seed(0)
    model = Model(nn.Linear(3, 1))
    model.compile(optimizer="adam", loss="mse", lr=0.05)
    hist = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < 1e-3
    np.testing.assert_allclose(model.wrapped_module.weight.detach().numpy().T, w, atol=0.02)
    np.testing.assert_allclose(model.wrapped_module.bias.detach().numpy(), [0.3], atol=0.02)


@pytest.mark.parametrize("classes", [2, 10])
def test_classification_converges(classes):
    x, y = blobs(n=400, classes=classes, dim=8, spread=0.4)
    model = Model(mlp(8, classes, hidden=32))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", lr=0.01)
    hist = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert accuracy(model, x, y) > 0.95


def test_binary_with_logits_and_float_targets():
    x, y = blobs(n=200, classes=2, dim=3)
    ember.manual_seed(0)
    model = Model(nn.Linear(3, 1))
    model.compile("adam", "bce_with_logits", lr=0.05)
    h = model.fit(x, y[:, None].astype(np.float32), epochs=20, verbose=0)
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    pred = model.predict(x, verbose=0)[:, 0] > 0
    assert (pred == y).mean() > 0.85


class TwoInputs(Model):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 8)
        self.b = nn.Linear(3, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, image, meta):
        return self.head((self.a(image) + self.b(meta)).relu())


def _two_input_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.normal(size=(n, 2)).astype(np.float32)
    meta = rng.normal(size=(n, 3)).astype(np.float32)
    y = ((image[:, 0] + meta[:, 1]) > 0).astype(np.int64)
    return image, meta, y


def test_multi_input_dict_model():
    image, meta, y = _two_input_data()
    ember.manual_seed(0)
    model = TwoInputs()
    model.compile("adam", "cross_entropy", lr=0.02)
    x = {"image": image, "meta": ember.from_numpy(meta)}  # numpy and tensors mixed
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    pred = model.predict(x, verbose=0)
    assert (pred.argmax(1) == y).mean() > 0.93
    direct = model(ember.from_numpy(image), ember.from_numpy(meta)).detach().numpy()
    np.testing.assert_allclose(pred, direct, atol=1e-5)


def test_multi_input_tuple_and_dict_as_single_argument():
    image, meta, y = _two_input_data(n=64)
    ember.manual_seed(0)
    model = TwoInputs()
    model.compile("sgd", "cross_entropy")
    model.fit((image, meta), y, epochs=1, verbose=0)

    class DictNet(Model):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 2)

        def forward(self, inputs):
            return self.fc(ember.cat([inputs["image"], inputs["meta"]], 1))

    net = DictNet()
    net.compile("sgd", "cross_entropy")
    h = net.fit({"image": image, "meta": meta}, y, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2


def test_dataset_and_dataloader_inputs():
    x, y = blobs(n=200, classes=3, dim=4)
    ds = TensorDataset(ember.from_numpy(x), ember.from_numpy(y))
    model = Model(mlp(4, 3))
    model.compile("adam", "cross_entropy", lr=0.02)
    model.fit(ds, epochs=5, batch_size=16, verbose=0)
    loader = DataLoader(ds, batch_size=20, shuffle=True, generator=ember.Generator().manual_seed(1))
    h = model.fit(loader, epochs=5, verbose=0, validation_data=DataLoader(ds, batch_size=50))
    assert "val_loss" in h.history
    assert accuracy(model, x, y) > 0.9
    np.testing.assert_allclose(model.predict(ds, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError):
        model.fit(loader, y, epochs=1, verbose=0)


def test_predict_equals_forward_in_eval_mode():
    ember.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, 3))
    model = Model(net)
    x = np.random.default_rng(0).normal(size=(37, 4)).astype(np.float32)
    out = model.predict(x, batch_size=8, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (37, 3)
    net.eval()
    with ember.no_grad():
        ref = net(ember.from_numpy(x)).numpy()
    net.train()
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert model.training and net.training  # the mode is restored


def test_predict_structured_outputs():
    class TwoHeads(Model):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 3)
            self.b = nn.Linear(2, 1)

        def forward(self, x):
            return {"cls": self.a(x), "reg": self.b(x)}

    out = TwoHeads().predict(np.zeros((10, 2)), batch_size=4, verbose=0)
    assert out["cls"].shape == (10, 3) and out["reg"].shape == (10, 1)


def test_evaluate_return_forms():
    x, y = blobs(n=64, classes=2, dim=3)
    model = Model(mlp(3, 2))

    def top1(y_pred, y_true):
        return (y_pred.argmax(1) == y_true).float().mean()

    model.compile("sgd", "cross_entropy", metrics=[top1])
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(d) == ["loss", "top1"]
    lst = model.evaluate(x, y, verbose=0)
    assert lst == [d["loss"], d["top1"]]
    logits = model(ember.from_numpy(x))
    manual_loss = float(ember.nn.functional.cross_entropy(logits, ember.from_numpy(y)).item())
    assert d["loss"] == pytest.approx(manual_loss, rel=1e-5)
    assert d["top1"] == pytest.approx(float((logits.detach().numpy().argmax(1) == y).mean()))
    model.compile("sgd", "cross_entropy")
    assert isinstance(model.evaluate(x, y, verbose=0, batch_size=7), float)


def test_validation_split_and_validation_data_logs():
    x, y = blobs(n=100, classes=2, dim=3)
    model = Model(mlp(3, 2))
    model.compile("adam", "cross_entropy", metrics=[lambda p, t: (p.argmax(1) == t).float().mean()])
    h = model.fit(x, y, epochs=2, validation_split=0.2, verbose=0)
    assert set(h.history) == {"loss", "<lambda>", "val_loss", "val_<lambda>"}
    ref = model.evaluate(x[80:], y[80:], verbose=0, return_dict=True)
    assert h.history["val_loss"][-1] == pytest.approx(ref["loss"], rel=1e-5)
    h = model.fit(
        x, y, epochs=3, validation_data=(x[:10], y[:10], np.ones(10)), verbose=0, validation_freq=2
    )
    assert len(h.history["val_loss"]) == 1 and len(h.history["loss"]) == 3


def test_steps_per_epoch_continues_the_stream_and_initial_epoch():
    x, y = blobs(n=50, classes=2, dim=3)
    model = Model(mlp(3, 2))
    model.compile("sgd", "cross_entropy")
    seen = []
    cb = ember.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    h = model.fit(
        x, y, epochs=4, initial_epoch=1, steps_per_epoch=3, batch_size=16, callbacks=[cb], verbose=0
    )
    assert h.epoch == [1, 2, 3]
    assert seen == [0, 1, 2] * 3


def test_wrapper_state_dict_keys_and_subclass_and_mixin():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    model = Model(net)
    assert list(model.state_dict()) == list(net.state_dict())
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in net.named_parameters()]
    model.compile("adam", "mse")
    assert list(model.state_dict()) == list(net.state_dict())  # compiling adds nothing
    other = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    other.load_state_dict(model.state_dict())
    model.load_state_dict(other.state_dict())
    assert model.wrapped_module is net
    net.hidden_size = 3
    assert model.hidden_size == 3  # attribute access falls through to the wrapped module
    assert model.eval() is model and not net.training and not net[1].training
    assert "Sequential" in repr(model)

    class Mixed(Trainer, nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, x):
            return self.fc(x)

    m = Mixed()
    m.compile("sgd", nn.MSELoss(), lr=0.1)
    h = m.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert sorted(m.state_dict()) == ["fc.bias", "fc.weight"]


def test_compile_options():
    model = Model(nn.Linear(2, 2))
    for name, cls in [
        ("sgd", "SGD"),
        ("adam", "Adam"),
        ("adamw", "AdamW"),
        ("rmsprop", "RMSprop"),
        ("adagrad", "Adagrad"),
    ]:
        model.compile(name, "mse", lr=0.123)
        assert type(model.optimizer).__name__ == cls
        assert model.optimizer.param_groups[0]["lr"] == 0.123
    model.compile(ember.optim.SGD, "huber")
    assert type(model.optimizer).__name__ == "SGD"
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile("nope", "mse")
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile("sgd", "nope")
    with pytest.raises(RuntimeError, match="compile"):
        Model(nn.Linear(1, 1)).fit(np.zeros((2, 1)), np.zeros((2, 1)), verbose=0)


def test_string_metric_uses_ember_metrics():
    metrics = pytest.importorskip("ember.metrics")
    if not hasattr(metrics, "get"):
        pytest.skip("ember.metrics.get not available yet")
    x, y = blobs(n=120, classes=2, dim=3)
    model = Model(mlp(3, 2))
    model.compile("adam", "cross_entropy", metrics=["accuracy"], lr=0.02)
    h = model.fit(x, y, epochs=10, verbose=0, validation_split=0.25)
    name = model.metrics_names[1]
    assert f"val_{name}" in h.history
    assert h.history[name][-1] > 0.8


def test_summary_uses_ember_utils_summary():
    summary_mod = pytest.importorskip("ember.utils.summary")
    if not hasattr(summary_mod, "summary"):
        pytest.skip("ember.utils.summary.summary not available yet")
    model = Model(mlp(3, 2))
    lines = []
    text = model.summary(input_size=(1, 3), print_fn=lines.append)
    assert isinstance(text, str) and lines == [text]


def test_verbose_output_in_a_non_terminal(capsys):
    x, y = blobs(n=40, classes=2, dim=3)
    model = Model(mlp(3, 2))
    model.compile("sgd", "cross_entropy", metrics=[lambda p, t: (p.argmax(1) == t).float().mean()])
    model.fit(x, y, epochs=3, validation_split=0.25, verbose=1)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3
    assert out[0].startswith("Epoch 1/3 - ") and "loss: " in out[0] and "val_loss: " in out[0]
    model.fit(x, y, epochs=2, verbose=2)
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    model.fit(x, y, epochs=2, verbose=0)
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""
    model.evaluate(x, y, verbose=1)
    assert "loss: " in capsys.readouterr().out


def test_progress_bar_with_tqdm():
    from ember.callbacks import ProgbarLogger

    out = io.StringIO()
    x, y = blobs(n=40, classes=2, dim=3)
    model = Model(mlp(3, 2))
    model.compile("sgd", "cross_entropy")
    model.fit(x, y, epochs=2, batch_size=10, callbacks=[ProgbarLogger(stream=out, use_tqdm=True)])
    text = out.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "4/4" in text
