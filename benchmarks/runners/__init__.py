"""One runner per framework; each is run as ``python -m benchmarks.runners.<name>_runner`` in a
process of its own (see :func:`benchmarks.protocol.child_main` for the arguments)."""
