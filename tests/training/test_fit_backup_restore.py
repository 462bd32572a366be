"""BackupAndRestore: a run killed mid-epoch and restarted ends with an uninterrupted run's weights."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os, random, sys
    import numpy as np
    import ember
    from ember import callbacks, nn
    from ember.data import DataLoader, TensorDataset
    from ember.serialization import save
    from ember.training import Model

    mode, kind, backup_dir, out = sys.argv[1:5]
    ember.manual_seed(1234)
    np.random.seed(5)
    random.seed(7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 4)).astype(np.float32)
    y = (x[:, 0] - x[:, 2] > 0).astype(np.int64)
    net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 2))
    model = Model(net)
    model.compile("adam", "cross_entropy", lr=0.01)

    state = {"epoch": -1}
    def on_epoch_begin(epoch, logs):
        state["epoch"] = epoch
    def on_batch_end(batch, logs):
        # python's and numpy's global generators are restored too
        logs_noise.append((random.random(), float(np.random.rand())))
        if mode == "crash" and state["epoch"] == 3 and batch == 2:
            os._exit(3)  # killed mid-epoch: no cleanup, no on_train_end
    logs_noise = []
    cbs = [
        callbacks.BackupAndRestore(backup_dir),
        callbacks.LambdaCallback(on_epoch_begin=on_epoch_begin, on_train_batch_end=on_batch_end),
    ]
    kwargs = dict(epochs=6, verbose=0, callbacks=cbs)
    if kind == "arrays":
        h = model.fit(x, y, batch_size=16, validation_split=0.2, **kwargs)
    elif kind == "steps_per_epoch":
        h = model.fit(x, y, batch_size=16, steps_per_epoch=4, **kwargs)
    elif kind == "dataloader":
        ds = TensorDataset(ember.from_numpy(x), ember.from_numpy(y))
        loader = DataLoader(ds, batch_size=16, shuffle=True,
                            generator=ember.Generator().manual_seed(3))
        h = model.fit(loader, steps_per_epoch=4, **kwargs)
    save(model.state_dict(), out)
    with open(out + ".json", "w") as fh:
        json.dump({"epochs": h.epoch, "noise": logs_noise[-1]}, fh)
    """
)


def _run(tmp_path, mode, kind, backup, out):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONHASHSEED="0")
    return subprocess.run(
        [sys.executable, str(script), mode, kind, str(backup), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.parametrize("kind", ["arrays", "steps_per_epoch", "dataloader"])
def test_killed_run_resumes_to_identical_weights(tmp_path, kind):
    from ember.serialization import load

    full = _run(tmp_path, "full", kind, tmp_path / "backup_full", tmp_path / "full.st")
    assert full.returncode == 0, full.stderr
    assert not os.path.exists(tmp_path / "backup_full" / "backup.safetensors")  # cleaned up

    backup = tmp_path / "backup"
    crashed = _run(tmp_path, "crash", kind, backup, tmp_path / "never.st")
    assert crashed.returncode == 3, crashed.stderr
    assert os.path.exists(backup / "backup.safetensors")
    assert load(backup / "backup.safetensors")["epoch"] == 2

    resumed = _run(tmp_path, "resume", kind, backup, tmp_path / "resumed.st")
    assert resumed.returncode == 0, resumed.stderr
    assert json.load(open(tmp_path / "resumed.st.json"))["epochs"] == [3, 4, 5]
    assert json.load(open(tmp_path / "full.st.json"))["epochs"] == [0, 1, 2, 3, 4, 5]
    assert (
        json.load(open(tmp_path / "resumed.st.json"))["noise"]
        == json.load(open(tmp_path / "full.st.json"))["noise"]
    )

    a, b = load(tmp_path / "full.st"), load(tmp_path / "resumed.st")
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy(), err_msg=k)
    assert not os.path.exists(backup / "backup.safetensors")


def test_backup_restores_in_process(tmp_path):
    """An exception mid-fit, then fit again in the same process, also matches."""
    import ember
    from ember import callbacks, nn
    from ember.training import Model

    def make():
        ember.manual_seed(0)
        m = Model(nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.Linear(8, 2)))
        m.compile("adam", "cross_entropy", lr=0.01)
        return m

    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)

    ember.manual_seed(99)
    ref = make()
    ref.fit(
        x,
        y,
        epochs=4,
        batch_size=8,
        verbose=0,
        callbacks=[callbacks.BackupAndRestore(tmp_path / "ref")],
    )

    class Boom(Exception):
        pass

    def explode(epoch, logs):
        if epoch == 2:
            raise Boom

    ember.manual_seed(99)
    model = make()
    backup = callbacks.BackupAndRestore(tmp_path / "run")
    with pytest.raises(Boom):
        model.fit(
            x,
            y,
            epochs=4,
            batch_size=8,
            verbose=0,
            callbacks=[backup, callbacks.LambdaCallback(on_epoch_begin=explode)],
        )
    ember.manual_seed(99)
    model = make()
    model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[backup])
    assert backup.restored_epoch == 1
    for k, v in ref.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[k].numpy(), v.numpy())
