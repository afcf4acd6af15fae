"""Does a function compute anything yet?  (A stub earns no gradient-check, stability or speed credit.)

A function computes nothing when, over its correctness cases,

* **its outputs do not depend on its inputs**: every output is one constant (the same number in
  every element of every case: loss 1.0 and zero gradients, sigmoid 0.5...) although the inputs
  differ -- a constant function's gradient *is* zero, so it would pass a gradient check, and it
  never overflows, so it would pass a stability test; or
* **no output of any case is right**: nothing it returns matches the reference anywhere.

:func:`computes_nothing` decides it here, from the student's outcomes; the rule that withholds
the credit is the score stage's (:func:`grader.score.withhold_unimplemented`).  A constant
function also loses the correctness cases it matches by coincidence (sigmoid's 0.5 at x = 0).
"""

from __future__ import annotations

import numpy as np

from grader.results import TestResult
from grader.sandbox.jobs import JobRun

from .base import PlannedTest
from .cases import OUTPUT_NAMES

NOT_IMPLEMENTED = "{function} does not compute anything yet: {why}."
CONSTANT = "every value it returns is the same constant, whatever the inputs"
NEVER_RIGHT = "none of the values it returns matches the right answer on any correctness case"


def computes_nothing(planned: list[PlannedTest], tests: dict[str, TestResult], run: JobRun) -> dict[str, str]:
    """function -> why it computes nothing, for every such function with correctness tests."""
    out = {}
    for function in OUTPUT_NAMES:
        plans = [p for p in planned if p.spec.function == function and p.spec.check == "correctness"]
        judged = [tests[p.spec.id] for p in plans if p.spec.id in tests]
        if not plans or not any(c.returned for t in judged for c in t.cases):
            continue  # nothing returned at all: its tests already say why (crash, missing, unimportable)
        why = _constant_outputs(plans, run) or _never_right(judged, len(OUTPUT_NAMES[function]))
        if why:
            out[function] = NOT_IMPLEMENTED.format(function=function, why=why)
    return out


def _constant_outputs(plans: list[PlannedTest], run: JobRun) -> str:
    outputs: dict[str, list[np.ndarray]] = {}
    calls = 0
    for plan in plans:
        for call in plan.calls:
            outcome = run.outcomes.get(call["id"])
            if outcome is None or not outcome.finished or outcome.raised:
                continue
            calls += 1
            for key, value in outcome.arrays.items():
                outputs.setdefault(key, []).append(value)
    if calls < 2 or not outputs:
        return ""
    for values in outputs.values():
        flat = np.concatenate([np.asarray(v, dtype=np.float64).reshape(-1) for v in values])
        finite = flat[np.isfinite(flat)]
        if finite.size != flat.size or finite.size == 0 or finite.min() != finite.max():
            return ""
    return CONSTANT


def _never_right(judged: list[TestResult], n_outputs: int) -> str:
    returned = [c for t in judged for c in t.cases if c.returned]
    if returned and all(c.wrong_outputs and len(set(c.wrong_outputs)) >= n_outputs for c in returned):
        return NEVER_RIGHT
    return ""
