"""Freeze a sandboxed process tree and read arrays straight out of a worker's memory.

The speed check's answer to "did the timed calls really compute their outputs?": after a timed
block the worker reports *where* each repetition's outputs live (address, dtype, shape, strides);
the parent stops every process of the run (SIGSTOP), reads the kernel's CPU counters, and then
reads the chosen repetitions' bytes itself through ``/proc/<pid>/mem`` -- so nothing can be
computed after the clock was read, and nothing the worker *says* about its outputs is believed
beyond where to look.  Linux only (``available()`` tells); needs ptrace-read access to the worker
(root, or the same uid without Yama restrictions).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

MAX_READ_BYTES = 256 * 2**20
"""Never read more than this for one array (the expected shape bounds it much lower)."""
FREEZE_TIMEOUT = 2.0


class MemoryReadError(ValueError):
    """The described array is not readable as claimed (wrong layout, unmapped, too large)."""


@dataclass(frozen=True)
class ArrayLocation:
    """Where the worker says one output array lives (untrusted until read)."""

    address: int
    dtype: str
    shape: tuple[int, ...]
    strides: tuple[int, ...]

    @classmethod
    def parse(cls, raw: Any) -> ArrayLocation:
        """From the worker's JSON ``[address, dtype, shape, strides]``; raises MemoryReadError."""
        try:
            address, dtype, shape, strides = raw
            shape_t = tuple(int(n) for n in shape)
            strides_t = tuple(int(s) for s in strides)
            if not isinstance(address, int) or isinstance(address, bool) or not isinstance(dtype, str):
                raise TypeError
        except (TypeError, ValueError):
            raise MemoryReadError("malformed array location") from None
        if len(shape_t) != len(strides_t) or len(shape_t) > 8 or any(n < 0 for n in shape_t) or address <= 0:
            raise MemoryReadError("malformed array location")
        return cls(address, dtype, shape_t, strides_t)


def available(pid: int) -> bool:
    """Can this process read ``pid``'s memory?"""
    try:
        with open(f"/proc/{pid}/mem", "rb", buffering=0):
            return True
    except OSError:
        return False


def freeze(pids: list[int]) -> list[int]:
    """SIGSTOP every pid and wait until each is stopped (or gone); the pids that were signalled."""
    stopped = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
    deadline = time.monotonic() + FREEZE_TIMEOUT
    waiting = list(stopped)
    while waiting and time.monotonic() < deadline:
        waiting = [pid for pid in waiting if _state(pid) not in ("T", "t", "Z", "X", None)]
        if waiting:
            time.sleep(0.0002)
    return stopped


def thaw(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGCONT)


def _state(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
        return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3].decode()
    except (OSError, ValueError):
        return None


class MemoryReader:
    """Reads arrays out of one (frozen) process; keep one per worker process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd: Optional[int] = None

    def __enter__(self) -> MemoryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def read(self, where: ArrayLocation, allowed_dtypes: frozenset[str], max_elements: int) -> np.ndarray:
        """A copy of the array described by ``where``; raises MemoryReadError if it is not what it claims.

        ``allowed_dtypes``/``max_elements`` come from the parent (the expected output), so a lying
        description can never make the parent read or allocate more than an honest answer would need.
        """
        if where.dtype not in allowed_dtypes:
            raise MemoryReadError(f"dtype {where.dtype[:16]!r}")
        dtype = np.dtype(where.dtype)
        count = 1
        for n in where.shape:
            count *= n
        if count > max_elements:
            raise MemoryReadError(f"{count} elements")
        if count == 0:
            return np.zeros(where.shape, dtype=dtype)
        low, high = 0, 0
        for n, stride in zip(where.shape, where.strides):
            span = (n - 1) * stride
            low, high = (low + span, high) if span < 0 else (low, high + span)
        size = high - low + dtype.itemsize
        if size > min(MAX_READ_BYTES, 8 * count * dtype.itemsize):
            raise MemoryReadError("layout spans far more memory than its elements")
        if any(stride % dtype.itemsize for stride in where.strides):
            raise MemoryReadError("misaligned layout")
        raw = self._pread(where.address + low, size)
        try:  # ndarray() checks that every element lies inside the bytes read
            view = np.ndarray(where.shape, dtype=dtype, buffer=raw, offset=-low, strides=where.strides)
        except (TypeError, ValueError) as exc:
            raise MemoryReadError(f"inconsistent layout ({exc})") from None
        return np.array(view, copy=True)

    def _pread(self, address: int, size: int) -> bytes:
        if self._fd is None:
            try:
                self._fd = os.open(f"/proc/{self.pid}/mem", os.O_RDONLY)
            except OSError as exc:
                raise MemoryReadError(f"cannot open the worker's memory ({exc.strerror})") from None
        try:
            data = os.pread(self._fd, size, address)
        except (OSError, OverflowError) as exc:
            raise MemoryReadError(f"unreadable address ({getattr(exc, 'strerror', exc)})") from None
        if len(data) != size:
            raise MemoryReadError("short read")
        return data

