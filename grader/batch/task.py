"""The unit of work a batch worker runs: grade one submission, return a JSON-able outcome.

This module is imported by worker processes (local pool or Dask workers),
so it stays small and imports the engine lazily.  ``run_task`` never
raises for a grader-side failure: it returns an outcome with status
``grader_error`` and the error text, so one bad submission never stops a
batch.  It returns status ``interrupted`` when the batch was stopped while
this submission was being graded; such outcomes are not recorded.
"""

from __future__ import annotations

import datetime as _dt
import os
import signal
import socket
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from grader.results import StudentInfo

STATUS_GRADED = "graded"
STATUS_ERROR = "grader_error"
STATUS_INTERRUPTED = "interrupted"


@dataclass
class GradeTask:
    """Everything a worker needs; pickles small (the rubric object, optional zip bytes)."""

    key: str
    source: str
    input_hash: str
    student: StudentInfo = field(default_factory=StudentInfo)
    rubric: Any = None  # grader.rubric.Rubric or None for the default rubric
    path: Optional[str] = None  # local path of a folder/zip (same machine or shared filesystem)
    payload: Optional[bytes] = None  # the submission as zip bytes (shipped to a remote worker)
    speed_lock_path: Optional[str] = None  # None: the per-machine default lock file of the worker
    speed_slots: Optional[int] = None  # measurements at once per machine; None: half the worker machine's cores
    use_speed_lock: bool = True
    mode: str = "grade"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------------
# signal handling in local worker processes
#
# A worker process ignores SIGINT while idle (the batch process decides what
# to do on Ctrl-C) and turns the first SIGINT/SIGTERM that arrives while it
# grades into KeyboardInterrupt inside the engine, whose sandbox then kills
# its process groups.  Further signals are ignored so the engine's clean-up
# is not interrupted in turn.  SIGTERM (sent by the batch when it stops) is
# sticky: the worker exits instead of starting a task already queued to it.  If the batch process itself dies (even by
# SIGKILL), PR_SET_PDEATHSIG delivers SIGTERM here and the worker stops too.

_state = threading.local()
_parent_pid: Optional[int] = None


def _set_parent_death_signal(sig: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except Exception:  # not Linux: the parent's clean-up still signals us
        pass


def _parent_gone() -> bool:
    return _parent_pid is not None and os.getppid() != _parent_pid


_stop_requested = False  # SIGTERM from the batch: this worker takes no more work


def _idle_handler(signum: int, frame: Any) -> None:
    global _stop_requested
    if signum == signal.SIGTERM:
        _stop_requested = True
        if _parent_gone():
            os._exit(128 + signum)


def _busy_handler(signum: int, frame: Any) -> None:
    global _stop_requested
    if signum == signal.SIGTERM:
        _stop_requested = True
    if getattr(_state, "interrupted", False):
        return
    _state.interrupted = True
    raise KeyboardInterrupt(f"batch stopped (signal {signum})")


def worker_init(parent_pid: int) -> None:
    """Initializer of local pool processes."""
    global _parent_pid
    _parent_pid = parent_pid
    signal.signal(signal.SIGINT, _idle_handler)
    signal.signal(signal.SIGTERM, _idle_handler)
    _set_parent_death_signal(signal.SIGTERM)
    if _parent_gone():  # the parent died before prctl took effect
        os._exit(1)


def _in_managed_worker() -> bool:
    return _parent_pid is not None and threading.current_thread() is threading.main_thread()


# ---------------------------------------------------------------------------


def run_task(task: GradeTask) -> dict[str, Any]:
    """Grade one submission; returns ``{key, input_hash, status, result, error, worker, ...}``."""
    started = time.monotonic()
    outcome: dict[str, Any] = {
        "key": task.key,
        "input_hash": task.input_hash,
        "status": STATUS_ERROR,
        "result": None,
        "error": None,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "started_at": _now(),
    }
    managed = _in_managed_worker()
    _state.interrupted = False
    if managed and _stop_requested:  # told to stop: take no more work (the pool replaces us if needed)
        os._exit(128 + signal.SIGTERM)
    if managed:
        signal.signal(signal.SIGINT, _busy_handler)
        signal.signal(signal.SIGTERM, _busy_handler)
    tmp: Optional[tempfile.TemporaryDirectory] = None
    try:
        from grader import pipeline
        from grader.batch.filelock import FileLock, default_speed_slots
        from grader.results import to_jsonable

        if task.payload is not None:
            tmp = tempfile.TemporaryDirectory(prefix="w2v-batch-task-")
            path = Path(tmp.name) / "submission.zip"
            path.write_bytes(task.payload)
        elif task.path is not None:
            path = Path(task.path)
            if not path.exists():
                raise FileNotFoundError(f"submission {task.source} is no longer at {path}")
        else:
            raise ValueError("task has neither a path nor a payload")
        lock = FileLock(task.speed_lock_path, slots=task.speed_slots or default_speed_slots()) \
            if task.use_speed_lock else None
        result = pipeline.grade_submission(path, task.rubric, mode=task.mode, student=task.student,
                                           speed_lock=lock, shared_reference=True)
        if getattr(_state, "interrupted", False):
            raise KeyboardInterrupt("batch stopped")
        result.submission.root = task.source  # temp/extraction paths differ between runs and machines
        outcome["result"] = to_jsonable(result)
        if result.internal_error:
            lines = [line.strip() for line in str(result.internal_error).splitlines() if line.strip()]
            outcome["error"] = f"grader-side error reported by the engine: {lines[-1] if lines else '?'}"
            outcome["traceback"] = str(result.internal_error)[-4000:]
        else:
            outcome["status"] = STATUS_GRADED
    except KeyboardInterrupt:
        outcome["status"] = STATUS_INTERRUPTED
        outcome["error"] = "interrupted"
    except BaseException as exc:  # noqa: BLE001 - a grader-side failure must not stop the batch
        if isinstance(exc, SystemExit) and getattr(_state, "interrupted", False):
            outcome["status"] = STATUS_INTERRUPTED
        outcome["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        outcome["traceback"] = traceback.format_exc(limit=12)[-4000:]
    finally:
        if managed:
            signal.signal(signal.SIGINT, _idle_handler)
            signal.signal(signal.SIGTERM, _idle_handler)
        if tmp is not None:
            tmp.cleanup()
    outcome["finished_at"] = _now()
    outcome["duration"] = round(time.monotonic() - started, 3)
    if managed and outcome["status"] == STATUS_INTERRUPTED and _parent_gone():
        os._exit(1)
    return outcome
