"""ember's benchmark suite: ember against PyTorch, JAX, TensorFlow and tinygrad on CPU.

Run ``python -m benchmarks --help``; ``benchmarks/README.md`` and ``docs/benchmarks.md``
describe the workloads, the protocol and how to install each peer in its own environment.
This package imports only the standard library (and NumPy lazily), so every framework's
Python can import its runner from it.
"""
