"""Text-feature ONNX ops on integer token ids: TfIdfVectorizer.

N-gram counting decides which output slot each window of token ids lands in, so the ids are
read as Python ints (like NonZero's indices); the counts become a float tensor.

Example:
    >>> import ember
    >>> from ember.onnx.import_ops import OpContext, find_handler
    >>> attrs = {"mode": "TF", "min_gram_length": 1, "max_gram_length": 2, "max_skip_count": 0,
    ...          "ngram_counts": [0, 2], "ngram_indexes": [0, 1, 2], "pool_int64s": [7, 8, 7, 8]}
    >>> ctx = OpContext("TfIdfVectorizer", "", 9, "", attrs, 1)
    >>> find_handler("TfIdfVectorizer", 9)(ctx, ember.tensor([7, 8, 7]))
    tensor([2., 1., 1.])
"""

from __future__ import annotations

import ember

from ._registry import OpContext, onnx_op


def _pool(ctx: OpContext) -> dict[tuple[int, ...], int]:
    """Each pooled n-gram (a tuple of ids) -> its position in the pool."""
    if ctx.attr("pool_strings"):
        raise ctx.unsupported("pool_strings (string input)")
    pool = list(ctx.attr("pool_int64s") or [])
    starts = list(ctx.attr("ngram_counts") or [])
    grams: dict[tuple[int, ...], int] = {}
    position = 0
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(pool)
        n = i + 1
        for offset in range(start, end, n):
            grams[tuple(pool[offset : offset + n])] = position
            position += 1
    return grams


def _count_row(tokens: list[int], grams, lo: int, hi: int, max_skip: int) -> dict[int, int]:
    counts: dict[int, int] = {}
    for n in range(lo, hi + 1):
        for skip in range(0, (max_skip if n > 1 else 0) + 1):
            step = skip + 1
            for start in range(len(tokens) - (n - 1) * step):
                key = tuple(tokens[start + j * step] for j in range(n))
                slot = grams.get(key)
                if slot is not None:
                    counts[slot] = counts.get(slot, 0) + 1
    return counts


@onnx_op("TfIdfVectorizer")
def tfidf_vectorizer(ctx: OpContext, x):
    mode = ctx.attr("mode", "TF")
    if mode not in ("TF", "IDF", "TFIDF"):
        raise ctx.error(f"mode must be TF, IDF or TFIDF, got {mode!r}")
    grams = _pool(ctx)
    indexes = list(ctx.attr("ngram_indexes") or [])
    weights = list(ctx.attr("weights") or [1.0] * len(indexes))
    lo, hi = ctx.attr("min_gram_length", 1), ctx.attr("max_gram_length", 1)
    width = max(indexes) + 1 if indexes else 0
    rows = x.detach().numpy().reshape(-1, x.shape[-1] if x.dim() else 1).tolist()
    out = []
    for tokens in rows:
        vector = [0.0] * width
        for slot, count in _count_row(tokens, grams, lo, hi, ctx.attr("max_skip_count", 0)).items():
            if mode == "TF":
                value = float(count)
            elif mode == "IDF":
                value = weights[slot]
            else:
                value = count * weights[slot]
            vector[indexes[slot]] = value
        out.append(vector)
    result = ember.tensor(out, dtype=ember.float32)
    return result.reshape(width) if x.dim() == 1 else result
