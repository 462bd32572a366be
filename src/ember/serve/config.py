"""Server and per-model settings: what the CLI flags and the ``--model-config`` JSON file set.

The model config file maps model names to settings; every field is optional and overrides
the corresponding flag for that model (``base_path`` is relative to the file's folder)::

    {"models": {"mnist": {"base_path": "models/mnist",
                          "version_policy": "specific", "versions": [1, 2],
                          "version_labels": {"stable": 1, "canary": 2},
                          "max_batch_size": 16, "batch_timeout_micros": 500,
                          "class_labels": ["zero", "one"]}}}

Example:
    >>> from ember.serve.config import ModelConfig, parse_model_flag
    >>> parse_model_flag("mnist=/srv/models/mnist")
    ('mnist', '/srv/models/mnist')
    >>> ModelConfig.from_json("m", {"version_policy": "all", "max_batch": 4}, "cfg.json")
    Traceback (most recent call last):
    ...
    ValueError: cfg.json: models.m: unknown field 'max_batch' (known: base_path, ...)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "ModelConfig",
    "ServeConfig",
    "parse_model_flag",
    "load_model_config_file",
    "VERSION_POLICIES",
]

VERSION_POLICIES = ("latest", "all", "specific")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def parse_model_flag(text: str) -> tuple[str, str]:
    """Split ``NAME=PATH`` (the ``--model`` flag); raises ValueError naming the problem."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise ValueError(f"--model expects NAME=PATH, got {text!r}")
    if not _NAME.match(name):
        raise ValueError(f"--model {text!r}: model names may use letters, digits, '_', '.', '-'")
    return name, path


@dataclass(frozen=True)
class ModelConfig:
    """How one model is served. ``None`` batching fields mean "use the server default"."""

    name: str
    base_path: Path | None = None
    version_policy: str = "latest"
    num_versions: int = 1
    versions: tuple[int, ...] = ()
    version_labels: dict[str, int] = field(default_factory=dict)
    max_batch_size: int | None = None
    batch_timeout_micros: int | None = None
    class_labels: tuple[str, ...] | None = None
    explicit: frozenset = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self):
        where = f"model {self.name!r}"
        if self.version_policy not in VERSION_POLICIES:
            raise ValueError(
                f"{where}: version_policy must be one of {', '.join(VERSION_POLICIES)}, "
                f"got {self.version_policy!r}"
            )
        if self.version_policy == "specific" and not self.versions:
            raise ValueError(f"{where}: version_policy 'specific' needs a list of versions")
        if self.num_versions < 1:
            raise ValueError(f"{where}: num_versions must be >= 1, got {self.num_versions}")
        for label, version in self.version_labels.items():
            if not isinstance(version, int) or isinstance(version, bool):
                raise ValueError(f"{where}: version label {label!r} must map to an integer")

    _FIELDS = (
        "base_path",
        "version_policy",
        "num_versions",
        "versions",
        "version_labels",
        "max_batch_size",
        "batch_timeout_micros",
        "class_labels",
    )

    @classmethod
    def from_json(cls, name: str, entry: Any, source: str, root: Path | None = None):
        """Build from one ``models.<name>`` entry of a config file (``source`` names the file)."""
        where = f"{source}: models.{name}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected an object, got {type(entry).__name__}")
        unknown = sorted(set(entry) - set(cls._FIELDS))
        if unknown:
            raise ValueError(
                f"{where}: unknown field {unknown[0]!r} (known: {', '.join(cls._FIELDS)})"
            )
        kw: dict[str, Any] = {"name": name}
        for key in ("num_versions", "max_batch_size", "batch_timeout_micros"):
            if key in entry:
                value = entry[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{where}.{key}: expected a non-negative integer")
                kw[key] = value
        if "version_policy" in entry:
            kw["version_policy"] = entry["version_policy"]
        if "versions" in entry:
            versions = entry["versions"]
            if not isinstance(versions, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in versions
            ):
                raise ValueError(f"{where}.versions: expected a list of integers")
            kw["versions"] = tuple(versions)
        if "version_labels" in entry:
            if not isinstance(entry["version_labels"], dict):
                raise ValueError(f"{where}.version_labels: expected an object label -> version")
            kw["version_labels"] = dict(entry["version_labels"])
        if "class_labels" in entry:
            labels = entry["class_labels"]
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise ValueError(f"{where}.class_labels: expected a list of strings")
            kw["class_labels"] = tuple(labels)
        if "base_path" in entry:
            if not isinstance(entry["base_path"], str):
                raise ValueError(f"{where}.base_path: expected a string")
            path = Path(entry["base_path"]).expanduser()
            kw["base_path"] = path if path.is_absolute() or root is None else root / path
        kw["explicit"] = frozenset(entry)
        try:
            return cls(**kw)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    def merged(self, override: ModelConfig | None) -> ModelConfig:
        """These settings with every field ``override`` set explicitly taking precedence."""
        if override is None:
            return self
        changes = {key: getattr(override, key) for key in override.explicit}
        return replace(self, **changes, explicit=self.explicit | override.explicit)


def load_model_config_file(path: str | Path) -> dict[str, ModelConfig]:
    """Read a ``--model-config`` JSON file into ``{name: ModelConfig}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the model config file ({exc.strerror})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) - {"models"}:
        raise ValueError(f'{path}: expected {{"models": {{NAME: {{...}}}}}} at the top level')
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise ValueError(f"{path}: models: expected an object NAME -> settings")
    for name in models:
        if not _NAME.match(name):
            raise ValueError(f"{path}: models: invalid model name {name!r}")
    return {
        name: ModelConfig.from_json(name, entry, str(path), root=path.parent)
        for name, entry in models.items()
    }


@dataclass
class ServeConfig:
    """Everything ``ember serve`` needs; the CLI builds one from its flags."""

    models: list[ModelConfig] = field(default_factory=list)
    model_base_path: Path | None = None
    default_policy: ModelConfig = field(default_factory=lambda: ModelConfig(name="*"))
    overrides: dict[str, ModelConfig] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 8501
    workers: int = 1
    threads: int = 0
    intra_op_threads: int | None = None
    poll_interval: float = 1.0
    max_batch_size: int = 32
    batch_timeout_micros: int = 0
    max_body_bytes: int = 64 * 1024 * 1024
    access_log: bool = True
    graceful_timeout: float = 30.0

    def model_settings(self, name: str, base_path: str | Path | None) -> ModelConfig:
        """The full settings of model ``name`` found at ``base_path`` (defaults + overrides)."""
        path = Path(base_path) if base_path is not None else None
        base = replace(self.default_policy, name=name, base_path=path)
        return base.merged(self.overrides.get(name))
