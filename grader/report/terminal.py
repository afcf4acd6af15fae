"""Readable terminal summary of a GradeResult: one line per function, its failing tests, then the total.

It formats the audience policy's decision (:func:`grader.report.policy.decide`): the same totals,
statuses and wording as the HTML report and the Gradescope output for the same reader.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

from grader.report.policy import Decision, ShownTest, decide
from grader.report.text import fmt_points, one_line
from grader.results import GradeResult

MARK: dict[str, str] = {"passed": "PASS", "partial": "PART", "failed": "FAIL", "error": "ERR ", "skipped": "SKIP",
                        "pending": "PEND", "info": "INFO"}
SYMBOL: dict[str, str] = {"failed": "✗", "partial": "◐", "error": "!", "info": "i"}
PREVIEW_CHARS = 160
COLOURS: dict[str, str] = {"passed": "32", "partial": "33", "failed": "31", "error": "31", "info": "36"}
"""ANSI colour of each function status (only on a terminal, never with ``NO_COLOR`` set)."""


def use_colour(stream=None) -> bool:
    """Colours on a terminal only, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def print_summary(result: GradeResult, *, html_path: Optional[Path] = None, first_failure: bool = True,
                  audience: str = "student") -> None:
    """Print the per-function table, problems, each failing test (the first one's values) and the total."""
    print(render_summary(result, html_path=html_path, first_failure=first_failure, audience=audience,
                         colour=use_colour()), end="")


def render_summary(result: GradeResult, *, html_path: Optional[Path] = None, first_failure: bool = True,
                   audience: str = "student", decision: Optional[Decision] = None, colour: bool = False) -> str:
    """The terminal summary as text (what :func:`print_summary` prints)."""
    decision = decision or decide(result, audience)
    numpy = f" (NumPy {result.numpy_version})" if result.numpy_version else ""
    out: list[str] = [f"w2v-grader {result.grader_version} — {result.mode} of {result.submission.root}{numpy}"]
    if result.mode == "grade" and result.integrity == "weak":
        out.append("  ! integrity: weak — student code could have read the reference and the expected values here "
                   "(no mount namespace); do not use these scores as grades")
    for event in result.events:
        out.append(f"  ! {decision.message(event.message)}")
        if event.detail:
            out.append("    " + _cut(decision.message(event.detail), 600).replace("\n", "\n    "))
    for note in result.submission.notes:
        out.append(f"  note: {note}")
    values_shown = not first_failure
    said: set[str] = {decision.message(e.message) for e in result.events if e.message}
    for function in decision.functions:
        if not function.tests:
            continue
        pending = f"  (+{fmt_points(function.pending)} pending)" if function.pending else ""
        mark = MARK.get(function.status, function.status)
        if colour and function.status in COLOURS:
            mark = f"\x1b[{COLOURS[function.status]}m{mark}\x1b[0m"
        out.append(f"  [{mark}] {function.name:<30} "
                   f"{fmt_points(function.earned):>5} / {fmt_points(function.possible):<5}{pending}".rstrip())
        blocked: dict[str, int] = {}  # tests that could not run, by reason: one line per reason
        for shown in sorted(function.tests, key=lambda s: s.informational):  # scored tests first
            if not shown.details or not (shown.failing or shown.status == "info"):
                continue
            if shown.test.status.value == "error" and not shown.test.cases:
                reason = decision.message(shown.test.summary)
                blocked[reason] = blocked.get(reason, 0) + 1
                continue
            out.extend(_test_lines(shown, decision, values=not values_shown))
            values_shown = values_shown or bool(shown.test.cases) and not shown.informational
        for reason, count in blocked.items():
            known = next((m for m in said if m and m in reason), None)
            text = "the problem above" if known else ("the same reason as above" if reason in said else reason)
            out.append(f"      ! {count} test{'s' if count != 1 else ''} could not run: {_cut(text, 300)}")
            said.add(reason)
    out.append(f"  Total: {decision.totals.sentence}")
    if result.internal_error:
        out.append(f"  The grader failed internally. {decision.advice.staff}")
        if decision.reader == "instructor":
            out.append(result.internal_error)
    failing = [f for f in decision.functions if f.status in ("failed", "partial", "error")]
    if failing and not result.internal_error:
        if decision.advice.check_one:
            one = decision.advice.check_one.format(function=failing[0].name)
            out.append(f"  Next: fix it and {decision.advice.rerun} (or only this function: {one})")
        elif decision.reader != "instructor":
            out.append(f"  Next: fix it and {decision.advice.rerun}")
    if html_path:
        out.append(f"  Report: {html_path}")
    return "\n".join(out) + "\n"


def _test_lines(shown: ShownTest, decision: Decision, *, values: bool) -> list[str]:
    test = shown.test
    what = " (informational, 0 points)" if shown.informational and "informational" not in test.name else ""
    lines = [f"      {SYMBOL.get(shown.status, '✗')} {test.name}{what}: "
             f"{_cut(decision.message(test.summary), 300)}"]
    if test.diagnosis is not None:  # the likely cause (grader/diagnose/): grader-authored words
        lines.append("        " + test.diagnosis.describe()[:900].replace("\n", "\n        "))
    case = next((c for c in test.cases if not c.passed), None)
    if values and case is not None and case.expected is not None and case.got is not None:
        lines.append(f"        case: {one_line(case.description, 200)}")
        lines.append(f"        expected {case.output_name}: {_preview(case.expected.preview, case.expected.truncated)}")
        lines.append(f"        got      {case.output_name}: {_preview(case.got.preview, case.got.truncated)}")
    return lines


def _preview(value: Any, truncated: bool) -> str:
    """Values on one line; "…" marks where they were cut (here, or already when they were recorded)."""
    text = value if isinstance(value, str) else json.dumps(value, allow_nan=True, default=str)
    text = " ".join(text.split())
    if len(text) > PREVIEW_CHARS:
        return text[:PREVIEW_CHARS - 1].rstrip(", ") + " …"
    return text + (" …" if truncated else "")


def _cut(text: str, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def summary_json(result: GradeResult, audience: str = "student") -> dict[str, Any]:
    """The summary as JSON data for scripts (``check --json``): the same decision the terminal prints."""
    from grader.report.policy import exit_code

    decision = decide(result, audience)
    totals = decision.totals
    return {
        "reader": decision.reader,
        "score": totals.earned,
        "max_score": totals.possible,
        "pending_points": totals.pending,
        "totals": totals.sentence,
        "exit_code": exit_code(result),
        "functions": [{"name": f.name, "status": f.status, "score": f.earned, "max_score": f.possible,
                       "pending_points": f.pending} for f in decision.functions if f.tests],
        "tests": [{"test_id": s.test.test_id, "number": s.test.number, "name": s.test.name, "status": s.status,
                   "score": s.points, "max_score": s.test.max_score} for s in decision.tests],
    }
