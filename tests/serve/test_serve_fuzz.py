"""Fuzzing: several hundred malformed requests (seeded) all get a 4xx, and the server stays healthy."""

from __future__ import annotations

import copy
import gzip
import json
import random
import re
import time

import numpy as np
import pytest

from conftest import ServerThread, serve_config

MAX_BODY = 256 * 1024
SEED = 20240607


def _floats(rng, n):
    return [round(rng.gauss(0, 1), 3) for _ in range(n)]


def _kserve_mlp(rng):
    x = _floats(rng, 16)
    return {
        "id": "a",
        "inputs": [{"name": "x", "shape": [1, 16], "datatype": "FP32", "data": x}],
        "outputs": [{"name": "y", "parameters": {"binary_data": False}}],
    }


def _kserve_two(rng):
    return {
        "inputs": [
            {"name": "x", "shape": [2, 4], "datatype": "FP32", "data": _floats(rng, 8)},
            {"name": "ids", "shape": [2, 3], "datatype": "INT64", "data": [1, 2, 3, 4, 5, 6]},
        ],
        "parameters": {"binary_data_output": False},
    }


def _tf_rows(rng):
    return {"signature_name": "serving_default", "instances": [_floats(rng, 16), _floats(rng, 16)]}


def _tf_two(rng):
    return {"inputs": {"x": [_floats(rng, 4)], "ids": [[7, 8, 9]]}}


VALID = [
    ("/v2/models/mlp/infer", _kserve_mlp),
    ("/v2/models/two/infer", _kserve_two),
    ("/v1/models/mlp:predict", _tf_rows),
    ("/v1/models/two:predict", _tf_two),
]


def _nodes(tree, path=()):
    """Every (path, value) in a JSON tree."""
    yield path, tree
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _nodes(v, path + (i,))


def _wrong_type(rng, value):
    """A JSON value of another type than ``value`` (never a number for a number)."""
    if isinstance(value, bool):
        pool = ["yes", None, 1.5, [], {}]
    elif isinstance(value, (int, float)):
        pool = [None, "junk", True, [], {"v": 1}]
    elif isinstance(value, str):
        pool = [None, 3, True, [], {}]
    elif isinstance(value, list):
        pool = [None, "junk", 7, True, {}]
    else:
        pool = [None, "junk", 7, True, []]
    return rng.choice(pool)


def mutate(rng, tree):
    """The tree with one node replaced by a value of the wrong type."""
    tree = copy.deepcopy(tree)
    path, value = rng.choice(list(_nodes(tree)))
    if not path:
        return _wrong_type(rng, tree)
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = _wrong_type(rng, value)
    return tree


def cases(rng):
    """(method, path, body bytes, headers, expected status or None for "any 4xx")."""
    out = []
    for _ in range(240):  # one wrong-typed node in an otherwise valid request
        path, make = rng.choice(VALID)
        out.append(("POST", path, json.dumps(mutate(rng, make(rng))).encode(), {}, None))
    for _ in range(60):  # truncated JSON
        path, make = rng.choice(VALID)
        raw = json.dumps(make(rng)).encode()
        out.append(("POST", path, raw[: rng.randrange(0, len(raw) - 1)], {}, 400))
    for _ in range(30):  # binary noise (a NUL first, so it is never JSON)
        path, _ = rng.choice(VALID)
        raw = b"\x00" + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        out.append(("POST", path, raw, {}, 400))
    for _ in range(40):  # binary extension with bad header lengths or sizes
        x = np.zeros(16, "<f4").tobytes()
        size = rng.choice([-1, 0, 63, 65, 1 << 40, "64", 1.5, None])
        header = json.dumps(
            {
                "inputs": [
                    {
                        "name": "x",
                        "shape": [1, 16],
                        "datatype": "FP32",
                        "parameters": {"binary_data_size": size},
                    }
                ]
            }
        ).encode()
        length = rng.choice(
            [
                str(len(header)),
                str(len(header) + 1),
                "0",
                "-5",
                "abc",
                str(len(header) + 10_000),
                "1e3",
            ]
        )
        if length == str(len(header)) and size == 64:
            length = "abc"
        out.append(
            (
                "POST",
                "/v2/models/mlp/infer",
                header + x,
                {"Inference-Header-Content-Length": length},
                400,
            )
        )
    for _ in range(20):  # compression that lies
        body = json.dumps(_kserve_mlp(rng)).encode()
        bad = rng.choice(
            [
                (b"not gzip", "gzip", 400),
                (gzip.compress(body)[:-8], "gzip", 400),
                (body, "br", 415),
                (b"\x78\x9c\x00", "deflate", 400),
            ]
        )
        out.append(("POST", "/v2/models/mlp/infer", bad[0], {"Content-Encoding": bad[1]}, bad[2]))
    bomb = gzip.compress(b"[" + b"0," * (MAX_BODY // 2) + b"0]")
    out.append(("POST", "/v2/models/mlp/infer", bomb, {"Content-Encoding": "gzip"}, 413))
    out.append(("POST", "/v1/models/mlp:predict", b"[" * 150_000 + b"]" * 150_000, {}, 413))
    out.append(("POST", "/v1/models/mlp:predict", b"[" * 50_000, {}, 400))
    out.append(("POST", "/v2/models/mlp/infer", b" " * (MAX_BODY + 1), {}, 413))
    huge_shape = {
        "inputs": [
            {
                "name": "x",
                "shape": [2**40, 2**40],
                "datatype": "FP32",
                "parameters": {"binary_data_size": 8},
            }
        ]
    }
    raw = json.dumps(huge_shape).encode()
    out.append(
        (
            "POST",
            "/v2/models/mlp/infer",
            raw + b"\0" * 8,
            {"Inference-Header-Content-Length": str(len(raw))},
            400,
        )
    )
    words = [
        "v1",
        "v2",
        "models",
        "mlp",
        "two",
        "versions",
        "labels",
        "x",
        "..",
        "%00",
        "é",
        "metadata",
        "ready",
        "infer",
        ":predict",
        ":classify",
        "99",
        "-1",
        "health",
    ]
    for _ in range(60):  # unknown routes and wrong methods
        parts = [rng.choice(words) for _ in range(rng.randrange(0, 5))]
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(["é", "%00", "..", "-1x", "a b"]))
        path = "/" + "/".join(parts)
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
        out.append((method, path, b"{}", {}, None))
    for path in ["/v2/models/mlp/infer", "/v1/models/mlp:predict", "/metrics"]:
        out.append(("DELETE", path, b"", {}, 405))
    for version in ["abc", "1.5", "٣", "99999999999999999999", "7"]:
        out.append(
            (
                "POST",
                f"/v2/models/mlp/versions/{version}/infer",
                json.dumps(_kserve_mlp(rng)).encode(),
                {},
                None,
            )
        )
    return out


@pytest.fixture(scope="module")
def fuzz_server(bundles):
    config = serve_config(
        models={"mlp": bundles["mlp"], "two": bundles["two"]},
        poll_interval=0,
        max_body_bytes=MAX_BODY,
        batch_timeout_micros=200,
    )
    with ServerThread(config) as srv:
        yield srv


def test_malformed_requests_get_4xx_and_the_server_stays_healthy(fuzz_server):
    rng = random.Random(SEED)
    all_cases = cases(rng)
    assert len(all_cases) > 400
    started = time.monotonic()
    client = fuzz_server.client
    for method, path, body, headers, expected in all_cases:
        r = client.request(method, path, content=body, headers=headers)
        where = f"{method} {path} {body[:120]!r} {headers}"
        if expected is None:
            assert 400 <= r.status_code < 500, f"{r.status_code} {r.text[:300]} for {where}"
        else:
            assert r.status_code == expected, f"{r.status_code} {r.text[:300]} for {where}"
        if r.headers.get("content-type", "").startswith("application/json"):
            assert isinstance(r.json()["error"], str) and r.json()["error"]
    assert time.monotonic() - started < 60
    # Still healthy: ready, and a valid request of each kind works.
    assert client.get("/v2/health/ready").status_code == 200
    for path, make in VALID:
        r = client.post(path, json=make(rng))
        assert r.status_code == 200, r.text
    metrics = client.get("/metrics").text
    codes = set(re.findall(r'ember_serve_requests_total\{[^}]*code="(\d+)"', metrics))
    assert codes and all(c.startswith(("2", "4")) for c in codes), codes
