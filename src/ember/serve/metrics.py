"""Prometheus metrics in the text exposition format (no client library needed).

:class:`ServeMetrics` holds what the server records: requests by model/version/protocol/code,
request latency, model (inference) time, batch sizes and queue time; ``render()`` returns the
text ``/metrics`` and ``/monitoring/prometheus/metrics`` serve.

Example:
    >>> from ember.serve.metrics import Counter, Histogram, render
    >>> c = Counter("demo_requests_total", "Requests.", ("model",))
    >>> c.inc(("mnist",)); c.inc(("mnist",))
    >>> h = Histogram("demo_batch_size", "Rows per call.", ("model",), buckets=(1, 4))
    >>> h.observe(("mnist",), 3)
    >>> print(render([c, h]))
    # HELP demo_requests_total Requests.
    # TYPE demo_requests_total counter
    demo_requests_total{model="mnist"} 2
    # HELP demo_batch_size Rows per call.
    # TYPE demo_batch_size histogram
    demo_batch_size_bucket{model="mnist",le="1"} 0
    demo_batch_size_bucket{model="mnist",le="4"} 1
    demo_batch_size_bucket{model="mnist",le="+Inf"} 1
    demo_batch_size_sum{model="mnist"} 3
    demo_batch_size_count{model="mnist"} 1
    <BLANKLINE>
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable

__all__ = ["Counter", "Gauge", "Histogram", "ServeMetrics", "render", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: tuple, values: tuple, extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labelnames: tuple = ()):
        self.name, self.help, self.labelnames = name, help, tuple(labelnames)
        self._lock = threading.Lock()

    def _check(self, labels: tuple) -> tuple:
        labels = tuple(map(str, labels))
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {labels}")
        return labels

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    """A monotonically increasing count per label combination."""

    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: tuple = ()):
        super().__init__(name, help, labelnames)
        self.values: dict[tuple, float] = {}

    def inc(self, labels: tuple = (), amount: float = 1) -> None:
        labels = self._check(labels)
        with self._lock:
            self.values[labels] = self.values.get(labels, 0) + amount

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self.values.items())
        return [f"{self.name}{_labels(self.labelnames, k)} {_number(v)}" for k, v in items]


class Gauge(_Metric):
    """A value read at scrape time from ``collect() -> {labels: value}``."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labelnames: tuple, collect: Callable[[], dict]):
        super().__init__(name, help, labelnames)
        self.collect = collect

    def lines(self) -> list[str]:
        items = sorted(self.collect().items())
        return [f"{self.name}{_labels(self.labelnames, k)} {_number(v)}" for k, v in items]


class Histogram(_Metric):
    """Cumulative buckets, sum and count per label combination."""

    kind = "histogram"

    def __init__(self, name: str, help: str, labelnames: tuple = (), buckets=LATENCY_BUCKETS):
        super().__init__(name, help, labelnames)
        self.buckets = tuple(sorted(buckets))
        self.values: dict[tuple, list] = {}  # labels -> [bucket counts..., sum, count]

    def observe(self, labels: tuple, value: float) -> None:
        labels = self._check(labels)
        index = bisect.bisect_left(self.buckets, value)
        with self._lock:
            row = self.values.get(labels)
            if row is None:
                row = self.values[labels] = [0] * (len(self.buckets) + 2)
            if index < len(self.buckets):
                row[index] += 1
            row[-2] += value
            row[-1] += 1

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v)) for k, v in self.values.items())
        out = []
        for labels, row in items:
            running = 0
            for bound, count in zip(self.buckets, row):
                running += count
                le = f'le="{_number(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.labelnames, labels, le)} {running}")
            inf = _labels(self.labelnames, labels, 'le="+Inf"')
            out.append(f"{self.name}_bucket{inf} {row[-1]}")
            out.append(f"{self.name}_sum{_labels(self.labelnames, labels)} {_number(row[-2])}")
            out.append(f"{self.name}_count{_labels(self.labelnames, labels)} {row[-1]}")
        return out


def render(metrics: Iterable[_Metric]) -> str:
    """The text exposition of ``metrics`` (ends with a newline)."""
    lines: list[str] = []
    for metric in metrics:
        lines += metric.header() + metric.lines()
    return "\n".join(lines) + "\n"


class ServeMetrics:
    """The server's metrics; ``model_states()`` and ``in_flight()`` (from the repository)
    feed gauges."""

    def __init__(
        self,
        model_states: Callable[[], dict] | None = None,
        in_flight: Callable[[], dict] | None = None,
    ):
        mv = ("model", "version")
        self.requests = Counter(
            "ember_serve_requests_total",
            "Requests answered, by model, version, protocol and HTTP status code.",
            ("model", "version", "protocol", "code"),
        )
        self.request_seconds = Histogram(
            "ember_serve_request_duration_seconds",
            "Time from the request's arrival to its answer.",
            ("model", "version", "protocol"),
        )
        self.inference_seconds = Histogram(
            "ember_serve_inference_duration_seconds", "Time spent in one model call.", mv
        )
        self.queue_seconds = Histogram(
            "ember_serve_queue_duration_seconds",
            "Time a request waited in the batching queue.",
            mv,
        )
        self.batch_size = Histogram(
            "ember_serve_batch_size", "Rows per model call.", mv, buckets=BATCH_BUCKETS
        )
        self.batch_requests = Histogram(
            "ember_serve_batch_requests",
            "Requests merged into one model call.",
            mv,
            buckets=BATCH_BUCKETS,
        )
        self.all: list[_Metric] = [
            self.requests,
            self.request_seconds,
            self.inference_seconds,
            self.queue_seconds,
            self.batch_size,
            self.batch_requests,
        ]
        if model_states is not None:
            self.all.append(
                Gauge(
                    "ember_serve_model_version_state",
                    "1 for each model version's current state (AVAILABLE, LOADING, END, ...).",
                    ("model", "version", "state"),
                    model_states,
                )
            )
        if in_flight is not None:
            self.all.append(
                Gauge(
                    "ember_serve_requests_in_flight",
                    "Requests holding a model version now (queued or running).",
                    ("model", "version"),
                    in_flight,
                )
            )

    def observe_batch(self, model: str, version: int, stats) -> None:
        """Record one model call (a :class:`ember.serve.batching.BatchStats`)."""
        labels = (model, str(version))
        self.batch_size.observe(labels, stats.rows)
        self.batch_requests.observe(labels, stats.requests)
        self.inference_seconds.observe(labels, stats.run_seconds)
        for waited in stats.queue_seconds:
            self.queue_seconds.observe(labels, waited)

    def render(self) -> str:
        """The exposition text of every metric."""
        return render(self.all)
