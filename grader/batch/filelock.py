"""A small inter-process lock on files (``fcntl.flock``), usable as the engine's ``speed_lock``.

Speed checks measure a student's code against the reference; two
measurements running at the same time on one machine would compete for
cores, caches and memory bandwidth.  The engine holds ``speed_lock`` while
it measures, so passing the same lock to every grading process on a
machine serialises the measurements of different submissions.

The lock is per machine: its file lives in the machine's temp directory by
default, so local worker processes, threads of a Dask worker and separate
Dask worker processes on one host all exclude each other, while hosts of a
cluster measure independently (they do not share CPUs).

``slots`` > 1 turns it into a counting semaphore (one lock file per slot):
on a machine with many cores, ``cores // 2`` measurements may run at once,
each with cores of its own, instead of one at a time for the whole machine.
With ``slots=1`` (every machine with fewer than 4 cores) measurements never
overlap.

The object only stores paths until it is entered, so it pickles cheaply to
worker processes.  ``flock`` locks belong to an open file description: each
``__enter__`` opens its own descriptor, so two threads of one process
exclude each other too.  The kernel releases the lock when the holder dies,
so a killed worker never leaves it stuck.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional, Union

from grader import machine

DEFAULT_LOCK_NAME = "w2v-grader-speed.lock"


def default_speed_lock_path() -> Path:
    """The per-machine lock file shared by every grading process on this host."""
    return Path(tempfile.gettempdir()) / DEFAULT_LOCK_NAME


def default_speed_slots() -> int:
    """Speed measurements allowed at once on this machine: half its cores, at least one."""
    return max(1, machine.whole_cpus() // 2)


class LockTimeout(TimeoutError):
    """The lock could not be acquired within the timeout."""


class FileLock:
    """Exclusive ``flock`` lock on ``path`` (or one of ``slots`` files); a context manager, not re-entrant.

    ``timeout=None`` waits (with one slot: in the kernel; a signal handler that
    raises, such as the one turning Ctrl-C into ``KeyboardInterrupt``, still
    interrupts the wait); ``timeout=0`` tries once; other timeouts poll.
    """

    def __init__(self, path: Union[str, os.PathLike, None] = None, *, timeout: Optional[float] = None,
                 poll: float = 0.05, slots: int = 1) -> None:
        self.path = str(path) if path is not None else str(default_speed_lock_path())
        self.timeout = timeout
        self.poll = poll
        self.slots = max(1, int(slots))
        self._local = threading.local()

    # The thread-local holder state must not travel with pickles.
    def __getstate__(self) -> dict:
        return {"path": self.path, "timeout": self.timeout, "poll": self.poll, "slots": self.slots}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], timeout=state["timeout"], poll=state["poll"], slots=state.get("slots", 1))

    def __repr__(self) -> str:
        return f"FileLock({self.path!r}" + (f", slots={self.slots})" if self.slots > 1 else ")")

    def slot_paths(self) -> list[str]:
        return [self.path] + [f"{self.path}.{i}" for i in range(1, self.slots)]

    @property
    def held(self) -> bool:
        """True while the current thread holds the lock through this object."""
        return getattr(self._local, "fd", None) is not None

    @staticmethod
    def _open(path: str) -> int:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except PermissionError:  # created by another user: flock works on a read-only descriptor too
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def acquire(self, timeout: Optional[float] = None) -> bool:
        """Take the lock (a free slot); False (or :class:`LockTimeout` from ``__enter__``) when it timed out."""
        if self.held:
            raise RuntimeError(f"{self!r} is already held by this thread (not re-entrant)")
        timeout = self.timeout if timeout is None else timeout
        if timeout is None and self.slots == 1:  # block in the kernel: no polling race
            fd = self._open(self.path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # EINTR-safe; a KeyboardInterrupt still gets through
            except BaseException:
                os.close(fd)
                raise
            self._local.fd = fd
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        start = (os.getpid() + threading.get_ident()) % self.slots  # spread first tries over the slots
        while True:
            for i in range(self.slots):
                fd = self._open(self.slot_paths()[(start + i) % self.slots])
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                except BaseException:
                    os.close(fd)
                    raise
                self._local.fd = fd
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(self.poll)

    def release(self) -> None:
        fd = getattr(self._local, "fd", None)
        if fd is None:
            raise RuntimeError(f"{self!r} is not held by this thread")
        self._local.fd = None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> FileLock:
        if not self.acquire():
            raise LockTimeout(f"could not lock {self.path} within {self.timeout} s")
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
