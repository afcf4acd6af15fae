"""One sandboxed worker run followed live: its calls as they finish and, in serve mode, requests.

:class:`WorkerSession` starts one worker (:mod:`grader.worker.runner`) in the sandbox on a
background thread and follows its control lines.  The correctness job reads the calls' records
when the worker says ``serving`` (or ends); the speed check then sends it requests (``prepare``,
``block``, ``release``) and reads each reply from the records file.

Nothing the worker says is believed beyond "there is something to read now": a reply is only
accepted for the request the parent is waiting for, its record is parsed as hostile input
(:mod:`grader.worker.records`), and everything a verdict depends on -- CPU time, output values --
the parent reads itself (:meth:`cpu_seconds`, :meth:`freeze`, :meth:`memory`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional

from grader.worker import records

from . import proc_memory
from .proc_tree import tree_cpu_seconds, tree_pids
from .supervisor import RunExtras


class WorkerSession:
    """A sandboxed worker on a background thread (see module docstring).

    ``launch(workdir, on_line, on_spawn, extras)`` runs the sandbox and returns its ``SandboxRun``
    (see :func:`grader.sandbox.jobs.start_worker`): injected, so that this class has no opinion on
    limits or isolation.
    """

    def __init__(self, workdir: Path, launch: Callable[..., Any], *, serve: bool, label: str = "student") -> None:
        self.workdir = workdir
        self.label = label
        self.serve = serve
        self._launch = launch
        self.cond = threading.Condition()
        self.started: list[str] = []
        self.done: set[str] = set()
        self.hello: Optional[int] = None
        self.serving = False
        self.said_bye = False
        self.finished = False
        self.result: Any = None
        self.error: Optional[str] = None
        self.root_pid: Optional[int] = None
        self._replies: set[int] = set()
        self._seq = 0
        self._request_r, self._request_w = os.pipe() if serve else (None, None)
        self._stop_r, self._stop_w = os.pipe()
        self.extras = RunExtras(request_fd=self._request_r, stop_fd=self._stop_r)
        self._records = _RecordTail(workdir / "out" / "records.bin")
        self._reader: Optional[proc_memory.MemoryReader] = None
        self.over_budget = False
        self._worker_pid: Optional[int] = None
        self.thread = threading.Thread(target=self._main, daemon=True, name=f"w2v-{label}")

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> WorkerSession:
        self.thread.start()
        return self

    def _main(self) -> None:
        try:
            self.result = self._launch(self.workdir, self._on_line, self._on_spawn, self.extras)
        except Exception:  # noqa: BLE001 - a grader-side failure, reported by the caller, never the student's
            self.error = traceback.format_exc(limit=8)
        finally:
            for fd in (self._request_r, self._stop_r):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            with self.cond:
                self.finished = True
                self.cond.notify_all()

    def _on_spawn(self, pid: int) -> None:
        self.root_pid = pid

    def _on_line(self, line: str) -> Optional[str]:
        word, _, rest = line.partition(" ")
        with self.cond:
            if word == "hello" and self.hello is None and rest.isdigit():
                self.hello = int(rest)  # sent before any student code runs: trustworthy
            elif word == "start" and rest not in self.started:
                self.started.append(rest)
            elif word == "done":
                self.done.add(rest)
            elif word == "serving":
                self.serving = True
            elif word == "reply" and rest.isdigit():
                self._replies.add(int(rest))
            elif word == "bye":
                self.said_bye = True
            self.cond.notify_all()
        return None

    def wait_for(self, predicate: Callable[[], bool], timeout: Optional[float]) -> bool:
        """Block until ``predicate()`` (called under the lock) or the run ended; its last value."""
        with self.cond:
            return bool(self.cond.wait_for(lambda: predicate() or self.finished, timeout=timeout) and predicate())

    def wait_ready(self, timeout: Optional[float] = None) -> bool:
        """Until the job's calls are done and the worker serves requests (False if it ended instead)."""
        return self.wait_for(lambda: self.serving, timeout)

    def close(self, timeout: float = 10.0) -> Any:
        """Say bye, wait for the run to end (kill it after ``timeout``); the ``SandboxRun``."""
        if self._request_w is not None:
            with contextlib.suppress(OSError):
                os.write(self._request_w, b'{"op": "bye"}\n')
            with contextlib.suppress(OSError):
                os.close(self._request_w)
            self._request_w = None
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.kill()
            self.thread.join(timeout)
        if self._reader is not None:
            self._reader.close()
        with contextlib.suppress(OSError):
            os.close(self._stop_w)
        return self.result

    def kill(self) -> None:
        """Stop the run at once (the sandbox kills every process of it)."""
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- outputs ------------------------------------------------------------------------------------
    def records(self) -> records.ParsedRecords:
        """Every record written so far (parsed defensively, incrementally; final once the run ended)."""
        return self._records.read(final=self.finished)

    # -- requests (serve mode) ----------------------------------------------------------------------
    def request(self, payload: dict[str, Any], timeout: float, *, cpu_budget: Optional[float] = None,
                cpu_start: Optional[float] = None) -> Optional[dict[str, Any]]:
        """Send one request and wait for its reply's metadata; None if the worker died, lied or ran out of time.

        ``cpu_budget``: kill the run when it has used more CPU seconds than that since ``cpu_start``
        (its :meth:`cpu_seconds` when the request was sent, by default); :attr:`over_budget` then says so.
        """
        self.over_budget = False
        if self._request_w is None or self.finished:
            return None
        self._seq += 1
        seq = self._seq
        line = json.dumps({**payload, "seq": seq}).encode() + b"\n"
        start = self.cpu_seconds() if cpu_budget is not None and cpu_start is None else cpu_start
        try:
            os.write(self._request_w, line)
        except OSError:
            return None
        deadline = time.monotonic() + timeout
        while not self.wait_for(lambda: seq in self._replies, 0.02 if cpu_budget is not None else timeout):
            if self.finished or time.monotonic() >= deadline:
                return None
            if cpu_budget is not None and self.cpu_seconds() - start > cpu_budget:
                self.over_budget = True
                self.kill()
                return None
        record = self._records.read().records.get(f"reply.{seq}")
        return record.meta if record is not None else None

    # -- the parent's own view of the run -----------------------------------------------------------
    def pids(self) -> list[int]:
        """Host pids of every process of the run below the trampoline."""
        return [] if self.root_pid is None else tree_pids(self.root_pid)[1:]

    def cpu_seconds(self) -> float:
        """CPU seconds of the whole run so far, from the kernel: its cgroup (every process that was ever
        in the run) where the cgroup layer is active, else its process tree."""
        if self.extras.cgroups is not None:
            return self.extras.cgroups.cpu_seconds()
        return 0.0 if self.root_pid is None else tree_cpu_seconds(self.root_pid)

    def freeze(self) -> list[int]:
        """Stop every process of the run (SIGSTOP); the pids to thaw."""
        return proc_memory.freeze(self.pids())

    @staticmethod
    def thaw(pids: list[int]) -> None:
        proc_memory.thaw(pids)

    def memory(self) -> Optional[proc_memory.MemoryReader]:
        """A reader of the worker process's memory (the process that said hello), or None."""
        if self._reader is None:
            pid = self._find_worker_pid()
            if pid is None or not proc_memory.available(pid):
                return None
            self._reader = proc_memory.MemoryReader(pid)
        return self._reader

    def _find_worker_pid(self) -> Optional[int]:
        if self.hello is None:
            return None
        for pid in self.pids():
            if _innermost_pid(pid) == self.hello:
                return pid
        return None


def _innermost_pid(pid: int) -> Optional[int]:
    """The pid of host process ``pid`` inside its own pid namespace (``NSpid``'s last field)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return pid


class _RecordTail:
    """Reads a records file as it grows, going on where the last read stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parsed = records.ParsedRecords()
        self.lock = threading.Lock()

    def read(self, final: bool = False) -> records.ParsedRecords:
        with self.lock:
            return records.read_records(str(self.path), self.parsed, final=final)
