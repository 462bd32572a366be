"""Downloading dataset files with checksum verification, and extracting archives safely.

Every download is written to ``<name>.part`` and renamed only after its MD5 matches, so a
half-downloaded or corrupted file is never mistaken for data. Where no network is reachable the
error names the URLs and the folder to put the files in by hand.

Example:
    >>> import os, tempfile
    >>> from ember.data.datasets._download import md5sum
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "f.txt")
    ...     with open(p, "wb") as f:
    ...         _ = f.write(b"hello")
    ...     md5sum(p)
    '5d41402abc4b2a76b9719d911017c592'
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

__all__ = ["md5sum", "check_md5", "download_file", "extract_tar"]

_CHUNK = 1 << 20
_USER_AGENT = "ember-data/1 (+https://github.com/)"


def md5sum(path: str | os.PathLike) -> str:
    """Hex MD5 digest of a file.

    Example:
        >>> import tempfile
        >>> from ember.data.datasets._download import md5sum
        >>> with tempfile.NamedTemporaryFile() as f:
        ...     md5sum(f.name)
        'd41d8cd98f00b204e9800998ecf8427e'
    """
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def check_md5(path: str | os.PathLike, md5: str | None) -> bool:
    """True if ``path`` exists and its MD5 is ``md5`` (any existing file when ``md5`` is None).

    Example:
        >>> from ember.data.datasets._download import check_md5
        >>> check_md5("/no/such/file", None)
        False
    """
    if not os.path.isfile(path):
        return False
    return md5 is None or md5sum(path) == md5.lower()


def _urlopen(url: str, timeout: float):
    """Open ``url`` (a seam for tests, which replace it to simulate the network)."""
    req = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - https/http only


def download_file(
    urls: str | Sequence[str],
    folder: str | os.PathLike,
    filename: str,
    md5: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``filename`` into ``folder`` from the first of ``urls`` that works.

    A file already present with the right checksum is not downloaded again. Raises
    ``RuntimeError`` naming the URLs and ``folder`` when every URL fails (no network), or when
    the downloaded bytes do not match ``md5``.

    Example:
        >>> import tempfile
        >>> from ember.data.datasets._download import download_file
        >>> with tempfile.TemporaryDirectory() as d:
        ...     try:
        ...         download_file("file:///no/such/file.gz", d, "file.gz")
        ...     except RuntimeError as e:
        ...         print(str(e).splitlines()[0])
        Could not download file.gz from file:///no/such/file.gz.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    folder = Path(folder)
    target = folder / filename
    if check_md5(target, md5):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    errors = []
    for url in urls:
        try:
            with _urlopen(url, timeout) as response, open(part, "wb") as out:
                shutil.copyfileobj(response, out, _CHUNK)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(f"{url}: {exc}")
            part.unlink(missing_ok=True)
            continue
        if md5 is not None and md5sum(part) != md5.lower():
            errors.append(f"{url}: checksum mismatch (expected MD5 {md5}, got {md5sum(part)})")
            part.unlink(missing_ok=True)
            continue
        os.replace(part, target)
        return target
    tried = "\n  ".join(errors)
    checksum = f" (MD5 {md5})" if md5 else ""
    raise RuntimeError(
        f"Could not download {filename} from {' or '.join(urls)}.\n  {tried}\n"
        f"If this machine has no network access, download {filename}{checksum} by hand from "
        f"{urls[0]} and put it in {folder}"
    )


def extract_tar(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    members: Sequence[str] | None = None,
) -> list[Path]:
    """Extract regular files of a (possibly gzipped) tar archive into ``dest``.

    Only plain files are written, and never outside ``dest`` (absolute paths, ``..`` and links
    are refused). ``members`` limits extraction to those archive paths.

    Example:
        >>> import io, os, tarfile, tempfile
        >>> from ember.data.datasets._download import extract_tar
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with tarfile.open(os.path.join(d, "a.tar"), "w") as tf:
        ...         info = tarfile.TarInfo("x/y.txt"); info.size = 2
        ...         tf.addfile(info, io.BytesIO(b"hi"))
        ...     [p.name for p in extract_tar(os.path.join(d, "a.tar"), os.path.join(d, "out"))]
        ['y.txt']
    """
    dest = Path(dest).resolve()
    wanted = None if members is None else set(members)
    written = []
    with tarfile.open(archive, "r:*") as tf:
        for info in tf:
            if wanted is not None and info.name not in wanted:
                continue
            if not info.isfile():
                continue
            path = (dest / info.name).resolve()
            if os.path.isabs(info.name) or dest not in path.parents:
                raise RuntimeError(f"refusing to extract {info.name!r} outside {dest}")
            path.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(info)
            with src, open(path, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
            written.append(path)
    return written
