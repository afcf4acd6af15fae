"""Turn a :class:`GradeResult` into the plain data the templates show: the whole report.

:func:`build_report_view` builds a :class:`~grader.report.view_model.ReportView`: the score, one
line per function, what to fix (tests blocked by the same problem grouped), then every test's
part (:func:`grader.report.view_parts.test_view`).

This is where the audience rules live (here and in :mod:`grader.report.view_parts`).  For ``audience="student"`` a test
that is not ``visible`` is reduced to its number, name, points, visibility
and a category-level hint (:func:`~grader.report.hints.category_hint`): its
cases, reproducers, expected values, gradient-check details, speed numbers,
events, summary and grader hint are dropped here, before any template sees
them, and its score does not count towards the total shown.
"""

from __future__ import annotations

from typing import Optional

from grader.report import charts
from grader.report.text import (
    fmt_points,
    fmt_seconds,
    function_label,
    plural,
    truncate,
)
from grader.report.view_model import BlockedGroup, EventView, FunctionView, ReportView, ScoreView, TestView, status_view
from grader.report.view_parts import (
    FAILING,
    event_views,
    finite,
    hidden_call_redactor,
    number_key,
    student_files,
    test_view,
    visible_to,
)
from grader.results import FUNCTIONS, GradeResult, Status
from grader.score import tally

AUDIENCES = ("student", "instructor")


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
            ("Grading time", fmt_seconds(result.execution_time) if finite(result.execution_time) else "–")]
    if result.numpy_version:
        meta.append(("NumPy", f"{truncate(result.numpy_version, 40)} ran your code"))
    if result.mode == "grade" and result.integrity:
        meta.append(("Integrity", "strong: student code could not read the grader's secrets"
                     if result.integrity == "strong" else
                     "WEAK: student code could have read the reference and the expected values on this machine"))

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
