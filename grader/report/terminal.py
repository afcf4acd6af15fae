"""Readable terminal summary of a GradeResult: one line per function, then problems."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from grader.results import FUNCTIONS, GradeResult, Status
from grader.score import pending_points, tally

MARK = {Status.PASSED: "PASS", Status.PARTIAL: "PART", Status.FAILED: "FAIL", Status.ERROR: "ERR ",
        Status.SKIPPED: "SKIP"}


def print_summary(result: GradeResult, *, html_path: Optional[Path] = None, first_failure: bool = True) -> None:
    """Print the per-function table, sandbox events and (optionally) each function's first failing case."""
    numpy = f" (NumPy {result.numpy_version})" if result.numpy_version else ""
    print(f"w2v-grader {result.grader_version} — {result.mode} of {result.submission.root}{numpy}")
    if result.mode == "grade" and result.integrity == "weak":
        print("  ! integrity: weak — student code could have read the reference and the expected values here "
              "(no mount namespace); do not use these scores as grades")
    for event in result.events:
        print(f"  ! {event.message}")
        if event.detail:
            print("    " + event.detail.replace("\n", "\n    ")[:600])
    for note in result.submission.notes:
        print(f"  note: {note}")
    for function in FUNCTIONS:
        tests = result.tests_for(function)
        if not tests:
            continue
        shown = [t for t in tests if t.status != Status.SKIPPED]
        sums = tally(shown)
        pending = tally(t for t in tests if t.status == Status.SKIPPED).possible
        failing = [t.status for t in shown if t.status != Status.PASSED and t.max_score > 0]  # 0 points: info only
        status = MARK[failing[0]] if failing else "PASS"
        extra = f"  (+{pending:g} not run here)" if pending else ""
        print(f"  [{status}] {function:<30} {sums.earned:5.2f} / {sums.possible:5.2f}{extra}")
        if first_failure:
            _print_first_failure(tests)
    pending = pending_points(result.tests)
    print(f"  Total: {result.score:.2f} / {result.max_score:.2f}"
          + (f" ({pending:.2f} points in tests shown only after grades are published)" if pending else ""))
    if result.internal_error:
        print("  The grader failed internally; this is not your fault. Details:\n" + result.internal_error)
    if html_path:
        print(f"  Report: {html_path}")


def _print_first_failure(tests) -> None:
    """The first failing test of a function (graded tests before 0-point informational ones)."""
    for test in sorted(tests, key=lambda t: t.max_score <= 0):
        if test.status in (Status.PASSED, Status.SKIPPED):
            continue
        print(f"      ✗ {test.name}: {test.summary[:300]}")
        if test.diagnosis is not None:
            print("        " + test.diagnosis.describe()[:900].replace("\n", "\n        "))
        if test.hidden_from_student:
            continue
        case = next((c for c in test.cases if not c.passed), None)
        if case and case.expected is not None and case.got is not None:
            print(f"        case: {case.description}")
            print(f"        expected {case.output_name}: {str(case.expected.preview)[:160]}")
            print(f"        got      {case.output_name}: {str(case.got.preview)[:160]}")
        return
