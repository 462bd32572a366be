"""Full backward hooks for modules: identity autograd Functions around a module call.

The inputs pass through one identity op and the outputs through another; the output side
records ``grad_output`` (running backward pre-hooks), the input side then calls
``hook(module, grad_input, grad_output)`` with every input gradient at once. The hooks thus see
gradients with respect to the module's real inputs and outputs (the PyTorch issue #598 trap of
hooking the last graph node is avoided).
"""

from __future__ import annotations

from ...autograd.function import Function
from ...tensor import Tensor


class _InputHook(Function):
    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None,) + tuple(ctx.state.run_backward_hooks(grads))


class _OutputHook(Function):
    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        grads = ctx.state.record_grad_outputs(grads)
        return (None,) + tuple(grads)


class BackwardHookState:
    """Per-call state shared by the input and output identity ops."""

    def __init__(self, module):
        self.module = module
        self.grad_outputs = None
        self.has_inputs = False

    def wrap_inputs(self, args: tuple) -> tuple:
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not idx:
            return args
        self.has_inputs = True
        wrapped = _InputHook.apply(self, *[args[i] for i in idx])
        out = list(args)
        for i, t in zip(idx, wrapped):
            out[i] = t
        return tuple(out)

    def wrap_outputs(self, out):
        if isinstance(out, Tensor):
            if not out.requires_grad:
                return out
            return _OutputHook.apply(self, out)[0]
        if isinstance(out, (tuple, list)):
            idx = [i for i, o in enumerate(out) if isinstance(o, Tensor) and o.requires_grad]
            if not idx:
                return out
            wrapped = _OutputHook.apply(self, *[out[i] for i in idx])
            res = list(out)
            for i, t in zip(idx, wrapped):
                res[i] = t
            return type(out)(res) if isinstance(out, list) else tuple(res)
        return out

    def record_grad_outputs(self, grads):
        for hook in list(self.module._backward_pre_hooks.values()):
            res = hook(self.module, grads)
            if res is not None:
                grads = res if isinstance(res, tuple) else (res,)
        self.grad_outputs = grads
        if not self.has_inputs:
            for hook in list(self.module._backward_hooks.values()):
                hook(self.module, (None,), grads)
        return grads

    def run_backward_hooks(self, grads):
        for hook in list(self.module._backward_hooks.values()):
            res = hook(self.module, grads, self.grad_outputs)
            if res is not None:
                grads = res if isinstance(res, tuple) else (res,)
        return grads
