"""Correctness, stability and skip-gram integration: outputs compared with the reference's."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.results import TestResult
from grader.rubric import Rubric, TestSpec

from .base import Outcomes, PlannedTest, finish, new_result, outcome_events
from .cases import OUTPUT_NAMES, Case, to_worker_call
from .compare import compare_call


def plan(spec: TestSpec, cases: list[Case], arrays: dict[str, np.ndarray]) -> PlannedTest:
    calls = [to_worker_call(case, arrays) for case in cases]
    return PlannedTest(spec, calls, evaluate, data={"cases": cases})


def evaluate(planned: PlannedTest, outcomes: Outcomes, rubric: Rubric) -> TestResult:
    result = new_result(planned.spec)
    visible = planned.spec.visibility == "visible"
    case_results = []
    events = []
    cases: list[Case] = planned.data["cases"]
    for case in cases:
        got = outcomes.student.get(case.case_id)
        events += outcome_events(got)
        compared = compare_call(case.case_id, case.description, outcomes.expected_for(case.case_id), got,
                                OUTPUT_NAMES[case.function], rubric.tolerances,
                                reproducer=case.reproducer() if visible else "",
                                argument_names=_argument_names(case))
        case_results.append(compared)
    return finish(result, case_results, events)


def _argument_names(case: Case) -> list[str]:
    names: dict[str, Any] = {
        "sigmoid": ["x"],
        "naiveSoftmaxLossAndGradient": ["centerWordVec", "outsideWordIdx", "outsideVectors", "dataset"],
        "negSamplingLossAndGradient": ["centerWordVec", "outsideWordIdx", "outsideVectors", "dataset", "K"],
        "skipgram": ["currentCenterWord", "windowSize", "outsideWords", "word2Ind", "centerWordVectors",
                     "outsideVectors", "dataset", "word2vecLossAndGradient"],
    }
    return names[case.function]
