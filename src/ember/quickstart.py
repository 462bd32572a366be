"""``ember quickstart``: train a small CNN on the Digits data shipped with ember.

It uses the Keras-style API (``ember.Model`` + ``fit``) with a progress bar, prints the test
accuracy, and writes to the output folder (``./ember-quickstart`` by default):

* ``weights.safetensors`` — the trained ``state_dict`` (``ember.save``; loads with ``ember.load``);
* ``training_curves.png`` — loss and accuracy per epoch (needs ``matplotlib``);
* ``logs/`` — TensorBoard event files (needs ``tensorboard``);
* ``model_bundle/`` — the trained model as a bundle (``ember.export.load_bundle``; serve it
  with ``ember serve``);
* ``model.onnx`` — the model as ONNX (where ``ember.onnx.export`` is available).

The bundle and ONNX file are written and checked by the code behind ``ember export``: the
quickstart prints each one's maximum error against eager ember on random inputs.
A missing optional package skips only its artifact, with a note saying what to install.

Example:
    >>> from ember.quickstart import DigitsCNN
    >>> import ember
    >>> DigitsCNN()(ember.zeros(2, 1, 8, 8)).shape
    ember.Size([2, 10])
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ember
from ember import nn

__all__ = ["DigitsCNN", "run_quickstart", "export_artifacts"]


class DigitsCNN(ember.Model):
    """Two 3x3 convolutions, a max-pool and two linear layers for 1x8x8 digit images."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, 64),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(64, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def _stack(dataset) -> tuple:
    import numpy as np

    images = np.asarray(dataset.data, dtype=np.float32)[:, None]
    labels = np.asarray(dataset.targets, dtype=np.int64)
    return images, labels


def run_quickstart(
    out: str | Path = "ember-quickstart", epochs: int = 12, seed: int = 0, verbose: int = 1
) -> dict:
    """Train, evaluate and save; returns a dict with the accuracy, time and written paths."""
    from ember.callbacks import TensorBoard
    from ember.data.datasets import Digits

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ember.manual_seed(seed)
    x_train, y_train = _stack(Digits(train=True))
    x_test, y_test = _stack(Digits(train=False))

    model = DigitsCNN()
    model.compile(optimizer="adam", lr=3e-3, loss="cross_entropy", metrics=["accuracy"])
    callbacks, notes = [], []
    try:
        import tensorboard  # noqa: F401 - only checks that the optional package is there

        callbacks.append(TensorBoard(log_dir=str(out / "logs")))
    except ImportError:
        notes.append("TensorBoard logs skipped: pip install tensorboard")
    start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=32,
        validation_data=(x_test, y_test),
        callbacks=callbacks,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    results = model.evaluate(x_test, y_test, return_dict=True, verbose=0)
    written = {}
    weights = out / "weights.safetensors"
    ember.save(model.state_dict(), weights)
    written["weights"] = str(weights)
    try:
        plot = out / "training_curves.png"
        history.plot(plot)
        written["plot"] = str(plot)
    except ImportError:
        notes.append("training-curve PNG skipped: pip install matplotlib")
    if callbacks:
        written["tensorboard"] = str(out / "logs")
    exports = export_artifacts(model, x_test[:1], out, notes)
    for result in exports:
        if result.ok:
            written[result.target] = str(result.path)
    return {
        "test_accuracy": float(results["accuracy"]),
        "test_loss": float(results["loss"]),
        "train_seconds": seconds,
        "written": written,
        "exports": exports,
        "notes": notes,
    }


def export_artifacts(model, example, out: str | Path, notes: list) -> list:
    """Write ``out/model_bundle/`` and ``out/model.onnx`` the way ``ember export`` does.

    ``example`` is one input batch (a NumPy array) used for tracing; the batch axis stays
    dynamic. Returns the :class:`~ember.export.targets.TargetResult` of each target (errors
    against eager ember on random inputs); a missing ONNX exporter adds a line to ``notes``.
    """
    out = Path(out)
    from ember.export.onnx_target import OnnxUnavailableError, onnx_exporter
    from ember.export.targets import export_module

    targets = {"bundle": out / "model_bundle"}
    try:
        onnx_exporter()
        targets["onnx"] = out / "model.onnx"
    except OnnxUnavailableError as exc:
        notes.append(f"model.onnx skipped: {exc}")
    return export_module(model, (example,), targets, input_names=["image"], output_names=["logits"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        default="ember-quickstart",
        help="folder for the weights, plot, logs, bundle and ONNX file (default: ./ember-quickstart)",
    )
    parser.add_argument("--epochs", type=int, default=12, help="training epochs (default: 12)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from ember.export.targets import format_results

    if args.epochs < 1:
        print("ember quickstart: --epochs must be at least 1")
        return 2
    print(f"ember quickstart: training a small CNN on the 8x8 Digits data ({args.epochs} epochs)")
    res = run_quickstart(
        args.out, epochs=args.epochs, seed=args.seed, verbose=0 if args.quiet else 1
    )
    print(
        f"test accuracy: {res['test_accuracy']:.4f}  (test loss {res['test_loss']:.4f}, "
        f"trained in {res['train_seconds']:.1f} s)"
    )
    for what, path in res["written"].items():
        print(f"wrote {what}: {path}")
    print("exported models against eager ember:")
    print(format_results(res["exports"]))
    for note in res["notes"]:
        print(note)
    failed = [r for r in res["exports"] if not r.ok]
    for r in failed:
        print(f"ember quickstart: FAILED: exporting {r.target} ({r.path})")
    return 1 if failed else 0
