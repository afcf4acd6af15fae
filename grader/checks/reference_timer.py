"""The reference side of the speed check: a serving worker that runs the reference, and what it measured.

:class:`ReferenceTimer` times reference blocks (repetitions calibrated to ``block_cpu``), this
machine's :class:`LoopCosts` (a Python loop iteration, a vectorised pass, a full V×d write) and
reads the reference's outputs back for verification.  A batch keeps one per grading process
(:func:`shared_reference_timer`).  The student side, and the measurement of one submission, are
:mod:`grader.checks.speed_controller`'s.
"""

from __future__ import annotations

import contextlib
import secrets
import statistics
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from grader.rubric import Rubric
from grader.sandbox.jobs import start_worker
from grader.sandbox.proc_memory import ArrayLocation
from grader.sandbox.session import WorkerSession

SPEED_ORDER = ("sigmoid", "naiveSoftmaxLossAndGradient", "negSamplingLossAndGradient", "skipgram")
"""The order in which functions are timed."""
FLOAT_DTYPES = frozenset({"<f8", "<f4"})
MAX_REPS = 4096
REFERENCE_SERIES = 5
"""Recent reference blocks per function kept by a shared timer (the verdict uses their median)."""
DRIFT = 0.3
"""A fresh reference block further than this (relative) from the series' median rebuilds the series."""


class SpeedGraderError(RuntimeError):
    """The measurement failed on the grader's side (not the student's code); the text is the traceback."""


@dataclass
class TimedFunction:
    """What is timed for one function: the worker's call spec, its size and its unit of work."""

    function: str
    call: dict[str, Any]
    units: int
    """Vocabulary rows (or elements, for sigmoid) a loop would iterate over."""
    unit: str  # "row" or "element"
    size_label: str
    outputs: tuple[str, ...]


def timed_functions(rubric: Rubric, vocab_size: Optional[int] = None) -> dict[str, TimedFunction]:
    """The timed call of every function at the rubric's sizes (``vocab_size``: another V, for growth probes)."""
    s = rubric.speed
    V, d, K = vocab_size or s.vocab_size, s.dim, s.negatives
    inject = {"sigmoid": "support:stable_sigmoid", "getNegativeSamples": "support:get_negative_samples"}
    words = {f"w{i}": i for i in range(12)}
    pool = {"pool": {"shape": [V, d], "seed": 3, "scale": 0.1}}
    specs = {
        "sigmoid": ([{"scaled_pool": {"shape": [s.sigmoid_size], "seed": 1, "scale": 4.0}}], {},
                    s.sigmoid_size, "element", f"n={s.sigmoid_size:,}", ("s",)),
        "naiveSoftmaxLossAndGradient": ([{"fresh": {"shape": [d]}}, {"index": {"high": V}}, pool, {"value": None}],
                                        {}, V, "row", f"V={V:,}, d={d}", ("loss", "gradCenterVec", "gradOutsideVecs")),
        "negSamplingLossAndGradient": ([{"fresh": {"shape": [d]}}, {"index": {"high": V}}, pool,
                                        {"dataset": {"high": V, "length": 3 * K}}, {"value": K}], inject, V, "row",
                                       f"V={V:,}, d={d}, K={K}", ("loss", "gradCenterVec", "gradOutsideVecs")),
        "skipgram": ([{"value": "w3"}, {"value": 2}, {"value": ["w1", "w2", "w4", "w2"]}, {"value": words},
                      {"pool": {"shape": [V, d], "seed": 7, "scale": 0.1}}, pool, {"value": None},
                      {"timing_loss": True}], {}, V, "row", f"V={V:,}, d={d}, 4 outside words",
                     ("loss", "gradCenterVecs", "gradOutsideVectors")),
    }
    return {f: TimedFunction(f, {"module": "word2vec", "function": f, "args": args, "inject": inj}, units, unit,
                             label, outputs)
            for f, (args, inj, units, unit, label, outputs) in specs.items()}


def _baseline_call(name: str, rubric: Rubric) -> dict[str, Any]:
    """A loop baseline of :mod:`grader.worker.support`, timed on the reference worker."""
    s = rubric.speed
    if name == "element_loop_baseline":
        args: list[Any] = [{"scaled_pool": {"shape": [min(s.sigmoid_size, 20000)], "seed": 1, "scale": 4.0}}]
    else:
        args = [{"pool": {"shape": [s.vocab_size, s.dim], "seed": 3, "scale": 0.1}}, {"fresh": {"shape": [s.dim]}}]
    return {"module": "support", "function": name, "args": args, "inject": {}}


@dataclass
class LoopCosts:
    """CPU seconds, on this machine, of one Python loop iteration and of one vectorised pass over a row."""

    row: float
    """One iteration of a Python loop over the vocabulary doing one small numpy operation on a row."""
    element: float
    """One iteration of a Python loop over an array's elements doing one scalar ``math`` call."""
    row_pass: float
    """One row of one vectorised pass (a matrix-vector product) over the vocabulary."""
    row_fill: float = 0.0
    """One row of writing a V×d output in full (``np.zeros_like``): memory traffic, not computation."""

    def per_unit(self, unit: str) -> float:
        return self.element if unit == "element" else self.row


# --- the reference side -----------------------------------------------------------------------------

class ReferenceTimer:
    """A serving worker that runs the reference (or a kit's calibration workload), and what it measured.

    ``scale[function]`` (kit only): reference CPU / calibration CPU, measured when the kit was built.
    """

    def __init__(self, files: dict[str, Path], rubric: Rubric, *, scale: Optional[dict[str, float]] = None,
                 wall_seconds: Optional[float] = None, shared: bool = False) -> None:
        self.files = files
        self.shared = shared
        self.rubric = rubric
        self.scale = scale
        self.wall_seconds = wall_seconds
        self.session: Optional[WorkerSession] = None
        self.prepared: set[str] = set()
        self.reps: dict[str, int] = {}
        self.series: dict[str, deque[float]] = {}
        self.loops: Optional[LoopCosts] = None
        self.uses = 0
        self.lock = threading.Lock()
        self.functions = timed_functions(rubric)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> ReferenceTimer:
        """Start the worker (idempotent); the caller may go on while it imports."""
        if self.session is None or self.session.finished:
            self.session = start_worker(self.files, {"modules": ["word2vec"], "calls": []}, {}, self.rubric.limits,
                                        serve=True, label="reference", wall_seconds=self.wall_seconds)
            self.prepared = set()
        return self

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session.cleanup()
            self.session = None

    def _session(self) -> WorkerSession:
        self.start()
        assert self.session is not None
        if not self.session.wait_ready(self.rubric.limits.call_wall_timeout):
            raise SpeedGraderError(f"the reference worker did not start: {self._why()}")
        return self.session

    def _why(self) -> str:
        session = self.session
        if session is None:
            return "no worker"
        if session.error:
            return session.error
        result = session.result
        return f"{getattr(result, 'stderr_tail', '')[-2000:]}" if result is not None else "no reply"

    def _request(self, payload: dict[str, Any]) -> dict[str, Any]:
        reply = self._session().request(payload, self.rubric.limits.call_wall_timeout)
        if reply is None or reply.get("status") != "ok":
            raise SpeedGraderError(f"the reference worker failed on {payload.get('op')} {payload.get('id')}: "
                                   f"{reply.get('exception') if reply else self._why()}")
        return reply

    # -- measuring ---------------------------------------------------------------------------------
    def prepare(self, cid: str, call: dict[str, Any]) -> None:
        if cid not in self.prepared:
            self._request({"op": "prepare", "id": cid, "call": call, "seed": 0})
            self.prepared.add(cid)

    def block(self, cid: str, reps: int, seed: int, only: Optional[list[int]] = None) -> float:
        """CPU seconds per repetition of one block (``only``: compute just those repetitions, untimed)."""
        session = self._session()
        before = session.cpu_seconds()
        payload: dict[str, Any] = {"op": "block", "id": cid, "reps": reps, "seed": seed}
        if only is not None:
            payload["only"] = only
        self._request(payload)
        return (session.cpu_seconds() - before) / max(1, reps if only is None else len(only))

    def outputs(self, cid: str, reps: int, seed: int, indices: list[int]) -> dict[int, list[np.ndarray]]:
        """The reference's outputs of repetitions ``indices`` of the block (reps, seed): computed again, read back."""
        session = self._session()
        payload = {"op": "block", "id": cid, "reps": reps, "seed": seed, "only": indices}
        reply = self._request(payload)
        reader = session.memory()
        if reader is None:
            raise SpeedGraderError("cannot read the reference worker's memory")
        out = {}
        for index, locations in zip(indices, reply.get("locations", [])):
            out[index] = [reader.read(ArrayLocation.parse(raw), FLOAT_DTYPES | {"<i8"}, 50_000_000)
                          for raw in locations]
        return out

    def release(self, cid: str) -> None:
        self.prepared.discard(cid)
        with contextlib.suppress(SpeedGraderError):
            self._request({"op": "release", "id": cid})

    def calibrate(self, function: str) -> int:
        """Repetitions for a block of about ``block_cpu`` reference CPU seconds (measured once per timer)."""
        if function in self.reps:
            return self.reps[function]
        target = self.rubric.speed.block_cpu
        reps, spent = 1, 0.0
        while True:
            per_rep = self.block(function, reps, secrets.randbits(62))
            spent = per_rep * reps
            if spent >= target / 4 or reps >= MAX_REPS:
                break
            reps = min(MAX_REPS, reps * 4)
        self.reps[function] = max(1, min(MAX_REPS, round(target / max(per_rep, 1e-7))))
        return self.reps[function]

    def loop_costs(self) -> LoopCosts:
        """This machine's :class:`LoopCosts`, measured once per timer (medians of 3 blocks)."""
        if self.loops is None:
            costs = {}
            for name, per in (("row_loop_baseline", self.rubric.speed.vocab_size),
                              ("element_loop_baseline", min(self.rubric.speed.sigmoid_size, 20000)),
                              ("pass_baseline", self.rubric.speed.vocab_size),
                              ("fill_baseline", self.rubric.speed.vocab_size)):
                cid = f"baseline.{name}"
                self.prepare(cid, _baseline_call(name, self.rubric))
                reps = 64 if name in ("pass_baseline", "fill_baseline") else 1
                costs[name] = statistics.median(self.block(cid, reps, secrets.randbits(62)) for _ in range(3)) / per
                self.release(cid)
            self.loops = LoopCosts(costs["row_loop_baseline"], costs["element_loop_baseline"], costs["pass_baseline"],
                                   costs["fill_baseline"])
        return self.loops

    def record(self, function: str, per_rep: float) -> list[float]:
        """Add a fresh block to the function's series (rebuilt when it drifted); the series now."""
        series = self.series.setdefault(function, deque(maxlen=REFERENCE_SERIES))
        if self.shared and series and abs(per_rep - statistics.median(series)) > DRIFT * statistics.median(series):
            series.clear()  # the machine drifted since the series was made: start it again from this block
        series.append(per_rep)
        return list(series)


_SHARED: dict[tuple[Any, ...], ReferenceTimer] = {}
_SHARED_LOCK = threading.Lock()
SHARED_USES = 200
"""A shared reference timer is restarted after this many submissions (fresh worker, fresh series)."""


def shared_reference_timer(files: dict[str, Path], rubric: Rubric) -> ReferenceTimer:
    """The grading process's reference timer for batch mode (one per reference files and speed settings)."""
    key = (tuple(sorted((k, str(v)) for k, v in files.items())), rubric.speed, rubric.limits)
    with _SHARED_LOCK:
        timer = _SHARED.get(key)
        if timer is not None and timer.uses >= SHARED_USES:
            timer.close()
            timer = None
        if timer is None:
            timer = _SHARED[key] = ReferenceTimer(files, rubric, wall_seconds=24 * 3600.0, shared=True)
        timer.uses += 1
        return timer


def close_shared_timers() -> None:
    with _SHARED_LOCK:
        for timer in _SHARED.values():
            timer.close()
        _SHARED.clear()
