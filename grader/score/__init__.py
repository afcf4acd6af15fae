"""Stage 5 — score: points per test, per function and in total, from the check results and the rubric.

The checks judge (a status, the cases that passed, a speed verdict) and award no points; this
stage does, and nothing else does:

* **per test** (:func:`points`): the rubric's points for the test times its credit, rounded to 4
  decimals.  The credit (:func:`credit`) of a speed test is :data:`SPEED_CREDIT` of its verdict
  (full when fast, half when slow, none otherwise); of any other test, the fraction of its cases
  that passed (none when it has no case: it could not run);
* **per function and in total** (:func:`tally`): the plain sums, in test order, of the points
  earned and of the points possible.  :func:`scoresheet` assigns every test's points and returns
  the :class:`Scoresheet`; ``GradeResult.score`` and ``max_score`` are its total, rounded to 4
  decimals.

Every total shown anywhere (the terminal summary, the HTML report and the Markdown summary, the
Gradescope ``results.json``, the batch's CSV and dashboard, which show ``GradeResult.score``) comes
from here: a renderer chooses which tests it shows and tallies those.  Which tests a reader may
see is not decided here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from grader.results import FUNCTIONS, TestResult
from grader.rubric import Rubric

SPEED_CREDIT: dict[str, float] = {"fast": 1.0, "slow": 0.5}
"""Credit of a speed test by verdict (``slow``: the rubric's ``[speed] partial_credit`` when a rubric is
given); every other verdict (too_slow, wrong_output, not_measured) earns none."""
UNIMPLEMENTED_CHECKS = ("gradcheck", "stability", "speed")
"""The checks a function that computes nothing earns no credit for (its correctness tests fail anyway)."""

Scored = Union[TestResult, Mapping[str, Any]]
"""A graded test, or a test entry of a results.json document (its ``score`` and ``max_score`` keys)."""


@dataclass(frozen=True)
class Tally:
    """Points earned and points possible of a set of tests."""

    earned: float
    possible: float


@dataclass(frozen=True)
class Scoresheet:
    """Points per test (by test id), per function (in handout order) and in total (rounded to 4 decimals)."""

    tests: dict[str, float]
    functions: dict[str, Tally] = field(default_factory=dict)
    total: Tally = Tally(0.0, 0.0)


def credit(test: TestResult, rubric: Optional[Rubric] = None) -> float:
    """The fraction of its points a test's check result earns (0 to 1)."""
    if test.check == "speed":
        if test.speed is None:
            return 0.0
        if test.speed.verdict == "slow" and rubric is not None:
            return rubric.speed.partial_credit
        return SPEED_CREDIT.get(test.speed.verdict, 0.0)
    passed = sum(c.passed for c in test.cases)
    return passed / len(test.cases) if test.cases else 0.0


def points(test: TestResult, rubric: Optional[Rubric] = None) -> float:
    """The points a test earns: the rubric's points for it (else its ``max_score``) × its credit, 4 decimals."""
    spec = rubric.test(test.test_id) if rubric is not None else None
    return round((spec.points if spec is not None else test.max_score) * credit(test, rubric), 4)


def tally(tests: Iterable[Scored]) -> Tally:
    """Sum of the points earned and possible of ``tests`` (results.json entries count a missing key as 0)."""
    tests = list(tests)
    return Tally(sum(_field(t, "score") for t in tests), sum(_field(t, "max_score") for t in tests))


def pending_points(tests: Iterable[TestResult]) -> float:
    """Points possible of the tests whose details a student cannot see yet (not ``visible``)."""
    return tally(t for t in tests if t.hidden_from_student).possible


def scoresheet(tests: list[TestResult], rubric: Optional[Rubric] = None) -> Scoresheet:
    """Assign each test its :func:`points` (``test.score``) and return the sheet of every total."""
    for test in tests:
        test.score = points(test, rubric)
    functions = {name: tally(t for t in tests if t.function == name) for name in FUNCTIONS}
    total = tally(tests)
    return Scoresheet(tests={t.test_id: t.score for t in tests},
                      functions={name: sums for name, sums in functions.items() if any(
                          t.function == name for t in tests)},
                      total=Tally(round(total.earned, 4), round(total.possible, 4)))


def withhold_unimplemented(tests: list[TestResult], nothing: Mapping[str, str]) -> None:
    """No gradient-check, stability or speed credit for a function that computes nothing yet.

    ``nothing``: function -> why (:func:`grader.checks.implemented.computes_nothing`).  Each such
    test of those functions fails with that reason (it was at best passed by a constant function).
    """
    from grader.results import Status

    for test in tests:
        reason = nothing.get(test.function)
        if not reason or test.status in (Status.ERROR, Status.SKIPPED):
            continue
        if test.check == "correctness" and "same constant" in reason:
            for case in test.cases:
                if case.passed:
                    case.passed = False
                    case.message = f"Not credited: {reason} (it matches this case by coincidence)."
            if test.status == Status.PARTIAL:
                test.status = Status.FAILED
            continue
        if test.check not in UNIMPLEMENTED_CHECKS:
            continue
        test.status = Status.FAILED
        what = {"gradcheck": "gradient check", "stability": "stability test", "speed": "speed test"}[test.check]
        test.summary = f"Not credited: {reason} A {what} says nothing about a function that computes nothing."
        for case in test.cases:
            case.passed = False
        if test.speed is not None:
            test.speed.verdict = "wrong_output"
            test.speed.explanation = test.summary


def _field(test: Scored, name: str) -> Any:
    return test.get(name, 0.0) if isinstance(test, Mapping) else getattr(test, name)
