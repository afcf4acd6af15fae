"""Speed: the verdict on a function's CPU time against the reference, and its test result.

The measurement itself (two concurrent sandbox workers, timed from outside the student's
process) is :mod:`grader.checks.speed_controller`; this module judges its
:class:`~grader.checks.speed_controller.SpeedSample`.
The verdict uses the median of per-pair ratios at the largest size; the
growth from V to 4V tells a loop over the vocabulary (time per extra word
far above the reference's) from constant overhead such as a loop over K.
Verdicts are quantised (fast / slow / too slow, scored full / half / none by
:mod:`grader.score`) so noise near a threshold cannot make regrading flip
points except right at the boundary.
"""

from __future__ import annotations

import statistics
from typing import Any, Optional

from grader.results import SandboxEvent, SpeedMeasurement, SpeedVerdict, Status, TestResult
from grader.rubric import Rubric, TestSpec

from .base import new_result
from .charge_once import Charged, speed_credit_despite_wrong_output
from .hints import category_hint, hint_for
from .speed_controller import SpeedSample, speed_calls

_STATUS = {"fast": Status.PASSED, "slow": Status.PARTIAL, "not_measured": Status.ERROR}
"""Status of a speed test by verdict (every other verdict fails); its points are the score stage's."""


def verdict(function: str, sample: SpeedSample, rubric: Rubric, charged: Optional[Charged] = None) -> SpeedVerdict:
    """Turn the samples of one function into a SpeedVerdict.

    ``charged``: what the function's correctness tests already charged; a wrong timed output
    is then credited by its speed as long as it is that same bug (see :mod:`charge_once`).
    """
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
    wrong = [sample.wrong[c["id"]] for c in calls if c["id"] in sample.wrong]
    wrong_note = ""
    if wrong and speed_credit_despite_wrong_output(charged, all(w.some_output_right for w in wrong)):
        wrong_note = (f" Its output is wrong here too ({wrong[0].reason}), but that is the bug the correctness "
                      "tests already charged, so the speed still counts.")
    elif wrong:
        why = ("It passes the correctness tests but answers wrongly when timed, so this measurement cannot be "
               "trusted." if charged is not None and not charged.any_failure else
               "Speed only counts for a function that computes (at least partly) the right result; fix its "
               "correctness first.")
        return SpeedVerdict(function, measurements, float("nan"), None, None, False, "wrong_output",
                            f"Not credited: {wrong[0].reason}. {why}")
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
    ratio = statistics.median(_pair_ratios(sample, calls))  # every block of both sizes: robust to one bad block
    growth_s = large.student_seconds / small.student_seconds if small.student_seconds > 0 else None
    growth_r = large.reference_seconds / small.reference_seconds if small.reference_seconds > 0 else None
    slope_s = large.student_seconds - small.student_seconds
    slope_r = max(large.reference_seconds - small.reference_seconds, 1e-12)
    loops = bool(growth_s and growth_s > 2.5 and slope_s / slope_r > s.full_credit_ratio * s.loop_growth_margin)
    label = "fast" if ratio <= s.full_credit_ratio else ("slow" if ratio <= s.zero_credit_ratio else "too_slow")
    return SpeedVerdict(function, measurements, ratio, growth_s, growth_r, loops, label,
                        _explain(label, ratio, growth_s, growth_r, loops, s.growth_factor) + wrong_note)




def _pair_ratios(sample: SpeedSample, calls: list[dict[str, Any]]) -> list[float]:
    return [a / b for c in calls for a, b in zip(sample.student.get(c["id"], []), sample.reference.get(c["id"], []))
            if b > 0]


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
    """The speed test's result from its verdict: status, summary and hint (its points are :mod:`grader.score`'s)."""
    result = new_result(spec)
    result.speed = verdict_
    result.events = events
    result.status = _STATUS.get(verdict_.verdict, Status.FAILED)
    result.summary = verdict_.explanation
    if result.status != Status.PASSED:
        result.hint = hint_for(spec.id) or category_hint(spec.id) if spec.visibility == "visible" \
            else category_hint(spec.id)
    return result
