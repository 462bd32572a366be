"""``summary()``: a Keras-style table of a module's layers, output shapes and parameter counts.

Example:
    >>> from ember import nn
    >>> from ember.utils.summary import summary
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> print(summary(model, input_size=(1, 4)))
    ====================================================================
    Layer (type)                    Output Shape               Param #
    ====================================================================
    0 (Linear)                      (1, 8)                          40
    1 (ReLU)                        (1, 8)                           0
    2 (Linear)                      (1, 2)                          18
    ====================================================================
    Total params: 58
    Trainable params: 58
    Non-trainable params: 0
    --------------------------------------------------------------------
    Input size (MB): 0.00
    Params size (MB): 0.00
    Buffers size (MB): 0.00
    Forward activations (MB): 0.00
    Estimated total size (MB): 0.00
    ====================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["summary", "ModelSummary", "LayerInfo"]

_MB = 1024.0**2


class LayerInfo:
    """One row of a :class:`ModelSummary`: a module, its output shape(s) and parameter counts."""

    def __init__(self, name: str, type_name: str, params: int, trainable: int) -> None:
        self.name = name
        self.type_name = type_name
        self.params = params
        self.trainable_params = trainable
        self.output_shape: Any = None  # None when the module did not run
        self.calls = 0
        self.activation_bytes = 0

    def __repr__(self) -> str:
        return f"LayerInfo({self.name!r}, {self.type_name}, {self.output_shape}, {self.params})"


class ModelSummary(str):
    """The summary table (a ``str``) with its numbers as attributes.

    Attributes: ``layers`` (list of :class:`LayerInfo`), ``total_params``,
    ``trainable_params``, ``non_trainable_params``, ``param_bytes``, ``buffer_bytes``,
    ``input_bytes``, ``activation_bytes``.
    """

    layers: list[LayerInfo]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    param_bytes: int
    buffer_bytes: int
    input_bytes: int
    activation_bytes: int


def _fmt_shape(obj: Any) -> str:
    from ..tensor import Tensor

    if isinstance(obj, Tensor):
        return str(tuple(int(d) for d in obj.shape)).replace(",)", ")")
    if isinstance(obj, (list, tuple)):
        inner = ", ".join(_fmt_shape(o) for o in obj)
        return f"[{inner}]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k}: {_fmt_shape(v)}" for k, v in obj.items()) + "}"
    if obj is None:
        return "None"
    return type(obj).__name__


def _nbytes(obj: Any) -> int:
    from ..tensor import Tensor

    if isinstance(obj, Tensor):
        return int(obj.nbytes)
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(o) for o in obj)
    if isinstance(obj, dict):
        return sum(_nbytes(o) for o in obj.values())
    return 0


def _make_inputs(input_size: Any, dtypes: Sequence[Any] | None) -> tuple:
    import ember

    sizes = input_size
    if not sizes or isinstance(sizes[0], int):  # one input
        sizes = [sizes]
    dtypes = list(dtypes) if dtypes is not None else []
    if len(dtypes) == 1 and len(sizes) > 1:
        dtypes = dtypes * len(sizes)
    dtypes += [None] * (len(sizes) - len(dtypes))
    return tuple(
        ember.zeros(tuple(int(d) for d in s), dtype=dt or ember.float32)
        for s, dt in zip(sizes, dtypes)
    )


def summary(
    module: Any,
    example_inputs: Any = None,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    dtypes: Sequence[Any] | None = None,
    *,
    print_fn: Callable[[str], Any] | None = None,
    line_length: int = 68,
) -> ModelSummary:
    """Describe ``module`` as a Keras-like table and return it (a :class:`ModelSummary` string).

    Rows are the leaf modules (and any module owning parameters directly), named by their dotted
    path, in registration order, with their type, output shape and own parameter count. Totals
    count each shared parameter once: total, trainable (``requires_grad``) and non-trainable
    parameters, followed by memory estimates: input, parameters, buffers and forward
    activations (sum of every row's output size for this input).

    To get output shapes, the module runs once on ``example_inputs`` (a tensor, a tuple of
    tensors for several inputs, or a dict of keyword arguments) or on zeros built from
    ``input_size`` (a shape including the batch axis, or a list of shapes) and ``dtypes``
    (default float32; use ``ember.int64`` for embedding indices). The run is in eval mode under
    ``no_grad`` through forward hooks, which are removed afterwards; the training flags of every
    submodule are restored, and parameters and buffers are left untouched. Without inputs the
    table shows ``--`` for shapes.

    ``print_fn`` (e.g. ``print``) also receives the table.

    Example:
        >>> import ember
        >>> from ember import nn
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.features = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
        ...         self.head = nn.Linear(4, 1)
        ...     def forward(self, x):
        ...         return self.head(self.features(x))
        >>> s = summary(Net(), ember.zeros(2, 3))
        >>> [(layer.name, layer.output_shape) for layer in s.layers]
        [('features.0', '(2, 4)'), ('features.1', '(2, 4)'), ('head', '(2, 1)')]
        >>> s.total_params, s.trainable_params
        (21, 21)
    """
    from ..autograd.grad_mode import no_grad

    # -- rows -------------------------------------------------------------------------------
    rows: list[LayerInfo] = []
    row_of: dict[int, LayerInfo] = {}
    for name, mod in module.named_modules():
        own = list(mod.parameters(recurse=False))
        is_leaf = not any(True for _ in mod.children())
        if not (is_leaf or own):
            continue
        n = sum(p.numel() for p in own)
        t = sum(p.numel() for p in own if p.requires_grad)
        info = LayerInfo(name or type(mod).__name__, type(mod).__name__, n, t)
        rows.append(info)
        row_of[id(mod)] = info

    # -- run --------------------------------------------------------------------------------
    args: tuple = ()
    kwargs: dict = {}
    if example_inputs is None and input_size is not None:
        args = _make_inputs(input_size, dtypes)
    elif isinstance(example_inputs, dict):
        kwargs = dict(example_inputs)
    elif isinstance(example_inputs, (tuple, list)):
        args = tuple(example_inputs)
    elif example_inputs is not None:
        args = (example_inputs,)
    input_bytes = _nbytes(args) + _nbytes(kwargs)
    if args or kwargs:
        modes = [(m, m.training) for m in module.modules()]

        def hook(mod: Any, _args: Any, out: Any) -> None:
            info = row_of[id(mod)]
            info.calls += 1
            if info.output_shape is None:
                info.output_shape = _fmt_shape(out)
            info.activation_bytes += _nbytes(out)

        handles = [m.register_forward_hook(hook) for m in module.modules() if id(m) in row_of]
        try:
            module.eval()
            with no_grad():
                module(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
            for m, mode in modes:
                m.training = mode

    # -- totals -----------------------------------------------------------------------------
    params = {id(p): p for p in module.parameters()}.values()
    buffers = {id(b): b for b in module.buffers()}.values()
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    param_bytes = sum(int(p.nbytes) for p in params)
    buffer_bytes = sum(int(b.nbytes) for b in buffers)
    act_bytes = sum(r.activation_bytes for r in rows)

    # -- table ------------------------------------------------------------------------------
    w = max(line_length, 40)
    c1, c3 = int(w * 0.47), 10
    c2 = w - c1 - c3
    lines = ["=" * w, f"{'Layer (type)':<{c1}}{'Output Shape':<{c2}}{'Param #':>{c3}}", "=" * w]
    for r in rows:
        label = f"{r.name} ({r.type_name})"
        shape = "--" if r.output_shape is None else r.output_shape
        if r.calls > 1:
            shape += f" x{r.calls}"
        if len(label) >= c1:
            lines.append(label)
            label = ""
        lines.append(f"{label:<{c1}}{shape:<{c2 - 1}} {r.params:>{c3},}".rstrip())
    lines += [
        "=" * w,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        "-" * w,
    ]
    if args or kwargs:
        lines.append(f"Input size (MB): {input_bytes / _MB:.2f}")
    lines += [
        f"Params size (MB): {param_bytes / _MB:.2f}",
        f"Buffers size (MB): {buffer_bytes / _MB:.2f}",
    ]
    if args or kwargs:
        est = input_bytes + param_bytes + buffer_bytes + act_bytes
        lines += [
            f"Forward activations (MB): {act_bytes / _MB:.2f}",
            f"Estimated total size (MB): {est / _MB:.2f}",
        ]
    lines.append("=" * w)
    out = ModelSummary("\n".join(lines))
    out.layers = rows
    out.total_params = total
    out.trainable_params = trainable
    out.non_trainable_params = total - trainable
    out.param_bytes = param_bytes
    out.buffer_bytes = buffer_bytes
    out.input_bytes = input_bytes
    out.activation_bytes = act_bytes
    if print_fn is not None:
        print_fn(out)
    return out
