"""One test's part of the report: its events, failing cases, gradient check and speed, as view data.

:func:`test_view` turns a :class:`~grader.results.TestResult` into a
:class:`~grader.report.view_model.TestView` for one audience (see :mod:`grader.report.view` for
the audience rules): for a student, a test that is not ``visible`` keeps only its number, name,
points, visibility and a category-level hint.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Optional

from grader.report import charts
from grader.report.hints import (
    event_explanation,
    event_title,
    growth_implication,
)
from grader.report.policy import RELEASE, Decision, ShownTest, number_key, sees_details, what_it_checks
from grader.report.text import (
    check_label,
    fmt_index,
    fmt_num,
    fmt_points,
    fmt_preview,
    fmt_ratio,
    fmt_sci,
    fmt_seconds,
    fmt_shape,
    function_label,
    strip_sandbox_paths,
    trim_traceback,
    truncate,
)
from grader.report.view_model import (
    ArrayView,
    CaseView,
    EventView,
    GradcheckView,
    SpeedRowView,
    SpeedView,
    TestView,
    status_view,
)
from grader.results import CaseResult, GradeResult, SandboxEvent, Status, TestResult

MAX_FAILED_CASES_SHOWN = 4
MAX_REPRODUCER_CHARS = 6000
FAILING = (Status.FAILED, Status.PARTIAL, Status.ERROR)
__all__ = ["RELEASE", "number_key"]


def anchor_for(test_id: str) -> str:
    return "t-" + re.sub(r"[^A-Za-z0-9_-]+", "-", test_id)


def finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def student_files(result: GradeResult) -> list[str]:
    return [p for p in (result.submission.word2vec, result.submission.sgd) if p] or ["word2vec.py", "sgd.py"]


# -- events ----------------------------------------------------------------------------------------

_BAD = {"timeout", "crash", "exit", "memory_limit", "cpu_limit", "process_limit", "file_size_limit",
        "import_error", "syntax_error", "missing_file", "missing_function", "bad_signature"}
_WARN = {"output_truncated", "suspicious"}
_STOPPED = {"timeout", "crash", "exit", "memory_limit", "cpu_limit", "process_limit", "file_size_limit"}

Redactor = Callable[[str], str]


def _no_redaction(text: str) -> str:
    return text


def hidden_call_redactor(result: GradeResult, reader: str) -> Redactor:
    """For students: replace the grader's call ids of hidden tests ("skipgram.random.0") in visible text.

    A visible test's message can quote a hidden test's call ("Not run: an earlier call of skipgram already failed
    this way (Time limit exceeded while running skipgram.random.0 …)"); the id names a hidden case, so it goes.
    """
    ids: set[str] = set()
    for test in result.tests:
        if sees_details(test, reader):
            continue
        ids.update(c.case_id for c in test.cases if c.case_id and len(c.case_id) > 3)
        if test.check == "speed":
            ids.add(f"speed.{test.function}.")
        elif test.check == "gradcheck":
            ids.add(f"{test.function}.gradcheck.")
    if not ids:
        return _no_redaction
    alternatives = "|".join(re.escape(i) + (r"[\w.-]*" if i.endswith(".") else "")
                            for i in sorted(ids, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.\w)")

    def redact(text: str) -> str:
        return pattern.sub("a call of a hidden test", text) if text else text

    return redact


def event_views(events: list[SandboxEvent], files: list[str], *, by_function: bool = True,
                redact: Redactor = _no_redaction) -> list[EventView]:
    """One view per kind (and function): repeats (a timeout on every case) are counted, not repeated.

    The same event reported twice (a discovery problem is both a submission problem and a result event) is
    shown once and counted once.
    """
    views: list[EventView] = []
    index: dict[tuple[str, Optional[str]], EventView] = {}
    seen: set[tuple] = set()
    for event in events:
        ident = (event.kind, event.message, event.detail, event.function)
        if ident in seen:
            continue
        seen.add(ident)
        key = (event.kind, event.function if by_function else None)
        if key in index and event.kind != "note":
            index[key].count += 1
            if not index[key].function and event.function:
                index[key].function = function_label(event.function)
            continue
        index[key] = view = event_view(event, files, redact)
        views.append(view)
    return views


def event_view(event: SandboxEvent, files: list[str], redact: Redactor = _no_redaction) -> EventView:
    detail = redact(trim_traceback(event.detail or "", files)).strip("\n")
    severity = "bad" if event.kind in _BAD else "warn" if event.kind in _WARN else "info"
    if "Traceback" in detail:
        label = "What your code raised (only the lines in your own files; read it from the bottom up):"
    elif detail and event.kind in _STOPPED:
        label = "The last lines your code wrote to stderr before it stopped (they may be unrelated warnings):"
    elif detail and event.kind == "output_truncated" and "\n" in detail:
        label = "The beginning of your output:"
    else:
        label = ""
    explanation = event_explanation(event.kind)
    return EventView(
        kind=event.kind,
        title=event_title(event.kind),
        message=truncate(redact(strip_sandbox_paths(event.message)), 1000),
        detail=truncate(detail),
        explanation=explanation,
        function=function_label(event.function) if event.function else "",
        severity=severity,
        detail_label=label,
        detail_block=bool(label) or "\n" in detail or len(detail) > 160,
    )


def _grader_stopped_timing(event: SandboxEvent, test: TestResult) -> bool:
    """A speed test's "crash (signal 9)": the grader's own kill once the function was clearly too slow."""
    s = test.speed
    return (test.check == "speed" and s is not None and s.verdict == "too_slow" and event.kind in ("crash", "exit")
            and "signal 9" in event.message)


def _stopped_timing_event(test: TestResult) -> SandboxEvent:
    cap = test.speed.ratio if test.speed is not None and finite(test.speed.ratio) else None
    more = f"more than {fmt_ratio(cap)} the reference's CPU time" if cap else "far more CPU time than the reference"
    return SandboxEvent("speed_stopped", f"The grader stopped timing your function after it had used {more}.",
                        function=test.function)


# -- cases -----------------------------------------------------------------------------------------


def _array_view(summary) -> Optional[ArrayView]:
    if summary is None:
        return None
    return ArrayView(fmt_shape(summary), truncate(summary.dtype, 80), fmt_preview(summary))


def _error_pattern(case: CaseResult) -> str:
    """A one-line description of where the errors are, from the (possibly downsampled) error matrix."""
    matrix = case.error_matrix
    if not matrix:
        return ""
    try:
        import numpy as np

        data = np.array(matrix, dtype=float)
    except (TypeError, ValueError):
        return ""
    if data.ndim != 2 or data.size <= 1:
        return ""
    bad = ~np.isfinite(data) | (np.abs(np.nan_to_num(data)) > charts.NOISE)
    rows = np.flatnonzero(bad.any(axis=1))
    cols = np.flatnonzero(bad.any(axis=0))
    total_rows, total_cols = data.shape
    exact = case.expected is not None and case.expected.shape is not None and list(case.expected.shape) == [total_rows, total_cols]
    if rows.size == 0:
        return "No entry differs in the sampled error matrix."
    parts = []
    if rows.size == total_rows and cols.size == total_cols:
        parts.append("Every row and column has errors: the whole output is off, not just a few entries")
    elif rows.size < total_rows:
        if exact and rows.size <= 8:
            parts.append(f"Only rows {', '.join(str(r) for r in rows)} differ ({rows.size} of {total_rows})")
        else:
            parts.append(f"{rows.size} of {total_rows} rows differ")
        if exact:
            parts.append("the other rows match")
    else:
        parts.append(f"{cols.size} of {total_cols} columns differ")
    text = "; ".join(parts) + "."
    if not exact:
        text += " (The error matrix was downsampled for display, so row numbers are approximate.)"
    return text


_ASSIGNED = re.compile(r"^\s*(?P<targets>[A-Za-z_][\w ,]*?)\s*=[^=]")


def with_print(reproducer: str, output_name: str) -> str:
    """The reproducer, plus ``print(<output>)`` when its last line assigns the output that failed.

    The grader's reproducers end with the call; without a print, pasting them into Python shows nothing.
    """
    lines = reproducer.rstrip().splitlines()
    if not lines or not output_name.isidentifier() or "print(" in lines[-1]:
        return reproducer
    match = _ASSIGNED.match(lines[-1])
    if not match or output_name not in [t.strip() for t in match.group("targets").split(",")]:
        return reproducer
    return reproducer.rstrip() + f"\nprint({output_name})  # compare with the expected values below"


def case_view(case: CaseResult, with_charts: bool = True, files: Optional[list[str]] = None,
              redact: Redactor = _no_redaction, known_details: frozenset[str] = frozenset()) -> CaseView:
    """One failing case.  ``known_details``: tracebacks the test already shows once (not repeated per case)."""
    files = files or ["word2vec.py", "sgd.py"]
    heat = None
    matrix = case.error_matrix
    if with_charts and matrix and isinstance(matrix, list) and len(matrix) >= 1 and isinstance(matrix[0], list) and \
            (len(matrix) > 1 or len(matrix[0]) > 1):
        heat = charts.heatmap(matrix, case.output_name or "output")
    notes = []
    for note in case.notes:
        text = redact(trim_traceback(note, files)).strip("\n")
        if text and text not in known_details:
            notes.append(truncate(text, 2000))
    reproducer = with_print(case.reproducer, case.output_name) if case.reproducer else ""
    return CaseView(
        case_id=case.case_id,
        description=truncate(case.description, 600),
        passed=case.passed,
        message=truncate(redact(strip_sandbox_paths(case.message)), 2000),
        reproducer=truncate(reproducer, MAX_REPRODUCER_CHARS),
        output_name=truncate(case.output_name, 80),
        expected=_array_view(case.expected),
        got=_array_view(case.got),
        first_mismatch=fmt_index(case.first_mismatch) if case.first_mismatch is not None else "",
        max_abs_error=fmt_sci(case.max_abs_error) if case.max_abs_error is not None else "",
        heatmap=heat,
        pattern=_error_pattern(case),
        notes=notes,
    )


# -- gradcheck / speed -----------------------------------------------------------------------------


def gradcheck_view(test: TestResult) -> Optional[GradcheckView]:
    g = test.gradcheck
    if g is None:
        return None
    passed = finite(g.relative_error) and g.relative_error <= g.threshold
    if passed:
        explanation = (f"The largest relative error, {fmt_sci(g.relative_error)}, is within the threshold "
                       f"{fmt_sci(g.threshold)}: your gradient matches your loss.")
    else:
        explanation = (f"At {g.parameter}{fmt_index(g.worst_index)} your gradient says {fmt_num(g.analytic)} "
                       f"but changing that entry changes your loss at a rate of {fmt_num(g.numerical)}: "
                       f"relative error {fmt_sci(g.relative_error)} > threshold {fmt_sci(g.threshold)}.")
    return GradcheckView(
        parameter=g.parameter,
        worst_index=fmt_index(g.worst_index),
        analytic=fmt_num(g.analytic, 8),
        numerical=fmt_num(g.numerical, 8),
        relative_error=fmt_sci(g.relative_error),
        threshold=fmt_sci(g.threshold),
        passed=passed,
        explanation=explanation,
        verdict="✓ within the threshold" if passed else "✗ above the threshold",
    )


VERDICT_TEXT = {
    "fast": "as fast as expected",
    "slow": "slower than expected (partial credit)",
    "too_slow": "too slow (no credit)",
    "not_measured": "not measured",
    "wrong_output": "not credited: a timed call returned a wrong answer",
}
_GROWTH_SENTENCE = re.compile(r"\s*Going from V to \d+V multiplies your time by [\d.]+ \(reference: [\d.]+\)\.")


def speed_view(test: TestResult, redact: Redactor = _no_redaction) -> Optional[SpeedView]:
    s = test.speed
    if s is None:
        return None
    measured = [m for m in s.measurements if finite(m.student_seconds) and finite(m.reference_seconds)]
    stopped = s.verdict == "too_slow" and not measured and finite(s.ratio)
    growth = growth_implication(s.growth_student, s.growth_reference, loops=s.loops_over_vocabulary,
                                sigmoid=s.function == "sigmoid")
    explanation = s.explanation
    if growth:  # the growth paragraph says it with the numbers already
        explanation = _GROWTH_SENTENCE.sub("", explanation)
    return SpeedView(
        function=function_label(s.function),
        ratio=("more than " + fmt_ratio(s.ratio)) if stopped else fmt_ratio(s.ratio),
        verdict=s.verdict,
        verdict_text=VERDICT_TEXT.get(s.verdict, s.verdict.replace("_", " ")),
        explanation=truncate(redact(explanation), 1000),
        growth=growth,
        loops=s.loops_over_vocabulary,
        rows=[SpeedRowView(function_label(m.function or s.function), m.size_label, fmt_seconds(m.student_seconds),
                           fmt_seconds(m.reference_seconds), fmt_ratio(m.ratio), m.samples)
              for m in s.measurements],
        stopped=stopped,
    )


# -- tests -----------------------------------------------------------------------------------------


def test_view(shown: ShownTest, decision: Decision, files: list[str], with_charts: bool = True,
              redact: Redactor = _no_redaction) -> TestView:
    """One test's view data: what the policy lets this reader see of it, formatted."""
    test = shown.test
    redacted = not shown.details
    view = TestView(
        test_id=test.test_id,
        anchor=anchor_for(test.test_id),
        number=test.number,
        name=test.name,
        function=test.function,
        function_label=function_label(test.function),
        check=test.check,
        check_label=check_label(test.check),
        score=None if redacted else fmt_points(test.score),
        max_score=fmt_points(test.max_score),
        status=status_view(shown.status),
        visibility=test.visibility,
        hidden=test.hidden_from_student,
        redacted=redacted,
        release=RELEASE.get(test.visibility, ""),
        hint=truncate(decision.message(shown.hint), 1000),
    )
    if redacted:
        return view
    if test.status == Status.ERROR:  # what to do first (the hint), then what the test checks once it runs
        view.checks = truncate(what_it_checks(test), 1000)
    view.summary = truncate(decision.message(redact(strip_sandbox_paths(test.summary))), 1000)
    events = [(_stopped_timing_event(test) if _grader_stopped_timing(e, test) else e) for e in test.events]
    view.events = event_views(events, files, by_function=False, redact=redact)  # one test = one function
    for event in view.events:
        event.message, event.detail = decision.message(event.message), decision.message(event.detail)
    for event in view.events:  # the summary usually quotes the first failure already
        if event.message and event.count == 1 and event.message.strip() in view.summary:
            event.message = ""
    known = frozenset(e.detail for e in view.events if e.detail)
    failed_cases = [c for c in test.cases if not c.passed]
    view.cases = [case_view(c, with_charts, files, redact, known) for c in failed_cases[:MAX_FAILED_CASES_SHOWN]]
    view.more_failed = max(0, len(failed_cases) - MAX_FAILED_CASES_SHOWN)
    for case in view.cases:  # the summary often quotes the first failure: do not say it twice
        if case.message and case.message.strip() in view.summary:
            case.message = ""
    view.passed_cases = [truncate(c.description or c.case_id, 300) for c in test.cases if c.passed]
    view.gradcheck = gradcheck_view(test)
    view.speed = speed_view(test, redact)
    notes: list[str] = []
    for case in test.cases:
        if not case.passed:
            continue  # a failing case shows its own notes
        for note in case.notes:
            note = truncate(redact(strip_sandbox_paths(note)), 500)
            if note not in notes:
                notes.append(note)
    view.notes = notes
    view.diagnosis = test.diagnosis if test.status in FAILING else None  # shown where the details are
    return view
