"""An ``nn.Module`` that replays an IR graph with ember ops (a loaded bundle made eager again).

Each node is run through :func:`ember._dispatch.apply`, so the module can be traced again:
this is how ``ember export BUNDLE --to onnx`` hands a bundle to the module-based ONNX
exporter. Weights become buffers under their original dotted names.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> import ember
    >>> from ember.export import load_bundle, save_bundle
    >>> from ember.export.graph_module import GraphModule
    >>> lin = ember.nn.Linear(3, 2)
    >>> b = load_bundle(save_bundle(lin, os.path.join(tempfile.mkdtemp(), "lin"),
    ...                             example_inputs=ember.ones(1, 3)))
    >>> gm = GraphModule(b.graph, b.weights)
    >>> sorted(name for name, _ in gm.named_buffers())
    ['bias', 'weight']
    >>> x = ember.randn(4, 3)
    >>> bool(np.allclose(gm(x).numpy(), lin(x).detach().numpy()))
    True
"""

from __future__ import annotations

import numpy as np

from ..nn.modules.module import Module

__all__ = ["GraphModule"]


class GraphModule(Module):
    """Runs ``graph`` on ember tensors; ``weights`` maps parameter names to arrays."""

    def __init__(self, graph, weights: dict[str, np.ndarray]):
        super().__init__()
        from ..ir.symbolic import SymInt
        from ..tensor import Tensor

        self.__dict__["_graph"] = graph
        for name in sorted(set(graph.params.values())):
            _register_nested(self, name, Tensor._wrap(np.array(weights[name], copy=True)))
        self.__dict__["_batch_probe"] = next(
            (
                (k, axis, d)
                for k, vid in enumerate(graph.inputs)
                for axis, d in enumerate(graph.values[vid].shape)
                if isinstance(d, SymInt)
            ),
            None,
        )

    def forward(self, *inputs):
        from .._dispatch import apply
        from ..ir.symbolic import has_sym, resolve
        from ..registry import REGISTRY
        from ..tensor import Tensor

        graph = self._graph
        if len(inputs) != len(graph.inputs):
            raise TypeError(f"the graph takes {len(graph.inputs)} inputs, got {len(inputs)}")
        n = None
        if self._batch_probe is not None:
            k, axis, sym = self._batch_probe
            n = (inputs[k].shape[axis] - sym.offset) // sym.coef
        env = dict(zip(graph.inputs, inputs))
        for vid, name in graph.params.items():
            env[vid] = self.get_buffer(name)
        for vid, arr in graph.consts.items():
            env[vid] = Tensor._wrap(arr)
        for node in graph.nodes:
            prim = REGISTRY[node.op]
            attrs = resolve(node.attrs, n) if has_sym(node.attrs) else node.attrs
            result = apply(prim, *[env[i] for i in node.inputs], **attrs)
            results = result if prim.num_outputs > 1 else (result,)
            env.update(zip(node.outputs, results))
        outs = tuple(env[v] for v in graph.outputs)
        return outs[0] if len(outs) == 1 else outs


def _register_nested(root: Module, dotted: str, tensor) -> None:
    *path, leaf = dotted.split(".")
    mod = root
    for part in path:
        child = mod._modules.get(part)
        if child is None:
            child = Module()
            mod.add_module(part, child)
        mod = child
    mod.register_buffer(leaf, tensor)
