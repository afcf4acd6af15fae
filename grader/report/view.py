"""Turn a :class:`GradeResult` into the plain data the templates show.

This is where the audience rules live.  For ``audience="student"`` a test
that is not ``visible`` is reduced to its number, name, points, visibility
and a category-level hint (:func:`~grader.report.hints.category_hint`): its
cases, reproducers, expected values, gradient-check details, speed numbers,
events, summary and grader hint are dropped here, before any template sees
them, and its score does not count towards the total shown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from grader.checks.hints import CATEGORY_HINTS as GRADER_CATEGORY_HINTS
from grader.report import charts
from grader.report.hints import (
    category_hint,
    event_explanation,
    event_title,
    growth_implication,
)
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
    plural,
    strip_sandbox_paths,
    trim_traceback,
    truncate,
)
from grader.results import FUNCTIONS, CaseResult, GradeResult, SandboxEvent, Status, TestResult
from grader.score import tally

AUDIENCES = ("student", "instructor")
MAX_FAILED_CASES_SHOWN = 4
MAX_REPRODUCER_CHARS = 6000
FAILING = (Status.FAILED, Status.PARTIAL, Status.ERROR)
ERROR_HINT = ("Your function could not be run for this test: it crashed, timed out, was missing or could not be "
              "imported. The message here or under “Problems found” says which; fix that first, and the other "
              "tests of this function usually recover with it.")
GENERIC_GRADER_HINTS = frozenset(GRADER_CATEGORY_HINTS.values())  # one-liners; the report's own hints say more

STATUS_DISPLAY: dict[str, tuple[str, str]] = {  # key -> (symbol, words); the words always show
    "passed": ("✓", "passed"),
    "failed": ("✗", "failed"),
    "partial": ("◐", "partial credit"),
    "error": ("!", "error"),
    "skipped": ("–", "not run"),
    "pending": ("○", "pending"),
}

RELEASE_WORDS: dict[str, str] = {
    "after_due_date": "released after the due date",
    "after_published": "released when grades are published",
    "hidden": "hidden test: its result is never shown in this report",
}


@dataclass
class StatusView:
    key: str
    symbol: str
    text: str


def status_view(key: str) -> StatusView:
    symbol, text = STATUS_DISPLAY.get(key, ("?", key))
    return StatusView(key, symbol, text)


@dataclass
class EventView:
    kind: str
    title: str
    message: str
    detail: str
    explanation: str
    function: str
    severity: str  # "bad" | "warn" | "info"
    count: int = 1  # how many events of this kind (and function) it stands for
    detail_label: str = ""  # what the detail block is ("Traceback, your files only", "Last lines on stderr", ...)
    detail_block: bool = True  # multi-line text (a <pre>), else one short paragraph


@dataclass
class ArrayView:
    shape: str
    dtype: str
    values: str


@dataclass
class CaseView:
    case_id: str
    description: str
    passed: bool
    message: str
    reproducer: str
    output_name: str
    expected: Optional[ArrayView]
    got: Optional[ArrayView]
    first_mismatch: str
    max_abs_error: str
    heatmap: Optional[charts.Chart]
    pattern: str
    notes: list[str]


@dataclass
class GradcheckView:
    parameter: str
    worst_index: str
    analytic: str
    numerical: str
    relative_error: str
    threshold: str
    passed: bool
    explanation: str
    verdict: str = ""  # "within the threshold" / "above the threshold", in words


@dataclass
class SpeedRowView:
    function: str
    size_label: str
    student: str
    reference: str
    ratio: str
    samples: int


@dataclass
class SpeedView:
    function: str
    ratio: str
    verdict: str
    verdict_text: str
    explanation: str
    growth: str
    loops: bool
    rows: list[SpeedRowView]
    stopped: bool = False  # timing stopped early: the ratio is a lower bound


@dataclass
class TestView:
    test_id: str
    anchor: str
    number: str
    name: str
    function: str
    function_label: str
    check: str
    check_label: str
    score: Optional[str]  # None when hidden from this audience
    max_score: str
    status: StatusView
    visibility: str
    hidden: bool  # hidden from students (badge for instructors)
    redacted: bool  # details removed for this audience
    release: str
    summary: str = ""
    hint: str = ""
    checks: str = ""  # for a test that could not run: what it checks once it runs (the grader's own hint)
    blocked_by: str = ""  # the submission-level problem that stopped this test (shown once, not per test)
    cases: list[CaseView] = field(default_factory=list)
    passed_cases: list[str] = field(default_factory=list)
    more_failed: int = 0
    gradcheck: Optional[GradcheckView] = None
    speed: Optional[SpeedView] = None
    events: list[EventView] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    link: str = "all-tests"  # where the summary links to: the test's own card when the page has one

    @property
    def failing(self) -> bool:
        return self.status.key in ("failed", "partial", "error")


@dataclass
class FunctionView:
    name: str
    label: str
    earned: str
    max_score: str
    pending: str
    tests: list[TestView]
    status: StatusView


@dataclass
class ScoreView:
    earned: str
    max_score: str
    percent: float
    pending_points: str
    pending_label: str  # "1 point" / "1.5 points"
    pending_count: int
    headline: str
    details: list[str]
    complete: bool


@dataclass
class BlockedGroup:
    """Failing tests that never ran because of one submission-level problem (a syntax error, a missing file...)."""

    reason: str
    tests: list[TestView]
    points: str
    events: list[EventView] = field(default_factory=list)  # what stopped them, once (unless under "Problems found")


@dataclass
class ReportView:
    audience: str
    title: str
    identity: list[tuple[str, str]]
    files: list[tuple[str, str]]
    meta: list[tuple[str, str]]
    score: ScoreView
    internal_error: str
    problems: list[EventView]
    functions: list[FunctionView]
    failing: list[TestView]
    blocked: list[BlockedGroup]
    gradchecks: list[TestView]
    speed: list[TestView]
    speed_chart: Optional[charts.Chart]
    speed_chart_narrow: Optional[charts.Chart]
    pending: list[TestView]
    tests: list[TestView]
    notes: list[str]
    isolation_layers: list[str]
    mode: str


def anchor_for(test_id: str) -> str:
    return "t-" + re.sub(r"[^A-Za-z0-9_-]+", "-", test_id)


def number_key(number: str) -> tuple:
    parts = []
    for piece in str(number).split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def visible_to(test: TestResult, audience: str) -> bool:
    return audience == "instructor" or not test.hidden_from_student


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


def hidden_call_redactor(result: GradeResult, audience: str) -> Redactor:
    """For students: replace the grader's call ids of hidden tests ("skipgram.random.0") in visible text.

    A visible test's message can quote a hidden test's call ("Not run: an earlier call of skipgram already failed
    this way (Time limit exceeded while running skipgram.random.0 …)"); the id names a hidden case, so it goes.
    """
    if audience == "instructor":
        return _no_redaction
    ids: set[str] = set()
    for test in result.tests:
        if not test.hidden_from_student:
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
    cap = test.speed.ratio if test.speed is not None and _finite(test.speed.ratio) else None
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
    passed = _finite(g.relative_error) and g.relative_error <= g.threshold
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
    measured = [m for m in s.measurements if _finite(m.student_seconds) and _finite(m.reference_seconds)]
    stopped = s.verdict == "too_slow" and not measured and _finite(s.ratio)
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


def _hint(test: TestResult) -> str:
    """What this failure usually means: the grader's specific hint, or the report's fuller category hint."""
    own = (test.hint or "").strip()
    if own and own not in GENERIC_GRADER_HINTS:
        return own
    return category_hint(test.function, test.check)


def test_view(test: TestResult, audience: str, files: list[str], with_charts: bool = True,
              redact: Redactor = _no_redaction) -> TestView:
    redacted = not visible_to(test, audience)
    status_key = "pending" if redacted else test.status.value
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
        status=status_view(status_key),
        visibility=test.visibility,
        hidden=test.hidden_from_student,
        redacted=redacted,
        release=RELEASE_WORDS.get(test.visibility, ""),
    )
    if redacted:
        view.hint = category_hint(test.function, test.check)
        return view
    view.summary = truncate(redact(strip_sandbox_paths(test.summary)), 1000)
    failing = test.status in FAILING
    if test.status == Status.ERROR:
        # The category hint is about wrong values, not about code that did not run: say what to do first,
        # then what the test checks once it runs.
        view.hint = ERROR_HINT
        view.checks = truncate(_hint(test), 1000)
    elif failing:
        view.hint = truncate(_hint(test), 1000)
    else:
        view.hint = truncate(test.hint, 1000)
    events = [(_stopped_timing_event(test) if _grader_stopped_timing(e, test) else e) for e in test.events]
    view.events = event_views(events, files, by_function=False, redact=redact)  # one test = one function
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
    return view


# -- whole report ----------------------------------------------------------------------------------


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _score_view(result: GradeResult, views: list[TestView], audience: str) -> ScoreView:
    shown = [t for t in result.tests if visible_to(t, audience)]
    pending_tests = [t for t in result.tests if t.hidden_from_student]
    pending_points = tally(pending_tests).possible
    if audience == "instructor":
        earned, max_score = result.score, result.max_score
    else:
        earned, max_score = tally(shown).earned, tally(shown).possible
    percent = 100.0 * earned / max_score if max_score > 0 else 0.0
    run = [t for t in shown if t.status != Status.SKIPPED]
    failing = [t for t in run if t.status in FAILING]
    skipped = [t for t in shown if t.status == Status.SKIPPED]
    word = "visible " if pending_tests and audience == "student" else ""
    details: list[str] = []
    if result.internal_error:
        headline = "The grader could not finish grading this submission."
    elif not result.tests:
        headline = "No tests were run."
    elif failing:
        headline = f"{len(failing)} of {plural(len(run), word + 'test')} need attention."
    elif skipped and not run:
        headline = f"None of the {plural(len(shown), word + 'test')} were run."
    elif pending_tests and audience == "student":
        headline = (f"All {plural(len(run), word + 'test')} that ran passed; "
                    f"{plural(len(pending_tests), 'more test')} are pending.")
    elif skipped:
        headline = f"All {plural(len(run), 'test')} that ran passed; {len(skipped)} did not run."
    else:
        headline = f"All {plural(len(run), 'test')} passed."
    if pending_tests:
        if audience == "student":
            details.append(
                f"Results you cannot see yet: {plural(len(pending_tests), 'test')} worth "
                f"{plural(pending_points, 'point')}. They are not included in the score above, and your final "
                "score can be lower than it suggests.")
        else:
            hidden_earned = tally(pending_tests).earned
            details.append(
                f"{plural(len(pending_tests), 'test')} ({fmt_points(hidden_earned)} of {fmt_points(pending_points)} "
                "points) are hidden from students until released; students see the other points only.")
    if skipped:
        details.append(f"{plural(len(skipped), 'test')} did not run"
                       + (" (a `check` run runs the visible tests only)." if result.mode == "check" else "."))
    complete = not failing and not skipped and not result.internal_error and bool(result.tests) and \
        (audience == "instructor" or not pending_tests)
    return ScoreView(fmt_points(earned), fmt_points(max_score), max(0.0, min(100.0, percent)),
                     fmt_points(pending_points), plural(pending_points, "point"), len(pending_tests), headline,
                     details, complete)


def _function_view(name: str, views: list[TestView], result: GradeResult, audience: str) -> FunctionView:
    tests = [t for t in result.tests if t.function == name]
    shown = [t for t in tests if visible_to(t, audience)]
    earned, max_score = tally(shown).earned, tally(shown).possible
    pending = tally(t for t in tests if not visible_to(t, audience)).possible
    mine = [v for v in views if v.function == name]
    scored = [v for v in mine if v.max_score != "0"]  # informational (0-point) tests do not set the status
    keys = [v.status.key for v in (scored or mine) if v.status.key != "pending"]
    if not keys:
        status = status_view("pending" if mine else "skipped")
    elif any(k in ("failed", "error", "partial") for k in keys):
        if earned > 0:
            status = status_view("partial")
        else:
            status = status_view("error" if "error" in keys else "failed")
    elif all(k == "skipped" for k in keys):
        status = status_view("skipped")
    else:
        status = status_view("passed")
    return FunctionView(name, function_label(name), fmt_points(earned), fmt_points(max_score),
                        fmt_points(pending) if pending else "", mine, status)


def _internal_error_text(text: Optional[str], audience: str) -> str:
    """Instructors get the grader's traceback; students only its last line (the exception)."""
    if not text:
        return ""
    if audience == "instructor":
        return truncate(text, 6000)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return truncate(lines[-1] if lines else text, 500)


def _group_blocked(failing: list[TestView], problems: list[EventView],
                   result: GradeResult) -> tuple[list[TestView], list[BlockedGroup]]:
    """Tests that could not run at all for the same reason (a syntax error stops every word2vec test) become one
    group in "What to fix" instead of one identical card each."""
    by_reason: dict[str, list[TestView]] = {}
    for v in failing:
        if v.status.key == "error" and not v.cases and v.gradcheck is None and not (v.speed and v.speed.rows):
            by_reason.setdefault(v.summary, []).append(v)
    groups: list[BlockedGroup] = []
    grouped: set[str] = set()
    shown_problems = {(e.kind, e.message) for e in problems}
    for reason, tests in by_reason.items():
        if len(tests) < 2:
            continue
        anchor = f"blocked-{len(groups) + 1}"
        for v in tests:
            v.blocked_by = anchor
            grouped.add(v.test_id)
            v.events = [e for e in v.events if (e.kind, e.message) not in shown_problems]  # shown once, above
        graded = {t.test_id: t for t in result.tests}
        points = fmt_points(tally(graded[v.test_id] for v in tests).possible)
        events: list[EventView] = []
        for v in tests:
            events += [e for e in v.events if (e.kind, e.message, e.detail) not in
                       {(x.kind, x.message, x.detail) for x in events}]
        groups.append(BlockedGroup(reason or "These tests could not run.", tests, points, events))
    return [v for v in failing if v.test_id not in grouped], groups


def build_report_view(result: GradeResult, audience: str = "student", *, with_charts: bool = True) -> ReportView:
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
    files = student_files(result)
    redact = hidden_call_redactor(result, audience)
    ordered = sorted(result.tests, key=lambda t: number_key(t.number))
    views = [test_view(t, audience, files, with_charts, redact) for t in ordered]

    identity: list[tuple[str, str]] = []
    info = result.student
    if info.names:
        identity.append(("Student" if len(info.names) == 1 else "Students", ", ".join(info.names)))
    if info.student_ids:
        identity.append(("Student ID", ", ".join(info.student_ids)))
    if info.emails and audience == "instructor":
        identity.append(("Email", ", ".join(info.emails)))
    if info.submission_id:
        identity.append(("Submission", info.submission_id))
    identity = [(k, truncate(v, 300)) for k, v in identity]

    sub = result.submission
    missing = "not recorded" if result.internal_error else "not found"
    file_rows = [(truncate(found, 300), "") if found else (name, missing)
                 for name, found in (("word2vec.py", sub.word2vec), ("sgd.py", sub.sgd))]

    meta = [("Grader", truncate(result.grader_version, 80)),
            ("Rubric", f"{truncate(result.rubric_name, 80)} ({result.rubric_hash[:12]})"),
            ("Run", "check (visible tests only)" if result.mode == "check" else "full grade"),
            ("Grading time", fmt_seconds(result.execution_time) if _finite(result.execution_time) else "–")]

    problems = event_views(list(sub.problems) + list(result.events), files, redact=redact)
    functions = [_function_view(name, views, result, audience) for name in FUNCTIONS]
    extra = sorted({t.function for t in result.tests} - set(FUNCTIONS))
    functions += [_function_view(name, views, result, audience) for name in extra]

    shown = [v for v in views if not v.redacted]
    speed_tests = [t for t in ordered if t.speed is not None and visible_to(t, audience)]
    chart = charts.speed_chart([t.speed for t in speed_tests]) if speed_tests and with_charts else None
    narrow = charts.speed_chart([t.speed for t in speed_tests], narrow=True) if chart else None

    failing = [] if result.internal_error else [v for v in shown if v.failing]
    failing, blocked = _group_blocked(failing, problems, result)
    for v in views:
        if v in failing or v.redacted or v.gradcheck is not None or v.speed is not None:
            v.link = v.anchor
        elif v.blocked_by:
            v.link = v.blocked_by

    return ReportView(
        audience=audience,
        title="word2vec grading report",
        identity=identity,
        files=file_rows,
        meta=meta,
        score=_score_view(result, views, audience),
        internal_error=_internal_error_text(result.internal_error, audience),
        problems=problems,
        functions=functions,
        failing=failing,  # after a grader failure the errors are ours, not the student's: nothing to fix
        blocked=blocked,
        gradchecks=[v for v in shown if v.gradcheck is not None],
        speed=[v for v in shown if v.speed is not None],
        speed_chart=chart,
        speed_chart_narrow=narrow,
        pending=[v for v in views if v.redacted],
        tests=views,
        notes=[truncate(n, 500) for n in sub.notes],
        isolation_layers=[truncate(x, 60) for x in result.isolation_layers],
        mode=result.mode,
    )
