"""The score stage: points per test from the check results and the rubric, and every total."""

from __future__ import annotations

import math

from grader.results import CaseResult, SpeedVerdict, Status
from grader.results import TestResult as Graded  # not "Test...": pytest would try to collect it
from grader.rubric import load_rubric
from grader.score import SPEED_CREDIT, Tally, credit, pending_points, points, scoresheet, tally

RUBRIC = load_rubric()


def _test(test_id: str, passed: list[bool] = (), verdict: str | None = None, visibility: str = "visible") -> Graded:
    spec = RUBRIC.test(test_id)
    test = Graded(test_id=test_id, name=spec.name, number=spec.number, function=spec.function,
                      check=spec.check, score=0.0, max_score=spec.points, status=Status.FAILED,
                      visibility=visibility)
    test.cases = [CaseResult(f"c{i}", "", ok) for i, ok in enumerate(passed)]
    if verdict is not None:
        test.speed = SpeedVerdict(spec.function, [], 1.0, None, None, False, verdict, "")
    return test


def test_points_are_the_rubric_points_times_the_credit_of_the_check_result() -> None:
    random = _test("naiveSoftmaxLossAndGradient.correctness.random", [True, False, True, True])
    assert credit(random) == 0.75 and points(random, RUBRIC) == round(1.0 * 0.75, 4)
    assert points(_test("sigmoid.correctness"), RUBRIC) == 0.0, "no case: it could not run"
    for verdict in ("fast", "slow", "too_slow", "wrong_output", "not_measured"):
        speed = _test("naiveSoftmaxLossAndGradient.speed", verdict=verdict)
        assert points(speed, RUBRIC) == round(1.0 * SPEED_CREDIT.get(verdict, 0.0), 4)
    assert points(_test("sigmoid.speed"), RUBRIC) == 0.0, "a speed test that was not timed"
    third = _test("sgd.correctness.trajectory", [True, False, False])
    assert points(third, RUBRIC) == round(2.0 / 3, 4) == 0.6667


def test_scoresheet_assigns_points_and_adds_them_up_per_function_and_in_total() -> None:
    tests = [_test("sigmoid.correctness", [True]), _test("sigmoid.speed", verdict="slow"),
             _test("sgd.correctness.trajectory", [True, False, False], visibility="hidden")]
    sheet = scoresheet(tests, RUBRIC)
    assert [t.score for t in tests] == [0.5, 0.125, 0.6667]
    assert sheet.tests == {"sigmoid.correctness": 0.5, "sigmoid.speed": 0.125, "sgd.correctness.trajectory": 0.6667}
    assert sheet.functions == {"sigmoid": Tally(0.625, 0.75), "sgd": Tally(0.6667, 2.0)}
    assert sheet.total == Tally(round(0.5 + 0.125 + 0.6667, 4), 2.75)
    assert scoresheet(tests, RUBRIC) == sheet, "idempotent: the points follow from the check results"
    assert pending_points(tests) == 2.0


def test_tally_counts_results_json_entries_too() -> None:
    entries = [{"score": 0.5, "max_score": 1.0}, {"max_score": 2.0}, {"score": 0.25, "max_score": 0.25}]
    assert tally(entries) == Tally(0.75, 3.25)
    assert tally([]) == Tally(0, 0) and math.isclose(tally([_test("sigmoid.correctness")]).possible, 0.5)
