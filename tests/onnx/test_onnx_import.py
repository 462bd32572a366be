"""ember.onnx.load on models exported by torch.onnx.export: outputs match torch and onnxruntime,
the imported module fine-tunes with ember.optim, and bad models or inputs fail clearly."""

import io
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import ember  # noqa: E402
import ember.onnx  # noqa: E402
from ember.onnx import backend  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


# ---------------------------------------------------------------------------------------------
# torch models
# ---------------------------------------------------------------------------------------------
class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 12, 3, stride=2)
        self.bn2 = torch.nn.BatchNorm2d(12)
        self.fc = torch.nn.Linear(12, 5)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


class SmallLSTM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(6, 10, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(10, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def _mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(12, 16), torch.nn.GELU(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
        torch.nn.Linear(16, 4),
    )  # fmt: skip


def _transformer():
    layer = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    return torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


def _bn_stats(model):
    """Give BatchNorm layers non-trivial running statistics, so eval mode really normalises."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model


# name -> (factory, example input shape, a second batch size, export kwargs)
MODELS = {
    "mlp": (_mlp, (4, 12), 7, {}),
    # constant folding off keeps BatchNormalization nodes (folding would merge them into Conv)
    "cnn_batchnorm": (
        lambda: _bn_stats(SmallCNN()),
        (2, 3, 16, 16),
        3,
        {"do_constant_folding": False},
    ),
    "transformer_encoder": (_transformer, (2, 7, 16), 3, {}),
    "lstm": (SmallLSTM, (3, 5, 6), 2, {}),
}


def _export(model, example, **kwargs) -> bytes:
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                model,
                (example,),
                f,
                dynamo=False,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                **kwargs,
            )
        except (TypeError, ImportError, ModuleNotFoundError) as e:  # no legacy exporter
            pytest.skip(f"torch.onnx.export(dynamo=False) is unavailable: {e}")
    return f.getvalue()


@pytest.fixture(scope="module", params=sorted(MODELS))
def exported(request):
    factory, shape, other_batch, kwargs = MODELS[request.param]
    torch.manual_seed(0)
    model = factory().eval()
    example = torch.randn(*shape)
    return request.param, model, _export(model, example, **kwargs), shape, other_batch


def test_matches_torch_and_onnxruntime(exported):
    name, model, data, shape, other_batch = exported
    imported = ember.onnx.load(data)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for batch in (shape[0], other_batch):  # the batch axis is dynamic
        x = rng.standard_normal((batch, *shape[1:])).astype(np.float32)
        with ember.no_grad():
            ours = imported(x).numpy()
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        (theirs,) = session.run(None, {"x": x})
        np.testing.assert_allclose(ours, want, rtol=RTOL, atol=ATOL, err_msg=f"{name} vs torch")
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=f"{name} vs ort")


def test_batchnorm_survives_export():
    factory, shape, _, kwargs = MODELS["cnn_batchnorm"]
    data = _export(factory().eval(), torch.randn(*shape), **kwargs)
    ops = {n.op_type for n in onnx.load_from_string(data).graph.node}
    assert "BatchNormalization" in ops and "Conv" in ops


def test_initializers_become_named_parameters(exported):
    name, model, data, _, _ = exported
    imported = ember.onnx.load(data)
    params = dict(imported.named_parameters())
    assert params, name
    assert all(isinstance(p, ember.nn.Parameter) and p.requires_grad for p in params.values())
    proto = onnx.load_from_string(data)
    floats = {i.name for i in proto.graph.initializer if i.data_type in (1, 10, 11, 16)}
    assert set(imported.onnx_names.values()) == {i.name for i in proto.graph.initializer}
    assert {imported.onnx_names[k] for k in params} == floats
    for attr, onnx_name in imported.onnx_names.items():
        init = next(i for i in proto.graph.initializer if i.name == onnx_name)
        value = params[attr] if attr in params else dict(imported.named_buffers())[attr]
        np.testing.assert_array_equal(value.detach().numpy(), numpy_helper.to_array(init))


@pytest.mark.parametrize("name", ["cnn_batchnorm", "mlp", "lstm"])
def test_imported_model_fine_tunes(name):
    factory, shape, _, kwargs = MODELS[name]
    torch.manual_seed(0)
    data = _export(factory().eval(), torch.randn(*shape), **kwargs)
    model = ember.onnx.load(data)
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal(shape).astype(np.float32))
    with ember.no_grad():
        target = model(x) * 0.5 + 0.3
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = ((model(x) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(p.grad is not None for p in model.parameters())
    assert losses[-1] < 0.7 * losses[0], losses


def test_gradients_match_torch():
    factory, shape, _, kwargs = MODELS["mlp"]
    torch.manual_seed(0)
    reference = factory().eval()
    data = _export(reference, torch.randn(*shape), **kwargs)
    model = ember.onnx.load(data)
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    (reference(torch.from_numpy(x)) ** 2).sum().backward()
    (model(x) ** 2).sum().backward()
    torch_grads = {k: p.grad.numpy() for k, p in reference.named_parameters()}
    for attr, p in model.named_parameters():
        want = torch_grads[model.onnx_names[attr]]
        np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-4, atol=1e-5, err_msg=attr)


def test_state_dict_round_trip(tmp_path):
    factory, shape, _, kwargs = MODELS["mlp"]
    data = _export(factory().eval(), torch.randn(*shape), **kwargs)
    first, second = ember.onnx.load(data), ember.onnx.load(data)
    for p in first.parameters():
        p.data = p.data * 2.0
    second.load_state_dict(first.state_dict())
    x = ember.randn(*shape)
    with ember.no_grad():
        np.testing.assert_allclose(first(x).numpy(), second(x).numpy(), rtol=1e-6)


def test_load_from_file_and_bytes(tmp_path):
    factory, shape, _, kwargs = MODELS["mlp"]
    data = _export(factory().eval(), torch.randn(*shape), **kwargs)
    path = tmp_path / "mlp.onnx"
    path.write_bytes(data)
    x = np.ones(shape, np.float32)
    with ember.no_grad():
        a = ember.onnx.load(path)(x).numpy()
        b = ember.onnx.load(str(path))(x).numpy()
        c = ember.onnx.load(onnx.load(str(path)))(x).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_external_data_next_to_the_file(tmp_path):
    w = numpy_helper.from_array(np.arange(4096, dtype=np.float32).reshape(64, 64), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "ext",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
        [w],
    )
    model = helper.make_model(graph)
    path = tmp_path / "ext.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, location="w.bin",
                    size_threshold=0)  # fmt: skip
    x = np.ones((1, 64), np.float32)
    with ember.no_grad():
        got = ember.onnx.load(path)(x).numpy()
    np.testing.assert_allclose(got, x @ numpy_helper.to_array(w), rtol=1e-6)
    unloaded = onnx.load(str(path), load_external_data=False)
    with pytest.raises(ValueError, match="external file 'w.bin'"):
        ember.onnx.load(unloaded)
    os.remove(tmp_path / "w.bin")
    with pytest.raises(FileNotFoundError, match="external data of"):
        ember.onnx.load(path)


# ---------------------------------------------------------------------------------------------
# clear errors
# ---------------------------------------------------------------------------------------------
def _one_node_model(op_type, domain="", opset=17, **attrs):
    node = helper.make_node(op_type, ["x"], ["y"], domain=domain, name="the_node", **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    imports = [helper.make_opsetid("", opset)]
    if domain:
        imports.append(helper.make_opsetid(domain, 1))
    return helper.make_model(graph, opset_imports=imports)


def test_unknown_op_names_op_domain_and_opset():
    with pytest.raises(NotImplementedError, match=r"op FancyOp \(domain ai.onnx, opset 17\)"):
        ember.onnx.load(_one_node_model("FancyOp"))


def test_op_newer_than_the_model_opset_is_refused():
    # Gelu exists from opset 20 on; an opset-17 model cannot use it
    with pytest.raises(NotImplementedError, match=r"op Gelu \(domain ai.onnx, opset 17\)"):
        ember.onnx.load(_one_node_model("Gelu"))


def test_other_domains_are_refused():
    with pytest.raises(NotImplementedError, match="domain 'ai.onnx.ml'"):
        ember.onnx.load(_one_node_model("Normalizer", domain="ai.onnx.ml"))


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no ONNX model file"):
        ember.onnx.load(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff\x00 definitely not protobuf \x13\x37")
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        ember.onnx.load(bad)
    with pytest.raises(TypeError, match="file path, bytes or onnx.ModelProto"):
        ember.onnx.load(42)


def test_bad_inputs_are_named():
    model = ember.onnx.load(_one_node_model("Relu"))
    with pytest.raises(TypeError, match=r"takes 1 inputs \(x\), got 2"):
        model(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"input 0 \('x'\) must have shape \(\?, 3\).*\(2, 4\)"):
        model(np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match=r"input 0 \('x'\) must have dtype float32.*float64"):
        model(np.ones((2, 3), np.float64))
    assert model([[1.0, -2.0, 3.0]]).tolist() == [[1.0, 0.0, 3.0]]  # lists take the declared type


def test_runtime_errors_name_the_node():
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "s"], ["y"], name="bad_reshape")],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("s", TensorProto.INT64, None),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = ember.onnx.load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    with pytest.raises(ValueError, match=r"Reshape \(opset 17\) node 'bad_reshape'.*\(2, 3\)"):
        model(np.ones((2, 3), np.float32), np.array([4, 2], np.int64))


def test_graph_reading_an_undefined_value_is_refused():
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "nowhere"], ["y"], name="adder")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    with pytest.raises(ValueError, match="'adder'.*reads 'nowhere'"):
        ember.onnx.load(helper.make_model(graph))


# ---------------------------------------------------------------------------------------------
# backend adapter and import cost
# ---------------------------------------------------------------------------------------------
def test_backend_run_node_and_prepare():
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=0.5)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((4, 3), np.float32)
    c = np.full(4, 2.0, np.float32)
    (y,) = backend.run_node(node, [a, b, c])
    np.testing.assert_allclose(y, 0.5 * a @ b.T + c)
    assert backend.supports_device("CPU") and not backend.supports_device("CUDA")
    rep = backend.prepare(_one_node_model("Relu"))
    (out,) = rep.run({"x": np.array([[-1.0, 0.0, 2.0]], np.float32)})
    assert out.dtype == np.float32 and out.tolist() == [[0.0, 0.0, 2.0]]


def test_backend_restores_unsigned_types():
    node = helper.make_node("Add", ["a", "b"], ["y"])
    a = np.array([4000000000], np.uint32)
    (y,) = backend.run_node(node, [a, np.array([1], np.uint32)])
    assert y.dtype == np.uint32 and y.tolist() == [4000000001]


def test_import_ember_onnx_does_not_import_onnx():
    code = "import sys, ember, ember.onnx; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# ops the node suite does not exercise, against onnxruntime
# ---------------------------------------------------------------------------------------------
def _vi(name, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, None)


def _seq_vi(name):
    return helper.make_tensor_sequence_value_info(name, TensorProto.FLOAT, None)


_RNG = np.random.default_rng(3)
_X4 = _RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
_IMG = _RNG.standard_normal((1, 2, 8, 8)).astype(np.float32)
_ROIS = np.array([[0, 1, 1, 6, 6], [0, 0, 0, 7, 3], [0, 5.5, 2, 7, 7.2]], np.float32)

# name -> (nodes, input names, output value infos, inputs)
OUTSIDE_SUITE = {
    "GlobalLpPool": (
        [helper.make_node("GlobalLpPool", ["x"], ["y"], p=3)],
        ["x"],
        [_vi("y")],
        [_X4],
    ),
    "MaxRoiPool": (
        [helper.make_node("MaxRoiPool", ["x", "r"], ["y"], pooled_shape=[3, 2], spatial_scale=0.5)],
        ["x", "r"],
        [_vi("y")],
        [_IMG, _ROIS],
    ),
    "sequences": (
        [
            helper.make_node("Constant", [], ["one"], value=numpy_helper.from_array(np.array(1))),
            helper.make_node(
                "Constant", [], ["minus_one"], value=numpy_helper.from_array(np.array(-1))
            ),
            helper.make_node("SequenceConstruct", ["a", "b", "c"], ["s"]),
            helper.make_node("SequenceErase", ["s", "one"], ["t"]),
            helper.make_node("SequenceAt", ["t", "minus_one"], ["last"]),
            helper.make_node("ConcatFromSequence", ["t"], ["joined"], axis=1),
            helper.make_node("ConcatFromSequence", ["t"], ["stacked"], axis=0, new_axis=1),
        ],
        ["a", "b", "c"],
        [_vi("last"), _vi("joined"), _vi("stacked")],
        [_X4[0, 0], _X4[0, 1], _X4[0, 2]],
    ),
    "optionals": (
        [
            helper.make_node("Optional", ["x"], ["o"]),
            helper.make_node("OptionalHasElement", ["o"], ["has"]),
            helper.make_node("OptionalGetElement", ["o"], ["y"]),
        ],
        ["x"],
        [_vi("has", TensorProto.BOOL), _vi("y")],
        [_X4],
    ),
}


@pytest.mark.parametrize("name", sorted(OUTSIDE_SUITE))
def test_ops_outside_the_node_suite_match_onnxruntime(name):
    nodes, input_names, outputs, inputs = OUTSIDE_SUITE[name]
    graph = helper.make_graph(
        nodes,
        name,
        [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
            for n, a in zip(input_names, inputs)
        ],  # fmt: skip
        outputs,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    ours = backend.prepare(model).run(inputs)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    theirs = session.run(None, dict(zip(input_names, inputs)))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "op, attrs, mean, std",
    [
        ("RandomNormal", {"mean": 2.0, "scale": 0.5}, 2.0, 0.5),
        ("RandomUniform", {"low": -1.0, "high": 3.0}, 1.0, 4 / 12**0.5),
    ],
)
def test_random_ops_are_seeded_and_distributed(op, attrs, mean, std):
    node = helper.make_node(op, [], ["y"], shape=[20000], seed=7.0, **attrs)
    graph = helper.make_graph([node], "r", [], [_vi("y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (a,) = backend.prepare(model).run([])
    (b,) = backend.prepare(model).run([])
    np.testing.assert_array_equal(a, b)  # the same seed draws the same numbers
    assert a.dtype == np.float32 and a.shape == (20000,)
    assert abs(a.mean() - mean) < 0.05 and abs(a.std() - std) < 0.05


def test_imported_module_compiles(exported):
    name, _, data, shape, other_batch = exported
    model = ember.onnx.load(data)
    compiled = ember.compile(model, backend="numpy")  # tracing is what the importer affects
    rng = np.random.default_rng(4)
    for batch in (shape[0], other_batch):
        x = ember.tensor(rng.standard_normal((batch, *shape[1:])).astype(np.float32))
        with ember.no_grad():
            want = model(x).numpy()
            got = compiled(x).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
    compiled(x).sum().backward()  # training through the compiled graph reaches every weight
    assert all(p.grad is not None for p in model.parameters())
