"""Speed measurement: the student's worker and a reference worker take turns, every block driven and read by the parent.

Nothing the student's process says about time or repetitions is believed:

* **the parent decides** each block's repetition count (calibrated on the reference worker) and its
  seed (fresh, unpredictable: ``secrets``); the worker draws every repetition's inputs from that
  seed *inside* the timed block (a fresh center vector, index, sampler script, loss shift, a
  shifted copy of a pool matrix), so no answer can be prepared or cached in advance;
* **the parent reads the time**: the kernel's CPU counters of the whole run (its cgroup, else its
  process tree) just before sending the block and just after its reply, with every process of
  the run *frozen* (SIGSTOP) so nothing computed after the reply can count as done in time;
* **the parent checks the answers**: while the run is frozen it reads the outputs of randomly
  chosen repetitions straight out of the worker's memory (:mod:`grader.sandbox.proc_memory`) --
  chosen after the block, so every repetition must have been computed -- and compares them with
  the reference's outputs for the same seed and repetitions.

Blocks alternate reference, student, reference, student... so slow drifts of the machine hit both
alike.  A student's first block is a single repetition (a probe): a Python loop over the
vocabulary is recognised from it without paying for whole blocks of it, and a block that uses far
more CPU than a loop ever would is stopped (the run is killed; the next function gets a new
worker).  The reference's cost per Python loop iteration and per vectorised pass over a row
(:class:`LoopCosts`) is measured on the reference worker too, so that the verdict
(:mod:`grader.checks.speed`) compares the student's extra time with what a loop costs *on this
machine*.

A batch keeps one :class:`ReferenceTimer` per grading process (:func:`shared_reference_timer`):
its reference series, repetition counts and loop costs serve every submission, refreshed by one
fresh reference block per function per submission (and rebuilt when that block drifts).
"""

from __future__ import annotations

import contextlib
import random
import secrets
import statistics
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from grader.results import SandboxEvent
from grader.rubric import Rubric
from grader.sandbox.proc_memory import ArrayLocation, MemoryReadError
from grader.sandbox.session import WorkerSession

from .numpy_compat import with_explanation
from .reference_timer import (  # noqa: F401 - re-exported: the speed check's one public face
    DRIFT,
    FLOAT_DTYPES,
    MAX_REPS,
    REFERENCE_SERIES,
    SHARED_USES,
    SPEED_ORDER,
    LoopCosts,
    ReferenceTimer,
    SpeedGraderError,
    TimedFunction,
    close_shared_timers,
    shared_reference_timer,
    timed_functions,
)


@dataclass
class WrongOutput:
    """A timed call whose output differs from the reference's."""

    reason: str
    some_output_right: bool  # e.g. the loss is right and one gradient is wrong


@dataclass
class FunctionTiming:
    """What was measured for one function (CPU seconds per call)."""

    function: str
    size_label: str
    units: int
    unit: str
    reps: int = 0
    """Repetitions of a reference block."""
    student_reps: int = 0
    """Repetitions of a student block (chosen by the parent from the probe: blocks of similar CPU time)."""
    reference: list[float] = field(default_factory=list)
    student: list[float] = field(default_factory=list)
    probe: Optional[float] = None
    """The student's one-repetition probe block (CPU seconds), if it ran."""
    stopped_early: bool = False
    """The student's timing used far more CPU than a loop would and was stopped."""
    wrong: Optional[WrongOutput] = None
    verified: int = 0
    """Student repetitions whose outputs the grader read back and compared."""
    failure: Optional[SandboxEvent] = None
    """The student's function raised, or its worker died, while being timed."""
    growth: Optional[float] = None
    """Student CPU per call at V over that at V/4 (rows only; measured for a function that looks like a loop):
    about 4 for a loop over the vocabulary, about 16 for an O(V²) computation."""
    printed_per_call: float = 0.0
    """Characters the function printed per timed call, as the worker reported them: used in words, and to
    withhold credit from a flood of output (a lie can only lower the student's own verdict)."""
    writes_per_call: float = 0.0
    """``write`` calls behind those characters, as the worker reported them (words only)."""


@dataclass
class SpeedSample:
    """The measurement of every timed function, with the machine's loop costs."""

    timings: dict[str, FunctionTiming] = field(default_factory=dict)
    loops: Optional[LoopCosts] = None
    events: list[SandboxEvent] = field(default_factory=list)
    verified: bool = True
    """Timed outputs were read back and checked (False in a self-check kit: no reference to check with)."""
    estimated: bool = False
    """The reference's times are estimates from a calibration workload (self-check kit)."""


# --- measuring one submission -------------------------------------------------------------------------

StudentSessions = Callable[[], WorkerSession]
"""Gives the student's serving worker: the correctness job's at first, a fresh one after a worker died."""


def measure(functions: list[str], student: StudentSessions, reference: ReferenceTimer, rubric: Rubric, *,
            fresh_reference_blocks: Optional[int] = None, verify: bool = True,
            deadline: Optional[float] = None) -> SpeedSample:
    """Time ``functions`` (in :data:`SPEED_ORDER`) on the student's worker against ``reference``.

    ``fresh_reference_blocks``: reference blocks timed for this submission per function (default:
    ``blocks``; a shared timer in batch mode uses 1 and its series).  ``verify``: read back and
    check timed outputs (the kit cannot: it has no reference outputs).
    """
    sample = SpeedSample(verified=verify, estimated=reference.scale is not None)
    try:
        with reference.lock:
            sample.loops = reference.loop_costs()
            for function in [f for f in SPEED_ORDER if f in functions]:
                if deadline is not None and time.monotonic() > deadline:
                    break
                sample.timings[function] = _measure_one(reference.functions[function], student, reference, rubric,
                                                        fresh_reference_blocks, verify)
    except SpeedGraderError:
        raise
    except Exception:  # noqa: BLE001 - a grader bug, reported as ours
        raise SpeedGraderError(traceback.format_exc(limit=8)) from None
    sample.events = [t.failure for t in sample.timings.values() if t.failure is not None]
    return sample


def _measure_one(timed: TimedFunction, student: StudentSessions, reference: ReferenceTimer, rubric: Rubric,
                 fresh_blocks: Optional[int], verify: bool) -> FunctionTiming:
    s = rubric.speed
    cid = timed.function
    timing = FunctionTiming(cid, timed.size_label, timed.units, timed.unit)
    reference.prepare(cid, timed.call)
    reps = timing.reps = reference.calibrate(cid)
    scale = reference.scale.get(cid, 1.0) if reference.scale else 1.0
    loops = reference.loop_costs()
    loop_rep = loops.per_unit(timed.unit) * timed.units  # CPU seconds of the cheapest loop, per call
    session = student()
    if not _quiet(session):  # an earlier function left work running in the background: a fresh worker
        session.kill()
        session.wait_for(lambda: False, 5.0)
        session = student()
    try:
        if not _prepare_student(session, cid, timed, timing, rubric):
            return timing
        fresh = s.blocks if fresh_blocks is None else fresh_blocks
        reference_rep = _reference_block(reference, cid, reps, scale, force=True)
        timing.reference = list(reference.series.get(cid, []))  # so that a student stopped early is judged
        # probe: one repetition tells a loop over the vocabulary at once, and how many repetitions to run
        probe_budget = reference_rep + 4 * s.loop_fraction * loop_rep + 0.05
        probe = _probe(session, cid, timing, probe_budget)
        if probe is None and timing.stopped_early and timing.failure is None:
            session = _fresh_session(student, session)  # a one-off stall, or a loop: a second worker decides
            timing.stopped_early = False
            if not _prepare_student(session, cid, timed, timing, rubric):
                return timing
            probe = _probe(session, cid, timing, probe_budget)
        if probe is None:
            if timing.stopped_early and timed.unit == "row":
                session = _fresh_session(student, session)
                if session.wait_ready(rubric.limits.call_wall_timeout):
                    timing.growth = _growth(session, timed, rubric, None)
            return timing
        if probe - reference_rep >= 2 * s.loop_fraction * loop_rep:
            # one repetition is one sample: a page-reclaim stall or a GC pass can cost as much as a loop.
            # A second probe decides; the faster of the two counts.
            again = _probe(session, cid, timing, probe_budget)
            if timing.failure is not None:
                return timing
            timing.stopped_early = False  # the first probe finished: it stands
            probe = min(probe, again) if again is not None else probe
        timing.probe = probe
        if probe - reference_rep >= 2 * s.loop_fraction * loop_rep:
            timing.student.append(probe)
            if timed.unit == "row":
                timing.growth = _growth(session, timed, rubric, probe)
        else:
            student_reps = timing.student_reps = max(1, min(reps, round(2 * s.block_cpu / max(probe, 1e-7))))
            for block in range(s.blocks):
                if 0 < block < fresh:
                    reference_rep = _reference_block(reference, cid, reps, scale, force=True)
                budget = 4 * student_reps * max(probe, reference_rep) + 0.05
                per_rep = _student_block(session, cid, student_reps, secrets.randbits(62), budget=budget,
                                         timing=timing, check=(reference, rubric) if verify else None)
                if per_rep is None:
                    return timing
                timing.student.append(per_rep)
                if timing.wrong is not None:
                    break
        timing.reference = list(reference.series.get(cid, []))
    finally:
        if not session.finished:
            with contextlib.suppress(Exception):
                session.request({"op": "release", "id": cid}, rubric.limits.call_wall_timeout)
    return timing


GROWTH_DIVISOR = 4
"""The growth probe times the function at V / this."""


def _probe_at(session: WorkerSession, function: str, vocab_size: int, rubric: Rubric, budget: float
              ) -> Optional[float]:
    """CPU seconds of one call of ``function`` at V = ``vocab_size`` on ``session`` (None if it failed)."""
    small = timed_functions(rubric, max(16, vocab_size))[function]
    cid = f"{function}.V{vocab_size}"
    scratch = FunctionTiming(cid, small.size_label, small.units, small.unit)
    try:
        reply = session.request({"op": "prepare", "id": cid, "call": small.call, "seed": 0},
                                rubric.limits.call_wall_timeout)
        if reply is None or reply.get("status") != "ok":
            return None
        spent = _probe(session, cid, scratch, budget)
        if not session.finished:
            session.request({"op": "release", "id": cid}, rubric.limits.call_wall_timeout)
    except Exception:  # noqa: BLE001 - a growth probe is advice: any failure only drops the advice
        return None
    return spent


def _growth(session: WorkerSession, timed: TimedFunction, rubric: Rubric, probe: Optional[float]
            ) -> Optional[float]:
    """How the student's cost grows when V grows ×4 (words only: the message may name an O(V²)
    computation; the verdict is the loop's either way).  ``probe``: one call at V, or None when that
    call was stopped early -- then V/8 and V/2 are compared instead."""
    V = rubric.speed.vocab_size
    if probe is not None:
        quarter = _probe_at(session, timed.function, V // GROWTH_DIVISOR, rubric, budget=probe + 0.05)
        return probe / quarter if quarter else None
    eighth = _probe_at(session, timed.function, V // (2 * GROWTH_DIVISOR), rubric, budget=1.0)
    half = _probe_at(session, timed.function, V // 2, rubric, budget=2.0) if eighth else None
    return half / eighth if half and eighth else None


def _probe(session: WorkerSession, cid: str, timing: FunctionTiming, budget: float) -> Optional[float]:
    """One untimed-output repetition (CPU seconds); None when it failed or used more than ``budget``."""
    return _student_block(session, cid, 1, secrets.randbits(62), timing=timing, budget=budget)


def _fresh_session(student: StudentSessions, session: WorkerSession) -> WorkerSession:
    """A new student worker in place of ``session`` (killed if it still runs)."""
    if not session.finished:
        session.kill()
        session.wait_for(lambda: False, 5.0)
    return student()


QUIET_WINDOW = 0.03
"""Seconds a worker must stay idle (no CPU) before a function is timed on it."""


def _quiet(session: WorkerSession) -> bool:
    """Does the (idle) worker use no CPU?  A thread or process the student's code left running would be
    timed with the next function; a worker that is not quiet is replaced."""
    if session.finished or not session.wait_ready(5.0):
        return True  # nothing to check: student() starts a fresh one if needed
    before = session.cpu_seconds()
    time.sleep(QUIET_WINDOW)
    return session.cpu_seconds() - before < QUIET_WINDOW / 5


def _reference_block(reference: ReferenceTimer, cid: str, reps: int, scale: float, force: bool) -> float:
    """Time one reference block (when ``force`` or the series is empty); the series' median per call."""
    if force or not reference.series.get(cid):
        reference.record(cid, reference.block(cid, reps, secrets.randbits(62)) * scale)
    return statistics.median(reference.series[cid])


def _prepare_student(session: WorkerSession, cid: str, timed: TimedFunction, timing: FunctionTiming,
                     rubric: Rubric) -> bool:
    """Build the student side's inputs and warm it up; False (with the failure recorded) if it could not."""
    if not session.wait_ready(rubric.limits.call_wall_timeout):
        timing.failure = SandboxEvent("crash", f"{cid}: the worker that times your function did not start.",
                                      function=cid)
        return False
    reply = session.request({"op": "prepare", "id": cid, "call": timed.call, "seed": 0},
                            rubric.limits.call_wall_timeout)
    return _reply_ok(reply, session, cid, timing, "while being prepared for timing")


def _student_block(session: WorkerSession, cid: str, reps: int, seed: int, *, budget: float,
                   timing: FunctionTiming, check: Optional[tuple[ReferenceTimer, Rubric]] = None) -> Optional[float]:
    """Time one student block (CPU seconds per repetition); None when it failed or was stopped."""
    before = session.cpu_seconds()
    reply = session.request({"op": "block", "id": cid, "reps": reps, "seed": seed},
                            timeout=max(30.0, budget * 20), cpu_budget=budget, cpu_start=before)
    if session.over_budget:
        timing.stopped_early = True
        return None
    frozen = session.freeze()
    try:
        spent = session.cpu_seconds() - before
        if not _reply_ok(reply, session, cid, timing, "while being timed"):
            return None
        printed = reply.get("printed") if reply is not None else None
        if isinstance(printed, int) and printed > 0:
            timing.printed_per_call = max(timing.printed_per_call, printed / reps)
        writes = reply.get("writes") if reply is not None else None
        if isinstance(writes, int) and writes > 0:
            timing.writes_per_call = max(timing.writes_per_call, writes / reps)
        if check is not None:
            _verify(session, cid, reps, seed, reply, timing, *check)
    finally:
        session.thaw(frozen)
    return spent / reps


def _reply_ok(reply: Optional[dict[str, Any]], session: WorkerSession, cid: str, timing: FunctionTiming,
              when: str) -> bool:
    if reply is not None and reply.get("status") == "ok":
        return True
    if reply is not None and reply.get("status") == "exception":
        exc = reply.get("exception") or {}
        text = f"{cid}: your function raised {exc.get('type')} {when}: {exc.get('message')}"
        timing.failure = SandboxEvent("crash", with_explanation(exc.get("type"), text),
                                      str(exc.get("traceback", "")), function=cid)
    elif session.finished:
        timing.failure = SandboxEvent("crash", f"{cid}: the Python process running your function ended {when}.",
                                      function=cid)
    else:
        session.kill()
        timing.failure = SandboxEvent("timeout", f"{cid}: no answer from your function {when}.", function=cid)
    return False


def _verify(session: WorkerSession, cid: str, reps: int, seed: int, reply: dict[str, Any],
            timing: FunctionTiming, reference: ReferenceTimer, rubric: Rubric) -> None:
    """Read randomly chosen repetitions' outputs from the frozen worker and compare them with the reference's."""
    locations = reply.get("locations")
    if not isinstance(locations, list) or len(locations) != reps:
        timing.wrong = WrongOutput("the timed block did not report its repetitions' outputs", False)
        return
    chosen = sorted(random.Random(secrets.randbits(62)).sample(range(reps), min(rubric.speed.verify_reps, reps)))
    expected = reference.outputs(cid, reps, seed, chosen)
    reader = session.memory()
    if reader is None:
        timing.wrong = WrongOutput("the grader could not read the timed outputs", False)
        return
    for index in chosen:
        wrong = _compare(reader, locations[index], expected.get(index, []), rubric, timing.size_label)
        timing.verified += 1
        if wrong is not None:
            timing.wrong = wrong
            return


def _compare(reader: Any, raw: Any, expected: list[np.ndarray], rubric: Rubric, size: str) -> Optional[WrongOutput]:
    if not isinstance(raw, list) or len(raw) != len(expected):
        return WrongOutput(f"the timed call ({size}) did not return {len(expected)} outputs", False)
    tol = rubric.tolerances
    right = []
    for where, exp in zip(raw, expected):
        if where is None:
            right.append(False)
            continue
        try:
            got = reader.read(ArrayLocation.parse(where), FLOAT_DTYPES, max(1, exp.size))
        except MemoryReadError:
            right.append(False)
            continue
        if exp.size == 1:
            same_shape = got.size == 1
        else:
            same_shape = got.shape == exp.shape
        if not same_shape:
            right.append(False)
            continue
        rtol, atol = (tol.float32_rtol, tol.float32_atol) if got.dtype == np.float32 else (tol.rtol, tol.atol)
        with np.errstate(all="ignore"):
            a, b = got.astype(np.float64).reshape(exp.shape), exp.astype(np.float64)
            right.append(bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b))))
    if all(right):
        return None
    first = right.index(False)
    return WrongOutput(f"output {first + 1} of the timed call ({size}) is not the right answer", any(right))
