"""SummaryWriter writes event files that TensorBoard's own EventAccumulator reads back."""

import builtins
import os
import struct
import zlib

import numpy as np
import pytest

import ember
from ember import nn
from ember.utils.tensorboard import summary as tb_summary

tensorboard = pytest.importorskip("tensorboard")

from ember.utils.tensorboard import SummaryWriter  # noqa: E402


def _accumulate(path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(path), size_guidance={"images": 0, "histograms": 0, "tensors": 0})
    ea.Reload()
    return ea


def _decode_png(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0]
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, _, ctype, *_ = hdr
    c = {0: 1, 2: 3, 6: 4}[ctype]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, w * c + 1)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, c)


def test_scalars_steps_and_values(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(5):
            w.add_scalar("loss/train", 1.0 / (step + 1), step)
        w.add_scalar("acc", ember.tensor(0.75), global_step=ember.tensor(7))
        w.add_scalar("np", np.float32(2.5), 3, walltime=1234.5)
    ea = _accumulate(tmp_path)
    events = ea.Scalars("loss/train")
    assert [e.step for e in events] == list(range(5))
    np.testing.assert_allclose(
        [e.value for e in events], [1 / (s + 1) for s in range(5)], rtol=1e-6
    )
    (acc,) = ea.Scalars("acc")
    assert acc.step == 7 and acc.value == pytest.approx(0.75)
    (npv,) = ea.Scalars("np")
    assert npv.wall_time == pytest.approx(1234.5) and npv.value == 2.5
    assert len([f for f in os.listdir(tmp_path) if f.startswith("events.out.tfevents")]) == 1


def test_add_scalars_subruns(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("loss", {"train": step * 1.0, "val": step * 2.0}, step)
    train = _accumulate(tmp_path / "loss_train").Scalars("loss")
    val = _accumulate(tmp_path / "loss_val").Scalars("loss")
    assert [e.value for e in train] == [0.0, 1.0, 2.0]
    assert [e.value for e in val] == [0.0, 2.0, 4.0]
    assert [e.step for e in val] == [0, 1, 2]


def test_histogram(tmp_path):
    values = np.random.default_rng(0).normal(size=1000)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", ember.tensor(values), 4)
        w.add_histogram("auto", values, 5, bins="auto")
        w.add_histogram("capped", values, 6, bins=100, max_bins=10)
    ea = _accumulate(tmp_path)
    (h,) = ea.Histograms("w")
    hv = h.histogram_value
    assert h.step == 4 and hv.num == 1000
    assert hv.min == pytest.approx(values.min()) and hv.max == pytest.approx(values.max())
    assert hv.sum == pytest.approx(values.sum())
    assert hv.sum_squares == pytest.approx((values**2).sum())
    assert sum(hv.bucket) == 1000
    assert len(hv.bucket) == len(hv.bucket_limit)
    assert sum(ea.Histograms("auto")[0].histogram_value.bucket) == 1000
    capped = ea.Histograms("capped")[0].histogram_value
    assert len(capped.bucket) <= 11 and sum(capped.bucket) == 1000
    with pytest.raises(ValueError):
        SummaryWriter(tmp_path / "x").add_histogram("bad", [np.nan], 0)


def test_histogram_counts_reference():
    h = tb_summary.histogram_counts(np.arange(10.0), bins=5)
    assert h["bucket"] == [0.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    assert h["bucket_limit"][0] == 0.0 and h["bucket_limit"][-1] == 9.0


def test_images(tmp_path):
    chw = np.zeros((3, 4, 5), dtype=np.float32)
    chw[0] = 1.0  # red
    hwc = np.full((4, 5, 3), 128, dtype=np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_image("chw", ember.tensor(chw), 1)
        w.add_image("hwc", hwc, 2, dataformats="HWC")
        w.add_image("gray", np.linspace(0, 1, 20).reshape(4, 5), 3, dataformats="HW")
        w.add_images("batch", np.ones((10, 1, 2, 3)), 4)
    ea = _accumulate(tmp_path)
    (img,) = ea.Images("chw")
    assert img.step == 1 and (img.height, img.width) == (4, 5)
    px = _decode_png(img.encoded_image_string)
    assert px.shape == (4, 5, 3) and (px[..., 0] == 255).all() and (px[..., 1:] == 0).all()
    assert (_decode_png(ea.Images("hwc")[0].encoded_image_string) == 128).all()
    gray = _decode_png(ea.Images("gray")[0].encoded_image_string)
    assert gray.shape == (4, 5, 1) and gray[0, 0, 0] == 0 and gray[-1, -1, 0] == 255
    batch = ea.Images("batch")[0]
    assert (batch.height, batch.width) == (4, 24)  # 8 per row, 2 rows
    with pytest.raises(ValueError):
        tb_summary.to_hwc(np.zeros((2, 4, 4)), "CHW")
    with pytest.raises(ValueError):
        tb_summary.to_hwc(np.zeros((3, 4)), "CHW")


def test_text(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "hello **world**", 2)
    ea = _accumulate(tmp_path)
    (ev,) = ea.Tensors("notes/text_summary")
    assert ev.step == 2
    assert ev.tensor_proto.string_val[0].decode() == "hello **world**"
    assert "notes/text_summary" in ea.PluginTagToContent("text")


def test_hparams(tmp_path):
    from tensorboard.plugins.hparams import plugin_data_pb2

    with SummaryWriter(tmp_path) as w:
        w.add_hparams(
            {"lr": 0.1, "bsize": 32, "opt": "adam", "bn": True, "none": None},
            {"hparam/accuracy": 0.9},
            hparam_domain_discrete={"opt": ["adam", "sgd"]},
            run_name="run0",
        )
    ea = _accumulate(tmp_path / "run0")
    content = ea.PluginTagToContent("hparams")
    assert set(content) == {"_hparams_/experiment", "_hparams_/session_start_info",
                            "_hparams_/session_end_info"}  # fmt: skip
    data = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hp = data.session_start_info.hparams
    assert hp["lr"].number_value == pytest.approx(0.1)
    assert hp["bsize"].number_value == 32
    assert hp["opt"].string_value == "adam"
    assert hp["bn"].bool_value is True
    assert "none" not in hp
    exp = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in exp.metric_infos] == ["hparam/accuracy"]
    opt = [h for h in exp.hparam_infos if h.name == "opt"][0]
    assert [v.string_value for v in opt.domain_discrete.values] == ["adam", "sgd"]
    assert ea.Scalars("hparam/accuracy")[0].value == pytest.approx(0.9)
    with pytest.raises(TypeError):
        SummaryWriter(tmp_path / "y").add_hparams([1], {})


def test_graph(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.body(x))

    net = Net()
    net.train()
    with SummaryWriter(tmp_path) as w:
        w.add_graph(net, ember.zeros(3, 4))
    assert net.training and net.body[0].training
    g = _accumulate(tmp_path).Graph()
    names = {n.name: n for n in g.node}
    assert names["Net/head"].op == "Linear"
    assert list(names["Net/head"].input) == ["Net/body/1"]
    assert list(names["Net/body/0"].input) == ["input/input.0"]
    assert list(names["output/output.0"].input) == ["Net/head"]
    shape = names["Net/head"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [3, 2]


def test_defaults_flush_purge_and_reuse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp", flush_secs=1, purge_step=5)
    assert w.get_logdir().startswith("runs") and w.get_logdir().endswith("_exp")
    w.add_scalar("a", 1.0, 5)
    w.flush()
    assert _accumulate(w.get_logdir()).Scalars("a")[0].value == 1.0
    w.close()
    w.add_scalar("a", 2.0, 6)  # reopens a new file after close, like PyTorch
    w.close()
    assert [e.value for e in _accumulate(w.get_logdir()).Scalars("a")] == [1.0, 2.0]


def test_missing_tensorboard_message(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        SummaryWriter(tmp_path)
