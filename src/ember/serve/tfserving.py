"""TF Serving's REST API: model status, metadata, ``:predict``, ``:classify``, ``:regress``.

Routes (``{v}`` an integer version, ``{l}`` a version label from the model config)::

    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]            model_version_status
    GET  /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata   signature_def
    POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict    instances/inputs -> predictions/outputs
    POST ...:classify  (one float output [-1, K])   ...:regress  (one float output [-1] or [-1, 1])

Row format: ``{"instances": [row, ...]}`` (a row is the input's value for one example, or an
object ``{input name: value}`` when the model has several inputs) answers
``{"predictions": [...]}``; columnar format: ``{"inputs": value or {name: value}}`` answers
``{"outputs": value or {name: value}}``. Errors are ``{"error": "..."}``.

Example:
    >>> import asyncio, json, numpy as np
    >>> from types import SimpleNamespace as NS
    >>> from ember.serve.config import ServeConfig
    >>> from ember.serve.messages import Request
    >>> from ember.serve.repository import ModelRepository
    >>> from ember.serve.servable import Servable
    >>> from ember.serve import tfserving
    >>> spec = NS(name="x", dtype="float32", shape=(None, 2))
    >>> twice = Servable.wrap(NS(signature=NS(inputs=[spec], outputs=[NS(name="y",
    ...     dtype="float32", shape=(None, 2))]), metadata={}), call=lambda x: {"y": 2 * x})
    >>> async def main():
    ...     repo = ModelRepository(ServeConfig())
    ...     repo.add_servable("twice", 1, twice)
    ...     body = json.dumps({"instances": [[1, 2], [3, 4]]}).encode()
    ...     req = Request("POST", params={"name": "twice", "verb": "predict"}, body=body)
    ...     reply = await tfserving.predict(repo, req)
    ...     await repo.close()
    ...     return reply.status, json.loads(reply.body)
    >>> asyncio.run(main())
    (200, {'predictions': [[2.0, 4.0], [6.0, 8.0]]})
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import inference
from .errors import BadRequestError, NotFoundError
from .messages import Reply, Request
from .repository import AVAILABLE, ModelRepository, ModelVersion
from .servable import Servable, TensorInfo
from .tensor_codec import array_from_json, json_from_array, resolve_b64
from .wire_types import tf_dtype

__all__ = ["model_status", "model_metadata", "predict", "classify", "regress"]

SIGNATURE = "serving_default"
_STATUS_CODES = {AVAILABLE: "OK"}


def _where(name: str) -> str:
    return f"input {name!r}"


def _version_status(mv: ModelVersion) -> dict:
    code = "UNKNOWN" if mv.error else _STATUS_CODES.get(mv.state, "OK")
    return {
        "version": str(mv.version),
        "state": mv.state,
        "status": {"error_code": code, "error_message": mv.error},
    }


async def model_status(repo: ModelRepository, request: Request) -> Reply:
    """``GET /v1/models/{name}[/versions/{v}|/labels/{l}]``."""
    model = repo.get(request.params["name"])
    version = request.version()
    label = request.params.get("label")
    if label is not None:
        version = model.resolve(label=label).version
    if version is None:
        versions = sorted(model.versions.values(), key=lambda mv: -mv.version)
    else:
        mv = model.versions.get(version)
        if mv is None:
            raise NotFoundError(f"model {model.name!r} has no version {version}")
        versions = [mv]
    return Reply.json(
        {"model_version_status": [_version_status(mv) for mv in versions]}, model=model.name
    )


def _tensor_info(spec: TensorInfo) -> dict:
    return {
        "dtype": tf_dtype(spec.dtype),
        "tensor_shape": {
            "dim": [{"size": str(d), "name": ""} for d in spec.wire_shape],
            "unknown_rank": False,
        },
        "name": spec.name,
    }


async def model_metadata(repo: ModelRepository, request: Request) -> Reply:
    """``GET /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata``."""
    p = request.params
    mv = repo.get(p["name"]).resolve(request.version(), p.get("label"))
    servable = mv.servable
    signature = {
        "inputs": {t.name: _tensor_info(t) for t in servable.inputs},
        "outputs": {t.name: _tensor_info(t) for t in servable.outputs},
        "method_name": "tensorflow/serving/predict",
    }
    body = {
        "model_spec": {"name": mv.model, "signature_name": "", "version": str(mv.version)},
        "metadata": {
            "signature_def": {"signature_def": {SIGNATURE: signature}},
            "ember": servable.metadata,
        },
    }
    return Reply.json(body, model=mv.model, version=str(mv.version))


# -- request decoding --------------------------------------------------------------------------
def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _decode(servable: Servable, name: str, value: Any, rows: bool, flags: tuple) -> np.ndarray:
    has_b64, bools_possible = flags
    spec = servable.input(name)
    if spec is None:
        raise inference.unknown_input(servable, name)
    if has_b64:
        dims = spec.shape[1:] if rows else spec.shape
        value = (
            [resolve_b64(v, spec, dims, _where(name)) for v in value]
            if rows
            else resolve_b64(value, spec, dims, _where(name))
        )
    return array_from_json(value, spec, _where(name), bools_possible)


def _check_envelope(body: Any, allowed: set[str]) -> None:
    if not isinstance(body, dict):
        raise BadRequestError(f"the request body must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequestError(
            f"unknown field {unknown[0]!r} (expected: {', '.join(sorted(allowed))})"
        )
    signature = body.get("signature_name", SIGNATURE)
    if signature not in ("", SIGNATURE):
        raise BadRequestError(
            f"unknown signature_name {signature!r}; this model has {SIGNATURE!r}"
            if isinstance(signature, str)
            else "signature_name must be a string"
        )


def _rows_to_arrays(servable: Servable, instances: Any, flags: tuple) -> dict[str, np.ndarray]:
    if not isinstance(instances, list) or not instances:
        raise BadRequestError('"instances" must be a non-empty list (one entry per example)')
    named = [isinstance(x, dict) and not _is_b64(x) for x in instances]
    if all(named):
        names = servable.input_names
        for i, inst in enumerate(instances):
            for key in inst:
                if key not in names:
                    raise BadRequestError(
                        f"instances[{i}] has unknown input {key!r} (inputs: {', '.join(names)})"
                    )
            for key in names:
                if key not in inst:
                    raise BadRequestError(f"instances[{i}] lacks input {key!r}")
        columns = {n: [inst[n] for inst in instances] for n in names}
    elif any(named):
        raise BadRequestError(
            '"instances" mixes objects and plain values; use one form for every instance'
        )
    else:
        if len(servable.inputs) != 1:
            raise BadRequestError(
                f"the model has {len(servable.inputs)} inputs "
                f"({', '.join(servable.input_names)}): each instance must be an object "
                "naming them"
            )
        columns = {servable.input_names[0]: instances}
    return {n: _decode(servable, n, v, True, flags) for n, v in columns.items()}


def _columns_to_arrays(servable: Servable, inputs: Any, flags: tuple) -> dict[str, np.ndarray]:
    if isinstance(inputs, dict) and not _is_b64(inputs):
        return {n: _decode(servable, n, v, False, flags) for n, v in inputs.items()}
    if len(servable.inputs) != 1:
        raise BadRequestError(
            f"the model has {len(servable.inputs)} inputs ({', '.join(servable.input_names)}): "
            '"inputs" must be an object naming them'
        )
    return {
        servable.input_names[0]: _decode(servable, servable.input_names[0], inputs, False, flags)
    }


def _request_arrays(servable: Servable, body: dict, flags: tuple) -> tuple[dict, bool]:
    if ("instances" in body) == ("inputs" in body):
        raise BadRequestError(
            'the request needs exactly one of "instances" (row format) or "inputs" '
            "(columnar format)"
        )
    if "instances" in body:
        return _rows_to_arrays(servable, body["instances"], flags), True
    return _columns_to_arrays(servable, body["inputs"], flags), False


# -- response encoding -------------------------------------------------------------------------
def _encode(array: np.ndarray) -> Any:
    return json_from_array(array, bytes_as="b64")


def _rows_response(outputs: dict[str, np.ndarray]) -> list:
    if len(outputs) == 1:
        return _encode(next(iter(outputs.values())))
    sizes = {name: (a.shape[0] if a.ndim else None) for name, a in outputs.items()}
    if None in sizes.values() or len(set(sizes.values())) > 1:
        raise BadRequestError(
            f"the outputs do not share a batch axis ({sizes}); use the columnar format "
            '("inputs") for this model'
        )
    columns = {name: _encode(a) for name, a in outputs.items()}
    return [dict(zip(columns, row)) for row in zip(*columns.values())]


async def _infer(repo: ModelRepository, request: Request, allowed: set[str], precheck=None):
    p = request.params
    body = request.json()
    _check_envelope(body, allowed)
    with repo.lease(p["name"], request.version(), p.get("label")) as mv:
        if precheck is not None:
            precheck(mv)
        body_bytes = request.body
        flags = (b'"b64"' in body_bytes, b"true" in body_bytes or b"false" in body_bytes)
        if "examples" in allowed:
            arrays, rows = _examples_to_arrays(mv.servable, body, flags), True
        else:
            arrays, rows = _request_arrays(mv.servable, body, flags)
        outputs = await inference.run(mv, arrays)
    return mv, outputs, rows


async def predict(repo: ModelRepository, request: Request) -> Reply:
    """``POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict``."""
    mv, outputs, rows = await _infer(repo, request, {"signature_name", "instances", "inputs"})
    labels = {"model": mv.model, "version": str(mv.version)}
    if rows:
        return Reply.json({"predictions": _rows_response(outputs)}, **labels)
    if len(outputs) == 1:
        return Reply.json({"outputs": _encode(next(iter(outputs.values())))}, **labels)
    return Reply.json({"outputs": {n: _encode(a) for n, a in outputs.items()}}, **labels)


# -- classify / regress ------------------------------------------------------------------------
_EXAMPLE_FIELDS = {"signature_name", "examples", "context"}


def _examples_to_arrays(servable: Servable, body: dict, flags: tuple) -> dict[str, np.ndarray]:
    examples, context = body.get("examples"), body.get("context", {})
    if not isinstance(examples, list) or not examples:
        raise BadRequestError('"examples" must be a non-empty list of objects {feature: value}')
    if not isinstance(context, dict):
        raise BadRequestError('"context" must be an object {feature: value}')
    if not all(isinstance(ex, dict) for ex in examples):
        raise BadRequestError('every entry of "examples" must be an object {feature: value}')
    return _rows_to_arrays(servable, [{**context, **ex} for ex in examples], flags)


def _single_float_output(mv: ModelVersion, verb: str) -> TensorInfo:
    outs = mv.servable.outputs
    spec = outs[0]
    if verb == "classify":
        shape_fits = len(spec.shape) == 2 and spec.shape[0] is None
    else:
        shape_fits = spec.shape in ((None,), (None, 1))
    if len(outs) != 1 or not spec.dtype.startswith(("float", "bfloat")) or not shape_fits:
        sig = ", ".join(f"{t.name} {t.dtype} {t.wire_shape}" for t in outs)
        want = "[-1, K] scores" if verb == "classify" else "[-1] or [-1, 1] values"
        raise BadRequestError(
            f"model {mv.model!r} does not fit :{verb}: it needs one float output of {want}; "
            f"its outputs: {sig}"
        )
    return spec


async def classify(repo: ModelRepository, request: Request) -> Reply:
    """``POST ...:classify``: ``{"examples": [...]}`` -> ``{"result": [[[label, score], ...]]}``."""

    def precheck(mv: ModelVersion) -> None:
        _single_float_output(mv, "classify")

    mv, outputs, _ = await _infer(repo, request, _EXAMPLE_FIELDS, precheck)
    scores = next(iter(outputs.values())).astype(np.float64)
    names = repo.get(mv.model).config.class_labels
    result = [
        [[names[k] if names and k < len(names) else str(k), float(s)] for k, s in enumerate(row)]
        for row in scores
    ]
    return Reply.json({"result": result}, model=mv.model, version=str(mv.version))


async def regress(repo: ModelRepository, request: Request) -> Reply:
    """``POST ...:regress``: ``{"examples": [...]}`` -> ``{"result": [value, ...]}``."""

    def precheck(mv: ModelVersion) -> None:
        _single_float_output(mv, "regress")

    mv, outputs, _ = await _infer(repo, request, _EXAMPLE_FIELDS, precheck)
    values = next(iter(outputs.values())).astype(np.float64).reshape(-1)
    return Reply.json({"result": values.tolist()}, model=mv.model, version=str(mv.version))
