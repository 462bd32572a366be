"""Numerical gradient checks (float64 central differences), as in ``torch.autograd.gradcheck``.

Example:
    >>> import ember
    >>> x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    >>> ember.autograd.gradcheck(lambda t: (t * t).sin(), (x,))
    True
"""

from __future__ import annotations

import numpy as np

from .engine import grad as _grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _diff_inputs(inputs):
    return [t for t in inputs if _is_tensor(t) and t.requires_grad]


def _is_tensor(x) -> bool:
    from ..tensor import Tensor

    return isinstance(x, Tensor)


def _float_outputs(outputs):
    return [o for o in outputs if _is_tensor(o) and o._data.dtype.kind == "f"]


def _numerical_jacobian(fn, inputs, out_index, eps):
    """d out[out_index] / d each differentiable input, by central differences."""
    jac = []
    for t in _diff_inputs(inputs):
        flat = t._data.reshape(-1)
        if not t._data.flags.c_contiguous or flat.base is None and t._data.size > 1:
            raise GradcheckError("gradcheck: inputs must be contiguous tensors")
        cols = []
        for i in range(flat.size):
            orig = flat[i].item()
            # the data is perturbed in place, outside autograd (fn may itself need grad mode)
            flat[i] = orig + eps
            plus = _float_outputs(_as_tuple(fn(*inputs)))[out_index]._data.astype(np.float64)
            flat[i] = orig - eps
            minus = _float_outputs(_as_tuple(fn(*inputs)))[out_index]._data.astype(np.float64)
            flat[i] = orig
            cols.append(((plus - minus) / (2 * eps)).reshape(-1))
        jac.append(np.stack(cols, axis=0) if cols else np.zeros((0, 0)))
    return jac


def _analytical_jacobian(outputs, out_index, inputs):
    from ..tensor import Tensor

    out = _float_outputs(outputs)[out_index]
    diff = _diff_inputs(inputs)
    rows = [np.zeros((t._data.size, out._data.size)) for t in diff]
    for j in range(out._data.size):
        cot = np.zeros(out._data.shape, out._data.dtype)
        cot.reshape(-1)[j] = 1
        grads = _grad(
            out, diff, grad_outputs=Tensor._wrap(cot), retain_graph=True, allow_unused=True
        )
        for k, g in enumerate(grads):
            if g is not None:
                rows[k][:, j] = g._data.reshape(-1)
    return rows


def gradcheck(
    func,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_ignored,
) -> bool:
    """Compare autograd's gradients with central differences; inputs should be float64.

    Returns True, or raises :class:`GradcheckError` naming the input and the worst element.
    """
    inputs = _as_tuple(inputs)
    for t in _diff_inputs(inputs):
        if t._data.dtype != np.float64:
            import warnings

            warnings.warn(
                "gradcheck: input is not float64; the check is unreliable in lower precision",
                stacklevel=2,
            )
    outputs = _as_tuple(func(*inputs))
    n_out = len(_float_outputs(outputs))
    for oi in range(n_out):
        if not _float_outputs(outputs)[oi].requires_grad:
            continue
        numerical = _numerical_jacobian(func, inputs, oi, eps)
        analytical = _analytical_jacobian(outputs, oi, inputs)
        for k, (num, ana) in enumerate(zip(numerical, analytical)):
            if num.size == 0:
                continue
            if not np.allclose(ana, num, atol=atol, rtol=rtol):
                if not raise_exception:
                    return False
                err = np.abs(ana - num)
                idx = np.unravel_index(np.argmax(err), err.shape)
                raise GradcheckError(
                    f"Jacobian mismatch for output {oi} with respect to input {k}: "
                    f"analytical {ana[idx]:.6g} vs numerical {num[idx]:.6g} at element {idx} "
                    f"(max abs difference {err.max():.3g})\nnumerical:\n{num}\nanalytical:\n{ana}"
                )
    return True


def gradgradcheck(
    func,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_ignored,
) -> bool:
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``func``."""
    from ..tensor import Tensor

    inputs = _as_tuple(inputs)
    outputs = _float_outputs(_as_tuple(func(*inputs)))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            Tensor._wrap(rng.standard_normal(o._data.shape)).requires_grad_(True) for o in outputs
        )
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def vjp(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _float_outputs(_as_tuple(func(*ins)))
        diff = _diff_inputs(ins)
        grads = _grad(outs, diff, grad_outputs=list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(
        vjp,
        inputs + tuple(grad_outputs),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
    )
