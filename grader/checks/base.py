"""Shared shape of a planned test and the helpers that turn case results into a TestResult.

A check judges; it awards no points: every TestResult leaves the checks with ``score`` 0.0,
and the score stage (:mod:`grader.score`) gives each test its points from these judgements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from grader.results import CaseResult, SandboxEvent, Status, TestResult
from grader.rubric import Rubric, TestSpec
from grader.sandbox.jobs import CallOutcome, JobRun

from .hints import category_hint, hint_for
from .numpy_compat import with_explanation


@dataclass
class Outcomes:
    """Student and reference outcomes of the calls of one grading run."""

    student: JobRun
    expected: dict[str, CallOutcome]

    def expected_for(self, call_id: str) -> CallOutcome:
        return self.expected.get(call_id) or CallOutcome(call_id, event=SandboxEvent(
            "note", "Internal error: no reference result for this case."))


@dataclass
class PlannedTest:
    """One rubric test: the worker calls it needs and how to judge their outcomes."""

    spec: TestSpec
    calls: list[dict[str, Any]]
    evaluate: Callable[[PlannedTest, Outcomes, Rubric], TestResult]
    needs_expected: bool = True
    data: dict[str, Any] = field(default_factory=dict)


def new_result(spec: TestSpec) -> TestResult:
    return TestResult(test_id=spec.id, name=spec.name, number=spec.number, function=spec.function,
                      check=spec.check, score=0.0, max_score=spec.points, status=Status.FAILED,
                      visibility=spec.visibility, tags=[f"function:{spec.function}", f"check:{spec.check}"])


def finish(result: TestResult, cases: list[CaseResult], events: list[SandboxEvent]) -> TestResult:
    """Judge a test by its cases: status, summary, hint, events (its points are :mod:`grader.score`'s)."""
    result.cases = cases
    unique: dict[tuple[str, str], SandboxEvent] = {}
    for event in events:
        unique.setdefault((event.kind, event.message), event)
    result.events = list(unique.values())
    passed = sum(c.passed for c in cases)
    if cases and passed == len(cases):
        result.status = Status.PASSED
        result.summary = f"All {len(cases)} case(s) passed."
    else:
        errored = all(not c.passed and _is_error(c, events) for c in cases) and cases
        result.status = Status.ERROR if errored else (Status.PARTIAL if passed else Status.FAILED)
        first = next((c for c in cases if not c.passed), None)
        result.summary = f"{passed} of {len(cases)} case(s) passed." + (f" First failure: {first.message}"
                                                                         if first else "")
    if result.status != Status.PASSED:
        result.hint = hint_for(result.test_id) if result.visibility == "visible" else category_hint(result.test_id)
    return result


def _is_error(case: CaseResult, events: list[SandboxEvent]) -> bool:
    return case.message.startswith(("Time limit", "Your code ended", "The Python process", "Memory limit",
                                    "CPU time limit", "Process limit", "File size limit", "This call was not run", "Not run:",
                                    "Your function raised"))


def error_result(spec: TestSpec, message: str, events: list[SandboxEvent]) -> TestResult:
    """A test that could not run at all (missing file/function, import failure)."""
    result = new_result(spec)
    result.status = Status.ERROR
    result.summary = message
    result.events = list(events)
    result.hint = hint_for(spec.id) if spec.visibility == "visible" else category_hint(spec.id)
    return result


def outcome_events(outcome: CallOutcome) -> list[SandboxEvent]:
    """Sandbox events of one call; an exception raised by student code is reported as a crash."""
    if outcome.event is not None:
        return [outcome.event]
    if outcome.raised:
        exc = outcome.raised
        return [SandboxEvent("crash", with_explanation(exc.get("type"),
                                                       f"Your code raised {exc.get('type')}: {exc.get('message')}"),
                             exc.get("traceback", ""))]
    return []


def unfinished_case(case_id: str, description: str, outcome: CallOutcome) -> Optional[CaseResult]:
    """A failed CaseResult when the call crashed/timed out/raised, else None."""
    if outcome.event is not None and not outcome.finished:
        return CaseResult(case_id, description, passed=False, message=outcome.event.message)
    if outcome.raised:
        exc = outcome.raised
        return CaseResult(case_id, description, passed=False,
                          message=with_explanation(exc.get("type"),
                                                   f"Your function raised {exc.get('type')}: {exc.get('message')}"),
                          notes=[exc.get("traceback", "")])
    return None


def arrays_close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Same shape and elementwise close (never broadcasting)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))
