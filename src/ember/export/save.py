"""``save_bundle``: trace a module or function and write it as a model bundle.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> import ember
    >>> from ember.export import save_bundle, load_bundle
    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    >>> path = save_bundle(model, os.path.join(tempfile.mkdtemp(), "mlp"),
    ...                    example_inputs=ember.randn(1, 4), input_names=["features"],
    ...                    output_names=["logits"], metadata={"task": "demo"})
    >>> bundle = load_bundle(path)
    >>> bundle.signature.inputs
    [TensorSpec(name='features', dtype='float32', shape=(None, 4))]
    >>> x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    >>> out = bundle(features=x)["logits"]
    >>> out.shape, bool(np.allclose(out, model(ember.from_numpy(x)).detach().numpy()))
    ((5, 2), True)
    >>> bundle.metadata["user"]
    {'task': 'demo'}
"""

from __future__ import annotations

import os
from pathlib import Path

from .capture_model import capture_model
from .write import write_bundle

__all__ = ["save_bundle"]


def save_bundle(
    module_or_fn,
    path: str | os.PathLike,
    example_inputs,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    dynamic_batch: bool = True,
    metadata: dict | None = None,
) -> Path:
    """Trace ``module_or_fn(*example_inputs)`` in eval mode and write the bundle at ``path``.

    ``example_inputs`` is one tensor/array or a tuple of them (one per model input).
    ``input_names`` default to the forward's parameter names, ``output_names`` to the keys of
    a returned dict or ``output_0, output_1, ...``. With ``dynamic_batch`` (the default) axis 0
    of every input is free; otherwise the bundle accepts exactly the example shapes.
    ``metadata`` is a JSON-serialisable dict stored under ``metadata.json``'s ``user`` key.
    Returns the bundle's path.
    """
    cm = capture_model(
        module_or_fn,
        example_inputs,
        input_names=input_names,
        output_names=output_names,
        dynamic_batch=dynamic_batch,
    )
    return write_bundle(path, cm.graph, cm.weights, cm.signature, metadata)
