"""Callbacks: hook order, EarlyStopping, ModelCheckpoint, LR schedules, CSV, NaN, TensorBoard."""

import csv
import math
import os

import numpy as np
import pytest
from _helpers import blobs, mlp

import ember
from ember import callbacks
from ember.serialization import load
from ember.training import Model


def _model(classes=2, dim=3, lr=0.01, optimizer="sgd"):
    model = Model(mlp(dim, classes))
    model.compile(optimizer, "cross_entropy", lr=lr)
    return model


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name.startswith("on_") and name not in ("on_batch_begin", "on_batch_end"):
            calls = object.__getattribute__(self, "calls")

            def record(*args, **kwargs):
                calls.append(
                    name
                    if not args or isinstance(args[0], dict) or args[0] is None
                    else f"{name}({args[0]})"
                )
                return attr(*args, **kwargs)

            return record
        return attr


def test_hook_order_fit_evaluate_predict():
    x, y = blobs(n=20, classes=2, dim=3)
    model = _model()
    rec = Recorder()
    model.fit(
        x, y, epochs=2, batch_size=10, validation_data=(x[:5], y[:5]), callbacks=[rec], verbose=0
    )
    epoch = [
        "on_train_batch_begin(0)",
        "on_train_batch_end(0)",
        "on_train_batch_begin(1)",
        "on_train_batch_end(1)",
        "on_test_begin",
        "on_test_batch_begin(0)",
        "on_test_batch_end(0)",
        "on_test_end",
    ]
    assert rec.calls == (
        ["on_train_begin"]
        + ["on_epoch_begin(0)", *epoch, "on_epoch_end(0)"]
        + ["on_epoch_begin(1)", *epoch, "on_epoch_end(1)"]
        + ["on_train_end"]
    )
    rec.calls.clear()
    model.evaluate(x, y, batch_size=20, callbacks=[rec], verbose=0)
    assert rec.calls == [
        "on_test_begin",
        "on_test_batch_begin(0)",
        "on_test_batch_end(0)",
        "on_test_end",
    ]
    rec.calls.clear()
    model.predict(x, batch_size=20, callbacks=[rec], verbose=0)
    assert rec.calls == [
        "on_predict_begin",
        "on_predict_batch_begin(0)",
        "on_predict_batch_end(0)",
        "on_predict_end",
    ]


def test_logs_seen_by_callbacks_and_history_and_stop_training():
    x, y = blobs(n=40, classes=2, dim=3)
    model = _model()
    seen = {}

    def on_epoch_end(epoch, logs):
        seen[epoch] = dict(logs)
        if epoch == 1:
            model.stop_training = True

    h = model.fit(
        x,
        y,
        epochs=10,
        validation_split=0.5,
        verbose=0,
        callbacks=[callbacks.LambdaCallback(on_epoch_end=on_epoch_end)],
    )
    assert h.epoch == [0, 1] and model.history is h
    assert list(seen[0]) == ["loss", "val_loss"]
    assert h.history["val_loss"] == [seen[0]["val_loss"], seen[1]["val_loss"]]


def test_batch_logs_are_running_averages():
    x, y = blobs(n=30, classes=2, dim=3)
    model = _model(lr=0.0)
    batch_logs = []
    model.fit(
        x,
        y,
        epochs=1,
        batch_size=10,
        shuffle=False,
        verbose=0,
        callbacks=[
            callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batch_logs.append(logs))
        ],
    )
    per_batch = [model.evaluate(x[i : i + 10], y[i : i + 10], verbose=0) for i in (0, 10, 20)]
    assert batch_logs[0]["loss"] == pytest.approx(per_batch[0], rel=1e-5)
    assert batch_logs[2]["loss"] == pytest.approx(np.mean(per_batch), rel=1e-5)


def test_early_stopping_restores_best_weights():
    x, y = blobs(n=60, classes=2, dim=3)
    model = _model(lr=0.05)
    snapshots = []
    val_losses = iter([1.0, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1])

    class FakeVal(callbacks.Callback):  # a controlled val_loss curve, recorded weights
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(val_losses)
            snapshots.append({k: v.clone() for k, v in self.model.state_dict().items()})

    es = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = model.fit(x, y, epochs=7, callbacks=[FakeVal(), es], verbose=0)
    assert h.epoch == [0, 1, 2, 3] and es.stopped_epoch == 3 and es.best_epoch == 1
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), snapshots[1][k].numpy())
    assert not np.array_equal(snapshots[3]["0.weight"].numpy(), snapshots[1]["0.weight"].numpy())


def test_early_stopping_max_mode_and_baseline():
    class Holder:
        stop_training = False

    for baseline, stops in [(None, False), (0.9, True)]:
        es = callbacks.EarlyStopping(monitor="val_acc", patience=2, baseline=baseline)
        assert es.mode == "max"
        es.set_model(Holder())
        es.on_train_begin()
        for epoch, value in enumerate([0.5, 0.6, 0.55]):
            es.on_epoch_end(epoch, {"val_acc": value})
        assert es.model.stop_training == stops  # with a baseline, improving is not enough


@pytest.mark.parametrize("monitor,mode", [("val_loss", "min"), ("val_score", "max")])
def test_model_checkpoint_best_only(tmp_path, monitor, mode):
    x, y = blobs(n=40, classes=2, dim=3)
    model = _model()
    curve = [3.0, 1.0, 2.0, 0.5, 4.0] if mode == "min" else [0.1, 0.5, 0.3, 0.9, 0.2]
    values = iter(curve)
    weights_at = []

    class Inject(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs[monitor] = next(values)
            weights_at.append(self.model.state_dict()["2.bias"].clone())

    path = tmp_path / "best.safetensors"
    ckpt = callbacks.ModelCheckpoint(
        path, monitor=monitor, mode=mode, save_best_only=True, save_weights_only=True
    )
    model.fit(x, y, epochs=5, callbacks=[Inject(), ckpt], verbose=0)
    best_epoch = int(np.argmin(curve) if mode == "min" else np.argmax(curve))
    saved = load(path)
    assert sorted(saved) == sorted(model.state_dict())
    np.testing.assert_array_equal(saved["2.bias"].numpy(), weights_at[best_epoch].numpy())
    assert ckpt.best == curve[best_epoch]
    assert [p.name for p in tmp_path.iterdir()] == ["best.safetensors"]  # no temp files left


def test_model_checkpoint_full_and_per_epoch_paths(tmp_path):
    x, y = blobs(n=40, classes=2, dim=3)
    model = _model(optimizer="adam")
    ckpt = callbacks.ModelCheckpoint(
        tmp_path / "ep{epoch:02d}-{loss:.2f}.safetensors", monitor="loss"
    )
    model.fit(x, y, epochs=3, callbacks=[ckpt], verbose=0)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and names[0].startswith("ep01-")
    full = load(tmp_path / names[-1])
    assert full["epoch"] == 2 and set(full) == {"model", "optimizer", "epoch", "logs"}
    fresh = _model(optimizer="adam")
    fresh.load_state_dict(full["model"])
    fresh.optimizer.load_state_dict(full["optimizer"])
    np.testing.assert_allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_checkpoint_writes_atomically(tmp_path, monkeypatch):
    x, y = blobs(n=20, classes=2, dim=3)
    model = _model()
    path = tmp_path / "w.safetensors"
    model.fit(
        x,
        y,
        epochs=1,
        verbose=0,
        callbacks=[callbacks.ModelCheckpoint(path, save_weights_only=True)],
    )
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        model.fit(
            x,
            y,
            epochs=1,
            verbose=0,
            callbacks=[callbacks.ModelCheckpoint(path, save_weights_only=True)],
        )
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


def test_learning_rate_scheduler_changes_lr():
    x, y = blobs(n=20, classes=2, dim=3)
    model = _model(lr=0.1)
    lrs = []
    cb = callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: lrs.append(model.optimizer.param_groups[0]["lr"])
    )
    h = model.fit(
        x,
        y,
        epochs=4,
        verbose=0,
        callbacks=[
            callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr),
            cb,
        ],
    )
    assert lrs == [0.1, 0.05, 0.025, 0.0125]
    assert h.history["learning_rate"] == lrs
    model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        callbacks=[callbacks.LearningRateScheduler(lambda epoch: 1.0 / (epoch + 1))],
    )
    assert model.optimizer.param_groups[0]["lr"] == pytest.approx(1 / 3)
    model.compile("sgd", "cross_entropy", lr=1.0)
    step = ember.optim.lr_scheduler.StepLR(model.optimizer, step_size=1, gamma=0.1)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.LearningRateScheduler(step)])
    assert model.optimizer.param_groups[0]["lr"] == pytest.approx(0.01)


def test_reduce_lr_on_plateau_changes_lr():
    x, y = blobs(n=20, classes=2, dim=3)
    model = _model(lr=0.0)  # lr 0: the loss never improves
    model.compile("sgd", "cross_entropy", lr=1.0)
    for g in model.optimizer.param_groups:
        g["lr"] = 1.0
    values = iter([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])

    class Flat(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(values)

    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.3)
    h = model.fit(x, y, epochs=6, verbose=0, callbacks=[Flat(), cb])
    assert h.history["learning_rate"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.3]
    assert model.optimizer.param_groups[0]["lr"] == 0.3


def test_csv_logger_content(tmp_path):
    x, y = blobs(n=40, classes=2, dim=3)
    model = _model()
    path = tmp_path / "log.csv"
    h = model.fit(
        x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[callbacks.CSVLogger(path)]
    )
    rows = list(csv.DictReader(open(path)))
    assert list(rows[0]) == ["epoch", "loss", "val_loss"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["loss"]) for r in rows] == pytest.approx(h.history["loss"])
    model.fit(
        x,
        y,
        epochs=5,
        initial_epoch=3,
        verbose=0,
        validation_split=0.25,
        callbacks=[callbacks.CSVLogger(path, append=True)],
    )
    rows = list(csv.DictReader(open(path)))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3, 4]


def test_terminate_on_nan_stops(capsys):
    x, y = blobs(n=40, classes=2, dim=3)
    x[15] = np.nan
    model = _model()
    batches = []
    cb = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))
    h = model.fit(
        x,
        y,
        epochs=5,
        batch_size=10,
        shuffle=False,
        verbose=0,
        callbacks=[callbacks.TerminateOnNaN(), cb],
    )
    assert batches == [0, 1] and h.epoch == [0]
    assert math.isnan(h.history["loss"][0])
    assert "Invalid loss" in capsys.readouterr().out


class FakeWriter:
    instances = []

    def __init__(self, log_dir):
        self.log_dir = str(log_dir)
        self.scalars = []
        self.closed = False
        FakeWriter.instances.append(self)

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_tensorboard_callback_with_a_fake_writer(tmp_path):
    FakeWriter.instances = []
    x, y = blobs(n=40, classes=2, dim=3)
    model = _model()
    tb = callbacks.TensorBoard(tmp_path, update_freq=2, writer_factory=FakeWriter)
    h = model.fit(x, y, epochs=2, batch_size=10, validation_split=0.25, verbose=0, callbacks=[tb])
    writers = {os.path.basename(w.log_dir): w for w in FakeWriter.instances}
    assert set(writers) == {"train", "validation"} and all(w.closed for w in writers.values())
    train = writers["train"].scalars
    assert ("epoch_loss", h.history["loss"][1], 1) in train
    assert [step for tag, _, step in train if tag == "batch_loss"] == [2, 4, 6]
    assert writers["validation"].scalars == [
        ("epoch_loss", h.history["val_loss"][0], 0),
        ("epoch_loss", h.history["val_loss"][1], 1),
    ]


def test_tensorboard_callback_writes_event_files(tmp_path):
    tb_mod = pytest.importorskip("ember.utils.tensorboard")
    if not hasattr(tb_mod, "SummaryWriter"):
        pytest.skip("ember.utils.tensorboard.SummaryWriter not available yet")
    x, y = blobs(n=40, classes=2, dim=3)
    model = _model()
    model.fit(
        x,
        y,
        epochs=2,
        validation_split=0.25,
        verbose=0,
        callbacks=[callbacks.TensorBoard(tmp_path)],
    )
    for sub in ("train", "validation"):
        files = [f for f in os.listdir(tmp_path / sub) if "tfevents" in f]
        assert files and all(os.path.getsize(tmp_path / sub / f) > 0 for f in files)


def test_history_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    x, y = blobs(n=40, classes=2, dim=3)
    model = _model()
    model.compile("sgd", "cross_entropy", metrics=[lambda p, t: (p.argmax(1) == t).float().mean()])
    h = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    path = h.plot(tmp_path / "curves.png")
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_callback_type_errors():
    with pytest.raises(TypeError):
        callbacks.CallbackList([object()])
    with pytest.raises(TypeError):
        callbacks.LambdaCallback(on_epoch_ending=print)
