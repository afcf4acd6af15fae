"""The batch loop: plan (hash, resume), grade in parallel, record durably, build the outputs.

See docs/batch.md for the user-level description.  In short:

1. detect the input layout and load the rubric;
2. hash every submission (content + rubric + grader version) and, with
   ``--resume``, keep the results in ``results.jsonl`` whose hash still matches;
3. submit the rest to an :class:`~grader.batch.executors.Executor`, at most a
   small window at a time; each finished submission is appended to
   ``results.jsonl`` (fsync) and gets its ``report.html`` / ``results.json``;
4. on Ctrl-C / SIGTERM: cancel what has not started, interrupt what is
   running (the engine's sandbox kills its processes), keep what finished;
5. always (also after an interrupt) compact ``results.jsonl`` and rebuild
   ``grades.csv`` and ``index.html`` from it.

Over 400 lines on purpose: :class:`BatchRunner` is one state machine (the window of futures,
retries, the re-check of timeouts, signals) whose methods follow these steps top to bottom; the
pieces that stand alone are already beside it (layout, hashing, store, executors, task, outputs).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import signal
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

from grader import __version__
from grader.batch.executors import Executor, make_executor
from grader.batch.filelock import FileLock
from grader.batch.hashing import input_hash, pack_submission, submission_hash
from grader.batch.layout import BatchInput, BatchItem, detect_layout
from grader.batch.outputs import finite, grades_csv, record_result, write_dashboard, write_student_files
from grader.batch.progress import Reporter, make_reporter
from grader.batch.store import ResultStore, atomic_write_text
from grader.batch.task import STATUS_ERROR, STATUS_GRADED, STATUS_INTERRUPTED, GradeTask, run_task
from grader.results import to_jsonable

RESULTS_JSONL = "results.jsonl"
GRADES_CSV = "grades.csv"
INDEX_HTML = "index.html"
DIR_LOCK = ".batch.lock"


class BatchError(RuntimeError):
    """The batch cannot start (output folder busy, nothing to grade, ...)."""


@dataclass
class BatchOptions:
    out_dir: Path
    jobs: Optional[int] = None  # local workers (default: one per core)
    resume: bool = False
    rubric_path: Optional[Path] = None
    scheduler: Optional[str] = None  # "tcp://host:port": run on a Dask cluster
    connect_timeout: float = 20.0  # seconds to reach the scheduler
    quiet: bool = False
    progress: str = "auto"  # auto | bar | lines | none
    speed_lock_path: Optional[str] = None  # None: one lock file per machine in its temp dir
    use_speed_lock: bool = True
    speed_slots: Optional[int] = None  # speed measurements at once per machine (None: half its cores, >= 1)
    grace_seconds: float = 30.0  # after Ctrl-C: how long running submissions get to stop
    recheck_timeouts: bool = True  # re-grade alone, at the end, submissions that hit a wall-clock limit
    allow_weak_isolation: bool = False  # grade even where student code could read the grader's secrets


@dataclass
class BatchSummary:
    out_dir: Path
    layout: str
    total: int
    graded: int = 0
    failed: int = 0
    reused: int = 0
    pending: int = 0
    mean: Optional[float] = None
    median: Optional[float] = None
    max_score: float = 0.0
    wall_seconds: float = 0.0
    interrupted: bool = False
    executor: str = ""
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    integrity: str = ""

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if (self.failed or self.pending) else 0

    def format(self) -> str:
        minutes, seconds = divmod(self.wall_seconds, 60)
        wall = f"{int(minutes)}m {seconds:04.1f}s" if minutes else f"{seconds:.1f}s"
        head = "stopped" if self.interrupted else "finished"
        lines = [f"Batch {head}: {self.total} submission(s) ({self.layout}) on {self.executor} in {wall}"]
        parts = [f"graded {self.graded}" + (f" ({self.reused} reused from an earlier run)" if self.reused else ""),
                 f"failed {self.failed} (grader-side)"]
        if self.pending:
            parts.append(f"not graded {self.pending} (run again with --resume)")
        lines.append("  " + " · ".join(parts))
        if self.integrity == "weak":
            lines.append(f"  integrity: {WEAK_WARNING}")
        if self.mean is not None:
            lines.append(f"  score: mean {self.mean:.2f} / {self.max_score:g}, median {self.median:.2f} / "
                         f"{self.max_score:g}")
        for problem in self.problems[:10]:
            lines.append(f"  problem: {problem}")
        if len(self.problems) > 10:
            lines.append(f"  ... and {len(self.problems) - 10} more problem(s)")
        out = self.out_dir
        lines.append(f"  outputs: {out / INDEX_HTML}, {out / GRADES_CSV}, {out / RESULTS_JSONL}")
        return "\n".join(lines)


@dataclass
class _Planned:
    item: BatchItem
    content_hash: str
    input_hash: str
    attempts: int = 0
    rechecking: bool = False  # second grading, alone, because a wall-clock limit was hit under load
    suspect: bool = False  # was in flight when a worker process died
    alone: bool = False  # the current attempt runs with nothing else in flight


class BatchRunner:
    def __init__(self, options: BatchOptions, *, executor: Optional[Executor] = None,
                 reporter_factory: Optional[Callable[[int], Reporter]] = None) -> None:
        self.options = options
        self.out_dir = Path(options.out_dir)
        self._executor = executor
        self._reporter_factory = reporter_factory
        self._stopping = False
        self._force = False
        self._deferring = False
        self._pending_signal = False
        self.problems: list[str] = []

    # -- signals -----------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stopping:
            self._force = True  # second Ctrl-C: stop waiting for running submissions
            return
        if self._deferring:
            self._pending_signal = True  # delivered when the result being recorded is on disk
            return
        self._stopping = True
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        old = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    @contextlib.contextmanager
    def _deferred_signals(self) -> Iterator[None]:
        """Hold Ctrl-C/SIGTERM while one finished result is being recorded (raised right after)."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
            if self._pending_signal and not self._stopping:
                self._pending_signal = False
                self._stopping = True
                raise KeyboardInterrupt

    # -- main --------------------------------------------------------------------

    def run(self, source: Union[Path, str, BatchInput]) -> BatchSummary:
        from grader.checks.numpy_compat import environment_mismatch
        from grader.rubric import load_rubric

        started = time.monotonic()
        rubric = load_rubric(self.options.rubric_path)
        self.rubric = rubric
        self.integrity = _check_integrity(self.options)
        mismatch = environment_mismatch(rubric.environment.numpy)
        if mismatch:
            raise BatchError(f"environment: {mismatch}")
        owns_input = not isinstance(source, BatchInput)
        batch = detect_layout(Path(source)) if owns_input else source
        try:
            if not batch.items:
                raise BatchError("no submissions found")
            self.out_dir.mkdir(parents=True, exist_ok=True)
            dir_lock = FileLock(self.out_dir / DIR_LOCK)
            if not dir_lock.acquire(timeout=0):
                raise BatchError(f"another batch is writing to {self.out_dir}; wait for it or choose another --out")
            try:
                return self._run_locked(batch, rubric, started)
            finally:
                dir_lock.release()
        finally:
            if owns_input:
                batch.cleanup()

    def _run_locked(self, batch: BatchInput, rubric: Any, started: float) -> BatchSummary:
        opts = self.options
        store = ResultStore(self.out_dir / RESULTS_JSONL)
        self.store = store
        previous = store.load()
        summary = BatchSummary(out_dir=self.out_dir, layout=batch.layout, total=len(batch.items),
                               max_score=float(rubric.max_score), notes=list(batch.notes),
                               integrity=self.integrity)
        if store.skipped_lines:
            summary.notes.append(f"{store.skipped_lines} unreadable line(s) in {RESULTS_JSONL} ignored "
                                 "(a run was killed while writing)")
        self.expected_hash: dict[str, Optional[str]] = {}
        todo: list[_Planned] = []
        immediate: list[tuple[BatchItem, dict[str, Any]]] = []
        for item in batch.items:
            try:
                content = submission_hash(item.path)
            except OSError as exc:
                self.expected_hash[item.key] = ""
                immediate.append((item, {"key": item.key, "input_hash": "", "status": STATUS_ERROR,
                                         "error": f"cannot read the submission: {exc}", "result": None}))
                continue
            ih = input_hash(content, rubric.source_hash, __version__)
            self.expected_hash[item.key] = ih
            prev = previous.get(item.key)
            if (opts.resume and prev and prev.get("input_hash") == ih and prev.get("status") == STATUS_GRADED
                    and not prev.get("recheck_pending")):
                summary.reused += 1
                continue
            todo.append(_Planned(item, content, ih))
        if previous and not opts.resume and todo:
            summary.notes.append(f"{RESULTS_JSONL} already had {len(previous)} result(s); everything is regraded "
                                 "(use --resume to keep unchanged ones)")

        executor = self._executor
        owns_executor = executor is None
        interrupted = False
        reporter = (self._reporter_factory or (lambda n: make_reporter(n, quiet=opts.quiet, mode=opts.progress)))(
            len(todo) + len(immediate))
        with self._signals():
            try:
                try:
                    if todo and executor is None:
                        executor = make_executor(jobs=opts.jobs, scheduler=opts.scheduler,
                                                 connect_timeout=opts.connect_timeout)
                    self._current_executor = executor
                    summary.executor = executor.name if executor is not None else "nothing to run"
                    for note in summary.notes:
                        reporter.message(f"note: {note}")
                    reporter.message(
                        f"{len(batch.items)} submission(s) ({batch.layout}); grading {len(todo)}"
                        + (f", reusing {summary.reused}" if summary.reused else "")
                        + (f" on {executor.name}" if executor is not None and todo else ""))
                    for item, outcome in immediate:
                        self._record(item, outcome, content_hash="", attempts=1)
                        reporter.finished(item.label, outcome)
                    if todo:
                        self._grade_all(executor, todo, rubric, reporter)
                except KeyboardInterrupt:
                    interrupted = True
                self._stopping = True  # from here on, signals only ask to hurry
                if interrupted and executor is not None:
                    reporter.message("stopping: pending submissions cancelled, running ones interrupted ...")
                    self._drain(executor, reporter)
            except BaseException:
                # A bug in the loop itself: still leave gradebook and dashboard for what finished.
                self._stopping = True
                reporter.close()
                if owns_executor and executor is not None:
                    executor.kill()
                    executor.shutdown()
                with contextlib.suppress(Exception):
                    self._finalize(batch, rubric, summary)
                raise
            reporter.close()
            if owns_executor and executor is not None:
                executor.shutdown()
            self._finalize(batch, rubric, summary)
        summary.interrupted = interrupted
        summary.wall_seconds = time.monotonic() - started
        summary.problems = self.problems
        return summary

    # -- grading loop --------------------------------------------------------------

    def _task(self, planned: _Planned, rubric: Any, executor: Executor) -> GradeTask:
        item = planned.item
        task = GradeTask(key=item.key, source=item.source, input_hash=planned.input_hash, student=item.student,
                         rubric=rubric, speed_lock_path=self.options.speed_lock_path,
                         speed_slots=self.options.speed_slots, use_speed_lock=self.options.use_speed_lock)
        if executor.ships_payload:
            task.payload = pack_submission(item.path)
        else:
            task.path = str(item.path)
        return task

    def _grade_all(self, executor: Executor, todo: list[_Planned], rubric: Any, reporter: Reporter) -> None:
        """Submit at most a window of tasks at a time; record each outcome as it arrives.

        When a worker process dies (``executor.is_lost_worker``), every task of that pool
        fails; those tasks become *suspects* and are re-run one at a time on fresh workers,
        so an innocent neighbour is never blamed: a suspect whose worker dies while it runs
        alone is recorded as a grader-side failure.
        """
        queue = deque(todo)
        suspects: deque[_Planned] = deque()
        self._inflight: dict[cf.Future, _Planned] = {}
        generation = 0  # bumped by each executor restart
        born: dict[cf.Future, int] = {}
        window = max(1, executor.workers) * 2
        rechecks: deque[_Planned] = deque()
        recheck = self.options.recheck_timeouts and executor.workers > 1
        while queue or suspects or rechecks or self._inflight:
            while ((suspects and not self._inflight) or (not suspects and queue and len(self._inflight) < window)
                   or (rechecks and not suspects and not queue and not self._inflight)):
                if suspects:
                    planned = suspects.popleft()
                elif queue:
                    planned = queue.popleft()
                else:
                    planned = rechecks.popleft()
                    planned.rechecking = True
                planned.alone = planned.suspect or planned.rechecking
                planned.attempts += 1
                try:
                    task = self._task(planned, rubric, executor)
                except OSError as exc:
                    outcome = {"key": planned.item.key, "input_hash": planned.input_hash, "status": STATUS_ERROR,
                               "error": f"cannot read the submission: {exc}", "result": None}
                    with self._deferred_signals():
                        self._record(planned.item, outcome, planned.content_hash, planned.attempts)
                        reporter.finished(planned.item.label, outcome)
                    continue
                try:
                    future = executor.submit(run_task, task)
                except Exception as exc:  # noqa: BLE001 - e.g. the pool broke between two results
                    if not executor.is_lost_worker(exc):
                        raise
                    planned.attempts -= 1
                    (suspects if planned.suspect else queue).appendleft(planned)
                    executor.restart()
                    generation += 1
                    continue
                self._inflight[future] = planned
                born[future] = generation
            done, _ = cf.wait(list(self._inflight), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for future in done:
                planned = self._inflight.pop(future, None)
                if planned is None:
                    continue
                outcome = self._outcome(future, planned)
                if outcome is None:  # cancelled
                    continue
                if outcome.get("lost_worker"):
                    if born.pop(future, generation) == generation:
                        executor.restart()
                        generation += 1
                    if planned.alone:
                        outcome = {"key": planned.item.key, "input_hash": planned.input_hash,
                                   "status": STATUS_ERROR, "result": None,
                                   "error": "the grading process died while grading this submission alone "
                                            f"({outcome.get('error')})"}
                    else:
                        planned.suspect = True
                        suspects.append(planned)
                        continue
                born.pop(future, None)
                if outcome["status"] == STATUS_INTERRUPTED:  # interrupted from outside the batch: again
                    (rechecks if planned.rechecking else queue).appendleft(planned)
                    continue
                if planned.rechecking and outcome["status"] != STATUS_GRADED:
                    reporter.message(f"{planned.item.label}: grading it again alone failed ({outcome.get('error')}); "
                                     "keeping the first result")
                    continue
                needs_recheck = (recheck and not planned.rechecking and outcome["status"] == STATUS_GRADED
                                 and load_sensitive_tests(outcome.get("result")))
                if needs_recheck:
                    outcome["recheck_pending"] = True
                    rechecks.append(planned)
                elif planned.rechecking:
                    outcome["rechecked_alone"] = True
                with self._deferred_signals():
                    self._record(planned.item, outcome, planned.content_hash, planned.attempts)
                    if not planned.rechecking:
                        reporter.finished(planned.item.label, outcome)
                    if needs_recheck:
                        reporter.message(f"{planned.item.label}: hit a time limit while sharing the machine; "
                                         "it will be graded again alone at the end")

    def _outcome(self, future: cf.Future, planned: _Planned) -> Optional[dict[str, Any]]:
        if future.cancelled():
            return None
        exc = future.exception()
        if exc is None:
            return future.result()
        if self._executor_is_lost(exc):
            return {"lost_worker": True, "error": f"{type(exc).__name__}: {exc}"}
        return {"key": planned.item.key, "input_hash": planned.input_hash, "status": STATUS_ERROR,
                "error": f"the task failed in the executor: {type(exc).__name__}: {exc}", "result": None}

    def _executor_is_lost(self, exc: BaseException) -> bool:
        executor = self._current_executor
        return bool(executor is not None and executor.is_lost_worker(exc))

    _current_executor: Optional[Executor] = None

    def _drain(self, executor: Executor, reporter: Reporter) -> None:
        """After an interrupt: stop the executor, keep results that still complete, kill stragglers."""
        inflight: dict[cf.Future, _Planned] = getattr(self, "_inflight", {})
        executor.interrupt()
        deadline = time.monotonic() + self.options.grace_seconds
        while inflight and not self._force and time.monotonic() < deadline:
            done, _ = cf.wait(list(inflight), timeout=0.25, return_when=cf.FIRST_COMPLETED)
            for future in done:
                planned = inflight.pop(future)
                outcome = self._outcome(future, planned)
                # Only complete grades are kept; errors while stopping may be artefacts of the stop.
                if outcome and outcome.get("status") == STATUS_GRADED:
                    self._record(planned.item, outcome, planned.content_hash, planned.attempts)
                    reporter.finished(planned.item.label, outcome)
        if inflight:
            reporter.message(f"killing {len(inflight)} submission(s) that did not stop in time")
            executor.kill()
            cf.wait(list(inflight), timeout=10)
            inflight.clear()

    # -- recording -------------------------------------------------------------------

    def _record(self, item: BatchItem, outcome: dict[str, Any], content_hash: str, attempts: int) -> None:
        result = outcome.get("result")
        status = outcome.get("status", STATUS_ERROR)
        error = outcome.get("error")
        if result and result.get("grader_version") and result["grader_version"] != __version__:
            status = STATUS_ERROR
            error = (f"the worker runs w2v-grader {result['grader_version']} but this batch runs {__version__}; "
                     "install the same version everywhere")
        record = {
            "key": item.key,
            "source": item.source,
            "input_hash": outcome.get("input_hash", ""),
            "content_hash": content_hash,
            "status": status,
            "error": error,
            "student": to_jsonable(item.student),
            "worker": outcome.get("worker", ""),
            "started_at": outcome.get("started_at", ""),
            "finished_at": outcome.get("finished_at", ""),
            "duration": outcome.get("duration", 0.0),
            "attempts": attempts,
            "result": finite(result) if result else None,
        }
        for flag in ("recheck_pending", "rechecked_alone"):
            if outcome.get(flag):
                record[flag] = True
        if outcome.get("traceback"):
            record["traceback"] = outcome["traceback"]
        self.store.append(record)
        self.problems.extend(write_student_files(self.out_dir, item.key, record_result(record, self.rubric,
                                                                                        __version__), self.rubric))

    def _finalize(self, batch: BatchInput, rubric: Any, summary: BatchSummary) -> None:
        records = self.store.load()
        keys = {item.key for item in batch.items}
        kept = [records[k] for k in sorted(records) if k in keys]
        self.store.rewrite(kept)
        current: list[tuple[BatchItem, dict[str, Any]]] = []
        for item in batch.items:
            record = records.get(item.key)
            if record is not None and record.get("input_hash") == self.expected_hash.get(item.key):
                current.append((item, record))
        scores = []
        entries = []
        for item, record in current:
            if record.get("status") == STATUS_GRADED:
                summary.graded += 1
                scores.append(float((record.get("result") or {}).get("score") or 0.0))
            else:
                summary.failed += 1
            result = record_result(record, rubric, __version__)
            entries.append((item, result))
            folder = self.out_dir / item.key
            if not (folder / "report.html").exists() or not (folder / "results.json").exists():
                self.problems.extend(write_student_files(self.out_dir, item.key, result, rubric))
        summary.pending = summary.total - summary.graded - summary.failed
        if scores:
            summary.mean = statistics.fmean(scores)
            summary.median = statistics.median(scores)
        atomic_write_text(self.out_dir / GRADES_CSV, grades_csv(current, rubric.ids()))
        self.problems.extend(write_dashboard(self.out_dir, entries, title=f"{rubric.name}: class overview"))


def load_sensitive_tests(result: Optional[dict[str, Any]]) -> list[str]:
    """Tests of a result decided by a wall-clock limit (a ``timeout`` event): a busy machine can cause those.

    Everything else the engine measures is CPU time or a plain value, which the load of the
    machine does not change; a crash, a syntax error or a missing function is not re-checked.
    """
    if not result:
        return []
    return [t.get("test_id", "") for t in result.get("tests", [])
            if t.get("status") != "passed" and any(e.get("kind") == "timeout" for e in t.get("events") or [])]


WEAK_WARNING = ("weak — student code could read the reference solution and the expected values here (no mount "
                "namespace: run as root on Linux for grades)")


def _check_integrity(options: BatchOptions) -> str:
    """"strong" or "weak" (:func:`grader.sandbox.integrity`); a weak run needs ``allow_weak_isolation``."""
    from grader.sandbox import detect_isolation, integrity

    level = integrity(detect_isolation())
    if level == "weak" and not options.allow_weak_isolation:
        raise BatchError(f"integrity: {WEAK_WARNING}. Pass --allow-weak-isolation to grade anyway (every report and "
                         "the dashboard will say so).")
    return level


def run_batch(source: Union[Path, str, BatchInput], options: BatchOptions, *, executor: Optional[Executor] = None,
              reporter_factory: Optional[Callable[[int], Reporter]] = None) -> BatchSummary:
    """Grade every submission of ``source`` into ``options.out_dir``; see :class:`BatchRunner`."""
    return BatchRunner(options, executor=executor, reporter_factory=reporter_factory).run(source)
