"""Speed: is the function vectorised?  The verdict on a :class:`~grader.checks.speed_controller.SpeedSample`.

The speed test exists to separate vectorised code from Python loops, so the verdict measures
exactly that, on the machine that graded, in the same run:

* ``extra`` = the student's CPU time per call minus the reference's, divided by the work's size
  (vocabulary rows, or elements for sigmoid): what each word costs the student *beyond* the
  reference;
* ``loop`` = what one iteration of a plain Python loop over the vocabulary (over the elements)
  costs on this machine (:class:`~grader.checks.speed_controller.LoopCosts`, timed on the
  reference's worker);
* ``x = extra / loop``: about 0 for vectorised code whatever its constant overheads (an extra
  V×d temporary costs a few ns a word; a loop iteration costs hundreds), 1 or more for a loop over
  the vocabulary.  Full credit at ``x <= vectorised_fraction``, none at ``x >= loop_fraction``,
  ``partial_credit`` in between (the rubric's ``[speed]``).  The student's *fastest* block decides,
  so noise only ever helps the student.

Negative sampling that makes full passes over all V rows (where the K+1 sampled rows suffice) is
vectorised but wasteful; what it earns is the rubric's ``negative_sampling_full_passes``.  A
function that ran out of memory while timed is reported as an O(V²) temporary.
"""

from __future__ import annotations

import statistics
from typing import Optional

from grader.results import SandboxEvent, SpeedMeasurement, SpeedVerdict, Status, TestResult
from grader.rubric import Rubric, TestSpec

from .base import new_result
from .charge_once import Charged, speed_credit_despite_wrong_output
from .hints import hint_for
from .speed_controller import FunctionTiming, LoopCosts, SpeedSample

_STATUS = {"fast": Status.PASSED, "slow": Status.PARTIAL, "not_measured": Status.ERROR}
"""Status of a speed test by verdict (every other verdict fails); its points are the score stage's."""
PRINTING = 1000
"""Characters printed per timed call from which the message considers printing as a cause."""
PRINT_COST = (1e-9, 0.5e-6)
"""A generous CPU cost of printing: seconds per character and per ``write`` call.  Printing is named as
the cause of the extra time when it could cost at least half of it."""
QUADRATIC_GROWTH = 7.0
"""Growth from V/4 to V (see FunctionTiming.growth) from which the message names an O(V²) computation
(a loop grows ×4, a quadratic one ×16; constant overheads only lower both)."""
WHAT = {"row": ("word", "Python loop over the vocabulary"), "element": ("element", "Python loop over the elements")}


def verdict(function: str, sample: SpeedSample, rubric: Rubric, charged: Optional[Charged] = None) -> SpeedVerdict:
    """Turn the measurement of one function into a SpeedVerdict (see the module docstring).

    ``charged``: what the function's correctness tests already charged; a wrong timed output is
    then credited by its speed as long as it is that same bug (see :mod:`charge_once`).
    """
    timing = sample.timings.get(function)
    if timing is None:
        return _unmeasured(function, "Your function could not be timed.")
    measurements = _measurements(timing)
    base = dict(verified_calls=timing.verified, estimated=sample.estimated, unit=timing.unit)
    if timing.failure is not None:
        return _failed(function, timing, measurements, base)
    wrong_note = ""
    if timing.wrong is not None:
        if speed_credit_despite_wrong_output(charged, timing.wrong.some_output_right):
            wrong_note = (f" Its output is wrong here too ({timing.wrong.reason}), but that is the bug the correctness "
                          "tests already charged, so the speed still counts.")
        else:
            why = ("It passes the correctness tests but answers wrongly when timed, so this measurement cannot be "
                   "trusted." if charged is not None and not charged.any_failure else
                   "Speed only counts for a function that computes (at least partly) the right result; fix its "
                   "correctness first.")
            return SpeedVerdict(function, measurements, float("nan"), None, None, False, "wrong_output",
                                f"Not credited: {timing.wrong.reason}. {why}", **base)
    if sample.loops is None or not timing.reference or not (timing.student or timing.stopped_early):
        return _unmeasured(function, "Your function could not be timed (it failed or did not finish).", **base)
    return _judge(function, timing, sample.loops, rubric, measurements, base, wrong_note)


def _judge(function: str, timing: FunctionTiming, loops: LoopCosts, rubric: Rubric,
           measurements: list[SpeedMeasurement], base: dict, wrong_note: str) -> SpeedVerdict:
    s = rubric.speed
    unit_name, loop_name = WHAT[timing.unit]
    reference = statistics.median(timing.reference)
    loop = loops.per_unit(timing.unit)
    loop_ns = loop * 1e9
    if timing.stopped_early and not timing.student and timing.growth is not None \
            and timing.growth >= QUADRATIC_GROWTH:
        return SpeedVerdict(function, measurements, float("nan"), None, None, False, "too_slow",
                            f"Your function used far more CPU time than even a {loop_name} costs on this machine, so "
                            f"its timing was stopped early. Its time grows with the square of V: "
                            f"×{timing.growth:.0f} from V/8 to V/2, where a loop over the vocabulary grows ×4. It "
                            "probably builds a V×V (O(V²)) temporary, such as the full softmax Jacobian or np.diag "
                            "of a length-V vector. Work with length-V vectors and V×d matrices only.",
                            loop_ns_per_unit=loop_ns, **base)
    if timing.stopped_early and not timing.student:
        return SpeedVerdict(function, measurements, float("nan"), None, None, True, "too_slow",
                            f"Your function used far more CPU time than even a {loop_name} costs on this machine "
                            f"({loop_ns:.0f} ns per {unit_name}), so its timing was stopped early: your code loops "
                            f"over the {'elements' if timing.unit == 'element' else 'vocabulary'} in Python. "
                            + _advice(function), loop_ns_per_unit=loop_ns, **base)
    fastest = min(timing.student)
    typical = statistics.median(timing.student)
    ratio = typical / reference if reference > 0 else float("nan")
    extra = max(0.0, fastest - reference) / timing.units
    x = extra / loop if loop > 0 else 0.0
    label = "fast" if x <= s.vectorised_fraction else ("slow" if x < s.loop_fraction else "too_slow")
    printing = label != "fast" and _printing_explains(extra * timing.units, timing)
    flood = timing.printed_per_call >= s.flood_characters
    if flood:
        label = "too_slow"  # lowers only: a worker's word about its printing never earns credit
    loops_over = label == "too_slow"
    passes = max(0.0, extra - loops.row_fill) / loops.row_pass if loops.row_pass > 0 else 0.0
    full_passes = function == "negSamplingLossAndGradient" and label == "fast" and passes >= s.full_pass_fraction
    text = (f"Your function takes {ratio:.1f}× the reference's CPU time: per {unit_name} it costs {extra * 1e9:.0f} ns "
            f"more than the reference, where one iteration of a {loop_name} costs {loop_ns:.0f} ns on this machine")
    if flood:
        text += (f" ({x:.1f} of one). It prints about {timing.printed_per_call:,.0f} characters per call: a function "
                 f"that floods its output ({s.flood_characters:,} characters a call or more) earns no speed credit, "
                 "because its time depends on where the output goes. Remove debugging prints from your functions.")
    elif label == "fast":
        text += ". So there is no such loop: it is vectorised."
    elif printing:
        text += (f" ({x:.1f} of one). It prints about {timing.printed_per_call:,.0f} characters per call: that is "
                 "most likely where the time goes. Remove debugging prints from your functions.")
    elif label == "slow":
        text += (f" ({x:.0%} of one). Part of the work seems to run in Python once per {unit_name} (a loop over part "
                 "of the computation, or Python-level iteration such as the built-in sum() over an array). "
                 + _advice(function))
    elif timing.growth is not None and timing.growth >= QUADRATIC_GROWTH:
        text += (f". Its time grows with the square of V: ×{timing.growth:.0f} from V/4 to V, where a loop over the "
                 "vocabulary grows ×4. It probably builds a V×V (O(V²)) temporary, such as the full softmax "
                 "Jacobian or np.diag of a length-V vector. Work with length-V vectors and V×d matrices only.")
    else:
        text += (f": about {x:.1f} loop iterations' worth per {unit_name}. Your code loops over the "
                 f"{'elements' if timing.unit == 'element' else 'vocabulary'} in Python. " + _advice(function))
    quadratic = timing.growth is not None and timing.growth >= QUADRATIC_GROWTH
    loops_over = loops_over and not printing and not flood and not quadratic
    if full_passes:
        text += (f" Its extra time is about {passes:.1f} vectorised passes over all V rows of outsideVectors, beyond "
                 "writing the V×d gradient: it seems to compute over every row, where only the K+1 sampled rows "
                 "are needed")
        label = {"full": "fast", "partial": "slow", "none": "too_slow"}[s.negative_sampling_full_passes]
        text += {"fast": "; this course does not take speed points for that.",
                 "slow": "; this course gives partial speed credit for that.",
                 "too_slow": "; this course gives no speed credit for that."}[label]
    return SpeedVerdict(function, measurements, ratio, None, None, loops_over, label, text + wrong_note,
                        extra_ns_per_unit=extra * 1e9, loop_ns_per_unit=loop_ns, full_passes=full_passes, **base)


def _printing_explains(extra_per_call: float, timing: FunctionTiming) -> bool:
    """Could the function's printing (as its worker reported it) cost half its extra time?  Words only."""
    if timing.printed_per_call < PRINTING:
        return False
    cost = timing.printed_per_call * PRINT_COST[0] + timing.writes_per_call * PRINT_COST[1]
    return 2 * cost >= extra_per_call


def _advice(function: str) -> str:
    if function == "sigmoid":
        return "Apply numpy's functions to the whole array instead of element by element."
    if function == "skipgram":
        return "Loop over the outside words only, and add whole gradient matrices."
    return "Replace the loop with matrix operations (e.g. outsideVectors @ centerWordVec)."


def _failed(function: str, timing: FunctionTiming, measurements: list[SpeedMeasurement], base: dict) -> SpeedVerdict:
    event = timing.failure
    assert event is not None
    if event.kind == "memory_limit" or "MemoryError" in event.message:
        text = (f"Your function ran out of memory while being timed ({timing.size_label}): it probably builds a "
                "V×V (O(V²)) temporary, such as the full softmax Jacobian or np.diag of a length-V vector. "
                "Work with length-V vectors and V×d matrices only.")
    else:
        text = f"Your function could not be timed: {event.message}"
    return _unmeasured(function, text, measurements=measurements, **base)


def _unmeasured(function: str, text: str, measurements: Optional[list[SpeedMeasurement]] = None,
                **extra: object) -> SpeedVerdict:
    return SpeedVerdict(function, measurements or [], float("nan"), None, None, False, "not_measured", text,
                        **extra)  # type: ignore[arg-type]


def _measurements(timing: FunctionTiming) -> list[SpeedMeasurement]:
    if not timing.student or not timing.reference:
        return []
    student, reference = statistics.median(timing.student), statistics.median(timing.reference)
    return [SpeedMeasurement(timing.function, timing.size_label, student, reference,
                             student / reference if reference > 0 else float("nan"), len(timing.student))]


def evaluate(spec: TestSpec, verdict_: SpeedVerdict, events: list[SandboxEvent], rubric: Rubric) -> TestResult:
    """The speed test's result from its verdict: status, summary and hint (its points are :mod:`grader.score`'s)."""
    result = new_result(spec)
    result.speed = verdict_
    result.events = events
    result.status = _STATUS.get(verdict_.verdict, Status.FAILED)
    result.summary = verdict_.explanation
    if result.status != Status.PASSED:
        result.hint = hint_for(spec.id)  # who may read it is the audience policy's (grader/report/policy.py)
    return result
