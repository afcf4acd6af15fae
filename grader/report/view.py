"""Turn a :class:`GradeResult` into the plain data the templates show: the whole report.

:func:`build_report_view` asks the audience policy (:func:`grader.report.policy.decide`) what the
reader may see, and formats that decision: the score, one line per function, what to fix (tests
blocked by the same problem grouped), then every test's part
(:func:`grader.report.view_parts.test_view`).  Nothing here decides what is shown to whom.
"""

from __future__ import annotations

from typing import Optional

from grader.report import charts
from grader.report.policy import AUDIENCES, Decision, ShownFunction
from grader.report.text import (
    fmt_points,
    fmt_seconds,
    plural,
    truncate,
)
from grader.report.view_model import BlockedGroup, EventView, FunctionView, ReportView, ScoreView, TestView, status_view
from grader.report.view_parts import (
    event_views,
    finite,
    hidden_call_redactor,
    student_files,
    test_view,
)
from grader.results import GradeResult
from grader.score import tally

__all__ = ["AUDIENCES", "build_report_view"]


def _score_view(result: GradeResult, decision: Decision) -> ScoreView:
    totals = decision.totals
    seen = [s for s in decision.tests if s.details]
    run = [s for s in seen if s.status != "skipped"]
    failing = [s for s in run if s.failing]
    skipped = [s for s in seen if s.status == "skipped"]
    pending = totals.pending_tests if decision.reader != "instructor" else 0
    word = "visible " if pending else ""
    details: list[str] = []
    if result.internal_error:
        headline = "The grader could not finish grading this submission."
    elif not result.tests:
        headline = "No tests were run."
    elif failing:
        headline = f"{len(failing)} of {plural(len(run), word + 'test')} need attention."
    elif skipped and not run:
        headline = f"None of the {plural(len(seen), word + 'test')} were run."
    elif pending:
        headline = (f"All {plural(len(run), word + 'test')} that ran passed; "
                    f"{plural(pending, 'more test')} are pending.")
    elif skipped:
        headline = f"All {plural(len(run), 'test')} that ran passed; {len(skipped)} did not run."
    else:
        headline = f"All {plural(len(run), 'test')} passed."
    if totals.pending:
        if decision.reader == "instructor":
            details.append(f"{plural(totals.pending_tests, 'test')} hidden from students: {totals.sentence}. "
                           "Students see the other points only.")
        else:
            details.append(f"{totals.sentence[0].upper()}{totals.sentence[1:]}. Those points are not in the score "
                           "above, so your final score can be lower than it suggests.")
    if skipped:
        details.append(f"{plural(len(skipped), 'test')} did not run"
                       + (" (a `check` run runs the visible tests only)." if result.mode == "check" else "."))
    complete = not failing and not skipped and not result.internal_error and bool(result.tests) and not pending
    return ScoreView(fmt_points(totals.earned), fmt_points(totals.possible), totals.percent,
                     fmt_points(totals.pending), plural(totals.pending, "point"), pending, headline,
                     details, complete, sentence=totals.sentence)


def _function_view(f: ShownFunction, views: list[TestView]) -> FunctionView:
    mine = [v for v in views if v.function == f.name]
    return FunctionView(f.name, f.label, fmt_points(f.earned), fmt_points(f.possible),
                        fmt_points(f.pending) if f.pending else "", mine, status_view(f.status))


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
        groups.append(BlockedGroup(_once(reason, problems) or "These tests could not run.", tests, points, events))
    return [v for v in failing if v.test_id not in grouped], groups


def _once(reason: str, problems: list[EventView]) -> str:
    """``reason`` without the submission problem it quotes when "Problems found" already says it."""
    for problem in problems:
        message = problem.message.strip()
        if message and message in reason:
            head = reason.replace(message, "").strip().rstrip(":").strip()
            return f"{head} (see “Problems found” above)." if head else "See “Problems found” above."
    return reason


def _say_once(failing: list[TestView]) -> None:
    """The first failing card of a function is expanded; later ones fold their cases, and a hint is given once."""
    functions: set[str] = set()
    hints: dict[str, str] = {}
    diagnosed: set[str] = set()
    for v in failing:
        v.fold_cases = v.function in functions
        functions.add(v.function)
        if v.diagnosis is not None:  # one diagnosis per function: on its first card only
            if v.function in diagnosed:
                v.diagnosis = None
            diagnosed.add(v.function)
        if v.hint and v.hint in hints:
            v.hint_as, v.hint = hints[v.hint], ""
        elif v.hint:
            hints[v.hint] = v.number


def build_report_view(result: GradeResult, audience: str = "student", *, with_charts: bool = True,
                      decision: Optional[Decision] = None) -> ReportView:
    """The report's view data for ``audience`` ("student", "instructor"; a ``check`` run's student is the kit's)."""
    from grader.report.policy import decide

    decision = decision or decide(result, audience)
    audience = "instructor" if decision.reader == "instructor" else "student"
    files = student_files(result)
    redact = hidden_call_redactor(result, decision.reader)
    views = [test_view(s, decision, files, with_charts, redact) for s in decision.tests]

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
    for problem in problems:
        problem.message, problem.detail = decision.message(problem.message), decision.message(problem.detail)
    functions = [_function_view(f, views) for f in decision.functions]

    shown = [v for v in views if not v.redacted]
    speed_tests = [s.test for s in decision.tests if s.test.speed is not None and s.details]
    chart = charts.speed_chart([t.speed for t in speed_tests]) if speed_tests and with_charts else None
    narrow = charts.speed_chart([t.speed for t in speed_tests], narrow=True) if chart else None

    failing = [] if result.internal_error else [v for v in shown if v.failing]
    failing, blocked = _group_blocked(failing, problems, result)
    _say_once(failing)
    for v in views:  # an informational test stopped by a submission problem: the problem is said above
        if v.status.key == "info" and not v.cases and any(p.message and p.message in v.summary for p in problems):
            v.summary = ""
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
        score=_score_view(result, decision),
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
        reader=decision.reader,
        advice=decision.advice,
    )
