"""What a batch leaves in DIR besides results.jsonl: grades.csv, index.html, per-student files.

Everything here is rebuilt from records (the lines of results.jsonl), so
an interrupted or resumed batch produces the same files as an
uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any, Optional

from grader.batch.layout import BatchItem
from grader.batch.store import atomic_write_text
from grader.batch.task import STATUS_GRADED
from grader.results import GradeResult, StudentInfo, SubmissionFiles

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def finite(value: Any) -> Any:
    """Replace non-finite floats (inf, nan) by None, recursively, so the JSON is strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def record_result(record: dict[str, Any], rubric: Any, version: str) -> GradeResult:
    """The GradeResult of a record; a stand-in carrying the error for grader-side failures without one."""
    if record.get("result"):
        return GradeResult.from_dict(record["result"])
    student = StudentInfo(**{k: v for k, v in (record.get("student") or {}).items()
                             if k in StudentInfo.__dataclass_fields__})
    return GradeResult(
        submission=SubmissionFiles(root=record.get("source", "")),
        tests=[],
        score=0.0,
        max_score=float(rubric.max_score) if rubric is not None else 0.0,
        execution_time=float(record.get("duration") or 0.0),
        grader_version=version,
        rubric_name=getattr(rubric, "name", ""),
        rubric_hash=getattr(rubric, "source_hash", ""),
        student=student,
        internal_error=record.get("error") or "grader-side failure",
    )


# ---------------------------------------------------------------------------
# grades.csv


def _cell(value: Any) -> str:
    """Spreadsheet-safe text: values that a spreadsheet would run as a formula get a leading quote."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _number(value: Optional[float]) -> str:
    if value is None:
        return ""
    value = round(float(value), 4)
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def row_exit_code(record: dict[str, Any]) -> int:
    """The exit code ``w2v-grader grade`` gives this row's submission (one scheme: :mod:`grader.report.policy`)."""
    from grader.report.policy import EXIT_FAULT, EXIT_FIX, EXIT_OK, UNUSABLE_KINDS

    result = record.get("result") or {}
    if record.get("status") != STATUS_GRADED or result.get("internal_error"):
        return EXIT_FAULT
    problems = (result.get("submission") or {}).get("problems") or []
    return EXIT_FIX if any(p.get("kind") in UNUSABLE_KINDS for p in problems) else EXIT_OK


def grades_csv(rows: list[tuple[BatchItem, dict[str, Any]]], test_ids: list[str]) -> str:
    """CSV text: header ``id,name,email,total,<test ids...>,max_total,status,submission,error,causes,exit``.

    ``total`` and the test columns are the score stage's points (``GradeResult.score``, each test's
    ``score``): the instructor's totals, as on the dashboard.  ``causes``: the known mistakes the
    student's outputs match (``grader.diagnose`` ids, "; "-separated; a partial match is marked
    "(partial)").  ``exit`` is :func:`row_exit_code`.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["id", "name", "email", "total", *test_ids, "max_total", "status", "submission", "error",
                     "causes", "exit"])
    for item, record in rows:
        student = item.student
        result = record.get("result") or {}
        graded = record.get("status") == STATUS_GRADED
        scores = {t.get("test_id"): t.get("score") for t in result.get("tests", [])} if graded else {}
        writer.writerow([
            _cell(item.display_id),
            _cell(" & ".join(student.names)),
            _cell(";".join(student.emails)),
            _number(result.get("score")) if graded else "",
            *[_number(scores.get(tid)) if graded else "" for tid in test_ids],
            _number(result.get("max_score")),
            record.get("status", ""),
            _cell(student.submission_id or item.source),
            _cell((record.get("error") or "").splitlines()[0][:300] if record.get("error") else ""),
            _cell(_causes_cell(result) if graded else ""),
            row_exit_code(record),
        ])
    return buf.getvalue()


def _causes_cell(result: dict[str, Any]) -> str:
    """The known mistakes named by the diagnoses of a stored result (each function once)."""
    named: dict[str, str] = {}
    for test in result.get("tests", []):
        diagnosis = test.get("diagnosis") or {}
        function = diagnosis.get("function")
        if not function or function in named:
            continue
        partial = " (partial)" if diagnosis.get("status") == "partial" else ""
        named[function] = "; ".join(f"{c.get('cause_id')}{partial}" for c in diagnosis.get("causes", []))
    return "; ".join(text for text in named.values() if text)


# ---------------------------------------------------------------------------
# per-student files and the dashboard


def write_student_files(out_dir: Path, key: str, result: GradeResult, rubric: Any) -> list[str]:
    """Write ``<key>/report.html`` (instructor view) and ``<key>/results.json``; returns problems."""
    from grader.report import write_report

    problems: list[str] = []
    folder = out_dir / key
    folder.mkdir(parents=True, exist_ok=True)
    try:
        tmp = folder / ".report.html.tmp"
        write_report(result, tmp, audience="instructor")
        os.replace(tmp, folder / "report.html")
    except OSError as exc:  # a full disk or an unwritable folder costs this file, not the batch
        problems.append(f"{key}/report.html: {type(exc).__name__}: {exc}")
    from grader.gradescope.results_json import ResultsValidationError, to_results_json, write_results_json

    try:
        tmp = folder / ".results.json.tmp"
        write_results_json(tmp, to_results_json(result, rubric))
        os.replace(tmp, folder / "results.json")
    except (OSError, ResultsValidationError) as exc:
        problems.append(f"{key}/results.json: {type(exc).__name__}: {exc}")
    return problems


def write_dashboard(out_dir: Path, entries: list[tuple[BatchItem, GradeResult]], title: str) -> list[str]:
    """Render ``index.html`` from the finished submissions; returns problems."""
    from grader.report import DashboardEntry, render_dashboard

    html = render_dashboard([DashboardEntry(result=result, report_href=f"{item.key}/report.html",
                                            label=item.label) for item, result in entries], title=title)
    try:
        atomic_write_text(out_dir / "index.html", html)
    except OSError as exc:
        return [f"index.html: {type(exc).__name__}: {exc}"]
    return []
