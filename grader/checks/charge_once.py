"""Charge each bug once: stability and speed do not charge again what correctness already charged.

A function with a logic bug (a flipped sign, a transposed or unscaled
gradient, an input modified in place) returns wrong values everywhere, so
the stability cases and the timed speed calls see the same bug the
correctness tests already cost points for.  Stability is about overflow and
speed about vectorisation; they should only charge for that:

* a failed **stability** case is forgiven when the call returned, no output
  overflowed (nan/inf where the answer is finite), and every wrong output
  and every mutated input was already wrong/mutated in the correctness tests;
* a **speed** measurement whose timed output is wrong is still credited
  when the correctness tests already failed for that function (the same
  code is timed); a function that passes every correctness test but
  answers wrongly when timed gets no speed credit (it behaves differently
  when it is being measured).

Both require at least one output of the call to be right (a gradient
wrong, the loss right...): a stub or garbage, every output wrong, is never
forgiven and earns no stability or speed points.  So a bug that makes every
output wrong (a sigmoid with a flipped sign, a skip-gram scaled by 1/2m)
still costs those points too; that is the price of never paying garbage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.results import CaseResult, Status, TestResult

from .base import finish
from .cases import OUTPUT_NAMES


@dataclass
class Charged:
    """What the correctness tests of one function already charged."""

    wrong_outputs: set[str] = field(default_factory=set)
    mutated_inputs: set[str] = field(default_factory=set)
    cases_failed: int = 0

    @property
    def any_failure(self) -> bool:
        return self.cases_failed > 0


def charged_by_correctness(tests: list[TestResult]) -> dict[str, Charged]:
    """Per function: the outputs and inputs its failed correctness cases were charged for."""
    out: dict[str, Charged] = {}
    for test in tests:
        if test.check != "correctness":
            continue
        charged = out.setdefault(test.function, Charged())
        for case in test.cases:
            if case.passed:
                continue
            charged.cases_failed += 1
            if case.returned:
                charged.wrong_outputs.update(case.wrong_outputs)
                charged.mutated_inputs.update(case.mutated_inputs)
    return out


def forgive_stability(test: TestResult, charged: Charged | None) -> TestResult:
    """Re-score a stability test, passing the cases that only repeat an already-charged bug."""
    if charged is None or not charged.any_failure or test.status == Status.PASSED:
        return test
    outputs = OUTPUT_NAMES.get(test.function, ())
    changed = False
    for case in test.cases:
        if not case.passed and _repeats_charged_bug(case, charged, len(outputs)):
            case.passed = True
            case.message = ""
            what = (f"the result differs from the reference ({', '.join(case.wrong_outputs)})" if case.wrong_outputs
                    else f"the function modifies {', '.join(case.mutated_inputs)} in place")
            case.notes.append(f"Not charged here: {what}, but that is the same bug the correctness tests already "
                              "charged; stability only charges for overflow (nan/inf).")
            changed = True
    if not changed:
        return test
    test.hint = ""
    return finish(test, test.cases, test.events)


def _repeats_charged_bug(case: CaseResult, charged: Charged, n_outputs: int) -> bool:
    if not case.returned or case.overflow:
        return False
    if not set(case.wrong_outputs) <= charged.wrong_outputs or not set(case.mutated_inputs) <= charged.mutated_inputs:
        return False
    # Some output must be right: a stub or garbage (every output wrong) is never forgiven.
    return len(case.wrong_outputs) < n_outputs


def speed_credit_despite_wrong_output(charged: Charged | None, some_output_right: bool) -> bool:
    """True when a wrong timed output is the already-charged bug (credit the speed), not a lie or a stub.

    ``some_output_right``: at least one output of every wrong timed call is right (e.g. the loss).
    """
    return charged is not None and charged.any_failure and some_output_right
