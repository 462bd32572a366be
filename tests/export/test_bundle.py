"""Model bundles: round trips against eager ember, and every way a bundle can be broken."""

import hashlib
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import ember
from ember import nn
from ember.compiler.tracer import flatten
from ember.export import Bundle, BundleError, TensorSpec, load_bundle, save_bundle


# -- models -----------------------------------------------------------------------------------
class TwoInTwoOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(5, 4)

    def forward(self, x, y):
        h = self.a(x) + self.b(y)
        return {"total": h.relu(), "scaled": h * 2.0}


class BagOfWords(nn.Module):
    """An embedding model: int64 token ids -> class scores."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 6)
        self.fc = nn.Linear(6, 3)

    def forward(self, ids):
        return self.fc(self.emb.weight[ids].mean(1))


def _nn_embedding():
    return nn.Sequential(nn.Embedding(20, 4, padding_idx=0), nn.Flatten(), nn.Linear(4 * 7, 3))


class LastStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 7, batch_first=True)
        self.fc = nn.Linear(7, 2)

    def forward(self, x):
        seq, (h, c) = self.lstm(x)
        return self.fc(seq[:, -1]), h


def _mlp():
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))


def _cnn():
    m = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 5),
    )
    bn = m[1]  # non-trivial running statistics, so eval-mode BatchNorm is really exercised
    bn.running_mean.copy_(ember.randn(4) * 0.1)
    bn.running_var.copy_(ember.rand(4) + 0.5)
    return m


def _float(*shape):
    return lambda n, rng: rng.standard_normal((n, *shape)).astype(np.float32)


def _ids(length, vocab):
    return lambda n, rng: rng.integers(0, vocab, (n, length)).astype(np.int64)


MODELS = {
    "mlp": (_mlp, [_float(4)]),
    "cnn_batchnorm_dropout": (_cnn, [_float(1, 6, 6)]),
    "lstm": (LastStep, [_float(4, 5)]),
    "two_in_two_out": (TwoInTwoOut, [_float(3), _float(5)]),
    "embedding_int64": (BagOfWords, [_ids(7, 20)]),
    "nn_embedding": (_nn_embedding, [_ids(7, 20)]),
}


def _inputs(makers, n, seed=0):
    rng = np.random.default_rng(seed)
    return [make(n, rng) for make in makers]


def _close(got, want, err_msg=""):
    """Bundles run the registry's forwards; eager may take fused fast paths (rounding only)."""
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=err_msg)


def _eager(model, arrays):
    model.eval()
    with ember.no_grad():
        result = model(*[ember.from_numpy(a.copy()) for a in arrays])
    leaves = []
    flatten(result, leaves)
    return [t.numpy() for t in leaves]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each model, saved once with a dynamic batch axis, traced at batch size 2."""
    root = tmp_path_factory.mktemp("bundles")
    out = {}
    for name, (factory, makers) in MODELS.items():
        ember.manual_seed(0)
        model = factory()
        path = save_bundle(model, root / name, example_inputs=tuple(_inputs(makers, 2, seed=9)))
        out[name] = (model, makers, path)
    return out


# -- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("batch", [1, 3, 8])
def test_loaded_bundle_equals_eager_at_any_batch_size(saved, name, batch):
    model, makers, path = saved[name]
    bundle = load_bundle(path)
    arrays = _inputs(makers, batch, seed=batch)
    got = bundle(*arrays)
    want = _eager(model, arrays)
    assert list(got) == [s.name for s in bundle.signature.outputs]
    assert len(got) == len(want)
    for (out_name, g), w in zip(got.items(), want):
        assert g.dtype == w.dtype, out_name
        _close(g, w, err_msg=f"{name}.{out_name}")


@pytest.mark.parametrize(
    "name, inputs, outputs",
    [
        ("mlp", [("input", "float32", (None, 4))], [("output_0", "float32", (None, 3))]),
        (
            "two_in_two_out",
            [("x", "float32", (None, 3)), ("y", "float32", (None, 5))],
            [("total", "float32", (None, 4)), ("scaled", "float32", (None, 4))],
        ),
        ("embedding_int64", [("ids", "int64", (None, 7))], [("output_0", "float32", (None, 3))]),
        (
            "lstm",
            [("x", "float32", (None, 4, 5))],
            [("output_0", "float32", (None, 2)), ("output_1", "float32", (1, None, 7))],
        ),
    ],
)
def test_signature_names_dtypes_and_dynamic_axes(saved, name, inputs, outputs):
    sig = load_bundle(saved[name][2]).signature
    assert sig.inputs == [TensorSpec(*t) for t in inputs]
    assert sig.outputs == [TensorSpec(*t) for t in outputs]


def test_keyword_call_and_explicit_names(tmp_path):
    model = TwoInTwoOut()
    x, y = _inputs([_float(3), _float(5)], 4)
    path = save_bundle(
        model, tmp_path / "b", (x, y), input_names=["left", "right"], output_names=["p", "q"]
    )
    bundle = load_bundle(path)
    by_name = bundle(right=y, left=x)
    mixed = bundle(x, right=y)
    want = _eager(model, [x, y])
    for out in (by_name, mixed):
        _close(out["p"], want[0])
        _close(out["q"], want[1])


def test_python_lists_take_the_signature_dtype(saved):
    bundle = load_bundle(saved["mlp"][2])
    out = bundle([[0.0, 1.0, 2.0, 3.0]])["output_0"]
    want = _eager(saved["mlp"][0], [np.array([[0.0, 1.0, 2.0, 3.0]], np.float32)])[0]
    _close(out, want)


def test_static_bundle_rejects_other_batch_sizes(tmp_path):
    model = _mlp()
    x = _inputs([_float(4)], 2)[0]
    bundle = load_bundle(save_bundle(model, tmp_path / "s", x, dynamic_batch=False))
    assert bundle.signature.inputs == [TensorSpec("input", "float32", (2, 4))]
    _close(bundle(x)["output_0"], _eager(model, [x])[0])
    with pytest.raises(ValueError) as err:
        bundle(np.zeros((3, 4), np.float32))
    msg = str(err.value)
    assert "input 'input'" in msg and "(2, 4)" in msg and "(3, 4)" in msg
    assert "dynamic_batch=False" in msg


@pytest.mark.parametrize(
    "call, error, fragments",
    [
        (lambda b, x, y: b(x), TypeError, ["missing input(s) ['y']"]),
        (lambda b, x, y: b(x, y, x), TypeError, ["takes 2 input(s)"]),
        (lambda b, x, y: b(x, y, z=x), TypeError, ["unknown input 'z'"]),
        (lambda b, x, y: b(x, x=x, y=y), TypeError, ["'x' given both"]),
        (
            lambda b, x, y: b(x.astype(np.float64), y),
            TypeError,
            ["input 'x'", "expected dtype float32", "got float64"],
        ),
        (
            lambda b, x, y: b(x, y[:, :4]),
            ValueError,
            ["input 'y'", "expected shape (N, 5)", "got (4, 4)"],
        ),
        (lambda b, x, y: b(x, y[:3]), ValueError, ["input 'y'", "batch size 3", "batch size 4"]),
        (lambda b, x, y: b(x[:0], y[:0]), ValueError, ["input 'x'", "N >= 1"]),
        (lambda b, x, y: b(x[0], y[0]), ValueError, ["input 'x'", "expected shape (N, 3)"]),
    ],
)
def test_input_errors_name_the_input(saved, call, error, fragments):
    bundle = load_bundle(saved["two_in_two_out"][2])
    x, y = _inputs([_float(3), _float(5)], 4)
    with pytest.raises(error) as err:
        call(bundle, x, y)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_export_uses_eval_mode_and_restores_the_mode(tmp_path):
    model = _cnn()
    model.train()
    x = _inputs([_float(1, 6, 6)], 3)[0]
    bundle = load_bundle(save_bundle(model, tmp_path / "c", x))
    assert model.training and all(m.training for m in model.modules())
    first, second = bundle(x)["output_0"], bundle(x)["output_0"]
    np.testing.assert_array_equal(first, second)  # dropout off, running stats unchanged
    _close(first, _eager(model, [x])[0])


def test_plain_function_with_captured_tensor(tmp_path):
    scale = ember.tensor([1.0, 2.0, 3.0])
    path = save_bundle(lambda v: (v * scale).sum(1), tmp_path / "f", np.ones((2, 3), np.float32))
    bundle = load_bundle(path)
    assert [s.name for s in bundle.signature.inputs] == ["v"]
    out = bundle(np.full((5, 3), 2.0, np.float32))["output_0"]
    np.testing.assert_array_equal(out, np.full(5, 12.0, np.float32))


def test_metadata_fields_and_content_hash(tmp_path):
    path = save_bundle(_mlp(), tmp_path / "m", np.zeros((1, 4), np.float32), metadata={"v": 3})
    meta = load_bundle(path).metadata
    assert meta["format"] == "ember.bundle" and meta["bundle_format_version"] == 1
    assert meta["ember_version"] == ember.__version__
    created = datetime.fromisoformat(meta["created_utc"])
    assert created.utcoffset().total_seconds() == 0
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 600
    files = ["graph.json", "signature.json", "weights.safetensors"]
    joined = b"".join((path / f).read_bytes() for f in files)
    assert meta["content_hash"] == "sha256:" + hashlib.sha256(joined).hexdigest()
    for f in files:
        assert meta["files"][f] == "sha256:" + hashlib.sha256((path / f).read_bytes()).hexdigest()
    assert meta["user"] == {"v": 3}


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("calls", ember.zeros(1))

    def forward(self, x):
        self.calls.add_(1)
        return x * 2


def test_models_that_write_their_weights_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"updates \['calls'\] in place"):
        save_bundle(Counter(), tmp_path / "c", np.ones((2, 3), np.float32))


def test_writes_to_inputs_stay_inside_the_bundle(tmp_path):
    def bump(x):
        x.add_(1)
        return x * 2

    bundle = load_bundle(save_bundle(bump, tmp_path / "b", np.ones((2, 3), np.float32)))
    x = np.zeros((4, 3), np.float32)
    np.testing.assert_array_equal(bundle(x)["output_0"], np.full((4, 3), 2.0, np.float32))
    np.testing.assert_array_equal(x, 0.0)  # the caller's array is not written


def test_save_rejects_bad_arguments(tmp_path):
    x = np.zeros((1, 4), np.float32)
    with pytest.raises(ValueError, match="input_names: 2 names given for 1 inputs"):
        save_bundle(_mlp(), tmp_path / "a", x, input_names=["a", "b"])
    with pytest.raises(ValueError, match=r"output_names: duplicate name\(s\) \['y'\]"):
        save_bundle(
            TwoInTwoOut(),
            tmp_path / "b",
            _inputs([_float(3), _float(5)], 1),
            output_names=["y", "y"],
        )
    with pytest.raises(TypeError, match=r"metadata\['f'\]: not JSON-serialisable"):
        save_bundle(_mlp(), tmp_path / "c", x, metadata={"f": object()})
    with pytest.raises(TypeError, match="example_inputs"):
        save_bundle(_mlp(), tmp_path / "d", [[x]])
    assert not any(tmp_path.iterdir())


# -- atomic writes ----------------------------------------------------------------------------
def test_saving_again_replaces_the_bundle(tmp_path):
    x = np.ones((1, 4), np.float32)
    first, second = _mlp(), _mlp()
    save_bundle(first, tmp_path / "b", x)
    save_bundle(second, tmp_path / "b", x)
    _close(load_bundle(tmp_path / "b")(x)["output_0"], _eager(second, [x])[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_a_failed_write_leaves_the_old_bundle(tmp_path, monkeypatch):
    import ember.export.atomic_dir as atomic_dir

    x = np.ones((1, 4), np.float32)
    old = _mlp()
    save_bundle(old, tmp_path / "b", x)
    real = atomic_dir._write_file
    calls = []

    def failing(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(atomic_dir, "_write_file", failing)
    with pytest.raises(OSError, match="No space left"):
        save_bundle(_mlp(), tmp_path / "b", x)
    _close(load_bundle(tmp_path / "b")(x)["output_0"], _eager(old, [x])[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_never_replaces_a_directory_that_is_not_a_bundle(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an ember bundle"):
        save_bundle(_mlp(), tmp_path / "mine", np.ones((1, 4), np.float32))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


# -- broken bundles -----------------------------------------------------------------------------
def _rehash(path: Path) -> None:
    """Make metadata.json agree with the (edited) files, as a careful forger would."""
    meta = json.loads((path / "metadata.json").read_text())
    names = ["graph.json", "signature.json", "weights.safetensors"]
    data = {n: (path / n).read_bytes() for n in names}
    meta["files"] = {n: "sha256:" + hashlib.sha256(d).hexdigest() for n, d in data.items()}
    meta["content_hash"] = "sha256:" + hashlib.sha256(b"".join(data.values())).hexdigest()
    (path / "metadata.json").write_text(json.dumps(meta))


def _edit_json(name, edit):
    def apply(path):
        doc = json.loads((path / name).read_text())
        edit(doc)
        (path / name).write_text(json.dumps(doc))

    return apply


def _flip_weight_byte(path):
    data = bytearray((path / "weights.safetensors").read_bytes())
    data[-5] ^= 0x40
    (path / "weights.safetensors").write_bytes(bytes(data))


def _truncate(name, keep=0.5):
    def apply(path):
        data = (path / name).read_bytes()
        (path / name).write_bytes(data[: int(len(data) * keep)])

    return apply


def _rewrite_weights(edit):
    def apply(path):
        tensors = safetensors.numpy.load((path / "weights.safetensors").read_bytes())
        edit(tensors)
        (path / "weights.safetensors").write_bytes(safetensors.numpy.save(tensors))

    return apply


def _set_op(doc, index, op):
    doc["nodes"][index]["op"] = op


def _first_node(doc, op):
    return next(n for n in doc["nodes"] if n["op"] == op)


def _first_const(doc):
    return next(v for v in doc["values"] if v["kind"] == "const")


def _set_attr(op, name, value):
    return lambda doc: _first_node(doc, op)["attrs"].__setitem__(name, value)


BROKEN = [
    # (id, corruption, rehash?, exception fragments)
    ("weights_byte_edited", _flip_weight_byte, False, ["weights.safetensors: SHA-256 mismatch"]),
    ("graph_truncated", _truncate("graph.json"), False, ["graph.json: SHA-256 mismatch"]),
    (
        "graph_truncated_rehashed",
        _truncate("graph.json"),
        True,
        ["graph.json: not valid JSON (truncated or corrupt)"],
    ),
    ("graph_empty_rehashed", _truncate("graph.json", 0), True, ["graph.json: the file is empty"]),
    (
        "signature_dtype_changed",
        _edit_json("signature.json", lambda d: d["inputs"][0].__setitem__("dtype", "float64")),
        False,
        ["signature.json: SHA-256 mismatch"],
    ),
    (
        "signature_dtype_changed_rehashed",
        _edit_json("signature.json", lambda d: d["inputs"][0].__setitem__("dtype", "float64")),
        True,
        ["signature.json: inputs[0] ('input').dtype is float64", "graph.json declares float32"],
    ),
    (
        "signature_shape_changed_rehashed",
        _edit_json("signature.json", lambda d: d["inputs"][0].__setitem__("shape", [None, 1, 6])),
        True,
        ["signature.json: inputs[0] ('input').shape is [None, 1, 6]"],
    ),
    (
        "signature_bad_dtype_name_rehashed",
        _edit_json("signature.json", lambda d: d["outputs"][0].__setitem__("dtype", "float8")),
        True,
        ["signature.json: outputs[0].dtype: 'float8' is not a supported dtype"],
    ),
    (
        "signature_field_missing_rehashed",
        _edit_json("signature.json", lambda d: d.pop("outputs")),
        True,
        ["signature.json: field 'outputs' is missing"],
    ),
    (
        "unknown_op_rehashed",
        _edit_json("graph.json", lambda d: _set_op(d, 0, "frobnicate")),
        True,
        ["graph.json: nodes[0].op: unknown op 'frobnicate'"],
    ),
    (
        "attribute_tag_injected_rehashed",
        _edit_json("graph.json", _set_attr("conv", "groups", {"pickle": "cos\nsystem\n"})),
        True,
        ["graph.json: nodes[0].attrs.groups: unknown attribute tag 'pickle'"],
    ),
    (
        "attribute_inconsistent_rehashed",
        _edit_json(
            "graph.json",
            _set_attr("conv", "padding", {"tuple": [{"tuple": [0, 0]}, {"tuple": [0, 0]}]}),
        ),
        True,
        ["graph.json: nodes[0] (conv): output %", "shape rule gives float32[2, 4, 4, 4]"],
    ),
    (
        "constant_key_not_a_string_rehashed",
        _edit_json("graph.json", lambda d: _first_const(d).__setitem__("array", [1])),
        True,
        ["weights.safetensors: constant [1] that graph.json reads is missing"],
    ),
    (
        "value_dtype_unknown_rehashed",
        _edit_json("graph.json", lambda d: d["values"][2].__setitem__("dtype", "bfloat16")),
        True,
        ["graph.json: nodes[0] (conv)"],
    ),
    (
        "node_reads_undefined_value_rehashed",
        _edit_json("graph.json", lambda d: d["nodes"][1]["inputs"].__setitem__(0, 999)),
        True,
        ["graph.json: node 1", "reads %999 before it is defined"],
    ),
    (
        "not_safetensors_rehashed",
        lambda p: (p / "weights.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}"),
        True,
        ["weights.safetensors: not a valid safetensors file"],
    ),
    (
        "weight_missing_rehashed",
        _rewrite_weights(lambda t: t.pop("0.weight")),
        True,
        ["weights.safetensors: tensor '0.weight' that graph.json reads is missing"],
    ),
    (
        "weight_dtype_changed_rehashed",
        _rewrite_weights(lambda t: t.__setitem__("6.bias", t["6.bias"].astype(np.float64))),
        True,
        ["weights.safetensors: tensor '6.bias' is float64[5], but graph.json declares float32[5]"],
    ),
    (
        "weight_shape_changed_rehashed",
        _rewrite_weights(lambda t: t.__setitem__("6.bias", np.zeros(6, np.float32))),
        True,
        ["weights.safetensors: tensor '6.bias' is float32[6], but graph.json declares float32[5]"],
    ),
    (
        "weight_extra_rehashed",
        _rewrite_weights(lambda t: t.__setitem__("stray", np.zeros(2, np.float32))),
        True,
        ["weights.safetensors: tensor(s) ['stray'] are not read by graph.json"],
    ),
    (
        "format_version_from_the_future",
        _edit_json("metadata.json", lambda d: d.__setitem__("bundle_format_version", 2)),
        False,
        ["metadata.json: bundle_format_version 2 is not supported", "newer ember"],
    ),
    (
        "not_an_ember_bundle",
        _edit_json("metadata.json", lambda d: d.__setitem__("format", "saved_model")),
        False,
        ["metadata.json: format is 'saved_model'"],
    ),
    (
        "content_hash_edited",
        _edit_json("metadata.json", lambda d: d.__setitem__("content_hash", "sha256:00")),
        False,
        ["metadata.json: content_hash sha256:00 does not match"],
    ),
    (
        "metadata_truncated",
        _truncate("metadata.json"),
        False,
        ["metadata.json: not valid JSON (truncated or corrupt)"],
    ),
    (
        "metadata_files_missing",
        _edit_json("metadata.json", lambda d: d.pop("files")),
        False,
        ["metadata.json: field 'files' is missing"],
    ),
] + [
    (f"{name}_removed", lambda p, n=name: (p / n).unlink(), False, [f"{name}: the file is missing"])
    for name in ["graph.json", "signature.json", "weights.safetensors", "metadata.json"]
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    ember.manual_seed(0)
    return save_bundle(
        _cnn(),
        tmp_path_factory.mktemp("pristine") / "cnn",
        _inputs([_float(1, 6, 6)], 2)[0],
    )


@pytest.mark.parametrize(
    "corrupt, rehash, fragments", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_bundles_raise_bundle_error_naming_the_file(
    pristine, tmp_path, corrupt, rehash, fragments
):
    path = tmp_path / "cnn"
    path.mkdir()
    for f in pristine.iterdir():
        (path / f.name).write_bytes(f.read_bytes())
    load_bundle(path)  # the copy is intact before the corruption
    corrupt(path)
    if rehash:
        _rehash(path)
    with pytest.raises(BundleError) as err:
        load_bundle(path)
    msg = str(err.value)
    assert msg.startswith(str(path))
    for fragment in fragments:
        assert fragment in msg


def test_paths_that_are_not_bundles(tmp_path):
    with pytest.raises(BundleError, match="no bundle directory at this path"):
        load_bundle(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BundleError, match="not a directory"):
        load_bundle(tmp_path / "file")
    assert issubclass(BundleError, ValueError)


# -- loading needs only NumPy -------------------------------------------------------------------
LOAD_ONLY = """
import sys
import numpy as np
import ember.export
import ember.tensor

def no_tensors(*args, **kwargs):
    raise AssertionError("a Tensor was created while loading or running the bundle")

ember.tensor._init_fields = no_tensors
bundle = ember.export.load_bundle(sys.argv[1])
x = np.load(sys.argv[2])
out = bundle(x)["output_0"]
np.save(sys.argv[3], out)
print(type(bundle).__name__, bundle.executor_name)
"""


def test_bundle_loads_in_a_fresh_process_without_tensors(saved, tmp_path):
    model, makers, path = saved["cnn_batchnorm_dropout"]
    x = _inputs(makers, 4)[0]
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "EMBER_NO_CC": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_ONLY,
            str(path),
            str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "Bundle"
    _close(np.load(tmp_path / "y.npy"), _eager(model, [x])[0])


def test_bundle_api_the_server_relies_on(saved):
    bundle = load_bundle(saved["two_in_two_out"][2])
    assert isinstance(bundle, Bundle)
    for spec in bundle.signature.inputs + bundle.signature.outputs:
        assert isinstance(spec, TensorSpec)
        assert isinstance(spec.name, str) and isinstance(spec.dtype, str)
        assert isinstance(spec.shape, tuple)
    assert isinstance(bundle.metadata, dict)
    assert "two_in_two_out" in repr(bundle)
