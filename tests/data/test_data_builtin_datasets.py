"""Digits (shipped), MNIST/FashionMNIST (IDX files), CIFAR10 (binary batches), downloads."""

import gzip
import hashlib
import io
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.data import DataLoader
from ember.data import transforms as T
from ember.data.datasets import CIFAR10, MNIST, Digits, FashionMNIST, _download, load_digits
from ember.data.datasets.cifar import read_cifar_batch, write_cifar_batch
from ember.data.datasets.mnist import read_idx, write_idx

SHARED_DIGITS = Path(__file__).resolve().parents[3] / "shared" / "data" / "digits.csv.gz"
RNG = np.random.default_rng(0)


# -- Digits --------------------------------------------------------------------------------------
def test_digits_file_is_shipped_with_attribution():
    folder = Path(ember.data.datasets.__file__).parent
    assert (folder / "digits.csv.gz").is_file()
    notice = (folder / "NOTICE.md").read_text()
    assert "Alpaydin" in notice and "Kaynak" in notice and "CC BY 4.0" in notice
    if SHARED_DIGITS.is_file():  # the copy is byte-identical to the project's reference data
        assert (folder / "digits.csv.gz").read_bytes() == SHARED_DIGITS.read_bytes()


def test_digits_contents():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert images.max() == 16 and images.min() == 0
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert images[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0] and labels[0] == 0


def test_digits_splits_are_disjoint_stratified_and_deterministic():
    train, test = Digits(train=True), Digits(train=False)
    assert len(train) + len(test) == 1797
    assert abs(len(train) - 0.8 * 1797) < 10
    keys = lambda ds: {ds.data.numpy()[i].tobytes() + bytes([ds[i][1]]) for i in range(len(ds))}  # noqa: E731
    assert len(keys(train) & keys(test)) <= 5  # only genuinely duplicated images may repeat
    # every class is split about 80/20
    for c in range(10):
        n_train = int((train.targets.numpy() == c).sum())
        n_test = int((test.targets.numpy() == c).sum())
        assert abs(n_train / (n_train + n_test) - 0.8) < 0.02
    again = Digits(train=True)
    np.testing.assert_array_equal(again.targets.numpy(), train.targets.numpy())
    assert len(Digits(split=0.5)) in range(890, 910)
    with pytest.raises(ValueError, match="split"):
        Digits(split=1.0)


def test_digits_items_and_transforms():
    ds = Digits()
    img, label = ds[3]
    assert img.shape == (1, 8, 8) and img.dtype == ember.float32 and isinstance(label, int)
    assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0
    seen = []
    ds_t = Digits(transform=lambda a: seen.append(a) or "x", target_transform=lambda y: y + 100)
    assert ds_t[3] == ("x", label + 100)
    assert seen[0].shape == (8, 8, 1) and seen[0].dtype == np.float32
    np.testing.assert_array_equal(T.ToTensor()(seen[0]).numpy(), img.numpy())
    x, y = next(iter(DataLoader(ds, batch_size=16, shuffle=True)))
    assert x.shape == (16, 1, 8, 8) and y.dtype == ember.int64


# -- IDX / MNIST ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip(tmp_path, dtype, gz):
    arr = (RNG.random((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)


def test_idx_matches_the_published_format(tmp_path):
    # hand-made header: magic 0x00000801 (uint8, 1-D), 3 items
    (tmp_path / "labels").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    assert read_idx(tmp_path / "labels").tolist() == [7, 2, 1]
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1]))
    with pytest.raises(ValueError, match="IDX header says"):
        read_idx(tmp_path / "short")


def make_mnist(root, cls=MNIST, n_train=6, n_test=4, gz=True):
    raw = Path(cls.raw_folder_for(root))
    raw.mkdir(parents=True)
    suffix = ".gz" if gz else ""
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = RNG.integers(0, 10, n).astype(np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        out[prefix] = (images, labels)
    return out


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_idx_files(tmp_path, cls, gz):
    made = make_mnist(tmp_path, cls, gz=gz)
    train, test = cls(tmp_path, train=True), cls(tmp_path, train=False)
    assert len(train) == 6 and len(test) == 4
    img, label = test[2]
    assert img.shape == (1, 28, 28) and img.dtype == ember.float32
    np.testing.assert_allclose(img.numpy()[0], made["t10k"][0][2] / 255.0, rtol=1e-6)
    assert label == int(made["t10k"][1][2]) and isinstance(label, int)
    np.testing.assert_array_equal(train.data.numpy(), made["train"][0])
    assert train.targets.dtype == ember.int64
    np.testing.assert_array_equal(train.targets.numpy(), made["train"][1])
    raw_img, _ = cls(tmp_path, transform=lambda a: a)[0]
    assert raw_img.shape == (28, 28) and raw_img.dtype == np.uint8
    piped, _ = cls(tmp_path, transform=T.Compose([T.RandomCrop(24), T.ToTensor()]))[0]
    assert piped.shape == (1, 24, 24)
    x, y = next(iter(DataLoader(train, batch_size=4)))
    assert x.shape == (4, 1, 28, 28) and y.tolist() == made["train"][1][:4].tolist()


def test_mnist_missing_files_error_names_folder(tmp_path):
    with pytest.raises(RuntimeError) as info:
        MNIST(tmp_path)
    msg = str(info.value)
    assert str(Path(tmp_path) / "MNIST" / "raw") in msg and "train-images-idx3-ubyte" in msg
    assert "download=True" in msg


def _offline(url, timeout):
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def test_download_without_network_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_download, "_urlopen", _offline)
    with pytest.raises(RuntimeError) as info:
        MNIST(tmp_path, download=True)
    msg = str(info.value)
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in msg
    assert str(Path(tmp_path) / "MNIST" / "raw") in msg
    assert "no network" in msg
    assert not list((Path(tmp_path) / "MNIST" / "raw").glob("*.part"))
    with pytest.raises(RuntimeError, match="cifar-10-binary.tar.gz"):
        CIFAR10(tmp_path, download=True)


def _serve(files):
    """A fake network: URL basename -> bytes."""

    def urlopen(url, timeout):
        name = url.rsplit("/", 1)[-1]
        if name not in files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return io.BytesIO(files[name])

    return urlopen


def test_download_verifies_checksums(tmp_path, monkeypatch):
    # build the four files, serve them, and declare their true MD5s
    payload, resources = {}, []
    for prefix, n in (("train", 3), ("t10k", 2)):
        for kind, arr in (
            ("images-idx3", RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
            ("labels-idx1", np.arange(n, dtype=np.uint8)),
        ):
            name = f"{prefix}-{kind}-ubyte.gz"
            buf = io.BytesIO()
            with gzip.GzipFile(fileobj=buf, mode="wb") as f:
                f.write(bytes([0, 0, 8, arr.ndim]) + np.asarray(arr.shape, ">i4").tobytes())
                f.write(arr.tobytes())
            payload[name] = buf.getvalue()
            resources.append((name, hashlib.md5(payload[name]).hexdigest()))
    monkeypatch.setattr(_download, "_urlopen", _serve(payload))
    monkeypatch.setattr(MNIST, "resources", resources)
    ds = MNIST(tmp_path, train=False, download=True)
    assert len(ds) == 2 and ds.targets.tolist() == [0, 1]
    # a corrupted download is rejected and not kept
    bad_root = tmp_path / "bad"
    corrupted = dict(payload, **{"train-images-idx3-ubyte.gz": b"garbage"})
    monkeypatch.setattr(_download, "_urlopen", _serve(corrupted))
    with pytest.raises(RuntimeError, match="checksum mismatch"):
        MNIST(bad_root, download=True)
    raw = bad_root / "MNIST" / "raw"
    assert not (raw / "train-images-idx3-ubyte.gz").exists()
    assert not list(raw.glob("*.part"))


# -- CIFAR10 -------------------------------------------------------------------------------------
def make_cifar(folder, per_batch=3):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        images = RNG.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
        labels = RNG.integers(0, 10, per_batch)
        write_cifar_batch(folder / name, images, labels)
        made[name] = (images, labels)
    return made


def test_cifar_binary_record_layout(tmp_path):
    img = np.zeros((1, 32, 32, 3), np.uint8)
    img[0, 0, 1, 0] = 10  # red, row 0, col 1
    img[0, 2, 0, 2] = 20  # blue, row 2, col 0
    write_cifar_batch(tmp_path / "b.bin", img, [9])
    raw = (tmp_path / "b.bin").read_bytes()
    assert len(raw) == 3073 and raw[0] == 9
    assert raw[1 + 1] == 10 and raw[1 + 2048 + 2 * 32] == 20  # label, then R, G, B planes
    images, labels = read_cifar_batch(tmp_path / "b.bin")
    np.testing.assert_array_equal(images, img)
    (tmp_path / "bad.bin").write_bytes(b"\0" * 100)
    with pytest.raises(ValueError, match="multiple"):
        read_cifar_batch(tmp_path / "bad.bin")


def test_cifar10_reads_binary_batches(tmp_path):
    made = make_cifar(tmp_path / "cifar-10-batches-bin")
    train, test = CIFAR10(tmp_path), CIFAR10(tmp_path, train=False)
    assert len(train) == 15 and len(test) == 3
    assert train.data.shape == (15, 32, 32, 3) and isinstance(train.targets, list)
    np.testing.assert_array_equal(train.data[3:6], made["data_batch_2.bin"][0])
    img, label = test[1]
    assert img.shape == (3, 32, 32) and img.dtype == ember.float32
    np.testing.assert_allclose(
        img.numpy(), made["test_batch.bin"][0][1].transpose(2, 0, 1) / 255.0, rtol=1e-6
    )
    assert label == int(made["test_batch.bin"][1][1])
    hwc, _ = CIFAR10(tmp_path, transform=lambda a: a)[0]
    assert hwc.shape == (32, 32, 3) and hwc.dtype == np.uint8
    x, y = next(iter(DataLoader(train, batch_size=5)))
    assert x.shape == (5, 3, 32, 32) and y.dtype == ember.int64


def test_cifar10_missing_and_meta(tmp_path):
    with pytest.raises(RuntimeError) as info:
        CIFAR10(tmp_path)
    assert "cifar-10-batches-bin" in str(info.value) and str(tmp_path) in str(info.value)
    folder = tmp_path / "cifar-10-batches-bin"
    make_cifar(folder, per_batch=1)
    names = [f"c{i}" for i in range(10)]
    (folder / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    assert CIFAR10(tmp_path, train=False).classes == names
    assert CIFAR10.classes[0] == "airplane"  # the class attribute is untouched


def test_cifar10_download_and_extract(tmp_path, monkeypatch):
    src = tmp_path / "src"
    make_cifar(src / "cifar-10-batches-bin", per_batch=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(src / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    archive = buf.getvalue()
    monkeypatch.setattr(_download, "_urlopen", _serve({"cifar-10-binary.tar.gz": archive}))
    monkeypatch.setattr(CIFAR10, "tgz_md5", hashlib.md5(archive).hexdigest())
    root = tmp_path / "root"
    ds = CIFAR10(root, train=True, download=True)
    assert len(ds) == 10
    assert (root / "cifar-10-binary.tar.gz").is_file()


def test_extract_tar_refuses_paths_outside_dest(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(RuntimeError, match="refusing to extract"):
        _download.extract_tar(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
