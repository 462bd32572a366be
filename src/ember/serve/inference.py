"""Check a request's arrays against the signature and run them through the model version.

Both protocols decode their wire format into ``{input name: array}`` and call :func:`run`;
it checks that exactly the signature's inputs are there with the right shapes, that they agree
on the batch size, and turns a model failure into an error that names the model and version.

Example:
    >>> import asyncio, numpy as np
    >>> from types import SimpleNamespace as NS
    >>> from ember.serve.inference import check_inputs
    >>> from ember.serve.servable import Servable
    >>> specs = [NS(name="x", dtype="float32", shape=(None, 2)),
    ...          NS(name="ids", dtype="int64", shape=(None,))]
    >>> model = Servable.wrap(NS(signature=NS(inputs=specs, outputs=specs[:1]), metadata={}),
    ...                       call=lambda x, ids: {"x": x})
    >>> check_inputs(model, {"x": np.zeros((2, 2), np.float32)})
    Traceback (most recent call last):
    ...
    ember.serve.errors.BadRequestError: missing input 'ids' (the model's inputs: x, ids)
    >>> check_inputs(model, {"x": np.zeros((2, 2), np.float32), "ids": np.zeros(3, np.int64)})
    Traceback (most recent call last):
    ...
    ember.serve.errors.BadRequestError: inputs disagree on the batch size (axis 0): x has 2, ids has 3
"""

from __future__ import annotations

import logging

import numpy as np

from .errors import BadRequestError, InternalError, ServeError
from .repository import ModelVersion
from .servable import Servable
from .tensor_codec import check_shape

__all__ = ["check_inputs", "run", "unknown_input"]

log = logging.getLogger("ember.serve")

# Exceptions a model raises because of what it was fed (e.g. an id out of an embedding's range).
_INPUT_ERRORS = (ValueError, TypeError, IndexError, KeyError, ArithmeticError)


def unknown_input(servable: Servable, name: str) -> BadRequestError:
    """The error for an input name the signature does not have."""
    return BadRequestError(
        f"the model has no input {name!r} (its inputs: {', '.join(servable.input_names)})"
    )


def check_inputs(servable: Servable, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` in signature order after checking names, shapes and batch sizes."""
    for name in arrays:
        if servable.input(name) is None:
            raise unknown_input(servable, name)
    ordered = {}
    for spec in servable.inputs:
        if spec.name not in arrays:
            raise BadRequestError(
                f"missing input {spec.name!r} "
                f"(the model's inputs: {', '.join(servable.input_names)})"
            )
        array = arrays[spec.name]
        check_shape(array, spec, f"input {spec.name!r}")
        ordered[spec.name] = array
    if servable.batchable:
        sizes = {name: a.shape[0] for name, a in ordered.items()}
        if len(set(sizes.values())) > 1:
            detail = ", ".join(f"{n} has {s}" for n, s in sizes.items())
            raise BadRequestError(f"inputs disagree on the batch size (axis 0): {detail}")
        if 0 in sizes.values():
            raise BadRequestError("the batch is empty: axis 0 of the inputs has size 0")
    return ordered


async def run(mv: ModelVersion, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Validate ``arrays`` for ``mv``'s signature and return the outputs by name."""
    arrays = check_inputs(mv.servable, arrays)
    try:
        return await mv.infer(arrays)
    except ServeError:
        raise
    except _INPUT_ERRORS as exc:
        raise BadRequestError(
            f"model {mv.model!r} version {mv.version} failed on this input: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    except Exception as exc:
        log.exception("model %s version %s failed", mv.model, mv.version)
        raise InternalError(
            f"model {mv.model!r} version {mv.version} failed: {type(exc).__name__}: {exc}"
        ) from None
