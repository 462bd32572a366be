"""The C source of ``ember.compiler.codegen.native``: window and row kernels.

Window kernels (im2col, col2im, 2-D max pooling and its scatter) sit around the convolution
GEMMs; row kernels (softmax, log-softmax and their backwards, standardize, attention
probabilities, cross entropy and its backward) work on rows of the last axis, one row at a
time so it stays in L1. Every kernel follows the NumPy forward of its primitive step by step:
the same float operations in the same order, sums in NumPy's pairwise order, NumPy's NaN
rules for maxima; only ``exp``/``log`` come from libm (a few ulp from NumPy's).

Example:
    >>> from ember.compiler.codegen.native_source import SOURCE
    >>> "em_im2col_f32" in SOURCE and "em_standardize_f64" in SOURCE
    True
"""

from __future__ import annotations

from ...ops._erf import _CLAMP_CDF, _INV_SQRT_2PI, _P_CDF, _Q_CDF
from .c_build import vector_math_declarations
from .c_ops import horner_f32, literal, pairwise_sum_source

__all__ = ["SOURCE", "source"]

_PRELUDE = (
    (
        "#include <math.h>\n#include <stdint.h>\n#include <stdlib.h>\n"
        "#define EM_MAX(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))\n"
    )
    + pairwise_sum_source("em_pairwise_f32", "float")
    + pairwise_sum_source("em_pairwise_f64", "double")
)

_BOUNDS = r"""
static void em_bounds(int64_t off, int64_t stride, int64_t size, int64_t n_out,
                      int64_t *lo, int64_t *hi) {
    /* out positions o with 0 <= o * stride + off < size */
    int64_t a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t b = (size - 1 - off) >= 0 ? (size - 1 - off) / stride + 1 : 0;
    if (a > n_out) a = n_out;
    if (b > n_out) b = n_out;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

"""

_HELPERS = r"""
/* the row maximum as NumPy's max, 0 when it is not finite (a NaN, an infinity) */
static {T} em_rowmax_{S}(const {T} *a, int64_t n) {
    {T} m = a[0];
    int nan = 0;
#pragma omp simd reduction(max : m) reduction(| : nan)
    for (int64_t j = 0; j < n; j++) {
        m = a[j] > m ? a[j] : m;
        nan |= a[j] != a[j];
    }
    return (!nan && m - m == 0) ? m : ({T})0;
}
"""

_WINDOW = r"""/* x (N, C, H, W) -> cols (C*KH*KW, N*OH*OW), zero outside the image */
void em_im2col_{S}(const {T} *x, {T} *cols, int64_t n, int64_t c, int64_t h, int64_t w,
                   int64_t kh, int64_t kw, int64_t oh, int64_t ow, int64_t sh, int64_t sw,
                   int64_t ph, int64_t pw, int64_t dh, int64_t dw) {
    const int64_t L = oh * ow, NL = n * L;
    for (int64_t ci = 0; ci < c; ci++)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++) {
                {T} *row = cols + ((ci * kh + i) * kw + j) * NL;
                const int64_t off = j * dw - pw;
                int64_t lo, hi;
                em_bounds(off, sw, w, ow, &lo, &hi);
                for (int64_t b = 0; b < n; b++) {
                    const {T} *img = x + (b * c + ci) * h * w;
                    for (int64_t y = 0; y < oh; y++) {
                        {T} *d = row + b * L + y * ow;
                        const int64_t iy = y * sh - ph + i * dh;
                        if (iy < 0 || iy >= h) {
                            for (int64_t q = 0; q < ow; q++) d[q] = 0;
                            continue;
                        }
                        const {T} *src = img + iy * w + off;
                        for (int64_t q = 0; q < lo; q++) d[q] = 0;
                        if (sw == 1) {
                            for (int64_t q = lo; q < hi; q++) d[q] = src[q];
                        } else {
                            for (int64_t q = lo; q < hi; q++) d[q] = src[q * sw];
                        }
                        for (int64_t q = hi; q < ow; q++) d[q] = 0;
                    }
                }
            }
}

/* cols (C*KH*KW, N*OH*OW) summed back into x (N, C, H, W), kernel positions in order */
void em_col2im_{S}(const {T} *cols, {T} *x, int64_t n, int64_t c, int64_t h, int64_t w,
                   int64_t kh, int64_t kw, int64_t oh, int64_t ow, int64_t sh, int64_t sw,
                   int64_t ph, int64_t pw, int64_t dh, int64_t dw) {
    const int64_t L = oh * ow, NL = n * L;
    for (int64_t p = 0; p < n * c * h * w; p++) x[p] = 0;
    for (int64_t ci = 0; ci < c; ci++)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++) {
                const {T} *row = cols + ((ci * kh + i) * kw + j) * NL;
                const int64_t off = j * dw - pw;
                int64_t lo, hi;
                em_bounds(off, sw, w, ow, &lo, &hi);
                for (int64_t b = 0; b < n; b++) {
                    {T} *img = x + (b * c + ci) * h * w;
                    for (int64_t y = 0; y < oh; y++) {
                        const int64_t iy = y * sh - ph + i * dh;
                        if (iy < 0 || iy >= h) continue;
                        const {T} *s = row + b * L + y * ow;
                        {T} *dst = img + iy * w + off;
                        if (sw == 1) {
                            for (int64_t q = lo; q < hi; q++) dst[q] += s[q];
                        } else {
                            for (int64_t q = lo; q < hi; q++) dst[q * sw] += s[q];
                        }
                    }
                }
            }
}

/* max over windows of x (NC, H, W) padded with -inf: values and flat input indices; the
   first maximum of a window wins, or its last NaN (NaN propagates) */
int em_maxpool2d_{S}(const {T} *x, {T} *out, int64_t *idx, int64_t nc, int64_t h, int64_t w,
                     int64_t kh, int64_t kw, int64_t oh, int64_t ow, int64_t sh, int64_t sw,
                     int64_t ph, int64_t pw, int64_t dh, int64_t dw) {
    int64_t *table = (int64_t *)malloc(sizeof(int64_t) * (size_t)(kh * kw > 0 ? kh * kw : 1));
    if (!table) return 1;
    for (int64_t i = 0; i < kh; i++) /* flat offset of each window position */
        for (int64_t j = 0; j < kw; j++) table[i * kw + j] = i * dh * w + j * dw;
    const int64_t kk = kh * kw;
    for (int64_t p = 0; p < nc; p++) {
        const {T} *img = x + p * h * w;
        for (int64_t y = 0; y < oh; y++) {
            const int64_t y0 = y * sh - ph;
            const int rows_in = y0 >= 0 && y0 + (kh - 1) * dh < h;
            for (int64_t q = 0; q < ow; q++) {
                const int64_t x0 = q * sw - pw, base = y0 * w + x0;
                {T} best;
                int64_t kb = 0, kn = -1;
                if (rows_in && x0 >= 0 && x0 + (kw - 1) * dw < w) { /* the whole window inside */
                    const {T} *win = img + base;
                    best = win[0];
                    if (best != best) kn = 0;
                    for (int64_t k = 1; k < kk; k++) {
                        const {T} v = win[table[k]];
                        if (v > best) kb = k;
                        best = EM_MAX(best, v);
                        if (v != v) kn = k;
                    }
                } else {
                    best = -INFINITY;
                    for (int64_t k = 0; k < kk; k++) {
                        const int64_t iy = y0 + (k / kw) * dh, ix = x0 + (k % kw) * dw;
                        const {T} v = (iy >= 0 && iy < h && ix >= 0 && ix < w)
                                          ? img[iy * w + ix] : -INFINITY;
                        if (k == 0) {
                            best = v;
                        } else {
                            if (v > best) kb = k;
                            best = EM_MAX(best, v);
                        }
                        if (v != v) kn = k;
                    }
                }
                out[(p * oh + y) * ow + q] = best;
                idx[(p * oh + y) * ow + q] = base + table[kn >= 0 ? kn : kb];
            }
        }
    }
    free(table);
    return 0;
}

/* out (NC, plane) = 0, then out[p, idx[p, j]] += g[p, j] in order; -1 on a bad index */
int em_pool_scatter_{S}(const {T} *g, const int64_t *idx, {T} *out, int64_t nc, int64_t l,
                        int64_t plane) {
    for (int64_t k = 0; k < nc * l; k++)
        if (idx[k] < 0 || idx[k] >= plane) return -1;
    for (int64_t k = 0; k < nc * plane; k++) out[k] = 0;
    for (int64_t p = 0; p < nc; p++)
        for (int64_t j = 0; j < l; j++) out[p * plane + idx[p * l + j]] += g[p * l + j];
    return 0;
}
"""

_ROWS = r"""
/* softmax over rows of length n (the last axis) */
void em_softmax_{S}(const {T} *x, {T} *y, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        const {T} *xr = x + r * n;
        {T} *yr = y + r * n;
        {T} m = em_rowmax_{S}(xr, n);
        for (int64_t j = 0; j < n; j++) yr[j] = {EXP}(xr[j] - m);
        const {T} s = em_pairwise_{S}(yr, n);
        for (int64_t j = 0; j < n; j++) yr[j] = yr[j] / s;
    }
}

void em_log_softmax_{S}(const {T} *x, {T} *y, {T} *tmp, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        const {T} *xr = x + r * n;
        {T} *yr = y + r * n;
        {T} m = em_rowmax_{S}(xr, n);
        for (int64_t j = 0; j < n; j++) {
            yr[j] = xr[j] - m;
            tmp[j] = {EXP}(yr[j]);
        }
        const {T} lse = {LOG}(em_pairwise_{S}(tmp, n));
        for (int64_t j = 0; j < n; j++) yr[j] = yr[j] - lse;
    }
}

/* scale * y * (g - sum(g * y)) */
void em_softmax_backward_{S}(const {T} *g, const {T} *y, {T} *out, {T} *tmp, int64_t rows,
                             int64_t n, double scale) {
    const {T} sc = ({T})scale;
    for (int64_t r = 0; r < rows; r++) {
        const {T} *gr = g + r * n, *yr = y + r * n;
        {T} *o = out + r * n;
        for (int64_t j = 0; j < n; j++) tmp[j] = gr[j] * yr[j];
        const {T} total = em_pairwise_{S}(tmp, n);
        for (int64_t j = 0; j < n; j++) o[j] = (gr[j] - total) * yr[j];
        if (scale != 1.0)
            for (int64_t j = 0; j < n; j++) o[j] = o[j] * sc;
    }
}

/* g - exp(y) * sum(g) */
void em_log_softmax_backward_{S}(const {T} *g, const {T} *y, {T} *out, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        const {T} *gr = g + r * n, *yr = y + r * n;
        {T} *o = out + r * n;
        const {T} total = em_pairwise_{S}(gr, n);
        for (int64_t j = 0; j < n; j++) o[j] = gr[j] - {EXP}(yr[j]) * total;
    }
}

/* one row of n: c = x - mean, sq = c * c (scratch), *mean; returns 1 / sqrt(var + eps) with the
   biased variance (the NumPy forwards' order: pairwise sums, then / n in double) */
static inline {T} em_center_row_{S}(const {T} *restrict xr, {T} *restrict c, {T} *restrict sq,
                                    int64_t n, double eps, {T} *mean) {
    const {T} m = ({T})((double)em_pairwise_{S}(xr, n) / (double)n);
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
        c[j] = xr[j] - m;
        sq[j] = c[j] * c[j];
    }
    const {T} var = ({T})((double)em_pairwise_{S}(sq, n) / (double)n);
    *mean = m;
    return ({T})1 / {SQRT}(var + ({T})eps);
}

/* ((x - mean) * rstd, mean, rstd) over rows of length n, biased variance */
void em_standardize_{S}(const {T} *x, {T} *y, {T} *mean, {T} *rstd, {T} *tmp, int64_t rows,
                        int64_t n, double eps) {
    for (int64_t r = 0; r < rows; r++) {
        {T} *yr = y + r * n;
        const {T} rs = em_center_row_{S}(x + r * n, yr, tmp, n, eps, mean + r);
        for (int64_t j = 0; j < n; j++) yr[j] = yr[j] * rs;
        rstd[r] = rs;
    }
}

/* scores (B, L, S) in place: softmax(s * scale + causal mask) over S; all-masked rows: 0 */
void em_attention_rows_{S}({T} *s, int64_t mats, int64_t l, int64_t n, double scale,
                           int64_t causal) {
    const {T} sc = ({T})scale;
    for (int64_t b = 0; b < mats; b++)
        for (int64_t i = 0; i < l; i++) {
            {T} *row = s + (b * l + i) * n;
            /* masked entries are -inf, exp(-inf - m) = 0: they are written as 0, because
               vector exp takes a slow path on infinite lanes */
            const int64_t open = causal ? (i + 1 < n ? i + 1 : n) : n;
            for (int64_t j = 0; j < open; j++) row[j] = row[j] * sc;
            for (int64_t j = open; j < n; j++) row[j] = row[j] * sc + (-INFINITY);
            {T} m = em_rowmax_{S}(row, n);
            for (int64_t j = 0; j < open; j++) row[j] = {EXP}(row[j] - m);
            if (m - m == 0) /* finite max: masked exps are exactly 0 */
                for (int64_t j = open; j < n; j++) row[j] = 0;
            else
                for (int64_t j = open; j < n; j++) row[j] = {EXP}(row[j] - m);
            {T} total = em_pairwise_{S}(row, n);
            if (total == 0) total = 1;
            for (int64_t j = 0; j < n; j++) row[j] = row[j] / total;
        }
}

/* cross entropy of (N, C) logits, no class weights, no smoothing: per-row losses and the
   number of counted rows; -1 if a target is out of range */
int em_cross_entropy_{S}(const {T} *x, const int64_t *t, {T} *loss, {T} *tmp, int64_t rows,
                         int64_t c, int64_t ignore) {
    for (int64_t r = 0; r < rows; r++)
        if (t[r] != ignore && (t[r] < 0 || t[r] >= c)) return -1;
    for (int64_t r = 0; r < rows; r++) {
        const {T} *xr = x + r * c;
        const {T} m = em_rowmax_{S}(xr, c);
        for (int64_t j = 0; j < c; j++) tmp[j] = {EXP}(xr[j] - m);
        const {T} lse = {LOG}(em_pairwise_{S}(tmp, c));
        const int counted = t[r] != ignore;
        const int64_t tc = counted ? t[r] : 0;
        loss[r] = (lse - (xr[tc] - m)) * ({T})counted;
    }
    return 0;
}

/* its gradient: scale_r * (softmax(x) * w_r - onehot * w_r), w_r = 1 for counted rows */
int em_cross_entropy_backward_{S}(const {T} *x, const int64_t *t, const {T} *scale, {T} *out,
                                  int64_t rows, int64_t c, int64_t ignore) {
    for (int64_t r = 0; r < rows; r++)
        if (t[r] != ignore && (t[r] < 0 || t[r] >= c)) return -1;
    for (int64_t r = 0; r < rows; r++) {
        const {T} *xr = x + r * c;
        {T} *o = out + r * c;
        const {T} m = em_rowmax_{S}(xr, c);
        for (int64_t j = 0; j < c; j++) o[j] = {EXP}(xr[j] - m);
        const {T} wt = ({T})(t[r] != ignore);
        const {T} f = (wt * scale[r]) / em_pairwise_{S}(o, c);
        for (int64_t j = 0; j < c; j++) o[j] = o[j] * f;
        const int64_t tc = t[r] != ignore ? t[r] : 0;
        o[tc] = o[tc] - wt * scale[r];
    }
    return 0;
}



/* LayerNorm with weight and bias over rows of n (eager mode: ember.ops.norm_kernels) */
void em_layer_norm_{S}(const {T} *restrict x, const {T} *restrict w,
                       const {T} *restrict b, {T} *restrict y, {T} *restrict tmp,
                       int64_t rows, int64_t n, double eps) {
    for (int64_t r = 0; r < rows; r++) {
        {T} *yr = y + r * n;
        {T} m;
        const {T} rs = em_center_row_{S}(x + r * n, yr, tmp, n, eps, &m);
#pragma omp simd
        for (int64_t j = 0; j < n; j++) yr[j] = yr[j] * rs * w[j] + b[j];
    }
}

/* its gradients: gx per row; gw, gb summed over this call's rows (scratch: 2n) */
void em_layer_norm_backward_{S}(const {T} *restrict g, const {T} *restrict x,
                                const {T} *restrict w, {T} *restrict gx, {T} *restrict gw,
                                {T} *restrict gb, {T} *restrict scratch, int64_t rows,
                                int64_t n, double eps) {
    {T} *restrict xhat = scratch, *restrict ax = scratch + n;
    for (int64_t j = 0; j < n; j++) {
        gw[j] = 0;
        gb[j] = 0;
    }
    for (int64_t r = 0; r < rows; r++) {
        const {T} *gr = g + r * n;
        {T} *o = gx + r * n;
        {T} m;
        const {T} rs = em_center_row_{S}(x + r * n, xhat, ax, n, eps, &m);
#pragma omp simd
        for (int64_t j = 0; j < n; j++) {
            xhat[j] = xhat[j] * rs;
            gb[j] += gr[j];
            gw[j] += gr[j] * xhat[j];
            o[j] = gr[j] * w[j];
            ax[j] = o[j] * xhat[j];
        }
        const {T} m1 = ({T})((double)em_pairwise_{S}(o, n) / (double)n);
        const {T} m2 = ({T})((double)em_pairwise_{S}(ax, n) / (double)n);
#pragma omp simd
        for (int64_t j = 0; j < n; j++) o[j] = ((o[j] - m1) - xhat[j] * m2) * rs;
    }
}
"""


# the exact GELU in float32, the operations of ember.ops._erf.gelu_np / gelu_backward_np
_GELU = (
    "static inline float em_gelu_cdf(float x) {\n"
    f"    const float c = {literal(_CLAMP_CDF, 'float32')};\n"
    "    const float xc = x < -c ? -c : (x > c ? c : x); /* NaN stays NaN, as np.clip */\n"
    "    const float t = xc * xc;\n"
    f"    const float num = {horner_f32('t', _P_CDF)} * xc;\n"
    f"    return num / {horner_f32('t', _Q_CDF)} + 0.5f;\n"
    "}\n\n"
    "void em_gelu_f32(const float *x, float *y, float *cdf, int64_t n) {\n"
    "#pragma omp simd\n"
    "    for (int64_t i = 0; i < n; i++) {\n"
    "        const float c = em_gelu_cdf(x[i]);\n"
    "        cdf[i] = c;\n"
    "        y[i] = x[i] * c;\n"
    "    }\n"
    "}\n\n"
    "void em_gelu_backward_f32(const float *g, const float *x, const float *cdf, float *out,\n"
    "                          int64_t n) {\n"
    "    for (int64_t i = 0; i < n; i++) {\n"
    "        float o = x[i] * x[i];\n"
    "        o = o * -0.5f;\n"
    "        o = expf(o);\n"
    f"        o = o * {literal(_INV_SQRT_2PI, 'float32')};\n"
    "        o = o * x[i];\n"
    "        o = o + cdf[i];\n"
    "        out[i] = o * g[i];\n"
    "    }\n"
    "}\n"
)


def _variant(ctype: str, suffix: str) -> str:
    text = _HELPERS + _WINDOW + _ROWS
    f = "f" if ctype == "float" else ""
    for key, value in (
        ("{T}", ctype),
        ("{S}", suffix),
        ("{EXP}", "exp" + f),
        ("{LOG}", "log" + f),
        ("{SQRT}", "sqrt" + f),
    ):
        text = text.replace(key, value)
    return text + (_GELU if suffix == "f32" else "")


def source(vector_math: bool = False, suffixes=("f32", "f64")) -> str:
    """The C source of the kernels for ``suffixes`` (``"f32"``: float32, ``"f64"``: float64);
    ``vector_math`` declares libmvec's SIMD variants of ``exp``/``log`` so row loops vectorise."""
    decls = vector_math_declarations() if vector_math else ""
    types = {"f32": "float", "f64": "double"}
    return _PRELUDE + decls + _BOUNDS + "".join(_variant(types[s], s) for s in suffixes)


#: The C source without vector-math declarations.
SOURCE = source()
