"""``SummaryWriter``: PyTorch's ``torch.utils.tensorboard.SummaryWriter`` API for ember.

Writes real TensorBoard event files through the ``tensorboard`` package's own
``EventFileWriter`` and protos (install with ``pip install tensorboard``); nothing from it is
imported until a writer is created.

Example:
    >>> from ember.utils.tensorboard import SummaryWriter
    >>> with SummaryWriter("runs/demo") as writer:  # doctest: +SKIP
    ...     for step in range(3):
    ...         writer.add_scalar("loss/train", 1.0 / (step + 1), step)
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any

from . import summary as _summary

__all__ = ["SummaryWriter", "FileWriter"]


class FileWriter:
    """Write ``Event`` protos to one event file in ``log_dir`` (wraps ``EventFileWriter``).

    Example:
        >>> fw = FileWriter("runs/raw")  # doctest: +SKIP
    """

    def __init__(
        self, log_dir: str, max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = ""
    ) -> None:
        _summary.require_tensorboard()
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs, filename_suffix)

    def get_logdir(self) -> str:
        """The directory the event file is written to."""
        return self.event_writer.get_logdir()

    def add_event(self, event: Any, step: int | None = None, walltime: float | None = None) -> None:
        """Stamp ``event`` with a wall time (and step) and queue it for writing."""
        event.wall_time = time.time() if walltime is None else float(walltime)
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(
        self, summary: Any, global_step: int | None = None, walltime: float | None = None
    ) -> None:
        """Write a ``Summary`` proto as one event."""
        from tensorboard.compat.proto.event_pb2 import Event

        self.add_event(Event(summary=summary), global_step, walltime)

    def add_graph(self, graph_def: Any, walltime: float | None = None) -> None:
        """Write a ``GraphDef`` proto."""
        from tensorboard.compat.proto.event_pb2 import Event

        self.add_event(Event(graph_def=graph_def.SerializeToString()), None, walltime)

    def flush(self) -> None:
        """Write pending events to disk."""
        self.event_writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.event_writer.close()


class SummaryWriter:
    """Log scalars, histograms, images, text, hyperparameters and graphs for TensorBoard.

    Same constructor and method names as PyTorch's ``SummaryWriter``. ``log_dir`` defaults to
    ``runs/<date>_<time>_<hostname><comment>``. View the logs with
    ``tensorboard --logdir runs``.

    Args:
        log_dir: directory for the event files (created if needed).
        comment: suffix of the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: on resuming a crashed run, TensorBoard hides events with a step at or
            above this one written before (a ``SessionLog.START`` event at ``purge_step``).
        max_queue: events kept in memory before a forced flush.
        flush_secs: how often pending events are flushed to disk, in seconds.
        filename_suffix: suffix of the event file names.

    Raises:
        ImportError: if the ``tensorboard`` package is not installed (the message says
            ``pip install tensorboard``).

    Example:
        >>> import ember
        >>> from ember.utils.tensorboard import SummaryWriter
        >>> writer = SummaryWriter("runs/exp1")  # doctest: +SKIP
        >>> writer.add_scalar("loss", 0.25, global_step=10)  # doctest: +SKIP
        >>> writer.add_histogram("weights", ember.randn(100), 10)  # doctest: +SKIP
        >>> writer.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        _summary.require_tensorboard()
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] = {}
        self._get_file_writer()

    # -- plumbing ------------------------------------------------------------------------------
    def _get_file_writer(self) -> FileWriter:
        if self.file_writer is None:
            self.file_writer = FileWriter(
                self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix
            )
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                from tensorboard.compat.proto.event_pb2 import Event, SessionLog

                self.file_writer.add_event(
                    Event(session_log=SessionLog(status=SessionLog.START)), self.purge_step
                )
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        """The directory event files are written to."""
        return self.log_dir

    def _write(self, summary: Any, global_step: Any, walltime: float | None) -> None:
        step = None if global_step is None else int(_summary.to_numpy(global_step).reshape(()))
        self._get_file_writer().add_summary(summary, step, walltime)

    # -- data ----------------------------------------------------------------------------------
    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Log one number (a Python/NumPy number or a one-element ember tensor).

        ``new_style=True`` writes a scalars-plugin tensor instead of a ``simple_value``.

        Example:
            >>> writer.add_scalar("loss/train", 0.5, global_step=3)  # doctest: +SKIP
        """
        self._write(_summary.scalar(tag, scalar_value, new_style), global_step, walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Log several related scalars on one chart.

        Like PyTorch, each entry goes to its own run directory
        ``<log_dir>/<main_tag>_<tag>`` under the tag ``main_tag``.

        Example:
            >>> writer.add_scalars("loss", {"train": 0.5, "val": 0.7}, 3)  # doctest: +SKIP
        """
        walltime = time.time() if walltime is None else walltime
        base = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(base, main_tag.replace("/", "_") + "_" + tag)
            fw = self.all_writers.get(path)
            if fw is None:
                fw = FileWriter(path, self.max_queue, self.flush_secs, self.filename_suffix)
                self.all_writers[path] = fw
            step = None if global_step is None else int(global_step)
            fw.add_summary(_summary.scalar(main_tag, value), step, walltime)

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        bins: Any = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """Log a histogram of ``values`` (any shape; ``bins`` as in NumPy or ``"tensorflow"``).

        Example:
            >>> writer.add_histogram("fc.weight", model.fc.weight, epoch)  # doctest: +SKIP
        """
        self._write(_summary.histogram(tag, values, bins, max_bins), global_step, walltime)

    def add_histogram_raw(
        self,
        tag: str,
        min: float,
        max: float,
        num: int,
        sum: float,
        sum_squares: float,
        bucket_limits: Any,
        bucket_counts: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Log a histogram from precomputed statistics (PyTorch's ``add_histogram_raw``)."""
        _summary.require_tensorboard()
        from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary

        hist = HistogramProto(
            min=min,
            max=max,
            num=num,
            sum=sum,
            sum_squares=sum_squares,
            bucket_limit=[float(x) for x in _summary.to_numpy(bucket_limits).reshape(-1)],
            bucket=[float(x) for x in _summary.to_numpy(bucket_counts).reshape(-1)],
        )
        self._write(Summary(value=[Summary.Value(tag=tag, histo=hist)]), global_step, walltime)

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """Log an image: ``(C, H, W)`` by default (``dataformats="HWC"``, ``"HW"``... otherwise).

        Floating values are taken to lie in ``[0, 1]``; ``uint8`` values in ``[0, 255]``.

        Example:
            >>> writer.add_image("sample", ember.rand(3, 32, 32), step)  # doctest: +SKIP
        """
        self._write(_summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """Log a batch of images tiled into one grid (``(N, C, H, W)`` by default).

        Example:
            >>> writer.add_images("batch", ember.rand(16, 1, 28, 28), step)  # doctest: +SKIP
        """
        self._write(_summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Log (Markdown) text; stored under ``<tag>/text_summary`` like PyTorch does.

        Example:
            >>> writer.add_text("notes", "lr **0.1**", 0)  # doctest: +SKIP
        """
        self._write(_summary.text(tag, text_string), global_step, walltime)

    def add_hparams(
        self,
        hparam_dict: dict[str, Any],
        metric_dict: dict[str, Any],
        hparam_domain_discrete: dict[str, list] | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """Log one hyperparameter configuration and its final metrics (HParams dashboard).

        Like PyTorch, the session goes to a sub-run ``<log_dir>/<run_name>`` (default: the
        current time) and every metric is also written there as a scalar.

        Example:
            >>> writer.add_hparams({"lr": 0.1, "bsize": 32}, {"hparam/accuracy": 0.9})  # doctest: +SKIP
        """
        exp, ssi, sei = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        run_name = run_name or str(time.time())
        path = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(path, max_queue=self.max_queue, flush_secs=self.flush_secs) as w:
            step = None if global_step is None else int(global_step)
            for s in (exp, ssi, sei):
                w._get_file_writer().add_summary(s, step)
            for k, v in metric_dict.items():
                w.add_scalar(k, v, global_step)

    def add_graph(
        self,
        model: Any,
        input_to_model: Any = None,
        verbose: bool = False,
        use_strict_trace: bool = True,
    ) -> None:
        """Log the module graph of an ``ember.nn.Module`` (Graphs dashboard).

        With ``input_to_model`` (a tensor or a tuple of tensors) the model is run once in eval
        mode under ``no_grad``, and every leaf module becomes a node connected by the tensors
        that flow between modules (with output shapes); functional operations between modules
        are not shown. Without it, the nodes show the module hierarchy only.

        Example:
            >>> writer.add_graph(model, ember.zeros(1, 4))  # doctest: +SKIP
        """
        from .graph import module_graph

        self._get_file_writer().add_graph(module_graph(model, input_to_model))

    # -- lifecycle -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every pending event to disk."""
        for fw in self.all_writers.values():
            fw.flush()

    def close(self) -> None:
        """Flush and close every event file (the writer reopens a file if used again)."""
        for fw in self.all_writers.values():
            fw.flush()
            fw.close()
        self.all_writers = {}
        self.file_writer = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:  # best effort, like PyTorch: don't lose queued events
        try:
            if getattr(self, "all_writers", None):
                self.close()
        except Exception:
            pass
