"""PyTorch runner: eager by default, ``torch.compile`` (inductor) with ``--compile``.

The model code is the very same as ember's (:func:`benchmarks.workloads.build_torchlike`).
"""

from __future__ import annotations

from benchmarks import protocol, workloads


def build(args, arrays):
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:  # only settable before any parallel work
        pass
    compile_fn = torch.compile if args.compile else None
    step, value = workloads.build_torchlike(torch, args.workload, arrays, compile_fn=compile_fn)
    return step, value, None, torch.__version__


if __name__ == "__main__":
    protocol.child_main("torch", build)
