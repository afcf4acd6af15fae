"""Stage 2 — sandbox-run: execute a job's calls on student code in sandboxed workers (the only way student code runs).

A job is a list of worker calls (see :mod:`grader.worker.runner`).  Each worker run gets a fresh
directory holding only: the student's files, the provided ``utils`` package, the (non-secret)
worker package, the job and its input arrays (:func:`stage_workdir`).  It runs under every
isolation layer the platform permits, with the grader's secrets masked
(:func:`grader.course_secrets.protected_paths`) and an import path without the grader or the reference
(:mod:`.import_path`).  When a call hangs, crashes or kills its process, that call is blamed (it
was started and never finished), and a new worker continues with the calls after it.

Outputs come back as framed records (:mod:`grader.worker.records`) parsed as hostile input:
sizes, dtypes, shapes and JSON nesting are bounded before anything is allocated, every string is
made safe, and a record that cannot be read is that call's failure only.  ``serve=True`` keeps
the last worker alive after its calls (:attr:`JobRun.session`) for the speed check's requests.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from grader.course_secrets import REFERENCE_DIR, protected_paths
from grader.results import SandboxEvent
from grader.rubric import Limits
from grader.sandbox import RunExtras, SandboxLimits, SandboxRun, run_sandboxed
from grader.worker.input_pack import write_pack
from grader.worker.records import safe_text

from .import_path import outside_targets, student_site_dir, worker_argv
from .session import WorkerSession

WORKER_PACKAGE = Path(__file__).parents[1] / "worker"
WORKER_FILES = ("__init__.py", "runner.py", "support.py", "sgd_probe.py", "records.py", "timing.py", "input_pack.py")
SUPPORT_UTILS = REFERENCE_DIR / "utils"
MAX_META_BYTES = 1_000_000
MAX_ARRAY_ELEMENTS = 50_000_000
FAILED_TO_START = "failed_to_start"


@dataclass
class CallOutcome:
    """What happened to one call: worker metadata and arrays, or the event that stopped it."""

    call_id: str
    meta: Optional[dict[str, Any]] = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    event: Optional[SandboxEvent] = None

    @property
    def finished(self) -> bool:
        return self.meta is not None

    @property
    def raised(self) -> Optional[dict[str, Any]]:
        return self.meta.get("exception") if self.meta and self.meta.get("status") == "exception" else None


@dataclass
class JobRun:
    """All outcomes of a job plus what the sandbox reported about the worker runs."""

    outcomes: dict[str, CallOutcome] = field(default_factory=dict)
    events: list[SandboxEvent] = field(default_factory=list)
    isolation_layers: list[str] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    worker_runs: int = 0
    session: Optional[WorkerSession] = None
    """``serve=True``: the last worker, alive and serving requests (close it with :meth:`close_session`)."""

    def get(self, call_id: str) -> CallOutcome:
        return self.outcomes.get(call_id) or CallOutcome(call_id, event=SandboxEvent(
            "note", "This call was not run (the grading time budget ran out or an earlier failure stopped it)."))

    def close_session(self) -> None:
        """End the serving worker (if any) and record what its run reported."""
        if self.session is None:
            return
        session, self.session = self.session, None
        result = session.close()
        session.cleanup()
        if isinstance(result, SandboxRun):
            record_run_events(result, self)


def sandbox_limits(limits: Limits) -> SandboxLimits:
    return SandboxLimits(
        wall_seconds=limits.worker_timeout, cpu_seconds=limits.cpu_seconds,
        memory_bytes=limits.memory_mb * 2**20, file_size_bytes=limits.file_size_mb * 2**20,
        max_processes=limits.max_processes, output_bytes=limits.output_kb * 1024,
        idle_seconds=limits.call_wall_timeout, idle_cpu_seconds=limits.call_timeout)


def stage_workdir(student_files: dict[str, Path], job: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """A fresh directory with everything one worker run needs (and nothing else)."""
    workdir = Path(tempfile.mkdtemp(prefix="w2v-run-"))
    student = workdir / "student"
    student.mkdir()
    for name, path in student_files.items():
        shutil.copyfile(path, student / name)
    shutil.copytree(SUPPORT_UTILS, student / "utils", ignore=shutil.ignore_patterns("__pycache__", "datasets"))
    worker = workdir / "w2v_worker"
    worker.mkdir()
    for name in WORKER_FILES:
        shutil.copyfile(WORKER_PACKAGE / name, worker / name)
    (workdir / "out").mkdir()
    write_pack(workdir / "inputs.bin", arrays)
    (workdir / "job.json").write_text(json.dumps({**job, "arrays": "inputs.bin"}), encoding="utf-8")
    return workdir


def start_worker(student_files: dict[str, Path], job: dict[str, Any], arrays: dict[str, np.ndarray],
                 limits: Limits, *, deadline: Optional[float] = None, serve: bool = False,
                 label: str = "student", wall_seconds: Optional[float] = None,
                 hide_paths: Sequence[Path] = ()) -> WorkerSession:
    """Stage and start one sandboxed worker on a background thread (see :class:`WorkerSession`)."""
    workdir = stage_workdir(student_files, {**job, "serve": serve}, arrays)
    slimits = sandbox_limits(limits)
    if wall_seconds is not None:
        slimits.wall_seconds = wall_seconds
    if deadline is not None:
        slimits.wall_seconds = max(1.0, min(slimits.wall_seconds, deadline - time.monotonic()))
    readable = [student_site_dir(), *outside_targets()]
    hidden = [*protected_paths(), *hide_paths]

    def launch(path: Path, on_line, on_spawn, extras: RunExtras) -> SandboxRun:
        return run_sandboxed(worker_argv(path), path, slimits, on_control_line=on_line, on_spawn=on_spawn,
                             readable_paths=readable, hide_paths=hidden, extras=extras)

    return WorkerSession(workdir, launch, serve=serve, label=label).start()


def run_job(student_files: dict[str, Path], job: dict[str, Any], arrays: dict[str, np.ndarray], limits: Limits,
            *, deadline: Optional[float] = None, serve: bool = False,
            on_session: Optional[Any] = None) -> JobRun:
    """Run every call of ``job``; a call that hangs or kills the worker is blamed and skipped.

    ``serve``: the last worker stays alive after its calls, serving requests (``JobRun.session``).
    ``on_session(session)`` sees each worker as it starts.
    """
    run = JobRun()
    pending = list(job["calls"])
    modules = list(job.get("modules", []))
    while pending or run.worker_runs == 0:
        if deadline is not None and time.monotonic() > deadline:
            break
        this_job = {**job, "modules": modules, "calls": pending}
        session = start_worker(student_files, this_job, _arrays_for(pending, arrays), limits, deadline=deadline,
                               serve=serve)
        run.worker_runs += 1
        if on_session is not None:
            on_session(session)
        serving = session.wait_ready() if serve else session.wait_for(lambda: False, None)
        _collect(session, this_job, run)
        if serving:
            run.session = session
            break
        result = session.close()
        session.cleanup()
        if session.error is not None or not isinstance(result, SandboxRun):
            raise RuntimeError(f"the sandbox failed (not the submission): {session.error}")
        record_run_events(result, run)
        started, done = session.started, session.done
        culprit = next((c for c in started if c not in done), None)
        if culprit is None:
            if not session.said_bye and pending:
                # died between calls (e.g. a thread that called os._exit): blame the last finished call's successor
                remaining = [c for c in pending if c["id"] not in done]
                if remaining:
                    culprit = remaining[0]["id"]
            if culprit is None:
                break
        event = blame_event(result, culprit)
        if culprit.startswith("import."):
            module = culprit.removeprefix("import.")
            run.outcomes[culprit] = CallOutcome(culprit, meta={"status": "exception", "exception": {
                "type": event.kind, "message": event.message, "traceback": event.detail}}, event=event)
            modules = [m for m in modules if m != module]
            pending = [c for c in pending if c["id"] not in done]
            continue
        run.outcomes[culprit] = CallOutcome(culprit, event=event)
        pending = [c for c in pending if c["id"] not in done and c["id"] != culprit]
        pending = _skip_same_function(pending, culprit, job, event, run)
        if not pending:
            break
    return run


def _skip_same_function(pending: list[dict[str, Any]], culprit: str, job: dict[str, Any], event: SandboxEvent,
                        run: JobRun) -> list[dict[str, Any]]:
    """After a call of F hangs or kills its worker, F's remaining calls are not run (one wait per function)."""
    function = next((c.get("function") for c in job["calls"] if c["id"] == culprit), None)
    if function is None or ".integration" in culprit or event.kind not in {
            "timeout", "exit", "crash", "memory_limit", "cpu_limit", "process_limit", "file_size_limit"}:
        return pending
    skipped = SandboxEvent(event.kind, f"Not run: an earlier call of {function} already failed this way "
                           f"({event.message})", event.detail, function=function)
    kept = []
    for call in pending:
        if call.get("function") == function and call.get("op") != "sgd":
            run.outcomes[call["id"]] = CallOutcome(call["id"], event=skipped)
        else:
            kept.append(call)
    return kept


def _arrays_for(calls: list[dict[str, Any]], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays some call names (any string value, at any depth, that is a key of ``arrays``)."""
    wanted: set[str] = set()
    stack: list[Any] = list(calls)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if value in arrays:
                wanted.add(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return {k: arrays[k] for k in wanted}


def _collect(session: WorkerSession, job: dict[str, Any], run: JobRun) -> None:
    """The outcomes of the calls the worker said it finished, from its records (hostile input)."""
    parsed = session.records()
    ids = [f"import.{m}" for m in job.get("modules", [])] + [c["id"] for c in job["calls"]]
    for call_id in ids:
        if call_id not in session.done:
            continue
        record = parsed.records.get(call_id)
        if record is None:
            why = parsed.error or "no output record for this call"
            run.outcomes[call_id] = CallOutcome(call_id, event=SandboxEvent(
                "crash", "The grader could not read this call's outputs (your code may have overwritten or "
                "flooded the worker's output file).", why))
        else:
            run.outcomes[call_id] = CallOutcome(call_id, meta=record.meta, arrays=record.arrays)


def read_outcome(out_dir: Path, call_id: str) -> CallOutcome:
    """Read one cached outcome (``<id>.json`` + ``<id>.npz``) defensively (size caps, no pickle, numeric arrays)."""
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in call_id)
    meta_path = out_dir / f"{safe}.json"
    try:
        if meta_path.stat().st_size > MAX_META_BYTES:
            raise ValueError("metadata too large")
        meta = json.loads(meta_path.read_text(encoding="utf-8", errors="replace"))
        if not isinstance(meta, dict):
            raise ValueError("metadata is not an object")
    except (OSError, ValueError, RecursionError) as exc:
        return CallOutcome(call_id, event=SandboxEvent("crash", "The grader could not read this call's outputs.",
                                                       safe_text(exc)))
    arrays: dict[str, np.ndarray] = {}
    npz = out_dir / f"{safe}.npz"
    if npz.exists():
        try:
            with np.load(npz, allow_pickle=False, max_header_size=10_000) as data:
                for key in data.files:
                    value = data[key]
                    if value.dtype.kind not in "biufc" or value.size > MAX_ARRAY_ELEMENTS:
                        continue
                    arrays[key] = np.array(value, copy=True)
        except (OSError, ValueError, MemoryError, zipfile.BadZipFile) as exc:
            return CallOutcome(call_id, event=SandboxEvent("crash", "The grader could not read this call's "
                                                           "outputs.", safe_text(exc)))
    return CallOutcome(call_id, meta=meta, arrays=arrays)


def blame_event(result: SandboxRun, culprit: str) -> SandboxEvent:
    """The event that tells why the run ended while ``culprit`` was running."""
    what = f"while running {culprit}" if not culprit.startswith("import.") else \
        f"while importing {culprit.removeprefix('import.')}.py"
    tail = safe_text(_tail(getattr(result, "stderr_tail", "") or result.stderr))
    if result.timed_out:
        return SandboxEvent("timeout", f"Time limit exceeded {what}: the call did not return in time "
                            "(an infinite loop, or far too slow).", tail)
    limit = result.limit_hit
    if limit == "memory":
        return SandboxEvent("memory_limit", f"Memory limit exceeded {what}.", tail)
    if limit == "cpu_time":
        return SandboxEvent("cpu_limit", f"CPU time limit exceeded {what}.", tail)
    if limit == "processes":
        return SandboxEvent("process_limit", f"Process limit hit {what} (too many processes or threads).", tail)
    if limit == "file_size":
        return SandboxEvent("file_size_limit", f"File size limit hit {what} (a file grew too large).", tail)
    if result.signal:
        return SandboxEvent("crash", f"The Python process crashed {what} (signal {result.signal}).", tail)
    return SandboxEvent("exit", f"Your code ended the Python process {what} (exit code {result.returncode}); "
                        "do not call os._exit/sys.exit in your functions.", tail)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def record_run_events(result: SandboxRun, run: JobRun) -> None:
    """Fold one worker run's isolation layers, truncation and output into ``run``."""
    for layer in result.isolation.layers:
        if layer not in run.isolation_layers:
            run.isolation_layers.append(layer)
    if result.stdout_truncated or result.stderr_truncated:
        if not any(e.kind == "output_truncated" for e in run.events):
            run.events.append(SandboxEvent("output_truncated", "Your code printed more output than the grader keeps; "
                                           "the rest was discarded.", "Remove debugging prints from your functions."))
    run.stdout = safe_text((run.stdout + result.stdout)[-20000:])
    run.stderr = safe_text((run.stderr + result.stderr)[-20000:])
