"""Model folders on disk and which of their versions a version policy serves.

A model folder holds bundles in integer-named subfolders (``mnist/1/``, ``mnist/2/``), the
TF Serving layout. A folder with no integer subfolders is itself a bundle, served as version 1.
Other entries (``tmp``, ``3.partial``) are ignored, so a version can be written under a
temporary name and renamed into place.

Example:
    >>> from ember.serve.versions import select_versions
    >>> select_versions([1, 2, 5], "latest", num_versions=2)
    [2, 5]
    >>> select_versions([1, 2, 5], "specific", versions=(1, 7))
    [1]
    >>> select_versions([1, 2, 5], "all")
    [1, 2, 5]
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["scan_versions", "select_versions", "folder_fingerprint", "scan_model_folders"]


def scan_versions(model_path: Path) -> dict[int, Path]:
    """``{version: folder}`` for a model folder (``{1: model_path}`` if it is a bare bundle)."""
    try:
        entries = list(os.scandir(model_path))
    except OSError:
        return {}
    versions = {}
    for entry in entries:
        if entry.name.isdigit() and entry.is_dir():
            versions[int(entry.name)] = Path(entry.path)
    if versions:
        return versions
    return {1: Path(model_path)} if any(e.is_file() for e in entries) else {}


def scan_model_folders(base_path: Path) -> dict[str, Path]:
    """``{name: folder}`` for every model folder under ``--model-base-path``."""
    try:
        return {
            e.name: Path(e.path)
            for e in os.scandir(base_path)
            if e.is_dir() and not e.name.startswith(".")
        }
    except OSError:
        return {}


def select_versions(
    available: list[int],
    policy: str,
    num_versions: int = 1,
    versions: tuple[int, ...] = (),
) -> list[int]:
    """The versions to serve, ascending: ``latest`` N, ``all``, or the ``specific`` ones present."""
    ordered = sorted(available)
    if policy == "all":
        return ordered
    if policy == "specific":
        return [v for v in ordered if v in set(versions)]
    if policy == "latest":
        return ordered[-num_versions:]
    raise ValueError(f"unknown version policy {policy!r}")


def folder_fingerprint(path: Path) -> tuple:
    """Names, sizes and modification times of a folder's files (two levels): changes when a
    bundle is being written, so a failed load is retried once the folder changes."""
    items = []
    try:
        for entry in os.scandir(path):
            stat = entry.stat()
            items.append((entry.name, stat.st_size, stat.st_mtime_ns))
            if entry.is_dir():
                for sub in os.scandir(entry.path):
                    sub_stat = sub.stat()
                    items.append(
                        (entry.name + "/" + sub.name, sub_stat.st_size, sub_stat.st_mtime_ns)
                    )
    except OSError:
        pass
    return tuple(sorted(items))
