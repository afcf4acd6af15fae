"""Speed measurement: student vs reference CPU time per call, from two concurrent sandbox workers.

Equal fresh sandbox workers (one loading the reference, one the student's
files) alternate: reference, student, reference, student...  Inside a run
the worker announces ``tstart``/``tdone`` around ``reps`` calls and sleeps
briefly at each marker; the parent then reads the kernel's CPU counters of
the worker's whole process tree (``/proc/<pid>/task/*/schedstat``, ns) —
the student's own clocks are never consulted, sleeping costs nothing, and
threads or child processes are counted.  BLAS is pinned to one thread.

:func:`measure` drives both workers block by block through gates (files in the worker's
``gate/`` folder) and returns a :class:`SpeedSample`; the check that turns it into a verdict is
:mod:`grader.checks.speed`.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from grader.results import SandboxEvent
from grader.rubric import Rubric
from grader.sandbox.jobs import run_job
from grader.sandbox.proc_tree import tree_cpu_seconds, tree_pids

SPEED_ORDER = ("sigmoid", "naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient", "skipgram")
"""The order in which functions are timed."""


class SpeedGraderError(RuntimeError):
    """The measurement failed on the grader's side (not the student's code); the text is the traceback."""


@dataclass
class WrongOutput:
    """A timed call whose output differs from the reference's."""

    reason: str
    some_output_right: bool  # e.g. the loss is right and one gradient is wrong


@dataclass
class SpeedSample:
    """CPU seconds per call, per side and call id."""

    student: dict[str, list[float]] = field(default_factory=dict)
    reference: dict[str, list[float]] = field(default_factory=dict)
    capped: dict[str, float] = field(default_factory=dict)  # call id -> ratio lower bound when killed early
    wrong: dict[str, WrongOutput] = field(default_factory=dict)  # call id -> how the timed call's output is wrong
    events: list[SandboxEvent] = field(default_factory=list)
    digests: dict[str, Any] = field(default_factory=dict)  # call id -> digest of the student side's output


def speed_calls(function: str, rubric: Rubric) -> list[dict[str, Any]]:
    """Timed calls of one function at the base size and ``growth_factor`` times it."""
    s = rubric.speed
    calls = []
    for label, factor in (("base", 1), ("grown", s.growth_factor)):
        V, d, K = s.vocab_size * factor, s.dim, s.negatives
        cid = f"speed.{function}.{label}"
        if function == "sigmoid":
            args = [{"random": {"shape": [s.sigmoid_size * factor], "seed": 1, "scale": 4.0}, "vary": True}]
            size = f"n={s.sigmoid_size * factor:,}"
        elif function == "naiveSoftmaxLossAndGradient":
            args = [{"random": {"shape": [d], "seed": 2}}, {"value": 7, "vary_index": V},
                    {"random": {"shape": [V, d], "seed": 3, "scale": 0.1}, "vary": True}, None]
            size = f"V={V:,}, d={d}"
        elif function == "negSamplingLossAndGradient":
            args = [{"random": {"shape": [d], "seed": 4}}, {"value": 0, "vary_index": V},
                    {"random": {"shape": [V, d], "seed": 3, "scale": 0.1}, "vary": True},
                    {"random_dataset": {"seed": 6, "high": V, "length": 997}}, K]
            size = f"V={V:,}, d={d}, K={K}"
        else:  # skipgram with a cheap loss of the right shapes (its own work is timed), window 2, a repeated word
            words = {f"w{i}": i for i in range(12)}
            args = ["w3", 2, [f"w{i}" for i in (1, 2, 4, 2)], {"value": words},
                    {"random": {"shape": [V, d], "seed": 7, "scale": 0.1}, "vary": True},
                    {"random": {"shape": [V, d], "seed": 3, "scale": 0.1}, "vary": True}, None,
                    {"fn": "support:timing_loss"}]
            size = f"V={V:,}, d={d}, 4 outside words"
        inject = {"sigmoid": "support:stable_sigmoid", "getNegativeSamples": "support:get_negative_samples"} \
            if function == "negSamplingLossAndGradient" else {}
        calls.append({"id": cid, "op": "speed", "module": "word2vec", "function": function, "args": args,
                      "inject": inject, "size": size, "factor": factor})
    return calls


def measure(functions: list[str], student_files: dict[str, Path], reference_files: dict[str, Path],
            rubric: Rubric, deadline: Optional[float] = None, utils_prefixes: Sequence[str] = (), *,
            reference_scale: Optional[dict[str, float]] = None,
            expected_digests: Optional[dict[str, Any]] = None) -> SpeedSample:
    """Time every call of ``functions`` in two concurrent workers, alternating block by block.

    The reference worker calibrates the repetition count of each call on its first block; the
    student worker then runs the same count.  Blocks alternate reference, student, reference,
    student... (``blocks`` blocks each), so slow drifts of the machine's load
    hit both sides alike.  A student block that exceeds the no-credit budget is killed.

    Self-check kit (:mod:`grader.expected.kit_store`): ``reference_files`` is the calibration workload;
    ``reference_scale[call id]`` (reference CPU / calibration CPU, measured when the kit was
    built) turns each calibration time into an estimate of the reference's, and
    ``expected_digests`` replaces the reference worker's output digests.
    """
    sample = SpeedSample()
    calls = [c for f in functions for c in speed_calls(f, rubric)]
    if not calls:
        return sample
    blocks = rubric.speed.blocks
    ref = _Side("reference", reference_files, calls, blocks, rubric, deadline, calibrate=True)
    stu = _Side("student", student_files, calls, blocks, rubric, deadline, calibrate=False,
                utils_prefixes=list(utils_prefixes))
    ref.start()
    stu.start()
    try:
        for call in calls:
            cid = call["id"]
            if call["function"] in {c.split(".")[1] for c in sample.capped}:
                sample.capped[cid] = rubric.speed.zero_credit_ratio * 1.5  # its smaller size was already too slow
            sides = [ref] if cid in sample.capped else [ref, stu]
            for side in sides:  # inputs and warm-up on both sides at once; no block starts before both are ready
                side.open_gate(f"{cid}#prep", 1)
            for side in sides:
                side.wait_ready(cid)
            for block in range(blocks):
                if ref.finished_call(cid):
                    break
                if cid in stu.abandoned and cid not in sample.capped:  # nothing left to compare with
                    for rest in range(block, blocks):
                        ref.open_gate(f"{cid}#{rest}", 0)
                    break
                ref_cpu = ref.run_block(cid, block, reps=None)
                if ref_cpu is None:
                    break
                scale = reference_scale.get(cid, 1.0) if reference_scale else 1.0
                sample.reference.setdefault(cid, []).append(ref_cpu / ref.reps[cid] * scale)
                if cid in sample.capped or stu.finished_call(cid):
                    continue
                budget = statistics.median(sample.reference[cid]) * ref.reps[cid] * \
                    rubric.speed.zero_credit_ratio * 1.5
                stu_cpu = stu.run_block(cid, block, reps=ref.reps[cid], budget=max(0.2, budget))
                if stu_cpu is None:
                    if cid in stu.killed:
                        sample.capped[cid] = rubric.speed.zero_credit_ratio * 1.5
                    continue
                sample.student.setdefault(cid, []).append(stu_cpu / ref.reps[cid])
    finally:
        ref.close()
        stu.close()
    failed = [f"{side.label} worker: {side.error}" for side in (ref, stu) if side.error]
    if failed:
        raise SpeedGraderError("\n".join(failed))
    sample.events = stu.events()
    sample.digests = {c["id"]: stu.digest(c["id"]) for c in calls}
    expected = expected_digests if expected_digests is not None else {c["id"]: ref.digest(c["id"]) for c in calls}
    sample.wrong = _wrong_outputs(expected, sample.digests, calls)
    return sample


def _wrong_outputs(expected_digests: dict[str, Any], student_digests: dict[str, Any],
                   calls: list[dict[str, Any]]) -> dict[str, WrongOutput]:
    """Timed calls whose output (shape + projections) differs from the reference's."""
    wrong = {}
    for call in calls:
        expected, got = expected_digests.get(call["id"]), student_digests.get(call["id"])
        if expected is None or got is None:
            continue
        got = got if isinstance(got, list) else []  # the student's worker wrote it: untrusted
        right = [_same_digest(e, g) for e, g in zip(expected, got)]
        if len(got) != len(expected):
            wrong[call["id"]] = WrongOutput("the timed call did not return the right number of outputs", False)
        elif not all(right):
            first = right.index(False)
            wrong[call["id"]] = WrongOutput(f"output {first + 1} of the timed call ({call['size']}) is not the "
                                            "right answer", any(right))
    return wrong


def _same_digest(e: dict[str, Any], g: Any) -> bool:
    """Same shape and the same projection (``g`` comes from the student's worker: untrusted)."""
    try:
        if not _same_shape(e["shape"], g["shape"]) or g["projection"] is None or e["projection"] is None:
            return False
        return abs(float(g["projection"]) - e["projection"]) <= 1e-4 * max(1.0, abs(e["projection"]))
    except (TypeError, KeyError, ValueError, IndexError):
        return False


class _Side:
    """One worker (reference or student) running all timed calls, driven block by block via gates."""

    def __init__(self, label: str, files: dict[str, Path], calls: list[dict[str, Any]], blocks: int,
                 rubric: Rubric, deadline: Optional[float], calibrate: bool,
                 utils_prefixes: Optional[list[str]] = None) -> None:
        self.label = label
        self.rubric = rubric
        self.clock = _TreeClock()
        self.clock.on_kill = self._on_kill
        self.cond = threading.Condition()
        self.marks: dict[str, float] = {}  # "tstart cid#k" / "tdone cid#k" -> CPU seconds
        self.budgets: dict[str, float] = {}  # "cid#k" -> CPU seconds allowed for that block
        self.done_calls: set[str] = set()
        self.ready: set[str] = set()  # calls whose inputs are built and warmed up
        self.abandoned: set[str] = set()  # calls a dead worker left unfinished (blamed or skipped by run_job)
        self.reps: dict[str, int] = {}
        self.killed: list[str] = []
        self.workdir: Optional[Path] = None
        self.finished = False
        self.run = None
        self.error: Optional[str] = None  # traceback of a grader-side failure of this side's thread
        job_calls = [{**c, "samples": blocks, "gated": True, **({"calibrate": rubric.speed.min_reference_cpu}
                                                                 if calibrate else {})} for c in calls]
        self.job = {"modules": ["word2vec"], "calls": job_calls, "utils_prefixes": utils_prefixes or []}
        self.files = files
        self.deadline = deadline
        self.thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _main(self) -> None:
        try:
            self.run = run_job(self.files, self.job, {}, self.rubric.limits, deadline=self.deadline,
                               on_control_line=self._on_line, on_spawn=self.clock.set_root,
                               on_workdir=self._on_workdir)
        except Exception:  # noqa: BLE001 - a grader bug, reported by measure(), never blamed on the student
            self.error = traceback.format_exc(limit=8)
        finally:
            with self.cond:
                self.finished = True
                self.cond.notify_all()

    def _on_workdir(self, workdir: Path, pending: list[str]) -> None:
        """A worker run starts in ``workdir`` with ``pending`` calls; the others not done were left behind."""
        with self.cond:
            self.workdir = workdir
            self.abandoned |= {c["id"] for c in self.job["calls"]} - set(pending) - self.done_calls
            self.cond.notify_all()

    def _on_line(self, line: str, root: Optional[int]) -> None:
        word, _, rest = line.partition(" ")
        if word in ("tstart", "tdone"):
            value = self.clock.cpu()
            if word == "tdone":
                self.clock.unwatch()
            elif rest in self.budgets:  # armed here, in the reader thread, so it can never outlive its block
                self.clock.watch(rest.split("#", 1)[0], value + self.budgets[rest])
            self._acknowledge(f"{word}_{rest}")
            with self.cond:
                self.marks[f"{word} {rest}"] = value
                self.cond.notify_all()
        elif word == "ready":
            with self.cond:
                self.ready.add(rest)
                self.cond.notify_all()
        elif word == "reps" and self.label == "reference":  # trusted: only the reference calibrates
            cid, _, count = rest.partition(" ")
            with self.cond:
                self.reps[cid] = max(1, int(count))
                self.cond.notify_all()
        elif word == "done":
            with self.cond:
                self.done_calls.add(rest)
                self.cond.notify_all()

    def _acknowledge(self, marker: str) -> None:
        """Tell the worker its marker's CPU reading is taken, so it may start (or stop) working."""
        with self.cond:
            workdir = self.workdir
        if workdir is not None and "/" not in marker and marker.isprintable():
            with contextlib.suppress(OSError):
                (workdir / "gate" / f"{marker}.ack").touch()

    def _on_kill(self, cid: str) -> None:
        with self.cond:
            self.killed.append(cid)
            self.cond.notify_all()

    def finished_call(self, cid: str) -> bool:
        with self.cond:
            return self._over(cid)

    def _over(self, cid: str) -> bool:
        """``cid`` will send nothing more (caller holds ``cond``)."""
        return cid in self.done_calls or cid in self.killed or cid in self.abandoned or self.finished

    def open_gate(self, marker: str, count: int, timeout: Optional[float] = None) -> bool:
        """Let the worker pass gate ``marker`` with ``count`` (0: skip); False if the worker never came up."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.workdir is not None or self.finished,
                                      timeout=timeout or self.rubric.limits.call_wall_timeout):
                return False
            if self.finished:
                return False
            gate = self.workdir / "gate"
        tmp = gate / f".{marker}.tmp"
        with contextlib.suppress(OSError):
            tmp.write_text(str(count))
            tmp.rename(gate / marker)
        return True

    def wait_ready(self, cid: str) -> None:
        """Until the worker has built ``cid``'s inputs and warmed up (or finished/stopped that call)."""
        with self.cond:
            self.cond.wait_for(lambda: cid in self.ready or self._over(cid),
                               timeout=self.rubric.limits.call_wall_timeout)

    def run_block(self, cid: str, block: int, reps: Optional[int], budget: Optional[float] = None) -> Optional[float]:
        """Open the gate for block ``block`` of ``cid``; CPU seconds of the block, or None if it did not finish."""
        marker = f"{cid}#{block}"
        limit = self.rubric.limits.call_wall_timeout + (budget or 0)
        if budget is not None:
            self.budgets[marker] = budget
        if not self.open_gate(marker, reps if reps is not None else self.reps.get(cid, 1), timeout=limit):
            return None
        with self.cond:
            started = self.cond.wait_for(lambda: f"tstart {marker}" in self.marks or self._over(cid), timeout=limit)
            if not started or f"tstart {marker}" not in self.marks:
                return None
            start = self.marks[f"tstart {marker}"]
        with self.cond:
            self.cond.wait_for(lambda: f"tdone {marker}" in self.marks or self._over(cid), timeout=limit)
            end = self.marks.get(f"tdone {marker}")
        return None if end is None else end - start

    def close(self) -> None:
        """Let the worker finish: open every remaining gate with a count of 0 (skip), then wait."""
        deadline = time.monotonic() + self.rubric.limits.worker_timeout
        while self.thread.is_alive() and time.monotonic() < deadline:
            with self.cond:
                workdir = self.workdir
            if workdir is not None:
                for call in self.job["calls"]:
                    for block in ["prep", *range(call["samples"])]:
                        with contextlib.suppress(OSError):
                            path = workdir / "gate" / f"{call['id']}#{block}"
                            if not path.exists():
                                path.write_text("0")
            self.thread.join(timeout=0.2)
        self.clock.stop()

    def digest(self, cid: str) -> Optional[list[dict[str, Any]]]:
        outcome = self.run.outcomes.get(cid) if self.run is not None else None
        return outcome.meta.get("digest") if outcome is not None and outcome.meta else None

    def events(self) -> list[SandboxEvent]:
        out: list[SandboxEvent] = []
        if self.run is None:
            return out
        stopped = {cid.split(".")[1] for cid in self.killed}  # functions whose timing the grader stopped
        for cid, outcome in self.run.outcomes.items():
            if cid in self.killed or cid.split(".")[1] in stopped:
                continue  # our own kill (too slow), and the calls skipped because of it: not the student's crash
            if outcome.event is not None:
                out.append(outcome.event)
            elif outcome.raised:
                exc = outcome.raised
                out.append(SandboxEvent("crash", f"{cid}: your function raised {exc.get('type')}",
                                        exc.get("message", "")))
        return out


class _TreeClock:
    """CPU seconds of a process and all its descendants, from /proc (kernel accounting)."""

    def __init__(self) -> None:
        self.root: Optional[int] = None
        self.on_kill = None
        self._watch: Optional[tuple[str, float]] = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watchdog, daemon=True)
        self._thread.start()

    def set_root(self, pid: int) -> None:
        self.root = pid

    def pids(self) -> list[int]:
        return [] if self.root is None else tree_pids(self.root)

    def cpu(self) -> float:
        """CPU seconds of the worker's whole process tree (see :mod:`grader.sandbox.proc_tree`)."""
        return 0.0 if self.root is None else tree_cpu_seconds(self.root)

    def watch(self, cid: str, limit: float) -> None:
        self._watch = (cid, limit)

    def unwatch(self) -> None:
        self._watch = None

    def _watchdog(self) -> None:
        while not self._stop.wait(0.05):
            watch = self._watch
            if watch is None or self.cpu() <= watch[1]:
                continue
            self._watch = None
            if self.on_kill:
                self.on_kill(watch[0])
            for pid in reversed(self.pids()[1:]):
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)

    def stop(self) -> None:
        self._stop.set()


def _same_shape(expected: Optional[list[int]], got: Optional[list[int]]) -> bool:
    """Equal shapes; a scalar loss may come back as any size-1 array (accepted, as in correctness)."""
    if expected == [] and got is not None:
        return all(n == 1 for n in got)
    return expected == got


