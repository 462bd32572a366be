"""ember runner: eager execution (ember has no compiled training path yet)."""

from __future__ import annotations

from benchmarks import protocol, workloads


def build(args, arrays):
    import ember

    ember.set_num_threads(args.threads)
    ember.set_num_interop_threads(args.threads)
    step, value = workloads.build_torchlike(ember, args.workload, arrays)
    return step, value, None, ember.__version__


if __name__ == "__main__":
    protocol.child_main("ember", build)
