"""C expressions for the elementwise primitives and reductions a fused kernel may contain.

Each entry renders one registry primitive as C expressions on already-computed operands (C
variable names), following the primitive's NumPy forward exactly: NaN-propagating
``maximum``/``minimum``/``relu``, wrap-around integer arithmetic (done in unsigned types, as C
signed overflow is undefined), ``sigmoid`` through ``exp(-|x|)``, the exact GELU through the
same float32 rational approximation of the normal CDF as ``ember.ops._erf``. Ops or dtypes not
listed here are not fused (they keep their NumPy forward). :func:`supports` is the predicate
the fusion pass uses.

Example:
    >>> from ember.compiler.codegen.c_ops import render_op, ctype
    >>> render_op("add", ["a", "b"], ["float32", "float32"], ["float32"], {})
    ['(a + b)']
    >>> render_op("add", ["a", "b"], ["int32", "int32"], ["int32"], {})
    ['((int32_t)((uint32_t)(a) + (uint32_t)(b)))']
    >>> ctype("bool")
    'uint8_t'
"""

from __future__ import annotations

import math

import numpy as np

from ...ops._erf import _CLAMP_CDF, _INV_SQRT_2PI, _P_CDF, _Q_CDF

__all__ = [
    "CTYPES",
    "ctype",
    "literal",
    "render_op",
    "supports",
    "C_OPS",
    "MATH_FUNCTIONS",
    "PRELUDE",
]

#: C type of each dtype a kernel can read or write (bool is one byte holding 0 or 1).
CTYPES = {
    "float32": "float",
    "float64": "double",
    "int8": "int8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "uint8": "uint8_t",
    "bool": "uint8_t",
}
_UNSIGNED = {"int8": "uint8_t", "int16": "uint16_t", "int32": "uint32_t", "int64": "uint64_t"}
_FLOATS = ("float32", "float64")
_INTS = ("int8", "int16", "int32", "int64", "uint8")

#: libm functions used by the table (float32 uses the ``f`` variants); the build declares
#: them with SIMD variants when the C library ships vector math (glibc's libmvec).
MATH_FUNCTIONS = (
    "exp exp2 log log2 log10 log1p expm1 sqrt sin cos tan asin acos atan sinh cosh tanh erf "
    "pow atan2 fmod"
).split()

#: Helpers every kernel file starts with.
PRELUDE = r"""#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#define EM_MAX(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))
#define EM_MIN(a, b) (((a) < (b) || (a) != (a)) ? (a) : (b))
#define EM_IMAX(a, b) ((a) > (b) ? (a) : (b))
#define EM_IMIN(a, b) ((a) < (b) ? (a) : (b))
"""


def ctype(dtype: str) -> str:
    """The C type holding one element of ``dtype``."""
    return CTYPES[dtype]


def literal(value, dtype: str) -> str:
    """An exact C literal of ``value`` in ``dtype`` (hex floats, so no rounding on the way)."""
    if dtype in _FLOATS:
        v = float(np.float32(value)) if dtype == "float32" else float(value)
        if math.isnan(v):
            text = "NAN"
        elif math.isinf(v):
            text = "INFINITY" if v > 0 else "(-INFINITY)"
        else:
            text = v.hex() + ("f" if dtype == "float32" else "")
        return f"(({ctype(dtype)}){text})"
    if dtype == "bool":
        return "((uint8_t)1)" if bool(value) else "((uint8_t)0)"
    iv = int(value)
    if dtype == "int64" and iv == -(2**63):
        return "((int64_t)(-9223372036854775807LL - 1))"
    return f"(({ctype(dtype)}){iv}LL)"


def _fn(name: str, dtype: str) -> str:
    return name + "f" if dtype == "float32" else name


def _wrap(op: str, a: str, b: str, dtype: str) -> str:
    u = _UNSIGNED.get(dtype)
    if u is None:  # uint8: C promotes to int, the cast back wraps
        return f"(({ctype(dtype)})((unsigned)({a}) {op} (unsigned)({b})))"
    return f"(({ctype(dtype)})(({u})({a}) {op} ({u})({b})))"


# each renderer: (args, in dtypes, out dtypes, attrs) -> list of C expressions
def _unary_math(name):
    def render(a, di, do, at):
        return [f"{_fn(name, di[0])}({a[0]})"]

    return render, _FLOATS


def _neg(a, di, do, at):
    if di[0] in _FLOATS:
        return [f"(-({a[0]}))"]
    return [_wrap("-", "0", a[0], di[0])]


def _abs(a, di, do, at):
    d = di[0]
    if d in _FLOATS:
        return [f"{_fn('fabs', d)}({a[0]})"]
    if d in ("bool", "uint8"):
        return [a[0]]
    return [f"(({a[0]}) < 0 ? {_wrap('-', '0', a[0], d)} : ({a[0]}))"]


def _rsqrt(a, di, do, at):
    return [f"({literal(1, di[0])} / {_fn('sqrt', di[0])}({a[0]}))"]


def _sigmoid(a, di, do, at):
    x, d = a[0], di[0]
    one = literal(1, d)
    e = f"{_fn('exp', d)}(-{_fn('fabs', d)}({x}))"
    # same formula as the NumPy forward: exp(-|x|) never overflows
    return [f"(({x}) >= 0 ? {one} / ({one} + {e}) : {e} / ({one} + {e}))"]


def _relu(a, di, do, at):
    zero = literal(0, di[0])
    if di[0] in _FLOATS:
        return [f"((({a[0]}) > 0 || ({a[0]}) != ({a[0]})) ? ({a[0]}) : {zero})"]
    return [f"(({a[0]}) > 0 ? ({a[0]}) : {zero})"]


def _sign(a, di, do, at):
    x, d = a[0], di[0]
    if d in _FLOATS:
        return [f"(({x}) > 0 ? {literal(1, d)} : (({x}) < 0 ? {literal(-1, d)} : ({x})))"]
    return [f"(({ctype(d)})((({x}) > 0) - (({x}) < 0)))"]


def _rounding(name):
    def render(a, di, do, at):
        return [f"{_fn(name, di[0])}({a[0]})"]

    return render, _FLOATS


def _round(a, di, do, at):
    return [f"{_fn('rint', di[0])}({a[0]})"]


def _isnan(a, di, do, at):
    if di[0] in _FLOATS:
        return [f"((uint8_t)(({a[0]}) != ({a[0]})))"]
    return ["((uint8_t)0)"]


def _isinf(a, di, do, at):
    if di[0] in _FLOATS:
        return [f"((uint8_t)(({a[0]}) == INFINITY || ({a[0]}) == -INFINITY))"]
    return ["((uint8_t)0)"]


def _isfinite(a, di, do, at):
    if di[0] in _FLOATS:
        x = a[0]
        return [f"((uint8_t)(({x}) == ({x}) && ({x}) != INFINITY && ({x}) != -INFINITY))"]
    return ["((uint8_t)1)"]


def _signbit(a, di, do, at):
    if di[0] in _FLOATS:
        return [f"((uint8_t)(signbit({a[0]}) != 0))"]
    return [f"((uint8_t)(({a[0]}) < 0))"]


def _logical_not(a, di, do, at):
    return [f"((uint8_t)(!({a[0]})))"]


def _bitwise_not(a, di, do, at):
    if di[0] == "bool":
        return [f"((uint8_t)(!({a[0]})))"]
    return [f"(({ctype(di[0])})(~({a[0]})))"]


def _cast(a, di, do, at):
    if do[0] == "bool":
        return [f"((uint8_t)(({a[0]}) != 0))"]
    return [f"(({ctype(do[0])})({a[0]}))"]


def _identity(a, di, do, at):
    return [a[0]]


def _clamp(a, di, do, at):
    x, d = a[0], di[0]
    lo, hi = at.get("min"), at.get("max")
    mx, mn = ("EM_MAX", "EM_MIN") if d in _FLOATS else ("EM_IMAX", "EM_IMIN")
    if lo is not None:
        x = f"{mx}({x}, {literal(lo, d)})"
    if hi is not None:
        x = f"{mn}({x}, {literal(hi, d)})"
    return [x]


def _clamp_ok(di, do, at) -> bool:
    d = di[0]
    if d in _FLOATS:
        return True
    for k in ("min", "max"):
        v = at.get(k)
        if v is not None and not (isinstance(v, (int, np.integer)) and not isinstance(v, bool)):
            return False
        if v is not None and not np.can_cast(np.min_scalar_type(v), np.dtype(d)):
            return False
    return True


def _arith(op):
    def render(a, di, do, at):
        d = di[0]
        if d in _FLOATS:
            return [f"({a[0]} {op} {a[1]})"]
        if d == "bool":
            return [f"((uint8_t)(({a[0]}) {'|' if op == '+' else '&'} ({a[1]})))"]
        return [_wrap(op, a[0], a[1], d)]

    return render


def _div(a, di, do, at):
    return [f"({a[0]} / {a[1]})"]


def _binary_math(name):
    def render(a, di, do, at):
        return [f"{_fn(name, di[0])}({a[0]}, {a[1]})"]

    return render


def _minmax(fl, il, bl):
    def render(a, di, do, at):
        d = di[0]
        if d in _FLOATS:
            return [f"{fl}({a[0]}, {a[1]})"]
        if d == "bool":
            return [f"((uint8_t)(({a[0]}) {bl} ({a[1]})))"]
        return [f"{il}({a[0]}, {a[1]})"]

    return render


def _compare(op):
    def render(a, di, do, at):
        return [f"((uint8_t)(({a[0]}) {op} ({a[1]})))"]

    return render


def _logical(op):
    def render(a, di, do, at):
        return [f"((uint8_t)((({a[0]}) != 0) {op} (({a[1]}) != 0)))"]

    return render


def _bitwise(op):
    def render(a, di, do, at):
        return [f"(({ctype(di[0])})(({a[0]}) {op} ({a[1]})))"]

    return render


def _where(a, di, do, at):
    return [f"(({a[0]}) ? ({a[1]}) : ({a[2]}))"]


def _relu_grad(a, di, do, at):
    d = di[0]
    return [f"({a[0]} * ({ctype(d)})(({a[1]}) > 0))"]


# ember.ops._erf: Phi(x) = 0.5 + xc * P(xc^2) / Q(xc^2), float32, xc = clip(x, -c, c)


def horner_f32(t: str, coefs: tuple) -> str:
    """C expression of the polynomial ``coefs`` (lowest degree first) at ``t``, in float32."""
    f = lambda c: literal(c, "float32")  # noqa: E731
    acc = f"({t} * {f(coefs[-1])} + {f(coefs[-2])})"
    for c in coefs[-3::-1]:
        acc = f"({acc} * {t} + {f(c)})"
    return acc


def normal_cdf_f32(x: str) -> str:
    """C expression of ``ember.ops._erf.normal_cdf_np`` for one float32 ``x``."""
    c = literal(_CLAMP_CDF, "float32")
    xc = f"EM_MIN(EM_MAX({x}, -{c}), {c})"
    return f"em_cdf_f32({xc})"


_CDF_HELPER = (
    "static inline float em_cdf_f32(float xc) {\n"
    "    const float t = xc * xc;\n"
    f"    const float num = {horner_f32('t', _P_CDF)} * xc;\n"
    f"    return num / {horner_f32('t', _Q_CDF)} + 0.5f;\n"
    "}\n"
)
PRELUDE += _CDF_HELPER


def pairwise_sum_source(name: str, t: str) -> str:
    """NumPy's pairwise summation order (``add.reduce`` over a contiguous row), exactly."""
    return (
        f"static {t} {name}(const {t} *a, int64_t n) {{\n"
        "    if (n < 8) {\n"
        f"        {t} res = 0;\n"
        "        for (int64_t i = 0; i < n; i++) res += a[i];\n"
        "        return res;\n"
        "    }\n"
        "    if (n <= 128) {\n"
        f"        {t} r[8];\n"
        "        for (int j = 0; j < 8; j++) r[j] = a[j];\n"
        "        int64_t i = 8;\n"
        "        for (; i < n - (n % 8); i += 8)\n"
        "            for (int j = 0; j < 8; j++) r[j] += a[i + j];\n"
        f"        {t} res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));\n"
        "        for (; i < n; i++) res += a[i];\n"
        "        return res;\n"
        "    }\n"
        "    int64_t n2 = n / 2;\n"
        "    n2 -= n2 % 8;\n"
        f"    return {name}(a, n2) + {name}(a + n2, n - n2);\n"
        "}\n"
    )


PRELUDE += pairwise_sum_source("em_pairwise_f32", "float")
PRELUDE += pairwise_sum_source("em_pairwise_f64", "double")


def _gelu(a, di, do, at):
    cdf = normal_cdf_f32(a[0])
    return [f"({a[0]} * {cdf})", cdf]


def _gelu_backward(a, di, do, at):
    g, x, cdf = a
    pdf = f"(expf(({x} * {x}) * -0.5f) * {literal(_INV_SQRT_2PI, 'float32')})"
    return [f"((({pdf} * {x}) + {cdf}) * {g})"]


def _only(dtypes, fn):
    return fn, tuple(dtypes)


_ANY = _FLOATS + _INTS + ("bool",)
_NUM = _FLOATS + _INTS

#: op -> (renderer, dtypes of the first operand it accepts[, extra check])
C_OPS: dict[str, tuple] = {
    "neg": (_neg, _FLOATS + ("int8", "int16", "int32", "int64")),
    "abs": (_abs, _ANY),
    "rsqrt": (_rsqrt, _FLOATS),
    "reciprocal": (lambda a, di, do, at: [f"({literal(1, di[0])} / ({a[0]}))"], _FLOATS),
    "sigmoid": (_sigmoid, _FLOATS),
    "relu": (_relu, _NUM),
    "sign": (_sign, _NUM),
    "round": (_round, _FLOATS, lambda di, do, at: at.get("decimals", 0) == 0),
    "isnan": (_isnan, _ANY),
    "isinf": (_isinf, _ANY),
    "isfinite": (_isfinite, _ANY),
    "signbit": (_signbit, _NUM),
    "logical_not": (_logical_not, _ANY),
    "bitwise_not": (_bitwise_not, _INTS + ("bool",)),
    "cast": (_cast, _ANY),
    "clone": (_identity, _ANY),
    "expand": (_identity, _ANY),
    "clamp": (_clamp, _NUM, _clamp_ok),
    "add": (_arith("+"), _ANY),
    "sub": (_arith("-"), _NUM),
    "mul": (_arith("*"), _ANY),
    "div": (_div, _FLOATS),
    "pow": (_binary_math("pow"), _FLOATS),
    "atan2": (_binary_math("atan2"), _FLOATS),
    "fmod": (_binary_math("fmod"), _FLOATS),
    "maximum": (_minmax("EM_MAX", "EM_IMAX", "|"), _ANY),
    "minimum": (_minmax("EM_MIN", "EM_IMIN", "&"), _ANY),
    "eq": (_compare("=="), _ANY),
    "ne": (_compare("!="), _ANY),
    "lt": (_compare("<"), _ANY),
    "le": (_compare("<="), _ANY),
    "gt": (_compare(">"), _ANY),
    "ge": (_compare(">="), _ANY),
    "logical_and": (_logical("&&"), _ANY),
    "logical_or": (_logical("||"), _ANY),
    "logical_xor": (_logical("!="), _ANY),
    "bitwise_and": (_bitwise("&"), _INTS + ("bool",)),
    "bitwise_or": (_bitwise("|"), _INTS + ("bool",)),
    "bitwise_xor": (_bitwise("^"), _INTS + ("bool",)),
    "where": (_where, ("bool",)),
    "relu_grad": (_relu_grad, _FLOATS),
    "gelu": (_gelu, ("float32",)),
    "gelu_backward": (_gelu_backward, ("float32",)),
}
_UNARY_MATH = (
    "exp exp2 log log2 log10 log1p expm1 sqrt sin cos tan asin acos atan sinh cosh tanh erf"
)
for _name in _UNARY_MATH.split():
    C_OPS[_name] = _unary_math(_name)
for _name in ("floor", "ceil", "trunc"):
    C_OPS[_name] = _rounding(_name)

#: reductions: dtypes of the reduced operand
C_REDUCTIONS = {"sum": _ANY, "amax": _NUM, "amin": _NUM}


def render_op(op: str, args: list[str], in_dtypes: list[str], out_dtypes: list[str], attrs):
    """C expressions (one per output) of ``op`` applied to the C expressions ``args``."""
    return C_OPS[op][0](args, in_dtypes, out_dtypes, attrs)


def supports(graph, node) -> bool:
    """True if ``node`` (in ``graph``) can be part of a C kernel."""
    types = [graph.values[v].dtype for v in (*node.inputs, *node.outputs)]
    if any(t not in CTYPES for t in types):
        return False
    in_dtypes = [graph.values[v].dtype for v in node.inputs]
    out_dtypes = [graph.values[v].dtype for v in node.outputs]
    if node.op in C_REDUCTIONS:
        if len(node.inputs) != 1 or len(node.outputs) != 1:
            return False
        if node.op != "sum" and out_dtypes[0] != in_dtypes[0]:
            return False
        return in_dtypes[0] in C_REDUCTIONS[node.op]
    entry = C_OPS.get(node.op)
    if entry is None or not in_dtypes:
        return False
    first = in_dtypes[1] if node.op == "where" else in_dtypes[0]
    if node.op == "where":
        if in_dtypes[0] != "bool":
            return False
    elif first not in entry[1]:
        return False
    if len(entry) > 2 and not entry[2](in_dtypes, out_dtypes, node.attrs):
        return False
    return True
