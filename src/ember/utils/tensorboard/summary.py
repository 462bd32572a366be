"""Builders of TensorBoard ``Summary`` protocol buffers (the ``tensorboard`` package is optional).

Array preparation (image layout, histogram buckets, PNG encoding) is plain NumPy and needs
nothing else; the functions returning protos import ``tensorboard`` lazily and raise an
``ImportError`` naming the package to install when it is missing.

Example:
    >>> import numpy as np
    >>> img = to_hwc(np.zeros((3, 4, 5)), "CHW")
    >>> img.shape, img.dtype
    ((4, 5, 3), dtype('uint8'))
    >>> encode_png(img)[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Any

import numpy as np

__all__ = [
    "require_tensorboard",
    "to_numpy",
    "to_hwc",
    "encode_png",
    "histogram_counts",
    "scalar",
    "histogram",
    "image",
    "text",
    "hparams",
]

INSTALL_HINT = (
    "TensorBoard logging needs the `tensorboard` package, which is not installed. "
    "Install it with `pip install tensorboard` (or `pip install ember[tensorboard]`)."
)


def require_tensorboard() -> None:
    """Raise an ``ImportError`` telling what to install if ``tensorboard`` cannot be imported.

    Example:
        >>> try:
        ...     require_tensorboard()
        ... except ImportError as e:
        ...     assert "pip install tensorboard" in str(e)
    """
    try:
        import tensorboard.compat.proto.summary_pb2  # noqa: F401
        import tensorboard.summary.writer.event_file_writer  # noqa: F401
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e


def to_numpy(x: Any) -> np.ndarray:
    """An ember tensor, NumPy array, list or scalar as a NumPy array (no autograd).

    Example:
        >>> to_numpy([1, 2]).tolist()
        [1, 2]
    """
    from ...tensor import Tensor

    if isinstance(x, Tensor):
        x = x._data
    arr = np.asarray(x)
    if arr.dtype.kind not in "biufc":
        arr = arr.astype(np.float64)
    return arr


def _grid(images: np.ndarray) -> np.ndarray:
    """Tile ``(N, C, H, W)`` images into one ``(C, H', W')`` image, at most 8 per row."""
    n, c, h, w = images.shape
    ncols = min(n, 8)
    nrows = math.ceil(n / ncols)
    canvas = np.zeros((c, nrows * h, ncols * w), dtype=images.dtype)
    for i in range(n):
        r, col = divmod(i, ncols)
        canvas[:, r * h : (r + 1) * h, col * w : (col + 1) * w] = images[i]
    return canvas


def to_hwc(img: Any, dataformats: str = "CHW") -> np.ndarray:
    """Convert an image (or a batch, tiled into a grid) to ``uint8`` ``(H, W, C)``.

    ``dataformats`` is one of ``"CHW"``, ``"HWC"``, ``"HW"``, ``"NCHW"``, ``"NHWC"``. Floating
    images are taken to be in ``[0, 1]`` and scaled to ``[0, 255]``; ``uint8`` images are kept.
    Two-channel images are refused; 1, 3 and 4 channels are grayscale, RGB and RGBA.

    Example:
        >>> to_hwc(np.ones((2, 3)), "HW")[..., 0].tolist()
        [[255, 255, 255], [255, 255, 255]]
        >>> to_hwc(np.zeros((5, 1, 2, 2)), "NCHW").shape
        (2, 10, 1)
    """
    arr = to_numpy(img)
    fmt = dataformats.upper()
    if len(fmt) != arr.ndim or sorted(fmt) not in (
        sorted("CHW"), sorted("HW"), sorted("NCHW")
    ):  # fmt: skip
        raise ValueError(
            f"dataformats {dataformats!r} does not describe an image of shape {arr.shape}"
        )
    if "N" in fmt:
        arr = _grid(np.transpose(arr, [fmt.index(a) for a in "NCHW"]))
        fmt = "CHW"
    if fmt == "HW" or fmt == "WH":
        arr = arr[None] if fmt == "HW" else arr.T[None]
        fmt = "CHW"
    arr = np.transpose(arr, [fmt.index(a) for a in "HWC"])
    if arr.shape[-1] not in (1, 3, 4):
        raise ValueError(f"an image needs 1, 3 or 4 channels, got {arr.shape[-1]}")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.float32)
    scale = 255.0 if arr.dtype.kind in "fc" else 1.0
    return np.clip(arr.astype(np.float64) * scale, 0, 255).round().astype(np.uint8)


def encode_png(img: np.ndarray) -> bytes:
    """Encode a ``uint8`` ``(H, W, C)`` image (C = 1, 3 or 4) as PNG, with no Pillow needed.

    Example:
        >>> data = encode_png(np.zeros((2, 2, 3), dtype=np.uint8))
        >>> data[12:16]
        b'IHDR'
    """
    h, w, c = img.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    raw = np.concatenate(
        [np.zeros((h, 1), dtype=np.uint8), np.ascontiguousarray(img, np.uint8).reshape(h, w * c)],
        axis=1,
    ).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _tensorflow_bins() -> np.ndarray:
    """TensorFlow's default histogram bucket edges: exponential, 10% apart, from 1e-12 to 1e20."""
    pos = [1e-12]
    while pos[-1] < 1e20:
        pos.append(pos[-1] * 1.1)
    return np.array([-v for v in reversed(pos)] + [0.0] + pos)


def histogram_counts(
    values: Any, bins: Any = "tensorflow", max_bins: int | None = None
) -> dict[str, Any]:
    """Histogram statistics in TensorBoard's layout (right bucket limits, empty tails trimmed).

    ``bins`` is ``"tensorflow"`` (TensorFlow's exponential buckets), an int, a NumPy bin rule
    (``"auto"``, ``"fd"``...) or explicit edges.

    Example:
        >>> h = histogram_counts([0.0, 1.0, 1.0, 2.0], bins=2)
        >>> h["bucket_limit"], h["bucket"], h["num"], h["sum"]
        ([0.0, 1.0, 2.0], [0.0, 1.0, 3.0], 4, 4.0)
    """
    v = to_numpy(values).astype(np.float64).reshape(-1)
    if v.size == 0:
        raise ValueError("cannot make a histogram of an empty array")
    if not np.all(np.isfinite(v)):
        raise ValueError("histogram values must be finite (got NaN or inf)")
    edges = _tensorflow_bins() if isinstance(bins, str) and bins == "tensorflow" else bins
    counts, limits = np.histogram(v, bins=edges)
    if max_bins is not None and counts.size > max_bins:
        sub = math.ceil(counts.size / max_bins)
        pad = (-counts.size) % sub
        counts = np.pad(counts, (0, pad)).reshape(-1, sub).sum(axis=1)
        limits = np.r_[limits[:-1:sub], limits[-1]]
    nz = np.nonzero(counts)[0]
    start, end = int(nz[0]), int(nz[-1]) + 1
    # TensorBoard stores right limits only: keep one empty bucket on the left for the min edge
    if start > 0:
        counts, limits = counts[start - 1 : end], limits[start : end + 1]
    else:
        counts, limits = np.r_[0, counts[:end]], limits[: end + 1]
    return {
        "min": float(v.min()),
        "max": float(v.max()),
        "num": int(v.size),
        "sum": float(v.sum()),
        "sum_squares": float(v @ v),
        "bucket_limit": [float(x) for x in limits],
        "bucket": [float(x) for x in counts],
    }


# ---------------------------------------------------------------------------------------------
# protos (need tensorboard)
# ---------------------------------------------------------------------------------------------
def _pb():
    require_tensorboard()
    from tensorboard.compat.proto import summary_pb2

    return summary_pb2


def scalar(tag: str, value: Any, new_style: bool = False) -> Any:
    """A ``Summary`` holding one scalar (``simple_value``, or a scalars-plugin tensor)."""
    summary_pb2 = _pb()
    value = float(to_numpy(value).reshape(()))
    if not new_style:
        return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    tensor = TensorProto(dtype="DT_FLOAT", float_val=[value], tensor_shape=TensorShapeProto())
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)]
    )


def histogram(tag: str, values: Any, bins: Any = "tensorflow", max_bins: int | None = None):
    """A ``Summary`` holding a histogram of ``values``."""
    summary_pb2 = _pb()
    from tensorboard.compat.proto.summary_pb2 import HistogramProto

    h = histogram_counts(values, bins, max_bins)
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, histo=HistogramProto(**h))]
    )


def image(tag: str, img: Any, dataformats: str = "CHW") -> Any:
    """A ``Summary`` holding one PNG-encoded image."""
    summary_pb2 = _pb()
    hwc = to_hwc(img, dataformats)
    h, w, c = hwc.shape
    proto = summary_pb2.Summary.Image(
        height=h, width=w, colorspace=c, encoded_image_string=encode_png(hwc)
    )
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=proto)])


def text(tag: str, text_string: str) -> Any:
    """A ``Summary`` for the text plugin (tag ``<tag>/text_summary``, like PyTorch's)."""
    summary_pb2 = _pb()
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name="text", content=TextPluginData(version=0).SerializeToString()
        )
    )
    tensor = TensorProto(
        dtype="DT_STRING",
        string_val=[str(text_string).encode("utf-8")],
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
    )
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag + "/text_summary", metadata=meta, tensor=tensor)]
    )


def hparams(
    hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None
) -> tuple[Any, Any, Any]:
    """The three hparams-plugin summaries: experiment, session start info, session end info."""
    summary_pb2 = _pb()
    from google.protobuf import struct_pb2  # a dependency of tensorboard
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
        raise TypeError("hparam_dict and metric_dict must be dictionaries")
    domains = hparam_domain_discrete or {}
    for k, vals in domains.items():
        if k not in hparam_dict or not isinstance(vals, list):
            raise TypeError(
                f"hparam_domain_discrete[{k!r}] must be a list of values of hparam {k!r}"
            )
    ssi = plugin_data_pb2.SessionStartInfo()
    infos = []
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if not isinstance(v, (bool, int, float, str)):
            arr = to_numpy(v)
            if arr.size != 1:
                raise ValueError(f"hparam {k!r} must be a bool, number or string, got {v!r}")
            v = arr.reshape(()).item()
        if isinstance(v, bool):
            ssi.hparams[k].bool_value = v
            kind, field = "DATA_TYPE_BOOL", "bool_value"
        elif isinstance(v, (int, float)):
            ssi.hparams[k].number_value = float(v)
            kind, field = "DATA_TYPE_FLOAT64", "number_value"
        else:
            ssi.hparams[k].string_value = v
            kind, field = "DATA_TYPE_STRING", "string_value"
        domain = None
        if k in domains:
            domain = struct_pb2.ListValue(
                values=[struct_pb2.Value(**{field: d}) for d in domains[k]]
            )
        infos.append(
            api_pb2.HParamInfo(name=k, type=api_pb2.DataType.Value(kind), domain_discrete=domain)
        )

    def wrap(tag: str, **content: Any) -> Any:
        data = plugin_data_pb2.HParamsPluginData(version=metadata.PLUGIN_DATA_VERSION, **content)
        meta = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=metadata.PLUGIN_NAME, content=data.SerializeToString()
            )
        )
        return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, metadata=meta)])

    experiment = api_pb2.Experiment(
        hparam_infos=infos,
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=k)) for k in metric_dict],
    )
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value("STATUS_SUCCESS"))
    return (
        wrap(metadata.EXPERIMENT_TAG, experiment=experiment),
        wrap(metadata.SESSION_START_INFO_TAG, session_start_info=ssi),
        wrap(metadata.SESSION_END_INFO_TAG, session_end_info=end),
    )
