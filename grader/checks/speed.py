"""Speed: student vs reference CPU time per call, measured from outside the student's process.

Equal fresh sandbox workers (one loading the reference, one the student's
files) alternate: reference, student, reference, student...  Inside a run
the worker announces ``tstart``/``tdone`` around ``reps`` calls and sleeps
briefly at each marker; the parent then reads the kernel's CPU counters of
the worker's whole process tree (``/proc/<pid>/task/*/schedstat``, ns) —
the student's own clocks are never consulted, sleeping costs nothing, and
threads or child processes are counted.  BLAS is pinned to one thread.
The verdict uses the median of per-pair ratios at the largest size; the
growth from V to 4V tells a loop over the vocabulary (time per extra word
far above the reference's) from constant overhead such as a loop over K.
Scores are quantised (full / half / none) so noise near a threshold cannot
make regrading flip points except right at the boundary.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from grader.execute import run_job
from grader.results import SandboxEvent, SpeedMeasurement, SpeedVerdict, Status, TestResult
from grader.rubric import Rubric, TestSpec

from .base import new_result
from .hints import category_hint, hint_for

PARTIAL_FRACTION = 0.5


@dataclass
class SpeedSample:
    """CPU seconds per call, per side and call id."""

    student: dict[str, list[float]] = field(default_factory=dict)
    reference: dict[str, list[float]] = field(default_factory=dict)
    capped: dict[str, float] = field(default_factory=dict)  # call id -> ratio lower bound when killed early
    events: list[SandboxEvent] = field(default_factory=list)


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
        else:  # skipgram with the pseudo loss, window 5 (10 outside words)
            words = {f"w{i}": i for i in range(12)}
            args = ["w3", 5, [f"w{i}" for i in (1, 2, 4, 5, 6, 7, 8, 9, 10, 2)], {"value": words},
                    {"random": {"shape": [V, d], "seed": 7, "scale": 0.1}, "vary": True},
                    {"random": {"shape": [V, d], "seed": 3, "scale": 0.1}, "vary": True}, None,
                    {"fn": "support:pseudo_loss"}]
            size = f"V={V:,}, d={d}, 10 outside words"
        inject = {"sigmoid": "support:stable_sigmoid", "getNegativeSamples": "support:get_negative_samples"} \
            if function == "negSamplingLossAndGradient" else {}
        calls.append({"id": cid, "op": "speed", "module": "word2vec", "function": function, "args": args,
                      "inject": inject, "size": size, "factor": factor})
    return calls


def measure(functions: list[str], student_files: dict[str, Path], reference_files: dict[str, Path],
            rubric: Rubric, deadline: Optional[float] = None) -> SpeedSample:
    """Interleaved runs (reference, student, reference, student...) timing every call of ``functions``."""
    sample = SpeedSample()
    calls = [c for f in functions for c in speed_calls(f, rubric)]
    if not calls:
        return sample
    per_run = rubric.speed.samples_per_run
    reps: dict[str, int] = {}
    job = {"modules": ["word2vec"], "calls": []}
    for round_index in range(rubric.speed.pairs):
        if round_index == 0:
            ref_calls = [{**c, "samples": per_run, "calibrate": rubric.speed.min_reference_cpu} for c in calls]
        else:
            ref_calls = [{**c, "samples": per_run, "reps": reps[c["id"]]} for c in calls if c["id"] in reps]
        ref = _timed_run(reference_files, {**job, "calls": ref_calls}, rubric, deadline, None)
        if round_index == 0:
            reps = dict(ref.reps)
        for cid, values in ref.per_call.items():
            sample.reference.setdefault(cid, []).extend(values)
        student_calls = [{**c, "samples": per_run, "reps": reps[c["id"]]} for c in calls
                         if c["id"] in reps and c["id"] not in sample.capped]
        if not student_calls:
            break
        budget = {cid: _budget(sample.reference[cid], reps[cid], rubric) for cid in reps if cid in sample.reference}
        stu = _timed_run(student_files, {**job, "calls": student_calls}, rubric, deadline, budget)
        for cid, values in stu.per_call.items():
            sample.student.setdefault(cid, []).extend(values)
        for cid in stu.killed:
            sample.capped[cid] = rubric.speed.zero_credit_ratio * 1.5
        known = {(e.kind, e.message) for e in sample.events}
        sample.events += [e for e in stu.events if (e.kind, e.message) not in known]
        if deadline is not None and time.monotonic() > deadline:
            break
    return sample


def _budget(ref_values: list[float], reps: int, rubric: Rubric) -> float:
    """CPU seconds after which a student block is stopped: it is too slow for any credit."""
    return max(0.2, statistics.median(ref_values) * reps * rubric.speed.zero_credit_ratio * 1.5)


@dataclass
class _TimedRun:
    per_call: dict[str, list[float]] = field(default_factory=dict)  # CPU seconds per call, one per block
    reps: dict[str, int] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)
    events: list[SandboxEvent] = field(default_factory=list)


def _timed_run(files: dict[str, Path], job: dict[str, Any], rubric: Rubric, deadline: Optional[float],
               budget: Optional[dict[str, float]]) -> _TimedRun:
    timed = _TimedRun()
    clock = _TreeClock()
    starts: dict[str, float] = {}
    blocks: dict[str, list[float]] = {}
    reps = {c["id"]: int(c.get("reps", 1)) for c in job["calls"]}

    def on_line(line: str, root: Optional[int]) -> None:
        word, _, marker = line.partition(" ")
        cid = marker.split("#", 1)[0]
        if cid not in reps:
            return
        if word == "tstart":
            starts[marker] = clock.cpu()
            if budget and cid in budget:
                clock.watch(cid, starts[marker] + budget[cid])
        elif word == "tdone" and marker in starts:
            clock.unwatch()
            blocks.setdefault(cid, []).append(clock.cpu() - starts.pop(marker))

    clock.on_kill = timed.killed.append
    try:
        run = run_job(files, job, {}, rubric.limits, deadline=deadline, on_control_line=on_line,
                      on_spawn=clock.set_root)
    finally:
        clock.stop()
    for cid, outcome in run.outcomes.items():
        if outcome.meta and outcome.meta.get("reps"):
            reps[cid] = int(outcome.meta["reps"])
    timed.reps = {cid: n for cid, n in reps.items() if cid in blocks}
    timed.per_call = {cid: [v / reps[cid] for v in values] for cid, values in blocks.items()
                      if cid not in timed.killed}
    for cid, outcome in run.outcomes.items():
        if outcome.event is not None and cid not in timed.killed:
            timed.events.append(outcome.event)
        elif outcome.raised:
            exc = outcome.raised
            timed.events.append(SandboxEvent("crash", f"{cid}: your function raised {exc.get('type')}",
                                             exc.get("message", "")))
    return timed


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
        if self.root is None:
            return []
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat[stat.rindex(")") + 2:].split()[1])
                children.setdefault(ppid, []).append(int(entry))
        tree, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        return tree

    def cpu(self) -> float:
        """Σ over the tree of max(live threads' schedstat ns, process utime+stime) + reaped children.

        schedstat is exact but forgets threads that have exited; utime+stime (clock ticks)
        includes them.  Taking the larger of the two keeps nanosecond precision for ordinary
        code and still counts work hidden in short-lived threads.
        """
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2:].split()
                process = (int(fields[11]) + int(fields[12])) / tick  # utime + stime, dead threads included
                reaped = (int(fields[13]) + int(fields[14])) / tick  # cutime + cstime
                live = 0.0
                for task in os.listdir(f"/proc/{pid}/task"):
                    with contextlib.suppress(OSError, ValueError):
                        live += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0]) / 1e9
                total += max(live, process) + reaped
        return total

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


def verdict(function: str, sample: SpeedSample, rubric: Rubric) -> SpeedVerdict:
    """Turn the samples of one function into a SpeedVerdict."""
    s = rubric.speed
    calls = speed_calls(function, rubric)
    measurements = []
    for call in calls:
        cid = call["id"]
        stu, ref = sample.student.get(cid, []), sample.reference.get(cid, [])
        if ref and stu:
            ratios = [a / b for a, b in zip(stu, ref) if b > 0]
            measurements.append(SpeedMeasurement(function, call["size"], statistics.median(stu),
                                                 statistics.median(ref), statistics.median(ratios), len(ratios)))
    capped = [sample.capped[c["id"]] for c in calls if c["id"] in sample.capped]
    if capped:
        cap = max(capped)
        return SpeedVerdict(function, measurements, cap, None, None, True, "too_slow",
                            f"Your function needed more than {cap:g}× the reference's CPU time, so the timing was "
                            "stopped early. That usually means a Python loop over the vocabulary (or over every "
                            "element); use matrix operations instead.")
    if len(measurements) < 2:
        return SpeedVerdict(function, measurements, float("nan"), None, None, False, "not_measured",
                            "Your function could not be timed (it failed or did not finish).")
    small, large = measurements
    ratio = large.ratio
    growth_s = large.student_seconds / small.student_seconds if small.student_seconds > 0 else None
    growth_r = large.reference_seconds / small.reference_seconds if small.reference_seconds > 0 else None
    slope_s = large.student_seconds - small.student_seconds
    slope_r = max(large.reference_seconds - small.reference_seconds, 1e-12)
    loops = bool(growth_s and growth_s > 2.5 and slope_s / slope_r > s.full_credit_ratio * s.loop_growth_margin)
    label = "fast" if ratio <= s.full_credit_ratio else ("slow" if ratio <= s.zero_credit_ratio else "too_slow")
    return SpeedVerdict(function, measurements, ratio, growth_s, growth_r, loops, label,
                        _explain(label, ratio, growth_s, growth_r, loops, s.growth_factor))


def _explain(label: str, ratio: float, growth_s, growth_r, loops: bool, factor: int) -> str:
    text = f"Your function takes {ratio:.1f}× the reference's CPU time."
    if growth_s and growth_r:
        text += f" Going from V to {factor}V multiplies your time by {growth_s:.1f} (reference: {growth_r:.1f})."
    if loops:
        text += (" Each extra vocabulary word costs you far more than it costs the reference: this is the signature "
                 "of a Python loop over the vocabulary. Replace it with matrix operations (e.g. outsideVectors @ v).")
    elif label == "fast":
        text += " That is vectorised well enough."
    else:
        text += " Look for Python loops or repeated work inside the function."
    return text


def evaluate(spec: TestSpec, verdict_: SpeedVerdict, events: list[SandboxEvent], rubric: Rubric) -> TestResult:
    result = new_result(spec)
    result.speed = verdict_
    result.events = events
    factor = {"fast": 1.0, "slow": PARTIAL_FRACTION}.get(verdict_.verdict, 0.0)
    result.score = round(spec.points * factor, 4)
    result.status = Status.PASSED if factor == 1.0 else (Status.PARTIAL if factor else (
        Status.ERROR if verdict_.verdict == "not_measured" else Status.FAILED))
    result.summary = verdict_.explanation
    if result.status != Status.PASSED:
        result.hint = hint_for(spec.id) or category_hint(spec.id) if spec.visibility == "visible" \
            else category_hint(spec.id)
    return result
