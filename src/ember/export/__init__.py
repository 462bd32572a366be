"""Model bundles (ember's SavedModel) and the ``ember export`` command.

A bundle is a directory holding the inference graph (``graph.json``), its weights
(``weights.safetensors``), the signature (``signature.json``: named inputs/outputs, dtypes,
shapes with a dynamic batch axis) and ``metadata.json`` (versions, creation time, hashes).
:func:`save_bundle` writes one from a module or function; :func:`load_bundle` returns a
:class:`Bundle` that runs on NumPy arrays without autograd or tracing, and never executes
code from the files. See ``docs/export.md``.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> import ember
    >>> from ember.export import load_bundle, save_bundle
    >>> path = save_bundle(ember.nn.Linear(3, 2), os.path.join(tempfile.mkdtemp(), "lin"),
    ...                    example_inputs=ember.ones(1, 3))
    >>> b = load_bundle(path)
    >>> [s.shape for s in b.signature.outputs]
    [(None, 2)]
    >>> b(np.ones((4, 3), np.float32))["output_0"].shape
    (4, 2)
"""

from __future__ import annotations

from .bundle import Bundle
from .errors import BundleError
from .load import load_bundle
from .save import save_bundle
from .signature import Signature, TensorSpec

__all__ = ["save_bundle", "load_bundle", "Bundle", "BundleError", "TensorSpec", "Signature"]
