"""Grading one answer sheet: locate the answers per part (by content, then by letter), then judge them.

Modules: :mod:`.route` (what an equation differentiates → the part; the handouts' data),
:mod:`.collect` (step 1 content routing over the sheet, step 2 the numbering),
:mod:`.placing` (helpers: cases, candidates, non-answers, renderings), :mod:`.sheet` (step 3: one
verdict per part — content-routed, placed by letter or sub-part label, free text, plot — and
:func:`grade_text` / :func:`grade_file`).
"""

from __future__ import annotations

from grader.written.grade.placing import NO_MARKERS
from grader.written.grade.route import Route, route
from grader.written.grade.sheet import Grader, StudentReport, grade_file, grade_text

__all__ = ["NO_MARKERS", "Grader", "Route", "StudentReport", "grade_file", "grade_text", "route"]
