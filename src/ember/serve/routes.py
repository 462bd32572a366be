"""URL routing for both protocols: a path + method -> (protocol, handler, route parameters).

TF Serving puts the verb after a colon (``/v1/models/mnist/versions/2:predict``), which
ordinary path templates do not express, so routes are anchored regular expressions.

Example:
    >>> from ember.serve.routes import match
    >>> protocol, handler, params = match("POST", "/v1/models/mnist/labels/stable:predict")
    >>> protocol, handler.__name__, params
    ('tfserving', 'predict', {'name': 'mnist', 'label': 'stable'})
    >>> match("GET", "/v2/models/mnist/versions/3/ready")[2]
    {'name': 'mnist', 'version': '3'}
    >>> match("DELETE", "/v2/health/live")
    Traceback (most recent call last):
    ...
    ember.serve.errors.MethodNotAllowedError: DELETE is not allowed on /v2/health/live (use GET)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import kserve, tfserving
from .errors import MethodNotAllowedError, NotFoundError

__all__ = ["match", "ROUTES"]

_NAME = r"(?P<name>[^/]+?)"
_TF_NAME = r"(?P<name>[^/:]+)"
_TF_WHICH = r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
_V2_WHICH = r"(?:/versions/(?P<version>[^/]+))?"


ROUTES: list[tuple[re.Pattern, str, dict[str, Callable]]] = [
    (re.compile(p), protocol, handlers)
    for p, protocol, handlers in [
        (rf"^/v1/models/{_TF_NAME}{_TF_WHICH}$", "tfserving", {"GET": tfserving.model_status}),
        (
            rf"^/v1/models/{_TF_NAME}{_TF_WHICH}/metadata$",
            "tfserving",
            {"GET": tfserving.model_metadata},
        ),
        (rf"^/v1/models/{_TF_NAME}{_TF_WHICH}:predict$", "tfserving", {"POST": tfserving.predict}),
        (
            rf"^/v1/models/{_TF_NAME}{_TF_WHICH}:classify$",
            "tfserving",
            {"POST": tfserving.classify},
        ),
        (rf"^/v1/models/{_TF_NAME}{_TF_WHICH}:regress$", "tfserving", {"POST": tfserving.regress}),
        (r"^/v2/health/live$", "kserve", {"GET": kserve.health_live}),
        (r"^/v2/health/ready$", "kserve", {"GET": kserve.health_ready}),
        (r"^/v2/?$", "kserve", {"GET": kserve.server_metadata}),
        (r"^/v2/repository/index$", "kserve", {"POST": kserve.repository_index}),
        (rf"^/v2/models/{_NAME}{_V2_WHICH}/ready$", "kserve", {"GET": kserve.model_ready}),
        (rf"^/v2/models/{_NAME}{_V2_WHICH}/config$", "kserve", {"GET": kserve.model_config}),
        (rf"^/v2/models/{_NAME}{_V2_WHICH}/infer$", "kserve", {"POST": kserve.infer}),
        (rf"^/v2/models/{_NAME}{_V2_WHICH}$", "kserve", {"GET": kserve.model_metadata}),
    ]
]


def match(method: str, path: str) -> tuple[str, Callable, dict[str, str]]:
    """The protocol, handler and parameters for a request; raises NotFound/MethodNotAllowed."""
    for pattern, protocol, handlers in ROUTES:
        m = pattern.match(path)
        if m is None:
            continue
        handler = handlers.get(method)
        if handler is None and method == "HEAD":
            handler = handlers.get("GET")
        if handler is None:
            allowed = ", ".join(handlers)
            raise MethodNotAllowedError(f"{method} is not allowed on {path} (use {allowed})")
        params = {k: v for k, v in m.groupdict().items() if v is not None}
        return protocol, handler, params
    raise NotFoundError(f"no route for {method} {path}")
