"""KServe v2 / Open Inference Protocol REST: health, metadata, readiness and ``infer``.

Routes::

    GET  /v2/health/live   /v2/health/ready   /v2                      server
    GET  /v2/models/{name}[/versions/{v}]                               model metadata
    GET  /v2/models/{name}[/versions/{v}]/ready                         200 ready, 400 not
    GET  /v2/models/{name}[/versions/{v}]/config                        Triton-style config
    POST /v2/models/{name}[/versions/{v}]/infer                         inference
    POST /v2/repository/index                                           every model version

``infer`` takes JSON tensors (``name``, ``shape``, ``datatype``, ``data`` flat or nested) and
the binary tensor data extension (see :mod:`ember.serve.kserve_binary`); outputs come back as
JSON unless ``parameters.binary_data`` (per output) or ``binary_data_output`` (per request)
asks for binary. ``parameters.classification: k`` on an output returns its top-k classes as
``BYTES`` ``"score:index[:label]"`` (Triton's classification extension).

Example:
    >>> import asyncio, json, numpy as np
    >>> from types import SimpleNamespace as NS
    >>> from ember.serve.config import ServeConfig
    >>> from ember.serve.messages import Request
    >>> from ember.serve.repository import ModelRepository
    >>> from ember.serve.servable import Servable
    >>> from ember.serve import kserve
    >>> spec = NS(name="x", dtype="int64", shape=(None,))
    >>> inc = Servable.wrap(NS(signature=NS(inputs=[spec], outputs=[NS(name="y",
    ...     dtype="int64", shape=(None,))]), metadata={}), call=lambda x: {"y": x + 1})
    >>> async def main():
    ...     repo = ModelRepository(ServeConfig())
    ...     repo.add_servable("inc", 1, inc)
    ...     tensor = {"name": "x", "shape": [3], "datatype": "INT64", "data": [1, 2, 3]}
    ...     req = Request("POST", params={"name": "inc"},
    ...                   body=json.dumps({"inputs": [tensor]}).encode())
    ...     reply = await kserve.infer(repo, req)
    ...     await repo.close()
    ...     return json.loads(reply.body)["outputs"]
    >>> asyncio.run(main())
    [{'name': 'y', 'datatype': 'INT64', 'shape': [3], 'data': [2, 3, 4]}]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import inference
from .errors import BadRequestError
from .kserve_binary import (
    HEADER_LENGTH,
    BinaryReader,
    split_body,
    tensor_from_binary,
    tensor_to_binary,
)
from .messages import Reply, Request, dumps
from .repository import AVAILABLE, ModelRepository, ModelVersion
from .servable import Servable, TensorInfo
from .tensor_codec import array_from_json
from .wire_types import is_bytes_dtype, kserve_datatype, numpy_dtype

__all__ = [
    "health_live",
    "health_ready",
    "server_metadata",
    "model_metadata",
    "model_ready",
    "model_config",
    "repository_index",
    "infer",
]

EXTENSIONS = ["binary_tensor_data", "classification", "model_repository"]
_MAX_RANK = 32


async def health_live(repo: ModelRepository, request: Request) -> Reply:
    """``GET /v2/health/live``: the process answers."""
    return Reply.json({"live": True})


async def health_ready(repo: ModelRepository, request: Request) -> Reply:
    """``GET /v2/health/ready``: 200 once the first load is done and some model is available."""
    ready = repo.ready()
    return Reply.json({"ready": ready}, status=200 if ready else 400)


async def server_metadata(repo: ModelRepository, request: Request) -> Reply:
    """``GET /v2``: server name, version and protocol extensions."""
    from ember._version import __version__

    return Reply.json({"name": "ember", "version": __version__, "extensions": EXTENSIONS})


def _tensor_metadata(spec: TensorInfo) -> dict:
    return {"name": spec.name, "datatype": kserve_datatype(spec.dtype), "shape": spec.wire_shape}


async def model_metadata(repo: ModelRepository, request: Request) -> Reply:
    """``GET /v2/models/{name}[/versions/{v}]``."""
    model = repo.get(request.params["name"])
    mv = model.resolve(request.version())
    body = {
        "name": model.name,
        "versions": [str(m.version) for m in model.available()],
        "platform": "ember",
        "inputs": [_tensor_metadata(t) for t in mv.servable.inputs],
        "outputs": [_tensor_metadata(t) for t in mv.servable.outputs],
    }
    return Reply.json(body, model=model.name, version=str(mv.version))


async def model_ready(repo: ModelRepository, request: Request) -> Reply:
    """``GET /v2/models/{name}[/versions/{v}]/ready``: 200 if it can serve, else 400."""
    model = repo.get(request.params["name"])
    version = request.version()
    if version is None:
        ready = bool(model.available())
    else:
        mv = model.versions.get(version)
        ready = mv is not None and mv.state == AVAILABLE
    body = {"name": model.name, "ready": ready}
    return Reply.json(body, status=200 if ready else 400, model=model.name)


def _config_tensor(spec: TensorInfo, batched: bool) -> dict:
    dims = spec.wire_shape[1:] if batched else spec.wire_shape
    return {"name": spec.name, "data_type": "TYPE_" + kserve_datatype(spec.dtype), "dims": dims}


async def model_config(repo: ModelRepository, request: Request) -> Reply:
    """``GET /v2/models/{name}[/versions/{v}]/config`` (what tritonclient's get_model_config
    reads): batching settings and tensors, batch axis left out when the model batches."""
    model = repo.get(request.params["name"])
    mv = model.resolve(request.version())
    batcher, servable = mv.batcher, mv.servable
    batched = servable.batchable
    body = {
        "name": model.name,
        "platform": "ember",
        "backend": "ember",
        "max_batch_size": batcher.max_batch_size if batched else 0,
        "input": [_config_tensor(t, batched) for t in servable.inputs],
        "output": [_config_tensor(t, batched) for t in servable.outputs],
    }
    if batched:
        delay = round(batcher.timeout_s * 1e6)
        body["dynamic_batching"] = {"max_queue_delay_microseconds": delay}
    return Reply.json(body, model=model.name, version=str(mv.version))


async def repository_index(repo: ModelRepository, request: Request) -> Reply:
    """``POST /v2/repository/index``: every model version with its state."""
    rows = []
    for name in sorted(repo.models):
        for version, mv in sorted(repo.models[name].versions.items()):
            rows.append(
                {"name": name, "version": str(version), "state": mv.state, "reason": mv.error}
            )
    return Reply.json(rows)


# -- infer -------------------------------------------------------------------------------------
_ABSENT = object()


def _object(value: Any, where: str) -> dict:
    if value is _ABSENT:
        return {}
    if not isinstance(value, dict):
        raise BadRequestError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _bool_param(params: dict, key: str, where: str, default: bool) -> bool:
    value = params.get(key, default)
    if not isinstance(value, bool):
        raise BadRequestError(f"{where}.{key} must be true or false")
    return value


def _shape(value: Any, where: str) -> list[int]:
    ok = isinstance(value, list) and len(value) <= _MAX_RANK
    ok = ok and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value)
    if not ok:
        raise BadRequestError(f"{where}: shape must be a list of non-negative integers")
    return value


def _decode_input(
    servable: Servable, tensor: Any, index: int, reader: BinaryReader, bools_possible: bool
) -> tuple[str, np.ndarray]:
    where = f"inputs[{index}]"
    if not isinstance(tensor, dict):
        raise BadRequestError(f"{where} must be an object with name, shape, datatype, data")
    name = tensor.get("name")
    if not isinstance(name, str):
        raise BadRequestError(f"{where}: name must be a string")
    spec = servable.input(name)
    if spec is None:
        raise inference.unknown_input(servable, name)
    where = f"input {name!r}"
    datatype, expected = tensor.get("datatype"), kserve_datatype(spec.dtype)
    if datatype != expected:
        shown = datatype if isinstance(datatype, str) else repr(datatype)
        raise BadRequestError(f"{where}: expected datatype {expected}, got {shown}")
    shape = _shape(tensor.get("shape"), where)
    params = _object(tensor.get("parameters", _ABSENT), f"{where}: parameters")
    if "binary_data_size" in params:
        if "data" in tensor:
            raise BadRequestError(f"{where}: has both data and binary_data_size")
        raw = reader.take(params["binary_data_size"], where)
        return name, tensor_from_binary(raw, datatype, shape, where)
    if "data" not in tensor:
        raise BadRequestError(f"{where}: needs data (or parameters.binary_data_size)")
    array = array_from_json(tensor["data"], spec, where, bools_possible)
    count = math.prod(shape)
    if array.size != count:
        raise BadRequestError(f"{where}: shape {shape} needs {count} values, data has {array.size}")
    return name, array.reshape(shape)


def _requested_outputs(servable: Servable, body: dict, binary_default: bool) -> list[tuple]:
    """``[(name, binary, classification k or 0)]`` in request order (all outputs if none)."""
    requested = body.get("outputs", _ABSENT)
    if requested is _ABSENT:
        return [(n, binary_default, 0) for n in servable.output_names]
    if not isinstance(requested, list):
        raise BadRequestError("outputs must be a list of {name, parameters} objects")
    out, seen = [], set()
    for i, item in enumerate(requested):
        where = f"outputs[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadRequestError(f"{where} must be an object with a string name")
        name = item["name"]
        if name not in servable.output_names:
            raise BadRequestError(
                f"the model has no output {name!r} (its outputs: "
                f"{', '.join(servable.output_names)})"
            )
        if name in seen:
            raise BadRequestError(f"output {name!r} is requested twice")
        seen.add(name)
        params = _object(item.get("parameters", _ABSENT), f"{where}.parameters")
        binary = _bool_param(params, "binary_data", f"{where}.parameters", binary_default)
        k = params.get("classification", 0)
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise BadRequestError(f"{where}.parameters.classification must be a positive integer")
        out.append((name, binary, k))
    return out


def _classify(scores: np.ndarray, k: int, labels: tuple | None, name: str) -> np.ndarray:
    if scores.dtype.kind not in "fiu" or scores.ndim == 0:
        raise BadRequestError(f"output {name!r} holds no class scores to classify")
    flat = scores.reshape(-1, scores.shape[-1]).astype(np.float64)
    k = min(k, flat.shape[1])
    top = np.argsort(-flat, axis=1, kind="stable")[:, :k]
    rows = []
    for row, idx in zip(flat, top):
        items = []
        for j in idx:
            text = f"{row[j]:f}:{j}"
            if labels and j < len(labels):
                text += f":{labels[j]}"
            items.append(text.encode())
        rows.append(items)
    result = np.empty((len(rows), k), dtype=object)
    result[...] = rows
    return result.reshape(scores.shape[:-1] + (k,))


def _json_data(array: np.ndarray, name: str) -> list:
    flat = array.reshape(-1)
    if array.dtype.kind in "OSU":
        try:
            return [v if isinstance(v, str) else bytes(v).decode("utf-8") for v in flat.tolist()]
        except UnicodeDecodeError:
            raise BadRequestError(
                f"output {name!r} holds bytes that are not UTF-8; request it with binary_data"
            ) from None
    if array.dtype.kind == "V":  # ml_dtypes' bfloat16
        return flat.astype(np.float32).tolist()
    return flat.tolist()


def _response(mv: ModelVersion, body: dict, outputs: dict, wanted: list, labels) -> Reply:
    entries, chunks = [], []
    specs = {t.name: t for t in mv.servable.outputs}
    for name, binary, k in wanted:
        spec = specs[name]
        array = outputs[name]
        if k:
            array, datatype = _classify(array, k, labels, name), "BYTES"
        else:
            datatype = kserve_datatype(spec.dtype)
            if not is_bytes_dtype(spec.dtype) and array.dtype != numpy_dtype(spec.dtype):
                array = array.astype(numpy_dtype(spec.dtype))
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if binary:
            raw = tensor_to_binary(array)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = _json_data(array, name)
        entries.append(entry)
    header: dict[str, Any] = {"model_name": mv.model, "model_version": str(mv.version)}
    if "id" in body:
        header["id"] = body["id"]
    header["outputs"] = entries
    labels_kw = {"model": mv.model, "version": str(mv.version)}
    if not chunks:
        return Reply.json(header, **labels_kw)
    head = dumps(header)
    return Reply(
        body=head + b"".join(chunks),
        content_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(head))},
        **labels_kw,
    )


async def infer(repo: ModelRepository, request: Request) -> Reply:
    """``POST /v2/models/{name}[/versions/{v}]/infer``."""
    header, binary = split_body(request.body, request.headers.get(HEADER_LENGTH))
    body = request.json(header)
    if not isinstance(body, dict):
        raise BadRequestError("the inference header must be a JSON object with inputs")
    if "id" in body and not isinstance(body["id"], str):
        raise BadRequestError("id must be a string")
    params = _object(body.get("parameters", _ABSENT), "parameters")
    binary_default = _bool_param(params, "binary_data_output", "parameters", False)
    tensors = body.get("inputs")
    if not isinstance(tensors, list) or not tensors:
        raise BadRequestError("inputs must be a non-empty list of tensors")
    model = repo.get(request.params["name"])
    with repo.lease(model.name, request.version()) as mv:
        servable = mv.servable
        reader, arrays = BinaryReader(binary), {}
        bools_possible = b"true" in header or b"false" in header
        for i, tensor in enumerate(tensors):
            name, array = _decode_input(servable, tensor, i, reader, bools_possible)
            if name in arrays:
                raise BadRequestError(f"input {name!r} is given twice")
            arrays[name] = array
        reader.finish()
        wanted = _requested_outputs(servable, body, binary_default)
        outputs = await inference.run(mv, arrays)
    return _response(mv, body, outputs, wanted, model.config.class_labels)
