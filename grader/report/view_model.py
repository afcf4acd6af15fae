"""The plain data the report templates show: one dataclass per thing on the page, built by :mod:`.view`.

Nothing here knows about audiences or grading: the builders (:mod:`grader.report.view` for the
whole report, :mod:`grader.report.view_parts` for one test) decide what goes in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from grader.report import charts
from grader.report.policy import Advice
from grader.results import Diagnosis

STATUS_DISPLAY: dict[str, tuple[str, str]] = {  # key -> (symbol, words); the words always show
    "passed": ("✓", "passed"),
    "failed": ("✗", "failed"),
    "partial": ("◐", "partial credit"),
    "error": ("!", "error"),
    "skipped": ("–", "not run"),
    "pending": ("○", "pending"),
    "info": ("i", "for information"),
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
    fold_cases: bool = False  # its cases and gradient check start collapsed (an earlier card of the function is expanded)
    hint_as: str = ""  # its hint is the one already given for this earlier test number (said once)
    diagnosis: Optional[Diagnosis] = None  # the likely cause (grader-authored words; see _diagnosis.html.j2)

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
    sentence: str = ""  # the totals in the words every renderer uses (grader.report.policy.Totals.sentence)


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
    reader: str = "student"  # kit | student | instructor (grader.report.policy)
    advice: Optional[Advice] = None
