"""``ember serve``: a model server speaking TF Serving REST and KServe v2 (Open Inference Protocol).

Serve bundles written by ``ember.export.save_bundle``::

    ember serve --model mnist=./mnist-bundle                 # one bundle, served as version 1
    ember serve --model-base-path ./models                   # ./models/<name>/<version>/

then call it either way::

    curl -d '{"instances": [[...784 floats...]]}' localhost:8501/v1/models/mnist:predict
    curl -d '{"inputs": [{"name": "x", "shape": [1, 784], "datatype": "FP32", "data": [...]}]}' \\
        localhost:8501/v2/models/mnist/infer

Module map: ``servable`` (the one adapter to the bundle API), ``config`` and ``cli`` (settings
and flags), ``versions`` + ``repository`` (model folders, version policy, polling, load/unload),
``batching`` (dynamic batching), ``tensor_codec`` + ``inference`` (validation), ``tfserving``,
``kserve`` + ``kserve_binary`` (the protocols), ``routes``, ``body``, ``metrics``, ``app``
(Starlette app) and ``server`` (uvicorn, signals). See docs/serve.md.

Example (in-process, without HTTP):
    >>> import asyncio, json
    >>> from types import SimpleNamespace as NS
    >>> from ember.serve import ModelRepository, Servable, ServeConfig, kserve
    >>> from ember.serve.messages import Request
    >>> spec = NS(name="x", dtype="float32", shape=(None, 3))
    >>> model = Servable.wrap(NS(signature=NS(inputs=[spec], outputs=[spec]), metadata={}),
    ...                       call=lambda x: {"x": x.cumsum(axis=1)})
    >>> async def main():
    ...     repo = ModelRepository(ServeConfig())
    ...     repo.add_servable("cumsum", 1, model)
    ...     reply = await kserve.model_metadata(repo, Request(params={"name": "cumsum"}))
    ...     await repo.close()
    ...     return json.loads(reply.body)["inputs"]
    >>> asyncio.run(main())
    [{'name': 'x', 'datatype': 'FP32', 'shape': [-1, 3]}]
"""

from __future__ import annotations

from . import kserve, tfserving
from .app import create_app
from .config import ModelConfig, ServeConfig
from .repository import ModelRepository
from .servable import ModelLoadError, Servable, load_servable
from .server import serve

__all__ = [
    "create_app",
    "serve",
    "ServeConfig",
    "ModelConfig",
    "ModelRepository",
    "Servable",
    "ModelLoadError",
    "load_servable",
    "kserve",
    "tfserving",
]
