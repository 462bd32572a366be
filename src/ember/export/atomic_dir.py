"""Write a directory of files atomically: readers see the old directory or the new one.

The files go into a temporary directory next to the target (``.NAME.tmp-*``), each flushed
and fsynced; then an existing target is moved aside, the new directory renamed into place and
the old one deleted. A failure at any point leaves the previous directory as it was. An
existing target is replaced only if ``replaceable(path)`` says so (a bundle is never written
over a directory of someone else's files).

Example:
    >>> import os, tempfile
    >>> from ember.export.atomic_dir import write_directory
    >>> target = os.path.join(tempfile.mkdtemp(), "out")
    >>> write_directory(target, {"a.txt": b"one"})
    >>> write_directory(target, {"b.txt": b"two"}, replaceable=lambda p: True)
    >>> sorted(os.listdir(target))
    ['b.txt']
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_directory"]


def write_directory(
    path: str | os.PathLike,
    files: dict[str, bytes],
    replaceable: Callable[[Path], bool] = lambda p: False,
) -> None:
    """Create directory ``path`` holding ``files`` (name -> bytes), replacing it atomically.

    An existing empty directory is always replaced; any other existing path only if
    ``replaceable(path)`` returns True (else :class:`FileExistsError`).
    """
    target = Path(os.path.abspath(os.fspath(path)))
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    exists = target.exists() or target.is_symlink()
    if exists and not (_is_empty_dir(target) or replaceable(target)):
        raise FileExistsError(f"{target} exists and is not a directory this writer may replace")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    old = None
    try:
        for name, data in files.items():
            _write_file(tmp / name, data)
        os.chmod(tmp, 0o777 & ~_umask())
        _fsync_dir(tmp)
        if exists:
            old = parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            if old is not None:
                os.rename(old, target)
                old = None
            raise
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                old.unlink()


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
