"""DataLoader with worker processes: equality with num_workers=0, seeding, errors, shutdown."""

import multiprocessing
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import ember
from ember.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="worker tests use fork"
)


class Squares(Dataset):
    def __init__(self, n=23):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(3, i * i, np.float32), "i": i, "name": f"s{i}"}


class WhoAmI(Dataset):
    """Each sample says which process and worker made it, and with which seed."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        tag = getattr(info.dataset, "tag", "")
        return os.getpid(), info.id, info.num_workers, info.seed, tag, float(ember.rand(1))


class Failing(Dataset):
    def __init__(self, exc):
        self.exc = exc

    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 6:
            raise self.exc
        return i


class Sleepy(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(5)
        return i


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


class Unpicklable(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return i

    @staticmethod
    def collate(batch):
        return lambda: batch  # a lambda cannot be pickled back to the main process


class Sharded(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


def _set_tag(worker_id):
    get_worker_info().dataset.tag = f"init{worker_id}"


def batches_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        np.testing.assert_array_equal(x["x"].numpy(), y["x"].numpy())
        np.testing.assert_array_equal(x["i"].numpy(), y["i"].numpy())
        assert x["name"] == y["name"]


@pytest.mark.parametrize("kwargs", [{"batch_size": 4}, {"batch_size": 5, "drop_last": True}])
def test_workers_equal_main_process(kwargs):
    ds = Squares()
    single = list(DataLoader(ds, num_workers=0, **kwargs))
    multi = list(DataLoader(ds, num_workers=2, **kwargs))
    batches_equal(single, multi)
    assert len(DataLoader(ds, num_workers=2, **kwargs)) == len(single)


def test_workers_with_shuffle_and_generator_match_main_process():
    ds = TensorDataset(ember.arange(30), ember.arange(30) * 2)

    def run(workers, seed):
        g = ember.Generator().manual_seed(seed)
        loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g, num_workers=workers)
        return [b[0].tolist() for b in loader]

    assert run(0, 11) == run(2, 11) == run(3, 11)
    assert run(2, 11) != run(2, 12)


def test_worker_info_seeds_and_init_fn():
    g = ember.Generator().manual_seed(0)
    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, worker_init_fn=_set_tag, generator=g)
    rows = [r for b in loader for r in zip(*[f.tolist() if hasattr(f, "tolist") else f for f in b])]
    by_worker = {}
    for pid, wid, nw, seed, tag, _ in rows:
        assert nw == 2 and tag == f"init{wid}"
        assert pid != os.getpid()
        by_worker.setdefault(wid, set()).add(seed)
    assert sorted(by_worker) == [0, 1]
    (s0,), (s1,) = by_worker[0], by_worker[1]
    assert s1 == s0 + 1  # seed = base_seed + worker_id, as in torch
    # the same generator seed gives the same worker seeds and the same random draws
    g2 = ember.Generator().manual_seed(0)
    loader2 = DataLoader(WhoAmI(), batch_size=2, num_workers=2, generator=g2)
    rows2 = [r for b in loader2 for r in zip(*[f.tolist() for f in b if hasattr(f, "tolist")])]
    assert [r[-1] for r in rows] == [r[-1] for r in rows2]
    assert len({r[-1] for r in rows}) == len(rows)  # workers do not repeat each other's draws


def test_get_worker_info_is_none_in_main_process():
    assert get_worker_info() is None


def test_iterable_dataset_sharded_across_workers():
    loader = DataLoader(Sharded(10), batch_size=3, num_workers=2)
    # torch's order: batches alternate between workers, each worker's stream in order
    assert [b.tolist() for b in loader] == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
    loader = DataLoader(Sharded(10), batch_size=None, num_workers=2)
    assert sorted(x.item() if hasattr(x, "item") else x for x in loader) == list(range(10))
    loader = DataLoader(Sharded(10), batch_size=3, num_workers=2, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 2, 4], [1, 3, 5]]


def test_worker_exception_is_reraised_with_worker_id_and_traceback():
    loader = DataLoader(Failing(ValueError("bad sample 6")), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 1" in msg
    assert "Original Traceback (most recent call last)" in msg
    assert "bad sample 6" in msg and "__getitem__" in msg


def test_worker_key_error_and_unrebuildable_exception():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process"):
        list(DataLoader(Failing(KeyError("k")), batch_size=2, num_workers=2))

    class Local(Exception):  # not importable: comes back as RuntimeError with the text
        pass

    with pytest.raises(RuntimeError, match="Caught Local in DataLoader worker process"):
        list(DataLoader(Failing(Local("x")), batch_size=2, num_workers=2))


def test_unpicklable_batch_is_an_error_not_a_hang():
    loader = DataLoader(Unpicklable(), batch_size=2, num_workers=1, collate_fn=Unpicklable.collate)
    with pytest.raises(Exception, match="worker process 0 \\(pickling\\)"):
        list(loader)


def test_timeout():
    loader = DataLoader(Sleepy(), batch_size=1, num_workers=1, timeout=0.3)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        next(iter(loader))
    assert time.monotonic() - t0 < 3


def test_dead_worker_is_reported():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+, exit code 3\) exited"):
        list(DataLoader(Dies(), batch_size=1, num_workers=1))


def test_workers_shut_down_after_exhaustion_and_early_stop():
    loader = DataLoader(Squares(), batch_size=2, num_workers=2)
    it = iter(loader)
    procs = list(it._workers)
    list(it)
    assert not any(p.is_alive() for p in procs)
    it = iter(loader)
    procs = list(it._workers)
    next(it)  # stop early: dropping the iterator must stop its workers
    del it
    deadline = time.monotonic() + 5
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(p.is_alive() for p in procs)


def test_persistent_workers_are_reused():
    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, persistent_workers=True)

    def pids():
        return {p for b in loader for p in b[0].tolist()}

    first = pids()
    it = iter(loader)
    next(it)  # an interrupted epoch must not leak into the next one
    second = pids()
    assert first == second and len(first) == 2
    assert all(p.is_alive() for p in loader._iterator._workers)
    # batches go round-robin to the workers, from worker 0 again each epoch
    assert [b.tolist() for b in (x[1] for x in loader)] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    procs = list(loader._iterator._workers)
    loader._iterator._shutdown_workers()
    assert not any(p.is_alive() for p in procs)
    # without persistence every epoch starts new processes
    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2)
    assert {p for b in loader for p in b[0].tolist()}.isdisjoint(
        {p for b in loader for p in b[0].tolist()}
    )


def test_persistent_workers_with_iterable_dataset_restart_each_epoch():
    loader = DataLoader(Sharded(6), batch_size=2, num_workers=2, persistent_workers=True)
    first = [b.tolist() for b in loader]
    assert first == [[0, 2], [1, 3], [4], [5]]
    it = iter(loader)
    next(it)
    assert [b.tolist() for b in loader] == first


def test_spawn_context_works():
    ds = TensorDataset(ember.arange(6), ember.arange(6) * 3)
    loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    assert [b[1].tolist() for b in loader] == [[0, 3, 6, 9], [12, 15]]


def _failing_init(worker_id):
    raise RuntimeError(f"init failed in {worker_id}")


def test_worker_init_fn_error_is_reported():
    loader = DataLoader(Squares(), batch_size=2, num_workers=2, worker_init_fn=_failing_init)
    with pytest.raises(RuntimeError, match="init failed in 0"):
        list(loader)


def test_interpreter_exits_cleanly_with_live_workers():
    script = (
        "import ember\n"
        "from ember.data import DataLoader, TensorDataset\n"
        "ds = TensorDataset(ember.arange(100), ember.arange(100))\n"
        "loader = DataLoader(ds, batch_size=2, num_workers=2, persistent_workers=True)\n"
        "for i, b in enumerate(loader):\n"
        "    if i == 3:\n"
        "        break\n"
        "it = iter(DataLoader(ds, batch_size=2, num_workers=2))\n"
        "next(it)\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_persistent_shuffle_order_matches_main_process_every_epoch():
    ds = TensorDataset(ember.arange(12))

    def epochs(**kw):
        g = ember.Generator().manual_seed(4)
        loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g, **kw)
        return [[b[0].tolist() for b in loader] for _ in range(3)]

    assert epochs() == epochs(num_workers=2, persistent_workers=True)


def test_persistent_loader_recovers_after_worker_failure():
    loader = DataLoader(Sleepy(), batch_size=1, num_workers=1, timeout=0.2, persistent_workers=True)
    for _ in range(2):  # a fresh set of workers after the first failure, not a silent stop
        with pytest.raises(RuntimeError, match="timed out"):
            next(iter(loader))
