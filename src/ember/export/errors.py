"""The one error a broken model bundle raises.

Example:
    >>> from ember.export import BundleError
    >>> issubclass(BundleError, ValueError)
    True
"""

from __future__ import annotations

__all__ = ["BundleError"]


class BundleError(ValueError):
    """A bundle directory is missing, malformed, truncated, tampered with or inconsistent.

    The message names the file (and the field inside it) that is wrong.
    """
