"""KServe v2 / Open Inference Protocol against a real server: plain HTTP and tritonclient."""

from __future__ import annotations

import gzip
import json
import struct
from types import SimpleNamespace as NS

import numpy as np
import pytest

from conftest import ServerThread, local_predict, serve_config

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 16), dtype=np.float32)
X4 = RNG.standard_normal((2, 4), dtype=np.float32)
IDS = np.array([[1, 2, 3], [-4, 5, 600]], dtype=np.int64)


def test_health_and_server_metadata(server):
    c = server.client
    assert c.get("/v2/health/live").json() == {"live": True}
    assert c.get("/v2/health/ready").json() == {"ready": True}
    meta = c.get("/v2").json()
    assert meta["name"] == "ember" and "binary_tensor_data" in meta["extensions"]


def test_model_metadata_ready_config_index(server):
    c = server.client
    meta = c.get("/v2/models/two").json()
    assert meta["name"] == "two" and meta["versions"] == ["1"] and meta["platform"] == "ember"
    assert meta["inputs"] == [
        {"name": "x", "datatype": "FP32", "shape": [-1, 4]},
        {"name": "ids", "datatype": "INT64", "shape": [-1, 3]},
    ]
    assert meta["outputs"] == [
        {"name": "scores", "datatype": "FP32", "shape": [-1, 2]},
        {"name": "total", "datatype": "INT64", "shape": [-1]},
    ]
    assert c.get("/v2/models/two/versions/1").json() == meta
    assert c.get("/v2/models/two/ready").status_code == 200
    assert c.get("/v2/models/two/versions/1/ready").json() == {"name": "two", "ready": True}
    assert c.get("/v2/models/two/versions/2/ready").status_code == 400
    assert c.get("/v2/models/nope/ready").status_code == 404
    config = c.get("/v2/models/mlp/config").json()
    assert config["max_batch_size"] == 32 and config["input"][0]["dims"] == [16]
    index = c.post("/v2/repository/index").json()
    assert {(m["name"], m["state"]) for m in index} == {
        ("mlp", "AVAILABLE"),
        ("two", "AVAILABLE"),
        ("reg", "AVAILABLE"),
    }


def _tensor(name, array, datatype, nested=False):
    data = array.tolist() if nested else array.reshape(-1).tolist()
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}


@pytest.mark.parametrize("nested", [False, True])
def test_infer_json_two_inputs(server, bundles, nested):
    body = {
        "id": "req-1",
        "inputs": [_tensor("x", X4, "FP32", nested), _tensor("ids", IDS, "INT64", nested)],
    }
    r = server.client.post("/v2/models/two/infer", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_name"] == "two" and out["model_version"] == "1" and out["id"] == "req-1"
    want = local_predict(bundles["two"], x=X4, ids=IDS)
    by_name = {o["name"]: o for o in out["outputs"]}
    assert by_name["total"] == {
        "name": "total",
        "datatype": "INT64",
        "shape": [2],
        "data": want["total"].tolist(),
    }
    assert by_name["scores"]["shape"] == [2, 2]
    np.testing.assert_allclose(
        np.reshape(by_name["scores"]["data"], (2, 2)), want["scores"], rtol=1e-6
    )


def _binary_body(header: dict, chunks: list[bytes]) -> tuple[bytes, dict]:
    head = json.dumps(header).encode()
    return head + b"".join(chunks), {"Inference-Header-Content-Length": str(len(head))}


def test_infer_binary_in_and_out_by_hand(server, bundles):
    header = {
        "inputs": [
            {
                "name": "x",
                "shape": [2, 4],
                "datatype": "FP32",
                "parameters": {"binary_data_size": X4.nbytes},
            },
            {"name": "ids", "shape": [2, 3], "datatype": "INT64", "data": IDS.reshape(-1).tolist()},
        ],
        "outputs": [
            {"name": "total", "parameters": {"binary_data": True}},
            {"name": "scores", "parameters": {"binary_data": False}},
        ],
    }
    body, headers = _binary_body(header, [X4.astype("<f4").tobytes()])
    r = server.client.post("/v2/models/two/infer", content=body, headers=headers)
    assert r.status_code == 200, r.text
    n = int(r.headers["Inference-Header-Content-Length"])
    meta = json.loads(r.content[:n])
    assert [o["name"] for o in meta["outputs"]] == ["total", "scores"]  # request order
    assert meta["outputs"][0]["parameters"] == {"binary_data_size": 16}
    want = local_predict(bundles["two"], x=X4, ids=IDS)
    assert np.frombuffer(r.content[n:], "<i8").tolist() == want["total"].tolist()


def test_classification_extension(server, bundles):
    body = {
        "inputs": [_tensor("x", X[:2], "FP32")],
        "outputs": [{"name": "y", "parameters": {"classification": 2}}],
    }
    r = server.client.post("/v2/models/mlp/infer", json=body)
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert out["datatype"] == "BYTES" and out["shape"] == [2, 2]
    scores = local_predict(bundles["mlp"], x=X[:2])["y"]
    top = np.argsort(-scores, axis=1)[:, :2].reshape(-1)
    assert [int(s.split(":")[1]) for s in out["data"]] == top.tolist()


def test_gzip_request_body(server, bundles):
    body = json.dumps({"inputs": [_tensor("x", X, "FP32")]}).encode()
    r = server.client.post(
        "/v2/models/mlp/infer", content=gzip.compress(body), headers={"Content-Encoding": "gzip"}
    )
    assert r.status_code == 200, r.text
    got = np.reshape(r.json()["outputs"][0]["data"], (3, 4))
    np.testing.assert_allclose(got, local_predict(bundles["mlp"], x=X)["y"], rtol=1e-6)


@pytest.mark.parametrize("binary", [False, True])
def test_tritonclient(server, bundles, binary):
    httpclient = pytest.importorskip("tritonclient.http")
    client = httpclient.InferenceServerClient(url=server.url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("two")
        meta = client.get_model_metadata("two")
        assert [i["name"] for i in meta["inputs"]] == ["x", "ids"]
        x = httpclient.InferInput("x", list(X4.shape), "FP32")
        x.set_data_from_numpy(X4, binary_data=binary)
        ids = httpclient.InferInput("ids", list(IDS.shape), "INT64")
        ids.set_data_from_numpy(IDS, binary_data=binary)
        outputs = [
            httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("scores", "total")
        ]
        result = client.infer("two", [x, ids], outputs=outputs, request_id="abc")
        want = local_predict(bundles["two"], x=X4, ids=IDS)
        np.testing.assert_allclose(result.as_numpy("scores"), want["scores"], rtol=1e-6)
        np.testing.assert_array_equal(result.as_numpy("total"), want["total"])
        assert result.get_response()["id"] == "abc"
        # No requested outputs: tritonclient asks for all of them in binary.
        result = client.infer(
            "mlp",
            [
                httpclient.InferInput("x", [3, 16], "FP32").set_data_from_numpy(
                    X, binary_data=binary
                )
            ],
        )
        np.testing.assert_allclose(
            result.as_numpy("y"), local_predict(bundles["mlp"], x=X)["y"], rtol=1e-6
        )
        with pytest.raises(Exception, match="expected datatype FP32, got FP64"):
            bad = httpclient.InferInput("x", [3, 16], "FP64")
            client.infer("mlp", [bad.set_data_from_numpy(X.astype(np.float64), binary_data=binary)])
    finally:
        client.close()


# -- every KServe datatype round-trips (identity models held in memory) -------------------------
DATATYPES = [
    ("BOOL", np.array([[True, False, True]])),
    ("INT8", np.array([[-128, 0, 127]], np.int8)),
    ("INT16", np.array([[-32768, 1, 32767]], np.int16)),
    ("INT32", np.array([[-(2**31), 2, 2**31 - 1]], np.int32)),
    ("INT64", np.array([[-(2**63), 3, 2**63 - 1]], np.int64)),
    ("UINT8", np.array([[0, 1, 255]], np.uint8)),
    ("UINT16", np.array([[0, 1, 65535]], np.uint16)),
    ("UINT32", np.array([[0, 1, 2**32 - 1]], np.uint32)),
    ("UINT64", np.array([[0, 1, 2**64 - 1]], np.uint64)),
    ("FP16", np.array([[0.5, -2.0, 65504.0]], np.float16)),
    ("FP32", np.array([[0.1, -1e30, 3.5]], np.float32)),
    ("FP64", np.array([[0.1, -1e300, 3.5]], np.float64)),
    ("BYTES", np.array([[b"abc", "é".encode(), b""]], dtype=object)),
]


@pytest.fixture(scope="module")
def identity_server():
    from ember.serve import ModelRepository, Servable
    from ember.serve.wire_types import KSERVE_DATATYPES

    config = serve_config(poll_interval=0)
    repo = ModelRepository(config)
    for datatype, _ in DATATYPES:
        spec = NS(name="t", dtype=KSERVE_DATATYPES[datatype], shape=(None, 3))
        bundle = NS(signature=NS(inputs=[spec], outputs=[spec]), metadata={})
        repo.add_servable(datatype.lower(), 1, Servable.wrap(bundle, call=lambda t: {"t": t}))
    with ServerThread(config, repo=repo) as srv:
        yield srv


@pytest.mark.parametrize("datatype,array", DATATYPES, ids=[d for d, _ in DATATYPES])
@pytest.mark.parametrize("binary", [False, True])
def test_every_datatype_round_trips(identity_server, datatype, array, binary):
    httpclient = pytest.importorskip("tritonclient.http")
    client = httpclient.InferenceServerClient(url=identity_server.url.removeprefix("http://"))
    try:
        tensor = httpclient.InferInput("t", list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        result = client.infer(
            datatype.lower(), [tensor], outputs=[httpclient.InferRequestedOutput("t", binary)]
        )
        got = result.as_numpy("t")
        assert got.shape == array.shape
        if datatype == "BYTES":
            # tritonclient gives str for JSON BYTES and bytes for binary ones.
            got = [v.encode() if isinstance(v, str) else bytes(v) for v in got.reshape(-1)]
            assert got == list(array.reshape(-1))
        else:
            assert got.dtype == array.dtype
            np.testing.assert_array_equal(got, array)
    finally:
        client.close()


ERRORS = [
    # (json header or raw bytes, extra headers, status, words)
    (
        {"inputs": [{"name": "x", "shape": [1, 16], "datatype": "FP32", "data": [0] * 15}]},
        {},
        400,
        ["input 'x'", "needs 16 values", "15"],
    ),
    (
        {"inputs": [{"name": "x", "shape": [1, 15], "datatype": "FP32", "data": [0] * 15}]},
        {},
        400,
        ["input 'x'", "expected shape [-1, 16]", "[1, 15]"],
    ),
    (
        {"inputs": [{"name": "x", "shape": [1, 16], "datatype": "INT64", "data": [0] * 16}]},
        {},
        400,
        ["expected datatype FP32, got INT64"],
    ),
    (
        {"inputs": [{"name": "q", "shape": [1], "datatype": "FP32", "data": [0]}]},
        {},
        400,
        ["no input 'q'", "inputs: x"],
    ),
    ({"inputs": []}, {}, 400, ["non-empty list"]),
    (
        {"inputs": [{"name": "x", "shape": [0, 16], "datatype": "FP32", "data": []}]},
        {},
        400,
        ["the batch is empty"],
    ),
    (
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [1, 16],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": 64},
                }
            ]
        },
        {},
        400,
        ["binary_data_size is 64", "only 0 bytes"],
    ),
    (
        {
            "inputs": [{"name": "x", "shape": [1, 16], "datatype": "FP32", "data": [0] * 16}],
            "outputs": [{"name": "z"}],
        },
        {},
        400,
        ["no output 'z'"],
    ),
    (
        b'{"inputs": []}',
        {"Inference-Header-Content-Length": "999"},
        400,
        ["Inference-Header-Content-Length is 999"],
    ),
    (b'{"inputs": []}', {"Inference-Header-Content-Length": "-1"}, 400, ["byte count"]),
    (b"\x1f\x8b garbage", {"Content-Encoding": "gzip"}, 400, ["not valid gzip"]),
    (b"{}", {"Content-Encoding": "br"}, 415, ["'br' is not supported"]),
]


@pytest.mark.parametrize("body,headers,status,words", ERRORS)
def test_infer_errors(server, body, headers, status, words):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = server.client.post("/v2/models/mlp/infer", content=content, headers=headers)
    assert r.status_code == status, r.text
    for word in words:
        assert word in r.json()["error"], (word, r.json())


def test_binary_sizes_are_checked(server):
    x = X[:1].astype("<f4").tobytes()
    header = {
        "inputs": [
            {
                "name": "x",
                "shape": [1, 16],
                "datatype": "FP32",
                "parameters": {"binary_data_size": len(x)},
            }
        ]
    }
    body, headers = _binary_body(header, [x, b"extra"])
    r = server.client.post("/v2/models/mlp/infer", content=body, headers=headers)
    assert r.status_code == 400 and "5 bytes of binary data are not claimed" in r.json()["error"]
    header["inputs"][0]["shape"] = [2, 16]
    body, headers = _binary_body(header, [x])
    r = server.client.post("/v2/models/mlp/infer", content=body, headers=headers)
    assert r.status_code == 400 and "needs 128 bytes" in r.json()["error"]


def test_bytes_elements_are_checked():
    from ember.serve.errors import BadRequestError
    from ember.serve.kserve_binary import tensor_from_binary

    cases = [
        (struct.pack("<I", 100) + b"ab", 1, "longer than the data left"),
        (struct.pack("<I", 1) + b"a" + b"zz", 1, "2 bytes left after 1 BYTES elements"),
        (struct.pack("<I", 1) + b"a", 2, "ends before element 1 of 2"),
    ]
    for raw, count, words in cases:
        with pytest.raises(BadRequestError, match=words):
            tensor_from_binary(memoryview(raw), "BYTES", [count], "input 's'")
