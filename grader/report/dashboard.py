"""Class-level aggregation for the batch dashboard (``index.html``).

Every number and status here is the instructor's decision of the audience policy
(:func:`grader.report.policy.decide`): a row's score is its ``Totals``, a failing test is one the
policy calls failing (an informational 0-point test never is), and a failure's cause is worded by
:func:`failure_cause`.  A likely-cause diagnosis stage (``grader/diagnose/``) can take over
:func:`failure_cause` for the tests it recognises.

Just over 400 lines on purpose: one page (rows, counts, causes, charts data) built top to bottom.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Optional

from grader.report import charts
from grader.report.hints import FLAG_KINDS, event_title
from grader.report.policy import decide, number_key
from grader.report.text import fmt_points, fmt_ratio, fmt_seconds, function_label, one_line, truncate
from grader.results import FUNCTIONS, GradeResult, SandboxEvent, Status, TestResult


@dataclass
class DashboardEntry:
    """One submission on the dashboard."""

    result: Optional[GradeResult]  # a grader-side failure has result.internal_error set (None is tolerated)
    report_href: str  # relative link to that student's report.html
    label: str  # display name / id


@dataclass
class StudentRow:
    label: str
    href: str
    score: Optional[float]
    max_score: Optional[float]
    score_text: str
    percent: Optional[float]
    failing: int
    flags: list[str]
    flag_details: list[str]
    worst_ratio: Optional[float]
    worst_ratio_text: str
    time_text: str
    time_value: Optional[float]
    search: str


@dataclass
class TestRate:
    number: str
    name: str
    visibility: str
    passed: int
    failed: int
    partial: int
    error: int
    skipped: int
    graded: int
    rate: Optional[float]


@dataclass
class Cause:
    test: str
    cause: str
    count: int
    labels: list[str]


@dataclass
class KnownCause:
    """A known mistake (or "none matched") and the submissions whose outputs match it (grader.diagnose)."""

    cause_id: str  # catalogue id; "" for "no known mistake matches"
    function: str
    title: str
    count: int
    partial: int  # of count, how many matched only some outputs
    labels: list[str]


@dataclass
class SpeedSummary:
    function: str
    count: int
    median: str
    worst: str
    slow: int


@dataclass
class DashboardView:
    title: str
    count: int
    stats: list[tuple[str, str]]
    histogram: Optional[charts.Chart]
    bins: list[tuple[str, int]]
    rates: list[TestRate]
    causes: list[Cause]
    event_counts: list[tuple[str, int]]
    ratio_chart: Optional[charts.Chart]
    speed: list[SpeedSummary]
    flagged: list[StudentRow]
    rows: list[StudentRow]
    flag_names: list[str]
    max_score: str
    generated_note: str = ""
    extra: dict = field(default_factory=dict)
    weak_integrity: int = 0
    """Submissions graded where student code could read the grader's secrets."""
    known_causes: list[KnownCause] = field(default_factory=list)
    """Likely causes (known mistakes) with the submissions behind each, most common first."""


_SAFE_HREF = re.compile(r"^(?![a-zA-Z][a-zA-Z0-9+.-]*:)(?!//)[^\s\"'<>\\]*$")


def safe_href(href: str) -> str:
    """``href`` if it is a plain relative link (no scheme, no protocol-relative host), else ""."""
    href = (href or "").strip()
    return href if href and _SAFE_HREF.match(href) else ""


def _all_events(result: GradeResult) -> list[SandboxEvent]:
    events = list(result.submission.problems) + list(result.events)
    for test in result.tests:
        events.extend(test.events)
    return events


def _flags(result: Optional[GradeResult]) -> tuple[list[str], list[str]]:
    if result is None:
        return ["grader error"], ["no result was produced"]
    flags: list[str] = []
    details: list[str] = []
    if result.internal_error:
        flags.append("grader error")
        details.append(one_line(result.internal_error.splitlines()[0] if result.internal_error else "", 200))
    errored = [t for t in result.tests if t.status == Status.ERROR]
    if errored and not result.internal_error:
        first = errored[0]
        failed = next((c for c in first.cases if not c.passed and c.message), None)
        flags.append("errors in tests")
        details.append(one_line(f"{len(errored)} test(s) could not run, e.g. {first.number}: "
                                f"{failed.message if failed else first.summary}", 200))
    for event in _all_events(result):
        flag = FLAG_KINDS.get(event.kind)
        if flag is None:
            continue
        if flag not in flags:
            flags.append(flag)
        text = one_line(f"{event_title(event.kind)}: {event.message}", 200)
        if text not in details and len(details) < 4:
            details.append(text)
    return flags, details


def _worst_ratio(result: Optional[GradeResult]) -> Optional[float]:
    if result is None:
        return None
    ratios = [t.speed.ratio for t in result.tests
              if t.speed is not None and isinstance(t.speed.ratio, (int, float)) and math.isfinite(t.speed.ratio)
              and t.speed.verdict != "not_measured"]
    return max(ratios) if ratios else None


def _row(entry: DashboardEntry) -> StudentRow:
    result = entry.result
    flags, details = _flags(result)
    label = truncate(entry.label, 120) or "(unnamed)"
    if result is None:
        return StudentRow(label, safe_href(entry.report_href), None, None, "–", None, 0, flags, details,
                          None, "–", "–", None, label)
    decision = decide(result, "instructor")
    failing = len(decision.failing)
    totals = decision.totals
    percent = totals.percent if totals.possible else None
    ratio = _worst_ratio(result)
    time_ok = isinstance(result.execution_time, (int, float)) and math.isfinite(result.execution_time)
    names = " ".join(result.student.names + result.student.student_ids + [result.student.submission_id])
    return StudentRow(
        label=label,
        href=safe_href(entry.report_href),
        score=totals.earned,
        max_score=totals.possible,
        score_text=f"{fmt_points(totals.earned)} / {fmt_points(totals.possible)}",
        percent=percent,
        failing=failing,
        flags=flags,
        flag_details=details,
        worst_ratio=ratio,
        worst_ratio_text=fmt_ratio(ratio),
        time_text=fmt_seconds(result.execution_time) if time_ok else "–",
        time_value=result.execution_time if time_ok else None,
        search=truncate(f"{label} {names} {' '.join(flags)}", 400),
    )


def _rates(results: list[GradeResult]) -> list[TestRate]:
    by_id: dict[str, dict] = {}
    for result in results:
        for test in result.tests:
            slot = by_id.setdefault(test.test_id, {"number": test.number, "name": test.name,
                                                   "visibility": test.visibility, "counts": Counter()})
            slot["counts"][test.status.value] += 1
    rates = []
    for info in sorted(by_id.values(), key=lambda s: number_key(s["number"])):
        c = info["counts"]
        graded = sum(c.values()) - c["skipped"]
        rates.append(TestRate(info["number"], info["name"], info["visibility"], c["passed"], c["failed"],
                              c["partial"], c["error"], c["skipped"], graded,
                              100.0 * c["passed"] / graded if graded else None))
    return rates


_RAISED = re.compile(r"raised ([A-Za-z_][\w.]*)")
_FILE = re.compile(r"\b(word2vec\.py|sgd\.py)\b")


_WRONG = re.compile(r"^`(?P<name>[^`]{1,80})` is wrong\b.*?\(max abs error [^)]*\)\.\s*(?P<why>.*)$", re.S)
_SHAPE = re.compile(r"^`(?P<name>[^`]{1,80})` has shape .*? but must have shape [^.]*\.\s*(?P<why>.*)$", re.S)
_OVERFLOW = re.compile(r"^`(?P<name>[^`]{1,80})` contains (?P<kind>nan|inf) at index")


def _case_cause(message: str) -> str:
    """What a failing case's message says went wrong, without the numbers that differ between students.

    "`gradCenterVec` is wrong at index (0,): expected 0.35, got -0.35 (…). The sign is flipped: …" becomes
    "`gradCenterVec`: the sign is flipped: …", so a sign error and a transposed gradient are two causes.
    """
    message = (message or "").strip()
    for pattern, plain in ((_WRONG, "has wrong values"), (_SHAPE, "has the wrong shape")):
        m = pattern.match(message)
        if m:
            why = m.group("why").strip()
            return f"`{m.group('name')}` {plain}" + (f": {why[0].lower()}{why[1:]}" if why else "")
    m = _OVERFLOW.match(message)
    if m:
        return f"`{m.group('name')}` overflows ({m.group('kind')} where the answer is finite)"
    return ""


def failure_cause(test: TestResult) -> str:
    """Why one failing test failed, for the dashboard (see :func:`_cause`)."""
    return _cause(test)


def _cause(test: TestResult) -> str:
    """Why one test failed, worded so that the same cause groups across submissions.

    A test that could not run is grouped by what stopped it (crash with its exception type, timeout, syntax
    error…), never by the hint about wrong values; a test that ran and failed by what that failure usually means.
    """
    if test.status == Status.ERROR:
        texts = [e.message for e in test.events if e.kind != "note"] + \
            [c.message for c in test.cases if not c.passed and c.message] + [test.summary]
        event = next((e for e in test.events if e.kind != "note"), None)
        if event is not None:
            cause = f"Could not run: {event_title(event.kind).lower()}"
        elif any(t.startswith("Time limit") or "Time limit exceeded" in t for t in texts):
            cause = "Could not run: timed out"
        else:
            cause = "Could not run: " + one_line(test.summary or test.status.value, 120)
        raised = next((m.group(1) for t in texts for m in [_RAISED.search(t or "")] if m), None)
        where = next((m.group(1) for t in texts for m in [_FILE.search(t or "")] if m), None)
        if raised and (event is None or event.kind in ("crash", "import_error")):
            cause += f" ({raised})"
        elif where and event is not None and event.kind in ("syntax_error", "import_error", "missing_file",
                                                            "missing_function", "bad_signature"):
            cause += f" ({where})"
        return cause
    if test.speed is not None:  # the speed hint is the same for every failure: say which kind it was
        verdict = test.speed.verdict
        if verdict == "wrong_output":
            return "Speed not credited: a timed call returned a wrong answer (fix correctness first)"
        if verdict == "too_slow":
            return ("Too slow: loops over the vocabulary (time grows far faster than the reference's)"
                    if test.speed.loops_over_vocabulary else "Too slow (no credit)")
        if verdict == "slow":
            return "Slower than expected (partial credit)"
        if verdict == "not_measured":
            return "Could not be timed"
    failed_cases = [c for c in test.cases if not c.passed and c.message]
    cause = next((c for c in (_case_cause(case.message) for case in failed_cases) if c), "")
    if cause:
        return truncate(cause, 300)
    reason = test.hint or test.summary or ""
    if not reason:
        failed = next((c for c in test.cases if not c.passed), None)
        reason = failed.message if failed else test.status.value
    return truncate(reason.strip(), 300)


def _causes(entries: list[DashboardEntry]) -> tuple[list[Cause], list[tuple[str, int]]]:
    causes: dict[tuple[str, str], dict] = defaultdict(lambda: {"labels": [], "tests": [], "points": 0.0})
    events: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        result = entry.result
        if result is None:
            continue
        for shown in decide(result, "instructor").failing:
            test = shown.test
            reason = failure_cause(test)
            key = (function_label(test.function), reason)
            slot = causes[key]
            if entry.label not in slot["labels"]:
                slot["labels"].append(entry.label)
            if test.number not in slot["tests"]:
                slot["tests"].append(test.number)
            slot["points"] = max(slot["points"], test.max_score)
        for event in _all_events(result):
            if event.kind != "note":
                events[event_title(event.kind)].add(entry.label)
    # Informational (0-point) tests rank after every test that costs points.
    ranked = sorted(causes.items(), key=lambda kv: (kv[1]["points"] <= 0, -len(kv[1]["labels"]), kv[0]))[:12]
    out = [Cause(f"{function} ({', '.join(sorted(slot['tests'], key=number_key))})", cause, len(slot["labels"]),
                 [truncate(x, 60) for x in slot["labels"][:8]])
           for (function, cause), slot in ranked]
    event_counts = sorted(((k, len(v)) for k, v in events.items()), key=lambda kv: (-kv[1], kv[0]))
    return out, event_counts


def known_causes(entries: list[DashboardEntry]) -> list[KnownCause]:
    """Per (function, known mistake): the submissions whose diagnosis names it (a full or a partial match),
    plus per function the submissions no known mistake matches.  Each submission counts once per cause."""
    slots: dict[tuple[str, str], dict] = {}
    for entry in entries:
        result = entry.result
        if result is None:
            continue
        seen: set[str] = set()
        for test in result.tests:
            d = test.diagnosis
            if d is None or d.function in seen:
                continue
            seen.add(d.function)
            named = [(c.cause_id, c.title) for c in d.causes] or [("", "no known mistake matches")]
            for cause_id, title in named:
                slot = slots.setdefault((d.function, cause_id), {"title": title, "labels": [], "partial": 0})
                slot["labels"].append(entry.label)
                slot["partial"] += d.status == "partial"
    ranked = sorted(slots.items(), key=lambda kv: (kv[0][1] == "", -len(kv[1]["labels"]), kv[0]))
    return [KnownCause(cause_id, function_label(function), slot["title"], len(slot["labels"]), slot["partial"],
                       [truncate(x, 60) for x in slot["labels"][:12]]) for (function, cause_id), slot in ranked]


def _speed(results: list[GradeResult]) -> tuple[dict[str, list[float]], list[SpeedSummary]]:
    ratios: dict[str, list[float]] = {}
    for fn in FUNCTIONS:
        values = []
        for result in results:
            for test in result.tests:
                s = test.speed
                if s is not None and test.function == fn and s.verdict != "not_measured" \
                        and isinstance(s.ratio, (int, float)) and math.isfinite(s.ratio) and s.ratio > 0:
                    values.append(float(s.ratio))
        if values:
            ratios[fn] = values
    summaries = [SpeedSummary(function_label(fn), len(v), fmt_ratio(statistics.median(v)), fmt_ratio(max(v)),
                              sum(1 for r in v if r > 3.0)) for fn, v in ratios.items()]
    return ratios, summaries


def build_dashboard_view(entries: list[DashboardEntry], title: str) -> DashboardView:
    results = [e.result for e in entries if e.result is not None]
    rows = sorted((_row(e) for e in entries), key=lambda r: r.label.lower())
    scored = [r for r in rows if r.score is not None and not (r.flags and "grader error" in r.flags)]
    scores = [r.score for r in scored]
    max_score = max((r.max_score for r in rows if r.max_score), default=0.0)
    stats = [("Submissions", str(len(entries)))]
    if scores:
        stats += [("Mean score", f"{statistics.fmean(scores):.2f}"), ("Median score", fmt_points(statistics.median(scores))),
                  ("Full marks", str(sum(1 for r in scored if r.max_score and r.score >= r.max_score - 1e-9)))]
    stats.append(("Flagged", str(sum(1 for r in rows if r.flags))))
    stats.append(("Grader errors", str(sum(1 for r in rows if "grader error" in r.flags))))

    bins: list[tuple[str, int]] = []
    if scores:
        top = max(max_score, max(scores), 1.0)
        edges = [top * i / 6 for i in range(7)]
        for lo, hi in zip(edges, edges[1:]):
            last = hi == edges[-1]
            n = sum(1 for s in scores if lo <= s < hi or (last and s == hi))
            bins.append((f"{fmt_points(lo)}–{fmt_points(hi)}", n))

    causes, event_counts = _causes(entries)
    ratios, speed = _speed(results)
    flag_names = sorted({f for r in rows for f in r.flags})
    return DashboardView(
        title=title,
        count=len(entries),
        stats=stats,
        histogram=charts.score_histogram(scores, max_score) if scores else None,
        bins=bins,
        rates=_rates(results),
        causes=causes,
        event_counts=event_counts,
        ratio_chart=charts.ratio_distribution(ratios) if ratios else None,
        speed=speed,
        flagged=[r for r in rows if r.flags],
        rows=rows,
        flag_names=flag_names,
        max_score=fmt_points(max_score),
        weak_integrity=sum(1 for r in results if r.integrity == "weak" and r.mode == "grade"),
        known_causes=known_causes(entries),
    )
