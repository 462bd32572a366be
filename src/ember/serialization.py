"""``ember.save`` / ``ember.load``: checkpoints as safetensors files, never pickle.

One checkpoint is one `safetensors <https://huggingface.co/docs/safetensors>`_ file. Its
tensors are the file's entries, and the file's ``__metadata__`` holds a JSON description of
the saved object: nested dicts (``OrderedDict`` too, with its ``_metadata``), lists, tuples,
``None``, bools, ints, floats and strings, with tensors referenced by entry name. Saving a
state_dict therefore writes a plain safetensors file whose entry names are the state_dict
keys, so any safetensors reader (``safetensors.torch.load_file`` included) can read it, and
``ember.load`` reads plain safetensors files written by other tools as a dict of tensors.

Loading never executes anything from the file: it parses a JSON header and wraps the tensor
bytes with NumPy (zero-copy, writable arrays). Saving to a path is atomic: the bytes go to a
temporary file in the same directory, which is flushed, fsynced and renamed over the target,
so a crash or an error mid-write leaves any previous checkpoint intact.

Example:
    >>> import os, tempfile
    >>> import ember
    >>> from ember.serialization import load, save
    >>> model = ember.nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> save({"model": model.state_dict(), "epoch": 3}, path)
    >>> ckpt = load(path)
    >>> ckpt["epoch"], sorted(ckpt["model"])
    (3, ['bias', 'weight'])
    >>> model.load_state_dict(ckpt["model"]).missing_keys
    []
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
from collections import OrderedDict
from typing import IO, Any, BinaryIO, Union

import numpy as np

from . import dtypes as _dt
from .tensor import Size, Tensor

__all__ = ["save", "load", "SerializationError"]

FileLike = Union[str, "os.PathLike[str]", BinaryIO, IO[bytes]]

#: Key in the safetensors ``__metadata__`` that holds the JSON structure.
STRUCTURE_KEY = "ember.structure"
#: Version of the JSON structure this module writes (and the newest it reads).
STRUCTURE_VERSION = 1
_MAX_HEADER = 100_000_000  # the safetensors format's own limit on the JSON header size

_ST_TO_NP = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}


class SerializationError(ValueError, RuntimeError):
    """A checkpoint file is truncated, corrupt, foreign or structurally inconsistent.

    It is both a ``ValueError`` and a ``RuntimeError`` so either ``except`` clause catches it.
    """


# ----------------------------------------------------------------------------- saving
class _Encoder:
    """Turns a nested object into a JSON tree plus a flat ``{name: ndarray}`` dict."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._by_object: dict[int, int] = {}  # id(tensor) -> object number
        self._by_memory: dict[tuple, str] = {}  # identical views of one memory -> entry name
        self._keep: list = []  # keeps objects alive so their ids stay unique
        self._active: set[int] = set()  # containers being encoded (cycle detection)
        self._next_obj = 0

    def encode(self, obj: Any, path: tuple) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"t": "float", "v": repr(float(obj))}
        if isinstance(obj, np.generic):
            return self.encode(obj.item(), path)
        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if isinstance(obj, np.ndarray):
            return self._array(obj, path, {"kind": "ndarray"})
        if isinstance(obj, _dt.dtype):
            return {"t": "dtype", "name": obj.name}
        if type(obj).__name__ == "device" and hasattr(obj, "type") and hasattr(obj, "index"):
            return {"t": "device", "v": str(obj)}
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self._active:
                raise ValueError(f"ember.save: {_where(path)} contains itself (a reference cycle)")
            self._active.add(id(obj))
            try:
                return self._container(obj, path)
            finally:
                self._active.discard(id(obj))
        raise TypeError(
            f"ember.save: cannot save an object of type {type(obj).__module__}."
            f"{type(obj).__qualname__} at {_where(path)}; ember checkpoints hold tensors, "
            "NumPy arrays, dicts, lists, tuples, None, bool, int, float, str, dtypes and devices "
            "(never pickled objects)"
        )

    def _container(self, obj, path: tuple) -> dict:
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (str, int, float))):
                    raise TypeError(
                        f"ember.save: dict key {k!r} of type {type(k).__name__} at {_where(path)} "
                        "is not supported; keys must be str, int, float, bool or None"
                    )
                items.append([self.encode(k, path), self.encode(v, (*path, k))])
            node = {"t": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
            meta = getattr(obj, "_metadata", None)
            if isinstance(obj, OrderedDict) and meta is not None:
                node["meta"] = self.encode(meta, (*path, "_metadata"))
            return node
        items = [self.encode(v, (*path, i)) for i, v in enumerate(obj)]
        if isinstance(obj, Size):
            return {"t": "size", "items": items}
        return {"t": "tuple" if isinstance(obj, tuple) else "list", "items": items}

    def _tensor(self, t: Tensor, path: tuple) -> dict:
        num = self._by_object.get(id(t))
        if num is not None:
            return {"t": "same", "obj": num}
        from .nn.parameter import Buffer, Parameter

        extra: dict[str, Any] = {"kind": "tensor"}
        if isinstance(t, Parameter):
            extra["kind"] = "parameter"
        elif isinstance(t, Buffer):
            extra = {"kind": "buffer", "persistent": bool(t.persistent)}
        if t.requires_grad:
            extra["requires_grad"] = True
        node = self._array(t._data, path, extra)
        node["obj"] = self._by_object[id(t)] = self._next_obj
        self._next_obj += 1
        self._keep.append(t)
        return node

    def _array(self, arr: np.ndarray, path: tuple, extra: dict) -> dict:
        if arr.dtype not in _dt._BY_NP:
            raise TypeError(
                f"ember.save: array of dtype {arr.dtype} at {_where(path)} is not supported; "
                f"ember stores {', '.join(_dt._BY_NAME)}"
            )
        mem = None
        if arr.nbytes:
            ptr = arr.__array_interface__["data"][0]
            mem = (ptr, arr.shape, arr.strides, arr.dtype.str)
        name = self._by_memory.get(mem) if mem is not None else None
        if name is None:
            name = self._fresh_name(path)
            self.arrays[name] = np.asarray(arr, order="C")  # keeps 0-d arrays 0-d
            if mem is not None:
                self._by_memory[mem] = name
                self._keep.append(arr)
        return {"t": "tensor", "key": name, **extra}

    def _fresh_name(self, path: tuple) -> str:
        base = ".".join(str(p) for p in path) if path else "tensor"
        name, n = base, 1
        while name in self.arrays:
            name, n = f"{base}~{n}", n + 1
        return name


def _where(path: tuple) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


def _atomic_write(path: str, data: bytes) -> None:
    path = os.fspath(path)
    if os.path.islink(path):  # write through a symlink, as open(path, "wb") would
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"ember.save: parent directory {directory!r} does not exist")
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o7777
    else:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError, AttributeError):  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _umask() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save(
    obj: Any,
    f: FileLike,
    pickle_module: Any = None,
    pickle_protocol: Any = None,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Save tensors, a state_dict or a nested container of them to a safetensors file.

    Args:
        obj: a tensor, NumPy array, or dicts / lists / tuples nesting tensors and
            ``None``/bool/int/float/str values (dtypes and devices too). Parameters come back
            as Parameters; the same tensor object saved twice is stored once and loads as one
            object; views of the same memory load sharing memory.
        f: a path (``str`` or ``os.PathLike``), written atomically, or a binary file object
            opened for writing (written at its current position).
        pickle_module, pickle_protocol, _use_new_zipfile_serialization,
            _disable_byteorder_record: accepted for ``torch.save`` compatibility and ignored;
            ember never pickles.

    Raises:
        TypeError: ``obj`` holds an object ember cannot store without pickling.
        ValueError: ``obj`` contains a reference cycle.

    Example:
        >>> import io, ember
        >>> from ember.serialization import load, save
        >>> buf = io.BytesIO()
        >>> save({"w": ember.ones(2, 2), "step": 10, "betas": (0.9, 0.999)}, buf)
        >>> _ = buf.seek(0)
        >>> load(buf)
        {'w': tensor([[1., 1.],
                [1., 1.]]), 'step': 10, 'betas': (0.9, 0.999)}
    """
    import safetensors.numpy as stnp

    enc = _Encoder()
    root = enc.encode(obj, ())
    structure = json.dumps({"version": STRUCTURE_VERSION, "root": root}, separators=(",", ":"))
    data = stnp.save(enc.arrays, metadata={"format": "ember", STRUCTURE_KEY: structure})
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(f, data)
    elif hasattr(f, "write"):
        f.write(data)
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise TypeError(
            f"ember.save: f must be a path or a binary file object, got {type(f).__name__}"
        )


# ----------------------------------------------------------------------------- loading
_FOREIGN = [
    (b"PK\x03\x04", "a zip archive, which is what torch.save writes (a pickled checkpoint)"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (e.g. a Keras .h5 checkpoint)"),
    (b"\x1f\x8b", "a gzip file"),
]
_RESAVE = (
    "ember never unpickles files. Re-save the weights with safetensors, e.g. in PyTorch: "
    "`from safetensors.torch import save_file; save_file(model.state_dict(), "
    "'model.safetensors')`, then ember.load that file"
)


def _describe_foreign(head: bytes) -> str | None:
    for magic, what in _FOREIGN:
        if head.startswith(magic):
            return what
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "a Python pickle (what legacy torch.save and pickle.dump write)"
    if head[4:8] == b"TFL3":
        return "a TFLite flatbuffer"
    return None


def _foreign_error(name: str, head: bytes, detail: str) -> SerializationError:
    what = _describe_foreign(head)
    if what is not None:
        return SerializationError(
            f"ember.load: {name} is not a safetensors file: it is {what}. " + _RESAVE
        )
    return SerializationError(
        f"ember.load: {name} is not a safetensors file ({detail}). " + _RESAVE
    )


def _read_exact(fh, n: int) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    readinto = getattr(fh, "readinto", None)
    while got < n:
        if readinto is not None:
            k = readinto(view[got:])
        else:
            chunk = fh.read(n - got)
            k = len(chunk) if chunk else 0
            view[got : got + k] = chunk or b""
        if not k:
            break
        got += k
    return buf if got == n else buf[:got]


def _read_safetensors(fh, name: str) -> tuple[dict, dict[str, np.ndarray], dict]:
    """Parse one safetensors object from ``fh``: (metadata, arrays by name, header)."""
    head = bytes(_read_exact(fh, 8))
    if len(head) == 0:
        raise SerializationError(
            f"ember.load: {name} is empty (0 bytes); the file is truncated or was never written"
        )
    if len(head) < 8:
        if _describe_foreign(head):
            raise _foreign_error(name, head, "")
        raise SerializationError(
            f"ember.load: {name} is truncated or not a safetensors file: only {len(head)} "
            "bytes, less than the 8-byte safetensors header"
        )
    n = int.from_bytes(head, "little")
    if n == 0 or n > _MAX_HEADER:
        raise _foreign_error(name, head, f"its first 8 bytes give a header length of {n}")
    raw = bytes(_read_exact(fh, n))
    if not raw:
        raise SerializationError(
            f"ember.load: {name} is truncated: it ends right after the 8-byte header length"
        )
    if raw[:1] != b"{":
        raise _foreign_error(name, head, "the header does not start with '{'")
    if len(raw) < n:
        raise SerializationError(
            f"ember.load: {name} is truncated: the safetensors header "
            f"should be {n} bytes, but the file ends after {len(raw)}"
        )
    try:
        header = json.loads(raw.decode("utf-8").rstrip(" "))
    except (UnicodeDecodeError, ValueError) as e:
        raise SerializationError(
            f"ember.load: {name} has a corrupt safetensors header (invalid JSON: {e})"
        ) from None
    if not isinstance(header, dict):
        raise SerializationError(
            f"ember.load: {name} has a corrupt safetensors header (not a JSON object)"
        )
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise SerializationError(f"ember.load: {name}: __metadata__ is not a JSON object")
    specs, total = [], 0
    for key, info in header.items():
        try:
            dtype_code, shape = info["dtype"], [int(s) for s in info["shape"]]
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise SerializationError(
                f"ember.load: {name}: malformed header entry for tensor {key!r}: {info!r}"
            ) from None
        npd = _np_dtype(dtype_code, key, name)
        count = math.prod(shape)
        if min(shape, default=0) < 0 or begin < 0 or end - begin != count * npd.itemsize:
            raise SerializationError(
                f"ember.load: {name}: tensor {key!r} has inconsistent shape {shape}, dtype "
                f"{dtype_code} and data_offsets [{begin}, {end}]"
            )
        specs.append((key, npd, shape, begin, count))
        total = max(total, end)
    data = _read_exact(fh, total)
    if len(data) < total:
        raise SerializationError(
            f"ember.load: {name} is truncated: its header describes {total} bytes of tensor "
            f"data but only {len(data)} follow it (an interrupted download or copy?)"
        )
    arrays = {}
    for key, npd, shape, begin, count in specs:
        arr = np.frombuffer(data, npd, count, begin).reshape(tuple(shape))
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arrays[key] = arr
    return metadata, arrays, header


def _np_dtype(code: str, key: str, name: str) -> np.dtype:
    if code == "BF16":
        if _dt.bfloat16 is None:
            raise SerializationError(
                f"ember.load: {name}: tensor {key!r} is bfloat16, which "
                "needs the ml_dtypes package (pip install ml_dtypes)"
            )
        return _dt.bfloat16.np
    if code not in _ST_TO_NP:
        raise SerializationError(
            f"ember.load: {name}: tensor {key!r} has dtype {code}, which ember does not "
            f"support (ember supports {', '.join([*_ST_TO_NP, 'BF16'])})"
        )
    return np.dtype(_ST_TO_NP[code])


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], name: str):
        self.arrays = arrays
        self.name = name
        self._objects: dict[int, Any] = {}
        self._versions: dict[str, Any] = {}

    def fail(self, what: str) -> SerializationError:
        return SerializationError(
            f"ember.load: {self.name} has an inconsistent ember structure "
            f"(the file is corrupt or was edited): {what}"
        )

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or "t" not in node:
            raise self.fail(f"unexpected node {node!r}")
        kind = node["t"]
        try:
            if kind in ("dict", "odict"):
                out = OrderedDict() if kind == "odict" else {}
                for k, v in node["items"]:
                    out[self.decode(k)] = self.decode(v)
                if "meta" in node:
                    out._metadata = self.decode(node["meta"])
                return out
            if kind in ("list", "tuple", "size"):
                items = [self.decode(v) for v in node["items"]]
                return {"list": list, "tuple": tuple, "size": Size}[kind](items)
            if kind == "tensor":
                return self._tensor(node)
            if kind == "same":
                if node["obj"] not in self._objects:
                    raise self.fail(f"tensor object {node['obj']} is used before it is defined")
                return self._objects[node["obj"]]
            if kind == "float":
                return float(node["v"])
            if kind == "dtype":
                return _dt.as_dtype(node["name"])
            if kind == "device":
                from .device import device

                return device(node["v"])
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, SerializationError):
                raise
            raise self.fail(f"bad {kind!r} node {node!r} ({type(e).__name__}: {e})") from None
        raise self.fail(f"unknown node type {kind!r} (written by a newer ember?)")

    def _tensor(self, node: dict) -> Any:
        key = node["key"]
        if key not in self.arrays:
            raise self.fail(f"the structure refers to tensor {key!r}, which is not in the file")
        arr = self.arrays[key]
        kind = node.get("kind", "tensor")
        if kind == "ndarray":
            return arr
        base = Tensor._wrap(arr)
        if key in self._versions:  # views of one memory share the version counter
            base._version = self._versions[key]
        self._versions[key] = base._version
        requires_grad = bool(node.get("requires_grad", False))
        if kind == "parameter":
            from .nn.parameter import Parameter

            out = Parameter(base, requires_grad=requires_grad)
        elif kind == "buffer":
            from .nn.parameter import Buffer

            out = Buffer(base, persistent=bool(node.get("persistent", True)))
            out._version = base._version
        elif kind == "tensor":
            out = base.requires_grad_(True) if requires_grad else base
        else:
            raise self.fail(f"unknown tensor kind {kind!r}")
        if "obj" in node:
            self._objects[node["obj"]] = out
        return out


def _file_name(f: Any) -> str:
    if isinstance(f, (str, os.PathLike)):
        return repr(os.fspath(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"


def _check_map_location(map_location: Any):
    """Return the target device for ``map_location`` (ember computes on the CPU only)."""
    from .device import as_device

    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        return None  # torch remaps stored locations; ember only ever stores CPU tensors
    return as_device(str(map_location))


def load(
    f: FileLike,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool = True,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load an object saved by :func:`save`, or any safetensors file, without unpickling.

    A file written by ``ember.save`` comes back as the saved structure (dicts, lists, tuples,
    scalars, tensors, Parameters). A plain safetensors file, e.g. one written by
    ``safetensors.torch.save_file(model.state_dict(), path)``, comes back as a dict of
    tensors, ready for ``Module.load_state_dict``. Arrays are zero-copy views of one buffer
    read from the file, and are writable.

    Args:
        f: a path or a binary file object (read from its current position).
        map_location: ``None``, ``"cpu"`` or a CPU device; a dict or callable is accepted
            and ignored (ember stores CPU tensors only). Another device raises.
        pickle_module, weights_only, mmap, pickle_load_args: accepted for ``torch.load``
            compatibility and ignored; ember never unpickles, so loading is always
            weights-only safe.

    Raises:
        SerializationError: (a ``ValueError`` and ``RuntimeError``) the file is empty,
            truncated, not a safetensors file (a ``torch.save`` pickle, say: the message
            says how to re-save it), or its ember structure does not match its tensors.

    Example:
        >>> import os, tempfile, ember
        >>> from ember.serialization import load, save
        >>> path = os.path.join(tempfile.mkdtemp(), "t.safetensors")
        >>> w = ember.nn.Parameter(ember.arange(3.0))
        >>> save([w, w, ember.tensor([1, 2], dtype=ember.int8)], path)
        >>> a, b, c = load(path, map_location="cpu")
        >>> a is b, type(a).__name__, c
        (True, 'Parameter', tensor([1, 2], dtype=ember.int8))
    """
    target = _check_map_location(map_location)
    name = _file_name(f)
    if isinstance(f, (str, os.PathLike)):
        if os.path.isdir(f):
            raise IsADirectoryError(f"ember.load: {name} is a directory, not a checkpoint file")
        with open(f, "rb") as fh:
            metadata, arrays, _ = _read_safetensors(fh, name)
    elif hasattr(f, "read"):
        if isinstance(f, io.TextIOBase):
            raise TypeError(f"ember.load: {name} is opened in text mode; open it with 'rb'")
        metadata, arrays, _ = _read_safetensors(f, name)
    else:
        raise TypeError(
            f"ember.load: f must be a path or a binary file object, got {type(f).__name__}"
        )
    structure = metadata.get(STRUCTURE_KEY)
    if structure is None:
        out: Any = {k: Tensor._wrap(a) for k, a in arrays.items()}
    else:
        try:
            desc = json.loads(structure)
            version, root = desc["version"], desc["root"]
        except (ValueError, TypeError, KeyError) as e:
            raise SerializationError(
                f"ember.load: {name}: the ember structure in the file's metadata is not valid ({e})"
            ) from None
        if not isinstance(version, int) or version > STRUCTURE_VERSION:
            raise SerializationError(
                f"ember.load: {name} was written with ember structure version {version!r}; "
                f"this ember reads up to version {STRUCTURE_VERSION}. Upgrade ember"
            )
        out = _Decoder(arrays, name).decode(root)
    if target is not None and target.type != "cpu":  # pragma: no cover - only CPU exists
        raise RuntimeError(f"ember.load: cannot map tensors to device {target}")
    return out
