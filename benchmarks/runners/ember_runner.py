"""ember runner: eager by default, ``ember.compile`` with ``--compile``.

With ``--compile`` the model is wrapped exactly as the torch runner wraps it for
``torch.compile``; the loss and the optimizer step stay outside the compiled graph.
"""

from __future__ import annotations

from benchmarks import protocol, workloads


def build(args, arrays):
    import ember

    ember.set_num_threads(args.threads)
    ember.set_num_interop_threads(args.threads)
    compile_fn = ember.compile if args.compile else None
    step, value = workloads.build_torchlike(ember, args.workload, arrays, compile_fn=compile_fn)
    return step, value, None, ember.__version__


if __name__ == "__main__":
    protocol.child_main("ember", build)
