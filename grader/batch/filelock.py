"""A small inter-process lock on a file (``fcntl.flock``), usable as the engine's ``speed_lock``.

Speed checks measure a student's code against the reference; two
measurements running at the same time on one machine would compete for
cores, caches and memory bandwidth.  The engine holds ``speed_lock`` while
it measures, so passing the same lock to every grading process on a
machine serialises the measurements of different submissions.

The lock is per machine: its file lives in the machine's temp directory by
default, so local worker processes, threads of a Dask worker and separate
Dask worker processes on one host all exclude each other, while hosts of a
cluster measure independently (they do not share CPUs).

The object only stores a path until it is entered, so it pickles cheaply to
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

DEFAULT_LOCK_NAME = "w2v-grader-speed.lock"


def default_speed_lock_path() -> Path:
    """The per-machine lock file shared by every grading process on this host."""
    return Path(tempfile.gettempdir()) / DEFAULT_LOCK_NAME


class LockTimeout(TimeoutError):
    """The lock could not be acquired within the timeout."""


class FileLock:
    """Exclusive ``flock`` lock on ``path``; a context manager, not re-entrant.

    ``timeout=None`` waits in the kernel (a signal handler that raises, such as
    the one turning Ctrl-C into ``KeyboardInterrupt``, still interrupts the
    wait); ``timeout=0`` tries once; other timeouts poll.
    """

    def __init__(self, path: Union[str, os.PathLike, None] = None, *, timeout: Optional[float] = None,
                 poll: float = 0.05) -> None:
        self.path = str(path) if path is not None else str(default_speed_lock_path())
        self.timeout = timeout
        self.poll = poll
        self._local = threading.local()

    # The thread-local holder state must not travel with pickles.
    def __getstate__(self) -> dict:
        return {"path": self.path, "timeout": self.timeout, "poll": self.poll}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], timeout=state["timeout"], poll=state["poll"])

    def __repr__(self) -> str:
        return f"FileLock({self.path!r})"

    @property
    def held(self) -> bool:
        """True while the current thread holds the lock through this object."""
        return getattr(self._local, "fd", None) is not None

    def acquire(self, timeout: Optional[float] = None) -> bool:
        """Take the lock; False (or :class:`LockTimeout` from ``__enter__``) when it timed out."""
        if self.held:
            raise RuntimeError(f"{self!r} is already held by this thread (not re-entrant)")
        timeout = self.timeout if timeout is None else timeout
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except PermissionError:  # created by another user: flock works on a read-only descriptor too
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            if timeout is None:  # block in the kernel: no polling race, waiters are woken as it frees
                fcntl.flock(fd, fcntl.LOCK_EX)  # EINTR-safe; a KeyboardInterrupt still gets through
                self._local.fd = fd
                return True
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._local.fd = fd
                    return True
                except BlockingIOError:
                    if deadline is not None and time.monotonic() >= deadline:
                        os.close(fd)
                        return False
                    time.sleep(self.poll)
        except BaseException:
            if getattr(self._local, "fd", None) != fd:
                os.close(fd)
            raise

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
