"""Where batch tasks run: a small executor interface with a local and a Dask implementation.

Both hand back :class:`concurrent.futures.Future` objects, so the batch loop
is the same whether submissions are graded by local processes or by a Dask
distributed cluster.

* :class:`LocalExecutor` — ``concurrent.futures.ProcessPoolExecutor`` with
  ``spawn`` workers (or threads, for in-process use and tests).  Worker
  processes turn a stop request into ``KeyboardInterrupt`` inside the engine
  (whose sandbox kills its process groups) and die with the batch process.
* :class:`DaskExecutor` — ``distributed.Client`` on an existing scheduler.
  Submissions are shipped to the workers as zip bytes (no shared
  filesystem needed); workers need the same w2v-grader version installed.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import time
from typing import Any, Callable, Optional, Protocol, runtime_checkable

from grader import machine


@runtime_checkable
class Executor(Protocol):
    """What the batch loop needs from an execution engine."""

    name: str  # shown to the user ("local processes x2", "dask tcp://...")
    workers: int  # how many tasks it runs at once
    ships_payload: bool  # True: tasks must carry the submission bytes (no shared filesystem)

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future: ...

    def is_lost_worker(self, exc: BaseException) -> bool:
        """True when ``exc`` means the worker died (retry elsewhere), not that the task failed."""
        ...

    def restart(self) -> None:
        """Replace workers after a lost worker (no-op when the engine recovers by itself)."""
        ...

    def interrupt(self) -> None:
        """Cancel pending tasks and ask running ones to stop as soon as possible."""
        ...

    def kill(self) -> None:
        """Last resort after :meth:`interrupt`: stop everything now."""
        ...

    def shutdown(self) -> None:
        """Release resources (waits for the workers to exit)."""
        ...


def default_jobs() -> int:
    """One worker per usable CPU (affinity mask and cgroup quota, see :mod:`grader.machine`)."""
    return machine.whole_cpus()


# ---------------------------------------------------------------------------
# process helpers


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pids: list[int]) -> list[int]:
    """``pids`` and every process below them (Linux /proc; just ``pids`` elsewhere)."""
    tree = _children_map()
    out: list[int] = []
    stack = list(pids)
    while stack:
        pid = stack.pop()
        if pid in out:
            continue
        out.append(pid)
        stack.extend(tree.get(pid, []))
    return out


def kill_tree(pids: list[int], sig: int = signal.SIGKILL) -> int:
    """Signal ``pids`` and all their descendants (collected first, so none escapes by re-parenting)."""
    victims = descendants(pids)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGSTOP if sig == signal.SIGKILL else sig)
        except OSError:
            pass
    if sig == signal.SIGKILL:  # stopped processes cannot fork any more; now kill them all
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return len(victims)


# ---------------------------------------------------------------------------
# local


class LocalExecutor:
    """``concurrent.futures`` on this machine: processes (default) or threads."""

    ships_payload = False

    def __init__(self, workers: Optional[int] = None, *, kind: str = "process") -> None:
        if kind not in ("process", "thread"):
            raise ValueError("kind must be 'process' or 'thread'")
        self.workers = max(1, int(workers or default_jobs()))
        self.kind = kind
        self.name = f"local {kind}es x{self.workers}" if kind == "process" else f"local threads x{self.workers}"
        self._known_pids: set[int] = set()
        self._pool = self._new_pool()
        self._old_pools: list[cf.Executor] = []

    def _new_pool(self) -> cf.Executor:
        if self.kind == "thread":
            return cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="w2v-batch")
        from grader.batch.task import worker_init

        return cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=worker_init, initargs=(os.getpid(),))

    def is_lost_worker(self, exc: BaseException) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        return isinstance(exc, BrokenProcessPool)

    def restart(self) -> None:
        self._pids()
        old = self._pool
        old.shutdown(wait=False, cancel_futures=True)
        self._old_pools.append(old)
        self._pool = self._new_pool()

    def _pids(self) -> list[int]:
        """Worker pids (remembered: ``shutdown`` forgets them, and ``kill`` may come after it)."""
        for pool in [self._pool, *self._old_pools]:
            processes = getattr(pool, "_processes", None) or {}
            self._known_pids.update(p.pid for p in list(processes.values()) if p.pid)
        return sorted(self._known_pids)

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        future = self._pool.submit(fn, *args)
        self._pids()
        return future

    def interrupt(self) -> None:
        pids = self._pids()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)  # KeyboardInterrupt inside the engine; ignored when idle
            except OSError:
                pass

    def kill(self) -> None:
        if self.kind == "process":
            kill_tree(self._pids())

    def shutdown(self) -> None:
        for pool in [*self._old_pools, self._pool]:
            pool.shutdown(wait=True, cancel_futures=True)
        self._old_pools.clear()


# ---------------------------------------------------------------------------
# Dask


class DaskExecutor:
    """Tasks on a Dask distributed cluster (``distributed.Client``), shipped as zip bytes.

    Running tasks cannot be interrupted remotely: on Ctrl-C pending tasks are
    cancelled and the submissions being graded finish on their workers, their
    results discarded.  A worker that dies is handled by Dask (the task is
    retried elsewhere, and ``KilledWorker`` after repeated deaths is recorded
    as a grader-side failure).
    """

    ships_payload = True

    def __init__(self, address: str, *, connect_timeout: float = 20.0) -> None:
        from distributed import Client

        self.address = address
        self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        info = self.client.scheduler_info()
        threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        self.workers = max(1, threads)
        self.name = f"dask {address} ({len(info.get('workers', {}))} workers, {threads} threads)"
        self._futures: dict[cf.Future, Any] = {}

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        dask_future = self.client.submit(fn, *args, pure=False, retries=0)
        local: cf.Future = cf.Future()

        def relay(df: Any) -> None:
            try:
                if df.status == "cancelled":
                    local.cancel()
                elif df.status == "finished":
                    local.set_result(df.result())
                else:
                    local.set_exception(df.exception())
            except BaseException as exc:  # noqa: BLE001
                if not local.done():
                    local.set_exception(exc)
            finally:
                self._futures.pop(local, None)

        self._futures[local] = dask_future
        dask_future.add_done_callback(relay)
        return local

    def is_lost_worker(self, exc: BaseException) -> bool:
        return False

    def restart(self) -> None:
        pass

    def interrupt(self) -> None:
        futures = list(self._futures.values())
        if futures:
            try:
                self.client.cancel(futures, force=True)
            except Exception:  # noqa: BLE001
                pass
        for local in list(self._futures):
            local.cancel()

    def kill(self) -> None:
        self.interrupt()

    def shutdown(self) -> None:
        deadline = time.monotonic() + 5
        while self._futures and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            self.client.close(timeout=10)
        except Exception:  # noqa: BLE001
            pass


def make_executor(*, jobs: Optional[int] = None, scheduler: Optional[str] = None,
                  connect_timeout: float = 20.0) -> Executor:
    """A :class:`DaskExecutor` when ``scheduler`` is given, else a process :class:`LocalExecutor`."""
    if scheduler:
        return DaskExecutor(scheduler, connect_timeout=connect_timeout)
    return LocalExecutor(jobs)


__all__ = ["Executor", "LocalExecutor", "DaskExecutor", "make_executor", "default_jobs", "kill_tree",
           "descendants"]
