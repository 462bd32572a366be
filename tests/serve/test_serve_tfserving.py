"""TF Serving REST API against a real server: status, metadata, predict, classify, regress."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from conftest import local_predict

RNG = np.random.default_rng(42)
X = RNG.standard_normal((3, 16), dtype=np.float32)
X4 = RNG.standard_normal((2, 4), dtype=np.float32)
IDS = np.array([[1, 2, 3], [40, 50, 60]], dtype=np.int64)


def test_model_status(server):
    r = server.client.get("/v1/models/mlp")
    assert r.status_code == 200
    assert r.json() == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    assert server.client.get("/v1/models/mlp/versions/1").json() == r.json()


def test_metadata_describes_the_signature(server):
    meta = server.client.get("/v1/models/two/metadata").json()
    assert meta["model_spec"] == {"name": "two", "signature_name": "", "version": "1"}
    sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sig["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert sig["inputs"]["ids"]["dtype"] == "DT_INT64"
    dims = [d["size"] for d in sig["inputs"]["ids"]["tensor_shape"]["dim"]]
    assert dims == ["-1", "3"]
    assert set(sig["outputs"]) == {"scores", "total"}
    assert sig["outputs"]["total"]["dtype"] == "DT_INT64"


def test_predict_row_format_single_input(server, bundles):
    r = server.client.post("/v1/models/mlp:predict", json={"instances": X.tolist()})
    assert r.status_code == 200, r.text
    got = np.array(r.json()["predictions"], dtype=np.float32)
    np.testing.assert_allclose(got, local_predict(bundles["mlp"], x=X)["y"], rtol=1e-6, atol=1e-6)


def test_predict_columnar_single_input(server, bundles):
    for body in ({"inputs": X.tolist()}, {"inputs": {"x": X.tolist()}}):
        r = server.client.post("/v1/models/mlp/versions/1:predict", json=body)
        assert r.status_code == 200, r.text
        got = np.array(r.json()["outputs"], dtype=np.float32)
        want = local_predict(bundles["mlp"], x=X)["y"]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_predict_two_inputs_two_outputs_rows_and_columns(server, bundles):
    want = local_predict(bundles["two"], x=X4, ids=IDS)
    rows = [{"x": X4[i].tolist(), "ids": IDS[i].tolist()} for i in range(2)]
    r = server.client.post("/v1/models/two:predict", json={"instances": rows})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert [p["total"] for p in preds] == want["total"].tolist()  # int64 comes back exact
    np.testing.assert_allclose([p["scores"] for p in preds], want["scores"], rtol=1e-6)
    r = server.client.post(
        "/v1/models/two:predict", json={"inputs": {"x": X4.tolist(), "ids": IDS.tolist()}}
    )
    out = r.json()["outputs"]
    assert out["total"] == want["total"].tolist()
    np.testing.assert_allclose(out["scores"], want["scores"], rtol=1e-6)


def test_classify_and_regress(server, bundles):
    examples = [{"x": row.tolist()} for row in X]
    r = server.client.post("/v1/models/mlp:classify", json={"examples": examples})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    want = local_predict(bundles["mlp"], x=X)["y"]
    assert [[label for label, _ in row] for row in result] == [["0", "1", "2", "3"]] * 3
    np.testing.assert_allclose([[s for _, s in row] for row in result], want, rtol=1e-6)

    r = server.client.post("/v1/models/reg:regress", json={"examples": examples})
    assert r.status_code == 200, r.text
    want = local_predict(bundles["reg"], x=X)["value"].reshape(-1)
    np.testing.assert_allclose(r.json()["result"], want, rtol=1e-6)

    # :regress needs a single [-1] / [-1, 1] output; mlp has [-1, 4].
    r = server.client.post("/v1/models/mlp:regress", json={"examples": examples})
    assert r.status_code == 400 and "does not fit :regress" in r.json()["error"]


ERRORS = [
    # (method, path, json body, status, words the error must contain)
    ("GET", "/v1/models/nope", None, 404, ["'nope' not found", "mlp"]),
    ("GET", "/v1/models/mlp/versions/9", None, 404, ["no version 9"]),
    ("GET", "/v1/models/mlp/labels/stable", None, 404, ["no version label 'stable'"]),
    (
        "POST",
        "/v1/models/mlp:predict",
        {"instances": [[1.0] * 15]},
        400,
        ["input 'x'", "expected shape [-1, 16]", "got [1, 15]"],
    ),
    (
        "POST",
        "/v1/models/mlp:predict",
        {"instances": [[1.0] * 16, [1.0]]},
        400,
        ["input 'x'", "rectangular"],
    ),
    (
        "POST",
        "/v1/models/mlp:predict",
        {"instances": [["a"] * 16]},
        400,
        ["input 'x'", "expected float32", "strings"],
    ),
    (
        "POST",
        "/v1/models/mlp:predict",
        {"instances": X.tolist(), "inputs": X.tolist()},
        400,
        ["exactly one of"],
    ),
    ("POST", "/v1/models/mlp:predict", {"instance": X.tolist()}, 400, ["unknown field 'instance'"]),
    (
        "POST",
        "/v1/models/mlp:predict",
        {"signature_name": "other", "inputs": X.tolist()},
        400,
        ["signature_name 'other'"],
    ),
    (
        "POST",
        "/v1/models/two:predict",
        {"instances": [[1, 2, 3, 4]]},
        400,
        ["2 inputs", "object naming them"],
    ),
    (
        "POST",
        "/v1/models/two:predict",
        {"instances": [{"x": [1, 2, 3, 4]}]},
        400,
        ["instances[0] lacks input 'ids'"],
    ),
    (
        "POST",
        "/v1/models/two:predict",
        {"inputs": {"x": X4.tolist(), "ids": [[1.5, 2, 3], [1, 2, 3]]}},
        400,
        ["input 'ids'", "expected int64", "non-integer"],
    ),
    (
        "POST",
        "/v1/models/two:predict",
        {"inputs": {"x": X4.tolist(), "ids": [[1, 2, 3]]}},
        400,
        ["batch size", "x has 2, ids has 1"],
    ),
    (
        "POST",
        "/v1/models/two:predict",
        {"inputs": {"x": X4.tolist(), "ids": [[2**70, 2, 3], [1, 2, 3]]}},
        400,
        ["input 'ids'"],
    ),
    (
        "POST",
        "/v1/models/mlp:predict",
        {"instances": [{"b64": "AAAA"}]},
        400,
        ["b64", "string and uint8 inputs, not float32"],
    ),
    ("GET", "/v1/models/mlp:predict", None, 405, ["use POST"]),
]


@pytest.mark.parametrize("method,path,body,status,words", ERRORS)
def test_errors_say_what_was_wrong(server, method, path, body, status, words):
    r = server.client.request(method, path, json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    for word in words:
        assert word in error, (word, error)


def test_invalid_json_and_empty_body(server):
    for raw in (b"", b"{", b"[1, 2", b"\xff\xfe\x00"):
        r = server.client.post("/v1/models/mlp:predict", content=raw)
        assert r.status_code == 400 and "error" in r.json()


def test_b64_for_uint8_input_decodes_raw_bytes():
    """TF Serving's {"b64": ...}: bytes of a uint8 image fill the row (an in-memory model)."""
    import asyncio
    import json
    from types import SimpleNamespace as NS

    from ember.serve import ModelRepository, Servable, ServeConfig, tfserving
    from ember.serve.messages import Request

    spec = NS(name="img", dtype="uint8", shape=(None, 2, 3))
    out = NS(name="sum", dtype="int64", shape=(None,))
    model = Servable.wrap(
        NS(signature=NS(inputs=[spec], outputs=[out]), metadata={}),
        call=lambda img: {"sum": img.astype(np.int64).sum(axis=(1, 2))},
    )
    img = np.arange(6, dtype=np.uint8) * 40

    async def call(body):
        repo = ModelRepository(ServeConfig())
        repo.add_servable("img", 1, model)
        req = Request("POST", params={"name": "img"}, body=json.dumps(body).encode())
        try:
            reply = await tfserving.predict(repo, req)
        finally:
            await repo.close()
        return json.loads(reply.body)

    b64 = base64.b64encode(img.tobytes()).decode()
    assert asyncio.run(call({"instances": [{"b64": b64}]})) == {"predictions": [int(img.sum())]}
    with pytest.raises(Exception, match="5 b64 bytes do not fit shape"):
        asyncio.run(call({"instances": [{"b64": base64.b64encode(b"12345").decode()}]}))
