"""ONNX lowerings of ember's primitives, one module per op family.

Importing this package registers every lowering in ``REGISTRY[name].lowerings["onnx"]``;
:func:`lowering_table` lists every primitive with the opset its lowering needs, or the reason
it has none, and :func:`markdown_table` renders it for docs/onnx.md
(``python -m ember.onnx.export_ops`` prints it).

Example:
    >>> from ember.onnx.export_ops import lowering_table
    >>> table = {row.primitive: row for row in lowering_table()}
    >>> table["conv"].min_opset, table["ctc_loss"].min_opset
    (13, None)
"""

from __future__ import annotations

from typing import NamedTuple

import ember.ir.prims  # noqa: F401 - registers fill
import ember.nn.functional.attention  # noqa: F401 - registers attention_probs
import ember.random  # noqa: F401 - registers the samplers

from ...registry import REGISTRY
from . import (  # noqa: F401 - importing registers the lowerings
    backward,
    binary,
    conv_pool,
    creation,
    indexing,
    linalg,
    movement,
    nn,
    reduce,
    rnn,
    unary,
)
from ._registry import NOT_LOWERED, Lowering, lowers, not_lowered

__all__ = [
    "lowering_table",
    "markdown_table",
    "LoweringRow",
    "Lowering",
    "lowers",
    "not_lowered",
]

not_lowered(
    "its output shape depends on the data; ember's tracer refuses it, so no graph holds it",
    "nonzero",
    "unique",
)
not_lowered("no ONNX operator computes a CTC loss", "ctc_loss", "ctc_loss_backward")
not_lowered(
    "backpropagation through time of the fused LSTM kernel (export forward graphs)",
    "lstm_sequence_backward",
)


class LoweringRow(NamedTuple):
    """One primitive: the opset its ONNX lowering needs (None: no lowering), a note, and the
    family module its lowering lives in."""

    primitive: str
    min_opset: int | None
    note: str
    family: str = ""


def lowering_table() -> list[LoweringRow]:
    """Every registry primitive, sorted by name, with its ONNX lowering status."""
    rows = []
    for name in sorted(REGISTRY):
        low = REGISTRY[name].lowerings.get("onnx")
        if isinstance(low, Lowering):
            family = low.fn.__module__.rsplit(".", 1)[-1]
            rows.append(LoweringRow(name, low.min_opset, low.note, family))
        else:
            rows.append(LoweringRow(name, None, NOT_LOWERED.get(name, "no lowering yet")))
    return rows


def markdown_table() -> str:
    """The lowering table as Markdown: lowered primitives by family, then the others."""
    rows = lowering_table()
    done = sorted(
        (r for r in rows if r.min_opset is not None), key=lambda r: (r.family, r.primitive)
    )
    lines = [
        f"{len(done)} of {len(rows)} primitives have an ONNX lowering.",
        "",
        "| family | primitive | from opset | note |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {r.family} | `{r.primitive}` | {r.min_opset} | {r.note} |" for r in done]
    lines += ["", "Without an ONNX lowering:", ""]
    lines += [f"- `{r.primitive}`: {r.note}" for r in rows if r.min_opset is None]
    return "\n".join(lines)
