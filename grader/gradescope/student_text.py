"""What a student reads in Gradescope's ``results.json``: each test's output and the top-level summary.

The audience policy (:mod:`grader.report.policy`) decides what the student may see; this module
words it as plain text (each test's ``output``, shown in a ``<pre>``) and as the top-level
summary (:func:`grader.report.render_markdown_summary`, or its HTML by :func:`markdown_to_html`).
:mod:`grader.gradescope.results_json` puts them into the document.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from grader.report import render_markdown_summary
from grader.report.hints import event_title
from grader.report.policy import ShownTest, Totals, in_context, release_words
from grader.results import CaseResult, GradeResult, SandboxEvent, Status, TestResult
from grader.score import tally

MAX_SUMMARY_OUTPUT = 200_000
MAX_PREVIEW = 1500


def visible_output(shown: ShownTest) -> str:
    """Everything a student may see about a visible test, as plain text."""
    test = shown.test
    parts: list[str] = []
    if shown.informational and shown.status == "info":
        parts.append("For information only: this test carries no points.")
    if test.summary:
        parts.append(in_context(test.summary.strip(), "student"))
    if shown.hint:
        parts.append("Hint: " + in_context(shown.hint.strip(), "student"))
    if test.status is not Status.PASSED and test.diagnosis is not None:  # the likely cause (grader/diagnose/)
        parts.append(test.diagnosis.describe())
    for event in test.events:
        parts.append(_event_text(event, detailed=True))
    failing = next((case for case in test.cases if not case.passed), None)
    if failing is not None:
        parts.append(_case_text(failing))
    if test.gradcheck is not None:
        g = test.gradcheck
        parts.append(
            f"Gradient check, worst coordinate: {g.parameter}{list(g.worst_index or [])}: analytic "
            f"{_num(g.analytic, '.6g')}, numerical {_num(g.numerical, '.6g')}, relative error "
            f"{_num(g.relative_error, '.3g')} (threshold {_num(g.threshold, '.3g')})."
        )
    if test.speed is not None:
        parts.append(_speed_text(test))
    notes = sorted({note for case in test.cases for note in case.notes})
    if notes:
        parts.append("Notes:\n" + "\n".join(f"  - {note}" for note in notes))
    if not parts:
        parts.append("Passed." if test.status is Status.PASSED else "Failed.")
    return "\n\n".join(parts)


def hidden_output(shown: ShownTest) -> str:
    """A non-visible test: category-level text only (function and kind of check, event titles)."""
    test = shown.test
    parts = [
        f"The inputs and values of this test are not shown: a hidden test, {shown.release}.",
        "What it checks: " + (shown.hint or f"the {test.check} of {test.function}."),
    ]
    titles = sorted({event_title(event.kind) for event in test.events if event.kind != "note"})
    if titles:
        parts.append("During this test your code: " + ", ".join(t.lower() for t in titles) + ".")
    if test.status is Status.SKIPPED:
        parts.append("This test was not run (see the summary above).")
    return "\n\n".join(parts)


def _case_text(case: CaseResult) -> str:
    lines = [f"First failing case: {case.description or case.case_id}"]
    if case.output_name:
        lines.append(f"Output: {case.output_name}")
    if case.message:
        lines.append(case.message.strip())
    if case.first_mismatch is not None:
        lines.append(f"First mismatch at index {list(case.first_mismatch)}.")
    if case.max_abs_error is not None:
        lines.append(f"Largest absolute error: {_num(case.max_abs_error, '.3g')}.")
    for label, summary in (("Expected", case.expected), ("Got", case.got)):
        if summary is not None:
            shape = "scalar" if summary.shape is None else f"shape {tuple(summary.shape)}"
            preview = cut(json.dumps(summary.preview, allow_nan=True, default=str), MAX_PREVIEW)
            more = " (truncated)" if summary.truncated else ""
            lines.append(f"{label} ({shape}, {summary.dtype}){more}: {preview}")
    if case.reproducer:
        lines.append("Reproduce it with:\n" + case.reproducer.rstrip())
    return "\n".join(lines)


def _speed_text(test: TestResult) -> str:
    speed = test.speed
    assert speed is not None
    lines = []
    if speed.verdict != "not_measured" and _finite(speed.ratio):
        lines.append(f"Speed: {_num(speed.ratio, '.2f')}× the reference's CPU time "
                     f"({str(speed.verdict).replace('_', ' ')}).")
    for m in speed.measurements:
        lines.append(f"  {m.size_label}: you {_num(m.student_seconds, '.4g')} s, reference "
                     f"{_num(m.reference_seconds, '.4g')} s per call (ratio {_num(m.ratio, '.2f')}, {m.samples} samples)")
    if speed.explanation:
        lines.append(speed.explanation.strip())
    return "\n".join(lines)


def _event_text(event: SandboxEvent, *, detailed: bool) -> str:
    text = f"[{event_title(event.kind)}] {event.message.strip()}"
    if detailed and event.detail:
        text += "\n" + cut(event.detail.rstrip(), 3000)
    return text


# --------------------------------------------------------------------------- top-level output


def summary(result: GradeResult, output_format: str) -> str:
    """The report summary (the student's) in ``output_format``."""
    text = render_markdown_summary(result)
    if output_format == "html":
        text = markdown_to_html(text)
    return cut(text, MAX_SUMMARY_OUTPUT)


HTML_TAGS = frozenset({"h2", "h3", "h4", "p", "strong", "em", "code", "pre", "ul", "li", "table", "thead", "tbody",
                       "tr", "th", "td", "br"})
"""Every element :func:`markdown_to_html` keeps, all without attributes: plain structural
markup that HTML sanitisers keep (no style, class, links, images, scripts or forms)."""


@functools.lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_to_html(text: str) -> str:
    """HTML of a Markdown text (``output_format: "html"``): CommonMark and pipe tables.

    ``markdown-it-py`` renders it with raw HTML disabled (any ``<tag>`` in the text stays text), and
    ``nh3`` keeps only the elements of :data:`HTML_TAGS` and no attribute at all (a link keeps
    its text, not its target), so nothing student-controlled becomes markup and Gradescope's
    sanitiser has nothing to remove.
    """
    import nh3

    return nh3.clean(_markdown().render(text), tags=set(HTML_TAGS), attributes={}).strip()


def entries_totals(tests: list[dict[str, Any]]) -> Totals:
    """The student's totals of ``tests[]`` entries (for a document built without a GradeResult)."""
    delayed = [t for t in tests if t.get("visibility", "visible") != "visible" and t.get("max_score", 0) > 0]
    shown = [t for t in tests if t.get("visibility", "visible") == "visible"]
    sums = tally(shown)
    return Totals(round(sums.earned, 4), round(sums.possible, 4), tally(delayed).possible, len(delayed),
                  release_words(t.get("visibility", "") for t in delayed))


# --------------------------------------------------------------------------- helpers


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``, or "n/a" when it is missing or not a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, spec)
    return "n/a"


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"\n[... {len(text) - limit:,} more characters not shown ...]\n"
    head = int(limit * 0.7)
    return text[:head] + marker + text[-(limit - head - len(marker)):] if limit > head + len(marker) else text[:limit]
